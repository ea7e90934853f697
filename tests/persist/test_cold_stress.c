/* SPDX-License-Identifier: MIT */
/*
 * test_cold_stress.c: kill -9 durability. A child process runs the cold writer
 * with a producer thread of numbered TRADE records and reports every durable
 * sequence it observes through a pipe; the parent SIGKILLs it at a random
 * moment, reopens the store and checks that every record acknowledged durable
 * is present exactly once, that what is present is a gap-free prefix, and
 * that the file passes integrity_check.
 * Iterations: SLOB_STRESS_ITERS (default 10; 50 for a thorough local run).
 * Seed: SLOB_STRESS_SEED (default: time), printed for reproduction.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "persist/cold.h"
#include "ptest.h"

struct child_prod {
	struct slob_coldq *q;
	uint32_t iter;
	int stop;
};

static void *child_producer(void *arg)
{
	struct child_prod *p = arg;
	struct slob_cold r;
	for (uint64_t k = 1; !__atomic_load_n(&p->stop, __ATOMIC_RELAXED); k++) {
		ptest_trade(&r, ((uint64_t)p->iter << 32) | k, (int64_t)k);
		while (!slob_coldq_put(p->q, &r)) /* overflow full: wait (test only) */
			sched_yield();
		if (k % 32 == 0) {
			slob_coldq_flush(p->q);
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void child_main(const char *path, uint32_t iter, int wfd)
{
	slob_store_t *s;
	if (slob_store_open(path, SLOB_STORE_WRITER, &s) < 0)
		_exit(2);
	slob_ring_t ring;
	slob_ring_t *rings[1] = {&ring};
	struct slob_coldq q;
	if (slob_ring_init(&ring, "cold", 1024, sizeof(struct slob_cold)) < 0 ||
	    slob_coldq_init(&q, &ring, 0) < 0)
		_exit(3);
	struct slob_cold_params p;
	slob_cold_params_default(&p);
	p.batch_max = 256;
	p.batch_ms = 1;
	slob_cold_writer_t *w;
	if (slob_cold_writer_create(s, rings, 1, &p, NULL, NULL, &w) < 0)
		_exit(4);
	struct child_prod cp = {.q = &q, .iter = iter};
	pthread_t t;
	pthread_create(&t, NULL, child_producer, &cp);
	uint64_t last = 0;
	for (;;) { /* until SIGKILL */
		slob_cold_writer_poll(w);
		uint64_t d = slob_cold_durable_seq(w, 0);
		if (d != last) {
			last = d;
			if (write(wfd, &d, sizeof(d)) != (ssize_t)sizeof(d))
				_exit(5);
		}
	}
}

static void test_kill9_never_loses_acknowledged(void **state)
{
	(void)state;
	const char *it = getenv("SLOB_STRESS_ITERS");
	const char *sd = getenv("SLOB_STRESS_SEED");
	int iters = it ? atoi(it) : 10;
	unsigned seed = sd ? (unsigned)strtoul(sd, NULL, 10) : (unsigned)time(NULL);
	print_message("kill -9 stress: %d iterations, SLOB_STRESS_SEED=%u\n", iters, seed);
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ptest_tmpdir(dir, sizeof(dir), "kill9");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	uint64_t total_acked = 0, total_rows = 0;
	for (int i = 1; i <= iters; i++) {
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			child_main(path, (uint32_t)i, pfd[1]);
		}
		close(pfd[1]);
		/* Odd iterations: kill after the first acknowledgement (so slow sanitizer
		 * builds still kill a child that is committing); even ones: kill at any
		 * time, start-up included. Then a random 0..60 ms more. */
		uint64_t acked = 0, v;
		if (i % 2) {
			struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
			if (poll(&pf, 1, 10000) == 1 &&
			    read(pfd[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
				acked = v;
		}
		int ms = (int)(rand_r(&seed) % 61);
		struct timespec ts = {0, (long)ms * 1000000};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		while (read(pfd[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
			acked = v;
		close(pfd[0]);

		/* what slobd's start-up does first: a read-only check of the file the
		 * dead writer left (with its -wal and -shm) */
		if (slob_store_check_path(path, false) != 0)
			fail_msg("iteration %d: start-up check failed: %s", i,
				 slob_store_strerror());
		slob_store_t *s;
		assert_int_equal(slob_store_open(path, 0, &s), 0);
		assert_int_equal(slob_store_check(s, true), 0);
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM trade_history WHERE substr(setup_id,1,8)"
			 " = printf('%%08x', %d)",
			 i);
		int64_t rows = slob_store_query_i64(s, sql);
		snprintf(sql, sizeof(sql),
			 "SELECT count(DISTINCT setup_id) FROM trade_history WHERE"
			 " substr(setup_id,1,8) = printf('%%08x', %d)",
			 i);
		int64_t distinct = slob_store_query_i64(s, sql);
		/* highest sequence present (low 32 bits of the id) */
		snprintf(sql, sizeof(sql),
			 "SELECT coalesce(max(pnl_cents),0) FROM trade_history WHERE"
			 " substr(setup_id,1,8) = printf('%%08x', %d)",
			 i);
		int64_t maxseq = slob_store_query_i64(s, sql);
		slob_store_close(s);
		if (rows < (int64_t)acked || rows != distinct || rows != maxseq)
			fail_msg(
			    "iteration %d (killed after %d ms): acknowledged %llu, present %lld"
			    " (distinct %lld, max seq %lld)",
			    i, ms, (unsigned long long)acked, (long long)rows, (long long)distinct,
			    (long long)maxseq);
		total_acked += acked;
		total_rows += (uint64_t)rows;
	}
	print_message("kill -9 stress: %llu records acknowledged, %llu present, none lost\n",
		      (unsigned long long)total_acked, (unsigned long long)total_rows);
	assert_true(total_acked > 0);
	ptest_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill9_never_loses_acknowledged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
