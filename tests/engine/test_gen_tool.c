/* SPDX-License-Identifier: MIT */
/*
 * test_gen_tool.c: the slob-gen program end to end. Runs `slob-gen --sample`
 * into the test directory, reads the tick files back with the ordinary tick
 * reader (CSV and binary must hold the same ticks), replays them through
 * candles and the detector, and checks every line of the ground-truth CSV
 * (id, entry, SL, TP) against the setups found. Also checks that bad options
 * are refused with a message. Skips (77) when SLOB_BIN_DIR is not set.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "engine/candles.h"
#include "engine/detector.h"
#include "engine/tickfile.h"

static char bindir[512], tmpdir[512];

static int run_cmd(const char *args, char *out, size_t outlen)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s/slob-gen' %s 2>&1", bindir, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct setup_row {
	uint64_t id;
	int64_t entry, sl, tp;
	int found;
};

static int load_truth(const char *path, struct setup_row *rows, int max)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[1024];
	int n = 0;
	int64_t tn = slob_tick_nano(0.25);
	assert_non_null(fgets(line, sizeof(line), f)); /* header */
	assert_non_null(strstr(line, "id,dir,lse_high"));
	while (fgets(line, sizeof(line), f) && n < max) {
		char *fld[32];
		int k = 0;
		for (char *s = strtok(line, ",\n"); s && k < 32; s = strtok(NULL, ",\n"))
			fld[k++] = s;
		assert_int_equal(k, 22);
		const char *why;
		rows[n].id = strtoull(fld[0], NULL, 16);
		assert_int_equal(
		    slob_parse_price(fld[17], fld[17] + strlen(fld[17]), tn, &rows[n].entry, &why),
		    0);
		assert_int_equal(
		    slob_parse_price(fld[18], fld[18] + strlen(fld[18]), tn, &rows[n].sl, &why), 0);
		assert_int_equal(
		    slob_parse_price(fld[19], fld[19] + strlen(fld[19]), tn, &rows[n].tp, &why), 0);
		rows[n].found = 0;
		n++;
	}
	fclose(f);
	return n;
}

/* reads a tick file and replays it; marks truth rows found; returns ticks read */
static uint64_t replay_file(const char *path, struct setup_row *rows, int nrows, uint64_t *xsum)
{
	struct slob_tickreader *rd;
	struct slob_tickcsv_opts o = {.tick_size = 0.25};
	if (slob_tickreader_open(&rd, path, SLOB_TICKFILE_AUTO, &o))
		fail_msg("%s: %s", path, slob_tickfile_strerror());
	slob_ring_t tr, br;
	struct slob_candles cd;
	struct slob_detector det;
	struct slob_detector_params dp;
	struct slob_instrument in;
	char err[256];
	slob_instrument_nq(&in);
	slob_detector_params_default(&dp);
	assert_int_equal(slob_ring_init(&tr, "ticks", 1024, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&br, "bars", 1024, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_candles_init(&cd, NULL, &tr, &br, NULL), 0);
	assert_int_equal(slob_detector_init(&det, &dp, &in, err, sizeof(err)), 0);
	struct slob_sig *out = calloc(slob_detector_max_out(&det), sizeof(*out));
	uint64_t nt = 0, seq = 0;
	int eof = 0, ended = 0;
	*xsum = 0;
	while (!ended) {
		while (!eof && slob_ring_size(&tr) < 1000) {
			struct slob_tick t;
			int rc = slob_tickreader_next(rd, &t);
			assert_true(rc >= 0);
			if (rc == 0) {
				struct slob_tick e = {.seq = ++seq, .flags = SLOB_TICK_END};
				assert_true(slob_ring_push_spsc(&tr, &e));
				eof = 1;
				break;
			}
			t.seq = ++seq;
			nt++;
			*xsum = *xsum * 31 + (uint64_t)t.ts_ns + (uint64_t)t.px * 7 + t.size;
			assert_true(slob_ring_push_spsc(&tr, &t));
		}
		slob_candles_poll(&cd);
		struct slob_bar b;
		while (slob_ring_pop_spsc(&br, &b)) {
			int k = slob_detector_on_bar(&det, &b, out, slob_detector_max_out(&det));
			if (b.flags & SLOB_BAR_END)
				ended = 1;
			for (int j = 1; j < k; j++)
				for (int r = 0; r < nrows; r++)
					if (rows[r].id == out[j].setup.id &&
					    rows[r].entry == out[j].setup.entry &&
					    rows[r].sl == out[j].setup.sl &&
					    rows[r].tp == out[j].setup.tp)
						rows[r].found++;
		}
	}
	free(out);
	slob_detector_destroy(&det);
	slob_ring_destroy(&tr);
	slob_ring_destroy(&br);
	slob_tickreader_close(rd);
	return nt;
}

static void test_sample_files_replay_to_truth(void **state)
{
	(void)state;
	char out[4096], args[1024], path[1024];
	snprintf(args, sizeof(args), "--sample '%s/gen_sample'", tmpdir);
	assert_int_equal(run_cmd(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "setups injected"));
	struct setup_row rows[64];
	snprintf(path, sizeof(path), "%s/gen_sample/sample.truth.csv", tmpdir);
	int n = load_truth(path, rows, 64);
	assert_int_equal(n, 5);
	uint64_t x1, x2;
	snprintf(path, sizeof(path), "%s/gen_sample/sample.ticks.csv", tmpdir);
	uint64_t n1 = replay_file(path, rows, n, &x1);
	for (int r = 0; r < n; r++)
		assert_int_equal(rows[r].found, 1);
	snprintf(path, sizeof(path), "%s/gen_sample/sample.ticks", tmpdir);
	uint64_t n2 = replay_file(path, rows, n, &x2);
	for (int r = 0; r < n; r++)
		assert_int_equal(rows[r].found, 2);
	assert_true(n1 > 10000);
	assert_int_equal(n1, n2);
	assert_true(x1 == x2); /* same ticks in both formats */
	/* the bar file loads with the ordinary bar reader */
	snprintf(path, sizeof(path), "%s/gen_sample/sample.bars.csv", tmpdir);
	struct slob_bar *bars;
	struct slob_barcsv_opts bo = {.tick_size = 0.25};
	char err[256];
	int nb = slob_barfile_load(path, &bo, &bars, NULL, err, sizeof(err));
	if (nb < 0)
		fail_msg("%s", err);
	assert_int_equal(nb, 6900);
	free(bars);
	/* deterministic: a second run writes the same truth */
	snprintf(args, sizeof(args), "-q --sample '%s/gen_sample2'", tmpdir);
	assert_int_equal(run_cmd(args, out, sizeof(out)), 0);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cmp -s '%s/gen_sample/sample.ticks' '%s/gen_sample2/sample.ticks'", tmpdir,
		 tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void test_bad_options_refused(void **state)
{
	(void)state;
	char out[4096];
	assert_int_equal(run_cmd("--days 0 --truth /dev/null", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--days"));
	assert_int_equal(run_cmd("--dir sideways --truth /dev/null", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--dir"));
	assert_int_equal(run_cmd("--start 2026-13-01 --truth /dev/null", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--start"));
	assert_int_equal(run_cmd("", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "nothing to write"));
	assert_int_equal(run_cmd("--truth /nonexistent-dir/x.csv", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "/nonexistent-dir/x.csv"));
}

int main(void)
{
	const char *b = getenv("SLOB_BIN_DIR"), *t = getenv("SLOB_TEST_TMP");
	if (!b || !t)
		return 77;
	snprintf(bindir, sizeof(bindir), "%s", b);
	snprintf(tmpdir, sizeof(tmpdir), "%s", t);
	char p[1024];
	snprintf(p, sizeof(p), "%s/slob-gen", bindir);
	if (access(p, X_OK) != 0)
		return 77;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sample_files_replay_to_truth),
	    cmocka_unit_test(test_bad_options_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
