/*
 * tests/unit/test_ndjson.c: the line reader, line parsing, error records and serialisation
 * of lib/ndjson (cmocka).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"

/* A reader over a copy of n bytes of data, through a FILE or a pipe. */
struct source {
	FILE *fp;
	int fd;
	struct fm_ndjson_reader *r;
};

static void
open_file(struct source *s, const char *data, size_t n, size_t max_line)
{
	struct fm_err e;

	s->fd = -1;
	s->fp = tmpfile();
	assert_non_null(s->fp);
	assert_int_equal(fwrite(data, 1, n, s->fp), n);
	rewind(s->fp);
	assert_int_equal(fm_ndjson_reader_new(s->fp, max_line, &s->r, &e), 0);
}

static void
open_pipe(struct source *s, const char *data, size_t n, size_t max_line)
{
	struct fm_err e;
	int p[2];

	/* Nothing reads while this writes, so the data must fit in the pipe's buffer. */
	assert_true(n <= 4096);
	assert_int_equal(pipe(p), 0);
	s->fp = NULL;
	assert_int_equal(write(p[1], data, n), (ssize_t)n);
	close(p[1]);
	s->fd = p[0];
	assert_int_equal(fm_ndjson_reader_new_fd(s->fd, max_line, &s->r, &e), 0);
}

static void
close_source(struct source *s)
{
	fm_ndjson_reader_free(s->r);
	if (s->fp != NULL)
		fclose(s->fp);
	if (s->fd != -1)
		close(s->fd);
}

static void
expect_line(struct fm_ndjson_reader *r, const char *text, size_t n, uint64_t number)
{
	struct fm_ndjson_line line;
	struct fm_err e;

	assert_int_equal(fm_ndjson_read(r, &line, &e), 0);
	assert_non_null(line.text);
	assert_int_equal(line.n_bytes, n);
	assert_memory_equal(line.text, text, n);
	assert_int_equal(line.text[n], '\0');
	assert_int_equal(line.number, number);
}

static void
expect_end(struct fm_ndjson_reader *r)
{
	struct fm_ndjson_line line;
	struct fm_err e;

	assert_int_equal(fm_ndjson_read(r, &line, &e), 0);
	assert_null(line.text);
	/* The end stays the end. */
	assert_int_equal(fm_ndjson_read(r, &line, &e), 0);
	assert_null(line.text);
}

static void
reader_returns_lines_with_numbers(void **state)
{
	static const char data[] = "a\nbb\n\nccc";
	struct source s;

	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		if (kind == 0)
			open_file(&s, data, sizeof data - 1, 0);
		else
			open_pipe(&s, data, sizeof data - 1, 0);
		expect_line(s.r, "a", 1, 1);
		expect_line(s.r, "bb", 2, 2);
		expect_line(s.r, "", 0, 3);
		expect_line(s.r, "ccc", 3, 4);
		expect_end(s.r);
		close_source(&s);
	}
}

static void
reader_strips_one_carriage_return(void **state)
{
	static const char data[] = "a\r\nb\r\r\n\r\nc\r";
	struct source s;

	(void)state;
	open_file(&s, data, sizeof data - 1, 0);
	expect_line(s.r, "a", 1, 1);
	expect_line(s.r, "b\r", 2, 2);
	expect_line(s.r, "", 0, 3);
	expect_line(s.r, "c", 1, 4);
	expect_end(s.r);
	close_source(&s);
}

static void
reader_splits_at_nul_when_asked(void **state)
{
	/* find -print0: names may hold newlines and carriage returns; the last NUL ends one. */
	static const char data[] = "a\nb\0\0c\r\0xyz\0";
	struct source s;
	struct fm_ndjson_line line;
	struct fm_err e;

	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		if (kind == 0)
			open_file(&s, data, sizeof data - 1, 0);
		else
			open_pipe(&s, data, sizeof data - 1, 0);
		fm_ndjson_reader_set_delimiter(s.r, '\0');
		expect_line(s.r, "a\nb", 3, 1);
		expect_line(s.r, "", 0, 2);
		expect_line(s.r, "c\r", 2, 3);
		expect_line(s.r, "xyz", 3, 4);
		expect_end(s.r);
		close_source(&s);
	}
	/* The limit holds for NUL-ended items too. */
	open_file(&s, "abcdef\0ab\0", 10, 4);
	fm_ndjson_reader_set_delimiter(s.r, '\0');
	assert_int_equal(fm_ndjson_read(s.r, &line, &e), -1);
	assert_int_equal(e.code, FM_ELIMIT);
	expect_line(s.r, "ab", 2, 2);
	expect_end(s.r);
	close_source(&s);
}

static void
reader_empty_input_has_no_lines(void **state)
{
	struct source s;

	(void)state;
	open_file(&s, "", 0, 0);
	expect_end(s.r);
	close_source(&s);
}

static void
reader_final_newline_ends_last_line(void **state)
{
	struct source s;

	(void)state;
	open_pipe(&s, "x\n", 2, 0);
	expect_line(s.r, "x", 1, 1);
	expect_end(s.r);
	close_source(&s);
}

static void
reader_keeps_nul_bytes(void **state)
{
	static const char data[] = "a\0b\nc";
	struct source s;

	(void)state;
	open_file(&s, data, sizeof data - 1, 0);
	expect_line(s.r, "a\0b", 3, 1);
	expect_line(s.r, "c", 1, 2);
	expect_end(s.r);
	close_source(&s);
}

static void
reader_grows_for_long_lines(void **state)
{
	size_t n = 300000;
	char *data = malloc(2 * n + 2);
	struct source s;

	(void)state;
	assert_non_null(data);
	memset(data, 'x', n);
	data[n] = '\n';
	memset(data + n + 1, 'y', n);
	data[2 * n + 1] = '\n';
	open_file(&s, data, 2 * n + 2, 0);
	expect_line(s.r, data, n, 1);
	expect_line(s.r, data + n + 1, n, 2);
	expect_end(s.r);
	close_source(&s);
	free(data);
}

static void
reader_line_at_limit_is_accepted(void **state)
{
	static const char data[] = "0123456789\n0123456789\r\n";
	struct source s;

	(void)state;
	open_pipe(&s, data, sizeof data - 1, 10);
	expect_line(s.r, "0123456789", 10, 1);
	expect_line(s.r, "0123456789", 10, 2);
	expect_end(s.r);
	close_source(&s);
}

static void
reader_overlong_line_is_limit_error_then_skipped(void **state)
{
	char data[4000];
	struct fm_ndjson_line line;
	struct fm_err e;
	struct source s;
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(data + n, "short\n");
	memset(data + n, 'z', 3000);
	n += 3000;
	n += (size_t)sprintf(data + n, "\nnext\n01234567890");
	for (int kind = 0; kind < 2; kind++) {
		if (kind == 0)
			open_file(&s, data, n, 10);
		else
			open_pipe(&s, data, n, 10);
		expect_line(s.r, "short", 5, 1);
		assert_int_equal(fm_ndjson_read(s.r, &line, &e), -1);
		assert_int_equal(e.code, FM_ELIMIT);
		assert_int_equal(line.number, 2);
		assert_non_null(line.text);
		assert_true(line.n_bytes >= 11 && line.n_bytes <= FM_NDJSON_INPUT_BYTES);
		assert_memory_equal(line.text, "zzzzzzzzzzz", 11);
		assert_non_null(strstr(e.msg, "longer than 10 bytes"));
		expect_line(s.r, "next", 4, 3);
		/* Also at the end of the input, without a newline. */
		assert_int_equal(fm_ndjson_read(s.r, &line, &e), -1);
		assert_int_equal(e.code, FM_ELIMIT);
		assert_int_equal(line.number, 4);
		assert_int_equal(line.n_bytes, 11);
		expect_end(s.r);
		close_source(&s);
	}
}

static void
reader_read_error_is_io_error(void **state)
{
	struct fm_ndjson_reader *r;
	struct fm_ndjson_line line;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_ndjson_reader_new_fd(-1, 0, &r, &e), 0);
	assert_int_equal(fm_ndjson_read(r, &line, &e), -1);
	assert_int_equal(e.code, FM_EIO);
	assert_null(line.text);
	expect_end(r);
	fm_ndjson_reader_free(r);
	fm_ndjson_reader_free(NULL);
}

/* Parse text, print the record, and compare with want (compact, without "\n"). */
static void
expect_parse(const char *text, unsigned flags, const char *want)
{
	cJSON *rec;
	struct fm_err e;
	char *line;
	size_t n;

	assert_int_equal(fm_ndjson_parse(text, strlen(text), flags, &rec, &e), 0);
	assert_int_equal(fm_ndjson_print(rec, &line, &n, &e), 0);
	assert_int_equal(n, strlen(want) + 1);
	assert_memory_equal(line, want, n - 1);
	assert_int_equal(line[n - 1], '\n');
	free(line);
	cJSON_Delete(rec);
}

static void
expect_parse_error(const char *text, size_t n, unsigned flags, const char *words)
{
	cJSON *rec = (cJSON *)&rec;
	struct fm_err e;

	assert_int_equal(fm_ndjson_parse(text, n, flags, &rec, &e), -1);
	assert_null(rec);
	assert_int_equal(e.code, FM_EFORMAT);
	if (strstr(e.msg, words) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", e.msg, words);
}

static void
object_line_is_parsed_with_field_order(void **state)
{
	(void)state;
	expect_parse("{\"user\":\"ann\",\"path\":\"x.jpg\",\"album\":\"b\"}", FM_NDJSON_BARE_PATH,
	             "{\"user\":\"ann\",\"path\":\"x.jpg\",\"album\":\"b\"}");
	expect_parse("  {\"a\": [1, 2.5, {\"b\": null}], \"c\": true }  ", 0,
	             "{\"a\":[1,2.5,{\"b\":null}],\"c\":true}");
	expect_parse("{\"name\":\"Zo\xc3\xab \xf0\x9f\x8e\xb5\"}", 0,
	             "{\"name\":\"Zo\xc3\xab \xf0\x9f\x8e\xb5\"}");
}

static void
bare_line_is_a_path_kept_whole(void **state)
{
	(void)state;
	expect_parse("photos/a b.jpg", FM_NDJSON_BARE_PATH, "{\"path\":\"photos/a b.jpg\"}");
	expect_parse(" lead and trail ", FM_NDJSON_BARE_PATH, "{\"path\":\" lead and trail \"}");
	expect_parse("[2019] \"q\".jpg", FM_NDJSON_BARE_PATH,
	             "{\"path\":\"[2019] \\\"q\\\".jpg\"}");
}

static void
empty_and_blank_lines_are_format_errors(void **state)
{
	(void)state;
	expect_parse_error("", 0, FM_NDJSON_BARE_PATH, "empty line");
	expect_parse_error(" \t ", 3, FM_NDJSON_BARE_PATH, "blank line");
	expect_parse_error("", 0, 0, "empty line");
}

static void
brace_line_that_is_not_json_is_format_error(void **state)
{
	(void)state;
	expect_parse_error("{\"path\":", 8, FM_NDJSON_BARE_PATH, "not valid JSON");
	expect_parse_error("{\"path\":\"a\"} x", 14, FM_NDJSON_BARE_PATH, "not valid JSON");
	expect_parse_error("{\"path\":\"a\"}{}", 14, 0, "not valid JSON near byte 13");
	expect_parse_error("{'a':1}", 7, 0, "not valid JSON near byte ");
}

static void
json_value_other_than_object_is_format_error(void **state)
{
	(void)state;
	expect_parse_error("[1,2]", 5, 0, "is an array, not an object");
	expect_parse_error("\"a.jpg\"", 7, 0, "is a string");
	expect_parse_error("42", 2, 0, "is a number");
	expect_parse_error("a.jpg", 5, 0, "not valid JSON");
}

static void
bad_utf8_and_nul_are_format_errors(void **state)
{
	(void)state;
	expect_parse_error("caf\xe9.jpg", 8, FM_NDJSON_BARE_PATH, "not valid UTF-8 at byte 4");
	expect_parse_error("{\"a\":\"\xc0\xaf\"}", 10, 0, "not valid UTF-8 at byte 7");
	expect_parse_error("a\0b", 3, FM_NDJSON_BARE_PATH, "NUL byte at byte 2");
}

static void
number_beyond_double_is_format_error(void **state)
{
	(void)state;
	expect_parse_error("{\"path\":\"a\",\"t\":1e999}", 22, 0, "out of range in \"t\"");
	expect_parse_error("{\"v\":[1,-1e400]}", 16, 0, "out of range in \"v\"");
}

static void
escaped_nul_is_format_error(void **state)
{
	(void)state;
	/* cJSON would cut the string at the NUL: "a.jpg\u0000.txt" would open a.jpg. */
	expect_parse_error("{\"path\":\"a.jpg\\u0000.txt\"}", 26, 0, "\\u0000 at byte 15");
	expect_parse_error("{\"a\\u0000b\":1}", 14, 0, "\\u0000 at byte 4");
	/* A backslash escaped before u0000 leaves it text; other \u escapes decode as ever. */
	expect_parse("{\"p\":\"\\\\u0000\"}", 0, "{\"p\":\"\\\\u0000\"}");
	expect_parse("{\"p\":\"\\u0041\"}", 0, "{\"p\":\"A\"}");
}

static void
path_must_be_a_nonempty_string(void **state)
{
	static const struct {
		const char *json, *words;
	} cases[] = {
	    {"{\"user\":\"ann\"}", "has no \"path\""},
	    {"{\"path\":7}", "is a number, not a string"},
	    {"{\"path\":null}", "is null"},
	    {"{\"path\":\"\"}", "is empty"},
	};
	const char *path;
	struct fm_err e;
	cJSON *rec;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rec = cJSON_Parse(cases[i].json);
		assert_non_null(rec);
		assert_int_equal(fm_ndjson_get_path(rec, &path, &e), -1);
		assert_null(path);
		assert_int_equal(e.code, FM_EFORMAT);
		assert_non_null(strstr(e.msg, cases[i].words));
		cJSON_Delete(rec);
	}
	rec = cJSON_Parse("{\"path\":\"a.jpg\",\"path\":\"b.jpg\"}");
	assert_int_equal(fm_ndjson_get_path(rec, &path, &e), 0);
	assert_string_equal(path, "a.jpg");
	cJSON_Delete(rec);
}

static void
error_string_marks_a_failed_record(void **state)
{
	cJSON *a = cJSON_Parse("{\"path\":\"a\",\"error\":\"gone\"}");
	cJSON *b = cJSON_Parse("{\"path\":\"a\",\"error\":false}");
	cJSON *c = cJSON_Parse("{\"path\":\"a\"}");

	(void)state;
	assert_true(fm_ndjson_has_error(a));
	assert_false(fm_ndjson_has_error(b));
	assert_false(fm_ndjson_has_error(c));
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}

static void
expect_printed(const cJSON *rec, const char *want)
{
	struct fm_err e;
	char *line;
	size_t n;

	assert_int_equal(fm_ndjson_print(rec, &line, &n, &e), 0);
	if (n != strlen(want) + 1 || memcmp(line, want, n - 1) != 0)
		fail_msg("printed %s, want %s", line, want);
	free(line);
}

static void
set_replaces_in_place_or_appends(void **state)
{
	static const char *const starts[] = {
	    "{\"k\":1}",
	    "{\"k\":1,\"a\":2}",
	    "{\"a\":2,\"k\":1}",
	    "{\"a\":2,\"k\":1,\"b\":3}",
	};
	static const char *const wants[] = {
	    "{\"k\":\"v\"}",
	    "{\"k\":\"v\",\"a\":2}",
	    "{\"a\":2,\"k\":\"v\"}",
	    "{\"a\":2,\"k\":\"v\",\"b\":3}",
	};
	static const int sizes[] = {2, 3, 3, 4};
	struct fm_err e;

	(void)state;
	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		cJSON *rec = cJSON_Parse(starts[i]);

		assert_int_equal(fm_ndjson_set(rec, "k", cJSON_CreateString("v"), &e), 0);
		expect_printed(rec, wants[i]);
		/* The list must stay whole after a replace: append behind it. */
		assert_int_equal(fm_ndjson_set(rec, "z", cJSON_CreateNumber(9), &e), 0);
		assert_int_equal(cJSON_GetArraySize(rec), sizes[i]);
		assert_int_equal(cJSON_GetArrayItem(rec, sizes[i] - 1)->valuedouble, 9);
		cJSON_Delete(rec);
	}
}

static void
set_drops_later_duplicates(void **state)
{
	cJSON *rec = cJSON_Parse("{\"k\":1,\"a\":2,\"k\":3,\"b\":4,\"k\":5}");
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_ndjson_set(rec, "k", cJSON_CreateTrue(), &e), 0);
	expect_printed(rec, "{\"k\":true,\"a\":2,\"b\":4}");
	cJSON_Delete(rec);
}

static void
set_without_item_is_out_of_memory(void **state)
{
	cJSON *rec = cJSON_CreateObject();
	cJSON *arr = cJSON_CreateArray();
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_ndjson_set(rec, "k", NULL, &e), -1);
	assert_int_equal(e.code, FM_ENOMEM);
	assert_int_equal(fm_ndjson_set(arr, "k", cJSON_CreateNull(), &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	cJSON_Delete(rec);
	cJSON_Delete(arr);
}

static void
set_error_replaces_the_error(void **state)
{
	cJSON *rec = cJSON_Parse("{\"error\":\"old\",\"path\":\"a\"}");
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_ndjson_set_error(rec, "new \xff words", &e), 0);
	expect_printed(rec, "{\"error\":\"new \xef\xbf\xbd words\",\"path\":\"a\"}");
	cJSON_Delete(rec);
}

static void
set_text_makes_valid_utf8(void **state)
{
	static const struct {
		const char *in;
		size_t n, max;
		const char *want;
	} cases[] = {
	    {"ab", 2, SIZE_MAX, "ab"},
	    {"a\xff"
	     "b",
	     3, SIZE_MAX,
	     "a\xef\xbf\xbd"
	     "b"},
	    {"a\0b", 3, SIZE_MAX,
	     "a\xef\xbf\xbd"
	     "b"},
	    {"\xc3\xa9\xc3", 3, SIZE_MAX, "\xc3\xa9\xef\xbf\xbd"}, /* cut by the data */
	    {"\xc3\xa9\xc3\xa9", 4, 3, "\xc3\xa9"},                /* cut by max_bytes */
	    {"\xf0\x9f\x8e\xb5", 4, 2, ""},
	    {"\xed\xa0\x80", 3, SIZE_MAX, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"abcdef", 6, 4, "abcd"},
	};
	struct fm_err e;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *rec = cJSON_CreateObject();

		assert_int_equal(
		    fm_ndjson_set_text(rec, "t", cases[i].in, cases[i].n, cases[i].max, &e), 0);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(rec, "t")->valuestring,
		                    cases[i].want);
		cJSON_Delete(rec);
	}
}

static void
bad_line_record_keeps_number_head_and_reason(void **state)
{
	char text[500], want[300];
	struct fm_err e;
	cJSON *rec;

	(void)state;
	memset(text, 'q', sizeof text);
	text[0] = '{';
	/* A two-byte character straddling byte 200 is dropped, not split. */
	text[199] = '\xc3';
	text[200] = '\xa9';
	assert_int_equal(fm_ndjson_bad_line(7, text, sizeof text, "not valid JSON", &rec, &e), 0);
	snprintf(want, sizeof want, "{\"line\":7,\"input\":\"{%.*s\",\"error\":\"not valid JSON\"}",
	         198, text + 1);
	expect_printed(rec, want);
	cJSON_Delete(rec);
}

static void
print_is_one_compact_line(void **state)
{
	cJSON *rec = cJSON_CreateObject();
	cJSON *faces = cJSON_AddArrayToObject(rec, "faces");
	cJSON *f = cJSON_CreateObject();

	(void)state;
	cJSON_AddStringToObject(rec, "path", "a\nb\t\"c\".jpg");
	cJSON_AddNumberToObject(f, "x", 120);
	cJSON_AddNumberToObject(f, "score", 0.93);
	cJSON_AddItemToArray(faces, f);
	cJSON_AddNumberToObject(rec, "t", -0.5);
	expect_printed(rec,
	               "{\"faces\":[{\"x\":120,\"score\":0.93}],\"path\":\"a\\nb\\t\\\"c\\\".jpg\","
	               "\"t\":-0.5}");
	cJSON_Delete(rec);
}

static void
print_refuses_nan_and_infinity(void **state)
{
	cJSON *rec = cJSON_Parse("{\"a\":1,\"faces\":[{\"score\":0}]}");
	cJSON *score = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "faces"), 0), "score");
	struct fm_err e;
	char *line = (char *)&line;
	size_t n;

	(void)state;
	cJSON_SetNumberValue(score, NAN);
	assert_int_equal(fm_ndjson_print(rec, &line, &n, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	assert_null(line);
	assert_string_equal(e.msg, "\"score\" is not a finite number");
	cJSON_SetNumberValue(score, -INFINITY);
	assert_int_equal(fm_ndjson_print(rec, &line, &n, &e), -1);
	cJSON_SetNumberValue(score, 0.5);
	expect_printed(rec, "{\"a\":1,\"faces\":[{\"score\":0.5}]}");
	cJSON_Delete(rec);
}

static void
utf8_check_follows_rfc_3629(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
		size_t bad_at;
	} cases[] = {
	    {"plain", 5, 1, 0},
	    {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xb5", 9, 1, 0},
	    {"\xf4\x8f\xbf\xbf", 4, 1, 0}, /* U+10FFFF */
	    {"a\x80", 2, 0, 1},            /* lone continuation byte */
	    {"\xc0\xaf", 2, 0, 0},         /* overlong "/" */
	    {"\xe0\x80\xaf", 3, 0, 0},     /* overlong three bytes */
	    {"\xf0\x80\x80\xaf", 4, 0, 0}, /* overlong four bytes */
	    {"\xed\xa0\x80", 3, 0, 0},     /* surrogate U+D800 */
	    {"\xf4\x90\x80\x80", 4, 0, 0}, /* U+110000 */
	    {"\xf5\x80\x80\x80", 4, 0, 0},
	    {"ab\xe2\x82", 4, 0, 2}, /* cut short */
	    {"ab\0", 3, 0, 2},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t at = 999;
		bool ok = fm_ndjson_utf8_valid(cases[i].s, cases[i].n, &at);

		if (ok != (cases[i].ok != 0))
			fail_msg("case %zu: valid is %d", i, ok);
		if (!ok)
			assert_int_equal(at, cases[i].bad_at);
	}
}

static void
base64_follows_rfc_4648(void **state)
{
	static const char *const vectors[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};
	static const char *const bad[] = {"Zm9", "Zm=v", "Z!==", "====", "Zg==Zg==", "Zg=a"};
	uint8_t all[256], back[256];
	struct fm_err err;
	size_t n;
	cJSON *rec = cJSON_CreateObject();

	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const char *plain = vectors[i][0];

		assert_int_equal(
		    fm_ndjson_set_base64(rec, "b", (const uint8_t *)plain, strlen(plain), &err), 0);
		assert_string_equal(cJSON_GetObjectItem(rec, "b")->valuestring, vectors[i][1]);
		assert_int_equal(fm_ndjson_get_base64(rec, "b", back, sizeof back, &n, &err), 0);
		assert_int_equal(n, strlen(plain));
		assert_memory_equal(back, plain, n);
	}
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)(255 - i);
	assert_int_equal(fm_ndjson_set_base64(rec, "b", all, sizeof all, &err), 0);
	assert_int_equal(fm_ndjson_get_base64(rec, "b", back, sizeof back, &n, &err), 0);
	assert_int_equal(n, 256);
	assert_memory_equal(back, all, 256);
	assert_int_equal(fm_ndjson_get_base64(rec, "b", back, 255, &n, &err), -1);
	assert_int_equal(err.code, FM_ELIMIT);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(fm_ndjson_set(rec, "b", cJSON_CreateString(bad[i]), &err), 0);
		assert_int_equal(fm_ndjson_get_base64(rec, "b", back, sizeof back, &n, &err), -1);
		assert_int_equal(err.code, FM_EFORMAT);
	}
	assert_int_equal(fm_ndjson_set(rec, "b", cJSON_CreateNumber(3), &err), 0);
	assert_int_equal(fm_ndjson_get_base64(rec, "b", back, sizeof back, &n, &err), -1);
	assert_int_equal(fm_ndjson_get_base64(rec, "none", back, sizeof back, &n, &err), -1);
	cJSON_Delete(rec);
}

static void
rounding_keeps_significant_digits(void **state)
{
	(void)state;
	assert_true(fm_ndjson_round_sig(121.8371, 5) == 121.84);
	assert_true(fm_ndjson_round_sig(-0.000123456, 3) == -0.000123);
	assert_true(fm_ndjson_round_sig(0, 5) == 0);
	assert_true(fm_ndjson_round_sig(99999.5, 5) == 100000);
	assert_true(fm_ndjson_round_sig(1e-300, 5) == 1e-300);
	assert_true(isnan(fm_ndjson_round_sig(NAN, 5)));
}

/* Seven tools' numbers went through round(v * 1e4) / 1e4: the same values, and no -0. */
static void
rounding_to_places_matches_the_decimal(void **state)
{
	const double v[] = {0.66666666666, 1.23456789, 12345.67891, 0.00004, 0.99995, 3.0};

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		assert_true(fm_ndjson_round(v[i], 4) == round(v[i] * 1e4) / 1e4);
	assert_true(fm_ndjson_round(0.6666666, 4) == 0.6667);
	assert_true(fm_ndjson_round(0.12345, 0) == 0);
	assert_true(fm_ndjson_round(1.5, 0) == 2);
	assert_false(signbit(fm_ndjson_round(-0.00001, 4)));
	assert_true(fm_ndjson_round(-0.00005, 4) == -0.0001);
	assert_true(fm_ndjson_round(1e305, 4) == 1e305); /* v * 1e4 overflows: left alone */
	assert_true(isnan(fm_ndjson_round(NAN, 4)));
	assert_true(isinf(fm_ndjson_round(INFINITY, 4)));
}

/* The printed form is the short one: what the rounding is for. */
static void
rounded_numbers_print_short(void **state)
{
	cJSON *rec = cJSON_CreateObject();
	char *line;
	size_t n;

	(void)state;
	assert_non_null(cJSON_AddNumberToObject(rec, "a", fm_ndjson_round(2.0 / 3, 4)));
	assert_non_null(cJSON_AddNumberToObject(rec, "b", fm_ndjson_round(0.1 + 0.2, 4)));
	assert_int_equal(fm_ndjson_print(rec, &line, &n, NULL), 0);
	assert_string_equal(line, "{\"a\":0.6667,\"b\":0.3}\n");
	free(line);
	cJSON_Delete(rec);
}

/* The printed line of rec, without its newline, for comparing with the expected text. */
static void
assert_line(const cJSON *rec, const char *want)
{
	struct fm_err e;
	char *line;
	size_t n;

	assert_int_equal(fm_ndjson_print(rec, &line, &n, &e), 0);
	line[n - 1] = '\0';
	assert_string_equal(line, want);
	free(line);
}

static void
adopt_appends_unowned_members_first_of_duplicates(void **state)
{
	static const char *const skip[] = {"rank", "score", NULL};
	static const char *const rename[] = {"emotion", "song_emotion", NULL};
	const char *text = "{\"title\":\"a\",\"rank\":9,\"path\":\"x\",\"emotion\":\"sad\","
	                   "\"title\":\"b\",\"emotion\":\"happy\",\"song_emotion\":1,\"n\":[1]}";
	cJSON *dst = cJSON_CreateObject(), *src;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_ndjson_parse(text, strlen(text), 0, &src, &e), 0);
	cJSON_AddNumberToObject(dst, "rank", 1);
	cJSON_AddStringToObject(dst, "path", "y");
	cJSON_AddStringToObject(dst, "emotion", "happy");
	assert_int_equal(fm_ndjson_adopt(dst, src, skip, rename, &e), 0);
	assert_null(src->child);
	assert_line(dst, "{\"rank\":1,\"path\":\"y\",\"emotion\":\"happy\",\"title\":\"a\","
	                 "\"song_emotion\":\"sad\",\"n\":[1]}");
	cJSON_Delete(src);
	src = cJSON_CreateArray();
	assert_int_equal(fm_ndjson_adopt(dst, src, NULL, NULL, &e), -1);
	assert_int_equal(e.code, FM_EINVAL);
	cJSON_Delete(src);
	cJSON_Delete(dst);
}

static void
pick_copies_the_named_members_in_order(void **state)
{
	static const char *const keys[] = {"t", "path", "frame", NULL};
	const char *text = "{\"path\":\"a.jpg\",\"faces\":[],\"t\":0.5}";
	cJSON *rec, *out;
	struct fm_err e;

	(void)state;
	assert_int_equal(fm_ndjson_parse(text, strlen(text), 0, &rec, &e), 0);
	assert_int_equal(fm_ndjson_pick(rec, keys, &out, &e), 0);
	assert_line(out, "{\"t\":0.5,\"path\":\"a.jpg\"}");
	cJSON_Delete(out);
	cJSON_Delete(rec);
	rec = cJSON_CreateObject();
	assert_int_equal(fm_ndjson_pick(rec, keys, &out, &e), 0);
	assert_null(out->child);
	cJSON_Delete(out);
	cJSON_Delete(rec);
}

static void
verbatim_record_prints_its_line_byte_for_byte(void **state)
{
	/* Spacing and number forms cJSON would not write itself. */
	static const char line[] = "{ \"path\":\"a.wav\",  \"tempo\":1.50, \"x\":[1e2] }";
	struct fm_err e;
	cJSON *rec = cJSON_Parse("{\"path\":\"b.wav\",\"n\":[1,2,{\"k\":3}]}");
	char *text;
	size_t n;

	(void)state;
	assert_non_null(rec);
	assert_int_equal(fm_ndjson_set_verbatim(rec, line, strlen(line), &e), 0);
	assert_null(rec->child);
	assert_int_equal(fm_ndjson_print(rec, &text, &n, &e), 0);
	assert_int_equal(n, strlen(line) + 1);
	assert_memory_equal(text, line, strlen(line));
	assert_int_equal(text[n - 1], '\n');
	free(text);
	cJSON_Delete(rec); /* the old members and the copy, freed: make valgrind says so */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reader_returns_lines_with_numbers),
	    cmocka_unit_test(reader_strips_one_carriage_return),
	    cmocka_unit_test(reader_splits_at_nul_when_asked),
	    cmocka_unit_test(reader_empty_input_has_no_lines),
	    cmocka_unit_test(reader_final_newline_ends_last_line),
	    cmocka_unit_test(reader_keeps_nul_bytes),
	    cmocka_unit_test(reader_grows_for_long_lines),
	    cmocka_unit_test(reader_line_at_limit_is_accepted),
	    cmocka_unit_test(reader_overlong_line_is_limit_error_then_skipped),
	    cmocka_unit_test(reader_read_error_is_io_error),
	    cmocka_unit_test(object_line_is_parsed_with_field_order),
	    cmocka_unit_test(bare_line_is_a_path_kept_whole),
	    cmocka_unit_test(empty_and_blank_lines_are_format_errors),
	    cmocka_unit_test(brace_line_that_is_not_json_is_format_error),
	    cmocka_unit_test(json_value_other_than_object_is_format_error),
	    cmocka_unit_test(bad_utf8_and_nul_are_format_errors),
	    cmocka_unit_test(number_beyond_double_is_format_error),
	    cmocka_unit_test(escaped_nul_is_format_error),
	    cmocka_unit_test(path_must_be_a_nonempty_string),
	    cmocka_unit_test(error_string_marks_a_failed_record),
	    cmocka_unit_test(set_replaces_in_place_or_appends),
	    cmocka_unit_test(set_drops_later_duplicates),
	    cmocka_unit_test(set_without_item_is_out_of_memory),
	    cmocka_unit_test(set_error_replaces_the_error),
	    cmocka_unit_test(set_text_makes_valid_utf8),
	    cmocka_unit_test(bad_line_record_keeps_number_head_and_reason),
	    cmocka_unit_test(print_is_one_compact_line),
	    cmocka_unit_test(print_refuses_nan_and_infinity),
	    cmocka_unit_test(utf8_check_follows_rfc_3629),
	    cmocka_unit_test(base64_follows_rfc_4648),
	    cmocka_unit_test(rounding_keeps_significant_digits),
	    cmocka_unit_test(rounding_to_places_matches_the_decimal),
	    cmocka_unit_test(rounded_numbers_print_short),
	    cmocka_unit_test(adopt_appends_unowned_members_first_of_duplicates),
	    cmocka_unit_test(pick_copies_the_named_members_in_order),
	    cmocka_unit_test(verbatim_record_prints_its_line_byte_for_byte),
	};

	return cmocka_run_group_tests_name("ndjson", tests, NULL, NULL);
}
