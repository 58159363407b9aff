/*
 * lib/react.c: the plays of a play log judged by the listener's face (lib/react.h).
 *
 * Frames stream through once and are not kept: each play holds the sums of the frames of
 * its windows (lib/mood's fm_mood_window), so that a session of hours costs the memory of
 * its play log. Plays may not overlap, which keeps them in time order: a frame reaches the
 * few plays around its time, and plays are judged, and handed out, in the log's order.
 * Brief expressions come from one lib/mood timeline over the whole stream, as
 * fer-classify --smooth spots them, and belong to the play during which they started.
 */
#include "react.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"
#include "ndjson.h"
#include "rank.h"

enum play_state {
	PLAY_OPEN,    /* decoded, waiting for frames */
	PLAY_REFUSED, /* fm_react_play_add refused it: its record carries "error" */
	PLAY_PASS,    /* it arrived with "error": passed on as it is */
};

struct brief_item {
	enum fm_emotion emotion;
	double start_sec, duration_sec;
};

struct play {
	cJSON *rec;
	uint64_t line;
	enum play_state state;
	struct fm_react_play p;
	double prev_end_sec;           /* the end of the play before it, or -HUGE_VAL */
	struct fm_mood_window before;  /* faces in [start - baseline, start) */
	struct fm_mood_window pause;   /* those of them after prev_end_sec: between songs */
	struct fm_mood_window during;  /* faces in [start, end] */
	struct fm_mood_window opening; /* faces in [start, start + baseline): the fallback */
	struct fm_mood_window rest;    /* faces in [start + baseline, end] */
	size_t n_frames_during;        /* frames in [start, end], with a face or not */
	double brief_sum;              /* fm_mood_brief_valence of its brief expressions */
	size_t n_telling;              /* those of them that count (the valence is not 0) */
	size_t n_brief;                /* all of them, listed or not */
	struct brief_item *brief;      /* the first FM_REACT_MAX_BRIEF, allocated when needed */
};

struct fm_react {
	struct fm_react_opts o;
	struct fm_mood_timeline *timeline;
	struct play *plays;
	size_t n_plays, cap;
	size_t head; /* the next play to hand out */
	bool have_last;
	double last_end_sec;  /* the end of the latest play accepted */
	uint64_t last_line;   /* and its line */
	double brief_sum_all; /* fm_mood_brief_valence of every brief expression so far */
	size_t n_telling_all; /* those that count */
	bool any_frame;       /* the frames' span so far: */
	double first_t, last_t;
	bool finished;
};

/* A time of the play log onto the frames' clock; *wall_sec is NAN without an origin. */
static int
decode_time(const cJSON *rec, const char *key, const struct fm_react_opts *o, double *t_sec,
            double *wall_sec, struct fm_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	struct fm_err why;

	if (v == NULL)
		return fm_err_set(err, FM_EFORMAT,
		                  "no \"%s\": a play log line is {\"path\", \"start\", \"end\"}",
		                  key);
	if (!o->has_origin) {
		if (cJSON_IsString(v))
			return fm_err_set(
			    err, FM_EFORMAT,
			    "\"%s\" is a date and time: give --origin, the wall-clock "
			    "time of the frames' t = 0",
			    key);
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
			return fm_err_set(err, FM_EFORMAT, "\"%s\" is not a number of seconds",
			                  key);
		*t_sec = v->valuedouble;
		*wall_sec = NAN;
		return 0;
	}
	if (!cJSON_IsNumber(v) && !cJSON_IsString(v))
		return fm_err_set(err, FM_EFORMAT,
		                  "\"%s\" is neither Unix seconds nor a date and time string", key);
	if (fm_rank_time_decode(v, wall_sec, &why) == -1)
		return fm_err_set(err, FM_EFORMAT, "\"%s\": %s", key, why.msg);
	*t_sec = *wall_sec - o->origin_sec;
	if (!isfinite(*t_sec))
		return fm_err_set(err, FM_EFORMAT, "\"%s\" is too far from --origin", key);
	return 0;
}

int
fm_react_play_decode(const cJSON *rec, const struct fm_react_opts *o, struct fm_react_play *play,
                     struct fm_err *err)
{
	const char *path;
	double wall_end;

	if (fm_ndjson_get_path(rec, &path, err) == -1 ||
	    decode_time(rec, "start", o, &play->start_sec, &play->time_sec, err) == -1 ||
	    decode_time(rec, "end", o, &play->end_sec, &wall_end, err) == -1)
		return -1;
	if (play->end_sec < play->start_sec)
		return fm_err_set(err, FM_EFORMAT, "the play ends (%.10g) before it starts (%.10g)",
		                  o->has_origin ? wall_end : play->end_sec,
		                  o->has_origin ? play->time_sec : play->start_sec);
	return 0;
}

int
fm_react_new(const struct fm_react_opts *o, struct fm_react **out, struct fm_err *err)
{
	const struct fm_mood_timeline_opts tl = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	struct fm_react *r;

	*out = NULL;
	if (!(o->baseline_sec > 0 && o->baseline_sec <= 3600))
		return fm_err_set(err, FM_EINVAL, "the baseline is not within (0, 3600] seconds");
	if (o->has_origin && !isfinite(o->origin_sec))
		return fm_err_set(err, FM_EINVAL, "the origin is not a finite time");
	if ((r = calloc(1, sizeof *r)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	r->o = *o;
	if (fm_mood_timeline_new(&tl, &r->timeline, err) == -1) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void
fm_react_free(struct fm_react *r)
{
	if (r == NULL)
		return;
	for (size_t i = r->head; i < r->n_plays; i++) {
		cJSON_Delete(r->plays[i].rec);
		free(r->plays[i].brief);
	}
	free(r->plays);
	fm_mood_timeline_free(r->timeline);
	free(r);
}

/* Refuse the play just queued: its record comes out in its turn with why as "error". */
static int
refuse(struct play *pl, const struct fm_err *why, struct fm_err *err)
{
	pl->state = PLAY_REFUSED;
	if (fm_ndjson_set_error(pl->rec, why->msg, err) == -1)
		return -1;
	return fm_err_set(err, FM_EFORMAT, "%s", why->msg);
}

int
fm_react_play_add(struct fm_react *r, cJSON *rec, uint64_t line, struct fm_err *err)
{
	struct play *pl;
	struct fm_err why;

	if (r->n_plays == r->cap) {
		size_t cap = r->cap == 0 ? 16 : r->cap * 2;
		struct play *grown =
		    cap > SIZE_MAX / sizeof *grown ? NULL : realloc(r->plays, cap * sizeof *grown);

		if (grown == NULL) {
			cJSON_Delete(rec);
			return fm_err_set(err, FM_ENOMEM, "out of memory for the play log");
		}
		r->plays = grown;
		r->cap = cap;
	}
	pl = &r->plays[r->n_plays++];
	*pl = (struct play){.rec = rec, .line = line, .state = PLAY_OPEN};
	if (fm_ndjson_has_error(rec)) {
		pl->state = PLAY_PASS;
		return 0;
	}
	if (fm_react_play_decode(rec, &r->o, &pl->p, &why) == -1)
		return refuse(pl, &why, err);
	/* In time order, so that a frame belongs to one play and plays are judged in turn. */
	if (r->have_last && pl->p.start_sec < r->last_end_sec) {
		fm_err_set(&why, FM_EFORMAT,
		           "the play overlaps the one before it (line %llu, which ends at %.10g s "
		           "on the frames' clock)",
		           (unsigned long long)r->last_line, r->last_end_sec);
		return refuse(pl, &why, err);
	}
	pl->prev_end_sec = r->have_last ? r->last_end_sec : -HUGE_VAL;
	r->have_last = true;
	r->last_end_sec = pl->p.end_sec;
	r->last_line = line;
	return 0;
}

static int
add_brief(struct play *pl, const struct fm_mood_brief *ev, struct fm_err *err)
{
	if (pl->n_brief < FM_REACT_MAX_BRIEF) {
		if (pl->brief == NULL &&
		    (pl->brief = malloc(FM_REACT_MAX_BRIEF * sizeof *pl->brief)) == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory for brief expressions");
		pl->brief[pl->n_brief] =
		    (struct brief_item){ev->emotion, ev->start_sec, ev->duration_sec};
	}
	pl->n_brief++;
	pl->brief_sum += fm_mood_brief_valence(ev);
	pl->n_telling += fm_mood_brief_valence(ev) != 0;
	return 0;
}

/* The frame at t_sec, of distribution p when it has a face, joins the windows it is in. */
static void
add_to_plays(struct fm_react *r, double t_sec, const double p[FM_N_EMOTIONS], size_t n_faces)
{
	for (size_t i = r->head; i < r->n_plays; i++) {
		struct play *pl = &r->plays[i];
		const struct fm_react_play *pp = &pl->p;

		if (pl->state != PLAY_OPEN)
			continue;
		/* Accepted plays do not overlap: the later ones start later still. */
		if (pp->start_sec - r->o.baseline_sec > t_sec)
			break;
		if (t_sec > pp->end_sec)
			continue;
		if (t_sec >= pp->start_sec)
			pl->n_frames_during++;
		if (n_faces == 0)
			continue;
		if (t_sec < pp->start_sec) {
			fm_mood_window_add(&pl->before, p);
			if (t_sec > pl->prev_end_sec)
				fm_mood_window_add(&pl->pause, p);
			continue;
		}
		fm_mood_window_add(&pl->during, p);
		fm_mood_window_add(
		    t_sec - pp->start_sec < r->o.baseline_sec ? &pl->opening : &pl->rest, p);
	}
}

int
fm_react_frame_add(struct fm_react *r, const cJSON *rec, struct fm_err *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "t");
	double p[FM_N_EMOTIONS], smoothed[FM_N_EMOTIONS], t_sec;
	struct fm_mood_brief ev;
	size_t n_faces;
	int spotted = 0;

	if (cJSON_GetObjectItemCaseSensitive(rec, "event") != NULL)
		return 0;
	if (t == NULL)
		return fm_err_set(err, FM_EFORMAT,
		                  "a frame without \"t\": fer-react reads the frames of a stream "
		                  "(fer-detect --stream | fer-classify)");
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble))
		return fm_err_set(err, FM_EFORMAT, "\"t\" is not a number of seconds");
	t_sec = t->valuedouble;
	if (r->any_frame && t_sec < r->last_t)
		return fm_err_set(err, FM_EFORMAT,
		                  "frames out of order: \"t\" %.10g comes after %.10g", t_sec,
		                  r->last_t);
	if (fm_mood_record(rec, p, &n_faces, err) == -1)
		return -1;
	if (n_faces > 0 &&
	    (spotted = fm_mood_timeline_add(r->timeline, t_sec, p, smoothed, &ev, err)) == -1)
		return -1;
	if (!r->any_frame)
		r->first_t = t_sec;
	r->any_frame = true;
	r->last_t = t_sec;
	add_to_plays(r, t_sec, p, n_faces);
	if (spotted != 1)
		return 0;
	r->brief_sum_all += fm_mood_brief_valence(&ev);
	r->n_telling_all += fm_mood_brief_valence(&ev) != 0;
	for (size_t i = r->head; i < r->n_plays; i++) {
		struct play *pl = &r->plays[i];

		if (pl->state != PLAY_OPEN || ev.start_sec > pl->p.end_sec)
			continue;
		if (ev.start_sec < pl->p.start_sec)
			break;
		return add_brief(pl, &ev, err);
	}
	return 0;
}

void
fm_react_finish(struct fm_react *r)
{
	r->finished = true;
}

static cJSON *
number_or_null(double v, int places)
{
	return isfinite(v) ? cJSON_CreateNumber(fm_ndjson_round(v, places)) : cJSON_CreateNull();
}

static cJSON *
brief_list(const struct play *pl)
{
	size_t n = pl->n_brief < FM_REACT_MAX_BRIEF ? pl->n_brief : FM_REACT_MAX_BRIEF;
	cJSON *list = cJSON_CreateArray();

	for (size_t k = 0; k < n && list != NULL; k++) {
		const struct brief_item *b = &pl->brief[k];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(list, o)) {
			cJSON_Delete(o);
			cJSON_Delete(list);
			return NULL;
		}
		if (cJSON_AddStringToObject(o, "emotion", fm_emotion_name(b->emotion)) == NULL ||
		    cJSON_AddNumberToObject(o, "start", fm_ndjson_round(b->start_sec, 3)) == NULL ||
		    cJSON_AddNumberToObject(o, "duration", fm_ndjson_round(b->duration_sec, 3)) ==
		        NULL) {
			cJSON_Delete(list);
			return NULL;
		}
	}
	return list;
}

static double
clamp1(double v)
{
	return v < -1 ? -1 : v > 1 ? 1 : v;
}

/*
 * What the play's brief expressions add (lib/react.h): their mean valence change against
 * the listener's usual one, that of their brief expressions outside the play, which counts
 * as FM_REACT_BRIEF_PRIOR expressions of no change more, so that a classifier's flicker,
 * which comes in every song alike, cancels out, while a few real ones stand out.
 */
static double
brief_evidence(const struct fm_react *r, const struct play *pl, double unit)
{
	double usual, mean;

	if (pl->n_telling == 0)
		return 0;
	mean = pl->brief_sum / (double)pl->n_telling;
	usual = (r->brief_sum_all - pl->brief_sum) /
	        ((double)(r->n_telling_all - pl->n_telling) + FM_REACT_BRIEF_PRIOR);
	return FM_REACT_BRIEF_WEIGHT * clamp1((mean - usual) / unit) * (double)pl->n_telling /
	       ((double)pl->n_telling + 1);
}

/* The reaction and its rating (lib/react.h, fm_react_next). */
static void
reaction(const struct fm_react *rc, const struct play *pl, double valence_before,
         double valence_during, double *out, int *rating)
{
	double unit = fm_emotion_valence(FM_HAPPY);
	double r = (valence_during - valence_before) / unit + brief_evidence(rc, pl, unit);

	r = fm_ndjson_round(clamp1(r), 3);
	*out = r;
	/* lround takes halves away from zero, which is away from 3 here. */
	*rating = (int)lround(2 * r) + 3;
}

static int
judge(const struct fm_react *r, struct play *pl, struct fm_err *err)
{
	const struct fm_react_opts *o = &r->o;
	/* Between songs if there is enough of it: the song before has its own reaction. */
	const struct fm_mood_window *pre =
	    pl->pause.n_frames >= FM_REACT_MIN_BASELINE_FRAMES ? &pl->pause : &pl->before;
	const struct fm_mood_window *base = NULL, *face = &pl->during;
	const char *kind = NULL;
	double p[FM_N_EMOTIONS], react = NAN;
	char note[200] = "";
	cJSON *rec = pl->rec;
	int rating = 0;

	if (pl->during.n_frames == 0) {
		if (pl->n_frames_during == 0)
			snprintf(note, sizeof note, "no frame came during the song");
		else
			snprintf(note, sizeof note,
			         "no face was seen in the %zu frame%s during the song",
			         pl->n_frames_during, pl->n_frames_during > 1 ? "s" : "");
	} else if (pre->n_frames >= FM_REACT_MIN_BASELINE_FRAMES) {
		base = pre;
		kind = "before";
	} else if (pl->opening.n_frames >= FM_REACT_MIN_BASELINE_FRAMES && pl->rest.n_frames > 0) {
		base = &pl->opening;
		face = &pl->rest;
		kind = "opening";
	} else {
		snprintf(note, sizeof note,
		         "too few frames with a face for the listener's baseline: %zu in the %g s "
		         "before the song, %zu in its opening and %zu after it (%d are needed)",
		         pre->n_frames, o->baseline_sec, pl->opening.n_frames, pl->rest.n_frames,
		         FM_REACT_MIN_BASELINE_FRAMES);
	}
	/* Without a judgement, what the windows hold still explains why. */
	double vb = fm_mood_window_valence(base != NULL ? base : pre);
	double vd = fm_mood_window_valence(face);
	if (base != NULL)
		reaction(r, pl, vb, vd, &react, &rating);
	if (o->has_origin &&
	    (fm_ndjson_set(rec, "start", cJSON_CreateNumber(fm_ndjson_round(pl->p.start_sec, 3)),
	                   err) == -1 ||
	     fm_ndjson_set(rec, "end", cJSON_CreateNumber(fm_ndjson_round(pl->p.end_sec, 3)),
	                   err) == -1 ||
	     fm_ndjson_set(rec, "time", cJSON_CreateNumber(fm_ndjson_round(pl->p.time_sec, 3)),
	                   err) == -1))
		return -1;
	/* The mood as the song began: just before it, else its opening. */
	const struct fm_mood_window *began = pre->n_frames > 0 ? pre : &pl->opening;
	if (fm_ndjson_set(rec, "emotion",
	                  fm_mood_window_mean(began, p, NULL) == 0
	                      ? cJSON_CreateString(fm_emotion_name(fm_mood_top(p)))
	                      : cJSON_CreateNull(),
	                  err) == -1 ||
	    fm_ndjson_set(rec, "rating",
	                  rating > 0 ? cJSON_CreateNumber(rating) : cJSON_CreateNull(),
	                  err) == -1 ||
	    fm_ndjson_set(rec, "reaction", number_or_null(react, 3), err) == -1 ||
	    fm_ndjson_set(rec, "frames", cJSON_CreateNumber((double)pl->during.n_frames), err) ==
	        -1 ||
	    fm_ndjson_set(rec, "frames_before", cJSON_CreateNumber((double)pre->n_frames), err) ==
	        -1 ||
	    fm_ndjson_set(rec, "baseline", kind ? cJSON_CreateString(kind) : cJSON_CreateNull(),
	                  err) == -1 ||
	    fm_ndjson_set(rec, "valence_before", number_or_null(vb, 3), err) == -1 ||
	    fm_ndjson_set(rec, "valence_during", number_or_null(vd, 3), err) == -1 ||
	    fm_ndjson_set(rec, "brief", brief_list(pl), err) == -1 ||
	    (note[0] != '\0' && fm_ndjson_set(rec, "note", cJSON_CreateString(note), err) == -1))
		return -1;
	return 0;
}

int
fm_react_next(struct fm_react *r, struct fm_react_out *out, struct fm_err *err)
{
	struct play *pl;
	int rc = 0;

	if (r->head == r->n_plays)
		return 0;
	pl = &r->plays[r->head];
	if (pl->state == PLAY_OPEN && !r->finished &&
	    !(r->any_frame && r->last_t - pl->p.end_sec > FM_REACT_SETTLE_SEC))
		return 0;
	*out = (struct fm_react_out){.rec = pl->rec, .line = pl->line};
	if (pl->state == PLAY_OPEN) {
		if (!r->any_frame || pl->p.end_sec < r->first_t || pl->p.start_sec > r->last_t) {
			struct fm_err why;

			if (!r->any_frame)
				fm_err_set(&why, FM_EFORMAT,
				           "no frame came: the play cannot be judged");
			else
				fm_err_set(
				    &why, FM_EFORMAT,
				    "the play (%.10g .. %.10g s) is outside the frames' time "
				    "span (%.10g .. %.10g s)%s",
				    pl->p.start_sec, pl->p.end_sec, r->first_t, r->last_t,
				    /* Unix seconds, as a player logs them, are past 1973. */
				    !r->o.has_origin && pl->p.start_sec > 1e8
				        ? "; are its times Unix seconds without --origin?"
				        : "");
			if ((rc = fm_ndjson_set_error(pl->rec, why.msg, err)) == 0)
				out->error =
				    cJSON_GetObjectItemCaseSensitive(pl->rec, "error")->valuestring;
		} else {
			rc = judge(r, pl, err);
		}
	}
	free(pl->brief);
	pl->brief = NULL;
	pl->rec = NULL;
	r->head++;
	if (rc == -1) {
		cJSON_Delete(out->rec);
		out->rec = NULL;
		return -1;
	}
	return 1;
}
