/*
 * lib/train_epochs.c: epochs of mini-batch training and the confusion matrix; see train.h.
 */
#include "train.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "face.h"

static int
check_shapes(const struct fm_cnn *net, const struct fm_dataset *d, uint32_t *side,
             struct fm_err *err)
{
	uint32_t c, h, w;

	fm_cnn_input_shape(net, &c, &h, &w);
	if (c != 1 || h != w)
		return fm_err_set(err, FM_EINVAL,
		                  "network input is %ux%ux%u, not one square "
		                  "gray channel",
		                  c, h, w);
	if (fm_cnn_n_classes(net) != FM_N_EMOTIONS)
		return fm_err_set(err, FM_EINVAL, "network has %zu classes, the faces have %d",
		                  fm_cnn_n_classes(net), FM_N_EMOTIONS);
	if (d->n == 0)
		return fm_err_set(err, FM_EINVAL, "no faces");
	*side = h;
	return 0;
}

int
fm_train_epoch(struct fm_cnn *net, const struct fm_dataset *d, const struct fm_train_opts *o,
               size_t epoch, uint64_t seed, fm_train_progress_fn *progress, void *ctx, double *loss,
               double *accuracy, struct fm_err *err)
{
	uint32_t side;
	size_t *order = NULL, n_steps, correct = 0, seen = 0;
	float *in = NULL, *probs = NULL, *soft = NULL, mean, std;
	int *labels = NULL;
	double loss_sum = 0;
	struct fm_rng rng;
	int rc = -1;

	if (check_shapes(net, d, &side, err) == -1)
		return -1;
	if (o->batch < 2 || o->batch > fm_cnn_max_batch(net))
		return fm_err_set(err, FM_EINVAL, "batch %zu out of range (2 to %zu)", o->batch,
		                  fm_cnn_max_batch(net));
	fm_cnn_normalization(net, &mean, &std);
	order = malloc(d->n * sizeof *order);
	in = malloc(o->batch * side * side * sizeof *in);
	probs = malloc(o->batch * FM_N_EMOTIONS * sizeof *probs);
	labels = malloc(o->batch * sizeof *labels);
	soft = malloc(o->batch * FM_N_EMOTIONS * sizeof *soft);
	if (order == NULL || in == NULL || probs == NULL || labels == NULL || soft == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory");
		goto done;
	}
	/* Each epoch's randomness is its own: seed, then epoch, mixed by the generator. */
	fm_rng_seed(&rng, seed ^ (0x9e3779b97f4a7c15u * (uint64_t)(epoch + 1)));
	fm_cnn_seed(net, fm_rng_next(&rng));
	for (size_t i = 0; i < d->n; i++)
		order[i] = i;
	for (size_t i = d->n - 1; i > 0; i--) { /* Fisher-Yates */
		size_t j = (size_t)fm_rng_below(&rng, i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	n_steps = d->n / o->batch + (d->n % o->batch >= 2);
	for (size_t step = 0; step < n_steps; step++) {
		size_t first = step * o->batch,
		       b = d->n - first < o->batch ? d->n - first : o->batch;
		double batch_loss, lr;

		for (size_t k = 0; k < b; k++) {
			size_t i = order[first + k];

			fm_dataset_sample(d, i, &o->augment, &rng, side, mean, std,
			                  in + k * side * side);
			labels[k] = d->labels[i];
			if (o->teacher != NULL)
				memcpy(soft + k * FM_N_EMOTIONS, o->teacher + i * FM_N_EMOTIONS,
				       FM_N_EMOTIONS * sizeof *soft);
		}
		if (fm_cnn_schedule(&o->schedule,
		                    (double)epoch + (double)(step + 1) / (double)n_steps, &lr,
		                    err) == -1 ||
		    fm_cnn_forward(net, in, b, 1, probs, err) == -1 ||
		    (o->teacher != NULL
		         ? fm_cnn_distill_backward(net, labels, o->smoothing, soft, o->distill,
		                                   o->temperature, &batch_loss, err)
		         : fm_cnn_loss_backward(net, labels, o->smoothing, &batch_loss, err)) ==
		        -1 ||
		    fm_cnn_update(net, &o->optim, (float)lr, err) == -1)
			goto done;
		for (size_t k = 0; k < b; k++)
			correct += fm_mood_top_float(probs + k * FM_N_EMOTIONS) ==
			           (enum fm_emotion)labels[k];
		seen += b;
		loss_sum += batch_loss * (double)b;
		if (progress != NULL) {
			struct fm_train_progress p = {epoch,
			                              step + 1,
			                              n_steps,
			                              lr,
			                              loss_sum / (double)seen,
			                              (double)correct / (double)seen};
			progress(ctx, &p);
		}
	}
	*loss = loss_sum / (double)seen;
	*accuracy = (double)correct / (double)seen;
	rc = 0;
done:
	free(order);
	free(in);
	free(probs);
	free(labels);
	free(soft);
	return rc;
}

/* Faces [lo, hi) of d, one at a time, through a classifier of net. */
static int
predict_range(struct fm_cnn *net, const struct fm_dataset *d, enum fm_face_views views, size_t lo,
              size_t hi, float *probs, struct fm_err *err)
{
	struct fm_face_classifier *fc = NULL;
	size_t plane = (size_t)d->side * d->side;

	/* The faces go the way fer-classify's go, so that both give one face one answer. */
	if (fm_face_classifier_new(net, &fc, err) == -1)
		return -1;
	/*
	 * One face per forward pass, as fer-classify reads a face file (one record, one face):
	 * the BLAS's products differ in their last bits with the batch's size (5 of FER2013's
	 * 3,589 validation faces moved in the fourth decimal), and the tool and its evaluation
	 * must agree to the bit. It costs nothing measurable on these small networks.
	 */
	for (size_t k = lo; k < hi; k++)
		if (fm_face_classify(fc, d->pixels + k * plane, d->side, 1, views,
		                     probs + k * FM_N_EMOTIONS, err) == -1) {
			fm_face_classifier_free(fc);
			return -1;
		}
	fm_face_classifier_free(fc);
	return 0;
}

struct predict_slice {
	struct fm_cnn *net; /* a copy of the caller's, the thread's own */
	const struct fm_dataset *d;
	enum fm_face_views views;
	size_t lo, hi;
	float *probs;
	pthread_t thread;
	int started, rc;
	struct fm_err err;
};

static void *
predict_slice_run(void *arg)
{
	struct predict_slice *s = arg;

	s->rc = predict_range(s->net, s->d, s->views, s->lo, s->hi, s->probs, &s->err);
	return NULL;
}

int
fm_train_predict(struct fm_cnn *net, const struct fm_dataset *d, enum fm_face_views views,
                 size_t n_jobs, struct fm_confusion *m, float *probs, struct fm_err *err)
{
	struct predict_slice *slices;
	uint32_t side;
	size_t n;
	int rc = 0;

	memset(m, 0, sizeof *m);
	if (check_shapes(net, d, &side, err) == -1)
		return -1;
	if (n_jobs < 1 || n_jobs > FM_CNN_MAX_THREADS)
		return fm_err_set(err, FM_EINVAL, "%zu jobs: 1 to %d", n_jobs, FM_CNN_MAX_THREADS);
	n = n_jobs < d->n ? n_jobs : d->n;
	/*
	 * Each job a contiguous share of the faces on a copy of the network of its own (a network
	 * holds its last batch). Every face still goes alone through the same weights, so the
	 * answers are the same bits whatever the number of jobs; sharing batches among a
	 * network's threads (fm_cnn_set_threads) would not help single faces.
	 */
	if ((slices = calloc(n, sizeof *slices)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	for (size_t j = 0; j < n && rc == 0; j++) {
		slices[j] = (struct predict_slice){.d = d, .views = views, .probs = probs};
		slices[j].lo = d->n * j / n;
		slices[j].hi = d->n * (j + 1) / n;
		if (j == 0)
			slices[j].net = net;
		else
			/* A face at a time; trainable as net is, so that it runs the same
			 * arithmetic (the folded plan or the layers one by one). */
			rc = fm_cnn_clone(net, 1, fm_cnn_is_trainable(net), &slices[j].net, err);
	}
	for (size_t j = 1; j < n && rc == 0; j++)
		slices[j].started =
		    pthread_create(&slices[j].thread, NULL, predict_slice_run, &slices[j]) == 0;
	if (rc == 0)
		predict_slice_run(&slices[0]);
	for (size_t j = 0; j < n; j++) {
		if (slices[j].started)
			pthread_join(slices[j].thread, NULL);
		else if (j > 0 && rc == 0)
			predict_slice_run(&slices[j]); /* no thread to be had: this one does it */
		if (rc == 0 && slices[j].rc == -1) {
			*err = slices[j].err;
			rc = -1;
		}
		if (j > 0)
			fm_cnn_free(slices[j].net);
	}
	free(slices);
	if (rc == -1)
		return -1;
	for (size_t k = 0; k < d->n; k++)
		m->count[d->labels[k]][fm_mood_top_float(probs + k * FM_N_EMOTIONS)]++;
	return 0;
}

int
fm_train_evaluate(struct fm_cnn *net, const struct fm_dataset *d, enum fm_face_views views,
                  size_t n_jobs, struct fm_confusion *m, struct fm_err *err)
{
	float *probs = malloc((d->n ? d->n : 1) * FM_N_EMOTIONS * sizeof *probs);
	int rc;

	memset(m, 0, sizeof *m);
	if (probs == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	rc = fm_train_predict(net, d, views, n_jobs, m, probs, err);
	free(probs);
	return rc;
}

void
fm_confusion_scores(const struct fm_confusion *m, struct fm_scores *s)
{
	uint64_t right = 0, predicted[FM_N_EMOTIONS] = {0};
	int present = 0;

	memset(s, 0, sizeof *s);
	for (int t = 0; t < FM_N_EMOTIONS; t++)
		for (int p = 0; p < FM_N_EMOTIONS; p++) {
			s->n += m->count[t][p];
			s->support[t] += m->count[t][p];
			predicted[p] += m->count[t][p];
			right += t == p ? m->count[t][p] : 0;
		}
	s->accuracy = s->n ? (double)right / (double)s->n : 0;
	for (int k = 0; k < FM_N_EMOTIONS; k++) {
		double tp = (double)m->count[k][k];

		s->precision[k] = predicted[k] ? tp / (double)predicted[k] : 0;
		s->recall[k] = s->support[k] ? tp / (double)s->support[k] : 0;
		s->f1[k] = s->precision[k] + s->recall[k] > 0 ? 2 * s->precision[k] * s->recall[k] /
		                                                    (s->precision[k] + s->recall[k])
		                                              : 0;
		if (s->support[k]) {
			s->macro_f1 += s->f1[k];
			present++;
		}
	}
	if (present)
		s->macro_f1 /= present;
}
