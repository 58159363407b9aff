/*
 * lib/rank_records.c: a song's record line, from the library's memory when it was built from
 * records, or read from an index file with pread(2) and checked against its entry when it
 * was loaded from one (rank_index.c says why lines are not mapped); and closing that file.
 * Kept apart from rank_library.c and rank_index.c so that the library does not depend on
 * the index, which builds on it.
 */
#include "rank_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void
rank_close(struct fm_rank_library *lib)
{
	for (size_t k = 0; k < sizeof lib->maps / sizeof *lib->maps; k++)
		if (lib->maps[k] != NULL)
			munmap(lib->maps[k], lib->map_bytes[k]);
	close(lib->fd);
}

int
rank_read_at(int fd, void *buf, size_t n, uint64_t offset, struct fm_err *err)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t got = pread(fd, p, n, (off_t)offset);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			return fm_err_errno(err, errno);
		if (got == 0)
			return fm_err_set(err, FM_EFORMAT,
			                  "index file ended early (changed meanwhile?)");
		p += got;
		n -= (size_t)got;
		offset += (uint64_t)got;
	}
	return 0;
}

/* Song i's line from an index's file: its entry and line read, bounds and checksum checked. */
static int
index_record(const struct fm_rank_library *lib, size_t i, char **text, size_t *n_bytes,
             struct fm_err *err)
{
	unsigned char entry[16];
	uint64_t offset;
	uint32_t n, sum;
	char *line;

	*text = NULL;
	if (rank_read_at(lib->fd, entry, sizeof entry, lib->recs_at + 16 * (uint64_t)i, err) == -1)
		return -1;
	offset = fm_get_le64(entry);
	n = fm_get_le32(entry + 8);
	sum = fm_get_le32(entry + 12);
	if (offset > lib->lines_bytes || n > lib->lines_bytes - offset)
		return fm_err_set(err, FM_EFORMAT, "index record %zu lies outside the file", i + 1);
	if ((line = malloc((size_t)n + 1)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a record");
	if (rank_read_at(lib->fd, line, n, lib->lines_at + offset, err) == -1) {
		free(line);
		return -1;
	}
	if (!fm_checksum_ok(sum, (uint32_t)rank_hash(line, n, RANK_SEED_RECORD))) {
		free(line);
		return fm_err_set(err, FM_EFORMAT, "index record %zu is damaged (checksum)", i + 1);
	}
	line[n] = '\0';
	*text = line;
	*n_bytes = n;
	return 0;
}

int
fm_rank_library_record(const struct fm_rank_library *lib, size_t i, char **text, size_t *n_bytes,
                       struct fm_err *err)
{
	const struct rank_rec *r;
	char *line;

	if (lib->fd != -1)
		return index_record(lib, i, text, n_bytes, err);
	r = &lib->recs[i];
	if ((line = malloc((size_t)r->n_bytes + 1)) == NULL)
		return fm_err_set(err, FM_ENOMEM, "out of memory for a record");
	memcpy(line, lib->blob + r->offset, r->n_bytes);
	line[r->n_bytes] = '\0';
	*text = line;
	*n_bytes = r->n_bytes;
	return 0;
}
