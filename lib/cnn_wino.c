/*
 * lib/cnn_wino.c: 3x3 convolutions of stride 1 and padding 1 in training by Winograd's
 * minimal filtering (Lavin and Gray, "Fast algorithms for convolutional neural networks",
 * 2016). F(2x2, 3x3) makes each 2x2 block of outputs A^T [(G g G^T) . (B^T d B)] A over the
 * 4x4 input tile d around it, so the 36 multiplications per block and channel pair of the
 * plain convolution become 16, done as 16 products (one per tile position) over a block of
 * tiles and every channel, each a cblas_sgemm; F(4x4, 3x3), on planes of 12 or more a side,
 * makes 4x4 blocks from 6x6 tiles with 36 products where the plain convolution makes 144.
 * The backward passes are the same algebra read the other way: the input's gradient is
 * the convolution of the output's gradient with the filter turned by 180 degrees (for
 * F(2x2, 3x3) its transform is G g G^T with rows and columns 0 and 3 swapped, the
 * forward's reused; for F(4x4, 3x3) a second transform); the filter's gradient is, by
 * F(2x2, 3x3) on every plane, G^T [sum over tiles (A dY A^T) . (B^T d B)] G, exact in
 * algebra. F(4x4, 3x3) rounds about 1e-6 of each output where the plain path rounds a few
 * 1e-7, no matter to training.
 *
 * Tiles run over the thread's samples as one sequence (image, tile row, tile column), in
 * blocks whose transformed inputs and outputs together fit the block budget, four at a
 * time in vector lanes. Planes whose side is not a multiple of the tile get a last row or
 * column of tiles partly outside: those outputs are not written, and their gradient counts
 * as 0. Inference keeps the plain path (lib/cnn_infer.c), whose results fer-classify and
 * fer-train --eval share to the bit.
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

/* Planes from this side on take F(4x4, 3x3) forward and for the input's gradient: 36
 * products per 4x4 block of outputs where F(2x2, 3x3) makes 64 (4 blocks of 16). */
#define WINO4_MIN_SIDE 12

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
tiles4_per_image(const struct cnn_layer *l)
{
	return (size_t)((l->out_h + 3) / 4) * ((l->out_w + 3) / 4);
}

static int
wino4_fits(const struct cnn_layer *l)
{
	return l->out_h >= WINO4_MIN_SIDE && l->out_w >= WINO4_MIN_SIDE;
}

static size_t
pad_floats(const struct cnn_layer *l)
{
	/* The padded plane of either tile size, and the floats that four tiles' windows read
	 * past its last row. */
	size_t p2 = (size_t)(2 * ((l->out_h + 1) / 2) + 2) * (2 * ((l->out_w + 1) / 2) + 2);
	size_t p4 = (size_t)(4 * ((l->out_h + 3) / 4) + 2) * (4 * ((l->out_w + 3) / 4) + 2);

	return (p2 > p4 ? p2 : p4) + 8;
}

size_t
cnn_wino_plan(struct cnn_layer *l, size_t max_batch)
{
	size_t ci = l->in_c, co = l->out_c, all = tiles_per_image(l) * max_batch, t;

	if (!cnn_wino_shape(l))
		return 0;
	l->wino = ci < WINO_MIN_IN ? 0 : wino4_fits(l) ? 4 : 2;
	t = WINO_BUDGET / (16 * (ci + co));
	if (t < WINO_MIN_TILES)
		t = WINO_MIN_TILES;
	if (t > all)
		t = all;
	l->wtiles = t;
	t = WINO_BUDGET / (36 * (ci + co));
	if (t < WINO_MIN_TILES)
		t = WINO_MIN_TILES;
	if (t > tiles4_per_image(l) * max_batch)
		t = tiles4_per_image(l) * max_batch;
	l->wtiles4 = wino4_fits(l) ? t : 0;
	/* A block's transformed inputs and outputs, the filter gradient's transform and a
	 * padded plane. */
	{
		size_t f2 = 16 * (slab(ci, l->wtiles) + slab(co, l->wtiles)) + 16 * ci * co;
		size_t f4 = 36 * (slab(ci, t) + slab(co, t));

		return (l->wtiles4 > 0 && f4 > f2 ? f4 : f2) + pad_floats(l);
	}
}

size_t
cnn_wino_filter_floats(const struct cnn_layer *l)
{
	if (!cnn_wino_shape(l))
		return 0;
	/* F(2x2, 3x3)'s transform, or F(4x4, 3x3)'s of the filter and of the turned one. */
	return (wino4_fits(l) ? 72 : 16) * (size_t)l->in_c * l->out_c;
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

/* U = G g G^T of F(4x4, 3x3) into 36 positions, `stride` floats apart. */
static void
filter_transform4(const float *g, float *u, size_t stride)
{
	float t[6][3];

	for (int j = 0; j < 3; j++) {
		float a = g[j], b = g[3 + j], c = g[6 + j];

		t[0][j] = a / 4;
		t[1][j] = -(a + b + c) / 6;
		t[2][j] = -(a - b + c) / 6;
		t[3][j] = a / 24 + b / 12 + c / 6;
		t[4][j] = a / 24 - b / 12 + c / 6;
		t[5][j] = c;
	}
	for (int i = 0; i < 6; i++) {
		float a = t[i][0], b = t[i][1], c = t[i][2];

		u[(6 * i) * stride] = a / 4;
		u[(6 * i + 1) * stride] = -(a + b + c) / 6;
		u[(6 * i + 2) * stride] = -(a - b + c) / 6;
		u[(6 * i + 3) * stride] = a / 24 + b / 12 + c / 6;
		u[(6 * i + 4) * stride] = a / 24 - b / 12 + c / 6;
		u[(6 * i + 5) * stride] = c;
	}
}

/*
 * filter_transform4 of four filters at once (input channels i to i + 3 of one output
 * channel, whose transforms lie side by side): the same operations in the same order on
 * each lane, so the same floats, with a quarter of the divisions.
 */
static void
filter_transform4v(const float *g, float *u, size_t stride, int turn)
{
	cnn_vf t[6][3], f[9];

	for (int k = 0; k < 9; k++) {
		int s = turn ? 8 - k : k;

		f[k] = (cnn_vf){g[s], g[9 + s], g[18 + s], g[27 + s]};
	}
	for (int j = 0; j < 3; j++) {
		cnn_vf a = f[j], b = f[3 + j], c = f[6 + j];

		t[0][j] = a / 4;
		t[1][j] = -(a + b + c) / 6;
		t[2][j] = -(a - b + c) / 6;
		t[3][j] = a / 24 + b / 12 + c / 6;
		t[4][j] = a / 24 - b / 12 + c / 6;
		t[5][j] = c;
	}
	for (int i = 0; i < 6; i++) {
		cnn_vf a = t[i][0], b = t[i][1], c = t[i][2];

		cnn_vstore(u + (6 * i) * stride, a / 4);
		cnn_vstore(u + (6 * i + 1) * stride, -(a + b + c) / 6);
		cnn_vstore(u + (6 * i + 2) * stride, -(a - b + c) / 6);
		cnn_vstore(u + (6 * i + 3) * stride, a / 24 + b / 12 + c / 6);
		cnn_vstore(u + (6 * i + 4) * stride, a / 24 - b / 12 + c / 6);
		cnn_vstore(u + (6 * i + 5) * stride, c);
	}
}

void
cnn_wino_filters(struct cnn_layer *l, size_t co0, size_t co1)
{
	const size_t ci = l->in_c, co = l->out_c;

	for (size_t o = co0; o < co1; o++) {
		size_t i = 0;

		if (l->wino == 4)
			for (; i + CNN_VN <= ci; i += CNN_VN) {
				const float *g = l->w + (o * ci + i) * 9;

				filter_transform4v(g, l->wt + o * ci + i, co * ci, 0);
				filter_transform4v(g, l->wt + 36 * co * ci + o * ci + i, co * ci,
				                   1);
			}
		for (; i < ci; i++) {
			const float *g = l->w + (o * ci + i) * 9;
			float turned[9];

			if (l->wino != 4) {
				filter_transform(g, l->wt + o * ci + i, co * ci);
				continue;
			}
			for (int k = 0; k < 9; k++)
				turned[k] = g[8 - k];
			filter_transform4(g, l->wt + o * ci + i, co * ci);
			filter_transform4(turned, l->wt + 36 * co * ci + o * ci + i, co * ci);
		}
	}
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

/* ---- F(4x4, 3x3) ------------------------------------------------------------------ */

/* The 4x4 transpose of rows a, b, c, d. */
static void
transpose4(cnn_vf a, cnn_vf b, cnn_vf c, cnn_vf d, cnn_vf out[4])
{
	cnn_vf t0 = SHUF(a, b, 0, 4, 1, 5), t1 = SHUF(a, b, 2, 6, 3, 7);
	cnn_vf t2 = SHUF(c, d, 0, 4, 1, 5), t3 = SHUF(c, d, 2, 6, 3, 7);

	out[0] = SHUF(t0, t2, 0, 1, 4, 5);
	out[1] = SHUF(t0, t2, 2, 3, 6, 7);
	out[2] = SHUF(t1, t3, 0, 1, 4, 5);
	out[3] = SHUF(t1, t3, 2, 3, 6, 7);
}

/* B^T d B of F(4x4, 3x3) for four tiles, one per lane, into 36 positions cs apart. */
static void
tile_in6(cnn_vf d[6][6], float *o, size_t cs)
{
	cnn_vf r[6][6];

	for (int j = 0; j < 6; j++) {
		cnn_vf d0 = d[0][j], d1 = d[1][j], d2 = d[2][j], d3 = d[3][j], d4 = d[4][j],
		       d5 = d[5][j];

		r[0][j] = 4 * d0 - 5 * d2 + d4;
		r[1][j] = d3 + d4 - 4 * (d1 + d2);
		r[2][j] = d4 - d3 + 4 * (d1 - d2);
		r[3][j] = d4 - d2 + 2 * (d3 - d1);
		r[4][j] = d4 - d2 + 2 * (d1 - d3);
		r[5][j] = 4 * d1 - 5 * d3 + d5;
	}
	for (int i = 0; i < 6; i++) {
		cnn_vf d0 = r[i][0], d1 = r[i][1], d2 = r[i][2], d3 = r[i][3], d4 = r[i][4],
		       d5 = r[i][5];
		float *q = o + (size_t)(6 * i) * cs;

		cnn_vstore(q, 4 * d0 - 5 * d2 + d4);
		cnn_vstore(q + cs, d3 + d4 - 4 * (d1 + d2));
		cnn_vstore(q + 2 * cs, d4 - d3 + 4 * (d1 - d2));
		cnn_vstore(q + 3 * cs, d4 - d2 + 2 * (d3 - d1));
		cnn_vstore(q + 4 * cs, d4 - d2 + 2 * (d1 - d3));
		cnn_vstore(q + 5 * cs, 4 * d1 - 5 * d3 + d5);
	}
}

/*
 * V of F(4x4, 3x3) for tiles [t0, t0 + nt) (4x4 outputs each, windows 6x6 from one row
 * and column before them), laid out as input_transform's with 36 positions.
 */
static void
input_transform4(const float *x, size_t c, size_t h, size_t w, size_t t0, size_t nt, float *v,
                 float *pad)
{
	const size_t tw = (w + 3) / 4, tpi = ((h + 3) / 4) * tw, pw = 4 * tw + 2;
	const size_t cs = slab(c, nt);

	for (size_t ch = 0; ch < c; ch++)
		for (size_t t = t0, b, ra, rb; t < t0 + nt; t += rb - ra) {
			float *o = v + ch * nt + (t - t0);

			run_at(t, t0 + nt, tpi, &b, &ra, &rb);
			pad_rows(x + (b * c + ch) * h * w, h, w, pw, 4 * (ra / tw),
			         4 * ((rb - 1) / tw) + 6, pad);
			for (size_t r = ra; r < rb; r += 4, o += 4) {
				cnn_vf d[6][6];
				float tmp[36 * 4];

				if (r % tw + 4 <= tw && r + 4 <= rb) {
					const float *q = pad + 4 * (r / tw) * pw + 4 * (r % tw);

					for (size_t i = 0; i < 6; i++) {
						const float *row = q + i * pw;
						cnn_vf a = cnn_vload(row), bb = cnn_vload(row + 4),
						       cc = cnn_vload(row + 8),
						       dd = cnn_vload(row + 12),
						       e = cnn_vload(row + 16), u[4];

						transpose4(a, bb, cc, dd, d[i]);
						transpose4(bb, cc, dd, e, u);
						d[i][4] = u[0];
						d[i][5] = u[1];
					}
				} else {
					const float *q[4];

					for (size_t k = 0; k < 4; k++) {
						size_t rk = r + k < rb ? r + k : rb - 1;

						q[k] = pad + 4 * (rk / tw) * pw + 4 * (rk % tw);
					}
					for (size_t i = 0; i < 6; i++)
						for (size_t j = 0; j < 6; j++) {
							size_t off = i * pw + j;

							d[i][j] = (cnn_vf){q[0][off], q[1][off],
							                   q[2][off], q[3][off]};
						}
				}
				if (r + 4 <= rb) {
					tile_in6(d, o, cs);
					continue;
				}
				tile_in6(d, tmp, 4);
				for (size_t p = 0; p < 36; p++)
					for (size_t k = 0; k < rb - r; k++)
						o[p * cs + k] = tmp[p * 4 + k];
			}
		}
}

/* y = A^T M A of F(4x4, 3x3) (+ bias) for tiles [t0, t0 + nt); outputs outside a plane are
 * dropped. */
static void
output_transform4(const float *m, size_t c, size_t h, size_t w, size_t t0, size_t nt,
                  const float *bias, float *y)
{
	const size_t tw = (w + 3) / 4, tpi = ((h + 3) / 4) * tw, cs = slab(c, nt);

	for (size_t ch = 0; ch < c; ch++) {
		const float bv = bias != NULL ? bias[ch] : 0.0f;

		for (size_t t = t0, b, ra, rb; t < t0 + nt; t += rb - ra) {
			const float *q;
			float *d;

			run_at(t, t0 + nt, tpi, &b, &ra, &rb);
			d = y + (b * c + ch) * h * w;
			q = m + ch * nt + (t - t0);
			for (size_t r = ra; r < rb; r += 4, q += 4) {
				const size_t y0 = 4 * (r / tw), x0 = 4 * (r % tw);
				size_t n = rb - r < 4 ? rb - r : 4;
				cnn_vf in[36], s[4][6], o[4][4];

				for (int p = 0; p < 36; p++) {
					if (n == 4)
						in[p] = cnn_vload(q + p * cs);
					else
						for (size_t k = 0; k < 4; k++)
							in[p][k] = q[p * cs + (k < n ? k : 0)];
				}
				for (int j = 0; j < 6; j++) {
					cnn_vf m0 = in[j], m1 = in[6 + j], m2 = in[12 + j],
					       m3 = in[18 + j], m4 = in[24 + j], m5 = in[30 + j];

					s[0][j] = m0 + m1 + m2 + m3 + m4;
					s[1][j] = m1 - m2 + 2 * (m3 - m4);
					s[2][j] = m1 + m2 + 4 * (m3 + m4);
					s[3][j] = m1 - m2 + 8 * (m3 - m4) + m5;
				}
				for (int i = 0; i < 4; i++) {
					cnn_vf m0 = s[i][0], m1 = s[i][1], m2 = s[i][2],
					       m3 = s[i][3], m4 = s[i][4], m5 = s[i][5];

					o[i][0] = m0 + m1 + m2 + m3 + m4 + bv;
					o[i][1] = m1 - m2 + 2 * (m3 - m4) + bv;
					o[i][2] = m1 + m2 + 4 * (m3 + m4) + bv;
					o[i][3] = m1 - m2 + 8 * (m3 - m4) + m5 + bv;
				}
				if (n == 4 && x0 + 16 <= w && y0 + 4 <= h) {
					for (size_t i = 0; i < 4; i++) {
						float *row = d + (y0 + i) * w + x0;
						cnn_vf u[4];

						transpose4(o[i][0], o[i][1], o[i][2], o[i][3], u);
						for (size_t k = 0; k < 4; k++)
							cnn_vstore(row + 4 * k, u[k]);
					}
					continue;
				}
				/* Tiles across a row's end (planes 24 or 12 wide): still a
				 * vector store a tile row where the tile is whole. */
				for (size_t i = 0; i < 4; i++) {
					cnn_vf u[4];

					transpose4(o[i][0], o[i][1], o[i][2], o[i][3], u);
					for (size_t k = 0; k < n; k++) {
						const size_t yk = 4 * ((r + k) / tw),
						             xk = 4 * ((r + k) % tw);

						if (yk + i >= h)
							continue;
						if (xk + 4 <= w) {
							cnn_vstore(d + (yk + i) * w + xk, u[k]);
							continue;
						}
						for (size_t j = 0; xk + j < w; j++)
							d[(yk + i) * w + xk + j] = u[k][j];
					}
				}
			}
		}
	}
}

/*
 * A same 3x3 convolution by F(4x4, 3x3) of n planes of cin channels at x into cout at y:
 * M[p] = op(U[p]) V[p], with U [36][rows][cols] as cnn_wino_filters lays it out (rows the
 * layer's outputs), op the transpose for the input's gradient.
 */
static void
conv4(const struct cnn_layer *l, const float *x, size_t cin, float *y, size_t cout, const float *u,
      int trans, const float *bias, size_t n, float *ws)
{
	const size_t h = l->out_h, w = l->out_w, all = tiles4_per_image(l) * n, nb = l->wtiles4;
	float *v = ws, *m = ws + 36 * slab(cin, nb), *pad = m + 36 * slab(cout, nb);

	for (size_t t0 = 0; t0 < all; t0 += nb) {
		size_t nt = all - t0 < nb ? all - t0 : nb;

		input_transform4(x, cin, h, w, t0, nt, v, pad);
		for (size_t p = 0; p < 36; p++)
			cblas_sgemm(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, CblasNoTrans,
			            (int)cout, (int)nt, (int)cin, 1.0f, u + p * cin * cout,
			            (int)l->in_c, v + p * slab(cin, nt), (int)nt, 0.0f,
			            m + p * slab(cout, nt), (int)nt);
		output_transform4(m, cout, h, w, t0, nt, bias, y);
	}
}

void
cnn_wino_forward(const struct cnn_layer *l, const float *x, float *y, size_t n, float *ws)
{
	const size_t ci = l->in_c, co = l->out_c, h = l->out_h, w = l->out_w;
	const size_t all = tiles_per_image(l) * n;
	float *v = ws, *m = ws + 16 * slab(ci, l->wtiles);
	float *pad = m + 16 * slab(co, l->wtiles) + 16 * ci * co;

	if (l->wino == 4) {
		conv4(l, x, ci, y, co, l->wt, 0, l->has_bias ? l->b : NULL, n, ws);
		return;
	}
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
		if (dx == NULL || l->wino == 4)
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
	/* After the filter's gradient: F(4x4, 3x3) takes the workspace whole. */
	if (dx != NULL && l->wino == 4)
		conv4(l, dy, co, dx, ci, l->wt + 36 * co * ci, 1, NULL, n, ws);
}
