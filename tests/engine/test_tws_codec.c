/* SPDX-License-Identifier: MIT */
/*
 * test_tws_codec.c: the TWS codec against the golden vectors made with the
 * official ibapi client (tests/data/tws_vectors/): every client message is
 * encoded byte for byte, every server message decodes to the values the real
 * ibapi decoder produced; plus framing errors and garbage.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/tws_codec.h"

#define MAXV 64

struct vec {
	char label[64];
	uint8_t bytes[1024];
	size_t len;
};

static struct vec client_v[MAXV], server_v[MAXV];
static int n_client, n_server;

static int load(const char *name, struct vec *v)
{
	const char *src = getenv("SLOB_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/data/tws_vectors/%s", src ? src : ".", name);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	char line[8192];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char hex[4096];
		if (sscanf(line, "%63s %4095s", v[n].label, hex) != 2)
			continue;
		size_t hl = strlen(hex);
		for (size_t i = 0; i + 1 < hl; i += 2) {
			unsigned b;
			sscanf(hex + i, "%2x", &b);
			v[n].bytes[i / 2] = (uint8_t)b;
		}
		v[n].len = hl / 2;
		n++;
	}
	fclose(f);
	return n;
}

static const struct vec *find(struct vec *v, int n, const char *label)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i].label, label) == 0)
			return &v[i];
	fail_msg("vector %s missing", label);
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	n_client = load("client_messages.hex", client_v);
	n_server = load("server_messages.hex", server_v);
	return n_client > 0 && n_server > 0 ? 0 : -1;
}

static void same(const char *label, const uint8_t *buf, int n)
{
	const struct vec *v = find(client_v, n_client, label);
	if (n != (int)v->len || memcmp(buf, v->bytes, v->len) != 0) {
		fprintf(stderr, "%s: got %d bytes, want %zu\n", label, n, v->len);
		for (int i = 0; i < n && i < (int)v->len; i++)
			if (buf[i] != v->bytes[i]) {
				fprintf(stderr, "first difference at byte %d: got %02x want %02x\n", i,
					buf[i], v->bytes[i]);
				break;
			}
		fail_msg("%s differs", label);
	}
}

static int checked; /* client vectors compared */

#define SAME(label, call)                                                                          \
	do {                                                                                       \
		int n_ = (call);                                                                   \
		assert_true(n_ > 0);                                                               \
		same(label, buf, n_);                                                              \
		checked++;                                                                         \
	} while (0)

static void test_client_vectors(void **state)
{
	(void)state;
	uint8_t buf[2048];
	struct slob_tws_contract nq;
	slob_tws_contract_nq(&nq, "202603");
	SAME("handshake_official_v100..225", slob_tws_enc_handshake(buf, sizeof(buf), 100, 225, NULL));
	SAME("handshake_v100..200_synthesized", slob_tws_enc_handshake(buf, sizeof(buf), 100, 200, ""));
	SAME("server_first_reply",
	     slob_tws_enc_server_hello(buf, sizeof(buf), 200, "20260105 09:30:00 US/Central"));
	SAME("startApi_clientId7", slob_tws_enc_start_api(buf, sizeof(buf), 7, ""));
	SAME("reqIds", slob_tws_enc_req_ids(buf, sizeof(buf), 1));
	SAME("reqCurrentTime", slob_tws_enc_req_current_time(buf, sizeof(buf)));
	SAME("reqMktData_NQ", slob_tws_enc_req_mkt_data(buf, sizeof(buf), 1001, &nq, "", false, false));
	struct slob_tws_contract ls;
	slob_tws_contract_nq(&ls, "");
	ls.symbol[0] = '\0';
	strcpy(ls.local_symbol, "NQH6");
	SAME("reqMktData_NQ_localSymbol",
	     slob_tws_enc_req_mkt_data(buf, sizeof(buf), 1005, &ls, "233", false, false));
	SAME("cancelMktData", slob_tws_enc_cancel_mkt_data(buf, sizeof(buf), 1001));
	SAME("reqTickByTickData_Last",
	     slob_tws_enc_req_tick_by_tick(buf, sizeof(buf), 1002, &nq, "Last", 0, false));
	SAME("reqTickByTickData_AllLast",
	     slob_tws_enc_req_tick_by_tick(buf, sizeof(buf), 1003, &nq, "AllLast", 0, false));
	SAME("reqTickByTickData_BidAsk",
	     slob_tws_enc_req_tick_by_tick(buf, sizeof(buf), 1004, &nq, "BidAsk", 0, true));
	SAME("cancelTickByTickData", slob_tws_enc_cancel_tick_by_tick(buf, sizeof(buf), 1002));
	SAME("reqRealTimeBars",
	     slob_tws_enc_req_real_time_bars(buf, sizeof(buf), 1006, &nq, "TRADES", false));
	SAME("cancelRealTimeBars", slob_tws_enc_cancel_real_time_bars(buf, sizeof(buf), 1006));

	struct slob_tws_order o;
	slob_tws_order_init(&o);
	o.order_id = 1000;
	strcpy(o.action, "BUY");
	o.qty = 1;
	strcpy(o.order_type, "LMT");
	o.lmt_price = 21000.25;
	strcpy(o.account, "DU1234567");
	strcpy(o.order_ref, "strat1-entry");
	o.transmit = false;
	o.outside_rth = true;
	SAME("placeOrder_bracket_parent_LMT_BUY", slob_tws_enc_place_order(buf, sizeof(buf), &nq, &o));
	slob_tws_order_init(&o);
	o.order_id = 1001;
	o.parent_id = 1000;
	strcpy(o.action, "SELL");
	o.qty = 1;
	strcpy(o.order_type, "LMT");
	o.lmt_price = 21050;
	strcpy(o.tif, "GTC");
	strcpy(o.oca_group, "OCA_1000");
	strcpy(o.account, "DU1234567");
	strcpy(o.order_ref, "strat1-tp");
	o.transmit = false;
	SAME("placeOrder_bracket_tp_LMT_SELL", slob_tws_enc_place_order(buf, sizeof(buf), &nq, &o));
	o.order_id = 1002;
	strcpy(o.order_type, "STP");
	o.lmt_price = NAN;
	o.aux_price = 20950.5;
	strcpy(o.order_ref, "strat1-sl");
	o.transmit = true;
	SAME("placeOrder_bracket_sl_STP_SELL", slob_tws_enc_place_order(buf, sizeof(buf), &nq, &o));
	SAME("cancelOrder", slob_tws_enc_cancel_order(buf, sizeof(buf), 1001));
	SAME("reqOpenOrders", slob_tws_enc_req_open_orders(buf, sizeof(buf)));
	SAME("reqAllOpenOrders", slob_tws_enc_req_all_open_orders(buf, sizeof(buf)));
	struct slob_tws_exec_filter ef;
	memset(&ef, 0, sizeof(ef));
	ef.client_id = 7;
	ef.last_n_days = SLOB_TWS_UNSET_INT;
	SAME("reqExecutions", slob_tws_enc_req_executions(buf, sizeof(buf), 3001, &ef));
	SAME("reqPositions", slob_tws_enc_req_positions(buf, sizeof(buf)));
	SAME("cancelPositions", slob_tws_enc_cancel_positions(buf, sizeof(buf)));
	SAME("reqAccountUpdates_subscribe",
	     slob_tws_enc_req_account_updates(buf, sizeof(buf), true, "DU1234567"));
	SAME("reqAccountSummary",
	     slob_tws_enc_req_account_summary(buf, sizeof(buf), 4001, "All",
					      "NetLiquidation,BuyingPower,AvailableFunds"));
	SAME("cancelAccountSummary", slob_tws_enc_cancel_account_summary(buf, sizeof(buf), 4001));
	SAME("reqManagedAccts", slob_tws_enc_req_managed_accts(buf, sizeof(buf)));
	/* every vector in the file was compared */
	assert_int_equal(checked, n_client);
}

static void test_encoder_limits(void **state)
{
	(void)state;
	uint8_t buf[400];
	struct slob_tws_contract nq;
	slob_tws_contract_nq(&nq, "202603");
	struct slob_tws_order o;
	slob_tws_order_init(&o);
	strcpy(o.action, "BUY");
	strcpy(o.order_type, "LMT");
	o.lmt_price = 1;
	assert_int_equal(slob_tws_enc_place_order(buf, 100, &nq, &o), -ENOSPC);
	assert_int_equal(slob_tws_enc_req_ids(buf, 3, 1), -ENOSPC);
	strcpy(o.order_ref, "bad\x01ref");
	assert_int_equal(slob_tws_enc_place_order(buf, sizeof(buf), &nq, &o), -EINVAL);
	char d[40];
	slob_tws_fmt_double(21050, d, sizeof(d));
	assert_string_equal(d, "21050.0");
	slob_tws_fmt_double(21000.25, d, sizeof(d));
	assert_string_equal(d, "21000.25");
	slob_tws_fmt_double(0.1, d, sizeof(d));
	assert_string_equal(d, "0.1");
	slob_tws_fmt_double(-20950.75, d, sizeof(d));
	assert_string_equal(d, "-20950.75");
}

static int decode_vec(const char *label, struct slob_tws_in *m)
{
	const struct vec *v = find(server_v, n_server, label);
	int fl = slob_tws_frame_len(v->bytes, v->len, 1u << 20);
	assert_int_equal(fl, (int)v->len);
	int rc = slob_tws_decode(v->bytes + 4, v->len - 4, m);
	if (rc)
		fprintf(stderr, "%s: %s\n", label, slob_tws_strerror());
	return rc;
}

static void test_server_vectors(void **state)
{
	(void)state;
	static struct slob_tws_in m;
	int seen = 0;
#define DEC(label, want)                                                                           \
	do {                                                                                       \
		assert_int_equal(decode_vec(label, &m), 0);                                        \
		assert_int_equal(m.kind, want);                                                    \
		assert_true(slob_tws_known(want));                                                 \
		seen++;                                                                            \
	} while (0)
	DEC("nextValidId", SLOB_TWS_NEXT_VALID_ID);
	assert_int_equal(m.u.next_valid_id.order_id, 1000);
	DEC("managedAccounts", SLOB_TWS_MANAGED_ACCTS);
	assert_string_equal(m.u.managed_accounts.accounts, "DU1234567");
	DEC("error_2104_farm_ok", SLOB_TWS_ERR_MSG);
	assert_int_equal(m.u.error.req_id, -1);
	assert_int_equal(m.u.error.code, 2104);
	assert_string_equal(m.u.error.text, "Market data farm connection is OK:usfarm");
	assert_int_equal(m.u.error.time_ms, 1767627000123LL);
	DEC("error_200_no_secdef", SLOB_TWS_ERR_MSG);
	assert_int_equal(m.u.error.req_id, 1001);
	assert_int_equal(m.u.error.code, 200);
	DEC("error_201_order_rejected", SLOB_TWS_ERR_MSG);
	assert_int_equal(m.u.error.code, 201);
	assert_string_equal(m.u.error.advanced, "{\"rejectReason\":\"test\"}");
	assert_string_equal(m.u.error.text, "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED.");
	DEC("error_202_order_cancelled", SLOB_TWS_ERR_MSG);
	assert_int_equal(m.u.error.code, 202);
	assert_int_equal(m.u.error.req_id, 1001);
	DEC("tickPrice_bid", SLOB_TWS_TICK_PRICE);
	assert_int_equal(m.u.tick_price.req_id, 1001);
	assert_int_equal(m.u.tick_price.tick_type, 1);
	assert_true(m.u.tick_price.price == 21000.25);
	assert_true(m.u.tick_price.size == 3);
	DEC("tickPrice_last", SLOB_TWS_TICK_PRICE);
	assert_int_equal(m.u.tick_price.tick_type, 4);
	assert_true(m.u.tick_price.price == 21000.5);
	DEC("tickSize_volume", SLOB_TWS_TICK_SIZE);
	assert_int_equal(m.u.tick_size.tick_type, 8);
	assert_true(m.u.tick_size.size == 123456);
	DEC("tickByTick_Last", SLOB_TWS_TICK_BY_TICK);
	assert_int_equal(m.u.tick_by_tick.req_id, 1002);
	assert_int_equal(m.u.tick_by_tick.tick_type, SLOB_TWS_TBT_LAST);
	assert_int_equal(m.u.tick_by_tick.time, 1767627000);
	assert_true(m.u.tick_by_tick.price == 21000.5);
	assert_true(m.u.tick_by_tick.size == 2);
	assert_string_equal(m.u.tick_by_tick.exchange, "CME");
	DEC("tickByTick_AllLast", SLOB_TWS_TICK_BY_TICK);
	assert_int_equal(m.u.tick_by_tick.tick_type, SLOB_TWS_TBT_ALL_LAST);
	assert_int_equal(m.u.tick_by_tick.mask, 2); /* unreported */
	assert_true(m.u.tick_by_tick.price == 21000.75);
	DEC("tickByTick_BidAsk", SLOB_TWS_TICK_BY_TICK);
	assert_true(m.u.tick_by_tick.bid == 21000.25 && m.u.tick_by_tick.ask == 21000.5);
	assert_true(m.u.tick_by_tick.bid_size == 5 && m.u.tick_by_tick.ask_size == 7);
	DEC("tickByTick_MidPoint", SLOB_TWS_TICK_BY_TICK);
	assert_true(m.u.tick_by_tick.mid == 21000.375);
	DEC("realtimeBar", SLOB_TWS_REAL_TIME_BARS);
	assert_int_equal(m.u.rt_bar.req_id, 1006);
	assert_true(m.u.rt_bar.open == 21000.25 && m.u.rt_bar.high == 21001 &&
		    m.u.rt_bar.low == 20999.75 && m.u.rt_bar.close == 21000.5);
	assert_true(m.u.rt_bar.volume == 42 && m.u.rt_bar.count == 17);
	DEC("orderStatus_Submitted", SLOB_TWS_ORDER_STATUS);
	assert_int_equal(m.u.order_status.order_id, 1000);
	assert_string_equal(m.u.order_status.status, "Submitted");
	assert_true(m.u.order_status.remaining == 1);
	assert_int_equal(m.u.order_status.perm_id, 123456789);
	assert_int_equal(m.u.order_status.client_id, 7);
	DEC("orderStatus_Filled", SLOB_TWS_ORDER_STATUS);
	assert_string_equal(m.u.order_status.status, "Filled");
	assert_true(m.u.order_status.avg_fill_price == 21000.25);
	assert_true(m.u.order_status.filled == 1);
	DEC("openOrder_tp_child", SLOB_TWS_OPEN_ORDER);
	assert_int_equal(m.nfields, 147);
	assert_int_equal(m.u.open_order.order_id, 1001);
	assert_int_equal(m.u.open_order.c.con_id, 620730920);
	assert_string_equal(m.u.open_order.c.local_symbol, "NQH6");
	assert_string_equal(m.u.open_order.c.expiry, "20260320");
	assert_string_equal(m.u.open_order.action, "SELL");
	assert_string_equal(m.u.open_order.order_type, "LMT");
	assert_true(m.u.open_order.lmt_price == 21050);
	assert_string_equal(m.u.open_order.tif, "GTC");
	assert_string_equal(m.u.open_order.oca_group, "OCA_1000");
	assert_string_equal(m.u.open_order.order_ref, "strat1-tp");
	assert_int_equal(m.u.open_order.client_id, 7);
	assert_int_equal(m.u.open_order.perm_id, 123456790);
	assert_int_equal(m.u.open_order.parent_id, 1000);
	assert_string_equal(m.u.open_order.status, "PreSubmitted");
	DEC("openOrderEnd", SLOB_TWS_OPEN_ORDER_END);
	DEC("execDetails", SLOB_TWS_EXECUTION_DATA);
	assert_int_equal(m.u.exec.req_id, 3001);
	assert_int_equal(m.u.exec.order_id, 1000);
	assert_string_equal(m.u.exec.exec_id, "0000e0d5.6789abcd.01.01");
	assert_string_equal(m.u.exec.side, "BOT");
	assert_true(m.u.exec.shares == 1 && m.u.exec.price == 21000.25);
	assert_string_equal(m.u.exec.order_ref, "strat1-entry");
	assert_string_equal(m.u.exec.account, "DU1234567");
	DEC("execDetailsEnd", SLOB_TWS_EXECUTION_DATA_END);
	assert_int_equal(m.u.end.req_id, 3001);
	DEC("commissionReport", SLOB_TWS_COMMISSION_REPORT);
	assert_string_equal(m.u.commission.exec_id, "0000e0d5.6789abcd.01.01");
	assert_true(m.u.commission.commission == 2.25);
	assert_true(isnan(m.u.commission.realized_pnl)); /* 1.7976931348623157E308 = unset */
	DEC("position", SLOB_TWS_POSITION_DATA);
	assert_string_equal(m.u.position.account, "DU1234567");
	assert_int_equal(m.u.position.c.con_id, 620730920);
	assert_string_equal(m.u.position.c.local_symbol, "NQH6");
	assert_true(m.u.position.position == 1 && m.u.position.avg_cost == 420005);
	DEC("positionEnd", SLOB_TWS_POSITION_END);
	DEC("currentTime", SLOB_TWS_CURRENT_TIME);
	assert_int_equal(m.u.current_time.epoch_s, 1767627000);
	DEC("accountSummary", SLOB_TWS_ACCOUNT_SUMMARY);
	assert_int_equal(m.u.account_summary.req_id, 4001);
	assert_string_equal(m.u.account_summary.tag, "NetLiquidation");
	assert_string_equal(m.u.account_summary.value, "1000000.00");
	DEC("accountSummaryEnd", SLOB_TWS_ACCOUNT_SUMMARY_END);
	assert_int_equal(m.u.end.req_id, 4001);
	DEC("updateAccountValue", SLOB_TWS_ACCT_VALUE);
	assert_string_equal(m.u.account_value.key, "NetLiquidation");
	assert_string_equal(m.u.account_value.account, "DU1234567");
	DEC("updateAccountTime", SLOB_TWS_ACCT_UPDATE_TIME);
	assert_string_equal(m.u.account_time.time, "09:30");
	DEC("accountDownloadEnd", SLOB_TWS_ACCT_DOWNLOAD_END);
	assert_string_equal(m.u.account_end.account, "DU1234567");
	assert_int_equal(seen, n_server);
}

/* reqContractDetails as ibapi's client writes it at v200 (version 8, 18
 * fields after the id) and contractDetails decoded field by field as ibapi's
 * processContractDataMsg reads it (no version at 164+, lastTradeDate at 182+,
 * no mdSizeMultiplier): what slob-gw writes, slob reads back. */
static void test_contract_details(void **state)
{
	(void)state;
	uint8_t buf[4096];
	const char *f[64];
	struct slob_tws_contract c;
	slob_tws_contract_nq(&c, "202603");
	strcpy(c.symbol, "MNQ");
	int n = slob_tws_enc_req_contract_details(buf, sizeof(buf), 500001, &c);
	assert_true(n > 0);
	int nf = slob_tws_split(buf + 4, (size_t)n - 4, f, 64);
	assert_int_equal(nf, 19);
	const char *want[19] = {"9", "8", "500001", "0", "MNQ", "FUT", "202603", "0.0", "", "",
				"CME", "", "USD", "", "", "0", "", "", ""};
	for (int i = 0; i < 19; i++)
		assert_string_equal(f[i], want[i]);

	struct slob_tws_contract_details d;
	memset(&d, 0, sizeof(d));
	d.c = c;
	d.c.con_id = 730283097;
	strcpy(d.c.multiplier, "2");
	strcpy(d.c.local_symbol, "MNQH6");
	strcpy(d.c.trading_class, "MNQ");
	strcpy(d.last_trade_date, "20260320");
	strcpy(d.time_zone, "US/Central");
	strcpy(d.trading_hours, "20260105:1700-20260106:1600");
	d.min_tick = 0.25;
	n = slob_tws_enc_contract_details(buf, sizeof(buf), 500001, &d);
	assert_true(n > 0);
	nf = slob_tws_split(buf + 4, (size_t)n - 4, f, 64);
	assert_int_equal(nf, 42); /* id + 41 with no secIds and no ineligibility reasons */
	static struct slob_tws_in m;
	assert_int_equal(slob_tws_decode(buf + 4, (size_t)n - 4, &m), 0);
	assert_int_equal(m.kind, SLOB_TWS_CONTRACT_DATA);
	assert_true(slob_tws_known(m.kind));
	assert_int_equal(m.u.contract_data.req_id, 500001);
	assert_string_equal(m.u.contract_data.c.symbol, "MNQ");
	assert_string_equal(m.u.contract_data.c.sec_type, "FUT");
	assert_string_equal(m.u.contract_data.last_trade_date, "20260320");
	assert_string_equal(m.u.contract_data.c.exchange, "CME");
	assert_string_equal(m.u.contract_data.c.local_symbol, "MNQH6");
	assert_string_equal(m.u.contract_data.c.trading_class, "MNQ");
	assert_int_equal(m.u.contract_data.c.con_id, 730283097);
	assert_true(m.u.contract_data.min_tick == 0.25);
	assert_string_equal(m.u.contract_data.c.multiplier, "2");
	assert_string_equal(m.u.contract_data.contract_month, "202603");
	assert_string_equal(m.u.contract_data.time_zone, "US/Central");
	assert_string_equal(m.u.contract_data.trading_hours, "20260105:1700-20260106:1600");
	n = slob_tws_enc_contract_details_end(buf, sizeof(buf), 500001);
	assert_int_equal(slob_tws_decode(buf + 4, (size_t)n - 4, &m), 0);
	assert_int_equal(m.kind, SLOB_TWS_CONTRACT_DATA_END);
	assert_int_equal(m.u.end.req_id, 500001);
	/* too short: refused, never read past the fields */
	assert_int_equal(slob_tws_decode((const uint8_t *)"10\0" "1\0" "MNQ\0", 9, &m), -EBADMSG);
	assert_non_null(strstr(slob_tws_strerror(), "contractDetails"));
}

static void test_handshakes(void **state)
{
	(void)state;
	const struct vec *v = find(client_v, n_client, "handshake_official_v100..225");
	int lo, hi;
	assert_int_equal(slob_tws_decode_client_hello(v->bytes, v->len, &lo, &hi), (int)v->len);
	assert_int_equal(lo, 100);
	assert_int_equal(hi, 225);
	assert_int_equal(slob_tws_decode_client_hello(v->bytes, 10, &lo, &hi), 0);
	assert_int_equal(slob_tws_decode_client_hello((const uint8_t *)"GET / HTTP", 10, &lo, &hi),
			 -EBADMSG);
	v = find(client_v, n_client, "server_first_reply");
	int ver;
	const char *t;
	assert_int_equal(slob_tws_decode_server_hello(v->bytes + 4, v->len - 4, &ver, &t), 0);
	assert_int_equal(ver, 200);
	assert_string_equal(t, "20260105 09:30:00 US/Central");
	uint8_t opt[64];
	int n = slob_tws_enc_handshake(opt, sizeof(opt), 100, 200, "+PACEAPI");
	assert_int_equal(slob_tws_decode_client_hello(opt, (size_t)n, &lo, &hi), n);
	assert_int_equal(hi, 200);
}

static void test_garbage(void **state)
{
	(void)state;
	static struct slob_tws_in m;
	const uint8_t zero[4] = {0, 0, 0, 0};
	assert_int_equal(slob_tws_frame_len(zero, 4, 1 << 20), -EMSGSIZE);
	const uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
	assert_int_equal(slob_tws_frame_len(huge, 4, 1 << 20), -EMSGSIZE);
	assert_non_null(strstr(slob_tws_strerror(), "frame length"));
	const uint8_t partial[6] = {0, 0, 0, 5, '9', 0};
	assert_int_equal(slob_tws_frame_len(partial, 6, 1 << 20), 0);
	assert_int_equal(slob_tws_frame_len(partial, 3, 1 << 20), 0);
	/* no trailing NUL */
	assert_int_equal(slob_tws_decode((const uint8_t *)"9\0" "1\0" "5", 5, &m), -EBADMSG);
	/* non-numeric id */
	assert_int_equal(slob_tws_decode((const uint8_t *)"x\0", 2, &m), -EBADMSG);
	/* too few fields */
	assert_int_equal(slob_tws_decode((const uint8_t *)"3\0" "1000\0", 7, &m), -EBADMSG);
	assert_non_null(strstr(slob_tws_strerror(), "orderStatus"));
	/* non-numeric number */
	assert_int_equal(slob_tws_decode((const uint8_t *)"9\0" "1\0" "abc\0", 8, &m), -EBADMSG);
	assert_non_null(strstr(slob_tws_strerror(), "nextValidId: field 2"));
	/* unknown id: not an error, skipped by callers */
	assert_int_equal(slob_tws_decode((const uint8_t *)"777\0" "a\0", 6, &m), 0);
	assert_false(slob_tws_known(m.kind));
	/* int overflow */
	assert_int_equal(slob_tws_decode((const uint8_t *)"9\0" "1\0" "99999999999999999999\0", 25, &m),
			 -EBADMSG);
	int64_t x;
	assert_int_equal(slob_tws_parse_i64("-9223372036854775808", &x), 0);
	assert_true(x == INT64_MIN);
	assert_int_equal(slob_tws_parse_i64("-", &x), -EINVAL);
	double dd;
	assert_int_equal(slob_tws_parse_dbl("nan", &dd), -EINVAL);
	assert_int_equal(slob_tws_parse_dbl("1.7976931348623157E308", &dd), 0);
	/* fast and slow number paths agree with strtod */
	const char *nums[] = {"21000.25", "-0.5", "0.1", "1e5", "123456789012345678", "20999.75",
			      "3.14159265358979", "-21000", ".5", "5."};
	for (unsigned i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		assert_int_equal(slob_tws_parse_dbl(nums[i], &dd), 0);
		assert_true(dd == strtod(nums[i], NULL));
	}
	assert_int_equal(slob_tws_parse_dbl("1.2.3", &dd), -EINVAL);
	assert_int_equal(slob_tws_parse_dbl("12abc", &dd), -EINVAL);
	char d[40];
	for (int i = -400; i <= 400; i++) { /* every quarter tick around 21000 round-trips */
		double v = 21000.0 + i * 0.25;
		slob_tws_fmt_double(v, d, sizeof(d));
		assert_true(strtod(d, NULL) == v);
		assert_non_null(strchr(d, '.'));
	}
	/* whole values are formatted by hand: the same text as "%.1f" */
	static const double whole[] = {0.0, -0.0, 1.0, -1.0, 21050.0, -20950.0, 123456789012345.0,
				       -9007199254740992.0, 4294967296.0};
	for (unsigned i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "%.1f", whole[i]);
		assert_int_equal(slob_tws_fmt_double(whole[i], d, sizeof(d)), (int)strlen(want));
		assert_string_equal(d, want);
	}
}


/* A what-if placeOrder is the golden bracket order with field 84 (whatIf) set
 * and nothing else changed; the openOrder answer carries the margin preview
 * in fields 86..94 (text), absent or unset fields decode as NAN. */
static void test_what_if(void **state)
{
	(void)state;
	struct slob_tws_contract nq;
	slob_tws_contract_nq(&nq, "202603");
	struct slob_tws_order o;
	slob_tws_order_init(&o);
	o.order_id = 1002;
	o.parent_id = 1000;
	strcpy(o.action, "SELL");
	o.qty = 1;
	strcpy(o.order_type, "STP");
	o.aux_price = 20950.5;
	strcpy(o.tif, "GTC");
	strcpy(o.oca_group, "OCA_1000");
	strcpy(o.account, "DU1234567");
	strcpy(o.order_ref, "strat1-sl");
	o.transmit = true;
	o.what_if = true;
	uint8_t buf[2048];
	int n = slob_tws_enc_place_order(buf, sizeof(buf), &nq, &o);
	const struct vec *v = find(client_v, n_client, "placeOrder_bracket_sl_STP_SELL");
	assert_int_equal(n, (int)v->len);
	const char *got[SLOB_TWS_MAX_FIELDS], *want[SLOB_TWS_MAX_FIELDS];
	int ng = slob_tws_split(buf + 4, (size_t)n - 4, got, SLOB_TWS_MAX_FIELDS);
	int nw = slob_tws_split(v->bytes + 4, v->len - 4, want, SLOB_TWS_MAX_FIELDS);
	assert_int_equal(ng, 119);
	assert_int_equal(ng, nw);
	for (int i = 0; i < ng; i++)
		if (i == 84) {
			assert_string_equal(want[i], "0");
			assert_string_equal(got[i], "1");
		} else {
			assert_string_equal(got[i], want[i]);
		}

	/* openOrder: the golden plain order has whatIf "" and no margins */
	const struct vec *oo = find(server_v, n_server, "openOrder_tp_child");
	struct slob_tws_in m;
	assert_int_equal(slob_tws_decode(oo->bytes + 4, oo->len - 4, &m), 0);
	assert_false(m.u.open_order.what_if);
	assert_true(isnan(m.u.open_order.init_margin_change));
	/* the same message as a what-if answer */
	const char *f[SLOB_TWS_MAX_FIELDS];
	int nf = slob_tws_split(oo->bytes + 4, oo->len - 4, f, SLOB_TWS_MAX_FIELDS);
	assert_int_equal(nf, 148);
	f[84] = "1";
	f[86] = "1000.5";
	f[89] = "33000.25";
	f[92] = "1.7976931348623157E308";
	struct slob_tws_wr w;
	uint8_t out[4096];
	slob_tws_wr_begin(&w, out, sizeof(out));
	for (int i = 0; i < nf; i++)
		slob_tws_wr_str(&w, f[i]);
	int len = slob_tws_wr_end(&w);
	assert_true(len > 0);
	assert_int_equal(slob_tws_decode(out + 4, (size_t)len - 4, &m), 0);
	assert_true(m.u.open_order.what_if);
	assert_true(m.u.open_order.init_margin_before == 1000.5);
	assert_true(m.u.open_order.init_margin_change == 33000.25);
	assert_true(isnan(m.u.open_order.init_margin_after));
	assert_true(isnan(m.u.open_order.maint_margin_change));
	assert_string_equal(m.u.open_order.status, "PreSubmitted");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_vectors),
		cmocka_unit_test(test_encoder_limits),
		cmocka_unit_test(test_server_vectors),
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_contract_details),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_what_if),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
