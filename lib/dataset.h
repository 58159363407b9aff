/*
 * lib/dataset.h: labelled face sets for training and evaluation: the folder-per-class image
 * tree (FER2013's Kaggle image layout, dir/<emotion>/<file>) and the original fer2013.csv
 * (emotion,pixels,Usage), held as 8-bit gray squares; and a sample of one as the network's
 * input, through lib/face.
 */
#ifndef FM_DATASET_H
#define FM_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "face.h"
#include "mood.h"

struct fm_dataset {
	size_t n;        /* samples */
	uint32_t side;   /* every sample is side x side */
	uint8_t *pixels; /* n * side * side, row-major, owned */
	uint8_t *labels; /* n labels, enum fm_emotion values, owned */
	char **paths;    /* n file paths (fm_dataset_load_dir: dir/emotion/file), owned; NULL
	                    for fm_dataset_load_csv */
	size_t per_class[FM_N_EMOTIONS];
};

/*
 * Read dir/<emotion>/<file> for the seven emotion names (folders with other names are an
 * FM_EFORMAT error naming them; a missing emotion folder is allowed: it has no samples).
 * Every file is a face crop: it must decode (JPEG, PNG or PNM), and becomes side x side
 * pixels by fm_face_whole, as fer-classify reads a face-crop file; a file that does not
 * decode fails the load with its path and reason. Samples are kept in a deterministic order
 * (class, then file name), each with its path.
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

/*
 * Sample i as out_side x out_side floats for the network, augmented or not: fm_face_to_input
 * on its pixels (mean and std in pixel units, as the network keeps them).
 */
void fm_dataset_sample(const struct fm_dataset *d, size_t i, const struct fm_augment *a,
                       struct fm_rng *rng, uint32_t out_side, float mean, float std, float *out);

#endif
