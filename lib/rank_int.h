/*
 * lib/rank_int.h: what the files of lib/rank share and nothing else sees: the library's
 * layout (arrays built from song records, or sections read from an index), the 64-bit hash
 * used for paths, groups and checksums (rank_hash.c), the path table and the norms
 * (rank_library.c), an index file's reads (rank_records.c), and the taste's part of a search
 * (rank_taste.c, for rank.c). The files depend one way: rank_index.c on rank_library.c, both
 * on rank_records.c and rank_hash.c; rank.c on rank_taste.c.
 */
#ifndef FM_RANK_INT_H
#define FM_RANK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rank.h"

/* A z-score beyond this many standard deviations is clamped to it. */
#define RANK_Z_MAX 3.0

/*
 * The timbre the taste hears besides the nine descriptors: song-featurize's "mfcc_mean", 13
 * numbers, each standardised over the library as the descriptors are (0 for a song without
 * them). Only the taste uses them: the profiles speak of the nine.
 */
#define RANK_TIMBRE_DIMS 13

/* One song's record line in the blob; these 16 bytes are also the index's, little-endian. */
struct rank_rec {
	uint64_t offset; /* from the start of the blob */
	uint32_t n_bytes;
	uint32_t sum; /* the low 32 bits of rank_hash(line, RANK_SEED_RECORD) */
};

struct fm_rank_library {
	size_t n_songs;
	bool finished;
	/* What search reads: the *_own arrays below, or the sections read from an index. */
	const float *z;              /* n_songs x FM_RANK_DIMS */
	const uint64_t *path_hash;   /* n_songs; NULL from an index loaded without the paths */
	const uint64_t *groups;      /* n_songs x 2 (artist, album), 0 when absent; or NULL */
	const uint8_t *tags;         /* n_songs, bit e for expression e; or NULL */
	const struct rank_rec *recs; /* NULL for an index: its entries are read one by one */
	const char *blob;
	size_t blob_bytes;
	const float *timbre; /* n_songs x RANK_TIMBRE_DIMS; NULL from an index without them */
	bool has_timbre;     /* some song's timbre is not the mean: the taste hears it */
	float *inv_norm;     /* n_songs: 1 / |z|, 0 for a vector of zeros */
	double mean[FM_RANK_DIMS], std[FM_RANK_DIMS];
	/* Path hash to song index + 1 (0: empty), open addressing with linear probing. */
	uint32_t *table;
	size_t table_cap; /* a power of two, at least twice n_songs; 0 before any song */
	/* While building from records. */
	double min_duration_sec; /* shorter songs are left out */
	size_t cap;
	double *raw;        /* cap x FM_RANK_DIMS descriptors, NAN where the song lacks one */
	double *raw_timbre; /* cap x RANK_TIMBRE_DIMS, the same */
	float *z_own, *timbre_own;
	uint64_t *path_own, *groups_own;
	uint8_t *tags_own;
	struct rank_rec *recs_own;
	char *blob_own;
	size_t blob_cap;
	/* From an index: the open file, where its record entries and lines start, and the
	 * sections read into memory. */
	int fd; /* -1 when built from records */
	uint64_t recs_at, lines_at, lines_bytes;
	void *maps[5]; /* the sections mapped, from their pages' start */
	size_t map_bytes[5];
};

/* Seeds, so that a path's hash and a record's checksum of the same bytes differ. */
#define RANK_SEED_PATH 0x70617468u
#define RANK_SEED_GROUP 0x67726f75u
#define RANK_SEED_RECORD 0x7265636fu
#define RANK_SEED_SECTION 0x73656374u

/*
 * A 64-bit multiply-rotate hash of n bytes, read as little-endian words whatever the host, in
 * four lanes over 32-byte blocks, with the splitmix64 finaliser: fast (gigabytes a second) and
 * well mixed, for telling damaged data and distinct strings apart, not for resisting an
 * adversary.
 */
uint64_t rank_hash(const void *bytes, size_t n, uint64_t seed);

/* The path hash of a string, and a group's (never 0, which means "no group"). */
uint64_t rank_path_hash(const char *path, size_t n);
uint64_t rank_group_hash(const char *s, size_t n);

/* Fill lib->table from lib->path_hash for the first n_songs songs. FM_ENOMEM. */
int rank_table_build(struct fm_rank_library *lib, struct fm_err *err);

/* Compute lib->inv_norm from lib->z. FM_ENOMEM. */
int rank_norms(struct fm_rank_library *lib, struct fm_err *err);

/* Close an index's file and unmap its sections (rank_records.c). */
void rank_close(struct fm_rank_library *lib);

/* Read n bytes of fd at offset, all of them; a file that ends early is damaged (FM_EFORMAT,
 * "index file ended early"). FM_EIO. */
int rank_read_at(int fd, void *buf, size_t n, uint64_t offset, struct fm_err *err);

/*
 * The taste's part of one search (rank_taste.c): the weights of the judged songs for the
 * mood ranked, the taste of every song, and its share of the score. The buffers are kept
 * from search to search; rank_taste_eval_free releases them.
 */
struct rank_taste_eval {
	double lambda;   /* 0..1: the taste's share; 0 when there is no evidence */
	size_t n, cap;   /* the judged songs that enter similarity; room for */
	size_t *song;    /* their library indices */
	double *v;       /* their weights for the mood */
	double *x;       /* their vectors in the taste's space, 9 + RANK_TIMBRE_DIMS apart */
	double *score;   /* n_songs: each song's taste, -1..1 */
	size_t n_songs;  /* score's length */
	int dims;        /* of the taste's space: 9, and the timbre's when the library has it */
	double inv_2h2d; /* the kernel's 1 / (2 width^2 dims) */
};

/* Fill ev for mood (a distribution). FM_ENOMEM. */
int rank_taste_eval(const struct fm_rank_taste *t, const struct fm_rank_feedback_opts *o,
                    const double mood[FM_N_EMOTIONS], struct rank_taste_eval *ev,
                    struct fm_err *err);
void rank_taste_eval_free(struct rank_taste_eval *ev);

/* What the taste added to song i's score, as fm_rank_hit's taste_song and taste_how. */
void rank_taste_explain(const struct fm_rank_library *lib, const struct rank_taste_eval *ev,
                        size_t i, size_t *song, unsigned *how);

#endif
