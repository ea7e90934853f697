/* SPDX-License-Identifier: MIT */
/*
 * stats.h: the engine's stats file. A memory-mapped file with a versioned
 * layout in which the daemon publishes its status (up, pid, heartbeat,
 * connections, account, positions, breaker, equity, P&L, kill switch), the
 * counters of every stage (struct slob_stage_stats, mapped directly so the
 * stages write into the file) and latency histograms. slobctl and slob-dash
 * map it read-only; nothing in it is needed for trading, so a reader that
 * dies or lags never affects the engine.
 *
 * Layout (all offsets fixed by the header; little-endian host layout):
 *
 *   [ header  | status block | stage slot x max_stages | hist slot x max_hists ]
 *     4 KiB     4 KiB           sizeof(slot) each         sizeof(hist slot) each
 *
 * Design notes
 *  1. The header is written once at create, into a temporary file that is
 *     renamed over the final path only when complete, so a reader never maps
 *     a half-written header. `magic` is stored last with release order.
 *  2. The status block is a seqlock with ONE writer (the daemon's cold thread,
 *     which sees every risk/breaker/connection record; see
 *     slob_stats_status_apply_cold). The writer makes `seq` odd, stores the
 *     fields, makes `seq` even (release); a reader retries while `seq` is odd
 *     or changed across its copy. Readers never block the writer.
 *  3. Stage counters and histogram buckets are single-writer per slot (the
 *     thread that runs the stage); each field is stored with a relaxed atomic
 *     store and read with a relaxed atomic load. A reader sees each counter
 *     consistently but not a snapshot across counters (none is needed).
 *  4. Slots are registered at start-up by one thread before the stages run
 *     (names written, then `nstages`/`nhists` incremented with release);
 *     a reader loads the count with acquire and only reads slots below it.
 *  5. On a clean stop the daemon clears status.engine_up; after a crash the
 *     file stays with engine_up = 1 and a stale heartbeat: readers call an
 *     engine "up" only if engine_up, the heartbeat is fresh and the pid lives
 *     (slob_stats_engine_alive).
 *  6. Hot-path functions here (slob_stats_add/set/max, and slob_hist_record
 *     on a registered histogram) do no syscalls, allocation or locking.
 */
#ifndef SLOB_STATS_H
#define SLOB_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/connstate.h"
#include "engine/hist.h"
#include "engine/stage.h"
#include "ringbuf/compiler.h"

#define SLOB_STATS_MAGIC 0x54415453424f4c53ull /* "SLOBSTAT" little-endian */
#define SLOB_STATS_VERSION 1
#define SLOB_STATS_MAX_STAGES 16
#define SLOB_STATS_MAX_HISTS 16
#define SLOB_STATS_NAME_LEN 32
#define SLOB_STATS_REASON_LEN 24
#define SLOB_STATS_MAX_POSITIONS 8
/* A heartbeat older than this (ns) means the engine is not running. */
#define SLOB_STATS_STALE_NS (5ll * 1000000000ll)

enum slob_stats_mode {
	SLOB_STATS_MODE_NONE = 0,
	SLOB_STATS_MODE_PAPER,
	SLOB_STATS_MODE_LIVE,
	SLOB_STATS_MODE_REPLAY
};

/* status.conn[] holds enum slob_conn_state (engine/connstate.h, the one
 * definition the sessions' SLOB_COLD_CONN records use too). */
enum slob_stats_conn {
	SLOB_STATS_CONN_DOWN = SLOB_CONN_DOWN,
	SLOB_STATS_CONN_CONNECTING = SLOB_CONN_CONNECTING,
	SLOB_STATS_CONN_UP = SLOB_CONN_UP,
	SLOB_STATS_CONN_DISABLED = SLOB_CONN_DISABLED, /* not configured (replay) */
	SLOB_STATS_CONN_RECONCILED = SLOB_CONN_RECONCILED,
};

/* Connection indexes in status.conn[] (enum slob_conn_session) */
enum {
	SLOB_STATS_CONN_MD = SLOB_CONN_MD,
	SLOB_STATS_CONN_ORDERS = SLOB_CONN_ORDERS,
	SLOB_STATS_NCONN = SLOB_CONN_NSESSIONS
};

struct slob_stats_header {
	uint64_t magic;	      /* SLOB_STATS_MAGIC, stored last at create */
	uint32_t version;     /* SLOB_STATS_VERSION */
	uint32_t header_size; /* sizeof(struct slob_stats_header) */
	uint32_t status_off, status_size;
	uint32_t stages_off, stage_size, max_stages;
	uint32_t hists_off, hist_size, max_hists;
	uint32_t hist_sub_bits, hist_buckets; /* SLOB_HIST_SUB_BITS, SLOB_HIST_BUCKETS */
	uint32_t nstages;		      /* atomic, release after the slot is named */
	uint32_t nhists;		      /* atomic, idem */
	uint64_t file_size;
	int64_t created_ns; /* CLOCK_REALTIME at create */
	int32_t creator_pid;
	uint32_t pad_;
};

struct slob_stats_position {
	char symbol[8]; /* e.g. "NQ" */
	int32_t qty;	/* signed contracts */
	int32_t avg_px; /* ticks */
	int32_t sl, tp; /* ticks, 0 = none */
};

/* Seqlock-protected status block (design note 2). */
struct slob_stats_status {
	uint64_t seq;	   /* odd while being written */
	int32_t engine_up; /* 1 running, 0 stopped cleanly */
	int32_t pid;
	int64_t started_ns;		/* CLOCK_REALTIME */
	int64_t heartbeat_ns;		/* CLOCK_REALTIME of the last cold-thread tick */
	int32_t mode;			/* enum slob_stats_mode */
	int32_t kill_switch;		/* 1: no new positions */
	int32_t conn[SLOB_STATS_NCONN]; /* enum slob_conn_state */
	int64_t conn_since_ns[SLOB_STATS_NCONN]; /* CLOCK_REALTIME of the last change */
	uint32_t conn_drops[SLOB_STATS_NCONN]; /* connected -> not, since start (connstate.h 2) */
	char account[16];
	int32_t breaker;	/* 1 tripped */
	int32_t breaker_reason; /* risk reason code */
	int64_t breaker_since_ns;
	int64_t equity_cents, peak_cents, daily_pnl_cents;
	int32_t open_positions;
	int32_t trading_day; /* yyyymmdd New York */
	uint32_t npositions;
	uint32_t pad_;
	struct slob_stats_position positions[SLOB_STATS_MAX_POSITIONS];
	uint64_t cold_backlog; /* records waiting for the cold thread */
	uint64_t alerts_sent, alerts_failed, alerts_dropped;
	uint64_t log_lines, log_errors; /* log_errors: failed writes (e.g. ENOSPC) */
	uint64_t store_errors;
	uint32_t alerts_down; /* bit 0 telegram, bit 1 e-mail: channel DOWN */
	uint32_t pad2_;
	/* broker account (live order session; acct_have 0 = no figures yet) */
	uint32_t acct_have;	     /* enum slob_acct_have (engine/event.h) */
	int32_t acct_stale;	     /* 1: new entries held for stale/missing figures */
	int64_t acct_net_liq_cents, acct_available_cents, acct_excess_liq_cents;
	int64_t acct_init_margin_cents, acct_maint_margin_cents;
	int64_t acct_margin_1_cents; /* initial margin per contract (what-if) */
	int64_t acct_updated_ns;     /* CLOCK_REALTIME of the last summary figure */
	int64_t sizing_equity_cents; /* equity the next size uses */
	int32_t sizing_equity_src;   /* enum slob_equity_src: 0 config, 1 broker */
	char acct_currency[4];
};

/* One stage's slot: its counters are written by the stage's thread in place. */
struct slob_stats_stage_slot {
	char name[SLOB_STATS_NAME_LEN];
	uint64_t ring_fill; /* current fill of the input ring(s), relaxed store */
	uint64_t ring_cap;  /* capacity of the input ring(s) */
	char reason_names[SLOB_MAX_REASONS][SLOB_STATS_REASON_LEN];
	struct slob_stage_stats stats; /* cache aligned */
} SLOB_CACHE_ALIGNED;

/* One latency histogram (engine/hist.h, values in ns): single writer. */
struct slob_stats_hist_slot {
	char name[SLOB_STATS_NAME_LEN];
	slob_hist_t h; /* cache aligned; read with slob_hist_percentile() */
} SLOB_CACHE_ALIGNED;

struct slob_stats {
	void *map; /* whole file */
	size_t len;
	int writable;
	struct slob_stats_header *hdr;
	struct slob_stats_status *status;
	struct slob_stats_stage_slot *stages;
	struct slob_stats_hist_slot *hists;
	unsigned wdepth; /* writer-private nesting of status_begin/end */
};
typedef struct slob_stats slob_stats_t;

/* A reader's consistent copy of the status block plus derived liveness. */
struct slob_stats_snapshot {
	struct slob_stats_status st;
	bool alive; /* engine_up && heartbeat fresh && pid exists */
	int64_t heartbeat_age_ns;
};

/*
 * slob_stats_create - creates (or replaces) the stats file at `path` with
 * mode 0644, writing it to "<path>.tmp" then renaming (design note 1), and
 * maps it read-write. Status: engine_up = 0, pid = getpid().
 * Returns 0 or -errno (message in err, naming the path). Daemon start-up
 * thread; blocks on file I/O.
 */
int slob_stats_create(slob_stats_t *s, const char *path, char *err, size_t errlen);

/*
 * slob_stats_open - maps an existing stats file read-only and validates
 * magic, version and sizes. Returns 0, -ENOENT (no file: the engine never
 * ran here), -EPROTO (bad magic/version/layout, message says which), or
 * -errno. Any thread; blocks on file I/O.
 */
int slob_stats_open(slob_stats_t *s, const char *path, char *err, size_t errlen);

/* Unmaps. Accepts zeroed/half-initialised objects. */
void slob_stats_close(slob_stats_t *s);

/*
 * slob_stats_stage_register - claims the next stage slot under `name` and
 * returns a pointer to its counters (to store in slob_stage.stats), or NULL
 * when the table is full or the file is read-only. Start-up thread only.
 */
struct slob_stage_stats *slob_stats_stage_register(slob_stats_t *s, const char *name);
/* The whole slot of a registered stage (ring fill, reason names), or NULL. */
struct slob_stats_stage_slot *slob_stats_stage_slot(slob_stats_t *s, const char *name);
/* Names reason counter `idx` of a stage slot (e.g. risk reject reasons). Start-up only. */
int slob_stats_stage_reason_name(struct slob_stats_stage_slot *slot, unsigned idx,
				 const char *name);

/*
 * slob_stats_sample_rings - for each stage that has a slot (matched by
 * name), stores the current fill and capacity of its input rings (summed)
 * into slot.ring_fill / slot.ring_cap, which `slobctl status` shows as
 * "ring fill". Returns how many slots were updated. The single writer of
 * these two fields: call it from one thread only (the cold thread's tick;
 * slob_ops_sink_tick does when given the stages). Never blocks.
 */
int slob_stats_sample_rings(slob_stats_t *s, slob_stage_t *const *stages, unsigned n);

/*
 * slob_stats_hist_register - claims a histogram slot under `name` (e.g.
 * "tick_to_order") and returns the histogram inside the file for its writer
 * to record into with slob_hist_record(); NULL when full or read-only.
 * Start-up thread only.
 */
slob_hist_t *slob_stats_hist_register(slob_stats_t *s, const char *name);

/* Reader side: number of published slots (acquire, design note 4). */
unsigned slob_stats_nstages(const slob_stats_t *s);
unsigned slob_stats_nhists(const slob_stats_t *s);

/* ---- status block (single writer, design note 2) ---------------------- */

/*
 * Begins/ends an update of the status block. Pairs may nest (only the
 * outermost pair moves the sequence number), so a caller may wrap
 * slob_stats_status_apply_cold in its own begin/end. Writer thread only;
 * never blocks.
 */
void slob_stats_status_begin(slob_stats_t *s);
void slob_stats_status_end(slob_stats_t *s);

/*
 * slob_stats_status_apply_cold - updates the status block from a cold record
 * (RISK_STATE: equity/peak/P&L/open positions; BREAKER: breaker; CONN: the
 * session's state, since and drops; POSITION:
 * position table). CONN codes are slob_conn_code(session, state)
 * (engine/connstate.h). Returns 1 if the record changed the status, else 0.
 * Status writer only (the cold thread).
 */
struct slob_cold;
int slob_stats_status_apply_cold(slob_stats_t *s, const struct slob_cold *rec);

/* Sets heartbeat_ns = now_ns (in a begin/end pair). Status writer only. */
void slob_stats_heartbeat(slob_stats_t *s, int64_t now_ns);

/*
 * slob_stats_snapshot - copies the status block consistently (seqlock
 * retries, at most `SLOB_STATS_SNAPSHOT_TRIES`), and derives liveness using
 * now_ns (CLOCK_REALTIME). Returns 0, or -EAGAIN if the writer kept it busy.
 * Any thread; never blocks.
 */
#define SLOB_STATS_SNAPSHOT_TRIES 10000
int slob_stats_snapshot(const slob_stats_t *s, int64_t now_ns, struct slob_stats_snapshot *out);

/* ---- counters and histograms (hot path, design note 3, 6) -------------- */

static inline void slob_stats_add(uint64_t *ctr, uint64_t n)
{
	/* single writer: load+store, no RMW needed; relaxed, read by slob_stats_load */
	__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void slob_stats_set(uint64_t *ctr, uint64_t v)
{
	__atomic_store_n(ctr, v, __ATOMIC_RELAXED);
}

static inline void slob_stats_max(uint64_t *ctr, uint64_t v)
{
	if (v > __atomic_load_n(ctr, __ATOMIC_RELAXED))
		__atomic_store_n(ctr, v, __ATOMIC_RELAXED);
}

static inline uint64_t slob_stats_load(const uint64_t *ctr)
{
	return __atomic_load_n(ctr, __ATOMIC_RELAXED);
}

/* Returns true if the engine that wrote `snap` is running (design note 5). */
bool slob_stats_engine_alive(const struct slob_stats_status *st, int64_t now_ns, int64_t *age_ns);

/* Display names. */
const char *slob_stats_mode_name(int mode);
const char *slob_stats_conn_name(int conn);

#endif /* SLOB_STATS_H */
