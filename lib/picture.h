/*
 * lib/picture.h: pictures of the records, drawn with cairo (fer-annotate): a photo with each
 * face's box, expression, confidence and a bar of its seven scores; a contact sheet of face
 * crops; and the timeline of a stream of frames (the seven smoothed probabilities stacked
 * over time, the brief expression changes, the songs played) as SVG or PNG.
 *
 * Text is cairo's own ("toy") text in the system's sans-serif face through fontconfig, which
 * needs no layout beyond one line of ASCII names and numbers. Every colour of an expression
 * comes from one table (fm_picture_color), chosen from Okabe and Ito's palette so that the
 * seven stay apart for colour-blind readers too.
 */
#ifndef FM_PICTURE_H
#define FM_PICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base.h"
#include "image.h"
#include "mood.h"

/* A face to draw. */
struct fm_picture_face {
	double x, y, w, h; /* the box in image pixels, w and h > 0 */
	/*
	 * enum fm_emotion; FM_PICTURE_NO_EMOTION for a face nobody classified (fer-detect's),
	 * FM_PICTURE_UNCERTAIN for fer-classify --min-confidence's "uncertain".
	 */
	int emotion;
	bool has_scores;
	double scores[FM_N_EMOTIONS]; /* with has_scores: a distribution */
};
#define FM_PICTURE_NO_EMOTION (-1)
#define FM_PICTURE_UNCERTAIN FM_N_EMOTIONS

/* An expression's colour, components in 0..1; grey for the two values above. */
void fm_picture_color(int emotion, double rgb[3]);

/*
 * A record's "faces" (fer-detect's or fer-classify's) as faces to draw, in *faces (malloc'd,
 * the caller frees it; NULL when *n_faces is 0). A record without "faces" has none.
 * FM_EFORMAT naming the face ("face 2: ...") for "faces" that is not an array, a face that
 * is not an object, a box whose "x", "y", "w", "h" are not finite numbers with w, h > 0 and
 * every corner within +-1e9, an "emotion" that is not one of the seven or "uncertain",
 * "scores" that fm_mood_scores_decode refuses; FM_ELIMIT for more than max_faces faces;
 * FM_ENOMEM.
 */
int fm_picture_faces_decode(const cJSON *rec, size_t max_faces, struct fm_picture_face **faces,
                            size_t *n_faces, struct fm_err *err);

/*
 * The photo img (channels 1 or 3) with faces drawn on it, into *out (channels 3, the same
 * size; the caller frees it with fm_image_free): each box in its expression's colour, and
 * above it (under it, or inside it, when the image ends above it) a label with the expression and
 * its probability in percent ("happy 87%") and under the words the seven scores as bars in the
 * order of enum fm_emotion. Lines and text grow with the box, and never below a size that can be
 * read (10 pixel letters) unless the image itself is smaller; a label is moved to stay inside the
 * image. Boxes that reach outside the image are drawn clipped. Faces are drawn largest first, so
 * that a small face's label is not hidden by a large one's box. FM_EINVAL for no image, FM_ENOMEM.
 */
int fm_picture_annotate(const struct fm_image *img, const struct fm_picture_face *faces,
                        size_t n_faces, struct fm_image *out, struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* A contact sheet: face crops in a grid, each labelled                                       */

/* One cell: a square thumbnail and what it says. */
struct fm_picture_cell {
	struct fm_image thumb; /* cell_px x cell_px, channels 3, owned */
	int emotion;           /* as in struct fm_picture_face */
	double confidence;     /* the expression's score, 0..1; < 0 when there is none */
	char caption[48];      /* a name under the label (the photo's), cut to fit */
};

/* Thumbnails are this many pixels a side unless the caller asks otherwise. */
#define FM_PICTURE_CELL_PX 128
#define FM_PICTURE_MAX_CELL_PX 1024

/*
 * Cut face's box (or, with face NULL, the whole image) out of img, scaled to fit a
 * cell_px square (16 .. FM_PICTURE_MAX_CELL_PX; FM_EINVAL otherwise) and centred on a dark
 * ground, into *cell, with face's expression and confidence and caption (NULL for none;
 * cut to fit). The parts of the box outside the image are the dark ground. FM_ENOMEM.
 */
int fm_picture_cell_make(const struct fm_image *img, const struct fm_picture_face *face,
                         uint32_t cell_px, const char *caption, struct fm_picture_cell *cell,
                         struct fm_err *err);
void fm_picture_cell_free(struct fm_picture_cell *cell);

struct fm_picture_sheet; /* opaque: the cells so far */

/*
 * A sheet of cells cell_px a side, columns to a row (1 .. 100), max_cells at most (>= 1).
 * FM_EINVAL, FM_ENOMEM.
 */
int fm_picture_sheet_new(uint32_t cell_px, uint32_t columns, size_t max_cells,
                         struct fm_picture_sheet **out, struct fm_err *err);
void fm_picture_sheet_free(struct fm_picture_sheet *s);
/* The cells added so far. */
size_t fm_picture_sheet_count(const struct fm_picture_sheet *s);
/*
 * Append cell (of the sheet's cell_px, else FM_EINVAL), which the sheet takes on success
 * (*cell is zeroed); FM_ELIMIT when max_cells are there already, FM_ENOMEM; on failure
 * the caller still owns it.
 */
int fm_picture_sheet_add(struct fm_picture_sheet *s, struct fm_picture_cell *cell,
                         struct fm_err *err);
/*
 * The sheet as an image (channels 3) in *out: the cells in the order added, left to right,
 * top to bottom, columns wide (fewer when there are fewer cells), each with a label bar
 * under the thumbnail in its expression's colour ("sad 64%") and its caption. An empty
 * sheet is one cell's size, saying "no faces". FM_ENOMEM.
 */
int fm_picture_sheet_render(const struct fm_picture_sheet *s, struct fm_image *out,
                            struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* The timeline of a stream of frames                                                         */

struct fm_picture_timeline; /* opaque: the frames, events and songs so far */

/* The picture's size unless the caller asks otherwise, in pixels (SVG: points). */
#define FM_PICTURE_TIMELINE_WIDTH 1200
#define FM_PICTURE_TIMELINE_HEIGHT 420
/* Frames, events and songs kept at most: a day of frames at 30 a second is under this. */
#define FM_PICTURE_TIMELINE_MAX_ITEMS 4000000

enum fm_picture_kind { FM_PICTURE_PNG, FM_PICTURE_SVG, FM_PICTURE_JPEG };

int fm_picture_timeline_new(struct fm_picture_timeline **out, struct fm_err *err);
void fm_picture_timeline_free(struct fm_picture_timeline *tl);

/*
 * Add one record of a stream, fer-classify --smooth's: a frame with "t" (seconds, finite,
 * never before the frame before it) and its "smoothed" distribution, or without
 * "smoothed", its faces pooled by fm_mood_record (a stream not smoothed); a frame with no
 * face is a gap in the plot. An "event" record (a brief expression change: "emotion",
 * "start", "duration" in seconds) is marked on the plot. A fer-react record ("path",
 * "start", "end", "rating") or a play log line is a song (fm_picture_timeline_song). 0, or
 * -1 with nothing added: FM_EFORMAT saying what is wrong (no "t", a "t" that goes back, a
 * "smoothed" that is no distribution), FM_ELIMIT beyond FM_PICTURE_TIMELINE_MAX_ITEMS,
 * FM_ENOMEM.
 */
int fm_picture_timeline_add(struct fm_picture_timeline *tl, const cJSON *rec, struct fm_err *err);

/*
 * A song played from start_sec to end_sec (finite, end >= start) on the frames' clock, drawn
 * as a band along the time axis with label (a file name: its last component without the
 * extension is shown) and, for rating 1..5, the rating (0: none). FM_EINVAL, FM_ELIMIT,
 * FM_ENOMEM.
 */
int fm_picture_timeline_song(struct fm_picture_timeline *tl, const char *label, double start_sec,
                             double end_sec, int rating, struct fm_err *err);

/* How many frames with a distribution the timeline holds. */
size_t fm_picture_timeline_frames(const struct fm_picture_timeline *tl);

/*
 * Draw the timeline width x height (320 .. 20000 by 200 .. 20000, else FM_EINVAL) as an SVG
 * document or a PNG or JPEG file in *bytes (malloc'd, the caller frees it): the seven
 * probabilities stacked in the order of enum fm_emotion from the bottom, over a time axis
 * in seconds (minutes and seconds beyond a minute) spanning the frames, events and songs;
 * the songs as shaded bands with their names; each brief expression change as a mark in
 * its colour over its interval along the top; a legend. Frames are averaged into one
 * column per pixel when there are more of them than pixels; a frame with no face, or a
 * gap of more than four times the usual time between frames (and over a second), breaks
 * the plot, marked "no face" where the words fit. With no frame at all the plot says so.
 * FM_ENOMEM, or FM_EIO when cairo fails.
 */
int fm_picture_timeline_render(const struct fm_picture_timeline *tl, enum fm_picture_kind kind,
                               uint32_t width, uint32_t height, uint8_t **bytes, size_t *n_bytes,
                               struct fm_err *err);

/*
 * Encode an image as fm_picture_kind says: PNG or JPEG (quality 90) through fm_image_encode;
 * FM_EINVAL for SVG, which is for drawings only.
 */
int fm_picture_encode(const struct fm_image *img, enum fm_picture_kind kind, int quality,
                      uint8_t **bytes, size_t *n_bytes, struct fm_err *err);

#endif
