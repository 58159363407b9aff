/*
 * cmd/options.h: the options every tool shares, option numbers, --help, --version and usage
 * errors.
 *
 * The shared options are one table (as aubio's tools share theirs, but in a struct the
 * tool owns rather than in globals): a tool names the ones it takes, lists only its own in
 * its longopts and help text, and common_getopt handles the rest: -h, -V, --jobs,
 * --max-line, --max-pixels, --max-faces, --progress, -0.
 */
#ifndef FM_CMD_OPTIONS_H
#define FM_CMD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include <getopt.h>

#include "base.h"

/*
 * Option numbers. All of s must be a decimal number within [min, max], or for parse_real
 * finite and within the bounds, either of which NUM_OPEN_MIN/NUM_OPEN_MAX excludes.
 * FM_EINVAL with the reason ("'1.5x' is not a number", "0 is not in 1..256").
 */
int parse_int(const char *s, long long min, long long max, long long *out, struct fm_err *err);
#define NUM_OPEN_MIN 1u
#define NUM_OPEN_MAX 2u
int parse_real(const char *s, double min, double max, unsigned open, double *out,
               struct fm_err *err);

/*
 * An option's number, or a usage error naming the option (exit 2): parse_int and parse_real
 * for getopt's optarg. name is the option as the user typed it, "--jobs".
 */
long long option_int(const char *usage, const char *name, const char *arg, long long min,
                     long long max);
double option_real(const char *usage, const char *name, const char *arg, double min, double max,
                   unsigned open);
/* --views: 1, 2 or 10 (enum fm_face_views), else a usage error (exit 2). */
int option_views(const char *usage, const char *arg);
/* The views --tta and --views ask for together: 10 with --tta (a --views other than 10 is
 * a usage error), else views (0: neither given, the model's own). */
int option_views_with_tta(const char *usage, bool tta, int views);

/* Online processors, within 1 .. JOBS_MAX: the default of --jobs. */
int default_jobs(void);

/*
 * After getopt_long(argc, argv, ":...", longopts, NULL) returned ':' or '?' (the optstring
 * starts with ':' and opterr is 0, so getopt printed nothing): say what is wrong with the
 * option, naming the tool rather than argv[0], and exit as exit_usage.
 */
noreturn void exit_bad_option(const char *usage, const struct option *longopts, int c,
                              char *const argv[]);

/* "usage: ..." and the option list on stdout; exit 0, or 2 if stdout cannot be written. */
noreturn void exit_help(const char *usage, const char *options);
/* "<tool> (fermata) <FM_VERSION>" on stdout; exit as exit_help. */
noreturn void exit_version(const char *tool);
/*
 * A usage error: the message (a printf format; NULL when getopt has already said what is
 * wrong) as "tool: ..." on stderr, then the usage line; exit 2.
 */
noreturn void exit_usage(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* common_opts.which: the shared options a tool takes besides -h and -V. */
#define COMMON_JOBS 0x01u        /* --jobs n */
#define COMMON_MAX_LINE 0x02u    /* --max-line bytes */
#define COMMON_MAX_PIXELS 0x04u  /* --max-pixels n */
#define COMMON_MAX_FACES 0x08u   /* --max-faces n */
#define COMMON_PROGRESS 0x10u    /* --progress */
#define COMMON_NO_PROGRESS 0x20u /* --no-progress too: progress is on by default on a terminal */
#define COMMON_NULL 0x40u        /* -0, --null: NUL-separated paths on stdin */
#define COMMON_THREADS 0x80u     /* --threads n, the old spelling of --jobs (fer-train) */

#define COMMON_DEFAULT_MAX_FACES 1000
#define COMMON_MAX_MAX_FACES 1000000
#define COMMON_MAX_OPTIONS 48 /* a tool's longopts and the shared ones together */

struct common_opts {
	/* Set by the tool (common_opts_init). */
	const char *tool, *usage; /* the name for -V; the usage line, as the man page's SYNOPSIS */
	const char *options;      /* the tool's own option lines for -h, sorted (see exit_help) */
	const char *shortopts;    /* the tool's own short options, as for getopt ("n:"), or "" */
	const struct option *longopts; /* the tool's own, ending in a zero entry */
	unsigned which;                /* COMMON_* */
	int jobs_max;                  /* --jobs above this is a usage error; JOBS_MAX */
	/* Results, preset to the defaults. */
	int jobs;              /* --jobs: default_jobs() */
	size_t max_line_bytes; /* --max-line: preset to max_line_default */
	/* --max-line's default, FM_NDJSON_DEFAULT_MAX_LINE unless the tool sets another after
	 * common_opts_init (fer-detect: DETECT_MAX_LINE); -h shows it. */
	size_t max_line_default;
	uint64_t max_pixels; /* --max-pixels: FM_DEFAULT_MAX_PIXELS */
	long long max_faces; /* --max-faces: COMMON_DEFAULT_MAX_FACES */
	bool progress;       /* --progress, --no-progress */
	bool null;           /* -0 */
	/* common_getopt's own. */
	struct option all[COMMON_MAX_OPTIONS];
	char all_short[64];
};

/*
 * Fill in the defaults; progress starts on when COMMON_NO_PROGRESS is in which and stderr is
 * a terminal.
 */
void common_opts_init(struct common_opts *co, const char *tool, const char *usage,
                      const char *options, const char *shortopts, const struct option *longopts,
                      unsigned which);

/*
 * getopt_long over the tool's options and the shared ones: handles -h, -V and the shared
 * options itself, and exits on a usage error (exit_bad_option); returns the tool's options as
 * getopt_long does (optarg set), and -1 at the end.
 */
int common_getopt(struct common_opts *co, int argc, char *const argv[]);

#endif
