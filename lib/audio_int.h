/*
 * lib/audio_int.h: the parts of lib/audio that its files share and its unit tests reach:
 * the real FFT, the mel and chroma filter banks, the DCT, and the tempo, beat, onset and
 * key estimators that run on the onset envelope and the mean chroma. cmd/ never includes
 * this file.
 */
#ifndef FM_AUDIO_INT_H
#define FM_AUDIO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio.h"

/* C11 with POSIX has no M_PI. */
#define AUDIO_PI 3.14159265358979323846

/* --- audio.c: what audio_file.c needs of the analyzer ------------------------------------- */

/* The analyzer's opts.max_duration_sec. */
double audio_max_duration(const struct fm_audio_analyzer *a);

/* --- audio_ffmpeg.c: the files libsndfile does not read ---------------------------------- */

/*
 * Decode the regular file open at fd (size_bytes long, read from its start) with FFmpeg
 * into a's stream, begun here and left open for fm_audio_finish, and fill *tags. The
 * caller keeps fd. FM_EFORMAT with FFmpeg's own reason; FM_ELIMIT; FM_ENOMEM; FM_EIO. On
 * failure *refused says that FFmpeg could not make audio of the file at all (FM_EFORMAT
 * before a sample was decoded), so that another decoder may try.
 */
int audio_ffmpeg_decode(struct fm_audio_analyzer *a, int fd, int64_t size_bytes,
                        struct fm_audio_tags *tags, bool *refused, struct fm_err *err);

/* Copy a tag into dst (FM_AUDIO_TAG_BYTES + 1 bytes): blanks trimmed, cut at a character. */
void audio_tag_copy(char *dst, const char *src);

/* --- audio_fft.c: power spectrum of a real frame -------------------------------------- */

/*
 * A real FFT of n points (a power of two, 16 .. 65536), computed as a complex FFT of n / 2
 * points on the even and odd samples (radix 2, decimation in time, split real and imaginary
 * arrays so that the butterflies vectorise) and one post-processing pass.
 */
struct audio_fft {
	size_t n;      /* real points */
	size_t h;      /* complex points, n / 2 */
	uint32_t *rev; /* bit reversal of 0 .. h - 1 */
	float *tw_re;  /* twiddles of the butterflies of half-size m at [m .. 2m), m >= 1 */
	float *tw_im;
	float *post_re; /* exp(-2 pi i k / n), k = 0 .. h */
	float *post_im;
	float *re, *im; /* the transform's scratch, h each */
};

int audio_fft_init(struct audio_fft *f, size_t n, struct fm_err *err);
void audio_fft_destroy(struct audio_fft *f);
/*
 * power[k] = |X[k]|^2 for k = 0 .. n / 2, where X is the DFT of x[0 .. n-1] multiplied by
 * win[0 .. n-1] (win NULL: no window). Uses the scratch in f, so one caller at a time.
 */
void audio_fft_power(struct audio_fft *f, const float *x, const float *win, float *power);

/* --- audio_bank.c: filter banks ---------------------------------------------------------- */

/* Slaney's mel scale as librosa's hz_to_mel(htk=False): linear below 1 kHz, log above. */
double audio_hz_to_mel(double hz);
double audio_mel_to_hz(double mel);

/* Triangular mel filters, stored sparsely: band j covers bins first[j] .. first[j]+count[j]-1. */
struct audio_mel {
	size_t n_mels;
	uint32_t *first, *count, *offset; /* offset[j]: band j's weights in w */
	float *w;
};

/*
 * librosa.filters.mel(sr=rate_hz, n_fft, n_mels, fmin=0, fmax=rate_hz/2, htk=False,
 * norm="slaney"): n_mels + 2 points equally spaced in mel, triangles between neighbours,
 * each scaled by 2 / (its width in Hz). The weights are computed in double and kept as float,
 * as librosa keeps them. FM_ENOMEM.
 */
int audio_mel_init(struct audio_mel *m, double rate_hz, size_t n_fft, size_t n_mels,
                   struct fm_err *err);
void audio_mel_destroy(struct audio_mel *m);
/* out[j] = sum_k w[j][k] power[k] */
void audio_mel_apply(const struct audio_mel *m, const float *power, float *out);

/*
 * librosa.filters.chroma(sr=rate_hz, n_fft, n_chroma=12, tuning=0, ctroct=5, octwidth=2,
 * norm=2, base_c=True), stored bin-major: (n_fft / 2 + 1) rows of 12 weights, so that the
 * product with a power spectrum runs over the 12 pitch classes in the inner loop. FM_ENOMEM.
 */
int audio_chroma_bank(double rate_hz, size_t n_fft, float **out, struct fm_err *err);

/* The first n_out rows of the orthonormal DCT-II of size n_in, row-major. FM_ENOMEM. */
int audio_dct_matrix(size_t n_out, size_t n_in, float **out, struct fm_err *err);

/* --- audio_tempo.c: what the onset envelope tells ----------------------------------------- */

/*
 * Tempo from the onset envelope env[0 .. n-1] sampled at frame_rate_hz. On success
 * *bpm is 0 and *confidence 0 when no pulse stands out (silence, noise, too short).
 * FM_ENOMEM.
 */
int audio_tempo(const float *env, size_t n, double frame_rate_hz, double *bpm, double *confidence,
                struct fm_err *err);

/*
 * Beat frames for a tempo found by audio_tempo (bpm > 0): dynamic programming over the
 * onset envelope (Ellis 2007). *frames is malloc'd (NULL when there is none), in rising
 * order, fractional frames not used. FM_ENOMEM.
 */
int audio_beats(const float *env, size_t n, double frame_rate_hz, double bpm, uint32_t **frames,
                size_t *n_beats, struct fm_err *err);

/* Onsets picked as librosa.onset.onset_detect's defaults pick them (peak_pick). */
size_t audio_onset_count(const float *env, size_t n, double frame_rate_hz);

/* --- audio_key.c ---------------------------------------------------------------------------- */

/*
 * Krumhansl-Kessler key profiles against a 12-bin chroma (C first): the tonic and mode with
 * the highest Pearson correlation, and that correlation. A chroma without variance (silence)
 * gives key -1, FM_AUDIO_MODE_NONE and strength 0.
 */
void audio_key_estimate(const double chroma[FM_AUDIO_N_CHROMA], int *key, enum fm_audio_mode *mode,
                        double *strength);

#endif
