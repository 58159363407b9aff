/*
 * tests/unit/test_frames.c: the frame reader of lib/image (fm_frame_reader_*), fed through a
 * pipe by a thread in chunks of every size from one byte up: each image comes out whole and
 * exact, and garbage, a truncated last image, oversized images, a PNM header that lies about
 * its size and one over 1 KiB are skipped with the right error while the stream goes on,
 * images of too many pixels are refused from their headers, and frames taken are the
 * caller's (cmocka).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

static uint8_t *
slurp(const char *rel, size_t *n)
{
	const char *root = getenv("FM_TESTDATA");
	char path[512];
	FILE *f;
	uint8_t *buf;
	long len;

	snprintf(path, sizeof path, "%s/%s", root != NULL && root[0] != '\0' ? root : "testdata",
	         rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	buf = malloc((size_t)len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return buf;
}

/* A stream under construction: pieces appended one after the other. */
struct bytes {
	uint8_t *p;
	size_t n;
};

static void
append(struct bytes *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->n + n);
	assert_non_null(b->p);
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

struct feed {
	int fd;
	const uint8_t *p;
	size_t n, chunk;
};

static void *
feeder(void *arg)
{
	struct feed *f = arg;

	for (size_t i = 0; i < f->n;) {
		size_t k = f->n - i < f->chunk ? f->n - i : f->chunk;
		ssize_t w = write(f->fd, f->p + i, k);

		if (w <= 0)
			break;
		i += (size_t)w;
	}
	close(f->fd);
	return NULL;
}

struct stream {
	struct fm_frame_reader *r;
	pthread_t thread;
	struct feed feed;
	int read_fd;
};

static void
stream_open_pixels(struct stream *s, const struct bytes *b, size_t chunk, size_t max,
                   uint64_t max_pixels)
{
	int fds[2];
	struct fm_err err;

	assert_int_equal(pipe(fds), 0);
	s->read_fd = fds[0];
	s->feed = (struct feed){fds[1], b->p, b->n, chunk};
	assert_int_equal(pthread_create(&s->thread, NULL, feeder, &s->feed), 0);
	assert_int_equal(fm_frame_reader_new(fds[0], max, max_pixels, &s->r, &err), 0);
}

/* No limit on pixels, only on bytes. */
static void
stream_open(struct stream *s, const struct bytes *b, size_t chunk, size_t max)
{
	stream_open_pixels(s, b, chunk, max, UINT64_MAX);
}

static void
stream_close(struct stream *s)
{
	fm_frame_reader_free(s->r);
	close(s->read_fd);
	pthread_join(s->thread, NULL);
}

static void
expect_frame(struct stream *s, const uint8_t *p, size_t n)
{
	const uint8_t *data;
	size_t got;
	struct fm_err err = {0};

	if (fm_frame_reader_next(s->r, &data, &got, &err) == -1)
		fail_msg("expected a frame of %zu bytes, got: %s", n, err.msg);
	assert_int_equal(got, n);
	assert_memory_equal(data, p, n);
}

static void
expect_error(struct stream *s, enum fm_errcode code, const char *words)
{
	const uint8_t *data;
	size_t got;
	struct fm_err err = {0};

	assert_int_equal(fm_frame_reader_next(s->r, &data, &got, &err), -1);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, words) == NULL)
		fail_msg("message '%s' does not say '%s'", err.msg, words);
}

static void
expect_end(struct stream *s)
{
	const uint8_t *data;
	size_t got = 1;
	struct fm_err err = {0};

	if (fm_frame_reader_next(s->r, &data, &got, &err) == -1)
		fail_msg("expected the end, got: %s", err.msg);
	assert_int_equal(got, 0);
}

static const char *const pieces[] = {
    "image/cmyk.jpg",    "image/gray-37x23-exact-12x7.pgm", "image/adam7.png",
    "photos/rocket.jpg", "image/gray-2100x3.pgm",
};
#define N_PIECES (sizeof pieces / sizeof pieces[0])

static void
every_format_comes_out_whole_in_any_chunking(void **state)
{
	static const size_t chunks[] = {1, 3, 7, 4096, 1 << 20};
	struct bytes all = {0};
	uint8_t *p[N_PIECES];
	size_t n[N_PIECES];
	/* A PPM with a comment in its header, as some writers put one. */
	static const char ppm[] = "P6\n# made here\n2 1\n255\n\x01\x02\x03\x04\x05\x06";

	(void)state;
	for (size_t i = 0; i < N_PIECES; i++) {
		p[i] = slurp(pieces[i], &n[i]);
		append(&all, p[i], n[i]);
	}
	append(&all, ppm, sizeof ppm - 1);
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct stream s;

		stream_open(&s, &all, chunks[c], (size_t)64 << 20);
		for (size_t i = 0; i < N_PIECES; i++)
			expect_frame(&s, p[i], n[i]);
		expect_frame(&s, (const uint8_t *)ppm, sizeof ppm - 1);
		expect_end(&s);
		stream_close(&s);
	}
	/* And every frame decodes. */
	for (size_t i = 0; i < N_PIECES; i++) {
		struct fm_image img;
		struct fm_err err;

		assert_int_equal(fm_image_decode(p[i], n[i], FM_DEFAULT_MAX_PIXELS, &img, &err), 0);
		fm_image_free(&img);
		free(p[i]);
	}
	free(all.p);
}

static void
garbage_is_skipped_to_the_next_image(void **state)
{
	struct bytes all = {0};
	size_t nj, np;
	uint8_t *jpg = slurp("image/cmyk.jpg", &nj),
	        *pgm = slurp("image/gray-37x23-exact-12x7.pgm", &np);
	struct stream s;

	(void)state;
	append(&all, "hello, world", 12);
	append(&all, jpg, nj);
	append(&all, "P7 not a pnm P", 14);
	append(&all, pgm, np);
	/* A JPEG whose segments stop making sense after its SOI. */
	append(&all,
	       "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
	       "garbage!",
	       28);
	append(&all, pgm, np);
	stream_open(&s, &all, 5, (size_t)1 << 20);
	expect_error(&s, FM_EFORMAT, "12 bytes at offset 0 start no JPEG");
	expect_frame(&s, jpg, nj);
	expect_error(&s, FM_EFORMAT, "14 bytes at offset");
	expect_frame(&s, pgm, np);
	expect_error(&s, FM_EFORMAT, "malformed image");
	expect_frame(&s, pgm, np);
	expect_end(&s);
	stream_close(&s);
	free(jpg);
	free(pgm);
	free(all.p);
}

static void
a_truncated_last_image_is_an_error_then_the_end(void **state)
{
	struct bytes all = {0};
	size_t nj, np;
	uint8_t *jpg = slurp("image/cmyk.jpg", &nj), *png = slurp("image/adam7.png", &np);

	(void)state;
	append(&all, jpg, nj);
	append(&all, png, np / 2);
	for (int k = 0; k < 2; k++) {
		struct stream s;

		stream_open(&s, &all, k == 0 ? 1 : 1 << 20, (size_t)1 << 20);
		expect_frame(&s, jpg, nj);
		expect_error(&s, FM_EFORMAT, "truncated image");
		expect_end(&s);
		stream_close(&s);
	}
	/* An empty stream is just the end. */
	{
		struct bytes none = {0};
		struct stream s;

		append(&none, "", 0);
		stream_open(&s, &none, 1, 1024);
		expect_end(&s);
		stream_close(&s);
		free(none.p);
	}
	free(jpg);
	free(png);
	free(all.p);
}

static void
oversized_images_are_skipped_and_the_stream_goes_on(void **state)
{
	struct bytes all = {0};
	size_t np, nr;
	uint8_t *pgm = slurp("image/gray-37x23-exact-12x7.pgm", &np);
	uint8_t *big_jpg = slurp("photos/rocket.jpg", &nr);
	static const char header[] = "P5\n1000 2000\n255\n";
	uint8_t *samples = malloc(2000000);
	struct stream s;

	(void)state;
	assert_non_null(samples);
	/* Its header's size is not trusted: the samples are searched for the next image. */
	for (size_t i = 0; i < 2000000; i++)
		samples[i] = (uint8_t)(i % 64);
	append(&all, header, sizeof header - 1);
	append(&all, samples, 2000000);
	append(&all, pgm, np);
	append(&all, big_jpg, nr);
	append(&all, pgm, np);
	stream_open(&s, &all, 65536, nr - 1);
	expect_error(&s, FM_ELIMIT,
	             "declares 2000017 bytes, over the 111916-byte frame limit: "
	             "2000017 bytes skipped");
	expect_frame(&s, pgm, np);
	expect_error(&s, FM_ELIMIT, "over the");
	expect_frame(&s, pgm, np);
	expect_end(&s);
	stream_close(&s);
	free(samples);
	free(pgm);
	free(big_jpg);
	free(all.p);
}

/* A 16x16 PGM of one shade. */
static void
small_pgm(struct bytes *b, uint8_t shade)
{
	uint8_t px[256];

	memset(px, shade, sizeof px);
	append(b, "P5\n16 16\n255\n", 13);
	append(b, px, sizeof px);
}

static void
a_lying_pnm_header_costs_only_itself(void **state)
{
	static const size_t chunks[] = {1, 7, 4096, 1 << 20};
	static const char lie[] = "P5\n999999999 999999999\n255\n";
	struct bytes all = {0}, one = {0};

	(void)state;
	small_pgm(&one, 77);
	append(&all, lie, sizeof lie - 1);
	for (int i = 0; i < 50; i++)
		append(&all, one.p, one.n);
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct stream s;

		stream_open(&s, &all, chunks[c], (size_t)1 << 20);
		expect_error(&s, FM_ELIMIT, "declares");
		for (int i = 0; i < 50; i++)
			expect_frame(&s, one.p, one.n);
		expect_end(&s);
		stream_close(&s);
	}
	free(one.p);
	free(all.p);
}

/* False starts one after the other (FF D8 FF D8 ...: each a JPEG's SOI, none an image) are
 * one error for the whole run, however the stream was cut into reads. */
static void
a_run_of_false_starts_is_one_error(void **state)
{
	static const size_t chunks[] = {1, 7, 4096, 1 << 20};
	struct bytes all = {0}, one = {0};
	uint8_t *markers = malloc(300000);

	(void)state;
	assert_non_null(markers);
	for (size_t i = 0; i < 300000; i += 2)
		memcpy(markers + i, "\xFF\xD8", 2);
	small_pgm(&one, 31);
	append(&all, "junk", 4);
	append(&all, markers, 300000);
	free(markers);
	append(&all, one.p, one.n);
	append(&all, "\xFF\xD8\xFF\xD8", 4);
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct stream s;

		stream_open(&s, &all, chunks[c], (size_t)1 << 20);
		expect_error(&s, FM_EFORMAT,
		             "300004 bytes at offset 0 hold no whole JPEG, PNG, PGM or PPM image "
		             "(150000 false starts): skipped");
		expect_frame(&s, one.p, one.n);
		expect_error(&s, FM_EFORMAT, "(2 false starts)");
		expect_end(&s);
		stream_close(&s);
	}
	free(one.p);
	free(all.p);
}

/* A PGM whose header holds a comment of n_comment bytes, then its 16x16 samples. */
static void
commented_pgm(struct bytes *b, size_t n_comment)
{
	uint8_t px[256];
	char *comment = malloc(n_comment);

	assert_non_null(comment);
	memset(comment, 'x', n_comment);
	comment[0] = '#';
	memset(px, 9, sizeof px);
	append(b, "P5\n", 3);
	append(b, comment, n_comment);
	append(b, "\n16 16\n255\n", 11);
	append(b, px, sizeof px);
	free(comment);
}

static void
a_pnm_header_over_1_kib_is_refused_however_it_is_read(void **state)
{
	static const size_t chunks[] = {1, 7, 1000, 4096, 1 << 20};
	struct bytes ok = {0}, big = {0}, all = {0}, one = {0};
	struct fm_image img;
	struct fm_err err;

	(void)state;
	commented_pgm(&ok, 1024 - 14); /* a header of exactly 1024 bytes */
	commented_pgm(&big, 1024 - 13);
	small_pgm(&one, 200);
	append(&all, ok.p, ok.n);
	append(&all, big.p, big.n);
	append(&all, one.p, one.n);
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct stream s;

		stream_open(&s, &all, chunks[c], (size_t)1 << 20);
		expect_frame(&s, ok.p, ok.n);
		expect_error(&s, FM_EFORMAT, "malformed image");
		expect_frame(&s, one.p, one.n);
		expect_end(&s);
		stream_close(&s);
	}
	/* A file is held to the same bound. */
	assert_int_equal(fm_image_decode(ok.p, ok.n, FM_DEFAULT_MAX_PIXELS, &img, &err), 0);
	fm_image_free(&img);
	assert_int_equal(fm_image_decode(big.p, big.n, FM_DEFAULT_MAX_PIXELS, &img, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);
	assert_non_null(strstr(err.msg, "header"));
	free(ok.p);
	free(big.p);
	free(one.p);
	free(all.p);
}

static void
images_of_too_many_pixels_are_refused_from_their_headers(void **state)
{
	static const size_t chunks[] = {1, 7, 4096, 1 << 20};
	size_t nj, ng;
	uint8_t *jpg = slurp("photos/rocket.jpg", &nj);
	uint8_t *png = slurp("image/adam7.png", &ng);
	static const char header[] = "P5\n2000 1000\n255\n";
	uint8_t samples[1000];
	struct bytes all = {0}, one = {0}, cut = {0};
	struct fm_err err = {0};

	(void)state;
	small_pgm(&one, 33);
	memset(samples, 7, sizeof samples);
	append(&all, header, sizeof header - 1);
	append(&all, samples, sizeof samples);
	append(&all, one.p, one.n);
	append(&all, jpg, nj);
	append(&all, one.p, one.n);
	append(&all, png, ng);
	append(&all, one.p, one.n);
	/* 256 pixels: the 16x16 frames pass, the others are refused whatever the byte limit. */
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct stream s;

		stream_open_pixels(&s, &all, chunks[c], (size_t)1 << 24, 256);
		expect_error(&s, FM_ELIMIT, "is 2000x1000 pixels, limit 256 (see --max-pixels)");
		expect_frame(&s, one.p, one.n);
		expect_error(&s, FM_ELIMIT, "pixels, limit 256");
		expect_frame(&s, one.p, one.n);
		expect_error(&s, FM_ELIMIT, "pixels, limit 256");
		expect_frame(&s, one.p, one.n);
		expect_end(&s);
		stream_close(&s);
	}
	/* The header is enough: 1000 of its 2000000 samples, and the stream's end, are not
	 * waited for (a reader that buffered them would call it a truncated image). */
	append(&cut, header, sizeof header - 1);
	append(&cut, samples, sizeof samples);
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct stream s;
		const uint8_t *data;
		size_t got;

		stream_open_pixels(&s, &cut, chunks[c], (size_t)1 << 24, 1000000);
		assert_int_equal(fm_frame_reader_next(s.r, &data, &got, &err), -1);
		assert_int_equal(err.code, FM_ELIMIT);
		assert_non_null(strstr(err.msg, "is 2000x1000 pixels, limit 1000000"));
		expect_end(&s);
		stream_close(&s);
	}
	free(jpg);
	free(png);
	free(one.p);
	free(all.p);
	free(cut.p);
}

static void
frames_taken_are_the_callers_and_whole(void **state)
{
	static const size_t chunks[] = {1, 7, 4096, 1 << 20};
	size_t nj;
	uint8_t *jpg = slurp("photos/rocket.jpg", &nj);
	struct bytes all = {0}, one = {0};

	(void)state;
	small_pgm(&one, 99);
	/* Large frames fill the reader's buffer and are handed over; small ones are copied. */
	for (int i = 0; i < 3; i++) {
		append(&all, jpg, nj);
		append(&all, one.p, one.n);
	}
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct stream s;
		uint8_t *taken[6];
		size_t n;
		struct fm_err err = {0};

		stream_open(&s, &all, chunks[c], (size_t)1 << 24);
		for (int i = 0; i < 6; i++) {
			if (fm_frame_reader_take(s.r, &taken[i], &n, &err) == -1)
				fail_msg("expected frame %d, got: %s", i, err.msg);
			assert_int_equal(n, i % 2 == 0 ? nj : one.n);
		}
		/* Each still holds its bytes after the reader has gone on. */
		for (int i = 0; i < 6; i++) {
			assert_memory_equal(taken[i], i % 2 == 0 ? jpg : one.p,
			                    i % 2 == 0 ? nj : one.n);
			free(taken[i]);
		}
		assert_int_equal(fm_frame_reader_take(s.r, &taken[0], &n, &err), 0);
		assert_int_equal(n, 0);
		assert_null(taken[0]);
		stream_close(&s);
	}
	free(jpg);
	free(one.p);
	free(all.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_format_comes_out_whole_in_any_chunking),
	    cmocka_unit_test(garbage_is_skipped_to_the_next_image),
	    cmocka_unit_test(a_truncated_last_image_is_an_error_then_the_end),
	    cmocka_unit_test(oversized_images_are_skipped_and_the_stream_goes_on),
	    cmocka_unit_test(a_lying_pnm_header_costs_only_itself),
	    cmocka_unit_test(a_pnm_header_over_1_kib_is_refused_however_it_is_read),
	    cmocka_unit_test(a_run_of_false_starts_is_one_error),
	    cmocka_unit_test(images_of_too_many_pixels_are_refused_from_their_headers),
	    cmocka_unit_test(frames_taken_are_the_callers_and_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
