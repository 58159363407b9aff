/*
 * lib/face.c: from an image or a crop to the network's input, the crop record, and batch
 * classification with test-time augmentation. See face.h for the contract.
 */
#include "face.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"
#include "ndjson.h"

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

/* Random erasing of fm_augment.erase: a rectangle of the normalised input set to 0. */
static void
erase_rectangle(float probability, struct fm_rng *rng, uint32_t side, float *x)
{
	/* Every draw is made whether or not this face is erased, so that the random stream,
	 * and with it the other faces' augmentation, does not depend on the probability. */
	double u = fm_rng_uniform(rng);
	double area = (0.02 + 0.18 * fm_rng_uniform(rng)) * side * side;
	double aspect = exp((fm_rng_uniform(rng) * 2 - 1) * log(3.0));
	long w = lround(sqrt(area * aspect)), h = lround(sqrt(area / aspect));
	double fx = fm_rng_uniform(rng), fy = fm_rng_uniform(rng);

	if (!(u < probability))
		return;
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	if (w > (long)side)
		w = (long)side;
	if (h > (long)side)
		h = (long)side;
	long x0 = (long)(fx * (double)(side - (uint32_t)w + 1));
	long y0 = (long)(fy * (double)(side - (uint32_t)h + 1));
	if (x0 > (long)side - w)
		x0 = (long)side - w;
	if (y0 > (long)side - h)
		y0 = (long)side - h;
	for (long v = y0; v < y0 + h; v++)
		for (long u2 = x0; u2 < x0 + w; u2++)
			x[(size_t)v * side + (size_t)u2] = 0;
}

/*
 * The affine warp of fm_face_to_input and of the views of test-time augmentation: the
 * output pixel centre (u, v) maps to source (x, y) through the inverse of "flip, then
 * rotate and zoom about the centre, then shift"; then the contrast about the face's mean
 * and the brightness, in pixel values of 0 to 1.
 */
struct face_warp {
	int flip;
	float rotate_deg, zoom, shift_x, shift_y, brightness, contrast;
};

static void
warp_to_input(const uint8_t *face, uint32_t side, const struct face_warp *w, uint32_t out_side,
              float mean, float std, float *out)
{
	float cs = (float)side / 2.0f, co = (float)out_side / 2.0f;
	float step = (float)side / (float)out_side;
	float rad = w->rotate_deg * 0.017453292f;
	float c = cosf(rad) / w->zoom, s = sinf(rad) / w->zoom;
	float m00 = c * step, m01 = -s * step, m10 = s * step, m11 = c * step;
	size_t n = (size_t)out_side * out_side;
	double sum = 0;

	for (uint32_t v = 0; v < out_side; v++) {
		for (uint32_t u = 0; u < out_side; u++) {
			float du = (float)u + 0.5f - co, dv = (float)v + 0.5f - co;
			float x = m00 * du + m01 * dv + cs - w->shift_x - 0.5f;
			float y = m10 * du + m11 * dv + cs - w->shift_y - 0.5f;

			if (w->flip)
				x = (float)side - 1 - x;
			float p = sample(face, side, x, y) / 255.0f;
			out[v * out_side + u] = p;
			sum += p;
		}
	}
	float img_mean = (float)(sum / (double)n);
	float mean01 = mean / 255.0f, std01 = std / 255.0f;
	for (size_t k = 0; k < n; k++) {
		float p = (out[k] - img_mean) * w->contrast + img_mean + w->brightness;

		out[k] = (p - mean01) / std01;
	}
}

void
fm_face_to_input(const uint8_t *face, uint32_t side, const struct fm_augment *a, struct fm_rng *rng,
                 uint32_t out_side, float mean, float std, float *out)
{
	struct face_warp w = {.zoom = 1, .contrast = 1};

	if ((a == NULL || rng == NULL) && side == out_side) {
		/* The network's own normalisation, so that a face evaluated from a face set and
		 * the same face classified from a photo get the same probabilities, bit for bit. */
		fm_cnn_normalize_with(mean, std, face, (size_t)out_side * out_side, out);
		return;
	}
	if (a != NULL && rng != NULL) {
		/* The draws in this order, which the seeds of past runs reproduce. */
		w.rotate_deg = (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_rotate_deg;
		w.zoom = 1 + (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_scale;
		w.flip = a->flip && fm_rng_uniform(rng) < 0.5;
		w.shift_x = (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_shift;
		w.shift_y = (float)(fm_rng_uniform(rng) * 2 - 1) * a->max_shift;
		w.brightness = (float)(fm_rng_uniform(rng) * 2 - 1) * a->brightness;
		w.contrast = 1 + (float)(fm_rng_uniform(rng) * 2 - 1) * a->contrast;
	}
	warp_to_input(face, side, &w, out_side, mean, std, out);
	if (a != NULL && rng != NULL && a->erase > 0)
		erase_rectangle(a->erase, rng, out_side, out);
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
fm_face_whole(const struct fm_gray *img, uint32_t side, uint8_t *out)
{
	struct fm_gray sq = {side, side, out};

	if (img->width == side && img->height == side)
		memcpy(out, img->pixels, (size_t)side * side);
	else
		fm_gray_resize(img, &sq);
}

bool
fm_face_is_crop(uint32_t width, uint32_t height)
{
	uint64_t lo = width < height ? width : height, hi = width < height ? height : width;

	return lo >= 1 && hi <= FM_FACE_CROP_MAX_SIDE && 4 * hi <= 5 * lo;
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

int
fm_face_get_box(const cJSON *face, int32_t box[4], struct fm_err *err)
{
	static const char *const keys[4] = {"x", "y", "w", "h"};

	for (int k = 0; k < 4; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(face, keys[k]);

		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 1e7 ||
		    (k >= 2 && v->valuedouble < 1))
			return fm_err_set(err, FM_EINVAL, "face without a valid \"%s\"", keys[k]);
		box[k] = (int32_t)lrint(v->valuedouble);
	}
	return 0;
}

int
fm_face_crop_encode(cJSON *face, const struct fm_crop *c, struct fm_err *err)
{
	cJSON *crop = cJSON_CreateObject();

	if (crop == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a face crop");
	if (fm_ndjson_set(crop, "side", cJSON_CreateNumber((double)c->side), err) == -1 ||
	    fm_ndjson_set(crop, "margin", cJSON_CreateNumber(c->margin), err) == -1 ||
	    fm_ndjson_set_base64(crop, "gray", c->gray, (size_t)c->side * c->side, err) == -1) {
		cJSON_Delete(crop);
		return -1;
	}
	return fm_ndjson_set(face, "crop", crop, err);
}

int
fm_face_crop_decode(const cJSON *face, struct fm_crop *c, struct fm_err *err)
{
	const cJSON *crop = cJSON_GetObjectItemCaseSensitive(face, "crop");
	const cJSON *side = cJSON_GetObjectItemCaseSensitive(crop, "side");
	const cJSON *margin = cJSON_GetObjectItemCaseSensitive(crop, "margin");
	size_t want, n;

	memset(c, 0, sizeof *c);
	if (crop == NULL)
		return 1;
	if (!cJSON_IsNumber(side) || side->valuedouble < 1 ||
	    side->valuedouble > FM_FACE_MAX_CROP_SIDE ||
	    side->valuedouble != floor(side->valuedouble) || !cJSON_IsNumber(margin) ||
	    !(margin->valuedouble >= 0 && margin->valuedouble <= FM_FACE_MAX_MARGIN))
		return fm_err_set(err, FM_EFORMAT,
		                  "face \"crop\" without a whole \"side\" "
		                  "(1 to %d) and a \"margin\" (0 to %d)",
		                  FM_FACE_MAX_CROP_SIDE, FM_FACE_MAX_MARGIN);
	want = (size_t)side->valuedouble * (size_t)side->valuedouble;
	if ((c->gray = malloc(want)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a face crop");
	if (fm_ndjson_get_base64(crop, "gray", c->gray, want, &n, err) == -1)
		goto fail;
	if (n != want) {
		fm_err_set(err, FM_EFORMAT, "face \"crop\" holds %zu bytes, not side^2", n);
		goto fail;
	}
	c->side = (uint32_t)side->valuedouble;
	c->margin = margin->valuedouble;
	return 0;
fail:
	fm_face_crop_free(c);
	return -1;
}

void
fm_face_crop_free(struct fm_crop *c)
{
	if (c == NULL)
		return;
	free(c->gray);
	memset(c, 0, sizeof *c);
}

bool
fm_face_all_cropped(const cJSON *faces)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, faces)
	{
		if (cJSON_GetObjectItemCaseSensitive(f, "crop") == NULL)
			return false;
	}
	return true;
}

int
fm_face_pixels(const cJSON *face, const struct fm_gray *img, uint32_t side, float margin,
               uint8_t *out, struct fm_err *err)
{
	struct fm_crop c;
	int32_t box[4];
	int rc = fm_face_crop_decode(face, &c, err);

	if (rc == 0) {
		rc = fm_face_recrop(c.gray, c.side, (float)c.margin, margin, side, out, err);
		fm_face_crop_free(&c);
		return rc;
	}
	if (rc == -1)
		return -1;
	if (fm_face_get_box(face, box, err) == -1)
		return -1;
	if (img == NULL)
		return fm_err_set(err, FM_EINVAL,
		                  "face without a \"crop\" and no image to cut it from");
	return fm_face_crop(img, box, margin, side, out, err);
}

int
fm_face_label(cJSON *face, const struct fm_cnn *net, const float *p, double min_confidence,
              struct fm_err *err)
{
	size_t n = fm_cnn_n_classes(net), best = 0;
	cJSON *scores = cJSON_CreateObject();
	const char *emotion;

	for (size_t k = 0; k < n && scores != NULL; k++) {
		/* Four decimals: plenty for a probability, and short lines. */
		if (cJSON_AddNumberToObject(scores, fm_cnn_class_name(net, k),
		                            fm_ndjson_round(p[k], 4)) == NULL) {
			cJSON_Delete(scores);
			scores = NULL;
		}
		if (p[k] > p[best])
			best = k;
	}
	/* The unrounded probability decides, as the most probable class is chosen on it. */
	emotion = p[best] < min_confidence ? FM_MOOD_UNCERTAIN : fm_cnn_class_name(net, best);
	if (fm_ndjson_set(face, "emotion", cJSON_CreateString(emotion), err) == -1) {
		cJSON_Delete(scores);
		return -1;
	}
	return fm_ndjson_set(face, "scores", scores, err);
}

struct ranked {
	double score; /* NaN: none */
	size_t i;
};

/* Most certain first; a face without a score after every face with one; then input order. */
static int
cmp_ranked(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	bool na = isnan(a->score), nb = isnan(b->score);

	if (na != nb)
		return na ? 1 : -1;
	if (!na && a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

int
fm_face_most_certain(const double *score, size_t n, size_t max, bool *keep, size_t *n_kept,
                     struct fm_err *err)
{
	struct ranked *r;

	*n_kept = n < max ? n : max;
	if (n <= max) {
		for (size_t i = 0; i < n; i++)
			keep[i] = true;
		return 0;
	}
	if ((r = malloc(n * sizeof *r)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory ranking %zu faces", n);
	for (size_t i = 0; i < n; i++) {
		r[i].score = score[i];
		r[i].i = i;
		keep[i] = false;
	}
	qsort(r, n, sizeof *r, cmp_ranked);
	for (size_t k = 0; k < max; k++)
		keep[r[k].i] = true;
	free(r);
	return 0;
}

int
fm_face_limit(cJSON *rec, size_t max, struct fm_err *err)
{
	cJSON *faces = cJSON_GetObjectItemCaseSensitive(rec, "faces");
	const cJSON *before = cJSON_GetObjectItemCaseSensitive(rec, "faces_dropped");
	size_t n = (size_t)cJSON_GetArraySize(faces), n_kept, k = 0;
	double *score;
	bool *keep;
	cJSON *f;
	int rc = -1;

	if (!cJSON_IsArray(faces) || n <= max)
		return 0;
	score = malloc(n * sizeof *score);
	keep = malloc(n * sizeof *keep);
	if (score == NULL || keep == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory ranking %zu faces", n);
		goto done;
	}
	cJSON_ArrayForEach(f, faces)
	{
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "score");

		score[k++] = cJSON_IsNumber(s) ? s->valuedouble : NAN;
	}
	if (fm_face_most_certain(score, n, max, keep, &n_kept, err) == -1)
		goto done;
	for (size_t i = n; i-- > 0;)
		if (!keep[i])
			cJSON_DeleteItemFromArray(faces, (int)i);
	double dropped = (double)(n - n_kept);
	/* Faces fer-detect dropped already count too. */
	if (cJSON_IsNumber(before) && before->valuedouble >= 0 && before->valuedouble <= 1e15 &&
	    before->valuedouble == floor(before->valuedouble))
		dropped += before->valuedouble;
	rc = fm_ndjson_set(rec, "faces_dropped", cJSON_CreateNumber(dropped), err);
done:
	free(score);
	free(keep);
	return rc;
}

struct fm_face_classifier {
	struct fm_cnn *net; /* borrowed */
	uint32_t side;
	size_t max, n_classes;
	float *in;   /* max faces as the network's input, one view of each */
	float *view; /* max score vectors of that view */
};

int
fm_face_classifier_new(struct fm_cnn *net, struct fm_face_classifier **out, struct fm_err *err)
{
	struct fm_face_classifier *fc;
	uint32_t c, h, w;

	*out = NULL;
	fm_cnn_input_shape(net, &c, &h, &w);
	if (c != 1 || h != w)
		return fm_err_set(err, FM_EINVAL,
		                  "network input is %ux%ux%u, not a square gray face", c, h, w);
	if (fm_cnn_is_fully_conv(net))
		return fm_err_set(
		    err, FM_EINVAL,
		    "the network is fully convolutional (a map, not a face's classes)");
	if ((fc = calloc(1, sizeof *fc)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	fc->net = net;
	fc->side = h;
	fc->max = fm_cnn_max_batch(net);
	fc->n_classes = fm_cnn_n_classes(net);
	fc->in = malloc(fc->max * h * w * sizeof *fc->in);
	fc->view = malloc(fc->max * fc->n_classes * sizeof *fc->view);
	if (fc->in == NULL || fc->view == NULL) {
		fm_face_classifier_free(fc);
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	}
	*out = fc;
	return 0;
}

void
fm_face_classifier_free(struct fm_face_classifier *fc)
{
	if (fc == NULL)
		return;
	free(fc->in);
	free(fc->view);
	free(fc);
}

/*
 * Test-time augmentation's ten views of a face: the face, the face turned by 10 degrees
 * either way, and the face zoomed out and in by 10%, each as it is and mirrored. They are
 * the edges of what training's augmentation draws (±10°, ±10% zoom, mirrored half the
 * time), so each is a face the network learnt to read, and they differ more than small
 * shifts do. On FER2013's validation faces, with the two networks of models/fer2013.fm of
 * ac80cbf, they gave 70.66% where the face moved by two pixels four ways gave 70.33%, the
 * mirror pair 69.85% and the face alone 69.46% (scripts/bench/accuracy.sh measures it
 * through fer-classify); its first network alone, 69.74% against 69.13%.
 */
#define TTA_VIEW(mirror, degrees, scale)                                                           \
	{                                                                                          \
		.flip = (mirror), .rotate_deg = (degrees), .zoom = (scale), .contrast = 1          \
	}
static const struct face_warp tta_views[] = {
    TTA_VIEW(0, 0, 1),    TTA_VIEW(0, -10, 1),  TTA_VIEW(0, 10, 1),  TTA_VIEW(0, 0, 0.9f),
    TTA_VIEW(0, 0, 1.1f), TTA_VIEW(1, 0, 1),    TTA_VIEW(1, -10, 1), TTA_VIEW(1, 10, 1),
    TTA_VIEW(1, 0, 0.9f), TTA_VIEW(1, 0, 1.1f),
};
#undef TTA_VIEW
enum { TTA_VIEWS = sizeof tta_views / sizeof tta_views[0], TTA_MIRROR = TTA_VIEWS / 2 };

void
fm_face_view_input(const uint8_t *face, uint32_t side, unsigned view, uint32_t out_side, float mean,
                   float std, float *out)
{
	/* The face itself and its mirror image are exact: the mirror pair reads the face as
	 * --views 1 does, moved to the other side and nothing else. */
	if (view == 0 || view == TTA_MIRROR || view >= TTA_VIEWS) {
		fm_face_to_input(face, side, NULL, NULL, out_side, mean, std, out);
		if (view == TTA_MIRROR)
			fm_face_mirror(out, out_side);
		return;
	}
	warp_to_input(face, side, &tta_views[view], out_side, mean, std, out);
}

bool
fm_face_views_valid(double n)
{
	return n == FM_FACE_VIEWS_ONE || n == FM_FACE_VIEWS_MIRROR || n == FM_FACE_VIEWS_TTA;
}

int
fm_face_model_views(const struct fm_cnn *net, int given, enum fm_face_views *views,
                    struct fm_err *err)
{
	cJSON *info = cJSON_Parse(fm_cnn_info(net));
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(info, "views");
	int rc = 0;

	*views = FM_FACE_VIEWS_ONE;
	if (v != NULL) {
		double n = cJSON_IsNumber(v) ? v->valuedouble : 0;

		/* Checked even when given wins: a bad note is a bad model file. */
		if (fm_face_views_valid(n))
			*views = (enum fm_face_views)n;
		else
			rc = fm_err_set(err, FM_EFORMAT, "the model's \"views\" is not 1, 2 or 10");
	}
	cJSON_Delete(info);
	if (rc == 0 && given != 0)
		*views = (enum fm_face_views)given;
	return rc;
}

int
fm_face_classify(struct fm_face_classifier *fc, const uint8_t *faces, uint32_t side, size_t n,
                 enum fm_face_views views, float *probs, struct fm_err *err)
{
	size_t plane = (size_t)fc->side * fc->side, face_bytes = (size_t)side * side;
	float mean, std;

	if (!fm_face_views_valid(views))
		return fm_err_set(err, FM_EINVAL, "%d views of a face: 1, 2 or 10", (int)views);
	fm_cnn_normalization(fc->net, &mean, &std);
	for (size_t first = 0; first < n; first += fc->max) {
		size_t b = n - first < fc->max ? n - first : fc->max;
		float *p = probs + first * fc->n_classes;

		for (unsigned v = 0; v < TTA_VIEWS; v++) {
			/* The pair is the face and its mirror image: views 0 and TTA_MIRROR. */
			if ((views == FM_FACE_VIEWS_ONE && v != 0) ||
			    (views == FM_FACE_VIEWS_MIRROR && v != 0 && v != TTA_MIRROR))
				continue;
			for (size_t k = 0; k < b; k++)
				fm_face_view_input(faces + (first + k) * face_bytes, side, v,
				                   fc->side, mean, std, fc->in + k * plane);
			if (fm_cnn_forward(fc->net, fc->in, b, 0, v == 0 ? p : fc->view, err) == -1)
				return -1;
			if (v != 0)
				for (size_t k = 0; k < b * fc->n_classes; k++)
					p[k] += fc->view[k];
		}
		if (views != FM_FACE_VIEWS_ONE)
			for (size_t k = 0; k < b * fc->n_classes; k++)
				p[k] /= (float)views;
	}
	return 0;
}
