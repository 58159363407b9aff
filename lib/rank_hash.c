/*
 * lib/rank_hash.c: the 64-bit hash of lib/rank (rank_int.h says what it is for), and the
 * path and group hashes made with it. Shared by the library built from records and the index
 * read from a file, which checks its sections with it; it depends on neither.
 */
#include "rank_int.h"

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
mix_word(uint64_t h, uint64_t w)
{
	return rotl(h ^ (w * 0xC2B2AE3D27D4EB4Full), 31) * 0x9E3779B97F4A7C15ull;
}

uint64_t
rank_hash(const void *bytes, size_t n, uint64_t seed)
{
	const unsigned char *p = bytes;
	/* Four lanes over 32-byte blocks: their multiplications overlap, which makes checking an
	 * index's vectors several times faster than one chain would. */
	uint64_t lane[4] = {seed ^ 0x243F6A8885A308D3ull, seed ^ 0x13198A2E03707344ull,
	                    seed ^ 0xA4093822299F31D0ull, seed ^ 0x082EFA98EC4E6C89ull};
	uint64_t h, w;
	size_t total = n;

	for (; n >= 32; p += 32, n -= 32)
		for (int k = 0; k < 4; k++)
			lane[k] = mix_word(lane[k], fm_get_le64(p + 8 * k));
	h = ((uint64_t)total * 0x9E3779B97F4A7C15ull) ^ rotl(lane[0], 1) ^ rotl(lane[1], 17) ^
	    rotl(lane[2], 33) ^ rotl(lane[3], 49);
	for (; n >= 8; p += 8, n -= 8)
		h = mix_word(h, fm_get_le64(p));
	w = 0;
	for (size_t k = 0; k < n; k++)
		w |= (uint64_t)p[k] << (8 * k);
	h = mix_word(h, w);
	h ^= h >> 30;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 27;
	h *= 0x94D049BB133111EBull;
	return h ^ (h >> 31);
}

uint64_t
rank_path_hash(const char *path, size_t n)
{
	return rank_hash(path, n, RANK_SEED_PATH);
}

uint64_t
rank_group_hash(const char *s, size_t n)
{
	uint64_t h = rank_hash(s, n, RANK_SEED_GROUP);

	return h != 0 ? h : 1;
}
