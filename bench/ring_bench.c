/* SPDX-License-Identifier: MIT */
/*
 * ring_bench.c: our SPSC ring (ringbuf/ring.h) side by side with raw
 * Concurrency Kit ck_ring and a mutex + condvar queue, in one run, with the
 * two threads pinned to two different CPUs, for 16-, 64- and 128-byte
 * records:
 *
 *   latency     ping-pong: A pushes a record to B, B echoes it back on a
 *               second ring, A measures the round trip with the TSC; one
 *               hop = RTT / 2; exact p50 / p99 / p99.9 over all samples;
 *   throughput  A pushes N records, B pops them (and checks the sequence
 *               numbers); records/s from A's first push to B's last pop,
 *               single-record operations and batches of 32; the median
 *               rate over chunks of 2048 records (see run_throughput: on a
 *               shared machine a preempted spinner measures the scheduler),
 *               and the whole-run ("wall") rate for reference.
 *
 * Raw ck equivalent (the fairest one): CK_RING_PROTOTYPE(name, type), ck's
 * typed ring that stores records inline in the buffer and copies
 * sizeof(type) bytes per operation - the same data movement as ours (ours
 * is SLOB_RING_TYPED, also compile-time sized). ck_ring_enqueue_spsc on
 * pointers to a record pool would move 8 bytes instead of the record and
 * need a pool with its own recycling ring, so it measures something else.
 * ck has no batch operations: its "batch" column is a loop of single
 * operations per batch of 32 (what a ck user would write).
 *
 * The mutex queue is a circular buffer under one pthread mutex with two
 * condition variables (not empty / not full); the consumer sleeps on the
 * condvar when empty, as such queues are normally used. The lock-free
 * throughput consumers (ours and ck) idle as the stage runtime's spin
 * strategy does: slob_spin_idle() (8 pauses) after an empty poll, the same
 * for both; the latency ping-pong polls with one pause (see idle_wait()).
 *
 * Every configuration is repeated --reps times (default 3) and the medians
 * are reported. Ratios: latency ratio = ours p50 / other p50 (lower is
 * better, < 1.15 is the target against ck); throughput ratio = ours / other
 * (higher is better, > 0.87 against ck and >= 10 against the mutex queue),
 * each a geometric mean over the three record sizes. The last line is
 * key=value for scripts.
 *
 * Usage: ring_bench [--reps N] [--quick] [--cpus A,B]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <ck_ring.h>

#include "ringbuf/ring.h"

/* ---- timing ------------------------------------------------------------ */

static double ns_per_tick = 1.0;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return mono_ns();
#endif
}

static void calibrate(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t n0 = mono_ns(), t0 = ticks();
	while (mono_ns() - n0 < 50000000ull)
		;
	uint64_t n1 = mono_ns(), t1 = ticks();
	ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
#endif
}

/* ---- records and queues ------------------------------------------------ */

struct rec16 {
	uint64_t w[2];
};
struct rec64 {
	uint64_t w[8];
};
struct rec128 {
	uint64_t w[16];
};

SLOB_RING_TYPED(our16, struct rec16)
SLOB_RING_TYPED(our64, struct rec64)
SLOB_RING_TYPED(our128, struct rec128)
CK_RING_PROTOTYPE(rec16, rec16)
CK_RING_PROTOTYPE(rec64, rec64)
CK_RING_PROTOTYPE(rec128, rec128)

#define CAP 1024u
#define BATCH 32u
#define CHUNK 2048u /* throughput is timed per chunk of records */

/* aligned so that ck's index lines are not shared with anything else */
struct ckq {
	struct ck_ring ring;
	void *buf;
} SLOB_CACHE_ALIGNED;

struct mq {
	pthread_mutex_t m;
	pthread_cond_t ne, nf;
	unsigned char *buf;
	unsigned cap, rec, head, count;
} SLOB_CACHE_ALIGNED;

static void mq_init(struct mq *q, unsigned rec)
{
	pthread_mutex_init(&q->m, NULL);
	pthread_cond_init(&q->ne, NULL);
	pthread_cond_init(&q->nf, NULL);
	q->buf = aligned_alloc(64, (size_t)CAP * rec);
	q->cap = CAP;
	q->rec = rec;
	q->head = q->count = 0;
}

static void mq_destroy(struct mq *q)
{
	free(q->buf);
	pthread_mutex_destroy(&q->m);
	pthread_cond_destroy(&q->ne);
	pthread_cond_destroy(&q->nf);
}

/* Blocking: pushes up to n records (at least 1), returns how many. */
static unsigned mq_push(struct mq *q, const void *recs, unsigned n)
{
	pthread_mutex_lock(&q->m);
	while (q->count == q->cap)
		pthread_cond_wait(&q->nf, &q->m);
	unsigned k = q->cap - q->count < n ? q->cap - q->count : n;
	for (unsigned i = 0; i < k; i++) {
		unsigned slot = (q->head + q->count + i) % q->cap;
		memcpy(q->buf + (size_t)slot * q->rec,
		       (const unsigned char *)recs + (size_t)i * q->rec, q->rec);
	}
	q->count += k;
	pthread_cond_signal(&q->ne);
	pthread_mutex_unlock(&q->m);
	return k;
}

/* Blocking: pops up to n records (at least 1), returns how many. */
static unsigned mq_pop(struct mq *q, void *out, unsigned n)
{
	pthread_mutex_lock(&q->m);
	while (q->count == 0)
		pthread_cond_wait(&q->ne, &q->m);
	unsigned k = q->count < n ? q->count : n;
	for (unsigned i = 0; i < k; i++) {
		unsigned slot = (q->head + i) % q->cap;
		memcpy((unsigned char *)out + (size_t)i * q->rec, q->buf + (size_t)slot * q->rec,
		       q->rec);
	}
	q->head = (q->head + k) % q->cap;
	q->count -= k;
	pthread_cond_signal(&q->nf);
	pthread_mutex_unlock(&q->m);
	return k;
}

/* ---- threads ----------------------------------------------------------- */

static uint64_t trial_budget_ns = 700000000ull; /* per case: latency, throughput */
static int cpu_a = 0, cpu_b = 1;
static bool pinned_ok = true;

static void spawn(pthread_t *th, int cpu, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (pthread_create(th, &attr, fn, arg) != 0) {
		pinned_ok = false;
		if (pthread_create(th, NULL, fn, arg) != 0) {
			perror("pthread_create");
			exit(1);
		}
	}
	pthread_attr_destroy(&attr);
}

enum impl { OURS = 0, CK, MUTEX, NIMPL };
static const char *const impl_name[NIMPL] = {"ring", "ck_ring", "mutex"};

struct job {
	enum impl impl;
	unsigned size;	/* 16, 64, 128 */
	uint64_t n;	/* records (throughput) or round trips (latency) */
	unsigned batch; /* 1 or BATCH */
	/* queues: a->b and b->a */
	slob_ring_t ra, rb;
	struct ckq ca, cb;
	struct mq ma, mb;
	int go SLOB_CACHE_ALIGNED;	    /* atomic start flag */
	int stop SLOB_CACHE_ALIGNED;	    /* atomic: consumer's time budget is spent */
	uint64_t *chunk SLOB_CACHE_ALIGNED; /* throughput: ticks per CHUNK records */
	unsigned nchunk;
	uint64_t received;
	uint64_t t_end; /* consumer's finish time (ticks) */
	uint64_t t_start;
	uint64_t *samples;     /* latency: one-hop ticks per round trip */
	uint64_t nsamples;     /* latency: samples taken (time budget) */
	uint64_t budget_ticks; /* latency: time budget */
	uint64_t bad;
};

static void job_queues(struct job *j)
{
	switch (j->impl) {
	case OURS:
		if (slob_ring_init(&j->ra, "a", CAP, j->size) ||
		    slob_ring_init(&j->rb, "b", CAP, j->size)) {
			fprintf(stderr, "ring_bench: %s\n", slob_ring_strerror());
			exit(1);
		}
		break;
	case CK:
		j->ca.buf = aligned_alloc(64, (size_t)CAP * j->size);
		j->cb.buf = aligned_alloc(64, (size_t)CAP * j->size);
		ck_ring_init(&j->ca.ring, CAP);
		ck_ring_init(&j->cb.ring, CAP);
		break;
	case MUTEX:
		mq_init(&j->ma, j->size);
		mq_init(&j->mb, j->size);
		break;
	default:
		break;
	}
}

static void job_free(struct job *j)
{
	slob_ring_destroy(&j->ra);
	slob_ring_destroy(&j->rb);
	free(j->ca.buf);
	free(j->cb.buf);
	if (j->impl == MUTEX) {
		mq_destroy(&j->ma);
		mq_destroy(&j->mb);
	}
}

/*
 * What a lock-free receiver does after an empty poll. The latency ping-pong
 * polls with one pause, so it measures the ring's own hop; the runtime's
 * back-off (slob_spin_idle) quantises a ping-pong to its pause loop and the
 * two threads lock into phase differently from run to run (one-hop p50 of
 * 110 or 210 ns for the same ring). The throughput consumers back off as the
 * stage runtime does.
 */
static inline void idle_wait(bool backoff)
{
	if (backoff)
		slob_spin_idle();
	else
		slob_cpu_relax();
}

/*
 * Per-size operations, generated so each one has a compile-time record size
 * (as in production: typed rings). SEND/RECV spin (lock-free) or block
 * (mutex) until done.
 */
#define DEFINE_OPS(N)                                                                              \
	static inline void send##N(struct job *j, int dir, const struct rec##N *r)                 \
	{                                                                                          \
		switch (j->impl) {                                                                 \
		case OURS:                                                                         \
			while (!our##N##_push(dir ? &j->rb : &j->ra, r))                           \
				slob_cpu_relax();                                                  \
			break;                                                                     \
		case CK:                                                                           \
			while (!ck_ring_enqueue_spsc_rec##N(dir ? &j->cb.ring : &j->ca.ring,       \
							    dir ? j->cb.buf : j->ca.buf,           \
							    (struct rec##N *)r))                   \
				slob_cpu_relax();                                                  \
			break;                                                                     \
		default:                                                                           \
			mq_push(dir ? &j->mb : &j->ma, r, 1);                                      \
		}                                                                                  \
	}                                                                                          \
	static inline void recv##N(struct job *j, int dir, struct rec##N *r, bool backoff)        \
	{                                                                                          \
		switch (j->impl) {                                                                 \
		case OURS:                                                                         \
			while (!our##N##_pop(dir ? &j->rb : &j->ra, r))                            \
				idle_wait(backoff);                                                \
			break;                                                                     \
		case CK:                                                                           \
			while (!ck_ring_dequeue_spsc_rec##N(dir ? &j->cb.ring : &j->ca.ring,       \
							    dir ? j->cb.buf : j->ca.buf, r))       \
				idle_wait(backoff);                                                \
			break;                                                                     \
		default:                                                                           \
			mq_pop(dir ? &j->mb : &j->ma, r, 1);                                       \
		}                                                                                  \
	}                                                                                          \
	/* batch of up to n; returns how many (0 only for the lock-free rings) */                  \
	static inline unsigned send_batch##N(struct job *j, const struct rec##N *r, unsigned n)    \
	{                                                                                          \
		switch (j->impl) {                                                                 \
		case OURS:                                                                         \
			return slob_ring_push_batch_spsc(&j->ra, r, n);                            \
		case CK: {                                                                         \
			unsigned k = 0;                                                            \
			while (k < n && ck_ring_enqueue_spsc_rec##N(&j->ca.ring, j->ca.buf,        \
								    (struct rec##N *)&r[k]))       \
				k++;                                                               \
			return k;                                                                  \
		}                                                                                  \
		default:                                                                           \
			return mq_push(&j->ma, r, n);                                              \
		}                                                                                  \
	}                                                                                          \
	static inline unsigned recv_batch##N(struct job *j, struct rec##N *r, unsigned n)          \
	{                                                                                          \
		switch (j->impl) {                                                                 \
		case OURS:                                                                         \
			return slob_ring_pop_batch_spsc(&j->ra, r, n);                             \
		case CK: {                                                                         \
			unsigned k = 0;                                                            \
			while (k < n &&                                                            \
			       ck_ring_dequeue_spsc_rec##N(&j->ca.ring, j->ca.buf, &r[k]))         \
				k++;                                                               \
			return k;                                                                  \
		}                                                                                  \
		default:                                                                           \
			return mq_pop(&j->ma, r, n);                                               \
		}                                                                                  \
	}                                                                                          \
	static void *lat_ping##N(void *arg)                                                        \
	{                                                                                          \
		struct job *j = arg;                                                               \
		struct rec##N r = {{0}}, back;                                                     \
		const uint64_t n = j->n, warm = n / 10 + 100;                                      \
		uint64_t *samples = j->samples, bad = 0, i = 0;                                    \
		const uint64_t start = ticks(), budget = j->budget_ticks;                          \
		for (; i < warm + n; i++) {                                                        \
			r.w[0] = i;                                                                \
			uint64_t t0 = ticks();                                                     \
			send##N(j, 0, &r);                                                         \
			recv##N(j, 1, &back, false);                                               \
			uint64_t t1 = ticks();                                                     \
			bad += back.w[0] != i;                                                     \
			if (i >= warm)                                                             \
				samples[i - warm] = (t1 - t0) / 2;                                 \
			/* time budget (a preempted partner costs a time slice) */                 \
			if ((i & 1023) == 1023 && i > warm && t1 - start > budget) {               \
				i++;                                                               \
				break;                                                             \
			}                                                                          \
		}                                                                                  \
		j->nsamples = i > warm ? i - warm : 0;                                             \
		r.w[0] = UINT64_MAX; /* tells the echo thread to finish */                         \
		send##N(j, 0, &r);                                                                 \
		j->bad = bad;                                                                      \
		return NULL;                                                                       \
	}                                                                                          \
	static void *lat_echo##N(void *arg)                                                        \
	{                                                                                          \
		struct job *j = arg;                                                               \
		struct rec##N r;                                                                   \
		for (;;) {                                                                         \
			recv##N(j, 0, &r, false);                                                  \
			if (r.w[0] == UINT64_MAX)                                                  \
				break;                                                             \
			send##N(j, 1, &r);                                                         \
		}                                                                                  \
		return NULL;                                                                       \
	}                                                                                          \
	static void *thr_prod##N(void *arg)                                                        \
	{                                                                                          \
		struct job *j = arg;                                                               \
		struct rec##N buf[BATCH];                                                          \
		memset(buf, 0, sizeof(buf));                                                       \
		while (!__atomic_load_n(&j->go, __ATOMIC_ACQUIRE))                                 \
			slob_cpu_relax();                                                          \
		const uint64_t n = j->n; /* locals: no shared job line in the loop */              \
		const unsigned b = j->batch;                                                       \
		uint64_t i = 0;                                                                    \
		while (i < n) {                                                                    \
			/* the consumer's time budget: checked every 1024 records */               \
			if ((i & 1023) < b && __atomic_load_n(&j->stop, __ATOMIC_RELAXED))         \
				break;                                                             \
			if (b == 1) {                                                              \
				buf[0].w[0] = i++;                                                 \
				send##N(j, 0, &buf[0]);                                            \
				continue;                                                          \
			}                                                                          \
			unsigned k = n - i < b ? (unsigned)(n - i) : b;                            \
			for (unsigned q = 0; q < k; q++)                                           \
				buf[q].w[0] = i + q;                                               \
			unsigned done = 0;                                                         \
			while (done < k) {                                                         \
				unsigned m = send_batch##N(j, buf + done, k - done);               \
				if (m == 0)                                                        \
					slob_cpu_relax();                                          \
				done += m;                                                         \
			}                                                                          \
			i += k;                                                                    \
		}                                                                                  \
		buf[0].w[0] = UINT64_MAX; /* end marker */                                         \
		send##N(j, 0, &buf[0]);                                                            \
		return NULL;                                                                       \
	}                                                                                          \
	static void *thr_cons##N(void *arg)                                                        \
	{                                                                                          \
		struct job *j = arg;                                                               \
		struct rec##N buf[BATCH];                                                          \
		uint64_t bad = 0, i = 0, *chunk = j->chunk;                                        \
		unsigned nchunk = 0;                                                               \
		const unsigned b = j->batch;                                                       \
		bool end = false;                                                                  \
		__atomic_store_n(&j->go, 1, __ATOMIC_RELEASE);                                     \
		const uint64_t start = ticks(), budget = j->budget_ticks;                          \
		uint64_t last = start;                                                             \
		while (!end) {                                                                     \
			unsigned m;                                                                \
			if (b == 1) {                                                              \
				recv##N(j, 0, &buf[0], true);                                      \
				m = 1;                                                             \
			} else {                                                                   \
				m = recv_batch##N(j, buf, b);                                      \
				if (m == 0) {                                                      \
					slob_spin_idle();                                          \
					continue;                                                  \
				}                                                                  \
			}                                                                          \
			for (unsigned q = 0; q < m; q++) {                                         \
				if (buf[q].w[0] == UINT64_MAX) {                                   \
					end = true;                                                \
					break;                                                     \
				}                                                                  \
				bad += buf[q].w[0] != i++;                                         \
				if (i % CHUNK == 0) {                                              \
					uint64_t now = ticks();                                    \
					chunk[nchunk++] = now - last;                              \
					last = now;                                                \
					if (now - start > budget)                                  \
						__atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);   \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		j->t_end = ticks();                                                                \
		j->t_start = start;                                                                \
		j->received = i;                                                                   \
		j->nchunk = nchunk;                                                                \
		j->bad = bad;                                                                      \
		return NULL;                                                                       \
	}

DEFINE_OPS(16)
DEFINE_OPS(64)
DEFINE_OPS(128)

typedef void *(*thread_fn)(void *);

static thread_fn pick(unsigned size, thread_fn f16, thread_fn f64, thread_fn f128)
{
	return size == 16 ? f16 : size == 64 ? f64 : f128;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct lat {
	double p50, p99, p999;
};

static struct lat run_latency(enum impl impl, unsigned size, uint64_t n)
{
	struct job *j = calloc(1, sizeof(*j));
	j->impl = impl;
	j->size = size;
	j->n = n;
	j->samples = malloc(n * sizeof(uint64_t));
	j->budget_ticks = (uint64_t)(trial_budget_ns / ns_per_tick);
	job_queues(j);
	pthread_t a, b;
	spawn(&b, cpu_b, pick(size, lat_echo16, lat_echo64, lat_echo128), j);
	spawn(&a, cpu_a, pick(size, lat_ping16, lat_ping64, lat_ping128), j);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (j->bad) {
		fprintf(stderr, "ring_bench: %s latency: %llu records corrupted\n", impl_name[impl],
			(unsigned long long)j->bad);
		exit(1);
	}
	n = j->nsamples;
	if (n == 0) {
		fprintf(stderr, "ring_bench: %s latency: no samples\n", impl_name[impl]);
		exit(1);
	}
	qsort(j->samples, n, sizeof(uint64_t), cmp_u64);
	struct lat l = {
	    j->samples[(size_t)(0.50 * (n - 1))] * ns_per_tick,
	    j->samples[(size_t)(0.99 * (n - 1))] * ns_per_tick,
	    j->samples[(size_t)(0.999 * (n - 1))] * ns_per_tick,
	};
	free(j->samples);
	job_free(j);
	free(j);
	return l;
}

/*
 * Records per second of one run: the median over chunks of CHUNK records of
 * the consumer's time per chunk. On a shared machine a spinning thread that
 * loses its CPU stalls its partner for a whole time slice, which says
 * nothing about the queue; a stall lands in one chunk, so the median chunk
 * measures the queue (as p50 does for latency). The same rule applies to
 * every queue. The run ends after n records or the time budget.
 */
static double run_throughput(enum impl impl, unsigned size, uint64_t n, unsigned batch,
			     double *wall)
{
	struct job *j = calloc(1, sizeof(*j));
	j->impl = impl;
	j->size = size;
	j->n = n;
	j->batch = batch;
	j->chunk = malloc((n / CHUNK + 2) * sizeof(uint64_t));
	j->budget_ticks = (uint64_t)(trial_budget_ns / ns_per_tick);
	job_queues(j);
	pthread_t a, b;
	spawn(&b, cpu_b, pick(size, thr_cons16, thr_cons64, thr_cons128), j);
	spawn(&a, cpu_a, pick(size, thr_prod16, thr_prod64, thr_prod128), j);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (j->bad || j->nchunk == 0) {
		fprintf(stderr, "ring_bench: %s throughput: %llu records out of order, %u chunks\n",
			impl_name[impl], (unsigned long long)j->bad, j->nchunk);
		exit(1);
	}
	qsort(j->chunk, j->nchunk, sizeof(uint64_t), cmp_u64);
	double med = (double)j->chunk[j->nchunk / 2] * ns_per_tick * 1e-9;
	*wall = (double)j->received / ((double)(j->t_end - j->t_start) * ns_per_tick * 1e-9);
	free(j->chunk);
	job_free(j);
	free(j);
	return CHUNK / med;
}

/* ---- main --------------------------------------------------------------- */

#define MAXREPS 15
static const unsigned sizes[] = {16, 64, 128};
#define NSIZES 3

struct res {
	double p50[MAXREPS], p99[MAXREPS], p999[MAXREPS], thr1[MAXREPS], thrb[MAXREPS];
	double wall1[MAXREPS], wallb[MAXREPS];
};

static double median(double *v, int n)
{
	double t[MAXREPS];
	memcpy(t, v, n * sizeof(double));
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && t[k] < t[k - 1]; k--) {
			double x = t[k];
			t[k] = t[k - 1];
			t[k - 1] = x;
		}
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* 1-minute load average, to report how noisy the machine was (-1: unknown). */
static double loadavg(void)
{
	double v = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: ring_bench [--reps N (1..%d)] [--quick] [--cpus A,B]\n", MAXREPS);
}

int main(int argc, char **argv)
{
	int reps = 3;
	bool quick = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			reps = atoi(argv[++i]);
			if (reps < 1 || reps > MAXREPS) {
				fprintf(stderr, "ring_bench: --reps %s: must be 1..%d\n", argv[i],
					MAXREPS);
				return 2;
			}
		} else if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc) {
			if (sscanf(argv[++i], "%d,%d", &cpu_a, &cpu_b) != 2 || cpu_a < 0 ||
			    cpu_b < 0 || cpu_a >= CPU_SETSIZE || cpu_b >= CPU_SETSIZE) {
				fprintf(stderr,
					"ring_bench: --cpus %s: expected two CPU numbers A,B\n",
					argv[i]);
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	uint64_t lat_n = quick ? 20000 : 100000, lat_n_mutex = quick ? 2000 : 10000;
	uint64_t thr_n = quick ? 1000000 : 10000000, thr_n_mutex = quick ? 200000 : 2000000;
	if (quick)
		trial_budget_ns = 300000000ull;

	calibrate();
	double load0 = loadavg();
	uint64_t t_begin = mono_ns();
	static struct res r[NSIZES][NIMPL];
	for (int rep = 0; rep < reps; rep++)
		for (int s = 0; s < NSIZES; s++)
			for (int im = 0; im < NIMPL; im++) {
				bool mx = im == MUTEX;
				struct lat l = run_latency(im, sizes[s], mx ? lat_n_mutex : lat_n);
				r[s][im].p50[rep] = l.p50;
				r[s][im].p99[rep] = l.p99;
				r[s][im].p999[rep] = l.p999;
				uint64_t tn = mx ? thr_n_mutex : thr_n;
				r[s][im].thr1[rep] =
				    run_throughput(im, sizes[s], tn, 1, &r[s][im].wall1[rep]);
				r[s][im].thrb[rep] =
				    run_throughput(im, sizes[s], tn, BATCH, &r[s][im].wallb[rep]);
			}
	double elapsed = (mono_ns() - t_begin) * 1e-9;

	printf(
	    "ring_bench: threads on CPUs %d and %d%s; %d reps, medians; TSC %.3f ns/tick; "
	    "latency = one hop (RTT/2), up to %llu round trips (mutex %llu); throughput = median "
	    "over chunks of %u records, up to %llu records (mutex %llu); at most ~%.1f s per case; "
	    "batch %u; 'wall' = whole-run rate incl. scheduler stalls\n",
	    cpu_a, cpu_b, pinned_ok ? "" : " (PINNING FAILED: unpinned)", reps, ns_per_tick,
	    (unsigned long long)lat_n, (unsigned long long)lat_n_mutex, CHUNK,
	    (unsigned long long)thr_n, (unsigned long long)thr_n_mutex, trial_budget_ns * 1e-9,
	    BATCH);
	printf("%5s  %-8s %9s %9s %9s   %12s %12s   %10s %10s\n", "bytes", "queue", "p50 ns",
	       "p99 ns", "p99.9 ns", "single Mr/s", "batch Mr/s", "wall 1", "wall b");
	double lg_lat_ck = 0, lg_thr_ck = 0, lg_thrb_ck = 0, lg_thr_mx = 0, lg_thrb_mx = 0,
	       lg_lat_mx = 0;
	for (int s = 0; s < NSIZES; s++) {
		double m[NIMPL][7];
		for (int im = 0; im < NIMPL; im++) {
			m[im][0] = median(r[s][im].p50, reps);
			m[im][1] = median(r[s][im].p99, reps);
			m[im][2] = median(r[s][im].p999, reps);
			m[im][3] = median(r[s][im].thr1, reps);
			m[im][4] = median(r[s][im].thrb, reps);
			m[im][5] = median(r[s][im].wall1, reps);
			m[im][6] = median(r[s][im].wallb, reps);
			printf("%5u  %-8s %9.0f %9.0f %9.0f   %12.2f %12.2f   %10.2f %10.2f\n",
			       sizes[s], impl_name[im], m[im][0], m[im][1], m[im][2],
			       m[im][3] / 1e6, m[im][4] / 1e6, m[im][5] / 1e6, m[im][6] / 1e6);
		}
		printf("%5u  ring/ck: latency p50 x%.2f, throughput single x%.2f batch x%.2f; "
		       "ring/mutex: latency p50 x%.3f, throughput single x%.1f batch x%.1f\n",
		       sizes[s], m[OURS][0] / m[CK][0], m[OURS][3] / m[CK][3],
		       m[OURS][4] / m[CK][4], m[OURS][0] / m[MUTEX][0], m[OURS][3] / m[MUTEX][3],
		       m[OURS][4] / m[MUTEX][4]);
		lg_lat_ck += log(m[OURS][0] / m[CK][0]);
		lg_thr_ck += log(m[OURS][3] / m[CK][3]);
		lg_thrb_ck += log(m[OURS][4] / m[CK][4]);
		lg_thr_mx += log(m[OURS][3] / m[MUTEX][3]);
		lg_thrb_mx += log(m[OURS][4] / m[MUTEX][4]);
		lg_lat_mx += log(m[OURS][0] / m[MUTEX][0]);
	}
	printf("elapsed %.1f s; 1-min load average %.2f at start, %.2f at end (%ld CPUs online)\n",
	       elapsed, load0, loadavg(), sysconf(_SC_NPROCESSORS_ONLN));
	printf("ring_vs_ck_latency_ratio=%.3f ring_vs_ck_throughput_ratio=%.3f "
	       "ring_vs_ck_batch_throughput_ratio=%.3f ring_vs_mutex_latency_ratio=%.4f "
	       "ring_vs_mutex_throughput_ratio=%.1f ring_vs_mutex_batch_throughput_ratio=%.1f "
	       "pinned=%d reps=%d\n",
	       exp(lg_lat_ck / NSIZES), exp(lg_thr_ck / NSIZES), exp(lg_thrb_ck / NSIZES),
	       exp(lg_lat_mx / NSIZES), exp(lg_thr_mx / NSIZES), exp(lg_thrb_mx / NSIZES),
	       pinned_ok, reps);
	return 0;
}
