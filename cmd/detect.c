/*
 * cmd/detect.c: finding the faces of a photo as fer-detect does, shared by fer-detect and
 * fer-classify. See detect.h.
 */
#include "detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "face.h"
#include "ndjson.h"
#include "options.h"

/* Every line fer-detect writes at its default limits is read by the next tool's defaults,
 * with room for what fer-classify adds to each face (an emotion and seven scores). */
_Static_assert(DETECT_MAX_LINE + (size_t)COMMON_DEFAULT_MAX_FACES * (DETECT_FACE_MAX_BYTES + 256) +
                       4096 <=
                   FM_NDJSON_DEFAULT_MAX_LINE,
               "fer-detect's default output lines must fit fer-classify's default --max-line");

/* Where Debian's opencv-data puts them; the OpenCV 3 names last. */
static const char *const cascade_dirs[] = {
    "/usr/share/opencv4/haarcascades",
    "/usr/share/opencv4/lbpcascades",
    "/usr/share/opencv/haarcascades",
    "/usr/share/opencv/lbpcascades",
};
#define N_CASCADE_DIRS (sizeof cascade_dirs / sizeof cascade_dirs[0])

/*
 * The file a cascade name stands for: a name with a '/' is a path; a bare name is tried in
 * the working directory (unless it is the default) and then in the OpenCV data folders.
 */
static int
find_cascade(const char *name, bool given, const char *from, char *buf, size_t size,
             struct fm_err *err)
{
	if (strchr(name, '/') != NULL || (given && access(name, F_OK) == 0)) {
		snprintf(buf, size, "%s", name);
		return 0;
	}
	for (size_t i = 0; i < N_CASCADE_DIRS; i++) {
		if ((size_t)snprintf(buf, size, "%s/%s", cascade_dirs[i], name) < size &&
		    access(buf, F_OK) == 0)
			return 0;
	}
	return fm_err_set(err, FM_EIO,
	                  "cascade %s%s: not found%s in %s or %s (install opencv-data, or see "
	                  "fer-detect --cascade)",
	                  name, from, given ? " here," : "", cascade_dirs[0], cascade_dirs[1]);
}

int
detect_open(const char *name, int n_threads, struct detect_setup *s, struct fm_err *err)
{
	const char *from = "";
	bool given = true;
	char path[4096];
	struct fm_err e;

	memset(s, 0, sizeof *s);
	if (name == NULL) {
		name = getenv("FERMATA_CASCADE");
		from = " (from FERMATA_CASCADE)";
		if (name == NULL || name[0] == '\0') {
			name = DETECT_DEFAULT_CASCADE;
			given = false;
			from = "";
		}
	}
	if (find_cascade(name, given, from, path, sizeof path, err) == -1)
		return -1;
	if (fm_cascade_load(path, &s->cascade, &e) == -1)
		return fm_err_set(err, e.code, "cascade %s%s: %s", path, from, e.msg);
	s->detectors = calloc((size_t)n_threads, sizeof *s->detectors);
	if (s->detectors == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %d detectors", n_threads);
	s->n_threads = n_threads;
	for (int i = 0; i < n_threads; i++)
		if (fm_detector_new(&s->detectors[i], err) == -1)
			return -1;
	return 0;
}

int
detect_open_cnn(const char *path, int n_threads, struct detect_setup *s, struct fm_err *err)
{
	char buf[4096 + 64];
	struct fm_err e;

	memset(s, 0, sizeof *s);
	if (path == NULL)
		path = find_shipped_file(DETECT_DEFAULT_CNN_MODEL, buf, sizeof buf);
	if (fm_cnn_load(path, 1, 0, &s->cnn, &e) == -1)
		return fm_err_set(err, e.code, "model %s", e.msg); /* it names the file */
	s->facedets = calloc((size_t)n_threads, sizeof *s->facedets);
	if (s->facedets == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %d detectors", n_threads);
	s->n_threads = n_threads;
	for (int i = 0; i < n_threads; i++)
		if (fm_facedet_new(s->cnn, &s->facedets[i], &e) == -1)
			return fm_err_set(err, e.code, "model %s: %s", path, e.msg);
	return 0;
}

bool
detect_default_is_cascade(void)
{
	const char *name = getenv("FERMATA_CASCADE");

	return name != NULL && name[0] != '\0';
}

int
detect_open_default(int n_threads, struct detect_setup *s, struct fm_err *err)
{
	return detect_default_is_cascade() ? detect_open(NULL, n_threads, s, err)
	                                   : detect_open_cnn(NULL, n_threads, s, err);
}

void
detect_close(struct detect_setup *s)
{
	for (int i = 0; s->facedets != NULL && i < s->n_threads; i++)
		fm_facedet_free(s->facedets[i]);
	free(s->facedets);
	fm_cnn_free(s->cnn);
	for (int i = 0; s->detectors != NULL && i < s->n_threads; i++)
		fm_detector_free(s->detectors[i]);
	free(s->detectors);
	fm_cascade_free(s->cascade);
	memset(s, 0, sizeof *s);
}

/* Each face's gray crop, base64, as fer-classify reads it without the image. */
static int
add_crop(const struct detect_record_opts *o, const struct fm_gray *gray, const struct fm_box *b,
         cJSON *face, struct fm_err *err)
{
	const int32_t box[4] = {(int32_t)b->x, (int32_t)b->y, (int32_t)b->w, (int32_t)b->h};
	struct fm_crop crop = {o->crop_side, o->crop_margin, NULL};
	int rc = -1;

	if ((crop.gray = malloc((size_t)crop.side * crop.side)) == NULL)
		fm_err_set(err, FM_ENOMEM, "out of memory for a face crop");
	else if (fm_face_crop(gray, box, (float)crop.margin, crop.side, crop.gray, err) == 0)
		rc = fm_face_crop_encode(face, &crop, err);
	free(crop.gray);
	return rc;
}

static cJSON *
faces_json(const struct detect_record_opts *o, const struct fm_gray *gray,
           const struct fm_box *boxes, size_t n, struct fm_err *err)
{
	cJSON *faces = cJSON_CreateArray();

	if (faces == NULL)
		fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
	for (size_t i = 0; faces != NULL && i < n; i++) {
		cJSON *f = cJSON_CreateObject();

		if (f == NULL || !cJSON_AddItemToArray(faces, f)) {
			cJSON_Delete(f);
			cJSON_Delete(faces);
			fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
			return NULL;
		}
		if (cJSON_AddNumberToObject(f, "x", boxes[i].x) == NULL ||
		    cJSON_AddNumberToObject(f, "y", boxes[i].y) == NULL ||
		    cJSON_AddNumberToObject(f, "w", boxes[i].w) == NULL ||
		    cJSON_AddNumberToObject(f, "h", boxes[i].h) == NULL ||
		    cJSON_AddNumberToObject(f, "score", fm_box_score(boxes[i].neighbors)) == NULL ||
		    cJSON_AddNumberToObject(f, "neighbors", boxes[i].neighbors) == NULL) {
			fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
			cJSON_Delete(faces);
			return NULL;
		}
		if (o->crops && add_crop(o, gray, &boxes[i], f, err) == -1) {
			cJSON_Delete(faces);
			return NULL;
		}
	}
	return faces;
}

/*
 * --max-faces: the most certain boxes moved to the front, in their order, as fer-classify
 * keeps a record's faces (lib/face); *kept says how many.
 */
static int
most_certain(struct fm_box *boxes, size_t n, size_t max, size_t *kept, struct fm_err *err)
{
	double *score;
	bool *keep;
	int rc = -1;

	*kept = n;
	if (n <= max)
		return 0;
	score = malloc(n * sizeof *score);
	keep = malloc(n * sizeof *keep);
	if (score == NULL || keep == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for %zu faces", n);
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		score[i] = fm_box_score(boxes[i].neighbors);
	if (fm_face_most_certain(score, n, max, keep, kept, err) == -1)
		goto done;
	for (size_t i = 0, k = 0; i < n; i++)
		if (keep[i])
			boxes[k++] = boxes[i];
	rc = 0;
done:
	free(score);
	free(keep);
	return rc;
}

/* A CNN box in the cascade's convention: whole pixels, kept inside the photo. */
static struct fm_box
whole_box(const struct fm_facedet_box *b, const struct fm_gray *gray)
{
	double x0 = fmax(0, round(b->x)), y0 = fmax(0, round(b->y));
	double x1 = fmin(gray->width, round(b->x + b->w)),
	       y1 = fmin(gray->height, round(b->y + b->h));
	struct fm_box box = {(int32_t)x0, (int32_t)y0, (int32_t)fmax(1, x1 - x0),
	                     (int32_t)fmax(1, y1 - y0), 0};

	return box;
}

static int
add_landmarks(cJSON *f, const struct fm_facedet_box *b, struct fm_err *err)
{
	cJSON *lm = cJSON_CreateArray();

	if (lm == NULL || !cJSON_AddItemToObject(f, "landmarks", lm)) {
		cJSON_Delete(lm);
		return fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
	}
	for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
		const double xy[2] = {fm_ndjson_round(b->landmarks[m][0], 1),
		                      fm_ndjson_round(b->landmarks[m][1], 1)};
		cJSON *p = cJSON_CreateDoubleArray(xy, 2);

		if (p == NULL || !cJSON_AddItemToArray(lm, p)) {
			cJSON_Delete(p);
			return fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
		}
	}
	return 0;
}

/* --detector cnn: the photo's faces, best first, as a record's "faces". */
static int
cnn_record(const struct detect_setup *s, int thread, const struct fm_gray *gray,
           const struct fm_photo_opts *photo, const struct detect_record_opts *o, cJSON *rec,
           struct fm_err *err)
{
	struct fm_facedet_opts fo = FM_FACEDET_OPTS_DEFAULT;
	struct fm_facedet_box *found = NULL;
	size_t n = 0, kept;
	cJSON *faces = NULL;
	uint32_t longer = gray->width > gray->height ? gray->width : gray->height;
	int rc = -1;

	if (photo->detect.min_side > 0)
		fo.min_side = photo->detect.min_side;
	else if (photo->work_side > 0 && longer > photo->work_side)
		fo.min_side *= (double)longer / photo->work_side;
	fo.max_side = photo->detect.max_side;
	if (o->min_score > 0) {
		fo.min_score = o->min_score;
	} else {
		struct fm_facedet_geom g;

		fm_facedet_geometry(s->facedets[thread], &g);
		if (g.min_score > 0) /* the model's own threshold */
			fo.min_score = g.min_score;
	}
	if (fm_facedet_detect(s->facedets[thread], gray, &fo, &found, &n, err) == -1)
		goto fail;
	kept = n < o->max_faces ? n : o->max_faces; /* best first already */
	if ((faces = cJSON_CreateArray()) == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
		goto fail;
	}
	for (size_t i = 0; i < kept; i++) {
		struct fm_box b = whole_box(&found[i], gray);
		cJSON *f = cJSON_CreateObject();

		if (f == NULL || !cJSON_AddItemToArray(faces, f)) {
			cJSON_Delete(f);
			fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
			goto fail;
		}
		if (cJSON_AddNumberToObject(f, "x", b.x) == NULL ||
		    cJSON_AddNumberToObject(f, "y", b.y) == NULL ||
		    cJSON_AddNumberToObject(f, "w", b.w) == NULL ||
		    cJSON_AddNumberToObject(f, "h", b.h) == NULL ||
		    cJSON_AddNumberToObject(f, "score", fm_ndjson_round(found[i].score, 4)) ==
		        NULL) {
			fm_err_set(err, FM_ENOMEM, "out of memory for the faces");
			goto fail;
		}
		if (add_landmarks(f, &found[i], err) == -1 ||
		    (o->crops && add_crop(o, gray, &b, f, err) == -1))
			goto fail;
	}
	if ((kept < n && fm_ndjson_set(rec, "faces_dropped", cJSON_CreateNumber((double)(n - kept)),
	                               err) == -1) ||
	    fm_ndjson_set(rec, "width", cJSON_CreateNumber(gray->width), err) == -1 ||
	    fm_ndjson_set(rec, "height", cJSON_CreateNumber(gray->height), err) == -1)
		goto fail;
	rc = fm_ndjson_set(rec, "faces", faces, err);
	faces = NULL; /* fm_ndjson_set took it */
fail:
	cJSON_Delete(faces);
	free(found);
	return rc;
}

int
detect_record(const struct detect_setup *s, int thread, const struct fm_gray *gray,
              const struct fm_photo_opts *photo, const struct detect_record_opts *o, cJSON *rec,
              struct fm_err *err)
{
	struct fm_box *boxes = NULL;
	size_t n = 0, kept;
	cJSON *faces;
	int rc = -1;

	if (s->cnn != NULL)
		return cnn_record(s, thread, gray, photo, o, rec, err);

	/* The search works on its own copy, so crops are cut from the gray image as it was,
	 * at full size, which is what fer-classify reads. */
	if (fm_cascade_detect_photo(s->cascade, s->detectors[thread], gray, photo, &boxes, &n,
	                            err) == -1)
		goto fail;
	if (most_certain(boxes, n, o->max_faces, &kept, err) == -1)
		goto fail;
	if ((faces = faces_json(o, gray, boxes, kept, err)) == NULL)
		goto fail;
	/* The record says how many went. */
	if ((kept < n && fm_ndjson_set(rec, "faces_dropped", cJSON_CreateNumber((double)(n - kept)),
	                               err) == -1) ||
	    fm_ndjson_set(rec, "width", cJSON_CreateNumber(gray->width), err) == -1 ||
	    fm_ndjson_set(rec, "height", cJSON_CreateNumber(gray->height), err) == -1) {
		cJSON_Delete(faces);
		goto fail;
	}
	if (fm_ndjson_set(rec, "faces", faces, err) == -1)
		goto fail;
	rc = 0;
fail:
	free(boxes);
	return rc;
}
