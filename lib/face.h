/*
 * lib/face.h: one path from an image or a crop to the network's input, for training,
 * evaluation and inference alike: cut a face box out of an image (with a margin), cut an
 * embedded crop again for another side or margin, mirror, normalise (and, for training,
 * augment) into the network's input; the crop record fer-detect embeds and fer-classify
 * reads; the face box a record claims; and classifying a batch of faces, with or without
 * test-time augmentation (the mean of a face's and its mirror image's probabilities).
 *
 * Augmentation is one affine warp per sample (horizontal flip, rotation, scale, shift about
 * the centre, sampled bilinearly with the border repeated) followed by brightness and
 * contrast, all drawn from the caller's struct fm_rng, so a run is reproducible from its seed.
 */
#ifndef FM_FACE_H
#define FM_FACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base.h"
#include "cnn.h"
#include "image.h"

/*
 * The face as the shipped models see it: FER2013's 48 x 48 pixels, and the detected box
 * grown by 0.1 of its side on each side. fer-detect's alt2 box covers 0.83 of a FER2013
 * crop's side, centred (scripts/refdata/crop-margin.sh on the validation faces): growing it by 0.1
 * per side frames faces as the training set does. fer-train builds models of this side and
 * margin, and fer-detect embeds crops of it unless told otherwise.
 */
#define FM_FACE_DEFAULT_SIDE 48
#define FM_FACE_DEFAULT_MARGIN 0.1

/* What an embedded crop may claim: a side of 1 to this, a margin of 0 to FM_FACE_MAX_MARGIN. */
#define FM_FACE_MAX_CROP_SIDE 4096
#define FM_FACE_MAX_MARGIN 2

struct fm_augment {
	int flip;        /* mirror left-right with probability 1/2 */
	float max_shift; /* uniform shift in [-max_shift, max_shift] pixels, each axis */
	float max_rotate_deg;
	float max_scale;  /* zoom uniform in [1 - max_scale, 1 + max_scale] */
	float brightness; /* add uniform [-b, b] (pixel values in 0..1) */
	float contrast;   /* scale about the mean by uniform [1 - c, 1 + c] */
	/*
	 * Random erasing (Zhong et al. 2020): with this probability, a rectangle of 2% to 20%
	 * of the face, of aspect ratio 1/3 to 3 (log-uniform), is set to the training set's
	 * mean (0 after normalisation), so that the network learns from the whole face rather
	 * than from one telling part that an occlusion or a hand would hide. The area is below
	 * the paper's 40%: on a 48-pixel face that much hides both eyes or the whole mouth.
	 */
	float erase;
};

/*
 * An 8-bit side x side face as the network's input: out_side x out_side floats normalised
 * as (p - mean) / std, mean and std in pixel units (0 to 255) as fm_cnn_normalization gives
 * them. With a NULL augmentation (or a NULL rng) the face is only resized to out_side, and
 * when the sides agree each value is exactly fm_cnn_normalize's: that is what evaluation and
 * classification see. With both, the face is warped at random for training.
 */
void fm_face_to_input(const uint8_t *face, uint32_t side, const struct fm_augment *a,
                      struct fm_rng *rng, uint32_t out_side, float mean, float std, float *out);

/*
 * A face as a network sees it: the box (x, y, w, h in img's pixels, w and h >= 1) grown by
 * margin times its width and height on each side, cut out of img with the edge pixels
 * repeated where the grown box leaves the image, and resized to side x side (bilinear)
 * into out (side * side bytes). FM_EINVAL for an empty box; FM_ELIMIT when the grown box
 * covers more than FM_FACE_MAX_CROP_AREA(img) pixels, since the cut is held in memory;
 * FM_ENOMEM.
 */
#define FM_FACE_MAX_CROP_AREA(img)                                                                 \
	(4 * (uint64_t)(img)->width * (img)->height > ((uint64_t)1 << 22)                          \
	     ? 4 * (uint64_t)(img)->width * (img)->height                                          \
	     : ((uint64_t)1 << 22))
int fm_face_crop(const struct fm_gray *img, const int32_t box[4], float margin, uint32_t side,
                 uint8_t *out, struct fm_err *err);

/*
 * A face crop made with one margin and side, as another: crop (crop_side x crop_side bytes)
 * covers a face box grown by crop_margin per side, as fm_face_crop cuts it; out (side x
 * side) gets the same box grown by margin instead, resized again, with the crop's edge
 * repeated where the new margin reaches beyond it. A plain copy when the two agree, so that
 * a crop made for the model is used as it is. FM_EINVAL for a crop_side of 0 or a margin
 * below -0.4, FM_ENOMEM.
 */
int fm_face_recrop(const uint8_t *crop, uint32_t crop_side, float crop_margin, float margin,
                   uint32_t side, uint8_t *out, struct fm_err *err);

/*
 * A face-crop image as the network's input pixels: the whole of img is the face, already
 * framed as the model's training faces are (a FER2013 crop, a crop fer-detect --crops
 * embeds), so no margin is added and nothing is cut: img is copied when it is side x side,
 * else resized to side x side (fm_gray_resize; a crop that is not square is stretched).
 * This is the one way from a face-crop file to fm_face_classify's pixels: the face sets of
 * training and evaluation (lib/dataset) and fer-classify's face-crop operands both take
 * it, so that a face gets the same probabilities from either.
 */
void fm_face_whole(const struct fm_gray *img, uint32_t side, uint8_t *out);

/*
 * Whether an image of width x height pixels is taken for a face crop rather than a photo
 * where faces must be found (fer-classify --operand auto): both sides at most
 * FM_FACE_CROP_MAX_SIDE and the longer side at most 5/4 of the shorter. FER2013's 48 x 48
 * faces, fer-detect's crops and the square crops of the usual face sets are face crops;
 * a 4:3 or 3:2 photo is a photo however small, and so is anything over 256 pixels a side.
 */
#define FM_FACE_CROP_MAX_SIDE 256
bool fm_face_is_crop(uint32_t width, uint32_t height);

/* Mirror a side x side float image left to right, in place. */
void fm_face_mirror(float *img, uint32_t side);

/*
 * The face box a record's face claims: numbers "x", "y", "w", "h", finite and of magnitude
 * at most 1e7, with w and h at least 1, rounded to whole pixels into box. FM_EINVAL naming
 * the first member that is not so.
 */
int fm_face_get_box(const cJSON *face, int32_t box[4], struct fm_err *err);

/*
 * The crop record, a face's "crop": {"side": n, "margin": m, "gray": base64 of the n * n
 * bytes}, the face box grown by m per side as fm_face_crop cuts it. It lets a face be read
 * without its image (fer-detect --crops, --stream).
 */
struct fm_crop {
	uint32_t side; /* 1 to FM_FACE_MAX_CROP_SIDE */
	double margin; /* 0 to FM_FACE_MAX_MARGIN */
	uint8_t *gray; /* side * side bytes, row-major */
};

/* Set face's "crop" to c (its gray is only read). FM_ENOMEM, FM_EINVAL. */
int fm_face_crop_encode(cJSON *face, const struct fm_crop *c, struct fm_err *err);

/*
 * Read face's "crop" into *c, whose gray is then malloc'd (fm_face_crop_free frees it).
 * 1, with *c zeroed, when the face has no "crop"; 0; -1 with FM_EFORMAT when the crop is
 * not as above (a side out of range or not whole, a margin out of range, a "gray" that is
 * not base64 of side * side bytes), FM_ELIMIT or FM_ENOMEM.
 */
int fm_face_crop_decode(const cJSON *face, struct fm_crop *c, struct fm_err *err);
void fm_face_crop_free(struct fm_crop *c);

/* Whether every face of the array carries a "crop", so that its image need not be read. */
bool fm_face_all_cropped(const cJSON *faces);

/*
 * A record's face as the network's input pixels, side x side with the box grown by margin:
 * its crop cut again (fm_face_recrop) when it has one, else its box (fm_face_get_box) cut
 * out of img (fm_face_crop). img may be NULL when the face has a crop. The errors of those.
 */
int fm_face_pixels(const cJSON *face, const struct fm_gray *img, uint32_t side, float margin,
                   uint8_t *out, struct fm_err *err);

/*
 * A face's answer from its probabilities p (the network's classes, in its order): "scores",
 * each class's probability rounded to four decimals (fm_ndjson_round), and "emotion", the
 * most probable class (the first of equals), or FM_MOOD_UNCERTAIN ("uncertain", lib/mood)
 * when that class's probability is below min_confidence (0: never). fer-classify and
 * fer-train --predictions both write faces through it, so that their lines compare byte
 * for byte. FM_ENOMEM.
 */
int fm_face_label(cJSON *face, const struct fm_cnn *net, const float *p, double min_confidence,
                  struct fm_err *err);

/*
 * --max-faces: which faces to keep of n when there may be at most max: the max most certain
 * by detector score (score[i]; NaN for a face without one, which is less certain than any
 * score), ties going to the earlier face. keep[i] says whether face i stays; the faces kept
 * keep their order. *n_kept is min(n, max). FM_ENOMEM.
 */
int fm_face_most_certain(const double *score, size_t n, size_t max, bool *keep, size_t *n_kept,
                         struct fm_err *err);

/*
 * The same on a record: when rec's "faces" array holds more than max faces, delete all but
 * the max most certain by their "score" (fm_face_most_certain; a face whose "score" is not
 * a number has none) and add the number deleted to rec's "faces_dropped" (set when absent
 * or not a count). A record without a "faces" array is left alone. FM_ENOMEM.
 */
int fm_face_limit(cJSON *rec, size_t max, struct fm_err *err);

/*
 * Classifying faces with a network (lib/cnn) whose input is 1 x S x S: an object holding
 * the input and score buffers for the network's largest batch, so that a batch allocates
 * nothing. It borrows net, which must outlive it, and uses it (its activations) when
 * classifying: one per thread.
 */
struct fm_face_classifier;

/* FM_EINVAL for a network whose input is not one square gray channel, or that is fully
 * convolutional (fm_cnn_is_fully_conv); FM_ENOMEM. */
int fm_face_classifier_new(struct fm_cnn *net, struct fm_face_classifier **out, struct fm_err *err);
void fm_face_classifier_free(struct fm_face_classifier *fc);

/*
 * The views of a face that fm_face_classify averages: the face alone; the face and its
 * mirror image (a network that learnt from mirrored faces reads both, and the pair read
 * 0.2 to 1.3 points more of FER2013's validation faces than the face alone, for twice the
 * arithmetic); or ten, the test-time augmentation of --tta (see fm_face_classify).
 */
enum fm_face_views { FM_FACE_VIEWS_ONE = 1, FM_FACE_VIEWS_MIRROR = 2, FM_FACE_VIEWS_TTA = 10 };

/* Whether n is one of enum fm_face_views's counts (a double: a model note's number is
 * checked as it is, where a cast of 1e300 to an integer would be undefined). */
bool fm_face_views_valid(double n);

/*
 * View number view (0 to 9) of an 8-bit side x side face, as the network's input (as
 * fm_face_to_input makes it, out_side x out_side, normalised with mean and std): 0 the face,
 * 1 and 2 the face turned by 10 degrees one way and the other about its centre, 3 and 4 the
 * face zoomed out and in by 10% (the edge pixels repeated where the face leaves the frame);
 * 5 to 9 the same five of the mirror image. View 0 is exactly fm_face_to_input's face, and
 * view 5 exactly its mirror image (fm_face_mirror). Another number is view 0.
 */
void fm_face_view_input(const uint8_t *face, uint32_t side, unsigned view, uint32_t out_side,
                        float mean, float std, float *out);

/*
 * The views a model is read with: given when nonzero (the user's --views or --tta), else
 * its info's "views" (1, 2 or 10; fer-train --ensemble --views writes it), else 1, so that a model
 * is read as it was measured while it chose its best epoch. The default expression model asks for
 * the mirror pair, the small one of --fast for the face alone: its point is speed. fer-classify and
 * fer-train --eval both take their default from here, so that the evaluation measures what the tool
 * gives. FM_EFORMAT when "views" is there but is not 1, 2 or 10.
 */
int fm_face_model_views(const struct fm_cnn *net, int given, enum fm_face_views *views,
                        struct fm_err *err);

/*
 * Classify n faces, each side x side bytes one after another (the network's input side, or
 * another that fm_face_to_input resizes), in batches of the network's max batch, in
 * inference mode: probs gets n times the network's class count probabilities, face after
 * face. Each face's probabilities are the mean over views (enum fm_face_views) of it, each
 * view as fm_face_view_input makes it: the face alone is view 0, the mirror pair views 0 and
 * 5, the ten all of them. FM_EINVAL for another count; the errors of fm_cnn_forward.
 */
int fm_face_classify(struct fm_face_classifier *fc, const uint8_t *faces, uint32_t side, size_t n,
                     enum fm_face_views views, float *probs, struct fm_err *err);

#endif
