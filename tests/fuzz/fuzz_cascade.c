/*
 * tests/fuzz/fuzz_cascade.c: arbitrary bytes as cascade XML (lib/cascade); a cascade that
 * loads is run on a small image, so that what the loader lets through is safe to use.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cascade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pixels[64 * 48];
	struct fm_gray img = {64, 48, pixels};
	struct fm_cascade *c;
	struct fm_detector *d;
	struct fm_detect_opts o = FM_DETECT_OPTS_DEFAULT;
	struct fm_box *boxes = NULL;
	struct fm_err err;
	size_t n;

	if (fm_cascade_decode((const char *)data, size, &c, &err) == -1)
		return 0;
	for (size_t i = 0; i < sizeof pixels; i++)
		pixels[i] = (uint8_t)(i * 7 + (i / 64) * 13);
	o.min_neighbors = 0;
	if (fm_detector_new(&d, &err) == 0) {
		if (fm_cascade_detect(c, d, &img, &o, &boxes, &n, &err) == 0)
			free(boxes);
		fm_detector_free(d);
	}
	fm_cascade_free(c);
	return 0;
}
