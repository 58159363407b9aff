/*
 * lib/base.c: error records, emotion names, and the xoshiro256** generator
 * (Blackman and Vigna, "Scrambled linear pseudorandom number generators", 2018).
 */
#include "base.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
fm_err_set(struct fm_err *err, enum fm_errcode code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;

		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *const emotion_names[FM_N_EMOTIONS] = {
	"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
};

const char *
fm_emotion_name(enum fm_emotion e)
{
	if ((unsigned)e >= FM_N_EMOTIONS)
		return NULL;
	return emotion_names[e];
}

int
fm_emotion_parse(const char *name, enum fm_emotion *out, struct fm_err *err)
{
	for (int i = 0; i < FM_N_EMOTIONS; i++) {
		if (strcmp(name, emotion_names[i]) == 0) {
			*out = (enum fm_emotion)i;
			return 0;
		}
	}
	return fm_err_set(err, FM_EINVAL,
			  "unknown emotion '%.40s' (one of angry, disgust, fear, happy, sad, "
			  "surprise, neutral)",
			  name);
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

void
fm_rng_seed(struct fm_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
fm_rng_next(struct fm_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
fm_rng_uniform(struct fm_rng *r)
{
	/* The top 53 bits fill a double's mantissa exactly. */
	return (double)(fm_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t
fm_rng_below(struct fm_rng *r, uint64_t n)
{
	/* Rejection keeps the result unbiased for any n. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do
		x = fm_rng_next(r);
	while (x >= limit);
	return x % n;
}

double
fm_rng_normal(struct fm_rng *r)
{
	double u1 = 1.0 - fm_rng_uniform(r); /* (0, 1]: log stays finite */
	double u2 = fm_rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
