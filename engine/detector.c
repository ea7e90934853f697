/* SPDX-License-Identifier: MIT */
/*
 * detector.c: the 5/1 SLOB setup state machine (STRATEGY.md R1-R29) and its
 * stage wrapper. See detector.h for the design notes; docs/DETECTOR.md maps
 * every rule to the code below and lists the exact integer comparisons.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "engine/config.h"
#include "engine/detector.h"

#define FP SLOB_DETECTOR_FP

/* ---- parameters -------------------------------------------------------- */

const char *const slob_detector_param_keys[] = {
    "session_tz",
    "lse_open",
    "nyse_open",
    "nyse_open_local",
    "nyse_open_anchor",
    "nyse_end",
    "monday_restart",
    "liq1_throttle",
    "consol_min_duration",
    "consol_max_duration",
    "consol_min_range_pct",
    "consol_max_range_pct",
    "internal_high_confirm",
    "internal_low_confirm",
    "require_internal_confirmation",
    "enable_short",
    "enable_long",
    "nowick_max_wick_body_ratio",
    "nowick_min_window",
    "liq2_minimum_wait",
    "max_entry_wait_candles",
    "max_retracement_points",
    "max_retracement_pct",
    "spike_wick_body_multiple",
    "spike_rule_buffer",
    "sl_buffer",
    "tp_buffer",
    "min_rr",
    "max_candidates",
    "tz_year_from",
    "tz_year_to",
    NULL,
};

void slob_detector_params_default(struct slob_detector_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->session_tz, sizeof(p->session_tz), "%s", "Europe/Stockholm");
	p->lse_open = 9 * 60;
	p->nyse_open_ny = 9 * 60 + 30;
	p->nyse_open_local = 15 * 60 + 30;
	p->nyse_open_anchor = SLOB_DETECTOR_ANCHOR_NEW_YORK;
	p->nyse_end = 22 * 60;
	p->monday_restart = 9 * 60;
	p->liq1_throttle = 5;
	p->consol_min_duration = 15;
	p->consol_max_duration = 120;
	p->consol_min_range_pct_fp = 100000; /* 0.1 % */
	p->consol_max_range_pct_fp = 500000; /* 0.5 % */
	p->internal_high_confirm = 5;
	p->internal_low_confirm = 3;
	p->require_internal_confirmation = false;
	p->enable_short = true;
	p->enable_long = true;
	p->nowick_max_wick_body_ratio_fp = 200000; /* 0.20 */
	p->nowick_min_window = 3;
	p->liq2_minimum_wait = 5;
	p->max_entry_wait_candles = 20;
	p->max_retracement_pts_fp = 100 * FP;
	p->max_retracement_pct_fp = 1 * FP;
	p->spike_wick_body_multiple_fp = 2 * FP;
	p->spike_rule_buffer_pts_fp = 2 * FP;
	p->sl_buffer_pts_fp = 1 * FP;
	p->tp_buffer_pts_fp = 1 * FP;
	p->min_rr_fp = 0;
	p->max_candidates = 256;
	p->tz_year_from = 2000;
	p->tz_year_to = 2060;
}

/* Exact decimal -> value x 1e6. At most 6 decimals; range [lo, hi] in fp. */
static int parse_fp(const char *key, const char *v, int64_t lo, int64_t hi, int64_t *out, char *err,
		    size_t errlen)
{
	const char *s = v;
	int neg = 0;
	int64_t ip = 0, fp = 0;
	int nd = 0, nf = 0;

	while (*s == ' ')
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		if (ip > 1000000000LL)
			goto bad;
		ip = ip * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
			if (nf >= 6) {
				snprintf(err, errlen, "%s: '%s' has more than 6 decimals", key, v);
				return -EINVAL;
			}
			fp = fp * 10 + (*s - '0');
		}
	}
	while (*s == ' ')
		s++;
	if (*s != '\0' || nd + nf == 0)
		goto bad;
	for (int i = nf; i < 6; i++)
		fp *= 10;
	int64_t x = ip * FP + fp;
	if (neg)
		x = -x;
	if (x < lo || x > hi) {
		snprintf(err, errlen, "%s: %s is out of range [%lld.%06lld, %lld.%06lld]", key, v,
			 (long long)(lo / FP), (long long)(llabs(lo % FP)), (long long)(hi / FP),
			 (long long)(hi % FP));
		return -EINVAL;
	}
	*out = x;
	return 0;
bad:
	snprintf(err, errlen, "%s: '%s' is not a decimal number", key, v);
	return -EINVAL;
}

/* "HH:MM" -> minutes since midnight (00:00 .. 23:59; 24:00 allowed if allow24). */
static int parse_hhmm(const char *key, const char *v, int allow24, int32_t *out, char *err,
		      size_t errlen)
{
	int h, m, n = 0;
	if (sscanf(v, "%2d:%2d%n", &h, &m, &n) != 2 || v[n] != '\0' || h < 0 || m < 0 || m > 59 ||
	    h > 24 || (h == 24 && (!allow24 || m != 0))) {
		snprintf(err, errlen, "%s: '%s' is not a time of day HH:MM (00:00 .. %s)", key, v,
			 allow24 ? "24:00" : "23:59");
		return -EINVAL;
	}
	*out = h * 60 + m;
	return 0;
}

static int set_int(const char *key, const char *v, long long lo, long long hi, int32_t *out,
		   char *err, size_t errlen)
{
	long long x;
	int rc = slob_parse_int(key, v, lo, hi, &x, err, errlen);
	if (rc == 0)
		*out = (int32_t)x;
	return rc;
}

int slob_detector_param_set(struct slob_detector_params *p, const char *key, const char *value,
			    char *err, size_t errlen)
{
	if (!key || !value) {
		snprintf(err, errlen, "detector: missing key or value");
		return -EINVAL;
	}
#define K(name) (strcasecmp(key, name) == 0)
	if (K("session_tz")) {
		if (!value[0] || strlen(value) >= sizeof(p->session_tz) || strstr(value, "..")) {
			snprintf(err, errlen,
				 "session_tz: '%s' is not a time zone name (IANA, e.g. "
				 "Europe/Stockholm)",
				 value);
			return -EINVAL;
		}
		snprintf(p->session_tz, sizeof(p->session_tz), "%s", value);
		return 0;
	}
	if (K("lse_open"))
		return parse_hhmm(key, value, 0, &p->lse_open, err, errlen);
	if (K("nyse_open") || K("lse_close"))
		return parse_hhmm(key, value, 0, &p->nyse_open_ny, err, errlen);
	if (K("nyse_open_local"))
		return parse_hhmm(key, value, 0, &p->nyse_open_local, err, errlen);
	if (K("nyse_end") || K("daily_invalidation"))
		return parse_hhmm(key, value, 1, &p->nyse_end, err, errlen);
	if (K("monday_restart"))
		return parse_hhmm(key, value, 0, &p->monday_restart, err, errlen);
	if (K("nyse_open_anchor")) {
		if (!strcasecmp(value, "new_york"))
			p->nyse_open_anchor = SLOB_DETECTOR_ANCHOR_NEW_YORK;
		else if (!strcasecmp(value, "stockholm"))
			p->nyse_open_anchor = SLOB_DETECTOR_ANCHOR_STOCKHOLM;
		else {
			snprintf(err, errlen,
				 "nyse_open_anchor: '%s' must be new_york or stockholm", value);
			return -EINVAL;
		}
		return 0;
	}
	if (K("liq1_throttle"))
		return set_int(key, value, 0, 1440, &p->liq1_throttle, err, errlen);
	if (K("consol_min_duration"))
		return set_int(key, value, 2, 1440, &p->consol_min_duration, err, errlen);
	if (K("consol_max_duration"))
		return set_int(key, value, 2, 1440, &p->consol_max_duration, err, errlen);
	if (K("consol_min_range_pct"))
		return parse_fp(key, value, 0, 100 * FP, &p->consol_min_range_pct_fp, err, errlen);
	if (K("consol_max_range_pct"))
		return parse_fp(key, value, 0, 100 * FP, &p->consol_max_range_pct_fp, err, errlen);
	if (K("internal_high_confirm"))
		return set_int(key, value, 0, 1440, &p->internal_high_confirm, err, errlen);
	if (K("internal_low_confirm"))
		return set_int(key, value, 0, 1440, &p->internal_low_confirm, err, errlen);
	if (K("require_internal_confirmation"))
		return slob_parse_bool(key, value, &p->require_internal_confirmation, err, errlen);
	if (K("enable_short"))
		return slob_parse_bool(key, value, &p->enable_short, err, errlen);
	if (K("enable_long"))
		return slob_parse_bool(key, value, &p->enable_long, err, errlen);
	if (K("nowick_max_wick_body_ratio"))
		return parse_fp(key, value, 0, 100 * FP, &p->nowick_max_wick_body_ratio_fp, err,
				errlen);
	if (K("nowick_min_window"))
		return set_int(key, value, 1, 1440, &p->nowick_min_window, err, errlen);
	if (K("liq2_minimum_wait"))
		return set_int(key, value, 0, 1440, &p->liq2_minimum_wait, err, errlen);
	if (K("max_entry_wait_candles"))
		return set_int(key, value, 1, 1440, &p->max_entry_wait_candles, err, errlen);
	if (K("max_retracement_points"))
		return parse_fp(key, value, 0, 100000 * FP, &p->max_retracement_pts_fp, err,
				errlen);
	if (K("max_retracement_pct"))
		return parse_fp(key, value, 0, 100 * FP, &p->max_retracement_pct_fp, err, errlen);
	if (K("spike_wick_body_multiple"))
		return parse_fp(key, value, 0, 1000 * FP, &p->spike_wick_body_multiple_fp, err,
				errlen);
	if (K("spike_rule_buffer"))
		return parse_fp(key, value, 0, 10000 * FP, &p->spike_rule_buffer_pts_fp, err,
				errlen);
	if (K("sl_buffer"))
		return parse_fp(key, value, 0, 10000 * FP, &p->sl_buffer_pts_fp, err, errlen);
	if (K("tp_buffer"))
		return parse_fp(key, value, -10000 * FP, 10000 * FP, &p->tp_buffer_pts_fp, err,
				errlen);
	if (K("min_rr"))
		return parse_fp(key, value, 0, 1000 * FP, &p->min_rr_fp, err, errlen);
	if (K("max_candidates"))
		return set_int(key, value, 1, 1 << 20, &p->max_candidates, err, errlen);
	if (K("tz_year_from"))
		return set_int(key, value, 1970, 2200, &p->tz_year_from, err, errlen);
	if (K("tz_year_to"))
		return set_int(key, value, 1970, 2200, &p->tz_year_to, err, errlen);
#undef K
	snprintf(err, errlen, "detector: unknown key '%s'", key);
	return -ENOENT;
}

int slob_detector_params_validate(const struct slob_detector_params *p, char *err, size_t errlen)
{
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)
	if (p->lse_open < 0 || p->lse_open >= 1440)
		FAIL("lse_open: must be within 00:00 .. 23:59");
	if (p->nyse_end <= 0 || p->nyse_end > 1440)
		FAIL("nyse_end: must be within 00:01 .. 24:00");
	if (p->nyse_open_anchor != SLOB_DETECTOR_ANCHOR_NEW_YORK &&
	    p->nyse_open_anchor != SLOB_DETECTOR_ANCHOR_STOCKHOLM)
		FAIL("nyse_open_anchor: must be new_york or stockholm");
	if (p->nyse_open_local <= p->lse_open || p->nyse_open_local >= p->nyse_end)
		FAIL("nyse_open_local: must be after lse_open and before nyse_end");
	if (p->nyse_open_ny < 0 || p->nyse_open_ny >= 1440)
		FAIL("nyse_open: must be within 00:00 .. 23:59");
	if (p->monday_restart < 0 || p->monday_restart >= 1440)
		FAIL("monday_restart: must be within 00:00 .. 23:59");
	if (p->consol_min_duration < 2 || p->consol_min_duration > p->consol_max_duration)
		FAIL("consol_min_duration: must be >= 2 and <= consol_max_duration (%d)",
		     p->consol_max_duration);
	if (p->consol_min_range_pct_fp < 0 ||
	    p->consol_min_range_pct_fp > p->consol_max_range_pct_fp)
		FAIL("consol_min_range_pct: must be >= 0 and <= consol_max_range_pct");
	if (p->consol_max_range_pct_fp > 100 * FP)
		FAIL("consol_max_range_pct: must be <= 100");
	if (p->nowick_max_wick_body_ratio_fp <= 0)
		FAIL("nowick_max_wick_body_ratio: must be > 0 (range (0, 100])");
	if (p->nowick_min_window < 1)
		FAIL("nowick_min_window: must be >= 1");
	if (p->max_entry_wait_candles < 1)
		FAIL("max_entry_wait_candles: must be >= 1");
	if (p->min_rr_fp < 0)
		FAIL("min_rr: must be >= 0");
	if (p->max_candidates < 1 || p->max_candidates > (1 << 20))
		FAIL("max_candidates: must be within [1, 1048576]");
	if (p->tz_year_from > p->tz_year_to || p->tz_year_to - p->tz_year_from > 150)
		FAIL("tz_year_from/tz_year_to: must be ordered and span at most 150 years");
	if (p->liq1_throttle < 0 || p->liq2_minimum_wait < 0 || p->internal_high_confirm < 0 ||
	    p->internal_low_confirm < 0)
		FAIL("liq1_throttle/liq2_minimum_wait/internal_*_confirm: must be >= 0 minutes");
	if (p->max_retracement_pts_fp < 0 || p->max_retracement_pct_fp < 0 ||
	    p->spike_rule_buffer_pts_fp < 0 || p->sl_buffer_pts_fp < 0 ||
	    p->spike_wick_body_multiple_fp < 0)
		FAIL("max_retracement_*/spike_*/sl_buffer: must be >= 0");
#undef FAIL
	return 0;
}

/* Points (x 1e6) to whole ticks; -EINVAL if not a whole number of ticks. */
static int pts_to_ticks(const char *key, int64_t pts_fp, int32_t tpp, int32_t *out, char *err,
			size_t errlen)
{
	int64_t num = pts_fp * tpp;
	if (num % FP != 0) {
		snprintf(err, errlen,
			 "%s: %lld.%06lld points is not a whole number of ticks (1/%d point)", key,
			 (long long)(pts_fp / FP), (long long)llabs(pts_fp % FP), tpp);
		return -EINVAL;
	}
	*out = (int32_t)(num / FP);
	return 0;
}

uint64_t slob_detector_setup_id(int dir, int64_t liq1_ns, int32_t lse_high, int32_t lse_low)
{
	unsigned char b[24];
	uint64_t t = (uint64_t)liq1_ns;
	uint32_t v[4] = {(uint32_t)lse_high, (uint32_t)lse_low, (uint32_t)(int32_t)dir, 0};
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(t >> (8 * i));
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 4; i++)
			b[8 + 4 * k + i] = (unsigned char)(v[k] >> (8 * i));
	return XXH3_64bits(b, sizeof(b));
}

/* ---- lifecycle --------------------------------------------------------- */

void slob_detector_reset(struct slob_detector *d)
{
	d->day = INT64_MIN;
	d->day_lo_ns = -2 * SLOB_NS_PER_DAY; /* no bar time maps into it */
	d->off_lo_ns = d->off_hi_ns = 0;
	d->off_s = 0;
	d->wday = 0;
	d->nyse_open_min = 0;
	d->window_start = 0;
	d->has_lse = d->cutoff_done = d->has_prev = false;
	d->lse_high = d->lse_low = 0;
	d->prev_high = d->prev_low = 0;
	d->prev_ts = INT64_MIN;
	d->ncand = 0;
	d->nchanges = 0;
	memset(&d->stats, 0, sizeof(d->stats));
}

int slob_detector_init(struct slob_detector *d, const struct slob_detector_params *p,
		       const struct slob_instrument *in, char *err, size_t errlen)
{
	int rc;

	memset(d, 0, sizeof(*d));
	rc = slob_detector_params_validate(p, err, errlen);
	if (rc)
		return rc;
	d->p = *p;
	int32_t tpp = in && in->ticks_per_point > 0 ? in->ticks_per_point : 4;
	if ((rc = pts_to_ticks("sl_buffer", p->sl_buffer_pts_fp, tpp, &d->sl_buf, err, errlen)) ||
	    (rc = pts_to_ticks("tp_buffer", p->tp_buffer_pts_fp, tpp, &d->tp_buf, err, errlen)) ||
	    (rc = pts_to_ticks("spike_rule_buffer", p->spike_rule_buffer_pts_fp, tpp, &d->spike_buf,
			       err, errlen)) ||
	    (rc = pts_to_ticks("max_retracement_points", p->max_retracement_pts_fp, tpp,
			       &d->retr_pts, err, errlen)))
		return rc;
	d->throttle_ns = (int64_t)p->liq1_throttle * SLOB_NS_PER_MIN;
	d->ih_ns = (int64_t)p->internal_high_confirm * SLOB_NS_PER_MIN;
	d->il_ns = (int64_t)p->internal_low_confirm * SLOB_NS_PER_MIN;
	d->liq2_wait_ns = (int64_t)p->liq2_minimum_wait * SLOB_NS_PER_MIN;

	rc = slob_tz_load(&d->tz_local, p->session_tz, p->tz_year_from, p->tz_year_to);
	if (rc) {
		snprintf(err, errlen, "session_tz: cannot load '%s': %s", p->session_tz,
			 slob_tz_strerror());
		return rc;
	}
	rc = slob_tz_load(&d->tz_ny, "America/New_York", p->tz_year_from, p->tz_year_to);
	if (rc) {
		snprintf(err, errlen, "nyse_open_anchor: cannot load America/New_York: %s",
			 slob_tz_strerror());
		return rc;
	}
	d->cap = (unsigned)p->max_candidates;
	d->cands = calloc(d->cap, sizeof(*d->cands));
	d->changes_cap = 4 * d->cap + 4;
	d->changes = calloc(d->changes_cap, sizeof(*d->changes));
	if (!d->cands || !d->changes) {
		slob_detector_destroy(d);
		snprintf(err, errlen, "detector: out of memory for %u candidates", d->cap);
		return -ENOMEM;
	}
	slob_prefault(d->cands, (unsigned long)d->cap * sizeof(*d->cands));
	slob_prefault(d->changes, (unsigned long)d->changes_cap * sizeof(*d->changes));
	slob_detector_reset(d);
	return 0;
}

void slob_detector_destroy(struct slob_detector *d)
{
	if (!d)
		return;
	free(d->cands);
	free(d->changes);
	d->cands = NULL;
	d->changes = NULL;
	d->cap = d->ncand = 0;
}

/* ---- the state machine ------------------------------------------------- */

static inline void note_change(struct slob_detector *d, const struct slob_cand *c)
{
	if (slob_likely(d->nchanges < d->changes_cap))
		d->changes[d->nchanges++] = c->s;
}

static inline void invalidate(struct slob_detector *d, struct slob_cand *c, unsigned reason)
{
	c->s.state = SLOB_ST_INVALIDATED;
	c->s.reason = (uint8_t)reason;
	d->stats.invalidated[reason]++;
	note_change(d, c);
}

static void invalidate_all(struct slob_detector *d, unsigned reason)
{
	for (unsigned i = 0; i < d->ncand; i++)
		invalidate(d, &d->cands[i], reason);
	d->ncand = 0;
}

/* R16: does bar b qualify as the no-wick candle for direction dir? */
static inline bool nowick_qualifies(const struct slob_detector *d, int dir,
				    const struct slob_bar *b, int32_t *ratio_milli)
{
	int64_t body, wick;
	if (dir == SLOB_SHORT) {
		if (b->close <= b->open)
			return false;
		body = (int64_t)b->close - b->open;
		wick = (int64_t)b->open - b->low; /* lower wick */
	} else {
		if (b->close >= b->open)
			return false;
		body = (int64_t)b->open - b->close;
		wick = (int64_t)b->high - b->open; /* upper wick */
	}
	/* wick / body < ratio  <=>  wick * 1e6 < ratio_fp * body  (body > 0) */
	if (wick * FP < d->p.nowick_max_wick_body_ratio_fp * body) {
		*ratio_milli = (int32_t)(wick * 1000 / body);
		return true;
	}
	return false;
}

/* R18-R21 on bar b (WATCHING_LIQ2). */
static void step_liq2(struct slob_detector *d, struct slob_cand *c, const struct slob_bar *b)
{
	int32_t k = (int32_t)c->s.candles - c->s.window_len;
	int64_t dlt;

	if (k > d->p.max_entry_wait_candles) { /* R18 */
		invalidate(d, c, SLOB_INV_LIQ2_TIMEOUT);
		return;
	}
	/* R19: exceeded iff dlt > min(A, pct% x px)  <=>  dlt > A || dlt*100e6 > pct_fp*px */
	if (c->s.dir == SLOB_SHORT) {
		dlt = (int64_t)b->high - c->s.nw_high;
		if (dlt > d->retr_pts ||
		    dlt * 100 * FP > d->p.max_retracement_pct_fp * (int64_t)b->high) {
			invalidate(d, c, SLOB_INV_RETRACEMENT_EXCEEDED);
			return;
		}
	} else {
		dlt = (int64_t)c->s.nw_low - b->low;
		if (dlt > d->retr_pts ||
		    dlt * 100 * FP > d->p.max_retracement_pct_fp * (int64_t)b->low) {
			invalidate(d, c, SLOB_INV_RETRACEMENT_EXCEEDED);
			return;
		}
	}
	if (b->ts_ns - c->s.consol_confirmed_ns < d->liq2_wait_ns) /* R20 */
		return;
	/* R21 */
	if (c->s.dir == SLOB_SHORT ? b->high > c->s.cons_high : b->low < c->s.cons_low) {
		c->liq2_o = b->open;
		c->liq2_h = b->high;
		c->liq2_l = b->low;
		c->liq2_c = b->close;
		c->s.liq2_ns = b->ts_ns;
		c->s.liq2_px = c->s.dir == SLOB_SHORT ? b->high : b->low;
		c->s.spike_px = c->s.liq2_px;
		c->j = 0;
		c->s.state = SLOB_ST_WAITING_ENTRY;
		note_change(d, c);
	}
}

/* R22-R29 on bar b (WAITING_ENTRY). Returns true when the setup completed. */
static bool step_entry(struct slob_detector *d, struct slob_cand *c, const struct slob_bar *b)
{
	int64_t risk, reward;
	const bool shrt = c->s.dir == SLOB_SHORT;

	c->j++;
	/* R22 */
	if (shrt) {
		if (b->high > c->s.spike_px)
			c->s.spike_px = b->high;
	} else if (b->low < c->s.spike_px) {
		c->s.spike_px = b->low;
	}
	if (c->j > d->p.max_entry_wait_candles) { /* R23 */
		invalidate(d, c, SLOB_INV_ENTRY_TIMEOUT);
		return false;
	}
	/* R24 */
	if (shrt ? !(b->close < c->s.nw_low) : !(b->close > c->s.nw_high))
		return false;
	c->s.entry = b->close; /* R25 */
	c->s.entry_ns = b->ts_ns;
	/* R26: spike iff body > 0 && wick > mult x body  <=>  wick*1e6 > mult_fp*body */
	int64_t o = c->liq2_o, cl = c->liq2_c;
	int64_t body = cl > o ? cl - o : o - cl;
	int64_t top = cl > o ? cl : o, bot = cl > o ? o : cl;
	if (shrt) {
		int64_t uw = c->liq2_h - top;
		c->s.spike_branch = body > 0 && uw * FP > d->p.spike_wick_body_multiple_fp * body;
		c->s.sl =
		    c->s.spike_branch ? (int32_t)top + d->spike_buf : c->s.spike_px + d->sl_buf;
		c->s.tp = c->s.lse_low - d->tp_buf; /* R27 */
		risk = (int64_t)c->s.sl - c->s.entry;
		reward = (int64_t)c->s.entry - c->s.tp;
	} else {
		int64_t lw = bot - c->liq2_l;
		c->s.spike_branch = body > 0 && lw * FP > d->p.spike_wick_body_multiple_fp * body;
		c->s.sl =
		    c->s.spike_branch ? (int32_t)bot - d->spike_buf : c->s.spike_px - d->sl_buf;
		c->s.tp = c->s.lse_high + d->tp_buf;
		risk = (int64_t)c->s.entry - c->s.sl;
		reward = (int64_t)c->s.tp - c->s.entry;
	}
	/* R28: RR = reward/risk (0 if risk <= 0); reject RR <= min_rr
	 * <=> risk <= 0 || reward*1e6 <= min_rr_fp*risk */
	if (risk <= 0 || reward * FP <= d->p.min_rr_fp * risk) {
		c->s.rr_milli = 0; /* rejected: RR <= min_rr */
		invalidate(d, c, SLOB_INV_NEGATIVE_RISK_REWARD);
		return false;
	}
	int64_t rr = reward * 1000 / risk;
	c->s.rr_milli = rr > INT32_MAX ? INT32_MAX : (int32_t)rr;
	c->s.state = SLOB_ST_SETUP_COMPLETE; /* R29 */
	note_change(d, c);
	return true;
}

/* R9-R17 (and R18-R29 via the step functions) for one candidate.
 * Returns true when the setup completed on this bar. */
static bool update_cand(struct slob_detector *d, struct slob_cand *c, const struct slob_bar *b,
			bool gap)
{
	c->s.candles++; /* R9 */
	if (gap) {	/* R10 */
		invalidate(d, c, SLOB_INV_GAP_DETECTED);
		return false;
	}
	switch (c->s.state) {
	case SLOB_ST_WATCHING_CONSOL: {
		/* R11: running max/min; remember the values without this candle (R17) */
		c->prev_hi = c->s.cons_high;
		c->prev_lo = c->s.cons_low;
		if (c->wlen == 0 || b->high > c->s.cons_high) {
			c->s.cons_high = b->high;
			c->ih_px = b->high; /* R12: internal HIGH rises -> restart its clock */
			c->ih_ns = b->ts_ns;
		}
		if (c->wlen == 0 || b->low < c->s.cons_low) {
			c->s.cons_low = b->low;
			c->il_px = b->low; /* R12: new lower low restarts the LOW clock */
			c->il_ns = b->ts_ns;
		}
		c->wlen++;
		/* R16 latch: the first qualifying candle of W stays the first */
		if (!c->nw_found && nowick_qualifies(d, c->s.dir, b, &c->nw_ratio_milli)) {
			c->nw_found = 1;
			c->nw_pos = c->wlen;
			c->s.nw_high = b->high;
			c->s.nw_low = b->low;
			c->s.nowick_ns = b->ts_ns;
		}
		if (c->wlen > d->p.consol_max_duration) { /* R13 */
			invalidate(d, c, SLOB_INV_CONSOLIDATION_TIMEOUT);
			return false;
		}
		if (c->wlen < d->p.consol_min_duration) /* R14 */
			return false;
		/* R15: min% <= (H-L)/H*100 <= max%  <=>  min_fp*H <= (H-L)*100e6 <= max_fp*H */
		int64_t hi = c->s.cons_high, lo = c->s.cons_low;
		int64_t r = (hi - lo) * 100 * FP;
		if (hi <= 0 || lo <= 0 || r < d->p.consol_min_range_pct_fp * hi ||
		    r > d->p.consol_max_range_pct_fp * hi) {
			invalidate(d, c, SLOB_INV_CONSOLIDATION_RANGE_INVALID);
			return false;
		}
		/* R16 */
		if (c->wlen < d->p.nowick_min_window || !c->nw_found)
			return false;
		/* R17 (A3 option: both internal levels time-confirmed) */
		if (d->p.require_internal_confirmation &&
		    !(b->ts_ns - c->ih_ns >= d->ih_ns && b->ts_ns - c->il_ns >= d->il_ns))
			return false;
		c->s.consol_confirmed_ns = b->ts_ns;
		c->s.cons_high = c->prev_hi;
		c->s.cons_low = c->prev_lo;
		c->s.window_len = (uint16_t)(c->wlen - 1);
		c->s.state = SLOB_ST_WATCHING_LIQ2;
		note_change(d, c);
		step_liq2(d, c, b); /* re-process C without R9/R10 */
		return false;
	}
	case SLOB_ST_WATCHING_LIQ2:
		step_liq2(d, c, b);
		return false;
	case SLOB_ST_WAITING_ENTRY:
		return step_entry(d, c, b);
	default:
		return false;
	}
}

/* R7: create a candidate. */
static void create_cand(struct slob_detector *d, int dir, const struct slob_bar *b)
{
	if (slob_unlikely(d->ncand >= d->cap)) {
		d->stats.pool_overflow++;
		return;
	}
	struct slob_cand *c = &d->cands[d->ncand++];
	memset(c, 0, sizeof(*c));
	c->s.dir = (int8_t)dir;
	c->s.lse_high = d->lse_high;
	c->s.lse_low = d->lse_low;
	c->s.liq1_ns = b->ts_ns;
	c->s.liq1_px = dir == SLOB_SHORT ? b->high : b->low;
	c->s.state = SLOB_ST_WATCHING_CONSOL;
	c->s.id = slob_detector_setup_id(dir, b->ts_ns, d->lse_high, d->lse_low);
	d->stats.created[dir == SLOB_LONG]++;
	if (d->ncand > d->stats.live_peak)
		d->stats.live_peak = d->ncand;
	note_change(d, c);
}

/* true if an active candidate of `dir` in WATCHING_CONSOL is younger than the throttle */
static bool throttled(const struct slob_detector *d, int dir, int64_t t)
{
	for (unsigned i = d->ncand; i-- > 0;) {
		const struct slob_cand *c = &d->cands[i];
		if (c->s.dir == dir && c->s.state == SLOB_ST_WATCHING_CONSOL &&
		    t - c->s.liq1_ns < d->throttle_ns)
			return true;
	}
	return false;
}

/* Today's NYSE open in session-local minutes (A1). day: local day number,
 * off: UTC offset in force at the bar that started the day. */
static int32_t nyse_open_for_day(struct slob_detector *d, int64_t day, int32_t off)
{
	if (d->p.nyse_open_anchor == SLOB_DETECTOR_ANCHOR_STOCKHOLM)
		return d->p.nyse_open_local;
	/* an instant near the open: local midnight + nyse_open_local, then the
	 * offsets in force then (DST changes happen at night) */
	int64_t guess = ((day * 86400LL) + d->p.nyse_open_local * 60LL - off) * SLOB_NS_PER_SEC;
	int32_t off_l = slob_tz_offset(&d->tz_local, guess);
	int32_t off_ny = slob_tz_offset(&d->tz_ny, guess);
	return d->p.nyse_open_ny + (off_l - off_ny) / 60;
}

/* An all-zero record copied by value: compilers turn this into a few vector
 * moves, where a memset of the same size became `rep stos` (slow to start,
 * ~40 % of the per-bar cost in the benchmark). */
static const struct slob_sig zero_sig;

static inline void clock_sig(struct slob_sig *o, uint32_t kind, const struct slob_bar *b)
{
	*o = zero_sig;
	o->kind = kind;
	o->ts_ns = b->ts_ns;
	o->recv_ns = b->recv_ns;
	o->clock_seq = b->last_seq;
	o->mark_px = b->close;
}

int slob_detector_on_bar(struct slob_detector *d, const struct slob_bar *b, struct slob_sig *out,
			 unsigned max_out)
{
	unsigned nout = 0;

	if (slob_unlikely(max_out < d->cap + 2))
		return -EINVAL;
	d->nchanges = 0;
	if (slob_unlikely(b->flags & SLOB_BAR_END)) {
		clock_sig(&out[0], SLOB_SIG_END, b);
		return 1;
	}
	clock_sig(&out[nout++], SLOB_SIG_CLOCK, b);
	/* inconsistent OHLC, prices outside (0, 2^30] ticks where the int32
	 * level arithmetic (buffers, TP) could overflow, or a time outside
	 * [0, 2^62) ns where the local-time arithmetic could */
	if (slob_unlikely(b->high < b->low || b->open > b->high || b->open < b->low ||
			  b->close > b->high || b->close < b->low || b->low <= 0 ||
			  b->high > SLOB_DETECTOR_MAX_PX || (uint64_t)b->ts_ns >= (1ULL << 62))) {
		d->stats.bad_bars++;
		return (int)nout;
	}
	if (slob_unlikely(b->ts_ns <= d->prev_ts)) {
		d->stats.out_of_order++;
		return (int)nout;
	}
	d->stats.bars++;

	/* R1/R10: gap against the previous candle fed, whatever its session */
	const bool gap = d->has_prev && (b->low > d->prev_high || b->high < d->prev_low);
	d->prev_high = b->high;
	d->prev_low = b->low;
	d->prev_ts = b->ts_ns;
	d->has_prev = true;

	/* local wall clock: offset lookup (cached range check) and the minute
	 * within the current local day; the civil date is never needed */
	if (slob_unlikely(b->ts_ns < d->off_lo_ns || b->ts_ns >= d->off_hi_ns)) {
		/* new offset period: look it up once, remember where it is valid
		 * (tz.h: cache is the index of the entry just found) */
		d->off_s = slob_tz_offset(&d->tz_local, b->ts_ns);
		unsigned k = d->tz_local.cache;
		if (d->tz_local.n > 0 && k < d->tz_local.n && d->tz_local.offset_s[k] == d->off_s &&
		    d->tz_local.start_ns[k] <= b->ts_ns) {
			d->off_lo_ns = d->tz_local.start_ns[k];
			d->off_hi_ns =
			    k + 1 < d->tz_local.n ? d->tz_local.start_ns[k + 1] : INT64_MAX;
		} else { /* outside the table: no caching */
			d->off_lo_ns = d->off_hi_ns = b->ts_ns;
		}
	}
	const int32_t off = d->off_s;
	const int64_t lns = b->ts_ns + (int64_t)off * SLOB_NS_PER_SEC;
	if (slob_unlikely((uint64_t)(lns - d->day_lo_ns) >= (uint64_t)SLOB_NS_PER_DAY)) {
		int64_t day = lns / SLOB_NS_PER_DAY;
		if (lns % SLOB_NS_PER_DAY < 0)
			day--;
		d->day_lo_ns = day * SLOB_NS_PER_DAY;
		if (day != d->day) { /* R2 */
			d->day = day;
			d->wday = (int32_t)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
			d->has_lse = false;
			d->cutoff_done = false;
			invalidate_all(d, SLOB_INV_MARKET_CLOSED);
			d->nyse_open_min = nyse_open_for_day(d, day, off);
			d->window_start = d->p.lse_open;
			if (d->wday == 1 && d->p.monday_restart > d->window_start)
				d->window_start = d->p.monday_restart;
		}
	}
	const int32_t m = (int32_t)((lns - d->day_lo_ns) / SLOB_NS_PER_MIN);
	if (m >= d->p.nyse_end) { /* R3 */
		if (!d->cutoff_done) {
			d->cutoff_done = true;
			invalidate_all(d, SLOB_INV_MARKET_CLOSED);
		}
		return (int)nout;
	}
	if (d->wday < 1 || d->wday > 5 || m < d->window_start) /* R5: weekdays only */
		return (int)nout;
	if (m < d->nyse_open_min) { /* R4 */
		if (!d->has_lse) {
			d->lse_high = b->high;
			d->lse_low = b->low;
			d->has_lse = true;
		} else {
			if (b->high > d->lse_high)
				d->lse_high = b->high;
			if (b->low < d->lse_low)
				d->lse_low = b->low;
		}
		return (int)nout;
	}
	if (!d->has_lse) /* R6 */
		return (int)nout;

	/* R7 before R8: the throttle sees the candidates' states before this
	 * candle's updates (the live tracker creates, then updates). */
	int newdir = 0;
	if (b->high > d->lse_high) { /* R7: SHORT tested first; blocks the LONG test */
		if (throttled(d, SLOB_SHORT, b->ts_ns))
			d->stats.throttled++;
		else if (d->p.enable_short)
			newdir = SLOB_SHORT;
	} else if (b->low < d->lse_low) {
		if (throttled(d, SLOB_LONG, b->ts_ns))
			d->stats.throttled++;
		else if (d->p.enable_long)
			newdir = SLOB_LONG;
	}
	unsigned nold = d->ncand;
	if (newdir)
		create_cand(d, newdir, b);

	/* R8: update in creation order; the LIQ#1 candle skips its own candidate */
	unsigned w = 0;
	for (unsigned i = 0; i < d->ncand; i++) {
		struct slob_cand *c = &d->cands[i];
		if (i < nold) {
			bool done = update_cand(d, c, b, gap);
			if (done) {
				struct slob_sig *o = &out[nout++];
				clock_sig(o, SLOB_SIG_SETUP, b);
				o->setup = c->s;
				d->stats.completed[c->s.dir == SLOB_LONG]++;
			}
		}
		if (c->s.state == SLOB_ST_INVALIDATED || c->s.state == SLOB_ST_SETUP_COMPLETE)
			continue;
		if (w != i)
			d->cands[w] = *c;
		w++;
	}
	d->ncand = w;
	return (int)nout;
}

/* ---- stage wrapper ----------------------------------------------------- */

enum {
	SLOB_DETECTOR_REASON_POOL_OVERFLOW = 9,
	SLOB_DETECTOR_REASON_THROTTLED = 10,
	SLOB_DETECTOR_REASON_LIVE_PEAK = 11,
	SLOB_DETECTOR_REASON_SETUPS = 12,
};

static void publish_stats(struct slob_detector_stage *s)
{
	struct slob_stage_stats *ss = s->st.stats;
	const struct slob_detector_stats *ds = &s->det->stats;
	for (unsigned i = 1; i < 9; i++)
		__atomic_store_n(&ss->reasons[i], ds->invalidated[i], __ATOMIC_RELAXED);
	__atomic_store_n(&ss->reasons[SLOB_DETECTOR_REASON_POOL_OVERFLOW], ds->pool_overflow,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&ss->reasons[SLOB_DETECTOR_REASON_THROTTLED], ds->throttled,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&ss->reasons[SLOB_DETECTOR_REASON_LIVE_PEAK], ds->live_peak,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&ss->reasons[SLOB_DETECTOR_REASON_SETUPS],
			 ds->completed[0] + ds->completed[1], __ATOMIC_RELAXED);
}

static int stage_poll(slob_stage_t *st)
{
	struct slob_detector_stage *s = st->ctx;
	struct slob_stage_stats *ss = st->stats;
	int work = 0;

	__atomic_store_n(&ss->polls, ss->polls + 1, __ATOMIC_RELAXED);
	if (s->coldq)
		slob_coldq_flush(s->coldq);
	for (int budget = 64; budget > 0; budget--) {
		while (s->ipend < s->npend) {
			if (!slob_ring_push_spsc(s->out, &s->pend[s->ipend])) {
				__atomic_store_n(&ss->backpressure, ss->backpressure + 1,
						 __ATOMIC_RELAXED);
				return work;
			}
			s->ipend++;
			work++;
			__atomic_store_n(&ss->out, ss->out + 1, __ATOMIC_RELAXED);
		}
		if (s->end_seen) {
			s->ended = true;
			break;
		}
		struct slob_bar bar;
		if (!slob_ring_pop_spsc(s->in, &bar))
			break;
		work++;
		__atomic_store_n(&ss->in, ss->in + 1, __ATOMIC_RELAXED);
		int n = slob_detector_on_bar(s->det, &bar, s->pend, slob_detector_max_out(s->det));
		if (n < 0) {
			__atomic_store_n(&ss->errors, ss->errors + 1, __ATOMIC_RELAXED);
			return n;
		}
		s->npend = (unsigned)n;
		s->ipend = 0;
		if (bar.flags & SLOB_BAR_END)
			s->end_seen = true;
		if (s->coldq) {
			unsigned nc;
			const struct slob_setup *ch = slob_detector_changes(s->det, &nc);
			for (unsigned i = 0; i < nc; i++) {
				struct slob_cold rec;
				memset(&rec, 0, sizeof(rec));
				rec.type = SLOB_COLD_SETUP;
				rec.cls = SLOB_CLASS_TRADE;
				rec.ts_ns = bar.ts_ns;
				rec.u.setup = ch[i];
				if (!slob_coldq_put(s->coldq, &rec)) {
					__atomic_store_n(&ss->errors, ss->errors + 1,
							 __ATOMIC_RELAXED);
					return -ENOBUFS;
				}
			}
		}
		publish_stats(s);
	}
	if (s->end_seen && s->ipend >= s->npend)
		s->ended = true;
	if (!work)
		__atomic_store_n(&ss->idle_polls, ss->idle_polls + 1, __ATOMIC_RELAXED);
	return work;
}

static bool stage_done(slob_stage_t *st)
{
	struct slob_detector_stage *s = st->ctx;
	return s->ended && (!s->coldq || !slob_coldq_backlogged(s->coldq));
}

int slob_detector_stage_init(struct slob_detector_stage *s, struct slob_detector *det,
			     slob_ring_t *in, slob_ring_t *out, struct slob_coldq *coldq)
{
	if (!s || !det || !in || !out)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->det = det;
	s->in = in;
	s->out = out;
	s->coldq = coldq;
	s->pend = calloc(slob_detector_max_out(det), sizeof(*s->pend));
	if (!s->pend)
		return -ENOMEM;
	slob_prefault(s->pend, (unsigned long)slob_detector_max_out(det) * sizeof(*s->pend));
	s->st.name = "detector";
	s->st.poll = stage_poll;
	s->st.done = stage_done;
	s->st.ctx = s;
	s->st.stats = &s->st.own_stats;
	s->st.inputs[0] = in;
	s->st.ninputs = 1;
	return 0;
}

void slob_detector_stage_destroy(struct slob_detector_stage *s)
{
	if (!s)
		return;
	free(s->pend);
	s->pend = NULL;
}
