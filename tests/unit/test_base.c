/*
 * tests/unit/test_base.c: what lib/base.h gives every module besides errors and the
 * generator: integers in a file's byte order whatever the host's, a file written piece by
 * piece that appears whole on commit and not at all otherwise, and files that are not
 * regular (devices, a FIFO without a writer) refused or read without waiting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

static void
byte_order_reads_and_writes_either_end_first(void **state)
{
	const unsigned char b[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88};
	unsigned char out[8];

	(void)state;
	assert_int_equal(fm_get_le16(b), 0x0201);
	assert_int_equal(fm_get_be16(b), 0x0102);
	assert_int_equal(fm_get_le32(b), 0x04030201u);
	assert_int_equal(fm_get_be32(b + 4), 0x05060788u);
	assert_true(fm_get_le64(b) == 0x8807060504030201ull);
	fm_put_le32(out, 0xA1B2C3D4u);
	assert_memory_equal(out, "\xD4\xC3\xB2\xA1", 4);
	fm_put_le64(out, 0x8807060504030201ull);
	assert_memory_equal(out, b, 8);
	/* Unaligned reads are the point: a header's fields sit at any offset. */
	assert_int_equal(fm_get_le32(b + 1), 0x05040302u);
}

/* Only the named files are in dir: no temporary file stayed behind. */
static void
assert_folder_holds(const char *dir, const char *names)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | tr '\\n' ' ')\" = \"%s\"", dir, names);
	assert_int_equal(system(cmd), 0);
}

static void
file_writer_appears_whole_on_commit_and_not_otherwise(void **state)
{
	char dir[] = "/tmp/test_base_XXXXXX", path[64], bad[96], cmd[128];
	struct fm_file_writer *w;
	unsigned char *back;
	size_t n;
	struct fm_err err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);
	assert_int_equal(fm_write_file(path, "old", 3, &err), 0);

	/* Pieces, committed: the whole replaces the old file. */
	assert_int_equal(fm_file_writer_new(path, &w, &err), 0);
	assert_int_equal(fm_file_writer_write(w, "new ", 4, &err), 0);
	assert_int_equal(fm_file_writer_write(w, "", 0, &err), 0);
	assert_int_equal(fm_file_writer_write(w, "content", 7, &err), 0);
	/* Until the commit, readers see the old file. */
	assert_int_equal(fm_read_file(path, 1 << 10, &back, &n, &err), 0);
	assert_int_equal(n, 3);
	free(back);
	assert_int_equal(fm_file_writer_commit(w, &err), 0);
	fm_file_writer_free(w);
	assert_int_equal(fm_read_file(path, 1 << 10, &back, &n, &err), 0);
	assert_int_equal(n, 11);
	assert_memory_equal(back, "new content", 11);
	free(back);
	assert_folder_holds(dir, "f ");

	/* Freed without a commit: the old file stays, the new one goes. Written through its
	 * descriptor too, the new file being the one beside the old. */
	assert_int_equal(fm_file_writer_new(path, &w, &err), 0);
	assert_int_equal(fm_file_writer_write(w, "abandoned", 9, &err), 0);
	assert_int_equal(write(fm_file_writer_fd(w), "!", 1), 1);
	assert_non_null(fm_file_writer_tmp(w));
	assert_int_equal(strncmp(fm_file_writer_tmp(w), path, strlen(path)), 0);
	assert_int_equal(fm_read_file(fm_file_writer_tmp(w), 1 << 10, &back, &n, &err), 0);
	assert_int_equal(n, 10);
	free(back);
	fm_file_writer_free(w);
	fm_file_writer_free(NULL);
	assert_int_equal(fm_read_file(path, 1 << 10, &back, &n, &err), 0);
	assert_memory_equal(back, "new content", 11);
	free(back);
	assert_folder_holds(dir, "f ");

	/* A folder that is not there: the system's reason alone; the caller names the file. */
	snprintf(bad, sizeof bad, "%s/no/such/f", dir);
	assert_int_equal(fm_file_writer_new(bad, &w, &err), -1);
	assert_null(w);
	assert_int_equal(err.code, FM_EIO);
	assert_string_equal(err.msg, "no such file or directory");

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Links are followed and their target replaced; a FIFO or a device is written directly, a
 * FIFO without a reader refused at once; what cannot take a file is refused. */
static void
file_writer_follows_links_and_writes_fifos_directly(void **state)
{
	char dir[] = "/tmp/test_base_XXXXXX", path[64], link[64], fifo[64], cmd[128];
	unsigned char *back;
	char got[16];
	struct stat st;
	size_t n;
	struct fm_err err;
	int rd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sub", dir);
	assert_int_equal(mkdir(path, 0777), 0);
	snprintf(path, sizeof path, "%s/sub/target", dir);
	assert_int_equal(fm_write_file(path, "old", 3, &err), 0);
	/* A relative link, taken from its own folder. */
	snprintf(link, sizeof link, "%s/link", dir);
	assert_int_equal(symlink("sub/target", link), 0);
	assert_int_equal(fm_write_file(link, "new", 3, &err), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fm_read_file(path, 1 << 10, &back, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(back, "new", 3);
	free(back);
	/* A link to a file not made yet makes it, the link kept. */
	snprintf(link, sizeof link, "%s/ahead", dir);
	assert_int_equal(symlink("sub/made", link), 0);
	assert_int_equal(fm_write_file(link, "made", 4, &err), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_folder_holds(dir, "ahead link sub ");
	snprintf(path, sizeof path, "%s/sub", dir);
	assert_folder_holds(path, "made target ");

	/* A FIFO without a reader fails at once; with one, it gets the bytes. */
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0666), 0);
	assert_int_equal(fm_write_file(fifo, "x", 1, &err), -1);
	assert_int_equal(err.code, FM_EIO);
	assert_non_null(strstr(err.msg, "/fifo: a FIFO with no reader"));
	assert_int_not_equal(rd = open(fifo, O_RDONLY | O_NONBLOCK), -1);
	assert_int_equal(fm_write_file(fifo, "through", 7, &err), 0);
	assert_int_equal(read(rd, got, sizeof got), 7);
	assert_memory_equal(got, "through", 7);
	close(rd);
	assert_int_equal(stat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* A device stays the device. */
	assert_int_equal(fm_write_file("/dev/null", "gone", 4, &err), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* A folder cannot be replaced by a file. */
	snprintf(path, sizeof path, "%s/sub", dir);
	assert_int_equal(fm_write_file(path, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "/sub: is a directory"));
	assert_folder_holds(dir, "ahead fifo link sub ");

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
read_file_refuses_devices_and_waits_for_no_fifo_writer(void **state)
{
	char dir[] = "/tmp/test_base_XXXXXX", fifo[64], cmd[128];
	unsigned char *back;
	size_t n;
	struct fm_err err;
	int keep, w;

	(void)state;
	/* Endless devices are refused before a byte is read, not after the size limit. */
	assert_int_equal(fm_read_file("/dev/zero", 1 << 10, &back, &n, &err), -1);
	assert_null(back);
	assert_int_equal(err.code, FM_EIO);
	assert_string_equal(err.msg, "is a character device, not a regular file");
	assert_int_equal(fm_open_read("/dev/urandom", &err), -1);
	assert_string_equal(err.msg, "is a character device, not a regular file");
	assert_int_equal(fm_open_read("/", &err), -1);
	assert_string_equal(err.msg, "is a directory");

	/* A FIFO that nothing writes to is empty at once: open(2) does not wait for a writer. */
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(fm_read_file(fifo, 1 << 10, &back, &n, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);
	assert_string_equal(err.msg,
	                    "empty: a FIFO or pipe with no writer, or one that wrote nothing");

	/* One that has been written to is read to its end (a reader kept open holds the bytes
	 * after the writer closed). */
	assert_true((keep = open(fifo, O_RDONLY | O_NONBLOCK)) >= 0);
	assert_true((w = open(fifo, O_WRONLY | O_NONBLOCK)) >= 0);
	assert_int_equal(write(w, "abc", 3), 3);
	close(w);
	assert_int_equal(fm_read_file(fifo, 1 << 10, &back, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(back, "abc", 3);
	free(back);
	close(keep);

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(byte_order_reads_and_writes_either_end_first),
	    cmocka_unit_test(file_writer_appears_whole_on_commit_and_not_otherwise),
	    cmocka_unit_test(file_writer_follows_links_and_writes_fifos_directly),
	    cmocka_unit_test(read_file_refuses_devices_and_waits_for_no_fifo_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
