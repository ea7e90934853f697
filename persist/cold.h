/* SPDX-License-Identifier: MIT */
/*
 * cold.h: the cold stage, the only writer of the store. It drains one SPSC
 * ring of struct slob_cold (engine/coldrec.h) per hot stage and commits them
 * in batched transactions with prepared statements; LOG and ALERT records go
 * to sinks the ops module provides.
 *
 * Design notes
 *  1. The hot path never waits for this thread. A batch closes when it holds
 *     batch_max records or its oldest record is batch_ms old, whichever
 *     comes first (and when the stage is asked to finish).
 *  2. Durability per class: a batch holding any TRADE record commits with
 *     synchronous=FULL (WAL fsync'd before COMMIT returns); INFO-only batches
 *     use NORMAL (survive a process crash, not a power cut).
 *  3. durable_seq[p] (atomic, release) is the highest sequence number of
 *     producer p whose record is committed; every TRADE record with seq <=
 *     durable_seq[p] is on disk with FULL sync. Producers may wait on it
 *     (acquire) off the hot path; the hot path never does.
 *  4. On SQLITE_FULL / IOERR / BUSY the transaction is rolled back and the
 *     batch stays in memory (bounded by pending_max); store_healthy is
 *     cleared (risk reads it and opens no new position), an alert goes to
 *     the sink, and the same batch is retried with exponential backoff
 *     (retry_min_ms doubling to retry_max_ms). While the pending buffer is
 *     full the rings are not drained: they absorb, then the producers'
 *     overflow does; TRADE records are never dropped. After a successful
 *     retry store_healthy is set again and a recovery alert is sent.
 *     SQLITE_BUSY (slobctl vacuum/archive holding the write lock) is retried
 *     quietly for busy_grace_ms before it clears the flag and alerts.
 *  5. A record that fails for a non-transient reason (constraint, bad value)
 *     is counted in `rejected` and logged; it never blocks the batch.
 *  6. Stops finish. Once a stop was requested (slob_cold_writer_stop_requested)
 *     and the store still cannot commit spill_after_ms later, every held
 *     record and everything left in the rings goes to the spill file
 *     <store>.spill (checksummed chunks, fdatasync'd, renamed to its final
 *     name after the first chunk), so the stage finishes and the process
 *     exits well inside a systemd stop timeout. slobd reserves the file's
 *     space at start (<store>.spill-reserve) so a full disk can still take
 *     it. The next start commits the spill file in one transaction
 *     (slob_cold_spill_replay) before anything else and removes it only
 *     after that commit. Records are lost only if the spill file itself
 *     cannot be written: they are counted and logged at CRITICAL.
 *
 *   states:  IDLE --record--> FILLING --count|age--> COMMIT --ok--> IDLE
 *                                                      |fail
 *                                                      v
 *                               RETRY_WAIT <--fail-- RETRY --ok--> IDLE (healthy)
 *                                   |stop requested, spill_after_ms
 *                                   v
 *                                 SPILL --> done (records in <store>.spill)
 */
#ifndef SLOB_COLD_H
#define SLOB_COLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/coldrec.h"
#include "engine/instrument.h"
#include "engine/stage.h"
#include "persist/store.h"
#include "ringbuf/ring.h"

#define SLOB_COLD_MAX_PRODUCERS 8

/* One operator command row (operator_commands) handed to the command sink. */
struct slob_opcmd {
	int64_t id;
	char ts[SLOB_STORE_TIME_LEN];
	char command[32]; /* kill-switch, reset-breaker, ... (slobctl's vocabulary) */
	char arg[128];
	char who[64];
	char reason[160];
};

/*
 * Sinks, all NULL-able, all called on the cold thread:
 *  log(ctx, rec):   every LOG record, and CONN / UNKNOWN_BROKER records, as
 *                   soon as they are drained from a ring (before the commit,
 *                   so log lines and alerts still flow while the store fails);
 *  alert(ctx, rec): every ALERT record when drained (its alerts_sent row is
 *                   committed with the batch), and alerts the cold writer
 *                   raises itself, component "store": "store write failing
 *                   (...)" at CRITICAL when commits start failing and "store
 *                   writable again" at WARNING when they succeed again (both
 *                   also journaled in alerts_sent once the store works);
 *  tick(ctx, now):  every poll, for housekeeping (CLOCK_MONOTONIC ns);
 *  command(ctx, cmd, result, len): a pending operator command; return 0 to
 *                   mark it applied (result text stored), <0 to mark it
 *                   failed ("failed: <result>"); the cold writer then sets
 *                   applied_at. Polled every cmd_poll_ms while healthy;
 *  record(ctx, rec): every drained record, before it is committed.
 */
struct slob_cold_sinks {
	void *ctx;
	void (*log)(void *ctx, const struct slob_cold *rec);
	void (*alert)(void *ctx, const struct slob_cold *rec);
	void (*tick)(void *ctx, int64_t now_ns);
	int (*command)(void *ctx, const struct slob_opcmd *cmd, char *result, size_t len);
	/* every drained record, before it is committed (e.g. the stats status block) */
	void (*record)(void *ctx, const struct slob_cold *rec);
	/* after every successful commit, outside any transaction, with the
	 * writer's connection (e.g. alert delivery states into alerts_sent) */
	void (*committed)(void *ctx, sqlite3 *db);
};

/*
 * slob_cold_alert_ref - the alerts_sent.ref of an ALERT record: a hash of its
 * producer, sequence and time, so the alert module can record the delivery
 * state of the message it sent for that record in the row the writer
 * inserted for it. Never 0. Any thread; pure.
 */
static inline int64_t slob_cold_alert_ref(const struct slob_cold *r)
{
	uint64_t h = 1469598103934665603ull;
	uint64_t v[3] = {r->stage, r->seq, (uint64_t)r->ts_ns};
	for (int i = 0; i < 3; i++)
		for (int b = 0; b < 64; b += 8)
			h = (h ^ ((v[i] >> b) & 0xff)) * 1099511628211ull;
	return (int64_t)(h >> 1) | 1;
}

/* [cold] parameters. */
struct slob_cold_params {
	int batch_max;	   /* records per transaction, default 4096 */
	int batch_ms;	   /* max age of the oldest uncommitted record, default 5 */
	int pending_max;   /* records kept in memory while the store fails, 65536 */
	int retry_min_ms;  /* first retry delay, default 10 */
	int retry_max_ms;  /* backoff cap, default 1000 */
	int cmd_poll_ms;   /* operator_commands poll period, default 250; 0 = off */
	int busy_grace_ms; /* SQLITE_BUSY (an operator tool holds the lock) retried
			    * quietly this long before it counts as a failure; 2000 */
	int spill_after_ms; /* after a stop request, a failing store is waited for
			     * this long before the held records are spilled; 2000 */
};

#define SLOB_SPILL_MAGIC "SLOBSPL1"

void slob_cold_params_default(struct slob_cold_params *p);
int slob_cold_param_set(struct slob_cold_params *p, const char *key, const char *value, char *err,
			size_t errlen);
int slob_cold_params_validate(const struct slob_cold_params *p, char *err, size_t errlen);

/* Counters (written by the cold thread, relaxed; read by anyone). */
struct slob_cold_counters {
	uint64_t records;      /* records committed */
	uint64_t batches;      /* transactions committed */
	uint64_t full_syncs;   /* of which with synchronous=FULL */
	uint64_t failures;     /* failed commits (each retried) */
	uint64_t rejected;     /* records refused by the schema (logged) */
	uint64_t pending_peak; /* most records held in memory */
	uint64_t commands;     /* operator commands applied */
};

struct slob_cold_writer;
typedef struct slob_cold_writer slob_cold_writer_t;

/*
 * slob_cold_writer_create - a writer over an open store (the writer does not
 * take ownership; close the store after freeing the writer). rings[i] is
 * producer i's ring (the coldq's `stage` index must be i). instrument converts
 * ticks to prices (NULL: NQ). Allocates everything it needs here.
 * Returns 0 and *out or -errno (detail in slob_store_strerror()). Start-up.
 */
int slob_cold_writer_create(slob_store_t *store, slob_ring_t *const *rings, unsigned nrings,
			    const struct slob_cold_params *params,
			    const struct slob_cold_sinks *sinks,
			    const struct slob_instrument *instrument, slob_cold_writer_t **out);

/* Frees the writer (does not flush: call slob_cold_writer_flush first). Accepts NULL. */
void slob_cold_writer_free(slob_cold_writer_t *w);

/*
 * slob_cold_writer_poll - drains rings, commits a due batch, retries a failed
 * one when its backoff elapsed, polls operator commands. Returns the number of
 * records consumed or committed (0 idle), never blocks longer than one SQLite
 * transaction. Cold thread only.
 */
int slob_cold_writer_poll(slob_cold_writer_t *w);

/*
 * slob_cold_writer_flush - drains every ring and commits everything now
 * (retrying until timeout_ms). Returns 0, or -EIO / -ENOSPC / -EBUSY if records
 * are still pending at the timeout. Cold thread only; blocks.
 */
int slob_cold_writer_flush(slob_cold_writer_t *w, int timeout_ms);

/* The stage (engine/stage.h) running this writer; done() when the pipeline set
 * producers_finished, every ring is empty and nothing is pending. */
slob_stage_t *slob_cold_stage(slob_cold_writer_t *w);

/* Pipeline: every producer has stopped (no more records will be pushed). Any thread. */
void slob_cold_writer_producers_finished(slob_cold_writer_t *w);

/* A stop was requested (SIGTERM): starts the spill_after_ms clock (note 6).
 * Any thread; idempotent; accepts NULL. */
void slob_cold_writer_stop_requested(slob_cold_writer_t *w);

/* Records written to the spill file, and records lost because it could not
 * be written. Cold thread, or any thread once the cold thread stopped. */
void slob_cold_writer_spill_stats(const slob_cold_writer_t *w, uint64_t *spilled, uint64_t *lost);

/* "<db_path>.spill<suffix>" (suffix NULL: the spill file itself). */
int slob_cold_spill_path(const char *db_path, char *out, size_t len, const char *suffix);

/*
 * slob_cold_spill_replay - commits the spill file of `store`, if any, in one
 * transaction (synchronous=FULL) and then removes it (a chunk torn by a
 * crash mid-spill is skipped and the file kept as .spill.torn). Returns the
 * number of records committed (0: no spill file), or -errno with the file
 * left in place (-EBADMSG: not a spill file; others: the store cannot take
 * it yet). msg gets one line for the log. Start-up, before anything else
 * writes the store.
 */
int slob_cold_spill_replay(slob_store_t *store, const struct slob_instrument *ins, char *msg,
			   size_t len);

/*
 * The breaker latch outside the store: "<db_path>.breaker" exists while the
 * breaker is tripped (written with fsync by the cold writer when it commits a
 * trip, removed when it commits a reset). A store replaced by an older backup
 * (or recreated) cannot release a latch that way: slobd re-latches at start
 * while the file exists. slob_cold_latch_write returns 0 or -errno;
 * slob_cold_latch_read returns 1 (latched: code and reason filled), 0 (no
 * file) or -errno.
 */
int slob_cold_latch_write(const char *db_path, bool tripped, int code, const char *why);
int slob_cold_latch_read(const char *db_path, int *code, char *why, size_t len);

/* Highest committed sequence of producer p (acquire). Any thread. */
uint64_t slob_cold_durable_seq(const slob_cold_writer_t *w, unsigned producer);

/* Pointer to the durable sequence of producer p (atomic uint64, read with acquire). */
const uint64_t *slob_cold_durable_seq_ptr(const slob_cold_writer_t *w, unsigned producer);

/* false while commits fail (risk opens no new position). Any thread (acquire). */
bool slob_cold_store_healthy(const slob_cold_writer_t *w);

/* Pointer to the flag (atomic int, 1 healthy), for the risk gate's hot read. */
const int *slob_cold_store_healthy_ptr(const slob_cold_writer_t *w);

/* Copy of the counters. Any thread. */
void slob_cold_writer_counters(const slob_cold_writer_t *w, struct slob_cold_counters *out);

/* Records held in memory, not yet committed. Cold thread. */
unsigned slob_cold_writer_pending(const slob_cold_writer_t *w);

/*
 * slob_cold_apply - writes one record with the writer's prepared statements,
 * outside the batching logic (tools, tests, replays without threads). The
 * caller owns the transaction. Returns 0 or -errno. Cold thread only.
 */
int slob_cold_apply(slob_cold_writer_t *w, const struct slob_cold *rec);

/*
 * Runs: slob_cold_run_begin inserts a runs row (mode e.g. "live", "paper",
 * "replay") and returns its id; slob_cold_run_end sets stopped_at, the decision
 * digest and the exit status. -errno on failure. Cold thread (or before the
 * thread starts / after it stopped).
 */
int64_t slob_cold_run_begin(slob_store_t *s, const char *mode, const char *version,
			    const char *config_path, const char *config_digest);
int slob_cold_run_end(slob_store_t *s, int64_t run_id, const char *decision_digest,
		      const char *exit_status);

/*
 * slob_cold_exec_name - the order status name of an exec kind
 * (SLOB_EXEC_SUBMITTED -> "SUBMITTED", FILL -> "FILLED", CANCELLED,
 * REJECTED, RECONCILED, UNKNOWN), shared by the orders table and the
 * trading log so both name a status alike. NULL for a kind without one (0,
 * CLOCK_ACK, CONN, anything else): each caller picks its own word for that.
 * Any thread; pure.
 */
const char *slob_cold_exec_name(unsigned k);

#endif /* SLOB_COLD_H */
