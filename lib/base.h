/*
 * lib/base.h: what every module shares: the error record, default limits, the version,
 * reading and writing a whole file, byte order, and a seedable random number generator.
 *
 * A fallible library function returns 0 or -1 and, on -1, fills the caller's struct fm_err
 * with a code and one line of text (lower case, no program name, no newline, no full stop).
 * The library never prints and never exits; the tools in cmd/ decide what to do.
 *
 * Names say where a thing is declared. A module's public names, in lib/<module>.h, are
 * fm_<module>_<verb>, struct fm_<noun> and FM_<UPPER> (base's own drop the module:
 * fm_err_set, fm_get_le32). What the files of one module share and nothing else may use is
 * declared in lib/<module>_int.h, which cmd/ never includes, and named after the module
 * without fm_: <module>_<verb>, struct <module>_<noun>, <MODULE>_<UPPER> (image_check_size,
 * struct audio_fft, cascade_xml_parse, RANK_SEED_PATH). So fm_ marks the contract, and a
 * search for the module's name finds everything of it. What one file keeps to itself is
 * static and takes no prefix.
 *
 * HACKING.md has the rest of the rules every module follows: the module map, the lifecycle
 * verbs (_new/_free, _load/_save, _decode) and who owns what.
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
/* 100 megapixels: about 400 MB a job (its RGB and gray pixels), 600 MB for a PPM file. */
#define FM_DEFAULT_MAX_PIXELS 100000000u
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

/*
 * Integers in a file format's byte order, whatever the host's, at any alignment: little-endian
 * (model files, the recommend index, EXIF's "II") and big-endian (PNG, JPEG, PNM's 16-bit
 * samples, EXIF's "MM"). Written as shifts, which compilers turn into one load or store.
 */
static inline uint16_t
fm_get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
fm_get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
fm_get_le64(const unsigned char *p)
{
	return (uint64_t)fm_get_le32(p) | (uint64_t)fm_get_le32(p + 4) << 32;
}

static inline uint16_t
fm_get_be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
fm_get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void
fm_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void
fm_put_le64(unsigned char *p, uint64_t v)
{
	fm_put_le32(p, (uint32_t)v);
	fm_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Whether this host stores integers little-endian: files mapped as arrays need it. */
static inline bool
fm_host_little_endian(void)
{
	const union {
		uint16_t word;
		unsigned char bytes[2];
	} one = {1};

	return one.bytes[0] == 1;
}

/* FM_EIO with errnum's reason in the house style ("no such file or directory"); returns -1. */
int fm_err_errno(struct fm_err *err, int errnum);
/* The same after a context made as printf does: "cannot map the index: no space left". */
int fm_err_errno_at(struct fm_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * open(2) path for reading, without waiting and without reading what never ends: a FIFO is
 * opened at once whether or not anything writes to it (with no writer it reads as empty),
 * and a device (/dev/zero, /dev/urandom, a terminal), a socket or a directory is refused
 * with FM_EIO ("is a character device, not a regular file", "is a directory"). The
 * descriptor (O_CLOEXEC) blocks again for reading, as any other; the caller closes it. -1
 * with FM_EIO and the system's reason ("no such file or directory") when open fails.
 */
int fm_open_read(const char *path, struct fm_err *err);

/*
 * The whole of a file in *bytes (malloc'd, freed by the caller; n_bytes > 0), read to its
 * end, so that a pipe, or a file that grows or shrinks meanwhile, is judged by what was
 * read. Opened as fm_open_read opens it, and failing as it does; FM_EIO with the system's
 * reason in lower case ("no such file or directory"), FM_EFORMAT "empty file", FM_ELIMIT over
 * max_bytes, FM_ENOMEM. The message does not name the path: the caller does, as it sees fit.
 */
int fm_read_file(const char *path, size_t max_bytes, unsigned char **bytes, size_t *n_bytes,
                 struct fm_err *err);

/*
 * Write n_bytes of bytes to path whole or not at all: into a new file beside it
 * (path.PID.tmp, made with O_EXCL, mode 0666 less the umask), synced, then renamed over
 * path, so that a reader, or a run that is killed, never leaves half a file there. A
 * symbolic link at path is followed and the file it names made or replaced, the link kept;
 * a FIFO or a character device (/dev/stdout) is written directly, a FIFO without a reader
 * failing at once; a folder, a block device or a socket is refused. FM_EIO with the
 * system's reason after "cannot write" and nothing left behind.
 */
int fm_write_file(const char *path, const void *bytes, size_t n_bytes, struct fm_err *err);

/*
 * The same written piece by piece, for a file too large to build in memory first: _new
 * creates the new file beside path (or opens a FIFO or device to write it directly, as
 * above), _write appends, _commit syncs it and renames it over path, and _free closes and
 * removes it unless it was committed (_free(NULL) is a no-op;
 * call it after _commit too). Each fails with FM_EIO and the system's reason alone ("no
 * space left on device"; the caller names the file), _new also with FM_ENOMEM; after a
 * failed _write, _commit fails with the same reason and leaves nothing behind.
 */
struct fm_file_writer;
int fm_file_writer_new(const char *path, struct fm_file_writer **out, struct fm_err *err);
int fm_file_writer_write(struct fm_file_writer *w, const void *bytes, size_t n_bytes,
                         struct fm_err *err);
int fm_file_writer_commit(struct fm_file_writer *w, struct fm_err *err);
void fm_file_writer_free(struct fm_file_writer *w);
/*
 * The descriptor the writer writes to, for code that writes a descriptor of its own (a
 * record loop writing standard output, dup2'd onto it): valid until _commit or _free. And
 * the new file's path beside the target (NULL when the target is written directly), for a
 * signal handler to remove if the process is killed before _commit: valid until _free.
 */
int fm_file_writer_fd(const struct fm_file_writer *w);
const char *fm_file_writer_tmp(const struct fm_file_writer *w);

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
