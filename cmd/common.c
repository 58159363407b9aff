/*
 * cmd/common.c: what the tools share besides the record loop and their options: messages
 * safe for a terminal, whole output lines that a signal does not cut, the files shipped
 * with fermata, and closing stdout.
 */
#include "common.h"

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * "tool: where: why" on stderr with control characters shown as '?', as ls(1) shows them: a
 * file name may hold a terminal's escape sequences, and stderr is often a terminal. The
 * record keeps the name as it is, escaped by JSON.
 */
void
some_failed(int *status)
{
	if (*status < STATUS_SOME_FAILED)
		*status = STATUS_SOME_FAILED;
}

void
warn_printable(const char *where, const char *why)
{
	size_t n = (where != NULL ? strlen(where) + 2 : 0) + strlen(why) + 1;
	char *line = malloc(n);

	if (line == NULL) {
		warnx("%s", why);
		return;
	}
	snprintf(line, n, "%s%s%s", where != NULL ? where : "", where != NULL ? ": " : "", why);
	/*
	 * C0 controls and DEL, and the C1 controls U+0080..U+009F as UTF-8 writes them (C2 80..
	 * C2 9F): U+009B alone starts an escape sequence on terminals that take C1 controls.
	 */
	char *to = line;
	for (const char *c = line; *c != '\0'; c++) {
		unsigned char b = (unsigned char)*c, next = (unsigned char)c[1];
		if (b == 0xc2 && next >= 0x80 && next <= 0x9f) {
			*to++ = '?';
			c++;
		} else {
			*to++ = b < 0x20 || b == 0x7f ? '?' : (char)b;
		}
	}
	*to = '\0';
	warnx("%s", line);
	free(line);
}

/*
 * Whole lines. A line goes out in one write(2), or in more only when a pipe takes part of it
 * at a time, and never through stdio, whose buffer would cut a long line in two writes. A
 * SIGINT, SIGTERM or SIGHUP that comes while a line is being written waits for the line's
 * end: the handler only marks it pending, and write_line, once the line is out, lets the
 * signal take its default course. Between lines the handler ends the process at once, as if
 * there were none. The hand-off is in the line_guard steps (common.h), one guard for the
 * process, atomic because the handler runs in whichever thread the signal finds.
 */
static struct line_guard lines_guard;

bool
line_guard_begin(struct line_guard *g)
{
	int idle = LINE_IDLE;

	return atomic_compare_exchange_strong(&g->state, &idle, LINE_WRITING);
}

void
line_guard_mark(struct line_guard *g, int sig)
{
	atomic_store(&g->pending, sig);
}

bool
line_guard_claim(struct line_guard *g)
{
	int idle = LINE_IDLE;

	return atomic_compare_exchange_strong(&g->state, &idle, LINE_DYING);
}

void
line_guard_release(struct line_guard *g)
{
	atomic_store(&g->state, LINE_IDLE);
}

int
line_guard_pending(struct line_guard *g)
{
	return atomic_load(&g->pending);
}

/* remove_on_signal's: read by the handler, so a single atomic pointer. */
static _Atomic(const char *) doomed;

void
remove_on_signal(const char *path)
{
	atomic_store(&doomed, path);
}

static void
die_of(int sig)
{
	const char *path = atomic_load(&doomed);

	if (path != NULL)
		unlink(path);
	signal(sig, SIG_DFL);
	raise(sig); /* in the handler, delivered as it returns, since sig is blocked in it */
}

static void
hold_signal(int sig)
{
	line_guard_mark(&lines_guard, sig);
	if (line_guard_claim(&lines_guard))
		die_of(sig);
	/* Else a line is being written, and its writer sees the mark when it is out. */
}

void
protect_lines(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
		struct sigaction sa = {.sa_handler = hold_signal, .sa_flags = SA_RESTART}, old;

		/* A signal the caller ignores (nohup) stays ignored. */
		if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
			sigemptyset(&sa.sa_mask);
			sigaction(sigs[k], &sa, NULL);
		}
	}
}

int
write_line(const char *line, size_t n_bytes)
{
	int failed = 0, sig;

	if (!line_guard_begin(&lines_guard))
		for (;;)
			pause(); /* a signal is ending the process: write nothing more */
	while (n_bytes > 0) {
		ssize_t k = write(STDOUT_FILENO, line, n_bytes);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			failed = errno;
			break;
		}
		line += k;
		n_bytes -= (size_t)k;
	}
	line_guard_release(&lines_guard);
	if ((sig = line_guard_pending(&lines_guard)) != 0)
		die_of(sig);
	return failed;
}

/* Whether the path snprintf made in buf (n, its return) fits and can be read. */
static bool
readable(const char *buf, size_t size, int n)
{
	return n > 0 && (size_t)n < size && access(buf, R_OK) == 0;
}

const char *
find_shipped_file(const char *name, char *buf, size_t size)
{
	char exe[PATH_MAX], data[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *rel = FM_DATADIR_FROM_BIN;
	char *slash = NULL;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
	}
	if (slash == NULL) {
		snprintf(buf, size, "%s/%s", FM_DATADIR, name);
		return buf;
	}
	*slash = '\0';
	/* Installed: the data directory as seen from the binary's (../share/fermata), under
	 * whatever prefix, even one that differs from the build's, or a tree moved since;
	 * each leading ../ is taken off the directory, so that messages show a plain path. */
	memcpy(data, exe, (size_t)(slash - exe) + 1);
	while (strncmp(rel, "../", 3) == 0 && (slash = strrchr(data, '/')) != NULL &&
	       slash != data) {
		*slash = '\0';
		rel += 3;
	}
	if (readable(buf, size, snprintf(buf, size, "%s/%s/%s", data, rel, name)))
		return buf;
	/* The build tree (build/bin/TOOL and models/) before the configured data directory,
	 * so that a tool built here uses this tree's models, not those of an older install. */
	if (readable(buf, size, snprintf(buf, size, "%s/../../models/%s", exe, name)))
		return buf;
	if (readable(buf, size, snprintf(buf, size, "%s/%s", FM_DATADIR, name)))
		return buf;
	snprintf(buf, size, "%s/%s/%s", data, rel, name);
	return buf;
}

int
finish_stdout(void)
{
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout) || fclose(stdout) == EOF) {
		warnx("stdout: %s", strerror(errno != 0 ? errno : EIO));
		return STATUS_CANNOT_RUN;
	}
	return STATUS_ALL_OK;
}
