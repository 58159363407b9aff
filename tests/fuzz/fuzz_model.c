/*
 * tests/fuzz/fuzz_model.c: arbitrary bytes as a model file (lib/cnn): decoded for inference
 * and for training; a network that loads runs one forward pass.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cnn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int trainable = 0; trainable < 2; trainable++) {
		struct fm_cnn *net;
		struct fm_err err;
		uint32_t c, h, w;

		if (fm_cnn_decode(data, size, 2, trainable, &net, &err) == -1)
			continue;
		fm_cnn_input_shape(net, &c, &h, &w);
		/* Inputs of a few MB at most: the fuzzer's memory limit is not the point. */
		if ((uint64_t)c * h * w <= (1u << 18)) {
			float *in = calloc((size_t)c * h * w, sizeof *in);
			float *out = calloc(fm_cnn_n_classes(net), sizeof *out);

			if (in != NULL && out != NULL)
				fm_cnn_forward(net, in, 1, 0, out, &err);
			free(in);
			free(out);
		}
		fm_cnn_free(net);
	}
	return 0;
}
