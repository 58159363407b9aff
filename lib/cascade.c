/*
 * lib/cascade.c: multi-scale Viola-Jones detection with the semantics of OpenCV 4's
 * CascadeClassifier::detectMultiScale, so that the same cascade and parameters on the same
 * gray image give the same boxes.
 *
 * What is matched, step by step (OpenCV 4.6, modules/objdetect/src/cascadedetect.cpp):
 * - scales: factor = scale_factor^k as a double, kept when the rounded window fits the
 *   min/max size, stored as float; each level is the whole image resized to
 *   round(W / factor) x round(H / factor) with INTER_LINEAR_EXACT (fm_gray_resize_exact);
 * - per level: integral images of the pixels and their squares (32-bit, wrapping, which is
 *   exact for window differences), and the tilted integral when the cascade needs it;
 * - windows at the cascade's own size on each level, step 2 below factor 2 and 1 above, a
 *   further step skipped whenever stage 0 rejects; Haar feature values are normalised by
 *   the window's standard deviation over the inner (w-2)x(h-2) rectangle, and windows whose
 *   normaliser says "flat" are rejected, both in OpenCV's float and double arithmetic;
 * - boxes scaled back with float rounding, then groupRectangles(eps 0.2): equivalence by
 *   SimilarRects, mean box per class, classes with <= min_neighbors members dropped, and
 *   small boxes inside bigger, better supported ones dropped.
 * Departures: the output is sorted (most neighbours first) rather than in OpenCV's thread
 * order; grouping finds the same classes, and drops the same boxes, by looking only at the
 * boxes in reach on a grid instead of comparing all pairs; and the raw windows of an image
 * are bounded (max_windows), so that grouping's time and memory are too.
 * fm_cascade_detect_photo, which has no OpenCV counterpart, searches a large photo on a
 * shrunk copy and scales the boxes back; unshrunk it is the recipe above, unchanged.
 * How, not what, differs for speed: an LBP cascade of stumps (every LBP cascade OpenCV
 * ships) is scanned eight windows at a time with AVX2 where the CPU has it, each window
 * getting the scalar scan's outcome; tests/unit/test_cascade.c runs both scans.
 */
#include "cascade_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CASCADE_AVX2 1
#else
#define CASCADE_AVX2 0
#endif

#define GROUP_EPS 0.2
/* Cells the vectorised scans may read past a table's last one: a block of windows runs past
 * the row's last window by up to seven, and the SSE stage 0 at step 2 loads eight cells for
 * four windows. */
#define SUM_PAD 32
#define MAX_SCALES 4096

/*
 * A tree node compiled for one row stride: its feature's integral-image offsets, and each
 * branch either a node of the same tree (next[k] > 0, relative to the tree's root) or a
 * leaf whose value is inlined (next[k] == 0, value leaf[k]). k is 0 for "left". A tree's
 * root also carries the tree's node count, so a stage walks its trees without an index.
 */
struct haar_node {
	int32_t ofs[3][4]; /* corners of each rectangle: + - - + */
	float w[3];
	float threshold;
	int32_t next[2];
	float leaf[2];
	int32_t tree_size;
};

struct lbp_node {
	int32_t ofs;    /* top-left corner of the 3x3 grid of cells */
	int32_t dx, dy; /* one cell's width, and its height times the row stride */
	/* The same grid in the split table of the AVX2 scan at step 2 (see split_integrate):
	 * the top row's offset, the cells' height times that table's row stride, and the
	 * offsets of the grid's four columns. */
	int32_t split_ofs, split_dy, split_col[4];
	uint32_t subset[8];
	int32_t next[2];
	float leaf[2];
	int32_t tree_size;
};

struct fm_detector {
	uint8_t *layer; /* the current pyramid level */
	size_t layer_cap;
	/* (w+1) x (h+1) tables with a fixed row stride. The tilted table follows the upright
	 * one in the same buffer, so a tilted feature is an upright one with offsets moved by
	 * tilted_ofs, and the hot loop needs no branch for it (as OpenCV's tofs). */
	uint32_t *sum, *sqsum;
	size_t sum_cap, sqsum_cap, tilted_ofs;
	uint32_t *split; /* the AVX2 scan's table at step 2: see split_integrate */
	size_t split_cap;
	int32_t *trows; /* three extended rows for the tilted integral */
	size_t trows_cap;
	void *nodes; /* struct haar_node or struct lbp_node, per cascade node */
	size_t nodes_cap;
	const struct fm_cascade *compiled_for;
	size_t compiled_stride;
	int32_t norm_ofs[4];
	size_t stage1_node; /* index of stage 1's first node */
	int stage0_stumps;  /* stage 0 has only stumps: the batched path applies */
	int all_stumps;     /* every tree is a stump */
	int portable;       /* never the AVX2 scan (cascade_detector_portable) */
	double *acc;        /* per-window stage-0 sums of one row */
	size_t acc_cap;
	uint8_t *pass; /* per-window stage-0 outcome of one row */
	size_t pass_cap;
	struct fm_box *raw;
	size_t n_raw, raw_cap;
	size_t max_raw; /* this image's limit on n_raw; 0: none */
	uint8_t *work;  /* fm_cascade_detect_photo's shrunk or equalised copy */
	size_t work_cap;
};

int
fm_detector_new(struct fm_detector **out, struct fm_err *err)
{
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	return 0;
}

void
cascade_detector_portable(struct fm_detector *d, int portable)
{
	d->portable = portable;
}

void
fm_detector_free(struct fm_detector *d)
{
	if (d == NULL)
		return;
	free(d->layer);
	free(d->sum);
	free(d->sqsum);
	free(d->split);
	free(d->trows);
	free(d->nodes);
	free(d->acc);
	free(d->pass);
	free(d->raw);
	free(d->work);
	free(d);
}

/*
 * Make *buf hold at least n elements of size bytes; contents are not kept. Memory newly
 * allocated is zeroed when zeroed is set (what reserve_zeroed asks).
 */
static int
reserve_memory(void *bufp, size_t *cap, size_t n, size_t size, bool zeroed)
{
	void **buf = bufp;

	if (n <= *cap)
		return 0;
	free(*buf);
	*buf = zeroed ? calloc(n, size) : malloc(n * size);
	if (*buf == NULL) {
		*cap = 0;
		return -1;
	}
	*cap = n;
	return 0;
}

static int
reserve(void *bufp, size_t *cap, size_t n, size_t size)
{
	return reserve_memory(bufp, cap, n, size, false);
}

static int
reserve_zeroed(void *bufp, size_t *cap, size_t n, size_t size)
{
	return reserve_memory(bufp, cap, n, size, true);
}

/* OpenCV's cvRound: round half to even in the default rounding mode. */
static int32_t
round_f(float v)
{
	return (int32_t)lrintf(v);
}

static int32_t
round_d(double v)
{
	return (int32_t)lrint(v);
}

/* --- integral images ------------------------------------------------------------------ */

/* sum and sqsum of img (w x h) into (w+1) x (h+1) tables with row stride `stride`. */
/* sum (and sqsum unless NULL) of img (w x h) into (w+1) x (h+1) tables of row stride `stride`. */
static void
integrate(const uint8_t *img, int32_t w, int32_t h, size_t stride, uint32_t *sum, uint32_t *sqsum)
{
	memset(sum, 0, (size_t)(w + 1) * sizeof *sum);
	if (sqsum != NULL)
		memset(sqsum, 0, (size_t)(w + 1) * sizeof *sqsum);
	for (int32_t y = 0; y < h; y++) {
		const uint8_t *row = img + (size_t)y * (size_t)w;
		const uint32_t *s0 = sum + (size_t)y * stride;
		uint32_t *s1 = sum + (size_t)(y + 1) * stride, rs = 0;

		s1[0] = 0;
		for (int32_t x = 0; x < w; x++) {
			rs += row[x];
			s1[x + 1] = s0[x + 1] + rs;
		}
		if (sqsum == NULL)
			continue;
		const uint32_t *q0 = sqsum + (size_t)y * stride;
		uint32_t *q1 = sqsum + (size_t)(y + 1) * stride, rq = 0;

		q1[0] = 0;
		for (int32_t x = 0; x < w; x++) {
			rq += (uint32_t)row[x] * row[x];
			q1[x + 1] = q0[x + 1] + rq;
		}
	}
}

/*
 * OpenCV's tilted integral: T(X, Y) = sum of img(x, y) over y < Y, |x - X + 1| <= Y - y - 1,
 * by the recurrence T(X,Y) = T(X-1,Y-1) + T(X+1,Y-1) - T(X,Y-2) + I(X-1,Y-1) + I(X-1,Y-2).
 * The recurrence reaches one column further out per row, so it runs on rows extended by h+1
 * columns each side, three at a time; only columns 0..w are kept.
 */
size_t
cascade_tilted_scratch(int32_t w, int32_t h)
{
	return 3 * ((size_t)w + 1 + 2 * ((size_t)h + 2));
}

void
cascade_tilted_integral(const uint8_t *img, int32_t w, int32_t h, size_t stride, uint32_t *tilted,
                        int32_t *scratch)
{
	size_t margin = (size_t)h + 2, ext = (size_t)w + 1 + 2 * margin;
	int32_t *rows[3];

	memset(scratch, 0, 3 * ext * sizeof *scratch);
	for (int k = 0; k < 3; k++)
		rows[k] = scratch + (size_t)k * ext + margin; /* column 0 of the image */
	memset(tilted, 0, (size_t)(w + 1) * sizeof *tilted);
	for (int32_t y = 1; y <= h; y++) {
		int32_t *cur = rows[y % 3], *prev = rows[(y + 2) % 3], *prev2 = rows[(y + 1) % 3];
		const uint8_t *r1 = img + (size_t)(y - 1) * (size_t)w;
		const uint8_t *r2 = y >= 2 ? img + (size_t)(y - 2) * (size_t)w : NULL;
		int32_t lo = -(int32_t)margin + 1, hi = w + (int32_t)margin - 1;

		for (int32_t X = lo; X < hi; X++) {
			int32_t v = prev[X - 1] + prev[X + 1] - (y >= 2 ? prev2[X] : 0);

			if (X - 1 >= 0 && X - 1 < w) {
				v += r1[X - 1];
				if (r2 != NULL)
					v += r2[X - 1];
			}
			cur[X] = v;
		}
		cur[lo - 1] = cur[hi] = 0;
		uint32_t *out = tilted + (size_t)y * stride;
		for (int32_t X = 0; X <= w; X++)
			out[X] = (uint32_t)cur[X];
	}
}

/*
 * The AVX2 scan at step 2 reads only even window positions, so a row's integral cells at
 * every other column, which in the table's own layout takes two loads and two shuffles per
 * eight cells. Its table is split instead: each row holds the cells of even columns, then
 * those of odd columns, each half split_half(stride) cells long, so that a cell at column
 * x of a window at column 2i is at (x & 1) * half + (x >> 1) + i: eight windows' cells in
 * one load. The sums are integrate's.
 */
static int32_t
split_half(size_t stride)
{
	return (int32_t)((stride + 1) / 2);
}

static void
split_integrate(const uint8_t *img, int32_t w, int32_t h, size_t stride, uint32_t *t)
{
	size_t half = (size_t)split_half(stride), row_cells = 2 * half;

	memset(t, 0, row_cells * sizeof *t);
	for (int32_t y = 0; y < h; y++) {
		const uint8_t *row = img + (size_t)y * (size_t)w;
		const uint32_t *e0 = t + (size_t)y * row_cells, *o0 = e0 + half;
		uint32_t *e1 = t + (size_t)(y + 1) * row_cells, *o1 = e1 + half, rs = 0;
		int32_t x = 0;

		/* Column X = x + 1 of the table: odd X to the odd half, even X to the even. */
		e1[0] = 0;
		for (; x + 1 < w; x += 2) {
			rs += row[x];
			o1[x >> 1] = o0[x >> 1] + rs;
			rs += row[x + 1];
			e1[(x >> 1) + 1] = e0[(x >> 1) + 1] + rs;
		}
		if (x < w) {
			rs += row[x];
			o1[x >> 1] = o0[x >> 1] + rs;
		}
	}
}

/* --- compiled features ------------------------------------------------------------------ */

static int32_t
at(size_t stride, int32_t x, int32_t y)
{
	return (int32_t)((size_t)y * stride) + x;
}

static void
compile_haar(struct haar_node *n, const struct cascade_haar_feature *f, size_t stride,
             size_t tilted_ofs)
{
	memset(n, 0, sizeof *n);
	for (int k = 0; k < f->n_rects; k++) {
		const struct cascade_haar_rect *r = &f->r[k];

		n->w[k] = r->weight;
		if (f->tilted) {
			int32_t t = (int32_t)tilted_ofs;

			n->ofs[k][0] = t + at(stride, r->x, r->y);
			n->ofs[k][1] = t + at(stride, r->x - r->h, r->y + r->h);
			n->ofs[k][2] = t + at(stride, r->x + r->w, r->y + r->w);
			n->ofs[k][3] = t + at(stride, r->x + r->w - r->h, r->y + r->w + r->h);
		} else {
			n->ofs[k][0] = at(stride, r->x, r->y);
			n->ofs[k][1] = at(stride, r->x + r->w, r->y);
			n->ofs[k][2] = at(stride, r->x, r->y + r->h);
			n->ofs[k][3] = at(stride, r->x + r->w, r->y + r->h);
		}
	}
}

static int
compile(struct fm_detector *d, const struct fm_cascade *c, size_t stride, size_t tilted_ofs)
{
	size_t size = c->type == CASCADE_HAAR ? sizeof(struct haar_node) : sizeof(struct lbp_node);

	if (d->compiled_for == c && d->compiled_stride == stride && d->tilted_ofs == tilted_ofs)
		return 0;
	if (reserve(&d->nodes, &d->nodes_cap, c->n_nodes, size) == -1)
		return -1;
	for (size_t ti = 0; ti < c->n_trees; ti++) {
		const struct cascade_tree *t = &c->trees[ti];

		for (uint32_t j = 0; j < t->n_nodes; j++) {
			size_t i = t->first_node + j;
			const struct cascade_tree_node *tn = &c->nodes[i];
			int32_t next[2] = {0, 0}, tree_size = j == 0 ? (int32_t)t->n_nodes : 0;
			float leaf[2] = {0, 0};
			int32_t kids[2] = {tn->left, tn->right};

			for (int k = 0; k < 2; k++) {
				if (kids[k] > 0)
					next[k] = kids[k];
				else
					leaf[k] = c->leaves[t->first_leaf + (uint32_t)(-kids[k])];
			}
			if (c->type == CASCADE_HAAR) {
				struct haar_node *n = (struct haar_node *)d->nodes + i;

				compile_haar(n, &c->haar[tn->feature], stride, tilted_ofs);
				n->threshold = tn->threshold;
				memcpy(n->next, next, sizeof next);
				memcpy(n->leaf, leaf, sizeof leaf);
				n->tree_size = tree_size;
			} else {
				struct lbp_node *n = (struct lbp_node *)d->nodes + i;
				const struct cascade_lbp_feature *f = &c->lbp[tn->feature];

				n->ofs = at(stride, f->x, f->y);
				n->dx = f->w;
				n->dy = at(stride, 0, f->h);
				n->split_ofs = f->y * 2 * split_half(stride);
				n->split_dy = f->h * 2 * split_half(stride);
				for (int k = 0; k < 4; k++) {
					int32_t col = f->x + k * f->w;

					n->split_col[k] =
					    (col & 1) * split_half(stride) + (col >> 1);
				}
				memcpy(n->subset, tn->subset, sizeof n->subset);
				memcpy(n->next, next, sizeof next);
				memcpy(n->leaf, leaf, sizeof leaf);
				n->tree_size = tree_size;
			}
		}
	}
	d->norm_ofs[0] = at(stride, 1, 1);
	d->norm_ofs[1] = at(stride, c->win_w - 1, 1);
	d->norm_ofs[2] = at(stride, 1, c->win_h - 1);
	d->norm_ofs[3] = at(stride, c->win_w - 1, c->win_h - 1);
	d->stage1_node = 0;
	d->stage0_stumps = 1;
	d->all_stumps = c->max_nodes_per_tree == 1;
	for (uint32_t t = 0; t < c->stages[0].n_trees; t++) {
		d->stage1_node += c->trees[t].n_nodes;
		d->stage0_stumps &= c->trees[t].n_nodes == 1;
	}
	d->compiled_for = c;
	d->compiled_stride = stride;
	d->tilted_ofs = tilted_ofs;
	return 0;
}

/* A rectangle's sum from its four corners; wrapping 32-bit arithmetic is exact here. */
static inline int32_t
box_sum(const uint32_t *p, const int32_t *o)
{
	return (int32_t)(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]);
}

/*
 * OpenCV's HaarEvaluator::OptFeature::calc, in float, in the same order. A two-rectangle
 * feature's third rectangle has weight 0 and empty offsets, and adding its 0 * 0 leaves the
 * float sum unchanged (up to the sign of zero, which no comparison sees), so every feature
 * takes the same branch-free path.
 */
static inline float
haar_value(const struct haar_node *n, const uint32_t *p)
{
	return n->w[0] * (float)box_sum(p, n->ofs[0]) + n->w[1] * (float)box_sum(p, n->ofs[1]) +
	       n->w[2] * (float)box_sum(p, n->ofs[2]);
}

/* 1 if every stage accepts, else minus the rejecting stage's index (0 for stage 0).
 * OpenCV's predictOrdered: float feature value times the float normaliser, compared as a
 * double with the float threshold; leaves summed in double. */
static int
run_haar(const struct fm_cascade *c, size_t first_stage, const struct haar_node *n,
         const uint32_t *p, float norm)
{
	for (size_t si = first_stage; si < c->n_stages; si++) {
		const struct cascade_stage *st = &c->stages[si];
		double acc = 0;

		for (uint32_t ti = 0; ti < st->n_trees; ti++) {
			const struct haar_node *root = n, *at_node = n;

			for (;;) {
				double v = (double)(haar_value(at_node, p) * norm);
				int k = !(v < at_node->threshold);

				if (at_node->next[k] == 0) {
					acc += at_node->leaf[k];
					break;
				}
				at_node = root + at_node->next[k];
			}
			n = root + root->tree_size;
		}
		if (acc < st->threshold)
			return -(int)si;
	}
	return 1;
}

/* OpenCV's LBPEvaluator::OptFeature::calc: the 8 neighbours of the centre cell, clockwise
 * from the top left, compared with it. Corners are read once each, into locals (an array
 * here makes compilers spill and reload through memory). */
static inline int
lbp_code(const struct lbp_node *n, const uint32_t *p)
{
	const uint32_t *r0 = p + n->ofs, *r1 = r0 + n->dy, *r2 = r1 + n->dy, *r3 = r2 + n->dy;
	int32_t dx = n->dx, dx2 = 2 * dx, dx3 = 3 * dx;
	uint32_t a0 = r0[0], a1 = r0[dx], a2 = r0[dx2], a3 = r0[dx3];
	uint32_t b0 = r1[0], b1 = r1[dx], b2 = r1[dx2], b3 = r1[dx3];
	uint32_t c0 = r2[0], c1 = r2[dx], c2 = r2[dx2], c3 = r2[dx3];
	uint32_t d0 = r3[0], d1 = r3[dx], d2 = r3[dx2], d3 = r3[dx3];
	/* Column differences between grid rows, then cells as differences of those. */
	uint32_t u0 = b0 - a0, u1 = b1 - a1, u2 = b2 - a2, u3 = b3 - a3;
	uint32_t v0 = c0 - b0, v1 = c1 - b1, v2 = c2 - b2, v3 = c3 - b3;
	uint32_t w0 = d0 - c0, w1 = d1 - c1, w2 = d2 - c2, w3 = d3 - c3;
	int32_t centre = (int32_t)(v2 - v1);

	return ((int32_t)(u1 - u0) >= centre ? 128 : 0) | ((int32_t)(u2 - u1) >= centre ? 64 : 0) |
	       ((int32_t)(u3 - u2) >= centre ? 32 : 0) | ((int32_t)(v3 - v2) >= centre ? 16 : 0) |
	       ((int32_t)(w3 - w2) >= centre ? 8 : 0) | ((int32_t)(w2 - w1) >= centre ? 4 : 0) |
	       ((int32_t)(w1 - w0) >= centre ? 2 : 0) | ((int32_t)(v1 - v0) >= centre ? 1 : 0);
}

static int
run_lbp(const struct fm_cascade *c, size_t first_stage, const struct lbp_node *n, const uint32_t *p)
{
	for (size_t si = first_stage; si < c->n_stages; si++) {
		const struct cascade_stage *st = &c->stages[si];
		double acc = 0;

		for (uint32_t ti = 0; ti < st->n_trees; ti++) {
			const struct lbp_node *root = n, *at_node = n;

			for (;;) {
				int code = lbp_code(at_node, p);
				int k = !(at_node->subset[code >> 5] & (1u << (code & 31)));

				if (at_node->next[k] == 0) {
					acc += at_node->leaf[k];
					break;
				}
				at_node = root + at_node->next[k];
			}
			n = root + root->tree_size;
		}
		if (acc < st->threshold)
			return -(int)si;
	}
	return 1;
}

/*
 * Stage 0 of an all-stump LBP cascade for the windows x = 0, step, 2 step, ... of one row,
 * four windows at a time with GCC/clang vector extensions: the same integer cell sums,
 * codes and double sums as run_lbp, so the outcome is identical. It evaluates windows that
 * the scan's "skip after a stage-0 rejection" rule will pass over, which costs less than
 * it saves because four windows' corners come in two vector loads instead of sixteen.
 */
typedef uint32_t v4u __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4u
load4(const uint32_t *p, int32_t step)
{
	v4u a, b;

	memcpy(&a, p, sizeof a);
	if (step == 1)
		return a;
	memcpy(&b, p + 4, sizeof b);
#if defined(__clang__)
	return __builtin_shufflevector(a, b, 0, 2, 4, 6);
#else
	return __builtin_shuffle(a, b, (v4u){0, 2, 4, 6});
#endif
}

static void
lbp_stage0_row(const struct fm_cascade *c, const struct lbp_node *nodes, const uint32_t *row,
               int32_t step, int32_t n, double *acc, uint8_t *pass)
{
	const struct cascade_stage *st = &c->stages[0];
	const struct lbp_node *nd = nodes;
	int32_t n4 = n & ~3;

	for (int32_t i = 0; i < n; i++)
		acc[i] = 0;
	for (uint32_t t = 0; t < st->n_trees; t++, nd += nd->tree_size) {
		const uint32_t *base = row + nd->ofs;
		int32_t dx = nd->dx, dy = nd->dy, i;

		for (i = 0; i < n4; i += 4) {
			const uint32_t *q = base + (size_t)i * (size_t)step;
			v4u g[16];

			for (int r = 0; r < 4; r++, q += dy)
				for (int k = 0; k < 4; k++)
					g[r * 4 + k] = load4(q + k * dx, step);
#define VCELL(i) ((v4i)(g[(i)] - g[(i) + 1] - g[(i) + 4] + g[(i) + 5]))
			v4i centre = VCELL(5);
			v4i code = ((VCELL(0) >= centre) & 128) | ((VCELL(1) >= centre) & 64) |
			           ((VCELL(2) >= centre) & 32) | ((VCELL(6) >= centre) & 16) |
			           ((VCELL(10) >= centre) & 8) | ((VCELL(9) >= centre) & 4) |
			           ((VCELL(8) >= centre) & 2) | ((VCELL(4) >= centre) & 1);
#undef VCELL
			for (int lane = 0; lane < 4; lane++) {
				int cd = code[lane];
				int k = !(nd->subset[cd >> 5] & (1u << (cd & 31)));

				acc[i + lane] += nd->leaf[k];
			}
		}
		for (; i < n; i++) {
			int cd = lbp_code(nd, row + (size_t)i * (size_t)step);
			int k = !(nd->subset[cd >> 5] & (1u << (cd & 31)));

			acc[i] += nd->leaf[k];
		}
	}
	for (int32_t i = 0; i < n; i++)
		pass[i] = !(acc[i] < st->threshold);
}

/* --- the scan ---------------------------------------------------------------------------- */

/* -1 out of memory, -2 over the limit of raw windows. */
static int
push_raw(struct fm_detector *d, int32_t x, int32_t y, int32_t w, int32_t h)
{
	if (d->max_raw != 0 && d->n_raw >= d->max_raw)
		return -2;
	if (d->n_raw == d->raw_cap) {
		size_t cap = d->raw_cap ? d->raw_cap * 2 : 256;
		struct fm_box *r = realloc(d->raw, cap * sizeof *r);

		if (r == NULL)
			return -1;
		d->raw = r;
		d->raw_cap = cap;
	}
	d->raw[d->n_raw++] = (struct fm_box){x, y, w, h, 1};
	return 0;
}

#if CASCADE_AVX2
/*
 * An all-stump LBP cascade on x86-64 with AVX2, eight windows of a row at a time for every
 * stage, not only stage 0. Per row: stage 0 for every window position; then the scan's
 * rule (a window after one that stage 0 rejects is passed over) picks the windows visited;
 * then, per block of eight positions, the later stages for the block's windows still in,
 * until none is. A block is evaluated whole even when few of its windows are in, which
 * costs less than gathering the survivors' corners one by one: near a face most are in,
 * elsewhere whole blocks drop out after a stage or two. The cell sums, codes, leaf choices
 * and double sums are run_lbp's, lane by lane and tree by tree in the same order, so every
 * window gets run_lbp's outcome, and the raw windows come out in the scan's order.
 */
/* Eight consecutive integral cells: one per window. */
__attribute__((target("avx2"), always_inline)) static inline __m256i
avx2_load8(const uint32_t *p)
{
	return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* 1 where the cell is >= the centre, as lbp_code's comparisons, at bit `bit`. */
__attribute__((target("avx2"), always_inline)) static inline __m256i
avx2_ge_bit(__m256i cell, __m256i centre, int bit)
{
	return _mm256_andnot_si256(_mm256_cmpgt_epi32(centre, cell), _mm256_set1_epi32(bit));
}

/*
 * One stage of stumps for eight windows side by side, the first one's cells at p: in the
 * table of integrate at step 1, in that of split_integrate at step 2. Bit k of the result
 * is 1 when window k passes (its double sum is not below the threshold).
 */
__attribute__((target("avx2"), always_inline)) static inline unsigned
avx2_lbp_stage(const struct lbp_node *nd, uint32_t n_trees, double threshold, const uint32_t *p,
               int32_t step)
{
	__m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd(), thr = _mm256_set1_pd(threshold);

	for (uint32_t t = 0; t < n_trees; t++, nd++) {
		int split = step == 2;
		const uint32_t *r0 = p + (split ? nd->split_ofs : nd->ofs);
		int32_t dy = split ? nd->split_dy : nd->dy;
		const uint32_t *r1 = r0 + dy, *r2 = r1 + dy, *r3 = r2 + dy;
		int32_t k0 = split ? nd->split_col[0] : 0, k1 = split ? nd->split_col[1] : nd->dx,
		        k2 = split ? nd->split_col[2] : 2 * nd->dx,
		        k3 = split ? nd->split_col[3] : 3 * nd->dx;
		__m256i a0 = avx2_load8(r0 + k0), a1 = avx2_load8(r0 + k1),
		        a2 = avx2_load8(r0 + k2), a3 = avx2_load8(r0 + k3);
		__m256i b0 = avx2_load8(r1 + k0), b1 = avx2_load8(r1 + k1),
		        b2 = avx2_load8(r1 + k2), b3 = avx2_load8(r1 + k3);
		__m256i c0 = avx2_load8(r2 + k0), c1 = avx2_load8(r2 + k1),
		        c2 = avx2_load8(r2 + k2), c3 = avx2_load8(r2 + k3);
		__m256i d0 = avx2_load8(r3 + k0), d1 = avx2_load8(r3 + k1),
		        d2 = avx2_load8(r3 + k2), d3 = avx2_load8(r3 + k3);
		__m256i u0 = _mm256_sub_epi32(b0, a0), u1 = _mm256_sub_epi32(b1, a1),
		        u2 = _mm256_sub_epi32(b2, a2), u3 = _mm256_sub_epi32(b3, a3);
		__m256i v0 = _mm256_sub_epi32(c0, b0), v1 = _mm256_sub_epi32(c1, b1),
		        v2 = _mm256_sub_epi32(c2, b2), v3 = _mm256_sub_epi32(c3, b3);
		__m256i w0 = _mm256_sub_epi32(d0, c0), w1 = _mm256_sub_epi32(d1, c1),
		        w2 = _mm256_sub_epi32(d2, c2), w3 = _mm256_sub_epi32(d3, c3);
		__m256i centre = _mm256_sub_epi32(v2, v1);
		__m256i code = _mm256_or_si256(
		    _mm256_or_si256(
		        _mm256_or_si256(avx2_ge_bit(_mm256_sub_epi32(u1, u0), centre, 128),
		                        avx2_ge_bit(_mm256_sub_epi32(u2, u1), centre, 64)),
		        _mm256_or_si256(avx2_ge_bit(_mm256_sub_epi32(u3, u2), centre, 32),
		                        avx2_ge_bit(_mm256_sub_epi32(v3, v2), centre, 16))),
		    _mm256_or_si256(
		        _mm256_or_si256(avx2_ge_bit(_mm256_sub_epi32(w3, w2), centre, 8),
		                        avx2_ge_bit(_mm256_sub_epi32(w2, w1), centre, 4)),
		        _mm256_or_si256(avx2_ge_bit(_mm256_sub_epi32(w1, w0), centre, 2),
		                        avx2_ge_bit(_mm256_sub_epi32(v1, v0), centre, 1))));
		/* The subset's word code >> 5, shifted so that bit code & 31 becomes the sign:
		 * set means "left", leaf[0]. */
		__m256i word = _mm256_permutevar8x32_epi32(
		    _mm256_loadu_si256((const __m256i *)(const void *)nd->subset),
		    _mm256_srli_epi32(code, 5));
		__m256i left =
		    _mm256_sllv_epi32(word, _mm256_andnot_si256(code, _mm256_set1_epi32(31)));
		__m256d l = _mm256_set1_pd(nd->leaf[0]), r = _mm256_set1_pd(nd->leaf[1]);

		lo = _mm256_add_pd(lo, _mm256_blendv_pd(r, l,
		                                        _mm256_castsi256_pd(_mm256_cvtepi32_epi64(
		                                            _mm256_castsi256_si128(left)))));
		hi = _mm256_add_pd(hi, _mm256_blendv_pd(r, l,
		                                        _mm256_castsi256_pd(_mm256_cvtepi32_epi64(
		                                            _mm256_extracti128_si256(left, 1)))));
	}
	return (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(lo, thr, _CMP_NLT_UQ)) |
	       (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(hi, thr, _CMP_NLT_UQ)) << 4;
}

__attribute__((target("avx2"), always_inline)) static inline int
avx2_scan_level(const struct fm_cascade *c, struct fm_detector *d, int32_t lw, int32_t lh,
                float scale, int32_t step)
{
	size_t stride = d->compiled_stride;
	const struct lbp_node *nodes = d->nodes;
	int32_t xs = lw + 1 - c->win_w, ys = lh + 1 - c->win_h;
	int32_t box_w = round_f((float)c->win_w * scale), box_h = round_f((float)c->win_h * scale);
	int32_t n_pos = xs > 0 ? (xs + step - 1) / step : 0, n_blk = (n_pos + 7) / 8;
	const struct cascade_stage *st0 = &c->stages[0];
	uint8_t *in = d->pass;

	for (int32_t y = 0; y < ys; y += step) {
		/* Window i's cells: at step 1 in integrate's table, at 2 in split_integrate's. */
		const uint32_t *row = step == 1
		                          ? d->sum + (size_t)y * stride
		                          : d->split + (size_t)y * 2 * (size_t)split_half(stride);
		int skip = 0;

		for (int32_t b = 0; b < n_blk; b++)
			in[b] = (uint8_t)avx2_lbp_stage(
			    nodes + c->trees[st0->first_tree].first_node, st0->n_trees,
			    st0->threshold, row + (size_t)b * 8, step);
		/* The windows visited, as scan_level's loop steps over them. */
		for (int32_t b = 0; b < n_blk; b++) {
			unsigned pass = in[b], visited = 0;

			for (int32_t k = 0; k < 8 && b * 8 + k < n_pos; k++) {
				if (skip)
					skip = 0;
				else if (pass & (1u << k))
					visited |= 1u << k;
				else
					skip = 1;
			}
			in[b] = (uint8_t)visited;
		}
		for (int32_t b = 0; b < n_blk; b++) {
			const uint32_t *p = row + (size_t)b * 8;
			unsigned alive = in[b];

			for (size_t si = 1; si < c->n_stages && alive != 0; si++) {
				const struct cascade_stage *st = &c->stages[si];

				alive &= avx2_lbp_stage(nodes + c->trees[st->first_tree].first_node,
				                        st->n_trees, st->threshold, p, step);
			}
			for (int32_t k = 0; alive != 0; k++, alive >>= 1) {
				int32_t x = (b * 8 + k) * step;
				int rc;

				if (!(alive & 1))
					continue;
				rc = push_raw(d, round_f((float)x * scale),
				              round_f((float)y * scale), box_w, box_h);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

/* With the step a constant in each copy, so that the loads need no branch. */
__attribute__((target("avx2"))) static int
avx2_scan_level_1(const struct fm_cascade *c, struct fm_detector *d, int32_t lw, int32_t lh,
                  float scale)
{
	return avx2_scan_level(c, d, lw, lh, scale, 1);
}

__attribute__((target("avx2"))) static int
avx2_scan_level_2(const struct fm_cascade *c, struct fm_detector *d, int32_t lw, int32_t lh,
                  float scale)
{
	return avx2_scan_level(c, d, lw, lh, scale, 2);
}
#endif

/* Whether the AVX2 scan runs: an all-stump LBP cascade, on a CPU with AVX2. */
static int
vector_scan(const struct fm_cascade *c, const struct fm_detector *d)
{
#if CASCADE_AVX2
	return c->type == CASCADE_LBP && d->all_stumps && !d->portable &&
	       __builtin_cpu_supports("avx2");
#else
	(void)c;
	(void)d;
	return 0;
#endif
}

/* Scan one pyramid level whose integrals are in d; raw hits go to d->raw. 0, or push_raw's
 * -1 or -2. */
static int
scan_level(const struct fm_cascade *c, struct fm_detector *d, int32_t lw, int32_t lh, float scale)
{
	size_t stride = d->compiled_stride;
	int32_t step = scale >= 2.0f ? 1 : 2;
	int32_t xs = lw + 1 - c->win_w, ys = lh + 1 - c->win_h;
	int32_t box_w = round_f((float)c->win_w * scale), box_h = round_f((float)c->win_h * scale);
	double area = (double)(c->win_w - 2) * (double)(c->win_h - 2);
	int32_t n_pos = xs > 0 ? (xs + step - 1) / step : 0;
	int batch = c->type == CASCADE_LBP && d->stage0_stumps;
	const struct lbp_node *lbp_rest = (const struct lbp_node *)d->nodes + d->stage1_node;

	if (batch && (reserve(&d->acc, &d->acc_cap, (size_t)n_pos, sizeof *d->acc) == -1 ||
	              reserve(&d->pass, &d->pass_cap, (size_t)n_pos, 1) == -1))
		return -1;
#if CASCADE_AVX2
	if (vector_scan(c, d))
		return step == 1 ? avx2_scan_level_1(c, d, lw, lh, scale)
		                 : avx2_scan_level_2(c, d, lw, lh, scale);
#endif
	for (int32_t y = 0; y < ys; y += step) {
		if (batch)
			lbp_stage0_row(c, d->nodes, d->sum + (size_t)y * stride, step, n_pos,
			               d->acc, d->pass);
		for (int32_t x = 0; x < xs; x += step) {
			size_t off = (size_t)y * stride + (size_t)x;
			int result;

			if (c->type == CASCADE_HAAR) {
				const uint32_t *p = d->sum + off;
				int32_t vs = box_sum(p, d->norm_ofs);
				uint32_t vq = d->sqsum[off + (size_t)d->norm_ofs[0]] -
				              d->sqsum[off + (size_t)d->norm_ofs[1]] -
				              d->sqsum[off + (size_t)d->norm_ofs[2]] +
				              d->sqsum[off + (size_t)d->norm_ofs[3]];
				double nf = area * (double)vq - (double)vs * (double)vs;
				float norm;

				/* OpenCV's HaarEvaluator::setWindow: a flat window is no face. */
				if (nf > 0.) {
					norm = (float)(1. / sqrt(nf));
					result = area * norm < 1e-1
					             ? run_haar(c, 0, d->nodes, p, norm)
					             : -1;
				} else {
					result = -1;
				}
			} else if (batch) {
				result =
				    d->pass[x / step] ? run_lbp(c, 1, lbp_rest, d->sum + off) : 0;
			} else {
				result = run_lbp(c, 0, d->nodes, d->sum + off);
			}
			if (result > 0) {
				int rc = push_raw(d, round_f((float)x * scale),
				                  round_f((float)y * scale), box_w, box_h);
				if (rc < 0)
					return rc;
			}
			if (result == 0)
				x += step;
		}
	}
	return 0;
}

/* --- grouping ------------------------------------------------------------------------------ */

/* OpenCV's SimilarRects. */
static int
similar(const struct fm_box *a, const struct fm_box *b, double eps)
{
	double delta = eps * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;

	return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
	       abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

static int
cmp_output(const void *a, const void *b)
{
	const struct fm_box *p = a, *q = b;

	if (p->neighbors != q->neighbors)
		return q->neighbors - p->neighbors;
	if (p->y != q->y)
		return p->y - q->y;
	if (p->x != q->x)
		return p->x - q->x;
	return p->w - q->w;
}

/*
 * A grid of boxes in levels of cells: a box whose reach is r goes to level L, the smallest
 * with 2^L >= r, in the cell of side 2^L that holds its anchor point. A box found within r
 * of a point on both axes, r no more than the cell's side, lies in one of 3 x 3 cells of its
 * level, whatever the other boxes. Boxes of one pyramid level are a few steps apart, and a
 * level of the grid spans a factor of two of sizes, so a cell holds a bounded number of boxes
 * and a search costs the levels present times a few binary searches: n log n in all, where
 * comparing each box with all those within reach on x alone was quadratic when many boxes
 * share an x (a column of faces repeated down a strip).
 */
struct grid_entry {
	int level;
	int64_t cx, cy;
	size_t index;
};

struct grid {
	struct grid_entry *e;
	size_t n;
	int levels[64]; /* those present, ascending */
	int n_levels;
	uint64_t *work; /* when not NULL, counts the cells looked up and the boxes visited */
};

static int
grid_level(double reach)
{
	int level = 0;

	while (level < 62 && ldexp(1.0, level) < reach)
		level++;
	return level;
}

/* floor(a / side), side > 0. */
static int64_t
floor_div(int64_t a, int64_t side)
{
	int64_t q = a / side;

	return a % side != 0 && a < 0 ? q - 1 : q;
}

static int
cmp_grid_entry(const void *a, const void *b)
{
	const struct grid_entry *p = a, *q = b;

	if (p->level != q->level)
		return p->level < q->level ? -1 : 1;
	if (p->cx != q->cx)
		return p->cx < q->cx ? -1 : 1;
	if (p->cy != q->cy)
		return p->cy < q->cy ? -1 : 1;
	return p->index < q->index ? -1 : p->index > q->index;
}

/* Sort the n entries (level, anchor cell and index filled in) and note the levels present. */
static void
grid_build(struct grid *g, struct grid_entry *e, size_t n)
{
	g->e = e;
	g->n = n;
	g->n_levels = 0;
	qsort(e, n, sizeof *e, cmp_grid_entry);
	for (size_t i = 0; i < n; i++)
		if (g->n_levels == 0 || g->levels[g->n_levels - 1] != e[i].level)
			g->levels[g->n_levels++] = e[i].level;
}

/* The first entry at or after (level, cx, cy). */
static size_t
grid_find(const struct grid *g, int level, int64_t cx, int64_t cy)
{
	struct grid_entry key = {level, cx, cy, 0};
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_grid_entry(&g->e[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Call visit(ctx, index) for each box of the level whose anchor is in [x0, x1] x [y0, y1]
 * by cells (a superset of those anchored there, no more than the cells' boxes); stop and
 * return 1 when visit does.
 */
static int
grid_visit(const struct grid *g, int level, int64_t x0, int64_t x1, int64_t y0, int64_t y1,
           int (*visit)(void *ctx, size_t index), void *ctx)
{
	int64_t side = (int64_t)1 << level;
	int64_t cy1 = floor_div(y1, side);

	if (x0 > x1 || y0 > y1)
		return 0;
	for (int64_t cx = floor_div(x0, side); cx <= floor_div(x1, side); cx++) {
		size_t k = grid_find(g, level, cx, floor_div(y0, side));

		if (g->work != NULL)
			++*g->work;
		for (; k < g->n && g->e[k].level == level && g->e[k].cx == cx && g->e[k].cy <= cy1;
		     k++) {
			if (g->work != NULL)
				++*g->work;
			if (visit(ctx, g->e[k].index))
				return 1;
		}
	}
	return 0;
}

/* Joining similar boxes into classes: the box looked from, and the union-find forest. */
struct join {
	const struct fm_box *raw;
	size_t from;
	size_t *parent;
};

static size_t
find_root(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

static int
join_visit(void *ctx, size_t j)
{
	struct join *jn = ctx;

	if (j > jn->from && similar(&jn->raw[jn->from], &jn->raw[j], GROUP_EPS)) {
		size_t ra = find_root(jn->parent, jn->from), rb = find_root(jn->parent, j);

		if (ra != rb)
			jn->parent[ra > rb ? ra : rb] = ra < rb ? ra : rb;
	}
	return 0;
}

/* Whether a box is dropped: inside a bigger one with more support. */
struct inside {
	const struct fm_box *sums;
	size_t from;
	int min_neighbors;
};

static int
inside_visit(void *ctx, size_t j)
{
	const struct inside *in = ctx;
	const struct fm_box *r1 = &in->sums[in->from], *r2 = &in->sums[j];
	int n1 = r1->neighbors, n2 = r2->neighbors;

	if (j == in->from || n2 <= in->min_neighbors)
		return 0;
	int dx = round_d(r2->w * GROUP_EPS), dy = round_d(r2->h * GROUP_EPS);
	return r1->x >= r2->x - dx && r1->y >= r2->y - dy && r1->x + r1->w <= r2->x + r2->w + dx &&
	       r1->y + r1->h <= r2->y + r2->h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3);
}

int
cascade_group(const struct fm_box *raw, size_t n, int min_neighbors, struct fm_box **out,
              size_t *n_out)
{
	return cascade_group_counted(raw, n, min_neighbors, out, n_out, NULL);
}

int
cascade_group_counted(const struct fm_box *raw, size_t n, int min_neighbors, struct fm_box **out,
                      size_t *n_out, uint64_t *work)
{
	size_t *parent = NULL, *cls = NULL;
	struct grid_entry *e = NULL;
	struct grid g = {.work = work};
	struct fm_box *sums = NULL, *res = NULL;
	int64_t *acc = NULL;
	size_t n_cls = 0, n_res = 0, n_e = 0;
	int rc = -1;

	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	if (min_neighbors <= 0) {
		res = malloc(n * sizeof *res);
		if (res == NULL)
			return -1;
		memcpy(res, raw, n * sizeof *res);
		n_res = n;
		goto done;
	}
	parent = malloc(n * sizeof *parent);
	cls = malloc(n * sizeof *cls);
	e = malloc(n * sizeof *e);
	if (parent == NULL || cls == NULL || e == NULL)
		goto fail;
	/* Two similar boxes are within delta <= eps * (w + h) / 2 of each other on both axes
	 * for each of the two: this is each box's reach, the grid's anchor its corner. */
	for (size_t i = 0; i < n; i++) {
		int level = grid_level(GROUP_EPS * (raw[i].w + raw[i].h) * 0.5);
		int64_t side = (int64_t)1 << level;

		parent[i] = i;
		e[i] = (struct grid_entry){level, floor_div(raw[i].x, side),
		                           floor_div(raw[i].y, side), i};
	}
	grid_build(&g, e, n);
	for (size_t i = 0; i < n; i++) {
		double reach = GROUP_EPS * (raw[i].w + raw[i].h) * 0.5;
		struct join jn = {raw, i, parent};

		for (int k = 0; k < g.n_levels; k++) {
			int64_t side = (int64_t)1 << g.levels[k];
			/* Within the reach of both: of box i, and of any box of this level. */
			int64_t r = (int64_t)floor(reach < (double)side ? reach : (double)side);

			grid_visit(&g, g.levels[k], (int64_t)raw[i].x - r, (int64_t)raw[i].x + r,
			           (int64_t)raw[i].y - r, (int64_t)raw[i].y + r, join_visit, &jn);
		}
	}
	/* Number classes in order of their first member, as OpenCV's partition does. */
	for (size_t i = 0; i < n; i++)
		cls[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) /* a root is its class's first member: still one */
		parent[i] = find_root(parent, i);
	for (size_t i = 0; i < n; i++) {
		size_t r = parent[i];
		if (cls[r] == SIZE_MAX)
			cls[r] = n_cls++;
		parent[i] = cls[r]; /* no longer a forest: each box's class */
	}
	acc = calloc(n_cls * 5, sizeof *acc);
	sums = malloc(n_cls * sizeof *sums);
	res = malloc(n_cls * sizeof *res);
	if (acc == NULL || sums == NULL || res == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		int64_t *a = &acc[parent[i] * 5];
		a[0] += raw[i].x;
		a[1] += raw[i].y;
		a[2] += raw[i].w;
		a[3] += raw[i].h;
		a[4]++;
	}
	for (size_t k = 0; k < n_cls; k++) {
		const int64_t *a = &acc[k * 5];
		/* OpenCV: Rect sums are int, scaled by a float 1/count, then cvRound. */
		float s = 1.f / (float)a[4];

		sums[k] = (struct fm_box){round_f((float)(int32_t)a[0] * s),
		                          round_f((float)(int32_t)a[1] * s),
		                          round_f((float)(int32_t)a[2] * s),
		                          round_f((float)(int32_t)a[3] * s), (int32_t)a[4]};
	}
	/*
	 * Drop a box lying inside a bigger one that has more support: r1 inside r2 grown by
	 * (dx, dy) on each side. The grid holds the classes that count, anchored at the grown
	 * box's corner, the level's side at least the grown box's: a box containing r1's
	 * corner has its corner at most a side up and left of it.
	 */
	for (size_t k = 0; k < n_cls; k++)
		if (sums[k].neighbors > min_neighbors) {
			const struct fm_box *b = &sums[k];
			int dx = round_d(b->w * GROUP_EPS), dy = round_d(b->h * GROUP_EPS);
			int64_t ext_w = (int64_t)b->w + 2 * dx, ext_h = (int64_t)b->h + 2 * dy;
			int level = grid_level((double)(ext_w > ext_h ? ext_w : ext_h));
			int64_t side = (int64_t)1 << level;

			e[n_e++] = (struct grid_entry){level, floor_div((int64_t)b->x - dx, side),
			                               floor_div((int64_t)b->y - dy, side), k};
		}
	grid_build(&g, e, n_e);
	for (size_t i = 0; i < n_cls; i++) {
		const struct fm_box *r1 = &sums[i];
		struct inside in = {sums, i, min_neighbors};
		int dropped = 0;

		if (r1->neighbors <= min_neighbors)
			continue;
		/* r2 grown is (gx, gy, ext_w, ext_h) with ext_w <= side: gx <= x1 and
		 * x1 + w1 <= gx + ext_w, so x1 + w1 - side <= gx <= x1; and so on y. */
		for (int k = 0; k < g.n_levels && !dropped; k++) {
			int64_t side = (int64_t)1 << g.levels[k];

			dropped =
			    grid_visit(&g, g.levels[k], (int64_t)r1->x + r1->w - side, r1->x,
			               (int64_t)r1->y + r1->h - side, r1->y, inside_visit, &in);
		}
		if (!dropped)
			res[n_res++] = *r1;
	}
done:
	if (n_res == 0) {
		free(res);
		res = NULL;
	} else {
		qsort(res, n_res, sizeof *res, cmp_output);
	}
	*out = res;
	*n_out = n_res;
	res = NULL;
	rc = 0;
fail:
	free(e);
	free(parent);
	free(cls);
	free(acc);
	free(sums);
	free(res);
	return rc;
}

double
fm_box_score(int32_t neighbors)
{
	double n = neighbors > 0 ? neighbors : 0;
	double s = round(1000.0 * n / (n + 4.0)) / 1000.0;

	return s > 0.999 ? 0.999 : s < 0.001 ? 0.001 : s;
}

int
fm_cascade_detect(const struct fm_cascade *c, struct fm_detector *d, const struct fm_gray *img,
                  const struct fm_detect_opts *o, struct fm_box **boxes, size_t *n,
                  struct fm_err *err)
{
	float scales[MAX_SCALES];
	size_t n_scales = 0;
	int32_t W = (int32_t)img->width, H = (int32_t)img->height;
	int32_t max_w = o->max_side ? (int32_t)o->max_side : W;
	int32_t max_h = o->max_side ? (int32_t)o->max_side : H;
	int32_t min_side = (int32_t)o->min_side;

	*boxes = NULL;
	*n = 0;
	if (!(o->scale_factor >= 1.001 && o->scale_factor <= 100.0))
		return fm_err_set(err, FM_EINVAL, "scale factor %g out of range (1.001 to 100)",
		                  o->scale_factor);
	if (o->min_neighbors < 0)
		return fm_err_set(err, FM_EINVAL, "negative min_neighbors");
	if (img->width == 0 || img->height == 0 || img->width > INT32_MAX / 2 ||
	    img->height > INT32_MAX / 2)
		return fm_err_set(err, FM_EINVAL, "image has no pixels");

	/* OpenCV's scale list: double factor, rounded window, stored as float. */
	for (double factor = 1;; factor *= o->scale_factor) {
		int32_t ww = round_d(c->win_w * factor), wh = round_d(c->win_h * factor);

		if (ww > max_w || wh > max_h || ww > W || wh > H)
			break;
		if (ww < min_side || wh < min_side)
			continue;
		if (n_scales == MAX_SCALES)
			break;
		scales[n_scales++] = (float)factor;
	}
	if (n_scales == 0)
		return 0;

	/* One row stride for every level, so features are compiled once per image size. */
	size_t stride = (size_t)W + 1, cells = stride * ((size_t)H + 1);
	size_t tilted_ofs = c->has_tilted ? cells : 0;
	/* The vectorised scans read up to SUM_PAD cells past a row's last window, whose
	 * results they drop; zeroed once, so that nothing reads memory never written. */
	if (reserve_zeroed(&d->sum, &d->sum_cap, cells + tilted_ofs + SUM_PAD, sizeof *d->sum) ==
	        -1 ||
	    (c->type == CASCADE_HAAR &&
	     reserve(&d->sqsum, &d->sqsum_cap, cells, sizeof *d->sqsum) == -1) ||
	    reserve(&d->layer, &d->layer_cap, (size_t)W * (size_t)H, 1) == -1)
		goto nomem;
	if (compile(d, c, stride, tilted_ofs) == -1)
		goto nomem;
	/* compile says whether the cascade is all stumps. */
	if (vector_scan(c, d) &&
	    reserve_zeroed(&d->split, &d->split_cap,
	                   2 * (size_t)split_half(stride) * ((size_t)H + 1) + SUM_PAD,
	                   sizeof *d->split) == -1)
		goto nomem;
	d->n_raw = 0;
	d->max_raw = o->max_windows;

	for (size_t i = 0; i < n_scales; i++) {
		float sc = scales[i];
		int32_t lw = round_f((float)W / sc), lh = round_f((float)H / sc);
		const uint8_t *pix = img->pixels;

		if (lw < c->win_w || lh < c->win_h)
			continue;
		if (lw != W || lh != H) {
			struct fm_gray dst = {(uint32_t)lw, (uint32_t)lh, d->layer};

			fm_gray_resize_exact(img, &dst);
			pix = d->layer;
		}
		if (vector_scan(c, d) && !(sc >= 2.0f))
			split_integrate(pix, lw, lh, stride, d->split);
		else
			integrate(pix, lw, lh, stride, d->sum,
			          c->type == CASCADE_HAAR ? d->sqsum : NULL);
		if (c->has_tilted) {
			if (reserve(&d->trows, &d->trows_cap, cascade_tilted_scratch(lw, lh),
			            sizeof *d->trows) == -1)
				goto nomem;
			cascade_tilted_integral(pix, lw, lh, stride, d->sum + tilted_ofs, d->trows);
		}
		int rc = scan_level(c, d, lw, lh, sc);
		if (rc == -2)
			return fm_err_set(err, FM_ELIMIT,
			                  "more than %zu candidate face windows in a %ux%u image: "
			                  "over the window limit",
			                  o->max_windows, img->width, img->height);
		if (rc == -1)
			goto nomem;
	}
	if (cascade_group(d->raw, d->n_raw, o->min_neighbors, boxes, n) == -1)
		goto nomem;
	return 0;
nomem:
	return fm_err_set(err, FM_ENOMEM, "out of memory detecting faces in a %ux%u image",
	                  img->width, img->height);
}

/* --- photos: the shrunk copy ------------------------------------------------------------- */

void
fm_cascade_work_size(const struct fm_cascade *c, uint32_t width, uint32_t height,
                     const struct fm_photo_opts *o, uint32_t *work_w, uint32_t *work_h)
{
	uint64_t lng = width > height ? width : height, shrt = width > height ? height : width;
	uint64_t win = c->win_w > c->win_h ? (uint64_t)c->win_w : (uint64_t)c->win_h;
	uint64_t face = o->detect.min_side ? o->detect.min_side : o->detect.max_side;
	uint64_t side = o->work_side, other;

	*work_w = width;
	*work_h = height;
	if (side == 0 || side >= lng)
		return;
	/* A face asked for by size must still fill the cascade's window in the copy. */
	if (face != 0 && side < (lng * win + face - 1) / face)
		side = (lng * win + face - 1) / face;
	if (side >= lng)
		return;
	other = (2 * shrt * side + lng) / (2 * lng);
	if (other < 1)
		other = 1;
	*work_w = (uint32_t)(width > height ? side : other);
	*work_h = (uint32_t)(width > height ? other : side);
}

/* v pixels of the copy in the photo's: v * lng / side, rounded half up. */
static int32_t
to_photo(int32_t v, uint64_t lng, uint64_t side)
{
	return (int32_t)floor((double)v * (double)lng / (double)side + 0.5);
}

int
fm_cascade_detect_photo(const struct fm_cascade *c, struct fm_detector *d,
                        const struct fm_gray *img, const struct fm_photo_opts *o,
                        struct fm_box **boxes, size_t *n, struct fm_err *err)
{
	struct fm_detect_opts dopts = o->detect;
	const struct fm_gray *search = img;
	struct fm_gray work;
	uint32_t ww, wh;
	bool shrunk;

	*boxes = NULL;
	*n = 0;
	if (img->width == 0 || img->height == 0)
		return fm_cascade_detect(c, d, img, &dopts, boxes, n, err);
	fm_cascade_work_size(c, img->width, img->height, o, &ww, &wh);
	shrunk = ww != img->width || wh != img->height;
	uint64_t lng = img->width > img->height ? img->width : img->height;
	uint64_t side = ww > wh ? ww : wh;

	if (shrunk || o->equalize) {
		if (reserve(&d->work, &d->work_cap, (size_t)ww * wh, 1) == -1)
			return fm_err_set(err, FM_ENOMEM,
			                  "out of memory for a %ux%u copy of the image", ww, wh);
		work = (struct fm_gray){ww, wh, d->work};
		if (shrunk)
			fm_gray_resize_area(img, &work);
		else
			memcpy(work.pixels, img->pixels, (size_t)ww * wh);
		if (o->equalize)
			fm_gray_equalize(&work);
		search = &work;
	}
	if (shrunk) {
		/* Rounded inwards: min up, max down, so no face outside the asked sizes. */
		if (dopts.min_side != 0)
			dopts.min_side = (uint32_t)((dopts.min_side * side + lng - 1) / lng);
		if (dopts.max_side != 0) {
			uint64_t m = dopts.max_side * side / lng;

			dopts.max_side = m < 1 ? 1 : (uint32_t)m;
		}
	}
	if (fm_cascade_detect(c, d, search, &dopts, boxes, n, err) == -1)
		return -1;
	for (size_t i = 0; shrunk && i < *n; i++) {
		struct fm_box *b = &(*boxes)[i];
		int32_t W = (int32_t)img->width, H = (int32_t)img->height;

		b->x = to_photo(b->x, lng, side);
		b->y = to_photo(b->y, lng, side);
		b->w = to_photo(b->w, lng, side);
		b->h = to_photo(b->h, lng, side);
		/* The shorter side was rounded, so a box at its far edge may overhang by one. */
		b->x = b->x > W - 1 ? W - 1 : b->x;
		b->y = b->y > H - 1 ? H - 1 : b->y;
		b->w = b->w > W - b->x ? W - b->x : b->w;
		b->h = b->h > H - b->y ? H - b->y : b->h;
	}
	return 0;
}
