/*
 * cmd/common.h: what every tool's main shares besides the record loop (loop.h) and option
 * parsing (options.h): exit statuses, messages safe for a terminal, whole output lines, the
 * files shipped with fermata, and closing stdout.
 */
#ifndef FM_CMD_COMMON_H
#define FM_CMD_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
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
 * A file to remove if one of protect_lines' signals ends the process (a new file not yet
 * renamed into place: song-featurize --update); NULL for none. The string must outlive the
 * process or the next call. unlink(2) is all the handler does with it.
 */
void remove_on_signal(const char *path);

/*
 * Write one whole line (n_bytes, its newline included) to stdout with write(2), past stdio,
 * whose buffer must then be empty. Returns 0, or the errno that stopped it.
 */
int write_line(const char *line, size_t n_bytes);

/*
 * The hand-off of a signal between its handler and write_line, in steps that a test can
 * run in any order (tests/unit/test_common.c runs every one). The handler marks the signal
 * pending, then claims the process, which succeeds unless a line is being written; the
 * writer begins a line (which fails once the process is claimed), and at its end releases
 * the guard, then looks for a pending signal. Each side writes before it reads what the
 * other writes, with sequentially consistent atomics, so in every order the handler's claim
 * succeeds or the writer sees the mark: a signal is never lost, as it was when the handler
 * decided in two steps that the writer's end could fall between.
 */
enum { LINE_IDLE, LINE_WRITING, LINE_DYING };
struct line_guard {         /* all zero: idle, nothing pending */
	atomic_int state;   /* LINE_* */
	atomic_int pending; /* the last signal that came, or 0 */
};
bool line_guard_begin(struct line_guard *g);         /* the writer, before a line */
void line_guard_mark(struct line_guard *g, int sig); /* the handler, first */
bool line_guard_claim(struct line_guard *g);         /* the handler, then: true to die */
void line_guard_release(struct line_guard *g);       /* the writer, after the line */
int line_guard_pending(struct line_guard *g);        /* then: the signal to die of, or 0 */

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
