/*
 * lib/cnn_ensemble.c: several networks of one input and one set of classes behind one
 * struct fm_cnn, whose probabilities are the mean of theirs.
 *
 * Each member's softmax comes first and the probabilities are averaged, rather than the
 * logits: the mean of distributions is a distribution whatever the members' scales, and
 * a member with larger logits (a longer training, less label smoothing) gets no more say
 * than another, where averaging logits would let it decide and would give a product of
 * the members, sharper than any of them. It is also the ensemble the literature reports on
 * FER2013 (Pramerdorfer and Kampel, "Facial expression recognition using convolutional
 * neural networks: state of the art", 2016). The members run one after the other, each on
 * every thread the ensemble was given.
 */
#include "cnn_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
fm_cnn_n_members(const struct fm_cnn *net)
{
	return net->n_members;
}

/* Whether network b agrees with network a on what an ensemble shares; err says how not. */
static int
compatible(const struct fm_cnn *a, const struct fm_cnn *b, size_t i, struct fm_err *err)
{
	if (b->n_members > 0)
		return fm_err_set(err, FM_EINVAL, "network %zu is itself an ensemble", i + 1);
	if (b->fully_conv)
		return fm_err_set(err, FM_EINVAL,
		                  "network %zu is fully convolutional: it has no probabilities to "
		                  "average",
		                  i + 1);
	if (a->in_c != b->in_c || a->in_h != b->in_h || a->in_w != b->in_w)
		return fm_err_set(err, FM_EINVAL,
		                  "network %zu takes %ux%ux%u inputs, network 1 %ux%ux%u", i + 1,
		                  b->in_c, b->in_h, b->in_w, a->in_c, a->in_h, a->in_w);
	if (a->n_out != b->n_out)
		return fm_err_set(err, FM_EINVAL, "network %zu has %zu classes, network 1 %zu",
		                  i + 1, b->n_out, a->n_out);
	for (size_t k = 0; k < a->n_out; k++)
		if (strcmp(a->classes[k], b->classes[k]) != 0)
			return fm_err_set(err, FM_EINVAL,
			                  "network %zu calls class %zu \"%s\", network 1 \"%s\"",
			                  i + 1, k, b->classes[k], a->classes[k]);
	if (a->norm_mean != b->norm_mean || a->norm_std != b->norm_std)
		return fm_err_set(err, FM_EINVAL,
		                  "network %zu normalises its input with mean %g and std %g, "
		                  "network 1 with %g and %g",
		                  i + 1, (double)b->norm_mean, (double)b->norm_std,
		                  (double)a->norm_mean, (double)a->norm_std);
	if (a->crop_margin != b->crop_margin)
		return fm_err_set(err, FM_EINVAL, "network %zu has crop margin %g, network 1 %g",
		                  i + 1, (double)b->crop_margin, (double)a->crop_margin);
	return 0;
}

static void
free_members(struct fm_cnn **members, size_t n)
{
	for (size_t i = 0; members != NULL && i < n; i++)
		fm_cnn_free(members[i]);
	free(members);
}

int
cnn_ensemble_wrap(struct fm_cnn **members, size_t n, struct fm_cnn **out, struct fm_err *err)
{
	struct fm_cnn *net = NULL, *m0;
	uint64_t bytes = 0;
	size_t len = 1;

	*out = NULL;
	if (n < 2 || n > FM_CNN_MAX_MEMBERS) {
		fm_err_set(err, FM_EINVAL, "an ensemble takes 2 to %d networks, not %zu",
		           FM_CNN_MAX_MEMBERS, n);
		goto fail;
	}
	m0 = members[0];
	for (size_t i = 0; i < n; i++) {
		if (compatible(m0, members[i], i, err) == -1)
			goto fail;
		assert(members[i]->max_batch == m0->max_batch); /* all built for one batch */
		bytes += members[i]->bytes;
		len += strlen(members[i]->desc) + 3;
	}
	if (bytes > FM_CNN_MAX_BYTES) {
		fm_err_set(
		    err, FM_ELIMIT, "the ensemble needs %.1f GiB at batch %zu, limit %.0f GiB",
		    (double)bytes / (1 << 30), m0->max_batch, (double)FM_CNN_MAX_BYTES / (1 << 30));
		goto fail;
	}
	if ((net = calloc(1, sizeof *net)) == NULL)
		goto nomem;
	net->members = members;
	net->n_members = n;
	members = NULL;
	net->in_c = m0->in_c;
	net->in_h = m0->in_h;
	net->in_w = m0->in_w;
	net->in_size = m0->in_size;
	net->n_out = m0->n_out;
	net->n_classes = m0->n_classes;
	net->max_batch = m0->max_batch;
	net->n_threads = 1;
	net->opt_kind = -1;
	net->bytes = bytes;
	net->norm_mean = m0->norm_mean;
	net->norm_std = m0->norm_std;
	net->crop_margin = m0->crop_margin;
	for (size_t i = 0; i < n; i++)
		net->n_params += net->members[i]->n_params;
	net->probs = malloc(net->n_out * net->max_batch * sizeof *net->probs);
	net->desc = malloc(len);
	net->info = strdup("");
	if (net->probs == NULL || net->desc == NULL || net->info == NULL)
		goto nomem;
	/* The members' descriptions, " | " between them. */
	net->desc[0] = '\0';
	for (size_t i = 0, at = 0; i < n; i++)
		at += (size_t)snprintf(net->desc + at, len - at, "%s%s", i > 0 ? " | " : "",
		                       net->members[i]->desc);
	if (fm_cnn_set_classes(net, (const char *const *)m0->classes, m0->n_out, err) == -1)
		goto fail;
	*out = net;
	return 0;
nomem:
	fm_err_set(err, FM_ENOMEM, "out of memory for an ensemble");
fail:
	free_members(members, n);
	fm_cnn_free(net);
	return -1;
}

int
fm_cnn_ensemble(struct fm_cnn *const *nets, size_t n, size_t max_batch, struct fm_cnn **out,
                struct fm_err *err)
{
	struct fm_cnn **members;

	*out = NULL;
	if (n < 2 || n > FM_CNN_MAX_MEMBERS)
		return fm_err_set(err, FM_EINVAL, "an ensemble takes 2 to %d networks, not %zu",
		                  FM_CNN_MAX_MEMBERS, n);
	for (size_t i = 0; i < n; i++)
		if (compatible(nets[0], nets[i], i, err) == -1)
			return -1;
	if ((members = calloc(n, sizeof *members)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for an ensemble");
	for (size_t i = 0; i < n; i++)
		if (fm_cnn_clone(nets[i], max_batch, 0, &members[i], err) == -1) {
			free_members(members, n);
			return -1;
		}
	return cnn_ensemble_wrap(members, n, out, err);
}

int
cnn_ensemble_clone(const struct fm_cnn *src, uint32_t in_h, uint32_t in_w, size_t max_batch,
                   struct fm_cnn **out, struct fm_err *err)
{
	struct fm_cnn **members = calloc(src->n_members, sizeof *members);

	*out = NULL;
	if (members == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for an ensemble");
	for (size_t i = 0; i < src->n_members; i++)
		if (fm_cnn_clone_input(src->members[i], in_h, in_w, max_batch, 0, &members[i],
		                       err) == -1) {
			free_members(members, src->n_members);
			return -1;
		}
	if (cnn_ensemble_wrap(members, src->n_members, out, err) == -1)
		return -1;
	(*out)->rng = src->rng;
	if (fm_cnn_set_classes(*out, (const char *const *)src->classes, src->n_out, err) == -1 ||
	    fm_cnn_set_info(*out, src->info, err) == -1) {
		fm_cnn_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

void
cnn_ensemble_free(struct fm_cnn *net)
{
	free_members(net->members, net->n_members);
	net->members = NULL;
	net->n_members = 0;
}

int
cnn_ensemble_forward(struct fm_cnn *net, const float *in, size_t batch, struct fm_err *err)
{
	const size_t k = batch * net->n_out;
	float *p = net->probs;

	for (size_t m = 0; m < net->n_members; m++) {
		const float *q = net->members[m]->probs;

		if (fm_cnn_forward(net->members[m], in, batch, 0, NULL, err) == -1)
			return -1;
		for (size_t i = 0; i < k; i++)
			p[i] = m == 0 ? q[i] : p[i] + q[i];
	}
	for (size_t i = 0; i < k; i++)
		p[i] /= (float)net->n_members;
	return 0;
}

int
cnn_ensemble_set_threads(struct fm_cnn *net, size_t n_threads, struct fm_err *err)
{
	for (size_t m = 0; m < net->n_members; m++)
		if (fm_cnn_set_threads(net->members[m], n_threads, err) == -1) {
			/* Back to one thread everywhere, as a plain network after a failure. */
			for (size_t k = 0; k < net->n_members; k++)
				fm_cnn_set_threads(net->members[k], 1, NULL);
			net->n_threads = 1;
			return -1;
		}
	net->n_threads = n_threads;
	return 0;
}
