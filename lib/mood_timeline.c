/*
 * lib/mood_timeline.c: exponential smoothing over irregular frame times, and the
 * brief-departure detector of lib/mood.h.
 */
#include "mood.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

struct fm_mood_timeline {
	struct fm_mood_timeline_opts o;
	bool started;
	double last_t;
	double smooth[FM_N_EMOTIONS], base[FM_N_EMOTIONS];
	/* The departure under way, if any. */
	bool departing;
	bool sustained; /* it has lasted past brief_max_sec: not an event any more */
	enum fm_emotion dep_emotion, dep_from;
	double dep_start, dep_peak;
};

int
fm_mood_timeline_new(const struct fm_mood_timeline_opts *o, struct fm_mood_timeline **out,
                     struct fm_err *err)
{
	struct fm_mood_timeline *tl;

	*out = NULL;
	if (!(o->half_life_sec > 0) || !(o->baseline_half_life_sec > 0) ||
	    !(o->brief_min_sec >= 0) || !(o->brief_max_sec > o->brief_min_sec) ||
	    !(o->min_prob > 0 && o->min_prob <= 1) || !isfinite(o->half_life_sec) ||
	    !isfinite(o->baseline_half_life_sec) || !isfinite(o->brief_max_sec))
		return fm_err_set(err, FM_EINVAL,
		                  "timeline options: half-lives > 0, 0 <= brief min < brief max, "
		                  "0 < min prob <= 1");
	if ((tl = calloc(1, sizeof *tl)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a timeline");
	tl->o = *o;
	*out = tl;
	return 0;
}

void
fm_mood_timeline_free(struct fm_mood_timeline *tl)
{
	free(tl);
}

/* Move avg toward p by the share of a half-life that dt is. */
static void
decay_toward(double avg[FM_N_EMOTIONS], const double p[FM_N_EMOTIONS], double dt, double half)
{
	double a = 1.0 - fm_mood_decay(dt, half);

	for (int k = 0; k < FM_N_EMOTIONS; k++)
		avg[k] += a * (p[k] - avg[k]);
}

int
fm_mood_timeline_add(struct fm_mood_timeline *tl, double t_sec, const double p_in[FM_N_EMOTIONS],
                     double smoothed[FM_N_EMOTIONS], struct fm_mood_brief *event,
                     struct fm_err *err)
{
	double p[FM_N_EMOTIONS];
	enum fm_emotion now, base_top;
	bool departs;
	int ended = 0;

	if (!isfinite(t_sec) || (tl->started && t_sec < tl->last_t))
		return fm_err_set(err, FM_EINVAL, "frame time %g is before the last one, %g", t_sec,
		                  tl->last_t);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		p[k] = p_in[k];
	if (fm_mood_normalize(p, err) == -1)
		return -1;

	if (!tl->started) {
		for (int k = 0; k < FM_N_EMOTIONS; k++)
			tl->smooth[k] = tl->base[k] = p[k];
		tl->started = true;
		tl->last_t = t_sec;
		for (int k = 0; k < FM_N_EMOTIONS; k++)
			smoothed[k] = p[k];
		return 0;
	}

	/* Is this frame away from the baseline as it stood before it? */
	now = fm_mood_top(p);
	base_top = fm_mood_top(tl->base);
	departs = now != base_top && p[now] >= tl->o.min_prob;
	if (tl->departing && (!departs || now != tl->dep_emotion)) {
		double duration = t_sec - tl->dep_start;

		/* Back to the baseline it left, soon enough and not too soon: an event. A switch
		 * to a third expression is a transition, not a return. */
		if (!departs && now == tl->dep_from && !tl->sustained &&
		    duration >= tl->o.brief_min_sec && duration < tl->o.brief_max_sec) {
			*event = (struct fm_mood_brief){tl->dep_emotion, tl->dep_from,
			                                tl->dep_start, duration, tl->dep_peak};
			ended = 1;
		}
		tl->departing = false;
	}
	if (departs && !tl->departing) {
		tl->departing = true;
		tl->sustained = false;
		tl->dep_emotion = now;
		tl->dep_from = base_top;
		tl->dep_start = t_sec;
		tl->dep_peak = p[now];
	} else if (departs) {
		if (p[now] > tl->dep_peak)
			tl->dep_peak = p[now];
		if (t_sec - tl->dep_start >= tl->o.brief_max_sec)
			tl->sustained = true;
	}

	decay_toward(tl->smooth, p, t_sec - tl->last_t, tl->o.half_life_sec);
	decay_toward(tl->base, p, t_sec - tl->last_t, tl->o.baseline_half_life_sec);
	tl->last_t = t_sec;
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		smoothed[k] = tl->smooth[k];
	return ended;
}
