/*
 * tests/fuzz/fuzz_image.c: arbitrary bytes as images back to back (lib/image): every image
 * fm_image_decode_next finds is converted to gray, equalised and resized, as the tools do.
 */
#include <stddef.h>
#include <stdint.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;

	while (at < size) {
		struct fm_image img;
		struct fm_gray gray, small = {0};
		struct fm_err err;
		size_t used = 0;

		/* A small pixel limit keeps each run fast; limits are tested elsewhere. */
		if (fm_image_decode_next(data + at, size - at, 1 << 20, &img, &used, &err) == -1)
			break;
		if (fm_image_to_gray(&img, &gray, &err) == 0) {
			fm_gray_equalize(&gray);
			if (fm_gray_new(17, 13, &small, &err) == 0) {
				fm_gray_resize(&gray, &small);
				fm_gray_resize_exact(&gray, &small);
				fm_gray_free(&small);
			}
			fm_gray_free(&gray);
		}
		fm_image_free(&img);
		if (used == 0)
			break;
		at += used;
	}
	return 0;
}
