/* SPDX-License-Identifier: MIT */
/*
 * test_tz.c: the precomputed tz tables against known 2026 DST transitions
 * (US: 2026-03-08 and 2026-11-01; EU: 2026-03-29 and 2026-10-25), the
 * local-field arithmetic, slob_tz_to_utc (gap and overlap), the footer rule
 * for years past the explicit transitions, and load errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "engine/tz.h"

static struct slob_tz sto, nyc;

/* UTC ns of a UTC civil time. */
static int64_t utc(int y, unsigned mo, unsigned d, int h, int mi)
{
	return (slob_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * SLOB_NS_PER_SEC;
}

static int setup(void **state)
{
	(void)state;
	if (slob_tz_load(&sto, "Europe/Stockholm", 2024, 2028) != 0)
		return -1;
	if (slob_tz_load(&nyc, "America/New_York", 2024, 2028) != 0)
		return -1;
	return 0;
}

static void test_civil_roundtrip(void **state)
{
	(void)state;
	assert_int_equal(slob_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(slob_days_from_civil(2000, 3, 1), 11017);
	for (int64_t z = -800000; z < 800000; z += 97) {
		int y;
		unsigned m, d;
		slob_civil_from_days(z, &y, &m, &d);
		assert_int_equal(slob_days_from_civil(y, m, d), z);
	}
}

static void test_stockholm_2026(void **state)
{
	(void)state;
	struct slob_local l;
	/* 2026-03-29 01:00 UTC: CET -> CEST */
	assert_int_equal(slob_tz_offset(&sto, utc(2026, 3, 29, 0, 59)), 3600);
	assert_int_equal(slob_tz_offset(&sto, utc(2026, 3, 29, 1, 0)), 7200);
	assert_int_equal(slob_tz_offset(&sto, utc(2026, 3, 29, 1, 0) - 1), 3600);
	/* 2026-10-25 01:00 UTC: CEST -> CET */
	assert_int_equal(slob_tz_offset(&sto, utc(2026, 10, 25, 0, 59)), 7200);
	assert_int_equal(slob_tz_offset(&sto, utc(2026, 10, 25, 1, 0)), 3600);
	/* 2026-01-06 14:30 UTC is 15:30 Stockholm (STRATEGY.md s1 example) */
	slob_tz_local(&sto, utc(2026, 1, 6, 14, 30), &l);
	assert_int_equal(l.ymd, 20260106);
	assert_int_equal(l.minute, 15 * 60 + 30);
	assert_int_equal(l.wday, 2); /* Tuesday */
	assert_int_equal(l.offset_s, 3600);
	/* summer: 13:30 UTC is 15:30 CEST */
	slob_tz_local(&sto, utc(2026, 7, 1, 13, 30), &l);
	assert_int_equal(l.minute, 15 * 60 + 30);
	assert_int_equal(l.ymd, 20260701);
	/* date rolls at local midnight: 2026-07-01 22:30 UTC = 07-02 00:30 */
	slob_tz_local(&sto, utc(2026, 7, 1, 22, 30) + 5 * SLOB_NS_PER_SEC, &l);
	assert_int_equal(l.ymd, 20260702);
	assert_int_equal(l.minute, 30);
	assert_int_equal(l.second, 30 * 60 + 5);
	assert_int_equal(l.wday, 4); /* Thursday */
}

static void test_new_york_2026(void **state)
{
	(void)state;
	struct slob_local l;
	/* 2026-03-08 07:00 UTC: EST -> EDT */
	assert_int_equal(slob_tz_offset(&nyc, utc(2026, 3, 8, 6, 59)), -5 * 3600);
	assert_int_equal(slob_tz_offset(&nyc, utc(2026, 3, 8, 7, 0)), -4 * 3600);
	/* 2026-11-01 06:00 UTC: EDT -> EST */
	assert_int_equal(slob_tz_offset(&nyc, utc(2026, 11, 1, 5, 59)), -4 * 3600);
	assert_int_equal(slob_tz_offset(&nyc, utc(2026, 11, 1, 6, 0)), -5 * 3600);
	/* 09:30 NY in the US/EU DST mismatch week = 14:30 Stockholm */
	int64_t open = slob_tz_to_utc(&nyc, 20260309, 9 * 60 + 30);
	assert_true(open == utc(2026, 3, 9, 13, 30));
	slob_tz_local(&sto, open, &l);
	assert_int_equal(l.minute, 14 * 60 + 30);
	/* the normal case: 15:30 */
	open = slob_tz_to_utc(&nyc, 20260330, 9 * 60 + 30);
	slob_tz_local(&sto, open, &l);
	assert_int_equal(l.minute, 15 * 60 + 30);
	slob_tz_local(&nyc, utc(2026, 11, 1, 5, 30), &l); /* 01:30 EDT */
	assert_int_equal(l.minute, 90);
	slob_tz_local(&nyc, utc(2026, 11, 1, 6, 30), &l); /* 01:30 EST */
	assert_int_equal(l.minute, 90);
	assert_int_equal(l.offset_s, -5 * 3600);
	/* negative offsets across local midnight */
	slob_tz_local(&nyc, utc(2026, 1, 1, 3, 0), &l);
	assert_int_equal(l.ymd, 20251231);
	assert_int_equal(l.minute, 22 * 60);
}

static void test_to_utc_gap_and_overlap(void **state)
{
	(void)state;
	/* 02:30 on 2026-03-08 does not exist in New York: instant after the gap */
	assert_true(slob_tz_to_utc(&nyc, 20260308, 150) == utc(2026, 3, 8, 7, 0));
	/* 01:30 on 2026-11-01 happens twice: the first (EDT) */
	assert_true(slob_tz_to_utc(&nyc, 20261101, 90) == utc(2026, 11, 1, 5, 30));
	/* Stockholm 02:30 on 2026-03-29 skipped; on 2026-10-25 ambiguous */
	assert_true(slob_tz_to_utc(&sto, 20260329, 150) == utc(2026, 3, 29, 1, 0));
	assert_true(slob_tz_to_utc(&sto, 20261025, 150) == utc(2026, 10, 25, 0, 30));
	/* every minute of a year round-trips through local fields */
	struct slob_local l;
	for (int64_t t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0);
	     t += 7 * SLOB_NS_PER_MIN) {
		slob_tz_local(&sto, t, &l);
		int64_t back = slob_tz_to_utc(&sto, l.ymd, l.minute);
		/* ambiguous hour maps to the first instance */
		if (back != t)
			assert_true(back + 3600 * SLOB_NS_PER_SEC == t);
	}
}

static void test_matches_libc(void **state)
{
	(void)state;
	/* cross-check with localtime_r for a sweep of instants */
	setenv("TZ", "America/New_York", 1);
	tzset();
	struct slob_local l;
	for (int64_t s = 1767225600; s < 1767225600 + 366 * 86400; s += 3607) {
		struct tm tm;
		time_t tt = (time_t)s;
		localtime_r(&tt, &tm);
		slob_tz_local(&nyc, s * SLOB_NS_PER_SEC, &l);
		assert_int_equal(l.offset_s, tm.tm_gmtoff);
		assert_int_equal(l.minute, tm.tm_hour * 60 + tm.tm_min);
		assert_int_equal(l.wday, tm.tm_wday);
		assert_int_equal(l.ymd,
				 (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
	}
}

static void test_footer_rule_far_future(void **state)
{
	(void)state;
	/* Past the explicit transitions of fat files (2037) the footer applies. */
	struct slob_tz *tz = malloc(sizeof(*tz));
	assert_non_null(tz);
	assert_int_equal(slob_tz_load(tz, "America/New_York", 2040, 2041), 0);
	/* 2040: second Sunday of March is 03-11, first Sunday of November 11-04 */
	assert_int_equal(slob_tz_offset(tz, utc(2040, 3, 11, 6, 59)), -5 * 3600);
	assert_int_equal(slob_tz_offset(tz, utc(2040, 3, 11, 7, 0)), -4 * 3600);
	assert_int_equal(slob_tz_offset(tz, utc(2040, 11, 4, 5, 59)), -4 * 3600);
	assert_int_equal(slob_tz_offset(tz, utc(2040, 11, 4, 6, 0)), -5 * 3600);
	assert_int_equal(slob_tz_load(tz, "Europe/Stockholm", 2045, 2045), 0);
	/* last Sunday of March 2045 is 03-26, of October 10-29 */
	assert_int_equal(slob_tz_offset(tz, utc(2045, 3, 26, 0, 59)), 3600);
	assert_int_equal(slob_tz_offset(tz, utc(2045, 3, 26, 1, 0)), 7200);
	assert_int_equal(slob_tz_offset(tz, utc(2045, 10, 29, 1, 0)), 3600);
	/* clamps outside the range */
	assert_int_equal(slob_tz_offset(tz, utc(2000, 7, 1, 0, 0)), 3600);
	free(tz);
}

static void test_load_errors(void **state)
{
	(void)state;
	struct slob_tz *tz = malloc(sizeof(*tz));
	assert_int_equal(slob_tz_load(tz, "Nowhere/Atlantis", 2026, 2026), -ENOENT);
	assert_non_null(strstr(slob_tz_strerror(), "Nowhere/Atlantis"));
	assert_int_equal(slob_tz_load(tz, "../etc/passwd", 2026, 2026), -EINVAL);
	assert_int_equal(slob_tz_load(tz, "Europe/Stockholm", 2027, 2026), -EINVAL);
	assert_non_null(strstr(slob_tz_strerror(), "year range"));
	/* a non-TZif file */
	char dir[] = "/tmp/slob_tz_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/Bad", dir);
	FILE *f = fopen(path, "w");
	fputs("not a tz file at all, but long enough to have a header.........\n", f);
	fclose(f);
	setenv("TZDIR", dir, 1);
	assert_int_equal(slob_tz_load(tz, "Bad", 2026, 2026), -EINVAL);
	assert_non_null(strstr(slob_tz_strerror(), "not a TZif"));
	unsetenv("TZDIR");
	unlink(path);
	rmdir(dir);
	free(tz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_civil_roundtrip), cmocka_unit_test(test_stockholm_2026),
	    cmocka_unit_test(test_new_york_2026),   cmocka_unit_test(test_to_utc_gap_and_overlap),
	    cmocka_unit_test(test_matches_libc),    cmocka_unit_test(test_footer_rule_far_future),
	    cmocka_unit_test(test_load_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
