/*
 * cmd/fer-summary.c: what a run of fer-classify's records comes to: the share of faces (a
 * folder of photos) or of time (a stream of frames) per expression, the dominant one, and
 * the brief expression changes a minute (lib/mood's fm_mood_summary), as one record, or as a
 * short table on a terminal. See man/fer-summary.1.
 *
 * A tool of its own rather than an option of fer-classify: it needs no network, so it
 * summarises a file classified yesterday as well as a pipe; and fer-classify stays a filter
 * whose every line is a record of its input, which recommend and fer-react read on.
 * Like recommend it aggregates, so it reads through cmd/lines: input it cannot use is said
 * on stderr and leaves the exit status at 1.
 */
#include <err.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "lines.h"
#include "mood.h"
#include "ndjson.h"
#include "options.h"

static const char USAGE[] =
    "usage: fer-summary [-hV] [--format auto | ndjson | text] [--max-line bytes] [file ...]";

static const char OPTIONS[] =
    "  --format name    ndjson (a record), text (a table), or auto (the default): text\n"
    "                   when the standard output is a terminal, else ndjson\n";

enum format { FORMAT_AUTO, FORMAT_NDJSON, FORMAT_TEXT };

struct opts {
	struct common_opts common; /* --max-line */
	enum format format;
};

enum { OPT_FORMAT = 256 };

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {NULL, 0, NULL, 0},
	};
	int c;

	common_opts_init(&o->common, "fer-summary", USAGE, OPTIONS, "", own, COMMON_MAX_LINE);
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (strcmp(optarg, "auto") == 0)
				o->format = FORMAT_AUTO;
			else if (strcmp(optarg, "ndjson") == 0)
				o->format = FORMAT_NDJSON;
			else if (strcmp(optarg, "text") == 0)
				o->format = FORMAT_TEXT;
			else
				exit_usage(USAGE, "--format: '%s' is not auto, ndjson or text",
				           optarg);
			break;
		}
	}
}

static int
add_record(void *ctx, const struct fm_ndjson_line *line, cJSON *rec, struct fm_err *e)
{
	(void)line;
	return fm_mood_summary_add(ctx, rec, e) == -1 ? LINE_BAD : LINE_OK;
}

int
main(int argc, char *argv[])
{
	static char *const read_stdin[] = {"-"};
	struct opts o = {.format = FORMAT_AUTO};
	struct fm_mood_summary s;
	int status = STATUS_ALL_OK, out_errno;
	char *const *files;
	struct fm_err e;
	char *text;
	size_t n;
	int n_files;

	parse_options(argc, argv, &o);
	protect_lines();
	fm_mood_summary_init(&s);
	files = optind < argc ? argv + optind : read_stdin;
	n_files = optind < argc ? argc - optind : 1;
	for (int k = 0; k < n_files; k++)
		if (lines_read(files[k], o.common.max_line_bytes,
		               LINES_RECORDS | LINES_SKIP_FAILED | LINES_BY_PATH, add_record, &s,
		               &status) == -1)
			some_failed(&status); /* an input that cannot be read is bad input */
	/* Not a failure, as for recommend: nobody in the photos is not bad input. */
	if (s.n_frames == s.frames[FM_N_EMOTIONS] &&
	    memcmp(s.n_faces, (uint64_t[FM_N_EMOTIONS]){0}, sizeof s.n_faces) == 0)
		warnx("no face with an expression in the input: nothing to summarise");
	if (o.format == FORMAT_AUTO)
		o.format = isatty(STDOUT_FILENO) ? FORMAT_TEXT : FORMAT_NDJSON;
	if (o.format == FORMAT_TEXT) {
		if (fm_mood_summary_table(&s, &text, &n, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
	} else {
		cJSON *rec;

		if (fm_mood_summary_record(&s, &rec, &e) == -1 ||
		    fm_ndjson_print(rec, &text, &n, &e) == -1) {
			cJSON_Delete(rec);
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		}
		cJSON_Delete(rec);
	}
	out_errno = write_line(text, n);
	free(text);
	if (out_errno != 0) {
		warnx("stdout: %s", strerror(out_errno));
		return STATUS_CANNOT_RUN;
	}
	if (finish_stdout() != STATUS_ALL_OK)
		return STATUS_CANNOT_RUN;
	return status;
}
