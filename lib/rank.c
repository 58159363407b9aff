/*
 * lib/rank.c: the search: a mood and the profiles give a query vector, the strategy moves it,
 * and the songs closest to it by cosine similarity come out with a few words on why.
 *
 * Every query of a search is a combination c1 u1 + c2 u2 of two fixed unit vectors: u1 the
 * mood's direction, u2 the valence axis (uplift) or the arousal axis (calm). So each song's
 * cosines with u1 and u2 are computed once, and any step's score is two multiplications away:
 * uplift's song-by-song steps and maximal marginal relevance cost O(songs) per result rather
 * than O(songs x descriptors). A constant query without MMR is a top-k selection by a heap.
 * The listener's taste, when there is one, is a fixed score per song for the whole search
 * (rank_taste.c), blended into each step's cosine; without it no score is touched.
 *
 * Uplift follows the iso principle of music therapy (Altshuler 1948; Heiderscheit and Madson
 * 2015): meet the listener's state, then lead it. The query walks from the mood towards the
 * valence axis, (1 - t) u1 + t u2: for the saddest mood the first song is chosen halfway
 * (t = 1/2: no longer the saddest song, but one with the mood's low energy and without its
 * minor key) and the last for positive valence alone (t = 1). Calm keeps the mood apart from
 * its arousal, which it takes below neutral. MMR is Carbonell and Goldstein (1998):
 * lambda * relevance - (1 - lambda) * the highest similarity to a song already chosen, with
 * two departures: a similarity below 0 counts as 0 (an opposite song is new, not better for
 * being opposite), and songs that do not suit the mood at all are chosen only when nothing
 * else is left.
 */
#include "rank_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The diversities that need each song's artist and album. */
#define GROUPS (FM_RANK_DIVERSE_ARTIST | FM_RANK_DIVERSE_ALBUM)

struct fm_rank_work {
	const struct fm_rank_library *lib;
	double *a, *b;    /* per song: cosine with u1, with u2; then a holds the scores */
	double *maxsim;   /* MMR: the highest similarity to a chosen song */
	uint8_t *out;     /* excluded, chosen, or ruled out by a group already chosen */
	size_t *heap;     /* top-k selection */
	uint64_t *chosen; /* the groups chosen so far: n_results x 2 */
	size_t chosen_cap;
	struct rank_taste_eval taste; /* the listener's taste for this search's mood */
};

static const char *const strategy_names[] = {"match", "uplift", "calm"};

const char *
fm_rank_strategy_name(enum fm_rank_strategy s)
{
	return (unsigned)s < 3 ? strategy_names[s] : NULL;
}

int
fm_rank_strategy_parse(const char *name, enum fm_rank_strategy *out, struct fm_err *err)
{
	for (int s = 0; s < 3; s++)
		if (strcmp(name, strategy_names[s]) == 0) {
			*out = (enum fm_rank_strategy)s;
			return 0;
		}
	return fm_err_set(err, FM_EINVAL, "unknown strategy \"%.40s\" (match, uplift, calm)", name);
}

int
fm_rank_diverse_parse(const char *s, unsigned *kinds, double *mmr_lambda, struct fm_err *err)
{
	unsigned got = 0;

	for (const char *k = s, *end; *k != '\0'; k = *end == ',' ? end + 1 : end) {
		size_t n = strcspn(k, ",");
		end = k + n;
		if (n == 0) /* "mmr,,artist": an empty kind is no kind */
			continue;
		if (n == 3 && strncmp(k, "mmr", 3) == 0)
			got |= FM_RANK_DIVERSE_MMR;
		else if (n == 6 && strncmp(k, "artist", 6) == 0)
			got |= FM_RANK_DIVERSE_ARTIST;
		else if (n == 5 && strncmp(k, "album", 5) == 0)
			got |= FM_RANK_DIVERSE_ALBUM;
		else if (n > 4 && strncmp(k, "mmr=", 4) == 0) {
			char num[32], *num_end;
			double v = NAN;
			/* Decimal only: strtod would also take blanks, hex, "inf" and "nan". */
			if (n - 4 < sizeof num && strspn(k + 4, "+-.0123456789eE") >= n - 4) {
				memcpy(num, k + 4, n - 4);
				num[n - 4] = '\0';
				v = strtod(num, &num_end);
				if (*num_end != '\0')
					v = NAN;
			}
			if (!(v >= 0 && v <= 1))
				return fm_err_set(err, FM_EINVAL,
				                  "mmr=%.*s: lambda is a number from 0 to 1",
				                  (int)(n - 4 < 40 ? n - 4 : 40), k + 4);
			got |= FM_RANK_DIVERSE_MMR;
			*mmr_lambda = v;
		} else
			return fm_err_set(err, FM_EINVAL,
			                  "unknown kind \"%.*s\" (mmr, artist, album)",
			                  (int)(n < 40 ? n : 40), k);
	}
	if (got == 0)
		return fm_err_set(err, FM_EINVAL, "no kind given (mmr, artist, album)");
	*kinds = got;
	return 0;
}

int
fm_rank_work_new(const struct fm_rank_library *lib, struct fm_rank_work **out, struct fm_err *err)
{
	struct fm_rank_work *w = calloc(1, sizeof *w);
	size_t n = lib->n_songs != 0 ? lib->n_songs : 1;

	*out = NULL;
	if (w == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a search");
	w->lib = lib;
	w->a = malloc(n * sizeof *w->a);
	w->b = malloc(n * sizeof *w->b);
	w->maxsim = malloc(n * sizeof *w->maxsim);
	w->out = malloc(n);
	w->heap = malloc(n * sizeof *w->heap);
	if (w->a == NULL || w->b == NULL || w->maxsim == NULL || w->out == NULL ||
	    w->heap == NULL) {
		fm_rank_work_free(w);
		return fm_err_set(err, FM_ENOMEM, "out of memory to search %zu songs", n);
	}
	*out = w;
	return 0;
}

void
fm_rank_work_free(struct fm_rank_work *w)
{
	if (w == NULL)
		return;
	free(w->a);
	free(w->b);
	free(w->maxsim);
	free(w->out);
	free(w->heap);
	free(w->chosen);
	rank_taste_eval_free(&w->taste);
	free(w);
}

/* v made unit into u; false when v is all zeros. */
static bool
unit(const double v[FM_RANK_DIMS], double u[FM_RANK_DIMS])
{
	double ss = 0;

	for (int d = 0; d < FM_RANK_DIMS; d++)
		ss += v[d] * v[d];
	if (!(ss > 1e-24) || !isfinite(ss)) {
		for (int d = 0; d < FM_RANK_DIMS; d++)
			u[d] = 0;
		return false;
	}
	for (int d = 0; d < FM_RANK_DIMS; d++)
		u[d] = v[d] / sqrt(ss);
	return true;
}

static double
dot(const double x[FM_RANK_DIMS], const double y[FM_RANK_DIMS])
{
	double s = 0;

	for (int d = 0; d < FM_RANK_DIMS; d++)
		s += x[d] * y[d];
	return s;
}

/* The plan of a search: the two directions and how each step combines them. */
struct plan {
	double u1[FM_RANK_DIMS], u2[FM_RANK_DIMS];
	double u12; /* u1 . u2 */
	bool uplift;
	double t_first, t_last; /* uplift: the share of u2 at the first and the last result */
	double c2;              /* calm: the constant weight of u2 (c1 is 1) */
	bool varies;            /* the query changes from step to step */
};

static int
make_plan(const struct fm_rank_profiles *p, const struct fm_rank_query *q, struct plan *pl,
          struct fm_err *err)
{
	double m[FM_RANK_DIMS] = {0}, u[FM_RANK_DIMS];

	for (int e = 0; e < FM_N_EMOTIONS; e++) {
		if (q->mood[e] == 0 || !unit(p->vec[e], u))
			continue;
		for (int d = 0; d < FM_RANK_DIMS; d++)
			m[d] += q->mood[e] * u[d];
	}
	*pl = (struct plan){.uplift = false};
	if (!unit(m, pl->u1))
		return fm_err_set(err, FM_EINVAL, "the profiles give this mood no direction");
	if (q->strategy == FM_RANK_UPLIFT && unit(p->axis_valence, pl->u2)) {
		/* How negative the mood is, 1 for the most negative expression alone. */
		double neg = 0, most = 0;
		for (int e = 0; e < FM_N_EMOTIONS; e++) {
			neg += q->mood[e] * fmax(0, -p->valence[e]);
			most = fmax(most, -p->valence[e]);
		}
		neg = most > 0 ? neg / most : 0;
		pl->uplift = true;
		pl->t_first = fmin(1, q->strength * neg * FM_RANK_UPLIFT_FIRST);
		pl->t_last = fmin(1, q->strength * neg * FM_RANK_UPLIFT_LAST);
		pl->varies = q->n_results > 1 && pl->t_first != pl->t_last;
	} else if (q->strategy == FM_RANK_CALM && unit(p->axis_arousal, pl->u2)) {
		/* The mood's arousal, if above neutral, goes, and the query goes below neutral
		 * by half the strength: always calmer than the mood itself. */
		pl->c2 = -(fmax(dot(pl->u1, pl->u2), 0) + q->strength / 2);
	}
	pl->u12 = dot(pl->u1, pl->u2);
	return 0;
}

/* The query at step k of n, c1 u1 + c2 u2, and its length. */
static void
step(const struct plan *pl, size_t k, size_t n, double *c1, double *c2, double *norm)
{
	double sq;

	*c1 = 1;
	*c2 = pl->c2;
	if (pl->uplift) {
		double t = pl->t_first;
		if (pl->varies && n > 1)
			t += (pl->t_last - pl->t_first) * (double)k / (double)(n - 1);
		*c1 = 1 - t;
		*c2 = t;
	}
	sq = *c1 * *c1 + *c2 * *c2 + 2 * *c1 * *c2 * pl->u12;
	/* A query that the move cancels exactly (the mood along the axis itself) keeps the
	 * mood. */
	if (!(sq > 1e-12)) {
		*c1 = 1;
		*c2 = 0;
		sq = 1;
	}
	*norm = sqrt(sq);
}

/* Whether song i is better than song j: a higher score, or the same and earlier. */
static inline bool
better(const double *s, size_t i, size_t j)
{
	return s[i] > s[j] || (s[i] == s[j] && i < j);
}

/* The min-heap of heap[0..n) under `better` (its root the worst kept): sift down from k. */
static void
sift_down(size_t *heap, size_t n, size_t k, const double *s)
{
	for (;;) {
		size_t c = 2 * k + 1;
		if (c >= n)
			return;
		if (c + 1 < n && better(s, heap[c], heap[c + 1]))
			c++;
		if (!better(s, heap[k], heap[c]))
			return;
		size_t t = heap[k];
		heap[k] = heap[c];
		heap[c] = t;
		k = c;
	}
}

/* The best k of the songs not out, best first, into w->heap[0..*n_top). */
static void
top_k(struct fm_rank_work *w, size_t k, size_t *n_top)
{
	const double *s = w->a;
	size_t *heap = w->heap, n = 0;

	for (size_t i = 0; i < w->lib->n_songs; i++) {
		if (w->out[i])
			continue;
		if (n < k) {
			/* Sift up: the new song climbs while it is worse than its parent. */
			size_t c = n++;
			heap[c] = i;
			while (c > 0 && better(s, heap[(c - 1) / 2], heap[c])) {
				size_t t = heap[c];
				heap[c] = heap[(c - 1) / 2];
				heap[(c - 1) / 2] = t;
				c = (c - 1) / 2;
			}
		} else if (better(s, i, heap[0])) {
			heap[0] = i;
			sift_down(heap, n, 0, s);
		}
	}
	/* Heapsort: the worst goes to the end each time, leaving the best first. */
	for (size_t m = n; m > 1; m--) {
		size_t t = heap[0];
		heap[0] = heap[m - 1];
		heap[m - 1] = t;
		sift_down(heap, m - 1, 0, s);
	}
	*n_top = n;
}

/* Whether song i's artist or album (as q->diverse asks) is among those chosen already. */
static bool
group_taken(const struct fm_rank_work *w, unsigned diverse, size_t i, size_t n_chosen)
{
	const uint64_t *g = &w->lib->groups[2 * i];

	for (size_t c = 0; c < n_chosen; c++) {
		if ((diverse & FM_RANK_DIVERSE_ARTIST) && g[0] != 0 && g[0] == w->chosen[2 * c])
			return true;
		if ((diverse & FM_RANK_DIVERSE_ALBUM) && g[1] != 0 && g[1] == w->chosen[2 * c + 1])
			return true;
	}
	return false;
}

/* Song i's score s for the mood blended with its taste, as rank_taste.c says. */
static inline double
blend(const struct fm_rank_work *w, size_t i, double s)
{
	double lambda = w->taste.lambda;

	return lambda > 0 ? (1 - lambda) * s + lambda * w->taste.score[i] : s;
}

/* Fill the hit's taste_song and taste_how. */
static void
explain_taste(const struct fm_rank_work *w, struct fm_rank_hit *h)
{
	h->taste_song = SIZE_MAX;
	h->taste_how = 0;
	if (w->taste.lambda > 0)
		rank_taste_explain(w->lib, &w->taste, h->song, &h->taste_song, &h->taste_how);
}

static const char *const words[FM_RANK_DIMS][2] = {
    /* [d][0] below the library's mean, [d][1] above it */
    {"slow tempo", "fast tempo"},
    {"minor key", "major key"},
    {"quiet", "loud"},
    {"even level", "wide dynamics"},
    {"dark timbre", "bright timbre"},
    {"soft highs", "crisp highs"},
    {"tonal", "noisy"},
    {"smooth", "gritty"},
    {"sparse", "busy rhythm"},
};

/*
 * The words for the descriptors that carried the score: those whose product with the query
 * is largest, positive, and whose value is at least half a standard deviation from the
 * library's mean, three at most, among the descriptors the query asks for (a tenth of its
 * length or more on that axis: a song's fast tempo is not named for a query that barely
 * leans that way, so that the words say what the mood asked for). The mode is named only when the
 * song's own mode agrees with the side of the mean it is on, so that a weakly minor song in a minor
 * library is not called major.
 */
static void
explain(const struct fm_rank_library *lib, size_t i, const double q[FM_RANK_DIMS], double score,
        char *why, size_t size)
{
	const float *z = &lib->z[i * FM_RANK_DIMS];
	double c[FM_RANK_DIMS];
	bool used[FM_RANK_DIMS] = {false};
	size_t len = 0;
	int n = 0;

	double asked = 0.1 * sqrt(dot(q, q));

	why[0] = '\0';
	for (int d = 0; d < FM_RANK_DIMS; d++)
		c[d] = fabs(q[d]) >= asked ? q[d] * z[d] : 0;
	while (n < 3) {
		int best = -1;
		for (int d = 0; d < FM_RANK_DIMS; d++) {
			if (used[d] || !(c[d] > 0) || fabs(z[d]) < 0.5)
				continue;
			if (d == FM_DIM_MODE) {
				double raw = lib->mean[d] + z[d] * lib->std[d];
				if (fabs(raw) < 0.1 || (raw > 0) != (z[d] > 0))
					continue;
			}
			if (best == -1 || c[d] > c[best])
				best = d;
		}
		if (best == -1)
			break;
		used[best] = true;
		int k = snprintf(why + len, size - len, "%s%s", n > 0 ? ", " : "",
		                 words[best][z[best] > 0]);
		if (k < 0 || (size_t)k >= size - len) {
			why[len] = '\0';
			break;
		}
		len += (size_t)k;
		n++;
	}
	if (n == 0)
		snprintf(why, size, "%s",
		         score > 0 ? "close to the mood overall"
		                   : "nothing in the library is closer");
}

/* Fill a hit for song i at a step whose query is c1 u1 + c2 u2 of length norm. */
static void
make_hit(const struct fm_rank_work *w, const struct plan *pl, size_t i, double c1, double c2,
         double norm, struct fm_rank_hit *h)
{
	double q[FM_RANK_DIMS], s = (c1 * w->a[i] + (c2 != 0 ? c2 * w->b[i] : 0)) / norm;

	for (int d = 0; d < FM_RANK_DIMS; d++)
		q[d] = c1 * pl->u1[d] + c2 * pl->u2[d];
	h->song = i;
	/* Rounding can take a cosine a hair past 1. */
	h->score = fmin(fmax(blend(w, i, s), -1), 1);
	explain(w->lib, i, q, h->score, h->why, sizeof h->why);
	explain_taste(w, h);
}

static void
mark_chosen(struct fm_rank_work *w, unsigned diverse, size_t i, size_t n_chosen)
{
	if (diverse & (FM_RANK_DIVERSE_ARTIST | FM_RANK_DIVERSE_ALBUM)) {
		w->chosen[2 * n_chosen] = w->lib->groups[2 * i];
		w->chosen[2 * n_chosen + 1] = w->lib->groups[2 * i + 1];
	}
	w->out[i] = 1;
}

static int
check_query(const struct fm_rank_library *lib, const struct fm_rank_query *q, struct fm_err *err)
{
	if (fm_mood_check(q->mood, err) == -1)
		return -1;
	if (q->n_results == 0 || fm_rank_strategy_name(q->strategy) == NULL || !(q->strength > 0) ||
	    !isfinite(q->strength) ||
	    ((q->diverse & FM_RANK_DIVERSE_MMR) && !(q->mmr_lambda >= 0 && q->mmr_lambda <= 1)))
		return fm_err_set(err, FM_EINVAL, "query out of range");
	if ((q->diverse & GROUPS) && lib->groups == NULL)
		return fm_err_set(err, FM_EINVAL, "the index was loaded without its groups");
	return 0;
}

/*
 * Each song's cosine with the plan's directions (b only when the plan needs it), MMR's
 * similarities reset, and the excluded songs marked out; returns how many songs are left.
 * Only what this search uses is written, so that a plain query on a large index touches no
 * more memory than it needs.
 */
static size_t
project(struct fm_rank_work *w, const struct plan *pl, const struct fm_rank_query *q, bool use_b)
{
	const struct fm_rank_library *lib = w->lib;
	bool mmr = q->diverse & FM_RANK_DIVERSE_MMR;
	size_t n_avail = 0;

	for (size_t i = 0; i < lib->n_songs; i++) {
		const float *z = &lib->z[i * FM_RANK_DIMS];
		double a = 0, b = 0;

		for (int d = 0; d < FM_RANK_DIMS; d++)
			a += pl->u1[d] * z[d];
		w->a[i] = a * lib->inv_norm[i];
		if (use_b) {
			for (int d = 0; d < FM_RANK_DIMS; d++)
				b += pl->u2[d] * z[d];
			w->b[i] = b * lib->inv_norm[i];
		}
		if (mmr)
			w->maxsim[i] = 0;
		w->out[i] = q->excluded != NULL && q->excluded[i] != 0;
		n_avail += !w->out[i];
	}
	return n_avail;
}

/*
 * One query for every result: its scores, then the best in order. Groups may rule out some
 * of the best, so the selection widens until k are found or none is left. Returns how many
 * hits were found.
 */
static size_t
search_once(struct fm_rank_work *w, const struct plan *pl, const struct fm_rank_query *q, size_t k,
            size_t n_avail, bool use_b, struct fm_rank_hit *hits)
{
	const struct fm_rank_library *lib = w->lib;
	size_t n = lib->n_songs, want = k, n_top, got;
	double c1, c2, norm;

	step(pl, 0, k, &c1, &c2, &norm);
	for (size_t i = 0; i < n; i++)
		w->a[i] = blend(w, i, (c1 * w->a[i] + (use_b ? c2 * w->b[i] : 0)) / norm);
	for (;;) {
		top_k(w, want, &n_top);
		got = 0;
		for (size_t t = 0; t < n_top && got < k; t++) {
			size_t i = w->heap[t];
			if ((q->diverse & GROUPS) && group_taken(w, q->diverse, i, got))
				continue;
			hits[got].song = i;
			if (q->diverse & GROUPS) {
				w->chosen[2 * got] = lib->groups[2 * i];
				w->chosen[2 * got + 1] = lib->groups[2 * i + 1];
			}
			got++;
		}
		if (got == k || n_top == n_avail)
			break;
		want = want > n_avail / 4 ? n_avail : want * 4;
	}
	/* a now holds the final scores. */
	for (size_t t = 0; t < got; t++) {
		size_t i = hits[t].song;
		double q_vec[FM_RANK_DIMS];

		for (int d = 0; d < FM_RANK_DIMS; d++)
			q_vec[d] = c1 * pl->u1[d] + c2 * pl->u2[d];
		hits[t].score = fmin(fmax(w->a[i], -1), 1);
		explain(lib, i, q_vec, hits[t].score, hits[t].why, sizeof hits[t].why);
		explain_taste(w, &hits[t]);
	}
	return got;
}

/* After song pick is chosen, each song's greatest similarity to the chosen ones. */
static void
update_maxsim(struct fm_rank_work *w, size_t pick)
{
	const struct fm_rank_library *lib = w->lib;
	const float *zb = &lib->z[pick * FM_RANK_DIMS];

	for (size_t i = 0; i < lib->n_songs; i++) {
		const float *z = &lib->z[i * FM_RANK_DIMS];
		double s = 0;
		if (w->out[i])
			continue;
		for (int d = 0; d < FM_RANK_DIMS; d++)
			s += (double)z[d] * zb[d];
		s *= (double)lib->inv_norm[i] * lib->inv_norm[pick];
		/* Opposite is as new as unrelated, and no better for it. */
		if (s > w->maxsim[i])
			w->maxsim[i] = s;
	}
}

/*
 * A query per step, or MMR: choose greedily, one result per pass over the songs. With MMR a
 * song that does not suit the mood (score <= 0) is not chosen for being new, unless no other
 * is left: its class is the fallback. Returns how many hits were found.
 */
static size_t
search_greedy(struct fm_rank_work *w, const struct plan *pl, const struct fm_rank_query *q,
              size_t k, bool use_b, struct fm_rank_hit *hits)
{
	size_t n = w->lib->n_songs, got;
	double c1, c2, norm;

	for (got = 0; got < k; got++) {
		size_t best[2] = {SIZE_MAX, SIZE_MAX};
		double best_obj[2] = {0, 0};

		step(pl, got, k, &c1, &c2, &norm);
		for (size_t i = 0; i < n; i++) {
			double rel, obj;
			int cls;

			if (w->out[i])
				continue;
			obj = rel = blend(w, i, (c1 * w->a[i] + (use_b ? c2 * w->b[i] : 0)) / norm);
			cls = 0;
			if (q->diverse & FM_RANK_DIVERSE_MMR) {
				obj = q->mmr_lambda * rel - (1 - q->mmr_lambda) * w->maxsim[i];
				cls = !(rel > 0);
			}
			if (best[cls] != SIZE_MAX && !(obj > best_obj[cls]))
				continue;
			if ((q->diverse & GROUPS) && group_taken(w, q->diverse, i, got)) {
				w->out[i] = 1; /* its group stays chosen: no need to look again */
				continue;
			}
			best[cls] = i;
			best_obj[cls] = obj;
		}
		size_t pick = best[0] != SIZE_MAX ? best[0] : best[1];
		if (pick == SIZE_MAX)
			break;
		make_hit(w, pl, pick, c1, c2, norm, &hits[got]);
		mark_chosen(w, q->diverse, pick, got);
		if (q->diverse & FM_RANK_DIVERSE_MMR)
			update_maxsim(w, pick);
	}
	return got;
}

int
fm_rank_search(struct fm_rank_work *w, const struct fm_rank_profiles *p,
               const struct fm_rank_query *q, struct fm_rank_hit *hits, size_t *n_hits,
               struct fm_err *err)
{
	size_t n_avail, k;
	struct plan pl;
	bool use_b;

	*n_hits = 0;
	if (check_query(w->lib, q, err) == -1 || make_plan(p, q, &pl, err) == -1)
		return -1;
	w->taste.lambda = 0;
	if (q->taste != NULL &&
	    rank_taste_eval(q->taste, &p->feedback, q->mood, &w->taste, err) == -1)
		return -1;
	use_b = pl.uplift || pl.c2 != 0;
	n_avail = project(w, &pl, q, use_b);
	k = q->n_results < n_avail ? q->n_results : n_avail;
	if (k == 0)
		return 0;
	if ((q->diverse & GROUPS) && w->chosen_cap < k) {
		uint64_t *c = realloc(w->chosen, k * 2 * sizeof *c);
		if (c == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory for %zu results", k);
		w->chosen = c;
		w->chosen_cap = k;
	}
	if (!pl.varies && !(q->diverse & FM_RANK_DIVERSE_MMR))
		*n_hits = search_once(w, &pl, q, k, n_avail, use_b, hits);
	else
		*n_hits = search_greedy(w, &pl, q, k, use_b, hits);
	return 0;
}
