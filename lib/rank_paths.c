/*
 * lib/rank_paths.c: finding a song by a path spelt otherwise than the library spells it.
 * A play log or a feedback log written by another program names "/home/me/Music/x.flac"
 * where the library, made by song-featurize in ~/Music, says "x.flac". Both name the same
 * file, which realpath(3) shows: each song's path (relative ones taken from the current
 * directory) is resolved once, the first time a path is not found as written, and looked
 * up by its hash. A song whose file is gone has no real path and is found only as written.
 */
#define _XOPEN_SOURCE 700 /* realpath(3): POSIX, but glibc declares it only for XSI */

#include "rank_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

struct real_song {
	uint64_t hash; /* rank_path_hash of the real path */
	size_t song;
};

struct fm_rank_paths {
	const struct fm_rank_library *lib;
	struct real_song *real; /* sorted by hash, then song; NULL until first needed */
	size_t n_real;
	bool resolved;
};

int
fm_rank_paths_new(const struct fm_rank_library *lib, struct fm_rank_paths **out, struct fm_err *err)
{
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	(*out)->lib = lib;
	return 0;
}

void
fm_rank_paths_free(struct fm_rank_paths *p)
{
	if (p == NULL)
		return;
	free(p->real);
	free(p);
}

/* Song i's real path into buf (PATH_MAX bytes): 1, 0 when its file is not there, -1. */
static int
song_real_path(const struct fm_rank_library *lib, size_t i, char *buf, struct fm_err *err)
{
	const char *path;
	char *text;
	size_t n;
	cJSON *rec;
	int rc;

	if (fm_rank_library_record(lib, i, &text, &n, err) == -1)
		return -1;
	rc = fm_ndjson_parse(text, n, 0, &rec, err);
	free(text);
	if (rc == -1)
		return -1;
	rc = fm_ndjson_get_path(rec, &path, NULL) == 0 && realpath(path, buf) != NULL;
	cJSON_Delete(rec);
	return rc;
}

static int
by_hash(const void *a, const void *b)
{
	const struct real_song *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->song > y->song) - (x->song < y->song);
}

static int
resolve_all(struct fm_rank_paths *p, struct fm_err *err)
{
	size_t n = fm_rank_library_size(p->lib);
	char buf[PATH_MAX];

	p->resolved = true;
	if (n > 0 && (p->real = calloc(n, sizeof *p->real)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the songs' real paths");
	for (size_t i = 0; i < n; i++) {
		int rc = song_real_path(p->lib, i, buf, err);
		if (rc == -1)
			return -1;
		if (rc == 1)
			p->real[p->n_real++] =
			    (struct real_song){rank_path_hash(buf, strlen(buf)), i};
	}
	qsort(p->real, p->n_real, sizeof *p->real, by_hash);
	return 0;
}

int
fm_rank_paths_find(struct fm_rank_paths *p, const char *path, size_t *i, struct fm_err *err)
{
	char want[PATH_MAX], have[PATH_MAX];
	size_t lo = 0, hi;
	uint64_t h;
	int found = fm_rank_library_find(p->lib, path, strlen(path), i, err);

	if (found != 0 || realpath(path, want) == NULL)
		return found;
	if (!p->resolved && resolve_all(p, err) == -1)
		return -1;
	h = rank_path_hash(want, strlen(want));
	for (hi = p->n_real; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->real[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The first song of that real path, the library's order: as a repeated path is. */
	for (; lo < p->n_real && p->real[lo].hash == h; lo++) {
		int rc = song_real_path(p->lib, p->real[lo].song, have, err);
		if (rc == -1)
			return -1;
		if (rc == 1 && strcmp(have, want) == 0) {
			*i = p->real[lo].song;
			return 1;
		}
	}
	return 0;
}
