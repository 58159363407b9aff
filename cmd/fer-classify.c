/*
 * cmd/fer-classify.c: read each face's expression. Reads fer-detect's records, crops every
 * face with the margin the model asks for, and adds "emotion" and "scores" to it from one
 * batched forward pass of the network (lib/cnn). An image without faces given (an operand,
 * a path) is a face crop, read whole as the training faces are (lib/face's fm_face_whole),
 * or a photo, whose faces are found first as fer-detect finds them (cmd/detect): --operand.
 * See man/fer-classify.1.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "cnn.h"
#include "common.h"
#include "detect.h"
#include "face.h"
#include "loop.h"
#include "options.h"
#include "image.h"
#include "mood.h"
#include "ndjson.h"

static const char USAGE[] =
    "usage: fer-classify [-0hV] [--brief seconds] [--brief-frames n] [--brief-margin p] "
    "[--fast | --model file] "
    "[--jobs n] [--keep-crops] [--max-faces n] [--max-line bytes] [--max-pixels n] "
    "[--min-confidence p] [--operand kind] [--progress] [--smooth seconds] "
    "[--tta | --views n] [file ...]";

static const char OPTIONS[] =
    "  --brief seconds      --smooth: longest brief expression change (default 1)\n"
    "  --brief-frames n     --smooth: frames a brief change needs --brief-margin above\n"
    "                       the baseline (default 3)\n"
    "  --brief-margin p     --smooth: that margin, a probability (default 0.3); the change\n"
    "                       lasts while its frames stay half of it above the baseline\n"
    "  --fast               the small shipped model: several times faster, less accurate\n"
    "                       (the default with --smooth)\n"
    "  --jobs n             images classified at once (default: online processors)\n"
    "  --keep-crops         keep the faces' \"crop\" (fer-detect --crops) in the output\n"
    "  --max-faces n        keep the n most certain faces of a record (default 1000)\n"
    "  --min-confidence p   a face whose most probable emotion is below p is\n"
    "                       \"uncertain\" (default 0: never)\n"
    "  --model file         the network (default: $FERMATA_MODEL, else fer2013.fm\n"
    "                       installed with fermata or in the build tree's models/,\n"
    "                       fer2013-fast.fm with --fast or --smooth)\n"
    "  --operand kind       an image given without faces is a face crop (face), a\n"
    "                       photo whose faces fer-detect's way finds (photo), or a\n"
    "                       face crop when at most 256 pixels a side and at most 5:4,\n"
    "                       else a photo (auto, the default)\n"
    "  --smooth seconds     add each frame's smoothed emotions (this half-life) and\n"
    "                       report brief expression changes as event records; a \"t\"\n"
    "                       backwards or 20 half-lives ahead starts afresh (\"reset\")\n"
    "  --tta                average ten views of each face (turned, zoomed, mirrored):\n"
    "                       --views 10\n"
    "  --views n            views of each face averaged: 1 (the face), 2 (the face and\n"
    "                       its mirror image) or 10 (--tta); default: the model's own,\n"
    "                       2 for fer2013.fm, 1 for fer2013-fast.fm\n";

#define MODEL_NAME "fer2013.fm"
#define FAST_MODEL_NAME "fer2013-fast.fm"
#define MAX_BATCH 32 /* faces per forward pass; more faces take several */

/* --operand: what an image given without faces is. */
enum operand { OPERAND_AUTO, OPERAND_FACE, OPERAND_PHOTO };

struct opts {
	struct common_opts common; /* --jobs, --max-faces, --max-line, --max-pixels, --progress */
	const char *model;
	int views; /* --views, --tta; 0: the model's (fm_face_model_views) */
	bool fast, keep_crops;
	enum operand operand;
	double min_confidence;                 /* 0: every face gets its most probable emotion */
	struct fm_mood_timeline_opts timeline; /* half_life_sec 0: no smoothing */
};

/* What one --jobs thread works with, allocated once: a record of one 48x48 face must
 * not pay for a network's worth of buffers. */
struct worker {
	struct fm_cnn *net;
	struct fm_face_classifier *classifier; /* over net */
	float *probs;                          /* MAX_BATCH score vectors */
	uint8_t *pixels;                       /* MAX_BATCH faces, cropped and resized */
};

struct classify {
	const struct opts *o;
	struct fm_mood_timeline *timeline; /* --smooth, used in input order only */
	uint64_t n_records;
	/* --smooth's clock, set by the first frame with faces: its "t", or one second per record
	 * when it has none; the two are never mixed. */
	enum { CLOCK_UNSET, CLOCK_TIMES, CLOCK_RECORDS } clock;
	bool reset;             /* the timeline was reset: the next frame smoothed says so */
	struct worker *workers; /* one per --jobs thread */
	uint32_t side;
	float margin;
	enum fm_face_views views; /* --views, else the model's */
	/* Photos: fer-detect's default detector, or why it could not be had (--operand auto
	 * says so only when a photo comes). */
	struct detect_setup faces;
	bool can_detect;
	struct fm_err no_detect;
};

enum {
	OPT_BRIEF = 256,
	OPT_BRIEF_FRAMES,
	OPT_BRIEF_MARGIN,
	OPT_FAST,
	OPT_KEEP_CROPS,
	OPT_MIN_CONFIDENCE,
	OPT_MODEL,
	OPT_OPERAND,
	OPT_SMOOTH,
	OPT_TTA,
	OPT_VIEWS,
};

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"brief", required_argument, NULL, OPT_BRIEF},
	    {"brief-frames", required_argument, NULL, OPT_BRIEF_FRAMES},
	    {"brief-margin", required_argument, NULL, OPT_BRIEF_MARGIN},
	    {"fast", no_argument, NULL, OPT_FAST},
	    {"keep-crops", no_argument, NULL, OPT_KEEP_CROPS},
	    {"min-confidence", required_argument, NULL, OPT_MIN_CONFIDENCE},
	    {"model", required_argument, NULL, OPT_MODEL},
	    {"operand", required_argument, NULL, OPT_OPERAND},
	    {"smooth", required_argument, NULL, OPT_SMOOTH},
	    {"tta", no_argument, NULL, OPT_TTA},
	    {"views", required_argument, NULL, OPT_VIEWS},
	    {NULL, 0, NULL, 0},
	};
	bool tta = false;
	int c, views = 0; /* 0: not given */

	common_opts_init(&o->common, "fer-classify", USAGE, OPTIONS, "", own,
	                 COMMON_JOBS | COMMON_MAX_FACES | COMMON_MAX_LINE | COMMON_MAX_PIXELS |
	                     COMMON_PROGRESS | COMMON_NULL);
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case OPT_BRIEF:
			o->timeline.brief_max_sec = option_real(
			    USAGE, "--brief", optarg, o->timeline.brief_min_sec, 60, NUM_OPEN_MIN);
			break;
		case OPT_BRIEF_FRAMES:
			o->timeline.brief_min_frames =
			    (size_t)option_int(USAGE, "--brief-frames", optarg, 1, 1000);
			break;
		case OPT_BRIEF_MARGIN:
			/* The exit margin at half the entry one, as in lib/mood's defaults. */
			o->timeline.brief_enter =
			    option_real(USAGE, "--brief-margin", optarg, 0, 1, NUM_OPEN_MIN);
			o->timeline.brief_exit = o->timeline.brief_enter / 2;
			break;
		case OPT_FAST:
			o->fast = true;
			break;
		case OPT_KEEP_CROPS:
			o->keep_crops = true;
			break;
		case OPT_MIN_CONFIDENCE:
			o->min_confidence = option_real(USAGE, "--min-confidence", optarg, 0, 1, 0);
			break;
		case OPT_OPERAND:
			if (strcmp(optarg, "auto") == 0)
				o->operand = OPERAND_AUTO;
			else if (strcmp(optarg, "face") == 0)
				o->operand = OPERAND_FACE;
			else if (strcmp(optarg, "photo") == 0)
				o->operand = OPERAND_PHOTO;
			else
				exit_usage(USAGE, "--operand: '%s' is not face, photo or auto",
				           optarg);
			break;
		case OPT_MODEL:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--model: empty file name");
			o->model = optarg;
			break;
		case OPT_SMOOTH:
			o->timeline.half_life_sec =
			    option_real(USAGE, "--smooth", optarg, 0, 3600, NUM_OPEN_MIN);
			break;
		case OPT_TTA:
			tta = true;
			break;
		case OPT_VIEWS:
			views = option_views(USAGE, optarg);
			break;
		}
	}
	o->views = option_views_with_tta(USAGE, tta, views); /* 0: the model's own */
	if (o->fast && o->model != NULL)
		exit_usage(USAGE, "--fast and --model both name a model");
}

/*
 * The model: --model, else $FERMATA_MODEL, else the installed one, else the build tree's
 * (this binary is build/bin/fer-classify, the model is models/fer2013.fm beside build/).
 * --fast looks for the small model in the last two places, and so does --smooth when
 * neither --model nor $FERMATA_MODEL names one: --smooth reads a frame stream, which must
 * keep up with its camera (30 frames/s on two cores beside fer-detect), and the default
 * model (five networks, two views) costs 62 times the small one per face. Still images keep
 * the default model.
 */
static const char *
find_model(const struct opts *o, char *buf, size_t size, bool *from_env)
{
	const char *env = getenv("FERMATA_MODEL");

	*from_env = false;
	if (o->model != NULL)
		return o->model;
	if (!o->fast && env != NULL && env[0] != '\0') {
		*from_env = true;
		return env;
	}
	return find_shipped_file(
	    o->fast || o->timeline.half_life_sec > 0 ? FAST_MODEL_NAME : MODEL_NAME, buf, size);
}

static int
open_model(const struct opts *o, struct classify *cl)
{
	char buf[PATH_MAX + 64];
	bool from_env;
	const char *path = find_model(o, buf, sizeof buf, &from_env);
	struct fm_cnn *net;
	struct fm_err e;
	uint32_t c, h, w;

	if (fm_cnn_load(path, MAX_BATCH, 0, &net, &e) == -1) {
		/* A variable set long ago in a profile is easy to forget: say it chose the file. */
		warnx("model: %s%s", e.msg, from_env ? " (from FERMATA_MODEL)" : "");
		return -1;
	}
	fm_cnn_input_shape(net, &c, &h, &w);
	if (c != 1 || h != w) {
		warnx("model %s: input is %ux%ux%u, not a square gray face", path, c, h, w);
		fm_cnn_free(net);
		return -1;
	}
	cl->side = h;
	cl->margin = fm_cnn_crop_margin(net);
	if (fm_face_model_views(net, o->views, &cl->views, &e) == -1) {
		warnx("model %s: %s", path, e.msg);
		fm_cnn_free(net);
		return -1;
	}
	cl->workers = calloc((size_t)o->common.jobs, sizeof *cl->workers);
	if (cl->workers == NULL) {
		fm_cnn_free(net);
		warnx("out of memory");
		return -1;
	}
	cl->workers[0].net = net;
	for (int i = 0; i < o->common.jobs; i++) {
		struct worker *wk = &cl->workers[i];
		size_t plane = (size_t)h * w, n_classes = fm_cnn_n_classes(net);

		if (i > 0 && fm_cnn_clone(net, MAX_BATCH, 0, &wk->net, &e) == -1) {
			warnx("%s", e.msg);
			return -1;
		}
		if (fm_face_classifier_new(wk->net, &wk->classifier, &e) == -1) {
			warnx("model %s: %s", path, e.msg);
			return -1;
		}
		wk->probs = malloc(MAX_BATCH * n_classes * sizeof *wk->probs);
		wk->pixels = malloc(MAX_BATCH * plane);
		if (wk->probs == NULL || wk->pixels == NULL) {
			warnx("out of memory");
			return -1;
		}
	}
	return 0;
}

static void
close_model(const struct opts *o, struct classify *cl)
{
	for (int i = 0; cl->workers != NULL && i < o->common.jobs; i++) {
		struct worker *wk = &cl->workers[i];

		fm_face_classifier_free(wk->classifier);
		fm_cnn_free(wk->net);
		free(wk->probs);
		free(wk->pixels);
	}
	free(cl->workers);
}

/*
 * An image given without faces: a face crop becomes one face covering it, whose pixels are
 * the whole image (*whole); a photo gets the faces fer-detect would find in it, with
 * "width" and "height", and none when it has none.
 */
static int
operand_faces(const struct classify *cl, int thread, const struct fm_gray *gray, cJSON *rec,
              bool *whole, struct fm_err *err)
{
	const struct fm_photo_opts photo = FM_PHOTO_OPTS_DEFAULT;
	const struct detect_record_opts ro = {(size_t)cl->o->common.max_faces, false, 0, 0, 0};
	cJSON *faces, *face;

	*whole = cl->o->operand == OPERAND_FACE ||
	         (cl->o->operand == OPERAND_AUTO && fm_face_is_crop(gray->width, gray->height));
	if (!*whole) {
		if (!cl->can_detect)
			return fm_err_set(err, cl->no_detect.code,
			                  "a photo of %ux%u pixels (not a face crop), and no "
			                  "faces can be found: %s",
			                  gray->width, gray->height, cl->no_detect.msg);
		return detect_record(&cl->faces, thread, gray, &photo, &ro, rec, err);
	}
	faces = cJSON_CreateArray();
	face = cJSON_CreateObject();
	if (face == NULL || faces == NULL || !cJSON_AddItemToArray(faces, face) ||
	    cJSON_AddNumberToObject(face, "x", 0) == NULL ||
	    cJSON_AddNumberToObject(face, "y", 0) == NULL ||
	    cJSON_AddNumberToObject(face, "w", gray->width) == NULL ||
	    cJSON_AddNumberToObject(face, "h", gray->height) == NULL) {
		if (faces == NULL || cJSON_GetArraySize(faces) == 0)
			cJSON_Delete(face);
		cJSON_Delete(faces);
		return fm_err_set(err, FM_ENOMEM, "out of memory");
	}
	return fm_ndjson_set(rec, "faces", faces, err);
}

static int
classify_one(void *arg, int thread, cJSON *rec, struct fm_err *err)
{
	const struct classify *cl = arg;
	const struct worker *wk = &cl->workers[thread];
	cJSON *faces = cJSON_GetObjectItemCaseSensitive(rec, "faces");
	size_t plane = (size_t)cl->side * cl->side, n_classes = fm_cnn_n_classes(wk->net);
	struct fm_image img = {0};
	struct fm_gray gray = {0};
	const struct fm_gray *from = NULL;
	const char *path;
	bool whole = false;
	int n_faces, rc = -1;

	if (faces != NULL && !cJSON_IsArray(faces))
		return fm_err_set(err, FM_EINVAL, "\"faces\" is not an array");
	if (faces != NULL && cJSON_GetArraySize(faces) == 0)
		return 0; /* nothing to read: the record passes as it came */
	/* As fer-detect does: the most certain faces stay, the record says how many went. */
	if (fm_face_limit(rec, (size_t)cl->o->common.max_faces, err) == -1)
		return -1;
	/* Faces that all carry their crop (fer-detect --stream) need no image, nor a path. */
	if (faces == NULL || !fm_face_all_cropped(faces)) {
		if (fm_ndjson_get_path(rec, &path, err) == -1)
			return -1;
		if (fm_image_load(path, cl->o->common.max_pixels, &img, err) == -1 ||
		    fm_image_to_gray(&img, &gray, err) == -1)
			goto done;
		fm_image_free(&img);
		from = &gray;
	}
	if (faces == NULL) {
		if (operand_faces(cl, thread, &gray, rec, &whole, err) == -1)
			goto done;
		faces = cJSON_GetObjectItemCaseSensitive(rec, "faces");
	}
	n_faces = cJSON_GetArraySize(faces);
	for (int first = 0; first < n_faces; first += MAX_BATCH) {
		int b = n_faces - first < MAX_BATCH ? n_faces - first : MAX_BATCH;

		for (int k = 0; k < b; k++) {
			cJSON *face = cJSON_GetArrayItem(faces, first + k);
			uint8_t *px = wk->pixels + (size_t)k * plane;

			/* A face crop is read as the face sets of training and evaluation are. */
			if (whole)
				fm_face_whole(from, cl->side, px);
			else if (fm_face_pixels(face, from, cl->side, cl->margin, px, err) == -1)
				goto done;
			if (!cl->o->keep_crops)
				cJSON_DeleteItemFromObjectCaseSensitive(face, "crop");
		}
		if (fm_face_classify(wk->classifier, wk->pixels, cl->side, (size_t)b, cl->views,
		                     wk->probs, err) == -1)
			goto done;
		for (int k = 0; k < b; k++)
			if (fm_face_label(cJSON_GetArrayItem(faces, first + k), wk->net,
			                  wk->probs + (size_t)k * n_classes, cl->o->min_confidence,
			                  err) == -1)
				goto done;
	}
	rc = 0;
done:
	fm_gray_free(&gray);
	fm_image_free(&img);
	return rc;
}

/*
 * --smooth, in input order: the frame's faces pooled into one distribution by lib/mood's
 * rule (the one recommend uses), smoothed over "t" (or one second per record when the
 * stream has no "t"); a brief expression change that this frame ends (lib/mood spots it in
 * the frames' own distributions) becomes an event record after it. A time that cannot
 * continue the timeline (backwards, or far beyond its memory) starts a new segment, marked
 * "reset": one bad time, or two recordings concatenated, must not fail every later frame.
 */
static int
smooth_frame(void *arg, cJSON *rec, cJSON **extra, struct fm_err *err)
{
	struct classify *cl = arg;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "t");
	double p[FM_N_EMOTIONS], sm[FM_N_EMOTIONS], t_sec;
	struct fm_mood_brief ev;
	size_t n_faces;
	int rc;

	bool reset = false;

	t_sec = (double)cl->n_records++;
	if (t != NULL && !(cJSON_IsNumber(t) && isfinite(t->valuedouble)))
		return fm_err_set(err, FM_EFORMAT, "--smooth: \"t\" is not a number of seconds");
	if (fm_mood_record(rec, p, &n_faces, err) == -1)
		return -1;
	if (n_faces == 0)
		return 0; /* no face: nothing to smooth, the record passes */
	if (cl->clock == CLOCK_UNSET)
		cl->clock = t != NULL ? CLOCK_TIMES : CLOCK_RECORDS;
	if (cl->clock == CLOCK_TIMES && t == NULL)
		return fm_err_set(err, FM_EFORMAT,
		                  "--smooth: no \"t\", in a stream whose first frame had one");
	if (cl->clock == CLOCK_RECORDS && t != NULL)
		return fm_err_set(err, FM_EFORMAT,
		                  "--smooth: a \"t\", in a stream whose first frame had none");
	if (t != NULL)
		t_sec = t->valuedouble;
	if (fm_mood_timeline_breaks(cl->timeline, t_sec)) {
		fm_mood_timeline_reset(cl->timeline);
		cl->reset = true;
	}
	rc = fm_mood_timeline_add(cl->timeline, t_sec, p, sm, &ev, err);
	if (rc == -1)
		return -1;
	reset = cl->reset;
	cl->reset = false;
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "reset"); /* an earlier run's */
	cJSON *smoothed = cJSON_CreateObject();
	for (int k = 0; k < FM_N_EMOTIONS && smoothed != NULL; k++)
		if (cJSON_AddNumberToObject(smoothed, fm_emotion_name((enum fm_emotion)k),
		                            fm_ndjson_round(sm[k], 4)) == NULL) {
			cJSON_Delete(smoothed);
			smoothed = NULL;
		}
	if (fm_ndjson_set(rec, "smoothed", smoothed, err) == -1 ||
	    fm_ndjson_set(rec, "smoothed_emotion",
	                  cJSON_CreateString(fm_emotion_name(fm_mood_top(sm))), err) == -1 ||
	    (reset && fm_ndjson_set(rec, "reset", cJSON_CreateTrue(), err) == -1))
		return -1;
	if (rc == 1) {
		cJSON *e = cJSON_CreateObject();

		*extra = cJSON_CreateArray();
		if (*extra == NULL || e == NULL || !cJSON_AddItemToArray(*extra, e) ||
		    cJSON_AddStringToObject(e, "event", "brief") == NULL ||
		    cJSON_AddStringToObject(e, "emotion", fm_emotion_name(ev.emotion)) == NULL ||
		    cJSON_AddStringToObject(e, "baseline", fm_emotion_name(ev.baseline)) == NULL ||
		    cJSON_AddNumberToObject(e, "start", fm_ndjson_round(ev.start_sec, 4)) == NULL ||
		    cJSON_AddNumberToObject(e, "duration", fm_ndjson_round(ev.duration_sec, 4)) ==
		        NULL ||
		    cJSON_AddNumberToObject(e, "apex", fm_ndjson_round(ev.apex_sec, 4)) == NULL ||
		    cJSON_AddNumberToObject(e, "peak", fm_ndjson_round(ev.peak, 4)) == NULL ||
		    cJSON_AddNumberToObject(e, "frames", (double)ev.n_frames) == NULL) {
			if (*extra == NULL || !cJSON_IsArray(*extra) ||
			    cJSON_GetArraySize(*extra) == 0)
				cJSON_Delete(e);
			return fm_err_set(err, FM_ENOMEM, "out of memory for an event record");
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct opts o = {
	    .timeline = FM_MOOD_TIMELINE_OPTS_DEFAULT,
	};
	struct classify cl = {.o = &o};
	struct run r = {
	    .work = classify_one,
	    .ctx = &cl,
	    .flags = RUN_BARE_PATHS,
	    .status = STATUS_ALL_OK,
	};

	o.timeline.half_life_sec = 0;
	parse_options(argc, argv, &o);
	if (o.timeline.half_life_sec > 0) {
		struct fm_err e;

		if (fm_mood_timeline_new(&o.timeline, &cl.timeline, &e) == -1)
			errx(STATUS_CANNOT_RUN, "--smooth: %s", e.msg);
		r.in_order = smooth_frame;
	}
#ifdef OPENBLAS_VERSION
	/* Each --jobs thread runs its own small products; OpenBLAS's threads would compete. */
	openblas_set_num_threads(1);
#endif
	if (open_model(&o, &cl) == -1) {
		close_model(&o, &cl);
		return STATUS_CANNOT_RUN;
	}
	/* Photos are searched with fer-detect's default detector. Under --operand auto one
	 * that cannot be had matters only when a photo comes, so it is said then, per record. */
	if (o.operand != OPERAND_FACE) {
		cl.can_detect = detect_open_default(o.common.jobs, &cl.faces, &cl.no_detect) == 0;
		if (!cl.can_detect && o.operand == OPERAND_PHOTO) {
			warnx("%s", cl.no_detect.msg);
			detect_close(&cl.faces);
			close_model(&o, &cl);
			return STATUS_CANNOT_RUN;
		}
	}
	r.jobs = o.common.jobs;
	r.max_line_bytes = o.common.max_line_bytes;
	r.progress = o.common.progress;
	r.null_paths = o.common.null;
	r.name = "fer-classify";
	run_records(&r, argc - optind, argv + optind);
	detect_close(&cl.faces);
	close_model(&o, &cl);
	fm_mood_timeline_free(cl.timeline);
	return run_finish(&r);
}
