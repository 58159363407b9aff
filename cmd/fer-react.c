/*
 * cmd/fer-react.c: one judgement per song played. Reads a play log (--plays) and the
 * frames of a stream as fer-classify writes them, and writes for every play a record that
 * recommend --feedback reads: the listener's mood as the song began, how much more
 * positive or negative their face was during it than just before (lib/react), and a
 * rating. See man/fer-react.1.
 *
 * This tool aggregates, as recommend does: it writes one record per play, not per frame,
 * so it reads its frames through cmd/lines rather than the ordered record loop. A frame it
 * cannot use is said on stderr ("file: line N: why") and leaves the exit status at 1; a
 * play it cannot judge comes out as its play log line with "error", in its turn.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "lines.h"
#include "ndjson.h"
#include "options.h"
#include "rank.h"
#include "react.h"

static const char USAGE[] = "usage: fer-react [-hV] [--baseline seconds] [--max-line bytes] "
                            "[--origin time] --plays file [file ...]";

static const char OPTIONS[] =
    "  --baseline seconds  the listener's baseline is their face in this window\n"
    "                      before each song (default 10); with fewer than 3 frames\n"
    "                      with a face there, the song's first seconds stand in\n"
    "  --max-line bytes    refuse longer lines in any input (default 1048576)\n"
    "  --origin time       the wall-clock time of the frames' t = 0 (Unix seconds or\n"
    "                      RFC 3339); the play log's times are then wall-clock too\n"
    "  --plays file        the play log: {\"path\", \"start\", \"end\"} per song played\n"
    "\n"
    "reaction = (valence during - valence before) / 0.8 + brief, within -1 .. 1;\n"
    "brief = 0.25 * (mean - usual) / 0.8 * n / (n + 1), within -0.25 .. 0.25: the\n"
    "        mean valence of the song's n brief smiles and lowered brows against\n"
    "        the listener's others; rating = 3 + 2 * reaction, rounded.\n"
    "valence: happy 0.8, surprise 0.2, neutral 0, angry -0.6, fear -0.6,\n"
    "         disgust -0.7, sad -0.8.\n";

struct opts {
	struct common_opts common; /* --max-line */
	const char *plays;
	struct fm_react_opts react;
};

struct ctx {
	const struct opts *o;
	struct fm_react *react;
	int status;    /* STATUS_* */
	int out_errno; /* why stdout could not be written, or 0 */
	bool fatal;    /* out of memory: stop */
};

enum {
	OPT_BASELINE = 256,
	OPT_ORIGIN,
	OPT_PLAYS,
};

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"baseline", required_argument, NULL, OPT_BASELINE},
	    {"origin", required_argument, NULL, OPT_ORIGIN},
	    {"plays", required_argument, NULL, OPT_PLAYS},
	    {NULL, 0, NULL, 0},
	};
	struct fm_err e;
	int c;

	common_opts_init(&o->common, "fer-react", USAGE, OPTIONS, "", own, COMMON_MAX_LINE);
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case OPT_BASELINE:
			o->react.baseline_sec =
			    option_real(USAGE, "--baseline", optarg, 0, 3600, NUM_OPEN_MIN);
			break;
		case OPT_ORIGIN:
			if (fm_rank_time_parse(optarg, &o->react.origin_sec, &e) == -1)
				exit_usage(USAGE, "--origin: %s", e.msg);
			o->react.has_origin = true;
			break;
		case OPT_PLAYS:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--plays: empty file name");
			o->plays = optarg;
			break;
		}
	}
	if (o->plays == NULL)
		exit_usage(USAGE, "no play log: give --plays file");
	if (strcmp(o->plays, "-") == 0 && optind == argc)
		exit_usage(USAGE, "--plays -: the standard input holds the frames");
	for (int k = optind; k < argc; k++)
		if (strcmp(argv[k], "-") == 0 && strcmp(o->plays, "-") == 0)
			exit_usage(USAGE,
			           "--plays - and the operand - both read the standard input");
}

/* A line of the play log: queued, or refused now and written in its turn. */
static int
add_play(void *ctx, const struct fm_ndjson_line *line, cJSON *unused, struct fm_err *e)
{
	struct ctx *c = ctx;
	cJSON *rec;
	struct fm_err why;

	(void)unused;
	if (fm_ndjson_parse(line->text, line->n_bytes, 0, &rec, &why) == -1) {
		if (why.code == FM_ENOMEM)
			goto fatal;
		warn_line(c->o->plays, line->number, why.msg);
		some_failed(&c->status);
		/* The contract's record for a line that gives none, passed on in its turn. */
		if (fm_ndjson_bad_line(line->number, line->text, line->n_bytes, why.msg, &rec, e) ==
		    -1)
			goto fatal;
	}
	if (fm_react_play_add(c->react, rec, line->number, &why) == -1) {
		if (why.code == FM_ENOMEM)
			goto fatal;
		warn_line(c->o->plays, line->number, why.msg);
		some_failed(&c->status);
	}
	return LINE_OK;
fatal:
	c->fatal = true;
	fm_err_set(e, FM_ENOMEM, "out of memory");
	return LINE_STOP;
}

/* Write the plays that are ready; -1 when stdout fails or memory runs out. */
static int
write_ready(struct ctx *c)
{
	struct fm_react_out out;
	struct fm_err e;
	int got;

	while ((got = fm_react_next(c->react, &out, &e)) == 1) {
		char *text;
		size_t n;

		if (out.error != NULL) {
			warn_line(c->o->plays, out.line, out.error);
			some_failed(&c->status);
		}
		if (fm_ndjson_print(out.rec, &text, &n, &e) == -1) {
			cJSON_Delete(out.rec);
			warn_line(c->o->plays, out.line, e.msg);
			some_failed(&c->status);
			continue;
		}
		cJSON_Delete(out.rec);
		c->out_errno = write_line(text, n);
		free(text);
		if (c->out_errno != 0)
			return -1;
	}
	if (got == -1) {
		warnx("%s", e.msg);
		c->fatal = true;
		return -1;
	}
	return 0;
}

/* A frame: it joins the plays around its time, and the plays it has gone past come out. */
static int
add_frame(void *ctx, const struct fm_ndjson_line *line, cJSON *rec, struct fm_err *e)
{
	struct ctx *c = ctx;

	(void)line;
	if (fm_react_frame_add(c->react, rec, e) == -1) {
		if (e->code != FM_ENOMEM)
			return LINE_BAD;
		c->fatal = true;
		return LINE_STOP;
	}
	if (write_ready(c) == -1) {
		e->msg[0] = '\0'; /* said, or run_frames says it */
		return LINE_STOP;
	}
	return LINE_OK;
}

static int
run_frames(struct ctx *c, int argc, char *const argv[])
{
	static char *const read_stdin[] = {"-"};
	const struct opts *o = c->o;

	if (argc == 0) {
		argc = 1;
		argv = read_stdin;
	}
	/* Plays refused at the top of the log come out before the first frame is waited for. */
	if (write_ready(c) == -1)
		return -1;
	for (int k = 0; k < argc; k++)
		if (lines_read(argv[k], o->common.max_line_bytes, LINES_RECORDS | LINES_SKIP_FAILED,
		               add_frame, c, &c->status) == -1) {
			if (c->out_errno != 0 || c->fatal)
				return -1;
			some_failed(&c->status); /* an input that cannot be read is bad input */
		}
	fm_react_finish(c->react);
	return write_ready(c);
}

int
main(int argc, char *argv[])
{
	struct opts o = {.react = {.baseline_sec = FM_REACT_BASELINE_SEC}};
	struct ctx c = {.o = &o, .status = STATUS_ALL_OK};
	struct fm_err e;
	int rc;

	parse_options(argc, argv, &o);
	protect_lines();
	if (fm_react_new(&o.react, &c.react, &e) == -1)
		errx(STATUS_CANNOT_RUN, "%s", e.msg);
	rc = lines_read(o.plays, o.common.max_line_bytes, 0, add_play, &c, &c.status);
	if (rc == 0)
		rc = run_frames(&c, argc - optind, argv + optind);
	fm_react_free(c.react);
	if (c.out_errno != 0) {
		warnx("stdout: %s", strerror(c.out_errno));
		return STATUS_CANNOT_RUN;
	}
	if (finish_stdout() != STATUS_ALL_OK || rc == -1)
		return STATUS_CANNOT_RUN;
	return c.status;
}
