/*
 * lib/rank_output.c: what recommend writes: a hit as its output record (the fields
 * recommend(1) names, then the song's own, passed through), and learnt profiles as a
 * profiles file whose "why" says what each profile was learnt from.
 */
#include "rank_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mood.h"
#include "ndjson.h"

/*
 * The hit's "why": the descriptors, and what the taste added, naming the judged song by its
 * "title" or else its path (*why malloc'd). Errors of fm_rank_library_record, FM_ENOMEM.
 */
static int
hit_why(const struct fm_rank_library *lib, const struct fm_rank_hit *h, char **why,
        struct fm_err *err)
{
	static const char *const phrase[4] = {/* [against][disliked] */
	                                      "like songs you liked", "unlike songs you disliked",
	                                      "unlike songs you liked", "like songs you disliked"};
	const char *name = NULL;
	cJSON *song = NULL;
	char *text;
	size_t n;
	int k;

	if (h->taste_how == 0 || h->taste_song == SIZE_MAX) {
		if ((*why = strdup(h->why)) == NULL)
			return fm_err_set(err, FM_ENOMEM, "out of memory for a record");
		return 0;
	}
	if (h->taste_how & FM_RANK_TASTE_SELF) {
		name = h->taste_how & FM_RANK_TASTE_DISLIKED ? "you disliked it" : "you liked it";
		k = snprintf(NULL, 0, "%s; %s", h->why, name);
	} else {
		const cJSON *title;
		if (fm_rank_library_record(lib, h->taste_song, &text, &n, err) == -1)
			return -1;
		int rc = fm_ndjson_parse(text, n, 0, &song, err);
		free(text);
		if (rc == -1 || fm_ndjson_get_path(song, &name, err) == -1) {
			cJSON_Delete(song);
			return -1;
		}
		title = cJSON_GetObjectItemCaseSensitive(song, "title");
		if (cJSON_IsString(title) && title->valuestring[0] != '\0')
			name = title->valuestring;
		k = snprintf(NULL, 0, "%s; %s: %s", h->why,
		             phrase[2 * !!(h->taste_how & FM_RANK_TASTE_AGAINST) +
		                    !!(h->taste_how & FM_RANK_TASTE_DISLIKED)],
		             name);
	}
	if (k < 0 || (*why = malloc((size_t)k + 1)) == NULL) {
		cJSON_Delete(song);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a record");
	}
	if (h->taste_how & FM_RANK_TASTE_SELF)
		snprintf(*why, (size_t)k + 1, "%s; %s", h->why, name);
	else
		snprintf(*why, (size_t)k + 1, "%s; %s: %s", h->why,
		         phrase[2 * !!(h->taste_how & FM_RANK_TASTE_AGAINST) +
		                !!(h->taste_how & FM_RANK_TASTE_DISLIKED)],
		         name);
	cJSON_Delete(song);
	return 0;
}

/*
 * The mood ranked for, as the record shows it: each expression whose share rounds to 0.01 or
 * more, largest first (equal shares in the seven's order), to two decimals. The ranking used
 * the whole mixture, so the label must show it: a face read as 40% neutral and 35% angry is
 * ranked towards angry music, and "neutral" alone would say otherwise.
 */
static cJSON *
mood_object(const double mood[FM_N_EMOTIONS])
{
	cJSON *o = cJSON_CreateObject();
	bool used[FM_N_EMOTIONS] = {false};

	for (int n = 0; o != NULL && n < FM_N_EMOTIONS; n++) {
		int best = -1;
		for (int e = 0; e < FM_N_EMOTIONS; e++)
			if (!used[e] && (best == -1 || mood[e] > mood[best]))
				best = e;
		used[best] = true;
		double w = fm_ndjson_round(mood[best], 2);
		if (!(w >= 0.01))
			break;
		if (cJSON_AddNumberToObject(o, fm_emotion_name((enum fm_emotion)best), w) == NULL) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

int
fm_rank_hit_record(const struct fm_rank_library *lib, const struct fm_rank_query *q,
                   const struct fm_rank_hit *h, size_t rank, const cJSON *query, cJSON **out,
                   struct fm_err *err)
{
	/* The output's "emotion" and "mood" are the mood ranked for; the song's own tags keep
	 * their values as "song_emotion" and "song_mood". */
	static const char *const owned[] = {"rank", "path",  "score", "strategy",
	                                    "why",  "query", NULL};
	static const char *const rename[] = {"emotion", "song_emotion", "mood", "song_mood", NULL};
	cJSON *song = NULL, *o = NULL;
	const char *path;
	char *text, *why = NULL;
	size_t n;

	*out = NULL;
	if (fm_rank_library_record(lib, h->song, &text, &n, err) == -1)
		return -1;
	int rc = fm_ndjson_parse(text, n, 0, &song, err);
	free(text);
	if (rc == -1 || fm_ndjson_get_path(song, &path, err) == -1 ||
	    hit_why(lib, h, &why, err) == -1)
		goto fail;
	/* Four decimals: enough to order, and short lines. */
	double score = fm_ndjson_round(h->score, 4);
	if ((o = cJSON_CreateObject()) == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory for a record");
		goto fail;
	}
	if (fm_ndjson_set(o, "rank", cJSON_CreateNumber((double)rank), err) == -1 ||
	    fm_ndjson_set(o, "path", cJSON_CreateString(path), err) == -1 ||
	    fm_ndjson_set(o, "score", cJSON_CreateNumber(score), err) == -1 ||
	    fm_ndjson_set(o, "emotion", cJSON_CreateString(fm_emotion_name(fm_mood_top(q->mood))),
	                  err) == -1 ||
	    fm_ndjson_set(o, "mood", mood_object(q->mood), err) == -1 ||
	    fm_ndjson_set(o, "strategy", cJSON_CreateString(fm_rank_strategy_name(q->strategy)),
	                  err) == -1 ||
	    fm_ndjson_set(o, "why", cJSON_CreateString(why), err) == -1 ||
	    (query != NULL && fm_ndjson_set(o, "query", cJSON_Duplicate(query, true), err) == -1) ||
	    fm_ndjson_adopt(o, song, owned, rename, err) == -1)
		goto fail;
	cJSON_Delete(song);
	free(why);
	*out = o;
	return 0;
fail:
	free(why);
	cJSON_Delete(o);
	cJSON_Delete(song);
	return -1;
}

int
fm_rank_learn_encode(const struct fm_rank_library *lib, const struct fm_rank_profiles *base,
                     char **text, struct fm_err *err)
{
	char why_text[FM_N_EMOTIONS][160], about[256];
	const char *why[FM_N_EMOTIONS];
	struct fm_rank_profiles learnt;
	size_t n_songs[FM_N_EMOTIONS];

	if (fm_rank_learn(lib, base, &learnt, n_songs, err) == -1)
		return -1;
	for (int k = 0; k < FM_N_EMOTIONS; k++) {
		const char *name = fm_emotion_name((enum fm_emotion)k);
		if (n_songs[k] > 0)
			snprintf(why_text[k], sizeof why_text[k],
			         "the mean of the %zu song%s of the library tagged %s", n_songs[k],
			         n_songs[k] > 1 ? "s" : "", name);
		else
			snprintf(
			    why_text[k], sizeof why_text[k],
			    "kept from the profiles in use: no song of the library is tagged %s",
			    name);
		why[k] = why_text[k];
	}
	snprintf(about, sizeof about,
	         "Profiles learnt by recommend --learn from the \"emotion\" tags of %zu songs; "
	         "their vectors are in the standard deviations of that library.",
	         fm_rank_library_size(lib));
	return fm_rank_profiles_encode(&learnt, about, why, text, err);
}
