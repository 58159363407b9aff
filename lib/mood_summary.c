/*
 * lib/mood_summary.c: what a run of fer-classify's records comes to (fer-summary): the
 * faces per expression, or for a stream of frames the time per expression, the dominant
 * one, and the brief expression changes per minute; as a record and as a table to read.
 *
 * A frame's expression is the one a reader of the stream would name: its "smoothed_emotion"
 * (fer-classify --smooth) when it has one, else the most likely of its faces pooled by
 * fm_mood_record's rule, the one recommend uses.
 */
#include "mood.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

void
fm_mood_summary_init(struct fm_mood_summary *s)
{
	*s = (struct fm_mood_summary){.last_label = -1};
}

/* The expression of one face (an object of "faces", or a record that is its own face):
 * its "emotion" when that is one of the seven, else its scores' most likely; -1 for an
 * uncertain face; -2 (err set) for a face with neither. */
static int
face_label(const cJSON *face, struct fm_err *err)
{
	const cJSON *em = cJSON_GetObjectItemCaseSensitive(face, "emotion");
	double p[FM_N_EMOTIONS];
	enum fm_emotion e;

	if (cJSON_IsString(em) && strcmp(em->valuestring, FM_MOOD_UNCERTAIN) == 0)
		return -1;
	if (cJSON_IsString(em) && fm_emotion_parse(em->valuestring, &e, NULL) == 0)
		return (int)e;
	if (fm_mood_scores_decode(cJSON_GetObjectItemCaseSensitive(face, "scores"), p, err) == -1)
		return -2;
	return (int)fm_mood_top(p);
}

/* Count one face under its expression, or as uncertain. */
static int
count_face(struct fm_mood_summary *s, const cJSON *face, struct fm_err *err)
{
	int label = face_label(face, err);

	if (label == -2)
		return -1;
	if (label == -1)
		s->n_uncertain++;
	else
		s->n_faces[label]++;
	return 0;
}

/* Count the faces of rec, once fm_mood_record has found them well formed. */
static int
count_faces(struct fm_mood_summary *s, const cJSON *rec, struct fm_err *err)
{
	const cJSON *faces = cJSON_GetObjectItemCaseSensitive(rec, "faces"), *f;

	if (faces == NULL) {
		if (cJSON_GetObjectItemCaseSensitive(rec, "scores") == NULL &&
		    cJSON_GetObjectItemCaseSensitive(rec, "emotion") == NULL)
			return 0;
		return count_face(s, rec, err); /* a record that is its own face */
	}
	cJSON_ArrayForEach(f, faces)
	{
		if (count_face(s, f, err) == -1)
			return -1;
	}
	return 0;
}

/* The frame before this one held from its time until now, at most FM_MOOD_SUMMARY_HOLD_SEC;
 * a time that goes back (a second recording) gives it the last interval seen instead, and
 * the same time none. */
static void
close_frame(struct fm_mood_summary *s, double t_sec)
{
	double dt = t_sec - s->last_t;

	if (dt < 0)
		dt = s->last_dt;
	else if (dt > 0)
		s->last_dt = dt = dt < FM_MOOD_SUMMARY_HOLD_SEC ? dt : FM_MOOD_SUMMARY_HOLD_SEC;
	s->seconds += dt;
	if (s->last_label >= 0)
		s->sec[s->last_label] += dt;
}

int
fm_mood_summary_add(struct fm_mood_summary *s, const cJSON *rec, struct fm_err *err)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(rec, "event");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "t");
	const cJSON *sm = cJSON_GetObjectItemCaseSensitive(rec, "smoothed_emotion");
	double p[FM_N_EMOTIONS];
	enum fm_emotion e;
	size_t n_faces;
	int label = -1;

	if (ev != NULL) {
		s->n_brief += cJSON_IsString(ev) && strcmp(ev->valuestring, "brief") == 0;
		return 0;
	}
	if (t != NULL && !(cJSON_IsNumber(t) && isfinite(t->valuedouble)))
		return fm_err_set(err, FM_EFORMAT, "\"t\" is not a number of seconds");
	if (fm_mood_record(rec, p, &n_faces, err) == -1)
		return -1;
	/* Nothing is counted until the whole record is known to be good. */
	struct fm_mood_summary before = *s;
	if (count_faces(s, rec, err) == -1) {
		*s = before;
		return -1;
	}
	s->n_records++;
	if (t == NULL)
		return 0;
	if (cJSON_IsString(sm) && fm_emotion_parse(sm->valuestring, &e, NULL) == 0)
		label = (int)e;
	else if (n_faces > 0)
		label = (int)fm_mood_top(p);
	if (s->n_frames > 0)
		close_frame(s, t->valuedouble);
	s->n_frames++;
	s->last_t = t->valuedouble;
	s->last_label = label;
	s->frames[label >= 0 ? label : FM_N_EMOTIONS]++;
	return 0;
}

/* The shares (of seconds, else of frames with a face, else of faces) and the dominant one;
 * false when there is nothing to share. */
static bool
shares(const struct fm_mood_summary *s, double share[FM_N_EMOTIONS], double *seconds,
       const char **of)
{
	double w[FM_N_EMOTIONS], total = 0;

	/* the last frame holds as long as the one before it */
	*seconds = s->seconds + (s->n_frames > 0 ? s->last_dt : 0);
	for (int k = 0; k < FM_N_EMOTIONS; k++) {
		if (s->n_frames > 0)
			w[k] = s->sec[k] + (k == s->last_label ? s->last_dt : 0);
		else
			w[k] = (double)s->n_faces[k];
		total += w[k];
	}
	*of = s->n_frames > 0 ? "time" : "faces";
	/* One frame, or frames all at one time: each frame counts alike. */
	if (s->n_frames > 0 && total == 0)
		for (int k = 0; k < FM_N_EMOTIONS; k++)
			total += w[k] = (double)s->frames[k];
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		share[k] = total > 0 ? w[k] / total : 0;
	return total > 0;
}

static cJSON *
emotion_object(const double v[FM_N_EMOTIONS], const uint64_t *n)
{
	cJSON *o = cJSON_CreateObject();

	for (int k = 0; k < FM_N_EMOTIONS && o != NULL; k++)
		if (cJSON_AddNumberToObject(o, fm_emotion_name((enum fm_emotion)k),
		                            n != NULL ? (double)n[k] : fm_ndjson_round(v[k], 4)) ==
		    NULL) {
			cJSON_Delete(o);
			o = NULL;
		}
	return o;
}

int
fm_mood_summary_record(const struct fm_mood_summary *s, cJSON **out, struct fm_err *err)
{
	double share[FM_N_EMOTIONS], seconds;
	const char *of;
	bool any = shares(s, share, &seconds, &of);
	uint64_t n_faces = 0;
	cJSON *o = cJSON_CreateObject();

	*out = NULL;
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		n_faces += s->n_faces[k];
	if (o == NULL || fm_ndjson_set(o, "summary", cJSON_CreateString(of), err) == -1 ||
	    fm_ndjson_set(o, "records", cJSON_CreateNumber((double)s->n_records), err) == -1 ||
	    fm_ndjson_set(o, "faces", cJSON_CreateNumber((double)n_faces), err) == -1 ||
	    fm_ndjson_set(o, "uncertain", cJSON_CreateNumber((double)s->n_uncertain), err) == -1 ||
	    fm_ndjson_set(o, "counts", emotion_object(NULL, s->n_faces), err) == -1)
		goto fail;
	if (s->n_frames > 0 &&
	    (fm_ndjson_set(o, "frames", cJSON_CreateNumber((double)s->n_frames), err) == -1 ||
	     fm_ndjson_set(o, "seconds", cJSON_CreateNumber(fm_ndjson_round(seconds, 3)), err) ==
	         -1))
		goto fail;
	if (any &&
	    (fm_ndjson_set(o, "share", emotion_object(share, NULL), err) == -1 ||
	     fm_ndjson_set(o, "dominant", cJSON_CreateString(fm_emotion_name(fm_mood_top(share))),
	                   err) == -1))
		goto fail;
	if (s->n_frames > 0 &&
	    (fm_ndjson_set(o, "brief", cJSON_CreateNumber((double)s->n_brief), err) == -1 ||
	     (seconds > 0 &&
	      fm_ndjson_set(o, "brief_per_minute",
	                    cJSON_CreateNumber(fm_ndjson_round(s->n_brief / (seconds / 60), 2)),
	                    err) == -1)))
		goto fail;
	*out = o;
	return 0;
fail:
	cJSON_Delete(o);
	if (o == NULL)
		fm_err_set(err, FM_ENOMEM, "out of memory for the summary");
	return -1;
}

int
fm_mood_summary_table(const struct fm_mood_summary *s, char **text, size_t *n_bytes,
                      struct fm_err *err)
{
	double share[FM_N_EMOTIONS], seconds;
	const char *of;
	bool any = shares(s, share, &seconds, &of);
	uint64_t n_faces = 0;
	int order[FM_N_EMOTIONS];
	size_t cap = 2048, n = 0;
	char *buf = malloc(cap);

	*text = NULL;
	if (buf == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the summary");
	for (int k = 0; k < FM_N_EMOTIONS; k++) {
		n_faces += s->n_faces[k];
		order[k] = k;
	}
	/* most first; equals in the order of enum fm_emotion (a stable insertion sort) */
	for (int i = 1; i < FM_N_EMOTIONS; i++)
		for (int j = i; j > 0 && share[order[j]] > share[order[j - 1]]; j--) {
			int tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
#define ADD(...) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__)
	if (s->n_frames > 0)
		ADD("%llu frame%s, %.1f s, %llu face%s", (unsigned long long)s->n_frames,
		    s->n_frames == 1 ? "" : "s", seconds, (unsigned long long)n_faces,
		    n_faces == 1 ? "" : "s");
	else
		ADD("%llu record%s, %llu face%s", (unsigned long long)s->n_records,
		    s->n_records == 1 ? "" : "s", (unsigned long long)n_faces,
		    n_faces == 1 ? "" : "s");
	if (s->n_uncertain > 0)
		ADD(" (and %llu uncertain)", (unsigned long long)s->n_uncertain);
	if (!any) {
		ADD(": no expression to summarise\n");
	} else {
		ADD("; share of %s:\n", strcmp(of, "time") == 0 ? "the time with a face" : "faces");
		int i = 0;
		for (; i < FM_N_EMOTIONS && share[order[i]] > 0; i++) {
			int k = order[i], bar = (int)lround(share[k] * 40);
			ADD("  %-8s %5.1f%%  ", fm_emotion_name((enum fm_emotion)k),
			    100 * share[k]);
			for (int b = 0; b < bar; b++)
				ADD("#");
			while (n > 0 && buf[n - 1] == ' ')
				n--;
			ADD("\n");
		}
		/* the expressions no one showed, on one line: the table stays short */
		for (int j = i; j < FM_N_EMOTIONS; j++)
			ADD("%s%s", j == i ? "  none:    " : ", ",
			    fm_emotion_name((enum fm_emotion)order[j]));
		if (i < FM_N_EMOTIONS)
			ADD("\n");
		ADD("dominant: %s", fm_emotion_name(fm_mood_top(share)));
		if (s->n_frames > 0 && seconds > 0)
			ADD("; brief expression changes: %llu, %.2f a minute",
			    (unsigned long long)s->n_brief, s->n_brief / (seconds / 60));
		ADD("\n");
	}
#undef ADD
	*text = buf;
	*n_bytes = n;
	return 0;
}
