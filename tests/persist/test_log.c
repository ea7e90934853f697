/* SPDX-License-Identifier: MIT */
/*
 * test_log.c: the log files. Line format and level routing (errors.log),
 * [log] parameters, size and day rotation with retention (P3-2), surviving a
 * full disk (writes to /dev/full through a symlink, then recovery with a
 * "lines lost" note), secret redaction, cold-record rendering, and two
 * threads writing at once without interleaving.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "persist/log.h"

static char g_dir[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("SLOB_TEST_TMP");
	snprintf(g_dir, sizeof(g_dir), "%s/log-%d-XXXXXX", tmp ? tmp : "/tmp", (int)getpid());
	if (!mkdtemp(g_dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void params_in(struct slob_log_params *p, const char *sub)
{
	slob_log_params_default(p);
	snprintf(p->trading_file, sizeof(p->trading_file), "%s/%s/trading.log", g_dir, sub);
	snprintf(p->errors_file, sizeof(p->errors_file), "%s/%s/errors.log", g_dir, sub);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static int count_rotated(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	size_t bl = strlen(base);
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, base, bl) && de->d_name[bl] == '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_params(void **state)
{
	(void)state;
	struct slob_log_params p;
	char err[256];
	slob_log_params_default(&p);
	assert_string_equal(p.trading_file, "logs/trading.log");
	assert_string_equal(p.errors_file, "logs/errors.log");
	assert_int_equal(p.keep, 30);
	assert_int_equal(slob_log_params_validate(&p, err, sizeof(err)), 0);
	assert_int_equal(slob_log_param_set(&p, "keep", "7", err, sizeof(err)), 0);
	assert_int_equal(p.keep, 7);
	assert_int_equal(slob_log_param_set(&p, "keep", "0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "keep"));
	assert_non_null(strstr(err, "1..3650"));
	assert_int_equal(slob_log_param_set(&p, "keep", "7x", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_log_param_set(&p, "level", "warn", err, sizeof(err)), 0);
	assert_int_equal(p.level, SLOB_LVL_WARNING);
	assert_int_equal(slob_log_param_set(&p, "level", "loud", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "level"));
	assert_int_equal(slob_log_param_set(&p, "max_size_mb", "10", err, sizeof(err)), 0);
	assert_int_equal(p.max_bytes, 10ull << 20);
	assert_int_equal(slob_log_param_set(&p, "max_size_mb", "-1", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_log_param_set(&p, "rotate_daily", "false", err, sizeof(err)), 0);
	assert_false(p.rotate_daily);
	assert_int_equal(slob_log_param_set(&p, "rotate_daily", "maybe", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(slob_log_param_set(&p, "colour", "red", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "colour"));
	assert_int_equal(
	    slob_log_param_set(&p, "errors_file", "logs/trading.log", err, sizeof(err)), 0);
	assert_int_equal(slob_log_params_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "errors_file"));
}

static void test_format_and_routing(void **state)
{
	(void)state;
	struct slob_log_params p;
	slob_log_t *log;
	char err[256], path[600];
	params_in(&p, "a/b"); /* nested folders are created */
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	/* 2026-11-25 14:03:07.123 UTC */
	int64_t ts = 1795615387123000000ll;
	assert_int_equal(slob_log_write(log, ts, SLOB_LVL_INFO, "risk", "hello\nworld"), 0);
	assert_int_equal(slob_log_write(log, ts, SLOB_LVL_DEBUG, "risk", "filtered"), 1);
	assert_int_equal(
	    slob_log_printf(log, SLOB_LVL_ERROR, "store", "disk %s at %d%%", "full", 99), 0);
	assert_int_equal(slob_log_printf(log, SLOB_LVL_CRITICAL, NULL, "boom"), 0);
	snprintf(path, sizeof(path), "%s/a/b/trading.log", g_dir);
	char *s = slurp(path);
	assert_non_null(s);
	assert_non_null(strstr(s, "2026-11-25 14:03:07.123Z INFO     risk: hello world\n"));
	assert_null(strstr(s, "filtered"));
	assert_non_null(strstr(s, "ERROR    store: disk full at 99%\n"));
	assert_non_null(strstr(s, "CRITICAL slob: boom\n"));
	assert_int_equal(count_lines(s), 3);
	snprintf(path, sizeof(path), "%s/a/b/errors.log", g_dir);
	s = slurp(path);
	assert_int_equal(count_lines(s), 2);
	assert_null(strstr(s, "hello"));
	struct slob_log_counters c;
	slob_log_counters(log, &c);
	assert_int_equal(c.lines, 3);
	assert_int_equal(c.error_lines, 2);
	assert_int_equal(c.lost, 0);
	slob_log_free(log);
	slob_log_free(NULL);

	/* errors.log may take a lower level than trading.log */
	params_in(&p, "lv");
	p.level = SLOB_LVL_ERROR;
	p.errors_level = SLOB_LVL_WARNING;
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	assert_int_equal(slob_log_write(log, 0, SLOB_LVL_WARNING, "x", "warn only in errors.log"),
			 0);
	assert_int_equal(slob_log_write(log, 0, SLOB_LVL_INFO, "x", "nowhere"), 1);
	slob_log_free(log);
	s = slurp(p.errors_file);
	assert_non_null(s);
	assert_non_null(strstr(s, "warn only in errors.log"));
	s = slurp(p.trading_file);
	assert_true(s == NULL || strstr(s, "warn only") == NULL);

	/* an impossible path is an error naming it, unless lenient */
	p.level = SLOB_LVL_INFO;
	snprintf(p.trading_file, sizeof(p.trading_file), "/proc/nope/trading.log");
	assert_true(slob_log_create(&p, false, &log, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/proc/nope/trading.log"));
	assert_int_equal(slob_log_create(&p, true, &log, err, sizeof(err)), 0);
	assert_true(slob_log_write(log, 0, SLOB_LVL_INFO, "x", "y") < 0);
	slob_log_counters(log, &c);
	assert_true(c.degraded);
	assert_int_equal(c.lost, 1);
	slob_log_free(log);
}

static void test_size_rotation_keep(void **state)
{
	(void)state;
	struct slob_log_params p;
	slob_log_t *log;
	char err[256], dir[600], path[700];
	params_in(&p, "rot");
	p.max_bytes = 4096;
	p.keep = 3;
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	char text[200];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	for (int i = 0; i < 200; i++) /* ~46 KB: about 11 rotations */
		assert_int_equal(slob_log_write(log, 0, SLOB_LVL_INFO, "t", text), 0);
	struct slob_log_counters c;
	slob_log_counters(log, &c);
	assert_true(c.rotations >= 10);
	assert_true(c.removed >= 7);
	snprintf(dir, sizeof(dir), "%s/rot", g_dir);
	assert_int_equal(count_rotated(dir, "trading.log"), 3);
	snprintf(path, sizeof(path), "%s/trading.log", dir);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 4096);
	/* nothing lost: lines in live + kept files = lines of the last rotations */
	assert_int_equal(c.lost, 0);
	assert_int_equal(slob_log_rotate(log), 0);
	assert_int_equal(count_rotated(dir, "trading.log"), 3);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	slob_log_free(log);
}

static void test_daily_rotation(void **state)
{
	(void)state;
	struct slob_log_params p;
	slob_log_t *log;
	char err[256], path[700];
	params_in(&p, "day");
	p.errors_file[0] = 0;
	/* yesterday's file, last written 2026-01-02 */
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	assert_int_equal(slob_log_write(log, 0, SLOB_LVL_INFO, "t", "old day"), 0);
	slob_log_free(log);
	struct timespec tv[2] = {{1767355200, 0}, {1767355200, 0}}; /* 2026-01-02 12:00Z */
	assert_int_equal(utimensat(AT_FDCWD, p.trading_file, tv, 0), 0);
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	assert_int_equal(slob_log_write(log, 0, SLOB_LVL_INFO, "t", "new day"), 0);
	slob_log_free(log);
	snprintf(path, sizeof(path), "%s.2026-01-02", p.trading_file);
	char *s = slurp(path);
	assert_non_null(s);
	assert_non_null(strstr(s, "old day"));
	s = slurp(p.trading_file);
	assert_non_null(strstr(s, "new day"));
	assert_null(strstr(s, "old day"));
}

static void test_disk_full(void **state)
{
	(void)state;
	struct slob_log_params p;
	slob_log_t *log;
	char err[256];
	if (access("/dev/full", W_OK) != 0)
		skip();
	params_in(&p, "full");
	p.errors_file[0] = 0;
	p.retry_ms = 0;
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/full", g_dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(symlink("/dev/full", p.trading_file), 0);
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(slob_log_printf(log, SLOB_LVL_INFO, "t", "line %d", i), -ENOSPC);
	struct slob_log_counters c;
	slob_log_counters(log, &c);
	assert_int_equal(c.lost, 10);
	assert_true(c.write_errors >= 10);
	assert_int_equal(c.last_errno, ENOSPC);
	assert_true(c.degraded);
	/* space comes back */
	assert_int_equal(unlink(p.trading_file), 0);
	assert_int_equal(slob_log_printf(log, SLOB_LVL_INFO, "t", "after"), 0);
	slob_log_counters(log, &c);
	assert_false(c.degraded);
	char *s = slurp(p.trading_file);
	assert_non_null(s);
	assert_non_null(strstr(s, "10 log lines lost since"));
	assert_non_null(strstr(s, "No space left on device"));
	assert_non_null(strstr(s, "after"));
	assert_int_equal(count_lines(s), 2);
	slob_log_free(log);

	/* with a retry interval, failing writes do not even try the disk again */
	snprintf(p.trading_file, sizeof(p.trading_file), "%s/full/t2.log", g_dir);
	assert_int_equal(symlink("/dev/full", p.trading_file), 0);
	p.retry_ms = 60000;
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++)
		assert_true(slob_log_printf(log, SLOB_LVL_INFO, "t", "x") < 0);
	slob_log_counters(log, &c);
	assert_int_equal(c.lost, 100);
	assert_int_equal(c.write_errors, 1);
	slob_log_free(log);
}

static void test_redaction(void **state)
{
	(void)state;
	char out[128];
	const char *sec[] = {"123456:ABCDEF", "hunter22"};
	slob_redact(out, sizeof(out), "url /bot123456:ABCDEF/sendMessage pw=hunter22!", sec, 2);
	assert_string_equal(out, "url /bot***/sendMessage pw=***!");
	slob_redact(out, 6, "hunter22 hunter22", sec, 2);
	assert_string_equal(out, "*** *");
	const char *shortsec[] = {"ab"};
	slob_redact(out, sizeof(out), "abab", shortsec, 1); /* too short to redact safely */
	assert_string_equal(out, "abab");

	struct slob_log_params p;
	slob_log_t *log;
	char err[256];
	params_in(&p, "red");
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	assert_int_equal(slob_log_redact_add(log, "s3cr3t-token"), 0);
	assert_int_equal(slob_log_redact_add(log, "ab"), -EINVAL);
	slob_log_printf(log, SLOB_LVL_ERROR, "alert", "telegram failed for token s3cr3t-token");
	char *s = slurp(p.trading_file);
	assert_null(strstr(s, "s3cr3t"));
	assert_non_null(strstr(s, "token ***"));
	s = slurp(p.errors_file);
	assert_null(strstr(s, "s3cr3t"));
	slob_log_free(log);
}

static void test_cold_sink(void **state)
{
	(void)state;
	struct slob_log_params p;
	slob_log_t *log;
	char err[256];
	params_in(&p, "cold");
	assert_int_equal(slob_log_create(&p, false, &log, err, sizeof(err)), 0);
	struct slob_cold rec;
	slob_cold_text_init(&rec, SLOB_COLD_LOG, SLOB_LVL_WARNING, 0, "ingest", 0,
			    "Position reconciliation: 1 adopted");
	slob_log_sink_cold(log, &rec);
	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_ORDER;
	rec.u.order.order_id = 42;
	rec.u.order.qty = 2;
	rec.u.order.px = 80001; /* 20000.25 */
	rec.u.order.dir = 1;
	rec.u.order.status = SLOB_EXEC_REJECTED;
	rec.u.order.code = 201;
	strcpy(rec.u.order.order_ref, "slob-abc123");
	strcpy(rec.u.order.text, "margin");
	slob_log_sink_cold(log, &rec);
	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_BREAKER;
	rec.u.breaker.tripped = 1;
	strcpy(rec.u.breaker.why, "drawdown 5.2%");
	slob_log_sink_cold(log, &rec);
	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_BAR; /* not logged */
	slob_log_sink_cold(log, &rec);
	slob_log_sink_tick(log, 0);
	char *s = slurp(p.trading_file);
	assert_non_null(strstr(s, "WARNING  ingest: Position reconciliation: 1 adopted"));
	assert_non_null(strstr(s, "ERROR    orders: order REJECTED ENTRY BUY 2 @ 20000.25 id=42"));
	assert_non_null(strstr(s, "orderRef=slob-abc123"));
	assert_non_null(strstr(s, "code=201 margin"));
	assert_non_null(strstr(s, "CRITICAL risk: Circuit breaker tripped"));
	assert_int_equal(count_lines(s), 3);
	slob_log_free(log);
}

static slob_log_t *g_log;

static void *writer(void *arg)
{
	for (int i = 0; i < 2000; i++)
		slob_log_printf(g_log, SLOB_LVL_INFO, (const char *)arg,
				"line %d of a writer thread", i);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct slob_log_params p;
	char err[256];
	params_in(&p, "thr");
	assert_int_equal(slob_log_create(&p, false, &g_log, err, sizeof(err)), 0);
	pthread_t a, b;
	pthread_create(&a, NULL, writer, "one");
	pthread_create(&b, NULL, writer, "two");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	slob_log_free(g_log);
	FILE *f = fopen(p.trading_file, "r");
	assert_non_null(f);
	char line[256];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		assert_true(strstr(line, " one: line ") || strstr(line, " two: line "));
		assert_non_null(strstr(line, "of a writer thread\n"));
	}
	fclose(f);
	assert_int_equal(n, 4000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params),
	    cmocka_unit_test_setup_teardown(test_format_and_routing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_rotation_keep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_daily_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cold_sink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
