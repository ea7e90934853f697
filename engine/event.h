/* SPDX-License-Identifier: MIT */
/*
 * event.h: the fixed-size records that travel on the rings between stages.
 *
 * Conventions (DESIGN.md):
 *  - prices are int32 counts of the instrument's tick size (NQ: 0.25, so
 *    20000.00 is 80000); slob_px_* helpers convert for display only;
 *  - times are int64 nanoseconds: ts_ns is event time (UTC, from the data),
 *    recv_ns is CLOCK_MONOTONIC when the originating tick was received, carried
 *    down the pipeline for tick-to-order latency;
 *  - every record is plain data, no pointers, so it can be copied into a ring
 *    slot, hashed for the decision digest, and written by the cold thread.
 *
 * Pipeline (see engine/pipeline.h):
 *   ingest --tick--> candles --bar--> detector --sig--> risk --intent--> sender
 *   ingest --tick--> sender (paper broker tap)        risk <--exec-- sender
 *   every hot stage --cold--> cold thread (persist/cold.h)
 *
 * Determinism of a replay (paper broker): the detector forwards a CLOCK
 * record per bar (SLOB_SIG_CLOCK, carrying the sequence number of the last
 * tick that belongs to the bar) before that bar's signals; risk forwards it as
 * SLOB_INTENT_CLOCK; the sender's paper broker matches orders against ticks
 * up to and including that sequence number only when the clock arrives, then
 * answers SLOB_EXEC_CLOCK_ACK. Risk decides a signal only after the ack of the
 * clock that precedes it, so the fills it knows of at a decision are exactly
 * those of ticks <= the clock: the same on every thread layout.
 */
#ifndef SLOB_EVENT_H
#define SLOB_EVENT_H

#include <stdint.h>

#include "ringbuf/compiler.h"

/* ---- ticks ------------------------------------------------------------- */

enum slob_tick_flags {
	SLOB_TICK_GAP_BEFORE = 1u << 0, /* market-data gap (reconnect) before this tick */
	SLOB_TICK_END        = 1u << 1, /* end of stream marker (no price) */
	SLOB_TICK_LIVE       = 1u << 2, /* from a live connection, not a replay */
	SLOB_TICK_REANCHOR   = 1u << 3, /* the validator replaced a lone outlier time
					 * reference (tickcheck.h note 2) */
};

struct slob_tick {
	int64_t ts_ns;     /* exchange time, UTC ns */
	int64_t recv_ns;   /* monotonic receive time */
	uint64_t seq;      /* 1, 2, 3 ... per stream, assigned by ingest */
	int32_t px;        /* price in ticks */
	uint32_t size;     /* contracts */
	uint32_t flags;    /* enum slob_tick_flags */
	uint32_t pad_;
};
SLOB_STATIC_ASSERT(sizeof(struct slob_tick) == 40, "tick layout");

/* ---- M1 bars ----------------------------------------------------------- */

enum slob_bar_flags {
	SLOB_BAR_FLAT_FILL  = 1u << 0, /* gap-filled flat bar (STRATEGY.md s2) */
	SLOB_BAR_GAP_BEFORE = 1u << 1, /* unfilled gap (> 1 missing minute) before it */
	SLOB_BAR_END        = 1u << 2, /* end of stream marker (no prices) */
	SLOB_BAR_BY_TIMER   = 1u << 3, /* closed by the live grace timer */
};

struct slob_bar {
	int64_t ts_ns;     /* UTC start of the minute */
	int64_t recv_ns;   /* recv time of the tick that closed it (latency) */
	uint64_t last_seq; /* sequence number of the last tick inside the bar */
	int32_t open, high, low, close;
	uint32_t volume;
	uint32_t ticks;
	uint32_t flags;    /* enum slob_bar_flags */
	uint32_t pad_;
};
SLOB_STATIC_ASSERT(sizeof(struct slob_bar) == 56, "bar layout");

/* ---- detector output --------------------------------------------------- */

enum slob_dir { SLOB_SHORT = -1, SLOB_LONG = 1 };

/* Setup candidate states (STRATEGY.md s3); names as stored in active_setups.state. */
enum slob_setup_state {
	SLOB_ST_WATCHING_CONSOL = 1,
	SLOB_ST_WATCHING_LIQ2,
	SLOB_ST_WAITING_ENTRY,
	SLOB_ST_SETUP_COMPLETE,
	SLOB_ST_INVALIDATED,
};

/* Invalidation reasons (STRATEGY.md s3), stored lower-case. */
enum slob_invalid_reason {
	SLOB_INV_NONE = 0,
	SLOB_INV_CONSOLIDATION_TIMEOUT,
	SLOB_INV_CONSOLIDATION_RANGE_INVALID,
	SLOB_INV_LIQ2_TIMEOUT,
	SLOB_INV_RETRACEMENT_EXCEEDED,
	SLOB_INV_ENTRY_TIMEOUT,
	SLOB_INV_MARKET_CLOSED,
	SLOB_INV_NEGATIVE_RISK_REWARD,
	SLOB_INV_GAP_DETECTED,
};

enum slob_sig_kind {
	SLOB_SIG_SETUP = 1, /* a completed setup: trade it */
	SLOB_SIG_CLOCK,     /* bar boundary: ticks <= bar.last_seq are in the past */
	SLOB_SIG_END,       /* end of stream */
};

/* The full picture of one setup; used by signals and by cold records. */
struct slob_setup {
	uint64_t id;            /* setup identity: xxh3 of (dir, liq1_time, lse levels) */
	int64_t liq1_ns, consol_confirmed_ns, nowick_ns, liq2_ns, entry_ns;
	int32_t lse_high, lse_low;
	int32_t liq1_px, cons_high, cons_low, nw_high, nw_low, liq2_px, spike_px;
	int32_t entry, sl, tp;
	int32_t rr_milli;       /* reward/risk x 1000, floored (display) */
	int8_t dir;             /* enum slob_dir */
	uint8_t state;          /* enum slob_setup_state */
	uint8_t reason;         /* enum slob_invalid_reason */
	uint8_t spike_branch;   /* R26 spike rule used */
	uint16_t candles;       /* candles_processed */
	uint16_t window_len;    /* frozen L */
};

struct slob_sig {
	uint32_t kind;          /* enum slob_sig_kind */
	uint32_t pad_;
	int64_t ts_ns;          /* bar time (SETUP: trigger candle start) */
	int64_t recv_ns;        /* recv time of the tick that closed the bar */
	uint64_t clock_seq;     /* CLOCK: last tick seq of the bar */
	int32_t mark_px;        /* CLOCK: bar close, for unrealised P&L */
	int32_t pad2_;
	struct slob_setup setup;/* SETUP only */
};

/* ---- risk output ------------------------------------------------------- */

enum slob_role { SLOB_ROLE_ENTRY = 0, SLOB_ROLE_TP = 1, SLOB_ROLE_SL = 2 };
/* TRADE records only (exit_role): closed by the session-end flatten (the
 * stop order turned into a market order, so the fill itself is role SL). */
#define SLOB_EXIT_FLATTEN 3

enum slob_intent_kind {
	SLOB_INTENT_BRACKET = 1, /* place entry LMT + TP LMT + SL STP */
	SLOB_INTENT_CANCEL,      /* cancel the bracket of setup_id (unfilled entry) */
	SLOB_INTENT_CLOCK,       /* forwarded SLOB_SIG_CLOCK */
	SLOB_INTENT_END,
	SLOB_INTENT_FLATTEN,     /* close the open position of setup_id at market
				  * (its stop becomes a market order; clock_seq:
				  * the clock that decided it) */
};

#define SLOB_ORDER_REF_LEN 40   /* "SLOB_<16 hex>_ENTRY" + NUL fits */

struct slob_intent {
	uint32_t kind;           /* enum slob_intent_kind */
	int32_t qty;             /* contracts, > 0 */
	int8_t dir;              /* SHORT: SELL entry; LONG: BUY entry */
	uint8_t pad_[7];
	uint64_t setup_id;
	uint64_t ref_hash;       /* xxh3(setup_id, "bracket"): orderRef base */
	int64_t ts_ns;           /* decision (bar) time */
	int64_t recv_ns;         /* originating tick receive time */
	uint64_t clock_seq;      /* CLOCK: forwarded sequence */
	int32_t entry, sl, tp;   /* ticks */
	int32_t mark_px;         /* CLOCK: mark price */
	char order_ref[SLOB_ORDER_REF_LEN]; /* base ref; roles append _ENTRY/_TP/_SL */
};

/* ---- sender output: execution reports ---------------------------------- */

enum slob_exec_kind {
	SLOB_EXEC_SUBMITTED = 1, /* order accepted by broker */
	SLOB_EXEC_FILL,          /* (partial) fill */
	SLOB_EXEC_CANCELLED,
	SLOB_EXEC_REJECTED,      /* code = IB error code */
	SLOB_EXEC_CLOCK_ACK,     /* paper broker processed ticks <= clock_seq */
	SLOB_EXEC_RECONCILED,    /* reconciliation adopted a position / order */
	SLOB_EXEC_UNKNOWN,       /* broker has an order/position we cannot match */
	SLOB_EXEC_CONN,          /* connection state change (code: 1 up, 0 down) */
	SLOB_EXEC_ACCOUNT,       /* broker account figures (acct), no order */
};

/* Which figures of a SLOB_EXEC_ACCOUNT report are known (acct.have). */
enum slob_acct_have {
	SLOB_ACCT_NET_LIQ      = 1u << 0,
	SLOB_ACCT_AVAILABLE    = 1u << 1,
	SLOB_ACCT_EXCESS_LIQ   = 1u << 2,
	SLOB_ACCT_INIT_MARGIN  = 1u << 3,
	SLOB_ACCT_MAINT_MARGIN = 1u << 4,
	SLOB_ACCT_MARGIN_1     = 1u << 5, /* per-contract initial margin (what-if) */
};

/*
 * The order session's view of the broker account (its account summary
 * subscription and the what-if margin of one contract), sent whole on every
 * change: the receiver replaces its copy. Money in cents of `currency`.
 */
struct slob_exec_account {
	int64_t net_liq_cents;      /* NetLiquidation */
	int64_t available_cents;    /* AvailableFunds */
	int64_t excess_liq_cents;   /* ExcessLiquidity */
	int64_t init_margin_cents;  /* InitMarginReq */
	int64_t maint_margin_cents; /* MaintMarginReq */
	int64_t margin_1_cents;     /* initial margin of one contract (what-if), 0 = unknown */
	int64_t summary_ns;         /* CLOCK_MONOTONIC of the last summary figure, 0 = never */
	int64_t summary_wall_ns;    /* the same instant, CLOCK_REALTIME (displays) */
	uint32_t have;              /* enum slob_acct_have */
	char currency[4];           /* "USD" */
};

struct slob_exec {
	uint32_t kind;          /* enum slob_exec_kind */
	uint8_t role;           /* enum slob_role */
	int8_t dir;             /* direction of the position the order belongs to */
	uint16_t pad_;
	uint64_t setup_id;
	int64_t order_id;       /* broker order id */
	int64_t ts_ns;          /* event time */
	int64_t recv_ns;        /* monotonic when the report was produced */
	uint64_t clock_seq;     /* CLOCK_ACK */
	int32_t qty;            /* fill qty (FILL), position (RECONCILED) */
	int32_t px;             /* fill price in ticks */
	int32_t code;           /* REJECTED: IB error code */
	int32_t pad2_;
	char order_ref[SLOB_ORDER_REF_LEN];
	char text[64];          /* reject reason, truncated */
	struct slob_exec_account acct; /* ACCOUNT only */
};

/* ---- helpers ----------------------------------------------------------- */

static inline const char *slob_state_name(unsigned s)
{
	switch (s) {
	case SLOB_ST_WATCHING_CONSOL: return "WATCHING_CONSOL";
	case SLOB_ST_WATCHING_LIQ2:   return "WATCHING_LIQ2";
	case SLOB_ST_WAITING_ENTRY:   return "WAITING_ENTRY";
	case SLOB_ST_SETUP_COMPLETE:  return "SETUP_COMPLETE";
	case SLOB_ST_INVALIDATED:     return "INVALIDATED";
	default:                      return "UNKNOWN";
	}
}

static inline const char *slob_reason_name(unsigned r)
{
	switch (r) {
	case SLOB_INV_NONE:                        return "";
	case SLOB_INV_CONSOLIDATION_TIMEOUT:       return "consolidation_timeout";
	case SLOB_INV_CONSOLIDATION_RANGE_INVALID: return "consolidation_range_invalid";
	case SLOB_INV_LIQ2_TIMEOUT:                return "liq2_timeout";
	case SLOB_INV_RETRACEMENT_EXCEEDED:        return "retracement_exceeded";
	case SLOB_INV_ENTRY_TIMEOUT:               return "entry_timeout";
	case SLOB_INV_MARKET_CLOSED:               return "market_closed";
	case SLOB_INV_NEGATIVE_RISK_REWARD:        return "negative_risk_reward";
	case SLOB_INV_GAP_DETECTED:                return "gap_detected";
	default:                                   return "unknown";
	}
}

static inline const char *slob_role_name(unsigned r)
{
	return r == SLOB_ROLE_ENTRY ? "ENTRY" : r == SLOB_ROLE_TP ? "TP" : "SL";
}

#endif /* SLOB_EVENT_H */
