/*
 * lib/audio_bank.c: the mel and chroma filter banks and the DCT behind the MFCCs, with
 * librosa 0.10's definitions (filters.mel with htk=False and norm="slaney"; filters.chroma
 * with its defaults; scipy's DCT-II with norm="ortho"). Each bank is computed in double and
 * rounded to float once, as librosa stores its banks in float32.
 */
#include "audio_int.h"

#include <math.h>
#include <stdlib.h>

/* Slaney's Auditory Toolbox scale: 3 mels per 200 Hz up to 1 kHz, then log steps of 6.4^(1/27). */
#define MEL_F_SP (200.0 / 3.0)
#define MEL_MIN_LOG_HZ 1000.0
#define MEL_MIN_LOG_MEL (MEL_MIN_LOG_HZ / MEL_F_SP)

static double
mel_logstep(void)
{
	return log(6.4) / 27.0;
}

double
audio_hz_to_mel(double hz)
{
	if (hz >= MEL_MIN_LOG_HZ)
		return MEL_MIN_LOG_MEL + log(hz / MEL_MIN_LOG_HZ) / mel_logstep();
	return hz / MEL_F_SP;
}

double
audio_mel_to_hz(double mel)
{
	if (mel >= MEL_MIN_LOG_MEL)
		return MEL_MIN_LOG_HZ * exp(mel_logstep() * (mel - MEL_MIN_LOG_MEL));
	return MEL_F_SP * mel;
}

void
audio_mel_destroy(struct audio_mel *m)
{
	if (m == NULL)
		return;
	free(m->first);
	free(m->count);
	free(m->offset);
	free(m->w);
	*m = (struct audio_mel){0};
}

int
audio_mel_init(struct audio_mel *m, double rate_hz, size_t n_fft, size_t n_mels, struct fm_err *err)
{
	size_t n_bins = n_fft / 2 + 1, n_w = 0;
	double *mel_f = malloc((n_mels + 2) * sizeof *mel_f);
	double top = audio_hz_to_mel(rate_hz / 2);

	*m = (struct audio_mel){.n_mels = n_mels};
	m->first = calloc(n_mels, sizeof *m->first);
	m->count = calloc(n_mels, sizeof *m->count);
	m->offset = calloc(n_mels, sizeof *m->offset);
	/* Each bin lies under two triangles at most; 2 * n_bins bounds the weights. */
	m->w = calloc(2 * n_bins, sizeof *m->w);
	if (mel_f == NULL || m->first == NULL || m->count == NULL || m->offset == NULL ||
	    m->w == NULL) {
		free(mel_f);
		audio_mel_destroy(m);
		return fm_err_set(err, FM_ENOMEM, "out of memory for the mel filter bank");
	}
	/* np.linspace(mel(0), mel(sr / 2), n_mels + 2), back to Hz. */
	for (size_t i = 0; i < n_mels + 2; i++)
		mel_f[i] = audio_mel_to_hz(top * (double)i / (double)(n_mels + 1));
	for (size_t j = 0; j < n_mels; j++) {
		double lo = mel_f[j], mid = mel_f[j + 1], hi = mel_f[j + 2];
		double enorm = 2.0 / (hi - lo);
		size_t first = n_bins, count = 0;

		m->offset[j] = (uint32_t)n_w;
		for (size_t k = 0; k < n_bins; k++) {
			double fk = rate_hz / 2 * (double)k / (double)(n_bins - 1);
			double lower = (fk - lo) / (mid - lo), upper = (hi - fk) / (hi - mid);
			double tri = fmax(0.0, fmin(lower, upper));

			if (tri <= 0)
				continue;
			if (first == n_bins)
				first = k;
			/* Zero weights inside a band keep the band contiguous (a band is convex).
			 */
			count = k - first + 1;
			m->w[n_w + count - 1] = (float)((double)(float)tri * enorm);
		}
		if (first == n_bins)
			first = 0; /* an empty band (too many mels for n_fft), as librosa allows */
		m->first[j] = (uint32_t)first;
		m->count[j] = (uint32_t)count;
		n_w += count;
	}
	free(mel_f);
	return 0;
}

void
audio_mel_apply(const struct audio_mel *m, const float *power, float *out)
{
	for (size_t j = 0; j < m->n_mels; j++) {
		const float *w = m->w + m->offset[j], *p = power + m->first[j];
		float s = 0;

		for (uint32_t k = 0; k < m->count[j]; k++)
			s += w[k] * p[k];
		out[j] = s;
	}
}

int
audio_chroma_bank(double rate_hz, size_t n_fft, float **out, struct fm_err *err)
{
	enum { C = FM_AUDIO_N_CHROMA };
	size_t n_bins = n_fft / 2 + 1;
	double *frq = calloc(n_fft, sizeof *frq), *width = calloc(n_fft, sizeof *width);
	float *bank = malloc(n_bins * C * sizeof *bank);

	*out = NULL;
	if (frq == NULL || width == NULL || bank == NULL) {
		free(frq);
		free(width);
		free(bank);
		return fm_err_set(err, FM_ENOMEM, "out of memory for the chroma filter bank");
	}
	/* Each FFT bin in twelfths of an octave above A0 (27.5 Hz, A440 / 16). */
	for (size_t i = 1; i < n_fft; i++)
		frq[i] = C * log2(rate_hz * (double)i / (double)n_fft / (440.0 / 16));
	/* librosa gives the 0 Hz bin a made-up place 1.5 octaves below bin 1. */
	frq[0] = frq[1] - 1.5 * C;
	for (size_t i = 0; i + 1 < n_fft; i++)
		width[i] = fmax(frq[i + 1] - frq[i], 1.0);
	width[n_fft - 1] = 1;
	for (size_t i = 0; i < n_bins; i++) {
		double w[C], norm = 0, oct;

		for (int c = 0; c < C; c++) {
			/* Distance to pitch class c, folded into -6 .. 6 semitones. */
			double d = fmod(frq[i] - c + C / 2 + 10 * C, C);

			if (d < 0)
				d += C;
			d -= C / 2;
			w[c] = exp(-0.5 * (2 * d / width[i]) * (2 * d / width[i]));
			norm += w[c] * w[c];
		}
		norm = sqrt(norm);
		/* A Gaussian over octaves centred on octave 5 (about 880 Hz), two octaves wide. */
		oct = exp(-0.5 * ((frq[i] / C - 5.0) / 2.0) * ((frq[i] / C - 5.0) / 2.0));
		for (int c = 0; c < C; c++) {
			/* Row c of the bank is pitch class (c + 3) above A: C first (base_c). */
			double v = w[(c + 3) % C];

			if (norm > 0)
				v /= norm;
			bank[i * C + (size_t)c] = (float)(v * oct);
		}
	}
	free(frq);
	free(width);
	*out = bank;
	return 0;
}

int
audio_dct_matrix(size_t n_out, size_t n_in, float **out, struct fm_err *err)
{
	float *d = malloc(n_out * n_in * sizeof *d);

	*out = NULL;
	if (d == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the DCT");
	for (size_t k = 0; k < n_out; k++) {
		double s = sqrt((k == 0 ? 1.0 : 2.0) / (double)n_in);

		for (size_t m = 0; m < n_in; m++)
			d[k * n_in + m] =
			    (float)(s * cos(AUDIO_PI * (double)k * (2.0 * (double)m + 1) /
			                    (2.0 * (double)n_in)));
	}
	*out = d;
	return 0;
}
