/*
 * tests/unit/test_face.c: the way from an image or a crop to the network's input (lib/face):
 * the input is exact when unaugmented and reproducible when augmented; crops take any box a
 * record may claim; the crop record reads back what was written and refuses what is not one;
 * --max-faces keeps the most certain faces; and a batch with test-time augmentation is the
 * mean of ten views of each face (turned, zoomed and mirrored), each where it should be.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "face.h"
#include "mood.h"

/* The face records these tests read, parsed; the test fails on bad JSON. */
static cJSON *
parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	return j;
}

static void
unaugmented_sample_is_the_normalised_face(void **state)
{
	uint8_t face[16];
	float out[16];

	(void)state;
	for (int i = 0; i < 16; i++)
		face[i] = (uint8_t)(i * 17);
	fm_face_to_input(face, 4, NULL, NULL, 4, 127.5f, 63.75f, out);
	for (int i = 0; i < 16; i++)
		assert_float_equal(out[i], (face[i] / 255.0f - 0.5f) / 0.25f, 1e-5);
}

/* A flip only: the mirror image, exactly (the bilinear weights are 0 and 1). */
static void
flip_mirrors_the_face(void **state)
{
	struct fm_augment flip = {1, 0, 0, 0, 0, 0, 0};
	uint8_t face[36];
	float out[36];
	struct fm_rng rng;
	int flipped = 0;

	(void)state;
	for (int i = 0; i < 36; i++)
		face[i] = (uint8_t)(i * 7);
	fm_rng_seed(&rng, 3);
	for (int tries = 0; tries < 8; tries++) {
		fm_face_to_input(face, 6, &flip, &rng, 6, 0, 255, out);
		if (fabsf(out[0] - face[0] / 255.0f) < 1e-6)
			continue;
		for (int y = 0; y < 6; y++)
			for (int x = 0; x < 6; x++)
				assert_float_equal(out[y * 6 + x], face[y * 6 + 5 - x] / 255.0f,
				                   1e-5);
		flipped++;
	}
	assert_true(flipped > 0 && flipped < 8);
}

static void
augmentation_repeats_from_the_seed(void **state)
{
	struct fm_augment a = {1, 4, 10, 0.1f, 0.1f, 0.2f, 0};
	uint8_t face[48 * 48];
	float x[48 * 48], y[48 * 48];
	struct fm_rng r1, r2;

	(void)state;
	for (int i = 0; i < 48 * 48; i++)
		face[i] = (uint8_t)((i * 31) % 251);
	fm_rng_seed(&r1, 42);
	fm_rng_seed(&r2, 42);
	fm_face_to_input(face, 48, &a, &r1, 48, 127.5f, 63.75f, x);
	fm_face_to_input(face, 48, &a, &r2, 48, 127.5f, 63.75f, y);
	assert_memory_equal(x, y, sizeof x);
	for (int i = 0; i < 48 * 48; i++)
		assert_true(isfinite(x[i]));
}

/* Random erasing blanks one rectangle (zeros, the mean after normalisation) of 2% to 20% of
 * the face with the probability asked, and never with 0. */
static void
erasing_blanks_one_bounded_rectangle(void **state)
{
	struct fm_augment always = {0, 0, 0, 0, 0, 0, 1}, never = {0, 0, 0, 0, 0, 0, 0};
	uint8_t face[48 * 48];
	float x[48 * 48];
	struct fm_rng r;
	int erased_faces = 0;

	(void)state;
	memset(face, 255, sizeof face); /* far above the mean: no pixel is 0 unless erased */
	fm_rng_seed(&r, 7);
	for (int k = 0; k < 200; k++) {
		int zeros = 0, x0 = 48, x1 = -1, y0 = 48, y1 = -1;

		fm_face_to_input(face, 48, &always, &r, 48, 127.5f, 63.75f, x);
		for (int v = 0; v < 48; v++)
			for (int u = 0; u < 48; u++)
				if (x[v * 48 + u] == 0) {
					zeros++;
					x0 = u < x0 ? u : x0;
					x1 = u > x1 ? u : x1;
					y0 = v < y0 ? v : y0;
					y1 = v > y1 ? v : y1;
				}
		/* One solid rectangle, within the documented area (rounding allowed). */
		assert_int_equal(zeros, (x1 - x0 + 1) * (y1 - y0 + 1));
		assert_true(zeros >= 0.01 * 48 * 48 && zeros <= 0.25 * 48 * 48);
		erased_faces += zeros > 0;
	}
	assert_int_equal(erased_faces, 200);
	for (int k = 0; k < 50; k++) {
		fm_face_to_input(face, 48, &never, &r, 48, 127.5f, 63.75f, x);
		for (int i = 0; i < 48 * 48; i++)
			assert_true(x[i] != 0);
	}
}

/* A record may claim any box: one far larger than the image is refused, not allocated. */
static void
face_crop_bounds_the_memory_a_box_may_take(void **state)
{
	uint8_t pixels[100 * 100], out[48 * 48], again[48 * 48];
	struct fm_gray img = {100, 100, pixels};
	struct fm_err err;

	(void)state;
	memset(pixels, 77, sizeof pixels);
	/* A face that fills the image, with a margin that leaves it on every side. */
	assert_int_equal(
	    fm_face_crop(&img, (const int32_t[4]){0, 0, 100, 100}, 0.4f, 48, out, &err), 0);
	for (size_t i = 0; i < sizeof out; i++)
		assert_int_equal(out[i], 77);
	/* Partly outside and past the corner: edges repeat. */
	assert_int_equal(
	    fm_face_crop(&img, (const int32_t[4]){90, -30, 60, 60}, 0.1f, 48, out, &err), 0);
	assert_int_equal(out[0], 77);
	/* 1e7 pixels a side, as a hostile record may say: FM_ELIMIT, not terabytes. */
	assert_int_equal(
	    fm_face_crop(&img, (const int32_t[4]){0, 0, 10000000, 10000000}, 0.1f, 48, out, &err),
	    -1);
	assert_int_equal(err.code, FM_ELIMIT);
	assert_non_null(strstr(err.msg, "far larger than the 100x100 image"));
	/* A small image still takes a box of 4 Mpixels with its margin (2048 a side). */
	assert_int_equal(fm_face_crop(&img, (const int32_t[4]){0, 0, 2048, 2048}, 0, 48, out, &err),
	                 0);
	assert_int_equal(fm_face_crop(&img, (const int32_t[4]){0, 0, 2049, 2048}, 0, 48, out, &err),
	                 -1);
	/* A crop cut again with the margin it has is itself. */
	assert_int_equal(fm_face_recrop(out, 48, 0.1f, 0.1f, 48, again, &err), 0);
	assert_memory_equal(out, again, sizeof out);
	assert_int_equal(fm_face_recrop(out, 48, 0.1f, 0.5f, 48, again, &err), 0);
	assert_int_equal(fm_face_recrop(out, 48, 0.1f, 11, 48, again, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
}

/* With the sides equal and no augmentation, each value is fm_cnn_normalize's, bit for bit:
 * fer-train --eval and fer-classify give one face one answer. */
static void
unaugmented_input_is_exactly_the_networks_normalisation(void **state)
{
	struct fm_cnn *net;
	struct fm_err err;
	uint8_t face[8 * 8];
	float mean, std, a[8 * 8], b[8 * 8];

	(void)state;
	assert_int_equal(fm_cnn_new("dense 7", 1, 8, 8, 2, 1, &net, &err), 0);
	assert_int_equal(fm_cnn_set_normalization(net, 131.2f, 78.4f, &err), 0);
	fm_cnn_normalization(net, &mean, &std);
	for (int i = 0; i < 64; i++)
		face[i] = (uint8_t)(i * 37 % 256);
	fm_face_to_input(face, 8, NULL, NULL, 8, mean, std, a);
	fm_cnn_normalize(net, face, 64, b);
	assert_memory_equal(a, b, sizeof a);
	fm_cnn_free(net);
}

/* Unaugmented but of another side: resized, a flat face stays flat. */
static void
unaugmented_input_of_another_side_is_resized(void **state)
{
	uint8_t face[6 * 6];
	float out[4 * 4];

	(void)state;
	memset(face, 200, sizeof face);
	fm_face_to_input(face, 6, NULL, NULL, 4, 100, 50, out);
	for (int i = 0; i < 16; i++)
		assert_float_equal(out[i], 2.0f, 1e-5); /* float rounding of (200/255 - m) / s */
}

/*
 * A face-crop image is the face: copied at the network's side, else resized whole (no
 * margin, nothing cut), as fm_gray_resize does it, a crop that is not square stretched.
 */
static void
whole_face_is_copied_or_resized(void **state)
{
	uint8_t px[37 * 23], out[8 * 8], want[8 * 8];
	struct fm_gray img = {8, 8, px}, want_img = {8, 8, want};

	(void)state;
	for (int i = 0; i < 37 * 23; i++)
		px[i] = (uint8_t)(i * 53 % 251);
	fm_face_whole(&img, 8, out);
	assert_memory_equal(out, px, 64);
	img = (struct fm_gray){37, 23, px};
	fm_face_whole(&img, 8, out);
	fm_gray_resize(&img, &want_img);
	assert_memory_equal(out, want, 64);
}

/* --operand auto: at most 256 pixels a side and at most 5:4 is a face crop. */
static void
crop_rule_takes_small_squarish_images_for_faces(void **state)
{
	(void)state;
	assert_true(fm_face_is_crop(48, 48));
	assert_true(fm_face_is_crop(1, 1));
	assert_true(fm_face_is_crop(256, 256));
	assert_true(fm_face_is_crop(200, 160)); /* 5:4 */
	assert_true(fm_face_is_crop(160, 200));
	assert_false(fm_face_is_crop(257, 257));
	assert_false(fm_face_is_crop(200, 150)); /* a 4:3 thumbnail */
	assert_false(fm_face_is_crop(150, 200));
	assert_false(fm_face_is_crop(201, 160));
	assert_false(fm_face_is_crop(0, 0));
	assert_false(fm_face_is_crop(48, 0));
	assert_false(fm_face_is_crop(UINT32_MAX, UINT32_MAX));
}

/* A face's answer: scores to four decimals, the first most probable class, or "uncertain"
 * below the confidence asked for, with its scores all the same. */
static void
label_gives_rounded_scores_and_refuses_doubt(void **state)
{
	static const char *const names[7] = {"angry", "disgust",  "fear",   "happy",
	                                     "sad",   "surprise", "neutral"};
	const float p[7] = {0.1f, 0.05f, 0.05f, 0.35f, 0.35f, 0.0f, 0.1000004f};
	struct fm_cnn *net;
	struct fm_err err;
	cJSON *face = parse("{\"x\":1,\"emotion\":\"old\"}");
	char *text;

	(void)state;
	assert_int_equal(fm_cnn_new("dense 7", 1, 4, 4, 2, 1, &net, &err), 0);
	assert_int_equal(fm_cnn_set_classes(net, names, 7, &err), 0);
	assert_int_equal(fm_face_label(face, net, p, 0, &err), 0);
	text = cJSON_PrintUnformatted(face);
	assert_string_equal(text, "{\"x\":1,\"emotion\":\"happy\",\"scores\":{\"angry\":0.1,"
	                          "\"disgust\":0.05,\"fear\":0.05,\"happy\":0.35,\"sad\":0.35,"
	                          "\"surprise\":0,\"neutral\":0.1}}");
	free(text);
	assert_int_equal(fm_face_label(face, net, p, 0.34, &err), 0);
	assert_string_equal(cJSON_GetObjectItem(face, "emotion")->valuestring, "happy");
	assert_int_equal(fm_face_label(face, net, p, 0.36, &err), 0);
	assert_string_equal(cJSON_GetObjectItem(face, "emotion")->valuestring, FM_MOOD_UNCERTAIN);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(face, "scores")), 7);
	cJSON_Delete(face);
	fm_cnn_free(net);
}

static void
mirror_reverses_each_row(void **state)
{
	float img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	const float want[9] = {3, 2, 1, 6, 5, 4, 9, 8, 7};

	(void)state;
	fm_face_mirror(img, 3);
	assert_memory_equal(img, want, sizeof img);
}

static void
box_is_read_rounded_and_checked(void **state)
{
	static const char *const bad[] = {
	    "{\"x\":1,\"y\":2,\"w\":0.5,\"h\":4}",   "{\"x\":1,\"y\":2,\"w\":3}",
	    "{\"x\":\"1\",\"y\":2,\"w\":3,\"h\":4}", "{\"x\":1e8,\"y\":2,\"w\":3,\"h\":4}",
	    "{\"x\":1,\"y\":2,\"w\":3,\"h\":-4}",
	};
	static const char *const which[] = {"\"w\"", "\"h\"", "\"x\"", "\"x\"", "\"h\""};
	cJSON *face = parse("{\"x\":-3.4,\"y\":2.6,\"w\":10,\"h\":1e7}");
	struct fm_err err;
	int32_t box[4];

	(void)state;
	assert_int_equal(fm_face_get_box(face, box, &err), 0);
	assert_int_equal(box[0], -3);
	assert_int_equal(box[1], 3);
	assert_int_equal(box[2], 10);
	assert_int_equal(box[3], 10000000);
	cJSON_Delete(face);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		face = parse(bad[i]);
		assert_int_equal(fm_face_get_box(face, box, &err), -1);
		assert_int_equal(err.code, FM_EINVAL);
		assert_non_null(strstr(err.msg, which[i]));
		cJSON_Delete(face);
	}
}

static void
crop_record_reads_back_what_was_written(void **state)
{
	uint8_t gray[5 * 5];
	struct fm_crop c = {5, 0.3, gray}, back;
	cJSON *face = parse("{\"x\":1}");
	struct fm_err err;
	char *text;

	(void)state;
	for (int i = 0; i < 25; i++)
		gray[i] = (uint8_t)(i * 10);
	assert_int_equal(fm_face_crop_encode(face, &c, &err), 0);
	text = cJSON_PrintUnformatted(face);
	assert_string_equal(text, "{\"x\":1,\"crop\":{\"side\":5,\"margin\":0.3,\"gray\":"
	                          "\"AAoUHigyPEZQWmRueIKMlqCqtL7I0tzm8A==\"}}");
	free(text);
	assert_int_equal(fm_face_crop_decode(face, &back, &err), 0);
	assert_int_equal(back.side, 5);
	assert_true(back.margin == 0.3);
	assert_memory_equal(back.gray, gray, sizeof gray);
	fm_face_crop_free(&back);
	fm_face_crop_free(NULL);
	cJSON_Delete(face);
	/* No crop: 1, and nothing to free. */
	face = parse("{\"x\":1}");
	assert_int_equal(fm_face_crop_decode(face, &back, &err), 1);
	assert_null(back.gray);
	cJSON_Delete(face);
}

static void
crop_record_refuses_what_is_not_one(void **state)
{
	static const char *const bad[] = {
	    "{\"crop\":1}",
	    "{\"crop\":{\"side\":0,\"margin\":0.1,\"gray\":\"AA==\"}}",
	    "{\"crop\":{\"side\":4097,\"margin\":0.1,\"gray\":\"AA==\"}}",
	    "{\"crop\":{\"side\":1.5,\"margin\":0.1,\"gray\":\"AA==\"}}",
	    "{\"crop\":{\"side\":1,\"margin\":2.5,\"gray\":\"AA==\"}}",
	    "{\"crop\":{\"side\":1,\"gray\":\"AA==\"}}",
	    "{\"crop\":{\"side\":2,\"margin\":0.1,\"gray\":\"AA==\"}}",
	    "{\"crop\":{\"side\":1,\"margin\":0.1,\"gray\":\"A!==\"}}",
	    "{\"crop\":{\"side\":1,\"margin\":0.1,\"gray\":\"AAAA\"}}",
	};
	struct fm_crop c;
	struct fm_err err;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *face = parse(bad[i]);

		assert_int_equal(fm_face_crop_decode(face, &c, &err), -1);
		assert_true(err.code == FM_EFORMAT || err.code == FM_ELIMIT);
		assert_null(c.gray);
		cJSON_Delete(face);
	}
	cJSON *face = parse(bad[1]);
	assert_int_equal(fm_face_crop_decode(face, &c, &err), -1);
	assert_string_equal(err.msg, "face \"crop\" without a whole \"side\" (1 to 4096) and a "
	                             "\"margin\" (0 to 2)");
	cJSON_Delete(face);
	face = parse(bad[6]);
	assert_int_equal(fm_face_crop_decode(face, &c, &err), -1);
	assert_string_equal(err.msg, "face \"crop\" holds 1 bytes, not side^2");
	cJSON_Delete(face);
}

/* A face's pixels come from its crop when it has one, else from the image by its box. */
static void
face_pixels_come_from_the_crop_or_the_image(void **state)
{
	uint8_t pixels[40 * 30], want[8 * 8], got[8 * 8], crop[16 * 16];
	struct fm_gray img = {40, 30, pixels};
	struct fm_crop c = {16, 0.2, crop};
	cJSON *faces = parse("[{\"x\":5,\"y\":4,\"w\":20,\"h\":20},{\"x\":5}]");
	cJSON *boxed = cJSON_GetArrayItem(faces, 0), *cropped = cJSON_GetArrayItem(faces, 1);
	struct fm_err err;

	(void)state;
	for (size_t i = 0; i < sizeof pixels; i++)
		pixels[i] = (uint8_t)(i * 7 % 253);
	assert_int_equal(fm_face_crop(&img, (const int32_t[4]){5, 4, 20, 20}, 0.1f, 8, want, &err),
	                 0);
	assert_int_equal(fm_face_pixels(boxed, &img, 8, 0.1f, got, &err), 0);
	assert_memory_equal(got, want, sizeof want);
	assert_false(fm_face_all_cropped(faces));
	/* Without the image, a face without a crop cannot be read. */
	assert_int_equal(fm_face_pixels(boxed, NULL, 8, 0.1f, got, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);

	assert_int_equal(fm_face_crop(&img, (const int32_t[4]){5, 4, 20, 20}, 0.2f, 16, crop, &err),
	                 0);
	assert_int_equal(fm_face_crop_encode(cropped, &c, &err), 0);
	assert_int_equal(fm_face_recrop(crop, 16, 0.2f, 0.1f, 8, want, &err), 0);
	memset(got, 0, sizeof got);
	assert_int_equal(fm_face_pixels(cropped, NULL, 8, 0.1f, got, &err), 0);
	assert_memory_equal(got, want, sizeof want);
	cJSON_DeleteItemFromArray(faces, 0);
	assert_true(fm_face_all_cropped(faces));
	cJSON_Delete(faces);
}

static void
most_certain_faces_are_kept_in_their_order(void **state)
{
	const double score[6] = {0.5, 0.9, NAN, 0.9, 0.7, 0.2};
	bool keep[6];
	size_t n_kept;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_face_most_certain(score, 6, 2, keep, &n_kept, &err), 0);
	assert_int_equal(n_kept, 2);
	assert_true(!keep[0] && keep[1] && !keep[2] && keep[3] && !keep[4] && !keep[5]);
	/* A tie at the limit goes to the earlier face; no score is less than any. */
	const double tied[4] = {NAN, 0.3, 0.3, 0.3};
	assert_int_equal(fm_face_most_certain(tied, 4, 2, keep, &n_kept, &err), 0);
	assert_true(!keep[0] && keep[1] && keep[2] && !keep[3]);
	assert_int_equal(fm_face_most_certain(tied, 4, 4, keep, &n_kept, &err), 0);
	assert_int_equal(n_kept, 4);
	assert_true(keep[0] && keep[1] && keep[2] && keep[3]);
	const double none[3] = {NAN, NAN, NAN};
	assert_int_equal(fm_face_most_certain(none, 3, 1, keep, &n_kept, &err), 0);
	assert_true(keep[0] && !keep[1] && !keep[2]);
}

static void
limit_drops_the_least_certain_faces_of_a_record(void **state)
{
	cJSON *rec = parse("{\"path\":\"a.jpg\",\"faces\":[{\"x\":0,\"score\":0.5},"
	                   "{\"x\":1,\"score\":0.9},{\"x\":2},{\"x\":3,\"score\":0.7}],"
	                   "\"faces_dropped\":3,\"user\":\"me\"}");
	struct fm_err err;
	char *text;

	(void)state;
	assert_int_equal(fm_face_limit(rec, 2, &err), 0);
	text = cJSON_PrintUnformatted(rec);
	assert_string_equal(text, "{\"path\":\"a.jpg\",\"faces\":[{\"x\":1,\"score\":0.9},"
	                          "{\"x\":3,\"score\":0.7}],\"faces_dropped\":5,\"user\":\"me\"}");
	free(text);
	/* Within the limit: untouched. */
	assert_int_equal(fm_face_limit(rec, 2, &err), 0);
	text = cJSON_PrintUnformatted(rec);
	assert_non_null(strstr(text, "\"faces_dropped\":5"));
	free(text);
	cJSON_Delete(rec);
	rec = parse("{\"faces\":[{\"score\":0.1},{\"score\":0.2}]}");
	assert_int_equal(fm_face_limit(rec, 1, &err), 0);
	text = cJSON_PrintUnformatted(rec);
	assert_string_equal(text, "{\"faces\":[{\"score\":0.2}],\"faces_dropped\":1}");
	free(text);
	cJSON_Delete(rec);
	rec = parse("{\"path\":\"b.jpg\"}");
	assert_int_equal(fm_face_limit(rec, 1, &err), 0);
	text = cJSON_PrintUnformatted(rec);
	assert_string_equal(text, "{\"path\":\"b.jpg\"}");
	free(text);
	cJSON_Delete(rec);
}

/*
 * A batch larger than the network's goes in several passes, and with test-time
 * augmentation each face's probabilities are the mean over the ten views that
 * fm_face_view_input makes of it, the mirror pair that of views 0 and 5, and the face alone
 * that of view 0: classifying each view's input by itself gives the same means.
 */
static void
batch_with_tta_is_the_mean_of_ten_views(void **state)
{
	enum { N = 5, S = 6, C = 7, V = 10 };
	struct fm_cnn *net;
	struct fm_face_classifier *fc;
	struct fm_err err;
	uint8_t faces[N * S * S];
	float in[S * S], views[V][N * C], tta[N * C], pair[N * C], plain[N * C], one[C];
	float mean, std;

	(void)state;
	assert_int_equal(fm_cnn_new("conv 3 3 1 1, relu, gap, dense 7", 1, S, S, 2, 7, &net, &err),
	                 0);
	assert_int_equal(fm_cnn_set_normalization(net, 120, 60, &err), 0);
	assert_int_equal(fm_face_classifier_new(net, &fc, &err), 0);
	fm_cnn_normalization(net, &mean, &std);
	for (size_t i = 0; i < sizeof faces; i++)
		faces[i] = (uint8_t)(i * 29 % 251);
	for (int v = 0; v < V; v++)
		for (int f = 0; f < N; f++) {
			fm_face_view_input(faces + f * S * S, S, (unsigned)v, S, mean, std, in);
			assert_int_equal(fm_cnn_forward(net, in, 1, 0, views[v] + f * C, &err), 0);
		}
	assert_int_equal(fm_face_classify(fc, faces, S, N, FM_FACE_VIEWS_ONE, plain, &err), 0);
	assert_int_equal(fm_face_classify(fc, faces, S, N, FM_FACE_VIEWS_TTA, tta, &err), 0);
	assert_int_equal(fm_face_classify(fc, faces, S, N, FM_FACE_VIEWS_MIRROR, pair, &err), 0);
	for (int k = 0; k < N * C; k++) {
		float sum = 0;

		for (int v = 0; v < V; v++)
			sum += views[v][k];
		assert_float_equal(tta[k], sum / V, 1e-6);
		assert_float_equal(pair[k], (views[0][k] + views[5][k]) / 2, 1e-6);
		assert_float_equal(plain[k], views[0][k], 1e-6);
		assert_true(plain[k] >= 0 && plain[k] <= 1);
	}
	/* The views differ, or the test would not tell ten views from one. */
	for (int v = 1; v < V; v++)
		assert_true(memcmp(views[0], views[v], sizeof views[0]) != 0);
	for (int bad = 0; bad <= 11; bad++) {
		if (fm_face_views_valid(bad))
			continue;
		assert_int_equal(fm_face_classify(fc, faces, S, N, bad, one, &err), -1);
		assert_int_equal(err.code, FM_EINVAL);
	}
	assert_true(fm_face_views_valid(1) && fm_face_views_valid(2) && fm_face_views_valid(10));
	assert_false(fm_face_views_valid(0) || fm_face_views_valid(3) || fm_face_views_valid(-1));
	/* The last face of the odd batch, alone: the same answer, to float rounding. */
	assert_int_equal(
	    fm_face_classify(fc, faces + (N - 1) * S * S, S, 1, FM_FACE_VIEWS_ONE, one, &err), 0);
	for (int k = 0; k < C; k++)
		assert_float_equal(one[k], plain[(N - 1) * C + k], 1e-6);
	fm_face_classifier_free(fc);
	fm_face_classifier_free(NULL);
	/* A network that does not read one square gray face is refused. */
	fm_cnn_free(net);
	assert_int_equal(fm_cnn_new("dense 7", 3, S, S, 2, 7, &net, &err), 0);
	assert_int_equal(fm_face_classifier_new(net, &fc, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_null(fc);
	fm_cnn_free(net);
}

/* The centre of the bright part of a side x side input, as offsets from the image's centre. */
static void
bright_centre(const float *x, int side, double *cx, double *cy)
{
	float lo = x[0];
	double w = 0, sx = 0, sy = 0;

	for (int i = 1; i < side * side; i++)
		lo = x[i] < lo ? x[i] : lo;
	for (int y = 0; y < side; y++)
		for (int u = 0; u < side; u++) {
			double d = x[y * side + u] - lo;

			w += d;
			sx += d * (u + 0.5 - side / 2.0);
			sy += d * (y + 0.5 - side / 2.0);
		}
	*cx = sx / w;
	*cy = sy / w;
}

/*
 * The ten views: view 0 is exactly the unaugmented input and view 5 exactly its mirror
 * image; views 1 and 2 turn the face by 10 degrees about its centre one way and the other,
 * 3 and 4 zoom it out and in by 10%, and 6 to 9 do the same to the mirror image. A bright
 * spot 12 pixels right of the centre lands where the turn or the zoom takes it, and an even
 * face stays even (the edge is repeated, not darkened).
 */
static void
views_turn_zoom_and_mirror_the_face(void **state)
{
	enum { S = 48 };
	static uint8_t face[S * S], even[S * S];
	static float base[S * S], x[S * S], mirrored[S * S];
	const double r = 12, turn = 10 * 3.14159265358979 / 180;
	const double want[10][2] = {
	    {r, 0},
	    {r * cos(turn), r * sin(turn)},
	    {r * cos(turn), -r * sin(turn)},
	    {r * 0.9, 0},
	    {r * 1.1, 0},
	    {-r, 0},
	    {-r * cos(turn), -r * sin(turn)},
	    {-r * cos(turn), r * sin(turn)},
	    {-r * 0.9, 0},
	    {-r * 1.1, 0},
	};

	(void)state;
	memset(face, 40, sizeof face);
	memset(even, 173, sizeof even);
	/* A 2x2 spot whose centre is (35.5 + 0.5, 23.5 + 0.5) - (24, 24) = (12, 0). */
	for (int y = 23; y <= 24; y++)
		for (int u = 35; u <= 36; u++)
			face[y * S + u] = 250;
	fm_face_to_input(face, S, NULL, NULL, S, 120, 60, base);
	for (unsigned v = 0; v < 10; v++) {
		double cx, cy;

		fm_face_view_input(face, S, v, S, 120, 60, x);
		bright_centre(x, S, &cx, &cy);
		print_message("# view %u: spot at (%.3f, %.3f)\n", v, cx, cy);
		assert_float_equal(cx, want[v][0], 0.1);
		assert_float_equal(cy, want[v][1], 0.1);
		fm_face_view_input(even, S, v, S, 120, 60, x);
		for (int i = 0; i < S * S; i++)
			assert_float_equal(x[i], (173 - 120) / 60.0, 1e-5);
	}
	fm_face_view_input(face, S, 0, S, 120, 60, x);
	assert_memory_equal(x, base, sizeof base);
	fm_face_view_input(face, S, 99, S, 120, 60, x);
	assert_memory_equal(x, base, sizeof base);
	memcpy(mirrored, base, sizeof base);
	fm_face_mirror(mirrored, S);
	fm_face_view_input(face, S, 5, S, 120, 60, x);
	assert_memory_equal(x, mirrored, sizeof mirrored);
}

/*
 * A model's default views come from its training note's "views": 1, 2 or 10; a note
 * without it, or that is not JSON (free text), gives 1; anything else there is refused.
 */
static void
model_views_come_from_the_training_note(void **state)
{
	static const struct {
		const char *info;
		int rc, views;
	} cases[] = {
	    {"{\"views\":2}", 0, 2},      {"{\"views\":10,\"epochs\":3}", 0, 10},
	    {"{\"views\":1}", 0, 1},      {"{\"epochs\":3}", 0, 1},
	    {"trained by hand", 0, 1},    {"", 0, 1},
	    {"{\"views\":3}", -1, 0},     {"{\"views\":0}", -1, 0},
	    {"{\"views\":2.5}", -1, 0},   {"{\"views\":-2}", -1, 0},
	    {"{\"views\":1e300}", -1, 0}, {"{\"views\":\"2\"}", -1, 0},
	    {"{\"views\":null}", -1, 0},  {"{\"views\":[2]}", -1, 0},
	};
	struct fm_cnn *net;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_cnn_new("gap, dense 7", 1, 6, 6, 1, 1, &net, &err), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum fm_face_views views = FM_FACE_VIEWS_TTA;

		print_message("# %s\n", cases[i].info);
		assert_int_equal(fm_cnn_set_info(net, cases[i].info, &err), 0);
		assert_int_equal(fm_face_model_views(net, 0, &views, &err), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(views, cases[i].views);
		else
			assert_int_equal(err.code, FM_EFORMAT);
	}
	fm_cnn_free(net);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unaugmented_sample_is_the_normalised_face),
	    cmocka_unit_test(unaugmented_input_is_exactly_the_networks_normalisation),
	    cmocka_unit_test(unaugmented_input_of_another_side_is_resized),
	    cmocka_unit_test(flip_mirrors_the_face),
	    cmocka_unit_test(augmentation_repeats_from_the_seed),
	    cmocka_unit_test(erasing_blanks_one_bounded_rectangle),
	    cmocka_unit_test(whole_face_is_copied_or_resized),
	    cmocka_unit_test(crop_rule_takes_small_squarish_images_for_faces),
	    cmocka_unit_test(label_gives_rounded_scores_and_refuses_doubt),
	    cmocka_unit_test(mirror_reverses_each_row),
	    cmocka_unit_test(face_crop_bounds_the_memory_a_box_may_take),
	    cmocka_unit_test(box_is_read_rounded_and_checked),
	    cmocka_unit_test(crop_record_reads_back_what_was_written),
	    cmocka_unit_test(crop_record_refuses_what_is_not_one),
	    cmocka_unit_test(face_pixels_come_from_the_crop_or_the_image),
	    cmocka_unit_test(most_certain_faces_are_kept_in_their_order),
	    cmocka_unit_test(limit_drops_the_least_certain_faces_of_a_record),
	    cmocka_unit_test(batch_with_tta_is_the_mean_of_ten_views),
	    cmocka_unit_test(views_turn_zoom_and_mirror_the_face),
	    cmocka_unit_test(model_views_come_from_the_training_note),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
