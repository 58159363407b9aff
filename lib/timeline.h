/*
 * lib/timeline.h: expressions over time, for a stream of frames. Each frame's emotion
 * distribution is smoothed exponentially with a half-life in seconds (frames may come at
 * any pace), and brief departures from the running baseline are reported: a face whose
 * most likely expression leaves the baseline's for less than about half a second and then
 * comes back shows the fleeting, involuntary expression that the micro-expression
 * literature describes (Ekman and Friesen 1969; Yan et al. 2013 measure them at 1/25 to
 * 1/2 s). The baseline is a second, slower average, so that a lasting change of mood
 * becomes the new baseline instead of an event.
 */
#ifndef FM_TIMELINE_H
#define FM_TIMELINE_H

#include "base.h"

struct fm_timeline_opts {
	double half_life_sec;          /* > 0: the smoothed distribution's memory */
	double baseline_half_life_sec; /* > 0: the slower baseline that events depart from */
	double brief_min_sec;          /* >= 0: shorter departures are flicker, not events */
	double brief_max_sec;          /* > brief_min_sec: longer ones are changes of mood */
	double min_prob; /* (0, 1]: a departing frame's expression is at least this sure */
};
/* clang-format off */
#define FM_TIMELINE_OPTS_DEFAULT { 0.5, 2.0, 0.06, 0.5, 0.5 }
/* clang-format on */

/* A brief departure, reported when the face has come back to the baseline. */
struct fm_brief_event {
	enum fm_emotion emotion;  /* the departing expression */
	enum fm_emotion baseline; /* the expression it departed from */
	double start_sec;         /* the first departing frame's time */
	double duration_sec;      /* from it to the first frame back */
	double peak;              /* the departing expression's highest probability */
};

struct fm_timeline;

/* FM_EINVAL for options out of their ranges; FM_ENOMEM. */
int fm_timeline_new(const struct fm_timeline_opts *o, struct fm_timeline **out, struct fm_err *err);
void fm_timeline_free(struct fm_timeline *tl);

/*
 * Add the distribution p (FM_N_EMOTIONS probabilities, renormalised here; negative, NaN
 * or all-zero input is FM_EINVAL) seen at t_sec, which must not go back in time
 * (FM_EINVAL). smoothed receives the smoothed distribution. Returns 1 and fills *event
 * when this frame ends a brief departure, else 0; -1 on error, with nothing changed.
 */
int fm_timeline_add(struct fm_timeline *tl, double t_sec, const double p[FM_N_EMOTIONS],
                    double smoothed[FM_N_EMOTIONS], struct fm_brief_event *event,
                    struct fm_err *err);

#endif
