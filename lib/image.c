/*
 * lib/image.c: the format-neutral half of the image module: reading a file, choosing a
 * decoder by magic bytes, and the pixel operations the face detector needs (gray
 * conversion, histogram equalisation, bilinear and area resize, crop). The decoders' shared
 * helpers, EXIF orientation among them, are in image_codec.c.
 *
 * What is matched, bit for bit, against OpenCV 4.6 (modules/imgproc) on 8-bit images:
 * - cvtColor(BGR2GRAY): (3735 B + 19235 G + 9798 R + 16384) >> 15, checked on all 2^24
 *   colours;
 * - equalizeHist: its float LUT, including the flat-image special case;
 * - resize(INTER_LINEAR): the generic fixed-point path (resizeGeneric_ with HResizeLinear
 *   and VResizeLinear, 11-bit coefficients) including the rounding of its SIMD vertical
 *   pass (see vertical_row), the copy when the size does not change, and the switch to
 *   INTER_AREA's 2x2 mean for an exact halving;
 * - resize(INTER_LINEAR_EXACT): resize_bitExact with interpolationLinear, the same special
 *   cases; this is the one detectMultiScale's pyramid uses;
 * - imread's EXIF orientation (ExifReader: the first orientation entry of IFD0), in
 *   image_codec.c.
 * Departures: resize works in strips of columns so that it needs no heap scratch; the result
 * is the same. Crop, which has no OpenCV counterpart, repeats edge pixels outside the image.
 * The area resize (INTER_AREA's weights) is exact integer arithmetic rather than OpenCV's
 * float sums, which is all the detector's shrinking of large photos needs.
 */
#include "image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* --- decode and load ------------------------------------------------------------------- */

int
fm_image_decode_next(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                     size_t *consumed, struct fm_err *err)
{
	size_t used = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (n_bytes == 0)
		return fm_err_set(err, FM_EFORMAT, "empty input");
	if (n_bytes >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
		rc = image_decode_jpeg(data, n_bytes, max_pixels, out, &used, err);
	else if (n_bytes >= 4 && memcmp(data, "\x89PNG", 4) == 0)
		rc = image_decode_png(data, n_bytes, max_pixels, out, &used, err);
	else if (n_bytes >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6'))
		rc = image_decode_pnm(data, n_bytes, max_pixels, out, &used, err);
	else if (n_bytes >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '4')
		return fm_err_set(err, FM_EFORMAT,
		                  "plain or bitmap PNM (P%c) is not supported, only P5 and P6",
		                  data[1]);
	else
		return fm_err_set(err, FM_EFORMAT, "not a JPEG, PNG or PNM image");
	if (rc == 0 && consumed != NULL)
		*consumed = used;
	return rc;
}

int
fm_image_decode(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                struct fm_err *err)
{
	return fm_image_decode_next(data, n_bytes, max_pixels, out, NULL, err);
}

int
fm_image_load(const char *path, uint64_t max_pixels, struct fm_image *out, struct fm_err *err)
{
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (fm_read_file(path, FM_DEFAULT_MAX_FILE_BYTES, &buf, &n, err) == -1)
		return -1;
	rc = fm_image_decode(buf, n, max_pixels, out, err);
	free(buf);
	return rc;
}

/* --- gray images ----------------------------------------------------------------------- */

int
fm_gray_new(uint32_t width, uint32_t height, struct fm_gray *out, struct fm_err *err)
{
	uint64_t n = (uint64_t)width * height;

	memset(out, 0, sizeof *out);
	if (width == 0 || height == 0)
		return fm_err_set(err, FM_EINVAL, "gray image of %" PRIu32 "x%" PRIu32 " pixels",
		                  width, height);
	if (n > SIZE_MAX || (out->pixels = malloc((size_t)n)) == NULL)
		return fm_err_set(err, FM_ENOMEM,
		                  "out of memory for a %" PRIu32 "x%" PRIu32 " gray image", width,
		                  height);
	out->width = width;
	out->height = height;
	return 0;
}

void
fm_gray_free(struct fm_gray *g)
{
	if (g == NULL)
		return;
	free(g->pixels);
	memset(g, 0, sizeof *g);
}

int
fm_image_to_gray(const struct fm_image *img, struct fm_gray *out, struct fm_err *err)
{
	size_t n;

	if (img->channels != 1 && img->channels != 3)
		return fm_err_set(err, FM_EINVAL, "image has %" PRIu32 " channels, not 1 or 3",
		                  img->channels);
	if (fm_gray_new(img->width, img->height, out, err) == -1)
		return -1;
	n = (size_t)img->width * img->height;
	if (img->channels == 1) {
		memcpy(out->pixels, img->pixels, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = img->pixels + 3 * i;

		/*
		 * OpenCV 4.6's RGB2Gray<uchar>: BT.601 weights in 15 bits, B's rounded down so
		 * that they sum to 2^15 (not the 14-bit 4899/9617/1868 of older releases).
		 */
		out->pixels[i] =
		    (uint8_t)((p[0] * 9798 + p[1] * 19235 + p[2] * 3735 + 16384) >> 15);
	}
	return 0;
}

void
fm_gray_equalize(struct fm_gray *g)
{
	uint32_t hist[256] = {0};
	uint8_t lut[256];
	size_t n = (size_t)g->width * g->height;
	int i = 0;
	float scale;
	uint64_t sum = 0;

	if (n == 0)
		return;
	for (size_t k = 0; k < n; k++)
		hist[g->pixels[k]]++;
	while (hist[i] == 0)
		i++;
	/* OpenCV paints a one-valued image with that value rather than dividing by zero. */
	if (hist[i] == n) {
		memset(g->pixels, i, n);
		return;
	}
	/* float, not double: the LUT must round where OpenCV's does (cvRound is half to even). */
	scale = 255.f / (float)(n - hist[i]);
	lut[i++] = 0;
	for (; i < 256; i++) {
		long v;

		sum += hist[i];
		v = lrintf((float)sum * scale);
		lut[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
	}
	for (size_t k = 0; k < n; k++)
		g->pixels[k] = lut[g->pixels[k]];
}

/* --- resize ---------------------------------------------------------------------------- */

#define COEF_BITS 11 /* OpenCV's INTER_RESIZE_COEF_BITS */
#define COEF_ONE (1 << COEF_BITS)
/* Destination columns per strip: the strip's tables and two rows stay on the stack (16 KB). */
#define STRIP 1024

/* saturate_cast<short>(float): cvRound, which is round-half-even like lrintf. */
static int16_t
coef(float w)
{
	long v = lrintf(w * COEF_ONE);

	return (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
}

struct strip {
	int32_t xofs[STRIP];
	int16_t alpha[2 * STRIP];
	int32_t rows[2][STRIP];
	int64_t row_of[2]; /* the source row each buffer holds, -1 for none */
	uint32_t n;        /* columns in this strip */
	uint32_t n_interp; /* columns [0, n_interp) interpolate; the rest copy the last pixel */
};

#ifdef __SSE2__
/* Two neighbouring pixels as one 16-bit lane, the left one in the low byte (x86 order). */
static inline int
pixel_pair(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}
#endif

/* HResizeLinear for one source row: fixed-point taps, then the right border's plain copy. */
static void
horizontal_row(const struct strip *st, const uint8_t *s, uint32_t src_w, int32_t *d)
{
	uint32_t i = 0;
	int32_t edge = s[src_w - 1] * COEF_ONE;

#ifdef __SSE2__
	/* OpenCV's HResizeLinearVec_8u32s: gather 8 pixel pairs, widen, multiply-add. */
	for (; i + 8 <= st->n_interp; i += 8) {
		const int32_t *x = st->xofs + i;
		__m128i px = _mm_cvtsi32_si128(pixel_pair(s + x[0]));
		__m128i zero = _mm_setzero_si128();

		px = _mm_insert_epi16(px, pixel_pair(s + x[1]), 1);
		px = _mm_insert_epi16(px, pixel_pair(s + x[2]), 2);
		px = _mm_insert_epi16(px, pixel_pair(s + x[3]), 3);
		px = _mm_insert_epi16(px, pixel_pair(s + x[4]), 4);
		px = _mm_insert_epi16(px, pixel_pair(s + x[5]), 5);
		px = _mm_insert_epi16(px, pixel_pair(s + x[6]), 6);
		px = _mm_insert_epi16(px, pixel_pair(s + x[7]), 7);
		__m128i px0 = _mm_unpacklo_epi8(px, zero), px1 = _mm_unpackhi_epi8(px, zero);
		__m128i a0 = _mm_loadu_si128((const __m128i *)(st->alpha + 2 * i));
		__m128i a1 = _mm_loadu_si128((const __m128i *)(st->alpha + 2 * i + 8));

		_mm_storeu_si128((__m128i *)(d + i), _mm_madd_epi16(px0, a0));
		_mm_storeu_si128((__m128i *)(d + i + 4), _mm_madd_epi16(px1, a1));
	}
#endif
	for (; i < st->n_interp; i++) {
		const uint8_t *p = s + st->xofs[i];

		d[i] = p[0] * st->alpha[2 * i] + p[1] * st->alpha[2 * i + 1];
	}
	for (; i < st->n; i++)
		d[i] = edge;
}

/*
 * VResizeLinear into d[0, n): OpenCV's VResizeLinearVec_32s8u arithmetic, which shifts each
 * row sum right by 4, keeps the high half of the 16x16-bit products and rounds their sum
 * with (v + 2) >> 2. It is not the exact (v + 2^21) >> 22 of the scalar template: 4.6 on
 * x86-64 gives the vector result in every column, short rows and row tails included
 * (checked against cv2.resize, see scripts/refdata/make-image-refs.py).
 */
static void
vertical_row(const int32_t *r0, const int32_t *r1, int16_t b0, int16_t b1, uint8_t *d, uint32_t n)
{
	uint32_t i = 0;

#ifdef __SSE2__
	/* The same instructions as OpenCV's SSE2 code; the scalar loop below gives equal bytes. */
	const __m128i vb0 = _mm_set1_epi16(b0), vb1 = _mm_set1_epi16(b1);
	const __m128i two = _mm_set1_epi16(2);

	for (; i + 8 <= n; i += 8) {
		__m128i x0 = _mm_packs_epi32(
		    _mm_srai_epi32(_mm_loadu_si128((const __m128i *)(r0 + i)), 4),
		    _mm_srai_epi32(_mm_loadu_si128((const __m128i *)(r0 + i + 4)), 4));
		__m128i x1 = _mm_packs_epi32(
		    _mm_srai_epi32(_mm_loadu_si128((const __m128i *)(r1 + i)), 4),
		    _mm_srai_epi32(_mm_loadu_si128((const __m128i *)(r1 + i + 4)), 4));
		__m128i v = _mm_adds_epi16(_mm_mulhi_epi16(x0, vb0), _mm_mulhi_epi16(x1, vb1));

		v = _mm_srai_epi16(_mm_add_epi16(v, two), 2);
		_mm_storel_epi64((__m128i *)(d + i), _mm_packus_epi16(v, v));
	}
#endif
	for (; i < n; i++) {
		int32_t v = (((r0[i] >> 4) * b0) >> 16) + (((r1[i] >> 4) * b1) >> 16);

		v = (v + 2) >> 2;
		d[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
	}
}

/* The buffer holding source row y, computing it into a buffer other than `keep` if needed. */
static const int32_t *
strip_row(struct strip *st, const struct fm_gray *src, int64_t y, int keep)
{
	int b;

	for (b = 0; b < 2; b++)
		if (st->row_of[b] == y)
			return st->rows[b];
	b = keep == 0 ? 1 : 0;
	horizontal_row(st, src->pixels + (size_t)y * src->width, src->width, st->rows[b]);
	st->row_of[b] = y;
	return st->rows[b];
}

static int
buffer_index(const struct strip *st, const int32_t *row)
{
	return row == st->rows[0] ? 0 : 1;
}

/* resizeAreaFast_ for an exact halving: every 2x2 block's mean, rounded half up. */
static void
halve(const struct fm_gray *src, struct fm_gray *dst)
{
	for (uint32_t dy = 0; dy < dst->height; dy++) {
		const uint8_t *s0 = src->pixels + (size_t)2 * dy * src->width;
		const uint8_t *s1 = s0 + src->width;
		uint8_t *d = dst->pixels + (size_t)dy * dst->width;

		for (uint32_t dx = 0; dx < dst->width; dx++) {
			int sum = s0[2 * dx] + s0[2 * dx + 1] + s1[2 * dx] + s1[2 * dx + 1];

			d[dx] = (uint8_t)((sum + 2) >> 2);
		}
	}
}

void
fm_gray_resize(const struct fm_gray *src, struct fm_gray *dst)
{
	const uint32_t sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
	/* OpenCV inverts the inverse scale; 1/(dw/sw) can differ from sw/dw in the last bit. */
	const double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
	struct strip st;

	if (sw == 0 || sh == 0 || dw == 0 || dh == 0)
		return; /* nothing to sample from, or nothing to fill */
	if (sw == dw && sh == dh) {
		memcpy(dst->pixels, src->pixels, (size_t)sw * sh);
		return;
	}
	/* hal::resize's is_area_fast with both integer scales 2 turns INTER_LINEAR into AREA. */
	if (fabs(scale_x - 2.0) < DBL_EPSILON && fabs(scale_y - 2.0) < DBL_EPSILON) {
		halve(src, dst);
		return;
	}
	for (uint32_t x0 = 0; x0 < dw; x0 += STRIP) {
		int border_seen = 0;

		st.n = dw - x0 < STRIP ? dw - x0 : STRIP;
		st.n_interp = 0;
		st.row_of[0] = st.row_of[1] = -1;
		for (uint32_t i = 0; i < st.n; i++) {
			uint32_t dx = x0 + i;
			float fx = (float)((dx + 0.5) * scale_x - 0.5);
			int64_t sx = (int64_t)floorf(fx);

			fx -= (float)sx;
			if (sx < 0) {
				fx = 0;
				sx = 0;
			}
			/* From the first column whose right tap falls outside, OpenCV copies. */
			if (sx + 1 >= (int64_t)sw)
				border_seen = 1;
			if (!border_seen)
				st.n_interp = i + 1;
			st.xofs[i] = (int32_t)sx;
			st.alpha[2 * i] = coef(1.f - fx);
			st.alpha[2 * i + 1] = coef(fx);
		}
		for (uint32_t dy = 0; dy < dh; dy++) {
			float fy = (float)((dy + 0.5) * scale_y - 0.5);
			int64_t sy = (int64_t)floorf(fy);
			int64_t y0, y1;
			const int32_t *r0, *r1;

			fy -= (float)sy;
			/* Rows are clamped; unlike columns, the weights are kept as they are. */
			y0 = sy < 0 ? 0 : sy > (int64_t)sh - 1 ? (int64_t)sh - 1 : sy;
			y1 = sy + 1 < 0 ? 0 : sy + 1 > (int64_t)sh - 1 ? (int64_t)sh - 1 : sy + 1;
			r0 = strip_row(&st, src, y0, -1);
			r1 = strip_row(&st, src, y1, buffer_index(&st, r0));
			vertical_row(r0, r1, coef(1.f - fy), coef(fy),
			             dst->pixels + (size_t)dy * dw + x0, st.n);
		}
	}
}

/* --- resize, INTER_LINEAR_EXACT --------------------------------------------------------- */

/*
 * OpenCV's resize_bitExact with interpolationLinear<uchar>: coordinates in double (softdouble
 * in OpenCV, the same IEEE arithmetic), weights in 8 fractional bits (ufixedpoint16), rows of
 * 8.8 fixed point, and one rounding at the end, (v + 2^15) >> 16. Columns and rows left of
 * the first tap copy the first source pixel, those from the last tap on copy the last one.
 */
struct exact_strip {
	int32_t xofs[STRIP];
	uint16_t c0[STRIP], c1[STRIP];
	uint16_t rows[2][STRIP];
	int64_t row_of[2];
	uint32_t n, n_left, n_interp; /* [0, n_left) left edge, then n_interp taps, then right */
};

/* interpolationLinear::getCoeffs: -1 left of the image, 1 at or past its last pixel. */
static int
exact_coeffs(double scale, uint32_t d, uint32_t src_n, int64_t *ofs, uint16_t *c0, uint16_t *c1)
{
	double f = scale * ((double)d + 0.5) - 0.5;
	double fl = floor(f);
	long w1;

	if (fl < 0 || src_n <= 1)
		return -1;
	if (fl >= (double)src_n - 1)
		return 1;
	*ofs = (int64_t)fl;
	w1 = lrint((f - fl) * 256); /* exact product; cvRound(softdouble) is half to even */
	*c1 = (uint16_t)w1;
	*c0 = (uint16_t)(256 - w1);
	return 0;
}

static void
exact_horizontal_row(const struct exact_strip *st, const uint8_t *s, uint32_t src_w, uint16_t *d)
{
	uint32_t i = 0, end = st->n_left + st->n_interp;
	uint16_t first = (uint16_t)(s[0] << 8), last = (uint16_t)(s[src_w - 1] << 8);

	for (; i < st->n_left; i++)
		d[i] = first;
#ifdef __SSE2__
	/* 16-bit products: c <= 256 and a pixel <= 255 keep each sum below 2^16. */
	for (; i + 8 <= end; i += 8) {
		const int32_t *x = st->xofs + i;
		__m128i px = _mm_cvtsi32_si128(pixel_pair(s + x[0]));
		__m128i lo = _mm_set1_epi16(0xff);

		px = _mm_insert_epi16(px, pixel_pair(s + x[1]), 1);
		px = _mm_insert_epi16(px, pixel_pair(s + x[2]), 2);
		px = _mm_insert_epi16(px, pixel_pair(s + x[3]), 3);
		px = _mm_insert_epi16(px, pixel_pair(s + x[4]), 4);
		px = _mm_insert_epi16(px, pixel_pair(s + x[5]), 5);
		px = _mm_insert_epi16(px, pixel_pair(s + x[6]), 6);
		px = _mm_insert_epi16(px, pixel_pair(s + x[7]), 7);
		__m128i v =
		    _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(px, lo),
		                                  _mm_loadu_si128((const __m128i *)(st->c0 + i))),
		                  _mm_mullo_epi16(_mm_srli_epi16(px, 8),
		                                  _mm_loadu_si128((const __m128i *)(st->c1 + i))));

		_mm_storeu_si128((__m128i *)(d + i), v);
	}
#endif
	for (; i < end; i++) {
		const uint8_t *p = s + st->xofs[i];

		d[i] = (uint16_t)(p[0] * st->c0[i] + p[1] * st->c1[i]);
	}
	for (; i < st->n; i++)
		d[i] = last;
}

/* vlineSet: one 8.8 row rounded to bytes. */
static void
exact_copy_row(const uint16_t *r, uint8_t *d, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = ((uint32_t)r[i] + 128) >> 8;

		d[i] = (uint8_t)(v > 255 ? 255 : v);
	}
}

/* vlineResize<uint8_t, ufixedpoint16, 2>: 16.16 products, one rounding. */
static void
exact_vertical_row(const uint16_t *r0, const uint16_t *r1, uint16_t b0, uint16_t b1, uint8_t *d,
                   uint32_t n)
{
	uint32_t i = 0;

#ifdef __SSE2__
	const __m128i vb0 = _mm_set1_epi16((short)b0), vb1 = _mm_set1_epi16((short)b1);
	const __m128i half = _mm_set1_epi32(1 << 15);

	for (; i + 8 <= n; i += 8) {
		__m128i h0 = _mm_loadu_si128((const __m128i *)(r0 + i));
		__m128i h1 = _mm_loadu_si128((const __m128i *)(r1 + i));
		__m128i l0 = _mm_mullo_epi16(h0, vb0), u0 = _mm_mulhi_epu16(h0, vb0);
		__m128i l1 = _mm_mullo_epi16(h1, vb1), u1 = _mm_mulhi_epu16(h1, vb1);
		__m128i s0 = _mm_add_epi32(
		    _mm_add_epi32(_mm_unpacklo_epi16(l0, u0), _mm_unpacklo_epi16(l1, u1)), half);
		__m128i s1 = _mm_add_epi32(
		    _mm_add_epi32(_mm_unpackhi_epi16(l0, u0), _mm_unpackhi_epi16(l1, u1)), half);
		__m128i v = _mm_packs_epi32(_mm_srli_epi32(s0, 16), _mm_srli_epi32(s1, 16));

		_mm_storel_epi64((__m128i *)(d + i), _mm_packus_epi16(v, v));
	}
#endif
	for (; i < n; i++) {
		uint32_t v = ((uint32_t)r0[i] * b0 + (uint32_t)r1[i] * b1 + (1u << 15)) >> 16;

		d[i] = (uint8_t)(v > 255 ? 255 : v);
	}
}

static const uint16_t *
exact_strip_row(struct exact_strip *st, const struct fm_gray *src, int64_t y, int keep)
{
	int b;

	for (b = 0; b < 2; b++)
		if (st->row_of[b] == y)
			return st->rows[b];
	b = keep == 0 ? 1 : 0;
	exact_horizontal_row(st, src->pixels + (size_t)y * src->width, src->width, st->rows[b]);
	st->row_of[b] = y;
	return st->rows[b];
}

void
fm_gray_resize_exact(const struct fm_gray *src, struct fm_gray *dst)
{
	const uint32_t sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
	const double inv_x = (double)dw / sw, inv_y = (double)dh / sh;
	const double scale_x = 1.0 / inv_x, scale_y = 1.0 / inv_y;
	struct exact_strip st;

	if (sw == 0 || sh == 0 || dw == 0 || dh == 0)
		return;
	if (sw == dw && sh == dh) {
		memcpy(dst->pixels, src->pixels, (size_t)sw * sh);
		return;
	}
	/* As for INTER_LINEAR, hal::resize hands an exact halving to INTER_AREA. */
	if (fabs(scale_x - 2.0) < DBL_EPSILON && fabs(scale_y - 2.0) < DBL_EPSILON) {
		halve(src, dst);
		return;
	}
	for (uint32_t x0 = 0; x0 < dw; x0 += STRIP) {
		st.n = dw - x0 < STRIP ? dw - x0 : STRIP;
		st.n_left = st.n_interp = 0;
		st.row_of[0] = st.row_of[1] = -1;
		for (uint32_t i = 0; i < st.n; i++) {
			int64_t ofs = 0;
			int side = exact_coeffs(scale_x, x0 + i, sw, &ofs, &st.c0[i], &st.c1[i]);

			/* The sides come in order, left edge, taps, right edge, as dx grows. */
			if (side < 0)
				st.n_left++;
			else if (side == 0)
				st.n_interp++;
			st.xofs[i] = (int32_t)ofs;
		}
		for (uint32_t dy = 0; dy < dh; dy++) {
			uint8_t *d = dst->pixels + (size_t)dy * dw + x0;
			int64_t y0 = 0;
			uint16_t b0 = 0, b1 = 0;
			int side = exact_coeffs(scale_y, dy, sh, &y0, &b0, &b1);
			const uint16_t *r0, *r1;

			if (side != 0) {
				r0 = exact_strip_row(&st, src, side < 0 ? 0 : (int64_t)sh - 1, -1);
				exact_copy_row(r0, d, st.n);
				continue;
			}
			r0 = exact_strip_row(&st, src, y0, -1);
			r1 = exact_strip_row(&st, src, y0 + 1, r0 == st.rows[0] ? 0 : 1);
			exact_vertical_row(r0, r1, b0, b1, d, st.n);
		}
	}
}

/* --- resize, area averaging -------------------------------------------------------------- */

/*
 * Exact area weights. Along an axis of n_src source and n_dst target pixels, lengths are
 * counted in 1/n_dst of a source pixel: source pixel i spans [i n_dst, (i + 1) n_dst), target
 * pixel j spans [j n_src, (j + 1) n_src), every overlap is a whole number, and the overlaps
 * of one target pixel sum to n_src. The pixels strictly between first and last are covered
 * whole (n_dst each).
 */
struct area_span {
	uint64_t first, last;     /* the source pixels the target pixel touches */
	uint64_t w_first, w_last; /* their overlaps; w_last is unused when last == first */
};

static void
area_span(uint64_t j, uint64_t n_src, uint64_t n_dst, struct area_span *s)
{
	uint64_t lo = j * n_src, hi = lo + n_src;

	s->first = lo / n_dst;
	s->last = (hi - 1) / n_dst;
	s->w_first = s->first == s->last ? n_src : (s->first + 1) * n_dst - lo;
	s->w_last = hi - s->last * n_dst;
}

void
fm_gray_resize_area(const struct fm_gray *src, struct fm_gray *dst)
{
	const uint64_t sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
	/* A target pixel's weights sum to sw * sh; 255 times that fits 64 bits for any image
	 * that fits memory. */
	const uint64_t total = sw * sh;

	if (sw == 0 || sh == 0 || dw == 0 || dh == 0)
		return; /* nothing to sample from, or nothing to fill */
	if (sw == dw && sh == dh) {
		memcpy(dst->pixels, src->pixels, (size_t)(sw * sh));
		return;
	}
	for (uint64_t dy = 0; dy < dh; dy++) {
		struct area_span ys;
		uint8_t *d = dst->pixels + dy * dw;

		area_span(dy, sh, dh, &ys);
		for (uint64_t dx = 0; dx < dw; dx++) {
			struct area_span xs;
			uint64_t sum = 0;

			area_span(dx, sw, dw, &xs);
			for (uint64_t y = ys.first; y <= ys.last; y++) {
				const uint8_t *row = src->pixels + y * sw;
				uint64_t wy = y == ys.first  ? ys.w_first
				              : y == ys.last ? ys.w_last
				                             : dh;
				uint64_t r = row[xs.first] * xs.w_first;

				if (xs.last != xs.first) {
					uint64_t mid = 0;

					for (uint64_t x = xs.first + 1; x < xs.last; x++)
						mid += row[x];
					r += mid * dw + row[xs.last] * xs.w_last;
				}
				sum += r * wy;
			}
			d[dx] = (uint8_t)((2 * sum + total) / (2 * total));
		}
	}
}

/* --- crop ------------------------------------------------------------------------------ */

int
fm_gray_crop(const struct fm_gray *src, int32_t x, int32_t y, uint32_t w, uint32_t h,
             struct fm_gray *out, struct fm_err *err)
{
	const int64_t sw = src->width, sh = src->height;
	int64_t left, mid, start, end;

	memset(out, 0, sizeof *out);
	if (w < 1 || h < 1)
		return fm_err_set(err, FM_EINVAL, "crop of %" PRIu32 "x%" PRIu32 " pixels", w, h);
	if (sw == 0 || sh == 0 || src->pixels == NULL)
		return fm_err_set(err, FM_EINVAL, "crop of an empty image");
	if (fm_gray_new(w, h, out, err) == -1)
		return -1;
	/* Columns split into a left run repeating column 0, a copied middle, a right run. */
	left = (int64_t)x < 0 ? -(int64_t)x : 0;
	if (left > w)
		left = w;
	start = x < 0 ? 0 : x;
	end = (int64_t)x + w < sw ? (int64_t)x + w : sw;
	mid = end > start ? end - start : 0;
	for (uint32_t j = 0; j < h; j++) {
		int64_t sy = (int64_t)y + j;
		const uint8_t *s;
		uint8_t *d = out->pixels + (size_t)j * w;

		sy = sy < 0 ? 0 : sy >= sh ? sh - 1 : sy;
		s = src->pixels + (size_t)sy * (size_t)sw;
		memset(d, s[0], (size_t)left);
		if (mid > 0)
			memcpy(d + left, s + start, (size_t)mid);
		memset(d + left + mid, s[sw - 1], (size_t)(w - left - mid));
	}
	return 0;
}
