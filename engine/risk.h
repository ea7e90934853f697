/* SPDX-License-Identifier: MIT */
/*
 * risk.h: the risk gate, the hot stage between the detector and the sender.
 * It sizes each completed setup, applies every limit (circuit breakers,
 * hours, news, rate, duplicates, backpressure), turns accepted setups into
 * bracket intents with a deterministic orderRef, and owns positions, P&L,
 * equity and its peak from the sender's execution reports. Rules and reason
 * codes are documented in docs/RISK.md.
 *
 * Design notes
 *  1. One thread (the risk stage's) owns all state. The only other entry
 *     points are slob_risk_request_reset() and slob_risk_set_kill_switch(),
 *     callable from any control thread: they push a record on a small SPSC
 *     control ring (producers serialised by a mutex on the cold side only);
 *     the stage applies them at its next poll.
 *  2. After slob_risk_create() nothing allocates: the idempotency set, the
 *     bracket table, the order-rate window and the output FIFO are sized at
 *     creation. Money is int64 cents, prices int32 ticks, times int64 ns.
 *  3. A setup id enters the idempotency set when its bracket is emitted and
 *     never leaves it (this process); the store preloads earlier ids at
 *     start (slob_risk_preload_setup). So a repeated signal, a retry or a
 *     restart can never produce a second bracket for the same setup.
 *  4. Determinism: every SLOB_SIG_CLOCK is forwarded as SLOB_INTENT_CLOCK in
 *     order; with wait_for_clock_ack no signal after a forwarded clock
 *     (SETUP, the next CLOCK, END) is handled before the sender acked that
 *     clock, so every decision, mark, cancel timer and record sees exactly
 *     the fills of ticks up to it, on every thread layout (event.h). Not
 *     only SETUPs wait: a CLOCK's bar count and mark would otherwise race
 *     the fills of the previous bar.
 *  5. The breaker is latched: drawdown, order-rate bursts and (optionally)
 *     unknown broker positions trip it; only an operator reset clears it,
 *     also across restarts (snapshot/restore). A trip or a kill switch
 *     cancels entries with no fill yet; open positions and partly filled
 *     entries keep their SL/TP (cancelling an IB parent cancels them).
 *  7. Money and positions move only on FILL reports; RECONCILED reports
 *     (after a reconnect) only mark setups as known and track them, since
 *     the store snapshot already holds what they describe.
 *  6. A signal is consumed only when the output FIFO has room for every
 *     intent it can cause; trade records go to the coldq, which never drops
 *     them; if the coldq is backlogged new entries are rejected.
 *
 *   bracket slot: FREE -> PENDING (entry working; also an adopted order)
 *                   -> OPEN (>= 1 contract filled) -> FREE (flat: TRADE
 *                   record; a still-working rest of the entry is cancelled)
 *                 PENDING -> FREE (entry cancelled or rejected, no fill)
 */
#ifndef SLOB_RISK_H
#define SLOB_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/coldrec.h"
#include "engine/event.h"
#include "engine/instrument.h"
#include "engine/stage.h"
#include "engine/tz.h"
#include "ringbuf/ring.h"

/* Decision reason codes (stats reasons[] index; cold DECISION.reason). */
enum slob_risk_reason {
	SLOB_RISK_ACCEPTED = 0,
	SLOB_RISK_DUPLICATE,	    /* setup already has (or had) a bracket */
	SLOB_RISK_KILL_SWITCH,	    /* operator kill switch on */
	SLOB_RISK_BREAKER,	    /* circuit breaker tripped (latched) */
	SLOB_RISK_MAX_DRAWDOWN,	    /* drawdown from peak >= max_drawdown_pct (trips breaker) */
	SLOB_RISK_DAILY_LOSS,	    /* daily P&L <= -daily_loss_limit */
	SLOB_RISK_MAX_POSITIONS,    /* live brackets >= max_concurrent_positions */
	SLOB_RISK_OUTSIDE_HOURS,    /* before trading_start or at/after trading_end */
	SLOB_RISK_WEEKEND,	    /* Saturday / Sunday (New York) */
	SLOB_RISK_HOLIDAY,	    /* exchange holiday (or after its early close) */
	SLOB_RISK_NEWS_BLACKOUT,    /* inside a news window */
	SLOB_RISK_ORDER_RATE,	    /* order burst over the rate limit (trips breaker) */
	SLOB_RISK_SIZE_ZERO,	    /* sizing floors to 0 contracts */
	SLOB_RISK_BAD_SETUP,	    /* id 0, stop distance 0, SL/TP on the wrong side */
	SLOB_RISK_COLD_BACKLOG,	    /* cold queue backlogged: trade records waiting */
	SLOB_RISK_STORE_UNHEALTHY,  /* store reports unhealthy */
	SLOB_RISK_SETUP_TABLE_FULL, /* idempotency set full (fail closed) */
	SLOB_RISK_DISCONNECTED,	    /* order connection down */
	SLOB_RISK_UNKNOWN_BROKER,   /* unknown broker order/position (trips breaker) */
	SLOB_RISK_DUPLICATE_LEVELS, /* a live bracket has the same direction, entry, SL and TP */
	SLOB_RISK_ACCOUNT_STALE,    /* broker account figures missing or too old (live) */
	SLOB_RISK_MARGIN,	    /* bracket's initial margin does not fit AvailableFunds */
	SLOB_RISK_REASON_MAX
};

/* Where the equity a size was computed from came from (decision record). */
enum slob_equity_src {
	SLOB_EQ_CONFIG = 0, /* initial_capital + own realised/unrealised P&L */
	SLOB_EQ_BROKER = 1, /* the broker's NetLiquidation */
};

/* risk.equity_source: which equity sizes trades and feeds the drawdown breaker. */
enum slob_equity_mode {
	SLOB_EQMODE_MIN = 0,	/* the lower of broker and config (default) */
	SLOB_EQMODE_BROKER = 1, /* broker NetLiquidation */
	SLOB_EQMODE_CONFIG = 2, /* configured capital + own P&L only */
};

const char *slob_equity_src_name(unsigned src);

/* Name of a reason code ("accepted", "duplicate", ...). */
const char *slob_risk_reason_name(unsigned reason);

struct slob_risk_params {
	int64_t initial_capital_cents;	  /* 50 000.00 USD */
	int32_t risk_per_trade_ppm;	  /* 10000 = 1 % (parts per million of equity) */
	int32_t max_position_size;	  /* 5 contracts */
	int32_t min_one_contract;	  /* 0: size 0 is skipped; 1: raised to 1 (original) */
	int32_t max_drawdown_bp;	  /* 2500 = 25 % from peak equity; 0 = off */
	int64_t daily_loss_limit_cents;	  /* 2 500.00 USD; 0 = off */
	int32_t max_concurrent_positions; /* 2 live brackets */
	int32_t trading_start_min;	  /* 570 = 09:30 local */
	int32_t trading_end_min;	  /* 960 = 16:00 local (exclusive) */
	char timezone[48];		  /* America/New_York */
	char holiday_file[256];		  /* "" = none */
	char news_file[256];		  /* "" = none */
	int32_t news_before_min;	  /* 120 */
	int32_t news_after_min;		  /* 120 */
	int32_t news_min_impact;	  /* 3 = HIGH only */
	int32_t order_rate_limit;	  /* 5 brackets ... */
	int32_t order_rate_window_s;	  /* ... per 60 s; one more trips the breaker */
	int32_t cancel_after_bars;	  /* 20 bars without an entry fill -> cancel */
	int32_t wait_for_clock_ack;	  /* 0; the integrator sets 1 for paper replays */
	int32_t setup_capacity;		  /* 65536 setup ids in the idempotency set */
	int32_t halt_on_unknown;	  /* 1: SLOB_EXEC_UNKNOWN trips the breaker */
	/* broker account (live order sessions only; io.account_feed) */
	int32_t equity_source;		  /* enum slob_equity_mode, default MIN */
	int32_t account_stale_s;	  /* 300: no figures this long holds entries; 0 = off */
	int32_t margin_headroom_bp;	  /* 1000 = margin x 1.10 must fit AvailableFunds */
	int64_t margin_per_contract_cents; /* 0: broker what-if only; else used until it answers */
	int64_t excess_liq_alert_cents;	  /* 5 000.00 USD: alert below while positions open */
	int32_t flatten_at_min;		  /* -1 = off; local minute from which working
					   * entries are cancelled and open positions
					   * closed at market (session-end flatten) */
};

void slob_risk_params_default(struct slob_risk_params *p);
/* Every key slob_risk_param_set() accepts, NULL-terminated (config table check). */
extern const char *const slob_risk_param_keys[];
/* Keys as in docs/RISK.md ([risk] section). 0, -ENOENT, -EINVAL (message names key and range). */
int slob_risk_param_set(struct slob_risk_params *p, const char *key, const char *value, char *err,
			size_t errlen);
int slob_risk_params_validate(const struct slob_risk_params *p, char *err, size_t errlen);

/* Wiring given by the integrator. Rings: records of the named types. */
struct slob_risk_io {
	slob_ring_t *sig_in;		   /* detector -> risk, struct slob_sig */
	slob_ring_t *exec_in;		   /* sender -> risk, struct slob_exec (may be NULL) */
	slob_ring_t *intent_out;	   /* risk -> sender, struct slob_intent */
	struct slob_coldq *cold;	   /* risk's cold queue (may be NULL in tests) */
	const int *store_healthy;	   /* NULL = healthy; read with relaxed loads */
	struct slob_instrument instrument; /* tick size, point value */
	struct slob_tz *tz;		   /* NULL: loaded from params.timezone */
	bool account_feed;		   /* a live broker sends SLOB_EXEC_ACCOUNT: account
					      figures are required for new entries */
};

/* Open positions carried across restarts (max per snapshot). */
#define SLOB_RISK_SNAP_MAX_POS 64

struct slob_risk_pos_snap {
	uint64_t setup_id;
	int64_t entry_ns;
	int32_t qty;	/* contracts, > 0 */
	int32_t avg_px; /* ticks */
	int32_t sl, tp;
	int8_t dir; /* enum slob_dir */
};

/*
 * What the store gives back at start (persist fills it from the last
 * SLOB_COLD_RISK_STATE, SLOB_COLD_BREAKER and open SLOB_COLD_POSITION rows;
 * ids of setups that already had a bracket go through
 * slob_risk_preload_setup()).
 */
struct slob_risk_snapshot {
	int64_t equity_cents;	  /* equity at the last risk state (incl. unrealised) */
	int64_t unrealised_cents; /* its unrealised part; MUST be set when positions
				     are open (else it is counted twice once they are
				     re-marked): risk_state.unrealised_cents, or
				     equity - (initial_capital + realised) */
	int64_t peak_cents;
	int64_t daily_pnl_cents;
	int32_t trading_day; /* yyyymmdd (New York) of daily_pnl */
	uint8_t breaker_tripped;
	uint8_t kill_switch;
	uint16_t breaker_reason; /* enum slob_risk_reason */
	int64_t breaker_value;
	int64_t broker_peak_cents; /* peak broker NetLiquidation, 0 = none */
	unsigned npositions;
	struct slob_risk_pos_snap positions[SLOB_RISK_SNAP_MAX_POS];
};

/* Read-only view of the state (tests, stats, dashboards via the cold path). */
struct slob_risk_view {
	int64_t cash_cents;	/* initial capital + realised */
	int64_t realised_cents; /* realised since start (this process + restored) */
	int64_t unrealised_cents;
	int64_t equity_cents;
	int64_t peak_cents;
	int64_t daily_pnl_cents;
	int32_t trading_day;
	int32_t position_qty;	/* signed net contracts over open brackets */
	int32_t live_brackets;	/* pending + open */
	int32_t open_positions; /* brackets with contracts */
	bool breaker_tripped;
	uint16_t breaker_reason;
	bool kill_switch;
	bool connected;
	uint64_t acked_clock_seq, fwd_clock_seq;
	uint64_t brackets, cancels, fills, trades, rejects_by_broker, unknown_broker, duplicates;
	unsigned setups_known;
	/* broker account (SLOB_EXEC_ACCOUNT; have = 0: none received) */
	struct slob_exec_account acct;
	int64_t acct_recv_ns;	      /* CLOCK_MONOTONIC when risk got the last figures */
	int64_t broker_peak_cents;    /* peak NetLiquidation (drawdown, broker series) */
	int64_t sizing_equity_cents;  /* equity the next size would use */
	uint8_t sizing_equity_src;    /* enum slob_equity_src */
	bool account_stale;	      /* entries held for stale/missing figures */
	uint64_t margin_refusals, account_holds;
};

typedef struct slob_risk slob_risk_t;

/*
 * slob_risk_create - allocates a risk gate with every table sized from
 * `p` (validated here) and `io`; loads the holiday/news files and the time
 * zone when io->tz is NULL. Returns 0 or -errno with the detail in err
 * (file:line for calendar errors). Cold path.
 */
int slob_risk_create(slob_risk_t **out, const struct slob_risk_params *p,
		     const struct slob_risk_io *io, char *err, size_t errlen);
/* Frees it. Accepts NULL. */
void slob_risk_free(slob_risk_t *r);

/*
 * slob_risk_restore - applies a snapshot before the first poll: equity,
 * peak, daily P&L, breaker, kill switch, open positions (each id also goes
 * into the idempotency set). Returns 0, -EBUSY after the first poll,
 * -ENOSPC when positions exceed the bracket table, -EINVAL on a bad entry.
 */
int slob_risk_restore(slob_risk_t *r, const struct slob_risk_snapshot *s);

/* Adds a setup id that already had a bracket (store preload). 0, -ENOSPC, -EINVAL (id 0). */
int slob_risk_preload_setup(slob_risk_t *r, uint64_t setup_id);

/*
 * slob_risk_poll - applies control requests, drains execution reports,
 * then decides signals while outputs have room. Returns work done, 0 when
 * idle, or -ENOSPC when a trade record could not be queued (fatal). Risk
 * thread only; never blocks, allocates or logs.
 */
int slob_risk_poll(slob_risk_t *r);
/* True after END was forwarded, the last clock acked (if waiting) and the coldq drained. */
bool slob_risk_done(const slob_risk_t *r);

/* Fills a struct slob_stage (name "risk") running this gate. st->stats is
 * used for counters (reasons[] indexed by enum slob_risk_reason). */
void slob_risk_stage_init(slob_risk_t *r, struct slob_stage *st);

/*
 * slob_risk_request_reset - operator reset of the latched breaker, recorded
 * with who/why (SLOB_COLD_BREAKER, tripped = 0); the peak is reset to the
 * current equity. Any thread (serialised internally); applied at the next
 * poll. Returns 0 or -EAGAIN if the control ring is full.
 */
int slob_risk_request_reset(slob_risk_t *r, const char *who, const char *why);
/* Kill switch on/off (no new entries; on cancels unfilled entries). Any thread. 0 or -EAGAIN. */
int slob_risk_set_kill_switch(slob_risk_t *r, bool on);

/* State view. Risk thread (or after it stopped). */
void slob_risk_get_view(const slob_risk_t *r, struct slob_risk_view *v);

/* Pure checks, exported for tests and tools (risk thread or own instance). */
/* Contracts for a stop distance, equity and params; 0 if it floors to 0 and
 * min_one_contract is off. */
int32_t slob_risk_size(const struct slob_risk_params *p, const struct slob_instrument *in,
		       int64_t equity_cents, int32_t stop_ticks);
/* Reason (OUTSIDE_HOURS/WEEKEND/HOLIDAY/NEWS_BLACKOUT) or 0 for instant utc_ns. */
unsigned slob_risk_check_time(slob_risk_t *r, int64_t utc_ns);

/* orderRef helpers: ref_hash = XXH3_64bits(8 bytes of setup_id (little
 * endian) followed by "bracket"); order_ref = "SLOB_" + 16 lowercase hex. */
uint64_t slob_risk_ref_hash(uint64_t setup_id);
void slob_risk_order_ref(uint64_t ref_hash, char out[SLOB_ORDER_REF_LEN]);

/* Detail of the last cold-path failure on this thread. */
const char *slob_risk_strerror(void);

#endif /* SLOB_RISK_H */
