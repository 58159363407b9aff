/*
 * lib/dataset.c: FER2013-style face sets (folder tree or fer2013.csv) and the augmentation
 * that makes training samples from them. See dataset.h for the contract.
 */
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define MAX_SIDE 1024

struct growing {
	size_t n, cap, side2;
	uint8_t *pixels, *labels;
};

static int
push(struct growing *g, const uint8_t *px, enum fm_emotion label, struct fm_err *err)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		uint8_t *p = realloc(g->pixels, cap * g->side2);

		if (p == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory loading faces");
		g->pixels = p;
		p = realloc(g->labels, cap);
		if (p == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory loading faces");
		g->labels = p;
		g->cap = cap;
	}
	memcpy(g->pixels + g->n * g->side2, px, g->side2);
	g->labels[g->n++] = (uint8_t)label;
	return 0;
}

static void
finish(struct growing *g, uint32_t side, struct fm_dataset *out)
{
	memset(out, 0, sizeof *out);
	out->n = g->n;
	out->side = side;
	out->pixels = g->pixels;
	out->labels = g->labels;
	for (size_t i = 0; i < g->n; i++)
		out->per_class[g->labels[i]]++;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* File names of a folder, sorted, without "." entries. */
static int
list_dir(const char *path, char ***names, size_t *n, struct fm_err *err)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return fm_err_errno_at(err, errno, "%s", path);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			char **p = realloc(*names, cap * sizeof *p);
			if (p == NULL)
				goto nomem;
			*names = p;
		}
		if (((*names)[*n] = strdup(e->d_name)) == NULL)
			goto nomem;
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(*names, *n, sizeof **names, cmp_names);
	return 0;
nomem:
	closedir(d);
	return fm_err_set(err, FM_ENOMEM, "out of memory listing %s", path);
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Decode one face file into side x side gray pixels. */
static int
load_face(const char *path, uint32_t side, uint8_t *out, struct fm_err *err)
{
	struct fm_image img;
	struct fm_gray g, sq = {side, side, out};
	int rc;

	if (fm_image_load(path, (uint64_t)MAX_SIDE * MAX_SIDE, &img, err) == -1)
		return -1;
	rc = fm_image_to_gray(&img, &g, err);
	fm_image_free(&img);
	if (rc == -1)
		return -1;
	if (g.width == side && g.height == side)
		memcpy(out, g.pixels, (size_t)side * side);
	else
		fm_gray_resize(&g, &sq);
	fm_gray_free(&g);
	return rc;
}

int
fm_dataset_load_dir(const char *dir, uint32_t side, struct fm_dataset *out, struct fm_err *err)
{
	struct growing g = {.side2 = (size_t)side * side};
	char **classes = NULL, **files = NULL, path[4096];
	size_t n_classes = 0, n_files = 0;
	uint8_t *face = NULL;

	memset(out, 0, sizeof *out);
	if (side == 0 || side > MAX_SIDE)
		return fm_err_set(err, FM_EINVAL, "face side %u out of range (1 to %d)", side,
		                  MAX_SIDE);
	face = malloc(g.side2);
	if (face == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory loading faces");
	if (list_dir(dir, &classes, &n_classes, err) == -1)
		goto fail;
	for (size_t c = 0; c < n_classes; c++) {
		enum fm_emotion label;

		if (fm_emotion_parse(classes[c], &label, NULL) == -1) {
			fm_err_set(err, FM_EFORMAT,
			           "%s/%s: not an emotion folder (expected angry, disgust, fear, "
			           "happy, sad, surprise, neutral)",
			           dir, classes[c]);
			goto fail;
		}
		snprintf(path, sizeof path, "%s/%s", dir, classes[c]);
		if (list_dir(path, &files, &n_files, err) == -1)
			goto fail;
		for (size_t f = 0; f < n_files; f++) {
			struct fm_err why;

			snprintf(path, sizeof path, "%s/%s/%s", dir, classes[c], files[f]);
			if (load_face(path, side, face, &why) == -1) {
				fm_err_set(err, why.code, "%s: %s", path, why.msg);
				goto fail;
			}
			if (push(&g, face, label, err) == -1)
				goto fail;
		}
		free_names(files, n_files);
		files = NULL;
		n_files = 0;
	}
	free_names(classes, n_classes);
	free(face);
	if (g.n == 0) {
		free(g.pixels);
		free(g.labels);
		return fm_err_set(err, FM_EFORMAT, "%s: no face images in emotion folders", dir);
	}
	finish(&g, side, out);
	return 0;
fail:
	free_names(files, n_files);
	free_names(classes, n_classes);
	free(face);
	free(g.pixels);
	free(g.labels);
	return -1;
}

/* One row of fer2013.csv: emotion,"pixels",Usage. Returns 1 for a row to keep, 0 to skip. */
static int
parse_csv_row(char *line, const char *usage, uint8_t *px, enum fm_emotion *label)
{
	char *p = line, *end;
	long v = strtol(p, &end, 10);

	if (end == p || *end != ',' || v < 0 || v >= FM_N_EMOTIONS)
		return -1;
	*label = (enum fm_emotion)v;
	p = end + 1;
	if (*p == '"')
		p++;
	for (int i = 0; i < 48 * 48; i++) {
		v = strtol(p, &end, 10);
		if (end == p || v < 0 || v > 255)
			return -1;
		px[i] = (uint8_t)v;
		p = end;
	}
	if (*p == '"')
		p++;
	if (*p != ',')
		return -1;
	p++;
	p[strcspn(p, "\r\n")] = '\0';
	return usage == NULL || strcmp(p, usage) == 0;
}

int
fm_dataset_load_csv(const char *path, const char *usage, struct fm_dataset *out, struct fm_err *err)
{
	struct growing g = {.side2 = 48 * 48};
	FILE *f = fopen(path, "r");
	/* A row of 2304 pixels takes at most some 9.3 KB: a longer line is not fer2013.csv, and
	 * a bounded buffer keeps a file of one endless line from taking all memory. */
	enum { MAX_ROW_BYTES = 1 << 16 };
	char *line = malloc(MAX_ROW_BYTES);
	size_t lineno = 0;
	uint8_t px[48 * 48];

	memset(out, 0, sizeof *out);
	if (f == NULL) {
		free(line);
		return fm_err_errno_at(err, errno, "%s", path);
	}
	if (line == NULL) {
		fclose(f);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a row of %s", path);
	}
	while (fgets(line, MAX_ROW_BYTES, f) != NULL) {
		enum fm_emotion label;
		int r;

		if (strchr(line, '\n') == NULL && !feof(f)) {
			fm_err_set(err, FM_ELIMIT,
			           "%s:%zu: row longer than %d bytes: not fer2013.csv", path,
			           lineno + 1, MAX_ROW_BYTES - 1);
			goto fail;
		}
		if (++lineno == 1) {
			if (strncmp(line, "emotion,", 8) != 0) {
				fm_err_set(
				    err, FM_EFORMAT,
				    "%s: not fer2013.csv (header is not emotion,pixels,Usage)",
				    path);
				goto fail;
			}
			continue;
		}
		if (line[strspn(line, " \r\n")] == '\0')
			continue;
		r = parse_csv_row(line, usage, px, &label);
		if (r == -1) {
			fm_err_set(err, FM_EFORMAT, "%s:%zu: malformed row", path, lineno);
			goto fail;
		}
		if (r == 1 && push(&g, px, label, err) == -1)
			goto fail;
	}
	if (ferror(f)) {
		fm_err_set(err, FM_EIO, "%s: read error", path);
		goto fail;
	}
	free(line);
	fclose(f);
	if (g.n == 0)
		return fm_err_set(err, FM_EFORMAT, "%s: no rows%s%s", path,
		                  usage ? " with Usage " : "", usage ? usage : "");
	finish(&g, 48, out);
	return 0;
fail:
	free(line);
	fclose(f);
	free(g.pixels);
	free(g.labels);
	return -1;
}

void
fm_dataset_free(struct fm_dataset *d)
{
	if (d == NULL)
		return;
	free(d->pixels);
	free(d->labels);
	memset(d, 0, sizeof *d);
}

/* Bilinear sample at (x, y) with the border repeated. */
static float
sample(const uint8_t *img, uint32_t side, float x, float y)
{
	float fx = floorf(x), fy = floorf(y);
	int x0 = (int)fx, y0 = (int)fy, last = (int)side - 1;
	float ax = x - fx, ay = y - fy;
	int xa = x0 < 0 ? 0 : x0 > last ? last : x0;
	int xb = x0 + 1 < 0 ? 0 : x0 + 1 > last ? last : x0 + 1;
	int ya = y0 < 0 ? 0 : y0 > last ? last : y0;
	int yb = y0 + 1 < 0 ? 0 : y0 + 1 > last ? last : y0 + 1;
	float top = img[ya * side + xa] * (1 - ax) + img[ya * side + xb] * ax;
	float bot = img[yb * side + xa] * (1 - ax) + img[yb * side + xb] * ax;

	return top * (1 - ay) + bot * ay;
}

void
fm_face_to_input(const uint8_t *face, uint32_t side, const struct fm_augment *a, struct fm_rng *rng,
                 uint32_t out_side, float mean, float std, float *out)
{
	/* The output pixel centre (u, v) maps to source (x, y) through the inverse of
	 * "flip, then rotate and zoom about the centre, then shift". */
	float cs = (float)side / 2.0f, co = (float)out_side / 2.0f;
	float step = (float)side / (float)out_side;
	float m00 = step, m01 = 0, m10 = 0, m11 = step, tx = 0, ty = 0;
	float bright = 0, contrast = 1;
	int flip = 0;
	size_t n = (size_t)out_side * out_side;

	if (a != NULL && rng != NULL) {
		float deg = (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_rotate_deg;
		float zoom = 1 + (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_scale;
		float rad = deg * 0.017453292f, c = cosf(rad) / zoom, s = sinf(rad) / zoom;

		flip = a->flip && fm_rng_uniform(rng) < 0.5;
		tx = (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_shift;
		ty = (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_shift;
		m00 = c * step;
		m01 = -s * step;
		m10 = s * step;
		m11 = c * step;
		bright = (float)(fm_rng_uniform(rng) * 2 - 1) * a->brightness;
		contrast = 1 + (float)(fm_rng_uniform(rng) * 2 - 1) * a->contrast;
	}
	double sum = 0;
	for (uint32_t v = 0; v < out_side; v++) {
		for (uint32_t u = 0; u < out_side; u++) {
			float du = (float)u + 0.5f - co, dv = (float)v + 0.5f - co;
			float x = m00 * du + m01 * dv + cs - tx - 0.5f;
			float y = m10 * du + m11 * dv + cs - ty - 0.5f;

			if (flip)
				x = (float)side - 1 - x;
			float p = sample(face, side, x, y) / 255.0f;
			out[v * out_side + u] = p;
			sum += p;
		}
	}
	float img_mean = (float)(sum / (double)n);
	for (size_t k = 0; k < n; k++) {
		float p = (out[k] - img_mean) * contrast + img_mean + bright;

		out[k] = (p - mean) / std;
	}
}

void
fm_dataset_sample(const struct fm_dataset *d, size_t i, const struct fm_augment *a,
                  struct fm_rng *rng, uint32_t out_side, float mean, float std, float *out)
{
	fm_face_to_input(d->pixels + i * (size_t)d->side * d->side, d->side, a, rng, out_side, mean,
	                 std, out);
}

int
fm_face_crop(const struct fm_gray *img, const int32_t box[4], float margin, uint32_t side,
             uint8_t *out, struct fm_err *err)
{
	double dx = (double)margin * box[2], dy = (double)margin * box[3];
	long x = lrint(box[0] - dx), y = lrint(box[1] - dy);
	long w = lrint(box[2] + 2 * dx), h = lrint(box[3] + 2 * dy);
	struct fm_gray crop = {0}, small = {side, side, out};

	if (box[2] < 1 || box[3] < 1 || w < 1 || h < 1)
		return fm_err_set(err, FM_EINVAL, "face box too small");
	/*
	 * The crop is made whole before it is resized, so its size is memory: a box that a
	 * record may claim (1e7 pixels a side) must not cost terabytes. A real face with its
	 * margin covers the image at most a few times over.
	 */
	if ((uint64_t)w * (uint64_t)h > FM_FACE_MAX_CROP_AREA(img))
		return fm_err_set(err, FM_ELIMIT,
		                  "face box of %ldx%ld pixels with its margin, far larger than the "
		                  "%" PRIu32 "x%" PRIu32 " image",
		                  w, h, img->width, img->height);
	if (fm_gray_crop(img, (int32_t)x, (int32_t)y, (uint32_t)w, (uint32_t)h, &crop, err) == -1)
		return -1;
	fm_gray_resize(&crop, &small);
	fm_gray_free(&crop);
	return 0;
}

int
fm_face_recrop(const uint8_t *crop, uint32_t crop_side, float crop_margin, float margin,
               uint32_t side, uint8_t *out, struct fm_err *err)
{
	const struct fm_gray src = {crop_side, crop_side, (uint8_t *)crop};
	double unit, at, size;
	int32_t box[4];

	if (crop_side == 0 || side == 0 || !(crop_margin > -0.4f) || !(margin > -0.4f) ||
	    crop_margin > 10 || margin > 10)
		return fm_err_set(err, FM_EINVAL,
		                  "face crop of side %u, margin %g, as side %u, "
		                  "margin %g",
		                  crop_side, crop_margin, side, margin);
	if (crop_side == side && crop_margin == margin) {
		memcpy(out, crop, (size_t)side * side);
		return 0;
	}
	unit = crop_side / (1.0 + 2.0 * crop_margin); /* the face box's side in crop pixels */
	at = (crop_margin - margin) * unit;
	size = (1.0 + 2.0 * margin) * unit;
	box[0] = box[1] = (int32_t)lrint(at);
	box[2] = box[3] = size < 1 ? 1 : (int32_t)lrint(size);
	return fm_face_crop(&src, box, 0, side, out, err);
}

void
fm_face_mirror(float *img, uint32_t side)
{
	for (uint32_t y = 0; y < side; y++) {
		float *row = img + (size_t)y * side;

		for (uint32_t x = 0; x < side / 2; x++) {
			float t = row[x];

			row[x] = row[side - 1 - x];
			row[side - 1 - x] = t;
		}
	}
}
