/*
 * lib/image_codec.c: what the decoders (image_jpeg.c, image_png.c, image_pnm.c) share with
 * each other and with image.c, kept apart so that neither side depends on the other: the
 * size check made before any allocation, the pixel buffer and its release, the tidying of
 * libjpeg's and libpng's messages into the house style, and EXIF orientation as OpenCV's
 * imread applies it (ExifReader: the first orientation entry of IFD0; ExifTransform:
 * transpose first when asked, then flip columns and/or rows).
 */
#include "image_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, struct fm_err *err)
{
	if (width == 0 || height == 0)
		return fm_err_set(err, FM_EFORMAT, "image is %" PRIu64 "x%" PRIu64 " pixels", width,
		                  height);
	/* Both sides come from 16- or 32-bit header fields, so the product fits; the cap keeps
	 * width x height x channels x 2 bytes far from overflow whatever max_pixels is. */
	if (max_pixels > (uint64_t)1 << 48)
		max_pixels = (uint64_t)1 << 48;
	if (width * height > max_pixels)
		return fm_err_set(err, FM_ELIMIT,
		                  "image is %" PRIu64 "x%" PRIu64 " pixels, limit %" PRIu64
		                  " (see --max-pixels)",
		                  width, height, max_pixels);
	return 0;
}

int
image_alloc(struct fm_image *out, uint32_t width, uint32_t height, uint32_t channels,
            struct fm_err *err)
{
	uint64_t n = (uint64_t)width * height * channels;

	if (n > SIZE_MAX || (out->pixels = malloc((size_t)n)) == NULL)
		return fm_err_set(err, FM_ENOMEM,
		                  "out of memory for a %" PRIu32 "x%" PRIu32 " image", width,
		                  height);
	out->width = width;
	out->height = height;
	out->channels = channels;
	return 0;
}

void
image_tidy_message(char *dst, size_t n, const char *src)
{
	size_t len;

	if (n == 0)
		return;
	snprintf(dst, n, "%s", src);
	/* "Premature end" becomes "premature end"; "IDAT: CRC error" keeps its acronym. */
	if (isupper((unsigned char)dst[0]) && !isupper((unsigned char)dst[1]))
		dst[0] = (char)tolower((unsigned char)dst[0]);
	len = strlen(dst);
	while (len > 0 && (dst[len - 1] == '.' || dst[len - 1] == '\n' || dst[len - 1] == ' '))
		dst[--len] = '\0';
}

/* --- EXIF orientation ------------------------------------------------------------------ */

static uint32_t
exif16(const uint8_t *p, int big_endian)
{
	return big_endian ? fm_get_be16(p) : fm_get_le16(p);
}

static uint32_t
exif32(const uint8_t *p, int big_endian)
{
	return big_endian ? fm_get_be32(p) : fm_get_le32(p);
}

int
image_exif_orientation(const uint8_t *tiff, size_t n)
{
	int big;
	uint64_t ifd, count;

	/* OpenCV's getFormat: "II" is little-endian, "MM" big-endian, anything else nothing. */
	if (n < 8 || tiff[0] != tiff[1] || (tiff[0] != 'I' && tiff[0] != 'M'))
		return 0;
	big = tiff[0] == 'M';
	if (exif16(tiff + 2, big) != 0x2a)
		return 0;
	ifd = exif32(tiff + 4, big);
	if (ifd + 2 > n)
		return 0;
	count = exif16(tiff + ifd, big);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e = ifd + 2 + 12 * i;

		/* The same bounds as OpenCV's getU16: the tag, and later the value, must fit. */
		if (e + 2 > n)
			return 0;
		if (exif16(tiff + e, big) == 0x0112) {
			uint32_t v;

			if (e + 10 > n)
				return 0;
			v = exif16(tiff + e + 8, big);

			return v >= 1 && v <= 8 ? (int)v : 0;
		}
	}
	return 0;
}

int
image_orient(struct fm_image *img, int orientation, struct fm_err *err)
{
	/* OpenCV's ExifTransform: transpose first when asked, then flip columns and/or rows. */
	static const uint8_t transpose[9] = {0, 0, 0, 0, 0, 1, 1, 1, 1};
	static const uint8_t flip_x[9] = {0, 0, 1, 1, 0, 0, 1, 1, 0};
	static const uint8_t flip_y[9] = {0, 0, 0, 1, 1, 0, 0, 1, 1};
	struct fm_image t = {0};
	uint32_t w = img->width, h = img->height, c = img->channels;
	uint32_t tw, th;

	if (orientation < 2 || orientation > 8)
		return 0;
	tw = transpose[orientation] ? h : w;
	th = transpose[orientation] ? w : h;
	if (image_alloc(&t, tw, th, c, err) == -1)
		return -1;
	for (uint32_t oy = 0; oy < th; oy++) {
		uint32_t ty = flip_y[orientation] ? th - 1 - oy : oy;
		uint8_t *d = t.pixels + (size_t)oy * tw * c;

		for (uint32_t ox = 0; ox < tw; ox++, d += c) {
			uint32_t tx = flip_x[orientation] ? tw - 1 - ox : ox;
			uint32_t sx = transpose[orientation] ? ty : tx;
			uint32_t sy = transpose[orientation] ? tx : ty;
			const uint8_t *s = img->pixels + ((size_t)sy * w + sx) * c;

			d[0] = s[0];
			if (c == 3) {
				d[1] = s[1];
				d[2] = s[2];
			}
		}
	}
	free(img->pixels);
	*img = t;
	return 0;
}

void
fm_image_free(struct fm_image *img)
{
	if (img == NULL)
		return;
	free(img->pixels);
	memset(img, 0, sizeof *img);
}
