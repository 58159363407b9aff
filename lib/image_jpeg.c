/*
 * lib/image_jpeg.c: JPEG through libjpeg-turbo, from memory, with errors routed back by
 * setjmp/longjmp and nothing printed.
 *
 * Follows OpenCV 4.6's imread(IMREAD_COLOR) (modules/imgcodecs/src/grfmt_jpeg.cpp), so
 * that cvtColor(BGR2GRAY) of OpenCV's result equals fm_image_to_gray of ours: the same
 * library with its default decoding (JDCT_ISLOW, fancy upsampling), colour to RGB, and
 * four-channel (CMYK, YCCK) images through libjpeg's CMYK output and OpenCV's
 * icvCvt_CMYK2BGR formula, which assumes Adobe's inverted CMYK. One-channel JPEGs stay one
 * channel (OpenCV makes three equal channels, whose gray is the same). The orientation in
 * the first APP1 (EXIF) marker is applied as imread does.
 * Departures: every corrupt-data warning (libjpeg's level -1 messages, except the harmless
 * unknown JFIF revision) is an error, where OpenCV prints it and returns the damaged
 * pixels, because grey rows of missing data yield false faces; and a progressive JPEG with
 * more than MAX_SCANS scans is refused, as djpeg -maxscans does, to bound decoding time.
 */
#include "image_int.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#define MAX_SCANS 500

struct jpeg_trap {
	struct jpeg_error_mgr mgr; /* first member: libjpeg hands back a pointer to it */
	jmp_buf back;
	char why[JMSG_LENGTH_MAX];
	enum fm_errcode code; /* FM_OK until a jump back */
};

enum jpeg_phase { PHASE_HEADER, PHASE_ROWS, PHASE_END };

/*
 * Everything the decoder changes after setjmp lives here, in the caller's frame, so that
 * its values are well defined after the longjmp.
 */
struct jpeg_job {
	struct jpeg_decompress_struct ci;
	struct jpeg_trap trap;
	struct jpeg_progress_mgr progress;
	enum jpeg_phase phase;
	struct fm_image img;
	uint8_t *cmyk_row;
	size_t consumed;
	int orientation;
};

static void
trap_fatal(j_common_ptr j)
{
	struct jpeg_trap *t = (struct jpeg_trap *)j->err;

	t->mgr.format_message(j, t->why); /* keep the words for fm_err; print nothing */
	t->code = t->mgr.msg_code == JERR_OUT_OF_MEMORY ? FM_ENOMEM : FM_EFORMAT;
	longjmp(t->back, 1);
}

static void
trap_emit(j_common_ptr j, int level)
{
	/* -1 is corrupt data: refuse rather than guess. A newer JFIF revision is not damage. */
	if (level < 0 && j->err->msg_code != JWRN_JFIF_MAJOR)
		trap_fatal(j);
}

static void
trap_silent(j_common_ptr j)
{
	(void)j;
}

static void
count_scans(j_common_ptr j)
{
	j_decompress_ptr ci = (j_decompress_ptr)j;
	struct jpeg_trap *t = (struct jpeg_trap *)j->err;

	if (ci->input_scan_number > MAX_SCANS) {
		snprintf(t->why, sizeof t->why, "JPEG has more than %d scans", MAX_SCANS);
		t->code = FM_ELIMIT;
		longjmp(t->back, 1);
	}
}

/* OpenCV's icvCvt_CMYK2BGR_8u_C4C3R, writing R, G, B. */
static void
cmyk_to_rgb(const uint8_t *s, uint8_t *d, uint32_t width)
{
	for (uint32_t x = 0; x < width; x++, s += 4, d += 3) {
		int k = s[3];

		d[0] = (uint8_t)(k - ((255 - s[0]) * k >> 8));
		d[1] = (uint8_t)(k - ((255 - s[1]) * k >> 8));
		d[2] = (uint8_t)(k - ((255 - s[2]) * k >> 8));
	}
}

static int
first_app1_orientation(j_decompress_ptr ci)
{
	for (jpeg_saved_marker_ptr m = ci->marker_list; m != NULL; m = m->next) {
		if (m->marker != JPEG_APP0 + 1)
			continue;
		/* As OpenCV: only the first APP1, its TIFF header 6 bytes in ("Exif\0\0"). */
		if (m->data_length <= 6)
			return 0;
		return image_exif_orientation(m->data + 6, m->data_length - 6);
	}
	return 0;
}

/*
 * Decode into jb. On -1 the reason is in jb->trap when libjpeg jumped back (trap.code is
 * then set), else already in err. Never inlined: it calls setjmp.
 */
static int
run(struct jpeg_job *jb, const uint8_t *data, size_t n_bytes, uint64_t max_pixels,
    struct fm_err *err)
{
	j_decompress_ptr ci = &jb->ci;

	ci->err = jpeg_std_error(&jb->trap.mgr);
	jb->trap.mgr.error_exit = trap_fatal;
	jb->trap.mgr.emit_message = trap_emit;
	jb->trap.mgr.output_message = trap_silent;
	jb->progress.progress_monitor = count_scans;
	if (setjmp(jb->trap.back) != 0)
		return -1;
	jpeg_create_decompress(ci);
	ci->progress = &jb->progress;
	jpeg_mem_src(ci, data, (unsigned long)n_bytes);
	jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(ci, TRUE);
	/* Now: jpeg_finish_decompress frees the saved markers. */
	jb->orientation = first_app1_orientation(ci);
	if (image_check_size(ci->image_width, ci->image_height, max_pixels, err) == -1)
		return -1;
	/* imread's choices; the last two are libjpeg's defaults, spelt out for OpenCV's sake. */
	ci->out_color_space = ci->num_components == 1   ? JCS_GRAYSCALE
	                      : ci->num_components == 4 ? JCS_CMYK
	                                                : JCS_RGB;
	ci->dct_method = JDCT_ISLOW;
	ci->do_fancy_upsampling = TRUE;
	jpeg_start_decompress(ci);
	if (image_alloc(&jb->img, ci->output_width, ci->output_height,
	                ci->out_color_space == JCS_GRAYSCALE ? 1 : 3, err) == -1)
		return -1;
	if (ci->out_color_space == JCS_CMYK &&
	    (jb->cmyk_row = malloc((size_t)ci->output_width * 4)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a JPEG row");
	jb->phase = PHASE_ROWS;
	while (ci->output_scanline < ci->output_height) {
		size_t stride = (size_t)ci->output_width * jb->img.channels;
		uint8_t *dst = jb->img.pixels + ci->output_scanline * stride;
		JSAMPROW row = jb->cmyk_row != NULL ? jb->cmyk_row : dst;

		/* A memory source never suspends, so 0 rows cannot happen; guard anyway. */
		if (jpeg_read_scanlines(ci, &row, 1) != 1)
			return fm_err_set(err, FM_EFORMAT, "JPEG decoder returned no rows");
		if (jb->cmyk_row != NULL)
			cmyk_to_rgb(jb->cmyk_row, dst, ci->output_width);
	}
	jb->phase = PHASE_END;
	jpeg_finish_decompress(ci);
	jb->consumed = n_bytes - ci->src->bytes_in_buffer;
	return 0;
}

int
image_decode_jpeg(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                  size_t *consumed, struct fm_err *err)
{
	struct jpeg_job jb;
	int rc;

	memset(&jb, 0, sizeof jb);
	rc = run(&jb, data, n_bytes, max_pixels, err);
	if (rc == -1 && jb.trap.code != FM_OK) {
		char why[JMSG_LENGTH_MAX];
		unsigned rows = jb.ci.output_scanline, height = jb.ci.output_height;

		image_tidy_message(why, sizeof why, jb.trap.why);
		if (jb.trap.mgr.msg_code == JWRN_JPEG_EOF && jb.phase == PHASE_ROWS)
			fm_err_set(err, FM_EFORMAT, "truncated JPEG data (%u of %u rows)", rows,
			           height);
		else if (jb.trap.mgr.msg_code == JWRN_JPEG_EOF)
			fm_err_set(err, FM_EFORMAT, "truncated JPEG data (%s)",
			           jb.phase == PHASE_END ? "no end marker" : "in the header");
		else if (jb.phase == PHASE_ROWS)
			fm_err_set(err, jb.trap.code, "%s (row %u of %u)", why, rows, height);
		else
			fm_err_set(err, jb.trap.code, "%s", why);
	}
	free(jb.cmyk_row);
	jpeg_destroy_decompress(&jb.ci);
	if (rc == 0 && image_orient(&jb.img, jb.orientation, err) == -1)
		rc = -1;
	if (rc == -1) {
		fm_image_free(&jb.img);
		return -1;
	}
	*out = jb.img;
	*consumed = jb.consumed;
	return 0;
}
