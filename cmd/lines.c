/*
 * cmd/lines.c: the loop over a file of NDJSON lines outside the record loop, and its
 * messages. The rules are the record loop's (cmd/loop.c): a line too long or not a record
 * is said with its number and skipped, a read error ends the file, and every message goes
 * through warn_printable.
 */
#include "lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

void
warn_line(const char *where, uint64_t number, const char *why)
{
	warn_about(where, "line %llu: %s", (unsigned long long)number, why);
}

void
warn_about(const char *where, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	warn_printable(where, why);
}

int
lines_read(const char *path, size_t max_line, unsigned flags,
           int (*each)(void *ctx, const struct fm_ndjson_line *line, cJSON *rec,
                       struct fm_err *err),
           void *ctx, int *status)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *where = is_stdin ? "stdin" : path, *id;
	unsigned parse = flags & LINES_BARE_PATH ? FM_NDJSON_BARE_PATH : 0;
	struct fm_ndjson_reader *rd;
	struct fm_ndjson_line line;
	struct fm_err e;
	int fd = is_stdin ? STDIN_FILENO : fm_open_read(path, &e), rc = 0;

	if (fd == -1) {
		warn_printable(where, e.msg);
		return -1;
	}
	if (fm_ndjson_reader_new_fd(fd, max_line, &rd, &e) == -1) {
		warn_printable(where, e.msg);
		if (!is_stdin)
			close(fd);
		return -1;
	}
	while (rc == 0) {
		cJSON *rec = NULL;
		int got;

		if (fm_ndjson_read(rd, &line, &e) == -1) {
			/* A read error belongs to no line (stdin a directory would be "line 0"). */
			if (e.code == FM_EIO) {
				warn_printable(where, e.msg);
				rc = -1;
				break;
			}
			/* Too long, or no memory for it: that line is lost, the next is read. */
			warn_line(where, line.number, e.msg);
			some_failed(status);
			continue;
		}
		if (line.text == NULL)
			break;
		if (flags & LINES_RECORDS) {
			if (fm_ndjson_parse(line.text, line.n_bytes, parse, &rec, &e) == -1) {
				warn_line(where, line.number, e.msg);
				some_failed(status);
				continue;
			}
			/* Failed upstream and said there: not this tool's to say again. */
			if (flags & LINES_SKIP_FAILED && fm_ndjson_has_error(rec)) {
				cJSON_Delete(rec);
				continue;
			}
		}
		e.msg[0] = '\0';
		got = each(ctx, &line, rec, &e);
		if (got != LINE_OK && e.msg[0] != '\0') {
			if (flags & LINES_BY_PATH && rec != NULL &&
			    fm_ndjson_get_path(rec, &id, NULL) == 0)
				warn_printable(id, e.msg);
			else
				warn_line(where, line.number, e.msg);
		}
		if (got == LINE_BAD)
			some_failed(status);
		else if (got == LINE_STOP)
			rc = -1;
		cJSON_Delete(rec);
	}
	fm_ndjson_reader_free(rd);
	if (!is_stdin)
		close(fd);
	return rc;
}
