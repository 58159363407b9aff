/*
 * cmd/fer-detect.c: find faces in photos. Reads image paths (operands, or stdin lines that
 * are paths or records with "path") and writes each record with "width", "height" and
 * "faces". The detection is OpenCV's detectMultiScale recipe: gray, equalised histogram,
 * Viola-Jones cascade (lib/cascade); see man/fer-detect.1.
 */
#include <err.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cascade.h"
#include "common.h"
#include "image.h"
#include "ndjson.h"

static const char USAGE[] =
    "usage: fer-detect [-hV] [--cascade file] [--jobs n] [--max-pixels n] [--max-size px]"
    " [--min-neighbors n] [--min-size px] [--no-equalize] [--scale factor] [file ...]";

static const char OPTIONS[] =
    "  --cascade file       cascade XML: a path, or a name looked up in the OpenCV data\n"
    "                       folders (default haarcascade_frontalface_alt2.xml, or\n"
    "                       $FERMATA_CASCADE)\n"
    "  -h, --help           print this help and exit\n"
    "  --jobs n             images decoded and searched at once (default: online\n"
    "                       processors)\n"
    "  --max-pixels n       refuse images with more pixels (default 100000000)\n"
    "  --max-size px        largest face side in pixels (default 0: the image)\n"
    "  --min-neighbors n    drop faces found by n or fewer windows (default 3)\n"
    "  --min-size px        smallest face side in pixels (default 0: the cascade's\n"
    "                       window)\n"
    "  --no-equalize        search the gray image without histogram equalisation\n"
    "  --scale factor       window growth per pyramid level, 1.001 to 4 (default 1.1)\n"
    "  -V, --version        print the version and exit\n";

#define DEFAULT_CASCADE "haarcascade_frontalface_alt2.xml"

/* Where Debian's opencv-data puts them; the OpenCV 3 names last. */
static const char *const cascade_dirs[] = {
    "/usr/share/opencv4/haarcascades",
    "/usr/share/opencv4/lbpcascades",
    "/usr/share/opencv/haarcascades",
    "/usr/share/opencv/lbpcascades",
};
#define N_CASCADE_DIRS (sizeof cascade_dirs / sizeof cascade_dirs[0])

struct opts {
	const char *cascade; /* as given; NULL for the default */
	struct fm_detect_opts detect;
	bool equalize;
	int jobs;
	uint64_t max_pixels;
};

struct detect {
	const struct opts *o;
	struct fm_cascade *cascade;
	struct fm_detector **detectors; /* one per --jobs thread */
};

enum {
	OPT_CASCADE = 256,
	OPT_JOBS,
	OPT_MAX_PIXELS,
	OPT_MAX_SIZE,
	OPT_MIN_NEIGHBORS,
	OPT_MIN_SIZE,
	OPT_NO_EQUALIZE,
	OPT_SCALE,
};

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
	    {"cascade", required_argument, NULL, OPT_CASCADE},
	    {"help", no_argument, NULL, 'h'},
	    {"jobs", required_argument, NULL, OPT_JOBS},
	    {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
	    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
	    {"min-neighbors", required_argument, NULL, OPT_MIN_NEIGHBORS},
	    {"min-size", required_argument, NULL, OPT_MIN_SIZE},
	    {"no-equalize", no_argument, NULL, OPT_NO_EQUALIZE},
	    {"scale", required_argument, NULL, OPT_SCALE},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			exit_version("fer-detect");
		case 'h':
			exit_help(USAGE, OPTIONS);
		case OPT_CASCADE:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--cascade: empty file name");
			o->cascade = optarg;
			break;
		case OPT_JOBS:
			o->jobs = (int)option_int(USAGE, "--jobs", optarg, 1, JOBS_MAX);
			break;
		case OPT_MAX_PIXELS:
			o->max_pixels = (uint64_t)option_int(USAGE, "--max-pixels", optarg, 1, INT64_MAX);
			break;
		case OPT_MAX_SIZE:
			o->detect.max_side = (uint32_t)option_int(USAGE, "--max-size", optarg, 0, 1000000);
			break;
		case OPT_MIN_NEIGHBORS:
			o->detect.min_neighbors =
			    (int)option_int(USAGE, "--min-neighbors", optarg, 0, 1000);
			break;
		case OPT_MIN_SIZE:
			o->detect.min_side = (uint32_t)option_int(USAGE, "--min-size", optarg, 0, 1000000);
			break;
		case OPT_NO_EQUALIZE:
			o->equalize = false;
			break;
		case OPT_SCALE:
			/* lib/cascade takes no step below 1.001: that many levels help nobody. */
			o->detect.scale_factor = option_real(USAGE, "--scale", optarg, 1.001, 4, 0);
			break;
		default:
			exit_bad_option(USAGE, longopts, c, argv);
		}
	}
	if (o->detect.min_side != 0 && o->detect.max_side != 0 &&
	    o->detect.min_side > o->detect.max_side)
		exit_usage(USAGE, "--min-size %u is larger than --max-size %u",
		           (unsigned)o->detect.min_side, (unsigned)o->detect.max_side);
}

/*
 * The file a cascade name stands for: a name with a '/' is a path; a bare name is tried in
 * the working directory (unless it is the default) and then in the OpenCV data folders.
 */
static int
find_cascade(const char *name, bool given, char *buf, size_t size)
{
	if (strchr(name, '/') != NULL || (given && access(name, F_OK) == 0)) {
		snprintf(buf, size, "%s", name);
		return 0;
	}
	for (size_t i = 0; i < N_CASCADE_DIRS; i++) {
		if ((size_t)snprintf(buf, size, "%s/%s", cascade_dirs[i], name) < size &&
		    access(buf, F_OK) == 0)
			return 0;
	}
	warnx("cascade %s: not found%s in %s or %s (install opencv-data, or see --cascade)", name,
	      given ? " here," : "", cascade_dirs[0], cascade_dirs[1]);
	return -1;
}

static int
open_cascade(const struct opts *o, struct detect *d)
{
	const char *name = o->cascade;
	bool given = true;
	char path[4096];
	struct fm_err e;

	if (name == NULL) {
		name = getenv("FERMATA_CASCADE");
		if (name == NULL || name[0] == '\0') {
			name = DEFAULT_CASCADE;
			given = false;
		}
	}
	if (find_cascade(name, given, path, sizeof path) == -1)
		return -1;
	if (fm_cascade_load(path, &d->cascade, &e) == -1) {
		warnx("cascade %s: %s", path, e.msg);
		return -1;
	}
	d->detectors = calloc((size_t)o->jobs, sizeof *d->detectors);
	if (d->detectors == NULL) {
		warnx("out of memory for %d detectors", o->jobs);
		return -1;
	}
	for (int i = 0; i < o->jobs; i++) {
		if (fm_detector_new(&d->detectors[i], &e) == -1) {
			warnx("%s", e.msg);
			return -1;
		}
	}
	return 0;
}

static void
close_cascade(const struct opts *o, struct detect *d)
{
	if (d->detectors != NULL)
		for (int i = 0; i < o->jobs; i++)
			fm_detector_free(d->detectors[i]);
	free(d->detectors);
	fm_cascade_free(d->cascade);
}

static cJSON *
faces_json(const struct fm_box *boxes, size_t n)
{
	cJSON *faces = cJSON_CreateArray();

	for (size_t i = 0; faces != NULL && i < n; i++) {
		cJSON *f = cJSON_CreateObject();

		if (f == NULL || !cJSON_AddItemToArray(faces, f)) {
			cJSON_Delete(f);
			cJSON_Delete(faces);
			return NULL;
		}
		if (cJSON_AddNumberToObject(f, "x", boxes[i].x) == NULL ||
		    cJSON_AddNumberToObject(f, "y", boxes[i].y) == NULL ||
		    cJSON_AddNumberToObject(f, "w", boxes[i].w) == NULL ||
		    cJSON_AddNumberToObject(f, "h", boxes[i].h) == NULL ||
		    cJSON_AddNumberToObject(f, "score", fm_box_score(boxes[i].neighbors)) == NULL ||
		    cJSON_AddNumberToObject(f, "neighbors", boxes[i].neighbors) == NULL) {
			cJSON_Delete(faces);
			return NULL;
		}
	}
	return faces;
}

static int
detect_one(void *arg, int thread, cJSON *rec, struct fm_err *err)
{
	const struct detect *d = arg;
	struct fm_image img = {0};
	struct fm_gray gray = {0};
	struct fm_box *boxes = NULL;
	const char *path;
	size_t n = 0;
	int rc = -1;

	if (fm_ndjson_get_path(rec, &path, err) == -1)
		return -1;
	if (fm_image_load(path, d->o->max_pixels, &img, err) == -1)
		goto fail;
	if (fm_image_to_gray(&img, &gray, err) == -1)
		goto fail;
	fm_image_free(&img); /* the colour copy is the largest buffer: drop it early */
	if (d->o->equalize)
		fm_gray_equalize(&gray);
	if (fm_cascade_detect(d->cascade, d->detectors[thread], &gray, &d->o->detect, &boxes, &n,
	                      err) == -1)
		goto fail;
	if (fm_ndjson_set(rec, "width", cJSON_CreateNumber(gray.width), err) == -1 ||
	    fm_ndjson_set(rec, "height", cJSON_CreateNumber(gray.height), err) == -1 ||
	    fm_ndjson_set(rec, "faces", faces_json(boxes, n), err) == -1)
		goto fail;
	rc = 0;
fail:
	free(boxes);
	fm_gray_free(&gray);
	fm_image_free(&img);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o = {
	    .detect = FM_DETECT_OPTS_DEFAULT,
	    .equalize = true,
	    .jobs = default_jobs(),
	    .max_pixels = FM_DEFAULT_MAX_PIXELS,
	};
	struct detect d = {.o = &o};
	struct run r = {
	    .work = detect_one,
	    .ctx = &d,
	    .flags = RUN_BARE_PATHS | RUN_NEED_PATH,
	    .status = STATUS_ALL_OK,
	};

	parse_options(argc, argv, &o);
	if (open_cascade(&o, &d) == -1) {
		close_cascade(&o, &d);
		return STATUS_CANNOT_RUN;
	}
	r.jobs = o.jobs;
	run_records(&r, argc - optind, argv + optind);
	close_cascade(&o, &d);
	return run_finish(&r);
}
