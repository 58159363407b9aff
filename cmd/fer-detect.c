/*
 * cmd/fer-detect.c: find faces in photos. Reads image paths (operands, or stdin lines that
 * are paths or records with "path") and writes each record with "width", "height" and
 * "faces". The detection is OpenCV's detectMultiScale recipe: gray, equalised histogram,
 * Viola-Jones cascade (lib/cascade); see man/fer-detect.1.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cblas.h>

#include "cascade.h"
#include "common.h"
#include "detect.h"
#include "face.h"
#include "loop.h"
#include "options.h"
#include "image.h"
#include "ndjson.h"

static const char USAGE[] =
    "usage: fer-detect [-0hV] [--cascade file] [--crop-margin m] [--crop-side px] [--crops]"
    " [--detector kind] [--fps rate] [--jobs n] [--max-faces n] [--max-line bytes]"
    " [--max-pixels n] [--max-size px] [--max-windows n] [--min-neighbors n]"
    " [--min-score p] [--min-size px] [--model file] [--no-equalize] [--progress]"
    " [--scale factor] [--work-size px] [--stream | file ...]";

static const char OPTIONS[] =
    "  --cascade file       cascade XML: a path, or a name looked up in the OpenCV data\n"
    "                       folders (default haarcascade_frontalface_alt2.xml, or\n"
    "                       $FERMATA_CASCADE)\n"
    "  --crop-margin m      grow each crop's box by m of its side per side (default 0.1)\n"
    "  --crop-side px       side of the embedded face crops (default 48)\n"
    "  --crops              embed each face's gray crop (always with --stream)\n"
    "  --detector kind      cnn (fermata's own network, --model; the default) or\n"
    "                       cascade (Viola-Jones, OpenCV's boxes; the default when a\n"
    "                       cascade option is given)\n"
    "  --fps rate           --stream: frame n is at n / rate seconds (default: the clock)\n"
    "  --jobs n             images decoded and searched at once (default: online\n"
    "                       processors)\n"
    "  --max-faces n        keep the n most certain faces of an image (default 1000)\n"
    "  --max-size px        largest face side in pixels (default 0: the image)\n"
    "  --max-windows n      an image whose search gives more than n candidate windows\n"
    "                       is an error record (default 250000; 0: no limit)\n"
    "  --min-neighbors n    drop faces found by n or fewer windows (default 3)\n"
    "  --min-score p        cnn: drop faces scoring under p, 0 to 1 (default: the\n"
    "                       model's threshold, else 0.5)\n"
    "  --min-size px        smallest face side in pixels (default 0: the cascade's\n"
    "                       window; cnn: 20)\n"
    "  --model file         cnn: the detector's model (default face-detect.fm\n"
    "                       installed with fermata or in the build tree's models/)\n"
    "  --no-equalize        search the gray image without histogram equalisation\n"
    "  --scale factor       window growth per pyramid level, 1.001 to 4 (default 1.1)\n"
    "  --stream             read images back to back from stdin (PPM, PGM, JPEG, PNG)\n"
    "  --work-size px       search an image whose longer side is over px on a copy\n"
    "                       shrunk to px, raised to keep --min-size faces findable;\n"
    "                       boxes in the image's pixels (default 1600; 0: full size)\n";

struct opts {
	struct common_opts common; /* --jobs, --max-faces, --max-line, --max-pixels, --progress */
	const char *cascade;       /* as given; NULL for the default */
	const char *model;         /* --detector cnn: as given; NULL for the default */
	bool cnn;                  /* the CNN: the default, or --detector cnn */
	const char *detector;      /* --detector as given; NULL when not */
	double min_score;          /* --detector cnn; 0 for its default */
	struct fm_detect_opts detect;
	bool equalize, stream, crops;
	uint32_t work_side; /* longer side of the searched copy of a large image; 0: full size */
	double fps;         /* 0: stamp frames with the clock */
	long long crop_side;
	double crop_margin;
};

struct detect {
	const struct opts *o;
	struct detect_setup faces; /* the cascade, one detector per --jobs thread */
	/* --stream */
	struct fm_frame_reader *frames;
	uint64_t n_frames;
	struct timespec first;
};

/* One frame's bytes, from the reader to a worker: the reader's own buffer, handed over. */
struct frame {
	size_t n_bytes;
	uint8_t *bytes;
};

static void
free_frame(void *payload)
{
	struct frame *f = payload;

	free(f->bytes);
	free(f);
}

enum {
	OPT_CASCADE = 256,
	OPT_CROP_MARGIN,
	OPT_CROP_SIDE,
	OPT_CROPS,
	OPT_DETECTOR,
	OPT_FPS,
	OPT_MAX_SIZE,
	OPT_MAX_WINDOWS,
	OPT_MIN_NEIGHBORS,
	OPT_MIN_SCORE,
	OPT_MIN_SIZE,
	OPT_MODEL,
	OPT_NO_EQUALIZE,
	OPT_SCALE,
	OPT_STREAM,
	OPT_WORK_SIZE,
};

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option own[] = {
	    {"cascade", required_argument, NULL, OPT_CASCADE},
	    {"crop-margin", required_argument, NULL, OPT_CROP_MARGIN},
	    {"crop-side", required_argument, NULL, OPT_CROP_SIDE},
	    {"crops", no_argument, NULL, OPT_CROPS},
	    {"detector", required_argument, NULL, OPT_DETECTOR},
	    {"fps", required_argument, NULL, OPT_FPS},
	    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
	    {"max-windows", required_argument, NULL, OPT_MAX_WINDOWS},
	    {"min-neighbors", required_argument, NULL, OPT_MIN_NEIGHBORS},
	    {"min-score", required_argument, NULL, OPT_MIN_SCORE},
	    {"min-size", required_argument, NULL, OPT_MIN_SIZE},
	    {"model", required_argument, NULL, OPT_MODEL},
	    {"no-equalize", no_argument, NULL, OPT_NO_EQUALIZE},
	    {"scale", required_argument, NULL, OPT_SCALE},
	    {"stream", no_argument, NULL, OPT_STREAM},
	    {"work-size", required_argument, NULL, OPT_WORK_SIZE},
	    {NULL, 0, NULL, 0},
	};
	bool cascade_only = false;
	int c;

	common_opts_init(&o->common, "fer-detect", USAGE, OPTIONS, "", own,
	                 COMMON_JOBS | COMMON_MAX_FACES | COMMON_MAX_LINE | COMMON_MAX_PIXELS |
	                     COMMON_PROGRESS | COMMON_NULL);
	o->common.max_line_bytes = o->common.max_line_default = DETECT_MAX_LINE;
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case OPT_CASCADE:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--cascade: empty file name");
			o->cascade = optarg;
			cascade_only = true;
			break;
		case OPT_CROP_MARGIN:
			o->crop_margin = option_real(USAGE, "--crop-margin", optarg, 0, 2, 0);
			break;
		case OPT_CROP_SIDE:
			o->crop_side = option_int(USAGE, "--crop-side", optarg, 8, 512);
			break;
		case OPT_CROPS:
			o->crops = true;
			break;
		case OPT_DETECTOR:
			if (strcmp(optarg, "cnn") != 0 && strcmp(optarg, "cascade") != 0)
				exit_usage(USAGE, "--detector: '%s' is not cascade or cnn", optarg);
			o->detector = optarg;
			break;
		case OPT_FPS:
			o->fps = option_real(USAGE, "--fps", optarg, 0, 1e6, NUM_OPEN_MIN);
			break;
		case OPT_MAX_SIZE:
			o->detect.max_side =
			    (uint32_t)option_int(USAGE, "--max-size", optarg, 0, 1000000);
			break;
		case OPT_MAX_WINDOWS:
			o->detect.max_windows =
			    (size_t)option_int(USAGE, "--max-windows", optarg, 0, 1000000000);
			cascade_only = true;
			break;
		case OPT_MIN_NEIGHBORS:
			o->detect.min_neighbors =
			    (int)option_int(USAGE, "--min-neighbors", optarg, 0, 1000);
			cascade_only = true;
			break;
		case OPT_MIN_SCORE:
			o->min_score =
			    option_real(USAGE, "--min-score", optarg, 0, 1, NUM_OPEN_MIN);
			break;
		case OPT_MIN_SIZE:
			o->detect.min_side =
			    (uint32_t)option_int(USAGE, "--min-size", optarg, 0, 1000000);
			break;
		case OPT_MODEL:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--model: empty file name");
			o->model = optarg;
			break;
		case OPT_NO_EQUALIZE:
			o->equalize = false;
			cascade_only = true;
			break;
		case OPT_SCALE:
			/* lib/cascade takes no step below 1.001: that many levels help nobody. */
			o->detect.scale_factor = option_real(USAGE, "--scale", optarg, 1.001, 4, 0);
			cascade_only = true;
			break;
		case OPT_STREAM:
			o->stream = o->crops = true;
			break;
		case OPT_WORK_SIZE:
			o->work_side =
			    (uint32_t)option_int(USAGE, "--work-size", optarg, 0, 1000000);
			if (o->work_side != 0 && o->work_side < 64)
				exit_usage(USAGE, "--work-size: 0, or 64 pixels or more");
			break;
		}
	}
	if (o->detect.min_side != 0 && o->detect.max_side != 0 &&
	    o->detect.min_side > o->detect.max_side)
		exit_usage(USAGE, "--min-size %u is larger than --max-size %u",
		           (unsigned)o->detect.min_side, (unsigned)o->detect.max_side);
	/* The CNN unless told otherwise: an option only the cascade has, or $FERMATA_CASCADE,
	 * says so too. */
	o->cnn = o->detector != NULL ? strcmp(o->detector, "cnn") == 0
	                             : !cascade_only && !detect_default_is_cascade();
	if (o->cnn && cascade_only)
		exit_usage(USAGE, "--cascade, --max-windows, --min-neighbors, --no-equalize and "
		                  "--scale are the cascade's, not --detector cnn's");
	if (!o->cnn && (o->model != NULL || o->min_score > 0))
		exit_usage(USAGE, "--model and --min-score are the CNN's, not the cascade's");
	if (o->stream && optind < argc)
		exit_usage(USAGE, "--stream reads stdin, not the operand '%s'", argv[optind]);
	if (o->stream && o->common.null)
		exit_usage(USAGE, "--stream reads images from stdin, -0 paths");
	if (o->fps > 0 && !o->stream)
		exit_usage(USAGE, "--fps needs --stream");
}

/* Find the faces of a decoded image and set the record's fields. */
static int
detect_image(const struct detect *d, int thread, struct fm_image *img, cJSON *rec,
             struct fm_err *err)
{
	const struct fm_photo_opts photo = {d->o->detect, d->o->equalize, d->o->work_side};
	const struct detect_record_opts ro = {(size_t)d->o->common.max_faces, d->o->crops,
	                                      (uint32_t)d->o->crop_side, d->o->crop_margin,
	                                      d->o->min_score};
	struct fm_gray gray = {0};
	int rc = -1;

	if (fm_image_to_gray(img, &gray, err) == 0) {
		fm_image_free(img); /* the colour copy is the largest buffer: drop it early */
		rc = detect_record(&d->faces, thread, &gray, &photo, &ro, rec, err);
	}
	fm_gray_free(&gray);
	return rc;
}

/*
 * A video given as a photo is a common first try: when the file's name says video, the
 * reason goes on to say how fer-detect reads one. The name is repeated in the command as the
 * shell would take it, quoted if need be, or stands as VIDEO when it is long or awkward.
 */
static void
hint_video(const char *path, struct fm_err *err)
{
	static const char *const exts[] = {"3gp", "avi", "flv", "m2ts", "m4v",
	                                   "mkv", "mov", "mp4", "mpeg", "mpg",
	                                   "mts", "ogv", "ts",  "webm", "wmv"};
	const char *dot = strrchr(path, '.'), *quote = "";
	size_t n = strlen(err->msg), k;

	if (dot == NULL || strchr(dot, '/') != NULL)
		return;
	for (k = 0; k < sizeof exts / sizeof exts[0]; k++)
		if (strcasecmp(dot + 1, exts[k]) == 0)
			break;
	if (k == sizeof exts / sizeof exts[0])
		return;
	if (path[strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	                      "._/+-")] != '\0')
		quote = "'";
	if (strlen(path) > 60 || path[0] == '-' || strchr(path, '\'') != NULL) {
		path = "VIDEO";
		quote = "";
	}
	snprintf(
	    err->msg + n, sizeof err->msg - n,
	    "; for a video: ffmpeg -i %s%s%s -f image2pipe -vcodec ppm - | fer-detect --stream",
	    quote, path, quote);
}

static int
detect_one(void *arg, int thread, cJSON *rec, struct fm_err *err)
{
	const struct detect *d = arg;
	struct fm_image img = {0};
	const char *path;
	int rc;

	if (fm_ndjson_get_path(rec, &path, err) == -1)
		return -1;
	if (fm_image_load(path, d->o->common.max_pixels, &img, err) == -1) {
		if (err->code == FM_EFORMAT)
			hint_video(path, err);
		return -1;
	}
	rc = detect_image(d, thread, &img, rec, err);
	fm_image_free(&img);
	return rc;
}

/* --stream: the frames of stdin as records {"frame": n, "t": seconds}. */
static int
next_frame(void *arg, cJSON **rec, void **payload, size_t *payload_bytes, struct fm_err *err)
{
	struct detect *d = arg;
	uint8_t *bytes = NULL;
	struct timespec now;
	size_t n;
	double t;
	struct frame *f = NULL;
	int rc;

	*rec = NULL;
	*payload = NULL;
	*payload_bytes = 0;
	rc = fm_frame_reader_take(d->frames, &bytes, &n, err);
	if (rc == -1 && err->code != FM_EFORMAT && err->code != FM_ELIMIT)
		return -1; /* the stream cannot be read on */
	if (rc == 0 && n == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (d->n_frames == 0)
		d->first = now;
	if (d->o->fps > 0)
		t = (double)d->n_frames / d->o->fps;
	else
		t = (double)(now.tv_sec - d->first.tv_sec) + (now.tv_nsec - d->first.tv_nsec) / 1e9;
	struct fm_err e2;
	cJSON *r = cJSON_CreateObject();
	if (r == NULL || fm_ndjson_set(r, "frame", cJSON_CreateNumber((double)d->n_frames), &e2) ||
	    fm_ndjson_set(r, "t", cJSON_CreateNumber(fm_ndjson_round(t, 4)), &e2) ||
	    (rc == 0 && (f = malloc(sizeof *f)) == NULL)) {
		cJSON_Delete(r);
		free(bytes);
		return fm_err_set(err, FM_ENOMEM, "out of memory for frame %llu",
		                  (unsigned long long)d->n_frames);
	}
	d->n_frames++;
	*rec = r;
	if (rc == -1)
		return -1; /* this frame fails, the stream goes on */
	*f = (struct frame){n, bytes};
	*payload = f;
	*payload_bytes = n;
	return 1;
}

static int
detect_frame(void *arg, int thread, cJSON *rec, void *payload, struct fm_err *err)
{
	const struct detect *d = arg;
	struct frame *f = payload;
	struct fm_image img = {0};
	int rc = fm_image_decode(f->bytes, f->n_bytes, d->o->common.max_pixels, &img, err);

	/* The frame's bytes are not needed once decoded: a job holds the frame or its pixels,
	 * not both with the gray copy too. */
	free(f->bytes);
	f->bytes = NULL;
	if (rc == -1)
		return -1;
	rc = detect_image(d, thread, &img, rec, err);
	fm_image_free(&img);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o = {
	    .detect = FM_DETECT_OPTS_DEFAULT,
	    .equalize = true,
	    .work_side = FM_PHOTO_WORK_SIDE_DEFAULT,
	    .crop_side = FM_FACE_DEFAULT_SIDE, /* what the shipped models read */
	    .crop_margin = FM_FACE_DEFAULT_MARGIN,
	};
	struct detect d = {.o = &o};
	struct fm_err e;
	struct run r = {
	    .work = detect_one,
	    .ctx = &d,
	    .flags = RUN_BARE_PATHS | RUN_NEED_PATH,
	    .status = STATUS_ALL_OK,
	};

	parse_options(argc, argv, &o);
#ifdef __GLIBC__
	if (o.stream || o.cnn) {
		/* Every frame takes a few buffers of about its size (the copy in flight, the
		 * decoded image, its gray), and the CNN detector a copy of its network's
		 * activations for each pyramid level of a new image size. Left to glibc's
		 * defaults they come from fresh pages and go back to the system each image, and
		 * faulting those pages in cost 15% of a 640x480 stream's time and 40% of the
		 * CNN's on a folder of photos: keep freed memory for the next image instead. */
		mallopt(M_MMAP_THRESHOLD, 64 << 20);
		mallopt(M_TRIM_THRESHOLD, 256 << 20);
	}
#endif
#ifdef OPENBLAS_VERSION
	/* Each --jobs thread runs its own small products; OpenBLAS's threads would compete. */
	openblas_set_num_threads(1);
#endif
	if ((o.cnn ? detect_open_cnn(o.model, o.common.jobs, &d.faces, &e)
	           : detect_open(o.cascade, o.common.jobs, &d.faces, &e)) == -1) {
		warnx("%s", e.msg);
		detect_close(&d.faces);
		return STATUS_CANNOT_RUN;
	}
	r.jobs = o.common.jobs;
	r.max_line_bytes = o.common.max_line_bytes;
	r.progress = o.common.progress;
	r.null_paths = o.common.null;
	r.name = "fer-detect";
	if (o.stream) {
		/* The largest frame max_pixels allows: 16-bit RGB PPM samples and a header. A
		 * --max-pixels over 2^64 / 6 made the product wrap to a few bytes, or to 0, which
		 * the reader refuses: such a limit is no limit, and SIZE_MAX / 4 stands for it. */
		uint64_t max_bytes = o.common.max_pixels > (UINT64_MAX - 4096) / 6
		                         ? UINT64_MAX
		                         : o.common.max_pixels * 6 + 4096;

		if (max_bytes > SIZE_MAX / 4)
			max_bytes = SIZE_MAX / 4;
		if (fm_frame_reader_new(STDIN_FILENO, (size_t)max_bytes, o.common.max_pixels,
		                        &d.frames, &e) == -1) {
			warnx("%s", e.msg);
			detect_close(&d.faces);
			return STATUS_CANNOT_RUN;
		}
		r.next = next_frame;
		r.work_payload = detect_frame;
		r.free_payload = free_frame;
		/* One frame at the limits in flight per job, rather than the loop's 4 * jobs
		 * records: frames of a few hundred megabytes would otherwise queue by the dozen. */
		r.max_payload_bytes = (size_t)max_bytes > SIZE_MAX / (size_t)o.common.jobs
		                          ? SIZE_MAX
		                          : (size_t)max_bytes * (size_t)o.common.jobs;
		r.flags = 0;
	}
	run_records(&r, argc - optind, argv + optind);
	fm_frame_reader_free(d.frames);
	detect_close(&d.faces);
	return run_finish(&r);
}
