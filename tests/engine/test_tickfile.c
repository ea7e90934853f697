/* SPDX-License-Identifier: MIT */
/*
 * test_tickfile.c: field parsers, the tick CSV parser (headers, errors with
 * file:line, skip-and-count, rejected values, lines split across buffers),
 * the bar CSV parser (IB / pandas exports), and the binary format (round
 * trip through the writers and reader, truncation, corruption, unfinished
 * files).
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

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "engine/tickfile.h"
#include "engine/tz.h"

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("SLOB_TEST_TMP");
	snprintf(tmpdir, sizeof(tmpdir), "%s/tickfile_XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static const char *tpath(const char *name)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static int64_t T(const char *s)
{
	int64_t ns;
	const char *why;
	assert_int_equal(slob_parse_time(s, s + strlen(s), &ns, &why), 0);
	return ns;
}

static void test_parse_time(void **state)
{
	(void)state;
	const int64_t base = 1767709800LL * SLOB_NS_PER_SEC; /* 2026-01-06 14:30:00Z */
	assert_true(T("1767709800000000000") == base);
	assert_true(T("1767709800.25") == base + 250000000);
	assert_true(T("2026-01-06T14:30:00Z") == base);
	assert_true(T("2026-01-06 14:30:00") == base);
	assert_true(T("2026-01-06T15:30:00+01:00") == base);
	assert_true(T("2026-01-06T09:30:00-0500") == base);
	assert_true(T("2026-01-06T16:30:00+02") == base);
	assert_true(T("2026-01-06T14:30:00.123456789Z") == base + 123456789);
	assert_true(T("2026-01-06T14:30Z") == base);
	assert_true(T("20260106  14:30:00") == base);
	int64_t ns;
	const char *why = NULL;
	const char *bad[] = {"",
			     "abc",
			     "2026-13-01T00:00:00Z",
			     "2026-02-30T00:00:00Z",
			     "2026-01-06T24:00:00Z",
			     "2026-01-06T14:30:00 US/Eastern",
			     "2026-01-06",
			     "12345678901234567890",
			     "1.2.3",
			     "2026-01-06T14:30:00+99:00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(slob_parse_time(bad[i], bad[i] + strlen(bad[i]), &ns, &why),
				 -EINVAL);
		assert_non_null(why);
	}
}

static void test_parse_price(void **state)
{
	(void)state;
	int64_t t, tn = slob_tick_nano(0.25);
	const char *why;
	const char *s = "20000.25";
	assert_int_equal(slob_parse_price(s, s + strlen(s), tn, &t, &why), 0);
	assert_int_equal(t, 80001);
	s = "20000.13"; /* off grid: rounds to nearest (20000.25) */
	assert_int_equal(slob_parse_price(s, s + strlen(s), tn, &t, &why), 0);
	assert_int_equal(t, 80001);
	s = "20000.12";
	assert_int_equal(slob_parse_price(s, s + strlen(s), tn, &t, &why), 0);
	assert_int_equal(t, 80000);
	s = "-1.5";
	assert_int_equal(slob_parse_price(s, s + strlen(s), tn, &t, &why), 0);
	assert_int_equal(t, -6);
	s = "1e5";
	assert_int_equal(slob_parse_price(s, s + strlen(s), tn, &t, &why), -EINVAL);
	s = ".";
	assert_int_equal(slob_parse_price(s, s + strlen(s), tn, &t, &why), -EINVAL);
	char buf[32];
	slob_format_price(buf, sizeof(buf), 80001, tn);
	assert_string_equal(buf, "20000.25");
	slob_format_price(buf, sizeof(buf), 80000, tn);
	assert_string_equal(buf, "20000.00");
	slob_format_time_iso(buf, sizeof(buf), 1767709800LL * SLOB_NS_PER_SEC + 5);
	assert_string_equal(buf, "2026-01-06T14:30:00.000000005Z");
}

static void test_tickcsv_lines(void **state)
{
	(void)state;
	struct slob_tickcsv c;
	struct slob_tickcsv_opts o = {.name = "t.csv", .tick_size = 0.25};
	struct slob_tick t;
	assert_int_equal(slob_tickcsv_init(&c, &o), 0);
	const char *h = "timestamp,price,size";
	assert_int_equal(slob_tickcsv_line(&c, h, strlen(h), &t), 0);
	const char *l = "2026-01-06T14:30:00Z, 20000.25 ,3\r";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 1);
	assert_int_equal(t.px, 80001);
	assert_int_equal(t.size, 3);
	assert_int_equal(slob_tickcsv_line(&c, "", 0, &t), 0);
	assert_int_equal(slob_tickcsv_line(&c, "# note", 6, &t), 0);
	/* rejected values are counted, not errors */
	l = "2026-01-06T14:30:01Z,0,3";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	l = "2026-01-06T14:30:01Z,20000,0";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	l = "2026-01-06T14:29:00Z,20000,1"; /* 60 s backwards, tolerance 0 */
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	assert_int_equal(c.chk.rej[SLOB_TICKREJ_BAD_PRICE], 1);
	assert_int_equal(c.chk.rej[SLOB_TICKREJ_BAD_SIZE], 1);
	assert_int_equal(c.chk.rej[SLOB_TICKREJ_TS_BACKWARDS], 1);
	/* well-formed numbers no tick can hold: rejected by reason, not malformed */
	struct slob_tickcheck before = c.chk;
	const char *huge[] = {"2026-01-06T14:30:02Z,1000000000000.00,1", "2026-01-06T14:30:02Z,1e12,1",
			      "2026-01-06T14:30:02Z,inf,1",		 "2026-01-06T14:30:02Z,999999999.75,1",
			      "1767709802000000000,999999999.75,1"};
	for (unsigned i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
		assert_int_equal(slob_tickcsv_line(&c, huge[i], strlen(huge[i]), &t), 0);
	assert_int_equal(c.chk.rej[SLOB_TICKREJ_PRICE_RANGE] - before.rej[SLOB_TICKREJ_PRICE_RANGE], 5);
	l = "2026-01-06T14:30:02Z,nan,1";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	l = "2026-01-06T14:30:02Z,-1e12,1";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	assert_int_equal(c.chk.rej[SLOB_TICKREJ_BAD_PRICE] - before.rej[SLOB_TICKREJ_BAD_PRICE], 2);
	l = "2026-01-06T14:30:02Z,20000,1e12";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	l = "2026-01-06T14:30:02Z,20000,99999999999";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	assert_int_equal(c.chk.rej[SLOB_TICKREJ_BAD_SIZE] - before.rej[SLOB_TICKREJ_BAD_SIZE], 2);
	assert_int_equal(c.chk.first_where, 5); /* the first rejection: "...,0,3" on line 5 */
	c.line -= 9; /* the line numbers the checks below expect */
	/* malformed: stops with file:line */
	l = "2026-01-06T14:30:02Z,abc,1";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), -EINVAL);
	assert_non_null(strstr(c.err, "t.csv:8: price"));
	l = "1,2";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), -EINVAL);
	assert_non_null(strstr(c.err, "t.csv:9: expected 3 fields"));
	/* a header is only accepted on line 1 */
	assert_int_equal(slob_tickcsv_line(&c, h, strlen(h), &t), -EINVAL);
	assert_non_null(strstr(c.err, "t.csv:10: timestamp"));
	/* skip_bad counts instead */
	o.skip_bad = 1;
	assert_int_equal(slob_tickcsv_init(&c, &o), 0);
	l = "x,y,z";
	c.line = 5;
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	assert_int_equal(c.bad_lines, 1);
	/* tolerance */
	o.skip_bad = 0;
	o.backwards_tol_ns = 2 * SLOB_NS_PER_SEC;
	assert_int_equal(slob_tickcsv_init(&c, &o), 0);
	l = "1767709810000000000,1,1";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 1);
	l = "1767709808500000000,1,1";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 1);
	l = "1767709807000000000,1,1";
	assert_int_equal(slob_tickcsv_line(&c, l, strlen(l), &t), 0);
	o.tick_size = 0;
	assert_int_equal(slob_tickcsv_init(&c, &o), -EINVAL);
}

/* Feeding a buffer in pieces of any size gives the same ticks. */
static void test_tickcsv_feed_splits(void **state)
{
	(void)state;
	char text[8192];
	size_t len = (size_t)snprintf(text, sizeof(text), "timestamp,price,size\n");
	for (int i = 0; i < 200; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%lld,%d.%s,%d\n",
					1767709800000000000LL + i * 1000000LL, 20000 + i,
					(i & 1) ? "25" : "5", 1 + i % 7);
	len--; /* last line without newline */
	struct slob_tick ref[256], got[256];
	struct slob_tickcsv c;
	struct slob_tickcsv_opts o = {.name = "s.csv", .tick_size = 0.25};
	size_t used;
	slob_tickcsv_init(&c, &o);
	assert_int_equal(slob_tickcsv_feed(&c, text, len, 1, ref, 256, &used), 200);
	assert_int_equal(used, len);
	for (size_t piece = 1; piece < 70; piece += 7) {
		slob_tickcsv_init(&c, &o);
		unsigned k = 0;
		for (size_t pos = 0; pos < len;) {
			size_t n = len - pos < piece ? len - pos : piece;
			int eof = pos + n == len;
			size_t off = 0;
			while (off < n || (eof && c.carry_len)) {
				/* small output windows too */
				int r = slob_tickcsv_feed(&c, text + pos + off, n - off, eof,
							  got + k, 3, &used);
				assert_true(r >= 0);
				k += (unsigned)r;
				off += used;
				if (off >= n && !(eof && c.carry_len))
					break;
			}
			pos += n;
		}
		assert_int_equal(k, 200);
		assert_memory_equal(ref, got, sizeof(struct slob_tick) * 200);
	}
	/* over-long line */
	slob_tickcsv_init(&c, &o);
	char big[2000];
	memset(big, '1', sizeof(big));
	assert_int_equal(slob_tickcsv_feed(&c, big, sizeof(big), 0, got, 4, &used), -EINVAL);
	assert_non_null(strstr(c.err, "longer than"));
}

static void test_barcsv(void **state)
{
	(void)state;
	struct slob_barcsv c;
	struct slob_barcsv_opts o = {.name = "b.csv", .tick_size = 0.25};
	struct slob_bar b;
	assert_int_equal(slob_barcsv_init(&c, &o), 0);
	/* ib_insync util.df(...).to_csv(): index column, extra columns */
	const char *l = ",date,open,high,low,close,volume,average,barCount";
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), 0);
	l = "0,2026-01-06 14:30:00+00:00,20000.0,20010.5,19990.25,20005.0,1234.0,20001.1,99";
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), 1);
	assert_true(b.ts_ns == 1767709800LL * SLOB_NS_PER_SEC);
	assert_int_equal(b.open, 80000);
	assert_int_equal(b.high, 80042);
	assert_int_equal(b.low, 79961);
	assert_int_equal(b.close, 80020);
	assert_int_equal(b.volume, 1234);
	/* duplicate minute: rejected */
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), 0);
	assert_int_equal(c.bad_order, 1);
	/* high below close: rejected */
	l = "1,2026-01-06 14:31:00+00:00,20000,20000,19990,20005,1,0,1";
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), 0);
	assert_int_equal(c.bad_px, 1);
	/* not at a whole minute: malformed */
	l = "2,2026-01-06 14:32:30+00:00,20000,20000,19990,19995,1,0,1";
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), -EINVAL);
	assert_non_null(strstr(c.err, "b.csv:5: time: not the start of a minute"));
	/* positional, no header */
	assert_int_equal(slob_barcsv_init(&c, &o), 0);
	l = "20260106 14:30:00,20000,20001,19999,20000.5,10";
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), 1);
	l = "20260106 14:31:00,20000,20001,19999";
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), -EINVAL);
	assert_non_null(strstr(c.err, "b.csv:2:"));
	/* header missing a column */
	assert_int_equal(slob_barcsv_init(&c, &o), 0);
	l = "time,open,high,low,volume";
	assert_int_equal(slob_barcsv_line(&c, l, strlen(l), &b), -EINVAL);
	assert_non_null(strstr(c.err, "no 'close' column"));
}

static void test_barfile_load(void **state)
{
	(void)state;
	const char *p = tpath("bars.csv");
	write_file(p, "time,open,high,low,close,volume\n"
		      "2026-01-06T14:30:00Z,20000,20001,19999,20000.5,10\n"
		      "2026-01-06T14:31:00Z,20000.5,20003,20000,20002,11\n");
	struct slob_bar *bars = NULL;
	char err[256];
	struct slob_barcsv st;
	assert_int_equal(slob_barfile_load(p, NULL, &bars, &st, err, sizeof(err)), 2);
	assert_int_equal(bars[1].close, 80008);
	free(bars);
	write_file(p, "time,open,high,low,close,volume\n2026-01-06T14:30:00Z,x,1,1,1,1\n");
	assert_int_equal(slob_barfile_load(p, NULL, &bars, &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bars.csv:2: open"));
	assert_true(slob_barfile_load(tpath("missing.csv"), NULL, &bars, NULL, err, sizeof(err)) ==
		    -ENOENT);
	assert_non_null(strstr(err, "missing.csv"));
}

static void write_bin(const char *p, int n)
{
	struct slob_tickbin_writer *w;
	assert_int_equal(slob_tickbin_writer_open(&w, p, "NQ", 0.25), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(slob_tickbin_writer_append(w,
							    1767709800000000000LL + i * 1000000LL,
							    80000 + (i % 9), 1 + (uint32_t)i % 4),
				 0);
	assert_int_equal(slob_tickbin_writer_close(w), 0);
}

static void test_bin_roundtrip(void **state)
{
	(void)state;
	const char *p = tpath("ticks.bin");
	write_bin(p, 10000);
	struct slob_tickreader *r;
	struct slob_tick t;
	assert_int_equal(slob_tickreader_open(&r, p, SLOB_TICKFILE_AUTO, NULL), 0);
	assert_int_equal(slob_tickreader_format(r), SLOB_TICKFILE_BIN);
	assert_string_equal(slob_tickreader_header(r)->symbol, "NQ");
	assert_int_equal(slob_tickreader_header(r)->count, 10000);
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(slob_tickreader_next(r, &t), 1);
		assert_int_equal(t.seq, (uint64_t)i + 1);
		assert_int_equal(t.px, 80000 + i % 9);
		assert_true(t.ts_ns == 1767709800000000000LL + i * 1000000LL);
	}
	assert_int_equal(slob_tickreader_next(r, &t), 0);
	slob_tickreader_close(r);

	/* CSV writer -> reader gives the same ticks */
	const char *pc = tpath("ticks.csv");
	for (int iso = 0; iso < 2; iso++) {
		struct slob_tickcsv_writer *cw;
		assert_int_equal(slob_tickcsv_writer_open(&cw, pc, 0.25, iso), 0);
		for (int i = 0; i < 3000; i++)
			slob_tickcsv_writer_append(cw, 1767709800000000000LL + i * 1000001LL,
						   80000 + i, 2);
		assert_int_equal(slob_tickcsv_writer_close(cw), 0);
		assert_int_equal(slob_tickreader_open(&r, pc, SLOB_TICKFILE_AUTO, NULL), 0);
		assert_int_equal(slob_tickreader_format(r), SLOB_TICKFILE_CSV);
		for (int i = 0; i < 3000; i++) {
			assert_int_equal(slob_tickreader_next(r, &t), 1);
			assert_int_equal(t.px, 80000 + i);
			assert_true(t.ts_ns == 1767709800000000000LL + i * 1000001LL);
		}
		assert_int_equal(slob_tickreader_next(r, &t), 0);
		slob_tickreader_close(r);
	}
}

static void test_bin_damage(void **state)
{
	(void)state;
	const char *p = tpath("dmg.bin");
	struct slob_tickreader *r;
	write_bin(p, 1000);
	/* truncated */
	assert_int_equal(truncate(p, 64 + 999 * 16 + 3), 0);
	assert_int_equal(slob_tickreader_open(&r, p, SLOB_TICKFILE_AUTO, NULL), -EIO);
	assert_non_null(strstr(slob_tickfile_strerror(), "truncated"));
	/* flipped body byte */
	write_bin(p, 1000);
	FILE *f = fopen(p, "r+b");
	fseek(f, 64 + 16 * 500 + 9, SEEK_SET);
	fputc(0x55, f);
	fclose(f);
	assert_int_equal(slob_tickreader_open(&r, p, SLOB_TICKFILE_BIN, NULL), -EIO);
	assert_non_null(strstr(slob_tickfile_strerror(), "checksum"));
	/* flipped header byte */
	write_bin(p, 10);
	f = fopen(p, "r+b");
	fseek(f, 30, SEEK_SET);
	fputc('X', f);
	fclose(f);
	assert_int_equal(slob_tickreader_open(&r, p, SLOB_TICKFILE_BIN, NULL), -EINVAL);
	assert_non_null(strstr(slob_tickfile_strerror(), "header corrupted"));
	/* writer never closed */
	struct slob_tickbin_writer *w;
	unsigned char hb[64];
	struct slob_tickbin_hdr h = {.symbol = "NQ", .tick_size = 0.25, .count = UINT64_MAX};
	slob_tickbin_hdr_encode(&h, hb);
	(void)w;
	f = fopen(p, "wb");
	fwrite(hb, 1, 64, f);
	fclose(f);
	assert_int_equal(slob_tickreader_open(&r, p, SLOB_TICKFILE_BIN, NULL), -EIO);
	assert_non_null(strstr(slob_tickfile_strerror(), "never closed"));
	/* in-memory check */
	char err[256];
	struct slob_tickbin_hdr hh;
	assert_int_equal(slob_tickbin_check_mem(hb, 10, "m", &hh, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(slob_tickbin_check_mem(
			     "NOTATICKFILE-NOTATICKFILE-NOTATICKFILE-NOTATICKFILE-NOTATICKFILE", 64,
			     "m", &hh, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "magic"));
}

static void test_reader_csv_errors(void **state)
{
	(void)state;
	const char *p = tpath("bad.csv");
	struct slob_tickreader *r;
	struct slob_tick t;
	write_file(p,
		   "timestamp,price,size\n1767709800000000000,20000,1\n1767709800000000001,2x,1\n");
	assert_int_equal(slob_tickreader_open(&r, p, SLOB_TICKFILE_AUTO, NULL), 0);
	assert_int_equal(slob_tickreader_next(r, &t), 1);
	assert_int_equal(slob_tickreader_next(r, &t), -EINVAL);
	assert_non_null(strstr(slob_tickfile_strerror(), "bad.csv:3: price"));
	slob_tickreader_close(r);
	struct slob_tickcsv_opts o = {.tick_size = 0.25, .skip_bad = 1};
	assert_int_equal(slob_tickreader_open(&r, p, SLOB_TICKFILE_AUTO, &o), 0);
	assert_int_equal(slob_tickreader_next(r, &t), 1);
	assert_int_equal(slob_tickreader_next(r, &t), 0);
	assert_int_equal(slob_tickreader_bad_lines(r), 1);
	slob_tickreader_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_parse_price),
	    cmocka_unit_test(test_tickcsv_lines),
	    cmocka_unit_test(test_tickcsv_feed_splits),
	    cmocka_unit_test(test_barcsv),
	    cmocka_unit_test(test_barfile_load),
	    cmocka_unit_test(test_bin_roundtrip),
	    cmocka_unit_test(test_bin_damage),
	    cmocka_unit_test(test_reader_csv_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
