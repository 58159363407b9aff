/*
 * cmd/detect.h: finding the faces of a photo as fer-detect does, for fer-detect itself and
 * for fer-classify's photo operands: the cascade by name (a path, $FERMATA_CASCADE, or
 * fer-detect's default, looked up in the OpenCV data folders), one detector per --jobs
 * thread, and a record's "width", "height", "faces" and "faces_dropped" from a gray image.
 * One copy, so that `fer-classify photo.jpg` finds the faces `fer-detect photo.jpg` finds.
 */
#ifndef FM_CMD_DETECT_H
#define FM_CMD_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "base.h"
#include "cascade.h"
#include "face.h"
#include "facedet.h"
#include "image.h"

/* fer-detect's default cascade, unless $FERMATA_CASCADE or --cascade names another. */
#define DETECT_DEFAULT_CASCADE "haarcascade_frontalface_alt2.xml"

/* fer-detect --detector cnn's default model, looked up as find_shipped_file does. */
#define DETECT_DEFAULT_CNN_MODEL "face-detect.fm"

struct detect_setup {
	struct fm_cascade *cascade;
	struct fm_detector **detectors; /* one per thread */
	int n_threads;
	struct fm_cnn *cnn;           /* detect_open_cnn: the detector's network, else NULL */
	struct fm_facedet **facedets; /* one per thread */
};

/*
 * Load the cascade: name as given (--cascade), or NULL for $FERMATA_CASCADE, else the
 * default. A name with a '/' is a path; a bare name is tried in the working directory
 * (unless it is the default) and then in the OpenCV data folders. Then one detector per
 * thread. -1 with the message in err ("cascade NAME: not found ..."), and s left for
 * detect_close.
 */
int detect_open(const char *name, int n_threads, struct detect_setup *s, struct fm_err *err);
/*
 * Or the CNN detector: the model file at path (NULL for the shipped face-detect.fm), and
 * one detector per thread. -1 with the message in err ("model PATH: ..."), s left for
 * detect_close.
 */
int detect_open_cnn(const char *path, int n_threads, struct detect_setup *s, struct fm_err *err);
void detect_close(struct detect_setup *s);
/*
 * Whether the tools' default detector is the cascade rather than the CNN: when
 * $FERMATA_CASCADE names one (a user's standing choice of a cascade).
 */
bool detect_default_is_cascade(void);
/* The default detector (above): detect_open(NULL, ...) or detect_open_cnn(NULL, ...). */
int detect_open_default(int n_threads, struct detect_setup *s, struct fm_err *err);

/*
 * fer-detect's --max-line default, 1 MiB: its input lines are paths and records of paths. Its
 * output line is that line with the faces added, at most DETECT_FACE_MAX_BYTES each (a
 * box, its numbers and a default crop in base64) for --max-faces' default of them: at most
 * 4.7 MB, which the next tool's default, FM_NDJSON_DEFAULT_MAX_LINE, reads (detect.c checks
 * the sum when it is compiled).
 */
#define DETECT_MAX_LINE ((size_t)1 << 20)
#define DETECT_FACE_MAX_BYTES (4 * ((FM_FACE_DEFAULT_SIDE * FM_FACE_DEFAULT_SIDE + 2) / 3) + 512)

/* What goes into a record's faces besides the boxes. */
struct detect_record_opts {
	size_t
	    max_faces; /* --max-faces: the most certain kept, "faces_dropped" says how many went */
	bool crops;    /* embed each face's crop (fer-detect --crops) */
	uint32_t crop_side; /* with crops */
	double crop_margin;
	double min_score; /* the CNN detector: faces scoring less are dropped; 0 for its default */
};

/*
 * Find the faces of gray (a whole photo, left unchanged) with thread's detector and set rec's
 * "width", "height", "faces" ({"x", "y", "w", "h", "score", "neighbors"} each, most
 * neighbours first; from the CNN {"x", "y", "w", "h", "score", "landmarks"}, best first)
 * and, when faces went, "faces_dropped". The CNN takes photo's min_side (0: 20 pixels, or
 * more on a photo larger than work_side, as the cascade's search of a shrunk copy) and
 * max_side, and neither equalises nor uses the cascade's options. FM_ENOMEM and the
 * detector's errors.
 */
int detect_record(const struct detect_setup *s, int thread, const struct fm_gray *gray,
                  const struct fm_photo_opts *photo, const struct detect_record_opts *o, cJSON *rec,
                  struct fm_err *err);

#endif
