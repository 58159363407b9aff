/*
 * lib/base.c: error records, emotion names, and the xoshiro256** generator
 * (Blackman and Vigna, "Scrambled linear pseudorandom number generators", 2018).
 */
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

int
fm_open_read(const char *path, struct fm_err *err)
{
	struct stat st;
	const char *kind;
	int fd, flags;

	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever if
	 * none comes. It is cleared at once, so that a FIFO that has a writer is read as it
	 * writes rather than failing with EAGAIN. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return fm_err_errno(err, errno);
	if (fstat(fd, &st) == -1 || (flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
		int e = errno;

		close(fd);
		return fm_err_errno(err, e);
	}
	if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))
		return fd;
	close(fd);
	if (S_ISDIR(st.st_mode))
		return fm_err_set(err, FM_EIO, "is a directory");
	kind = S_ISCHR(st.st_mode)    ? "a character device"
	       : S_ISBLK(st.st_mode)  ? "a block device"
	       : S_ISSOCK(st.st_mode) ? "a socket"
	                              : "a special file";
	/* A device can be endless (/dev/zero) or wait forever (a terminal): no tool reads one. */
	return fm_err_set(err, FM_EIO, "is %s, not a regular file", kind);
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
		return fm_err_set(err, FM_EFORMAT, "%s",
		                  S_ISFIFO(st.st_mode) ? "empty: a FIFO or pipe with no writer, or "
		                                         "one that wrote nothing"
		                                       : "empty file");
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
	if ((fd = fm_open_read(path, err)) == -1)
		return -1;
	rc = read_fd(fd, max_bytes, bytes, n_bytes, err);
	close(fd);
	return rc;
}

struct fm_file_writer {
	char *path, *tmp; /* tmp is NULL when path is written directly */
	int fd;
	int failed; /* errno of a failed write: the file is abandoned */
};

/* What the link at `at` names, as a path from here (a relative target is taken from the
 * link's folder); NULL with errno set. */
static char *
link_target(const char *at)
{
	char buf[PATH_MAX], *out;
	ssize_t n = readlink(at, buf, sizeof buf);
	const char *slash = strrchr(at, '/');
	size_t n_dir;

	if (n < 0)
		return NULL;
	if ((size_t)n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	n_dir = (n > 0 && buf[0] == '/') || slash == NULL ? 0 : (size_t)(slash - at) + 1;
	if ((out = malloc(n_dir + (size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, at, n_dir);
	memcpy(out + n_dir, buf, (size_t)n);
	out[n_dir + (size_t)n] = '\0';
	return out;
}

/*
 * Where the bytes go. A symbolic link is followed, so that the rename replaces the file it
 * names rather than the link (as root, --learn /dev/stdout would otherwise replace the link
 * /dev/stdout), also a link to a file not made yet; a FIFO or a character device is written
 * directly, since nothing can take its place (a FIFO without a reader is an error, not a
 * wait); a block device, a folder or a socket is refused. *real is the path to create or
 * replace when it differs from path, else NULL; *direct says to write into path.
 */
static int
writer_target(const char *path, char **real, int *direct, struct fm_err *err)
{
	struct stat st;
	char *cur = NULL;

	*real = NULL;
	*direct = 0;
	if (stat(path, &st) == 0) {
		/* The kernel follows /proc's links (/dev/stdout to a pipe) where readlink
		 * cannot, so what is there is asked of stat before any link is read. */
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
			*direct = 1;
			return 0;
		}
		if (S_ISDIR(st.st_mode))
			return fm_err_errno(err, EISDIR);
		if (!S_ISREG(st.st_mode))
			return fm_err_set(err, FM_EIO,
			                  "not a regular file, FIFO or character device");
	} else if (errno != ENOENT) {
		return fm_err_errno(err, errno);
	}
	/* A file, or nothing yet: made or replaced where the last link points. */
	for (int hops = 0; lstat(cur != NULL ? cur : path, &st) == 0 && S_ISLNK(st.st_mode);
	     hops++) {
		char *next = hops < 40 ? link_target(cur != NULL ? cur : path) : NULL;

		if (next == NULL) {
			int saved = hops < 40 ? errno : ELOOP;

			free(cur);
			return fm_err_errno(err, saved);
		}
		free(cur);
		cur = next;
	}
	*real = cur;
	return 0;
}

int
fm_file_writer_new(const char *path, struct fm_file_writer **out, struct fm_err *err)
{
	struct fm_file_writer *w;
	char *real;
	int direct, saved;
	size_t n_path;

	*out = NULL;
	if (writer_target(path, &real, &direct, err) == -1)
		return -1;
	if (real != NULL)
		path = real;
	n_path = strlen(path);
	if ((w = calloc(1, sizeof *w)) == NULL || (w->path = strdup(path)) == NULL ||
	    (!direct && (w->tmp = malloc(n_path + 32)) == NULL)) {
		if (w != NULL)
			free(w->path);
		free(w);
		free(real);
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	}
	free(real); /* w->path is its copy: path is not used past here */
	if (direct) {
		/* O_NONBLOCK: a FIFO without a reader fails with ENXIO at once; then the writes
		 * block as they would on any pipe. */
		w->fd = open(w->path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (w->fd == -1) {
			saved = errno;
			free(w->path);
			free(w);
			return saved == ENXIO ? fm_err_set(err, FM_EIO, "a FIFO with no reader")
			                      : fm_err_errno(err, saved);
		}
		fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) & ~O_NONBLOCK);
		*out = w;
		return 0;
	}
	/* Beside the target, so that rename(2) replaces it in one step; created as open(2)
	 * creates any file, under the umask (mkstemp's would be private to the user). */
	snprintf(w->tmp, n_path + 32, "%s.%ld.tmp", w->path, (long)getpid());
	if ((w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) == -1) {
		saved = errno;
		free(w->tmp);
		free(w->path);
		free(w);
		return fm_err_errno(err, saved);
	}
	*out = w;
	return 0;
}

int
fm_file_writer_write(struct fm_file_writer *w, const void *bytes, size_t n_bytes,
                     struct fm_err *err)
{
	const unsigned char *p = bytes;

	while (n_bytes > 0 && w->failed == 0) {
		ssize_t got = write(w->fd, p, n_bytes);

		if (got < 0 && errno != EINTR)
			w->failed = errno;
		else if (got > 0)
			p += got, n_bytes -= (size_t)got;
	}
	return w->failed != 0 ? fm_err_errno(err, w->failed) : 0;
}

int
fm_file_writer_commit(struct fm_file_writer *w, struct fm_err *err)
{
	int saved = w->failed;

	if (w->fd == -1)
		return fm_err_set(err, FM_EINVAL, "the file was committed already");
	/* Synced before the rename: otherwise a crash can leave the new name on empty blocks. */
	if (saved == 0 && w->tmp != NULL && fsync(w->fd) == -1)
		saved = errno;
	if (close(w->fd) == -1 && saved == 0)
		saved = errno;
	w->fd = -1;
	if (saved == 0 && w->tmp != NULL && rename(w->tmp, w->path) == -1)
		saved = errno;
	if (saved != 0) {
		if (w->tmp != NULL)
			unlink(w->tmp);
		w->failed = saved;
		return fm_err_errno(err, saved);
	}
	return 0;
}

int
fm_file_writer_fd(const struct fm_file_writer *w)
{
	return w->fd;
}

const char *
fm_file_writer_tmp(const struct fm_file_writer *w)
{
	return w->tmp;
}

void
fm_file_writer_free(struct fm_file_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd != -1) { /* never committed: nothing is left behind */
		close(w->fd);
		if (w->tmp != NULL)
			unlink(w->tmp);
	}
	free(w->tmp);
	free(w->path);
	free(w);
}

int
fm_write_file(const char *path, const void *bytes, size_t n_bytes, struct fm_err *err)
{
	struct fm_file_writer *w;
	struct fm_err why;
	int rc;

	if (fm_file_writer_new(path, &w, &why) == 0 &&
	    fm_file_writer_write(w, bytes, n_bytes, &why) == 0 &&
	    fm_file_writer_commit(w, &why) == 0)
		rc = 0;
	else if (why.code == FM_ENOMEM)
		rc = fm_err_set(err, FM_ENOMEM, "%s", why.msg);
	else
		rc = fm_err_set(err, FM_EIO, "cannot write %.180s: %s", path, why.msg);
	fm_file_writer_free(w);
	return rc;
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
