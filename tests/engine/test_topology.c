/* SPDX-License-Identifier: MIT */
/*
 * test_topology.c: pipeline topology declaration, layout strings,
 * validation errors (each must name the culprit), and instantiation: rings
 * created once, threads started and stopped in ring order so that every
 * ring is drained.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "engine/topology.h"

static const char *const SIX[] = {"ingest", "candles", "detector", "risk", "sender", "cold"};

static struct slob_topology *new_topo(void)
{
	struct slob_topology *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	slob_topo_init(t);
	return t;
}

static void add_six(struct slob_topology *t)
{
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(slob_topo_add_stage(t, SIX[i], NULL), 0);
}

#define assert_err_has(t, needle)                                                                  \
	do {                                                                                       \
		if (strstr(slob_topo_strerror(t), (needle)) == NULL)                               \
			fail_msg("error '%s' lacks '%s'", slob_topo_strerror(t), (needle));        \
	} while (0)

static void test_parse_default_layout(void **state)
{
	struct slob_topology *t = new_topo();
	add_six(t);
	assert_int_equal(
	    slob_topo_parse_layout(t, " hot = ingest, candles,detector,risk,sender @0 : spin ;"
				      "cold=cold@1:block; "),
	    0);
	assert_int_equal(t->nthreads, 2);
	assert_string_equal(t->threads[0].name, "hot");
	assert_int_equal(t->threads[0].nstages, 5);
	assert_string_equal(t->threads[0].stages[4], "sender");
	assert_int_equal(t->threads[0].cpu, 0);
	assert_int_equal(t->threads[0].wait, SLOB_WAIT_SPIN);
	assert_int_equal(t->threads[1].cpu, 1);
	assert_int_equal(t->threads[1].wait, SLOB_WAIT_BLOCK);
	t->ncpus = 2;
	assert_int_equal(slob_topo_validate(t), 0);
	assert_int_equal(slob_topo_stage_thread(t, "risk"), 0);
	assert_int_equal(slob_topo_stage_thread(t, "cold"), 1);
	assert_int_equal(slob_topo_stage_thread(t, "nope"), -1);
	slob_topo_destroy(t);
	free(t);
}

static void test_default_layouts_validate(void **state)
{
	const int cpus[] = {1, 2, 4, 8};
	for (unsigned k = 0; k < SLOB_ARRAY_SIZE(cpus); k++) {
		struct slob_topology *t = new_topo();
		add_six(t);
		t->ncpus = cpus[k];
		const char *l = slob_topo_default_layout(cpus[k]);
		if (slob_topo_parse_layout(t, l) != 0 || slob_topo_validate(t) != 0)
			fail_msg("default layout for %d CPUs (%s): %s", cpus[k], l,
				 slob_topo_strerror(t));
		if (cpus[k] == 2) {
			/* the 2-core default: hot stages share CPU 0, cold on CPU 1 */
			assert_int_equal(t->nthreads, 2);
			assert_int_equal(t->threads[0].cpu, 0);
			assert_int_equal(t->threads[1].cpu, 1);
			assert_int_equal(t->threads[1].wait, SLOB_WAIT_BLOCK);
		}
		if (cpus[k] == 1)
			assert_int_equal(t->threads[0].cpu, -1);
		slob_topo_destroy(t);
		free(t);
	}
}

struct bad_layout {
	const char *layout, *needle;
};

static void test_layout_errors(void **state)
{
	const struct bad_layout cases[] = {
	    {"", "layout is empty"},
	    {"  ;; ", "column 3: expected a thread name, found ';'"},
	    {"hot", "column 4: expected '=' after thread name 'hot'"},
	    {"hot=", "column 5: expected a stage name, found end of text"},
	    {"hot=ingest,", "column 12: expected a stage name"},
	    {"hot=ingest@x", "column 12: expected a CPU number or '-'"},
	    {"hot=ingest@99999", "out of range"},
	    {"hot=ingest:sleep", "unknown wait strategy 'sleep'"},
	    {"hot=ingest@0 cold=cold", "column 14: unexpected 'c' after thread 'hot'"},
	    {"hot=ingest;hot=cold", "thread 'hot' appears twice"},
	    {"hot=ingest,ingest", "stage 'ingest' is listed twice on thread 'hot'"},
	    {"hot=a,b,c,d,e,f,g,h,i", "more than 8 stages"},
	    {"hot=abcdefghijklmnopqrstuvwxyz", "longer than 23 characters"},
	    {"h/t=ingest", "column 2: expected '='"},
	};
	for (unsigned i = 0; i < SLOB_ARRAY_SIZE(cases); i++) {
		struct slob_topology *t = new_topo();
		int rc = slob_topo_parse_layout(t, cases[i].layout);
		if (rc != -EINVAL || strstr(slob_topo_strerror(t), cases[i].needle) == NULL)
			fail_msg("layout '%s': rc %d, error '%s', wanted '%s'", cases[i].layout, rc,
				 slob_topo_strerror(t), cases[i].needle);
		free(t);
	}
	struct slob_topology *t = new_topo();
	assert_int_equal(slob_topo_parse_layout(t, NULL), -EINVAL);
	/* '-' means unpinned */
	assert_int_equal(slob_topo_parse_layout(t, "a=x@-:yield"), 0);
	assert_int_equal(t->threads[0].cpu, -1);
	assert_int_equal(t->threads[0].wait, SLOB_WAIT_YIELD);
	free(t);
}

/* A valid small topology; `mutate` breaks it in one way. */
static int build_and_validate(struct slob_topology *t, void (*mutate)(struct slob_topology *))
{
	slob_topo_init(t);
	t->ncpus = 2;
	assert_int_equal(slob_topo_add_stage(t, "src", NULL), 0);
	assert_int_equal(slob_topo_add_stage(t, "mid", NULL), 0);
	assert_int_equal(slob_topo_add_stage(t, "sink", NULL), 0);
	assert_int_equal(slob_topo_add_ring(t, "a", 64, 16, "src", "mid"), 0);
	assert_int_equal(slob_topo_add_ring(t, "b", 64, 16, "mid", NULL), 0);
	assert_int_equal(slob_topo_attach(t, "b", "sink", SLOB_TOPO_CONSUMER), 0);
	assert_int_equal(slob_topo_add_thread(t, "t0", 0, SLOB_WAIT_SPIN), 0);
	assert_int_equal(slob_topo_add_thread(t, "t1", 1, SLOB_WAIT_BLOCK), 0);
	assert_int_equal(slob_topo_assign(t, "t0", "src"), 0);
	assert_int_equal(slob_topo_assign(t, "t1", "mid"), 0);
	if (mutate)
		mutate(t);
	else
		assert_int_equal(slob_topo_assign(t, "t1", "sink"), 0);
	return slob_topo_validate(t);
}

static void m_two_producers(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	slob_topo_attach(t, "a", "sink", SLOB_TOPO_PRODUCER);
}
static void m_two_consumers(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	slob_topo_attach(t, "b", "src", SLOB_TOPO_CONSUMER);
}
static void m_no_consumer(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	slob_topo_add_ring(t, "c", 8, 8, "sink", NULL);
}
static void m_on_two_threads(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	slob_topo_assign(t, "t0", "sink");
}
static void m_on_no_thread(struct slob_topology *t)
{
}
static void m_unknown_stage(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	slob_topo_assign(t, "t1", "snik");
}
static void m_unknown_ring_end(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	slob_topo_add_ring(t, "c", 8, 8, "sink", "ghost");
}
static void m_cpu_range(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	t->threads[1].cpu = 2;
}
static void m_bad_capacity(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	t->rings[1].capacity = 48; /* bypassing add_ring's own check */
}
static void m_zero_size(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	t->rings[0].rec_size = 0;
}
static void m_empty_thread(struct slob_topology *t)
{
	slob_topo_assign(t, "t1", "sink");
	slob_topo_add_thread(t, "t2", -1, SLOB_WAIT_YIELD);
}

struct bad_topo {
	void (*mutate)(struct slob_topology *);
	const char *needle;
};

static void test_validation_errors(void **state)
{
	const struct bad_topo cases[] = {
	    {m_two_producers, "ring 'a' has 2 producers: 'src' and 'sink'"},
	    {m_two_consumers, "ring 'b' has 2 consumers: 'sink' and 'src'"},
	    {m_no_consumer, "ring 'c' has no consumer"},
	    {m_on_two_threads, "stage 'sink' is on two threads: 't0' and 't1'"},
	    {m_on_no_thread, "stage 'sink' is on no thread"},
	    {m_unknown_stage, "thread 't1' names unknown stage 'snik'"},
	    {m_unknown_ring_end, "ring 'c': consumer 'ghost' is not a declared stage"},
	    {m_cpu_range, "thread 't1': CPU 2 is out of range (this machine has CPUs 0..1)"},
	    {m_bad_capacity, "ring 'b': capacity 48 is not a power of two"},
	    {m_zero_size, "ring 'a': record size is 0"},
	    {m_empty_thread, "thread 't2' runs no stage"},
	};
	struct slob_topology *t = new_topo();
	assert_int_equal(build_and_validate(t, NULL), 0);
	for (unsigned i = 0; i < SLOB_ARRAY_SIZE(cases); i++) {
		int rc = build_and_validate(t, cases[i].mutate);
		if (rc != -EINVAL || strstr(slob_topo_strerror(t), cases[i].needle) == NULL)
			fail_msg("case %u: rc %d, error '%s', wanted '%s'", i, rc,
				 slob_topo_strerror(t), cases[i].needle);
		assert_false(t->validated);
	}
	free(t);
}

static void test_declaration_errors(void **state)
{
	struct slob_topology *t = new_topo();
	assert_int_equal(slob_topo_validate(t), -EINVAL);
	assert_err_has(t, "no stages");
	assert_int_equal(slob_topo_add_stage(t, "x", NULL), 0);
	assert_int_equal(slob_topo_add_stage(t, "x", NULL), -EEXIST);
	assert_err_has(t, "stage 'x' is declared twice");
	assert_int_equal(slob_topo_add_stage(t, "", NULL), -EINVAL);
	assert_int_equal(slob_topo_add_stage(t, "a b", NULL), -EINVAL);
	assert_err_has(t, "invalid character ' '");
	assert_int_equal(slob_topo_add_stage(t, "abcdefghijklmnopqrstuvwxyz", NULL), -ENAMETOOLONG);
	assert_int_equal(slob_topo_add_ring(t, "r", 0, 8, "x", "x"), -EINVAL);
	assert_err_has(t, "ring 'r': capacity 0 is not a power of two");
	assert_int_equal(slob_topo_add_ring(t, "r", 12, 8, "x", "x"), -EINVAL);
	assert_err_has(t, "capacity 12");
	assert_int_equal(slob_topo_add_ring(t, "r", 8, 0, "x", "x"), -EINVAL);
	assert_err_has(t, "ring 'r': record size is 0");
	assert_int_equal(slob_topo_add_ring(t, "r", 8, 8, "x", NULL), 0);
	assert_int_equal(slob_topo_add_ring(t, "r", 8, 8, "x", NULL), -EEXIST);
	assert_int_equal(slob_topo_attach(t, "q", "x", SLOB_TOPO_CONSUMER), -ENOENT);
	assert_err_has(t, "unknown ring 'q'");
	assert_int_equal(slob_topo_add_thread(t, "th", -2, SLOB_WAIT_SPIN), -EINVAL);
	assert_int_equal(slob_topo_add_thread(t, "th", 0, SLOB_WAIT_SPIN), 0);
	assert_int_equal(slob_topo_add_thread(t, "th", 0, SLOB_WAIT_SPIN), -EEXIST);
	assert_int_equal(slob_topo_assign(t, "nope", "x"), -ENOENT);
	assert_err_has(t, "unknown thread 'nope'");
	assert_int_equal(slob_topo_bind_stage(t, "nope", (slob_stage_t *)t), -ENOENT);
	/* not validated: nothing can be created or started */
	assert_int_equal(slob_topo_create_rings(t), -EINVAL);
	assert_int_equal(slob_topo_start(t), -EINVAL);
	assert_err_has(t, "not validated");
	assert_null(slob_topo_ring(t, "r"));
	slob_topo_destroy(t);
	slob_topo_destroy(NULL);
	free(t);
}

/* ---- running a topology ------------------------------------------------ */

struct rec {
	uint64_t seq, pad;
};
SLOB_RING_TYPED(rr, struct rec)

struct node {
	slob_ring_t *in, *out;
	uint64_t n, next; /* source: records to emit */
	uint64_t got;	  /* records consumed */
	int bad;
	slob_thread_t *wake;
};

static int src_poll(slob_stage_t *st)
{
	struct node *s = st->ctx;
	if (s->next == s->n)
		return 0;
	struct rec r = {s->next + 1, 0};
	if (!rr_push(s->out, &r))
		return 0;
	/* release: partner is the acquire in src_done */
	__atomic_store_n(&s->next, s->next + 1, __ATOMIC_RELEASE);
	if (s->wake)
		slob_thread_wake(s->wake);
	return 1; /* one record per poll: a slow source */
}

static bool src_done(slob_stage_t *st)
{
	struct node *s = st->ctx;
	return __atomic_load_n(&s->next, __ATOMIC_ACQUIRE) == s->n;
}

/* relay / sink: no done(): finished when a pass does nothing after stop */
static int fwd_poll(slob_stage_t *st)
{
	struct node *s = st->ctx;
	int w = 0;
	const struct rec *p;
	while (w < 16 && (p = rr_peek(s->in, 0)) != NULL) {
		if (s->out && !rr_push(s->out, p))
			break;
		if (p->seq != s->got + 1)
			s->bad++;
		s->got = p->seq;
		slob_ring_release_spsc(s->in, 1);
		w++;
	}
	if (w && s->wake)
		slob_thread_wake(s->wake);
	return w;
}

#ifdef SLOB_SANITIZED
#define NREC 20000u
#else
#define NREC 200000u
#endif

struct pipe {
	struct slob_topology *t;
	struct node src, mid, sink;
	slob_stage_t s_src, s_mid, s_sink;
};

static void pipe_build(struct pipe *p, const char *layout, int ncpus)
{
	memset(p, 0, sizeof(*p));
	p->t = new_topo();
	p->t->ncpus = ncpus;
	p->s_src =
	    (slob_stage_t){.name = "src", .poll = src_poll, .done = src_done, .ctx = &p->src};
	p->s_mid = (slob_stage_t){.name = "mid", .poll = fwd_poll, .ctx = &p->mid};
	p->s_sink = (slob_stage_t){.name = "sink", .poll = fwd_poll, .ctx = &p->sink};
	assert_int_equal(slob_topo_add_stage(p->t, "src", &p->s_src), 0);
	assert_int_equal(slob_topo_add_stage(p->t, "mid", NULL), 0);
	assert_int_equal(slob_topo_bind_stage(p->t, "mid", &p->s_mid), 0);
	assert_int_equal(slob_topo_add_stage(p->t, "sink", &p->s_sink), 0);
	assert_int_equal(slob_topo_add_ring(p->t, "a", 1024, sizeof(struct rec), "src", "mid"), 0);
	assert_int_equal(slob_topo_add_ring(p->t, "b", 64, sizeof(struct rec), "mid", "sink"), 0);
	assert_int_equal(slob_topo_parse_layout(p->t, layout), 0);
	if (slob_topo_validate(p->t) != 0)
		fail_msg("%s", slob_topo_strerror(p->t));
	assert_int_equal(slob_topo_create_rings(p->t), 0);
	p->src.n = NREC;
	p->src.out = slob_topo_ring(p->t, "a");
	p->mid.in = slob_topo_ring(p->t, "a");
	p->mid.out = slob_topo_ring(p->t, "b");
	p->sink.in = slob_topo_ring(p->t, "b");
	assert_non_null(p->src.out);
	assert_non_null(p->sink.in);
	assert_int_equal(slob_ring_capacity(p->sink.in), 63);
}

static void pipe_check(struct pipe *p)
{
	assert_int_equal(p->src.next, NREC);
	assert_int_equal(p->mid.got, NREC);
	assert_int_equal(p->sink.got, NREC);
	assert_int_equal(p->mid.bad + p->sink.bad, 0);
	assert_int_equal(slob_ring_size(slob_topo_ring(p->t, "a")), 0);
	assert_int_equal(slob_ring_size(slob_topo_ring(p->t, "b")), 0);
	slob_topo_destroy(p->t);
	free(p->t);
}

/*
 * Three threads, the downstream ones without done(): only the ring-ordered
 * stop (src's thread joined before mid's is stopped, etc.) lets them drain
 * everything. The threads are declared downstream-first to show that the
 * order comes from the rings, not from the declaration.
 */
static void test_start_stop_drains_in_ring_order(void **state)
{
	struct pipe p;
	pipe_build(&p, "c=sink@-:block;b=mid@-:yield;a=src@-:spin", 2);
	p.src.wake = slob_topo_thread(p.t, "b");
	p.mid.wake = slob_topo_thread(p.t, "c");
	assert_int_equal(slob_topo_start(p.t), 0);
	assert_int_equal(slob_topo_start(p.t), -EINVAL); /* already running */
	assert_int_equal(slob_topo_stop(p.t), 0);
	pipe_check(&p);
}

/* The 2-core shape: pinned to CPUs 0 and 1 when the machine allows. */
static void test_pinned_two_threads(void **state)
{
	struct pipe p;
	pipe_build(&p, "hot=src,mid@0:spin;cold=sink@1:block", 0);
	p.mid.wake = slob_topo_thread(p.t, "cold");
	int rc = slob_topo_start(p.t);
	if (rc != 0) {
		print_message("pinning refused (%s): skipping the pinned run\n",
			      slob_topo_strerror(p.t));
		assert_non_null(strstr(slob_topo_strerror(p.t), "CPU"));
		slob_topo_destroy(p.t);
		free(p.t);
		skip();
	}
	assert_int_equal(slob_topo_stop(p.t), 0);
	pipe_check(&p);
}

static void test_run_here(void **state)
{
	struct pipe p;
	pipe_build(&p, "x=sink,mid@1;y=src@0", 2);
	assert_int_equal(slob_topo_run_here(p.t), 0);
	pipe_check(&p);
}

static void test_start_failure_names_thread(void **state)
{
	struct pipe p;
	/* pretend the machine has 1024 CPUs: the kernel refuses CPU 1000 */
	pipe_build(&p, "a=src@-;b=mid@-;c=sink@1000", 1024);
	int rc = slob_topo_start(p.t);
	assert_true(rc < 0);
	assert_err_has(p.t, "thread 'c' (CPU 1000) could not start");
	/* the threads already started were aborted and joined */
	assert_false(p.t->threads[0].started);
	assert_false(p.t->threads[1].started);
	slob_topo_destroy(p.t);
	free(p.t);
}

static void test_unbound_stage_refused(void **state)
{
	struct slob_topology *t = new_topo();
	t->ncpus = 1;
	assert_int_equal(slob_topo_add_stage(t, "x", NULL), 0);
	assert_int_equal(slob_topo_parse_layout(t, "t=x"), 0);
	assert_int_equal(slob_topo_validate(t), 0);
	assert_int_equal(slob_topo_create_rings(t), 0);
	assert_int_equal(slob_topo_start(t), -EINVAL);
	assert_err_has(t, "stage 'x' has no object");
	assert_int_equal(slob_topo_run_here(t), -EINVAL);
	slob_topo_destroy(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_default_layout),
	    cmocka_unit_test(test_default_layouts_validate),
	    cmocka_unit_test(test_layout_errors),
	    cmocka_unit_test(test_validation_errors),
	    cmocka_unit_test(test_declaration_errors),
	    cmocka_unit_test(test_start_stop_drains_in_ring_order),
	    cmocka_unit_test(test_pinned_two_threads),
	    cmocka_unit_test(test_run_here),
	    cmocka_unit_test(test_start_failure_names_thread),
	    cmocka_unit_test(test_unbound_stage_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
