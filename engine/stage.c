/* SPDX-License-Identifier: MIT */
/*
 * stage.c: the stage runtime (engine/stage.h). A thread runs a fixed list of
 * stages in a loop: every pass polls every stage once and sums the work; an
 * idle pass applies the thread's wait strategy. Stopping drains: the loop
 * keeps going until every stage reports done, so nothing is left in a ring.
 *
 * Design notes
 *  1. Only the owning thread touches stages[], the stage stats and `result`
 *     while running; other threads touch only `stop`, `abort_` (atomic
 *     stores) and the eventfd (slob_thread_wake).
 *  2. Lost-wakeup freedom for SLOB_WAIT_BLOCK. Both sides do an acq_rel
 *     read-modify-write on `sleeping`, so the two RMWs are ordered in that
 *     variable's modification order and the later one synchronizes with the
 *     earlier (a fence pair would do, but TSan cannot check fences):
 *       sleeper: xchg(sleeping, 1); poll every stage once; if idle, wait on
 *                the eventfd (at most 1 ms); sleeping = 0.
 *       waker:   publish the record (ring release store);
 *                fetch_or(sleeping, 0); if it read 1, write the eventfd.
 *     If the waker's RMW comes second it reads 1 and writes the eventfd,
 *     which ends (or pre-empts) the wait; if it comes first, the sleeper's
 *     xchg acquires it and the re-poll sees the record. The 1 ms cap bounds
 *     the damage of a producer that never calls wake. Threads that do not
 *     block return from wake at once (no shared-line RMW).
 *  3. Drain on stop: `stop` is loaded (acquire, partner: release store in
 *     slob_thread_stop) *before* a pass, so a pass that starts after stop was
 *     seen polls every record published before stop was requested. The
 *     thread exits after a pass in which each stage is finished: done()
 *     returns true, or (done == NULL) the stage did no work in that pass
 *     and each of its declared input rings (stage.inputs) is empty - an
 *     idle pass alone may only mean that an output ring was full.
 *  4. A negative poll result is fatal: it is stored in `result` (first one
 *     wins), counted in the stage's `errors`, and the thread exits at once
 *     (as on abort). slob_thread_join returns it.
 *  5. The loop itself makes no allocation, lock or syscall except the wait
 *     strategy's sched_yield / poll / read on an idle pass.
 *
 *   state:  init --add*--> configured --start--> running --stop--> draining
 *                                       \--run_here (= draining)--/    |
 *           running|draining --abort or poll<0--> exited <--all done--+
 */
#define _GNU_SOURCE /* pthread_attr_setaffinity_np, pthread_setname_np */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/stage.h"
#include "ringbuf/ring.h"

/* Relaxed increment of a single-writer counter readable by other processes. */
static inline void stat_inc(uint64_t *c, uint64_t by)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + by, __ATOMIC_RELAXED);
}

int slob_thread_init(slob_thread_t *t, const char *name, int cpu, enum slob_wait wait)
{
	if (t == NULL)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->efd = -1;
	if (cpu < -1 || (unsigned)wait > SLOB_WAIT_BLOCK)
		return -EINVAL;
	t->name = name ? name : "thread";
	t->cpu = cpu;
	t->wait = wait;
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->efd < 0)
		return -errno;
	return 0;
}

int slob_thread_add(slob_thread_t *t, slob_stage_t *st)
{
	if (t == NULL || st == NULL || st->poll == NULL || t->started)
		return -EINVAL;
	if (t->nstages >= SLOB_THREAD_MAX_STAGES)
		return -E2BIG;
	for (unsigned i = 0; i < t->nstages; i++)
		if (t->stages[i] == st)
			return -EEXIST;
	if (st->stats == NULL)
		st->stats = &st->own_stats;
	t->stages[t->nstages++] = st;
	return 0;
}

/* design note 3: a done()-less stage is finished only with empty inputs */
static bool inputs_empty(const slob_stage_t *st)
{
	for (unsigned i = 0; i < st->ninputs; i++)
		if (slob_ring_size(st->inputs[i]) != 0)
			return false;
	return true;
}

/*
 * One pass: polls every stage once. Returns the total work (>= 0) or the
 * first negative poll result. *finished is set when every stage is finished
 * in the sense of design note 3.
 */
static int thread_pass(slob_thread_t *t, bool *finished)
{
	int total = 0;
	bool fin = true;
	for (unsigned i = 0; i < t->nstages; i++) {
		slob_stage_t *st = t->stages[i];
		int w = st->poll(st);
		stat_inc(&st->stats->polls, 1);
		if (slob_unlikely(w < 0)) {
			stat_inc(&st->stats->errors, 1);
			return w;
		}
		if (w == 0)
			stat_inc(&st->stats->idle_polls, 1);
		total += w;
		if (st->done != NULL ? !st->done(st) : (w != 0 || !inputs_empty(st)))
			fin = false;
	}
	*finished = fin;
	return total;
}

/* Idle wait. Returns work done by the block strategy's re-poll, or < 0. */
static int thread_wait(slob_thread_t *t, bool *finished)
{
	switch (t->wait) {
	case SLOB_WAIT_SPIN:
		slob_spin_idle();
		return 0;
	case SLOB_WAIT_YIELD:
		sched_yield();
		return 0;
	case SLOB_WAIT_BLOCK:
		break;
	}
	/* design note 2: announce, then re-poll once before parking */
	/* acq_rel: partner is the fetch_or in slob_thread_wake */
	(void)__atomic_exchange_n(&t->sleeping, 1, __ATOMIC_ACQ_REL);
	int w = thread_pass(t, finished);
	if (w == 0 && !__atomic_load_n(&t->abort_, __ATOMIC_ACQUIRE) &&
	    !(*finished && __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))) {
		struct pollfd p = {.fd = t->efd, .events = POLLIN};
		if (poll(&p, 1, 1) > 0) {
			uint64_t v;
			ssize_t n SLOB_UNUSED = read(t->efd, &v, sizeof(v));
		}
	}
	/* relaxed: only the owner reads it for decisions; wakers tolerate stale */
	__atomic_store_n(&t->sleeping, 0, __ATOMIC_RELAXED);
	return w;
}

static int thread_loop(slob_thread_t *t, bool draining)
{
	for (;;) {
		if (__atomic_load_n(&t->abort_, __ATOMIC_ACQUIRE))
			break;
		/* acquire: partner is the release store in slob_thread_stop */
		bool stopping = draining || __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE);
		bool finished = false;
		int w = thread_pass(t, &finished);
		if (slob_unlikely(w < 0)) {
			if (t->result == 0)
				t->result = w;
			break;
		}
		if (stopping && finished && w == 0)
			break;
		if (stopping && finished) {
			/* done-stages may report done while another stage still
			 * worked this pass; one more pass confirms quiescence */
			continue;
		}
		if (w == 0) {
			w = thread_wait(t, &finished);
			if (slob_unlikely(w < 0)) {
				if (t->result == 0)
					t->result = w;
				break;
			}
		}
	}
	return t->result;
}

static void *thread_main(void *arg)
{
	slob_thread_t *t = arg;
	thread_loop(t, false);
	return NULL;
}

int slob_thread_start(slob_thread_t *t)
{
	if (t == NULL || t->started || t->nstages == 0)
		return -EINVAL;
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);
	if (rc != 0)
		return -rc;
	if (t->cpu >= 0) {
		if (t->cpu >= CPU_SETSIZE) {
			pthread_attr_destroy(&attr);
			return -EINVAL;
		}
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		if (rc != 0) {
			pthread_attr_destroy(&attr);
			return -rc;
		}
	}
	rc = pthread_create(&t->tid, &attr, thread_main, t);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -rc;
	t->started = 1;
	char nm[16];
	snprintf(nm, sizeof(nm), "slob-%s", t->name);
	pthread_setname_np(t->tid, nm); /* cosmetic: ignore failure */
	return 0;
}

int slob_thread_run_here(slob_thread_t *t)
{
	if (t == NULL || t->started || t->nstages == 0)
		return -EINVAL;
	return thread_loop(t, true);
}

void slob_thread_stop(slob_thread_t *t)
{
	/* release: partner is the acquire load at the top of thread_loop */
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
	slob_thread_wake(t);
}

void slob_thread_abort(slob_thread_t *t)
{
	__atomic_store_n(&t->abort_, 1, __ATOMIC_RELEASE);
	slob_thread_wake(t);
}

void slob_thread_wake(slob_thread_t *t)
{
	if (t->wait != SLOB_WAIT_BLOCK)
		return;
	/* acq_rel: partner is the xchg in thread_wait (design note 2) */
	if (__atomic_fetch_or(&t->sleeping, 0, __ATOMIC_ACQ_REL) && t->efd >= 0) {
		uint64_t one = 1;
		ssize_t n SLOB_UNUSED = write(t->efd, &one, sizeof(one));
	}
}

int slob_thread_join(slob_thread_t *t)
{
	if (t == NULL || !t->started)
		return -EINVAL;
	int rc = pthread_join(t->tid, NULL);
	t->started = 0;
	if (rc != 0)
		return -rc;
	return t->result;
}

void slob_thread_destroy(slob_thread_t *t)
{
	if (t == NULL)
		return;
	if (t->efd >= 0)
		close(t->efd);
	t->efd = -1;
}

int slob_wait_parse(const char *s, enum slob_wait *out)
{
	if (s == NULL || out == NULL)
		return -EINVAL;
	if (strcasecmp(s, "spin") == 0)
		*out = SLOB_WAIT_SPIN;
	else if (strcasecmp(s, "yield") == 0)
		*out = SLOB_WAIT_YIELD;
	else if (strcasecmp(s, "block") == 0)
		*out = SLOB_WAIT_BLOCK;
	else
		return -EINVAL;
	return 0;
}
