/*
 * lib/rank_mood.c: the faces of fer-classify's records pooled into one distribution over the
 * seven expressions, the query's mood.
 *
 * Within a record (a photo, a frame) a face counts by its area times its detection score,
 * the weighting fer-classify --smooth uses: the people in front, clearly seen, set the
 * moment's mood more than a blurred face in the background. Records then count alike, each
 * one moment, so that a portrait does not outweigh a group photo by the size of its one
 * face. Over time the pool decays exponentially with a half-life, as lib/timeline does; it
 * is kept as a distribution and a weight rather than as weighted sums, so that a long gap,
 * which takes the weight below the smallest double, leaves the last mood in place instead of
 * nothing.
 */
#include "rank_int.h"

#include <math.h>
#include <string.h>

int
fm_rank_scores_decode(const cJSON *scores, double p[FM_N_EMOTIONS], struct fm_err *err)
{
	bool seen[FM_N_EMOTIONS] = {false};
	const cJSON *m;
	double sum = 0, largest = 0;

	if (!cJSON_IsObject(scores))
		return fm_err_set(err, FM_EFORMAT, "\"scores\" is not an object");
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		p[e] = 0;
	cJSON_ArrayForEach(m, scores)
	{
		enum fm_emotion e;

		if (fm_emotion_parse(m->string, &e, NULL) == -1)
			return fm_err_set(err, FM_EFORMAT,
			                  "unknown emotion \"%.40s\" in \"scores\"", m->string);
		if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0) || !isfinite(m->valuedouble))
			return fm_err_set(err, FM_EFORMAT, "score of \"%s\" is not a number >= 0",
			                  m->string);
		if (seen[e]) /* as everywhere in fermata, the first of duplicate names counts */
			continue;
		seen[e] = true;
		p[e] = m->valuedouble;
		if (p[e] > largest)
			largest = p[e];
	}
	if (!(largest > 0))
		return fm_err_set(err, FM_EFORMAT, "\"scores\" are all zero");
	/* Over the largest first: scores of 1e308 each would sum to infinity. */
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		sum += p[e] /= largest;
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		p[e] /= sum;
	return 0;
}

enum fm_emotion
fm_rank_mood_top(const double p[FM_N_EMOTIONS])
{
	int best = 0;

	for (int e = 1; e < FM_N_EMOTIONS; e++)
		if (p[e] > p[best])
			best = e;
	return (enum fm_emotion)best;
}

void
fm_rank_mood_init(struct fm_rank_mood *m, double half_life_sec)
{
	*m = (struct fm_rank_mood){.half_life_sec = half_life_sec > 0 ? half_life_sec : 0};
}

static double
positive(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 && isfinite(v->valuedouble) ? v->valuedouble
	                                                                           : 0;
}

/* One face's (or a bare record's) distribution. */
static int
face_scores(const cJSON *face, double p[FM_N_EMOTIONS], struct fm_err *err)
{
	const cJSON *scores = cJSON_GetObjectItemCaseSensitive(face, "scores");
	const cJSON *emotion = cJSON_GetObjectItemCaseSensitive(face, "emotion");
	enum fm_emotion e;

	if (scores != NULL)
		return fm_rank_scores_decode(scores, p, err);
	if (cJSON_IsString(emotion)) {
		if (fm_emotion_parse(emotion->valuestring, &e, NULL) == -1)
			return fm_err_set(err, FM_EFORMAT, "unknown emotion \"%.40s\"",
			                  emotion->valuestring);
		for (int k = 0; k < FM_N_EMOTIONS; k++)
			p[k] = k == (int)e ? 1 : 0;
		return 0;
	}
	return fm_err_set(err, FM_EFORMAT,
	                  "no \"scores\" nor \"emotion\" (is this fer-classify's output?)");
}

int
fm_rank_mood_add(struct fm_rank_mood *m, const cJSON *rec, size_t *n_used, struct fm_err *err)
{
	const cJSON *faces = cJSON_GetObjectItemCaseSensitive(rec, "faces");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "t"), *f;
	double acc[FM_N_EMOTIONS] = {0}, p[FM_N_EMOTIONS], w_sum = 0, t_sec;
	size_t n = 0;
	int k = 0;

	*n_used = 0;
	/* fer-classify --smooth's brief-expression events summarise frames already pooled. */
	if (cJSON_GetObjectItemCaseSensitive(rec, "event") != NULL)
		return 0;
	if (faces != NULL && !cJSON_IsArray(faces))
		return fm_err_set(err, FM_EFORMAT, "\"faces\" is not an array");
	cJSON_ArrayForEach(f, faces)
	{
		double w = positive(f, "w") * positive(f, "h"), score = positive(f, "score");

		k++;
		if (!cJSON_IsObject(f))
			return fm_err_set(err, FM_EFORMAT, "face %d is not an object", k);
		if (face_scores(f, p, err) == -1) {
			struct fm_err why = *err;
			return fm_err_set(err, why.code, "face %d: %s", k, why.msg);
		}
		if (!(w > 0) || !isfinite(w))
			w = 1; /* no usable box: the face counts as any other */
		if (score > 0 && score <= 1)
			w *= score;
		/*
		 * Within [1e-12, 1e18], far beyond any real face either way, so that the sums over
		 * a record's faces stay finite and above zero: two boxes of 1e154 pixels a side
		 * would make them infinite, and the pooled mood NaN.
		 */
		w = w < 1e-12 ? 1e-12 : w > 1e18 ? 1e18 : w;
		for (int e = 0; e < FM_N_EMOTIONS; e++)
			acc[e] += w * p[e];
		w_sum += w;
		n++;
	}
	if (faces == NULL && (cJSON_GetObjectItemCaseSensitive(rec, "scores") != NULL ||
	                      cJSON_GetObjectItemCaseSensitive(rec, "emotion") != NULL)) {
		if (face_scores(rec, acc, err) == -1)
			return -1;
		w_sum = 1;
		n = 1;
	}

	/* Everything is checked: now the pool changes. */
	t_sec =
	    cJSON_IsNumber(t) && isfinite(t->valuedouble) ? t->valuedouble : (double)m->n_records;
	if (m->n_records == 0) {
		m->last_t = t_sec;
	} else if (t_sec > m->last_t) {
		if (m->half_life_sec > 0)
			m->weight *= exp2(-(t_sec - m->last_t) / m->half_life_sec);
		m->last_t = t_sec;
	}
	m->n_records++;
	if (n == 0)
		return 0;
	/* The record's own distribution, weighing 1 in the pool. */
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		m->p[e] = (m->weight * m->p[e] + acc[e] / w_sum) / (m->weight + 1);
	m->weight += 1;
	m->n_faces += n;
	*n_used = n;
	return 0;
}

int
fm_rank_mood_get(const struct fm_rank_mood *m, double p[FM_N_EMOTIONS], struct fm_err *err)
{
	double sum = 0;

	for (int e = 0; e < FM_N_EMOTIONS; e++)
		sum += m->p[e];
	if (m->n_faces == 0 || !(sum > 0))
		return fm_err_set(err, FM_EINVAL, "no face with expression scores");
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		p[e] = m->p[e] / sum;
	return 0;
}
