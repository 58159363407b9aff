/*
 * lib/audio.h: describe a piece of music: decode (libsndfile, FFmpeg), mix to mono, resample
 * (libsoxr), short-time Fourier transform, mel filter bank and MFCCs, onset strength,
 * tempo and beats, chroma and key, loudness and spectral shape.
 *
 * The spectral definitions are librosa 0.10's defaults, so that numbers compare one to one
 * with the field's usual reference: frames centred on t * hop with n_fft / 2 zeros of padding
 * at each end (center=True, pad_mode="constant"), a periodic Hann window, the power
 * spectrogram |STFT|^2, a Slaney-style mel filter bank with Slaney area normalisation over
 * 0 Hz .. rate / 2, power_to_db with ref 1, amin 1e-10 and top_db 80 (the 80 dB floor is
 * relative to the loudest mel bin of the whole file), and an orthonormal DCT-II of which the
 * first 13 coefficients are kept. Chroma is librosa's chroma_stft with the tuning fixed at
 * A440 (librosa estimates it). Tempo, beats and key are this module's own; see audio_tempo.c
 * and audio_key.c.
 *
 * Audio is analysed as a stream: memory grows with the number of analysis frames (the mel
 * spectrogram is kept at 16 bits a band, because the top_db floor is only known at the end:
 * about 270 bytes a frame, 0.7 MB a minute of audio at the defaults), never with the number
 * of samples.
 */
#ifndef FM_AUDIO_H
#define FM_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

#define FM_AUDIO_N_FFT 2048  /* STFT frame and window, in analysis samples */
#define FM_AUDIO_HOP 512     /* samples between frames */
#define FM_AUDIO_N_MELS 128  /* mel bands under the MFCCs and the onset strength */
#define FM_AUDIO_N_MFCC 13   /* cepstral coefficients kept */
#define FM_AUDIO_N_CHROMA 12 /* pitch classes, C first */

#define FM_AUDIO_DEFAULT_RATE_HZ 22050 /* librosa's analysis rate */
#define FM_AUDIO_MIN_ANALYSIS_HZ 8000  /* analysis_rate_hz range */
#define FM_AUDIO_MAX_ANALYSIS_HZ 48000
#define FM_AUDIO_MIN_FILE_RATE_HZ 1000 /* a file's rate outside this range is refused */
#define FM_AUDIO_MAX_FILE_RATE_HZ 768000
#define FM_AUDIO_MAX_CHANNELS 1024                /* libsndfile's own limit */
#define FM_AUDIO_DEFAULT_MAX_DURATION_SEC 10800.0 /* three hours */
#define FM_AUDIO_MIN_BPM 30.0                     /* the tempo search range */
#define FM_AUDIO_MAX_BPM 300.0
/*
 * Audio whose level (loudness_db, the mean square of the whole mono mix) is below this many
 * dBFS is near-silent: some 30 dB under the quietest mastered music, and above the
 * hiss, hum and dither of an empty recording, whose rises would otherwise be counted as
 * onsets and beats. Tempo, key and onsets are then not estimated.
 */
#define FM_AUDIO_SILENCE_DB -70.0

struct fm_audio_opts {
	uint32_t analysis_rate_hz; /* FM_AUDIO_MIN_ANALYSIS_HZ .. FM_AUDIO_MAX_ANALYSIS_HZ */
	double max_duration_sec;   /* longer audio fails with FM_ELIMIT; > 0 */
	bool beats;                /* find beat times (fm_audio_features.beats_sec) */
	bool keep_frames;          /* keep per-frame MFCCs and onset strength (tests) */
};

#define FM_AUDIO_OPTS_DEFAULT                                                                      \
	{                                                                                          \
		.analysis_rate_hz = FM_AUDIO_DEFAULT_RATE_HZ,                                      \
		.max_duration_sec = FM_AUDIO_DEFAULT_MAX_DURATION_SEC, .beats = false,             \
		.keep_frames = false,                                                              \
	}

enum fm_audio_mode {
	FM_AUDIO_MODE_NONE, /* silence: no key */
	FM_AUDIO_MAJOR,
	FM_AUDIO_MINOR,
};

/*
 * A file's title, artist, album, track, year and genre tags, each NUL-terminated, "" when the
 * file has none. At most FM_AUDIO_TAG_BYTES bytes each, cut at a character boundary, blanks
 * trimmed. The bytes are the file's: FFmpeg and libsndfile give UTF-8 for the formats that
 * say their encoding, but a tag may still hold bytes that are not UTF-8 (ID3v1), which a
 * caller writing JSON must repair. track is as written ("3", "3/12"); year is the first four
 * digits of the date tag, "" when it does not start with four.
 */
#define FM_AUDIO_TAG_BYTES 256
struct fm_audio_tags {
	char title[FM_AUDIO_TAG_BYTES + 1];
	char artist[FM_AUDIO_TAG_BYTES + 1];
	char album[FM_AUDIO_TAG_BYTES + 1];
	char track[FM_AUDIO_TAG_BYTES + 1];
	char year[FM_AUDIO_TAG_BYTES + 1];
	char genre[FM_AUDIO_TAG_BYTES + 1];
};

/* Mean and population standard deviation over the analysis frames. */
struct fm_audio_stat {
	double mean, std;
};

/*
 * What fm_audio_finish and its wrappers fill. Every number is finite. Plain data except the
 * two arrays, which fm_audio_features_free releases.
 */
struct fm_audio_features {
	double duration_sec;       /* samples in the file / sample_rate_hz */
	uint32_t sample_rate_hz;   /* the file's */
	uint32_t channels;         /* the file's; analysed as their mean */
	uint32_t analysis_rate_hz; /* after resampling */
	uint64_t n_samples;        /* per channel, in the file */
	uint64_t n_frames;         /* analysis frames: 1 + analysis samples / FM_AUDIO_HOP */
	bool silent;               /* loudness_db < FM_AUDIO_SILENCE_DB: no tempo, key or onsets */

	bool has_tempo;          /* false when silent or when no pulse stands out */
	double tempo_bpm;        /* FM_AUDIO_MIN_BPM .. FM_AUDIO_MAX_BPM; 0 without tempo */
	double tempo_confidence; /* 0 .. 1: the normalised autocorrelation at the beat period */

	int key;                 /* pitch class of the tonic, 0 = C .. 11 = B; -1 when silent */
	enum fm_audio_mode mode; /* FM_AUDIO_MODE_NONE exactly when key is -1 */
	double key_strength;     /* Pearson correlation with the best key profile, -1 .. 1 */

	double loudness_db;               /* 10 log10 of the mean square of the mono mix; >= -100 */
	struct fm_audio_stat rms;         /* frame RMS of the analysis signal (full scale 1) */
	struct fm_audio_stat centroid_hz; /* spectral centroid of |STFT| */
	struct fm_audio_stat bandwidth_hz; /* second-order spectral bandwidth of |STFT| */
	struct fm_audio_stat rolloff_hz;   /* 85% spectral roll-off of |STFT| */
	struct fm_audio_stat flatness;     /* spectral flatness of |STFT|^2, 0 .. 1 */
	struct fm_audio_stat zcr;          /* zero crossings per sample, 0 .. 1 */
	double onset_rate_hz;              /* detected onsets per second of audio; 0 when silent */

	double mfcc_mean[FM_AUDIO_N_MFCC], mfcc_std[FM_AUDIO_N_MFCC];
	double chroma_mean[FM_AUDIO_N_CHROMA]; /* frames normalised to a maximum of 1, C first */

	double *beats_sec; /* with opts.beats: n_beats beat times in seconds, rising */
	size_t n_beats;
	float *mfcc_frames; /* with opts.keep_frames: n_frames rows of FM_AUDIO_N_MFCC */
	float *onset_env;   /* with opts.keep_frames: n_frames onset strengths */

	struct fm_audio_tags tags; /* fm_audio_analyze_file only; all "" otherwise */
};

/*
 * An analyzer holds the transform tables and the state of one stream; one per thread.
 * FM_EINVAL for options out of range, FM_ENOMEM.
 */
struct fm_audio_analyzer;
int fm_audio_analyzer_new(const struct fm_audio_opts *o, struct fm_audio_analyzer **out,
                          struct fm_err *err);
void fm_audio_analyzer_free(struct fm_audio_analyzer *a);

/*
 * Decode the file at path and analyse it into *f, with its tags, which the caller releases
 * with fm_audio_features_free, also after a failure. WAV, RF64, AIFF, FLAC and Sun AU files
 * (by their first bytes), and FIFOs, are decoded by libsndfile; every other file by FFmpeg
 * (MP3, AAC and ALAC in MP4/M4A, Ogg Vorbis and Opus, WMA, Matroska/WebM audio, WavPack,
 * ...: the demuxers in audio_ffmpeg.c's list), which never opens another file or URL on the
 * file's behalf. FM_EIO: the file cannot be opened or read, or is a directory or a device;
 * FM_EFORMAT: empty, not audio, a decoding error (with the decoder's own words), no
 * samples, a sample rate or channel count out of range, a sample that is NaN or infinite;
 * FM_ELIMIT: longer than opts.max_duration_sec; FM_ENOMEM.
 */
int fm_audio_analyze_file(struct fm_audio_analyzer *a, const char *path,
                          struct fm_audio_features *f, struct fm_err *err);

/* The same for n_frames frames of channels interleaved samples at rate_hz in memory. */
int fm_audio_analyze_samples(struct fm_audio_analyzer *a, const float *samples, size_t n_frames,
                             uint32_t channels, uint32_t rate_hz, struct fm_audio_features *f,
                             struct fm_err *err);

/*
 * The stream underneath, for callers with their own decoder: begin, push blocks of
 * interleaved frames (any sizes, same result), finish. A failure in push ends the stream;
 * begin starts a new one at any time. Samples are in full-scale units (1.0 is 0 dBFS);
 * magnitudes above 1000 are clipped there, and NaN or infinity fails with FM_EFORMAT.
 */
int fm_audio_begin(struct fm_audio_analyzer *a, uint32_t rate_hz, uint32_t channels,
                   struct fm_err *err);
int fm_audio_push(struct fm_audio_analyzer *a, const float *samples, size_t n_frames,
                  struct fm_err *err);
int fm_audio_finish(struct fm_audio_analyzer *a, struct fm_audio_features *f, struct fm_err *err);

void fm_audio_features_free(struct fm_audio_features *f);

/* "C", "C#", ... "B" for 0 .. 11; NULL otherwise. "major", "minor"; NULL for NONE. */
const char *fm_audio_key_name(int key);
const char *fm_audio_mode_name(enum fm_audio_mode m);

#endif
