/*
 * cmd/options.c: option numbers, --help, --version and usage errors.
 */
#include "options.h"

#include <assert.h>
#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "face.h"
#include "ndjson.h"

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

int
option_views(const char *usage, const char *arg)
{
	long long n = option_int(usage, "--views", arg, 1, 10);

	if (!fm_face_views_valid((double)n))
		exit_usage(usage, "--views: %lld views: 1, 2 or 10", n);
	return (int)n;
}

int
option_views_with_tta(const char *usage, bool tta, int views)
{
	if (tta && views != 0 && views != FM_FACE_VIEWS_TTA)
		exit_usage(usage, "--tta is --views 10, not --views %d", views);
	return tta ? FM_FACE_VIEWS_TTA : views;
}

/* --- the shared options --------------------------------------------------------------- */

enum {
	COMMON_OPT_JOBS = 0x10000, /* above any tool's own */
	COMMON_OPT_MAX_FACES,
	COMMON_OPT_MAX_LINE,
	COMMON_OPT_MAX_PIXELS,
	COMMON_OPT_NO_PROGRESS,
	COMMON_OPT_PROGRESS,
};

struct common_option {
	unsigned which; /* COMMON_*, or 0 for -h and -V */
	struct option opt;
	const char *spec; /* as -h shows it: "--jobs n" */
	const char *desc; /* its words in -h, a printf format given the default */
};

static const struct common_option common_table[] = {
    {0, {"help", no_argument, NULL, 'h'}, "-h, --help", "print this help and exit"},
    {COMMON_JOBS,
     {"jobs", required_argument, NULL, COMMON_OPT_JOBS},
     "--jobs n",
     "records worked on at once (default: online processors)"},
    {COMMON_MAX_FACES,
     {"max-faces", required_argument, NULL, COMMON_OPT_MAX_FACES},
     "--max-faces n",
     "at most n faces a record (default %llu)"},
    {COMMON_MAX_LINE,
     {"max-line", required_argument, NULL, COMMON_OPT_MAX_LINE},
     "--max-line bytes",
     "refuse longer stdin lines (default %llu)"},
    {COMMON_MAX_PIXELS,
     {"max-pixels", required_argument, NULL, COMMON_OPT_MAX_PIXELS},
     "--max-pixels n",
     "refuse images with more pixels (default %llu)"},
    {COMMON_NO_PROGRESS,
     {"no-progress", no_argument, NULL, COMMON_OPT_NO_PROGRESS},
     "--no-progress",
     "no progress line, even on a terminal"},
    {COMMON_NULL,
     {"null", no_argument, NULL, '0'},
     "-0, --null",
     "stdin holds paths each ended by a NUL byte (find -print0)"},
    {COMMON_PROGRESS,
     {"progress", no_argument, NULL, COMMON_OPT_PROGRESS},
     "--progress",
     "records, rate and failures on stderr as they go"},
    {COMMON_THREADS,
     {"threads", required_argument, NULL, COMMON_OPT_JOBS},
     "--threads n",
     "the old name of --jobs"},
    {0, {"version", no_argument, NULL, 'V'}, "-V, --version", "print the version and exit"},
};
#define N_COMMON (sizeof common_table / sizeof common_table[0])

void
common_opts_init(struct common_opts *co, const char *tool, const char *usage, const char *options,
                 const char *shortopts, const struct option *longopts, unsigned which)
{
	size_t n = 0;

	*co = (struct common_opts){
	    .tool = tool,
	    .usage = usage,
	    .options = options,
	    .shortopts = shortopts != NULL ? shortopts : "",
	    .longopts = longopts,
	    .which = which,
	    .jobs_max = JOBS_MAX,
	    .jobs = default_jobs(),
	    .max_line_bytes = FM_NDJSON_DEFAULT_MAX_LINE,
	    .max_line_default = FM_NDJSON_DEFAULT_MAX_LINE,
	    .max_pixels = FM_DEFAULT_MAX_PIXELS,
	    .max_faces = COMMON_DEFAULT_MAX_FACES,
	    .progress = (which & COMMON_NO_PROGRESS) && isatty(STDERR_FILENO) == 1,
	};
	/* A leading ':' makes getopt return ':' for a missing argument, and say nothing. */
	snprintf(co->all_short, sizeof co->all_short, ":hV%s%s", which & COMMON_NULL ? "0" : "",
	         co->shortopts);
	for (const struct option *o = longopts; o != NULL && o->name != NULL; o++) {
		assert(n + 1 < COMMON_MAX_OPTIONS);
		co->all[n++] = *o;
	}
	for (size_t k = 0; k < N_COMMON; k++) {
		if (common_table[k].which != 0 && !(common_table[k].which & which))
			continue;
		assert(n + 1 < COMMON_MAX_OPTIONS);
		co->all[n++] = common_table[k].opt;
	}
	co->all[n] = (struct option){NULL, 0, NULL, 0};
}

/* The name an option line is sorted by: its long name, else its letter. */
static size_t
help_key(const char *line, const char **key)
{
	const char *k = line + strspn(line, " ");

	if (k[0] == '-' && k[1] != '-' && strncmp(k + 2, ", --", 4) == 0)
		k += 4;
	k += strspn(k, "-");
	*key = k;
	return strcspn(k, " \n");
}

/* One option's lines: the first, and those indented further under it. */
static size_t
help_entry(const char *text)
{
	size_t n = strcspn(text, "\n");

	while (text[n] == '\n' && strncmp(text + n + 1, "   ", 3) == 0)
		n += 1 + strcspn(text + n + 1, "\n");
	return text[n] == '\n' ? n + 1 : n;
}

static bool
has_entry(const char *options, const char *key, size_t n_key)
{
	for (const char *t = options; *t != '\0'; t += help_entry(t)) {
		const char *k;

		if (help_key(t, &k) == n_key && strncmp(k, key, n_key) == 0)
			return true;
	}
	return false;
}

struct help_line {
	const char *text;
	size_t n;
};

static int
by_key(const void *a, const void *b)
{
	const struct help_line *x = a, *y = b;
	const char *kx, *ky;
	size_t nx = help_key(x->text, &kx), ny = help_key(y->text, &ky);
	int c = strncmp(kx, ky, nx < ny ? nx : ny);

	return c != 0 ? c : (nx > ny) - (nx < ny);
}

/*
 * The tool's option lines and the shared ones it takes, sorted by name; a line of the tool's
 * own for a shared option (a tool's words for --jobs) takes the place of the shared line.
 */
static void
print_options(const struct common_opts *co)
{
	struct help_line lines[COMMON_MAX_OPTIONS];
	char made[N_COMMON][160],
	    desc[120]; /* the shared options' lines, made from their formats */
	size_t n = 0;
	int col = 23; /* where the words start, as in the tool's first line */

	if (co->options[0] != '\0') {
		const char *gap = strstr(co->options + 2, "  "), *nl = strchr(co->options, '\n');

		if (gap != NULL && (nl == NULL || gap < nl))
			col = (int)(gap + strspn(gap, " ") - co->options);
	}

	for (const char *t = co->options; *t != '\0' && n < COMMON_MAX_OPTIONS; n++) {
		lines[n].text = t;
		lines[n].n = help_entry(t);
		t += lines[n].n;
	}
	for (size_t k = 0; k < N_COMMON && n < COMMON_MAX_OPTIONS; k++) {
		const struct common_option *c = &common_table[k];
		const char *key;
		size_t n_key = help_key(c->spec, &key);
		unsigned long long dflt = c->opt.val == COMMON_OPT_MAX_LINE ? co->max_line_default
		                          : c->opt.val == COMMON_OPT_MAX_PIXELS
		                              ? FM_DEFAULT_MAX_PIXELS
		                              : COMMON_DEFAULT_MAX_FACES;

		if ((c->which != 0 && !(c->which & co->which)) ||
		    has_entry(co->options, key, n_key))
			continue;
		snprintf(desc, sizeof desc, c->desc, dflt);
		snprintf(made[k], sizeof made[k], "  %-*s %s\n", col - 3, c->spec, desc);
		lines[n].text = made[k];
		lines[n].n = strlen(made[k]);
		n++;
	}
	qsort(lines, n, sizeof lines[0], by_key);
	for (size_t i = 0; i < n; i++)
		fwrite(lines[i].text, 1, lines[i].n, stdout);
}

int
common_getopt(struct common_opts *co, int argc, char *const argv[])
{
	int c, idx = -1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, co->all_short, co->all, &idx)) != -1) {
		/* The name as typed, for the message: --threads stays --threads. */
		char name[40];

		snprintf(name, sizeof name, "--%s", idx >= 0 ? co->all[idx].name : "?");
		idx = -1;
		switch (c) {
		case '0':
			co->null = true;
			break;
		case 'V':
			exit_version(co->tool);
		case 'h':
			fputs(co->usage, stdout);
			putchar('\n');
			print_options(co);
			exit(finish_stdout());
		case COMMON_OPT_JOBS:
			co->jobs = (int)option_int(co->usage, name, optarg, 1, co->jobs_max);
			break;
		case COMMON_OPT_MAX_FACES:
			co->max_faces =
			    option_int(co->usage, "--max-faces", optarg, 1, COMMON_MAX_MAX_FACES);
			break;
		case COMMON_OPT_MAX_LINE:
			co->max_line_bytes = (size_t)option_int(co->usage, "--max-line", optarg, 2,
			                                        (long long)1 << 31);
			break;
		case COMMON_OPT_MAX_PIXELS:
			co->max_pixels =
			    (uint64_t)option_int(co->usage, "--max-pixels", optarg, 1, INT64_MAX);
			break;
		case COMMON_OPT_NO_PROGRESS:
			co->progress = false;
			break;
		case COMMON_OPT_PROGRESS:
			co->progress = true;
			break;
		case ':':
		case '?':
			exit_bad_option(co->usage, co->all, c, argv);
		default:
			return c;
		}
	}
	return -1;
}
