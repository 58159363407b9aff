/*
 * lib/facedet.c: the detector's targets, their decoding, non-maximum suppression and the
 * loss. See facedet.h. The targets follow FCOS's centre sampling (Tian et al. 2019) on one
 * level; the loss is RetinaNet's focal loss (Lin et al. 2017) on the logit with smooth L1
 * (Girshick 2015) on the box and landmarks, both normalised by the positives.
 */
#include "facedet.h"

#include "facedet_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int
fm_facedet_geom_check(const struct fm_facedet_geom *g, struct fm_err *err)
{
	if (g->stride < 1 || g->stride > 64)
		return fm_err_set(err, FM_EINVAL, "detector stride %u is not from 1 to 64",
		                  (unsigned)g->stride);
	if (!(g->min_side > 0 && g->max_side > g->min_side && g->max_side <= FM_CNN_MAX_SIDE))
		return fm_err_set(err, FM_EINVAL,
		                  "detector face sides %g to %g are not 0 < min < max <= %d",
		                  (double)g->min_side, (double)g->max_side, FM_CNN_MAX_SIDE);
	return 0;
}

static float
nominal(const struct fm_facedet_geom *g)
{
	return sqrtf(g->min_side * g->max_side);
}

/* The cells whose point lies within [lo, hi] on one axis: [*first, *last], empty if
 * *first > *last. */
static void
cell_range(float lo, float hi, uint32_t stride, uint32_t n, long *first, long *last)
{
	*first = (long)ceilf(lo / (float)stride - 0.5f);
	*last = (long)floorf(hi / (float)stride - 0.5f);
	if (*first < 0)
		*first = 0;
	if (*last > (long)n - 1)
		*last = (long)n - 1;
}

void
fm_facedet_encode(const struct fm_facedet_geom *g, const struct fm_facedet_face *faces,
                  size_t n_faces, uint32_t out_h, uint32_t out_w, float *target)
{
	const size_t plane = (size_t)out_h * out_w;
	const float s = nominal(g), st = (float)g->stride;

	memset(target, 0, FM_FACEDET_TARGET_CHANNELS * plane * sizeof *target);
	for (size_t k = 0; k < n_faces; k++) {
		const struct fm_facedet_face *f = &faces[k];
		float side = sqrtf(fabsf(f->w * f->h));
		int in_band = side >= g->min_side / FM_FACEDET_IGNORE_BAND &&
		              side <= g->max_side * FM_FACEDET_IGNORE_BAND;
		long i0, i1, j0, j1;

		if (!(side > 0) || !(f->ignore || in_band))
			continue;
		cell_range(f->x, f->x + f->w, g->stride, out_w, &j0, &j1);
		cell_range(f->y, f->y + f->h, g->stride, out_h, &i0, &i1);
		for (long i = i0; i <= i1; i++)
			for (long j = j0; j <= j1; j++)
				if (target[(size_t)i * out_w + (size_t)j] != 1)
					target[(size_t)i * out_w + (size_t)j] = -1;
		if (f->ignore || side < g->min_side || side > g->max_side)
			continue;
		float cx = f->x + f->w / 2, cy = f->y + f->h / 2;
		float r = fmaxf(0.25f * side, 0.75f * st);
		long nj = (long)floorf(cx / st), ni = (long)floorf(cy / st);

		cell_range(cx - r, cx + r, g->stride, out_w, &j0, &j1);
		cell_range(cy - r, cy + r, g->stride, out_h, &i0, &i1);
		for (long i = i0 - 1; i <= i1 + 1; i++)
			for (long j = j0 - 1; j <= j1 + 1; j++) {
				int inside = i >= i0 && i <= i1 && j >= j0 && j <= j1;
				size_t c = (size_t)i * out_w + (size_t)j;

				/* The nearest cell counts even when the radius misses every
				 * point, as for a face near the crop's edge. */
				if (!inside && !(i == ni && j == nj))
					continue;
				if (i < 0 || j < 0 || i >= (long)out_h || j >= (long)out_w)
					continue;
				/* A cell two faces claim goes to the smaller, whose side its
				 * box distances give back. */
				if (target[c] == 1 &&
				    s * sqrtf((target[plane + c] + target[3 * plane + c]) *
				              (target[2 * plane + c] + target[4 * plane + c])) <=
				        side)
					continue;
				float px = ((float)j + 0.5f) * st, py = ((float)i + 0.5f) * st;

				target[c] = 1;
				target[1 * plane + c] = (px - f->x) / s;
				target[2 * plane + c] = (py - f->y) / s;
				target[3 * plane + c] = (f->x + f->w - px) / s;
				target[4 * plane + c] = (f->y + f->h - py) / s;
				for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
					target[(size_t)(5 + 2 * m) * plane + c] =
					    f->has_landmarks ? (f->landmarks[m][0] - px) / s : 0;
					target[(size_t)(6 + 2 * m) * plane + c] =
					    f->has_landmarks ? (f->landmarks[m][1] - py) / s : 0;
				}
				target[(size_t)(FM_FACEDET_TARGET_CHANNELS - 1) * plane + c] =
				    f->has_landmarks ? 1.0f : 0.0f;
			}
	}
}

static float
sigmoid(float z)
{
	return z >= 0 ? 1 / (1 + expf(-z)) : expf(z) / (1 + expf(z));
}

int
fm_facedet_decode(const struct fm_facedet_geom *g, const float *out, uint32_t out_h, uint32_t out_w,
                  float min_score, double scale, struct fm_facedet_box **boxes, size_t *n,
                  size_t *cap, struct fm_err *err)
{
	const size_t plane = (size_t)out_h * out_w;
	const double s = nominal(g), st = g->stride;
	/* The logit threshold once, rather than a sigmoid a cell. */
	const float min_logit = min_score <= 0   ? -INFINITY
	                        : min_score >= 1 ? INFINITY
	                                         : logf(min_score / (1 - min_score));

	for (uint32_t i = 0; i < out_h; i++)
		for (uint32_t j = 0; j < out_w; j++) {
			size_t c = (size_t)i * out_w + j;

			if (!(out[c] + FM_FACEDET_LOGIT_PRIOR >= min_logit))
				continue;
			if (*n == *cap) {
				size_t more = *cap ? 2 * *cap : 64;
				struct fm_facedet_box *b;

				if (more > (size_t)FM_FACEDET_MAX_CANDIDATES)
					return fm_err_set(err, FM_ELIMIT,
					                  "more than %d candidate faces",
					                  FM_FACEDET_MAX_CANDIDATES);
				if ((b = realloc(*boxes, more * sizeof *b)) == NULL)
					return fm_err_set(err, FM_ENOMEM,
					                  "out of memory for %zu candidate faces",
					                  more);
				*boxes = b;
				*cap = more;
			}
			struct fm_facedet_box *b = &(*boxes)[(*n)++];
			double px = (j + 0.5) * st, py = (i + 0.5) * st;
			double x0 = px - out[plane + c] * s, y0 = py - out[2 * plane + c] * s;
			double x1 = px + out[3 * plane + c] * s, y1 = py + out[4 * plane + c] * s;

			b->x = (float)(x0 / scale);
			b->y = (float)(y0 / scale);
			b->w = (float)(fmax(x1 - x0, 0) / scale);
			b->h = (float)(fmax(y1 - y0, 0) / scale);
			b->score = sigmoid(out[c] + FM_FACEDET_LOGIT_PRIOR);
			for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
				b->landmarks[m][0] =
				    (float)((px + out[(size_t)(5 + 2 * m) * plane + c] * s) /
				            scale);
				b->landmarks[m][1] =
				    (float)((py + out[(size_t)(6 + 2 * m) * plane + c] * s) /
				            scale);
			}
		}
	return 0;
}

double
fm_facedet_iou(const struct fm_facedet_box *a, const struct fm_facedet_box *b)
{
	double ix = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
	double iy = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
	double inter, uni;

	if (!(a->w > 0 && a->h > 0 && b->w > 0 && b->h > 0) || ix <= 0 || iy <= 0)
		return 0;
	inter = ix * iy;
	uni = (double)a->w * a->h + (double)b->w * b->h - inter;
	return uni > 0 ? inter / uni : 0;
}

static int
by_score(const void *pa, const void *pb)
{
	const struct fm_facedet_box *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	if (a->w != b->w)
		return a->w < b->w ? -1 : 1;
	return 0;
}

void
facedet_sort(struct fm_facedet_box *boxes, size_t n)
{
	if (n > 1)
		qsort(boxes, n, sizeof *boxes, by_score);
}

size_t
fm_facedet_nms(struct fm_facedet_box *boxes, size_t n, double max_iou)
{
	size_t kept = 0;

	if (n == 0)
		return 0;
	facedet_sort(boxes, n);
	for (size_t i = 0; i < n; i++) {
		int keep = 1;

		for (size_t k = 0; k < kept && keep; k++)
			if (fm_facedet_iou(&boxes[k], &boxes[i]) > max_iou)
				keep = 0;
		if (keep)
			boxes[kept++] = boxes[i];
	}
	return kept;
}

/* log(1 + e^x) without overflow. */
static double
softplus(double x)
{
	return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* Smooth L1 of d and its derivative. */
static double
smooth_l1(double d, double beta, double *grad)
{
	double a = fabs(d);

	if (a < beta) {
		*grad = d / beta;
		return 0.5 * d * d / beta;
	}
	*grad = d > 0 ? 1 : -1;
	return a - 0.5 * beta;
}

int
fm_facedet_loss(const struct fm_facedet_loss_opts *o, const float *out, const float *target,
                size_t batch, uint32_t out_h, uint32_t out_w, struct fm_facedet_loss *loss,
                float *dout, struct fm_err *err)
{
	const size_t plane = (size_t)out_h * out_w;
	double cls = 0, box = 0, lm = 0, norm;
	size_t n_pos = 0;

	if (!(o->alpha > 0 && o->alpha < 1) || !(o->gamma >= 0 && o->gamma <= 10) ||
	    !(o->box_weight >= 0) || !(o->landmark_weight >= 0) || !(o->beta > 0))
		return fm_err_set(err, FM_EINVAL, "detector loss options out of range");
	for (size_t b = 0; b < batch; b++) {
		const float *t = target + b * FM_FACEDET_TARGET_CHANNELS * plane;

		for (size_t c = 0; c < plane; c++)
			n_pos += t[c] == 1;
	}
	norm = n_pos > 0 ? (double)n_pos : 1;
	if (dout != NULL)
		memset(dout, 0, batch * FM_FACEDET_OUT_CHANNELS * plane * sizeof *dout);
	for (size_t b = 0; b < batch; b++) {
		const float *t = target + b * FM_FACEDET_TARGET_CHANNELS * plane;
		const float *z = out + b * FM_FACEDET_OUT_CHANNELS * plane;
		float *dz = dout != NULL ? dout + b * FM_FACEDET_OUT_CHANNELS * plane : NULL;

		for (size_t c = 0; c < plane; c++) {
			double x = (double)z[c] + FM_FACEDET_LOGIT_PRIOR, p, l, g;

			if (!isfinite(x))
				return fm_err_set(err, FM_EFORMAT,
				                  "the network's output is not finite (diverged)");
			if (t[c] < 0)
				continue;
			p = 1 / (1 + exp(-x));
			if (t[c] == 1) {
				/* -a (1-p)^g log p; log p = -softplus(-x) */
				double q = pow(1 - p, o->gamma);

				l = o->alpha * q * softplus(-x);
				g = o->alpha * q * (o->gamma * p * -softplus(-x) - (1 - p));
			} else {
				double q = pow(p, o->gamma);

				l = (1 - o->alpha) * q * softplus(x);
				g = (1 - o->alpha) * q * (p + o->gamma * (1 - p) * softplus(x));
			}
			cls += l;
			if (dz != NULL)
				dz[c] = (float)(g / norm);
			if (t[c] != 1)
				continue;
			for (int k = 1; k < 5; k++) {
				double gk;

				box += smooth_l1((double)z[k * plane + c] - t[k * plane + c],
				                 o->beta, &gk);
				if (dz != NULL)
					dz[k * plane + c] = (float)(o->box_weight * gk / norm);
			}
			if (t[(FM_FACEDET_TARGET_CHANNELS - 1) * plane + c] == 0)
				continue;
			for (int k = 5; k < FM_FACEDET_OUT_CHANNELS; k++) {
				double gk;

				lm += smooth_l1((double)z[k * plane + c] - t[k * plane + c],
				                o->beta, &gk);
				if (dz != NULL)
					dz[k * plane + c] = (float)(o->landmark_weight * gk / norm);
			}
		}
	}
	loss->cls = cls / norm;
	loss->box = box / norm;
	loss->landmarks = lm / norm;
	loss->total = loss->cls + o->box_weight * loss->box + o->landmark_weight * loss->landmarks;
	loss->n_pos = n_pos;
	return 0;
}
