/* SPDX-License-Identifier: MIT */
/*
 * test_pipeline.c: the whole pipeline over generated data. The decision
 * digest must be the same whatever the thread layout (one thread, hot+cold,
 * one thread per stage) and when run inline; the store must hold every
 * trade the risk gate counted; a restart on the same store must not place a
 * bracket twice. Runs under TSan too (label tsan).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/config.h"
#include "engine/gen.h"
#include "engine/pipeline.h"
#include "engine/tickfile.h"
#include "persist/recover.h"
#include "persist/store.h"

static char dir[200], ticks_path[240];

static int write_ticks(void)
{
	struct slob_gen_params gp;
	slob_gen_params_default(&gp);
	gp.seed = 7;
	gp.days = 3;
	struct slob_gen_out go;
	char err[256];
	if (slob_gen_run(&gp, &go, err, sizeof(err)) < 0) {
		fprintf(stderr, "gen: %s\n", err);
		return -1;
	}
	struct slob_tickbin_writer *w;
	if (slob_tickbin_writer_open(&w, ticks_path, "MNQ", 0.25) < 0)
		return -1;
	struct slob_tick t[64];
	for (size_t i = 0; i < go.nbars; i++) {
		unsigned n = slob_gen_bar_ticks(gp.seed, &go.bars[i], t, 64);
		for (unsigned k = 0; k < n; k++)
			slob_tickbin_writer_append(w, t[k].ts_ns, t[k].px, t[k].size);
	}
	slob_gen_out_free(&go);
	return slob_tickbin_writer_close(w);
}

static int setup(void **state)
{
	const char *tmp = getenv("SLOB_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/test_pipeline_%d", tmp ? tmp : "/tmp", (int)getpid());
	char cmd[480];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(ticks_path, sizeof(ticks_path), "%s/ticks.bin", dir);
	return write_ticks();
}

static int teardown(void **state)
{
	char cmd[480];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One replay into store `db` with `layout` ("inline" = run on this thread). */
static void replay(const char *db, const char *layout, struct slob_pipeline_summary *sum,
		   int64_t *trades_in_store)
{
	struct slob_config cfg;
	char err[512];
	slob_config_init(&cfg);
	assert_int_equal(slob_config_set(&cfg, "instrument.symbol=MNQ", err, sizeof(err)), 0);
	assert_int_equal(slob_config_set(&cfg, "instrument.point_value=2", err, sizeof(err)), 0);
	assert_int_equal(slob_config_set(&cfg, "pipeline.pin=false", err, sizeof(err)), 0);
	assert_int_equal(slob_config_set(&cfg, "pipeline.hot_wait=yield", err, sizeof(err)), 0);
	struct slob_pipeline_opts o;
	assert_int_equal(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)), 0);
	struct slob_startup st;
	memset(&st, 0, sizeof(st));
	int rc = slob_recover_startup(db, NULL, &st, err, sizeof(err));
	if (rc < 0)
		fail_msg("startup: %s", err);
	struct slob_recovered rec;
	assert_int_equal(slob_recover_load(st.store, &o.instrument, &rec), 0);
	snprintf(o.ingest.path, sizeof(o.ingest.path), "%s", ticks_path);
	o.store = st.store;
	o.recovered = &rec;
	o.tap_ring = 1u << 18;
	o.layout = strcmp(layout, "inline") ? layout : "single";
	slob_pipeline_t *p = NULL;
	rc = slob_pipeline_build(&p, &o, err, sizeof(err));
	if (rc < 0)
		fail_msg("build (%s): %s", layout, err);
	if (!strcmp(layout, "inline")) {
		assert_int_equal(slob_pipeline_run_inline(p), 0);
	} else {
		assert_int_equal(slob_pipeline_start(p, err, sizeof(err)), 0);
		assert_int_equal(slob_pipeline_wait(p, NULL, NULL), 0);
	}
	slob_pipeline_summary(p, sum);
	slob_pipeline_free(p);
	*trades_in_store = slob_store_query_i64(st.store, "SELECT COUNT(*) FROM trade_history");
	slob_recovered_free(&rec);
	slob_recover_shutdown(&st);
	slob_config_free(&cfg);
}

static void test_digest_same_on_every_layout(void **state)
{
	static const char *const layouts[] = {
		"inline",
		"single",
		"hot=ingest,candles,detector,risk,sender@-:yield;cold=cold@-:block",
		"a=ingest@-:yield;b=candles@-:yield;c=detector@-:yield;d=risk@-:yield;"
		"e=sender@-:yield;f=cold@-:block",
	};
	struct slob_pipeline_summary ref, s;
	int64_t ref_trades = 0, trades = 0;
	for (unsigned i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		char db[700];
		snprintf(db, sizeof(db), "%s/layout%u/slob_state.db", dir, i);
		replay(db, layouts[i], i ? &s : &ref, i ? &trades : &ref_trades);
		if (i == 0) {
			assert_true(ref.ticks > 10000);
			assert_true(ref.setups >= 3);      /* one injected per day */
			assert_true(ref.brackets >= 1);
			assert_int_equal(ref_trades, (int64_t)ref.trades);
			continue;
		}
		if (s.digest != ref.digest)
			fail_msg("layout %s: digest %016llx, inline %016llx", layouts[i],
				 (unsigned long long)s.digest, (unsigned long long)ref.digest);
		assert_int_equal(s.ticks, ref.ticks);
		assert_int_equal(s.bars, ref.bars);
		assert_int_equal(s.brackets, ref.brackets);
		assert_int_equal(s.fills, ref.fills);
		assert_int_equal(s.realised_cents, ref.realised_cents);
		assert_int_equal(trades, ref_trades);
	}
}

static void test_restart_places_no_bracket_twice(void **state)
{
	char db[700];
	snprintf(db, sizeof(db), "%s/restart/slob_state.db", dir);
	struct slob_pipeline_summary a, b;
	int64_t ta, tb;
	replay(db, "single", &a, &ta);
	assert_true(a.brackets >= 1);
	/* the same data again on the same store: every setup already has a bracket */
	replay(db, "single", &b, &tb);
	assert_int_equal(b.setups, a.setups);
	assert_int_equal(b.brackets, 0);
	assert_int_equal(tb, ta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_same_on_every_layout),
		cmocka_unit_test(test_restart_places_no_bracket_twice),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
