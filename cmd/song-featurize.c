/*
 * cmd/song-featurize.c: describe audio files for recommend. Reads paths (operands, or stdin
 * lines that are paths or records with "path"), decodes and analyses each file (lib/audio:
 * librosa's MFCC and spectral definitions, tempo, key, loudness) and writes its record with
 * the fields of man/song-featurize.1. Progress goes to stderr when it is a terminal.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio.h"
#include "common.h"
#include "loop.h"
#include "options.h"
#include "progress.h"
#include "ndjson.h"

static const char USAGE[] = "usage: song-featurize [-0hV] [--analysis-rate hz] [--beats] [--jobs n]"
                            " [--max-duration sec] [--max-line bytes] [--no-progress] [--progress]"
                            " [file ...]";

static const char OPTIONS[] =
    "  --analysis-rate hz   resample to this rate before the analysis, 8000 to 48000\n"
    "                       (default 22050)\n"
    "  --beats              add \"beats\", the beat times in seconds\n"
    "  --jobs n             files analysed at once (default: online processors)\n"
    "  --max-duration sec   refuse longer audio (default 10800: three hours)\n"
    "  --progress           a progress line on stderr even when it is not a terminal\n";

struct opts {
	struct common_opts common; /* --jobs, --max-line, --progress, --no-progress */
	struct fm_audio_opts audio;
};

struct featurize {
	const struct opts *o;
	struct fm_audio_analyzer **analyzers; /* one per --jobs thread */
	atomic_ullong audio_ms;               /* for the progress line */
	double started;                       /* clock_sec */
};

enum {
	OPT_ANALYSIS_RATE = 256,
	OPT_BEATS,
	OPT_MAX_DURATION,
};

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"analysis-rate", required_argument, NULL, OPT_ANALYSIS_RATE},
	    {"beats", no_argument, NULL, OPT_BEATS},
	    {"max-duration", required_argument, NULL, OPT_MAX_DURATION},
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

static int
featurize_one(void *arg, int thread, cJSON *rec, struct fm_err *err)
{
	struct featurize *z = arg;
	struct fm_audio_features f;
	const char *path;
	int rc = -1;

	if (fm_ndjson_get_path(rec, &path, err) == -1)
		return -1;
	if (fm_audio_analyze_file(z->analyzers[thread], path, &f, err) == 0 &&
	    set_tags(rec, &f.tags, err) == 0 && set_fields(rec, &f, err) == 0 &&
	    (!z->o->audio.beats || set_beats(rec, &f, err) == 0))
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

	parse_options(argc, argv, &o);
	if (open_analyzers(&o, &z) == -1) {
		close_analyzers(&o, &z);
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
	return run_finish(&r);
}
