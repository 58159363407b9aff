/*
 * lib/rank_format.c: recommend's readable formats, made from its output records
 * (fm_rank_hit_record's) so that they show what the NDJSON says: an extended M3U playlist
 * (the #EXTM3U and #EXTINF lines that players read since Winamp; no other directive) and a
 * table for people. Widths are terminal columns, measured by wcwidth(3) under the caller's
 * LC_CTYPE, which must be a UTF-8 one for text beyond ASCII to measure right: a CJK
 * character is two columns, a combining accent none.
 *
 * The playlist's locations are paths, absolute or relative to the playlist's folder,
 * normalised by their text alone ("." and ".." resolved without asking the file system, as
 * the player reading the line will), except where a path cannot be a line of its own.
 */
#define _XOPEN_SOURCE 700 /* wcwidth(3): XSI */

#include "rank.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ndjson.h"

/* A growing string; on failure it stays failed and the caller reports FM_ENOMEM once. */
struct text {
	char *s;
	size_t n, cap;
	bool failed;
};

static void
put(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->n + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *s2;

		while (cap < t->n + n + 1)
			cap *= 2;
		if ((s2 = realloc(t->s, cap)) == NULL) {
			t->failed = true;
			return;
		}
		t->s = s2;
		t->cap = cap;
	}
	memcpy(t->s + t->n, s, n);
	t->n += n;
	t->s[t->n] = '\0';
}

static void
puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) putf(struct text *t, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof buf)
		t->failed = true;
	else
		put(t, buf, (size_t)k);
}

/* Hand the text over (*s, *n_bytes), or FM_ENOMEM. */
static int
finish(struct text *t, char **s, size_t *n_bytes, struct fm_err *err)
{
	if (t->failed || t->s == NULL) {
		free(t->s);
		*s = NULL;
		return fm_err_set(err, FM_ENOMEM, "out of memory for the output");
	}
	*s = t->s;
	*n_bytes = t->n;
	return 0;
}

/* A non-empty string member of rec, or NULL. */
static const char *
string_of(const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);

	return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	/* "dir/" names the folder: its own name, not an empty one */
	if (slash != NULL && slash[1] != '\0')
		return slash + 1;
	return path;
}

/* --------------------------------------------------------------------------------------- */
/* M3U                                                                                      */

/*
 * The components of path (absolute, or taken from cwd) with "." and ".." resolved by text,
 * as *parts (pointers into *copy, both malloc'd) and *n_parts; ".." at the root stays at it.
 */
static int
split_path(const char *cwd, const char *path, char **copy, const char ***parts, size_t *n_parts,
           struct fm_err *err)
{
	size_t len_cwd = path[0] == '/' ? 0 : strlen(cwd), len = strlen(path), n = 0;
	char *s = malloc(len_cwd + len + 2);
	const char **p;

	*copy = NULL;
	*parts = NULL;
	if (s == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a path");
	memcpy(s, cwd, len_cwd);
	s[len_cwd] = '/';
	memcpy(s + len_cwd + 1, path, len + 1);
	/* at most one component for every two bytes, "a/" */
	if ((p = malloc((len_cwd + len + 3) / 2 * sizeof *p)) == NULL) {
		free(s);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a path");
	}
	for (char *tok = s, *next; tok != NULL; tok = next) {
		if ((next = strchr(tok, '/')) != NULL)
			*next++ = '\0';
		if (tok[0] == '\0' || strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			n -= n > 0;
			continue;
		}
		p[n++] = tok;
	}
	*copy = s;
	*parts = p;
	*n_parts = n;
	return 0;
}

/* The bytes of a control character at s (C0, DEL, or C1 as UTF-8 encodes it), else 0. */
static size_t
control_at(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] < 0x20 || u[0] == 0x7f)
		return 1;
	return u[0] == 0xc2 && u[1] >= 0x80 && u[1] < 0xa0 ? 2 : 0;
}

/*
 * Whether a location cannot be a playlist line as it is: a control character (a newline, or
 * U+0085, would cut the entry in two, and the rest is as likely to trip a player), or a
 * space at its end, which players trim from lines.
 */
static bool
needs_uri(const char *s)
{
	size_t n = strlen(s);

	for (size_t k = 0; k < n; k++)
		if (control_at(s + k) > 0)
			return true;
	return n > 0 && s[n - 1] == ' ';
}

/* The file: URI of the absolute path made of parts (RFC 8089), every byte but the unreserved
 * ones of RFC 3986 percent-encoded. */
static void
put_uri(struct text *t, const char *const *parts, size_t n_parts)
{
	static const char hex[] = "0123456789ABCDEF";

	puts_(t, "file://");
	if (n_parts == 0)
		puts_(t, "/");
	for (size_t k = 0; k < n_parts; k++) {
		puts_(t, "/");
		for (const unsigned char *c = (const unsigned char *)parts[k]; *c != '\0'; c++) {
			if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || strchr("-._~", *c) != NULL) {
				put(t, (const char *)c, 1);
			} else {
				char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
				put(t, e, 3);
			}
		}
	}
}

/* The #EXTINF title: "artist - title", "title", else the file's name; control characters
 * become spaces, as the line must stay one. */
static void
put_title(struct text *t, const cJSON *rec, const char *path)
{
	const char *title = string_of(rec, "title"), *artist = string_of(rec, "artist");
	size_t start = t->n;

	if (title != NULL && artist != NULL) {
		puts_(t, artist);
		puts_(t, " - ");
		puts_(t, title);
	} else {
		puts_(t, title != NULL ? title : base_name(path));
	}
	/* a C1 control's two bytes become two spaces */
	for (size_t k = start, n; !t->failed && k<t->n; k += n> 0 ? n : 1)
		if ((n = control_at(t->s + k)) > 0)
			memset(t->s + k, ' ', n);
}

int
fm_rank_m3u_entry(const cJSON *rec, const char *cwd, const char *base, char **text, size_t *n_bytes,
                  struct fm_err *err)
{
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(rec, "duration");
	const char **song = NULL, **dir = NULL;
	char *song_copy = NULL, *dir_copy = NULL;
	size_t n_song, n_dir = 0, common = 0;
	struct text t = {0};
	const char *path;
	double sec = -1;

	*text = NULL;
	if (fm_ndjson_get_path(rec, &path, err) == -1)
		return -1;
	if (split_path(cwd, path, &song_copy, &song, &n_song, err) == -1 ||
	    (base != NULL && split_path("/", base, &dir_copy, &dir, &n_dir, err) == -1))
		goto fail;
	/* Whole seconds, as players have read them since the format began; -1 is unknown. */
	if (cJSON_IsNumber(dur) && isfinite(dur->valuedouble) && dur->valuedouble >= 0 &&
	    dur->valuedouble < 1e9)
		sec = floor(dur->valuedouble + 0.5);
	putf(&t, "#EXTINF:%.0f,", sec);
	put_title(&t, rec, path);
	puts_(&t, "\n");
	if (needs_uri(path)) {
		put_uri(&t, song, n_song);
	} else if (base == NULL) {
		if (n_song == 0)
			puts_(&t, "/");
		for (size_t k = 0; k < n_song; k++) {
			puts_(&t, "/");
			puts_(&t, song[k]);
		}
	} else {
		struct text rel = {0};

		while (common < n_song && common < n_dir && strcmp(song[common], dir[common]) == 0)
			common++;
		for (size_t k = common; k < n_dir; k++)
			puts_(&rel, k > common ? "/.." : "..");
		for (size_t k = common; k < n_song; k++) {
			if (rel.n > 0)
				puts_(&rel, "/");
			puts_(&rel, song[k]);
		}
		/* "#1 single.mp3" would be read as a comment */
		if (rel.n == 0 || rel.s[0] == '#')
			puts_(&t, rel.n == 0 ? "." : "./");
		if (rel.n > 0)
			put(&t, rel.s, rel.n);
		t.failed |= rel.failed;
		free(rel.s);
	}
	puts_(&t, "\n");
	free(song);
	free(song_copy);
	free(dir);
	free(dir_copy);
	return finish(&t, text, n_bytes, err);
fail:
	free(song);
	free(song_copy);
	free(dir);
	free(dir_copy);
	return -1;
}

/* --------------------------------------------------------------------------------------- */
/* The table                                                                                */

/* One character of UTF-8 text at s (valid: the records are checked when read): its code
 * point, and its length in bytes. */
static uint32_t
next_char(const unsigned char *s, size_t *len)
{
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
		*len = 2;
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	}
	if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		*len = 3;
		return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	}
	if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
	    (s[3] & 0xc0) == 0x80) {
		*len = 4;
		return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	}
	*len = 1; /* not UTF-8 after all: one unknown byte */
	return 0xfffd;
}

/* Control characters, C0, DEL and C1: a title may hold a terminal's escape sequences. */
static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/* Columns of one character; a control character is shown as '?', one column. */
static size_t
char_cols(uint32_t cp)
{
	int w;

	if (is_control(cp))
		return 1;
	w = wcwidth((wchar_t)cp);
	/* -1: not printable in this locale (a C one, say): one column is the likeliest */
	return w < 0 ? 1 : (size_t)w;
}

size_t
fm_rank_text_width(const char *s)
{
	size_t cols = 0, len;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p += len)
		cols += char_cols(next_char(p, &len));
	return cols;
}

/*
 * Write s in at most max_cols columns (0: no limit), cut with "…" when it is wider, control
 * characters as '?', then pad with spaces to pad_cols when that is more; the columns
 * written, padding included.
 */
static size_t
put_cell(struct text *t, const char *s, size_t max_cols, size_t pad_cols)
{
	size_t width = fm_rank_text_width(s), cols = 0, len;
	bool cut = max_cols > 0 && width > max_cols;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p += len) {
		uint32_t cp = next_char(p, &len);
		size_t w = char_cols(cp);

		if (cut && cols + w > max_cols - 1)
			break;
		if (is_control(cp))
			put(t, "?", 1);
		else
			put(t, (const char *)p, len);
		cols += w;
	}
	if (cut) {
		puts_(t, "\u2026");
		cols++;
	}
	for (; cols < pad_cols; cols++)
		put(t, " ", 1);
	return cols;
}

/* The columns: rank, title, artist, score, why. */
enum { COL_RANK, COL_TITLE, COL_ARTIST, COL_SCORE, COL_WHY, N_COLS };

static const char *const HEAD[N_COLS] = {"#", "title", "artist", "score", "why"};

/* Cell k of record rec as text in buf (numbers) or borrowed from rec. */
static const char *
cell(const cJSON *rec, int k, char buf[32])
{
	const cJSON *v;
	const char *s;

	switch (k) {
	case COL_RANK:
		v = cJSON_GetObjectItemCaseSensitive(rec, "rank");
		if (!cJSON_IsNumber(v))
			return "";
		snprintf(buf, 32, "%.0f", v->valuedouble);
		return buf;
	case COL_SCORE:
		v = cJSON_GetObjectItemCaseSensitive(rec, "score");
		if (!cJSON_IsNumber(v))
			return "";
		snprintf(buf, 32, "%.2f", v->valuedouble);
		return buf;
	case COL_TITLE:
		if ((s = string_of(rec, "title")) != NULL)
			return s;
		return (s = string_of(rec, "path")) != NULL ? s : "";
	case COL_ARTIST:
		return (s = string_of(rec, "artist")) != NULL ? s : "";
	default:
		return (s = string_of(rec, "why")) != NULL ? s : "";
	}
}

/*
 * Shrink the widths of the flexible columns (title, artist, why) until the line fits
 * max_cols: the why first, down to a readable 20 columns, then title and artist alike, down
 * to 8 each, then the why again, down to 10. A terminal narrower than that gets lines that
 * wrap.
 */
static void
fit(size_t w[N_COLS], bool has_artist, size_t max_cols)
{
	size_t fixed = w[COL_RANK] + w[COL_SCORE] + 2 * (has_artist ? 4 : 3), budget, flex;

	if (max_cols == 0 || fixed >= max_cols)
		return;
	budget = max_cols - fixed;
	flex = w[COL_TITLE] + (has_artist ? w[COL_ARTIST] : 0);
	if (flex + w[COL_WHY] <= budget)
		return;
	w[COL_WHY] = budget > flex + 20 ? budget - flex : (w[COL_WHY] < 20 ? w[COL_WHY] : 20);
	while (flex + w[COL_WHY] > budget) {
		size_t *big =
		    !has_artist || w[COL_TITLE] >= w[COL_ARTIST] ? &w[COL_TITLE] : &w[COL_ARTIST];
		if (*big <= 8)
			break;
		(*big)--;
		flex--;
	}
	if (flex + w[COL_WHY] > budget)
		w[COL_WHY] = budget > flex + 10 ? budget - flex : 10;
}

/*
 * A "mood" that is a mixture, {"neutral":0.45,"angry":0.35} (its largest first), as
 * "neutral 45%, angry 35%", up to three of its expressions; false when it is none.
 */
static bool
put_mixture(struct text *t, const cJSON *mood)
{
	const cJSON *m;
	int n = 0;

	if (!cJSON_IsObject(mood) || mood->child == NULL)
		return false;
	cJSON_ArrayForEach(m, mood)
	{
		if (!cJSON_IsNumber(m) || m->string == NULL)
			return n > 0;
		if (n == 3)
			break;
		if (n++ > 0)
			puts_(t, ", ");
		put_cell(t, m->string, 0, 0);
		putf(t, " %.0f%%",
		     100 * (m->valuedouble >= 0 && m->valuedouble <= 1 ? m->valuedouble : 0));
	}
	return n > 0;
}

/*
 * The ranking's heading: what it is for ("a.jpg, frame 3: songs for happy (match)"), from the
 * first record's "query", "mood" (a mixture; else "emotion") and "strategy"; control
 * characters as '?'.
 */
static void
put_heading(struct text *t, const cJSON *rec)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(rec, "query"), *v;
	const char *strategy = string_of(rec, "strategy");
	static const char *const id_keys[] = {"path", "frame", "t", "line"};
	bool any = false;

	for (size_t k = 0; cJSON_IsObject(q) && k < sizeof id_keys / sizeof *id_keys; k++) {
		if ((v = cJSON_GetObjectItemCaseSensitive(q, id_keys[k])) == NULL)
			continue;
		if (any)
			puts_(t, ", ");
		if (cJSON_IsString(v)) {
			put_cell(t, v->valuestring, 0, 0);
		} else if (cJSON_IsNumber(v)) {
			puts_(t, id_keys[k]);
			putf(t, " %g", v->valuedouble);
		} else {
			continue;
		}
		any = true;
	}
	puts_(t, any ? ": songs for " : "Songs for ");
	if (!put_mixture(t, cJSON_GetObjectItemCaseSensitive(rec, "mood"))) {
		const char *top = string_of(rec, "emotion");
		put_cell(t, top != NULL ? top : "?", 0, 0);
	}
	if (strategy != NULL) {
		puts_(t, " (");
		put_cell(t, strategy, 0, 0);
		puts_(t, ")");
	}
	puts_(t, "\n");
}

int
fm_rank_text_table(const cJSON *const *recs, size_t n, size_t max_cols, char **text,
                   size_t *n_bytes, struct fm_err *err)
{
	size_t w[N_COLS], natural[N_COLS];
	bool has_artist = false;
	struct text t = {0};
	char buf[32];

	*text = NULL;
	if (n == 0)
		return fm_err_set(err, FM_EINVAL, "a table of no songs");
	for (int k = 0; k < N_COLS; k++)
		w[k] = strlen(HEAD[k]);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < N_COLS; k++) {
			size_t cw = fm_rank_text_width(cell(recs[i], k, buf));

			w[k] = cw > w[k] ? cw : w[k];
			has_artist |= k == COL_ARTIST && cw > 0;
		}
	memcpy(natural, w, sizeof w);
	fit(w, has_artist, max_cols);
	if (n > 0)
		put_heading(&t, recs[0]);
	for (size_t i = 0; i <= n; i++) {
		for (int k = 0; k < N_COLS; k++) {
			const char *s = i == 0 ? HEAD[k] : cell(recs[i - 1], k, buf);
			size_t cw = fm_rank_text_width(s);

			if (k == COL_ARTIST && !has_artist)
				continue;
			if (k > 0)
				puts_(&t, "  ");
			/* numbers to the right, text to the left; the last column unpadded */
			if (k == COL_RANK || k == COL_SCORE)
				for (size_t c = cw; c < w[k]; c++)
					puts_(&t, " ");
			put_cell(&t, s, w[k] < natural[k] ? w[k] : 0,
			         k == COL_RANK || k == COL_SCORE || k == COL_WHY ? 0 : w[k]);
		}
		while (!t.failed && t.n > 0 && t.s[t.n - 1] == ' ') /* an empty why, say */
			t.n--;
		puts_(&t, "\n");
	}
	return finish(&t, text, n_bytes, err);
}
