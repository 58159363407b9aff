/*
 * tests/unit/test_picture.c: lib/picture (cmocka), and the encoders of lib/image it writes
 * through: a photo's faces drawn where their boxes are and nowhere else, labels inside the
 * image at every size, faces read from records and bad ones refused, the contact sheet's
 * grid, and the timeline as an SVG document and a PNG of the size asked for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "mood.h"
#include "ndjson.h"
#include "picture.h"

static cJSON *
parse(const char *json)
{
	cJSON *rec;
	struct fm_err err;

	assert_int_equal(fm_ndjson_parse(json, strlen(json), 0, &rec, &err), 0);
	return rec;
}

/* A w x h RGB image of one colour. */
static struct fm_image
plain(uint32_t w, uint32_t h, uint8_t r, uint8_t g, uint8_t b)
{
	struct fm_image img = {.width = w, .height = h, .channels = 3};

	img.pixels = malloc((size_t)w * h * 3);
	assert_non_null(img.pixels);
	for (size_t k = 0; k < (size_t)w * h; k++) {
		img.pixels[3 * k] = r;
		img.pixels[3 * k + 1] = g;
		img.pixels[3 * k + 2] = b;
	}
	return img;
}

static const uint8_t *
at(const struct fm_image *img, uint32_t x, uint32_t y)
{
	return img->pixels + ((size_t)y * img->width + x) * 3;
}

static bool
is_rgb(const struct fm_image *img, uint32_t x, uint32_t y, uint8_t r, uint8_t g, uint8_t b)
{
	const uint8_t *p = at(img, x, y);

	return p[0] == r && p[1] == g && p[2] == b;
}

static struct fm_picture_face
happy_face(double x, double y, double w, double h)
{
	struct fm_picture_face f = {.x = x, .y = y, .w = w, .h = h, .emotion = FM_HAPPY};

	f.has_scores = true;
	f.scores[FM_HAPPY] = 0.8;
	f.scores[FM_NEUTRAL] = 0.2;
	return f;
}

static void
the_box_is_drawn_in_the_expressions_colour_and_the_rest_is_untouched(void **state)
{
	struct fm_image img = plain(400, 300, 10, 20, 30), out;
	struct fm_picture_face f = happy_face(150, 120, 100, 100);
	struct fm_err err;
	double rgb[3];

	(void)state;
	assert_int_equal(fm_picture_annotate(&img, &f, 1, &out, &err), 0);
	assert_int_equal(out.width, 400);
	assert_int_equal(out.height, 300);
	assert_int_equal(out.channels, 3);
	fm_picture_color(FM_HAPPY, rgb);
	/* The middle of the box's left edge is the palette's orange (within rounding). */
	const uint8_t *p = at(&out, 150, 170);

	assert_true(abs(p[0] - (int)lround(rgb[0] * 255)) <= 1);
	assert_true(abs(p[1] - (int)lround(rgb[1] * 255)) <= 1);
	assert_true(abs(p[2] - (int)lround(rgb[2] * 255)) <= 1);
	/* Inside the box, below the label, and far outside: the photo as it was. */
	assert_true(is_rgb(&out, 200, 200, 10, 20, 30));
	assert_true(is_rgb(&out, 20, 280, 10, 20, 30));
	assert_true(is_rgb(&out, 390, 10, 10, 20, 30));
	/* The label sits above the box: something is drawn there. */
	assert_false(is_rgb(&out, 160, 110, 10, 20, 30));
	fm_image_free(&out);
	fm_image_free(&img);
}

static void
a_gray_photo_comes_out_in_colour(void **state)
{
	struct fm_image img = {.width = 64, .height = 48, .channels = 1}, out;
	struct fm_err err;

	(void)state;
	img.pixels = calloc(64 * 48, 1);
	assert_int_equal(fm_picture_annotate(&img, NULL, 0, &out, &err), 0);
	assert_int_equal(out.channels, 3);
	assert_true(is_rgb(&out, 30, 30, 0, 0, 0));
	fm_image_free(&out);
	fm_image_free(&img);
}

/* The rows and columns where the drawing differs from the plain ground. */
static void
drawn_extent(const struct fm_image *out, uint8_t v, uint32_t *x0, uint32_t *y0, uint32_t *x1,
             uint32_t *y1)
{
	*x0 = *y0 = UINT32_MAX;
	*x1 = *y1 = 0;
	for (uint32_t y = 0; y < out->height; y++)
		for (uint32_t x = 0; x < out->width; x++)
			if (!is_rgb(out, x, y, v, v, v)) {
				*x0 = x < *x0 ? x : *x0;
				*y0 = y < *y0 ? y : *y0;
				*x1 = x > *x1 ? x : *x1;
				*y1 = y > *y1 ? y : *y1;
			}
}

/* Pixels of the happy orange: the box's edges and the label's ground. */
static size_t
count_orange(const struct fm_image *out)
{
	double rgb[3];
	size_t n = 0;

	fm_picture_color(FM_HAPPY, rgb);
	for (uint32_t y = 0; y < out->height; y++)
		for (uint32_t x = 0; x < out->width; x++)
			n += is_rgb(out, x, y, (uint8_t)lround(rgb[0] * 255),
			            (uint8_t)lround(rgb[1] * 255), (uint8_t)lround(rgb[2] * 255));
	return n;
}

static void
labels_stay_inside_the_image_at_every_size(void **state)
{
	static const uint32_t sides[] = {48, 100, 640, 2000};
	struct fm_err err;

	(void)state;
	for (size_t k = 0; k < sizeof sides / sizeof sides[0]; k++) {
		uint32_t s = sides[k];
		struct fm_image img = plain(s, s, 128, 128, 128), corner, middle;
		/* At the top right corner the label can go neither above nor right of the box. */
		struct fm_picture_face c = happy_face(s * 0.75, 0, s * 0.25, s * 0.25);
		struct fm_picture_face m = happy_face(s * 0.375, s * 0.5, s * 0.25, s * 0.25);

		assert_int_equal(fm_picture_annotate(&img, &c, 1, &corner, &err), 0);
		assert_int_equal(fm_picture_annotate(&img, &m, 1, &middle, &err), 0);
		/*
		 * Moved rather than cut: the corner's label shows as much orange as the one in
		 * the middle, less the box's top edge, which the image's edge cuts in half.
		 */
		size_t nc = count_orange(&corner), nm = count_orange(&middle);

		assert_true(nm > 0);
		assert_true(nc * 10 >= nm * 8);
		fm_image_free(&corner);
		fm_image_free(&middle);
		fm_image_free(&img);
	}
}

static void
the_label_grows_with_the_box(void **state)
{
	struct fm_image img = plain(1000, 1000, 128, 128, 128), out_small, out_large;
	struct fm_picture_face small = happy_face(100, 400, 60, 60);
	struct fm_picture_face large = happy_face(100, 400, 400, 400);
	struct fm_err err;
	uint32_t x0, y0, x1, y1, small_h, large_h;

	(void)state;
	assert_int_equal(fm_picture_annotate(&img, &small, 1, &out_small, &err), 0);
	assert_int_equal(fm_picture_annotate(&img, &large, 1, &out_large, &err), 0);
	/* The label is what is drawn above the box's top (y 400). */
	drawn_extent(&out_small, 128, &x0, &y0, &x1, &y1);
	small_h = 400 - y0;
	drawn_extent(&out_large, 128, &x0, &y0, &x1, &y1);
	large_h = 400 - y0;
	assert_true(small_h >= 14); /* 11-pixel letters and the bars at the least */
	assert_true(large_h > 2 * small_h);
	fm_image_free(&out_small);
	fm_image_free(&out_large);
	fm_image_free(&img);
}

static void
faces_are_read_from_a_record(void **state)
{
	cJSON *rec = parse("{\"path\":\"a.jpg\",\"faces\":["
	                   "{\"x\":1,\"y\":2,\"w\":30,\"h\":40,\"emotion\":\"sad\","
	                   "\"scores\":{\"sad\":0.6,\"neutral\":0.4}},"
	                   "{\"x\":5,\"y\":6,\"w\":7,\"h\":8,\"score\":0.9},"
	                   "{\"x\":5,\"y\":6,\"w\":7,\"h\":8,\"emotion\":\"uncertain\"}]}");
	struct fm_picture_face *faces;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_picture_faces_decode(rec, 10, &faces, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(faces[0].emotion, FM_SAD);
	assert_true(faces[0].has_scores);
	assert_float_equal(faces[0].scores[FM_SAD], 0.6, 1e-12);
	assert_float_equal(faces[0].h, 40, 0);
	assert_int_equal(faces[1].emotion, FM_PICTURE_NO_EMOTION);
	assert_false(faces[1].has_scores);
	assert_int_equal(faces[2].emotion, FM_PICTURE_UNCERTAIN);
	free(faces);
	/* A limit on faces. */
	assert_int_equal(fm_picture_faces_decode(rec, 2, &faces, &n, &err), -1);
	assert_int_equal(err.code, FM_ELIMIT);
	cJSON_Delete(rec);
	/* No faces: none, not an error. */
	rec = parse("{\"path\":\"a.jpg\"}");
	assert_int_equal(fm_picture_faces_decode(rec, 10, &faces, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(faces);
	cJSON_Delete(rec);
}

static void
bad_faces_are_refused_naming_the_face(void **state)
{
	static const char *const bad[] = {
	    "{\"faces\":3}",
	    "{\"faces\":[1]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"w\":0,\"h\":5}]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"w\":-3,\"h\":5}]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"w\":\"5\",\"h\":5}]}",
	    "{\"faces\":[{\"x\":1e300,\"y\":0,\"w\":5,\"h\":5}]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"h\":5}]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"w\":5,\"h\":5,\"emotion\":\"glee\"}]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"w\":5,\"h\":5,\"emotion\":7}]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"w\":5,\"h\":5,\"scores\":{\"sad\":-1}}]}",
	    "{\"faces\":[{\"x\":0,\"y\":0,\"w\":5,\"h\":5,\"scores\":[]}]}",
	};
	struct fm_picture_face *faces;
	size_t n;
	struct fm_err err;

	(void)state;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		cJSON *rec = parse(bad[k]);

		assert_int_equal(fm_picture_faces_decode(rec, 10, &faces, &n, &err), -1);
		assert_int_equal(err.code, FM_EFORMAT);
		assert_null(faces);
		if (k >= 2)
			assert_non_null(strstr(err.msg, "face 1"));
		cJSON_Delete(rec);
	}
}

static void
png_and_jpeg_encode_what_decodes_back(void **state)
{
	struct fm_image img = plain(33, 17, 200, 100, 50), back;
	uint8_t *bytes;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_image_encode(&img, FM_IMAGE_PNG, 90, &bytes, &n, &err), 0);
	assert_int_equal(fm_image_decode(bytes, n, 1000000, &back, &err), 0);
	assert_int_equal(back.width, 33);
	assert_int_equal(back.height, 17);
	assert_memory_equal(back.pixels, img.pixels, 33 * 17 * 3); /* PNG is lossless */
	fm_image_free(&back);
	free(bytes);
	assert_int_equal(fm_image_encode(&img, FM_IMAGE_JPEG, 95, &bytes, &n, &err), 0);
	assert_true(n > 2 && bytes[0] == 0xff && bytes[1] == 0xd8);
	assert_int_equal(fm_image_decode(bytes, n, 1000000, &back, &err), 0);
	assert_int_equal(back.width, 33);
	assert_true(abs(at(&back, 16, 8)[0] - 200) <= 4); /* a flat colour survives JPEG */
	fm_image_free(&back);
	free(bytes);
	assert_int_equal(fm_image_encode(&img, FM_IMAGE_JPEG, 0, &bytes, &n, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(fm_picture_encode(&img, FM_PICTURE_SVG, 90, &bytes, &n, &err), -1);
	fm_image_free(&img);
}

static void
the_sheet_is_a_grid_of_its_cells(void **state)
{
	struct fm_image img = plain(200, 100, 250, 0, 0), out;
	struct fm_picture_sheet *sheet;
	struct fm_picture_face f = happy_face(10, 10, 50, 80);
	struct fm_picture_cell cell;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_picture_sheet_new(64, 3, 4, &sheet, &err), 0);
	assert_int_equal(fm_picture_sheet_render(sheet, &out, &err), 0); /* empty: one cell */
	uint32_t one_w = out.width;

	fm_image_free(&out);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(
		    fm_picture_cell_make(&img, k ? &f : NULL, 64, "a.jpg", &cell, &err), 0);
		assert_int_equal(cell.thumb.width, 64);
		assert_int_equal(fm_picture_sheet_add(sheet, &cell, &err), 0);
	}
	assert_int_equal(fm_picture_sheet_count(sheet), 4);
	/* Full at four. */
	assert_int_equal(fm_picture_cell_make(&img, &f, 64, NULL, &cell, &err), 0);
	assert_int_equal(fm_picture_sheet_add(sheet, &cell, &err), -1);
	assert_int_equal(err.code, FM_ELIMIT);
	fm_picture_cell_free(&cell);
	/* A cell of another size is refused. */
	assert_int_equal(fm_picture_cell_make(&img, &f, 32, NULL, &cell, &err), 0);
	assert_int_equal(fm_picture_sheet_add(sheet, &cell, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_picture_cell_free(&cell);

	assert_int_equal(fm_picture_sheet_render(sheet, &out, &err), 0);
	/* Three columns, two rows: three times the one-cell sheet's width, less two margins. */
	uint32_t gap = 64 / 16 + 2;

	assert_int_equal(out.width, 3 * (one_w - gap) + gap);
	assert_true(out.height > 2 * 64);
	/* The first cell's thumbnail is the red photo, whole, and centred. */
	assert_true(at(&out, gap + 32, gap + 32)[0] > 200);
	fm_image_free(&out);
	fm_picture_sheet_free(sheet);
	fm_image_free(&img);
	assert_int_equal(fm_picture_sheet_new(8, 3, 4, &sheet, &err), -1);
	assert_int_equal(fm_picture_sheet_new(64, 0, 4, &sheet, &err), -1);
}

static struct fm_picture_timeline *
a_stream(void)
{
	struct fm_picture_timeline *tl;
	struct fm_err err;
	char json[512];

	assert_int_equal(fm_picture_timeline_new(&tl, &err), 0);
	for (int k = 0; k < 100; k++) {
		double happy = k >= 40 && k < 60 ? 0.7 : 0.1;

		if (k >= 80 && k < 85)
			snprintf(json, sizeof json, "{\"t\":%g,\"faces\":[]}", k * 0.1);
		else
			snprintf(
			    json, sizeof json,
			    "{\"t\":%g,\"faces\":[],\"smoothed\":{\"happy\":%g,\"neutral\":%g}}",
			    k * 0.1, happy, 1 - happy);
		cJSON *rec = parse(json);

		assert_int_equal(fm_picture_timeline_add(tl, rec, &err), 0);
		cJSON_Delete(rec);
	}
	cJSON *ev =
	    parse("{\"event\":\"brief\",\"emotion\":\"happy\",\"start\":4,\"duration\":0.5}");
	cJSON *song = parse("{\"path\":\"m/elegy.flac\",\"start\":0,\"end\":5,\"rating\":4}");

	assert_int_equal(fm_picture_timeline_add(tl, ev, &err), 0);
	assert_int_equal(fm_picture_timeline_add(tl, song, &err), 0);
	cJSON_Delete(ev);
	cJSON_Delete(song);
	return tl;
}

static void
the_timeline_is_an_svg_document_with_the_seven_colours(void **state)
{
	struct fm_picture_timeline *tl = a_stream();
	uint8_t *bytes;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_picture_timeline_frames(tl), 95);
	assert_int_equal(fm_picture_timeline_render(tl, FM_PICTURE_SVG, 800, 300, &bytes, &n, &err),
	                 0);
	char *svg = malloc(n + 1);

	memcpy(svg, bytes, n);
	svg[n] = '\0';
	assert_non_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "width=\"800pt\" height=\"300pt\""));
	assert_non_null(strstr(svg, "</svg>"));
	/* The stacked bands: happy's orange and neutral's grey fill paths. */
	assert_non_null(strstr(svg, "fill:rgb(90.2%,62.4%,0%)"));
	assert_non_null(strstr(svg, "fill:rgb(60%,60%,60%)"));
	free(svg);
	free(bytes);
	assert_int_equal(fm_picture_timeline_render(tl, FM_PICTURE_SVG, 100, 300, &bytes, &n, &err),
	                 -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_picture_timeline_free(tl);
}

static void
the_timeline_png_has_the_size_asked_and_a_gap_where_no_face_was(void **state)
{
	struct fm_picture_timeline *tl = a_stream();
	struct fm_image img;
	uint8_t *bytes;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_int_equal(
	    fm_picture_timeline_render(tl, FM_PICTURE_PNG, 1000, 400, &bytes, &n, &err), 0);
	assert_int_equal(fm_image_decode(bytes, n, 10000000, &img, &err), 0);
	assert_int_equal(img.width, 1000);
	assert_int_equal(img.height, 400);
	/* Count the columns of the plot's middle row in the gap's light grey (0.93, as cairo rounds
	 * it). */
	uint32_t grey = 0, orange = 0;

	for (uint32_t x = 0; x < img.width; x++) {
		const uint8_t *p = at(&img, x, 250);

		grey += p[0] >= 236 && p[0] <= 239 && p[1] == p[0] && p[2] == p[0];
		orange += p[0] == 230 && p[1] == 159 && p[2] == 0;
	}
	assert_true(grey > 10);   /* the half second without a face */
	assert_true(orange > 50); /* the two seconds of smiles */
	fm_image_free(&img);
	free(bytes);
	fm_picture_timeline_free(tl);
}

static void
bad_stream_records_are_refused_and_change_nothing(void **state)
{
	static const char *const bad[] = {
	    "{\"frame\":1}",
	    "{\"t\":\"soon\"}",
	    "{\"t\":0.5,\"smoothed\":{\"happy\":-1}}",
	    "{\"t\":0.5,\"faces\":3}",
	    "{\"event\":\"brief\",\"start\":1,\"duration\":1}",
	    "{\"event\":\"brief\",\"emotion\":\"glee\",\"start\":1,\"duration\":1}",
	    "{\"event\":\"brief\",\"emotion\":\"sad\",\"start\":1,\"duration\":-1}",
	    "{\"path\":\"a\",\"start\":5,\"end\":1}",
	    "{\"path\":\"a\",\"start\":\"x\",\"end\":1}",
	};
	struct fm_picture_timeline *tl;
	struct fm_err err;
	cJSON *rec;

	(void)state;
	assert_int_equal(fm_picture_timeline_new(&tl, &err), 0);
	rec = parse("{\"t\":1,\"smoothed\":{\"sad\":1}}");
	assert_int_equal(fm_picture_timeline_add(tl, rec, &err), 0);
	cJSON_Delete(rec);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		rec = parse(bad[k]);
		assert_int_equal(fm_picture_timeline_add(tl, rec, &err), -1);
		assert_int_equal(err.code, FM_EFORMAT);
		cJSON_Delete(rec);
	}
	/* Time going back. */
	rec = parse("{\"t\":0.5,\"smoothed\":{\"sad\":1}}");
	assert_int_equal(fm_picture_timeline_add(tl, rec, &err), -1);
	assert_non_null(strstr(err.msg, "goes back"));
	cJSON_Delete(rec);
	assert_int_equal(fm_picture_timeline_frames(tl), 1);
	assert_int_equal(fm_picture_timeline_song(tl, "x", 2, 1, 0, &err), -1);
	assert_int_equal(fm_picture_timeline_song(tl, "x", NAN, 1, 0, &err), -1);
	fm_picture_timeline_free(tl);
}

static void
an_empty_timeline_still_draws(void **state)
{
	struct fm_picture_timeline *tl;
	uint8_t *bytes;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_picture_timeline_new(&tl, &err), 0);
	assert_int_equal(fm_picture_timeline_render(tl, FM_PICTURE_PNG, 320, 200, &bytes, &n, &err),
	                 0);
	free(bytes);
	assert_int_equal(fm_picture_timeline_render(tl, FM_PICTURE_SVG, 320, 200, &bytes, &n, &err),
	                 0);
	free(bytes);
	fm_picture_timeline_free(tl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(the_box_is_drawn_in_the_expressions_colour_and_the_rest_is_untouched),
	    cmocka_unit_test(a_gray_photo_comes_out_in_colour),
	    cmocka_unit_test(labels_stay_inside_the_image_at_every_size),
	    cmocka_unit_test(the_label_grows_with_the_box),
	    cmocka_unit_test(faces_are_read_from_a_record),
	    cmocka_unit_test(bad_faces_are_refused_naming_the_face),
	    cmocka_unit_test(png_and_jpeg_encode_what_decodes_back),
	    cmocka_unit_test(the_sheet_is_a_grid_of_its_cells),
	    cmocka_unit_test(the_timeline_is_an_svg_document_with_the_seven_colours),
	    cmocka_unit_test(the_timeline_png_has_the_size_asked_and_a_gap_where_no_face_was),
	    cmocka_unit_test(bad_stream_records_are_refused_and_change_nothing),
	    cmocka_unit_test(an_empty_timeline_still_draws),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
