/* SPDX-License-Identifier: MIT */
/*
 * stage.h: the stage runtime. A stage is an object with a poll function that
 * drains its input rings and does a bounded amount of work; a thread runs one
 * or more stages in a loop with a wait strategy, optionally pinned to a CPU.
 *
 * Design notes
 *  1. poll() never blocks, allocates, locks or logs; it returns the number of
 *     work units done (records consumed or produced), 0 when idle, or a
 *     negative errno on a fatal error (the thread then stops the pipeline).
 *  2. done() tells the runtime the stage has seen its end-of-stream marker
 *     and flushed every output; a thread exits once stop was requested and
 *     every stage it runs is done, or on slob_thread_abort().
 *  3. A stage's counters live in `stats` (the stats file maps them, see
 *     engine/stats.h); they are written by the stage's thread only, with
 *     relaxed atomic stores, and read by anyone.
 *
 *   thread loop:  for (;;) { work = sum(stage.poll()); if (!work) wait(); }
 *   wait:         SPIN: cpu pause | YIELD: sched_yield | BLOCK: eventfd, 1 ms cap
 */
#ifndef SLOB_STAGE_H
#define SLOB_STAGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ringbuf/compiler.h"

#define SLOB_MAX_REASONS 32
#define SLOB_STAGE_MAX_INPUTS 16

/* Counters of one stage; one writer (the stage's thread). */
struct slob_stage_stats {
	uint64_t in;             /* records consumed */
	uint64_t out;            /* records produced */
	uint64_t polls;          /* poll calls */
	uint64_t idle_polls;     /* poll calls that did nothing */
	uint64_t drops;          /* informational records dropped (cold ring full) */
	uint64_t backpressure;   /* times an output ring was full */
	uint64_t ring_fill_max;  /* peak fill of the stage's input ring(s) */
	uint64_t errors;
	uint64_t reasons[SLOB_MAX_REASONS]; /* per-stage reason counters (e.g. risk rejects) */
} SLOB_CACHE_ALIGNED;

struct slob_stage;
struct slob_ring;
typedef int (*slob_stage_poll_fn)(struct slob_stage *st);
typedef bool (*slob_stage_done_fn)(struct slob_stage *st);

struct slob_stage {
	const char *name;
	slob_stage_poll_fn poll;
	slob_stage_done_fn done;        /* NULL: never done on its own */
	void *ctx;                      /* the stage's own state */
	struct slob_stage_stats *stats; /* never NULL once added to a thread */
	struct slob_stage_stats own_stats; /* used when no stats file maps it */
	/* Input rings (filled by engine/topology.c, or by hand). A stage
	 * without done() counts as finished on stop only after a pass in which
	 * it did no work *and* all of these were empty: "no work" alone can
	 * also mean "output ring full". */
	struct slob_ring *inputs[SLOB_STAGE_MAX_INPUTS];
	unsigned ninputs;
};
typedef struct slob_stage slob_stage_t;

enum slob_wait { SLOB_WAIT_SPIN = 0, SLOB_WAIT_YIELD, SLOB_WAIT_BLOCK };

#define SLOB_THREAD_MAX_STAGES 8

struct slob_thread {
	const char *name;
	int cpu;                        /* -1: not pinned */
	enum slob_wait wait;
	slob_stage_t *stages[SLOB_THREAD_MAX_STAGES];
	unsigned nstages;
	int efd;                        /* eventfd for SLOB_WAIT_BLOCK */
	int sleeping;                   /* atomic: consumer parked on efd */
	int stop;                       /* atomic: stop requested (drain first) */
	int abort_;                     /* atomic: stop now */
	int result;                     /* first negative poll result, or 0 */
	int started;
	pthread_t tid;
};
typedef struct slob_thread slob_thread_t;

/* Sets up a thread description. cpu -1 = no pinning. Returns 0 or -errno. */
int slob_thread_init(slob_thread_t *t, const char *name, int cpu, enum slob_wait wait);
/* Adds a stage (before start). Returns 0, -E2BIG when full, -EINVAL. */
int slob_thread_add(slob_thread_t *t, slob_stage_t *st);
/* Starts the thread; pins it if cpu >= 0 (failure to pin: -errno, thread not started). */
int slob_thread_start(slob_thread_t *t);
/* Runs the loop on the calling thread until done (single-threaded replays). */
int slob_thread_run_here(slob_thread_t *t);
/* Asks the thread to finish: keep polling until every stage is done(). Any thread. */
void slob_thread_stop(slob_thread_t *t);
/* Asks the thread to exit at once, without draining. Any thread. */
void slob_thread_abort(slob_thread_t *t);
/* Wakes a thread parked in SLOB_WAIT_BLOCK (cheap no-op when it is not). Any thread. */
void slob_thread_wake(slob_thread_t *t);
/* Joins; returns the thread's result (0 or the first negative poll result). */
int slob_thread_join(slob_thread_t *t);
/* Releases the eventfd. Accepts NULL and never-started threads. */
void slob_thread_destroy(slob_thread_t *t);

/* Parses "spin" | "yield" | "block". Returns 0 or -EINVAL. */
int slob_wait_parse(const char *s, enum slob_wait *out);

#endif /* SLOB_STAGE_H */
