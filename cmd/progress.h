/*
 * cmd/progress.h: the one progress line of every tool, and the one clock.
 *
 *     fer-detect: 1 record, 3.2/s, 0 failed
 *     song-featurize: 12 records, 0.8/s, 1 failed, 0:41:07 of audio, 163x real time
 *     fer-train: epoch 3/30, 7680 faces, 812.4/s, step 120/449, loss 1.2345, ...
 *
 * The tool's name, a count with its noun (singular for 1), a rate per second, the failures
 * (unless the tool counts none), then whatever the tool adds. On a terminal the line is redrawn in
 * place at most twice a second; elsewhere (a log) a whole line comes every ten seconds;
 * progress_end prints the totals as a last whole line either way.
 */
#ifndef FM_CMD_PROGRESS_H
#define FM_CMD_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

/* Seconds on CLOCK_MONOTONIC, for durations. */
double clock_sec(void);

struct progress {
	const char *tool;           /* the line's first word */
	const char *noun, *nouns;   /* what is counted: "record", "records" */
	bool tty;                   /* stderr is a terminal: redraw in place */
	bool failures;              /* show "N failed"; progress_start sets it */
	bool open;                  /* a line without its newline is on the terminal */
	double started, last_shown; /* clock_sec */
	double every_sec;           /* between two lines: 0.5 on a terminal, 10 in a log */
};

/* Start counting now. noun and nouns name what is counted ("record", "records"). */
void progress_start(struct progress *p, const char *tool, const char *noun, const char *nouns);

/*
 * Show the line if it is due (always when last): n done since progress_start, n_failed of
 * them failed, and extra (NULL, or fields without a leading comma) after them. before, when
 * not NULL, goes between the tool's name and the count ("epoch 3/30"). last ends a
 * terminal's line too.
 */
void progress_show(struct progress *p, bool last, const char *before, uint64_t n, uint64_t n_failed,
                   const char *extra);

/* Before another line on stderr: end a terminal's open progress line, keeping it. */
void progress_break(struct progress *p);
/* Before another line on stderr: wipe a terminal's open progress line. */
void progress_clear(struct progress *p);

#endif
