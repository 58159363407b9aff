/*
 * lib/audio_ffmpeg.c: decode the files libsndfile does not read (MP3, AAC and ALAC in MP4,
 * Ogg Vorbis and Opus, WMA, Matroska audio, ...) with FFmpeg's libavformat and libavcodec,
 * and feed the analysis stream frame by frame, as audio_file.c does for libsndfile.
 *
 * FFmpeg reads through our own AVIOContext over the descriptor fm_open_read opened, so the
 * checks made there (no devices, no directories) hold, and io_open refuses every other
 * file or URL a demuxer might want to open on the file's behalf (playlists, references):
 * a file is read alone. Only the demuxers of FORMATS are tried. One thread per decoder.
 *
 * FFmpeg logs through av_log, whose callback is process-wide. lib/ keeps no globals and
 * prints nothing, so the one callback installed here (once, as libsndfile's lock is lib/'s
 * other exception; fermata has no other user of FFmpeg) prints nothing either: it hands an
 * error-level message to the decode it came from, found through the context's opaque
 * pointer, where it becomes the reason in the error record, and drops everything else. A
 * message from a context that is not ours, or below error level, is dropped.
 *
 * Like the image decoders, this one counts an error FFmpeg logged as a failure even when
 * decoding went on: a frame that failed to decode is a hole in the song.
 */
#include "audio_int.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define IO_BYTES 65536 /* the AVIOContext's buffer */
/* Interleaved floats one decoded frame may need: 2^24 covers any codec's frame size. */
#define MAX_FRAME_SAMPLES (1u << 24)

/* Demuxers of audio files; every component of a demuxer's name is matched (av_match_list). */
static const char FORMATS[] =
    "mp3,mov,mp4,m4a,ogg,asf,matroska,webm,aac,ac3,eac3,flac,wav,w64,aiff,au,caf,wv,ape,"
    "tta,mpc,mpc8,amr,dts,dtshd,mlp,truehd,loas,dsf,voc,shorten,tak,oma,xwma";

struct decode {
	int fd;
	int64_t size_bytes;
	char why[256]; /* the first error FFmpeg logged for this file, "" if none */
	struct fm_audio_analyzer *a;
	bool begun;
	uint32_t rate_hz, channels;
	uint64_t n_decoded; /* frames (samples per channel) pushed */
	float *buf;         /* one frame, interleaved */
	size_t cap;         /* floats */
};

/*
 * Errors FFmpeg logs about timestamps, not samples: the Ogg demuxer's "invalid pts" on a
 * Vorbis file of Debian's hyperrogue-music (hr-savino-palace.ogg) whose first granule
 * position is below its pre-skip; every sample decodes, and libsndfile reads it whole.
 */
static const char *const HARMLESS[] = {"invalid pts "};

static void
log_to_decode(void *avcl, int level, const char *fmt, va_list vl)
{
	const AVClass *cls;
	struct decode *d = NULL;
	size_t n;

	for (size_t i = 0; i < sizeof HARMLESS / sizeof HARMLESS[0]; i++)
		if (strncmp(fmt, HARMLESS[i], strlen(HARMLESS[i])) == 0)
			return;
	if (level > AV_LOG_ERROR || avcl == NULL)
		return;
	cls = *(const AVClass *const *)avcl;
	if (cls == avformat_get_class())
		d = ((AVFormatContext *)avcl)->opaque;
	else if (cls == avcodec_get_class())
		d = ((AVCodecContext *)avcl)->opaque;
	if (d == NULL || d->why[0] != '\0')
		return;
	vsnprintf(d->why, sizeof d->why, fmt, vl);
	n = strlen(d->why);
	while (n > 0 && (d->why[n - 1] == '\n' || d->why[n - 1] == '.' || d->why[n - 1] == ' '))
		d->why[--n] = '\0';
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void
install_log(void)
{
	av_log_set_callback(log_to_decode);
}

static int
read_packet(void *opaque, uint8_t *buf, int n)
{
	const struct decode *d = opaque;
	ssize_t got;

	do
		got = read(d->fd, buf, (size_t)n);
	while (got == -1 && errno == EINTR);
	if (got == 0)
		return AVERROR_EOF;
	return got < 0 ? AVERROR(errno) : (int)got;
}

static int64_t
seek(void *opaque, int64_t offset, int whence)
{
	const struct decode *d = opaque;
	off_t at;

	if (whence & AVSEEK_SIZE)
		return d->size_bytes;
	at = lseek(d->fd, (off_t)offset, whence & ~AVSEEK_FORCE);
	return at == (off_t)-1 ? AVERROR(errno) : (int64_t)at;
}

static int
refuse_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
            AVDictionary **options)
{
	(void)s, (void)pb, (void)url, (void)flags, (void)options;
	return AVERROR(EPERM);
}

/* FFmpeg's reason: what it logged, else the text of code; lower case as ours are. */
static const char *
reason(struct decode *d, int code)
{
	if (d->why[0] == '\0' && av_strerror(code, d->why, sizeof d->why) < 0)
		snprintf(d->why, sizeof d->why, "error %d", code);
	if (d->why[0] >= 'A' && d->why[0] <= 'Z' && d->why[1] >= 'a' && d->why[1] <= 'z')
		d->why[0] = (char)(d->why[0] - 'A' + 'a');
	return d->why;
}

static void
get_tag(const AVFormatContext *fmt, const AVStream *st, const char *key, char *dst)
{
	const AVDictionaryEntry *e = av_dict_get(fmt->metadata, key, NULL, 0);

	/* Ogg keeps its comments on the stream; MP4, ID3 and ASF on the file. */
	if (e == NULL || e->value[0] == '\0')
		e = av_dict_get(st->metadata, key, NULL, 0);
	audio_tag_copy(dst, e != NULL ? e->value : NULL);
}

static void
get_tags(const AVFormatContext *fmt, const AVStream *st, struct fm_audio_tags *t)
{
	char date[FM_AUDIO_TAG_BYTES + 1];

	get_tag(fmt, st, "title", t->title);
	get_tag(fmt, st, "artist", t->artist);
	if (t->artist[0] == '\0')
		get_tag(fmt, st, "album_artist", t->artist);
	get_tag(fmt, st, "album", t->album);
	get_tag(fmt, st, "track", t->track);
	get_tag(fmt, st, "genre", t->genre);
	get_tag(fmt, st, "date", date);
	t->year[0] = '\0';
	if (strspn(date, "0123456789") >= 4) {
		memcpy(t->year, date, 4);
		t->year[4] = '\0';
	}
}

/* A decoded frame, of any sample format, as interleaved floats into the analysis. */
static int
push_frame(struct decode *d, const AVFrame *fr, struct fm_err *err)
{
	uint32_t rate = (uint32_t)(fr->sample_rate > 0 ? fr->sample_rate : 0);
	uint32_t ch = (uint32_t)(fr->ch_layout.nb_channels > 0 ? fr->ch_layout.nb_channels : 0);
	size_t n = fr->nb_samples > 0 ? (size_t)fr->nb_samples : 0;
	enum AVSampleFormat sf = (enum AVSampleFormat)fr->format;
	bool planar = av_sample_fmt_is_planar(sf);

	if (n == 0)
		return 0;
	if (!d->begun) {
		if (fm_audio_begin(d->a, rate, ch, err) == -1)
			return -1;
		d->begun = true;
		d->rate_hz = rate;
		d->channels = ch;
	} else if (rate != d->rate_hz || ch != d->channels) {
		return fm_err_set(err, FM_EFORMAT,
		                  "the audio changes from %lu Hz, %lu channels to %lu Hz, %lu "
		                  "channels within the file",
		                  (unsigned long)d->rate_hz, (unsigned long)d->channels,
		                  (unsigned long)rate, (unsigned long)ch);
	}
	if ((uint64_t)n * ch > MAX_FRAME_SAMPLES)
		return fm_err_set(err, FM_EFORMAT, "a decoded frame of %zu samples", n);
	if (n * ch > d->cap) {
		float *b = realloc(d->buf, n * ch * sizeof *b);

		if (b == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory for %zu samples", n * ch);
		d->buf = b;
		d->cap = n * ch;
	}
	for (size_t c = 0; c < ch; c++) {
		const uint8_t *p = planar ? fr->extended_data[c] : fr->extended_data[0];
		size_t step = planar ? 1 : ch, at = planar ? 0 : c;
		float *out = d->buf + c;

		/* Integer samples scale as libsndfile scales them: full scale is 1. */
		switch (av_get_packed_sample_fmt(sf)) {
		case AV_SAMPLE_FMT_U8:
			for (size_t i = 0; i < n; i++)
				out[i * ch] = ((float)p[at + i * step] - 128.0f) * (1.0f / 128);
			break;
		case AV_SAMPLE_FMT_S16:
			for (size_t i = 0; i < n; i++)
				out[i * ch] =
				    (float)((const int16_t *)p)[at + i * step] * (1.0f / 32768);
			break;
		case AV_SAMPLE_FMT_S32:
			for (size_t i = 0; i < n; i++)
				out[i * ch] = (float)((double)((const int32_t *)p)[at + i * step] *
				                      (1.0 / 2147483648.0));
			break;
		case AV_SAMPLE_FMT_S64:
			for (size_t i = 0; i < n; i++)
				out[i * ch] = (float)((double)((const int64_t *)p)[at + i * step] *
				                      (1.0 / 9223372036854775808.0));
			break;
		case AV_SAMPLE_FMT_FLT:
			for (size_t i = 0; i < n; i++)
				out[i * ch] = ((const float *)p)[at + i * step];
			break;
		case AV_SAMPLE_FMT_DBL:
			for (size_t i = 0; i < n; i++)
				out[i * ch] = (float)((const double *)p)[at + i * step];
			break;
		default:
			return fm_err_set(err, FM_EFORMAT,
			                  "decoded samples in an unknown format %d", (int)sf);
		}
	}
	d->n_decoded += n;
	return fm_audio_push(d->a, d->buf, n, err);
}

/* Every frame the decoder has ready. */
static int
drain(struct decode *d, AVCodecContext *ctx, AVFrame *fr, struct fm_err *err)
{
	int ret;

	while ((ret = avcodec_receive_frame(ctx, fr)) >= 0) {
		int rc = push_frame(d, fr, err);

		av_frame_unref(fr);
		if (rc == -1)
			return -1;
	}
	if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
		return fm_err_set(err, FM_EFORMAT, "cannot decode the audio: %s", reason(d, ret));
	return 0;
}

static int
run(struct decode *d, AVFormatContext *fmt, int idx, AVCodecContext *ctx, struct fm_err *err)
{
	AVPacket *pkt = av_packet_alloc();
	AVFrame *fr = av_frame_alloc();
	int ret, rc = -1;

	if (pkt == NULL || fr == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for the decoder");
		goto done;
	}
	while ((ret = av_read_frame(fmt, pkt)) >= 0) {
		if (pkt->stream_index == idx)
			ret = avcodec_send_packet(ctx, pkt);
		av_packet_unref(pkt);
		if (ret < 0) {
			fm_err_set(err, FM_EFORMAT, "cannot decode the audio: %s", reason(d, ret));
			goto done;
		}
		if (drain(d, ctx, fr, err) == -1)
			goto done;
	}
	if (ret != AVERROR_EOF) {
		fm_err_set(err, FM_EFORMAT, "cannot read the audio: %s", reason(d, ret));
		goto done;
	}
	if ((ret = avcodec_send_packet(ctx, NULL)) < 0 && ret != AVERROR_EOF) {
		fm_err_set(err, FM_EFORMAT, "cannot decode the audio: %s", reason(d, ret));
		goto done;
	}
	if (drain(d, ctx, fr, err) == -1)
		goto done;
	if (d->why[0] != '\0') {
		fm_err_set(err, FM_EFORMAT, "cannot decode the audio: %s", reason(d, 0));
		goto done;
	}
	if (!d->begun) {
		fm_err_set(err, FM_EFORMAT, "no audio samples");
		goto done;
	}
	rc = 0;
done:
	av_frame_free(&fr);
	av_packet_free(&pkt);
	return rc;
}

static int
open_decoder(struct decode *d, AVFormatContext *fmt, AVStream *st, AVCodecContext **out,
             struct fm_err *err)
{
	const AVCodecParameters *par = st->codecpar;
	const AVCodec *codec = avcodec_find_decoder(par->codec_id);
	AVCodecContext *ctx;
	int ret;

	(void)fmt;
	if (codec == NULL && par->codec_id == AV_CODEC_ID_NONE)
		return fm_err_set(err, FM_EFORMAT,
		                  "no decoder for the file's audio codec (tag 0x%x)",
		                  (unsigned)par->codec_tag);
	if (codec == NULL)
		return fm_err_set(err, FM_EFORMAT, "no decoder for the file's %s audio",
		                  avcodec_get_name(par->codec_id));
	if ((ctx = avcodec_alloc_context3(codec)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the decoder");
	ctx->opaque = d;
	ctx->thread_count = 1; /* --jobs runs a file per core */
	ctx->pkt_timebase = st->time_base;
	if ((ret = avcodec_parameters_to_context(ctx, par)) < 0 ||
	    (ret = avcodec_open2(ctx, codec, NULL)) < 0) {
		avcodec_free_context(&ctx);
		return fm_err_set(err, ret == AVERROR(ENOMEM) ? FM_ENOMEM : FM_EFORMAT,
		                  "cannot open the %s decoder: %s", codec->name, reason(d, ret));
	}
	*out = ctx;
	return 0;
}

int
audio_ffmpeg_decode(struct fm_audio_analyzer *a, int fd, int64_t size_bytes,
                    struct fm_audio_tags *tags, bool *refused, struct fm_err *err)
{
	struct decode d = {.fd = fd, .size_bytes = size_bytes, .a = a};
	AVFormatContext *fmt = NULL;
	AVCodecContext *ctx = NULL;
	AVIOContext *io = NULL;
	AVDictionary *opts = NULL;
	uint8_t *io_buf;
	AVStream *st;
	double max_sec = audio_max_duration(a);
	int idx, ret, rc = -1;

	pthread_once(&log_once, install_log);
	memset(tags, 0, sizeof *tags);
	if ((io_buf = av_malloc(IO_BYTES)) == NULL ||
	    (io = avio_alloc_context(io_buf, IO_BYTES, 0, &d, read_packet, NULL, seek)) == NULL ||
	    (fmt = avformat_alloc_context()) == NULL) {
		if (io == NULL)
			av_free(io_buf);
		fm_err_set(err, FM_ENOMEM, "out of memory for the demuxer");
		goto done;
	}
	fmt->pb = io;
	fmt->opaque = &d;
	fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	fmt->io_open = refuse_open;
	if (av_dict_set(&opts, "format_whitelist", FORMATS, 0) < 0) {
		fm_err_set(err, FM_ENOMEM, "out of memory for the demuxer");
		goto done;
	}
	/* On failure avformat_open_input frees fmt (not our io) and sets it to NULL. */
	if ((ret = avformat_open_input(&fmt, "", NULL, &opts)) < 0) {
		fm_err_set(err, FM_EFORMAT,
		           "not an audio file that libsndfile or FFmpeg can read: %s",
		           reason(&d, ret));
		goto done;
	}
	fmt->opaque = &d;
	/*
	 * The first audio stream that is not a picture. av_find_best_stream would need
	 * avformat_find_stream_info first (an MP3's channels are known only once a frame is
	 * decoded), which decodes the start of the file twice.
	 */
	for (idx = 0; idx < (int)fmt->nb_streams; idx++)
		if (fmt->streams[idx]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO &&
		    !(fmt->streams[idx]->disposition & AV_DISPOSITION_ATTACHED_PIC))
			break;
	if (idx == (int)fmt->nb_streams) {
		fm_err_set(err, FM_EFORMAT, "no audio stream in the %s file", fmt->iformat->name);
		goto done;
	}
	st = fmt->streams[idx];
	for (unsigned i = 0; i < fmt->nb_streams; i++)
		if ((int)i != idx)
			fmt->streams[i]->discard = AVDISCARD_ALL; /* cover art, video */
	/* A header that announces too much fails before decoding; the count is checked again. */
	if (st->duration > 0 && st->duration != AV_NOPTS_VALUE && st->time_base.den > 0 &&
	    (double)st->duration * av_q2d(st->time_base) > max_sec) {
		fm_err_set(err, FM_ELIMIT,
		           "audio is %g s long, more than %g s (see --max-duration)",
		           (double)st->duration * av_q2d(st->time_base), max_sec);
		goto done;
	}
	get_tags(fmt, st, tags);
	if (open_decoder(&d, fmt, st, &ctx, err) == -1)
		goto done;
	if ((rc = run(&d, fmt, idx, ctx, err)) == 0 && st->duration > 0 &&
	    st->duration != AV_NOPTS_VALUE && st->time_base.den > 0) {
		double announced = (double)st->duration * av_q2d(st->time_base);
		double got = (double)d.n_decoded / d.rate_hz;

		/*
		 * A cut MP3 (its Xing or LAME header counts the frames), MP4 or WMA ends short of
		 * its header's length, and FFmpeg says nothing. The slack covers the encoder's
		 * delay and padding, which the header counts and the decoder drops (34 ms for
		 * LAME, 45 for WMA). An Ogg stream's length is its last page's, so a cut Ogg file
		 * is analysed up to where it ends, as with libsndfile.
		 */
		if (got < announced - (0.05 + 0.005 * announced)) {
			rc = fm_err_set(err, FM_EFORMAT, "truncated audio data (%.3f of %.3f s)",
			                got, announced);
		}
	}
done:
	avcodec_free_context(&ctx);
	avformat_close_input(&fmt);
	if (io != NULL) {
		av_freep(&io->buffer);
		avio_context_free(&io);
	}
	av_dict_free(&opts);
	free(d.buf);
	*refused = rc == -1 && err->code == FM_EFORMAT && !d.begun;
	return rc;
}
