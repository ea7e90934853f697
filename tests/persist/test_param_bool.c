/* SPDX-License-Identifier: MIT */
/* test_param_bool.c: every module's boolean keys ([risk], [log], store.*)
 * go through the one slob_parse_bool: the same spellings accepted
 * (1/0, true/false, yes/no, on/off, any case), and the same refusal,
 * "<section key>: '<value>' is not a boolean (true/false)", naming the key
 * the way the module names its keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "engine/risk.h"
#include "persist/log.h"
#include "persist/store.h"

static const char *const yes[] = {"1", "true", "TRUE", "Yes", "on", "ON"};
static const char *const no[] = {"0", "false", "False", "NO", "off", "Off"};

static void test_risk(void **state)
{
	(void)state;
	struct slob_risk_params p;
	char err[256];
	slob_risk_params_default(&p);
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		p.min_one_contract = 0;
		assert_int_equal(slob_risk_param_set(&p, "min_one_contract", yes[i], err, sizeof(err)), 0);
		assert_int_equal(p.min_one_contract, 1);
		assert_int_equal(slob_risk_param_set(&p, "min_one_contract", no[i], err, sizeof(err)), 0);
		assert_int_equal(p.min_one_contract, 0);
	}
	assert_true(slob_risk_param_set(&p, "min_one_contract", "maybe", err, sizeof(err)) < 0);
	assert_string_equal(err, "[risk] min_one_contract: 'maybe' is not a boolean (true/false)");
}

static void test_log(void **state)
{
	(void)state;
	struct slob_log_params p;
	char err[256];
	slob_log_params_default(&p);
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		assert_int_equal(slob_log_param_set(&p, "stderr", yes[i], err, sizeof(err)), 0);
		assert_true(p.echo_stderr);
		assert_int_equal(slob_log_param_set(&p, "stderr", no[i], err, sizeof(err)), 0);
		assert_false(p.echo_stderr);
	}
	assert_true(slob_log_param_set(&p, "rotate_daily", "2", err, sizeof(err)) < 0);
	assert_string_equal(err, "[log] rotate_daily: '2' is not a boolean (true/false)");
}

static void test_store(void **state)
{
	(void)state;
	struct slob_store_params p;
	char err[256];
	slob_store_params_default(&p);
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		assert_int_equal(slob_store_param_set(&p, "auto_restore", yes[i], err, sizeof(err)), 0);
		assert_true(p.auto_restore);
		assert_int_equal(slob_store_param_set(&p, "auto_restore", no[i], err, sizeof(err)), 0);
		assert_false(p.auto_restore);
	}
	assert_true(slob_store_param_set(&p, "auto_restore", "", err, sizeof(err)) < 0);
	assert_string_equal(err, "store.auto_restore: '' is not a boolean (true/false)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_risk),
	    cmocka_unit_test(test_log),
	    cmocka_unit_test(test_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
