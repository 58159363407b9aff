/*
 * tests/fuzz/fuzz_rank_index.c: arbitrary bytes as a recommend index (lib/rank_index.c),
 * opened with and without its optional sections; an index that opens is used as recommend
 * uses one: its vectors, its records (read and checked one by one from the file), a path
 * lookup, a ranking with artist and album diversity, and profiles learnt from its tags.
 * The loader reads a path, so each input goes through one temporary file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/fuzz_rank_index.XXXXXX";
static int fd = -1;

static void
use(const struct fm_rank_library *lib, unsigned want, const struct fm_rank_profiles *base)
{
	size_t n = fm_rank_library_size(lib), n_hits, i, n_tagged[FM_N_EMOTIONS];
	struct fm_rank_hit hits[5];
	struct fm_rank_query q = {.strategy = FM_RANK_UPLIFT,
	                          .strength = 1,
	                          .n_results = 5,
	                          .diverse = FM_RANK_DIVERSE_MMR,
	                          .mmr_lambda = 0.5};
	struct fm_rank_profiles learnt;
	struct fm_rank_work *w;
	struct fm_err err;
	double z[FM_RANK_DIMS];

	for (i = 0; i < n && i < 64; i++) {
		char *text;
		size_t n_bytes;

		fm_rank_library_vector(lib, i, z);
		if (fm_rank_library_record(lib, i, &text, &n_bytes, &err) == 0)
			free(text);
	}
	(void)fm_rank_library_find(lib, "a.wav", 5, &i, &err);
	q.mood[FM_SAD] = 0.75;
	q.mood[FM_ANGRY] = 0.25;
	if (want & FM_RANK_WANT_GROUPS)
		q.diverse |= FM_RANK_DIVERSE_ARTIST | FM_RANK_DIVERSE_ALBUM;
	if (fm_rank_work_new(lib, &w, &err) == 0) {
		(void)fm_rank_search(w, base, &q, hits, &n_hits, &err);
		fm_rank_work_free(w);
	}
	(void)fm_rank_learn(lib, base, &learnt, n_tagged, &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fm_rank_profiles base;
	static const unsigned wants[] = {0, FM_RANK_WANT_PATHS | FM_RANK_WANT_GROUPS |
	                                        FM_RANK_WANT_TAGS};
	struct fm_err err;

	if (fd == -1) {
		/* Run from the repository's root, as tests/fuzz.sh does. */
		if (fm_rank_profiles_load("models/profiles.json", &base, &err) == -1 ||
		    (fd = mkstemp(path)) == -1)
			abort();
		unlink(path); /* gone when the fuzzer ends; /proc/self/fd/N still opens it */
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	for (size_t k = 0; k < sizeof wants / sizeof wants[0]; k++) {
		struct fm_rank_library *lib;

		if (fm_rank_index_load(path, wants[k], &lib, &err) == -1)
			continue;
		use(lib, wants[k], &base);
		fm_rank_library_free(lib);
	}
	return 0;
}
