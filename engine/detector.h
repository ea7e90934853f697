/* SPDX-License-Identifier: MIT */
/*
 * detector.h: the 5/1 SLOB setup detector (STRATEGY.md rules R1-R29), a hot
 * stage between candles and risk. It consumes M1 bars and emits, per bar, a
 * SLOB_SIG_CLOCK record followed by the SLOB_SIG_SETUP records of the setups
 * completed on that bar (SLOB_SIG_END on the END bar), plus setup state
 * changes for the cold path (SLOB_COLD_SETUP, TRADE class).
 *
 * Two layers:
 *  - the pure detector (slob_detector_on_bar): bars in, signals and state
 *    changes out, no rings, no allocation after init; used by tests, benches
 *    and the stage;
 *  - the stage wrapper (slob_detector_stage_*) over an input bar ring, an
 *    output signal ring and an optional cold queue.
 *
 * Design notes (state machine per candidate, STRATEGY.md s3):
 *
 *     LIQ#1 (R7) --> WATCHING_CONSOL --R17--> WATCHING_LIQ2 --R21--> WAITING_ENTRY
 *                        |                       |                      |  R24..R29
 *                        +--> INVALIDATED <------+-----------<----------+--> SETUP_COMPLETE
 *
 *  1. Prices are int32 ticks; every point parameter is converted to ticks at
 *     init (it must be a whole number of ticks, else init fails). Ratio
 *     parameters are fixed-point integers in millionths (1e-6) parsed exactly
 *     from their decimal text; every ratio rule is an exact integer
 *     cross-multiplication in int64 (docs/DETECTOR.md lists each one).
 *  2. Candidates live in a fixed pool sized at init (max_candidates). A
 *     LIQ#1 that finds the pool full is counted (stats.pool_overflow) and
 *     dropped; nothing is allocated after init.
 *  3. The consolidation window is never stored: CONS_HIGH/CONS_LOW are running
 *     max/min (R11) and the FIRST qualifying no-wick candle (R16) is latched
 *     when it is appended; the frozen range of R17 is the max/min before the
 *     current candle was appended. This is exactly the rescanning rule of the
 *     specification, in O(1) per candidate per bar.
 *  4. Active candidates are kept in creation order (R8); finished ones are
 *     compacted out at the end of each bar, order preserved.
 *  5. Output of one bar is a pure function of (params, all earlier bars):
 *     same bars + same params -> same signals, byte for byte (padding zeroed).
 *  6. Local time comes from engine/tz.h tables loaded at init
 *     (session_tz, and America/New_York for nyse_open_anchor=new_york); the
 *     NYSE open in session-local minutes is recomputed once per local date.
 */
#ifndef SLOB_DETECTOR_H
#define SLOB_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/coldrec.h"
#include "engine/event.h"
#include "engine/instrument.h"
#include "engine/stage.h"
#include "engine/tz.h"
#include "ringbuf/ring.h"

/* Bars with a price above this many ticks are ignored as bad (int32 headroom
 * for the buffers added to levels). NQ at 20000 is 80000 ticks. */
#define SLOB_DETECTOR_MAX_PX (1 << 30)

/* Fixed-point scale of ratio / percentage / point parameters. */
#define SLOB_DETECTOR_FP 1000000LL

enum slob_detector_anchor {
	SLOB_DETECTOR_ANCHOR_NEW_YORK = 0, /* NYSE open = nyse_open_ny in America/New_York */
	SLOB_DETECTOR_ANCHOR_STOCKHOLM,	   /* NYSE open = nyse_open_local in session_tz */
};

/*
 * Parameters (STRATEGY.md s10). Times of day are minutes since local
 * midnight; durations in minutes or candles as named; *_fp fields are
 * decimal values x 1e6 (exact); *_pts_fp fields are points x 1e6.
 */
struct slob_detector_params {
	char session_tz[48];		       /* Europe/Stockholm */
	int32_t lse_open;		       /* 09:00 local (inclusive) */
	int32_t nyse_open_ny;		       /* 09:30 New York (anchor new_york) */
	int32_t nyse_open_local;	       /* 15:30 local (anchor stockholm) */
	int32_t nyse_open_anchor;	       /* enum slob_detector_anchor */
	int32_t nyse_end;		       /* 22:00 local: window end and daily cut-off */
	int32_t monday_restart;		       /* 09:00 local Monday: nothing earlier on Mondays */
	int32_t liq1_throttle;		       /* 5 minutes (strict <) */
	int32_t consol_min_duration;	       /* 15 candles */
	int32_t consol_max_duration;	       /* 120 candles */
	int64_t consol_min_range_pct_fp;       /* 0.1 % -> 100000 (inclusive) */
	int64_t consol_max_range_pct_fp;       /* 0.5 % -> 500000 (inclusive) */
	int32_t internal_high_confirm;	       /* 5 minutes (>=) */
	int32_t internal_low_confirm;	       /* 3 minutes (>=) */
	bool require_internal_confirmation;    /* false */
	bool enable_short;		       /* true */
	bool enable_long;		       /* true */
	int64_t nowick_max_wick_body_ratio_fp; /* 0.20 -> 200000 (strict <) */
	int32_t nowick_min_window;	       /* 3 candles */
	int32_t liq2_minimum_wait;	       /* 5 minutes */
	int32_t max_entry_wait_candles;	       /* 20 candles */
	int64_t max_retracement_pts_fp;	       /* 100 points */
	int64_t max_retracement_pct_fp;	       /* 1.0 % */
	int64_t spike_wick_body_multiple_fp;   /* 2 (strict >) */
	int64_t spike_rule_buffer_pts_fp;      /* 2.0 points */
	int64_t sl_buffer_pts_fp;	       /* 1.0 point */
	int64_t tp_buffer_pts_fp;	       /* 1.0 point */
	int64_t min_rr_fp;		       /* 0: RR <= min_rr -> negative_risk_reward */
	int32_t max_candidates;		       /* pool size, 256 */
	int32_t tz_year_from, tz_year_to;      /* tz table range, 2000..2060 */
};

/* Fills the STRATEGY.md defaults. */
void slob_detector_params_default(struct slob_detector_params *p);

/*
 * slob_detector_param_set - sets one parameter from text (INI [detector]).
 * Keys are the STRATEGY.md names (docs/DETECTOR.md lists them with ranges).
 * Returns 0, -ENOENT for an unknown key, -EINVAL for a bad value (message in
 * err naming the key and the allowed range). Cold path, any thread.
 */
int slob_detector_param_set(struct slob_detector_params *p, const char *key, const char *value,
			    char *err, size_t errlen);

/* Cross-field validation. Returns 0 or -EINVAL with a message. Cold path. */
int slob_detector_params_validate(const struct slob_detector_params *p, char *err, size_t errlen);

/* NULL-terminated list of the keys slob_detector_param_set accepts. */
extern const char *const slob_detector_param_keys[];

/* One live candidate (internal; visible for tests and the bench). */
struct slob_cand {
	struct slob_setup s;			/* published picture; s.state is the state */
	int32_t wlen;				/* |W| */
	int32_t prev_hi, prev_lo;		/* CONS_HIGH/LOW before the current candle */
	int32_t ih_px, il_px;			/* internal HIGH / LOW (R12) */
	int64_t ih_ns, il_ns;			/* when they were last set */
	int32_t liq2_o, liq2_h, liq2_l, liq2_c; /* stored LIQ#2 candle (R21, R26) */
	int32_t nw_found;			/* first qualifying no-wick latched (R16) */
	int32_t nw_pos;				/* its 1-based position in W */
	int32_t j;				/* candles since LIQ#2 (R23) */
	int32_t nw_ratio_milli;			/* wick/body x 1000 (informational) */
};

/* Detector counters (single writer: the detector's thread). */
struct slob_detector_stats {
	uint64_t bars;
	uint64_t created[2]; /* [0] SHORT, [1] LONG */
	uint64_t completed[2];
	uint64_t invalidated[9]; /* by enum slob_invalid_reason */
	uint64_t throttled;	 /* LIQ#1 suppressed by R7's throttle */
	uint64_t pool_overflow;	 /* LIQ#1 dropped: pool full */
	uint64_t live_peak;	 /* peak number of live candidates */
	uint64_t bad_bars;	 /* bars with high < low etc., ignored */
	uint64_t out_of_order;	 /* bars not after the previous one, ignored */
};

struct slob_detector {
	struct slob_detector_params p;
	/* derived, in ticks / ns */
	int32_t sl_buf, tp_buf, spike_buf, retr_pts;
	int64_t throttle_ns, ih_ns, il_ns, liq2_wait_ns;
	struct slob_tz tz_local;
	struct slob_tz tz_ny;
	/* day state */
	int64_t day;		      /* local day number, INT64_MIN before the first bar */
	int64_t day_lo_ns;	      /* local ns of that day's midnight */
	int64_t off_lo_ns, off_hi_ns; /* UTC range where off_s is in force */
	int32_t off_s;		      /* session_tz UTC offset */
	int32_t wday;
	int32_t nyse_open_min; /* today's NYSE open in local minutes */
	int32_t window_start;  /* today's LSE window start (Monday restart) */
	bool has_lse, cutoff_done, has_prev;
	int32_t lse_high, lse_low;
	int32_t prev_high, prev_low;
	int64_t prev_ts;
	/* candidates, creation order */
	struct slob_cand *cands;
	unsigned ncand, cap;
	/* state changes of the last bar (for the cold path) */
	struct slob_setup *changes;
	unsigned nchanges, changes_cap;
	struct slob_detector_stats stats;
};

/*
 * slob_detector_init - validates params, converts them for the instrument,
 * loads the time-zone tables and allocates the candidate pool.
 * Returns 0, -EINVAL (message in err: bad parameter, or a point parameter
 * that is not a whole number of ticks), -ENOENT (unknown time zone),
 * -ENOMEM. Cold path.
 */
int slob_detector_init(struct slob_detector *d, const struct slob_detector_params *p,
		       const struct slob_instrument *in, char *err, size_t errlen);

/* Frees the pool. Accepts NULL and half-initialised (zeroed) detectors. */
void slob_detector_destroy(struct slob_detector *d);

/* Forgets all state (day, levels, candidates, stats); keeps params. */
void slob_detector_reset(struct slob_detector *d);

/* Size the `out` array of slob_detector_on_bar must have: max_candidates + 2. */
static inline unsigned slob_detector_max_out(const struct slob_detector *d)
{
	return d->cap + 2;
}

/*
 * slob_detector_on_bar - feeds one M1 bar (in time order). Writes to out[]
 * the CLOCK record of the bar then the SETUP records completed on it (an END
 * bar writes a single SLOB_SIG_END). Also records the bar's setup state
 * changes, read with slob_detector_changes(). A bar whose time is not after
 * the previous bar's, or with inconsistent OHLC (high < low, open/close
 * outside [low, high], low <= 0, high > SLOB_DETECTOR_MAX_PX), is ignored
 * (counted) and produces only its CLOCK record.
 * Returns the number of records written, or -EINVAL if max_out <
 * slob_detector_max_out(). Hot path: no allocation, no syscalls.
 */
int slob_detector_on_bar(struct slob_detector *d, const struct slob_bar *bar, struct slob_sig *out,
			 unsigned max_out);

/* State changes (created, state moved, invalidated, completed) of the last
 * slob_detector_on_bar call, in order. Valid until the next call. */
static inline const struct slob_setup *slob_detector_changes(const struct slob_detector *d,
							     unsigned *n)
{
	*n = d->nchanges;
	return d->changes;
}

/* Number of live candidates. */
static inline unsigned slob_detector_live(const struct slob_detector *d)
{
	return d->ncand;
}

/* Setup identity: XXH3_64bits over the 24-byte little-endian record
 * {int64 liq1_ns; int32 lse_high; int32 lse_low; int32 dir; int32 0}. */
uint64_t slob_detector_setup_id(int dir, int64_t liq1_ns, int32_t lse_high, int32_t lse_low);

/* ---- stage wrapper ---------------------------------------------------- */

struct slob_detector_stage {
	slob_stage_t st;
	struct slob_detector *det;
	slob_ring_t *in;	  /* struct slob_bar */
	slob_ring_t *out;	  /* struct slob_sig */
	struct slob_coldq *coldq; /* may be NULL */
	struct slob_sig *pend;	  /* signals of the current bar not yet pushed */
	unsigned npend, ipend;
	bool ended; /* END bar seen and every output pushed */
	bool end_seen;
};

/*
 * slob_detector_stage_init - wraps an initialised detector as a stage named
 * "detector". in: ring of struct slob_bar; out: ring of struct slob_sig;
 * coldq: cold queue for SLOB_COLD_SETUP records, or NULL.
 * Returns 0, -EINVAL or -ENOMEM. Cold path.
 * poll(): consumes bars while the output ring has room; returns work done,
 * or -ENOBUFS if the cold queue's overflow is full (fatal, never silent).
 * done(): true once the END bar was consumed and its outputs pushed.
 */
int slob_detector_stage_init(struct slob_detector_stage *s, struct slob_detector *det,
			     slob_ring_t *in, slob_ring_t *out, struct slob_coldq *coldq);
void slob_detector_stage_destroy(struct slob_detector_stage *s);

/* The stage object to add to a thread. */
static inline slob_stage_t *slob_detector_stage(struct slob_detector_stage *s)
{
	return &s->st;
}

#endif /* SLOB_DETECTOR_H */
