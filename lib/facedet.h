/*
 * lib/facedet.h: a single-stage CNN face detector on gray images, anchor-free, one output
 * map per pyramid level: the targets a training crop's faces give that map, the loss and
 * its gradient with respect to the network's raw output, the augmentation of training
 * crops, and detection (an image pyramid through the network, decoding, non-maximum
 * suppression).
 *
 * The network (lib/cnn) is fully convolutional: for an input of H x W gray pixels it writes
 * FM_FACEDET_OUT_CHANNELS maps of H/stride x W/stride cells. Cell (i, j) stands for the point
 * ((j + 0.5) stride, (i + 0.5) stride) of its input. Its channels are:
 *
 *	0	the logit of "a face is centred here and its side is in [min_side, max_side]",
 *		less FM_FACEDET_LOGIT_PRIOR
 *	1-4	the distances from the point to the box's left, top, right and bottom edges,
 *		divided by the level's nominal side sqrt(min_side max_side)
 *	5-12	the four landmarks (the eye on the image's left, the other eye, the nose, the
 *		mouth: the labels' order), x and y each, from the point, over the same side
 *
 * One map answers for faces of one octave of sides (20 to 40 pixels by default), so the
 * detector runs it on an image pyramid whose levels are that octave apart: the design of
 * MTCNN's and the cascade's pyramid with the heads of FCOS and YuNet (Tian et al. 2019;
 * Wu et al. 2023), sized for two CPU cores. Faces just outside the octave are neither
 * positives nor negatives in training (the next level finds them).
 *
 * Boxes are in the convention of fer-detect's cascade boxes: x, y the top-left corner, w, h
 * the size, in image pixels.
 */
#ifndef FM_FACEDET_H
#define FM_FACEDET_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "cnn.h"
#include "image.h"

#define FM_FACEDET_N_LANDMARKS 4
/*
 * Added to channel 0 to make the logit: the log-odds of a prior probability of 0.01, so
 * that a new network, whose outputs start near 0, starts by calling nearly every cell
 * background, as RetinaNet's initial bias does (Lin et al. 2017): otherwise the flood of
 * background cells' loss in the first steps swamps the few faces'.
 */
#define FM_FACEDET_LOGIT_PRIOR (-4.59512f)
#define FM_FACEDET_OUT_CHANNELS (1 + 4 + 2 * FM_FACEDET_N_LANDMARKS)
/* Target channels: the label (1 face, 0 background, -1 ignored), the 4 box distances, the
 * 8 landmark offsets, and the landmarks' weight (1 when the face has them, else 0). */
#define FM_FACEDET_TARGET_CHANNELS (FM_FACEDET_OUT_CHANNELS + 1)
#define FM_FACEDET_MAX_FACES 4096 /* faces of one photo, and boxes of one image's detection */
#define FM_FACEDET_MAX_CANDIDATES (1 << 22) /* boxes of an image before suppression */

/* The geometry of a level: the network's stride and the octave of face sides it finds. */
struct fm_facedet_geom {
	uint32_t stride;          /* input pixels per output cell, 1 to 64 */
	float min_side, max_side; /* face sides in the network's input pixels, 0 < min < max */
	/* The score threshold with the best F1 on the training run's validation photos, the
	 * detector's default (0 < min_score < 1); 0 for a model without one. */
	float min_score;
};
#define FM_FACEDET_GEOM_DEFAULT                                                                    \
	{                                                                                          \
		8, 20.0f, 40.0f, 0.0f                                                              \
	}

/* A labelled face (training) in the pixels of its image. */
struct fm_facedet_face {
	float x, y, w, h;
	float landmarks[FM_FACEDET_N_LANDMARKS][2]; /* x, y; valid when has_landmarks */
	int has_landmarks;
	int ignore; /* a face cut by the crop's edge, or unsure: its cells are ignored */
};

/* A detection in the pixels of the image searched. */
struct fm_facedet_box {
	float x, y, w, h;
	float score; /* the sigmoid of the logit, 0 to 1 */
	float landmarks[FM_FACEDET_N_LANDMARKS][2];
};

/* 0, or -1 with FM_EINVAL naming the field out of range. */
int fm_facedet_geom_check(const struct fm_facedet_geom *g, struct fm_err *err);

/*
 * The targets of one crop's faces for an output map of out_h x out_w cells, into target
 * (FM_FACEDET_TARGET_CHANNELS x out_h x out_w floats, channel after channel). A face whose
 * side (the geometric mean of w and h) is within [min_side, max_side] is positive at the
 * cells whose point lies within max(0.25 side, 0.75 stride) of its centre on both axes, and
 * at the cell nearest its centre; a cell two faces claim goes to the smaller. The other
 * cells inside such a face's box, every cell inside the box of a face within
 * FM_FACEDET_IGNORE_BAND of the octave or marked ignore, are ignored; the rest are
 * background. Box and landmark channels are set at positive cells only.
 */
#define FM_FACEDET_IGNORE_BAND 1.42f /* sqrt 2 each way, so each face is seen whole once */
void fm_facedet_encode(const struct fm_facedet_geom *g, const struct fm_facedet_face *faces,
                       size_t n_faces, uint32_t out_h, uint32_t out_w, float *target);

/*
 * The boxes of one output map (FM_FACEDET_OUT_CHANNELS x out_h x out_w raw values) whose
 * score reaches min_score, with every coordinate divided by scale (the level's size over
 * the image's) so that they are in the image's pixels; appended to *boxes (grown with
 * realloc; *n boxes in it, *cap its room). FM_ELIMIT past FM_FACEDET_MAX_CANDIDATES
 * boxes (which a sane min_score never meets), FM_ENOMEM.
 */
int fm_facedet_decode(const struct fm_facedet_geom *g, const float *out, uint32_t out_h,
                      uint32_t out_w, float min_score, double scale, struct fm_facedet_box **boxes,
                      size_t *n, size_t *cap, struct fm_err *err);

/* Intersection over union of two boxes; 0 when either is empty. */
double fm_facedet_iou(const struct fm_facedet_box *a, const struct fm_facedet_box *b);

/*
 * Greedy non-maximum suppression: boxes sorted by score (ties by position, so the order
 * does not depend on the input's), then each dropped whose IoU with a kept one exceeds
 * max_iou. The kept boxes are moved to the front, best first; returns their count.
 */
size_t fm_facedet_nms(struct fm_facedet_box *boxes, size_t n, double max_iou);

/* The loss: focal loss on the logit (Lin et al. 2017), smooth L1 on box and landmarks. */
struct fm_facedet_loss_opts {
	float alpha, gamma;    /* focal loss: weight of positives, focusing; gamma >= 0 */
	float box_weight;      /* of the box's smooth L1 against the logit's loss */
	float landmark_weight; /* of the landmarks' */
	float beta;            /* smooth L1's switch from quadratic to linear, > 0 */
};
#define FM_FACEDET_LOSS_DEFAULT                                                                    \
	{                                                                                          \
		0.25f, 2.0f, 2.0f, 0.5f, 0.11f                                                     \
	}

struct fm_facedet_loss {
	double total, cls, box, landmarks; /* each summed and divided by max(1, n_pos) */
	size_t n_pos;                      /* positive cells in the batch */
};

/*
 * The loss of a batch of raw outputs against their targets (as fm_facedet_encode writes
 * them, batch after batch), and when dout is not NULL its gradient with respect to every
 * output value (same layout as out; 0 where nothing is learnt), for fm_cnn_backward.
 * Ignored cells count for nothing. FM_EINVAL for options out of range; FM_EFORMAT for a
 * non-finite output (a diverged network).
 */
int fm_facedet_loss(const struct fm_facedet_loss_opts *o, const float *out, const float *target,
                    size_t batch, uint32_t out_h, uint32_t out_w, struct fm_facedet_loss *loss,
                    float *dout, struct fm_err *err);

/* Augmentation of training crops. */
struct fm_facedet_aug {
	float min_side, max_side; /* a chosen face's side in the crop, drawn log-uniform */
	float max_rotation_deg;   /* uniform in +-this */
	float flip;               /* probability of a mirror image */
	float background;         /* probability of a crop placed anywhere, not on a face */
	float brightness;         /* added, uniform in +-this, in pixel levels */
	float contrast;           /* factor, exp(uniform in +-this) */
	float gamma;              /* exponent, exp(uniform in +-this) */
	float blur;               /* probability of a Gaussian blur, sigma 0.5 to 1.5 px */
	float noise;              /* standard deviation of added Gaussian noise, pixel levels */
	/* With this probability the chosen face's side is drawn from [octave_min_side,
	 * octave_max_side] instead (the sides the network is to find), so that most crops
	 * hold a positive: drawn only from the wide range, 6 in 10 held none. */
	float octave_share;
	float octave_min_side, octave_max_side;
};
#define FM_FACEDET_AUG_DEFAULT                                                                     \
	{                                                                                          \
		10.0f, 100.0f, 15.0f, 0.5f, 0.1f, 32.0f, 0.4f, 0.4f, 0.2f, 3.0f, 0.7f, 20.0f,      \
		    40.0f                                                                          \
	}

/*
 * Render a tile of a training crop: the tile_w x tile_h pixels at (tile_x, tile_y) of dst
 * (rows of dst_w pixels) show photo through a random similarity (scale, rotation about the
 * centre, a mirror image) chosen so that one face, drawn from faces, has a side drawn from
 * [a->min_side, a->max_side] and lies in the tile whole when it fits (or, with probability
 * a->background, a random window of the photo). Outside the photo the edge pixels repeat.
 * The faces that overlap the tile go to out (at most max_out, in dst's pixels, landmarks
 * mirrored with the image: the eyes swap, so that the first stays on the left), *n_out of
 * them; those more than a quarter outside the tile, or ignored in faces, are marked ignore
 * (so that the part of a face the tile shows is not taught as background).
 * Shrinking averages several samples a pixel, so that a face made small is not aliased. Geometry
 * only: see fm_facedet_photometric.
 */
void fm_facedet_render(const struct fm_gray *photo, const struct fm_facedet_face *faces,
                       size_t n_faces, const struct fm_facedet_aug *a, struct fm_rng *rng,
                       uint8_t *dst, uint32_t dst_w, uint32_t tile_x, uint32_t tile_y,
                       uint32_t tile_w, uint32_t tile_h, struct fm_facedet_face *out,
                       size_t max_out, size_t *n_out);

/* Brightness, contrast, gamma, blur and noise, as a asks, on w x h pixels in place. */
void fm_facedet_photometric(const struct fm_facedet_aug *a, struct fm_rng *rng, uint8_t *pixels,
                            uint32_t w, uint32_t h);

/*
 * The detector: a network (fully convolutional, FM_FACEDET_OUT_CHANNELS outputs) with its
 * geometry, run on an image pyramid through copies of it for each level's size, which it
 * keeps (FM_FACEDET_MAX_CLONES, the least recently used replaced), so that a stream of
 * frames of one size makes them once. Not thread-safe: one per thread, all from one
 * network, which must outlive them and is only read.
 */
struct fm_facedet;
#define FM_FACEDET_MAX_CLONES 16

/*
 * The geometry a detector model keeps in its info (a JSON object whose "detector" member
 * is {"stride", "min_side", "max_side"} and, when chosen, "min_score"), and the info text for a
 * geometry merged into a JSON object's text (NULL for none), malloc'd into *info. FM_EFORMAT for a
 * model without one or with one out of range (the message says which), FM_ENOMEM.
 */
int fm_facedet_model_geom(const struct fm_cnn *net, struct fm_facedet_geom *g, struct fm_err *err);
int fm_facedet_info(const struct fm_facedet_geom *g, const char *json, char **info,
                    struct fm_err *err);

/*
 * A detector over net (borrowed). FM_EFORMAT for a network that is not a detector: not
 * fully convolutional over 1 gray channel, not FM_FACEDET_OUT_CHANNELS outputs, its
 * geometry missing or not agreeing with its stride; FM_ENOMEM.
 */
int fm_facedet_new(const struct fm_cnn *net, struct fm_facedet **out, struct fm_err *err);
void fm_facedet_free(struct fm_facedet *d);
void fm_facedet_geometry(const struct fm_facedet *d, struct fm_facedet_geom *g);

struct fm_facedet_opts {
	double min_side;     /* smallest face side searched and kept, image pixels, > 0 */
	double max_side;     /* largest; 0 means up to the image's shorter side */
	double level_factor; /* between pyramid levels, 1.2 to 2 (2: one octave) */
	double min_score;    /* 0 to 1 */
	double max_iou;      /* NMS, 0 to 1 */
};
#define FM_FACEDET_OPTS_DEFAULT                                                                    \
	{                                                                                          \
		20.0, 0.0, 2.0, 0.5, 0.45                                                          \
	}

/*
 * Find the faces of img: the pyramid from the level where a face of o->min_side is the
 * geometry's min_side (which may enlarge the image) down by o->level_factor while a face of
 * o->max_side still fits min_side, each level padded to a multiple of 16 pixels by repeating
 * its edges; decoded and suppressed together, of the candidates the best
 * FM_FACEDET_MAX_FACES (a bound on the suppression's quadratic time, which an untrained
 * network, all candidates and no overlaps, would otherwise meet). *boxes is malloc'd (the caller
 * frees it, NULL when *n is 0), best first. FM_EINVAL for options out of range, FM_ELIMIT for a
 * level beyond FM_CNN_MAX_SIDE, FM_ENOMEM, and the network's errors.
 */
int fm_facedet_detect(struct fm_facedet *d, const struct fm_gray *img,
                      const struct fm_facedet_opts *o, struct fm_facedet_box **boxes, size_t *n,
                      struct fm_err *err);

/*
 * Labelled photos for training and evaluation: NDJSON, one photo a line,
 * {"path": P, "faces": [{"x", "y", "w", "h", "landmarks": [[x, y] x 4], "ignore": bool}]}
 * ("landmarks" and "ignore" optional; other members, "width" and "height" among them, are
 * not read). Paths are as given (relative ones to the working directory).
 */
struct fm_facedet_photo {
	char *path;
	struct fm_facedet_face *faces;
	size_t n_faces;
	struct fm_gray gray; /* after fm_facedet_set_load_photos; else empty */
};
struct fm_facedet_set {
	struct fm_facedet_photo *photos;
	size_t n;
};
#define FM_FACEDET_MAX_PHOTOS 1000000

/*
 * Parse n_bytes of labels. Blank lines are skipped. FM_EFORMAT naming the line and what is
 * wrong with it (not JSON, no path, a face without a finite x, y or positive w, h, landmarks
 * that are not 4 pairs), FM_ELIMIT past FM_FACEDET_MAX_PHOTOS photos or FM_FACEDET_MAX_FACES
 * faces a photo, FM_ENOMEM; *out is empty on failure. fm_facedet_set_load reads the file
 * first (FM_EIO). Not thread-safe (cJSON's parser).
 */
int fm_facedet_set_decode(const char *text, size_t n_bytes, struct fm_facedet_set *out,
                          struct fm_err *err);
int fm_facedet_set_load(const char *path, struct fm_facedet_set *out, struct fm_err *err);
/* Decode every photo to gray (the message names the photo); the errors of fm_image_load. */
int fm_facedet_set_load_photos(struct fm_facedet_set *s, uint64_t max_pixels, struct fm_err *err);
void fm_facedet_set_free(struct fm_facedet_set *s);
/* Whether a photo belongs to the validation part of a training set: 1 in 20, by an FNV-1a
 * hash of its path, so the split holds whatever the file's order. */
int fm_facedet_is_validation(const char *path);

/*
 * The network fer-train --detector builds unless told otherwise: stride 8, 1 x 1 and
 * depthwise 3 x 3 blocks as YuNet's and BlazeFace's, receptive field 91 pixels (the octave
 * of 20 to 40 with its surroundings); 47 thousand parameters.
 */
#define FM_FACEDET_DEFAULT_ARCH                                                                    \
	"conv 16 3 2 1, bn, relu, "                                                                \
	"dwconv 3 1 1, bn, relu, conv 32 1, bn, relu, "                                            \
	"dwconv 3 2 1, bn, relu, conv 32 1, bn, relu, "                                            \
	"dwconv 3 1 1, bn, relu, conv 48 1, bn, relu, "                                            \
	"dwconv 3 2 1, bn, relu, conv 64 1, bn, relu, "                                            \
	"dwconv 3 1 1, bn, relu, conv 96 1, bn, relu, "                                            \
	"dwconv 3 1 1, bn, relu, conv 96 1, bn, relu, "                                            \
	"dwconv 3 1 1, bn, relu, conv 96 1, bn, relu, "                                            \
	"dwconv 3 1 1, bn, relu, conv 96 1, bn, relu, "                                            \
	"conv 13 1"

struct fm_facedet_train_opts {
	size_t batch;       /* crops per step, 2 to the network's max batch */
	uint32_t crop_side; /* the network's input side */
	float mosaic;       /* probability of a crop of 2 x 2 tiles from 4 photos */
	struct fm_optim optim;
	struct fm_lr_schedule schedule;
	struct fm_facedet_geom geom;
	struct fm_facedet_aug aug;
	struct fm_facedet_loss_opts loss;
};

struct fm_facedet_progress {
	size_t epoch;         /* 0-based */
	size_t step, n_steps; /* 1-based after the step */
	double lr;
	struct fm_facedet_loss loss; /* means over the epoch so far */
};
typedef void fm_facedet_progress_fn(void *ctx, const struct fm_facedet_progress *p);

/*
 * One epoch (index epoch, 0-based) over the photos idx[0..n_idx) of s (loaded), in an
 * order, with crops and augmentation, drawn from seed and epoch alone: a resumed run draws
 * what the uninterrupted one would have. Each photo gives one crop (a mosaic's other tiles
 * come from other photos). *mean gets the epoch's mean losses. FM_EINVAL for options out of
 * range or a network whose input is not 1 x crop_side x crop_side or whose output is not
 * the detector's map; the network's errors.
 */
int fm_facedet_train_epoch(struct fm_cnn *net, const struct fm_facedet_set *s, const size_t *idx,
                           size_t n_idx, const struct fm_facedet_train_opts *o, size_t epoch,
                           uint64_t seed, fm_facedet_progress_fn *progress, void *ctx,
                           struct fm_facedet_loss *mean, struct fm_err *err);

/* Detection scores by the usual rule: IoU >= 0.5, each truth matched once, greedy by score. */
struct fm_facedet_score {
	size_t n_truth, n_found, n_matched; /* at the options' min_score */
	double precision, recall, f1;       /* 0 when undefined */
	double ap;                          /* average precision over every score >= 0.05 */
	/* The threshold of the best F1 over those scores (the lowest score of the best prefix
	 * of the detections, most certain first), and that F1; 0 when nothing matched. */
	double best_f1, best_f1_score;
};

/*
 * Detect on the photos idx[0..n_idx) of s (loaded) with o (its min_score for precision and
 * recall; AP from every box down to a score of 0.05) and score against their labels
 * (faces marked ignore neither count nor are counted against). The detector's errors,
 * FM_ENOMEM.
 */
int fm_facedet_evaluate(struct fm_facedet *d, const struct fm_facedet_set *s, const size_t *idx,
                        size_t n_idx, const struct fm_facedet_opts *o,
                        struct fm_facedet_score *score, struct fm_err *err);

#endif
