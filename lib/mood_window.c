/*
 * lib/mood_window.c: frames pooled over a window of time, each frame counting once, and the
 * valence a brief expression carries (lib/mood.h): the pieces fer-react's baseline and
 * reaction are made of. A window is plain sums rather than a decayed pool (fm_mood_pool),
 * because a baseline is "the face just before the song", every frame of it alike.
 */
#include "mood.h"

#include <math.h>

void
fm_mood_window_add(struct fm_mood_window *w, const double p[FM_N_EMOTIONS])
{
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		w->sum[e] += p[e];
	w->n_frames++;
}

int
fm_mood_window_mean(const struct fm_mood_window *w, double p[FM_N_EMOTIONS], struct fm_err *err)
{
	if (w->n_frames == 0)
		return fm_err_set(err, FM_EINVAL, "no frame in the window");
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		p[e] = w->sum[e] / (double)w->n_frames;
	return 0;
}

double
fm_mood_window_valence(const struct fm_mood_window *w)
{
	double p[FM_N_EMOTIONS];

	if (fm_mood_window_mean(w, p, NULL) == -1)
		return NAN;
	return fm_mood_valence(p);
}

double
fm_mood_brief_valence(const struct fm_mood_brief *b)
{
	switch (b->emotion) {
	case FM_HAPPY:
	case FM_ANGRY:
	case FM_DISGUST:
	case FM_SAD:
		return fm_emotion_valence(b->emotion);
	default:
		return 0;
	}
}
