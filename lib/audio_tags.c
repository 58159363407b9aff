/*
 * lib/audio_tags.c: a file's tag, as either decoder gives it, made fit for a record: blanks
 * trimmed at both ends, and cut to FM_AUDIO_TAG_BYTES at a UTF-8 character boundary, so
 * that a long title loses its tail rather than half a character.
 */
#include "audio_int.h"

#include <string.h>

static bool
blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void
audio_tag_copy(char *dst, const char *src)
{
	size_t n;

	dst[0] = '\0';
	if (src == NULL)
		return;
	while (blank((unsigned char)*src))
		src++;
	n = strlen(src);
	while (n > 0 && blank((unsigned char)src[n - 1]))
		n--;
	if (n > FM_AUDIO_TAG_BYTES) {
		n = FM_AUDIO_TAG_BYTES;
		/* Back off continuation bytes (10xxxxxx) and the lead byte they belong to. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}
