/* SPDX-License-Identifier: MIT */
/*
 * risk.c: the risk gate (see risk.h for the design notes and the bracket
 * state diagram, docs/RISK.md for the rules an operator sees). Everything
 * after slob_risk_create() runs on the risk thread without allocation,
 * locks, logging or system calls; the control path (reset, kill switch)
 * reaches it through a small SPSC ring.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <xxhash.h>

#include "engine/calendar.h"
#include "engine/config.h"
#include "engine/risk.h"

/* Alert kinds (persist/alert.h enum slob_alert_kind; checked by test_risk). The cold
 * path already alerts from BREAKER and UNKNOWN_BROKER records, and the sender
 * from rejected orders, so risk raises ALERT records only for what nothing
 * else reports (docs/RISK.md "Alerts"). */
#define ALERT_OTHER 0
#define ALERT_ORDER_REJECTED 5

#define BAR_NS (60LL * SLOB_NS_PER_SEC) /* an M1 trigger candle closes 1 min after its start */
#define SIG_BATCH 64
#define EXEC_BATCH 256

static __thread char risk_err[256];

const char *slob_risk_strerror(void)
{
	return risk_err;
}

const char *slob_risk_reason_name(unsigned reason)
{
	static const char *const names[SLOB_RISK_REASON_MAX] = {
	    [SLOB_RISK_ACCEPTED] = "accepted",
	    [SLOB_RISK_DUPLICATE] = "duplicate",
	    [SLOB_RISK_KILL_SWITCH] = "kill_switch",
	    [SLOB_RISK_BREAKER] = "breaker",
	    [SLOB_RISK_MAX_DRAWDOWN] = "max_drawdown",
	    [SLOB_RISK_DAILY_LOSS] = "daily_loss",
	    [SLOB_RISK_MAX_POSITIONS] = "max_positions",
	    [SLOB_RISK_OUTSIDE_HOURS] = "outside_hours",
	    [SLOB_RISK_WEEKEND] = "weekend",
	    [SLOB_RISK_HOLIDAY] = "holiday",
	    [SLOB_RISK_NEWS_BLACKOUT] = "news_blackout",
	    [SLOB_RISK_ORDER_RATE] = "order_rate",
	    [SLOB_RISK_SIZE_ZERO] = "size_zero",
	    [SLOB_RISK_BAD_SETUP] = "bad_setup",
	    [SLOB_RISK_COLD_BACKLOG] = "cold_backlog",
	    [SLOB_RISK_STORE_UNHEALTHY] = "store_unhealthy",
	    [SLOB_RISK_SETUP_TABLE_FULL] = "setup_table_full",
	    [SLOB_RISK_DISCONNECTED] = "disconnected",
	    [SLOB_RISK_UNKNOWN_BROKER] = "unknown_broker",
	    [SLOB_RISK_DUPLICATE_LEVELS] = "duplicate_levels",
	    [SLOB_RISK_ACCOUNT_STALE] = "account_stale",
	    [SLOB_RISK_MARGIN] = "insufficient_margin",
	};
	return reason < SLOB_RISK_REASON_MAX && names[reason] ? names[reason] : "unknown";
}

const char *slob_equity_src_name(unsigned src)
{
	return src == SLOB_EQ_BROKER ? "broker" : "config";
}

/* ---- parameters ---------------------------------------------------------- */

void slob_risk_params_default(struct slob_risk_params *p)
{
	memset(p, 0, sizeof(*p));
	p->initial_capital_cents = 5000000;
	p->risk_per_trade_ppm = 10000;
	p->max_position_size = 5;
	p->min_one_contract = 0;
	p->max_drawdown_bp = 2500;
	p->daily_loss_limit_cents = 250000;
	p->max_concurrent_positions = 2;
	p->trading_start_min = 9 * 60 + 30;
	p->trading_end_min = 16 * 60;
	snprintf(p->timezone, sizeof(p->timezone), "America/New_York");
	p->news_before_min = 120;
	p->news_after_min = 120;
	p->news_min_impact = 3;
	p->order_rate_limit = 5;
	p->order_rate_window_s = 60;
	p->cancel_after_bars = 20;
	p->wait_for_clock_ack = 0;
	p->setup_capacity = 65536;
	p->halt_on_unknown = 1;
	p->equity_source = SLOB_EQMODE_MIN;
	p->account_stale_s = 300;
	p->margin_headroom_bp = 1000;
	p->margin_per_contract_cents = 0;
	p->excess_liq_alert_cents = 500000;
	p->flatten_at_min = -1;
}

const char *const slob_risk_param_keys[] = {
    "initial_capital",
    "risk_per_trade",
    "max_position_size",
    "min_one_contract",
    "max_drawdown_pct",
    "daily_loss_limit",
    "max_concurrent_positions",
    "trading_start",
    "trading_end",
    "timezone",
    "holiday_file",
    "news_file",
    "news_before_min",
    "news_after_min",
    "news_min_impact",
    "order_rate_limit",
    "order_rate_window_s",
    "cancel_after_bars",
    "wait_for_clock_ack",
    "setup_capacity",
    "halt_on_unknown",
    "equity_source",
    "account_stale_s",
    "margin_headroom_pct",
    "margin_per_contract",
    "excess_liquidity_alert",
    "flatten_at",
    NULL,
};

/* Parses a decimal "123.45" into value * 10^scale, rounding half away from 0. */
static int parse_fixed(const char *s, int scale, int64_t lo, int64_t hi, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	int64_t v = 0;
	int digits = 0, frac = 0, round_up = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (v > (INT64_MAX / 10 - 10))
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (*p == '.') {
		if (scale == 0)
			return -EINVAL;
		p++;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (frac < scale) {
				v = v * 10 + (*p - '0');
				frac++;
			} else if (frac == scale) {
				round_up = *p >= '5';
				frac++;
			}
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (digits == 0 || *p != '\0')
		return -EINVAL;
	for (int i = frac < scale ? frac : scale; i < scale; i++) {
		if (v > INT64_MAX / 10)
			return -EINVAL;
		v *= 10;
	}
	v += round_up;
	if (neg)
		v = -v;
	if (v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int slob_risk_param_set(struct slob_risk_params *p, const char *key, const char *value, char *err,
			size_t errlen)
{
	int64_t v;
	bool b;
	char bk[64];
#define INT_KEY(name, field, lo, hi)                                                               \
	if (strcmp(key, name) == 0) {                                                              \
		if (parse_fixed(value, 0, lo, hi, &v) < 0)                                         \
			goto bad_##field;                                                          \
		p->field = (int32_t)v;                                                             \
		return 0;                                                                          \
		bad_##field                                                                        \
		    : snprintf(err, errlen, "[risk] %s: '%s' is not an integer in %lld..%lld",     \
			       name, value, (long long)(lo), (long long)(hi));                     \
		return -EINVAL;                                                                    \
	}
#define BOOL_KEY(name, field)                                                                      \
	if (strcmp(key, name) == 0) {                                                              \
		snprintf(bk, sizeof(bk), "[risk] %s", name);                                       \
		if (slob_parse_bool(bk, value, &b, err, errlen) < 0)                               \
			return -EINVAL;                                                            \
		p->field = b;                                                                      \
		return 0;                                                                          \
	}
#define STR_KEY(name, field)                                                                       \
	if (strcmp(key, name) == 0) {                                                              \
		if (strlen(value) >= sizeof(p->field)) {                                           \
			snprintf(err, errlen, "[risk] %s: longer than %zu characters", name,       \
				 sizeof(p->field) - 1);                                            \
			return -EINVAL;                                                            \
		}                                                                                  \
		snprintf(p->field, sizeof(p->field), "%s", value);                                 \
		return 0;                                                                          \
	}
	if (key == NULL || value == NULL) {
		snprintf(err, errlen, "[risk] missing key or value");
		return -EINVAL;
	}
	if (strcmp(key, "initial_capital") == 0) {
		if (parse_fixed(value, 2, 100, 100000000000LL, &v) < 0) {
			snprintf(err, errlen,
				 "[risk] initial_capital: '%s' is not an amount in "
				 "1.00..1000000000.00 USD",
				 value);
			return -EINVAL;
		}
		p->initial_capital_cents = v;
		return 0;
	}
	if (strcmp(key, "risk_per_trade") == 0) {
		if (parse_fixed(value, 6, 1, 100000, &v) < 0) {
			snprintf(err, errlen,
				 "[risk] risk_per_trade: '%s' is not a fraction in 0.000001..0.1 "
				 "(0.01 = 1%%)",
				 value);
			return -EINVAL;
		}
		p->risk_per_trade_ppm = (int32_t)v;
		return 0;
	}
	if (strcmp(key, "max_drawdown_pct") == 0) {
		if (parse_fixed(value, 2, 0, 10000, &v) < 0) {
			snprintf(
			    err, errlen,
			    "[risk] max_drawdown_pct: '%s' is not a percentage in 0..100 (0 = off)",
			    value);
			return -EINVAL;
		}
		p->max_drawdown_bp = (int32_t)v;
		return 0;
	}
	if (strcmp(key, "daily_loss_limit") == 0) {
		if (parse_fixed(value, 2, 0, 100000000000LL, &v) < 0) {
			snprintf(err, errlen,
				 "[risk] daily_loss_limit: '%s' is not an amount in "
				 "0..1000000000.00 USD (0 = off)",
				 value);
			return -EINVAL;
		}
		p->daily_loss_limit_cents = v;
		return 0;
	}
	if (strcmp(key, "flatten_at") == 0) {
		int32_t m;
		if (strcmp(value, "off") == 0 || value[0] == '\0') {
			p->flatten_at_min = -1;
			return 0;
		}
		if (slob_calendar_parse_hhmm(value, &m) < 0 || m >= 24 * 60) {
			snprintf(err, errlen, "[risk] flatten_at: '%s' is not off or a time HH:MM in "
					      "00:00..23:59", value);
			return -EINVAL;
		}
		p->flatten_at_min = m;
		return 0;
	}
	if (strcmp(key, "trading_start") == 0 || strcmp(key, "trading_end") == 0) {
		int32_t m;
		if (slob_calendar_parse_hhmm(value, &m) < 0) {
			snprintf(err, errlen, "[risk] %s: '%s' is not a time HH:MM in 00:00..24:00",
				 key, value);
			return -EINVAL;
		}
		if (key[8] == 's')
			p->trading_start_min = m;
		else
			p->trading_end_min = m;
		return 0;
	}
	if (strcmp(key, "equity_source") == 0) {
		if (!strcasecmp(value, "min"))
			p->equity_source = SLOB_EQMODE_MIN;
		else if (!strcasecmp(value, "broker"))
			p->equity_source = SLOB_EQMODE_BROKER;
		else if (!strcasecmp(value, "config"))
			p->equity_source = SLOB_EQMODE_CONFIG;
		else {
			snprintf(err, errlen,
				 "[risk] equity_source: '%s' is not broker, config or min", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "margin_headroom_pct") == 0) {
		if (parse_fixed(value, 2, 0, 100000, &v) < 0) {
			snprintf(err, errlen,
				 "[risk] margin_headroom_pct: '%s' is not a percentage in 0..1000",
				 value);
			return -EINVAL;
		}
		p->margin_headroom_bp = (int32_t)v;
		return 0;
	}
	if (strcmp(key, "margin_per_contract") == 0 || strcmp(key, "excess_liquidity_alert") == 0) {
		if (parse_fixed(value, 2, 0, 100000000000LL, &v) < 0) {
			snprintf(err, errlen,
				 "[risk] %s: '%s' is not an amount in 0..1000000000.00 USD (0 = off)",
				 key, value);
			return -EINVAL;
		}
		if (key[0] == 'm')
			p->margin_per_contract_cents = v;
		else
			p->excess_liq_alert_cents = v;
		return 0;
	}
	if (strcmp(key, "news_min_impact") == 0) {
		if (!strcasecmp(value, "low"))
			p->news_min_impact = 1;
		else if (!strcasecmp(value, "medium"))
			p->news_min_impact = 2;
		else if (!strcasecmp(value, "high"))
			p->news_min_impact = 3;
		else {
			snprintf(err, errlen,
				 "[risk] news_min_impact: '%s' is not LOW, MEDIUM or HIGH", value);
			return -EINVAL;
		}
		return 0;
	}
	INT_KEY("max_position_size", max_position_size, 1, 1000)
	BOOL_KEY("min_one_contract", min_one_contract)
	INT_KEY("max_concurrent_positions", max_concurrent_positions, 1, 256)
	STR_KEY("timezone", timezone)
	STR_KEY("holiday_file", holiday_file)
	STR_KEY("news_file", news_file)
	INT_KEY("news_before_min", news_before_min, 0, 1440)
	INT_KEY("news_after_min", news_after_min, 0, 1440)
	INT_KEY("order_rate_limit", order_rate_limit, 1, 10000)
	INT_KEY("order_rate_window_s", order_rate_window_s, 1, 86400)
	INT_KEY("cancel_after_bars", cancel_after_bars, 0, 100000)
	BOOL_KEY("wait_for_clock_ack", wait_for_clock_ack)
	INT_KEY("setup_capacity", setup_capacity, 16, 1 << 24)
	BOOL_KEY("halt_on_unknown", halt_on_unknown)
	INT_KEY("account_stale_s", account_stale_s, 0, 86400)
#undef INT_KEY
#undef BOOL_KEY
#undef STR_KEY
	snprintf(err, errlen, "[risk] unknown key '%s'", key);
	return -ENOENT;
}

int slob_risk_params_validate(const struct slob_risk_params *p, char *err, size_t errlen)
{
	if (p->initial_capital_cents <= 0) {
		snprintf(err, errlen, "[risk] initial_capital must be > 0");
		return -EINVAL;
	}
	if (p->flatten_at_min >= 0 && p->flatten_at_min <= p->trading_start_min) {
		snprintf(err, errlen,
			 "[risk] flatten_at (%02d:%02d) must be after trading_start: nothing could "
			 "ever be traded",
			 p->flatten_at_min / 60, p->flatten_at_min % 60);
		return -EINVAL;
	}
	if (p->risk_per_trade_ppm <= 0 || p->risk_per_trade_ppm > 100000) {
		snprintf(err, errlen, "[risk] risk_per_trade must be in 0.000001..0.1");
		return -EINVAL;
	}
	if (p->max_position_size < 1 || p->max_position_size > 1000) {
		snprintf(err, errlen, "[risk] max_position_size must be in 1..1000");
		return -EINVAL;
	}
	if (p->max_drawdown_bp < 0 || p->max_drawdown_bp > 10000) {
		snprintf(err, errlen, "[risk] max_drawdown_pct must be in 0..100");
		return -EINVAL;
	}
	if (p->daily_loss_limit_cents < 0) {
		snprintf(err, errlen, "[risk] daily_loss_limit must be >= 0");
		return -EINVAL;
	}
	if (p->max_concurrent_positions < 1 || p->max_concurrent_positions > 256) {
		snprintf(err, errlen, "[risk] max_concurrent_positions must be in 1..256");
		return -EINVAL;
	}
	if (p->trading_start_min < 0 || p->trading_end_min > 1440 ||
	    p->trading_start_min >= p->trading_end_min) {
		snprintf(
		    err, errlen,
		    "[risk] trading_start must be before trading_end (00:00..24:00, same day)");
		return -EINVAL;
	}
	if (p->timezone[0] == '\0') {
		snprintf(err, errlen, "[risk] timezone must not be empty");
		return -EINVAL;
	}
	if (p->news_before_min < 0 || p->news_before_min > 1440 || p->news_after_min < 0 ||
	    p->news_after_min > 1440) {
		snprintf(err, errlen, "[risk] news_before_min/news_after_min must be in 0..1440");
		return -EINVAL;
	}
	if (p->news_min_impact < 1 || p->news_min_impact > 3) {
		snprintf(err, errlen, "[risk] news_min_impact must be LOW, MEDIUM or HIGH");
		return -EINVAL;
	}
	if (p->order_rate_limit < 1 || p->order_rate_limit > 10000 || p->order_rate_window_s < 1 ||
	    p->order_rate_window_s > 86400) {
		snprintf(err, errlen,
			 "[risk] order_rate_limit must be in 1..10000 and order_rate_window_s in "
			 "1..86400");
		return -EINVAL;
	}
	if (p->cancel_after_bars < 0) {
		snprintf(err, errlen, "[risk] cancel_after_bars must be >= 0 (0 = never)");
		return -EINVAL;
	}
	if (p->equity_source < SLOB_EQMODE_MIN || p->equity_source > SLOB_EQMODE_CONFIG) {
		snprintf(err, errlen, "[risk] equity_source must be broker, config or min");
		return -EINVAL;
	}
	if (p->account_stale_s < 0 || p->account_stale_s > 86400 || p->margin_headroom_bp < 0 ||
	    p->margin_headroom_bp > 100000 || p->margin_per_contract_cents < 0 ||
	    p->excess_liq_alert_cents < 0) {
		snprintf(err, errlen,
			 "[risk] account_stale_s must be in 0..86400, margin_headroom_pct in "
			 "0..1000, margin_per_contract and excess_liquidity_alert >= 0");
		return -EINVAL;
	}
	if (p->setup_capacity < 16 || p->setup_capacity > (1 << 24)) {
		snprintf(err, errlen, "[risk] setup_capacity must be in 16..16777216");
		return -EINVAL;
	}
	return 0;
}

/* ---- state ----------------------------------------------------------------- */

enum { B_FREE = 0, B_PENDING, B_OPEN };

struct bracket {
	uint64_t setup_id;
	int64_t placed_ns, entry_ns;
	int64_t cost;	     /* sum px x qty of the contracts still open (ticks x contracts) */
	int64_t entry_value; /* sum px x qty of all entry fills */
	int64_t exit_value;  /* sum px x qty of all exit fills */
	int64_t realised;    /* cents */
	int32_t qty_planned, entry_filled, open_qty, exit_filled;
	int32_t entry, sl, tp;
	int32_t bars;
	int8_t dir;
	uint8_t state;
	uint8_t entry_done; /* no more entry fills expected */
	uint8_t cancel_sent;
	uint8_t exit_role;
	uint8_t flatten_sent; /* session-end flatten asked for (once) */
	uint32_t live_pos; /* index in live_idx while not FREE */
};

enum { CTL_RESET = 1, CTL_KILL };

struct ctl_rec {
	uint32_t kind;
	uint32_t on;
	int64_t when_ns; /* CLOCK_REALTIME of the request (control thread) */
	char who[32];
	char why[96];
};

struct slob_risk {
	struct slob_risk_params p;
	struct slob_risk_io io;
	struct slob_stage_stats own_stats;
	struct slob_stage_stats *stats;
	struct slob_tz *tz;
	int own_tz;
	struct slob_calendar cal;

	/* idempotency set (invariant 3) */
	uint64_t *set;
	uint32_t set_mask, set_count, set_max;

	/* brackets: live ones listed compactly, free ones on a stack */
	struct bracket *br;
	unsigned nbr;
	uint32_t *live_idx, *free_idx;
	uint32_t nlive, nfree;

	/* order-rate window: timestamps of the last order_rate_limit brackets */
	int64_t *rate_ts;
	uint32_t rate_head, rate_n;

	/* output FIFO (invariant 6) */
	struct slob_intent *outq;
	uint32_t out_head, out_tail, out_mask;

	/* control ring (invariant 1) */
	slob_ring_t ctl;
	pthread_mutex_t ctl_mu;

	/* money */
	int64_t cash; /* initial + realised */
	int64_t realised;
	int64_t unrealised;
	int64_t peak;
	int64_t day_start_equity;
	int32_t day;
	int32_t mark_px;

	/* breaker, switches */
	int breaker;
	uint16_t breaker_reason;
	int kill;
	int connected;
	int daily_alerted;

	/* broker account (SLOB_EXEC_ACCOUNT, live order session only) */
	struct slob_exec_account acct;
	int64_t acct_recv_ns;
	int64_t broker_peak;	/* peak NetLiquidation since start or the last reset */
	int acct_stale_alerted; /* one alert per stale episode */
	int excess_alerted;	/* one alert per low-ExcessLiquidity episode */
	uint64_t n_margin, n_acct_hold;

	/* protocol */
	uint64_t fwd_clock_seq, acked_clock_seq;
	int clock_waiting; /* a forwarded clock not yet acked */
	int end_seen, end_fwd;
	int polled;
	int fatal;
	int64_t last_ts;

	/* counters */
	uint64_t n_brackets, n_cancels, n_fills, n_trades, n_rejects, n_unknown, n_dup;
	uint64_t n_flattens;
};

static inline void stat_add(uint64_t *c, uint64_t n)
{
	/* single writer (invariant 1 of stage.h); readers use relaxed loads */
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

/* ---- helpers: hashing, order refs ----------------------------------------- */

uint64_t slob_risk_ref_hash(uint64_t setup_id)
{
	unsigned char buf[15];
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)(setup_id >> (8 * i));
	memcpy(buf + 8, "bracket", 7);
	return XXH3_64bits(buf, sizeof(buf));
}

void slob_risk_order_ref(uint64_t ref_hash, char out[SLOB_ORDER_REF_LEN])
{
	static const char hex[] = "0123456789abcdef";
	memset(out, 0, SLOB_ORDER_REF_LEN);
	memcpy(out, "SLOB_", 5);
	for (int i = 0; i < 16; i++)
		out[5 + i] = hex[(ref_hash >> (60 - 4 * i)) & 0xf];
}

static inline uint32_t set_slot(uint64_t id, uint32_t mask)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static bool set_has(const struct slob_risk *r, uint64_t id)
{
	for (uint32_t i = set_slot(id, r->set_mask);; i = (i + 1) & r->set_mask) {
		if (r->set[i] == id)
			return true;
		if (r->set[i] == 0)
			return false;
	}
}

/* 0 added, 1 already present, -ENOSPC full. Keys are never removed. */
static int set_add(struct slob_risk *r, uint64_t id)
{
	uint32_t i = set_slot(id, r->set_mask);
	for (;; i = (i + 1) & r->set_mask) {
		if (r->set[i] == id)
			return 1;
		if (r->set[i] == 0)
			break;
	}
	if (r->set_count >= r->set_max)
		return -ENOSPC;
	r->set[i] = id;
	r->set_count++;
	return 0;
}

/* ---- cold records ----------------------------------------------------------- */

static void cold_put(struct slob_risk *r, struct slob_cold *rec)
{
	if (r->io.cold == NULL)
		return;
	if (!slob_coldq_put(r->io.cold, rec)) {
		r->fatal = -ENOSPC;
		stat_add(&r->stats->errors, 1);
	}
}

static void cold_head(struct slob_cold *rec, uint16_t type, uint8_t cls, int64_t ts)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->cls = cls;
	rec->ts_ns = ts;
}

static void alert(struct slob_risk *r, uint8_t level, int32_t code, const char *a, const char *b)
{
	struct slob_cold rec;
	slob_cold_text_init(&rec, SLOB_COLD_ALERT, level, r->last_ts, "risk", code, a);
	if (b) {
		size_t n = strlen(rec.u.text.text);
		strncat(rec.u.text.text, b, sizeof(rec.u.text.text) - 1 - n);
	}
	cold_put(r, &rec);
}

static int64_t equity(const struct slob_risk *r)
{
	return r->cash + r->unrealised;
}

static void emit_risk_state(struct slob_risk *r)
{
	struct slob_cold rec;
	int open = 0;
	for (uint32_t k = 0; k < r->nlive; k++)
		open += r->br[r->live_idx[k]].state == B_OPEN;
	cold_head(&rec, SLOB_COLD_RISK_STATE, SLOB_CLASS_TRADE, r->last_ts);
	rec.u.risk.equity_cents = equity(r);
	rec.u.risk.peak_cents = r->peak;
	rec.u.risk.daily_pnl_cents = equity(r) - r->day_start_equity;
	rec.u.risk.realised_cents = r->realised;
	rec.u.risk.unrealised_cents = r->unrealised;
	rec.u.risk.open_positions = open;
	rec.u.risk.trading_day = r->day;
	rec.u.risk.broker_peak_cents = r->broker_peak;
	cold_put(r, &rec);
}

static void emit_position(struct slob_risk *r, const struct bracket *b)
{
	struct slob_cold rec;
	cold_head(&rec, SLOB_COLD_POSITION, SLOB_CLASS_TRADE, r->last_ts);
	rec.u.position.setup_id = b->setup_id;
	rec.u.position.qty = b->open_qty * b->dir;
	rec.u.position.avg_px = b->open_qty ? (int32_t)(b->cost / b->open_qty) : 0;
	rec.u.position.sl = b->sl;
	rec.u.position.tp = b->tp;
	rec.u.position.open = b->open_qty > 0;
	cold_put(r, &rec);
}

static void emit_breaker(struct slob_risk *r, uint16_t reason, int tripped, int64_t value,
			 const char *who, const char *why, int64_t ts)
{
	struct slob_cold rec;
	cold_head(&rec, SLOB_COLD_BREAKER, SLOB_CLASS_TRADE, ts);
	rec.u.breaker.reason = reason;
	rec.u.breaker.tripped = (uint8_t)tripped;
	rec.u.breaker.value = value;
	/* bounded copies into the zeroed record: always NUL-terminated */
	memcpy(rec.u.breaker.who, who, strnlen(who, sizeof(rec.u.breaker.who) - 1));
	memcpy(rec.u.breaker.why, why, strnlen(why, sizeof(rec.u.breaker.why) - 1));
	cold_put(r, &rec);
}

/* ---- output FIFO -------------------------------------------------------------- */

static inline uint32_t outq_free(const struct slob_risk *r)
{
	return r->out_mask + 1 - (r->out_tail - r->out_head);
}

static inline struct slob_intent *outq_push(struct slob_risk *r)
{
	struct slob_intent *it = &r->outq[r->out_tail++ & r->out_mask];
	memset(it, 0, sizeof(*it));
	return it;
}

static int outq_flush(struct slob_risk *r)
{
	int n = 0;
	while (r->out_head != r->out_tail) {
		if (!slob_ring_push_spsc(r->io.intent_out, &r->outq[r->out_head & r->out_mask])) {
			stat_add(&r->stats->backpressure, 1);
			break;
		}
		r->out_head++;
		n++;
	}
	if (n)
		stat_add(&r->stats->out, (uint64_t)n);
	return n;
}

/* ---- positions and P&L -------------------------------------------------------- */

static struct bracket *find_bracket(struct slob_risk *r, uint64_t id)
{
	for (uint32_t k = 0; k < r->nlive; k++) {
		struct bracket *b = &r->br[r->live_idx[k]];
		if (b->setup_id == id)
			return b;
	}
	return NULL;
}

/* FREE -> in use (state set by the caller); NULL when the table is full. */
static struct bracket *bracket_alloc(struct slob_risk *r)
{
	if (r->nfree == 0)
		return NULL;
	uint32_t idx = r->free_idx[--r->nfree];
	struct bracket *b = &r->br[idx];
	memset(b, 0, sizeof(*b));
	b->live_pos = r->nlive;
	r->live_idx[r->nlive++] = idx;
	return b;
}

/* Any state -> FREE. */
static void bracket_release(struct slob_risk *r, struct bracket *b)
{
	uint32_t idx = (uint32_t)(b - r->br);
	uint32_t last = r->live_idx[--r->nlive];
	r->live_idx[b->live_pos] = last;
	r->br[last].live_pos = b->live_pos;
	memset(b, 0, sizeof(*b));
	r->free_idx[r->nfree++] = idx;
}

static void send_cancel(struct slob_risk *r, struct bracket *b)
{
	if (b->cancel_sent || b->entry_done)
		return;
	struct slob_intent *it = outq_push(r);
	it->kind = SLOB_INTENT_CANCEL;
	it->qty = b->qty_planned - b->entry_filled;
	it->dir = b->dir;
	it->setup_id = b->setup_id;
	it->ref_hash = slob_risk_ref_hash(b->setup_id);
	slob_risk_order_ref(it->ref_hash, it->order_ref);
	it->ts_ns = r->last_ts;
	it->entry = b->entry;
	it->sl = b->sl;
	it->tp = b->tp;
	b->cancel_sent = 1;
	r->n_cancels++;
}

static void flatten_all(struct slob_risk *r, uint64_t clock_seq)
{
	for (uint32_t k = 0; k < r->nlive; k++) {
		struct bracket *b = &r->br[r->live_idx[k]];
		if (b->entry_filled == 0) {
			send_cancel(r, b);
			continue;
		}
		if (b->open_qty <= 0 || b->flatten_sent)
			continue;
		struct slob_intent *it = outq_push(r);
		it->kind = SLOB_INTENT_FLATTEN;
		it->qty = b->open_qty;
		it->dir = b->dir;
		it->setup_id = b->setup_id;
		it->ref_hash = slob_risk_ref_hash(b->setup_id);
		slob_risk_order_ref(it->ref_hash, it->order_ref);
		it->ts_ns = r->last_ts;
		it->clock_seq = clock_seq;
		it->entry = b->entry;
		it->sl = b->sl;
		it->tp = b->tp;
		b->flatten_sent = 1;
		r->n_flattens++;
	}
}

static void cancel_pending(struct slob_risk *r)
{
	for (uint32_t k = 0; k < r->nlive; k++)
		if (r->br[r->live_idx[k]].entry_filled == 0)
			send_cancel(r, &r->br[r->live_idx[k]]);
}

static void trip(struct slob_risk *r, uint16_t reason, int64_t value, const char *why)
{
	if (r->breaker)
		return;
	r->breaker = 1;
	r->breaker_reason = reason;
	emit_breaker(r, reason, 1, value, "risk", why, r->last_ts); /* alerted by the cold path */
	cancel_pending(r);					    /* invariant 5 */
	emit_risk_state(r);
}

/*
 * Equity series (docs/RISK.md "Broker account"). The own series is
 * initial_capital + realised + unrealised; the broker series is the
 * NetLiquidation of the last account figures, with its own peak. Sizing and
 * the drawdown breaker use the series of risk.equity_source: config = own,
 * broker = the broker's once known, min = the lower one for sizing and
 * either series' drawdown for the breaker.
 */
static bool broker_equity_known(const struct slob_risk *r)
{
	return (r->acct.have & SLOB_ACCT_NET_LIQ) != 0;
}

static bool own_series(const struct slob_risk *r)
{
	return r->p.equity_source != SLOB_EQMODE_BROKER || !broker_equity_known(r);
}

static bool broker_series(const struct slob_risk *r)
{
	return r->p.equity_source != SLOB_EQMODE_CONFIG && broker_equity_known(r);
}

/* The equity the next size uses, and where it came from. */
static int64_t sizing_equity(const struct slob_risk *r, uint8_t *src)
{
	int64_t own = equity(r);
	*src = SLOB_EQ_CONFIG;
	if (!broker_series(r))
		return own;
	if (r->p.equity_source == SLOB_EQMODE_BROKER || r->acct.net_liq_cents < own) {
		*src = SLOB_EQ_BROKER;
		return r->acct.net_liq_cents;
	}
	return own;
}

static int64_t series_dd_bp(int64_t peak, int64_t e)
{
	if (peak <= 0 || e >= peak)
		return 0;
	__int128 bp = ((__int128)peak - e) * 10000 / peak; /* no wrap for any equity */
	return bp > INT64_MAX ? INT64_MAX : (int64_t)bp;
}

static bool series_dd_hit(int64_t peak, int64_t e, int32_t bp)
{
	/* (peak - equity) / peak >= bp / 10000, exactly, in integers */
	return bp > 0 && peak > 0 && ((__int128)peak - e) * 10000 >= (__int128)bp * peak;
}

/* Drawdown in basis points of the peak (0 when the peak is not positive);
 * the larger of the series in use. */
static int64_t drawdown_bp(const struct slob_risk *r)
{
	int64_t own = own_series(r) ? series_dd_bp(r->peak, equity(r)) : 0;
	int64_t brk = broker_series(r) ? series_dd_bp(r->broker_peak, r->acct.net_liq_cents) : 0;
	return own > brk ? own : brk;
}

static bool drawdown_hit(const struct slob_risk *r)
{
	return (own_series(r) && series_dd_hit(r->peak, equity(r), r->p.max_drawdown_bp)) ||
	       (broker_series(r) &&
		series_dd_hit(r->broker_peak, r->acct.net_liq_cents, r->p.max_drawdown_bp));
}

/* Initial margin of one contract: the broker's what-if, else the configured one. */
static int64_t margin_one(const struct slob_risk *r)
{
	if ((r->acct.have & SLOB_ACCT_MARGIN_1) && r->acct.margin_1_cents > 0)
		return r->acct.margin_1_cents;
	return r->p.margin_per_contract_cents;
}

/*
 * Live order session only: true when the figures new entries need are
 * missing (never received, no per-contract margin) or older than
 * account_stale_s at monotonic instant now_ns.
 */
static bool account_stale(const struct slob_risk *r, int64_t now_ns)
{
	const uint32_t need = SLOB_ACCT_NET_LIQ | SLOB_ACCT_AVAILABLE;
	if (!r->io.account_feed)
		return false;
	if ((r->acct.have & need) != need || r->acct.summary_ns == 0 || margin_one(r) <= 0)
		return true;
	return r->p.account_stale_s > 0 &&
	       now_ns - r->acct.summary_ns > (int64_t)r->p.account_stale_s * SLOB_NS_PER_SEC;
}

/* Margin the bracket needs with headroom: margin x qty x (1 + headroom), exact in
 * 128 bits (margin near INT64_MAX / qty must not wrap into a fit). */
static __int128 margin_needed_wide(const struct slob_risk *r, int32_t qty)
{
	return (__int128)margin_one(r) * qty * (10000 + r->p.margin_headroom_bp) / 10000;
}

/* margin_needed_wide for texts, saturated at INT64_MAX. */
static int64_t margin_needed(const struct slob_risk *r, int32_t qty)
{
	__int128 m = margin_needed_wide(r, qty);
	return m > INT64_MAX ? INT64_MAX : (int64_t)m;
}

/*
 * Initial margin of live brackets whose entry is still working: per-contract
 * margin x contracts not yet filled. The broker's AvailableFunds does not count
 * them until they fill, and arrives only every few minutes, so without this
 * every setup in that window would pass against the same funds.
 */
static __int128 margin_reserved(const struct slob_risk *r)
{
	__int128 m = 0;
	for (uint32_t k = 0; k < r->nlive; k++) {
		const struct bracket *b = &r->br[r->live_idx[k]];
		if (!b->entry_done && b->qty_planned > b->entry_filled)
			m += (__int128)margin_one(r) * (b->qty_planned - b->entry_filled);
	}
	return m;
}

/* The bracket of qty contracts fits: its margin with headroom within AvailableFunds
 * less what working entries will take. */
static bool margin_fits(const struct slob_risk *r, int32_t qty)
{
	return margin_needed_wide(r, qty) <= (__int128)r->acct.available_cents - margin_reserved(r);
}

static void revalue(struct slob_risk *r)
{
	int64_t u = 0;
	int64_t tvc = r->io.instrument.tick_value_cents;
	for (uint32_t k = 0; k < r->nlive; k++) {
		const struct bracket *b = &r->br[r->live_idx[k]];
		if (b->state == B_OPEN && b->open_qty > 0)
			u += b->dir * ((int64_t)r->mark_px * b->open_qty - b->cost) * tvc;
	}
	r->unrealised = u;
	if (equity(r) > r->peak)
		r->peak = equity(r);
	if (drawdown_hit(r))
		trip(r, SLOB_RISK_MAX_DRAWDOWN, drawdown_bp(r),
		     "Trading stopped: max drawdown reached");
}

static void roll_day_local(struct slob_risk *r, const struct slob_local *lt)
{
	if (lt->ymd != r->day) {
		r->day = lt->ymd;
		r->day_start_equity = equity(r);
		r->daily_alerted = 0;
		emit_risk_state(r);
	}
}

static void roll_day(struct slob_risk *r, int64_t ts)
{
	struct slob_local lt;
	slob_tz_local(r->tz, ts, &lt);
	roll_day_local(r, &lt);
}

static void close_trade(struct slob_risk *r, struct bracket *b, int64_t exit_ns)
{
	struct slob_cold rec;
	cold_head(&rec, SLOB_COLD_TRADE, SLOB_CLASS_TRADE, r->last_ts);
	rec.u.trade.setup_id = b->setup_id;
	rec.u.trade.entry_ns = b->entry_ns;
	rec.u.trade.exit_ns = exit_ns;
	rec.u.trade.entry_px = b->entry_filled ? (int32_t)(b->entry_value / b->entry_filled) : 0;
	rec.u.trade.exit_px = b->exit_filled ? (int32_t)(b->exit_value / b->exit_filled) : 0;
	rec.u.trade.sl = b->sl;
	rec.u.trade.tp = b->tp;
	rec.u.trade.qty = b->exit_filled;
	rec.u.trade.dir = b->dir;
	rec.u.trade.exit_role = b->flatten_sent && b->exit_role == SLOB_ROLE_SL ? SLOB_EXIT_FLATTEN
										: b->exit_role;
	rec.u.trade.pnl_cents = b->realised;
	cold_put(r, &rec);
	r->n_trades++;
	emit_position(r, b); /* open = 0 */
	bracket_release(r, b);
}

/* ---- execution reports -------------------------------------------------------- */

/*
 * P1-4. `what` non-NULL: risk found it (a fill it cannot attribute) and
 * writes the SLOB_COLD_UNKNOWN_BROKER record (persisted, alerted CRITICAL by
 * the cold path); NULL: a SLOB_EXEC_UNKNOWN report, already recorded and
 * alerted by the order connection and the sender.
 */
static void unknown_broker(struct slob_risk *r, const struct slob_exec *x, const char *what)
{
	r->n_unknown++;
	if (what != NULL) {
		struct slob_cold rec;
		slob_cold_text_init(&rec, SLOB_COLD_UNKNOWN_BROKER, SLOB_LVL_CRITICAL, r->last_ts,
				    "risk", x->code, what);
		strncat(rec.u.text.text, x->order_ref,
			sizeof(rec.u.text.text) - 1 - strlen(rec.u.text.text));
		cold_put(r, &rec);
	}
	if (r->p.halt_on_unknown)
		trip(r, SLOB_RISK_UNKNOWN_BROKER, x->qty, "unknown broker order/position");
}

static void on_fill(struct slob_risk *r, const struct slob_exec *x)
{
	struct bracket *b = find_bracket(r, x->setup_id);
	if (b == NULL || x->qty <= 0) {
		unknown_broker(r, x, "fill risk cannot attribute: ");
		return;
	}
	r->n_fills++;
	/* the sender records the fill itself (SLOB_COLD_FILL with the broker's exec id) */
	if (r->mark_px == 0)
		r->mark_px = x->px;
	if (x->role == SLOB_ROLE_ENTRY) {
		if (b->entry_filled == 0)
			b->entry_ns = x->ts_ns ? x->ts_ns : r->last_ts;
		b->entry_filled += x->qty;
		b->open_qty += x->qty;
		b->cost += (int64_t)x->px * x->qty;
		b->entry_value += (int64_t)x->px * x->qty;
		b->state = B_OPEN;
		if (b->entry_filled >= b->qty_planned)
			b->entry_done = 1;
		emit_position(r, b);
	} else {
		int32_t q = x->qty;
		if (q > b->open_qty) {
			alert(r, SLOB_LVL_ERROR, ALERT_OTHER,
			      "Exit fill larger than the open position: ", x->order_ref);
			q = b->open_qty;
		}
		if (q > 0) {
			int64_t removed = b->cost * q / b->open_qty;
			int64_t pnl = b->dir * ((int64_t)x->px * q - removed) *
				      r->io.instrument.tick_value_cents;
			b->realised += pnl;
			r->realised += pnl;
			r->cash += pnl;
			b->cost -= removed;
			b->open_qty -= q;
			b->exit_filled += q;
			b->exit_value += (int64_t)x->px * q;
			b->exit_role = x->role;
		}
		if (b->open_qty == 0) {
			if (!b->entry_done)
				send_cancel(r, b); /* rest of a partial entry: flat now */
			close_trade(r, b, x->ts_ns ? x->ts_ns : r->last_ts);
		} else {
			emit_position(r, b);
		}
	}
	revalue(r);
	emit_risk_state(r);
}

static int open_positions(const struct slob_risk *r)
{
	int open = 0;
	for (uint32_t k = 0; k < r->nlive; k++)
		open += r->br[r->live_idx[k]].open_qty > 0;
	return open;
}

static void money_text(char *out, size_t cap, const char *label, int64_t cents)
{
	/* no snprintf on the risk thread's regular path: alerts are rare, but
	 * keep it to digits and a fixed label */
	char d[24];
	int n = 0;
	int64_t v = cents < 0 ? -cents : cents;
	v /= 100;
	do {
		d[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v > 0 && n < 20);
	size_t k = strnlen(out, cap);
	for (const char *p = label; *p && k + 1 < cap; p++)
		out[k++] = *p;
	if (cents < 0 && k + 1 < cap)
		out[k++] = '-';
	while (n > 0 && k + 1 < cap)
		out[k++] = d[--n];
	out[k] = '\0';
}

/* Risk's view of the account for the status block (INFO: the next one replaces it). */
static void emit_account(struct slob_risk *r)
{
	struct slob_cold rec;
	cold_head(&rec, SLOB_COLD_ACCOUNT, SLOB_CLASS_INFO, r->last_ts);
	rec.u.account.acct = r->acct;
	rec.u.account.sizing_equity_cents = sizing_equity(r, &rec.u.account.equity_src);
	rec.u.account.broker_peak_cents = r->broker_peak;
	rec.u.account.stale = r->acct_stale_alerted != 0;
	cold_put(r, &rec);
}

static void account_stale_alert(struct slob_risk *r)
{
	if (r->acct_stale_alerted)
		return;
	r->acct_stale_alerted = 1;
	emit_account(r);
	alert(r, SLOB_LVL_WARNING, ALERT_OTHER,
	      broker_equity_known(r) ? "Account data from the broker is stale: new entries held"
				     : "No account data from the broker: new entries held",
	      " (exits and protective orders are not affected)");
}

/*
 * Broker account figures (the order session's account summary and what-if
 * margin): replaces risk's copy, follows the broker peak, trips the breaker
 * on the broker series' drawdown, alerts low ExcessLiquidity while positions
 * are open and the end of a stale episode.
 */
static void on_account(struct slob_risk *r, const struct slob_exec *x)
{
	bool was_known = broker_equity_known(r);
	r->acct = x->acct;
	r->acct_recv_ns = x->recv_ns;
	if (broker_equity_known(r)) {
		/* the first figures keep a restored peak (snapshot) above them */
		if ((!was_known && r->broker_peak <= 0) || r->acct.net_liq_cents > r->broker_peak) {
			r->broker_peak = r->acct.net_liq_cents;
			emit_risk_state(r); /* a new peak must survive a restart */
		}
		if (!r->breaker && drawdown_hit(r))
			trip(r, SLOB_RISK_MAX_DRAWDOWN, drawdown_bp(r),
			     "Trading stopped: max drawdown reached (broker equity)");
	}
	/* "now" = when this report was made: a what-if answer alone does not
	 * make old summary figures current */
	int64_t now = x->recv_ns ? x->recv_ns : r->acct.summary_ns;
	if (r->acct_stale_alerted && !account_stale(r, now)) {
		r->acct_stale_alerted = 0;
		alert(r, SLOB_LVL_INFO, ALERT_OTHER, "Account data current again: entries resume",
		      NULL);
	}
	emit_account(r);
	if ((r->acct.have & SLOB_ACCT_EXCESS_LIQ) && r->p.excess_liq_alert_cents > 0) {
		bool low = r->acct.excess_liq_cents < r->p.excess_liq_alert_cents;
		if (low && !r->excess_alerted && open_positions(r) > 0) {
			char m[120] = "";
			money_text(m, sizeof(m), "Low ExcessLiquidity with positions open: ",
				   r->acct.excess_liq_cents);
			money_text(m, sizeof(m), " USD, alert below ", r->p.excess_liq_alert_cents);
			alert(r, SLOB_LVL_CRITICAL, ALERT_OTHER, m,
			      " USD: reduce positions before the broker liquidates");
			r->excess_alerted = 1;
		} else if (!low) {
			r->excess_alerted = 0;
		}
	}
}

static void on_exec(struct slob_risk *r, const struct slob_exec *x)
{
	struct bracket *b;
	if (x->ts_ns > r->last_ts)
		r->last_ts = x->ts_ns;
	switch (x->kind) {
	case SLOB_EXEC_SUBMITTED:
		break;
	case SLOB_EXEC_FILL:
		on_fill(r, x);
		break;
	case SLOB_EXEC_CANCELLED:
		b = find_bracket(r, x->setup_id);
		if (b == NULL)
			break;
		if (x->role == SLOB_ROLE_ENTRY) {
			b->entry_done = 1;
			if (b->open_qty == 0 && b->entry_filled == 0)
				bracket_release(r, b); /* PENDING -> FREE */
		} else if (b->open_qty > 0 && x->role != b->exit_role && b->exit_filled == 0) {
			alert(r, SLOB_LVL_ERROR, ALERT_OTHER,
			      "Protective order cancelled while the position is open: ",
			      x->order_ref);
		}
		break;
	case SLOB_EXEC_REJECTED:
		r->n_rejects++;
		/* the sender records and alerts the rejection itself (P1-3) */
		b = find_bracket(r, x->setup_id);
		if (b == NULL)
			break; /* setup stays in the set: never retried */
		if (x->role == SLOB_ROLE_ENTRY) {
			b->entry_done = 1;
			if (b->open_qty == 0 && b->entry_filled == 0)
				bracket_release(r, b);
		} else if (b->open_qty > 0) {
			alert(r, SLOB_LVL_CRITICAL, ALERT_ORDER_REJECTED,
			      "Protective order rejected, position unprotected: ", x->order_ref);
		}
		break;
	case SLOB_EXEC_CLOCK_ACK:
		if (x->clock_seq > r->acked_clock_seq)
			r->acked_clock_seq = x->clock_seq;
		if (r->acked_clock_seq >= r->fwd_clock_seq)
			r->clock_waiting = 0;
		break;
	case SLOB_EXEC_RECONCILED:
		/*
		 * Reconciliation after a (re)connect: an order of ours the broker
		 * still has, or an execution of one. Positions and money come from
		 * the store snapshot, never from these reports (an execution may
		 * already be in it); risk only makes sure the setup can never be
		 * sent again and that later reports for it are attributed: an
		 * untracked setup gets a PENDING bracket. setup_id 0 is the
		 * sender's aggregate position check.
		 */
		if (x->setup_id == 0)
			break;
		if (set_add(r, x->setup_id) < 0)
			alert(r, SLOB_LVL_CRITICAL, ALERT_OTHER, "Idempotency set full at ",
			      x->order_ref);
		b = find_bracket(r, x->setup_id);
		if (b == NULL && (x->dir == SLOB_LONG || x->dir == SLOB_SHORT)) {
			b = bracket_alloc(r);
			if (b == NULL) {
				alert(r, SLOB_LVL_CRITICAL, ALERT_OTHER,
				      "No room to track reconciled order ", x->order_ref);
				break;
			}
			b->setup_id = x->setup_id;
			b->dir = x->dir;
			b->qty_planned = x->qty < 0 ? -x->qty : x->qty;
			b->placed_ns = x->ts_ns;
			b->state = B_PENDING;
		}
		if (b != NULL && x->px != 0) {
			if (x->role == SLOB_ROLE_ENTRY && b->entry == 0)
				b->entry = x->px;
			else if (x->role == SLOB_ROLE_TP)
				b->tp = x->px;
			else if (x->role == SLOB_ROLE_SL)
				b->sl = x->px;
		}
		break;
	case SLOB_EXEC_UNKNOWN:
		unknown_broker(r, x, NULL);
		break;
	case SLOB_EXEC_CONN:
		r->connected = x->code != 0;
		break;
	case SLOB_EXEC_ACCOUNT:
		on_account(r, x);
		break;
	default:
		stat_add(&r->stats->errors, 1);
		break;
	}
}

/* ---- decisions ------------------------------------------------------------------ */

int32_t slob_risk_size(const struct slob_risk_params *p, const struct slob_instrument *in,
		       int64_t equity_cents, int32_t stop_ticks)
{
	int64_t n = 0;
	if (stop_ticks < 0)
		stop_ticks = -stop_ticks;
	if (stop_ticks > 0 && equity_cents > 0 && in->tick_value_cents > 0) {
		/* floor(equity x risk / (stop distance x point value)), in cents, in 128
		 * bits: any equity and risk give a size, capped below, never a wrap */
		__int128 risk_cents = (__int128)equity_cents * p->risk_per_trade_ppm / 1000000;
		__int128 w = risk_cents / ((__int128)stop_ticks * in->tick_value_cents);
		n = w > p->max_position_size ? p->max_position_size : (int64_t)w;
	}
	if (n > p->max_position_size)
		n = p->max_position_size;
	if (n == 0 && p->min_one_contract && stop_ticks > 0)
		n = 1;
	return (int32_t)n;
}

static unsigned check_time_local(const struct slob_risk *r, const struct slob_local *lt,
				 int64_t utc_ns)
{
	if (lt->wday == 0 || lt->wday == 6)
		return SLOB_RISK_WEEKEND;
	const struct slob_holiday *h = slob_calendar_holiday(&r->cal, lt->ymd);
	if (h && (h->close_minute < 0 || lt->second >= h->close_minute * 60))
		return SLOB_RISK_HOLIDAY;
	if (lt->second < r->p.trading_start_min * 60 || lt->second >= r->p.trading_end_min * 60)
		return SLOB_RISK_OUTSIDE_HOURS;
	if (r->p.flatten_at_min >= 0 && lt->second >= r->p.flatten_at_min * 60)
		return SLOB_RISK_OUTSIDE_HOURS; /* nothing new once the day is being flattened */
	if (slob_calendar_news_at(&r->cal, utc_ns))
		return SLOB_RISK_NEWS_BLACKOUT;
	return 0;
}

unsigned slob_risk_check_time(slob_risk_t *r, int64_t utc_ns)
{
	struct slob_local lt;
	slob_tz_local(r->tz, utc_ns, &lt);
	return check_time_local(r, &lt, utc_ns);
}

static bool rate_exceeded(const struct slob_risk *r, int64_t t)
{
	if (r->rate_n < (uint32_t)r->p.order_rate_limit)
		return false;
	int64_t oldest = r->rate_ts[r->rate_head];
	return t - oldest < (int64_t)r->p.order_rate_window_s * SLOB_NS_PER_SEC;
}

static void rate_push(struct slob_risk *r, int64_t t)
{
	uint32_t lim = (uint32_t)r->p.order_rate_limit;
	if (r->rate_n < lim) {
		r->rate_ts[(r->rate_head + r->rate_n) % lim] = t;
		r->rate_n++;
	} else {
		r->rate_ts[r->rate_head] = t;
		r->rate_head = (r->rate_head + 1) % lim;
	}
}

/*
 * True if a live bracket (entry working or position open) has the setup's
 * direction, entry, stop and target: a second one would double the exposure
 * on the same levels (two setups may complete on identical prices).
 */
static bool same_levels_live(const struct slob_risk *r, const struct slob_setup *s)
{
	for (uint32_t k = 0; k < r->nlive; k++) {
		const struct bracket *b = &r->br[r->live_idx[k]];
		if (s->dir != 0 && b->dir == s->dir && b->entry == s->entry && b->sl == s->sl &&
		    b->tp == s->tp)
			return true;
	}
	return false;
}

static unsigned decide(struct slob_risk *r, const struct slob_sig *sig, const struct slob_local *lt,
		       int32_t *qty, int64_t *eq, uint8_t *eq_src)
{
	const struct slob_setup *s = &sig->setup;
	int64_t t = sig->ts_ns + BAR_NS;
	*qty = 0;
	if (s->id == 0)
		return SLOB_RISK_BAD_SETUP;
	if (set_has(r, s->id))
		return SLOB_RISK_DUPLICATE;
	if (r->kill)
		return SLOB_RISK_KILL_SWITCH;
	if (r->breaker)
		return r->breaker_reason ? r->breaker_reason : SLOB_RISK_BREAKER;
	if (r->io.cold && slob_coldq_backlogged(r->io.cold))
		return SLOB_RISK_COLD_BACKLOG;
	if (r->io.store_healthy && !__atomic_load_n(r->io.store_healthy, __ATOMIC_RELAXED))
		return SLOB_RISK_STORE_UNHEALTHY;
	if (!r->connected)
		return SLOB_RISK_DISCONNECTED;
	if (account_stale(r, sig->recv_ns))
		return SLOB_RISK_ACCOUNT_STALE;
	unsigned tr = check_time_local(r, lt, t);
	if (tr)
		return tr;
	if (drawdown_hit(r)) {
		trip(r, SLOB_RISK_MAX_DRAWDOWN, drawdown_bp(r),
		     "Trading stopped: max drawdown reached");
		return SLOB_RISK_MAX_DRAWDOWN;
	}
	int64_t daily = equity(r) - r->day_start_equity;
	if (r->p.daily_loss_limit_cents > 0 && daily <= -r->p.daily_loss_limit_cents) {
		if (!r->daily_alerted) {
			r->daily_alerted = 1;
			alert(r, SLOB_LVL_WARNING, ALERT_OTHER,
			      "Daily loss limit reached: no new entries today", NULL);
		}
		return SLOB_RISK_DAILY_LOSS;
	}
	if (same_levels_live(r, s))
		return SLOB_RISK_DUPLICATE_LEVELS;
	if ((int32_t)r->nlive >= r->p.max_concurrent_positions)
		return SLOB_RISK_MAX_POSITIONS;
	bool ok = s->dir == SLOB_LONG	 ? (s->sl < s->entry && s->entry < s->tp)
		  : s->dir == SLOB_SHORT ? (s->tp < s->entry && s->entry < s->sl)
					 : false;
	if (!ok)
		return SLOB_RISK_BAD_SETUP;
	*eq = sizing_equity(r, eq_src);
	int32_t n = slob_risk_size(&r->p, &r->io.instrument, *eq, s->entry - s->sl);
	if (n <= 0)
		return SLOB_RISK_SIZE_ZERO;
	if (r->io.account_feed && !margin_fits(r, n))
		return SLOB_RISK_MARGIN;
	if (r->set_count >= r->set_max)
		return SLOB_RISK_SETUP_TABLE_FULL;
	if (r->nfree == 0)
		return SLOB_RISK_MAX_POSITIONS;
	if (rate_exceeded(r, t)) {
		trip(r, SLOB_RISK_ORDER_RATE, r->p.order_rate_limit,
		     "order rate limit exceeded (runaway orders)");
		return SLOB_RISK_ORDER_RATE;
	}
	*qty = n;
	return SLOB_RISK_ACCEPTED;
}

/* orderRef of a setup, for alert texts. */
static const char *sig_ref(uint64_t id, char ref[SLOB_ORDER_REF_LEN])
{
	slob_risk_order_ref(slob_risk_ref_hash(id), ref);
	return ref;
}

static void on_setup(struct slob_risk *r, const struct slob_sig *sig)
{
	char ref[SLOB_ORDER_REF_LEN];
	const struct slob_setup *s = &sig->setup;
	int32_t qty;
	struct slob_local lt;
	slob_tz_local(r->tz, sig->ts_ns + BAR_NS, &lt); /* decision instant: the bar's close */
	roll_day_local(r, &lt);
	int64_t eq = 0;
	uint8_t eq_src = SLOB_EQ_CONFIG;
	unsigned reason = decide(r, sig, &lt, &qty, &eq, &eq_src);
	stat_add(&r->stats->reasons[reason < SLOB_MAX_REASONS ? reason : 0], 1);
	if (reason == SLOB_RISK_DUPLICATE) {
		r->n_dup++;
		if ((r->n_dup & (r->n_dup - 1)) == 0) /* 1st, 2nd, 4th, ...: no alert storm */
			alert(r, SLOB_LVL_WARNING, ALERT_OTHER,
			      "Duplicate order attempt blocked (P0-3 idempotency) for ",
			      sig_ref(s->id, ref));
		/*
		 * A duplicate is an order attempt too: a detector or feed firing
		 * the same setup over and over is a runaway (P0-3) even though
		 * idempotency stops every copy, so attempts share the rate window
		 * with placed brackets and a burst trips the breaker.
		 */
		int64_t t = sig->ts_ns + BAR_NS;
		if (!r->breaker && rate_exceeded(r, t))
			trip(r, SLOB_RISK_ORDER_RATE, r->p.order_rate_limit,
			     "order rate limit exceeded: the same setup signalled again and again");
		else if (!r->breaker)
			rate_push(r, t);
	}

	if (reason == SLOB_RISK_MARGIN) {
		r->n_margin++;
		if ((r->n_margin & (r->n_margin - 1)) == 0) { /* 1st, 2nd, 4th, ... */
			char m[160] = "";
			__int128 w = margin_reserved(r);
			money_text(m, sizeof(m), "Insufficient margin: setup refused, needs ",
				   margin_needed(r, slob_risk_size(&r->p, &r->io.instrument, eq,
								   s->entry - s->sl)));
			money_text(m, sizeof(m), " USD, AvailableFunds ", r->acct.available_cents);
			if (w > 0)
				money_text(m, sizeof(m), " USD less working entries ",
					   w > INT64_MAX ? INT64_MAX : (int64_t)w);
			alert(r, SLOB_LVL_WARNING, ALERT_OTHER, m,
			      " USD: reduce size or add funds");
		}
	} else if (reason == SLOB_RISK_ACCOUNT_STALE) {
		r->n_acct_hold++;
		account_stale_alert(r);
	}

	struct slob_cold rec;
	cold_head(&rec, SLOB_COLD_DECISION, SLOB_CLASS_INFO, sig->ts_ns);
	rec.u.decision.setup_id = s->id;
	rec.u.decision.equity_src = eq_src;
	rec.u.decision.equity_cents = eq;
	rec.u.decision.qty = qty;
	rec.u.decision.reason = (uint16_t)reason;
	rec.u.decision.entry = s->entry;
	rec.u.decision.sl = s->sl;
	rec.u.decision.tp = s->tp;
	rec.u.decision.dir = s->dir;
	cold_put(r, &rec);
	if (reason != SLOB_RISK_ACCEPTED)
		return;

	struct bracket *b = bracket_alloc(r); /* non-NULL: checked in decide() */
	(void)set_add(r, s->id);	      /* capacity checked in decide() */
	rate_push(r, sig->ts_ns + BAR_NS);
	b->setup_id = s->id;
	b->placed_ns = sig->ts_ns;
	b->qty_planned = qty;
	b->entry = s->entry;
	b->sl = s->sl;
	b->tp = s->tp;
	b->dir = s->dir;
	b->state = B_PENDING;

	struct slob_intent *it = outq_push(r);
	it->kind = SLOB_INTENT_BRACKET;
	it->qty = qty;
	it->dir = s->dir;
	it->setup_id = s->id;
	it->ref_hash = slob_risk_ref_hash(s->id);
	slob_risk_order_ref(it->ref_hash, it->order_ref);
	it->ts_ns = sig->ts_ns;
	it->recv_ns = sig->recv_ns;
	it->entry = s->entry;
	it->sl = s->sl;
	it->tp = s->tp;
	r->n_brackets++;
}

static void on_clock(struct slob_risk *r, const struct slob_sig *sig)
{
	roll_day(r, sig->ts_ns);
	/* figures that went stale alert even when no setup comes to be held;
	 * never-received ones only when a setup is (no noise at start-up) */
	if (r->connected && sig->recv_ns != 0 && broker_equity_known(r) &&
	    account_stale(r, sig->recv_ns))
		account_stale_alert(r);
	if (sig->mark_px != 0) {
		int64_t before = equity(r), peak = r->peak;
		r->mark_px = sig->mark_px;
		revalue(r);
		if (equity(r) != before && r->peak != peak)
			emit_risk_state(r); /* a new peak must survive a restart */
	}
	/*
	 * Entry timer. The N-th clock after placement (N = cancel_after_bars)
	 * cancels before it is forwarded, so the sender's CANCELLED report
	 * precedes its ack of this clock and, with wait_for_clock_ack, the
	 * next decision sees the freed slot on every thread layout. The paper
	 * broker then never matches that bar's ticks against the entry, which
	 * is also what the live gateway sees (tests/integration/
	 * test_slobd_gw.sh compares the two trade for trade).
	 */
	for (uint32_t k = 0; k < r->nlive; k++) {
		struct bracket *b = &r->br[r->live_idx[k]];
		if (b->entry_done || b->cancel_sent || b->entry_filled > 0)
			continue; /* a partly filled entry runs on under its SL/TP */
		if (++b->bars >= r->p.cancel_after_bars && r->p.cancel_after_bars > 0)
			send_cancel(r, b);
	}
	/*
	 * Session-end flatten (flatten_at, off by default): from that local time
	 * until midnight every clock cancels entries without a fill and closes
	 * each open position once, at market. At most one intent per bracket
	 * (a partly filled entry is not cancelled here: its rest is cancelled
	 * when the position is flat), so the room check of the poll holds.
	 */
	if (r->p.flatten_at_min >= 0) {
		struct slob_local lt;
		slob_tz_local(r->tz, sig->ts_ns + BAR_NS, &lt);
		if (lt.second >= r->p.flatten_at_min * 60)
			flatten_all(r, sig->clock_seq);
	}
	struct slob_intent *it = outq_push(r);
	it->kind = SLOB_INTENT_CLOCK;
	it->ts_ns = sig->ts_ns;
	it->recv_ns = sig->recv_ns;
	it->clock_seq = sig->clock_seq;
	it->mark_px = sig->mark_px;
	r->fwd_clock_seq = sig->clock_seq;
	r->clock_waiting = r->acked_clock_seq < sig->clock_seq;
}

/* ---- control ------------------------------------------------------------------- */

static int ctl_push(struct slob_risk *r, const struct ctl_rec *c)
{
	pthread_mutex_lock(&r->ctl_mu); /* control threads only; the risk thread never takes it */
	bool ok = slob_ring_push_spsc(&r->ctl, c);
	pthread_mutex_unlock(&r->ctl_mu);
	return ok ? 0 : -EAGAIN;
}

int slob_risk_request_reset(slob_risk_t *r, const char *who, const char *why)
{
	struct ctl_rec c = {.kind = CTL_RESET};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now); /* control thread: a syscall is fine here */
	c.when_ns = (int64_t)now.tv_sec * SLOB_NS_PER_SEC + now.tv_nsec;
	strncpy(c.who, who ? who : "unknown", sizeof(c.who) - 1);
	strncpy(c.why, why ? why : "", sizeof(c.why) - 1);
	return ctl_push(r, &c);
}

int slob_risk_set_kill_switch(slob_risk_t *r, bool on)
{
	struct ctl_rec c = {.kind = CTL_KILL, .on = on};
	return ctl_push(r, &c);
}

static int apply_ctl(struct slob_risk *r)
{
	int n = 0;
	const struct ctl_rec *c;
	while (outq_free(r) >= r->nbr + 2 && (c = slob_ring_peek_spsc(&r->ctl, 0)) != NULL) {
		if (c->kind == CTL_RESET) {
			uint16_t was = r->breaker_reason;
			r->breaker = 0;
			r->breaker_reason = 0;
			r->peak = equity(r); /* else the old drawdown re-trips at once */
			r->broker_peak = r->acct.net_liq_cents; /* same for the broker series */
			r->rate_n = 0;
			r->rate_head = 0;
			/* who, when (wall clock of the request), why; alerted by the cold path */
			emit_breaker(r, 0, 0, was, c->who, c->why, c->when_ns);
			emit_risk_state(r);
		} else if (c->kind == CTL_KILL) {
			/* not a BREAKER record: the store's breaker state must not follow
			 * the kill switch; the control path persists the switch itself */
			r->kill = c->on != 0;
			alert(r, SLOB_LVL_WARNING, ALERT_OTHER,
			      r->kill ? "Kill switch engaged: no new entries"
				      : "Kill switch released",
			      NULL);
			if (r->kill)
				cancel_pending(r);
		}
		slob_ring_release_spsc(&r->ctl, 1);
		n++;
	}
	return n;
}

/* ---- poll ----------------------------------------------------------------------- */

int slob_risk_poll(slob_risk_t *r)
{
	int work = 0;
	r->polled = 1;
	if (r->io.cold && slob_coldq_backlogged(r->io.cold)) {
		unsigned before = r->io.cold->ov_tail - r->io.cold->ov_head;
		work += (int)(before - slob_coldq_flush(r->io.cold));
	}
	work += outq_flush(r);
	work += apply_ctl(r);

	if (r->io.exec_in) {
		const struct slob_exec *x;
		unsigned n = 0;
		while (n < EXEC_BATCH && outq_free(r) >= r->nbr + 2 &&
		       (x = slob_ring_peek_spsc(r->io.exec_in, 0)) != NULL) {
			on_exec(r, x);
			slob_ring_release_spsc(r->io.exec_in, 1);
			n++;
		}
		if (n)
			stat_add(&r->stats->in, n);
		work += (int)n;
	}

	const struct slob_sig *sig;
	unsigned n = 0;
	while (n < SIG_BATCH && !r->end_seen && outq_free(r) >= r->nbr + 2 &&
	       (sig = slob_ring_peek_spsc(r->io.sig_in, 0)) != NULL) {
		if (r->p.wait_for_clock_ack && r->clock_waiting)
			break; /* invariant 4: nothing moves before the fills of earlier ticks */
		if (sig->ts_ns > r->last_ts)
			r->last_ts = sig->ts_ns;
		switch (sig->kind) {
		case SLOB_SIG_SETUP:
			on_setup(r, sig);
			break;
		case SLOB_SIG_CLOCK:
			on_clock(r, sig);
			break;
		case SLOB_SIG_END:
			outq_push(r)->kind = SLOB_INTENT_END;
			r->end_seen = 1;
			break;
		default:
			stat_add(&r->stats->errors, 1);
			break;
		}
		slob_ring_release_spsc(r->io.sig_in, 1);
		n++;
	}
	if (n)
		stat_add(&r->stats->in, n);
	work += (int)n;
	work += outq_flush(r);
	if (r->end_seen && r->out_head == r->out_tail)
		r->end_fwd = 1;
	stat_add(&r->stats->polls, 1);
	if (work == 0)
		stat_add(&r->stats->idle_polls, 1);
	if (r->fatal)
		return r->fatal;
	return work;
}

bool slob_risk_done(const slob_risk_t *r)
{
	if (!r->end_fwd)
		return false;
	if (r->p.wait_for_clock_ack && r->acked_clock_seq < r->fwd_clock_seq)
		return false;
	return r->io.cold == NULL || !slob_coldq_backlogged(r->io.cold);
}

static int stage_poll(struct slob_stage *st)
{
	slob_risk_t *r = st->ctx;
	r->stats = st->stats ? st->stats : &st->own_stats;
	return slob_risk_poll(r);
}

static bool stage_done(struct slob_stage *st)
{
	return slob_risk_done(st->ctx);
}

void slob_risk_stage_init(slob_risk_t *r, struct slob_stage *st)
{
	memset(st, 0, sizeof(*st));
	st->name = "risk";
	st->poll = stage_poll;
	st->done = stage_done;
	st->ctx = r;
	st->stats = &st->own_stats;
	r->stats = st->stats;
}

/* ---- life cycle ----------------------------------------------------------------- */

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

int slob_risk_create(slob_risk_t **out, const struct slob_risk_params *p,
		     const struct slob_risk_io *io, char *err, size_t errlen)
{
	int rc;
	char dummy[8];
	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	*out = NULL;
	if (p == NULL || io == NULL || io->sig_in == NULL || io->intent_out == NULL) {
		snprintf(err, errlen, "risk: sig_in and intent_out rings are required");
		return -EINVAL;
	}
	if (io->sig_in->rec_size != sizeof(struct slob_sig) ||
	    io->intent_out->rec_size != sizeof(struct slob_intent) ||
	    (io->exec_in && io->exec_in->rec_size != sizeof(struct slob_exec))) {
		snprintf(err, errlen, "risk: ring record sizes do not match sig/intent/exec");
		return -EINVAL;
	}
	if (io->instrument.tick_value_cents <= 0) {
		snprintf(err, errlen,
			 "risk: instrument %s has no tick value (tick_size x point_value)",
			 io->instrument.symbol);
		return -EINVAL;
	}
	if ((rc = slob_risk_params_validate(p, err, errlen)) < 0)
		return rc;
	struct slob_risk *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->p = *p;
	r->io = *io;
	r->stats = &r->own_stats;
	slob_calendar_init(&r->cal);
	pthread_mutex_init(&r->ctl_mu, NULL);
	if (io->tz) {
		r->tz = io->tz;
	} else {
		r->tz = malloc(sizeof(*r->tz));
		if (r->tz == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		r->own_tz = 1;
		if ((rc = slob_tz_load(r->tz, p->timezone, 2000, 2100)) < 0) {
			snprintf(err, errlen, "[risk] timezone '%s': %s", p->timezone,
				 slob_tz_strerror());
			goto fail;
		}
	}
	if (p->holiday_file[0] &&
	    (rc = slob_calendar_load_holidays(&r->cal, p->holiday_file, err, errlen)) < 0)
		goto fail;
	if (p->news_file[0] &&
	    (rc = slob_calendar_load_news(&r->cal, p->news_file, r->tz, p->news_before_min,
					  p->news_after_min, p->news_min_impact, err, errlen)) < 0)
		goto fail;

	r->set_max = (uint32_t)p->setup_capacity;
	uint32_t cap = pow2_at_least(r->set_max * 2u);
	r->set = calloc(cap, sizeof(*r->set));
	r->set_mask = cap - 1;
	r->nbr = (unsigned)(p->max_concurrent_positions * 2 + 16);
	r->br = calloc(r->nbr, sizeof(*r->br));
	r->live_idx = calloc(r->nbr, sizeof(*r->live_idx));
	r->free_idx = calloc(r->nbr, sizeof(*r->free_idx));
	r->rate_ts = calloc((size_t)p->order_rate_limit, sizeof(*r->rate_ts));
	uint32_t oc = pow2_at_least(2 * (r->nbr + 2));
	r->outq = calloc(oc, sizeof(*r->outq));
	r->out_mask = oc - 1;
	if (!r->set || !r->br || !r->live_idx || !r->free_idx || !r->rate_ts || !r->outq) {
		rc = -ENOMEM;
		snprintf(err, errlen, "risk: out of memory");
		goto fail;
	}
	/* the decision path must not take page faults (DESIGN: no allocation
	 * after start-up, and a first-touch fault is one) */
	slob_prefault(r->set, (unsigned long)cap * sizeof(*r->set));
	slob_prefault(r->br, r->nbr * sizeof(*r->br));
	slob_prefault(r->live_idx, r->nbr * sizeof(*r->live_idx));
	slob_prefault(r->free_idx, r->nbr * sizeof(*r->free_idx));
	slob_prefault(r->rate_ts, (unsigned long)p->order_rate_limit * sizeof(*r->rate_ts));
	slob_prefault(r->outq, oc * sizeof(*r->outq));
	if ((rc = slob_ring_init(&r->ctl, "risk-ctl", 16, sizeof(struct ctl_rec))) < 0) {
		snprintf(err, errlen, "risk: control ring: %s", slob_ring_strerror());
		goto fail;
	}
	for (unsigned i = 0; i < r->nbr; i++)
		r->free_idx[r->nfree++] = r->nbr - 1 - i; /* slot 0 first */
	r->cash = p->initial_capital_cents;
	r->peak = r->cash;
	r->day_start_equity = r->cash;
	r->connected = 1;
	*out = r;
	return 0;
fail:
	snprintf(risk_err, sizeof(risk_err), "%s", err);
	slob_risk_free(r);
	return rc;
}

void slob_risk_free(slob_risk_t *r)
{
	if (r == NULL)
		return;
	slob_ring_destroy(&r->ctl);
	pthread_mutex_destroy(&r->ctl_mu);
	slob_calendar_destroy(&r->cal);
	if (r->own_tz)
		free(r->tz);
	free(r->set);
	free(r->br);
	free(r->live_idx);
	free(r->free_idx);
	free(r->rate_ts);
	free(r->outq);
	free(r);
}

int slob_risk_preload_setup(slob_risk_t *r, uint64_t setup_id)
{
	if (setup_id == 0)
		return -EINVAL;
	int rc = set_add(r, setup_id);
	return rc < 0 ? rc : 0;
}

int slob_risk_restore(slob_risk_t *r, const struct slob_risk_snapshot *s)
{
	if (r->polled) {
		snprintf(risk_err, sizeof(risk_err), "risk: restore after the first poll");
		return -EBUSY;
	}
	if (s->npositions > SLOB_RISK_SNAP_MAX_POS || s->npositions > r->nbr) {
		snprintf(risk_err, sizeof(risk_err),
			 "risk: snapshot has %u open positions, room for %u", s->npositions,
			 r->nbr < SLOB_RISK_SNAP_MAX_POS ? r->nbr : SLOB_RISK_SNAP_MAX_POS);
		return -ENOSPC;
	}
	for (unsigned i = 0; i < s->npositions; i++) {
		const struct slob_risk_pos_snap *ps = &s->positions[i];
		if (ps->setup_id == 0 || ps->qty <= 0 ||
		    (ps->dir != SLOB_LONG && ps->dir != SLOB_SHORT)) {
			snprintf(risk_err, sizeof(risk_err),
				 "risk: snapshot position %u: bad setup id, qty or direction", i);
			return -EINVAL;
		}
	}
	r->cash = s->equity_cents - s->unrealised_cents;
	r->realised = r->cash - r->p.initial_capital_cents;
	r->unrealised = 0; /* re-marked at the first clock */
	r->peak = s->peak_cents > r->cash ? s->peak_cents : r->cash;
	r->day = s->trading_day;
	r->day_start_equity = s->equity_cents - s->daily_pnl_cents;
	r->breaker = s->breaker_tripped != 0;
	r->breaker_reason = r->breaker ? s->breaker_reason : 0;
	r->kill = s->kill_switch != 0;
	r->broker_peak = s->broker_peak_cents > 0 ? s->broker_peak_cents : 0;
	while (r->nlive > 0)
		bracket_release(r, &r->br[r->live_idx[r->nlive - 1]]);
	for (unsigned i = 0; i < s->npositions; i++) {
		const struct slob_risk_pos_snap *ps = &s->positions[i];
		struct bracket *b = bracket_alloc(r);
		b->setup_id = ps->setup_id;
		b->entry_ns = ps->entry_ns;
		b->qty_planned = b->entry_filled = b->open_qty = ps->qty;
		b->cost = b->entry_value = (int64_t)ps->avg_px * ps->qty;
		b->sl = ps->sl;
		b->tp = ps->tp;
		b->dir = ps->dir;
		b->state = B_OPEN;
		b->entry_done = 1;
		if (set_add(r, ps->setup_id) < 0) {
			snprintf(risk_err, sizeof(risk_err), "risk: idempotency set full");
			return -ENOSPC;
		}
	}
	/* the store and the stats file show what risk now manages: engine
	 * positions as they were, and manual ones (slobctl add-position) with
	 * their stop and target from now on */
	for (uint32_t k = 0; k < r->nlive; k++)
		emit_position(r, &r->br[r->live_idx[k]]);
	if (s->npositions)
		r->mark_px = 0; /* unknown until the first clock: unrealised stays 0 */
	/* revalue with mark 0 would be wrong: leave unrealised at 0 until a clock */
	for (unsigned i = 0; i < s->npositions && r->mark_px == 0; i++)
		r->mark_px = s->positions[i].avg_px;
	return 0;
}

void slob_risk_get_view(const slob_risk_t *r, struct slob_risk_view *v)
{
	memset(v, 0, sizeof(*v));
	v->cash_cents = r->cash;
	v->realised_cents = r->realised;
	v->unrealised_cents = r->unrealised;
	v->equity_cents = equity(r);
	v->peak_cents = r->peak;
	v->daily_pnl_cents = equity(r) - r->day_start_equity;
	v->trading_day = r->day;
	for (uint32_t k = 0; k < r->nlive; k++) {
		const struct bracket *b = &r->br[r->live_idx[k]];
		v->live_brackets++;
		if (b->open_qty > 0) {
			v->open_positions++;
			v->position_qty += b->open_qty * b->dir;
		}
	}
	v->breaker_tripped = r->breaker != 0;
	v->breaker_reason = r->breaker_reason;
	v->kill_switch = r->kill != 0;
	v->connected = r->connected != 0;
	v->acked_clock_seq = r->acked_clock_seq;
	v->fwd_clock_seq = r->fwd_clock_seq;
	v->brackets = r->n_brackets;
	v->cancels = r->n_cancels;
	v->fills = r->n_fills;
	v->trades = r->n_trades;
	v->rejects_by_broker = r->n_rejects;
	v->unknown_broker = r->n_unknown;
	v->duplicates = r->n_dup;
	v->setups_known = r->set_count;
	v->acct = r->acct;
	v->acct_recv_ns = r->acct_recv_ns;
	v->broker_peak_cents = r->broker_peak;
	v->sizing_equity_cents = sizing_equity(r, &v->sizing_equity_src);
	v->account_stale = r->acct_stale_alerted != 0;
	v->margin_refusals = r->n_margin;
	v->account_holds = r->n_acct_hold;
}
