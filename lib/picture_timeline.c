/*
 * lib/picture_timeline.c: a stream's expressions over time (fer-annotate --timeline): the
 * seven smoothed probabilities of fer-classify --smooth stacked from the bottom, so that the
 * height of a colour is its share of the face at that moment and the stack always fills
 * the plot; brief expression changes marked along the top; the songs played as bands.
 *
 * A stacked area rather than seven lines: with seven probabilities summing to one, lines
 * cross and hide each other, while the stack reads as a share at every moment. cairo draws
 * the same picture onto an SVG surface or an image surface, so the two files agree.
 */
#include "picture_int.h"

#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame {
	double t_sec;
	float p[FM_N_EMOTIONS];
	bool gap; /* a frame with no face: the plot breaks here */
};

struct event {
	int emotion;
	double start_sec, duration_sec;
};

struct song {
	char label[64];
	double start_sec, end_sec;
	int rating;
};

struct fm_picture_timeline {
	struct frame *frames;
	size_t n_frames, cap_frames, n_faces; /* n_faces: frames that are not gaps */
	struct event *events;
	size_t n_events, cap_events;
	struct song *songs;
	size_t n_songs, cap_songs;
};

int
fm_picture_timeline_new(struct fm_picture_timeline **out, struct fm_err *err)
{
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a timeline");
	return 0;
}

void
fm_picture_timeline_free(struct fm_picture_timeline *tl)
{
	if (tl == NULL)
		return;
	free(tl->frames);
	free(tl->events);
	free(tl->songs);
	free(tl);
}

size_t
fm_picture_timeline_frames(const struct fm_picture_timeline *tl)
{
	return tl->n_faces;
}

/* Room for one more in an array of size bytes per item; -1 with err. */
static int
grow(void **items, size_t *cap, size_t n, size_t size, const struct fm_picture_timeline *tl,
     struct fm_err *err)
{
	if (tl->n_frames + tl->n_events + tl->n_songs >= FM_PICTURE_TIMELINE_MAX_ITEMS)
		return fm_err_set(err, FM_ELIMIT, "the timeline holds %d frames, events and songs",
		                  FM_PICTURE_TIMELINE_MAX_ITEMS);
	if (n < *cap)
		return 0;
	size_t want = *cap ? 2 * *cap : 256;
	void *p = realloc(*items, want * size);

	if (p == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the timeline");
	*items = p;
	*cap = want;
	return 0;
}

/*
 * Times beyond this many seconds either way are no stream's (3000 years): refused, so that
 * the axis's span stays finite and its ticks apart at a double's precision.
 */
#define MAX_TIME_SEC 1e11

static int
number(const cJSON *rec, const char *name, double *v, struct fm_err *err)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(rec, name);

	if (!cJSON_IsNumber(n) || !isfinite(n->valuedouble))
		return fm_err_set(err, FM_EFORMAT, "\"%s\" is not a number of seconds", name);
	if (fabs(n->valuedouble) > MAX_TIME_SEC)
		return fm_err_set(err, FM_EFORMAT, "\"%s\" %g is beyond a timeline's %g seconds",
		                  name, n->valuedouble, MAX_TIME_SEC);
	*v = n->valuedouble;
	return 0;
}

static int
add_event(struct fm_picture_timeline *tl, const cJSON *rec, struct fm_err *err)
{
	const cJSON *emo = cJSON_GetObjectItemCaseSensitive(rec, "emotion");
	struct event ev;
	enum fm_emotion e;
	struct fm_err why;

	if (!cJSON_IsString(emo))
		return fm_err_set(err, FM_EFORMAT, "an event without an \"emotion\"");
	if (fm_emotion_parse(emo->valuestring, &e, &why) == -1)
		return fm_err_set(err, FM_EFORMAT, "event: %s", why.msg);
	if (number(rec, "start", &ev.start_sec, err) == -1 ||
	    number(rec, "duration", &ev.duration_sec, err) == -1)
		return -1;
	if (ev.duration_sec < 0)
		return fm_err_set(err, FM_EFORMAT, "an event's \"duration\" is below 0");
	ev.emotion = (int)e;
	if (grow((void **)&tl->events, &tl->cap_events, tl->n_events, sizeof ev, tl, err) == -1)
		return -1;
	tl->events[tl->n_events++] = ev;
	return 0;
}

int
fm_picture_timeline_song(struct fm_picture_timeline *tl, const char *label, double start_sec,
                         double end_sec, int rating, struct fm_err *err)
{
	struct song s = {.start_sec = start_sec, .end_sec = end_sec, .rating = rating};
	const char *base = strrchr(label, '/');

	if (!isfinite(start_sec) || !isfinite(end_sec) || end_sec < start_sec ||
	    fabs(start_sec) > MAX_TIME_SEC || fabs(end_sec) > MAX_TIME_SEC)
		return fm_err_set(
		    err, FM_EINVAL,
		    "a song from %g to %g s: it must end after it starts, within %g s", start_sec,
		    end_sec, MAX_TIME_SEC);
	base = base != NULL && base[1] != '\0' ? base + 1 : label;
	const char *dot = strrchr(base, '.');
	int n = dot != NULL && dot != base ? (int)(dot - base) : (int)strlen(base);

	snprintf(s.label, sizeof s.label, "%.*s", n, base);
	if (rating < 1 || rating > 5)
		s.rating = 0;
	if (grow((void **)&tl->songs, &tl->cap_songs, tl->n_songs, sizeof s, tl, err) == -1)
		return -1;
	tl->songs[tl->n_songs++] = s;
	return 0;
}

int
fm_picture_timeline_add(struct fm_picture_timeline *tl, const cJSON *rec, struct fm_err *err)
{
	const cJSON *smoothed = cJSON_GetObjectItemCaseSensitive(rec, "smoothed");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "t");
	double p[FM_N_EMOTIONS];
	struct frame f = {0};
	struct fm_err why;
	size_t n_faces = 0;

	if (!cJSON_IsObject(rec))
		return fm_err_set(err, FM_EFORMAT, "not a record");
	if (cJSON_GetObjectItemCaseSensitive(rec, "event") != NULL)
		return add_event(tl, rec, err);
	if (t == NULL && cJSON_GetObjectItemCaseSensitive(rec, "start") != NULL &&
	    cJSON_GetObjectItemCaseSensitive(rec, "end") != NULL) {
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(rec, "path");
		const cJSON *rating = cJSON_GetObjectItemCaseSensitive(rec, "rating");
		double start = 0, end = 0;

		if (number(rec, "start", &start, err) == -1 || number(rec, "end", &end, err) == -1)
			return -1;
		if (end < start)
			return fm_err_set(err, FM_EFORMAT, "a song that ends before it starts");
		return fm_picture_timeline_song(
		    tl, cJSON_IsString(path) ? path->valuestring : "song", start, end,
		    cJSON_IsNumber(rating) ? (int)rating->valuedouble : 0, err);
	}
	if (t == NULL)
		return fm_err_set(err, FM_EFORMAT, "no \"t\": not a frame of a stream");
	if (number(rec, "t", &f.t_sec, err) == -1)
		return -1;
	if (tl->n_frames > 0 && f.t_sec < tl->frames[tl->n_frames - 1].t_sec)
		return fm_err_set(err, FM_EFORMAT, "\"t\" %g goes back before the frame before, %g",
		                  f.t_sec, tl->frames[tl->n_frames - 1].t_sec);
	if (smoothed != NULL) {
		if (fm_mood_scores_decode(smoothed, p, &why) == -1)
			return fm_err_set(err, FM_EFORMAT, "\"smoothed\": %s", why.msg);
		n_faces = 1;
	} else if (fm_mood_record(rec, p, &n_faces, err) == -1) {
		return -1;
	}
	f.gap = n_faces == 0;
	for (int k = 0; k < FM_N_EMOTIONS && !f.gap; k++)
		f.p[k] = (float)p[k];
	if (grow((void **)&tl->frames, &tl->cap_frames, tl->n_frames, sizeof f, tl, err) == -1)
		return -1;
	tl->frames[tl->n_frames++] = f;
	tl->n_faces += !f.gap;
	return 0;
}

/* ---- drawing ---- */

struct layout {
	double w, h;           /* the picture */
	double left, top;      /* the plot's corner */
	double pw, ph;         /* the plot's size */
	double t0, t1;         /* the time axis */
	double px;             /* the letters' size */
	double song_y, song_h; /* the songs' row, above the plot */
	double event_y, event_h;
};

static double
x_of(const struct layout *l, double t)
{
	return l->left + (t - l->t0) / (l->t1 - l->t0) * l->pw;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The usual time between frames with a face: their median spacing; 0 with fewer than two. */
static double
usual_step(const struct fm_picture_timeline *tl)
{
	double *d = NULL, prev = NAN, m;
	size_t n = 0;

	if (tl->n_faces < 2)
		return 0;
	d = malloc(tl->n_faces * sizeof *d);
	if (d == NULL)
		return 0;
	for (size_t k = 0; k < tl->n_frames; k++) {
		if (tl->frames[k].gap)
			continue;
		if (!isnan(prev))
			d[n++] = tl->frames[k].t_sec - prev;
		prev = tl->frames[k].t_sec;
	}
	qsort(d, n, sizeof *d, cmp_double);
	m = n ? d[n / 2] : 0;
	free(d);
	return m;
}

struct point {
	double t_sec;
	double p[FM_N_EMOTIONS];
	bool break_before;
};

/*
 * The points to plot: each frame with a face, or with more frames than columns, the mean of
 * each column's; a point after a gap frame or a long pause starts a new run.
 */
static int
plot_points(const struct fm_picture_timeline *tl, const struct layout *l, struct point **out,
            size_t *n_out, struct fm_err *err)
{
	size_t cols = (size_t)fmax(1, floor(l->pw));
	bool bin = tl->n_faces > cols;
	double col_sec = (l->t1 - l->t0) / (double)cols;
	double pause = fmax(1.0, 4 * usual_step(tl));
	struct point *pts = malloc((bin ? cols : tl->n_faces + 1) * sizeof *pts);
	size_t n = 0, in_col = 0;
	long col = -1;
	bool gap = false;
	double last_t = NAN;

	if (pts == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the timeline's points");
	if (bin)
		pause = fmax(pause, 2 * col_sec);
	for (size_t k = 0; k < tl->n_frames; k++) {
		const struct frame *f = &tl->frames[k];

		if (f->gap) {
			gap = true;
			continue;
		}
		long c = bin ? (long)fmin((double)cols - 1, (f->t_sec - l->t0) / col_sec) : (long)k;

		if (!bin || c != col || gap) {
			if (in_col > 0) { /* close the column before: the mean of its frames */
				for (int e = 0; e < FM_N_EMOTIONS; e++)
					pts[n - 1].p[e] /= (double)in_col;
				pts[n - 1].t_sec /= (double)in_col;
			}
			if (n == (bin ? cols : tl->n_faces + 1)) /* a gap split a column */
				break;
			pts[n] = (struct point){
			    .break_before = gap || (!isnan(last_t) && f->t_sec - last_t > pause)};
			n++;
			in_col = 0;
			col = c;
			gap = false;
		}
		pts[n - 1].t_sec += f->t_sec;
		for (int e = 0; e < FM_N_EMOTIONS; e++)
			pts[n - 1].p[e] += f->p[e];
		in_col++;
		last_t = f->t_sec;
	}
	if (in_col > 0) {
		for (int e = 0; e < FM_N_EMOTIONS; e++)
			pts[n - 1].p[e] /= (double)in_col;
		pts[n - 1].t_sec /= (double)in_col;
	}
	*out = pts;
	*n_out = n;
	return 0;
}

static double
y_of(const struct layout *l, double share)
{
	return l->top + l->ph * (1 - share);
}

/* One run of points as seven stacked bands. */
static void
draw_run(cairo_t *cr, const struct layout *l, const struct point *pts, size_t n)
{
	/* A run of one frame still shows, a column as wide as the usual pixel. */
	double half = n == 1 ? 1.0 : 0.0;

	for (int e = 0; e < FM_N_EMOTIONS; e++) {
		double rgb[3];

		fm_picture_color(e, rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		for (size_t k = 0; k < n; k++) {
			double hi = 0;

			for (int j = 0; j <= e; j++)
				hi += pts[k].p[j];
			double x = x_of(l, pts[k].t_sec);

			if (k == 0)
				cairo_move_to(cr, x - half, y_of(l, hi));
			else
				cairo_line_to(cr, x, y_of(l, hi));
			if (n == 1)
				cairo_line_to(cr, x + half, y_of(l, hi));
		}
		for (size_t k = n; k-- > 0;) {
			double lo = 0;

			for (int j = 0; j < e; j++)
				lo += pts[k].p[j];
			double x = x_of(l, pts[k].t_sec);

			if (n == 1)
				cairo_line_to(cr, x + half, y_of(l, lo));
			cairo_line_to(cr, x - half, y_of(l, lo));
		}
		cairo_close_path(cr);
		cairo_fill(cr);
	}
}

/* A tick's step: 1, 2 or 5 times a power of ten, or minutes, for about one per 90 pixels. */
static double
tick_step(double span, double pw)
{
	static const double steps[] = {0.1, 0.2, 0.5, 1,   2,    5,    10,   15,    30,    60,
	                               120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400};
	double want = span / fmax(1, pw / 90);

	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
		if (steps[k] >= want)
			return steps[k];
	return ceil(want / 86400) * 86400;
}

static void
time_text(double t, bool minutes, char *buf, size_t size)
{
	if (!minutes) {
		snprintf(buf, size, "%gs", round(t * 10) / 10);
		return;
	}
	long s = lround(t);
	const char *sign = s < 0 ? "-" : "";

	s = labs(s);
	if (s >= 3600)
		snprintf(buf, size, "%s%ld:%02ld:%02ld", sign, s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%s%ld:%02ld", sign, s / 60, s % 60);
}

static void
show_text_fit(cairo_t *cr, const char *text, double x, double y, double width)
{
	char buf[128];
	cairo_text_extents_t te;
	size_t n = strlen(text);

	snprintf(buf, sizeof buf, "%s", text);
	cairo_text_extents(cr, buf, &te);
	while (te.x_advance > width && n > 0) {
		n--;
		snprintf(buf, sizeof buf, "%.*s..", (int)n, text);
		cairo_text_extents(cr, buf, &te);
	}
	if (te.x_advance <= width) {
		cairo_move_to(cr, x, y);
		cairo_show_text(cr, buf);
	}
}

static void
draw_axes(cairo_t *cr, const struct layout *l)
{
	cairo_font_extents_t fe;
	char text[32];
	double step = tick_step(l->t1 - l->t0, l->pw);
	bool minutes = l->t1 >= 60 || step >= 60;

	cairo_font_extents(cr, &fe);
	cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
	cairo_set_line_width(cr, 1);
	cairo_rectangle(cr, l->left, l->top, l->pw, l->ph);
	cairo_stroke(cr);
	for (int k = 0; k <= 4; k++) {
		double y = y_of(l, k / 4.0);
		cairo_text_extents_t te;

		snprintf(text, sizeof text, "%d%%", 25 * k);
		cairo_text_extents(cr, text, &te);
		cairo_move_to(cr, l->left - 4, y);
		cairo_line_to(cr, l->left, y);
		cairo_stroke(cr);
		cairo_move_to(cr, l->left - 6 - te.x_advance, y + fe.ascent / 2 - 1);
		cairo_show_text(cr, text);
	}
	double first = ceil(l->t0 / step);

	/* Counted rather than summed, so that every tick is a whole number of steps. */
	for (int k = 0; k < 1000; k++) {
		double t = (first + k) * step;

		if (t > l->t1 + step * 1e-9)
			break;
		double x = x_of(l, t);
		cairo_text_extents_t te;

		time_text(t, minutes, text, sizeof text);
		cairo_text_extents(cr, text, &te);
		cairo_move_to(cr, x, l->top + l->ph);
		cairo_line_to(cr, x, l->top + l->ph + 4);
		cairo_stroke(cr);
		cairo_move_to(cr, fmin(fmax(x - te.x_advance / 2, 0), l->w - te.x_advance),
		              l->top + l->ph + 6 + fe.ascent);
		cairo_show_text(cr, text);
	}
}

static void
draw_legend(cairo_t *cr, const struct layout *l)
{
	cairo_font_extents_t fe;
	double x = l->left + l->pw + l->px * 1.2, row = l->px * 1.5;

	cairo_font_extents(cr, &fe);
	/* Top to bottom as the stack runs, neutral on top. */
	for (int e = FM_N_EMOTIONS - 1, k = 0; e >= 0; e--, k++) {
		double rgb[3], y = l->top + k * row;

		fm_picture_color(e, rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		cairo_rectangle(cr, x, y, l->px, l->px);
		cairo_fill(cr);
		cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
		cairo_move_to(cr, x + l->px * 1.4, y + l->px / 2 + fe.ascent / 2 - 1);
		cairo_show_text(cr, fm_emotion_name((enum fm_emotion)e));
	}
	double y = l->top + FM_N_EMOTIONS * row + row / 2;

	cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
	cairo_move_to(cr, x + l->px / 2, y + l->px);
	cairo_line_to(cr, x, y);
	cairo_line_to(cr, x + l->px, y);
	cairo_close_path(cr);
	cairo_fill(cr);
	cairo_move_to(cr, x + l->px * 1.4, y + l->px / 2 + fe.ascent / 2 - 1);
	cairo_show_text(cr, "brief change");
}

static void
draw_events(cairo_t *cr, const struct fm_picture_timeline *tl, const struct layout *l)
{
	for (size_t k = 0; k < tl->n_events; k++) {
		const struct event *ev = &tl->events[k];
		double rgb[3], x0 = x_of(l, ev->start_sec);
		double x1 = fmax(x_of(l, ev->start_sec + ev->duration_sec), x0 + 2);
		double mid = (x0 + x1) / 2, s = l->event_h * 0.5;

		fm_picture_color(ev->emotion, rgb);
		/* A thin line down through the plot, where the change happened. */
		cairo_set_source_rgba(cr, 0.1, 0.1, 0.1, 0.45);
		cairo_set_line_width(cr, 1);
		cairo_move_to(cr, mid, l->top);
		cairo_line_to(cr, mid, l->top + l->ph);
		cairo_stroke(cr);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		cairo_rectangle(cr, x0, l->event_y + l->event_h - 3, x1 - x0, 3);
		cairo_fill(cr);
		cairo_move_to(cr, mid, l->event_y + l->event_h);
		cairo_line_to(cr, mid - s / 2 - 1, l->event_y + l->event_h - s);
		cairo_line_to(cr, mid + s / 2 + 1, l->event_y + l->event_h - s);
		cairo_close_path(cr);
		cairo_fill_preserve(cr);
		cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
		cairo_set_line_width(cr, 0.75);
		cairo_stroke(cr);
	}
}

static void
draw_song_bands(cairo_t *cr, const struct fm_picture_timeline *tl, const struct layout *l)
{
	cairo_font_extents_t fe;

	cairo_font_extents(cr, &fe);
	for (size_t k = 0; k < tl->n_songs; k++) {
		const struct song *s = &tl->songs[k];
		double x0 = fmax(x_of(l, s->start_sec), l->left);
		double x1 = fmin(x_of(l, s->end_sec), l->left + l->pw);
		char text[96];

		if (x1 <= x0)
			continue;
		/* Alternating shades, so that two songs back to back read as two. */
		double shade = k % 2 ? 0.78 : 0.66;

		cairo_set_source_rgb(cr, shade, shade * 1.02, shade * 1.1);
		cairo_rectangle(cr, x0, l->song_y, x1 - x0, l->song_h);
		cairo_fill(cr);
		/* The song's edges continued down through the plot, faintly. */
		cairo_set_source_rgba(cr, 0.1, 0.1, 0.3, 0.35);
		cairo_set_line_width(cr, 1);
		cairo_move_to(cr, x0, l->song_y);
		cairo_line_to(cr, x0, l->top + l->ph);
		cairo_move_to(cr, x1, l->song_y);
		cairo_line_to(cr, x1, l->top + l->ph);
		cairo_stroke(cr);
		if (s->rating > 0)
			snprintf(text, sizeof text, "%s (%d/5)", s->label, s->rating);
		else
			snprintf(text, sizeof text, "%s", s->label);
		cairo_set_source_rgb(cr, 0.05, 0.05, 0.1);
		show_text_fit(cr, text, x0 + l->px * 0.3,
		              l->song_y + (l->song_h + fe.ascent - fe.descent) / 2,
		              x1 - x0 - l->px * 0.6);
	}
}

/* A gap in the plot wide enough for the words says why it is blank. */
static void
say_gap(cairo_t *cr, const struct layout *l, double x0, double x1)
{
	static const char msg[] = "no face";
	cairo_text_extents_t te;

	cairo_save(cr);
	picture_font(cr, l->px * 0.85);
	cairo_text_extents(cr, msg, &te);
	if (x1 - x0 >= te.x_advance + l->px) {
		cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
		cairo_move_to(cr, (x0 + x1 - te.x_advance) / 2, l->top + l->ph / 2);
		cairo_show_text(cr, msg);
	}
	cairo_restore(cr);
}

static int
draw(cairo_t *cr, const struct fm_picture_timeline *tl, struct layout *l, struct fm_err *err)
{
	struct point *pts = NULL;
	size_t n = 0;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	picture_font(cr, l->px);
	draw_song_bands(cr, tl, l);
	cairo_set_source_rgb(cr, 0.93, 0.93, 0.93);
	cairo_rectangle(cr, l->left, l->top, l->pw, l->ph);
	cairo_fill(cr);
	if (plot_points(tl, l, &pts, &n, err) == -1)
		return -1;
	for (size_t k = 0, start = 0; k <= n; k++) {
		if (k == n || (k > start && pts[k].break_before)) {
			if (k > start)
				draw_run(cr, l, pts + start, k - start);
			start = k;
		}
	}
	for (size_t k = 1; k < n; k++)
		if (pts[k].break_before)
			say_gap(cr, l, x_of(l, pts[k - 1].t_sec), x_of(l, pts[k].t_sec));
	free(pts);
	if (tl->n_faces == 0) {
		cairo_text_extents_t te;
		const char *msg = "no frames with a face";

		cairo_text_extents(cr, msg, &te);
		cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
		cairo_move_to(cr, l->left + (l->pw - te.x_advance) / 2, l->top + l->ph / 2);
		cairo_show_text(cr, msg);
	}
	draw_events(cr, tl, l);
	draw_axes(cr, l);
	draw_legend(cr, l);
	return 0;
}

static void
plan(const struct fm_picture_timeline *tl, uint32_t width, uint32_t height, struct layout *l)
{
	double lo = INFINITY, hi = -INFINITY;

	memset(l, 0, sizeof *l);
	l->w = width;
	l->h = height;
	l->px = fmin(fmax(height / 32.0, 10.0), 40.0);
	l->left = l->px * 4;
	l->song_y = l->px * 0.4;
	l->song_h = tl->n_songs ? l->px * 1.7 : 0;
	l->event_y = l->song_y + l->song_h + l->px * 0.2;
	l->event_h = l->px * 1.1;
	l->top = l->event_y + l->event_h + l->px * 0.2;
	l->pw = fmax(10, width - l->left - l->px * 10);
	l->ph = fmax(10, height - l->top - l->px * 2.4);
	for (size_t k = 0; k < tl->n_frames; k++) {
		lo = fmin(lo, tl->frames[k].t_sec);
		hi = fmax(hi, tl->frames[k].t_sec);
	}
	for (size_t k = 0; k < tl->n_events; k++) {
		lo = fmin(lo, tl->events[k].start_sec);
		hi = fmax(hi, tl->events[k].start_sec + tl->events[k].duration_sec);
	}
	for (size_t k = 0; k < tl->n_songs; k++) {
		lo = fmin(lo, tl->songs[k].start_sec);
		hi = fmax(hi, tl->songs[k].end_sec);
	}
	if (!(lo <= hi)) {
		lo = 0;
		hi = 1;
	}
	if (hi - lo < 1e-6)
		hi = lo + 1;
	l->t0 = lo;
	l->t1 = hi;
}

struct svg_buf {
	uint8_t *bytes;
	size_t n, cap;
};

static cairo_status_t
svg_write(void *closure, const unsigned char *data, unsigned int length)
{
	struct svg_buf *b = closure;

	if (length > b->cap - b->n) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap - b->n < length)
			cap *= 2;
		uint8_t *p = realloc(b->bytes, cap);

		if (p == NULL)
			return CAIRO_STATUS_NO_MEMORY;
		b->bytes = p;
		b->cap = cap;
	}
	memcpy(b->bytes + b->n, data, length);
	b->n += length;
	return CAIRO_STATUS_SUCCESS;
}

int
fm_picture_timeline_render(const struct fm_picture_timeline *tl, enum fm_picture_kind kind,
                           uint32_t width, uint32_t height, uint8_t **bytes, size_t *n_bytes,
                           struct fm_err *err)
{
	struct layout l;
	cairo_surface_t *s = NULL;
	cairo_t *cr = NULL;
	struct svg_buf svg = {0};
	struct fm_image img = {0};
	int rc = -1;

	*bytes = NULL;
	*n_bytes = 0;
	if (width < 320 || width > 20000 || height < 200 || height > 20000)
		return fm_err_set(err, FM_EINVAL, "a timeline of %ux%u pixels", width, height);
	plan(tl, width, height, &l);
	if (kind == FM_PICTURE_SVG)
		s = cairo_svg_surface_create_for_stream(svg_write, &svg, width, height);
	else
		s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
	cr = cairo_create(s);
	if (picture_cairo_check(cairo_status(cr), "a timeline", err) == -1)
		goto fail;
	if (draw(cr, tl, &l, err) == -1)
		goto fail;
	if (picture_cairo_check(cairo_status(cr), "a timeline", err) == -1)
		goto fail;
	cairo_destroy(cr);
	cr = NULL;
	if (kind == FM_PICTURE_SVG) {
		cairo_surface_finish(s); /* the document's end is written now */
		if (picture_cairo_check(cairo_surface_status(s), "a timeline", err) == -1)
			goto fail;
		*bytes = svg.bytes;
		*n_bytes = svg.n;
		svg.bytes = NULL;
		rc = 0;
		goto fail;
	}
	if (picture_image_from_surface(s, &img, err) == -1)
		goto fail;
	rc = fm_picture_encode(&img, kind, 90, bytes, n_bytes, err);
fail:
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	free(svg.bytes);
	fm_image_free(&img);
	return rc;
}
