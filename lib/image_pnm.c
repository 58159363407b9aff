/*
 * lib/image_pnm.c: binary PGM (P5) and PPM (P6), as netpbm(5) defines them and as
 * `ffmpeg -f image2pipe -vcodec ppm` writes them: the header's three numbers separated by
 * whitespace and '#' comments, exactly one whitespace byte after maxval, then rows of 8-bit
 * samples (maxval below 256) or 16-bit big-endian ones.
 *
 * Matches OpenCV 4.6's imread (grfmt_pxm.cpp) for maxval 255 (the bytes as they are) and
 * 65535 (the high byte of each sample), which is what cameras and ffmpeg write.
 * Departures: other maxvals are scaled to 0..255 with rounding, where OpenCV copies the
 * bytes (or high bytes) unscaled and so darkens the image; samples above maxval become 255;
 * a header with no whitespace between its fields, or longer than IMAGE_PNM_MAX_HEADER
 * bytes (a comment over 1 KiB), or pixel data shorter than the header promises, is an
 * error (OpenCV reads past the end as zeros or fails later).
 */
#include "image_int.h"

#include <inttypes.h>
#include <string.h>

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Whitespace and comments, at least one of them, then a decimal number of at most max. */
static int
header_number(const uint8_t *p, size_t n, size_t *pos, uint32_t max, const char *what,
              uint32_t *out, struct fm_err *err)
{
	size_t i = *pos;
	uint64_t v = 0;

	if (i < n && !is_space(p[i]) && p[i] != '#')
		return fm_err_set(err, FM_EFORMAT, "bad PNM header: no space before the %s", what);
	while (i < n && (is_space(p[i]) || p[i] == '#')) {
		if (p[i] == '#')
			while (i < n && p[i] != '\n' && p[i] != '\r')
				i++;
		else
			i++;
	}
	if (i == n)
		return fm_err_set(err, FM_EFORMAT, "truncated PNM header");
	if (p[i] < '0' || p[i] > '9')
		return fm_err_set(err, FM_EFORMAT, "bad PNM header: the %s is not a number", what);
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(p[i] - '0');
		if (v > max)
			return fm_err_set(err, max == 65535 ? FM_EFORMAT : FM_ELIMIT,
			                  "PNM %s is over %" PRIu32, what, max);
	}
	*out = (uint32_t)v;
	*pos = i;
	return 0;
}

int
image_decode_pnm(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                 size_t *consumed, struct fm_err *err)
{
	uint32_t width, height, maxval, channels = data[1] == '6' ? 3 : 1;
	const char *kind = channels == 3 ? "PPM" : "PGM";
	size_t pos = 2, bps, row_bytes, avail;
	uint64_t need;
	struct fm_image img = {0};

	if (header_number(data, n_bytes, &pos, UINT32_MAX, "width", &width, err) == -1 ||
	    header_number(data, n_bytes, &pos, UINT32_MAX, "height", &height, err) == -1 ||
	    header_number(data, n_bytes, &pos, 65535, "maxval", &maxval, err) == -1)
		return -1;
	if (maxval == 0)
		return fm_err_set(err, FM_EFORMAT, "PNM maxval is 0");
	/* One whitespace byte, no comment: the next byte may be a sample that looks like one. */
	if (pos == n_bytes)
		return fm_err_set(err, FM_EFORMAT, "truncated PNM header");
	if (!is_space(data[pos]))
		return fm_err_set(err, FM_EFORMAT, "bad PNM header: no space after the maxval");
	pos++;
	if (pos > IMAGE_PNM_MAX_HEADER)
		return fm_err_set(err, FM_EFORMAT, "PNM header of %zu bytes, over %d", pos,
		                  IMAGE_PNM_MAX_HEADER);
	if (image_check_size(width, height, max_pixels, err) == -1)
		return -1;
	bps = maxval > 255 ? 2 : 1;
	row_bytes = (size_t)width * channels * bps;
	need = (uint64_t)row_bytes * height;
	avail = n_bytes - pos;
	if (avail < need)
		return fm_err_set(err, FM_EFORMAT, "truncated %s data (%zu of %" PRIu32 " rows)",
		                  kind, avail / row_bytes, height);
	if (image_alloc(&img, width, height, channels, err) == -1)
		return -1;

	const uint8_t *s = data + pos;
	size_t n = (size_t)width * height * channels;

	if (maxval == 255) {
		memcpy(img.pixels, s, n);
	} else if (maxval == 65535) {
		for (size_t i = 0; i < n; i++)
			img.pixels[i] = s[2 * i];
	} else if (bps == 1) {
		uint8_t lut[256];

		for (uint32_t v = 0; v < 256; v++)
			lut[v] = v >= maxval ? 255 : (uint8_t)((v * 255 + maxval / 2) / maxval);
		for (size_t i = 0; i < n; i++)
			img.pixels[i] = lut[s[i]];
	} else {
		for (size_t i = 0; i < n; i++) {
			uint32_t v = fm_get_be16(s + 2 * i);

			img.pixels[i] =
			    v >= maxval ? 255 : (uint8_t)((v * 255 + maxval / 2) / maxval);
		}
	}
	*out = img;
	*consumed = pos + (size_t)need;
	return 0;
}
