/*
 * tests/unit/test_rank.c: lib/rank (cmocka): standardisation and imputation, rankings whose
 * right answer is known by construction under each strategy, ties, exclusion, diversity,
 * the taste learnt from feedback moving songs up and down, learning from tags, the profiles file,
 * the binary index and its damage, and times. Profiles are the shipped models/profiles.json (the
 * tests run from the repository's root) unless a test makes its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rank.h"
#include "rank_int.h"

#define PROFILES "models/profiles.json"

/* One song record: the descriptors recommend reads, plus an artist and a tag. */
struct song {
	const char *path;
	double tempo;
	const char *mode;
	double key_strength, loudness, rms, rms_sd, centroid, rolloff, flatness, zcr, onsets;
	const char *artist, *tag;
};

/*
 * A library whose moods are known by construction: each song sits at one corner of the cues
 * models/profiles.json reads (slow, minor, quiet and dark is sad; fast, major, loud and bright
 * is happy; loud, noisy and fast is angry; and so on).
 */
static const struct song songs[] = {
    {"saddest.wav", 56, "minor", 1.0, -32, 0.03, 0.005, 800, 1500, 0.02, 0.02, 0.4, "A", "sad"},
    {"sadish.wav", 84, "minor", 0.5, -21, 0.09, 0.02, 1600, 3200, 0.05, 0.06, 2.0, "A", NULL},
    {"tender.wav", 62, "major", 0.9, -29, 0.04, 0.007, 1000, 2000, 0.03, 0.03, 0.7, "B", NULL},
    {"happy.wav", 138, "major", 0.9, -11, 0.28, 0.05, 2900, 5800, 0.08, 0.09, 4.6, "C", "happy"},
    {"party.wav", 126, "major", 0.8, -8, 0.36, 0.07, 3300, 6600, 0.12, 0.11, 5.0, "C", "happy"},
    {"angry.wav", 168, "minor", 0.6, -5, 0.52, 0.08, 4300, 8800, 0.36, 0.21, 6.2, "D", NULL},
    {"fearful.wav", 118, "minor", 0.8, -23, 0.08, 0.07, 1900, 4400, 0.21, 0.10, 3.0, "D", NULL},
    {"calm.wav", 70, "major", 0.7, -27, 0.05, 0.008, 1150, 2300, 0.03, 0.04, 0.8, "B", NULL},
};
#define N_SONGS (sizeof songs / sizeof *songs)

static char *
song_line(const struct song *s)
{
	char *line = malloc(1024);

	assert_non_null(line);
	snprintf(line, 1024,
	         "{\"path\":\"%s\",\"tempo\":%g,\"mode\":\"%s\",\"key_strength\":%g,"
	         "\"loudness\":%g,\"rms_mean\":%g,\"rms_std\":%g,\"centroid_mean\":%g,"
	         "\"rolloff_mean\":%g,\"flatness_mean\":%g,\"zcr_mean\":%g,\"onset_rate\":%g,"
	         "\"artist\":\"%s\"%s%s%s}",
	         s->path, s->tempo, s->mode, s->key_strength, s->loudness, s->rms, s->rms_sd,
	         s->centroid, s->rolloff, s->flatness, s->zcr, s->onsets, s->artist,
	         s->tag != NULL ? ",\"emotion\":\"" : "", s->tag != NULL ? s->tag : "",
	         s->tag != NULL ? "\"" : "");
	return line;
}

static void
add_line(struct fm_rank_library *lib, const char *line, enum fm_rank_added expect)
{
	struct fm_rank_song_info info;
	enum fm_rank_added how;
	struct fm_err e;

	assert_int_equal(fm_rank_library_add(lib, line, strlen(line), &how, &info, &e), 0);
	assert_int_equal(how, expect);
}

static struct fm_rank_library *
make_library(const struct song *s, size_t n)
{
	struct fm_rank_library *lib;
	struct fm_err e;

	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	for (size_t i = 0; i < n; i++) {
		char *line = song_line(&s[i]);
		add_line(lib, line, FM_RANK_ADDED);
		free(line);
	}
	assert_int_equal(fm_rank_library_finish(lib, &e), 0);
	return lib;
}

static void
load_profiles(struct fm_rank_profiles *p)
{
	struct fm_err e;

	if (fm_rank_profiles_load(PROFILES, p, &e) == -1)
		fail_msg("%s: %s", PROFILES, e.msg);
}

static void
one_hot(double mood[FM_N_EMOTIONS], enum fm_emotion e)
{
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		mood[k] = k == (int)e;
}

/* Rank lib for an emotion; the hits go to hits (room for n). */
static size_t
rank(const struct fm_rank_library *lib, const struct fm_rank_profiles *p, enum fm_emotion em,
     enum fm_rank_strategy s, unsigned diverse, const uint8_t *excluded, size_t n,
     struct fm_rank_hit *hits)
{
	struct fm_rank_query q = {.strategy = s,
	                          .strength = 1,
	                          .n_results = n,
	                          .diverse = diverse,
	                          .mmr_lambda = FM_RANK_MMR_LAMBDA,
	                          .excluded = excluded};
	struct fm_rank_work *w;
	struct fm_err e;
	size_t n_hits;

	one_hot(q.mood, em);
	assert_int_equal(fm_rank_work_new(lib, &w, &e), 0);
	if (fm_rank_search(w, p, &q, hits, &n_hits, &e) == -1)
		fail_msg("search: %s", e.msg);
	fm_rank_work_free(w);
	for (size_t k = 0; k < n_hits; k++)
		assert_true(isfinite(hits[k].score) && fabs(hits[k].score) <= 1);
	return n_hits;
}

static size_t
index_of(const char *path)
{
	for (size_t i = 0; i < N_SONGS; i++)
		if (strcmp(songs[i].path, path) == 0)
			return i;
	fail_msg("no song %s", path);
	return 0;
}

/* The rank (from 0) of a song in hits, or n when absent. */
static size_t
position(const struct fm_rank_hit *hits, size_t n, const char *path)
{
	for (size_t k = 0; k < n; k++)
		if (hits[k].song == index_of(path))
			return k;
	return n;
}

/* ------------------------------------------------------------------------------------------ */

static void
standardised_descriptors_have_zero_mean_unit_std(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	double mean[FM_RANK_DIMS], sd[FM_RANK_DIMS];

	(void)state;
	assert_int_equal(fm_rank_library_size(lib), N_SONGS);
	fm_rank_library_stats(lib, mean, sd);
	/* log2 of the tempi: the mean of the raw logs, computed here independently. */
	double sum = 0;
	for (size_t i = 0; i < N_SONGS; i++)
		sum += log2(songs[i].tempo);
	assert_true(fabs(mean[FM_DIM_TEMPO] - sum / N_SONGS) < 1e-12);
	for (int d = 0; d < FM_RANK_DIMS; d++) {
		double m = 0, ss = 0, z[FM_RANK_DIMS];

		assert_true(sd[d] > 0);
		for (size_t i = 0; i < N_SONGS; i++) {
			fm_rank_library_vector(lib, i, z);
			m += z[d];
			ss += z[d] * z[d];
		}
		/* Floats keep 7 digits: 1e-5 over 8 songs is rounding, not error. */
		assert_true(fabs(m / N_SONGS) < 1e-5);
		assert_true(fabs(ss / N_SONGS - 1) < 1e-5);
	}
	fm_rank_library_free(lib);
}

static void
missing_and_non_numeric_descriptors_take_the_mean(void **state)
{
	static const char *lines[] = {
	    "{\"path\":\"a\",\"tempo\":60,\"mode\":\"minor\",\"loudness\":-30,\"centroid_mean\":"
	    "900}",
	    "{\"path\":\"b\",\"tempo\":180,\"mode\":\"major\",\"loudness\":-6,\"centroid_mean\":"
	    "4000}",
	    "{\"path\":\"c\",\"tempo\":null,\"mode\":\"dorian\",\"loudness\":\"loud\","
	    "\"centroid_mean\":-5,\"flatness_mean\":2}",
	    "{\"path\":\"d\"}",
	};
	struct fm_rank_library *lib;
	struct fm_rank_profiles p;
	struct fm_rank_song_info info;
	struct fm_rank_hit hits[4];
	enum fm_rank_added how;
	struct fm_err e;
	double z[FM_RANK_DIMS];

	(void)state;
	load_profiles(&p);
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(
		    fm_rank_library_add(lib, lines[k], strlen(lines[k]), &how, &info, &e), 0);
		if (k == 2) {
			/* null tempo is missing; "dorian", "loud", -5 Hz and 2 are invalid. */
			assert_int_equal(info.n_invalid, 4);
			assert_int_equal(info.n_missing, FM_RANK_DIMS - 4);
		}
		if (k == 3)
			assert_int_equal(info.n_missing, FM_RANK_DIMS);
	}
	assert_int_equal(fm_rank_library_finish(lib, &e), 0);
	for (size_t i = 2; i < 4; i++) {
		fm_rank_library_vector(lib, i, z);
		for (int d = 0; d < FM_RANK_DIMS; d++)
			assert_true(z[d] == 0);
	}
	/* The songs without any descriptor score exactly 0, never NaN. */
	size_t n = rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, NULL, 4, hits);
	assert_int_equal(n, 4);
	assert_int_equal(hits[0].song, 0);
	for (size_t k = 0; k < n; k++)
		if (hits[k].song >= 2)
			assert_true(hits[k].score == 0);
	fm_rank_library_free(lib);
}

static void
constant_descriptor_is_zero_for_every_song(void **state)
{
	struct song s[3] = {songs[0], songs[3], songs[5]};
	struct fm_rank_library *lib;
	double z[FM_RANK_DIMS], mean[FM_RANK_DIMS], sd[FM_RANK_DIMS];

	(void)state;
	for (int i = 0; i < 3; i++)
		s[i].zcr = 0.1;
	lib = make_library(s, 3);
	fm_rank_library_stats(lib, mean, sd);
	assert_true(sd[FM_DIM_ZCR] == 0);
	for (size_t i = 0; i < 3; i++) {
		fm_rank_library_vector(lib, i, z);
		assert_true(z[FM_DIM_ZCR] == 0);
	}
	fm_rank_library_free(lib);
}

static void
extreme_song_is_clamped_to_three_sd(void **state)
{
	struct song s[40];
	struct fm_rank_library *lib;
	double z[FM_RANK_DIMS];

	(void)state;
	char names[40][16];

	for (int i = 0; i < 40; i++) {
		s[i] = songs[i % 2 ? 2 : 7];
		snprintf(names[i], sizeof names[i], "%d.wav", i);
		s[i].path = names[i];
	}
	s[0].tempo = 4000; /* a tempo tracker's mistake, far beyond every other song */
	lib = make_library(s, 40);
	fm_rank_library_vector(lib, 0, z);
	assert_true(fabs(z[FM_DIM_TEMPO] - 3) < 1e-6);
	fm_rank_library_free(lib);
}

static void
empty_library_cannot_be_finished(void **state)
{
	struct fm_rank_library *lib;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	assert_int_equal(fm_rank_library_finish(lib, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	fm_rank_library_free(lib);
	fm_rank_library_free(NULL);
}

static void
bad_lines_are_format_errors(void **state)
{
	static const char *bad[] = {"not json", "{\"tempo\":120}", "{\"path\":\"\"}", "[1,2]",
	                            "{\"path\":\"a\"} trailing"};
	struct fm_rank_library *lib;
	struct fm_rank_song_info info;
	enum fm_rank_added how;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		assert_int_equal(fm_rank_library_add(lib, bad[k], strlen(bad[k]), &how, &info, &e),
		                 -1);
		assert_int_equal(e.code, FM_EFORMAT);
	}
	assert_int_equal(fm_rank_library_size(lib), 0);
	fm_rank_library_free(lib);
}

static void
upstream_errors_and_repeated_paths_are_left_out(void **state)
{
	struct fm_rank_library *lib;
	struct fm_err e;
	size_t i;

	(void)state;
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	add_line(lib, "{\"path\":\"x.flac\",\"error\":\"not audio\"}", FM_RANK_UPSTREAM);
	add_line(lib, "{\"path\":\"a.flac\",\"tempo\":100}", FM_RANK_ADDED);
	add_line(lib, "{\"path\":\"b.flac\",\"tempo\":120}", FM_RANK_ADDED);
	add_line(lib, "{\"tempo\":90,\"path\":\"a.flac\"}", FM_RANK_DUPLICATE);
	assert_int_equal(fm_rank_library_size(lib), 2);
	assert_int_equal(fm_rank_library_finish(lib, &e), 0);
	assert_int_equal(fm_rank_library_find(lib, "b.flac", 6, &i, &e), 1);
	assert_int_equal(i, 1);
	assert_int_equal(fm_rank_library_find(lib, "x.flac", 6, &i, &e), 0);
	assert_int_equal(fm_rank_library_find(lib, "b.fla", 5, &i, &e), 0);
	fm_rank_library_free(lib);
}

static void
near_silent_and_short_songs_are_left_out(void **state)
{
	struct fm_rank_library *lib;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	/* The floor is song-featurize's: -70 dBFS; the default minimum 5 s. */
	add_line(lib, "{\"path\":\"silent.wav\",\"loudness\":-100,\"duration\":60}",
	         FM_RANK_SILENT);
	add_line(lib, "{\"path\":\"quiet.wav\",\"loudness\":-70.01,\"duration\":60}",
	         FM_RANK_SILENT);
	add_line(lib, "{\"path\":\"soft.wav\",\"loudness\":-69.99,\"duration\":60}", FM_RANK_ADDED);
	add_line(lib, "{\"path\":\"jingle.wav\",\"loudness\":-10,\"duration\":4.99}",
	         FM_RANK_SHORT);
	add_line(lib, "{\"path\":\"song.wav\",\"loudness\":-10,\"duration\":5}", FM_RANK_ADDED);
	/* A record without the fields (made by hand) says nothing against the song. */
	add_line(lib, "{\"path\":\"bare.wav\"}", FM_RANK_ADDED);
	add_line(lib, "{\"path\":\"nulls.wav\",\"loudness\":null,\"duration\":\"1\"}",
	         FM_RANK_ADDED);
	fm_rank_library_set_min_duration(lib, 0);
	add_line(lib, "{\"path\":\"jingle.wav\",\"loudness\":-10,\"duration\":4.99}",
	         FM_RANK_ADDED);
	add_line(lib, "{\"path\":\"silent2.wav\",\"loudness\":-100,\"duration\":0}",
	         FM_RANK_SILENT);
	assert_int_equal(fm_rank_library_size(lib), 5);
	fm_rank_library_free(lib);
}

static void
saddest_song_comes_first_for_a_sad_face_under_match(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[N_SONGS];

	(void)state;
	load_profiles(&p);
	assert_int_equal(rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, NULL, N_SONGS, hits), N_SONGS);
	assert_int_equal(hits[0].song, index_of("saddest.wav"));
	/* Its strongest cues: the mode counts for less since the profiles were measured on real
	 * music (scripts/refdata/make-profiles.py), so the why names tempo and timbre. */
	assert_non_null(strstr(hits[0].why, "slow tempo"));
	assert_non_null(strstr(hits[0].why, "dark timbre"));
	/* ...and the happiest songs last. */
	assert_true(position(hits, N_SONGS, "party.wav") >= N_SONGS - 2);
	for (size_t k = 1; k < N_SONGS; k++)
		assert_true(hits[k - 1].score >= hits[k].score);
	/* Each profile finds its own corner. */
	rank(lib, &p, FM_HAPPY, FM_RANK_MATCH, 0, NULL, 1, hits);
	assert_int_equal(hits[0].song, index_of("happy.wav"));
	rank(lib, &p, FM_ANGRY, FM_RANK_MATCH, 0, NULL, 1, hits);
	assert_int_equal(hits[0].song, index_of("angry.wav"));
	/* On recordings fear shares anger's loud, tense corner (scripts/bench/moodset.sh): the
	 * quiet, swinging fearful.wav, made from the cues of fear in performance, comes after
	 * it, but before every calm and sad song. */
	rank(lib, &p, FM_FEAR, FM_RANK_MATCH, 0, NULL, N_SONGS, hits);
	assert_int_equal(hits[0].song, index_of("angry.wav"));
	assert_true(position(hits, N_SONGS, "fearful.wav") < position(hits, N_SONGS, "sadish.wav"));
	assert_true(position(hits, N_SONGS, "fearful.wav") < position(hits, N_SONGS, "calm.wav"));
	fm_rank_library_free(lib);
}

/*
 * A known-answer test of the profiles: a library of 100 songs, 25 from each quadrant of
 * Russell's circumplex, drawn around descriptions of each quadrant's music that do not come
 * from the profiles (Q1 happy, excited: fast, major, loud, bright; Q2 tense, angry, afraid:
 * fast, minor or weakly tonal, loud, noisy, bright, dense; Q3 sad: slow, minor, quiet, dark,
 * sparse; Q4 calm, relaxed: slow, major, quiet, dark, sparse), with a spread that makes the
 * quadrants overlap: a quarter of the songs of each quadrant in the other mode, tempi +-19%
 * (one standard deviation), levels +-4 dB. The quiet quadrants are given the wider dynamics,
 * as quiet recordings have (a fading piano varies more, relative to its mean, than a wall of
 * guitars): the trap that the earlier fear profile (quiet, wide dynamics) fell into, its top
 * ten holding no tense song. Each expression's top ten must come from the quadrant where the
 * circumplex places it.
 */
enum quadrant { Q1, Q2, Q3, Q4 };

static struct fm_rank_library *
quadrant_library(size_t per_quadrant, enum quadrant *quad)
{
	static const struct {
		double tempo, p_major, key_lo, key_hi, loudness, dynamics, centroid, flatness, zcr,
		    onsets;
	} q[4] = {
	    {125, 0.75, 0.4, 0.9, -11, 0.25, 2600, 0.06, 0.07, 4.0},
	    {135, 0.25, 0.2, 0.6, -9, 0.30, 3200, 0.15, 0.12, 5.0},
	    {75, 0.25, 0.4, 0.9, -22, 0.40, 1300, 0.03, 0.04, 1.5},
	    {85, 0.75, 0.4, 0.9, -21, 0.35, 1500, 0.03, 0.045, 1.8},
	};
	struct fm_rank_library *lib;
	struct fm_rng rng;
	struct fm_err e;

	fm_rng_seed(&rng, 16);
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	for (size_t i = 0; i < 4 * per_quadrant; i++) {
		enum quadrant k = (enum quadrant)(i % 4);
		double loud = q[k].loudness + 4 * fm_rng_normal(&rng);
		double rms = pow(10, loud / 20) * 1.4;
		double centroid = q[k].centroid * exp2(0.35 * fm_rng_normal(&rng));
		bool major = fm_rng_uniform(&rng) < q[k].p_major;
		char line[512];

		quad[i] = k;
		snprintf(line, sizeof line,
		         "{\"path\":\"q%d-%zu.wav\",\"tempo\":%.2f,\"mode\":\"%s\","
		         "\"key_strength\":%.3f,\"loudness\":%.2f,\"rms_mean\":%.5f,"
		         "\"rms_std\":%.5f,\"centroid_mean\":%.1f,\"rolloff_mean\":%.1f,"
		         "\"flatness_mean\":%.4f,\"zcr_mean\":%.4f,\"onset_rate\":%.3f}",
		         (int)k + 1, i, q[k].tempo * exp2(0.25 * fm_rng_normal(&rng)),
		         major ? "major" : "minor",
		         q[k].key_lo + (q[k].key_hi - q[k].key_lo) * fm_rng_uniform(&rng), loud,
		         rms, rms * q[k].dynamics * exp2(0.4 * fm_rng_normal(&rng)), centroid,
		         2 * centroid * exp2(0.15 * fm_rng_normal(&rng)),
		         fmin(0.9, q[k].flatness * exp2(0.5 * fm_rng_normal(&rng))),
		         fmin(0.5, q[k].zcr * exp2(0.4 * fm_rng_normal(&rng))),
		         q[k].onsets * exp2(0.4 * fm_rng_normal(&rng)));
		add_line(lib, line, FM_RANK_ADDED);
	}
	assert_int_equal(fm_rank_library_finish(lib, &e), 0);
	return lib;
}

static void
each_expression_finds_its_quadrant(void **state)
{
	/*
	 * Each expression's quadrant, how many of its top ten at least must come from it, and
	 * the quadrants none of the ten may come from. Sad asks six, not eight: a minor song of
	 * the calm quadrant has every cue of a sad one that the nine descriptors measure (what
	 * sets them apart, harmony and melody beyond the mode, is not measured), and the top
	 * ten are all minor; they must all be calm at least. Surprise and disgust lie between
	 * two quadrants, and neutral near the middle on the calm side.
	 */
	static const struct {
		enum fm_emotion e;
		unsigned quadrants; /* 1 << Q1 | ... */
		unsigned at_least;
		unsigned never;
	} want[] = {
	    {FM_HAPPY, 1u << Q1, 8, 1u << Q3},
	    {FM_ANGRY, 1u << Q2, 8, 1u << Q3 | 1u << Q4},
	    {FM_FEAR, 1u << Q2, 8, 1u << Q3 | 1u << Q4},
	    {FM_SAD, 1u << Q3, 6, 1u << Q1 | 1u << Q2},
	    {FM_SURPRISE, 1u << Q1 | 1u << Q2, 10, 0},
	    {FM_DISGUST, 1u << Q2 | 1u << Q3, 9, 0},
	    {FM_NEUTRAL, 1u << Q4, 6, 1u << Q1 | 1u << Q2},
	};
	enum quadrant quad[100];
	struct fm_rank_library *lib = quadrant_library(25, quad);
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[10];

	(void)state;
	load_profiles(&p);
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		unsigned n[4] = {0}, in = 0, out = 0;
		assert_int_equal(rank(lib, &p, want[k].e, FM_RANK_MATCH, 0, NULL, 10, hits), 10);
		for (size_t h = 0; h < 10; h++) {
			n[quad[hits[h].song]]++;
			in += (want[k].quadrants >> quad[hits[h].song]) & 1;
			out += (want[k].never >> quad[hits[h].song]) & 1;
		}
		print_message("%-8s top 10: Q1 %u, Q2 %u, Q3 %u, Q4 %u\n",
		              fm_emotion_name(want[k].e), n[0], n[1], n[2], n[3]);
		if (in < want[k].at_least || out > 0)
			fail_msg("%s: %u of its top ten from its quadrant (want %u), %u from the "
			         "opposite side (want 0)",
			         fm_emotion_name(want[k].e), in, want[k].at_least, out);
	}
	fm_rank_library_free(lib);
}

static void
why_names_only_what_the_profile_asked_for(void **state)
{
	/* [d][0] the word for below the mean, [d][1] above, as lib/rank.c writes them. */
	static const char *const words[FM_RANK_DIMS][2] = {
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
	enum quadrant quad[100];
	struct fm_rank_library *lib = quadrant_library(25, quad);
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[100];

	(void)state;
	load_profiles(&p);
	/* The reported case: a neutral face's songs explained as "fast tempo". */
	assert_true(p.vec[FM_NEUTRAL][FM_DIM_TEMPO] < 0);
	for (int e = 0; e < FM_N_EMOTIONS; e++) {
		size_t n = rank(lib, &p, (enum fm_emotion)e, FM_RANK_MATCH, 0, NULL, 100, hits);
		for (size_t h = 0; h < n; h++)
			for (int d = 0; d < FM_RANK_DIMS; d++) {
				double v = p.vec[e][d];
				if (v < 0 && strstr(hits[h].why, words[d][1]) != NULL)
					fail_msg("%s: \"%s\" against the profile",
					         fm_emotion_name(e), hits[h].why);
				if (v > 0 && strstr(hits[h].why, words[d][0]) != NULL)
					fail_msg("%s: \"%s\" against the profile",
					         fm_emotion_name(e), hits[h].why);
			}
	}
	fm_rank_library_free(lib);
}

static void
saddest_song_is_not_first_under_uplift(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[N_SONGS];

	(void)state;
	load_profiles(&p);
	assert_int_equal(rank(lib, &p, FM_SAD, FM_RANK_UPLIFT, 0, NULL, N_SONGS, hits), N_SONGS);
	assert_true(hits[0].song != index_of("saddest.wav"));
	/* It keeps the low energy but leaves the minor key: a slow, quiet major song. */
	assert_true(hits[0].song == index_of("tender.wav") || hits[0].song == index_of("calm.wav"));
	/* Later steps lean further towards positive valence: a happy song comes before the
	 * saddest one, which match put first. */
	assert_true(position(hits, N_SONGS, "happy.wav") < position(hits, N_SONGS, "saddest.wav"));
	fm_rank_library_free(lib);
}

static void
uplift_is_match_for_a_positive_mood(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit a[N_SONGS], b[N_SONGS];

	(void)state;
	load_profiles(&p);
	rank(lib, &p, FM_HAPPY, FM_RANK_MATCH, 0, NULL, N_SONGS, a);
	rank(lib, &p, FM_HAPPY, FM_RANK_UPLIFT, 0, NULL, N_SONGS, b);
	for (size_t k = 0; k < N_SONGS; k++) {
		assert_int_equal(a[k].song, b[k].song);
		assert_true(a[k].score == b[k].score);
	}
	fm_rank_library_free(lib);
}

static void
calm_lowers_the_arousal_of_the_top_song(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit a[3], b[3];
	double za[FM_RANK_DIMS], zb[FM_RANK_DIMS];

	(void)state;
	load_profiles(&p);
	rank(lib, &p, FM_ANGRY, FM_RANK_MATCH, 0, NULL, 3, a);
	rank(lib, &p, FM_ANGRY, FM_RANK_CALM, 0, NULL, 3, b);
	fm_rank_library_vector(lib, a[0].song, za);
	fm_rank_library_vector(lib, b[0].song, zb);
	assert_true(zb[FM_DIM_LOUDNESS] < za[FM_DIM_LOUDNESS]);
	assert_true(zb[FM_DIM_TEMPO] < za[FM_DIM_TEMPO]);
	fm_rank_library_free(lib);
}

static void
equal_scores_keep_the_library_order(void **state)
{
	struct song s[6];
	struct fm_rank_library *lib;
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[6];
	const char *names[] = {"z.wav", "m.wav", "a.wav"};

	(void)state;
	load_profiles(&p);
	/* Three copies of the saddest song under different names, among three others. */
	for (int i = 0; i < 3; i++) {
		s[i] = songs[0];
		s[i].path = names[i];
		s[3 + i] = songs[3 + i];
	}
	lib = make_library(s, 6);
	for (int run = 0; run < 2; run++) {
		assert_int_equal(rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, NULL, 6, hits), 6);
		for (size_t k = 0; k < 3; k++)
			assert_int_equal(hits[k].song, k);
		assert_true(hits[0].score == hits[2].score);
	}
	/* The same through the top-k selection with fewer results than ties. */
	assert_int_equal(rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, NULL, 2, hits), 2);
	assert_int_equal(hits[0].song, 0);
	assert_int_equal(hits[1].song, 1);
	fm_rank_library_free(lib);
}

static void
excluded_songs_never_come_out(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[N_SONGS];
	uint8_t excluded[N_SONGS] = {0};

	(void)state;
	load_profiles(&p);
	excluded[index_of("saddest.wav")] = 1;
	excluded[index_of("calm.wav")] = 1;
	assert_int_equal(rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, excluded, N_SONGS, hits),
	                 N_SONGS - 2);
	assert_int_equal(position(hits, N_SONGS - 2, "saddest.wav"), N_SONGS - 2);
	assert_int_equal(position(hits, N_SONGS - 2, "calm.wav"), N_SONGS - 2);
	assert_int_equal(rank(lib, &p, FM_SAD, FM_RANK_UPLIFT, 0, excluded, N_SONGS, hits),
	                 N_SONGS - 2);
	assert_int_equal(position(hits, N_SONGS - 2, "calm.wav"), N_SONGS - 2);
	memset(excluded, 1, sizeof excluded);
	assert_int_equal(rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, excluded, N_SONGS, hits), 0);
	fm_rank_library_free(lib);
}

static void
artist_diversity_gives_one_song_per_artist(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[N_SONGS];
	size_t n;

	(void)state;
	load_profiles(&p);
	n = rank(lib, &p, FM_SAD, FM_RANK_MATCH, FM_RANK_DIVERSE_ARTIST, NULL, N_SONGS, hits);
	assert_int_equal(n, 4); /* artists A, B, C, D */
	for (size_t k = 0; k < n; k++)
		for (size_t j = 0; j < k; j++)
			assert_string_not_equal(songs[hits[k].song].artist,
			                        songs[hits[j].song].artist);
	assert_int_equal(hits[0].song, index_of("saddest.wav"));
	/* And through the greedy path too. */
	n = rank(lib, &p, FM_SAD, FM_RANK_UPLIFT, FM_RANK_DIVERSE_ARTIST, NULL, N_SONGS, hits);
	assert_int_equal(n, 4);
	fm_rank_library_free(lib);
}

static void
mmr_prefers_a_different_second_song(void **state)
{
	struct song s[N_SONGS + 2];
	struct fm_rank_library *lib;
	struct fm_rank_profiles p;
	struct fm_rank_hit hits[2];

	(void)state;
	load_profiles(&p);
	memcpy(s, songs, sizeof songs);
	/* The saddest song again under another name, and a sad song that differs from it. */
	s[N_SONGS] = songs[0];
	s[N_SONGS].path = "twin.wav";
	s[N_SONGS + 1] = songs[0];
	s[N_SONGS + 1].path = "other.wav";
	s[N_SONGS + 1].rms_sd = 0.02;
	s[N_SONGS + 1].loudness = -20;
	lib = make_library(s, N_SONGS + 2);
	rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, NULL, 2, hits);
	assert_int_equal(hits[1].song, N_SONGS); /* relevance alone: the twin */
	rank(lib, &p, FM_SAD, FM_RANK_MATCH, FM_RANK_DIVERSE_MMR, NULL, 2, hits);
	assert_int_equal(hits[0].song, 0);
	assert_int_equal(hits[1].song, N_SONGS + 1); /* the twin adds nothing new */
	fm_rank_library_free(lib);
}

static struct fm_rank_event
event(const char *path, enum fm_emotion em, double weight, double t_sec)
{
	return (struct fm_rank_event){path, strlen(path), em, weight, t_sec};
}

/* Rank lib for an emotion with a taste (or NULL); the hits go to hits (room for n). */
static size_t
rank_taste(const struct fm_rank_library *lib, const struct fm_rank_profiles *p, enum fm_emotion em,
           const struct fm_rank_taste *taste, size_t n, struct fm_rank_hit *hits)
{
	struct fm_rank_query q = {.strategy = FM_RANK_MATCH,
	                          .strength = 1,
	                          .n_results = n,
	                          .mmr_lambda = FM_RANK_MMR_LAMBDA,
	                          .taste = taste};
	struct fm_rank_work *w;
	struct fm_err e;
	size_t n_hits;

	one_hot(q.mood, em);
	assert_int_equal(fm_rank_work_new(lib, &w, &e), 0);
	if (fm_rank_search(w, p, &q, hits, &n_hits, &e) == -1)
		fail_msg("search: %s", e.msg);
	fm_rank_work_free(w);
	for (size_t k = 0; k < n_hits; k++)
		assert_true(isfinite(hits[k].score) && fabs(hits[k].score) <= 1);
	return n_hits;
}

/* Count the event about path, count times. */
static void
judge(struct fm_rank_taste *t, const struct fm_rank_library *lib, const struct fm_rank_profiles *p,
      const char *path, enum fm_emotion em, double weight, int count)
{
	struct fm_rank_event ev = event(path, em, weight, NAN);
	struct fm_err e;

	(void)lib;
	for (int k = 0; k < count; k++)
		assert_int_equal(fm_rank_taste_add(t, index_of(path), &ev, 0, &p->feedback, &e), 0);
}

static void
like_moves_a_song_up_and_dislike_down(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit before[N_SONGS], after[N_SONGS], happy[N_SONGS], happy2[N_SONGS];
	struct fm_rank_taste *t;
	struct fm_err e;

	(void)state;
	load_profiles(&p);
	rank(lib, &p, FM_SAD, FM_RANK_MATCH, 0, NULL, N_SONGS, before);
	rank(lib, &p, FM_HAPPY, FM_RANK_MATCH, 0, NULL, N_SONGS, happy);
	assert_int_equal(fm_rank_taste_new(lib, &t, &e), 0);
	judge(t, lib, &p, "tender.wav", FM_SAD, p.feedback.like, 1);
	judge(t, lib, &p, "sadish.wav", FM_SAD, -1, 1); /* a rating of 1 */
	assert_int_equal(fm_rank_taste_events(t), 2);
	assert_int_equal(fm_rank_taste_songs(t), 2);
	rank_taste(lib, &p, FM_SAD, t, N_SONGS, after);
	assert_true(position(after, N_SONGS, "tender.wav") <
	            position(before, N_SONGS, "tender.wav"));
	assert_true(position(after, N_SONGS, "sadish.wav") >
	            position(before, N_SONGS, "sadish.wav"));
	/* Scores are blends, not cosines: what a like moves is the song's place. */
	/* The liked song's hit says so. */
	size_t k = position(after, N_SONGS, "tender.wav");
	assert_int_equal(after[k].taste_song, index_of("tender.wav"));
	assert_true(after[k].taste_how & FM_RANK_TASTE_SELF);
	assert_true(after[k].taste_how & FM_RANK_TASTE_LIKED);
	/* In another mood the same judgements count, less: the skipped song falls there too. */
	rank_taste(lib, &p, FM_HAPPY, t, N_SONGS, happy2);
	assert_true(position(happy2, N_SONGS, "sadish.wav") >=
	            position(happy, N_SONGS, "sadish.wav"));
	assert_true(position(happy2, N_SONGS, "tender.wav") <
	            position(happy, N_SONGS, "tender.wav"));
	fm_rank_taste_free(t);
	fm_rank_library_free(lib);
}

static void
a_few_judgements_nudge_many_override(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_taste *t;
	struct rank_taste_eval ev = {0};
	double mood[FM_N_EMOTIONS];
	struct fm_err e;

	(void)state;
	load_profiles(&p);
	one_hot(mood, FM_SAD);
	assert_int_equal(fm_rank_taste_new(lib, &t, &e), 0);
	judge(t, lib, &p, "calm.wav", FM_SAD, 1, 1);
	assert_int_equal(rank_taste_eval(t, &p.feedback, mood, &ev, &e), 0);
	/* lambda = max_share W^2 / (W^2 + evidence^2), to rounding. */
	double e2 = p.feedback.evidence * p.feedback.evidence, cap = p.feedback.max_share;
	assert_true(cap > 0.5 && cap < 1);
	assert_true(fabs(ev.lambda - cap / (1 + e2)) < 1e-12);
	assert_true(ev.lambda < 0.25);
	judge(t, lib, &p, "calm.wav", FM_SAD, 1, 19);
	assert_int_equal(rank_taste_eval(t, &p.feedback, mood, &ev, &e), 0);
	assert_true(fabs(ev.lambda - cap * 400 / (400 + e2)) < 1e-12);
	assert_true(ev.lambda > 0.8 && ev.lambda <= cap);
	/* In another mood a judgement counts other_moods of its weight. */
	one_hot(mood, FM_HAPPY);
	assert_int_equal(rank_taste_eval(t, &p.feedback, mood, &ev, &e), 0);
	double w = 20 * p.feedback.other_moods;
	assert_true(fabs(ev.lambda - cap * w * w / (w * w + e2)) < 1e-12);
	rank_taste_eval_free(&ev);
	fm_rank_taste_free(t);
	fm_rank_library_free(lib);
}

static void
a_consistent_taste_transfers_to_unjudged_songs(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit before[N_SONGS], after[N_SONGS];
	struct fm_rank_taste *t;
	struct fm_err e;

	(void)state;
	load_profiles(&p);
	/* A listener who likes loud, fast, bright songs and skips quiet, slow ones, all judged
	 * in the neutral mood: party.wav and calm.wav are never judged. */
	assert_int_equal(fm_rank_taste_new(lib, &t, &e), 0);
	judge(t, lib, &p, "happy.wav", FM_NEUTRAL, p.feedback.like, 5);
	judge(t, lib, &p, "angry.wav", FM_NEUTRAL, p.feedback.like, 5);
	judge(t, lib, &p, "saddest.wav", FM_NEUTRAL, p.feedback.skip, 5);
	judge(t, lib, &p, "tender.wav", FM_NEUTRAL, p.feedback.skip, 5);
	for (int m = 0; m < 2; m++) {
		enum fm_emotion em = m == 0 ? FM_NEUTRAL : FM_SAD;
		rank(lib, &p, em, FM_RANK_MATCH, 0, NULL, N_SONGS, before);
		rank_taste(lib, &p, em, t, N_SONGS, after);
		/* Before, the mood put the quiet song first; after, the taste does. */
		assert_true(position(before, N_SONGS, "calm.wav") <
		            position(before, N_SONGS, "party.wav"));
		assert_true(position(after, N_SONGS, "party.wav") <
		            position(after, N_SONGS, "calm.wav"));
	}
	/* The why names a liked song for the unjudged one the taste raised. */
	size_t k = position(after, N_SONGS, "party.wav");
	assert_true(after[k].taste_how & FM_RANK_TASTE_LIKED);
	assert_false(after[k].taste_how & (FM_RANK_TASTE_SELF | FM_RANK_TASTE_AGAINST));
	assert_true(after[k].taste_song == index_of("happy.wav") ||
	            after[k].taste_song == index_of("angry.wav"));
	fm_rank_taste_free(t);
	fm_rank_library_free(lib);
}

static void
no_feedback_leaves_the_ranking_exactly_as_it_was(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_hit before[N_SONGS], after[N_SONGS];
	struct fm_rank_taste *t;
	struct fm_err e;

	(void)state;
	load_profiles(&p);
	assert_int_equal(fm_rank_taste_new(lib, &t, &e), 0);
	/* An event whose weight decays to nothing, and none at all: the same bytes. */
	for (int e2 = 0; e2 < FM_N_EMOTIONS; e2++) {
		memset(before, 0, sizeof before);
		memset(after, 0, sizeof after);
		rank(lib, &p, (enum fm_emotion)e2, FM_RANK_MATCH, 0, NULL, N_SONGS, before);
		rank_taste(lib, &p, (enum fm_emotion)e2, t, N_SONGS, after);
		for (size_t k = 0; k < N_SONGS; k++) {
			assert_int_equal(after[k].song, before[k].song);
			assert_true(after[k].score == before[k].score);
			assert_string_equal(after[k].why, before[k].why);
			assert_int_equal(after[k].taste_how, 0);
		}
	}
	fm_rank_taste_free(t);
	fm_rank_library_free(lib);
}

static void
old_feedback_counts_less(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_taste *fresh, *old, *future;
	struct fm_rank_event ev = event("tender.wav", FM_SAD, 1, 0);
	struct rank_taste_eval a = {0}, b = {0};
	double days = 86400, mood[FM_N_EMOTIONS], wa, wb;
	size_t i = index_of("tender.wav");
	struct fm_err e;

	(void)state;
	load_profiles(&p);
	one_hot(mood, FM_SAD);
	assert_int_equal(fm_rank_taste_new(lib, &fresh, &e), 0);
	assert_int_equal(fm_rank_taste_new(lib, &old, &e), 0);
	assert_int_equal(fm_rank_taste_new(lib, &future, &e), 0);
	assert_int_equal(fm_rank_taste_add(fresh, i, &ev, 0, &p.feedback, &e), 0);
	assert_int_equal(
	    fm_rank_taste_add(old, i, &ev, p.feedback.half_life_days * days, &p.feedback, &e), 0);
	assert_int_equal(rank_taste_eval(fresh, &p.feedback, mood, &a, &e), 0);
	assert_int_equal(rank_taste_eval(old, &p.feedback, mood, &b, &e), 0);
	/* One half-life later the event weighs half: 2^-1, to rounding. */
	assert_true(fabs(b.v[0] - 0.5 * a.v[0]) < 1e-12);
	wa = a.v[0];
	/* An event from the future counts in full rather than more. */
	assert_int_equal(fm_rank_taste_add(future, i, &ev, -days, &p.feedback, &e), 0);
	assert_int_equal(rank_taste_eval(future, &p.feedback, mood, &b, &e), 0);
	wb = b.v[0];
	assert_true(wa == wb);
	rank_taste_eval_free(&a);
	rank_taste_eval_free(&b);
	fm_rank_taste_free(fresh);
	fm_rank_taste_free(old);
	fm_rank_taste_free(future);
	fm_rank_library_free(lib);
}

static void
feedback_events_are_decoded_strictly(void **state)
{
	static const char *bad[] = {
	    "{\"emotion\":\"sad\",\"rating\":3}",
	    "{\"path\":\"a\",\"rating\":3}",
	    "{\"path\":\"a\",\"emotion\":\"blue\",\"rating\":3}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"rating\":6}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"rating\":\"5\"}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"action\":\"love\"}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"action\":\"like\",\"rating\":4}",
	    "{\"path\":\"a\",\"emotion\":\"sad\"}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"action\":\"like\",\"time\":\"yesterday\"}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"reaction\":1.5}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"reaction\":\"up\"}",
	    "{\"path\":\"a\",\"emotion\":\"sad\",\"rating\":null,\"reaction\":2}",
	    "{\"path\":\"a\",\"rating\":null,\"action\":\"like\"}",
	    "{\"rating\":null,\"reaction\":null}",
	};
	struct fm_rank_profiles p;
	struct fm_rank_event ev;
	struct fm_err e;
	cJSON *rec;

	(void)state;
	load_profiles(&p);
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		assert_non_null(rec = cJSON_Parse(bad[k]));
		assert_int_equal(fm_rank_event_decode(rec, &p.feedback, &ev, &e), -1);
		assert_int_equal(e.code, FM_EFORMAT);
		cJSON_Delete(rec);
	}
	assert_non_null(rec = cJSON_Parse("{\"path\":\"a\",\"emotion\":\"sad\",\"rating\":1,"
	                                  "\"time\":\"1970-01-02T00:00:00Z\"}"));
	assert_int_equal(fm_rank_event_decode(rec, &p.feedback, &ev, &e), 1);
	assert_true(ev.weight == -1 && ev.t_sec == 86400 && ev.emotion == FM_SAD);
	cJSON_Delete(rec);
	assert_non_null(
	    rec = cJSON_Parse("{\"path\":\"a\",\"emotion\":\"happy\",\"action\":\"skip\"}"));
	assert_int_equal(fm_rank_event_decode(rec, &p.feedback, &ev, &e), 1);
	assert_true(ev.weight == p.feedback.skip && isnan(ev.t_sec));
	cJSON_Delete(rec);
	/* fer-react's records: a reaction with its rating (the rating counts), and a play
	 * without a face, which judges nothing, whatever else it carries. */
	assert_non_null(rec = cJSON_Parse("{\"path\":\"a\",\"start\":1,\"end\":9,"
	                                  "\"emotion\":\"sad\",\"rating\":4,\"reaction\":0.3,"
	                                  "\"frames\":80,\"brief\":[]}"));
	assert_int_equal(fm_rank_event_decode(rec, &p.feedback, &ev, &e), 1);
	assert_true(ev.weight == 0.5 && isnan(ev.t_sec));
	cJSON_Delete(rec);
	assert_non_null(rec =
	                    cJSON_Parse("{\"path\":\"a\",\"emotion\":\"sad\",\"reaction\":-0.25}"));
	assert_int_equal(fm_rank_event_decode(rec, &p.feedback, &ev, &e), 1);
	assert_true(ev.weight == -0.25);
	cJSON_Delete(rec);
	assert_non_null(rec = cJSON_Parse("{\"path\":\"a\",\"start\":1,\"end\":9,"
	                                  "\"emotion\":null,\"rating\":null,\"reaction\":null,"
	                                  "\"note\":\"no face in the frames of the play\"}"));
	assert_int_equal(fm_rank_event_decode(rec, &p.feedback, &ev, &e), 0);
	assert_string_equal(ev.path, "a");
	cJSON_Delete(rec);
}

static void
learnt_profile_is_the_centroid_of_tagged_songs(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p, learnt;
	size_t n[FM_N_EMOTIONS];
	struct fm_err e;
	double a[FM_RANK_DIMS], b[FM_RANK_DIMS];

	(void)state;
	load_profiles(&p);
	assert_int_equal(fm_rank_learn(lib, &p, &learnt, n, &e), 0);
	assert_int_equal(n[FM_HAPPY], 2);
	assert_int_equal(n[FM_SAD], 1);
	assert_int_equal(n[FM_ANGRY], 0);
	fm_rank_library_vector(lib, index_of("happy.wav"), a);
	fm_rank_library_vector(lib, index_of("party.wav"), b);
	for (int d = 0; d < FM_RANK_DIMS; d++)
		assert_true(fabs(learnt.vec[FM_HAPPY][d] - (a[d] + b[d]) / 2) < 1e-9);
	fm_rank_library_vector(lib, index_of("saddest.wav"), a);
	for (int d = 0; d < FM_RANK_DIMS; d++) {
		assert_true(fabs(learnt.vec[FM_SAD][d] - a[d]) < 1e-9);
		assert_true(learnt.vec[FM_ANGRY][d] == p.vec[FM_ANGRY][d]);
	}
	fm_rank_library_free(lib);

	/* No tag at all: nothing to learn from. */
	struct song untagged[2] = {songs[1], songs[2]};
	lib = make_library(untagged, 2);
	assert_int_equal(fm_rank_learn(lib, &p, &learnt, n, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	fm_rank_library_free(lib);
}

static void
profiles_round_trip_through_the_file_format(void **state)
{
	struct fm_rank_profiles p, q;
	const char *why[FM_N_EMOTIONS] = {"because"};
	struct fm_err e;
	char *text;

	(void)state;
	load_profiles(&p);
	assert_true(p.feedback.evidence == 2 && p.feedback.other_moods == 0.8);
	assert_true(p.vec[FM_SAD][FM_DIM_MODE] == -0.68);
	assert_int_equal(fm_rank_profiles_encode(&p, "about", why, &text, &e), 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_int_equal(fm_rank_profiles_decode(text, strlen(text), &q, &e), 0);
	/* Written to 4 decimals; the shipped numbers have fewer. */
	assert_memory_equal(&p, &q, sizeof p);
	free(text);
}

static void
profiles_of_format_1_are_read(void **state)
{
	static const char v1[] =
	    "{\"format\":\"fermata-profiles 1\",\"profiles\":{"
	    "\"angry\":{\"valence\":-0.6,\"arousal\":0.8,\"vector\":{\"loudness\":1}},"
	    "\"disgust\":{\"valence\":-0.6,\"arousal\":0.3,\"vector\":{\"mode\":-1}},"
	    "\"fear\":{\"valence\":-0.6,\"arousal\":0.6,\"vector\":{\"mode\":-1}},"
	    "\"happy\":{\"valence\":0.8,\"arousal\":0.5,\"vector\":{\"mode\":1}},"
	    "\"sad\":{\"valence\":-0.8,\"arousal\":-0.5,\"vector\":{\"mode\":-1}},"
	    "\"surprise\":{\"valence\":0.4,\"arousal\":0.8,\"vector\":{\"tempo\":1}},"
	    "\"neutral\":{\"valence\":0,\"arousal\":0,\"vector\":{\"tempo\":-0.2}}},"
	    "\"axes\":{\"valence\":{\"vector\":{\"mode\":1}},\"arousal\":{\"vector\":{"
	    "\"tempo\":1}}},\"feedback\":{\"alpha\":1,\"beta\":0.75,\"gamma\":%s,"
	    "\"half_life_days\":30,\"like\":1,\"skip\":-0.5}}";
	const struct fm_rank_feedback_opts d = FM_RANK_TASTE_DEFAULTS;
	struct fm_rank_profiles p;
	struct fm_err e;
	char text[2048];

	(void)state;
	snprintf(text, sizeof text, v1, "0.5");
	assert_int_equal(fm_rank_profiles_decode(text, strlen(text), &p, &e), 0);
	/* Its own half-life; the taste's numbers as shipped. */
	assert_true(p.feedback.half_life_days == 30);
	assert_true(p.feedback.evidence == d.evidence && p.feedback.width == d.width &&
	            p.feedback.similar == d.similar && p.feedback.other_moods == d.other_moods);
	/* Its Rocchio rates are still checked. */
	snprintf(text, sizeof text, v1, "-1");
	assert_int_equal(fm_rank_profiles_decode(text, strlen(text), &p, &e), -1);
	assert_non_null(strstr(e.msg, "feedback: \"gamma\" is not"));
}

static void
bad_profiles_are_refused_naming_the_member(void **state)
{
	static const struct {
		const char *from, *to, *msg;
	} cases[] = {
	    {"\"tempo\": ", "\"tmepo\": ", "profiles.sad: unknown descriptor \"tmepo\""},
	    {"\"sad\": {", "\"blue\": {", "profiles: unknown emotion \"blue\""},
	    {"\"mode\": ", "\"mode\": \"minor\", \"m\": ",
	     "profiles.sad: \"mode\" is not a number"},
	    {"\"mode\": ", "\"mode\": 40, \"m\": ", "profiles.sad: \"mode\" is not a number"},
	    {"\"valence\": ", "\"valence\": -2, \"v\": ",
	     "profiles.sad: \"valence\" is not a number"},
	    {"fermata-profiles 2", "fermata-profiles 3", "\"format\" is not"},
	    {"\"evidence\": 2", "\"evidence\": 0", "feedback: \"evidence\" is not"},
	    {"\"other_moods\": 0.8", "\"other_moods\": 2", "feedback: \"other_moods\" is not"},
	    {"\"max_share\": 0.85", "\"max_share\": 1.5", "feedback: \"max_share\" is not"},
	    {"\"axes\": {", "\"axis\": {", "no \"axes\" object"},
	    {"{", "[", "not a JSON object"},
	};
	unsigned char *bytes;
	size_t n;
	struct fm_rank_profiles p;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_read_file(PROFILES, 1 << 20, &bytes, &n, &e), 0);
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		char *text = malloc(n + 64), *at;

		memcpy(text, bytes, n);
		text[n] = '\0';
		/* The first occurrence after the sad profile's start, or the first overall. */
		at = strstr(text, "\"sad\": {");
		at = at != NULL && strstr(at, cases[k].from) != NULL ? strstr(at, cases[k].from)
		                                                     : strstr(text, cases[k].from);
		assert_non_null(at);
		size_t nf = strlen(cases[k].from), nt = strlen(cases[k].to);
		memmove(at + nt, at + nf, strlen(at + nf) + 1);
		memcpy(at, cases[k].to, nt);
		assert_int_equal(fm_rank_profiles_decode(text, strlen(text), &p, &e), -1);
		assert_int_equal(e.code, FM_EFORMAT);
		if (strncmp(e.msg, cases[k].msg, strlen(cases[k].msg)) != 0)
			fail_msg("case %zu: \"%s\"", k, e.msg);
		free(text);
	}
	free(bytes);
	/* A profile missing altogether. */
	const char *text = "{\"format\":\"fermata-profiles 1\",\"profiles\":{}}";
	assert_int_equal(fm_rank_profiles_decode(text, strlen(text), &p, &e), -1);
	assert_string_equal(e.msg, "no profile for \"angry\"");
}

static void
zero_profiles_give_no_direction(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS);
	struct fm_rank_profiles p;
	struct fm_rank_query q = {.strategy = FM_RANK_MATCH, .strength = 1, .n_results = 3};
	struct fm_rank_hit hits[3];
	struct fm_rank_work *w;
	struct fm_err e;
	size_t n;

	(void)state;
	load_profiles(&p);
	memset(p.vec[FM_NEUTRAL], 0, sizeof p.vec[FM_NEUTRAL]);
	one_hot(q.mood, FM_NEUTRAL);
	assert_int_equal(fm_rank_work_new(lib, &w, &e), 0);
	assert_int_equal(fm_rank_search(w, &p, &q, hits, &n, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	/* A mood that does not sum to 1 is the caller's mistake. */
	one_hot(q.mood, FM_SAD);
	q.mood[FM_HAPPY] = 1;
	assert_int_equal(fm_rank_search(w, &p, &q, hits, &n, &e), -1);
	fm_rank_work_free(w);
	fm_rank_library_free(lib);
}

/* ------------------------------------------------------------------------------------------ */

static char *
temp_path(const char *name)
{
	char *p = malloc(256);

	snprintf(p, 256, "%s/fm-test-rank-%ld-%s",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", (long)getpid(), name);
	return p;
}

static void
index_ranks_as_the_library_does(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS), *idx;
	struct fm_rank_profiles p;
	struct fm_rank_hit a[N_SONGS], b[N_SONGS];
	char *path = temp_path("ok.idx");
	char *text, *text2;
	size_t n, n2, i;
	struct fm_err e;

	(void)state;
	load_profiles(&p);
	assert_int_equal(fm_rank_index_save(lib, path, &e), 0);
	assert_int_equal(fm_rank_index_load(path, ~0u, &idx, &e), 0);
	assert_int_equal(fm_rank_library_size(idx), N_SONGS);
	for (int em = 0; em < FM_N_EMOTIONS; em++) {
		rank(lib, &p, (enum fm_emotion)em, FM_RANK_UPLIFT, 0, NULL, N_SONGS, a);
		rank(idx, &p, (enum fm_emotion)em, FM_RANK_UPLIFT, 0, NULL, N_SONGS, b);
		for (size_t k = 0; k < N_SONGS; k++) {
			assert_int_equal(a[k].song, b[k].song);
			assert_true(a[k].score == b[k].score);
			assert_string_equal(a[k].why, b[k].why);
		}
	}
	for (size_t k = 0; k < N_SONGS; k++) {
		assert_int_equal(fm_rank_library_record(lib, k, &text, &n, &e), 0);
		assert_int_equal(fm_rank_library_record(idx, k, &text2, &n2, &e), 0);
		assert_int_equal(n, n2);
		assert_memory_equal(text, text2, n);
		assert_int_equal(text2[n2], '\0');
		free(text);
		free(text2);
	}
	assert_int_equal(fm_rank_library_find(idx, "calm.wav", 8, &i, &e), 1);
	assert_int_equal(i, index_of("calm.wav"));
	/* Learning and artist diversity work from the index too. */
	struct fm_rank_profiles learnt;
	size_t counts[FM_N_EMOTIONS];
	assert_int_equal(fm_rank_learn(idx, &p, &learnt, counts, &e), 0);
	assert_int_equal(counts[FM_HAPPY], 2);
	assert_int_equal(
	    rank(idx, &p, FM_SAD, FM_RANK_MATCH, FM_RANK_DIVERSE_ARTIST, NULL, N_SONGS, b), 4);
	fm_rank_library_free(idx);

	/* Loaded without its paths, an index cannot find songs, and says so. */
	assert_int_equal(fm_rank_index_load(path, 0, &idx, &e), 0);
	assert_int_equal(fm_rank_library_find(idx, "calm.wav", 8, &i, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	fm_rank_library_free(idx);
	unlink(path);
	free(path);
	fm_rank_library_free(lib);
}

static unsigned char *
slurp(const char *path, size_t *n)
{
	unsigned char *b;
	struct fm_err e;

	assert_int_equal(fm_read_file(path, 1 << 24, &b, n, &e), 0);
	return b;
}

static void
spit(const char *path, const unsigned char *b, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* Load path and expect failure with code and a message starting with msg. */
static void
expect_refused(const char *path, enum fm_errcode code, const char *msg)
{
	struct fm_rank_library *idx;
	struct fm_err e;

	assert_int_equal(fm_rank_index_load(path, ~0u, &idx, &e), -1);
	assert_null(idx);
	assert_int_equal(e.code, code);
	if (strncmp(e.msg, msg, strlen(msg)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", msg, e.msg);
}

static void
put64le(unsigned char *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (unsigned char)(v >> (8 * k));
}

/* Rewrite the header's checksum after a change, as a hostile file would. */
static void
reseal(unsigned char *b)
{
	put64le(b + 504, rank_hash(b, 504, RANK_SEED_SECTION));
}

/* A library of three songs alike in the nine descriptors, two of them alike in timbre. */
static struct fm_rank_library *
timbre_library(void)
{
	static const char *const lines[] = {
	    "{\"path\":\"a.wav\",\"tempo\":80,\"loudness\":-20,\"mfcc_mean\":"
	    "[-200,100,10,5,0,0,0,0,0,0,0,0,0]}",
	    "{\"path\":\"far.wav\",\"tempo\":80,\"loudness\":-20,\"mfcc_mean\":"
	    "[-400,20,-30,-5,9,9,9,9,9,9,9,9,9]}",
	    "{\"path\":\"near.wav\",\"tempo\":80,\"loudness\":-20,\"mfcc_mean\":"
	    "[-210,95,12,4,1,0,0,0,0,0,0,0,0]}",
	    "{\"path\":\"loud.wav\",\"tempo\":160,\"loudness\":-5}",
	};
	struct fm_rank_library *lib;
	struct fm_err e;

	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	for (size_t k = 0; k < sizeof lines / sizeof *lines; k++)
		add_line(lib, lines[k], FM_RANK_ADDED);
	assert_int_equal(fm_rank_library_finish(lib, &e), 0);
	return lib;
}

static size_t
hit_of(const struct fm_rank_hit *h, size_t n, size_t song)
{
	for (size_t k = 0; k < n; k++)
		if (h[k].song == song)
			return k;
	fail_msg("song %zu not ranked", song);
	return n;
}

static void
the_taste_hears_timbre_also_from_an_index(void **state)
{
	struct fm_rank_library *lib = timbre_library(), *idx, *libs[2];
	struct fm_rank_profiles p;
	struct fm_rank_hit h[4];
	struct fm_rank_taste *t;
	struct fm_rank_event ev = event("a.wav", FM_NEUTRAL, 1, NAN);
	char *path = temp_path("timbre.idx");
	struct fm_err e;

	(void)state;
	load_profiles(&p);
	assert_int_equal(fm_rank_index_save(lib, path, &e), 0);
	assert_int_equal(fm_rank_index_load(path, ~0u, &idx, &e), 0);
	libs[0] = lib;
	libs[1] = idx;
	for (int k = 0; k < 2; k++) {
		/* Without feedback far.wav and near.wav tie, the earlier first. */
		rank_taste(libs[k], &p, FM_NEUTRAL, NULL, 4, h);
		assert_true(hit_of(h, 4, 1) < hit_of(h, 4, 2));
		/* a.wav liked: the song of its timbre comes first of the two. */
		assert_int_equal(fm_rank_taste_new(libs[k], &t, &e), 0);
		assert_int_equal(fm_rank_taste_add(t, 0, &ev, 0, &p.feedback, &e), 0);
		rank_taste(libs[k], &p, FM_NEUTRAL, t, 4, h);
		assert_true(hit_of(h, 4, 2) < hit_of(h, 4, 1));
		fm_rank_taste_free(t);
	}
	fm_rank_library_free(idx);
	/* An index opened without the timbre ranks as one without: the twins tie again. */
	assert_int_equal(fm_rank_index_load(path, FM_RANK_WANT_PATHS, &idx, &e), 0);
	assert_int_equal(fm_rank_taste_new(idx, &t, &e), 0);
	assert_int_equal(fm_rank_taste_add(t, 0, &ev, 0, &p.feedback, &e), 0);
	rank_taste(idx, &p, FM_NEUTRAL, t, 4, h);
	assert_true(hit_of(h, 4, 1) < hit_of(h, 4, 2));
	fm_rank_taste_free(t);
	fm_rank_library_free(idx);
	fm_rank_library_free(lib);
	unlink(path);
	free(path);
}

static void
damaged_and_hostile_indexes_are_refused(void **state)
{
	struct fm_rank_library *lib = make_library(songs, N_SONGS), *idx;
	char *path = temp_path("ok.idx"), *bad = temp_path("bad.idx");
	unsigned char *b, *c;
	struct fm_err e;
	size_t n;

	(void)state;
	assert_int_equal(fm_rank_index_save(lib, path, &e), 0);
	b = slurp(path, &n);
	c = malloc(n);

	spit(bad, b, n / 2);
	expect_refused(bad, FM_EFORMAT, "truncated index");
	spit(bad, b, 300);
	expect_refused(bad, FM_EFORMAT, "truncated index (300 of 512 header bytes)");
	spit(bad, b, 5);
	expect_refused(bad, FM_EFORMAT, "not a recommend index");
	spit(bad, (const unsigned char *)"{\"path\":\"a.wav\",\"tempo\":120}\n", 29);
	expect_refused(bad, FM_EFORMAT, "not a recommend index");

	memcpy(c, b, n);
	c[100] ^= 1; /* inside the header */
	spit(bad, c, n);
	expect_refused(bad, FM_EFORMAT, "index header is damaged");

	memcpy(c, b, n);
	c[600] ^= 0x40; /* inside the vectors */
	spit(bad, c, n);
	expect_refused(bad, FM_EFORMAT, "index section \"vectors\" is damaged");

	memcpy(c, b, n);
	put64le(c + 24, (uint64_t)1 << 40); /* a trillion songs */
	reseal(c);
	spit(bad, c, n);
	expect_refused(bad, FM_ELIMIT, "index holds 1099511627776 songs");

	memcpy(c, b, n);
	put64le(c + 24, N_SONGS + 1); /* sections no longer fit the count */
	reseal(c);
	spit(bad, c, n);
	expect_refused(bad, FM_EFORMAT, "index section \"vectors\" is out of place");

	memcpy(c, b, n);
	put64le(c + 40, UINT64_MAX - 7); /* an offset that overflows */
	reseal(c);
	spit(bad, c, n);
	expect_refused(bad, FM_EFORMAT, "index section \"vectors\" is out of place");

	memcpy(c, b, n);
	c[16] = 12; /* another descriptor count */
	reseal(c);
	spit(bad, c, n);
	expect_refused(bad, FM_EFORMAT, "index has 12 descriptors");

	memcpy(c, b, n);
	c[8] = 3; /* a later version */
	spit(bad, c, n);
	expect_refused(bad, FM_EFORMAT, "index version 3; this recommend reads 1 and 2");

	/* A damaged song line loads (it is checked when read) but cannot be read back; the
	 * lines are section 6 of 7, their end 5 bytes into the last line. */
	memcpy(c, b, n);
	c[fm_get_le64(c + 160) + fm_get_le64(c + 168) - 5] ^= 0x20;
	spit(bad, c, n);
	assert_int_equal(fm_rank_index_load(bad, ~0u, &idx, &e), 0);
	char *text;
	size_t n_text;
	assert_int_equal(fm_rank_library_record(idx, N_SONGS - 1, &text, &n_text, &e), -1);
	assert_string_equal(e.msg, "index record 8 is damaged (checksum)");
	assert_int_equal(fm_rank_library_record(idx, 0, &text, &n_text, &e), 0);
	free(text);
	/* An index is built from records, not copied from another index. */
	assert_int_equal(fm_rank_index_save(idx, bad, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	fm_rank_library_free(idx);

	/* A record entry pointing outside the lines is refused, not followed. */
	memcpy(c, b, n);
	uint64_t recs_at = 0;
	for (int k = 0; k < 8; k++)
		recs_at |= (uint64_t)b[40 + 24 * 4 + k] << (8 * k);
	put64le(c + recs_at, (uint64_t)1 << 50);
	spit(bad, c, n);
	assert_int_equal(fm_rank_index_load(bad, 0, &idx, &e), 0);
	assert_int_equal(fm_rank_library_record(idx, 0, &text, &n_text, &e), -1);
	assert_string_equal(e.msg, "index record 1 lies outside the file");
	fm_rank_library_free(idx);

	memcpy(c, b, n);
	spit(bad, c, n);
	expect_refused("/nonexistent/x.idx", FM_EIO, "no such file or directory");
	unlink(bad);
	unlink(path);
	free(b);
	free(c);
	free(bad);
	free(path);
	fm_rank_library_free(lib);
}

/* ------------------------------------------------------------------------------------------ */

static void
times_are_unix_seconds_or_rfc3339(void **state)
{
	static const struct {
		const char *s;
		double t;
	} good[] = {
	    {"0", 0},
	    {"1700000000.5", 1700000000.5},
	    {"1970-01-01T00:00:00Z", 0},
	    {"2000-03-01T00:00:00Z", 951868800},
	    {"2024-02-29T12:30:15.25Z", 1709209815.25},
	    {"2024-05-01t20:30:00+02:00", 1714588200},
	    {"2024-05-01 18:30:00z", 1714588200},
	    {"1969-12-31T23:59:59Z", -1},
	};
	static const char *bad[] = {"",
	                            "yesterday",
	                            "2023-02-29T00:00:00Z",
	                            "2024-13-01T00:00:00Z",
	                            "2024-05-01T24:00:00Z",
	                            "2024-05-01",
	                            "2024-05-01 18:30",
	                            "2024-05-01 18:30:00 ",
	                            "2024-05-01T18:30:00+0200",
	                            "2024-05-01T18:30:00.Z",
	                            "nan"};
	struct fm_err e;
	double t;

	(void)state;
	for (size_t k = 0; k < sizeof good / sizeof *good; k++) {
		if (fm_rank_time_parse(good[k].s, &t, &e) == -1)
			fail_msg("%s: %s", good[k].s, e.msg);
		assert_true(fabs(t - good[k].t) < 1e-6);
	}
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		assert_int_equal(fm_rank_time_parse(bad[k], &t, &e), -1);
		assert_int_equal(e.code, FM_EFORMAT);
	}
}

/* Without a zone, a time is local, as date(1) writes it: TZ decides (POSIX TZ strings, which
 * need no zone files; "XXX-2" is two hours east of UTC). */
static void
times_without_a_zone_are_local(void **state)
{
	struct fm_err e;
	cJSON *v;
	double t;

	(void)state;
	assert_int_equal(setenv("TZ", "UTC0", 1), 0);
	tzset();
	assert_int_equal(fm_rank_time_parse("2024-05-01 18:30:00", &t, &e), 0);
	assert_true(t == 1714588200);
	assert_int_equal(fm_rank_time_parse("2024-05-01T18:30:00.5", &t, &e), 0);
	assert_true(t == 1714588200.5);
	assert_int_equal(setenv("TZ", "XXX-2", 1), 0);
	tzset();
	assert_int_equal(fm_rank_time_parse("2024-05-01 20:30:00", &t, &e), 0);
	assert_true(t == 1714588200);
	/* A zone given wins over TZ. */
	assert_int_equal(fm_rank_time_parse("2024-05-01 18:30:00Z", &t, &e), 0);
	assert_true(t == 1714588200);
	v = cJSON_CreateString("2024-05-01 20:30:00");
	assert_int_equal(fm_rank_time_decode(v, &t, &e), 0);
	assert_true(t == 1714588200);
	cJSON_Delete(v);
	unsetenv("TZ");
	tzset();
}

/* Unit tests run from the repository root: testdata/rank/ is a folder that exists. */
static void
logs_find_songs_by_real_path(void **state)
{
	struct fm_rank_library *lib;
	struct fm_rank_paths *paths;
	char cwd[4096], abs[4200];
	struct fm_err e;
	size_t i = 99;

	(void)state;
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	add_line(lib, "{\"path\":\"gone.wav\",\"tempo\":90}", FM_RANK_ADDED);
	add_line(lib, "{\"path\":\"testdata/rank/library.ndjson\",\"tempo\":100}", FM_RANK_ADDED);
	assert_int_equal(fm_rank_library_finish(lib, &e), 0);
	assert_int_equal(fm_rank_paths_new(lib, &paths, &e), 0);
	assert_non_null(getcwd(cwd, sizeof cwd));
	snprintf(abs, sizeof abs, "%s/testdata/rank/library.ndjson", cwd);
	assert_int_equal(fm_rank_paths_find(paths, abs, &i, &e), 1);
	assert_int_equal(i, 1);
	i = 99;
	assert_int_equal(
	    fm_rank_paths_find(paths, "./testdata/../testdata/rank/library.ndjson", &i, &e), 1);
	assert_int_equal(i, 1);
	assert_int_equal(fm_rank_paths_find(paths, "gone.wav", &i, &e), 1);
	assert_int_equal(i, 0);
	assert_int_equal(fm_rank_paths_find(paths, "/nowhere/gone.wav", &i, &e), 0);
	assert_int_equal(fm_rank_paths_find(paths, "testdata/rank", &i, &e), 0);
	fm_rank_paths_free(paths);
	fm_rank_library_free(lib);
}

static void
diversity_and_scores_parse_strictly(void **state)
{
	static const char *bad_kinds[] = {"",      ",",    "colour",  "mmr=2",
	                                  "mmr=x", "mmr=", "mmr=nan", "artist,mmr=-0.1"};
	double lambda = FM_RANK_MMR_LAMBDA, p[FM_N_EMOTIONS];
	unsigned kinds = 0;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_rank_diverse_parse("mmr=0.25,artist", &kinds, &lambda, &e), 0);
	assert_int_equal(kinds, FM_RANK_DIVERSE_MMR | FM_RANK_DIVERSE_ARTIST);
	assert_true(lambda == 0.25);
	assert_int_equal(fm_rank_diverse_parse("album,,mmr", &kinds, &lambda, &e), 0);
	assert_int_equal(kinds, FM_RANK_DIVERSE_MMR | FM_RANK_DIVERSE_ALBUM);
	for (size_t k = 0; k < sizeof bad_kinds / sizeof *bad_kinds; k++) {
		assert_int_equal(fm_rank_diverse_parse(bad_kinds[k], &kinds, &lambda, &e), -1);
		assert_int_equal(e.code, FM_EINVAL);
	}
	assert_int_equal(fm_mood_scores_parse("{\"sad\":3,\"neutral\":1}", p, &e), 0);
	assert_true(fabs(p[FM_SAD] - 0.75) < 1e-12 && fabs(p[FM_NEUTRAL] - 0.25) < 1e-12);
	assert_int_equal(fm_mood_scores_parse("{", p, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_int_equal(fm_mood_scores_parse("{\"contempt\":1}", p, &e), -1);
}

static void
grouped_songs_are_counted_per_kind(void **state)
{
	struct fm_rank_library *lib;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_rank_library_new(&lib, &e), 0);
	add_line(lib, "{\"path\":\"a.wav\",\"tempo\":100,\"artist\":\"Ann\",\"album\":\"\"}",
	         FM_RANK_ADDED);
	add_line(lib, "{\"path\":\"b.wav\",\"tempo\":120,\"artist\":\"Bo\"}", FM_RANK_ADDED);
	add_line(lib, "{\"path\":\"c.wav\",\"tempo\":140,\"album\":7}", FM_RANK_ADDED);
	assert_int_equal(fm_rank_library_finish(lib, &e), 0);
	assert_int_equal(fm_rank_library_n_grouped(lib, FM_RANK_DIVERSE_ARTIST), 2);
	/* An empty string and a number are no album. */
	assert_int_equal(fm_rank_library_n_grouped(lib, FM_RANK_DIVERSE_ALBUM), 0);
	assert_int_equal(fm_rank_library_n_grouped(lib, FM_RANK_DIVERSE_MMR), 0);
	fm_rank_library_free(lib);
}

/* entry: rec's M3U entry from the folder /home/u, with playlist folder base (NULL: absolute). */
static char *
entry(const char *rec_json, const char *base)
{
	cJSON *rec = cJSON_Parse(rec_json);
	struct fm_err e;
	char *text;
	size_t n;

	assert_non_null(rec);
	assert_int_equal(fm_rank_m3u_entry(rec, "/home/u", base, &text, &n, &e), 0);
	assert_int_equal(strlen(text), n);
	cJSON_Delete(rec);
	return text;
}

static void
m3u_entries_name_the_song_and_find_it_from_the_playlist(void **state)
{
	static const struct {
		const char *rec, *base, *want;
	} cases[] = {
	    /* the name: artist - title, title, else the file's name; whole seconds, -1 unknown */
	    {"{\"path\":\"m/a.flac\",\"duration\":215.5,\"title\":\"T\",\"artist\":\"A\"}", NULL,
	     "#EXTINF:216,A - T\n/home/u/m/a.flac\n"},
	    {"{\"path\":\"m/a.flac\",\"title\":\"T\",\"artist\":\"\"}", NULL,
	     "#EXTINF:-1,T\n/home/u/m/a.flac\n"},
	    {"{\"path\":\"/srv/x/b.ogg\",\"duration\":\"long\"}", NULL,
	     "#EXTINF:-1,b.ogg\n/srv/x/b.ogg\n"},
	    /* "." and ".." by their text; ".." at the root stays there */
	    {"{\"path\":\"./m/../n/./c.wav\",\"duration\":0}", NULL,
	     "#EXTINF:0,c.wav\n/home/u/n/c.wav\n"},
	    {"{\"path\":\"../../../../d.wav\"}", NULL, "#EXTINF:-1,d.wav\n/d.wav\n"},
	    /* relative to the playlist's folder */
	    {"{\"path\":\"m/a.flac\"}", "/home/u", "#EXTINF:-1,a.flac\nm/a.flac\n"},
	    {"{\"path\":\"m/a.flac\"}", "/home/u/lists/mood",
	     "#EXTINF:-1,a.flac\n../../m/a.flac\n"},
	    {"{\"path\":\"/srv/b.ogg\"}", "/home/u", "#EXTINF:-1,b.ogg\n../../srv/b.ogg\n"},
	    {"{\"path\":\"/b.ogg\"}", "/", "#EXTINF:-1,b.ogg\nb.ogg\n"},
	    /* a location a player would take for a comment */
	    {"{\"path\":\"#1 hit.mp3\"}", "/home/u", "#EXTINF:-1,#1 hit.mp3\n./#1 hit.mp3\n"},
	    /* a newline or a trailing space cannot be a line: a file: URI; the title one line */
	    {"{\"path\":\"a\\nb.wav\",\"title\":\"x\\ny\"}", "/home/u",
	     "#EXTINF:-1,x y\nfile:///home/u/a%0Ab.wav\n"},
	    {"{\"path\":\"/m/caf\\u00e9.wav \"}", NULL,
	     "#EXTINF:-1,caf\xc3\xa9.wav \nfile:///m/caf%C3%A9.wav%20\n"},
	    /* UTF-8 and spaces are written as they are elsewhere */
	    {"{\"path\":\"/m/caf\\u00e9 1.wav\"}", NULL,
	     "#EXTINF:-1,caf\xc3\xa9 1.wav\n/m/caf\xc3\xa9 1.wav\n"},
	};
	cJSON *rec = cJSON_Parse("{\"title\":\"no path\"}");
	struct fm_err e;
	char *text;
	size_t n;

	(void)state;
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		char *got = entry(cases[k].rec, cases[k].base);

		if (strcmp(got, cases[k].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", k, got, cases[k].want);
		free(got);
	}
	assert_int_equal(fm_rank_m3u_entry(rec, "/", NULL, &text, &n, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	cJSON_Delete(rec);
}

static void
text_width_counts_terminal_columns(void **state)
{
	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	assert_int_equal(fm_rank_text_width("Elegy"), 5);
	assert_int_equal(fm_rank_text_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* two CJK: 2 each */
	assert_int_equal(fm_rank_text_width("e\xcc\x81t\xc3\xa9"), 3); /* a combining accent: 0 */
	assert_int_equal(fm_rank_text_width("a\x1b[2Jb"), 6);          /* controls: 1 each */
	setlocale(LC_CTYPE, "C");
}

/* The table of records given as JSON lines, fit to max_cols. */
static char *
table(const char *const *lines, size_t n, size_t max_cols)
{
	cJSON *recs[8];
	struct fm_err e;
	char *text;
	size_t n_bytes;

	assert_true(n <= 8);
	for (size_t k = 0; k < n; k++)
		assert_non_null(recs[k] = cJSON_Parse(lines[k]));
	assert_int_equal(
	    fm_rank_text_table((const cJSON *const *)recs, n, max_cols, &text, &n_bytes, &e), 0);
	for (size_t k = 0; k < n; k++)
		cJSON_Delete(recs[k]);
	return text;
}

static void
text_tables_align_wide_titles_and_fit_the_terminal(void **state)
{
	static const char *const recs[] = {
	    "{\"rank\":1,\"path\":\"a.wav\",\"score\":0.9612,\"emotion\":\"sad\",\"strategy\":"
	    "\"match\","
	    "\"why\":\"slow tempo, minor key, sparse\",\"title\":\"\xe6\x97\xa5\xe6\x9c\xac\","
	    "\"artist\":\"Ana\"}",
	    "{\"rank\":2,\"path\":\"dir/"
	    "b.wav\",\"score\":0.5,\"emotion\":\"sad\",\"strategy\":\"match\","
	    "\"why\":\"quiet\"}",
	};
	static const char *const other[] = {
	    "{\"rank\":10,\"path\":\"x\\u001b.wav\",\"score\":-0.25,\"mood\":{\"neutral\":0.45,"
	    "\"angry\":0.35,\"sad\":0.1,\"fear\":0.1},"
	    "\"emotion\":\"sad\",\"query\":{\"path\":\"a.jpg\",\"frame\":3},\"why\":\"\"}",
	};
	char *got;

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	got = table(recs, 2, 0);
	assert_string_equal(
	    got, "Songs for sad (match)\n"
	         "#  title      artist  score  why\n"
	         "1  \xe6\x97\xa5\xe6\x9c\xac       Ana      0.96  slow tempo, minor key, sparse\n"
	         "2  dir/b.wav           0.50  quiet\n");
	free(got);
	/* 50 columns: the why cut to what is left, then nothing else */
	got = table(recs, 2, 50);
	assert_string_equal(
	    got,
	    "Songs for sad (match)\n"
	    "#  title      artist  score  why\n"
	    "1  \xe6\x97\xa5\xe6\x9c\xac       Ana      0.96  slow tempo, minor ke\xe2\x80\xa6\n"
	    "2  dir/b.wav           0.50  quiet\n");
	free(got);
	/* 40: the why at 20 at least, so the title gives way, down to 8, then the why again */
	got = table(recs, 2, 40);
	assert_string_equal(
	    got, "Songs for sad (match)\n"
	         "#  title     artist  score  why\n"
	         "1  \xe6\x97\xa5\xe6\x9c\xac      Ana      0.96  slow tempo,\xe2\x80\xa6\n"
	         "2  dir/b.w\xe2\x80\xa6           0.50  quiet\n");
	free(got);
	got = table(recs, 2, 34);
	assert_string_equal(
	    got, "Songs for sad (match)\n"
	         "#  title     artist  score  why\n"
	         "1  \xe6\x97\xa5\xe6\x9c\xac      Ana      0.96  slow temp\xe2\x80\xa6\n"
	         "2  dir/b.w\xe2\x80\xa6           0.50  quiet\n");
	free(got);
	/* the query in the heading, the "mood" mixture; no artist column; a control as '?' */
	got = table(other, 1, 0);
	assert_string_equal(got, "a.jpg, frame 3: songs for neutral 45%, angry 35%, sad 10%\n"
	                         " #  title   score  why\n"
	                         "10  x?.wav  -0.25\n");
	free(got);
	setlocale(LC_CTYPE, "C");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(standardised_descriptors_have_zero_mean_unit_std),
	    cmocka_unit_test(missing_and_non_numeric_descriptors_take_the_mean),
	    cmocka_unit_test(constant_descriptor_is_zero_for_every_song),
	    cmocka_unit_test(extreme_song_is_clamped_to_three_sd),
	    cmocka_unit_test(empty_library_cannot_be_finished),
	    cmocka_unit_test(bad_lines_are_format_errors),
	    cmocka_unit_test(upstream_errors_and_repeated_paths_are_left_out),
	    cmocka_unit_test(near_silent_and_short_songs_are_left_out),
	    cmocka_unit_test(saddest_song_comes_first_for_a_sad_face_under_match),
	    cmocka_unit_test(each_expression_finds_its_quadrant),
	    cmocka_unit_test(why_names_only_what_the_profile_asked_for),
	    cmocka_unit_test(saddest_song_is_not_first_under_uplift),
	    cmocka_unit_test(uplift_is_match_for_a_positive_mood),
	    cmocka_unit_test(calm_lowers_the_arousal_of_the_top_song),
	    cmocka_unit_test(equal_scores_keep_the_library_order),
	    cmocka_unit_test(excluded_songs_never_come_out),
	    cmocka_unit_test(artist_diversity_gives_one_song_per_artist),
	    cmocka_unit_test(mmr_prefers_a_different_second_song),
	    cmocka_unit_test(like_moves_a_song_up_and_dislike_down),
	    cmocka_unit_test(old_feedback_counts_less),
	    cmocka_unit_test(a_few_judgements_nudge_many_override),
	    cmocka_unit_test(a_consistent_taste_transfers_to_unjudged_songs),
	    cmocka_unit_test(no_feedback_leaves_the_ranking_exactly_as_it_was),
	    cmocka_unit_test(profiles_of_format_1_are_read),
	    cmocka_unit_test(the_taste_hears_timbre_also_from_an_index),
	    cmocka_unit_test(feedback_events_are_decoded_strictly),
	    cmocka_unit_test(learnt_profile_is_the_centroid_of_tagged_songs),
	    cmocka_unit_test(profiles_round_trip_through_the_file_format),
	    cmocka_unit_test(bad_profiles_are_refused_naming_the_member),
	    cmocka_unit_test(zero_profiles_give_no_direction),
	    cmocka_unit_test(index_ranks_as_the_library_does),
	    cmocka_unit_test(damaged_and_hostile_indexes_are_refused),
	    cmocka_unit_test(times_are_unix_seconds_or_rfc3339),
	    cmocka_unit_test(times_without_a_zone_are_local),
	    cmocka_unit_test(logs_find_songs_by_real_path),
	    cmocka_unit_test(diversity_and_scores_parse_strictly),
	    cmocka_unit_test(grouped_songs_are_counted_per_kind),
	    cmocka_unit_test(m3u_entries_name_the_song_and_find_it_from_the_playlist),
	    cmocka_unit_test(text_width_counts_terminal_columns),
	    cmocka_unit_test(text_tables_align_wide_titles_and_fit_the_terminal),
	};

	return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
