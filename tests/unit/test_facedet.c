/*
 * tests/unit/test_facedet.c: lib/facedet (cmocka): targets that decode back to their faces,
 * the octave's edges, non-maximum suppression, the loss's gradient against finite
 * differences, augmentation that keeps the labels on the pixels they label, and the
 * geometry a model keeps in its info.
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

#include "facedet.h"

#define SIDE 160
#define CELLS (SIDE / 8)
#define PLANE (CELLS * CELLS)

static const struct fm_facedet_geom GEOM = FM_FACEDET_GEOM_DEFAULT;

static struct fm_facedet_face
face_at(float x, float y, float side)
{
	struct fm_facedet_face f = {x, y, side, side, {{0}}, 1, 0};

	/* The eye on the image's left first, as the labels have them. */
	f.landmarks[0][0] = x + 0.3f * side, f.landmarks[0][1] = y + 0.35f * side;
	f.landmarks[1][0] = x + 0.7f * side, f.landmarks[1][1] = y + 0.35f * side;
	f.landmarks[2][0] = x + 0.5f * side, f.landmarks[2][1] = y + 0.55f * side;
	f.landmarks[3][0] = x + 0.5f * side, f.landmarks[3][1] = y + 0.75f * side;
	return f;
}

/* What a perfect network would output for these targets: the logit sure, the rest exact. */
static void
perfect_output(const float *target, float *out)
{
	for (size_t c = 0; c < PLANE; c++) {
		out[c] = target[c] == 1 ? 12.0f : -12.0f;
		for (int k = 1; k < FM_FACEDET_OUT_CHANNELS; k++)
			out[k * PLANE + c] = target[k * PLANE + c];
	}
}

static void
a_face_encoded_decodes_to_its_box_and_landmarks(void **state)
{
	(void)state;
	static float target[FM_FACEDET_TARGET_CHANNELS * PLANE],
	    out[FM_FACEDET_OUT_CHANNELS * PLANE];
	const float sides[] = {20, 27.5f, 33, 40};

	for (size_t t = 0; t < sizeof sides / sizeof sides[0]; t++) {
		struct fm_facedet_face f = face_at(41.3f + 7 * (float)t, 60.8f, sides[t]);
		struct fm_facedet_box *boxes = NULL;
		size_t n = 0, cap = 0, pos = 0;
		struct fm_err e;

		fm_facedet_encode(&GEOM, &f, 1, CELLS, CELLS, target);
		for (size_t c = 0; c < PLANE; c++)
			pos += target[c] == 1;
		assert_true(pos >= 1 && pos <= 9);
		perfect_output(target, out);
		/* At level scale 0.5 the image's pixels are twice the network's. */
		assert_int_equal(
		    fm_facedet_decode(&GEOM, out, CELLS, CELLS, 0.5f, 0.5, &boxes, &n, &cap, &e),
		    0);
		assert_int_equal(n, pos);
		/* Every positive cell gives the same box, to float rounding (1e-3 px on 100). */
		for (size_t i = 0; i < n; i++) {
			assert_true(fabsf(boxes[i].x - 2 * f.x) < 1e-3f);
			assert_true(fabsf(boxes[i].y - 2 * f.y) < 1e-3f);
			assert_true(fabsf(boxes[i].w - 2 * f.w) < 1e-3f);
			assert_true(fabsf(boxes[i].h - 2 * f.h) < 1e-3f);
			assert_true(boxes[i].score > 0.99f);
			for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
				assert_true(fabsf(boxes[i].landmarks[m][0] -
				                  2 * f.landmarks[m][0]) < 1e-3f);
				assert_true(fabsf(boxes[i].landmarks[m][1] -
				                  2 * f.landmarks[m][1]) < 1e-3f);
			}
		}
		assert_int_equal(fm_facedet_nms(boxes, n, 0.45), 1);
		free(boxes);
	}
}

static size_t
count_label(const float *target, float label)
{
	size_t n = 0;

	for (size_t c = 0; c < PLANE; c++)
		n += target[c] == label;
	return n;
}

static void
faces_outside_the_octave_are_ignored_or_background(void **state)
{
	(void)state;
	static float target[FM_FACEDET_TARGET_CHANNELS * PLANE];
	struct fm_facedet_face f;

	/* Just under the octave: ignored, not a negative and not a positive. */
	f = face_at(40, 40, 16);
	fm_facedet_encode(&GEOM, &f, 1, CELLS, CELLS, target);
	assert_int_equal(count_label(target, 1), 0);
	assert_true(count_label(target, -1) >= 1);
	/* Far under: plain background. */
	f = face_at(40, 40, 6);
	fm_facedet_encode(&GEOM, &f, 1, CELLS, CELLS, target);
	assert_int_equal(count_label(target, 0), PLANE);
	/* Far over: background too (a smaller level finds it). */
	f = face_at(10, 10, 120);
	fm_facedet_encode(&GEOM, &f, 1, CELLS, CELLS, target);
	assert_int_equal(count_label(target, 0), PLANE);
	/* Marked ignore: its cells are ignored whatever its side. */
	f = face_at(40, 40, 30);
	f.ignore = 1;
	fm_facedet_encode(&GEOM, &f, 1, CELLS, CELLS, target);
	assert_int_equal(count_label(target, 1), 0);
	assert_true(count_label(target, -1) >= 9);
	/* In the octave: positives in the middle, the rest of its box ignored. */
	f = face_at(40, 40, 40);
	fm_facedet_encode(&GEOM, &f, 1, CELLS, CELLS, target);
	assert_true(count_label(target, 1) >= 1);
	assert_true(count_label(target, -1) >= 9);
	assert_int_equal(target[0], 0);
}

static void
a_cell_claimed_twice_goes_to_the_smaller_face(void **state)
{
	(void)state;
	static float target[FM_FACEDET_TARGET_CHANNELS * PLANE];
	struct fm_facedet_face f[2] = {face_at(40, 40, 40), face_at(51, 51, 20)};

	for (int order = 0; order < 2; order++) {
		struct fm_facedet_face g[2] = {f[order], f[1 - order]};

		fm_facedet_encode(&GEOM, g, 2, CELLS, CELLS, target);
		/* Cell (7, 7) has its point at (60, 60): both centres are within reach. */
		size_t c = 7 * CELLS + 7;

		assert_int_equal(target[c], 1);
		assert_true(fabsf(target[PLANE + c] * sqrtf(20 * 40) - (60 - 51)) < 1e-3f);
	}
}

static void
nms_keeps_the_best_of_each_overlap(void **state)
{
	(void)state;
	struct fm_facedet_box b[5] = {
	    {10, 10, 40, 40, 0.6f, {{0}}},
	    {12, 11, 40, 40, 0.9f, {{0}}}, /* overlaps the first: IoU about 0.9 */
	    {100, 100, 30, 30, 0.7f, {{0}}},
	    {26, 10, 40, 40, 0.8f, {{0}}}, /* IoU with the second 0.46 */
	    {200, 0, 0, 10, 0.99f, {{0}}}, /* empty: overlaps nothing */
	};

	assert_true(fabs(fm_facedet_iou(&b[0], &b[0]) - 1) < 1e-9);
	assert_true(fm_facedet_iou(&b[0], &b[2]) == 0);
	assert_true(fm_facedet_iou(&b[4], &b[4]) == 0);
	size_t n = fm_facedet_nms(b, 5, 0.45);

	assert_int_equal(n, 3);
	assert_true(b[0].score == 0.99f && b[1].score == 0.9f && b[2].score == 0.7f);
	/* With a looser threshold the fourth stays. */
	struct fm_facedet_box c[2] = {{12, 11, 40, 40, 0.9f, {{0}}}, {26, 10, 40, 40, 0.8f, {{0}}}};

	assert_int_equal(fm_facedet_nms(c, 2, 0.5), 2);
}

/* Loss of out against target, in double as the function sums. */
static double
loss_of(const struct fm_facedet_loss_opts *o, const float *out, const float *target, size_t batch)
{
	struct fm_facedet_loss l;
	struct fm_err e;

	assert_int_equal(fm_facedet_loss(o, out, target, batch, CELLS, CELLS, &l, NULL, &e), 0);
	return l.total;
}

static void
the_loss_gradient_matches_finite_differences(void **state)
{
	(void)state;
	const size_t batch = 2;
	const struct fm_facedet_loss_opts o = FM_FACEDET_LOSS_DEFAULT;
	float *target = malloc(batch * FM_FACEDET_TARGET_CHANNELS * PLANE * sizeof *target);
	float *out = malloc(batch * FM_FACEDET_OUT_CHANNELS * PLANE * sizeof *out);
	float *dout = malloc(batch * FM_FACEDET_OUT_CHANNELS * PLANE * sizeof *dout);
	struct fm_facedet_face f[3] = {face_at(20, 30, 24), face_at(90, 80, 36),
	                               face_at(60, 20, 16)};
	struct fm_facedet_loss l;
	struct fm_rng rng;
	struct fm_err e;
	size_t checked = 0;

	f[1].has_landmarks = 0;
	fm_facedet_encode(&GEOM, f, 3, CELLS, CELLS, target);
	fm_facedet_encode(&GEOM, f + 1, 1, CELLS, CELLS,
	                  target + FM_FACEDET_TARGET_CHANNELS * PLANE);
	fm_rng_seed(&rng, 7);
	for (size_t i = 0; i < batch * FM_FACEDET_OUT_CHANNELS * PLANE; i++)
		out[i] = (float)(2 * fm_rng_normal(&rng));
	assert_int_equal(fm_facedet_loss(&o, out, target, batch, CELLS, CELLS, &l, dout, &e), 0);
	assert_true(l.n_pos >= 3);
	assert_true(l.cls > 0 && l.box > 0 && l.landmarks > 0);
	/*
	 * Central differences with h = 1e-2: the loss is smooth but for smooth L1's kink at
	 * |d| = beta, which the points skip; the error is O(h^2) times the third derivative,
	 * under 1e-4 of the gradient's scale here, and float inputs add 1e-7 / h.
	 */
	for (size_t i = 0; i < batch * FM_FACEDET_OUT_CHANNELS * PLANE; i++) {
		const float h = 1e-2f;
		size_t b = i / (FM_FACEDET_OUT_CHANNELS * PLANE),
		       k = i / PLANE % FM_FACEDET_OUT_CHANNELS, c = i % PLANE;
		float keep = out[i];
		const float *t = target + b * FM_FACEDET_TARGET_CHANNELS * PLANE;

		if (k > 0 && t[c] == 1 && fabsf(fabsf(keep - t[k * PLANE + c]) - o.beta) < 2 * h)
			continue;
		out[i] = keep + h;
		double up = loss_of(&o, out, target, batch);
		out[i] = keep - h;
		double down = loss_of(&o, out, target, batch);
		out[i] = keep;
		double numeric = (up - down) / (2 * h);

		assert_true(fabs(numeric - dout[i]) <= 2e-4 + 1e-3 * fabs(numeric));
		checked += dout[i] != 0;
	}
	assert_true(checked > PLANE);
	free(target);
	free(out);
	free(dout);
}

static void
ignored_cells_get_no_gradient(void **state)
{
	(void)state;
	static float target[FM_FACEDET_TARGET_CHANNELS * PLANE],
	    out[FM_FACEDET_OUT_CHANNELS * PLANE], dout[FM_FACEDET_OUT_CHANNELS * PLANE];
	const struct fm_facedet_loss_opts o = FM_FACEDET_LOSS_DEFAULT;
	struct fm_facedet_face f = face_at(40, 40, 16);
	struct fm_facedet_loss l;
	struct fm_err e;

	fm_facedet_encode(&GEOM, &f, 1, CELLS, CELLS, target);
	for (size_t i = 0; i < FM_FACEDET_OUT_CHANNELS * PLANE; i++)
		out[i] = 1.5f;
	assert_int_equal(fm_facedet_loss(&o, out, target, 1, CELLS, CELLS, &l, dout, &e), 0);
	assert_int_equal(l.n_pos, 0);
	for (size_t c = 0; c < PLANE; c++) {
		assert_true(target[c] == 1 || dout[c] != 0 || target[c] == -1);
		if (target[c] == -1)
			assert_true(dout[c] == 0);
	}
	out[3] = NAN;
	assert_int_equal(fm_facedet_loss(&o, out, target, 1, CELLS, CELLS, &l, dout, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	struct fm_facedet_loss_opts bad = o;

	bad.alpha = 1;
	assert_int_equal(fm_facedet_loss(&bad, out, target, 1, CELLS, CELLS, &l, dout, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
}

/* A dark photo with one face whose landmarks are bright 5 x 5 dots, the second eye's
 * brighter than the rest, so that a mirror image shows. */
static void
dotted_photo(struct fm_gray *g, struct fm_facedet_face *f)
{
	g->width = 200;
	g->height = 150;
	g->pixels = calloc(200 * 150, 1);
	*f = face_at(70, 40, 60);
	for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++)
		for (int dy = -2; dy <= 2; dy++)
			for (int dx = -2; dx <= 2; dx++)
				g->pixels[(size_t)((int)f->landmarks[m][1] + dy) * 200 +
				          (size_t)((int)f->landmarks[m][0] + dx)] =
				    m == 1 ? 255 : 200;
	/* The dots' centres are the pixel centres. */
	for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
		f->landmarks[m][0] = floorf(f->landmarks[m][0]) + 0.5f;
		f->landmarks[m][1] = floorf(f->landmarks[m][1]) + 0.5f;
	}
}

static void
augmentation_keeps_landmarks_on_their_pixels(void **state)
{
	(void)state;
	struct fm_gray photo;
	struct fm_facedet_face f, out[4];
	struct fm_facedet_aug a = FM_FACEDET_AUG_DEFAULT;
	static uint8_t crop[SIDE * SIDE];
	size_t flipped = 0, seen = 0;

	dotted_photo(&photo, &f);
	/* Sides from 60 to 90 keep the dots at least 5 pixels wide, so each stays bright. */
	a.min_side = 60;
	a.max_side = 90;
	a.octave_share = 0;
	a.background = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct fm_rng rng;
		size_t n;

		fm_rng_seed(&rng, seed);
		/* The right half of the crop, as a mosaic's tile would be. */
		memset(crop, 0, sizeof crop);
		fm_facedet_render(&photo, &f, 1, &a, &rng, crop, SIDE, 40, 0, 120, SIDE, out, 4,
		                  &n);
		assert_int_equal(n, 1);
		seen++;
		assert_true(out[0].x + out[0].w / 2 >= 40);
		assert_true(fabsf(out[0].w - out[0].h) < 1e-3f);
		assert_true(out[0].w >= 60 - 1e-3f && out[0].w <= 90 + 1e-3f);
		for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
			float x = out[0].landmarks[m][0], y = out[0].landmarks[m][1];

			/* On the face, and on its dot. */
			assert_true(x > out[0].x && x < out[0].x + out[0].w);
			assert_true(y > out[0].y && y < out[0].y + out[0].h);
			if (x >= 40 && x < SIDE && y >= 0 && y < SIDE)
				assert_true(crop[(size_t)y * SIDE + (size_t)x] > 128);
		}
		/* The first eye stays on the image's left, mirrored or not (15 degrees at most). */
		assert_true(out[0].landmarks[0][0] < out[0].landmarks[1][0]);
		/* The first eye's label on the brighter dot: a mirror image. */
		flipped +=
		    crop[(size_t)out[0].landmarks[0][1] * SIDE + (size_t)out[0].landmarks[0][0]] >
		    228;
	}
	assert_true(flipped > 0 && flipped < seen);
	free(photo.pixels);
}

/* A face the tile cuts is passed on marked ignore, whether its centre is in or out, so
 * that the part the tile shows is never taught as background; one the tile shows most of
 * is a face like any other. */
static void
faces_cut_by_the_tile_are_ignored(void **state)
{
	(void)state;
	struct fm_gray photo = {400, 400, calloc(400 * 400, 1)};
	struct fm_facedet_face faces[16], out[16];
	struct fm_facedet_aug a = FM_FACEDET_AUG_DEFAULT;
	static uint8_t crop[SIDE * SIDE];
	size_t cut_outside = 0, whole = 0;

	for (int k = 0; k < 16; k++)
		faces[k] = face_at(20.0f + 95 * (float)(k % 4), 20.0f + 95 * (float)(k / 4), 60);
	a.background = 1; /* windows anywhere, so faces fall on the edges */
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct fm_rng rng;
		size_t n;

		fm_rng_seed(&rng, seed);
		fm_facedet_render(&photo, faces, 16, &a, &rng, crop, SIDE, 0, 0, SIDE, SIDE, out,
		                  16, &n);
		for (size_t i = 0; i < n; i++) {
			const struct fm_facedet_face *g = &out[i];
			float cx = g->x + g->w / 2, cy = g->y + g->h / 2;
			double vis = (fmin(g->x + g->w, SIDE) - fmax(g->x, 0)) *
			             (fmin(g->y + g->h, SIDE) - fmax(g->y, 0));

			assert_true(vis > 0);
			if (!(cx >= 0 && cx < SIDE && cy >= 0 && cy < SIDE)) {
				assert_true(g->ignore);
				cut_outside++;
			}
			assert_int_equal(g->ignore, vis < 0.75 * g->w * g->h);
			whole += !g->ignore;
		}
	}
	assert_true(cut_outside > 0 && whole > 0);
	free(photo.pixels);
}

static void
augmentation_repeats_for_a_seed(void **state)
{
	(void)state;
	struct fm_gray photo;
	struct fm_facedet_face f, out[2][4];
	const struct fm_facedet_aug a = FM_FACEDET_AUG_DEFAULT;
	static uint8_t crop[2][SIDE * SIDE];
	size_t n[2];

	dotted_photo(&photo, &f);
	for (int run = 0; run < 2; run++) {
		struct fm_rng rng;

		fm_rng_seed(&rng, 99);
		fm_facedet_render(&photo, &f, 1, &a, &rng, crop[run], SIDE, 0, 0, SIDE, SIDE,
		                  out[run], 4, &n[run]);
		fm_facedet_photometric(&a, &rng, crop[run], SIDE, SIDE);
	}
	assert_int_equal(n[0], n[1]);
	assert_memory_equal(crop[0], crop[1], sizeof crop[0]);
	assert_memory_equal(out[0], out[1], n[0] * sizeof out[0][0]);
	free(photo.pixels);
}

static void
photometric_at_zero_changes_nothing(void **state)
{
	(void)state;
	const struct fm_facedet_aug a = {12, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 40};
	uint8_t px[64], copy[64];
	struct fm_rng rng;

	for (int i = 0; i < 64; i++)
		px[i] = copy[i] = (uint8_t)(i * 4);
	fm_rng_seed(&rng, 3);
	fm_facedet_photometric(&a, &rng, px, 8, 8);
	assert_memory_equal(px, copy, sizeof px);
}

static void
the_geometry_round_trips_through_the_info(void **state)
{
	(void)state;
	struct fm_facedet_geom g = {4, 16, 32, 0}, back;
	struct fm_cnn *net;
	struct fm_err e;
	char *info;

	assert_int_equal(fm_cnn_new("conv 2 3, gap, dense 2", 1, 8, 8, 1, 1, &net, &e), 0);
	assert_int_equal(fm_facedet_model_geom(net, &back, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_int_equal(fm_facedet_info(&g, "{\"epochs_done\":3,\"detector\":1}", &info, &e), 0);
	assert_int_equal(fm_cnn_set_info(net, info, &e), 0);
	free(info);
	assert_int_equal(fm_facedet_model_geom(net, &back, &e), 0);
	assert_int_equal(back.stride, 4);
	assert_true(back.min_side == 16 && back.max_side == 32);
	assert_true(back.min_score == 0); /* none chosen: the caller's default */
	assert_non_null(strstr(fm_cnn_info(net), "\"epochs_done\":3"));
	/* A threshold chosen on validation goes with it, to four decimals. */
	g.min_score = 0.61237f;
	assert_int_equal(fm_facedet_info(&g, fm_cnn_info(net), &info, &e), 0);
	assert_int_equal(fm_cnn_set_info(net, info, &e), 0);
	free(info);
	assert_int_equal(fm_facedet_model_geom(net, &back, &e), 0);
	assert_true(back.min_score == 0.6124f);
	for (int bad = 0; bad < 3; bad++) {
		const char *v[] = {"0", "1", "\"0.5\""};
		char text[160];

		snprintf(text, sizeof text,
		         "{\"detector\":{\"stride\":8,\"min_side\":20,\"max_side\":40,"
		         "\"min_score\":%s}}",
		         v[bad]);
		assert_int_equal(fm_cnn_set_info(net, text, &e), 0);
		assert_int_equal(fm_facedet_model_geom(net, &back, &e), -1);
		assert_string_equal(e.msg, "detector min_score is not a number in (0, 1)");
	}
	/* Out of range, or not numbers. */
	assert_int_equal(
	    fm_cnn_set_info(net, "{\"detector\":{\"stride\":0,\"min_side\":1,\"max_side\":2}}", &e),
	    0);
	assert_int_equal(fm_facedet_model_geom(net, &back, &e), -1);
	assert_int_equal(
	    fm_cnn_set_info(net, "{\"detector\":{\"stride\":8,\"min_side\":40,\"max_side\":20}}",
	                    &e),
	    0);
	assert_int_equal(fm_facedet_model_geom(net, &back, &e), -1);
	assert_int_equal(fm_cnn_set_info(net, "{\"detector\":{\"stride\":\"8\"}}", &e), 0);
	assert_int_equal(fm_facedet_model_geom(net, &back, &e), -1);
	/* A classifier is no detector, geometry or not. */
	struct fm_facedet *d;

	assert_int_equal(
	    fm_cnn_set_info(net, "{\"detector\":{\"stride\":8,\"min_side\":20,\"max_side\":40}}",
	                    &e),
	    0);
	assert_int_equal(fm_facedet_new(net, &d, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_null(d);
	fm_cnn_free(net);
}

/* A set of n photos, each a dark 200 x 150 image with a bright square face or two. */
static void
synthetic_set(struct fm_facedet_set *s, size_t n)
{
	s->n = n;
	s->photos = calloc(n, sizeof *s->photos);
	for (size_t i = 0; i < n; i++) {
		struct fm_facedet_photo *p = &s->photos[i];
		float side = 24 + (float)(i % 5) * 9, x = 10 + (float)(i * 37 % 120),
		      y = 20 + (float)(i % 3) * 30;

		p->path = strdup("synthetic");
		p->n_faces = 1;
		p->faces = calloc(1, sizeof *p->faces);
		p->faces[0] = face_at(x, y, side);
		p->gray.width = 200;
		p->gray.height = 150;
		p->gray.pixels = malloc(200 * 150);
		for (uint32_t r = 0; r < 150; r++)
			for (uint32_t c = 0; c < 200; c++) {
				int in = c >= x && c < x + side && r >= y && r < y + side;

				p->gray.pixels[r * 200 + c] =
				    (uint8_t)(in ? 200 + (c + r) % 40 : 30 + (c * 7 + r * 3) % 50);
			}
	}
}

/* A detector small enough to train in a test: stride 8 in three stride-2 convolutions. */
#define TINY_ARCH                                                                                  \
	"conv 8 3 2 1, bn, relu, dwconv 3 2 1, bn, relu, conv 16 1, bn, relu, dwconv 3 2 1, bn, "  \
	"relu, conv 13 1"

static struct fm_cnn *
tiny_detector(size_t batch)
{
	const struct fm_facedet_geom g = FM_FACEDET_GEOM_DEFAULT;
	struct fm_cnn *net;
	struct fm_err e;
	char *info;

	assert_int_equal(fm_cnn_new(TINY_ARCH, 1, SIDE, SIDE, batch, 5, &net, &e), 0);
	assert_int_equal(fm_cnn_set_normalization(net, 127.5f, 64, &e), 0);
	assert_int_equal(fm_facedet_info(&g, NULL, &info, &e), 0);
	assert_int_equal(fm_cnn_set_info(net, info, &e), 0);
	free(info);
	return net;
}

static void
training_lowers_the_loss_and_repeats_for_a_seed(void **state)
{
	(void)state;
	struct fm_facedet_set s;
	struct fm_facedet_train_opts o = {0};
	struct fm_facedet_loss first[2], last;
	size_t idx[16];
	struct fm_err e;

	synthetic_set(&s, 16);
	for (size_t i = 0; i < 16; i++)
		idx[i] = i;
	o.batch = 8;
	o.crop_side = SIDE;
	o.mosaic = 0.3f;
	o.optim = (struct fm_optim)FM_OPTIM_ADAMW_DEFAULT;
	o.schedule = (struct fm_lr_schedule){FM_LR_CONSTANT, 0.01, 0, 0, 1, 1, 1};
	o.geom = GEOM;
	o.aug = (struct fm_facedet_aug)FM_FACEDET_AUG_DEFAULT;
	o.loss = (struct fm_facedet_loss_opts)FM_FACEDET_LOSS_DEFAULT;
	for (int run = 0; run < 2; run++) {
		struct fm_cnn *net = tiny_detector(8);

		assert_int_equal(
		    fm_facedet_train_epoch(net, &s, idx, 16, &o, 0, 3, NULL, NULL, &first[run], &e),
		    0);
		if (run == 1) {
			for (size_t epoch = 1; epoch < 12; epoch++)
				assert_int_equal(fm_facedet_train_epoch(net, &s, idx, 16, &o, epoch,
				                                        3, NULL, NULL, &last, &e),
				                 0);
			/* Twelve epochs of two steps: the loss at least halves. */
			assert_true(last.total < 0.5 * first[1].total);
		}
		fm_cnn_free(net);
	}
	assert_true(first[0].total == first[1].total);
	assert_true(first[0].n_pos == first[1].n_pos && first[0].n_pos > 0);
	/* A network for other crops is refused. */
	struct fm_cnn *net = tiny_detector(8);

	o.crop_side = 128;
	assert_int_equal(fm_facedet_train_epoch(net, &s, idx, 16, &o, 0, 3, NULL, NULL, &last, &e),
	                 -1);
	assert_int_equal(e.code, FM_EINVAL);
	fm_cnn_free(net);
	fm_facedet_set_free(&s);
}

static void
detection_gives_sorted_boxes_within_limits(void **state)
{
	(void)state;
	struct fm_facedet_set s;
	struct fm_cnn *net = tiny_detector(1);
	struct fm_facedet *d;
	struct fm_facedet_opts o = FM_FACEDET_OPTS_DEFAULT;
	struct fm_facedet_box *boxes;
	struct fm_facedet_score score;
	size_t n, idx[4] = {0, 1, 2, 3};
	struct fm_err e;

	synthetic_set(&s, 4);
	/* An untrained network whose outputs are made large by a narrow normalisation: boxes
	 * of every size, each cell a candidate at a score of 0; those kept are the sides
	 * asked for. */
	assert_int_equal(fm_cnn_set_normalization(net, 127.5f, 2, &e), 0);
	assert_int_equal(fm_facedet_new(net, &d, &e), 0);
	o.min_score = 0;
	for (int again = 0; again < 4; again++) {
		o.max_side = again < 2 ? 0 : 60;
		assert_int_equal(fm_facedet_detect(d, &s.photos[0].gray, &o, &boxes, &n, &e), 0);
		/* (Whether any box of the untrained network is under 60 pixels is chance:
		 * tests/cli/fer-detect.bats asks the shipped model for such boxes.) */
		assert_true((n >= 1 || o.max_side > 0) && n <= FM_FACEDET_MAX_FACES);
		for (size_t i = 0; i < n; i++) {
			assert_true(boxes[i].score >= 0 && boxes[i].score <= 1);
			assert_true(boxes[i].w >= o.min_side && boxes[i].h >= o.min_side);
			if (o.max_side > 0)
				assert_true(boxes[i].w <= o.max_side && boxes[i].h <= o.max_side);
			if (i > 0)
				assert_true(boxes[i - 1].score >= boxes[i].score);
		}
		free(boxes);
	}
	o.max_side = 0;
	o.min_score = 1;
	assert_int_equal(fm_facedet_detect(d, &s.photos[0].gray, &o, &boxes, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(boxes);
	o.level_factor = 1;
	assert_int_equal(fm_facedet_detect(d, &s.photos[0].gray, &o, &boxes, &n, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	o = (struct fm_facedet_opts)FM_FACEDET_OPTS_DEFAULT;
	assert_int_equal(fm_facedet_evaluate(d, &s, idx, 4, &o, &score, &e), 0);
	assert_int_equal(score.n_truth, 4);
	assert_true(score.ap >= 0 && score.ap <= 1 && score.f1 >= 0 && score.f1 <= 1);
	/* The best threshold's F1 is at least any one threshold's, its own among them. */
	assert_true(score.best_f1 >= score.f1 && score.best_f1 <= 1);
	assert_true(score.best_f1 == 0 ? score.best_f1_score == 0
	                               : score.best_f1_score >= 0.05 && score.best_f1_score <= 1);
	/* A one-pixel image, and one too large for a level. */
	struct fm_gray dot = {1, 1, (uint8_t[]){9}};

	assert_int_equal(fm_facedet_detect(d, &dot, &o, &boxes, &n, &e), 0);
	free(boxes);
	/* Faces larger than the image (a long, thin image's work size asks that): none. */
	o.min_side = 1e6;
	assert_int_equal(fm_facedet_detect(d, &s.photos[0].gray, &o, &boxes, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(boxes);
	o.min_side = 0.1;
	assert_int_equal(fm_facedet_detect(d, &s.photos[0].gray, &o, &boxes, &n, &e), -1);
	assert_int_equal(e.code, FM_ELIMIT);
	fm_facedet_free(d);
	fm_cnn_free(net);
	fm_facedet_set_free(&s);
}

static void
labels_parse_and_refuse_by_line(void **state)
{
	(void)state;
	const char *good =
	    "{\"path\":\"a.jpg\",\"width\":9,\"faces\":[{\"x\":1,\"y\":2,\"w\":30,"
	    "\"h\":31,\"landmarks\":[[1,2],[3,4],[5,6],[7,8]]},{\"x\":5,\"y\":6,"
	    "\"w\":7,\"h\":8,\"ignore\":true}]}\n\n  \r\n{\"path\":\"b.jpg\",\"faces\":[]}";
	struct fm_facedet_set s;
	struct fm_err e;

	assert_int_equal(fm_facedet_set_decode(good, strlen(good), &s, &e), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.photos[0].path, "a.jpg");
	assert_int_equal(s.photos[0].n_faces, 2);
	assert_true(s.photos[0].faces[0].has_landmarks && !s.photos[0].faces[0].ignore);
	assert_true(s.photos[0].faces[0].landmarks[3][1] == 8);
	assert_true(!s.photos[0].faces[1].has_landmarks && s.photos[0].faces[1].ignore);
	assert_int_equal(s.photos[1].n_faces, 0);
	fm_facedet_set_free(&s);
	const char *bad =
	    "{\"path\":\"a.jpg\",\"faces\":[]}\n{\"path\":\"b.jpg\",\"faces\":[{\"x\":1}]}\n";

	assert_int_equal(fm_facedet_set_decode(bad, strlen(bad), &s, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_string_equal(e.msg,
	                    "line 2: a face is not an object with finite x, y and positive w, h");
	assert_int_equal(s.n, 0);
	assert_null(s.photos);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_face_encoded_decodes_to_its_box_and_landmarks),
	    cmocka_unit_test(faces_outside_the_octave_are_ignored_or_background),
	    cmocka_unit_test(a_cell_claimed_twice_goes_to_the_smaller_face),
	    cmocka_unit_test(nms_keeps_the_best_of_each_overlap),
	    cmocka_unit_test(the_loss_gradient_matches_finite_differences),
	    cmocka_unit_test(ignored_cells_get_no_gradient),
	    cmocka_unit_test(augmentation_keeps_landmarks_on_their_pixels),
	    cmocka_unit_test(faces_cut_by_the_tile_are_ignored),
	    cmocka_unit_test(augmentation_repeats_for_a_seed),
	    cmocka_unit_test(photometric_at_zero_changes_nothing),
	    cmocka_unit_test(the_geometry_round_trips_through_the_info),
	    cmocka_unit_test(labels_parse_and_refuse_by_line),
	    cmocka_unit_test(training_lowers_the_loss_and_repeats_for_a_seed),
	    cmocka_unit_test(detection_gives_sorted_boxes_within_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
