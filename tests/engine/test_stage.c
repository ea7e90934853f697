/* SPDX-License-Identifier: MIT */
/*
 * test_stage.c: the stage runtime. Stages connected by SPSC rings run on one
 * thread (run_here) and on two threads (each wait strategy, pinned to CPU 0
 * and 1 when the machine allows), and stopping must drain every ring.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "engine/stage.h"
#include "ringbuf/ring.h"

#ifdef SLOB_SANITIZED
#define N_RECS 20000u
#else
#define N_RECS 400000u
#endif

struct rec {
	uint64_t seq, check;
};
SLOB_RING_TYPED(rr, struct rec)

/* source: pushes 1..n into `out`, at most `burst` per poll */
struct src {
	slob_ring_t *out;
	uint64_t next, n;
	unsigned burst;
	slob_thread_t *wake; /* consumer thread to wake, or NULL */
};

static int src_poll(slob_stage_t *st)
{
	struct src *s = st->ctx;
	int w = 0;
	while (s->next < s->n && (unsigned)w < s->burst) {
		struct rec r = {s->next + 1, (s->next + 1) * 2654435761u};
		if (!rr_push(s->out, &r))
			break;
		/* release: the push above is visible to whoever sees next */
		__atomic_store_n(&s->next, s->next + 1, __ATOMIC_RELEASE);
		w++;
	}
	if (w && s->wake)
		slob_thread_wake(s->wake);
	return w;
}

static bool src_done(slob_stage_t *st)
{
	struct src *s = st->ctx;
	/* acquire: partner is the release store in src_poll */
	return __atomic_load_n(&s->next, __ATOMIC_ACQUIRE) == s->n;
}

/* relay: moves from `in` to `out` checking order; done when upstream is done
 * and `in` is empty */
struct relay {
	slob_ring_t *in, *out;
	slob_stage_t *up;
	uint64_t expect;
	int bad;
	slob_thread_t *wake;
};

static bool relay_done(slob_stage_t *st);

static int relay_poll(slob_stage_t *st)
{
	struct relay *r = st->ctx;
	int w = 0;
	const struct rec *p;
	while (w < 64 && (p = rr_peek(r->in, 0)) != NULL) {
		if (r->out != NULL && !rr_push(r->out, p))
			break;
		if (p->seq != r->expect + 1 || p->check != p->seq * 2654435761u)
			r->bad++;
		__atomic_store_n(&r->expect, p->seq, __ATOMIC_RELAXED);
		slob_ring_release_spsc(r->in, 1);
		w++;
	}
	if (w && r->wake)
		slob_thread_wake(r->wake);
	return w;
}

static bool relay_done(slob_stage_t *st)
{
	struct relay *r = st->ctx;
	/* upstream's done flag is read before the ring: a record pushed before
	 * the source reported done is then visible to the ring check */
	bool up = r->up->done(r->up);
	return up && slob_ring_size(r->in) == 0;
}

static void test_wait_parse(void **state)
{
	enum slob_wait w;
	assert_int_equal(slob_wait_parse("spin", &w), 0);
	assert_int_equal(w, SLOB_WAIT_SPIN);
	assert_int_equal(slob_wait_parse("YIELD", &w), 0);
	assert_int_equal(w, SLOB_WAIT_YIELD);
	assert_int_equal(slob_wait_parse("block", &w), 0);
	assert_int_equal(w, SLOB_WAIT_BLOCK);
	assert_int_equal(slob_wait_parse("sleep", &w), -EINVAL);
	assert_int_equal(slob_wait_parse(NULL, &w), -EINVAL);
}

static int noop_poll(slob_stage_t *st)
{
	return 0;
}

static void test_add_errors(void **state)
{
	slob_thread_t t;
	slob_stage_t st[SLOB_THREAD_MAX_STAGES + 1];
	memset(st, 0, sizeof(st));
	assert_int_equal(slob_thread_init(&t, "t", -2, SLOB_WAIT_SPIN), -EINVAL);
	slob_thread_destroy(&t);
	assert_int_equal(slob_thread_init(&t, "t", -1, SLOB_WAIT_SPIN), 0);
	assert_int_equal(slob_thread_start(&t), -EINVAL); /* no stages */
	assert_int_equal(slob_thread_run_here(&t), -EINVAL);
	assert_int_equal(slob_thread_add(&t, &st[0]), -EINVAL); /* no poll */
	for (unsigned i = 0; i <= SLOB_THREAD_MAX_STAGES; i++)
		st[i].poll = noop_poll;
	for (unsigned i = 0; i < SLOB_THREAD_MAX_STAGES; i++)
		assert_int_equal(slob_thread_add(&t, &st[i]), 0);
	assert_int_equal(slob_thread_add(&t, &st[SLOB_THREAD_MAX_STAGES]), -E2BIG);
	assert_ptr_equal(st[0].stats, &st[0].own_stats);
	slob_thread_destroy(&t);
	slob_thread_destroy(NULL);

	slob_thread_t t2;
	assert_int_equal(slob_thread_init(&t2, "t2", -1, SLOB_WAIT_SPIN), 0);
	assert_int_equal(slob_thread_add(&t2, &st[0]), 0);
	assert_int_equal(slob_thread_add(&t2, &st[0]), -EEXIST);
	slob_thread_destroy(&t2);
}

/* Three stages on one thread: src -> relay -> sink, run_here drains all. */
static void test_run_here_multi_stage(void **state)
{
	slob_ring_t a, b;
	assert_int_equal(slob_ring_init(&a, "a", 64, sizeof(struct rec)), 0);
	assert_int_equal(slob_ring_init(&b, "b", 16, sizeof(struct rec)), 0);
	struct src s = {.out = &a, .n = 10000, .burst = 100};
	slob_stage_t st_src = {.name = "src", .poll = src_poll, .done = src_done, .ctx = &s};
	struct relay r1 = {.in = &a, .out = &b, .up = &st_src};
	slob_stage_t st_r1 = {.name = "relay", .poll = relay_poll, .done = relay_done, .ctx = &r1};
	struct relay r2 = {.in = &b, .up = &st_r1};
	slob_stage_t st_r2 = {.name = "sink", .poll = relay_poll, .done = relay_done, .ctx = &r2};
	slob_thread_t t;
	assert_int_equal(slob_thread_init(&t, "one", -1, SLOB_WAIT_SPIN), 0);
	/* added in reverse order: the loop must not depend on stage order */
	assert_int_equal(slob_thread_add(&t, &st_r2), 0);
	assert_int_equal(slob_thread_add(&t, &st_r1), 0);
	assert_int_equal(slob_thread_add(&t, &st_src), 0);
	assert_int_equal(slob_thread_run_here(&t), 0);
	assert_int_equal(r2.expect, 10000);
	assert_int_equal(r1.bad + r2.bad, 0);
	assert_int_equal(slob_ring_size(&a), 0);
	assert_int_equal(slob_ring_size(&b), 0);
	assert_true(st_src.own_stats.polls > 0);
	assert_true(st_r2.own_stats.polls >= st_r2.own_stats.idle_polls);
	slob_thread_destroy(&t);
	slob_ring_destroy(&a);
	slob_ring_destroy(&b);
}

/* Starts t pinned to cpu; falls back to unpinned when the machine refuses. */
static void start_maybe_pinned(slob_thread_t *t, int cpu)
{
	t->cpu = cpu;
	int rc = slob_thread_start(t);
	if (rc != 0) {
		print_message("pinning %s to CPU %d failed (%d): running unpinned\n", t->name, cpu,
			      rc);
		t->cpu = -1;
		rc = slob_thread_start(t);
	}
	assert_int_equal(rc, 0);
}

static void run_two_threads(enum slob_wait wait)
{
	slob_ring_t a, b;
	assert_int_equal(slob_ring_init(&a, "a", 256, sizeof(struct rec)), 0);
	assert_int_equal(slob_ring_init(&b, "b", 64, sizeof(struct rec)), 0);
	slob_thread_t t1, t2;
	assert_int_equal(slob_thread_init(&t1, "prod", 0, wait), 0);
	assert_int_equal(slob_thread_init(&t2, "cons", 1, wait), 0);
	struct src s = {.out = &a, .n = N_RECS, .burst = 32, .wake = &t2};
	slob_stage_t st_src = {.name = "src", .poll = src_poll, .done = src_done, .ctx = &s};
	/* relay on thread 2 forwards into b, a second stage on thread 2 consumes b */
	struct relay r1 = {.in = &a, .out = &b, .up = &st_src};
	slob_stage_t st_r1 = {.name = "relay", .poll = relay_poll, .done = relay_done, .ctx = &r1};
	struct relay r2 = {.in = &b, .up = &st_r1};
	slob_stage_t st_r2 = {.name = "sink", .poll = relay_poll, .done = relay_done, .ctx = &r2};
	assert_int_equal(slob_thread_add(&t1, &st_src), 0);
	assert_int_equal(slob_thread_add(&t2, &st_r1), 0);
	assert_int_equal(slob_thread_add(&t2, &st_r2), 0);
	start_maybe_pinned(&t2, 1);
	start_maybe_pinned(&t1, 0);
	/* stop at once: both threads must still drain everything */
	slob_thread_stop(&t1);
	slob_thread_stop(&t2);
	assert_int_equal(slob_thread_join(&t1), 0);
	assert_int_equal(slob_thread_join(&t2), 0);
	assert_int_equal(s.next, N_RECS);
	assert_int_equal(r2.expect, N_RECS);
	assert_int_equal(r1.bad, 0);
	assert_int_equal(r2.bad, 0);
	assert_int_equal(slob_ring_size(&a), 0);
	assert_int_equal(slob_ring_size(&b), 0);
	slob_thread_destroy(&t1);
	slob_thread_destroy(&t2);
	slob_ring_destroy(&a);
	slob_ring_destroy(&b);
}

static void test_two_threads_spin(void **state)
{
	run_two_threads(SLOB_WAIT_SPIN);
}

static void test_two_threads_yield(void **state)
{
	run_two_threads(SLOB_WAIT_YIELD);
}

static void test_two_threads_block(void **state)
{
	run_two_threads(SLOB_WAIT_BLOCK);
}

/* A consumer stage without done(): after the producer finished, stop must
 * still drain the ring (a pass with no work is required before exit). */
static void test_stop_drains_stage_without_done(void **state)
{
	slob_ring_t a;
	assert_int_equal(slob_ring_init(&a, "a", 1024, sizeof(struct rec)), 0);
	for (uint64_t i = 1; i <= 1000; i++) {
		struct rec x = {i, i * 2654435761u};
		assert_true(rr_push(&a, &x));
	}
	struct relay r = {.in = &a};
	slob_stage_t st = {.name = "sink", .poll = relay_poll, .ctx = &r};
	slob_thread_t t;
	assert_int_equal(slob_thread_init(&t, "cons", -1, SLOB_WAIT_BLOCK), 0);
	assert_int_equal(slob_thread_add(&t, &st), 0);
	/* stop requested before the thread even started */
	slob_thread_stop(&t);
	assert_int_equal(slob_thread_start(&t), 0);
	assert_int_equal(slob_thread_join(&t), 0);
	assert_int_equal(r.expect, 1000);
	assert_int_equal(r.bad, 0);
	assert_int_equal(slob_ring_size(&a), 0);
	assert_int_equal(st.own_stats.in, 0); /* stats are the stage's business */
	assert_true(st.own_stats.polls >= 2);
	slob_thread_destroy(&t);
	slob_ring_destroy(&a);
}

static int fail_after;
static int failing_poll(slob_stage_t *st)
{
	return --fail_after <= 0 ? -EPROTO : 1;
}

static void test_negative_poll_stops_thread(void **state)
{
	slob_stage_t st = {.name = "bad", .poll = failing_poll};
	slob_thread_t t;
	fail_after = 100;
	assert_int_equal(slob_thread_init(&t, "bad", -1, SLOB_WAIT_SPIN), 0);
	assert_int_equal(slob_thread_add(&t, &st), 0);
	assert_int_equal(slob_thread_start(&t), 0);
	assert_int_equal(slob_thread_join(&t), -EPROTO);
	assert_int_equal(st.own_stats.errors, 1);
	assert_int_equal(st.own_stats.polls, 100);
	slob_thread_destroy(&t);
}

static bool never_done(slob_stage_t *st)
{
	return false;
}

static void test_abort_exits_without_done(void **state)
{
	slob_stage_t st = {.name = "idle", .poll = noop_poll, .done = never_done};
	slob_thread_t t;
	assert_int_equal(slob_thread_init(&t, "idle", -1, SLOB_WAIT_BLOCK), 0);
	assert_int_equal(slob_thread_add(&t, &st), 0);
	assert_int_equal(slob_thread_start(&t), 0);
	slob_thread_stop(&t); /* never finishes on its own */
	usleep(20000);
	slob_thread_abort(&t);
	assert_int_equal(slob_thread_join(&t), 0);
	slob_thread_destroy(&t);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An idle BLOCK thread parks (about 2 polls per ms: pass + re-poll), an idle
 * SPIN thread does not; and a wake gets a parked thread going at once. */
static void test_block_parks_and_wakes(void **state)
{
	slob_ring_t a;
	assert_int_equal(slob_ring_init(&a, "a", 16, sizeof(struct rec)), 0);
	struct relay r = {.in = &a};
	slob_stage_t st = {.name = "sink", .poll = relay_poll, .ctx = &r};
	slob_thread_t t;
	assert_int_equal(slob_thread_init(&t, "blk", -1, SLOB_WAIT_BLOCK), 0);
	assert_int_equal(slob_thread_add(&t, &st), 0);
	assert_int_equal(slob_thread_start(&t), 0);
	usleep(100000);
	uint64_t polls = __atomic_load_n(&st.own_stats.polls, __ATOMIC_RELAXED);
	assert_true(polls > 10);     /* it does wake up every ms */
	assert_true(polls < 100000); /* ... but does not spin (~200 expected) */
	/* wake: the record is seen quickly even though it would be anyway within 1 ms */
	for (uint64_t i = 1; i <= 50; i++) {
		struct rec x = {i, i * 2654435761u};
		assert_true(rr_push(&a, &x));
		slob_thread_wake(&t);
		uint64_t t0 = now_ns();
		while (__atomic_load_n(&r.expect, __ATOMIC_RELAXED) != i)
			if (now_ns() - t0 > 2000000000u)
				fail_msg("record %llu not consumed in 2 s", (unsigned long long)i);
	}
	slob_thread_stop(&t);
	assert_int_equal(slob_thread_join(&t), 0);
	assert_int_equal(r.bad, 0);
	slob_thread_destroy(&t);
	slob_ring_destroy(&a);
}

/* wake writes the eventfd exactly when the thread announced it is parking,
 * and never for threads that do not block (no syscall on their hot path). */
static void test_wake_writes_eventfd_only_when_parked(void **state)
{
	slob_thread_t t;
	uint64_t v = 0;
	assert_int_equal(slob_thread_init(&t, "w", -1, SLOB_WAIT_BLOCK), 0);
	slob_thread_wake(&t); /* not parked: nothing written */
	assert_int_equal(read(t.efd, &v, sizeof(v)), -1);
	assert_int_equal(errno, EAGAIN);
	__atomic_store_n(&t.sleeping, 1, __ATOMIC_RELAXED); /* as thread_wait does */
	slob_thread_wake(&t);
	slob_thread_wake(&t);
	assert_int_equal(read(t.efd, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(v, 2);
	slob_thread_destroy(&t);

	assert_int_equal(slob_thread_init(&t, "s", -1, SLOB_WAIT_SPIN), 0);
	__atomic_store_n(&t.sleeping, 1, __ATOMIC_RELAXED);
	slob_thread_wake(&t);
	assert_int_equal(read(t.efd, &v, sizeof(v)), -1);
	slob_thread_destroy(&t);
}

static void test_spin_does_not_park(void **state)
{
	slob_stage_t st = {.name = "idle", .poll = noop_poll};
	slob_thread_t t;
	assert_int_equal(slob_thread_init(&t, "spin", -1, SLOB_WAIT_SPIN), 0);
	assert_int_equal(slob_thread_add(&t, &st), 0);
	assert_int_equal(slob_thread_start(&t), 0);
	usleep(50000);
	slob_thread_stop(&t);
	assert_int_equal(slob_thread_join(&t), 0);
	/* 50 ms of spinning: far more than the ~100 polls a parked thread does */
	assert_true(st.own_stats.polls > 1000);
	assert_int_equal(st.own_stats.idle_polls, st.own_stats.polls);
	slob_thread_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wait_parse),
	    cmocka_unit_test(test_add_errors),
	    cmocka_unit_test(test_run_here_multi_stage),
	    cmocka_unit_test(test_two_threads_spin),
	    cmocka_unit_test(test_two_threads_yield),
	    cmocka_unit_test(test_two_threads_block),
	    cmocka_unit_test(test_stop_drains_stage_without_done),
	    cmocka_unit_test(test_negative_poll_stops_thread),
	    cmocka_unit_test(test_abort_exits_without_done),
	    cmocka_unit_test(test_block_parks_and_wakes),
	    cmocka_unit_test(test_wake_writes_eventfd_only_when_parked),
	    cmocka_unit_test(test_spin_does_not_park),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
