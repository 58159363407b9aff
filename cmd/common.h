/*
 * cmd/common.h: what every tool's main shares besides the record loop (loop.h) and option
 * parsing (options.h): exit statuses, messages safe for a terminal, whole output lines, the
 * files shipped with fermata, and closing stdout.
 */
#ifndef FM_CMD_COMMON_H
#define FM_CMD_COMMON_H

#include <stddef.h>

/* As grep: the worst that happened wins. */
enum {
	STATUS_ALL_OK = 0,      /* every record succeeded */
	STATUS_SOME_FAILED = 1, /* at least one record failed */
	STATUS_CANNOT_RUN = 2,  /* usage error, no model or cascade, stdout or stdin failed */
};

/* A record or line failed: *status becomes STATUS_SOME_FAILED unless it is worse already. */
void some_failed(int *status);

#define JOBS_MAX 256 /* --jobs above this is a usage error */

/*
 * "tool: where: why" on stderr (where NULL: "tool: why") with control characters (C0, DEL,
 * and C1 as UTF-8 encodes them) shown as '?', as ls(1) shows them: a file name may hold a
 * terminal's escape sequences, and stderr is often a terminal.
 */
void warn_printable(const char *where, const char *why);

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
 * A file shipped with fermata (a model, the profiles): the installed one beside this binary
 * (FM_DATADIR_FROM_BIN from its directory: ../share/fermata, so that an installation works
 * under any PREFIX or DESTDIR, and moved), else the one in FM_DATADIR, the data directory
 * compiled in, else the build tree's models/name (this binary is build/bin/TOOL), else the
 * first path again, for the message that it is missing. The path is made in buf, which is
 * returned.
 */
const char *find_shipped_file(const char *name, char *buf, size_t size);

/* Flush and close stdout, saying why on stderr if that fails: STATUS_ALL_OK or
 * STATUS_CANNOT_RUN. */
int finish_stdout(void);

#endif
