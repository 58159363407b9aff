/*
 * lib/audio_file.c: open an audio file, choose its decoder, decode it with libsndfile and
 * feed the analysis stream in blocks, so that a file of any length needs a block's memory,
 * not the whole signal's.
 *
 * WAV, RF64, AIFF, FLAC and Sun AU files (known by their first bytes), and FIFOs, which
 * cannot be sniffed and seeked, go to libsndfile, which converts integer samples to float
 * in [-1, 1) and whose damaged headers and cut data chunks this file knows how to tell
 * (the hostile cases in testdata/bad/audio). Everything else goes to FFmpeg
 * (audio_ffmpeg.c): libsndfile 1.2.0 fails on Ogg Opus as ffmpeg writes it ("file is
 * malformed") and reads no AAC, MP4 or WMA at all, and on Ogg Vorbis FFmpeg's decoder takes
 * less CPU than libvorbis (README, "Speed"). The file is opened here rather than by
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

/* libsndfile's strings, which it reads from WAV INFO, AIFF and FLAC's Vorbis comments. */
static void
sndfile_tags(SNDFILE *sf, struct fm_audio_tags *t)
{
	const char *date = sf_get_string(sf, SF_STR_DATE);

	audio_tag_copy(t->title, sf_get_string(sf, SF_STR_TITLE));
	audio_tag_copy(t->artist, sf_get_string(sf, SF_STR_ARTIST));
	audio_tag_copy(t->album, sf_get_string(sf, SF_STR_ALBUM));
	audio_tag_copy(t->track, sf_get_string(sf, SF_STR_TRACKNUMBER));
	audio_tag_copy(t->genre, sf_get_string(sf, SF_STR_GENRE));
	t->year[0] = '\0';
	if (date != NULL && strspn(date, "0123456789") >= 4) {
		memcpy(t->year, date, 4);
		t->year[4] = '\0';
	}
}

/*
 * Whether libsndfile is the decoder for a file starting with these bytes: the formats
 * whose damage this file recognises (see chunk_cut and the FLAC count below).
 */
static bool
for_sndfile(const unsigned char *b, size_t n)
{
	static const char *const magic[] = {"RIFF", "RIFX", "RF64", "FORM", "fLaC", ".snd"};

	for (size_t i = 0; n >= 4 && i < sizeof magic / sizeof magic[0]; i++)
		if (memcmp(b, magic[i], 4) == 0)
			return true;
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

/*
 * libsndfile's open of fd, which is libsndfile's from here on: it closes the descriptor
 * when the open fails, whatever close_desc says (closed by sf_close otherwise), and closing
 * it again here would close whatever another worker had opened under the same number.
 */
static SNDFILE *
sndfile_open(int fd, SF_INFO *info)
{
	SNDFILE *sf;

	memset(info, 0, sizeof *info);
	pthread_mutex_lock(&sf_open_lock);
	sf = sf_open_fd(fd, SFM_READ, info, SF_TRUE);
	pthread_mutex_unlock(&sf_open_lock);
	return sf;
}

int
fm_audio_analyze_file(struct fm_audio_analyzer *a, const char *path, struct fm_audio_features *f,
                      struct fm_err *err)
{
	struct fm_audio_tags tags;
	unsigned char head[4];
	struct stat st;
	SF_INFO info;
	SNDFILE *sf;
	ssize_t n_head = 0;
	bool refused = false;
	int fd, rc;

	memset(f, 0, sizeof *f);
	memset(&tags, 0, sizeof tags);
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
	if (!S_ISREG(st.st_mode)) {
		/* A FIFO can be neither sniffed nor seeked: libsndfile reads it as it comes. */
		if ((sf = sndfile_open(fd, &info)) == NULL)
			return fm_err_set(err, FM_EFORMAT,
			                  "not an audio file that libsndfile can read");
	} else {
		do
			n_head = pread(fd, head, sizeof head, 0);
		while (n_head == -1 && errno == EINTR);
		if (n_head == -1) {
			rc = fm_err_errno(err, errno);
			close(fd);
			return rc;
		}
		if (!for_sndfile(head, (size_t)n_head)) {
			struct fm_err first;

			rc = audio_ffmpeg_decode(a, fd, (int64_t)st.st_size, &tags, &refused, err);
			if (rc == 0 || !refused) {
				close(fd);
				goto finish;
			}
			/*
			 * What FFmpeg cannot open libsndfile may: an Ogg Vorbis file of Debian's
			 * hyperrogue-music whose headers FFmpeg 5.1 calls invalid data. If it
			 * cannot either, FFmpeg's words are the reason given.
			 */
			first = *err;
			if (lseek(fd, 0, SEEK_SET) == -1) {
				close(fd);
				*err = first;
				return -1;
			}
			if ((sf = sndfile_open(fd, &info)) == NULL) {
				*err = first;
				return -1;
			}
		} else if ((sf = sndfile_open(fd, &info)) == NULL) {
			/*
			 * No second try with FFmpeg: it reads on where libsndfile rightly
			 * refuses a damaged header (an AU whose data starts past its end).
			 */
			return fm_err_set(err, FM_EFORMAT,
			                  "not an audio file that libsndfile can read");
		}
	}
	rc = decode(a, sf, &info, audio_max_duration(a), err);
	sndfile_tags(sf, &tags);
	sf_close(sf);
finish:
	if (rc == -1 || fm_audio_finish(a, f, err) == -1)
		return -1;
	f->tags = tags; /* fm_audio_finish starts f afresh */
	return 0;
}
