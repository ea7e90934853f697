/* SPDX-License-Identifier: MIT */
/*
 * tws_bench.c: cost of the TWS codec and the paper broker.
 *  - encode: placeOrder (bracket child, 118 fields), reqTickByTickData;
 *  - decode: tickByTick Last, orderStatus, execDetails, openOrder (147 fields),
 *    next to the cost of only splitting the same payload into fields
 *    (the floor any text decoder pays), as a ratio;
 *  - paper broker: one tick matched against N working brackets.
 * Each figure is the median of REPS runs of ITERS operations (ns/op), timed
 * with the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID): on the shared,
 * overloaded VM wall time mostly measures waiting for a core.
 * Usage: tws_bench [iters] [reps]; last line: key=value summary.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/paper.h"
#include "engine/tws_codec.h"

static volatile uint64_t sink;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmpd);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef void (*op_fn)(long iters, void *arg);

static double bench(op_fn fn, void *arg, long iters, int reps)
{
	double r[64];
	fn(iters / 10 + 1, arg); /* warm-up */
	for (int i = 0; i < reps; i++) {
		double t0 = now_s();
		fn(iters, arg);
		r[i] = (now_s() - t0) * 1e9 / (double)iters;
	}
	return median(r, reps);
}

static struct slob_tws_contract nq;
static struct slob_tws_order ord;

static void op_place(long n, void *arg)
{
	(void)arg;
	uint8_t buf[1024];
	for (long i = 0; i < n; i++) {
		ord.order_id = 1000 + i;
		ord.lmt_price = 21000.25 + (double)(i & 7) * 0.25;
		sink += (uint64_t)slob_tws_enc_place_order(buf, sizeof(buf), &nq, &ord);
	}
}

static void op_tbt_req(long n, void *arg)
{
	(void)arg;
	uint8_t buf[256];
	for (long i = 0; i < n; i++)
		sink += (uint64_t)slob_tws_enc_req_tick_by_tick(buf, sizeof(buf), 1000 + i, &nq, "Last", 0, 0);
}

struct frame {
	uint8_t b[4096];
	size_t len;
};

static struct slob_tws_in msg;

static void op_decode(long n, void *arg)
{
	const struct frame *f = arg;
	for (long i = 0; i < n; i++) {
		if (slob_tws_decode(f->b + 4, f->len - 4, &msg) == 0)
			sink += (uint64_t)msg.kind;
	}
}

static void op_split(long n, void *arg)
{
	const struct frame *f = arg;
	for (long i = 0; i < n; i++)
		sink += (uint64_t)slob_tws_split(f->b + 4, f->len - 4, msg.f, SLOB_TWS_MAX_FIELDS);
}

struct paper_arg {
	struct slob_paper p;
	uint64_t seq;
};

static void op_paper(long n, void *arg)
{
	struct paper_arg *a = arg;
	struct slob_tick t = {.ts_ns = 1, .size = 1};
	for (long i = 0; i < n; i++) {
		t.seq = ++a->seq;
		t.px = 80000 + (int32_t)(i & 3); /* never crosses: pure scan cost */
		sink += (uint64_t)slob_paper_on_tick(&a->p, &t, NULL, NULL);
	}
}

static void mk(struct frame *f, const char *const *fields, int n)
{
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, f->b, sizeof(f->b));
	for (int i = 0; i < n; i++)
		slob_tws_wr_str(&w, fields[i]);
	f->len = (size_t)slob_tws_wr_end(&w);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	int reps = argc > 2 ? atoi(argv[2]) : 7;
	if (iters < 1000 || reps < 1 || reps > 64) {
		fprintf(stderr, "usage: tws_bench [iters >= 1000] [reps 1..64]\n");
		return 2;
	}
	slob_tws_contract_nq(&nq, "202603");
	slob_tws_order_init(&ord);
	strcpy(ord.action, "SELL");
	ord.qty = 1;
	strcpy(ord.order_type, "LMT");
	strcpy(ord.tif, "GTC");
	strcpy(ord.order_ref, "SLOB_0123456789abcdef_TP");
	ord.parent_id = 999;

	static struct frame tbt, ost, exd, opo;
	const char *tbt_f[] = {"99", "1002", "1", "1767627000", "21000.5", "2", "0", "CME", ""};
	mk(&tbt, tbt_f, 9);
	const char *ost_f[] = {"3", "1000", "Filled", "1", "0", "21000.25", "123456789", "0",
			       "21000.25", "7", "", "0"};
	mk(&ost, ost_f, 12);
	const char *exd_f[] = {"11", "-1", "1000", "620730920", "NQ", "FUT", "20260320", "0", "", "20",
			       "CME", "USD", "NQH6", "NQ", "0000e0d5.6789abcd.01.01",
			       "20260105 09:30:01 US/Central", "DU1234567", "CME", "BOT", "1",
			       "21000.25", "123456789", "7", "0", "1", "21000.25", "SLOB_x_ENTRY", "",
			       "", "", "2", "0", ""};
	mk(&exd, exd_f, 33);
	const char *opo_f[148];
	opo_f[0] = "5";
	for (int i = 1; i < 148; i++)
		opo_f[i] = "";
	opo_f[1] = "1001"; opo_f[2] = "620730920"; opo_f[3] = "NQ"; opo_f[4] = "FUT";
	opo_f[5] = "20260320"; opo_f[6] = "0"; opo_f[8] = "20"; opo_f[9] = "CME"; opo_f[10] = "USD";
	opo_f[11] = "NQH6"; opo_f[12] = "NQ"; opo_f[13] = "SELL"; opo_f[14] = "1"; opo_f[15] = "LMT";
	opo_f[16] = "21050"; opo_f[17] = "0"; opo_f[18] = "GTC"; opo_f[23] = "strat1-tp";
	opo_f[24] = "7"; opo_f[25] = "123456790"; opo_f[57] = "1000"; opo_f[85] = "PreSubmitted";
	mk(&opo, opo_f, 148);

	double enc_place = bench(op_place, NULL, iters, reps);
	double enc_tbt = bench(op_tbt_req, NULL, iters, reps);
	double dec_tbt = bench(op_decode, &tbt, iters, reps), spl_tbt = bench(op_split, &tbt, iters, reps);
	double dec_ost = bench(op_decode, &ost, iters, reps), spl_ost = bench(op_split, &ost, iters, reps);
	double dec_exd = bench(op_decode, &exd, iters, reps), spl_exd = bench(op_split, &exd, iters, reps);
	double dec_opo = bench(op_decode, &opo, iters, reps), spl_opo = bench(op_split, &opo, iters, reps);

	static struct paper_arg pa[3];
	const unsigned nbr[3] = {1, 8, 64};
	double paper_ns[3];
	for (int k = 0; k < 3; k++) {
		if (slob_paper_init(&pa[k].p, nbr[k]) != 0)
			return 1;
		for (unsigned b = 0; b < nbr[k]; b++) {
			struct slob_intent in = {.kind = SLOB_INTENT_BRACKET, .qty = 1, .dir = SLOB_LONG,
						 .setup_id = b + 1, .entry = 70000, .sl = 69000, .tp = 71000};
			strcpy(in.order_ref, "SLOB_b");
			slob_paper_place_bracket(&pa[k].p, &in, 1 + 3 * b, 0);
		}
		paper_ns[k] = bench(op_paper, &pa[k], iters, reps);
		slob_paper_destroy(&pa[k].p);
	}

	printf("tws codec, %ld ops x %d reps, median thread-CPU ns/op\n", iters, reps);
	printf("  encode placeOrder (118 fields, %zu B)      %8.1f\n", (size_t)390, enc_place);
	printf("  encode reqTickByTickData                    %8.1f\n", enc_tbt);
	printf("  decode            decode   split-only  ratio\n");
	printf("  tickByTick Last   %8.1f %8.1f   %5.2f\n", dec_tbt, spl_tbt, dec_tbt / spl_tbt);
	printf("  orderStatus       %8.1f %8.1f   %5.2f\n", dec_ost, spl_ost, dec_ost / spl_ost);
	printf("  execDetails       %8.1f %8.1f   %5.2f\n", dec_exd, spl_exd, dec_exd / spl_exd);
	printf("  openOrder (147)   %8.1f %8.1f   %5.2f\n", dec_opo, spl_opo, dec_opo / spl_opo);
	printf("paper broker: one tick vs N working brackets (no fill), ns/tick\n");
	printf("  N=1 %.1f   N=8 %.1f   N=64 %.1f   (N=64 / N=1: %.1fx)\n", paper_ns[0], paper_ns[1],
	       paper_ns[2], paper_ns[2] / paper_ns[0]);
	printf("enc_place_ns=%.1f enc_tbt_ns=%.1f dec_tbt_ns=%.1f dec_status_ns=%.1f dec_exec_ns=%.1f "
	       "dec_open_order_ns=%.1f split_tbt_ns=%.1f paper_tick_n1_ns=%.1f paper_tick_n64_ns=%.1f\n",
	       enc_place, enc_tbt, dec_tbt, dec_ost, dec_exd, dec_opo, spl_tbt, paper_ns[0], paper_ns[2]);
	return sink == 42 ? 1 : 0;
}
