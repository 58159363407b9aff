/*
 * lib/audio_key.c: key and mode from the mean chroma by correlation with the key profiles
 * of Krumhansl and Kessler (1982, "Tracing the dynamic changes in perceived tonal
 * organization in a spatial representation of musical keys"): the probe-tone ratings of
 * each pitch class in a major and a minor context, rotated to each of the 12 tonics, as in
 * Krumhansl's key-finding algorithm (Cognitive Foundations of Musical Pitch, 1990). The
 * strength is the winning Pearson correlation.
 */
#include "audio_int.h"

#include <math.h>

static const double major_profile[FM_AUDIO_N_CHROMA] = {
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
};
static const double minor_profile[FM_AUDIO_N_CHROMA] = {
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
};

static const char *const key_names[FM_AUDIO_N_CHROMA] = {
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
};

const char *
fm_audio_key_name(int key)
{
	return key >= 0 && key < FM_AUDIO_N_CHROMA ? key_names[key] : NULL;
}

const char *
fm_audio_mode_name(enum fm_audio_mode m)
{
	switch (m) {
	case FM_AUDIO_MAJOR:
		return "major";
	case FM_AUDIO_MINOR:
		return "minor";
	default:
		return NULL;
	}
}

/* Pearson correlation of x with profile p rotated so that p[0] falls on pitch class tonic. */
static double
correlate(const double x[FM_AUDIO_N_CHROMA], const double p[FM_AUDIO_N_CHROMA], int tonic)
{
	enum { C = FM_AUDIO_N_CHROMA };
	double mx = 0, mp = 0, sxy = 0, sxx = 0, spp = 0;

	for (int i = 0; i < C; i++) {
		mx += x[i];
		mp += p[i];
	}
	mx /= C;
	mp /= C;
	for (int i = 0; i < C; i++) {
		double dx = x[i] - mx, dp = p[(i - tonic + C) % C] - mp;

		sxy += dx * dp;
		sxx += dx * dx;
		spp += dp * dp;
	}
	return sxy / sqrt(sxx * spp);
}

void
audio_key_estimate(const double chroma[FM_AUDIO_N_CHROMA], int *key, enum fm_audio_mode *mode,
                   double *strength)
{
	double lo = chroma[0], hi = chroma[0], best = -2;

	*key = -1;
	*mode = FM_AUDIO_MODE_NONE;
	*strength = 0;
	for (int i = 1; i < FM_AUDIO_N_CHROMA; i++) {
		lo = fmin(lo, chroma[i]);
		hi = fmax(hi, chroma[i]);
	}
	/* A flat chroma (silence) correlates with nothing; the test also rejects NaN. */
	if (!(hi - lo > 1e-9 * fmax(1.0, fabs(hi))))
		return;
	for (int t = 0; t < FM_AUDIO_N_CHROMA; t++) {
		double rmaj = correlate(chroma, major_profile, t);
		double rmin = correlate(chroma, minor_profile, t);

		if (rmaj > best) {
			best = rmaj;
			*key = t;
			*mode = FM_AUDIO_MAJOR;
		}
		if (rmin > best) {
			best = rmin;
			*key = t;
			*mode = FM_AUDIO_MINOR;
		}
	}
	*strength = fmax(-1.0, fmin(1.0, best));
}
