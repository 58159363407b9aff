/*
 * lib/ndjson.c: the line reader, the parse of input lines, error records and serialisation
 * of records (see ndjson.h). JSON is parsed and printed by cJSON only; this file adds the
 * line framing, UTF-8 checking (RFC 3629, as cJSON passes bytes through unchecked) and the
 * refusal of non-finite numbers (cJSON would print them as null).
 */
#include "ndjson.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK ((size_t)1 << 16)
#define FIRST_CAP ((size_t)1 << 12)

struct fm_ndjson_reader {
	FILE *fp; /* the source when not NULL, else fd */
	int fd;
	size_t max_line; /* bytes of a line without "\n" and "\r" */
	char *buf;       /* [start, end) holds bytes not yet returned; buf[end] is free */
	size_t cap, start, end;
	size_t scan;     /* [start, scan) is known to hold no "\n" */
	uint64_t number; /* lines begun so far */
	char delim;      /* what ends a line: "\n", or NUL for find -print0 */
	bool skipping;   /* inside the rest of an overlong line */
	bool ended;      /* end of input or a read error: read no more */
	char head[FM_NDJSON_INPUT_BYTES + 1];
};

static int
reader_new(FILE *fp, int fd, size_t max_line_bytes, struct fm_ndjson_reader **out,
           struct fm_err *err)
{
	struct fm_ndjson_reader *r;

	*out = NULL;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a line reader");
	r->fp = fp;
	r->fd = fd;
	r->max_line = max_line_bytes == 0 ? FM_NDJSON_DEFAULT_MAX_LINE : max_line_bytes;
	r->delim = '\n';
	if (r->max_line > SIZE_MAX / 4)
		r->max_line = SIZE_MAX / 4;
	r->cap = FIRST_CAP;
	r->buf = malloc(r->cap);
	if (r->buf == NULL) {
		free(r);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a line reader");
	}
	*out = r;
	return 0;
}

int
fm_ndjson_reader_new(FILE *fp, size_t max_line_bytes, struct fm_ndjson_reader **out,
                     struct fm_err *err)
{
	return reader_new(fp, -1, max_line_bytes, out, err);
}

int
fm_ndjson_reader_new_fd(int fd, size_t max_line_bytes, struct fm_ndjson_reader **out,
                        struct fm_err *err)
{
	return reader_new(NULL, fd, max_line_bytes, out, err);
}

void
fm_ndjson_reader_free(struct fm_ndjson_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/*
 * Like read(2) on either source: the stream is read up to and including a "\n", so that a
 * line is returned as soon as it ends instead of when a whole chunk has arrived.
 */
static ssize_t
fill(struct fm_ndjson_reader *r, char *dst, size_t room)
{
	size_t n = 0;
	int c = 0;

	if (r->fp == NULL) {
		ssize_t got;

		do
			got = read(r->fd, dst, room);
		while (got == -1 && errno == EINTR);
		return got;
	}
	flockfile(r->fp);
	while (n < room && (c = getc_unlocked(r->fp)) != EOF) {
		dst[n++] = (char)c;
		if (c == (unsigned char)r->delim)
			break;
	}
	funlockfile(r->fp);
	if (c == EOF && ferror(r->fp) && n == 0) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return (ssize_t)n;
}

/* Keep the first bytes of a line the reader cannot hold, for its error record. */
static void
keep_head(struct fm_ndjson_reader *r, const char *text, size_t n, struct fm_ndjson_line *line)
{
	if (n > FM_NDJSON_INPUT_BYTES)
		n = FM_NDJSON_INPUT_BYTES;
	memcpy(r->head, text, n);
	r->head[n] = '\0';
	line->text = r->head;
	line->n_bytes = n;
}

/* Room for at least one more byte and the NUL after the data, moving or growing buf. */
static int
make_room(struct fm_ndjson_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->scan -= r->start;
		r->start = 0;
	}
	if (r->end + 1 < r->cap)
		return 0;
	/* max_line + "\r" + one byte more proves a line too long; + 1 for the NUL. */
	size_t most = r->max_line + 3;
	size_t cap = r->cap * 2 < most ? r->cap * 2 : most;
	if (cap < r->end + 2)
		cap = r->end + 2;
	char *p = realloc(r->buf, cap);
	if (p == NULL)
		return -1;
	r->buf = p;
	r->cap = cap;
	return 0;
}

void
fm_ndjson_reader_set_delimiter(struct fm_ndjson_reader *r, char delim)
{
	r->delim = delim;
}

int
fm_ndjson_read(struct fm_ndjson_reader *r, struct fm_ndjson_line *line, struct fm_err *err)
{
	line->text = NULL;
	line->n_bytes = 0;
	line->number = r->number;
	for (;;) {
		char *nl = memchr(r->buf + r->scan, r->delim, r->end - r->scan);

		if (nl != NULL || (r->ended && r->end > r->start && !r->skipping)) {
			size_t stop = nl != NULL ? (size_t)(nl - r->buf) : r->end;
			size_t len = stop - r->start;
			char *text = r->buf + r->start;

			r->start = r->scan = nl != NULL ? stop + 1 : stop;
			if (r->skipping) {
				r->skipping = false;
				continue;
			}
			if (len > 0 && text[len - 1] == '\r' && r->delim == '\n')
				len--;
			text[len] = '\0';
			line->number = ++r->number;
			if (len > r->max_line) {
				keep_head(r, text, len, line);
				return fm_err_set(err, FM_ELIMIT,
				                  "line is longer than %zu bytes (see --max-line)",
				                  r->max_line);
			}
			line->text = text;
			line->n_bytes = len;
			return 0;
		}
		r->scan = r->end;
		if (r->skipping) {
			r->start = r->scan = r->end = 0;
		} else if (r->end - r->start > r->max_line + 1) {
			/* Too long whatever follows: say so now, and skip the rest as it comes. */
			line->number = ++r->number;
			keep_head(r, r->buf + r->start, r->end - r->start, line);
			r->start = r->scan = r->end = 0;
			r->skipping = true;
			return fm_err_set(err, FM_ELIMIT,
			                  "line is longer than %zu bytes (see --max-line)",
			                  r->max_line);
		}
		if (r->ended)
			return 0;
		if (make_room(r) == -1) {
			line->number = ++r->number;
			keep_head(r, r->buf + r->start, r->end - r->start, line);
			r->start = r->scan = r->end = 0;
			r->skipping = true;
			return fm_err_set(err, FM_ENOMEM, "out of memory for a line of %zu bytes",
			                  r->cap);
		}
		size_t room = r->cap - r->end - 1;
		if (room > READ_CHUNK)
			room = READ_CHUNK;
		ssize_t got = fill(r, r->buf + r->end, room);
		if (got < 0) {
			r->ended = true;
			r->start = r->scan = r->end = 0;
			return fm_err_errno_at(err, errno, "read error");
		}
		if (got == 0)
			r->ended = true;
		r->end += (size_t)got;
	}
}

/*
 * The length of the well-formed UTF-8 sequence at s (n bytes available), or 0 if it is
 * ill-formed or NUL. *cut is set when the sequence is fine so far but n ends inside it.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, bool *cut)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	*cut = false;
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c < 0xc2) /* a continuation byte, or an overlong two-byte form */
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if (i >= n) {
			*cut = true;
			return 0;
		}
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

bool
fm_ndjson_utf8_valid(const char *s, size_t n_bytes, size_t *bad_at)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n_bytes) {
		bool cut;
		size_t len;

		if (u[i] < 0x80 && u[i] != 0) {
			i++;
			continue;
		}
		len = utf8_seq(u + i, n_bytes - i, &cut);
		if (len == 0) {
			if (bad_at != NULL)
				*bad_at = i;
			return false;
		}
		i += len;
	}
	return true;
}

/* A new NUL-terminated copy of the first max_bytes of s made valid (see set_text). */
static char *
utf8_clean(const char *s, size_t n_bytes, size_t max_bytes)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *u = (const unsigned char *)s;
	size_t n = n_bytes < max_bytes ? n_bytes : max_bytes;
	char *out, *o;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(3 * n + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (size_t i = 0; i < n;) {
		bool cut, cut_whole;
		size_t len = utf8_seq(u + i, n - i, &cut);

		if (len > 0) {
			memcpy(o, u + i, len);
			o += len;
			i += len;
		} else if (cut && n < n_bytes && utf8_seq(u + i, n_bytes - i, &cut_whole) > 0) {
			break; /* a good character that max_bytes cuts in two */
		} else {
			memcpy(o, replacement, 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	return out;
}

/*
 * Where the escape \u0000 starts in JSON text, or n_bytes. cJSON decodes it to a NUL byte
 * inside a C string, which cuts the string there: a "path" of "a.jpg\u0000.txt" would open
 * a.jpg and come out as "a.jpg", and any other member would lose its tail on the way through.
 * The text is valid JSON, so every backslash is inside a string and starts an escape; an
 * escaped backslash ("\\u0000" is text, not a NUL) is skipped whole.
 */
static size_t
find_escaped_nul(const char *text, size_t n_bytes)
{
	for (size_t i = 0; i + 1 < n_bytes; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && i + 6 <= n_bytes && memcmp(text + i + 2, "0000", 4) == 0)
			return i;
		i++; /* the escaped character, a backslash perhaps */
	}
	return n_bytes;
}

static const char *
type_name(const cJSON *v)
{
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "an object";
}

/*
 * The first number in v that is NaN or infinite, or NULL; *key is the name of the member
 * holding it (the nearest named ancestor for an array element). cJSON bounds the depth.
 */
static const cJSON *
find_nonfinite(const cJSON *v, const char *name, const char **key)
{
	if (v->string != NULL)
		name = v->string;
	if (cJSON_IsNumber(v) && !isfinite(v->valuedouble)) {
		*key = name;
		return v;
	}
	for (const cJSON *c = v->child; c != NULL; c = c->next) {
		const cJSON *bad = find_nonfinite(c, name, key);
		if (bad != NULL)
			return bad;
	}
	return NULL;
}

int
fm_ndjson_parse(const char *text, size_t n_bytes, unsigned flags, cJSON **out, struct fm_err *err)
{
	size_t i = 0, bad_at;
	const char *end = NULL, *key = "";
	cJSON *v;

	*out = NULL;
	while (i < n_bytes && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (n_bytes == 0)
		return fm_err_set(err, FM_EFORMAT, "empty line");
	if (i == n_bytes)
		return fm_err_set(err, FM_EFORMAT, "blank line");
	if (!fm_ndjson_utf8_valid(text, n_bytes, &bad_at))
		return fm_err_set(err, FM_EFORMAT, "%s at byte %zu",
		                  text[bad_at] == '\0' ? "NUL byte" : "not valid UTF-8",
		                  bad_at + 1);
	if ((flags & FM_NDJSON_BARE_PATH) && text[i] != '{') {
		/* utf8_valid refused NUL bytes, so text is one C string. */
		v = cJSON_CreateObject();
		if (v == NULL || cJSON_AddStringToObject(v, "path", text) == NULL) {
			cJSON_Delete(v);
			return fm_err_set(err, FM_ENOMEM, "out of memory for a record");
		}
		*out = v;
		return 0;
	}
	/* Length with the NUL, which cJSON then requires right after the value. */
	v = cJSON_ParseWithLengthOpts(text, n_bytes + 1, &end, 1);
	if (v == NULL) {
		size_t at = end != NULL && end >= text && end <= text + n_bytes
		                ? (size_t)(end - text) + 1
		                : n_bytes;
		return fm_err_set(err, FM_EFORMAT, "not valid JSON near byte %zu", at);
	}
	if (!cJSON_IsObject(v)) {
		fm_err_set(err, FM_EFORMAT, "JSON value is %s, not an object", type_name(v));
		cJSON_Delete(v);
		return -1;
	}
	if ((bad_at = find_escaped_nul(text, n_bytes)) < n_bytes) {
		fm_err_set(err, FM_EFORMAT, "\\u0000 at byte %zu: a string cannot hold a NUL byte",
		           bad_at + 1);
		cJSON_Delete(v);
		return -1;
	}
	if (find_nonfinite(v, "", &key) != NULL) {
		fm_err_set(err, FM_EFORMAT, "number out of range in \"%.60s\"", key);
		cJSON_Delete(v);
		return -1;
	}
	*out = v;
	return 0;
}

int
fm_ndjson_get_path(const cJSON *rec, const char **path, struct fm_err *err)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(rec, "path");

	*path = NULL;
	if (p == NULL)
		return fm_err_set(err, FM_EFORMAT, "record has no \"path\"");
	if (!cJSON_IsString(p) || p->valuestring == NULL)
		return fm_err_set(err, FM_EFORMAT, "\"path\" is %s, not a string", type_name(p));
	if (p->valuestring[0] == '\0')
		return fm_err_set(err, FM_EFORMAT, "\"path\" is empty");
	*path = p->valuestring;
	return 0;
}

bool
fm_ndjson_has_error(const cJSON *rec)
{
	return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(rec, "error"));
}

int
fm_ndjson_set_verbatim(cJSON *rec, const char *text, size_t n_bytes, struct fm_err *err)
{
	char *copy = malloc(n_bytes + 1);

	if (copy == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a record");
	memcpy(copy, text, n_bytes);
	copy[n_bytes] = '\0';
	cJSON_Delete(rec->child);
	rec->child = NULL;
	/* cJSON prints a raw item's text as it is, and cJSON_Delete frees it as a string's. */
	rec->type = cJSON_Raw;
	rec->valuestring = copy;
	return 0;
}

int
fm_ndjson_set(cJSON *rec, const char *key, cJSON *item, struct fm_err *err)
{
	cJSON *old;

	if (item == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for \"%.60s\"", key);
	if (!cJSON_IsObject(rec)) {
		cJSON_Delete(item);
		return fm_err_set(err, FM_EINVAL, "setting \"%.60s\" in %s", key, type_name(rec));
	}
	old = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (old == NULL) {
		if (!cJSON_AddItemToObject(rec, key, item)) {
			cJSON_Delete(item);
			return fm_err_set(err, FM_ENOMEM, "out of memory for \"%.60s\"", key);
		}
		return 0;
	}
	for (cJSON *c = old->next, *next; c != NULL; c = next) {
		next = c->next;
		if (c->string != NULL && strcmp(c->string, key) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(rec, c));
	}
	/* Replace finds the first member of that name, which is old. */
	if (!cJSON_ReplaceItemInObjectCaseSensitive(rec, key, item)) {
		cJSON_Delete(item);
		return fm_err_set(err, FM_ENOMEM, "out of memory for \"%.60s\"", key);
	}
	return 0;
}

static bool
listed(const char *const names[], const char *name)
{
	for (size_t k = 0; names != NULL && names[k] != NULL; k++)
		if (strcmp(names[k], name) == 0)
			return true;
	return false;
}

int
fm_ndjson_adopt(cJSON *dst, cJSON *src, const char *const skip[], const char *const rename[],
                struct fm_err *err)
{
	cJSON *m;

	if (!cJSON_IsObject(dst) || !cJSON_IsObject(src))
		return fm_err_set(err, FM_EINVAL, "adopting the members of %s into %s",
		                  type_name(src), type_name(dst));
	while ((m = src->child) != NULL) {
		const char *key = m->string;

		for (size_t k = 0; rename != NULL && rename[k] != NULL && rename[k + 1] != NULL;
		     k += 2)
			if (strcmp(key, rename[k]) == 0) {
				key = rename[k + 1];
				break;
			}
		if (listed(skip, m->string) || cJSON_GetObjectItemCaseSensitive(dst, key) != NULL) {
			cJSON_Delete(cJSON_DetachItemViaPointer(src, m));
			continue;
		}
		/* cJSON copies key before it frees the member's old name, which key may be. */
		cJSON_DetachItemViaPointer(src, m);
		if (!cJSON_AddItemToObject(dst, key, m)) {
			cJSON_Delete(m);
			return fm_err_set(err, FM_ENOMEM, "out of memory for a member");
		}
	}
	return 0;
}

int
fm_ndjson_pick(const cJSON *rec, const char *const keys[], cJSON **out, struct fm_err *err)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t k = 0; o != NULL && keys[k] != NULL; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, keys[k]);
		cJSON *copy = v != NULL ? cJSON_Duplicate(v, true) : NULL;
		if (v != NULL && (copy == NULL || !cJSON_AddItemToObject(o, keys[k], copy))) {
			cJSON_Delete(copy);
			cJSON_Delete(o);
			o = NULL;
		}
	}
	if ((*out = o) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a record");
	return 0;
}

int
fm_ndjson_set_text(cJSON *rec, const char *key, const char *s, size_t n_bytes, size_t max_bytes,
                   struct fm_err *err)
{
	char *clean = utf8_clean(s, n_bytes, max_bytes);
	cJSON *item;

	if (clean == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for \"%.60s\"", key);
	item = cJSON_CreateString(clean);
	free(clean);
	return fm_ndjson_set(rec, key, item, err);
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
fm_ndjson_set_base64(cJSON *rec, const char *key, const uint8_t *bytes, size_t n_bytes,
                     struct fm_err *err)
{
	size_t n_chars, o = 0;
	char *text;
	cJSON *item;

	if (n_bytes > (SIZE_MAX - 1) / 4 * 3 - 3)
		return fm_err_set(err, FM_ELIMIT, "%zu bytes are too many for base64", n_bytes);
	n_chars = (n_bytes + 2) / 3 * 4;
	if ((text = malloc(n_chars + 1)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for \"%.60s\"", key);
	for (size_t i = 0; i < n_bytes; i += 3) {
		uint32_t v = (uint32_t)bytes[i] << 16;
		size_t left = n_bytes - i;

		if (left > 1)
			v |= (uint32_t)bytes[i + 1] << 8;
		if (left > 2)
			v |= bytes[i + 2];
		text[o++] = b64_alphabet[v >> 18];
		text[o++] = b64_alphabet[(v >> 12) & 63];
		text[o++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		text[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	text[o] = '\0';
	item = cJSON_CreateString(text);
	free(text);
	return fm_ndjson_set(rec, key, item, err);
}

static int
b64_value(char c)
{
	const char *at = c != '\0' ? strchr(b64_alphabet, c) : NULL;

	return at != NULL ? (int)(at - b64_alphabet) : -1;
}

int
fm_ndjson_get_base64(const cJSON *rec, const char *key, uint8_t *out, size_t cap, size_t *n_bytes,
                     struct fm_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(rec, key);
	const char *t;
	size_t len, n = 0;

	*n_bytes = 0;
	if (!cJSON_IsString(item))
		return fm_err_set(err, FM_EFORMAT, "\"%.60s\" is not a base64 string", key);
	t = item->valuestring;
	len = strlen(t);
	if (len % 4 != 0)
		return fm_err_set(err, FM_EFORMAT,
		                  "\"%.60s\": base64 of %zu characters, not a "
		                  "multiple of 4",
		                  key, len);
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(t[i + k]);
			if (t[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (v[k] < 0 || pad > 0) {
				return fm_err_set(err, FM_EFORMAT,
				                  "\"%.60s\": not base64 at character %zu", key,
				                  i + (size_t)k + 1);
			}
		}
		uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		                (uint32_t)v[3];
		size_t got = 3 - (size_t)pad;
		if (n + got > cap)
			return fm_err_set(err, FM_ELIMIT, "\"%.60s\" holds more than %zu bytes",
			                  key, cap);
		out[n++] = (uint8_t)(bits >> 16);
		if (got > 1)
			out[n++] = (uint8_t)(bits >> 8);
		if (got > 2)
			out[n++] = (uint8_t)bits;
	}
	*n_bytes = n;
	return 0;
}

int
fm_ndjson_set_error(cJSON *rec, const char *why, struct fm_err *err)
{
	return fm_ndjson_set_text(rec, "error", why, strlen(why), SIZE_MAX, err);
}

int
fm_ndjson_bad_line(uint64_t number, const char *text, size_t n_bytes, const char *why, cJSON **out,
                   struct fm_err *err)
{
	cJSON *rec = cJSON_CreateObject();

	*out = NULL;
	if (rec == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for an error record");
	if (fm_ndjson_set(rec, "line", cJSON_CreateNumber((double)number), err) == -1 ||
	    fm_ndjson_set_text(rec, "input", text, n_bytes, FM_NDJSON_INPUT_BYTES, err) == -1 ||
	    fm_ndjson_set_error(rec, why, err) == -1) {
		cJSON_Delete(rec);
		return -1;
	}
	*out = rec;
	return 0;
}

double
fm_ndjson_round(double v, int places)
{
	double scale, r;

	if (!isfinite(v) || places < 0 || places > 15)
		return v;
	scale = pow(10.0, places); /* exact: powers of ten up to 1e22 are doubles */
	if (!isfinite(v * scale))
		return v;
	r = round(v * scale) / scale;
	return r == 0 ? 0 : r;
}

double
fm_ndjson_round_sig(double v, int digits)
{
	double e, scale;

	if (v == 0 || !isfinite(v) || digits < 1 || digits > 15)
		return v;
	e = floor(log10(fabs(v)));
	scale = pow(10.0, (double)digits - 1 - e);
	/* Past 1e300 the scale underflows or the product overflows; nothing to round there. */
	if (!isfinite(scale) || !isfinite(v * scale) || scale == 0)
		return v;
	return round(v * scale) / scale;
}

int
fm_ndjson_print(const cJSON *rec, char **line, size_t *n_bytes, struct fm_err *err)
{
	const char *key = "";
	char *s, *buf;
	size_t n;

	*line = NULL;
	*n_bytes = 0;
	if (find_nonfinite(rec, "", &key) != NULL)
		return fm_err_set(err, FM_EINVAL, "\"%.60s\" is not a finite number", key);
	s = cJSON_PrintUnformatted(rec);
	if (s == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for an output line");
	n = strlen(s);
	buf = malloc(n + 2);
	if (buf == NULL) {
		cJSON_free(s);
		return fm_err_set(err, FM_ENOMEM, "out of memory for an output line");
	}
	memcpy(buf, s, n);
	cJSON_free(s);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	*line = buf;
	*n_bytes = n + 1;
	return 0;
}
