/*
 * lib/image_encode.c: an 8-bit gray or RGB image encoded as PNG (libpng) or baseline JPEG
 * (libjpeg-turbo) into memory, for the pictures fer-annotate writes.
 *
 * Both libraries report errors by longjmp; each gets one bridge here, as the decoders do,
 * keeping the words and printing nothing. Encoders meet no hostile input, only our own
 * pixels, so their failures are running out of memory or a size the formats cannot hold
 * (JPEG stops at 65500 pixels a side).
 */
#include "image_int.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

/* libjpeg's own limit on a side (JPEG_MAX_DIMENSION). */
#define JPEG_MAX_SIDE 65500u

struct out_buf {
	uint8_t *bytes;
	size_t n_bytes, size;
	int failed; /* out of memory */
};

static int
buf_append(struct out_buf *b, const void *p, size_t n)
{
	if (b->failed)
		return -1;
	if (n > b->size - b->n_bytes) {
		size_t want = b->size ? b->size : 65536;

		while (want - b->n_bytes < n) {
			if (want > SIZE_MAX / 2) {
				b->failed = 1;
				return -1;
			}
			want *= 2;
		}
		uint8_t *grown = realloc(b->bytes, want);

		if (grown == NULL) {
			b->failed = 1;
			return -1;
		}
		b->bytes = grown;
		b->size = want;
	}
	memcpy(b->bytes + b->n_bytes, p, n);
	b->n_bytes += n;
	return 0;
}

/* ---- PNG ---- */

struct png_job {
	png_structp png;
	png_infop info;
	struct out_buf out;
	char why[200];
};

static void
png_write_data(png_structp png, png_bytep data, size_t n)
{
	struct png_job *jb = png_get_io_ptr(png);

	if (buf_append(&jb->out, data, n) == -1)
		png_error(png, "out of memory");
}

static void
png_flush_data(png_structp png)
{
	(void)png;
}

static void
png_trap_error(png_structp png, png_const_charp msg)
{
	struct png_job *jb = png_get_error_ptr(png);

	snprintf(jb->why, sizeof jb->why, "%s", msg);
	png_longjmp(png, 1);
}

static void
png_trap_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* Never inlined: it calls setjmp, and jb lives in the caller's frame. */
static __attribute__((noinline)) int
encode_png(const struct fm_image *img, struct png_job *jb)
{
	if (setjmp(png_jmpbuf(jb->png)) != 0)
		return -1;
	png_set_write_fn(jb->png, jb, png_write_data, png_flush_data);
	png_set_IHDR(jb->png, jb->info, img->width, img->height, 8,
	             img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/* A drawing compresses well with filters and zlib's middle level; 9 costs much more. */
	png_set_compression_level(jb->png, 6);
	png_write_info(jb->png, jb->info);
	for (uint32_t y = 0; y < img->height; y++)
		png_write_row(jb->png, img->pixels + (size_t)y * img->width * img->channels);
	png_write_end(jb->png, NULL);
	return 0;
}

static int
image_encode_png(const struct fm_image *img, uint8_t **bytes, size_t *n_bytes, struct fm_err *err)
{
	struct png_job jb = {0};
	int rc;

	jb.png =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, &jb, png_trap_error, png_trap_warning);
	if (jb.png == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a PNG encoder");
	jb.info = png_create_info_struct(jb.png);
	if (jb.info == NULL) {
		png_destroy_write_struct(&jb.png, NULL);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a PNG encoder");
	}
	rc = encode_png(img, &jb);
	png_destroy_write_struct(&jb.png, &jb.info);
	if (rc == -1 || jb.out.failed) {
		free(jb.out.bytes);
		if (jb.out.failed)
			return fm_err_set(err, FM_ENOMEM, "out of memory for a PNG file");
		return fm_err_set(err, FM_EFORMAT, "cannot encode PNG: %s", jb.why);
	}
	*bytes = jb.out.bytes;
	*n_bytes = jb.out.n_bytes;
	return 0;
}

/* ---- JPEG ---- */

struct jpeg_job {
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr mgr;
	jmp_buf back;
	char why[JMSG_LENGTH_MAX];
	enum fm_errcode code;
	unsigned char *mem;
	unsigned long n_mem;
};

static void
jpeg_trap_fatal(j_common_ptr j)
{
	struct jpeg_job *jb = (struct jpeg_job *)j->client_data;

	jb->mgr.format_message(j, jb->why);
	jb->code = jb->mgr.msg_code == JERR_OUT_OF_MEMORY ? FM_ENOMEM : FM_EFORMAT;
	longjmp(jb->back, 1);
}

static void
jpeg_trap_emit(j_common_ptr j, int level)
{
	(void)j;
	(void)level;
}

static __attribute__((noinline)) int
encode_jpeg(const struct fm_image *img, int quality, struct jpeg_job *jb)
{
	if (setjmp(jb->back) != 0)
		return -1;
	jpeg_create_compress(&jb->ci);
	jpeg_mem_dest(&jb->ci, &jb->mem, &jb->n_mem);
	jb->ci.image_width = img->width;
	jb->ci.image_height = img->height;
	jb->ci.input_components = (int)img->channels;
	jb->ci.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&jb->ci);
	jpeg_set_quality(&jb->ci, quality, TRUE);
	jpeg_start_compress(&jb->ci, TRUE);
	while (jb->ci.next_scanline < jb->ci.image_height) {
		JSAMPROW row = (JSAMPROW)(img->pixels + (size_t)jb->ci.next_scanline * img->width *
		                                            img->channels);

		jpeg_write_scanlines(&jb->ci, &row, 1);
	}
	jpeg_finish_compress(&jb->ci);
	return 0;
}

static int
image_encode_jpeg(const struct fm_image *img, int quality, uint8_t **bytes, size_t *n_bytes,
                  struct fm_err *err)
{
	struct jpeg_job *jb;
	int rc;

	if (img->width > JPEG_MAX_SIDE || img->height > JPEG_MAX_SIDE)
		return fm_err_set(err, FM_ELIMIT,
		                  "image is %ux%u pixels, JPEG holds at most %u a side", img->width,
		                  img->height, JPEG_MAX_SIDE);
	/* On the heap: jmp_buf and the compressor are large, and the job must outlive setjmp. */
	jb = calloc(1, sizeof *jb);
	if (jb == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a JPEG encoder");
	jb->ci.err = jpeg_std_error(&jb->mgr);
	jb->mgr.error_exit = jpeg_trap_fatal;
	jb->mgr.emit_message = jpeg_trap_emit;
	jb->ci.client_data = jb;
	rc = encode_jpeg(img, quality, jb);
	jpeg_destroy_compress(&jb->ci);
	if (rc == -1) {
		enum fm_errcode code = jb->code;

		free(jb->mem);
		fm_err_set(err, code, "cannot encode JPEG: %s", jb->why);
		free(jb);
		return -1;
	}
	/* jpeg_mem_dest's buffer is malloc'd by libjpeg-turbo: the caller frees it with free. */
	*bytes = jb->mem;
	*n_bytes = jb->n_mem;
	free(jb);
	return 0;
}

int
fm_image_encode(const struct fm_image *img, enum fm_image_format format, int quality,
                uint8_t **bytes, size_t *n_bytes, struct fm_err *err)
{
	*bytes = NULL;
	*n_bytes = 0;
	if (img->width == 0 || img->height == 0 || img->pixels == NULL ||
	    (img->channels != 1 && img->channels != 3))
		return fm_err_set(err, FM_EINVAL, "no image to encode");
	if (quality < 1 || quality > 100)
		return fm_err_set(err, FM_EINVAL, "JPEG quality %d is not in 1..100", quality);
	switch (format) {
	case FM_IMAGE_PNG:
		return image_encode_png(img, bytes, n_bytes, err);
	case FM_IMAGE_JPEG:
		return image_encode_jpeg(img, quality, bytes, n_bytes, err);
	}
	return fm_err_set(err, FM_EINVAL, "unknown image format");
}
