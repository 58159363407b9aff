/*
 * lib/cnn_layers.c: forward and backward passes of each layer over NCHW float32 batches.
 *
 * Convolution is im2col followed by cblas_sgemm (Chellapilla et al., "High performance
 * convolutional neural networks for document processing", 2006), in blocks small enough
 * for the L2 cache: several images side by side when their planes are small, so that the
 * late layers (6x6 maps) still make one wide product, or bands of output rows of one image
 * when they are large. A "same" convolution (stride 1, output as large as the input) copies
 * each kernel tap as one shifted run; a 1x1 convolution with stride 1 and no padding
 * multiplies the input directly. Batch normalisation follows Ioffe and Szegedy (2015) with
 * the biased batch variance in the normalisation and the unbiased one in the running
 * estimate, as PyTorch does. Pooling has no padding and takes the first maximum of a
 * window, as PyTorch does. Dropout is the inverted kind: kept values are scaled by
 * 1 / (1 - p) in training, so inference is the identity.
 */
#include "cnn_int.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/*
 * Floats of im2col columns per block: 256K floats (1 MiB) stay in a core's L2 cache between
 * im2col writing them and sgemm packing them. On the VGG-style benchmark net, two threads
 * with one OpenBLAS thread each, that trains at 233 images/s against 222 with 4 MiB blocks.
 * -DCOL_BUDGET_LOG2=n sets another size for experiments.
 */
#ifndef COL_BUDGET_LOG2
#define COL_BUDGET_LOG2 18
#endif
#define COL_BUDGET ((size_t)1 << COL_BUDGET_LOG2)

size_t
cnn_layer_in_size(const struct cnn_layer *l)
{
	return (size_t)l->in_c * l->in_h * l->in_w;
}

size_t
cnn_layer_out_size(const struct cnn_layer *l)
{
	return (size_t)l->out_c * l->out_h * l->out_w;
}

int
cnn_layer_in_place(const struct cnn_layer *l)
{
	/* Safe because no layer's backward reads its own output except relu's, and a later
	 * relu or dropout only zeroes or scales positive values, leaving the sign test intact
	 * wherever the gradient is not zero anyway. */
	return l->kind == CNN_RELU || l->kind == CNN_DROPOUT;
}

static int
conv_direct(const struct cnn_layer *l)
{
	return l->k == 1 && l->stride == 1 && l->pad == 0;
}

size_t
cnn_layer_plan(struct cnn_layer *l, size_t max_batch)
{
	size_t hwo, kkc, g;

	if (l->kind == CNN_DWCONV)
		return cnn_dw_plan(l);
	if (l->kind != CNN_CONV)
		return 0;
	hwo = (size_t)l->out_h * l->out_w;
	kkc = (size_t)l->in_c * l->k * l->k;
	if (conv_direct(l)) {
		l->group = 0;
		l->rows = l->out_h;
		return 0;
	}
	/* Whole images side by side when they fit the budget, else bands of rows of one. */
	g = COL_BUDGET / (kkc * hwo);
	if (g > max_batch)
		g = max_batch;
	if (g >= 1) {
		l->group = g;
		l->rows = l->out_h;
	} else {
		l->group = 1;
		l->rows = COL_BUDGET / (kkc * l->out_w);
		if (l->rows < 1)
			l->rows = 1;
		if (l->rows > l->out_h)
			l->rows = l->out_h;
	}
	/* The columns, then the block's output (or its gradient) before it is scattered. */
	return l->group * l->rows * l->out_w * (kkc + (l->group > 1 ? l->out_c : 0));
}

static double
vsum(cnn_vf a, cnn_vf b)
{
	a += b;
	return (double)a[0] + a[1] + a[2] + a[3];
}

/* Sum of n floats: eight float lanes, then a double total. */
static double
sum_f(const float *x, size_t n)
{
	cnn_vf a = {0}, b = {0};
	size_t i = 0;
	double s = 0;

	for (; i + 2 * CNN_VN <= n; i += 2 * CNN_VN) {
		a += cnn_vload(x + i);
		b += cnn_vload(x + i + CNN_VN);
	}
	for (; i < n; i++)
		s += x[i];
	return s + vsum(a, b);
}

/* Sum of (x - m)^2. */
static double
sumsq_dev(const float *x, size_t n, float m)
{
	cnn_vf a = {0}, b = {0};
	size_t i = 0;
	double s = 0;

	for (; i + 2 * CNN_VN <= n; i += 2 * CNN_VN) {
		cnn_vf d = cnn_vload(x + i) - m, e = cnn_vload(x + i + CNN_VN) - m;

		a += d * d;
		b += e * e;
	}
	for (; i < n; i++)
		s += (double)(x[i] - m) * (x[i] - m);
	return s + vsum(a, b);
}

/* Sum of a[i] * (x[i] - m). */
static double
dot_dev(const float *a, const float *x, size_t n, float m)
{
	cnn_vf p = {0}, q = {0};
	size_t i = 0;
	double s = 0;

	for (; i + 2 * CNN_VN <= n; i += 2 * CNN_VN) {
		p += cnn_vload(a + i) * (cnn_vload(x + i) - m);
		q += cnn_vload(a + i + CNN_VN) * (cnn_vload(x + i + CNN_VN) - m);
	}
	for (; i < n; i++)
		s += (double)a[i] * (x[i] - m);
	return s + vsum(p, q);
}

/* y = a x + b; y may be x. */
static void
affine(const float *x, float *y, size_t n, float a, float b)
{
	size_t i = 0;

	for (; i + CNN_VN <= n; i += CNN_VN)
		cnn_vstore(y + i, cnn_vload(x + i) * a + b);
	for (; i < n; i++)
		y[i] = x[i] * a + b;
}

/* y = max(x, 0), by masking: no branch, and -0 and NaN come out as they do in PyTorch. */
static void
relu(const float *x, float *y, size_t n)
{
	const cnn_vf z = {0};
	size_t i = 0;

	for (; i + CNN_VN <= n; i += CNN_VN) {
		cnn_vf v = cnn_vload(x + i);

		cnn_vstore(y + i, (cnn_vf)((cnn_vi)v & (v > z)));
	}
	for (; i < n; i++)
		y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* dx = dy where y > 0, else 0. */
static void
relu_grad(const float *y, const float *dy, float *dx, size_t n)
{
	const cnn_vf z = {0};
	size_t i = 0;

	for (; i + CNN_VN <= n; i += CNN_VN)
		cnn_vstore(dx + i, (cnn_vf)((cnn_vi)cnn_vload(dy + i) & (cnn_vload(y + i) > z)));
	for (; i < n; i++)
		dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* z = x * y elementwise. */
static void
mul(const float *x, const float *y, float *z, size_t n)
{
	size_t i = 0;

	for (; i + CNN_VN <= n; i += CNN_VN)
		cnn_vstore(z + i, cnn_vload(x + i) * cnn_vload(y + i));
	for (; i < n; i++)
		z[i] = x[i] * y[i];
}

/* ---- convolution ------------------------------------------------------------------- */

/* The outputs o whose input o * s + t - p lies in [0, n), for a kernel tap t: [lo, hi). */
static void
tap_range(size_t n, size_t t, size_t s, size_t p, size_t n_out, size_t *lo, size_t *hi)
{
	*lo = t >= p ? 0 : (p - t + s - 1) / s;
	*hi = n + p > t ? (n + p - t + s - 1) / s : 0;
	if (*hi > n_out)
		*hi = n_out;
	if (*lo > *hi)
		*lo = *hi;
}

/*
 * A "same" convolution (stride 1, pad (k - 1) / 2) has output planes the size of its input,
 * so every kernel tap reads the input plane shifted by a constant: one long copy per tap
 * and plane instead of one per row, and the columns that wrapped around a row edge are
 * zeroed afterwards.
 */
static int
conv_same(const struct cnn_layer *l)
{
	return l->stride == 1 && 2 * l->pad + 1 == l->k;
}

/* The shift of tap (ky, kx) in a same convolution, as an offset into the input plane. */
static ptrdiff_t
tap_shift(const struct cnn_layer *l, size_t ky, size_t kx)
{
	return ((ptrdiff_t)ky - (ptrdiff_t)l->pad) * (ptrdiff_t)l->in_w + (ptrdiff_t)kx -
	       (ptrdiff_t)l->pad;
}

/* out[i] += a[i]. */
static void
add_into(const float *a, float *out, size_t n)
{
	size_t i = 0;

	for (; i + CNN_VN <= n; i += CNN_VN)
		cnn_vstore(out + i, cnn_vload(out + i) + cnn_vload(a + i));
	for (; i < n; i++)
		out[i] += a[i];
}

/* Zero the columns [0, lo) and [hi, w) of rows [y0, y1) of a plane w wide. */
static void
zero_margins(float *plane, size_t w, size_t y0, size_t y1, size_t lo, size_t hi)
{
	for (size_t y = y0; y < y1; y++) {
		float *r = plane + y * w;

		/* The usual margin is one column (3x3, pad 1): a store, not a memset call. */
		if (lo == 1)
			r[0] = 0.0f;
		else if (lo > 1)
			memset(r, 0, lo * sizeof *r);
		if (hi + 1 == w)
			r[hi] = 0.0f;
		else if (hi < w)
			memset(r + hi, 0, (w - hi) * sizeof *r);
	}
}

/*
 * Columns of output rows [oy0, oy1) of one image: row (ci, ky, kx) of col (ld floats
 * apart), column (oy - oy0) * out_w + ox, holding x[ci][oy * stride - pad + ky][ox * stride
 * - pad + kx], or 0 in the padding.
 */
static void
im2col(const struct cnn_layer *l, const float *x, size_t oy0, size_t oy1, float *col, size_t ld)
{
	const size_t w = l->in_w, h = l->in_h, k = l->k, s = l->stride, p = l->pad;
	const size_t wo = l->out_w, hw = h * w, n = (oy1 - oy0) * wo;
	const int same = conv_same(l);

	for (size_t ci = 0; ci < l->in_c; ci++)
		for (size_t ky = 0; ky < k; ky++)
			for (size_t kx = 0; kx < k; kx++) {
				const float *src = x + ci * hw;
				float *d = col + ((ci * k + ky) * k + kx) * ld;
				size_t lo, hi, y0, y1;

				tap_range(w, kx, s, p, wo, &lo, &hi);
				tap_range(h, ky, s, p, l->out_h, &y0, &y1);
				y0 = y0 < oy0 ? oy0 : y0 > oy1 ? oy1 : y0;
				y1 = y1 > oy1 ? oy1 : y1 < y0 ? y0 : y1;
				if (y0 == y1 || lo == hi) {
					memset(d, 0, n * sizeof *d);
					continue;
				}
				if (same) {
					size_t a = (y0 - oy0) * w + lo, e = (y1 - 1 - oy0) * w + hi;

					memset(d, 0, a * sizeof *d);
					memcpy(d + a,
					       src + tap_shift(l, ky, kx) +
					           (ptrdiff_t)(oy0 * w + a),
					       (e - a) * sizeof *d);
					memset(d + e, 0, (n - e) * sizeof *d);
					zero_margins(d, w, y0 - oy0, y1 - oy0, lo, hi);
					continue;
				}
				memset(d, 0, (y0 - oy0) * wo * sizeof *d);
				for (size_t oy = y0; oy < y1; oy++) {
					const float *sr = src + (oy * s + ky - p) * w;
					float *dr = d + (oy - oy0) * wo;

					memset(dr, 0, lo * sizeof *dr);
					if (s == 1)
						memcpy(dr + lo, sr + (lo + kx - p),
						       (hi - lo) * sizeof *dr);
					else
						for (size_t ox = lo; ox < hi; ox++)
							dr[ox] = sr[ox * s + kx - p];
					memset(dr + hi, 0, (wo - hi) * sizeof *dr);
				}
				memset(d + (y1 - oy0) * wo, 0, (oy1 - y1) * wo * sizeof *d);
			}
}

/*
 * The adjoint of im2col: add every column entry of output rows [oy0, oy1) into its source
 * in dx (one image). The entries that im2col leaves 0 (padding) are overwritten with 0
 * here, so col is scratch.
 */
static void
col2im(const struct cnn_layer *l, float *col, size_t ld, size_t oy0, size_t oy1, float *dx)
{
	const size_t w = l->in_w, h = l->in_h, k = l->k, s = l->stride, p = l->pad;
	const size_t wo = l->out_w, hw = h * w;
	const int same = conv_same(l);

	for (size_t ci = 0; ci < l->in_c; ci++)
		for (size_t ky = 0; ky < k; ky++)
			for (size_t kx = 0; kx < k; kx++) {
				float *r = col + ((ci * k + ky) * k + kx) * ld;
				float *dst = dx + ci * hw;
				size_t lo, hi, y0, y1;

				tap_range(w, kx, s, p, wo, &lo, &hi);
				tap_range(h, ky, s, p, l->out_h, &y0, &y1);
				y0 = y0 < oy0 ? oy0 : y0 > oy1 ? oy1 : y0;
				y1 = y1 > oy1 ? oy1 : y1 < y0 ? y0 : y1;
				if (y0 == y1 || lo == hi)
					continue;
				if (same) {
					size_t a = (y0 - oy0) * w + lo, e = (y1 - 1 - oy0) * w + hi;

					/* The wrapped entries belong to no input: drop them, so
					 * that the block adds as one run. */
					zero_margins(r, w, y0 - oy0, y1 - oy0, lo, hi);
					add_into(r + a,
					         dst + tap_shift(l, ky, kx) +
					             (ptrdiff_t)(oy0 * w + a),
					         e - a);
					continue;
				}
				for (size_t oy = y0; oy < y1; oy++) {
					const float *sr = r + (oy - oy0) * wo;
					float *d = dst + (oy * s + ky - p) * w;

					if (s == 1)
						add_into(sr + lo, d + (lo + kx - p), hi - lo);
					else
						for (size_t ox = lo; ox < hi; ox++)
							d[ox * s + kx - p] += sr[ox];
				}
			}
}

/* Per output channel c, over rows of a block, y[c] = src[c] + bias[c]; y and src are
 * n floats long per channel and ld_y, ld_src apart. */
static void
put_bias(const float *src, size_t ld_src, float *y, size_t ld_y, size_t c, size_t n,
         const float *bias)
{
	for (size_t i = 0; i < c; i++)
		affine(src + i * ld_src, y + i * ld_y, n, 1.0f, bias != NULL ? bias[i] : 0.0f);
}

/*
 * A conv block is g images side by side (g = l->group > 1: small planes) or output rows
 * [oy0, oy1) of one image (large planes); its im2col has ld = g * (oy1 - oy0) * out_w
 * columns.
 */
static void
conv_forward(const struct cnn_layer *l, const float *x, float *y, size_t n, float *ws)
{
	const size_t hwo = (size_t)l->out_h * l->out_w, co = l->out_c, wo = l->out_w;
	const size_t chw = cnn_layer_in_size(l), kkc = (size_t)l->in_c * l->k * l->k;
	const float *bias = l->has_bias ? l->b : NULL;

	if (l->group == 0) {
		for (size_t b = 0; b < n; b++) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co, (int)hwo,
			            (int)kkc, 1.0f, l->w, (int)kkc, x + b * chw, (int)hwo, 0.0f,
			            y + b * co * hwo, (int)hwo);
			if (bias != NULL)
				put_bias(y + b * co * hwo, hwo, y + b * co * hwo, hwo, co, hwo,
				         bias);
		}
		return;
	}
	for (size_t b0 = 0; b0 < n; b0 += l->group) {
		size_t g = n - b0 < l->group ? n - b0 : l->group;

		for (size_t oy0 = 0; oy0 < l->out_h; oy0 += l->rows) {
			size_t oy1 = oy0 + l->rows < l->out_h ? oy0 + l->rows : l->out_h;
			size_t ld = g * (oy1 - oy0) * wo;
			float *col = ws, *tmp = ws + kkc * ld;

			for (size_t b = 0; b < g; b++)
				im2col(l, x + (b0 + b) * chw, oy0, oy1, col + b * hwo, ld);
			if (g == 1) {
				float *yb = y + b0 * co * hwo + oy0 * wo;

				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co,
				            (int)ld, (int)kkc, 1.0f, l->w, (int)kkc, col, (int)ld,
				            0.0f, yb, (int)hwo);
				if (bias != NULL)
					put_bias(yb, hwo, yb, hwo, co, ld, bias);
				continue;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co, (int)ld,
			            (int)kkc, 1.0f, l->w, (int)kkc, col, (int)ld, 0.0f, tmp,
			            (int)ld);
			/* tmp is [co][g][hwo]; y wants [g][co][hwo]. */
			for (size_t b = 0; b < g; b++)
				put_bias(tmp + b * hwo, ld, y + (b0 + b) * co * hwo, hwo, co, hwo,
				         bias);
		}
	}
}

static void
row_sums_add(const float *a, size_t rows, size_t cols, size_t ld, float *out)
{
	for (size_t r = 0; r < rows; r++)
		out[r] += (float)sum_f(a + r * ld, cols);
}

static void
conv_backward(const struct cnn_layer *l, const float *x, const float *dy, float *dx, size_t n,
              float *ws, float *gw, float *gb)
{
	const size_t hwo = (size_t)l->out_h * l->out_w, co = l->out_c, wo = l->out_w;
	const size_t chw = cnn_layer_in_size(l), kkc = (size_t)l->in_c * l->k * l->k;
	int first = 1;

	if (l->has_bias)
		memset(gb, 0, co * sizeof *gb);
	if (l->group == 0) {
		for (size_t b = 0; b < n; b++) {
			const float *d = dy + b * co * hwo;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)co, (int)kkc,
			            (int)hwo, 1.0f, d, (int)hwo, x + b * chw, (int)hwo,
			            b == 0 ? 0.0f : 1.0f, gw, (int)kkc);
			if (l->has_bias)
				row_sums_add(d, co, hwo, hwo, gb);
			if (dx != NULL)
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kkc,
				            (int)hwo, (int)co, 1.0f, l->w, (int)kkc, d, (int)hwo,
				            0.0f, dx + b * chw, (int)hwo);
		}
		return;
	}
	for (size_t b0 = 0; b0 < n; b0 += l->group) {
		size_t g = n - b0 < l->group ? n - b0 : l->group;

		if (dx != NULL)
			memset(dx + b0 * chw, 0, g * chw * sizeof *dx);
		for (size_t oy0 = 0; oy0 < l->out_h; oy0 += l->rows) {
			size_t oy1 = oy0 + l->rows < l->out_h ? oy0 + l->rows : l->out_h;
			size_t ld = g * (oy1 - oy0) * wo, ldd;
			float *col = ws, *tmp = ws + kkc * ld;
			const float *d;

			for (size_t b = 0; b < g; b++)
				im2col(l, x + (b0 + b) * chw, oy0, oy1, col + b * hwo, ld);
			if (g == 1) {
				d = dy + b0 * co * hwo + oy0 * wo;
				ldd = hwo;
			} else {
				for (size_t b = 0; b < g; b++)
					for (size_t c = 0; c < co; c++)
						memcpy(tmp + c * ld + b * hwo,
						       dy + ((b0 + b) * co + c) * hwo,
						       hwo * sizeof *tmp);
				d = tmp;
				ldd = ld;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)co, (int)kkc,
			            (int)ld, 1.0f, d, (int)ldd, col, (int)ld, first ? 0.0f : 1.0f,
			            gw, (int)kkc);
			first = 0;
			if (l->has_bias)
				row_sums_add(d, co, ld, ldd, gb);
			if (dx == NULL)
				continue;
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kkc, (int)ld,
			            (int)co, 1.0f, l->w, (int)kkc, d, (int)ldd, 0.0f, col, (int)ld);
			for (size_t b = 0; b < g; b++)
				col2im(l, col + b * hwo, ld, oy0, oy1, dx + (b0 + b) * chw);
		}
	}
}

/* ---- batch normalisation ----------------------------------------------------------- */

static void
sync(const struct cnn_ctx *c)
{
	if (c->n_threads > 1)
		pthread_barrier_wait(c->barrier);
}

/* This thread's share [*lo, *hi) of n channels. */
static void
share(const struct cnn_ctx *c, size_t n, size_t *lo, size_t *hi)
{
	*lo = n * c->tid / c->n_threads;
	*hi = n * (c->tid + 1) / c->n_threads;
}

/*
 * Training statistics come in two steps, so that threads can share the batch and still get
 * the same numbers as one thread: each sample's plane gives its sum s1 and its squared
 * deviations s2 from its own rounded mean m (a second pass over a plane still in cache),
 * then the owner of a channel combines the planes in sample order with Chan et al.'s
 * update, M2 = sum of s2 + 2 (m - mean)(s1 - hw m) + hw (m - mean)^2, exact in algebra and
 * free of the cancellation of E[x^2] - mean^2.
 */
static void
bn_forward(struct cnn_layer *l, const float *x, float *y, int training, const struct cnn_ctx *cx)
{
	const size_t c = l->in_c, hw = (size_t)l->in_h * l->in_w, b0 = cx->b0;
	size_t lo, hi;

	if (training) {
		const double count = (double)cx->n_batch * hw;

		for (size_t b = b0; b < b0 + cx->n; b++)
			for (size_t ch = 0; ch < c; ch++) {
				const float *xs = x + (b * c + ch) * hw;
				double *pt = l->part + 2 * (b * c + ch);

				pt[0] = sum_f(xs, hw);
				pt[1] = sumsq_dev(xs, hw, (float)(pt[0] / (double)hw));
			}
		sync(cx);
		share(cx, c, &lo, &hi);
		for (size_t ch = lo; ch < hi; ch++) {
			double s = 0, m2 = 0, mean, var;

			for (size_t b = 0; b < cx->n_batch; b++)
				s += l->part[2 * (b * c + ch)];
			mean = s / count;
			for (size_t b = 0; b < cx->n_batch; b++) {
				const double *pt = l->part + 2 * (b * c + ch);
				double m = (float)(pt[0] / (double)hw), d = m - mean;

				m2 += pt[1] + 2 * d * (pt[0] - (double)hw * m) + (double)hw * d * d;
			}
			var = m2 > 0 ? m2 / count : 0;
			l->mean[ch] = (float)mean;
			l->invstd[ch] = (float)(1.0 / sqrt(var + l->eps));
			l->run_mean[ch] =
			    (float)((1 - l->momentum) * l->run_mean[ch] + l->momentum * mean);
			l->run_var[ch] =
			    (float)((1 - l->momentum) * l->run_var[ch] +
			            l->momentum * (count > 1 ? m2 / (count - 1) : var));
		}
		sync(cx);
	}
	for (size_t ch = 0; ch < c; ch++) {
		float mean, invstd, scale, shift;

		if (training) {
			mean = l->mean[ch];
			invstd = l->invstd[ch];
		} else {
			mean = l->run_mean[ch];
			invstd = (float)(1.0 / sqrt((double)l->run_var[ch] + l->eps));
		}
		scale = l->w[ch] * invstd;
		shift = l->b[ch] - mean * scale;
		for (size_t b = b0; b < b0 + cx->n; b++)
			affine(x + (b * c + ch) * hw, y + (b * c + ch) * hw, hw, scale, shift);
	}
}

static void
bn_backward(const struct cnn_layer *l, const float *x, const float *dy, float *dx,
            const struct cnn_ctx *cx)
{
	const size_t c = l->in_c, hw = (size_t)l->in_h * l->in_w, b0 = cx->b0;
	const double count = (double)cx->n_batch * hw;
	size_t lo, hi;

	for (size_t b = b0; b < b0 + cx->n; b++)
		for (size_t ch = 0; ch < c; ch++) {
			const float *d = dy + (b * c + ch) * hw;
			double *pt = l->part + 2 * (b * c + ch);

			pt[0] = sum_f(d, hw);
			pt[1] = dot_dev(d, x + (b * c + ch) * hw, hw, l->mean[ch]);
		}
	sync(cx);
	share(cx, c, &lo, &hi);
	for (size_t ch = lo; ch < hi; ch++) {
		double sdy = 0, sdyx = 0, invstd = l->invstd[ch], a, k;

		for (size_t b = 0; b < cx->n_batch; b++) {
			sdy += l->part[2 * (b * c + ch)];
			sdyx += l->part[2 * (b * c + ch) + 1];
		}
		/* dgamma = sum dy xhat, dbeta = sum dy; then dx = gamma invstd (dy - mean(dy) -
		 * xhat mean(dy xhat)), written as a dy + k x + o. */
		l->gw[ch] = (float)(sdyx * invstd);
		l->gb[ch] = (float)sdy;
		a = (double)l->w[ch] * invstd;
		k = -a * invstd * invstd * sdyx / count;
		l->coef[3 * ch] = (float)a;
		l->coef[3 * ch + 1] = (float)k;
		l->coef[3 * ch + 2] = (float)(-a * sdy / count - k * l->mean[ch]);
	}
	if (dx == NULL)
		return;
	sync(cx);
	for (size_t b = b0; b < b0 + cx->n; b++)
		for (size_t ch = 0; ch < c; ch++) {
			const float *d = dy + (b * c + ch) * hw, *xs = x + (b * c + ch) * hw;
			const float fa = l->coef[3 * ch], fk = l->coef[3 * ch + 1];
			const float fo = l->coef[3 * ch + 2];
			float *ds = dx + (b * c + ch) * hw;
			size_t i = 0;

			for (; i + CNN_VN <= hw; i += CNN_VN)
				cnn_vstore(ds + i,
				           cnn_vload(d + i) * fa + cnn_vload(xs + i) * fk + fo);
			for (; i < hw; i++)
				ds[i] = fa * d[i] + fk * xs[i] + fo;
		}
}

/* ---- pooling ----------------------------------------------------------------------- */

/* Even (odd 0) or odd (odd 1) lanes of the eight floats a, b. */
static inline cnn_vf
lanes2(cnn_vf a, cnn_vf b, int odd)
{
#if defined(__clang__)
	return odd ? __builtin_shufflevector(a, b, 1, 3, 5, 7)
	           : __builtin_shufflevector(a, b, 0, 2, 4, 6);
#else
	return odd ? __builtin_shuffle(a, b, (cnn_vi){1, 3, 5, 7})
	           : __builtin_shuffle(a, b, (cnn_vi){0, 2, 4, 6});
#endif
}

/* Where mask (all ones or zero a lane) is set, v, else m; as bits, so floats pass whole. */
static inline cnn_vi
pick(cnn_vi mask, cnn_vi v, cnn_vi m)
{
	return (v & mask) | (m & ~mask);
}

/*
 * The 2x2 stride-2 window of every VGG stage, four windows at a time in selects rather
 * than branches (which the random signs mispredict): the same scan order and strict
 * comparisons as the general loop, so the same maximum and the same first argmax, ties
 * and NaNs included.
 */
static void
maxpool2_forward(const float *x, float *y, size_t planes, size_t h, size_t w, size_t ho, size_t wo,
                 uint32_t *arg)
{
	for (size_t pl = 0; pl < planes; pl++)
		for (size_t oy = 0; oy < ho; oy++) {
			const float *r0 = x + pl * h * w + 2 * oy * w, *r1 = r0 + w;
			float *ys = y + (pl * ho + oy) * wo;
			uint32_t *as = arg + (pl * ho + oy) * wo;
			const int32_t i0 = (int32_t)(2 * oy * w), i2 = i0 + (int32_t)w;
			size_t ox = 0;

			for (; ox + CNN_VN <= wo; ox += CNN_VN) {
				const cnn_vf p0 = cnn_vload(r0 + 2 * ox),
				             p1 = cnn_vload(r0 + 2 * ox + 4);
				const cnn_vf q0 = cnn_vload(r1 + 2 * ox),
				             q1 = cnn_vload(r1 + 2 * ox + 4);
				const cnn_vf a = lanes2(p0, p1, 0), b = lanes2(p0, p1, 1);
				const cnn_vf c = lanes2(q0, q1, 0), d = lanes2(q0, q1, 1);
				const int32_t j = (int32_t)(2 * ox);
				const cnn_vi top = (cnn_vi){0, 2, 4, 6} + i0 + j;
				const cnn_vi bot = (cnn_vi){0, 2, 4, 6} + i2 + j;
				cnn_vi m = (cnn_vi)a, best = top, k;

				k = b > (cnn_vf)m;
				best = pick(k, top + 1, best);
				m = pick(k, (cnn_vi)b, m);
				k = c > (cnn_vf)m;
				best = pick(k, bot, best);
				m = pick(k, (cnn_vi)c, m);
				k = d > (cnn_vf)m;
				best = pick(k, bot + 1, best);
				m = pick(k, (cnn_vi)d, m);
				cnn_vstore(ys + ox, (cnn_vf)m);
				memcpy(as + ox, &best, sizeof best);
			}
			for (; ox < wo; ox++) {
				const float *t = r0 + 2 * ox, *u = r1 + 2 * ox;
				uint32_t best = (uint32_t)(i0 + (int32_t)(2 * ox));
				float m = t[0];

				if (t[1] > m) {
					m = t[1];
					best = (uint32_t)(i0 + (int32_t)(2 * ox) + 1);
				}
				if (u[0] > m) {
					m = u[0];
					best = (uint32_t)(i2 + (int32_t)(2 * ox));
				}
				if (u[1] > m) {
					m = u[1];
					best = (uint32_t)(i2 + (int32_t)(2 * ox) + 1);
				}
				ys[ox] = m;
				as[ox] = best;
			}
		}
}

static void
maxpool_forward(const struct cnn_layer *l, const float *x, float *y, size_t n, uint32_t *arg)
{
	const size_t h = l->in_h, w = l->in_w, ho = l->out_h, wo = l->out_w;
	const size_t k = l->k, s = l->stride, planes = n * l->in_c;

	if (k == 2 && s == 2 && arg != NULL) {
		maxpool2_forward(x, y, planes, h, w, ho, wo, arg);
		return;
	}
	for (size_t pl = 0; pl < planes; pl++) {
		const float *xs = x + pl * h * w;
		float *ys = y + pl * ho * wo;
		uint32_t *as = arg != NULL ? arg + pl * ho * wo : NULL;

		for (size_t oy = 0; oy < ho; oy++)
			for (size_t ox = 0; ox < wo; ox++) {
				size_t best = oy * s * w + ox * s;
				float m = xs[best];

				for (size_t ky = 0; ky < k; ky++)
					for (size_t kx = 0; kx < k; kx++) {
						size_t i = (oy * s + ky) * w + ox * s + kx;

						if (xs[i] > m) {
							m = xs[i];
							best = i;
						}
					}
				ys[oy * wo + ox] = m;
				if (as != NULL)
					as[oy * wo + ox] = (uint32_t)best;
			}
	}
}

static void
maxpool_backward(const struct cnn_layer *l, const uint32_t *arg, const float *dy, float *dx,
                 size_t n)
{
	const size_t hw = (size_t)l->in_h * l->in_w, hwo = (size_t)l->out_h * l->out_w;
	const size_t planes = n * l->in_c;

	memset(dx, 0, planes * hw * sizeof *dx);
	for (size_t pl = 0; pl < planes; pl++) {
		const uint32_t *as = arg + pl * hwo;
		const float *ds = dy + pl * hwo;
		float *d = dx + pl * hw;

		for (size_t i = 0; i < hwo; i++)
			d[as[i]] += ds[i];
	}
}

static void
avgpool_forward(const struct cnn_layer *l, const float *x, float *y, size_t n)
{
	const size_t h = l->in_h, w = l->in_w, ho = l->out_h, wo = l->out_w;
	const size_t k = l->k, s = l->stride, planes = n * l->in_c;
	const float inv = 1.0f / (float)(k * k);

	for (size_t pl = 0; pl < planes; pl++) {
		const float *xs = x + pl * h * w;
		float *ys = y + pl * ho * wo;

		for (size_t oy = 0; oy < ho; oy++)
			for (size_t ox = 0; ox < wo; ox++) {
				float a = 0;

				for (size_t ky = 0; ky < k; ky++)
					for (size_t kx = 0; kx < k; kx++)
						a += xs[(oy * s + ky) * w + ox * s + kx];
				ys[oy * wo + ox] = a * inv;
			}
	}
}

static void
avgpool_backward(const struct cnn_layer *l, const float *dy, float *dx, size_t n)
{
	const size_t h = l->in_h, w = l->in_w, ho = l->out_h, wo = l->out_w;
	const size_t k = l->k, s = l->stride, planes = n * l->in_c;
	const float inv = 1.0f / (float)(k * k);

	memset(dx, 0, planes * h * w * sizeof *dx);
	for (size_t pl = 0; pl < planes; pl++) {
		const float *ds = dy + pl * ho * wo;
		float *d = dx + pl * h * w;

		for (size_t oy = 0; oy < ho; oy++)
			for (size_t ox = 0; ox < wo; ox++) {
				float v = ds[oy * wo + ox] * inv;

				for (size_t ky = 0; ky < k; ky++)
					for (size_t kx = 0; kx < k; kx++)
						d[(oy * s + ky) * w + ox * s + kx] += v;
			}
	}
}

static void
gap_forward(const struct cnn_layer *l, const float *x, float *y, size_t n)
{
	const size_t hw = (size_t)l->in_h * l->in_w, planes = n * l->in_c;

	for (size_t pl = 0; pl < planes; pl++)
		y[pl] = (float)(sum_f(x + pl * hw, hw) / (double)hw);
}

static void
gap_backward(const struct cnn_layer *l, const float *dy, float *dx, size_t n)
{
	const size_t hw = (size_t)l->in_h * l->in_w, planes = n * l->in_c;
	const float inv = 1.0f / (float)hw;

	for (size_t pl = 0; pl < planes; pl++) {
		float v = dy[pl] * inv;

		for (size_t i = 0; i < hw; i++)
			dx[pl * hw + i] = v;
	}
}

/* ---- dropout, relu, dense ---------------------------------------------------------- */

/*
 * Each sample's mask comes from its own generator, seeded by the forward's seed, the layer
 * and the sample, so that masks do not depend on how threads share the batch. 24 random
 * bits per element give a float in [0, 1) with every value equally likely.
 */
static void
dropout_forward(struct cnn_layer *l, const float *x, float *y, size_t n, int training,
                const struct cnn_ctx *cx)
{
	const size_t m = cnn_layer_in_size(l);
	float *mask = l->mask != NULL ? l->mask + cx->b0 * m : NULL;

	if (!training || l->p == 0.0f) {
		if (y != x)
			memcpy(y, x, n * m * sizeof *y);
		if (training)
			for (size_t i = 0; i < n * m; i++)
				mask[i] = 1.0f;
		return;
	}
	const float keep = 1.0f / (1.0f - l->p);

	for (size_t b = 0; b < n; b++) {
		struct fm_rng rng;

		fm_rng_seed(&rng, cx->drop_seed ^ (uint64_t)(l->index + 1) << 40 ^ (cx->b0 + b));
		for (size_t i = b * m; i < (b + 1) * m; i++) {
			float u = (float)(fm_rng_next(&rng) >> 40) * 0x1.0p-24f;

			mask[i] = u >= l->p ? keep : 0.0f;
			y[i] = x[i] * mask[i];
		}
	}
}

static void
dense_forward(const struct cnn_layer *l, const float *x, float *y, size_t n)
{
	const size_t in = cnn_layer_in_size(l), out = l->out_c;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, 1.0f, x,
	            (int)in, l->w, (int)in, 0.0f, y, (int)out);
	for (size_t b = 0; b < n; b++)
		for (size_t j = 0; j < out; j++)
			y[b * out + j] += l->b[j];
}

static void
dense_backward(const struct cnn_layer *l, const float *x, const float *dy, float *dx, size_t n,
               float *gw, float *gb)
{
	const size_t in = cnn_layer_in_size(l), out = l->out_c;

	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)n, 1.0f, dy,
	            (int)out, x, (int)in, 0.0f, gw, (int)in);
	for (size_t j = 0; j < out; j++) {
		double s = 0;

		for (size_t b = 0; b < n; b++)
			s += dy[b * out + j];
		gb[j] = (float)s;
	}
	if (dx != NULL)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in, (int)out,
		            1.0f, dy, (int)out, l->w, (int)in, 0.0f, dx, (int)in);
}

void
cnn_layer_forward(struct cnn_layer *l, const float *x, float *y, int training,
                  const struct cnn_ctx *c)
{
	const size_t in = cnn_layer_in_size(l), out = cnn_layer_out_size(l), n = c->n;
	const float *xs = x + c->b0 * in;
	float *ys = y + c->b0 * out;

	switch (l->kind) {
	case CNN_CONV:
		if (training && l->wino && l->wt != NULL) {
			size_t lo, hi;

			/* The filters' transform, shared out by output channel. */
			share(c, l->out_c, &lo, &hi);
			cnn_wino_filters(l, lo, hi);
			sync(c);
			cnn_wino_forward(l, xs, ys, n, c->ws);
			break;
		}
		conv_forward(l, xs, ys, n, c->ws);
		break;
	case CNN_DWCONV:
		cnn_dw_forward(l, xs, ys, n, 0, c->ws);
		break;
	case CNN_BN:
		bn_forward(l, x, y, training, c);
		break;
	case CNN_RELU:
		relu(xs, ys, n * in);
		break;
	case CNN_MAXPOOL:
		maxpool_forward(l, xs, ys, n, training ? l->argmax + c->b0 * out : NULL);
		break;
	case CNN_AVGPOOL:
		avgpool_forward(l, xs, ys, n);
		break;
	case CNN_GAP:
		gap_forward(l, xs, ys, n);
		break;
	case CNN_DROPOUT:
		dropout_forward(l, xs, ys, n, training, c);
		break;
	case CNN_DENSE:
		dense_forward(l, xs, ys, n);
		break;
	}
}

void
cnn_layer_backward(struct cnn_layer *l, const float *x, const float *y, const float *dy, float *dx,
                   const struct cnn_ctx *c)
{
	const size_t in = cnn_layer_in_size(l), out = cnn_layer_out_size(l), n = c->n;
	const float *xs = x + c->b0 * in, *ys = y + c->b0 * out, *dys = dy + c->b0 * out;
	float *dxs = dx != NULL ? dx + c->b0 * in : NULL;
	/* This thread's share of the conv and dense gradients, summed after the pass. */
	float *gw = l->gw != NULL ? c->grads + (l->gw - c->grads0) : NULL;
	float *gb = l->gb != NULL ? c->grads + (l->gb - c->grads0) : NULL;

	switch (l->kind) {
	case CNN_CONV:
		/* After a training forward: wt holds the transform of the filters still. */
		if (l->wino && l->wt != NULL)
			cnn_wino_backward(l, xs, dys, dxs, n, c->ws, gw, gb);
		else
			conv_backward(l, xs, dys, dxs, n, c->ws, gw, gb);
		break;
	case CNN_DWCONV:
		cnn_dw_backward(l, xs, dys, dxs, n, c->ws, gw, gb);
		break;
	case CNN_BN:
		bn_backward(l, x, dy, dx, c);
		break;
	case CNN_RELU:
		if (dxs != NULL)
			relu_grad(ys, dys, dxs, n * in);
		break;
	case CNN_MAXPOOL:
		if (dxs != NULL)
			maxpool_backward(l, l->argmax + c->b0 * out, dys, dxs, n);
		break;
	case CNN_AVGPOOL:
		if (dxs != NULL)
			avgpool_backward(l, dys, dxs, n);
		break;
	case CNN_GAP:
		if (dxs != NULL)
			gap_backward(l, dys, dxs, n);
		break;
	case CNN_DROPOUT:
		if (dxs != NULL)
			mul(dys, l->mask + c->b0 * in, dxs, n * in);
		break;
	case CNN_DENSE:
		dense_backward(l, xs, dys, dxs, n, gw, gb);
		break;
	}
}

void
cnn_layer_im2col(const struct cnn_layer *l, const float *x, size_t oy0, size_t oy1, float *col,
                 size_t ld)
{
	im2col(l, x, oy0, oy1, col, ld);
}
