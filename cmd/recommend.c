/*
 * cmd/recommend.c: rank the user's own songs for the expressions found in photos or frames.
 * Reads fer-classify's records (or takes --emotion or --scores), pools their faces into one
 * mood (lib/rank), and writes the best songs of the library (song-featurize's records, or an
 * index built from them) as records, best first. Also builds the index (--build-index) and
 * learns profiles from the user's tags (--learn). See man/recommend.1.
 *
 * This tool aggregates: it does not write one record per input record, so it reads its input,
 * as its library and logs, through cmd/lines rather than the ordered record loop. Input that
 * cannot be used is said on stderr and leaves the exit status at 1; it does not come out as
 * error records among the songs.
 */
#define _XOPEN_SOURCE 700 /* realpath(3): POSIX, but glibc declares it only for XSI */

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "lines.h"
#include "mood.h"
#include "ndjson.h"
#include "options.h"
#include "rank.h"

static const char USAGE[] =
    "usage: recommend [-hV] [-n count] [--changes-only] [--diverse kinds] [--dwell seconds] "
    "[--each] [--emotion name | --scores json] "
    "[--exclude-history file] [--feedback file] [--format ndjson | m3u | text] "
    "[--half-life seconds] [--hysteresis x] [--index file | --library file ...] "
    "[--max-line bytes] [--max-songs n] [--min-duration seconds] [--now time] "
    "[--output file] [--profiles file] [--recent seconds] "
    "[--strategy match | uplift | calm] [--strength x] [file ...]\n"
    "       recommend --build-index file --library file ...\n"
    "       recommend --learn file [--profiles file] --index file | --library file ...";

static const char OPTIONS[] =
    "  --build-index file      write the libraries as a binary index to file, and exit\n"
    "  --changes-only          with --each, write a ranking only when its songs differ\n"
    "                          from the last one written\n"
    "  --diverse kinds         vary the songs: mmr (or mmr=lambda, default 0.5),\n"
    "                          artist, album, or a comma list of them\n"
    "  --dwell seconds         with --each, keep a frame's ranking at least this long\n"
    "                          of the frames' time \"t\" (default 5)\n"
    "  --each                  one ranking per input record (a stream of frames)\n"
    "  --emotion name          rank for this expression (any case); stdin is not read\n"
    "  --exclude-history file  leave out the songs this play log names (see --recent)\n"
    "  --feedback file         likes, skips, ratings and fer-react's reactions: your\n"
    "                          taste, outweighing the mood as the evidence grows\n"
    "  --format name           ndjson (records, the default), m3u (a playlist; not\n"
    "                          with --each) or text (a table for people)\n"
    "  --half-life seconds     frames weigh less as they age by this half-life\n"
    "  --hysteresis x          with --each, a frame's ranking changes only when the\n"
    "                          mood moved this much, 0 to 1 (default 0.1)\n"
    "  --index file            the library as built by --build-index\n"
    "  --learn file            write profiles learnt from the songs' \"emotion\" tags\n"
    "                          to file (- for stdout), and exit\n"
    "  --library file          song-featurize's records; may be repeated\n"
    "  --max-line bytes        refuse longer lines in any input (default 1048576)\n"
    "  --max-songs n           refuse a larger library (default 1000000)\n"
    "  --min-duration seconds  leave out shorter songs (default 5; 0: none)\n"
    "  -n count                songs per ranking (default 10)\n"
    "  --now time              the present, for --feedback and --recent (default: the\n"
    "                          clock): Unix seconds, RFC 3339, or\n"
    "                          \"2024-05-01 18:30:00\" in local time\n"
    "  --output file           write the output to file, whole, at the end (an m3u\n"
    "                          playlist's paths then relative to its folder)\n"
    "  --profiles file         the mood profiles (default: $FERMATA_PROFILES, else\n"
    "                          profiles.json installed with fermata or in the build\n"
    "                          tree's models/)\n"
    "  --recent seconds        history older than this is not excluded (default\n"
    "                          86400, a day; 0: all of it)\n"
    "  --scores json           rank for this distribution, {\"sad\":0.7,\"neutral\":0.3}\n"
    "  --strategy name         match (default), uplift or calm\n"
    "  --strength x            how far uplift and calm move, 0 to 10 (default 1)\n";

#define PROFILES_NAME "profiles.json"
#define MAX_LIBRARIES 64
#define MAX_RESULTS 1000000
/* Songs read into memory by default: about 1 GB of song-featurize's records. */
#define DEFAULT_MAX_SONGS 1000000

/* --format */
enum format { FORMAT_NDJSON, FORMAT_M3U, FORMAT_TEXT };

struct opts {
	struct common_opts common; /* --max-line */
	const char *libraries[MAX_LIBRARIES];
	int n_libraries;
	const char *index, *build_index, *learn, *profiles, *feedback, *history, *output;
	enum format format;
	struct fm_rank_query query; /* strategy, strength, -n, diversity; the mood if fixed */
	double half_life_sec, recent_sec, now_sec, min_duration_sec;
	double dwell_sec, hysteresis; /* --each on frames: the mood held (fm_mood_hold) */
	size_t max_songs;
	bool each, fixed; /* fixed: --emotion or --scores gave the mood */
	bool changes_only;
	bool hold_given; /* --dwell or --hysteresis */
};

struct ctx {
	const struct opts *o;
	struct fm_rank_library *lib;
	struct fm_rank_paths *paths; /* finds the songs that logs name */
	struct fm_rank_profiles profiles;
	struct fm_rank_taste *taste; /* learnt from --feedback */
	struct fm_mood_pool mood;
	struct fm_mood_hold hold; /* --each on frames: the mood ranked for */
	struct fm_rank_work *work;
	struct fm_rank_hit *hits;
	cJSON **recs;       /* one ranking's output records, as many as hits */
	size_t *last_songs; /* --changes-only: the songs last written, in order */
	size_t n_last;
	bool written; /* a ranking was written, so last_songs holds one */
	uint8_t *excluded;
	int status;    /* STATUS_* */
	int out_errno; /* why stdout could not be written, or 0 */
	uint64_t n_rankings;
	/* The output's form: what --output collects until the end, the folder that relative
	 * playlist paths are taken from and the playlist's (NULL: absolute paths), the
	 * terminal's width for a table (0: none). */
	struct {
		char *s;
		size_t n, cap;
	} out;
	char cwd[PATH_MAX], base[PATH_MAX];
	bool has_base;
	size_t max_cols;
	uint64_t n[6]; /* what the file being read had, counted for one line of summary */
};

enum {
	OPT_BUILD_INDEX = 256,
	OPT_CHANGES_ONLY,
	OPT_DIVERSE,
	OPT_DWELL,
	OPT_EACH,
	OPT_EMOTION,
	OPT_EXCLUDE_HISTORY,
	OPT_FEEDBACK,
	OPT_FORMAT,
	OPT_HALF_LIFE,
	OPT_HYSTERESIS,
	OPT_INDEX,
	OPT_LEARN,
	OPT_LIBRARY,
	OPT_MAX_SONGS,
	OPT_MIN_DURATION,
	OPT_NOW,
	OPT_OUTPUT,
	OPT_PROFILES,
	OPT_RECENT,
	OPT_SCORES,
	OPT_STRATEGY,
	OPT_STRENGTH,
};

/* Where an option naming a file keeps it. */
static const char **
file_option(struct opts *o, int c)
{
	return c == OPT_BUILD_INDEX ? &o->build_index
	       : c == OPT_INDEX     ? &o->index
	       : c == OPT_LEARN     ? &o->learn
	       : c == OPT_PROFILES  ? &o->profiles
	       : c == OPT_FEEDBACK  ? &o->feedback
	       : c == OPT_OUTPUT    ? &o->output
	                            : &o->history;
}

/* The options that cannot go together, once all are read. */
static void
check_options(int argc, const struct opts *o, int n_moods)
{
	if (n_moods > 1)
		exit_usage(USAGE, "give one of --emotion and --scores, once");
	if (o->index != NULL && o->n_libraries > 0)
		exit_usage(USAGE, "--index and --library both name the library");
	if (o->index == NULL && o->n_libraries == 0)
		exit_usage(USAGE, "no library: give --library file (song-featurize's records) or "
		                  "--index file");
	if (o->build_index != NULL && o->learn != NULL)
		exit_usage(USAGE, "--build-index and --learn are separate runs");
	if (o->build_index != NULL && o->index != NULL)
		exit_usage(USAGE, "--build-index reads --library files, not an index");
	if ((o->build_index != NULL || o->learn != NULL) && optind < argc)
		exit_usage(USAGE, "%s reads no records",
		           o->build_index ? "--build-index" : "--learn");
	for (int k = 0; k < o->n_libraries; k++)
		if (strcmp(o->libraries[k], "-") == 0 && !o->fixed && o->build_index == NULL &&
		    o->learn == NULL)
			exit_usage(USAGE, "--library -: the standard input holds the faces");
	if (o->fixed && optind < argc)
		exit_usage(USAGE, "--emotion and --scores give the mood: no records to read");
	if (o->fixed && o->each)
		exit_usage(USAGE, "--each ranks for each input record; --emotion and --scores "
		                  "give one mood");
	/* One playlist is one ranking: a stream of them in one file would play as one list. */
	if (o->format == FORMAT_M3U && o->each)
		exit_usage(USAGE, "--format m3u writes one playlist; --each makes a ranking per "
		                  "record (use --format ndjson or text)");
	if ((o->build_index != NULL || o->learn != NULL) &&
	    (o->output != NULL || o->format != FORMAT_NDJSON))
		exit_usage(USAGE, "--format and --output are for rankings, not %s",
		           o->build_index ? "--build-index" : "--learn");
	if ((o->hold_given || o->changes_only) && !o->each)
		exit_usage(USAGE, "%s: only with --each",
		           o->changes_only ? "--changes-only" : "--dwell and --hysteresis");
}

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"build-index", required_argument, NULL, OPT_BUILD_INDEX},
	    {"changes-only", no_argument, NULL, OPT_CHANGES_ONLY},
	    {"diverse", required_argument, NULL, OPT_DIVERSE},
	    {"dwell", required_argument, NULL, OPT_DWELL},
	    {"each", no_argument, NULL, OPT_EACH},
	    {"emotion", required_argument, NULL, OPT_EMOTION},
	    {"exclude-history", required_argument, NULL, OPT_EXCLUDE_HISTORY},
	    {"feedback", required_argument, NULL, OPT_FEEDBACK},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"half-life", required_argument, NULL, OPT_HALF_LIFE},
	    {"hysteresis", required_argument, NULL, OPT_HYSTERESIS},
	    {"index", required_argument, NULL, OPT_INDEX},
	    {"learn", required_argument, NULL, OPT_LEARN},
	    {"library", required_argument, NULL, OPT_LIBRARY},
	    {"max-songs", required_argument, NULL, OPT_MAX_SONGS},
	    {"min-duration", required_argument, NULL, OPT_MIN_DURATION},
	    {"now", required_argument, NULL, OPT_NOW},
	    {"output", required_argument, NULL, OPT_OUTPUT},
	    {"profiles", required_argument, NULL, OPT_PROFILES},
	    {"recent", required_argument, NULL, OPT_RECENT},
	    {"scores", required_argument, NULL, OPT_SCORES},
	    {"strategy", required_argument, NULL, OPT_STRATEGY},
	    {"strength", required_argument, NULL, OPT_STRENGTH},
	    {NULL, 0, NULL, 0},
	};
	struct fm_err e;
	enum fm_emotion em;
	int c, n_moods = 0;

	common_opts_init(&o->common, "recommend", USAGE, OPTIONS, "n:", own, COMMON_MAX_LINE);
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case 'n':
			o->query.n_results =
			    (size_t)option_int(USAGE, "-n", optarg, 1, MAX_RESULTS);
			break;
		case OPT_BUILD_INDEX:
		case OPT_INDEX:
		case OPT_LEARN:
		case OPT_LIBRARY:
		case OPT_PROFILES:
		case OPT_FEEDBACK:
		case OPT_EXCLUDE_HISTORY:
		case OPT_OUTPUT:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "%s: empty file name", argv[optind - 1]);
			if (c != OPT_LIBRARY)
				*file_option(o, c) = optarg;
			else if (o->n_libraries == MAX_LIBRARIES)
				exit_usage(USAGE, "more than %d --library files", MAX_LIBRARIES);
			else
				o->libraries[o->n_libraries++] = optarg;
			break;
		case OPT_CHANGES_ONLY:
			o->changes_only = true;
			break;
		case OPT_DWELL:
			o->dwell_sec = option_real(USAGE, "--dwell", optarg, 0, 1e9, 0);
			o->hold_given = true;
			break;
		case OPT_HYSTERESIS:
			o->hysteresis = option_real(USAGE, "--hysteresis", optarg, 0, 1, 0);
			o->hold_given = true;
			break;
		case OPT_DIVERSE:
			if (fm_rank_diverse_parse(optarg, &o->query.diverse, &o->query.mmr_lambda,
			                          &e) == -1)
				exit_usage(USAGE, "--diverse: %s", e.msg);
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "ndjson") == 0)
				o->format = FORMAT_NDJSON;
			else if (strcmp(optarg, "m3u") == 0)
				o->format = FORMAT_M3U;
			else if (strcmp(optarg, "text") == 0)
				o->format = FORMAT_TEXT;
			else
				exit_usage(USAGE, "--format: '%s' is not ndjson, m3u or text",
				           optarg);
			break;
		case OPT_MAX_SONGS:
			o->max_songs = (size_t)option_int(USAGE, "--max-songs", optarg, 1,
			                                  (long long)FM_RANK_MAX_SONGS);
			break;
		case OPT_MIN_DURATION:
			o->min_duration_sec =
			    option_real(USAGE, "--min-duration", optarg, 0, 1e7, 0);
			break;
		case OPT_EACH:
			o->each = true;
			break;
		case OPT_EMOTION:
			if (fm_emotion_parse(optarg, &em, &e) == -1)
				exit_usage(USAGE, "--emotion: %s", e.msg);
			for (int k = 0; k < FM_N_EMOTIONS; k++)
				o->query.mood[k] = k == (int)em;
			o->fixed = true;
			n_moods++;
			break;
		case OPT_HALF_LIFE:
			o->half_life_sec =
			    option_real(USAGE, "--half-life", optarg, 0, 1e9, NUM_OPEN_MIN);
			break;
		case OPT_NOW:
			if (fm_rank_time_parse(optarg, &o->now_sec, &e) == -1)
				exit_usage(USAGE, "--now: %s", e.msg);
			break;
		case OPT_RECENT:
			o->recent_sec = option_real(USAGE, "--recent", optarg, 0, 1e12, 0);
			break;
		case OPT_SCORES:
			if (fm_mood_scores_parse(optarg, o->query.mood, &e) == -1)
				exit_usage(USAGE, "--scores: %s", e.msg);
			o->fixed = true;
			n_moods++;
			break;
		case OPT_STRATEGY:
			if (fm_rank_strategy_parse(optarg, &o->query.strategy, &e) == -1)
				exit_usage(USAGE, "--strategy: %s", e.msg);
			break;
		case OPT_STRENGTH:
			o->query.strength =
			    option_real(USAGE, "--strength", optarg, 0, 10, NUM_OPEN_MIN);
			break;
		}
	}
	check_options(argc, o, n_moods);
}

/*
 * The profiles: --profiles, else $FERMATA_PROFILES, else the installed file, else the build
 * tree's (this binary is build/bin/recommend, the file models/profiles.json beside build/),
 * as fer-classify finds its model.
 */
static const char *
find_profiles(const struct opts *o, char *buf, size_t size, bool *from_env)
{
	const char *env = getenv("FERMATA_PROFILES");

	*from_env = false;
	if (o->profiles != NULL)
		return o->profiles;
	if (env != NULL && env[0] != '\0') {
		*from_env = true;
		return env;
	}
	return find_shipped_file(PROFILES_NAME, buf, size);
}

/* A line of a --library file. */
static int
add_song(void *ctx, const struct fm_ndjson_line *line, cJSON *rec, struct fm_err *e)
{
	struct ctx *c = ctx;
	struct fm_rank_song_info info;
	enum fm_rank_added how;

	(void)rec;
	if (fm_rank_library_size(c->lib) == c->o->max_songs) {
		fm_err_set(e, FM_ELIMIT, "the library has more than %zu songs (see --max-songs)",
		           c->o->max_songs);
		return LINE_STOP;
	}
	if (fm_rank_library_add(c->lib, line->text, line->n_bytes, &how, &info, e) == -1)
		return e->code == FM_EFORMAT ? LINE_BAD : LINE_STOP;
	c->n[0] += how == FM_RANK_UPSTREAM;
	c->n[1] += how == FM_RANK_DUPLICATE;
	c->n[2] += how == FM_RANK_ADDED && info.n_invalid > 0;
	c->n[3] += info.n_unknown_tags;
	c->n[4] += how == FM_RANK_SILENT;
	c->n[5] += how == FM_RANK_SHORT;
	return LINE_OK;
}

/* "s" for a plural count. */
static const char *
s_if(uint64_t n)
{
	return n > 1 ? "s" : "";
}

/* Read one --library file into the library; -1 when it cannot be read at all. */
static int
load_library_file(struct ctx *c, const char *path)
{
	const uint64_t *n = c->n;
	int rc;

	memset(c->n, 0, sizeof c->n);
	rc = lines_read(path, c->o->common.max_line_bytes, 0, add_song, c, &c->status);
	/* One line each, not one per song: a library of thousands must not flood the terminal. */
	if (n[0] > 0)
		warn_about(path,
		           "%llu song%s left out: song-featurize could not read %s (\"error\")",
		           (unsigned long long)n[0], s_if(n[0]), n[0] > 1 ? "them" : "it");
	if (n[1] > 0)
		warn_about(path, "%llu song%s left out: the same \"path\" came earlier",
		           (unsigned long long)n[1], s_if(n[1]));
	if (n[2] > 0)
		warn_about(path,
		           "%llu song%s with descriptors that are not usable numbers: taken at the "
		           "library's mean",
		           (unsigned long long)n[2], s_if(n[2]));
	if (n[4] > 0)
		warn_about(path, "%llu song%s left out: near-silent (\"loudness\" under %g dBFS)",
		           (unsigned long long)n[4], s_if(n[4]), FM_RANK_SILENCE_DB);
	if (n[5] > 0)
		warn_about(path, "%llu song%s left out: shorter than %g s (see --min-duration)",
		           (unsigned long long)n[5], s_if(n[5]), c->o->min_duration_sec);
	if (n[3] > 0 && c->o->learn != NULL)
		warn_about(path, "%llu \"emotion\" tag%s not among the seven expressions: ignored",
		           (unsigned long long)n[3], s_if(n[3]));
	return rc;
}

static int
load_index(struct ctx *c)
{
	const struct opts *o = c->o;
	unsigned want = 0;
	struct fm_err e;

	if (o->feedback != NULL || o->history != NULL)
		want |= FM_RANK_WANT_PATHS;
	if (o->feedback != NULL)
		want |= FM_RANK_WANT_TIMBRE;
	if (o->query.diverse & (FM_RANK_DIVERSE_ARTIST | FM_RANK_DIVERSE_ALBUM))
		want |= FM_RANK_WANT_GROUPS;
	if (o->learn != NULL)
		want |= FM_RANK_WANT_TAGS;
	if (fm_rank_index_load(o->index, want, &c->lib, &e) == -1) {
		warn_printable(o->index, e.msg);
		return -1;
	}
	if (fm_rank_library_size(c->lib) > o->max_songs) {
		warn_about(o->index, "the index holds %zu songs, more than %zu (see --max-songs)",
		           fm_rank_library_size(c->lib), o->max_songs);
		return -1;
	}
	return 0;
}

/*
 * --diverse artist or album on a library where no song has the field does nothing: say so,
 * once, and where the field comes from.
 */
static void
check_groups(const struct ctx *c)
{
	static const struct {
		unsigned kind;
		const char *name;
	} kinds[] = {{FM_RANK_DIVERSE_ARTIST, "artist"}, {FM_RANK_DIVERSE_ALBUM, "album"}};

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if ((c->o->query.diverse & kinds[k].kind) &&
		    fm_rank_library_n_grouped(c->lib, kinds[k].kind) == 0)
			warnx("--diverse %s: no song in the library has an \"%s\" (song-featurize "
			      "writes it from the file's tags), so it varies nothing",
			      kinds[k].name, kinds[k].name);
}

static int
load_library(struct ctx *c)
{
	const struct opts *o = c->o;
	struct fm_err e;

	if (o->index != NULL) {
		if (load_index(c) == -1)
			return -1;
		check_groups(c);
		return 0;
	}
	if (fm_rank_library_new(&c->lib, &e) == -1) {
		warn_printable(NULL, e.msg);
		return -1;
	}
	fm_rank_library_set_min_duration(c->lib, o->min_duration_sec);
	for (int k = 0; k < o->n_libraries; k++)
		if (load_library_file(c, o->libraries[k]) == -1)
			return -1;
	if (fm_rank_library_size(c->lib) == 0) {
		warn_about(NULL, "the library has no song to recommend (%s%s)", o->libraries[0],
		           o->n_libraries > 1 ? ", ..." : "");
		return -1;
	}
	if (fm_rank_library_finish(c->lib, &e) == -1) {
		warn_printable(NULL, e.msg);
		return -1;
	}
	check_groups(c);
	return 0;
}

/* A line of --feedback. */
static int
add_event(void *ctx, const struct fm_ndjson_line *line, cJSON *rec, struct fm_err *e)
{
	struct ctx *c = ctx;
	struct fm_rank_event ev;
	size_t i;
	int found;

	(void)line;
	switch (fm_rank_event_decode(rec, &c->profiles.feedback, &ev, e)) {
	case -1:
		return LINE_BAD;
	case 0: /* a play without judgement (fer-react saw no face): nothing to learn */
		return LINE_OK;
	}
	if ((found = fm_rank_paths_find(c->paths, ev.path, &i, e)) == -1)
		return LINE_BAD;
	if (found == 0)
		c->n[0]++;
	else if (fm_rank_taste_add(c->taste, i, &ev, c->o->now_sec, &c->profiles.feedback, e) == -1)
		return LINE_STOP;
	return LINE_OK;
}

/* A line of --exclude-history: its song is excluded unless played before --recent. */
static int
add_play(void *ctx, const struct fm_ndjson_line *line, cJSON *rec, struct fm_err *e)
{
	struct ctx *c = ctx;
	const char *path;
	size_t i;
	int found, recent = fm_rank_play_decode(rec, c->o->now_sec, c->o->recent_sec, &path, e);

	(void)line;
	if (recent == 0) /* played long enough ago to be welcome again */
		return LINE_OK;
	if (recent == -1 || (found = fm_rank_paths_find(c->paths, path, &i, e)) == -1)
		return LINE_BAD;
	c->n[0]++;
	c->n[1] += (uint64_t)found;
	if (found == 1)
		c->excluded[i] = 1;
	return LINE_OK;
}

/* Move the profiles by --feedback and mark the songs of --exclude-history; -1 when a file
 * cannot be read. */
static int
read_logs(struct ctx *c)
{
	const struct opts *o = c->o;
	struct fm_err e;

	if (o->feedback == NULL && o->history == NULL)
		return 0;
	if (fm_rank_paths_new(c->lib, &c->paths, &e) == -1 ||
	    (c->excluded = calloc(fm_rank_library_size(c->lib), 1)) == NULL) {
		warnx("out of memory");
		return -1;
	}
	if (o->feedback != NULL) {
		if (fm_rank_taste_new(c->lib, &c->taste, &e) == -1) {
			warnx("out of memory");
			return -1;
		}
		memset(c->n, 0, sizeof c->n);
		if (lines_read(o->feedback, o->common.max_line_bytes, LINES_RECORDS, add_event, c,
		               &c->status) == -1)
			return -1;
		if (c->n[0] > 0)
			warn_about(
			    o->feedback, "%llu line%s name%s songs not in the library: ignored",
			    (unsigned long long)c->n[0], s_if(c->n[0]), c->n[0] > 1 ? "" : "s");
	}
	if (o->history != NULL) {
		memset(c->n, 0, sizeof c->n);
		if (lines_read(o->history, o->common.max_line_bytes,
		               LINES_RECORDS | LINES_BARE_PATH, add_play, c, &c->status) == -1)
			return -1;
		/* Most likely the log and the library spell paths differently, for files not here.
		 */
		if (c->n[0] > 0 && c->n[1] == 0)
			warn_about(o->history,
			           "none of its %llu song%s is in the library: nothing excluded",
			           (unsigned long long)c->n[0], s_if(c->n[0]));
	}
	return 0;
}

/*
 * Text for the output: to stdout as it comes, or kept for --output's file; -1 when stdout
 * cannot be written (c->out_errno) or memory runs out.
 */
static int
emit(struct ctx *c, const char *text, size_t n)
{
	if (c->o->output == NULL) {
		c->out_errno = write_line(text, n);
		return c->out_errno != 0 ? -1 : 0;
	}
	if (c->out.n + n > c->out.cap) {
		size_t cap = c->out.cap ? c->out.cap : 4096;
		char *s;

		while (cap < c->out.n + n)
			cap *= 2;
		if ((s = realloc(c->out.s, cap)) == NULL) {
			warnx("out of memory");
			c->status = STATUS_CANNOT_RUN;
			return -1;
		}
		c->out.s = s;
		c->out.cap = cap;
	}
	memcpy(c->out.s + c->out.n, text, n);
	c->out.n += n;
	return 0;
}

/*
 * The songs of one ranking (n >= 0 output records) in --format's form; -1 when the output
 * fails. A song that cannot be written as a playlist entry is left out, said on stderr.
 */
static int
write_songs(struct ctx *c, cJSON *const *recs, size_t n)
{
	const enum format f = c->o->format;
	struct fm_err e;
	char *text;
	size_t n_bytes;
	int rc = 0;

	/* A playlist with no song is still a playlist: the header goes out whatever comes. */
	if (f == FORMAT_M3U && emit(c, FM_RANK_M3U_HEADER, strlen(FM_RANK_M3U_HEADER)) == -1)
		return -1;
	if (f == FORMAT_TEXT && n > 0) {
		if (fm_rank_text_table((const cJSON *const *)recs, n, c->max_cols, &text, &n_bytes,
		                       &e) == -1) {
			warnx("%s", e.msg);
			c->status = STATUS_CANNOT_RUN;
			return -1;
		}
		/* a blank line between the rankings of --each */
		if (c->n_rankings > 0)
			rc = emit(c, "\n", 1);
		if (rc == 0)
			rc = emit(c, text, n_bytes);
		free(text);
		return rc;
	}
	for (size_t k = 0; k < n && rc == 0; k++) {
		if (f == FORMAT_M3U)
			rc = fm_rank_m3u_entry(recs[k], c->cwd, c->has_base ? c->base : NULL, &text,
			                       &n_bytes, &e);
		else
			rc = fm_ndjson_print(recs[k], &text, &n_bytes, &e);
		if (rc == -1) {
			warn_about(NULL, "song %zu of the ranking: %s", k + 1, e.msg);
			some_failed(&c->status);
			rc = 0;
			continue;
		}
		rc = emit(c, text, n_bytes);
		free(text);
	}
	return rc;
}

/*
 * Rank for mood and write the songs; -1 when stdout fails or the search cannot run. With
 * --each (a query), a mood the search refuses (one to which the profiles give no direction)
 * is that record's failure, not the run's: 1, with *rec_err saying why.
 */
static int
rank_and_write(struct ctx *c, const double mood[FM_N_EMOTIONS], const cJSON *query,
               struct fm_err *rec_err)
{
	struct fm_rank_query q = c->o->query;
	struct fm_err e;
	size_t n_hits, n_recs = 0;

	q.excluded = c->excluded;
	q.taste = c->taste;
	memcpy(q.mood, mood, sizeof q.mood);
	if (fm_rank_search(c->work, &c->profiles, &q, c->hits, &n_hits, &e) == -1) {
		if (query != NULL && e.code == FM_EINVAL) {
			*rec_err = e;
			return 1;
		}
		warn_printable(NULL, e.msg);
		c->status = STATUS_CANNOT_RUN;
		return -1;
	}
	/* Not a failure: a cron job must tell this from bad input (recommend(1)). */
	if (n_hits == 0)
		warnx("every song of the library is excluded: nothing to recommend");
	if (c->o->changes_only) {
		bool same = c->written && n_hits == c->n_last;
		for (size_t k = 0; same && k < n_hits; k++)
			same = c->hits[k].song == c->last_songs[k];
		if (same)
			return 0;
		for (size_t k = 0; k < n_hits; k++)
			c->last_songs[k] = c->hits[k].song;
		c->n_last = n_hits;
		c->written = true;
	}
	/* The records first, whatever the form: m3u and text show what the records say. */
	for (size_t k = 0; k < n_hits; k++) {
		if (fm_rank_hit_record(c->lib, &q, &c->hits[k], k + 1, query, &c->recs[n_recs],
		                       &e) == -1) {
			warn_about(NULL, "song %zu of the library: %s", c->hits[k].song + 1, e.msg);
			some_failed(&c->status);
			continue;
		}
		n_recs++;
	}
	int rc = write_songs(c, c->recs, n_recs);
	for (size_t k = 0; k < n_recs; k++)
		cJSON_Delete(c->recs[k]);
	if (rc == -1)
		return -1;
	c->n_rankings++;
	return 0;
}

/* --each: a record whose mood cannot be ranked gives {"query", "error"} in place of its
 * songs, so that the reader of the stream sees which one; -1 when stdout fails. */
static int
write_query_error(struct ctx *c, const cJSON *query, const char *why)
{
	cJSON *out;
	struct fm_err e;
	char *text;
	size_t n;
	int rc;

	/* A table or a playlist has no place for it: stderr said it (add_record). */
	if (c->o->format != FORMAT_NDJSON)
		return 0;
	if ((out = cJSON_CreateObject()) == NULL ||
	    fm_ndjson_set(out, "query", cJSON_Duplicate(query, 1), &e) == -1 ||
	    fm_ndjson_set(out, "error", cJSON_CreateString(why), &e) == -1 ||
	    fm_ndjson_print(out, &text, &n, &e) == -1) {
		cJSON_Delete(out);
		warnx("out of memory");
		c->status = STATUS_CANNOT_RUN;
		return -1;
	}
	cJSON_Delete(out);
	rc = emit(c, text, n);
	free(text);
	return rc;
}

/* An input record: its faces join the mood, and with --each the mood is ranked. */
static int
add_record(void *ctx, const struct fm_ndjson_line *line, cJSON *rec, struct fm_err *e)
{
	/* What identifies the input record, as its rankings' "query". */
	static const char *const id_keys[] = {"path", "frame", "t", NULL};
	struct ctx *c = ctx;
	double p[FM_N_EMOTIONS];
	const double *ranked = p;
	size_t n_used;
	cJSON *id;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "t");
	/* Frames have a time, and are held against jitter; photos are ranked each on its own. */
	bool frame = cJSON_IsNumber(t) && isfinite(t->valuedouble), moves = false;

	/* Without a half-life, --each ranks each record's faces on their own. */
	if (c->o->each && c->o->half_life_sec == 0)
		fm_mood_pool_init(&c->mood, 0);
	if (fm_mood_pool_add(&c->mood, rec, &n_used, e) == -1)
		return LINE_BAD;
	if (!c->o->each || n_used == 0 || fm_mood_pool_get(&c->mood, p, NULL) == -1)
		return LINE_OK;
	if (fm_ndjson_pick(rec, id_keys, &id, NULL) == 0 && id->child == NULL)
		cJSON_AddNumberToObject(id, "line", (double)line->number);
	if (frame) {
		moves = fm_mood_hold_moves(&c->hold, p, c->mood.last_t, c->o->dwell_sec,
		                           c->o->hysteresis);
		if (!moves)
			ranked = c->hold.p;
	}
	int rc = rank_and_write(c, ranked, id, e);
	/* A mood the search refused is not held: the next frame tries again. */
	if (rc == 0 && moves)
		fm_mood_hold_set(&c->hold, p, c->mood.last_t);
	if (rc == 1) /* lines_read says why on stderr, with the record's path */
		rc = write_query_error(c, id, e->msg) == 0 ? 1 : -1;
	cJSON_Delete(id);
	/* rank_and_write said why, or run_finish will */
	return rc == 0 ? LINE_OK : rc == 1 ? LINE_BAD : LINE_STOP;
}

static int
run_queries(struct ctx *c, int argc, char *const argv[])
{
	static char *const read_stdin[] = {"-"};
	const struct opts *o = c->o;
	double p[FM_N_EMOTIONS];
	size_t cap = o->query.n_results < fm_rank_library_size(c->lib)
	                 ? o->query.n_results
	                 : fm_rank_library_size(c->lib);
	struct fm_err e;

	if (fm_rank_work_new(c->lib, &c->work, &e) == -1 ||
	    (c->hits = calloc(cap, sizeof *c->hits)) == NULL ||
	    (c->recs = calloc(cap, sizeof *c->recs)) == NULL ||
	    (o->changes_only && (c->last_songs = calloc(cap, sizeof *c->last_songs)) == NULL)) {
		warnx("out of memory");
		return -1;
	}
	if (o->fixed)
		return rank_and_write(c, o->query.mood, NULL, &e);
	fm_mood_pool_init(&c->mood, o->half_life_sec);
	if (argc == 0) {
		argc = 1;
		argv = read_stdin;
	}
	for (int k = 0; k < argc; k++)
		if (lines_read(argv[k], o->common.max_line_bytes,
		               LINES_RECORDS | LINES_SKIP_FAILED | LINES_BY_PATH, add_record, c,
		               &c->status) == -1) {
			if (c->out_errno != 0 || c->status == STATUS_CANNOT_RUN)
				return -1;
			some_failed(&c->status); /* an input that cannot be read is bad input */
		}
	if (!o->each && fm_mood_pool_get(&c->mood, p, NULL) == 0)
		return rank_and_write(c, p, NULL, &e);
	/* Not a failure: nobody in today's photo is not bad input (recommend(1)). */
	if (c->n_rankings == 0)
		warnx("no face with expression scores in the input: nothing to recommend");
	return 0;
}

static int
learn(struct ctx *c)
{
	struct fm_err e;
	char *text;
	int rc = 0;

	if (fm_rank_learn_encode(c->lib, &c->profiles, &text, &e) == -1) {
		warn_printable(NULL, e.msg);
		return -1;
	}
	if (strcmp(c->o->learn, "-") == 0) {
		if ((c->out_errno = write_line(text, strlen(text))) != 0)
			rc = -1; /* main says why */
	} else if (fm_write_file(c->o->learn, text, strlen(text), &e) == -1) {
		warn_printable(NULL, e.msg);
		rc = -1;
	}
	free(text);
	return rc;
}

/*
 * What --format needs before any ranking: for m3u, the folder that relative song paths are
 * taken from and, with --output, the playlist's own folder (which must exist: better said
 * before the ranking than after it); for text, a UTF-8 LC_CTYPE to measure the titles in (the
 * records are UTF-8 whatever the user's locale) and, on a terminal, its width. -1 when the
 * playlist's folder cannot be had.
 */
static int
setup_format(struct ctx *c)
{
	const struct opts *o = c->o;

	if (o->format == FORMAT_M3U) {
		char dir[PATH_MAX];

		if (getcwd(c->cwd, sizeof c->cwd) == NULL) {
			warn("the current folder");
			return -1;
		}
		if (o->output != NULL) {
			if (strlen(o->output) >= sizeof dir) {
				warnx("--output: %s", strerror(ENAMETOOLONG));
				return -1;
			}
			strcpy(dir, o->output);
			if (realpath(dirname(dir), c->base) == NULL) {
				warn_about("--output", "%s: cannot write: %s", o->output,
				           strerror(errno));
				return -1;
			}
			c->has_base = true;
		}
	}
	if (o->format == FORMAT_TEXT) {
		struct winsize ws;

		if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
			setlocale(LC_CTYPE, "");
		if (o->output == NULL && isatty(STDOUT_FILENO)) {
			const char *env = getenv("COLUMNS");
			long cols = env != NULL ? strtol(env, NULL, 10) : 0;

			if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
				cols = ws.ws_col;
			c->max_cols = cols > 0 && cols < 10000 ? (size_t)cols : 80;
		}
	}
	return 0;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	struct opts o = {
	    .query = {.strategy = FM_RANK_MATCH,
	              .strength = 1,
	              .mmr_lambda = FM_RANK_MMR_LAMBDA,
	              .n_results = 10},
	    .recent_sec = 86400,
	    .dwell_sec = 5,
	    .hysteresis = 0.1,
	    .max_songs = DEFAULT_MAX_SONGS,
	    .min_duration_sec = FM_RANK_DEFAULT_MIN_DURATION_SEC,
	    .now_sec = NAN,
	};
	struct ctx c = {.o = &o, .status = STATUS_ALL_OK};
	char buf[PATH_MAX + 64];
	const char *profiles;
	bool from_env;
	struct fm_err e;
	int rc;

	parse_options(argc, argv, &o);
	protect_lines();
	if (isnan(o.now_sec))
		o.now_sec = now_sec();
	profiles = find_profiles(&o, buf, sizeof buf, &from_env);
	if (fm_rank_profiles_load(profiles, &c.profiles, &e) == -1) {
		warn_about("profiles", "%s: %s%s", profiles, e.msg,
		           from_env ? " (from FERMATA_PROFILES)" : "");
		return STATUS_CANNOT_RUN;
	}
	rc = load_library(&c);
	if (rc == 0 && o.build_index != NULL) {
		if ((rc = fm_rank_index_save(c.lib, o.build_index, &e)) == -1)
			warn_printable(o.build_index, e.msg);
	} else if (rc == 0 && o.learn != NULL) {
		rc = learn(&c);
	} else if (rc == 0 && (rc = setup_format(&c)) == 0 && (rc = read_logs(&c)) == 0) {
		rc = run_queries(&c, argc - optind, argv + optind);
	}
	/* No ranking (no face in the input): the file is left as it was, said above. */
	if (rc == 0 && o.output != NULL && c.n_rankings > 0 &&
	    fm_write_file(o.output, c.out.s, c.out.n, &e) == -1) {
		warn_printable(o.output, e.msg);
		rc = -1;
	}
	fm_rank_work_free(c.work);
	fm_rank_paths_free(c.paths);
	fm_rank_taste_free(c.taste);
	fm_rank_library_free(c.lib);
	free(c.hits);
	free(c.recs);
	free(c.out.s);
	free(c.last_songs);
	free(c.excluded);
	/* A full disk is not success: the last bytes may fail only at close. */
	if (c.out_errno != 0) {
		warnx("stdout: %s", strerror(c.out_errno));
		return STATUS_CANNOT_RUN;
	}
	if (finish_stdout() != STATUS_ALL_OK || rc == -1)
		return STATUS_CANNOT_RUN;
	return c.status;
}
