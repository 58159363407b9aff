/*
 * lib/rank_profiles.c: the profiles file (read strictly, written readably), profiles learnt
 * from the user's tags, the feedback log's lines, and the RFC 3339 times that feedback and
 * history lines carry. What feedback teaches is lib/rank_taste.c's.
 *
 * Format 1 of the profiles file moved each profile by Rocchio's update (alpha, beta, gamma);
 * format 2 names the taste model's numbers instead. A format 1 file (one written by --learn,
 * say) is still read: its Rocchio rates are checked as they were, then left unused.
 */
#include "rank_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ndjson.h"

#define FORMAT "fermata-profiles 2"
#define FORMAT_1 "fermata-profiles 1"
#define PROFILE_ABS_MAX 10.0 /* a profile component beyond +-10 standard deviations is a typo */

static int
decode_vector(const cJSON *obj, const char *where, double v[FM_RANK_DIMS], struct fm_err *err)
{
	const cJSON *m;

	if (!cJSON_IsObject(obj))
		return fm_err_set(err, FM_EFORMAT, "%s: no \"vector\" object", where);
	for (int d = 0; d < FM_RANK_DIMS; d++)
		v[d] = 0;
	cJSON_ArrayForEach(m, obj)
	{
		enum fm_rank_dim d;

		if (fm_rank_dim_parse(m->string, &d, NULL) == -1)
			return fm_err_set(err, FM_EFORMAT, "%s: unknown descriptor \"%.40s\"",
			                  where, m->string);
		if (!cJSON_IsNumber(m) || !(fabs(m->valuedouble) <= PROFILE_ABS_MAX))
			return fm_err_set(err, FM_EFORMAT, "%s: \"%s\" is not a number in -10..10",
			                  where, m->string);
		v[d] = m->valuedouble;
	}
	return 0;
}

static int
decode_unit(const cJSON *obj, const char *key, const char *where, double lo, double hi, double *out,
            struct fm_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
		return fm_err_set(err, FM_EFORMAT, "%s: \"%s\" is not a number in %g..%g", where,
		                  key, lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int
decode_feedback(const cJSON *fb, int version, struct fm_rank_feedback_opts *o, struct fm_err *err)
{
	double rate;

	*o = (struct fm_rank_feedback_opts)FM_RANK_TASTE_DEFAULTS;
	if (!cJSON_IsObject(fb))
		return fm_err_set(err, FM_EFORMAT, "no \"feedback\" object");
	if (decode_unit(fb, "half_life_days", "feedback", 1e-3, 1e6, &o->half_life_days, err) ==
	        -1 ||
	    decode_unit(fb, "like", "feedback", 1e-3, 10, &o->like, err) == -1 ||
	    decode_unit(fb, "skip", "feedback", -10, -1e-3, &o->skip, err) == -1)
		return -1;
	if (version == 1)
		return decode_unit(fb, "alpha", "feedback", 0, 10, &rate, err) == -1 ||
		               decode_unit(fb, "beta", "feedback", 0, 10, &rate, err) == -1 ||
		               decode_unit(fb, "gamma", "feedback", 0, 10, &rate, err) == -1
		           ? -1
		           : 0;
	if (decode_unit(fb, "evidence", "feedback", 1e-3, 1e6, &o->evidence, err) == -1 ||
	    decode_unit(fb, "other_moods", "feedback", 0, 1, &o->other_moods, err) == -1 ||
	    decode_unit(fb, "similar", "feedback", 0, 1, &o->similar, err) == -1 ||
	    decode_unit(fb, "width", "feedback", 1e-2, 100, &o->width, err) == -1 ||
	    decode_unit(fb, "max_share", "feedback", 0, 1, &o->max_share, err) == -1)
		return -1;
	return 0;
}

int
fm_rank_profiles_decode(const char *text, size_t n_bytes, struct fm_rank_profiles *out,
                        struct fm_err *err)
{
	const cJSON *format, *profiles, *axes, *p, *by_emotion[FM_N_EMOTIONS] = {NULL};
	struct fm_rank_profiles pr = {0};
	cJSON *doc;
	const char *end = NULL;
	char where[64];
	int rc = -1, version = 2;

	doc = cJSON_ParseWithLengthOpts(text, n_bytes, &end, 0);
	if (doc == NULL || !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return fm_err_set(err, FM_EFORMAT, "not a JSON object");
	}
	/* One document and nothing after it but white space: cJSON stops at the end of the
	 * first value, and a second one, or a half-pasted edit, would pass unseen. */
	for (size_t i = (size_t)(end - text); i < n_bytes; i++)
		if (!strchr(" \t\r\n", text[i]) || text[i] == '\0') {
			cJSON_Delete(doc);
			return fm_err_set(err, FM_EFORMAT,
			                  "something after the JSON object, at byte %zu", i + 1);
		}
	format = cJSON_GetObjectItemCaseSensitive(doc, "format");
	if (cJSON_IsString(format) && strcmp(format->valuestring, FORMAT_1) == 0)
		version = 1;
	else if (!cJSON_IsString(format) || strcmp(format->valuestring, FORMAT) != 0) {
		fm_err_set(err, FM_EFORMAT, "\"format\" is not \"%s\" (or \"%s\")", FORMAT,
		           FORMAT_1);
		goto done;
	}
	profiles = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
	if (!cJSON_IsObject(profiles)) {
		fm_err_set(err, FM_EFORMAT, "no \"profiles\" object");
		goto done;
	}
	cJSON_ArrayForEach(p, profiles)
	{
		enum fm_emotion e = FM_NEUTRAL; /* set by the parse; gcc cannot tell */

		if (fm_emotion_parse(p->string, &e, NULL) == -1) {
			fm_err_set(err, FM_EFORMAT, "profiles: unknown emotion \"%.40s\"",
			           p->string);
			goto done;
		}
		/* Names in any case, as everywhere; the first of duplicates counts. */
		if (by_emotion[e] == NULL)
			by_emotion[e] = p;
	}
	for (int e = 0; e < FM_N_EMOTIONS; e++) {
		const char *name = fm_emotion_name((enum fm_emotion)e);

		p = by_emotion[e];
		snprintf(where, sizeof where, "profiles.%s", name);
		if (!cJSON_IsObject(p)) {
			fm_err_set(err, FM_EFORMAT, "no profile for \"%s\"", name);
			goto done;
		}
		if (decode_vector(cJSON_GetObjectItemCaseSensitive(p, "vector"), where, pr.vec[e],
		                  err) == -1 ||
		    decode_unit(p, "valence", where, -1, 1, &pr.valence[e], err) == -1 ||
		    decode_unit(p, "arousal", where, -1, 1, &pr.arousal[e], err) == -1)
			goto done;
	}
	axes = cJSON_GetObjectItemCaseSensitive(doc, "axes");
	if (!cJSON_IsObject(axes)) {
		fm_err_set(err, FM_EFORMAT, "no \"axes\" object");
		goto done;
	}
	p = cJSON_GetObjectItemCaseSensitive(axes, "valence");
	if (decode_vector(cJSON_GetObjectItemCaseSensitive(p, "vector"), "axes.valence",
	                  pr.axis_valence, err) == -1)
		goto done;
	p = cJSON_GetObjectItemCaseSensitive(axes, "arousal");
	if (decode_vector(cJSON_GetObjectItemCaseSensitive(p, "vector"), "axes.arousal",
	                  pr.axis_arousal, err) == -1)
		goto done;
	if (decode_feedback(cJSON_GetObjectItemCaseSensitive(doc, "feedback"), version,
	                    &pr.feedback, err) == -1)
		goto done;
	*out = pr;
	rc = 0;
done:
	cJSON_Delete(doc);
	return rc;
}

int
fm_rank_profiles_load(const char *path, struct fm_rank_profiles *out, struct fm_err *err)
{
	unsigned char *bytes;
	size_t n;
	int rc;

	/* A profiles file is a page of text; a megabyte is a mistake. */
	if (fm_read_file(path, 1 << 20, &bytes, &n, err) == -1)
		return -1;
	rc = fm_rank_profiles_decode((const char *)bytes, n, out, err);
	free(bytes);
	return rc;
}

/* 4 decimals: the profiles are rough directions, and the file is for reading. */
static cJSON *
rounded(double v)
{
	return cJSON_CreateNumber(fm_ndjson_round(v, 4));
}

static cJSON *
encode_vector(const double v[FM_RANK_DIMS])
{
	cJSON *o = cJSON_CreateObject();

	for (int d = 0; d < FM_RANK_DIMS && o != NULL; d++)
		if (!cJSON_AddItemToObject(o, fm_rank_dim_name((enum fm_rank_dim)d),
		                           rounded(v[d]))) {
			cJSON_Delete(o);
			o = NULL;
		}
	return o;
}

static bool
add(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

int
fm_rank_profiles_encode(const struct fm_rank_profiles *p, const char *about,
                        const char *const why[FM_N_EMOTIONS], char **text, struct fm_err *err)
{
	cJSON *doc = cJSON_CreateObject(), *profiles = NULL, *axes = NULL, *fb = NULL, *o = NULL;
	char *s, *t;
	/* Every container is attached to doc as it is made, so that one delete frees all. */
	bool ok = doc != NULL && add(doc, "format", cJSON_CreateString(FORMAT)) &&
	          (about == NULL || add(doc, "about", cJSON_CreateString(about))) &&
	          (profiles = cJSON_AddObjectToObject(doc, "profiles")) != NULL;

	for (int e = 0; ok && e < FM_N_EMOTIONS; e++)
		ok = (o = cJSON_AddObjectToObject(profiles, fm_emotion_name((enum fm_emotion)e))) !=
		         NULL &&
		     add(o, "valence", rounded(p->valence[e])) &&
		     add(o, "arousal", rounded(p->arousal[e])) &&
		     add(o, "vector", encode_vector(p->vec[e])) &&
		     (why == NULL || why[e] == NULL || add(o, "why", cJSON_CreateString(why[e])));
	ok = ok && (axes = cJSON_AddObjectToObject(doc, "axes")) != NULL &&
	     (o = cJSON_AddObjectToObject(axes, "valence")) != NULL &&
	     add(o, "vector", encode_vector(p->axis_valence)) &&
	     (o = cJSON_AddObjectToObject(axes, "arousal")) != NULL &&
	     add(o, "vector", encode_vector(p->axis_arousal));
	ok = ok && (fb = cJSON_AddObjectToObject(doc, "feedback")) != NULL &&
	     add(fb, "half_life_days", rounded(p->feedback.half_life_days)) &&
	     add(fb, "like", rounded(p->feedback.like)) &&
	     add(fb, "skip", rounded(p->feedback.skip)) &&
	     add(fb, "evidence", rounded(p->feedback.evidence)) &&
	     add(fb, "other_moods", rounded(p->feedback.other_moods)) &&
	     add(fb, "similar", rounded(p->feedback.similar)) &&
	     add(fb, "width", rounded(p->feedback.width)) &&
	     add(fb, "max_share", rounded(p->feedback.max_share));
	s = ok ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (s == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the profiles");
	size_t n = strlen(s);
	if ((t = malloc(n + 2)) == NULL) {
		cJSON_free(s);
		return fm_err_set(err, FM_ENOMEM, "out of memory for the profiles");
	}
	/* cJSON's buffer may come from its own allocator: copied into ours, with a newline. */
	memcpy(t, s, n);
	cJSON_free(s);
	t[n] = '\n';
	t[n + 1] = '\0';
	*text = t;
	return 0;
}

int
fm_rank_learn(const struct fm_rank_library *lib, const struct fm_rank_profiles *base,
              struct fm_rank_profiles *out, size_t n_songs[FM_N_EMOTIONS], struct fm_err *err)
{
	double sum[FM_N_EMOTIONS][FM_RANK_DIMS] = {{0}};
	size_t total = 0;

	if (lib->tags == NULL)
		return fm_err_set(err, FM_EINVAL, "the index was loaded without its tags");
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		n_songs[e] = 0;
	for (size_t i = 0; i < lib->n_songs; i++) {
		if (lib->tags[i] == 0)
			continue;
		for (int e = 0; e < FM_N_EMOTIONS; e++) {
			if (!(lib->tags[i] & (1u << e)))
				continue;
			for (int d = 0; d < FM_RANK_DIMS; d++)
				sum[e][d] += lib->z[i * FM_RANK_DIMS + d];
			n_songs[e]++;
		}
		total++;
	}
	if (total == 0)
		return fm_err_set(
		    err, FM_EINVAL,
		    "no song in the library carries an \"emotion\" tag to learn from");
	*out = *base;
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		for (int d = 0; n_songs[e] > 0 && d < FM_RANK_DIMS; d++)
			out->vec[e][d] = sum[e][d] / (double)n_songs[e];
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1..12): the era arithmetic
 * of the 400-year cycle, with March as the first month so that leap days come last. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		v = v * 10 + (s[k] - '0');
	}
	*out = v;
	return true;
}

/*
 * RFC 3339 ("2024-05-01T18:30:00Z"), and the forms people and programs also write: a space
 * for the "T" (as SQL and date '+%F %T' do) and no zone, which ISO 8601 and date(1) read as
 * local time (TZ), as mktime(3) does here.
 */
static int
parse_rfc3339(const char *s, double *t_sec, struct fm_err *err)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	bool local = false;
	double frac = 0;
	const char *p;

	if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || strchr("Tt ", s[10]) == NULL ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		goto bad;
	p = s + 19;
	if (*p == '.') {
		double scale = 0.1;

		if (p[1] < '0' || p[1] > '9')
			goto bad;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == '\0')
		local = true;
	else if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' &&
	         digits(p + 4, 2, &om)) {
		sign = *p == '+' ? 1 : -1;
		p += 6;
	} else
		goto bad;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		goto bad;
	if (local) {
		/* A leap second, as in UTC below, is the next minute's first second. */
		struct tm tm = {.tm_year = y - 1900,
		                .tm_mon = mo - 1,
		                .tm_mday = d,
		                .tm_hour = h,
		                .tm_min = mi,
		                .tm_sec = sec,
		                .tm_isdst = -1};
		time_t t = mktime(&tm);
		if (t == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31 &&
		                         tm.tm_hour == 23 && tm.tm_min == 59 && tm.tm_sec == 59))
			goto bad;
		*t_sec = (double)t + frac;
		return 0;
	}
	*t_sec = (double)days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec + frac -
	         sign * (oh * 3600 + om * 60);
	return 0;
bad:
	return fm_err_set(err, FM_EFORMAT,
	                  "time \"%.40s\" is neither a number nor a date and time "
	                  "(2024-05-01T18:30:00Z, or 2024-05-01 18:30:00 in local time)",
	                  s);
}

int
fm_rank_time_parse(const char *s, double *t_sec, struct fm_err *err)
{
	char *end;

	if (s[0] != '\0' && s[strspn(s, "+-.0123456789eE")] == '\0') {
		double v = strtod(s, &end);
		if (*end == '\0' && isfinite(v)) {
			*t_sec = v;
			return 0;
		}
	}
	return parse_rfc3339(s, t_sec, err);
}

int
fm_rank_time_decode(const cJSON *v, double *t_sec, struct fm_err *err)
{
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
		*t_sec = v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v))
		return parse_rfc3339(v->valuestring, t_sec, err);
	return fm_err_set(err, FM_EFORMAT,
	                  "\"time\" is neither a number nor a date and time string");
}

int
fm_rank_play_decode(const cJSON *rec, double now_sec, double recent_sec, const char **path,
                    struct fm_err *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "time");
	double t_sec;

	if (fm_ndjson_get_path(rec, path, err) == -1 ||
	    (t != NULL && fm_rank_time_decode(t, &t_sec, err) == -1))
		return -1;
	return t == NULL || recent_sec == 0 || now_sec - t_sec <= recent_sec;
}

int
fm_rank_event_decode(const cJSON *rec, const struct fm_rank_feedback_opts *o,
                     struct fm_rank_event *ev, struct fm_err *err)
{
	const cJSON *emotion = cJSON_GetObjectItemCaseSensitive(rec, "emotion");
	const cJSON *rating = cJSON_GetObjectItemCaseSensitive(rec, "rating");
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(rec, "action");
	const cJSON *reaction = cJSON_GetObjectItemCaseSensitive(rec, "reaction");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "time");
	const char *path;

	if (fm_ndjson_get_path(rec, &path, err) == -1)
		return -1;
	ev->path = path;
	ev->n_path = strlen(path);
	/* fer-react's play without a face: no judgement, whatever else the line says. */
	if (cJSON_IsNull(rating) && action == NULL && (reaction == NULL || cJSON_IsNull(reaction)))
		return 0;
	if (!cJSON_IsString(emotion))
		return fm_err_set(err, FM_EFORMAT, "no \"emotion\" string");
	if (fm_emotion_parse(emotion->valuestring, &ev->emotion, NULL) == -1)
		return fm_err_set(err, FM_EFORMAT, "unknown emotion \"%.40s\"",
		                  emotion->valuestring);
	if (cJSON_IsNull(rating))
		rating = NULL;
	if (rating != NULL && action != NULL)
		return fm_err_set(err, FM_EFORMAT, "wants either \"rating\" or \"action\"");
	if (rating != NULL) {
		if (!cJSON_IsNumber(rating) ||
		    !(rating->valuedouble >= 1 && rating->valuedouble <= 5))
			return fm_err_set(err, FM_EFORMAT,
			                  "\"rating\" is not a number from 1 to 5");
		/* 3 is indifference: 5 counts as a like, 1 as a dislike twice a skip's weight. */
		ev->weight = (rating->valuedouble - 3) / 2;
	} else if (action == NULL) {
		/* fer-react's reaction without a rating: the face's own verdict, -1..1. */
		if (reaction == NULL)
			return fm_err_set(err, FM_EFORMAT, "wants either \"rating\" or \"action\"");
		if (!cJSON_IsNumber(reaction) ||
		    !(reaction->valuedouble >= -1 && reaction->valuedouble <= 1))
			return fm_err_set(err, FM_EFORMAT,
			                  "\"reaction\" is not a number from -1 to 1");
		ev->weight = reaction->valuedouble;
	} else if (cJSON_IsString(action) && strcmp(action->valuestring, "like") == 0) {
		ev->weight = o->like;
	} else if (cJSON_IsString(action) && strcmp(action->valuestring, "skip") == 0) {
		ev->weight = o->skip;
	} else {
		return fm_err_set(err, FM_EFORMAT, "\"action\" is not \"like\" or \"skip\"");
	}
	ev->t_sec = NAN;
	if (t != NULL && fm_rank_time_decode(t, &ev->t_sec, err) == -1)
		return -1;
	return 1;
}
