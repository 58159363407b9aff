/*
 * tests/unit/test_audio.c: lib/audio (cmocka): the FFT against a direct DFT, the mel scale
 * and bank, MFCCs and the other frame descriptors against the numpy reference in
 * testdata/audio (scripts/refdata/audio-reference.py, librosa 0.10's definitions), the stream's
 * independence from block sizes, resampling, tempo on click tracks and drum loops made here
 * (60 to 180 BPM), beats, key and mode on cadences, silence, the file formats libsndfile
 * writes, and every kind of bad input.
 *
 * Tolerances and where they come from:
 *  - MFCC, per frame and coefficient: 0.05 absolute. The log-mel bands are kept to 1/256 dB
 *    (at most 1/512 dB off each); through the orthonormal DCT, whose weights are at most
 *    sqrt(2/128) = 0.125, that is at most 128 * 0.125 / 512 = 0.031 in a coefficient, and
 *    float32 spectra add about 1e-3. Measured: see the message the test prints.
 *  - The other descriptors: 1e-4 relative (float32 spectra against float64), except the
 *    roll-off, which jumps by whole FFT bins (10.8 Hz) when a float32 cumulative sum lands
 *    on the other side of 85%: its mean may move by a bin in a few frames, 1 Hz.
 *  - Tempo: 4% of the true tempo (the issue's bound), with no octave errors allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio.h"
#include "audio_int.h"

#define SR 22050
#define MFCC_TOL 0.05

/* --- helpers ------------------------------------------------------------------------------ */

static const char *
testdata(const char *rel, char *buf, size_t n)
{
	const char *root = getenv("FM_TESTDATA");

	snprintf(buf, n, "%s/%s", root != NULL && root[0] != '\0' ? root : "testdata", rel);
	return buf;
}

static struct fm_audio_analyzer *
analyzer(bool beats, bool keep)
{
	struct fm_audio_opts o = FM_AUDIO_OPTS_DEFAULT;
	struct fm_audio_analyzer *a = NULL;
	struct fm_err e = {0};

	o.beats = beats;
	o.keep_frames = keep;
	if (fm_audio_analyzer_new(&o, &a, &e) != 0)
		fail_msg("analyzer: %s", e.msg);
	return a;
}

static void
analyze_ok(struct fm_audio_analyzer *a, const float *x, size_t n, uint32_t ch, uint32_t rate,
           struct fm_audio_features *f)
{
	struct fm_err e = {0};

	if (fm_audio_analyze_samples(a, x, n, ch, rate, f, &e) != 0)
		fail_msg("analysis: %s", e.msg);
}

static void
file_ok(struct fm_audio_analyzer *a, const char *path, struct fm_audio_features *f)
{
	struct fm_err e = {0};

	if (fm_audio_analyze_file(a, path, f, &e) != 0)
		fail_msg("%s: %s", path, e.msg);
}

/* A temporary directory for the files a test writes; removed by rm_tmp. */
static char *
mk_tmp(void)
{
	const char *t = getenv("TMPDIR");
	char *dir = malloc(512);

	assert_non_null(dir);
	snprintf(dir, 512, "%s/fermata-audio-XXXXXX", t != NULL && t[0] != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void
rm_tmp(char *dir, const char *const *names, size_t n)
{
	char p[1024];

	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	free(dir);
}

/* Write n frames of ch interleaved samples with libsndfile in format; false if refused. */
static bool
write_sound(const char *path, int format, uint32_t rate, uint32_t ch, const float *x, size_t n)
{
	SF_INFO info = {.samplerate = (int)rate, .channels = (int)ch, .format = format};
	SNDFILE *sf;
	sf_count_t put;

	if (!sf_format_check(&info) || (sf = sf_open(path, SFM_WRITE, &info)) == NULL)
		return false;
	put = sf_writef_float(sf, x, (sf_count_t)n);
	sf_close(sf);
	return put == (sf_count_t)n;
}

/* --- signals made here ---------------------------------------------------------------------- */

static void
place(float *y, size_t n, const float *s, size_t m, double at)
{
	size_t p = (size_t)lround(at);

	for (size_t i = 0; i < m && p + i < n; i++)
		y[p + i] += s[i];
}

/* A 20 ms click of 1 kHz decaying in 5 ms, every beat. */
static float *
click_track(double bpm, double sec, uint32_t rate, size_t *n_out)
{
	size_t n = (size_t)(sec * rate), m = (size_t)(0.02 * rate);
	float *y = calloc(n, sizeof *y), *c = malloc(m * sizeof *c);

	assert_non_null(y);
	assert_non_null(c);
	for (size_t i = 0; i < m; i++) {
		double t = (double)i / rate;

		c[i] = (float)(0.8 * sin(2 * AUDIO_PI * 1000 * t) * exp(-t / 0.005));
	}
	for (double at = 0; at < (double)n; at += 60.0 / bpm * rate)
		place(y, n, c, m, at);
	free(c);
	*n_out = n;
	return y;
}

enum loop_style { ROCK, FOUR_FLOOR, BACKBEAT };

/*
 * A drum loop: a kick (a sine falling from 150 to 50 Hz), a snare (noise and 185 Hz) and
 * closed hi-hats (differenced noise). ROCK: kick on 1 and 3, snare on 2 and 4, hats on
 * the eighths. FOUR_FLOOR: kick on every beat, snare on 2 and 4, hats on the off-beats.
 * BACKBEAT: kick on 1 and 3, snare on 2 and 4, nothing else (a punk or half-time beat).
 */
static float *
drum_loop(double bpm, double sec, enum loop_style style, uint64_t seed, uint32_t rate,
          size_t *n_out)
{
	size_t n = (size_t)(sec * rate), nk = (size_t)(0.3 * rate), ns = (size_t)(0.2 * rate);
	size_t nh = (size_t)(0.05 * rate);
	float *y = calloc(n, sizeof *y), *kick = malloc(nk * sizeof *kick);
	float *snare = malloc(ns * sizeof *snare), *hat = malloc(nh * sizeof *hat);
	double per = 60.0 / bpm * rate, phase = 0, prev = 0, peak = 0;
	struct fm_rng rng;

	assert_true(y != NULL && kick != NULL && snare != NULL && hat != NULL);
	fm_rng_seed(&rng, seed);
	for (size_t i = 0; i < nk; i++) {
		double t = (double)i / rate;

		phase += 2 * AUDIO_PI * (50 + 100 * exp(-t / 0.03)) / rate;
		kick[i] = (float)(0.9 * sin(phase) * exp(-t / 0.15));
	}
	for (size_t k = 0; (double)k * per < (double)n; k++) {
		unsigned beat = (unsigned)(k % 4);

		for (size_t i = 0; i < ns; i++) {
			double t = (double)i / rate;

			snare[i] = (float)(0.5 * (0.6 * fm_rng_normal(&rng) * exp(-t / 0.06) +
			                          sin(2 * AUDIO_PI * 185 * t) * exp(-t / 0.05)));
		}
		for (size_t i = 0; i < nh; i++) {
			double v = fm_rng_normal(&rng);

			hat[i] = (float)(0.12 * (v - prev) * exp(-(double)i / rate / 0.015));
			prev = v;
		}
		if (style == ROCK) {
			if (beat == 0 || beat == 2)
				place(y, n, kick, nk, (double)k * per);
			else
				place(y, n, snare, ns, (double)k * per);
			place(y, n, hat, nh, (double)k * per);
			for (size_t i = 0; i < nh; i++)
				hat[i] *= 0.7f;
			place(y, n, hat, nh, ((double)k + 0.5) * per);
		} else if (style == BACKBEAT) {
			if (beat == 0 || beat == 2)
				place(y, n, kick, nk, (double)k * per);
			else
				place(y, n, snare, ns, (double)k * per);
		} else {
			place(y, n, kick, nk, (double)k * per);
			if (beat == 1 || beat == 3) {
				for (size_t i = 0; i < ns; i++)
					snare[i] *= 0.7f;
				place(y, n, snare, ns, (double)k * per);
			}
			for (size_t i = 0; i < nh; i++)
				hat[i] *= 2;
			place(y, n, hat, nh, ((double)k + 0.5) * per);
		}
	}
	for (size_t i = 0; i < n; i++)
		peak = fmax(peak, fabs(y[i]));
	for (size_t i = 0; i < n; i++)
		y[i] = (float)(y[i] / peak * 0.8);
	free(kick);
	free(snare);
	free(hat);
	*n_out = n;
	return y;
}

static double
midi_hz(int m)
{
	return 440.0 * pow(2.0, (m - 69) / 12.0);
}

/* A note with six decaying harmonics, added to y from sample `at` for len samples. */
static void
note(float *y, size_t n, int midi, size_t at, size_t len, double gain)
{
	double f = midi_hz(midi);

	for (size_t i = 0; i < len && at + i < n; i++) {
		double t = (double)i / SR, v = 0;

		for (int h = 1; h <= 6; h++)
			v += pow(0.5, h - 1) * sin(2 * AUDIO_PI * h * f * t);
		y[at + i] += (float)(gain * v * exp(-t / 0.8) * fmin(1.0, t / 0.005));
	}
}

/*
 * A cadence in the key with tonic pitch class `tonic`: I IV V I (major) or i iv V i with the
 * raised leading tone (minor), each chord a root-position triad over its root an octave
 * below, twice, then the tonic held.
 */
static float *
cadence(int tonic, bool minor, size_t *n_out)
{
	static const int major_chords[4][3] = {{0, 4, 7}, {5, 9, 12}, {7, 11, 14}, {0, 4, 7}};
	static const int minor_chords[4][3] = {{0, 3, 7}, {5, 8, 12}, {7, 11, 14}, {0, 3, 7}};
	size_t chord = (size_t)(0.6 * SR), n = 9 * chord;
	float *y = calloc(n, sizeof *y);
	int base = 57 + (tonic + 3) % 12; /* the tonic from A3 (57) to G#4 (68) */

	assert_non_null(y);
	for (size_t rep = 0; rep < 2; rep++)
		for (size_t c = 0; c < 4; c++) {
			const int *ch = minor ? minor_chords[c] : major_chords[c];
			size_t at = (rep * 4 + c) * chord,
			       len = c == 3 && rep == 1 ? 2 * chord : chord;

			note(y, n, base + ch[0] - 12, at, len, 0.15);
			for (int i = 0; i < 3; i++)
				note(y, n, base + ch[i], at, len, 0.1);
		}
	*n_out = n;
	return y;
}

/* --- the FFT, the mel scale and the banks ---------------------------------------------------- */

static void
fft_power_matches_a_direct_dft(void **state)
{
	(void)state;
	for (size_t n = 16; n <= 2048; n *= 8) {
		struct audio_fft f;
		struct fm_err e = {0};
		struct fm_rng rng;
		float *x = malloc(n * sizeof *x), *p = malloc((n / 2 + 1) * sizeof *p);
		double peak = 0, worst = 0;

		assert_true(x != NULL && p != NULL);
		fm_rng_seed(&rng, n);
		for (size_t i = 0; i < n; i++)
			x[i] = (float)(fm_rng_normal(&rng) + 3 * sin(0.3 * (double)i));
		assert_int_equal(audio_fft_init(&f, n, &e), 0);
		audio_fft_power(&f, x, NULL, p);
		for (size_t k = 0; k <= n / 2; k++) {
			double re = 0, im = 0;

			for (size_t i = 0; i < n; i++) {
				double a = -2 * AUDIO_PI * (double)(k * i % n) / (double)n;

				re += x[i] * cos(a);
				im += x[i] * sin(a);
			}
			peak = fmax(peak, re * re + im * im);
			worst = fmax(worst, fabs(p[k] - (re * re + im * im)));
		}
		/* float32 butterflies: 1e-5 of the largest power bin. */
		if (worst > 1e-5 * peak)
			fail_msg("n %zu: power off by %g of a peak of %g", n, worst, peak);
		audio_fft_destroy(&f);
		free(x);
		free(p);
	}
	{
		struct audio_fft f;
		struct fm_err e = {0};

		assert_int_equal(audio_fft_init(&f, 1000, &e), -1);
		assert_int_equal(e.code, FM_EINVAL);
	}
}

static void
mel_scale_is_slaneys(void **state)
{
	(void)state;
	assert_float_equal(audio_hz_to_mel(0), 0, 1e-12);
	assert_float_equal(audio_hz_to_mel(200.0 / 3), 1, 1e-12);
	assert_float_equal(audio_hz_to_mel(1000), 15, 1e-12);
	/* 27 mels per factor 6.4 above 1 kHz */
	assert_float_equal(audio_hz_to_mel(6400), 42, 1e-9);
	for (double hz = 10; hz < 20000; hz *= 1.37)
		assert_float_equal(audio_mel_to_hz(audio_hz_to_mel(hz)), hz, 1e-9 * hz);
}

static void
mel_bands_have_unit_area(void **state)
{
	struct audio_mel m;
	struct fm_err e = {0};
	double bin_hz = (double)SR / FM_AUDIO_N_FFT;

	(void)state;
	assert_int_equal(audio_mel_init(&m, SR, FM_AUDIO_N_FFT, FM_AUDIO_N_MELS, &e), 0);
	for (size_t j = 0; j < m.n_mels; j++) {
		double area = 0;

		for (uint32_t k = 0; k < m.count[j]; k++)
			area += m.w[m.offset[j] + k] * bin_hz;
		/* Slaney normalisation: each triangle has unit area; sampled on the bin grid,
		 * a band ten bins wide comes within 5% of it. */
		if (m.count[j] >= 10 && fabs(area - 1) > 0.05)
			fail_msg("band %zu: area %g over %u bins", j, area, m.count[j]);
		assert_true(m.count[j] > 0);
	}
	audio_mel_destroy(&m);
}

/* --- against the numpy reference ----------------------------------------------------------------
 */

static cJSON *
load_json(const char *rel)
{
	char path[512], *text;
	FILE *fp = fopen(testdata(rel, path, sizeof path), "rb");
	long len;
	cJSON *j;

	if (fp == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	text = malloc((size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
	text[len] = '\0';
	fclose(fp);
	j = cJSON_Parse(text);
	free(text);
	assert_non_null(j);
	return j;
}

static double
jnum(const cJSON *j, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);

	if (b != NULL)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	assert_true(cJSON_IsNumber(x));
	return x->valuedouble;
}

static const char *const ref_signals[] = {"tones", "bursts", "quiet-then-loud", "short"};

static void
mfcc_frames_match_the_numpy_reference(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, true);
	double worst_all[FM_AUDIO_N_MFCC] = {0};

	(void)state;
	for (size_t s = 0; s < sizeof ref_signals / sizeof ref_signals[0]; s++) {
		char rel[128], path[512];
		struct fm_audio_features f;
		cJSON *ref, *frames;
		size_t n;

		snprintf(rel, sizeof rel, "audio/%s.json", ref_signals[s]);
		ref = load_json(rel);
		snprintf(rel, sizeof rel, "audio/%s.wav", ref_signals[s]);
		file_ok(a, testdata(rel, path, sizeof path), &f);
		frames = cJSON_GetObjectItemCaseSensitive(ref, "mfcc");
		n = (size_t)cJSON_GetArraySize(frames);
		assert_int_equal(f.n_frames, n);
		assert_int_equal(f.n_frames, (size_t)jnum(ref, "n_frames", NULL));
		for (size_t t = 0; t < n; t++) {
			const cJSON *row = cJSON_GetArrayItem(frames, (int)t);

			for (int k = 0; k < FM_AUDIO_N_MFCC; k++) {
				double want = cJSON_GetArrayItem(row, k)->valuedouble;
				double d =
				    fabs(f.mfcc_frames[t * FM_AUDIO_N_MFCC + (size_t)k] - want);

				worst_all[k] = fmax(worst_all[k], d);
				if (d > MFCC_TOL)
					fail_msg("%s frame %zu mfcc %d: %g, reference %g",
					         ref_signals[s], t, k,
					         f.mfcc_frames[t * FM_AUDIO_N_MFCC + (size_t)k],
					         want);
			}
		}
		for (int k = 0; k < FM_AUDIO_N_MFCC; k++) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(ref, "mfcc_mean");
			const cJSON *sd = cJSON_GetObjectItemCaseSensitive(ref, "mfcc_std");

			assert_float_equal(f.mfcc_mean[k], cJSON_GetArrayItem(m, k)->valuedouble,
			                   MFCC_TOL);
			assert_float_equal(f.mfcc_std[k], cJSON_GetArrayItem(sd, k)->valuedouble,
			                   MFCC_TOL);
		}
		fm_audio_features_free(&f);
		cJSON_Delete(ref);
	}
	print_message("# MFCC max |ours - reference| per coefficient over all frames:");
	for (int k = 0; k < FM_AUDIO_N_MFCC; k++)
		print_message(" %.4f", worst_all[k]);
	print_message("\n");
	fm_audio_analyzer_free(a);
}

static void
assert_close(const char *sig, const char *what, double got, double want, double rel, double abs)
{
	if (fabs(got - want) > fmax(abs, rel * fabs(want)))
		fail_msg("%s %s: %.9g, reference %.9g", sig, what, got, want);
}

static void
descriptors_match_the_numpy_reference(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, true);

	(void)state;
	for (size_t s = 0; s < sizeof ref_signals / sizeof ref_signals[0]; s++) {
		const char *sig = ref_signals[s];
		char rel[128], path[512];
		struct fm_audio_features f;
		cJSON *ref, *onset, *chroma;
		const struct {
			const char *name;
			const struct fm_audio_stat *st;
			double abs;
		} stats[] = {
		    {"rms", &f.rms, 1e-7},
		    {"centroid", &f.centroid_hz, 1e-3},
		    {"bandwidth", &f.bandwidth_hz, 1e-3},
		    {"rolloff", &f.rolloff_hz, 1.0},
		    {"flatness", &f.flatness, 1e-7},
		    {"zcr", &f.zcr, 1e-7},
		};

		snprintf(rel, sizeof rel, "audio/%s.json", sig);
		ref = load_json(rel);
		snprintf(rel, sizeof rel, "audio/%s.wav", sig);
		file_ok(a, testdata(rel, path, sizeof path), &f);
		assert_int_equal(f.sample_rate_hz, SR);
		assert_int_equal(f.channels, (uint32_t)jnum(ref, "channels", NULL));
		assert_int_equal(f.n_samples, (uint64_t)jnum(ref, "n_samples", NULL));
		for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
			assert_close(sig, stats[i].name, stats[i].st->mean,
			             jnum(ref, stats[i].name, "mean"), 1e-4, stats[i].abs);
			assert_close(sig, stats[i].name, stats[i].st->std,
			             jnum(ref, stats[i].name, "std"), 1e-4, stats[i].abs);
		}
		assert_close(sig, "loudness", f.loudness_db, jnum(ref, "loudness_db", NULL), 0,
		             1e-4);
		chroma = cJSON_GetObjectItemCaseSensitive(ref, "chroma_mean");
		for (int k = 0; k < FM_AUDIO_N_CHROMA; k++)
			assert_close(sig, "chroma", f.chroma_mean[k],
			             cJSON_GetArrayItem(chroma, k)->valuedouble, 1e-4, 1e-6);
		/* The onset envelope rests on the same stored bands as the MFCCs: 0.01 dB. */
		onset = cJSON_GetObjectItemCaseSensitive(ref, "onset");
		for (size_t t = 0; t < f.n_frames; t++)
			assert_close(sig, "onset", f.onset_env[t],
			             cJSON_GetArrayItem(onset, (int)t)->valuedouble, 0, 0.01);
		fm_audio_features_free(&f);
		cJSON_Delete(ref);
	}
	fm_audio_analyzer_free(a);
}

/* --- the stream
 * ----------------------------------------------------------------------------------- */

static void
assert_same_features(const struct fm_audio_features *x, const struct fm_audio_features *y)
{
	assert_int_equal(x->n_frames, y->n_frames);
	assert_int_equal(x->n_samples, y->n_samples);
	assert_true(x->has_tempo == y->has_tempo);
	assert_float_equal(x->tempo_bpm, y->tempo_bpm, 1e-9);
	assert_int_equal(x->key, y->key);
	assert_float_equal(x->loudness_db, y->loudness_db, 1e-9);
	assert_float_equal(x->centroid_hz.mean, y->centroid_hz.mean, 1e-9);
	assert_float_equal(x->zcr.mean, y->zcr.mean, 1e-12);
	for (int k = 0; k < FM_AUDIO_N_MFCC; k++)
		assert_float_equal(x->mfcc_mean[k], y->mfcc_mean[k], 1e-9);
	for (int k = 0; k < FM_AUDIO_N_CHROMA; k++)
		assert_float_equal(x->chroma_mean[k], y->chroma_mean[k], 1e-12);
}

static void
block_sizes_do_not_change_the_result(void **state)
{
	struct fm_audio_analyzer *a = analyzer(true, false);
	static const size_t blocks[] = {1, 7, 512, 4095, 100000};
	size_t n;
	float *y = drum_loop(110, 6, ROCK, 3, SR, &n);

	(void)state;
	for (uint32_t rate = SR; rate <= 44100; rate += 44100 - SR) {
		struct fm_audio_features whole, part;
		struct fm_err e = {0};

		/* At 44.1 kHz the same samples are a different signal, which is the point:
		 * the resampler must not care about block sizes either. */
		analyze_ok(a, y, n, 1, rate, &whole);
		for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
			assert_int_equal(fm_audio_begin(a, rate, 1, &e), 0);
			for (size_t i = 0; i < n; i += blocks[b])
				assert_int_equal(
				    fm_audio_push(a, y + i, n - i < blocks[b] ? n - i : blocks[b],
				                  &e),
				    0);
			assert_int_equal(fm_audio_finish(a, &part, &e), 0);
			assert_same_features(&whole, &part);
			fm_audio_features_free(&part);
		}
		fm_audio_features_free(&whole);
	}
	free(y);
	fm_audio_analyzer_free(a);
}

static void
channels_are_averaged(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, false);
	struct fm_audio_features mono, multi;
	size_t n;
	float *y = drum_loop(95, 4, FOUR_FLOOR, 5, SR, &n), *x8 = malloc(n * 8 * sizeof *x8);

	(void)state;
	assert_non_null(x8);
	/*
	 * Eight channels whose mean is y. y is first rounded to 16 bits, so that every partial
	 * sum of the channels is exact in float and the mean is y to the last bit.
	 */
	for (size_t i = 0; i < n; i++) {
		y[i] = roundf(y[i] * 32768) / 32768;
		x8[i * 8 + 0] = y[i] * 4;
		x8[i * 8 + 1] = y[i] * 2;
		x8[i * 8 + 2] = y[i] * 2;
		x8[i * 8 + 3] = -y[i] * 2;
		x8[i * 8 + 4] = 0;
		x8[i * 8 + 5] = y[i] * 2;
		x8[i * 8 + 6] = 0;
		x8[i * 8 + 7] = 0;
	}
	analyze_ok(a, y, n, 1, SR, &mono);
	analyze_ok(a, x8, n, 8, SR, &multi);
	assert_int_equal(multi.channels, 8);
	assert_same_features(&mono, &multi);
	free(y);
	free(x8);
	fm_audio_analyzer_free(a);
}

static void
resampled_audio_matches_audio_at_the_analysis_rate(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, false);
	struct fm_audio_features lo, hi;
	size_t n = 6 * SR;
	float *y = malloc(n * sizeof *y), *y2 = malloc(2 * n * sizeof *y2);

	(void)state;
	assert_true(y != NULL && y2 != NULL);
	/*
	 * The same band-limited music (partials below 2 kHz, notes with a 10 ms attack) made at
	 * 22050 and 44100 Hz.
	 */
	for (size_t r = 1; r <= 2; r++) {
		float *dst = r == 1 ? y : y2;

		for (size_t i = 0; i < r * n; i++) {
			double t = (double)i / (double)(r * SR), v = 0, beat = fmod(t, 0.5);

			for (int h = 1; h <= 8; h++)
				v += sin(2 * AUDIO_PI * 220 * h * t * (1 + 0.002 * t)) / h;
			dst[i] = (float)(0.2 * v * fmin(1.0, beat / 0.01) * exp(-beat / 0.1));
		}
	}
	analyze_ok(a, y, n, 1, SR, &lo);
	analyze_ok(a, y2, 2 * n, 1, 2 * SR, &hi);
	assert_int_equal(lo.n_frames, hi.n_frames);
	assert_int_equal(hi.sample_rate_hz, 2 * SR);
	assert_float_equal(hi.duration_sec, 6.0, 1e-12);
	/* SOXR_HQ passes the band untouched; the top mel bands differ by the resampler's
	 * stop band (-100 dB), which the 80 dB floor hides: 0.5 covers the edge frames. */
	for (int k = 0; k < FM_AUDIO_N_MFCC; k++)
		assert_float_equal(lo.mfcc_mean[k], hi.mfcc_mean[k], 0.5);
	assert_float_equal(lo.centroid_hz.mean, hi.centroid_hz.mean, 0.01 * lo.centroid_hz.mean);
	assert_true(lo.has_tempo && hi.has_tempo);
	assert_float_equal(lo.tempo_bpm, 120, 120 * 0.04);
	assert_float_equal(hi.tempo_bpm, 120, 120 * 0.04);
	assert_int_equal(lo.key, hi.key);
	free(y);
	free(y2);
	fm_audio_analyzer_free(a);
}

/* --- tempo, beats, onsets ----------------------------------------------------------------------
 */

static const double test_bpm[] = {60,  66,  75,  84,  90,  97,  105, 113,
                                  120, 128, 135, 143, 150, 160, 170, 180};
#define N_TEST_BPM (sizeof test_bpm / sizeof test_bpm[0])

static void
check_tempo(const char *what, double bpm, const struct fm_audio_features *f)
{
	if (!f->has_tempo)
		fail_msg("%s at %g BPM: no tempo", what, bpm);
	if (fabs(f->tempo_bpm / bpm - 1) > 0.04)
		fail_msg("%s at %g BPM: %g BPM (%+.1f%%)", what, bpm, f->tempo_bpm,
		         100 * (f->tempo_bpm / bpm - 1));
	assert_true(f->tempo_confidence > 0 && f->tempo_confidence <= 1);
}

static void
tempo_of_click_tracks_60_to_180(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, false);
	double worst = 0;

	(void)state;
	for (size_t i = 0; i < N_TEST_BPM; i++) {
		struct fm_audio_features f;
		size_t n;
		float *y = click_track(test_bpm[i], 12, SR, &n);

		analyze_ok(a, y, n, 1, SR, &f);
		check_tempo("click track", test_bpm[i], &f);
		worst = fmax(worst, fabs(f.tempo_bpm / test_bpm[i] - 1));
		/* One onset a click. */
		assert_float_equal(f.onset_rate_hz, test_bpm[i] / 60, 0.15 * test_bpm[i] / 60);
		fm_audio_features_free(&f);
		free(y);
	}
	print_message("# click tracks: %zu tempi, worst error %.2f%%\n", N_TEST_BPM, 100 * worst);
	fm_audio_analyzer_free(a);
}

static void
tempo_of_drum_loops_60_to_180(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, false);
	double worst = 0;

	(void)state;
	for (int style = ROCK; style <= FOUR_FLOOR; style++)
		for (size_t i = 0; i < N_TEST_BPM; i++) {
			struct fm_audio_features f;
			size_t n;
			float *y = drum_loop(test_bpm[i], 12, (enum loop_style)style, i, SR, &n);

			analyze_ok(a, y, n, 1, SR, &f);
			check_tempo(style == ROCK ? "rock loop" : "four-on-the-floor loop",
			            test_bpm[i], &f);
			worst = fmax(worst, fabs(f.tempo_bpm / test_bpm[i] - 1));
			fm_audio_features_free(&f);
			free(y);
		}
	print_message("# drum loops: %zu, worst error %.2f%%\n", 2 * N_TEST_BPM, 100 * worst);
	fm_audio_analyzer_free(a);
}

/*
 * An accent envelope of 30 s at 22050 / 512 frames a second: a pulse (that frame and 0.4 of
 * it in the next) every 1 / per_beat of a beat, its height cycling through h[0 .. n_h - 1]
 * and varied by +-10% (a seeded RNG), over a floor of noise up to 0.02.
 */
static float *
pulse_envelope(double bpm, int per_beat, const double *h, size_t n_h, size_t *n_out)
{
	double fr = (double)SR / FM_AUDIO_HOP, step = 60.0 / bpm * fr / per_beat;
	size_t n = (size_t)(30 * fr);
	float *e = calloc(n, sizeof *e);
	struct fm_rng rng;

	assert_non_null(e);
	fm_rng_seed(&rng, (uint64_t)bpm);
	for (size_t i = 0; i < n; i++)
		e[i] = (float)(0.02 * fm_rng_uniform(&rng));
	for (size_t k = 0; (double)k * step < (double)(n - 2); k++) {
		size_t t = (size_t)lround((double)k * step);
		double v = h[k % n_h] * (0.9 + 0.2 * fm_rng_uniform(&rng));

		e[t] += (float)v;
		e[t + 1] += (float)(0.4 * v);
	}
	*n_out = n;
	return e;
}

/*
 * The metrical level, with known answers within 4%: envelopes where the autocorrelation and
 * one prior alone (this module's estimator before the levels were weighed by their onsets)
 * gave twice the tempo, 280 for 140 BPM: four on the floor with off-beat hats at 0.4 of the
 * kick, a rock beat (kick, hat, snare, hat) and a broken chord of eighth notes (beats 0.6,
 * the notes between 0.45); and four on the floor at 80 BPM, which it took at 160 or 80 by
 * the noise. The hats and the notes between the beats repeat as regularly as the beat; they
 * are weaker than what falls on it.
 */
static void
tempo_levels_where_one_prior_took_twice_the_tempo(void **state)
{
	static const double rock[] = {1, .5, .8, .5}, floor4[] = {1, .4}, arp[] = {.6, .45};
	static const struct {
		const char *what;
		double bpm;
		const double *h;
	} cases[] = {
	    {"four on the floor", 80, floor4},
	    {"four on the floor", 140, floor4},
	    {"rock", 140, rock},
	    {"broken chord", 140, arp},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n, n_h = cases[i].h == rock ? 4 : 2;
		float *e = pulse_envelope(cases[i].bpm, 2, cases[i].h, n_h, &n);
		double bpm, conf;
		struct fm_err err = {0};

		assert_int_equal(audio_tempo(e, n, (double)SR / FM_AUDIO_HOP, &bpm, &conf, &err),
		                 0);
		if (fabs(bpm / cases[i].bpm - 1) > 0.04)
			fail_msg("%s at %g BPM: %g BPM", cases[i].what, cases[i].bpm, bpm);
		assert_true(conf > 0 && conf <= 1);
		free(e);
	}
}

/* A fast backbeat (kick on 1 and 3, snare on 2 and 4, nothing else) is not taken at half. */
static void
tempo_of_fast_backbeats(void **state)
{
	static const double fast[] = {170, 180, 190};
	struct fm_audio_analyzer *a = analyzer(false, false);

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct fm_audio_features f;
		size_t n;
		float *y = drum_loop(fast[i], 12, BACKBEAT, 40 + i, SR, &n);

		analyze_ok(a, y, n, 1, SR, &f);
		check_tempo("backbeat", fast[i], &f);
		fm_audio_features_free(&f);
		free(y);
	}
	fm_audio_analyzer_free(a);
}

static void
beats_fall_on_the_clicks(void **state)
{
	struct fm_audio_analyzer *a = analyzer(true, false);
	static const double bpms[] = {72, 120, 165};

	(void)state;
	for (size_t i = 0; i < sizeof bpms / sizeof bpms[0]; i++) {
		struct fm_audio_features f;
		size_t n, off = 0;
		double period = 60 / bpms[i];
		float *y = click_track(bpms[i], 15, SR, &n);

		analyze_ok(a, y, n, 1, SR, &f);
		/* Nearly every click gets a beat; the first and last may be trimmed. */
		assert_true(f.n_beats + 3 >= (size_t)(15 / period));
		for (size_t b = 0; b < f.n_beats; b++) {
			/* librosa's envelope lags the sound by about two frames (46 ms). */
			double lag = f.beats_sec[b] - period * round(f.beats_sec[b] / period);

			if (fabs(lag - 0.046) > 0.05)
				off++;
			if (b > 0)
				assert_true(f.beats_sec[b] > f.beats_sec[b - 1]);
		}
		if (off > 0)
			fail_msg("%g BPM: %zu of %zu beats off the clicks", bpms[i], off,
			         f.n_beats);
		fm_audio_features_free(&f);
		free(y);
	}
	fm_audio_analyzer_free(a);
}

/* --- key and mode ---------------------------------------------------------------------------- */

static void
key_and_mode_of_cadences(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, false);
	static const struct {
		int tonic;
		bool minor;
	} keys[] = {{0, false}, {9, true},   {7, false}, {2, true},  {6, false},
	            {3, true},  {10, false}, {4, true},  {5, false}, {11, true}};

	(void)state;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		struct fm_audio_features f;
		size_t n;
		float *y = cadence(keys[i].tonic, keys[i].minor, &n);
		enum fm_audio_mode want = keys[i].minor ? FM_AUDIO_MINOR : FM_AUDIO_MAJOR;

		analyze_ok(a, y, n, 1, SR, &f);
		if (f.key != keys[i].tonic || f.mode != want)
			fail_msg("cadence in %s %s: found %s %s (strength %.3f)",
			         fm_audio_key_name(keys[i].tonic), fm_audio_mode_name(want),
			         fm_audio_key_name(f.key), fm_audio_mode_name(f.mode),
			         f.key_strength);
		assert_true(f.key_strength > 0.5 && f.key_strength <= 1);
		fm_audio_features_free(&f);
		free(y);
	}
	assert_string_equal(fm_audio_key_name(1), "C#");
	assert_null(fm_audio_key_name(12));
	assert_null(fm_audio_key_name(-1));
	assert_null(fm_audio_mode_name(FM_AUDIO_MODE_NONE));
	fm_audio_analyzer_free(a);
}

/* --- silence and extremes ------------------------------------------------------------------------
 */

static void
silence_has_no_tempo_no_key_and_only_finite_numbers(void **state)
{
	struct fm_audio_analyzer *a = analyzer(true, false);
	struct fm_audio_features f;
	size_t n = 3 * SR;
	float *y = calloc(n, sizeof *y);

	(void)state;
	assert_non_null(y);
	analyze_ok(a, y, n, 1, SR, &f);
	assert_false(f.has_tempo);
	assert_true(f.tempo_bpm == 0 && f.tempo_confidence == 0);
	assert_int_equal(f.key, -1);
	assert_int_equal(f.mode, FM_AUDIO_MODE_NONE);
	assert_true(f.key_strength == 0);
	assert_float_equal(f.loudness_db, -100, 1e-9);
	assert_true(f.silent);
	assert_int_equal(f.n_beats, 0);
	assert_true(f.onset_rate_hz == 0 && f.rms.mean == 0 && f.centroid_hz.mean == 0);
	/* librosa's flatness of an all-amin spectrum, and the MFCCs of -100 dB bands. */
	assert_float_equal(f.flatness.mean, 1, 1e-12);
	assert_float_equal(f.mfcc_mean[0], -100 * sqrt(FM_AUDIO_N_MELS), 1e-3);
	for (int k = 1; k < FM_AUDIO_N_MFCC; k++)
		assert_float_equal(f.mfcc_mean[k], 0, 1e-3);
	fm_audio_features_free(&f);
	/* A held tone has no pulse either; white noise has none that stands out. */
	for (size_t i = 0; i < n; i++)
		y[i] = (float)(0.5 * sin(2 * AUDIO_PI * 440 * (double)i / SR));
	analyze_ok(a, y, n, 1, SR, &f);
	assert_false(f.has_tempo);
	assert_int_equal(f.key, 9); /* A */
	fm_audio_features_free(&f);
	free(y);
	fm_audio_analyzer_free(a);
}

/*
 * A drum loop at -78 dBFS peak: its hiss-level rises are as strong, relative to its own
 * loudest frame, as music's, but it is under the floor: no tempo, key, onsets or beats. The
 * same loop at -40 dBFS, quiet but audible, keeps its tempo.
 */
static void
near_silence_has_no_tempo_key_or_onsets(void **state)
{
	struct fm_audio_analyzer *a = analyzer(true, false);
	struct fm_audio_features f;
	size_t n;
	float *y = drum_loop(120, 10, ROCK, 7, SR, &n);
	double peak = 0;

	(void)state;
	for (size_t i = 0; i < n; i++)
		peak = fmax(peak, fabs(y[i]));
	for (size_t i = 0; i < n; i++)
		y[i] = (float)(y[i] / peak * pow(10, -78 / 20.0));
	analyze_ok(a, y, n, 1, SR, &f);
	assert_true(f.silent);
	assert_true(f.loudness_db < FM_AUDIO_SILENCE_DB);
	assert_false(f.has_tempo);
	assert_true(f.tempo_bpm == 0 && f.tempo_confidence == 0);
	assert_int_equal(f.key, -1);
	assert_int_equal(f.mode, FM_AUDIO_MODE_NONE);
	assert_true(f.onset_rate_hz == 0);
	assert_int_equal(f.n_beats, 0);
	fm_audio_features_free(&f);
	for (size_t i = 0; i < n; i++)
		y[i] = (float)(y[i] * pow(10, 38 / 20.0));
	analyze_ok(a, y, n, 1, SR, &f);
	assert_false(f.silent);
	assert_true(f.has_tempo);
	assert_float_equal(f.tempo_bpm, 120, 0.04 * 120);
	assert_true(f.onset_rate_hz > 1);
	fm_audio_features_free(&f);
	free(y);
	fm_audio_analyzer_free(a);
}

static void
short_and_loud_inputs_stay_finite(void **state)
{
	struct fm_audio_analyzer *a = analyzer(true, false);
	struct fm_audio_features f;
	float one = 0.5f, loud[4096];
	struct fm_err e = {0};

	(void)state;
	/* One sample: one frame, defined values. */
	analyze_ok(a, &one, 1, 1, SR, &f);
	assert_int_equal(f.n_frames, 1);
	assert_false(f.has_tempo);
	fm_audio_features_free(&f);
	/* Magnitudes far over full scale are clipped at 1000, not turned into infinities. */
	for (size_t i = 0; i < 4096; i++)
		loud[i] = (i % 2 ? 1 : -1) * 3e38f;
	analyze_ok(a, loud, 4096, 1, SR, &f);
	assert_float_equal(f.loudness_db, 60, 1e-6);
	fm_audio_features_free(&f);
	/* Two huge channels of one sign: their mean is huge, not infinite. */
	for (size_t i = 0; i < 4096; i++)
		loud[i] = 3e38f;
	analyze_ok(a, loud, 2048, 2, SR, &f);
	assert_float_equal(f.loudness_db, 60, 1e-6);
	fm_audio_features_free(&f);
	/* NaN and infinity are refused, naming where they are. */
	loud[1000] = NAN;
	assert_int_equal(fm_audio_analyze_samples(a, loud, 4096, 1, SR, &f, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_string_equal(e.msg, "sample at 0.045 s is not a finite number");
	loud[1000] = INFINITY;
	assert_int_equal(fm_audio_analyze_samples(a, loud, 4096, 1, SR, &f, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	/* No samples at all. */
	assert_int_equal(fm_audio_analyze_samples(a, loud, 0, 1, SR, &f, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_string_equal(e.msg, "no audio samples");
	/* The analyzer works again after failures. */
	analyze_ok(a, &one, 1, 1, SR, &f);
	fm_audio_features_free(&f);
	fm_audio_analyzer_free(a);
}

static void
rates_and_channels_out_of_range_are_format_errors(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, false);
	struct fm_audio_features f;
	struct fm_err e = {0};
	float x[16] = {0};

	(void)state;
	assert_int_equal(fm_audio_analyze_samples(a, x, 16, 1, 1, &f, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_string_equal(e.msg, "sample rate 1 Hz is not in 1000..768000 Hz");
	assert_int_equal(fm_audio_analyze_samples(a, x, 16, 1, 768001, &f, &e), -1);
	assert_int_equal(fm_audio_analyze_samples(a, x, 16, 0, SR, &f, &e), -1);
	assert_int_equal(e.code, FM_EFORMAT);
	assert_int_equal(fm_audio_analyze_samples(a, x, 1, 2000, SR, &f, &e), -1);
	assert_string_equal(e.msg, "2000 channels is not in 1..1024");
	/* The extremes that are allowed work: 1 kHz, 768 kHz. */
	{
		size_t n = 768000 / 2;
		float *y = malloc(n * sizeof *y);

		assert_non_null(y);
		for (size_t i = 0; i < n; i++)
			y[i] = (float)(0.5 * sin(2 * AUDIO_PI * 1000 * (double)i / 768000));
		analyze_ok(a, y, n, 1, 768000, &f);
		assert_float_equal(f.duration_sec, 0.5, 1e-12);
		assert_float_equal(f.centroid_hz.mean, 1000, 50);
		fm_audio_features_free(&f);
		analyze_ok(a, y, 1000, 1, 1000, &f);
		assert_float_equal(f.duration_sec, 1, 1e-12);
		fm_audio_features_free(&f);
		free(y);
	}
	fm_audio_analyzer_free(a);
}

static void
options_out_of_range_are_invalid(void **state)
{
	struct fm_audio_opts o = FM_AUDIO_OPTS_DEFAULT;
	struct fm_audio_analyzer *a = NULL;
	struct fm_err e = {0};

	(void)state;
	o.analysis_rate_hz = 7999;
	assert_int_equal(fm_audio_analyzer_new(&o, &a, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	assert_null(a);
	o.analysis_rate_hz = 48001;
	assert_int_equal(fm_audio_analyzer_new(&o, &a, &e), -1);
	o.analysis_rate_hz = 22050;
	o.max_duration_sec = 0;
	assert_int_equal(fm_audio_analyzer_new(&o, &a, &e), -1);
	o.max_duration_sec = NAN;
	assert_int_equal(fm_audio_analyzer_new(&o, &a, &e), -1);
	/* Other analysis rates work, with their own mel bank. */
	o.max_duration_sec = 10;
	for (uint32_t r = 8000; r <= 48000; r += 40000) {
		struct fm_audio_features f;
		size_t n;
		float *y = click_track(100, 8, 44100, &n);

		o.analysis_rate_hz = r;
		assert_int_equal(fm_audio_analyzer_new(&o, &a, &e), 0);
		analyze_ok(a, y, n, 1, 44100, &f);
		assert_int_equal(f.analysis_rate_hz, r);
		check_tempo("click track at another analysis rate", 100, &f);
		fm_audio_features_free(&f);
		fm_audio_analyzer_free(a);
		free(y);
	}
	fm_audio_analyzer_free(NULL);
	fm_audio_features_free(NULL);
}

static void
audio_over_the_duration_limit_is_a_limit_error(void **state)
{
	struct fm_audio_opts o = FM_AUDIO_OPTS_DEFAULT;
	struct fm_audio_analyzer *a;
	struct fm_audio_features f;
	struct fm_err e = {0};
	float *y = calloc(3 * SR, sizeof *y);

	(void)state;
	assert_non_null(y);
	o.max_duration_sec = 2;
	assert_int_equal(fm_audio_analyzer_new(&o, &a, &e), 0);
	analyze_ok(a, y, 2 * SR, 1, SR, &f); /* exactly the limit */
	fm_audio_features_free(&f);
	assert_int_equal(fm_audio_analyze_samples(a, y, 2 * SR + 1, 1, SR, &f, &e), -1);
	assert_int_equal(e.code, FM_ELIMIT);
	assert_string_equal(e.msg, "audio is longer than 2 s (see --max-duration)");
	/* A file whose header says so fails before decoding. */
	{
		char *dir = mk_tmp(), path[1024];
		const char *names[] = {"long.wav"};

		snprintf(path, sizeof path, "%s/long.wav", dir);
		assert_true(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, SR, 1, y, 3 * SR));
		assert_int_equal(fm_audio_analyze_file(a, path, &f, &e), -1);
		assert_int_equal(e.code, FM_ELIMIT);
		assert_string_equal(e.msg, "audio is 3 s long, more than 2 s (see --max-duration)");
		rm_tmp(dir, names, 1);
	}
	free(y);
	fm_audio_analyzer_free(a);
}

/* --- files
 * ------------------------------------------------------------------------------------------ */

static void
every_format_libsndfile_writes_decodes(void **state)
{
	static const struct {
		const char *name;
		int format;
		uint32_t rate;
		bool lossless;
	} formats[] = {
	    {"a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, true},
	    {"f.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, true},
	    {"a.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 44100, true},
	    {"a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, true},
	    {"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, false},
	    {"a.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, false},
	    {"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, false},
	};
	enum { N = sizeof formats / sizeof formats[0] };
	const char *names[N];
	struct fm_audio_analyzer *a = analyzer(false, false);
	char *dir = mk_tmp();
	struct fm_audio_features ref = {0};

	(void)state;
	for (size_t i = 0; i < N; i++) {
		char path[1024];
		struct fm_audio_features f;
		double bpm = 128;
		size_t m;
		float *y = drum_loop(bpm, 8, FOUR_FLOOR, 11, formats[i].rate, &m);
		float *st = malloc(2 * m * sizeof *st);

		assert_non_null(st);
		names[i] = formats[i].name;
		for (size_t j = 0; j < m; j++) {
			st[2 * j] = y[j];
			st[2 * j + 1] = y[j] * 0.5f;
		}
		snprintf(path, sizeof path, "%s/%s", dir, formats[i].name);
		if (!write_sound(path, formats[i].format, formats[i].rate, 2, st, m)) {
			print_message("# libsndfile cannot write %s here; skipped\n",
			              formats[i].name);
			free(y);
			free(st);
			continue;
		}
		free(y);
		free(st);
		file_ok(a, path, &f);
		assert_int_equal(f.sample_rate_hz, formats[i].rate);
		assert_int_equal(f.channels, 2);
		/* Lossy codecs may pad or trim a frame at either end. */
		assert_float_equal(f.duration_sec, (double)m / formats[i].rate,
		                   formats[i].lossless ? 1e-12 : 0.1);
		check_tempo(formats[i].name, bpm, &f);
		if (i == 0)
			ref = f;
		else if (formats[i].lossless) /* 16 bits and more: the same analysis */
			for (int k = 0; k < FM_AUDIO_N_MFCC; k++)
				assert_float_equal(f.mfcc_mean[k], ref.mfcc_mean[k], 0.05);
		if (i != 0)
			fm_audio_features_free(&f);
	}
	fm_audio_features_free(&ref);
	rm_tmp(dir, names, N);
	fm_audio_analyzer_free(a);
}

static void
assert_file_fails(struct fm_audio_analyzer *a, const char *path, enum fm_errcode code,
                  const char *want)
{
	struct fm_audio_features f;
	struct fm_err e = {0};
	size_t len;

	assert_int_equal(fm_audio_analyze_file(a, path, &f, &e), -1);
	if (e.code != code || strncmp(e.msg, want, strlen(want)) != 0)
		fail_msg("%s: got code %d '%s', want code %d '%s...'", path, e.code, e.msg, code,
		         want);
	len = strlen(e.msg);
	assert_true(len > 0 && e.msg[len - 1] != '.' && e.msg[len - 1] != '\n');
	assert_null(f.beats_sec);
	fm_audio_features_free(&f);
}

static void
bad_files_fail_with_their_reason(void **state)
{
	struct fm_audio_analyzer *a = analyzer(false, false);
	char *dir = mk_tmp(), p[1024];
	const char *names[] = {"text.wav",   "empty.wav", "zero.wav", "cut.wav", "cut.flac",
	                       "one-hz.wav", "nan.wav",   "sub",      "cut.aiff"};
	float *y = calloc(4 * SR, sizeof *y);
	FILE *fp;

	(void)state;
	assert_non_null(y);
	for (size_t i = 0; i < 4 * SR; i++)
		y[i] = (float)(0.3 * sin((double)i * 0.05));
	snprintf(p, sizeof p, "%s/nope.wav", dir);
	assert_file_fails(a, p, FM_EIO, "no such file or directory");
	snprintf(p, sizeof p, "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_file_fails(a, p, FM_EIO, "is a directory");
	snprintf(p, sizeof p, "%s/text.wav", dir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("RIFF? no, just words\n", fp);
	fclose(fp);
	assert_file_fails(a, p, FM_EFORMAT, "not an audio file that libsndfile can read");
	snprintf(p, sizeof p, "%s/empty.wav", dir);
	fclose(fopen(p, "w"));
	assert_file_fails(a, p, FM_EFORMAT, "empty file");
	snprintf(p, sizeof p, "%s/zero.wav", dir);
	assert_true(write_sound(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, SR, 1, y, 0));
	assert_file_fails(a, p, FM_EFORMAT, "no audio samples");
	snprintf(p, sizeof p, "%s/one-hz.wav", dir);
	assert_true(write_sound(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 1, y, 3));
	assert_file_fails(a, p, FM_EFORMAT, "sample rate 1 Hz is not in 1000..768000 Hz");
	snprintf(p, sizeof p, "%s/nan.wav", dir);
	y[SR] = NAN;
	assert_true(write_sound(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, SR, 1, y, 2 * SR));
	y[SR] = 0;
	assert_file_fails(a, p, FM_EFORMAT, "sample at 1.000 s is not a finite number");
	/* Cut files: WAV, AIFF (only libsndfile's log tells) and FLAC (short of its count). */
	for (size_t i = 0; i < 3; i++) {
		static const char *const cut[] = {"cut.wav", "cut.aiff", "cut.flac"};
		static const int fmt[] = {SF_FORMAT_WAV | SF_FORMAT_PCM_16,
		                          SF_FORMAT_AIFF | SF_FORMAT_PCM_16,
		                          SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
		struct stat st;

		snprintf(p, sizeof p, "%s/%s", dir, cut[i]);
		assert_true(write_sound(p, fmt[i], SR, 1, y, 4 * SR));
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(truncate(p, st.st_size / 2), 0);
		assert_file_fails(a, p, FM_EFORMAT, "truncated audio data (");
	}
	rm_tmp(dir, names, sizeof names / sizeof names[0]);
	free(y);
	fm_audio_analyzer_free(a);
}

static void
tags_are_trimmed_and_cut_at_a_character(void **state)
{
	char t[FM_AUDIO_TAG_BYTES + 1], in[FM_AUDIO_TAG_BYTES + 16];

	(void)state;
	audio_tag_copy(t, " \t Clicks in A \r\n");
	assert_string_equal(t, "Clicks in A");
	audio_tag_copy(t, NULL);
	assert_string_equal(t, "");
	audio_tag_copy(t, "   ");
	assert_string_equal(t, "");
	/* 255 bytes of 'a', then a two-byte character that byte 256 would cut in half. */
	memset(in, 'a', FM_AUDIO_TAG_BYTES - 1);
	strcpy(in + FM_AUDIO_TAG_BYTES - 1, "\xc3\xa9tail");
	audio_tag_copy(t, in);
	assert_int_equal(strlen(t), FM_AUDIO_TAG_BYTES - 1);
	/* Exactly at the bound, a whole character stays. */
	memset(in, 'a', FM_AUDIO_TAG_BYTES - 2);
	strcpy(in + FM_AUDIO_TAG_BYTES - 2, "\xc3\xa9tail");
	audio_tag_copy(t, in);
	assert_int_equal(strlen(t), FM_AUDIO_TAG_BYTES);
	assert_string_equal(t + FM_AUDIO_TAG_BYTES - 2, "\xc3\xa9");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fft_power_matches_a_direct_dft),
	    cmocka_unit_test(mel_scale_is_slaneys),
	    cmocka_unit_test(mel_bands_have_unit_area),
	    cmocka_unit_test(mfcc_frames_match_the_numpy_reference),
	    cmocka_unit_test(descriptors_match_the_numpy_reference),
	    cmocka_unit_test(block_sizes_do_not_change_the_result),
	    cmocka_unit_test(channels_are_averaged),
	    cmocka_unit_test(resampled_audio_matches_audio_at_the_analysis_rate),
	    cmocka_unit_test(tempo_of_click_tracks_60_to_180),
	    cmocka_unit_test(tempo_of_drum_loops_60_to_180),
	    cmocka_unit_test(tempo_levels_where_one_prior_took_twice_the_tempo),
	    cmocka_unit_test(tempo_of_fast_backbeats),
	    cmocka_unit_test(beats_fall_on_the_clicks),
	    cmocka_unit_test(key_and_mode_of_cadences),
	    cmocka_unit_test(silence_has_no_tempo_no_key_and_only_finite_numbers),
	    cmocka_unit_test(near_silence_has_no_tempo_key_or_onsets),
	    cmocka_unit_test(short_and_loud_inputs_stay_finite),
	    cmocka_unit_test(rates_and_channels_out_of_range_are_format_errors),
	    cmocka_unit_test(options_out_of_range_are_invalid),
	    cmocka_unit_test(audio_over_the_duration_limit_is_a_limit_error),
	    cmocka_unit_test(every_format_libsndfile_writes_decodes),
	    cmocka_unit_test(bad_files_fail_with_their_reason),
	    cmocka_unit_test(tags_are_trimmed_and_cut_at_a_character),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
