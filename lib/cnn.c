/*
 * lib/cnn.c: the network as a whole: the description's parser, the allocation of every
 * buffer for the largest batch, He initialisation, the forward and backward passes over
 * the layer stack, the threads that share a batch, and the metadata a model file carries.
 *
 * Threads split a batch into slices of samples (data parallelism) rather than splitting
 * each product: on 2 cores and this network's products (32 to 256 rows, a few thousand
 * columns) OpenBLAS's own threads gain 7%, while two slices, each with a single-threaded
 * sgemm, train 1.9 times as fast as one.
 *
 * Initialisation follows He et al., "Delving deep into rectifiers" (2015): weights from
 * N(0, 2 / fan_in), where PyTorch's default would be a uniform Kaiming with a = sqrt(5).
 */
#include "cnn_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"

#define MAX_DESC_BYTES 65536
#define MAX_PER_SAMPLE 0x7fffffffu /* values per sample in any layer: sgemm takes int sizes */
#define MAX_NAME_BYTES 64
#define MAX_INFO_BYTES 65536

struct kind_info {
	const char *name;
	enum cnn_kind kind;
	int min_args, max_args;
};

static const struct kind_info kinds[] = {
    {"conv", CNN_CONV, 2, 4},       {"bn", CNN_BN, 0, 2},           {"relu", CNN_RELU, 0, 0},
    {"maxpool", CNN_MAXPOOL, 1, 2}, {"avgpool", CNN_AVGPOOL, 1, 2}, {"gap", CNN_GAP, 0, 0},
    {"dropout", CNN_DROPOUT, 1, 1}, {"dense", CNN_DENSE, 1, 1},     {"dwconv", CNN_DWCONV, 1, 3},
};

static const char *
kind_name(enum cnn_kind k)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "?";
}

static void stop_threads(struct fm_cnn *net);

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A whole token as a count: decimal digits only, at most max. */
static int
parse_count(const char *tok, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (*tok == '\0')
		return -1;
	for (const char *p = tok; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
parse_real(const char *tok, float *out)
{
	char *end;
	double v = strtod(tok, &end);

	if (end == tok || *end != '\0' || !isfinite(v) || fabs(v) > 1e30)
		return -1;
	*out = (float)v;
	return 0;
}

/* One layer from the bytes [s, s + len): a name and up to four numbers. */
static int
parse_layer(const char *s, size_t len, size_t idx, struct cnn_layer *l, struct fm_err *err)
{
	char tok[5][32];
	size_t nt = 0, i = 0;
	const struct kind_info *ki = NULL;
	uint32_t u[4] = {0};

	while (i < len) {
		size_t j;

		while (i < len && is_space(s[i]))
			i++;
		if (i == len)
			break;
		for (j = i; j < len && !is_space(s[j]); j++)
			;
		if (nt == 5)
			return fm_err_set(err, FM_EINVAL, "layer %zu: too many numbers", idx + 1);
		if (j - i >= sizeof tok[0])
			return fm_err_set(err, FM_EINVAL, "layer %zu: '%.20s...' is too long",
			                  idx + 1, s + i);
		memcpy(tok[nt], s + i, j - i);
		tok[nt++][j - i] = '\0';
		i = j;
	}
	if (nt == 0)
		return fm_err_set(err, FM_EINVAL, "layer %zu is empty", idx + 1);
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (strcmp(tok[0], kinds[k].name) == 0)
			ki = &kinds[k];
	if (ki == NULL)
		return fm_err_set(err, FM_EINVAL,
		                  "layer %zu: unknown layer '%s' (conv, dwconv, bn, relu, "
		                  "maxpool, avgpool, gap, dropout, dense)",
		                  idx + 1, tok[0]);
	if ((int)nt - 1 < ki->min_args || (int)nt - 1 > ki->max_args)
		return fm_err_set(err, FM_EINVAL, "layer %zu (%s): takes %d to %d numbers, not %zu",
		                  idx + 1, ki->name, ki->min_args, ki->max_args, nt - 1);
	l->kind = ki->kind;
	switch (ki->kind) {
	case CNN_CONV:
	case CNN_DWCONV:
	case CNN_MAXPOOL:
	case CNN_AVGPOOL:
	case CNN_DENSE: {
		/* conv OUT K STRIDE PAD, dwconv K STRIDE PAD, pool K STRIDE, dense OUT */
		static const uint32_t conv_max[4] = {FM_CNN_MAX_CHANNELS, FM_CNN_MAX_KERNEL,
		                                     FM_CNN_MAX_KERNEL, FM_CNN_MAX_KERNEL};
		int conv = ki->kind == CNN_CONV, dense = ki->kind == CNN_DENSE;
		int dw = ki->kind == CNN_DWCONV;

		for (size_t a = 1; a < nt; a++) {
			uint32_t max = conv    ? conv_max[a - 1]
			               : dense ? FM_CNN_MAX_CHANNELS
			                       : FM_CNN_MAX_KERNEL;
			uint32_t min = (conv && a == 4) || (dw && a == 3) ? 0 : 1;

			if (parse_count(tok[a], max, &u[a - 1]) == -1 || u[a - 1] < min)
				return fm_err_set(err, FM_EINVAL,
				                  "layer %zu (%s): '%s' is not a whole number from "
				                  "%u to %u",
				                  idx + 1, ki->name, tok[a], min, max);
		}
		if (conv) {
			l->out_c = u[0];
			l->k = u[1];
			l->stride = nt > 3 ? u[2] : 1;
			l->pad = nt > 4 ? u[3] : 0;
		} else if (dense) {
			l->out_c = u[0];
		} else if (dw) {
			l->k = u[0];
			l->stride = nt > 2 ? u[1] : 1;
			l->pad = nt > 3 ? u[2] : 0;
		} else {
			l->k = u[0];
			l->stride = nt > 2 ? u[1] : u[0];
		}
		break;
	}
	case CNN_BN:
		l->momentum = 0.1f;
		l->eps = 1e-5f;
		if ((nt > 1 && (parse_real(tok[1], &l->momentum) == -1 || l->momentum < 0 ||
		                l->momentum > 1)) ||
		    (nt > 2 && (parse_real(tok[2], &l->eps) == -1 || !(l->eps > 0) || l->eps > 1)))
			return fm_err_set(err, FM_EINVAL,
			                  "layer %zu (bn): momentum must be in [0, 1] and eps in "
			                  "(0, 1]",
			                  idx + 1);
		break;
	case CNN_DROPOUT:
		if (parse_real(tok[1], &l->p) == -1 || l->p < 0 || l->p >= 1)
			return fm_err_set(
			    err, FM_EINVAL,
			    "layer %zu (dropout): '%s' is not a probability in [0, 1)", idx + 1,
			    tok[1]);
		break;
	case CNN_RELU:
	case CNN_GAP:
		break;
	}
	return 0;
}

int
cnn_fully_conv(const struct cnn_layer *last)
{
	return last->kind == CNN_CONV || last->kind == CNN_DWCONV;
}

/* Output shapes, checked against the input they receive. */
static int
shape_layers(struct cnn_layer *ls, size_t n, uint32_t c, uint32_t h, uint32_t w, struct fm_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct cnn_layer *l = &ls[i];
		const char *name = kind_name(l->kind);
		uint64_t size;

		l->in_c = c;
		l->in_h = h;
		l->in_w = w;
		switch (l->kind) {
		case CNN_CONV:
		case CNN_DWCONV:
			if ((uint64_t)h + 2 * l->pad < l->k || (uint64_t)w + 2 * l->pad < l->k)
				return fm_err_set(err, FM_EINVAL,
				                  "layer %zu (%s): kernel %u does not fit its "
				                  "%ux%u input padded by %u",
				                  i + 1, name, l->k, h, w, l->pad);
			if (l->kind == CNN_DWCONV)
				l->out_c = c;
			l->out_h = (h + 2 * l->pad - l->k) / l->stride + 1;
			l->out_w = (w + 2 * l->pad - l->k) / l->stride + 1;
			l->has_bias = !(i + 1 < n && ls[i + 1].kind == CNN_BN);
			break;
		case CNN_MAXPOOL:
		case CNN_AVGPOOL:
			if (h < l->k || w < l->k)
				return fm_err_set(
				    err, FM_EINVAL,
				    "layer %zu (%s): window %u does not fit its %ux%u "
				    "input",
				    i + 1, name, l->k, h, w);
			l->out_c = c;
			l->out_h = (h - l->k) / l->stride + 1;
			l->out_w = (w - l->k) / l->stride + 1;
			break;
		case CNN_GAP:
			l->out_c = c;
			l->out_h = l->out_w = 1;
			break;
		case CNN_DENSE:
			l->out_h = l->out_w = 1;
			break;
		case CNN_BN:
		case CNN_RELU:
		case CNN_DROPOUT:
			l->out_c = c;
			l->out_h = h;
			l->out_w = w;
			break;
		}
		size = (uint64_t)l->out_c * l->out_h * l->out_w;
		if (size > MAX_PER_SAMPLE || (uint64_t)c * h * w > MAX_PER_SAMPLE)
			return fm_err_set(err, FM_ELIMIT,
			                  "layer %zu (%s): over %u values per sample", i + 1, name,
			                  MAX_PER_SAMPLE);
		c = l->out_c;
		h = l->out_h;
		w = l->out_w;
	}
	/* A fully convolutional network's output is a map that grows with its input, with
	 * classes per channel: neither rule on the count of classes applies to it. */
	if (cnn_fully_conv(&ls[n - 1]))
		return 0;
	if ((uint64_t)c * h * w < 2)
		return fm_err_set(err, FM_EINVAL, "the network has %u output, it needs 2 or more",
		                  c * h * w);
	if ((uint64_t)c * h * w > FM_CNN_MAX_CHANNELS)
		return fm_err_set(err, FM_ELIMIT, "the network has %llu outputs, limit %u",
		                  (unsigned long long)c * h * w, FM_CNN_MAX_CHANNELS);
	return 0;
}

int
cnn_parse(const char *desc, uint32_t in_c, uint32_t in_h, uint32_t in_w, struct cnn_layer **layers,
          size_t *n_layers, struct fm_err *err)
{
	struct cnn_layer *ls;
	size_t len, n = 1, i = 0, start = 0;

	*layers = NULL;
	*n_layers = 0;
	if (desc == NULL)
		return fm_err_set(err, FM_EINVAL, "no network description");
	if (in_c < 1 || in_h < 1 || in_w < 1)
		return fm_err_set(err, FM_EINVAL, "input %ux%ux%u has an empty side", in_c, in_h,
		                  in_w);
	if (in_c > FM_CNN_MAX_CHANNELS || in_h > FM_CNN_MAX_SIDE || in_w > FM_CNN_MAX_SIDE)
		return fm_err_set(err, FM_ELIMIT, "input %ux%ux%u is over the limit %ux%ux%u", in_c,
		                  in_h, in_w, FM_CNN_MAX_CHANNELS, FM_CNN_MAX_SIDE,
		                  FM_CNN_MAX_SIDE);
	len = strnlen(desc, MAX_DESC_BYTES + 1);
	if (len > MAX_DESC_BYTES)
		return fm_err_set(err, FM_ELIMIT, "network description over %d bytes",
		                  MAX_DESC_BYTES);
	for (size_t k = 0; k < len; k++)
		n += desc[k] == ',';
	if (n > FM_CNN_MAX_LAYERS)
		return fm_err_set(err, FM_ELIMIT, "%zu layers, limit %d", n, FM_CNN_MAX_LAYERS);
	ls = calloc(n, sizeof *ls);
	if (ls == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu layers", n);
	for (size_t k = 0; k <= len; k++) {
		if (k < len && desc[k] != ',')
			continue;
		if (parse_layer(desc + start, k - start, i, &ls[i], err) == -1)
			goto fail;
		ls[i].index = (uint32_t)i;
		i++;
		start = k + 1;
	}
	if (shape_layers(ls, n, in_c, in_h, in_w, err) == -1)
		goto fail;
	*layers = ls;
	*n_layers = n;
	return 0;
fail:
	free(ls);
	return -1;
}

static void
tensor(struct cnn_tensor *t, size_t layer, const char *what, uint32_t rank, const uint32_t *shape,
       int is_stat, int decay)
{
	snprintf(t->name, sizeof t->name, "%zu.%s", layer, what);
	t->rank = rank;
	t->n = 1;
	for (uint32_t i = 0; i < rank; i++) {
		t->shape[i] = shape[i];
		t->n *= shape[i];
	}
	t->is_stat = is_stat;
	t->decay = decay;
}

int
cnn_tensors(const struct cnn_layer *ls, size_t n, struct cnn_tensor **tensors, size_t *n_tensors,
            struct fm_err *err)
{
	struct cnn_tensor *ts = calloc(4 * n, sizeof *ts);
	size_t nt = 0;

	if (ts == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu tensors", 4 * n);
	for (size_t i = 0; i < n; i++) {
		const struct cnn_layer *l = &ls[i];
		uint32_t c = l->in_c;

		switch (l->kind) {
		case CNN_CONV: {
			uint32_t s[4] = {l->out_c, l->in_c, l->k, l->k};

			tensor(&ts[nt++], i, "conv.weight", 4, s, 0, 1);
			if (l->has_bias)
				tensor(&ts[nt++], i, "conv.bias", 1, s, 0, 0);
			break;
		}
		case CNN_DWCONV: {
			/* PyTorch's shape for groups = channels: [C][1][K][K]. */
			uint32_t s[4] = {c, 1, l->k, l->k};

			tensor(&ts[nt++], i, "dwconv.weight", 4, s, 0, 1);
			if (l->has_bias)
				tensor(&ts[nt++], i, "dwconv.bias", 1, s, 0, 0);
			break;
		}
		case CNN_BN:
			tensor(&ts[nt++], i, "bn.scale", 1, &c, 0, 0);
			tensor(&ts[nt++], i, "bn.shift", 1, &c, 0, 0);
			tensor(&ts[nt++], i, "bn.running_mean", 1, &c, 1, 0);
			tensor(&ts[nt++], i, "bn.running_var", 1, &c, 1, 0);
			break;
		case CNN_DENSE: {
			uint32_t s[2] = {l->out_c, (uint32_t)cnn_layer_in_size(l)};

			tensor(&ts[nt++], i, "dense.weight", 2, s, 0, 1);
			tensor(&ts[nt++], i, "dense.bias", 1, s, 0, 0);
			break;
		}
		default:
			break;
		}
	}
	*tensors = ts;
	*n_tensors = nt;
	return 0;
}

/* The shortest of %.6g to %.9g that reads back as the same float. */
static void
put_real(char *buf, size_t size, float v)
{
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(buf, size, "%.*g", prec, (double)v);
		if (strtof(buf, NULL) == v)
			return;
	}
}

static char *
canonical_desc(const struct cnn_layer *ls, size_t n)
{
	size_t cap = n * 56 + 1, len = 0;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct cnn_layer *l = &ls[i];
		char a[48], b[20];

		switch (l->kind) {
		case CNN_CONV:
			snprintf(a, sizeof a, " %u %u %u %u", l->out_c, l->k, l->stride, l->pad);
			break;
		case CNN_DWCONV:
			snprintf(a, sizeof a, " %u %u %u", l->k, l->stride, l->pad);
			break;
		case CNN_BN: {
			char m[20];

			put_real(m, sizeof m, l->momentum);
			put_real(b, sizeof b, l->eps);
			snprintf(a, sizeof a, " %s %s", m, b);
			break;
		}
		case CNN_MAXPOOL:
		case CNN_AVGPOOL:
			snprintf(a, sizeof a, " %u %u", l->k, l->stride);
			break;
		case CNN_DROPOUT:
			put_real(b, sizeof b, l->p);
			snprintf(a, sizeof a, " %s", b);
			break;
		case CNN_DENSE:
			snprintf(a, sizeof a, " %u", l->out_c);
			break;
		default:
			a[0] = '\0';
			break;
		}
		len += (size_t)snprintf(s + len, cap - len, "%s%s%s", i > 0 ? ", " : "",
		                        kind_name(l->kind), a);
	}
	return s;
}

static void
free_classes(char **classes, size_t n)
{
	if (classes == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(classes[i]);
	free(classes);
}

void
fm_cnn_free(struct fm_cnn *net)
{
	if (net == NULL)
		return;
	stop_threads(net);
	cnn_infer_free(net);
	cnn_ensemble_free(net);
	for (size_t i = 0; net->layers != NULL && i < net->n_layers; i++) {
		free(net->layers[i].mean);
		free(net->layers[i].invstd);
		free(net->layers[i].coef);
		free(net->layers[i].part);
		free(net->layers[i].mask);
		free(net->layers[i].argmax);
		free(net->layers[i].wt);
	}
	free(net->layers);
	free(net->tensors);
	free(net->params);
	free(net->grads);
	free(net->opt_m);
	free(net->opt_v);
	free(net->stats);
	if (net->acts != NULL)
		free(net->acts[0]);
	free(net->acts);
	free(net->gbuf[0]);
	free(net->gbuf[1]);
	free(net->dx_in);
	free(net->ws);
	free(net->probs);
	free(net->desc);
	free_classes(net->classes, net->n_classes);
	free(net->info);
	free(net);
}

static int
default_classes(struct fm_cnn *net)
{
	net->classes = calloc(net->n_classes, sizeof *net->classes);
	if (net->classes == NULL)
		return -1;
	for (size_t i = 0; i < net->n_classes; i++) {
		char buf[24];
		const char *name = buf;

		if (net->n_classes == FM_N_EMOTIONS && !net->fully_conv)
			name = fm_emotion_name((enum fm_emotion)i);
		else
			snprintf(buf, sizeof buf, "%zu", i);
		net->classes[i] = strdup(name);
		if (net->classes[i] == NULL)
			return -1;
	}
	return 0;
}

/* Allocations of a network, counted before any is made. */
struct plan {
	uint64_t acts, gbuf, ws, state, params, total_bytes;
};

static void
plan_net(struct fm_cnn *net, struct plan *p)
{
	uint64_t b = net->max_batch, gmax = net->in_size;

	memset(p, 0, sizeof *p);
	p->acts = net->in_size;
	for (size_t i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];
		uint64_t out = cnn_layer_out_size(l), ws = cnn_layer_plan(l, net->max_batch);

		if (!cnn_layer_in_place(l))
			p->acts += out;
		if (out > gmax)
			gmax = out;
		if (net->trainable) {
			uint64_t wino = cnn_wino_plan(l, net->max_batch);

			if (wino > ws)
				ws = wino;
		}
		if (ws > p->ws)
			p->ws = ws;
		if (net->trainable) {
			p->state += cnn_wino_filter_floats(l);
			if (l->kind == CNN_BN)
				p->state += (5 + 4 * b) * (uint64_t)l->in_c;
			else if (l->kind == CNN_DROPOUT || l->kind == CNN_MAXPOOL)
				p->state += out * b;
		}
	}
	p->acts *= b;
	p->gbuf = net->trainable ? gmax * b : 0;
	p->params = (uint64_t)net->n_params * (net->trainable ? 4 : 1) + net->n_stats;
	p->total_bytes = 4 * (p->acts + 2 * p->gbuf + p->ws + p->state + p->params +
	                      net->n_classes * b + (net->trainable ? net->in_size * b : 0));
}

static float *
floats(uint64_t n, int zero)
{
	if (n == 0)
		n = 1;
	return zero ? calloc((size_t)n, sizeof(float)) : malloc((size_t)n * sizeof(float));
}

/* Parameters, statistics, the activations (a layer done in place shares its input's), the
 * im2col workspace and the output probabilities: what inference needs. -1: out of memory. */
static int
alloc_inference(struct fm_cnn *net, const struct plan *p)
{
	size_t max_batch = net->max_batch;
	float *a;

	net->params = floats(net->n_params, 1);
	net->stats = floats(net->n_stats, 1);
	net->acts = calloc(net->n_layers + 1, sizeof *net->acts);
	a = floats(p->acts, 0);
	net->ws = floats(p->ws, 0);
	net->ws_floats = p->ws;
	net->n_threads = 1;
	net->probs = floats((uint64_t)net->n_classes * max_batch, 0);
	net->desc = canonical_desc(net->layers, net->n_layers);
	if (net->params == NULL || net->stats == NULL || net->acts == NULL || a == NULL ||
	    net->ws == NULL || net->probs == NULL || net->desc == NULL) {
		if (net->acts == NULL)
			free(a);
		else
			net->acts[0] = a;
		return -1;
	}
	net->acts[0] = a;
	a += net->in_size * max_batch;
	for (size_t i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];

		if (cnn_layer_in_place(l)) {
			net->acts[i + 1] = net->acts[i];
		} else {
			net->acts[i + 1] = a;
			a += cnn_layer_out_size(l) * max_batch;
		}
	}
	return 0;
}

/* Gradients, the optimiser's moments, the backward buffers and each layer's training state
 * (batch statistics, dropout masks, pooling's argmax). -1: out of memory. */
static int
alloc_training(struct fm_cnn *net, const struct plan *p)
{
	size_t max_batch = net->max_batch;

	net->grads = floats(net->n_params, 1);
	net->opt_m = floats(net->n_params, 1);
	net->opt_v = floats(net->n_params, 1);
	net->gbuf[0] = floats(p->gbuf, 0);
	net->gbuf[1] = floats(p->gbuf, 0);
	net->dx_in = floats((uint64_t)net->in_size * max_batch, 0);
	if (net->grads == NULL || net->opt_m == NULL || net->opt_v == NULL ||
	    net->gbuf[0] == NULL || net->gbuf[1] == NULL || net->dx_in == NULL)
		return -1;
	for (size_t i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];
		size_t m = cnn_layer_out_size(l) * max_batch;

		if (l->kind == CNN_BN) {
			l->mean = floats(l->in_c, 1);
			l->invstd = floats(l->in_c, 1);
			l->coef = floats(3 * (uint64_t)l->in_c, 1);
			l->part = calloc(2 * max_batch * l->in_c, sizeof *l->part);
			if (l->mean == NULL || l->invstd == NULL || l->coef == NULL ||
			    l->part == NULL)
				return -1;
		} else if (l->kind == CNN_DROPOUT) {
			if ((l->mask = floats(m, 0)) == NULL)
				return -1;
		} else if (l->kind == CNN_MAXPOOL) {
			if ((l->argmax = malloc(m * sizeof *l->argmax)) == NULL)
				return -1;
		} else if (cnn_wino_shape(l)) {
			if ((l->wt = floats(cnn_wino_filter_floats(l), 0)) == NULL)
				return -1;
		}
	}
	return 0;
}

/* Point each tensor into the parameter or statistics block and each layer at its tensors;
 * BN starts as the identity (scale 1, running variance 1). */
static void
bind_tensors(struct fm_cnn *net)
{
	size_t po = 0, so = 0;

	/* Tensors in layer order, each layer's in the order cnn_tensors lists them. */
	for (size_t i = 0; i < net->n_tensors; i++) {
		struct cnn_tensor *t = &net->tensors[i];

		if (t->is_stat) {
			t->data = net->stats + so;
			so += t->n;
		} else {
			t->data = net->params + po;
			t->grad = net->trainable ? net->grads + po : NULL;
			po += t->n;
		}
	}
	for (size_t i = 0, ti = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];
		struct cnn_tensor *t = &net->tensors[ti];

		switch (l->kind) {
		case CNN_CONV:
		case CNN_DWCONV:
		case CNN_DENSE:
			l->w = t[0].data;
			l->gw = t[0].grad;
			if (l->kind == CNN_DENSE || l->has_bias) {
				l->b = t[1].data;
				l->gb = t[1].grad;
				ti++;
			}
			ti++;
			break;
		case CNN_BN:
			l->w = t[0].data;
			l->gw = t[0].grad;
			l->b = t[1].data;
			l->gb = t[1].grad;
			l->run_mean = t[2].data;
			l->run_var = t[3].data;
			for (size_t c = 0; c < l->in_c; c++)
				l->w[c] = l->run_var[c] = 1.0f;
			ti += 4;
			break;
		default:
			break;
		}
	}
}

int
cnn_build(struct cnn_layer *layers, size_t n_layers, uint32_t in_c, uint32_t in_h, uint32_t in_w,
          size_t max_batch, int trainable, struct fm_cnn **out, struct fm_err *err)
{
	struct fm_cnn *net;
	struct plan p;

	*out = NULL;
	net = calloc(1, sizeof *net);
	if (net == NULL) {
		free(layers);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a network");
	}
	net->layers = layers;
	net->n_layers = n_layers;
	net->in_c = in_c;
	net->in_h = in_h;
	net->in_w = in_w;
	net->in_size = (size_t)in_c * in_h * in_w;
	net->n_out = cnn_layer_out_size(&layers[n_layers - 1]);
	net->fully_conv = cnn_fully_conv(&layers[n_layers - 1]);
	net->n_classes = net->fully_conv ? layers[n_layers - 1].out_c : net->n_out;
	net->max_batch = max_batch;
	net->trainable = trainable != 0;
	net->opt_kind = -1;
	net->norm_std = 1.0f;
	if (max_batch < 1) {
		fm_err_set(err, FM_EINVAL, "max_batch must be 1 or more");
		goto fail;
	}
	if (max_batch > FM_CNN_MAX_BATCH) {
		fm_err_set(err, FM_ELIMIT, "batch of %zu, limit %d", max_batch, FM_CNN_MAX_BATCH);
		goto fail;
	}
	if (cnn_tensors(layers, n_layers, &net->tensors, &net->n_tensors, err) == -1)
		goto fail;
	for (size_t i = 0; i < net->n_tensors; i++) {
		if (net->tensors[i].is_stat)
			net->n_stats += net->tensors[i].n;
		else
			net->n_params += net->tensors[i].n;
	}
	plan_net(net, &p);
	if (p.total_bytes > FM_CNN_MAX_BYTES) {
		fm_err_set(err, FM_ELIMIT,
		           "the network needs %.1f GiB at batch %zu, limit %.0f GiB",
		           (double)p.total_bytes / (1 << 30), max_batch,
		           (double)FM_CNN_MAX_BYTES / (1 << 30));
		goto fail;
	}
	net->bytes = p.total_bytes;
	if (alloc_inference(net, &p) == -1 || (trainable && alloc_training(net, &p) == -1))
		goto nomem;
	bind_tensors(net);
	net->info = strdup("");
	if (net->info == NULL || default_classes(net) == -1)
		goto nomem;
	*out = net;
	return 0;
nomem:
	fm_err_set(err, FM_ENOMEM, "out of memory for a network of %.1f MiB",
	           (double)p.total_bytes / (1 << 20));
fail:
	fm_cnn_free(net);
	return -1;
}

int
fm_cnn_new(const char *desc, uint32_t in_c, uint32_t in_h, uint32_t in_w, size_t max_batch,
           uint64_t seed, struct fm_cnn **out, struct fm_err *err)
{
	struct cnn_layer *layers;
	struct fm_cnn *net;
	struct fm_rng rng;
	size_t n;

	*out = NULL;
	if (cnn_parse(desc, in_c, in_h, in_w, &layers, &n, err) == -1 ||
	    cnn_build(layers, n, in_c, in_h, in_w, max_batch, 1, &net, err) == -1)
		return -1;
	fm_rng_seed(&rng, seed);
	for (size_t i = 0; i < net->n_tensors; i++) {
		struct cnn_tensor *t = &net->tensors[i];
		double sd;

		if (!t->decay)
			continue;
		/* The weights' fan-in: everything but the output dimension. */
		sd = sqrt(2.0 / (double)(t->n / t->shape[0]));
		for (size_t j = 0; j < t->n; j++)
			t->data[j] = (float)(sd * fm_rng_normal(&rng));
	}
	fm_rng_seed(&net->rng, fm_rng_next(&rng));
	*out = net;
	return 0;
}

/* Whether layers parsed for another input hold src's tensors and classes; err says how
 * not. */
static int
same_weights(const struct fm_cnn *src, const struct cnn_layer *layers, size_t n, uint32_t in_h,
             uint32_t in_w, struct fm_err *err)
{
	struct cnn_tensor *ts;
	size_t nt;
	int rc = 0;

	if (cnn_tensors(layers, n, &ts, &nt, err) == -1)
		return -1;
	for (size_t i = 0; i < nt && rc == 0; i++)
		if (ts[i].n != src->tensors[i].n)
			rc = fm_err_set(
			    err, FM_EINVAL,
			    "tensor \"%s\" would change shape for a %ux%u input: a dense "
			    "layer takes one input size (put gap before it)",
			    ts[i].name, in_h, in_w);
	free(ts);
	if (rc == 0 && !src->fully_conv && cnn_layer_out_size(&layers[n - 1]) != src->n_out)
		rc = fm_err_set(err, FM_EINVAL,
		                "the network would have %zu outputs for a %ux%u input, not its %zu "
		                "classes",
		                cnn_layer_out_size(&layers[n - 1]), in_h, in_w, src->n_out);
	return rc;
}

int
fm_cnn_clone(const struct fm_cnn *src, size_t max_batch, int trainable, struct fm_cnn **out,
             struct fm_err *err)
{
	return fm_cnn_clone_input(src, src->in_h, src->in_w, max_batch, trainable, out, err);
}

int
fm_cnn_clone_input(const struct fm_cnn *src, uint32_t in_h, uint32_t in_w, size_t max_batch,
                   int trainable, struct fm_cnn **out, struct fm_err *err)
{
	struct cnn_layer *layers;
	struct fm_cnn *net;
	size_t n;

	*out = NULL;
	if (src->n_members > 0) {
		if (trainable)
			return fm_err_set(err, FM_EINVAL,
			                  "an ensemble of %zu networks cannot train",
			                  src->n_members);
		return cnn_ensemble_clone(src, in_h, in_w, max_batch, out, err);
	}
	if (cnn_parse(src->desc, src->in_c, in_h, in_w, &layers, &n, err) == -1)
		return -1;
	if (same_weights(src, layers, n, in_h, in_w, err) == -1) {
		free(layers);
		return -1;
	}
	if (cnn_build(layers, n, src->in_c, in_h, in_w, max_batch, trainable, &net, err) == -1)
		return -1;
	memcpy(net->params, src->params, src->n_params * sizeof *net->params);
	memcpy(net->stats, src->stats, src->n_stats * sizeof *net->stats);
	net->norm_mean = src->norm_mean;
	net->norm_std = src->norm_std;
	net->crop_margin = src->crop_margin;
	net->rng = src->rng;
	if (fm_cnn_set_classes(net, (const char *const *)src->classes, src->n_classes, err) == -1 ||
	    fm_cnn_set_info(net, src->info, err) == -1 ||
	    (!trainable && cnn_infer_plan(net, err) == -1)) {
		fm_cnn_free(net);
		return -1;
	}
	*out = net;
	return 0;
}

const char *
fm_cnn_desc(const struct fm_cnn *net)
{
	return net->desc;
}

void
fm_cnn_input_shape(const struct fm_cnn *net, uint32_t *c, uint32_t *h, uint32_t *w)
{
	*c = net->in_c;
	*h = net->in_h;
	*w = net->in_w;
}

size_t
fm_cnn_max_batch(const struct fm_cnn *net)
{
	return net->max_batch;
}

int
fm_cnn_is_trainable(const struct fm_cnn *net)
{
	return net->trainable;
}

size_t
fm_cnn_n_classes(const struct fm_cnn *net)
{
	return net->n_classes;
}

int
fm_cnn_is_fully_conv(const struct fm_cnn *net)
{
	return net->fully_conv;
}

void
fm_cnn_output_shape(const struct fm_cnn *net, uint32_t *c, uint32_t *h, uint32_t *w)
{
	const struct cnn_layer *l;

	if (net->n_members > 0) {
		*c = (uint32_t)net->n_classes;
		*h = *w = 1;
		return;
	}
	l = &net->layers[net->n_layers - 1];
	*c = l->out_c;
	*h = l->out_h;
	*w = l->out_w;
}

size_t
fm_cnn_param_count(const struct fm_cnn *net)
{
	return net->n_params;
}

uint64_t
fm_cnn_flops(const struct fm_cnn *net)
{
	uint64_t f = 0;

	for (size_t m = 0; m < net->n_members; m++)
		f += fm_cnn_flops(net->members[m]);
	for (size_t i = 0; i < net->n_layers; i++) {
		const struct cnn_layer *l = &net->layers[i];

		if (l->kind == CNN_CONV)
			f += 2 * (uint64_t)l->in_c * l->k * l->k * cnn_layer_out_size(l);
		else if (l->kind == CNN_DWCONV)
			f += 2 * (uint64_t)l->k * l->k * cnn_layer_out_size(l);
		else if (l->kind == CNN_DENSE)
			f += 2 * (uint64_t)cnn_layer_in_size(l) * l->out_c;
	}
	return f;
}

void
fm_cnn_seed(struct fm_cnn *net, uint64_t seed)
{
	fm_rng_seed(&net->rng, seed);
}

/* ---- passes and threads ------------------------------------------------------------ */

/* Thread tid's share of the job: its slice of the batch through every layer. */
static void
pass(struct fm_cnn *net, size_t tid, size_t n_threads)
{
	const size_t n = net->job_n;
	struct cnn_ctx c = {
	    .b0 = n * tid / n_threads,
	    .n = n * (tid + 1) / n_threads - n * tid / n_threads,
	    .n_batch = n,
	    .tid = tid,
	    .n_threads = n_threads,
	    .barrier = &net->barrier,
	    .ws = tid == 0 ? net->ws : net->thr[tid].ws,
	    .grads = tid == 0 ? net->grads : net->thr[tid].grads,
	    .grads0 = net->grads,
	    .drop_seed = net->drop_seed,
	};

	if (!net->job_backward) {
		if (!net->job_training && net->steps != NULL) {
			cnn_infer_pass(net, &c);
			return;
		}
		for (size_t i = 0; i < net->n_layers; i++)
			cnn_layer_forward(&net->layers[i], net->acts[i], net->acts[i + 1],
			                  net->job_training, &c);
		return;
	}
	float *dy = net->gbuf[0], *spare = net->gbuf[1];

	for (size_t i = net->n_layers; i-- > 0;) {
		struct cnn_layer *l = &net->layers[i];
		float *dx;

		if (i == 0)
			dx = net->input_grad ? net->dx_in : NULL;
		else
			dx = cnn_layer_in_place(l) ? dy : spare;
		/* spare was the gradient the layer above read, and the samples of another
		 * thread may lie where this thread's go now that the size per sample changes:
		 * wait until everyone is done with it. */
		if (n_threads > 1 && dx == spare && i + 1 < net->n_layers)
			pthread_barrier_wait(&net->barrier);
		cnn_layer_backward(l, net->acts[i], net->acts[i + 1], dy, dx, &c);
		if (dx != NULL && dx != dy) {
			spare = dy;
			dy = dx;
		}
	}
	if (n_threads == 1)
		return;
	/* Sum the threads' conv and dense gradients, always in thread order; the others'
	 * entries for bn stay 0, since bn writes its gradients to net->grads only. */
	size_t lo = net->n_params * tid / n_threads, hi = net->n_params * (tid + 1) / n_threads;

	pthread_barrier_wait(&net->barrier);
	for (size_t t = 1; t < n_threads; t++)
		for (size_t i = lo; i < hi; i++)
			net->grads[i] += net->thr[t].grads[i];
}

static void *
helper(void *arg)
{
	struct cnn_thread *t = arg;
	struct fm_cnn *net = t->net;
	uint64_t seen = 0;

	for (;;) {
		pthread_mutex_lock(&net->mu);
		while (net->jobs == seen && !net->quit)
			pthread_cond_wait(&net->cv, &net->mu);
		seen = net->jobs;
		if (net->quit) {
			pthread_mutex_unlock(&net->mu);
			return NULL;
		}
		pthread_mutex_unlock(&net->mu);
		pass(net, t->tid, net->n_threads);
		pthread_barrier_wait(&net->barrier);
	}
}

/* Run a pass over a batch of n, on every thread when each gets a sample at least. */
static void
run(struct fm_cnn *net, int backward, int training, size_t n)
{
	net->job_backward = backward;
	net->job_training = training;
	net->job_n = n;
	if (net->n_threads < 2 || n < net->n_threads) {
		pass(net, 0, 1);
		return;
	}
	pthread_mutex_lock(&net->mu);
	net->jobs++;
	pthread_cond_broadcast(&net->cv);
	pthread_mutex_unlock(&net->mu);
	pass(net, 0, net->n_threads);
	pthread_barrier_wait(&net->barrier);
}

static void
stop_threads(struct fm_cnn *net)
{
	if (net->thr == NULL)
		return;
	pthread_mutex_lock(&net->mu);
	net->quit = 1;
	pthread_cond_broadcast(&net->cv);
	pthread_mutex_unlock(&net->mu);
	for (size_t t = 1; t < net->n_threads; t++) {
		if (net->thr[t].started)
			pthread_join(net->thr[t].id, NULL);
		free(net->thr[t].ws);
		free(net->thr[t].grads);
	}
	pthread_barrier_destroy(&net->barrier);
	pthread_cond_destroy(&net->cv);
	pthread_mutex_destroy(&net->mu);
	free(net->thr);
	net->thr = NULL;
	net->n_threads = 1;
	net->quit = 0;
	net->jobs = 0;
}

int
fm_cnn_set_threads(struct fm_cnn *net, size_t n_threads, struct fm_err *err)
{
	int e;

	if (n_threads < 1 || n_threads > FM_CNN_MAX_THREADS)
		return fm_err_set(err, FM_EINVAL, "%zu threads, the network takes 1 to %d",
		                  n_threads, FM_CNN_MAX_THREADS);
	if (n_threads == net->n_threads)
		return 0;
	if (net->n_members > 0)
		return cnn_ensemble_set_threads(net, n_threads, err);
	stop_threads(net);
	if (n_threads == 1)
		return 0;
	net->thr = calloc(n_threads, sizeof *net->thr);
	if (net->thr == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu threads", n_threads);
	if ((e = pthread_mutex_init(&net->mu, NULL)) != 0) {
		free(net->thr);
		net->thr = NULL;
		return fm_err_set(err, FM_ENOMEM, "cannot make a mutex (error %d)", e);
	}
	if ((e = pthread_cond_init(&net->cv, NULL)) != 0) {
		pthread_mutex_destroy(&net->mu);
		free(net->thr);
		net->thr = NULL;
		return fm_err_set(err, FM_ENOMEM, "cannot make a condition variable (error %d)", e);
	}
	if ((e = pthread_barrier_init(&net->barrier, NULL, (unsigned)n_threads)) != 0) {
		pthread_cond_destroy(&net->cv);
		pthread_mutex_destroy(&net->mu);
		free(net->thr);
		net->thr = NULL;
		return fm_err_set(err, FM_ENOMEM, "cannot make a barrier (error %d)", e);
	}
	/* From here stop_threads undoes whatever was made. */
	net->n_threads = n_threads;
	for (size_t t = 1; t < n_threads; t++) {
		struct cnn_thread *th = &net->thr[t];

		th->net = net;
		th->tid = t;
		th->ws = floats(net->ws_floats, 0);
		th->grads = net->trainable ? floats(net->n_params, 1) : NULL;
		if (th->ws == NULL || (net->trainable && th->grads == NULL)) {
			fm_err_set(err, FM_ENOMEM, "out of memory for thread %zu", t);
			goto fail;
		}
		if ((e = pthread_create(&th->id, NULL, helper, th)) != 0) {
			fm_err_set(err, FM_ENOMEM, "cannot start thread %zu (error %d)", t, e);
			goto fail;
		}
		th->started = 1;
	}
	return 0;
fail:
	stop_threads(net);
	return -1;
}

size_t
fm_cnn_threads(const struct fm_cnn *net)
{
	return net->n_threads;
}

void
cnn_net_forward(struct fm_cnn *net, const float *in, size_t n, int training)
{
	memcpy(net->acts[0], in, n * net->in_size * sizeof *in);
	if (training)
		net->drop_seed = fm_rng_next(&net->rng);
	run(net, 0, training, n);
}

void
cnn_net_backward(struct fm_cnn *net, size_t n)
{
	run(net, 1, 1, n);
}

/* What both forwards check before they run. */
static int
forward_ok(const struct fm_cnn *net, size_t batch, int training, struct fm_err *err)
{
	if (batch < 1 || batch > net->max_batch)
		return fm_err_set(err, FM_EINVAL, "batch of %zu, the network takes 1 to %zu", batch,
		                  net->max_batch);
	if (training && net->n_members > 0)
		return fm_err_set(err, FM_EINVAL, "an ensemble of %zu networks cannot train",
		                  net->n_members);
	if (training && !net->trainable)
		return fm_err_set(err, FM_EINVAL, "the network was loaded for inference only");
	return 0;
}

/* The layers over a batch, the output left in net->acts[n_layers]; then training = 1 keeps
 * what the backward needs. */
static int
forward_layers(struct fm_cnn *net, const float *in, size_t batch, int training, struct fm_err *err)
{
	const float *z;

	cnn_net_forward(net, in, batch, training);
	z = net->acts[net->n_layers];
	for (size_t i = 0; i < batch * net->n_out; i++)
		if (!isfinite(z[i]))
			return fm_err_set(err, FM_EINVAL,
			                  "the network's output is not finite (non-finite input "
			                  "or diverged weights)");
	net->batch = batch;
	net->fwd_train = training != 0;
	return 0;
}

int
fm_cnn_forward(struct fm_cnn *net, const float *in, size_t batch, int training, float *probs,
               struct fm_err *err)
{
	if (forward_ok(net, batch, training, err) == -1)
		return -1;
	if (net->fully_conv)
		return fm_err_set(err, FM_EINVAL,
		                  "the network is fully convolutional: its output is a map, not "
		                  "class probabilities");
	net->fwd_train = 0;
	if (net->n_members > 0) {
		if (cnn_ensemble_forward(net, in, batch, err) == -1)
			return -1;
		if (probs != NULL)
			memcpy(probs, net->probs, batch * net->n_out * sizeof *probs);
		net->batch = batch;
		return 0;
	}
	if (forward_layers(net, in, batch, training, err) == -1)
		return -1;
	cnn_softmax(net->acts[net->n_layers], batch, net->n_out, net->probs);
	if (probs != NULL)
		memcpy(probs, net->probs, batch * net->n_out * sizeof *probs);
	return 0;
}

int
fm_cnn_forward_raw(struct fm_cnn *net, const float *in, size_t batch, int training, float *out,
                   struct fm_err *err)
{
	if (forward_ok(net, batch, training, err) == -1)
		return -1;
	if (net->n_members > 0)
		return fm_err_set(err, FM_EINVAL,
		                  "an ensemble of %zu networks has probabilities, not raw outputs",
		                  net->n_members);
	net->fwd_train = 0;
	if (forward_layers(net, in, batch, training, err) == -1)
		return -1;
	if (out != NULL)
		memcpy(out, net->acts[net->n_layers], batch * net->n_out * sizeof *out);
	return 0;
}

int
fm_cnn_backward(struct fm_cnn *net, const float *dout, struct fm_err *err)
{
	const size_t n = net->batch * net->n_out;

	if (!net->fwd_train)
		return fm_err_set(err, FM_EINVAL, "backward without a training forward before it");
	for (size_t i = 0; i < n; i++)
		if (!isfinite(dout[i]))
			return fm_err_set(err, FM_EINVAL,
			                  "the output's gradient %zu of sample %zu is not finite",
			                  i % net->n_out, i / net->n_out);
	/* The losses below write their gradient where the backward pass starts. */
	if (dout != net->gbuf[0])
		memcpy(net->gbuf[0], dout, n * sizeof *dout);
	cnn_net_backward(net, net->batch);
	net->fwd_train = 0;
	net->have_grad = 1;
	return 0;
}

/* What both losses check before they touch the gradients. */
static int
loss_ok(const struct fm_cnn *net, const int *labels, float smoothing, struct fm_err *err)
{
	if (!net->fwd_train)
		return fm_err_set(err, FM_EINVAL, "backward without a training forward before it");
	if (net->fully_conv)
		return fm_err_set(err, FM_EINVAL,
		                  "the network is fully convolutional: it has no classes to score "
		                  "(give fm_cnn_backward its output's gradient)");
	if (!(smoothing >= 0.0f && smoothing < 1.0f))
		return fm_err_set(err, FM_EINVAL, "label smoothing %g is outside [0, 1)",
		                  (double)smoothing);
	for (size_t i = 0; i < net->batch; i++)
		if (labels[i] < 0 || (size_t)labels[i] >= net->n_out)
			return fm_err_set(err, FM_EINVAL,
			                  "label %d of sample %zu is not in 0 to %zu", labels[i], i,
			                  net->n_out - 1);
	return 0;
}

/* The backward from the loss l's gradient, which the loss has written to net->gbuf[0]. */
static int
finish_backward(struct fm_cnn *net, double l, double *loss, struct fm_err *err)
{
	if (fm_cnn_backward(net, net->gbuf[0], err) == -1)
		return -1;
	if (loss != NULL)
		*loss = l;
	return 0;
}

int
fm_cnn_loss_backward(struct fm_cnn *net, const int *labels, float smoothing, double *loss,
                     struct fm_err *err)
{
	if (loss_ok(net, labels, smoothing, err) == -1)
		return -1;
	return finish_backward(net,
	                       cnn_xent(net->acts[net->n_layers], labels, net->batch, net->n_out,
	                                smoothing, net->gbuf[0]),
	                       loss, err);
}

int
fm_cnn_distill_backward(struct fm_cnn *net, const int *labels, float smoothing,
                        const float *teacher, float weight, float temperature, double *loss,
                        struct fm_err *err)
{
	if (loss_ok(net, labels, smoothing, err) == -1)
		return -1;
	if (!(weight >= 0.0f && weight <= 1.0f))
		return fm_err_set(err, FM_EINVAL, "distillation weight %g is outside [0, 1]",
		                  (double)weight);
	if (!(temperature >= FM_CNN_MIN_TEMPERATURE && temperature <= FM_CNN_MAX_TEMPERATURE))
		return fm_err_set(err, FM_EINVAL, "temperature %g is outside [%g, %g]",
		                  (double)temperature, FM_CNN_MIN_TEMPERATURE,
		                  FM_CNN_MAX_TEMPERATURE);
	for (size_t i = 0; i < net->batch; i++) {
		double sum = 0;

		for (size_t j = 0; j < net->n_out; j++) {
			float q = teacher[i * net->n_out + j];

			if (!(q >= 0.0f && q <= 1.0f))
				return fm_err_set(err, FM_EINVAL,
				                  "teacher's probability %g of sample %zu is not "
				                  "in [0, 1]",
				                  (double)q, i);
			sum += q;
		}
		if (!(fabs(sum - 1) <= 1e-3))
			return fm_err_set(err, FM_EINVAL,
			                  "teacher's probabilities of sample %zu sum to %g, not 1",
			                  i, sum);
	}
	return finish_backward(net,
	                       cnn_distill(net->acts[net->n_layers], labels, teacher, net->batch,
	                                   net->n_out, smoothing, weight, temperature,
	                                   net->gbuf[0]),
	                       loss, err);
}

/* ---- metadata ---------------------------------------------------------------------- */

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF); with no_ctl, no
 * C0 controls or DEL either. */
static int
text_ok(const char *s, size_t n, int no_ctl)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			if (c == 0 || (no_ctl && (c < 0x20 || c == 0x7f)))
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
fm_cnn_set_classes(struct fm_cnn *net, const char *const *names, size_t n, struct fm_err *err)
{
	char **c;

	if (n != net->n_classes)
		return fm_err_set(err, FM_EINVAL, "%zu class names for %zu %s", n, net->n_classes,
		                  net->fully_conv ? "output channels" : "outputs");
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(names[i], MAX_NAME_BYTES + 1);

		if (len == 0 || len > MAX_NAME_BYTES || !text_ok(names[i], len, 1))
			return fm_err_set(err, FM_EINVAL,
			                  "class name %zu is not 1 to %d bytes of UTF-8 text", i,
			                  MAX_NAME_BYTES);
	}
	c = calloc(n, sizeof *c);
	if (c == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for class names");
	/* Distinct, since each name is a key of a face's "scores": sorted, a repeat is next to
	 * its twin. */
	memcpy(c, names, n * sizeof *c);
	qsort(c, n, sizeof *c, compare_names);
	for (size_t i = 1; i < n; i++)
		if (strcmp(c[i - 1], c[i]) == 0) {
			fm_err_set(err, FM_EINVAL, "class name \"%s\" is given twice", c[i]);
			free(c);
			return -1;
		}
	memset(c, 0, n * sizeof *c);
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(names[i]);
		if (c[i] == NULL) {
			free_classes(c, n);
			return fm_err_set(err, FM_ENOMEM, "out of memory for class names");
		}
	}
	free_classes(net->classes, net->n_classes);
	net->classes = c;
	return 0;
}

const char *
fm_cnn_class_name(const struct fm_cnn *net, size_t i)
{
	return i < net->n_classes ? net->classes[i] : NULL;
}

int
fm_cnn_set_normalization(struct fm_cnn *net, float mean, float std, struct fm_err *err)
{
	if (!isfinite(mean) || !isfinite(std) || !(std > 0))
		return fm_err_set(err, FM_EINVAL,
		                  "normalisation mean %g, std %g: both must be finite, std > 0",
		                  (double)mean, (double)std);
	net->norm_mean = mean;
	net->norm_std = std;
	return 0;
}

void
fm_cnn_normalization(const struct fm_cnn *net, float *mean, float *std)
{
	*mean = net->norm_mean;
	*std = net->norm_std;
}

void
fm_cnn_normalize_with(float mean, float std, const uint8_t *pixels, size_t n, float *out)
{
	float inv = 1.0f / std;

	for (size_t i = 0; i < n; i++)
		out[i] = ((float)pixels[i] - mean) * inv;
}

void
fm_cnn_normalize(const struct fm_cnn *net, const uint8_t *pixels, size_t n, float *out)
{
	fm_cnn_normalize_with(net->norm_mean, net->norm_std, pixels, n, out);
}

int
fm_cnn_set_crop_margin(struct fm_cnn *net, float margin, struct fm_err *err)
{
	if (!(margin >= -0.45f && margin <= 4.0f))
		return fm_err_set(err, FM_EINVAL, "crop margin %g is outside -0.45 to 4",
		                  (double)margin);
	net->crop_margin = margin;
	return 0;
}

float
fm_cnn_crop_margin(const struct fm_cnn *net)
{
	return net->crop_margin;
}

int
fm_cnn_set_info(struct fm_cnn *net, const char *info, struct fm_err *err)
{
	size_t len = strnlen(info, MAX_INFO_BYTES + 1);
	char *s;

	if (len > MAX_INFO_BYTES || !text_ok(info, len, 0))
		return fm_err_set(err, FM_EINVAL,
		                  "training info is not UTF-8 text of %d bytes or less",
		                  MAX_INFO_BYTES);
	s = strdup(info);
	if (s == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for training info");
	free(net->info);
	net->info = s;
	return 0;
}

const char *
fm_cnn_info(const struct fm_cnn *net)
{
	return net->info;
}
