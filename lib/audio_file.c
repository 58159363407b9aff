/*
 * lib/audio_file.c: decode a file with libsndfile and feed the analysis stream in blocks,
 * so that a file of any length needs a block's memory, not the whole signal's.
 *
 * libsndfile reads WAV, AIFF, FLAC, Ogg Vorbis, Opus and MP3 (1.1 and later) among others,
 * and converts integer samples to float in [-1, 1). The file is opened here rather than by
 * sf_open, so that a directory or an empty file gets its own message, and because the text
 * of a failed sf_open lives in a global buffer that two threads would share; the message for
 * an unreadable format is therefore this module's own. libsndfile still writes that buffer
 * (sf_errno, sf_parselog) when an open fails, from whichever thread opened the file, so the
 * opens are serialised by sf_open_lock, lib/'s one global (HACKING.md): a lock around
 * libsndfile's own, which no caller could hold in its place without knowing our calls. And
 * a failed open closes the descriptor it was given, so libsndfile alone closes it.
 */
#include "audio_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_SAMPLES 16384 /* samples (frames x channels) decoded at a time */

static pthread_mutex_t sf_open_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Whether libsndfile's log says that a WAV or AIFF data chunk is shorter than its header
 * announces: it then reads what is there and reports no error, and the log line
 * "data : 10584000 (should be 299956)" (SSND for AIFF) is the only trace. Streaming
 * writers that cannot seek back put 0xFFFFFFFF there; such a file is whole.
 */
static bool
chunk_cut(SNDFILE *sf, unsigned long long *announced, unsigned long long *held)
{
	char log[4096];

	log[0] = '\0';
	sf_command(sf, SFC_GET_LOG_INFO, log, (int)sizeof log);
	for (char *line = log; line != NULL && *line != '\0';) {
		char *next = strchr(line, '\n');

		line += strspn(line, " \t");
		if ((strncmp(line, "data :", 6) == 0 || strncmp(line, "SSND :", 6) == 0) &&
		    sscanf(line + 6, "%llu (should be %llu)", announced, held) == 2 &&
		    *held < *announced && *announced != 0xFFFFFFFFu)
			return true; /* 0xFFFFFFFF: a writer that could not seek back, not a cut */
		line = next != NULL ? next + 1 : NULL;
	}
	return false;
}

static int
decode(struct fm_audio_analyzer *a, SNDFILE *sf, const SF_INFO *info, double max_duration_sec,
       struct fm_err *err)
{
	unsigned long long announced = 0, held = 0;
	uint64_t decoded = 0;
	size_t ch, block;
	float *buf;
	int rc = -1;

	/* Everything in SF_INFO came from the file: check it before it sizes anything. */
	if (info->samplerate < FM_AUDIO_MIN_FILE_RATE_HZ ||
	    info->samplerate > FM_AUDIO_MAX_FILE_RATE_HZ)
		return fm_err_set(err, FM_EFORMAT, "sample rate %d Hz is not in %u..%u Hz",
		                  info->samplerate, FM_AUDIO_MIN_FILE_RATE_HZ,
		                  FM_AUDIO_MAX_FILE_RATE_HZ);
	if (info->channels < 1 || info->channels > FM_AUDIO_MAX_CHANNELS)
		return fm_err_set(err, FM_EFORMAT, "%d channels is not in 1..%u", info->channels,
		                  FM_AUDIO_MAX_CHANNELS);
	/* A header that announces too much fails before decoding; the count is checked again. */
	if (info->frames > 0 && info->frames != SF_COUNT_MAX &&
	    (double)info->frames / info->samplerate > max_duration_sec)
		return fm_err_set(err, FM_ELIMIT,
		                  "audio is %g s long, more than %g s (see "
		                  "--max-duration)",
		                  (double)info->frames / info->samplerate, max_duration_sec);
	ch = (size_t)info->channels;
	block = READ_SAMPLES / ch > 0 ? READ_SAMPLES / ch : 1;
	if ((buf = malloc(block * ch * sizeof *buf)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu channels", ch);
	if (fm_audio_begin(a, (uint32_t)info->samplerate, (uint32_t)ch, err) == -1)
		goto done;
	for (;;) {
		sf_count_t got = sf_readf_float(sf, buf, (sf_count_t)block);

		if (got <= 0)
			break;
		decoded += (uint64_t)got;
		if (fm_audio_push(a, buf, (size_t)got, err) == -1)
			goto done;
	}
	/*
	 * A cut file fails rather than describing a fraction of a song: a cut FLAC stream ends
	 * early (libsndfile reports no error for it when the reads are large) short of the
	 * count in its STREAMINFO; a cut WAV or AIFF shows in the log. Ogg and MP3 streams
	 * carry no reliable count, so a cut one is analysed up to where it ends.
	 */
	if (sf_error(sf) != SF_ERR_NO_ERROR) {
		fm_err_set(err, FM_EFORMAT, "cannot decode the audio: %s", sf_strerror(sf));
		goto done;
	}
	if ((info->format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC && info->frames > 0 &&
	    info->frames != SF_COUNT_MAX && decoded < (uint64_t)info->frames) {
		fm_err_set(err, FM_EFORMAT, "truncated audio data (%.3f of %.3f s)",
		           (double)decoded / info->samplerate,
		           (double)info->frames / info->samplerate);
		goto done;
	}
	if (chunk_cut(sf, &announced, &held)) {
		fm_err_set(err, FM_EFORMAT,
		           "truncated audio data (%llu of the %llu bytes the header announces)",
		           held, announced);
		goto done;
	}
	rc = 0;
done:
	free(buf);
	return rc;
}

int
fm_audio_analyze_file(struct fm_audio_analyzer *a, const char *path, struct fm_audio_features *f,
                      struct fm_err *err)
{
	struct stat st;
	SF_INFO info;
	SNDFILE *sf;
	int fd, rc;

	memset(f, 0, sizeof *f);
	f->key = -1;
	if ((fd = fm_open_read(path, err)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		rc = fm_err_errno(err, errno);
		close(fd);
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return fm_err_set(err, FM_EIO, "is a directory");
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) {
		close(fd);
		return fm_err_set(err, FM_EFORMAT, "empty file");
	}
	memset(&info, 0, sizeof info);
	/*
	 * libsndfile closes the descriptor when the open fails, whatever close_desc says: it
	 * is libsndfile's from here on (closed by sf_close), since closing it again here
	 * would close whatever another worker had opened under the same number meanwhile.
	 */
	pthread_mutex_lock(&sf_open_lock);
	sf = sf_open_fd(fd, SFM_READ, &info, SF_TRUE);
	pthread_mutex_unlock(&sf_open_lock);
	if (sf == NULL)
		return fm_err_set(err, FM_EFORMAT, "not an audio file that libsndfile can read");
	rc = decode(a, sf, &info, audio_max_duration(a), err);
	sf_close(sf);
	if (rc == -1)
		return -1;
	return fm_audio_finish(a, f, err);
}
