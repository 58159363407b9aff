/*
 * lib/cascade_int.h: private to the cascade module: the XML reader and the loaded
 * cascade's layout, shared by cascade_load.c and cascade.c. cmd/ never includes it.
 */
#ifndef FM_CASCADE_INT_H
#define FM_CASCADE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "cascade.h"

/* --- the XML subset reader (cascade_xml.c) -------------------------------------------- */

struct cascade_xml_node {
	const char *name, *attrs, *text; /* spans into the caller's buffer */
	size_t name_len, attrs_len, text_len;
	int parent, first_child, last_child, next; /* indexes into xml.nodes, -1 for none */
};

struct cascade_xml {
	const char *buf;
	struct cascade_xml_node *nodes; /* nodes[0] is the root element */
	size_t n, cap;
};

struct cascade_xml_numbers {
	const char *s, *end;
};

int cascade_xml_parse(const char *buf, size_t n_bytes, struct cascade_xml *x, struct fm_err *err);
void cascade_xml_free(struct cascade_xml *x);
/* First child named name, or -1 (also for node -1). */
int cascade_xml_child(const struct cascade_xml *x, int node, const char *name);
size_t cascade_xml_count_children(const struct cascade_xml *x, int node);
int cascade_xml_text_equals(const struct cascade_xml *x, int node, const char *s);
int cascade_xml_attr_contains(const struct cascade_xml *x, int node, const char *s);
/* A leaf holding exactly one number: 0, or -1. */
int cascade_xml_number(const struct cascade_xml *x, int node, double *out);
void cascade_xml_numbers_begin(const struct cascade_xml *x, int node,
                               struct cascade_xml_numbers *it);
int cascade_xml_numbers_next(struct cascade_xml_numbers *it, double *out);

/* --- a loaded cascade ------------------------------------------------------------------ */

enum cascade_feature { CASCADE_HAAR, CASCADE_LBP };

struct cascade_haar_rect {
	int32_t x, y, w, h;
	float weight;
};

struct cascade_haar_feature {
	struct cascade_haar_rect r[3];
	int n_rects; /* 2 or 3 */
	int tilted;
};

struct cascade_lbp_feature {
	int32_t x, y, w, h; /* one cell of the 3x3 grid */
};

/* A split of a weak tree, as OpenCV's DTreeNode: left/right > 0 index a node of the same
 * tree, <= 0 index leaf -left / -right. */
struct cascade_tree_node {
	int32_t feature;
	float threshold; /* Haar: feature value < threshold goes left */
	int32_t left, right;
	uint32_t subset[8]; /* LBP: bit c set means code c goes left */
};

struct cascade_tree {
	uint32_t first_node, n_nodes; /* into cascade.nodes */
	uint32_t first_leaf;          /* into cascade.leaves; n_nodes + 1 leaves */
};

struct cascade_stage {
	uint32_t first_tree, n_trees;
	float threshold; /* already lowered by OpenCV's THRESHOLD_EPS */
};

struct fm_cascade {
	enum cascade_feature type;
	int32_t win_w, win_h;
	int max_nodes_per_tree; /* 1: every tree is a stump */
	int has_tilted;
	struct cascade_stage *stages;
	size_t n_stages;
	struct cascade_tree *trees;
	size_t n_trees;
	struct cascade_tree_node *nodes;
	size_t n_nodes;
	float *leaves;
	size_t n_leaves;
	struct cascade_haar_feature *haar;
	struct cascade_lbp_feature *lbp;
	size_t n_features;
};

/* --- detection internals exposed for the unit tests (cascade.c) ------------------------ */

/*
 * OpenCV's groupRectangles(raw, min_neighbors, 0.2), as fm_cascade_detect groups its raw
 * windows: the classes of similar boxes, their mean boxes with more than min_neighbors
 * members, less those inside a bigger box with more support, sorted as fm_cascade_detect's
 * output; min_neighbors <= 0 returns raw as it is. About n log n for the windows of a scan,
 * whatever their layout. *out is the caller's to free (NULL when *n_out is 0); -1 when out of
 * memory.
 */
int cascade_group(const struct fm_box *raw, size_t n, int min_neighbors, struct fm_box **out,
                  size_t *n_out);
/* The same, adding to *work the grid cells it looks up and the boxes it visits there (the
 * bulk of its work, for tests/fuzz/fuzz_group.c to bound per window). */
int cascade_group_counted(const struct fm_box *raw, size_t n, int min_neighbors,
                          struct fm_box **out, size_t *n_out, uint64_t *work);

/*
 * Whether d keeps to the portable scan (nonzero) rather than the AVX2 one that an all-stump
 * LBP cascade gets on a CPU that has AVX2; both find the same windows, which the unit tests
 * check by running both.
 */
void cascade_detector_portable(struct fm_detector *d, int portable);

/*
 * OpenCV's tilted integral of img (w x h) into a (w+1) x (h+1) table of row stride `stride`:
 * T(X, Y) = sum of img(x, y) over y < Y and |x - X + 1| <= Y - y - 1. scratch holds
 * cascade_tilted_scratch(w, h) ints.
 */
size_t cascade_tilted_scratch(int32_t w, int32_t h);
void cascade_tilted_integral(const uint8_t *img, int32_t w, int32_t h, size_t stride,
                             uint32_t *tilted, int32_t *scratch);

#endif
