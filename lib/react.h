/*
 * lib/react.h: one judgement per song played, from the listener's face (fer-react): a play
 * log's lines decoded onto the frames' clock, a stream of frames (fer-classify's records,
 * each with "t") gathered per play into the listener's baseline before the song and their
 * face during it, and the record that recommend --feedback reads.
 *
 * The reaction follows the studies that used faces as feedback on music (Tkalcic et al.
 * 2019): what tells whether a song was liked is how much more the listener smiled, or
 * lowered their brows, while it played than just before it, against their own baseline;
 * brief expressions (lib/mood's timeline) are added evidence, never the judgement alone.
 * Both are counted in valence (fm_emotion_valence), whose largest weights are exactly
 * those expressions: happy 0.8 against sad 0.8, disgust 0.7 and angry 0.6.
 */
#ifndef FM_REACT_H
#define FM_REACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base.h"

/* --baseline's default: the seconds before a song whose frames are the baseline. */
#define FM_REACT_BASELINE_SEC 10.0
/* Fewer frames with a face than this in a window make no baseline (see fm_react_next). */
#define FM_REACT_MIN_BASELINE_FRAMES 3
/*
 * A play is judged once a frame later than its end by this much has come, so that a brief
 * expression that starts before the end and is still under way is counted; at the end of
 * the input every play is judged.
 */
#define FM_REACT_SETTLE_SEC 2.0
/* The most a song's brief expressions move its reaction, either way. */
#define FM_REACT_BRIEF_WEIGHT 0.25
/*
 * The listener's usual brief expressions, against which a song's are measured, start as
 * this many of no valence change (see fm_react_next).
 */
#define FM_REACT_BRIEF_PRIOR 3
/* Brief expressions listed in a record at most; beyond these they count but are not listed. */
#define FM_REACT_MAX_BRIEF 64

struct fm_react_opts {
	double baseline_sec; /* > 0, at most 3600: the window before a start */
	bool has_origin;     /* the play log's times are wall-clock times */
	double origin_sec;   /* with has_origin: the Unix time of the frames' t = 0 */
};

/* One line of the play log, decoded. */
struct fm_react_play {
	double start_sec, end_sec; /* on the frames' clock (the numbers of "t") */
	double time_sec;           /* the start as Unix time; NAN without an origin */
};

/*
 * Decode a play log line: {"path": "...", "start": T, "end": T} with any other fields.
 * Without an origin, T is a number of seconds on the frames' clock; with one, T is a
 * wall-clock time (Unix seconds, or an RFC 3339 string, as fm_rank_time_decode reads them),
 * converted by subtracting the origin. FM_EFORMAT naming what is wrong: no "path" string, no
 * "start" or "end", a time that is neither a number nor a date, a date without an origin
 * (the message says to give --origin), an end before the start.
 */
int fm_react_play_decode(const cJSON *rec, const struct fm_react_opts *o,
                         struct fm_react_play *play, struct fm_err *err);

struct fm_react; /* opaque: the plays waiting for their judgement, the brief-expression timeline */

/* FM_EINVAL for options out of range; FM_ENOMEM. */
int fm_react_new(const struct fm_react_opts *o, struct fm_react **out, struct fm_err *err);
/* Frees the plays not yet taken with fm_react_next too. */
void fm_react_free(struct fm_react *r);

/*
 * Queue the next line of the play log, in the log's order; r takes rec in every case. line
 * is the caller's tag for it (its line number), handed back by fm_react_next. A record that
 * arrived with "error" is queued to pass through as it is. Returns 0; or -1 with err:
 * FM_EFORMAT when the play is refused (fm_react_play_decode's reasons, or it starts before
 * the end of the play queued before it: plays must not overlap), its record then coming
 * out in its turn with that "error"; FM_ENOMEM (rec freed).
 */
int fm_react_play_add(struct fm_react *r, cJSON *rec, uint64_t line, struct fm_err *err);

/*
 * Add one frame: fer-classify's record with "t" (seconds, never going back) and "faces",
 * pooled by fm_mood_record. A record with "event" (fer-classify --smooth's brief
 * expressions) is no frame: 0, nothing changes. A frame without faces still tells that the
 * stream has reached its "t". -1 with err, FM_EFORMAT, nothing changed: no "t", a "t" that
 * is not a number or goes back in time, faces that cannot be pooled; FM_ENOMEM (when it
 * comes from keeping a brief expression, the frame is counted and the expression lost).
 */
int fm_react_frame_add(struct fm_react *r, const cJSON *rec, struct fm_err *err);

/* The input has ended: every play queued is ready to be judged. */
void fm_react_finish(struct fm_react *r);

struct fm_react_out {
	cJSON *rec;    /* the caller's: the play log line and its judgement, or its "error" */
	uint64_t line; /* as given to fm_react_play_add */
	/*
	 * rec's "error" (borrowed from rec) when the play could not be judged here and nobody
	 * has said so yet: a play outside the frames' time span. NULL for a judged play, and
	 * for one that fm_react_play_add refused or that arrived with "error".
	 */
	const char *error;
};

/*
 * The next play's record, in the log's order, once it is ready (a frame more than
 * FM_REACT_SETTLE_SEC after its end has come, or fm_react_finish): 1 with *out, 0 when the
 * next play waits for frames or none is left, -1 with err (FM_ENOMEM; that play is lost).
 *
 * A judged play's record is its line with, set: "start" and "end" on the frames' clock and
 * "time" (the start as Unix seconds) when there is an origin; "emotion", the most likely
 * expression of the mean of the baseline's frames (the opening's when there is no frame
 * before the start; null with neither); "rating" 1..5 and "reaction" -1..1; "frames", the
 * frames with a face during the play; "frames_before", those of the baseline window;
 * "baseline", "before" or "opening"; "valence_before" and "valence_during"; "brief", the
 * brief expressions that started during the play, [{"emotion", "start", "duration"}].
 *
 * The baseline is the frames with a face within the --baseline seconds before the start:
 * those of them between the songs, after the end of the play before, when there are at
 * least FM_REACT_MIN_BASELINE_FRAMES (the song before had its own reaction), else all of
 * them ("frames_before" counts those used). With fewer than FM_REACT_MIN_BASELINE_FRAMES
 * still (the first song, the camera started late), the song's own opening stands in: the frames of
 * its first --baseline seconds are the baseline and those after them the face during it. A play
 * whose frames give no face during it, or neither baseline, has "rating" and "reaction" null and a
 * "note" saying why: no guess.
 *
 *   reaction = clamp((valence_during - valence_before) / 0.8 + brief, -1, 1)
 *   brief    = FM_REACT_BRIEF_WEIGHT * clamp((mean - usual) / 0.8, -1, 1) * n / (n + 1)
 *   rating   = 3 + 2 * reaction, rounded to the nearest whole number (halves away from 3)
 *
 * where n is the number of brief smiles and brow-lowering expressions (fm_mood_brief_valence
 * not 0) that started during the play, mean their mean fm_mood_brief_valence, and usual
 * that of the listener's others in the stream so far, counted with FM_REACT_BRIEF_PRIOR
 * more of 0: a classifier's flicker,
 * which comes in every song alike, cancels out, a few real ones during one song stand out,
 * and one alone counts half.
 * 0.8 is happy's valence: a neutral face that breaks into a full smile for the whole song
 * is 1. recommend counts a rating r as (r - 3) / 2, so it learns the reaction to the
 * nearest half. A play entirely before the first frame or after the last is refused:
 * "error" ("outside the frames' time span"), returned in out->error.
 */
int fm_react_next(struct fm_react *r, struct fm_react_out *out, struct fm_err *err);

#endif
