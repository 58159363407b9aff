/*
 * tests/unit/test_dataset.c: face sets load from folders and fer2013.csv in a fixed order,
 * and refuse what is not a face set. The FER2013 check skips when ../shared/fer2013 is
 * absent. The faces' way to the network is tests/unit/test_face.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "face.h"
#include "image.h"

static char tmpdir[256];

static int
make_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/fm-dataset-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
remove_tmp(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A side x side PGM whose every pixel is `value`. */
static void
write_pgm(const char *path, uint32_t side, uint8_t value)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fprintf(f, "P5 %u %u 255\n", side, side);
	for (uint32_t i = 0; i < side * side; i++)
		fputc(value, f);
	fclose(f);
}

static void
folder_tree_loads_in_class_then_name_order(void **state)
{
	char path[512];
	struct fm_dataset d;
	struct fm_err err;

	(void)state;
	snprintf(path, sizeof path, "%s/tree", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/tree/sad", tmpdir);
	mkdir(path, 0755);
	/* Class folders are named in any case, as emotion names are everywhere. */
	snprintf(path, sizeof path, "%s/tree/Angry", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/tree/sad/b.pgm", tmpdir);
	write_pgm(path, 48, 20);
	snprintf(path, sizeof path, "%s/tree/sad/a.pgm", tmpdir);
	write_pgm(path, 48, 10);
	snprintf(path, sizeof path, "%s/tree/Angry/z.pgm", tmpdir);
	write_pgm(path, 96, 30); /* resized to 48 */
	snprintf(path, sizeof path, "%s/tree", tmpdir);
	assert_int_equal(fm_dataset_load_dir(path, 48, &d, &err), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.side, 48);
	assert_int_equal(d.labels[0], FM_ANGRY);
	assert_int_equal(d.labels[1], FM_SAD);
	assert_int_equal(d.labels[2], FM_SAD);
	assert_int_equal(d.pixels[0], 30);
	assert_int_equal(d.pixels[48 * 48], 10);
	assert_int_equal(d.pixels[2 * 48 * 48], 20);
	assert_int_equal(d.per_class[FM_SAD], 2);
	/* Each sample keeps its file, for fer-train --predictions. */
	snprintf(path, sizeof path, "%s/tree/Angry/z.pgm", tmpdir);
	assert_non_null(d.paths);
	assert_string_equal(d.paths[0], path);
	snprintf(path, sizeof path, "%s/tree/sad/b.pgm", tmpdir);
	assert_string_equal(d.paths[2], path);
	fm_dataset_free(&d);
	fm_dataset_free(NULL);
}

/* A face file of any size becomes exactly the pixels fer-classify makes of it as a face
 * crop (fm_face_whole on the decoded gray image): one way for both. */
static void
files_are_read_as_face_crops_are(void **state)
{
	char path[512];
	struct fm_dataset d;
	struct fm_image img;
	struct fm_gray g;
	struct fm_err err;
	uint8_t want[48 * 48];
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/odd", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/odd/fear", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/odd/fear/f.pgm", tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fprintf(f, "P5 37 61 255\n");
	for (int i = 0; i < 37 * 61; i++)
		fputc(i * 7 % 253, f);
	fclose(f);
	assert_int_equal(fm_image_load(path, 1 << 20, &img, &err), 0);
	assert_int_equal(fm_image_to_gray(&img, &g, &err), 0);
	fm_face_whole(&g, 48, want);
	snprintf(path, sizeof path, "%s/odd", tmpdir);
	assert_int_equal(fm_dataset_load_dir(path, 48, &d, &err), 0);
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.pixels, want, sizeof want);
	fm_dataset_free(&d);
	fm_gray_free(&g);
	fm_image_free(&img);
}

static void
foreign_folder_and_bad_image_are_errors(void **state)
{
	char path[512];
	struct fm_dataset d;
	struct fm_err err;

	(void)state;
	snprintf(path, sizeof path, "%s/bad", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/bad/cheerful", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/bad", tmpdir);
	assert_int_equal(fm_dataset_load_dir(path, 48, &d, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);
	assert_non_null(strstr(err.msg, "cheerful: not an emotion folder"));

	snprintf(path, sizeof path, "%s/bad2", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/bad2/happy", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/bad2/happy/x.jpg", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("not a jpeg", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/bad2", tmpdir);
	assert_int_equal(fm_dataset_load_dir(path, 48, &d, &err), -1);
	assert_non_null(strstr(err.msg, "x.jpg"));
	assert_int_equal(fm_dataset_load_dir("/nonexistent", 48, &d, &err), -1);
	assert_int_equal(err.code, FM_EIO);
}

static void
write_csv_row(FILE *f, int emotion, uint8_t value, const char *usage)
{
	fprintf(f, "%d,\"", emotion);
	for (int i = 0; i < 48 * 48; i++)
		fprintf(f, i ? " %u" : "%u", value);
	fprintf(f, "\",%s\r\n", usage);
}

static void
csv_rows_are_selected_by_usage(void **state)
{
	char path[512];
	struct fm_dataset d;
	struct fm_err err;
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/fer2013.csv", tmpdir);
	f = fopen(path, "w");
	fputs("emotion,pixels,Usage\r\n", f);
	write_csv_row(f, 3, 7, "Training");
	write_csv_row(f, 6, 8, "PublicTest");
	write_csv_row(f, 0, 9, "Training");
	fclose(f);
	assert_int_equal(fm_dataset_load_csv(path, "Training", &d, &err), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.labels[0], FM_HAPPY);
	assert_int_equal(d.labels[1], FM_ANGRY);
	assert_int_equal(d.pixels[48 * 48 + 5], 9);
	assert_null(d.paths); /* rows have no files */
	fm_dataset_free(&d);
	assert_int_equal(fm_dataset_load_csv(path, NULL, &d, &err), 0);
	assert_int_equal(d.n, 3);
	fm_dataset_free(&d);
	assert_int_equal(fm_dataset_load_csv(path, "PrivateTest", &d, &err), -1);
	assert_int_equal(err.code, FM_EFORMAT);

	f = fopen(path, "w");
	fputs("emotion,pixels,Usage\n3,\"1 2 3\",Training\n", f);
	fclose(f);
	assert_int_equal(fm_dataset_load_csv(path, NULL, &d, &err), -1);
	assert_non_null(strstr(err.msg, ":2: malformed row"));
	f = fopen(path, "w");
	fputs("a,b,c\n", f);
	fclose(f);
	assert_int_equal(fm_dataset_load_csv(path, NULL, &d, &err), -1);
	assert_non_null(strstr(err.msg, "not fer2013.csv"));
}

static void
fer2013_validation_split_loads_whole(void **state)
{
	const char *dir = "../shared/fer2013/val";
	struct fm_dataset d;
	struct fm_err err;
	static const size_t want[FM_N_EMOTIONS] = {467, 56, 496, 895, 653, 415, 607};

	(void)state;
	if (access(dir, R_OK) != 0) {
		print_message("# skip: %s is absent (a clone has no ../shared)\n", dir);
		skip();
	}
	assert_int_equal(fm_dataset_load_dir(dir, 48, &d, &err), 0);
	assert_int_equal(d.n, 3589);
	for (int k = 0; k < FM_N_EMOTIONS; k++)
		assert_int_equal(d.per_class[k], want[k]);
	fm_dataset_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(folder_tree_loads_in_class_then_name_order),
	    cmocka_unit_test(files_are_read_as_face_crops_are),
	    cmocka_unit_test(foreign_folder_and_bad_image_are_errors),
	    cmocka_unit_test(csv_rows_are_selected_by_usage),
	    cmocka_unit_test(fer2013_validation_split_loads_whole),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
