/*
 * lib/rank_library.c: the song library built from song-featurize's records: the nine
 * descriptors of each song (lib/rank.h says how each is derived and why), their
 * standardisation over the library, the record lines kept for the output, and the path table
 * that finds a song by its path.
 *
 * Standardisation is the plain z-score with the population standard deviation, computed in
 * two passes in double precision; a song's missing descriptor takes the mean (z = 0), the
 * usual imputation when a value is missing at random, and one that cannot move the song
 * towards any mood. Vectors are then kept as floats: 7 significant digits are far beyond what
 * the descriptors measure, and half the memory for a large library.
 */
#include "rank_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

static const char *const dim_names[FM_RANK_DIMS] = {
    "tempo",   "mode",     "loudness", "dynamics",   "brightness",
    "rolloff", "flatness", "zcr",      "onset_rate",
};

const char *
fm_rank_dim_name(enum fm_rank_dim d)
{
	return (unsigned)d < FM_RANK_DIMS ? dim_names[d] : NULL;
}

int
fm_rank_dim_parse(const char *name, enum fm_rank_dim *out, struct fm_err *err)
{
	for (int d = 0; d < FM_RANK_DIMS; d++)
		if (strcmp(name, dim_names[d]) == 0) {
			*out = (enum fm_rank_dim)d;
			return 0;
		}
	return fm_err_set(err, FM_EINVAL, "unknown descriptor \"%.40s\"", name);
}

int
fm_rank_library_new(struct fm_rank_library **out, struct fm_err *err)
{
	struct fm_rank_library *lib = calloc(1, sizeof *lib);

	*out = NULL;
	if (lib == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a library");
	lib->fd = -1;
	lib->min_duration_sec = FM_RANK_DEFAULT_MIN_DURATION_SEC;
	*out = lib;
	return 0;
}

void
fm_rank_library_set_min_duration(struct fm_rank_library *lib, double min_sec)
{
	lib->min_duration_sec = min_sec;
}

/*
 * Whether a song is to be left out as near-silent or short; a field that is absent or not a
 * number (a hand-made record) says nothing, and the song stays.
 */
static bool
unplayable(const struct fm_rank_library *lib, const cJSON *rec, enum fm_rank_added *how)
{
	const cJSON *loud = cJSON_GetObjectItemCaseSensitive(rec, "loudness");
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(rec, "duration");

	if (cJSON_IsNumber(loud) && loud->valuedouble < FM_RANK_SILENCE_DB) {
		*how = FM_RANK_SILENT;
		return true;
	}
	if (cJSON_IsNumber(dur) && dur->valuedouble < lib->min_duration_sec) {
		*how = FM_RANK_SHORT;
		return true;
	}
	return false;
}

void
fm_rank_library_free(struct fm_rank_library *lib)
{
	if (lib == NULL)
		return;
	free(lib->raw);
	free(lib->raw_timbre);
	free(lib->z_own);
	free(lib->timbre_own);
	free(lib->path_own);
	free(lib->groups_own);
	free(lib->tags_own);
	free(lib->recs_own);
	free(lib->blob_own);
	free(lib->inv_norm);
	free(lib->table);
	if (lib->fd != -1)
		rank_close(lib);
	free(lib);
}

size_t
fm_rank_library_size(const struct fm_rank_library *lib)
{
	return lib->n_songs;
}

size_t
fm_rank_library_n_grouped(const struct fm_rank_library *lib, unsigned kind)
{
	size_t at = kind == FM_RANK_DIVERSE_ARTIST ? 0 : kind == FM_RANK_DIVERSE_ALBUM ? 1 : 2;
	size_t n = 0;

	if (at == 2 || lib->groups == NULL)
		return 0;
	for (size_t i = 0; i < lib->n_songs; i++)
		n += lib->groups[2 * i + at] != 0;
	return n;
}

void
fm_rank_library_vector(const struct fm_rank_library *lib, size_t i, double z[FM_RANK_DIMS])
{
	for (int d = 0; d < FM_RANK_DIMS; d++)
		z[d] = lib->z[i * FM_RANK_DIMS + d];
}

void
fm_rank_library_stats(const struct fm_rank_library *lib, double mean[FM_RANK_DIMS],
                      double std[FM_RANK_DIMS])
{
	for (int d = 0; d < FM_RANK_DIMS; d++) {
		mean[d] = lib->mean[d];
		std[d] = lib->std[d];
	}
}

/* Whether song i's "path" is path: its record parsed again, which only a hash match costs. */
static int
same_path(const struct fm_rank_library *lib, size_t i, const char *path, size_t n, bool *same,
          struct fm_err *err)
{
	const char *p;
	char *text;
	size_t n_text;
	cJSON *rec;
	int rc;

	*same = false;
	if (fm_rank_library_record(lib, i, &text, &n_text, err) == -1)
		return -1;
	rc = fm_ndjson_parse(text, n_text, 0, &rec, err);
	free(text);
	if (rc == -1)
		return -1;
	if (fm_ndjson_get_path(rec, &p, NULL) == 0)
		*same = strlen(p) == n && memcmp(p, path, n) == 0;
	cJSON_Delete(rec);
	return 0;
}

static void
table_put(uint32_t *table, size_t cap, uint64_t hash, size_t i)
{
	size_t mask = cap - 1, k = (size_t)hash & mask;

	while (table[k] != 0)
		k = (k + 1) & mask;
	table[k] = (uint32_t)(i + 1);
}

/* Make room for a table of at least twice n entries. */
static int
table_grow(struct fm_rank_library *lib, size_t n, struct fm_err *err)
{
	size_t cap = lib->table_cap != 0 ? lib->table_cap : 64;
	uint32_t *t;

	while (cap < 2 * n)
		cap *= 2;
	if (cap == lib->table_cap)
		return 0;
	if ((t = calloc(cap, sizeof *t)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the path table");
	for (size_t k = 0; k < lib->table_cap; k++)
		if (lib->table[k] != 0)
			table_put(t, cap, lib->path_hash[lib->table[k] - 1], lib->table[k] - 1);
	free(lib->table);
	lib->table = t;
	lib->table_cap = cap;
	return 0;
}

int
rank_table_build(struct fm_rank_library *lib, struct fm_err *err)
{
	free(lib->table);
	lib->table = NULL;
	lib->table_cap = 0;
	if (table_grow(lib, lib->n_songs, err) == -1)
		return -1;
	for (size_t i = 0; i < lib->n_songs; i++)
		table_put(lib->table, lib->table_cap, lib->path_hash[i], i);
	return 0;
}

int
fm_rank_library_find(const struct fm_rank_library *lib, const char *path, size_t n, size_t *i,
                     struct fm_err *err)
{
	uint64_t h;

	if (lib->path_hash == NULL || (lib->table == NULL && lib->n_songs > 0))
		return fm_err_set(err, FM_EINVAL, "the index was loaded without its paths");
	if (lib->table_cap == 0)
		return 0;
	h = rank_path_hash(path, n);
	for (size_t mask = lib->table_cap - 1, k = (size_t)h & mask; lib->table[k] != 0;
	     k = (k + 1) & mask) {
		size_t cand = lib->table[k] - 1;
		bool same;

		if (lib->path_hash[cand] != h)
			continue;
		if (same_path(lib, cand, path, n, &same, err) == -1)
			return -1;
		if (same) {
			*i = cand;
			return 1;
		}
	}
	return 0;
}

/* A field's number: 1 with *v, 0 when absent or null, -1 when something else. */
static int
field(const cJSON *rec, const char *key, double *v)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(rec, key);

	*v = NAN;
	if (f == NULL || cJSON_IsNull(f))
		return 0;
	if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
		return -1;
	*v = f->valuedouble;
	return 1;
}

/*
 * Count a descriptor that could not be had, and return NAN for it. bad: the field is there
 * but is not a number, or lies outside its domain (a negative tempo, a flatness above 1);
 * otherwise it is absent, null, or a value for which the descriptor is undefined (the zero
 * level and centroid of silence).
 */
static double
lack(bool bad, struct fm_rank_song_info *info)
{
	if (bad)
		info->n_invalid++;
	else
		info->n_missing++;
	return NAN;
}

/* log2 of a positive field; 0 is undefined rather than wrong (silence has no centroid). */
static double
log_field(const cJSON *rec, const char *key, struct fm_rank_song_info *info)
{
	double v;
	int got = field(rec, key, &v);

	return v > 0 ? log2(v) : lack(got == -1 || v < 0, info);
}

/* A field whose domain is 0..1. */
static double
unit_field(const cJSON *rec, const char *key, struct fm_rank_song_info *info)
{
	double v;
	int got = field(rec, key, &v);

	return v >= 0 && v <= 1 ? v : lack(got != 0, info);
}

/* The descriptors of lib/rank.h from a song record; NAN for each that cannot be had. */
static void
descriptors(const cJSON *rec, double x[FM_RANK_DIMS], struct fm_rank_song_info *info)
{
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(rec, "mode");
	double v, w, strength;
	int got, got2;

	x[FM_DIM_TEMPO] = log_field(rec, "tempo", info);

	/* A weak key is a weak cue: the mode counts as much as the key profile fits, and a
	 * hand-made record without key_strength counts as certain of its mode. */
	if (field(rec, "key_strength", &strength) != 1 || !(fabs(strength) <= 1))
		strength = 1;
	if (cJSON_IsString(mode) && strcmp(mode->valuestring, "major") == 0)
		x[FM_DIM_MODE] = fmin(fmax(strength, 0), 1);
	else if (cJSON_IsString(mode) && strcmp(mode->valuestring, "minor") == 0)
		x[FM_DIM_MODE] = -fmin(fmax(strength, 0), 1);
	else
		x[FM_DIM_MODE] = lack(mode != NULL && !cJSON_IsNull(mode), info);

	/* Silence is -100 dBFS in song-featurize; below -60 the level tells no more. */
	got = field(rec, "loudness", &v);
	x[FM_DIM_LOUDNESS] = got == 1 ? fmin(fmax(v, -60), 0) : lack(got == -1, info);

	got = field(rec, "rms_mean", &v);
	got2 = field(rec, "rms_std", &w);
	x[FM_DIM_DYNAMICS] =
	    v > 0 && w >= 0 ? w / v : lack(got == -1 || got2 == -1 || v < 0 || w < 0, info);

	x[FM_DIM_BRIGHTNESS] = log_field(rec, "centroid_mean", info);
	x[FM_DIM_ROLLOFF] = log_field(rec, "rolloff_mean", info);
	x[FM_DIM_FLATNESS] = unit_field(rec, "flatness_mean", info);
	x[FM_DIM_ZCR] = unit_field(rec, "zcr_mean", info);
	got = field(rec, "onset_rate", &v);
	x[FM_DIM_ONSETS] = v >= 0 ? log2(1 + v) : lack(got != 0, info);
}

/*
 * The timbre of "mfcc_mean": its 13 numbers, or NAN for all when it is not an array of 13
 * finite numbers (an older or hand-made record): the taste then takes the song at the
 * library's mean timbre. Not counted as missing: the descriptors' warnings stay theirs.
 */
static void
timbre(const cJSON *rec, double x[RANK_TIMBRE_DIMS])
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "mfcc_mean"), *v;
	int k = 0;

	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == RANK_TIMBRE_DIMS) {
		cJSON_ArrayForEach(v, a)
		{
			if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
				break;
			x[k++] = v->valuedouble;
		}
	}
	if (k != RANK_TIMBRE_DIMS)
		for (k = 0; k < RANK_TIMBRE_DIMS; k++)
			x[k] = NAN;
}

/* The expression tags of "emotion": a name or an array of names. */
static uint8_t
song_tags(const cJSON *rec, struct fm_rank_song_info *info)
{
	const cJSON *tag = cJSON_GetObjectItemCaseSensitive(rec, "emotion"), *t;
	enum fm_emotion e;
	uint8_t bits = 0;

	if (cJSON_IsString(tag)) {
		if (fm_emotion_parse(tag->valuestring, &e, NULL) == 0)
			return (uint8_t)(1u << e);
		info->n_unknown_tags++;
		return 0;
	}
	if (!cJSON_IsArray(tag))
		return 0;
	cJSON_ArrayForEach(t, tag)
	{
		if (cJSON_IsString(t) && fm_emotion_parse(t->valuestring, &e, NULL) == 0)
			bits |= (uint8_t)(1u << e);
		else
			info->n_unknown_tags++;
	}
	return bits;
}

static uint64_t
group(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);

	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return 0;
	return rank_group_hash(v->valuestring, strlen(v->valuestring));
}

static int
grow(struct fm_rank_library *lib, struct fm_err *err)
{
	size_t cap = lib->cap != 0 ? lib->cap * 2 : 256;
	void *p;

	if (lib->n_songs >= FM_RANK_MAX_SONGS)
		return fm_err_set(err, FM_ELIMIT, "more than %zu songs", FM_RANK_MAX_SONGS);
	if (cap > FM_RANK_MAX_SONGS)
		cap = FM_RANK_MAX_SONGS;
	/* Each array is replaced as soon as it has grown, so that a failure leaves a library
	 * that fm_rank_library_free can still release. */
	if ((p = realloc(lib->raw, cap * FM_RANK_DIMS * sizeof *lib->raw)) == NULL)
		goto nomem;
	lib->raw = p;
	if ((p = realloc(lib->raw_timbre, cap * RANK_TIMBRE_DIMS * sizeof *lib->raw_timbre)) ==
	    NULL)
		goto nomem;
	lib->raw_timbre = p;
	if ((p = realloc(lib->path_own, cap * sizeof *lib->path_own)) == NULL)
		goto nomem;
	lib->path_own = p;
	if ((p = realloc(lib->groups_own, cap * 2 * sizeof *lib->groups_own)) == NULL)
		goto nomem;
	lib->groups_own = p;
	if ((p = realloc(lib->tags_own, cap * sizeof *lib->tags_own)) == NULL)
		goto nomem;
	lib->tags_own = p;
	if ((p = realloc(lib->recs_own, cap * sizeof *lib->recs_own)) == NULL)
		goto nomem;
	lib->recs_own = p;
	lib->cap = cap;
	lib->path_hash = lib->path_own;
	lib->groups = lib->groups_own;
	lib->tags = lib->tags_own;
	lib->recs = lib->recs_own;
	return 0;
nomem:
	return fm_err_set(err, FM_ENOMEM, "out of memory for %zu songs", cap);
}

static int
keep_line(struct fm_rank_library *lib, const char *line, size_t n, struct fm_err *err)
{
	if (n > UINT32_MAX)
		return fm_err_set(err, FM_ELIMIT, "song record of %zu bytes", n);
	if (lib->blob_cap - lib->blob_bytes < n) {
		size_t cap = lib->blob_cap != 0 ? lib->blob_cap : 1 << 16;
		char *p;

		while (cap - lib->blob_bytes < n) {
			if (cap > SIZE_MAX / 2)
				return fm_err_set(err, FM_ENOMEM, "out of memory for the records");
			cap *= 2;
		}
		if ((p = realloc(lib->blob_own, cap)) == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory for the records");
		lib->blob_own = p;
		lib->blob_cap = cap;
		lib->blob = p;
	}
	memcpy(lib->blob_own + lib->blob_bytes, line, n);
	lib->recs_own[lib->n_songs] =
	    (struct rank_rec){.offset = lib->blob_bytes,
	                      .n_bytes = (uint32_t)n,
	                      .sum = (uint32_t)rank_hash(line, n, RANK_SEED_RECORD)};
	lib->blob_bytes += n;
	return 0;
}

int
fm_rank_library_add(struct fm_rank_library *lib, const char *line, size_t n_bytes,
                    enum fm_rank_added *how, struct fm_rank_song_info *info, struct fm_err *err)
{
	const char *path;
	cJSON *rec = NULL;
	uint64_t h;
	size_t i = lib->n_songs, dup;
	int rc = -1;

	*info = (struct fm_rank_song_info){0};
	if (lib->finished)
		return fm_err_set(err, FM_EINVAL, "the library is finished");
	if (fm_ndjson_parse(line, n_bytes, 0, &rec, err) == -1)
		return -1;
	if (fm_ndjson_has_error(rec)) {
		*how = FM_RANK_UPSTREAM;
		rc = 0;
		goto done;
	}
	if (fm_ndjson_get_path(rec, &path, err) == -1)
		goto done;
	if (unplayable(lib, rec, how)) {
		rc = 0;
		goto done;
	}
	h = rank_path_hash(path, strlen(path));
	if (lib->path_hash != NULL) {
		/* find needs the table to hold every song added so far, which it does. */
		int found = fm_rank_library_find(lib, path, strlen(path), &dup, err);
		if (found == -1)
			goto done;
		if (found == 1) {
			*how = FM_RANK_DUPLICATE;
			rc = 0;
			goto done;
		}
	}
	if (i == lib->cap && grow(lib, err) == -1)
		goto done;
	if (table_grow(lib, i + 1, err) == -1 || keep_line(lib, line, n_bytes, err) == -1)
		goto done;
	double *x = &lib->raw[i * FM_RANK_DIMS];
	descriptors(rec, x, info);
	timbre(rec, &lib->raw_timbre[i * RANK_TIMBRE_DIMS]);
	lib->path_own[i] = h;
	lib->groups_own[2 * i] = group(rec, "artist");
	lib->groups_own[2 * i + 1] = group(rec, "album");
	lib->tags_own[i] = song_tags(rec, info);
	table_put(lib->table, lib->table_cap, h, i);
	lib->n_songs++;
	*how = FM_RANK_ADDED;
	rc = 0;
done:
	cJSON_Delete(rec);
	return rc;
}

int
rank_norms(struct fm_rank_library *lib, struct fm_err *err)
{
	free(lib->inv_norm);
	lib->inv_norm = malloc((lib->n_songs != 0 ? lib->n_songs : 1) * sizeof *lib->inv_norm);
	if (lib->inv_norm == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu songs", lib->n_songs);
	for (size_t i = 0; i < lib->n_songs; i++) {
		const float *z = &lib->z[i * FM_RANK_DIMS];
		double ss = 0;

		for (int d = 0; d < FM_RANK_DIMS; d++)
			ss += (double)z[d] * z[d];
		/* A song at the library's mean in every respect has no direction: it scores 0. */
		lib->inv_norm[i] = ss > 1e-12 ? (float)(1 / sqrt(ss)) : 0.0f;
	}
	return 0;
}

/*
 * Standardise column d of raw (n rows of dims) into z, its mean and standard deviation into
 * *mean and *sd: computed in double precision over the songs that have it, 0 for a song that
 * lacks it, 0 for everyone when it does not vary.
 */
static void
standardise(const double *raw, size_t n, int dims, int d, float *z, double *mean_out,
            double *sd_out)
{
	double sum = 0, ss = 0, mean, sd;
	size_t n_have = 0;

	for (size_t i = 0; i < n; i++) {
		double x = raw[i * dims + d];
		if (!isnan(x)) {
			sum += x;
			n_have++;
		}
	}
	mean = n_have > 0 ? sum / (double)n_have : 0;
	for (size_t i = 0; i < n; i++) {
		double x = raw[i * dims + d];
		if (!isnan(x))
			ss += (x - mean) * (x - mean);
	}
	sd = n_have > 1 ? sqrt(ss / (double)n_have) : 0;
	/* Differences at the level of rounding are no variation. */
	if (!(sd > 1e-9 * fmax(1, fabs(mean))))
		sd = 0;
	*mean_out = mean;
	*sd_out = sd;
	for (size_t i = 0; i < n; i++) {
		double x = raw[i * dims + d], v = 0;
		if (!isnan(x) && sd > 0)
			v = fmin(fmax((x - mean) / sd, -RANK_Z_MAX), RANK_Z_MAX);
		z[i * dims + d] = (float)v;
	}
}

int
fm_rank_library_finish(struct fm_rank_library *lib, struct fm_err *err)
{
	size_t n = lib->n_songs;
	double mean, sd;

	if (lib->finished)
		return fm_err_set(err, FM_EINVAL, "the library is finished already");
	if (n == 0)
		return fm_err_set(err, FM_EINVAL, "the library has no song");
	if ((lib->z_own = malloc(n * FM_RANK_DIMS * sizeof *lib->z_own)) == NULL ||
	    (lib->timbre_own = malloc(n * RANK_TIMBRE_DIMS * sizeof *lib->timbre_own)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu songs", n);
	for (int d = 0; d < FM_RANK_DIMS; d++)
		standardise(lib->raw, n, FM_RANK_DIMS, d, lib->z_own, &lib->mean[d], &lib->std[d]);
	for (int d = 0; d < RANK_TIMBRE_DIMS; d++) {
		standardise(lib->raw_timbre, n, RANK_TIMBRE_DIMS, d, lib->timbre_own, &mean, &sd);
		lib->has_timbre = lib->has_timbre || sd > 0;
	}
	lib->z = lib->z_own;
	lib->timbre = lib->timbre_own;
	if (rank_norms(lib, err) == -1)
		return -1;
	free(lib->raw);
	lib->raw = NULL;
	free(lib->raw_timbre);
	lib->raw_timbre = NULL;
	lib->finished = true;
	return 0;
}
