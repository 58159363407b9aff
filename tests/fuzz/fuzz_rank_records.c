/*
 * tests/fuzz/fuzz_rank_records.c: arbitrary bytes as the lines recommend reads (lib/rank):
 * every line is offered as a song of the library; once the library is finished, every line
 * is offered again as a face or frame record for the mood (recommend's pool, and
 * fer-classify --smooth's timeline, which must agree on its first frame), as a feedback
 * record, and as a time; the feedback teaches the taste, and the library is ranked for the
 * mood with it and without it. Every record is also summarised as fer-summary does (whose
 * shares must be a distribution), and written as recommend's playlist entry and table.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"
#include "ndjson.h"
#include "rank.h"

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
rank(const struct fm_rank_library *lib, const struct fm_rank_profiles *p, const double mood[],
     const struct fm_rank_taste *taste)
{
	struct fm_rank_query q = {.strategy = FM_RANK_CALM,
	                          .strength = 2,
	                          .n_results = 4,
	                          .diverse = FM_RANK_DIVERSE_MMR | FM_RANK_DIVERSE_ARTIST,
	                          .mmr_lambda = 0.3,
	                          .taste = taste};
	struct fm_rank_hit hits[4];
	struct fm_rank_work *w;
	struct fm_err err;
	size_t n_hits;

	memcpy(q.mood, mood, sizeof q.mood);
	if (fm_rank_work_new(lib, &w, &err) == -1)
		return;
	for (int s = FM_RANK_MATCH; s <= FM_RANK_CALM; s++) {
		q.strategy = (enum fm_rank_strategy)s;
		if (fm_rank_search(w, p, &q, hits, &n_hits, &err) == 0)
			for (size_t k = 0; k < n_hits; k++)
				if (!isfinite(hits[k].score))
					abort();
	}
	fm_rank_work_free(w);
}

/* The record in recommend's readable forms, as if it were an output record. */
static void
formats(const cJSON *rec)
{
	struct fm_err err;
	char *text;
	size_t n;

	if (fm_rank_m3u_entry(rec, "/home/u", "/home/u/lists", &text, &n, &err) == 0) {
		if (memchr(text, '\0', n) != NULL || n < 2 || text[n - 1] != '\n')
			abort();
		free(text);
	}
	if (fm_rank_text_table((const cJSON *const[]){rec, rec}, 2, 40, &text, &n, &err) == 0)
		free(text);
}

/* The summary of the records: shares that are a distribution, or none. */
static void
summarise(const struct fm_mood_summary *s)
{
	const cJSON *share, *v;
	struct fm_err err;
	double sum = 0;
	cJSON *rec;
	char *text;
	size_t n;

	if (fm_mood_summary_table(s, &text, &n, &err) == 0)
		free(text);
	if (fm_mood_summary_record(s, &rec, &err) == -1)
		return;
	if ((share = cJSON_GetObjectItemCaseSensitive(rec, "share")) != NULL) {
		cJSON_ArrayForEach(v, share)
		{
			if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
				abort();
			sum += v->valuedouble;
		}
		if (!(fabs(sum - 1) < 1e-3)) /* seven numbers of four decimals */
			abort();
	}
	cJSON_Delete(rec);
}

/* The record as fer-classify --smooth's first frame: the pooled distribution, unchanged. */
static void
smooth(const cJSON *rec)
{
	const struct fm_mood_timeline_opts o = FM_MOOD_TIMELINE_OPTS_DEFAULT;
	double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS];
	struct fm_mood_timeline *tl;
	struct fm_mood_brief ev;
	struct fm_err err;
	size_t n;

	if (fm_mood_record(rec, p, &n, &err) == -1 || n == 0)
		return;
	if (fm_mood_check(p, &err) == -1)
		abort(); /* a pooled record is always a distribution */
	if (fm_mood_timeline_new(&o, &tl, &err) == -1)
		return;
	if (fm_mood_timeline_add(tl, 0, p, sm, &ev, &err) != 0)
		abort();
	for (int e = 0; e < FM_N_EMOTIONS; e++)
		if (!(fabs(sm[e] - p[e]) < 1e-12))
			abort();
	fm_mood_timeline_free(tl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fm_rank_profiles base;
	static bool have_base;
	struct fm_rank_library *lib;
	struct fm_rank_taste *taste;
	struct fm_rank_profiles p, learnt;
	struct fm_mood_pool mood;
	struct fm_mood_summary summary;
	struct lines l = {data, size, 0, NULL};
	struct fm_err err;
	double dist[FM_N_EMOTIONS];
	size_t len, n_tagged[FM_N_EMOTIONS];

	if (!have_base) {
		/* Run from the repository's root, as tests/fuzz.sh does. */
		if (fm_rank_profiles_load("models/profiles.json", &base, &err) == -1)
			abort();
		have_base = true;
	}
	if (fm_rank_library_new(&lib, &err) == -1)
		return 0;
	while (next_line(&l, &len)) {
		enum fm_rank_added how;
		struct fm_rank_song_info info;

		(void)fm_rank_library_add(lib, l.copy, len, &how, &info, &err);
	}
	if (fm_rank_library_finish(lib, &err) == -1) {
		fm_rank_library_free(lib);
		return 0;
	}
	p = base;
	if (fm_rank_taste_new(lib, &taste, &err) == -1) {
		fm_rank_library_free(lib);
		return 0;
	}
	fm_mood_pool_init(&mood, 2.5);
	fm_mood_summary_init(&summary);
	l = (struct lines){data, size, 0, NULL};
	while (next_line(&l, &len)) {
		struct fm_rank_event ev;
		size_t n_used, i;
		double t_sec;
		cJSON *rec;

		(void)fm_rank_time_parse(l.copy, &t_sec, &err);
		if (fm_ndjson_parse(l.copy, len, 0, &rec, &err) == -1)
			continue;
		(void)fm_mood_pool_add(&mood, rec, &n_used, &err);
		smooth(rec);
		(void)fm_mood_summary_add(&summary, rec, &err);
		formats(rec);
		if (fm_rank_event_decode(rec, &base.feedback, &ev, &err) == 1 &&
		    fm_rank_library_find(lib, ev.path, ev.n_path, &i, &err) == 1)
			(void)fm_rank_taste_add(taste, i, &ev, 1.7e9, &base.feedback, &err);
		cJSON_Delete(rec);
	}
	summarise(&summary);
	if (fm_mood_pool_get(&mood, dist, &err) == 0) {
		rank(lib, &p, dist, NULL);
		rank(lib, &p, dist, taste);
	}
	if (fm_rank_learn(lib, &base, &learnt, n_tagged, &err) == 0) {
		rank(lib, &learnt, (const double[FM_N_EMOTIONS]){[FM_HAPPY] = 1}, taste);
	}
	fm_rank_taste_free(taste);
	fm_rank_library_free(lib);
	return 0;
}
