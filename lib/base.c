/*
 * lib/base.c: error records, emotion names, and the xoshiro256** generator
 * (Blackman and Vigna, "Scrambled linear pseudorandom number generators", 2018).
 */
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The system's reason, in the house style: "No such file or directory" loses its capital. */
int
fm_err_errno(struct fm_err *err, int e)
{
	char msg[128];

	if (strerror_r(e, msg, sizeof msg) != 0)
		snprintf(msg, sizeof msg, "error %d", e);
	if (isupper((unsigned char)msg[0]) && !isupper((unsigned char)msg[1]))
		msg[0] = (char)tolower((unsigned char)msg[0]);
	return fm_err_set(err, FM_EIO, "%s", msg);
}

int
fm_err_errno_at(struct fm_err *err, int errnum, const char *fmt, ...)
{
	struct fm_err sys;
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	fm_err_errno(&sys, errnum);
	return fm_err_set(err, FM_EIO, "%s: %s", what, sys.msg);
}

static int
read_fd(int fd, size_t limit, unsigned char **bytes, size_t *n_bytes, struct fm_err *err)
{
	struct stat st;
	size_t cap, len = 0;
	unsigned char *b;

	if (fstat(fd, &st) == -1)
		return fm_err_errno(err, errno);
	if (S_ISDIR(st.st_mode))
		return fm_err_set(err, FM_EIO, "is a directory");
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return fm_err_set(err, FM_EFORMAT, "empty file");
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > limit)
		return fm_err_set(err, FM_ELIMIT, "file is %jd bytes, limit %zu",
		                  (intmax_t)st.st_size, limit);
	/* One byte more than the size, so that reading up to EOF needs no second allocation. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : (size_t)1 << 16;
	if (cap > limit + 1)
		cap = limit + 1;
	if ((b = malloc(cap)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a %zu-byte file", cap - 1);
	for (;;) {
		ssize_t got;

		if (len == cap) {
			unsigned char *nb;

			if (cap > limit) {
				free(b);
				return fm_err_set(err, FM_ELIMIT, "file is over %zu bytes", limit);
			}
			cap = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
			if ((nb = realloc(b, cap)) == NULL) {
				free(b);
				return fm_err_set(err, FM_ENOMEM, "out of memory reading a file");
			}
			b = nb;
		}
		got = read(fd, b + len, cap - len);
		if (got == 0)
			break;
		if (got == -1) {
			int e = errno;

			if (e == EINTR)
				continue;
			free(b);
			return fm_err_errno(err, e);
		}
		len += (size_t)got;
	}
	if (len == 0) {
		free(b);
		return fm_err_set(err, FM_EFORMAT, "empty file");
	}
	*bytes = b;
	*n_bytes = len;
	return 0;
}

int
fm_read_file(const char *path, size_t max_bytes, unsigned char **bytes, size_t *n_bytes,
             struct fm_err *err)
{
	int fd, rc;

	*bytes = NULL;
	*n_bytes = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return fm_err_errno(err, errno);
	rc = read_fd(fd, max_bytes, bytes, n_bytes, err);
	close(fd);
	return rc;
}

int
fm_write_file(const char *path, const void *bytes, size_t n_bytes, struct fm_err *err)
{
	size_t n_path = strlen(path);
	const unsigned char *p = bytes;
	char *tmp = malloc(n_path + 32);
	int fd, saved = 0;

	if (tmp == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	snprintf(tmp, n_path + 32, "%s.%ld.tmp", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) == -1) {
		saved = errno;
		free(tmp);
		return fm_err_errno_at(err, saved, "cannot write %.180s", path);
	}
	while (n_bytes > 0 && saved == 0) {
		ssize_t w = write(fd, p, n_bytes);

		if (w < 0 && errno != EINTR)
			saved = errno;
		else if (w > 0)
			p += w, n_bytes -= (size_t)w;
	}
	if (saved == 0 && fsync(fd) == -1)
		saved = errno;
	if (close(fd) == -1 && saved == 0)
		saved = errno;
	if (saved == 0 && rename(tmp, path) == -1)
		saved = errno;
	if (saved != 0)
		unlink(tmp);
	free(tmp);
	return saved != 0 ? fm_err_errno_at(err, saved, "cannot write %.180s", path) : 0;
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
