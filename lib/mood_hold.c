/*
 * lib/mood_hold.c: a mood held against the jitter of a stream of frames (lib/mood.h), by
 * hysteresis on the distance between distributions and a minimum dwell, the two usual
 * guards of a switch driven by a noisy signal: a ranking made from a smoothed mood still
 * changes its top song whenever the mood wavers across a tie between two songs (eleven
 * times in eleven seconds of a video, with a ten-second half-life), which hysteresis stops;
 * the dwell bounds how often even real changes may come.
 */
#include "mood.h"

#include <math.h>
#include <string.h>

double
fm_mood_distance(const double p[FM_N_EMOTIONS], const double q[FM_N_EMOTIONS])
{
	double d = 0;

	for (int e = 0; e < FM_N_EMOTIONS; e++)
		d += fabs(p[e] - q[e]);
	return d / 2;
}

bool
fm_mood_hold_moves(const struct fm_mood_hold *h, const double p[FM_N_EMOTIONS], double t_sec,
                   double dwell_sec, double min_change)
{
	double elapsed = t_sec > h->since_sec ? t_sec - h->since_sec : 0;

	if (!h->set)
		return true;
	return elapsed >= dwell_sec && fm_mood_distance(p, h->p) >= min_change;
}

void
fm_mood_hold_set(struct fm_mood_hold *h, const double p[FM_N_EMOTIONS], double t_sec)
{
	memcpy(h->p, p, sizeof h->p);
	h->since_sec = t_sec;
	h->set = true;
}
