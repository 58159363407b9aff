/*
 * tests/fuzz/fuzz_group.c: the time of grouping a scan's raw windows (lib/cascade
 * cascade_group), counted in work rather than measured: the bytes choose an in-limit image
 * (up to 1023 x 16023 pixels, either way), a pyramid's scale factor and which of the scan's
 * windows hit, as a cascade on some image could make them hit (each level's windows on its
 * scan grid, each at most once, at most 20,000 in all); the target aborts when the grouping
 * looks up cells and visits boxes more than a bound times per window searched. A column of
 * one face repeated down a strip, which made the old grouping quadratic, is a run of hits
 * down one x.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cascade.h"
#include "cascade_int.h"

#define WIN 24 /* the default cascade's window, pixels */
/* Fewer than fer-detect's --max-windows default, so that a run takes seconds under the
 * sanitizers; a quadratic grouping of this many windows would still cost some 10,000 per
 * window. */
#define MAX_WINDOWS ((size_t)20000)
#define MAX_LEVELS 512
/*
 * Work per window a scan of the image searches (each level's grid positions), which is a
 * bound per pixel: a raw window looks at the grid cells around it on each level of the grid
 * (each level a factor of two of sizes), and a cell holds a few positions of each pyramid
 * level in it. The most measured is about 1,050, with every window of a 124-pixel square a
 * hit at factor 1.06; a quadratic grouping of windows down one column of a strip 24 pixels
 * wide, where every window searched is in the column, costs half their number each.
 */
#define WORK_PER_SEARCHED 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct level {
	double scale;
	int32_t step, nx, ny, box;
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t p = *(const uint64_t *)a, q = *(const uint64_t *)b;

	return p < q ? -1 : p > q;
}

/* OpenCV's rounding, as lib/cascade.c's round_d. */
static int32_t
round_near(double v)
{
	return (int32_t)lrint(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct level lv[MAX_LEVELS];
	uint64_t *keys, work = 0, searched = 0;
	struct fm_box *raw, *out = NULL;
	size_t n_lv = 0, n_keys = 0, n_raw = 0, n_out;

	if (size < 6)
		return 0;
	/* 1.05 to 2.0: past 2 a pyramid has few levels, nothing new; closer to 1 (--scale goes
	 * down to 1.001) a window meets its similar windows on more levels, and a run under
	 * the sanitizers takes too long. */
	double factor = 1.05 + 0.005 * (data[0] % 191);
	/* Up to 1000 by 16000 pixels either way: a strip of faces down the long side. */
	int32_t w = WIN + (data[1] | data[2] << 8) % 1000,
	        h = WIN + (data[3] | (data[4] & 0x3F) << 8) % 16000;
	int min_neighbors = 1 + data[5] % 4;

	if (data[4] & 0x80) {
		int32_t t = w;

		w = h;
		h = t;
	}

	/* The pyramid as fm_cascade_detect builds it. */
	for (double f = 1; n_lv < MAX_LEVELS; f *= factor) {
		int32_t ww = round_near(WIN * f), lw = round_near(w / f), lh = round_near(h / f);

		if (ww > w || ww > h)
			break;
		if (lw < WIN || lh < WIN)
			continue;
		struct level *l = &lv[n_lv++];
		l->scale = (float)f;
		l->step = l->scale >= 2 ? 1 : 2;
		l->nx = (lw + 1 - WIN + l->step - 1) / l->step;
		l->ny = (lh + 1 - WIN + l->step - 1) / l->step;
		l->box = round_near(WIN * l->scale);
		searched += (uint64_t)l->nx * (uint64_t)l->ny;
	}
	if (n_lv == 0 || (keys = malloc(MAX_WINDOWS * sizeof *keys)) == NULL)
		return 0;
	/* Runs of hits of 6 bytes: level, first position (3 bytes), length (15 bits) and
	 * whether the run goes down a column or along a row; length 0 is the whole level, as
	 * a cascade that takes everything for a face would give. */
	for (size_t i = 6; i + 6 <= size && n_keys < MAX_WINDOWS; i += 6) {
		const struct level *l = &lv[data[i] % n_lv];
		uint64_t n_pos = (uint64_t)l->nx * (uint64_t)l->ny;
		uint64_t at =
		    (data[i + 1] | data[i + 2] << 8 | (uint64_t)data[i + 3] << 16) % n_pos;
		uint64_t run = (data[i + 4] | data[i + 5] << 8) >> 1;
		uint64_t along = data[i + 4] & 1 ? (uint64_t)l->nx : 1;

		if (run == 0)
			run = n_pos;

		for (uint64_t k = 0; k < run && n_keys < MAX_WINDOWS; k++)
			keys[n_keys++] = (uint64_t)(l - lv) << 40 | (at + k * along) % n_pos;
	}
	qsort(keys, n_keys, sizeof *keys, cmp_u64);
	raw = malloc((n_keys > 0 ? n_keys : 1) * sizeof *raw);
	for (size_t i = 0; raw != NULL && i < n_keys; i++) {
		const struct level *l = &lv[keys[i] >> 40];
		uint64_t pos = keys[i] & (((uint64_t)1 << 40) - 1);
		int32_t x = (int32_t)(pos % (uint64_t)l->nx) * l->step,
		        y = (int32_t)(pos / (uint64_t)l->nx) * l->step;

		if (i > 0 && keys[i] == keys[i - 1])
			continue;
		raw[n_raw++] = (struct fm_box){round_near((float)x * l->scale),
		                               round_near((float)y * l->scale), l->box, l->box, 0};
	}
	if (raw != NULL &&
	    cascade_group_counted(raw, n_raw, min_neighbors, &out, &n_out, &work) == 0) {
		if (work > WORK_PER_SEARCHED * searched + 1000) {
			fprintf(stderr,
			        "fuzz_group: %zu windows of %llu searched (%dx%d, factor %.2f) "
			        "cost %llu steps of work, over %d per window searched\n",
			        n_raw, (unsigned long long)searched, w, h, factor,
			        (unsigned long long)work, WORK_PER_SEARCHED);
			abort();
		}
		free(out);
	}
	free(raw);
	free(keys);
	return 0;
}
