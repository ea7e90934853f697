/* SPDX-License-Identifier: MIT */
/*
 * ingest_bench.c: throughput of the replay front end (ingest + candles) on
 * a synthetic random-walk tick file, binary and CSV, against a plain
 * read() + parse loop over the same file in the same run.
 *
 *   ingest_bench [--ticks N] [--reps R] [--dir D] [--keep] [--no-2thr]
 *
 * Defaults: 50M ticks, 3 repetitions (median reported), files in $TMPDIR
 * (or /tmp), removed at the end unless --keep. The page cache is warm after
 * generation, so the figures are CPU-bound parse + pipeline costs, not disk.
 *
 * Cases (per format):
 *   baseline   read() 1 MiB chunks + the same parser into a local array
 *   1thr       ingest (io_uring) + candles polled on one thread
 *   1thr-pread ingest (pread fallback) + candles on one thread
 *   2thr       ingest thread -> ring -> candles thread (sched_yield when idle)
 * For binary, the checksum verification in init (xxh3 over the file) is
 * timed separately and excluded from the 1thr/2thr figures; "1thr+verify"
 * includes it.
 * Final line: key=value pairs (ticks/s) for the integrator's tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/candles.h"
#include "engine/ingest.h"
#include "engine/tickfile.h"
#include "engine/tz.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of the last measured case (process CPU: robust to other load on
 * a shared machine for the one-thread cases; for 2thr it sums both threads) */
static double last_cpu;

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int generate(const char *bin, const char *csv, uint64_t n)
{
	struct slob_tickbin_writer *bw;
	struct slob_tickcsv_writer *cw;
	if (slob_tickbin_writer_open(&bw, bin, "NQ", 0.25) < 0 ||
	    slob_tickcsv_writer_open(&cw, csv, 0.25, 0) < 0) {
		fprintf(stderr, "ingest_bench: %s\n", slob_tickfile_strerror());
		return -1;
	}
	int64_t ts = 1767709800000000000LL; /* 2026-01-06 14:30 UTC */
	int32_t px = 80000;		    /* 20000.00 */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = xr();
		ts += 1000000 + (int64_t)(r % 20000000); /* 1..21 ms apart: ~1 bar per 5.5k ticks */
		px += (int32_t)((r >> 32) % 5) - 2;
		if (px < 4000)
			px = 4000;
		uint32_t sz = 1 + (uint32_t)((r >> 40) % 10);
		slob_tickbin_writer_append(bw, ts, px, sz);
		slob_tickcsv_writer_append(cw, ts, px, sz);
	}
	if (slob_tickbin_writer_close(bw) < 0 || slob_tickcsv_writer_close(cw) < 0) {
		fprintf(stderr, "ingest_bench: %s\n", slob_tickfile_strerror());
		return -1;
	}
	return 0;
}

/* ---- baseline: read() + parse into a local array ------------------------------ */

static volatile int64_t sink;

static double baseline(const char *path, int bin, uint64_t *count)
{
	int fd = open(path, O_RDONLY);
	size_t bsz = 1 << 20;
	char *buf = malloc(bsz);
	struct slob_tick out[512];
	struct slob_tickcsv c;
	struct slob_tickcsv_opts o = {
	    .name = path, .tick_size = 0.25, .backwards_tol_ns = 1000000000LL};
	slob_tickcsv_init(&c, &o);
	uint64_t n = 0;
	int64_t acc = 0;
	int64_t t0 = now_ns(), c0 = cpu_ns();
	if (bin && lseek(fd, SLOB_TICKBIN_HDR_SIZE, SEEK_SET) < 0)
		abort();
	for (;;) {
		ssize_t r = read(fd, buf, bsz);
		if (r < 0)
			abort();
		if (bin) {
			for (ssize_t i = 0; i + 16 <= r; i += 16) {
				int64_t ts;
				int32_t px;
				uint32_t sz;
				slob_tickbin_rec_decode((unsigned char *)buf + i, &ts, &px, &sz);
				acc += px + ts;
				n++;
			}
			if (r == 0)
				break;
		} else {
			size_t pos = 0;
			for (;;) {
				size_t used;
				int k = slob_tickcsv_feed(&c, buf + pos, (size_t)r - pos, r == 0,
							  out, 512, &used);
				if (k < 0) {
					fprintf(stderr, "%s\n", c.err);
					abort();
				}
				for (int j = 0; j < k; j++)
					acc += out[j].px;
				n += (uint64_t)k;
				pos += used;
				if (pos >= (size_t)r && !(r == 0 && c.carry_len))
					break;
			}
			if (r == 0)
				break;
		}
	}
	int64_t el = now_ns() - t0;
	last_cpu = (double)(cpu_ns() - c0);
	sink = acc;
	free(buf);
	close(fd);
	*count = n;
	return (double)el;
}

/* ---- pipeline -------------------------------------------------------------------- */

struct pipe {
	slob_ring_t ticks, bars;
	struct slob_ingest ing;
	struct slob_candles c;
	uint64_t nbars;
	int64_t init_ns;
};

static int pipe_init(struct pipe *p, const char *path, int use_pread, int verify)
{
	struct slob_ingest_params ip;
	slob_ingest_params_default(&ip);
	snprintf(ip.path, sizeof(ip.path), "%s", path);
	ip.use_pread = use_pread;
	ip.verify = verify;
	ip.depth = 8;
	ip.batch = 1024;
	struct slob_candles_params cp;
	slob_candles_params_default(&cp);
	cp.batch = 4096;
	memset(p, 0, sizeof(*p));
	if (slob_ring_init(&p->ticks, "ticks", 8192, sizeof(struct slob_tick)) ||
	    slob_ring_init(&p->bars, "bars", 1024, sizeof(struct slob_bar)))
		return -1;
	int64_t t0 = now_ns();
	if (slob_ingest_init(&p->ing, &ip, &p->ticks, NULL) < 0) {
		fprintf(stderr, "ingest_bench: %s\n", slob_ingest_error(&p->ing));
		return -1;
	}
	p->init_ns = now_ns() - t0;
	if (use_pread == 0 && !p->ing.use_uring)
		fprintf(stderr, "ingest_bench: io_uring unavailable, ingest uses pread\n");
	return slob_candles_init(&p->c, &cp, &p->ticks, &p->bars, NULL);
}

static void pipe_destroy(struct pipe *p)
{
	slob_ingest_destroy(&p->ing);
	slob_ring_destroy(&p->ticks);
	slob_ring_destroy(&p->bars);
}

static void drain_bars(struct pipe *p)
{
	struct slob_bar b[64];
	unsigned k;
	while ((k = slob_ring_pop_batch_spsc(&p->bars, b, 64)) > 0)
		p->nbars += k;
}

static double run_1thr(const char *path, int use_pread, int verify, uint64_t *nbars,
		       int64_t *init_ns)
{
	struct pipe p;
	if (pipe_init(&p, path, use_pread, verify) < 0)
		exit(1);
	int64_t t0 = now_ns(), c0 = cpu_ns();
	while (!slob_candles_done(&p.c)) {
		if (slob_ingest_poll(&p.ing) < 0) {
			fprintf(stderr, "ingest_bench: %s\n", slob_ingest_error(&p.ing));
			exit(1);
		}
		slob_candles_poll(&p.c);
		drain_bars(&p);
	}
	int64_t el = now_ns() - t0;
	last_cpu = (double)(cpu_ns() - c0);
	drain_bars(&p);
	*nbars = p.nbars;
	*init_ns = p.init_ns;
	pipe_destroy(&p);
	return (double)el;
}

static void *ingest_thread(void *arg)
{
	struct pipe *p = arg;
	/* yield when idle (SLOB_WAIT_YIELD): pure spinning on a shared 2-core
	 * machine starves the other stage */
	while (!slob_ingest_done(&p->ing)) {
		int rc = slob_ingest_poll(&p->ing);
		if (rc < 0)
			abort();
		if (rc == 0)
			sched_yield();
	}
	return NULL;
}

static double run_2thr(const char *path, uint64_t *nbars)
{
	struct pipe p;
	pthread_t th;
	if (pipe_init(&p, path, 0, 0) < 0)
		exit(1);
	int64_t t0 = now_ns(), c0 = cpu_ns();
	pthread_create(&th, NULL, ingest_thread, &p);
	while (!slob_candles_done(&p.c)) {
		if (slob_candles_poll(&p.c) == 0)
			sched_yield();
		drain_bars(&p);
	}
	pthread_join(th, NULL);
	int64_t el = now_ns() - t0;
	last_cpu = (double)(cpu_ns() - c0);
	drain_bars(&p);
	*nbars = p.nbars;
	pipe_destroy(&p);
	return (double)el;
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

#define MAXR 15

int main(int argc, char **argv)
{
	uint64_t n = 50000000;
	int reps = 3, keep = 0, two = 1;
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ticks") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			keep = 1;
		else if (!strcmp(argv[i], "--no-2thr"))
			two = 0;
		else {
			fprintf(stderr, "usage: ingest_bench [--ticks N] [--reps R] [--dir D] "
					"[--keep] [--no-2thr]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAXR || n == 0) {
		fprintf(stderr, "ingest_bench: reps must be 1..%d, ticks > 0\n", MAXR);
		return 2;
	}
	char bin[512], csv[512];
	snprintf(bin, sizeof(bin), "%s/ingest_bench_%d.bin", dir, (int)getpid());
	snprintf(csv, sizeof(csv), "%s/ingest_bench_%d.csv", dir, (int)getpid());
	printf("ingest_bench: generating %llu random-walk ticks in %s ...\n", (unsigned long long)n,
	       dir);
	int64_t g0 = now_ns();
	if (generate(bin, csv, n) < 0)
		return 1;
	printf("generated in %.1f s\n", (double)(now_ns() - g0) / 1e9);

	const char *names[] = {"baseline", "1thr", "1thr-pread", "2thr", "1thr+verify"};
	double res[2][5], cres[2][5];
	uint64_t bars_seen = 0;
	for (int f = 0; f < 2; f++) {
		const char *path = f ? csv : bin;
		double v[5][MAXR], cpu[5][MAXR];
		double verify_ns[MAXR];
		for (int r = 0; r < reps; r++) {
			uint64_t cnt, nb;
			int64_t init_ns;
			v[0][r] = baseline(path, !f, &cnt);
			cpu[0][r] = last_cpu;
			if (cnt != n) {
				fprintf(stderr, "baseline parsed %llu of %llu ticks\n",
					(unsigned long long)cnt, (unsigned long long)n);
				return 1;
			}
			v[1][r] = run_1thr(path, 0, 0, &nb, &init_ns);
			cpu[1][r] = last_cpu;
			bars_seen = nb;
			v[2][r] = run_1thr(path, 1, 0, &nb, &init_ns);
			cpu[2][r] = last_cpu;
			v[3][r] = two ? run_2thr(path, &nb) : v[1][r];
			cpu[3][r] = two ? last_cpu : cpu[1][r];
			if (nb != bars_seen)
				fprintf(stderr, "warning: bar count differs between layouts\n");
			v[4][r] = run_1thr(path, 0, 1, &nb, &init_ns);
			cpu[4][r] = last_cpu + (double)init_ns;
			verify_ns[r] = (double)init_ns;
			v[4][r] += (double)init_ns;
		}
		printf("\n%s file, %llu ticks, %llu bars (+END), median of %d:\n",
		       f ? "CSV" : "binary", (unsigned long long)n,
		       (unsigned long long)bars_seen - 1, reps);
		printf("  %-12s %9s %13s %10s %13s %10s %9s\n", "case", "wall ms", "wall Mticks/s",
		       "wall ns/t", "cpu Mticks/s", "cpu ns/t", "cpu ratio");
		double cbase = 0;
		for (int k = 0; k < 5; k++) {
			if (f && k == 4)
				continue; /* no checksum for CSV */
			double med = median(v[k], reps), cmed = median(cpu[k], reps);
			res[f][k] = (double)n / (med / 1e9);
			cres[f][k] = (double)n / (cmed / 1e9);
			if (k == 0)
				cbase = cres[f][0];
			printf("  %-12s %9.1f %13.2f %10.2f %13.2f %10.2f %9.2f\n", names[k],
			       med / 1e6, res[f][k] / 1e6, med / (double)n, cres[f][k] / 1e6,
			       cmed / (double)n, cres[f][k] / cbase);
		}
		if (!f)
			printf("  (checksum verification alone: %.1f ms)\n",
			       median(verify_ns, reps) / 1e6);
	}
	if (!keep) {
		unlink(bin);
		unlink(csv);
	}
	printf(
	    "\nticks=%llu reps=%d bin_baseline_tps=%.0f bin_1thr_tps=%.0f bin_1thr_pread_tps=%.0f "
	    "bin_2thr_tps=%.0f bin_1thr_verify_tps=%.0f csv_baseline_tps=%.0f csv_1thr_tps=%.0f "
	    "csv_1thr_pread_tps=%.0f csv_2thr_tps=%.0f bin_1thr_cpu_tps=%.0f csv_1thr_cpu_tps=%.0f "
	    "bin_baseline_cpu_tps=%.0f csv_baseline_cpu_tps=%.0f\n",
	    (unsigned long long)n, reps, res[0][0], res[0][1], res[0][2], res[0][3], res[0][4],
	    res[1][0], res[1][1], res[1][2], res[1][3], cres[0][1], cres[1][1], cres[0][0],
	    cres[1][0]);
	return 0;
}
