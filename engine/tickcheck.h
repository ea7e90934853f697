/* SPDX-License-Identifier: MIT */
/*
 * tickcheck.h: the one market-data validator. Every tick that enters the
 * engine passes here first: the replay readers (tick CSV, binary tick file,
 * engine/tickfile.h, engine/ingest.c) and the live market-data session
 * (engine/tws_conn.c md_tick). A rejected tick never reaches the candles,
 * the paper broker or anything that trades; it is counted by reason.
 *
 * Checks, in order (first failing one is the reason; docs/DATA_FORMATS.md
 * "Tick checks" has the table and the defaults):
 *   bad_price    price <= 0 (-0 and -inf included), NaN, or rounds to 0 ticks
 *   price_range  price beyond the int32 tick count of the instrument, +inf
 *   bad_size     size <= 0, NaN, or above max_size (live: a message that
 *                carries no size, tickPrice, may have NaN or 0: size 0)
 *   ts_range     timestamp outside [ts_min, ts_max) (the session calendar's
 *                years; no session rule can place such a tick)
 *   ts_skew      live: timestamp further than max_skew from the receive clock
 *   ts_backwards replay: timestamp before the last accepted one by more than
 *                backwards_tol
 *   ts_forward   replay: timestamp after the last accepted one by more than
 *                max_forward
 *   price_jump   further from the last accepted price than max_jump_pct %
 *
 * Design notes
 *  1. Nothing here allocates, locks, logs or makes a syscall: the common
 *     case (a tick that passes) is the inline slob_tickcheck_ok(); anything
 *     else goes to an out-of-line slow path that classifies and counts.
 *  2. A rejected tick never moves the reference (last accepted time and
 *     price): one bad timestamp or price cannot poison what follows. The
 *     cost of that rule is a real level shift (a data hole longer than
 *     max_forward, a true price gap beyond max_jump_pct): the validator then
 *     sees a run of rejected ticks that agree with each other, and after
 *     `confirm` of them it accepts the next agreeing tick as the new
 *     reference (counted in `reanchors`, alerted). A backwards re-anchor
 *     only replaces a reference that fewer than `confirm` ticks stood on
 *     (a lone first tick far in the future); the tick then carries
 *     SLOB_TICK_REANCHOR so the candles drop the bar it had opened.
 *  3. Timestamp differences are taken only between values inside
 *     [ts_min, ts_max), so no arithmetic can overflow whatever the input.
 *  4. The first rejection is remembered with the caller's position (`where`:
 *     CSV line, binary record index, or live tick number) for the replay's
 *     summary and `--strict`.
 *  5. Alerts: `alert` is raised (for the owner to send through the cold
 *     queue and clear) when `alert_run` ticks in a row were rejected or
 *     `alert_run` rejections fall in one block of 4096 ticks (at most once
 *     per block, so a long bad stretch reminds every 4096 ticks), and on a
 *     re-anchor: a persistent problem alerts, a stray tick only counts.
 */
#ifndef SLOB_TICKCHECK_H
#define SLOB_TICKCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringbuf/compiler.h"

enum slob_tickrej {
	SLOB_TICKREJ_BAD_PRICE = 0,
	SLOB_TICKREJ_PRICE_RANGE,
	SLOB_TICKREJ_BAD_SIZE,
	SLOB_TICKREJ_TS_RANGE,
	SLOB_TICKREJ_TS_SKEW,
	SLOB_TICKREJ_TS_BACKWARDS,
	SLOB_TICKREJ_TS_FORWARD,
	SLOB_TICKREJ_PRICE_JUMP,
	SLOB_TICKREJ_N
};

/* "bad_price", "price_range", ... (the names in summaries, stats and docs). */
const char *slob_tickrej_name(unsigned reason);

#define SLOB_TICKCHECK_BLOCK 4096   /* ticks per block of the rate alert */
#define SLOB_TICKCHECK_ALERT_CODE 0 /* alert kind of validator alerts (SLOB_ALERT_OTHER) */

struct slob_tickcheck_params {
	double max_jump_pct;	  /* 0 = off; default 10 */
	int64_t max_size;	  /* contracts; default 100000 */
	int64_t backwards_tol_ns; /* replay; default 1 s */
	int64_t max_forward_ns;	  /* replay; 0 = off; default 7 days */
	int64_t max_skew_ns;	  /* live; 0 = off; default 60 s */
	int64_t ts_min_ns;	  /* default 2000-01-01 */
	int64_t ts_max_ns;	  /* default 2061-01-01 (exclusive) */
	uint32_t confirm;	  /* agreeing rejects before a re-anchor; default 5 */
	uint32_t alert_run;	  /* rejects in a row (or per block) that alert; default 50 */
};

void slob_tickcheck_params_default(struct slob_tickcheck_params *p);
/* Keys of [ticks]: max_jump_pct (0..100), max_size (1..1000000000),
 * backwards_tol_ms (0..86400000), max_forward_h (0..87600), max_skew_s
 * (0..86400), confirm (1..1000), alert_run (1..1000000). */
int slob_tickcheck_param_set(struct slob_tickcheck_params *p, const char *key, const char *value,
			     char *err, size_t errlen);
int slob_tickcheck_params_validate(const struct slob_tickcheck_params *p, char *err, size_t errlen);

struct slob_tickcheck {
	struct slob_tickcheck_params p;
	int64_t last_ts;	  /* last accepted timestamp (INT64_MIN: none yet) */
	int64_t last_px;	  /* last accepted price (0: none yet) */
	int64_t jump_lim;	  /* max |px - last_px| in ticks (INT64_MAX: off) */
	uint64_t jump_mul;	  /* max_jump_pct / 100 in 32.32 fixed point (0: off) */
	uint64_t anchor_at;	  /* accepted ticks when the time reference was set */
	int64_t cand_ts, cand_px; /* candidate new references (note 2) */
	uint32_t cand_ts_n, cand_px_n;
	uint64_t seen;	    /* ticks checked */
	uint64_t rejected;  /* ticks rejected (all reasons) */
	uint64_t run;	    /* rejections in a row */
	uint64_t block_rej; /* rejections in the current block */
	uint64_t rej[SLOB_TICKREJ_N];
	uint64_t reanchors;
	uint64_t where; /* caller's position of the tick being checked (0: seen) */
	/* the first rejection (note 4) */
	uint64_t first_where;
	int64_t first_ts, first_px;
	uint8_t first_reason, last_reason;
	uint8_t have_first;
	uint8_t alert;		/* note 5: owner sends one alert and clears it */
	uint64_t alerted_block; /* block (from 1) of the last run/rate alert */
	uint32_t tick_flags;	/* flags for the tick just accepted (SLOB_TICK_REANCHOR) */
};

/* Defaults with the given backwards tolerance (the readers' historical API). */
void slob_tickcheck_init(struct slob_tickcheck *c, int64_t backwards_tol_ns);
/* With full parameters (NULL: defaults). */
void slob_tickcheck_init_params(struct slob_tickcheck *c, const struct slob_tickcheck_params *p);

/* The slow path: classify, count, maybe re-anchor. 1 accepted, 0 rejected. */
int slob_tickcheck_slow(struct slob_tickcheck *c, int64_t ts, int64_t px, int64_t size);

/*
 * slob_tickcheck_ok - a replay tick (price in ticks, size in contracts, as
 * parsed; any int64 value is safe). 1 if accepted (then c->tick_flags holds
 * flags to add to the tick), 0 if rejected (counted). Hot path.
 */
static inline int slob_tickcheck_ok(struct slob_tickcheck *c, int64_t ts, int64_t px, int64_t size)
{
	int64_t d = 0; /* taken only once both times are known to be in range */
	if (slob_likely(px > 0 && px <= INT32_MAX && size > 0 && size <= c->p.max_size &&
			ts >= c->p.ts_min_ns && ts < c->p.ts_max_ns && c->last_ts != INT64_MIN &&
			(d = ts - c->last_ts) >= -c->p.backwards_tol_ns &&
			(d <= c->p.max_forward_ns || c->p.max_forward_ns == 0) &&
			px - c->last_px <= c->jump_lim && c->last_px - px <= c->jump_lim &&
			(c->cand_ts_n | c->cand_px_n) == 0 &&
			(c->seen + 1) % SLOB_TICKCHECK_BLOCK != 0)) {
		c->seen++;
		c->run = 0;
		c->tick_flags = 0;
		if (d > 0)
			c->last_ts = ts;
		if (px != c->last_px) {
			/* fixed point: no division on the hot path */
			c->last_px = px;
			c->jump_lim =
			    c->jump_mul ? (int64_t)(((uint64_t)px * c->jump_mul) >> 32) : INT64_MAX;
		}
		return 1;
	}
	return slob_tickcheck_slow(c, ts, px, size);
}

/*
 * slob_tickcheck_live - a live tick as decoded: exchange time in whole
 * seconds, price and size as doubles (any value, NaN and infinities
 * included), the tick size, and the receive wall clock (UTC ns). Converts
 * with range checks (no undefined behaviour on any input), checks the skew
 * against now_ns instead of the replay's backwards/forward rules, and checks
 * price and size as the replay does. size_opt: the feed carries no size for
 * this tick (NaN or 0 is then accepted as 0). On acceptance fills *ts_ns,
 * *px, *size and returns 1; otherwise 0 (counted). Hot path.
 */
int slob_tickcheck_live(struct slob_tickcheck *c, int64_t epoch_s, double price, double size,
			bool size_opt, double tick_size, int64_t now_ns, int64_t *ts_ns,
			int32_t *px, uint32_t *sz);

/*
 * slob_dbl_to_ticks - price / tick_size rounded to the nearest tick, when it
 * is finite and fits int32; 0 and *out = 0 otherwise (-ERANGE). Any thread.
 */
int slob_dbl_to_ticks(double price, double tick_size, int32_t *out);
/* llround(v) into int32 when finite and in range; else -ERANGE and *out = 0. */
int slob_dbl_to_i32(double v, int32_t *out);

static inline uint64_t slob_tickcheck_rejected(const struct slob_tickcheck *c)
{
	return c->rejected;
}

static inline uint64_t slob_tickcheck_accepted(const struct slob_tickcheck *c)
{
	return c->seen - c->rejected;
}

#endif /* SLOB_TICKCHECK_H */
