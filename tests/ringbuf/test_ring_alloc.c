/* SPDX-License-Identifier: MIT */
/*
 * test_ring_alloc.c: the hot path allocates nothing. malloc, calloc,
 * realloc, aligned_alloc, memalign and posix_memalign are interposed with
 * counting wrappers (definitions in the executable win over libc's; the real
 * ones are reached through glibc's __libc_* entry points). Creating a ring
 * may allocate; after that, millions of records through every ring
 * operation - on one thread, across two threads, and through the stage
 * runtime - must allocate exactly 0 times.
 *
 * Skipped (77) in sanitizer builds: ASan and TSan own malloc themselves.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "engine/stage.h"
#include "ringbuf/ring.h"

#ifndef SLOB_SANITIZED

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static uint64_t n_allocs; /* atomic: any thread may allocate */

static void counted(void)
{
	__atomic_fetch_add(&n_allocs, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	counted();
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	counted();
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	counted();
	return __libc_realloc(p, n);
}

void *memalign(size_t al, size_t n)
{
	counted();
	return __libc_memalign(al, n);
}

void *aligned_alloc(size_t al, size_t n)
{
	counted();
	return __libc_memalign(al, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
	counted();
	void *p = __libc_memalign(al, n);
	if (p == NULL)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

static uint64_t allocs(void)
{
	return __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
}

#define N_RECS 2000000u

struct rec {
	uint64_t seq, a, b, c;
};
SLOB_RING_TYPED(rr, struct rec)

static void test_interposition_works(void **state)
{
	/* the wrappers really see allocations, including ring creation */
	uint64_t a0 = allocs();
	void *volatile p = malloc(10); /* volatile: keep the pair */
	free(p);
	assert_int_equal(allocs() - a0, 1);
	slob_ring_t r;
	a0 = allocs();
	assert_int_equal(slob_ring_init(&r, "x", 64, 32), 0);
	assert_true(allocs() - a0 >= 1);
	slob_ring_destroy(&r);
}

static void test_single_thread_ops_do_not_allocate(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "ops", 256, sizeof(struct rec)), 0);
	struct rec x = {0}, buf[32];
	uint64_t a0 = allocs();
	uint64_t in = 0, out = 0;
	while (out < N_RECS) {
		x.seq = in;
		if (rr_push(&r, &x))
			in++;
		struct rec *s = slob_ring_reserve_spsc(&r);
		if (s) {
			s->seq = in++;
			slob_ring_commit_spsc(&r);
		}
		for (unsigned i = 0; i < 8; i++)
			buf[i].seq = in + i;
		in += slob_ring_push_batch_spsc(&r, buf, 8);
		if (rr_pop(&r, &x))
			assert_true(x.seq == out++);
		const struct rec *p = rr_peek(&r, 0);
		if (p) {
			assert_true(p->seq == out++);
			slob_ring_release_spsc(&r, 1);
		}
		unsigned m = slob_ring_pop_batch_spsc(&r, buf, 32);
		for (unsigned i = 0; i < m; i++)
			assert_true(buf[i].seq == out++);
		(void)slob_ring_size(&r);
	}
	uint64_t used = allocs() - a0;
	if (used != 0)
		fail_msg("%llu allocations for %llu records (want 0)", (unsigned long long)used,
			 (unsigned long long)out);
	slob_ring_destroy(&r);
}

static slob_ring_t tr;

/* pause, then yield: the partner may be off-CPU on a loaded machine */
static void backoff(unsigned *spins)
{
	if (++*spins < 128) {
		slob_cpu_relax();
	} else {
		*spins = 0;
		sched_yield();
	}
}

static void *prod(void *arg)
{
	struct rec x = {0};
	unsigned spins = 0;
	for (uint64_t i = 0; i < N_RECS;) {
		x.seq = i;
		if (rr_push(&tr, &x))
			i++;
		else
			backoff(&spins);
	}
	return NULL;
}

static void test_two_threads_do_not_allocate(void **state)
{
	assert_int_equal(slob_ring_init(&tr, "tt", 1024, sizeof(struct rec)), 0);
	/* the window opens after the consumer (this thread) is ready; the
	 * producer thread's start-up is allowed to allocate (stack, TLS), so
	 * the window opens when its first record arrives */
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, prod, NULL), 0);
	struct rec x;
	unsigned spins = 0;
	while (!rr_pop(&tr, &x))
		backoff(&spins);
	uint64_t a0 = allocs();
	uint64_t next = 1;
	while (next < N_RECS) {
		if (rr_pop(&tr, &x))
			assert_true(x.seq == next++);
		else
			backoff(&spins);
	}
	uint64_t used = allocs() - a0;
	pthread_join(th, NULL);
	if (used != 0)
		fail_msg("%llu allocations across threads (want 0)", (unsigned long long)used);
	slob_ring_destroy(&tr);
}

struct sctx {
	slob_ring_t *ring;
	uint64_t n, next, got;
};

static int s_src(slob_stage_t *st)
{
	struct sctx *c = st->ctx;
	int w = 0;
	struct rec x = {0};
	while (c->next < c->n && w < 64) {
		x.seq = c->next;
		if (!rr_push(c->ring, &x))
			break;
		c->next++;
		w++;
	}
	return w;
}

static bool s_src_done(slob_stage_t *st)
{
	struct sctx *c = st->ctx;
	return c->next == c->n;
}

static int s_sink(slob_stage_t *st)
{
	struct sctx *c = st->ctx;
	struct rec buf[64];
	unsigned m = slob_ring_pop_batch_spsc(c->ring, buf, 64);
	c->got += m;
	return (int)m;
}

static void test_stage_loop_does_not_allocate(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "st", 512, sizeof(struct rec)), 0);
	struct sctx a = {.ring = &r, .n = N_RECS}, b = {.ring = &r};
	slob_stage_t s1 = {.name = "src", .poll = s_src, .done = s_src_done, .ctx = &a};
	slob_stage_t s2 = {.name = "sink", .poll = s_sink, .ctx = &b};
	s2.inputs[s2.ninputs++] = &r;
	slob_thread_t t;
	assert_int_equal(slob_thread_init(&t, "one", -1, SLOB_WAIT_SPIN), 0);
	assert_int_equal(slob_thread_add(&t, &s1), 0);
	assert_int_equal(slob_thread_add(&t, &s2), 0);
	uint64_t a0 = allocs();
	assert_int_equal(slob_thread_run_here(&t), 0);
	uint64_t used = allocs() - a0;
	assert_int_equal(b.got, N_RECS);
	if (used != 0)
		fail_msg("%llu allocations in the stage loop (want 0)", (unsigned long long)used);
	slob_thread_destroy(&t);
	slob_ring_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interposition_works),
	    cmocka_unit_test(test_single_thread_ops_do_not_allocate),
	    cmocka_unit_test(test_two_threads_do_not_allocate),
	    cmocka_unit_test(test_stage_loop_does_not_allocate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* SLOB_SANITIZED */

int main(void)
{
	fprintf(stderr, "test_ring_alloc: skipped in sanitizer builds (they own malloc)\n");
	return 77;
}

#endif
