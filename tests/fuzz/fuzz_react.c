/*
 * tests/fuzz/fuzz_react.c: arbitrary bytes as fer-react's input (lib/react): every line is
 * decoded as a play log line with and without an origin, then offered as a play and, once
 * all are queued, every line again as a frame, the judged plays taken as they become ready
 * and the rest at the end. Every record handed out must print as one line (finite numbers),
 * and a judged one must carry a rating of 1..5 with a reaction of -1..1, or null for both.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "react.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each line of data in turn, as a NUL-terminated copy (the parsers want the NUL). */
struct lines {
	const uint8_t *data;
	size_t size, at;
	char *copy;
};

static bool
next_line(struct lines *l, size_t *len)
{
	const uint8_t *nl;

	free(l->copy);
	l->copy = NULL;
	if (l->at >= l->size)
		return false;
	nl = memchr(l->data + l->at, '\n', l->size - l->at);
	*len = nl != NULL ? (size_t)(nl - (l->data + l->at)) : l->size - l->at;
	if ((l->copy = malloc(*len + 1)) == NULL)
		return false;
	memcpy(l->copy, l->data + l->at, *len);
	l->copy[*len] = '\0';
	l->at += *len + 1;
	return true;
}

static void
check(const cJSON *rec, const char *error)
{
	const cJSON *rating = cJSON_GetObjectItemCaseSensitive(rec, "rating");
	const cJSON *reaction = cJSON_GetObjectItemCaseSensitive(rec, "reaction");
	struct fm_err err;
	char *text;
	size_t n;

	if (fm_ndjson_print(rec, &text, &n, &err) == -1)
		abort();
	free(text);
	if (error != NULL || fm_ndjson_has_error(rec))
		return;
	if (cJSON_IsNull(rating) != cJSON_IsNull(reaction))
		abort();
	if (cJSON_IsNumber(rating) &&
	    !(rating->valuedouble >= 1 && rating->valuedouble <= 5 && cJSON_IsNumber(reaction) &&
	      fabs(reaction->valuedouble) <= 1))
		abort();
}

static void
drain(struct fm_react *r)
{
	struct fm_react_out out;
	struct fm_err err;

	while (fm_react_next(r, &out, &err) == 1) {
		check(out.rec, out.error);
		cJSON_Delete(out.rec);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fm_react_opts plain = {.baseline_sec = 2};
	const struct fm_react_opts origin = {
	    .baseline_sec = 2, .has_origin = true, .origin_sec = 1714588200};
	struct lines l = {data, size, 0, NULL};
	struct fm_react *r;
	struct fm_err err;
	size_t len;
	uint64_t k = 0;

	/* The first byte picks the clock, so that both reach the frames. */
	const struct fm_react_opts *o = size > 0 && data[0] & 1 ? &origin : &plain;
	if (fm_react_new(o, &r, &err) == -1)
		abort();
	while (next_line(&l, &len)) {
		struct fm_react_play p;
		cJSON *rec;

		if (fm_ndjson_parse(l.copy, len, 0, &rec, &err) == -1)
			continue;
		if (fm_react_play_decode(rec, &plain, &p, &err) == 0 &&
		    !(isfinite(p.start_sec) && p.end_sec >= p.start_sec))
			abort();
		if (fm_react_play_decode(rec, &origin, &p, &err) == 0 &&
		    !(isfinite(p.start_sec) && isfinite(p.time_sec) && p.end_sec >= p.start_sec))
			abort();
		(void)fm_react_play_add(r, rec, ++k, &err); /* takes rec */
	}
	l = (struct lines){data, size, 0, NULL};
	while (next_line(&l, &len)) {
		cJSON *rec;

		if (fm_ndjson_parse(l.copy, len, 0, &rec, &err) == -1)
			continue;
		(void)fm_react_frame_add(r, rec, &err);
		cJSON_Delete(rec);
		drain(r);
	}
	fm_react_finish(r);
	drain(r);
	fm_react_free(r);
	return 0;
}
