/*
 * lib/facedet_detect.c: detection with a trained detector: the geometry kept in the model's
 * info, the image pyramid, a copy of the network for each level's size (kept for the next
 * image, as frames of a stream share their size), decoding and one suppression over all
 * levels. See facedet.h.
 */
#include "facedet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "facedet_int.h"

/* Levels are padded to a multiple of this, so that photos of nearby sizes share copies. */
#define LEVEL_ALIGN 16
#define MAX_LEVELS 32

struct clone {
	struct fm_cnn *net;
	uint32_t h, w;
	uint64_t used; /* the detect call that last used it */
};

struct fm_facedet {
	const struct fm_cnn *net;
	struct fm_facedet_geom geom;
	struct clone clones[FM_FACEDET_MAX_CLONES];
	uint64_t calls;
	float *in, *out; /* one level's input and output, grown as needed */
	size_t in_cap, out_cap;
	struct fm_gray level; /* one level's pixels, grown as needed */
	size_t level_cap;
};

static int
number(const cJSON *o, const char *name, double *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(n))
		return -1;
	*v = n->valuedouble;
	return 0;
}

int
fm_facedet_model_geom(const struct fm_cnn *net, struct fm_facedet_geom *g, struct fm_err *err)
{
	cJSON *j = cJSON_Parse(fm_cnn_info(net));
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detector");
	double stride, lo, hi;
	int rc = -1;
	struct fm_err e;

	if (!cJSON_IsObject(d) || number(d, "stride", &stride) == -1 ||
	    number(d, "min_side", &lo) == -1 || number(d, "max_side", &hi) == -1) {
		fm_err_set(err, FM_EFORMAT,
		           "not a face detector model (no detector geometry in its info)");
		goto done;
	}
	if (!(stride >= 1 && stride <= 64 && stride == floor(stride))) {
		fm_err_set(err, FM_EFORMAT,
		           "detector stride %.17g is not a whole number from 1 to 64", stride);
		goto done;
	}
	g->stride = (uint32_t)stride;
	g->min_side = (float)lo;
	g->max_side = (float)hi;
	g->min_score = 0;
	if (cJSON_GetObjectItemCaseSensitive(d, "min_score") != NULL) {
		double t;

		if (number(d, "min_score", &t) == -1 || !(t > 0 && t < 1)) {
			fm_err_set(err, FM_EFORMAT, "detector min_score is not a number in (0, 1)");
			goto done;
		}
		g->min_score = (float)t;
	}
	if (!(lo > 0 && hi > lo && hi <= FM_CNN_MAX_SIDE) || fm_facedet_geom_check(g, &e) == -1) {
		fm_err_set(err, FM_EFORMAT,
		           "detector face sides %.17g to %.17g are not 0 < min < max <= %d", lo, hi,
		           FM_CNN_MAX_SIDE);
		goto done;
	}
	rc = 0;
done:
	cJSON_Delete(j);
	return rc;
}

int
fm_facedet_info(const struct fm_facedet_geom *g, const char *json, char **info, struct fm_err *err)
{
	cJSON *j = json != NULL ? cJSON_Parse(json) : cJSON_CreateObject();
	cJSON *d = cJSON_CreateObject();
	int ok;

	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		cJSON_Delete(d);
		return fm_err_set(err, json != NULL && j == NULL ? FM_EINVAL : FM_ENOMEM,
		                  "cannot make the detector's info");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(j, "detector");
	ok = d != NULL && cJSON_AddNumberToObject(d, "stride", g->stride) != NULL &&
	     cJSON_AddNumberToObject(d, "min_side", g->min_side) != NULL &&
	     cJSON_AddNumberToObject(d, "max_side", g->max_side) != NULL &&
	     (!(g->min_score > 0) ||
	      cJSON_AddNumberToObject(d, "min_score", round(g->min_score * 1e4) / 1e4) != NULL) &&
	     cJSON_AddItemToObject(j, "detector", d);
	if (!ok)
		cJSON_Delete(d);
	*info = ok ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (*info == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the detector's info");
	return 0;
}

int
fm_facedet_new(const struct fm_cnn *net, struct fm_facedet **out, struct fm_err *err)
{
	struct fm_facedet *d;
	struct fm_facedet_geom g;
	uint32_t c, h, w, oc, oh, ow;

	*out = NULL;
	fm_cnn_input_shape(net, &c, &h, &w);
	if (c != 1)
		return fm_err_set(err, FM_EFORMAT, "a face detector takes 1 gray channel, not %u",
		                  (unsigned)c);
	fm_cnn_output_shape(net, &oc, &oh, &ow);
	if (oc != FM_FACEDET_OUT_CHANNELS || oh == 0 || ow == 0)
		return fm_err_set(
		    err, FM_EFORMAT,
		    "not a face detector network (%u x %u x %u outputs, not a map of %d)",
		    (unsigned)oc, (unsigned)oh, (unsigned)ow, FM_FACEDET_OUT_CHANNELS);
	if (fm_facedet_model_geom(net, &g, err) == -1)
		return -1;
	if (h / g.stride != oh || w / g.stride != ow)
		return fm_err_set(
		    err, FM_EFORMAT,
		    "detector stride %u does not match its network (%u x %u in, %u x %u out)",
		    (unsigned)g.stride, (unsigned)h, (unsigned)w, (unsigned)oh, (unsigned)ow);
	if ((d = calloc(1, sizeof *d)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a face detector");
	d->net = net;
	d->geom = g;
	*out = d;
	return 0;
}

void
fm_facedet_free(struct fm_facedet *d)
{
	if (d == NULL)
		return;
	for (int i = 0; i < FM_FACEDET_MAX_CLONES; i++)
		fm_cnn_free(d->clones[i].net);
	free(d->in);
	free(d->out);
	free(d->level.pixels);
	free(d);
}

void
fm_facedet_geometry(const struct fm_facedet *d, struct fm_facedet_geom *g)
{
	*g = d->geom;
}

static struct fm_cnn *
clone_for(struct fm_facedet *d, uint32_t h, uint32_t w, struct fm_err *err)
{
	struct clone *slot = &d->clones[0];

	for (int i = 0; i < FM_FACEDET_MAX_CLONES; i++) {
		struct clone *c = &d->clones[i];

		if (c->net != NULL && c->h == h && c->w == w) {
			c->used = d->calls;
			return c->net;
		}
		if (c->net == NULL || (slot->net != NULL && c->used < slot->used))
			slot = c;
	}
	fm_cnn_free(slot->net);
	slot->net = NULL;
	if (fm_cnn_clone_input(d->net, h, w, 1, 0, &slot->net, err) == -1)
		return NULL;
	slot->h = h;
	slot->w = w;
	slot->used = d->calls;
	return slot->net;
}

static int
grow(void **p, size_t *cap, size_t need, size_t size, struct fm_err *err)
{
	void *q;

	if (need <= *cap)
		return 0;
	if ((q = realloc(*p, need * size)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a pyramid level");
	*p = q;
	*cap = need;
	return 0;
}

/* One level: img at scale, padded, through the network, its boxes appended. */
static int
run_level(struct fm_facedet *d, const struct fm_gray *img, double scale,
          const struct fm_facedet_opts *o, struct fm_facedet_box **boxes, size_t *n, size_t *cap,
          struct fm_err *err)
{
	uint32_t lw = (uint32_t)lround(img->width * scale),
	         lh = (uint32_t)lround(img->height * scale);
	uint32_t pw, ph, oc, oh, ow;
	struct fm_cnn *net;
	float mean, std;

	lw = lw < 1 ? 1 : lw;
	lh = lh < 1 ? 1 : lh;
	pw = (lw + LEVEL_ALIGN - 1) / LEVEL_ALIGN * LEVEL_ALIGN;
	ph = (lh + LEVEL_ALIGN - 1) / LEVEL_ALIGN * LEVEL_ALIGN;
	if (pw > FM_CNN_MAX_SIDE || ph > FM_CNN_MAX_SIDE)
		return fm_err_set(
		    err, FM_ELIMIT,
		    "a pyramid level of %u x %u pixels is over the network's limit of %d "
		    "(see --min-size)",
		    (unsigned)lw, (unsigned)lh, FM_CNN_MAX_SIDE);
	if (grow((void **)&d->level.pixels, &d->level_cap, (size_t)pw * ph, 1, err) == -1 ||
	    grow((void **)&d->in, &d->in_cap, (size_t)pw * ph, sizeof *d->in, err) == -1)
		return -1;
	d->level.width = lw;
	d->level.height = lh;
	if (lw == img->width && lh == img->height)
		memcpy(d->level.pixels, img->pixels, (size_t)lw * lh);
	else if (lw < img->width && lh < img->height)
		fm_gray_resize_area(img, &d->level); /* no aliasing when shrinking */
	else
		fm_gray_resize(img, &d->level);
	fm_cnn_normalization(d->net, &mean, &std);
	for (uint32_t y = 0; y < ph; y++) {
		const uint8_t *row = d->level.pixels + (size_t)(y < lh ? y : lh - 1) * lw;

		fm_cnn_normalize_with(mean, std, row, lw, d->in + (size_t)y * pw);
		for (uint32_t x = lw; x < pw; x++)
			d->in[(size_t)y * pw + x] = d->in[(size_t)y * pw + lw - 1];
	}
	if ((net = clone_for(d, ph, pw, err)) == NULL)
		return -1;
	fm_cnn_output_shape(net, &oc, &oh, &ow);
	if (grow((void **)&d->out, &d->out_cap, (size_t)oc * oh * ow, sizeof *d->out, err) == -1)
		return -1;
	if (fm_cnn_forward_raw(net, d->in, 1, 0, d->out, err) == -1)
		return -1;
	size_t first = *n;

	if (fm_facedet_decode(&d->geom, d->out, oh, ow, (float)o->min_score, scale, boxes, n, cap,
	                      err) == -1)
		return -1;
	/* A box whose centre falls in the padding is of no face of the image; one outside the
	 * sides asked for is of no face looked for (a level finds faces a little beyond its
	 * octave, and the sides are the caller's bounds, as the cascade's window sizes are). */
	size_t k = first;

	for (size_t i = first; i < *n; i++) {
		const struct fm_facedet_box *b = &(*boxes)[i];
		double cx = b->x + b->w / 2, cy = b->y + b->h / 2;

		if (cx < img->width && cy < img->height && fmin(b->w, b->h) >= o->min_side &&
		    (o->max_side == 0 || fmax(b->w, b->h) <= o->max_side))
			(*boxes)[k++] = *b;
	}
	*n = k;
	return 0;
}

int
fm_facedet_detect(struct fm_facedet *d, const struct fm_gray *img, const struct fm_facedet_opts *o,
                  struct fm_facedet_box **boxes, size_t *n, struct fm_err *err)
{
	size_t cap = 0;
	double max_side, scale;
	int levels = 0;

	*boxes = NULL;
	*n = 0;
	/* A min_side beyond the image (a very long, thin one shrunk for its work size) is no
	 * error: no level fits, and no face is found, as by the cascade. */
	if (!(o->min_side > 0 && o->min_side < INFINITY) || !(o->max_side >= 0) ||
	    !(o->level_factor >= 1.2 && o->level_factor <= 2) ||
	    !(o->min_score >= 0 && o->min_score <= 1) || !(o->max_iou >= 0 && o->max_iou <= 1))
		return fm_err_set(err, FM_EINVAL, "detector options out of range");
	d->calls++;
	max_side = img->width < img->height ? img->width : img->height;
	if (o->max_side > 0 && o->max_side < max_side)
		max_side = o->max_side;
	/* A face of min_side image pixels is the network's min_side at the first level. */
	scale = d->geom.min_side / o->min_side;
	while (levels < MAX_LEVELS && max_side * scale >= d->geom.min_side &&
	       img->width * scale >= 1 && img->height * scale >= 1) {
		if (run_level(d, img, scale, o, boxes, n, &cap, err) == -1) {
			free(*boxes);
			*boxes = NULL;
			*n = 0;
			return -1;
		}
		levels++;
		scale /= o->level_factor;
	}
	/* Sorted by score: the best candidates bound the suppression's quadratic time. */
	if (*n > (size_t)FM_FACEDET_MAX_FACES) {
		facedet_sort(*boxes, *n);
		*n = (size_t)FM_FACEDET_MAX_FACES;
	}
	*n = fm_facedet_nms(*boxes, *n, o->max_iou);
	if (*n == 0) {
		free(*boxes);
		*boxes = NULL;
	}
	return 0;
}
