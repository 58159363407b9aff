/*
 * lib/picture_sheet.c: a contact sheet, the faces of a batch side by side, each over a bar
 * in its expression's colour that names it, so that a wrong answer stands out at a glance
 * among the right ones.
 *
 * Thumbnails are scaled by cairo with its GOOD filter (box filtering when shrinking), with
 * the box's proportions, on a dark square.
 */
#include "picture_int.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fm_picture_sheet {
	uint32_t cell_px, columns;
	size_t max_cells;
	struct fm_picture_cell *cells;
	size_t n_cells, cap;
};

static const double GROUND[3] = {0.12, 0.12, 0.12};

int
fm_picture_cell_make(const struct fm_image *img, const struct fm_picture_face *face,
                     uint32_t cell_px, const char *caption, struct fm_picture_cell *cell,
                     struct fm_err *err)
{
	cairo_surface_t *src = NULL, *dst = NULL;
	cairo_t *cr = NULL;
	int rc = -1;

	memset(cell, 0, sizeof *cell);
	if (cell_px < 16 || cell_px > FM_PICTURE_MAX_CELL_PX)
		return fm_err_set(err, FM_EINVAL, "a cell of %u pixels is not in 16..%u", cell_px,
		                  FM_PICTURE_MAX_CELL_PX);
	if (picture_surface_from_image(img, &src, err) == -1)
		return -1;
	double x = 0, y = 0, w = img->width, h = img->height;

	cell->emotion = FM_PICTURE_NO_EMOTION;
	cell->confidence = -1;
	if (face != NULL) {
		x = face->x;
		y = face->y;
		w = face->w;
		h = face->h;
		cell->emotion = face->emotion;
		if (face->has_scores && face->emotion >= 0 && face->emotion < FM_N_EMOTIONS)
			cell->confidence = face->scores[face->emotion];
	}
	if (caption != NULL)
		snprintf(cell->caption, sizeof cell->caption, "%s", caption);
	dst = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)cell_px, (int)cell_px);
	cr = cairo_create(dst);
	if (picture_cairo_check(cairo_status(cr), "a face", err) == -1)
		goto fail;
	cairo_set_source_rgb(cr, GROUND[0], GROUND[1], GROUND[2]);
	cairo_paint(cr);

	/*
	 * A box under a pixel is shown as one pixel, and nothing of the image is painted into a
	 * box so much larger than the image that it would cover under a pixel of the cell: cairo
	 * refuses the scales either would take (its matrices must stay invertible in floats).
	 */
	w = fmax(w, 1);
	h = fmax(h, 1);
	double scale = cell_px / fmax(w, h);
	bool visible = scale * fmax(img->width, img->height) >= 1;

	/* Centred: a box wider than tall leaves bands above and below, as a photo's would. */
	if (!visible)
		goto done;
	cairo_translate(cr, (cell_px - w * scale) / 2, (cell_px - h * scale) / 2);
	cairo_rectangle(cr, 0, 0, w * scale, h * scale);
	cairo_clip(cr);
	cairo_scale(cr, scale, scale);
	cairo_set_source_surface(cr, src, -x, -y);
	/*
	 * GOOD's box filter grows with the shrinking: kept for real faces, while a hostile box a
	 * million times the cell falls back to bilinear, whose cost does not grow.
	 */
	cairo_pattern_set_filter(cairo_get_source(cr),
	                         scale >= 1.0 / 32 ? CAIRO_FILTER_GOOD : CAIRO_FILTER_BILINEAR);
	/* Outside the image is the ground, not the edge pixels repeated. */
	cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_NONE);
	cairo_paint(cr);
done:
	if (picture_cairo_check(cairo_status(cr), "a face", err) == -1)
		goto fail;
	rc = picture_image_from_surface(dst, &cell->thumb, err);
fail:
	cairo_destroy(cr);
	cairo_surface_destroy(dst);
	cairo_surface_destroy(src);
	return rc;
}

void
fm_picture_cell_free(struct fm_picture_cell *cell)
{
	if (cell == NULL)
		return;
	fm_image_free(&cell->thumb);
	memset(cell, 0, sizeof *cell);
}

int
fm_picture_sheet_new(uint32_t cell_px, uint32_t columns, size_t max_cells,
                     struct fm_picture_sheet **out, struct fm_err *err)
{
	*out = NULL;
	if (cell_px < 16 || cell_px > FM_PICTURE_MAX_CELL_PX || columns < 1 || columns > 100 ||
	    max_cells < 1)
		return fm_err_set(err, FM_EINVAL, "a sheet of %u columns of %u pixels", columns,
		                  cell_px);
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a sheet");
	(*out)->cell_px = cell_px;
	(*out)->columns = columns;
	(*out)->max_cells = max_cells;
	return 0;
}

void
fm_picture_sheet_free(struct fm_picture_sheet *s)
{
	if (s == NULL)
		return;
	for (size_t k = 0; k < s->n_cells; k++)
		fm_picture_cell_free(&s->cells[k]);
	free(s->cells);
	free(s);
}

size_t
fm_picture_sheet_count(const struct fm_picture_sheet *s)
{
	return s->n_cells;
}

int
fm_picture_sheet_add(struct fm_picture_sheet *s, struct fm_picture_cell *cell, struct fm_err *err)
{
	if (cell->thumb.width != s->cell_px || cell->thumb.height != s->cell_px ||
	    cell->thumb.channels != 3)
		return fm_err_set(err, FM_EINVAL, "a cell of another size than the sheet's");
	if (s->n_cells == s->max_cells)
		return fm_err_set(err, FM_ELIMIT, "the sheet is full at %zu faces", s->max_cells);
	if (s->n_cells == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct fm_picture_cell *grown = realloc(s->cells, cap * sizeof *grown);

		if (grown == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory for the sheet");
		s->cells = grown;
		s->cap = cap;
	}
	s->cells[s->n_cells++] = *cell;
	memset(cell, 0, sizeof *cell);
	return 0;
}

/* Text cut at the end with ".." until it fits width at the current font. */
static void
fit_text(cairo_t *cr, const char *text, double width, char *buf, size_t size)
{
	cairo_text_extents_t te;
	size_t n = strlen(text);

	snprintf(buf, size, "%s", text);
	cairo_text_extents(cr, buf, &te);
	while (te.x_advance > width && n > 0) {
		n--;
		snprintf(buf, size, "%.*s..", (int)n, text);
		cairo_text_extents(cr, buf, &te);
	}
}

int
fm_picture_sheet_render(const struct fm_picture_sheet *s, struct fm_image *out, struct fm_err *err)
{
	uint32_t cols =
	    s->n_cells < s->columns ? (uint32_t)(s->n_cells ? s->n_cells : 1) : s->columns;
	size_t rows = s->n_cells ? (s->n_cells + cols - 1) / cols : 1;
	double px = fmax(9.0, s->cell_px / 9.0);
	uint32_t label_h = (uint32_t)ceil(px * 2.7);
	uint32_t gap = s->cell_px / 16 + 2;
	uint64_t width = (uint64_t)cols * (s->cell_px + gap) + gap;
	uint64_t height = (uint64_t)rows * (s->cell_px + label_h + gap) + gap;
	cairo_surface_t *dst = NULL, *cell = NULL;
	cairo_t *cr = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (width > PICTURE_MAX_SIDE || height > PICTURE_MAX_SIDE)
		return fm_err_set(
		    err, FM_ELIMIT, "a sheet of %zu faces is %llux%llu pixels, over %u", s->n_cells,
		    (unsigned long long)width, (unsigned long long)height, PICTURE_MAX_SIDE);
	dst = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
	cr = cairo_create(dst);
	if (picture_cairo_check(cairo_status(cr), "a sheet", err) == -1)
		goto fail;
	cairo_set_source_rgb(cr, 0.96, 0.96, 0.96);
	cairo_paint(cr);
	picture_font(cr, px);
	if (s->n_cells == 0) {
		cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
		cairo_move_to(cr, gap + px / 2, gap + s->cell_px / 2.0);
		cairo_show_text(cr, "no faces");
	}
	for (size_t k = 0; k < s->n_cells; k++) {
		const struct fm_picture_cell *c = &s->cells[k];
		double x = gap + (double)(k % cols) * (s->cell_px + gap);
		double y = gap + (double)(k / cols) * (s->cell_px + label_h + gap);
		double rgb[3], ink[3];
		char text[64], fit[64];
		cairo_font_extents_t fe;

		if (picture_surface_from_image(&c->thumb, &cell, err) == -1)
			goto fail;
		cairo_set_source_surface(cr, cell, x, y);
		cairo_paint(cr);
		cairo_surface_destroy(cell);
		cell = NULL;

		fm_picture_color(c->emotion, rgb);
		picture_ink_on(rgb, ink);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		cairo_rectangle(cr, x, y + s->cell_px, s->cell_px, label_h);
		cairo_fill(cr);
		cairo_font_extents(cr, &fe);
		picture_label(c->emotion, c->confidence, text, sizeof text);
		if (text[0] == '\0')
			snprintf(text, sizeof text, "face");
		cairo_set_source_rgb(cr, ink[0], ink[1], ink[2]);
		picture_font(cr, px);
		fit_text(cr, text, s->cell_px - px * 0.6, fit, sizeof fit);
		cairo_move_to(cr, x + px * 0.3, y + s->cell_px + px * 0.2 + fe.ascent);
		cairo_show_text(cr, fit);
		/* The caption smaller and plain: it says where, the label says what. */
		cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
		                       CAIRO_FONT_WEIGHT_NORMAL);
		cairo_set_font_size(cr, px * 0.85);
		fit_text(cr, c->caption, s->cell_px - px * 0.6, fit, sizeof fit);
		cairo_move_to(cr, x + px * 0.3, y + s->cell_px + px * 1.35 + fe.ascent);
		cairo_show_text(cr, fit);
		picture_font(cr, px);
	}
	if (picture_cairo_check(cairo_status(cr), "a sheet", err) == -1)
		goto fail;
	rc = picture_image_from_surface(dst, out, err);
fail:
	cairo_surface_destroy(cell);
	cairo_destroy(cr);
	cairo_surface_destroy(dst);
	return rc;
}
