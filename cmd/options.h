/*
 * cmd/options.h: option numbers, --help, --version and usage errors.
 */
#ifndef FM_CMD_OPTIONS_H
#define FM_CMD_OPTIONS_H

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

#endif
