/*
 * tests/unit/test_image.c: decoding (good files, every file in testdata/bad, truncations and
 * random damage), EXIF orientation, gray conversion, equalisation, resize and crop of
 * lib/image (cmocka).
 *
 * Pixel results are compared byte for byte with OpenCV 4.6's, which
 * scripts/refdata/make-image-refs.py wrote into testdata/image: the tolerance is zero because the
 * face detector must see the same pixels as OpenCV's detectMultiScale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "image_int.h"

/* --- helpers --------------------------------------------------------------------------- */

static const char *
testdata(const char *rel, char *buf, size_t n)
{
	const char *root = getenv("FM_TESTDATA");

	snprintf(buf, n, "%s/%s", root != NULL && root[0] != '\0' ? root : "testdata", rel);
	return buf;
}

/* The bytes of a file under testdata/, malloc'd. */
static uint8_t *
slurp(const char *rel, size_t *n)
{
	char path[512];
	FILE *f = fopen(testdata(rel, path, sizeof path), "rb");
	uint8_t *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1); /* +1: a valid pointer for empty files */
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return buf;
}

static void
load_ok(const char *rel, struct fm_image *img)
{
	char path[512];
	struct fm_err e = {0};

	if (fm_image_load(testdata(rel, path, sizeof path), FM_DEFAULT_MAX_PIXELS, img, &e) != 0)
		fail_msg("%s: %s", rel, e.msg);
}

static void
load_gray(const char *rel, struct fm_gray *g)
{
	struct fm_image img;
	struct fm_err e = {0};

	load_ok(rel, &img);
	assert_int_equal(fm_image_to_gray(&img, g, &e), 0);
	fm_image_free(&img);
}

static void
assert_gray_equal(const struct fm_gray *got, const struct fm_gray *want, const char *what)
{
	size_t n = (size_t)want->width * want->height;

	if (got->width != want->width || got->height != want->height)
		fail_msg("%s: %ux%u, want %ux%u", what, got->width, got->height, want->width,
		         want->height);
	for (size_t i = 0; i < n; i++)
		if (got->pixels[i] != want->pixels[i])
			fail_msg("%s: pixel (%zu, %zu) is %u, OpenCV's is %u", what,
			         i % want->width, i / want->width, got->pixels[i], want->pixels[i]);
}

/* Loading rel must fail with code; the message must start with want (house style). */
static void
assert_load_fails(const char *rel, enum fm_errcode code, const char *want)
{
	char path[512];
	struct fm_image img;
	struct fm_err e = {0};
	size_t len;

	assert_int_equal(
	    fm_image_load(testdata(rel, path, sizeof path), FM_DEFAULT_MAX_PIXELS, &img, &e), -1);
	if (e.code != code || strncmp(e.msg, want, strlen(want)) != 0)
		fail_msg("%s: got code %d '%s', want code %d '%s...'", rel, e.code, e.msg, code,
		         want);
	assert_null(img.pixels);
	assert_int_equal(img.width, 0);
	len = strlen(e.msg);
	assert_true(len > 0 && e.msg[len - 1] != '.' && e.msg[len - 1] != '\n');
}

/* --- good files: the pixels of OpenCV's imread + cvtColor(BGR2GRAY) --------------------- */

struct good {
	const char *name;
	uint32_t width, height, channels;
};

static const struct good good_files[] = {
    {"photo.jpg", 37, 23, 3},      {"photo-progressive.jpg", 37, 23, 3},
    {"gray.jpg", 37, 23, 1},       {"cmyk.jpg", 37, 23, 3},
    {"orient8.jpg", 23, 37, 3},    {"photo.png", 37, 23, 3},
    {"rgba.png", 37, 23, 3},       {"rgb16.png", 37, 23, 3},
    {"gray.png", 37, 23, 1},       {"gray16.png", 37, 23, 1},
    {"gray-alpha.png", 37, 23, 1}, {"palette-trns.png", 37, 23, 3},
    {"adam7.png", 37, 23, 3},      {"orient6.png", 23, 37, 3},
    {"text.png", 37, 23, 3},       {"gray.pgm", 37, 23, 1},
    {"gray16.pgm", 37, 23, 1},     {"photo.ppm", 37, 23, 3},
    {"photo16.ppm", 37, 23, 3},
};
#define N_GOOD (sizeof good_files / sizeof good_files[0])

static void
check_good(const char *suffix)
{
	for (size_t i = 0; i < N_GOOD; i++) {
		const struct good *g = &good_files[i];
		char rel[256], ref[256];
		struct fm_image img;
		struct fm_gray gray, want;
		struct fm_err e = {0};
		size_t len = strlen(g->name);

		if (len < strlen(suffix) || strcmp(g->name + len - strlen(suffix), suffix) != 0)
			continue;
		snprintf(rel, sizeof rel, "image/%s", g->name);
		snprintf(ref, sizeof ref, "image/%s.gray.pgm", g->name);
		load_ok(rel, &img);
		if (img.width != g->width || img.height != g->height || img.channels != g->channels)
			fail_msg("%s: %ux%ux%u, want %ux%ux%u", g->name, img.width, img.height,
			         img.channels, g->width, g->height, g->channels);
		assert_int_equal(fm_image_to_gray(&img, &gray, &e), 0);
		load_gray(ref, &want);
		assert_gray_equal(&gray, &want, g->name);
		fm_gray_free(&gray);
		fm_gray_free(&want);
		fm_image_free(&img);
	}
}

static void
jpeg_files_decode_like_opencv_imread(void **state)
{
	(void)state;
	check_good(".jpg");
}

static void
png_files_decode_like_opencv_imread(void **state)
{
	(void)state;
	check_good(".png");
}

static void
pnm_files_decode_like_opencv_imread(void **state)
{
	(void)state;
	check_good(".pgm");
	check_good(".ppm");
}

static void
exif_orientation_turns_the_image_upright_like_imread(void **state)
{
	struct fm_image img;

	(void)state;
	/* Orientation 6 and 8 swap the sides; the pixels are checked by the tests above. */
	load_ok("image/orient6.png", &img);
	assert_int_equal(img.width, 23);
	assert_int_equal(img.height, 37);
	fm_image_free(&img);
	load_ok("image/orient8.jpg", &img);
	assert_int_equal(img.width, 23);
	assert_int_equal(img.height, 37);
	fm_image_free(&img);
}

static void
exif_reader_stays_inside_its_block(void **state)
{
	/* Big-endian TIFF, one IFD0 entry: orientation (0x0112), SHORT, 1, value 6. */
	static const uint8_t tiff[] = {'M', 'M', 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
	                               0,   0,   0, 1,    0, 6, 0, 0, 0, 0, 0,    0,    0, 0};
	static const uint8_t le[] = {'I',  'I', 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12,
	                             0x01, 3,   0,    1, 0, 0, 0, 3, 0, 0, 0};

	(void)state;
	assert_int_equal(image_exif_orientation(tiff, sizeof tiff), 6);
	assert_int_equal(image_exif_orientation(le, sizeof le), 3);
	/* Every cut copy, in a buffer of exactly its size, so that ASan sees any over-read. */
	for (size_t n = 0; n < 18; n++) {
		uint8_t *cut = malloc(n + (n == 0));

		assert_non_null(cut);
		memcpy(cut, tiff, n);
		assert_int_equal(image_exif_orientation(cut, n), 0);
		free(cut);
	}
	uint8_t bad[sizeof tiff];

	memcpy(bad, tiff, sizeof tiff);
	bad[7] = 0xf0; /* IFD0 beyond the end */
	assert_int_equal(image_exif_orientation(bad, sizeof bad), 0);
	memcpy(bad, tiff, sizeof tiff);
	bad[9] = 0xff; /* 255 entries promised, one present */
	assert_int_equal(image_exif_orientation(bad, sizeof bad), 6);
	bad[19] = 9; /* orientation 9 does not exist */
	assert_int_equal(image_exif_orientation(bad, sizeof bad), 0);
}

/* --- every file in testdata/bad ---------------------------------------------------------- */

static void
truncated_jpeg_is_format_error(void **state)
{
	(void)state;
	assert_load_fails("bad/image/truncated.jpg", FM_EFORMAT, "truncated JPEG data (");
}

static void
corrupt_jpeg_is_format_error(void **state)
{
	(void)state;
	assert_load_fails("bad/image/corrupt.jpg", FM_EFORMAT, "corrupt JPEG data");
}

/*
 * "Before allocation": the header asks for 65000 x 65000 x 3 bytes (12.7 GB). Under ASan
 * (make asan) such a malloc aborts the test, so passing there shows none was attempted.
 */
static void
huge_jpeg_header_is_limit_error_before_allocation(void **state)
{
	(void)state;
	assert_load_fails("bad/image/huge-header.jpg", FM_ELIMIT,
	                  "image is 65000x65000 pixels, limit 100000000 (see --max-pixels)");
}

static void
empty_file_is_format_error(void **state)
{
	struct fm_image img;
	struct fm_err e = {0};

	(void)state;
	assert_load_fails("bad/image/empty.jpg", FM_EFORMAT, "empty file");
	/* A device may never end (/dev/zero): none is read, not even /dev/null. */
	assert_int_equal(fm_image_load("/dev/null", FM_DEFAULT_MAX_PIXELS, &img, &e), -1);
	assert_int_equal(e.code, FM_EIO);
	assert_string_equal(e.msg, "is a character device, not a regular file");
}

static void
file_over_the_size_limit_is_limit_error_before_reading(void **state)
{
	char path[] = "/tmp/fm-test-image-XXXXXX";
	int fd = mkstemp(path);
	struct fm_image img;
	struct fm_err e = {0};
	char want[128];

	(void)state;
	assert_true(fd != -1);
	/* Sparse: 1 GiB and a byte on paper, nothing on the disk. */
	assert_int_equal(ftruncate(fd, (off_t)FM_DEFAULT_MAX_FILE_BYTES + 1), 0);
	close(fd);
	assert_int_equal(fm_image_load(path, FM_DEFAULT_MAX_PIXELS, &img, &e), -1);
	unlink(path);
	assert_int_equal(e.code, FM_ELIMIT);
	snprintf(want, sizeof want, "file is %lu bytes, limit %lu",
	         (unsigned long)FM_DEFAULT_MAX_FILE_BYTES + 1,
	         (unsigned long)FM_DEFAULT_MAX_FILE_BYTES);
	assert_string_equal(e.msg, want);
}

static void
text_file_is_format_error(void **state)
{
	(void)state;
	assert_load_fails("bad/image/not-an-image.jpg", FM_EFORMAT, "not a JPEG, PNG or PNM image");
}

static void
truncated_png_is_format_error(void **state)
{
	(void)state;
	assert_load_fails("bad/image/truncated.png", FM_EFORMAT, "truncated PNG data");
}

static void
png_with_bad_crc_is_format_error(void **state)
{
	(void)state;
	assert_load_fails("bad/image/bad-crc.png", FM_EFORMAT, "damaged PNG: IDAT: CRC error");
}

static void
huge_png_header_is_limit_error_before_allocation(void **state)
{
	(void)state;
	assert_load_fails("bad/image/huge-header.png", FM_ELIMIT,
	                  "image is 100000x100000 pixels, limit 100000000 (see --max-pixels)");
}

static void
huge_pgm_header_is_limit_error_before_allocation(void **state)
{
	uint8_t *data;
	size_t n;
	struct fm_image img;
	struct fm_err e = {0};

	(void)state;
	assert_load_fails("bad/image/huge.pgm", FM_ELIMIT,
	                  "image is 100000x100000 pixels, limit 100000000 (see --max-pixels)");
	/* With no limit the promised 10 GB of samples are checked against the file first. */
	data = slurp("bad/image/huge.pgm", &n);
	assert_int_equal(fm_image_decode(data, n, UINT64_MAX, &img, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_string_equal(e.msg, "truncated PGM data (0 of 100000 rows)");
	free(data);
}

static void
truncated_ppm_is_format_error(void **state)
{
	(void)state;
	assert_load_fails("bad/image/truncated.ppm", FM_EFORMAT,
	                  "truncated PPM data (17 of 23 rows)");
}

static void
missing_file_is_io_error(void **state)
{
	(void)state;
	assert_load_fails("image/no-such-file.jpg", FM_EIO, "no such file or directory");
}

static void
directory_is_io_error(void **state)
{
	(void)state;
	assert_load_fails("image", FM_EIO, "is a directory");
}

/* --- more damage, made in memory ---------------------------------------------------------- */

static void
png_with_bad_crc_in_a_text_chunk_is_format_error(void **state)
{
	size_t n;
	uint8_t *data = slurp("image/text.png", &n);
	uint8_t *t = NULL;
	struct fm_image img;
	struct fm_err e = {0};

	(void)state;
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(data + i, "tEXt", 4) == 0)
			t = data + i;
	assert_non_null(t);
	t[4] ^= 0x20; /* "Comment" -> "comment": the chunk's CRC no longer matches */
	/* libpng's default would only warn for an ancillary chunk, and OpenCV would decode. */
	assert_int_equal(fm_image_decode(data, n, FM_DEFAULT_MAX_PIXELS, &img, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_string_equal(e.msg, "damaged PNG: tEXt: CRC error");
	free(data);
}

static void
every_truncation_of_a_good_file_is_an_error(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_GOOD; i++) {
		char rel[256];
		size_t n;
		uint8_t *data;

		snprintf(rel, sizeof rel, "image/%s", good_files[i].name);
		data = slurp(rel, &n);
		for (size_t cut = 0; cut < n; cut++) {
			/* An exact-size copy: any read past the cut is an ASan error. */
			uint8_t *part = malloc(cut + (cut == 0));
			struct fm_image img;
			struct fm_err e = {0};

			assert_non_null(part);
			memcpy(part, data, cut);
			if (fm_image_decode(part, cut, FM_DEFAULT_MAX_PIXELS, &img, &e) != -1)
				fail_msg("%s cut to %zu of %zu bytes decoded", good_files[i].name,
				         cut, n);
			assert_null(img.pixels);
			assert_true(e.code == FM_EFORMAT && e.msg[0] != '\0');
			free(part);
		}
		free(data);
	}
}

static void
random_damage_never_crashes(void **state)
{
	struct fm_rng rng;

	(void)state;
	fm_rng_seed(&rng, 7);
	for (size_t i = 0; i < N_GOOD; i++) {
		char rel[256];
		size_t n;
		uint8_t *data;

		snprintf(rel, sizeof rel, "image/%s", good_files[i].name);
		data = slurp(rel, &n);
		for (int trial = 0; trial < 150; trial++) {
			uint8_t *copy = malloc(n);
			int flips = 1 + (int)fm_rng_below(&rng, 8);
			struct fm_image img;
			struct fm_err e = {0};

			assert_non_null(copy);
			memcpy(copy, data, n);
			/* Spare the magic bytes, so that the damage reaches the decoders. */
			for (int f = 0; f < flips; f++) {
				size_t at = 4 + fm_rng_below(&rng, n - 4);

				copy[at] ^= (uint8_t)(1 + fm_rng_below(&rng, 255));
			}
			if (fm_image_decode(copy, n, FM_DEFAULT_MAX_PIXELS, &img, &e) == 0) {
				assert_non_null(img.pixels);
				assert_true(img.channels == 1 || img.channels == 3);
				fm_image_free(&img);
			} else {
				assert_null(img.pixels);
				assert_true(e.code != FM_OK && e.msg[0] != '\0');
			}
			free(copy);
		}
		free(data);
	}
}

static void
max_pixels_is_inclusive(void **state)
{
	size_t n;
	uint8_t *data = slurp("image/photo.jpg", &n);
	struct fm_image img;
	struct fm_err e = {0};

	(void)state;
	assert_int_equal(fm_image_decode(data, n, 37 * 23, &img, &e), 0);
	fm_image_free(&img);
	assert_int_equal(fm_image_decode(data, n, 37 * 23 - 1, &img, &e), -1);
	assert_int_equal(e.code, FM_ELIMIT);
	assert_string_equal(e.msg, "image is 37x23 pixels, limit 850 (see --max-pixels)");
	free(data);
}

/* --- streams and PNM headers ------------------------------------------------------------ */

static void
decode_next_walks_concatenated_images(void **state)
{
	static const char *const parts[] = {"image/photo.ppm", "image/gray.pgm", "image/photo.jpg",
	                                    "image/photo.png", "image/photo16.ppm"};
	enum { N_PARTS = sizeof parts / sizeof parts[0] };
	uint8_t *bufs[N_PARTS], *all;
	size_t sizes[N_PARTS], total = 0, at = 0;

	(void)state;
	for (int i = 0; i < N_PARTS; i++) {
		bufs[i] = slurp(parts[i], &sizes[i]);
		total += sizes[i];
	}
	all = malloc(total);
	assert_non_null(all);
	for (int i = 0; i < N_PARTS; i++) {
		memcpy(all + at, bufs[i], sizes[i]);
		at += sizes[i];
	}
	at = 0;
	for (int i = 0; i < N_PARTS; i++) {
		struct fm_image one, alone;
		struct fm_err e = {0};
		size_t used = 0;

		if (fm_image_decode_next(all + at, total - at, FM_DEFAULT_MAX_PIXELS, &one, &used,
		                         &e) != 0)
			fail_msg("%s in the stream: %s", parts[i], e.msg);
		assert_int_equal(used, sizes[i]);
		assert_int_equal(
		    fm_image_decode(bufs[i], sizes[i], FM_DEFAULT_MAX_PIXELS, &alone, &e), 0);
		assert_int_equal(one.channels, alone.channels);
		assert_memory_equal(one.pixels, alone.pixels,
		                    (size_t)one.width * one.height * one.channels);
		fm_image_free(&one);
		fm_image_free(&alone);
		at += used;
		free(bufs[i]);
	}
	assert_int_equal(at, total);
	free(all);
}

static int
decode_str(const char *s, size_t n, struct fm_image *img, struct fm_err *e)
{
	return fm_image_decode((const uint8_t *)s, n, FM_DEFAULT_MAX_PIXELS, img, e);
}

static void
pnm_header_allows_comments_between_fields(void **state)
{
	static const char pgm[] = "P5#c1\n 3#c2\n\t2 # c3\n255\n\x01\x02\x03\x04\x05\x06";
	struct fm_image img;
	struct fm_err e = {0};

	(void)state;
	assert_int_equal(decode_str(pgm, sizeof pgm - 1, &img, &e), 0);
	assert_int_equal(img.width, 3);
	assert_int_equal(img.height, 2);
	assert_int_equal(img.channels, 1);
	assert_memory_equal(img.pixels, "\x01\x02\x03\x04\x05\x06", 6);
	fm_image_free(&img);
}

static void
pnm_samples_scale_to_eight_bits(void **state)
{
	static const char m100[] = "P5 4 1 100\n\x00\x32\x64\xc8";
	static const char m1000[] = "P5 3 1 1000\n\x00\x00\x01\xf4\x03\xe8";
	static const char m65535[] = "P5 2 1 65535\n\xab\xff\x01\x80";
	struct fm_image img;
	struct fm_err e = {0};

	(void)state;
	/* 50/100 -> 127.5 rounds up; a sample above maxval is taken as maxval. */
	assert_int_equal(decode_str(m100, sizeof m100 - 1, &img, &e), 0);
	assert_memory_equal(img.pixels, "\x00\x80\xff\xff", 4);
	fm_image_free(&img);
	assert_int_equal(decode_str(m1000, sizeof m1000 - 1, &img, &e), 0);
	assert_memory_equal(img.pixels, "\x00\x80\xff", 3);
	fm_image_free(&img);
	/* maxval 65535 keeps the high byte, as OpenCV does. */
	assert_int_equal(decode_str(m65535, sizeof m65535 - 1, &img, &e), 0);
	assert_memory_equal(img.pixels, "\xab\x01", 2);
	fm_image_free(&img);
}

static void
bad_pnm_headers_are_format_errors(void **state)
{
	static const struct {
		const char *data, *msg;
	} cases[] = {
	    {"P5 2 1 255#\x01\x02", "bad PNM header: no space after the maxval"},
	    {"P5 2 1 0\n\x01\x02", "PNM maxval is 0"},
	    {"P5 2 1 70000\n\x01\x02", "PNM maxval is over 65535"},
	    {"P5 2 x 255\n\x01\x02", "bad PNM header: the height is not a number"},
	    {"P52 1 255\n\x01\x02", "bad PNM header: no space before the width"},
	    {"P5 2 1", "truncated PNM header"},
	    {"P5 0 1 255\n", "image is 0x1 pixels"},
	    {"P2 2 1 255\n1 2\n", "plain or bitmap PNM (P2) is not supported, only P5 and P6"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fm_image img;
		struct fm_err e = {0};

		assert_int_equal(decode_str(cases[i].data, strlen(cases[i].data), &img, &e), -1);
		assert_int_equal(e.code, FM_EFORMAT);
		assert_string_equal(e.msg, cases[i].msg);
	}
}

/* --- gray, equalize, resize, crop --------------------------------------------------------- */

static void
gray_from_rgb_matches_opencv_cvtcolor(void **state)
{
	struct fm_image img = {1, 1, 3, NULL};
	struct fm_gray g;
	struct fm_err e = {0};
	uint8_t px[3];

	(void)state;
	/* OpenCV 4.6: (9798 R + 19235 G + 3735 B + 2^14) >> 15 (the whole-file comparison of
	 * photo.ppm is in pnm_files_decode_like_opencv_imread). */
	img.pixels = px;
	px[0] = 255, px[1] = 255, px[2] = 255;
	assert_int_equal(fm_image_to_gray(&img, &g, &e), 0);
	assert_int_equal(g.pixels[0], 255);
	fm_gray_free(&g);
	px[0] = 0, px[1] = 0, px[2] = 255;
	assert_int_equal(fm_image_to_gray(&img, &g, &e), 0);
	assert_int_equal(g.pixels[0], 29);
	fm_gray_free(&g);
	px[0] = 1, px[1] = 123, px[2] = 0;
	assert_int_equal(fm_image_to_gray(&img, &g, &e), 0);
	assert_int_equal(g.pixels[0], 73); /* the 14-bit coefficients of OpenCV 3 give 72 */
	fm_gray_free(&g);
}

static void
equalize_matches_opencv_equalizehist(void **state)
{
	struct fm_gray g, want;

	(void)state;
	load_gray("image/gray-37x23.pgm", &g);
	load_gray("image/gray-37x23-equalized.pgm", &want);
	fm_gray_equalize(&g);
	assert_gray_equal(&g, &want, "equalizeHist");
	fm_gray_free(&g);
	fm_gray_free(&want);
}

static void
equalize_of_a_flat_image_keeps_its_value(void **state)
{
	struct fm_gray g;
	struct fm_err e = {0};

	(void)state;
	assert_int_equal(fm_gray_new(5, 4, &g, &e), 0);
	memset(g.pixels, 77, 20);
	fm_gray_equalize(&g);
	for (int i = 0; i < 20; i++)
		assert_int_equal(g.pixels[i], 77);
	/* Two values: the lower becomes 0, the upper 255. */
	g.pixels[3] = 200;
	fm_gray_equalize(&g);
	assert_int_equal(g.pixels[0], 0);
	assert_int_equal(g.pixels[3], 255);
	fm_gray_free(&g);
}

/* Both resizes of image/<stem>.pgm against OpenCV's INTER_LINEAR and INTER_LINEAR_EXACT. */
static void
check_resizes(const char *stem, const uint32_t (*sizes)[2], size_t n_sizes)
{
	char rel[256];
	struct fm_gray src;
	struct fm_err e = {0};

	snprintf(rel, sizeof rel, "image/%s.pgm", stem);
	load_gray(rel, &src);
	for (size_t i = 0; i < 2 * n_sizes; i++) {
		const uint32_t *size = sizes[i / 2];
		int exact = i % 2;
		struct fm_gray dst, want;

		snprintf(rel, sizeof rel, "image/%s-%s-%ux%u.pgm", stem, exact ? "exact" : "resize",
		         size[0], size[1]);
		load_gray(rel, &want);
		assert_int_equal(fm_gray_new(size[0], size[1], &dst, &e), 0);
		if (exact)
			fm_gray_resize_exact(&src, &dst);
		else
			fm_gray_resize(&src, &dst);
		assert_gray_equal(&dst, &want, rel);
		fm_gray_free(&dst);
		fm_gray_free(&want);
	}
	fm_gray_free(&src);
}

static void
resizes_match_opencv_inter_linear_and_linear_exact(void **state)
{
	/* Down, up, one side only, to one pixel, and to the same size (OpenCV copies). */
	static const uint32_t sizes[][2] = {{37, 23}, {20, 13}, {12, 7}, {36, 22},
	                                    {53, 31}, {74, 46}, {5, 3},  {1, 1},
	                                    {37, 1},  {1, 23},  {100, 9}};

	(void)state;
	check_resizes("gray-37x23", sizes, sizeof sizes / sizeof sizes[0]);
}

static void
resize_to_exact_half_matches_opencv_area_switch(void **state)
{
	/* 19x12 is OpenCV's INTER_AREA fast path; 19x13 and 76x48 stay bilinear. */
	static const uint32_t sizes[][2] = {{19, 12}, {19, 13}, {76, 48}};

	(void)state;
	check_resizes("gray-38x24", sizes, sizeof sizes / sizeof sizes[0]);
}

static void
resize_wider_than_a_strip_matches_opencv(void **state)
{
	static const uint32_t sizes[][2] = {{1500, 5}, {1031, 2}, {3001, 3}};

	(void)state;
	check_resizes("gray-2100x3", sizes, sizeof sizes / sizeof sizes[0]);
}

static void
area_resize_by_two_is_opencvs_inter_area(void **state)
{
	struct fm_gray src, dst, want;
	struct fm_err e = {0};

	(void)state;
	/* OpenCV's 2x2 INTER_AREA mean is the reference kept for the bilinear halving. */
	load_gray("image/gray-38x24.pgm", &src);
	load_gray("image/gray-38x24-resize-19x12.pgm", &want);
	assert_int_equal(fm_gray_new(19, 12, &dst, &e), 0);
	fm_gray_resize_area(&src, &dst);
	assert_gray_equal(&dst, &want, "INTER_AREA 38x24 to 19x12");
	fm_gray_free(&dst);
	fm_gray_free(&want);
	fm_gray_free(&src);
}

static void
area_resize_weighs_each_pixel_by_the_part_covered(void **state)
{
	/* 3 pixels into 2: the first covers a whole and half the middle, (2a + b) / 3. */
	static const uint8_t row[] = {0, 90, 255};
	/* 2 into 1, a mean of exactly a half rounds up; 3x3 into 1x1, the mean of nine. */
	static const uint8_t two[] = {0, 1}, nine[] = {10, 20, 30, 40, 50, 60, 70, 80, 91};
	struct fm_gray src = {3, 1, (uint8_t *)row}, dst;
	struct fm_err e = {0};

	(void)state;
	assert_int_equal(fm_gray_new(2, 1, &dst, &e), 0);
	fm_gray_resize_area(&src, &dst);
	assert_int_equal(dst.pixels[0], 30);
	assert_int_equal(dst.pixels[1], 200);
	fm_gray_free(&dst);
	assert_int_equal(fm_gray_new(1, 1, &dst, &e), 0);
	src = (struct fm_gray){2, 1, (uint8_t *)two};
	fm_gray_resize_area(&src, &dst);
	assert_int_equal(dst.pixels[0], 1);
	src = (struct fm_gray){3, 3, (uint8_t *)nine};
	fm_gray_resize_area(&src, &dst); /* 451 / 9 = 50.1 */
	assert_int_equal(dst.pixels[0], 50);
	/* Vertically the same weights: 3 rows into 2. */
	src = (struct fm_gray){1, 3, (uint8_t *)row};
	fm_gray_free(&dst);
	assert_int_equal(fm_gray_new(1, 2, &dst, &e), 0);
	fm_gray_resize_area(&src, &dst);
	assert_int_equal(dst.pixels[0], 30);
	assert_int_equal(dst.pixels[1], 200);
	fm_gray_free(&dst);
}

static void
area_resize_keeps_a_flat_image_flat_and_copies_at_the_same_size(void **state)
{
	/* 1000x700 into 333x231: uneven weights everywhere, so a drift would show. */
	struct fm_gray src, dst;
	struct fm_err e = {0};

	(void)state;
	assert_int_equal(fm_gray_new(1000, 700, &src, &e), 0);
	memset(src.pixels, 201, 1000 * 700);
	assert_int_equal(fm_gray_new(333, 231, &dst, &e), 0);
	fm_gray_resize_area(&src, &dst);
	for (size_t i = 0; i < 333 * 231; i++)
		assert_int_equal(dst.pixels[i], 201);
	fm_gray_free(&dst);
	for (size_t i = 0; i < 1000 * 700; i++)
		src.pixels[i] = (uint8_t)(i * 7919 % 251);
	assert_int_equal(fm_gray_new(1000, 700, &dst, &e), 0);
	fm_gray_resize_area(&src, &dst);
	assert_memory_equal(dst.pixels, src.pixels, 1000 * 700);
	fm_gray_free(&dst);
	fm_gray_free(&src);
}

static void
crop_inside_copies_the_rectangle(void **state)
{
	struct fm_gray src, out;
	struct fm_err e = {0};

	(void)state;
	load_gray("image/gray-37x23.pgm", &src);
	assert_int_equal(fm_gray_crop(&src, 5, 7, 10, 3, &out, &e), 0);
	assert_int_equal(out.width, 10);
	assert_int_equal(out.height, 3);
	for (uint32_t y = 0; y < 3; y++)
		assert_memory_equal(out.pixels + y * 10, src.pixels + (7 + y) * 37 + 5, 10);
	fm_gray_free(&out);
	fm_gray_free(&src);
}

static void
crop_outside_repeats_the_edge_pixels(void **state)
{
	static const uint8_t px[] = {1, 2, 3, 4, 5, 6}; /* 3x2 */
	static const uint8_t want[] = {1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3,
	                               4, 4, 4, 5, 6, 6, 4, 4, 4, 5, 6, 6};
	struct fm_gray src = {3, 2, (uint8_t *)px}, out;
	struct fm_err e = {0};

	(void)state;
	assert_int_equal(fm_gray_crop(&src, -2, -1, 6, 4, &out, &e), 0);
	assert_memory_equal(out.pixels, want, sizeof want);
	fm_gray_free(&out);
	/* Wholly outside: every pixel is the nearest corner. */
	assert_int_equal(fm_gray_crop(&src, 100, -50, 2, 2, &out, &e), 0);
	assert_memory_equal(out.pixels, "\x03\x03\x03\x03", 4);
	fm_gray_free(&out);
	assert_int_equal(fm_gray_crop(&src, INT32_MIN, INT32_MAX, 1, 1, &out, &e), 0);
	assert_int_equal(out.pixels[0], 4);
	fm_gray_free(&out);
}

static void
empty_sizes_are_invalid_arguments(void **state)
{
	static const uint8_t px[] = {1};
	struct fm_gray src = {1, 1, (uint8_t *)px}, out;
	struct fm_err e = {0};

	(void)state;
	assert_int_equal(fm_gray_crop(&src, 0, 0, 0, 1, &out, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	assert_null(out.pixels);
	assert_int_equal(fm_gray_new(0, 5, &out, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	assert_null(out.pixels);
}

static void
free_of_null_or_zeroed_is_a_no_op(void **state)
{
	struct fm_image img = {0};
	struct fm_gray g = {0};

	(void)state;
	fm_image_free(NULL);
	fm_image_free(&img);
	fm_image_free(&img);
	fm_gray_free(NULL);
	fm_gray_free(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jpeg_files_decode_like_opencv_imread),
	    cmocka_unit_test(png_files_decode_like_opencv_imread),
	    cmocka_unit_test(pnm_files_decode_like_opencv_imread),
	    cmocka_unit_test(exif_orientation_turns_the_image_upright_like_imread),
	    cmocka_unit_test(exif_reader_stays_inside_its_block),
	    cmocka_unit_test(truncated_jpeg_is_format_error),
	    cmocka_unit_test(corrupt_jpeg_is_format_error),
	    cmocka_unit_test(huge_jpeg_header_is_limit_error_before_allocation),
	    cmocka_unit_test(empty_file_is_format_error),
	    cmocka_unit_test(file_over_the_size_limit_is_limit_error_before_reading),
	    cmocka_unit_test(text_file_is_format_error),
	    cmocka_unit_test(truncated_png_is_format_error),
	    cmocka_unit_test(png_with_bad_crc_is_format_error),
	    cmocka_unit_test(huge_png_header_is_limit_error_before_allocation),
	    cmocka_unit_test(huge_pgm_header_is_limit_error_before_allocation),
	    cmocka_unit_test(truncated_ppm_is_format_error),
	    cmocka_unit_test(missing_file_is_io_error),
	    cmocka_unit_test(directory_is_io_error),
	    cmocka_unit_test(png_with_bad_crc_in_a_text_chunk_is_format_error),
	    cmocka_unit_test(every_truncation_of_a_good_file_is_an_error),
	    cmocka_unit_test(random_damage_never_crashes),
	    cmocka_unit_test(max_pixels_is_inclusive),
	    cmocka_unit_test(decode_next_walks_concatenated_images),
	    cmocka_unit_test(pnm_header_allows_comments_between_fields),
	    cmocka_unit_test(pnm_samples_scale_to_eight_bits),
	    cmocka_unit_test(bad_pnm_headers_are_format_errors),
	    cmocka_unit_test(gray_from_rgb_matches_opencv_cvtcolor),
	    cmocka_unit_test(equalize_matches_opencv_equalizehist),
	    cmocka_unit_test(equalize_of_a_flat_image_keeps_its_value),
	    cmocka_unit_test(resizes_match_opencv_inter_linear_and_linear_exact),
	    cmocka_unit_test(resize_to_exact_half_matches_opencv_area_switch),
	    cmocka_unit_test(resize_wider_than_a_strip_matches_opencv),
	    cmocka_unit_test(area_resize_by_two_is_opencvs_inter_area),
	    cmocka_unit_test(area_resize_weighs_each_pixel_by_the_part_covered),
	    cmocka_unit_test(area_resize_keeps_a_flat_image_flat_and_copies_at_the_same_size),
	    cmocka_unit_test(crop_inside_copies_the_rectangle),
	    cmocka_unit_test(crop_outside_repeats_the_edge_pixels),
	    cmocka_unit_test(empty_sizes_are_invalid_arguments),
	    cmocka_unit_test(free_of_null_or_zeroed_is_a_no_op),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
