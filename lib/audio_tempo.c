/*
 * lib/audio_tempo.c: tempo, beats and onsets from an onset envelope (one value per frame: the
 * mean rise of the log-compressed mel bands).
 *
 * Tempo follows the usual autocorrelation recipe of beat trackers (Ellis 2007; librosa's
 * feature.tempo): local autocorrelations of the envelope over 8-second windows, averaged, and
 * a log-normal prior on the tempo centred on 120 BPM. The envelope it is given is an accent
 * envelope (see cepstra in audio.c), not librosa's dB flux. Each window's mean is removed and
 * the average is divided by the window's own autocorrelation, so that peaks at long lags are
 * not shrunk (librosa's are, which pulls it towards fast tempi). The period is refined from
 * the peaks at 1 to 4 times it, each located to a fraction of a frame by parabolic
 * interpolation (one frame is 2.4% of the period at 120 BPM).
 *
 * Octave errors are what such a tracker gets wrong, and the autocorrelation alone cannot tell
 * the levels apart: it peaks at every multiple of the period, and eighth-note hats repeat as
 * regularly as the beat. So the choice is made in three steps. (1) The autocorrelation's
 * peak is weighed by the Fourier tempogram, the windows' mean power spectrum, which peaks
 * at the harmonics of the period instead (faster levels) and comes from the same
 * autocorrelation (spectrum_at, Wiener-Khinchin): their product, times the prior at 1.2
 * octaves, is highest at the pulse, at some metrical level; it is rarely off by a third or
 * two thirds, as the autocorrelation alone was. (2) That level, twice and half as
 * fast, are weighed by their onset support, how far the envelope on the best-placed comb of
 * their period stands above its mean (comb_support), times the geometric mean of the two
 * tempograms there and the prior at 0.7 octaves. (3) A level twice as fast is the beat when
 * its comb, whose teeth between the beats are the off-beats, is nearly as well supported
 * (FAST_RATIO), up to 240 BPM: the prior cannot choose between 170 and 85 BPM. The
 * confidence is the pulse's normalised autocorrelation, lowered down to half of it as the
 * runner-up level in (2) or (3) comes close to winning.
 *
 * The constants were chosen on the tuning half of a set of rendered MIDI pieces of fourteen
 * styles at 56 to 200 BPM (scripts/bench/tempo-set.py; 184 pieces, the split's 82 and 102
 * made for tuning only); the other half, 74 pieces never tuned on, gives the figures of
 * README.md (make bench, scripts/bench/tempo.sh). What is left wrong is a level of the
 * metre: drum and bass, dance and the fastest rock at half their written tempo, guitar
 * picked in eighth notes and slow piano at twice it, as a listener might also tap them.
 *
 * Beats are Ellis's dynamic programme ("Beat tracking by dynamic programming", J. New Music
 * Research 36(1), 2007) with librosa's constants (tightness 100, a Gaussian local score of
 * width period / 32). Onsets are picked as librosa.onset.onset_detect picks them.
 */
#include "audio_int.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TEMPO_WINDOW_SEC 8.0 /* the span of each local autocorrelation (librosa's ac_size) */
#define PRIOR_BPM 120.0      /* centre of the log-normal prior on the tempo */
#define PICK_OCTAVES 1.2     /* its standard deviation in octaves, choosing a periodicity */
#define LEVEL_OCTAVES 0.7    /* and choosing a metrical level */
#define FAST_RATIO 0.9       /* a comb twice as fast this well supported is the beat */
#define FAST_MAX_BPM 240.0   /* unless it is faster than this */
#define NO_PULSE 0.1         /* below this normalised autocorrelation there is no tempo */

static double
bpm_of_lag(double lag, double frame_rate_hz)
{
	return 60.0 * frame_rate_hz / lag;
}

/* The vertex of the parabola through (L-1, r[L-1]), (L, r[L]), (L+1, r[L+1]), within L +- 0.5. */
static double
vertex(const double *r, size_t L)
{
	double a = r[L - 1], b = r[L], c = r[L + 1], den = a - 2 * b + c, d;

	if (!(den < 0))
		return (double)L;
	d = 0.5 * (a - c) / den;
	return (double)L + fmax(-0.5, fmin(0.5, d));
}

/* The local maximum of r with the highest value among lags lo .. hi; 0 if there is none. */
static size_t
peak_between(const double *r, size_t lo, size_t hi, size_t max_lag)
{
	size_t best = 0;

	if (lo < 1)
		lo = 1;
	if (hi > max_lag - 1)
		hi = max_lag - 1;
	for (size_t L = lo; L <= hi; L++)
		if (r[L] >= r[L - 1] && r[L] >= r[L + 1] && (best == 0 || r[L] > r[best]))
			best = L;
	return best;
}

/*
 * r[0 .. max_lag] = the mean over windows of the normalised, unbiased autocorrelation of
 * the mean-removed, Hann-windowed envelope; rb[0 .. win - 1] the same mean before the
 * window's own autocorrelation is divided out, at every lag (for spectrum_at). Returns the
 * number of windows that had energy.
 */
static size_t
local_autocorrelation(const float *env, size_t n, size_t win, size_t max_lag, double *r, double *rb,
                      double *x, const double *hann)
{
	size_t hop = win / 2 > 0 ? win / 2 : 1, used = 0;
	double *acc = rb;

	memset(acc, 0, win * sizeof *acc);
	for (size_t s = 0;; s += hop) {
		double mean = 0, r0 = 0;

		if (s + win > n)
			s = n - win; /* one last window flush with the end */
		for (size_t i = 0; i < win; i++)
			mean += env[s + i];
		mean /= (double)win;
		for (size_t i = 0; i < win; i++) {
			x[i] = (env[s + i] - mean) * hann[i];
			r0 += x[i] * x[i];
		}
		/*
		 * A window whose accent envelope varies by less than 1e-3 (a held chord beats and
		 * flickers by about 2e-4; drum loops vary by 0.01 to 0.1) has no pulse to offer.
		 */
		if (r0 > 1e-6 * (double)win) {
			for (size_t L = 0; L < win; L++) {
				double sum = 0;

				for (size_t i = 0; i + L < win; i++)
					sum += x[i] * x[i + L];
				acc[L] += sum / r0;
			}
			used++;
		}
		if (s + win >= n)
			break;
	}
	if (used == 0)
		return 0;
	for (size_t L = 0; L < win; L++)
		rb[L] = acc[L] / (double)used;
	/* Divide out the window's own autocorrelation: an unbiased estimate at every lag. */
	{
		double h0 = 0;

		for (size_t i = 0; i < win; i++)
			h0 += hann[i] * hann[i];
		for (size_t L = 0; L <= max_lag; L++) {
			double hl = 0;

			for (size_t i = 0; i + L < win; i++)
				hl += hann[i] * hann[i + L];
			r[L] = rb[L] / (hl / h0);
		}
	}
	return used;
}

/*
 * How far the pulse of period `period` frames stands out of the envelope: in each window of
 * win frames (hop win / 2, as the autocorrelation's), the mean of the envelope at the frames
 * phase + k period for the phase where that mean is highest, less the window's mean; averaged
 * over the windows. The envelope is max-filtered over 3 frames first (mx, n values, filled
 * by the caller), so that a beat played 10 ms early still lands on its comb tooth. A slower
 * level's comb takes the stronger of the faster one's alternating teeth, so it never scores
 * lower; the faster level scores the mean of its strong and weak teeth: what the prior
 * weighs against is how much weaker the off-beats are.
 */
static double
comb_support(const float *mx, size_t n, size_t win, double period)
{
	size_t hop = win / 2 > 0 ? win / 2 : 1, used = 0;
	size_t n_phase = (size_t)ceil(period);
	double total = 0;

	for (size_t s = 0;; s += hop) {
		double mean = 0, best = -INFINITY;

		if (s + win > n)
			s = n - win;
		for (size_t i = 0; i < win; i++)
			mean += mx[s + i];
		mean /= (double)win;
		for (size_t ph = 0; ph < n_phase; ph++) {
			double sum = 0;
			size_t k = 0;

			for (double t = (double)ph; t < (double)win - 0.5; t += period, k++)
				sum += mx[s + (size_t)lround(t)];
			if (k > 0)
				best = fmax(best, sum / (double)k);
		}
		total += best - mean;
		used++;
		if (s + win >= n)
			break;
	}
	return total / (double)used;
}

/*
 * The Fourier tempogram at a period of c frames, from the autocorrelation (Wiener-Khinchin):
 * the square root of the windows' mean power spectrum, each window's normalised to 1.
 */
static double
spectrum_at(const double *rb, size_t win, double c)
{
	double p = rb[0];

	for (size_t L = 1; L < win; L++)
		p += 2 * rb[L] * cos(2 * AUDIO_PI * (double)L / c);
	return sqrt(fmax(0, p));
}

/* The log-normal prior on the tempo: a Gaussian in log2(bpm) about PRIOR_BPM. */
static double
prior_weight(double bpm, double octaves)
{
	double b = log2(bpm / PRIOR_BPM) / octaves;

	return exp(-0.5 * b * b);
}

/* The period refined from the autocorrelation's peaks at 1 to 4 times pos, by least squares
 * through the origin, each peak located by parabolic interpolation. */
static double
refine(const double *r, double pos, size_t max_lag)
{
	double num = 0, den = 0;

	for (int k = 1; k <= 4; k++) {
		double c = pos * k;
		size_t p = peak_between(r, (size_t)floor(c - 1), (size_t)ceil(c + 1), max_lag);

		if (p == 0 || fabs(vertex(r, p) - c) > 1.0 + 0.02 * c)
			continue;
		num += k * vertex(r, p);
		den += (double)k * k;
	}
	return den > 0 ? num / den : pos;
}

/* The autocorrelation at lag c, interpolated linearly; 0 beyond max_lag. */
static double
value_at(const double *r, double c, size_t max_lag)
{
	size_t L = (size_t)floor(c);

	if (!(c >= 0) || L + 1 > max_lag)
		return 0;
	return r[L] + (c - (double)L) * (r[L + 1] - r[L]);
}

int
audio_tempo(const float *env, size_t n, double frame_rate_hz, double *bpm, double *confidence,
            struct fm_err *err)
{
	/* The metrical levels compared: the tempogram's choice, twice and half as fast. */
	static const double levels[3] = {1.0, 0.5, 2.0};
	size_t lag_lo = (size_t)floor(60.0 * frame_rate_hz / FM_AUDIO_MAX_BPM);
	size_t lag_hi = (size_t)ceil(60.0 * frame_rate_hz / FM_AUDIO_MIN_BPM);
	size_t win = (size_t)lround(TEMPO_WINDOW_SEC * frame_rate_hz), max_lag, best = 0;
	double *r = NULL, *rb = NULL, *x = NULL, *hann = NULL, best_score = 0, pos, score[3], at[3];
	double top = 0, next = 0, margin;
	float *mx = NULL;
	int chosen = 0;

	*bpm = 0;
	*confidence = 0;
	if (lag_lo < 2)
		lag_lo = 2;
	if (win > n)
		win = n;
	/* Lags beyond 3/4 of the window rest on too few products to trust. */
	max_lag = win * 3 / 4;
	if (max_lag > 4 * lag_hi + 2)
		max_lag = 4 * lag_hi + 2;
	if (max_lag < lag_lo + 2)
		return 0; /* too short for even the fastest tempo to repeat */
	r = malloc((max_lag + 1) * sizeof *r);
	rb = malloc(win * sizeof *rb);
	x = malloc(win * sizeof *x);
	hann = malloc(win * sizeof *hann);
	mx = malloc(n * sizeof *mx);
	if (r == NULL || rb == NULL || x == NULL || hann == NULL || mx == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for the tempo");
		goto fail;
	}
	for (size_t i = 0; i < win; i++)
		hann[i] = 0.5 - 0.5 * cos(2 * AUDIO_PI * ((double)i + 0.5) / (double)win);
	if (local_autocorrelation(env, n, win, max_lag, r, rb, x, hann) == 0)
		goto done;

	/*
	 * 1. The periodicity both tempograms agree on, weighed by the prior: the autocorrelation
	 * peaks at multiples of the period too (slower levels), the spectrum at its harmonics
	 * (faster levels), so their product stands out at the pulse itself.
	 */
	for (size_t L = lag_lo; L <= lag_hi && L + 1 <= max_lag; L++) {
		double score_L;

		if (!(r[L] > 0 && r[L] >= r[L - 1] && r[L] >= r[L + 1]))
			continue;
		score_L = r[L] * spectrum_at(rb, win, (double)L) *
		          prior_weight(bpm_of_lag((double)L, frame_rate_hz), PICK_OCTAVES);
		if (score_L > best_score) {
			best_score = score_L;
			best = L;
		}
	}
	if (best == 0 || r[best] < NO_PULSE)
		goto done;
	pos = refine(r, vertex(r, best), max_lag);

	/* 2. That level, twice and half as fast, weighed by the onsets on their combs. */
	for (size_t i = 0; i < n; i++)
		mx[i] = fmaxf(env[i], fmaxf(env[i > 0 ? i - 1 : 0], env[i + 1 < n ? i + 1 : i]));
	for (int j = 0; j < 3; j++) {
		double c = pos * levels[j], b = bpm_of_lag(c, frame_rate_hz);
		size_t p;

		score[j] = 0;
		at[j] = c;
		if (b < FM_AUDIO_MIN_BPM || b > FM_AUDIO_MAX_BPM || c + 2 > (double)win)
			continue;
		/* A level the autocorrelation has a peak for is measured where the peak is. */
		p = peak_between(r, (size_t)floor(c - 1), (size_t)ceil(c + 1), max_lag);
		if (p != 0 && fabs(vertex(r, p) - c) <= 1.0)
			at[j] = c = vertex(r, p);
		score[j] = fmax(0, comb_support(mx, n, win, c)) * prior_weight(b, LEVEL_OCTAVES) *
		           sqrt(fmax(0, value_at(r, c, max_lag)) * spectrum_at(rb, win, c));
		if (score[j] > score[chosen])
			chosen = j;
	}
	for (int j = 0; j < 3; j++) {
		if (score[j] > top) {
			next = top;
			top = score[j];
		} else if (score[j] > next) {
			next = score[j];
		}
	}
	pos = at[chosen];
	margin = top > 0 ? 1 - next / top : 0;

	/*
	 * 3. The prior is even between, say, 170 and 85 BPM, and the slower comb takes the
	 * stronger of the faster one's teeth: a level twice as fast whose off-beats are nearly as
	 * strong as its beats is the beat.
	 */
	if (bpm_of_lag(pos / 2, frame_rate_hz) <= FAST_MAX_BPM) {
		double on = comb_support(mx, n, win, pos);

		if (on > 0) {
			double q = comb_support(mx, n, win, pos / 2) / on;

			margin = fmin(margin, fabs(q - FAST_RATIO) / (1 - FAST_RATIO));
			if (q >= FAST_RATIO)
				pos /= 2;
		}
	}
	pos = refine(r, pos, max_lag);
	*bpm = fmax(FM_AUDIO_MIN_BPM, fmin(FM_AUDIO_MAX_BPM, bpm_of_lag(pos, frame_rate_hz)));
	/* The pulse's strength, down to half of it as another level comes close to winning. */
	*confidence = fmin(1.0, r[best]) * (0.5 + 0.5 * fmin(1.0, margin));
done:
	free(r);
	free(rb);
	free(x);
	free(hann);
	free(mx);
	return 0;
fail:
	free(r);
	free(rb);
	free(x);
	free(hann);
	free(mx);
	return -1;
}

/*
 * The local score: the envelope in standard deviations, smoothed by a Gaussian (g, 2 p_int + 1
 * taps, filled here), with its peak. False for a flat envelope, which has no beats.
 */
static bool
local_score(const float *env, size_t n, long p_int, double *g, double *local, double *peak)
{
	double mean = 0, var = 0, sd;

	for (size_t i = 0; i < n; i++)
		mean += env[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (env[i] - mean) * (env[i] - mean);
	sd = sqrt(var / (double)(n - 1));
	if (!(sd > 0))
		return false;
	for (long i = -p_int; i <= p_int; i++)
		g[i + p_int] = exp(-0.5 * ((double)i * 32.0 / (double)p_int) *
		                   ((double)i * 32.0 / (double)p_int));
	*peak = 0;
	for (size_t t = 0; t < n; t++) {
		double s = 0;

		for (long i = -p_int; i <= p_int; i++) {
			long j = (long)t - i;

			if (j >= 0 && (size_t)j < n)
				s += g[i + p_int] * env[j] / sd;
		}
		local[t] = s;
		*peak = fmax(*peak, s);
	}
	return true;
}

/*
 * The dynamic programme: cum[t] is the best score of a beat sequence ending at t, the local
 * scores of its beats less the cost of each interval d between them, tightness *
 * log(d / period)^2 (tx, indexes lo .. hi, filled here); back[t] is the beat before, -1 none.
 */
static void
best_paths(const double *local, size_t n, double peak, double period, long lo, long hi, double *tx,
           double *cum, long *back)
{
	size_t start = n;

	for (long d = lo; d <= hi; d++)
		tx[d] = -100.0 * log((double)d / period) * log((double)d / period);
	for (size_t t = 0; t < n; t++) {
		double best = -INFINITY;
		long arg = -1;

		if (start == n && local[t] >= 0.01 * peak)
			start = t; /* no beat before the music starts */
		for (long d = lo; start < n && d <= hi && (long)t - d >= (long)start; d++) {
			double s = cum[t - (size_t)d] + tx[d];

			if (s > best) {
				best = s;
				arg = (long)t - d;
			}
		}
		cum[t] = local[t] + (arg >= 0 ? best : 0);
		back[t] = arg;
	}
}

/* The last beat: the last local maximum of the cumulative score above half the median of
 * the maxima; *last is -1 when there is none. FM_ENOMEM. */
static int
last_beat(const double *cum, size_t n, long *last, struct fm_err *err)
{
	double *maxima = malloc(n * sizeof *maxima);
	size_t n_max = 0;
	double thresh;

	*last = -1;
	if (maxima == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the beats");
	for (size_t t = 1; t + 1 < n; t++)
		if (cum[t] > cum[t - 1] && cum[t] >= cum[t + 1])
			maxima[n_max++] = cum[t];
	if (n_max == 0) {
		free(maxima);
		return 0;
	}
	/* A median by partial selection would do; n_max is small enough to sort. */
	for (size_t i = 1; i < n_max; i++)
		for (size_t j = i; j > 0 && maxima[j - 1] > maxima[j]; j--) {
			double tmp = maxima[j];

			maxima[j] = maxima[j - 1];
			maxima[j - 1] = tmp;
		}
	thresh = 0.5 * maxima[n_max / 2];
	free(maxima);
	for (size_t t = 1; t + 1 < n; t++)
		if (cum[t] > cum[t - 1] && cum[t] >= cum[t + 1] && cum[t] >= thresh)
			*last = (long)t;
	return 0;
}

/* Drop weak beats at either end: the DP extends the grid into silence and fades. Returns
 * how many of the count beats in out are kept, moved to its start. */
static size_t
trim_weak_ends(const double *local, uint32_t *out, size_t count)
{
	double ms = 0, thresh;
	size_t start = 0, end_excl = count;

	for (size_t i = 0; i < count; i++)
		ms += local[out[i]] * local[out[i]];
	thresh = 0.5 * sqrt(ms / (double)count);
	while (start < end_excl && local[out[start]] < thresh)
		start++;
	while (end_excl > start && local[out[end_excl - 1]] < thresh)
		end_excl--;
	memmove(out, out + start, (end_excl - start) * sizeof *out);
	return end_excl - start;
}

int
audio_beats(const float *env, size_t n, double frame_rate_hz, double bpm, uint32_t **frames,
            size_t *n_beats, struct fm_err *err)
{
	double period = 60.0 * frame_rate_hz / bpm, peak = 0;
	long p_int = lround(period), lo = lround(period / 2), hi = lround(2 * period);
	double *local = NULL, *cum = NULL, *tx = NULL, *g = NULL;
	long *back = NULL;
	uint32_t *out = NULL;
	size_t count = 0;
	long last = -1;
	int rc = -1;

	*frames = NULL;
	*n_beats = 0;
	if (n < 2 || !(bpm > 0) || p_int < 1)
		return 0;
	if (lo < 1)
		lo = 1;
	local = malloc(n * sizeof *local);
	cum = malloc(n * sizeof *cum);
	back = malloc(n * sizeof *back);
	tx = malloc(((size_t)hi + 1) * sizeof *tx);
	g = malloc((2 * (size_t)p_int + 1) * sizeof *g);
	if (local == NULL || cum == NULL || back == NULL || tx == NULL || g == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for the beats");
		goto fail;
	}
	if (!local_score(env, n, p_int, g, local, &peak)) {
		rc = 0;
		goto fail;
	}
	best_paths(local, n, peak, period, lo, hi, tx, cum, back);
	if (last_beat(cum, n, &last, err) == -1)
		goto fail;
	if (last < 0) {
		rc = 0;
		goto fail;
	}
	for (long t = last; t >= 0; t = back[t])
		count++;
	out = malloc(count * sizeof *out);
	if (out == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for %zu beats", count);
		goto fail;
	}
	for (long t = last, i = (long)count; t >= 0; t = back[t])
		out[--i] = (uint32_t)t;
	count = trim_weak_ends(local, out, count);
	if (count == 0) {
		free(out);
		out = NULL;
	}
	*frames = out;
	*n_beats = count;
	out = NULL;
	rc = 0;
fail:
	free(out);
	free(local);
	free(cum);
	free(back);
	free(tx);
	free(g);
	return rc;
}

size_t
audio_onset_count(const float *env, size_t n, double frame_rate_hz)
{
	/* onset_detect's defaults in frames: 30 ms before a maximum, 100 ms of average. */
	size_t pre_max = (size_t)floor(0.03 * frame_rate_hz), post_max = 1;
	size_t pre_avg = (size_t)floor(0.10 * frame_rate_hz), post_avg = pre_avg + 1;
	size_t wait = pre_max, count = 0;
	long last = -1000000;
	double lo, hi, scale;

	if (n == 0)
		return 0;
	lo = hi = env[0];
	for (size_t i = 1; i < n; i++) {
		lo = fmin(lo, env[i]);
		hi = fmax(hi, env[i]);
	}
	if (!(hi > lo))
		return 0;
	scale = 1.0 / (hi - lo);
	for (size_t t = 0; t < n; t++) {
		double x = (env[t] - lo) * scale, mx = x, avg = 0;
		size_t a0 = t >= pre_avg ? t - pre_avg : 0;
		size_t a1 = t + post_avg < n ? t + post_avg : n;

		if (x <= 0)
			continue;
		for (size_t i = t >= pre_max ? t - pre_max : 0; i < t + post_max && i < n; i++)
			mx = fmax(mx, (env[i] - lo) * scale);
		if (x < mx)
			continue;
		for (size_t i = a0; i < a1; i++)
			avg += (env[i] - lo) * scale;
		avg /= (double)(a1 - a0);
		if (x < avg + 0.07)
			continue;
		if ((long)t > last + (long)wait) {
			count++;
			last = (long)t;
		}
	}
	return count;
}
