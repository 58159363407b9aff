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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"
#include "ndjson.h"

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

/*
 * Play segments at fps, or with jitter > 0 at intervals of (1 +- jitter) / fps drawn from
 * seed; collect the events (at most max) and return how many.
 */
static int
play_at(const struct segment *segs, size_t n_segs, double fps, double jitter, uint64_t seed,
        struct fm_mood_brief *events, int max, double last_smoothed[FM_N_EMOTIONS])
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	struct fm_mood_timeline *tl;
	struct fm_rng rng;
	struct fm_err err;
	int n_events = 0;
	double t = 0, seg_start = 0;

	fm_rng_seed(&rng, seed);
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	for (size_t s = 0; s < n_segs; s++) {
		/* The frames in [seg_start, seg_end), the times kept off its edges by rounding. */
		double seg_end = seg_start + segs[s].seconds;

		for (; t < seg_end - 1e-9;
		     t += (1 + jitter * (2 * fm_rng_uniform(&rng) - 1)) / fps) {
			double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS], sum = 0;
			struct fm_mood_brief ev;
			int rc;

			dist(segs[s].e, segs[s].sure, p);
			rc = fm_mood_timeline_add(tl, t, p, sm, &ev, &err);
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
		seg_start = seg_end;
	}
	fm_mood_timeline_free(tl);
	return n_events;
}

static int
play(const struct segment *segs, size_t n_segs, double fps, struct fm_mood_brief *events, int max,
     double last_smoothed[FM_N_EMOTIONS])
{
	return play_at(segs, n_segs, fps, 0, 0, events, max, last_smoothed);
}

static void
a_brief_surprise_is_one_event_with_its_timing(void **state)
{
	const struct segment segs[] = {
	    {FM_NEUTRAL, 0.8, 3.0}, {FM_SURPRISE, 0.9, 0.3}, {FM_NEUTRAL, 0.8, 2.0}};
	struct fm_mood_brief ev[4];

	(void)state;
	assert_int_equal(play(segs, 3, 30, ev, 4, NULL), 1);
	assert_int_equal(ev[0].emotion, FM_SURPRISE);
	assert_int_equal(ev[0].baseline, FM_NEUTRAL);
	assert_true(fabs(ev[0].start_sec - 3.0) < 1e-6);
	assert_true(fabs(ev[0].duration_sec - 0.3) < 1e-6);
	assert_true(fabs(ev[0].peak - 0.9) < 1e-9);
	assert_true(fabs(ev[0].apex_sec - 3.0) < 1e-6); /* the first of equal frames */
	assert_true(fabs(ev[0].baseline_prob - 0.2 / 6) < 1e-9);
	assert_int_equal(ev[0].n_frames, 9);
}

static void
a_lasting_change_is_no_event_and_becomes_the_mood(void **state)
{
	const struct segment segs[] = {{FM_NEUTRAL, 0.8, 3.0}, {FM_HAPPY, 0.9, 3.0}};
	/* A change for good, and a spell just over the longest brief one: neither is brief,
	 * and after each the face is back or stays without an event. */
	const struct segment spell[] = {{FM_NEUTRAL, 0.8, 3.0},
	                                {FM_HAPPY, 0.9, 1.2},
	                                {FM_NEUTRAL, 0.8, 3.0},
	                                {FM_SAD, 0.9, 0.3},
	                                {FM_NEUTRAL, 0.8, 2.0}};
	struct fm_mood_brief ev[4];
	double sm[FM_N_EMOTIONS];

	(void)state;
	assert_int_equal(play(segs, 2, 30, ev, 4, sm), 0);
	assert_true(sm[FM_HAPPY] > 0.85);
	/* The happy spell became the baseline and the face came back to neutral from it: no
	 * event either way; the later sad moment is one, from the neutral baseline again. */
	assert_int_equal(play(spell, 5, 10, ev, 4, NULL), 1);
	assert_int_equal(ev[0].emotion, FM_SAD);
	assert_int_equal(ev[0].baseline, FM_NEUTRAL);
	assert_true(fabs(ev[0].start_sec - 7.2) < 1e-6);
}

static void
flicker_and_unsure_departures_are_no_events(void **state)
{
	/* One and two misclassified frames at 10 frames a second, sure of themselves. */
	const struct segment flicker[] = {{FM_NEUTRAL, 0.8, 2.0}, {FM_ANGRY, 0.95, 0.1},
	                                  {FM_NEUTRAL, 0.8, 1.0}, {FM_HAPPY, 0.95, 0.2},
	                                  {FM_NEUTRAL, 0.8, 1.0}, {FM_SAD, 0.9, 0.1},
	                                  {FM_FEAR, 0.9, 0.1},    {FM_NEUTRAL, 0.8, 1.0}};
	/* At 30 frames a second, five frames are 0.17 s: under the shortest event, 0.2 s. */
	const struct segment fast[] = {
	    {FM_NEUTRAL, 0.8, 2.0}, {FM_ANGRY, 0.95, 5.0 / 30}, {FM_NEUTRAL, 0.8, 1.0}};
	/* Sad on top, but at 0.4: below min_prob. */
	const struct segment unsure[] = {
	    {FM_NEUTRAL, 0.8, 2.0}, {FM_SAD, 0.4, 0.3}, {FM_NEUTRAL, 0.8, 1.0}};
	/* A baseline unsure between two expressions (neutral 0.45, sad 0.35): the label flips
	 * back and forth with no margin over the baseline, which is no event. */
	const struct segment torn[] = {{FM_NEUTRAL, 0.45, 2.0},
	                               {FM_SAD, 0.45, 0.3},
	                               {FM_NEUTRAL, 0.45, 0.4},
	                               {FM_SAD, 0.45, 0.5},
	                               {FM_NEUTRAL, 0.45, 1.0}};
	struct fm_mood_brief ev[4];

	(void)state;
	assert_int_equal(play(flicker, 8, 10, ev, 4, NULL), 0);
	assert_int_equal(play(fast, 3, 30, ev, 4, NULL), 0);
	assert_int_equal(play(unsure, 3, 30, ev, 4, NULL), 0);
	assert_int_equal(play(torn, 5, 10, ev, 4, NULL), 0);
}

/* torn's two expressions share the rest of the distribution that dist leaves. */
static void
torn_dist(double neutral, double sad, double p[FM_N_EMOTIONS])
{
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		p[k] = (1 - neutral - sad) / (FM_N_EMOTIONS - 2);
	p[FM_NEUTRAL] = neutral;
	p[FM_SAD] = sad;
}

static void
a_margin_over_a_torn_baseline_is_needed(void **state)
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	struct fm_mood_timeline *tl;
	struct fm_mood_brief ev;
	struct fm_err err;
	double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS];
	int n_events = 0;

	(void)state;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	/* Neutral 0.45 and sad 0.35, then two frames of sad 0.45 and neutral 0.35, and again:
	 * the label flips, the baseline (neutral 0.41, sad 0.39) hardly moves. */
	for (int i = 0; i < 100; i++) {
		if (i % 5 == 2 || i % 5 == 3)
			torn_dist(0.35, 0.45, p);
		else
			torn_dist(0.45, 0.35, p);
		n_events += fm_mood_timeline_add(tl, i * 0.1, p, sm, &ev, &err);
	}
	assert_int_equal(n_events, 0);
	/* Sad at 0.9 stands 0.5 above the baseline's: an event. */
	for (int i = 100; i < 104; i++) {
		torn_dist(0.05, 0.9, p);
		assert_int_equal(fm_mood_timeline_add(tl, i * 0.1, p, sm, &ev, &err), 0);
	}
	/* Reported at the second frame back, one frame deciding nothing. */
	torn_dist(0.45, 0.35, p);
	assert_int_equal(fm_mood_timeline_add(tl, 10.4, p, sm, &ev, &err), 0);
	assert_int_equal(fm_mood_timeline_add(tl, 10.5, p, sm, &ev, &err), 1);
	assert_int_equal(ev.emotion, FM_SAD);
	assert_true(fabs(ev.start_sec - 10.0) < 1e-9);
	assert_true(fabs(ev.duration_sec - 0.4) < 1e-9);
	fm_mood_timeline_free(tl);
}

static void
events_are_found_at_any_frame_rate(void **state)
{
	const struct segment segs[] = {
	    {FM_NEUTRAL, 0.7, 2.0}, {FM_FEAR, 0.8, 0.3},     {FM_NEUTRAL, 0.7, 1.5},
	    {FM_DISGUST, 0.6, 0.4}, {FM_NEUTRAL, 0.7, 1.5},  {FM_HAPPY, 0.9, 1.5},
	    {FM_NEUTRAL, 0.7, 3.0}, {FM_SURPRISE, 0.8, 0.5}, {FM_NEUTRAL, 0.7, 1.0}};
	static const double rates[] = {10, 20, 30, 60}; /* whole frames in every spell */
	struct fm_mood_brief ev[8];

	(void)state;
	for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
		/* The happy spell of 1.5 s is too long to be brief. */
		assert_int_equal(play(segs, 9, rates[r], ev, 8, NULL), 3);
		assert_int_equal(ev[0].emotion, FM_FEAR);
		assert_true(fabs(ev[0].start_sec - 2.0) < 1e-6);
		assert_true(fabs(ev[0].duration_sec - 0.3) < 1e-6);
		assert_int_equal(ev[1].emotion, FM_DISGUST);
		assert_true(fabs(ev[1].start_sec - 3.8) < 1e-6);
		assert_true(fabs(ev[1].duration_sec - 0.4) < 1e-6);
		assert_int_equal(ev[2].emotion, FM_SURPRISE);
		assert_true(fabs(ev[2].start_sec - 10.2) < 1e-6);
		assert_true(fabs(ev[2].duration_sec - 0.5) < 1e-6);
	}
}

static void
events_are_timed_at_irregular_frame_times(void **state)
{
	const struct segment segs[] = {{FM_NEUTRAL, 0.7, 2.0},
	                               {FM_ANGRY, 0.8, 0.4},
	                               {FM_NEUTRAL, 0.7, 2.0},
	                               {FM_HAPPY, 0.9, 0.5},
	                               {FM_NEUTRAL, 0.7, 2.0}};
	struct fm_mood_brief ev[4];

	(void)state;
	/* Frames 0.05 to 0.15 s apart: the onset is the first frame in the spell and the
	 * offset the first after it, each within one frame interval of the truth. */
	for (uint64_t seed = 1; seed <= 20; seed++) {
		assert_int_equal(play_at(segs, 5, 10, 0.5, seed, ev, 4, NULL), 2);
		assert_int_equal(ev[0].emotion, FM_ANGRY);
		assert_true(ev[0].start_sec >= 2.0 && ev[0].start_sec < 2.15);
		assert_true(ev[0].start_sec + ev[0].duration_sec >= 2.4);
		assert_true(ev[0].start_sec + ev[0].duration_sec < 2.55);
		assert_true(ev[0].apex_sec >= ev[0].start_sec);
		assert_true(ev[0].apex_sec < ev[0].start_sec + ev[0].duration_sec);
		assert_int_equal(ev[1].emotion, FM_HAPPY);
		assert_true(ev[1].start_sec >= 4.4 && ev[1].start_sec < 4.55);
		assert_true(ev[1].start_sec + ev[1].duration_sec >= 4.9);
		assert_true(ev[1].start_sec + ev[1].duration_sec < 5.05);
	}
}

static void
hysteresis_keeps_an_event_whole_and_times_its_apex(void **state)
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	/* Happy over a neutral baseline (happy 0.05 in it): 0.25 opens the departure (above
	 * brief_exit, not yet sure), 0.7 and 0.9 are sure, 0.3 is below brief_enter but holds
	 * it above brief_exit, 0.1 is one frame back, which decides nothing, 0.8 is sure again;
	 * then two frames back close it, at the first. */
	static const double happy[] = {0.25, 0.7, 0.9, 0.3, 0.1, 0.8, 0.05, 0.05};
	struct fm_mood_timeline *tl;
	struct fm_mood_brief ev;
	struct fm_err err;
	double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS];
	int rc = 0;

	(void)state;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	dist(FM_NEUTRAL, 0.7, p);
	for (int i = 0; i < 30; i++)
		assert_int_equal(fm_mood_timeline_add(tl, i * 0.1, p, sm, &ev, &err), 0);
	for (int i = 0; i < 8; i++) {
		/* The resting face with a share w of it moved to happy. */
		double w = (happy[i] - 0.05) / 0.95;

		dist(FM_NEUTRAL, 0.7, p);
		for (int k = 0; k < FM_N_EMOTIONS; k++)
			p[k] = (1 - w) * p[k] + (k == FM_HAPPY ? w : 0);
		rc = fm_mood_timeline_add(tl, 3.0 + i * 0.1, p, sm, &ev, &err);
		assert_int_equal(rc, i == 7);
	}
	assert_int_equal(ev.emotion, FM_HAPPY);
	assert_true(fabs(ev.start_sec - 3.0) < 1e-9); /* opened below the entry margin */
	assert_true(fabs(ev.duration_sec - 0.6) < 1e-9);
	assert_true(fabs(ev.apex_sec - 3.2) < 1e-9);
	assert_true(fabs(ev.peak - 0.9) < 1e-9);
	assert_int_equal(ev.n_frames, 5); /* the departing ones, not the frame that dipped */
	fm_mood_timeline_free(tl);
}

static void
a_switch_to_a_third_expression_is_no_return(void **state)
{
	/* Neutral, then surprise for 0.3 s, then happy for good: surprise was the start of a
	 * change, not a brief expression that came back. */
	const struct segment segs[] = {
	    {FM_NEUTRAL, 0.8, 3.0}, {FM_SURPRISE, 0.9, 0.3}, {FM_HAPPY, 0.9, 3.0}};
	struct fm_mood_brief ev[4];

	(void)state;
	assert_int_equal(play(segs, 3, 10, ev, 4, NULL), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Spotting scored as the micro-expression spotting challenges score theirs (MEGC: a spotted  */
/* interval is a hit when its IoU with a true one is 0.5 or more; F1 over the hits), on       */
/* streams of known events with classifier-like noise.                                         */

struct interval {
	enum fm_emotion e;
	double start, end;
};

/* The listener's resting face as a classifier sees it: mostly neutral, some sad. */
static const double resting[FM_N_EMOTIONS] = {0.05, 0.03, 0.05, 0.08, 0.14, 0.05, 0.60};

/*
 * Classifier-like noise: each probability times e^(sigma z), z standard normal, as a
 * network's logits wobble from frame to frame, then renormalised.
 */
static void
noisy(struct fm_rng *rng, const double q[FM_N_EMOTIONS], double sigma, double p[FM_N_EMOTIONS])
{
	double sum = 0;

	for (int k = 0; k < FM_N_EMOTIONS; k++)
		sum += p[k] = q[k] * exp(sigma * fm_rng_normal(rng));
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		p[k] /= sum;
}

/* q with a share w of it moved to e, at strength sure. */
static void
toward(const double base[FM_N_EMOTIONS], enum fm_emotion e, double sure, double w,
       double q[FM_N_EMOTIONS])
{
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		q[k] = (1 - w) * base[k] + w * (k == (int)e ? sure : (1 - sure) * base[k]);
}

static enum fm_emotion
random_expression(struct fm_rng *rng)
{
	return (enum fm_emotion)fm_rng_below(rng, FM_NEUTRAL); /* any but neutral */
}

/*
 * seconds of frames at about fps (intervals (1 +- 0.3) / fps) of the resting face with noise;
 * every 2 to 5 s something happens: with events, a true expression of 0.3 to 0.5 s (its first
 * and last frames at three quarters of its strength 0.6 to 0.9, as a face rises into it and
 * falls out) recorded in truth; a misclassified frame or two at the same strengths; every
 * minute a change of the resting face to another expression for 10 s. Returns the number of
 * true events; *n_found and found get what the timeline spotted.
 */
static size_t
noisy_stream(uint64_t seed, double seconds, double fps, bool events, struct interval *truth,
             size_t max_truth, struct interval *found, size_t max_found, size_t *n_found)
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	struct fm_mood_timeline *tl;
	struct fm_rng rng;
	struct fm_err err;
	size_t n_truth = 0;
	double t = 0, next = 3;

	fm_rng_seed(&rng, seed);
	*n_found = 0;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	while (t < seconds) {
		double base[FM_N_EMOTIONS], q[FM_N_EMOTIONS], p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS];
		enum fm_emotion e = FM_NEUTRAL;
		double start = 0, end = 0, sure = 0;
		int kind = 0; /* 0 resting, 1 an expression, 2 flicker */
		int n_frames = 0;

		double phase = fmod(t, 60);
		bool near_change = t >= 59 && (phase >= 59 || phase < 12);

		for (int k = 0; k < FM_N_EMOTIONS; k++)
			base[k] = resting[k];
		if (t >= 60 && phase < 10)
			toward(resting, FM_HAPPY, 0.7, 1, base);
		if (t >= next && !near_change) {
			e = random_expression(&rng);
			sure = 0.6 + 0.3 * fm_rng_uniform(&rng);
			if (events && fm_rng_uniform(&rng) < 0.6) {
				kind = 1;
				start = t;
				end = t + 0.3 + 0.2 * fm_rng_uniform(&rng);
			} else {
				kind = 2;
				n_frames = 1 + (int)fm_rng_below(&rng, 2);
			}
			next = t + 2 + 3 * fm_rng_uniform(&rng);
		}
		if (kind == 1) {
			assert_true(n_truth < max_truth);
			truth[n_truth++] = (struct interval){e, start, end};
		}
		/* The frames of this moment: one resting frame, or the event's or flicker's. */
		do {
			struct fm_mood_brief ev;
			int rc;

			if (kind == 1) {
				double dt = (1 + 0.3 * (2 * fm_rng_uniform(&rng) - 1)) / fps;
				bool edge = t < start + dt || t + dt >= end;

				toward(base, e, sure, edge ? 0.75 : 1, q);
			} else if (kind == 2) {
				toward(base, e, sure, 1, q);
			} else {
				for (int k = 0; k < FM_N_EMOTIONS; k++)
					q[k] = base[k];
			}
			noisy(&rng, q, 0.5, p);
			rc = fm_mood_timeline_add(tl, t, p, sm, &ev, &err);
			assert_true(rc == 0 || rc == 1);
			if (rc == 1) {
				assert_true(*n_found < max_found);
				found[(*n_found)++] = (struct interval){
				    ev.emotion, ev.start_sec, ev.start_sec + ev.duration_sec};
			}
			t += (1 + 0.3 * (2 * fm_rng_uniform(&rng) - 1)) / fps;
		} while ((kind == 1 && t < end) || (kind == 2 && --n_frames > 0));
	}
	fm_mood_timeline_free(tl);
	return n_truth;
}

static double
iou(const struct interval *a, const struct interval *b)
{
	double inter = fmin(a->end, b->end) - fmax(a->start, b->start);
	double uni = fmax(a->end, b->end) - fmin(a->start, b->start);

	return inter > 0 ? inter / uni : 0;
}

/* F1 of found against truth: a hit is a found interval of the same expression with IoU >= 0.5
 * with a true one not hit yet. */
static double
interval_f1(const struct interval *truth, size_t n_truth, const struct interval *found,
            size_t n_found)
{
	bool used[512] = {false};
	size_t hits = 0;

	assert_true(n_truth <= 512);
	for (size_t i = 0; i < n_found; i++)
		for (size_t j = 0; j < n_truth; j++)
			if (!used[j] && truth[j].e == found[i].e &&
			    iou(&truth[j], &found[i]) >= 0.5) {
				used[j] = true;
				hits++;
				break;
			}
	if (n_truth + n_found == 0)
		return 1;
	return 2.0 * (double)hits / (double)(n_truth + n_found);
}

static void
known_events_are_spotted_with_interval_f1_over_0_9(void **state)
{
	static struct interval truth[512], found[512];
	size_t n_truth, n_found, all_truth = 0, all_found = 0;
	double f1_sum = 0;

	(void)state;
	/* Ten minutes at 10 frames a second, about 80 true events among about 50 flickers. */
	for (uint64_t seed = 1; seed <= 5; seed++) {
		double f1;

		n_truth = noisy_stream(seed, 600, 10, true, truth, 512, found, 512, &n_found);
		assert_true(n_truth > 50);
		f1 = interval_f1(truth, n_truth, found, n_found);
		assert_true(f1 >= 0.9);
		f1_sum += f1;
		all_truth += n_truth;
		all_found += n_found;
	}
	print_message("interval F1 at IoU >= 0.5: %.3f (%zu true events, %zu spotted)\n",
	              f1_sum / 5, all_truth, all_found);
	/* The same at 25 frames a second. */
	n_truth = noisy_stream(7, 600, 25, true, truth, 512, found, 512, &n_found);
	assert_true(interval_f1(truth, n_truth, found, n_found) >= 0.9);
}

static void
noise_and_flicker_alone_give_no_events(void **state)
{
	static struct interval truth[4], found[16];
	size_t n_found;

	(void)state;
	for (uint64_t seed = 1; seed <= 5; seed++) {
		assert_int_equal(noisy_stream(seed, 600, 10, false, truth, 4, found, 16, &n_found),
		                 0);
		assert_int_equal(n_found, 0);
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

/* A time backwards or far beyond the timeline's memory breaks it; a reset starts afresh. */
static void
a_time_jump_starts_a_new_segment(void **state)
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT; /* longer: 2 s */
	struct fm_mood_timeline *tl;
	struct fm_mood_brief ev;
	struct fm_err err;
	double a[FM_N_EMOTIONS], b[FM_N_EMOTIONS], sm[FM_N_EMOTIONS];

	(void)state;
	dist(FM_SAD, 1.0, a);
	dist(FM_HAPPY, 1.0, b);
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	assert_false(fm_mood_timeline_breaks(tl, 1e300)); /* nothing to break yet */
	assert_int_equal(fm_mood_timeline_add(tl, 5.0, a, sm, &ev, &err), 0);
	assert_false(fm_mood_timeline_breaks(tl, 5.0));
	assert_false(fm_mood_timeline_breaks(tl, 5.0 + FM_MOOD_SEGMENT_HALF_LIVES * 2.0));
	assert_true(fm_mood_timeline_breaks(tl, 5.0 + FM_MOOD_SEGMENT_HALF_LIVES * 2.0 + 0.01));
	assert_true(fm_mood_timeline_breaks(tl, 1e300));
	assert_true(fm_mood_timeline_breaks(tl, 4.99));
	assert_false(fm_mood_timeline_breaks(tl, NAN)); /* not a time: the caller's to refuse */
	assert_int_equal(fm_mood_timeline_add(tl, 5.1, a, sm, &ev, &err), 0);
	/* A second recording from t = 0: after a reset its first frame is its own. */
	fm_mood_timeline_reset(tl);
	assert_false(fm_mood_timeline_breaks(tl, 0.0));
	assert_int_equal(fm_mood_timeline_add(tl, 0.0, b, sm, &ev, &err), 0);
	assert_true(sm[FM_HAPPY] == 1.0);
	assert_int_equal(fm_mood_timeline_add(tl, 0.5, a, sm, &ev, &err), 0);
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
	o = (struct fm_mood_timeline_opts)FM_MOOD_TIMELINE_OPTS_DEFAULT;
	o.brief_min_frames = 0;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), -1);
	o = (struct fm_mood_timeline_opts)FM_MOOD_TIMELINE_OPTS_DEFAULT;
	o.brief_exit = o.brief_enter + 0.01; /* no hysteresis the wrong way round */
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), -1);
	o = (struct fm_mood_timeline_opts)FM_MOOD_TIMELINE_OPTS_DEFAULT;
	o.brief_exit = 0;
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), -1);
	o = (struct fm_mood_timeline_opts)FM_MOOD_TIMELINE_OPTS_DEFAULT;
	o.brief_enter = o.brief_exit = 1; /* no hysteresis at all is allowed */
	assert_int_equal(fm_mood_timeline_new(&o, &tl, &err), 0);
	fm_mood_timeline_free(tl);
	o.brief_enter = NAN;
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

/* fer-classify --min-confidence: an "uncertain" face says nothing, its scores neither. */
static void
uncertain_faces_are_passed_over(void **state)
{
	double p[FM_N_EMOTIONS];

	(void)state;
	assert_int_equal(record("{\"faces\":[{\"w\":100,\"h\":100,\"emotion\":\"uncertain\","
	                        "\"scores\":{\"angry\":0.3,\"sad\":0.7}},{\"w\":10,\"h\":10,"
	                        "\"emotion\":\"happy\",\"scores\":{\"happy\":0.9,\"sad\":0.1}}]}",
	                        p),
	                 1);
	assert_true(fabs(p[FM_HAPPY] - 0.9) < 1e-12 && p[FM_ANGRY] == 0);
	/* Nothing but doubt: no face, as a photo without faces. */
	p[FM_HAPPY] = 42;
	assert_int_equal(record("{\"faces\":[{\"emotion\":\"uncertain\",\"scores\":{\"sad\":1}},"
	                        "{\"emotion\":\"uncertain\"}]}",
	                        p),
	                 0);
	assert_true(p[FM_HAPPY] == 42);
	assert_int_equal(record("{\"emotion\":\"uncertain\",\"scores\":{\"sad\":1}}", p), 0);
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

/* The summary of records given as JSON lines; each must be accepted. */
static void
summarise(struct fm_mood_summary *s, const char *const *recs, size_t n)
{
	struct fm_err e;

	fm_mood_summary_init(s);
	for (size_t k = 0; k < n; k++) {
		cJSON *rec = cJSON_Parse(recs[k]);

		assert_non_null(rec);
		if (fm_mood_summary_add(s, rec, &e) == -1)
			fail_msg("record %zu: %s", k, e.msg);
		cJSON_Delete(rec);
	}
}

static double
member(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static void
summary_shares_faces_of_a_folder_and_time_of_a_stream(void **state)
{
	static const char *const folder[] = {
	    "{\"faces\":[{\"emotion\":\"happy\"},{\"emotion\":\"Happy\"},{\"emotion\":"
	    "\"uncertain\"}]}",
	    "{\"faces\":[{\"scores\":{\"sad\":0.9,\"happy\":0.1}}]}",
	    "{\"faces\":[]}",
	    "{\"event\":\"brief\",\"emotion\":\"sad\"}",
	};
	/* 0 to 4 s, 0.5 s a frame; a 60 s pause held 10 s; a second recording from 0 */
	static const char *const stream[] = {
	    "{\"t\":0,\"faces\":[{\"emotion\":\"happy\"}]}",
	    "{\"t\":0.5,\"faces\":[{\"emotion\":\"happy\"}],\"smoothed_emotion\":\"neutral\"}",
	    "{\"t\":1,\"faces\":[]}",
	    "{\"t\":1.5,\"faces\":[{\"emotion\":\"sad\"}]}",
	    "{\"t\":61.5,\"faces\":[{\"emotion\":\"sad\"}]}",
	    "{\"t\":0,\"faces\":[{\"emotion\":\"angry\"}]}",
	    "{\"event\":\"brief\",\"emotion\":\"sad\"}",
	    "{\"event\":\"other\"}",
	};
	struct fm_mood_summary s;
	struct fm_err e;
	cJSON *rec;
	char *text;
	size_t n;

	(void)state;
	summarise(&s, folder, 4);
	assert_int_equal(fm_mood_summary_record(&s, &rec, &e), 0);
	assert_string_equal(cJSON_GetObjectItem(rec, "summary")->valuestring, "faces");
	assert_string_equal(cJSON_GetObjectItem(rec, "dominant")->valuestring, "happy");
	assert_true(member(rec, "records", NULL) == 3 && member(rec, "faces", NULL) == 3);
	assert_true(member(rec, "uncertain", NULL) == 1);
	assert_true(member(rec, "share", "happy") == 0.6667 &&
	            member(rec, "share", "sad") == 0.3333);
	assert_null(cJSON_GetObjectItem(rec, "brief"));
	cJSON_Delete(rec);

	summarise(&s, stream, 8);
	assert_int_equal(fm_mood_summary_record(&s, &rec, &e), 0);
	assert_string_equal(cJSON_GetObjectItem(rec, "summary")->valuestring, "time");
	/* happy 0.5 (its own, the second frame smoothed neutral), neutral 0.5, no face 0.5,
	 * sad 10 (the 60 s pause), sad again 10 (back in time: the last interval), angry 10
	 * (the last frame: the last interval); 31 s with a face */
	assert_true(member(rec, "frames", NULL) == 6);
	assert_true(member(rec, "seconds", NULL) == 31.5);
	assert_true(member(rec, "share", "happy") == fm_ndjson_round(0.5 / 31, 4));
	assert_true(member(rec, "share", "neutral") == fm_ndjson_round(0.5 / 31, 4));
	assert_true(member(rec, "share", "sad") == fm_ndjson_round(20 / 31.0, 4));
	assert_true(member(rec, "share", "angry") == fm_ndjson_round(10 / 31.0, 4));
	assert_string_equal(cJSON_GetObjectItem(rec, "dominant")->valuestring, "sad");
	assert_true(member(rec, "brief", NULL) == 1);
	assert_true(member(rec, "brief_per_minute", NULL) == fm_ndjson_round(60 / 31.5, 2));
	cJSON_Delete(rec);
	assert_int_equal(fm_mood_summary_table(&s, &text, &n, &e), 0);
	assert_int_equal(strlen(text), n);
	assert_non_null(strstr(text, "6 frames, 31.5 s, 5 faces; share of the time with a face:\n"
	                             "  sad       64.5%  ##########################\n"
	                             "  angry     32.3%  #############\n"));
	free(text);
}

static void
summary_refuses_a_bad_record_and_counts_nothing_of_it(void **state)
{
	static const char *const bad[] = {
	    "{\"t\":\"noon\",\"faces\":[{\"emotion\":\"happy\"}]}",
	    "{\"t\":1,\"faces\":[{\"emotion\":\"happy\"},{\"emotion\":\"joy\"}]}",
	    "{\"faces\":{\"emotion\":\"happy\"}}",
	    "{\"faces\":[{\"emotion\":\"happy\"},{\"scores\":{\"sad\":-1}}]}",
	};
	struct fm_mood_summary s;
	struct fm_err e;

	(void)state;
	summarise(&s, bad, 0);
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		cJSON *rec = cJSON_Parse(bad[k]);

		assert_int_equal(fm_mood_summary_add(&s, rec, &e), -1);
		assert_int_equal(e.code, FM_EFORMAT);
		assert_true(s.n_records == 0 && s.n_frames == 0 && s.n_uncertain == 0);
		for (int i = 0; i < FM_N_EMOTIONS; i++)
			assert_true(s.n_faces[i] == 0);
		cJSON_Delete(rec);
	}
}

static void
a_held_mood_moves_only_past_the_dwell_and_the_hysteresis(void **state)
{
	/* Two moods 0.05 apart (a tie between two songs wavering) and one far from both. */
	static const double a[FM_N_EMOTIONS] = {[FM_NEUTRAL] = 0.55, [FM_ANGRY] = 0.45};
	static const double b[FM_N_EMOTIONS] = {[FM_NEUTRAL] = 0.50, [FM_ANGRY] = 0.50};
	static const double far[FM_N_EMOTIONS] = {[FM_HAPPY] = 0.9, [FM_NEUTRAL] = 0.1};
	struct fm_mood_hold h = {0};
	unsigned moves = 0;

	(void)state;
	assert_true(fabs(fm_mood_distance(a, b) - 0.05) < 1e-12);
	assert_true(fabs(fm_mood_distance(a, far) - 0.9) < 1e-12);
	assert_true(fm_mood_distance(a, a) == 0);
	/* Eleven seconds of wavering, a frame every half second: the first frame only. */
	for (int k = 0; k < 22; k++) {
		const double *p = k % 2 ? b : a;
		if (fm_mood_hold_moves(&h, p, k * 0.5, 5, 0.1)) {
			fm_mood_hold_set(&h, p, k * 0.5);
			moves++;
		}
	}
	assert_int_equal(moves, 1);
	assert_memory_equal(h.p, a, sizeof a);
	/* Without the guards every frame moves: the flicker they stop. */
	moves = 0;
	h = (struct fm_mood_hold){0};
	for (int k = 0; k < 22; k++) {
		const double *p = k % 2 ? b : a;
		if (fm_mood_hold_moves(&h, p, k * 0.5, 0, 0)) {
			fm_mood_hold_set(&h, p, k * 0.5);
			moves++;
		}
	}
	assert_int_equal(moves, 22);
	/* A real change at 2 s waits for the dwell of 5 s from the mood set at 0 s. */
	h = (struct fm_mood_hold){0};
	fm_mood_hold_set(&h, a, 0);
	assert_false(fm_mood_hold_moves(&h, far, 2, 5, 0.1));
	assert_false(fm_mood_hold_moves(&h, far, 4.999, 5, 0.1));
	assert_true(fm_mood_hold_moves(&h, far, 5, 5, 0.1));
	/* Past the dwell, a small change still holds; a time that goes back is no time. */
	assert_false(fm_mood_hold_moves(&h, b, 60, 5, 0.1));
	assert_false(fm_mood_hold_moves(&h, far, -60, 5, 0.1));
	assert_false(fm_mood_hold_moves(&h, far, NAN, 5, 0.1));
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
	    cmocka_unit_test(uncertain_faces_are_passed_over),
	    cmocka_unit_test(smoothing_and_recommend_pool_a_record_alike),
	    cmocka_unit_test(a_brief_surprise_is_one_event_with_its_timing),
	    cmocka_unit_test(a_lasting_change_is_no_event_and_becomes_the_mood),
	    cmocka_unit_test(flicker_and_unsure_departures_are_no_events),
	    cmocka_unit_test(a_margin_over_a_torn_baseline_is_needed),
	    cmocka_unit_test(events_are_found_at_any_frame_rate),
	    cmocka_unit_test(events_are_timed_at_irregular_frame_times),
	    cmocka_unit_test(hysteresis_keeps_an_event_whole_and_times_its_apex),
	    cmocka_unit_test(a_switch_to_a_third_expression_is_no_return),
	    cmocka_unit_test(known_events_are_spotted_with_interval_f1_over_0_9),
	    cmocka_unit_test(noise_and_flicker_alone_give_no_events),
	    cmocka_unit_test(smoothing_halves_the_gap_each_half_life),
	    cmocka_unit_test(a_time_jump_starts_a_new_segment),
	    cmocka_unit_test(bad_input_is_refused_and_changes_nothing),
	    cmocka_unit_test(faces_are_weighted_by_area_and_score),
	    cmocka_unit_test(scores_are_renormalised_and_checked),
	    cmocka_unit_test(half_life_lets_recent_frames_dominate),
	    cmocka_unit_test(summary_shares_faces_of_a_folder_and_time_of_a_stream),
	    cmocka_unit_test(summary_refuses_a_bad_record_and_counts_nothing_of_it),
	    cmocka_unit_test(a_held_mood_moves_only_past_the_dwell_and_the_hysteresis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
