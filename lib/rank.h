/*
 * lib/rank.h: emotion-aware ranking of a song library. A song is a point in a space of nine
 * descriptors taken from song-featurize's record (enum fm_rank_dim), each standardised over
 * the library (z-scores, so that no unit dominates); a mood, the distribution over the seven
 * expressions that fer-classify's faces give, becomes a query vector in that space through
 * one profile per expression, and songs are ranked by cosine similarity to it.
 *
 * The module also holds what the ranking needs around it (the mood itself, faces and frames
 * pooled into one distribution, is lib/mood's): the strategies (match the mood, lift a
 * negative one step by step towards positive valence, calm it), diversity (maximal marginal
 * relevance, Carbonell and Goldstein 1998; one song per artist or album), the profiles file,
 * learning profiles from the user's own tags, a taste model learnt from the listener's likes,
 * skips, ratings and reactions (blended with the mood by the amount of evidence), and a binary
 * index that opens a large library in a few milliseconds. The file formats are documented in
 * recommend(1).
 *
 * Thread safety: a library is read-only once finished or loaded, and may be searched from
 * several threads, each with its own struct fm_rank_work.
 */
#ifndef FM_RANK_H
#define FM_RANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base.h"
#include "mood.h"

/*
 * The descriptors, in the order of every vector. Each is computed from the song record's
 * fields as said here, then standardised over the library and clamped to +-3 standard
 * deviations (so that one extreme song does not squash everyone else's scores). A song whose
 * field is missing, null, not a number or out of its physical range takes the library's mean
 * for that descriptor, z = 0: it neither helps nor hurts the song's score.
 */
enum fm_rank_dim {
	FM_DIM_TEMPO,      /* log2 of "tempo" (BPM > 0): tempo is perceived in ratios */
	FM_DIM_MODE,       /* "mode" major +1, minor -1, times "key_strength" clamped to 0..1 */
	FM_DIM_LOUDNESS,   /* "loudness", dBFS, clamped to -60..0 (silence is -100) */
	FM_DIM_DYNAMICS,   /* "rms_std" / "rms_mean": how much the level varies */
	FM_DIM_BRIGHTNESS, /* log2 of "centroid_mean" (Hz > 0) */
	FM_DIM_ROLLOFF,    /* log2 of "rolloff_mean" (Hz > 0) */
	FM_DIM_FLATNESS,   /* "flatness_mean", 0..1: noise against tone */
	FM_DIM_ZCR,        /* "zcr_mean", 0..1: noisiness and high-frequency grit */
	FM_DIM_ONSETS,     /* log2(1 + "onset_rate"), onsets per second: event density */
	FM_RANK_DIMS
};

/* "tempo", "mode", ... as in the profiles file; NULL out of range. The string is static. */
const char *fm_rank_dim_name(enum fm_rank_dim d);
/* The dimension named name, or -1 with FM_EINVAL. */
int fm_rank_dim_parse(const char *name, enum fm_rank_dim *out, struct fm_err *err);

/* A library of more songs than this is refused (FM_ELIMIT): 2^27, some 134 million. */
#define FM_RANK_MAX_SONGS ((size_t)1 << 27)

/* ------------------------------------------------------------------------------------------ */
/* The library                                                                                 */

struct fm_rank_library; /* opaque: songs' vectors, paths, groups, tags and record lines */

int fm_rank_library_new(struct fm_rank_library **out, struct fm_err *err);
void fm_rank_library_free(struct fm_rank_library *lib);

/*
 * A song whose "loudness" is below this many dBFS is near-silent and never recommended: the
 * floor of song-featurize (FM_AUDIO_SILENCE_DB, the same number), under which it finds no
 * tempo, key or onsets.
 */
#define FM_RANK_SILENCE_DB -70.0
#define FM_RANK_DEFAULT_MIN_DURATION_SEC 5.0 /* shorter songs are left out, see below */

/*
 * Songs whose "duration" is below min_sec (>= 0; 0 keeps every length) are left out by
 * fm_rank_library_add from now on: a jingle, a sound effect or a cut-off file is no song to
 * play for a mood. A new library has FM_RANK_DEFAULT_MIN_DURATION_SEC.
 */
void fm_rank_library_set_min_duration(struct fm_rank_library *lib, double min_sec);

/* What fm_rank_library_add did with a well-formed line. */
enum fm_rank_added {
	FM_RANK_ADDED,     /* the song is in */
	FM_RANK_UPSTREAM,  /* the record carries "error" (song-featurize failed): left out */
	FM_RANK_DUPLICATE, /* an earlier song has the same "path": this one is left out */
	FM_RANK_SILENT,    /* "loudness" is below FM_RANK_SILENCE_DB: left out */
	FM_RANK_SHORT,     /* "duration" is below the library's minimum: left out */
};

/* What fm_rank_library_add saw in a song record besides its path. */
struct fm_rank_song_info {
	unsigned n_missing;      /* descriptors absent or null: they take the library's mean */
	unsigned n_invalid;      /* descriptors present but not a usable number: the same */
	unsigned n_unknown_tags; /* "emotion" tags other than the seven names: ignored */
};

/*
 * Add one line of song-featurize's output (n_bytes, text[n_bytes] NUL, as fm_ndjson_read
 * gives it), before fm_rank_library_finish. The line is kept whole, so that the song's other
 * fields (a user's "artist", "title") come out with it. A descriptor that is missing, null,
 * not a number, or out of its physical range (a tempo of 0, a flatness above 1, a mode other
 * than "major" or "minor") takes the library's mean. "artist" and "album" strings, when
 * present, name the song's groups for diversity; "emotion", a string or an array of strings,
 * tags it for fm_rank_learn. A song that is near-silent or short (a "loudness" or "duration"
 * number below the limits above) is left out; one without those fields is kept. FM_EFORMAT when the
 * line is not a JSON object or has no non-empty "path" string; FM_ELIMIT beyond FM_RANK_MAX_SONGS;
 * FM_ENOMEM; FM_EINVAL after finish.
 */
int fm_rank_library_add(struct fm_rank_library *lib, const char *line, size_t n_bytes,
                        enum fm_rank_added *how, struct fm_rank_song_info *info,
                        struct fm_err *err);

/*
 * Standardise every descriptor over the songs added: z = (x - mean) / std, computed in double
 * precision, 0 for a song that lacks the descriptor, and 0 for everyone when the descriptor
 * does not vary in the library (a constant says nothing about a song). FM_EINVAL when the
 * library has no song or is finished already; FM_ENOMEM.
 */
int fm_rank_library_finish(struct fm_rank_library *lib, struct fm_err *err);

size_t fm_rank_library_size(const struct fm_rank_library *lib);

/*
 * How many songs have a non-empty "artist" (kind FM_RANK_DIVERSE_ARTIST) or "album"
 * (FM_RANK_DIVERSE_ALBUM) string; 0 for another kind, or for an index loaded without
 * FM_RANK_WANT_GROUPS.
 */
size_t fm_rank_library_n_grouped(const struct fm_rank_library *lib, unsigned kind);

/* Song i's standardised vector (i < size, the library finished or loaded). */
void fm_rank_library_vector(const struct fm_rank_library *lib, size_t i, double z[FM_RANK_DIMS]);

/* The mean and standard deviation of each descriptor, as fm_rank_library_finish found them. */
void fm_rank_library_stats(const struct fm_rank_library *lib, double mean[FM_RANK_DIMS],
                           double std[FM_RANK_DIMS]);

/*
 * Song i's record line as it was added, without its newline, as a new NUL-terminated string
 * (*text, which the caller frees). From an index the line is read from the file and checked
 * against its checksum: FM_EFORMAT when it does not match or lies outside the file, FM_EIO
 * when the file cannot be read. FM_ENOMEM.
 */
int fm_rank_library_record(const struct fm_rank_library *lib, size_t i, char **text,
                           size_t *n_bytes, struct fm_err *err);

/*
 * The song whose "path" is path (n_bytes, compared byte for byte as JSON decodes it): 1 with
 * *i, 0 when no song has it, -1 with err when the library cannot tell (an index loaded without
 * FM_RANK_WANT_PATHS is FM_EINVAL; a damaged record FM_EFORMAT).
 */
int fm_rank_library_find(const struct fm_rank_library *lib, const char *path, size_t n_bytes,
                         size_t *i, struct fm_err *err);

/*
 * Songs by real path: a log that names "/home/me/Music/x.flac" finds the song the library
 * calls "x.flac" (relative paths are taken from the current directory). The object borrows
 * lib, which must outlive it. FM_ENOMEM.
 */
struct fm_rank_paths; /* opaque: the songs' real paths, resolved when first needed */
int fm_rank_paths_new(const struct fm_rank_library *lib, struct fm_rank_paths **out,
                      struct fm_err *err);
void fm_rank_paths_free(struct fm_rank_paths *p);

/*
 * The song path names: as fm_rank_library_find, and when that finds none and path names a
 * file that exists, the song whose path names the same file once symbolic links, "." and
 * ".." are resolved (realpath(3)). The first such lookup resolves the path of every song
 * whose file exists, once (a stat of each; reading each record of an index). 1 with *i, 0,
 * or -1 as fm_rank_library_find.
 */
int fm_rank_paths_find(struct fm_rank_paths *p, const char *path, size_t *i, struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* The binary index: the finished library in a file that opens in milliseconds (recommend(1)) */

/* What a loaded index must offer besides vectors and records; each costs memory and time. */
#define FM_RANK_WANT_PATHS 1u  /* fm_rank_library_find: history and feedback */
#define FM_RANK_WANT_GROUPS 2u /* artist and album diversity */
#define FM_RANK_WANT_TAGS 4u   /* fm_rank_learn */
#define FM_RANK_WANT_TIMBRE 8u /* the taste's MFCC means (an index of version 2) */

/*
 * Write a library finished from records to path as an index: to a temporary file in the same
 * folder, synced and renamed over path at the end (fm_file_writer), so that a reader, or a
 * crash, never leaves half an index. FM_EIO, FM_EINVAL (not finished, or itself loaded from
 * an index), FM_ENOMEM.
 */
int fm_rank_index_save(const struct fm_rank_library *lib, const char *path, struct fm_err *err);

/*
 * Open an index. Its vectors are read into memory, and the sections of want; the records'
 * lines stay in the file (an index of version 1, from before the timbre, opens too, and its
 * taste hears the nine descriptors alone), which stays open, and are read one by one by
 * fm_rank_library_record, so that memory is about the size of the feature matrix. Everything
 * read from the file is checked before it is used: the magic, the version, the descriptor
 * count, sizes against the file's (a truncated file is FM_EFORMAT naming both sizes), each
 * section's bounds and checksum, every number finite. FM_EIO, FM_EFORMAT, FM_ELIMIT (more
 * than FM_RANK_MAX_SONGS), FM_ENOMEM.
 */
int fm_rank_index_load(const char *path, unsigned want, struct fm_rank_library **out,
                       struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Profiles                                                                                    */

/*
 * How feedback teaches the taste model (lib/rank_taste.c, recommend(1) gives the formulas):
 * the events' weights and age, and how far the evidence overrides the mood's profile.
 */
struct fm_rank_feedback_opts {
	double half_life_days; /* > 0: an event this old counts half */
	double like, skip;     /* an action's weight: like > 0, skip < 0 */
	double evidence;       /* > 0: the total weight at which taste and mood count alike */
	double max_share;      /* 0..1: the most the taste may weigh against the mood */
	double other_moods;    /* 0..1: what an event counts for a mood other than its own */
	double similar;        /* 0..1: the share of song-to-song similarity in the taste */
	double width;          /* > 0: similarity's width, in standard deviations */
};

/* The shipped taste numbers (models/profiles.json), for a profiles file of format 1. */
#define FM_RANK_TASTE_DEFAULTS                                                                     \
	{                                                                                          \
		.half_life_days = 90, .like = 1, .skip = -0.5, .evidence = 2, .other_moods = 0.8,  \
		.similar = 0.75, .width = 0.5, .max_share = 0.85                                   \
	}

struct fm_rank_profiles {
	/* Each expression's direction in the standardised space; only the direction counts. */
	double vec[FM_N_EMOTIONS][FM_RANK_DIMS];
	/* Its place on Russell's circumplex, -1..1: uplift steers negative valence. */
	double valence[FM_N_EMOTIONS], arousal[FM_N_EMOTIONS];
	/* The directions of positive valence and of higher arousal in the same space. */
	double axis_valence[FM_RANK_DIMS], axis_arousal[FM_RANK_DIMS];
	struct fm_rank_feedback_opts feedback;
};

/*
 * Read a profiles file's text (format "fermata-profiles 2", see recommend(1)), one JSON
 * object with nothing after it but white space: every one of
 * the seven expressions and both axes, each vector's members among the descriptor names
 * (a missing one is 0, an unknown one an error, so that a typo does not pass), numbers finite
 * and within -10..10, valence and arousal within -1..1, the feedback section's numbers in
 * range. Members not named in recommend(1), such as each profile's "why", are ignored.
 * Format 1 (before the taste model) is read too: its feedback section's Rocchio rates
 * "alpha", "beta" and "gamma" are checked and no longer used, and the taste's numbers
 * ("evidence", "other_moods", "similar", "width", "max_share") take FM_RANK_TASTE_DEFAULTS'.
 * FM_EFORMAT with the member at fault; FM_ENOMEM.
 */
int fm_rank_profiles_decode(const char *text, size_t n_bytes, struct fm_rank_profiles *out,
                            struct fm_err *err);
/* fm_read_file then decode; the message does not name the path. */
int fm_rank_profiles_load(const char *path, struct fm_rank_profiles *out, struct fm_err *err);

/*
 * The profiles as a readable profiles file (*text malloc'd, NUL-terminated, ending in a
 * newline), each number to 4 decimals; why[e], when not NULL, is written as expression e's
 * "why", and about as the file's. FM_ENOMEM.
 */
int fm_rank_profiles_encode(const struct fm_rank_profiles *p, const char *about,
                            const char *const why[FM_N_EMOTIONS], char **text, struct fm_err *err);

/*
 * Profiles learnt from the library's tags: each expression that tags at least one song gets
 * the mean standardised vector of those songs (their centroid, the prototype of the user's
 * own idea of that mood); the others, and the valence, arousal, axes and feedback settings,
 * are copied from base. n_songs[e] is the number of songs tagged e. FM_EINVAL when no song
 * carries a tag (or an index was loaded without FM_RANK_WANT_TAGS).
 */
int fm_rank_learn(const struct fm_rank_library *lib, const struct fm_rank_profiles *base,
                  struct fm_rank_profiles *out, size_t n_songs[FM_N_EMOTIONS], struct fm_err *err);

/*
 * Learn profiles (fm_rank_learn) and write them as a profiles file (*text as
 * fm_rank_profiles_encode): each expression's "why" says how many songs tagged it were
 * averaged, or that it was kept from base. Errors as the two.
 */
int fm_rank_learn_encode(const struct fm_rank_library *lib, const struct fm_rank_profiles *base,
                         char **text, struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Feedback                                                                                    */

/* One line of the feedback log, decoded. */
struct fm_rank_event {
	const char *path; /* borrowed from the record it was decoded from */
	size_t n_path;
	enum fm_emotion emotion; /* the mood the song was played for */
	double weight;           /* rating r: (r - 3) / 2; like, skip: the options' weights;
	                            reaction alone: the reaction */
	double t_sec;            /* Unix time of the event, or NAN when the line has none */
};

/*
 * Decode a feedback record: {"path","emotion","rating":1..5} or {"path","emotion",
 * "action":"like"|"skip"}, or fer-react's {"path","emotion","reaction":-1..1} without either,
 * with an optional "time" (see fm_rank_time_decode); other members are ignored. 1 with *ev;
 * 0 for a play without judgement ("rating": null, no "action", and no "reaction" but null),
 * as fer-react writes when it saw no face: *ev then has only the path. FM_EFORMAT naming what
 * is wrong (no path, unknown emotion, rating not a number 1..5, an unknown action, both of
 * rating and action or none of rating, action and reaction, a reaction out of -1..1, a bad
 * time).
 */
int fm_rank_event_decode(const cJSON *rec, const struct fm_rank_feedback_opts *o,
                         struct fm_rank_event *ev, struct fm_err *err);

/*
 * Decode a line of a play log: {"path", "time"} with an optional "time". 1 with *path
 * (borrowed from rec) when the song was played within recent_sec before now_sec, at a time
 * not given, or recent_sec is 0 (all plays count); 0 when it was played longer ago.
 * FM_EFORMAT (no path, a bad time).
 */
int fm_rank_play_decode(const cJSON *rec, double now_sec, double recent_sec, const char **path,
                        struct fm_err *err);

/*
 * The listener's taste, learnt from the feedback log: the songs judged, each with its
 * (decayed) weight for each expression it was judged in. fm_rank_search blends it with the
 * mood's profile as recommend(1) says: a direction in the standardised space (the centroid of
 * the liked songs less that of the disliked ones) and the similarity of each song to the
 * judged ones, weighed against the mood by the amount of evidence. The object borrows the
 * library, which must outlive it; it is read-only during searches.
 */
struct fm_rank_taste;

int fm_rank_taste_new(const struct fm_rank_library *lib, struct fm_rank_taste **out,
                      struct fm_err *err);
void fm_rank_taste_free(struct fm_rank_taste *t);

/*
 * Count one event about song i (found by the caller), decayed by its age at now_sec:
 * weight * 2^(-age / half-life), an event from the future or without a time at full weight.
 * FM_ENOMEM, FM_ELIMIT beyond FM_RANK_MAX_SONGS judged songs, FM_EINVAL for a song not in
 * the library.
 */
int fm_rank_taste_add(struct fm_rank_taste *t, size_t i, const struct fm_rank_event *ev,
                      double now_sec, const struct fm_rank_feedback_opts *o, struct fm_err *err);

/* The number of events counted, of songs judged. */
size_t fm_rank_taste_events(const struct fm_rank_taste *t);
size_t fm_rank_taste_songs(const struct fm_rank_taste *t);

/*
 * At most this many judged songs, the weightiest for the mood ranked, enter song-to-song
 * similarity, so that a search costs O(songs x this x descriptors) at worst; every judged
 * song enters the taste's direction.
 */
#define FM_RANK_TASTE_NEIGHBOURS 256

/*
 * A time as Unix seconds: a JSON number, or an RFC 3339 string ("2024-05-01T18:30:00Z",
 * "2024-05-01T20:30:00.5+02:00"; "t" or a space may separate date and time), whose zone may
 * be left out ("2024-05-01 18:30:00"): the time is then local, in the zone of TZ, as
 * mktime(3) reads it. FM_EFORMAT.
 */
int fm_rank_time_decode(const cJSON *v, double *t_sec, struct fm_err *err);
/* The same for a string (an option's argument): a decimal number or a date and time. */
int fm_rank_time_parse(const char *s, double *t_sec, struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Ranking                                                                                     */

enum fm_rank_strategy {
	FM_RANK_MATCH,  /* the songs closest to the mood */
	FM_RANK_UPLIFT, /* from the mood's energy towards positive valence, song by song */
	FM_RANK_CALM,   /* the mood with lower arousal */
};
/* "match", "uplift", "calm"; NULL out of range. */
const char *fm_rank_strategy_name(enum fm_rank_strategy s);
int fm_rank_strategy_parse(const char *name, enum fm_rank_strategy *out, struct fm_err *err);

/* fm_rank_query.diverse */
#define FM_RANK_DIVERSE_MMR 1u    /* maximal marginal relevance, fm_rank_query.mmr_lambda */
#define FM_RANK_DIVERSE_ARTIST 2u /* at most one song per "artist" */
#define FM_RANK_DIVERSE_ALBUM 4u  /* at most one song per "album" */
/*
 * --diverse: a comma list of mmr (or mmr=lambda, 0..1, which sets *mmr_lambda), artist and
 * album, as FM_RANK_DIVERSE_* in *kinds. FM_EINVAL naming the kind at fault.
 */
int fm_rank_diverse_parse(const char *s, unsigned *kinds, double *mmr_lambda, struct fm_err *err);
/*
 * MMR's default weight of relevance against novelty. Songs that suit one mood lie close
 * together in this space (cosines of 0.7 to 0.9 among them are usual), so the 0.7 often used
 * for documents would keep a near-duplicate; half and half lets a relevant, different song
 * beat it.
 */
#define FM_RANK_MMR_LAMBDA 0.5

/*
 * Uplift's steps: the query of the k-th song of n is (1 - t) mood + t valence axis (both
 * unit), t = min(1, strength * negativity * s), s going evenly from FM_RANK_UPLIFT_FIRST at
 * the first song to FM_RANK_UPLIFT_LAST at the last, negativity the mood's probability mass
 * of negative valence relative to the most negative expression's (1 for sad alone with the
 * shipped profiles, 0 for any mood without negative valence: uplift is then match).
 * Calm's query is mood - (max(mood . arousal axis, 0) + strength / 2) arousal axis: the mood
 * without its arousal above neutral, and below neutral by half the strength.
 */
#define FM_RANK_UPLIFT_FIRST 0.5
#define FM_RANK_UPLIFT_LAST 1.0

struct fm_rank_query {
	double mood[FM_N_EMOTIONS]; /* a distribution (fm_mood_pool_get) */
	enum fm_rank_strategy strategy;
	double strength;         /* > 0: how far uplift and calm move; 1 by default */
	size_t n_results;        /* >= 1 */
	unsigned diverse;        /* FM_RANK_DIVERSE_* */
	double mmr_lambda;       /* 0..1, with FM_RANK_DIVERSE_MMR: 1 is relevance alone */
	const uint8_t *excluded; /* one byte per song, non-zero to leave it out; or NULL */
	const struct fm_rank_taste *taste; /* the listener's taste; NULL or empty: none */
};

struct fm_rank_hit {
	size_t song;  /* index in the library */
	double score; /* cosine similarity in -1..1 with the query of its step */
	char why[96]; /* "slow tempo, minor key, quiet": the descriptors that drove the score */
	/* What the taste added: the judged song it names (SIZE_MAX: the taste had no say), and
	 * how, FM_RANK_TASTE_*: the song named was liked or disliked; the taste lowered the
	 * hit rather than raised it; the song named is the hit itself. */
	size_t taste_song;
	unsigned taste_how;
};
#define FM_RANK_TASTE_LIKED 1u
#define FM_RANK_TASTE_DISLIKED 2u
#define FM_RANK_TASTE_AGAINST 4u
#define FM_RANK_TASTE_SELF 8u

struct fm_rank_work; /* opaque: per-song buffers for one search at a time */

/* Buffers for searching lib (which must outlive the work). FM_ENOMEM. */
int fm_rank_work_new(const struct fm_rank_library *lib, struct fm_rank_work **out,
                     struct fm_err *err);
void fm_rank_work_free(struct fm_rank_work *w);

/*
 * Rank the library for q: the query vector is sum_e mood[e] * profile[e] / |profile[e]|,
 * made unit, then moved by the strategy (recommend(1) gives the formulas); with q->taste
 * (made from the same library) each song's cosine is blended with its taste as
 * lib/rank_taste.c says, by p->feedback's numbers, and a taste without evidence changes
 * nothing, to the bit. hits (room for
 * q->n_results) receives the best first; *n_hits is fewer when the library, less the
 * excluded songs and those diversity rules out, is smaller. Equal scores keep the library's
 * order. Scores are finite: a song whose vector is all zeros scores 0. FM_EINVAL for a query
 * out of range, or a mood to which the profiles give no direction (all of its profiles zero),
 * or diversity by group on an index loaded without FM_RANK_WANT_GROUPS; FM_ENOMEM for the
 * taste's buffers.
 */
int fm_rank_search(struct fm_rank_work *w, const struct fm_rank_profiles *p,
                   const struct fm_rank_query *q, struct fm_rank_hit *hits, size_t *n_hits,
                   struct fm_err *err);

/*
 * Hit h of a search for q as recommend's output record (*out, the caller's): "rank" (1 for
 * the best), "path", "score" to four decimals, "emotion" (q's most likely expression),
 * "mood" (q's mood: each expression of share 0.01 or more, largest first, to two decimals),
 * "strategy", "why", "query" (a copy of query, when not NULL), then the song's own fields
 * in their order, its "emotion" and "mood" tags renamed "song_emotion" and "song_mood".
 * Errors of
 * fm_rank_library_record (an index's damaged line), FM_ENOMEM.
 */
int fm_rank_hit_record(const struct fm_rank_library *lib, const struct fm_rank_query *q,
                       const struct fm_rank_hit *h, size_t rank, const cJSON *query, cJSON **out,
                       struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Readable formats of the output records (lib/rank_format.c)                                  */

/* The first line of an extended M3U playlist, before its entries. */
#define FM_RANK_M3U_HEADER "#EXTM3U\n"

/*
 * Output record rec (fm_rank_hit_record's) as an entry of an extended M3U playlist, two lines
 * in *text (malloc'd, the caller's; n_bytes long): "#EXTINF:<seconds>,<name>", the "duration"
 * rounded to whole seconds (-1 without a usable one) and "artist - title", "title" or else
 * the file's name (control characters as spaces); then the song's location. A relative
 * "path" is taken from cwd (absolute); "." and ".." are resolved by their text. The location
 * is the absolute path when base is NULL, else the path relative to base (the playlist's
 * folder, absolute), "./" put before one that begins with '#', which a player would take for
 * a comment. A path holding a control character (a newline would cut the entry in two) or
 * ending in a space (which players trim) is written as an absolute file: URI, its bytes
 * percent-encoded (RFC 8089), as M3U readers generally take URIs too. FM_EFORMAT for a
 * record without "path"; FM_ENOMEM.
 */
int fm_rank_m3u_entry(const cJSON *rec, const char *cwd, const char *base, char **text,
                      size_t *n_bytes, struct fm_err *err);

/* Terminal columns of UTF-8 text s under the caller's LC_CTYPE (wcwidth(3)); control
 * characters and what the locale cannot print count one column each. */
size_t fm_rank_text_width(const char *s);

/*
 * One ranking's records recs[0..n) (n >= 1, fm_rank_hit_record's) as a table for people, in
 * *text (malloc'd, the caller's; n_bytes long): a heading saying what the ranking is for (its
 * "query", "mood" as "neutral 45%, angry 35%" or else "emotion", and "strategy"), a line of column
 * names, then a line per song: rank, "title" (else "path"), "artist" (the column left out when no
 * song has one), score to two decimals, and why; columns aligned by their width in terminal columns
 * (fm_rank_text_width), control characters shown as '?'. With max_cols > 0 the lines are fit
 * to that many columns: the why is cut first, to 20 columns, then the title and artist, to 8,
 * then the why to 10, each cut marked with "\u2026"; 0: nothing is cut. FM_EINVAL for n 0;
 * FM_ENOMEM.
 */
int fm_rank_text_table(const cJSON *const *recs, size_t n, size_t max_cols, char **text,
                       size_t *n_bytes, struct fm_err *err);

#endif
