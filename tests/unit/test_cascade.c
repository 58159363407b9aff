/*
 * tests/unit/test_cascade.c: the cascade loader refuses what it cannot trust, the tilted
 * integral follows its definition, and detection reproduces OpenCV's detectMultiScale on
 * the test photos (reference boxes made by scripts/refdata/opencv-boxes.py, kept in testdata/ref/).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cascade.h"
#include "cascade_int.h"
#include "image.h"

#define OPENCV_DIR "/usr/share/opencv4"
#define ALT2 OPENCV_DIR "/haarcascades/haarcascade_frontalface_alt2.xml"

static char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	*n = (size_t)len;
	return buf;
}

static void
expect_format_error(const char *xml, const char *words)
{
	struct fm_cascade *c = (struct fm_cascade *)1;
	struct fm_err err = {0};

	assert_int_equal(fm_cascade_decode(xml, strlen(xml), &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.code, FM_EFORMAT);
	if (strstr(err.msg, words) == NULL)
		fail_msg("message '%s' does not say '%s'", err.msg, words);
}

/* A minimal valid Haar cascade: one stage, one stump over a two-rectangle feature. */
#define HAAR_HEAD                                                                                  \
	"<?xml version=\"1.0\"?>\n<opencv_storage>\n<cascade type_id=\"opencv-cascade-"            \
	"classifier\"><stageType>BOOST</stageType><featureType>HAAR</featureType>"                 \
	"<height>24</height><width>24</width><featureParams><maxCatCount>0</maxCatCount>"          \
	"</featureParams><stageNum>1</stageNum>"
#define ONE_STAGE(nodes, leaves)                                                                   \
	"<stages><_><maxWeakCount>1</maxWeakCount><stageThreshold>-1.</stageThreshold>"            \
	"<weakClassifiers><_><internalNodes>" nodes "</internalNodes><leafValues>" leaves          \
	"</leafValues></_></weakClassifiers></_></stages>"
#define FEATURE(rects) "<features><_><rects>" rects "</rects></_></features>"
#define TAIL "</cascade>\n</opencv_storage>\n"
#define GOOD_RECTS "<_>0 0 12 24 -1.</_><_>12 0 12 24 1.</_>"

static void
minimal_cascade_loads(void **state)
{
	static const char xml[] =
	    HAAR_HEAD ONE_STAGE("0 -1 0 0.5", "-1. 1.") FEATURE(GOOD_RECTS) TAIL;
	struct fm_cascade *c;
	struct fm_err err;
	uint32_t w, h;

	(void)state;
	assert_int_equal(fm_cascade_decode(xml, sizeof xml - 1, &c, &err), 0);
	assert_string_equal(fm_cascade_feature_type(c), "HAAR");
	fm_cascade_window(c, &w, &h);
	assert_int_equal(w, 24);
	assert_int_equal(h, 24);
	fm_cascade_free(c);
	fm_cascade_free(NULL);
}

static void
malformed_cascades_are_format_errors(void **state)
{
	(void)state;
	expect_format_error("", "expected an element");
	expect_format_error("hello", "expected an element");
	expect_format_error("<opencv_storage><cascade>", "missing closing tag");
	expect_format_error("<opencv_storage></nope>", "closing tag does not match");
	expect_format_error("<a></a>", "not an OpenCV cascade");
	expect_format_error("<opencv_storage><haarcascade_x type_id=\"opencv-haar-classifier\">"
	                    "<size>20 20</size></haarcascade_x></opencv_storage>",
	                    "old-format");
	expect_format_error(HAAR_HEAD TAIL, "no <features>");
	expect_format_error(HAAR_HEAD ONE_STAGE("0 -1 3 0.5", "-1. 1.") FEATURE(GOOD_RECTS) TAIL,
	                    "feature index out of range");
	expect_format_error(HAAR_HEAD ONE_STAGE("0 -1 0 0.5", "-1.") FEATURE(GOOD_RECTS) TAIL,
	                    "leaf count");
	expect_format_error(HAAR_HEAD ONE_STAGE("0 -1 0", "-1. 1.") FEATURE(GOOD_RECTS) TAIL,
	                    "malformed <internalNodes>");
	expect_format_error(HAAR_HEAD ONE_STAGE("5 -1 0 0.5", "-1. 1.") FEATURE(GOOD_RECTS) TAIL,
	                    "branch out of range");
	expect_format_error(HAAR_HEAD ONE_STAGE("0 -1 0 0.5", "-1. 1.")
	                        FEATURE("<_>0 0 12 24 -1.</_><_>20 0 12 24 1.</_>") TAIL,
	                    "outside the window");
	expect_format_error(HAAR_HEAD ONE_STAGE("0 -1 0 nan", "-1. 1.") FEATURE(GOOD_RECTS) TAIL,
	                    "non-finite");
	expect_format_error(HAAR_HEAD ONE_STAGE("0 -1 0 0.5", "-1. 1.")
	                        FEATURE("<_>0 0 12 24 -1.</_>") TAIL,
	                    "fewer than 2");
}

static void
unsupported_feature_type_is_refused(void **state)
{
	static const char hog[] = "<opencv_storage><cascade><stageType>BOOST</stageType>"
	                          "<featureType>HOG</featureType></cascade></opencv_storage>";
	(void)state;
	expect_format_error(hog, "unsupported feature type");
}

static void
deep_nesting_is_refused_without_recursing_forever(void **state)
{
	char *xml = malloc(100000 * 3 + 1);
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		memcpy(xml + n, "<a>", 3);
		n += 3;
	}
	xml[n] = '\0';
	expect_format_error(xml, "nested too deeply");
	free(xml);
}

static void
truncated_real_cascade_is_format_error(void **state)
{
	size_t n;
	char *xml = slurp(ALT2, &n);
	struct fm_cascade *c;
	struct fm_err err;

	(void)state;
	if (xml == NULL)
		skip();
	assert_int_equal(fm_cascade_decode(xml, n / 2, &c, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);
	free(xml);
}

static void
missing_file_and_directory_are_io_errors(void **state)
{
	struct fm_cascade *c;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_cascade_load("/nonexistent/x.xml", &c, &err), -1);
	assert_int_equal(err.code, FM_EIO);
	assert_int_equal(fm_cascade_load("/", &c, &err), -1);
	assert_int_equal(err.code, FM_EIO);
	assert_string_equal(err.msg, "is a directory");
}

/* Every cascade OpenCV ships loads, except the one old-format file, which is named. */
static void
every_opencv_cascade_loads_or_is_named_old_format(void **state)
{
	static const char *dirs[] = {OPENCV_DIR "/haarcascades", OPENCV_DIR "/lbpcascades"};
	int loaded = 0;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		if (d == NULL)
			skip();
		while ((e = readdir(d)) != NULL) {
			char path[512];
			struct fm_cascade *c;
			struct fm_err err;

			if (strstr(e->d_name, ".xml") == NULL)
				continue;
			snprintf(path, sizeof path, "%s/%s", dirs[i], e->d_name);
			if (fm_cascade_load(path, &c, &err) == 0) {
				loaded++;
				fm_cascade_free(c);
			} else if (strstr(err.msg, "old-format") == NULL) {
				fail_msg("%s: %s", path, err.msg);
			}
		}
		closedir(d);
	}
	assert_true(loaded >= 20);
}

static void
tilted_integral_follows_definition(void **state)
{
	enum { W = 13, H = 9 };
	uint8_t img[W * H];
	uint32_t out[(W + 1) * (H + 1)];
	int32_t *scratch = malloc(cascade_tilted_scratch(W, H) * sizeof *scratch);
	struct fm_rng rng;

	(void)state;
	fm_rng_seed(&rng, 7);
	for (int i = 0; i < W * H; i++)
		img[i] = (uint8_t)fm_rng_below(&rng, 256);
	cascade_tilted_integral(img, W, H, W + 1, out, scratch);
	for (int Y = 0; Y <= H; Y++) {
		for (int X = 0; X <= W; X++) {
			uint32_t want = 0;

			for (int y = 0; y < Y; y++)
				for (int x = 0; x < W; x++)
					if (abs(x - X + 1) <= Y - y - 1)
						want += img[y * W + x];
			assert_int_equal(out[Y * (W + 1) + X], want);
		}
	}
	free(scratch);
}

static struct fm_cascade *
load_or_skip(const char *path)
{
	struct fm_cascade *c;
	struct fm_err err;

	if (fm_cascade_load(path, &c, &err) == -1) {
		print_message("# skip: %s: %s\n", path, err.msg);
		skip();
	}
	return c;
}

static void
flat_and_tiny_images_have_no_faces(void **state)
{
	struct fm_cascade *c = load_or_skip(ALT2);
	struct fm_detector *d;
	struct fm_detect_opts o = FM_DETECT_OPTS_DEFAULT;
	struct fm_gray g;
	struct fm_box *b;
	size_t n = 1;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_detector_new(&d, &err), 0);
	assert_int_equal(fm_gray_new(200, 150, &g, &err), 0);
	memset(g.pixels, 128, 200 * 150);
	assert_int_equal(fm_cascade_detect(c, d, &g, &o, &b, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(b);
	fm_gray_free(&g);
	assert_int_equal(fm_gray_new(10, 10, &g, &err), 0);
	memset(g.pixels, 0, 100);
	assert_int_equal(fm_cascade_detect(c, d, &g, &o, &b, &n, &err), 0);
	assert_int_equal(n, 0);
	fm_gray_free(&g);
	fm_detector_free(d);
	fm_cascade_free(c);
}

static void
invalid_options_are_refused(void **state)
{
	struct fm_cascade *c = load_or_skip(ALT2);
	struct fm_detector *d;
	struct fm_detect_opts o = FM_DETECT_OPTS_DEFAULT;
	struct fm_gray g;
	struct fm_box *b;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_detector_new(&d, &err), 0);
	assert_int_equal(fm_gray_new(40, 40, &g, &err), 0);
	memset(g.pixels, 0, 1600);
	o.scale_factor = 1.0;
	assert_int_equal(fm_cascade_detect(c, d, &g, &o, &b, &n, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	o.scale_factor = 1.1;
	o.min_neighbors = -1;
	assert_int_equal(fm_cascade_detect(c, d, &g, &o, &b, &n, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	fm_gray_free(&g);
	fm_detector_free(d);
	fm_cascade_free(c);
}

/* --- against OpenCV ------------------------------------------------------------------------- */

struct tally {
	size_t ref, ours, ref_found, ours_matched, exact_lines, lines;
};

static double
iou(const int32_t *a, const struct fm_box *b)
{
	double x0 = a[0] > b->x ? a[0] : b->x, y0 = a[1] > b->y ? a[1] : b->y;
	double x1 = a[0] + a[2] < b->x + b->w ? a[0] + a[2] : b->x + b->w;
	double y1 = a[1] + a[3] < b->y + b->h ? a[1] + a[3] : b->y + b->h;
	double inter = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;

	return inter / ((double)a[2] * a[3] + (double)b->w * b->h - inter);
}

static void
compare_line(const cJSON *line, struct tally *t)
{
	const char *photo = cJSON_GetObjectItem(line, "photo")->valuestring;
	const char *cname = cJSON_GetObjectItem(line, "cascade")->valuestring;
	const cJSON *ref = cJSON_GetObjectItem(line, "boxes"), *eq;
	char path[512];
	struct fm_detect_opts o = FM_DETECT_OPTS_DEFAULT;
	struct fm_cascade *c;
	struct fm_detector *d;
	struct fm_image img;
	struct fm_gray g;
	struct fm_box *b;
	size_t n, n_ref = (size_t)cJSON_GetArraySize(ref), exact = 0;
	struct fm_err err;

	o.scale_factor = cJSON_GetObjectItem(line, "scale")->valuedouble;
	o.min_neighbors = cJSON_GetObjectItem(line, "min_neighbors")->valueint;
	o.min_side = (uint32_t)cJSON_GetObjectItem(line, "min_size")->valueint;
	o.max_side = (uint32_t)cJSON_GetObjectItem(line, "max_size")->valueint;
	eq = cJSON_GetObjectItem(line, "equalize");

	snprintf(path, sizeof path, "%s/%s",
	         strstr(cname, "lbp") ? OPENCV_DIR "/lbpcascades" : OPENCV_DIR "/haarcascades",
	         cname);
	c = load_or_skip(path);
	snprintf(path, sizeof path, "testdata/photos/%s", photo);
	if (fm_image_load(path, FM_DEFAULT_MAX_PIXELS, &img, &err) == -1)
		fail_msg("%s: %s", path, err.msg);
	assert_int_equal(fm_image_to_gray(&img, &g, &err), 0);
	if (eq == NULL || cJSON_IsTrue(eq))
		fm_gray_equalize(&g);
	assert_int_equal(fm_detector_new(&d, &err), 0);
	assert_int_equal(fm_cascade_detect(c, d, &g, &o, &b, &n, &err), 0);

	for (size_t i = 0; i < n_ref; i++) {
		const cJSON *r = cJSON_GetArrayItem(ref, (int)i);
		int32_t a[5];

		for (int k = 0; k < 5; k++)
			a[k] = cJSON_GetArrayItem(r, k)->valueint;
		int found = 0;
		for (size_t j = 0; j < n; j++) {
			if (iou(a, &b[j]) >= 0.5)
				found = 1;
			if (a[0] == b[j].x && a[1] == b[j].y && a[2] == b[j].w && a[3] == b[j].h &&
			    a[4] == b[j].neighbors)
				exact++;
		}
		t->ref_found += (size_t)found;
	}
	for (size_t j = 0; j < n; j++) {
		for (size_t i = 0; i < n_ref; i++) {
			const cJSON *r = cJSON_GetArrayItem(ref, (int)i);
			int32_t a[4];

			for (int k = 0; k < 4; k++)
				a[k] = cJSON_GetArrayItem(r, k)->valueint;
			if (iou(a, &b[j]) >= 0.5) {
				t->ours_matched++;
				break;
			}
		}
	}
	t->ref += n_ref;
	t->ours += n;
	t->lines++;
	if (exact == n_ref && n == n_ref)
		t->exact_lines++;
	else
		print_message("# differs: %s %s scale %g mn %d: opencv %zu, ours %zu\n", photo,
		              cname, o.scale_factor, o.min_neighbors, n_ref, n);
	free(b);
	fm_detector_free(d);
	fm_gray_free(&g);
	fm_image_free(&img);
	fm_cascade_free(c);
}

/* The bar: at IoU >= 0.5, >= 98% of OpenCV's boxes found and >= 98% of ours OpenCV's. */
static void
boxes_match_opencv_on_test_photos(void **state)
{
	size_t n;
	char *text = slurp("testdata/ref/boxes.ndjson", &n);
	struct tally t = {0};

	(void)state;
	if (text == NULL) {
		print_message("# skip: testdata/ref/boxes.ndjson is missing\n");
		skip();
	}
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		cJSON *j = cJSON_Parse(line);

		assert_non_null(j);
		compare_line(j, &t);
		cJSON_Delete(j);
	}
	free(text);
	print_message("# %zu of %zu reference lines identical; opencv boxes %zu (found %zu), "
	              "ours %zu (matched %zu)\n",
	              t.exact_lines, t.lines, t.ref, t.ref_found, t.ours, t.ours_matched);
	assert_true(t.lines > 0);
	assert_true(t.ref_found * 100 >= t.ref * 98);
	assert_true(t.ours_matched * 100 >= t.ours * 98);
}

/*
 * An all-stump LBP cascade is scanned by vectorised code where the CPU allows (lib/cascade.c):
 * it must find the very windows of the portable scan, raw (min_neighbors 0) and grouped, at
 * both window steps (levels under and over factor 2), odd sizes and size limits included.
 */
static void
lbp_vector_scan_finds_the_portable_scans_windows(void **state)
{
	static const char *const cascades[] = {"lbpcascade_frontalface.xml",
	                                       "lbpcascade_frontalface_improved.xml",
	                                       "lbpcascade_profileface.xml"};
	static const char *const photos[] = {"chelsea.png", "grace-hopper.jpg", "astronaut.png"};
	static const struct {
		double scale;
		int min_neighbors;
		uint32_t min_side, max_side;
	} runs[] = {{1.1, 0, 0, 0}, {1.1, 3, 0, 0}, {1.05, 0, 30, 200}, {1.3, 0, 0, 0}};
	size_t windows = 0;

	(void)state;
	for (size_t ci = 0; ci < sizeof cascades / sizeof cascades[0]; ci++) {
		char path[512];
		struct fm_cascade *c;
		struct fm_detector *fast, *portable;
		struct fm_err err;

		snprintf(path, sizeof path, OPENCV_DIR "/lbpcascades/%s", cascades[ci]);
		c = load_or_skip(path);
		assert_int_equal(fm_detector_new(&fast, &err), 0);
		assert_int_equal(fm_detector_new(&portable, &err), 0);
		cascade_detector_portable(portable, 1);
		for (size_t pi = 0; pi < sizeof photos / sizeof photos[0]; pi++) {
			struct fm_image img;
			struct fm_gray g;

			snprintf(path, sizeof path, "testdata/photos/%s", photos[pi]);
			if (fm_image_load(path, FM_DEFAULT_MAX_PIXELS, &img, &err) == -1)
				fail_msg("%s: %s", path, err.msg);
			assert_int_equal(fm_image_to_gray(&img, &g, &err), 0);
			fm_image_free(&img);
			fm_gray_equalize(&g);
			for (size_t ri = 0; ri < sizeof runs / sizeof runs[0]; ri++) {
				struct fm_detect_opts o = FM_DETECT_OPTS_DEFAULT;
				struct fm_box *a, *b;
				size_t na, nb;

				o.scale_factor = runs[ri].scale;
				o.min_neighbors = runs[ri].min_neighbors;
				o.min_side = runs[ri].min_side;
				o.max_side = runs[ri].max_side;
				assert_int_equal(fm_cascade_detect(c, fast, &g, &o, &a, &na, &err),
				                 0);
				assert_int_equal(
				    fm_cascade_detect(c, portable, &g, &o, &b, &nb, &err), 0);
				if (na != nb || (na > 0 && memcmp(a, b, na * sizeof *a) != 0))
					fail_msg("%s on %s, run %zu: %zu windows, portable %zu",
					         cascades[ci], photos[pi], ri, na, nb);
				windows += na;
				free(a);
				free(b);
			}
			fm_gray_free(&g);
		}
		fm_detector_free(fast);
		fm_detector_free(portable);
		fm_cascade_free(c);
	}
	assert_true(windows > 100); /* the photos' faces and more were found */
}

/* --- large photos ---------------------------------------------------------------------------- */

static void
work_size_follows_the_longer_side_and_keeps_asked_faces_findable(void **state)
{
	/* alt2's window is 20x20. */
	static const struct {
		uint32_t w, h, work, min, max, want_w, want_h;
	} cases[] = {
	    {6000, 4000, 1600, 0, 0, 1600, 1067},   /* 4000 * 1600 / 6000 = 1066.7 */
	    {4000, 6000, 1600, 0, 0, 1067, 1600},   /* portrait */
	    {1600, 1065, 1600, 0, 0, 1600, 1065},   /* not larger: as it is */
	    {1601, 1065, 1600, 0, 0, 1600, 1064},   /* 1064.3 */
	    {6000, 4000, 0, 0, 0, 6000, 4000},      /* 0: full size */
	    {6000, 4000, 1600, 400, 0, 1600, 1067}, /* a 400 face is 107 in the copy */
	    {6000, 4000, 1600, 40, 0, 3000, 2000},  /* a 40 face must stay 20 */
	    {6000, 4000, 1600, 10, 0, 6000, 4000},  /* ... which needs more than full size */
	    {6000, 4000, 1600, 0, 50, 2400, 1600},  /* without --min-size, --max-size */
	    {6000, 4000, 1600, 40, 50, 3000, 2000}, /* with both, --min-size */
	    {100000, 1, 1600, 0, 0, 1600, 1},       /* the shorter side is at least 1 */
	};
	struct fm_cascade *c = load_or_skip(ALT2);

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fm_photo_opts o = FM_PHOTO_OPTS_DEFAULT;
		uint32_t w, h;

		o.work_side = cases[i].work;
		o.detect.min_side = cases[i].min;
		o.detect.max_side = cases[i].max;
		fm_cascade_work_size(c, cases[i].w, cases[i].h, &o, &w, &h);
		if (w != cases[i].want_w || h != cases[i].want_h)
			fail_msg("%ux%u, work %u, min %u, max %u: %ux%u, want %ux%u", cases[i].w,
			         cases[i].h, cases[i].work, cases[i].min, cases[i].max, w, h,
			         cases[i].want_w, cases[i].want_h);
	}
	fm_cascade_free(c);
}

/* testdata/photos/grace-hopper.jpg (512x600, one face) in gray, and the same made 4 times
 * larger (2048x2400, about 5 megapixels) by the bilinear resize. */
static void
grace_hopper(struct fm_gray *small, struct fm_gray *large)
{
	struct fm_image img;
	struct fm_err err;

	if (fm_image_load("testdata/photos/grace-hopper.jpg", FM_DEFAULT_MAX_PIXELS, &img, &err) ==
	    -1) {
		print_message("# skip: grace-hopper.jpg: %s\n", err.msg);
		skip();
	}
	assert_int_equal(fm_image_to_gray(&img, small, &err), 0);
	fm_image_free(&img);
	assert_int_equal(fm_gray_new(4 * small->width, 4 * small->height, large, &err), 0);
	fm_gray_resize(small, large);
}

/*
 * Within a tenth of the face's side: the pyramid's levels are 1.1 apart, so the sizes at
 * which the two searches see the face differ by up to one level, and the grouped box,
 * a mean of windows, moves by a few percent of the side with them.
 */
static void
assert_box_near(const struct fm_box *got, const struct fm_box *want)
{
	int32_t tol = want->w / 10;

	if (abs(got->x - want->x) > tol || abs(got->y - want->y) > tol ||
	    abs(got->w - want->w) > tol || abs(got->h - want->h) > tol)
		fail_msg("box %d,%d %dx%d, want %d,%d %dx%d within %d", got->x, got->y, got->w,
		         got->h, want->x, want->y, want->w, want->h, tol);
}

static void
large_photo_gives_the_faces_of_the_photo_it_was_made_from(void **state)
{
	struct fm_cascade *c = load_or_skip(ALT2);
	struct fm_photo_opts o = FM_PHOTO_OPTS_DEFAULT;
	struct fm_detector *d;
	struct fm_gray small, large;
	struct fm_box *b0, *b1;
	size_t n0, n1;
	struct fm_err err;

	(void)state;
	grace_hopper(&small, &large);
	uint8_t *before = malloc((size_t)large.width * large.height);
	assert_non_null(before);
	memcpy(before, large.pixels, (size_t)large.width * large.height);
	assert_int_equal(fm_detector_new(&d, &err), 0);
	/* The original is below the working size: searched as it is. */
	assert_int_equal(fm_cascade_detect_photo(c, d, &small, &o, &b0, &n0, &err), 0);
	assert_int_equal(n0, 1);
	struct fm_box want = {4 * b0[0].x, 4 * b0[0].y, 4 * b0[0].w, 4 * b0[0].h, 0};
	/* Shrunk back to the original's size, the large one has the original's faces. */
	o.work_side = 600;
	assert_int_equal(fm_cascade_detect_photo(c, d, &large, &o, &b1, &n1, &err), 0);
	assert_int_equal(n1, n0);
	assert_box_near(&b1[0], &want);
	free(b1);
	/* At the default size (1600x1875, boxes times 1.5) the face is the most certain box;
	 * a weak false face or two, which the full size search has more of, may follow. */
	o.work_side = FM_PHOTO_WORK_SIDE_DEFAULT;
	assert_int_equal(fm_cascade_detect_photo(c, d, &large, &o, &b1, &n1, &err), 0);
	assert_true(n1 >= 1);
	assert_box_near(&b1[0], &want);
	for (size_t i = 0; i < n1; i++) {
		assert_true(b1[i].x >= 0 && b1[i].y >= 0);
		assert_true(b1[i].x + b1[i].w <= (int32_t)large.width);
		assert_true(b1[i].y + b1[i].h <= (int32_t)large.height);
	}
	/* The photo itself is left as it was: crops are cut from it. */
	assert_memory_equal(large.pixels, before, (size_t)large.width * large.height);
	free(b1);
	free(b0);
	free(before);
	fm_detector_free(d);
	fm_gray_free(&large);
	fm_gray_free(&small);
	fm_cascade_free(c);
}

static void
work_size_zero_is_the_full_size_search(void **state)
{
	struct fm_cascade *c = load_or_skip(ALT2);
	struct fm_photo_opts o = FM_PHOTO_OPTS_DEFAULT;
	struct fm_detector *d;
	struct fm_gray small, large, eq;
	struct fm_box *b0, *b1;
	size_t n0, n1;
	struct fm_err err;

	(void)state;
	grace_hopper(&small, &large);
	assert_int_equal(fm_detector_new(&d, &err), 0);
	/* --min-size 200 only skips the pyramid's levels that cannot hold the face. */
	o.work_side = 0;
	o.detect.min_side = 200;
	assert_int_equal(fm_cascade_detect_photo(c, d, &large, &o, &b0, &n0, &err), 0);
	assert_int_equal(fm_gray_new(large.width, large.height, &eq, &err), 0);
	memcpy(eq.pixels, large.pixels, (size_t)large.width * large.height);
	fm_gray_equalize(&eq);
	assert_int_equal(fm_cascade_detect(c, d, &eq, &o.detect, &b1, &n1, &err), 0);
	assert_int_equal(n0, 1);
	assert_int_equal(n1, n0);
	assert_memory_equal(b0, b1, n0 * sizeof *b0);
	free(b1);
	free(b0);
	fm_gray_free(&eq);
	fm_detector_free(d);
	fm_gray_free(&large);
	fm_gray_free(&small);
	fm_cascade_free(c);
}

static void
min_and_max_size_are_in_the_photos_pixels(void **state)
{
	/* The face of the 4x photo is about 916 pixels. */
	static const struct {
		uint32_t min, max;
		int face;
	} cases[] = {{1100, 0, 0}, {0, 700, 0}, {700, 1100, 1}, {800, 0, 1}, {0, 1000, 1}};
	const struct fm_box face = {596, 408, 916, 916, 0};
	struct fm_cascade *c = load_or_skip(ALT2);
	struct fm_detector *d;
	struct fm_gray small, large;
	struct fm_err err;

	(void)state;
	grace_hopper(&small, &large);
	assert_int_equal(fm_detector_new(&d, &err), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fm_photo_opts o = FM_PHOTO_OPTS_DEFAULT;
		struct fm_box *b;
		size_t n;

		o.detect.min_side = cases[i].min;
		o.detect.max_side = cases[i].max;
		o.work_side = 600; /* shrunk 4 times, into 512x600: the sizes are divided by 4 */
		assert_int_equal(fm_cascade_detect_photo(c, d, &large, &o, &b, &n, &err), 0);
		if (cases[i].face && n == 0)
			fail_msg("min %u, max %u: no face", cases[i].min, cases[i].max);
		if (cases[i].face)
			assert_box_near(&b[0], &face);
		for (size_t j = 0; j < n; j++) {
			assert_true(b[j].w >= (int32_t)cases[i].min &&
			            b[j].h >= (int32_t)cases[i].min);
			assert_true(cases[i].max == 0 || (b[j].w <= (int32_t)cases[i].max &&
			                                  b[j].h <= (int32_t)cases[i].max));
		}
		free(b);
	}
	fm_detector_free(d);
	fm_gray_free(&large);
	fm_gray_free(&small);
	fm_cascade_free(c);
}

/* --- grouping against its definition ---------------------------------------------------- */

/* OpenCV's SimilarRects, eps 0.2. */
static int
ref_similar(const struct fm_box *a, const struct fm_box *b)
{
	double delta = 0.2 * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;

	return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
	       abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

static size_t
ref_root(size_t *parent, size_t i)
{
	while (parent[i] != i)
		i = parent[i];
	return i;
}

static int
ref_cmp_output(const void *a, const void *b)
{
	const struct fm_box *p = a, *q = b;

	if (p->neighbors != q->neighbors)
		return q->neighbors - p->neighbors;
	if (p->y != q->y)
		return p->y - q->y;
	if (p->x != q->x)
		return p->x - q->x;
	return p->w - q->w;
}

/* groupRectangles as OpenCV writes it: every pair, then every pair of classes. */
static size_t
ref_group(const struct fm_box *raw, size_t n, int min_neighbors, struct fm_box *res)
{
	size_t *parent = malloc(n * sizeof *parent), *cls = malloc(n * sizeof *cls), n_cls = 0,
	       n_res = 0;
	int64_t(*acc)[5] = calloc(n, sizeof *acc);
	struct fm_box *sums = malloc(n * sizeof *sums);

	assert_true(parent != NULL && cls != NULL && acc != NULL && sums != NULL);
	for (size_t i = 0; i < n; i++)
		parent[i] = i;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (ref_similar(&raw[i], &raw[j])) {
				size_t a = ref_root(parent, i), b = ref_root(parent, j);
				if (a != b)
					parent[a > b ? a : b] = a < b ? a : b;
			}
	for (size_t i = 0; i < n; i++)
		cls[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t r = ref_root(parent, i), k;

		if (cls[r] == SIZE_MAX)
			cls[r] = n_cls++;
		k = cls[r];
		acc[k][0] += raw[i].x;
		acc[k][1] += raw[i].y;
		acc[k][2] += raw[i].w;
		acc[k][3] += raw[i].h;
		acc[k][4]++;
	}
	for (size_t k = 0; k < n_cls; k++) {
		float s = 1.f / (float)acc[k][4];

		sums[k] = (struct fm_box){(int32_t)lrintf((float)(int32_t)acc[k][0] * s),
		                          (int32_t)lrintf((float)(int32_t)acc[k][1] * s),
		                          (int32_t)lrintf((float)(int32_t)acc[k][2] * s),
		                          (int32_t)lrintf((float)(int32_t)acc[k][3] * s),
		                          (int32_t)acc[k][4]};
	}
	for (size_t i = 0; i < n_cls; i++) {
		const struct fm_box *r1 = &sums[i];
		int n1 = r1->neighbors;
		size_t j;

		if (n1 <= min_neighbors)
			continue;
		for (j = 0; j < n_cls; j++) {
			const struct fm_box *r2 = &sums[j];
			int n2 = r2->neighbors;

			if (j == i || n2 <= min_neighbors)
				continue;
			int dx = (int)lrint(r2->w * 0.2), dy = (int)lrint(r2->h * 0.2);
			if (r1->x >= r2->x - dx && r1->y >= r2->y - dy &&
			    r1->x + r1->w <= r2->x + r2->w + dx &&
			    r1->y + r1->h <= r2->y + r2->h + dy &&
			    (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
				break;
		}
		if (j == n_cls)
			res[n_res++] = *r1;
	}
	qsort(res, n_res, sizeof *res, ref_cmp_output);
	free(parent);
	free(cls);
	free(acc);
	free(sums);
	return n_res;
}

static void
expect_grouping_as_defined(const struct fm_box *raw, size_t n, int min_neighbors)
{
	struct fm_box *want = malloc((n + 1) * sizeof *want), *got;
	size_t n_want = ref_group(raw, n, min_neighbors, want), n_got;

	assert_int_equal(cascade_group(raw, n, min_neighbors, &got, &n_got), 0);
	if (n_got != n_want)
		fail_msg("%zu raw boxes, min_neighbors %d: %zu groups, want %zu", n, min_neighbors,
		         n_got, n_want);
	for (size_t i = 0; i < n_got; i++)
		if (memcmp(&got[i], &want[i], sizeof *got) != 0)
			fail_msg("group %zu: %d,%d %dx%d (%d), want %d,%d %dx%d (%d)", i, got[i].x,
			         got[i].y, got[i].w, got[i].h, got[i].neighbors, want[i].x,
			         want[i].y, want[i].w, want[i].h, want[i].neighbors);
	free(got);
	free(want);
}

static void
grouping_is_opencvs_on_random_windows(void **state)
{
	struct fm_rng rng;

	(void)state;
	fm_rng_seed(&rng, 15);
	for (int round = 0; round < 400; round++) {
		size_t n = 1 + (size_t)fm_rng_below(&rng, round < 200 ? 60 : 600);
		/* Clusters of windows at a few sizes, as a scan gives, in a small or a large
		 * field, with negative coordinates now and then. */
		int32_t field = round % 3 == 0 ? 80 : 2000, n_sizes = 1 + (int32_t)(round % 5);
		struct fm_box *raw = malloc(n * sizeof *raw);

		assert_non_null(raw);
		for (size_t i = 0; i < n; i++) {
			int32_t side = 20 + (int32_t)fm_rng_below(&rng, (uint64_t)n_sizes) * 7 +
			               (round % 7 == 0 ? (int32_t)fm_rng_below(&rng, 300) : 0);

			raw[i] = (struct fm_box){
			    (int32_t)fm_rng_below(&rng, (uint64_t)field) -
			        (round % 4 == 1 ? 30 : 0),
			    (int32_t)fm_rng_below(&rng, (uint64_t)field) -
			        (round % 4 == 1 ? 30 : 0),
			    side, round % 2 ? side : side + (int32_t)fm_rng_below(&rng, 9), 1};
			if (i > 0 &&
			    fm_rng_below(&rng, 3) == 0) { /* a near copy of an earlier one */
				raw[i] = raw[fm_rng_below(&rng, i)];
				raw[i].x += (int32_t)fm_rng_below(&rng, 9) - 4;
				raw[i].y += (int32_t)fm_rng_below(&rng, 9) - 4;
			}
		}
		for (int mn = 1; mn <= 4; mn += 3)
			expect_grouping_as_defined(raw, n, mn);
		free(raw);
	}
	/* Small faces in and around big ones, near the edges of the grown box: the boxes
	 * dropped as inside a better supported one. */
	for (int round = 0; round < 300; round++) {
		struct fm_box raw[400];
		size_t n = 0;

		while (n + 20 <= sizeof raw / sizeof raw[0]) {
			struct fm_box big = {(int32_t)fm_rng_below(&rng, 1500),
			                     (int32_t)fm_rng_below(&rng, 1500),
			                     40 + (int32_t)fm_rng_below(&rng, 200), 0, 1};
			size_t copies = 1 + (size_t)fm_rng_below(&rng, 8);

			big.h = big.w + (int32_t)fm_rng_below(&rng, 5);
			for (size_t k = 0; k < copies; k++)
				raw[n++] = big;
			int32_t side = 10 + (int32_t)fm_rng_below(&rng, (uint64_t)big.w);
			int32_t dx = (int32_t)lrint(big.w * 0.2), dy = (int32_t)lrint(big.h * 0.2);
			struct fm_box small = {
			    big.x - dx - 2 +
			        (int32_t)fm_rng_below(&rng,
			                              (uint64_t)(big.w + 2 * dx - side + 5 > 0
			                                             ? big.w + 2 * dx - side + 5
			                                             : 1)),
			    big.y - dy - 2 +
			        (int32_t)fm_rng_below(&rng,
			                              (uint64_t)(big.h + 2 * dy - side + 5 > 0
			                                             ? big.h + 2 * dy - side + 5
			                                             : 1)),
			    side, side, 1};
			copies = 1 + (size_t)fm_rng_below(&rng, 8);
			for (size_t k = 0; k < copies; k++)
				raw[n++] = small;
		}
		for (int mn = 1; mn <= 4; mn += 3)
			expect_grouping_as_defined(raw, n, mn);
	}
}

static void
grouping_thousands_of_windows_in_one_column(void **state)
{
	/* A 64-pixel-wide strip of one face repeated: every window at x 0 to 16, a column of
	 * 4000 faces each seen by windows at a few sizes and offsets. */
	size_t n = 0, cap = 4000 * 12;
	struct fm_box *raw = malloc(cap * sizeof *raw), *got;
	size_t n_got;

	(void)state;
	assert_non_null(raw);
	for (int32_t face = 0; face < 4000; face++)
		for (int32_t k = 0; k < 12; k++)
			raw[n++] = (struct fm_box){(k % 3) * 2, face * 64 + (k / 3) * 2,
			                           48 + (k % 2) * 4, 48 + (k % 2) * 4, 1};
	assert_int_equal(cascade_group(raw, n, 3, &got, &n_got), 0);
	assert_int_equal(n_got, 4000);
	for (size_t i = 0; i < n_got; i++)
		assert_int_equal(got[i].neighbors, 12);
	free(got);
	/* The same on a small part of it, against the definition. */
	expect_grouping_as_defined(raw, 1200, 3);
	free(raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_cascade_loads),
	    cmocka_unit_test(malformed_cascades_are_format_errors),
	    cmocka_unit_test(unsupported_feature_type_is_refused),
	    cmocka_unit_test(deep_nesting_is_refused_without_recursing_forever),
	    cmocka_unit_test(truncated_real_cascade_is_format_error),
	    cmocka_unit_test(missing_file_and_directory_are_io_errors),
	    cmocka_unit_test(every_opencv_cascade_loads_or_is_named_old_format),
	    cmocka_unit_test(tilted_integral_follows_definition),
	    cmocka_unit_test(flat_and_tiny_images_have_no_faces),
	    cmocka_unit_test(invalid_options_are_refused),
	    cmocka_unit_test(boxes_match_opencv_on_test_photos),
	    cmocka_unit_test(lbp_vector_scan_finds_the_portable_scans_windows),
	    cmocka_unit_test(work_size_follows_the_longer_side_and_keeps_asked_faces_findable),
	    cmocka_unit_test(large_photo_gives_the_faces_of_the_photo_it_was_made_from),
	    cmocka_unit_test(work_size_zero_is_the_full_size_search),
	    cmocka_unit_test(min_and_max_size_are_in_the_photos_pixels),
	    cmocka_unit_test(grouping_is_opencvs_on_random_windows),
	    cmocka_unit_test(grouping_thousands_of_windows_in_one_column),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
