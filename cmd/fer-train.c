/*
 * cmd/fer-train.c: train the expression network on FER2013 (a folder per class, or
 * fer2013.csv), keep the model with the best validation accuracy, checkpoint every epoch
 * and resume from it; or evaluate a model (--eval). See man/fer-train.1.
 */
#include <err.h>
#include <getopt.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <cblas.h>

#include "cnn.h"
#include "common.h"
#include "options.h"
#include "progress.h"
#include "dataset.h"
#include "face.h"
#include "facedet.h"
#include "mood.h"
#include "ndjson.h"
#include "train.h"

static const char USAGE[] =
    "usage: fer-train [-hV] [--arch desc] [--batch n] [--epochs n] [--erase p] [--init model]"
    " [--jobs n] [--lr rate] [--optim name] [--resume] [--seed n] [--smoothing s] [--stop-after n]"
    " [--teacher model [--distill w] [--temperature T]] [--val data] [--warmup epochs]"
    " [--weight-decay w] --data data -o model\n"
    "       fer-train --detector [--arch desc] [--batch n] [--epochs n] [--jobs n] [--lr rate]"
    " [--optim name] [--resume] [--seed n] [--stop-after n] [--warmup epochs]"
    " [--weight-decay w] --data labels -o model\n"
    "       fer-train --eval [--jobs n] [--json] [--predictions file] [--tta | --views n]"
    " --model model --val data\n"
    "       fer-train --ensemble [--views n] -o model model model ...";

static const char OPTIONS[] =
    "  --arch desc          layers of the network (default: see fer-train(1))\n"
    "  --batch n            samples per step (default 64)\n"
    "  --data data          training faces: a folder per emotion, or fer2013.csv\n"
    "                       (its Training rows)\n"
    "  --detector           train the face detector (fer-detect --detector cnn) on\n"
    "                       --data, labelled photos, one JSON record a line\n"
    "  --distill w          weight of --teacher's soft targets against the labels,\n"
    "                       0 to 1 (default 0.5)\n"
    "  --ensemble           write one model holding the model operands (2 to 16),\n"
    "                       whose probabilities it averages\n"
    "  --epochs n           epochs in the run (default 30)\n"
    "  --erase p            erase a random rectangle of a face with probability p\n"
    "                       (random erasing; default 0)\n"
    "  --eval               evaluate --model on --val and exit\n"
    "  --init model         start from this model's network and weights (fine-tuning)\n"
    "  --jobs n             threads sharing each batch, and the faces of --eval,\n"
    "                       validation and --teacher (default: online processors)\n"
    "  --json               --eval writes one JSON object instead of a table\n"
    "  --lr rate            peak learning rate (default 0.05 for sgd, 0.002 for adamw)\n"
    "  --model file         the model --eval reads\n"
    "  -o file              where the best model goes; file.ckpt holds the last epoch\n"
    "  --optim name         sgd (Nesterov momentum 0.9) or adamw (default sgd)\n"
    "  --predictions file   --eval writes each face's answer to file, one record a\n"
    "                       line, as fer-classify gives it\n"
    "  --resume             continue from file.ckpt with the same options\n"
    "  --seed n             seed of weights, order and augmentation (default 1)\n"
    "  --smoothing s        label smoothing, 0 to 0.5 (default 0.1)\n"
    "  --stop-after n       stop after epoch n, to go on later with --resume\n"
    "  --teacher model      learn also from this model's probabilities of each\n"
    "                       training face (knowledge distillation)\n"
    "  --temperature T      softening of --teacher's probabilities (default 4)\n"
    "  --tta                --eval averages ten views of each face (turned, zoomed,\n"
    "                       mirrored): --views 10\n"
    "  --views n            views of each face --eval averages, as fer-classify's: 1,\n"
    "                       2 (the face and its mirror image) or 10 (default: the\n"
    "                       model's own); with --ensemble, the ensemble's own\n"
    "  --val data           validation faces: a folder per emotion, or fer2013.csv\n"
    "                       (its PublicTest rows)\n"
    "  --warmup epochs      linear warm-up before the cosine decay (default 1)\n"
    "  --weight-decay w     L2 on weights (default 5e-4 for sgd, 0.05 for adamw)\n";

/* FER2013 pixels over every 10th training face: mean 131.2, standard deviation 78.4. */
#define PIXEL_MEAN 131.2f
#define PIXEL_STD 78.4f

struct opts {
	struct common_opts common; /* --jobs (--threads) */
	const char *arch, *data, *val, *out, *model, *init, *predictions, *teacher;
	long long batch, epochs, seed, stop_after;
	double lr, smoothing, warmup, weight_decay, erase, distill, temperature;
	enum fm_optim_kind optim;
	int views; /* --eval's, --ensemble's default views; 0: not given */
	bool eval, json, tta, resume, ensemble, detector, optim_given, batch_given, arch_given;
	char **members; /* --ensemble: the model operands */
	int n_members;
};

enum {
	OPT_ARCH = 256,
	OPT_BATCH,
	OPT_DATA,
	OPT_DETECTOR,
	OPT_DISTILL,
	OPT_ENSEMBLE,
	OPT_EPOCHS,
	OPT_ERASE,
	OPT_EVAL,
	OPT_INIT,
	OPT_JSON,
	OPT_LR,
	OPT_MODEL,
	OPT_OPTIM,
	OPT_PREDICTIONS,
	OPT_RESUME,
	OPT_SEED,
	OPT_SMOOTHING,
	OPT_STOP_AFTER,
	OPT_TEACHER,
	OPT_TEMPERATURE,
	OPT_TTA,
	OPT_VIEWS,
	OPT_VAL,
	OPT_WARMUP,
	OPT_WEIGHT_DECAY,
};

static const struct option own[] = {
    {"arch", required_argument, NULL, OPT_ARCH},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"data", required_argument, NULL, OPT_DATA},
    {"detector", no_argument, NULL, OPT_DETECTOR},
    {"distill", required_argument, NULL, OPT_DISTILL},
    {"ensemble", no_argument, NULL, OPT_ENSEMBLE},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"erase", required_argument, NULL, OPT_ERASE},
    {"eval", no_argument, NULL, OPT_EVAL},
    {"init", required_argument, NULL, OPT_INIT},
    {"json", no_argument, NULL, OPT_JSON},
    {"lr", required_argument, NULL, OPT_LR},
    {"model", required_argument, NULL, OPT_MODEL},
    {"optim", required_argument, NULL, OPT_OPTIM},
    {"predictions", required_argument, NULL, OPT_PREDICTIONS},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"seed", required_argument, NULL, OPT_SEED},
    {"smoothing", required_argument, NULL, OPT_SMOOTHING},
    {"stop-after", required_argument, NULL, OPT_STOP_AFTER},
    {"teacher", required_argument, NULL, OPT_TEACHER},
    {"temperature", required_argument, NULL, OPT_TEMPERATURE},
    {"tta", no_argument, NULL, OPT_TTA},
    {"views", required_argument, NULL, OPT_VIEWS},
    {"val", required_argument, NULL, OPT_VAL},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
    {NULL, 0, NULL, 0},
};

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	int c;

	common_opts_init(&o->common, "fer-train", USAGE, OPTIONS, "o:", own,
	                 COMMON_JOBS | COMMON_THREADS);
	o->common.jobs_max = FM_CNN_MAX_THREADS;
	if (o->common.jobs > FM_CNN_MAX_THREADS)
		o->common.jobs = FM_CNN_MAX_THREADS;
	while ((c = common_getopt(&o->common, argc, argv)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case OPT_ARCH:
			o->arch = optarg;
			o->arch_given = true;
			break;
		case OPT_BATCH:
			o->batch = option_int(USAGE, "--batch", optarg, 2, 4096);
			o->batch_given = true;
			break;
		case OPT_DATA:
			o->data = optarg;
			break;
		case OPT_DETECTOR:
			o->detector = true;
			break;
		case OPT_DISTILL:
			o->distill = option_real(USAGE, "--distill", optarg, 0, 1, 0);
			break;
		case OPT_ENSEMBLE:
			o->ensemble = true;
			break;
		case OPT_EPOCHS:
			o->epochs = option_int(USAGE, "--epochs", optarg, 1, 10000);
			break;
		case OPT_EVAL:
			o->eval = true;
			break;
		case OPT_INIT:
			o->init = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_LR:
			o->lr = option_real(USAGE, "--lr", optarg, 0, 10, NUM_OPEN_MIN);
			break;
		case OPT_MODEL:
			o->model = optarg;
			break;
		case OPT_OPTIM:
			o->optim_given = true;
			if (strcmp(optarg, "sgd") == 0)
				o->optim = FM_OPTIM_SGD;
			else if (strcmp(optarg, "adamw") == 0)
				o->optim = FM_OPTIM_ADAMW;
			else
				exit_usage(USAGE, "--optim: '%s' is not sgd or adamw", optarg);
			break;
		case OPT_PREDICTIONS:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--predictions: empty file name");
			o->predictions = optarg;
			break;
		case OPT_RESUME:
			o->resume = true;
			break;
		case OPT_SEED:
			o->seed = option_int(USAGE, "--seed", optarg, 0, INT64_MAX);
			break;
		case OPT_ERASE:
			o->erase = option_real(USAGE, "--erase", optarg, 0, 1, 0);
			break;
		case OPT_SMOOTHING:
			o->smoothing = option_real(USAGE, "--smoothing", optarg, 0, 0.5, 0);
			break;
		case OPT_STOP_AFTER:
			o->stop_after = option_int(USAGE, "--stop-after", optarg, 1, 10000);
			break;
		case OPT_TEACHER:
			if (optarg[0] == '\0')
				exit_usage(USAGE, "--teacher: empty file name");
			o->teacher = optarg;
			break;
		case OPT_TEMPERATURE:
			o->temperature =
			    option_real(USAGE, "--temperature", optarg, FM_CNN_MIN_TEMPERATURE,
			                FM_CNN_MAX_TEMPERATURE, 0);
			break;
		case OPT_TTA:
			o->tta = true;
			break;
		case OPT_VIEWS:
			o->views = option_views(USAGE, optarg);
			break;
		case OPT_VAL:
			o->val = optarg;
			break;
		case OPT_WARMUP:
			o->warmup = option_real(USAGE, "--warmup", optarg, 0, 1000, 0);
			break;
		case OPT_WEIGHT_DECAY:
			o->weight_decay = option_real(USAGE, "--weight-decay", optarg, 0, 1, 0);
			break;
		}
	}
	if (o->ensemble) {
		o->members = argv + optind;
		o->n_members = argc - optind;
		if (o->eval || o->data != NULL || o->init != NULL || o->resume ||
		    o->predictions != NULL)
			exit_usage(USAGE, "--ensemble takes models, not --data, --eval, --init, "
			                  "--predictions or --resume");
		if (o->out == NULL || o->n_members < 2 || o->n_members > FM_CNN_MAX_MEMBERS)
			exit_usage(USAGE, "--ensemble needs -o and 2 to %d models",
			           FM_CNN_MAX_MEMBERS);
	} else if (optind < argc) {
		exit_usage(USAGE, "unexpected operand '%s'", argv[optind]);
	} else if (o->eval) {
		if (o->model == NULL || o->val == NULL)
			exit_usage(USAGE, "--eval needs --model and --val");
	} else if (o->data == NULL || o->out == NULL) {
		exit_usage(USAGE, "training needs --data and -o");
	} else if (o->predictions != NULL) {
		exit_usage(USAGE, "--predictions needs --eval");
	}
	if (o->detector) {
		if (o->eval || o->ensemble || o->teacher != NULL || o->init != NULL ||
		    o->val != NULL || o->smoothing != 0.1 || o->erase != 0)
			exit_usage(USAGE,
			           "--detector takes no --eval, --ensemble, --erase, --init, "
			           "--smoothing, --teacher or --val (it validates on 1 in 20 of "
			           "--data's photos)");
		if (!o->optim_given)
			o->optim = FM_OPTIM_ADAMW;
		if (!o->arch_given)
			o->arch = FM_FACEDET_DEFAULT_ARCH;
		if (!o->batch_given)
			o->batch = 32;
	}
	if (o->tta && !o->eval)
		exit_usage(USAGE, "--tta is for --eval");
	if (o->views != 0 && !o->eval && !o->ensemble)
		exit_usage(USAGE, "--views is for --eval and --ensemble");
	o->views = option_views_with_tta(USAGE, o->tta, o->views); /* 0: the model's own */
	if ((o->distill >= 0 || o->temperature > 0) && o->teacher == NULL)
		exit_usage(USAGE, "--distill and --temperature need --teacher");
	if (o->teacher != NULL && (o->eval || o->ensemble))
		exit_usage(USAGE, "--teacher is for training, not --eval or --ensemble");
	if (o->distill < 0)
		o->distill = 0.5;
	if (o->temperature == 0)
		o->temperature = 4;
	if (o->lr == 0)
		o->lr = o->optim == FM_OPTIM_SGD ? 0.05 : o->detector ? 0.01 : 0.002;
	if (o->weight_decay < 0)
		o->weight_decay = o->optim == FM_OPTIM_SGD ? 5e-4 : 0.05;
}

/* A folder is the image tree; a file is fer2013.csv, whose rows `usage` selects. */
static void
load_faces(const char *what, const char *path, const char *usage, struct fm_dataset *d)
{
	struct stat st;
	struct fm_err e;
	int rc;

	if (stat(path, &st) == -1)
		err(STATUS_CANNOT_RUN, "%s", path);
	rc = S_ISDIR(st.st_mode) ? fm_dataset_load_dir(path, FM_FACE_DEFAULT_SIDE, d, &e)
	                         : fm_dataset_load_csv(path, usage, d, &e);
	if (rc == -1)
		errx(STATUS_CANNOT_RUN, "%s: %s", what, e.msg);
	fprintf(stderr, "fer-train: %s: %zu faces from %s\n", what, d->n, path);
}

/* "1h02m", or "3m07s" under an hour; clamped to 0..9999h59m, NaN as 0, so that the
 * conversions to int stay defined whatever a first step's timing gives. */
static void
format_duration(char *buf, size_t size, double s)
{
	if (!(s > 0))
		s = 0;
	if (s > 9999 * 3600.0 + 59 * 60)
		s = 9999 * 3600.0 + 59 * 60;
	if (s >= 3600)
		snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	else
		snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

struct train_progress {
	struct progress line; /* restarted each epoch */
	long long epochs;     /* in the run */
	size_t batch;
};

/*
 * The "epoch E/N" label and the run's ETA, from the time this epoch's steps took so far, for
 * both trainings' progress lines; false when the line was shown too recently to show again.
 */
static bool
epoch_and_eta(const struct train_progress *pr, size_t epoch_index, size_t step, size_t n_steps,
              char *epoch, size_t epoch_size, char *eta, size_t eta_size)
{
	double spent = clock_sec() - pr->line.started;
	double epoch_s = spent * (double)n_steps / (double)step;
	double left = epoch_s - spent + (double)(pr->epochs - (long long)epoch_index - 1) * epoch_s;

	if (clock_sec() - pr->line.last_shown < pr->line.every_sec)
		return false;
	snprintf(epoch, epoch_size, "epoch %zu/%lld", epoch_index + 1, pr->epochs);
	format_duration(eta, eta_size, left);
	return true;
}

/* Within an epoch: the faces seen, their rate, and the step, loss, accuracy and ETA. */
static void
show_progress(void *ctx, const struct fm_train_progress *p)
{
	struct train_progress *pr = ctx;
	char epoch[48], extra[128], eta[24];

	if (!epoch_and_eta(pr, p->epoch, p->step, p->n_steps, epoch, sizeof epoch, eta, sizeof eta))
		return;
	snprintf(extra, sizeof extra, "step %zu/%zu, loss %.4f, acc %.1f%%, lr %.5f, ETA %s",
	         p->step, p->n_steps, p->loss, 100 * p->accuracy, p->lr, eta);
	progress_show(&pr->line, false, epoch, (uint64_t)(p->step * pr->batch), 0, extra);
}

static void
print_table(const struct fm_scores *s, const struct fm_confusion *m, int views)
{
	printf("accuracy %.2f%%  macro-F1 %.4f  (%llu faces, %d view%s each)\n\n",
	       100 * s->accuracy, s->macro_f1, (unsigned long long)s->n, views,
	       views == 1 ? "" : "s");
	printf("%-9s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		printf("%-9s %9.4f %9.4f %9.4f %8llu\n", fm_emotion_name((enum fm_emotion)k),
		       s->precision[k], s->recall[k], s->f1[k], (unsigned long long)s->support[k]);
	printf("\nconfusion (rows: true class, columns: predicted)\n%-9s", "");
	for (int p = 0; p < FM_N_EMOTIONS; p++)
		printf(" %8.8s", fm_emotion_name((enum fm_emotion)p));
	printf("\n");
	for (int t = 0; t < FM_N_EMOTIONS; t++) {
		printf("%-9s", fm_emotion_name((enum fm_emotion)t));
		for (int p = 0; p < FM_N_EMOTIONS; p++)
			printf(" %8llu", (unsigned long long)m->count[t][p]);
		printf("\n");
	}
}

/* Scores to four decimals, as the record tools write theirs: the table prints no more. */
static int
set_score(cJSON *obj, const char *key, double v, struct fm_err *e)
{
	return fm_ndjson_set(obj, key, cJSON_CreateNumber(fm_ndjson_round(v, 4)), e);
}

static int
set_count(cJSON *obj, const char *key, uint64_t n, struct fm_err *e)
{
	return fm_ndjson_set(obj, key, cJSON_CreateNumber((double)n), e);
}

/* The class's scores and its row of the confusion matrix. */
static int
add_class(cJSON *classes, cJSON *matrix, const struct fm_scores *s, const struct fm_confusion *m,
          int k, struct fm_err *e)
{
	cJSON *c = cJSON_CreateObject(), *row = cJSON_CreateArray();

	if (fm_ndjson_set(classes, fm_emotion_name((enum fm_emotion)k), c, e) == -1) {
		cJSON_Delete(row);
		return -1;
	}
	if (row == NULL || !cJSON_AddItemToArray(matrix, row)) {
		cJSON_Delete(row);
		return fm_err_set(e, FM_ENOMEM, "out of memory");
	}
	if (set_score(c, "precision", s->precision[k], e) == -1 ||
	    set_score(c, "recall", s->recall[k], e) == -1 ||
	    set_score(c, "f1", s->f1[k], e) == -1 ||
	    set_count(c, "support", s->support[k], e) == -1)
		return -1;
	for (int p = 0; p < FM_N_EMOTIONS; p++) {
		cJSON *n = cJSON_CreateNumber((double)m->count[k][p]);

		if (n == NULL || !cJSON_AddItemToArray(row, n)) {
			cJSON_Delete(n);
			return fm_err_set(e, FM_ENOMEM, "out of memory");
		}
	}
	return 0;
}

static void
print_json(const struct fm_scores *s, const struct fm_confusion *m, int views)
{
	cJSON *root = cJSON_CreateObject(), *classes = NULL, *matrix = NULL;
	struct fm_err e = {.code = FM_ENOMEM, .msg = "out of memory"};
	char *line = NULL;
	size_t n = 0;
	int failed;

	/* fm_ndjson_set takes each item, also on failure, and says why it failed. */
	failed = root == NULL || set_count(root, "faces", s->n, &e) == -1 ||
	         set_count(root, "views", (uint64_t)views, &e) == -1 ||
	         set_score(root, "accuracy", s->accuracy, &e) == -1 ||
	         set_score(root, "macro_f1", s->macro_f1, &e) == -1 ||
	         fm_ndjson_set(root, "classes", classes = cJSON_CreateObject(), &e) == -1 ||
	         fm_ndjson_set(root, "confusion", matrix = cJSON_CreateArray(), &e) == -1;
	for (int k = 0; k < FM_N_EMOTIONS && !failed; k++)
		failed = add_class(classes, matrix, s, m, k, &e) == -1;
	/* The checks every record gets: finite numbers, one whole line. */
	if (!failed)
		failed = fm_ndjson_print(root, &line, &n, &e) == -1;
	cJSON_Delete(root);
	if (failed)
		errx(STATUS_CANNOT_RUN, "--json: %s", e.msg);
	failed = write_line(line, n);
	free(line);
	if (failed != 0)
		errno = failed, err(STATUS_CANNOT_RUN, "stdout");
}

/*
 * --predictions: one line per face, {"path", "truth", "emotion", "scores"} ("index", the
 * face's place in fer2013.csv's rows kept, for a CSV), the face's answer written by lib/face
 * as fer-classify writes a face's, so that the two compare face by face. Written whole or
 * not at all.
 */
static void
write_predictions(const char *file, const struct fm_cnn *net, const struct fm_dataset *d,
                  const float *probs)
{
	struct fm_err e;
	char *text = NULL, *line;
	size_t len = 0, cap = 0, n;

	for (size_t i = 0; i < d->n; i++) {
		cJSON *rec = cJSON_CreateObject();
		int failed =
		    rec == NULL ||
		    (d->paths != NULL
		         ? fm_ndjson_set(rec, "path", cJSON_CreateString(d->paths[i]), &e)
		         : fm_ndjson_set(rec, "index", cJSON_CreateNumber((double)i), &e)) == -1 ||
		    fm_ndjson_set(
		        rec, "truth",
		        cJSON_CreateString(fm_emotion_name((enum fm_emotion)d->labels[i])),
		        &e) == -1 ||
		    fm_face_label(rec, net, probs + i * FM_N_EMOTIONS, 0, &e) == -1 ||
		    fm_ndjson_print(rec, &line, &n, &e) == -1;

		cJSON_Delete(rec);
		if (failed)
			errx(STATUS_CANNOT_RUN, "--predictions: %s",
			     rec == NULL ? "out of memory" : e.msg);
		if (len + n > cap) {
			char *t;

			cap = (len + n) * 2;
			if ((t = realloc(text, cap)) == NULL)
				errx(STATUS_CANNOT_RUN, "--predictions: out of memory");
			text = t;
		}
		memcpy(text + len, line, n);
		len += n;
		free(line);
	}
	if (fm_write_file(file, text, len, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--predictions: %s", e.msg); /* it names the file */
	free(text);
}

static int
evaluate(const struct opts *o)
{
	struct fm_cnn *net;
	struct fm_dataset val;
	struct fm_confusion m;
	struct fm_scores s;
	struct fm_err e;
	enum fm_face_views views;
	float *probs;

	if (fm_cnn_load(o->model, 256, 0, &net, &e) == -1)
		errx(STATUS_CANNOT_RUN, "%s", e.msg); /* it names the file */
	load_faces("val", o->val, "PublicTest", &val);
	if ((probs = malloc(val.n * FM_N_EMOTIONS * sizeof *probs)) == NULL)
		errx(STATUS_CANNOT_RUN, "out of memory for %zu faces' scores", val.n);
	if (fm_face_model_views(net, o->views, &views, &e) == -1)
		errx(STATUS_CANNOT_RUN, "%s: %s", o->model, e.msg);
	if (fm_train_predict(net, &val, views, (size_t)o->common.jobs, &m, probs, &e) == -1)
		errx(STATUS_CANNOT_RUN, "%s", e.msg);
	if (o->predictions != NULL)
		write_predictions(o->predictions, net, &val, probs);
	fm_confusion_scores(&m, &s);
	if (o->json)
		print_json(&s, &m, (int)views);
	else
		print_table(&s, &m, (int)views);
	free(probs);
	fm_dataset_free(&val);
	fm_cnn_free(net);
	return finish_stdout(); /* the table goes through stdio: a full disk is not success */
}

/* --ensemble: one model file holding the operands' networks, which fm_cnn_ensemble checks
 * agree on input, classes, normalisation and crop margin. */
static int
build_ensemble(const struct opts *o)
{
	struct fm_cnn *nets[FM_CNN_MAX_MEMBERS] = {0}, *ens;
	cJSON *j = cJSON_CreateObject(), *list = NULL;
	char *text = NULL;
	struct fm_err e;

	for (int i = 0; i < o->n_members; i++)
		if (fm_cnn_load(o->members[i], 1, 0, &nets[i], &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg); /* it names the file */
	if (fm_cnn_ensemble(nets, (size_t)o->n_members, 1, &ens, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--ensemble: %s", e.msg);
	/* Where the members came from, in the ensemble's own info; theirs stay with them. */
	bool ok =
	    j != NULL &&
	    cJSON_AddStringToObject(j, "trainer", "fer-train (fermata) " FM_VERSION) != NULL &&
	    cJSON_AddStringToObject(j, "combine", "mean of the members' probabilities") != NULL &&
	    (o->views == 0 || cJSON_AddNumberToObject(j, "views", o->views) != NULL) &&
	    (list = cJSON_AddArrayToObject(j, "members")) != NULL;
	for (int i = 0; ok && i < o->n_members; i++)
		ok = cJSON_AddItemToArray(list, cJSON_CreateString(o->members[i]));
	text = ok ? cJSON_PrintUnformatted(j) : NULL;
	if (text == NULL)
		errx(STATUS_CANNOT_RUN, "--ensemble: out of memory");
	if (fm_cnn_set_info(ens, text, &e) == -1 || fm_cnn_save(ens, o->out, &e) == -1)
		errx(STATUS_CANNOT_RUN, "%s", e.msg);
	fprintf(stderr, "fer-train: an ensemble of %d networks, %zu parameters, in %s\n",
	        o->n_members, fm_cnn_param_count(ens), o->out);
	free(text);
	cJSON_Delete(j);
	fm_cnn_free(ens);
	for (int i = 0; i < o->n_members; i++)
		fm_cnn_free(nets[i]);
	return STATUS_ALL_OK;
}

/* The training state a checkpoint carries in its info text, as JSON. */
struct state {
	long long epochs_done;
	double best_val;
	double teacher_acc;  /* the teacher's accuracy on the training faces; -1 without one */
	char teacher_id[17]; /* FNV-1a of the teacher's model bytes, 16 hex digits */
};

static void
set_info(struct fm_cnn *net, const struct opts *o, const struct state *st, double val_acc,
         double train_acc)
{
	cJSON *j = cJSON_CreateObject();
	char *text;
	struct fm_err e;

	/* Any member that did not make it is an out-of-memory, as a NULL text is. */
	bool ok =
	    j != NULL &&
	    cJSON_AddStringToObject(j, "trainer", "fer-train (fermata) " FM_VERSION) != NULL &&
	    cJSON_AddStringToObject(j, "data", o->data) != NULL &&
	    (o->val == NULL || cJSON_AddStringToObject(j, "val", o->val) != NULL) &&
	    cJSON_AddNumberToObject(j, "epochs_done", (double)st->epochs_done) != NULL &&
	    cJSON_AddNumberToObject(j, "epochs", (double)o->epochs) != NULL &&
	    cJSON_AddNumberToObject(j, "seed", (double)o->seed) != NULL &&
	    cJSON_AddStringToObject(j, "optim", o->optim == FM_OPTIM_SGD ? "sgd" : "adamw") !=
	        NULL &&
	    cJSON_AddNumberToObject(j, "lr", o->lr) != NULL &&
	    cJSON_AddNumberToObject(j, "erase", o->erase) != NULL &&
	    cJSON_AddNumberToObject(j, "batch", (double)o->batch) != NULL &&
	    cJSON_AddNumberToObject(j, "val_accuracy", val_acc) != NULL &&
	    cJSON_AddNumberToObject(j, "train_accuracy", train_acc) != NULL &&
	    cJSON_AddNumberToObject(j, "best_val_accuracy", st->best_val) != NULL &&
	    (o->teacher == NULL ||
	     (cJSON_AddStringToObject(j, "teacher", o->teacher) != NULL &&
	      cJSON_AddNumberToObject(j, "distill", o->distill) != NULL &&
	      cJSON_AddNumberToObject(j, "temperature", o->temperature) != NULL &&
	      cJSON_AddNumberToObject(j, "teacher_train_accuracy", st->teacher_acc) != NULL &&
	      cJSON_AddStringToObject(j, "teacher_fnv1a", st->teacher_id) != NULL));
	text = ok ? cJSON_PrintUnformatted(j) : NULL;
	if (text == NULL || fm_cnn_set_info(net, text, &e) == -1)
		errx(STATUS_CANNOT_RUN, "checkpoint info: %s",
		     text == NULL ? "out of memory" : e.msg);
	free(text);
	cJSON_Delete(j);
}

/*
 * The state a checkpoint says it reached, each number checked before it is used: the file's
 * checksum shows it is whole, not that its numbers are sane, and a count of epochs outside
 * 0..--epochs would overflow the conversion, train for ever or print "epoch -2/2".
 */
/*
 * A checkpoint's epochs done and best validation figure (the info key best_key, a fraction),
 * checked against --epochs; both trainings' checkpoints, "what" naming the kind in the error.
 */
static void
read_checkpoint(const struct fm_cnn *net, const char *path, long long epochs, const char *best_key,
                const char *what, long long *done_out, double *best_out)
{
	cJSON *j = cJSON_Parse(fm_cnn_info(net));
	const cJSON *done = cJSON_GetObjectItemCaseSensitive(j, "epochs_done");
	const cJSON *best = cJSON_GetObjectItemCaseSensitive(j, best_key);

	if (!cJSON_IsObject(j) || !cJSON_IsNumber(done) || !cJSON_IsNumber(best))
		errx(STATUS_CANNOT_RUN, "%s: not a %s checkpoint", path, what);
	/* The comparisons are written so that NaN fails them too. */
	if (!(done->valuedouble >= 0 && done->valuedouble <= (double)epochs) ||
	    done->valuedouble != floor(done->valuedouble))
		errx(STATUS_CANNOT_RUN,
		     "%s: epochs_done %.17g is not a whole number from 0 to %lld (--epochs)", path,
		     done->valuedouble, epochs);
	if (!(best->valuedouble >= 0 && best->valuedouble <= 1))
		errx(STATUS_CANNOT_RUN, "%s: %s %.17g is not from 0 to 1", path, best_key,
		     best->valuedouble);
	*done_out = (long long)done->valuedouble;
	*best_out = best->valuedouble;
	cJSON_Delete(j);
}

/*
 * The teacher is part of the run: a resumed run distils from the same model, with the same
 * weight and temperature, or does not distil at all, as it began. A teacher file replaced
 * under the same name shows in the digest of its model (its bytes as fm_cnn_encode writes
 * them, which depend on nothing but the model).
 */
static void
check_teacher(const struct fm_cnn *net, const char *path, const struct opts *o,
              const char *teacher_id)
{
	cJSON *j = cJSON_Parse(fm_cnn_info(net));
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "teacher");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "distill");
	const cJSON *temp = cJSON_GetObjectItemCaseSensitive(j, "temperature");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "teacher_fnv1a");

	if (t == NULL && o->teacher != NULL)
		errx(STATUS_CANNOT_RUN,
		     "%s: the run began without a teacher; --resume without --teacher", path);
	if (t != NULL && o->teacher == NULL)
		errx(STATUS_CANNOT_RUN, "%s: the run began with --teacher; --resume needs it",
		     path);
	if (t != NULL) {
		if (!cJSON_IsString(t) || !cJSON_IsNumber(w) || !cJSON_IsNumber(temp) ||
		    !cJSON_IsString(id))
			errx(STATUS_CANNOT_RUN, "%s: not a fer-train checkpoint", path);
		if (strcmp(t->valuestring, o->teacher) != 0)
			errx(STATUS_CANNOT_RUN, "%s: the run's teacher is %s, not %s", path,
			     t->valuestring, o->teacher);
		/* The options went through the same parse and the same JSON number both times. */
		if (w->valuedouble != o->distill || temp->valuedouble != o->temperature)
			errx(STATUS_CANNOT_RUN,
			     "%s: the run began with --distill %g --temperature %g, not %g and %g",
			     path, w->valuedouble, temp->valuedouble, o->distill, o->temperature);
		if (strcmp(id->valuestring, teacher_id) != 0)
			errx(STATUS_CANNOT_RUN,
			     "%s: teacher %s has changed since the run began (model digest %s, "
			     "now %s)",
			     path, o->teacher, id->valuestring, teacher_id);
	}
	cJSON_Delete(j);
}

/*
 * The teacher's probabilities of every training face, once for the run (into *probs, which
 * the caller frees), and its accuracy on them. The faces go through fm_train_predict, the
 * path of --eval and of fer-classify on a face file, so the teacher answers what it would
 * answer as a tool given --views 1: the face as it is, not mirrored, whatever views the
 * model asks for (the student's augmented views are mirrored half the time anyway). Once per
 * face, not per augmented view: every view of a face learns from the plain face's answer,
 * which costs one forward of the teacher per face a run instead of one per face an epoch
 * (see fer-train(1)).
 */
static double
teach(const struct opts *o, const struct fm_dataset *data, float **probs, char id[17])
{
	struct fm_cnn *teacher;
	struct fm_confusion m;
	struct fm_scores s;
	struct fm_err e;
	double started = clock_sec();
	unsigned char *bytes;
	size_t n_bytes;
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a, 64 bits */

	if (fm_cnn_load(o->teacher, 1, 0, &teacher, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--teacher: %s", e.msg); /* it names the file */
	if (fm_cnn_encode(teacher, &bytes, &n_bytes, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--teacher %s: %s", o->teacher, e.msg);
	for (size_t i = 0; i < n_bytes; i++)
		h = (h ^ bytes[i]) * 0x100000001b3u;
	free(bytes);
	snprintf(id, 17, "%016llx", (unsigned long long)h);
	if ((*probs = malloc(data->n * FM_N_EMOTIONS * sizeof **probs)) == NULL)
		errx(STATUS_CANNOT_RUN, "out of memory for %zu faces' teacher scores", data->n);
	if (fm_train_predict(teacher, data, FM_FACE_VIEWS_ONE, (size_t)o->common.jobs, &m, *probs,
	                     &e) == -1)
		errx(STATUS_CANNOT_RUN, "--teacher %s: %s", o->teacher, e.msg);
	fm_confusion_scores(&m, &s);
	fprintf(stderr,
	        "fer-train: teacher %s: %.2f%% of the training faces right, %.0f s; "
	        "--distill %g --temperature %g\n",
	        o->teacher, 100 * s.accuracy, clock_sec() - started, o->distill, o->temperature);
	fm_cnn_free(teacher);
	return s.accuracy;
}

static int
train(const struct opts *o)
{
	struct fm_dataset data, val = {0};
	struct fm_cnn *net, *eval_net = NULL;
	struct fm_train_opts to = {0};
	struct state st = {0, -1, -1, ""};
	float *teacher = NULL;
	struct train_progress pr = {0};
	char ckpt[4096];
	struct fm_err e;
	const char *names[FM_N_EMOTIONS];

	for (int k = 0; k < FM_N_EMOTIONS; k++)
		names[k] = fm_emotion_name((enum fm_emotion)k);
	if ((size_t)snprintf(ckpt, sizeof ckpt, "%s.ckpt", o->out) >= sizeof ckpt)
		errx(STATUS_CANNOT_RUN, "%s: path too long", o->out);
	if (o->resume) {
		if (fm_cnn_load(ckpt, (size_t)o->batch, 1, &net, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg); /* it names the file */
		read_checkpoint(net, ckpt, o->epochs, "best_val_accuracy", "fer-train",
		                &st.epochs_done, &st.best_val);
		fprintf(stderr, "fer-train: resuming after epoch %lld of %lld (best val %.2f%%)\n",
		        st.epochs_done, o->epochs, 100 * st.best_val);
	} else if (o->init != NULL) {
		/* Architecture, classes, normalisation and crop margin come with the weights. */
		if (fm_cnn_load(o->init, (size_t)o->batch, 1, &net, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg); /* it names the file */
		fm_cnn_seed(net, (uint64_t)o->seed);
	} else {
		if (fm_cnn_new(o->arch, 1, FM_FACE_DEFAULT_SIDE, FM_FACE_DEFAULT_SIDE,
		               (size_t)o->batch, (uint64_t)o->seed, &net, &e) == -1)
			errx(STATUS_CANNOT_RUN, "--arch: %s", e.msg);
		if (fm_cnn_set_classes(net, names, FM_N_EMOTIONS, &e) == -1 ||
		    fm_cnn_set_normalization(net, PIXEL_MEAN, PIXEL_STD, &e) == -1 ||
		    fm_cnn_set_crop_margin(net, (float)FM_FACE_DEFAULT_MARGIN, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
	}
	/* The faces after the network, so that a model that cannot train (an ensemble, a
	 * damaged file) is said at once rather than after minutes of decoding. */
	load_faces("train", o->data, "Training", &data);
	if (o->val != NULL)
		load_faces("val", o->val, "PublicTest", &val);
	if (o->teacher != NULL)
		st.teacher_acc = teach(o, &data, &teacher, st.teacher_id);
	if (o->resume)
		check_teacher(net, ckpt, o, st.teacher_id);
	if (fm_cnn_set_threads(net, (size_t)o->common.jobs, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--jobs: %s", e.msg);
	fprintf(stderr, "fer-train: %s\nfer-train: %zu parameters, %.1f MFLOPs per face\n",
	        fm_cnn_desc(net), fm_cnn_param_count(net), (double)fm_cnn_flops(net) / 1e6);

	to.batch = (size_t)o->batch;
	to.optim = (struct fm_optim)FM_OPTIM_SGD_DEFAULT;
	if (o->optim == FM_OPTIM_ADAMW)
		to.optim = (struct fm_optim)FM_OPTIM_ADAMW_DEFAULT;
	to.optim.weight_decay = (float)o->weight_decay;
	to.schedule = (struct fm_lr_schedule){
	    FM_LR_COSINE, o->lr, o->lr * 1e-3, o->warmup, (double)o->epochs, 1, 1};
	to.smoothing = (float)o->smoothing;
	to.augment = (struct fm_augment){1, 4.0f, 10.0f, 0.1f, 0.1f, 0.2f, (float)o->erase};
	to.teacher = teacher;
	to.distill = (float)o->distill;
	to.temperature = (float)o->temperature;
	pr.epochs = o->epochs;
	pr.batch = (size_t)o->batch;

	long long last = o->epochs;
	if (o->stop_after > 0 && o->stop_after < last)
		last = o->stop_after;
	for (long long epoch = st.epochs_done; epoch < last; epoch++) {
		double loss, acc, val_acc = -1;
		struct fm_confusion m;
		struct fm_scores s = {0};

		progress_start(&pr.line, "fer-train", "face", "faces");
		pr.line.failures = false; /* training fails as a whole, not face by face */
		if (fm_train_epoch(net, &data, &to, (size_t)epoch, (uint64_t)o->seed, show_progress,
		                   &pr, &loss, &acc, &e) == -1)
			errx(STATUS_CANNOT_RUN, "epoch %lld: %s", epoch + 1, e.msg);
		if (val.n > 0) {
			/* A copy for inference with large batches; the training net keeps its own.
			 */
			fm_cnn_free(eval_net);
			if (fm_cnn_clone(net, 256, 0, &eval_net, &e) == -1 ||
			    fm_train_evaluate(eval_net, &val, FM_FACE_VIEWS_ONE,
			                      (size_t)o->common.jobs, &m, &e) == -1)
				errx(STATUS_CANNOT_RUN, "validation: %s", e.msg);
			fm_confusion_scores(&m, &s);
			val_acc = s.accuracy;
		}
		double spent = clock_sec() - pr.line.started;
		st.epochs_done = epoch + 1;
		bool best = val.n == 0 || val_acc > st.best_val;
		if (best)
			st.best_val = val.n ? val_acc : acc;
		set_info(net, o, &st, val_acc, acc);
		if (best && fm_cnn_save(net, o->out, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		if (fm_cnn_save_checkpoint(net, ckpt, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		char eta[24];

		/* The epoch's line takes the place of its progress line on a terminal. */
		progress_clear(&pr.line);
		fprintf(stderr, "epoch %lld/%lld: loss %.4f  train %.2f%%", epoch + 1, o->epochs,
		        loss, 100 * acc);
		if (val.n > 0)
			fprintf(stderr, "  val %.2f%%  macro-F1 %.4f%s", 100 * val_acc, s.macro_f1,
			        best ? "  (best, saved)" : "");
		format_duration(eta, sizeof eta, spent * (double)(o->epochs - epoch - 1));
		fprintf(stderr, "  %.0f s, ETA %s\n", spent, eta);
	}
	if (st.epochs_done < o->epochs)
		fprintf(stderr, "fer-train: stopped after epoch %lld of %lld; --resume goes on\n",
		        st.epochs_done, o->epochs);
	else
		fprintf(stderr, "fer-train: done; best val %.2f%% in %s\n", 100 * st.best_val,
		        o->out);
	fm_cnn_free(eval_net);
	fm_cnn_free(net);
	free(teacher);
	fm_dataset_free(&data);
	fm_dataset_free(&val);
	return STATUS_ALL_OK;
}

/*
 * --detector: the face detector's run. The photos of --data whose path hashes to 1 in 20
 * (fm_facedet_is_validation) are left out of training and score each epoch (AP at IoU 0.5,
 * with P, R, F1 at the detector's default score threshold); the best AP is kept in -o.
 */
static void
show_det_progress(void *ctx, const struct fm_facedet_progress *p)
{
	struct train_progress *pr = ctx;
	char epoch[48], extra[160], eta[24];

	if (!epoch_and_eta(pr, p->epoch, p->step, p->n_steps, epoch, sizeof epoch, eta, sizeof eta))
		return;
	snprintf(extra, sizeof extra,
	         "step %zu/%zu, loss %.4f (cls %.4f box %.4f lm %.4f), lr %.5f, ETA %s", p->step,
	         p->n_steps, p->loss.total, p->loss.cls, p->loss.box, p->loss.landmarks, p->lr,
	         eta);
	progress_show(&pr->line, false, epoch, (uint64_t)(p->step * pr->batch), 0, extra);
}

static void
set_det_info(struct fm_cnn *net, const struct opts *o, const struct fm_facedet_geom *g,
             long long epochs_done, double best_ap, const struct fm_facedet_score *v,
             const struct fm_facedet_loss *l)
{
	cJSON *j = cJSON_CreateObject();
	char *text = NULL, *info = NULL;
	struct fm_err e = {.code = FM_ENOMEM, .msg = "out of memory"};
	bool ok =
	    j != NULL &&
	    cJSON_AddStringToObject(j, "trainer", "fer-train (fermata) " FM_VERSION) != NULL &&
	    cJSON_AddStringToObject(j, "data", o->data) != NULL &&
	    cJSON_AddNumberToObject(j, "epochs_done", (double)epochs_done) != NULL &&
	    cJSON_AddNumberToObject(j, "epochs", (double)o->epochs) != NULL &&
	    cJSON_AddNumberToObject(j, "seed", (double)o->seed) != NULL &&
	    cJSON_AddStringToObject(j, "optim", o->optim == FM_OPTIM_SGD ? "sgd" : "adamw") !=
	        NULL &&
	    cJSON_AddNumberToObject(j, "lr", o->lr) != NULL &&
	    cJSON_AddNumberToObject(j, "batch", (double)o->batch) != NULL &&
	    cJSON_AddNumberToObject(j, "loss", l->total) != NULL &&
	    cJSON_AddNumberToObject(j, "val_ap", v->ap) != NULL &&
	    cJSON_AddNumberToObject(j, "val_precision", v->precision) != NULL &&
	    cJSON_AddNumberToObject(j, "val_recall", v->recall) != NULL &&
	    cJSON_AddNumberToObject(j, "val_f1", v->f1) != NULL &&
	    cJSON_AddNumberToObject(j, "best_val_ap", best_ap) != NULL;

	text = ok ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (text == NULL || fm_facedet_info(g, text, &info, &e) == -1 ||
	    fm_cnn_set_info(net, info, &e) == -1)
		errx(STATUS_CANNOT_RUN, "checkpoint info: %s", e.msg);
	free(text);
	free(info);
}

/* Detector crops: 160 x 160 pixels, 20 x 20 cells at stride 8. */
#define DET_CROP_SIDE 160
/* Photos are 8-bit gray 0 to 255; these put them near mean 0, spread 1. */
#define DET_PIXEL_MEAN 127.5f
#define DET_PIXEL_STD 64.0f

static int
train_detector(const struct opts *o)
{
	struct fm_facedet_set set;
	struct fm_cnn *net, *eval_net = NULL;
	struct fm_facedet *det = NULL;
	struct fm_facedet_train_opts to = {0};
	const struct fm_facedet_opts dopts = FM_FACEDET_OPTS_DEFAULT;
	struct fm_facedet_geom geom = FM_FACEDET_GEOM_DEFAULT;
	struct train_progress pr = {0};
	size_t *train_idx, *val_idx, n_train = 0, n_val = 0;
	long long done = 0;
	double best = -1;
	char ckpt[4096];
	struct fm_err e;

	if ((size_t)snprintf(ckpt, sizeof ckpt, "%s.ckpt", o->out) >= sizeof ckpt)
		errx(STATUS_CANNOT_RUN, "%s: path too long", o->out);
	if (o->resume) {
		if (fm_cnn_load(ckpt, (size_t)o->batch, 1, &net, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		read_checkpoint(net, ckpt, o->epochs, "best_val_ap", "fer-train --detector", &done,
		                &best);
		if (fm_facedet_model_geom(net, &geom, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s: %s", ckpt, e.msg);
		fprintf(stderr, "fer-train: resuming after epoch %lld of %lld (best val AP %.4f)\n",
		        done, o->epochs, best);
	} else {
		char *info;

		if (fm_cnn_new(o->arch, 1, DET_CROP_SIDE, DET_CROP_SIDE, (size_t)o->batch,
		               (uint64_t)o->seed, &net, &e) == -1)
			errx(STATUS_CANNOT_RUN, "--arch: %s", e.msg);
		if (fm_cnn_set_normalization(net, DET_PIXEL_MEAN, DET_PIXEL_STD, &e) == -1 ||
		    fm_facedet_info(&geom, NULL, &info, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		if (fm_cnn_set_info(net, info, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		free(info);
	}
	if (fm_facedet_new(net, &det, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--arch: %s", e.msg);
	fm_facedet_free(det);
	det = NULL;
	if (fm_facedet_set_load(o->data, &set, &e) == -1)
		errx(STATUS_CANNOT_RUN, "%s", e.msg);
	if (fm_facedet_set_load_photos(&set, FM_DEFAULT_MAX_PIXELS, &e) == -1)
		errx(STATUS_CANNOT_RUN, "%s", e.msg);
	train_idx = malloc((set.n + 1) * sizeof *train_idx);
	val_idx = malloc((set.n + 1) * sizeof *val_idx);
	if (train_idx == NULL || val_idx == NULL)
		errx(STATUS_CANNOT_RUN, "out of memory for %zu photos", set.n);
	for (size_t i = 0; i < set.n; i++) {
		if (fm_facedet_is_validation(set.photos[i].path))
			val_idx[n_val++] = i;
		else
			train_idx[n_train++] = i;
	}
	fprintf(stderr, "fer-train: %zu photos from %s: %zu to train on, %zu to validate\n", set.n,
	        o->data, n_train, n_val);
	if (n_train < (size_t)o->batch)
		errx(STATUS_CANNOT_RUN, "%s: %zu training photos, fewer than --batch %lld", o->data,
		     n_train, o->batch);
	if (fm_cnn_set_threads(net, (size_t)o->common.jobs, &e) == -1)
		errx(STATUS_CANNOT_RUN, "--jobs: %s", e.msg);
	fprintf(stderr, "fer-train: %s\nfer-train: %zu parameters, %.1f MFLOPs per %dx%d crop\n",
	        fm_cnn_desc(net), fm_cnn_param_count(net), (double)fm_cnn_flops(net) / 1e6,
	        DET_CROP_SIDE, DET_CROP_SIDE);

	to.batch = (size_t)o->batch;
	to.crop_side = DET_CROP_SIDE;
	to.mosaic = 0.5f;
	to.optim = (struct fm_optim)FM_OPTIM_SGD_DEFAULT;
	if (o->optim == FM_OPTIM_ADAMW)
		to.optim = (struct fm_optim)FM_OPTIM_ADAMW_DEFAULT;
	to.optim.weight_decay = (float)o->weight_decay;
	to.schedule = (struct fm_lr_schedule){
	    FM_LR_COSINE, o->lr, o->lr * 1e-2, o->warmup, (double)o->epochs, 1, 1};
	to.geom = geom;
	to.aug = (struct fm_facedet_aug)FM_FACEDET_AUG_DEFAULT;
	to.aug.octave_min_side = geom.min_side;
	to.aug.octave_max_side = geom.max_side;
	to.loss = (struct fm_facedet_loss_opts)FM_FACEDET_LOSS_DEFAULT;
	pr.epochs = o->epochs;
	pr.batch = (size_t)o->batch;

	long long last = o->epochs;
	if (o->stop_after > 0 && o->stop_after < last)
		last = o->stop_after;
	for (long long epoch = done; epoch < last; epoch++) {
		struct fm_facedet_loss l;
		struct fm_facedet_score v = {0};

		progress_start(&pr.line, "fer-train", "crop", "crops");
		pr.line.failures = false;
		if (fm_facedet_train_epoch(net, &set, train_idx, n_train, &to, (size_t)epoch,
		                           (uint64_t)o->seed, show_det_progress, &pr, &l, &e) == -1)
			errx(STATUS_CANNOT_RUN, "epoch %lld: %s", epoch + 1, e.msg);
		double train_s = clock_sec() - pr.line.started;
		if (n_val > 0) {
			fm_cnn_free(eval_net);
			eval_net = NULL;
			if (fm_cnn_clone(net, 1, 0, &eval_net, &e) == -1 ||
			    fm_facedet_new(eval_net, &det, &e) == -1 ||
			    fm_facedet_evaluate(det, &set, val_idx, n_val, &dopts, &v, &e) == -1)
				errx(STATUS_CANNOT_RUN, "validation: %s", e.msg);
			fm_facedet_free(det);
			det = NULL;
		}
		double spent = clock_sec() - pr.line.started;
		bool is_best = v.ap > best;
		if (is_best)
			best = v.ap;
		/* The model carries the threshold its own validation found best. */
		geom.min_score = v.best_f1 > 0 && v.best_f1_score < 1 ? (float)v.best_f1_score : 0;
		set_det_info(net, o, &geom, epoch + 1, best, &v, &l);
		if (is_best && fm_cnn_save(net, o->out, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		if (fm_cnn_save_checkpoint(net, ckpt, &e) == -1)
			errx(STATUS_CANNOT_RUN, "%s", e.msg);
		done = epoch + 1;
		char eta[24];

		progress_clear(&pr.line);
		format_duration(eta, sizeof eta, spent * (double)(o->epochs - epoch - 1));
		fprintf(stderr,
		        "epoch %lld/%lld: loss %.4f (cls %.4f box %.4f lm %.4f)  val AP %.4f  "
		        "P %.4f R %.4f F1 %.4f  best F1 %.4f at %.3f%s  %.0f+%.0f s, ETA %s\n",
		        epoch + 1, o->epochs, l.total, l.cls, l.box, l.landmarks, v.ap, v.precision,
		        v.recall, v.f1, v.best_f1, v.best_f1_score,
		        is_best ? "  (best, saved)" : "", train_s, spent - train_s, eta);
	}
	if (done < o->epochs)
		fprintf(stderr, "fer-train: stopped after epoch %lld of %lld; --resume goes on\n",
		        done, o->epochs);
	else
		fprintf(stderr, "fer-train: done; best val AP %.4f in %s\n", best, o->out);
	fm_cnn_free(eval_net);
	fm_cnn_free(net);
	free(train_idx);
	free(val_idx);
	fm_facedet_set_free(&set);
	return STATUS_ALL_OK;
}

int
main(int argc, char *argv[])
{
	struct opts o = {
	    .arch = FM_TRAIN_DEFAULT_ARCH,
	    .batch = 64,
	    .epochs = 30,
	    .seed = 1,
	    .smoothing = 0.1,
	    .warmup = 1,
	    .weight_decay = -1,
	    .distill = -1,
	    .optim = FM_OPTIM_SGD,
	};

	parse_options(argc, argv, &o);
#ifdef OPENBLAS_VERSION
	/* The network's own threads share each batch; OpenBLAS's would compete with them. */
	openblas_set_num_threads(1);
#endif
	if (o.ensemble)
		return build_ensemble(&o);
	if (o.detector)
		return train_detector(&o);
	return o.eval ? evaluate(&o) : train(&o);
}
