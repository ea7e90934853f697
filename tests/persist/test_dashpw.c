/* SPDX-License-Identifier: MIT */
/*
 * test_dashpw.c: the dashboard password file (persist/dashpw.h): hash and
 * verify round trip, atomic 0600 write, and every refusal of the reader
 * (missing file, group/world access, malformed content, two lines, a
 * symlink) with a message naming the file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "persist/dashpw.h"

static char g_dir[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("SLOB_TEST_TMP");
	snprintf(g_dir, sizeof(g_dir), "%s/dashpw-%d-XXXXXX", tmp && *tmp ? tmp : "/tmp",
		 (int)getpid());
	return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", g_dir, name);
}

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_hash_verify(void **state)
{
	(void)state;
	char hash[SLOB_DASHPW_HASH_MAX], err[256];
	assert_int_equal(slob_dashpw_hash("long enough pw", hash, err, sizeof err), 0);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_int_equal(slob_dashpw_check_hash(hash, err, sizeof err), 0);
	assert_int_equal(slob_dashpw_verify(hash, "long enough pw", 14), 0);
	assert_int_equal(slob_dashpw_verify(hash, "long enough pX", 14), -EACCES);
	assert_int_equal(slob_dashpw_verify(hash, "long enough p", 13), -EACCES);
	assert_int_equal(slob_dashpw_verify("plaintext", "plaintext", 9), -EINVAL);
	/* Too short: refused with a message giving the minimum. */
	assert_int_equal(slob_dashpw_hash("short", hash, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "at least 8"));
	/* Too long: refused, never hashed cut to length. */
	char big[SLOB_DASHPW_MAX_LEN + 2];
	memset(big, 'p', sizeof big - 1);
	big[sizeof big - 1] = 0;
	assert_int_equal(slob_dashpw_hash(big, hash, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "too long"));
	big[SLOB_DASHPW_MAX_LEN] = 0;
	assert_int_equal(slob_dashpw_hash(big, hash, err, sizeof err), 0);
	/* Two hashes of one password differ (random salt). */
	char h2[SLOB_DASHPW_HASH_MAX];
	assert_int_equal(slob_dashpw_hash("long enough pw", h2, err, sizeof err), 0);
	assert_string_not_equal(hash, h2);
}

static void test_write_read(void **state)
{
	(void)state;
	char p[300], hash[SLOB_DASHPW_HASH_MAX], err[512];
	path_of(p, sizeof p, "dashboard.pw");
	assert_int_equal(slob_dashpw_write(p, "operator password", err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), 0);
	assert_int_equal(slob_dashpw_verify(hash, "operator password", 17), 0);
	/* Overwrite: the new password works, the old one not. */
	assert_int_equal(slob_dashpw_write(p, "a new password", err, sizeof err), 0);
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), 0);
	assert_int_equal(slob_dashpw_verify(hash, "a new password", 14), 0);
	assert_int_equal(slob_dashpw_verify(hash, "operator password", 17), -EACCES);
	/* No temporary file left behind. */
	char cmd[400];
	snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", g_dir);
	assert_int_equal(system(cmd), 0);
	/* Unwritable directory: error names the path. */
	assert_int_equal(slob_dashpw_write("/nonexistent-dir/x.pw", "operator password", err,
					   sizeof err),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent-dir/"));
}

static void test_read_refusals(void **state)
{
	(void)state;
	char p[300], hash[SLOB_DASHPW_HASH_MAX], err[512], good[SLOB_DASHPW_HASH_MAX];
	assert_int_equal(slob_dashpw_hash("long enough pw", good, err, sizeof err), 0);
	path_of(p, sizeof p, "missing.pw");
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "missing.pw"));

	path_of(p, sizeof p, "open.pw");
	put(p, good, 0644);
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));

	path_of(p, sizeof p, "plain.pw");
	put(p, "hunter22\n", 0600);
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "plain.pw:1:"));

	path_of(p, sizeof p, "two.pw");
	char two[400];
	snprintf(two, sizeof two, "%s\n%s\n", good, good);
	put(p, two, 0600);
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "more than one line"));

	path_of(p, sizeof p, "empty.pw");
	put(p, "", 0600);
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), -EINVAL);

	/* A symlink is not followed (someone else's file must not become ours). */
	char target[300];
	path_of(target, sizeof target, "real.pw");
	put(target, good, 0600);
	path_of(p, sizeof p, "link.pw");
	assert_int_equal(symlink(target, p), 0);
	assert_true(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err) < 0);

	/* CRLF line ending is accepted. */
	path_of(p, sizeof p, "crlf.pw");
	char crlf[200];
	snprintf(crlf, sizeof crlf, "%s\r\n", good);
	put(p, crlf, 0600);
	assert_int_equal(slob_dashpw_read(p, hash, sizeof hash, err, sizeof err), 0);
	assert_string_equal(hash, good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
