/*
 * lib/image.h: decode JPEG (libjpeg-turbo), PNG (libpng) and binary PGM/PPM into 8-bit
 * pixels, and encode PNG and JPEG; gray conversion, histogram equalisation, crop, and resize
 * (bilinear, and area averaging for shrinking large photos).
 *
 * Gray conversion, equalisation and resize reproduce OpenCV's cvtColor(RGB2GRAY),
 * equalizeHist and resize(INTER_LINEAR and INTER_LINEAR_EXACT) on 8-bit images bit for bit,
 * because the face detector must find the same boxes as OpenCV's detectMultiScale on the
 * same photo.
 *
 * Every size read from a file is hostile: it is checked against max_pixels before any
 * allocation. Corrupt-data warnings from the codecs count as errors, because rows of
 * missing pixels yield false faces.
 */
#ifndef FM_IMAGE_H
#define FM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"

/* Interleaved rows without padding: channels is 1 (gray) or 3 (R, G, B). */
struct fm_image {
	uint32_t width, height, channels;
	uint8_t *pixels; /* width * height * channels bytes, owned */
};

/* One 8-bit channel, rows without padding. */
struct fm_gray {
	uint32_t width, height;
	uint8_t *pixels; /* width * height bytes, owned */
};

/*
 * Decode a JPEG, PNG, or binary PGM (P5) / PPM (P6) held in memory; the format comes from
 * the magic bytes. Gray sources give channels 1, everything else channels 3 (alpha is
 * dropped, 16-bit samples keep their high byte as in OpenCV, PNM samples of any other
 * maxval than 255 or 65535 are scaled to 8 bits, palettes expanded). An image of more than
 * max_pixels pixels fails with FM_ELIMIT before its pixels are allocated. On success *out
 * owns its pixels; on failure *out is zeroed. As OpenCV's imread, a JPEG's or PNG's EXIF
 * orientation is applied, so that width and height are those of the upright picture.
 */
int fm_image_decode(const uint8_t *data, size_t n_bytes, uint64_t max_pixels, struct fm_image *out,
                    struct fm_err *err);

/*
 * As fm_image_decode, for a buffer that may hold several images back to back (concatenated
 * PPMs or JPEGs from a pipe): decodes the first and sets *consumed to its length in bytes,
 * so that the next starts at data + *consumed. Bytes after the first image are not read.
 */
int fm_image_decode_next(const uint8_t *data, size_t n_bytes, uint64_t max_pixels,
                         struct fm_image *out, size_t *consumed, struct fm_err *err);

/*
 * Read a whole file (FM_EIO for a missing file or a directory, FM_ELIMIT for one of more
 * than FM_DEFAULT_MAX_FILE_BYTES) and decode it.
 */
int fm_image_load(const char *path, uint64_t max_pixels, struct fm_image *out, struct fm_err *err);

/* The formats fm_image_encode writes. */
enum fm_image_format { FM_IMAGE_PNG, FM_IMAGE_JPEG };

/*
 * Encode img (channels 1 or 3) as an 8-bit PNG, or a baseline JPEG at quality 1..100 (the
 * quality is checked for PNG too, and unused), into *bytes (malloc'd, the caller frees it)
 * of *n_bytes. FM_EINVAL for no image or a quality out of range, FM_ELIMIT for a JPEG of
 * more than 65500 pixels a side, FM_ENOMEM.
 */
int fm_image_encode(const struct fm_image *img, enum fm_image_format format, int quality,
                    uint8_t **bytes, size_t *n_bytes, struct fm_err *err);

/* Free the pixels and zero the struct; NULL and a zeroed struct are no-ops. */
void fm_image_free(struct fm_image *img);

/* A width x height gray image with uninitialised pixels; FM_ENOMEM or FM_EINVAL (zero side). */
int fm_gray_new(uint32_t width, uint32_t height, struct fm_gray *out, struct fm_err *err);
void fm_gray_free(struct fm_gray *g);

/*
 * Gray from any decoded image: copy for channels 1, and for RGB OpenCV 4.6's fixed-point
 * BT.601 luma, (9798 R + 19235 G + 3735 B + 16384) >> 15, as cvtColor(BGR2GRAY) computes it
 * (checked on all 2^24 colours; the 14-bit 4899/9617/1868 of older OpenCV differs).
 */
int fm_image_to_gray(const struct fm_image *img, struct fm_gray *out, struct fm_err *err);

/* Histogram equalisation in place, exactly as OpenCV's equalizeHist. */
void fm_gray_equalize(struct fm_gray *g);

/*
 * Bilinear resize of src into dst, whose width and height the caller has set and whose
 * pixels it has allocated; the result equals OpenCV's resize(INTER_LINEAR) on 8-bit
 * single-channel images (fixed-point, 11-bit coefficients). Does not allocate.
 */
void fm_gray_resize(const struct fm_gray *src, struct fm_gray *dst);

/*
 * As fm_gray_resize, but equal to OpenCV's resize(INTER_LINEAR_EXACT) (resize_bitExact: 8-bit
 * fractional weights, one rounding), which is what OpenCV 4's
 * CascadeClassifier::detectMultiScale uses to build its image pyramid
 * (FeatureEvaluator::setImage). Does not allocate.
 */
void fm_gray_resize_exact(const struct fm_gray *src, struct fm_gray *dst);

/*
 * Area-averaging resize of src into dst, whose width and height the caller has set and whose
 * pixels it has allocated: each target pixel is the mean of the source pixels it covers,
 * weighted by the part of each that it covers, rounded to nearest (halves up). These are
 * the weights of OpenCV's resize(INTER_AREA) when shrinking, in exact integer arithmetic
 * rather than OpenCV's float sums, so the two can differ by one level near a half (an
 * exact halving is OpenCV's, pixel for pixel). Unlike the bilinear resize every source
 * pixel counts, so shrinking by a large factor does not alias. Does not allocate.
 */
void fm_gray_resize_area(const struct fm_gray *src, struct fm_gray *dst);

/*
 * Copy the rectangle (x, y, w, h) of src into a new image; the parts of the rectangle that
 * fall outside src repeat the nearest edge pixel. FM_EINVAL for w or h < 1.
 */
int fm_gray_crop(const struct fm_gray *src, int32_t x, int32_t y, uint32_t w, uint32_t h,
                 struct fm_gray *out, struct fm_err *err);

/*
 * Images back to back on a file descriptor (the caller's; never closed here): binary PGM
 * and PPM as `ffmpeg -f image2pipe -vcodec ppm -` writes them, concatenated JPEGs (MJPEG),
 * or PNGs. fm_frame_reader_next hands out the bytes of the next whole image as soon as its
 * last byte has arrived (its end found from its structure, without decoding it) in *data,
 * valid until the next call, with *n_bytes; *n_bytes is 0 at the end of the stream. It
 * returns -1 with FM_EFORMAT for bytes that start no image, a malformed image or one cut
 * short by the end of the stream, and FM_ELIMIT for one of more than max_frame_bytes, or
 * one whose header (PNM, JPEG SOF, PNG IHDR) gives more than max_pixels pixels, which is
 * refused as soon as the header has arrived, before its samples are buffered: those bytes
 * are skipped to where the next image starts, and the next call goes on. FM_EIO (the read
 * failed) and FM_ENOMEM end the stream. So the reader holds at most one frame within both
 * limits, and max_frame_bytes + 1 bytes at most.
 *
 * fm_frame_reader_take does the same, but *data is the caller's, malloc'd (free it): a
 * frame on its way to another thread is handed over rather than copied, the reader's
 * buffer itself when the frame fills most of it.
 */
struct fm_frame_reader;
int fm_frame_reader_new(int fd, size_t max_frame_bytes, uint64_t max_pixels,
                        struct fm_frame_reader **out, struct fm_err *err);
int fm_frame_reader_next(struct fm_frame_reader *r, const uint8_t **data, size_t *n_bytes,
                         struct fm_err *err);
int fm_frame_reader_take(struct fm_frame_reader *r, uint8_t **data, size_t *n_bytes,
                         struct fm_err *err);
void fm_frame_reader_free(struct fm_frame_reader *r);

#endif
