/*
 * tests/fuzz/fuzz_model.c: arbitrary bytes as a model file (lib/cnn): decoded for inference
 * and for training; a network that loads runs one forward pass, and (for inference, single
 * network or ensemble) a copy of it does too, as does a copy for another input size, and it
 * encodes into a file that decodes again, which is an invariant: a failure there traps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cnn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
run_once(struct fm_cnn *net)
{
	struct fm_err err;
	uint32_t c, h, w, oc, oh, ow;

	fm_cnn_input_shape(net, &c, &h, &w);
	/* Inputs of a few MB at most: the fuzzer's memory limit is not the point. */
	if ((uint64_t)c * h * w <= (1u << 18)) {
		float *in = calloc((size_t)c * h * w, sizeof *in);
		float *out = calloc(fm_cnn_n_classes(net), sizeof *out);

		if (in != NULL && out != NULL)
			fm_cnn_forward(net, in, 1, 0, out, &err);
		free(out);
		/* The raw outputs too: a fully convolutional network's maps. */
		fm_cnn_output_shape(net, &oc, &oh, &ow);
		out = (uint64_t)oc * oh * ow <= (1u << 20)
		          ? calloc((size_t)oc * oh * ow, sizeof *out)
		          : NULL;
		if (in != NULL && out != NULL && fm_cnn_n_members(net) == 0)
			fm_cnn_forward_raw(net, in, 1, 0, out, &err);
		free(in);
		free(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int trainable = 0; trainable < 2; trainable++) {
		struct fm_cnn *net, *copy, *back;
		struct fm_err err;
		uint32_t c, h, w;
		unsigned char *bytes;
		size_t n;

		if (fm_cnn_decode(data, size, 2, trainable, &net, &err) == -1)
			continue;
		run_once(net);
		if (!trainable) {
			if (fm_cnn_clone(net, 1, 0, &copy, &err) == 0) {
				run_once(copy);
				fm_cnn_free(copy);
			}
			/* Another input size: fits or is refused. */
			fm_cnn_input_shape(net, &c, &h, &w);
			if (fm_cnn_clone_input(net, h / 2 + 1, w + 3, 1, 0, &copy, &err) == 0) {
				run_once(copy);
				fm_cnn_free(copy);
			}
			if (fm_cnn_encode(net, &bytes, &n, &err) == 0) {
				if (fm_cnn_decode(bytes, n, 1, 0, &back, &err) == -1 &&
				    err.code != FM_ENOMEM)
					__builtin_trap();
				fm_cnn_free(back);
				free(bytes);
			}
		}
		fm_cnn_free(net);
	}
	return 0;
}
