/* SPDX-License-Identifier: MIT */
/*
 * coldrec.h: records the hot stages hand to the cold thread, and the
 * producer-side queue that guarantees trade records are never dropped.
 *
 * Classes
 *  - TRADE records (orders, fills, trades, positions, risk state, breaker
 *    changes, setup state changes that the store needs for recovery) are never
 *    dropped. When the cold ring is full they wait in the producer's private
 *    overflow array (capacity fixed at start); while any are waiting,
 *    slob_coldq_backlogged() is true and the risk gate opens no new position.
 *    If even the overflow is full, slob_coldq_put returns false and the stage
 *    must stop (fatal, counted): nothing is silently lost.
 *  - INFO records (bars, log lines, decisions, alerts of low severity) are
 *    dropped with a counter when the ring is full.
 * The hot path never waits for the cold thread.
 */
#ifndef SLOB_COLDREC_H
#define SLOB_COLDREC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <xxhash.h>

#include "engine/event.h"
#include "ringbuf/ring.h"

enum slob_cold_type {
	SLOB_COLD_BAR = 1,     /* candles table (INFO) */
	SLOB_COLD_SETUP,       /* setup state change: active_setups/setups (TRADE) */
	SLOB_COLD_DECISION,    /* risk decision, accepted or rejected (INFO) */
	SLOB_COLD_ORDER,       /* order placed / status change (TRADE) */
	SLOB_COLD_FILL,        /* execution (TRADE) */
	SLOB_COLD_TRADE,       /* closed trade -> trade_history (TRADE) */
	SLOB_COLD_POSITION,    /* position snapshot (TRADE) */
	SLOB_COLD_RISK_STATE,  /* equity, peak, daily P&L (TRADE) */
	SLOB_COLD_BREAKER,     /* breaker tripped / reset (TRADE) */
	SLOB_COLD_LOG,         /* log line (INFO, ERROR level lines are TRADE) */
	SLOB_COLD_ALERT,       /* alert to send (TRADE for >= WARNING) */
	SLOB_COLD_CONN,        /* connection event (TRADE) */
	SLOB_COLD_UNKNOWN_BROKER, /* unmatched broker order/position (TRADE) */
	SLOB_COLD_ACCOUNT,     /* broker account figures as risk sees them (INFO, status only) */
	SLOB_COLD_TYPE_MAX
};

enum slob_cold_class { SLOB_CLASS_INFO = 0, SLOB_CLASS_TRADE = 1 };

enum slob_level { SLOB_LVL_DEBUG = 0, SLOB_LVL_INFO, SLOB_LVL_WARNING, SLOB_LVL_ERROR, SLOB_LVL_CRITICAL };

struct slob_cold_decision {
	uint64_t setup_id;
	int32_t qty;           /* accepted size (0 when rejected) */
	uint16_t reason;       /* risk reason code (engine/risk.h), 0 = accepted */
	uint8_t equity_src;    /* enum slob_equity_src of the size (0 config, 1 broker) */
	uint8_t pad_;
	int32_t entry, sl, tp;
	int8_t dir;
	int64_t equity_cents;  /* the equity the size was computed from (0: not sized) */
};

struct slob_cold_order {
	uint64_t setup_id;
	int64_t order_id;
	int64_t parent_id;
	int32_t qty, px;       /* px: limit or stop price */
	int8_t dir;            /* +1 BUY, -1 SELL (the order's own action) */
	uint8_t role;          /* enum slob_role */
	uint8_t status;        /* enum slob_exec_kind of the latest report */
	uint8_t pad_;
	int32_t code;          /* reject code */
	char order_ref[SLOB_ORDER_REF_LEN];
	char text[48];
};

struct slob_cold_fill {
	uint64_t setup_id;
	int64_t order_id;
	int32_t qty, px;
	int8_t dir;            /* +1 bought, -1 sold */
	uint8_t role;
	char order_ref[SLOB_ORDER_REF_LEN];
	char exec_id[32];
};

struct slob_cold_trade {     /* a closed round trip -> trade_history */
	uint64_t setup_id;
	int64_t entry_ns, exit_ns;
	int32_t entry_px, exit_px, sl, tp;
	int32_t qty;
	int8_t dir;
	uint8_t exit_role;     /* SLOB_ROLE_TP / SLOB_ROLE_SL / 255 manual */
	int64_t pnl_cents;     /* realised P&L in account cents */
};

struct slob_cold_position {
	uint64_t setup_id;     /* 0: aggregated instrument position */
	int32_t qty;           /* signed contracts */
	int32_t avg_px;        /* ticks */
	int32_t sl, tp;
	int8_t open;           /* 0: closed (row removed) */
};

struct slob_cold_risk {
	int64_t equity_cents, peak_cents, daily_pnl_cents, realised_cents, unrealised_cents;
	int32_t open_positions;
	int32_t trading_day;   /* yyyymmdd, New York */
	int64_t broker_peak_cents; /* peak broker NetLiquidation (drawdown), 0 = none */
};

struct slob_cold_breaker {
	uint16_t reason;       /* risk reason code that tripped it (0 on reset) */
	uint8_t tripped;       /* 1 tripped, 0 reset */
	uint8_t pad_;
	int64_t value;         /* e.g. drawdown in basis points */
	char who[32];
	char why[96];
};

struct slob_cold_text {      /* LOG, ALERT, CONN, UNKNOWN_BROKER */
	uint8_t level;         /* enum slob_level */
	uint8_t pad_[3];
	int32_t code;          /* alert kind / IB code / connection state */
	char component[16];
	char text[168];
};

#define SLOB_COLD_SIZE 256

/* Risk's view of the broker account (status block: slobctl, dashboard, metrics). */
struct slob_cold_account {
	struct slob_exec_account acct; /* the last figures (acct.have 0: none yet) */
	int64_t sizing_equity_cents;   /* equity the next size uses */
	int64_t broker_peak_cents;
	uint8_t equity_src;            /* enum slob_equity_src (engine/risk.h) */
	uint8_t stale;                 /* 1: new entries held for stale/missing figures */
	uint8_t pad_[6];
};

struct slob_cold {
	uint16_t type;         /* enum slob_cold_type */
	uint8_t cls;           /* enum slob_cold_class */
	uint8_t stage;         /* producer index (pipeline) */
	uint32_t pad_;
	uint64_t seq;          /* per-producer sequence, gaps = drops */
	int64_t ts_ns;         /* event time (UTC) */
	union {
		struct slob_bar bar;
		struct slob_setup setup;
		struct slob_cold_decision decision;
		struct slob_cold_order order;
		struct slob_cold_fill fill;
		struct slob_cold_trade trade;
		struct slob_cold_position position;
		struct slob_cold_risk risk;
		struct slob_cold_breaker breaker;
		struct slob_cold_text text;
		struct slob_cold_account account;
		unsigned char raw_[SLOB_COLD_SIZE - 24];
	} u;
};
SLOB_STATIC_ASSERT(sizeof(struct slob_cold) == SLOB_COLD_SIZE, "cold record layout");

/* Producer-side queue to the cold thread (one per hot stage). */
#define SLOB_COLDQ_OVERFLOW 4096

struct slob_coldq {
	slob_ring_t *ring;          /* SPSC to the cold thread */
	uint64_t seq;
	uint64_t dropped;           /* INFO records dropped */
	uint64_t overflowed;        /* TRADE records that waited in overflow */
	uint32_t ov_head, ov_tail;  /* overflow FIFO (private to the producer) */
	uint8_t stage;
	uint64_t digest;            /* decision journal digest (slob_coldq_journal_) */
	struct slob_cold *overflow; /* SLOB_COLDQ_OVERFLOW records, allocated at init */
};

int slob_coldq_init(struct slob_coldq *q, slob_ring_t *ring, uint8_t stage);
void slob_coldq_destroy(struct slob_coldq *q);

/* Moves waiting TRADE records into the ring; returns how many remain. Producer only. */
static inline unsigned slob_coldq_flush(struct slob_coldq *q)
{
	while (q->ov_head != q->ov_tail) {
		if (!slob_ring_push_spsc(q->ring, &q->overflow[q->ov_head % SLOB_COLDQ_OVERFLOW]))
			break;
		q->ov_head++;
	}
	return q->ov_tail - q->ov_head;
}

static inline bool slob_coldq_backlogged(const struct slob_coldq *q)
{
	return q->ov_head != q->ov_tail;
}

/*
 * Decision journal: every completed setup, risk decision and fill passes
 * through a producer's cold queue in that producer's program order, which a
 * replay makes deterministic. Folding selected fields (never padding) into a
 * running xxh3 gives each producer a digest that is equal across thread
 * layouts; the pipeline combines them into the run's decision digest.
 */
static inline void slob_coldq_journal_(struct slob_coldq *q, const struct slob_cold *rec)
{
	int64_t f[8];
	unsigned n = 0;
	switch (rec->type) {
	case SLOB_COLD_SETUP:
		if (rec->u.setup.state != SLOB_ST_SETUP_COMPLETE)
			return;
		f[0] = 1; f[1] = (int64_t)rec->u.setup.id; f[2] = rec->u.setup.dir;
		f[3] = rec->u.setup.entry; f[4] = rec->u.setup.sl; f[5] = rec->u.setup.tp;
		f[6] = rec->u.setup.entry_ns;
		n = 7;
		break;
	case SLOB_COLD_DECISION:
		f[0] = 2; f[1] = (int64_t)rec->u.decision.setup_id; f[2] = rec->u.decision.qty;
		f[3] = rec->u.decision.reason; f[4] = rec->u.decision.entry;
		f[5] = rec->u.decision.sl; f[6] = rec->u.decision.tp; f[7] = rec->u.decision.dir;
		n = 8;
		break;
	case SLOB_COLD_FILL:
		f[0] = 3; f[1] = (int64_t)rec->u.fill.setup_id; f[2] = rec->u.fill.order_id;
		f[3] = rec->u.fill.qty; f[4] = rec->u.fill.px; f[5] = rec->u.fill.dir;
		f[6] = rec->u.fill.role;
		n = 7;
		break;
	default:
		return;
	}
	q->digest = XXH3_64bits_withSeed(f, n * sizeof(f[0]), q->digest);
}

/*
 * slob_coldq_put - hands a record to the cold thread; stamps seq and stage.
 * INFO: dropped (counted) if the ring is full; returns true.
 * TRADE: kept in order (overflow if needed); returns false only when the
 * overflow is full too, which the caller must treat as fatal. A refused
 * record takes no sequence number and stays out of the journal, so durable
 * sequences keep counting the records actually queued even if the caller
 * retries (a retry used to burn a number, and an acknowledged durable seq
 * then claimed records that were never written).
 * Producer thread only; never blocks.
 */
static inline bool slob_coldq_put(struct slob_coldq *q, struct slob_cold *rec)
{
	rec->seq = q->seq + 1;
	rec->stage = q->stage;
	if (slob_likely(q->ov_head == q->ov_tail) && slob_ring_push_spsc(q->ring, rec))
		goto queued;
	if (rec->cls == SLOB_CLASS_INFO) {
		q->dropped++;
		goto queued; /* numbered and journalled as if stored: drops depend on timing */
	}
	if (slob_coldq_flush(q) == 0 && slob_ring_push_spsc(q->ring, rec))
		goto queued;
	if (q->ov_tail - q->ov_head >= SLOB_COLDQ_OVERFLOW)
		return false;
	q->overflow[q->ov_tail++ % SLOB_COLDQ_OVERFLOW] = *rec;
	q->overflowed++;
queued:
	q->seq++;
	slob_coldq_journal_(q, rec);
	return true;
}

/* Convenience: a log line from a hot stage (formatting happens in the cold thread
 * only for numbers passed in text; hot callers pass preformatted constant text). */
static inline void slob_cold_text_init(struct slob_cold *rec, uint16_t type, uint8_t level,
				       int64_t ts_ns, const char *component, int32_t code,
				       const char *text)
{
	memset(rec, 0, 24 + sizeof(struct slob_cold_text));
	rec->type = type;
	rec->cls = level >= SLOB_LVL_WARNING ? SLOB_CLASS_TRADE : SLOB_CLASS_INFO;
	rec->ts_ns = ts_ns;
	rec->u.text.level = level;
	rec->u.text.code = code;
	strncpy(rec->u.text.component, component, sizeof(rec->u.text.component) - 1);
	strncpy(rec->u.text.text, text, sizeof(rec->u.text.text) - 1);
}

#endif /* SLOB_COLDREC_H */
