/*
 * lib/cnn_optim.c: softmax cross-entropy with label smoothing (Szegedy et al., "Rethinking
 * the Inception architecture", 2016), knowledge distillation's loss (Hinton, Vinyals and
 * Dean, "Distilling the knowledge in a neural network", 2015), the optimisers, and the
 * learning-rate schedules.
 *
 * The optimisers follow PyTorch's torch.optim: SGD's momentum buffer starts at the first
 * gradient (v = mu v + g, v = 0 before), Nesterov's step is g + mu v, Adam keeps its bias
 * corrections in double (Kingma and Ba, 2015), and AdamW shrinks the weights by
 * lr * decay before the Adam step (Loshchilov and Hutter, 2019). Weight decay touches the
 * conv and dense weights only: decaying BN scales and biases only fights the
 * normalisation. The cosine schedule is Loshchilov and Hutter's SGDR without restarts,
 * after a linear warm-up (Goyal et al., 2017).
 */
#include "cnn_int.h"

#include <math.h>
#include <string.h>

void
cnn_softmax(const float *z, size_t n, size_t k, float *p)
{
	for (size_t b = 0; b < n; b++) {
		const float *r = z + b * k;
		float *q = p + b * k;
		float m = r[0];
		double s = 0;

		for (size_t j = 1; j < k; j++)
			if (r[j] > m)
				m = r[j];
		for (size_t j = 0; j < k; j++)
			s += exp((double)r[j] - m);
		for (size_t j = 0; j < k; j++)
			q[j] = (float)(exp((double)r[j] - m) / s);
	}
}

double
cnn_xent(const float *z, const int *labels, size_t n, size_t k, float smoothing, float *dz)
{
	const double off = (double)smoothing / (double)k, on = 1.0 - smoothing + off;
	double total = 0;

	for (size_t b = 0; b < n; b++) {
		const float *r = z + b * k;
		double m = r[0], s = 0, lse, qz = 0;

		for (size_t j = 1; j < k; j++)
			if (r[j] > m)
				m = r[j];
		for (size_t j = 0; j < k; j++)
			s += exp(r[j] - m);
		lse = m + log(s);
		/* -sum q log p = lse - sum q z, since q sums to 1. */
		for (size_t j = 0; j < k; j++)
			qz += ((size_t)labels[b] == j ? on : off) * r[j];
		total += lse - qz;
		if (dz != NULL)
			for (size_t j = 0; j < k; j++)
				dz[b * k + j] = (float)((exp(r[j] - lse) -
				                         ((size_t)labels[b] == j ? on : off)) /
				                        (double)n);
	}
	return total / (double)n;
}

/*
 * Hinton et al.'s loss: (1 - w) times the smoothed cross-entropy above, plus w T^2 times
 * KL(q || softmax(z / T)), q the teacher's probabilities softened at T. The T^2 keeps the
 * soft term's gradient, T (softmax(z / T) - q), on the scale of the hard term's as T changes
 * (their section 2). The teacher gives probabilities, not logits: p^(1/T) renormalised is
 * softmax(logits / T) exactly for one network, and for an ensemble (the mean of its members'
 * probabilities) it softens the mean. A zero probability stays zero at any T and adds
 * nothing (0 log 0 = 0). The caller has checked that each row of p is finite, >= 0 and sums
 * to more than 0.
 */
double
cnn_distill(const float *z, const int *labels, const float *p, size_t n, size_t k, float smoothing,
            float weight, float temperature, float *dz)
{
	const double w = weight, t = temperature;
	double hard = w < 1 ? cnn_xent(z, labels, n, k, smoothing, dz) : 0, soft = 0;

	for (size_t b = 0; b < n; b++) {
		const float *r = z + b * k, *pr = p + b * k;
		double m = r[0] / t, s = 0, lse, pm = -INFINITY, ps = 0, kl = 0;

		for (size_t j = 1; j < k; j++)
			if (r[j] / t > m)
				m = r[j] / t;
		for (size_t j = 0; j < k; j++)
			s += exp(r[j] / t - m);
		lse = m + log(s);
		/* log q_j = log p_j / T - log sum p^(1/T), with the largest term factored out. */
		for (size_t j = 0; j < k; j++)
			if (pr[j] > 0 && log(pr[j]) / t > pm)
				pm = log(pr[j]) / t;
		for (size_t j = 0; j < k; j++)
			if (pr[j] > 0)
				ps += exp(log(pr[j]) / t - pm);
		for (size_t j = 0; j < k; j++) {
			double lq = pr[j] > 0 ? log(pr[j]) / t - pm - log(ps) : 0,
			       q = pr[j] > 0 ? exp(lq) : 0;

			kl += q > 0 ? q * (lq - (r[j] / t - lse)) : 0;
			if (dz != NULL) {
				double g = w * t * (exp(r[j] / t - lse) - q) / (double)n;

				dz[b * k + j] = (float)((w < 1 ? (1 - w) * dz[b * k + j] : 0) + g);
			}
		}
		soft += kl;
	}
	return (1 - w) * hard + w * t * t * soft / (double)n;
}

static int
optim_ok(const struct fm_optim *o, float lr, struct fm_err *err)
{
	if (!(lr > 0.0f) || !isfinite(lr))
		return fm_err_set(err, FM_EINVAL, "learning rate %g is not a positive number",
		                  (double)lr);
	if (!(o->weight_decay >= 0.0f) || !isfinite(o->weight_decay))
		return fm_err_set(err, FM_EINVAL, "weight decay %g is not a number >= 0",
		                  (double)o->weight_decay);
	switch (o->kind) {
	case FM_OPTIM_SGD:
		if (!(o->momentum >= 0.0f && o->momentum < 1.0f))
			return fm_err_set(err, FM_EINVAL, "momentum %g is outside [0, 1)",
			                  (double)o->momentum);
		if (o->nesterov && o->momentum == 0.0f)
			return fm_err_set(err, FM_EINVAL, "Nesterov's method needs momentum > 0");
		return 0;
	case FM_OPTIM_ADAM:
	case FM_OPTIM_ADAMW:
		if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f && o->beta2 >= 0.0f && o->beta2 < 1.0f))
			return fm_err_set(err, FM_EINVAL, "Adam's betas %g, %g are outside [0, 1)",
			                  (double)o->beta1, (double)o->beta2);
		if (!(o->eps > 0.0f) || !isfinite(o->eps))
			return fm_err_set(err, FM_EINVAL, "Adam's eps %g is not positive",
			                  (double)o->eps);
		return 0;
	}
	return fm_err_set(err, FM_EINVAL, "unknown optimiser %d", (int)o->kind);
}

static void
sgd(float *restrict w, const float *restrict g, float *restrict v, size_t n, float lr, float mu,
    int nesterov, float wd)
{
	for (size_t i = 0; i < n; i++) {
		float d = g[i] + wd * w[i];

		if (mu > 0.0f) {
			v[i] = mu * v[i] + d;
			d = nesterov ? d + mu * v[i] : v[i];
		}
		w[i] -= lr * d;
	}
}

static void
adam(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
     const struct fm_optim *o, float alpha, float bc2_sqrt, float wd)
{
	const float b1 = o->beta1, b2 = o->beta2, eps = o->eps;

	for (size_t i = 0; i < n; i++) {
		float d = g[i] + wd * w[i];

		m[i] = b1 * m[i] + (1.0f - b1) * d;
		v[i] = b2 * v[i] + (1.0f - b2) * d * d;
		/* lr m^ / (sqrt(v^) + eps), with m^ = m / bc1 and sqrt(v^) = sqrt(v) / sqrt(bc2).
		 */
		w[i] -= alpha * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
	}
}

int
fm_cnn_update(struct fm_cnn *net, const struct fm_optim *o, float lr, struct fm_err *err)
{
	double bc1 = 1, bc2 = 1;

	if (optim_ok(o, lr, err) == -1)
		return -1;
	if (!net->have_grad)
		return fm_err_set(err, FM_EINVAL, "optimiser step without a backward before it");
	if ((int)o->kind != net->opt_kind) {
		memset(net->opt_m, 0, net->n_params * sizeof *net->opt_m);
		memset(net->opt_v, 0, net->n_params * sizeof *net->opt_v);
		net->opt_t = 0;
		net->opt_kind = (int)o->kind;
	}
	net->opt_t++;
	if (o->kind != FM_OPTIM_SGD) {
		bc1 = 1.0 - pow(o->beta1, (double)net->opt_t);
		bc2 = 1.0 - pow(o->beta2, (double)net->opt_t);
	}
	for (size_t i = 0; i < net->n_tensors; i++) {
		const struct cnn_tensor *t = &net->tensors[i];
		size_t off = (size_t)(t->data - net->params);
		float wd = t->decay ? o->weight_decay : 0.0f;

		if (t->is_stat)
			continue;
		switch (o->kind) {
		case FM_OPTIM_SGD:
			sgd(t->data, t->grad, net->opt_m + off, t->n, lr, o->momentum, o->nesterov,
			    wd);
			break;
		case FM_OPTIM_ADAMW:
			if (wd > 0.0f) {
				float shrink = 1.0f - lr * wd;

				for (size_t j = 0; j < t->n; j++)
					t->data[j] *= shrink;
			}
			wd = 0.0f;
			/* fall through */
		case FM_OPTIM_ADAM:
			adam(t->data, t->grad, net->opt_m + off, net->opt_v + off, t->n, o,
			     (float)(lr / bc1), (float)sqrt(bc2), wd);
			break;
		}
	}
	net->have_grad = 0;
	return 0;
}

int
fm_cnn_schedule(const struct fm_lr_schedule *s, double epoch, double *lr, struct fm_err *err)
{
	double r;

	if (!(s->base_lr > 0) || !isfinite(s->base_lr))
		return fm_err_set(err, FM_EINVAL, "base learning rate %g is not positive",
		                  s->base_lr);
	if (!(s->warmup_epochs >= 0) || !isfinite(s->warmup_epochs))
		return fm_err_set(err, FM_EINVAL, "warm-up of %g epochs is not >= 0",
		                  s->warmup_epochs);
	if (!(epoch >= 0) || !isfinite(epoch))
		return fm_err_set(err, FM_EINVAL, "epoch %g is not >= 0", epoch);
	switch (s->kind) {
	case FM_LR_CONSTANT:
		r = s->base_lr;
		break;
	case FM_LR_COSINE: {
		double t;

		if (!(s->min_lr >= 0 && s->min_lr <= s->base_lr))
			return fm_err_set(err, FM_EINVAL, "minimum rate %g is outside [0, %g]",
			                  s->min_lr, s->base_lr);
		if (!(s->total_epochs > s->warmup_epochs) || !isfinite(s->total_epochs))
			return fm_err_set(err, FM_EINVAL,
			                  "a cosine schedule of %g epochs ends before its warm-up",
			                  s->total_epochs);
		t = (epoch - s->warmup_epochs) / (s->total_epochs - s->warmup_epochs);
		t = t < 0 ? 0 : t > 1 ? 1 : t;
		r = s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1 + cos(3.141592653589793 * t));
		break;
	}
	case FM_LR_STEP:
		if (!(s->step_epochs > 0) || !isfinite(s->step_epochs))
			return fm_err_set(err, FM_EINVAL, "step of %g epochs is not positive",
			                  s->step_epochs);
		if (!(s->gamma > 0 && s->gamma <= 1))
			return fm_err_set(err, FM_EINVAL, "step factor %g is outside (0, 1]",
			                  s->gamma);
		r = s->base_lr * pow(s->gamma, floor(epoch / s->step_epochs));
		break;
	default:
		return fm_err_set(err, FM_EINVAL, "unknown schedule %d", (int)s->kind);
	}
	if (epoch < s->warmup_epochs)
		r *= epoch / s->warmup_epochs;
	*lr = r;
	return 0;
}
