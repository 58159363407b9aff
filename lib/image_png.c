/*
 * lib/image_png.c: PNG through libpng 1.6, from memory (png_set_read_fn over a cursor), with
 * errors routed back by setjmp/longjmp and nothing printed.
 *
 * Follows OpenCV 4.6's imread(IMREAD_COLOR) (modules/imgcodecs/src/grfmt_png.cpp): the
 * same transformations, so the same pixels: 16-bit samples keep their high byte
 * (png_set_strip_16), alpha is dropped without compositing (png_set_strip_alpha, which also
 * discards tRNS), palettes become RGB, gray below 8 bits is scaled up, and no gamma is
 * applied. Gray and gray+alpha PNGs stay one channel (OpenCV makes three equal channels,
 * whose gray is the same). An eXIf orientation is applied as imread does.
 * Departures: a CRC error in any chunk is an error (OpenCV, through libpng's defaults, only
 * warns about one in an ancillary chunk), and so is a PNG that ends before IEND. libpng's
 * remaining warnings (a bad iCCP profile, say) say nothing about the pixels and are
 * dropped silently.
 */
#include "image_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/*
 * Everything the decoder changes after setjmp lives here, in the caller's frame, so that
 * its values are well defined after the longjmp.
 */
struct png_job {
	png_structp png;
	png_infop info;
	const uint8_t *data;
	size_t n, pos;
	int truncated;  /* the cursor ran out */
	int interlaced; /* rows_done counts rows of the current pass only */
	uint32_t rows_done;
	struct fm_image img;
	int orientation;
	char why[200];
};

static void
png_fail(png_structp png, png_const_charp msg)
{
	struct png_job *jb = png_get_error_ptr(png);

	snprintf(jb->why, sizeof jb->why, "%s", msg); /* keep the words; print nothing */
	png_longjmp(png, 1);
}

static void
png_warn(png_structp png, png_const_charp msg)
{
	/* CRC and data errors are made errors (see the file comment); the rest is chatter. */
	(void)png;
	(void)msg;
}

static void
read_mem(png_structp png, png_bytep out, size_t n)
{
	struct png_job *jb = png_get_io_ptr(png);

	if (n > jb->n - jb->pos) {
		jb->truncated = 1;
		png_error(png, "truncated PNG data");
	}
	memcpy(out, jb->data + jb->pos, n);
	jb->pos += n;
}

/* Decode into jb; -1 leaves the reason in jb->why or err. Never inlined: it calls setjmp. */
static int
run(struct png_job *jb, uint64_t max_pixels, struct fm_err *err)
{
	png_uint_32 w, h, limit;
	int depth, color, passes, channels;
	png_bytep exif = NULL;
	png_uint_32 n_exif = 0;

	jb->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, jb, png_fail, png_warn);
	if (jb->png == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory starting the PNG decoder");
	jb->info = png_create_info_struct(jb->png);
	if (jb->info == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory starting the PNG decoder");
	if (setjmp(png_jmpbuf(jb->png)) != 0) {
		if (jb->why[0] == '\0')
			snprintf(jb->why, sizeof jb->why, "PNG decoder failed");
		return -1;
	}
	png_set_read_fn(jb->png, jb, read_mem);
	png_set_crc_action(jb->png, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
	/* A second fence: the caller already checked IHDR's sizes against max_pixels. */
	limit = max_pixels < PNG_UINT_31_MAX ? (png_uint_32)max_pixels : PNG_UINT_31_MAX;
	png_set_user_limits(jb->png, limit ? limit : 1, limit ? limit : 1);
	png_read_info(jb->png, jb->info);
	png_get_IHDR(jb->png, jb->info, &w, &h, &depth, &color, NULL, NULL, NULL);
	if (image_check_size(w, h, max_pixels, err) == -1)
		return -1;
	/* OpenCV's sequence of transformations for an 8-bit, at most 3-channel result. */
	if (depth == 16)
		png_set_strip_16(jb->png);
	png_set_strip_alpha(jb->png);
	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(jb->png);
	if ((color & PNG_COLOR_MASK_COLOR) == 0 && depth < 8)
		png_set_expand_gray_1_2_4_to_8(jb->png);
	passes = png_set_interlace_handling(jb->png);
	jb->interlaced = passes > 1;
	png_read_update_info(jb->png, jb->info);
	channels = png_get_channels(jb->png, jb->info);
	if (png_get_bit_depth(jb->png, jb->info) != 8 || (channels != 1 && channels != 3) ||
	    png_get_rowbytes(jb->png, jb->info) != (size_t)w * channels)
		return fm_err_set(err, FM_EFORMAT, "unexpected PNG layout after conversion");
	if (image_alloc(&jb->img, w, h, channels, err) == -1)
		return -1;
	for (int pass = 0; pass < passes; pass++) {
		for (jb->rows_done = 0; jb->rows_done < h; jb->rows_done++)
			png_read_row(jb->png,
			             jb->img.pixels + (size_t)jb->rows_done * w * jb->img.channels,
			             NULL);
	}
	/* The end checks the last CRCs and IEND: a PNG cut after its pixels is still cut. */
	png_read_end(jb->png, NULL);
	if (png_get_eXIf_1(jb->png, jb->info, &n_exif, &exif) != 0 && exif != NULL)
		jb->orientation = image_exif_orientation(exif, n_exif);
	return 0;
}

int
image_decode_png(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                 size_t *consumed, struct fm_err *err)
{
	struct png_job jb;
	int rc;

	/* Refuse a hostile IHDR before libpng allocates anything for it. */
	if (n_bytes >= 24 && memcmp(data + 12, "IHDR", 4) == 0 &&
	    image_check_size(fm_get_be32(data + 16), fm_get_be32(data + 20), max_pixels, err) == -1)
		return -1;
	memset(&jb, 0, sizeof jb);
	jb.data = data;
	jb.n = n_bytes;
	rc = run(&jb, max_pixels, err);
	if (rc == -1 && jb.why[0] != '\0') {
		char why[sizeof jb.why];

		image_tidy_message(why, sizeof why, jb.why);
		if (jb.truncated && jb.img.pixels != NULL && jb.rows_done == jb.img.height)
			fm_err_set(err, FM_EFORMAT, "truncated PNG data (no IEND chunk)");
		else if (jb.truncated && jb.img.pixels != NULL && !jb.interlaced)
			fm_err_set(err, FM_EFORMAT,
			           "truncated PNG data (%" PRIu32 " of %" PRIu32 " rows)",
			           jb.rows_done, jb.img.height);
		else if (jb.truncated)
			fm_err_set(err, FM_EFORMAT, "truncated PNG data");
		else if (strcmp(jb.why, "Out of memory") == 0 ||
		         strcmp(jb.why, "Out of Memory") == 0)
			fm_err_set(err, FM_ENOMEM, "out of memory decoding a PNG");
		else
			fm_err_set(err, FM_EFORMAT, "damaged PNG: %s", why);
	}
	png_destroy_read_struct(&jb.png, &jb.info, NULL);
	if (rc == 0 && image_orient(&jb.img, jb.orientation, err) == -1)
		rc = -1;
	if (rc == -1) {
		fm_image_free(&jb.img);
		return -1;
	}
	*out = jb.img;
	*consumed = jb.pos;
	return 0;
}
