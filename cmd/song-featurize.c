/*
 * cmd/song-featurize.c: describe audio files for recommend. Reads paths (operands, or stdin
 * lines that are paths or records with "path"), decodes and analyses each file (lib/audio:
 * librosa's MFCC and spectral definitions, tempo, key, loudness) and writes its record with
 * the fields of man/song-featurize.1. Progress goes to stderr when it is a terminal.
 *
 * --update brings a library file up to date: the records of files whose path, size and
 * modification time are those the file has are kept as they are, without decoding a byte;
 * the others are analysed; the records of files not among the inputs are dropped. The new
 * library goes to a file beside the old one (the record loop's standard output, dup2'd onto
 * it), renamed over it at the end: an error or a signal leaves the old one as it was.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio.h"
#include "common.h"
#include "lines.h"
#include "loop.h"
#include "options.h"
#include "progress.h"
#include "ndjson.h"

static const char USAGE[] = "usage: song-featurize [-0hV] [--analysis-rate hz] [--beats] [--jobs n]"
                            " [--max-duration sec] [--max-line bytes] [--no-progress] [--progress]"
                            " [--update library] [file ...]";

static const char OPTIONS[] =
    "  --analysis-rate hz   resample to this rate before the analysis, 8000 to 48000\n"
    "                       (default 22050)\n"
    "  --beats              add \"beats\", the beat times in seconds\n"
    "  --jobs n             files analysed at once (default: online processors)\n"
    "  --max-duration sec   refuse longer audio (default 10800: three hours)\n"
    "  --progress           a progress line on stderr even when it is not a terminal\n"
    "  --update library     bring this file of records up to date with the files named:\n"
    "                       keep the records of unchanged files, analyse the others,\n"
    "                       drop the rest; replaced at the end, nothing on stdout\n";

struct opts {
	struct common_opts common; /* --jobs, --max-line, --progress, --no-progress */
	struct fm_audio_opts audio;
	const char *update; /* --update: the library to bring up to date */
};

/* --update: a record of the library as it was. */
struct old_song {
	char *path;
	char *line; /* the record's line, without its newline */
	size_t n_line, order;
	double size_bytes, mtime_sec; /* NAN when the record has no usable one */
};

struct old_library {
	struct old_song *songs; /* sorted by path, then by order in the file */
	size_t n, cap;
	atomic_uchar *used; /* per song: an input named its path */
	atomic_ullong n_kept, n_analysed;
};

struct featurize {
	const struct opts *o;
	struct old_library old;
	struct fm_audio_analyzer **analyzers; /* one per --jobs thread */
	atomic_ullong audio_ms;               /* for the progress line */
	double started;                       /* clock_sec */
};

enum {
	OPT_ANALYSIS_RATE = 256,
	OPT_BEATS,
	OPT_MAX_DURATION,
	OPT_UPDATE,
};

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"analysis-rate", required_argument, NULL, OPT_ANALYSIS_RATE},
	    {"beats", no_argument, NULL, OPT_BEATS},
	    {"max-duration", required_argument, NULL, OPT_MAX_DURATION},
	    {"update", required_argument, NULL, OPT_UPDATE},
	    {NULL, 0, NULL, 0},
	};
	int c;

	common_opts_init(&o->common, "song-featurize", USAGE, OPTIONS, "", own,
	                 COMMON_JOBS | COMMON_MAX_LINE | COMMON_PROGRESS | COMMON_NULL |
	                     COMMON_NO_PROGRESS);
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case OPT_ANALYSIS_RATE:
			o->audio.analysis_rate_hz = (uint32_t)option_int(
			    USAGE, "--analysis-rate", optarg, FM_AUDIO_MIN_ANALYSIS_HZ,
			    FM_AUDIO_MAX_ANALYSIS_HZ);
			break;
		case OPT_BEATS:
			o->audio.beats = true;
			break;
		case OPT_MAX_DURATION:
			o->audio.max_duration_sec =
			    option_real(USAGE, "--max-duration", optarg, 0, 1e7, NUM_OPEN_MIN);
			break;
		case OPT_UPDATE:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--update: empty file name");
			o->update = optarg;
			break;
		}
	}
}

/* v with digits significant digits, as a JSON number. */
static cJSON *
number(double v, int digits)
{
	return cJSON_CreateNumber(fm_ndjson_round_sig(v, digits));
}

static cJSON *
numbers(const double *v, size_t n, int digits)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < n; i++) {
		cJSON *x = number(v[i], digits);

		if (x == NULL || !cJSON_AddItemToArray(a, x)) {
			cJSON_Delete(x);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static int
set_fields(cJSON *rec, const struct fm_audio_features *f, struct fm_err *err)
{
	const char *key = fm_audio_key_name(f->key), *mode = fm_audio_mode_name(f->mode);
	struct {
		const char *name;
		double v;
	} stats[] = {
	    {"rms_mean", f->rms.mean},
	    {"rms_std", f->rms.std},
	    {"centroid_mean", f->centroid_hz.mean},
	    {"centroid_std", f->centroid_hz.std},
	    {"bandwidth_mean", f->bandwidth_hz.mean},
	    {"bandwidth_std", f->bandwidth_hz.std},
	    {"rolloff_mean", f->rolloff_hz.mean},
	    {"rolloff_std", f->rolloff_hz.std},
	    {"flatness_mean", f->flatness.mean},
	    {"flatness_std", f->flatness.std},
	    {"zcr_mean", f->zcr.mean},
	    {"zcr_std", f->zcr.std},
	};

	/* Times to the millisecond: precise enough, and records stay short. */
	if (fm_ndjson_set(rec, "duration", cJSON_CreateNumber(fm_ndjson_round(f->duration_sec, 3)),
	                  err) ||
	    fm_ndjson_set(rec, "sample_rate", cJSON_CreateNumber(f->sample_rate_hz), err) ||
	    fm_ndjson_set(rec, "channels", cJSON_CreateNumber(f->channels), err) ||
	    fm_ndjson_set(rec, "analysis_rate", cJSON_CreateNumber(f->analysis_rate_hz), err) ||
	    fm_ndjson_set(rec, "tempo", f->has_tempo ? number(f->tempo_bpm, 5) : cJSON_CreateNull(),
	                  err) ||
	    fm_ndjson_set(rec, "tempo_confidence", number(f->tempo_confidence, 3), err) ||
	    fm_ndjson_set(rec, "key", key != NULL ? cJSON_CreateString(key) : cJSON_CreateNull(),
	                  err) ||
	    fm_ndjson_set(rec, "mode", mode != NULL ? cJSON_CreateString(mode) : cJSON_CreateNull(),
	                  err) ||
	    fm_ndjson_set(rec, "key_strength", number(f->key_strength, 4), err) ||
	    fm_ndjson_set(rec, "loudness", number(f->loudness_db, 5), err))
		return -1;
	for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
		if (fm_ndjson_set(rec, stats[i].name, number(stats[i].v, 5), err) == -1)
			return -1;
	if (fm_ndjson_set(rec, "onset_rate",
	                  f->silent ? cJSON_CreateNull() : number(f->onset_rate_hz, 4), err) ||
	    fm_ndjson_set(rec, "mfcc_mean", numbers(f->mfcc_mean, FM_AUDIO_N_MFCC, 5), err) ||
	    fm_ndjson_set(rec, "mfcc_std", numbers(f->mfcc_std, FM_AUDIO_N_MFCC, 5), err) ||
	    fm_ndjson_set(rec, "chroma_mean", numbers(f->chroma_mean, FM_AUDIO_N_CHROMA, 4), err))
		return -1;
	return 0;
}

/*
 * The file's tags, each only when the file has it and the input record does not already
 * carry the field (a library's own metadata, passed through, is the user's word). Bytes
 * that are not UTF-8 (an ID3v1 tag in Latin-1) become U+FFFD.
 */
static int
set_tags(cJSON *rec, const struct fm_audio_tags *t, struct fm_err *err)
{
	const struct {
		const char *name, *value;
	} tags[] = {
	    {"title", t->title}, {"artist", t->artist}, {"album", t->album},
	    {"track", t->track}, {"year", t->year},     {"genre", t->genre},
	};

	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
		if (tags[i].value[0] != '\0' && !cJSON_HasObjectItem(rec, tags[i].name) &&
		    fm_ndjson_set_text(rec, tags[i].name, tags[i].value, strlen(tags[i].value),
		                       SIZE_MAX, err) == -1)
			return -1;
	return 0;
}

static int
set_beats(cJSON *rec, const struct fm_audio_features *f, struct fm_err *err)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < f->n_beats; i++) {
		cJSON *x = cJSON_CreateNumber(fm_ndjson_round(f->beats_sec[i], 3));

		if (x == NULL || !cJSON_AddItemToArray(a, x)) {
			cJSON_Delete(x);
			cJSON_Delete(a);
			a = NULL;
		}
	}
	return fm_ndjson_set(rec, "beats", a, err);
}

/*
 * The file's modification time as the records carry it: Unix seconds to the millisecond,
 * rounded the one way, so that the number read back from a record equals the one made
 * again from the same stat.
 */
static double
mtime_of(const struct stat *st)
{
	return fm_ndjson_round((double)st->st_mtim.tv_sec + st->st_mtim.tv_nsec / 1e9, 3);
}

/* The record --update keeps for path at st: the first of that path, if it is usable and its
 * size and time are st's; NULL when the file must be analysed. */
static struct old_song *
unchanged(struct old_library *old, const char *path, const struct stat *st)
{
	size_t lo = 0, hi = old->n;

	/* The first song of this path: the lowest whose path is not below it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(old->songs[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == old->n || strcmp(old->songs[lo].path, path) != 0)
		return NULL;
	atomic_store(&old->used[lo], 1);
	if (old->songs[lo].size_bytes != (double)st->st_size ||
	    old->songs[lo].mtime_sec != mtime_of(st))
		return NULL;
	return &old->songs[lo];
}

static int
featurize_one(void *arg, int thread, cJSON *rec, struct fm_err *err)
{
	struct featurize *z = arg;
	struct fm_audio_features f;
	const char *path;
	struct stat st;
	bool have_stat;
	int rc = -1;

	if (fm_ndjson_get_path(rec, &path, err) == -1)
		return -1;
	/* Before the decoder reads a byte: a file that changes during the analysis then has an
	 * older time in its record than on disk, and --update analyses it again next time. A
	 * file that cannot be stat'ed fails in the decoder, which says why. */
	have_stat = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	if (have_stat && z->old.n > 0) {
		const struct old_song *kept = unchanged(&z->old, path, &st);
		if (kept != NULL) {
			atomic_fetch_add(&z->old.n_kept, 1);
			return fm_ndjson_set_verbatim(rec, kept->line, kept->n_line, err);
		}
	}
	if (z->o->update != NULL)
		atomic_fetch_add(&z->old.n_analysed, 1);
	/* The file's size and time, as they were before the analysis, join a record that
	 * succeeded, after its tags and before what the analysis found. */
	if (fm_audio_analyze_file(z->analyzers[thread], path, &f, err) == 0 &&
	    set_tags(rec, &f.tags, err) == 0 &&
	    (!have_stat ||
	     (fm_ndjson_set(rec, "size", cJSON_CreateNumber((double)st.st_size), err) == 0 &&
	      fm_ndjson_set(rec, "mtime", cJSON_CreateNumber(mtime_of(&st)), err) == 0)) &&
	    set_fields(rec, &f, err) == 0 && (!z->o->audio.beats || set_beats(rec, &f, err) == 0))
		rc = 0;
	if (rc == 0)
		atomic_fetch_add(&z->audio_ms, (unsigned long long)llround(f.duration_sec * 1000));
	fm_audio_features_free(&f);
	return rc;
}

/* The progress line's own fields: how much audio, how many times faster than playing it. */
static void
progress_extra(void *arg, char *buf, size_t size)
{
	const struct featurize *z = arg;
	unsigned long long s = atomic_load(&z->audio_ms) / 1000;
	double wall = clock_sec() - z->started;

	snprintf(buf, size, "%llu:%02llu:%02llu of audio, %.0fx real time", s / 3600, s / 60 % 60,
	         s % 60, wall > 0 ? (double)s / wall : 0);
}

/* --- --update: the library as it was ------------------------------------------------------ */

static int
song_order(const void *a, const void *b)
{
	const struct old_song *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c != 0 ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* A number member of rec, or NAN when it is missing or not a finite number. */
static double
number_of(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

/*
 * A line of the library. Anything but a record with a "path" stops the update, the file
 * left as it is: it is not a library song-featurize wrote (a song file named by mistake, a
 * damaged copy), and rewriting it would lose what it holds. A record that failed ("error")
 * or has no size or time is kept only as a path to analyse again.
 */
static int
add_old(void *ctx, const struct fm_ndjson_line *line, cJSON *unused, struct fm_err *e)
{
	struct old_library *old = ctx;
	struct old_song *s;
	const char *path;
	bool failed;
	cJSON *rec;

	(void)unused;
	if (fm_ndjson_parse(line->text, line->n_bytes, 0, &rec, e) == -1)
		return LINE_STOP;
	if (fm_ndjson_get_path(rec, &path, e) == -1) {
		cJSON_Delete(rec);
		return LINE_STOP;
	}
	if (old->n == old->cap) {
		size_t cap = old->cap ? 2 * old->cap : 256;
		struct old_song *more = realloc(old->songs, cap * sizeof *more);
		if (more == NULL) {
			cJSON_Delete(rec);
			fm_err_set(e, FM_ENOMEM, "out of memory for %zu records", cap);
			return LINE_STOP;
		}
		old->songs = more;
		old->cap = cap;
	}
	s = &old->songs[old->n];
	*s = (struct old_song){.order = old->n, .n_line = line->n_bytes};
	failed = fm_ndjson_has_error(rec);
	s->path = strdup(path);
	s->line = failed ? NULL : malloc(line->n_bytes + 1);
	s->size_bytes = failed ? NAN : number_of(rec, "size");
	s->mtime_sec = failed ? NAN : number_of(rec, "mtime");
	cJSON_Delete(rec);
	if (s->path == NULL || (!failed && s->line == NULL)) {
		free(s->path);
		free(s->line);
		fm_err_set(e, FM_ENOMEM, "out of memory for a record");
		return LINE_STOP;
	}
	if (s->line != NULL)
		memcpy(s->line, line->text, line->n_bytes + 1);
	old->n++;
	return LINE_OK;
}

/*
 * Read the library --update names; a file that does not exist yet is an empty library.
 * -1 (said) when it cannot be read or is not a library: nothing is written then.
 */
static int
load_old(const struct opts *o, struct old_library *old, struct stat *st, bool *exists)
{
	int status = STATUS_ALL_OK;

	*exists = stat(o->update, st) == 0;
	if (!*exists && errno != ENOENT) {
		warn_about(o->update, "%s", strerror(errno));
		return -1;
	}
	/* Replaced by a rename: a FIFO, a device or a folder cannot be. */
	if (*exists && !S_ISREG(st->st_mode)) {
		warn_about(o->update, "not a regular file: not a library to update");
		return -1;
	}
	if (*exists &&
	    (lines_read(o->update, o->common.max_line_bytes, 0, add_old, old, &status) == -1 ||
	     status != STATUS_ALL_OK)) {
		warn_about(o->update, "not updated: it is not a file of song records as "
		                      "song-featurize writes them");
		return -1;
	}
	if (old->n > 0) {
		qsort(old->songs, old->n, sizeof *old->songs, song_order);
		if ((old->used = calloc(old->n, sizeof *old->used)) == NULL) {
			warn_about(o->update, "out of memory for %zu records", old->n);
			return -1;
		}
	}
	return 0;
}

static void
free_old(struct old_library *old)
{
	for (size_t i = 0; i < old->n; i++) {
		free(old->songs[i].path);
		free(old->songs[i].line);
	}
	free(old->songs);
	free(old->used);
}

/* The records of files that no input named: one per path. */
static size_t
count_dropped(const struct old_library *old)
{
	size_t n = 0;

	for (size_t i = 0; i < old->n; i++)
		n += !atomic_load(&old->used[i]) &&
		     (i == 0 || strcmp(old->songs[i - 1].path, old->songs[i].path) != 0);
	return n;
}

/*
 * Send the record loop's standard output to a new file beside the library (mode that of
 * the old one), removed if a signal ends the process first. -1 (said) when it cannot be made.
 */
static int
open_new_library(const struct opts *o, const struct stat *st, bool exists,
                 struct fm_file_writer **w)
{
	struct fm_err e;

	protect_lines();
	if (fm_file_writer_new(o->update, w, &e) == -1) {
		warn_about(o->update, "cannot write beside it: %s", e.msg);
		return -1;
	}
	remove_on_signal(fm_file_writer_tmp(*w));
	if ((exists && fchmod(fm_file_writer_fd(*w), st->st_mode & 07777) == -1) ||
	    fflush(stdout) == EOF || dup2(fm_file_writer_fd(*w), STDOUT_FILENO) == -1) {
		warn_about(o->update, "cannot write beside it: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* After the loop: rename the new library over the old one, or leave the old one. */
static int
finish_update(const struct opts *o, struct run *r, struct featurize *z, struct fm_file_writer *w)
{
	int failed = r->out_errno;
	struct fm_err e;

	/* run_finish would blame "stdout": the file is the output here. */
	if (failed != 0) {
		warn_about(o->update, "not updated: %s", strerror(failed));
		return STATUS_CANNOT_RUN;
	}
	if (fm_file_writer_commit(w, &e) == -1) {
		warn_about(o->update, "not updated: %s", e.msg);
		return STATUS_CANNOT_RUN;
	}
	remove_on_signal(NULL);
	if (o->common.progress)
		warn_about(o->update, "%llu kept, %llu analysed, %zu dropped",
		           (unsigned long long)atomic_load(&z->old.n_kept),
		           (unsigned long long)atomic_load(&z->old.n_analysed),
		           count_dropped(&z->old));
	return r->status;
}

/* --- main ------------------------------------------------------------------------------ */

static int
open_analyzers(const struct opts *o, struct featurize *z)
{
	struct fm_err e;

	z->analyzers = calloc((size_t)o->common.jobs, sizeof *z->analyzers);
	if (z->analyzers == NULL) {
		warnx("out of memory for %d analyzers", o->common.jobs);
		return -1;
	}
	for (int i = 0; i < o->common.jobs; i++) {
		if (fm_audio_analyzer_new(&o->audio, &z->analyzers[i], &e) == -1) {
			warnx("%s", e.msg);
			return -1;
		}
	}
	return 0;
}

static void
close_analyzers(const struct opts *o, struct featurize *z)
{
	if (z->analyzers != NULL)
		for (int i = 0; i < o->common.jobs; i++)
			fm_audio_analyzer_free(z->analyzers[i]);
	free(z->analyzers);
}

int
main(int argc, char *argv[])
{
	struct opts o = {
	    .audio = FM_AUDIO_OPTS_DEFAULT,
	};
	struct featurize z = {.o = &o};
	struct run r = {
	    .work = featurize_one,
	    .ctx = &z,
	    .flags = RUN_BARE_PATHS | RUN_NEED_PATH,
	    .status = STATUS_ALL_OK,
	};

	struct fm_file_writer *w = NULL;
	struct stat st;
	bool exists;
	int status;

	parse_options(argc, argv, &o);
	if (o.update != NULL && (load_old(&o, &z.old, &st, &exists) == -1 ||
	                         open_new_library(&o, &st, exists, &w) == -1)) {
		fm_file_writer_free(w);
		free_old(&z.old);
		return STATUS_CANNOT_RUN;
	}
	if (open_analyzers(&o, &z) == -1) {
		close_analyzers(&o, &z);
		fm_file_writer_free(w);
		free_old(&z.old);
		return STATUS_CANNOT_RUN;
	}
	r.jobs = o.common.jobs;
	r.max_line_bytes = o.common.max_line_bytes;
	r.progress = o.common.progress;
	r.null_paths = o.common.null;
	r.progress_extra = progress_extra;
	r.name = "song-featurize";
	z.started = clock_sec();
	run_records(&r, argc - optind, argv + optind);
	close_analyzers(&o, &z);
	if (o.update != NULL) {
		status = finish_update(&o, &r, &z, w);
		fm_file_writer_free(w);
	} else {
		status = run_finish(&r);
	}
	free_old(&z.old);
	return status;
}
