/*
 * cmd/lines.h: files of NDJSON lines read outside the ordered record loop: a tool's side
 * files (recommend's library, feedback log and play history) and the input of a tool that
 * aggregates rather than writes one record per record (recommend). One loop, with the rules
 * every such file follows, and the messages it says through warn_printable, so that a file
 * or a record naming a terminal's escape sequences cannot play them.
 */
#ifndef FM_CMD_LINES_H
#define FM_CMD_LINES_H

#include <stdint.h>

#include <cJSON.h>

#include "ndjson.h"

/* lines_read flags */
#define LINES_RECORDS 1u     /* parse each line; a line that gives no record is said */
#define LINES_BARE_PATH 2u   /* with LINES_RECORDS: a line not starting '{' is a path */
#define LINES_SKIP_FAILED 4u /* with LINES_RECORDS: a record with "error" is passed over */
#define LINES_BY_PATH 8u     /* a record refused by each is named by its "path", if any */

/* What each returns. */
enum {
	LINE_OK = 0,
	LINE_BAD = -1,  /* err says why: said as "where: line N: why"; the file goes on */
	LINE_STOP = -2, /* read no further; err says why as LINE_BAD does, unless it is "" */
};

/*
 * Read the file path ("-": stdin, named "stdin" in messages) line by line and call
 * each(ctx, line, rec, err) for every line, or with LINES_RECORDS for every record (rec is
 * the loop's, freed after the call; NULL without LINES_RECORDS). A line that is too long,
 * or with LINES_RECORDS is not a record, is said as "where: line N: why" and skipped. Every
 * line said raises *status to STATUS_SOME_FAILED. Returns 0 at the end of the file, or -1
 * when the file cannot be opened or read (said as "where: why") or each said LINE_STOP.
 */
int lines_read(const char *path, size_t max_line, unsigned flags,
               int (*each)(void *ctx, const struct fm_ndjson_line *line, cJSON *rec,
                           struct fm_err *err),
               void *ctx, int *status);

/* "tool: where: line N: why" through warn_printable. */
void warn_line(const char *where, uint64_t number, const char *why);

/* "tool: where: ..." (where NULL: "tool: ...") with printf's fmt, through warn_printable. */
void warn_about(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
