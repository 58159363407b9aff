/*
 * tests/fuzz/fuzz_audio.c: arbitrary bytes as an audio file (lib/audio): decoded through
 * libsndfile or FFmpeg (the seeds hold WAV, AIFF, FLAC, Ogg Vorbis and Opus, M4A, MP3 and
 * WMA) and analysed, with a short duration limit; every number that comes out must
 * be finite, as song-featurize writes them to JSON.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(double v)
{
	if (!isfinite(v))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fm_audio_analyzer *a;
	char path[] = "/tmp/fuzz_audio_XXXXXX";
	struct fm_audio_features f = {0};
	struct fm_err err;
	int fd;

	if (a == NULL) {
		struct fm_audio_opts o = FM_AUDIO_OPTS_DEFAULT;

		o.max_duration_sec = 30;
		o.beats = true;
		if (fm_audio_analyzer_new(&o, &a, &err) == -1)
			abort();
	}
	if ((fd = mkstemp(path)) == -1)
		return 0;
	if (write(fd, data, size) == (ssize_t)size && close(fd) == 0 &&
	    fm_audio_analyze_file(a, path, &f, &err) == 0) {
		check(f.duration_sec);
		check(f.tempo_bpm);
		check(f.tempo_confidence);
		check(f.key_strength);
		check(f.loudness_db);
		check(f.rms.mean + f.rms.std + f.centroid_hz.mean + f.centroid_hz.std);
		check(f.bandwidth_hz.mean + f.rolloff_hz.mean + f.flatness.mean + f.zcr.mean);
		check(f.onset_rate_hz);
		for (int k = 0; k < FM_AUDIO_N_MFCC; k++)
			check(f.mfcc_mean[k] + f.mfcc_std[k]);
		for (int k = 0; k < FM_AUDIO_N_CHROMA; k++)
			check(f.chroma_mean[k]);
		for (size_t k = 0; k < f.n_beats; k++)
			check(f.beats_sec[k]);
		/* Tags are strings within their bound. */
		if (strnlen(f.tags.title, sizeof f.tags.title) > FM_AUDIO_TAG_BYTES ||
		    strnlen(f.tags.artist, sizeof f.tags.artist) > FM_AUDIO_TAG_BYTES ||
		    strnlen(f.tags.album, sizeof f.tags.album) > FM_AUDIO_TAG_BYTES ||
		    strnlen(f.tags.track, sizeof f.tags.track) > FM_AUDIO_TAG_BYTES ||
		    strnlen(f.tags.year, sizeof f.tags.year) > 4 ||
		    strnlen(f.tags.genre, sizeof f.tags.genre) > FM_AUDIO_TAG_BYTES)
			abort();
	}
	fm_audio_features_free(&f);
	unlink(path);
	return 0;
}
