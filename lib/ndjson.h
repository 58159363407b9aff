/*
 * lib/ndjson.h: newline-delimited JSON for the record loop of every tool: a reader of lines
 * of any length up to a limit, the parse of an input line into a record, error records,
 * and the serialisation of a record as one compact line. A record is a cJSON object.
 *
 * JSON itself is cJSON's (RFC 8259), with its departures: duplicate keys are kept (lookups
 * find the first), numbers are doubles, so integers beyond 2^53 lose precision when a
 * record passes through, and control characters written raw inside a string are taken
 * (and printed escaped). This module adds what cJSON lacks for a Unix filter: lines must be
 * valid UTF-8 without NUL bytes, numbers must be finite (cJSON reads 1e999 as infinity and
 * would print it as null), and a line is one object, nothing before or after it.
 *
 * Thread safety: a reader belongs to one thread. fm_ndjson_parse must not run in two
 * threads at once, because cJSON's parser writes a global error position; everything
 * else here may run in any thread on records that thread owns.
 */
#ifndef FM_NDJSON_H
#define FM_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "base.h"

/*
 * A record line longer than this (8 MiB, without its newline) is refused. It is 8 MiB rather
 * than 1 so that a record of fer-detect's with its most faces and their crops (under 5 MB
 * at the defaults) is read by the next tool, fer-classify's output of it too (cmd/detect.h).
 */
#define FM_NDJSON_DEFAULT_MAX_LINE ((size_t)8 << 20)
/* Bytes of a refused line kept in its error record's "input" field. */
#define FM_NDJSON_INPUT_BYTES 200

struct fm_ndjson_reader; /* opaque: the source, a growing buffer, the line count */

struct fm_ndjson_line {
	/*
	 * The line without its "\n" and without one "\r" before it, followed by a NUL; it may
	 * hold NUL bytes of its own, so use n_bytes. Borrowed from the reader: valid until
	 * the next fm_ndjson_read or fm_ndjson_reader_free. NULL at the end of the input.
	 */
	const char *text;
	size_t n_bytes;
	uint64_t number; /* 1 for the first line of the input */
};

/*
 * A reader of the stream fp or of the file descriptor fd, which stay the caller's (the
 * reader never closes them). max_line_bytes >= 1 bounds the memory a line may take; 0
 * means FM_NDJSON_DEFAULT_MAX_LINE. The fd reader calls read(2) for whatever is there,
 * so lines arriving through a pipe are returned as soon as they end; the FILE reader
 * reads byte by byte through the stream's buffer. FM_ENOMEM.
 */
int fm_ndjson_reader_new(FILE *fp, size_t max_line_bytes, struct fm_ndjson_reader **out,
                         struct fm_err *err);
int fm_ndjson_reader_new_fd(int fd, size_t max_line_bytes, struct fm_ndjson_reader **out,
                            struct fm_err *err);
void fm_ndjson_reader_free(struct fm_ndjson_reader *r);

/*
 * End lines at delim rather than at "\n": '\0' reads the NUL-ended paths of find -print0,
 * whose names may hold newlines. With a delim other than "\n" a "\r" before it is kept.
 * Call before the first fm_ndjson_read.
 */
void fm_ndjson_reader_set_delimiter(struct fm_ndjson_reader *r, char delim);

/*
 * Read the next line into *line: 0 with line->text set, or 0 with line->text NULL at the
 * end of the input (a last line without "\n" still counts; an empty input has no lines).
 * On -1, *line still holds the line's number:
 *   FM_ELIMIT  the line is longer than max_line_bytes; line->text holds its first
 *              FM_NDJSON_INPUT_BYTES bytes at most, and the next call goes on after the
 *              rest of that line, which is skipped without being stored;
 *   FM_EIO     read(2) or the stream failed (line->text is NULL); the input counts as
 *              ended, and later calls return the end of the input;
 *   FM_ENOMEM  the buffer could not grow; the line is lost as with FM_ELIMIT.
 */
int fm_ndjson_read(struct fm_ndjson_reader *r, struct fm_ndjson_line *line, struct fm_err *err);

/* Accept a line that does not start with '{' as a bare path (see fm_ndjson_parse). */
#define FM_NDJSON_BARE_PATH 1u

/*
 * Parse one input line (n_bytes long; text[n_bytes] must be NUL) into a new object that
 * the caller owns and frees with cJSON_Delete. With FM_NDJSON_BARE_PATH, a line whose
 * first byte other than space or tab is not '{' gives {"path": <the whole line>}, spaces
 * included; without it every line must be a JSON object. FM_EFORMAT, with *out NULL, for:
 * an empty or blank line, bytes that are not UTF-8 or a NUL byte, text that is not JSON or
 * has anything but white space after the value, a value that is not an object, a
 * number that does not fit a double, and a string holding \u0000 (a NUL, which a C string
 * would cut short). FM_ENOMEM.
 */
int fm_ndjson_parse(const char *text, size_t n_bytes, unsigned flags, cJSON **out,
                    struct fm_err *err);

/*
 * The record's "path": FM_EFORMAT when it is missing, not a string, or empty. *path is
 * borrowed from rec and valid while that member is neither replaced nor deleted.
 */
int fm_ndjson_get_path(const cJSON *rec, const char **path, struct fm_err *err);

/* Whether rec carries an "error" string, that is, failed somewhere upstream. */
bool fm_ndjson_has_error(const cJSON *rec);

/*
 * Make rec print as text (n_bytes, no newline: one JSON object that fm_ndjson_parse accepted),
 * byte for byte: its members are dropped and it becomes a raw item holding a copy of text,
 * which fm_ndjson_print writes verbatim. For a line passed through unchanged without parsing
 * it again, which a worker thread may not do (song-featurize --update keeps a record so).
 * rec has no members afterwards. FM_ENOMEM (rec unchanged).
 */
int fm_ndjson_set_verbatim(cJSON *rec, const char *text, size_t n_bytes, struct fm_err *err);

/*
 * Set rec's member key to item: the first member of that name is replaced where it stands
 * (later duplicates are deleted), so fields keep their order when a record passes through
 * a tool twice; otherwise item is appended. Always takes item, also on failure, and item
 * NULL is FM_ENOMEM, so a cJSON_Create* call can be passed directly. FM_EINVAL when rec is
 * not an object.
 */
int fm_ndjson_set(cJSON *rec, const char *key, cJSON *item, struct fm_err *err);

/*
 * Pass-through into a record made anew (recommend's song records): move src's members to the
 * end of dst in src's order, except those named in skip, and those whose name (after rename)
 * dst already has, which are deleted: of duplicate names the first counts, as everywhere.
 * skip is a NULL-terminated list of names, rename a NULL-terminated list of pairs (old
 * name, new name); either may be NULL. src is left empty. FM_EINVAL when dst or src is not
 * an object; FM_ENOMEM (the members not yet moved stay in src).
 */
int fm_ndjson_adopt(cJSON *dst, cJSON *src, const char *const skip[], const char *const rename[],
                    struct fm_err *err);

/*
 * A new object (the caller's) of copies of rec's members named in keys (NULL-terminated), in
 * the order of keys; names rec lacks are left out, so the object may be empty. FM_ENOMEM.
 */
int fm_ndjson_pick(const cJSON *rec, const char *const keys[], cJSON **out, struct fm_err *err);

/*
 * Set rec's member key to a string made of the first max_bytes bytes of s (n_bytes long),
 * made valid UTF-8: every ill-formed sequence and every NUL byte becomes U+FFFD, and a
 * character cut by max_bytes is dropped. SIZE_MAX keeps everything. FM_ENOMEM, FM_EINVAL.
 */
int fm_ndjson_set_text(cJSON *rec, const char *key, const char *s, size_t n_bytes, size_t max_bytes,
                       struct fm_err *err);

/*
 * Binary data as a base64 string (RFC 4648, standard alphabet, padded): set rec's member
 * key to n_bytes of bytes; or decode rec's string member key into out, which holds cap
 * bytes, with *n_bytes the length. Decoding refuses a missing or non-string member, a
 * character outside the alphabet, bad padding (FM_EFORMAT) and more than cap bytes
 * (FM_ELIMIT). FM_ENOMEM, FM_EINVAL.
 */
int fm_ndjson_set_base64(cJSON *rec, const char *key, const uint8_t *bytes, size_t n_bytes,
                         struct fm_err *err);
int fm_ndjson_get_base64(const cJSON *rec, const char *key, uint8_t *out, size_t cap,
                         size_t *n_bytes, struct fm_err *err);

/* Set or replace rec's "error" with why (one line, no newline). FM_ENOMEM, FM_EINVAL. */
int fm_ndjson_set_error(cJSON *rec, const char *why, struct fm_err *err);

/*
 * The record for a line that gives no record:
 * {"line": number, "input": <first FM_NDJSON_INPUT_BYTES bytes of text, made valid UTF-8>,
 *  "error": why}. The caller owns *out. FM_ENOMEM.
 */
int fm_ndjson_bad_line(uint64_t number, const char *text, size_t n_bytes, const char *why,
                       cJSON **out, struct fm_err *err);

/*
 * Numbers rounded for a record, the one place that says how. fm_ndjson_round: to places
 * decimal places (0 .. 15): the double nearest to the decimal, which cJSON prints in its
 * shortest form (0.6667, not 0.66670000000000007), and 0 rather than -0.
 * fm_ndjson_round_sig: to digits significant digits (1 .. 15), for values of any magnitude;
 * 0 stays 0. Both return v unchanged when it is not finite (fm_ndjson_print refuses it), when
 * the count is out of range, or when v is too large to round.
 */
double fm_ndjson_round(double v, int places);
double fm_ndjson_round_sig(double v, int digits);

/*
 * Serialise rec as one compact line ending in "\n" into a new buffer (*line, which the
 * caller frees with free(3); *n_bytes counts the "\n", and a NUL follows it). FM_EINVAL,
 * naming the member, when a number is NaN or infinite, since JSON has no word for them;
 * FM_ENOMEM.
 */
int fm_ndjson_print(const cJSON *rec, char **line, size_t *n_bytes, struct fm_err *err);

/*
 * Whether s (n_bytes long) is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates
 * or code points above U+10FFFF) without NUL bytes. If not, and bad_at is not NULL,
 * *bad_at is the offset of the first byte that is wrong.
 */
bool fm_ndjson_utf8_valid(const char *s, size_t n_bytes, size_t *bad_at);

#endif
