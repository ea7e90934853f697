/* SPDX-License-Identifier: MIT */
/*
 * test_config.c: the key table against the modules (every declared key is
 * accepted, and the table's defaults are the modules' own defaults), INI
 * errors naming file:line, overrides in order file < env < --set, and
 * secret redaction.
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

#include "engine/candles.h"
#include "engine/config.h"
#include "engine/detector.h"
#include "engine/pipeline.h"
#include "engine/risk.h"
#include "engine/sender.h"
#include "engine/tws_conn.h"
#include "persist/alert.h"
#include "persist/cold.h"
#include "persist/log.h"
#include "persist/store.h"

#define CHECK_SECTION(sec, type, deffn, setfn)                                                  \
	do {                                                                                    \
		type a, b;                                                                      \
		memset(&a, 0, sizeof(a));                                                       \
		memset(&b, 0, sizeof(b));                                                       \
		deffn(&a);                                                                      \
		deffn(&b);                                                                      \
		char err[256] = "";                                                             \
		int rc = slob_config_apply_section(&cfg, sec, (slob_param_set_fn)setfn, &b, err, \
						   sizeof(err));                                \
		if (rc != 0)                                                                    \
			fail_msg("section [%s]: %s", sec, err);                                 \
		if (memcmp(&a, &b, sizeof(a)) != 0)                                             \
			fail_msg("section [%s]: table defaults differ from the module's", sec); \
	} while (0)

static void test_table_matches_modules(void **state)
{
	struct slob_config cfg;
	slob_config_init(&cfg);
	CHECK_SECTION("candles", struct slob_candles_params, slob_candles_params_default,
		      slob_candles_param_set);
	CHECK_SECTION("detector", struct slob_detector_params, slob_detector_params_default,
		      slob_detector_param_set);
	CHECK_SECTION("risk", struct slob_risk_params, slob_risk_params_default, slob_risk_param_set);
	CHECK_SECTION("sender", struct slob_sender_params, slob_sender_params_default,
		      slob_sender_param_set);
	CHECK_SECTION("cold", struct slob_cold_params, slob_cold_params_default, slob_cold_param_set);
	CHECK_SECTION("store", struct slob_store_params, slob_store_params_default,
		      slob_store_param_set);
	CHECK_SECTION("log", struct slob_log_params, slob_log_params_default, slob_log_param_set);
	CHECK_SECTION("alert", struct slob_alert_params, slob_alert_params_default,
		      slob_alert_param_set);
	CHECK_SECTION("tws", struct slob_tws_params, slob_tws_params_default, slob_tws_param_set);
	CHECK_SECTION("ticks", struct slob_tickcheck_params, slob_tickcheck_params_default,
		      slob_tickcheck_param_set);
	struct slob_pipeline_opts o;
	char err[256];
	assert_int_equal(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)), 0);
	assert_int_equal(o.instrument.tick_value_cents, 500);
	slob_config_free(&cfg);
}

static char *write_tmp(const char *text)
{
	static char path[256];
	const char *dir = getenv("SLOB_TEST_TMP");
	snprintf(path, sizeof(path), "%s/test_config_%d.ini", dir ? dir : "/tmp", getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_ini_errors_name_file_and_line(void **state)
{
	struct slob_config cfg;
	char err[512];
	slob_config_init(&cfg);
	char *p = write_tmp("[risk]\nrisk_per_trade = 0.02\n\n[risk]\nbogus = 1\n");
	assert_int_equal(slob_config_load(&cfg, p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, ":5:"));
	assert_non_null(strstr(err, "unknown key 'bogus' in section [risk]"));
	slob_config_free(&cfg);

	slob_config_init(&cfg);
	p = write_tmp("[nosuch]\nx = 1\n");
	assert_int_equal(slob_config_load(&cfg, p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "unknown section [nosuch]"));
	slob_config_free(&cfg);

	/* a bad value is reported by the module, with the file line */
	slob_config_init(&cfg);
	p = write_tmp("[detector]\n\nconsol_max_range_pct = -1\n");
	assert_int_equal(slob_config_load(&cfg, p, err, sizeof(err)), 0);
	struct slob_pipeline_opts o;
	assert_true(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)) < 0);
	if (strstr(err, ":3: ") == NULL || strstr(err, "consol_max_range_pct") == NULL)
		fail_msg("unexpected message: %s", err);
	slob_config_free(&cfg);
	unlink(p);
}

static void test_precedence_and_redaction(void **state)
{
	struct slob_config cfg;
	char err[512];
	slob_config_init(&cfg);
	char *p = write_tmp("[risk]\nmax_position_size = 3\n[alert]\ntelegram_token = 123:SECRET\n");
	assert_int_equal(slob_config_load(&cfg, p, err, sizeof(err)), 0);
	assert_int_equal(slob_config_get_int(&cfg, "risk", "max_position_size"), 3);
	setenv("MAX_POSITION_SIZE", "2", 1);
	slob_config_apply_env(&cfg);
	unsetenv("MAX_POSITION_SIZE");
	assert_int_equal(slob_config_get_int(&cfg, "risk", "max_position_size"), 2);
	assert_int_equal(slob_config_set(&cfg, "risk.max_position_size=1", err, sizeof(err)), 0);
	assert_int_equal(slob_config_get_int(&cfg, "risk", "max_position_size"), 1);
	assert_int_equal(slob_config_set(&cfg, "risk.nope=1", err, sizeof(err)), -ENOENT);
	assert_int_equal(slob_config_set(&cfg, "garbage", err, sizeof(err)), -EINVAL);

	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	slob_config_dump(&cfg, m);
	fclose(m);
	assert_null(strstr(buf, "SECRET"));
	assert_non_null(strstr(buf, "telegram_token = ***"));
	assert_non_null(strstr(buf, "max_position_size = 1"));
	free(buf);
	slob_config_free(&cfg);
	unlink(p);
}

/* Calendar files named in the config file are found next to it; from --set
 * (or the environment) they stay relative to the working directory. */
static void test_file_paths_relative_to_the_file(void **state)
{
	(void)state;
	struct slob_config cfg;
	struct slob_pipeline_opts o;
	char err[512], want[700];
	slob_config_init(&cfg);
	char *p = write_tmp("[risk]\nholiday_file = cal/holidays.csv\nnews_file = /abs/news.csv\n");
	assert_int_equal(slob_config_load(&cfg, p, err, sizeof(err)), 0);
	assert_int_equal(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/cal/holidays.csv", cfg.dir);
	assert_string_equal(o.risk.holiday_file, want);
	assert_string_equal(o.risk.news_file, "/abs/news.csv");
	assert_int_equal(slob_config_set(&cfg, "risk.holiday_file=here.csv", err, sizeof(err)), 0);
	assert_int_equal(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)), 0);
	assert_string_equal(o.risk.holiday_file, "here.csv");
	slob_config_free(&cfg);
	unlink(p);
}

/* [instrument] names the contract the sessions put on the wire: symbol,
 * multiplier (= point_value), tick, month or roll rule; the older [tws]
 * spellings still work, and contradictions are refused. */
static void test_instrument_contract(void **state)
{
	(void)state;
	struct slob_config cfg;
	struct slob_pipeline_opts o;
	char err[512];
	slob_config_init(&cfg);
	assert_int_equal(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)), 0);
	assert_string_equal(o.tws.symbol, "NQ");
	assert_true(o.tws.multiplier == 20.0);
	assert_string_equal(o.tws.contract_month, "auto");
	assert_int_equal(o.tws.roll_days, 8);
	/* MNQ: what the sessions request is MNQ at 2 USD a point */
	assert_int_equal(slob_config_set(&cfg, "instrument.symbol=MNQ", err, sizeof(err)), 0);
	assert_int_equal(slob_config_set(&cfg, "instrument.multiplier=2", err, sizeof(err)), 0);
	assert_int_equal(slob_config_set(&cfg, "instrument.trading_class=MNQ", err, sizeof(err)), 0);
	assert_int_equal(slob_config_set(&cfg, "instrument.contract_month=202609", err, sizeof(err)), 0);
	assert_int_equal(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)), 0);
	assert_string_equal(o.tws.symbol, "MNQ");
	assert_string_equal(o.tws.trading_class, "MNQ");
	assert_true(o.tws.multiplier == 2.0);
	assert_true(o.instrument.point_value == 2.0); /* risk sizes with the same number */
	assert_int_equal(o.instrument.tick_value_cents, 50);
	assert_string_equal(o.tws.contract_month, "202609");
	/* both given and different: refused, naming both */
	assert_int_equal(slob_config_set(&cfg, "instrument.point_value=20", err, sizeof(err)), 0);
	assert_true(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "multiplier 2"));
	assert_non_null(strstr(err, "point_value 20"));
	assert_int_equal(slob_config_set(&cfg, "instrument.point_value=2", err, sizeof(err)), 0);
	/* the older spelling applies when [instrument] does not name a month */
	slob_config_free(&cfg);
	slob_config_init(&cfg);
	assert_int_equal(slob_config_set(&cfg, "tws.contract_month=202612", err, sizeof(err)), 0);
	assert_int_equal(slob_config_set(&cfg, "tws.roll_days=5", err, sizeof(err)), 0);
	assert_int_equal(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)), 0);
	assert_string_equal(o.tws.contract_month, "202612");
	assert_string_equal(o.instrument.contract_month, "202612");
	assert_int_equal(o.tws.roll_days, 5);
	assert_int_equal(slob_config_set(&cfg, "instrument.contract_month=202603", err, sizeof(err)), 0);
	assert_true(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "instrument.contract_month '202603' and tws.contract_month '202612'"));
	assert_int_equal(slob_config_set(&cfg, "instrument.contract_month=2026", err, sizeof(err)), 0);
	assert_true(slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "contract_month"));
	slob_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_modules),
		cmocka_unit_test(test_ini_errors_name_file_and_line),
		cmocka_unit_test(test_precedence_and_redaction),
		cmocka_unit_test(test_file_paths_relative_to_the_file),
		cmocka_unit_test(test_instrument_contract),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
