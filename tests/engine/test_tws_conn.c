/* SPDX-License-Identifier: MIT */
/*
 * test_tws_conn.c: TWS session parameters, backoff, front-month roll rule,
 * and the session state machine against an in-process fake server on
 * 127.0.0.1 (port picked by the kernel): handshake to READY, market data into
 * the tick ring, and the connection closing on a wrong server version or an
 * oversize frame without crashing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/stats.h"
#include "engine/tws_conn.h"

SLOB_RING_TYPED(tc_tick, struct slob_tick)

static void test_params(void **state)
{
	(void)state;
	struct slob_tws_params p;
	char err[200];
	slob_tws_params_default(&p);
	assert_int_equal(slob_tws_params_validate(&p, err, sizeof(err)), 0);
	assert_int_equal(p.port, 4002);
	assert_int_equal(slob_tws_param_set(&p, "port", "0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tws.port"));
	assert_non_null(strstr(err, "1..65535"));
	assert_int_equal(slob_tws_param_set(&p, "port", "7497", err, sizeof(err)), 0);
	assert_int_equal(p.port, 7497);
	assert_int_equal(slob_tws_param_set(&p, "md_mode", "mkt_data", err, sizeof(err)), 0);
	assert_false(p.md_tick_by_tick);
	assert_int_equal(slob_tws_param_set(&p, "md_mode", "x", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_tws_param_set(&p, "contract_month", "202613", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_tws_param_set(&p, "contract_month", "202606", err, sizeof(err)), 0);
	assert_int_equal(slob_tws_param_set(&p, "tif", "IOC", err, sizeof(err)), -EINVAL);
	/* per-leg order lifetime: defaults keep the stop alive across the session end */
	{
		struct slob_tws_params d;
		slob_tws_params_default(&d);
		assert_string_equal(d.tif, "DAY");
		assert_string_equal(d.tp_tif, "GTC");
		assert_string_equal(d.sl_tif, "GTC");
		assert_false(d.entry_outside_rth);
		assert_true(d.tp_outside_rth);
		assert_true(d.sl_outside_rth);
		assert_false(d.allow_unprotected_stop);
		assert_int_equal(slob_tws_param_set(&d, "sl_tif", "IOC", err, sizeof(err)), -EINVAL);
		assert_int_equal(slob_tws_param_set(&d, "sl_outside_rth", "maybe", err, sizeof(err)),
				 -EINVAL);
		assert_int_equal(slob_tws_param_set(&d, "sl_tif", "DAY", err, sizeof(err)), 0);
		assert_int_equal(slob_tws_params_validate(&d, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "tws.sl_tif = DAY"));
		assert_non_null(strstr(err, "allow_unprotected_stop"));
		assert_int_equal(slob_tws_param_set(&d, "sl_tif", "GTC", err, sizeof(err)), 0);
		assert_int_equal(slob_tws_param_set(&d, "sl_outside_rth", "false", err, sizeof(err)), 0);
		assert_int_equal(slob_tws_params_validate(&d, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "tws.sl_outside_rth = false"));
		assert_int_equal(
		    slob_tws_param_set(&d, "allow_unprotected_stop", "true", err, sizeof(err)), 0);
		assert_int_equal(slob_tws_params_validate(&d, err, sizeof(err)), 0);
		char w[200];
		assert_int_equal(slob_tws_params_stop_warning(&d, w, sizeof(w)), 1);
		/* DAY target and GTC entry leave the stop in place: accepted */
		slob_tws_params_default(&d);
		assert_int_equal(slob_tws_param_set(&d, "tp_tif", "DAY", err, sizeof(err)), 0);
		assert_int_equal(slob_tws_param_set(&d, "tif", "GTC", err, sizeof(err)), 0);
		assert_int_equal(slob_tws_params_validate(&d, err, sizeof(err)), 0);
	}
	assert_int_equal(slob_tws_param_set(&p, "bogus", "1", err, sizeof(err)), -ENOENT);
	assert_int_equal(p.silence_ms, 15000);
	assert_int_equal(p.probe_timeout_ms, 10000);
	assert_int_equal(p.reconcile_timeout_ms, 30000);
	assert_false(p.md_silence_always);
	assert_int_equal(slob_tws_param_set(&p, "md_silence_check", "sometimes", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "market_hours, always"));
	assert_int_equal(slob_tws_param_set(&p, "probe_timeout_ms", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_tws_param_set(&p, "silence_ms", "0", err, sizeof(err)), 0);
	p.md_client_id = p.order_client_id;
	assert_int_equal(slob_tws_params_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must differ"));
}

static void test_backoff(void **state)
{
	(void)state;
	struct slob_tws_params p;
	slob_tws_params_default(&p);
	const int64_t want[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000};
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(slob_tws_backoff_ms(&p, i + 1), want[i]);
}

static int64_t utc(int y, int m, int d)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
	return (int64_t)timegm(&tm) * 1000000000;
}

static void test_front_month(void **state)
{
	(void)state;
	char m[7];
	slob_tws_front_month(utc(2026, 1, 6), 8, m);
	assert_string_equal(m, "202603");
	/* March 2026 expiry is Friday 20th: 9 days ahead keeps it, 7 rolls */
	slob_tws_front_month(utc(2026, 3, 11), 8, m);
	assert_string_equal(m, "202603");
	slob_tws_front_month(utc(2026, 3, 13), 8, m);
	assert_string_equal(m, "202606");
	slob_tws_front_month(utc(2026, 3, 13), 0, m);
	assert_string_equal(m, "202603");
	/* December 2026 expiry Friday 18th -> rolls into the next year */
	slob_tws_front_month(utc(2026, 12, 15), 8, m);
	assert_string_equal(m, "202703");
	slob_tws_front_month(utc(2026, 4, 1), 8, m);
	assert_string_equal(m, "202606");
}

/* ---- fake server ---------------------------------------------------------- */

enum { SRV_OK = 0, SRV_BAD_VERSION, SRV_OVERSIZE, SRV_SILENT, SRV_ANSWERS };

struct srv {
	int lfd, port, mode;
	pthread_t th;
	char got_req[64];
	/* the contract the fake broker knows (contractDetails) */
	const char *symbol, *multiplier;
	int64_t con_id;
	char got_ct[64];          /* symbol|expiry of the reqContractDetails */
	char got_sub_sym[16];     /* symbol in the subscription */
	int64_t got_sub_conid;
	int probes;                 /* reqCurrentTime seen (SRV_SILENT / SRV_ANSWERS) */
};

static int read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int read_frame(int fd, uint8_t *buf, size_t cap)
{
	uint8_t h[4];
	if (read_n(fd, h, 4))
		return -1;
	uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (n > cap || read_n(fd, buf, n))
		return -1;
	return (int)n;
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t buf[4096];
	/* "API\0" + len + "v100..200" */
	if (read_n(fd, buf, 8) || memcmp(buf, "API\0", 4) != 0)
		goto out;
	uint32_t n = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	if (n > 64 || read_n(fd, buf, n))
		goto out;
	int k = slob_tws_enc_server_hello(buf, sizeof(buf), s->mode == SRV_BAD_VERSION ? 150 : 200,
					  "20260105 09:30:00 UTC");
	(void)!write(fd, buf, (size_t)k);
	if (s->mode == SRV_BAD_VERSION) {
		usleep(300000);
		goto out;
	}
	if (read_frame(fd, buf, sizeof(buf)) < 0) /* startApi */
		goto out;
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, buf, sizeof(buf));
	slob_tws_wr_int(&w, 15);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_str(&w, "DU1");
	k = slob_tws_wr_end(&w);
	(void)!write(fd, buf, (size_t)k);
	slob_tws_wr_begin(&w, buf, sizeof(buf));
	slob_tws_wr_int(&w, 9);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, 77);
	k = slob_tws_wr_end(&w);
	(void)!write(fd, buf, (size_t)k);
	int r = read_frame(fd, buf, sizeof(buf)); /* reqContractDetails first */
	const char *f[64];
	int nf = r > 0 ? slob_tws_split(buf, (size_t)r, f, 64) : 0;
	if (nf < 6 || strcmp(f[0], "9") != 0)
		goto out;
	snprintf(s->got_ct, sizeof(s->got_ct), "%.15s|%.15s", f[4], f[6]);
	struct slob_tws_contract_details d;
	memset(&d, 0, sizeof(d));
	slob_tws_contract_nq(&d.c, "202603");
	snprintf(d.c.symbol, sizeof(d.c.symbol), "%s", s->symbol ? s->symbol : "NQ");
	snprintf(d.c.multiplier, sizeof(d.c.multiplier), "%s", s->multiplier ? s->multiplier : "20");
	snprintf(d.c.local_symbol, sizeof(d.c.local_symbol), "%.8sH6", d.c.symbol);
	d.c.con_id = s->con_id ? s->con_id : 620730920;
	strcpy(d.last_trade_date, "20260320");
	strcpy(d.time_zone, "US/Central");
	strcpy(d.trading_hours, "20260105:1700-20260106:1600");
	d.min_tick = 0.25;
	int64_t rq = atoll(f[2]);
	k = slob_tws_enc_contract_details(buf + 2048, 2048, rq, &d);
	(void)!write(fd, buf + 2048, (size_t)k);
	k = slob_tws_enc_contract_details_end(buf + 2048, 2048, rq);
	(void)!write(fd, buf + 2048, (size_t)k);
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = read_frame(fd, buf, sizeof(buf)); /* the subscription (none when refused) */
	if (r > 0) {
		snprintf(s->got_req, sizeof(s->got_req), "%.20s|%.20s|", (char *)buf,
			 (char *)buf + strlen((char *)buf) + 1);
		nf = slob_tws_split(buf, (size_t)r, f, 64);
		if (nf > 4) { /* tickByTick: id, reqId, conId, symbol */
			s->got_sub_conid = atoll(f[2]);
			snprintf(s->got_sub_sym, sizeof(s->got_sub_sym), "%s", f[3]);
		}
	}
	/* one trade at 21000.5 x 2 */
	slob_tws_wr_begin(&w, buf, sizeof(buf));
	slob_tws_wr_int(&w, 99);
	slob_tws_wr_int(&w, 1001);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, 1767627000);
	slob_tws_wr_dbl(&w, 21000.5);
	slob_tws_wr_int(&w, 2);
	slob_tws_wr_int(&w, 0);
	slob_tws_wr_str(&w, "CME");
	slob_tws_wr_str(&w, "");
	k = slob_tws_wr_end(&w);
	(void)!write(fd, buf, (size_t)k);
	if (s->mode == SRV_OVERSIZE) {
		const uint8_t big[8] = {0x10, 0, 0, 0, '9', 0, '1', 0};
		(void)!write(fd, big, sizeof(big));
	}
	if (s->mode == SRV_SILENT || s->mode == SRV_ANSWERS) {
		/* the socket stays open; probes are read and (ANSWERS) answered
		 * until the client closes or 3 probes were answered */
		while (s->probes < 3 && (r = read_frame(fd, buf, sizeof(buf))) > 0) {
			if (strcmp((char *)buf, "49") != 0)
				continue;
			s->probes++;
			if (s->mode == SRV_SILENT)
				continue;
			slob_tws_wr_begin(&w, buf, sizeof(buf));
			slob_tws_wr_int(&w, 49);
			slob_tws_wr_int(&w, 1);
			slob_tws_wr_int(&w, 1767627001);
			k = slob_tws_wr_end(&w);
			(void)!write(fd, buf, (size_t)k);
		}
	}
	usleep(300000);
out:
	close(fd);
	return NULL;
}

static void srv_start(struct srv *s, int mode)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	socklen_t l = sizeof(a);
	getsockname(s->lfd, (struct sockaddr *)&a, &l);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls until pred or timeout; returns pred. */
#define POLL_UNTIL(md, pred, ms)                                                                   \
	do {                                                                                       \
		int64_t end_ = now_ms() + (ms);                                                    \
		while (!(pred) && now_ms() < end_) {                                               \
			slob_tws_md_poll((md), now_ms());                                          \
			usleep(1000);                                                              \
		}                                                                                  \
	} while (0)

static void run_md(int mode, struct slob_tws_md *md, slob_ring_t *ring, struct srv *s)
{
	struct slob_tws_params p;
	char err[100];
	slob_tws_params_default(&p);
	p.port = s->port;
	p.backoff_initial_ms = 60000; /* one attempt in this test */
	p.backoff_cap_ms = 60000;
	assert_int_equal(slob_tws_param_set(&p, "contract_month", "202603", err, sizeof(err)), 0);
	assert_int_equal(slob_ring_init(ring, "ticks", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_tws_md_init(md, &p, ring, NULL, 0), 0);
	(void)mode;
}

static void test_md_session(void **state)
{
	(void)state;
	struct srv s;
	static struct slob_tws_md md;
	slob_ring_t ring;
	srv_start(&s, SRV_OVERSIZE);
	run_md(SRV_OVERSIZE, &md, &ring, &s);
	POLL_UNTIL(&md, slob_tws_conn_ready(&md.conn), 3000);
	assert_true(slob_tws_conn_ready(&md.conn));
	assert_int_equal(md.conn.next_valid_id, 77);
	assert_string_equal(md.conn.accounts, "DU1");
	POLL_UNTIL(&md, md.ticks_in == 1, 3000);
	struct slob_tick t;
	memset(&t, 0, sizeof(t));
	assert_true(tc_tick_pop(&ring, &t));
	assert_int_equal(t.px, 84002); /* 21000.5 / 0.25 */
	assert_int_equal(t.size, 2);
	assert_int_equal(t.seq, 1);
	assert_int_equal(t.ts_ns, 1767627000LL * 1000000000);
	assert_true(t.flags & SLOB_TICK_LIVE);
	assert_false(t.flags & SLOB_TICK_GAP_BEFORE);
	/* then a 256 MiB length prefix: closed with a reason, reconnect scheduled */
	POLL_UNTIL(&md, md.conn.state == SLOB_TWS_DOWN, 3000);
	assert_int_equal(md.conn.state, SLOB_TWS_DOWN);
	assert_non_null(strstr(md.conn.why, "frame length"));
	assert_true(md.conn.next_attempt_ms > now_ms() + 50000);
	assert_string_equal(s.got_req, "97|1001|");
	/* the contract was resolved first; the subscription carries its conId */
	assert_string_equal(s.got_ct, "NQ|202603");
	assert_string_equal(s.got_sub_sym, "NQ");
	assert_int_equal(s.got_sub_conid, 620730920);
	assert_int_equal(md.contract.con_id, 620730920); /* kept after the drop */
	srv_stop(&s);
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

/* MNQ configured (point value 2): the request, the subscription and the
 * resolved contract name MNQ; a broker saying multiplier 20 for it is refused
 * with both values named, and nothing is subscribed. */
static void mnq_session(const char *broker_mult, struct srv *s, struct slob_tws_md *md,
			slob_ring_t *ring)
{
	struct slob_tws_params p;
	char err[100];
	srv_start(s, SRV_OK);
	s->symbol = "MNQ";
	s->multiplier = broker_mult;
	s->con_id = 730283097;
	slob_tws_params_default(&p);
	p.port = s->port;
	p.backoff_initial_ms = 60000;
	p.backoff_cap_ms = 60000;
	strcpy(p.symbol, "MNQ");
	p.multiplier = 2;
	assert_int_equal(slob_tws_param_set(&p, "contract_month", "202603", err, sizeof(err)), 0);
	assert_int_equal(slob_ring_init(ring, "ticks", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_tws_md_init(md, &p, ring, NULL, 0), 0);
	POLL_UNTIL(md, md->res.state == SLOB_TWS_CT_OK || md->res.state == SLOB_TWS_CT_REFUSED,
		   3000);
	POLL_UNTIL(md, md->ticks_in == 1, md->res.state == SLOB_TWS_CT_OK ? 3000 : 300);
}

static void test_md_mnq(void **state)
{
	(void)state;
	struct srv s;
	static struct slob_tws_md md;
	slob_ring_t ring;
	mnq_session("2", &s, &md, &ring);
	assert_int_equal(md.res.state, SLOB_TWS_CT_OK);
	srv_stop(&s);
	assert_string_equal(s.got_ct, "MNQ|202603");
	assert_string_equal(s.got_sub_sym, "MNQ");
	assert_int_equal(s.got_sub_conid, 730283097);
	assert_int_equal(md.contract.con_id, 730283097);
	assert_string_equal(md.contract.multiplier, "2");
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

static void test_md_multiplier_mismatch(void **state)
{
	(void)state;
	struct srv s;
	static struct slob_tws_md md;
	slob_ring_t ring;
	mnq_session("20", &s, &md, &ring);
	assert_int_equal(md.res.state, SLOB_TWS_CT_REFUSED);
	srv_stop(&s);
	assert_string_equal(s.got_req, ""); /* no subscription */
	assert_false(md.subscribed);
	assert_non_null(strstr(md.res.why, "point_value is 2 "));
	assert_non_null(strstr(md.res.why, "multiplier"));
	assert_non_null(strstr(md.res.why, "is 20"));
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

static void test_check_details(void **state)
{
	(void)state;
	struct slob_tws_params p;
	struct slob_tws_contract_details d;
	char why[200];
	slob_tws_params_default(&p);
	memset(&d, 0, sizeof(d));
	slob_tws_contract_nq(&d.c, "202603");
	strcpy(d.c.multiplier, "20");
	d.c.con_id = 1;
	d.min_tick = 0.25;
	assert_int_equal(slob_tws_check_details(&p, &d, why, sizeof(why)), 0);
	d.min_tick = 0.5;
	assert_int_equal(slob_tws_check_details(&p, &d, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "tick_size is 0.25"));
	assert_non_null(strstr(why, "is 0.5"));
	d.min_tick = 0.25;
	d.c.con_id = 0;
	assert_int_equal(slob_tws_check_details(&p, &d, why, sizeof(why)), -EINVAL);
	/* the configured contract: symbol, month by rule or configuration */
	struct slob_tws_contract c;
	strcpy(p.symbol, "MNQ");
	strcpy(p.trading_class, "MNQ");
	slob_tws_contract_from_params(&p, utc(2026, 3, 13), &c);
	assert_string_equal(c.symbol, "MNQ");
	assert_string_equal(c.expiry, "202606");
	assert_string_equal(c.trading_class, "MNQ");
	assert_int_equal(c.con_id, 0);
}

/*
 * The market-data session's connection records, applied to a stats file as
 * the cold thread does, show what the session did: connecting, up, down with
 * one drop. (Its records once carried bare 1/0, which the stats file read as
 * "market data connecting" while ticks flowed.)
 */
SLOB_RING_TYPED(tc_cold, struct slob_cold)

static void apply_conn_records(slob_ring_t *cr, slob_stats_t *st, int *seen)
{
	struct slob_cold rec;
	while (tc_cold_pop(cr, &rec)) {
		if (rec.type != SLOB_COLD_CONN)
			continue;
		assert_string_equal(rec.u.text.component, "tws-md");
		assert_int_equal(slob_conn_code_session(rec.u.text.code), SLOB_CONN_MD);
		seen[slob_conn_code_state(rec.u.text.code) % SLOB_CONN_NSTATES]++;
		assert_int_equal(slob_stats_status_apply_cold(st, &rec), 1);
	}
}

static void test_md_conn_records(void **state)
{
	(void)state;
	struct srv s;
	static struct slob_tws_md md;
	slob_ring_t ring, cring;
	struct slob_coldq q;
	slob_stats_t st;
	char path[256], err[256];
	snprintf(path, sizeof(path), "%s/test_tws_conn.%d.stats",
		 getenv("SLOB_TEST_TMP") ? getenv("SLOB_TEST_TMP") : "/tmp", (int)getpid());
	assert_int_equal(slob_stats_create(&st, path, err, sizeof(err)), 0);
	assert_int_equal(slob_ring_init(&cring, "cold", 64, sizeof(struct slob_cold)), 0);
	assert_int_equal(slob_coldq_init(&q, &cring, 0), 0);
	srv_start(&s, SRV_OK);
	struct slob_tws_params p;
	slob_tws_params_default(&p);
	p.port = s.port;
	p.backoff_initial_ms = 60000;
	p.backoff_cap_ms = 60000;
	assert_int_equal(slob_ring_init(&ring, "ticks", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_tws_md_init(&md, &p, &ring, &q, 0), 0);
	int seen[SLOB_CONN_NSTATES] = {0};
	POLL_UNTIL(&md, md.ticks_in == 1, 3000);
	apply_conn_records(&cring, &st, seen);
	assert_int_equal(seen[SLOB_CONN_CONNECTING], 1);
	assert_int_equal(seen[SLOB_CONN_UP], 1);
	assert_int_equal(st.status->conn[SLOB_STATS_CONN_MD], SLOB_CONN_UP);
	assert_int_equal(st.status->conn[SLOB_STATS_CONN_ORDERS], SLOB_CONN_DOWN);
	assert_true(st.status->conn_since_ns[SLOB_STATS_CONN_MD] > 0);
	/* the server closes after its tick: down, one drop */
	POLL_UNTIL(&md, md.conn.state == SLOB_TWS_DOWN, 3000);
	apply_conn_records(&cring, &st, seen);
	assert_int_equal(seen[SLOB_CONN_DOWN], 1);
	assert_int_equal(st.status->conn[SLOB_STATS_CONN_MD], SLOB_CONN_DOWN);
	assert_int_equal(st.status->conn_drops[SLOB_STATS_CONN_MD], 1);
	srv_stop(&s);
	slob_tws_md_destroy(&md);
	slob_coldq_destroy(&q);
	slob_ring_destroy(&cring);
	slob_ring_destroy(&ring);
	slob_stats_close(&st);
	unlink(path);
}

/* Silence (design note 7): a server that keeps the socket open and stops
 * writing is probed once, then declared stale and dropped; one that answers
 * the probes is never stale. */
static void run_silence(int mode, struct slob_tws_md *md, slob_ring_t *ring, struct srv *s)
{
	struct slob_tws_params p;
	char err[100];
	srv_start(s, mode);
	slob_tws_params_default(&p);
	p.port = s->port;
	p.backoff_initial_ms = 60000;
	p.backoff_cap_ms = 60000;
	assert_int_equal(slob_tws_param_set(&p, "silence_ms", "150", err, sizeof(err)), 0);
	assert_int_equal(slob_tws_param_set(&p, "probe_timeout_ms", "150", err, sizeof(err)), 0);
	assert_int_equal(slob_tws_param_set(&p, "md_silence_check", "always", err, sizeof(err)), 0);
	assert_int_equal(slob_ring_init(ring, "ticks", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_tws_md_init(md, &p, ring, NULL, 0), 0);
	POLL_UNTIL(md, md->ticks_in == 1, 3000);
	assert_int_equal(md->ticks_in, 1);
}

static void test_silence_stale(void **state)
{
	(void)state;
	struct srv s;
	static struct slob_tws_md md;
	slob_ring_t ring;
	run_silence(SRV_SILENT, &md, &ring, &s);
	POLL_UNTIL(&md, md.conn.state == SLOB_TWS_DOWN, 3000);
	assert_int_equal(md.conn.state, SLOB_TWS_DOWN);
	assert_int_equal(md.conn.probes, 1);
	assert_int_equal(md.conn.stale, 1);
	assert_int_equal(s.probes, 1);
	assert_non_null(strstr(md.conn.why, "stale: nothing received for"));
	assert_non_null(strstr(md.conn.why, "reqCurrentTime unanswered"));
	assert_true(md.conn.next_attempt_ms > now_ms() + 50000); /* reconnect scheduled */
	srv_stop(&s);
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

static void test_silence_answered(void **state)
{
	(void)state;
	struct srv s;
	static struct slob_tws_md md;
	slob_ring_t ring;
	run_silence(SRV_ANSWERS, &md, &ring, &s);
	POLL_UNTIL(&md, s.probes >= 3 || md.conn.state == SLOB_TWS_DOWN, 5000);
	assert_int_equal(s.probes, 3);
	assert_true(md.conn.probes >= 3);
	assert_int_equal(md.conn.stale, 0);
	/* the server then closes: an ordinary loss, not staleness */
	POLL_UNTIL(&md, md.conn.state == SLOB_TWS_DOWN, 3000);
	assert_int_equal(md.conn.stale, 0);
	assert_null(strstr(md.conn.why, "stale"));
	srv_stop(&s);
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

/* CME Globex hours in New York time, with the holiday calendar. */
static void test_market_open(void **state)
{
	(void)state;
	static struct slob_tz tz;
	if (slob_tz_load(&tz, "America/New_York", 2020, 2030) != 0)
		skip();
	struct slob_calendar cal;
	slob_calendar_init(&cal);
	char err[200];
	assert_int_equal(slob_calendar_parse_holidays(&cal, "2026-12-25 Christmas\n2026-11-27 13:15 Thanksgiving Fri\n",
						      "test", err, sizeof(err)), 2);
	/* UTC instants (New York is UTC-5 in winter, UTC-4 in summer) */
#define AT(y, mo, d, h, mi) ((int64_t)timegm(&(struct tm){.tm_year = (y)-1900, .tm_mon = (mo)-1, .tm_mday = (d), .tm_hour = (h), .tm_min = (mi)}) * 1000000000LL)
	assert_true(slob_tws_market_open(&tz, &cal, AT(2026, 12, 7, 15, 0)));   /* Mon 10:00 */
	assert_false(slob_tws_market_open(&tz, &cal, AT(2026, 12, 7, 22, 30))); /* Mon 17:30 break */
	assert_true(slob_tws_market_open(&tz, &cal, AT(2026, 12, 7, 23, 0)));   /* Mon 18:00 */
	assert_false(slob_tws_market_open(&tz, &cal, AT(2026, 12, 11, 22, 0))); /* Fri 17:00 */
	assert_false(slob_tws_market_open(&tz, &cal, AT(2026, 12, 12, 15, 0))); /* Saturday */
	assert_false(slob_tws_market_open(&tz, &cal, AT(2026, 12, 13, 22, 59))); /* Sun 17:59 */
	assert_true(slob_tws_market_open(&tz, &cal, AT(2026, 12, 13, 23, 0)));  /* Sun 18:00 */
	assert_false(slob_tws_market_open(&tz, &cal, AT(2026, 12, 25, 15, 0))); /* Christmas */
	assert_true(slob_tws_market_open(&tz, &cal, AT(2026, 11, 27, 18, 0)));  /* 13:00 early-close day */
	assert_false(slob_tws_market_open(&tz, &cal, AT(2026, 11, 27, 18, 30))); /* 13:30 */
	assert_true(slob_tws_market_open(&tz, &cal, AT(2026, 7, 6, 14, 0)));    /* summer Mon 10:00 */
	assert_false(slob_tws_market_open(&tz, &cal, AT(2026, 7, 6, 21, 30)));  /* summer 17:30 */
	assert_true(slob_tws_market_open(NULL, NULL, AT(2026, 12, 12, 15, 0))); /* no calendar: open */
#undef AT
	slob_calendar_destroy(&cal);
}

static void test_wrong_version(void **state)
{
	(void)state;
	struct srv s;
	static struct slob_tws_md md;
	slob_ring_t ring;
	srv_start(&s, SRV_BAD_VERSION);
	run_md(SRV_BAD_VERSION, &md, &ring, &s);
	POLL_UNTIL(&md, md.conn.disconnects > 0, 3000);
	assert_int_equal(md.conn.state, SLOB_TWS_DOWN);
	assert_non_null(strstr(md.conn.why, "server version 150"));
	assert_int_equal(md.conn.failures, 1);
	srv_stop(&s);
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

static void test_refused(void **state)
{
	(void)state;
	/* a port nobody listens on: bind, learn the port, close */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	struct slob_tws_params p;
	slob_tws_params_default(&p);
	p.port = ntohs(a.sin_port);
	p.backoff_initial_ms = 10;
	p.backoff_cap_ms = 40;
	p.backoff_jitter_pct = 0;
	static struct slob_tws_conn c;
	assert_int_equal(slob_tws_conn_init(&c, &p, 3, NULL, NULL, NULL), 0);
	int64_t end = now_ms() + 2000;
	while (c.failures < 4 && now_ms() < end) {
		slob_tws_conn_poll(&c, now_ms());
		usleep(1000);
	}
	assert_true(c.failures >= 4);
	assert_non_null(strstr(c.why, "IB 502"));
	/* capped backoff: the next attempt is at most 40 ms away */
	assert_true(c.next_attempt_ms - now_ms() <= 40);
	slob_tws_conn_destroy(&c);
}

/* ---- fake broker (order session): contract lookup, reconciliation replies,
 * executions; serves up to BS_CONNS connections one after the other ------- */

#define BS_CONNS 4
#define BS_MAXEX 512
enum { BS_CT_ANSWER = 0, BS_CT_SILENT, BS_CT_REFUSE };

struct bsrv {
	int lfd, port;
	pthread_t th;
	int ct_mode;             /* BS_CT_* */
	int nlive;               /* first connection: live executions after execDetailsEnd */
	int64_t con_id;          /* of the answered contract and of the executions */
	int64_t other_con_id;    /* != 0: the live executions name this contract instead */
	int max_conns;
	int conns;               /* connections accepted */
	int ct_asks;             /* reqContractDetails received (all connections) */
	int probes;              /* reqCurrentTime answered */
	char asked[BS_CONNS][16]; /* expiry of the first lookup of each connection */
	int nexec;               /* executions so far (all BOT 1, own orderRef) */
	int64_t ex_con[BS_MAXEX];
	const char *net_liq;     /* != NULL: answer account summaries, NetLiquidation this */
	volatile int stop;
};

static void bs_send(int fd, struct slob_tws_wr *w)
{
	int k = slob_tws_wr_end(w);
	if (k > 0)
		(void)!write(fd, w->buf, (size_t)k);
}

static void bs_exec(int fd, int64_t req, int i, int64_t con_id)
{
	uint8_t m[2048];
	char eid[32];
	struct slob_tws_wr w;
	snprintf(eid, sizeof(eid), "0000e0f1.%08d.01.01", i);
	slob_tws_wr_begin(&w, m, sizeof(m));
	slob_tws_wr_int(&w, SLOB_TWS_EXECUTION_DATA);
	slob_tws_wr_int(&w, req);
	slob_tws_wr_int(&w, 500);
	slob_tws_wr_int(&w, con_id);
	slob_tws_wr_str(&w, "NQ");
	slob_tws_wr_str(&w, "FUT");
	slob_tws_wr_str(&w, con_id == 620730920 ? "20260320" : "20260619");
	slob_tws_wr_str(&w, "0");
	slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, "20");
	slob_tws_wr_str(&w, "CME");
	slob_tws_wr_str(&w, "USD");
	slob_tws_wr_str(&w, con_id == 620730920 ? "NQH6" : "NQM6");
	slob_tws_wr_str(&w, "NQ");
	slob_tws_wr_str(&w, eid);
	slob_tws_wr_str(&w, "20260311 10:00:00 UTC");
	slob_tws_wr_str(&w, "DU1");
	slob_tws_wr_str(&w, "CME");
	slob_tws_wr_str(&w, "BOT");
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_dbl(&w, 21000.25);
	slob_tws_wr_int(&w, 9000 + i);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, 0);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_dbl(&w, 21000.25);
	slob_tws_wr_str(&w, "SLOB_00000000000000a1_ENTRY");
	slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, "");
	slob_tws_wr_int(&w, 2);
	slob_tws_wr_int(&w, 0);
	slob_tws_wr_str(&w, "");
	bs_send(fd, &w);
}

static void bs_serve(struct bsrv *s, int fd, int conn)
{
	uint8_t buf[4096], out[4096];
	struct slob_tws_wr w;
	if (read_n(fd, buf, 8) || memcmp(buf, "API\0", 4) != 0)
		return;
	uint32_t n = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	if (n > 64 || read_n(fd, buf, n))
		return;
	int k = slob_tws_enc_server_hello(buf, sizeof(buf), 200, "20260105 09:30:00 UTC");
	(void)!write(fd, buf, (size_t)k);
	if (read_frame(fd, buf, sizeof(buf)) < 0) /* startApi */
		return;
	slob_tws_wr_begin(&w, out, sizeof(out));
	slob_tws_wr_int(&w, SLOB_TWS_NEXT_VALID_ID);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, 1000 + conn * 100);
	bs_send(fd, &w);
	struct timeval tv = {.tv_usec = 100000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int lookups = 0;
	while (!s->stop) {
		int r = read_frame(fd, buf, sizeof(buf) - 1);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (r <= 0)
			return;
		const char *f[64];
		int nf = slob_tws_split(buf, (size_t)r, f, 64);
		if (nf < 1)
			continue;
		int id = atoi(f[0]);
		if (id == SLOB_TWS_REQ_CONTRACT_DATA && nf > 6) {
			s->ct_asks++;
			if (lookups++ == 0)
				snprintf(s->asked[conn], sizeof(s->asked[conn]), "%.15s", f[6]);
			int64_t rq = atoll(f[2]);
			if (s->ct_mode == BS_CT_REFUSE) {
				slob_tws_wr_begin(&w, out, sizeof(out));
				slob_tws_wr_int(&w, SLOB_TWS_ERR_MSG);
				slob_tws_wr_int(&w, rq);
				slob_tws_wr_int(&w, 200);
				slob_tws_wr_str(&w, "No security definition has been found for the request");
				slob_tws_wr_str(&w, "");
				slob_tws_wr_int(&w, 0);
				bs_send(fd, &w);
			} else if (s->ct_mode == BS_CT_ANSWER) {
				struct slob_tws_contract_details d;
				memset(&d, 0, sizeof(d));
				slob_tws_contract_nq(&d.c, "202603");
				strcpy(d.c.multiplier, "20");
				strcpy(d.c.local_symbol, "NQH6");
				d.c.con_id = s->con_id;
				strcpy(d.last_trade_date, "20260320");
				d.min_tick = 0.25;
				k = slob_tws_enc_contract_details(out, sizeof(out), rq, &d);
				(void)!write(fd, out, (size_t)k);
				k = slob_tws_enc_contract_details_end(out, sizeof(out), rq);
				(void)!write(fd, out, (size_t)k);
			}
		} else if (id == SLOB_TWS_REQ_POSITIONS) {
			int pos = 0;
			for (int i = 0; i < s->nexec; i++)
				pos += s->ex_con[i] == s->con_id;
			if (pos != 0) {
				slob_tws_wr_begin(&w, out, sizeof(out));
				slob_tws_wr_int(&w, SLOB_TWS_POSITION_DATA);
				slob_tws_wr_int(&w, 3);
				slob_tws_wr_str(&w, "DU1");
				slob_tws_wr_int(&w, s->con_id);
				slob_tws_wr_str(&w, "NQ");
				slob_tws_wr_str(&w, "FUT");
				slob_tws_wr_str(&w, "20260320");
				slob_tws_wr_str(&w, "0");
				slob_tws_wr_str(&w, "");
				slob_tws_wr_str(&w, "20");
				slob_tws_wr_str(&w, "");
				slob_tws_wr_str(&w, "USD");
				slob_tws_wr_str(&w, "NQH6");
				slob_tws_wr_str(&w, "NQ");
				slob_tws_wr_int(&w, pos);
				slob_tws_wr_dbl(&w, 420005.0);
				bs_send(fd, &w);
			}
			slob_tws_wr_begin(&w, out, sizeof(out));
			slob_tws_wr_int(&w, SLOB_TWS_POSITION_END);
			slob_tws_wr_int(&w, 1);
			bs_send(fd, &w);
		} else if (id == SLOB_TWS_REQ_ALL_OPEN_ORDERS) {
			slob_tws_wr_begin(&w, out, sizeof(out));
			slob_tws_wr_int(&w, SLOB_TWS_OPEN_ORDER_END);
			slob_tws_wr_int(&w, 1);
			bs_send(fd, &w);
		} else if (id == SLOB_TWS_REQ_EXECUTIONS && nf > 2) {
			int64_t rq = atoll(f[2]);
			for (int i = 0; i < s->nexec; i++) /* the whole day again */
				bs_exec(fd, rq, i, s->ex_con[i]);
			slob_tws_wr_begin(&w, out, sizeof(out));
			slob_tws_wr_int(&w, SLOB_TWS_EXECUTION_DATA_END);
			slob_tws_wr_int(&w, 1);
			slob_tws_wr_int(&w, rq);
			bs_send(fd, &w);
			if (conn == 0 && s->nlive > 0) {
				/* fills while connected, then the connection is lost */
				for (int i = 0; i < s->nlive && s->nexec < BS_MAXEX; i++) {
					int64_t cid = s->other_con_id ? s->other_con_id : s->con_id;
					s->ex_con[s->nexec] = cid;
					bs_exec(fd, -1, s->nexec++, cid);
				}
				usleep(200000);
				return;
			}
		} else if (id == SLOB_TWS_REQ_ACCOUNT_SUMMARY && nf > 2 && s->net_liq) {
			static const char *const fig[2][2] = {{"NetLiquidation", NULL},
							      {"AvailableFunds", "50000"}};
			int64_t rq = atoll(f[2]);
			for (int i = 0; i < 2; i++) {
				slob_tws_wr_begin(&w, out, sizeof(out));
				slob_tws_wr_int(&w, SLOB_TWS_ACCOUNT_SUMMARY);
				slob_tws_wr_int(&w, 1);
				slob_tws_wr_int(&w, rq);
				slob_tws_wr_str(&w, "DU1");
				slob_tws_wr_str(&w, fig[i][0]);
				slob_tws_wr_str(&w, i == 0 ? s->net_liq : fig[i][1]);
				slob_tws_wr_str(&w, "USD");
				bs_send(fd, &w);
			}
			slob_tws_wr_begin(&w, out, sizeof(out));
			slob_tws_wr_int(&w, SLOB_TWS_ACCOUNT_SUMMARY_END);
			slob_tws_wr_int(&w, 1);
			slob_tws_wr_int(&w, rq);
			bs_send(fd, &w);
		} else if (id == SLOB_TWS_REQ_CURRENT_TIME) {
			s->probes++;
			slob_tws_wr_begin(&w, out, sizeof(out));
			slob_tws_wr_int(&w, SLOB_TWS_CURRENT_TIME);
			slob_tws_wr_int(&w, 1);
			slob_tws_wr_int(&w, 1767627001);
			bs_send(fd, &w);
		}
	}
}

static void *bs_main(void *arg)
{
	struct bsrv *s = arg;
	while (!s->stop && s->conns < s->max_conns) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		if (s->stop) {
			close(fd);
			break;
		}
		bs_serve(s, fd, s->conns++);
		close(fd);
	}
	return NULL;
}

static void bs_start(struct bsrv *s, int ct_mode, int max_conns)
{
	memset(s, 0, sizeof(*s));
	s->ct_mode = ct_mode;
	s->max_conns = max_conns;
	s->con_id = 620730920;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	socklen_t l = sizeof(a);
	getsockname(s->lfd, (struct sockaddr *)&a, &l);
	s->port = ntohs(a.sin_port);
}

static void bs_run(struct bsrv *s)
{
	assert_int_equal(pthread_create(&s->th, NULL, bs_main, s), 0);
}

static void bs_stop(struct bsrv *s)
{
	s->stop = 1;
	shutdown(s->lfd, SHUT_RDWR); /* wakes accept */
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static void bs_params(struct slob_tws_params *p, const struct bsrv *s)
{
	char err[100];
	slob_tws_params_default(p);
	p->port = s->port;
	p->backoff_initial_ms = 50;
	p->backoff_cap_ms = 400;
	p->backoff_jitter_pct = 0;
	p->silence_ms = 0;
	assert_int_equal(slob_tws_param_set(p, "contract_month", "202603", err, sizeof(err)), 0);
}

#define BPOLL_UNTIL(b, pred, ms)                                                                   \
	do {                                                                                       \
		int64_t end_ = now_ms() + (ms);                                                    \
		while (!(pred) && now_ms() < end_) {                                               \
			slob_tws_broker_poll((b), now_ms());                                       \
			usleep(1000);                                                              \
		}                                                                                  \
	} while (0)

/*
 * More own fills than the old 256-entry duplicate ring held, then the
 * connection drops and the reconnect's executions reply repeats the whole
 * day: every fill is booked exactly once (the position stays 300 and
 * matches the broker's; none is booked from the replay).
 */
static void test_exec_booked_once(void **state)
{
	(void)state;
	struct bsrv s;
	static struct slob_tws_broker b;
	struct slob_tws_params p;
	bs_start(&s, BS_CT_ANSWER, 2);
	s.nlive = 300;
	bs_params(&p, &s);
	assert_int_equal(slob_tws_broker_init(&b, &p, NULL, 0, 0, NULL, 0), 0);
	bs_run(&s);
	BPOLL_UNTIL(&b, b.conn.connects == 2 && slob_tws_conn_ready(&b.conn) && b.rec_done, 5000);
	assert_int_equal(b.conn.connects, 2);
	assert_true(b.rec_done);
	assert_int_equal(s.nexec, 300);
	assert_int_equal(b.known_position, 300);
	assert_int_equal(b.broker_position, 300);
	assert_int_equal(b.pass_booked, 0);
	assert_int_equal(b.unknown_found, 0);
	assert_int_equal(b.exec_set_n, 300);
	bs_stop(&s);
	slob_tws_broker_destroy(&b);
}

/*
 * An account figure beyond 1e11 USD is not an amount: logged and not stored
 * (risk holds entries as account_stale), never passed on to products that
 * would overflow int64 cents; one just inside the bound is taken.
 */
static void test_account_amount_bound(void **state)
{
	(void)state;
	static const struct {
		const char *net_liq;
		bool taken;
	} rows[] = {{"150000000000", false}, {"-1.5e11", false}, {"99999999999.99", true}};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bsrv s;
		static struct slob_tws_broker b;
		struct slob_tws_params p;
		bs_start(&s, BS_CT_ANSWER, 1);
		s.net_liq = rows[i].net_liq;
		bs_params(&p, &s);
		assert_int_equal(slob_tws_broker_init(&b, &p, NULL, 0, 0, NULL, 0), 0);
		bs_run(&s);
		BPOLL_UNTIL(&b, b.acct_end_seen, 5000);
		assert_true(b.acct_end_seen);
		assert_true(b.acct.have & SLOB_ACCT_AVAILABLE);
		assert_true(b.acct.available_cents == 5000000);
		assert_int_equal(!!(b.acct.have & SLOB_ACCT_NET_LIQ), rows[i].taken);
		if (rows[i].taken)
			assert_true(b.acct.net_liq_cents == 9999999999999LL);
		bs_stop(&s);
		slob_tws_broker_destroy(&b);
	}
}

/*
 * Roll policy (design note 12): the month is picked once, at init. The
 * process started on 2026-03-11 (front month 202603); by the wall clock of
 * the later connections the roll date has passed (the rule now says a later
 * month), and every connection of both sessions still asks for 202603.
 */
static void test_roll_keeps_month(void **state)
{
	(void)state;
	struct bsrv s;
	static struct slob_tws_broker b;
	struct slob_tws_params p;
	char err[100];
	bs_start(&s, BS_CT_ANSWER, 2);
	s.nlive = 1; /* one fill, then the connection drops */
	bs_params(&p, &s);
	assert_int_equal(slob_tws_param_set(&p, "contract_month", "auto", err, sizeof(err)), 0);
	char now_month[7];
	slob_tws_front_month((int64_t)time(NULL) * 1000000000, p.roll_days, now_month);
	assert_string_not_equal(now_month, "202603"); /* the clock is past that roll */
	assert_int_equal(slob_tws_broker_init(&b, &p, NULL, 0, 0, NULL, utc(2026, 3, 11)), 0);
	bs_run(&s);
	BPOLL_UNTIL(&b, b.conn.connects == 2 && slob_tws_conn_ready(&b.conn) && b.rec_done, 5000);
	assert_true(b.rec_done);
	assert_string_equal(s.asked[0], "202603");
	assert_string_equal(s.asked[1], "202603");
	assert_string_equal(b.contract.expiry, "202603");
	assert_int_equal(b.contract.con_id, 620730920);
	assert_int_equal(b.known_position, 1);
	assert_int_equal(b.broker_position, 1);
	assert_int_equal(b.unknown_found, 0);
	bs_stop(&s);
	slob_tws_broker_destroy(&b);

	/* market data: the same month on its (first and every) connection */
	struct srv m;
	static struct slob_tws_md md;
	slob_ring_t ring;
	srv_start(&m, SRV_OK);
	slob_tws_params_default(&p);
	p.port = m.port;
	p.backoff_initial_ms = 60000;
	p.backoff_cap_ms = 60000;
	assert_int_equal(slob_ring_init(&ring, "ticks", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_tws_md_init(&md, &p, &ring, NULL, utc(2026, 3, 11)), 0);
	POLL_UNTIL(&md, md.ticks_in == 1, 3000);
	srv_stop(&m);
	assert_string_equal(m.got_ct, "NQ|202603");
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

/* An execution with slob's own orderRef in another contract (an order of
 * the month before a roll) is slob's: booked, with a warning, not left
 * alone as foreign. */
static void test_own_exec_other_contract(void **state)
{
	(void)state;
	struct bsrv s;
	static struct slob_tws_broker b;
	struct slob_tws_params p;
	bs_start(&s, BS_CT_ANSWER, 1);
	s.nlive = 2;
	s.other_con_id = 637533641;
	bs_params(&p, &s);
	assert_int_equal(slob_tws_broker_init(&b, &p, NULL, 0, 0, NULL, 0), 0);
	bs_run(&s);
	BPOLL_UNTIL(&b, b.known_position == 2 || b.conn.disconnects > 0, 5000);
	BPOLL_UNTIL(&b, b.conn.disconnects > 0, 5000);
	assert_int_equal(b.known_position, 2);
	assert_int_equal(b.foreign_found, 0);
	assert_int_equal(b.exec_set_n, 2);
	bs_stop(&s);
	slob_tws_broker_destroy(&b);
}

/*
 * Market data whose contract lookup is never answered (design note 11):
 * the session asks again with backoff on the same connection, and while
 * unresolved it is not "quiet": the silence probe runs. (It once sent the
 * lookup once and then sat READY, unsubscribed, never probed, for good.)
 */
static void test_md_lookup_unanswered(void **state)
{
	(void)state;
	struct bsrv s;
	static struct slob_tws_md md;
	slob_ring_t ring;
	struct slob_tws_params p;
	char err[100];
	bs_start(&s, BS_CT_SILENT, 1);
	bs_params(&p, &s);
	p.reconcile_timeout_ms = 150; /* the lookup's answer is due within this */
	assert_int_equal(slob_tws_param_set(&p, "silence_ms", "200", err, sizeof(err)), 0);
	assert_int_equal(slob_ring_init(&ring, "ticks", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_tws_md_init(&md, &p, &ring, NULL, 0), 0);
	bs_run(&s);
	POLL_UNTIL(&md, s.ct_asks >= 4 && md.conn.probes >= 1, 4000);
	assert_true(s.ct_asks >= 4);
	assert_true(md.res.timeouts >= 3);
	assert_true(md.conn.probes >= 1);
	assert_int_equal(md.conn.stale, 0); /* the probes are answered */
	assert_int_equal(s.conns, 1);
	assert_false(md.subscribed);
	bs_stop(&s);
	slob_tws_md_destroy(&md);
	slob_ring_destroy(&ring);
}

/*
 * A refused contract (design note 11): no reconciliation timer runs (so no
 * "reconciliation timed out" blaming positionEnd, no drop every timeout);
 * the lookup is asked again on the same connection with a growing delay,
 * and the CRITICAL alert goes out on refusals 1, 2, 4, 8 ... only.
 */
static void test_refused_contract_alerts(void **state)
{
	(void)state;
	struct bsrv s;
	static struct slob_tws_broker b;
	struct slob_tws_params p;
	slob_ring_t cring;
	struct slob_coldq q;
	bs_start(&s, BS_CT_REFUSE, BS_CONNS);
	bs_params(&p, &s);
	p.reconcile_timeout_ms = 100;
	p.backoff_initial_ms = 20;
	p.backoff_cap_ms = 160;
	assert_int_equal(slob_ring_init(&cring, "cold", 1024, sizeof(struct slob_cold)), 0);
	assert_int_equal(slob_coldq_init(&q, &cring, 0), 0);
	assert_int_equal(slob_tws_broker_init(&b, &p, NULL, 0, 0, &q, 0), 0);
	bs_run(&s);
	BPOLL_UNTIL(&b, b.res.refusals >= 9, 5000);
	unsigned critical = 0, rec_timeouts = 0, logged = 0;
	struct slob_cold rec;
	while (tc_cold_pop(&cring, &rec)) {
		if (rec.type == SLOB_COLD_ALERT && rec.u.text.level == SLOB_LVL_CRITICAL &&
		    strstr(rec.u.text.text, "contract refused") != NULL)
			critical++;
		if (rec.type == SLOB_COLD_LOG && strstr(rec.u.text.text, "contract refused") != NULL)
			logged++;
		if (strstr(rec.u.text.text, "reconciliation timed out") != NULL)
			rec_timeouts++;
	}
	assert_int_equal(rec_timeouts, 0); /* the old code: one every timeout */
	assert_int_equal(b.conn.connects, 1);
	assert_true(b.res.refusals >= 9);
	unsigned want = 0;
	for (uint64_t k = 1; k <= b.res.refusals; k *= 2)
		want++;
	assert_int_equal(critical, want); /* 1, 2, 4, 8 */
	assert_true(logged >= 9);       /* every refusal is logged */
	assert_int_equal(b.rec_timeouts, 0);
	assert_true(s.ct_asks >= 9);
	bs_stop(&s);
	slob_tws_broker_destroy(&b);
	slob_coldq_destroy(&q);
	slob_ring_destroy(&cring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_front_month),
		cmocka_unit_test(test_md_session),
		cmocka_unit_test(test_md_mnq),
		cmocka_unit_test(test_md_multiplier_mismatch),
		cmocka_unit_test(test_check_details),
		cmocka_unit_test(test_md_conn_records),
		cmocka_unit_test(test_silence_stale),
		cmocka_unit_test(test_silence_answered),
		cmocka_unit_test(test_market_open),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_exec_booked_once),
		cmocka_unit_test(test_account_amount_bound),
		cmocka_unit_test(test_roll_keeps_month),
		cmocka_unit_test(test_own_exec_other_contract),
		cmocka_unit_test(test_md_lookup_unanswered),
		cmocka_unit_test(test_refused_contract_alerts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
