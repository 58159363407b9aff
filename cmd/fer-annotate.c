/*
 * cmd/fer-annotate.c: pictures of fer-detect's and fer-classify's records (lib/picture):
 * each photo with its faces drawn, written to --output-dir; a contact sheet of the faces;
 * the timeline of a stream of frames. Records pass through, a photo's gaining "annotated",
 * the path of its picture. See man/fer-annotate.1.
 *
 * Photos are read, drawn and encoded by the --jobs threads; the picture is handed to the
 * loop's in-order step through a table keyed by the record, and written there, so that
 * the names given to two photos of the same name ("a.png", "a-2.png") follow the input's
 * order, whatever the threads' timing. The timeline and the sheet are written at the end.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common.h"
#include "image.h"
#include "lines.h"
#include "loop.h"
#include "ndjson.h"
#include "options.h"
#include "picture.h"
#include "react.h"

static const char USAGE[] =
    "usage: fer-annotate [-0hV] [--cell pixels] [--columns n] [--format png|jpeg] [--jobs n] "
    "[--max-faces n] [--max-line bytes] [--max-pixels n] [-o dir] [--plays file] "
    "[--progress] [--quality n] [--sheet file] [--size WxH] [--timeline file] [file ...]";

static const char OPTIONS[] =
    "  --cell pixels       --sheet: a face's square, 16 .. 1024 (default 128)\n"
    "  --columns n         --sheet: faces to a row, 1 .. 100 (default 8)\n"
    "  --format png|jpeg   -o: the pictures' format (default png)\n"
    "  -o, --output-dir dir  draw each photo's faces and write the picture here,\n"
    "                      named after the photo (made if missing)\n"
    "  --plays file        --timeline: songs played, as a play log or fer-react's\n"
    "                      records, drawn as bands along the time axis\n"
    "  --quality n         JPEG quality, 1 .. 100 (default 90)\n"
    "  --sheet file        a contact sheet of every face, PNG or JPEG by its name\n"
    "  --size WxH          --timeline: the picture's size (default 1200x420)\n"
    "  --timeline file     the stream's expressions over time, SVG, PNG or JPEG by\n"
    "                      its name; may be given twice (an SVG and a PNG)\n";

#define MAX_TIMELINES 4
#define DEFAULT_COLUMNS 8
#define DEFAULT_QUALITY 90
/* Faces on one sheet at most: 8 columns of 128 pixels and 20000 cells is 300 MB drawn. */
#define MAX_SHEET_CELLS 20000

struct opts {
	struct common_opts common;
	const char *output_dir;
	enum fm_picture_kind format;
	int quality;
	const char *timelines[MAX_TIMELINES];
	size_t n_timelines;
	const char *plays;
	const char *sheet;
	uint32_t cell_px, columns;
	uint32_t width, height;
};

/* What a worker made for one record, waiting for the record's turn. */
struct pending {
	const cJSON *rec; /* the key: the loop's record, alive until it is written */
	uint8_t *bytes;   /* the encoded picture, or NULL */
	size_t n_bytes;
	struct fm_picture_cell *cells; /* --sheet: the record's faces */
	size_t n_cells;
	struct pending *next;
};

/* The names written so far, so that a second "a.jpg" does not replace the first's picture. */
struct names {
	char **slots; /* open addressing; NULL is empty */
	size_t n, cap;
};

struct ctx {
	const struct opts *o;
	pthread_mutex_t lock; /* over pending */
	struct pending *pending;
	struct names names;  /* the pictures written */
	struct names inputs; /* the photos read, as "device:inode" */
	struct fm_picture_timeline *timeline;
	struct fm_picture_sheet *sheet;
};

enum {
	OPT_CELL = 256,
	OPT_COLUMNS,
	OPT_FORMAT,
	OPT_PLAYS,
	OPT_QUALITY,
	OPT_SHEET,
	OPT_SIZE,
	OPT_TIMELINE,
};

static bool
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcasecmp(s + n - m, tail) == 0;
}

/* A picture's format from its file name; -1 when the name says none. */
static int
kind_of(const char *path, bool svg_ok)
{
	if (svg_ok && ends_with(path, ".svg"))
		return FM_PICTURE_SVG;
	if (ends_with(path, ".png"))
		return FM_PICTURE_PNG;
	if (ends_with(path, ".jpg") || ends_with(path, ".jpeg"))
		return FM_PICTURE_JPEG;
	return -1;
}

static void
parse_size(const char *arg, uint32_t *w, uint32_t *h)
{
	char wbuf[32];
	const char *x = strchr(arg, 'x');

	if (x == NULL || (size_t)(x - arg) >= sizeof wbuf)
		exit_usage(USAGE, "--size: '%s' is not WIDTHxHEIGHT", arg);
	memcpy(wbuf, arg, (size_t)(x - arg));
	wbuf[x - arg] = '\0';
	*w = (uint32_t)option_int(USAGE, "--size", wbuf, 320, 20000);
	*h = (uint32_t)option_int(USAGE, "--size", x + 1, 200, 20000);
}

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"cell", required_argument, NULL, OPT_CELL},
	    {"columns", required_argument, NULL, OPT_COLUMNS},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"output-dir", required_argument, NULL, 'o'},
	    {"plays", required_argument, NULL, OPT_PLAYS},
	    {"quality", required_argument, NULL, OPT_QUALITY},
	    {"sheet", required_argument, NULL, OPT_SHEET},
	    {"size", required_argument, NULL, OPT_SIZE},
	    {"timeline", required_argument, NULL, OPT_TIMELINE},
	    {NULL, 0, NULL, 0},
	};
	int c;

	common_opts_init(&o->common, "fer-annotate", USAGE, OPTIONS, "o:", own,
	                 COMMON_JOBS | COMMON_MAX_LINE | COMMON_MAX_PIXELS | COMMON_MAX_FACES |
	                     COMMON_PROGRESS | COMMON_NULL);
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case 'o':
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--output-dir: empty directory name");
			o->output_dir = optarg;
			break;
		case OPT_CELL:
			o->cell_px = (uint32_t)option_int(USAGE, "--cell", optarg, 16,
			                                  FM_PICTURE_MAX_CELL_PX);
			break;
		case OPT_COLUMNS:
			o->columns = (uint32_t)option_int(USAGE, "--columns", optarg, 1, 100);
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "png") == 0)
				o->format = FM_PICTURE_PNG;
			else if (strcmp(optarg, "jpeg") == 0 || strcmp(optarg, "jpg") == 0)
				o->format = FM_PICTURE_JPEG;
			else
				exit_usage(USAGE, "--format: '%s' is neither png nor jpeg", optarg);
			break;
		case OPT_PLAYS:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--plays: empty file name");
			o->plays = optarg;
			break;
		case OPT_QUALITY:
			o->quality = (int)option_int(USAGE, "--quality", optarg, 1, 100);
			break;
		case OPT_SHEET:
			if (kind_of(optarg, false) == -1)
				exit_usage(USAGE, "--sheet: '%s' ends in neither .png nor .jpg",
				           optarg);
			o->sheet = optarg;
			break;
		case OPT_SIZE:
			parse_size(optarg, &o->width, &o->height);
			break;
		case OPT_TIMELINE:
			if (kind_of(optarg, true) == -1)
				exit_usage(USAGE,
				           "--timeline: '%s' ends in none of .svg, .png, .jpg",
				           optarg);
			if (o->n_timelines == MAX_TIMELINES)
				exit_usage(USAGE, "--timeline: at most %d of them", MAX_TIMELINES);
			o->timelines[o->n_timelines++] = optarg;
			break;
		}
	}
	if (o->output_dir == NULL && o->sheet == NULL && o->n_timelines == 0)
		exit_usage(USAGE, "nothing to draw: give -o dir, --sheet file or --timeline file");
	if (o->plays != NULL && o->n_timelines == 0)
		exit_usage(USAGE, "--plays: songs are drawn on a --timeline");
	for (int k = optind; k < argc; k++)
		if (o->plays != NULL && strcmp(argv[k], "-") == 0 && strcmp(o->plays, "-") == 0)
			exit_usage(USAGE,
			           "--plays - and the operand - both read the standard input");
	if (o->plays != NULL && strcmp(o->plays, "-") == 0 && optind == argc)
		exit_usage(USAGE, "--plays -: the standard input holds the records");
}

/* mkdir -p: the directory and those above it; -1 with errno. */
static int
make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0777) == -1 && errno != EEXIST)
		return -1;
	struct stat st;

	if (stat(buf, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* ---- the names written ---- */

static uint64_t
hash_name(const char *s)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static bool
names_has(const struct names *t, const char *s)
{
	if (t->cap == 0)
		return false;
	for (size_t i = hash_name(s) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (t->slots[i] == NULL)
			return false;
		if (strcmp(t->slots[i], s) == 0)
			return true;
	}
}

static int
names_add(struct names *t, const char *s)
{
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		char **slots = calloc(cap, sizeof *slots);

		if (slots == NULL)
			return -1;
		for (size_t k = 0; k < t->cap; k++) {
			if (t->slots[k] == NULL)
				continue;
			size_t i = hash_name(t->slots[k]) & (cap - 1);

			while (slots[i] != NULL)
				i = (i + 1) & (cap - 1);
			slots[i] = t->slots[k];
		}
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	char *copy = strdup(s);

	if (copy == NULL)
		return -1;
	size_t i = hash_name(s) & (t->cap - 1);

	while (t->slots[i] != NULL)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = copy;
	t->n++;
	return 0;
}

static void
names_free(struct names *t)
{
	for (size_t k = 0; k < t->cap; k++)
		free(t->slots[k]);
	free(t->slots);
}

static void
file_key(const struct stat *st, char *buf, size_t size)
{
	snprintf(buf, size, "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
}

/*
 * The picture's path for the photo at path: dir/stem.ext, or dir/stem-N.ext from N = 2 when
 * this run has written that name already, or it is a photo this run has read (this one or
 * one before it: never drawn over).
 */
static int
picture_path(struct ctx *c, const char *path, char *buf, size_t size, struct fm_err *err)
{
	const char *base = strrchr(path, '/');
	const char *ext = c->o->format == FM_PICTURE_JPEG ? ".jpg" : ".png";
	struct stat in, st;
	char key[64];

	base = base != NULL ? base + 1 : path;
	size_t stem = strlen(base);
	const char *dot = strrchr(base, '.');

	if (dot != NULL && dot != base)
		stem = (size_t)(dot - base);
	if (stem == 0) /* "dir/" or "." names no file */
		return fm_err_set(err, FM_EFORMAT, "\"path\" names no file");
	if (stat(path, &in) == 0) {
		file_key(&in, key, sizeof key);
		if (!names_has(&c->inputs, key) && names_add(&c->inputs, key) == -1)
			return fm_err_set(err, FM_ENOMEM, "out of memory");
	}
	for (unsigned long n = 1; n < 100000; n++) {
		int len = n == 1 ? snprintf(buf, size, "%s/%.*s%s", c->o->output_dir, (int)stem,
		                            base, ext)
		                 : snprintf(buf, size, "%s/%.*s-%lu%s", c->o->output_dir, (int)stem,
		                            base, n, ext);

		if (len < 0 || (size_t)len >= size)
			return fm_err_set(err, FM_ELIMIT, "the picture's path is too long");
		if (names_has(&c->names, buf))
			continue;
		if (stat(buf, &st) == 0) {
			file_key(&st, key, sizeof key);
			if (names_has(&c->inputs, key))
				continue;
		}
		if (names_add(&c->names, buf) == -1)
			return fm_err_set(err, FM_ENOMEM, "out of memory");
		return 0;
	}
	return fm_err_set(err, FM_ELIMIT, "too many pictures named after this photo");
}

/* ---- the work of one record ---- */

static void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	free(p->bytes);
	for (size_t k = 0; k < p->n_cells; k++)
		fm_picture_cell_free(&p->cells[k]);
	free(p->cells);
	free(p);
}

static struct pending *
pending_take(struct ctx *c, const cJSON *rec)
{
	struct pending *p = NULL;

	pthread_mutex_lock(&c->lock);
	for (struct pending **pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->rec == rec) {
			p = *pp;
			*pp = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return p;
}

/* The cells of the sheet for a photo's faces (the whole image for a crop without any). */
static int
make_cells(const struct ctx *c, const struct fm_image *img, const char *path,
           const struct fm_picture_face *faces, size_t n_faces, struct pending *p,
           struct fm_err *err)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	if (n_faces == 0)
		return 0;
	p->cells = calloc(n_faces, sizeof *p->cells);
	if (p->cells == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for %zu faces", n_faces);
	for (size_t k = 0; k < n_faces; k++) {
		if (fm_picture_cell_make(img, &faces[k], c->o->cell_px, base, &p->cells[k], err) ==
		    -1)
			return -1;
		p->n_cells++;
	}
	return 0;
}

static int
annotate_one(void *arg, int thread, cJSON *rec, struct fm_err *err)
{
	struct ctx *c = arg;
	const struct opts *o = c->o;
	struct fm_picture_face *faces = NULL;
	struct fm_image img = {0}, drawn = {0};
	struct pending *p = NULL;
	const char *path;
	size_t n_faces;
	int rc = -1;

	(void)thread;
	if (o->output_dir == NULL && o->sheet == NULL)
		return 0;
	/* A stream's frames and its events have no photo behind them: they pass. */
	if (cJSON_GetObjectItemCaseSensitive(rec, "event") != NULL ||
	    (cJSON_GetObjectItemCaseSensitive(rec, "path") == NULL &&
	     cJSON_GetObjectItemCaseSensitive(rec, "t") != NULL))
		return 0;
	if (fm_ndjson_get_path(rec, &path, err) == -1)
		return -1;
	if (fm_picture_faces_decode(rec, (size_t)o->common.max_faces, &faces, &n_faces, err) == -1)
		return -1;
	if (fm_image_load(path, o->common.max_pixels, &img, err) == -1)
		goto fail;
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		fm_err_set(err, FM_ENOMEM, "out of memory");
		goto fail;
	}
	p->rec = rec;
	if (o->output_dir != NULL) {
		if (fm_picture_annotate(&img, faces, n_faces, &drawn, err) == -1 ||
		    fm_picture_encode(&drawn, o->format, o->quality, &p->bytes, &p->n_bytes, err) ==
		        -1)
			goto fail;
	}
	if (o->sheet != NULL && make_cells(c, &img, path, faces, n_faces, p, err) == -1)
		goto fail;
	pthread_mutex_lock(&c->lock);
	p->next = c->pending;
	c->pending = p;
	pthread_mutex_unlock(&c->lock);
	p = NULL;
	rc = 0;
fail:
	pending_free(p);
	fm_image_free(&drawn);
	fm_image_free(&img);
	free(faces);
	return rc;
}

/* In the input's order: the picture written under its name, the timeline and sheet fed. */
static int
in_order(void *arg, cJSON *rec, cJSON **extra, struct fm_err *err)
{
	struct ctx *c = arg;
	struct pending *p = pending_take(c, rec);
	char out[PATH_MAX];
	const char *path;
	int rc = -1;

	(void)extra;
	if (c->timeline != NULL && fm_picture_timeline_add(c->timeline, rec, err) == -1)
		goto done;
	if (p == NULL)
		return 0;
	if (p->bytes != NULL) {
		if (fm_ndjson_get_path(rec, &path, err) == -1 ||
		    picture_path(c, path, out, sizeof out, err) == -1)
			goto done;
		if (fm_write_file(out, p->bytes, p->n_bytes, err) == -1) {
			char why[sizeof err->msg];

			snprintf(why, sizeof why, "%s", err->msg);
			fm_err_set(err, err->code, "%s: %s", out, why);
			goto done;
		}
		if (fm_ndjson_set(rec, "annotated", cJSON_CreateString(out), err) == -1)
			goto done;
	}
	for (size_t k = 0; k < p->n_cells; k++) {
		if (fm_picture_sheet_add(c->sheet, &p->cells[k], err) == -1) {
			if (err->code != FM_ELIMIT)
				goto done;
			/* A full sheet: the photo itself went well; the sheet says so at the end.
			 */
			break;
		}
	}
	rc = 0;
done:
	pending_free(p);
	return rc;
}

/* ---- the songs, the timeline and the sheet ---- */

static int
add_play(void *arg, const struct fm_ndjson_line *line, cJSON *rec, struct fm_err *err)
{
	struct ctx *c = arg;
	struct fm_react_opts ro = {.baseline_sec = FM_REACT_BASELINE_SEC};
	struct fm_react_play play;
	const cJSON *rating = cJSON_GetObjectItemCaseSensitive(rec, "rating");
	const char *path;
	int stars = 0;

	(void)line;
	if (fm_ndjson_get_path(rec, &path, err) == -1 ||
	    fm_react_play_decode(rec, &ro, &play, err) == -1)
		return LINE_BAD;
	if (cJSON_IsNumber(rating) && rating->valuedouble >= 1 && rating->valuedouble <= 5)
		stars = (int)rating->valuedouble;
	if (fm_picture_timeline_song(c->timeline, path, play.start_sec, play.end_sec, stars, err) ==
	    -1)
		return err->code == FM_ENOMEM ? LINE_STOP : LINE_BAD;
	return LINE_OK;
}

static int
write_picture(const char *path, const uint8_t *bytes, size_t n_bytes)
{
	struct fm_err e;

	if (fm_write_file(path, bytes, n_bytes, &e) == -1) {
		warn_about(path, "%s", e.msg);
		return -1;
	}
	return 0;
}

static int
write_timelines(struct ctx *c)
{
	const struct opts *o = c->o;
	int rc = 0;

	for (size_t k = 0; k < o->n_timelines; k++) {
		uint8_t *bytes;
		size_t n;
		struct fm_err e;

		if (fm_picture_timeline_render(c->timeline,
		                               (enum fm_picture_kind)kind_of(o->timelines[k], true),
		                               o->width, o->height, &bytes, &n, &e) == -1) {
			warn_about(o->timelines[k], "%s", e.msg);
			rc = -1;
			continue;
		}
		if (write_picture(o->timelines[k], bytes, n) == -1)
			rc = -1;
		free(bytes);
	}
	return rc;
}

static int
write_sheet(struct ctx *c)
{
	struct fm_image img = {0};
	uint8_t *bytes = NULL;
	size_t n;
	struct fm_err e;
	int rc = -1;

	if (fm_picture_sheet_render(c->sheet, &img, &e) == -1 ||
	    fm_picture_encode(&img, (enum fm_picture_kind)kind_of(c->o->sheet, false),
	                      c->o->quality, &bytes, &n, &e) == -1) {
		warn_about(c->o->sheet, "%s", e.msg);
		goto fail;
	}
	rc = write_picture(c->o->sheet, bytes, n);
	if (rc == 0 && fm_picture_sheet_count(c->sheet) == MAX_SHEET_CELLS)
		warn_about(c->o->sheet, "full at %d faces: the others are not on it",
		           MAX_SHEET_CELLS);
fail:
	free(bytes);
	fm_image_free(&img);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o = {
	    .format = FM_PICTURE_PNG,
	    .quality = DEFAULT_QUALITY,
	    .cell_px = FM_PICTURE_CELL_PX,
	    .columns = DEFAULT_COLUMNS,
	    .width = FM_PICTURE_TIMELINE_WIDTH,
	    .height = FM_PICTURE_TIMELINE_HEIGHT,
	};
	struct ctx c = {.o = &o};
	struct run r = {
	    .work = annotate_one,
	    .in_order = in_order,
	    .ctx = &c,
	    .status = STATUS_ALL_OK,
	};
	struct fm_err e;
	int status = STATUS_ALL_OK;

	parse_options(argc, argv, &o);
	if (o.output_dir != NULL && make_dirs(o.output_dir) == -1)
		err(STATUS_CANNOT_RUN, "%s", o.output_dir);
	if (o.sheet != NULL &&
	    fm_picture_sheet_new(o.cell_px, o.columns, MAX_SHEET_CELLS, &c.sheet, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--sheet: %s", e.msg);
	if (o.n_timelines > 0 && fm_picture_timeline_new(&c.timeline, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--timeline: %s", e.msg);
	if (o.plays != NULL &&
	    lines_read(o.plays, o.common.max_line_bytes, LINES_RECORDS | LINES_SKIP_FAILED,
	               add_play, &c, &status) == -1) {
		fm_picture_timeline_free(c.timeline);
		fm_picture_sheet_free(c.sheet);
		return STATUS_CANNOT_RUN;
	}
	pthread_mutex_init(&c.lock, NULL);
	r.jobs = o.common.jobs;
	r.max_line_bytes = o.common.max_line_bytes;
	r.progress = o.common.progress;
	r.null_paths = o.common.null;
	r.name = "fer-annotate";
	run_records(&r, argc - optind, argv + optind);
	/* Written also after a failed record: the picture shows what could be read. */
	if (r.out_errno == 0) {
		if (c.timeline != NULL && write_timelines(&c) == -1)
			r.status = STATUS_CANNOT_RUN;
		if (c.sheet != NULL && write_sheet(&c) == -1)
			r.status = STATUS_CANNOT_RUN;
	}
	if (status > r.status)
		r.status = status;
	while (c.pending != NULL) {
		struct pending *p = c.pending;

		c.pending = p->next;
		pending_free(p);
	}
	pthread_mutex_destroy(&c.lock);
	names_free(&c.names);
	names_free(&c.inputs);
	fm_picture_timeline_free(c.timeline);
	fm_picture_sheet_free(c.sheet);
	return run_finish(&r);
}
