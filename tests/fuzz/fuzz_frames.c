/*
 * tests/fuzz/fuzz_frames.c: arbitrary bytes as a stream of frames (fer-detect --stream):
 * the frame reader must hand out only whole images of its limits or less (bytes and
 * pixels), report the rest, and always reach the end, whether frames are read or taken.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = tmpfile();
	struct fm_frame_reader *r;
	struct fm_err err;
	const size_t max = 4096;

	if (f == NULL)
		return 0;
	if (fwrite(data, 1, size, f) != size || fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    fm_frame_reader_new(fileno(f), max, 1 << 16, &r, &err) == -1) {
		fclose(f);
		return 0;
	}
	for (size_t calls = 0; calls <= size + 1; calls++) {
		const uint8_t *bytes;
		uint8_t *taken = NULL;
		size_t n;
		/* Every other frame is taken, to try the hand-over of the reader's buffer too. */
		int rc = calls % 2 == 0 ? fm_frame_reader_next(r, &bytes, &n, &err)
		                        : fm_frame_reader_take(r, &taken, &n, &err);

		if (taken != NULL)
			bytes = taken;
		if (rc == -1 && (err.code == FM_EIO || err.code == FM_ENOMEM))
			break;
		if (rc == 0 && n == 0)
			break;
		if (rc == 0) {
			struct fm_image img;

			if (n > max)
				abort(); /* a frame over the limit must not come out */
			if (fm_image_decode(bytes, n, 1 << 16, &img, &err) == 0)
				fm_image_free(&img);
		}
		free(taken);
		if (calls == size + 1)
			abort(); /* every call consumes a byte at least: it must have ended */
	}
	fm_frame_reader_free(r);
	fclose(f);
	return 0;
}
