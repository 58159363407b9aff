/*
 * lib/cnn_wino.c: 3x3 convolutions of stride 1 and padding 1 in training by Winograd's
 * minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast algorithms for convolutional neural
 * networks", 2016): each 2x2 block of outputs is A^T [(G g G^T) . (B^T d B)] A over the 4x4
 * input tile d around it, so the 36 multiplications per block and channel pair of the
 * plain convolution become 16, done as 16 products (one per tile position) over a block of
 * tiles and every channel, each a cblas_sgemm. The backward passes are the same algebra
 * read the other way: the input's gradient is the convolution of the output's gradient
 * with the filter turned by 180 degrees, whose transform is G g G^T with its first and last
 * rows and columns swapped, so it reuses the forward's transformed filter; the filter's
 * gradient is G^T [sum over tiles (A dY A^T) . (B^T d B)] G, exact in algebra.
 *
 * Tiles run over the thread's samples as one sequence (image, tile row, tile column), in
 * blocks whose transformed inputs and outputs together fit the block budget. Planes of odd
 * size get a last row or column of tiles half outside: those outputs are not written, and
 * their gradient counts as 0. Inference keeps the plain path (lib/cnn_infer.c), whose
 * results fer-classify and fer-train --eval share to the bit.
 */
#include "cnn_int.h"

#include <cblas.h>
#include <string.h>

/*
 * Floats of transformed inputs and outputs per block: 512K floats (2 MiB). Blocks of the
 * deep layers (256 channels in and out) are then 64 tiles, products of 256 x 64 x 256.
 */
#ifndef WINO_BUDGET_LOG2
#define WINO_BUDGET_LOG2 19
#endif
#define WINO_BUDGET ((size_t)1 << WINO_BUDGET_LOG2)
#define WINO_MIN_TILES 32

/* Input channels below which the plain path stays: a product over 1 to 7 channels is a
 * poor sgemm, and the first layer of a network (1 channel) is a small share of its work. */
#define WINO_MIN_IN 8

int
cnn_wino_shape(const struct cnn_layer *l)
{
	return l->kind == CNN_CONV && l->k == 3 && l->stride == 1 && l->pad == 1;
}

/*
 * Floats from one tile position's rows to the next in a block of nt tiles of c channels:
 * a cache line more than c nt, so that the 16 rows a transform writes side by side do not
 * all fall into one set of the L1 cache when c nt is a power of 2.
 */
static size_t
slab(size_t c, size_t nt)
{
	return c * nt + 16;
}

static size_t
tiles_per_image(const struct cnn_layer *l)
{
	return (size_t)((l->out_h + 1) / 2) * ((l->out_w + 1) / 2);
}

static size_t
pad_floats(const struct cnn_layer *l)
{
	/* The padded plane, and the 2 floats tile_in4 may read past its last row. */
	return (size_t)(2 * ((l->out_h + 1) / 2) + 2) * (2 * ((l->out_w + 1) / 2) + 2) + 4;
}

size_t
cnn_wino_plan(struct cnn_layer *l, size_t max_batch)
{
	size_t ci = l->in_c, co = l->out_c, all = tiles_per_image(l) * max_batch, t;

	if (!cnn_wino_shape(l))
		return 0;
	l->wino = ci >= WINO_MIN_IN;
	t = WINO_BUDGET / (16 * (ci + co));
	if (t < WINO_MIN_TILES)
		t = WINO_MIN_TILES;
	if (t > all)
		t = all;
	l->wtiles = t;
	/* A block's transformed inputs and outputs, the filter gradient's transform and a
	 * padded plane. */
	return 16 * (slab(ci, t) + slab(co, t)) + 16 * ci * co + pad_floats(l);
}

size_t
cnn_wino_filter_floats(const struct cnn_layer *l)
{
	return cnn_wino_shape(l) ? 16 * (size_t)l->in_c * l->out_c : 0;
}

/* U = G g G^T of one 3x3 filter into 16 positions, `stride` floats apart. */
static void
filter_transform(const float *g, float *u, size_t stride)
{
	float t[4][3];

	for (int j = 0; j < 3; j++) {
		t[0][j] = g[j];
		t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
		t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
		t[3][j] = g[6 + j];
	}
	for (int i = 0; i < 4; i++) {
		u[(4 * i) * stride] = t[i][0];
		u[(4 * i + 1) * stride] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
		u[(4 * i + 2) * stride] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
		u[(4 * i + 3) * stride] = t[i][2];
	}
}

/* dg = G^T dU G, the adjoint of filter_transform. */
static void
filter_transform_adjoint(const float *u, size_t stride, float *g)
{
	float r[3][4], v[4][4];

	for (int p = 0; p < 16; p++)
		v[p / 4][p % 4] = u[p * stride];
	for (int j = 0; j < 4; j++) {
		r[0][j] = v[0][j] + 0.5f * (v[1][j] + v[2][j]);
		r[1][j] = 0.5f * (v[1][j] - v[2][j]);
		r[2][j] = 0.5f * (v[1][j] + v[2][j]) + v[3][j];
	}
	for (int i = 0; i < 3; i++) {
		g[3 * i] = r[i][0] + 0.5f * (r[i][1] + r[i][2]);
		g[3 * i + 1] = 0.5f * (r[i][1] - r[i][2]);
		g[3 * i + 2] = 0.5f * (r[i][1] + r[i][2]) + r[i][3];
	}
}

void
cnn_wino_filters(struct cnn_layer *l, size_t co0, size_t co1)
{
	const size_t ci = l->in_c, co = l->out_c;

	for (size_t o = co0; o < co1; o++)
		for (size_t i = 0; i < ci; i++)
			filter_transform(l->w + (o * ci + i) * 9, l->wt + o * ci + i, co * ci);
}

#if defined(__clang__)
#define SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, (cnn_vi){i, j, k, l})
#endif

/*
 * The tiles of a block, [t0, t0 + nt) of the sequence, come in runs within one image:
 * image *b, its tiles [*ra, *rb) (row-major over its th x tw tiles), from tile t on.
 */
static void
run_at(size_t t, size_t t_end, size_t tpi, size_t *b, size_t *ra, size_t *rb)
{
	*b = t / tpi;
	*ra = t % tpi;
	*rb = *ra + (t_end - t) < tpi ? *ra + (t_end - t) : tpi;
}

/*
 * Rows [r0, r1) of a plane h x w padded by a row and column of zeros before it and enough
 * after for whole tiles: padded row R, column C hold the plane's R - 1, C - 1; pw wide.
 * Rows are short (6 to 48 floats here): copied in the loop, not by a memcpy call each.
 */
static void
pad_rows(const float *s, size_t h, size_t w, size_t pw, size_t r0, size_t r1, float *pad)
{
	for (size_t r = r0; r < r1; r++) {
		float *d = pad + r * pw;
		const float *src = s + (r - 1) * w;
		size_t j = 0;

		if (r == 0 || r > h) {
			for (; j < pw; j++)
				d[j] = 0.0f;
			continue;
		}
		d[0] = 0.0f;
		for (; j + CNN_VN <= w; j += CNN_VN)
			cnn_vstore(d + 1 + j, cnn_vload(src + j));
		for (; j < w; j++)
			d[1 + j] = src[j];
		for (j = w + 1; j < pw; j++)
			d[j] = 0.0f;
	}
}

/* B^T d B of four tiles, one per lane, into 16 positions cs apart. */
static void
tile_in(cnn_vf d[4][4], float *o, size_t cs)
{
	cnn_vf r[4][4];

	for (int j = 0; j < 4; j++) {
		r[0][j] = d[0][j] - d[2][j];
		r[1][j] = d[1][j] + d[2][j];
		r[2][j] = d[2][j] - d[1][j];
		r[3][j] = d[1][j] - d[3][j];
	}
	for (int i = 0; i < 4; i++) {
		cnn_vstore(o + (4 * i) * cs, r[i][0] - r[i][2]);
		cnn_vstore(o + (4 * i + 1) * cs, r[i][1] + r[i][2]);
		cnn_vstore(o + (4 * i + 2) * cs, r[i][2] - r[i][1]);
		cnn_vstore(o + (4 * i + 3) * cs, r[i][1] - r[i][3]);
	}
}

/* The 4x4 windows of four tiles side by side (2 columns apart) at q, rows pw apart; reads
 * up to 12 floats of each row. */
static void
windows_row(const float *q, size_t pw, cnn_vf d[4][4])
{
	for (int i = 0; i < 4; i++) {
		const float *row = q + (size_t)i * pw;
		cnn_vf a = cnn_vload(row), b = cnn_vload(row + 4), c = cnn_vload(row + 8);
		cnn_vf e = SHUF(a, b, 0, 2, 4, 6), f = SHUF(a, b, 1, 3, 5, 7);

		d[i][0] = e;
		d[i][1] = f;
		d[i][2] = SHUF(e, c, 1, 2, 3, 4);
		d[i][3] = SHUF(f, c, 1, 2, 3, 5);
	}
}

/* The windows of four tiles anywhere, at q[0..3]. */
static void
windows_at(const float *const q[4], size_t pw, cnn_vf d[4][4])
{
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) {
			size_t o = (size_t)i * pw + (size_t)j;

			d[i][j] = (cnn_vf){q[0][o], q[1][o], q[2][o], q[3][o]};
		}
}

/*
 * Store four tiles' 16 transformed values from tmp (16 rows of 4) for the first n lanes:
 * the end of a run of 1 to 3 tiles.
 */
static void
store_lanes(const float *tmp, size_t n, float *o, size_t cs)
{
	for (size_t p = 0; p < 16; p++)
		for (size_t k = 0; k < n; k++)
			o[p * cs + k] = tmp[p * 4 + k];
}

/*
 * V = B^T d B of tiles [t0, t0 + nt) of planes of c channels, h x w, at x (image b at x + b
 * c h w): V[p][ch][t - t0], nt floats per row. Samples outside a plane are 0: each run of
 * tiles reads its rows of the plane padded in pad (pad_floats). Four tiles at a time, one
 * per lane: side by side in a row of tiles, else gathered (small planes, row ends).
 */
static void
input_transform(const float *x, size_t c, size_t h, size_t w, size_t t0, size_t nt, float *v,
                float *pad)
{
	const size_t tw = (w + 1) / 2, tpi = ((h + 1) / 2) * tw, pw = 2 * tw + 2;
	const size_t cs = slab(c, nt);

	for (size_t ch = 0; ch < c; ch++)
		for (size_t t = t0, b, ra, rb; t < t0 + nt; t += rb - ra) {
			float *o = v + ch * nt + (t - t0);

			run_at(t, t0 + nt, tpi, &b, &ra, &rb);
			pad_rows(x + (b * c + ch) * h * w, h, w, pw, 2 * (ra / tw),
			         2 * ((rb - 1) / tw) + 4, pad);
			for (size_t r = ra; r < rb; r += 4, o += 4) {
				cnn_vf d[4][4];
				float tmp[16 * 4];

				if (r % tw + 4 <= tw && r + 4 <= rb) {
					windows_row(pad + 2 * (r / tw) * pw + 2 * (r % tw), pw, d);
				} else {
					const float *q[4];

					for (size_t k = 0; k < 4; k++) {
						size_t rk = r + k < rb ? r + k : rb - 1;

						q[k] = pad + 2 * (rk / tw) * pw + 2 * (rk % tw);
					}
					windows_at(q, pw, d);
				}
				if (r + 4 <= rb) {
					tile_in(d, o, cs);
					continue;
				}
				tile_in(d, tmp, 4);
				store_lanes(tmp, rb - r, o, cs);
			}
		}
}

/* A dY A^T of four tiles' 2x2 blocks d, one per lane, into 16 positions cs apart. */
static void
tile_grad(cnn_vf d[2][2], float *o, size_t cs)
{
	cnn_vf q[4][2] = {{d[0][0], d[0][1]},
	                  {d[0][0] + d[1][0], d[0][1] + d[1][1]},
	                  {d[0][0] - d[1][0], d[0][1] - d[1][1]},
	                  {-d[1][0], -d[1][1]}};

	for (int i = 0; i < 4; i++) {
		cnn_vstore(o + (4 * i) * cs, q[i][0]);
		cnn_vstore(o + (4 * i + 1) * cs, q[i][0] + q[i][1]);
		cnn_vstore(o + (4 * i + 2) * cs, q[i][0] - q[i][1]);
		cnn_vstore(o + (4 * i + 3) * cs, -q[i][1]);
	}
}

/*
 * dM = A dY A^T of the 2x2 output blocks of tiles [t0, t0 + nt) (the gradient of the
 * products' outputs), laid out as input_transform's; outputs outside a plane count 0.
 */
static void
grad_transform(const float *dy, size_t c, size_t h, size_t w, size_t t0, size_t nt, float *v)
{
	const size_t tw = (w + 1) / 2, tpi = ((h + 1) / 2) * tw, cs = slab(c, nt);

	for (size_t ch = 0; ch < c; ch++)
		for (size_t t = t0, b, ra, rb; t < t0 + nt; t += rb - ra) {
			const float *s;
			float *o;

			run_at(t, t0 + nt, tpi, &b, &ra, &rb);
			s = dy + (b * c + ch) * h * w;
			o = v + ch * nt + (t - t0);
			for (size_t r = ra; r < rb; r += 4, o += 4) {
				const size_t y0 = 2 * (r / tw), x0 = 2 * (r % tw);
				cnn_vf d[2][2];
				float tmp[16 * 4];

				if (x0 + 8 <= w && y0 + 2 <= h && r + 4 <= rb) {
					const float *p0 = s + y0 * w + x0, *p1 = p0 + w;
					cnn_vf a0 = cnn_vload(p0), b0 = cnn_vload(p0 + 4);
					cnn_vf a1 = cnn_vload(p1), b1 = cnn_vload(p1 + 4);

					d[0][0] = SHUF(a0, b0, 0, 2, 4, 6);
					d[0][1] = SHUF(a0, b0, 1, 3, 5, 7);
					d[1][0] = SHUF(a1, b1, 0, 2, 4, 6);
					d[1][1] = SHUF(a1, b1, 1, 3, 5, 7);
				} else {
					for (size_t k = 0; k < 4; k++) {
						size_t rk = r + k < rb ? r + k : rb - 1;
						size_t yk = 2 * (rk / tw), xk = 2 * (rk % tw);

						for (size_t i = 0; i < 2; i++)
							for (size_t j = 0; j < 2; j++)
								d[i][j][k] =
								    yk + i < h && xk + j < w
								        ? s[(yk + i) * w + xk + j]
								        : 0.0f;
					}
				}
				if (r + 4 <= rb) {
					tile_grad(d, o, cs);
					continue;
				}
				tile_grad(d, tmp, 4);
				store_lanes(tmp, rb - r, o, cs);
			}
		}
}

/*
 * y = A^T M A (+ bias) of the 2x2 output blocks of tiles [t0, t0 + nt), M laid out as
 * input_transform's V for c channels; the outputs outside a plane are dropped.
 */
static void
output_transform(const float *m, size_t c, size_t h, size_t w, size_t t0, size_t nt,
                 const float *bias, float *y)
{
	const size_t tw = (w + 1) / 2, tpi = ((h + 1) / 2) * tw, cs = slab(c, nt);

	for (size_t ch = 0; ch < c; ch++) {
		const float bv = bias != NULL ? bias[ch] : 0.0f;

		for (size_t t = t0, b, ra, rb; t < t0 + nt; t += rb - ra) {
			const float *q;
			float *d;

			run_at(t, t0 + nt, tpi, &b, &ra, &rb);
			d = y + (b * c + ch) * h * w;
			q = m + ch * nt + (t - t0);
			for (size_t r = ra; r < rb; r += 4, q += 4) {
				const size_t y0 = 2 * (r / tw), x0 = 2 * (r % tw);
				cnn_vf s[2][4], o[2][2], in[16];
				size_t n = rb - r < 4 ? rb - r : 4;

				if (n == 4) {
					for (int p = 0; p < 16; p++)
						in[p] = cnn_vload(q + p * cs);
				} else {
					for (int p = 0; p < 16; p++)
						for (size_t k = 0; k < 4; k++)
							in[p][k] = q[p * cs + (k < n ? k : 0)];
				}
				for (int j = 0; j < 4; j++) {
					s[0][j] = in[j] + in[4 + j] + in[8 + j];
					s[1][j] = in[4 + j] - in[8 + j] - in[12 + j];
				}
				for (int i = 0; i < 2; i++) {
					o[i][0] = s[i][0] + s[i][1] + s[i][2] + bv;
					o[i][1] = s[i][1] - s[i][2] - s[i][3] + bv;
				}
				if (n == 4 && x0 + 8 <= w && y0 + 2 <= h) {
					for (size_t i = 0; i < 2; i++) {
						float *row = d + (y0 + i) * w + x0;

						cnn_vstore(row, SHUF(o[i][0], o[i][1], 0, 4, 1, 5));
						cnn_vstore(row + 4,
						           SHUF(o[i][0], o[i][1], 2, 6, 3, 7));
					}
					continue;
				}
				for (size_t k = 0; k < n; k++) {
					const size_t yk = 2 * ((r + k) / tw),
					             xk = 2 * ((r + k) % tw);

					for (size_t i = 0; i < 2; i++)
						for (size_t j = 0; j < 2; j++)
							if (yk + i < h && xk + j < w)
								d[(yk + i) * w + xk + j] =
								    o[i][j][k];
				}
			}
		}
	}
}

void
cnn_wino_forward(const struct cnn_layer *l, const float *x, float *y, size_t n, float *ws)
{
	const size_t ci = l->in_c, co = l->out_c, h = l->out_h, w = l->out_w;
	const size_t all = tiles_per_image(l) * n;
	float *v = ws, *m = ws + 16 * slab(ci, l->wtiles);
	float *pad = m + 16 * slab(co, l->wtiles) + 16 * ci * co;

	for (size_t t0 = 0; t0 < all; t0 += l->wtiles) {
		size_t nt = all - t0 < l->wtiles ? all - t0 : l->wtiles;

		input_transform(x, ci, h, w, t0, nt, v, pad);
		for (size_t p = 0; p < 16; p++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co, (int)nt,
			            (int)ci, 1.0f, l->wt + p * co * ci, (int)ci,
			            v + p * slab(ci, nt), (int)nt, 0.0f, m + p * slab(co, nt),
			            (int)nt);
		output_transform(m, co, h, w, t0, nt, l->has_bias ? l->b : NULL, y);
	}
}

/* The tile position whose transform of the turned filter is position p's: rows and
 * columns 0 and 3 swap, since G with its columns reversed is G with rows 0 and 3 swapped. */
static size_t
turned(size_t p)
{
	static const size_t swap[4] = {3, 1, 2, 0};

	return swap[p / 4] * 4 + swap[p % 4];
}

void
cnn_wino_backward(const struct cnn_layer *l, const float *x, const float *dy, float *dx, size_t n,
                  float *ws, float *gw, float *gb)
{
	const size_t ci = l->in_c, co = l->out_c, h = l->out_h, w = l->out_w;
	const size_t all = tiles_per_image(l) * n, hw = (size_t)h * w;
	float *v = ws, *m = ws + 16 * slab(ci, l->wtiles), *du = m + 16 * slab(co, l->wtiles);
	float *pad = du + 16 * ci * co;

	for (size_t t0 = 0; t0 < all; t0 += l->wtiles) {
		size_t nt = all - t0 < l->wtiles ? all - t0 : l->wtiles;

		/* The filter's gradient: dU[p] += dM[p] V[p]^T. */
		input_transform(x, ci, h, w, t0, nt, v, pad);
		grad_transform(dy, co, h, w, t0, nt, m);
		for (size_t p = 0; p < 16; p++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)co, (int)ci,
			            (int)nt, 1.0f, m + p * slab(co, nt), (int)nt,
			            v + p * slab(ci, nt), (int)nt, t0 == 0 ? 0.0f : 1.0f,
			            du + p * co * ci, (int)ci);
		if (dx == NULL)
			continue;
		/* The input's gradient: dy through the turned filter, U[turned p]^T. */
		input_transform(dy, co, h, w, t0, nt, m, pad);
		for (size_t p = 0; p < 16; p++)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ci, (int)nt,
			            (int)co, 1.0f, l->wt + turned(p) * co * ci, (int)ci,
			            m + p * slab(co, nt), (int)nt, 0.0f, v + p * slab(ci, nt),
			            (int)nt);
		output_transform(v, ci, h, w, t0, nt, NULL, dx);
	}
	for (size_t o = 0; o < co; o++)
		for (size_t i = 0; i < ci; i++)
			filter_transform_adjoint(du + o * ci + i, co * ci, gw + (o * ci + i) * 9);
	if (gb != NULL)
		for (size_t o = 0; o < co; o++) {
			double s = 0;

			for (size_t b = 0; b < n; b++) {
				const float *d = dy + (b * co + o) * hw;

				for (size_t i = 0; i < hw; i++)
					s += d[i];
			}
			gb[o] = (float)s;
		}
}
