/*
 * lib/image_frames.c: images back to back on a file descriptor, as `ffmpeg -f image2pipe`
 * writes them (binary PGM or PPM, PNG) or as a webcam delivers MJPEG (concatenated JPEGs).
 * Each image's end is found from its own structure, without decoding it: a PNM header
 * gives the size of its samples, a JPEG is walked marker by marker to its EOI, a PNG chunk
 * by chunk to its IEND. So a frame is handed out as soon as its last byte has arrived, and
 * a damaged frame costs only itself: the reader skips to the next byte sequence that starts
 * an image and goes on. That holds for a PNM over the frame limit too: its header's size is
 * not trusted to skip by (999999999x999999999 would silence the rest of the stream), so an
 * honest oversized frame's samples are searched for the next image like any garbage.
 *
 * Memory is bounded by what a header declares, before its samples are read: a frame whose
 * PNM header, JPEG SOF or PNG IHDR gives more pixels than the pixel limit is refused there,
 * so the reader never buffers more than one frame within both limits. fm_frame_reader_take
 * hands a large frame's buffer to the caller instead of copying it out.
 */
#include "image_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRST_CAPACITY ((size_t)1 << 16)

struct fm_frame_reader {
	int fd;
	size_t max_frame_bytes;
	uint64_t max_pixels;
	uint8_t *buf;
	size_t cap, start, end; /* the unconsumed bytes are buf[start, end) */
	bool eof;
	uint64_t offset; /* of buf[start] in the stream, for messages */
};

enum scan { SCAN_MORE, SCAN_DONE, SCAN_BAD, SCAN_TOO_BIG, SCAN_TOO_MANY_PIXELS };

/* What a scan found besides its verdict. */
struct scan_out {
	size_t len;              /* SCAN_DONE: the image's bytes */
	uint64_t declared_bytes; /* SCAN_TOO_BIG of a PNM: the size its header gives, or 0 */
	uint64_t width, height;  /* SCAN_TOO_MANY_PIXELS: the sides its header gives */
};

/* SCAN_TOO_MANY_PIXELS when a header's sides give more than max_pixels, else SCAN_DONE. */
static enum scan
check_pixels(uint64_t width, uint64_t height, uint64_t max_pixels, struct scan_out *o)
{
	/* Sides of PNG (31 bits), JPEG (16) and PNM (9 digits) cannot overflow the product. */
	if (width * height <= max_pixels)
		return SCAN_DONE;
	o->width = width;
	o->height = height;
	return SCAN_TOO_MANY_PIXELS;
}

static bool
pnm_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Binary PGM or PPM: the header's three numbers, one whitespace byte, then the samples. The
 * header is judged on its first IMAGE_PNM_MAX_HEADER bytes only, so that how the stream
 * was cut into reads changes nothing: a header that needs more is bad. */
static enum scan
scan_pnm(const uint8_t *p, size_t n_avail, size_t max, uint64_t max_pixels, struct scan_out *o)
{
	uint64_t v[3] = {0, 0, 0}, samples;
	size_t i = 2, n = n_avail < IMAGE_PNM_MAX_HEADER ? n_avail : IMAGE_PNM_MAX_HEADER;
	enum scan more = n_avail < IMAGE_PNM_MAX_HEADER ? SCAN_MORE : SCAN_BAD;

	for (int k = 0; k < 3; k++) {
		int digits = 0;

		for (;;) { /* whitespace and comments before each number */
			if (i >= n)
				return more;
			if (p[i] == '#') {
				while (i < n && p[i] != '\n' && p[i] != '\r')
					i++;
			} else if (pnm_space(p[i])) {
				i++;
			} else {
				break;
			}
		}
		while (i < n && p[i] >= '0' && p[i] <= '9') {
			if (++digits > 9)
				return SCAN_BAD;
			v[k] = v[k] * 10 + (uint64_t)(p[i++] - '0');
		}
		if (i >= n)
			return more;
		if (digits == 0 || !pnm_space(p[i]))
			return SCAN_BAD;
	}
	if (v[0] == 0 || v[1] == 0 || v[2] == 0 || v[2] > 65535)
		return SCAN_BAD;
	if (check_pixels(v[0], v[1], max_pixels, o) != SCAN_DONE)
		return SCAN_TOO_MANY_PIXELS;
	i++; /* the single whitespace byte after maxval */
	samples = v[0] * v[1] * (p[1] == '6' ? 3u : 1u) * (v[2] > 255 ? 2u : 1u);
	if (samples > max || i + samples > max) {
		o->declared_bytes = i + samples; /* < 2^63: for the message, never to skip by */
		return SCAN_TOO_BIG;
	}
	o->len = i + (size_t)samples;
	return o->len <= n_avail ? SCAN_DONE : SCAN_MORE;
}

/* JPEG: segments with lengths, and after each SOS entropy-coded bytes up to the next
 * marker (0xFF followed by neither a stuffed 0x00 nor a restart marker), until EOI. */
static enum scan
scan_jpeg(const uint8_t *p, size_t n, size_t max, uint64_t max_pixels, struct scan_out *o)
{
	size_t i = 2;

	for (;;) {
		uint8_t m;

		if (i > max)
			return SCAN_TOO_BIG;
		if (i >= n)
			return SCAN_MORE;
		if (p[i] != 0xFF)
			return SCAN_BAD;
		while (i < n && p[i] == 0xFF) /* fill bytes */
			i++;
		if (i >= n)
			return SCAN_MORE;
		m = p[i++];
		if (m == 0xD9) {
			o->len = i;
			return SCAN_DONE;
		}
		if (m == 0x00 || m == 0xD8)
			return SCAN_BAD;
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
			continue; /* no length */
		if (i + 2 > n)
			return SCAN_MORE;
		size_t seg = fm_get_be16(p + i);
		if (seg < 2)
			return SCAN_BAD;
		/* A start of frame (SOF0 to SOF15 but DHT, JPG and DAC): precision, height, width,
		 * so that a frame of too many pixels is refused before its data is read. */
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && seg >= 7) {
			if (i + 7 > n)
				return SCAN_MORE;
			if (check_pixels(fm_get_be16(p + i + 5), fm_get_be16(p + i + 3), max_pixels,
			                 o) != SCAN_DONE)
				return SCAN_TOO_MANY_PIXELS;
		}
		i += seg;
		if (m != 0xDA)
			continue;
		for (;;) { /* entropy-coded data */
			const uint8_t *ff;

			if (i > max)
				return SCAN_TOO_BIG;
			if (i >= n || (ff = memchr(p + i, 0xFF, n - i)) == NULL) {
				return n > max ? SCAN_TOO_BIG : SCAN_MORE;
			}
			i = (size_t)(ff - p);
			if (i + 1 >= n)
				return SCAN_MORE;
			if (p[i + 1] == 0x00 || (p[i + 1] >= 0xD0 && p[i + 1] <= 0xD7))
				i += 2;
			else if (p[i + 1] == 0xFF)
				i += 1;
			else
				break; /* a marker: the outer loop reads it */
		}
	}
}

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

/* PNG: chunks of length, type, data and CRC, until IEND. */
static enum scan
scan_png(const uint8_t *p, size_t n, size_t max, uint64_t max_pixels, struct scan_out *o)
{
	size_t i = sizeof png_signature;

	for (;;) {
		uint32_t clen;

		if (i + 8 > n)
			return i + 8 > max ? SCAN_TOO_BIG : SCAN_MORE;
		clen = fm_get_be32(p + i);
		if (clen > 0x7FFFFFFFu)
			return SCAN_BAD;
		if ((uint64_t)i + 12 + clen > max)
			return SCAN_TOO_BIG;
		if (memcmp(p + i + 4, "IHDR", 4) == 0 && clen >= 8) {
			if (i + 16 > n)
				return SCAN_MORE;
			if (check_pixels(fm_get_be32(p + i + 8), fm_get_be32(p + i + 12),
			                 max_pixels, o) != SCAN_DONE)
				return SCAN_TOO_MANY_PIXELS;
		}
		bool iend = memcmp(p + i + 4, "IEND", 4) == 0;
		i += 12 + (size_t)clen;
		if (iend) {
			o->len = i;
			return i <= n ? SCAN_DONE : SCAN_MORE;
		}
	}
}

/* Whether p (n bytes available) could begin an image; 0 when it cannot tell yet. */
static int
image_start(const uint8_t *p, size_t n)
{
	static const uint8_t soi[3] = {0xFF, 0xD8, 0xFF};

	if (n >= 1 && p[0] == 0xFF)
		return n < 3 ? 0 : memcmp(p, soi, 3) == 0 ? 1 : -1;
	if (n >= 1 && p[0] == 'P')
		return n < 3 ? 0 : (p[1] == '5' || p[1] == '6') && pnm_space(p[2]) ? 1 : -1;
	if (n >= 1 && p[0] == 0x89)
		return n < 8 ? 0 : memcmp(p, png_signature, 8) == 0 ? 1 : -1;
	return -1;
}

static enum scan
scan_frame(const struct fm_frame_reader *r, const uint8_t *p, size_t n, struct scan_out *o)
{
	if (p[0] == 0xFF)
		return scan_jpeg(p, n, r->max_frame_bytes, r->max_pixels, o);
	if (p[0] == 'P')
		return scan_pnm(p, n, r->max_frame_bytes, r->max_pixels, o);
	return scan_png(p, n, r->max_frame_bytes, r->max_pixels, o);
}

int
fm_frame_reader_new(int fd, size_t max_frame_bytes, uint64_t max_pixels,
                    struct fm_frame_reader **out, struct fm_err *err)
{
	struct fm_frame_reader *r;

	*out = NULL;
	if (max_frame_bytes < 16 || max_frame_bytes > SIZE_MAX / 2 - 1)
		return fm_err_set(err, FM_EINVAL, "frame limit of %zu bytes", max_frame_bytes);
	if (max_pixels == 0)
		return fm_err_set(err, FM_EINVAL, "frame limit of 0 pixels");
	if ((r = calloc(1, sizeof *r)) == NULL || (r->buf = malloc(FIRST_CAPACITY)) == NULL) {
		free(r);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a frame reader");
	}
	r->fd = fd;
	r->cap = FIRST_CAPACITY;
	r->max_frame_bytes = max_frame_bytes;
	r->max_pixels = max_pixels;
	*out = r;
	return 0;
}

void
fm_frame_reader_free(struct fm_frame_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

static void
consume(struct fm_frame_reader *r, size_t n)
{
	r->start += n;
	r->offset += n;
}

/* Read what the pipe has, after moving the unconsumed bytes to the front and growing the
 * buffer when it is full; 0, or -1 with FM_EIO / FM_ENOMEM. */
static int
fill(struct fm_frame_reader *r, struct fm_err *err)
{
	ssize_t got;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		size_t cap = r->cap * 2;
		uint8_t *nb;

		if (cap > r->max_frame_bytes + 1)
			cap = r->max_frame_bytes + 1;
		if (cap <= r->cap || (nb = realloc(r->buf, cap)) == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory for a %zu-byte frame",
			                  cap);
		r->buf = nb;
		r->cap = cap;
	}
	do
		got = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (got == -1 && errno == EINTR);
	if (got == -1)
		return fm_err_errno(err, errno);
	if (got == 0)
		r->eof = true;
	r->end += (size_t)got;
	return 0;
}

/* Drop bytes, reading on as they arrive, up to the next place an image could start;
 * returns how many were dropped. A read error ends the skipping: the next call meets it. */
static size_t
skip_to_image(struct fm_frame_reader *r, size_t from)
{
	size_t dropped = 0;

	for (;;) {
		size_t i = r->start + from;
		int found = -1;

		while (i < r->end && (found = image_start(r->buf + i, r->end - i)) < 0)
			i++;
		dropped += i - r->start;
		consume(r, i - r->start);
		from = 0;
		/* A start that the bytes so far cannot confirm (a lone 'P' at the end) waits for
		 * more, so that how the stream was cut into reads changes nothing. */
		if (found == 1 || r->eof || fill(r, NULL) == -1)
			return dropped;
	}
}

/*
 * The error of a run of skipped bytes: the one failure's own words, or for several in a row
 * (300 KB of FF D8 FF, each a false start of a JPEG) one record for the whole run rather
 * than one for every few bytes.
 */
static int
run_error(struct fm_err *err, const struct fm_err *first, size_t n_failures, uint64_t at,
          uint64_t n_bytes)
{
	if (n_failures == 1) {
		*err = *first;
		return -1;
	}
	return fm_err_set(err, FM_EFORMAT,
	                  "%llu bytes at offset %llu hold no whole JPEG, PNG, PGM or PPM image "
	                  "(%zu false starts): skipped",
	                  (unsigned long long)n_bytes, (unsigned long long)at, n_failures);
}

int
fm_frame_reader_next(struct fm_frame_reader *r, const uint8_t **data, size_t *n_bytes,
                     struct fm_err *err)
{
	struct fm_err first = {0};
	size_t n_failures = 0; /* of the run of garbage so far, which ends at anything else */
	uint64_t run_at = 0, run_bytes = 0;

	*data = NULL;
	*n_bytes = 0;
	for (;;) {
		size_t avail = r->end - r->start, dropped;
		uint64_t at = r->offset;
		struct scan_out o = {0};
		int start;
		enum scan s;

		if (avail == 0) {
			if (r->eof)
				return n_failures > 0
				           ? run_error(err, &first, n_failures, run_at, run_bytes)
				           : 0;
			if (fill(r, err) == -1)
				return -1;
			continue;
		}
		start = image_start(r->buf + r->start, avail);
		if (start == 0 && !r->eof) {
			if (fill(r, err) == -1)
				return -1;
			continue;
		}
		if (start != 1) {
			dropped = skip_to_image(r, 1);
			fm_err_set(&first, FM_EFORMAT,
			           "%zu bytes at offset %llu start no JPEG, PNG, PGM or PPM "
			           "image: skipped",
			           dropped, (unsigned long long)at);
			goto garbage;
		}
		s = scan_frame(r, r->buf + r->start, avail, &o);
		if (s == SCAN_MORE && avail > r->max_frame_bytes)
			s = SCAN_TOO_BIG;
		if (s == SCAN_DONE && o.len > r->max_frame_bytes) {
			s = SCAN_TOO_BIG;
			o.declared_bytes = o.len;
		}
		if (s == SCAN_MORE && !r->eof) {
			if (fill(r, err) == -1)
				return -1;
			continue;
		}
		if (s == SCAN_BAD) {
			dropped = skip_to_image(r, 1);
			fm_err_set(&first, FM_EFORMAT,
			           "malformed image at offset %llu: %zu bytes skipped",
			           (unsigned long long)at, dropped);
			goto garbage;
		}
		/* Anything else ends a run of garbage, said first; this image is looked at again
		 * by the next call. */
		if (n_failures > 0)
			return run_error(err, &first, n_failures, run_at, run_bytes);
		if (s == SCAN_DONE) {
			*data = r->buf + r->start;
			*n_bytes = o.len;
			consume(r, o.len);
			return 0;
		}
		if (s == SCAN_MORE) { /* the stream ended inside it */
			consume(r, avail);
			return fm_err_set(err, FM_EFORMAT,
			                  "truncated image at offset %llu: the stream ends after "
			                  "%zu of its bytes",
			                  (unsigned long long)at, avail);
		}
		dropped = skip_to_image(r, 1);
		if (s == SCAN_TOO_MANY_PIXELS)
			return fm_err_set(
			    err, FM_ELIMIT,
			    "image at offset %llu is %llux%llu pixels, limit %llu (see "
			    "--max-pixels): %zu bytes skipped",
			    (unsigned long long)at, (unsigned long long)o.width,
			    (unsigned long long)o.height, (unsigned long long)r->max_pixels,
			    dropped);
		if (o.declared_bytes > 0)
			return fm_err_set(err, FM_ELIMIT,
			                  "image at offset %llu declares %llu bytes, over the "
			                  "%zu-byte frame limit: %zu bytes skipped",
			                  (unsigned long long)at,
			                  (unsigned long long)o.declared_bytes, r->max_frame_bytes,
			                  dropped);
		return fm_err_set(err, FM_ELIMIT,
		                  "image at offset %llu is over the %zu-byte frame limit: "
		                  "%zu bytes skipped",
		                  (unsigned long long)at, r->max_frame_bytes, dropped);
	garbage:
		if (n_failures++ == 0)
			run_at = at;
		run_bytes += dropped;
	}
}

int
fm_frame_reader_take(struct fm_frame_reader *r, uint8_t **data, size_t *n_bytes, struct fm_err *err)
{
	const uint8_t *at;
	size_t n, after;
	uint8_t *mine, *nb;
	int rc;

	*data = NULL;
	*n_bytes = 0;
	if ((rc = fm_frame_reader_next(r, &at, &n, err)) == -1 || n == 0)
		return rc;
	after = r->end - r->start; /* bytes of what follows, read with the frame */
	/* A frame that takes most of the buffer is the buffer: the reader starts a new one
	 * of the same size for the next frame (untouched pages cost nothing), and only the
	 * few bytes read past the frame are copied. A small frame is copied out. */
	if (n >= r->cap / 2 && (nb = malloc(r->cap)) != NULL) {
		memcpy(nb, r->buf + r->start, after);
		if (at != r->buf)
			memmove(r->buf, at, n);
		mine = realloc(r->buf, n); /* give the slack back */
		*data = mine != NULL ? mine : r->buf;
		r->buf = nb;
		r->start = 0;
		r->end = after;
	} else if ((*data = malloc(n)) != NULL) {
		memcpy(*data, at, n);
	} else {
		return fm_err_set(err, FM_ENOMEM, "out of memory for a %zu-byte frame", n);
	}
	*n_bytes = n;
	return 0;
}
