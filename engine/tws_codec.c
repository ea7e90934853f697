/* SPDX-License-Identifier: MIT */
/*
 * tws_codec.c: TWS API text codec at server version 200 (see tws_codec.h).
 * Field lists follow TWS_PROTOCOL.md sections 5 and 6 and are checked
 * byte-for-byte against the golden vectors in tests/data/tws_vectors/.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tws_codec.h"
#include "ringbuf/compiler.h"

static _Thread_local char tws_err[192];

const char *slob_tws_strerror(void)
{
	return tws_err;
}

static int fail(int rc, const char *fmt, ...) SLOB_PRINTF(2, 3);
static int fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tws_err, sizeof(tws_err), fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- writer ------------------------------------------------------------ */

void slob_tws_wr_begin(struct slob_tws_wr *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 4;
	w->err = cap < 4 ? -ENOSPC : 0;
}

static void wr_raw(struct slob_tws_wr *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		w->err = -ENOSPC;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->buf[w->len + n] = 0;
	w->len += n + 1;
}

void slob_tws_wr_str(struct slob_tws_wr *w, const char *s)
{
	if (s == NULL)
		s = "";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e) { /* ibapi client error 579 */
			if (!w->err)
				w->err = -EINVAL;
			return;
		}
	}
	wr_raw(w, s, n);
}

/* Decimal digits of v into the end of tmp[24]; returns the start. */
static char *fmt_u64(uint64_t v, char *end)
{
	char *p = end;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

void slob_tws_wr_int(struct slob_tws_wr *w, int64_t v)
{
	char tmp[24];
	char *end = tmp + sizeof(tmp);
	char *p = fmt_u64(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, end);
	if (v < 0)
		*--p = '-';
	wr_raw(w, p, (size_t)(end - p));
}

/* "-ip.frac" with the 6-digit fraction fp trimmed to at least one digit;
 * out has room for 32 bytes. Returns the length. */
static int fmt_fixed(char *out, bool neg, uint64_t ip, uint64_t fp)
{
	char tmp[24];
	char *end = tmp + sizeof(tmp);
	char *q = fmt_u64(ip, end);
	int n = 0;
	if (neg)
		out[n++] = '-';
	memcpy(out + n, q, (size_t)(end - q));
	n += (int)(end - q);
	out[n++] = '.';
	char fd[6];
	for (int i = 5; i >= 0; i--) {
		fd[i] = (char)('0' + fp % 10);
		fp /= 10;
	}
	int k = 6;
	while (k > 1 && fd[k - 1] == '0')
		k--;
	memcpy(out + n, fd, (size_t)k);
	n += k;
	out[n] = '\0';
	return n;
}

int slob_tws_fmt_double(double v, char *out, size_t cap)
{
	if (isnan(v)) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	if (v >= DBL_MAX)
		return snprintf(out, cap, "1.7976931348623157e+308");
	if (isinf(v))
		return snprintf(out, cap, v > 0 ? "inf" : "-inf");
	/*
	 * Fixed point by hand, no printf (its code is cold by the time a bracket
	 * is placed): whole values below 1e16 as "%.1f" prints them, and values
	 * below 1e9 with at most 6 decimals (prices) from the exact scaled
	 * integer, whose trimmed form is the shortest that reads back (Python
	 * repr).
	 */
	bool whole = v == floor(v) && fabs(v) < 1e16;
	if (cap < 32) {
		if (whole)
			return snprintf(out, cap, "%.1f", v);
	} else {
		double a = fabs(v);
		if (whole)
			return fmt_fixed(out, signbit(v), (uint64_t)a, 0);
		int64_t r = a < 1e9 ? llround(a * 1e6) : -1;
		if (r >= 0 && (double)r / 1e6 == a)
			return fmt_fixed(out, signbit(v), (uint64_t)r / 1000000, (uint64_t)r % 1000000);
	}
	/* shortest representation that reads back exactly (Python repr) */
	for (int prec = 1; prec <= 17; prec++) {
		int n = snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return n;
	}
	return snprintf(out, cap, "%.17g", v);
}

void slob_tws_wr_dbl(struct slob_tws_wr *w, double v)
{
	char tmp[40];
	int n = slob_tws_fmt_double(v, tmp, sizeof(tmp));
	wr_raw(w, tmp, (size_t)n);
}

int slob_tws_wr_end(struct slob_tws_wr *w)
{
	if (w->err)
		return w->err;
	uint32_t n = (uint32_t)(w->len - 4);
	w->buf[0] = (uint8_t)(n >> 24);
	w->buf[1] = (uint8_t)(n >> 16);
	w->buf[2] = (uint8_t)(n >> 8);
	w->buf[3] = (uint8_t)n;
	return (int)w->len;
}

/* ---- outgoing messages --------------------------------------------------- */

void slob_tws_contract_nq(struct slob_tws_contract *c, const char *yyyymm)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->symbol, "NQ");
	strcpy(c->sec_type, "FUT");
	snprintf(c->expiry, sizeof(c->expiry), "%s", yyyymm ? yyyymm : "");
	strcpy(c->exchange, "CME");
	strcpy(c->currency, "USD");
}

void slob_tws_order_init(struct slob_tws_order *o)
{
	memset(o, 0, sizeof(*o));
	o->lmt_price = NAN;
	o->aux_price = NAN;
	strcpy(o->tif, "DAY");
	o->transmit = true;
}

static void wr_strike(struct slob_tws_wr *w, double strike)
{
	if (strike == 0.0 || isnan(strike) || strike >= DBL_MAX)
		slob_tws_wr_str(w, ""); /* make_field_handle_empty(UNSET) */
	else
		slob_tws_wr_dbl(w, strike);
}

/* C11 + tradingClass. with_primary: placeOrder/reqMktData carry primaryExchange. */
static void wr_contract(struct slob_tws_wr *w, const struct slob_tws_contract *c)
{
	slob_tws_wr_int(w, c->con_id);
	slob_tws_wr_str(w, c->symbol);
	slob_tws_wr_str(w, c->sec_type);
	slob_tws_wr_str(w, c->expiry);
	wr_strike(w, c->strike);
	slob_tws_wr_str(w, c->right);
	slob_tws_wr_str(w, c->multiplier);
	slob_tws_wr_str(w, c->exchange);
	slob_tws_wr_str(w, c->primary_exchange);
	slob_tws_wr_str(w, c->currency);
	slob_tws_wr_str(w, c->local_symbol);
	slob_tws_wr_str(w, c->trading_class);
}

int slob_tws_enc_handshake(uint8_t *buf, size_t cap, int min_ver, int max_ver, const char *opts)
{
	char v[96];
	int n = opts && opts[0] ? snprintf(v, sizeof(v), "v%d..%d %s", min_ver, max_ver, opts)
				: snprintf(v, sizeof(v), "v%d..%d", min_ver, max_ver);
	if (n < 0 || (size_t)n >= sizeof(v))
		return -EINVAL;
	if (cap < 8 + (size_t)n)
		return -ENOSPC;
	memcpy(buf, "API\0", 4);
	buf[4] = (uint8_t)((unsigned)n >> 24);
	buf[5] = (uint8_t)((unsigned)n >> 16);
	buf[6] = (uint8_t)((unsigned)n >> 8);
	buf[7] = (uint8_t)n;
	memcpy(buf + 8, v, (size_t)n); /* no trailing NUL: not a field list */
	return 8 + n;
}

int slob_tws_enc_server_hello(uint8_t *buf, size_t cap, int version, const char *conn_time)
{
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, buf, cap);
	slob_tws_wr_int(&w, version);
	slob_tws_wr_str(&w, conn_time);
	return slob_tws_wr_end(&w);
}

#define BEGIN(id)                                                                                  \
	struct slob_tws_wr w;                                                                      \
	slob_tws_wr_begin(&w, buf, cap);                                                           \
	slob_tws_wr_int(&w, (id))

int slob_tws_enc_start_api(uint8_t *buf, size_t cap, int client_id, const char *opt_capab)
{
	BEGIN(SLOB_TWS_START_API);
	slob_tws_wr_int(&w, 2);
	slob_tws_wr_int(&w, client_id);
	slob_tws_wr_str(&w, opt_capab);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_ids(uint8_t *buf, size_t cap, int num_ids)
{
	BEGIN(SLOB_TWS_REQ_IDS);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, num_ids);
	return slob_tws_wr_end(&w);
}

static int enc_ver_only(uint8_t *buf, size_t cap, int id)
{
	BEGIN(id);
	slob_tws_wr_int(&w, 1);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_current_time(uint8_t *buf, size_t cap)
{
	return enc_ver_only(buf, cap, SLOB_TWS_REQ_CURRENT_TIME);
}

int slob_tws_enc_req_mkt_data(uint8_t *buf, size_t cap, int64_t req_id,
			      const struct slob_tws_contract *c, const char *generic_ticks,
			      bool snapshot, bool regulatory_snapshot)
{
	BEGIN(SLOB_TWS_REQ_MKT_DATA);
	slob_tws_wr_int(&w, 11);
	slob_tws_wr_int(&w, req_id);
	wr_contract(&w, c);
	slob_tws_wr_int(&w, 0); /* no delta-neutral contract */
	slob_tws_wr_str(&w, generic_ticks);
	slob_tws_wr_int(&w, snapshot);
	slob_tws_wr_int(&w, regulatory_snapshot);
	slob_tws_wr_str(&w, "");
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_cancel_mkt_data(uint8_t *buf, size_t cap, int64_t req_id)
{
	BEGIN(SLOB_TWS_CANCEL_MKT_DATA);
	slob_tws_wr_int(&w, 2);
	slob_tws_wr_int(&w, req_id);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_market_data_type(uint8_t *buf, size_t cap, int type)
{
	BEGIN(SLOB_TWS_REQ_MARKET_DATA_TYPE);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, type);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_tick_by_tick(uint8_t *buf, size_t cap, int64_t req_id,
				  const struct slob_tws_contract *c, const char *tick_type,
				  int n_ticks, bool ignore_size)
{
	BEGIN(SLOB_TWS_REQ_TICK_BY_TICK);
	slob_tws_wr_int(&w, req_id);
	wr_contract(&w, c);
	slob_tws_wr_str(&w, tick_type);
	slob_tws_wr_int(&w, n_ticks);
	slob_tws_wr_int(&w, ignore_size);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_cancel_tick_by_tick(uint8_t *buf, size_t cap, int64_t req_id)
{
	BEGIN(SLOB_TWS_CANCEL_TICK_BY_TICK);
	slob_tws_wr_int(&w, req_id);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_real_time_bars(uint8_t *buf, size_t cap, int64_t req_id,
				    const struct slob_tws_contract *c, const char *what_to_show,
				    bool use_rth)
{
	BEGIN(SLOB_TWS_REQ_REAL_TIME_BARS);
	slob_tws_wr_int(&w, 3);
	slob_tws_wr_int(&w, req_id);
	wr_contract(&w, c);
	slob_tws_wr_int(&w, 5);
	slob_tws_wr_str(&w, what_to_show);
	slob_tws_wr_int(&w, use_rth);
	slob_tws_wr_str(&w, "");
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_cancel_real_time_bars(uint8_t *buf, size_t cap, int64_t req_id)
{
	BEGIN(SLOB_TWS_CANCEL_REAL_TIME_BARS);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, req_id);
	return slob_tws_wr_end(&w);
}

static void wr_fixed(struct slob_tws_wr *w, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wr_raw(w, fields[i], strlen(fields[i]));
}

#define DMAX "1.7976931348623157e+308"
#define IMAX "2147483647"

int slob_tws_enc_place_order(uint8_t *buf, size_t cap, const struct slob_tws_contract *c,
			     const struct slob_tws_order *o)
{
	/* field numbers as in TWS_PROTOCOL.md 5.1 */
	static const char *const f29_32[] = {"0", "0", "0", "0"};
	static const char *const f34_45[] = {"0", "", "0", "", "", "", "", "", "", "0", "", "-1"};
	/* fields 47..118 are constant for our orders: one NUL-separated block */
	static const char f47_118[] =
		"\0" "\0" "0\0" "\0" "\0" "0\0" "0\0" "\0" "0\0" "\0" "\0" "\0" "\0" "\0" "0\0" "\0" "\0"
		"\0" "\0" "0\0" "\0" "\0" "\0" "\0" "\0" "\0" "\0" "\0" "\0" "\0" "0\0" "\0" "\0" "0\0" "0\0"
		"\0" "\0" "0\0" "\0" "0\0" "0\0" "0\0" "0\0" "\0" "1.7976931348623157e+308\0"
		"1.7976931348623157e+308\0" "1.7976931348623157e+308\0" "1.7976931348623157e+308\0"
		"1.7976931348623157e+308\0" "0\0" "\0" "\0" "\0" "1.7976931348623157e+308\0" "\0" "\0" "\0"
		"\0" "0\0" "0\0" "0\0" "\0" "2147483647\0" "2147483647\0" "0\0" "\0" "\0" "\0" "0\0" "0\0"
		"2147483647\0" "0\0";

	BEGIN(SLOB_TWS_PLACE_ORDER);
	slob_tws_wr_int(&w, o->order_id);                 /* 1 */
	wr_contract(&w, c);                               /* 2..13 */
	slob_tws_wr_str(&w, "");                          /* 14 secIdType */
	slob_tws_wr_str(&w, "");                          /* 15 secId */
	slob_tws_wr_str(&w, o->action);                   /* 16 */
	slob_tws_wr_int(&w, o->qty);                      /* 17 */
	slob_tws_wr_str(&w, o->order_type);               /* 18 */
	slob_tws_wr_dbl(&w, o->lmt_price);                /* 19 (NAN: empty) */
	slob_tws_wr_dbl(&w, o->aux_price);                /* 20 */
	slob_tws_wr_str(&w, o->tif);                      /* 21 */
	slob_tws_wr_str(&w, o->oca_group);                /* 22 */
	slob_tws_wr_str(&w, o->account);                  /* 23 */
	slob_tws_wr_str(&w, "");                          /* 24 openClose */
	slob_tws_wr_int(&w, 0);                           /* 25 origin customer */
	slob_tws_wr_str(&w, o->order_ref);                /* 26 */
	slob_tws_wr_int(&w, o->transmit);                 /* 27 */
	slob_tws_wr_int(&w, o->parent_id);                /* 28 */
	wr_fixed(&w, f29_32, 4);                          /* 29..32 */
	slob_tws_wr_int(&w, o->outside_rth);              /* 33 */
	wr_fixed(&w, f34_45, 12);                         /* 34..45 */
	slob_tws_wr_int(&w, o->oca_type);                 /* 46 */
	if (!w.err && w.len + sizeof(f47_118) - 1 <= w.cap) {  /* 47..118 */
		memcpy(w.buf + w.len, f47_118, sizeof(f47_118) - 1);
		if (o->what_if) { /* field 84 is "0" in the block: same length as "1" */
			size_t at = w.len;
			for (int nul = 0; nul < 84 - 47; at++)
				nul += w.buf[at] == '\0';
			w.buf[at] = '1';
		}
		w.len += sizeof(f47_118) - 1;
	} else if (!w.err) {
		w.err = -ENOSPC;
	}
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_cancel_order(uint8_t *buf, size_t cap, int64_t order_id)
{
	BEGIN(SLOB_TWS_CANCEL_ORDER);
	slob_tws_wr_int(&w, order_id);
	slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, "");
	slob_tws_wr_int(&w, SLOB_TWS_UNSET_INT);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_open_orders(uint8_t *buf, size_t cap)
{
	return enc_ver_only(buf, cap, SLOB_TWS_REQ_OPEN_ORDERS);
}

int slob_tws_enc_req_all_open_orders(uint8_t *buf, size_t cap)
{
	return enc_ver_only(buf, cap, SLOB_TWS_REQ_ALL_OPEN_ORDERS);
}

int slob_tws_enc_req_auto_open_orders(uint8_t *buf, size_t cap, bool auto_bind)
{
	BEGIN(SLOB_TWS_REQ_AUTO_OPEN_ORDERS);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, auto_bind);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_executions(uint8_t *buf, size_t cap, int64_t req_id,
				const struct slob_tws_exec_filter *f)
{
	BEGIN(SLOB_TWS_REQ_EXECUTIONS);
	slob_tws_wr_int(&w, 3);
	slob_tws_wr_int(&w, req_id);
	slob_tws_wr_int(&w, f ? f->client_id : 0);
	slob_tws_wr_str(&w, f ? f->account : "");
	slob_tws_wr_str(&w, f ? f->time : "");
	slob_tws_wr_str(&w, f ? f->symbol : "");
	slob_tws_wr_str(&w, f ? f->sec_type : "");
	slob_tws_wr_str(&w, f ? f->exchange : "");
	slob_tws_wr_str(&w, f ? f->side : "");
	slob_tws_wr_int(&w, f ? f->last_n_days : SLOB_TWS_UNSET_INT);
	slob_tws_wr_int(&w, 0); /* specific dates: none */
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_positions(uint8_t *buf, size_t cap)
{
	return enc_ver_only(buf, cap, SLOB_TWS_REQ_POSITIONS);
}

int slob_tws_enc_cancel_positions(uint8_t *buf, size_t cap)
{
	return enc_ver_only(buf, cap, SLOB_TWS_CANCEL_POSITIONS);
}

int slob_tws_enc_req_account_updates(uint8_t *buf, size_t cap, bool subscribe, const char *acct)
{
	BEGIN(SLOB_TWS_REQ_ACCT_DATA);
	slob_tws_wr_int(&w, 2);
	slob_tws_wr_int(&w, subscribe);
	slob_tws_wr_str(&w, acct);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_account_summary(uint8_t *buf, size_t cap, int64_t req_id, const char *group,
				     const char *tags)
{
	BEGIN(SLOB_TWS_REQ_ACCOUNT_SUMMARY);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, req_id);
	slob_tws_wr_str(&w, group);
	slob_tws_wr_str(&w, tags);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_cancel_account_summary(uint8_t *buf, size_t cap, int64_t req_id)
{
	BEGIN(SLOB_TWS_CANCEL_ACCOUNT_SUMMARY);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, req_id);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_managed_accts(uint8_t *buf, size_t cap)
{
	return enc_ver_only(buf, cap, SLOB_TWS_REQ_MANAGED_ACCTS);
}

int slob_tws_enc_req_global_cancel(uint8_t *buf, size_t cap)
{
	BEGIN(SLOB_TWS_REQ_GLOBAL_CANCEL);
	slob_tws_wr_str(&w, "");
	slob_tws_wr_int(&w, SLOB_TWS_UNSET_INT);
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_req_contract_details(uint8_t *buf, size_t cap, int64_t req_id,
				      const struct slob_tws_contract *c)
{
	BEGIN(SLOB_TWS_REQ_CONTRACT_DATA);
	slob_tws_wr_int(&w, 8);
	slob_tws_wr_int(&w, req_id);
	slob_tws_wr_int(&w, c->con_id);
	slob_tws_wr_str(&w, c->symbol);
	slob_tws_wr_str(&w, c->sec_type);
	slob_tws_wr_str(&w, c->expiry);
	slob_tws_wr_dbl(&w, isnan(c->strike) ? 0.0 : c->strike); /* make_field(0.0): "0.0" */
	slob_tws_wr_str(&w, c->right);
	slob_tws_wr_str(&w, c->multiplier);
	slob_tws_wr_str(&w, c->exchange);
	slob_tws_wr_str(&w, c->primary_exchange);
	slob_tws_wr_str(&w, c->currency);
	slob_tws_wr_str(&w, c->local_symbol);
	slob_tws_wr_str(&w, c->trading_class);
	slob_tws_wr_int(&w, 0); /* includeExpired */
	slob_tws_wr_str(&w, ""); /* secIdType */
	slob_tws_wr_str(&w, ""); /* secId */
	slob_tws_wr_str(&w, ""); /* issuerId */
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_contract_details(uint8_t *buf, size_t cap, int64_t req_id,
				  const struct slob_tws_contract_details *d)
{
	const struct slob_tws_contract *c = &d->c;
	BEGIN(SLOB_TWS_CONTRACT_DATA);
	slob_tws_wr_int(&w, req_id);               /* 1 (no version at 164 and above) */
	slob_tws_wr_str(&w, c->symbol);            /* 2 */
	slob_tws_wr_str(&w, c->sec_type);          /* 3 */
	slob_tws_wr_str(&w, d->last_trade_date);   /* 4 lastTradeDateOrContractMonth */
	slob_tws_wr_str(&w, d->last_trade_date);   /* 5 lastTradeDate (182 and above) */
	slob_tws_wr_dbl(&w, c->strike);            /* 6 */
	slob_tws_wr_str(&w, c->right);             /* 7 */
	slob_tws_wr_str(&w, c->exchange);          /* 8 */
	slob_tws_wr_str(&w, c->currency);          /* 9 */
	slob_tws_wr_str(&w, c->local_symbol);      /* 10 */
	slob_tws_wr_str(&w, d->market_name);       /* 11 */
	slob_tws_wr_str(&w, c->trading_class);     /* 12 */
	slob_tws_wr_int(&w, c->con_id);            /* 13 */
	slob_tws_wr_dbl(&w, d->min_tick);          /* 14 */
	slob_tws_wr_str(&w, c->multiplier);        /* 15 */
	slob_tws_wr_str(&w, "LMT,MKT,STP");        /* 16 orderTypes */
	slob_tws_wr_str(&w, c->exchange);          /* 17 validExchanges */
	slob_tws_wr_int(&w, 1);                    /* 18 priceMagnifier */
	slob_tws_wr_int(&w, 0);                    /* 19 underConId */
	slob_tws_wr_str(&w, d->long_name);         /* 20 */
	slob_tws_wr_str(&w, c->primary_exchange);  /* 21 */
	slob_tws_wr_str(&w, c->expiry);            /* 22 contractMonth */
	slob_tws_wr_str(&w, "");                   /* 23 industry */
	slob_tws_wr_str(&w, "");                   /* 24 category */
	slob_tws_wr_str(&w, "");                   /* 25 subcategory */
	slob_tws_wr_str(&w, d->time_zone);         /* 26 */
	slob_tws_wr_str(&w, d->trading_hours);     /* 27 */
	slob_tws_wr_str(&w, d->liquid_hours);      /* 28 */
	slob_tws_wr_str(&w, "");                   /* 29 evRule */
	slob_tws_wr_int(&w, 0);                    /* 30 evMultiplier */
	slob_tws_wr_int(&w, 0);                    /* 31 secIdList count */
	slob_tws_wr_int(&w, 0);                    /* 32 aggGroup */
	slob_tws_wr_str(&w, c->symbol);            /* 33 underSymbol */
	slob_tws_wr_str(&w, "IND");                /* 34 underSecType */
	slob_tws_wr_str(&w, "");                   /* 35 marketRuleIds */
	slob_tws_wr_str(&w, d->last_trade_date);   /* 36 realExpirationDate */
	slob_tws_wr_str(&w, "");                   /* 37 stockType */
	slob_tws_wr_str(&w, "1");                  /* 38 minSize */
	slob_tws_wr_str(&w, "1");                  /* 39 sizeIncrement */
	slob_tws_wr_str(&w, "1");                  /* 40 suggestedSizeIncrement */
	slob_tws_wr_int(&w, 0);                    /* 41 ineligibility reasons */
	return slob_tws_wr_end(&w);
}

int slob_tws_enc_contract_details_end(uint8_t *buf, size_t cap, int64_t req_id)
{
	BEGIN(SLOB_TWS_CONTRACT_DATA_END);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, req_id);
	return slob_tws_wr_end(&w);
}

/* ---- incoming ------------------------------------------------------------ */

int slob_tws_frame_len(const uint8_t *buf, size_t avail, uint32_t max_payload)
{
	if (avail < 4)
		return 0;
	uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (max_payload > SLOB_TWS_MAX_FRAME)
		max_payload = SLOB_TWS_MAX_FRAME;
	if (n == 0 || n > max_payload)
		return fail(-EMSGSIZE, "frame length %" PRIu32 " outside 1..%" PRIu32, n,
			    max_payload);
	if (avail < 4 + (size_t)n)
		return 0;
	return (int)(4 + n);
}

int slob_tws_split(const uint8_t *payload, size_t len, const char **fields, unsigned max)
{
	if (len == 0 || payload[len - 1] != 0)
		return fail(-EBADMSG, "payload of %zu bytes does not end with a NUL field separator",
			    len);
	unsigned n = 0;
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (payload[i] != 0)
			continue;
		if (n < max)
			fields[n] = (const char *)payload + start;
		n++;
		start = i + 1;
	}
	return (int)(n < max ? n : max);
}

int slob_tws_parse_i64(const char *s, int64_t *out)
{
	if (s[0] == '\0') {
		*out = 0;
		return 0;
	}
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+') {
		neg = *p == '-';
		p++;
	}
	if (*p == '\0')
		return -EINVAL;
	uint64_t v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -EINVAL;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -EINVAL;
		*out = (int64_t)v;
	}
	return 0;
}

int slob_tws_parse_dbl(const char *s, double *out)
{
	if (s[0] == '\0') {
		*out = 0;
		return 0;
	}
	if (strcmp(s, "Infinity") == 0) {
		*out = INFINITY;
		return 0;
	}
	/* fast path: [-]digits[.digits], <= 15 significant digits: exact integer
	 * over an exact power of ten, one correctly rounded division = strtod */
	{
		static const double p10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
					       1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
		const char *p = s;
		bool neg = *p == '-';
		if (neg)
			p++;
		uint64_t m = 0;
		int digits = 0, frac = -1;
		for (; *p; p++) {
			if (*p >= '0' && *p <= '9') {
				m = m * 10 + (uint64_t)(*p - '0');
				digits++;
				if (frac >= 0)
					frac++;
			} else if (*p == '.' && frac < 0) {
				frac = 0;
			} else {
				break;
			}
			if (digits > 15)
				break;
		}
		if (*p == '\0' && digits > 0 && digits <= 15) {
			double v = (double)m / p10[frac < 0 ? 0 : frac];
			*out = neg ? -v : v;
			return 0;
		}
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || isnan(v))
		return -EINVAL;
	*out = v;
	return 0;
}

const char *slob_tws_in_name(int kind)
{
	switch (kind) {
	case SLOB_TWS_TICK_PRICE: return "tickPrice";
	case SLOB_TWS_TICK_SIZE: return "tickSize";
	case SLOB_TWS_ORDER_STATUS: return "orderStatus";
	case SLOB_TWS_ERR_MSG: return "error";
	case SLOB_TWS_OPEN_ORDER: return "openOrder";
	case SLOB_TWS_ACCT_VALUE: return "updateAccountValue";
	case SLOB_TWS_PORTFOLIO_VALUE: return "portfolioValue";
	case SLOB_TWS_ACCT_UPDATE_TIME: return "updateAccountTime";
	case SLOB_TWS_NEXT_VALID_ID: return "nextValidId";
	case SLOB_TWS_CONTRACT_DATA: return "contractDetails";
	case SLOB_TWS_EXECUTION_DATA: return "execDetails";
	case SLOB_TWS_MANAGED_ACCTS: return "managedAccounts";
	case SLOB_TWS_TICK_GENERIC: return "tickGeneric";
	case SLOB_TWS_TICK_STRING: return "tickString";
	case SLOB_TWS_CURRENT_TIME: return "currentTime";
	case SLOB_TWS_REAL_TIME_BARS: return "realtimeBar";
	case SLOB_TWS_CONTRACT_DATA_END: return "contractDetailsEnd";
	case SLOB_TWS_OPEN_ORDER_END: return "openOrderEnd";
	case SLOB_TWS_ACCT_DOWNLOAD_END: return "accountDownloadEnd";
	case SLOB_TWS_EXECUTION_DATA_END: return "execDetailsEnd";
	case SLOB_TWS_TICK_SNAPSHOT_END: return "tickSnapshotEnd";
	case SLOB_TWS_MARKET_DATA_TYPE: return "marketDataType";
	case SLOB_TWS_COMMISSION_REPORT: return "commissionAndFeesReport";
	case SLOB_TWS_POSITION_DATA: return "position";
	case SLOB_TWS_POSITION_END: return "positionEnd";
	case SLOB_TWS_ACCOUNT_SUMMARY: return "accountSummary";
	case SLOB_TWS_ACCOUNT_SUMMARY_END: return "accountSummaryEnd";
	case SLOB_TWS_TICK_REQ_PARAMS: return "tickReqParams";
	case SLOB_TWS_TICK_BY_TICK: return "tickByTick";
	case SLOB_TWS_ORDER_BOUND: return "orderBound";
	case SLOB_TWS_COMPLETED_ORDER: return "completedOrder";
	default: return "unknown";
	}
}

bool slob_tws_known(int kind)
{
	switch (kind) {
	case SLOB_TWS_PORTFOLIO_VALUE:
	case SLOB_TWS_TICK_REQ_PARAMS:
	case SLOB_TWS_COMPLETED_ORDER:
		return false; /* fields available raw only */
	default:
		return strcmp(slob_tws_in_name(kind), "unknown") != 0;
	}
}

/* Decoding context: fields after the id are 1-based, as in the docs. */
struct dctx {
	struct slob_tws_in *m;
	int rc;
};

static const char *S(struct dctx *d, unsigned i)
{
	return i <= d->m->nfields ? d->m->f[i] : "";
}

static int64_t I(struct dctx *d, unsigned i)
{
	int64_t v = 0;
	if (d->rc == 0 && slob_tws_parse_i64(S(d, i), &v) != 0)
		d->rc = fail(-EBADMSG, "%s: field %u '%.24s' is not an integer",
			     slob_tws_in_name(d->m->kind), i, S(d, i));
	return v;
}

static double D(struct dctx *d, unsigned i)
{
	double v = 0;
	if (d->rc == 0 && slob_tws_parse_dbl(S(d, i), &v) != 0)
		d->rc = fail(-EBADMSG, "%s: field %u '%.24s' is not a number",
			     slob_tws_in_name(d->m->kind), i, S(d, i));
	return v;
}

/* Double where empty or DBL_MAX means unset -> NAN. */
static double DU(struct dctx *d, unsigned i)
{
	if (S(d, i)[0] == '\0')
		return NAN;
	double v = D(d, i);
	return v >= DBL_MAX ? NAN : v;
}

/* Lenient double for text fields (what-if margins): anything else -> NAN. */
static double DT(struct dctx *d, unsigned i)
{
	double v;
	if (i > d->m->nfields || S(d, i)[0] == '\0' || slob_tws_parse_dbl(S(d, i), &v) != 0)
		return NAN;
	return isfinite(v) && v < DBL_MAX && v > -DBL_MAX ? v : NAN;
}

static int need(struct dctx *d, unsigned n)
{
	if (d->m->nfields < n)
		return d->rc = fail(-EBADMSG, "%s: %u fields, need at least %u",
				    slob_tws_in_name(d->m->kind), d->m->nfields, n);
	return 0;
}

/* conId, symbol, secType, expiry, strike, right, multiplier, exchange, currency,
 * localSymbol, tradingClass starting at field i (no primaryExchange). */
static void contract_view(struct dctx *d, unsigned i, struct slob_tws_contract_view *c,
			  bool has_exchange)
{
	c->con_id = I(d, i);
	c->symbol = S(d, i + 1);
	c->sec_type = S(d, i + 2);
	c->expiry = S(d, i + 3);
	c->strike = D(d, i + 4);
	c->right = S(d, i + 5);
	c->multiplier = S(d, i + 6);
	unsigned k = i + 7;
	c->exchange = has_exchange ? S(d, k++) : "";
	c->currency = S(d, k);
	c->local_symbol = S(d, k + 1);
	c->trading_class = S(d, k + 2);
}

int slob_tws_decode(const uint8_t *payload, size_t len, struct slob_tws_in *m)
{
	int n = slob_tws_split(payload, len, m->f, SLOB_TWS_MAX_FIELDS);
	if (n < 0)
		return n;
	int64_t id;
	if (slob_tws_parse_i64(m->f[0], &id) != 0 || id <= 0 || id > 100000)
		return fail(-EBADMSG, "message id '%.24s' is not a valid id", m->f[0]);
	m->kind = (int)id;
	m->nfields = (uint32_t)n - 1;
	memset(&m->u, 0, sizeof(m->u));
	struct dctx d = {.m = m, .rc = 0};
	switch (m->kind) {
	case SLOB_TWS_NEXT_VALID_ID:
		if (!need(&d, 2))
			m->u.next_valid_id.order_id = I(&d, 2);
		break;
	case SLOB_TWS_MANAGED_ACCTS:
		if (!need(&d, 2))
			m->u.managed_accounts.accounts = S(&d, 2);
		break;
	case SLOB_TWS_CURRENT_TIME:
		if (!need(&d, 2))
			m->u.current_time.epoch_s = I(&d, 2);
		break;
	case SLOB_TWS_ERR_MSG:
		if (!need(&d, 3)) {
			m->u.error.req_id = I(&d, 1);
			m->u.error.code = (int32_t)I(&d, 2);
			m->u.error.text = S(&d, 3);
			m->u.error.advanced = S(&d, 4);
			m->u.error.time_ms = I(&d, 5);
		}
		break;
	case SLOB_TWS_TICK_PRICE:
		if (!need(&d, 6)) {
			m->u.tick_price.req_id = I(&d, 2);
			m->u.tick_price.tick_type = (int32_t)I(&d, 3);
			m->u.tick_price.price = D(&d, 4);
			m->u.tick_price.size = DU(&d, 5);
			m->u.tick_price.attr = (int32_t)I(&d, 6);
		}
		break;
	case SLOB_TWS_TICK_SIZE:
		if (!need(&d, 4)) {
			m->u.tick_size.req_id = I(&d, 2);
			m->u.tick_size.tick_type = (int32_t)I(&d, 3);
			m->u.tick_size.size = DU(&d, 4);
		}
		break;
	case SLOB_TWS_TICK_GENERIC:
		if (!need(&d, 4)) {
			m->u.tick_generic.req_id = I(&d, 2);
			m->u.tick_generic.tick_type = (int32_t)I(&d, 3);
			m->u.tick_generic.value = D(&d, 4);
		}
		break;
	case SLOB_TWS_TICK_STRING:
		if (!need(&d, 4)) {
			m->u.tick_string.req_id = I(&d, 2);
			m->u.tick_string.tick_type = (int32_t)I(&d, 3);
			m->u.tick_string.value = S(&d, 4);
		}
		break;
	case SLOB_TWS_MARKET_DATA_TYPE:
		if (!need(&d, 3)) {
			m->u.market_data_type.req_id = I(&d, 2);
			m->u.market_data_type.type = (int32_t)I(&d, 3);
		}
		break;
	case SLOB_TWS_TICK_BY_TICK: {
		if (need(&d, 3))
			break;
		__typeof__(m->u.tick_by_tick) *t = &m->u.tick_by_tick;
		t->req_id = I(&d, 1);
		t->tick_type = (int32_t)I(&d, 2);
		t->time = I(&d, 3);
		t->exchange = t->special = "";
		switch (t->tick_type) {
		case SLOB_TWS_TBT_LAST:
		case SLOB_TWS_TBT_ALL_LAST:
			if (need(&d, 8))
				break;
			t->price = D(&d, 4);
			t->size = DU(&d, 5);
			t->mask = (int32_t)I(&d, 6);
			t->exchange = S(&d, 7);
			t->special = S(&d, 8);
			break;
		case SLOB_TWS_TBT_BID_ASK:
			if (need(&d, 8))
				break;
			t->bid = D(&d, 4);
			t->ask = D(&d, 5);
			t->bid_size = DU(&d, 6);
			t->ask_size = DU(&d, 7);
			t->mask = (int32_t)I(&d, 8);
			break;
		case SLOB_TWS_TBT_MIDPOINT:
			if (need(&d, 4))
				break;
			t->mid = D(&d, 4);
			break;
		default:
			d.rc = fail(-EBADMSG, "tickByTick: unknown tick type %d", t->tick_type);
		}
		break;
	}
	case SLOB_TWS_REAL_TIME_BARS:
		if (!need(&d, 10)) {
			m->u.rt_bar.req_id = I(&d, 2);
			m->u.rt_bar.time = I(&d, 3);
			m->u.rt_bar.open = D(&d, 4);
			m->u.rt_bar.high = D(&d, 5);
			m->u.rt_bar.low = D(&d, 6);
			m->u.rt_bar.close = D(&d, 7);
			m->u.rt_bar.volume = DU(&d, 8);
			m->u.rt_bar.wap = DU(&d, 9);
			m->u.rt_bar.count = I(&d, 10);
		}
		break;
	case SLOB_TWS_ORDER_STATUS:
		if (!need(&d, 11)) {
			__typeof__(m->u.order_status) *o = &m->u.order_status;
			o->order_id = I(&d, 1);
			o->status = S(&d, 2);
			o->filled = DU(&d, 3);
			o->remaining = DU(&d, 4);
			o->avg_fill_price = D(&d, 5);
			o->perm_id = I(&d, 6);
			o->parent_id = I(&d, 7);
			o->last_fill_price = D(&d, 8);
			o->client_id = I(&d, 9);
			o->why_held = S(&d, 10);
			o->mkt_cap_price = D(&d, 11);
		}
		break;
	case SLOB_TWS_OPEN_ORDER:
		if (!need(&d, 85)) {
			__typeof__(m->u.open_order) *o = &m->u.open_order;
			o->order_id = I(&d, 1);
			contract_view(&d, 2, &o->c, true);
			o->action = S(&d, 13);
			o->qty = DU(&d, 14);
			o->order_type = S(&d, 15);
			o->lmt_price = DU(&d, 16);
			o->aux_price = DU(&d, 17);
			o->tif = S(&d, 18);
			o->oca_group = S(&d, 19);
			o->account = S(&d, 20);
			o->order_ref = S(&d, 23);
			o->client_id = I(&d, 24);
			o->perm_id = I(&d, 25);
			o->parent_id = I(&d, 57);
			o->what_if = strcmp(S(&d, 84), "1") == 0;
			o->status = S(&d, 85);
			o->init_margin_before = DT(&d, 86);
			o->maint_margin_before = DT(&d, 87);
			o->equity_with_loan_before = DT(&d, 88);
			o->init_margin_change = DT(&d, 89);
			o->maint_margin_change = DT(&d, 90);
			o->equity_with_loan_change = DT(&d, 91);
			o->init_margin_after = DT(&d, 92);
			o->maint_margin_after = DT(&d, 93);
			o->equity_with_loan_after = DT(&d, 94);
		}
		break;
	case SLOB_TWS_EXECUTION_DATA:
		if (!need(&d, 26)) {
			__typeof__(m->u.exec) *e = &m->u.exec;
			e->req_id = I(&d, 1);
			e->order_id = I(&d, 2);
			contract_view(&d, 3, &e->c, true);
			e->exec_id = S(&d, 14);
			e->time = S(&d, 15);
			e->account = S(&d, 16);
			e->exchange = S(&d, 17);
			e->side = S(&d, 18);
			e->shares = DU(&d, 19);
			e->price = D(&d, 20);
			e->perm_id = I(&d, 21);
			e->client_id = I(&d, 22);
			e->cum_qty = DU(&d, 24);
			e->avg_price = D(&d, 25);
			e->order_ref = S(&d, 26);
		}
		break;
	case SLOB_TWS_CONTRACT_DATA:
		/* version 200: no version field (164 and above), lastTradeDate after
		 * the expiry (182 and above), no mdSizeMultiplier */
		if (!need(&d, 31)) {
			__typeof__(m->u.contract_data) *k = &m->u.contract_data;
			k->req_id = I(&d, 1);
			k->c.symbol = S(&d, 2);
			k->c.sec_type = S(&d, 3);
			k->c.expiry = S(&d, 4);
			k->last_trade_date = S(&d, 5);
			k->c.strike = D(&d, 6);
			k->c.right = S(&d, 7);
			k->c.exchange = S(&d, 8);
			k->c.currency = S(&d, 9);
			k->c.local_symbol = S(&d, 10);
			k->market_name = S(&d, 11);
			k->c.trading_class = S(&d, 12);
			k->c.con_id = I(&d, 13);
			k->min_tick = D(&d, 14);
			k->c.multiplier = S(&d, 15);
			k->long_name = S(&d, 20);
			k->contract_month = S(&d, 22);
			k->time_zone = S(&d, 26);
			k->trading_hours = S(&d, 27);
			k->liquid_hours = S(&d, 28);
		}
		break;
	case SLOB_TWS_EXECUTION_DATA_END:
	case SLOB_TWS_ACCOUNT_SUMMARY_END:
	case SLOB_TWS_CONTRACT_DATA_END:
	case SLOB_TWS_TICK_SNAPSHOT_END:
		if (!need(&d, 2))
			m->u.end.req_id = I(&d, 2);
		break;
	case SLOB_TWS_OPEN_ORDER_END:
	case SLOB_TWS_POSITION_END:
		(void)need(&d, 1);
		break;
	case SLOB_TWS_COMMISSION_REPORT:
		if (!need(&d, 5)) {
			m->u.commission.exec_id = S(&d, 2);
			m->u.commission.commission = DU(&d, 3);
			m->u.commission.currency = S(&d, 4);
			m->u.commission.realized_pnl = DU(&d, 5);
		}
		break;
	case SLOB_TWS_POSITION_DATA:
		if (!need(&d, 15)) {
			if (I(&d, 1) != 3 && d.rc == 0)
				d.rc = fail(-EBADMSG, "position: version %s, expected 3", S(&d, 1));
			m->u.position.account = S(&d, 2);
			contract_view(&d, 3, &m->u.position.c, true);
			m->u.position.position = DU(&d, 14);
			m->u.position.avg_cost = D(&d, 15);
		}
		break;
	case SLOB_TWS_ACCOUNT_SUMMARY:
		if (!need(&d, 6)) {
			m->u.account_summary.req_id = I(&d, 2);
			m->u.account_summary.account = S(&d, 3);
			m->u.account_summary.tag = S(&d, 4);
			m->u.account_summary.value = S(&d, 5);
			m->u.account_summary.currency = S(&d, 6);
		}
		break;
	case SLOB_TWS_ACCT_VALUE:
		if (!need(&d, 5)) {
			m->u.account_value.key = S(&d, 2);
			m->u.account_value.value = S(&d, 3);
			m->u.account_value.currency = S(&d, 4);
			m->u.account_value.account = S(&d, 5);
		}
		break;
	case SLOB_TWS_ACCT_UPDATE_TIME:
		if (!need(&d, 2))
			m->u.account_time.time = S(&d, 2);
		break;
	case SLOB_TWS_ACCT_DOWNLOAD_END:
		if (!need(&d, 2))
			m->u.account_end.account = S(&d, 2);
		break;
	case SLOB_TWS_ORDER_BOUND:
		if (!need(&d, 3)) {
			m->u.order_bound.perm_id = I(&d, 1);
			m->u.order_bound.client_id = I(&d, 2);
			m->u.order_bound.order_id = I(&d, 3);
		}
		break;
	default:
		break; /* unknown or raw-only: fields in m->f */
	}
	return d.rc;
}

int slob_tws_decode_server_hello(const uint8_t *payload, size_t len, int *version,
				 const char **conn_time)
{
	const char *f[4];
	int n = slob_tws_split(payload, len, f, 4);
	if (n < 0)
		return n;
	int64_t v;
	if (n != 2 || slob_tws_parse_i64(f[0], &v) != 0 || v <= 0 || v > 100000)
		return fail(-EBADMSG, "handshake reply: expected <version>\\0<time>\\0, got %d fields",
			    n);
	*version = (int)v;
	*conn_time = f[1];
	return 0;
}

int slob_tws_decode_client_hello(const uint8_t *buf, size_t avail, int *min_ver, int *max_ver)
{
	size_t k = avail < 4 ? avail : 4;
	if (memcmp(buf, "API\0", k) != 0)
		return fail(-EBADMSG, "client handshake does not start with API\\0");
	if (avail < 8)
		return 0;
	uint32_t n = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	if (n == 0 || n > 256)
		return fail(-EBADMSG, "client handshake version string length %" PRIu32, n);
	if (avail < 8 + (size_t)n)
		return 0;
	char v[260];
	memcpy(v, buf + 8, n);
	v[n] = '\0';
	int a, b;
	if (sscanf(v, "v%d..%d", &a, &b) != 2 || a <= 0 || b < a)
		return fail(-EBADMSG, "client handshake '%.40s' is not v<min>..<max>", v);
	*min_ver = a;
	*max_ver = b;
	return (int)(8 + n);
}
