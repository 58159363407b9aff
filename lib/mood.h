/*
 * lib/mood.h: the seven expressions and what the tools do with distributions over them:
 * their names, the most likely one, checking and normalising a distribution, pooling the
 * faces of one record into the moment's distribution (fer-classify --smooth and recommend
 * both pool through fm_mood_record, so that they weigh a record's faces alike), pooling
 * records over time with a half-life (recommend's mood), and the smoothed timeline of a
 * stream of frames with its brief expression changes (fer-classify --smooth, fer-react).
 *
 * Brief expression changes: the classifier's output leaving the listener's own baseline for
 * a moment (a smile at a line of a song, a wince) and coming back. They are changes of what
 * the network reads in each frame, spotted with a frame count, a margin over the baseline,
 * hysteresis and a longest duration (fm_mood_timeline_add). They are not micro-expressions:
 * micro-expression spotting (the MEGC challenges on CAS(ME)^2 and SAMM long videos) works
 * from facial motion between consecutive frames, optical flow or feature differences around
 * the eyes, brows and mouth, and this module sees no motion, only each frame's distribution.
 * The baseline is a second, slower average, so that a lasting change of expression becomes
 * the new baseline instead of an event.
 */
#ifndef FM_MOOD_H
#define FM_MOOD_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base.h"

/* The seven FER2013 classes, in this order everywhere: records, models, tables. */
enum fm_emotion {
	FM_ANGRY,
	FM_DISGUST,
	FM_FEAR,
	FM_HAPPY,
	FM_SAD,
	FM_SURPRISE,
	FM_NEUTRAL,
	FM_N_EMOTIONS
};

/*
 * The "emotion" of a face the classifier was not sure enough of (fer-classify
 * --min-confidence): not an eighth class but the absence of an answer. Its "scores" stay on
 * the face; fm_mood_record passes such a face over, as it would a non-face.
 */
#define FM_MOOD_UNCERTAIN "uncertain"

/* "angry" ... "neutral" (lower case); NULL for a value out of range. The string is static. */
const char *fm_emotion_name(enum fm_emotion e);
/*
 * A name in any case ("sad", "Sad", "SAD"), as the names are written in records, in
 * options and in folder names alike. FM_EINVAL for an unknown one, its message listing
 * the seven.
 */
int fm_emotion_parse(const char *name, enum fm_emotion *out, struct fm_err *err);

/*
 * The valence of each expression, -1 (unpleasant) .. 1 (pleasant): its place on Russell's
 * circumplex of affect (Russell 1980), the numbers the shipped mood profiles use:
 * happy 0.8, surprise 0.2, neutral 0, angry -0.6, fear -0.6, disgust -0.7, sad -0.8.
 * Surprise is only slightly positive because a surprised face goes with good and bad news
 * alike; happy and sad are the poles, as a smile and a lowered brow are the clearest signs
 * of liking and disliking what one hears (fer-react(1)).
 */
double fm_emotion_valence(enum fm_emotion e);
/* The expected valence of a distribution: sum of p[e] * fm_emotion_valence(e). */
double fm_mood_valence(const double p[FM_N_EMOTIONS]);

/* The most likely expression of p (the first of equals, in the order of enum fm_emotion). */
enum fm_emotion fm_mood_top(const double p[FM_N_EMOTIONS]);
/* The same for a network's output. */
enum fm_emotion fm_mood_top_float(const float p[FM_N_EMOTIONS]);

/*
 * Scale p in place to sum to 1. Every value must be a finite number >= 0 and one at least
 * above 0 (FM_EINVAL, p unchanged). Values as large as DBL_MAX are fine: they are scaled
 * by the largest before they are summed.
 */
int fm_mood_normalize(double p[FM_N_EMOTIONS], struct fm_err *err);

/* Whether p is a distribution: finite numbers >= 0 summing to 1 within 1e-6. FM_EINVAL. */
int fm_mood_check(const double p[FM_N_EMOTIONS], struct fm_err *err);

/*
 * What is left of a weight after dt_sec at half_life_sec: 2^(-dt / half-life), in (0, 1];
 * 1 when dt_sec <= 0 or half_life_sec <= 0 (no decay). It underflows to 0 after about a
 * thousand half-lives.
 */
double fm_mood_decay(double dt_sec, double half_life_sec);

/*
 * An object of expression names to probabilities ({"sad":0.7,"neutral":0.3}) as a
 * distribution: names among the seven (in any case; the first of duplicates counts),
 * numbers >= 0, at least one > 0; missing names are 0 and the sum is renormalised to 1.
 * FM_EFORMAT.
 */
int fm_mood_scores_decode(const cJSON *scores, double p[FM_N_EMOTIONS], struct fm_err *err);
/* The same from JSON text (an option's argument); FM_EFORMAT also for text that is not JSON. */
int fm_mood_scores_parse(const char *json, double p[FM_N_EMOTIONS], struct fm_err *err);

/*
 * The moment's distribution from one record (a photo, a frame), the rule of fermata(7)'s
 * "Pooling faces":
 *   - each face of "faces" gives a distribution: its "scores" renormalised to sum to 1, or,
 *     with no "scores", certainty of its "emotion";
 *   - it weighs w * h * score: the box's area in pixels ("w" and "h", each a finite number
 *     > 0; a face without such a box, a negative one say, counts as a 1 by 1 box) times
 *     the detection "score" when that is in (0, 1]; the weight is then held within
 *     [1e-12, 1e18], far beyond any real face either way, so that huge boxes cannot make
 *     the sums infinite and the result NaN;
 *   - the record's distribution is the weighted mean of its faces';
 *   - a face whose "emotion" is FM_MOOD_UNCERTAIN ("uncertain", fer-classify
 *     --min-confidence) is passed over, its "scores" too: the classifier said it was not
 *     sure this is a face it can read, so the mood is what the other faces say;
 *   - a record without "faces" but with "scores" or "emotion" of its own is one face (for
 *     scripts), and none when that "emotion" is "uncertain"; an "event" record (fer-classify
 * --smooth's brief expressions, which summarise frames already pooled) has no face. *n_faces is the
 * number of faces pooled; 0 (p untouched) when the record has none. On -1, FM_EFORMAT: "faces" that
 * is not an array, a face that is not an object or has neither valid "scores" nor a known
 * "emotion"; the message names the face ("face 2: ...").
 */
int fm_mood_record(const cJSON *rec, double p[FM_N_EMOTIONS], size_t *n_faces, struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Records pooled over time (recommend's mood)                                                 */

struct fm_mood_pool {
	double half_life_sec;    /* 0: every record counts whatever its time */
	double p[FM_N_EMOTIONS]; /* the distribution pooled so far */
	double weight;           /* the records behind it, decayed; may underflow to 0 */
	double last_t;           /* the latest record time seen */
	uint64_t n_records;
	size_t n_faces;
};

/* An empty pool; half_life_sec >= 0 (0: no decay). */
void fm_mood_pool_init(struct fm_mood_pool *m, double half_life_sec);

/*
 * Pool one record: its distribution (fm_mood_record) weighs 1, so that a portrait does not
 * outweigh a group photo by the size of its one face. With a half-life, the pool decays by
 * fm_mood_decay(dt) before the record is added, dt the time from the latest record to this
 * one's "t" (records without "t" are one second apart; a time that goes back counts as no
 * time). The pool is kept as a distribution and a weight rather than as weighted sums, so
 * that a long gap, which takes the weight below the smallest double, leaves the last mood in
 * place instead of nothing. *n_used is the number of faces pooled (0: the record had none).
 * On -1 (fm_mood_record's errors) nothing changes.
 */
int fm_mood_pool_add(struct fm_mood_pool *m, const cJSON *rec, size_t *n_used, struct fm_err *err);

/* The pooled distribution, summing to 1; FM_EINVAL when nothing was pooled. */
int fm_mood_pool_get(const struct fm_mood_pool *m, double p[FM_N_EMOTIONS], struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* A stream of frames: smoothing and brief expressions (fer-classify --smooth)                */

struct fm_mood_timeline_opts {
	double half_life_sec;          /* > 0: the smoothed distribution's memory */
	double baseline_half_life_sec; /* > 0: the slower baseline that events depart from */
	double brief_min_sec;          /* >= 0: shorter departures are flicker, not events */
	double brief_max_sec;          /* > brief_min_sec: longer ones are changes of mood */
	double min_prob; /* (0, 1]: at its apex, an event's expression is on top, this sure */
	size_t brief_min_frames; /* >= 1: frames an event needs at brief_enter or more */
	double brief_enter;      /* (0, 1]: a sure frame's probability of the expression above the
	                          * baseline's probability of it */
	double brief_exit;       /* (0, brief_enter]: a departure lasts while its frames' margin
	                          * over the baseline is at least this (hysteresis) */
};
/*
 * Half-life 0.5 s, baseline 2 s; events of 0.2 to 1 s with 3 frames 0.3 above the baseline,
 * the apex at 0.5 or more, lasting while 0.15 above it. Three frames, so that one or two
 * misclassified frames are never an event (at 10 frames a second a 0.3 s expression has
 * three); 0.2 s, so that at 30 frames a second and more an event still spans several frames;
 * 1 s, as a passing reaction is over within about a second, while a longer one is the
 * face's expression changing, which the baseline then follows; the exit margin at half the
 * entry one keeps an event whole through frames that are less sure, and times its onset
 * and offset where it leaves the noise rather than where it is sure.
 */
/* clang-format off */
#define FM_MOOD_TIMELINE_OPTS_DEFAULT { 0.5, 2.0, 0.2, 1.0, 0.5, 3, 0.3, 0.15 }
/* clang-format on */

/*
 * A brief expression change, reported when the face has come back to the baseline: the
 * interval of frames whose departing expression stayed brief_exit or more above the baseline
 * (never two frames in a row below it), onset start_sec, apex apex_sec, offset start_sec +
 * duration_sec.
 */
struct fm_mood_brief {
	enum fm_emotion emotion;  /* the departing expression */
	enum fm_emotion baseline; /* the baseline's most likely expression, it departed from */
	double start_sec;         /* onset: the first departing frame's time */
	double duration_sec;      /* from it to the first frame back (the offset) */
	double peak;              /* the departing expression's highest probability */
	double apex_sec;          /* the time of the frame with that highest probability */
	double baseline_prob;     /* the baseline's probability of the departing expression */
	size_t n_frames;          /* its frames at brief_exit or more */
};

struct fm_mood_timeline;

/* FM_EINVAL for options out of their ranges; FM_ENOMEM. */
int fm_mood_timeline_new(const struct fm_mood_timeline_opts *o, struct fm_mood_timeline **out,
                         struct fm_err *err);
void fm_mood_timeline_free(struct fm_mood_timeline *tl);

/*
 * Add the distribution p (renormalised here through fm_mood_normalize, whose FM_EINVAL it
 * shares) seen at t_sec, which must not go back in time (FM_EINVAL). Each frame moves the
 * smoothed distribution toward p by 1 - fm_mood_decay(dt, half-life), so that frames may
 * come at any pace. smoothed receives the smoothed distribution. Returns 1 and fills *event
 * when this frame ends a brief expression change, else 0; -1 on error, with nothing changed.
 *
 * The spotting works on p as given, each frame's own distribution, not on the smoothed one
 * (which would flatten and delay a third of a second's expression). A departure opens at a
 * frame where an expression other than the baseline's most likely one is brief_exit or more
 * above the baseline's probability of it, lasts while that expression stays so, and closes
 * at the second frame in a row that is not (its offset the first of them); the baseline is
 * held meanwhile. It is an event when brief_min_frames of its frames are brief_enter above
 * the baseline, at its apex the expression is the frame's most likely at min_prob or more,
 * it lasted brief_min_sec to brief_max_sec from its first frame to its offset, and the frame
 * that closes it has the baseline's most likely expression on top (a face that goes on to a
 * third expression has not come back). Once it lasts beyond brief_max_sec, the mean of its
 * frames becomes the baseline: the face has changed. So an event is reported two frames
 * after its last departing one, and a departure still open when the frames end is none.
 */
int fm_mood_timeline_add(struct fm_mood_timeline *tl, double t_sec, const double p[FM_N_EMOTIONS],
                         double smoothed[FM_N_EMOTIONS], struct fm_mood_brief *event,
                         struct fm_err *err);

/*
 * A frame time after which the timeline's past counts for nothing: a gap this many times the
 * longer of the two half-lives leaves the past a weight of 2^-20, under a millionth.
 */
#define FM_MOOD_SEGMENT_HALF_LIVES 20

/*
 * Whether a frame at t_sec cannot continue the timeline and must start a new segment
 * (fm_mood_timeline_reset): t_sec is before the last frame's time (a second recording
 * appended to the first, both starting at 0), or later than it by more than
 * FM_MOOD_SEGMENT_HALF_LIVES of the longer half-life (a paused stream, or an absurd time
 * such as 1e300, which would otherwise make every later frame "before the last one").
 * False before the first frame. A non-finite t_sec is no frame time at all: the caller
 * refuses it (fm_mood_timeline_add does, FM_EINVAL).
 */
bool fm_mood_timeline_breaks(const struct fm_mood_timeline *tl, double t_sec);

/* Forget every frame: the next one starts the timeline afresh, a departure still open is none. */
void fm_mood_timeline_reset(struct fm_mood_timeline *tl);

/* ------------------------------------------------------------------------------------------ */
/* Windows of frames: a baseline, a song (fer-react)                                           */

/*
 * The frames of a window of time pooled alike, each frame's distribution (fm_mood_record's)
 * counting once: the listener's baseline before a song, their face during it. Start from
 * {0} (an empty window).
 */
struct fm_mood_window {
	double sum[FM_N_EMOTIONS]; /* the frames' distributions, added */
	size_t n_frames;
};

/* Add one frame's distribution p (a distribution: fm_mood_check holds). */
void fm_mood_window_add(struct fm_mood_window *w, const double p[FM_N_EMOTIONS]);
/* The window's mean distribution; FM_EINVAL (p untouched) when it holds no frame. */
int fm_mood_window_mean(const struct fm_mood_window *w, double p[FM_N_EMOTIONS],
                        struct fm_err *err);
/*
 * The mean valence of the window's frames (fm_mood_valence of the mean, which is the mean of
 * the frames' valences, the valence being linear); NAN for an empty window.
 */
double fm_mood_window_valence(const struct fm_mood_window *w);

/*
 * What a brief expression says of liking or disliking: the valence (fm_emotion_valence) of
 * a smile (happy, 0.8) or of an expression that lowers the brows (angry -0.6, disgust -0.7,
 * sad -0.8), the expressions that tell it (Tkalcic et al. 2019); 0 for the others, which
 * tell nothing: neutral is the face relaxing (often back from a baseline that a lasting
 * expression has moved), surprise and fear come with good and bad news alike. The
 * expression it departed from does not count, since the baseline follows a lasting mood.
 */
double fm_mood_brief_valence(const struct fm_mood_brief *b);

/* ------------------------------------------------------------------------------------------ */
/* A run of records summarised (fer-summary)                                                   */

/* A frame holds until the next one, at most this long: a longer gap is a pause. */
#define FM_MOOD_SUMMARY_HOLD_SEC 10.0

/*
 * Counts over the records of a run, plain data: start with fm_mood_summary_init. Faces count
 * by their expression: their "emotion" when it is one of the seven (an "uncertain" one
 * counts apart), else the most likely of their "scores"; a record without "faces" but with
 * "scores" or "emotion" is one face, as in fm_mood_record. A record with a finite "t" is a
 * frame: its expression is its "smoothed_emotion" (fer-classify --smooth) when it has one,
 * else the most likely of its faces pooled by fm_mood_record, else none (no face); it holds
 * from its "t" until the next frame's, at most FM_MOOD_SUMMARY_HOLD_SEC, none when the next
 * has the same time, and the last interval seen when the next goes back in time (a second
 * recording) or when it is the last frame. An "event" record counts as a brief expression
 * change when it is "brief", and as nothing else.
 */
struct fm_mood_summary {
	uint64_t n_records;                 /* records counted, events left out */
	uint64_t n_faces[FM_N_EMOTIONS];    /* faces per expression */
	uint64_t n_uncertain;               /* faces "uncertain" */
	uint64_t n_frames;                  /* records with "t" */
	uint64_t frames[FM_N_EMOTIONS + 1]; /* frames per expression; [FM_N_EMOTIONS]: no face */
	double sec[FM_N_EMOTIONS];          /* seconds per expression, the last frame's left out */
	double seconds;                     /* seconds of all frames, the last frame's left out */
	uint64_t n_brief;                   /* "event":"brief" records */
	double last_t, last_dt;             /* the last frame's time, and the last interval */
	int last_label;                     /* the last frame's expression, -1 for none */
};

void fm_mood_summary_init(struct fm_mood_summary *s);
/*
 * Count one record. On -1 nothing is counted: FM_EFORMAT for a "t" that is not a finite
 * number, and fm_mood_record's errors (faces that are not, scores that are no distribution).
 */
int fm_mood_summary_add(struct fm_mood_summary *s, const cJSON *rec, struct fm_err *err);
/*
 * The summary as a record (*out, the caller's): "summary" (what "share" is of: "time" when
 * a frame was counted, else "faces"), "records", "faces" (with one of the seven
 * expressions), "uncertain", "counts" (faces per expression); for frames "frames" and
 * "seconds" (what they cover, the last frame holding as long as the interval before it);
 * "share" (seconds per expression over the seconds with a face, or faces per expression
 * over the faces, to four decimals; frames alike when the frames cover no time) and
 * "dominant" (the largest share, the first of equals), both left out when there is nothing
 * to share; for frames "brief" and "brief_per_minute" (over "seconds", left out when that
 * is 0). FM_ENOMEM.
 */
int fm_mood_summary_record(const struct fm_mood_summary *s, cJSON **out, struct fm_err *err);
/*
 * The same as a short table to read (*text malloc'd, n_bytes long): what was counted, a
 * line per expression shown, the largest share first, with a bar of '#' (40 for all), the
 * expressions with no share together on one line, and the dominant one. FM_ENOMEM.
 */
int fm_mood_summary_table(const struct fm_mood_summary *s, char **text, size_t *n_bytes,
                          struct fm_err *err);

/* ------------------------------------------------------------------------------------------ */
/* A mood held against jitter (recommend --each on a stream)                                   */

/*
 * The total variation distance between two distributions: half the sum of the absolute
 * differences, 0 (the same) to 1 (nothing in common), the share of probability that moved.
 */
double fm_mood_distance(const double p[FM_N_EMOTIONS], const double q[FM_N_EMOTIONS]);

/*
 * A mood held so that what it drives (a ranking) does not flicker with a stream's jitter:
 * hysteresis and a minimum dwell. A new mood replaces the held one only when both
 * dwell_sec have passed since the held one was set and the new one lies min_change or
 * more from it (fm_mood_distance): small swings around a tie between two songs never change
 * the ranking, and a real change does, at most once per dwell. Start from {0} (nothing
 * held).
 */
struct fm_mood_hold {
	double p[FM_N_EMOTIONS]; /* the mood held */
	double since_sec;        /* when it was set */
	bool set;
};

/*
 * Whether p at t_sec replaces the held mood: true when nothing is held, or when t_sec is
 * dwell_sec or more after it was set and fm_mood_distance(p, held) >= min_change (both >= 0;
 * 0 and 0 let every mood through). A time before since_sec counts as no time passed.
 */
bool fm_mood_hold_moves(const struct fm_mood_hold *h, const double p[FM_N_EMOTIONS], double t_sec,
                        double dwell_sec, double min_change);
/* Hold p from t_sec on. */
void fm_mood_hold_set(struct fm_mood_hold *h, const double p[FM_N_EMOTIONS], double t_sec);

#endif
