/*
 * lib/cnn_dw.c: the depthwise convolution (dwconv K STRIDE PAD): one KxK filter per
 * channel, out_c = in_c, as in MobileNet (Howard et al., 2017) and the 3x3 depthwise blocks
 * of small detectors. It is not a matrix product (each output reads K^2 inputs of its own
 * channel only), so it is plain loops over rows, four floats at a time through cnn_vf.
 *
 * Each channel is worked in bands of output rows. A band's input rows are first copied
 * into a small padded buffer that fits the L1 or L2 cache, zeros in the padding, and each
 * padded row is split by column into its `stride` phases (phase r holds columns r,
 * r + stride, ...). Then every tap (ky, kx) of every output row is one contiguous run of
 * that buffer: row oy * stride + ky, phase kx % stride, from column kx / stride on, whatever
 * the stride and padding, and the inner loops have no bounds to test. The backward pass
 * scatters into a buffer of the same shape and adds it back into the input's gradient.
 */
#include "cnn_int.h"

#include <string.h>

/* Floats of one band's padded input: 16K (64 KiB), in a core's L2 cache with room to spare,
 * so that the nine reads of each input value of a 3x3 filter come from cache. */
#define DW_BUDGET ((size_t)1 << 14)

/* Floats from one phase of a padded row to the next, and from a padded row to the next. */
static size_t
phase_len(const struct cnn_layer *l)
{
	return ((size_t)l->in_w + 2 * (size_t)l->pad + l->stride - 1) / l->stride;
}

static size_t
row_len(const struct cnn_layer *l)
{
	return l->stride * phase_len(l);
}

/* Padded rows a band of `rows` output rows reads. */
static size_t
band_rows(const struct cnn_layer *l, size_t rows)
{
	return (rows - 1) * l->stride + l->k;
}

size_t
cnn_dw_plan(struct cnn_layer *l)
{
	size_t rl = row_len(l), rows, fit;

	/* Output rows per band: as many as fit the budget, at least one. */
	fit = DW_BUDGET / rl;
	rows = fit > l->k ? (fit - l->k) / l->stride + 1 : 1;
	if (rows > l->out_h)
		rows = l->out_h;
	l->rows = rows;
	l->group = 0;
	/* The gradient's k^2 double accumulators, then the padded band and its gradient. */
	return 2 * (size_t)l->k * l->k + 2 * band_rows(l, rows) * rl;
}

/* The column offsets within a padded row of the k taps of a row: phase, then column. */
static void
tap_offsets(const struct cnn_layer *l, size_t *off)
{
	for (size_t kx = 0; kx < l->k; kx++)
		off[kx] = (kx % l->stride) * phase_len(l) + kx / l->stride;
}

/* The entries [*lo, *hi) of phase r of a padded row that hold input columns (the rest is
 * padding): those idx with pad <= idx stride + r < pad + in_w. */
static void
phase_range(const struct cnn_layer *l, size_t r, size_t *lo, size_t *hi)
{
	const size_t s = l->stride, p = l->pad, end = p + l->in_w;

	*lo = r >= p ? 0 : (p - r + s - 1) / s;
	*hi = end > r ? (end - r + s - 1) / s : 0;
	if (*lo > *hi)
		*lo = *hi;
}

/* Padded rows [r0, r0 + n) of one input plane into band, split into phases. */
static void
fill_band(const struct cnn_layer *l, const float *plane, size_t r0, size_t n, float *band)
{
	const size_t w = l->in_w, p = l->pad, s = l->stride, pl = phase_len(l), rl = row_len(l);

	for (size_t r = r0; r < r0 + n; r++) {
		float *d = band + (r - r0) * rl;
		const float *src;

		if (r < p || r - p >= l->in_h) {
			memset(d, 0, rl * sizeof *d);
			continue;
		}
		src = plane + (r - p) * w;
		if (s == 1) {
			memset(d, 0, p * sizeof *d);
			memcpy(d + p, src, w * sizeof *d);
			memset(d + p + w, 0, (rl - p - w) * sizeof *d);
			continue;
		}
		for (size_t ph = 0; ph < s; ph++) {
			float *dp = d + ph * pl;
			size_t lo, hi;

			phase_range(l, ph, &lo, &hi);
			memset(dp, 0, lo * sizeof *dp);
			for (size_t idx = lo; idx < hi; idx++)
				dp[idx] = src[idx * s + ph - p];
			memset(dp + hi, 0, (pl - hi) * sizeof *dp);
		}
	}
}

/* Add the gradient of padded rows [r0, r0 + n) in band into one input plane's gradient. */
static void
drain_band(const struct cnn_layer *l, const float *band, size_t r0, size_t n, float *plane)
{
	const size_t w = l->in_w, p = l->pad, s = l->stride, pl = phase_len(l), rl = row_len(l);

	for (size_t r = r0; r < r0 + n; r++) {
		const float *d = band + (r - r0) * rl;
		float *dst;
		size_t i = 0;

		if (r < p || r - p >= l->in_h)
			continue;
		dst = plane + (r - p) * w;
		if (s > 1) {
			for (size_t ph = 0; ph < s; ph++) {
				const float *dp = d + ph * pl;
				size_t lo, hi;

				phase_range(l, ph, &lo, &hi);
				for (size_t idx = lo; idx < hi; idx++)
					dst[idx * s + ph - p] += dp[idx];
			}
			continue;
		}
		for (; i + CNN_VN <= w; i += CNN_VN)
			cnn_vstore(dst + i, cnn_vload(dst + i) + cnn_vload(d + p + i));
		for (; i < w; i++)
			dst[i] += d[p + i];
	}
}

static inline cnn_vf
vrelu(cnn_vf v)
{
	const cnn_vf z = {0};

	return (cnn_vf)((cnn_vi)v & (v > z));
}

/*
 * Output row yr (wo floats) of a 3x3 filter f from the padded rows r0, r1, r2 at the tap
 * offsets o: each row's three taps summed apart, then the rows, so that the additions form
 * short independent chains.
 */
static void
row3(const float *r0, const float *r1, const float *r2, const size_t *o, const float *f, float b,
     int relu, float *yr, size_t wo)
{
	size_t i = 0;

	for (; i + CNN_VN <= wo; i += CNN_VN) {
		cnn_vf a = cnn_vload(r0 + o[0] + i) * f[0] + cnn_vload(r0 + o[1] + i) * f[1] +
		           cnn_vload(r0 + o[2] + i) * f[2];
		cnn_vf c = cnn_vload(r1 + o[0] + i) * f[3] + cnn_vload(r1 + o[1] + i) * f[4] +
		           cnn_vload(r1 + o[2] + i) * f[5];
		cnn_vf d = cnn_vload(r2 + o[0] + i) * f[6] + cnn_vload(r2 + o[1] + i) * f[7] +
		           cnn_vload(r2 + o[2] + i) * f[8];
		cnn_vf v = a + c + d + b;

		cnn_vstore(yr + i, relu ? vrelu(v) : v);
	}
	for (; i < wo; i++) {
		float a = r0[o[0] + i] * f[0] + r0[o[1] + i] * f[1] + r0[o[2] + i] * f[2];
		float c = r1[o[0] + i] * f[3] + r1[o[1] + i] * f[4] + r1[o[2] + i] * f[5];
		float d = r2[o[0] + i] * f[6] + r2[o[1] + i] * f[7] + r2[o[2] + i] * f[8];
		float v = a + c + d + b;

		yr[i] = relu && !(v > 0.0f) ? 0.0f : v;
	}
}

/* Any other filter size: the row starts at the bias and takes one tap at a time. */
static void
row_k(const float *band, size_t rl, const size_t *o, const float *f, size_t k, float b, int relu,
      float *yr, size_t wo)
{
	size_t i;

	for (i = 0; i < wo; i++)
		yr[i] = b;
	for (size_t ky = 0; ky < k; ky++)
		for (size_t kx = 0; kx < k; kx++) {
			const float *src = band + ky * rl + o[kx];
			const float t = f[ky * k + kx];

			for (i = 0; i + CNN_VN <= wo; i += CNN_VN)
				cnn_vstore(yr + i, cnn_vload(yr + i) + cnn_vload(src + i) * t);
			for (; i < wo; i++)
				yr[i] += src[i] * t;
		}
	if (!relu)
		return;
	for (i = 0; i + CNN_VN <= wo; i += CNN_VN)
		cnn_vstore(yr + i, vrelu(cnn_vload(yr + i)));
	for (; i < wo; i++)
		yr[i] = yr[i] > 0.0f ? yr[i] : 0.0f;
}

void
cnn_dw_forward(const struct cnn_layer *l, const float *x, float *y, size_t n, int relu, float *ws)
{
	const size_t c = l->in_c, hw = (size_t)l->in_h * l->in_w, wo = l->out_w;
	const size_t hwo = (size_t)l->out_h * wo, k = l->k, s = l->stride, rl = row_len(l);
	float *band = ws + 2 * k * k;
	size_t off[FM_CNN_MAX_KERNEL];

	tap_offsets(l, off);
	for (size_t pl = 0; pl < n * c; pl++) {
		const size_t ch = pl % c;
		const float *f = l->w + ch * k * k;
		const float b = l->has_bias ? l->b[ch] : 0.0f;

		for (size_t oy0 = 0; oy0 < l->out_h; oy0 += l->rows) {
			size_t oy1 = oy0 + l->rows < l->out_h ? oy0 + l->rows : l->out_h;

			fill_band(l, x + pl * hw, oy0 * s, band_rows(l, oy1 - oy0), band);
			for (size_t oy = oy0; oy < oy1; oy++) {
				const float *r = band + (oy - oy0) * s * rl;
				float *yr = y + pl * hwo + oy * wo;

				if (k == 3)
					row3(r, r + rl, r + 2 * rl, off, f, b, relu, yr, wo);
				else
					row_k(r, rl, off, f, k, b, relu, yr, wo);
			}
		}
	}
}

/* Sum of a[i] b[i] over n: eight float lanes, then a double total. */
static double
dot(const float *a, const float *b, size_t n)
{
	cnn_vf p = {0}, q = {0};
	size_t i = 0;
	double s = 0;

	for (; i + 2 * CNN_VN <= n; i += 2 * CNN_VN) {
		p += cnn_vload(a + i) * cnn_vload(b + i);
		q += cnn_vload(a + i + CNN_VN) * cnn_vload(b + i + CNN_VN);
	}
	for (; i < n; i++)
		s += (double)a[i] * b[i];
	p += q;
	return s + (double)p[0] + p[1] + p[2] + p[3];
}

/* Sum of a[i] over n, as dot's. */
static double
sum_row(const float *a, size_t n)
{
	cnn_vf p = {0}, q = {0};
	size_t i = 0;
	double s = 0;

	for (; i + 2 * CNN_VN <= n; i += 2 * CNN_VN) {
		p += cnn_vload(a + i);
		q += cnn_vload(a + i + CNN_VN);
	}
	for (; i < n; i++)
		s += a[i];
	p += q;
	return s + (double)p[0] + p[1] + p[2] + p[3];
}

/* y[i] += a x[i] over n. */
static void
axpy(float a, const float *x, float *y, size_t n)
{
	size_t i = 0;

	for (; i + CNN_VN <= n; i += CNN_VN)
		cnn_vstore(y + i, cnn_vload(y + i) + cnn_vload(x + i) * a);
	for (; i < n; i++)
		y[i] += x[i] * a;
}

void
cnn_dw_backward(const struct cnn_layer *l, const float *x, const float *dy, float *dx, size_t n,
                float *ws, float *gw, float *gb)
{
	const size_t c = l->in_c, hw = (size_t)l->in_h * l->in_w, wo = l->out_w;
	const size_t hwo = (size_t)l->out_h * wo, k = l->k, s = l->stride, rl = row_len(l);
	const size_t kk = k * k, band_floats = band_rows(l, l->rows) * rl;
	double *acc = (double *)(void *)ws; /* ws is malloc'd: aligned for double */
	float *band = ws + 2 * kk, *dband = band + band_floats;
	size_t off[FM_CNN_MAX_KERNEL];

	tap_offsets(l, off);
	if (dx != NULL)
		memset(dx, 0, n * c * hw * sizeof *dx);
	for (size_t ch = 0; ch < c; ch++) {
		const float *f = l->w + ch * kk;
		double bsum = 0;

		memset(acc, 0, kk * sizeof *acc);
		for (size_t b = 0; b < n; b++) {
			const size_t pl = b * c + ch;

			for (size_t oy0 = 0; oy0 < l->out_h; oy0 += l->rows) {
				size_t oy1 = oy0 + l->rows < l->out_h ? oy0 + l->rows : l->out_h;
				size_t nr = band_rows(l, oy1 - oy0);

				fill_band(l, x + pl * hw, oy0 * s, nr, band);
				if (dx != NULL)
					memset(dband, 0, nr * rl * sizeof *dband);
				for (size_t oy = oy0; oy < oy1; oy++) {
					const float *d = dy + pl * hwo + oy * wo;
					const size_t r = (oy - oy0) * s * rl;

					for (size_t ky = 0; ky < k; ky++)
						for (size_t kx = 0; kx < k; kx++) {
							size_t at = r + ky * rl + off[kx];

							acc[ky * k + kx] += dot(d, band + at, wo);
							if (dx != NULL)
								axpy(f[ky * k + kx], d, dband + at,
								     wo);
						}
					if (l->has_bias)
						bsum += sum_row(d, wo);
				}
				if (dx != NULL)
					drain_band(l, dband, oy0 * s, nr, dx + pl * hw);
			}
		}
		for (size_t t = 0; t < kk; t++)
			gw[ch * kk + t] = (float)acc[t];
		if (l->has_bias)
			gb[ch] = (float)bsum;
	}
}
