/* SPDX-License-Identifier: MIT */
/* test_summary_json.c: `slobd replay --json` prints the summary through
 * jansson: one line that parses back, every key in its documented order,
 * counts as integers (up to 2^63-1), P&L as 2-place numbers (negative and
 * whole ones too), seconds to 6 places, rates as whole numbers, the digest
 * as 16 hex digits, and one rejected_by entry per reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>
#include <jansson.h>

#include "engine/pipeline.h"

static json_t *print_parse(const struct slob_pipeline_summary *s, char **text)
{
	struct slob_instrument in;
	memset(&in, 0, sizeof(in));
	size_t len = 0;
	FILE *f = open_memstream(text, &len);
	assert_non_null(f);
	slob_pipeline_summary_print(s, &in, f, true);
	fclose(f);
	assert_true(len > 2 && (*text)[len - 1] == '\n');
	assert_null(memchr(*text, '\n', len - 1)); /* one line */
	json_error_t e;
	json_t *j = json_loads(*text, 0, &e);
	if (j == NULL)
		fail_msg("summary is not JSON (%s): %s", e.text, *text);
	return j;
}

static void test_keys_and_values(void **state)
{
	(void)state;
	struct slob_pipeline_summary s;
	memset(&s, 0, sizeof(s));
	s.ticks = 47538;
	s.bars = 6900;
	s.brackets = 20;
	s.trades = 19;
	s.realised_cents = -114250;
	s.equity_cents = 5000000;
	s.digest = 0x96c7c1c94784e942ull;
	s.seconds = 0.1234567;
	s.hot_seconds = 2.0;
	s.lat_count = 20;
	s.lat_max = INT64_MAX;
	s.rejected = 3;
	s.rejected_by[0] = 1;
	s.rejected_by[SLOB_TICKREJ_N - 1] = 2;
	char *text = NULL;
	json_t *j = print_parse(&s, &text);
	static const char *const keys[] = {
	    "ticks", "bars", "setups", "setups_short", "setups_long", "invalidated", "orders",
	    "fills", "trades", "pnl", "equity", "digest", "seconds", "ticks_per_s", "hot_seconds",
	    "hot_ticks_per_s", "latency_ns", "peak_ring_fill", "cold_records", "cold_dropped",
	    "live_candidates_peak", "duplicate_levels", "rejected_ticks", "rejected_by", "reanchors"};
	size_t nk = sizeof(keys) / sizeof(keys[0]);
	assert_int_equal(json_object_size(j), nk);
	/* order as printed: each key appears after the previous one */
	const char *at = text;
	for (size_t i = 0; i < nk; i++) {
		char q[64];
		snprintf(q, sizeof(q), "\"%s\":", keys[i]);
		const char *p = strstr(at, q);
		if (p == NULL)
			fail_msg("key %s missing or out of order: %s", keys[i], text);
		at = p;
	}
	assert_int_equal(json_integer_value(json_object_get(j, "ticks")), 47538);
	assert_int_equal(json_integer_value(json_object_get(j, "orders")), 20);
	assert_true(json_is_real(json_object_get(j, "pnl")));
	assert_true(json_real_value(json_object_get(j, "pnl")) == -1142.5);
	assert_true(json_is_real(json_object_get(j, "equity")));
	assert_true(json_real_value(json_object_get(j, "equity")) == 50000.0);
	assert_string_equal(json_string_value(json_object_get(j, "digest")), "96c7c1c94784e942");
	assert_true(json_real_value(json_object_get(j, "seconds")) == 0.123457);
	assert_true(json_is_integer(json_object_get(j, "ticks_per_s")));
	assert_int_equal(json_integer_value(json_object_get(j, "ticks_per_s")), 385058);
	assert_int_equal(json_integer_value(json_object_get(j, "hot_ticks_per_s")), 23769);
	json_t *lat = json_object_get(j, "latency_ns");
	assert_int_equal(json_integer_value(json_object_get(lat, "count")), 20);
	assert_int_equal(json_integer_value(json_object_get(lat, "max")), INT64_MAX);
	json_t *rb = json_object_get(j, "rejected_by");
	assert_int_equal(json_object_size(rb), SLOB_TICKREJ_N);
	assert_int_equal(json_integer_value(json_object_get(rb, slob_tickrej_name(0))), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(rb, slob_tickrej_name(SLOB_TICKREJ_N - 1))), 2);
	json_decref(j);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_and_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
