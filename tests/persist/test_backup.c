/* SPDX-License-Identifier: MIT */
/* test_backup.c: online backup while a writer commits, verification, rotation
 * (daily/weekly), unwritable target and failing upload (alert, older backups
 * kept), restore (WAL handled, current file kept aside), archive, vacuum. */
#include <errno.h>
#include <pthread.h>
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

#include "persist/backup.h"
#include "persist/store.h"
#include "ptest.h"

#define DAY_NS 86400000000000LL
#define T0 1764000000000000000LL /* 2025-11-24 16:00:00 UTC, a Monday */

struct writer {
	const char *path;
	int stop;
	long rows;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	slob_store_t *s;
	if (slob_store_open(w->path, SLOB_STORE_WRITER, &s) < 0)
		return NULL;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (slob_store_exec(s, "INSERT INTO candles (timestamp, open) VALUES"
				       " (hex(randomblob(8)), 1)") == 0)
			w->rows++;
	}
	slob_store_close(s);
	return NULL;
}

static void make_store(const char *path, int rows)
{
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_int_equal(slob_store_exec(s, "BEGIN"), 0);
	for (int i = 0; i < rows; i++) {
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO trade_history (setup_id, entry_time, pnl, outcome)"
			 " VALUES ('%016x', datetime('now', '-%d days'), %d, 'WIN')",
			 i, i * 3, i);
		assert_int_equal(slob_store_exec(s, sql), 0);
	}
	assert_int_equal(slob_store_exec(s, "COMMIT"), 0);
	slob_store_close(s);
}

static void test_online_backup_is_consistent(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ptest_tmpdir(dir, sizeof(dir), "online");
	snprintf(path, sizeof(path), "%s/data/slob_state.db", dir);
	make_store(path, 500);
	struct writer w = {.path = path};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	struct slob_backup_result res;
	for (int i = 0; i < 3; i++) {
		struct slob_backup_opts o = {.db_path = path, .now_ns = T0 + i * 1000000000LL};
		int rc = slob_backup_create(&o, &res);
		if (rc)
			fail_msg("backup: %s", slob_store_strerror());
		assert_non_null(strstr(res.file, "/data/backups/slob_state_20251124_16000"));
		assert_true(res.rows >= 500);
		assert_true(res.bytes > 0);
		assert_false(res.alert);
		assert_int_equal(slob_backup_verify(res.file), 0);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert_true(w.rows > 0);
	char latest[PATH_MAX], bdir[PATH_MAX];
	assert_int_equal(slob_backup_default_dir(path, bdir, sizeof(bdir)), 0);
	assert_int_equal(slob_backup_latest(bdir, latest, sizeof(latest)), 0);
	assert_string_equal(latest, res.file);
	/* the backup is self-contained: no -wal next to it */
	char wal[PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", res.file);
	assert_int_equal(access(wal, F_OK), -1);
	ptest_rm_rf(dir);
}

static void test_rotation_keeps_daily_and_weekly(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], bdir[PATH_MAX];
	ptest_tmpdir(dir, sizeof(dir), "rotate");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	make_store(path, 10);
	struct slob_backup_result res;
	/* 30 days, two backups a day */
	for (int d = 0; d < 30; d++)
		for (int k = 0; k < 2; k++) {
			struct slob_backup_opts o = {.db_path = path,
						     .keep_daily = 3,
						     .keep_weekly = 3,
						     .now_ns =
							 T0 + d * DAY_NS + k * 3600000000000LL};
			assert_int_equal(slob_backup_create(&o, &res), 0);
		}
	assert_int_equal(slob_backup_default_dir(path, bdir, sizeof(bdir)), 0);
	char names[64][PATH_MAX];
	int n = slob_backup_list(bdir, names, 64);
	/* newest of each of the 3 newest days, plus newest of each of the 3 newest
	 * ISO weeks: 12-23 (Tue, W52), 12-22 (W52), 12-21 (Sun, W51), 12-14 (W50) */
	assert_int_equal(n, 4);
	assert_non_null(strstr(names[0], "slob_state_20251223_170000.db"));
	assert_non_null(strstr(names[1], "slob_state_20251222_170000.db"));
	assert_non_null(strstr(names[2], "slob_state_20251221_170000.db"));
	assert_non_null(strstr(names[3], "slob_state_20251214_170000.db"));
	assert_true(res.removed >= 1);
	ptest_rm_rf(dir);
}

static void test_unwritable_target_and_failed_upload(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], bad[PATH_MAX + 32], bdir[PATH_MAX];
	ptest_tmpdir(dir, sizeof(dir), "fail");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	make_store(path, 20);
	struct slob_backup_result res;
	struct slob_backup_opts o = {.db_path = path, .now_ns = T0};
	assert_int_equal(slob_backup_create(&o, &res), 0);
	char first[PATH_MAX];
	snprintf(first, sizeof(first), "%s", res.file);

	/* target is not a directory we can create (a file is in the way) */
	snprintf(bad, sizeof(bad), "%s/notadir", dir);
	FILE *f = fopen(bad, "w");
	fclose(f);
	snprintf(bad, sizeof(bad), "%s/notadir/backups", dir);
	o.backup_dir = bad;
	o.now_ns = T0 + DAY_NS;
	int rc = slob_backup_create(&o, &res);
	assert_true(rc == -ENOTDIR || rc == -EACCES || rc == -ENOENT);
	assert_non_null(strstr(slob_store_strerror(), bad));
	assert_true(res.alert);
	assert_int_equal(res.alert_rec.type, SLOB_COLD_ALERT);
	assert_non_null(strstr(res.alert_rec.u.text.text, "older backups kept"));
	assert_string_equal(res.file, "");
	assert_int_equal(access(first, F_OK), 0); /* previous backup kept */

	/* upload command failing: backup kept, error + alert */
	o.backup_dir = NULL;
	o.upload_cmd = "exit 3; :";
	o.now_ns = T0 + 2 * DAY_NS;
	assert_int_equal(slob_backup_create(&o, &res), -ECHILD);
	assert_int_equal(res.upload_status, 3);
	assert_true(res.alert);
	assert_non_null(strstr(slob_store_strerror(), "upload"));
	assert_int_equal(access(res.file, F_OK), 0);

	/* upload command succeeding gets the file path */
	char up[PATH_MAX + 64];
	snprintf(up, sizeof(up), "cp -t '%s'", dir);
	o.upload_cmd = up;
	o.now_ns = T0 + 3 * DAY_NS;
	assert_int_equal(slob_backup_create(&o, &res), 0);
	char copied[PATH_MAX + 64];
	snprintf(copied, sizeof(copied), "%s/%s", dir, strrchr(res.file, '/') + 1);
	assert_int_equal(slob_backup_verify(copied), 0);

	/* both failures were journaled in the store for the dashboard */
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_int_equal(slob_store_query_i64(s, "SELECT count(*) FROM alerts_sent WHERE"
						 " component='backup'"),
			 2);
	slob_store_close(s);
	assert_int_equal(slob_backup_default_dir(path, bdir, sizeof(bdir)), 0);
	assert_int_equal(slob_backup_list(bdir, NULL, 0), 3);
	ptest_rm_rf(dir);
}

static void test_restore_moves_current_aside(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], aside[PATH_MAX + 64];
	ptest_tmpdir(dir, sizeof(dir), "restore");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	make_store(path, 30);
	struct slob_backup_opts o = {.db_path = path, .now_ns = T0};
	struct slob_backup_result res;
	assert_int_equal(slob_backup_create(&o, &res), 0);
	/* later writes, left in the WAL by a connection that is still open */
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_int_equal(slob_store_exec(s, "PRAGMA wal_autocheckpoint=0"), 0);
	assert_int_equal(slob_store_exec(s, "DELETE FROM trade_history"), 0);
	char wal[PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(access(wal, F_OK), 0);

	assert_int_equal(slob_backup_restore(path, "nonexistent.db", aside, sizeof(aside)),
			 -ENOENT);
	assert_int_equal(slob_backup_restore(path, "latest", aside, sizeof(aside)), 0);
	slob_store_close(s);
	assert_non_null(strstr(aside, ".before_restore_"));
	assert_int_equal(access(aside, F_OK), 0);
	char aside_wal[PATH_MAX + 72];
	snprintf(aside_wal, sizeof(aside_wal), "%s-wal", aside);
	assert_int_equal(access(aside_wal, F_OK), 0); /* kept with its file */
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_int_equal(slob_store_query_i64(s, "SELECT count(*) FROM trade_history"), 30);
	slob_store_close(s);
	/* the aside copy (with its WAL) still has the deletion */
	assert_int_equal(slob_store_open(aside, 0, &s), 0);
	assert_int_equal(slob_store_query_i64(s, "SELECT count(*) FROM trade_history"), 0);
	slob_store_close(s);

	/* a corrupt backup is refused */
	char badb[PATH_MAX + 32];
	snprintf(badb, sizeof(badb), "%s/bad.db", dir);
	FILE *f = fopen(badb, "w");
	fputs("garbage", f);
	fclose(f);
	assert_true(slob_backup_restore(path, badb, NULL, 0) < 0);
	assert_non_null(strstr(slob_store_strerror(), "does not verify"));
	ptest_rm_rf(dir);
}

static void test_archive_and_vacuum(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], arch[PATH_MAX + 64];
	ptest_tmpdir(dir, sizeof(dir), "archive");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	make_store(path, 300); /* entry_time: now - 3*i days, i < 300 */
	int64_t moved = slob_backup_archive(path, 365, NULL);
	/* 3*i > 365 -> i >= 122 -> 178 rows (now - 366 days is older) */
	assert_true(moved == 178);
	assert_int_equal(slob_backup_archive(path, 365, NULL), 0);
	assert_int_equal(slob_backup_archive(path, 0, NULL), -EINVAL);
	snprintf(arch, sizeof(arch), "%s/archive/trade_history_archive.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(arch, &db), SQLITE_OK);
	assert_int_equal(ptest_i64(db, "SELECT count(*) FROM trade_history"), 178);
	assert_int_equal(ptest_i64(db, "SELECT count(*) FROM trade_history WHERE entry_time >="
				       " datetime('now','-365 days')"),
			 0);
	sqlite3_close(db);
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_int_equal(slob_store_query_i64(s, "SELECT count(*) FROM trade_history"), 122);
	slob_store_close(s);
	assert_int_equal(slob_backup_vacuum(path), 0);
	assert_int_equal(slob_backup_check(path, true), 0);
	ptest_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_online_backup_is_consistent),
	    cmocka_unit_test(test_rotation_keeps_daily_and_weekly),
	    cmocka_unit_test(test_unwritable_target_and_failed_upload),
	    cmocka_unit_test(test_restore_moves_current_aside),
	    cmocka_unit_test(test_archive_and_vacuum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
