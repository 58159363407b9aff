/*
 * tests/unit/test_train.c: the scores of a known confusion matrix, and a small network
 * that learns a synthetic seven-class task through fm_train_epoch and is measured by
 * fm_train_evaluate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "train.h"

static void
scores_of_a_known_matrix(void **state)
{
	struct fm_confusion m = {0};
	struct fm_scores s;

	(void)state;
	/* angry: 8 right, 2 called happy; happy: 6 right, 4 called angry; others empty. */
	m.count[FM_ANGRY][FM_ANGRY] = 8;
	m.count[FM_ANGRY][FM_HAPPY] = 2;
	m.count[FM_HAPPY][FM_HAPPY] = 6;
	m.count[FM_HAPPY][FM_ANGRY] = 4;
	fm_confusion_scores(&m, &s);
	assert_int_equal(s.n, 20);
	assert_float_equal(s.accuracy, 0.7, 1e-12);
	assert_float_equal(s.precision[FM_ANGRY], 8.0 / 12, 1e-12);
	assert_float_equal(s.recall[FM_ANGRY], 0.8, 1e-12);
	assert_float_equal(s.precision[FM_HAPPY], 0.75, 1e-12);
	assert_float_equal(s.recall[FM_HAPPY], 0.6, 1e-12);
	double f_angry = 2 * (8.0 / 12) * 0.8 / (8.0 / 12 + 0.8);
	double f_happy = 2 * 0.75 * 0.6 / 1.35;
	assert_float_equal(s.f1[FM_ANGRY], f_angry, 1e-12);
	/* The macro mean runs over the classes that have faces, not all seven. */
	assert_float_equal(s.macro_f1, (f_angry + f_happy) / 2, 1e-12);
	assert_int_equal(s.support[FM_SAD], 0);
	assert_float_equal(s.f1[FM_SAD], 0, 0);
}

/* Class k is a bright bar at row 2k of an otherwise dark 16x16 square, plus noise. */
static void
make_bars(struct fm_dataset *d, size_t n, uint64_t seed)
{
	struct fm_rng rng;

	fm_rng_seed(&rng, seed);
	memset(d, 0, sizeof *d);
	d->n = n;
	d->side = 16;
	d->pixels = malloc(n * 256);
	d->labels = malloc(n);
	assert_non_null(d->pixels);
	assert_non_null(d->labels);
	for (size_t i = 0; i < n; i++) {
		int k = (int)(i % FM_N_EMOTIONS);
		uint8_t *px = d->pixels + i * 256;

		for (int j = 0; j < 256; j++)
			px[j] = (uint8_t)fm_rng_below(&rng, 60);
		for (int x = 2; x < 14; x++)
			px[(2 * k + 1) * 16 + x] = (uint8_t)(200 + fm_rng_below(&rng, 56));
		d->labels[i] = (uint8_t)k;
		d->per_class[k]++;
	}
}

static void
a_small_network_learns_bars(void **state)
{
	struct fm_dataset train, test;
	struct fm_cnn *net;
	struct fm_err err;
	struct fm_train_opts o = {0};
	struct fm_confusion m;
	struct fm_scores s;
	double loss, acc, first_loss = 0;

	(void)state;
	make_bars(&train, 700, 1);
	make_bars(&test, 140, 2);
	assert_int_equal(fm_cnn_new("conv 8 3 1 1, bn, relu, maxpool 2, conv 16 3 1 1, bn, relu, "
	                            "gap, dense 7",
	                            1, 16, 16, 32, 5, &net, &err),
	                 0);
	assert_int_equal(fm_cnn_set_normalization(net, 128, 64, &err), 0);
	o.batch = 32;
	o.optim = (struct fm_optim)FM_OPTIM_SGD_DEFAULT;
	o.schedule = (struct fm_lr_schedule){FM_LR_COSINE, 0.05, 0.0005, 0.5, 6, 1, 1};
	o.smoothing = 0.05f;
	for (size_t epoch = 0; epoch < 6; epoch++) {
		assert_int_equal(
		    fm_train_epoch(net, &train, &o, epoch, 9, NULL, NULL, &loss, &acc, &err), 0);
		if (epoch == 0)
			first_loss = loss;
		print_message("# epoch %zu: loss %.4f, accuracy %.3f\n", epoch, loss, acc);
	}
	assert_true(loss < first_loss * 0.7);
	/* The mirror pair: a bar is its own mirror image. The turned and zoomed views of
	 * --tta are for networks that learnt from turned and zoomed faces; this one learnt
	 * bars two rows apart as they are, and a turn of 10 degrees moves a bar's ends by a row. */
	assert_int_equal(fm_train_evaluate(net, &test, FM_FACE_VIEWS_MIRROR, 1, &m, &err), 0);
	fm_confusion_scores(&m, &s);
	print_message("# bars: loss %.3f -> %.3f, test accuracy %.2f\n", first_loss, loss,
	              s.accuracy);
	/* Chance is 1/7; a bar this plain is learnt almost perfectly. */
	assert_true(s.accuracy > 0.8);
	fm_cnn_free(net);
	fm_dataset_free(&train);
	fm_dataset_free(&test);
}

/* A network for bars and options to train it, as a_small_network_learns_bars has them. */
static struct fm_cnn *
bars_net(struct fm_train_opts *o)
{
	struct fm_cnn *net;
	struct fm_err err;

	assert_int_equal(fm_cnn_new("conv 8 3 1 1, bn, relu, maxpool 2, conv 16 3 1 1, bn, relu, "
	                            "gap, dense 7",
	                            1, 16, 16, 32, 5, &net, &err),
	                 0);
	assert_int_equal(fm_cnn_set_normalization(net, 128, 64, &err), 0);
	memset(o, 0, sizeof *o);
	o->batch = 32;
	o->optim = (struct fm_optim)FM_OPTIM_SGD_DEFAULT;
	o->schedule = (struct fm_lr_schedule){FM_LR_COSINE, 0.05, 0.0005, 0.5, 6, 1, 1};
	return net;
}

/*
 * Distillation follows each face's own row of the teacher's through the shuffle: with the
 * labels all wrong and the teacher alone right (weight 1), the network learns the bars; and
 * a teacher that is the one-hot labels at weight 1 and temperature 1 is the plain
 * cross-entropy without smoothing, to the bit.
 */
static void
distillation_learns_from_each_face_row(void **state)
{
	struct fm_dataset train, test;
	struct fm_cnn *net, *plain;
	struct fm_err err;
	struct fm_train_opts o, po;
	struct fm_confusion m;
	struct fm_scores s;
	float *teacher;
	unsigned char *a, *b;
	size_t na, nb;
	double loss, acc;

	(void)state;
	make_bars(&train, 700, 1);
	make_bars(&test, 140, 2);
	teacher = calloc(train.n * FM_N_EMOTIONS, sizeof *teacher);
	assert_non_null(teacher);
	for (size_t i = 0; i < train.n; i++) {
		teacher[i * FM_N_EMOTIONS + train.labels[i]] = 1;
		train.labels[i] = (uint8_t)((train.labels[i] + 1) % FM_N_EMOTIONS);
	}
	net = bars_net(&o);
	o.teacher = teacher;
	o.distill = 1;
	o.temperature = 2;
	for (size_t epoch = 0; epoch < 6; epoch++)
		assert_int_equal(
		    fm_train_epoch(net, &train, &o, epoch, 9, NULL, NULL, &loss, &acc, &err), 0);
	assert_int_equal(fm_train_evaluate(net, &test, FM_FACE_VIEWS_ONE, 2, &m, &err), 0);
	fm_confusion_scores(&m, &s);
	print_message("# bars from the teacher alone: test accuracy %.2f\n", s.accuracy);
	assert_true(s.accuracy > 0.8);
	fm_cnn_free(net);

	/* The teacher's rows are the (true) labels: the plain loss of those labels. */
	for (size_t i = 0; i < train.n; i++)
		train.labels[i] = (uint8_t)((train.labels[i] + FM_N_EMOTIONS - 1) % FM_N_EMOTIONS);
	net = bars_net(&o);
	plain = bars_net(&po);
	o.teacher = teacher;
	o.distill = 1;
	o.temperature = 1;
	for (size_t epoch = 0; epoch < 2; epoch++) {
		assert_int_equal(
		    fm_train_epoch(net, &train, &o, epoch, 9, NULL, NULL, &loss, &acc, &err), 0);
		assert_int_equal(
		    fm_train_epoch(plain, &train, &po, epoch, 9, NULL, NULL, &loss, &acc, &err), 0);
	}
	assert_int_equal(fm_cnn_encode(net, &a, &na, &err), 0);
	assert_int_equal(fm_cnn_encode(plain, &b, &nb, &err), 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
	/* A weight out of range is the epoch's error. */
	o.distill = 2;
	assert_int_equal(fm_train_epoch(net, &train, &o, 2, 9, NULL, NULL, &loss, &acc, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_cnn_free(plain);
	fm_cnn_free(net);
	free(teacher);
	fm_dataset_free(&train);
	fm_dataset_free(&test);
}

/*
 * fer-train --predictions: each face's probabilities are what classifying that face alone
 * gives, to the bit (as fer-classify classifies a face file), and the counts are
 * fm_train_evaluate's, for any number of jobs (3 shares 40 faces unevenly; 64 is more jobs
 * than faces).
 */
static void
predictions_are_each_face_classified_alone(void **state)
{
	struct fm_dataset d;
	struct fm_cnn *net;
	struct fm_face_classifier *fc;
	struct fm_err err;
	struct fm_confusion m, m2;
	float *probs, one[FM_N_EMOTIONS];

	(void)state;
	make_bars(&d, 40, 4);
	assert_int_equal(
	    fm_cnn_new("conv 4 3 1 1, bn, relu, gap, dense 7", 1, 16, 16, 32, 5, &net, &err), 0);
	probs = malloc(d.n * FM_N_EMOTIONS * sizeof *probs);
	assert_non_null(probs);
	static const enum fm_face_views counts[] = {FM_FACE_VIEWS_ONE, FM_FACE_VIEWS_MIRROR,
	                                            FM_FACE_VIEWS_TTA};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		enum fm_face_views views = counts[i];

		static const size_t jobs[] = {1, 2, 3, 64};

		for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
			memset(probs, 0, d.n * FM_N_EMOTIONS * sizeof *probs);
			assert_int_equal(fm_train_predict(net, &d, views, jobs[j], &m, probs, &err),
			                 0);
			assert_int_equal(fm_train_evaluate(net, &d, views, jobs[j], &m2, &err), 0);
			assert_memory_equal(&m, &m2, sizeof m);
			assert_int_equal(fm_face_classifier_new(net, &fc, &err), 0);
			for (size_t k = 0; k < d.n; k++) {
				assert_int_equal(fm_face_classify(fc, d.pixels + k * 256, 16, 1,
				                                  views, one, &err),
				                 0);
				assert_memory_equal(one, probs + k * FM_N_EMOTIONS, sizeof one);
			}
			fm_face_classifier_free(fc);
		}
	}
	free(probs);
	fm_cnn_free(net);
	fm_dataset_free(&d);
}

static void
wrong_shapes_and_jobs_are_refused(void **state)
{
	struct fm_dataset d;
	struct fm_cnn *net;
	struct fm_err err;
	struct fm_confusion m;

	(void)state;
	make_bars(&d, 14, 3);
	assert_int_equal(fm_cnn_new("conv 4 3, relu, gap, dense 3", 1, 16, 16, 8, 1, &net, &err),
	                 0);
	assert_int_equal(fm_train_evaluate(net, &d, FM_FACE_VIEWS_ONE, 1, &m, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_cnn_free(net);
	/* The right shapes, and jobs out of range. */
	assert_int_equal(
	    fm_cnn_new("conv 4 3 1 1, relu, gap, dense 7", 1, 16, 16, 8, 1, &net, &err), 0);
	assert_int_equal(fm_train_evaluate(net, &d, FM_FACE_VIEWS_ONE, 0, &m, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(
	    fm_train_evaluate(net, &d, FM_FACE_VIEWS_ONE, FM_CNN_MAX_THREADS + 1, &m, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_cnn_free(net);
	fm_dataset_free(&d);
}

/* An ensemble's copies (fm_cnn_clone of every member) answer as the ensemble does. */
static void
an_ensemble_shares_faces_among_jobs(void **state)
{
	struct fm_dataset d;
	struct fm_cnn *nets[2], *ens;
	struct fm_err err;
	struct fm_confusion m, m2;
	float *alone, *shared;

	(void)state;
	make_bars(&d, 30, 6);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fm_cnn_new("conv 4 3 1 1, bn, relu, gap, dense 7", 1, 16, 16, 8,
		                            (uint64_t)i + 11, &nets[i], &err),
		                 0);
	assert_int_equal(fm_cnn_ensemble(nets, 2, 8, &ens, &err), 0);
	alone = malloc(d.n * FM_N_EMOTIONS * sizeof *alone);
	shared = malloc(d.n * FM_N_EMOTIONS * sizeof *shared);
	assert_non_null(alone);
	assert_non_null(shared);
	assert_int_equal(fm_train_predict(ens, &d, FM_FACE_VIEWS_MIRROR, 1, &m, alone, &err), 0);
	assert_int_equal(fm_train_predict(ens, &d, FM_FACE_VIEWS_MIRROR, 2, &m2, shared, &err), 0);
	assert_memory_equal(alone, shared, d.n * FM_N_EMOTIONS * sizeof *alone);
	assert_memory_equal(&m, &m2, sizeof m);
	free(alone);
	free(shared);
	fm_cnn_free(ens);
	for (int i = 0; i < 2; i++)
		fm_cnn_free(nets[i]);
	fm_dataset_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(scores_of_a_known_matrix),
	    cmocka_unit_test(a_small_network_learns_bars),
	    cmocka_unit_test(distillation_learns_from_each_face_row),
	    cmocka_unit_test(predictions_are_each_face_classified_alone),
	    cmocka_unit_test(wrong_shapes_and_jobs_are_refused),
	    cmocka_unit_test(an_ensemble_shares_faces_among_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
