/*
 * lib/rank_index.c: the library as a binary index file, opened so that a query reads only
 * what it needs: the feature matrix, and the record lines of the few songs it
 * returns. recommend(1) documents the format; in short, little-endian:
 *
 *   header, 512 bytes: magic "FMRANKIX", version 2, header size, descriptor count (9), section
 *     count (7), song count, file size, then for each section its offset, size and checksum,
 *     the descriptors' means and standard deviations (doubles), zeros, and last the checksum
 *     of the 504 bytes before it;
 *   sections, each at a multiple of 8 bytes: vectors (float32, songs x 9), path hashes
 *     (u64), group hashes (u64 artist, u64 album), tags (u8), record entries (u64 offset,
 *     u32 size, u32 checksum), the records' lines back to back, and the timbre (float32,
 *     songs x 13 standardised MFCC means, for the taste).
 *
 * Version 1, the same without the timbre (6 sections, so the statistics start 24 bytes
 * earlier), is still read: the taste then hears the nine descriptors alone.
 *
 * Checksums are rank_hash over a section's bytes. The entries and lines have none of their
 * own, since checking them would read the whole file on every query; each line is checked
 * against its entry's checksum, and each entry against the lines' bounds, when read. The
 * sections read whole (the vectors, and the paths, groups and tags when asked for) are
 * mapped; entries and lines are read with pread(2), since a mapping's fault brings in a whole
 * folio of the page cache, megabytes of other songs for one line. An index is replaced by
 * rename(2), never rewritten in place, so that a query running on the old one keeps its file.
 * Everything the file says is hostile until checked: sizes are multiplied in 64 bits and
 * compared with the file's before anything is mapped or allocated.
 */
#include "rank_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "FMRANKIX"
#define VERSION 2
#define HEADER_BYTES 512
#define HEADER_SUM_AT (HEADER_BYTES - 8)

enum {
	SEC_VECTORS,
	SEC_PATHS,
	SEC_GROUPS,
	SEC_TAGS,
	SEC_RECORDS,
	SEC_LINES,
	SEC_TIMBRE,
	N_SECTIONS
};
/* Version 1 has the sections before the timbre. */
#define N_SECTIONS_V1 SEC_TIMBRE

static const char *const section_names[N_SECTIONS] = {
    "vectors", "paths", "groups", "tags", "records", "lines", "timbre",
};

/* Where the descriptors' means start in a header of n_sections (the standard deviations
 * follow them). */
static size_t
stats_at(int n_sections)
{
	return 40 + 24 * (size_t)n_sections;
}

struct section {
	uint64_t offset, n_bytes, sum;
};

static double
get_double(const unsigned char *p)
{
	uint64_t bits = fm_get_le64(p);
	double v;

	memcpy(&v, &bits, sizeof v);
	return v;
}

static void
put_double(unsigned char *p, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof bits);
	fm_put_le64(p, bits);
}

/* The expected size of each section for n songs; the lines' is free. */
static uint64_t
section_size(int s, uint64_t n)
{
	switch (s) {
	case SEC_VECTORS:
		return n * FM_RANK_DIMS * sizeof(float);
	case SEC_PATHS:
		return n * 8;
	case SEC_GROUPS:
		return n * 16;
	case SEC_TAGS:
		return n;
	case SEC_RECORDS:
		return n * sizeof(struct rank_rec);
	case SEC_TIMBRE:
		return n * RANK_TIMBRE_DIMS * sizeof(float);
	default:
		return 0;
	}
}

static uint64_t
align8(uint64_t v)
{
	return (v + 7) & ~(uint64_t)7;
}

int
fm_rank_index_save(const struct fm_rank_library *lib, const char *path, struct fm_err *err)
{
	static const unsigned char zeros[8] = {0};
	unsigned char h[HEADER_BYTES] = {0};
	const void *data[N_SECTIONS];
	struct section sec[N_SECTIONS];
	uint64_t at = HEADER_BYTES, n = lib->n_songs;
	struct fm_file_writer *w;
	struct fm_err why;
	int rc;

	if (!lib->finished)
		return fm_err_set(err, FM_EINVAL, "the library is not finished");
	if (lib->fd != -1)
		return fm_err_set(err, FM_EINVAL,
		                  "an index is built from song records, not copied");
	if (!fm_host_little_endian())
		return fm_err_set(err, FM_EINVAL,
		                  "index files are little-endian; this machine is not");
	data[SEC_VECTORS] = lib->z;
	data[SEC_PATHS] = lib->path_hash;
	data[SEC_GROUPS] = lib->groups;
	data[SEC_TAGS] = lib->tags;
	data[SEC_RECORDS] = lib->recs;
	data[SEC_LINES] = lib->blob;
	data[SEC_TIMBRE] = lib->timbre;
	for (int s = 0; s < N_SECTIONS; s++) {
		sec[s].offset = at;
		sec[s].n_bytes = s == SEC_LINES ? lib->blob_bytes : section_size(s, n);
		sec[s].sum =
		    s == SEC_LINES ? 0 : rank_hash(data[s], sec[s].n_bytes, RANK_SEED_SECTION);
		at = align8(at + sec[s].n_bytes);
	}
	memcpy(h, MAGIC, 8);
	fm_put_le32(h + 8, VERSION);
	fm_put_le32(h + 12, HEADER_BYTES);
	fm_put_le32(h + 16, FM_RANK_DIMS);
	fm_put_le32(h + 20, N_SECTIONS);
	fm_put_le64(h + 24, n);
	fm_put_le64(h + 32, sec[N_SECTIONS - 1].offset + sec[N_SECTIONS - 1].n_bytes);
	for (int s = 0; s < N_SECTIONS; s++) {
		fm_put_le64(h + 40 + 24 * s, sec[s].offset);
		fm_put_le64(h + 48 + 24 * s, sec[s].n_bytes);
		fm_put_le64(h + 56 + 24 * s, sec[s].sum);
	}
	for (int d = 0; d < FM_RANK_DIMS; d++) {
		put_double(h + stats_at(N_SECTIONS) + 8 * d, lib->mean[d]);
		put_double(h + stats_at(N_SECTIONS) + 8 * (FM_RANK_DIMS + d), lib->std[d]);
	}
	fm_put_le64(h + HEADER_SUM_AT, rank_hash(h, HEADER_SUM_AT, RANK_SEED_SECTION));

	if (fm_file_writer_new(path, &w, &why) == -1)
		return why.code == FM_ENOMEM
		           ? fm_err_set(err, FM_ENOMEM, "%s", why.msg)
		           : fm_err_set(err, FM_EIO, "cannot create a file beside it: %s", why.msg);
	rc = fm_file_writer_write(w, h, HEADER_BYTES, err);
	for (int s = 0; s < N_SECTIONS && rc == 0; s++) {
		rc = fm_file_writer_write(w, data[s], sec[s].n_bytes, err);
		if (rc == 0 && s + 1 < N_SECTIONS)
			rc = fm_file_writer_write(
			    w, zeros, sec[s + 1].offset - sec[s].offset - sec[s].n_bytes, err);
	}
	if (rc == 0)
		rc = fm_file_writer_commit(w, err);
	fm_file_writer_free(w);
	return rc;
}

/*
 * Check the header and the section table against the file's size; fill sec, n_songs and
 * n_sections (the version's).
 */
static int
check_header(const unsigned char *h, uint64_t file_bytes, struct section sec[N_SECTIONS],
             uint64_t *n_songs, int *n_sections, struct fm_err *err)
{
	uint64_t n, end = HEADER_BYTES, said;
	uint32_t version = fm_get_le32(h + 8);
	int n_sec = version == 1 ? N_SECTIONS_V1 : N_SECTIONS;

	if (version != 1 && version != VERSION)
		return fm_err_set(err, FM_EFORMAT,
		                  "index version %u; this recommend reads 1 and %d", version,
		                  VERSION);
	if (!fm_checksum_ok(fm_get_le64(h + HEADER_SUM_AT),
	                    rank_hash(h, HEADER_SUM_AT, RANK_SEED_SECTION)))
		return fm_err_set(err, FM_EFORMAT, "index header is damaged (checksum)");
	if (fm_get_le32(h + 12) != HEADER_BYTES || fm_get_le32(h + 20) != (uint32_t)n_sec)
		return fm_err_set(err, FM_EFORMAT, "index header has an unknown layout");
	if (fm_get_le32(h + 16) != FM_RANK_DIMS)
		return fm_err_set(
		    err, FM_EFORMAT,
		    "index has %u descriptors, this recommend uses %d: build it again",
		    fm_get_le32(h + 16), FM_RANK_DIMS);
	said = fm_get_le64(h + 32);
	if (said > file_bytes)
		return fm_err_set(err, FM_EFORMAT, "truncated index (%llu of %llu bytes)",
		                  (unsigned long long)file_bytes, (unsigned long long)said);
	if (said < file_bytes)
		return fm_err_set(err, FM_EFORMAT, "index has %llu bytes after its end",
		                  (unsigned long long)(file_bytes - said));
	n = fm_get_le64(h + 24);
	if (n == 0)
		return fm_err_set(err, FM_EFORMAT, "index holds no song");
	if (n > FM_RANK_MAX_SONGS)
		return fm_err_set(err, FM_ELIMIT, "index holds %llu songs, limit %zu",
		                  (unsigned long long)n, FM_RANK_MAX_SONGS);
	for (int s = 0; s < n_sec; s++) {
		sec[s].offset = fm_get_le64(h + 40 + 24 * s);
		sec[s].n_bytes = fm_get_le64(h + 48 + 24 * s);
		sec[s].sum = fm_get_le64(h + 56 + 24 * s);
		/* In order, aligned, inside the file, of the size n songs take. */
		if (sec[s].offset % 8 != 0 || sec[s].offset < end || sec[s].offset > file_bytes ||
		    sec[s].n_bytes > file_bytes - sec[s].offset ||
		    (s != SEC_LINES && sec[s].n_bytes != section_size(s, n)))
			return fm_err_set(err, FM_EFORMAT, "index section \"%s\" is out of place",
			                  section_names[s]);
		end = sec[s].offset + sec[s].n_bytes;
	}
	*n_songs = n;
	*n_sections = n_sec;
	return 0;
}

/*
 * Map section s (kept in lib->maps[slot]) and check its sum. Only the section's pages are
 * mapped, so that memory grows by its size; mapping rather than reading saves a page fault
 * per 4 KiB, since the page cache hands a mapping whole folios.
 */
static int
map_section(struct fm_rank_library *lib, const struct section *sec, int s, int slot,
            const void **out, struct fm_err *err)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = sec[s].offset - sec[s].offset % (uint64_t)(page > 0 ? page : 4096);
	size_t n = (size_t)(sec[s].offset + sec[s].n_bytes - start);
	void *m;

	if (sec[s].n_bytes == 0) {
		*out = "";
		return 0;
	}
	m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, lib->fd, (off_t)start);
	if (m == MAP_FAILED)
		return fm_err_errno_at(err, errno, "cannot map the index");
	lib->maps[slot] = m;
	lib->map_bytes[slot] = n;
	*out = (const unsigned char *)m + (sec[s].offset - start);
	if (!fm_checksum_ok(sec[s].sum, rank_hash(*out, (size_t)sec[s].n_bytes, RANK_SEED_SECTION)))
		return fm_err_set(err, FM_EFORMAT, "index section \"%s\" is damaged (checksum)",
		                  section_names[s]);
	return 0;
}

int
fm_rank_index_load(const char *path, unsigned want, struct fm_rank_library **out,
                   struct fm_err *err)
{
	struct fm_rank_library *lib = NULL;
	struct section sec[N_SECTIONS];
	unsigned char h[HEADER_BYTES];
	const void *p;
	uint64_t n = 0;
	struct stat st;
	int fd, n_sec = 0;

	*out = NULL;
	if (!fm_host_little_endian())
		return fm_err_set(err, FM_EINVAL,
		                  "index files are little-endian; this machine is not");
	if ((fd = fm_open_read(path, err)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		int e = errno;
		close(fd);
		return fm_err_errno(err, e);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fm_err_set(err, FM_EIO, "%s",
		                  S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
	}
	if (fm_rank_library_new(&lib, err) == -1) {
		close(fd);
		return -1;
	}
	lib->fd = fd;
	if (st.st_size < 8) {
		fm_err_set(err, FM_EFORMAT, "not a recommend index");
		goto fail;
	}
	if (rank_read_at(fd, h, st.st_size < HEADER_BYTES ? (size_t)st.st_size : HEADER_BYTES, 0,
	                 err) == -1)
		goto fail;
	if (memcmp(h, MAGIC, 8) != 0) {
		fm_err_set(err, FM_EFORMAT, "not a recommend index");
		goto fail;
	}
	if (st.st_size < HEADER_BYTES) {
		fm_err_set(err, FM_EFORMAT, "truncated index (%lld of %d header bytes)",
		           (long long)st.st_size, HEADER_BYTES);
		goto fail;
	}
	if (check_header(h, (uint64_t)st.st_size, sec, &n, &n_sec, err) == -1)
		goto fail;
	for (int d = 0; d < FM_RANK_DIMS; d++) {
		lib->mean[d] = get_double(h + stats_at(n_sec) + 8 * d);
		lib->std[d] = get_double(h + stats_at(n_sec) + 8 * (FM_RANK_DIMS + d));
		if (!isfinite(lib->mean[d]) || !isfinite(lib->std[d]) || lib->std[d] < 0) {
			fm_err_set(err, FM_EFORMAT,
			           "index statistics of \"%s\" are not a finite mean and a "
			           "standard deviation >= 0",
			           fm_rank_dim_name((enum fm_rank_dim)d));
			goto fail;
		}
	}
	if (map_section(lib, sec, SEC_VECTORS, 0, &p, err) == -1)
		goto fail;
	lib->n_songs = (size_t)n;
	lib->z = p;
	for (size_t k = 0; k < (size_t)n * FM_RANK_DIMS; k++)
		if (!(fabsf(lib->z[k]) <= (float)RANK_Z_MAX)) {
			fm_err_set(err, FM_EFORMAT, "index vector of song %zu is out of range",
			           k / FM_RANK_DIMS + 1);
			goto fail;
		}
	if (want & FM_RANK_WANT_PATHS) {
		if (map_section(lib, sec, SEC_PATHS, 1, &p, err) == -1)
			goto fail;
		lib->path_hash = p;
		if (rank_table_build(lib, err) == -1)
			goto fail;
	}
	if ((want & FM_RANK_WANT_GROUPS) && map_section(lib, sec, SEC_GROUPS, 2, &p, err) == -1)
		goto fail;
	if (want & FM_RANK_WANT_GROUPS)
		lib->groups = p;
	if ((want & FM_RANK_WANT_TAGS) && map_section(lib, sec, SEC_TAGS, 3, &p, err) == -1)
		goto fail;
	if (want & FM_RANK_WANT_TAGS)
		lib->tags = p;
	if ((want & FM_RANK_WANT_TIMBRE) && n_sec > SEC_TIMBRE) {
		const float *t;
		if (map_section(lib, sec, SEC_TIMBRE, 4, &p, err) == -1)
			goto fail;
		t = p;
		for (size_t k = 0; k < (size_t)n * RANK_TIMBRE_DIMS; k++) {
			if (!(fabsf(t[k]) <= (float)RANK_Z_MAX)) {
				fm_err_set(err, FM_EFORMAT,
				           "index timbre of song %zu is out of range",
				           k / RANK_TIMBRE_DIMS + 1);
				goto fail;
			}
			lib->has_timbre = lib->has_timbre || t[k] != 0;
		}
		lib->timbre = t;
	}
	lib->recs_at = sec[SEC_RECORDS].offset;
	lib->lines_at = sec[SEC_LINES].offset;
	lib->lines_bytes = sec[SEC_LINES].n_bytes;
	if (rank_norms(lib, err) == -1)
		goto fail;
	lib->finished = true;
	*out = lib;
	return 0;
fail:
	fm_rank_library_free(lib);
	return -1;
}
