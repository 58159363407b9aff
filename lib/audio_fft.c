/*
 * lib/audio_fft.c: the power spectrum of a real frame, through a complex FFT of half the
 * length (the textbook packing of even samples as real and odd samples as imaginary parts,
 * then one pass that separates the two halves' spectra).
 *
 * Written here rather than taken from FFTW because only the power is wanted (no phase, no
 * inverse), the size is fixed per analyzer, and FFTW's planner is not thread-safe, which
 * would put a lock in a library that has no globals. The complex transform is iterative
 * radix 2 in decimation in time with split real and imaginary arrays: the inner loop of
 * each stage runs over contiguous twiddles, which GCC vectorises at -O2. Twiddles are
 * computed in double and rounded once, so the error does not grow with the stage.
 */
#include "audio_int.h"

#include <math.h>
#include <stdlib.h>

int
audio_fft_init(struct audio_fft *f, size_t n, struct fm_err *err)
{
	size_t h = n / 2, bits = 0;

	*f = (struct audio_fft){0};
	if (n < 16 || n > 65536 || (n & (n - 1)) != 0)
		return fm_err_set(err, FM_EINVAL, "FFT size %zu is not a power of two in 16..65536",
		                  n);
	f->n = n;
	f->h = h;
	f->rev = malloc(h * sizeof *f->rev);
	f->tw_re = malloc(h * sizeof *f->tw_re);
	f->tw_im = malloc(h * sizeof *f->tw_im);
	f->post_re = malloc((h + 1) * sizeof *f->post_re);
	f->post_im = malloc((h + 1) * sizeof *f->post_im);
	f->re = malloc(h * sizeof *f->re);
	f->im = malloc(h * sizeof *f->im);
	if (f->rev == NULL || f->tw_re == NULL || f->tw_im == NULL || f->post_re == NULL ||
	    f->post_im == NULL || f->re == NULL || f->im == NULL) {
		audio_fft_destroy(f);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a %zu-point FFT", n);
	}
	while (((size_t)1 << bits) < h)
		bits++;
	for (size_t i = 0; i < h; i++) {
		uint32_t r = 0;

		for (size_t b = 0; b < bits; b++)
			r |= (uint32_t)((i >> b) & 1u) << (bits - 1 - b);
		f->rev[i] = r;
	}
	f->tw_re[0] = 1; /* unused slot: stages start at half-size 1 */
	f->tw_im[0] = 0;
	for (size_t m = 1; m < h; m *= 2)
		for (size_t j = 0; j < m; j++) {
			double a = -AUDIO_PI * (double)j / (double)m;

			f->tw_re[m + j] = (float)cos(a);
			f->tw_im[m + j] = (float)sin(a);
		}
	for (size_t k = 0; k <= h; k++) {
		double a = -2.0 * AUDIO_PI * (double)k / (double)n;

		f->post_re[k] = (float)cos(a);
		f->post_im[k] = (float)sin(a);
	}
	return 0;
}

void
audio_fft_destroy(struct audio_fft *f)
{
	if (f == NULL)
		return;
	free(f->rev);
	free(f->tw_re);
	free(f->tw_im);
	free(f->post_re);
	free(f->post_im);
	free(f->re);
	free(f->im);
	*f = (struct audio_fft){0};
}

/* One stage of butterflies of half-size m >= 4 over the whole array. */
static void
stage(float *restrict re, float *restrict im, size_t h, size_t m, const float *restrict wr,
      const float *restrict wi)
{
	for (size_t base = 0; base < h; base += 2 * m) {
		float *restrict ar = re + base, *restrict ai = im + base;
		float *restrict br = re + base + m, *restrict bi = im + base + m;

		for (size_t j = 0; j < m; j++) {
			float tr = wr[j] * br[j] - wi[j] * bi[j];
			float ti = wr[j] * bi[j] + wi[j] * br[j];

			br[j] = ar[j] - tr;
			bi[j] = ai[j] - ti;
			ar[j] += tr;
			ai[j] += ti;
		}
	}
}

void
audio_fft_power(struct audio_fft *f, const float *x, const float *win, float *power)
{
	size_t h = f->h;
	float *re = f->re, *im = f->im;
	const uint32_t *rev = f->rev;

	if (win != NULL)
		for (size_t j = 0; j < h; j++) {
			re[rev[j]] = x[2 * j] * win[2 * j];
			im[rev[j]] = x[2 * j + 1] * win[2 * j + 1];
		}
	else
		for (size_t j = 0; j < h; j++) {
			re[rev[j]] = x[2 * j];
			im[rev[j]] = x[2 * j + 1];
		}
	/* Half-sizes 1 and 2 have the twiddles 1 and -i: additions only. */
	for (size_t i = 0; i < h; i += 2) {
		float ar = re[i], ai = im[i], br = re[i + 1], bi = im[i + 1];

		re[i] = ar + br;
		im[i] = ai + bi;
		re[i + 1] = ar - br;
		im[i + 1] = ai - bi;
	}
	for (size_t i = 0; i < h; i += 4) {
		float tr = re[i + 2], ti = im[i + 2];
		float ur = im[i + 3], ui = -re[i + 3]; /* -i * z[i+3] */

		re[i + 2] = re[i] - tr;
		im[i + 2] = im[i] - ti;
		re[i] += tr;
		im[i] += ti;
		re[i + 3] = re[i + 1] - ur;
		im[i + 3] = im[i + 1] - ui;
		re[i + 1] += ur;
		im[i + 1] += ui;
	}
	for (size_t m = 4; m < h; m *= 2)
		stage(re, im, h, m, f->tw_re + m, f->tw_im + m);

	/*
	 * Z = E + i O, where E and O are the spectra of the even and odd samples; for the real
	 * input X[k] = E[k] + exp(-2 pi i k / n) O[k], with E[k] = (Z[k] + conj Z[h-k]) / 2 and
	 * O[k] = -i (Z[k] - conj Z[h-k]) / 2.
	 */
	power[0] = (re[0] + im[0]) * (re[0] + im[0]);
	power[h] = (re[0] - im[0]) * (re[0] - im[0]);
	for (size_t k = 1; k < h; k++) {
		float zr = re[k], zi = im[k], cr = re[h - k], ci = -im[h - k];
		float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);
		float or_ = 0.5f * (zi - ci), oi = -0.5f * (zr - cr);
		float xr = er + f->post_re[k] * or_ - f->post_im[k] * oi;
		float xi = ei + f->post_re[k] * oi + f->post_im[k] * or_;

		power[k] = xr * xr + xi * xi;
	}
}
