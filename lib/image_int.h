/*
 * lib/image_int.h: private to the image module: the three decoders behind
 * fm_image_decode_next (image_jpeg.c, image_png.c, image_pnm.c), and the size check,
 * allocation, message and orientation helpers they share (image_codec.c). cmd/ never
 * includes it.
 */
#ifndef FM_IMAGE_INT_H
#define FM_IMAGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "image.h"

/*
 * A PNM header's bytes at most, from its magic to the whitespace after maxval, comments
 * included: more is not a header, whether it is read from a file or from a stream, and
 * however the stream was cut into reads.
 */
#define IMAGE_PNM_MAX_HEADER 1024

/*
 * The decoders. data starts with the format's magic bytes (the caller looked). On success
 * *out owns its pixels and *consumed is the length of the first image in bytes, so that a
 * stream of concatenated images can go on at data + *consumed. On failure *out is not
 * written (fm_image_decode_next zeroed it).
 */
int image_decode_jpeg(const uint8_t *data, size_t n_bytes, uint64_t max_pixels,
                      struct fm_image *out, size_t *consumed, struct fm_err *err);
int image_decode_png(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                     size_t *consumed, struct fm_err *err);
int image_decode_pnm(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                     size_t *consumed, struct fm_err *err);

/*
 * FM_ELIMIT when width x height is above max_pixels, FM_EFORMAT for a zero side. Every
 * decoder calls this with the sizes from the header before it allocates anything.
 */
int image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, struct fm_err *err);

/* Allocate out->pixels for a size that passed image_check_size; FM_ENOMEM on failure. */
int image_alloc(struct fm_image *out, uint32_t width, uint32_t height, uint32_t channels,
                struct fm_err *err);

/*
 * The EXIF orientation (1..8) in a TIFF-structured EXIF block that starts at its byte-order
 * mark ("II" or "MM"), read as OpenCV's ExifReader does: the first 0x0112 entry of IFD0.
 * 0 when there is none or the block is malformed; nothing outside tiff[0, n) is read.
 */
int image_exif_orientation(const uint8_t *tiff, size_t n);

/* Turn img upright for an EXIF orientation as OpenCV's imread does; 0 and 1 do nothing. */
int image_orient(struct fm_image *img, int orientation, struct fm_err *err);

/*
 * Copy a codec's message into dst (size n, not overlapping src) in house style: a leading
 * capital is lowered when the word is not an acronym ("Premature end" but not "IDAT"), and
 * a trailing full stop or newline is dropped.
 */
void image_tidy_message(char *dst, size_t n, const char *src);

#endif
