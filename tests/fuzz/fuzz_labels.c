/*
 * tests/fuzz/fuzz_labels.c: arbitrary bytes as the detector's labelled photos (lib/facedet,
 * fer-train --detector's --data); every face of a set that parses is encoded into targets,
 * so that what the parser lets through is safe to train on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "facedet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float target[FM_FACEDET_TARGET_CHANNELS * 20 * 20];
	const struct fm_facedet_geom g = FM_FACEDET_GEOM_DEFAULT;
	struct fm_facedet_set s;
	struct fm_err err;

	if (fm_facedet_set_decode((const char *)data, size, &s, &err) == -1)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		(void)fm_facedet_is_validation(s.photos[i].path);
		fm_facedet_encode(&g, s.photos[i].faces, s.photos[i].n_faces, 20, 20, target);
	}
	fm_facedet_set_free(&s);
	return 0;
}
