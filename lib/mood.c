/*
 * lib/mood.c: the emotions' names, distributions, and the faces of a record pooled into the
 * moment's distribution, then records pooled over time (lib/mood.h).
 *
 * Within a record (a photo, a frame) a face counts by its area times its detection score:
 * the people in front, clearly seen, set the moment's mood more than a blurred face in the
 * background. Across records (recommend) each record counts alike, one moment.
 */
#include "mood.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const emotion_names[FM_N_EMOTIONS] = {
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
};

const char *
fm_emotion_name(enum fm_emotion e)
{
	if ((unsigned)e >= FM_N_EMOTIONS)
		return NULL;
	return emotion_names[e];
}

int
fm_emotion_parse(const char *name, enum fm_emotion *out, struct fm_err *err)
{
	/* The names are ASCII: strcasecmp in any locale folds exactly them. */
	for (int i = 0; i < FM_N_EMOTIONS; i++) {
		if (strcasecmp(name, emotion_names[i]) == 0) {
			*out = (enum fm_emotion)i;
			return 0;
		}
	}
	return fm_err_set(err, FM_EINVAL,
	                  "unknown emotion '%.40s' (one of angry, disgust, fear, happy, sad, "
	                  "surprise, neutral)",
	                  name);
}

/* In the order of enum fm_emotion; lib/mood.h says where the numbers come from. */
static const double emotion_valence[FM_N_EMOTIONS] = {-0.6, -0.7, -0.6, 0.8, -0.8, 0.2, 0.0};

double
fm_emotion_valence(enum fm_emotion e)
{
	if ((unsigned)e >= FM_N_EMOTIONS)
		return 0;
	return emotion_valence[e];
}

double
fm_mood_valence(const double p[FM_N_EMOTIONS])
{
	double v = 0;

	for (int e = 0; e < FM_N_EMOTIONS; e++)
		v += p[e] * emotion_valence[e];
	return v;
}

enum fm_emotion
fm_mood_top(const double p[FM_N_EMOTIONS])
{
	int best = 0;

	for (int e = 1; e < FM_N_EMOTIONS; e++)
		if (p[e] > p[best])
			best = e;
	return (enum fm_emotion)best;
}

enum fm_emotion
fm_mood_top_float(const float p[FM_N_EMOTIONS])
{
	int best = 0;

	for (int e = 1; e < FM_N_EMOTIONS; e++)
		if (p[e] > p[best])
			best = e;
	return (enum fm_emotion)best;
}

int
fm_mood_normalize(double p[FM_N_EMOTIONS], struct fm_err *err)
{
	double largest = 0, sum = 0;

	for (int e = 0; e < FM_N_EMOTIONS; e++) {
		if (!(p[e] >= 0) || !isfinite(p[e]))
			return fm_err_set(err, FM_EINVAL, "probability of %s is not a number >= 0",
			                  emotion_names[e]);
		if (p[e] > largest)
			largest = p[e];
	}
	if (!(largest > 0))
		return fm_err_set(err, FM_EINVAL, "the probabilities are all zero");
	/* Over the largest first: values of 1e308 each would sum to infinity. */
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		sum += p[e] /= largest;
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		p[e] /= sum;
	return 0;
}

int
fm_mood_check(const double p[FM_N_EMOTIONS], struct fm_err *err)
{
	double sum = 0;

	for (int e = 0; e < FM_N_EMOTIONS; e++) {
		if (!(p[e] >= 0) || !isfinite(p[e]))
			return fm_err_set(err, FM_EINVAL,
			                  "mood probabilities must be numbers >= 0");
		sum += p[e];
	}
	if (!(fabs(sum - 1) < 1e-6))
		return fm_err_set(err, FM_EINVAL, "mood probabilities sum to %g, not 1", sum);
	return 0;
}

double
fm_mood_decay(double dt_sec, double half_life_sec)
{
	if (!(dt_sec > 0) || !(half_life_sec > 0))
		return 1;
	return exp2(-dt_sec / half_life_sec);
}

int
fm_mood_scores_decode(const cJSON *scores, double p[FM_N_EMOTIONS], struct fm_err *err)
{
	bool seen[FM_N_EMOTIONS] = {false};
	const cJSON *m;

	if (!cJSON_IsObject(scores))
		return fm_err_set(err, FM_EFORMAT, "\"scores\" is not an object");
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		p[e] = 0;
	cJSON_ArrayForEach(m, scores)
	{
		enum fm_emotion e = FM_NEUTRAL; /* set by the parse; gcc cannot see it */

		if (fm_emotion_parse(m->string, &e, NULL) == -1)
			return fm_err_set(err, FM_EFORMAT,
			                  "unknown emotion \"%.40s\" in \"scores\"", m->string);
		if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0) || !isfinite(m->valuedouble))
			return fm_err_set(err, FM_EFORMAT,
			                  "score of \"%.40s\" is not a number >= 0", m->string);
		if (seen[e]) /* as everywhere in fermata, the first of duplicate names counts */
			continue;
		seen[e] = true;
		p[e] = m->valuedouble;
	}
	if (fm_mood_normalize(p, NULL) == -1)
		return fm_err_set(err, FM_EFORMAT, "\"scores\" are all zero");
	return 0;
}

int
fm_mood_scores_parse(const char *json, double p[FM_N_EMOTIONS], struct fm_err *err)
{
	cJSON *doc = cJSON_Parse(json);
	int rc;

	if (doc == NULL)
		return fm_err_set(err, FM_EFORMAT, "not JSON");
	rc = fm_mood_scores_decode(doc, p, err);
	cJSON_Delete(doc);
	return rc;
}

/* One face's (or a bare record's) distribution. */
static int
face_scores(const cJSON *face, double p[FM_N_EMOTIONS], struct fm_err *err)
{
	const cJSON *scores = cJSON_GetObjectItemCaseSensitive(face, "scores");
	const cJSON *emotion = cJSON_GetObjectItemCaseSensitive(face, "emotion");
	enum fm_emotion e = FM_NEUTRAL; /* set by the parse; gcc cannot see it */

	if (scores != NULL)
		return fm_mood_scores_decode(scores, p, err);
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

/* A box side or a detection score: a finite number > 0, else 0. */
static double
positive(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 && isfinite(v->valuedouble) ? v->valuedouble
	                                                                           : 0;
}

/* A face the classifier was not sure of (FM_MOOD_UNCERTAIN): no distribution of its own. */
static bool
uncertain(const cJSON *face)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(face, "emotion");

	return cJSON_IsString(e) && strcmp(e->valuestring, FM_MOOD_UNCERTAIN) == 0;
}

/* A face's weight in its record: fm_mood_record's rule. */
static double
face_weight(const cJSON *face)
{
	double w = positive(face, "w"), h = positive(face, "h"), score = positive(face, "score");
	double weight = w > 0 && h > 0 ? w * h : 1;

	if (score > 0 && score <= 1)
		weight *= score;
	/*
	 * Within [1e-12, 1e18], far beyond any real face either way, so that the sums over a
	 * record's faces stay finite and above zero: two boxes of 1e154 pixels a side would
	 * make them infinite, and the pooled mood NaN; sides of 1e-200 make an area of 0.
	 */
	return weight < 1e-12 ? 1e-12 : weight > 1e18 ? 1e18 : weight;
}

int
fm_mood_record(const cJSON *rec, double p[FM_N_EMOTIONS], size_t *n_faces, struct fm_err *err)
{
	const cJSON *faces = cJSON_GetObjectItemCaseSensitive(rec, "faces"), *f;
	double acc[FM_N_EMOTIONS] = {0}, one[FM_N_EMOTIONS], w_sum = 0;
	size_t n = 0, n_used = 0;

	*n_faces = 0;
	if (cJSON_GetObjectItemCaseSensitive(rec, "event") != NULL)
		return 0;
	if (faces == NULL) {
		if ((cJSON_GetObjectItemCaseSensitive(rec, "scores") == NULL &&
		     cJSON_GetObjectItemCaseSensitive(rec, "emotion") == NULL) ||
		    uncertain(rec))
			return 0;
		if (face_scores(rec, p, err) == -1)
			return -1;
		*n_faces = 1;
		return 0;
	}
	if (!cJSON_IsArray(faces))
		return fm_err_set(err, FM_EFORMAT, "\"faces\" is not an array");
	cJSON_ArrayForEach(f, faces)
	{
		double w;

		n++;
		if (!cJSON_IsObject(f))
			return fm_err_set(err, FM_EFORMAT, "face %zu is not an object", n);
		if (uncertain(f))
			continue;
		if (face_scores(f, one, err) == -1) {
			struct fm_err why = *err;
			return fm_err_set(err, why.code, "face %zu: %s", n, why.msg);
		}
		w = face_weight(f);
		for (int e = 0; e < FM_N_EMOTIONS; e++)
			acc[e] += w * one[e];
		w_sum += w;
		n_used++;
	}
	if (n_used == 0)
		return 0;
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		p[e] = acc[e] / w_sum;
	*n_faces = n_used;
	return 0;
}

void
fm_mood_pool_init(struct fm_mood_pool *m, double half_life_sec)
{
	*m = (struct fm_mood_pool){.half_life_sec = half_life_sec > 0 ? half_life_sec : 0};
}

int
fm_mood_pool_add(struct fm_mood_pool *m, const cJSON *rec, size_t *n_used, struct fm_err *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "t");
	double p[FM_N_EMOTIONS], t_sec;
	size_t n;

	*n_used = 0;
	/* fer-classify --smooth's events summarise frames already pooled; they have no "t" of
	 * their own, and counting them would move the time of the records after them. */
	if (cJSON_GetObjectItemCaseSensitive(rec, "event") != NULL)
		return 0;
	if (fm_mood_record(rec, p, &n, err) == -1)
		return -1;
	/* Everything is checked: now the pool changes. */
	t_sec =
	    cJSON_IsNumber(t) && isfinite(t->valuedouble) ? t->valuedouble : (double)m->n_records;
	if (m->n_records == 0) {
		m->last_t = t_sec;
	} else if (t_sec > m->last_t) {
		m->weight *= fm_mood_decay(t_sec - m->last_t, m->half_life_sec);
		m->last_t = t_sec;
	}
	m->n_records++;
	if (n == 0)
		return 0;
	/* The record's own distribution, weighing 1 in the pool. */
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		m->p[e] = (m->weight * m->p[e] + p[e]) / (m->weight + 1);
	m->weight += 1;
	m->n_faces += n;
	*n_used = n;
	return 0;
}

int
fm_mood_pool_get(const struct fm_mood_pool *m, double p[FM_N_EMOTIONS], struct fm_err *err)
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
