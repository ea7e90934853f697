/* SPDX-License-Identifier: MIT */
/*
 * topology.h: the one place where a pipeline is declared - its stages, the
 * SPSC rings between them, and which thread (CPU, wait strategy) runs each
 * stage - validated as a whole before anything starts. engine/pipeline.c
 * declares the concrete slob pipeline on top of this; the thread layout
 * comes from configuration as a layout string (grammar below), so the same
 * pipeline runs as one pinned thread per stage on a large machine or as
 * "hot thread + cold thread" on two cores.
 *
 * Use (every call before start is cold-path, single-threaded):
 *
 *   struct slob_topology *t = calloc(1, sizeof(*t)); // ~48 KiB: heap or static
 *   slob_topo_init(t);
 *   slob_topo_add_stage(t, "ingest", &ingest_stage);          // slob_stage_t *
 *   slob_topo_add_stage(t, "candles", &candles_stage);
 *   slob_topo_add_ring(t, "ticks", 4096, sizeof(struct slob_tick),
 *                      "ingest", "candles");
 *   slob_topo_parse_layout(t, cfg_layout ? cfg_layout
 *                                        : slob_topo_default_layout(ncpu));
 *   if (slob_topo_validate(t) < 0) die(slob_topo_strerror(t));
 *   slob_topo_create_rings(t);                 // allocates every ring once
 *   ingest_ctx.out = slob_topo_ring(t, "ticks"); ...   // wire the stages
 *   slob_topo_start(t);                        // threads, pinned
 *   ...                                        // running
 *   slob_topo_stop(t);                         // drains in ring order, joins
 *   slob_topo_destroy(t);
 *
 * Layout grammar (whitespace around tokens is ignored):
 *
 *   layout := thread { ';' thread } [ ';' ]
 *   thread := NAME '=' NAME { ',' NAME } [ '@' cpu ] [ ':' wait ]
 *   cpu    := decimal CPU number | '-'       (default '-': not pinned)
 *   wait   := 'spin' | 'yield' | 'block'     (default 'spin')
 *   NAME   := [A-Za-z0-9_.-]{1,23}
 *
 *   e.g. "hot=ingest,candles,detector,risk,sender@0:spin;cold=cold@1:block"
 *
 * Design notes
 *  1. Every ring has exactly one producer stage and one consumer stage
 *     (DESIGN.md); a stage runs on exactly one thread; names are unique per
 *     kind. slob_topo_validate checks all of it, plus capacities (power of
 *     two >= 2), record sizes (> 0), CPU numbers (< the CPU count), thread
 *     sizes (1..SLOB_THREAD_MAX_STAGES stages) and that every stage is bound
 *     to a stage object.
 *  2. Declarations copy names into the struct (no pointers to caller
 *     strings kept); stage objects (slob_stage_t) are the caller's and must
 *     outlive the topology. The topology allocates nothing but ring storage
 *     (slob_topo_create_rings).
 *  3. Stop order: threads are stopped and joined in the order of the
 *     thread graph (thread A before B when a ring runs from a stage on A to
 *     a stage on B, ignoring rings inside one thread), so a downstream
 *     thread only drains after everything upstream has finished and flushed.
 *     Threads on a cycle are stopped together and rely on their stages'
 *     done() (engine/stage.h) to drain.
 *     slob_topo_start / slob_topo_run_here record every ring as an input
 *     of its consumer stage (slob_stage_t.inputs), so a stage without
 *     done() is only finished once its input rings are empty.
 *  4. Errors: functions return 0 or -errno and leave one human message,
 *     naming the element (and the column for layout errors), in the
 *     topology (slob_topo_strerror).
 */
#ifndef SLOB_TOPOLOGY_H
#define SLOB_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/stage.h"
#include "ringbuf/ring.h"

#define SLOB_TOPO_NAME_MAX 24 /* including the NUL */
#define SLOB_TOPO_MAX_STAGES 32
#define SLOB_TOPO_MAX_RINGS 64
#define SLOB_TOPO_MAX_THREADS 16

enum slob_topo_end { SLOB_TOPO_PRODUCER = 0, SLOB_TOPO_CONSUMER = 1 };

struct slob_topo_stage {
	char name[SLOB_TOPO_NAME_MAX];
	slob_stage_t *stage; /* NULL until slob_topo_bind_stage */
	int thread;	     /* index into threads[], -1: none (set by validate) */
};

struct slob_topo_ring {
	char name[SLOB_TOPO_NAME_MAX];
	unsigned int capacity;
	unsigned int rec_size;
	/* endpoints; a second producer/consumer is kept to report it */
	char prod[2][SLOB_TOPO_NAME_MAX];
	char cons[2][SLOB_TOPO_NAME_MAX];
	unsigned int nprod, ncons;
	slob_ring_t ring; /* valid after slob_topo_create_rings */
	bool created;
};

struct slob_topo_thread {
	char name[SLOB_TOPO_NAME_MAX];
	int cpu; /* -1: not pinned */
	enum slob_wait wait;
	char stages[SLOB_THREAD_MAX_STAGES + 1][SLOB_TOPO_NAME_MAX]; /* +1: detect overflow */
	unsigned int nstages;
	slob_thread_t thr; /* valid after slob_topo_start */
	bool started;
};

struct slob_topology {
	struct slob_topo_stage stages[SLOB_TOPO_MAX_STAGES];
	unsigned int nstages;
	struct slob_topo_ring rings[SLOB_TOPO_MAX_RINGS];
	unsigned int nrings;
	struct slob_topo_thread threads[SLOB_TOPO_MAX_THREADS];
	unsigned int nthreads;
	int ncpus; /* CPUs allowed for pinning; 0: ask the system */
	bool validated;
	char err[256];
};

/* Empties the topology. */
void slob_topo_init(struct slob_topology *t);

/* The last error message ("" if none). */
const char *slob_topo_strerror(const struct slob_topology *t);

/*
 * slob_topo_add_stage - declares a stage and binds its object (may be NULL
 * and bound later with slob_topo_bind_stage, e.g. when a config check only
 * needs the names). Returns 0, -EEXIST (duplicate name), -ENAMETOOLONG,
 * -EINVAL (empty or invalid name), -E2BIG (too many stages).
 */
int slob_topo_add_stage(struct slob_topology *t, const char *name, slob_stage_t *st);

/* Binds the object of an already declared stage. 0, -ENOENT, -EINVAL. */
int slob_topo_bind_stage(struct slob_topology *t, const char *name, slob_stage_t *st);

/*
 * slob_topo_add_ring - declares a ring of `capacity` slots (power of two >=
 * 2) of `rec_size` bytes from stage `producer` to stage `consumer` (either
 * may be NULL and attached later with slob_topo_attach). The values are
 * checked here and again by validate. Returns 0, -EINVAL (capacity, size,
 * name), -EEXIST (ring declared twice), -E2BIG.
 */
int slob_topo_add_ring(struct slob_topology *t, const char *name, unsigned int capacity,
		       unsigned int rec_size, const char *producer, const char *consumer);

/*
 * slob_topo_attach - records `stage` as producer or consumer of `ring`.
 * Attaching a second producer (or consumer) is accepted here and refused by
 * validate with a message naming both. Returns 0, -ENOENT (no such ring),
 * -EINVAL.
 */
int slob_topo_attach(struct slob_topology *t, const char *ring, const char *stage,
		     enum slob_topo_end end);

/*
 * slob_topo_add_thread - declares a thread; stages are added with
 * slob_topo_assign. cpu -1 = not pinned. Returns 0, -EEXIST, -EINVAL, -E2BIG.
 */
int slob_topo_add_thread(struct slob_topology *t, const char *name, int cpu, enum slob_wait wait);

/* Puts `stage` on `thread` (in poll order). 0, -ENOENT (thread), -E2BIG. */
int slob_topo_assign(struct slob_topology *t, const char *thread, const char *stage);

/*
 * slob_topo_parse_layout - adds the threads described by a layout string
 * (grammar above). Stage names are resolved by validate. Returns 0 or
 * -EINVAL with a message "layout column N: ...".
 */
int slob_topo_parse_layout(struct slob_topology *t, const char *layout);

/*
 * slob_topo_default_layout - the layout for a machine with `ncpus` CPUs and
 * the slob pipeline's stage names (ingest, candles, detector, risk, sender,
 * cold): 1 CPU: both threads unpinned (hot yields, cold blocks); 2..5 CPUs:
 * hot stages on one spinning thread on CPU 0, cold on CPU 1 (blocking);
 * >= 6: one spinning thread per hot stage on CPUs 1..5, cold on CPU 0.
 * Returns a static string.
 */
const char *slob_topo_default_layout(int ncpus);

/*
 * slob_topo_validate - checks design note 1; returns 0 or -EINVAL with the
 * first problem in slob_topo_strerror(), e.g.
 *   "ring 'ticks' has two producers: 'ingest' and 'candles'".
 * `ncpus` of the struct (0: sysconf) bounds CPU numbers.
 */
int slob_topo_validate(struct slob_topology *t);

/* Allocates every ring (validated topology only). 0, -EINVAL, -ENOMEM. */
int slob_topo_create_rings(struct slob_topology *t);

/* The created ring named `name`, or NULL. */
slob_ring_t *slob_topo_ring(struct slob_topology *t, const char *name);

/* Index of the thread that runs stage `name`, or -1 (after validate). */
int slob_topo_stage_thread(const struct slob_topology *t, const char *name);

/* The runtime thread of thread `name` (after start; e.g. for slob_thread_wake). */
slob_thread_t *slob_topo_thread(struct slob_topology *t, const char *name);

/*
 * slob_topo_start - creates and starts every thread (validated topology,
 * rings created, every stage bound). On failure (e.g. pinning refused) the
 * threads already started are aborted and joined and -errno is returned
 * with a message naming the thread and CPU. Calling thread: the owner.
 */
int slob_topo_start(struct slob_topology *t);

/*
 * slob_topo_stop - clean shutdown: stops and joins the threads in ring order
 * (design note 3), each draining its stages. Blocks until all have exited.
 * Returns 0 or the first thread's negative result.
 */
int slob_topo_stop(struct slob_topology *t);

/* Aborts every thread (no drain) and joins them. Returns as slob_topo_stop. */
int slob_topo_abort(struct slob_topology *t);

/*
 * slob_topo_run_here - single-threaded replay: runs every stage on the
 * calling thread, in layout order (threads, then stages within a thread),
 * until all are done (slob_thread_run_here). Validated topology with rings
 * created; at most SLOB_THREAD_MAX_STAGES stages. Returns 0, -E2BIG, or the
 * first negative poll result.
 */
int slob_topo_run_here(struct slob_topology *t);

/* Releases threads' eventfds and ring storage. Accepts NULL. */
void slob_topo_destroy(struct slob_topology *t);

#endif /* SLOB_TOPOLOGY_H */
