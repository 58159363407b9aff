/*
 * lib/picture.c: a photo's faces drawn on it (fer-annotate), the faces read from a record,
 * and what the picture module's files share: colours, labels, fonts, and the passage
 * between struct fm_image and cairo's image surfaces.
 *
 * Sizes follow the box rather than the image, so that a small face in a large group photo
 * gets a label it can carry and a portrait a large one; a floor of readable letters holds
 * except in an image too small for them, where the label shrinks to fit its width.
 */
#include "picture_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Okabe and Ito's colour-blind-safe palette (2008), one colour per expression, with sad and
 * surprise on its two blues, and neutral grey: angry vermilion, disgust bluish green, fear
 * reddish purple, happy orange, sad blue, surprise sky blue.
 */
static const double PALETTE[FM_N_EMOTIONS][3] = {
    {0.835, 0.369, 0.000}, /* angry */
    {0.000, 0.620, 0.451}, /* disgust */
    {0.800, 0.475, 0.655}, /* fear */
    {0.902, 0.624, 0.000}, /* happy */
    {0.000, 0.447, 0.698}, /* sad */
    {0.337, 0.706, 0.914}, /* surprise */
    {0.600, 0.600, 0.600}, /* neutral */
};

void
fm_picture_color(int emotion, double rgb[3])
{
	if (emotion >= 0 && emotion < FM_N_EMOTIONS) {
		memcpy(rgb, PALETTE[emotion], sizeof PALETTE[0]);
		return;
	}
	/* A face without an answer: light and plain, apart from all seven. */
	rgb[0] = rgb[1] = rgb[2] = emotion == FM_PICTURE_UNCERTAIN ? 0.85 : 1.0;
}

void
picture_ink_on(const double rgb[3], double ink[3])
{
	/* Relative luminance, roughly: the palette's orange and sky blue want black letters. */
	double y = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
	double v = y > 0.5 ? 0.0 : 1.0;

	ink[0] = ink[1] = ink[2] = v;
}

void
picture_label(int emotion, double confidence, char *buf, size_t size)
{
	if (emotion >= 0 && emotion < FM_N_EMOTIONS && confidence >= 0)
		snprintf(buf, size, "%s %.0f%%", fm_emotion_name((enum fm_emotion)emotion),
		         100.0 * confidence);
	else if (emotion >= 0 && emotion < FM_N_EMOTIONS)
		snprintf(buf, size, "%s", fm_emotion_name((enum fm_emotion)emotion));
	else if (emotion == FM_PICTURE_UNCERTAIN)
		snprintf(buf, size, "%s", FM_MOOD_UNCERTAIN);
	else if (size > 0)
		buf[0] = '\0';
}

void
picture_font(cairo_t *cr, double px)
{
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, px);
}

int
picture_cairo_check(cairo_status_t st, const char *what, struct fm_err *err)
{
	if (st == CAIRO_STATUS_SUCCESS)
		return 0;
	if (st == CAIRO_STATUS_NO_MEMORY)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %s", what);
	return fm_err_set(err, FM_EIO, "cannot draw %s: %s", what, cairo_status_to_string(st));
}

int
picture_surface_from_image(const struct fm_image *img, cairo_surface_t **out, struct fm_err *err)
{
	cairo_surface_t *s;

	*out = NULL;
	if (img->width == 0 || img->height == 0 || img->pixels == NULL ||
	    (img->channels != 1 && img->channels != 3))
		return fm_err_set(err, FM_EINVAL, "no image to draw on");
	if (img->width > PICTURE_MAX_SIDE || img->height > PICTURE_MAX_SIDE)
		return fm_err_set(err, FM_ELIMIT,
		                  "image is %ux%u pixels, pictures are drawn at most %u a side",
		                  img->width, img->height, PICTURE_MAX_SIDE);
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)img->width, (int)img->height);
	if (picture_cairo_check(cairo_surface_status(s), "an image", err) == -1) {
		cairo_surface_destroy(s);
		return -1;
	}
	cairo_surface_flush(s);
	uint8_t *data = cairo_image_surface_get_data(s);
	size_t stride = (size_t)cairo_image_surface_get_stride(s);

	for (uint32_t y = 0; y < img->height; y++) {
		uint32_t *row = (uint32_t *)(void *)(data + y * stride);
		const uint8_t *src = img->pixels + (size_t)y * img->width * img->channels;

		for (uint32_t x = 0; x < img->width; x++) {
			uint32_t r, g, b;

			if (img->channels == 1) {
				r = g = b = src[x];
			} else {
				r = src[3 * x];
				g = src[3 * x + 1];
				b = src[3 * x + 2];
			}
			row[x] = 0xff000000u | r << 16 | g << 8 | b;
		}
	}
	cairo_surface_mark_dirty(s);
	*out = s;
	return 0;
}

int
picture_image_from_surface(cairo_surface_t *s, struct fm_image *out, struct fm_err *err)
{
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);

	memset(out, 0, sizeof *out);
	cairo_surface_flush(s);
	if (w <= 0 || h <= 0)
		return fm_err_set(err, FM_EINVAL, "no picture");
	out->pixels = malloc((size_t)w * (size_t)h * 3);
	if (out->pixels == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a %dx%d picture", w, h);
	out->width = (uint32_t)w;
	out->height = (uint32_t)h;
	out->channels = 3;

	const uint8_t *data = cairo_image_surface_get_data(s);
	size_t stride = (size_t)cairo_image_surface_get_stride(s);

	for (int y = 0; y < h; y++) {
		const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)y * stride);
		uint8_t *dst = out->pixels + (size_t)y * (size_t)w * 3;

		/* Opaque everywhere we draw, so ARGB32's premultiplied values are the colours. */
		for (int x = 0; x < w; x++) {
			dst[3 * x] = (uint8_t)(row[x] >> 16);
			dst[3 * x + 1] = (uint8_t)(row[x] >> 8);
			dst[3 * x + 2] = (uint8_t)row[x];
		}
	}
	return 0;
}

int
fm_picture_encode(const struct fm_image *img, enum fm_picture_kind kind, int quality,
                  uint8_t **bytes, size_t *n_bytes, struct fm_err *err)
{
	switch (kind) {
	case FM_PICTURE_PNG:
		return fm_image_encode(img, FM_IMAGE_PNG, quality, bytes, n_bytes, err);
	case FM_PICTURE_JPEG:
		return fm_image_encode(img, FM_IMAGE_JPEG, quality, bytes, n_bytes, err);
	case FM_PICTURE_SVG:
		break;
	}
	*bytes = NULL;
	*n_bytes = 0;
	return fm_err_set(err, FM_EINVAL, "a photo cannot be written as SVG");
}

/* ---- faces from a record ---- */

/* Corners beyond this are no photo's: a guard before the arithmetic, not a limit anyone meets. */
#define MAX_COORD 1e9

static int
box_number(const cJSON *face, const char *name, double *v, size_t k, struct fm_err *err)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(face, name);

	if (!cJSON_IsNumber(n) || !isfinite(n->valuedouble))
		return fm_err_set(err, FM_EFORMAT, "face %zu: \"%s\" is not a number of pixels", k,
		                  name);
	if (fabs(n->valuedouble) > MAX_COORD)
		return fm_err_set(err, FM_EFORMAT, "face %zu: \"%s\" %g is beyond %g pixels", k,
		                  name, n->valuedouble, MAX_COORD);
	*v = n->valuedouble;
	return 0;
}

static int
decode_face(const cJSON *f, size_t k, struct fm_picture_face *face, struct fm_err *err)
{
	struct fm_err why;

	memset(face, 0, sizeof *face);
	face->emotion = FM_PICTURE_NO_EMOTION;
	if (!cJSON_IsObject(f))
		return fm_err_set(err, FM_EFORMAT, "face %zu is not an object", k);
	if (box_number(f, "x", &face->x, k, err) == -1 ||
	    box_number(f, "y", &face->y, k, err) == -1 ||
	    box_number(f, "w", &face->w, k, err) == -1 ||
	    box_number(f, "h", &face->h, k, err) == -1)
		return -1;
	if (!(face->w > 0 && face->h > 0))
		return fm_err_set(err, FM_EFORMAT,
		                  "face %zu: the box's \"w\" and \"h\" must be > 0", k);
	const cJSON *emo = cJSON_GetObjectItemCaseSensitive(f, "emotion");
	const cJSON *scores = cJSON_GetObjectItemCaseSensitive(f, "scores");

	if (scores != NULL && !cJSON_IsNull(scores)) {
		if (fm_mood_scores_decode(scores, face->scores, &why) == -1)
			return fm_err_set(err, FM_EFORMAT, "face %zu: %s", k, why.msg);
		face->has_scores = true;
	}
	if (emo != NULL && !cJSON_IsNull(emo)) {
		enum fm_emotion e;

		if (!cJSON_IsString(emo))
			return fm_err_set(err, FM_EFORMAT, "face %zu: \"emotion\" is not a string",
			                  k);
		if (strcmp(emo->valuestring, FM_MOOD_UNCERTAIN) == 0) {
			face->emotion = FM_PICTURE_UNCERTAIN;
		} else if (fm_emotion_parse(emo->valuestring, &e, &why) == -1) {
			return fm_err_set(err, FM_EFORMAT, "face %zu: %s", k, why.msg);
		} else {
			face->emotion = (int)e;
		}
	} else if (face->has_scores) {
		face->emotion = (int)fm_mood_top(face->scores);
	}
	return 0;
}

int
fm_picture_faces_decode(const cJSON *rec, size_t max_faces, struct fm_picture_face **faces,
                        size_t *n_faces, struct fm_err *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(rec, "faces");
	size_t n, k = 0;
	const cJSON *f;

	*faces = NULL;
	*n_faces = 0;
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return fm_err_set(err, FM_EFORMAT, "\"faces\" is not an array");
	n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0)
		return 0;
	if (n > max_faces)
		return fm_err_set(err, FM_ELIMIT, "%zu faces, limit %zu (see --max-faces)", n,
		                  max_faces);
	*faces = calloc(n, sizeof **faces);
	if (*faces == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu faces", n);
	cJSON_ArrayForEach(f, arr)
	{
		if (decode_face(f, k + 1, &(*faces)[k], err) == -1) {
			free(*faces);
			*faces = NULL;
			return -1;
		}
		k++;
	}
	*n_faces = k;
	return 0;
}

/* ---- a photo's faces drawn ---- */

static double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int
by_area_desc(const void *a, const void *b)
{
	const struct fm_picture_face *fa = *(const struct fm_picture_face *const *)a;
	const struct fm_picture_face *fb = *(const struct fm_picture_face *const *)b;
	double da = fa->w * fa->h, db = fb->w * fb->h;

	return (da < db) - (da > db);
}

/* The label block over one face: expression and percent, and under them the seven bars. */
static void
draw_label(cairo_t *cr, const struct fm_picture_face *f, double img_w, double img_h, double line_w)
{
	double rgb[3], ink[3], conf = -1;
	char text[64];
	cairo_text_extents_t te;
	cairo_font_extents_t fe;

	if (f->emotion == FM_PICTURE_NO_EMOTION)
		return;
	if (f->has_scores && f->emotion >= 0 && f->emotion < FM_N_EMOTIONS)
		conf = f->scores[f->emotion];
	picture_label(f->emotion, conf, text, sizeof text);
	fm_picture_color(f->emotion, rgb);
	picture_ink_on(rgb, ink);

	/* Letters an eighth of the face, read at 11 pixels or more, and never a 16th of the image.
	 */
	double side = fmin(f->w, f->h);
	double floor_px = fmin(11.0, fmax(6.0, img_w / 8.0));
	double px = fmax(floor_px, side / 8.0);

	px = fmin(px, fmax(floor_px, fmin(img_w, img_h) / 16.0));
	picture_font(cr, px);
	cairo_text_extents(cr, text, &te);
	double pad = px * 0.3;
	double width = te.x_advance + 2 * pad;

	if (width > img_w) { /* an image narrower than its label: the label shrinks to fit */
		px *= img_w / width;
		picture_font(cr, px);
		cairo_text_extents(cr, text, &te);
		pad = px * 0.3;
		width = te.x_advance + 2 * pad;
	}
	cairo_font_extents(cr, &fe);
	double text_h = fe.ascent + fe.descent + pad;
	double bars_h = f->has_scores ? px * 1.4 : 0;
	double height = text_h + bars_h + (f->has_scores ? pad : 0);
	/* The bars need room for seven: a label wider than its words when the words are short. */
	if (f->has_scores)
		width = fmax(width, 7 * fmax(3.0, px * 0.5) + 2 * pad);
	width = fmin(width, img_w);

	double x = clampd(f->x - line_w / 2, 0, fmax(0, img_w - width));
	double y = f->y - line_w / 2 - height;

	/* No room above: under the box, or failing that inside it, under its top edge. */
	if (y < 0)
		y = f->y + f->h + line_w / 2 <= img_h - height ? f->y + f->h + line_w / 2
		                                               : f->y + line_w / 2;
	y = clampd(y, 0, fmax(0, img_h - height));

	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	cairo_rectangle(cr, x, y, width, text_h);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, ink[0], ink[1], ink[2]);
	cairo_move_to(cr, x + pad - te.x_bearing, y + pad / 2 + fe.ascent);
	cairo_show_text(cr, text);
	if (!f->has_scores)
		return;

	/* The seven scores, as bars on a dark ground, in the order of the records. */
	double by = y + text_h, bh = bars_h + pad;

	cairo_set_source_rgba(cr, 0, 0, 0, 0.75);
	cairo_rectangle(cr, x, by, width, bh);
	cairo_fill(cr);
	double slot = (width - 2 * pad) / FM_N_EMOTIONS;
	double gap = fmin(slot * 0.2, px * 0.15);

	for (int k = 0; k < FM_N_EMOTIONS; k++) {
		double c[3], v = clampd(f->scores[k], 0, 1);
		double hgt = fmax(v * bars_h, v > 0 ? 1.0 : 0.0);

		fm_picture_color(k, c);
		cairo_set_source_rgb(cr, c[0], c[1], c[2]);
		cairo_rectangle(cr, x + pad + k * slot + gap / 2, by + pad / 2 + bars_h - hgt,
		                slot - gap, hgt);
		cairo_fill(cr);
		/* A faint track, so that an empty slot still shows there is an expression there. */
		cairo_set_source_rgba(cr, c[0], c[1], c[2], 0.35);
		cairo_rectangle(cr, x + pad + k * slot + gap / 2, by + pad / 2 + bars_h - 1,
		                slot - gap, 1);
		cairo_fill(cr);
	}
}

static void
draw_box(cairo_t *cr, const struct fm_picture_face *f, double line_w, double img_w, double img_h)
{
	double rgb[3];
	/*
	 * Edges beyond the image are moved to just outside it, where they stay unseen: cairo
	 * keeps coordinates in 24.8 fixed point, which a box a million pixels off would wrap.
	 */
	double m = line_w + 4;
	double x0 = clampd(f->x, -m, img_w + m), x1 = clampd(f->x + f->w, -m, img_w + m);
	double y0 = clampd(f->y, -m, img_h + m), y1 = clampd(f->y + f->h, -m, img_h + m);

	fm_picture_color(f->emotion, rgb);
	/* A dark rim under the colour, so that a box shows on a light ground as on a dark one. */
	cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
	cairo_set_line_width(cr, line_w + 2);
	cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
	cairo_stroke(cr);
	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	cairo_set_line_width(cr, line_w);
	cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
	cairo_stroke(cr);
}

static double
box_line_width(const struct fm_picture_face *f)
{
	return clampd(fmin(f->w, f->h) / 40.0, 1.5, 12.0);
}

int
fm_picture_annotate(const struct fm_image *img, const struct fm_picture_face *faces, size_t n_faces,
                    struct fm_image *out, struct fm_err *err)
{
	cairo_surface_t *s = NULL;
	cairo_t *cr = NULL;
	const struct fm_picture_face **order = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (picture_surface_from_image(img, &s, err) == -1)
		return -1;
	if (n_faces > 0) {
		order = malloc(n_faces * sizeof *order);
		if (order == NULL) {
			fm_err_set(err, FM_ENOMEM, "out of memory for %zu faces", n_faces);
			goto fail;
		}
		for (size_t k = 0; k < n_faces; k++)
			order[k] = &faces[k];
		qsort(order, n_faces, sizeof *order, by_area_desc);
	}
	cr = cairo_create(s);
	if (picture_cairo_check(cairo_status(cr), "a photo", err) == -1)
		goto fail;
	/* Boxes first, then every label over them, so that no box crosses a label's words. */
	for (size_t k = 0; k < n_faces; k++)
		draw_box(cr, order[k], box_line_width(order[k]), img->width, img->height);
	for (size_t k = 0; k < n_faces; k++)
		draw_label(cr, order[k], img->width, img->height, box_line_width(order[k]));
	if (picture_cairo_check(cairo_status(cr), "a photo", err) == -1)
		goto fail;
	rc = picture_image_from_surface(s, out, err);
fail:
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	free(order);
	return rc;
}
