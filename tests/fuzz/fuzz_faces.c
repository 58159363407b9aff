/*
 * tests/fuzz/fuzz_faces.c: the face arithmetic that fer-classify does on what a record says
 * (lib/face.c): a box of any numbers, as a record's "x", "y", "w", "h" may hold them
 * within fer-classify's bounds, cut from an image; and an embedded crop of any side and
 * margin cut again for a model of another side and margin. The first 24 bytes give the
 * sizes, margins and box; the rest are pixels, repeated as needed. The rest is also read as
 * a record's face, whose crop record or box gives the pixels (fm_face_pixels), and as a
 * record whose faces --max-faces limits (fm_face_limit).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD 24

static int32_t
get_i32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	                 (uint32_t)p[3] << 24);
}

/* n bytes of pixels from the input's tail, repeated, or gray when there is none. */
static uint8_t *
pixels(const uint8_t *data, size_t size, size_t n)
{
	uint8_t *p = malloc(n);

	for (size_t i = 0; p != NULL && i < n; i++)
		p[i] = size > HEAD ? data[HEAD + i % (size - HEAD)] : 128;
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm_gray img;
	struct fm_err err;
	uint32_t crop_side, side;
	float crop_margin, margin;
	int32_t box[4];
	uint8_t *crop, *out;

	if (size < HEAD)
		return 0;
	crop_side = 1 + data[0] % 96;          /* fer-classify takes 1 to 4096 */
	side = 1 + data[1] % 96;               /* a model's input side */
	crop_margin = (float)data[2] / 127.5f; /* fer-classify takes 0 to 2 */
	margin = (float)(int8_t)data[3] / 100.0f;
	img.width = 1 + (uint32_t)(data[4] | data[5] << 8) % 128;
	img.height = 1 + (uint32_t)(data[6] | data[7] << 8) % 128;
	for (int k = 0; k < 4; k++) {
		/* fer-classify rounds numbers of magnitude up to 1e7, w and h at least 1. */
		int32_t v = get_i32(data + 8 + 4 * k) % 10000001;
		box[k] = k >= 2 && v < 1 ? 1 - v % 10000000 : v;
	}
	out = malloc((size_t)side * side);
	crop = pixels(data, size, (size_t)crop_side * crop_side);
	img.pixels = pixels(data, size, (size_t)img.width * img.height);
	if (out != NULL && crop != NULL && img.pixels != NULL) {
		(void)fm_face_recrop(crop, crop_side, crop_margin, margin, side, out, &err);
		(void)fm_face_crop(&img, box, margin, side, out, &err);
	}
	cJSON *face =
	    size > HEAD ? cJSON_ParseWithLength((const char *)data + HEAD, size - HEAD) : NULL;
	if (out != NULL && img.pixels != NULL && cJSON_IsObject(face)) {
		(void)fm_face_pixels(face, &img, side, margin, out, &err);
		(void)fm_face_limit(face, 1 + data[0] % 4, &err);
	}
	cJSON_Delete(face);
	free(img.pixels);
	free(crop);
	free(out);
	return 0;
}
