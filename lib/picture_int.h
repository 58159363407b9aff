/*
 * lib/picture_int.h: private to the picture module: what its photo, sheet and timeline files
 * share, the passage between struct fm_image and cairo's surfaces, and the text and colour
 * helpers. cmd/ never includes it.
 */
#ifndef FM_PICTURE_INT_H
#define FM_PICTURE_INT_H

#include <stddef.h>

#include <cairo.h>

#include "base.h"
#include "image.h"
#include "picture.h"

/* cairo's image surfaces hold at most this many pixels a side. */
#define PICTURE_MAX_SIDE 32767u

/*
 * A new RGB24 surface with img's pixels (gray repeated into the three channels), in *out;
 * FM_ELIMIT for a side over PICTURE_MAX_SIDE, FM_ENOMEM.
 */
int picture_surface_from_image(const struct fm_image *img, cairo_surface_t **out,
                               struct fm_err *err);
/* The surface's pixels (RGB24 or ARGB32, alpha dropped) as a new image, channels 3. */
int picture_image_from_surface(cairo_surface_t *s, struct fm_image *out, struct fm_err *err);

/* The sans-serif bold face at px pixels (the em size). */
void picture_font(cairo_t *cr, double px);
/* Black or white, whichever reads better on rgb. */
void picture_ink_on(const double rgb[3], double ink[3]);
/* "happy 87%", "uncertain", or "" for no emotion, in buf (size bytes). */
void picture_label(int emotion, double confidence, char *buf, size_t size);

/* FM_EIO with cairo's words for a status that is not CAIRO_STATUS_SUCCESS, else 0. */
int picture_cairo_check(cairo_status_t st, const char *what, struct fm_err *err);

#endif
