/*
 * tests/unit/test_cnn.c: every layer's backward pass agrees with finite differences of its
 * forward pass, inference-mode BN and dropout do what their formulas say, a small network
 * learns a small task, the optimisers and schedules follow their definitions, training
 * repeats bit for bit from a seed, a batch shared among threads gives what one thread
 * gives, the folded inference plan gives what the layers give, an ensemble gives the mean
 * of its members, and the model file (of a network or an ensemble) round-trips exactly and
 * refuses truncated, damaged, foreign, newer and inconsistent files.
 *
 * Gradient checks use central differences of L = sum(r * y) (r fixed and random), so that
 * dL/dy = r exercises every output. The forward pass is float32 and L is summed in double:
 * with a step of h = 1e-2 on inputs of order 1, rounding puts about 1e-6 of noise into L
 * (5e-5 after dividing by 2h), and the h^2 f'''/6 truncation term is largest for batch
 * normalisation, whose statistics move with every input (4e-4 measured, 2e-5 or less for
 * the other layers). So analytic and numeric slopes must agree within 1e-3 + 1e-3
 * |numeric|, which still catches a gradient 1% off. A coordinate where the one-sided slopes
 * disagree sits on a kink (relu at 0, a max-pool tie) and is skipped; inputs are drawn away
 * from kinks, and at most 5% may be skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnn.h"
#include "cnn_int.h"

/* |a - b| <= tol, in double, where cmocka's assert_float_equal would round to float. */
#define assert_near(a, b, tol)                                                                     \
	near_at((double)(a), (double)(b), (double)(tol), #a, __FILE__, __LINE__)

static void
near_at(double a, double b, double tol, const char *what, const char *file, int line)
{
	if (fabs(a - b) <= tol)
		return;
	print_error("%s is %.9g, expected %.9g within %.3g\n", what, a, b, tol);
	_fail(file, line);
}

#define GRAD_H 1e-2
#define GRAD_ATOL 1e-3
#define GRAD_RTOL 1e-3

static struct fm_cnn *
new_net(const char *desc, uint32_t c, uint32_t h, uint32_t w, size_t batch, uint64_t seed)
{
	struct fm_cnn *net = NULL;
	struct fm_err err = {0};

	if (fm_cnn_new(desc, c, h, w, batch, seed, &net, &err) == -1)
		fail_msg("fm_cnn_new(\"%s\"): %s", desc, err.msg);
	return net;
}

/* Uniform in [-1, 1] with |x| >= 0.1, away from relu's kink. */
static float
away_from_zero(struct fm_rng *r)
{
	float m = (float)(0.1 + 0.9 * fm_rng_uniform(r));

	return fm_rng_next(r) & 1 ? m : -m;
}

/* n distinct values 0.05 apart in a random order: no max-pool window holds a near tie. */
static void
distinct_values(struct fm_rng *r, float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = fm_rng_below(r, i);
		float t = x[i - 1];

		x[i - 1] = x[j];
		x[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		x[i] = (x[i] - (float)n / 2) * 0.05f;
}

static double
objective(struct fm_cnn *net, const float *x, size_t n, const float *r,
          const struct fm_rng *dropout_rng)
{
	const float *y;
	double l = 0;

	net->rng = *dropout_rng; /* the same dropout mask every time */
	cnn_net_forward(net, x, n, 1);
	y = net->acts[net->n_layers];
	for (size_t i = 0; i < n * net->n_out; i++)
		l += (double)r[i] * y[i];
	return l;
}

struct grad_stats {
	size_t checked, skipped;
};

static void
compare_slope(struct fm_cnn *net, float *v, float analytic, const float *x, size_t n,
              const float *r, const struct fm_rng *rng, const char *what, size_t idx,
              struct grad_stats *st)
{
	float saved = *v;
	double l0, lp, lm, num, left, right;

	l0 = objective(net, x, n, r, rng);
	*v = saved + (float)GRAD_H;
	lp = objective(net, x, n, r, rng);
	*v = saved - (float)GRAD_H;
	lm = objective(net, x, n, r, rng);
	*v = saved;
	right = (lp - l0) / GRAD_H;
	left = (l0 - lm) / GRAD_H;
	num = (lp - lm) / (2 * GRAD_H);
	if (fabs(right - left) > 0.05 + 0.05 * fabs(num)) {
		st->skipped++;
		return;
	}
	st->checked++;
	if (fabs(analytic - num) > GRAD_ATOL + GRAD_RTOL * fabs(num))
		fail_msg("%s %zu: analytic %.6f, numeric %.6f (%s)", what, idx, (double)analytic,
		         num, fm_cnn_desc(net));
}

enum input_kind { INPUT_SMOOTH, INPUT_DISTINCT };

/* When not 0, convolutions work in bands of this many output rows, as large layers do. */
static size_t force_rows;
/* When not 0, the batch is shared by this many threads. */
static size_t force_threads;
/* When not 0, every 3x3 same convolution trains by Winograd, whatever its channels, in
 * blocks of this many tiles (or its own when larger), F(4x4, 3x3) where planes are 12 or
 * more a side when force_wino4. */
static size_t force_wino;
static int force_wino4;

/* Make the 3x3 same convolutions of net train by Winograd (tiles: block size, 0 keeps the
 * planned one): F(2x2, 3x3) (mode 2), or also F(4x4, 3x3) where planes are large enough
 * (mode 4); or by im2col (mode 0). */
static void
set_wino(struct fm_cnn *net, int mode, size_t tiles)
{
	for (size_t i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];

		if (!cnn_wino_shape(l))
			continue;
		l->wino = mode == 4 && l->wtiles4 > 0 ? 4 : mode == 0 ? 0 : 2;
		if (tiles > 0 && tiles < l->wtiles)
			l->wtiles = tiles;
		if (tiles > 0 && tiles < l->wtiles4)
			l->wtiles4 = tiles;
	}
}

/*
 * Check the gradients of the whole stack `desc` (training mode) with respect to its input
 * and every parameter, on a batch of n.
 */
static void
check_gradients(const char *desc, uint32_t c, uint32_t h, uint32_t w, size_t n,
                enum input_kind kind)
{
	struct fm_cnn *net = new_net(desc, c, h, w, n, 7);
	size_t nx = n * net->in_size, ny = n * net->n_out;
	float *x = malloc(nx * sizeof *x), *r = malloc(ny * sizeof *r);
	float *dx = malloc(nx * sizeof *dx), *dp = malloc(net->n_params * sizeof *dp);
	struct fm_rng rng, drop;
	struct grad_stats st = {0, 0};

	assert_non_null(x);
	assert_non_null(r);
	assert_non_null(dx);
	assert_non_null(dp);
	fm_rng_seed(&rng, 11);
	if (kind == INPUT_DISTINCT)
		distinct_values(&rng, x, nx);
	else
		for (size_t i = 0; i < nx; i++)
			x[i] = away_from_zero(&rng);
	for (size_t i = 0; i < ny; i++)
		r[i] = (float)(2 * fm_rng_uniform(&rng) - 1);
	/* Parameters off their initial values, so BN scales and shifts are not 1 and 0. */
	for (size_t i = 0; i < net->n_tensors; i++) {
		struct cnn_tensor *t = &net->tensors[i];

		if (!t->is_stat && !t->decay)
			for (size_t j = 0; j < t->n; j++)
				t->data[j] += (float)(0.5 * fm_rng_uniform(&rng));
	}
	for (size_t i = 0; force_rows > 0 && i < net->n_layers; i++)
		if (net->layers[i].kind == CNN_CONV && net->layers[i].group > 0) {
			net->layers[i].group = 1;
			net->layers[i].rows = force_rows;
		} else if (net->layers[i].kind == CNN_DWCONV && force_rows < net->layers[i].rows) {
			net->layers[i].rows = force_rows;
		}
	if (force_wino > 0)
		set_wino(net, force_wino4 ? 4 : 2, force_wino);
	if (force_threads > 0) {
		struct fm_err err;

		assert_int_equal(fm_cnn_set_threads(net, force_threads, &err), 0);
	}
	drop = net->rng;
	net->input_grad = 1;
	objective(net, x, n, r, &drop);
	memcpy(net->gbuf[0], r, ny * sizeof *r);
	cnn_net_backward(net, n);
	memcpy(dx, net->dx_in, nx * sizeof *dx);
	memcpy(dp, net->grads, net->n_params * sizeof *dp);
	for (size_t i = 0; i < nx; i++)
		compare_slope(net, &x[i], dx[i], x, n, r, &drop, "input", i, &st);
	for (size_t i = 0; i < net->n_params; i++)
		compare_slope(net, &net->params[i], dp[i], x, n, r, &drop, "parameter", i, &st);
	if (st.skipped * 20 > st.checked + st.skipped)
		fail_msg("%zu of %zu coordinates sit on kinks (%s)", st.skipped,
		         st.checked + st.skipped, desc);
	free(x);
	free(r);
	free(dx);
	free(dp);
	fm_cnn_free(net);
}

static void
conv_gradients_match_finite_differences(void **state)
{
	(void)state;
	/* Stride 2 with padding, odd sizes; batch 3 fills one im2col block, batch 1 takes
	 * the single-image path; "dense" only gives the stack its 2 outputs. */
	check_gradients("conv 3 3 2 1", 2, 5, 5, 3, INPUT_SMOOTH);
	check_gradients("conv 3 3 2 1", 2, 5, 5, 1, INPUT_SMOOTH);
	check_gradients("conv 2 3 1 1", 1, 4, 6, 2, INPUT_SMOOTH);
	check_gradients("conv 2 2 3 0", 2, 7, 5, 2, INPUT_SMOOTH);
	check_gradients("conv 4 1", 3, 3, 3, 2, INPUT_SMOOTH);     /* 1x1: no im2col */
	check_gradients("conv 2 3 1 2", 1, 3, 3, 2, INPUT_SMOOTH); /* padding > kernel/2 */
	check_gradients("conv 2 5 1 2", 2, 6, 5, 2, INPUT_SMOOTH); /* "same", 5x5 */
	/* Bands of rows, the path of large planes: a band of 2 and a last band of 1. */
	force_rows = 2;
	check_gradients("conv 3 3 2 1", 2, 5, 5, 2, INPUT_SMOOTH);
	check_gradients("conv 2 3 1 1", 2, 5, 6, 2, INPUT_SMOOTH);
	check_gradients("conv 2 2 3 0", 1, 7, 5, 2, INPUT_SMOOTH);
	force_rows = 0;
}

static void
winograd_gradients_match_finite_differences(void **state)
{
	(void)state;
	/* Odd and even planes, a bias (no bn after), blocks that end inside an image and
	 * inside a row of tiles, planes wide enough for four tiles at a time, and threads. */
	force_wino = 1000;
	check_gradients("conv 3 3 1 1", 2, 5, 5, 3, INPUT_SMOOTH);
	check_gradients("conv 2 3 1 1, bn, conv 3 3 1 1", 3, 4, 6, 2, INPUT_SMOOTH);
	check_gradients("conv 2 3 1 1", 2, 9, 10, 2, INPUT_SMOOTH);
	force_wino = 5;
	check_gradients("conv 3 3 1 1", 2, 5, 5, 3, INPUT_SMOOTH);
	check_gradients("conv 2 3 1 1", 2, 9, 10, 2, INPUT_SMOOTH);
	force_threads = 2;
	check_gradients("conv 3 3 1 1, bn, conv 2 3 1 1", 2, 6, 9, 3, INPUT_SMOOTH);
	force_threads = 0;
	/* F(4x4, 3x3): a plane of whole tiles, one of part tiles at its right and bottom
	 * ends and wide enough for four tiles at a time; blocks ending inside images and
	 * rows. Its forward rounds about 1e-6 of each output (constants 1/6, 1/24 and
	 * sums up to 8 times a value), noise that batch normalisation's finite differences
	 * do not stay under GRAD_ATOL with: networks with bn meet it in
	 * winograd_matches_im2col. */
	force_wino4 = 1;
	force_wino = 1000;
	check_gradients("conv 2 3 1 1", 2, 12, 12, 2, INPUT_SMOOTH);
	force_wino = 3;
	check_gradients("conv 2 3 1 1", 2, 13, 18, 2, INPUT_SMOOTH);
	force_wino4 = 0;
	force_wino = 0;
}

/*
 * Winograd against im2col on the same network, batch and weights: the training forward's
 * outputs, the input's gradient and every parameter's gradient. Both round differently
 * (Winograd's transforms add and halve before the products), so within float rounding of
 * sums of 9 c terms: 1e-4 relative to the largest value of each.
 */
static void
assert_wino_matches_plain(const char *desc, uint32_t c, uint32_t h, uint32_t w, size_t n, int mode,
                          size_t tiles, size_t threads)
{
	struct fm_cnn *net[2];
	float *x, *r, *out[2], *dx[2], *g[2];
	struct fm_rng rng;
	struct fm_err err;
	size_t nx, ny;

	for (int k = 0; k < 2; k++) {
		net[k] = new_net(desc, c, h, w, n, 5);
		set_wino(net[k], k == 0 ? 0 : mode, tiles);
		net[k]->input_grad = 1;
		assert_int_equal(fm_cnn_set_threads(net[k], threads, &err), 0);
	}
	nx = n * net[0]->in_size;
	ny = n * net[0]->n_out;
	x = malloc(nx * sizeof *x);
	r = malloc(ny * sizeof *r);
	assert_non_null(x);
	assert_non_null(r);
	fm_rng_seed(&rng, 3);
	for (size_t i = 0; i < nx; i++)
		x[i] = (float)fm_rng_normal(&rng);
	for (size_t i = 0; i < ny; i++)
		r[i] = (float)fm_rng_normal(&rng);
	for (int k = 0; k < 2; k++) {
		net[k]->rng = net[0]->rng;
		cnn_net_forward(net[k], x, n, 1);
		out[k] = net[k]->acts[net[k]->n_layers];
		memcpy(net[k]->gbuf[0], r, ny * sizeof *r);
		cnn_net_backward(net[k], n);
		dx[k] = net[k]->dx_in;
		g[k] = net[k]->grads;
	}
	{
		const float *a[3][2] = {{out[0], out[1]}, {dx[0], dx[1]}, {g[0], g[1]}};
		size_t len[3] = {ny, nx, net[0]->n_params};

		for (int v = 0; v < 3; v++) {
			double big = 0;

			for (size_t i = 0; i < len[v]; i++)
				big = fmax(big, fabs(a[v][0][i]));
			for (size_t i = 0; i < len[v]; i++)
				assert_near(a[v][1][i], a[v][0][i], 1e-4 * big);
		}
	}
	free(x);
	free(r);
	fm_cnn_free(net[0]);
	fm_cnn_free(net[1]);
}

static void
winograd_matches_im2col(void **state)
{
	(void)state;
	/* The default network's shape of stage, small: 8 and more channels take Winograd
	 * without being forced; odd and even planes; blocks across images and rows. */
	assert_wino_matches_plain("conv 8 3 1 1, bn, relu, conv 16 3 1 1, bn, relu, maxpool 2, "
	                          "conv 24 3 1 1, relu, gap, dense 5",
	                          1, 14, 18, 5, 2, 0, 1);
	assert_wino_matches_plain("conv 12 3 1 1, conv 9 3 1 1, relu, conv 16 3 1 1, gap, dense 3",
	                          10, 11, 9, 4, 2, 7, 1);
	assert_wino_matches_plain("conv 12 3 1 1, conv 9 3 1 1, relu, conv 16 3 1 1, gap, dense 3",
	                          10, 11, 9, 4, 2, 0, 2);
	/* F(4x4, 3x3) where planes are 12 or more a side, as planned, F(2x2, 3x3) after the
	 * pooling; part tiles, blocks across images and rows, threads. */
	assert_wino_matches_plain("conv 8 3 1 1, bn, relu, conv 16 3 1 1, bn, relu, maxpool 2, "
	                          "conv 24 3 1 1, relu, gap, dense 5",
	                          1, 14, 18, 5, 4, 0, 1);
	assert_wino_matches_plain("conv 12 3 1 1, conv 9 3 1 1, relu, conv 16 3 1 1, gap, dense 3",
	                          10, 13, 17, 4, 4, 5, 1);
	assert_wino_matches_plain("conv 12 3 1 1, conv 9 3 1 1, relu, conv 16 3 1 1, gap, dense 3",
	                          10, 16, 16, 4, 4, 0, 2);
	{
		struct fm_cnn *net =
		    new_net("conv 8 3 1 1, conv 8 3 1 1, conv 8 3 2 1", 1, 8, 8, 2, 1);

		/* One input channel keeps im2col; 8 take Winograd; stride 2 cannot. */
		assert_false(net->layers[0].wino);
		assert_true(net->layers[1].wino);
		assert_false(net->layers[2].wino);
		fm_cnn_free(net);
	}
}

static void
bn_training_gradients_match_finite_differences(void **state)
{
	(void)state;
	check_gradients("bn", 3, 2, 3, 4, INPUT_SMOOTH);
	check_gradients("bn 0.3 0.001", 2, 1, 1, 5, INPUT_SMOOTH); /* after a dense layer */
	/* A conv without bias before bn, and a scale that differs from 1. */
	check_gradients("conv 3 3 1 1, bn", 2, 4, 4, 3, INPUT_SMOOTH);
}

static void
relu_gradients_match_finite_differences(void **state)
{
	(void)state;
	check_gradients("relu", 2, 3, 3, 2, INPUT_SMOOTH);
	check_gradients("relu, relu", 3, 2, 2, 2, INPUT_SMOOTH); /* in place twice */
}

static void
pooling_gradients_match_finite_differences(void **state)
{
	(void)state;
	check_gradients("maxpool 2", 2, 4, 4, 2, INPUT_DISTINCT);
	check_gradients("maxpool 3 2", 2, 7, 5, 2, INPUT_DISTINCT); /* overlapping windows */
	check_gradients("maxpool 2 3", 1, 5, 5, 2, INPUT_DISTINCT); /* gaps between windows */
	check_gradients("avgpool 2", 2, 4, 4, 2, INPUT_SMOOTH);
	check_gradients("avgpool 3 1", 2, 4, 5, 2, INPUT_SMOOTH);
	check_gradients("gap", 3, 3, 4, 2, INPUT_SMOOTH);
}

static void
dense_and_dropout_gradients_match_finite_differences(void **state)
{
	(void)state;
	check_gradients("dense 3", 2, 2, 2, 3, INPUT_SMOOTH);
	check_gradients("dropout 0.5", 2, 3, 3, 2, INPUT_SMOOTH);
	check_gradients("dropout 0.5, dense 3", 4, 1, 1, 3, INPUT_SMOOTH);
}

static void
dwconv_gradients_match_finite_differences(void **state)
{
	(void)state;
	/* Stride 1 and 2, padding 0 and 1, with a bias and without (before bn), 3x3 (its own
	 * loop) and other sizes, odd and even planes, then in bands of one and two output
	 * rows, whose padded inputs overlap. */
	for (int pass = 0; pass < 3; pass++) {
		force_rows = (size_t)pass;
		check_gradients("dwconv 3 1 1", 3, 5, 6, 2, INPUT_SMOOTH);
		check_gradients("dwconv 3 2 1", 2, 7, 7, 3, INPUT_SMOOTH);
		check_gradients("dwconv 3 2 0", 2, 6, 9, 2, INPUT_SMOOTH);
		check_gradients("dwconv 3", 2, 5, 5, 1, INPUT_SMOOTH);
		check_gradients("dwconv 3 1 1, bn", 2, 4, 5, 3, INPUT_SMOOTH);
		check_gradients("dwconv 3 2 1, bn", 3, 8, 6, 2, INPUT_SMOOTH);
		check_gradients("dwconv 5 2 2", 2, 7, 6, 2, INPUT_SMOOTH);
		check_gradients("dwconv 2 3 1", 2, 7, 8, 2, INPUT_SMOOTH);
		check_gradients("dwconv 1", 3, 3, 4, 2, INPUT_SMOOTH);
		check_gradients("dwconv 4 1 3", 1, 3, 3, 2, INPUT_SMOOTH); /* all-pad corners */
	}
	force_rows = 0;
	/* Depthwise-separable blocks, downsampling by a strided conv and a strided dwconv;
	 * no relu between them, whose kinks a deep stack would cross (relu meets dwconv in
	 * inference_plan_matches_layers). */
	check_gradients("conv 4 3 2 1, bn, dwconv 3 1 1, bn, conv 6 1, dwconv 3 2 1, conv 5 1", 2,
	                11, 9, 3, INPUT_SMOOTH);
	force_threads = 2;
	check_gradients("dwconv 3 2 1, bn, conv 3 1, dwconv 3 1 1", 2, 8, 7, 5, INPUT_SMOOTH);
	force_threads = 0;
}

static void
whole_network_gradients_match_finite_differences(void **state)
{
	(void)state;
	check_gradients("conv 4 3 2 1, bn, relu, maxpool 2, conv 5 3 1 1, bn 0.2, relu, "
	                "avgpool 2 1, conv 3 1, relu, gap, dropout 0.25, dense 3, relu, dense 2",
	                2, 9, 9, 3, INPUT_SMOOTH);
}

static void
threaded_gradients_match_finite_differences(void **state)
{
	(void)state;
	/* Smooth layers only, so that no coordinate sits near a kink; relu and max-pooling
	 * work per sample and meet threads in threads_agree_with_one_thread. */
	force_threads = 2;
	check_gradients("conv 4 3 2 1, bn, avgpool 2, conv 3 3 1 1, bn 0.2, gap, dropout 0.25, "
	                "dense 3, bn, dense 2",
	                2, 9, 9, 5, INPUT_SMOOTH);
	force_threads = 3;
	check_gradients("bn, conv 3 3 1 1, dense 2", 2, 4, 4, 4, INPUT_SMOOTH);
	force_threads = 0;
}

/* Train a net for two steps on `threads` threads; return it. */
static struct fm_cnn *
two_steps(size_t threads, const float *x, const int *labels, size_t n)
{
	struct fm_cnn *net = new_net("conv 4 3 1 1, bn, relu, maxpool 2, conv 6 3 1 1, relu, "
	                             "dropout 0.3, dense 5, bn, relu, dense 3",
	                             2, 8, 8, 7, 3);
	const struct fm_optim opt = FM_OPTIM_SGD_DEFAULT;
	struct fm_err err;

	assert_int_equal(fm_cnn_set_threads(net, threads, &err), 0);
	assert_int_equal(fm_cnn_threads(net), threads);
	for (int step = 0; step < 2; step++) {
		assert_int_equal(fm_cnn_forward(net, x, n, 1, NULL, &err), 0);
		assert_int_equal(fm_cnn_loss_backward(net, labels, 0.05f, NULL, &err), 0);
		assert_int_equal(fm_cnn_update(net, &opt, 0.1f, &err), 0);
	}
	assert_int_equal(fm_cnn_forward(net, x, n, 1, NULL, &err), 0);
	assert_int_equal(fm_cnn_loss_backward(net, labels, 0.05f, NULL, &err), 0);
	return net;
}

static void
threads_agree_with_one_thread(void **state)
{
	float x[7 * 128];
	int labels[7];
	struct fm_rng rng;
	struct fm_cnn *one, *many;

	(void)state;
	fm_rng_seed(&rng, 17);
	for (size_t i = 0; i < 7 * 128; i++)
		x[i] = (float)fm_rng_normal(&rng);
	for (int i = 0; i < 7; i++)
		labels[i] = i % 3;
	one = two_steps(1, x, labels, 7);
	for (size_t t = 2; t <= 4; t++) {
		many = two_steps(t, x, labels, 7);
		/* Slices of 7 samples; the same dropout masks, the same BN statistics; sums
		 * of gradients in another order, so within float rounding: weights moved by
		 * 0.1 times gradients of order 1 agree to 1e-6, gradients to 1e-5 relative. */
		for (size_t i = 0; i < one->n_params; i++) {
			assert_near(many->params[i], one->params[i], 1e-6);
			assert_near(many->grads[i], one->grads[i],
			            1e-5 * (1 + fabs(one->grads[i])));
		}
		for (size_t i = 0; i < one->n_stats; i++)
			assert_near(many->stats[i], one->stats[i],
			            1e-6 * (1 + fabs(one->stats[i])));
		for (size_t i = 0; i < one->n_layers; i++)
			if (one->layers[i].kind == CNN_DROPOUT)
				assert_memory_equal(many->layers[i].mask, one->layers[i].mask,
				                    7 * cnn_layer_in_size(&one->layers[i]) *
				                        sizeof(float));
		fm_cnn_free(many);
	}
	/* Back to one thread, and a batch smaller than the threads runs on one. */
	many = two_steps(3, x, labels, 2);
	{
		struct fm_err err;

		assert_int_equal(fm_cnn_set_threads(many, 1, &err), 0);
		assert_int_equal(fm_cnn_set_threads(many, 0, &err), -1);
		assert_int_equal(err.code, FM_EINVAL);
	}
	fm_cnn_free(many);
	fm_cnn_free(one);
}

static void
softmax_cross_entropy_gradient_with_smoothing(void **state)
{
	const size_t n = 3, k = 5;
	const int labels[3] = {0, 4, 2};
	float z[15], dz[15];
	struct fm_rng rng;

	(void)state;
	fm_rng_seed(&rng, 3);
	for (size_t i = 0; i < n * k; i++)
		z[i] = (float)(4 * fm_rng_uniform(&rng) - 2);
	for (int s = 0; s < 3; s++) {
		float smoothing = (float)s * 0.15f;
		double l = cnn_xent(z, labels, n, k, smoothing, dz), expect = 0;

		/* The definition: mean over rows of -sum q log softmax(z). */
		for (size_t b = 0; b < n; b++) {
			double m = 0, se = 0;

			for (size_t j = 0; j < k; j++)
				se += exp(z[b * k + j]);
			for (size_t j = 0; j < k; j++) {
				double q =
				    (1 - smoothing) * ((size_t)labels[b] == j) + smoothing / k;

				m -= q * log(exp(z[b * k + j]) / se);
			}
			expect += m / n;
		}
		assert_near(l, expect, 1e-9);
		for (size_t i = 0; i < n * k; i++) {
			float saved = z[i];
			double lp, lm;

			/* Everything in double after the float logits: h = 1e-3 leaves an
			 * error of h^2 f'''/6 < 1e-6 and rounding near 1e-12 / h. */
			z[i] = saved + 1e-3f;
			lp = cnn_xent(z, labels, n, k, smoothing, NULL);
			z[i] = saved - 1e-3f;
			lm = cnn_xent(z, labels, n, k, smoothing, NULL);
			z[i] = saved;
			assert_near(dz[i],
			            (lp - lm) / ((double)(saved + 1e-3f) - (double)(saved - 1e-3f)),
			            1e-5);
		}
	}
}

/* A teacher's row of probabilities, some of them 0 (the softening must keep those at 0). */
static void
teacher_rows(struct fm_rng *rng, size_t n, size_t k, float *p)
{
	for (size_t b = 0; b < n; b++) {
		double sum = 0;

		for (size_t j = 0; j < k; j++) {
			p[b * k + j] = j == b ? 0 : (float)exp(6 * fm_rng_uniform(rng) - 3);
			sum += p[b * k + j];
		}
		for (size_t j = 0; j < k; j++)
			p[b * k + j] = (float)(p[b * k + j] / sum);
	}
}

static void
distillation_loss_and_its_gradient(void **state)
{
	const size_t n = 3, k = 5;
	const int labels[3] = {0, 4, 2};
	float z[15], dz[15], p[15];
	struct fm_rng rng;

	(void)state;
	fm_rng_seed(&rng, 5);
	for (size_t i = 0; i < n * k; i++)
		z[i] = (float)(4 * fm_rng_uniform(&rng) - 2);
	teacher_rows(&rng, n, k, p);
	for (int c = 0; c < 6; c++) {
		const float weights[6] = {0, 0.3f, 0.5f, 0.7f, 1, 1};
		const float temps[6] = {1, 1, 2, 4, 4, 10};
		float w = weights[c], smoothing = 0.1f;
		double t = temps[c], expect = 0;
		double l = cnn_distill(z, labels, p, n, k, smoothing, w, (float)t, dz);

		/* The definition: (1 - w) xent + w T^2 KL(q || softmax(z / T)), q ~ p^(1/T). */
		for (size_t b = 0; b < n; b++) {
			double se = 0, sq = 0, kl = 0;

			for (size_t j = 0; j < k; j++) {
				se += exp((double)z[b * k + j] / t);
				sq += pow(p[b * k + j], 1.0 / t);
			}
			for (size_t j = 0; j < k; j++) {
				double q = pow(p[b * k + j], 1.0 / t) / sq;

				if (q > 0)
					kl += q * log(q / (exp((double)z[b * k + j] / t) / se));
			}
			expect += w * t * t * kl / n;
		}
		expect += (1 - w) * cnn_xent(z, labels, n, k, smoothing, NULL);
		assert_near(l, expect, 1e-9);
		for (size_t i = 0; i < n * k; i++) {
			float saved = z[i];
			double lp, lm;

			z[i] = saved + 1e-3f;
			lp = cnn_distill(z, labels, p, n, k, smoothing, w, (float)t, NULL);
			z[i] = saved - 1e-3f;
			lm = cnn_distill(z, labels, p, n, k, smoothing, w, (float)t, NULL);
			z[i] = saved;
			assert_near(dz[i],
			            (lp - lm) / ((double)(saved + 1e-3f) - (double)(saved - 1e-3f)),
			            1e-5);
		}
	}
	/* Weight 0 is the cross-entropy, gradient and all. */
	{
		float dx[15];

		assert_near(cnn_distill(z, labels, p, n, k, 0.1f, 0, 4, dz),
		            cnn_xent(z, labels, n, k, 0.1f, dx), 1e-12);
		for (size_t i = 0; i < n * k; i++)
			assert_true(dz[i] == dx[i]);
	}
}

static void
distill_backward_agrees_with_network_gradients(void **state)
{
	struct fm_cnn *net = new_net("conv 3 3 1 1, bn, relu, gap, dense 4", 1, 5, 5, 4, 5);
	const int labels[4] = {3, 0, 1, 1};
	float x[100], p[16], bad[16];
	struct fm_rng rng;
	struct fm_err err;
	double loss;

	(void)state;
	fm_rng_seed(&rng, 9);
	for (size_t i = 0; i < 100; i++)
		x[i] = away_from_zero(&rng);
	teacher_rows(&rng, 4, 4, p);
	assert_int_equal(fm_cnn_forward(net, x, 4, 1, NULL, &err), 0);
	assert_int_equal(fm_cnn_distill_backward(net, labels, 0.1f, p, 0.6f, 3, &loss, &err), 0);
	for (size_t i = 0; i < net->n_params; i += 7) {
		float saved = net->params[i], g = net->grads[i];
		double lp, lm;

		net->params[i] = saved + 1e-2f;
		cnn_net_forward(net, x, 4, 1);
		lp = cnn_distill(net->acts[net->n_layers], labels, p, 4, 4, 0.1f, 0.6f, 3, NULL);
		net->params[i] = saved - 1e-2f;
		cnn_net_forward(net, x, 4, 1);
		lm = cnn_distill(net->acts[net->n_layers], labels, p, 4, 4, 0.1f, 0.6f, 3, NULL);
		net->params[i] = saved;
		assert_near(g, (lp - lm) / 2e-2, GRAD_ATOL + GRAD_RTOL * fabs(g));
	}
	/* Out of range: weight, temperature, a teacher's row that is not a distribution. */
	const float weights[3] = {-0.1f, 1.5f, NAN}, temps[3] = {0.01f, 1000, NAN};
	for (int c = 0; c < 3; c++) {
		assert_int_equal(fm_cnn_forward(net, x, 4, 1, NULL, &err), 0);
		assert_int_equal(
		    fm_cnn_distill_backward(net, labels, 0.1f, p, weights[c], 3, &loss, &err), -1);
		assert_int_equal(err.code, FM_EINVAL);
		assert_int_equal(
		    fm_cnn_distill_backward(net, labels, 0.1f, p, 0.5f, temps[c], &loss, &err), -1);
		assert_int_equal(err.code, FM_EINVAL);
	}
	for (int c = 0; c < 3; c++) {
		memcpy(bad, p, sizeof bad);
		bad[5] = c == 0 ? -0.1f : c == 1 ? NAN : bad[5] + 0.5f;
		assert_int_equal(
		    fm_cnn_distill_backward(net, labels, 0.1f, bad, 0.5f, 3, &loss, &err), -1);
		assert_int_equal(err.code, FM_EINVAL);
	}
	/* Still the forward's: the refusals took nothing. */
	assert_int_equal(fm_cnn_distill_backward(net, labels, 0.1f, p, 0.5f, 3, &loss, &err), 0);
	assert_int_equal(fm_cnn_distill_backward(net, labels, 0.1f, p, 0.5f, 3, &loss, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_cnn_free(net);
}

static void
loss_backward_agrees_with_network_gradients(void **state)
{
	struct fm_cnn *net = new_net("conv 3 3 1 1, bn, relu, gap, dense 4", 1, 5, 5, 4, 5);
	const int labels[4] = {3, 0, 1, 1};
	float x[100];
	struct fm_rng rng;
	struct fm_err err;
	double loss;

	(void)state;
	fm_rng_seed(&rng, 8);
	for (size_t i = 0; i < 100; i++)
		x[i] = away_from_zero(&rng);
	assert_int_equal(fm_cnn_forward(net, x, 4, 1, NULL, &err), 0);
	assert_int_equal(fm_cnn_loss_backward(net, labels, 0.1f, &loss, &err), 0);
	/* A parameter's numeric slope of the mean smoothed loss. */
	for (size_t i = 0; i < net->n_params; i += 7) {
		float saved = net->params[i], g = net->grads[i];
		double lp, lm;

		net->params[i] = saved + 1e-2f;
		cnn_net_forward(net, x, 4, 1);
		lp = cnn_xent(net->acts[net->n_layers], labels, 4, 4, 0.1f, NULL);
		net->params[i] = saved - 1e-2f;
		cnn_net_forward(net, x, 4, 1);
		lm = cnn_xent(net->acts[net->n_layers], labels, 4, 4, 0.1f, NULL);
		net->params[i] = saved;
		assert_near(g, (lp - lm) / 2e-2, GRAD_ATOL + GRAD_RTOL * fabs(g));
	}
	/* A second backward needs a second forward. */
	assert_int_equal(fm_cnn_loss_backward(net, labels, 0.1f, &loss, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_cnn_free(net);
}

static void
bn_inference_uses_running_statistics(void **state)
{
	struct fm_cnn *net = new_net("bn 0.1 0.001", 2, 2, 2, 3, 1);
	struct cnn_layer *l = &net->layers[0];
	float x[24], y[24];

	(void)state;
	for (int i = 0; i < 24; i++)
		x[i] = (float)i * 0.37f - 3.0f;
	l->w[0] = 1.5f;
	l->w[1] = -0.5f;
	l->b[0] = 0.25f;
	l->b[1] = 2.0f;
	l->run_mean[0] = 0.75f;
	l->run_mean[1] = -1.0f;
	l->run_var[0] = 4.0f;
	l->run_var[1] = 0.5f;
	cnn_net_forward(net, x, 3, 0);
	memcpy(y, net->acts[1], sizeof y);
	for (int b = 0; b < 3; b++)
		for (int c = 0; c < 2; c++)
			for (int i = 0; i < 4; i++) {
				int at = (b * 2 + c) * 4 + i;
				double e = l->w[c] * (x[at] - l->run_mean[c]) /
				               sqrt(l->run_var[c] + 0.001) +
				           l->b[c];

				/* float32 arithmetic on values below 10: 1e-5 is ~40 ulps. */
				assert_near(y[at], e, 1e-5);
			}
	/* Inference leaves the running statistics alone; training moves them by momentum. */
	assert_near(l->run_mean[0], 0.75f, 0);
	cnn_net_forward(net, x, 3, 1);
	{
		double s = 0, ss = 0;

		for (int b = 0; b < 3; b++)
			for (int i = 0; i < 4; i++)
				s += x[b * 8 + i];
		for (int b = 0; b < 3; b++)
			for (int i = 0; i < 4; i++)
				ss += (x[b * 8 + i] - s / 12) * (x[b * 8 + i] - s / 12);
		assert_near(l->run_mean[0], 0.9 * 0.75 + 0.1 * s / 12, 1e-5);
		assert_near(l->run_var[0], 0.9 * 4.0 + 0.1 * ss / 11, 1e-5);
	}
	fm_cnn_free(net);
}

static void
dropout_is_identity_in_inference(void **state)
{
	struct fm_cnn *net = new_net("dropout 0.5", 4, 3, 3, 2, 1);
	float x[72];
	size_t zeros = 0;

	(void)state;
	for (int i = 0; i < 72; i++)
		x[i] = (float)i + 1.0f;
	cnn_net_forward(net, x, 2, 0);
	assert_memory_equal(net->acts[1], x, sizeof x);
	cnn_net_forward(net, x, 2, 1);
	for (int i = 0; i < 72; i++) {
		float v = net->acts[1][i];

		if (v == 0.0f)
			zeros++;
		else
			assert_near(v, 2.0f * x[i], 0);
	}
	/* 72 draws at p = 0.5: 36 +- 4.2 zeros; 18 to 54 is beyond 4 standard deviations. */
	assert_in_range(zeros, 18, 54);
	fm_cnn_free(net);
}

/* 8x8 images of four kinds of stroke (row, column, diagonal, anti-diagonal) at random
 * places, in Gaussian noise. */
static void
make_patterns(struct fm_rng *r, float *x, int *labels, size_t n)
{
	for (size_t b = 0; b < n; b++) {
		int cls = (int)fm_rng_below(r, 4), at = (int)fm_rng_below(r, 6) + 1;
		float *im = x + b * 64;

		for (int i = 0; i < 64; i++)
			im[i] = (float)(0.3 * fm_rng_normal(r));
		for (int i = 0; i < 8; i++) {
			int y, xx;

			switch (cls) {
			case 0:
				y = at, xx = i;
				break;
			case 1:
				y = i, xx = at;
				break;
			case 2:
				y = i, xx = (i + at) % 8;
				break;
			default:
				y = i, xx = (8 + at - i) % 8;
				break;
			}
			im[y * 8 + xx] += 1.0f;
		}
		labels[b] = cls;
	}
}

static void
small_network_learns_synthetic_patterns(void **state)
{
	struct fm_cnn *net = new_net("conv 8 3 1 1, bn, relu, maxpool 2, conv 16 3 1 1, bn, relu, "
	                             "gap, dropout 0.1, dense 4",
	                             1, 8, 8, 32, 42);
	const struct fm_optim opt = FM_OPTIM_SGD_DEFAULT;
	const struct fm_lr_schedule sched = {FM_LR_COSINE, 0.1, 0.001, 1, 12, 0, 0};
	float x[32 * 64], probs[32 * 4];
	int labels[32];
	struct fm_rng data;
	struct fm_err err;
	double first = 0, last = 0, loss, lr;
	size_t right = 0;

	(void)state;
	fm_rng_seed(&data, 99);
	/* 12 epochs of 25 steps of 32. */
	for (int step = 0; step < 300; step++) {
		make_patterns(&data, x, labels, 32);
		assert_int_equal(fm_cnn_forward(net, x, 32, 1, NULL, &err), 0);
		assert_int_equal(fm_cnn_loss_backward(net, labels, 0.0f, &loss, &err), 0);
		assert_int_equal(fm_cnn_schedule(&sched, (step + 1) / 25.0, &lr, &err), 0);
		assert_int_equal(fm_cnn_update(net, &opt, (float)lr, &err), 0);
		if (step < 10)
			first += loss / 10;
		if (step >= 290)
			last += loss / 10;
	}
	/* Chance is 25% and a loss of ln 4 = 1.39. */
	if (!(last < first / 4))
		fail_msg("loss fell from %.3f only to %.3f", first, last);
	for (int t = 0; t < 8; t++) {
		make_patterns(&data, x, labels, 32);
		assert_int_equal(fm_cnn_forward(net, x, 32, 0, probs, &err), 0);
		for (int b = 0; b < 32; b++) {
			int best = 0;

			for (int k = 1; k < 4; k++)
				if (probs[b * 4 + k] > probs[b * 4 + best])
					best = k;
			right += best == labels[b];
		}
	}
	if (right < 256 * 9 / 10)
		fail_msg("held-out accuracy %zu of 256", right);
	fm_cnn_free(net);
}

static void
sgd_and_adam_steps_follow_their_formulas(void **state)
{
	struct fm_cnn *net = new_net("dense 2", 1, 1, 3, 1, 1);
	struct fm_optim sgd = {FM_OPTIM_SGD, 0.5f, 1, 0, 0, 0, 0.1f};
	struct fm_optim adam = {FM_OPTIM_ADAM, 0, 0, 0.9f, 0.999f, 1e-8f, 0};
	float w0[8], g[8], v[8];
	struct fm_err err;

	(void)state;
	assert_int_equal(net->n_params, 8);
	memcpy(w0, net->params, sizeof w0);
	for (int i = 0; i < 8; i++)
		g[i] = (float)(i - 3) * 0.25f;
	/* Two Nesterov steps: v = mu v + g + wd w (weights only), w -= lr (d + mu v). */
	for (int i = 0; i < 8; i++)
		v[i] = 0;
	for (int step = 0; step < 2; step++) {
		memcpy(net->grads, g, sizeof g);
		net->have_grad = 1;
		for (int i = 0; i < 8; i++) {
			float d = g[i] + (i < 6 ? 0.1f * w0[i] : 0.0f);

			v[i] = 0.5f * v[i] + d;
			w0[i] -= 0.2f * (d + 0.5f * v[i]);
		}
		assert_int_equal(fm_cnn_update(net, &sgd, 0.2f, &err), 0);
		for (int i = 0; i < 8; i++)
			assert_near(net->params[i], w0[i], 1e-6);
	}
	assert_int_equal(fm_cnn_update(net, &sgd, 0.2f, &err), -1); /* no new gradients */
	assert_int_equal(err.code, FM_EINVAL);
	/* Adam's first step moves every weight with a gradient by lr against its sign. */
	memcpy(w0, net->params, sizeof w0);
	memcpy(net->grads, g, sizeof g);
	net->have_grad = 1;
	assert_int_equal(fm_cnn_update(net, &adam, 0.01f, &err), 0);
	for (int i = 0; i < 8; i++)
		assert_near(net->params[i],
		            w0[i] - (g[i] > 0   ? 0.01f
		                     : g[i] < 0 ? -0.01f
		                                : 0),
		            1e-6);
	adam.beta1 = 1.0f;
	net->have_grad = 1;
	assert_int_equal(fm_cnn_update(net, &adam, 0.01f, &err), -1);
	fm_cnn_free(net);
}

static void
schedules_follow_their_definitions(void **state)
{
	struct fm_lr_schedule cos_s = {FM_LR_COSINE, 0.1, 0.01, 2, 12, 0, 0};
	struct fm_lr_schedule step_s = {FM_LR_STEP, 1.0, 0, 0, 0, 3, 0.5};
	struct fm_err err;
	double lr;

	(void)state;
	assert_int_equal(fm_cnn_schedule(&cos_s, 1, &lr, &err), 0);
	assert_near(lr, 0.05, 1e-12); /* half way up the warm-up */
	assert_int_equal(fm_cnn_schedule(&cos_s, 2, &lr, &err), 0);
	assert_near(lr, 0.1, 1e-12);
	assert_int_equal(fm_cnn_schedule(&cos_s, 7, &lr, &err), 0);
	assert_near(lr, 0.055, 1e-12); /* cos(pi/2): the middle */
	assert_int_equal(fm_cnn_schedule(&cos_s, 12, &lr, &err), 0);
	assert_near(lr, 0.01, 1e-12);
	assert_int_equal(fm_cnn_schedule(&cos_s, 20, &lr, &err), 0);
	assert_near(lr, 0.01, 1e-12);
	assert_int_equal(fm_cnn_schedule(&step_s, 2.9, &lr, &err), 0);
	assert_near(lr, 1.0, 0);
	assert_int_equal(fm_cnn_schedule(&step_s, 6.5, &lr, &err), 0);
	assert_near(lr, 0.25, 0);
	assert_int_equal(fm_cnn_schedule(&step_s, -1, &lr, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	cos_s.total_epochs = 1;
	assert_int_equal(fm_cnn_schedule(&cos_s, 1, &lr, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
}

/* Train a few Adam steps with dropout and BN; return the parameters (malloc'd). */
static float *
train_briefly(uint64_t seed, size_t *n_params)
{
	struct fm_cnn *net =
	    new_net("conv 4 3 1 1, bn, relu, maxpool 2, dropout 0.3, dense 4", 1, 8, 8, 16, seed);
	const struct fm_optim opt = FM_OPTIM_ADAMW_DEFAULT;
	float x[16 * 64], *p;
	int labels[16];
	struct fm_rng data;
	struct fm_err err;

	fm_rng_seed(&data, 5);
	for (int step = 0; step < 5; step++) {
		make_patterns(&data, x, labels, 16);
		assert_int_equal(fm_cnn_forward(net, x, 16, 1, NULL, &err), 0);
		assert_int_equal(fm_cnn_loss_backward(net, labels, 0.1f, NULL, &err), 0);
		assert_int_equal(fm_cnn_update(net, &opt, 0.01f, &err), 0);
	}
	*n_params = net->n_params + net->n_stats;
	p = malloc(*n_params * sizeof *p);
	assert_non_null(p);
	memcpy(p, net->params, net->n_params * sizeof *p);
	memcpy(p + net->n_params, net->stats, net->n_stats * sizeof *p);
	fm_cnn_free(net);
	return p;
}

static void
same_seed_gives_identical_weights(void **state)
{
	size_t n1, n2, n3;
	float *a = train_briefly(1234, &n1), *b = train_briefly(1234, &n2);
	float *c = train_briefly(1235, &n3);

	(void)state;
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1 * sizeof *a);
	assert_memory_not_equal(a, c, n1 * sizeof *a);
	free(a);
	free(b);
	free(c);
}

static void
param_count_and_flops_are_exact(void **state)
{
	/* conv: 4x1x3x3 = 36 weights, no bias before bn; bn: 4 scales + 4 shifts; maxpool
	 * leaves 4x4x4 = 64 inputs to dense 3: 192 weights + 3 biases; conv 5 1 on 4 channels
	 * after relu has a bias: 20 + 5. FLOPs: 2 x 36 x 64 positions + 2 x 20 x 64 + 2 x 80 x
	 * 3. */
	struct fm_cnn *net =
	    new_net("conv 4 3 1 1, bn, relu, maxpool 2, conv 5 1, dense 3", 1, 8, 8, 1, 1);
	uint32_t c, h, w;

	(void)state;
	assert_int_equal(fm_cnn_param_count(net), 36 + 8 + 25 + 80 * 3 + 3);
	assert_int_equal(fm_cnn_flops(net), 2 * 36 * 64 + 2 * 20 * 16 + 2 * 80 * 3);
	assert_int_equal(fm_cnn_n_classes(net), 3);
	assert_string_equal(fm_cnn_desc(net),
	                    "conv 4 3 1 1, bn 0.1 1e-05, relu, maxpool 2 2, conv 5 1 1 0, dense 3");
	fm_cnn_input_shape(net, &c, &h, &w);
	assert_int_equal(c * 100 + h * 10 + w, 188);
	fm_cnn_free(net);
	/* The VGG-style net of the benchmark: 1.18M parameters. */
	net = new_net("conv 32 3 1 1, bn, relu, conv 32 3 1 1, bn, relu, maxpool 2 2, "
	              "conv 64 3 1 1, bn, relu, conv 64 3 1 1, bn, relu, maxpool 2 2, "
	              "conv 128 3 1 1, bn, relu, conv 128 3 1 1, bn, relu, maxpool 2 2, "
	              "conv 256 3 1 1, bn, relu, gap, dropout 0.3, dense 7",
	              1, 48, 48, 1, 1);
	assert_int_equal(fm_cnn_param_count(net),
	                 288 + 9216 + 18432 + 36864 + 73728 + 147456 + 294912 +
	                     2 * (32 + 32 + 64 + 64 + 128 + 128 + 256) + 256 * 7 + 7);
	assert_int_equal(fm_cnn_flops(net),
	                 2ull * (288 * 2304 + 9216 * 2304 + 18432 * 576 + 36864 * 576 +
	                         73728 * 144 + 147456 * 144 + 294912 * 36 + 256 * 7));
	assert_int_equal(fm_cnn_n_classes(net), 7);
	assert_string_equal(fm_cnn_class_name(net, 3), "happy");
	fm_cnn_free(net);
	/* dwconv: one 3x3 filter per channel, 4 x 9 weights, no bias before bn; then 4 x 9 +
	 * 4 with a bias at stride 2 (8x8 to 4x4): 2 x 9 per output. */
	net = new_net("conv 4 1, dwconv 3 1 1, bn, dwconv 3 2 1, dense 3", 1, 8, 8, 1, 1);
	assert_int_equal(fm_cnn_param_count(net), 8 + 36 + 8 + 40 + 64 * 3 + 3);
	assert_int_equal(fm_cnn_flops(net), 2 * 4 * 64 + 2 * 9 * 256 + 2 * 9 * 64 + 2 * 64 * 3);
	assert_string_equal(fm_cnn_desc(net), "conv 4 1 1 0, dwconv 3 1 1, bn 0.1 1e-05, "
	                                      "dwconv 3 2 1, dense 3");
	assert_string_equal(net->tensors[2].name, "1.dwconv.weight");
	assert_int_equal(net->tensors[2].shape[1], 1);
	assert_string_equal(net->tensors[8].name, "3.dwconv.bias");
	fm_cnn_free(net);
}

static void
expect_desc_error(const char *desc, enum fm_errcode code, const char *words)
{
	struct fm_cnn *net = (struct fm_cnn *)1;
	struct fm_err err = {0};

	assert_int_equal(fm_cnn_new(desc, 1, 8, 8, 4, 1, &net, &err), -1);
	assert_null(net);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, words) == NULL)
		fail_msg("message '%s' does not say '%s'", err.msg, words);
}

static void
bad_descriptions_are_refused(void **state)
{
	struct fm_cnn *net;
	struct fm_err err;

	(void)state;
	expect_desc_error("conv 4 3, pool 2, dense 2", FM_EINVAL, "layer 2: unknown layer 'pool'");
	expect_desc_error("conv 4", FM_EINVAL, "takes 2 to 4 numbers");
	expect_desc_error("conv 4 3 0, dense 2", FM_EINVAL, "'0' is not a whole number");
	expect_desc_error("conv -4 3, dense 2", FM_EINVAL, "'-4'");
	expect_desc_error("conv 4 3x, dense 2", FM_EINVAL, "'3x'");
	expect_desc_error("conv 4 9, dense 2", FM_EINVAL, "does not fit");
	expect_desc_error("maxpool 9, dense 2", FM_EINVAL, "does not fit");
	expect_desc_error("dropout 1, dense 2", FM_EINVAL, "probability");
	expect_desc_error("bn 2, dense 2", FM_EINVAL, "momentum");
	expect_desc_error("dense 3,, dense 2", FM_EINVAL, "layer 2 is empty");
	expect_desc_error("gap, dense 1", FM_EINVAL, "2 or more");
	expect_desc_error("dense 70000", FM_EINVAL, "not a whole number");
	expect_desc_error("dwconv, dense 2", FM_EINVAL, "takes 1 to 3 numbers");
	expect_desc_error("dwconv 3 1 1 1, dense 2", FM_EINVAL, "takes 1 to 3 numbers");
	expect_desc_error("dwconv 0, dense 2", FM_EINVAL, "'0' is not a whole number");
	expect_desc_error("dwconv 3 0, dense 2", FM_EINVAL, "'0' is not a whole number");
	expect_desc_error("dwconv 3 1 65, dense 2", FM_EINVAL, "'65' is not a whole number");
	expect_desc_error("dwconv 65, dense 2", FM_EINVAL, "'65'");
	expect_desc_error("dwconv 3 1 x, dense 2", FM_EINVAL, "'x'");
	expect_desc_error("dwconv 9, dense 2", FM_EINVAL,
	                  "layer 1 (dwconv): kernel 9 does not fit");
	expect_desc_error("conv 2 3, dwconv 9 1 1, dense 2", FM_EINVAL, "layer 2 (dwconv)");
	expect_desc_error("conv 65536 64 1 32, conv 65536 64 1 32, dense 2", FM_ELIMIT, "GiB");
	assert_int_equal(fm_cnn_new("dense 2", 0, 8, 8, 1, 1, &net, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(fm_cnn_new("dense 2", 1, 5000, 8, 1, 1, &net, &err), -1);
	assert_int_equal(err.code, FM_ELIMIT);
	assert_int_equal(fm_cnn_new("conv 65536 1, dense 2", 1, 4096, 4096, 1, 1, &net, &err), -1);
	assert_int_equal(err.code, FM_ELIMIT);
	assert_non_null(strstr(err.msg, "values per sample"));
	assert_int_equal(fm_cnn_new("dense 2", 1, 8, 8, 0, 1, &net, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	/* Spacing is free, and the canonical form reads back the same. */
	net = new_net(" conv 2 3 2\t1 ,relu,dropout 0.25 , dense 2 ", 1, 8, 8, 1, 1);
	assert_string_equal(fm_cnn_desc(net), "conv 2 3 2 1, relu, dropout 0.25, dense 2");
	fm_cnn_free(net);
}

static void
forward_refuses_bad_calls(void **state)
{
	struct fm_cnn *net = new_net("dense 2", 1, 1, 2, 2, 1), *inf;
	float x[6] = {1, 2, 3, 4, 5, 6}, p[6];
	int labels[3] = {0, 1, 2};
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_cnn_forward(net, x, 3, 0, p, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(fm_cnn_forward(net, x, 0, 0, p, &err), -1);
	x[1] = NAN;
	assert_int_equal(fm_cnn_forward(net, x, 1, 0, p, &err), -1);
	assert_non_null(strstr(err.msg, "not finite"));
	x[1] = 2;
	assert_int_equal(fm_cnn_forward(net, x, 2, 1, p, &err), 0);
	assert_near(p[0] + p[1], 1.0, 1e-6);
	assert_int_equal(fm_cnn_loss_backward(net, labels + 1, 0.0f, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "label 2"));
	assert_int_equal(fm_cnn_loss_backward(net, labels, 1.0f, NULL, &err), -1);
	assert_int_equal(fm_cnn_clone(net, 4, 0, &inf, &err), 0);
	assert_int_equal(fm_cnn_is_trainable(net), 1);
	assert_int_equal(fm_cnn_is_trainable(inf), 0);
	assert_int_equal(fm_cnn_forward(inf, x, 4, 1, p, &err), -1); /* inference only */
	assert_non_null(strstr(err.msg, "inference only"));
	fm_cnn_free(inf);
	fm_cnn_free(net);
}

/*
 * The folded plan of an inference network against the layer stack of a trainable copy of
 * it. Folding rounds s W once where the stack rounds W x, then s (W x - mean) and the shift:
 * a few float ulps of each logit (logits of order 1 to 10 here), which the softmax keeps
 * below 1e-5 in a probability.
 */
#define PLAN_TOL 1e-5

/* Probabilities of net's trainable twin (the layer stack) and of net (its plan) on n
 * random inputs, within PLAN_TOL. */
static void
assert_plan_matches(struct fm_cnn *net, struct fm_cnn *twin, size_t n, uint64_t seed)
{
	size_t k = fm_cnn_n_classes(net), in = net->in_size;
	float *x = malloc(n * in * sizeof *x), *pa = malloc(n * k * sizeof *pa);
	float *pb = malloc(n * k * sizeof *pb);
	struct fm_rng r;
	struct fm_err err;

	assert_non_null(x);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_non_null(net->steps);
	assert_null(twin->steps);
	fm_rng_seed(&r, seed);
	for (size_t i = 0; i < n * in; i++)
		x[i] = (float)(2 * fm_rng_uniform(&r) - 1);
	assert_int_equal(fm_cnn_forward(twin, x, n, 0, pa, &err), 0);
	assert_int_equal(fm_cnn_forward(net, x, n, 0, pb, &err), 0);
	for (size_t i = 0; i < n * k; i++)
		assert_near(pb[i], pa[i], PLAN_TOL);
	free(x);
	free(pa);
	free(pb);
}

static void
inference_plan_matches_layers(void **state)
{
	/* Every pattern the plan folds or leaves alone: conv with and without a bias, with
	 * and without bn and relu after it, dropout in between, bn with no conv before it,
	 * 1x1 and strided convs, bands of rows (large planes) and images side by side; dwconv
	 * with and without a bias, bn and relu after it. */
	static const char *const descs[] = {
	    "conv 6 3 1 1, bn, relu, maxpool 2, conv 8 3 1 1, bn, relu, gap, dropout 0.3, dense 5",
	    "conv 6 3 2 1, relu, conv 4 1, bn, avgpool 2, dense 7, relu, dense 3",
	    "bn, conv 5 3, dropout 0.5, bn, relu, conv 7 3 1 1, relu, gap, dense 4",
	    "conv 3 5 1 2, bn, dropout 0.1, relu, conv 4 1 1 0, relu, bn, maxpool 3 2, dense 6",
	    "conv 40 3 1 1, bn, relu, conv 40 3 1 1, bn, gap, dense 7",
	    "conv 8 3 2 1, bn, relu, dwconv 3 1 1, bn, relu, conv 12 1, bn, relu, dwconv 3 2 1, "
	    "bn, dropout 0.1, relu, conv 6 1, gap, dense 3",
	    "conv 4 3 1 1, dwconv 3 1 1, relu, dwconv 5 2 2, bn, dwconv 2, gap, dense 4",
	};
	struct fm_err err;

	(void)state;
	for (size_t d = 0; d < sizeof descs / sizeof descs[0]; d++) {
		uint32_t side = d == 4 ? 40 : 12;
		struct fm_cnn *net = new_net(descs[d], d == 1 ? 2 : 1, side, side, 8, 10 + d);
		struct fm_cnn *plan;
		float *x = malloc(8 * net->in_size * sizeof *x);
		struct fm_rng r;
		int labels[8] = {0, 1, 2, 1, 0, 2, 1, 0};

		/* A few steps, so that bn's scales, shifts and running statistics are not
		 * their starting values. */
		assert_non_null(x);
		fm_rng_seed(&r, d);
		for (size_t i = 0; i < 8 * net->in_size; i++)
			x[i] = (float)(2 * fm_rng_uniform(&r) - 1);
		for (int s = 0; s < 3; s++) {
			const struct fm_optim opt = FM_OPTIM_SGD_DEFAULT;

			assert_int_equal(fm_cnn_forward(net, x, 8, 1, NULL, &err), 0);
			assert_int_equal(fm_cnn_loss_backward(net, labels, 0, NULL, &err), 0);
			assert_int_equal(fm_cnn_update(net, &opt, 0.05f, &err), 0);
		}
		assert_int_equal(fm_cnn_clone(net, 8, 0, &plan, &err), 0);
		assert_true(plan->n_steps < plan->n_layers);
		assert_plan_matches(plan, net, 1, 100 + d);
		assert_plan_matches(plan, net, 8, 200 + d);
		assert_int_equal(fm_cnn_set_threads(plan, 2, &err), 0);
		assert_plan_matches(plan, net, 7, 300 + d);
		fm_cnn_free(plan);
		fm_cnn_free(net);
		free(x);
	}
}

/* The shipped models, run through from the repository's root as make check does. */
static void
shipped_models_plan_matches_layers(void **state)
{
	static const char *const paths[] = {"models/fer2013.fm", "models/fer2013-fast.fm"};
	struct fm_err err;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct fm_cnn *net, *twin;

		if (access(paths[i], R_OK) != 0) {
			print_message("%s is missing: skipped\n", paths[i]);
			continue;
		}
		assert_int_equal(fm_cnn_load(paths[i], 16, 0, &net, &err), 0);
		if (fm_cnn_n_members(net) > 0) {
			/* An ensemble has no trainable copy to compare with; its members run
			 * the plan as ensemble_gives_the_mean_of_its_members checks. */
			print_message("%s is an ensemble: skipped\n", paths[i]);
			fm_cnn_free(net);
			continue;
		}
		assert_int_equal(fm_cnn_load(paths[i], 16, 1, &twin, &err), 0);
		assert_plan_matches(net, twin, 1, 7 + i);
		assert_plan_matches(net, twin, 16, 9 + i);
		fm_cnn_free(twin);
		fm_cnn_free(net);
	}
}

static struct fm_cnn *
labelled_net(void)
{
	static const char *const names[3] = {"calm", "tense", "élan"};
	struct fm_cnn *net = new_net("conv 4 3 2 1, bn, relu, maxpool 2, gap, dropout 0.2, dense 3",
	                             1, 12, 12, 4, 77);
	struct fm_err err;
	float x[4 * 144];
	int labels[4] = {0, 1, 2, 1};

	assert_int_equal(fm_cnn_set_classes(net, names, 3, &err), 0);
	assert_int_equal(fm_cnn_set_normalization(net, 127.5f, 64.0f, &err), 0);
	assert_int_equal(fm_cnn_set_crop_margin(net, 0.15f, &err), 0);
	assert_int_equal(fm_cnn_set_info(net, "3 steps on noise\n\"quoted\"", &err), 0);
	/* Move the running statistics away from 0 and 1. */
	for (int i = 0; i < 4 * 144; i++)
		x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
	for (int s = 0; s < 3; s++) {
		const struct fm_optim opt = FM_OPTIM_SGD_DEFAULT;

		assert_int_equal(fm_cnn_forward(net, x, 4, 1, NULL, &err), 0);
		assert_int_equal(fm_cnn_loss_backward(net, labels, 0, NULL, &err), 0);
		assert_int_equal(fm_cnn_update(net, &opt, 0.05f, &err), 0);
	}
	return net;
}

static void
assert_same_outputs(struct fm_cnn *a, struct fm_cnn *b)
{
	float x[2 * 144], pa[6], pb[6];
	struct fm_err err;

	for (int i = 0; i < 2 * 144; i++)
		x[i] = (float)((i * 13) % 29) / 10.0f - 1.4f;
	assert_int_equal(fm_cnn_forward(a, x, 2, 0, pa, &err), 0);
	assert_int_equal(fm_cnn_forward(b, x, 2, 0, pb, &err), 0);
	/* Bit for bit between networks that run alike; a network loaded for inference runs
	 * its folded plan, equal to float rounding (see inference_plan_matches_layers). */
	if ((a->steps == NULL) == (b->steps == NULL))
		assert_memory_equal(pa, pb, sizeof pa);
	else
		for (int i = 0; i < 6; i++)
			assert_near(pa[i], pb[i], PLAN_TOL);
	assert_memory_equal(a->params, b->params, a->n_params * sizeof *a->params);
	assert_memory_equal(a->stats, b->stats, a->n_stats * sizeof *a->stats);
}

static void
save_load_round_trip_is_exact(void **state)
{
	struct fm_cnn *net = labelled_net(), *back, *copy;
	char path[] = "/tmp/test_cnn_XXXXXX";
	unsigned char *bytes;
	struct fm_err err;
	float mean, std;
	size_t n;
	int fd;

	(void)state;
	assert_int_equal(fm_cnn_encode(net, &bytes, &n, &err), 0);
	assert_int_equal(fm_cnn_decode(bytes, n, 2, 0, &back, &err), 0);
	assert_same_outputs(net, back);
	assert_string_equal(fm_cnn_desc(back), fm_cnn_desc(net));
	assert_string_equal(fm_cnn_class_name(back, 2), "élan");
	assert_null(fm_cnn_class_name(back, 3));
	fm_cnn_normalization(back, &mean, &std);
	assert_true(mean == 127.5f && std == 64.0f);
	assert_true(fm_cnn_crop_margin(back) == 0.15f);
	assert_string_equal(fm_cnn_info(back), "3 steps on noise\n\"quoted\"");
	fm_cnn_free(back);
	free(bytes);

	fd = mkstemp(path);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(fm_cnn_save(net, path, &err), 0);
	assert_int_equal(fm_cnn_load(path, 8, 1, &back, &err), 0);
	assert_same_outputs(net, back);
	assert_int_equal(fm_cnn_clone(back, 2, 0, &copy, &err), 0);
	assert_same_outputs(copy, net);
	fm_cnn_free(copy);
	fm_cnn_free(back);
	unlink(path);
	assert_int_equal(fm_cnn_load(path, 1, 0, &back, &err), -1);
	assert_int_equal(err.code, FM_EIO);
	assert_non_null(strstr(err.msg, path));
	fm_cnn_free(net);
}

static void
dwconv_model_round_trips(void **state)
{
	struct fm_cnn *net =
	                  new_net("conv 4 3 2 1, bn, relu, dwconv 3 1 1, bn, relu, dwconv 3 2 1, "
	                          "relu, gap, dense 3",
	                          1, 12, 12, 4, 5),
	              *back, *train;
	unsigned char *bytes, *again;
	size_t n, n_again;
	struct fm_err err;

	(void)state;
	/* Weights off their starting values: bn's too, and the running statistics. */
	for (size_t i = 0; i < net->n_params; i++)
		net->params[i] += 0.01f * (float)(i % 7);
	for (size_t i = 0; i < net->n_stats; i++)
		net->stats[i] += 0.02f * (float)(i % 5);
	assert_int_equal(fm_cnn_encode(net, &bytes, &n, &err), 0);
	assert_int_equal(fm_get_le32(bytes + 8), 1); /* no new format version */
	assert_int_equal(fm_cnn_decode(bytes, n, 2, 0, &back, &err), 0);
	assert_int_equal(fm_cnn_decode(bytes, n, 2, 1, &train, &err), 0);
	assert_string_equal(fm_cnn_desc(back), fm_cnn_desc(net));
	assert_memory_equal(back->params, net->params, net->n_params * sizeof *net->params);
	assert_memory_equal(back->stats, net->stats, net->n_stats * sizeof *net->stats);
	assert_plan_matches(back, train, 2, 3);
	assert_int_equal(fm_cnn_encode(back, &again, &n_again, &err), 0);
	assert_int_equal(n_again, n);
	assert_memory_equal(again, bytes, n);
	free(again);
	free(bytes);
	fm_cnn_free(train);
	fm_cnn_free(back);
	fm_cnn_free(net);
}

/* Steps on a fixed batch; dropout reseeded first, as each fer-train epoch does. */
static void
take_steps(struct fm_cnn *net, const struct fm_optim *opt, int steps)
{
	float x[4 * 144];
	int labels[4] = {2, 0, 1, 1};
	struct fm_err err;

	for (int i = 0; i < 4 * 144; i++)
		x[i] = (float)((i * 53) % 97) / 40.0f - 1.2f;
	fm_cnn_seed(net, 5);
	for (int s = 0; s < steps; s++) {
		assert_int_equal(fm_cnn_forward(net, x, 4, 1, NULL, &err), 0);
		assert_int_equal(fm_cnn_loss_backward(net, labels, 0.1f, NULL, &err), 0);
		assert_int_equal(fm_cnn_update(net, opt, 0.03f, &err), 0);
	}
}

static void
checkpoint_resume_is_bit_exact(void **state)
{
	const struct fm_optim optims[2] = {FM_OPTIM_SGD_DEFAULT, FM_OPTIM_ADAMW_DEFAULT};
	char path[] = "/tmp/test_cnn_XXXXXX";
	struct fm_err err;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd != -1);
	close(fd);
	for (int k = 0; k < 2; k++) {
		struct fm_cnn *net = labelled_net(), *back, *plain, *inf;

		take_steps(net, &optims[k], 2);
		assert_int_equal(fm_cnn_save_checkpoint(net, path, &err), 0);
		assert_int_equal(fm_cnn_load(path, 4, 1, &back, &err), 0);
		/* An inference load of a checkpoint skips the moments. */
		assert_int_equal(fm_cnn_load(path, 4, 0, &inf, &err), 0);
		assert_same_outputs(net, inf);
		assert_int_equal(fm_cnn_save(net, path, &err), 0);
		assert_int_equal(fm_cnn_load(path, 4, 1, &plain, &err), 0);
		take_steps(net, &optims[k], 3);
		take_steps(back, &optims[k], 3);
		assert_same_outputs(net, back);
		assert_memory_equal(net->opt_m, back->opt_m, net->n_params * sizeof *net->opt_m);
		/* Without the state the momentum restarts and the weights part ways. */
		take_steps(plain, &optims[k], 3);
		assert_true(
		    memcmp(net->params, plain->params, net->n_params * sizeof *net->params) != 0);
		fm_cnn_free(inf);
		fm_cnn_free(plain);
		fm_cnn_free(back);
		fm_cnn_free(net);
	}
	unlink(path);
}

static void
expect_model_error(const unsigned char *bytes, size_t n, enum fm_errcode code, const char *words)
{
	struct fm_cnn *net = (struct fm_cnn *)1;
	struct fm_err err = {0};

	assert_int_equal(fm_cnn_decode(bytes, n, 1, 0, &net, &err), -1);
	assert_null(net);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, words) == NULL)
		fail_msg("message '%s' does not say '%s'", err.msg, words);
}

static void
damaged_model_files_are_format_errors(void **state)
{
	struct fm_cnn *net = labelled_net();
	unsigned char *bytes, *copy;
	struct fm_err err;
	size_t n;

	(void)state;
	assert_int_equal(fm_cnn_encode(net, &bytes, &n, &err), 0);
	fm_cnn_free(net);
	copy = malloc(n);
	assert_non_null(copy);
	/* Truncated anywhere, down to nothing. */
	const size_t cuts[] = {0, 5, 8, 23, 24, 100, n - 200, n - 4, n - 1};

	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
		expect_model_error(bytes, cuts[i], FM_EFORMAT, "truncated");
	/* One bit flipped in the header, in the weights, in the checksum. */
	const size_t flips[] = {30, n / 2, n - 10, n - 2};

	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		memcpy(copy, bytes, n);
		copy[flips[i]] ^= 0x10;
		expect_model_error(copy, n, FM_EFORMAT, "checksum mismatch");
	}
	/* Foreign files. */
	expect_model_error((const unsigned char *)"P5\n48 48\n255\n", 13, FM_EFORMAT, "bad magic");
	expect_model_error((const unsigned char *)"\x89PNG\r\n\x1a\n", 8, FM_EFORMAT, "bad magic");
	/* A newer format version, version 0, a huge header, a stray tail. */
	memcpy(copy, bytes, n);
	copy[8] = 3;
	expect_model_error(copy, n, FM_EFORMAT, "newer");
	copy[8] = 0;
	expect_model_error(copy, n, FM_EFORMAT, "invalid");
	memcpy(copy, bytes, n);
	copy[15] = 0x40;
	expect_model_error(copy, n, FM_EFORMAT, "over the");
	memcpy(copy, bytes, n);
	copy[23] = 0x40; /* 2^62 bytes of weights */
	expect_model_error(copy, n, FM_EFORMAT, "truncated");
	free(copy);
	copy = malloc(n + 3);
	assert_non_null(copy);
	memcpy(copy, bytes, n);
	expect_model_error(copy, n + 3, FM_EFORMAT, "stray");
	free(copy);
	free(bytes);
}

/* A model file around a header and weights of our choosing, with a correct checksum. */
static unsigned char *
forge(const char *header, const float *w, size_t nw, size_t *n)
{
	size_t hl = strlen(header), total = 24 + hl + 4 * nw + 4;
	unsigned char *b = malloc(total);
	uint32_t crc;

	assert_non_null(b);
	memcpy(b,
	       "\x89"
	       "FMCNN\r\n",
	       8);
	b[8] = 1, b[9] = b[10] = b[11] = 0;
	for (int i = 0; i < 4; i++)
		b[12 + i] = (unsigned char)(hl >> (8 * i));
	for (int i = 0; i < 8; i++)
		b[16 + i] = (unsigned char)((uint64_t)(4 * nw) >> (8 * i));
	memcpy(b + 24, header, hl);
	memcpy(b + 24 + hl, w, 4 * nw); /* little-endian host */
	crc = cnn_crc32(0, b, total - 4);
	for (int i = 0; i < 4; i++)
		b[total - 4 + i] = (unsigned char)(crc >> (8 * i));
	*n = total;
	return b;
}

#define HDR(arch, input, classes, tensors)                                                         \
	"{\"format\":\"fermata-cnn\",\"arch\":\"" arch "\",\"input\":" input                       \
	",\"classes\":" classes ",\"normalize\":{\"mean\":0,\"std\":1},\"crop_margin\":0,"         \
	"\"training\":\"\",\"dtype\":\"float32le\",\"tensors\":" tensors "}"
#define HDR_OPT(optim)                                                                             \
	"{\"format\":\"fermata-cnn\",\"arch\":\"dense 2\",\"input\":[1,1,2],"                      \
	"\"classes\":[\"a\",\"b\"],\"normalize\":{\"mean\":0,\"std\":1},\"crop_margin\":0,"        \
	"\"training\":\"\",\"dtype\":\"float32le\",\"tensors\":" T_DENSE ",\"optimizer\":" optim   \
	"}"
#define T_DENSE                                                                                    \
	"[{\"name\":\"0.dense.weight\",\"shape\":[2,2]},{\"name\":\"0.dense.bias\",\"shape\":[2]}" \
	"]"

static void
inconsistent_model_headers_are_format_errors(void **state)
{
	const float w[18] = {1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
	const float nan_w[6] = {1, NAN, 3, 4, 5, 6};
	struct {
		const char *header;
		const float *w;
		size_t nw;
		const char *words;
	} cases[] = {
	    {HDR("dense 2", "[1,1,2]", "[\"a\",\"b\"]", T_DENSE), w, 6, NULL},
	    {"[1,2]", w, 6, "not a JSON object"},
	    {"{\"format\":", w, 6, "not valid JSON"},
	    {HDR("dense 2", "[1,1,2]", "[\"a\",\"b\"]", T_DENSE), w, 5, "needs 24"},
	    {HDR("dense 3", "[1,1,2]", "[\"a\",\"b\"]", T_DENSE), w, 6, "needs 36"},
	    {HDR("dense 2, pool", "[1,1,2]", "[\"a\",\"b\"]", T_DENSE), w, 6, "unknown layer"},
	    {HDR("dense 2", "[1,1,2.5]", "[\"a\",\"b\"]", T_DENSE), w, 6, "\"input\""},
	    {HDR("dense 2", "[1,1,1e9]", "[\"a\",\"b\"]", T_DENSE), w, 6, "\"input\""},
	    {HDR("dense 2", "[1,1,2]", "[\"a\"]", T_DENSE), w, 6, "should list 2"},
	    {HDR("dense 2", "[1,1,2]", "[\"a\",\"\"]", T_DENSE), w, 6, "class name 1"},
	    {HDR("dense 2", "[1,1,2]", "[\"a\",7]", T_DENSE), w, 6, "not a string"},
	    {HDR("dense 2", "[1,1,2]", "[\"a\",\"b\"]",
	         "[{\"name\":\"0.dense.weight\",\"shape\":[2,2]}]"),
	     w, 6, "fewer tensors"},
	    {HDR("dense 2", "[1,1,2]", "[\"a\",\"b\"]",
	         "[{\"name\":\"0.dense.weight\",\"shape\":[1,4]},"
	         "{\"name\":\"0.dense.bias\",\"shape\":[2]}]"),
	     w, 6, "wrong shape"},
	    {HDR("dense 2", "[1,1,2]", "[\"a\",\"b\"]", T_DENSE), nan_w, 6, "non-finite"},
	    /* Checkpoints: the optimiser's moments follow the weights, one array per moment. */
	    {HDR_OPT("{\"kind\":\"sgd\",\"steps\":3}"), w, 12, NULL},
	    {HDR_OPT("{\"kind\":\"adamw\",\"steps\":3}"), w, 18, NULL},
	    {HDR_OPT("{\"kind\":\"sgd\",\"steps\":3}"), w, 6, "needs 48"},
	    {HDR_OPT("{\"kind\":\"adam\",\"steps\":3}"), w, 12, "needs 72"},
	    {HDR_OPT("{\"kind\":\"rmsprop\",\"steps\":3}"), w, 12, "\"optimizer\""},
	    {HDR_OPT("{\"kind\":\"sgd\",\"steps\":0}"), w, 12, "\"optimizer\""},
	    {HDR_OPT("{\"kind\":\"sgd\",\"steps\":1.5}"), w, 12, "\"optimizer\""},
	    /* A huge architecture over a few bytes is refused before anything is allocated. */
	    {HDR("conv 65536 64 1 32, conv 65536 64 1 32, dense 2", "[1,1,2]", "[\"a\",\"b\"]",
	         T_DENSE),
	     w, 6, "architecture needs"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n;
		unsigned char *b = forge(cases[i].header, cases[i].w, cases[i].nw, &n);
		struct fm_cnn *net = NULL;
		struct fm_err err = {0};

		if (cases[i].words == NULL) {
			if (fm_cnn_decode(b, n, 1, 0, &net, &err) == -1)
				fail_msg("forged good file: %s", err.msg);
			assert_string_equal(fm_cnn_class_name(net, 1), "b");
			fm_cnn_free(net);
		} else if (*cases[i].words == '\0') {
			assert_int_equal(fm_cnn_decode(b, n, 1, 0, &net, &err), -1);
			assert_int_equal(err.code, FM_ELIMIT);
		} else {
			expect_model_error(b, n, FM_EFORMAT, cases[i].words);
		}
		free(b);
	}
}

static void
crc32_matches_the_standard_check_value(void **state)
{
	(void)state;
	/* The check value of CRC-32/ISO-HDLC (zlib's crc32) for "123456789". */
	assert_int_equal(cnn_crc32(0, (const unsigned char *)"123456789", 9), 0xcbf43926u);
	assert_int_equal(cnn_crc32(cnn_crc32(0, (const unsigned char *)"1234", 4),
	                           (const unsigned char *)"56789", 5),
	                 0xcbf43926u);
}

/* ---- ensembles ------------------------------------------------------------------------ */

/* A small trained network on 1x12x12 inputs, 3 classes named as labelled_net's. */
static struct fm_cnn *
small_net(const char *desc, uint64_t seed)
{
	static const char *const names[3] = {"calm", "tense", "élan"};
	struct fm_cnn *net = new_net(desc, 1, 12, 12, 4, seed);
	struct fm_err err;
	float x[4 * 144];
	int labels[4] = {0, 1, 2, 1};

	assert_int_equal(fm_cnn_set_classes(net, names, 3, &err), 0);
	assert_int_equal(fm_cnn_set_normalization(net, 127.5f, 64.0f, &err), 0);
	assert_int_equal(fm_cnn_set_crop_margin(net, 0.15f, &err), 0);
	for (int i = 0; i < 4 * 144; i++)
		x[i] = (float)((i * 37 + (int)seed) % 101) / 50.0f - 1.0f;
	for (int s = 0; s < 3; s++) {
		const struct fm_optim opt = FM_OPTIM_SGD_DEFAULT;

		assert_int_equal(fm_cnn_forward(net, x, 4, 1, NULL, &err), 0);
		assert_int_equal(fm_cnn_loss_backward(net, labels, 0, NULL, &err), 0);
		assert_int_equal(fm_cnn_update(net, &opt, 0.05f, &err), 0);
	}
	return net;
}

#define NET_A "conv 4 3 2 1, bn, relu, maxpool 2, gap, dropout 0.2, dense 3"
#define NET_B "conv 6 3 1 1, relu, maxpool 2, conv 5 3, bn, relu, gap, dense 3"

static void
ensemble_gives_the_mean_of_its_members(void **state)
{
	struct fm_cnn *nets[2] = {small_net(NET_A, 1), small_net(NET_B, 2)}, *ens, *copy;
	struct fm_cnn *inf[2];
	float x[5 * 144], p[15], q[2][15], mean[15];
	struct fm_err err;

	(void)state;
	for (int i = 0; i < 5 * 144; i++)
		x[i] = (float)((i * 11) % 23) / 10.0f - 1.1f;
	assert_int_equal(fm_cnn_ensemble(nets, 2, 5, &ens, &err), 0);
	assert_int_equal(fm_cnn_n_members(ens), 2);
	assert_int_equal(fm_cnn_n_members(nets[0]), 0);
	assert_int_equal(fm_cnn_n_classes(ens), 3);
	assert_int_equal(fm_cnn_max_batch(ens), 5);
	assert_string_equal(fm_cnn_class_name(ens, 2), "élan");
	assert_true(fm_cnn_crop_margin(ens) == 0.15f);
	assert_int_equal(fm_cnn_param_count(ens),
	                 fm_cnn_param_count(nets[0]) + fm_cnn_param_count(nets[1]));
	assert_true(fm_cnn_flops(ens) == fm_cnn_flops(nets[0]) + fm_cnn_flops(nets[1]));
	assert_string_equal(fm_cnn_desc(ens), "conv 4 3 2 1, bn 0.1 1e-05, relu, maxpool 2 2, "
	                                      "gap, dropout 0.2, dense 3 | conv 6 3 1 1, relu, "
	                                      "maxpool 2 2, conv 5 3 1 0, bn 0.1 1e-05, relu, "
	                                      "gap, dense 3");
	/* Each member as a network loaded for inference would run it, then the mean in the
	 * ensemble's order of operations: exactly, not within a tolerance. */
	for (int m = 0; m < 2; m++) {
		assert_int_equal(fm_cnn_clone(nets[m], 5, 0, &inf[m], &err), 0);
		assert_int_equal(fm_cnn_forward(inf[m], x, 5, 0, q[m], &err), 0);
	}
	for (int i = 0; i < 15; i++)
		mean[i] = (q[0][i] + q[1][i]) / 2.0f;
	assert_int_equal(fm_cnn_forward(ens, x, 5, 0, p, &err), 0);
	assert_memory_equal(p, mean, sizeof p);
	/* Batch 1, its copies, and threads. */
	assert_int_equal(fm_cnn_forward(ens, x, 1, 0, p, &err), 0);
	assert_memory_equal(p, mean, 3 * sizeof *p);
	assert_int_equal(fm_cnn_clone(ens, 5, 0, &copy, &err), 0);
	assert_int_equal(fm_cnn_set_threads(copy, 2, &err), 0);
	assert_int_equal(fm_cnn_threads(copy), 2);
	assert_int_equal(fm_cnn_forward(copy, x, 5, 0, p, &err), 0);
	for (int i = 0; i < 15; i++)
		assert_near(p[i], mean[i], 1e-6);
	fm_cnn_free(copy);
	/* Inference only. */
	assert_int_equal(fm_cnn_forward(ens, x, 5, 1, p, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_non_null(strstr(err.msg, "ensemble"));
	copy = (struct fm_cnn *)1;
	assert_int_equal(fm_cnn_clone(ens, 5, 1, &copy, &err), -1);
	assert_null(copy);
	assert_int_equal(fm_cnn_forward(ens, x, 6, 0, p, &err), -1);
	for (int m = 0; m < 2; m++) {
		fm_cnn_free(inf[m]);
		fm_cnn_free(nets[m]);
	}
	fm_cnn_free(ens);
}

static void
expect_ensemble_error(struct fm_cnn *const *nets, size_t n, enum fm_errcode code, const char *words)
{
	struct fm_cnn *ens = (struct fm_cnn *)1;
	struct fm_err err = {0};

	assert_int_equal(fm_cnn_ensemble(nets, n, 2, &ens, &err), -1);
	assert_null(ens);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, words) == NULL)
		fail_msg("message '%s' does not say '%s'", err.msg, words);
}

static void
mismatched_members_are_refused(void **state)
{
	static const char *const other[3] = {"calm", "tense", "joy"};
	struct fm_cnn *a = small_net(NET_A, 1), *nets[FM_CNN_MAX_MEMBERS + 1], *ens;
	struct fm_err err;

	(void)state;
	nets[0] = a;
	expect_ensemble_error(nets, 1, FM_EINVAL, "2 to 16 networks, not 1");
	for (size_t i = 0; i <= FM_CNN_MAX_MEMBERS; i++)
		nets[i] = a;
	expect_ensemble_error(nets, FM_CNN_MAX_MEMBERS + 1, FM_EINVAL, "not 17");
	nets[1] = new_net("conv 2 3, gap, dense 3", 1, 10, 12, 2, 3);
	expect_ensemble_error(nets, 2, FM_EINVAL, "network 2 takes 1x10x12 inputs");
	fm_cnn_free(nets[1]);
	nets[1] = new_net("gap, dense 4", 1, 12, 12, 2, 3);
	expect_ensemble_error(nets, 2, FM_EINVAL, "network 2 has 4 classes, network 1 3");
	fm_cnn_free(nets[1]);
	nets[1] = small_net(NET_B, 2);
	assert_int_equal(fm_cnn_set_classes(nets[1], other, 3, &err), 0);
	expect_ensemble_error(nets, 2, FM_EINVAL, "calls class 2 \"joy\"");
	assert_int_equal(fm_cnn_set_classes(nets[1], (const char *const *)a->classes, 3, &err), 0);
	assert_int_equal(fm_cnn_set_normalization(nets[1], 127.5f, 65.0f, &err), 0);
	expect_ensemble_error(nets, 2, FM_EINVAL, "std 65");
	assert_int_equal(fm_cnn_set_normalization(nets[1], 127.5f, 64.0f, &err), 0);
	assert_int_equal(fm_cnn_set_crop_margin(nets[1], 0.1f, &err), 0);
	expect_ensemble_error(nets, 2, FM_EINVAL, "crop margin");
	assert_int_equal(fm_cnn_set_crop_margin(nets[1], 0.15f, &err), 0);
	/* Now they agree; an ensemble of them is no member of another. */
	assert_int_equal(fm_cnn_ensemble(nets, 2, 2, &ens, &err), 0);
	nets[2] = ens;
	expect_ensemble_error(nets, 3, FM_EINVAL, "network 3 is itself an ensemble");
	fm_cnn_free(ens);
	fm_cnn_free(nets[1]);
	fm_cnn_free(a);
}

/* The version field of a forged file, with its CRC made right again. */
static void
set_version(unsigned char *b, size_t n, uint32_t v)
{
	uint32_t crc;

	fm_put_le32(b + 8, v);
	crc = cnn_crc32(0, b, n - 4);
	fm_put_le32(b + n - 4, crc);
}

static void
ensemble_file_round_trips(void **state)
{
	struct fm_cnn *nets[2] = {small_net(NET_A, 1), small_net(NET_B, 2)}, *ens, *back;
	char path[] = "/tmp/test_cnn_XXXXXX";
	unsigned char *bytes, *single;
	float x[3 * 144], p[9], q[9];
	struct fm_err err;
	size_t n, n_single;
	int fd;

	(void)state;
	for (int i = 0; i < 3 * 144; i++)
		x[i] = (float)((i * 7) % 19) / 9.0f - 1.0f;
	assert_int_equal(fm_cnn_set_info(nets[1], "member b", &err), 0);
	assert_int_equal(fm_cnn_ensemble(nets, 2, 3, &ens, &err), 0);
	assert_int_equal(fm_cnn_set_info(ens, "a and b", &err), 0);
	assert_int_equal(fm_cnn_encode(ens, &bytes, &n, &err), 0);
	assert_int_equal(fm_get_le32(bytes + 8), 2);
	assert_int_equal(fm_cnn_encode(nets[0], &single, &n_single, &err), 0);
	assert_int_equal(fm_get_le32(single + 8), 1); /* a single network stays version 1 */
	free(single);
	assert_int_equal(fm_cnn_decode(bytes, n, 3, 0, &back, &err), 0);
	assert_int_equal(fm_cnn_n_members(back), 2);
	assert_string_equal(fm_cnn_desc(back), fm_cnn_desc(ens));
	assert_string_equal(fm_cnn_info(back), "a and b");
	assert_string_equal(fm_cnn_info(back->members[1]), "member b");
	assert_string_equal(fm_cnn_class_name(back, 2), "élan");
	assert_true(fm_cnn_crop_margin(back) == 0.15f);
	for (int m = 0; m < 2; m++)
		assert_memory_equal(back->members[m]->params, ens->members[m]->params,
		                    ens->members[m]->n_params * sizeof(float));
	assert_int_equal(fm_cnn_forward(ens, x, 3, 0, p, &err), 0);
	assert_int_equal(fm_cnn_forward(back, x, 3, 0, q, &err), 0);
	assert_memory_equal(p, q, sizeof p);
	fm_cnn_free(back);
	/* Saved and loaded by path; trainable, it is refused, saying why. */
	fd = mkstemp(path);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(fm_cnn_save(ens, path, &err), 0);
	assert_int_equal(fm_cnn_load(path, 3, 0, &back, &err), 0);
	assert_int_equal(fm_cnn_forward(back, x, 3, 0, q, &err), 0);
	assert_memory_equal(p, q, sizeof p);
	fm_cnn_free(back);
	assert_int_equal(fm_cnn_load(path, 3, 1, &back, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_non_null(strstr(err.msg, "an ensemble of 2 networks cannot be trained"));
	assert_non_null(strstr(err.msg, path));
	unlink(path);
	/* As version 1 the same bytes are no single network; version 3 is refused. */
	set_version(bytes, n, 1);
	expect_model_error(bytes, n, FM_EFORMAT, "no \"arch\"");
	set_version(bytes, n, 3);
	expect_model_error(bytes, n, FM_EFORMAT, "newer");
	free(bytes);
	fm_cnn_free(ens);
	fm_cnn_free(nets[0]);
	fm_cnn_free(nets[1]);
}

#define ENS_TOP                                                                                    \
	"{\"format\":\"fermata-cnn\",\"input\":[1,1,2],\"classes\":[\"a\",\"b\"],"                 \
	"\"normalize\":{\"mean\":0,\"std\":1},\"crop_margin\":0,\"training\":\"\","                \
	"\"dtype\":\"float32le\""
#define ENS_MEMBER "{\"arch\":\"dense 2\",\"training\":\"\",\"tensors\":" T_DENSE "}"

static void
inconsistent_ensemble_headers_are_format_errors(void **state)
{
	const float w[13] = {1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1, 3, 0};
	struct {
		const char *header;
		size_t nw;
		const char *words;
	} cases[] = {
	    {ENS_TOP ",\"members\":[" ENS_MEMBER "," ENS_MEMBER "]}", 12, NULL},
	    {ENS_TOP ",\"members\":[" ENS_MEMBER "," ENS_MEMBER "]}", 11, "member 2:"},
	    {ENS_TOP ",\"members\":[" ENS_MEMBER "," ENS_MEMBER "]}", 13, "past its members"},
	    {ENS_TOP ",\"members\":[" ENS_MEMBER "]}", 6, "2 to 16 networks"},
	    {ENS_TOP ",\"members\":{}}", 6, "2 to 16 networks"},
	    {ENS_TOP "}", 6, "2 to 16 networks"},
	    {ENS_TOP ",\"members\":[" ENS_MEMBER ",7]}", 12, "not an object"},
	    {ENS_TOP ",\"members\":[" ENS_MEMBER ",{\"arch\":\"dense 3\",\"training\":\"\","
	             "\"tensors\":" T_DENSE "}]}",
	     12, "member 2: model has 24 bytes of weights left, its architecture needs 36"},
	    {ENS_TOP ",\"members\":[" ENS_MEMBER ",{\"arch\":\"dense 2\",\"tensors\":" T_DENSE
	             "}]}",
	     12, "member 2: model header: no \"training\""},
	    {ENS_TOP ",\"members\":[" ENS_MEMBER ",{\"arch\":\"dense 2\",\"training\":\"\","
	             "\"tensors\":" T_DENSE ",\"optimizer\":{\"kind\":\"sgd\",\"steps\":3}}]}",
	     12, "optimizer state"},
	    {"{\"format\":\"fermata-cnn\",\"input\":[1,1,2],\"classes\":[\"a\"],"
	     "\"normalize\":{\"mean\":0,\"std\":1},\"crop_margin\":0,\"training\":\"\","
	     "\"dtype\":\"float32le\",\"members\":[" ENS_MEMBER "," ENS_MEMBER "]}",
	     12, "member 1: model header: \"classes\" should list 2"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n;
		unsigned char *b = forge(cases[i].header, w, cases[i].nw, &n);
		struct fm_cnn *net = NULL;
		struct fm_err err = {0};

		set_version(b, n, 2);
		if (cases[i].words == NULL) {
			float in[2] = {1, -1}, p[2];

			if (fm_cnn_decode(b, n, 1, 0, &net, &err) == -1)
				fail_msg("case %zu: %s", i, err.msg);
			assert_int_equal(fm_cnn_n_members(net), 2);
			/* Logits (4, 5) and (1, 3): b with probabilities sigmoid(1) and
			 * sigmoid(2), whose mean is 0.806 (the mean logits would give 0.818). */
			assert_int_equal(fm_cnn_forward(net, in, 1, 0, p, &err), 0);
			assert_near(p[1], (1 / (1 + exp(-1.0)) + 1 / (1 + exp(-2.0))) / 2, 1e-6);
			fm_cnn_free(net);
		} else {
			expect_model_error(b, n, FM_EFORMAT, cases[i].words);
		}
		free(b);
	}
}

/* ---- fully convolutional networks, raw outputs, other input sizes -------------------- */

/* n random floats in [-1, 1]. */
static float *
random_floats(size_t n, uint64_t seed)
{
	float *x = malloc(n * sizeof *x);
	struct fm_rng r;

	assert_non_null(x);
	fm_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(2 * fm_rng_uniform(&r) - 1);
	return x;
}

/* sum(r * y) over a training forward of net, through the public calls. */
static double
raw_objective(struct fm_cnn *net, const float *x, size_t n, const float *r, float *y)
{
	struct fm_err err;
	uint32_t c, h, w;
	double l = 0;

	fm_cnn_output_shape(net, &c, &h, &w);
	assert_int_equal(fm_cnn_forward_raw(net, x, n, 1, y, &err), 0);
	for (size_t i = 0; i < n * c * h * w; i++)
		l += (double)r[i] * y[i];
	return l;
}

static void
fully_conv_gradients_through_backward(void **state)
{
	/* Smooth layers (no relu: see dwconv_gradients_match_finite_differences), bn after a
	 * strided conv and after a dwconv, a strided dwconv, a 1x1 head of 13 channels. */
	struct fm_cnn *net = new_net("conv 4 3 2 1, bn, dwconv 3 1 1, bn 0.2, conv 6 1, "
	                             "dwconv 3 2 1, conv 13 1",
	                             3, 12, 10, 3, 21);
	const size_t n = 3;
	uint32_t c, h, w;
	float *x = random_floats(n * 3 * 12 * 10, 1), *r, *y, *grads;
	struct fm_err err;
	struct grad_stats st = {0, 0};
	int labels[3] = {0, 1, 2};
	float bad;

	(void)state;
	fm_cnn_output_shape(net, &c, &h, &w);
	assert_int_equal(c, 13);
	assert_int_equal(h, 3);
	assert_int_equal(w, 3);
	assert_true(fm_cnn_is_fully_conv(net));
	assert_int_equal(fm_cnn_n_classes(net), 13);
	assert_string_equal(fm_cnn_class_name(net, 12), "12");
	assert_null(fm_cnn_class_name(net, 13));
	r = random_floats(n * c * h * w, 2);
	y = malloc(n * c * h * w * sizeof *y);
	grads = malloc(net->n_params * sizeof *grads);
	assert_non_null(y);
	assert_non_null(grads);
	for (size_t i = 0; i < net->n_tensors; i++)
		if (!net->tensors[i].is_stat && !net->tensors[i].decay)
			for (size_t j = 0; j < net->tensors[i].n; j++)
				net->tensors[i].data[j] += 0.1f * (float)(j % 5);

	/* What a fully convolutional network refuses, and a backward needs. */
	assert_int_equal(fm_cnn_backward(net, r, &err), -1);
	assert_non_null(strstr(err.msg, "without a training forward"));
	assert_int_equal(fm_cnn_forward(net, x, n, 0, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "fully convolutional"));
	raw_objective(net, x, n, r, y);
	assert_int_equal(fm_cnn_loss_backward(net, labels, 0, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "fully convolutional"));
	bad = r[5];
	r[5] = NAN;
	assert_int_equal(fm_cnn_backward(net, r, &err), -1);
	assert_non_null(strstr(err.msg, "not finite"));
	r[5] = bad;

	raw_objective(net, x, n, r, y);
	assert_int_equal(fm_cnn_backward(net, r, &err), 0);
	memcpy(grads, net->grads, net->n_params * sizeof *grads);
	for (size_t i = 0; i < net->n_params; i++) {
		float saved = net->params[i];
		double lp, lm, num;

		net->params[i] = saved + (float)GRAD_H;
		lp = raw_objective(net, x, n, r, y);
		net->params[i] = saved - (float)GRAD_H;
		lm = raw_objective(net, x, n, r, y);
		net->params[i] = saved;
		num = (lp - lm) / (2 * GRAD_H);
		st.checked++;
		if (fabs(grads[i] - num) > GRAD_ATOL + GRAD_RTOL * fabs(num))
			fail_msg("parameter %zu: analytic %.6f, numeric %.6f", i, (double)grads[i],
			         num);
	}
	assert_true(st.checked == net->n_params);
	free(x);
	free(r);
	free(y);
	free(grads);
	fm_cnn_free(net);
}

static void
losses_go_through_backward(void **state)
{
	struct fm_cnn *net =
	    new_net("conv 4 3 2 1, bn, relu, dwconv 3 1 1, relu, gap, dense 3", 1, 8, 8, 4, 5);
	float *x = random_floats(4 * 64, 3), z[12], dz[12], p[12], q[12], *ga;
	int labels[4] = {2, 0, 1, 1};
	uint32_t c, h, w;
	struct fm_err err;
	double loss;

	(void)state;
	ga = malloc(net->n_params * sizeof *ga);
	assert_non_null(ga);
	fm_cnn_output_shape(net, &c, &h, &w);
	assert_int_equal(c * 100 + h * 10 + w, 311);
	assert_false(fm_cnn_is_fully_conv(net));
	/* The loss's backward... */
	assert_int_equal(fm_cnn_forward(net, x, 4, 1, p, &err), 0);
	assert_int_equal(fm_cnn_loss_backward(net, labels, 0.1f, &loss, &err), 0);
	memcpy(ga, net->grads, net->n_params * sizeof *ga);
	/* ...is fm_cnn_backward of the loss's gradient, from the raw logits, whose softmax
	 * is what fm_cnn_forward gives (the statistics moved: set them back first). */
	for (size_t i = 0; i < net->n_stats; i++)
		net->stats[i] = i % 2 == 0 ? 0.0f : 1.0f;
	assert_int_equal(fm_cnn_forward_raw(net, x, 4, 1, z, &err), 0);
	cnn_softmax(z, 4, 3, q);
	for (size_t i = 0; i < 12; i++)
		assert_near(q[i], p[i], 1e-7);
	assert_near(cnn_xent(z, labels, 4, 3, 0.1f, dz), loss, 1e-12);
	assert_int_equal(fm_cnn_backward(net, dz, &err), 0);
	assert_memory_equal(net->grads, ga, net->n_params * sizeof *ga);
	free(ga);
	free(x);
	fm_cnn_free(net);
}

/* A few SGD steps of net on x against the output gradient r, for non-trivial weights. */
static void
raw_steps(struct fm_cnn *net, const float *x, size_t n, const float *r, int steps)
{
	const struct fm_optim opt = FM_OPTIM_SGD_DEFAULT;
	struct fm_err err;

	for (int s = 0; s < steps; s++) {
		assert_int_equal(fm_cnn_forward_raw(net, x, n, 1, NULL, &err), 0);
		assert_int_equal(fm_cnn_backward(net, r, &err), 0);
		assert_int_equal(fm_cnn_update(net, &opt, 0.02f, &err), 0);
	}
}

#define FCN_DESC                                                                                   \
	"conv 8 3 2 1, bn, relu, dwconv 3 1 1, bn, relu, conv 12 1, bn, relu, dwconv 3 2 1, bn, "  \
	"dropout 0.1, relu, dwconv 5 1 2, relu, conv 5 1"

static void
fully_conv_threads_plan_and_file_agree(void **state)
{
	static const char *const names[5] = {"face", "x", "y", "w", "h"};
	struct fm_cnn *one = new_net(FCN_DESC, 3, 20, 18, 5, 9),
	              *two = new_net(FCN_DESC, 3, 20, 18, 5, 9);
	struct fm_cnn *plan, *back;
	const size_t n = 5, m = 5 * 5 * 5;
	float *x = random_floats(n * 3 * 20 * 18, 4), *r = random_floats(n * m, 5);
	float ya[5 * 125], yb[5 * 125];
	unsigned char *bytes;
	size_t n_bytes;
	struct fm_err err;

	(void)state;
	/* 20x18 -> 10x9 -> 5x5 */
	assert_int_equal(one->n_out, 125);
	assert_int_equal(fm_cnn_set_threads(two, 2, &err), 0);
	raw_steps(one, x, n, r, 1);
	raw_steps(two, x, n, r, 1);
	assert_int_equal(fm_cnn_forward_raw(one, x, n, 1, ya, &err), 0);
	assert_int_equal(fm_cnn_forward_raw(two, x, n, 1, yb, &err), 0);
	assert_int_equal(fm_cnn_backward(one, r, &err), 0);
	assert_int_equal(fm_cnn_backward(two, r, &err), 0);
	for (size_t i = 0; i < n * m; i++)
		assert_near(yb[i], ya[i], 1e-5 * (1 + fabs(ya[i])));
	for (size_t i = 0; i < one->n_params; i++) {
		assert_near(two->params[i], one->params[i], 1e-6);
		assert_near(two->grads[i], one->grads[i], 1e-5 * (1 + fabs(one->grads[i])));
	}
	for (size_t i = 0; i < one->n_stats; i++)
		assert_near(two->stats[i], one->stats[i], 1e-6 * (1 + fabs(one->stats[i])));

	/* The folded plan (dwconv + bn + relu in one step) against the layers. */
	assert_int_equal(fm_cnn_set_classes(one, names, 5, &err), 0);
	assert_int_equal(fm_cnn_set_info(one, "{\"strides\": [4]}", &err), 0);
	assert_int_equal(fm_cnn_clone(one, n, 0, &plan, &err), 0);
	assert_true(plan->n_steps < 9);
	assert_int_equal(fm_cnn_forward_raw(one, x, n, 0, ya, &err), 0);
	assert_int_equal(fm_cnn_forward_raw(plan, x, n, 0, yb, &err), 0);
	for (size_t i = 0; i < n * m; i++)
		assert_near(yb[i], ya[i], 1e-5 * (1 + fabs(ya[i])));
	assert_int_equal(fm_cnn_set_threads(plan, 2, &err), 0);
	assert_int_equal(fm_cnn_forward_raw(plan, x, n, 0, yb, &err), 0);
	for (size_t i = 0; i < n * m; i++)
		assert_near(yb[i], ya[i], 1e-5 * (1 + fabs(ya[i])));

	/* The model file: classes per channel, info, weights. */
	assert_int_equal(fm_cnn_encode(one, &bytes, &n_bytes, &err), 0);
	assert_int_equal(fm_cnn_decode(bytes, n_bytes, n, 0, &back, &err), 0);
	assert_int_equal(fm_cnn_n_classes(back), 5);
	assert_string_equal(fm_cnn_class_name(back, 3), "w");
	assert_string_equal(fm_cnn_info(back), "{\"strides\": [4]}");
	assert_memory_equal(back->params, one->params, one->n_params * sizeof *one->params);
	assert_int_equal(fm_cnn_forward_raw(back, x, n, 0, yb, &err), 0);
	for (size_t i = 0; i < n * m; i++)
		assert_near(yb[i], ya[i], 1e-5 * (1 + fabs(ya[i])));
	assert_int_equal(fm_cnn_set_classes(one, names, 4, &err), -1);
	assert_non_null(strstr(err.msg, "output channels"));
	free(bytes);
	fm_cnn_free(back);
	fm_cnn_free(plan);
	free(x);
	free(r);
	fm_cnn_free(one);
	fm_cnn_free(two);
}

/* The output map of net (which takes 1 x sh x sw) on small, and of big (1 x bh x bw) on
 * small copied into the top left corner of a larger image of noise: where a no-padding
 * network's outputs see only the small image, they agree. */
static void
assert_corner_agrees(struct fm_cnn *net, struct fm_cnn *big, uint32_t sh, uint32_t sw, uint32_t bh,
                     uint32_t bw)
{
	float *small = random_floats((size_t)sh * sw, 6),
	      *large = random_floats((size_t)bh * bw, 7);
	uint32_t c, h, w, bc, bho, bwo;
	float *ys, *yb;
	struct fm_err err;

	for (uint32_t y = 0; y < sh; y++)
		memcpy(large + (size_t)y * bw, small + (size_t)y * sw, sw * sizeof *small);
	fm_cnn_output_shape(net, &c, &h, &w);
	fm_cnn_output_shape(big, &bc, &bho, &bwo);
	assert_int_equal(bc, c);
	assert_true(bho > h && bwo > w);
	ys = malloc((size_t)c * h * w * sizeof *ys);
	yb = malloc((size_t)c * bho * bwo * sizeof *yb);
	assert_non_null(ys);
	assert_non_null(yb);
	assert_int_equal(fm_cnn_forward_raw(net, small, 1, 0, ys, &err), 0);
	assert_int_equal(fm_cnn_forward_raw(big, large, 1, 0, yb, &err), 0);
	for (uint32_t k = 0; k < c; k++)
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				float a = ys[((size_t)k * h + y) * w + x];

				assert_near(yb[((size_t)k * bho + y) * bwo + x], a,
				            1e-5 * (1 + fabs(a)));
			}
	free(ys);
	free(yb);
	free(small);
	free(large);
}

static void
clone_input_takes_other_sizes(void **state)
{
	/* No padding, so that an output near the top left corner sees the same pixels in a
	 * larger image; strides 2 in a conv and a dwconv. */
	struct fm_cnn *net = new_net("conv 4 3 2, bn, relu, dwconv 3, bn, relu, dwconv 3 2, "
	                             "conv 3 1",
	                             1, 17, 15, 2, 3);
	struct fm_cnn *big, *big_train, *same, *cls, *other, *ens, *ens_big, *pair[2];
	float *x = random_floats(2 * 17 * 15, 8), *r = random_floats(2 * 3 * 2 * 2, 9);
	uint32_t c, h, w;
	struct fm_err err;

	(void)state;
	fm_cnn_output_shape(net, &c, &h, &w);
	assert_int_equal(c * 100 + h * 10 + w, 322); /* 17x15 -> 8x7 -> 6x5 -> 2x2 */
	raw_steps(net, x, 2, r, 3);
	assert_int_equal(fm_cnn_set_info(net, "detector", &err), 0);
	assert_int_equal(fm_cnn_set_normalization(net, 128, 50, &err), 0);

	assert_int_equal(fm_cnn_clone_input(net, 41, 30, 1, 0, &big, &err), 0);
	assert_int_equal(fm_cnn_clone_input(net, 41, 30, 2, 1, &big_train, &err), 0);
	fm_cnn_input_shape(big, &c, &h, &w);
	assert_int_equal(c * 10000 + h * 100 + w, 14130);
	fm_cnn_output_shape(big, &c, &h, &w);
	assert_int_equal(c * 100 + h * 10 + w, 385); /* 41x30 -> 20x14 -> 18x12 -> 8x5 */
	assert_string_equal(fm_cnn_info(big), "detector");
	assert_string_equal(fm_cnn_desc(big), fm_cnn_desc(net));
	assert_int_equal(fm_cnn_param_count(big), fm_cnn_param_count(net));
	assert_memory_equal(big->params, net->params, net->n_params * sizeof *net->params);
	assert_memory_equal(big->stats, net->stats, net->n_stats * sizeof *net->stats);
	assert_corner_agrees(net, big, 17, 15, 41, 30);
	assert_corner_agrees(net, big_train, 17, 15, 41, 30);
	/* A trainable copy trains. */
	{
		float *xb = random_floats(2 * 41 * 30, 10), *rb = random_floats(2 * 3 * 8 * 5, 11);

		raw_steps(big_train, xb, 2, rb, 1);
		free(xb);
		free(rb);
	}
	/* The same size is fm_cnn_clone. */
	assert_int_equal(fm_cnn_clone_input(net, 17, 15, 2, 0, &same, &err), 0);
	assert_int_equal(fm_cnn_clone(net, 2, 0, &other, &err), 0);
	{
		float ya[2 * 12], yb[2 * 12];

		assert_int_equal(fm_cnn_forward_raw(same, x, 2, 0, ya, &err), 0);
		assert_int_equal(fm_cnn_forward_raw(other, x, 2, 0, yb, &err), 0);
		assert_memory_equal(ya, yb, sizeof ya);
	}
	fm_cnn_free(other);
	fm_cnn_free(same);

	/* What does not fit. */
	assert_int_equal(fm_cnn_clone_input(net, 6, 15, 1, 0, &other, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_non_null(strstr(err.msg, "does not fit"));
	assert_null(other);
	cls = new_net("conv 4 3 1 1, maxpool 2, dense 3", 1, 12, 12, 1, 1);
	assert_int_equal(fm_cnn_clone_input(cls, 16, 16, 1, 0, &other, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_non_null(strstr(err.msg, "2.dense.weight"));
	assert_int_equal(fm_cnn_clone_input(cls, 12, 12, 1, 0, &other, &err), 0);
	fm_cnn_free(other);
	fm_cnn_free(cls);
	cls = new_net("conv 2 3 2, relu", 1, 12, 12, 1, 1);
	assert_false(fm_cnn_is_fully_conv(cls));
	assert_int_equal(fm_cnn_clone_input(cls, 16, 16, 1, 0, &other, &err), -1);
	assert_non_null(strstr(err.msg, "classes"));
	fm_cnn_free(cls);
	/* gap before dense takes any size; so does an ensemble of such networks. */
	pair[0] = new_net("conv 4 3 1 1, gap, dense 3", 1, 12, 12, 1, 1);
	pair[1] = new_net("conv 5 3 1 1, bn, gap, dense 3", 1, 12, 12, 1, 2);
	assert_int_equal(fm_cnn_clone_input(pair[0], 20, 16, 1, 0, &other, &err), 0);
	fm_cnn_output_shape(other, &c, &h, &w);
	assert_int_equal(c * 100 + h * 10 + w, 311);
	fm_cnn_free(other);
	assert_int_equal(fm_cnn_ensemble(pair, 2, 1, &ens, &err), 0);
	assert_int_equal(fm_cnn_clone_input(ens, 20, 16, 1, 1, &other, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(fm_cnn_clone_input(ens, 20, 16, 3, 0, &ens_big, &err), 0);
	fm_cnn_input_shape(ens_big, &c, &h, &w);
	assert_int_equal(h * 100 + w, 2016);
	assert_int_equal(fm_cnn_n_members(ens_big), 2);
	{
		float *xe = random_floats(3 * 20 * 16, 12), p[9];

		assert_int_equal(fm_cnn_forward(ens_big, xe, 3, 0, p, &err), 0);
		assert_near(p[0] + p[1] + p[2], 1.0, 1e-6);
		assert_int_equal(fm_cnn_forward_raw(ens_big, xe, 3, 0, p, &err), -1);
		free(xe);
	}
	/* Fully convolutional networks make no ensemble. */
	fm_cnn_free(pair[0]);
	fm_cnn_free(pair[1]);
	assert_int_equal(fm_cnn_clone(net, 1, 0, &pair[0], &err), 0);
	assert_int_equal(fm_cnn_clone(net, 1, 0, &pair[1], &err), 0);
	assert_int_equal(fm_cnn_ensemble(pair, 2, 1, &other, &err), -1);
	assert_non_null(strstr(err.msg, "fully convolutional"));
	fm_cnn_free(pair[0]);
	fm_cnn_free(pair[1]);
	fm_cnn_free(ens_big);
	fm_cnn_free(ens);
	fm_cnn_free(big_train);
	fm_cnn_free(big);
	free(x);
	free(r);
	fm_cnn_free(net);
}

static void
metadata_setters_check_their_input(void **state)
{
	struct fm_cnn *net = new_net("dense 2", 1, 1, 1, 1, 1);
	const char *two[2] = {"ok", "tab\there"}, *bad_utf8[2] = {"ok", "\xc3\x28"};
	uint8_t px[3] = {0, 128, 255};
	float out[3];
	struct fm_err err;

	(void)state;
	assert_string_equal(fm_cnn_class_name(net, 0), "0");
	assert_int_equal(fm_cnn_set_classes(net, two, 1, &err), -1);
	assert_int_equal(fm_cnn_set_classes(net, two, 2, &err), -1);
	assert_int_equal(fm_cnn_set_classes(net, bad_utf8, 2, &err), -1);
	assert_int_equal(fm_cnn_set_normalization(net, 0, 0, &err), -1);
	assert_int_equal(fm_cnn_set_crop_margin(net, NAN, &err), -1);
	assert_int_equal(fm_cnn_set_crop_margin(net, 5, &err), -1);
	assert_int_equal(fm_cnn_set_info(net, "\xff", &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(fm_cnn_set_normalization(net, 128, 64, &err), 0);
	fm_cnn_normalize(net, px, 3, out);
	assert_true(out[0] == -2.0f && out[1] == 0.0f && out[2] == 127.0f / 64.0f);
	fm_cnn_free(net);
	fm_cnn_free(NULL);
}

/* Models are written through fm_write_file: whole, replacing the old file, or not at all. */
static void
files_are_written_whole_or_not_at_all(void **state)
{
	char dir[] = "/tmp/test_write_XXXXXX", path[64], bad[96], cmd[128];
	unsigned char *back;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);
	assert_int_equal(fm_write_file(path, "first version", 13, &err), 0);
	assert_int_equal(fm_write_file(path, "second", 6, &err), 0);
	assert_int_equal(fm_read_file(path, 1 << 10, &back, &n, &err), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(back, "second", 6);
	free(back);
	/* A folder that is not there: the reason, and nothing left beside the target. */
	snprintf(bad, sizeof bad, "%s/no/such/f", dir);
	assert_int_equal(fm_write_file(bad, "x", 1, &err), -1);
	assert_int_equal(err.code, FM_EIO);
	assert_non_null(strstr(err.msg, "cannot write"));
	assert_non_null(strstr(err.msg, "no such file or directory"));
	/* Only f is in the folder: no temporary file stayed. */
	snprintf(cmd, sizeof cmd, "test \"$(ls -A %s)\" = f", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(conv_gradients_match_finite_differences),
	    cmocka_unit_test(winograd_gradients_match_finite_differences),
	    cmocka_unit_test(winograd_matches_im2col),
	    cmocka_unit_test(bn_training_gradients_match_finite_differences),
	    cmocka_unit_test(relu_gradients_match_finite_differences),
	    cmocka_unit_test(pooling_gradients_match_finite_differences),
	    cmocka_unit_test(dense_and_dropout_gradients_match_finite_differences),
	    cmocka_unit_test(dwconv_gradients_match_finite_differences),
	    cmocka_unit_test(whole_network_gradients_match_finite_differences),
	    cmocka_unit_test(threaded_gradients_match_finite_differences),
	    cmocka_unit_test(threads_agree_with_one_thread),
	    cmocka_unit_test(softmax_cross_entropy_gradient_with_smoothing),
	    cmocka_unit_test(loss_backward_agrees_with_network_gradients),
	    cmocka_unit_test(distillation_loss_and_its_gradient),
	    cmocka_unit_test(distill_backward_agrees_with_network_gradients),
	    cmocka_unit_test(bn_inference_uses_running_statistics),
	    cmocka_unit_test(dropout_is_identity_in_inference),
	    cmocka_unit_test(small_network_learns_synthetic_patterns),
	    cmocka_unit_test(sgd_and_adam_steps_follow_their_formulas),
	    cmocka_unit_test(schedules_follow_their_definitions),
	    cmocka_unit_test(same_seed_gives_identical_weights),
	    cmocka_unit_test(param_count_and_flops_are_exact),
	    cmocka_unit_test(bad_descriptions_are_refused),
	    cmocka_unit_test(forward_refuses_bad_calls),
	    cmocka_unit_test(inference_plan_matches_layers),
	    cmocka_unit_test(shipped_models_plan_matches_layers),
	    cmocka_unit_test(save_load_round_trip_is_exact),
	    cmocka_unit_test(dwconv_model_round_trips),
	    cmocka_unit_test(checkpoint_resume_is_bit_exact),
	    cmocka_unit_test(damaged_model_files_are_format_errors),
	    cmocka_unit_test(inconsistent_model_headers_are_format_errors),
	    cmocka_unit_test(ensemble_gives_the_mean_of_its_members),
	    cmocka_unit_test(mismatched_members_are_refused),
	    cmocka_unit_test(ensemble_file_round_trips),
	    cmocka_unit_test(inconsistent_ensemble_headers_are_format_errors),
	    cmocka_unit_test(crc32_matches_the_standard_check_value),
	    cmocka_unit_test(fully_conv_gradients_through_backward),
	    cmocka_unit_test(losses_go_through_backward),
	    cmocka_unit_test(fully_conv_threads_plan_and_file_agree),
	    cmocka_unit_test(clone_input_takes_other_sizes),
	    cmocka_unit_test(metadata_setters_check_their_input),
	    cmocka_unit_test(files_are_written_whole_or_not_at_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
