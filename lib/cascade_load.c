/*
 * lib/cascade_load.c: read an OpenCV cascade (the "opencv-cascade-classifier" layout that
 * OpenCV 3 and later write, Haar or LBP features) into struct fm_cascade.
 *
 * Follows OpenCV's CascadeClassifierImpl::Data::read: each stage threshold is lowered by
 * 1e-5 (THRESHOLD_EPS) in float arithmetic, a tree's internal nodes are (left, right,
 * feature, threshold) for Haar and (left, right, feature, 8 subset words) for LBP.
 * Departs from it in checking everything a hostile file could get wrong (indexes, rects
 * outside the window, counts) and saying what, where OpenCV asserts or crashes.
 */
#include "cascade_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WINDOW_SIDE 1024
#define MAX_CASCADE_BYTES (256u << 20)

struct loader {
	const struct cascade_xml *x;
	struct fm_cascade *c;
	struct fm_err *err;
};

static int bad(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(struct loader *l, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return fm_err_set(l->err, FM_EFORMAT, "invalid cascade: %s", what);
}

static int
read_int(struct loader *l, int node, const char *name, long lo, long hi, long *out)
{
	double v;

	if (cascade_xml_number(l->x, cascade_xml_child(l->x, node, name), &v) == -1 ||
	    v != floor(v) || v < lo || v > hi)
		return bad(l, "missing or invalid <%s>", name);
	*out = (long)v;
	return 0;
}

static void *
grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	size_t c = *cap ? *cap * 2 : 256;
	void *q = realloc(p, c * size);
	if (q != NULL)
		*cap = c;
	return q;
}

static int
read_stages(struct loader *l, int stages_node, int subset_words)
{
	struct fm_cascade *c = l->c;
	size_t cap_trees = 0, cap_nodes = 0, cap_leaves = 0;
	int si = 0;

	c->n_stages = cascade_xml_count_children(l->x, stages_node);
	if (c->n_stages == 0)
		return bad(l, "no stages");
	c->stages = calloc(c->n_stages, sizeof *c->stages);
	if (c->stages == NULL)
		return fm_err_set(l->err, FM_ENOMEM, "out of memory reading cascade");
	c->max_nodes_per_tree = 0;

	for (int s = l->x->nodes[stages_node].first_child; s >= 0; s = l->x->nodes[s].next, si++) {
		struct cascade_stage *st = &c->stages[si];
		double thr;
		int weak = cascade_xml_child(l->x, s, "weakClassifiers");

		if (cascade_xml_number(l->x, cascade_xml_child(l->x, s, "stageThreshold"), &thr) ==
		    -1)
			return bad(l, "missing <stageThreshold> in stage %ld", (long)si);
		/* OpenCV: (float)threshold - THRESHOLD_EPS, in float. */
		st->threshold = (float)thr - 1e-5f;
		st->first_tree = (uint32_t)c->n_trees;
		st->n_trees = (uint32_t)cascade_xml_count_children(l->x, weak);
		if (st->n_trees == 0)
			return bad(l, "no weak classifiers in stage %ld", (long)si);

		for (int w = l->x->nodes[weak].first_child; w >= 0; w = l->x->nodes[w].next) {
			int inode = cascade_xml_child(l->x, w, "internalNodes");
			int leaf = cascade_xml_child(l->x, w, "leafValues");
			struct cascade_xml_numbers it;
			struct cascade_tree *t;
			double v[3 + 8];
			int per_node = 3 + (subset_words ? subset_words : 1), k, r;

			if (inode < 0 || leaf < 0)
				return bad(l,
				           "weak classifier without nodes or leaves in stage %ld",
				           (long)si);
			c->trees = grow(c->trees, c->n_trees, &cap_trees, sizeof *c->trees);
			if (c->trees == NULL)
				return fm_err_set(l->err, FM_ENOMEM,
				                  "out of memory reading cascade");
			t = &c->trees[c->n_trees++];
			t->first_node = (uint32_t)c->n_nodes;
			t->first_leaf = (uint32_t)c->n_leaves;
			t->n_nodes = 0;

			cascade_xml_numbers_begin(l->x, inode, &it);
			for (;;) {
				for (k = 0; k < per_node; k++) {
					r = cascade_xml_numbers_next(&it, &v[k]);
					if (r != 1)
						break;
				}
				if (k == 0 && r == 0)
					break;
				if (k < per_node)
					return bad(l, "malformed <internalNodes> in stage %ld",
					           (long)si);
				c->nodes = grow(c->nodes, c->n_nodes, &cap_nodes, sizeof *c->nodes);
				if (c->nodes == NULL)
					return fm_err_set(l->err, FM_ENOMEM,
					                  "out of memory reading cascade");
				struct cascade_tree_node *n = &c->nodes[c->n_nodes++];
				memset(n, 0, sizeof *n);
				for (k = 0; k < 3; k++)
					if (v[k] != floor(v[k]) || fabs(v[k]) > 1e7)
						return bad(l, "non-integer node index in stage %ld",
						           (long)si);
				n->left = (int32_t)v[0];
				n->right = (int32_t)v[1];
				n->feature = (int32_t)v[2];
				if (subset_words) {
					for (k = 0; k < subset_words; k++) {
						if (v[3 + k] != floor(v[3 + k]) ||
						    v[3 + k] < INT32_MIN || v[3 + k] > UINT32_MAX)
							return bad(
							    l,
							    "invalid category subset in stage %ld",
							    (long)si);
						/* Stored as signed 32-bit words; keep the bits. */
						n->subset[k] = (uint32_t)(int64_t)v[3 + k];
					}
				} else {
					if (!isfinite(v[3]))
						return bad(l,
						           "non-finite node threshold in stage %ld",
						           (long)si);
					n->threshold = (float)v[3];
				}
				t->n_nodes++;
			}
			if (t->n_nodes == 0)
				return bad(l, "tree without nodes in stage %ld", (long)si);
			if ((int)t->n_nodes > c->max_nodes_per_tree)
				c->max_nodes_per_tree = (int)t->n_nodes;

			size_t n_leaves = 0;
			cascade_xml_numbers_begin(l->x, leaf, &it);
			while ((r = cascade_xml_numbers_next(&it, &v[0])) == 1) {
				if (!isfinite(v[0]))
					return bad(l, "non-finite leaf value in stage %ld",
					           (long)si);
				c->leaves =
				    grow(c->leaves, c->n_leaves, &cap_leaves, sizeof *c->leaves);
				if (c->leaves == NULL)
					return fm_err_set(l->err, FM_ENOMEM,
					                  "out of memory reading cascade");
				c->leaves[c->n_leaves++] = (float)v[0];
				n_leaves++;
			}
			if (r == -1 || n_leaves != t->n_nodes + 1)
				return bad(l, "leaf count does not match the nodes in stage %ld",
				           (long)si);

			/* Every branch must stay inside its own tree, and every path must end in a
			 * leaf: indexes only move forward, so a walk cannot loop. */
			for (uint32_t i = 0; i < t->n_nodes; i++) {
				const struct cascade_tree_node *n = &c->nodes[t->first_node + i];
				int32_t kids[2] = {n->left, n->right};

				for (k = 0; k < 2; k++) {
					if (kids[k] > 0 && ((uint32_t)kids[k] >= t->n_nodes ||
					                    (uint32_t)kids[k] <= i))
						return bad(l,
						           "tree branch out of range in stage %ld",
						           (long)si);
					if (kids[k] <= 0 && (uint32_t)(-kids[k]) > t->n_nodes)
						return bad(l, "tree leaf out of range in stage %ld",
						           (long)si);
				}
				if (n->feature < 0)
					return bad(l, "negative feature index in stage %ld",
					           (long)si);
			}
		}
	}
	return 0;
}

static int
read_haar_features(struct loader *l, int features_node)
{
	struct fm_cascade *c = l->c;
	size_t i = 0;

	c->haar = calloc(c->n_features, sizeof *c->haar);
	if (c->haar == NULL)
		return fm_err_set(l->err, FM_ENOMEM, "out of memory reading cascade");
	for (int f = l->x->nodes[features_node].first_child; f >= 0; f = l->x->nodes[f].next, i++) {
		struct cascade_haar_feature *hf = &c->haar[i];
		int rects = cascade_xml_child(l->x, f, "rects");
		int tilted = cascade_xml_child(l->x, f, "tilted");
		double t = 0;

		if (rects < 0)
			return bad(l, "no <rects> in feature %ld", (long)i);
		if (tilted >= 0 && cascade_xml_number(l->x, tilted, &t) == -1)
			return bad(l, "invalid <tilted> in feature %ld", (long)i);
		hf->tilted = t != 0;
		c->has_tilted |= hf->tilted;
		for (int r = l->x->nodes[rects].first_child; r >= 0; r = l->x->nodes[r].next) {
			struct cascade_xml_numbers it;
			double v[5], extra;

			if (hf->n_rects == 3)
				return bad(l, "more than 3 rectangles in feature %ld", (long)i);
			cascade_xml_numbers_begin(l->x, r, &it);
			for (int k = 0; k < 5; k++)
				if (cascade_xml_numbers_next(&it, &v[k]) != 1)
					return bad(l, "malformed rectangle in feature %ld",
					           (long)i);
			if (cascade_xml_numbers_next(&it, &extra) != 0)
				return bad(l, "malformed rectangle in feature %ld", (long)i);
			for (int k = 0; k < 4; k++)
				if (v[k] != floor(v[k]) || v[k] < 0 || v[k] > MAX_WINDOW_SIDE)
					return bad(l, "malformed rectangle in feature %ld",
					           (long)i);
			if (!isfinite(v[4]))
				return bad(l, "non-finite rectangle weight in feature %ld",
				           (long)i);
			struct cascade_haar_rect *hr = &hf->r[hf->n_rects++];
			hr->x = (int32_t)v[0];
			hr->y = (int32_t)v[1];
			hr->w = (int32_t)v[2];
			hr->h = (int32_t)v[3];
			hr->weight = (float)v[4];
		}
		if (hf->n_rects < 2)
			return bad(l, "fewer than 2 rectangles in feature %ld", (long)i);
		/* Every corner the feature reads must lie in the window's integral image. */
		for (int k = 0; k < hf->n_rects; k++) {
			const struct cascade_haar_rect *r = &hf->r[k];
			int ok;

			if (hf->tilted)
				ok = r->x - r->h >= 0 && r->x + r->w <= c->win_w &&
				     r->y + r->w + r->h <= c->win_h;
			else
				ok = r->x + r->w <= c->win_w && r->y + r->h <= c->win_h;
			if (!ok)
				return bad(l, "rectangle outside the window in feature %ld",
				           (long)i);
		}
	}
	return 0;
}

static int
read_lbp_features(struct loader *l, int features_node)
{
	struct fm_cascade *c = l->c;
	size_t i = 0;

	c->lbp = calloc(c->n_features, sizeof *c->lbp);
	if (c->lbp == NULL)
		return fm_err_set(l->err, FM_ENOMEM, "out of memory reading cascade");
	for (int f = l->x->nodes[features_node].first_child; f >= 0; f = l->x->nodes[f].next, i++) {
		int rect = cascade_xml_child(l->x, f, "rect");
		struct cascade_xml_numbers it;
		double v[4], extra;

		if (rect < 0)
			return bad(l, "no <rect> in feature %ld", (long)i);
		cascade_xml_numbers_begin(l->x, rect, &it);
		for (int k = 0; k < 4; k++)
			if (cascade_xml_numbers_next(&it, &v[k]) != 1 || v[k] != floor(v[k]) ||
			    v[k] < 0 || v[k] > MAX_WINDOW_SIDE)
				return bad(l, "malformed rectangle in feature %ld", (long)i);
		if (cascade_xml_numbers_next(&it, &extra) != 0)
			return bad(l, "malformed rectangle in feature %ld", (long)i);
		struct cascade_lbp_feature *lf = &c->lbp[i];
		lf->x = (int32_t)v[0];
		lf->y = (int32_t)v[1];
		lf->w = (int32_t)v[2];
		lf->h = (int32_t)v[3];
		if (lf->w < 1 || lf->h < 1 || lf->x + 3 * lf->w > c->win_w ||
		    lf->y + 3 * lf->h > c->win_h)
			return bad(l, "rectangle outside the window in feature %ld", (long)i);
	}
	return 0;
}

static int
read_cascade(struct loader *l)
{
	const struct cascade_xml *x = l->x;
	struct fm_cascade *c = l->c;
	int root = x->nodes[0].first_child;
	long w, h, max_cat = 0;

	if (!(x->nodes[0].name_len == 14 && memcmp(x->nodes[0].name, "opencv_storage", 14) == 0) ||
	    root < 0)
		return fm_err_set(l->err, FM_EFORMAT,
		                  "not an OpenCV cascade file (no <opencv_storage> root)");
	if (cascade_xml_attr_contains(x, root, "opencv-haar-classifier"))
		return fm_err_set(
		    l->err, FM_EFORMAT,
		    "old-format Haar cascade (opencv-haar-classifier) is not supported; "
		    "use a cascade written by OpenCV 3 or later");
	int stage_type = cascade_xml_child(x, root, "stageType");
	if (stage_type < 0)
		return fm_err_set(l->err, FM_EFORMAT,
		                  "not an OpenCV cascade file (no <stageType>)");
	if (!cascade_xml_text_equals(x, stage_type, "BOOST"))
		return fm_err_set(l->err, FM_EFORMAT, "unsupported stage type (only BOOST)");
	int feature_type = cascade_xml_child(x, root, "featureType");
	if (cascade_xml_text_equals(x, feature_type, "HAAR"))
		c->type = CASCADE_HAAR;
	else if (cascade_xml_text_equals(x, feature_type, "LBP"))
		c->type = CASCADE_LBP;
	else
		return fm_err_set(l->err, FM_EFORMAT,
		                  "unsupported feature type (only HAAR and LBP cascades)");
	if (read_int(l, root, "width", 3, MAX_WINDOW_SIDE, &w) == -1 ||
	    read_int(l, root, "height", 3, MAX_WINDOW_SIDE, &h) == -1)
		return -1;
	c->win_w = (int32_t)w;
	c->win_h = (int32_t)h;

	int params = cascade_xml_child(x, root, "featureParams");
	if (params >= 0 && cascade_xml_child(x, params, "maxCatCount") >= 0 &&
	    read_int(l, params, "maxCatCount", 0, 256, &max_cat) == -1)
		return -1;
	if (c->type == CASCADE_LBP && max_cat != 256)
		return fm_err_set(l->err, FM_EFORMAT, "invalid cascade: LBP needs maxCatCount 256");
	if (c->type == CASCADE_HAAR && max_cat != 0)
		return fm_err_set(l->err, FM_EFORMAT, "invalid cascade: Haar needs maxCatCount 0");

	int features = cascade_xml_child(x, root, "features");
	c->n_features = cascade_xml_count_children(x, features);
	if (c->n_features == 0)
		return fm_err_set(l->err, FM_EFORMAT, "invalid cascade: no <features>");
	if (read_stages(l, cascade_xml_child(x, root, "stages"), c->type == CASCADE_LBP ? 8 : 0) ==
	    -1)
		return -1;
	for (size_t i = 0; i < c->n_nodes; i++)
		if ((size_t)c->nodes[i].feature >= c->n_features)
			return bad(l, "feature index out of range (node %zu)", i);
	return c->type == CASCADE_HAAR ? read_haar_features(l, features)
	                               : read_lbp_features(l, features);
}

int
fm_cascade_decode(const char *xml, size_t n_bytes, struct fm_cascade **out, struct fm_err *err)
{
	struct cascade_xml x;
	struct fm_cascade *c;
	struct loader l;

	*out = NULL;
	if (cascade_xml_parse(xml, n_bytes, &x, err) == -1)
		return -1;
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		cascade_xml_free(&x);
		return fm_err_set(err, FM_ENOMEM, "out of memory reading cascade");
	}
	l = (struct loader){&x, c, err};
	if (read_cascade(&l) == -1) {
		cascade_xml_free(&x);
		fm_cascade_free(c);
		return -1;
	}
	cascade_xml_free(&x);
	*out = c;
	return 0;
}

int
fm_cascade_load(const char *path, struct fm_cascade **out, struct fm_err *err)
{
	unsigned char *buf;
	size_t n;
	int rc;

	*out = NULL;
	if (fm_read_file(path, MAX_CASCADE_BYTES, &buf, &n, err) == -1)
		return -1;
	rc = fm_cascade_decode((const char *)buf, n, out, err);
	free(buf);
	return rc;
}

void
fm_cascade_free(struct fm_cascade *c)
{
	if (c == NULL)
		return;
	free(c->stages);
	free(c->trees);
	free(c->nodes);
	free(c->leaves);
	free(c->haar);
	free(c->lbp);
	free(c);
}

const char *
fm_cascade_feature_type(const struct fm_cascade *c)
{
	return c->type == CASCADE_HAAR ? "HAAR" : "LBP";
}

void
fm_cascade_window(const struct fm_cascade *c, uint32_t *width, uint32_t *height)
{
	*width = (uint32_t)c->win_w;
	*height = (uint32_t)c->win_h;
}
