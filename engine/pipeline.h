/* SPDX-License-Identifier: MIT */
/*
 * pipeline.h: the concrete slob pipeline, declared in one place on top of
 * engine/topology.h:
 *
 *   ingest --ticks--> candles --bars--> detector --sigs--> risk --intents--> sender
 *   ingest --tap----------------------------------------------------------> sender
 *                                                        risk <--execs---- sender
 *   candles, detector, risk, sender --cold.<stage>--> cold (SQLite, logs, alerts)
 *
 * A bar file is replayed as ticks (slobd converts each M1 bar into four
 * ticks that rebuild the same OHLC). In live mode, ticks come from the TWS market-data
 * connection and the sender speaks to the order connection; in replay mode
 * the sender's paper broker fills against the tap.
 *
 * Design notes
 *  1. Everything is allocated by slob_pipeline_build (start-up); nothing
 *     after slob_pipeline_start allocates on the hot threads.
 *  2. The thread layout is configuration ([pipeline] layout): "auto" picks
 *     slob_topo_default_layout() for the CPU count, "single" runs every stage
 *     on one thread, anything else is a topology layout string. The
 *     decision digest does not depend on the layout (event.h determinism
 *     protocol; a test compares layouts).
 *  3. Stop: slob_pipeline_request_stop() is async-signal-safe (a flag); the
 *     thread that called slob_pipeline_wait() then stops ingest, lets every
 *     ring drain in order, marks the cold producers finished and joins. Open
 *     brackets stay at the broker.
 */
#ifndef SLOB_PIPELINE_H
#define SLOB_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/candles.h"
#include "engine/config.h"
#include "engine/detector.h"
#include "engine/hist.h"
#include "engine/ingest.h"
#include "engine/instrument.h"
#include "engine/journal.h"
#include "engine/risk.h"
#include "engine/sender.h"
#include "engine/stats.h"
#include "engine/topology.h"
#include "engine/tws_conn.h"
#include "persist/alert.h"
#include "persist/cold.h"
#include "persist/log.h"
#include "persist/recover.h"

enum slob_pipeline_mode { SLOB_PIPE_REPLAY = 0, SLOB_PIPE_LIVE = 1 };

enum slob_pipeline_cold_producer {
	SLOB_PIPE_COLD_CANDLES = 0,
	SLOB_PIPE_COLD_DETECTOR,
	SLOB_PIPE_COLD_RISK,
	SLOB_PIPE_COLD_SENDER,
	SLOB_PIPE_COLD_INGEST,    /* live market-data session (connection alerts) */
	SLOB_PIPE_COLD_CONTROL,   /* start/stop records from the daemon thread */
	SLOB_PIPE_COLD_N
};

/* Everything the pipeline needs, parsed and validated by the caller. */
struct slob_pipeline_opts {
	enum slob_pipeline_mode mode;
	bool wall_clock_bars;               /* live: close quiet minutes by the clock */
	unsigned fault_dup_setups;          /* drills only ([fault] duplicate_setup):
					     * every setup signal reaches risk N times */
	const char *layout;                 /* "auto", "single" or a topology string */
	enum slob_wait hot_wait, cold_wait;
	bool pin;
	unsigned tick_ring, tap_ring, ring, cold_ring;
	struct slob_instrument instrument;
	struct slob_ingest_params ingest;
	struct slob_candles_params candles;
	struct slob_detector_params detector;
	struct slob_risk_params risk;
	struct slob_sender_params sender;
	struct slob_cold_params cold;
	struct slob_tws_params tws;          /* live mode */
	slob_store_t *store;                /* open store (cold writer's connection) */
	const struct slob_recovered *recovered; /* state loaded at start, may be NULL */
	struct slob_journal *journal;       /* order journal (engine/journal.h), NULL-able:
					     * the sender appends, the cold thread syncs */
	slob_stats_t *stats;                /* may be NULL */
	slob_log_t *log;                    /* may be NULL */
	slob_alert_t *alert;                /* may be NULL */
};

struct slob_pipeline_summary {
	uint64_t ticks, bars, setups, setups_short, setups_long, invalidated;
	uint64_t decisions, brackets, rejected_by_risk, fills, trades, cold_records, cold_dropped;
	int64_t realised_cents, equity_cents;
	uint64_t digest;                    /* decision journal digest */
	double seconds;                     /* wall time from start to drained */
	double hot_seconds;                 /* wall time until the hot threads finished */
	uint64_t lat_count, lat_p50, lat_p99, lat_p999, lat_max; /* tick -> order, ns */
	uint64_t peak_ring_fill;            /* max over rings, records */
	bool flat_out;                      /* replay as fast as possible (not paced, not live) */
	uint64_t live_candidates_peak;
	uint64_t dup_levels;                /* setups refused: same levels as a live bracket */
	/* market data the validator refused (engine/tickcheck.h) */
	uint64_t rejected;                  /* ticks rejected, all reasons */
	uint64_t rejected_by[SLOB_TICKREJ_N];
	uint64_t reanchors;
	char first_rejected[448];           /* "file:line: reason (time, price)", "" if none */
};

struct slob_pipeline;
typedef struct slob_pipeline slob_pipeline_t;

/*
 * slob_pipeline_build - declares and validates the topology, allocates the
 * rings and every stage, restores the recovered state into risk (and the
 * known orders into the sender), and binds stats counters. Nothing runs yet.
 * Returns 0 or -errno with a message naming the stage or setting in err.
 */
int slob_pipeline_build(slob_pipeline_t **out, const struct slob_pipeline_opts *o, char *err,
			size_t errlen);

/* Starts the threads (pinned per layout). 0 or -errno (err). */
int slob_pipeline_start(slob_pipeline_t *p, char *err, size_t errlen);

/* Async-signal-safe: ask for a graceful stop. */
void slob_pipeline_request_stop(slob_pipeline_t *p);

/*
 * slob_pipeline_wait - blocks until the replay has drained through every
 * stage (or a stop was requested and everything is drained), then joins.
 * `heartbeat` (may be NULL) is called about every 100 ms from the waiting
 * thread (systemd watchdog, SIGHUP handling). Returns 0 or the first stage
 * error (-errno).
 */
int slob_pipeline_wait(slob_pipeline_t *p, void (*heartbeat)(void *), void *ctx);

/* Runs the whole pipeline on the calling thread (layout ignored): for sweeps. */
int slob_pipeline_run_inline(slob_pipeline_t *p);

void slob_pipeline_summary(const slob_pipeline_t *p, struct slob_pipeline_summary *out);
void slob_pipeline_summary_print(const struct slob_pipeline_summary *s,
				 const struct slob_instrument *in, FILE *out, bool json);

/*
 * slob_pipeline_control_put - hands a record (start/stop alerts, daemon log
 * lines) to the cold thread through the control ring. Only ONE thread may
 * call it (the daemon's main thread): the ring is SPSC. Returns 0, or
 * -ENOSPC when a trade-class record could not be queued.
 */
int slob_pipeline_control_put(slob_pipeline_t *p, struct slob_cold *rec);

/* Free slots in the control ring (the caller of slob_pipeline_control_put
 * only): INFO records put into a full ring are dropped, not refused. */
unsigned slob_pipeline_control_room(slob_pipeline_t *p);

/* Control (any thread): operator commands. */
slob_risk_t *slob_pipeline_risk(slob_pipeline_t *p);
const char *slob_pipeline_error(const slob_pipeline_t *p);
/* The topology (benchmarks and tests wrap stages; never after start). */
struct slob_topology *slob_pipeline_topology(slob_pipeline_t *p);

void slob_pipeline_free(slob_pipeline_t *p);

/* Reads [pipeline] [instrument] [ingest] [candles] [detector] [risk] [sender]
 * [cold] sections into o (defaults first). Returns 0 or -errno (err names
 * file:line, section and key). */
int slob_pipeline_opts_from_config(struct slob_pipeline_opts *o, const struct slob_config *cfg,
				   char *err, size_t errlen);

#endif /* SLOB_PIPELINE_H */
