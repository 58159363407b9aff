/*
 * lib/rank_taste.c: the listener's taste, learnt from the feedback log, and its part in a
 * search. Each judged song keeps its decayed weight per expression it was judged in; for the
 * mood ranked, a song's weight is
 *
 *   v_j = sum_e w_j[e] (other_moods + (1 - other_moods) mood[e])
 *
 * so that a judgement counts fully in its own mood and in part in every other (someone who
 * skips heavy metal when sad mostly skips it when happy too). The taste of a song i is
 *
 *   taste_i = similar * sum_j v_j k(z_i, z_j) / W + (1 - similar) cos(z_i, C+ - C-)
 *
 * with W = sum_j |v_j|, k(x, y) = exp(-|x - y|^2 / (2 width^2 D)), and C+, C- the
 * v-weighted centroids of the liked and the disliked songs (the library's mean,
 * 0, for a side without songs). The first part is item-to-item similarity (a liked song and
 * its near neighbours rise, a skipped one and its neighbours fall); the second is the plain
 * linear learner, the difference of the centroids (a Rocchio direction without the profile),
 * which carries a consistent taste to songs far from any judged one. Both live in the taste's
 * space of D dimensions: the nine descriptors, and the 13 MFCC means (the timbre, which tells
 * an orchestra from a synthesiser where tempo and loudness cannot) when the library has them.
 * The score is then
 *
 *   score_i = (1 - lambda) cosine_i + lambda taste_i,
 *   lambda = max_share W^2 / (W^2 + evidence^2)
 *
 * so the shipped profile is a prior that the evidence overrides: with the shipped evidence
 * of 2, one like (W = 1) takes a sixth of the say, ten likes and ten skips (W = 15) 84 in a
 * hundred. The square makes a few judgements a nudge and many a verdict: a linear W / (W +
 * evidence) that lets twenty judgements lead lets one like move half the list. max_share
 * (0.85) keeps the mood in the ranking however much is judged: without it twenty
 * judgements took 98% of the say and a sad and a happy query ranked the songs alike
 * (Spearman 0.99 on the game soundtracks of scripts/bench/taste.sh); with it their top ten
 * share two songs, and the held-out AUC of the taste stays above 0.7 in both moods. With no
 * judgement W is 0 and the search is the plain one, untouched.
 *
 * Departure from a kernel regression: the similarity part is divided by W, not by the sum of
 * the kernels, so that a song far from every judged one gets little of it rather than the
 * verdict of the one nearest, however far.
 */
#include "rank_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"

#define TASTE_MAX_DIMS (FM_RANK_DIMS + RANK_TIMBRE_DIMS)

/* A disliked song this similar (its kernel) to a hit is named as the reason it was lowered. */
#define TASTE_NEAR 0.3

struct fm_rank_taste {
	const struct fm_rank_library *lib;
	size_t n_events, n, cap;
	size_t *song;               /* n judged songs */
	double (*w)[FM_N_EMOTIONS]; /* their decayed weights per expression */
	uint32_t *slot;             /* per library song: its judged slot + 1, or 0 */
};

int
fm_rank_taste_new(const struct fm_rank_library *lib, struct fm_rank_taste **out, struct fm_err *err)
{
	struct fm_rank_taste *t = calloc(1, sizeof *t);

	*out = NULL;
	if (t == NULL ||
	    (t->slot = calloc(lib->n_songs != 0 ? lib->n_songs : 1, sizeof *t->slot)) == NULL) {
		free(t);
		return fm_err_set(err, FM_ENOMEM, "out of memory for the taste");
	}
	t->lib = lib;
	*out = t;
	return 0;
}

void
fm_rank_taste_free(struct fm_rank_taste *t)
{
	if (t == NULL)
		return;
	free(t->song);
	free(t->w);
	free(t->slot);
	free(t);
}

int
fm_rank_taste_add(struct fm_rank_taste *t, size_t i, const struct fm_rank_event *ev, double now_sec,
                  const struct fm_rank_feedback_opts *o, struct fm_err *err)
{
	double age_days = (now_sec - ev->t_sec) / 86400;
	double w = ev->weight * fm_mood_decay(age_days, o->half_life_days);
	size_t k;

	if (i >= t->lib->n_songs)
		return fm_err_set(err, FM_EINVAL, "song %zu is not in the library", i);
	t->n_events++;
	if (w == 0 || !isfinite(w))
		return 0;
	if (t->slot[i] == 0) {
		if (t->n == t->cap) {
			size_t cap = t->cap != 0 ? t->cap * 2 : 64;
			void *p;
			if (cap > FM_RANK_MAX_SONGS)
				return fm_err_set(err, FM_ELIMIT, "more than %zu songs judged",
				                  FM_RANK_MAX_SONGS);
			if ((p = realloc(t->song, cap * sizeof *t->song)) == NULL)
				return fm_err_set(err, FM_ENOMEM, "out of memory for the taste");
			t->song = p;
			if ((p = realloc(t->w, cap * sizeof *t->w)) == NULL)
				return fm_err_set(err, FM_ENOMEM, "out of memory for the taste");
			t->w = p;
			t->cap = cap;
		}
		t->song[t->n] = i;
		memset(t->w[t->n], 0, sizeof t->w[t->n]);
		t->slot[i] = (uint32_t)++t->n;
	}
	k = t->slot[i] - 1;
	t->w[k][ev->emotion] += w;
	return 0;
}

size_t
fm_rank_taste_events(const struct fm_rank_taste *t)
{
	return t->n_events;
}

size_t
fm_rank_taste_songs(const struct fm_rank_taste *t)
{
	return t->n;
}

void
rank_taste_eval_free(struct rank_taste_eval *ev)
{
	free(ev->song);
	free(ev->v);
	free(ev->x);
	free(ev->score);
	*ev = (struct rank_taste_eval){0};
}

struct weighed {
	double v;
	size_t k;
};

/* qsort by |v| descending, then by slot: the same order on every platform. */
static int
by_weight(const void *a, const void *b)
{
	const struct weighed *x = a, *y = b;
	double p = fabs(x->v), q = fabs(y->v);

	return p > q ? -1 : p < q ? 1 : (x->k > y->k) - (x->k < y->k);
}

/* The space of the taste: the descriptors, and the timbre when the library has it. */
static int
taste_dims(const struct fm_rank_library *lib)
{
	return FM_RANK_DIMS + (lib->timbre != NULL && lib->has_timbre ? RANK_TIMBRE_DIMS : 0);
}

/* Song i's vector in that space, into x[taste_dims]. */
static void
taste_vector(const struct fm_rank_library *lib, size_t i, double x[TASTE_MAX_DIMS])
{
	for (int d = 0; d < FM_RANK_DIMS; d++)
		x[d] = lib->z[i * FM_RANK_DIMS + d];
	if (lib->timbre != NULL && lib->has_timbre)
		for (int d = 0; d < RANK_TIMBRE_DIMS; d++)
			x[FM_RANK_DIMS + d] = lib->timbre[i * RANK_TIMBRE_DIMS + d];
}

static double
kernel(const double *x, const double *y, int dims, double inv_2h2d)
{
	double d2 = 0;

	for (int d = 0; d < dims; d++)
		d2 += (x[d] - y[d]) * (x[d] - y[d]);
	return exp(-d2 * inv_2h2d);
}

int
rank_taste_eval(const struct fm_rank_taste *t, const struct fm_rank_feedback_opts *o,
                const double mood[FM_N_EMOTIONS], struct rank_taste_eval *ev, struct fm_err *err)
{
	const struct fm_rank_library *lib = t->lib;
	const int dims = taste_dims(lib);
	double cp[TASTE_MAX_DIMS] = {0}, cn[TASTE_MAX_DIMS] = {0}, dir[TASTE_MAX_DIMS];
	double x[TASTE_MAX_DIMS], wp = 0, wn = 0, W = 0, len = 0;
	double inv_2h2d = 1 / (2 * o->width * o->width * dims);
	size_t n = t->n < FM_RANK_TASTE_NEIGHBOURS ? t->n : FM_RANK_TASTE_NEIGHBOURS;
	struct weighed *v;

	ev->lambda = 0;
	ev->n = 0;
	if (t->n == 0)
		return 0;
	if (ev->cap < t->n || ev->n_songs != lib->n_songs) {
		rank_taste_eval_free(ev);
		ev->song = malloc(t->n * sizeof *ev->song);
		ev->v = malloc(t->n * sizeof *ev->v);
		ev->x = malloc(n * TASTE_MAX_DIMS * sizeof *ev->x);
		ev->score = malloc(lib->n_songs * sizeof *ev->score);
		if (ev->song == NULL || ev->v == NULL || ev->x == NULL || ev->score == NULL) {
			rank_taste_eval_free(ev);
			return fm_err_set(err, FM_ENOMEM, "out of memory for the taste");
		}
		ev->cap = t->n;
		ev->n_songs = lib->n_songs;
	}
	if ((v = malloc(t->n * sizeof *v)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the taste");
	for (size_t k = 0; k < t->n; k++) {
		double w = 0;
		for (int e = 0; e < FM_N_EMOTIONS; e++)
			w += t->w[k][e] * (o->other_moods + (1 - o->other_moods) * mood[e]);
		v[k] = (struct weighed){w, k};
		W += fabs(w);
		taste_vector(lib, t->song[k], x);
		for (int d = 0; d < dims; d++) {
			if (w > 0)
				cp[d] += w * x[d];
			else
				cn[d] -= w * x[d];
		}
		if (w > 0)
			wp += w;
		else
			wn -= w;
	}
	if (!(W > 0) || !isfinite(W)) {
		free(v);
		return 0;
	}
	for (int d = 0; d < dims; d++) {
		dir[d] = (wp > 0 ? cp[d] / wp : 0) - (wn > 0 ? cn[d] / wn : 0);
		len += dir[d] * dir[d];
	}
	len = sqrt(len);
	/* The weightiest songs for this mood enter the similarity. */
	if (n < t->n)
		qsort(v, t->n, sizeof *v, by_weight);
	for (size_t k = 0; k < n; k++) {
		ev->song[k] = t->song[v[k].k];
		ev->v[k] = v[k].v;
		taste_vector(lib, ev->song[k], &ev->x[k * TASTE_MAX_DIMS]);
	}
	ev->n = n;
	ev->dims = dims;
	free(v);
	for (size_t i = 0; i < lib->n_songs; i++) {
		double sim = 0, lin = 0, ss = 0;

		taste_vector(lib, i, x);
		for (size_t k = 0; k < n; k++)
			if (ev->v[k] != 0)
				sim += ev->v[k] *
				       kernel(x, &ev->x[k * TASTE_MAX_DIMS], dims, inv_2h2d);
		for (int d = 0; d < dims; d++) {
			lin += x[d] * dir[d];
			ss += x[d] * x[d];
		}
		/* A song at the library's mean in every respect has no direction: 0. */
		lin = len > 0 && ss > 1e-12 ? lin / (sqrt(ss) * len) : 0;
		ev->score[i] = o->similar * sim / W + (1 - o->similar) * lin;
	}
	ev->lambda = o->max_share * W * W / (W * W + o->evidence * o->evidence);
	ev->inv_2h2d = inv_2h2d;
	return 0;
}

void
rank_taste_explain(const struct fm_rank_library *lib, const struct rank_taste_eval *ev, size_t i,
                   size_t *song, unsigned *how)
{
	double t = ev->score[i], best = -1, x[TASTE_MAX_DIMS];
	bool against = t < 0;

	*song = SIZE_MAX;
	*how = 0;
	if (ev->lambda == 0)
		return;
	taste_vector(lib, i, x);
	for (size_t k = 0; k < ev->n; k++)
		if (ev->song[k] == i && ev->v[k] != 0) {
			*song = i;
			*how = FM_RANK_TASTE_SELF |
			       (ev->v[k] > 0 ? FM_RANK_TASTE_LIKED : FM_RANK_TASTE_DISLIKED);
			return;
		}
	/*
	 * Raised: the nearest liked song (the direction of the liked songs raised it, or their
	 * neighbourhood), else the nearest disliked one it is unlike. Lowered: the nearest
	 * disliked song, when it is near enough to be the reason (a kernel of at least
	 * TASTE_NEAR); a song lowered only for lying away from the liked ones names none.
	 */
	for (int pass = 0; pass < 2 && *song == SIZE_MAX; pass++) {
		bool want_liked = (pass == 0) != against;
		if (against && pass == 1)
			break;
		for (size_t k = 0; k < ev->n; k++) {
			double kk;
			if (ev->v[k] == 0 || (ev->v[k] > 0) != want_liked)
				continue;
			kk = kernel(x, &ev->x[k * TASTE_MAX_DIMS], ev->dims, ev->inv_2h2d);
			if (kk > best && (!against || kk >= TASTE_NEAR)) {
				best = kk;
				*song = ev->song[k];
				*how = (want_liked ? FM_RANK_TASTE_LIKED : FM_RANK_TASTE_DISLIKED) |
				       (against ? FM_RANK_TASTE_AGAINST : 0);
			}
		}
	}
}
