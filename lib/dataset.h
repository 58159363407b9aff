/*
 * lib/dataset.h: labelled face sets for training and evaluation: the folder-per-class image
 * tree (FER2013's Kaggle image layout, dir/<emotion>/<file>) and the original fer2013.csv
 * (emotion,pixels,Usage), held as 8-bit gray squares; and the random augmentation that
 * turns one into a training sample.
 *
 * Augmentation is one affine warp per sample (horizontal flip, rotation, scale, shift about
 * the centre, sampled bilinearly with the border repeated) followed by brightness and
 * contrast, all drawn from the caller's struct fm_rng, so a run is reproducible from its seed.
 */
#ifndef FM_DATASET_H
#define FM_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "image.h"
#include "mood.h"

struct fm_dataset {
	size_t n;        /* samples */
	uint32_t side;   /* every sample is side x side */
	uint8_t *pixels; /* n * side * side, row-major, owned */
	uint8_t *labels; /* n labels, enum fm_emotion values, owned */
	size_t per_class[FM_N_EMOTIONS];
};

/*
 * Read dir/<emotion>/<file> for the seven emotion names (folders with other names are an
 * FM_EFORMAT error naming them; a missing emotion folder is allowed: it has no samples).
 * Every file must decode (JPEG, PNG or PNM) to a side x side image, or it is resized to it;
 * a file that does not decode fails the load with its path and reason. Samples are kept in
 * a deterministic order (class, then file name).
 */
int fm_dataset_load_dir(const char *dir, uint32_t side, struct fm_dataset *out, struct fm_err *err);

/*
 * Read fer2013.csv: a header line, then `emotion,"p p p ... p",Usage` with 48*48 pixels.
 * usage selects rows by their Usage column ("Training", "PublicTest", "PrivateTest"), or all
 * rows when NULL. A malformed row fails the load with its line number.
 */
int fm_dataset_load_csv(const char *path, const char *usage, struct fm_dataset *out,
                        struct fm_err *err);

void fm_dataset_free(struct fm_dataset *d);

struct fm_augment {
	int flip;        /* mirror left-right with probability 1/2 */
	float max_shift; /* uniform shift in [-max_shift, max_shift] pixels, each axis */
	float max_rotate_deg;
	float max_scale;  /* zoom uniform in [1 - max_scale, 1 + max_scale] */
	float brightness; /* add uniform [-b, b] (pixel values in 0..1) */
	float contrast;   /* scale about the mean by uniform [1 - c, 1 + c] */
};

/*
 * Sample i as out_side x out_side floats, normalised as (p / 255 - mean) / std. With a NULL
 * augmentation (or a NULL rng) the square is only resized to out_side (identity when equal):
 * that is what evaluation and classification see.
 */
void fm_dataset_sample(const struct fm_dataset *d, size_t i, const struct fm_augment *a,
                       struct fm_rng *rng, uint32_t out_side, float mean, float std, float *out);

/* The same warp and normalisation for any 8-bit square (a face crop, say). */
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

/* Mirror a side x side float image left to right, in place. */
void fm_face_mirror(float *img, uint32_t side);

#endif
