/*
 * cmd/progress.c: the one progress line (see progress.h) and the one clock.
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double
clock_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
progress_start(struct progress *p, const char *tool, const char *noun, const char *nouns)
{
	*p = (struct progress){.tool = tool, .noun = noun, .nouns = nouns, .failures = true};
	p->tty = isatty(STDERR_FILENO) == 1;
	p->every_sec = p->tty ? 0.5 : 10;
	p->started = p->last_shown = clock_sec();
}

void
progress_show(struct progress *p, bool last, const char *before, uint64_t n, uint64_t n_failed,
              const char *extra)
{
	double now = clock_sec(), spent = now - p->started;
	char failed[40] = "";

	if (!last && now - p->last_shown < p->every_sec)
		return;
	p->last_shown = now;
	if (p->failures)
		snprintf(failed, sizeof failed, ", %llu failed", (unsigned long long)n_failed);
	/* One fprintf: stderr is unbuffered, and the line should reach the terminal whole. */
	fprintf(stderr, "%s%s: %s%s%llu %s, %.1f/s%s%s%s%s", p->tty ? "\r" : "", p->tool,
	        before != NULL ? before : "", before != NULL ? ", " : "", (unsigned long long)n,
	        n == 1 ? p->noun : p->nouns, spent > 0 ? (double)n / spent : 0.0, failed,
	        extra != NULL ? ", " : "", extra != NULL ? extra : "",
	        !p->tty ? "\n"
	        : last  ? "\033[K\n"
	                : "\033[K");
	p->open = p->tty && !last;
}

void
progress_break(struct progress *p)
{
	if (p->open) {
		fputc('\n', stderr);
		p->open = false;
	}
}

void
progress_clear(struct progress *p)
{
	if (p->open) {
		fputs("\r\033[K", stderr);
		p->open = false;
	}
}
