/*
 * tests/fuzz/fuzz_picture.c: arbitrary bytes as fer-annotate's records (lib/picture): every
 * line is parsed, its faces decoded and drawn on a small photo and cut out for a contact
 * sheet, and the line offered to a timeline, which is drawn at the end as PNG and SVG. The
 * drawing must never fail but for memory, whatever the boxes and times that were accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "picture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
draw_faces(const cJSON *rec, struct fm_picture_sheet *sheet)
{
	static uint8_t pixels[40 * 30 * 3];
	struct fm_image img = {.width = 40, .height = 30, .channels = 3, .pixels = pixels};
	struct fm_picture_face *faces;
	struct fm_image out;
	size_t n;
	struct fm_err err;

	if (fm_picture_faces_decode(rec, 50, &faces, &n, &err) == -1)
		return;
	if (fm_picture_annotate(&img, faces, n, &out, &err) == -1) {
		if (err.code != FM_ENOMEM)
			abort();
	} else {
		fm_image_free(&out);
	}
	for (size_t k = 0; k < n && k < 4; k++) {
		struct fm_picture_cell cell;

		if (fm_picture_cell_make(&img, &faces[k], 16, "a.jpg", &cell, &err) == -1) {
			if (err.code != FM_ENOMEM)
				abort();
			continue;
		}
		if (fm_picture_sheet_add(sheet, &cell, &err) == -1)
			fm_picture_cell_free(&cell);
	}
	free(faces);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm_picture_timeline *tl;
	struct fm_picture_sheet *sheet;
	struct fm_err err;
	size_t at = 0;

	if (fm_picture_timeline_new(&tl, &err) == -1)
		return 0;
	if (fm_picture_sheet_new(16, 4, 16, &sheet, &err) == -1) {
		fm_picture_timeline_free(tl);
		return 0;
	}
	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl != NULL ? (size_t)(nl - (data + at)) : size - at;
		cJSON *rec;

		if (fm_ndjson_parse((const char *)data + at, len, 0, &rec, &err) == 0) {
			draw_faces(rec, sheet);
			(void)fm_picture_timeline_add(tl, rec, &err);
			cJSON_Delete(rec);
		}
		at += len + 1;
	}
	static const enum fm_picture_kind kinds[] = {FM_PICTURE_PNG, FM_PICTURE_SVG};
	for (size_t k = 0; k < 2; k++) {
		uint8_t *bytes;
		size_t n;

		if (fm_picture_timeline_render(tl, kinds[k], 320, 200, &bytes, &n, &err) == -1) {
			if (err.code != FM_ENOMEM)
				abort();
		} else {
			free(bytes);
		}
	}
	struct fm_image out;

	if (fm_picture_sheet_render(sheet, &out, &err) == 0)
		fm_image_free(&out);
	else if (err.code != FM_ENOMEM)
		abort();
	fm_picture_sheet_free(sheet);
	fm_picture_timeline_free(tl);
	return 0;
}
