/*
 * cmd/recommend.c: rank the user's own songs for the expressions found in photos or frames.
 * Reads fer-classify's records (or takes --emotion or --scores), pools their faces into one
 * mood (lib/rank), and writes the best songs of the library (song-featurize's records, or an
 * index built from them) as records, best first. Also builds the index (--build-index) and
 * learns profiles from the user's tags (--learn). See man/recommend.1.
 *
 * This tool aggregates: it does not write one record per input record, so it has its own loop
 * rather than cmd/loop's ordered one. Input that cannot be used is said on stderr and leaves
 * the exit status at 1; it does not come out as error records among the songs.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "loop.h"
#include "mood.h"
#include "options.h"
#include "ndjson.h"
#include "rank.h"

static const char USAGE[] =
    "usage: recommend [-hV] [-n count] [--diverse kinds] [--each] [--emotion name | --scores json] "
    "[--exclude-history file] [--feedback file] [--half-life seconds] "
    "[--index file | --library file ...] [--max-line bytes] [--max-songs n] [--now time] "
    "[--profiles file] [--recent seconds] "
    "[--strategy match | uplift | calm] [--strength x] [file ...]\n"
    "       recommend --build-index file --library file ...\n"
    "       recommend --learn file [--profiles file] --index file | --library file ...";

static const char OPTIONS[] =
    "  --build-index file      write the libraries as a binary index to file, and exit\n"
    "  --diverse kinds         vary the songs: mmr (or mmr=lambda, default 0.5),\n"
    "                          artist, album, or a comma list of them\n"
    "  --each                  one ranking per input record (a stream of frames)\n"
    "  --emotion name          rank for this expression (any case); stdin is not read\n"
    "  --exclude-history file  leave out the songs this play log names (see --recent)\n"
    "  --feedback file         likes, skips and ratings that move the profiles\n"
    "  --half-life seconds     frames weigh less as they age by this half-life\n"
    "  --index file            the library as built by --build-index\n"
    "  --learn file            write profiles learnt from the songs' \"emotion\" tags\n"
    "                          to file (- for stdout), and exit\n"
    "  --library file          song-featurize's records; may be repeated\n"
    "  --max-line bytes        refuse longer lines in any input (default 1048576)\n"
    "  --max-songs n           refuse a larger library (default 1000000)\n"
    "  -n count                songs per ranking (default 10)\n"
    "  --now time              the present, for --feedback and --recent (default: the\n"
    "                          clock): Unix seconds, RFC 3339, or\n"
    "                          \"2024-05-01 18:30:00\" in local time\n"
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

struct opts {
	struct common_opts common; /* --max-line */
	const char *libraries[MAX_LIBRARIES];
	int n_libraries;
	const char *index, *build_index, *learn, *profiles, *feedback, *history;
	enum fm_rank_strategy strategy;
	double strength, half_life_sec, recent_sec, now_sec, mmr_lambda;
	size_t n_results, max_line, max_songs;
	unsigned diverse;
	bool each, fixed; /* fixed: --emotion or --scores gave the mood */
	double mood[FM_N_EMOTIONS];
};

struct ctx {
	const struct opts *o;
	struct fm_rank_library *lib;
	struct fm_rank_paths *paths; /* finds the songs that logs name */
	struct fm_rank_profiles profiles;
	struct fm_rank_work *work;
	struct fm_rank_hit *hits;
	uint8_t *excluded;
	int status;
	int out_errno; /* why stdout could not be written, or 0 */
	uint64_t n_rankings;
};

enum {
	OPT_BUILD_INDEX = 256,
	OPT_DIVERSE,
	OPT_EACH,
	OPT_EMOTION,
	OPT_EXCLUDE_HISTORY,
	OPT_FEEDBACK,
	OPT_HALF_LIFE,
	OPT_INDEX,
	OPT_LEARN,
	OPT_LIBRARY,
	OPT_MAX_SONGS,
	OPT_NOW,
	OPT_PROFILES,
	OPT_RECENT,
	OPT_SCORES,
	OPT_STRATEGY,
	OPT_STRENGTH,
};

/* --diverse: a comma list of mmr (or mmr=lambda), artist, album. */
static unsigned
parse_diverse(const char *arg, double *lambda)
{
	unsigned kinds = 0;
	char *copy = strdup(arg), *save = NULL;

	if (copy == NULL)
		err(STATUS_CANNOT_RUN, "out of memory");
	for (char *k = strtok_r(copy, ",", &save); k != NULL; k = strtok_r(NULL, ",", &save)) {
		if (strcmp(k, "mmr") == 0) {
			kinds |= FM_RANK_DIVERSE_MMR;
		} else if (strncmp(k, "mmr=", 4) == 0) {
			kinds |= FM_RANK_DIVERSE_MMR;
			*lambda = option_real(USAGE, "--diverse mmr=", k + 4, 0, 1, 0);
		} else if (strcmp(k, "artist") == 0)
			kinds |= FM_RANK_DIVERSE_ARTIST;
		else if (strcmp(k, "album") == 0)
			kinds |= FM_RANK_DIVERSE_ALBUM;
		else {
			free(copy);
			exit_usage(USAGE, "--diverse: unknown kind \"%s\" (mmr, artist, album)",
			           arg);
		}
	}
	free(copy);
	if (kinds == 0)
		exit_usage(USAGE, "--diverse: no kind given (mmr, artist, album)");
	return kinds;
}

static void
parse_scores(const char *arg, struct opts *o)
{
	struct fm_err e;
	cJSON *doc = cJSON_Parse(arg);

	if (doc == NULL)
		exit_usage(USAGE, "--scores: not JSON");
	if (fm_mood_scores_decode(doc, o->mood, &e) == -1) {
		cJSON_Delete(doc);
		exit_usage(USAGE, "--scores: %s", e.msg);
	}
	cJSON_Delete(doc);
}

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"build-index", required_argument, NULL, OPT_BUILD_INDEX},
	    {"diverse", required_argument, NULL, OPT_DIVERSE},
	    {"each", no_argument, NULL, OPT_EACH},
	    {"emotion", required_argument, NULL, OPT_EMOTION},
	    {"exclude-history", required_argument, NULL, OPT_EXCLUDE_HISTORY},
	    {"feedback", required_argument, NULL, OPT_FEEDBACK},
	    {"half-life", required_argument, NULL, OPT_HALF_LIFE},
	    {"index", required_argument, NULL, OPT_INDEX},
	    {"learn", required_argument, NULL, OPT_LEARN},
	    {"library", required_argument, NULL, OPT_LIBRARY},
	    {"max-songs", required_argument, NULL, OPT_MAX_SONGS},
	    {"now", required_argument, NULL, OPT_NOW},
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
			o->n_results = (size_t)option_int(USAGE, "-n", optarg, 1, MAX_RESULTS);
			break;
		case OPT_BUILD_INDEX:
		case OPT_INDEX:
		case OPT_LEARN:
		case OPT_LIBRARY:
		case OPT_PROFILES:
		case OPT_FEEDBACK:
		case OPT_EXCLUDE_HISTORY:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "%s: empty file name", argv[optind - 1]);
			if (c == OPT_BUILD_INDEX)
				o->build_index = optarg;
			else if (c == OPT_INDEX)
				o->index = optarg;
			else if (c == OPT_LEARN)
				o->learn = optarg;
			else if (c == OPT_PROFILES)
				o->profiles = optarg;
			else if (c == OPT_FEEDBACK)
				o->feedback = optarg;
			else if (c == OPT_EXCLUDE_HISTORY)
				o->history = optarg;
			else if (o->n_libraries == MAX_LIBRARIES)
				exit_usage(USAGE, "more than %d --library files", MAX_LIBRARIES);
			else
				o->libraries[o->n_libraries++] = optarg;
			break;
		case OPT_DIVERSE:
			o->diverse = parse_diverse(optarg, &o->mmr_lambda);
			break;
		case OPT_MAX_SONGS:
			o->max_songs = (size_t)option_int(USAGE, "--max-songs", optarg, 1,
			                                  (long long)FM_RANK_MAX_SONGS);
			break;
		case OPT_EACH:
			o->each = true;
			break;
		case OPT_EMOTION:
			if (fm_emotion_parse(optarg, &em, &e) == -1)
				exit_usage(USAGE, "--emotion: %s", e.msg);
			for (int k = 0; k < FM_N_EMOTIONS; k++)
				o->mood[k] = k == (int)em;
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
			parse_scores(optarg, o);
			o->fixed = true;
			n_moods++;
			break;
		case OPT_STRATEGY:
			if (fm_rank_strategy_parse(optarg, &o->strategy, &e) == -1)
				exit_usage(USAGE, "--strategy: %s", e.msg);
			break;
		case OPT_STRENGTH:
			o->strength = option_real(USAGE, "--strength", optarg, 0, 10, NUM_OPEN_MIN);
			break;
		}
	}
	o->max_line = o->common.max_line_bytes;
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

/* A reader over a file (or "-", stdin); NULL after saying why. */
static struct fm_ndjson_reader *
open_lines(const char *path, size_t max_line, int *fd)
{
	struct fm_ndjson_reader *rd;
	struct fm_err e;

	*fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (*fd == -1) {
		warn("%s", path);
		return NULL;
	}
	if (fm_ndjson_reader_new_fd(*fd, max_line, &rd, &e) == -1) {
		warnx("%s", e.msg);
		if (*fd != STDIN_FILENO)
			close(*fd);
		return NULL;
	}
	return rd;
}

static void
close_lines(struct fm_ndjson_reader *rd, int fd)
{
	fm_ndjson_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
}

static void
some_failed(struct ctx *c)
{
	if (c->status < STATUS_SOME_FAILED)
		c->status = STATUS_SOME_FAILED;
}

/* Read one --library file into the library; -1 when it cannot be read at all. */
static int
load_library_file(struct ctx *c, const char *path)
{
	uint64_t n_upstream = 0, n_dup = 0, n_invalid = 0, n_tags = 0;
	struct fm_ndjson_reader *rd;
	struct fm_ndjson_line line;
	struct fm_err e;
	int fd, rc = 0;

	if ((rd = open_lines(path, c->o->max_line, &fd)) == NULL)
		return -1;
	for (;;) {
		struct fm_rank_song_info info;
		enum fm_rank_added how;

		if (fm_ndjson_read(rd, &line, &e) == -1) {
			if (e.code == FM_EIO || e.code == FM_ENOMEM) {
				warnx("%s: %s", path, e.msg);
				rc = -1;
				break;
			}
			warnx("%s: line %llu: %s", path, (unsigned long long)line.number, e.msg);
			some_failed(c);
			continue;
		}
		if (line.text == NULL)
			break;
		if (fm_rank_library_size(c->lib) == c->o->max_songs) {
			warnx(
			    "%s: line %llu: the library has more than %zu songs (see --max-songs)",
			    path, (unsigned long long)line.number, c->o->max_songs);
			rc = -1;
			break;
		}
		if (fm_rank_library_add(c->lib, line.text, line.n_bytes, &how, &info, &e) == -1) {
			if (e.code != FM_EFORMAT) {
				warnx("%s: line %llu: %s", path, (unsigned long long)line.number,
				      e.msg);
				rc = -1;
				break;
			}
			warnx("%s: line %llu: %s", path, (unsigned long long)line.number, e.msg);
			some_failed(c);
			continue;
		}
		n_upstream += how == FM_RANK_UPSTREAM;
		n_dup += how == FM_RANK_DUPLICATE;
		n_invalid += how == FM_RANK_ADDED && info.n_invalid > 0;
		n_tags += info.n_unknown_tags;
	}
	close_lines(rd, fd);
	/* One line each, not one per song: a library of thousands must not flood the terminal. */
	if (n_upstream > 0)
		warnx("%s: %llu song%s left out: song-featurize could not read %s (\"error\")",
		      path, (unsigned long long)n_upstream, n_upstream > 1 ? "s" : "",
		      n_upstream > 1 ? "them" : "it");
	if (n_dup > 0)
		warnx("%s: %llu song%s left out: the same \"path\" came earlier", path,
		      (unsigned long long)n_dup, n_dup > 1 ? "s" : "");
	if (n_invalid > 0)
		warnx("%s: %llu song%s with descriptors that are not usable numbers: taken at "
		      "the library's mean",
		      path, (unsigned long long)n_invalid, n_invalid > 1 ? "s" : "");
	if (n_tags > 0 && c->o->learn != NULL)
		warnx("%s: %llu \"emotion\" tag%s not among the seven expressions: ignored", path,
		      (unsigned long long)n_tags, n_tags > 1 ? "s" : "");
	return rc;
}

static int
load_library(struct ctx *c)
{
	const struct opts *o = c->o;
	struct fm_err e;

	if (o->index != NULL) {
		unsigned want = 0;
		if (o->feedback != NULL || o->history != NULL)
			want |= FM_RANK_WANT_PATHS;
		if (o->diverse & (FM_RANK_DIVERSE_ARTIST | FM_RANK_DIVERSE_ALBUM))
			want |= FM_RANK_WANT_GROUPS;
		if (o->learn != NULL)
			want |= FM_RANK_WANT_TAGS;
		if (fm_rank_index_load(o->index, want, &c->lib, &e) == -1) {
			warnx("%s: %s", o->index, e.msg);
			return -1;
		}
		if (fm_rank_library_size(c->lib) > o->max_songs) {
			warnx("%s: the index holds %zu songs, more than %zu (see --max-songs)",
			      o->index, fm_rank_library_size(c->lib), o->max_songs);
			return -1;
		}
		return 0;
	}
	if (fm_rank_library_new(&c->lib, &e) == -1) {
		warnx("%s", e.msg);
		return -1;
	}
	for (int k = 0; k < o->n_libraries; k++)
		if (load_library_file(c, o->libraries[k]) == -1)
			return -1;
	if (fm_rank_library_size(c->lib) == 0) {
		warnx("the library has no song to recommend (%s%s)", o->libraries[0],
		      o->n_libraries > 1 ? ", ..." : "");
		return -1;
	}
	if (fm_rank_library_finish(c->lib, &e) == -1) {
		warnx("%s", e.msg);
		return -1;
	}
	return 0;
}

/* Parse a line; on failure say where and why. */
static cJSON *
parse_line(struct ctx *c, const char *where, const struct fm_ndjson_line *line, unsigned flags)
{
	struct fm_err e;
	cJSON *rec;

	if (fm_ndjson_parse(line->text, line->n_bytes, flags, &rec, &e) == -1) {
		warnx("%s: line %llu: %s", where, (unsigned long long)line->number, e.msg);
		some_failed(c);
		return NULL;
	}
	return rec;
}

/*
 * The next record of a side file (--feedback, --exclude-history): 1 with *rec, 0 at its end,
 * -1 when it cannot be read on. Lines that give no record are reported and skipped.
 */
static int
next_record(struct ctx *c, const char *path, struct fm_ndjson_reader *rd,
            struct fm_ndjson_line *line, unsigned flags, cJSON **rec)
{
	struct fm_err e;

	for (;;) {
		if (fm_ndjson_read(rd, line, &e) == -1) {
			/* A read error belongs to no line: say which file only. */
			if (e.code == FM_EIO || e.code == FM_ENOMEM) {
				warnx("%s: %s", path, e.msg);
				return -1;
			}
			warnx("%s: line %llu: %s", path, (unsigned long long)line->number, e.msg);
			some_failed(c);
			continue;
		}
		if (line->text == NULL)
			return 0;
		if ((*rec = parse_line(c, path, line, flags)) != NULL)
			return 1;
	}
}

/* Move the profiles by --feedback; -1 when the file cannot be read. */
static int
apply_feedback(struct ctx *c)
{
	const char *path = c->o->feedback;
	struct fm_rank_feedback fb = {0};
	struct fm_ndjson_reader *rd;
	struct fm_ndjson_line line;
	uint64_t n_unknown = 0;
	struct fm_err e;
	int fd, rc = 0;

	if ((rd = open_lines(path, c->o->max_line, &fd)) == NULL)
		return -1;
	for (;;) {
		struct fm_rank_event ev;
		cJSON *rec;
		size_t i;
		int found, got;

		if ((got = next_record(c, path, rd, &line, 0, &rec)) <= 0) {
			rc = got;
			break;
		}
		if (fm_rank_event_decode(rec, &c->profiles.feedback, &ev, &e) == -1) {
			warnx("%s: line %llu: %s", path, (unsigned long long)line.number, e.msg);
			some_failed(c);
		} else if ((found = fm_rank_paths_find(c->paths, ev.path, &i, &e)) == -1) {
			warnx("%s: line %llu: %s", path, (unsigned long long)line.number, e.msg);
			some_failed(c);
		} else if (found == 0) {
			n_unknown++;
		} else {
			fm_rank_feedback_add(&fb, c->lib, i, &ev, c->o->now_sec,
			                     &c->profiles.feedback);
		}
		cJSON_Delete(rec);
	}
	close_lines(rd, fd);
	if (n_unknown > 0)
		warnx("%s: %llu line%s name%s songs not in the library: ignored", path,
		      (unsigned long long)n_unknown, n_unknown > 1 ? "s" : "",
		      n_unknown > 1 ? "" : "s");
	fm_rank_feedback_apply(&fb, &c->profiles);
	return rc;
}

/* Mark the songs of --exclude-history played within --recent; -1 when it cannot be read. */
static int
read_history(struct ctx *c)
{
	const char *path = c->o->history;
	struct fm_ndjson_reader *rd;
	struct fm_ndjson_line line;
	uint64_t n_asked = 0, n_found = 0;
	struct fm_err e;
	int fd, rc = 0;

	if ((c->excluded = calloc(fm_rank_library_size(c->lib), 1)) == NULL) {
		warnx("out of memory");
		return -1;
	}
	if ((rd = open_lines(path, c->o->max_line, &fd)) == NULL)
		return -1;
	for (;;) {
		const cJSON *t;
		const char *p;
		double t_sec;
		cJSON *rec;
		size_t i;
		int found, got;

		if ((got = next_record(c, path, rd, &line, FM_NDJSON_BARE_PATH, &rec)) <= 0) {
			rc = got;
			break;
		}
		t = cJSON_GetObjectItemCaseSensitive(rec, "time");
		if (fm_ndjson_get_path(rec, &p, &e) == -1 ||
		    (t != NULL && fm_rank_time_decode(t, &t_sec, &e) == -1)) {
			warnx("%s: line %llu: %s", path, (unsigned long long)line.number, e.msg);
			some_failed(c);
		} else if (t != NULL && c->o->recent_sec > 0 &&
		           c->o->now_sec - t_sec > c->o->recent_sec) {
			/* played long enough ago to be welcome again */
		} else if ((found = fm_rank_paths_find(c->paths, p, &i, &e)) == -1) {
			warnx("%s: line %llu: %s", path, (unsigned long long)line.number, e.msg);
			some_failed(c);
		} else {
			n_asked++;
			n_found += found;
			if (found == 1)
				c->excluded[i] = 1;
		}
		cJSON_Delete(rec);
	}
	close_lines(rd, fd);
	/* Most likely the log and the library spell paths differently, for files not here. */
	if (rc == 0 && n_asked > 0 && n_found == 0)
		warnx("%s: none of its %llu song%s is in the library: nothing excluded", path,
		      (unsigned long long)n_asked, n_asked > 1 ? "s" : "");
	return rc;
}

/* Move src's members after dst's own, except those recommend owns. */
static void
pass_through(cJSON *dst, cJSON *src)
{
	static const char *const owned[] = {"rank", "path", "score", "strategy", "why", "query"};
	cJSON *m;

	while ((m = src->child) != NULL) {
		const char *key = m->string;
		bool keep = true;

		cJSON_DetachItemViaPointer(src, m);
		for (size_t k = 0; k < sizeof owned / sizeof *owned; k++)
			keep = keep && strcmp(key, owned[k]) != 0;
		/* The output's "emotion" is the mood ranked for; the song's own tag keeps its
		 * value as "song_emotion". */
		if (keep && strcmp(key, "emotion") == 0)
			key = "song_emotion";
		/* Of duplicate names the first counts, as everywhere in fermata. */
		if (!keep || cJSON_GetObjectItemCaseSensitive(dst, key) != NULL ||
		    !cJSON_AddItemToObject(dst, key, m))
			cJSON_Delete(m);
	}
}

/* One output record for hit k; NULL when the song's line cannot be read back. */
static cJSON *
song_record(struct ctx *c, const struct fm_rank_hit *h, size_t k, enum fm_emotion top,
            const cJSON *query, struct fm_err *e)
{
	cJSON *song = NULL, *out = NULL;
	const char *path;
	char *text;
	size_t n;

	if (fm_rank_library_record(c->lib, h->song, &text, &n, e) == -1)
		return NULL;
	int rc = fm_ndjson_parse(text, n, 0, &song, e);
	free(text);
	if (rc == -1 || fm_ndjson_get_path(song, &path, e) == -1)
		goto fail;
	out = cJSON_CreateObject();
	/* Four decimals: enough to order, and short lines. */
	double score = fm_ndjson_round(h->score, 4);
	if (out == NULL || fm_ndjson_set(out, "rank", cJSON_CreateNumber((double)k + 1), e) == -1 ||
	    fm_ndjson_set(out, "path", cJSON_CreateString(path), e) == -1 ||
	    fm_ndjson_set(out, "score", cJSON_CreateNumber(score), e) == -1 ||
	    fm_ndjson_set(out, "emotion", cJSON_CreateString(fm_emotion_name(top)), e) == -1 ||
	    fm_ndjson_set(out, "strategy",
	                  cJSON_CreateString(fm_rank_strategy_name(c->o->strategy)), e) == -1 ||
	    fm_ndjson_set(out, "why", cJSON_CreateString(h->why), e) == -1 ||
	    (query != NULL && fm_ndjson_set(out, "query", cJSON_Duplicate(query, true), e) == -1)) {
		if (out == NULL)
			fm_err_set(e, FM_ENOMEM, "out of memory");
		goto fail;
	}
	pass_through(out, song);
	cJSON_Delete(song);
	return out;
fail:
	cJSON_Delete(out);
	cJSON_Delete(song);
	return NULL;
}

/* Rank for mood and write the songs; -1 when stdout fails or the search cannot run. */
static int
rank_and_write(struct ctx *c, const double mood[FM_N_EMOTIONS], const cJSON *query)
{
	struct fm_rank_query q = {
	    .strategy = c->o->strategy,
	    .strength = c->o->strength,
	    .n_results = c->o->n_results,
	    .diverse = c->o->diverse,
	    .mmr_lambda = c->o->mmr_lambda,
	    .excluded = c->excluded,
	};
	enum fm_emotion top = fm_mood_top(mood);
	struct fm_err e;
	size_t n_hits;

	memcpy(q.mood, mood, sizeof q.mood);
	if (fm_rank_search(c->work, &c->profiles, &q, c->hits, &n_hits, &e) == -1) {
		warnx("%s", e.msg);
		c->status = STATUS_CANNOT_RUN;
		return -1;
	}
	/* Not a failure: a cron job must tell this from bad input (recommend(1)). */
	if (n_hits == 0)
		warnx("every song of the library is excluded: nothing to recommend");
	for (size_t k = 0; k < n_hits; k++) {
		cJSON *out = song_record(c, &c->hits[k], k, top, query, &e);
		char *text;
		size_t n;

		if (out == NULL) {
			warnx("song %zu of the library: %s", c->hits[k].song + 1, e.msg);
			some_failed(c);
			continue;
		}
		if (fm_ndjson_print(out, &text, &n, &e) == -1) {
			warnx("song %zu of the library: %s", c->hits[k].song + 1, e.msg);
			some_failed(c);
			cJSON_Delete(out);
			continue;
		}
		cJSON_Delete(out);
		c->out_errno = write_line(text, n);
		free(text);
		if (c->out_errno != 0)
			return -1;
	}
	c->n_rankings++;
	return 0;
}

/* For --each: what identifies the input record, as its rankings' "query". */
static cJSON *
query_id(const cJSON *rec, uint64_t line)
{
	static const char *const keys[] = {"path", "frame", "t"};
	cJSON *id = cJSON_CreateObject();

	for (size_t k = 0; id != NULL && k < sizeof keys / sizeof *keys; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, keys[k]);
		if (v != NULL)
			cJSON_AddItemToObject(id, keys[k], cJSON_Duplicate(v, true));
	}
	if (id != NULL && id->child == NULL)
		cJSON_AddNumberToObject(id, "line", (double)line);
	return id;
}

/* Pool the records of one input (a file operand, or "-"); -1 when output fails. */
static int
read_records(struct ctx *c, const char *path, struct fm_mood_pool *mood)
{
	const char *where = strcmp(path, "-") == 0 ? "stdin" : path;
	struct fm_ndjson_reader *rd;
	struct fm_ndjson_line line;
	struct fm_err e;
	int fd, rc = 0;

	if ((rd = open_lines(path, c->o->max_line, &fd)) == NULL) {
		some_failed(c);
		return 0;
	}
	for (;;) {
		double p[FM_N_EMOTIONS];
		size_t n_used;
		cJSON *rec;

		if (fm_ndjson_read(rd, &line, &e) == -1) {
			/* A read error belongs to no line (stdin a directory said "line 0"). */
			if (e.code == FM_EIO)
				warnx("%s: %s", where, e.msg);
			else
				warnx("%s: line %llu: %s", where, (unsigned long long)line.number,
				      e.msg);
			some_failed(c);
			if (e.code == FM_EIO)
				break;
			continue;
		}
		if (line.text == NULL)
			break;
		if ((rec = parse_line(c, where, &line, 0)) == NULL)
			continue;
		if (fm_ndjson_has_error(rec)) {
			cJSON_Delete(rec);
			continue;
		}
		/* Without a half-life, --each ranks each record's faces on their own. */
		if (c->o->each && c->o->half_life_sec == 0)
			fm_mood_pool_init(mood, 0);
		if (fm_mood_pool_add(mood, rec, &n_used, &e) == -1) {
			const char *id = NULL;
			if (fm_ndjson_get_path(rec, &id, NULL) == 0)
				warnx("%s: %s", id, e.msg);
			else
				warnx("%s: line %llu: %s", where, (unsigned long long)line.number,
				      e.msg);
			some_failed(c);
		} else if (c->o->each && n_used > 0 && fm_mood_pool_get(mood, p, NULL) == 0) {
			cJSON *id = query_id(rec, line.number);
			rc = rank_and_write(c, p, id);
			cJSON_Delete(id);
		}
		cJSON_Delete(rec);
		if (rc == -1)
			break;
	}
	close_lines(rd, fd);
	return rc;
}

static int
run_queries(struct ctx *c, int argc, char *const argv[])
{
	const struct opts *o = c->o;
	struct fm_mood_pool mood;
	double p[FM_N_EMOTIONS];
	size_t cap = o->n_results < fm_rank_library_size(c->lib) ? o->n_results
	                                                         : fm_rank_library_size(c->lib);
	struct fm_err e;

	if (fm_rank_work_new(c->lib, &c->work, &e) == -1 ||
	    (c->hits = calloc(cap, sizeof *c->hits)) == NULL) {
		warnx("out of memory");
		return -1;
	}
	if (o->fixed)
		return rank_and_write(c, o->mood, NULL);
	fm_mood_pool_init(&mood, o->half_life_sec);
	if (argc == 0 && read_records(c, "-", &mood) == -1)
		return -1;
	for (int k = 0; k < argc; k++)
		if (read_records(c, argv[k], &mood) == -1)
			return -1;
	if (o->each) {
		if (c->n_rankings > 0)
			return 0;
	} else if (fm_mood_pool_get(&mood, p, NULL) == 0) {
		return rank_and_write(c, p, NULL);
	}
	warnx("no face with expression scores in the input: nothing to recommend");
	return 0;
}

static int
learn(struct ctx *c)
{
	char why_text[FM_N_EMOTIONS][160];
	const char *why[FM_N_EMOTIONS];
	struct fm_rank_profiles learnt;
	size_t n_songs[FM_N_EMOTIONS];
	struct fm_err e;
	char about[256];
	char *text;

	if (fm_rank_learn(c->lib, &c->profiles, &learnt, n_songs, &e) == -1) {
		warnx("%s", e.msg);
		return -1;
	}
	for (int k = 0; k < FM_N_EMOTIONS; k++) {
		const char *name = fm_emotion_name((enum fm_emotion)k);
		if (n_songs[k] > 0)
			snprintf(why_text[k], sizeof why_text[k],
			         "the mean of the %zu song%s of the library tagged %s", n_songs[k],
			         n_songs[k] > 1 ? "s" : "", name);
		else
			snprintf(
			    why_text[k], sizeof why_text[k],
			    "kept from the profiles in use: no song of the library is tagged %s",
			    name);
		why[k] = why_text[k];
	}
	snprintf(about, sizeof about,
	         "Profiles learnt by recommend --learn from the \"emotion\" tags of %zu songs; "
	         "their vectors are in the standard deviations of that library.",
	         fm_rank_library_size(c->lib));
	if (fm_rank_profiles_encode(&learnt, about, why, &text, &e) == -1) {
		warnx("%s", e.msg);
		return -1;
	}
	size_t n = strlen(text);
	int rc = 0;
	if (strcmp(c->o->learn, "-") == 0) {
		if ((c->out_errno = write_line(text, n)) != 0)
			rc = -1; /* run_finish says why */
	} else if (fm_write_file(c->o->learn, text, n, &e) == -1) {
		warnx("%s", e.msg);
		rc = -1;
	}
	free(text);
	return rc;
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
	    .strategy = FM_RANK_MATCH,
	    .strength = 1,
	    .mmr_lambda = FM_RANK_MMR_LAMBDA,
	    .recent_sec = 86400,
	    .n_results = 10,
	    .max_songs = DEFAULT_MAX_SONGS,
	    .now_sec = NAN,
	};
	struct ctx c = {.o = &o, .status = STATUS_ALL_OK};
	char buf[PATH_MAX + 64];
	const char *profiles;
	bool from_env;
	struct run r = {.status = STATUS_ALL_OK};
	struct fm_err e;
	int rc = 0;

	parse_options(argc, argv, &o);
	protect_lines();
	if (isnan(o.now_sec))
		o.now_sec = now_sec();
	profiles = find_profiles(&o, buf, sizeof buf, &from_env);
	if (fm_rank_profiles_load(profiles, &c.profiles, &e) == -1) {
		warnx("profiles: %s: %s%s", profiles, e.msg,
		      from_env ? " (from FERMATA_PROFILES)" : "");
		return STATUS_CANNOT_RUN;
	}
	if (load_library(&c) == -1) {
		rc = -1;
	} else if (o.build_index != NULL) {
		if (fm_rank_index_save(c.lib, o.build_index, &e) == -1) {
			warnx("%s: %s", o.build_index, e.msg);
			rc = -1;
		}
	} else if (o.learn != NULL) {
		rc = learn(&c);
	} else {
		if (((o.feedback != NULL || o.history != NULL) &&
		     fm_rank_paths_new(c.lib, &c.paths, &e) == -1) ||
		    (o.feedback != NULL && apply_feedback(&c) == -1) ||
		    (o.history != NULL && read_history(&c) == -1))
			rc = -1;
		else
			rc = run_queries(&c, argc - optind, argv + optind);
	}
	fm_rank_work_free(c.work);
	fm_rank_paths_free(c.paths);
	fm_rank_library_free(c.lib);
	free(c.hits);
	free(c.excluded);
	/* run_finish checks and closes stdout: a full disk is not success. */
	r.status = rc == -1 ? STATUS_CANNOT_RUN : c.status;
	r.out_errno = c.out_errno;
	return run_finish(&r);
}
