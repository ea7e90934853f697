/* SPDX-License-Identifier: MIT */
/* test_fsutil.c: atomic output files (persist/fsutil.h struct slob_fs_out):
 * nothing at the destination before commit, whole file after, an existing
 * file kept on abort, no temporary file left, symlinked destinations
 * resolved, the mode honoured, and output == input refused by identity
 * (same name, "./name", symlink, hard link). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation" /* test paths are short */
#endif

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "persist/fsutil.h"
#include "ptest.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	ptest_tmpdir(dir, sizeof(dir), "fsutil");
	return 0;
}

static int teardown(void **state)
{
	ptest_rm_rf(dir);
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_text(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, text);
}

/* files in dir (including dot files), "." and ".." excluded */
static int nfiles(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_commit_and_abort(void **state)
{
	char out[PATH_MAX], err[512];
	snprintf(out, sizeof(out), "%s/out.csv", dir);
	struct slob_fs_out o;
	assert_int_equal(slob_fs_out_open(&o, out, 0640, NULL, err, sizeof(err)), 0);
	FILE *f = slob_fs_out_stream(&o);
	assert_non_null(f);
	fputs("new\n", f);
	fflush(f);
	/* guarantee 1: nothing at the destination yet */
	struct stat st;
	assert_int_equal(stat(out, &st), -1);
	assert_int_equal(slob_fs_out_commit(&o, err, sizeof(err)), 0);
	expect_text(out, "new\n");
	assert_int_equal(stat(out, &st), 0);
	mode_t um = umask(0);
	umask(um);
	assert_int_equal(st.st_mode & 0777, 0640 & ~um);
	assert_int_equal(nfiles(), 1); /* no temporary file left */

	/* guarantee 3: abort keeps the old file and removes the temporary one */
	assert_int_equal(slob_fs_out_open(&o, out, 0644, NULL, err, sizeof(err)), 0);
	assert_int_equal(write(o.fd, "partial", 7), 7);
	assert_int_equal(nfiles(), 2);
	slob_fs_out_abort(&o);
	slob_fs_out_abort(&o); /* twice is fine */
	expect_text(out, "new\n");
	assert_int_equal(nfiles(), 1);
}

static void test_symlink_destination(void **state)
{
	char target[PATH_MAX], link[PATH_MAX], err[512];
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	put(target, "old");
	assert_int_equal(symlink("target", link), 0);
	struct slob_fs_out o;
	assert_int_equal(slob_fs_out_open(&o, link, 0644, NULL, err, sizeof(err)), 0);
	assert_int_equal(write(o.fd, "fresh", 5), 5);
	assert_int_equal(slob_fs_out_commit(&o, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* guarantee 4: the link stays */
	expect_text(target, "fresh");
}

static void test_same_file_refused(void **state)
{
	char in[PATH_MAX], dot[PATH_MAX], sym[PATH_MAX], hard[PATH_MAX], other[PATH_MAX];
	char err[1024];
	snprintf(in, sizeof(in), "%s/in.csv", dir);
	snprintf(dot, sizeof(dot), "%s/./in.csv", dir);
	snprintf(sym, sizeof(sym), "%s/sym.csv", dir);
	snprintf(hard, sizeof(hard), "%s/hard.csv", dir);
	snprintf(other, sizeof(other), "%s/other.csv", dir);
	put(in, "input");
	assert_int_equal(symlink(in, sym), 0);
	assert_int_equal(link(in, hard), 0);
	const char *inputs[] = {"-", in, NULL};
	const char *outs[] = {in, dot, sym, hard};
	for (unsigned i = 0; i < 4; i++) {
		struct slob_fs_out o;
		err[0] = '\0';
		assert_int_equal(slob_fs_out_open(&o, outs[i], 0644, inputs, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "same file as the input"));
		assert_non_null(strstr(err, outs[i]));
		expect_text(in, "input");
	}
	assert_int_equal(nfiles(), 3); /* in, sym, hard: nothing created */
	assert_int_equal(slob_fs_check_distinct(other, inputs, err, sizeof(err)), 0);
	assert_int_equal(slob_fs_same_file(in, hard), 1);
	assert_int_equal(slob_fs_same_file(in, other), 0);
}

static void test_open_failures(void **state)
{
	char out[PATH_MAX], err[512];
	struct slob_fs_out o;
	snprintf(out, sizeof(out), "%s/no/such/dir/out", dir);
	assert_true(slob_fs_out_open(&o, out, 0644, NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, out));
	assert_int_equal(slob_fs_out_open(&o, dir, 0644, NULL, err, sizeof(err)), -EISDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_and_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_destination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_failures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
