/*
 * lib/cascade.h: Viola-Jones face detection over OpenCV's cascade XML files (Haar, with
 * upright and tilted features, and LBP), with the semantics of OpenCV's detectMultiScale:
 * the same image pyramid, window steps, stage thresholds and grouping of overlapping
 * windows, so that the boxes match OpenCV's on the same gray image.
 *
 * A loaded cascade is read-only, so one cascade may serve many threads; each thread
 * passes its own struct fm_detector, which holds the pyramid and integral buffers.
 */
#ifndef FM_CASCADE_H
#define FM_CASCADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "image.h"

struct fm_cascade;  /* opaque: window size, stages, trees, features */
struct fm_detector; /* opaque: per-thread working buffers */

struct fm_detect_opts {
	double scale_factor; /* > 1: window growth per pyramid level (OpenCV: 1.1) */
	int min_neighbors;   /* groups with this many raw hits or fewer are dropped; 0: raw */
	uint32_t min_side;   /* smallest face side in pixels; 0: the cascade's window */
	uint32_t max_side;   /* largest face side in pixels; 0: the image's size */
	size_t max_windows;  /* raw windows (cascade hits) per image at most; 0: no limit */
};
/*
 * A photo of a crowd gives a few tens of raw windows per face, some thousands in all; a
 * hundred times that is only reached by images made to repeat a face, and bounds the
 * grouping's time and memory (about 100 bytes a window).
 */
#define FM_DETECT_MAX_WINDOWS_DEFAULT 250000
#define FM_DETECT_OPTS_DEFAULT                                                                     \
	{                                                                                          \
		1.1, 3, 0, 0, FM_DETECT_MAX_WINDOWS_DEFAULT                                        \
	}

struct fm_box {
	int32_t x, y;      /* top-left corner, image pixels */
	int32_t w, h;      /* size, image pixels */
	int32_t neighbors; /* raw windows merged into this box (OpenCV's numDetections) */
};

/*
 * Load a cascade in OpenCV's XML format (the "opencv-cascade-classifier" layout that
 * OpenCV 3 and later write). FM_EIO if the file cannot be read; FM_EFORMAT with the reason
 * for a malformed file, an old-format (opencv-haar-classifier) file, or a feature type
 * other than HAAR and LBP.
 */
int fm_cascade_load(const char *path, struct fm_cascade **out, struct fm_err *err);
/* The same from a buffer (n_bytes long, need not end in NUL). */
int fm_cascade_decode(const char *xml, size_t n_bytes, struct fm_cascade **out, struct fm_err *err);
void fm_cascade_free(struct fm_cascade *c);

/* "HAAR" or "LBP"; the window's width and height in pixels. */
const char *fm_cascade_feature_type(const struct fm_cascade *c);
void fm_cascade_window(const struct fm_cascade *c, uint32_t *width, uint32_t *height);

/*
 * A confidence in (0, 1) that grows with the number of raw windows merged into a box:
 * n / (n + 4), 4 being OpenCV's default min_neighbors + 1, so that a box just above the
 * default threshold scores 0.5; rounded to three decimals, within 0.001 to 0.999.
 */
double fm_box_score(int32_t neighbors);

int fm_detector_new(struct fm_detector **out, struct fm_err *err);
void fm_detector_free(struct fm_detector *d);

/*
 * Detect on a gray image (equalise it first if you want OpenCV's usual recipe). On success
 * *boxes is malloc'd (the caller frees it, NULL when *n is 0), most neighbours first, ties
 * by position. FM_EINVAL for scale_factor <= 1 or min_neighbors < 0, FM_ELIMIT when the
 * scan finds more than max_windows raw windows (it stops there: its time is bounded by the
 * image's pixels, the grouping's by max_windows), FM_ENOMEM.
 */
int fm_cascade_detect(const struct fm_cascade *c, struct fm_detector *d, const struct fm_gray *img,
                      const struct fm_detect_opts *o, struct fm_box **boxes, size_t *n,
                      struct fm_err *err);

/*
 * Large photos. A cascade looks for faces from its window's size (20 or 24 pixels) up, and
 * on a photo of many megapixels nearly all its time goes to windows far smaller than any
 * face the photo is likely to be taken for, which is also where its false faces come from.
 * So a photo whose longer side exceeds work_side is searched on a copy shrunk by area
 * averaging (fm_gray_resize_area) to a longer side of work_side pixels, and the boxes are
 * scaled back to the photo's pixels. FM_PHOTO_WORK_SIDE_DEFAULT is fer-detect's default; 0
 * searches every photo at its full size.
 */
struct fm_photo_opts {
	struct fm_detect_opts detect; /* min_side and max_side in the photo's pixels */
	bool equalize;                /* equalise the searched copy's histogram (OpenCV's recipe) */
	uint32_t work_side;           /* the searched copy's longer side, pixels; 0: full size */
};
#define FM_PHOTO_WORK_SIDE_DEFAULT 1600
#define FM_PHOTO_OPTS_DEFAULT                                                                      \
	{                                                                                          \
		FM_DETECT_OPTS_DEFAULT, true, FM_PHOTO_WORK_SIDE_DEFAULT                           \
	}

/*
 * The size of the copy that fm_cascade_detect_photo searches for a width x height photo:
 * the photo's own when work_side is 0 or not below its longer side. Otherwise the longer
 * side becomes work_side, raised where needed so that a face of detect.min_side pixels
 * (without one, of detect.max_side; with neither, no raise) is still as large as the
 * cascade's window there, and never above the photo's; the shorter side keeps the aspect
 * ratio, rounded to nearest, at least 1.
 */
void fm_cascade_work_size(const struct fm_cascade *c, uint32_t width, uint32_t height,
                          const struct fm_photo_opts *o, uint32_t *work_w, uint32_t *work_h);

/*
 * Detect on a photo as fer-detect does: img (left unchanged) is shrunk to
 * fm_cascade_work_size by area averaging, equalised when o->equalize, and searched with
 * fm_cascade_detect. With f the photo's longer side over the copy's, min_side is divided by
 * f rounded up and max_side rounded down (at least 1), so that no face outside the asked
 * sizes comes back, and each box's x, y, w and h are multiplied by f, rounded to nearest
 * (halves up) and kept inside the photo. Unshrunk, the boxes are exactly fm_cascade_detect's
 * on the photo (equalised when asked), that is OpenCV's. The copy lives in d. Failures as
 * fm_cascade_detect's.
 */
int fm_cascade_detect_photo(const struct fm_cascade *c, struct fm_detector *d,
                            const struct fm_gray *img, const struct fm_photo_opts *o,
                            struct fm_box **boxes, size_t *n, struct fm_err *err);

#endif
