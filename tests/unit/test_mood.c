/*
 * tests/unit/test_mood.c: lib/mood (cmocka): the emotions' names, distributions, the rule
 * that pools a record's faces (and that fer-classify --smooth and recommend share), records
 * pooled over time, and the timeline's smoothing and brief-expression events on synthetic
 * score sequences whose events are known.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"

/* A distribution sure of e at level sure, the rest spread evenly. */
static void
dist(enum fm_emotion e, double sure, double p[FM_N_EMOTIONS])
{
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		p[k] = k == (int)e ? sure : (1 - sure) / (FM_N_EMOTIONS - 1);
}

struct segment {
	enum fm_emotion e;
	double sure, seconds;
};

/* Play segments at fps; collect the events (at most max) and return how many. */
static int
play(const struct segment *segs, size_t n_segs, double fps, struct fm_mood_brief *events, int max,
     double last_smoothed[FM_N_EMOTIONS])
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	struct fm_mood_timeline *tl;
	struct fm_err err;
	int n_events = 0;
	long frame = 0;

	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	for (size_t s = 0; s < n_segs; s++) {
		long frames = lround(segs[s].seconds * fps);

		for (long i = 0; i < frames; i++, frame++) {
			double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS], sum = 0;
			struct fm_mood_brief ev;
			int rc;

			dist(segs[s].e, segs[s].sure, p);
			rc = fm_mood_timeline_add(tl, (double)frame / fps, p, sm, &ev, &err);
			assert_true(rc == 0 || rc == 1);
			for (int k = 0; k < FM_N_EMOTIONS; k++)
				sum += sm[k];
			assert_true(fabs(sum - 1) < 1e-9);
			if (rc == 1) {
				assert_true(n_events < max);
				events[n_events++] = ev;
			}
			if (last_smoothed != NULL)
				for (int k = 0; k < FM_N_EMOTIONS; k++)
					last_smoothed[k] = sm[k];
		}
	}
	fm_mood_timeline_free(tl);
	return n_events;
}

static void
a_brief_surprise_is_one_event_with_its_timing(void **state)
{
	const struct segment segs[] = {
	    {FM_NEUTRAL, 0.8, 3.0}, {FM_SURPRISE, 0.9, 0.2}, {FM_NEUTRAL, 0.8, 2.0}};
	struct fm_mood_brief ev[4];

	(void)state;
	assert_int_equal(play(segs, 3, 30, ev, 4, NULL), 1);
	assert_int_equal(ev[0].emotion, FM_SURPRISE);
	assert_int_equal(ev[0].baseline, FM_NEUTRAL);
	assert_true(fabs(ev[0].start_sec - 3.0) < 1e-9);
	assert_true(fabs(ev[0].duration_sec - 0.2) < 1e-9);
	assert_true(fabs(ev[0].peak - 0.9) < 1e-9);
}

static void
a_lasting_change_is_no_event_and_becomes_the_mood(void **state)
{
	const struct segment segs[] = {{FM_NEUTRAL, 0.8, 3.0}, {FM_HAPPY, 0.9, 3.0}};
	struct fm_mood_brief ev[4];
	double sm[FM_N_EMOTIONS];

	(void)state;
	assert_int_equal(play(segs, 2, 30, ev, 4, sm), 0);
	assert_true(sm[FM_HAPPY] > 0.85);
}

static void
flicker_and_unsure_departures_are_no_events(void **state)
{
	/* One frame at 30 frames/s is 33 ms, under the 60 ms floor. */
	const struct segment flicker[] = {
	    {FM_NEUTRAL, 0.8, 2.0}, {FM_ANGRY, 0.9, 1.0 / 30}, {FM_NEUTRAL, 0.8, 1.0}};
	/* Sad on top, but at 0.4: below min_prob. */
	const struct segment unsure[] = {
	    {FM_NEUTRAL, 0.8, 2.0}, {FM_SAD, 0.4, 0.2}, {FM_NEUTRAL, 0.8, 1.0}};
	struct fm_mood_brief ev[4];

	(void)state;
	assert_int_equal(play(flicker, 3, 30, ev, 4, NULL), 0);
	assert_int_equal(play(unsure, 3, 30, ev, 4, NULL), 0);
}

static void
events_are_found_at_any_frame_rate(void **state)
{
	const struct segment segs[] = {{FM_NEUTRAL, 0.7, 2.0}, {FM_FEAR, 0.8, 0.3},
	                               {FM_NEUTRAL, 0.7, 1.5}, {FM_DISGUST, 0.6, 0.4},
	                               {FM_NEUTRAL, 0.7, 1.5}, {FM_HAPPY, 0.9, 0.7},
	                               {FM_NEUTRAL, 0.7, 2.0}};
	static const double rates[] = {10, 20, 30, 60}; /* whole frames in every spell */
	struct fm_mood_brief ev[8];

	(void)state;
	for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
		/* The happy spell of 0.7 s is too long to be brief. */
		assert_int_equal(play(segs, 7, rates[r], ev, 8, NULL), 2);
		assert_int_equal(ev[0].emotion, FM_FEAR);
		assert_true(fabs(ev[0].start_sec - 2.0) < 1e-9);
		assert_true(fabs(ev[0].duration_sec - 0.3) < 1e-9);
		assert_int_equal(ev[1].emotion, FM_DISGUST);
		assert_true(fabs(ev[1].start_sec - 3.8) < 1e-9);
		assert_true(fabs(ev[1].duration_sec - 0.4) < 1e-9);
	}
}

static void
smoothing_halves_the_gap_each_half_life(void **state)
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT; /* half-life 0.5 s */
	struct fm_mood_timeline *tl;
	struct fm_mood_brief ev;
	struct fm_err err;
	double a[FM_N_EMOTIONS], b[FM_N_EMOTIONS], sm[FM_N_EMOTIONS];

	(void)state;
	dist(FM_SAD, 1.0, a);
	dist(FM_HAPPY, 1.0, b);
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	assert_int_equal(fm_mood_timeline_add(tl, 10.0, a, sm, &ev, &err), 0);
	assert_true(sm[FM_SAD] == 1.0);
	/* Frames at uneven times: 0.1 + 0.15 + 0.25 = one half-life. */
	fm_mood_timeline_add(tl, 10.1, b, sm, &ev, &err);
	fm_mood_timeline_add(tl, 10.25, b, sm, &ev, &err);
	fm_mood_timeline_add(tl, 10.5, b, sm, &ev, &err);
	assert_true(fabs(sm[FM_SAD] - 0.5) < 1e-12);
	assert_true(fabs(sm[FM_HAPPY] - 0.5) < 1e-12);
	/* Two frames at the same time: the second moves nothing. */
	fm_mood_timeline_add(tl, 10.5, a, sm, &ev, &err);
	assert_true(fabs(sm[FM_SAD] - 0.5) < 1e-12);
	fm_mood_timeline_free(tl);
}

static void
bad_input_is_refused_and_changes_nothing(void **state)
{
	struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	struct fm_mood_timeline *tl;
	struct fm_mood_brief ev;
	struct fm_err err;
	double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS], zero[FM_N_EMOTIONS] = {0};

	(void)state;
	dist(FM_HAPPY, 0.9, p);
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	assert_int_equal(fm_mood_timeline_add(tl, 1.0, p, sm, &ev, &err), 0);
	assert_int_equal(fm_mood_timeline_add(tl, 0.5, p, sm, &ev, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(fm_mood_timeline_add(tl, NAN, p, sm, &ev, &err), -1);
	assert_int_equal(fm_mood_timeline_add(tl, 2.0, zero, sm, &ev, &err), -1);
	p[3] = NAN;
	assert_int_equal(fm_mood_timeline_add(tl, 2.0, p, sm, &ev, &err), -1);
	p[3] = -0.1;
	assert_int_equal(fm_mood_timeline_add(tl, 2.0, p, sm, &ev, &err), -1);
	/* Unnormalised input is scaled to sum to 1. */
	dist(FM_HAPPY, 0.9, p);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		p[k] *= 3;
	assert_int_equal(fm_mood_timeline_add(tl, 2.0, p, sm, &ev, &err), 0);
	assert_true(fabs(sm[FM_HAPPY] - 0.9) < 1e-12);
	fm_mood_timeline_free(tl);

	o.half_life_sec = 0;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), -1);
	o = (struct fm_mood_timeline_opts)FM_MOOD_TIMELINE_OPTS_DEFAULT;
	o.brief_max_sec = o.brief_min_sec;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), -1);
	o = (struct fm_mood_timeline_opts)FM_MOOD_TIMELINE_OPTS_DEFAULT;
	o.min_prob = 1.5;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), -1);
	assert_null(tl);
}

/* ------------------------------------------------------------------------------------------ */

static void
names_parse_in_any_case(void **state)
{
	static const char *const spelt[] = {"sad", "Sad", "SAD", "sAd"};
	struct fm_err err;
	enum fm_emotion e;

	(void)state;
	for (int k = 0; k < FM_N_EMOTIONS; k++) {
		assert_int_equal(fm_emotion_parse(fm_emotion_name((enum fm_emotion)k), &e, &err),
		                 0);
		assert_int_equal(e, k);
	}
	for (size_t k = 0; k < sizeof spelt / sizeof *spelt; k++) {
		e = FM_ANGRY;
		assert_int_equal(fm_emotion_parse(spelt[k], &e, &err), 0);
		assert_int_equal(e, FM_SAD);
	}
	assert_string_equal(fm_emotion_name(FM_SURPRISE), "surprise");
	assert_null(fm_emotion_name(FM_N_EMOTIONS));
	assert_int_equal(fm_emotion_parse("blue", &e, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_non_null(
	    strstr(err.msg, "one of angry, disgust, fear, happy, sad, surprise, neutral"));
	assert_int_equal(fm_emotion_parse("sadness", &e, &err), -1);
	assert_int_equal(fm_emotion_parse("", &e, &err), -1);
}

static void
valence_is_the_expected_circumplex_place(void **state)
{
	double happy[FM_N_EMOTIONS] = {0, 0, 0, 1, 0, 0, 0};
	double half[FM_N_EMOTIONS] = {0, 0, 0, 0.5, 0.5, 0, 0};
	double flat[FM_N_EMOTIONS] = {1. / 7, 1. / 7, 1. / 7, 1. / 7, 1. / 7, 1. / 7, 1. / 7};

	(void)state;
	assert_true(fm_emotion_valence(FM_HAPPY) > 0 && fm_emotion_valence(FM_SURPRISE) > 0);
	assert_true(fm_emotion_valence(FM_SAD) < 0 && fm_emotion_valence(FM_ANGRY) < 0);
	assert_true(fm_emotion_valence(FM_DISGUST) < 0 && fm_emotion_valence(FM_FEAR) < 0);
	assert_true(fm_emotion_valence(FM_NEUTRAL) == 0);
	assert_true(fm_emotion_valence(FM_N_EMOTIONS) == 0);
	assert_true(fm_mood_valence(happy) == 0.8);
	assert_true(fabs(fm_mood_valence(half)) < 1e-12);
	assert_true(fabs(fm_mood_valence(flat) - (-1.7 / 7)) < 1e-12);
}

static void
top_is_the_first_of_equals(void **state)
{
	double p[FM_N_EMOTIONS] = {0.1, 0.1, 0.1, 0.3, 0.3, 0.05, 0.05};
	float f[FM_N_EMOTIONS] = {0, 0, 0, 0, 0, 0, 0};

	(void)state;
	assert_int_equal(fm_mood_top(p), FM_HAPPY);
	p[FM_NEUTRAL] = 0.31;
	assert_int_equal(fm_mood_top(p), FM_NEUTRAL);
	assert_int_equal(fm_mood_top_float(f), FM_ANGRY);
	f[FM_FEAR] = 0.5f;
	assert_int_equal(fm_mood_top_float(f), FM_FEAR);
}

static void
normalize_scales_to_one_and_refuses_what_is_no_distribution(void **state)
{
	double p[FM_N_EMOTIONS] = {3, 0, 0, 1, 0, 0, 0}, keep[FM_N_EMOTIONS];
	double huge[FM_N_EMOTIONS] = {DBL_MAX, DBL_MAX, DBL_MAX, DBL_MAX,
	                              DBL_MAX, DBL_MAX, DBL_MAX};
	struct fm_err err;

	(void)state;
	assert_int_equal(fm_mood_normalize(p, &err), 0);
	assert_true(fabs(p[FM_ANGRY] - 0.75) < 1e-15 && fabs(p[FM_HAPPY] - 0.25) < 1e-15);
	assert_int_equal(fm_mood_check(p, &err), 0);
	/* Seven times DBL_MAX would sum to infinity: each is 1/7 all the same. */
	assert_int_equal(fm_mood_normalize(huge, &err), 0);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		assert_true(fabs(huge[k] - 1.0 / 7) < 1e-15);
	/* Negative, NaN, infinite and all-zero values are refused, and p is left alone. */
	for (int bad = 0; bad < 4; bad++) {
		double q[FM_N_EMOTIONS] = {0, 0, 0, 0.5, 0.5, 0, 0};

		q[FM_SAD] = bad == 0 ? -0.1 : bad == 1 ? NAN : bad == 2 ? INFINITY : 0;
		if (bad == 3)
			q[FM_HAPPY] = 0;
		memcpy(keep, q, sizeof keep);
		assert_int_equal(fm_mood_normalize(q, &err), -1);
		assert_int_equal(err.code, FM_EINVAL);
		assert_memory_equal(q, keep, sizeof keep);
		assert_int_equal(fm_mood_check(q, &err), -1);
	}
	/* check wants a sum of 1 within 1e-6, and does not change it. */
	p[FM_ANGRY] += 2e-6;
	assert_int_equal(fm_mood_check(p, &err), -1);
	assert_non_null(strstr(err.msg, "not 1"));
}

static void
decay_halves_each_half_life(void **state)
{
	(void)state;
	assert_true(fm_mood_decay(1, 1) == 0.5);
	assert_true(fabs(fm_mood_decay(0.75, 0.25) - 0.125) < 1e-15);
	/* No time, time going back, or no half-life: nothing decays. */
	assert_true(fm_mood_decay(0, 1) == 1);
	assert_true(fm_mood_decay(-3, 1) == 1);
	assert_true(fm_mood_decay(5, 0) == 1);
	/* A long silence leaves nothing, not NaN. */
	assert_true(fm_mood_decay(1e6, 1) == 0);
}

/* One record's pooled distribution; fails the test on error. */
static size_t
record(const char *json, double p[FM_N_EMOTIONS])
{
	cJSON *rec = cJSON_Parse(json);
	struct fm_err err;
	size_t n;

	assert_non_null(rec);
	if (fm_mood_record(rec, p, &n, &err) == -1)
		fail_msg("%s: %s", json, err.msg);
	cJSON_Delete(rec);
	return n;
}

static void
a_record_pools_its_faces_by_the_documented_rule(void **state)
{
	double p[FM_N_EMOTIONS];

	(void)state;
	/* 100x100 at score 1 against 50x50 at 0.8: 10000 against 2000. */
	assert_int_equal(record("{\"faces\":[{\"w\":100,\"h\":100,\"score\":1,"
	                        "\"scores\":{\"happy\":1}},{\"w\":50,\"h\":50,\"score\":0.8,"
	                        "\"scores\":{\"sad\":1}}]}",
	                        p),
	                 2);
	assert_true(fabs(p[FM_HAPPY] - 10000.0 / 12000) < 1e-12);
	/* A negative box is no box: the face counts as 1 by 1 (w * h of two negative sides
	 * would have counted it as 100 by 100). A score outside (0, 1] is left out. */
	record("{\"faces\":[{\"w\":-100,\"h\":-100,\"scores\":{\"happy\":1}},"
	       "{\"w\":2,\"h\":2,\"score\":7,\"scores\":{\"sad\":1}}]}",
	       p);
	assert_true(fabs(p[FM_HAPPY] - 1.0 / 5) < 1e-12 && fabs(p[FM_SAD] - 4.0 / 5) < 1e-12);
	/* A face with only "emotion" is certain of it, and counts as well as one with scores. */
	record("{\"faces\":[{\"w\":10,\"h\":10,\"emotion\":\"Angry\"},"
	       "{\"w\":10,\"h\":10,\"scores\":{\"fear\":3,\"angry\":1}}]}",
	       p);
	assert_true(fabs(p[FM_ANGRY] - 0.625) < 1e-12 && fabs(p[FM_FEAR] - 0.375) < 1e-12);
	/* Huge boxes are held at 1e18, tiny ones at 1e-12: finite, and in proportion. */
	record("{\"faces\":[{\"w\":1e154,\"h\":1e154,\"scores\":{\"happy\":1}},"
	       "{\"w\":1e200,\"h\":1e200,\"scores\":{\"happy\":1}},"
	       "{\"w\":1e-200,\"h\":1e-200,\"score\":1e-300,\"scores\":{\"sad\":1}}]}",
	       p);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		assert_true(isfinite(p[k]));
	assert_true(p[FM_SAD] > 0 && p[FM_SAD] < 1e-29 && p[FM_HAPPY] > 0.999999);
	/* A bare record is one face; events and face-less records have none. */
	assert_int_equal(record("{\"scores\":{\"neutral\":1}}", p), 1);
	assert_true(p[FM_NEUTRAL] == 1);
	assert_int_equal(record("{\"emotion\":\"SURPRISE\"}", p), 1);
	assert_true(p[FM_SURPRISE] == 1);
	assert_int_equal(record("{\"event\":\"brief\",\"emotion\":\"fear\"}", p), 0);
	assert_int_equal(record("{\"path\":\"a.jpg\",\"faces\":[]}", p), 0);
	assert_int_equal(record("{\"path\":\"a.jpg\"}", p), 0);
}

/*
 * fer-classify --smooth gives the timeline fm_mood_record's distribution, whose first frame
 * it reports as its own; recommend pools the record through fm_mood_pool_add. On the edge
 * cases where the two once differed (negative boxes, faces with only "emotion", boxes huge
 * enough to make a sum infinite) they must agree to the last bit.
 */
static void
smoothing_and_recommend_pool_a_record_alike(void **state)
{
	static const char *const recs[] = {
	    "{\"t\":0,\"faces\":[{\"w\":-40,\"h\":-40,\"scores\":{\"happy\":0.9,\"sad\":0.1}},"
	    "{\"w\":20,\"h\":20,\"score\":0.5,\"scores\":{\"sad\":0.8,\"neutral\":0.2}}]}",
	    "{\"t\":0,\"faces\":[{\"w\":30,\"h\":30,\"emotion\":\"surprise\"},"
	    "{\"w\":30,\"h\":30,\"scores\":{\"fear\":0.6,\"surprise\":0.4}}]}",
	    "{\"t\":0,\"faces\":[{\"w\":1e154,\"h\":1e154,\"scores\":{\"angry\":1}},"
	    "{\"w\":1e154,\"h\":1e154,\"scores\":{\"disgust\":1}},"
	    "{\"w\":48,\"h\":48,\"scores\":{\"happy\":1}}]}",
	    "{\"t\":0,\"faces\":[{\"scores\":{\"sad\":2,\"happy\":2}},{\"w\":\"x\",\"h\":9,"
	    "\"score\":-1,\"scores\":{\"happy\":1}}]}",
	};
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;

	(void)state;
	for (size_t k = 0; k < sizeof recs / sizeof *recs; k++) {
		double frame[FM_N_EMOTIONS], smoothed[FM_N_EMOTIONS], pooled[FM_N_EMOTIONS];
		struct fm_mood_timeline *tl;
		struct fm_mood_pool pool;
		struct fm_mood_brief ev;
		struct fm_err err;
		cJSON *rec = cJSON_Parse(recs[k]);
		size_t n;

		assert_non_null(rec);
		/* fer-classify --smooth's path. */
		assert_int_equal(fm_mood_record(rec, frame, &n, &err), 0);
		assert_true(n > 0);
		assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
		assert_int_equal(fm_mood_timeline_add(tl, 0, frame, smoothed, &ev, &err), 0);
		fm_mood_timeline_free(tl);
		/* recommend's. */
		fm_mood_pool_init(&pool, 0);
		assert_int_equal(fm_mood_pool_add(&pool, rec, &n, &err), 0);
		assert_int_equal(fm_mood_pool_get(&pool, pooled, &err), 0);
		for (int e = 0; e < FM_N_EMOTIONS; e++) {
			assert_true(isfinite(smoothed[e]));
			assert_true(fabs(smoothed[e] - pooled[e]) < 1e-15);
		}
		assert_int_equal(fm_mood_top(smoothed), fm_mood_top(pooled));
		cJSON_Delete(rec);
	}
}

static void
add_json(struct fm_mood_pool *m, const char *json, size_t expect_faces)
{
	cJSON *rec = cJSON_Parse(json);
	struct fm_err e;
	size_t n;

	assert_non_null(rec);
	if (fm_mood_pool_add(m, rec, &n, &e) == -1)
		fail_msg("%s: %s", json, e.msg);
	assert_int_equal(n, expect_faces);
	cJSON_Delete(rec);
}

static void
faces_are_weighted_by_area_and_score(void **state)
{
	struct fm_mood_pool m;
	double p[FM_N_EMOTIONS];
	struct fm_err e;

	(void)state;
	fm_mood_pool_init(&m, 0);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), -1);
	/* Area 100x100 at score 1 against 50x50 at score 0.8: weights 10000 and 2000. */
	add_json(
	    &m,
	    "{\"path\":\"a.jpg\",\"faces\":[{\"w\":100,\"h\":100,\"score\":1,"
	    "\"scores\":{\"happy\":1}},{\"w\":50,\"h\":50,\"score\":0.8,\"scores\":{\"sad\":1}}]}",
	    2);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_HAPPY] - 10000.0 / 12000) < 1e-12);
	assert_true(fabs(p[FM_SAD] - 2000.0 / 12000) < 1e-12);
	/* A second photo counts as much as the first, whatever its faces' sizes. */
	add_json(&m, "{\"faces\":[{\"w\":10,\"h\":10,\"emotion\":\"angry\"}]}", 1);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_ANGRY] - 0.5) < 1e-12);
	assert_true(fm_mood_top(p) == FM_ANGRY);
	/* Records without faces, and fer-classify's events, change nothing. */
	add_json(&m, "{\"path\":\"b.jpg\",\"faces\":[]}", 0);
	add_json(&m, "{\"event\":\"brief\",\"emotion\":\"surprise\"}", 0);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_ANGRY] - 0.5) < 1e-12);
	/* Boxes and scores at the ends of a double leave the pool finite (they made it NaN). */
	add_json(&m,
	         "{\"faces\":[{\"w\":1e154,\"h\":1e154,\"scores\":{\"happy\":1}},"
	         "{\"w\":1e154,\"h\":1e154,\"scores\":{\"happy\":1}},"
	         "{\"w\":1e-200,\"h\":1e-200,\"score\":1e-300,\"scores\":{\"sad\":1}}]}",
	         3);
	add_json(&m, "{\"faces\":[{\"scores\":{\"sad\":1e308,\"fear\":1e308,\"angry\":1e308}}]}",
	         1);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		assert_true(isfinite(p[k]));
	/* Four records of weight 1: the third all happy, the last a third fear. */
	assert_true(fabs(p[FM_HAPPY] - (10000.0 / 12000 + 1) / 4) < 1e-9);
	assert_true(fabs(p[FM_FEAR] - 1.0 / 3 / 4) < 1e-9);
}

static void
scores_are_renormalised_and_checked(void **state)
{
	static const char *bad[] = {
	    "{\"faces\":[{\"scores\":{\"contempt\":1}}]}",
	    "{\"faces\":[{\"scores\":{\"sad\":-0.1,\"happy\":1}}]}",
	    "{\"faces\":[{\"scores\":{\"sad\":0,\"happy\":0}}]}",
	    "{\"faces\":[{\"scores\":{\"sad\":\"high\"}}]}",
	    "{\"faces\":[{\"scores\":[0.5,0.5]}]}",
	    "{\"faces\":[{\"w\":10,\"h\":10}]}",
	    "{\"faces\":{\"w\":10}}",
	    "{\"faces\":[{\"emotion\":\"bored\"}]}",
	    "{\"faces\":[3]}",
	};
	struct fm_mood_pool m;
	double p[FM_N_EMOTIONS];
	struct fm_err e;
	size_t n;

	(void)state;
	fm_mood_pool_init(&m, 0);
	add_json(&m, "{\"faces\":[{\"scores\":{\"sad\":3,\"neutral\":1}}]}", 1);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_SAD] - 0.75) < 1e-12 && fabs(p[FM_NEUTRAL] - 0.25) < 1e-12);
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		cJSON *rec = cJSON_Parse(bad[k]);
		assert_int_equal(fm_mood_pool_add(&m, rec, &n, &e), -1);
		assert_int_equal(e.code, FM_EFORMAT);
		cJSON_Delete(rec);
	}
	/* Nothing of the bad records was pooled. */
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_SAD] - 0.75) < 1e-12);
	assert_int_equal(m.n_records, 1);
}

static void
half_life_lets_recent_frames_dominate(void **state)
{
	struct fm_mood_pool m;
	double p[FM_N_EMOTIONS];
	struct fm_err e;

	(void)state;
	fm_mood_pool_init(&m, 1);
	add_json(&m, "{\"t\":0,\"faces\":[{\"scores\":{\"happy\":1}}]}", 1);
	add_json(&m, "{\"t\":1,\"faces\":[{\"scores\":{\"sad\":1}}]}", 1);
	/* The happy frame has decayed to half the sad one's weight: 1/3 against 2/3. */
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_HAPPY] - 1.0 / 3) < 1e-12);
	/* A frame without faces lets time pass; a long silence leaves the last mood. */
	add_json(&m, "{\"t\":5000,\"faces\":[]}", 0);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_HAPPY] - 1.0 / 3) < 1e-12);
	add_json(&m, "{\"t\":5001,\"faces\":[{\"scores\":{\"fear\":1}}]}", 1);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(p[FM_FEAR] > 0.999999);
	/* Without a half-life the same frames count alike. */
	fm_mood_pool_init(&m, 0);
	add_json(&m, "{\"t\":0,\"faces\":[{\"scores\":{\"happy\":1}}]}", 1);
	add_json(&m, "{\"t\":100,\"faces\":[{\"scores\":{\"sad\":1}}]}", 1);
	assert_int_equal(fm_mood_pool_get(&m, p, &e), 0);
	assert_true(fabs(p[FM_HAPPY] - 0.5) < 1e-12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_parse_in_any_case),
	    cmocka_unit_test(top_is_the_first_of_equals),
	    cmocka_unit_test(valence_is_the_expected_circumplex_place),
	    cmocka_unit_test(normalize_scales_to_one_and_refuses_what_is_no_distribution),
	    cmocka_unit_test(decay_halves_each_half_life),
	    cmocka_unit_test(a_record_pools_its_faces_by_the_documented_rule),
	    cmocka_unit_test(smoothing_and_recommend_pool_a_record_alike),
	    cmocka_unit_test(a_brief_surprise_is_one_event_with_its_timing),
	    cmocka_unit_test(a_lasting_change_is_no_event_and_becomes_the_mood),
	    cmocka_unit_test(flicker_and_unsure_departures_are_no_events),
	    cmocka_unit_test(events_are_found_at_any_frame_rate),
	    cmocka_unit_test(smoothing_halves_the_gap_each_half_life),
	    cmocka_unit_test(bad_input_is_refused_and_changes_nothing),
	    cmocka_unit_test(faces_are_weighted_by_area_and_score),
	    cmocka_unit_test(scores_are_renormalised_and_checked),
	    cmocka_unit_test(half_life_lets_recent_frames_dominate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
