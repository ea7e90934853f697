/* SPDX-License-Identifier: MIT */
/*
 * test_ingest.c: the replay source stages. Binary and CSV files through
 * io_uring (skipped if unavailable) and through the pread fallback, with
 * small buffers so lines and reads straddle buffer edges; both rings get
 * every tick with seq from 1 and recv_ns set, then END; rejected ticks are
 * counted; a malformed line stops with file:line after publishing the ticks
 * before it; a corrupted binary fails init; pacing; backpressure; the bar
 * file source; and ingest + candles end to end.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "engine/candles.h"
#include "engine/ingest.h"
#include "engine/tz.h"

#define T0 1767709800000000000LL

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("SLOB_TEST_TMP");
	snprintf(tmpdir, sizeof(tmpdir), "%s/ingest_XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static const char *tpath(const char *name)
{
	static char p[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

/* n ticks 7 ms apart; every 100th has price 0 (rejected). */
static void make_files(const char *bin, const char *csv, int n)
{
	struct slob_tickbin_writer *w;
	struct slob_tickcsv_writer *c;
	assert_int_equal(slob_tickbin_writer_open(&w, bin, "NQ", 0.25), 0);
	assert_int_equal(slob_tickcsv_writer_open(&c, csv, 0.25, 0), 0);
	for (int i = 0; i < n; i++) {
		int32_t px = i % 100 == 99 ? 0 : 80000 + (i * 7919) % 113;
		slob_tickbin_writer_append(w, T0 + i * 7000000LL, px, 1 + (uint32_t)i % 5);
		slob_tickcsv_writer_append(c, T0 + i * 7000000LL, px, 1 + (uint32_t)i % 5);
	}
	assert_int_equal(slob_tickbin_writer_close(w), 0);
	assert_int_equal(slob_tickcsv_writer_close(c), 0);
}

struct run {
	struct slob_tick *out, *tap;
	unsigned nout, ntap;
	int rc;
};

static void run_ingest(struct slob_ingest_params *p, int with_tap, unsigned ring_cap, struct run *r,
		       unsigned max)
{
	slob_ring_t out, tap;
	struct slob_ingest ing;
	assert_int_equal(slob_ring_init(&out, "out", ring_cap, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&tap, "tap", ring_cap, sizeof(struct slob_tick)), 0);
	int rc = slob_ingest_init(&ing, p, &out, with_tap ? &tap : NULL);
	if (rc)
		fprintf(stderr, "init: %s\n", slob_ingest_error(&ing));
	assert_int_equal(rc, 0);
	memset(r, 0, sizeof(*r));
	r->out = calloc(max, sizeof(struct slob_tick));
	r->tap = calloc(max, sizeof(struct slob_tick));
	for (long i = 0; i < 10000000 && !slob_ingest_done(&ing); i++) {
		rc = slob_ingest_poll(&ing);
		if (rc < 0) {
			r->rc = rc;
			break;
		}
		while (r->nout < max && slob_ring_pop_spsc(&out, &r->out[r->nout]))
			r->nout++;
		while (r->ntap < max && slob_ring_pop_spsc(&tap, &r->tap[r->ntap]))
			r->ntap++;
	}
	while (r->nout < max && slob_ring_pop_spsc(&out, &r->out[r->nout]))
		r->nout++;
	if (r->rc == 0)
		assert_true(slob_ingest_done(&ing));
	if (!with_tap)
		assert_int_equal(r->ntap, 0);
	/* reject counters land in the stage's reasons */
	if (r->rc == 0)
		assert_int_equal(ing.stage.stats->reasons[SLOB_INGEST_R_BAD_PX],
				 p->skip_bad ? 0
				 : r->nout   ? (r->nout - 1) / 99
					     : 0);
	slob_ingest_destroy(&ing);
	slob_ring_destroy(&out);
	slob_ring_destroy(&tap);
}

static void check_ticks(const struct run *r, int n, int with_tap)
{
	int want = n - n / 100; /* rejected */
	assert_int_equal(r->nout, want + 1);
	int i = 0;
	for (int k = 0; k < want; k++, i++) {
		if (i % 100 == 99)
			i++;
		const struct slob_tick *t = &r->out[k];
		assert_int_equal(t->seq, (uint64_t)k + 1);
		assert_true(t->ts_ns == T0 + i * 7000000LL);
		assert_int_equal(t->px, 80000 + (i * 7919) % 113);
		assert_int_equal(t->size, 1 + (uint32_t)i % 5);
		assert_true(t->recv_ns > 0);
		assert_int_equal(t->flags, 0);
	}
	assert_int_equal(r->out[want].flags, SLOB_TICK_END);
	if (with_tap) {
		assert_int_equal(r->ntap, r->nout);
		assert_memory_equal(r->out, r->tap, sizeof(struct slob_tick) * r->nout);
	}
}

static int uring_available(void)
{
	struct io_uring ring;
	if (io_uring_queue_init(4, &ring, 0) < 0)
		return 0;
	io_uring_queue_exit(&ring);
	return 1;
}

static void run_formats(int use_pread)
{
	const int n = 20000;
	const char *bin = tpath("a.bin"), *csv = tpath("a.csv");
	make_files(bin, csv, n);
	struct slob_ingest_params p;
	struct run r;
	for (int f = 0; f < 2; f++) {
		slob_ingest_params_default(&p);
		snprintf(p.path, sizeof(p.path), "%s", f ? csv : bin);
		p.buf_kb = 4; /* many reads; CSV lines straddle buffers */
		p.depth = 3;
		p.batch = 100;
		p.use_pread = use_pread;
		run_ingest(&p, 1, 1024, &r, n + 10);
		assert_int_equal(r.rc, 0);
		check_ticks(&r, n, 1);
		free(r.out);
		free(r.tap);
	}
}

static void test_uring_bin_and_csv(void **state)
{
	(void)state;
	if (!uring_available())
		skip();
	run_formats(0);
}

static void test_pread_bin_and_csv(void **state)
{
	(void)state;
	run_formats(1);
}

static void test_backpressure_no_tap(void **state)
{
	(void)state;
	const int n = 5000;
	const char *bin = tpath("b.bin"), *csv = tpath("b.csv");
	make_files(bin, csv, n);
	struct slob_ingest_params p;
	struct run r;
	slob_ingest_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", bin);
	run_ingest(&p, 0, 16, &r, n + 10); /* 15-slot ring */
	check_ticks(&r, n, 0);
	free(r.out);
	free(r.tap);
}

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_malformed_csv_stops(void **state)
{
	(void)state;
	const char *p1 = tpath("bad.csv");
	write_text(p1, "timestamp,price,size\n"
		       "1767709800000000000,20000,1\n"
		       "1767709800100000000,20000.25,2\n"
		       "1767709800200000000,20000.5\n"
		       "1767709800300000000,20000.5,1\n");
	struct slob_ingest_params p;
	struct run r;
	slob_ingest_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", p1);
	slob_ring_t out;
	struct slob_ingest ing;
	assert_int_equal(slob_ring_init(&out, "out", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ingest_init(&ing, &p, &out, NULL), 0);
	int rc = 0;
	for (int i = 0; i < 100 && rc >= 0; i++)
		rc = slob_ingest_poll(&ing);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(slob_ingest_error(&ing), "bad.csv:4: expected 3 fields"));
	assert_int_equal(slob_ring_size(&out), 2);	   /* the two good ticks, no END */
	assert_int_equal(slob_ingest_poll(&ing), -EINVAL); /* stays failed */
	slob_ingest_destroy(&ing);
	slob_ring_destroy(&out);
	/* skip_bad: counted, the rest goes through */
	p.skip_bad = 1;
	run_ingest(&p, 0, 64, &r, 16);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.nout, 4);
	free(r.out);
	free(r.tap);
}

static void test_bad_binary_fails_init(void **state)
{
	(void)state;
	const char *bin = tpath("c.bin"), *csv = tpath("c.csv");
	make_files(bin, csv, 1000);
	FILE *f = fopen(bin, "r+b");
	fseek(f, 64 + 16 * 10 + 2, SEEK_SET);
	fputc(0x7f, f);
	fclose(f);
	struct slob_ingest_params p;
	slob_ingest_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", bin);
	slob_ring_t out;
	struct slob_ingest ing;
	assert_int_equal(slob_ring_init(&out, "out", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ingest_init(&ing, &p, &out, NULL), -EIO);
	assert_non_null(strstr(slob_ingest_error(&ing), "checksum"));
	slob_ingest_destroy(&ing);
	assert_int_equal(truncate(bin, 64 + 16 * 500), 0);
	assert_int_equal(slob_ingest_init(&ing, &p, &out, NULL), -EIO);
	assert_non_null(strstr(slob_ingest_error(&ing), "truncated"));
	slob_ingest_destroy(&ing);
	assert_int_equal(slob_ring_size(&out), 0);
	/* missing file, wrong tick size */
	snprintf(p.path, sizeof(p.path), "%s", tpath("nope.bin"));
	assert_int_equal(slob_ingest_init(&ing, &p, &out, NULL), -ENOENT);
	assert_non_null(strstr(slob_ingest_error(&ing), "nope.bin"));
	slob_ingest_destroy(&ing);
	make_files(bin, csv, 10);
	snprintf(p.path, sizeof(p.path), "%s", bin);
	p.tick_size = 0.5;
	assert_int_equal(slob_ingest_init(&ing, &p, &out, NULL), -EINVAL);
	assert_non_null(strstr(slob_ingest_error(&ing), "tick size"));
	slob_ingest_destroy(&ing);
	slob_ring_destroy(&out);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void test_pacing(void **state)
{
	(void)state;
	/* 1000 ticks 7 ms apart span 6.993 s of market time; x100 -> ~70 ms */
	const char *bin = tpath("d.bin"), *csv = tpath("d.csv");
	make_files(bin, csv, 1000);
	struct slob_ingest_params p;
	struct run r;
	slob_ingest_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", bin);
	p.pace = 100;
	int64_t t0 = now_ns();
	run_ingest(&p, 0, 2048, &r, 1100);
	int64_t el = now_ns() - t0;
	assert_true(el >= 65000000LL);
	check_ticks(&r, 1000, 0);
	/* recv_ns follows the market clock / 100 */
	int64_t span = r.out[r.nout - 2].recv_ns - r.out[0].recv_ns;
	assert_true(span >= 65000000LL);
	free(r.out);
	free(r.tap);
	struct slob_ingest_params q;
	char err[128];
	slob_ingest_params_default(&q);
	assert_int_equal(slob_ingest_param_set(&q, "pace", "-1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pace"));
	assert_int_equal(slob_ingest_param_set(&q, "depth", "65", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_ingest_param_set(&q, "io", "pread", err, sizeof(err)), 0);
	assert_int_equal(q.use_pread, 1);
	assert_int_equal(slob_ingest_param_set(&q, "bogus", "1", err, sizeof(err)), -ENOENT);
	assert_int_equal(slob_ingest_params_validate(&q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "path"));
}

static void test_ingest_plus_candles(void **state)
{
	(void)state;
	const int n = 30000; /* 7 ms apart: 210 s -> minutes 0..3 */
	const char *bin = tpath("e.bin"), *csv = tpath("e.csv");
	make_files(bin, csv, n);
	struct slob_ingest_params p;
	slob_ingest_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", csv);
	slob_ring_t ticks, bars;
	struct slob_ingest ing;
	struct slob_candles c;
	assert_int_equal(slob_ring_init(&ticks, "ticks", 1024, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&bars, "bars", 64, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_ingest_init(&ing, &p, &ticks, NULL), 0);
	assert_int_equal(slob_candles_init(&c, NULL, &ticks, &bars, NULL), 0);
	struct slob_bar b[16];
	unsigned nb = 0;
	while (!slob_candles_done(&c)) {
		assert_true(slob_ingest_poll(&ing) >= 0);
		slob_candles_poll(&c);
		while (nb < 16 && slob_ring_pop_spsc(&bars, &b[nb]))
			nb++;
	}
	while (nb < 16 && slob_ring_pop_spsc(&bars, &b[nb]))
		nb++;
	/* T0 is a whole minute; 210 s of ticks -> 4 bars + END */
	assert_int_equal(nb, 5);
	assert_true(b[0].ts_ns == T0);
	assert_int_equal(b[4].flags, SLOB_BAR_END);
	uint64_t vol = 0;
	for (int i = 0; i < 4; i++)
		vol += b[i].volume;
	assert_int_equal(b[3].last_seq, (uint64_t)(n - n / 100));
	assert_int_equal(b[4].last_seq, b[3].last_seq);
	assert_true(vol > 0);
	slob_ingest_destroy(&ing);
	slob_ring_destroy(&ticks);
	slob_ring_destroy(&bars);
}

/*
 * Rejected ticks in a binary file: one record stamped in 2090 and a run of
 * 100 zero prices. Counted by reason in the stage's slots, the first one
 * named by record index, the run alerted through the cold queue (not once
 * per tick), and the ticks around them published; with strict the first
 * rejection stops the stage with -ERANGE and says where and why.
 */
static void test_rejects_strict_alert(void **state)
{
	(void)state;
	const char *bin = tpath("rej.bin");
	struct slob_tickbin_writer *w;
	assert_int_equal(slob_tickbin_writer_open(&w, bin, "NQ", 0.25), 0);
	for (int i = 0; i < 2000; i++) {
		int64_t ts = i == 499 ? 3786912000LL * SLOB_NS_PER_SEC : T0 + i * SLOB_NS_PER_SEC;
		int32_t px = i >= 999 && i < 1099 ? 0 : 80000 + i % 7;
		assert_int_equal(slob_tickbin_writer_append(w, ts, px, 1), 0);
	}
	assert_int_equal(slob_tickbin_writer_close(w), 0);
	for (int strict = 0; strict <= 1; strict++) {
		struct slob_ingest_params p;
		slob_ingest_params_default(&p);
		snprintf(p.path, sizeof(p.path), "%s", bin);
		p.strict = strict;
		slob_ring_t out, cring;
		struct slob_coldq q;
		struct slob_ingest ing;
		assert_int_equal(slob_ring_init(&out, "out", 4096, sizeof(struct slob_tick)), 0);
		assert_int_equal(slob_ring_init(&cring, "cold", 64, sizeof(struct slob_cold)), 0);
		assert_int_equal(slob_coldq_init(&q, &cring, 0), 0);
		assert_int_equal(slob_ingest_init(&ing, &p, &out, NULL), 0);
		ing.cold = &q;
		int rc = 0;
		unsigned n = 0, alerts = 0;
		struct slob_tick t;
		struct slob_cold c;
		for (long i = 0; i < 1000000 && !slob_ingest_done(&ing); i++) {
			if ((rc = slob_ingest_poll(&ing)) < 0)
				break;
			while (slob_ring_pop_spsc(&out, &t))
				n += !(t.flags & SLOB_TICK_END);
			while (slob_ring_pop_spsc(&cring, &c)) {
				assert_int_equal(c.type, SLOB_COLD_ALERT);
				assert_non_null(strstr(c.u.text.text, "ticks rejected"));
				alerts++;
			}
		}
		const struct slob_tickcheck *k = slob_ingest_check(&ing);
		if (strict) {
			assert_int_equal(rc, -ERANGE);
			assert_non_null(strstr(slob_ingest_error(&ing),
					       "rej.bin: record 500: tick rejected (strict): ts_range "
					       "(time 2090-01-01T00:00:00.000000000Z"));
		} else {
			assert_true(rc >= 0);
			assert_int_equal(n, 2000 - 1 - 100);
			assert_int_equal(ing.stage.stats->reasons[SLOB_INGEST_R_TS_RANGE], 1);
			assert_int_equal(ing.stage.stats->reasons[SLOB_INGEST_R_BAD_PX], 100);
			assert_int_equal(k->first_where, 500);
			assert_int_equal(k->first_reason, SLOB_TICKREJ_TS_RANGE);
			assert_int_equal(alerts, 1); /* 100 rejects in a row: one alert */
			assert_string_equal(slob_ingest_reason_name(SLOB_INGEST_R_PX_RANGE),
					    "price_range");
		}
		slob_ingest_destroy(&ing);
		slob_coldq_destroy(&q);
		slob_ring_destroy(&cring);
		slob_ring_destroy(&out);
	}
}

static void test_destroy_zeroed(void **state)
{
	(void)state;
	/* a zeroed (never initialised) stage must not close descriptor 0 */
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	struct slob_ingest *z = calloc(1, sizeof(*z));
	slob_ingest_destroy(z);
	slob_ingest_destroy(NULL);
	free(z);
	assert_true(fcntl(0, F_GETFD) != -1);
	struct slob_barsrc *b = calloc(1, sizeof(*b));
	slob_barsrc_destroy(b);
	free(b);
}

static void test_barsrc(void **state)
{
	(void)state;
	const char *path = tpath("bars.csv");
	write_text(path, "date,open,high,low,close,volume\n"
			 "20260106 14:30:00,20000,20001,19999,20000.5,10\n"
			 "20260106 14:31:00,20000.5,20003,20000,20002,11\n"
			 "20260106 14:31:00,20000.5,20003,20000,20002,11\n"
			 "20260106 14:32:00,20002,20004,20001,20003,12\n");
	struct slob_barsrc_params p;
	slob_barsrc_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", path);
	slob_ring_t out;
	struct slob_barsrc bs;
	assert_int_equal(slob_ring_init(&out, "bars", 2, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_barsrc_init(&bs, &p, &out), 0);
	assert_int_equal(bs.stats.bad_order, 1);
	struct slob_bar b[8];
	unsigned n = 0;
	for (int i = 0; i < 50 && n < 8; i++) {
		slob_barsrc_poll(&bs);
		if (slob_ring_pop_spsc(&out, &b[n]))
			n++;
	}
	assert_int_equal(n, 4);
	assert_true(slob_barsrc_done(&bs));
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(b[i].last_seq, i + 1);
		assert_true(b[i].recv_ns > 0);
	}
	assert_int_equal(b[2].close, 80012);
	assert_int_equal(b[3].flags, SLOB_BAR_END);
	slob_barsrc_destroy(&bs);
	write_text(path, "time,open,high,low,close,volume\n2026-01-06T14:30:00Z,1,2,3\n");
	assert_int_equal(slob_barsrc_init(&bs, &p, &out), -EINVAL);
	assert_non_null(strstr(slob_barsrc_error(&bs), "bars.csv:2:"));
	slob_barsrc_destroy(&bs);
	slob_ring_destroy(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uring_bin_and_csv),
	    cmocka_unit_test(test_pread_bin_and_csv),
	    cmocka_unit_test(test_backpressure_no_tap),
	    cmocka_unit_test(test_malformed_csv_stops),
	    cmocka_unit_test(test_bad_binary_fails_init),
	    cmocka_unit_test(test_pacing),
	    cmocka_unit_test(test_ingest_plus_candles),
	    cmocka_unit_test(test_rejects_strict_alert),
	    cmocka_unit_test(test_destroy_zeroed),
	    cmocka_unit_test(test_barsrc),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
