/* SPDX-License-Identifier: MIT */
/*
 * test_calendar.c: holiday file and news calendar parsing (good files, every
 * kind of bad line with its file:line message), blackout window edges and
 * merging, DST-correct conversion of New York event times, and the shipped
 * example files under examples/.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs the headers above */
#include <cmocka.h>

#include "engine/calendar.h"

static struct slob_tz ny;

static int64_t utc(int y, unsigned mo, unsigned d, int h, int mi)
{
	return (slob_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * SLOB_NS_PER_SEC;
}

static int setup(void **state)
{
	(void)state;
	return slob_tz_load(&ny, "America/New_York", 2024, 2028) == 0 ? 0 : -1;
}

static void test_parse_date_time(void **state)
{
	(void)state;
	int32_t v;
	assert_int_equal(slob_calendar_parse_date("2026-11-26", &v), 0);
	assert_int_equal(v, 20261126);
	assert_int_equal(slob_calendar_parse_date("2028-02-29", &v), 0);
	assert_int_equal(slob_calendar_parse_date("2026-02-29", &v), -EINVAL);
	assert_int_equal(slob_calendar_parse_date("2026-13-01", &v), -EINVAL);
	assert_int_equal(slob_calendar_parse_date("2026-1-01", &v), -EINVAL);
	assert_int_equal(slob_calendar_parse_date("2026-01-01x", &v), -EINVAL);
	assert_int_equal(slob_calendar_parse_hhmm("13:00", &v), 0);
	assert_int_equal(v, 780);
	assert_int_equal(slob_calendar_parse_hhmm("24:00", &v), 0);
	assert_int_equal(v, 1440);
	assert_int_equal(slob_calendar_parse_hhmm("24:01", &v), -EINVAL);
	assert_int_equal(slob_calendar_parse_hhmm("9:30", &v), -EINVAL);
	assert_int_equal(slob_calendar_parse_hhmm("09:60", &v), -EINVAL);
}

static void test_holidays(void **state)
{
	(void)state;
	struct slob_calendar cal;
	char err[256] = "";
	slob_calendar_init(&cal);
	const char *text = "# US equity index futures, 2026\n"
			   "\n"
			   "2026-12-25 Christmas\r\n"
			   "2026-11-26   Thanksgiving   # comment\n"
			   "2026-11-27 13:00 Day after Thanksgiving (early close)\n"
			   "2026-01-01\n";
	assert_int_equal(slob_calendar_parse_holidays(&cal, text, "h.txt", err, sizeof(err)), 4);
	assert_int_equal(cal.nholidays, 4);
	const struct slob_holiday *h = slob_calendar_holiday(&cal, 20261126);
	assert_non_null(h);
	assert_int_equal(h->close_minute, -1);
	assert_string_equal(h->name, "Thanksgiving");
	h = slob_calendar_holiday(&cal, 20261127);
	assert_non_null(h);
	assert_int_equal(h->close_minute, 13 * 60);
	assert_non_null(slob_calendar_holiday(&cal, 20260101));
	assert_non_null(slob_calendar_holiday(&cal, 20261225));
	assert_null(slob_calendar_holiday(&cal, 20261128));
	assert_null(slob_calendar_holiday(&cal, 20250101));
	/* a later line for the same date replaces the earlier one */
	assert_int_equal(
	    slob_calendar_parse_holidays(&cal, "2026-11-26 12:00 x\n", "h2", err, sizeof(err)), 1);
	assert_int_equal(cal.nholidays, 4);
	assert_int_equal(slob_calendar_holiday(&cal, 20261126)->close_minute, 720);
	slob_calendar_destroy(&cal);
	slob_calendar_destroy(NULL);
}

static void test_holidays_bad_lines(void **state)
{
	(void)state;
	struct slob_calendar cal;
	char err[256];
	slob_calendar_init(&cal);
	assert_int_equal(slob_calendar_parse_holidays(&cal, "2026-01-01\n26-01-02 x\n", "h.txt",
						      err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "h.txt:2:"));
	assert_non_null(strstr(err, "bad date"));
	assert_int_equal(
	    slob_calendar_parse_holidays(&cal, "2026-11-27 25:00 x\n", "h.txt", err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "h.txt:1: bad early-close time"));
	slob_calendar_destroy(&cal);
	char path[64];
	snprintf(path, sizeof(path), "/nonexistent/holidays.txt");
	slob_calendar_init(&cal);
	assert_int_equal(slob_calendar_load_holidays(&cal, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/holidays.txt"));
	slob_calendar_destroy(&cal);
}

static void test_news_windows_and_dst(void **state)
{
	(void)state;
	struct slob_calendar cal;
	char err[256] = "";
	slob_calendar_init(&cal);
	const char *text = "date,time,impact,name\n"
			   "2026-03-18,14:00,HIGH,FOMC rate decision\n" /* EDT: 18:00 UTC */
			   "2026-12-04,08:30,HIGH,Nonfarm payrolls\n"	/* EST: 13:30 UTC */
			   "2026-12-04,08:45,HIGH,Second event\n"	/* overlaps: merged */
			   "2026-06-10,08:30,LOW,Minor data\n"		/* below min impact */
			   "2026-07-02,all-day,HIGH,Holiday-ish day\n";
	int n = slob_calendar_parse_news(&cal, text, "n.csv", &ny, 30, 30, 3, err, sizeof(err));
	assert_int_equal(n, 4);
	assert_int_equal(cal.nevents, 5);
	assert_int_equal(cal.nnews, 3); /* the two December events merged */
	int64_t fomc = utc(2026, 3, 18, 18, 0);
	int64_t s = SLOB_NS_PER_SEC;
	assert_null(slob_calendar_news_at(&cal, fomc - 30 * 60 * s - 1));
	assert_non_null(slob_calendar_news_at(&cal, fomc - 30 * 60 * s));
	assert_string_equal(slob_calendar_news_at(&cal, fomc)->name, "FOMC rate decision");
	assert_non_null(slob_calendar_news_at(&cal, fomc + 30 * 60 * s - 1));
	assert_null(slob_calendar_news_at(&cal, fomc + 30 * 60 * s));
	int64_t nfp = utc(2026, 12, 4, 13, 30);
	assert_non_null(slob_calendar_news_at(&cal, nfp - 30 * 60 * s));
	assert_non_null(slob_calendar_news_at(&cal, nfp + 44 * 60 * s)); /* inside the 2nd */
	assert_null(slob_calendar_news_at(&cal, nfp + 45 * 60 * s));
	assert_null(slob_calendar_news_at(&cal, utc(2026, 6, 10, 12, 30)));
	/* all-day: local 00:00 (04:00 UTC in July) minus 30 min .. next 00:00 plus 30 min */
	assert_null(slob_calendar_news_at(&cal, utc(2026, 7, 2, 3, 30) - 1));
	assert_non_null(slob_calendar_news_at(&cal, utc(2026, 7, 2, 3, 30)));
	assert_non_null(slob_calendar_news_at(&cal, utc(2026, 7, 3, 4, 29)));
	assert_null(slob_calendar_news_at(&cal, utc(2026, 7, 3, 4, 30)));
	slob_calendar_destroy(&cal);
}

static void test_news_bad_lines(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"2026-03-18,14:00,HIGH\n", "n.csv:1: expected 4 fields"},
	    {"2026-3-18,14:00,HIGH,x\n", "n.csv:1: field date"},
	    {"# c\n2026-03-18,2pm,HIGH,x\n", "n.csv:2: field time"},
	    {"2026-03-18,14:00,URGENT,x\n", "n.csv:1: field impact"},
	    {"2026-03-18,14:00,HIGH,\n", "n.csv:1: field name"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct slob_calendar cal;
		char err[256] = "";
		slob_calendar_init(&cal);
		assert_int_equal(slob_calendar_parse_news(&cal, cases[i].text, "n.csv", &ny, 5, 5,
							  1, err, sizeof(err)),
				 -EINVAL);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].want);
		slob_calendar_destroy(&cal);
	}
}

static void test_example_files(void **state)
{
	(void)state;
	const char *src = getenv("SLOB_SOURCE_DIR");
	char path[1024], err[256] = "";
	struct slob_calendar cal;
	if (src == NULL)
		skip();
	slob_calendar_init(&cal);
	snprintf(path, sizeof(path), "%s/examples/holidays.txt", src);
	int n = slob_calendar_load_holidays(&cal, path, err, sizeof(err));
	if (n < 0)
		fail_msg("%s", err);
	assert_true(n >= 10);
	assert_non_null(slob_calendar_holiday(&cal, 20261126)); /* Thanksgiving 2026 */
	snprintf(path, sizeof(path), "%s/examples/news.csv", src);
	n = slob_calendar_load_news(&cal, path, &ny, 120, 120, 3, err, sizeof(err));
	if (n < 0)
		fail_msg("%s", err);
	assert_true(n >= 5);
	slob_calendar_destroy(&cal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_date_time),    cmocka_unit_test(test_holidays),
	    cmocka_unit_test(test_holidays_bad_lines), cmocka_unit_test(test_news_windows_and_dst),
	    cmocka_unit_test(test_news_bad_lines),     cmocka_unit_test(test_example_files),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
