/*
 * lib/train.h: training and evaluating a network (lib/cnn) on a face set (lib/dataset):
 * one epoch of shuffled, augmented mini-batches, and the confusion matrix with its
 * per-class precision, recall and F1.
 *
 * Everything random comes from the seed the caller passes per epoch, so an epoch repeats
 * exactly (on the same machine and thread count), and a run resumed at epoch E draws what
 * the uninterrupted run would have drawn. Progress goes to a callback: the library prints
 * nothing.
 */
#ifndef FM_TRAIN_H
#define FM_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "cnn.h"
#include "dataset.h"
#include "face.h"

/*
 * The network fer-train builds unless told otherwise, for 1 x 48 x 48 faces: a VGG-style
 * stack of two 3x3 convolutions with batch normalisation per stage, 32-64-128-256
 * channels, max pooling between stages, global average pooling, dropout and 7 outputs.
 */
#define FM_TRAIN_DEFAULT_ARCH                                                                      \
	"conv 32 3 1 1, bn, relu, conv 32 3 1 1, bn, relu, maxpool 2, "                            \
	"conv 64 3 1 1, bn, relu, conv 64 3 1 1, bn, relu, maxpool 2, "                            \
	"conv 128 3 1 1, bn, relu, conv 128 3 1 1, bn, relu, maxpool 2, "                          \
	"conv 256 3 1 1, bn, relu, conv 256 3 1 1, bn, relu, gap, dropout 0.3, dense 7"

struct fm_train_opts {
	size_t batch; /* samples per step, <= the network's max batch */
	struct fm_optim optim;
	struct fm_lr_schedule schedule;
	float smoothing; /* label smoothing, [0, 1) */
	struct fm_augment augment;
	/*
	 * Knowledge distillation (fm_cnn_distill_backward) when teacher is not NULL: d->n x
	 * FM_N_EMOTIONS probabilities, a teacher's for each face of d as fm_train_predict gives
	 * them, the same for every augmented view of the face; distill is the teacher's weight,
	 * temperature its softening.
	 */
	const float *teacher;
	float distill, temperature;
};

struct fm_train_progress {
	size_t epoch;         /* 0-based */
	size_t step, n_steps; /* within the epoch, 1-based after the step */
	double lr;            /* the rate of that step */
	double loss;          /* mean loss over the epoch so far */
	double accuracy;      /* training accuracy over the epoch so far, 0 to 1 */
};

typedef void fm_train_progress_fn(void *ctx, const struct fm_train_progress *p);

/*
 * One epoch (index `epoch`, 0-based) over d in an order drawn from `seed`, each sample
 * augmented, normalised with the network's mean and std and resized to its input side.
 * The last partial batch is dropped when smaller than 2 (batch statistics need two).
 * Writes the epoch's mean loss and training accuracy. FM_EINVAL for options out of range
 * or a network whose input is not 1 x S x S or whose classes are not d's seven.
 */
int fm_train_epoch(struct fm_cnn *net, const struct fm_dataset *d, const struct fm_train_opts *o,
                   size_t epoch, uint64_t seed, fm_train_progress_fn *progress, void *ctx,
                   double *loss, double *accuracy, struct fm_err *err);

/* [true class][predicted class] counts. */
struct fm_confusion {
	uint64_t count[FM_N_EMOTIONS][FM_N_EMOTIONS];
};

struct fm_scores {
	uint64_t n;                      /* samples */
	double accuracy;                 /* 0 to 1 */
	double precision[FM_N_EMOTIONS]; /* 0 when nothing was predicted as the class */
	double recall[FM_N_EMOTIONS];    /* 0 when the class has no samples */
	double f1[FM_N_EMOTIONS];
	double macro_f1;                 /* mean of f1 over the classes that have samples */
	uint64_t support[FM_N_EMOTIONS]; /* samples per true class */
};

/*
 * Classify every sample of d in inference mode, one face a forward pass as fer-classify
 * reads a face file, and count. Each face's probabilities are the mean over views of it, as
 * fm_face_classify gives them. n_jobs threads (1 to FM_CNN_MAX_THREADS) share the faces,
 * each on a copy of net: the answers are the same bits for any n_jobs. FM_EINVAL, FM_ENOMEM.
 */
int fm_train_evaluate(struct fm_cnn *net, const struct fm_dataset *d, enum fm_face_views views,
                      size_t n_jobs, struct fm_confusion *m, struct fm_err *err);

/*
 * As fm_train_evaluate, and every sample's probabilities into probs (d->n times the seven
 * classes, sample after sample), for fer-train --predictions.
 */
int fm_train_predict(struct fm_cnn *net, const struct fm_dataset *d, enum fm_face_views views,
                     size_t n_jobs, struct fm_confusion *m, float *probs, struct fm_err *err);

void fm_confusion_scores(const struct fm_confusion *m, struct fm_scores *s);

#endif
