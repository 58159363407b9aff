/*
 * lib/cnn_infer.c: the forward pass of a network loaded for inference, as a plan made once
 * from its final weights: batch normalisation folded into the convolution before it, the
 * relu after that done in the convolution's output pass, dropout left out.
 *
 * At inference bn is an affine map per channel, y = s (x - mean) + shift with s = scale /
 * sqrt(var + eps), so a conv followed by bn is one conv with weights s W and bias
 * shift + s (b - mean) (Jacob et al., "Quantization and training of neural networks for
 * efficient integer-arithmetic-only inference", 2018, section 3.2, folds the same way).
 * The folded weights are computed in double and laid out in one block, once, where each
 * call used to read the layer's weights and then pass over the output twice more (bn, relu).
 * Training keeps the layer stack of lib/cnn_layers.c: its bn needs the batch statistics and
 * its weights change at every step, so a trainable network has no plan. The results are an
 * inference forward's to float rounding (the products are the same sgemm calls, on weights
 * rounded once instead of outputs rounded twice).
 */
#include "cnn_int.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The next layer after i that does something at inference: dropout is the identity. */
static size_t
next_layer(const struct fm_cnn *net, size_t i)
{
	for (i++; i < net->n_layers && net->layers[i].kind == CNN_DROPOUT; i++)
		;
	return i;
}

void
cnn_infer_free(struct fm_cnn *net)
{
	free(net->steps);
	free(net->folded);
	net->steps = NULL;
	net->folded = NULL;
	net->n_steps = 0;
}

/* Weights of one output channel of a conv or dwconv layer. */
static size_t
filter_size(const struct cnn_layer *l)
{
	return (l->kind == CNN_DWCONV ? 1 : (size_t)l->in_c) * l->k * l->k;
}

/* Fold conv or dwconv layer c and the bn layer bn (NULL: none) into w and b. */
static void
fold(const struct cnn_layer *c, const struct cnn_layer *bn, float *w, float *b)
{
	const size_t kkc = filter_size(c);

	for (size_t o = 0; o < c->out_c; o++) {
		double s = 1, shift = 0, mean = 0, bias = c->has_bias ? c->b[o] : 0;

		if (bn != NULL) {
			s = (double)bn->w[o] / sqrt((double)bn->run_var[o] + bn->eps);
			shift = bn->b[o];
			mean = bn->run_mean[o];
		}
		for (size_t k = 0; k < kkc; k++)
			w[o * kkc + k] = (float)(s * c->w[o * kkc + k]);
		b[o] = (float)(shift + s * (bias - mean));
	}
}

int
cnn_infer_plan(struct fm_cnn *net, struct fm_err *err)
{
	size_t n_folded = 0, n = 0;
	struct cnn_step *steps;
	float *folded, *f;

	cnn_infer_free(net);
	for (size_t i = 0; i < net->n_layers; i++)
		if (net->layers[i].kind == CNN_CONV || net->layers[i].kind == CNN_DWCONV)
			n_folded +=
			    (size_t)net->layers[i].out_c * (filter_size(&net->layers[i]) + 1);
	steps = calloc(net->n_layers, sizeof *steps);
	folded = malloc((n_folded > 0 ? n_folded : 1) * sizeof *folded);
	if (steps == NULL || folded == NULL) {
		free(steps);
		free(folded);
		return fm_err_set(err, FM_ENOMEM, "out of memory for the inference plan");
	}
	f = folded;
	for (size_t i = 0; i < net->n_layers;) {
		const struct cnn_layer *l = &net->layers[i];
		struct cnn_step *s = &steps[n];
		size_t last = i, j;

		if (l->kind == CNN_DROPOUT) {
			i++;
			continue;
		}
		s->l = *l;
		if (l->kind == CNN_CONV || l->kind == CNN_DWCONV) {
			const struct cnn_layer *bn = NULL;

			j = next_layer(net, last);
			if (j < net->n_layers && net->layers[j].kind == CNN_BN) {
				bn = &net->layers[j];
				last = j;
			}
			j = next_layer(net, last);
			if (j < net->n_layers && net->layers[j].kind == CNN_RELU) {
				s->relu = 1;
				last = j;
			}
			s->l.w = f;
			s->l.b = f + (size_t)l->out_c * filter_size(l);
			s->l.has_bias = 1;
			f = s->l.b + l->out_c;
			fold(l, bn, s->l.w, s->l.b);
		}
		s->x = net->acts[i];
		s->y = net->acts[last + 1];
		n++;
		i = last + 1;
	}
	net->steps = steps;
	net->n_steps = n;
	net->folded = folded;
	return 0;
}

/* Per output channel c of a block, y[c] = src[c] + bias[c], through max(., 0) with relu;
 * rows n floats long, ld_src and ld_y apart. y may be src. */
static void
epilogue(const float *src, size_t ld_src, float *y, size_t ld_y, size_t rows, size_t n,
         const float *bias, int relu)
{
	const cnn_vf z = {0};

	for (size_t r = 0; r < rows; r++) {
		const float *a = src + r * ld_src;
		float *d = y + r * ld_y;
		const float b = bias[r];
		size_t i = 0;

		if (relu) {
			for (; i + CNN_VN <= n; i += CNN_VN) {
				cnn_vf v = cnn_vload(a + i) + b;

				/* Masking, as lib/cnn_layers.c's relu: no branch, -0 and NaN as
				 * there. */
				cnn_vstore(d + i, (cnn_vf)((cnn_vi)v & (v > z)));
			}
			for (; i < n; i++) {
				float v = a[i] + b;

				d[i] = v > 0.0f ? v : 0.0f;
			}
		} else {
			for (; i + CNN_VN <= n; i += CNN_VN)
				cnn_vstore(d + i, cnn_vload(a + i) + b);
			for (; i < n; i++)
				d[i] = a[i] + b;
		}
	}
}

/* The blocks of lib/cnn_layers.c's conv_forward (its plan's group and rows), each product
 * followed by one pass that adds the bias and applies the relu. */
static void
conv(const struct cnn_step *s, const float *x, float *y, size_t n, float *ws)
{
	const struct cnn_layer *l = &s->l;
	const size_t hwo = (size_t)l->out_h * l->out_w, co = l->out_c, wo = l->out_w;
	const size_t chw = cnn_layer_in_size(l), kkc = (size_t)l->in_c * l->k * l->k;

	if (l->group == 0) {
		for (size_t b = 0; b < n; b++) {
			float *yb = y + b * co * hwo;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co, (int)hwo,
			            (int)kkc, 1.0f, l->w, (int)kkc, x + b * chw, (int)hwo, 0.0f, yb,
			            (int)hwo);
			epilogue(yb, hwo, yb, hwo, co, hwo, l->b, s->relu);
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
				cnn_layer_im2col(l, x + (b0 + b) * chw, oy0, oy1, col + b * hwo,
				                 ld);
			if (g == 1) {
				float *yb = y + b0 * co * hwo + oy0 * wo;

				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co,
				            (int)ld, (int)kkc, 1.0f, l->w, (int)kkc, col, (int)ld,
				            0.0f, yb, (int)hwo);
				epilogue(yb, hwo, yb, hwo, co, ld, l->b, s->relu);
				continue;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co, (int)ld,
			            (int)kkc, 1.0f, l->w, (int)kkc, col, (int)ld, 0.0f, tmp,
			            (int)ld);
			/* tmp is [co][g][hwo]; y wants [g][co][hwo]. */
			for (size_t b = 0; b < g; b++)
				epilogue(tmp + b * hwo, ld, y + (b0 + b) * co * hwo, hwo, co, hwo,
				         l->b, s->relu);
		}
	}
}

void
cnn_infer_pass(struct fm_cnn *net, const struct cnn_ctx *c)
{
	for (size_t i = 0; i < net->n_steps; i++) {
		struct cnn_step *s = &net->steps[i];

		if (s->l.kind == CNN_CONV)
			conv(s, s->x + c->b0 * cnn_layer_in_size(&s->l),
			     s->y + c->b0 * cnn_layer_out_size(&s->l), c->n, c->ws);
		else if (s->l.kind == CNN_DWCONV)
			cnn_dw_forward(&s->l, s->x + c->b0 * cnn_layer_in_size(&s->l),
			               s->y + c->b0 * cnn_layer_out_size(&s->l), c->n, s->relu,
			               c->ws);
		else
			cnn_layer_forward(&s->l, s->x, s->y, 0, c);
	}
}
