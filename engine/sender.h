/* SPDX-License-Identifier: MIT */
/*
 * sender.h: the sender stage. It turns risk's accepted intents into bracket
 * orders at the broker and the broker's reports into execution records for
 * risk (exec ring) and order/fill records for the store (cold queue).
 *
 * Two modes:
 *  - paper: the built-in paper broker (engine/paper.h) fills against the tick
 *    tap ring under the determinism protocol of engine/event.h;
 *  - live: orders go to TWS through a broker backend (struct
 *    slob_sender_backend, provided by the TWS connection). Until the backend
 *    reports that reconciliation is complete, bracket intents wait in a
 *    bounded queue and are never sent early.
 *
 * Design notes
 *  1. poll() runs on the sender's thread only; after init it never
 *     allocates, locks, logs or makes a system call (clock_gettime through
 *     the vDSO for latency stamps only).
 *  2. Every execution report goes through a private output queue sized so
 *     that one input record can always be processed completely
 *     (4 x max_brackets + 16 reports); an input record is consumed only when
 *     that queue is empty, so a full exec ring is backpressure, never loss.
 *  3. Paper determinism: on SLOB_INTENT_CLOCK(seq) the tap ticks with
 *     seq <= clock_seq are matched, then SLOB_EXEC_CLOCK_ACK(seq) is sent.
 *     Ticks beyond the clock stay in the tap ring. If the tap has not yet
 *     delivered tick `seq`, the clock stays unconsumed and poll returns; so
 *     the tap ring must hold at least one bar's worth of ticks plus slack
 *     (ingest cannot run further ahead than the tap ring allows).
 *  4. Orders placed for an intent see only ticks after clock_seq + 1, where
 *     clock_seq is the last clock the sender processed (the clock risk
 *     decided on, on every thread layout) and clock_seq + 1 is the tick that
 *     closed that bar, which a live order could not have traded on either
 *     (paper.h after_seq).
 *  5. The fill digest is xxh3-64 chained over (setup_id, order_id, role,
 *     qty, px, ts_ns, tick seq) of each fill, in order.
 *  6. With a journal set, place() appends the intent (ref, setup, ids,
 *     prices, qty) to it before the backend's place or the paper broker
 *     sees it, so a process crash after the bytes left can never lose the
 *     order's identity (engine/journal.h); a synchronous refusal appends a
 *     REFUSED record after it.
 *
 *   intent --> [live && !reconciled] --> pending (bounded) --+
 *      |                                                      v
 *      +--------------------------------------------------> place -> SUBMITTED x3
 *                                                  (journal append first)
 */
#ifndef SLOB_SENDER_H
#define SLOB_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/coldrec.h"
#include "engine/event.h"
#include "engine/paper.h"
#include "engine/stage.h"
#include "ringbuf/ring.h"

struct slob_hist;    /* engine/hist.h */
struct slob_journal; /* engine/journal.h */

enum slob_sender_mode { SLOB_SENDER_PAPER = 0, SLOB_SENDER_LIVE = 1 };

struct slob_sender_params {
	enum slob_sender_mode mode; /* "paper" | "live" */
	uint32_t max_brackets;      /* live brackets at once, 1..4096 (default 64) */
	uint32_t pending_max;       /* intents held before reconciliation, 1..1024 (16) */
	uint32_t batch;             /* input records per poll, 1..4096 (64) */
	int64_t first_order_id;     /* paper order ids start here, >= 1 (1) */
	int64_t run_id;             /* paper exec ids "P<run>-<order id>" (runs.id);
				     * 0: "P<order id>" */
};

void slob_sender_params_default(struct slob_sender_params *p);
/* Keys: mode, max_brackets, pending_max, batch, first_order_id.
 * Returns 0, -ENOENT (unknown key) or -EINVAL (message names key and range). */
int slob_sender_param_set(struct slob_sender_params *p, const char *key, const char *value,
			  char *err, size_t errlen);
int slob_sender_params_validate(const struct slob_sender_params *p, char *err, size_t errlen);

/*
 * Live broker backend (implemented by the TWS order connection). All calls
 * happen on the sender's thread from inside poll.
 *  place:  send the bracket for `in` with ids first_id..first_id+2; 0 or -errno
 *          (a negative return becomes SLOB_EXEC_REJECTED with code -errno).
 *  cancel: cancel the unfilled orders of setup_id; 0 or -errno.
 *  pump:   drain broker reports, calling slob_sender_report() for each;
 *          returns work done.
 *  next_id: next order id from nextValidId (advanced by the sender).
 */
struct slob_sender;
struct slob_sender_backend {
	void *ctx;
	int (*place)(void *ctx, const struct slob_intent *in, int64_t first_id);
	int (*cancel)(void *ctx, uint64_t setup_id);
	int (*pump)(void *ctx, struct slob_sender *s);
	/* session-end flatten: close the position of in->setup_id (in->qty
	 * contracts) at market; NULL: not supported (the position keeps its
	 * stop and target) */
	int (*flatten)(void *ctx, const struct slob_intent *in);
};

struct slob_sender {
	struct slob_sender_params prm;
	slob_ring_t *intents, *tap, *exec_out;
	struct slob_coldq *cold;
	struct slob_hist *hist;          /* NULL-able: tick-to-order latency */
	struct slob_journal *journal;    /* NULL-able: intents recorded before the wire */
	struct slob_paper paper;
	struct slob_sender_backend be;   /* live mode */
	slob_stage_t stage;

	struct slob_exec *outq;          /* private exec output FIFO */
	uint32_t outq_mask, outq_head, outq_tail;
	struct slob_intent *pending;     /* live: waiting for reconciliation */
	uint32_t pend_head, pend_tail;

	int64_t next_id;
	uint64_t tap_seq;                /* last tap tick consumed */
	uint64_t clock_seq;              /* last clock processed */
	uint64_t digest;
	bool tap_end, end_seen, reconciled, fatal;

	/* counters (sender thread writes, others may read approximately) */
	uint64_t n_submitted, n_fills, n_cancels, n_rejects, n_clocks, n_ticks;
	uint64_t n_pending_dropped;
	int64_t lat_last_ns, lat_max_ns, lat_sum_ns;
	uint64_t lat_count;
};

/*
 * slob_sender_init - sets up the stage.
 *   intents_in: ring of struct slob_intent from risk (consumer: sender);
 *   tap_in:     ring of struct slob_tick from ingest (paper mode; NULL live);
 *   exec_out:   ring of struct slob_exec to risk (producer: sender);
 *   cold:       the sender's cold queue (may be NULL in tests).
 * Returns 0, -EINVAL (message in err: bad params, wrong ring record size,
 * paper mode without tap), or -ENOMEM. Start-up only.
 */
int slob_sender_init(struct slob_sender *s, const struct slob_sender_params *prm,
		     slob_ring_t *intents_in, slob_ring_t *tap_in, slob_ring_t *exec_out,
		     struct slob_coldq *cold, char *err, size_t errlen);

/* Frees what init allocated; accepts NULL and half-initialised objects. */
void slob_sender_destroy(struct slob_sender *s);

/* The stage for a thread (engine/stage.h); name "sender". */
slob_stage_t *slob_sender_stage(struct slob_sender *s);

/* Sets the latency histogram (before start). */
static inline void slob_sender_set_hist(struct slob_sender *s, struct slob_hist *h)
{
	s->hist = h;
}

/* Sets the order journal (before start): every bracket is appended to it
 * immediately before it is handed to the broker or the paper broker; a
 * bracket the journal cannot take is refused, never sent (journal.h). */
static inline void slob_sender_set_journal(struct slob_sender *s, struct slob_journal *j)
{
	s->journal = j;
}

/* Live mode: installs the backend (before start). */
void slob_sender_set_backend(struct slob_sender *s, const struct slob_sender_backend *be);

/*
 * Live mode, sender thread (from the backend's pump): reconciliation state.
 * Setting true releases the waiting intents on the next poll; a reconnect
 * sets it false again until the backend reconciled once more.
 */
static inline void slob_sender_set_reconciled(struct slob_sender *s, bool ok)
{
	s->reconciled = ok;
}

/* Live mode: next order id from nextValidId (never moves backwards). */
static inline void slob_sender_set_next_id(struct slob_sender *s, int64_t id)
{
	if (id > s->next_id)
		s->next_id = id;
}

/*
 * slob_sender_report - the backend hands one broker report (exec record
 * filled in by it) to the sender, which queues it to risk, records
 * SLOB_COLD_ORDER / SLOB_COLD_FILL and alerts on rejections.
 * Returns 0, or -ENOBUFS when the private queue is full (report dropped:
 * the backend should pump less per call). Sender thread only.
 */
int slob_sender_report(struct slob_sender *s, const struct slob_exec *ex);

/* Reports slob_sender_report() can take right now (the private queue's free
 * slots; it drains into the exec ring at every poll). Sender thread only. */
static inline uint32_t slob_sender_report_room(const struct slob_sender *s)
{
	return s->outq_mask + 1 - (s->outq_tail - s->outq_head);
}

/* Running xxh3 digest of every fill so far (decision journal). */
uint64_t slob_sender_digest(const struct slob_sender *s);

/* One poll step (the stage's poll); returns work done or -errno. */
int slob_sender_poll(struct slob_sender *s);

/* True once END was seen and every report was flushed. */
bool slob_sender_done(const struct slob_sender *s);

#endif /* SLOB_SENDER_H */
