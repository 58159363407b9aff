/*
 * lib/dataset.c: FER2013-style face sets (folder tree or fer2013.csv), and their samples as
 * the network's input. See dataset.h for the contract.
 */
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

#define MAX_SIDE 1024

struct growing {
	size_t n, cap, side2;
	uint8_t *pixels, *labels;
	char **paths; /* with_paths: each sample's file */
	bool with_paths;
};

static int
push(struct growing *g, const uint8_t *px, enum fm_emotion label, const char *path,
     struct fm_err *err)
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
		if (g->with_paths) {
			char **q = realloc(g->paths, cap * sizeof *q);

			if (q == NULL)
				return fm_err_set(err, FM_ENOMEM, "out of memory loading faces");
			g->paths = q;
		}
		g->cap = cap;
	}
	if (g->with_paths && (g->paths[g->n] = strdup(path)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory loading faces");
	memcpy(g->pixels + g->n * g->side2, px, g->side2);
	g->labels[g->n++] = (uint8_t)label;
	return 0;
}

static void
drop(struct growing *g)
{
	for (size_t i = 0; g->paths != NULL && i < g->n; i++)
		free(g->paths[i]);
	free(g->paths);
	free(g->pixels);
	free(g->labels);
}

static void
finish(struct growing *g, uint32_t side, struct fm_dataset *out)
{
	memset(out, 0, sizeof *out);
	out->n = g->n;
	out->side = side;
	out->pixels = g->pixels;
	out->labels = g->labels;
	out->paths = g->paths;
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
	struct fm_gray g;
	int rc;

	if (fm_image_load(path, (uint64_t)MAX_SIDE * MAX_SIDE, &img, err) == -1)
		return -1;
	rc = fm_image_to_gray(&img, &g, err);
	fm_image_free(&img);
	if (rc == -1)
		return -1;
	/* The face-crop path fer-classify's face operands take too (lib/face). */
	fm_face_whole(&g, side, out);
	fm_gray_free(&g);
	return rc;
}

int
fm_dataset_load_dir(const char *dir, uint32_t side, struct fm_dataset *out, struct fm_err *err)
{
	struct growing g = {.side2 = (size_t)side * side, .with_paths = true};
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
			if (push(&g, face, label, path, err) == -1)
				goto fail;
		}
		free_names(files, n_files);
		files = NULL;
		n_files = 0;
	}
	free_names(classes, n_classes);
	free(face);
	if (g.n == 0) {
		drop(&g);
		return fm_err_set(err, FM_EFORMAT, "%s: no face images in emotion folders", dir);
	}
	finish(&g, side, out);
	return 0;
fail:
	free_names(files, n_files);
	free_names(classes, n_classes);
	free(face);
	drop(&g);
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
	struct fm_err why;
	int fd = fm_open_read(path, &why);
	FILE *f = fd == -1 ? NULL : fdopen(fd, "r");
	/* A row of 2304 pixels takes at most some 9.3 KB: a longer line is not fer2013.csv, and
	 * a bounded buffer keeps a file of one endless line from taking all memory. */
	enum { MAX_ROW_BYTES = 1 << 16 };
	char *line = malloc(MAX_ROW_BYTES);
	size_t lineno = 0;
	uint8_t px[48 * 48];

	memset(out, 0, sizeof *out);
	if (f == NULL) {
		if (fd != -1) { /* fdopen fails for want of memory only */
			fm_err_set(&why, FM_ENOMEM, "out of memory");
			close(fd);
		}
		free(line);
		return fm_err_set(err, why.code, "%s: %s", path, why.msg);
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
		if (r == 1 && push(&g, px, label, NULL, err) == -1)
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
	drop(&g);
	return -1;
}

void
fm_dataset_free(struct fm_dataset *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; d->paths != NULL && i < d->n; i++)
		free(d->paths[i]);
	free(d->paths);
	free(d->pixels);
	free(d->labels);
	memset(d, 0, sizeof *d);
}

void
fm_dataset_sample(const struct fm_dataset *d, size_t i, const struct fm_augment *a,
                  struct fm_rng *rng, uint32_t out_side, float mean, float std, float *out)
{
	fm_face_to_input(d->pixels + i * (size_t)d->side * d->side, d->side, a, rng, out_side, mean,
	                 std, out);
}
