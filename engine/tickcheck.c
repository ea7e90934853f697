/* SPDX-License-Identifier: MIT */
/*
 * tickcheck.c: the market-data validator's slow path, the live conversion
 * and its parameters; see tickcheck.h for the rules and design notes.
 */
#include "engine/tickcheck.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/event.h"
#include "engine/tz.h"

static const char *const names[SLOB_TICKREJ_N] = {
    [SLOB_TICKREJ_BAD_PRICE] = "bad_price",   [SLOB_TICKREJ_PRICE_RANGE] = "price_range",
    [SLOB_TICKREJ_BAD_SIZE] = "bad_size",     [SLOB_TICKREJ_TS_RANGE] = "ts_range",
    [SLOB_TICKREJ_TS_SKEW] = "ts_skew",	      [SLOB_TICKREJ_TS_BACKWARDS] = "ts_backwards",
    [SLOB_TICKREJ_TS_FORWARD] = "ts_forward", [SLOB_TICKREJ_PRICE_JUMP] = "price_jump",
};

const char *slob_tickrej_name(unsigned reason)
{
	return reason < SLOB_TICKREJ_N ? names[reason] : "unknown";
}

/* ---- parameters ----------------------------------------------------------------- */

void slob_tickcheck_params_default(struct slob_tickcheck_params *p)
{
	/* NQ/MNQ: the CME price limits of equity index futures are 7/13/20 %
	 * of the previous settlement, so two consecutive trades 10 % apart
	 * are a bad print, not a market; a block trade is at most a few
	 * thousand contracts. */
	p->max_jump_pct = 10.0;
	p->max_size = 100000;
	p->backwards_tol_ns = SLOB_NS_PER_SEC;
	p->max_forward_ns = 7 * SLOB_NS_PER_DAY; /* longer than any exchange closure */
	p->max_skew_ns = 60 * SLOB_NS_PER_SEC;
	p->ts_min_ns = 946684800LL * SLOB_NS_PER_SEC;  /* 2000-01-01 */
	p->ts_max_ns = 2871763200LL * SLOB_NS_PER_SEC; /* 2061-01-01 */
	p->confirm = 5;
	p->alert_run = 50;
}

static int parse_double(const char *v, double lo, double hi, double *out)
{
	char *e;
	errno = 0;
	double x = strtod(v, &e);
	if (errno || e == v || *e || !(x >= lo && x <= hi))
		return -1;
	*out = x;
	return 0;
}

static int parse_ll(const char *v, long long lo, long long hi, long long *out)
{
	char *e;
	errno = 0;
	long long x = strtoll(v, &e, 10);
	if (errno || e == v || *e || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

int slob_tickcheck_param_set(struct slob_tickcheck_params *p, const char *key, const char *value,
			     char *err, size_t errlen)
{
	long long v = 0;
	double d = 0;
	const char *allowed;
	if (!strcmp(key, "max_jump_pct")) {
		allowed = "0..100 (0 = off)";
		if (parse_double(value, 0, 100, &d))
			goto bad;
		p->max_jump_pct = d;
	} else if (!strcmp(key, "max_size")) {
		allowed = "1..1000000000";
		if (parse_ll(value, 1, 1000000000, &v))
			goto bad;
		p->max_size = v;
	} else if (!strcmp(key, "backwards_tol_ms")) {
		allowed = "0..86400000";
		if (parse_ll(value, 0, 86400000, &v))
			goto bad;
		p->backwards_tol_ns = v * 1000000LL;
	} else if (!strcmp(key, "max_forward_h")) {
		allowed = "0..87600 (0 = off)";
		if (parse_ll(value, 0, 87600, &v))
			goto bad;
		p->max_forward_ns = v * 3600LL * SLOB_NS_PER_SEC;
	} else if (!strcmp(key, "max_skew_s")) {
		allowed = "0..86400 (0 = off)";
		if (parse_ll(value, 0, 86400, &v))
			goto bad;
		p->max_skew_ns = v * SLOB_NS_PER_SEC;
	} else if (!strcmp(key, "confirm")) {
		allowed = "1..1000";
		if (parse_ll(value, 1, 1000, &v))
			goto bad;
		p->confirm = (uint32_t)v;
	} else if (!strcmp(key, "alert_run")) {
		allowed = "1..1000000";
		if (parse_ll(value, 1, 1000000, &v))
			goto bad;
		p->alert_run = (uint32_t)v;
	} else {
		if (err)
			snprintf(err, errlen, "[ticks] unknown key '%s'", key);
		return -ENOENT;
	}
	return 0;
bad:
	if (err)
		snprintf(err, errlen, "[ticks] %s = '%s': allowed %s", key, value, allowed);
	return -EINVAL;
}

int slob_tickcheck_params_validate(const struct slob_tickcheck_params *p, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!(p->max_jump_pct >= 0 && p->max_jump_pct <= 100))
		why = "max_jump_pct must be 0..100";
	else if (p->max_size < 1)
		why = "max_size must be >= 1";
	else if (p->backwards_tol_ns < 0 || p->max_forward_ns < 0 || p->max_skew_ns < 0)
		why = "tolerances must be >= 0";
	else if (p->ts_min_ns >= p->ts_max_ns)
		why = "the timestamp range is empty";
	else if (p->confirm < 1 || p->alert_run < 1)
		why = "confirm and alert_run must be >= 1";
	if (why) {
		if (err)
			snprintf(err, errlen, "[ticks] %s", why);
		return -EINVAL;
	}
	return 0;
}

/* ---- the validator ----------------------------------------------------------------- */

void slob_tickcheck_init_params(struct slob_tickcheck *c, const struct slob_tickcheck_params *p)
{
	memset(c, 0, sizeof(*c));
	if (p)
		c->p = *p;
	else
		slob_tickcheck_params_default(&c->p);
	if (c->p.backwards_tol_ns < 0)
		c->p.backwards_tol_ns = 0;
	c->last_ts = INT64_MIN;
	c->jump_lim = INT64_MAX;
	/* <= 2^32 (100 %), times a price <= 2^31: fits 63 bits */
	c->jump_mul = (uint64_t)llround(c->p.max_jump_pct / 100.0 * 4294967296.0);
}

void slob_tickcheck_init(struct slob_tickcheck *c, int64_t backwards_tol_ns)
{
	struct slob_tickcheck_params p;
	slob_tickcheck_params_default(&p);
	p.backwards_tol_ns = backwards_tol_ns < 0 ? 0 : backwards_tol_ns;
	slob_tickcheck_init_params(c, &p);
}

static int reject(struct slob_tickcheck *c, unsigned reason, int64_t ts, int64_t px)
{
	c->rej[reason]++;
	c->rejected++;
	c->run++;
	c->block_rej++;
	c->last_reason = (uint8_t)reason;
	if (!c->have_first) {
		c->have_first = 1;
		c->first_where = c->where ? c->where : c->seen;
		c->first_ts = ts;
		c->first_px = px;
		c->first_reason = (uint8_t)reason;
	}
	/* at most one per block: a run inside a block of many rejects is one alert */
	uint64_t block = c->seen / SLOB_TICKCHECK_BLOCK + 1;
	if ((c->run == c->p.alert_run || c->block_rej == c->p.alert_run) &&
	    c->alerted_block != block) {
		c->alert = 1;
		c->alerted_block = block;
	}
	return 0;
}

static int64_t jump_of(const struct slob_tickcheck *c, int64_t px)
{
	return c->jump_mul ? (int64_t)(((uint64_t)px * c->jump_mul) >> 32) : INT64_MAX;
}

static int accept(struct slob_tickcheck *c, int64_t ts, int64_t px, uint32_t flags)
{
	c->run = 0;
	c->tick_flags = flags;
	c->cand_ts_n = c->cand_px_n = 0;
	if (c->last_ts == INT64_MIN || ts > c->last_ts || (flags & SLOB_TICK_REANCHOR))
		c->last_ts = ts;
	if (px != c->last_px) {
		c->last_px = px;
		c->jump_lim = jump_of(c, px);
	}
	return 1;
}

/*
 * Everything after the value checks: the time ordering (replay rules unless
 * a skew check replaced them) and the price jump, each with its candidate
 * re-anchor (tickcheck.h note 2). Both times are inside [ts_min, ts_max).
 */
static int check_ref(struct slob_tickcheck *c, int64_t ts, int64_t px, bool ordered)
{
	if (ordered && c->last_ts != INT64_MIN) {
		int64_t d = ts - c->last_ts, tol = c->p.backwards_tol_ns, fwd = c->p.max_forward_ns;
		unsigned why = SLOB_TICKREJ_N;
		if (d < -tol)
			why = SLOB_TICKREJ_TS_BACKWARDS;
		else if (fwd > 0 && d > fwd)
			why = SLOB_TICKREJ_TS_FORWARD;
		if (why != SLOB_TICKREJ_N) {
			if (c->cand_ts_n && ts >= c->cand_ts - tol &&
			    (fwd == 0 || ts - c->cand_ts <= fwd)) {
				/* ticks accepted since the reference was set (this one is
				 * counted in seen, not yet in rejected) */
				uint64_t at_anchor = c->seen - 1 - c->rejected - c->anchor_at;
				if (c->cand_ts_n >= c->p.confirm &&
				    (why == SLOB_TICKREJ_TS_FORWARD || at_anchor < c->p.confirm)) {
					/* a new timeline: the price reference goes with it */
					c->reanchors++;
					c->alert = 1;
					c->anchor_at = c->seen - 1 - c->rejected;
					c->last_px = 0;
					c->jump_lim = INT64_MAX;
					return accept(c, ts, px,
						      why == SLOB_TICKREJ_TS_BACKWARDS
							  ? SLOB_TICK_REANCHOR
							  : 0);
				}
				c->cand_ts_n++;
				if (ts > c->cand_ts)
					c->cand_ts = ts;
			} else {
				c->cand_ts = ts;
				c->cand_ts_n = 1;
			}
			return reject(c, why, ts, px);
		}
	}
	if (c->last_px && (px - c->last_px > c->jump_lim || c->last_px - px > c->jump_lim)) {
		if (c->cand_px_n && llabs(px - c->cand_px) <= jump_of(c, c->cand_px)) {
			if (c->cand_px_n >= c->p.confirm) {
				c->reanchors++;
				c->alert = 1;
				return accept(c, ts, px, 0);
			}
			c->cand_px_n++;
		} else {
			c->cand_px = px;
			c->cand_px_n = 1;
		}
		return reject(c, SLOB_TICKREJ_PRICE_JUMP, ts, px);
	}
	return accept(c, ts, px, 0);
}

static void count_seen(struct slob_tickcheck *c)
{
	c->seen++;
	if (c->seen % SLOB_TICKCHECK_BLOCK == 0)
		c->block_rej = 0;
}

int slob_tickcheck_slow(struct slob_tickcheck *c, int64_t ts, int64_t px, int64_t size)
{
	count_seen(c);
	c->tick_flags = 0;
	if (px <= 0)
		return reject(c, SLOB_TICKREJ_BAD_PRICE, ts, px);
	if (px > INT32_MAX)
		return reject(c, SLOB_TICKREJ_PRICE_RANGE, ts, px);
	if (size <= 0 || size > c->p.max_size)
		return reject(c, SLOB_TICKREJ_BAD_SIZE, ts, px);
	if (ts < c->p.ts_min_ns || ts >= c->p.ts_max_ns)
		return reject(c, SLOB_TICKREJ_TS_RANGE, ts, px);
	return check_ref(c, ts, px, true);
}

int slob_dbl_to_i32(double v, int32_t *out)
{
	/* the comparisons are false for NaN; the bounds are exact doubles */
	if (!(v > (double)INT32_MIN - 0.5 && v < (double)INT32_MAX + 0.5)) {
		*out = 0;
		return -ERANGE;
	}
	*out = (int32_t)lround(v);
	return 0;
}

int slob_dbl_to_ticks(double price, double tick_size, int32_t *out)
{
	if (!(tick_size > 0) || !isfinite(tick_size)) {
		*out = 0;
		return -ERANGE;
	}
	return slob_dbl_to_i32(price / tick_size, out);
}

int slob_tickcheck_live(struct slob_tickcheck *c, int64_t epoch_s, double price, double size,
			bool size_opt, double tick_size, int64_t now_ns, int64_t *ts_ns,
			int32_t *px, uint32_t *sz)
{
	count_seen(c);
	c->tick_flags = 0;
	int64_t ts = 0;
	int32_t p32 = 0;
	/* positions for the first-rejection record: the time only when in range */
	bool ts_ok = epoch_s >= c->p.ts_min_ns / SLOB_NS_PER_SEC &&
		     epoch_s < c->p.ts_max_ns / SLOB_NS_PER_SEC;
	if (ts_ok)
		ts = epoch_s * SLOB_NS_PER_SEC;
	if (isnan(price) || price <= 0)
		return reject(c, SLOB_TICKREJ_BAD_PRICE, ts, 0);
	if (slob_dbl_to_ticks(price, tick_size, &p32) < 0)
		return reject(c, SLOB_TICKREJ_PRICE_RANGE, ts, 0);
	if (p32 <= 0)
		return reject(c, SLOB_TICKREJ_BAD_PRICE, ts, p32);
	int64_t s64 = 0;
	if (size_opt && (isnan(size) || size == 0)) {
		s64 = 0;
	} else {
		if (!(size >= 0.5 && size <= (double)c->p.max_size))
			return reject(c, SLOB_TICKREJ_BAD_SIZE, ts, p32);
		s64 = llround(size);
	}
	if (!ts_ok)
		return reject(c, SLOB_TICKREJ_TS_RANGE, 0, p32);
	if (c->p.max_skew_ns > 0 && now_ns > 0 &&
	    (ts - now_ns > c->p.max_skew_ns || now_ns - ts > c->p.max_skew_ns))
		return reject(c, SLOB_TICKREJ_TS_SKEW, ts, p32);
	/* no receive clock to compare with (a simulator replaying history):
	 * the replay's ordering rules instead */
	if (!check_ref(c, ts, p32, c->p.max_skew_ns == 0 || now_ns <= 0))
		return 0;
	*ts_ns = ts;
	*px = p32;
	*sz = (uint32_t)s64;
	return 1;
}
