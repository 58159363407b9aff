/*
 * cmd/options.c: option numbers, --help, --version and usage errors.
 */
#include "options.h"

#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

noreturn void
exit_help(const char *usage, const char *options)
{
	fputs(usage, stdout);
	putchar('\n');
	fputs(options, stdout);
	exit(finish_stdout());
}

noreturn void
exit_version(const char *tool)
{
	printf("%s (fermata) %s\n", tool, FM_VERSION);
	exit(finish_stdout());
}

noreturn void
exit_usage(const char *usage, const char *fmt, ...)
{
	if (fmt != NULL) {
		va_list ap;

		va_start(ap, fmt);
		vwarnx(fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "%s\n", usage);
	exit(STATUS_CANNOT_RUN);
}

noreturn void
exit_bad_option(const char *usage, const struct option *longopts, int c, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *name = NULL;

	for (const struct option *o = longopts; optopt != 0 && o->name != NULL; o++)
		if (o->flag == NULL && o->val == optopt)
			name = o->name;
	/* A long option's val may also be its short letter; what was typed tells which. */
	if (name != NULL && strncmp(arg, "--", 2) != 0)
		name = NULL;
	if (c == ':' && name != NULL)
		exit_usage(usage, "option --%s needs an argument", name);
	if (c == ':')
		exit_usage(usage, "option -%c needs an argument", optopt);
	if (name != NULL)
		exit_usage(usage, "option --%s takes no argument", name);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		exit_usage(usage, "unknown option -%c", optopt);
	exit_usage(usage, "unknown or ambiguous option %s", arg);
}

int
parse_int(const char *s, long long min, long long max, long long *out, struct fm_err *err)
{
	char *end;
	long long v;

	/* strtoll would skip leading blanks; a number is digits with an optional sign. */
	if (strchr("+-0123456789", s[0]) == NULL || s[0] == '\0')
		return fm_err_set(err, FM_EINVAL, "'%.40s' is not a whole number", s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return fm_err_set(err, FM_EINVAL, "'%.40s' is not a whole number", s);
	if (errno == ERANGE || v < min || v > max)
		return fm_err_set(err, FM_EINVAL, "%.40s is not in %lld..%lld", s, min, max);
	*out = v;
	return 0;
}

int
parse_real(const char *s, double min, double max, unsigned open, double *out, struct fm_err *err)
{
	char *end;
	double v;

	/* Decimal only: strtod would also take blanks, hex, "inf" and "nan". */
	if (s[0] == '\0' || s[strspn(s, "+-.0123456789eE")] != '\0')
		return fm_err_set(err, FM_EINVAL, "'%.40s' is not a number", s);
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0')
		return fm_err_set(err, FM_EINVAL, "'%.40s' is not a number", s);
	if (!isfinite(v) || (open & NUM_OPEN_MIN ? v <= min : v < min) ||
	    (open & NUM_OPEN_MAX ? v >= max : v > max))
		return fm_err_set(err, FM_EINVAL, "%.40s is not in %c%g, %g%c", s,
		                  open & NUM_OPEN_MIN ? '(' : '[', min, max,
		                  open & NUM_OPEN_MAX ? ')' : ']');
	*out = v;
	return 0;
}

int
default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > JOBS_MAX ? JOBS_MAX : (int)n;
}

long long
option_int(const char *usage, const char *name, const char *arg, long long min, long long max)
{
	struct fm_err e;
	long long v;

	if (parse_int(arg, min, max, &v, &e) == -1)
		exit_usage(usage, "%s: %s", name, e.msg);
	return v;
}

double
option_real(const char *usage, const char *name, const char *arg, double min, double max,
            unsigned open)
{
	struct fm_err e;
	double v;

	if (parse_real(arg, min, max, open, &v, &e) == -1)
		exit_usage(usage, "%s: %s", name, e.msg);
	return v;
}
