/* SPDX-License-Identifier: MIT */
/*
 * paper.h: the paper broker. A deterministic order-matching model that fills
 * bracket orders against replayed trade ticks, so replays and benchmarks run
 * the whole pipeline without a socket. The sender owns one (engine/sender.h)
 * and turns its events into the same execution reports a live broker gives.
 *
 * Fill model (documented in docs/TWS.md, "Paper broker")
 *  - LMT BUY  fills when a tick trades at or below the limit, at the limit.
 *    LMT SELL fills when a tick trades at or above the limit, at the limit.
 *  - STP SELL triggers when a tick trades at or below the stop; STP BUY when a
 *    tick trades at or above it; either fills at the stop price (no slippage).
 *  - Orders fill completely (no partial fills, no queue position, size of the
 *    tick ignored).
 *  - An order only sees ticks whose seq is greater than the `after_seq` given
 *    when it was placed (the last tick the decision knew of).
 *  - Bracket children are held until the parent fills and go live on the
 *    ticks after the parent's fill tick (never on the fill tick itself).
 *  - Session-end flatten: the stop becomes a market order that fills at
 *    the price of the first tick after the deciding clock's bar (unless the
 *    stop itself triggers first); the target is cancelled as usual.
 *  - When one child fills, the sibling is cancelled (OCA). If both children
 *    could fill on the same tick (only possible with crossed prices), the
 *    stop-loss is taken first (pessimistic).
 *
 * Design notes
 *  1. Single-threaded: every function is called by the sender's thread only.
 *  2. No allocation after slob_paper_init; brackets live in a fixed array and
 *     are matched in placement order, so the event sequence is a pure function
 *     of the call sequence (determinism of replays).
 *  3. A bracket slot is released once all three orders are terminal
 *     (filled or cancelled).
 *
 *   order states:  HELD --parent fill--> WORKING --tick--> FILLED
 *                   |                       |
 *                   +------cancel-----------+--> CANCELLED
 */
#ifndef SLOB_PAPER_H
#define SLOB_PAPER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/event.h"

enum slob_paper_type { SLOB_PAPER_LMT = 1, SLOB_PAPER_STP = 2 };

enum slob_paper_state {
	SLOB_PAPER_HELD = 1,   /* child waiting for its parent's fill */
	SLOB_PAPER_WORKING,
	SLOB_PAPER_FILLED,
	SLOB_PAPER_CANCELLED,
};

struct slob_paper_order {
	int64_t id;
	int64_t parent_id;     /* 0 for the entry */
	uint64_t setup_id;
	uint64_t after_seq;    /* only ticks with seq > after_seq can fill it */
	int32_t px;            /* limit (LMT) or stop (STP) price, ticks */
	int32_t qty;
	int8_t action;         /* +1 BUY, -1 SELL */
	int8_t dir;            /* direction of the position (enum slob_dir) */
	uint8_t type;          /* enum slob_paper_type */
	uint8_t role;          /* enum slob_role */
	uint8_t state;         /* enum slob_paper_state */
	uint8_t pad_[7];
	uint64_t flat_after;   /* stop only, > 0: closes at market on the first
				* tick with seq > flat_after (session-end flatten) */
	char order_ref[SLOB_ORDER_REF_LEN];
};

struct slob_paper_bracket {
	struct slob_paper_order o[3]; /* indexed by enum slob_role */
};

/* What happened to an order: SLOB_EXEC_FILL or SLOB_EXEC_CANCELLED. */
struct slob_paper_event {
	uint32_t kind;
	int32_t px;            /* FILL: fill price */
	int64_t ts_ns;         /* FILL: tick time; CANCELLED: the tick / cancel time */
	uint64_t seq;          /* tick seq that caused it (0 for explicit cancels) */
	const struct slob_paper_order *order;
};

typedef void (*slob_paper_event_fn)(void *ctx, const struct slob_paper_event *ev);

struct slob_paper {
	struct slob_paper_bracket *br; /* max_brackets slots */
	uint32_t *active;              /* slot indices in placement order */
	uint32_t *free_;               /* free slot stack */
	uint32_t max_brackets;
	uint32_t nactive;
	uint32_t nfree;
	uint32_t pad_;
	uint64_t fills, cancels;
};

/*
 * slob_paper_init - allocates room for max_brackets brackets (1..65536).
 * Returns 0, -EINVAL or -ENOMEM. Start-up only.
 */
int slob_paper_init(struct slob_paper *p, uint32_t max_brackets);

/* Frees the arrays; accepts NULL and zeroed objects. */
void slob_paper_destroy(struct slob_paper *p);

/*
 * slob_paper_place_bracket - places entry LMT + TP LMT + SL STP for a
 * SLOB_INTENT_BRACKET intent, with order ids first_id, first_id+1, first_id+2
 * (entry, TP, SL) and the role suffixes appended to intent->order_ref.
 * after_seq: the last tick seq the decision knew of.
 * Returns 0; -ENOSPC when every slot is in use; -EEXIST when setup_id already
 * has a live bracket; -EINVAL for a bad intent (qty <= 0, dir not +-1, or
 * prices on the wrong side: LONG needs sl < entry < tp, SHORT tp < entry < sl).
 * Sender thread only; no allocation.
 */
int slob_paper_place_bracket(struct slob_paper *p, const struct slob_intent *in,
			     int64_t first_id, uint64_t after_seq);

/*
 * slob_paper_cancel_setup - cancels every order of setup_id's bracket that is
 * not filled, if the entry has not filled yet; fn gets a CANCELLED event per
 * order. Returns the number cancelled, 0 if the entry already filled (the
 * bracket then runs on), or -ENOENT if there is no live bracket for setup_id.
 * Sender thread only.
 */
int slob_paper_cancel_setup(struct slob_paper *p, uint64_t setup_id, int64_t ts_ns,
			    slob_paper_event_fn fn, void *ctx);

/*
 * slob_paper_flatten - closes the position of setup_id's bracket at market:
 * its working stop fills at the first tick with seq > after_seq (at that
 * tick's price), the target is then cancelled. An entry still working is
 * cancelled instead (with its held children; fn gets a CANCELLED event per
 * order, at ts_ns), so it cannot fill after the session closed. 0, -ENOENT
 * (no bracket) or -EALREADY (the bracket has exited). Sender thread only.
 */
int slob_paper_flatten(struct slob_paper *p, uint64_t setup_id, uint64_t after_seq, int64_t ts_ns,
		       slob_paper_event_fn fn, void *ctx);

/*
 * slob_paper_on_tick - matches one trade tick against the working orders;
 * calls fn for each fill and each OCA cancellation, in order.
 * Returns the number of events. Sender thread only; no allocation.
 */
int slob_paper_on_tick(struct slob_paper *p, const struct slob_tick *t, slob_paper_event_fn fn,
		       void *ctx);

/* Number of brackets with at least one order not terminal. */
static inline uint32_t slob_paper_live_brackets(const struct slob_paper *p)
{
	return p->nactive;
}

/* Finds a live bracket by setup id; NULL if none. */
const struct slob_paper_bracket *slob_paper_find(const struct slob_paper *p, uint64_t setup_id);

#endif /* SLOB_PAPER_H */
