/*
 * cmd/loop.h: the ordered --jobs record loop that reads operands and stdin, runs a tool's
 * work on N threads and writes the records back in input order, and a failed record's
 * report.
 */
#ifndef FM_CMD_LOOP_H
#define FM_CMD_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "base.h"
#include "common.h"

struct loop; /* opaque: the ring of records, the threads, the progress counts */

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
	bool null_paths;       /* -0: stdin holds paths each ended by a NUL byte, not lines */
	/*
	 * Optional, for input that is not records (fer-detect --stream): next makes the records
	 * in place of the operands and stdin. It returns 1 with *rec and *payload (which
	 * work_payload receives instead of work, and free_payload releases after it) and the
	 * payload's size in *payload_bytes, 0 at the end of the input, or -1 with err: with
	 * *rec set, that record fails with err's reason and the input goes on; with *rec NULL,
	 * the input cannot be read further (exit 2).
	 */
	int (*next)(void *ctx, cJSON **rec, void **payload, size_t *payload_bytes,
	            struct fm_err *err);
	int (*work_payload)(void *ctx, int thread, cJSON *rec, void *payload, struct fm_err *err);
	void (*free_payload)(void *payload);
	/*
	 * With next: the payloads' bytes in flight (made and not yet released) at most; next
	 * is not called again until there is room, but one payload always goes, however
	 * large. 0: no bound but the 4 * jobs records.
	 */
	size_t max_payload_bytes;
	/*
	 * Optional: called in input order from one thread for each record that work has
	 * finished well, before it is written: a state that runs across records (smoothing
	 * over a stream of frames) lives here. It may return records to be written after this
	 * one as a cJSON array in *extra, which the loop frees. -1 with err fails the record.
	 */
	int (*in_order)(void *ctx, cJSON *rec, cJSON **extra, struct fm_err *err);
	bool progress;    /* --progress: records, rate and failures on stderr as they go */
	const char *name; /* the tool's, for the progress line */
	/*
	 * Optional, with progress: more fields for the progress line ("0:41:07 of audio"),
	 * written into buf (size bytes, empty for none). Called from the writer thread, while
	 * workers may be running.
	 */
	void (*progress_extra)(void *ctx, char *buf, size_t size);
	/* Results. */
	int status;    /* STATUS_*, the worst so far; start at STATUS_ALL_OK */
	int out_errno; /* why writing stdout failed, or 0 */
	/* The loop's own, while run_records runs; NULL otherwise. */
	struct loop *loop;
};

/*
 * The ordered record loop. Each operand is a path and becomes {"path": operand}; the
 * operand "-", or no operand at all, reads records from stdin, one per line (see
 * fm_ndjson_parse; with RUN_BARE_PATHS a line may be a bare path), or with null_paths one
 * path per NUL-ended item, newlines and all, each as an operand. Lines that give no
 * record come out as {"line":N,"input":...,"error":...}. Up to 4 * jobs records are in
 * flight; jobs threads call work, and each record is written in input order as one line
 * with write_line, so that pipes stream and lines stay whole. A failed record gets "error"
 * and one stderr line, written in order with it (record_fail); a record that arrived with
 * "error" passes untouched. When stdout cannot be written the loop stops reading and sets
 * out_errno. Call once, from the main thread; sets and returns r->status.
 */
int run_records(struct run *r, int argc, char *const argv[]);

/* Flush and close stdout; report a write failure. Returns the exit status for main. */
int run_finish(struct run *r);

/*
 * Say it twice: "tool: where: why" on stderr, and why as the record's "error"; raise the
 * status to STATUS_SOME_FAILED. Not thread-safe: the loop calls it from its writer, in
 * order; a work function returns -1 instead.
 */
void record_fail(struct run *r, cJSON *rec, const char *where, const char *why);

#endif
