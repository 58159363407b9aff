/*
 * lib/facedet_train.c: the detector's labelled photos, its training epoch and its
 * evaluation by the usual detection rule (PASCAL VOC's: IoU >= 0.5, greedy by score, AP as
 * the area under the interpolated precision-recall curve). See facedet.h.
 */
#include "facedet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "facedet_int.h"

#define MAX_CROP_FACES 256

void
fm_facedet_set_free(struct fm_facedet_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->photos[i].path);
		free(s->photos[i].faces);
		fm_gray_free(&s->photos[i].gray);
	}
	free(s->photos);
	memset(s, 0, sizeof *s);
}

static int
finite_number(const cJSON *o, const char *name, float *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(n) || !isfinite(n->valuedouble) || fabs(n->valuedouble) > 1e7)
		return -1;
	*v = (float)n->valuedouble;
	return 0;
}

static int
parse_face(const cJSON *j, struct fm_facedet_face *f, size_t line, struct fm_err *err)
{
	const cJSON *lm = cJSON_GetObjectItemCaseSensitive(j, "landmarks");
	const cJSON *ig = cJSON_GetObjectItemCaseSensitive(j, "ignore");

	memset(f, 0, sizeof *f);
	if (!cJSON_IsObject(j) || finite_number(j, "x", &f->x) == -1 ||
	    finite_number(j, "y", &f->y) == -1 || finite_number(j, "w", &f->w) == -1 ||
	    finite_number(j, "h", &f->h) == -1 || !(f->w > 0) || !(f->h > 0))
		return fm_err_set(
		    err, FM_EFORMAT,
		    "line %zu: a face is not an object with finite x, y and positive w, h", line);
	if (ig != NULL && !cJSON_IsBool(ig))
		return fm_err_set(err, FM_EFORMAT,
		                  "line %zu: a face's \"ignore\" is not true or false", line);
	f->ignore = cJSON_IsTrue(ig);
	if (lm == NULL || cJSON_IsNull(lm))
		return 0;
	if (!cJSON_IsArray(lm) || cJSON_GetArraySize(lm) != FM_FACEDET_N_LANDMARKS)
		return fm_err_set(err, FM_EFORMAT, "line %zu: \"landmarks\" is not %d [x, y] pairs",
		                  line, FM_FACEDET_N_LANDMARKS);
	for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
		const cJSON *p = cJSON_GetArrayItem(lm, m);

		for (int k = 0; k < 2; k++) {
			const cJSON *v = cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2
			                     ? cJSON_GetArrayItem(p, k)
			                     : NULL;

			if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
			    fabs(v->valuedouble) > 1e7)
				return fm_err_set(err, FM_EFORMAT,
				                  "line %zu: \"landmarks\" is not %d [x, y] pairs",
				                  line, FM_FACEDET_N_LANDMARKS);
			f->landmarks[m][k] = (float)v->valuedouble;
		}
	}
	f->has_landmarks = 1;
	return 0;
}

static int
parse_line(const char *text, size_t len, size_t line, struct fm_facedet_photo *p,
           struct fm_err *err)
{
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(j, "path");
	const cJSON *faces = cJSON_GetObjectItemCaseSensitive(j, "faces");
	int rc = -1;

	memset(p, 0, sizeof *p);
	if (!cJSON_IsObject(j)) {
		fm_err_set(err, FM_EFORMAT, "line %zu: not a JSON object", line);
		goto done;
	}
	if (!cJSON_IsString(path) || path->valuestring[0] == '\0') {
		fm_err_set(err, FM_EFORMAT, "line %zu: no \"path\" string", line);
		goto done;
	}
	if (!cJSON_IsArray(faces)) {
		fm_err_set(err, FM_EFORMAT, "line %zu: no \"faces\" array", line);
		goto done;
	}
	int n = cJSON_GetArraySize(faces);

	if (n > FM_FACEDET_MAX_FACES) {
		fm_err_set(err, FM_ELIMIT, "line %zu: %d faces, limit %d", line, n,
		           FM_FACEDET_MAX_FACES);
		goto done;
	}
	if ((p->path = strdup(path->valuestring)) == NULL ||
	    (n > 0 && (p->faces = calloc((size_t)n, sizeof *p->faces)) == NULL)) {
		fm_err_set(err, FM_ENOMEM, "out of memory for line %zu", line);
		goto done;
	}
	const cJSON *f;

	cJSON_ArrayForEach(f, faces)
	{
		if (parse_face(f, &p->faces[p->n_faces], line, err) == -1)
			goto done;
		p->n_faces++;
	}
	rc = 0;
done:
	cJSON_Delete(j);
	if (rc == -1) {
		free(p->path);
		free(p->faces);
		memset(p, 0, sizeof *p);
	}
	return rc;
}

int
fm_facedet_set_decode(const char *text, size_t n_bytes, struct fm_facedet_set *out,
                      struct fm_err *err)
{
	size_t cap = 0, line = 0;
	const char *end = text + n_bytes;

	memset(out, 0, sizeof *out);
	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl != NULL ? nl : end;
		const char *q = p;

		line++;
		while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < stop) {
			if (out->n == FM_FACEDET_MAX_PHOTOS) {
				fm_err_set(err, FM_ELIMIT, "line %zu: more than %d photos", line,
				           FM_FACEDET_MAX_PHOTOS);
				goto fail;
			}
			if (out->n == cap) {
				size_t more = cap ? 2 * cap : 256;
				struct fm_facedet_photo *ph =
				    realloc(out->photos, more * sizeof *ph);

				if (ph == NULL) {
					fm_err_set(err, FM_ENOMEM, "out of memory for %zu photos",
					           more);
					goto fail;
				}
				out->photos = ph;
				cap = more;
			}
			if (parse_line(p, (size_t)(stop - p), line, &out->photos[out->n], err) ==
			    -1)
				goto fail;
			out->n++;
		}
		p = stop + 1;
	}
	return 0;
fail:
	fm_facedet_set_free(out);
	return -1;
}

int
fm_facedet_set_load(const char *path, struct fm_facedet_set *out, struct fm_err *err)
{
	unsigned char *bytes;
	size_t n;
	int rc;
	struct fm_err e;

	memset(out, 0, sizeof *out);
	if (fm_read_file(path, FM_DEFAULT_MAX_FILE_BYTES, &bytes, &n, &e) == -1)
		return fm_err_set(err, e.code, "%s: %s", path, e.msg);
	rc = fm_facedet_set_decode((const char *)bytes, n, out, &e);
	free(bytes);
	if (rc == -1)
		return fm_err_set(err, e.code, "%s: %s", path, e.msg);
	return 0;
}

int
fm_facedet_set_load_photos(struct fm_facedet_set *s, uint64_t max_pixels, struct fm_err *err)
{
	for (size_t i = 0; i < s->n; i++) {
		struct fm_facedet_photo *p = &s->photos[i];
		struct fm_image img;
		struct fm_err e;
		int rc;

		if (p->gray.pixels != NULL)
			continue;
		if (fm_image_load(p->path, max_pixels, &img, &e) == -1)
			return fm_err_set(err, e.code, "%s: %s", p->path, e.msg);
		rc = fm_image_to_gray(&img, &p->gray, &e);
		fm_image_free(&img);
		if (rc == -1)
			return fm_err_set(err, e.code, "%s: %s", p->path, e.msg);
	}
	return 0;
}

int
fm_facedet_is_validation(const char *path)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a, 64 bits */

	for (const unsigned char *c = (const unsigned char *)path; *c != '\0'; c++)
		h = (h ^ *c) * 0x100000001b3u;
	return h % 20 == 0;
}

/* One training crop: a tile, or 2 x 2 tiles from `first` and three photos drawn from idx. */
static size_t
make_crop(const struct fm_facedet_set *s, const size_t *idx, size_t n_idx, size_t first,
          const struct fm_facedet_train_opts *o, struct fm_rng *rng, uint8_t *crop,
          struct fm_facedet_face *faces)
{
	const uint32_t side = o->crop_side, half = side / 2;
	size_t n = 0, got;

	if (fm_rng_uniform(rng) < o->mosaic) {
		/* Faces at half the sides, so that a tile holds them as a crop would. */
		struct fm_facedet_aug a = o->aug;

		a.min_side = o->aug.min_side;
		a.max_side = fminf(o->aug.max_side, (float)half * 0.9f);
		for (int t = 0; t < 4; t++) {
			const struct fm_facedet_photo *p =
			    &s->photos[t == 0 ? first : idx[fm_rng_below(rng, n_idx)]];

			fm_facedet_render(&p->gray, p->faces, p->n_faces, &a, rng, crop, side,
			                  (uint32_t)(t % 2) * half, (uint32_t)(t / 2) * half, half,
			                  half, faces + n, MAX_CROP_FACES - n, &got);
			n += got;
		}
	} else {
		const struct fm_facedet_photo *p = &s->photos[first];

		fm_facedet_render(&p->gray, p->faces, p->n_faces, &o->aug, rng, crop, side, 0, 0,
		                  side, side, faces, MAX_CROP_FACES, &n);
	}
	fm_facedet_photometric(&o->aug, rng, crop, side, side);
	return n;
}

int
fm_facedet_train_epoch(struct fm_cnn *net, const struct fm_facedet_set *s, const size_t *idx,
                       size_t n_idx, const struct fm_facedet_train_opts *o, size_t epoch,
                       uint64_t seed, fm_facedet_progress_fn *progress, void *ctx,
                       struct fm_facedet_loss *mean, struct fm_err *err)
{
	uint32_t c, h, w, oc, oh, ow;
	const size_t batch = o->batch;
	size_t *order = NULL, n_steps;
	float *in = NULL, *target = NULL, *out = NULL, *dout = NULL, pmean, pstd;
	uint8_t *crop = NULL;
	struct fm_facedet_face *faces = NULL;
	struct fm_rng rng;
	int rc = -1;

	memset(mean, 0, sizeof *mean);
	fm_cnn_input_shape(net, &c, &h, &w);
	fm_cnn_output_shape(net, &oc, &oh, &ow);
	if (fm_facedet_geom_check(&o->geom, err) == -1)
		return -1;
	if (c != 1 || h != o->crop_side || w != o->crop_side || oc != FM_FACEDET_OUT_CHANNELS ||
	    oh != h / o->geom.stride || ow != w / o->geom.stride)
		return fm_err_set(
		    err, FM_EINVAL,
		    "the network (%u x %u x %u in, %u x %u x %u out) is not a detector "
		    "for %u x %u crops at stride %u",
		    (unsigned)c, (unsigned)h, (unsigned)w, (unsigned)oc, (unsigned)oh, (unsigned)ow,
		    (unsigned)o->crop_side, (unsigned)o->crop_side, (unsigned)o->geom.stride);
	if (batch < 2 || batch > fm_cnn_max_batch(net) || n_idx < batch || !(o->mosaic >= 0))
		return fm_err_set(
		    err, FM_EINVAL,
		    "batch %zu is not from 2 to the network's %zu and the photos' %zu", batch,
		    fm_cnn_max_batch(net), n_idx);
	const size_t plane = (size_t)oh * ow, px = (size_t)h * w;

	order = malloc(n_idx * sizeof *order);
	in = malloc(batch * px * sizeof *in);
	crop = malloc(px);
	target = malloc(batch * FM_FACEDET_TARGET_CHANNELS * plane * sizeof *target);
	out = malloc(batch * FM_FACEDET_OUT_CHANNELS * plane * sizeof *out);
	dout = malloc(batch * FM_FACEDET_OUT_CHANNELS * plane * sizeof *dout);
	faces = malloc(MAX_CROP_FACES * sizeof *faces);
	if (order == NULL || in == NULL || crop == NULL || target == NULL || out == NULL ||
	    dout == NULL || faces == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for a batch of %zu crops", batch);
		goto done;
	}
	/* The epoch's own stream: seed and epoch alone decide it. */
	fm_rng_seed(&rng, seed * 0x9e3779b97f4a7c15u + epoch + 1);
	memcpy(order, idx, n_idx * sizeof *order);
	for (size_t i = n_idx - 1; i > 0; i--) {
		size_t j = (size_t)fm_rng_below(&rng, i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	fm_cnn_normalization(net, &pmean, &pstd);
	n_steps = n_idx / batch;
	for (size_t step = 0; step < n_steps; step++) {
		struct fm_facedet_loss l;
		struct fm_facedet_progress pr;
		double lr;

		for (size_t b = 0; b < batch; b++) {
			size_t n =
			    make_crop(s, idx, n_idx, order[step * batch + b], o, &rng, crop, faces);

			fm_cnn_normalize_with(pmean, pstd, crop, px, in + b * px);
			fm_facedet_encode(&o->geom, faces, n, oh, ow,
			                  target + b * FM_FACEDET_TARGET_CHANNELS * plane);
		}
		if (fm_cnn_schedule(&o->schedule,
		                    (double)epoch + (double)(step + 1) / (double)n_steps, &lr,
		                    err) == -1 ||
		    fm_cnn_forward_raw(net, in, batch, 1, out, err) == -1 ||
		    fm_facedet_loss(&o->loss, out, target, batch, oh, ow, &l, dout, err) == -1 ||
		    fm_cnn_backward(net, dout, err) == -1 ||
		    fm_cnn_update(net, &o->optim, (float)lr, err) == -1)
			goto done;
		mean->total += (l.total - mean->total) / (double)(step + 1);
		mean->cls += (l.cls - mean->cls) / (double)(step + 1);
		mean->box += (l.box - mean->box) / (double)(step + 1);
		mean->landmarks += (l.landmarks - mean->landmarks) / (double)(step + 1);
		mean->n_pos += l.n_pos;
		if (progress != NULL) {
			pr.epoch = epoch;
			pr.step = step + 1;
			pr.n_steps = n_steps;
			pr.lr = lr;
			pr.loss = *mean;
			progress(ctx, &pr);
		}
	}
	rc = 0;
done:
	free(order);
	free(in);
	free(crop);
	free(target);
	free(out);
	free(dout);
	free(faces);
	return rc;
}

struct hit {
	float score;
	int tp;
};

static int
by_hit_score(const void *pa, const void *pb)
{
	const struct hit *a = pa, *b = pb;

	return a->score > b->score ? -1 : a->score < b->score ? 1 : 0;
}

int
fm_facedet_evaluate(struct fm_facedet *d, const struct fm_facedet_set *s, const size_t *idx,
                    size_t n_idx, const struct fm_facedet_opts *o, struct fm_facedet_score *score,
                    struct fm_err *err)
{
	struct fm_facedet_opts low = *o;
	struct hit *hits = NULL;
	size_t n_hits = 0, cap = 0, n_truth = 0;
	int rc = -1;

	memset(score, 0, sizeof *score);
	low.min_score = fmin(o->min_score, 0.05);
	for (size_t i = 0; i < n_idx; i++) {
		const struct fm_facedet_photo *p = &s->photos[idx[i]];
		struct fm_facedet_box *boxes;
		size_t n;
		char used[FM_FACEDET_MAX_FACES] = {0};

		if (fm_facedet_detect(d, &p->gray, &low, &boxes, &n, err) == -1)
			goto done;
		for (size_t k = 0; k < p->n_faces; k++)
			n_truth += !p->faces[k].ignore;
		if (n_hits + n > cap) {
			size_t more = 2 * (n_hits + n) + 64;
			struct hit *h = realloc(hits, more * sizeof *h);

			if (h == NULL) {
				free(boxes);
				fm_err_set(err, FM_ENOMEM, "out of memory for %zu detections",
				           more);
				goto done;
			}
			hits = h;
			cap = more;
		}
		/* boxes come best first: greedy by score within the photo. */
		for (size_t b = 0; b < n; b++) {
			double best = 0.5;
			size_t match = p->n_faces;
			int ignored = 0;

			for (size_t k = 0; k < p->n_faces; k++) {
				const struct fm_facedet_face *f = &p->faces[k];
				struct fm_facedet_box t = {f->x, f->y, f->w, f->h, 0, {{0}}};
				double iou = fm_facedet_iou(&boxes[b], &t);

				if (iou >= best && !used[k]) {
					best = iou;
					match = k;
				}
			}
			if (match < p->n_faces) {
				used[match] = 1;
				ignored = p->faces[match].ignore;
			}
			if (!ignored)
				hits[n_hits++] = (struct hit){boxes[b].score, match < p->n_faces};
		}
		free(boxes);
	}
	if (n_hits > 1) /* hits is NULL when nothing was found */
		qsort(hits, n_hits, sizeof *hits, by_hit_score);
	/* AP: precision made monotone from the right, summed over each recall step. */
	{
		double ap = 0, prev_r = 0;
		size_t tp = 0;
		double *prec = malloc((n_hits + 1) * sizeof *prec);

		if (prec == NULL) {
			fm_err_set(err, FM_ENOMEM, "out of memory for %zu detections", n_hits);
			goto done;
		}
		for (size_t i = 0; i < n_hits; i++) {
			tp += (size_t)hits[i].tp;
			prec[i] = (double)tp / (double)(i + 1);
			/* The best F1 of a threshold: a prefix ending where the next score is
			 * lower (tied detections pass a threshold together). */
			if (i + 1 < n_hits && hits[i + 1].score == hits[i].score)
				continue;
			double f1 = 2.0 * (double)tp / (double)(i + 1 + n_truth);

			if (tp > 0 && f1 > score->best_f1) {
				score->best_f1 = f1;
				score->best_f1_score = hits[i].score;
			}
		}
		for (size_t i = n_hits; i-- > 1;)
			prec[i - 1] = fmax(prec[i - 1], prec[i]);
		tp = 0;
		for (size_t i = 0; i < n_hits && n_truth > 0; i++)
			if (hits[i].tp) {
				double r = (double)++tp / (double)n_truth;

				ap += (r - prev_r) * prec[i];
				prev_r = r;
			}
		free(prec);
		score->ap = ap;
	}
	for (size_t i = 0; i < n_hits; i++)
		if (hits[i].score >= o->min_score) {
			score->n_found++;
			score->n_matched += (size_t)hits[i].tp;
		}
	score->n_truth = n_truth;
	score->precision = score->n_found ? (double)score->n_matched / (double)score->n_found : 0;
	score->recall = n_truth ? (double)score->n_matched / (double)n_truth : 0;
	score->f1 = score->precision + score->recall > 0
	                ? 2 * score->precision * score->recall / (score->precision + score->recall)
	                : 0;
	rc = 0;
done:
	free(hits);
	return rc;
}
