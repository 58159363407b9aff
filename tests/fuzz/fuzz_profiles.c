/*
 * tests/fuzz/fuzz_profiles.c: arbitrary bytes as a profiles file (lib/rank_profiles.c).
 * Profiles that decode are encoded again, and what is encoded must decode to the same
 * numbers within the file's 4 decimals.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_or_abort(double a, double b)
{
	if (!(fabs(a - b) <= 1e-4 * (1 + fabs(a))))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm_rank_profiles p, back;
	struct fm_err err;
	char *text;

	if (fm_rank_profiles_decode((const char *)data, size, &p, &err) == -1)
		return 0;
	if (fm_rank_profiles_encode(&p, "fuzz", NULL, &text, &err) == -1)
		return 0; /* out of memory */
	if (fm_rank_profiles_decode(text, strlen(text), &back, &err) == -1)
		abort();
	for (int e = 0; e < FM_N_EMOTIONS; e++) {
		for (int d = 0; d < FM_RANK_DIMS; d++)
			same_or_abort(p.vec[e][d], back.vec[e][d]);
		same_or_abort(p.valence[e], back.valence[e]);
		same_or_abort(p.arousal[e], back.arousal[e]);
	}
	free(text);
	return 0;
}
