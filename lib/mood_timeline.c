/*
 * lib/mood_timeline.c: exponential smoothing over irregular frame times, and the spotting
 * of brief expression changes in the classifier's per-frame distributions (lib/mood.h).
 *
 * The spotter is a hysteresis detector on the departure of one expression from a slow
 * baseline, d_e(t) = p_e(t) - b_e: the frame's probability of e above the baseline's own
 * probability of it. A departure opens at the first frame whose largest departure (over the
 * expressions other than the baseline's most likely one) reaches brief_exit, stays open
 * while that expression's departure stays at brief_exit or more, and closes at the second
 * frame in a row below it (one frame decides nothing, in either direction), its offset the
 * first of the two. It is a brief expression change when
 *   - brief_min_frames of its frames are sure: e departs by brief_enter (> brief_exit) or
 *     more; so one or two misclassified frames, whatever their neighbours' noise, are not
 *     enough, and neither is noise hovering between the two thresholds;
 *   - at its apex, the frame where e peaks, e is the frame's most likely expression, at
 *     min_prob or more: the classifier's label did change;
 *   - it lasted brief_min_sec .. brief_max_sec, from its first frame to its offset;
 *   - the face came back: the frame that closes it has the baseline's most likely expression
 *     on top. A switch to a third expression is a transition, and a noisy change of
 *     expression whose frames dip under brief_exit has not come back either.
 * The interval opens and closes at the lower threshold, so onset and offset are where the
 * expression rose out of the noise and fell back into it, not where it became sure.
 *
 * Raw frames, not the smoothed distribution: smoothing with a half-life of half a second
 * or more lowers a 0.3 s expression to a fraction of its height and moves its apex and
 * offset later by about a half-life; the frame count and the two thresholds reject what
 * smoothing would, while the timing stays that of the frames.
 *
 * The baseline is an exponential average of the frames that do not depart: while a
 * departure is open it is held, so that an expression does not pull its own reference
 * toward itself. A departure that outlasts brief_max_sec is a change of expression, not a
 * brief one: the mean of its frames becomes the baseline.
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
	/* The departure open, if any; the baseline is held while it is. */
	bool departing;
	bool dipped; /* the last frame fell below brief_exit: one more such frame closes it */
	double dip_t;
	enum fm_emotion dep_emotion, dep_from;
	double dep_start, dep_peak, dep_apex, dep_from_prob;
	bool dep_peak_top; /* e was the most likely expression of the frame at its peak */
	size_t dep_frames, dep_sure;
	double dep_sum[FM_N_EMOTIONS]; /* its frames' distributions: the baseline if it lasts */
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
	    !isfinite(o->baseline_half_life_sec) || !isfinite(o->brief_max_sec) ||
	    o->brief_min_frames < 1 || !(o->brief_exit > 0) || !(o->brief_enter >= o->brief_exit) ||
	    !(o->brief_enter <= 1))
		return fm_err_set(err, FM_EINVAL,
		                  "timeline options: half-lives > 0, 0 <= brief min < brief max, "
		                  "0 < min prob <= 1, brief frames >= 1, "
		                  "0 < brief exit <= brief enter <= 1");
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

bool
fm_mood_timeline_breaks(const struct fm_mood_timeline *tl, double t_sec)
{
	double half = fmax(tl->o.half_life_sec, tl->o.baseline_half_life_sec);

	if (!tl->started || !isfinite(t_sec))
		return false;
	return t_sec < tl->last_t || t_sec - tl->last_t > FM_MOOD_SEGMENT_HALF_LIVES * half;
}

void
fm_mood_timeline_reset(struct fm_mood_timeline *tl)
{
	struct fm_mood_timeline_opts o = tl->o;

	*tl = (struct fm_mood_timeline){.o = o};
}

/* Move avg toward p by the share of a half-life that dt is. */
static void
decay_toward(double avg[FM_N_EMOTIONS], const double p[FM_N_EMOTIONS], double dt, double half)
{
	double a = 1.0 - fm_mood_decay(dt, half);

	for (int k = 0; k < FM_N_EMOTIONS; k++)
		avg[k] += a * (p[k] - avg[k]);
}

/* The expression other than the baseline's top that departs most from it, and by how much. */
static enum fm_emotion
largest_departure(const struct fm_mood_timeline *tl, const double p[FM_N_EMOTIONS], double *d)
{
	enum fm_emotion base_top = fm_mood_top(tl->base), best = FM_N_EMOTIONS;

	*d = -INFINITY;
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		if (k != (int)base_top && p[k] - tl->base[k] > *d) {
			*d = p[k] - tl->base[k];
			best = (enum fm_emotion)k;
		}
	return best;
}

/* Whether p departs surely toward e: by the entry margin over the baseline. */
static bool
sure_departure(const struct fm_mood_timeline *tl, const double p[FM_N_EMOTIONS], enum fm_emotion e)
{
	return p[e] - tl->base[e] >= tl->o.brief_enter;
}

static void
open_departure(struct fm_mood_timeline *tl, double t, const double p[FM_N_EMOTIONS],
               enum fm_emotion e)
{
	tl->departing = true;
	tl->dipped = false;
	tl->dep_emotion = e;
	tl->dep_from = fm_mood_top(tl->base);
	tl->dep_from_prob = tl->base[e];
	tl->dep_start = tl->dep_apex = t;
	tl->dep_peak = p[e];
	tl->dep_peak_top = fm_mood_top(p) == e;
	tl->dep_frames = 1;
	tl->dep_sure = sure_departure(tl, p, e);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		tl->dep_sum[k] = p[k];
}

/* One more frame of the open departure (p still departs by brief_exit). */
static void
extend_departure(struct fm_mood_timeline *tl, double t, const double p[FM_N_EMOTIONS])
{
	enum fm_emotion e = tl->dep_emotion;

	tl->dipped = false;
	tl->dep_frames++;
	tl->dep_sure += sure_departure(tl, p, e);
	if (p[e] > tl->dep_peak) {
		tl->dep_peak = p[e];
		tl->dep_peak_top = fm_mood_top(p) == e;
		tl->dep_apex = t;
	}
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		tl->dep_sum[k] += p[k];
	if (t - tl->dep_start > tl->o.brief_max_sec) {
		/* Too long to be brief: the face has changed, and this is its new baseline. */
		for (int k = 0; k < FM_N_EMOTIONS; k++)
			tl->base[k] = tl->dep_sum[k] / (double)tl->dep_frames;
		tl->departing = false;
	}
}

/* p is the second frame in a row below brief_exit: close the departure; 1 and *event if it
 * was a brief expression change. */
static int
close_departure(struct fm_mood_timeline *tl, const double p[FM_N_EMOTIONS],
                struct fm_mood_brief *event)
{
	double duration = tl->dip_t - tl->dep_start;
	/* Back where it left: a face that goes on to a third expression, or a noisy change of
	 * expression whose frames dip under the margin, has not come back. */
	bool back = fm_mood_top(p) == tl->dep_from;

	tl->departing = false;
	if (tl->dep_sure < tl->o.brief_min_frames || !tl->dep_peak_top ||
	    !(tl->dep_peak >= tl->o.min_prob) || !(duration >= tl->o.brief_min_sec) ||
	    !(duration <= tl->o.brief_max_sec) || !back)
		return 0;
	*event = (struct fm_mood_brief){
	    .emotion = tl->dep_emotion,
	    .baseline = tl->dep_from,
	    .start_sec = tl->dep_start,
	    .duration_sec = duration,
	    .peak = tl->dep_peak,
	    .apex_sec = tl->dep_apex,
	    .baseline_prob = tl->dep_from_prob,
	    .n_frames = tl->dep_frames,
	};
	return 1;
}

int
fm_mood_timeline_add(struct fm_mood_timeline *tl, double t_sec, const double p_in[FM_N_EMOTIONS],
                     double smoothed[FM_N_EMOTIONS], struct fm_mood_brief *event,
                     struct fm_err *err)
{
	double p[FM_N_EMOTIONS], dt, d;
	enum fm_emotion e;
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

	dt = t_sec - tl->last_t;
	if (tl->departing) {
		if (p[tl->dep_emotion] - tl->base[tl->dep_emotion] >= tl->o.brief_exit) {
			extend_departure(tl, t_sec, p);
			goto smooth; /* a departing frame is kept out of the baseline */
		}
		if (!tl->dipped) {
			/* One frame decides nothing: the departure closes at the second frame
			 * in a row below brief_exit, its offset at the first. */
			tl->dipped = true;
			tl->dip_t = t_sec;
			goto smooth;
		}
		ended = close_departure(tl, p, event);
	}
	/* Judged afresh, also the frame that closed a departure: it may open the next one. */
	e = largest_departure(tl, p, &d);
	if (e != FM_N_EMOTIONS && d >= tl->o.brief_exit)
		open_departure(tl, t_sec, p, e);
	else
		decay_toward(tl->base, p, dt, tl->o.baseline_half_life_sec);

smooth:
	decay_toward(tl->smooth, p, dt, tl->o.half_life_sec);
	tl->last_t = t_sec;
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		smoothed[k] = tl->smooth[k];
	return ended;
}
