/*
 * tests/fuzz/fuzz_ndjson.c: arbitrary bytes as the lines of a tool's input (lib/ndjson):
 * each line is parsed as the record loop does, its path and a base64 "gray" are read, and
 * the record is printed back, which must give one valid line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t at = 0;

	while (at < size) {
		const char *nl = memchr(text + at, '\n', size - at);
		size_t len = nl != NULL ? (size_t)(nl - (text + at)) : size - at;
		cJSON *rec = NULL;
		struct fm_err err;
		char *copy = malloc(len + 1); /* the parser wants a NUL after the line */

		if (copy == NULL)
			return 0;
		memcpy(copy, text + at, len);
		copy[len] = '\0';
		if (fm_ndjson_parse(copy, len, FM_NDJSON_BARE_PATH, &rec, &err) == 0) {
			const char *path;
			uint8_t gray[256];
			char *line;
			size_t n;

			(void)fm_ndjson_get_path(rec, &path, &err);
			(void)fm_ndjson_get_base64(rec, "gray", gray, sizeof gray, &n, &err);
			if (fm_ndjson_print(rec, &line, &n, &err) == 0) {
				cJSON *back = NULL;

				/* What we print, we read back as one record. */
				if (line[n - 1] != '\n' || memchr(line, '\n', n - 1) != NULL)
					abort();
				line[n - 1] = '\0';
				if (fm_ndjson_parse(line, n - 1, 0, &back, &err) == -1)
					abort();
				cJSON_Delete(back);
				free(line);
			}
			cJSON_Delete(rec);
		} else {
			cJSON *bad;

			if (fm_ndjson_bad_line(1, copy, len, err.msg, &bad, &err) == 0)
				cJSON_Delete(bad);
		}
		free(copy);
		at += len + 1;
	}
	return 0;
}
