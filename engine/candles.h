/* SPDX-License-Identifier: MIT */
/*
 * candles.h: the candles stage: ticks -> M1 OHLCV bars (STRATEGY.md s2).
 *
 * Rules
 *  - A bar is stamped with the UTC start of its minute; open/high/low/close
 *    are the first/max/min/last tick price in arrival order, volume the sum
 *    of sizes, ticks the count. bar.last_seq = seq of the last tick inside
 *    the bar, bar.recv_ns = recv_ns of the tick that closed it.
 *  - Replay: a bar closes when the first tick of a later minute arrives.
 *    Live (params.timer_close): it also closes once the wall clock passes
 *    the end of its minute + grace (flag SLOB_BAR_BY_TIMER; recv_ns is the
 *    monotonic time of the close); a later tick for that minute is late.
 *  - Gap filling (the corrected rule): missing minutes are those strictly
 *    between the previous emitted bar's minute and the new tick's minute.
 *    Exactly one missing minute is filled with a flat bar (O=H=L=C = previous
 *    close, volume 0, SLOB_BAR_FLAT_FILL); more are left unfilled and the
 *    next real bar carries SLOB_BAR_GAP_BEFORE. Never two bars with the same
 *    timestamp.
 *  - A tick for a minute before the open bar (or an already emitted one) is
 *    dropped and counted (out_of_order, or late when that minute was closed
 *    by the timer); a tick whose seq does not increase is a duplicate,
 *    dropped and counted. Neither ever touches a bar.
 *  - Ticks reach the candles only through the validator (engine/tickcheck.h),
 *    which never lets one bad timestamp move its reference: a far-future
 *    tick is rejected there and the bars go on. The one case it must undo
 *    (a lone far-future FIRST tick, before any reference existed) arrives
 *    as a tick flagged SLOB_TICK_REANCHOR with an earlier minute: the open
 *    bar that lone tick started was never emitted and is dropped (counted
 *    `discarded`), and the clock restarts from the last emitted bar.
 *  - On the END tick: the open bar is emitted, then an END bar (flags
 *    SLOB_BAR_END, ts of the last bar, last_seq of the last tick).
 *
 * Design notes
 *  1. poll() consumes ticks with peek/release and never consumes a tick
 *     whose bars it could not queue: at most 2 bars (flat fill + real) plus
 *     END wait in a private queue when the output ring is full.
 *  2. Hot path: no allocation, no syscalls (the timer reads clock_gettime
 *     through the vDSO once per poll, only when timer_close is on).
 *  3. Bars also go to the optional cold queue as SLOB_COLD_BAR (INFO).
 *
 *   state: EMPTY --tick--> OPEN --later minute--> OPEN (emit) --END--> DONE
 */
#ifndef SLOB_CANDLES_H
#define SLOB_CANDLES_H

#include <stdint.h>

#include "engine/coldrec.h"
#include "engine/event.h"
#include "engine/stage.h"
#include "ringbuf/ring.h"

struct slob_candles_params {
	int timer_close;  /* 1: close bars on the wall clock (live) */
	int64_t grace_ns; /* grace past the end of the minute, default 2 s */
	unsigned batch;	  /* max ticks per poll, default 256 */
};

void slob_candles_params_default(struct slob_candles_params *p);
/* Keys: timer_close (0|1), grace_ms (0..60000), batch (1..65536). */
int slob_candles_param_set(struct slob_candles_params *p, const char *key, const char *value,
			   char *err, size_t errlen);
int slob_candles_params_validate(const struct slob_candles_params *p, char *err, size_t errlen);

/* Reason counter slots in stage stats.reasons[]. */
enum slob_candles_reason {
	SLOB_CANDLES_R_OUT_OF_ORDER = 0,
	SLOB_CANDLES_R_DUPLICATE,
	SLOB_CANDLES_R_LATE,
	SLOB_CANDLES_R_FLAT_FILLS,
	SLOB_CANDLES_R_GAPS,
	SLOB_CANDLES_R_BY_TIMER,
	SLOB_CANDLES_R_DISCARDED, /* open bar dropped on a validator re-anchor */
};

typedef int64_t (*slob_clock_fn)(void *arg); /* returns ns */

struct slob_candles {
	slob_ring_t *in, *out;
	struct slob_coldq *cold;
	struct slob_candles_params p;
	struct slob_bar cur;
	int have_cur;
	int cur_timer_closed;
	int end_seen, end_sent;
	int64_t last_emitted; /* minute of the last emitted bar, INT64_MIN */
	int64_t closed_upto;  /* minutes < this are closed (by timer or tick) */
	uint64_t last_seq;
	int32_t last_close;
	unsigned qn, qpos; /* pending bars */
	struct slob_bar q[4];
	/* counters (also mirrored in stage stats) */
	uint64_t bars, out_of_order, duplicates, late, flat_fills, gaps, by_timer, discarded;
	/* clocks: UTC wall clock for the timer, monotonic for recv_ns; tests
	 * may replace them */
	slob_clock_fn utc_now, mono_now;
	void *clock_arg;
	slob_stage_t stage;
};

/*
 * slob_candles_init - prepares the stage. in: tick ring (required), out: bar
 * ring (required), cold: optional queue for SLOB_COLD_BAR records (NULL).
 * p NULL = defaults. Returns 0 or -EINVAL. Cold path.
 */
int slob_candles_init(struct slob_candles *c, const struct slob_candles_params *p, slob_ring_t *in,
		      slob_ring_t *out, struct slob_coldq *cold);

/* The stage to add to a thread (name "candles"). */
slob_stage_t *slob_candles_stage(struct slob_candles *c);

/* One poll (what the stage runs). Returns work done (>= 0). Hot path. */
int slob_candles_poll(struct slob_candles *c);

/* True once the END bar is on the output ring. */
bool slob_candles_done(const struct slob_candles *c);

#endif /* SLOB_CANDLES_H */
