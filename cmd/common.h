/*
 * cmd/common.h: what every tool's main shares: exit statuses, reporting a failed record,
 * number parsing for options, --help, --version and usage errors, and the ordered --jobs
 * record loop that reads operands and stdin, runs a tool's work on N threads and writes
 * the records back in input order.
 */
#ifndef FM_CMD_COMMON_H
#define FM_CMD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include <cJSON.h>
#include <getopt.h>

#include "base.h"

/* As grep: the worst that happened wins. */
enum {
	STATUS_ALL_OK = 0,      /* every record succeeded */
	STATUS_SOME_FAILED = 1, /* at least one record failed */
	STATUS_CANNOT_RUN = 2,  /* usage error, no model or cascade, stdout or stdin failed */
};

#define JOBS_MAX 256 /* --jobs above this is a usage error */

/* run.flags */
#define RUN_BARE_PATHS 1u /* a stdin line not starting with '{' is a path (fer-detect) */
#define RUN_NEED_PATH 2u  /* a record without a non-empty "path" string fails before work */

/*
 * run.work: what a tool does to one record, in place: set the fields it owns and keep the
 * others. thread is 0 .. jobs-1, the index of the worker calling, so that a tool can keep
 * state per thread (a detector, a network's buffers) in ctx without locks; calls with the
 * same thread never overlap. Return 0, or -1 with err's one-line reason, and the loop marks
 * the record failed (fields set before failing stay). A work function never prints, and
 * never sees a record that arrived carrying "error", nor, with RUN_NEED_PATH, one without
 * a usable "path".
 */
struct run {
	/* Set by the tool before run_records. */
	int (*work)(void *ctx, int thread, cJSON *rec, struct fm_err *err);
	void *ctx;             /* handed to work */
	int jobs;              /* worker threads, 1 .. JOBS_MAX */
	unsigned flags;        /* RUN_* */
	size_t max_line_bytes; /* longest stdin line; 0: FM_NDJSON_DEFAULT_MAX_LINE */
	/*
	 * Optional, for input that is not records (fer-detect --stream): next makes the records
	 * in place of the operands and stdin. It returns 1 with *rec and *payload (which
	 * work_payload receives instead of work, and free_payload releases after it), 0 at the
	 * end of the input, or -1 with err: with *rec set, that record fails with err's reason
	 * and the input goes on; with *rec NULL, the input cannot be read further (exit 2).
	 */
	int (*next)(void *ctx, cJSON **rec, void **payload, struct fm_err *err);
	int (*work_payload)(void *ctx, int thread, cJSON *rec, void *payload, struct fm_err *err);
	void (*free_payload)(void *payload);
	/*
	 * Optional: called in input order from one thread for each record that work has
	 * finished well, before it is written: a state that runs across records (smoothing
	 * over a stream of frames) lives here. It may return records to be written after this
	 * one as a cJSON array in *extra, which the loop frees. -1 with err fails the record.
	 */
	int (*in_order)(void *ctx, cJSON *rec, cJSON **extra, struct fm_err *err);
	bool progress;    /* --progress: records, rate and failures on stderr as they go */
	const char *name; /* the tool's, for the progress line */
	/* Results. */
	int status;    /* STATUS_*, the worst so far; start at STATUS_ALL_OK */
	int out_errno; /* why writing stdout failed, or 0 */
	/* The loop's own. */
	uint64_t n_written, n_failed;
	double started, last_shown; /* seconds, CLOCK_MONOTONIC */
	bool shown_open;            /* a progress line without its newline is on the terminal */
};

/*
 * The ordered record loop. Each operand is a path and becomes {"path": operand}; the
 * operand "-", or no operand at all, reads records from stdin, one per line (see
 * fm_ndjson_parse; with RUN_BARE_PATHS a line may be a bare path). Lines that give no
 * record come out as {"line":N,"input":...,"error":...}. Up to 4 * jobs records are in
 * flight; jobs threads call work, and each record is written in input order as one line
 * with write_line, so that pipes stream and lines stay whole. A failed record gets "error"
 * and one stderr line, written in order with it (record_fail); a record that arrived with
 * "error" passes untouched. When stdout cannot be written the loop stops reading and sets
 * out_errno. Call once, from the main thread; sets and returns r->status.
 */
int run_records(struct run *r, int argc, char *const argv[]);

/*
 * Whole lines, also when the process is told to end: after protect_lines, a SIGINT, SIGTERM or
 * SIGHUP that arrives while write_line is writing ends the process only once the line is out
 * (signals the process ignores stay ignored). run_records calls it; a tool that writes its own
 * lines calls it first.
 */
void protect_lines(void);

/*
 * Write one whole line (n_bytes, its newline included) to stdout with write(2), past stdio,
 * whose buffer must then be empty. Returns 0, or the errno that stopped it.
 */
int write_line(const char *line, size_t n_bytes);

/*
 * A file shipped with fermata (a model, the profiles): the installed one in FM_DATADIR, else
 * the build tree's models/name (this binary is build/bin/TOOL), else the installed path
 * again, for the message that it is missing. The path is made in buf, which is returned.
 */
const char *find_shipped_file(const char *name, char *buf, size_t size);

/* Flush and close stdout; report a write failure. Returns the exit status for main. */
int run_finish(struct run *r);

/*
 * Say it twice: "tool: where: why" on stderr, and why as the record's "error"; raise the
 * status to STATUS_SOME_FAILED. Not thread-safe: the loop calls it from its writer, in
 * order; a work function returns -1 instead.
 */
void record_fail(struct run *r, cJSON *rec, const char *where, const char *why);

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
