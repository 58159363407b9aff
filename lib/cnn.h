/*
 * lib/cnn.h: a small convolutional network for 48x48 face crops: a sequential stack of
 * layers built from a one-line text description, forward and backward passes in float32,
 * SGD (momentum, Nesterov) and Adam/AdamW, a learning-rate schedule, and the model file.
 *
 * Tensors are float32 in NCHW order: sample, channel, row, column, the last one varying
 * fastest. The heavy products (convolution through im2col, dense layers) go through
 * cblas_sgemm. A network can also share each batch among threads of its own
 * (fm_cnn_set_threads), which scales better than OpenBLAS's threads on these small
 * products; results agree to float rounding whatever the number of threads of either.
 *
 * The description is a comma-separated list of layers, each a name and its numbers:
 *
 *	conv OUT K [STRIDE [PAD]]    2-D convolution, OUT filters of KxK (stride 1, pad 0);
 *	                             it has a bias unless the next layer is bn, whose mean
 *	                             subtraction would cancel it
 *	dwconv K [STRIDE [PAD]]      depthwise 2-D convolution: one KxK filter per channel,
 *	                             over that channel only (output channels = input
 *	                             channels); stride, pad and bias as for conv
 *	bn [MOMENTUM [EPS]]          batch normalisation per channel (0.1, 1e-5); the running
 *	                             statistics follow PyTorch: r = (1-m) r + m batch, and
 *	                             the running variance is the unbiased one
 *	relu                         max(x, 0)
 *	maxpool K [STRIDE]           max over KxK windows, no padding (stride K)
 *	avgpool K [STRIDE]           mean over KxK windows, no padding (stride K)
 *	gap                          global average pooling: CxHxW becomes Cx1x1
 *	dropout P                    inverted dropout, 0 <= P < 1, active in training only
 *	dense OUT                    fully connected over the flattened CxHxW input, with bias
 *
 * for example "conv 32 3 1 1, bn, relu, maxpool 2, gap, dropout 0.3, dense 7". The last
 * layer's output, flattened, holds one logit per class; a softmax turns it into
 * probabilities. Numbers are read in the C locale's format.
 *
 * A network whose last layer is a conv or dwconv is fully convolutional (a detector, say,
 * "..., conv 13 1"): its output is a map of C x H x W raw values per sample, which grows
 * with its input, and no softmax. Its classes then name the C output channels ("0", "1",
 * ... until set), and it runs through fm_cnn_forward_raw and fm_cnn_backward only: the
 * softmax and the losses of fm_cnn_forward, fm_cnn_loss_backward and
 * fm_cnn_distill_backward refuse it (FM_EINVAL), as an ensemble does.
 *
 * A network loaded or cloned for inference runs a plan made once from its weights: batch
 * normalisation folded into the convolution (conv or dwconv) before it, the relu after that
 * fused into the convolution's output pass, dropout left out. Its probabilities are those of the
 *layers run one by one (what a trainable network runs) to float rounding, about 1e-7.
 *
 * An ensemble (fm_cnn_ensemble, or a model file that holds one) is a network too: its
 * probabilities are the mean of its members' probabilities. It runs inference only.
 *
 * A network is not thread-safe: its buffers hold the last batch. Use one per thread.
 */
#ifndef FM_CNN_H
#define FM_CNN_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"

/* Limits on what a description, or a model file, may ask for (FM_ELIMIT beyond them). */
#define FM_CNN_MAX_LAYERS 256
#define FM_CNN_MAX_SIDE 4096      /* input height and width */
#define FM_CNN_MAX_CHANNELS 65536 /* input and layer channels, dense widths */
#define FM_CNN_MAX_KERNEL 64      /* conv and pool kernel side, stride, padding */
#define FM_CNN_MAX_BATCH 65536
#define FM_CNN_MAX_BYTES ((uint64_t)8 << 30) /* all of a network's buffers at max_batch */
#define FM_CNN_MAX_THREADS 64
#define FM_CNN_MAX_MEMBERS 16 /* networks in an ensemble */

struct fm_cnn; /* opaque: layers, parameters, activations, gradients, optimiser state */

/*
 * Build a network for inputs of in_c x in_h x in_w and batches of up to max_batch samples,
 * ready to train: conv and dense weights drawn from He's normal N(0, 2/fan_in), biases and
 * BN shifts 0, BN scales 1, running mean 0 and variance 1. The seed fixes those weights and
 * the dropout masks, so a run repeats bit for bit on the same machine and thread count.
 * Class names start as the seven emotions when there are 7 outputs, "0", "1", ...
 * otherwise (and for a fully convolutional network); normalisation is mean 0, std 1; the
 * crop margin is 0. FM_EINVAL for a malformed description (the message names the layer), a
 * layer that does not fit its input, fewer than 2 outputs (unless fully convolutional) or
 * max_batch 0; FM_ELIMIT (also for more than FM_CNN_MAX_CHANNELS outputs, unless fully
 * convolutional); FM_ENOMEM.
 */
int fm_cnn_new(const char *desc, uint32_t in_c, uint32_t in_h, uint32_t in_w, size_t max_batch,
               uint64_t seed, struct fm_cnn **out, struct fm_err *err);
void fm_cnn_free(struct fm_cnn *net);

/*
 * A copy of net's weights, statistics and metadata for batches of up to max_batch, with or
 * without training buffers (see fm_cnn_load), running on one thread; for one network per
 * thread of a program. The optimiser's state is not copied. FM_EINVAL, FM_ELIMIT, FM_ENOMEM
 * as for fm_cnn_new; FM_EINVAL for a trainable copy of an ensemble.
 */
int fm_cnn_clone(const struct fm_cnn *net, size_t max_batch, int trainable, struct fm_cnn **out,
                 struct fm_err *err);

/*
 * An ensemble of the n networks nets[0..n) (2 to FM_CNN_MAX_MEMBERS), copied for inference
 * at batches of up to max_batch: a network whose probabilities are the mean of the members'
 * probabilities, each member's softmax first (lib/cnn_ensemble.c says why). The members
 * must take the same input, have the same class names in the same order, the same
 * normalisation and the same crop margin, which the ensemble has too; its info starts
 * empty. nets are only read. It works wherever a network loaded for inference does, and
 * fm_cnn_save writes it as one model file (format version 2). FM_EINVAL for a count out of
 * range, a member that differs (the message names it and how) or is an ensemble itself;
 * FM_ELIMIT when the members' buffers together pass FM_CNN_MAX_BYTES; FM_ENOMEM.
 */
int fm_cnn_ensemble(struct fm_cnn *const *nets, size_t n, size_t max_batch, struct fm_cnn **out,
                    struct fm_err *err);
/* The networks an ensemble holds; 0 for a single network. */
size_t fm_cnn_n_members(const struct fm_cnn *net);

/*
 * A copy of net, as fm_cnn_clone makes it, for inputs of in_h x in_w (the same channels):
 * every layer keeps its weights and statistics, and only the planes change; the classes,
 * normalisation, crop margin and info are copied. For a fully convolutional network each
 * output position sees the same window of the input as before; the detector runs one per
 * photo size. FM_EINVAL when a layer no longer fits (a kernel or window larger than its
 * padded input), when a layer's weights would change shape (a dense layer after anything
 * but gap) or when the count of classes would (a network ending in neither dense nor a
 * convolution); FM_EINVAL for a trainable copy of an ensemble, whose members are copied
 * for the new size in turn; FM_ELIMIT, FM_ENOMEM as for fm_cnn_new.
 */
int fm_cnn_clone_input(const struct fm_cnn *net, uint32_t in_h, uint32_t in_w, size_t max_batch,
                       int trainable, struct fm_cnn **out, struct fm_err *err);

/*
 * The description in canonical form, every number spelt out, e.g. "conv 32 3 1 1, bn 0.1
 * 1e-05, relu"; it builds the same network. An ensemble's is its members', " | " between
 * them, which fm_cnn_new refuses. Borrowed: valid until fm_cnn_free.
 */
const char *fm_cnn_desc(const struct fm_cnn *net);
void fm_cnn_input_shape(const struct fm_cnn *net, uint32_t *c, uint32_t *h, uint32_t *w);
size_t fm_cnn_max_batch(const struct fm_cnn *net);
/* 1 for a network with training buffers (fm_cnn_new, or loaded or cloned trainable), which
 * runs its layers one by one; 0 for one that runs the folded inference plan. */
int fm_cnn_is_trainable(const struct fm_cnn *net);
/* The classes: the outputs of a classifier, the output channels of a fully convolutional
 * network. */
size_t fm_cnn_n_classes(const struct fm_cnn *net);
/* 1 for a fully convolutional network (its last layer a conv or dwconv), else 0. */
int fm_cnn_is_fully_conv(const struct fm_cnn *net);
/* What fm_cnn_forward_raw writes per sample: channels, height, width; a classifier's
 * logits are n_classes x 1 x 1 after a dense layer, an ensemble's probabilities too. */
void fm_cnn_output_shape(const struct fm_cnn *net, uint32_t *c, uint32_t *h, uint32_t *w);
/* Trainable parameters: conv, dwconv and dense weights and biases, BN scales and shifts (not the
 * BN running statistics, which the model file also holds); an ensemble's members' sum, as
 * for fm_cnn_flops. */
size_t fm_cnn_param_count(const struct fm_cnn *net);
/* Floating-point operations of one sample's forward pass, counting a multiply-add as 2, in
 * conv, dwconv and dense layers only (their biases, BN, ReLU, pooling and softmax are left
 * out). */
uint64_t fm_cnn_flops(const struct fm_cnn *net);

/*
 * Run a batch of `batch` samples (1 <= batch <= max_batch), `in` holding batch x C x H x W
 * floats already normalised (see fm_cnn_normalize). With probs non-NULL, write batch x
 * n_classes probabilities there, each row summing to 1. training = 0 is inference: BN
 * uses its running statistics and dropout passes everything. training = 1 uses batch
 * statistics, updates the running ones, draws dropout masks, and keeps what
 * fm_cnn_loss_backward needs; it requires a trainable network. in is copied, so the
 * caller may reuse it at once. FM_EINVAL for a batch out of range, training on a network
 * loaded for inference or on an ensemble, a fully convolutional network, or a non-finite
 * output (a diverged network).
 */
int fm_cnn_forward(struct fm_cnn *net, const float *in, size_t batch, int training, float *probs,
                   struct fm_err *err);

/*
 * The same pass without the softmax, for any network but an ensemble: with out non-NULL,
 * write there batch x C x H x W raw outputs (fm_cnn_output_shape), a classifier's logits
 * or a fully convolutional network's maps. training as for fm_cnn_forward: 1 keeps what
 * fm_cnn_backward (or a loss) needs. FM_EINVAL as fm_cnn_forward, and for an ensemble.
 */
int fm_cnn_forward_raw(struct fm_cnn *net, const float *in, size_t batch, int training, float *out,
                       struct fm_err *err);

/*
 * The gradients of a loss with respect to every parameter, overwriting the previous ones,
 * given dout: dLoss/dOutput of the last training forward, batch x C x H x W floats laid out
 * as fm_cnn_forward_raw's out (its batch). The losses below compute their gradient and come
 * through here. FM_EINVAL without a training forward since the last backward, or for a
 * non-finite value in dout.
 */
int fm_cnn_backward(struct fm_cnn *net, const float *dout, struct fm_err *err);

/*
 * Softmax cross-entropy of the last training forward against labels[0..batch) (class
 * indices), averaged over the batch, into *loss (may be NULL); then the gradients of that
 * mean loss with respect to every parameter, overwriting the previous ones. smoothing in
 * [0, 1) mixes the one-hot target with the uniform distribution: q = (1 - s) onehot + s / K.
 * FM_EINVAL without a training forward since the last backward, for a label out of range,
 * smoothing out of range, or a fully convolutional network.
 */
int fm_cnn_loss_backward(struct fm_cnn *net, const int *labels, float smoothing, double *loss,
                         struct fm_err *err);

/*
 * Knowledge distillation (Hinton, Vinyals and Dean, 2015): as fm_cnn_loss_backward, with
 * the loss (1 - weight) times that smoothed cross-entropy plus weight T^2 times
 * KL(q || softmax(z / T)), z the logits and q the teacher's probabilities softened at the
 * temperature T: q proportional to p^(1/T), which is softmax(teacher logits / T) for one
 * network. teacher holds batch x n_classes probabilities (as fm_cnn_forward writes them),
 * each row in [0, 1] and summing to 1 within 1e-3. weight 0 is fm_cnn_loss_backward's loss;
 * 1 the teacher's alone. FM_EINVAL as fm_cnn_loss_backward, and for a weight outside
 * [0, 1], a temperature outside [FM_CNN_MIN_TEMPERATURE, FM_CNN_MAX_TEMPERATURE] or a row
 * of the teacher's that is not a distribution.
 */
#define FM_CNN_MIN_TEMPERATURE 0.1
#define FM_CNN_MAX_TEMPERATURE 100.0
int fm_cnn_distill_backward(struct fm_cnn *net, const int *labels, float smoothing,
                            const float *teacher, float weight, float temperature, double *loss,
                            struct fm_err *err);

enum fm_optim_kind {
	FM_OPTIM_SGD,  /* v = mu v + g; w -= lr v, or with Nesterov w -= lr (g + mu v) */
	FM_OPTIM_ADAM, /* Kingma and Ba, with bias correction; decay added to the gradient */
	FM_OPTIM_ADAMW /* Adam with decoupled decay: w -= lr decay w (Loshchilov and Hutter) */
};

struct fm_optim {
	enum fm_optim_kind kind;
	float momentum;     /* SGD: [0, 1); 0 is plain SGD */
	int nesterov;       /* SGD: nonzero for Nesterov's momentum; needs momentum > 0 */
	float beta1, beta2; /* Adam: [0, 1), usually 0.9 and 0.999 */
	float eps;          /* Adam: > 0, usually 1e-8 */
	float weight_decay; /* >= 0: L2 on conv, dwconv and dense weights, never on biases or BN */
};
/* clang-format off */
#define FM_OPTIM_SGD_DEFAULT { FM_OPTIM_SGD, 0.9f, 1, 0.9f, 0.999f, 1e-8f, 5e-4f }
#define FM_OPTIM_ADAMW_DEFAULT { FM_OPTIM_ADAMW, 0.9f, 0, 0.9f, 0.999f, 1e-8f, 1e-2f }
/* clang-format on */

/*
 * One optimiser step with learning rate lr (> 0) from the gradients of the last
 * fm_cnn_loss_backward. The optimiser's state (momentum, Adam's moments and step count)
 * lives in the network and restarts from zero when the kind changes. FM_EINVAL for
 * parameters out of range or no backward since the last step.
 */
int fm_cnn_update(struct fm_cnn *net, const struct fm_optim *o, float lr, struct fm_err *err);

enum fm_lr_kind {
	FM_LR_CONSTANT, /* base_lr */
	FM_LR_COSINE,   /* from base_lr down to min_lr over (warmup_epochs, total_epochs] */
	FM_LR_STEP      /* base_lr gamma^floor(epoch / step_epochs) */
};

struct fm_lr_schedule {
	enum fm_lr_kind kind;
	double base_lr;       /* > 0 */
	double min_lr;        /* cosine: [0, base_lr], the rate at total_epochs and after */
	double warmup_epochs; /* >= 0: a linear ramp from 0 to the schedule's rate first */
	double total_epochs;  /* cosine: > warmup_epochs */
	double step_epochs;   /* step: > 0 */
	double gamma;         /* step: (0, 1] */
};

/*
 * The learning rate at `epoch`, the progress of the run in epochs as a real (2.5 is half
 * way through the third epoch); pass the progress at the end of the step, (i + 1) /
 * steps_per_epoch, so that the first step of a warm-up does not get a rate of 0.
 * FM_EINVAL for fields out of range or a negative or non-finite epoch.
 */
int fm_cnn_schedule(const struct fm_lr_schedule *s, double epoch, double *lr, struct fm_err *err);

/*
 * Share each batch among n_threads threads (an ensemble: each member's, in turn) (1 to
 * FM_CNN_MAX_THREADS; a network starts with 1), each running every layer on its slice of the
 * samples and meeting the others where batch normalisation needs the whole batch. The network owns
 * the n_threads - 1 helper threads, which sleep between passes and end with fm_cnn_free. A batch
 * smaller than n_threads runs on the calling thread alone. Dropout masks are the same for any
 * number of threads, and outputs, statistics and gradients agree to float rounding (the products
 * are blocked differently), so a run repeats bit for bit with the same thread count.
 * Each thread calls cblas_sgemm on its own, so give OpenBLAS one thread
 * (OPENBLAS_NUM_THREADS=1, or openblas_set_num_threads(1) in the program): its own threads
 * would compete with these, and training on 2 cores falls from 230 to 80 images/s.
 * FM_EINVAL, FM_ENOMEM (which leaves the network on 1 thread).
 */
int fm_cnn_set_threads(struct fm_cnn *net, size_t n_threads, struct fm_err *err);
size_t fm_cnn_threads(const struct fm_cnn *net);

/* Reseed the dropout masks (a loaded network starts from seed 0). */
void fm_cnn_seed(struct fm_cnn *net, uint64_t seed);

/*
 * Metadata kept in the model file. Class names: n must equal fm_cnn_n_classes (for a fully
 * convolutional network, the output channels: "face", "x", ...); each name
 * 1 to 64 bytes of UTF-8 without control characters, no two the same; they are copied. A class name
 * is borrowed: valid until the next fm_cnn_set_classes or fm_cnn_free; NULL for i out of range.
 * FM_EINVAL, FM_ENOMEM.
 */
int fm_cnn_set_classes(struct fm_cnn *net, const char *const *names, size_t n, struct fm_err *err);
const char *fm_cnn_class_name(const struct fm_cnn *net, size_t i);

/*
 * Input normalisation: a pixel v becomes (v - mean) / std, both in the pixel's units (0 to
 * 255 for 8-bit gray). std > 0, both finite; FM_EINVAL otherwise.
 */
int fm_cnn_set_normalization(struct fm_cnn *net, float mean, float std, struct fm_err *err);
void fm_cnn_normalization(const struct fm_cnn *net, float *mean, float *std);
/* out[i] = (pixels[i] - mean) / std for i < n, with the network's mean and std. */
void fm_cnn_normalize(const struct fm_cnn *net, const uint8_t *pixels, size_t n, float *out);
/*
 * The same arithmetic with a mean and std given (as fm_cnn_normalization returns them): the
 * one definition, so that every path to the network's input gives the same floats, bit for bit.
 */
void fm_cnn_normalize_with(float mean, float std, const uint8_t *pixels, size_t n, float *out);

/*
 * How much a face box grows on each side before the crop, as a fraction of its side (0.1
 * adds 10% on the left, right, top and bottom). Finite, -0.45 to 4; FM_EINVAL otherwise.
 */
int fm_cnn_set_crop_margin(struct fm_cnn *net, float margin, struct fm_err *err);
float fm_cnn_crop_margin(const struct fm_cnn *net);

/*
 * Free text about how the model was trained (data, epochs, accuracy), up to 65536 bytes
 * of UTF-8; it is copied. The getter's string is borrowed until the next set or free.
 */
int fm_cnn_set_info(struct fm_cnn *net, const char *info, struct fm_err *err);
const char *fm_cnn_info(const struct fm_cnn *net);

/*
 * The model file (fermata-model(5)): magic, format version, a JSON header (description,
 * input shape, classes, normalisation, crop margin, training info, tensor list), the
 * weights with the BN running statistics as float32 little-endian, and a CRC-32. A single
 * network is written as format version 1; an ensemble as version 2, whose header lists its
 * members (each a description, a training info and a tensor list) and whose weights are
 * theirs one after the other, and which a checkpoint writes as fm_cnn_save does.
 * fm_cnn_save writes PATH.tmp and renames it over PATH, so a failed save leaves an older
 * file whole. fm_cnn_save_checkpoint also writes the optimiser's state (kind, step count,
 * moments) once a step has been taken, so that a network loaded trainable from it takes
 * the very next step the saved one would have. fm_cnn_encode returns fm_cnn_save's bytes
 * in *bytes, which the caller frees. FM_EIO with the path and the reason, FM_ENOMEM.
 */
int fm_cnn_save(const struct fm_cnn *net, const char *path, struct fm_err *err);
int fm_cnn_save_checkpoint(const struct fm_cnn *net, const char *path, struct fm_err *err);
int fm_cnn_encode(const struct fm_cnn *net, unsigned char **bytes, size_t *n_bytes,
                  struct fm_err *err);

/*
 * Read a model file for batches of up to max_batch samples; trainable = 0 allocates no
 * gradients or optimiser state (fm_cnn_forward with training = 1 is then refused), and
 * a checkpoint's optimiser state is restored only into a trainable network.
 * FM_EIO if the file cannot be read; FM_ELIMIT for a file over FM_DEFAULT_MAX_FILE_BYTES or
 * a network beyond the FM_CNN_MAX_ limits; FM_EFORMAT, with the reason, for a file that is
 * not a model (bad magic), is of a newer format version, is truncated, fails its checksum,
 * or whose header is malformed or disagrees with the weights; FM_EINVAL for an ensemble
 * asked to be trainable; FM_ENOMEM. fm_cnn_decode
 * reads the n_bytes at bytes instead, which it does not keep. Neither may run in two
 * threads at once, because cJSON's parser keeps a global error position; load once and
 * use fm_cnn_clone for more threads.
 */
int fm_cnn_load(const char *path, size_t max_batch, int trainable, struct fm_cnn **out,
                struct fm_err *err);
int fm_cnn_decode(const void *bytes, size_t n_bytes, size_t max_batch, int trainable,
                  struct fm_cnn **out, struct fm_err *err);

#endif
