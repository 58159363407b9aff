/*
 * lib/facedet_aug.c: training crops for the detector. A crop is one tile, or a mosaic of
 * tiles (the caller's choice, as in YOLOv4's mosaics), each a photo seen through a random
 * similarity that puts a chosen face at a random side and place, so that the faces of a
 * few thousand photos appear at every size the network answers for, tilted, mirrored and
 * next to others; then photometric changes over the whole crop. See facedet.h.
 */
#include "facedet.h"

#include <math.h>
#include <string.h>

#define MAX_SUPERSAMPLE 4
#define PI 3.14159265358979323846

/* Bilinear sample at (x, y), pixel centres at integer + 0.5, edges repeated. */
static float
sample(const struct fm_gray *g, float x, float y)
{
	float fx = x - 0.5f, fy = y - 0.5f;
	float x0f = floorf(fx), y0f = floorf(fy), ax = fx - x0f, ay = fy - y0f;
	long x0 = (long)x0f, y0 = (long)y0f, x1 = x0 + 1, y1 = y0 + 1;
	long wmax = (long)g->width - 1, hmax = (long)g->height - 1;

	x0 = x0 < 0 ? 0 : x0 > wmax ? wmax : x0;
	x1 = x1 < 0 ? 0 : x1 > wmax ? wmax : x1;
	y0 = y0 < 0 ? 0 : y0 > hmax ? hmax : y0;
	y1 = y1 < 0 ? 0 : y1 > hmax ? hmax : y1;
	const uint8_t *r0 = g->pixels + (size_t)y0 * g->width,
	              *r1 = g->pixels + (size_t)y1 * g->width;
	float top = r0[x0] + ax * (float)(r0[x1] - r0[x0]);
	float bot = r1[x0] + ax * (float)(r1[x1] - r1[x0]);

	return top + ay * (bot - top);
}

static double
uniform(struct fm_rng *rng, double lo, double hi)
{
	return lo + (hi - lo) * fm_rng_uniform(rng);
}

void
fm_facedet_render(const struct fm_gray *photo, const struct fm_facedet_face *faces, size_t n_faces,
                  const struct fm_facedet_aug *a, struct fm_rng *rng, uint8_t *dst, uint32_t dst_w,
                  uint32_t tile_x, uint32_t tile_y, uint32_t tile_w, uint32_t tile_h,
                  struct fm_facedet_face *out, size_t max_out, size_t *n_out)
{
	size_t n_usable = 0, pick = 0;
	double s, theta, fx, cx_src, cy_src, cx_tile, cy_tile;

	for (size_t k = 0; k < n_faces; k++)
		n_usable += !faces[k].ignore && faces[k].w > 0 && faces[k].h > 0;
	/* Every draw is made whatever the branch, so that one choice does not shift the
	 * stream of the others. */
	double u_background = fm_rng_uniform(rng), u_face = fm_rng_uniform(rng);
	double u_side = fm_rng_uniform(rng), u_x = fm_rng_uniform(rng), u_y = fm_rng_uniform(rng);
	double u_frac = fm_rng_uniform(rng), u_octave = fm_rng_uniform(rng);

	theta = uniform(rng, -a->max_rotation_deg, a->max_rotation_deg) * PI / 180;
	fx = fm_rng_uniform(rng) < a->flip ? -1 : 1;
	if (n_usable > 0 && u_background >= a->background) {
		size_t want = (size_t)(u_face * (double)n_usable);

		for (size_t k = 0; k < n_faces; k++)
			if (!faces[k].ignore && faces[k].w > 0 && faces[k].h > 0 && want-- == 0) {
				pick = k;
				break;
			}
		const struct fm_facedet_face *f = &faces[pick];
		double side_f = sqrt((double)f->w * f->h);
		int in_octave = u_octave < a->octave_share;
		double lo = in_octave ? a->octave_min_side : a->min_side;
		double hi = in_octave ? a->octave_max_side : a->max_side;
		double side_t = exp(log(lo) + u_side * (log(hi) - log(lo)));

		s = side_t / side_f;
		cx_src = f->x + f->w / 2.0;
		cy_src = f->y + f->h / 2.0;
		/* The whole face in the tile when it fits, else its centre near the middle. */
		cx_tile = side_t < tile_w ? side_t / 2 + u_x * (tile_w - side_t)
		                          : tile_w * (0.25 + 0.5 * u_x);
		cy_tile = side_t < tile_h ? side_t / 2 + u_y * (tile_h - side_t)
		                          : tile_h * (0.25 + 0.5 * u_y);
	} else {
		/* A window over 20% to 100% of the photo's shorter side. */
		double short_side = photo->width < photo->height ? photo->width : photo->height;
		double tile_short = tile_w < tile_h ? tile_w : tile_h;

		s = tile_short / (short_side * (0.2 + 0.8 * u_frac));
		cx_src = u_x * photo->width;
		cy_src = u_y * photo->height;
		cx_tile = tile_w / 2.0;
		cy_tile = tile_h / 2.0;
	}

	/* Tile point q to photo point p: p = c_src + (1/s) F R^T (q - c_tile). */
	const double c = cos(theta), sn = sin(theta);
	int k = (int)ceil(1 / s);

	k = k < 1 ? 1 : k > MAX_SUPERSAMPLE ? MAX_SUPERSAMPLE : k;
	for (uint32_t v = 0; v < tile_h; v++) {
		uint8_t *row = dst + (size_t)(tile_y + v) * dst_w + tile_x;

		for (uint32_t u = 0; u < tile_w; u++) {
			float sum = 0;

			for (int sy = 0; sy < k; sy++)
				for (int sx = 0; sx < k; sx++) {
					double qx = u + (sx + 0.5) / k - cx_tile;
					double qy = v + (sy + 0.5) / k - cy_tile;
					double rx = c * qx + sn * qy, ry = -sn * qx + c * qy;

					sum += sample(photo, (float)(cx_src + fx * rx / s),
					              (float)(cy_src + ry / s));
				}
			float val = sum / (float)(k * k) + 0.5f;

			row[u] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
		}
	}

	/* Photo point p to tile point q: q = c_tile + s R F (p - c_src). */
	*n_out = 0;
	for (size_t i = 0; i < n_faces; i++) {
		const struct fm_facedet_face *f = &faces[i];
		struct fm_facedet_face g = {0};
		double pts[1 + FM_FACEDET_N_LANDMARKS][2], q[1 + FM_FACEDET_N_LANDMARKS][2];

		if (!(f->w > 0 && f->h > 0))
			continue;
		pts[0][0] = f->x + f->w / 2.0;
		pts[0][1] = f->y + f->h / 2.0;
		for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
			pts[1 + m][0] = f->landmarks[m][0];
			pts[1 + m][1] = f->landmarks[m][1];
		}
		for (int m = 0; m < 1 + FM_FACEDET_N_LANDMARKS; m++) {
			double dx = fx * (pts[m][0] - cx_src), dy = pts[m][1] - cy_src;

			q[m][0] = cx_tile + s * (c * dx - sn * dy);
			q[m][1] = cy_tile + s * (sn * dx + c * dy);
		}
		g.w = (float)(f->w * s);
		g.h = (float)(f->h * s);
		g.x = (float)(q[0][0] - g.w / 2);
		g.y = (float)(q[0][1] - g.h / 2);
		if (!(g.x < tile_w && g.x + g.w > 0 && g.y < tile_h && g.y + g.h > 0))
			continue;
		if (*n_out == max_out)
			break;
		g.has_landmarks = f->has_landmarks;
		for (int m = 0; m < FM_FACEDET_N_LANDMARKS; m++) {
			/* A mirror image makes the left eye the right one. */
			int from = fx < 0 && m < 2 ? 1 - m : m;

			g.landmarks[m][0] = (float)(q[1 + from][0] + tile_x);
			g.landmarks[m][1] = (float)(q[1 + from][1] + tile_y);
		}
		double vis_w = fmin(g.x + g.w, tile_w) - fmax(g.x, 0);
		double vis_h = fmin(g.y + g.h, tile_h) - fmax(g.y, 0);

		g.ignore = f->ignore || vis_w * vis_h < 0.75 * g.w * g.h;
		g.x += (float)tile_x;
		g.y += (float)tile_y;
		out[(*n_out)++] = g;
	}
}

/* A separable Gaussian blur of one line of n values, stepping by `step`, through tmp. */
static void
blur_line(uint8_t *p, size_t n, size_t step, const float *kernel, int radius, float *tmp)
{
	for (size_t i = 0; i < n; i++)
		tmp[i] = p[i * step];
	for (size_t i = 0; i < n; i++) {
		float sum = 0;

		for (int r = -radius; r <= radius; r++) {
			long j = (long)i + r;

			j = j < 0 ? 0 : j >= (long)n ? (long)n - 1 : j;
			sum += kernel[r + radius] * tmp[j];
		}
		p[i * step] = (uint8_t)(sum + 0.5f);
	}
}

void
fm_facedet_photometric(const struct fm_facedet_aug *a, struct fm_rng *rng, uint8_t *pixels,
                       uint32_t w, uint32_t h)
{
	double bright = uniform(rng, -a->brightness, a->brightness);
	double contrast = exp(uniform(rng, -a->contrast, a->contrast));
	double gamma = exp(uniform(rng, -a->gamma, a->gamma));
	double u_blur = fm_rng_uniform(rng), sigma = uniform(rng, 0.5, 1.5);
	double noise = uniform(rng, 0, a->noise);
	uint8_t lut[256];
	const size_t n = (size_t)w * h;

	for (int v = 0; v < 256; v++) {
		double x = 255 * pow(v / 255.0, gamma);

		x = (x - 128) * contrast + 128 + bright;
		lut[v] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x + 0.5);
	}
	for (size_t i = 0; i < n; i++)
		pixels[i] = lut[pixels[i]];
	if (u_blur < a->blur && w <= FM_CNN_MAX_SIDE && h <= FM_CNN_MAX_SIDE) {
		float kernel[8], tmp[FM_CNN_MAX_SIDE], sum = 0;
		int radius = (int)ceil(2 * sigma);

		for (int r = -radius; r <= radius; r++)
			sum += kernel[r + radius] = (float)exp(-0.5 * r * r / (sigma * sigma));
		for (int r = 0; r <= 2 * radius; r++)
			kernel[r] /= sum;
		for (uint32_t y = 0; y < h; y++)
			blur_line(pixels + (size_t)y * w, w, 1, kernel, radius, tmp);
		for (uint32_t x = 0; x < w; x++)
			blur_line(pixels + x, h, w, kernel, radius, tmp);
	}
	if (noise > 0)
		for (size_t i = 0; i < n; i++) {
			double x = pixels[i] + noise * fm_rng_normal(rng);

			pixels[i] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x + 0.5);
		}
}
