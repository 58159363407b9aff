/*
 * tests/unit/test_timeline.c: smoothing over time and brief-expression events of
 * lib/timeline on synthetic score sequences whose events are known (cmocka).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "timeline.h"

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
play(const struct segment *segs, size_t n_segs, double fps, struct fm_brief_event *events, int max,
     double last_smoothed[FM_N_EMOTIONS])
{
	const struct fm_timeline_opts o = FM_TIMELINE_OPTS_DEFAULT;
	struct fm_timeline *tl;
	struct fm_err err;
	int n_events = 0;
	long frame = 0;

	assert_int_equal(fm_timeline_new(&o, &tl, &err), 0);
	for (size_t s = 0; s < n_segs; s++) {
		long frames = lround(segs[s].seconds * fps);

		for (long i = 0; i < frames; i++, frame++) {
			double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS], sum = 0;
			struct fm_brief_event ev;
			int rc;

			dist(segs[s].e, segs[s].sure, p);
			rc = fm_timeline_add(tl, (double)frame / fps, p, sm, &ev, &err);
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
	fm_timeline_free(tl);
	return n_events;
}

static void
a_brief_surprise_is_one_event_with_its_timing(void **state)
{
	const struct segment segs[] = {
	    {FM_NEUTRAL, 0.8, 3.0}, {FM_SURPRISE, 0.9, 0.2}, {FM_NEUTRAL, 0.8, 2.0}};
	struct fm_brief_event ev[4];

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
	struct fm_brief_event ev[4];
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
	struct fm_brief_event ev[4];

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
	struct fm_brief_event ev[8];

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
	const struct fm_timeline_opts o = FM_TIMELINE_OPTS_DEFAULT; /* half-life 0.5 s */
	struct fm_timeline *tl;
	struct fm_brief_event ev;
	struct fm_err err;
	double a[FM_N_EMOTIONS], b[FM_N_EMOTIONS], sm[FM_N_EMOTIONS];

	(void)state;
	dist(FM_SAD, 1.0, a);
	dist(FM_HAPPY, 1.0, b);
	assert_int_equal(fm_timeline_new(&o, &tl, &err), 0);
	assert_int_equal(fm_timeline_add(tl, 10.0, a, sm, &ev, &err), 0);
	assert_true(sm[FM_SAD] == 1.0);
	/* Frames at uneven times: 0.1 + 0.15 + 0.25 = one half-life. */
	fm_timeline_add(tl, 10.1, b, sm, &ev, &err);
	fm_timeline_add(tl, 10.25, b, sm, &ev, &err);
	fm_timeline_add(tl, 10.5, b, sm, &ev, &err);
	assert_true(fabs(sm[FM_SAD] - 0.5) < 1e-12);
	assert_true(fabs(sm[FM_HAPPY] - 0.5) < 1e-12);
	/* Two frames at the same time: the second moves nothing. */
	fm_timeline_add(tl, 10.5, a, sm, &ev, &err);
	assert_true(fabs(sm[FM_SAD] - 0.5) < 1e-12);
	fm_timeline_free(tl);
}

static void
bad_input_is_refused_and_changes_nothing(void **state)
{
	struct fm_timeline_opts o = FM_TIMELINE_OPTS_DEFAULT;
	struct fm_timeline *tl;
	struct fm_brief_event ev;
	struct fm_err err;
	double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS], zero[FM_N_EMOTIONS] = {0};

	(void)state;
	dist(FM_HAPPY, 0.9, p);
	assert_int_equal(fm_timeline_new(&o, &tl, &err), 0);
	assert_int_equal(fm_timeline_add(tl, 1.0, p, sm, &ev, &err), 0);
	assert_int_equal(fm_timeline_add(tl, 0.5, p, sm, &ev, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_int_equal(fm_timeline_add(tl, NAN, p, sm, &ev, &err), -1);
	assert_int_equal(fm_timeline_add(tl, 2.0, zero, sm, &ev, &err), -1);
	p[3] = NAN;
	assert_int_equal(fm_timeline_add(tl, 2.0, p, sm, &ev, &err), -1);
	p[3] = -0.1;
	assert_int_equal(fm_timeline_add(tl, 2.0, p, sm, &ev, &err), -1);
	/* Unnormalised input is scaled to sum to 1. */
	dist(FM_HAPPY, 0.9, p);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		p[k] *= 3;
	assert_int_equal(fm_timeline_add(tl, 2.0, p, sm, &ev, &err), 0);
	assert_true(fabs(sm[FM_HAPPY] - 0.9) < 1e-12);
	fm_timeline_free(tl);

	o.half_life_sec = 0;
	assert_int_equal(fm_timeline_new(&o, &tl, &err), -1);
	o = (struct fm_timeline_opts)FM_TIMELINE_OPTS_DEFAULT;
	o.brief_max_sec = o.brief_min_sec;
	assert_int_equal(fm_timeline_new(&o, &tl, &err), -1);
	o = (struct fm_timeline_opts)FM_TIMELINE_OPTS_DEFAULT;
	o.min_prob = 1.5;
	assert_int_equal(fm_timeline_new(&o, &tl, &err), -1);
	assert_null(tl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_brief_surprise_is_one_event_with_its_timing),
	    cmocka_unit_test(a_lasting_change_is_no_event_and_becomes_the_mood),
	    cmocka_unit_test(flicker_and_unsure_departures_are_no_events),
	    cmocka_unit_test(events_are_found_at_any_frame_rate),
	    cmocka_unit_test(smoothing_halves_the_gap_each_half_life),
	    cmocka_unit_test(bad_input_is_refused_and_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
