/*
 * tests/unit/test_react.c: lib/react (cmocka), and the lib/mood pieces it is made of
 * (windows of frames, the valence of a brief expression): the play log decoded onto the
 * frames' clock with and without an origin, the reaction's sign and size on synthetic
 * frame streams whose faces are known, the baseline and its fallback, plays without a
 * usable face, and every kind of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"
#include "ndjson.h"
#include "react.h"

static const struct fm_react_opts DEFAULT_OPTS = {.baseline_sec = FM_REACT_BASELINE_SEC};

static cJSON *
parse(const char *json)
{
	cJSON *rec;
	struct fm_err err;

	assert_int_equal(fm_ndjson_parse(json, strlen(json), 0, &rec, &err), 0);
	return rec;
}

/* A frame at t_sec with one face of these scores (happy, sad, angry; neutral the rest). */
static cJSON *
frame(double t_sec, double happy, double sad, double angry)
{
	char json[512];

	snprintf(json, sizeof json,
	         "{\"t\":%.17g,\"faces\":[{\"x\":0,\"y\":0,\"w\":48,\"h\":48,\"scores\":{"
	         "\"happy\":%.17g,\"sad\":%.17g,\"angry\":%.17g,\"neutral\":%.17g}}]}",
	         t_sec, happy, sad, angry, 1 - happy - sad - angry);
	return parse(json);
}

static void
add_frame(struct fm_react *r, cJSON *rec)
{
	struct fm_err err;

	assert_int_equal(fm_react_frame_add(r, rec, &err), 0);
	cJSON_Delete(rec);
}

/* Frames at fps from t0 (inclusive) to t1 (exclusive), all with the same face. */
static void
frames(struct fm_react *r, double t0, double t1, double fps, double happy, double sad, double angry)
{
	for (long i = lround(t0 * fps); i < lround(t1 * fps); i++)
		add_frame(r, frame((double)i / fps, happy, sad, angry));
}

static void
add_play(struct fm_react *r, const char *json, uint64_t line)
{
	struct fm_err err;

	assert_int_equal(fm_react_play_add(r, parse(json), line, &err), 0);
}

/* The next record, which must be ready. */
static cJSON *
next(struct fm_react *r, const char **error)
{
	struct fm_react_out out;
	struct fm_err err;

	assert_int_equal(fm_react_next(r, &out, &err), 1);
	assert_non_null(out.rec);
	if (error != NULL)
		*error = out.error;
	return out.rec;
}

static double
num(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static bool
is_null(const cJSON *rec, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rec, key));
}

static const char *
str(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

/* One play of 20 s after 20 s of a face, at 10 frames per second; the record. */
static cJSON *
one_song(double happy_before, double sad_before, double happy_during, double sad_during,
         double angry_during)
{
	struct fm_react *r;
	struct fm_err err;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a.flac\",\"start\":20,\"end\":40,\"user\":\"me\"}", 1);
	frames(r, 0, 20, 10, happy_before, sad_before, 0);
	frames(r, 20, 40.05, 10, happy_during, sad_during, angry_during);
	fm_react_finish(r);
	rec = next(r, NULL);
	fm_react_free(r);
	return rec;
}

static void
smiles_during_a_song_are_a_positive_reaction(void **state)
{
	(void)state;
	/* Neutral before; happy 0.4 (neutral still the most likely) during. */
	cJSON *rec = one_song(0, 0, 0.4, 0, 0);

	/* valence_during = 0.4 * 0.8 = 0.32, before 0: reaction 0.32 / 0.8 = 0.4 exactly
	 * (the record's three decimals), rating 3 + 0.8 rounded = 4. */
	assert_float_equal(num(rec, "reaction"), 0.4, 1e-9);
	assert_int_equal((int)num(rec, "rating"), 4);
	assert_float_equal(num(rec, "valence_before"), 0, 1e-9);
	assert_float_equal(num(rec, "valence_during"), 0.32, 1e-9);
	assert_string_equal(str(rec, "emotion"), "neutral");
	assert_string_equal(str(rec, "baseline"), "before");
	assert_int_equal((int)num(rec, "frames"), 201);
	assert_int_equal((int)num(rec, "frames_before"), 100);
	/* The play log line's own fields stay, first and in their places. */
	assert_string_equal(rec->child->string, "path");
	assert_string_equal(str(rec, "user"), "me");
	assert_int_equal((int)num(rec, "start"), 20);
	assert_null(cJSON_GetObjectItemCaseSensitive(rec, "time")); /* no origin, no time */
	assert_null(cJSON_GetObjectItemCaseSensitive(rec, "note"));
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(rec, "brief")));
	cJSON_Delete(rec);
}

static void
lowered_brows_are_a_negative_reaction(void **state)
{
	(void)state;
	cJSON *rec = one_song(0, 0, 0, 0.25, 0.2);

	/* (0.25 * -0.8 + 0.2 * -0.6) / 0.8 = -0.4 */
	assert_float_equal(num(rec, "reaction"), -0.4, 1e-9);
	assert_int_equal((int)num(rec, "rating"), 2);
	cJSON_Delete(rec);
	rec = one_song(0.4, 0, 0, 0, 0); /* a smile before that fades during the song */
	assert_true(num(rec, "reaction") < -0.3);
	cJSON_Delete(rec);
}

static void
the_reaction_is_against_the_listeners_own_baseline(void **state)
{
	(void)state;
	/* A face that is as sad during the song as before: no reaction, however sad. */
	cJSON *rec = one_song(0, 0.45, 0, 0.45, 0);

	assert_float_equal(num(rec, "reaction"), 0, 1e-9);
	assert_int_equal((int)num(rec, "rating"), 3);
	assert_float_equal(num(rec, "valence_before"), -0.36, 1e-9);
	cJSON_Delete(rec);
	/* Less sad during the song than before it is a positive reaction. */
	rec = one_song(0, 0.45, 0, 0.05, 0);
	assert_float_equal(num(rec, "reaction"), 0.4, 1e-9);
	cJSON_Delete(rec);
}

static void
the_rating_rounds_the_reaction_halves_away_from_three(void **state)
{
	(void)state;
	static const struct {
		double happy, sad;
		int rating;
	} cases[] = {
	    {0.2, 0, 3},   {0.25, 0, 4}, {0.37, 0, 4}, {0.75, 0, 5},
	    {0, 0.125, 3}, {0, 0.25, 2}, {0, 0.7, 2},  {0, 0.75, 1},
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		cJSON *rec = one_song(0, 0, cases[k].happy, cases[k].sad, 0);

		assert_int_equal((int)num(rec, "rating"), cases[k].rating);
		assert_true(num(rec, "reaction") >= -1 && num(rec, "reaction") <= 1);
		cJSON_Delete(rec);
	}
}

static void
brief_expressions_are_added_evidence(void **state)
{
	(void)state;
	struct fm_react *r;
	struct fm_err err;
	const cJSON *brief;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a.flac\",\"start\":20,\"end\":40}", 1);
	frames(r, 0, 25, 10, 0, 0, 0);
	frames(r, 25, 25.4, 10, 0.95, 0, 0); /* a brief smile, 4 frames */
	frames(r, 25.4, 45, 10, 0, 0, 0);
	fm_react_finish(r);
	rec = next(r, NULL);
	brief = cJSON_GetObjectItemCaseSensitive(rec, "brief");
	assert_int_equal(cJSON_GetArraySize(brief), 1);
	assert_string_equal(str(brief->child, "emotion"), "happy");
	assert_float_equal(num(brief->child, "start"), 25, 1e-9);
	/* The face's share: 4 of 201 frames at 0.95 * 0.8; the brief smile's: at most 0.25. */
	double face = 4 * 0.95 * 0.8 / 201 / 0.8;
	assert_true(num(rec, "reaction") > face + 0.1);
	assert_true(num(rec, "reaction") <= face + FM_REACT_BRIEF_WEIGHT + 1e-3);
	cJSON_Delete(rec);
	fm_react_free(r);
}

static void
brief_flicker_that_comes_in_every_song_cancels_out(void **state)
{
	(void)state;
	double alone = 0;

	/* One song with a brief frown, then six songs with one each: the frown is the
	 * listener's usual, and counts less in each (one alone: 0.25 * 1 * 1/2 = 0.125). */
	for (int n_songs = 1; n_songs <= 6; n_songs += 5) {
		struct fm_react *r;
		struct fm_err err;

		assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
		for (int k = 0; k < n_songs; k++) {
			char json[96];
			double t0 = 40.0 * k;

			snprintf(json, sizeof json, "{\"path\":\"s%d\",\"start\":%g,\"end\":%g}", k,
			         t0 + 20, t0 + 39);
			add_play(r, json, (uint64_t)k + 1);
			frames(r, t0, t0 + 25, 10, 0, 0, 0);
			frames(r, t0 + 25, t0 + 25.4, 10, 0, 0.95, 0);
			frames(r, t0 + 25.4, t0 + 40, 10, 0, 0, 0);
		}
		fm_react_finish(r);
		for (int k = 0; k < n_songs; k++) {
			cJSON *rec = next(r, NULL);
			double face = -4 * 0.95 * 0.8 / 191 / 0.8;

			assert_int_equal(
			    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rec, "brief")), 1);
			if (n_songs == 1)
				alone = num(rec, "reaction");
			else
				assert_true(num(rec, "reaction") > alone + 0.05 &&
				            num(rec, "reaction") < face + 1e-3);
			cJSON_Delete(rec);
		}
		assert_float_equal(alone, -4 * 0.95 * 0.8 / 191 / 0.8 - 0.125, 2e-3);
		fm_react_free(r);
	}
}

static void
no_face_during_the_song_is_no_guess(void **state)
{
	(void)state;
	struct fm_react *r;
	struct fm_err err;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a.flac\",\"start\":20,\"end\":30}", 1);
	add_play(r, "{\"path\":\"b.flac\",\"start\":40,\"end\":50}", 2);
	frames(r, 0, 20, 10, 0, 0, 0);
	for (int i = 200; i <= 300; i++) {
		char json[64];

		snprintf(json, sizeof json, "{\"t\":%g,\"faces\":[]}", i / 10.0);
		add_frame(r, parse(json));
	}
	frames(r, 35, 39, 10, 0.5, 0, 0);
	/* b.flac: no frame at all between 40 and 50, frames after it. */
	frames(r, 55, 60, 10, 0, 0, 0);
	rec = next(r, NULL);
	assert_true(is_null(rec, "rating"));
	assert_true(is_null(rec, "reaction"));
	assert_non_null(strstr(str(rec, "note"), "no face was seen in the 101 frames"));
	assert_string_equal(str(rec, "emotion"), "neutral"); /* the mood before is known */
	assert_int_equal((int)num(rec, "frames"), 0);
	cJSON_Delete(rec);
	rec = next(r, NULL);
	assert_true(is_null(rec, "rating"));
	assert_non_null(strstr(str(rec, "note"), "no frame came during the song"));
	assert_string_equal(str(rec, "emotion"), "happy");
	cJSON_Delete(rec);
	fm_react_free(r);
}

static void
too_few_frames_before_take_the_songs_opening_as_baseline(void **state)
{
	(void)state;
	struct fm_react *r;
	struct fm_err err;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	/* The first song: the stream starts with it. */
	add_play(r, "{\"path\":\"a.flac\",\"start\":0,\"end\":30}", 1);
	frames(r, 0, 10, 10, 0, 0, 0);
	frames(r, 10, 30.05, 10, 0.4, 0, 0);
	fm_react_finish(r);
	rec = next(r, NULL);
	assert_string_equal(str(rec, "baseline"), "opening");
	assert_int_equal((int)num(rec, "frames_before"), 0);
	assert_int_equal((int)num(rec, "frames"), 301);
	assert_float_equal(num(rec, "reaction"), 0.4, 1e-9);
	assert_string_equal(str(rec, "emotion"), "neutral");
	cJSON_Delete(rec);
	fm_react_free(r);

	/* A play of two frames has neither baseline: a note, no guess. */
	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a.flac\",\"start\":0,\"end\":0.15}", 1);
	frames(r, 0, 0.2, 10, 0.9, 0, 0);
	fm_react_finish(r);
	rec = next(r, NULL);
	assert_true(is_null(rec, "rating") && is_null(rec, "reaction") && is_null(rec, "baseline"));
	assert_non_null(strstr(str(rec, "note"), "too few frames"));
	assert_string_equal(str(rec, "emotion"), "happy");
	cJSON_Delete(rec);
	fm_react_free(r);
}

static void
a_shorter_baseline_window_sees_only_the_last_seconds(void **state)
{
	(void)state;
	struct fm_react_opts o = DEFAULT_OPTS;
	struct fm_react *r;
	struct fm_err err;
	cJSON *rec;

	o.baseline_sec = 2;
	assert_int_equal(fm_react_new(&o, &r, &err), 0);
	add_play(r, "{\"path\":\"a.flac\",\"start\":20,\"end\":40}", 1);
	frames(r, 0, 18, 10, 0.45, 0, 0); /* outside the window */
	frames(r, 18, 40.05, 10, 0, 0, 0);
	fm_react_finish(r);
	rec = next(r, NULL);
	assert_int_equal((int)num(rec, "frames_before"), 20);
	assert_float_equal(num(rec, "reaction"), 0, 1e-9);
	cJSON_Delete(rec);
	fm_react_free(r);
}

static void
the_baseline_is_taken_between_songs_when_there_is_a_pause(void **state)
{
	(void)state;
	struct fm_react *r;
	struct fm_err err;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a\",\"start\":0,\"end\":20}", 1);
	add_play(r, "{\"path\":\"b\",\"start\":22,\"end\":40}", 2);
	add_play(r, "{\"path\":\"c\",\"start\":40.1,\"end\":60}", 3);
	frames(r, 0, 20.05, 10, 0.45, 0, 0); /* a loved song */
	frames(r, 20.05, 22, 10, 0, 0, 0);   /* a neutral pause of 2 s */
	frames(r, 22, 40.05, 10, 0, 0, 0);   /* and no reaction to the next song */
	frames(r, 40.05, 60.05, 10, 0, 0, 0);
	fm_react_finish(r);
	cJSON_Delete(next(r, NULL));
	rec = next(r, NULL);
	/* The 19 frames of the pause, not the 10 s window reaching into the loved song. */
	assert_int_equal((int)num(rec, "frames_before"), 19);
	assert_float_equal(num(rec, "reaction"), 0, 1e-9);
	cJSON_Delete(rec);
	/* Songs back to back, one frame apart: the window's frames, the song before's end. */
	rec = next(r, NULL);
	assert_int_equal((int)num(rec, "frames_before"), 100);
	assert_string_equal(str(rec, "baseline"), "before");
	cJSON_Delete(rec);
	fm_react_free(r);
}

static void
the_origin_moves_wall_clock_times_onto_the_frames_clock(void **state)
{
	(void)state;
	/* 1700000000 is 2023-11-14T22:13:20Z. */
	struct fm_react_opts o = {.baseline_sec = 10, .has_origin = true, .origin_sec = 1700000000};
	struct fm_react_play p;
	struct fm_react *r;
	struct fm_err err;
	cJSON *rec = parse("{\"path\":\"a.flac\",\"start\":\"2023-11-14T23:13:40+01:00\","
	                   "\"end\":1700000040.5}");

	assert_int_equal(fm_react_play_decode(rec, &o, &p, &err), 0);
	assert_float_equal(p.start_sec, 20, 1e-6);
	assert_float_equal(p.end_sec, 40.5, 1e-6);
	assert_float_equal(p.time_sec, 1700000020, 1e-6);
	/* Without an origin the same string is refused, saying what to give. */
	assert_int_equal(fm_react_play_decode(rec, &DEFAULT_OPTS, &p, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);
	assert_non_null(strstr(err.msg, "--origin"));
	cJSON_Delete(rec);

	assert_int_equal(fm_react_new(&o, &r, &err), 0);
	add_play(r, "{\"path\":\"a.flac\",\"start\":\"2023-11-14T22:13:40Z\",\"end\":1700000040.5}",
	         1);
	frames(r, 0, 45, 10, 0, 0, 0);
	rec = next(r, NULL);
	assert_float_equal(num(rec, "start"), 20, 1e-9);
	assert_float_equal(num(rec, "end"), 40.5, 1e-9);
	assert_float_equal(num(rec, "time"), 1700000020, 1e-9);
	assert_float_equal(num(rec, "reaction"), 0, 1e-9);
	cJSON_Delete(rec);
	fm_react_free(r);

	/* Without an origin, numbers are the frames' clock and there is no "time". */
	rec = parse("{\"path\":\"a.flac\",\"start\":3.5,\"end\":4}");
	assert_int_equal(fm_react_play_decode(rec, &DEFAULT_OPTS, &p, &err), 0);
	assert_float_equal(p.start_sec, 3.5, 0);
	assert_true(isnan(p.time_sec));
	cJSON_Delete(rec);
}

static void
bad_play_lines_are_refused_with_the_reason(void **state)
{
	(void)state;
	static const struct {
		const char *json, *why;
	} cases[] = {
	    {"{\"start\":1,\"end\":2}", "path"},
	    {"{\"path\":\"\",\"start\":1,\"end\":2}", "path"},
	    {"{\"path\":\"a\",\"end\":2}", "no \"start\""},
	    {"{\"path\":\"a\",\"start\":1}", "no \"end\""},
	    {"{\"path\":\"a\",\"start\":3,\"end\":2}", "ends (2) before it starts (3)"},
	    {"{\"path\":\"a\",\"start\":true,\"end\":2}", "\"start\" is not a number"},
	    {"{\"path\":\"a\",\"start\":1,\"end\":\"2024-05-01T18:30:00Z\"}", "give --origin"},
	};
	const struct fm_react_opts with_origin = {.baseline_sec = 10, .has_origin = true};
	struct fm_react_play p;
	struct fm_err err;

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		cJSON *rec = parse(cases[k].json);

		assert_int_equal(fm_react_play_decode(rec, &DEFAULT_OPTS, &p, &err), -1);
		assert_int_equal(err.code, FM_EFORMAT);
		assert_non_null(strstr(err.msg, cases[k].why));
		cJSON_Delete(rec);
	}
	cJSON *rec = parse("{\"path\":\"a\",\"start\":\"yesterday\",\"end\":2}");
	assert_int_equal(fm_react_play_decode(rec, &with_origin, &p, &err), -1);
	assert_non_null(strstr(err.msg, "\"start\": time \"yesterday\""));
	cJSON_Delete(rec);
	rec = parse("{\"path\":\"a\",\"start\":[1],\"end\":2}");
	assert_int_equal(fm_react_play_decode(rec, &with_origin, &p, &err), -1);
	assert_non_null(strstr(err.msg, "neither Unix seconds nor a date"));
	cJSON_Delete(rec);
}

static void
refused_and_failed_plays_come_out_in_their_turn(void **state)
{
	(void)state;
	struct fm_react *r;
	struct fm_react_out out;
	struct fm_err err;
	const char *error;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a\",\"start\":20,\"end\":30}", 1);
	/* Overlapping a (ends at 30): refused, with line 1 named. */
	assert_int_equal(
	    fm_react_play_add(r, parse("{\"path\":\"b\",\"start\":25,\"end\":35}"), 2, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);
	assert_non_null(strstr(err.msg, "overlaps the one before it (line 1"));
	assert_int_equal(fm_react_play_add(r, parse("{\"path\":\"c\",\"start\":1}"), 3, &err), -1);
	add_play(r, "{\"path\":\"d\",\"error\":\"upstream\"}", 4);  /* passes as it is */
	add_play(r, "{\"path\":\"e\",\"start\":30,\"end\":40}", 5); /* right after a: fine */
	add_play(r, "{\"path\":\"f\",\"start\":500,\"end\":600}", 6);

	/* Nothing is ready before the frames pass a's end by the settling time. */
	assert_int_equal(fm_react_next(r, &out, &err), 0);
	frames(r, 0, 32, 10, 0, 0, 0);
	assert_int_equal(fm_react_next(r, &out, &err), 0);
	frames(r, 32, 32.2, 10, 0, 0, 0);
	rec = next(r, &error);
	assert_null(error);
	assert_string_equal(str(rec, "path"), "a");
	assert_false(fm_ndjson_has_error(rec));
	cJSON_Delete(rec);
	rec = next(r, &error);
	assert_null(error); /* said when it was refused */
	assert_non_null(strstr(str(rec, "error"), "overlaps"));
	cJSON_Delete(rec);
	rec = next(r, &error);
	assert_non_null(strstr(str(rec, "error"), "no \"end\""));
	cJSON_Delete(rec);
	rec = next(r, &error);
	assert_null(error);
	assert_string_equal(str(rec, "error"), "upstream");
	cJSON_Delete(rec);
	assert_int_equal(fm_react_next(r, &out, &err), 0); /* e waits */
	frames(r, 32.2, 45, 10, 0, 0, 0);
	fm_react_finish(r);
	rec = next(r, &error);
	assert_string_equal(str(rec, "path"), "e");
	cJSON_Delete(rec);
	/* f is after the last frame: outside the frames' span, said now. */
	rec = next(r, &error);
	assert_non_null(error);
	assert_non_null(strstr(error, "outside the frames' time span (0 .. 44.9 s)"));
	assert_string_equal(error, str(rec, "error"));
	cJSON_Delete(rec);
	assert_int_equal(fm_react_next(r, &out, &err), 0);
	fm_react_free(r);
}

static void
a_play_before_the_first_frame_or_without_frames_is_an_error(void **state)
{
	(void)state;
	struct fm_react *r;
	struct fm_err err;
	const char *error;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a\",\"start\":1700000000,\"end\":1700000100}", 1);
	fm_react_finish(r);
	rec = next(r, &error);
	assert_non_null(error);
	assert_non_null(strstr(error, "no frame came"));
	cJSON_Delete(rec);
	fm_react_free(r);

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a\",\"start\":1,\"end\":5}", 1);
	frames(r, 10, 20, 10, 0, 0, 0);
	rec = next(r, &error); /* ready: the frames are past it already */
	assert_non_null(error);
	assert_non_null(strstr(error, "outside the frames' time span"));
	cJSON_Delete(rec);
	fm_react_free(r);

	/* Unix times given without --origin: the message suggests it. */
	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a\",\"start\":1700000000,\"end\":1700000100}", 1);
	frames(r, 0, 5, 10, 0, 0, 0);
	fm_react_finish(r);
	rec = next(r, &error);
	assert_non_null(strstr(error, "without --origin"));
	cJSON_Delete(rec);
	fm_react_free(r);
}

static void
bad_frames_are_refused_and_change_nothing(void **state)
{
	(void)state;
	struct fm_react *r;
	struct fm_err err;
	cJSON *rec;

	assert_int_equal(fm_react_new(&DEFAULT_OPTS, &r, &err), 0);
	add_play(r, "{\"path\":\"a\",\"start\":20,\"end\":40}", 1);
	frames(r, 0, 30, 10, 0, 0, 0);

	rec = parse("{\"frame\":3,\"faces\":[]}");
	assert_int_equal(fm_react_frame_add(r, rec, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);
	assert_non_null(strstr(err.msg, "without \"t\""));
	cJSON_Delete(rec);
	rec = parse("{\"t\":\"31\",\"faces\":[]}");
	assert_int_equal(fm_react_frame_add(r, rec, &err), -1);
	assert_non_null(strstr(err.msg, "not a number"));
	cJSON_Delete(rec);
	rec = frame(12, 0.9, 0, 0);
	assert_int_equal(fm_react_frame_add(r, rec, &err), -1);
	assert_non_null(strstr(err.msg, "out of order: \"t\" 12 comes after 29.9"));
	cJSON_Delete(rec);
	rec = parse("{\"t\":35,\"faces\":[{\"scores\":{\"bored\":1}}]}");
	assert_int_equal(fm_react_frame_add(r, rec, &err), -1);
	assert_non_null(strstr(err.msg, "face 1"));
	cJSON_Delete(rec);
	/* fer-classify --smooth's events are no frames, and not refused. */
	rec = parse("{\"event\":\"brief\",\"emotion\":\"happy\",\"start\":12,\"duration\":0.2}");
	assert_int_equal(fm_react_frame_add(r, rec, &err), 0);
	cJSON_Delete(rec);

	frames(r, 30, 40.05, 10, 0, 0, 0);
	fm_react_finish(r);
	rec = next(r, NULL);
	/* None of the refused frames counted: 201 neutral frames, reaction 0. */
	assert_int_equal((int)num(rec, "frames"), 201);
	assert_float_equal(num(rec, "reaction"), 0, 1e-9);
	cJSON_Delete(rec);
	fm_react_free(r);
}

static void
options_out_of_range_are_refused(void **state)
{
	(void)state;
	struct fm_react_opts o = DEFAULT_OPTS;
	struct fm_react *r;
	struct fm_err err;

	o.baseline_sec = 0;
	assert_int_equal(fm_react_new(&o, &r, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	assert_null(r);
	o.baseline_sec = NAN;
	assert_int_equal(fm_react_new(&o, &r, &err), -1);
	o = DEFAULT_OPTS;
	o.has_origin = true;
	o.origin_sec = INFINITY;
	assert_int_equal(fm_react_new(&o, &r, &err), -1);
	fm_react_free(NULL);
}

static void
mood_windows_average_their_frames_alike(void **state)
{
	(void)state;
	struct fm_mood_window w = {0};
	double p[FM_N_EMOTIONS] = {0}, mean[FM_N_EMOTIONS];
	struct fm_err err;
	struct fm_mood_brief smile = {.emotion = FM_HAPPY, .baseline = FM_NEUTRAL};
	struct fm_mood_brief frown = {.emotion = FM_SAD, .baseline = FM_HAPPY};
	struct fm_mood_brief relax = {.emotion = FM_NEUTRAL, .baseline = FM_SAD};
	struct fm_mood_brief wow = {.emotion = FM_SURPRISE, .baseline = FM_NEUTRAL};

	assert_true(isnan(fm_mood_window_valence(&w)));
	assert_int_equal(fm_mood_window_mean(&w, mean, &err), -1);
	assert_int_equal(err.code, FM_EINVAL);
	p[FM_HAPPY] = 1;
	fm_mood_window_add(&w, p);
	p[FM_HAPPY] = 0;
	p[FM_SAD] = 1;
	fm_mood_window_add(&w, p);
	fm_mood_window_add(&w, p);
	assert_int_equal(fm_mood_window_mean(&w, mean, &err), 0);
	assert_float_equal(mean[FM_HAPPY], 1.0 / 3, 1e-12);
	assert_float_equal(mean[FM_SAD], 2.0 / 3, 1e-12);
	assert_float_equal(fm_mood_window_valence(&w), (0.8 - 2 * 0.8) / 3, 1e-12);
	assert_float_equal(fm_mood_brief_valence(&smile), 0.8, 1e-12);
	assert_float_equal(fm_mood_brief_valence(&frown), -0.8, 1e-12);
	assert_float_equal(fm_mood_brief_valence(&relax), 0, 0);
	assert_float_equal(fm_mood_brief_valence(&wow), 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(smiles_during_a_song_are_a_positive_reaction),
	    cmocka_unit_test(lowered_brows_are_a_negative_reaction),
	    cmocka_unit_test(the_reaction_is_against_the_listeners_own_baseline),
	    cmocka_unit_test(the_rating_rounds_the_reaction_halves_away_from_three),
	    cmocka_unit_test(brief_expressions_are_added_evidence),
	    cmocka_unit_test(brief_flicker_that_comes_in_every_song_cancels_out),
	    cmocka_unit_test(no_face_during_the_song_is_no_guess),
	    cmocka_unit_test(too_few_frames_before_take_the_songs_opening_as_baseline),
	    cmocka_unit_test(a_shorter_baseline_window_sees_only_the_last_seconds),
	    cmocka_unit_test(the_baseline_is_taken_between_songs_when_there_is_a_pause),
	    cmocka_unit_test(the_origin_moves_wall_clock_times_onto_the_frames_clock),
	    cmocka_unit_test(bad_play_lines_are_refused_with_the_reason),
	    cmocka_unit_test(refused_and_failed_plays_come_out_in_their_turn),
	    cmocka_unit_test(a_play_before_the_first_frame_or_without_frames_is_an_error),
	    cmocka_unit_test(bad_frames_are_refused_and_change_nothing),
	    cmocka_unit_test(options_out_of_range_are_refused),
	    cmocka_unit_test(mood_windows_average_their_frames_alike),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
