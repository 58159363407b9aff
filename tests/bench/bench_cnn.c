/*
 * tests/bench/bench_cnn.c: how fast the expression network runs on one core, and how that
 * compares with what the machine's sgemm can do (issue 3). It times fm_cnn_forward in
 * inference mode at batch 1 (what fer-classify runs for a file holding one face) and at
 * batch 64 on random pixels normalised as the model asks, then a large square
 * cblas_sgemm, and prints faces/s, GFLOP/s (fm_cnn_flops per face: conv and dense
 * multiply-adds only) and the ratio of the network's rate at batch 64 to sgemm's, whose
 * target is 40% or more.
 *
 *	bench_cnn [-h] [--arch[=desc]] [-r rounds] [-s side] [-t seconds] [model]
 *
 * The model defaults to models/fer2013.fm; when that file is missing, or with --arch, the
 * network is built from a description (fer-train's default, or desc) with He's random
 * weights, which run at the same speed. Everything runs on the calling thread: OpenBLAS is
 * set to one thread and the network to one (fm_cnn_set_threads). Each forward rate is
 * measured in rounds of at least -t seconds (0.5) after a warm-up, and the best and the
 * median of -r rounds (5) are printed; sgemm's rate is the best of -r products of side
 * -s (2048) after one more to warm up. The best round is the one least disturbed by other
 * processes, so the ratio uses the best rates. A missed target is reported, not an error.
 * Exit status: 0 when everything ran, 1 when a forward pass failed, 2 on a usage error or
 * a model that cannot be loaded or built.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "base.h"
#include "cnn.h"
#include "train.h"

static const char USAGE[] =
    "usage: bench_cnn [-h] [--arch[=desc]] [-r rounds] [-s side] [-t seconds] [model]";

static const char DEFAULT_ARCH[] = FM_TRAIN_DEFAULT_ARCH;

#define DEFAULT_MODEL "models/fer2013.fm"
#define SIDE 48
#define BIG_BATCH 64
#define TARGET_RATIO 0.40 /* issue 3: the network at batch 64 reaches 40% of sgemm's rate */
#define WARMUP_SEC 0.2

struct opts {
	const char *model; /* NULL: DEFAULT_MODEL, or DEFAULT_ARCH when that is missing */
	const char *arch;  /* non-NULL: build this instead of loading a model */
	long rounds;
	long gemm_side;
	double round_sec;
};

struct rate {
	double best, median; /* faces/s, or products/s for sgemm */
};

static noreturn void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "bench_cnn: %s\n", why);
	fprintf(stderr, "%s\n", USAGE);
	exit(2);
}

static long
parse_long(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "bench_cnn: %s: '%s' is not a whole number in %ld..%ld\n", what, s,
		        min, max);
		usage(NULL);
	}
	return v;
}

static double
parse_seconds(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 3600) {
		fprintf(stderr, "bench_cnn: %s: '%s' is not a number of seconds in (0, 3600]\n",
		        what, s);
		usage(NULL);
	}
	return v;
}

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
	    {"arch", optional_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hr:s:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->arch = optarg != NULL ? optarg : DEFAULT_ARCH;
			break;
		case 'h':
			printf("%s\n", USAGE);
			printf(
			    "  --arch[=desc]  build the network from desc (default: fer-train's)\n"
			    "                 instead of loading a model\n"
			    "  -h, --help     print this help and exit\n"
			    "  -r rounds      timing rounds; best and median are kept (5)\n"
			    "  -s side        sgemm of side x side matrices (2048)\n"
			    "  -t seconds     shortest timing round of a forward pass (0.5)\n"
			    "  model          the network to time (" DEFAULT_MODEL ")\n");
			exit(0);
		case 'r':
			o->rounds = parse_long(optarg, 1, 1000, "-r");
			break;
		case 's':
			o->gemm_side = parse_long(optarg, 64, 8192, "-s");
			break;
		case 't':
			o->round_sec = parse_seconds(optarg, "-t");
			break;
		case ':':
			usage("an option needs a value");
		default:
			usage("unknown option");
		}
	}
	if (argc - optind > 1)
		usage("more than one model");
	if (argc - optind == 1) {
		if (o->arch != NULL)
			usage("a model and --arch");
		o->model = argv[optind];
	}
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Best and median of the first n rates in r, which it sorts. */
static struct rate
summarise(double *r, size_t n)
{
	struct rate s;

	qsort(r, n, sizeof *r, cmp_double);
	s.best = r[n - 1];
	s.median = n % 2 == 1 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
	return s;
}

/* Faces/s of inference passes over batch samples of in, per round of >= o->round_sec. */
static int
time_forward(struct fm_cnn *net, const float *in, size_t batch, float *probs, const struct opts *o,
             double *rates, struct rate *out, struct fm_err *err)
{
	double t0 = now_sec();

	/* Warm-up: caches, page faults in the network's buffers, OpenBLAS's first call. */
	do {
		if (fm_cnn_forward(net, in, batch, 0, probs, err) == -1)
			return -1;
	} while (now_sec() - t0 < WARMUP_SEC);
	for (long r = 0; r < o->rounds; r++) {
		double dt;
		size_t calls = 0;

		t0 = now_sec();
		do {
			if (fm_cnn_forward(net, in, batch, 0, probs, err) == -1)
				return -1;
			calls++;
			dt = now_sec() - t0;
		} while (dt < o->round_sec);
		rates[r] = (double)(calls * batch) / dt;
	}
	*out = summarise(rates, (size_t)o->rounds);
	return 0;
}

/* Products/s of C = A B on n x n matrices, one product per round after a warm-up. */
static int
time_sgemm(long n, long rounds, double *rates, struct rate *out)
{
	size_t nn = (size_t)n * (size_t)n;
	float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = calloc(nn, sizeof *c);
	struct fm_rng rng;

	if (a == NULL || b == NULL || c == NULL) {
		free(a);
		free(b);
		free(c);
		return -1;
	}
	fm_rng_seed(&rng, 2);
	for (size_t i = 0; i < nn; i++) {
		a[i] = (float)(2 * fm_rng_uniform(&rng) - 1);
		b[i] = (float)(2 * fm_rng_uniform(&rng) - 1);
	}
	/* Round -1 warms up: OpenBLAS's buffers, and the page faults of c's first writes. */
	for (long r = -1; r < rounds; r++) {
		double t0 = now_sec();

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f,
		            a, (int)n, b, (int)n, 0.0f, c, (int)n);
		if (r >= 0)
			rates[r] = 1 / (now_sec() - t0);
	}
	*out = summarise(rates, (size_t)rounds);
	free(a);
	free(b);
	free(c);
	return 0;
}

static struct fm_cnn *
open_net(struct opts *o, const char **what)
{
	struct fm_cnn *net = NULL;
	struct fm_err e;

	*what = "fer-train's default architecture, random weights";
	if (o->arch == NULL && o->model == NULL) {
		if (access(DEFAULT_MODEL, R_OK) == 0) {
			o->model = DEFAULT_MODEL;
		} else {
			o->arch = DEFAULT_ARCH;
			*what = DEFAULT_MODEL " is missing: fer-train's default architecture, "
			                      "random weights";
		}
	}
	if (o->arch != NULL) {
		if (fm_cnn_new(o->arch, 1, SIDE, SIDE, BIG_BATCH, 1, &net, &e) == -1)
			errx(2, "--arch: %s", e.msg);
		if (o->arch != DEFAULT_ARCH)
			*what = o->arch;
	} else {
		if (fm_cnn_load(o->model, BIG_BATCH, 0, &net, &e) == -1)
			errx(2, "%s", e.msg); /* fm_cnn_load's messages start with the path */
		*what = o->model;
	}
	if (fm_cnn_set_threads(net, 1, &e) == -1)
		errx(2, "%s", e.msg);
	return net;
}

int
main(int argc, char *argv[])
{
	struct opts o = {.rounds = 5, .gemm_side = 2048, .round_sec = 0.5};
	struct fm_cnn *net;
	struct fm_err e;
	struct fm_rng rng;
	struct rate r1, r64, rg;
	const char *what;
	char label[64];
	uint32_t c, h, w;
	size_t plane, n_classes;
	uint8_t *pixels;
	float *in, *probs;
	double *rates, gflop_face, gflop_gemm, ratio;

	parse_options(argc, argv, &o);
#ifdef OPENBLAS_VERSION
	/* The subject is one core: OpenBLAS's threads would take the other ones. */
	openblas_set_num_threads(1);
#endif
	net = open_net(&o, &what);
	fm_cnn_input_shape(net, &c, &h, &w);
	plane = (size_t)c * h * w;
	n_classes = fm_cnn_n_classes(net);
	pixels = malloc(BIG_BATCH * plane);
	in = malloc(BIG_BATCH * plane * sizeof *in);
	probs = malloc(BIG_BATCH * n_classes * sizeof *probs);
	rates = malloc((size_t)o.rounds * sizeof *rates);
	if (pixels == NULL || in == NULL || probs == NULL || rates == NULL)
		errx(2, "out of memory");
	fm_rng_seed(&rng, 1);
	for (size_t i = 0; i < BIG_BATCH * plane; i++)
		pixels[i] = (uint8_t)fm_rng_below(&rng, 256);
	fm_cnn_normalize(net, pixels, BIG_BATCH * plane, in);
	gflop_face = (double)fm_cnn_flops(net) * 1e-9;

	printf("network: %s\n", what);
	printf("input %ux%ux%u, %zu classes, %zu parameters, %.4f GFLOP per face\n", c, h, w,
	       n_classes, fm_cnn_param_count(net), gflop_face);
#ifdef OPENBLAS_VERSION
	printf("one thread:%son %d, the network on %zu\n", OPENBLAS_VERSION,
	       openblas_get_num_threads(), fm_cnn_threads(net));
#else
	printf("one thread: the network on %zu\n", fm_cnn_threads(net));
#endif
	printf("forward: %ld rounds of >= %g s after a warm-up; sgemm: best of %ld\n\n", o.rounds,
	       o.round_sec, o.rounds);

	if (time_forward(net, in, 1, probs, &o, rates, &r1, &e) == -1 ||
	    time_forward(net, in, BIG_BATCH, probs, &o, rates, &r64, &e) == -1)
		errx(1, "fm_cnn_forward: %s", e.msg);
	if (time_sgemm(o.gemm_side, o.rounds, rates, &rg) == -1)
		errx(2, "out of memory for sgemm of side %ld", o.gemm_side);
	gflop_gemm = 2.0 * o.gemm_side * o.gemm_side * o.gemm_side * 1e-9;

	printf("%-22s %12s %12s %10s %10s\n", "", "faces/s", "faces/s", "ms/call", "GFLOP/s");
	printf("%-22s %12s %12s %10s %10s\n", "", "best", "median", "best", "best");
	printf("%-22s %12.1f %12.1f %10.3f %10.2f\n", "forward, batch 1", r1.best, r1.median,
	       1e3 / r1.best, r1.best * gflop_face);
	printf("%-22s %12.1f %12.1f %10.3f %10.2f\n", "forward, batch 64", r64.best, r64.median,
	       1e3 * BIG_BATCH / r64.best, r64.best * gflop_face);
	snprintf(label, sizeof label, "sgemm %ldx%ldx%ld", o.gemm_side, o.gemm_side, o.gemm_side);
	printf("%-22s %12s %12s %10.1f %10.2f\n", label, "-", "-", 1e3 / rg.best,
	       rg.best * gflop_gemm);

	ratio = r64.best * gflop_face / (rg.best * gflop_gemm);
	printf("\nbatch 64 runs at %.1f%% of sgemm's GFLOP/s (batch 1: %.1f%%); target >= %.0f%%: "
	       "%s\n",
	       100 * ratio, 100 * r1.best * gflop_face / (rg.best * gflop_gemm), 100 * TARGET_RATIO,
	       ratio >= TARGET_RATIO ? "met" : "NOT met");

	free(rates);
	free(probs);
	free(in);
	free(pixels);
	fm_cnn_free(net);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(2, "stdout");
	return 0;
}
