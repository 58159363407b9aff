/*
 * lib/base.h: what every module shares: the error record, default limits, the version,
 * reading a whole file, and a seedable random number generator.
 *
 * A fallible library function returns 0 or -1 and, on -1, fills the caller's struct fm_err
 * with a code and one line of text (lower case, no program name, no newline, no full stop).
 * The library never prints and never exits; the tools in cmd/ decide what to do.
 */
#ifndef FM_BASE_H
#define FM_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef FM_VERSION
#define FM_VERSION "0.1.0"
#endif

enum fm_errcode {
	FM_OK = 0,
	FM_EIO,     /* the file could not be opened or read */
	FM_EFORMAT, /* the bytes are not what they claim to be, or are damaged */
	FM_ELIMIT,  /* a size is above a configured limit */
	FM_ENOMEM,  /* an allocation failed */
	FM_EINVAL,  /* an argument is out of its documented range */
};

struct fm_err {
	enum fm_errcode code;
	char msg[256];
};

/* Fill err (which may be NULL) and return -1, so that callers can `return fm_err_set(...)`. */
int fm_err_set(struct fm_err *err, enum fm_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Default limits; every tool has an option to raise them. */
#define FM_DEFAULT_MAX_PIXELS 100000000u     /* 100 megapixels: 300 MB of RGB */
#define FM_DEFAULT_MAX_FILE_BYTES (1u << 30) /* 1 GiB read into memory at most */

/*
 * Whether a checksum stored in a file matches the one computed over its bytes. A fuzzing
 * build (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, libFuzzer's convention, set by make fuzz)
 * takes every checksum as good, so that random bytes get past the sum to the checks behind
 * it, which are what the fuzzer is there to try.
 */
static inline bool
fm_checksum_ok(uint64_t stored, uint64_t computed)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)stored, (void)computed;
	return true;
#else
	return stored == computed;
#endif
}

/* FM_EIO with errnum's reason in the house style ("no such file or directory"); returns -1. */
int fm_err_errno(struct fm_err *err, int errnum);
/* The same after a context made as printf does: "cannot map the index: no space left". */
int fm_err_errno_at(struct fm_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The whole of a file in *bytes (malloc'd, freed by the caller; n_bytes > 0), read to its
 * end, so that a pipe, or a file that grows or shrinks meanwhile, is judged by what was
 * read. FM_EIO with the system's reason in lower case ("no such file or directory", "is a
 * directory"), FM_EFORMAT "empty file", FM_ELIMIT over max_bytes, FM_ENOMEM. The message
 * does not name the path: the caller does, as it sees fit.
 */
int fm_read_file(const char *path, size_t max_bytes, unsigned char **bytes, size_t *n_bytes,
                 struct fm_err *err);

/*
 * Write n_bytes of bytes to path whole or not at all: into a new file beside it
 * (path.PID.tmp, made with O_EXCL, mode 0666 less the umask), synced, then renamed over
 * path, so that a reader, or a run that is killed, never leaves half a file there. FM_EIO
 * with the system's reason after "cannot write" and nothing left behind.
 */
int fm_write_file(const char *path, const void *bytes, size_t n_bytes, struct fm_err *err);

/*
 * xoshiro256** seeded through splitmix64: fast, small state, and the same sequence on every
 * machine for the same seed, which is what makes a training run reproducible.
 */
struct fm_rng {
	uint64_t s[4];
};
void fm_rng_seed(struct fm_rng *r, uint64_t seed);
uint64_t fm_rng_next(struct fm_rng *r);
/* Uniform in [0, 1). */
double fm_rng_uniform(struct fm_rng *r);
/* Uniform integer in [0, n); n > 0. */
uint64_t fm_rng_below(struct fm_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double fm_rng_normal(struct fm_rng *r);

#endif
