/*
 * lib/cnn_int.h: the insides of struct fm_cnn, shared by lib/cnn*.c and the unit tests,
 * which check each layer's gradients through these entry points. cmd/ never includes it.
 */
#ifndef FM_CNN_INT_H
#define FM_CNN_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base.h"
#include "cnn.h"

enum cnn_kind {
	CNN_CONV,
	CNN_BN,
	CNN_RELU,
	CNN_MAXPOOL,
	CNN_AVGPOOL,
	CNN_GAP,
	CNN_DROPOUT,
	CNN_DENSE,
	CNN_DWCONV
};

struct cnn_layer {
	enum cnn_kind kind;
	uint32_t index; /* in the stack, from 0 */
	uint32_t in_c, in_h, in_w;
	uint32_t out_c, out_h, out_w;
	uint32_t k, stride, pad; /* conv, dwconv and pools */
	int has_bias;            /* conv, dwconv: no bias before bn */
	float p;                 /* dropout probability */
	float momentum, eps;     /* bn */
	size_t group;            /* conv: images per im2col block; 0 for the 1x1 direct path */
	size_t rows;             /* conv: output rows per block when group is 1; dwconv: per band */
	int wino;      /* conv: trains by Winograd F(2x2, 3x3) (2) or also F(4x4, 3x3) (4) */
	size_t wtiles; /* conv: Winograd tiles per block, F(2x2, 3x3) and F(4x4, 3x3) */
	size_t wtiles4;

	/* Borrowed from the network's arrays; gw, gb NULL when it cannot train. */
	float *w,
	    *b; /* conv [out_c][in_c][k][k], dwconv [c][k][k], dense [out_c][in], bn scale, shift */
	float *gw, *gb;
	float *run_mean, *run_var; /* bn */

	/* Owned: what the training forward keeps for the backward (NULL for inference). */
	float *mean, *invstd; /* bn batch statistics, per channel */
	double *part;         /* bn: two sums per sample and channel, combined across threads */
	float *coef;          /* bn: dx = coef[0] dy + coef[1] x + coef[2], per channel */
	float *mask;          /* dropout: 0 or 1 / (1 - p) per element */
	uint32_t *argmax;     /* maxpool: the winner's index in its input plane */
	float *wt;            /* conv 3x3 same: the filters' Winograd transform [16][out][in] */
};

/*
 * One step of the inference plan of a network loaded for inference (lib/cnn_infer.c): a
 * layer, or a convolution with the batch normalisation after it folded into its weights and
 * bias and the relu after that done in its output pass. Dropout has no step.
 */
struct cnn_step {
	struct cnn_layer l; /* a copy; a conv's w and b point into net->folded */
	const float *x;     /* input and output: buffers of net->acts */
	float *y;
	int relu; /* conv: y = max(W x + b, 0) */
};

/* A named parameter or statistics tensor, in model file order. */
struct cnn_tensor {
	char name[40]; /* "3.conv.weight" */
	uint32_t rank, shape[4];
	size_t n;
	int is_stat; /* bn running mean or variance: saved, not trained */
	int decay;   /* conv and dense weights get weight decay */
	float *data; /* into params or stats */
	float *grad; /* into grads; NULL for statistics or an inference network */
};

/* What one thread of a pass works on (lib/cnn.c hands these out). */
struct cnn_ctx {
	size_t b0, n;               /* this thread's samples [b0, b0 + n) of the batch... */
	size_t n_batch;             /* ...of n_batch */
	size_t tid, n_threads;      /* n_threads is 1 when the batch runs on one thread */
	pthread_barrier_t *barrier; /* all n_threads meet here where bn needs every sample */
	float *ws;                  /* this thread's im2col workspace */
	float *grads;               /* this thread's conv and dense gradients... */
	const float *grads0;        /* ...laid out as net->grads, where the layers' gw, gb point */
	uint64_t drop_seed;         /* dropout masks of this forward */
};

/* A helper thread of a network, or (index 0) the caller's share of a pass. */
struct cnn_thread {
	struct fm_cnn *net;
	size_t tid;
	pthread_t id;
	int started;  /* id is a thread to join */
	float *ws;    /* index 0: net->ws */
	float *grads; /* index 0: net->grads */
};

struct fm_cnn {
	uint32_t in_c, in_h, in_w;
	size_t in_size, n_out, max_batch; /* n_out: values of the output per sample */
	int trainable;
	/* Fully convolutional (the last layer a conv or dwconv): its output is a map, and its
	 * classes name the map's channels; otherwise they name the n_out logits. */
	int fully_conv;
	size_t n_classes;

	size_t n_layers;
	struct cnn_layer *layers;
	size_t n_tensors;
	struct cnn_tensor *tensors;
	size_t n_params, n_stats;
	float *params, *grads, *opt_m, *opt_v, *stats;

	float **acts;   /* n_layers + 1 buffers; relu and dropout share their input's */
	float *gbuf[2]; /* gradient ping-pong, each the largest layer input or output */
	float *dx_in;   /* the input's gradient, when input_grad (tests) */
	int input_grad;
	float *ws; /* conv im2col workspace */
	size_t ws_floats;

	/* Threads: n_threads - 1 helpers wait for a job (jobs counts them), run their slice of
	 * the batch, and meet the caller at the barrier. */
	size_t n_threads;
	struct cnn_thread *thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_barrier_t barrier;
	uint64_t jobs;
	int quit;
	int job_backward, job_training;
	size_t job_n;
	uint64_t drop_seed;
	float *probs;

	size_t batch;  /* of the last forward */
	int fwd_train; /* a training forward awaits its backward */
	int have_grad; /* a backward awaits its step */
	int opt_kind;  /* -1 before the first step */
	uint64_t opt_t;
	struct fm_rng rng; /* dropout masks */

	/* Inference plan (lib/cnn_infer.c): NULL for a trainable network, whose weights change. */
	size_t n_steps;
	struct cnn_step *steps;
	float *folded; /* the folded conv weights and biases, laid out once for sgemm */

	/* An ensemble: n_members networks of its input and classes, which own their buffers;
	 * the ensemble has no layers, and its probabilities are the mean of theirs. */
	size_t n_members;
	struct fm_cnn **members;
	uint64_t bytes; /* what the buffers take at max_batch, for the limit of an ensemble */

	char *desc;
	char **classes;
	float norm_mean, norm_std, crop_margin;
	char *info;
};

/* Parse and shape-check a description; *layers is calloc'd, FM_CNN_MAX_LAYERS at most. */
int cnn_parse(const char *desc, uint32_t in_c, uint32_t in_h, uint32_t in_w,
              struct cnn_layer **layers, size_t *n_layers, struct fm_err *err);
/* The tensors the layers hold, names and shapes only; *tensors calloc'd. */
int cnn_tensors(const struct cnn_layer *layers, size_t n_layers, struct cnn_tensor **tensors,
                size_t *n_tensors, struct fm_err *err);
/* Allocate a network around parsed layers (taken over, freed on failure too); the
 * parameters are zero, BN scales and running variances 1. */
int cnn_build(struct cnn_layer *layers, size_t n_layers, uint32_t in_c, uint32_t in_h,
              uint32_t in_w, size_t max_batch, int trainable, struct fm_cnn **out,
              struct fm_err *err);

/* Whether a stack ending in layer `last` is fully convolutional. */
int cnn_fully_conv(const struct cnn_layer *last);
/* The layers without the softmax: the logits end up in net->acts[n_layers]. */
void cnn_net_forward(struct fm_cnn *net, const float *in, size_t n, int training);
/* Backward from the output's gradient in net->gbuf[0]; fills grads (and dx_in). */
void cnn_net_backward(struct fm_cnn *net, size_t n);

/*
 * Layers (lib/cnn_layers.c). x, y (and dy, dx) hold the whole batch, NCHW; a call works on
 * the samples of its context, and every thread of a pass calls every layer in turn.
 */
size_t cnn_layer_in_size(const struct cnn_layer *l);
size_t cnn_layer_out_size(const struct cnn_layer *l);
int cnn_layer_in_place(const struct cnn_layer *l);
/* Floats of workspace a layer needs for batches up to max_batch; sets group and rows. */
size_t cnn_layer_plan(struct cnn_layer *l, size_t max_batch);
void cnn_layer_forward(struct cnn_layer *l, const float *x, float *y, int training,
                       const struct cnn_ctx *c);
/* Parameter gradients are overwritten; dx may be NULL (not wanted) or equal dy. */
void cnn_layer_backward(struct cnn_layer *l, const float *x, const float *y, const float *dy,
                        float *dx, const struct cnn_ctx *c);

/* im2col of output rows [oy0, oy1) of one image of a conv layer (lib/cnn_layers.c): row
 * (ci, ky, kx) of col, ld floats apart, holds the taps of every output position. */
void cnn_layer_im2col(const struct cnn_layer *l, const float *x, size_t oy0, size_t oy1, float *col,
                      size_t ld);

/*
 * The depthwise convolution (lib/cnn_dw.c). cnn_dw_plan sets the layer's band of output
 * rows (rows) and returns the floats of workspace a thread needs. cnn_dw_forward and
 * cnn_dw_backward do what cnn_layer_forward and cnn_layer_backward do for it over n samples
 * at x (a thread's share); the forward with relu also applies max(., 0) (the inference
 * plan's fused relu), and has_bias 0 means no bias; the backward overwrites gw and gb.
 */
size_t cnn_dw_plan(struct cnn_layer *l);
void cnn_dw_forward(const struct cnn_layer *l, const float *x, float *y, size_t n, int relu,
                    float *ws);
void cnn_dw_backward(const struct cnn_layer *l, const float *x, const float *dy, float *dx,
                     size_t n, float *ws, float *gw, float *gb);

/*
 * Winograd F(2x2, 3x3) for the 3x3 convolutions of stride 1 and padding 1 of a trainable
 * network (lib/cnn_wino.c). cnn_wino_shape: the layer has that shape. cnn_wino_plan sets
 * wino (the layer has enough input channels to gain) and wtiles for batches up to max_batch
 * and returns the floats of workspace a thread needs (0 for another shape);
 * cnn_wino_filter_floats, those of wt. cnn_wino_filters transforms the filters of output
 * channels [co0, co1) into wt; cnn_wino_forward and cnn_wino_backward then do what
 * cnn_layer_forward and cnn_layer_backward do for a conv, over n samples at x (a thread's
 * share), with the forward's wt still in place for the backward.
 */
int cnn_wino_shape(const struct cnn_layer *l);
size_t cnn_wino_plan(struct cnn_layer *l, size_t max_batch);
size_t cnn_wino_filter_floats(const struct cnn_layer *l);
void cnn_wino_filters(struct cnn_layer *l, size_t co0, size_t co1);
void cnn_wino_forward(const struct cnn_layer *l, const float *x, float *y, size_t n, float *ws);
void cnn_wino_backward(const struct cnn_layer *l, const float *x, const float *dy, float *dx,
                       size_t n, float *ws, float *gw, float *gb);

/*
 * The inference plan (lib/cnn_infer.c): cnn_infer_plan builds it from the network's current
 * weights, once they are final (a network loaded or cloned for inference); again after they
 * change. FM_ENOMEM. cnn_infer_pass runs it over the context's samples, in place of the
 * layer stack, with the results of an inference forward to float rounding.
 */
int cnn_infer_plan(struct fm_cnn *net, struct fm_err *err);
void cnn_infer_free(struct fm_cnn *net);
void cnn_infer_pass(struct fm_cnn *net, const struct cnn_ctx *c);

/*
 * Ensembles (lib/cnn_ensemble.c). cnn_ensemble_wrap takes over n members built for one
 * max_batch and for inference (and frees them on failure too), checks that they agree, and
 * makes the ensemble, with member 1's classes, normalisation and crop margin and an empty
 * info. The others serve fm_cnn_clone_input (each member for the new input), fm_cnn_free,
 * fm_cnn_forward (into net->probs) and fm_cnn_set_threads of an ensemble.
 */
int cnn_ensemble_wrap(struct fm_cnn **members, size_t n, struct fm_cnn **out, struct fm_err *err);
int cnn_ensemble_clone(const struct fm_cnn *src, uint32_t in_h, uint32_t in_w, size_t max_batch,
                       struct fm_cnn **out, struct fm_err *err);
void cnn_ensemble_free(struct fm_cnn *net);
int cnn_ensemble_forward(struct fm_cnn *net, const float *in, size_t batch, struct fm_err *err);
int cnn_ensemble_set_threads(struct fm_cnn *net, size_t n_threads, struct fm_err *err);

/* Softmax of n rows of k logits into p (lib/cnn_optim.c). */
void cnn_softmax(const float *z, size_t n, size_t k, float *p);
/* Mean smoothed cross-entropy of n rows of k logits; dz (may be NULL) gets its gradient. */
double cnn_xent(const float *z, const int *labels, size_t n, size_t k, float smoothing, float *dz);
/*
 * Knowledge distillation: (1 - weight) cnn_xent + weight T^2 KL(p softened at T ||
 * softmax(z / T)) over n rows, p the teacher's n x k probabilities; dz as for cnn_xent.
 */
double cnn_distill(const float *z, const int *labels, const float *p, size_t n, size_t k,
                   float smoothing, float weight, float temperature, float *dz);

/* CRC-32 of IEEE 802.3 (zlib's crc32), continued from crc (0 to start). */
uint32_t cnn_crc32(uint32_t crc, const unsigned char *p, size_t n);

/*
 * Four floats at a time through GCC's vector extension (SSE2 on x86-64, NEON on arm64), so
 * that the elementwise passes run at memory speed under the default -O2, which vectorises
 * almost nothing, and relu has no branch for random signs to mispredict.
 */
typedef float cnn_vf __attribute__((vector_size(16)));
typedef int32_t cnn_vi __attribute__((vector_size(16)));
#define CNN_VN 4

static inline cnn_vf
cnn_vload(const float *p)
{
	cnn_vf v;

	memcpy(&v, p, sizeof v);
	return v;
}

static inline void
cnn_vstore(float *p, cnn_vf v)
{
	memcpy(p, &v, sizeof v);
}

#endif
