/*
 * lib/cnn_io.c: the model file of fermata-model(5):
 *
 *	offset 0    8 bytes   magic 89 'F' 'M' 'C' 'N' 'N' '\r' '\n'
 *	       8    u32       format version (1; 2 for an ensemble)
 *	      12    u32       header bytes H (at most 1 MiB)
 *	      16    u64       weight bytes W (a multiple of 4)
 *	      24    H bytes   a JSON object, padded with spaces to a multiple of 4
 *	 24 + H     W bytes   the tensors of "tensors" in order, float32
 *	 24+H+W     u32       CRC-32 (IEEE 802.3, as zlib's crc32) of every byte before it
 *
 * all integers and floats little-endian. Version 2 is an ensemble: its header holds what
 * the members share (input, classes, normalisation, crop margin) and a "members" list, each
 * member an "arch", a "training" and a "tensors" of its own, and the weights are the
 * members' in that order; a single network is still written as version 1, so that older
 * readers keep reading it, and they refuse an ensemble as a newer version rather than
 * misreading it. The magic follows PNG's: a high-bit byte catches
 * 7-bit transfers and the CR LF catches newline conversion. The JSON header (cJSON) makes the
 * file self-describing for other readers; this one still trusts nothing in it: sizes are
 * checked against the bytes present before anything is allocated, the checksum is checked
 * before the header is parsed, and the tensor list must be exactly the one the architecture
 * implies.
 */
#include "cnn_int.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_VERSION 2u /* the newest this reads */
#define ENSEMBLE_VERSION 2u
#define PREFIX_BYTES 24
#define MAX_HEADER_BYTES ((uint32_t)1 << 20)

static const unsigned char magic[8] = {0x89, 'F', 'M', 'C', 'N', 'N', '\r', '\n'};

uint32_t
cnn_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
	uint32_t table[256];

	/* The reflected polynomial 0xedb88320; building the table costs 2048 steps, little
	 * next to a model's megabytes, and keeps the library free of global state. */
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put_f32(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	fm_put_le32(p, u);
}

static float
get_f32(const unsigned char *p)
{
	uint32_t u = fm_get_le32(p);
	float f;

	memcpy(&f, &u, sizeof f);
	return f;
}

static const char *const optim_names[] = {"sgd", "adam", "adamw"};

/* Moment arrays of n_params floats an optimiser keeps: SGD's velocity, Adam's two. */
static size_t
optim_moments(int kind)
{
	return kind == FM_OPTIM_SGD ? 1 : 2;
}

/* Whether a checkpoint of net carries optimiser state: only after a first step. */
static int
has_state(const struct fm_cnn *net, int with_state)
{
	return with_state && net->trainable && net->opt_kind >= 0;
}

/* Append net's tensors, their names and shapes, to the header's array a; 0 when out of memory. */
static int
tensors_json(cJSON *a, const struct fm_cnn *net)
{
	for (size_t i = 0; i < net->n_tensors; i++) {
		const struct cnn_tensor *t = &net->tensors[i];
		cJSON *e = cJSON_CreateObject();
		double shape[4];

		for (uint32_t k = 0; k < t->rank; k++)
			shape[k] = t->shape[k];
		if (e == NULL || !cJSON_AddItemToArray(a, e)) {
			cJSON_Delete(e);
			return 0;
		}
		if (cJSON_AddStringToObject(e, "name", t->name) == NULL ||
		    !cJSON_AddItemToObject(e, "shape",
		                           cJSON_CreateDoubleArray(shape, (int)t->rank)))
			return 0;
	}
	return 1;
}

static cJSON *
header_json(const struct fm_cnn *net, int with_state)
{
	cJSON *h = cJSON_CreateObject(), *a = NULL, *o = NULL;
	const double in[3] = {net->in_c, net->in_h, net->in_w};
	int ok;

	if (h == NULL)
		return NULL;
	/* Every Add returns NULL when it could not allocate; a header missing a field must
	 * not be written. */
	ok = cJSON_AddStringToObject(h, "format", "fermata-cnn") != NULL &&
	     cJSON_AddStringToObject(h, "arch", net->desc) != NULL &&
	     cJSON_AddItemToObject(h, "input", cJSON_CreateDoubleArray(in, 3)) &&
	     cJSON_AddItemToObject(
	         h, "classes",
	         cJSON_CreateStringArray((const char *const *)net->classes, (int)net->n_classes)) &&
	     (o = cJSON_AddObjectToObject(h, "normalize")) != NULL &&
	     cJSON_AddNumberToObject(o, "mean", net->norm_mean) != NULL &&
	     cJSON_AddNumberToObject(o, "std", net->norm_std) != NULL &&
	     cJSON_AddNumberToObject(h, "crop_margin", net->crop_margin) != NULL &&
	     cJSON_AddStringToObject(h, "training", net->info) != NULL &&
	     cJSON_AddStringToObject(h, "dtype", "float32le") != NULL &&
	     (a = cJSON_AddArrayToObject(h, "tensors")) != NULL;
	if (ok && has_state(net, with_state)) {
		cJSON *st = cJSON_AddObjectToObject(h, "optimizer");

		ok = st != NULL &&
		     cJSON_AddStringToObject(st, "kind", optim_names[net->opt_kind]) != NULL &&
		     cJSON_AddNumberToObject(st, "steps", (double)net->opt_t) != NULL;
	}
	ok = ok && tensors_json(a, net);
	if (!ok) {
		cJSON_Delete(h);
		return NULL;
	}
	return h;
}

/* A member's part of an ensemble's header: its own arch, training and tensors. */
static cJSON *
member_json(const struct fm_cnn *m)
{
	cJSON *e = cJSON_CreateObject(), *a = NULL;
	int ok = e != NULL && cJSON_AddStringToObject(e, "arch", m->desc) != NULL &&
	         cJSON_AddStringToObject(e, "training", m->info) != NULL &&
	         (a = cJSON_AddArrayToObject(e, "tensors")) != NULL;

	ok = ok && tensors_json(a, m);
	if (!ok) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

static cJSON *
ensemble_json(const struct fm_cnn *net)
{
	cJSON *h = cJSON_CreateObject(), *a = NULL, *o = NULL;
	const double in[3] = {net->in_c, net->in_h, net->in_w};
	int ok;

	if (h == NULL)
		return NULL;
	ok = cJSON_AddStringToObject(h, "format", "fermata-cnn") != NULL &&
	     cJSON_AddItemToObject(h, "input", cJSON_CreateDoubleArray(in, 3)) &&
	     cJSON_AddItemToObject(
	         h, "classes",
	         cJSON_CreateStringArray((const char *const *)net->classes, (int)net->n_classes)) &&
	     (o = cJSON_AddObjectToObject(h, "normalize")) != NULL &&
	     cJSON_AddNumberToObject(o, "mean", net->norm_mean) != NULL &&
	     cJSON_AddNumberToObject(o, "std", net->norm_std) != NULL &&
	     cJSON_AddNumberToObject(h, "crop_margin", net->crop_margin) != NULL &&
	     cJSON_AddStringToObject(h, "training", net->info) != NULL &&
	     cJSON_AddStringToObject(h, "dtype", "float32le") != NULL &&
	     (a = cJSON_AddArrayToObject(h, "members")) != NULL;
	for (size_t m = 0; ok && m < net->n_members; m++) {
		cJSON *e = member_json(net->members[m]);

		ok = e != NULL && cJSON_AddItemToArray(a, e);
		if (!ok)
			cJSON_Delete(e);
	}
	if (!ok) {
		cJSON_Delete(h);
		return NULL;
	}
	return h;
}

/* The tensors of net, or of each member of an ensemble, as float32 from p on. */
static unsigned char *
put_tensors(const struct fm_cnn *net, unsigned char *p)
{
	for (size_t m = 0; m < net->n_members; m++)
		p = put_tensors(net->members[m], p);
	for (size_t i = 0; i < net->n_tensors; i++) {
		const struct cnn_tensor *t = &net->tensors[i];

		for (size_t j = 0; j < t->n; j++, p += 4)
			put_f32(p, t->data[j]);
	}
	return p;
}

static int
encode(const struct fm_cnn *net, int with_state, unsigned char **bytes, size_t *n_bytes,
       struct fm_err *err)
{
	cJSON *h = net->n_members > 0 ? ensemble_json(net) : header_json(net, with_state);
	char *text = h != NULL ? cJSON_PrintUnformatted(h) : NULL;
	size_t moments = has_state(net, with_state) ? optim_moments(net->opt_kind) : 0;
	size_t tlen, hlen, wlen = 4 * (net->n_params + net->n_stats + moments * net->n_params);

	for (size_t m = 0; m < net->n_members; m++)
		wlen += 4 * net->members[m]->n_stats; /* n_params holds the members' already */
	size_t total;
	unsigned char *buf, *p;

	cJSON_Delete(h);
	*bytes = NULL;
	*n_bytes = 0;
	if (text == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the model header");
	tlen = strlen(text);
	hlen = (tlen + 3) & ~(size_t)3;
	if (hlen > MAX_HEADER_BYTES) {
		cJSON_free(text);
		return fm_err_set(err, FM_ELIMIT, "model header of %zu bytes, limit %u", hlen,
		                  MAX_HEADER_BYTES);
	}
	total = PREFIX_BYTES + hlen + wlen + 4;
	buf = malloc(total);
	if (buf == NULL) {
		cJSON_free(text);
		return fm_err_set(err, FM_ENOMEM, "out of memory for a model of %zu bytes", total);
	}
	memcpy(buf, magic, sizeof magic);
	fm_put_le32(buf + 8, net->n_members > 0 ? ENSEMBLE_VERSION : 1);
	fm_put_le32(buf + 12, (uint32_t)hlen);
	fm_put_le32(buf + 16, (uint32_t)wlen);
	fm_put_le32(buf + 20, (uint32_t)((uint64_t)wlen >> 32));
	memcpy(buf + PREFIX_BYTES, text, tlen);
	memset(buf + PREFIX_BYTES + tlen, ' ', hlen - tlen);
	cJSON_free(text);
	p = put_tensors(net, buf + PREFIX_BYTES + hlen);
	for (size_t j = 0; moments > 0 && j < net->n_params; j++, p += 4)
		put_f32(p, net->opt_m[j]);
	for (size_t j = 0; moments > 1 && j < net->n_params; j++, p += 4)
		put_f32(p, net->opt_v[j]);
	fm_put_le32(p, cnn_crc32(0, buf, total - 4));
	*bytes = buf;
	*n_bytes = total;
	return 0;
}

int
fm_cnn_encode(const struct fm_cnn *net, unsigned char **bytes, size_t *n_bytes, struct fm_err *err)
{
	return encode(net, 0, bytes, n_bytes, err);
}

static int
save(const struct fm_cnn *net, int with_state, const char *path, struct fm_err *err)
{
	unsigned char *bytes;
	size_t n;
	int rc;

	if (encode(net, with_state, &bytes, &n, err) == -1)
		return -1;
	rc = fm_write_file(path, bytes, n, err);
	free(bytes);
	return rc;
}

int
fm_cnn_save(const struct fm_cnn *net, const char *path, struct fm_err *err)
{
	return save(net, 0, path, err);
}

int
fm_cnn_save_checkpoint(const struct fm_cnn *net, const char *path, struct fm_err *err)
{
	return save(net, 1, path, err);
}

static int
bad(struct fm_err *err, const char *what)
{
	return fm_err_set(err, FM_EFORMAT, "model header: %s", what);
}

/* A whole number in [lo, hi] from a JSON number. */
static int
json_count(const cJSON *v, double lo, double hi, uint32_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= lo && d <= hi) || d != floor(d))
		return -1;
	*out = (uint32_t)d;
	return 0;
}

static int
json_float(const cJSON *obj, const char *key, float *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 3e38)
		return -1;
	*out = (float)v->valuedouble;
	return 0;
}

/* The "tensors" list must name exactly the tensors, and shapes, the architecture has. */
static int
check_tensors(const cJSON *list, const struct cnn_tensor *ts, size_t nt, struct fm_err *err)
{
	const cJSON *e;
	size_t i = 0;

	if (!cJSON_IsArray(list))
		return bad(err, "no \"tensors\" list");
	cJSON_ArrayForEach(e, list)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape"), *d;
		uint32_t k = 0, v;

		if (i == nt)
			return bad(err, "more tensors listed than the architecture has");
		if (!cJSON_IsString(name) || strcmp(name->valuestring, ts[i].name) != 0)
			return fm_err_set(err, FM_EFORMAT,
			                  "model header: tensor %zu should be \"%s\"", i,
			                  ts[i].name);
		if (!cJSON_IsArray(shape))
			return bad(err, "a tensor without a shape");
		cJSON_ArrayForEach(d, shape)
		{
			if (k == ts[i].rank || json_count(d, 0, 4294967295.0, &v) == -1 ||
			    v != ts[i].shape[k])
				return fm_err_set(err, FM_EFORMAT,
				                  "model header: tensor \"%s\" has the wrong shape",
				                  ts[i].name);
			k++;
		}
		if (k != ts[i].rank)
			return fm_err_set(err, FM_EFORMAT,
			                  "model header: tensor \"%s\" has the wrong shape",
			                  ts[i].name);
		i++;
	}
	if (i != nt)
		return bad(err, "fewer tensors listed than the architecture has");
	return 0;
}

/* Turn a description or metadata complaint about the file's header into a format error. */
static int
header_error(struct fm_err *err)
{
	if (err != NULL && err->code == FM_EINVAL) {
		char msg[sizeof err->msg];

		memcpy(msg, err->msg, sizeof msg);
		fm_err_set(err, FM_EFORMAT, "model header: %.200s", msg);
	}
	return -1;
}

/* What a header says besides the tensors, checked for form; the arch string is parsed later. */
struct header {
	const char *arch, *info;
	const cJSON *classes;
	uint32_t in[3];
	float mean, std, margin;
	int opt_kind; /* -1: no optimiser state */
	double opt_steps;
};

/* What the whole file says comes from h, what one network says from body: h itself for a
 * single network, a member of "members" for an ensemble. */
static int
read_header(const cJSON *h, const cJSON *body, struct header *hd, struct fm_err *err)
{
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(h, "format");
	const cJSON *arch = cJSON_GetObjectItemCaseSensitive(body, "arch");
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(h, "input");
	const cJSON *norm = cJSON_GetObjectItemCaseSensitive(h, "normalize");
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(body, "training");
	const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(h, "dtype");
	const cJSON *optim = cJSON_GetObjectItemCaseSensitive(body, "optimizer");

	hd->opt_kind = -1;
	hd->opt_steps = 0;
	if (!cJSON_IsObject(h))
		return bad(err, "not a JSON object");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "fermata-cnn") != 0)
		return bad(err, "\"format\" is not \"fermata-cnn\"");
	if (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "float32le") != 0)
		return bad(err, "\"dtype\" is not \"float32le\"");
	if (!cJSON_IsString(arch))
		return bad(err, "no \"arch\" string");
	if (cJSON_GetArraySize(input) != 3 ||
	    json_count(cJSON_GetArrayItem(input, 0), 1, FM_CNN_MAX_CHANNELS, &hd->in[0]) == -1 ||
	    json_count(cJSON_GetArrayItem(input, 1), 1, FM_CNN_MAX_SIDE, &hd->in[1]) == -1 ||
	    json_count(cJSON_GetArrayItem(input, 2), 1, FM_CNN_MAX_SIDE, &hd->in[2]) == -1)
		return bad(err, "\"input\" is not [channels, height, width] within the limits");
	if (json_float(norm, "mean", &hd->mean) == -1 || json_float(norm, "std", &hd->std) == -1)
		return bad(err, "\"normalize\" lacks a numeric \"mean\" and \"std\"");
	if (json_float(h, "crop_margin", &hd->margin) == -1)
		return bad(err, "no numeric \"crop_margin\"");
	if (!cJSON_IsString(info))
		return bad(err, "no \"training\" string");
	if (optim != NULL) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(optim, "kind");
		const cJSON *steps = cJSON_GetObjectItemCaseSensitive(optim, "steps");

		for (int k = 0; cJSON_IsString(kind) && k < 3; k++)
			if (strcmp(kind->valuestring, optim_names[k]) == 0)
				hd->opt_kind = k;
		if (hd->opt_kind < 0 || !cJSON_IsNumber(steps) || !(steps->valuedouble >= 1) ||
		    steps->valuedouble > 9007199254740992.0 ||
		    steps->valuedouble != floor(steps->valuedouble))
			return bad(err, "\"optimizer\" is not {\"kind\": sgd|adam|adamw, "
			                "\"steps\": a whole number >= 1}");
		hd->opt_steps = steps->valuedouble;
	}
	hd->arch = arch->valuestring;
	hd->info = info->valuestring;
	hd->classes = cJSON_GetObjectItemCaseSensitive(h, "classes");
	return 0;
}

/* The weights from w into the built network, then the optimiser's moments when the network
 * trains; every value finite, every variance >= 0. */
static int
read_weights(struct fm_cnn *net, const unsigned char *w, int opt_kind, struct fm_err *err)
{
	for (size_t i = 0; i < net->n_tensors; i++) {
		struct cnn_tensor *t = &net->tensors[i];
		int var = t->is_stat && strstr(t->name, "running_var") != NULL;

		for (size_t j = 0; j < t->n; j++, w += 4) {
			t->data[j] = get_f32(w);
			if (!isfinite(t->data[j]) || (var && t->data[j] < 0))
				return fm_err_set(err, FM_EFORMAT, "model tensor \"%s\" holds %s",
				                  t->name,
				                  var ? "a negative or non-finite variance"
				                      : "a non-finite value");
		}
	}
	/* The moments follow in parameter order; an inference network has no use for them
	 * (the checksum has covered them all the same). */
	for (size_t m = 0; net->trainable && opt_kind >= 0 && m < optim_moments(opt_kind); m++) {
		float *dst = m == 0 ? net->opt_m : net->opt_v;

		for (size_t j = 0; j < net->n_params; j++, w += 4) {
			dst[j] = get_f32(w);
			if (!isfinite(dst[j]) || (m == 1 && dst[j] < 0))
				return bad(
				    err,
				    "the optimizer state holds a non-finite or negative value");
		}
	}
	return 0;
}

/* The class names, one per output, and the header's metadata, into the network. */
static int
set_metadata(struct fm_cnn *net, const struct header *hd, struct fm_err *err)
{
	size_t nc = (size_t)cJSON_GetArraySize(hd->classes);
	const char **names;
	const cJSON *e;
	int rc;

	if (!cJSON_IsArray(hd->classes) || nc != net->n_classes)
		return fm_err_set(err, FM_EFORMAT,
		                  "model header: \"classes\" should list %zu names",
		                  net->n_classes);
	if ((names = calloc(nc, sizeof *names)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for class names");
	nc = 0;
	cJSON_ArrayForEach(e, hd->classes)
	{
		if (!cJSON_IsString(e)) {
			free(names);
			return bad(err, "a class name is not a string");
		}
		names[nc++] = e->valuestring;
	}
	rc = fm_cnn_set_classes(net, names, nc, err) == -1 ||
	             fm_cnn_set_normalization(net, hd->mean, hd->std, err) == -1 ||
	             fm_cnn_set_crop_margin(net, hd->margin, err) == -1 ||
	             fm_cnn_set_info(net, hd->info, err) == -1
	         ? header_error(err)
	         : 0;
	free(names);
	return rc;
}

/*
 * Build the network a parsed header describes (h and body as for read_header), with the
 * weights from w: all wlen bytes of them, or with a member of an ensemble (!whole) as many
 * as it needs, which it says in *used.
 */
static int
decode_header(const cJSON *h, const cJSON *body, const unsigned char *w, uint64_t wlen, int whole,
              size_t max_batch, int trainable, uint64_t *used, struct fm_cnn **out,
              struct fm_err *err)
{
	struct header hd = {0};
	struct cnn_layer *layers = NULL;
	struct cnn_tensor *ts = NULL;
	struct fm_cnn *net = NULL;
	size_t nl, nt, count = 0, n_params = 0;

	if (read_header(h, body, &hd, err) == -1)
		return -1;
	if (!whole && hd.opt_kind >= 0)
		return bad(err, "a member of an ensemble holds optimizer state");
	if (cnn_parse(hd.arch, hd.in[0], hd.in[1], hd.in[2], &layers, &nl, err) == -1)
		return header_error(err);
	if (cnn_tensors(layers, nl, &ts, &nt, err) == -1) {
		free(layers);
		return -1;
	}
	for (size_t i = 0; i < nt; i++) {
		count += ts[i].n;
		if (!ts[i].is_stat)
			n_params += ts[i].n;
	}
	if (hd.opt_kind >= 0)
		count += optim_moments(hd.opt_kind) * n_params;
	/* Before anything big is allocated: the architecture's weights (and the optimiser's
	 * moments) must be the ones present, so a short file cannot ask for gigabytes. */
	if (whole ? (uint64_t)count * 4 != wlen : (uint64_t)count * 4 > wlen) {
		fm_err_set(err, FM_EFORMAT,
		           "model has %llu bytes of weights%s, its architecture needs %llu",
		           (unsigned long long)wlen, whole ? "" : " left",
		           (unsigned long long)count * 4);
		goto fail;
	}
	*used = (uint64_t)count * 4;
	if (check_tensors(cJSON_GetObjectItemCaseSensitive(body, "tensors"), ts, nt, err) == -1)
		goto fail;
	if (cnn_build(layers, nl, hd.in[0], hd.in[1], hd.in[2], max_batch, trainable, &net, err) ==
	    -1) {
		layers = NULL;
		goto fail;
	}
	layers = NULL;
	if (read_weights(net, w, hd.opt_kind, err) == -1)
		goto fail;
	if (trainable && hd.opt_kind >= 0) {
		net->opt_kind = hd.opt_kind;
		net->opt_t = (uint64_t)hd.opt_steps;
	}
	if (set_metadata(net, &hd, err) == -1 || (!trainable && cnn_infer_plan(net, err) == -1))
		goto fail;
	free(ts);
	*out = net;
	return 0;
fail:
	fm_cnn_free(net);
	free(ts);
	free(layers);
	return -1;
}

/* An ensemble's members, each built as a single network is, then the ensemble of them. */
static int
decode_ensemble(const cJSON *h, const unsigned char *w, uint64_t wlen, size_t max_batch,
                int trainable, struct fm_cnn **out, struct fm_err *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(h, "members"), *e;
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(h, "training");
	struct fm_cnn **members, *net;
	size_t n = 0;
	int n_list = cJSON_GetArraySize(list);

	if (!cJSON_IsArray(list) || n_list < 2 || n_list > FM_CNN_MAX_MEMBERS)
		return fm_err_set(err, FM_EFORMAT,
		                  "model header: \"members\" is not a list of 2 to %d networks",
		                  FM_CNN_MAX_MEMBERS);
	if (!cJSON_IsString(info))
		return bad(err, "no \"training\" string");
	if (trainable)
		return fm_err_set(
		    err, FM_EINVAL,
		    "an ensemble of %d networks cannot be trained (train one network, "
		    "then build the ensemble again)",
		    n_list);
	if ((members = calloc((size_t)n_list, sizeof *members)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for an ensemble");
	cJSON_ArrayForEach(e, list)
	{
		uint64_t used;

		if (!cJSON_IsObject(e)) {
			bad(err, "a member is not an object");
			goto fail;
		}
		if (decode_header(h, e, w, wlen, 0, max_batch, 0, &used, &members[n], err) == -1) {
			if (err != NULL) {
				char msg[sizeof err->msg];

				memcpy(msg, err->msg, sizeof msg);
				fm_err_set(err, err->code, "member %zu: %.200s", n + 1, msg);
			}
			goto fail;
		}
		n++;
		w += used;
		wlen -= used;
	}
	if (wlen != 0) {
		fm_err_set(err, FM_EFORMAT, "model has %llu bytes of weights past its members",
		           (unsigned long long)wlen);
		goto fail;
	}
	/* The members' metadata came from the shared header: they agree by construction. */
	if (cnn_ensemble_wrap(members, n, &net, err) == -1)
		return -1;
	if (fm_cnn_set_info(net, info->valuestring, err) == -1) {
		fm_cnn_free(net);
		return header_error(err);
	}
	*out = net;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		fm_cnn_free(members[i]);
	free(members);
	return -1;
}

int
fm_cnn_decode(const void *bytes, size_t n_bytes, size_t max_batch, int trainable,
              struct fm_cnn **out, struct fm_err *err)
{
	const unsigned char *b = bytes;
	uint32_t version, hlen, stored, crc;
	uint64_t wlen, total;
	char *text;
	cJSON *h;
	int rc;

	*out = NULL;
	if (n_bytes > 0 && memcmp(b, magic, n_bytes < sizeof magic ? n_bytes : sizeof magic) != 0)
		return fm_err_set(err, FM_EFORMAT, "not a fermata model file (bad magic)");
	if (n_bytes < PREFIX_BYTES)
		return fm_err_set(err, FM_EFORMAT,
		                  "truncated model file (%zu bytes, less than its %d-byte prefix)",
		                  n_bytes, PREFIX_BYTES);
	version = fm_get_le32(b + 8);
	hlen = fm_get_le32(b + 12);
	wlen = fm_get_le64(b + 16);
	if (version == 0 || version > FORMAT_VERSION)
		return fm_err_set(err, FM_EFORMAT,
		                  "model format version %u%s; this program reads versions 1 to %u",
		                  version, version == 0 ? " is invalid" : " is newer than it knows",
		                  FORMAT_VERSION);
	if (hlen > MAX_HEADER_BYTES)
		return fm_err_set(err, FM_EFORMAT, "model header of %u bytes is over the %u limit",
		                  hlen, MAX_HEADER_BYTES);
	if (wlen % 4 != 0)
		return fm_err_set(err, FM_EFORMAT,
		                  "model weights of %llu bytes are not whole float32 values",
		                  (unsigned long long)wlen);
	if (wlen > n_bytes)
		total = UINT64_MAX;
	else
		total = PREFIX_BYTES + (uint64_t)hlen + wlen + 4;
	if (n_bytes < total) {
		if (total == UINT64_MAX)
			return fm_err_set(err, FM_EFORMAT,
			                  "truncated model file (%zu bytes, its weights alone "
			                  "need %llu)",
			                  n_bytes, (unsigned long long)wlen);
		return fm_err_set(err, FM_EFORMAT, "truncated model file (%zu of %llu bytes)",
		                  n_bytes, (unsigned long long)total);
	}
	if (n_bytes > total)
		return fm_err_set(err, FM_EFORMAT, "%llu stray bytes after the model's checksum",
		                  (unsigned long long)(n_bytes - total));
	stored = fm_get_le32(b + total - 4);
	crc = cnn_crc32(0, b, (size_t)total - 4);
	if (!fm_checksum_ok(stored, crc))
		return fm_err_set(err, FM_EFORMAT,
		                  "model checksum mismatch (stored %08x, computed %08x): the "
		                  "file is damaged",
		                  stored, crc);
	if (memchr(b + PREFIX_BYTES, '\0', hlen) != NULL)
		return bad(err, "a NUL byte in the JSON text");
	text = malloc((size_t)hlen + 1);
	if (text == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for the model header");
	memcpy(text, b + PREFIX_BYTES, hlen);
	text[hlen] = '\0';
	h = cJSON_ParseWithLength(text, (size_t)hlen + 1);
	free(text);
	if (h == NULL)
		return bad(err, "not valid JSON");
	if (version == ENSEMBLE_VERSION) {
		rc = decode_ensemble(h, b + PREFIX_BYTES + hlen, wlen, max_batch, trainable, out,
		                     err);
	} else {
		uint64_t used;

		rc = decode_header(h, h, b + PREFIX_BYTES + hlen, wlen, 1, max_batch, trainable,
		                   &used, out, err);
	}
	cJSON_Delete(h);
	return rc;
}

int
fm_cnn_load(const char *path, size_t max_batch, int trainable, struct fm_cnn **out,
            struct fm_err *err)
{
	unsigned char *buf;
	size_t n;
	int rc;

	*out = NULL;
	if (fm_read_file(path, FM_DEFAULT_MAX_FILE_BYTES, &buf, &n, err) == -1)
		rc = -1;
	else {
		rc = fm_cnn_decode(buf, n, max_batch, trainable, out, err);
		free(buf);
	}
	if (rc == -1 && err != NULL && err->code != FM_ENOMEM) {
		char msg[sizeof err->msg];

		memcpy(msg, err->msg, sizeof msg);
		fm_err_set(err, err->code, "%.80s: %.170s", path, msg);
	}
	return rc;
}
