/* SPDX-License-Identifier: MIT */
/*
 * tws_codec.h: encoder and decoder for the subset of the TWS / IB Gateway
 * socket API that slob uses (docs/TWS.md, TWS_PROTOCOL.md), at negotiated
 * server version 200, the last all-text version. No I/O, no allocation:
 * encoders write into caller buffers, the decoder returns views (const char *)
 * into the caller's frame buffer, valid as long as that buffer is.
 *
 * Framing: [uint32 big-endian length N][N bytes: NUL-terminated text fields].
 * The first field of a message is its decimal id (except the server's
 * handshake reply, which has no id).
 *
 * Design notes
 *  1. Every encoder returns the number of bytes written (length prefix
 *     included) or -ENOSPC when the buffer is too small (nothing usable then).
 *     Text fields with non-printable bytes or NULs are refused (-EINVAL), as
 *     ibapi does (client error 579).
 *  2. The decoder never trusts the peer: a length of 0 or above the caller's
 *     limit is -EMSGSIZE, a payload that does not end in NUL, a non-numeric
 *     numeric field or too few fields is -EBADMSG; the reason (message name,
 *     field index) is in slob_tws_strerror(). Callers close the connection.
 *  3. Unknown message ids decode to kind = their id with no typed fields
 *     (slob_tws_known() false); callers skip them.
 *  4. Thread-safe: no state except the thread-local error string.
 */
#ifndef SLOB_TWS_CODEC_H
#define SLOB_TWS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLOB_TWS_VERSION 200          /* the only server version we speak */
#define SLOB_TWS_MIN_VERSION 100      /* advertised range v100..200 */
#define SLOB_TWS_MAX_FIELDS 256       /* fields kept per message (rest ignored) */
#define SLOB_TWS_MAX_FRAME 0xFFFFFFu  /* ibapi MAX_MSG_LEN */
#define SLOB_TWS_UNSET_INT 2147483647

/* Outgoing message ids. */
enum slob_tws_out_id {
	SLOB_TWS_REQ_MKT_DATA = 1, SLOB_TWS_CANCEL_MKT_DATA = 2, SLOB_TWS_PLACE_ORDER = 3,
	SLOB_TWS_CANCEL_ORDER = 4, SLOB_TWS_REQ_OPEN_ORDERS = 5, SLOB_TWS_REQ_ACCT_DATA = 6,
	SLOB_TWS_REQ_EXECUTIONS = 7, SLOB_TWS_REQ_IDS = 8, SLOB_TWS_REQ_CONTRACT_DATA = 9,
	SLOB_TWS_REQ_AUTO_OPEN_ORDERS = 15, SLOB_TWS_REQ_ALL_OPEN_ORDERS = 16,
	SLOB_TWS_REQ_MANAGED_ACCTS = 17, SLOB_TWS_REQ_CURRENT_TIME = 49,
	SLOB_TWS_REQ_REAL_TIME_BARS = 50, SLOB_TWS_CANCEL_REAL_TIME_BARS = 51,
	SLOB_TWS_REQ_GLOBAL_CANCEL = 58, SLOB_TWS_REQ_MARKET_DATA_TYPE = 59,
	SLOB_TWS_REQ_POSITIONS = 61, SLOB_TWS_REQ_ACCOUNT_SUMMARY = 62,
	SLOB_TWS_CANCEL_ACCOUNT_SUMMARY = 63, SLOB_TWS_CANCEL_POSITIONS = 64,
	SLOB_TWS_START_API = 71, SLOB_TWS_REQ_TICK_BY_TICK = 97, SLOB_TWS_CANCEL_TICK_BY_TICK = 98,
};

/* Incoming message ids (= slob_tws_in.kind). */
enum slob_tws_in_id {
	SLOB_TWS_TICK_PRICE = 1, SLOB_TWS_TICK_SIZE = 2, SLOB_TWS_ORDER_STATUS = 3,
	SLOB_TWS_ERR_MSG = 4, SLOB_TWS_OPEN_ORDER = 5, SLOB_TWS_ACCT_VALUE = 6,
	SLOB_TWS_PORTFOLIO_VALUE = 7, SLOB_TWS_ACCT_UPDATE_TIME = 8, SLOB_TWS_NEXT_VALID_ID = 9,
	SLOB_TWS_CONTRACT_DATA = 10, SLOB_TWS_EXECUTION_DATA = 11, SLOB_TWS_MANAGED_ACCTS = 15,
	SLOB_TWS_TICK_GENERIC = 45, SLOB_TWS_TICK_STRING = 46, SLOB_TWS_CURRENT_TIME = 49,
	SLOB_TWS_REAL_TIME_BARS = 50, SLOB_TWS_CONTRACT_DATA_END = 52, SLOB_TWS_OPEN_ORDER_END = 53,
	SLOB_TWS_ACCT_DOWNLOAD_END = 54, SLOB_TWS_EXECUTION_DATA_END = 55,
	SLOB_TWS_TICK_SNAPSHOT_END = 57, SLOB_TWS_MARKET_DATA_TYPE = 58,
	SLOB_TWS_COMMISSION_REPORT = 59, SLOB_TWS_POSITION_DATA = 61, SLOB_TWS_POSITION_END = 62,
	SLOB_TWS_ACCOUNT_SUMMARY = 63, SLOB_TWS_ACCOUNT_SUMMARY_END = 64,
	SLOB_TWS_TICK_REQ_PARAMS = 81, SLOB_TWS_TICK_BY_TICK = 99, SLOB_TWS_ORDER_BOUND = 100,
	SLOB_TWS_COMPLETED_ORDER = 101,
};

/* tickByTick types */
enum { SLOB_TWS_TBT_LAST = 1, SLOB_TWS_TBT_ALL_LAST = 2, SLOB_TWS_TBT_BID_ASK = 3,
       SLOB_TWS_TBT_MIDPOINT = 4 };

/* ---- outgoing ---------------------------------------------------------- */

/* The 11-field contract block (+ tradingClass). Empty strings are sent empty. */
struct slob_tws_contract {
	int64_t con_id;             /* 0: not given */
	char symbol[16];            /* "NQ" */
	char sec_type[8];           /* "FUT" */
	char expiry[16];            /* lastTradeDateOrContractMonth: YYYYMM or YYYYMMDD */
	double strike;              /* 0 = unset: sent empty */
	char right[4];
	char multiplier[8];
	char exchange[16];          /* "CME" */
	char primary_exchange[16];
	char currency[8];           /* "USD" */
	char local_symbol[16];      /* "NQH6" */
	char trading_class[16];
};

/* Fills c with the NQ future for a contract month (YYYYMM) on CME in USD. */
void slob_tws_contract_nq(struct slob_tws_contract *c, const char *yyyymm);

/*
 * What the server says about one contract (contractDetails, id 10): the
 * fields slob checks or keeps. Server side: slob_tws_enc_contract_details;
 * client side: slob_tws_in.u.contract_data (views).
 */
struct slob_tws_contract_details {
	struct slob_tws_contract c;  /* con_id, multiplier, local_symbol, trading_class filled */
	char last_trade_date[16];    /* YYYYMMDD */
	char market_name[16];
	char long_name[48];
	char time_zone[32];          /* "US/Central" */
	char trading_hours[256];     /* "20260105:1700-20260106:1600;..." */
	char liquid_hours[256];
	double min_tick;             /* 0.25 */
};

struct slob_tws_order {
	int64_t order_id;
	int64_t parent_id;          /* 0: none */
	char action[8];             /* "BUY" | "SELL" */
	int64_t qty;                /* whole contracts */
	char order_type[8];         /* "LMT" | "STP" | "MKT" */
	double lmt_price;           /* NAN: unset (sent empty) */
	double aux_price;           /* STP trigger; NAN: unset */
	char tif[8];                /* "DAY" | "GTC" */
	char oca_group[32];
	char account[32];
	char order_ref[64];
	int oca_type;               /* 0 none, 1 cancel with block, ... */
	bool transmit;
	bool outside_rth;
	bool what_if;               /* field 84: margin preview only, never placed */
};

/* Initialises o with the defaults of ibapi's Order() (lmt/aux unset, DAY). */
void slob_tws_order_init(struct slob_tws_order *o);

struct slob_tws_exec_filter {
	int64_t client_id;          /* 0 = all */
	char account[32], time[24], symbol[16], sec_type[8], exchange[16], side[8];
	int32_t last_n_days;        /* SLOB_TWS_UNSET_INT = unset */
};

/* Handshake: "API\0" + length-prefixed "v<min>..<max>[ <opts>]". */
int slob_tws_enc_handshake(uint8_t *buf, size_t cap, int min_ver, int max_ver, const char *opts);
/* Server side of the handshake: "<version>\0<time>\0". */
int slob_tws_enc_server_hello(uint8_t *buf, size_t cap, int version, const char *conn_time);

int slob_tws_enc_start_api(uint8_t *buf, size_t cap, int client_id, const char *opt_capab);
int slob_tws_enc_req_ids(uint8_t *buf, size_t cap, int num_ids);
int slob_tws_enc_req_current_time(uint8_t *buf, size_t cap);
int slob_tws_enc_req_mkt_data(uint8_t *buf, size_t cap, int64_t req_id,
			      const struct slob_tws_contract *c, const char *generic_ticks,
			      bool snapshot, bool regulatory_snapshot);
int slob_tws_enc_cancel_mkt_data(uint8_t *buf, size_t cap, int64_t req_id);
int slob_tws_enc_req_market_data_type(uint8_t *buf, size_t cap, int type);
/* tick_type: "Last" | "AllLast" | "BidAsk" | "MidPoint"; n_ticks 0 = streaming. */
int slob_tws_enc_req_tick_by_tick(uint8_t *buf, size_t cap, int64_t req_id,
				  const struct slob_tws_contract *c, const char *tick_type,
				  int n_ticks, bool ignore_size);
int slob_tws_enc_cancel_tick_by_tick(uint8_t *buf, size_t cap, int64_t req_id);
int slob_tws_enc_req_real_time_bars(uint8_t *buf, size_t cap, int64_t req_id,
				    const struct slob_tws_contract *c, const char *what_to_show,
				    bool use_rth);
int slob_tws_enc_cancel_real_time_bars(uint8_t *buf, size_t cap, int64_t req_id);
int slob_tws_enc_place_order(uint8_t *buf, size_t cap, const struct slob_tws_contract *c,
			     const struct slob_tws_order *o);
int slob_tws_enc_cancel_order(uint8_t *buf, size_t cap, int64_t order_id);
int slob_tws_enc_req_open_orders(uint8_t *buf, size_t cap);
int slob_tws_enc_req_all_open_orders(uint8_t *buf, size_t cap);
int slob_tws_enc_req_auto_open_orders(uint8_t *buf, size_t cap, bool auto_bind);
int slob_tws_enc_req_executions(uint8_t *buf, size_t cap, int64_t req_id,
				const struct slob_tws_exec_filter *f);
int slob_tws_enc_req_positions(uint8_t *buf, size_t cap);
int slob_tws_enc_cancel_positions(uint8_t *buf, size_t cap);
int slob_tws_enc_req_account_updates(uint8_t *buf, size_t cap, bool subscribe, const char *acct);
int slob_tws_enc_req_account_summary(uint8_t *buf, size_t cap, int64_t req_id, const char *group,
				     const char *tags);
int slob_tws_enc_cancel_account_summary(uint8_t *buf, size_t cap, int64_t req_id);
int slob_tws_enc_req_managed_accts(uint8_t *buf, size_t cap);
int slob_tws_enc_req_global_cancel(uint8_t *buf, size_t cap);
/* reqContractDetails (9): version 8, reqId, C11, tradingClass, includeExpired
 * 0, secIdType, secId, issuerId (18 fields after the id). */
int slob_tws_enc_req_contract_details(uint8_t *buf, size_t cap, int64_t req_id,
				      const struct slob_tws_contract *c);
/* Server side: contractDetails (10) at version 200 (41 fields after the id,
 * no secIds, no ineligibility reasons) and contractDetailsEnd (52). */
int slob_tws_enc_contract_details(uint8_t *buf, size_t cap, int64_t req_id,
				  const struct slob_tws_contract_details *d);
int slob_tws_enc_contract_details_end(uint8_t *buf, size_t cap, int64_t req_id);

/*
 * Generic field writer, for the simulator's server messages and anything not
 * covered above: begin, add fields, end (writes the length prefix).
 */
struct slob_tws_wr {
	uint8_t *buf;
	size_t cap, len;
	int err;                    /* first error (-ENOSPC / -EINVAL), sticky */
};
void slob_tws_wr_begin(struct slob_tws_wr *w, uint8_t *buf, size_t cap);
void slob_tws_wr_str(struct slob_tws_wr *w, const char *s);
void slob_tws_wr_int(struct slob_tws_wr *w, int64_t v);
/* Python str(float) spelling: 21050.0, 21000.25; NAN -> empty. */
void slob_tws_wr_dbl(struct slob_tws_wr *w, double v);
/* Returns the total length (prefix included) or the sticky error. */
int slob_tws_wr_end(struct slob_tws_wr *w);

/* Formats v as Python's str(float) would (for |v| < 1e16). Returns length. */
int slob_tws_fmt_double(double v, char *out, size_t cap);

/* ---- incoming ---------------------------------------------------------- */

/* A contract as it appears inside incoming messages (views into the frame). */
struct slob_tws_contract_view {
	int64_t con_id;
	const char *symbol, *sec_type, *expiry, *right, *multiplier, *exchange, *currency,
		*local_symbol, *trading_class;
	double strike;
};

struct slob_tws_in {
	int kind;                   /* enum slob_tws_in_id (or any id, if unknown) */
	uint32_t nfields;           /* fields after the id */
	const char *f[SLOB_TWS_MAX_FIELDS]; /* f[0] = the id field */
	union {
		struct { int64_t order_id; } next_valid_id;
		struct { const char *accounts; } managed_accounts;
		struct { int64_t epoch_s; } current_time;
		struct {
			int64_t req_id;       /* -1: not tied to a request; order id for orders */
			int32_t code;
			const char *text, *advanced;
			int64_t time_ms;
		} error;
		struct { int64_t req_id; int32_t tick_type; double price, size; int32_t attr; } tick_price;
		struct { int64_t req_id; int32_t tick_type; double size; } tick_size;
		struct { int64_t req_id; int32_t tick_type; double value; } tick_generic;
		struct { int64_t req_id; int32_t tick_type; const char *value; } tick_string;
		struct {
			int64_t req_id;
			int32_t tick_type;    /* SLOB_TWS_TBT_* */
			int32_t mask;
			int64_t time;         /* epoch seconds */
			double price, size;   /* LAST / ALL_LAST */
			const char *exchange, *special;
			double bid, ask, bid_size, ask_size; /* BID_ASK */
			double mid;           /* MIDPOINT */
		} tick_by_tick;
		struct {
			int64_t req_id, time, count;
			double open, high, low, close, volume, wap;
		} rt_bar;
		struct {
			int64_t order_id;
			const char *status;
			double filled, remaining, avg_fill_price;
			int64_t perm_id, parent_id;
			double last_fill_price;
			int64_t client_id;
			const char *why_held;
			double mkt_cap_price;
		} order_status;
		struct {
			int64_t order_id;
			struct slob_tws_contract_view c;
			const char *action, *order_type, *tif, *oca_group, *account, *order_ref, *status;
			double qty, lmt_price, aux_price; /* NAN when unset */
			int64_t client_id, perm_id, parent_id;
			bool what_if;         /* field 84 */
			/* what-if order state (fields 86..94, text in the message):
			 * NAN when absent, empty or unset (1.7976931348623157E308) */
			double init_margin_before, maint_margin_before, equity_with_loan_before;
			double init_margin_change, maint_margin_change, equity_with_loan_change;
			double init_margin_after, maint_margin_after, equity_with_loan_after;
		} open_order;
		struct {
			int64_t req_id, order_id;
			struct slob_tws_contract_view c;
			const char *exec_id, *time, *account, *exchange, *side, *order_ref;
			double shares, price, cum_qty, avg_price;
			int64_t perm_id, client_id;
		} exec;
		struct {
			int64_t req_id;
			struct slob_tws_contract_view c; /* multiplier, con_id, ... */
			const char *last_trade_date, *market_name, *long_name, *time_zone,
				*trading_hours, *liquid_hours, *contract_month;
			double min_tick;
		} contract_data;
		struct { int64_t req_id; } end; /* execDetailsEnd, accountSummaryEnd, contractDataEnd, tickSnapshotEnd */
		struct {
			const char *exec_id, *currency;
			double commission, realized_pnl; /* NAN when unset */
		} commission;
		struct {
			const char *account;
			struct slob_tws_contract_view c;
			double position, avg_cost;
		} position;
		struct { int64_t req_id; const char *account, *tag, *value, *currency; } account_summary;
		struct { const char *key, *value, *currency, *account; } account_value;
		struct { const char *time; } account_time;
		struct { const char *account; } account_end;
		struct { int64_t perm_id, client_id, order_id; } order_bound;
		struct { int64_t req_id; int32_t type; } market_data_type;
	} u;
};

/*
 * slob_tws_frame_len - looks at the start of a receive buffer.
 * Returns 0 if more bytes are needed, the whole frame length (4 + N) if a
 * frame is complete, -EMSGSIZE when N is 0 or above max_payload.
 */
int slob_tws_frame_len(const uint8_t *buf, size_t avail, uint32_t max_payload);

/*
 * slob_tws_decode - decodes one payload (the N bytes after the prefix).
 * Returns 0 (out->kind set; typed fields for known ids) or -EBADMSG
 * (slob_tws_strerror() says which message and field). Any thread.
 */
int slob_tws_decode(const uint8_t *payload, size_t len, struct slob_tws_in *out);

/* Decodes the server's handshake reply payload: version and time string. */
int slob_tws_decode_server_hello(const uint8_t *payload, size_t len, int *version,
				 const char **conn_time);

/*
 * Server side: decodes the client's handshake ("API\0" + prefix + "vA..B
 * [opts]") at the start of buf. Returns bytes consumed, 0 if incomplete,
 * -EBADMSG if it is not a handshake. min_ver and max_ver get the range.
 */
int slob_tws_decode_client_hello(const uint8_t *buf, size_t avail, int *min_ver, int *max_ver);

/* Splits a payload into fields (views). Returns the count or -EBADMSG. */
int slob_tws_split(const uint8_t *payload, size_t len, const char **fields, unsigned max);

/* True when kind is one of the ids the decoder types. */
bool slob_tws_known(int kind);

/* Name of an incoming id ("orderStatus"), "unknown" otherwise. */
const char *slob_tws_in_name(int kind);

/* Parses helpers for callers of raw fields. 0 or -EINVAL. Empty -> 0. */
int slob_tws_parse_i64(const char *s, int64_t *out);
int slob_tws_parse_dbl(const char *s, double *out);

/* Detail of the last decode failure on this thread. */
const char *slob_tws_strerror(void);

#endif /* SLOB_TWS_CODEC_H */
