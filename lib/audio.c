/*
 * lib/audio.c: the analysis stream. Samples arrive in blocks of any size; each block is mixed
 * to mono, resampled to the analysis rate with libsoxr (SOXR_HQ, librosa's default
 * resampler), and cut into frames of FM_AUDIO_N_FFT samples every FM_AUDIO_HOP, centred as
 * librosa centres them (n_fft / 2 zeros before the first sample and after the last). Each
 * frame gives its RMS, zero-crossing rate, power spectrum, spectral centroid, bandwidth,
 * roll-off and flatness, chroma and log-mel bands; the first group is summed on the fly.
 *
 * The log-mel bands are kept (16 bits each) because librosa's power_to_db floors them at
 * 80 dB below the loudest band of the whole file, which is known only at the end: finish
 * applies the floor, then derives the MFCCs and the two onset envelopes from the same bands,
 * and tempo, beats, onsets and key from those. Nothing here grows with the number of samples.
 *
 * Departures from librosa: chroma assumes A440 tuning (librosa estimates the tuning from
 * the whole file first); tempo and beats follow an accent envelope of compressed power
 * rather than the dB flux (see cepstra); the mean and standard deviation are this module's
 * summaries.
 */
#include "audio_int.h"

#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#define MONO_BLOCK 4096     /* frames mixed at a time */
#define FEED_BLOCK 4096     /* analysis samples appended to the frame buffer at a time */
#define RS_BLOCK 8192       /* resampler output per call */
#define AMIN 1e-10          /* power_to_db's floor: -100 dB */
#define TOP_DB 80.0         /* power_to_db's range below the loudest band */
#define SAMPLE_CLIP 1000.0f /* 60 dB above full scale: keeps every power finite in float */
/* Log-mel bands are stored as (dB + 100) * 256 in 16 bits: -100 .. +156 dB in 1/256 dB. */
#define DB_OFFSET 100.0
#define DB_SCALE 256.0
#define ACCENT_GAIN 300.0 /* power compression of the tempo envelope, see cepstra */
#define KEEP_FRAMES_BYTES ((size_t)16 << 20) /* a larger mel store is freed after a file */

struct welford {
	double n, mean, m2;
};

struct fm_audio_analyzer {
	struct fm_audio_opts o;
	double rate_hz; /* analysis rate */
	size_t n_fft, hop, n_bins, n_mels;
	struct audio_fft fft;
	struct audio_mel mel;
	float *chroma_bank; /* n_bins rows of 12 */
	float *dct;         /* FM_AUDIO_N_MFCC rows of n_mels */
	float *window;      /* periodic Hann */
	double *freq_hz;    /* bin frequencies */
	float *power, *melv;
	float *mono, *rs_out, *buf;
	size_t buf_cap, buf_len;

	/* The stream. */
	bool open;
	uint32_t in_rate_hz, channels;
	uint64_t n_in, max_in; /* frames pushed, and the duration limit in frames */
	uint64_t n_out;        /* analysis samples appended to the frame buffer */
	uint64_t out_limit;    /* analysis samples wanted: known at finish, else UINT64_MAX */
	uint64_t frame_t;      /* the next frame's index */
	double sum_sq;         /* of the mono mix, for the loudness */
	soxr_t soxr;
	struct welford rms, centroid, bandwidth, rolloff, flatness, zcr;
	double chroma_sum[FM_AUDIO_N_CHROMA];
	double logmel_max;
	uint16_t *logmel;   /* n_frames rows of n_mels */
	size_t logmel_cap;  /* rows */
	struct fm_err fail; /* a failure inside the frame loop, reported by push or finish */
	bool failed;
};

static void
welford_add(struct welford *w, double x)
{
	double d = x - w->mean;

	w->n += 1;
	w->mean += d / w->n;
	w->m2 += d * (x - w->mean);
}

static struct fm_audio_stat
welford_stat(const struct welford *w)
{
	struct fm_audio_stat s = {0, 0};

	if (w->n > 0) {
		s.mean = w->mean;
		s.std = sqrt(fmax(0.0, w->m2 / w->n));
	}
	return s;
}

double
audio_max_duration(const struct fm_audio_analyzer *a)
{
	return a->o.max_duration_sec;
}

void
fm_audio_analyzer_free(struct fm_audio_analyzer *a)
{
	if (a == NULL)
		return;
	if (a->soxr != NULL)
		soxr_delete(a->soxr);
	audio_fft_destroy(&a->fft);
	audio_mel_destroy(&a->mel);
	free(a->chroma_bank);
	free(a->dct);
	free(a->window);
	free(a->freq_hz);
	free(a->power);
	free(a->melv);
	free(a->mono);
	free(a->rs_out);
	free(a->buf);
	free(a->logmel);
	free(a);
}

int
fm_audio_analyzer_new(const struct fm_audio_opts *o, struct fm_audio_analyzer **out,
                      struct fm_err *err)
{
	struct fm_audio_analyzer *a;

	*out = NULL;
	if (o->analysis_rate_hz < FM_AUDIO_MIN_ANALYSIS_HZ ||
	    o->analysis_rate_hz > FM_AUDIO_MAX_ANALYSIS_HZ)
		return fm_err_set(err, FM_EINVAL, "analysis rate %u Hz is not in %u..%u Hz",
		                  (unsigned)o->analysis_rate_hz, FM_AUDIO_MIN_ANALYSIS_HZ,
		                  FM_AUDIO_MAX_ANALYSIS_HZ);
	/* 1e7 s keeps frames * rate products far inside 64 bits. */
	if (!(o->max_duration_sec > 0 && o->max_duration_sec <= 1e7))
		return fm_err_set(err, FM_EINVAL, "maximum duration %g s is not in (0, 1e7]",
		                  o->max_duration_sec);
	if ((a = calloc(1, sizeof *a)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for an audio analyzer");
	a->o = *o;
	a->rate_hz = o->analysis_rate_hz;
	a->n_fft = FM_AUDIO_N_FFT;
	a->hop = FM_AUDIO_HOP;
	a->n_bins = a->n_fft / 2 + 1;
	a->n_mels = FM_AUDIO_N_MELS;
	a->buf_cap = a->n_fft + FEED_BLOCK;
	if (audio_fft_init(&a->fft, a->n_fft, err) == -1 ||
	    audio_mel_init(&a->mel, a->rate_hz, a->n_fft, a->n_mels, err) == -1 ||
	    audio_chroma_bank(a->rate_hz, a->n_fft, &a->chroma_bank, err) == -1 ||
	    audio_dct_matrix(FM_AUDIO_N_MFCC, a->n_mels, &a->dct, err) == -1)
		goto fail;
	a->window = malloc(a->n_fft * sizeof *a->window);
	a->freq_hz = malloc(a->n_bins * sizeof *a->freq_hz);
	a->power = malloc(a->n_bins * sizeof *a->power);
	a->melv = malloc(a->n_mels * sizeof *a->melv);
	a->mono = malloc(MONO_BLOCK * sizeof *a->mono);
	a->rs_out = malloc(RS_BLOCK * sizeof *a->rs_out);
	a->buf = malloc(a->buf_cap * sizeof *a->buf);
	if (a->window == NULL || a->freq_hz == NULL || a->power == NULL || a->melv == NULL ||
	    a->mono == NULL || a->rs_out == NULL || a->buf == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for an audio analyzer");
		goto fail;
	}
	/* scipy.signal.get_window("hann", n_fft, fftbins=True): the periodic Hann window. */
	for (size_t i = 0; i < a->n_fft; i++)
		a->window[i] =
		    (float)(0.5 - 0.5 * cos(2 * AUDIO_PI * (double)i / (double)a->n_fft));
	for (size_t k = 0; k < a->n_bins; k++)
		a->freq_hz[k] = a->rate_hz * (double)k / (double)a->n_fft;
	*out = a;
	return 0;
fail:
	fm_audio_analyzer_free(a);
	return -1;
}

/* Keep one frame's log-mel bands; false when the store cannot grow. */
static bool
store_logmel(struct fm_audio_analyzer *a, const float *mel)
{
	uint16_t *row;

	if (a->frame_t >= a->logmel_cap) {
		size_t cap = a->logmel_cap < 1024 ? 1024 : a->logmel_cap * 2;
		uint16_t *p;

		if (cap > SIZE_MAX / a->n_mels / sizeof *p ||
		    (p = realloc(a->logmel, cap * a->n_mels * sizeof *p)) == NULL)
			return false;
		a->logmel = p;
		a->logmel_cap = cap;
	}
	row = a->logmel + a->frame_t * a->n_mels;
	for (size_t j = 0; j < a->n_mels; j++) {
		double db = 10.0 * log10(fmax(AMIN, (double)mel[j]));
		double q = round((db + DB_OFFSET) * DB_SCALE);

		if (db > a->logmel_max)
			a->logmel_max = db;
		row[j] = (uint16_t)fmin(65535.0, fmax(0.0, q));
	}
	return true;
}

/*
 * ln of the geometric mean of max(AMIN, p[k]): products of 8 stay within double's range
 * (each factor is 1e-10 .. 1e13 at most), so one log per 8 bins instead of one per bin.
 */
static double
log_gmean(const float *p, size_t n)
{
	double sum = 0;
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		double prod = 1;

		for (size_t i = 0; i < 8; i++)
			prod *= fmax(AMIN, (double)p[k + i]);
		sum += log(prod);
	}
	for (; k < n; k++)
		sum += log(fmax(AMIN, (double)p[k]));
	return sum / (double)n;
}

/* Everything one frame gives; x is n_fft samples of the padded analysis signal. */
static void
frame(struct fm_audio_analyzer *a, const float *x)
{
	size_t n_fft = a->n_fft, n_bins = a->n_bins, half = n_fft / 2;
	uint64_t start = a->frame_t * a->hop; /* x[0] in padded coordinates */
	size_t lo = start < half ? (size_t)(half - start) : 0, hi = n_fft, crossings = 0;
	double sum_sq = 0, s = 0, sf = 0, sf2 = 0, sp = 0, c[FM_AUDIO_N_CHROMA] = {0}, cmax = 0;
	const float *p = a->power;

	if (a->failed)
		return;
	/* RMS over the zero-padded frame, as librosa.feature.rms(center=True). */
	for (size_t i = 0; i < n_fft; i++)
		sum_sq += (double)x[i] * x[i];
	welford_add(&a->rms, sqrt(sum_sq / (double)n_fft));
	/*
	 * librosa's zero_crossing_rate pads with copies of the edge samples, which cross
	 * nothing, so only pairs of real samples count; |x| <= 1e-10 counts as positive zero.
	 */
	if (a->out_limit != UINT64_MAX && start + n_fft > a->out_limit + half)
		hi = a->out_limit + half > start ? (size_t)(a->out_limit + half - start) : 0;
	for (size_t i = lo; i + 1 < hi; i++)
		crossings += (x[i] < -1e-10f) != (x[i + 1] < -1e-10f);
	welford_add(&a->zcr, (double)crossings / (double)n_fft);

	audio_fft_power(&a->fft, x, a->window, a->power);

	/* Centroid, bandwidth and roll-off weigh the magnitude |X|; flatness the power. */
	for (size_t k = 0; k < n_bins; k++) {
		double m = sqrt((double)p[k]);

		s += m;
		sf += m * a->freq_hz[k];
		sf2 += m * a->freq_hz[k] * a->freq_hz[k];
		sp += fmax(AMIN, (double)p[k]);
	}
	if (s > 1e-30) {
		double centroid = sf / s, cum = 0, target = 0.85 * s, roll = 0;

		welford_add(&a->centroid, centroid);
		welford_add(&a->bandwidth, sqrt(fmax(0.0, sf2 / s - centroid * centroid)));
		for (size_t k = 0; k < n_bins; k++) {
			cum += sqrt((double)p[k]);
			if (cum >= target) {
				roll = a->freq_hz[k];
				break;
			}
		}
		welford_add(&a->rolloff, roll);
	} else {
		/* A silent frame: librosa leaves it unnormalised, which gives 0 for all three. */
		welford_add(&a->centroid, 0);
		welford_add(&a->bandwidth, 0);
		welford_add(&a->rolloff, 0);
	}
	welford_add(&a->flatness, exp(log_gmean(p, n_bins)) / (sp / (double)n_bins));

	/* Chroma: the bank is bin-major, so the pitch classes are the inner loop. */
	{
		float acc[FM_AUDIO_N_CHROMA] = {0};
		const float *w = a->chroma_bank;

		for (size_t k = 0; k < n_bins; k++, w += FM_AUDIO_N_CHROMA)
			for (int i = 0; i < FM_AUDIO_N_CHROMA; i++)
				acc[i] += w[i] * p[k];
		for (int i = 0; i < FM_AUDIO_N_CHROMA; i++) {
			c[i] = acc[i];
			cmax = fmax(cmax, c[i]);
		}
		/* Each frame scaled to a maximum of 1 (norm=inf); a silent frame stays 0. */
		if (cmax > 1e-30)
			for (int i = 0; i < FM_AUDIO_N_CHROMA; i++)
				a->chroma_sum[i] += c[i] / cmax;
	}

	audio_mel_apply(&a->mel, p, a->melv);
	if (!store_logmel(a, a->melv)) {
		fm_err_set(&a->fail, FM_ENOMEM, "out of memory for %llu analysis frames",
		           (unsigned long long)a->frame_t + 1);
		a->failed = true;
		return;
	}
	a->frame_t++;
}

/* Append analysis samples to the frame buffer and analyse every frame that is complete. */
static void
feed(struct fm_audio_analyzer *a, const float *y, size_t n)
{
	if (a->out_limit != UINT64_MAX) {
		if (a->n_out >= a->out_limit)
			return;
		if (n > a->out_limit - a->n_out)
			n = (size_t)(a->out_limit - a->n_out);
	}
	a->n_out += n;
	while (n > 0) {
		size_t c = a->buf_cap - a->buf_len, pos = 0;

		if (c > n)
			c = n;
		if (y != NULL)
			memcpy(a->buf + a->buf_len, y, c * sizeof *y);
		else
			memset(a->buf + a->buf_len, 0, c * sizeof *a->buf);
		a->buf_len += c;
		if (y != NULL)
			y += c;
		n -= c;
		while (a->buf_len - pos >= a->n_fft) {
			frame(a, a->buf + pos);
			pos += a->hop;
		}
		memmove(a->buf, a->buf + pos, (a->buf_len - pos) * sizeof *a->buf);
		a->buf_len -= pos;
	}
}

static int
resample(struct fm_audio_analyzer *a, const float *in, size_t n, struct fm_err *err)
{
	size_t used = 0;

	/* in NULL flushes: soxr returns the tail of its filter until it has nothing left. */
	for (int rounds = 0; in != NULL ? used < n : rounds < 1000; rounds++) {
		size_t idone = 0, odone = 0;
		soxr_error_t e =
		    soxr_process(a->soxr, in != NULL ? in + used : NULL, n - used,
		                 in != NULL ? &idone : NULL, a->rs_out, RS_BLOCK, &odone);

		if (e != NULL)
			return fm_err_set(err, FM_EFORMAT, "resampler: %s", e);
		feed(a, a->rs_out, odone);
		used += idone;
		if (in == NULL && odone == 0)
			break;
		if (in != NULL && idone == 0 && odone == 0)
			break; /* cannot happen with soxr; never spin */
	}
	return 0;
}

static void
stream_reset(struct fm_audio_analyzer *a)
{
	if (a->soxr != NULL) {
		soxr_delete(a->soxr);
		a->soxr = NULL;
	}
	/* A long file's store is given back; a short one's is reused by the next file. */
	if (a->logmel_cap * a->n_mels * sizeof *a->logmel > KEEP_FRAMES_BYTES) {
		free(a->logmel);
		a->logmel = NULL;
		a->logmel_cap = 0;
	}
	a->open = false;
	a->failed = false;
	a->n_in = a->n_out = a->frame_t = 0;
	a->out_limit = UINT64_MAX;
	a->sum_sq = 0;
	a->rms = a->centroid = a->bandwidth = a->rolloff = a->flatness = a->zcr =
	    (struct welford){0, 0, 0};
	memset(a->chroma_sum, 0, sizeof a->chroma_sum);
	a->logmel_max = -DB_OFFSET;
	a->buf_len = 0;
}

int
fm_audio_begin(struct fm_audio_analyzer *a, uint32_t rate_hz, uint32_t channels, struct fm_err *err)
{
	stream_reset(a);
	if (rate_hz < FM_AUDIO_MIN_FILE_RATE_HZ || rate_hz > FM_AUDIO_MAX_FILE_RATE_HZ)
		return fm_err_set(err, FM_EFORMAT, "sample rate %lu Hz is not in %u..%u Hz",
		                  (unsigned long)rate_hz, FM_AUDIO_MIN_FILE_RATE_HZ,
		                  FM_AUDIO_MAX_FILE_RATE_HZ);
	if (channels < 1 || channels > FM_AUDIO_MAX_CHANNELS)
		return fm_err_set(err, FM_EFORMAT, "%lu channels is not in 1..%u",
		                  (unsigned long)channels, FM_AUDIO_MAX_CHANNELS);
	if (rate_hz != a->o.analysis_rate_hz) {
		soxr_error_t e = NULL;
		soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
		soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
		soxr_runtime_spec_t rt = soxr_runtime_spec(1);

		a->soxr = soxr_create(rate_hz, a->rate_hz, 1, &e, &io, &q, &rt);
		if (a->soxr == NULL || e != NULL)
			return fm_err_set(err, e != NULL ? FM_EINVAL : FM_ENOMEM,
			                  "resampler from %lu Hz: %s", (unsigned long)rate_hz,
			                  e != NULL ? e : "out of memory");
	}
	a->in_rate_hz = rate_hz;
	a->channels = channels;
	a->max_in = (uint64_t)floor(a->o.max_duration_sec * rate_hz);
	/* librosa's centring: n_fft / 2 zeros before the first sample. */
	memset(a->buf, 0, a->n_fft / 2 * sizeof *a->buf);
	a->buf_len = a->n_fft / 2;
	a->open = true;
	return 0;
}

int
fm_audio_push(struct fm_audio_analyzer *a, const float *samples, size_t n_frames,
              struct fm_err *err)
{
	size_t ch;

	if (!a->open)
		return fm_err_set(err, FM_EINVAL, "no audio stream has begun");
	ch = a->channels;
	while (n_frames > 0) {
		size_t k = n_frames < MONO_BLOCK ? n_frames : MONO_BLOCK;
		double sum_sq = 0;

		if (k > a->max_in - a->n_in) {
			a->open = false;
			return fm_err_set(err, FM_ELIMIT,
			                  "audio is longer than %g s (see --max-duration)",
			                  a->o.max_duration_sec);
		}
		for (size_t i = 0; i < k; i++) {
			const float *s = samples + i * ch;
			float m = s[0];

			/* Halves first and a double sum: no overflow for any finite samples. */
			if (ch == 2) {
				m = s[0] * 0.5f + s[1] * 0.5f;
			} else if (ch > 2) {
				double sum = 0;

				for (size_t c = 0; c < ch; c++)
					sum += s[c];
				m = (float)(sum / (double)ch);
			}
			/* One comparison catches NaN, infinities and absurd magnitudes alike. */
			if (!(fabsf(m) <= SAMPLE_CLIP)) {
				if (isnan(m) || isinf(m)) {
					a->open = false;
					return fm_err_set(err, FM_EFORMAT,
					                  "sample at %.3f s is not a finite number",
					                  (double)(a->n_in + i) / a->in_rate_hz);
				}
				m = m > 0 ? SAMPLE_CLIP : -SAMPLE_CLIP;
			}
			a->mono[i] = m;
			sum_sq += (double)m * m;
		}
		a->sum_sq += sum_sq;
		a->n_in += k;
		if (a->soxr != NULL) {
			if (resample(a, a->mono, k, err) == -1) {
				a->open = false;
				return -1;
			}
		} else {
			feed(a, a->mono, k);
		}
		if (a->failed) {
			a->open = false;
			*err = a->fail;
			return -1;
		}
		samples += k * ch;
		n_frames -= k;
	}
	return 0;
}

/*
 * The MFCC statistics and two onset envelopes, from the stored bands with the final floor:
 * env is librosa's onset strength (the rise of the dB bands), which gives the onset rate;
 * accent is the same flux of ln(1 + ACCENT_GAIN * power / loudest power), which tempo and
 * beats use. In dB a hi-hat 30 dB under the kick rises as far as the kick, so the tempo
 * would follow the eighth notes; the compressed power lets loud events count for more, as
 * the band-energy compression of Klapuri et al. (2006) does.
 */
static int
cepstra(struct fm_audio_analyzer *a, struct fm_audio_features *f, float *env, float *accent,
        struct fm_err *err)
{
	size_t n = (size_t)a->frame_t, nm = a->n_mels;
	double floor_db = a->logmel_max - TOP_DB;
	float *rows = malloc(4 * nm * sizeof *rows), *cur = rows, *prev = rows + nm;
	float *acur = rows + 2 * nm, *aprev = rows + 3 * nm;
	struct welford w[FM_AUDIO_N_MFCC] = {{0, 0, 0}};

	if (rows == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the cepstra");
	if (a->o.keep_frames &&
	    (f->mfcc_frames = malloc(n * FM_AUDIO_N_MFCC * sizeof *f->mfcc_frames)) == NULL) {
		free(rows);
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu frames of MFCCs", n);
	}
	for (size_t t = 0; t < n && t < 3; t++)
		env[t] = accent[t] = 0;
	for (size_t t = 0; t < n; t++) {
		const uint16_t *q = a->logmel + t * nm;
		float *tmp;

		for (size_t j = 0; j < nm; j++) {
			double db = (double)q[j] / DB_SCALE - DB_OFFSET;

			cur[j] = (float)(db > floor_db ? db : floor_db);
			acur[j] = (float)log1p(ACCENT_GAIN * pow(10.0, (db - a->logmel_max) / 10));
		}
		for (int k = 0; k < FM_AUDIO_N_MFCC; k++) {
			const float *d = a->dct + (size_t)k * nm;
			double c = 0;

			for (size_t j = 0; j < nm; j++)
				c += (double)d[j] * cur[j];
			welford_add(&w[k], c);
			if (f->mfcc_frames != NULL)
				f->mfcc_frames[t * FM_AUDIO_N_MFCC + (size_t)k] = (float)c;
		}
		/*
		 * librosa.onset.onset_strength: the mean over bands of the rise since the last
		 * frame, shifted right by lag + n_fft / (2 hop) = 3 frames.
		 */
		if (t >= 1 && t + 2 < n) {
			double flux = 0, aflux = 0;

			for (size_t j = 0; j < nm; j++) {
				flux += cur[j] > prev[j] ? cur[j] - prev[j] : 0;
				aflux += acur[j] > aprev[j] ? acur[j] - aprev[j] : 0;
			}
			env[t + 2] = (float)(flux / (double)nm);
			accent[t + 2] = (float)(aflux / (double)nm);
		}
		tmp = prev;
		prev = cur;
		cur = tmp;
		tmp = aprev;
		aprev = acur;
		acur = tmp;
	}
	for (int k = 0; k < FM_AUDIO_N_MFCC; k++) {
		struct fm_audio_stat s = welford_stat(&w[k]);

		f->mfcc_mean[k] = s.mean;
		f->mfcc_std[k] = s.std;
	}
	free(rows);
	return 0;
}

/* Whether every number of f is finite, so that no record ever carries NaN. */
static bool
all_finite(const struct fm_audio_features *f)
{
	const struct fm_audio_stat *st[] = {&f->rms,        &f->centroid_hz, &f->bandwidth_hz,
	                                    &f->rolloff_hz, &f->flatness,    &f->zcr};
	bool ok = isfinite(f->duration_sec) && isfinite(f->tempo_bpm) &&
	          isfinite(f->tempo_confidence) && isfinite(f->key_strength) &&
	          isfinite(f->loudness_db) && isfinite(f->onset_rate_hz);

	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
		ok = ok && isfinite(st[i]->mean) && isfinite(st[i]->std);
	for (int k = 0; k < FM_AUDIO_N_MFCC; k++)
		ok = ok && isfinite(f->mfcc_mean[k]) && isfinite(f->mfcc_std[k]);
	for (int k = 0; k < FM_AUDIO_N_CHROMA; k++)
		ok = ok && isfinite(f->chroma_mean[k]);
	return ok;
}

int
fm_audio_finish(struct fm_audio_analyzer *a, struct fm_audio_features *f, struct fm_err *err)
{
	double frame_rate = a->rate_hz / (double)a->hop;
	uint64_t target;
	size_t n;
	float *env = NULL, *accent = NULL;
	int rc = -1;

	memset(f, 0, sizeof *f);
	f->key = -1;
	if (!a->open)
		return fm_err_set(err, FM_EINVAL, "no audio stream has begun");
	a->open = false;
	if (a->n_in == 0)
		return fm_err_set(err, FM_EFORMAT, "no audio samples");
	/* librosa.resample's length: ceil(n * target / source), then padded or cut to it. */
	target = (a->n_in * a->o.analysis_rate_hz + a->in_rate_hz - 1) / a->in_rate_hz;
	a->out_limit = target;
	if (a->soxr != NULL && resample(a, NULL, 0, err) == -1)
		return -1;
	if (a->n_out < target)
		feed(a, NULL, (size_t)(target - a->n_out));
	/*
	 * n_fft / 2 zeros after the last sample complete the last frame, 1 + target / hop. They
	 * bypass feed, whose limit is the signal's length; frame's zero crossings stop there.
	 */
	{
		size_t pad = a->n_fft / 2, pos = 0;

		memset(a->buf + a->buf_len, 0, pad * sizeof *a->buf);
		a->buf_len += pad;
		while (a->buf_len - pos >= a->n_fft) {
			frame(a, a->buf + pos);
			pos += a->hop;
		}
		a->buf_len = 0;
	}
	if (a->failed) {
		*err = a->fail;
		return -1;
	}
	n = (size_t)a->frame_t;

	f->sample_rate_hz = a->in_rate_hz;
	f->channels = a->channels;
	f->analysis_rate_hz = a->o.analysis_rate_hz;
	f->n_samples = a->n_in;
	f->n_frames = n;
	f->duration_sec = (double)a->n_in / a->in_rate_hz;
	f->loudness_db = 10.0 * log10(fmax(AMIN, a->sum_sq / (double)a->n_in));
	f->rms = welford_stat(&a->rms);
	f->centroid_hz = welford_stat(&a->centroid);
	f->bandwidth_hz = welford_stat(&a->bandwidth);
	f->rolloff_hz = welford_stat(&a->rolloff);
	f->flatness = welford_stat(&a->flatness);
	f->zcr = welford_stat(&a->zcr);
	for (int i = 0; i < FM_AUDIO_N_CHROMA; i++)
		f->chroma_mean[i] = a->chroma_sum[i] / (double)n;
	/*
	 * Every envelope and chroma here is relative to the file's own loudest frame, so a track
	 * at -78 dBFS shows its hiss as a key, a tempo and onsets as loud as music's: below the
	 * floor there is nothing to hear and none of them is estimated.
	 */
	f->silent = f->loudness_db < FM_AUDIO_SILENCE_DB;
	if (!f->silent)
		audio_key_estimate(f->chroma_mean, &f->key, &f->mode, &f->key_strength);

	env = malloc(n * sizeof *env);
	accent = malloc(n * sizeof *accent);
	if (env == NULL || accent == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for %zu onset strengths", n);
		goto fail;
	}
	if (cepstra(a, f, env, accent, err) == -1)
		goto fail;
	if (!f->silent &&
	    audio_tempo(accent, n, frame_rate, &f->tempo_bpm, &f->tempo_confidence, err) == -1)
		goto fail;
	f->has_tempo = f->tempo_bpm > 0;
	if (!f->silent)
		f->onset_rate_hz = (double)audio_onset_count(env, n, frame_rate) / f->duration_sec;
	if (a->o.beats && f->has_tempo) {
		uint32_t *frames = NULL;
		size_t nb = 0;

		if (audio_beats(accent, n, frame_rate, f->tempo_bpm, &frames, &nb, err) == -1)
			goto fail;
		if (nb > 0 && (f->beats_sec = malloc(nb * sizeof *f->beats_sec)) == NULL) {
			free(frames);
			fm_err_set(err, FM_ENOMEM, "out of memory for %zu beats", nb);
			goto fail;
		}
		for (size_t i = 0; i < nb; i++)
			f->beats_sec[i] = (double)frames[i] * (double)a->hop / a->rate_hz;
		f->n_beats = nb;
		free(frames);
	}
	if (!all_finite(f)) {
		fm_err_set(err, FM_EFORMAT, "the analysis gave a number that is not finite");
		goto fail;
	}
	if (a->o.keep_frames) {
		f->onset_env = env;
		env = NULL;
	}
	rc = 0;
fail:
	free(env);
	free(accent);
	if (rc == -1)
		fm_audio_features_free(f);
	stream_reset(a);
	return rc;
}

void
fm_audio_features_free(struct fm_audio_features *f)
{
	if (f == NULL)
		return;
	free(f->beats_sec);
	free(f->mfcc_frames);
	free(f->onset_env);
	f->beats_sec = NULL;
	f->mfcc_frames = NULL;
	f->onset_env = NULL;
	f->n_beats = 0;
}

int
fm_audio_analyze_samples(struct fm_audio_analyzer *a, const float *samples, size_t n_frames,
                         uint32_t channels, uint32_t rate_hz, struct fm_audio_features *f,
                         struct fm_err *err)
{
	memset(f, 0, sizeof *f);
	f->key = -1;
	if (fm_audio_begin(a, rate_hz, channels, err) == -1 ||
	    fm_audio_push(a, samples, n_frames, err) == -1)
		return -1;
	return fm_audio_finish(a, f, err);
}
