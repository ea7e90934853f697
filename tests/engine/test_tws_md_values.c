/* SPDX-License-Identifier: MIT */
/*
 * test_tws_md_values.c: the live market-data session against an in-process
 * fake gateway on 127.0.0.1, fed well-framed tickByTick Last messages whose
 * VALUES are wrong: a price of 1e12 (before: wrapped into the int32 tick
 * count, 346361856.0 points), 1e308, Infinity, -0 and 0, sizes of 1e300, 5e9
 * (beyond uint32), -5 and unset, exchange times in 2090, at INT64_MAX and
 * INT64_MIN seconds (before: a signed overflow) and an hour off the receive
 * clock. Only the good ticks, interleaved, reach the tick ring, with their
 * exact prices; every bad one is counted by reason; the session stays up;
 * a run of 120 bad ticks raises one alert through the cold queue.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "engine/tws_conn.h"

SLOB_RING_TYPED(mv_tick, struct slob_tick)

struct bad {
	const char *time; /* NULL: now */
	const char *price, *size;
	int reason; /* enum slob_tickrej */
};

static const struct bad bads[] = {
    {NULL, "1000000000000", "1", SLOB_TICKREJ_PRICE_RANGE},
    {NULL, "1e308", "1", SLOB_TICKREJ_PRICE_RANGE},
    {NULL, "Infinity", "1", SLOB_TICKREJ_PRICE_RANGE},
    {NULL, "-0", "1", SLOB_TICKREJ_BAD_PRICE},
    {NULL, "0", "1", SLOB_TICKREJ_BAD_PRICE},
    {NULL, "-21000", "1", SLOB_TICKREJ_BAD_PRICE},
    {NULL, "21000.5", "1e300", SLOB_TICKREJ_BAD_SIZE},
    {NULL, "21000.5", "5000000000", SLOB_TICKREJ_BAD_SIZE},
    {NULL, "21000.5", "-5", SLOB_TICKREJ_BAD_SIZE},
    {NULL, "21000.5", "", SLOB_TICKREJ_BAD_SIZE},
    {"3786912000", "21000.5", "1", SLOB_TICKREJ_TS_RANGE}, /* 2090 */
    {"9223372036854775807", "21000.5", "1", SLOB_TICKREJ_TS_RANGE},
    {"-9223372036854775808", "21000.5", "1", SLOB_TICKREJ_TS_RANGE},
    {"+3600", "21000.5", "1", SLOB_TICKREJ_TS_SKEW}, /* an hour ahead of the clock */
    {NULL, "30000", "1", SLOB_TICKREJ_PRICE_JUMP},   /* +43 % */
};
#define NBAD (sizeof(bads) / sizeof(bads[0]))
#define NRUN 120 /* rejected in a row: alerted once (alert_run 50), not 120 times */

struct srv {
	int lfd, port;
	pthread_t th;
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

static void send_last(int fd, const char *time_s, const char *price, const char *size)
{
	uint8_t buf[512];
	char now[32];
	struct slob_tws_wr w;
	if (time_s == NULL || time_s[0] == '+') {
		long long t = (long long)time(NULL) + (time_s ? atoll(time_s + 1) : 0);
		snprintf(now, sizeof(now), "%lld", t);
		time_s = now;
	}
	slob_tws_wr_begin(&w, buf, sizeof(buf));
	slob_tws_wr_int(&w, 99);
	slob_tws_wr_int(&w, 1001);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_str(&w, time_s);
	slob_tws_wr_str(&w, price);
	slob_tws_wr_str(&w, size);
	slob_tws_wr_int(&w, 0);
	slob_tws_wr_str(&w, "CME");
	slob_tws_wr_str(&w, "");
	int k = slob_tws_wr_end(&w);
	(void)!write(fd, buf, (size_t)k);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t buf[4096];
	if (read_n(fd, buf, 8) || memcmp(buf, "API\0", 4) != 0)
		goto out;
	uint32_t n =
	    (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	if (n > 64 || read_n(fd, buf, n))
		goto out;
	int k = slob_tws_enc_server_hello(buf, sizeof(buf), 200, "20260105 09:30:00 UTC");
	(void)!write(fd, buf, (size_t)k);
	if (read_frame(fd, buf, sizeof(buf)) < 0) /* startApi */
		goto out;
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, buf, sizeof(buf));
	slob_tws_wr_int(&w, 9);
	slob_tws_wr_int(&w, 1);
	slob_tws_wr_int(&w, 77);
	k = slob_tws_wr_end(&w);
	(void)!write(fd, buf, (size_t)k);
	/* the session confirms its contract before it subscribes */
	int r = read_frame(fd, buf, sizeof(buf));
	const char *f[64];
	int nf = r > 0 ? slob_tws_split(buf, (size_t)r, f, 64) : 0;
	if (nf < 3 || strcmp(f[0], "9") != 0)
		goto out;
	struct slob_tws_contract_details d;
	memset(&d, 0, sizeof(d));
	slob_tws_contract_nq(&d.c, "202603");
	strcpy(d.c.multiplier, "20");
	strcpy(d.c.local_symbol, "NQH6");
	d.c.con_id = 620730920;
	d.min_tick = 0.25;
	int64_t rq = atoll(f[2]);
	k = slob_tws_enc_contract_details(buf + 2048, 2048, rq, &d);
	(void)!write(fd, buf + 2048, (size_t)k);
	k = slob_tws_enc_contract_details_end(buf + 2048, 2048, rq);
	(void)!write(fd, buf + 2048, (size_t)k);
	if (read_frame(fd, buf, sizeof(buf)) < 0) /* the subscription */
		goto out;
	send_last(fd, NULL, "21000.5", "2");
	for (size_t i = 0; i < NBAD; i++) {
		send_last(fd, bads[i].time, bads[i].price, bads[i].size);
		send_last(fd, NULL, "21000.5", "2");
	}
	for (int i = 0; i < NRUN; i++) /* a broken feed: a run of zero prices */
		send_last(fd, NULL, "0", "1");
	send_last(fd, NULL, "21000.5", "2");
	usleep(500000);
out:
	close(fd);
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_bad_values(void **state)
{
	(void)state;
	struct srv s = {0};
	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s.lfd, 4), 0);
	socklen_t l = sizeof(a);
	getsockname(s.lfd, (struct sockaddr *)&a, &l);
	s.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s.th, NULL, srv_main, &s), 0);

	struct slob_tws_params p;
	char err[100];
	slob_tws_params_default(&p);
	p.port = s.port;
	p.backoff_initial_ms = 60000;
	p.backoff_cap_ms = 60000;
	assert_int_equal(slob_tws_param_set(&p, "contract_month", "202603", err, sizeof(err)), 0);
	static struct slob_tws_md md;
	slob_ring_t ring;
	assert_int_equal(slob_ring_init(&ring, "ticks", 64, sizeof(struct slob_tick)), 0);
	slob_ring_t cring;
	struct slob_coldq q;
	assert_int_equal(slob_ring_init(&cring, "cold", 256, sizeof(struct slob_cold)), 0);
	assert_int_equal(slob_coldq_init(&q, &cring, 0), 0);
	assert_int_equal(slob_tws_md_init(&md, &p, &ring, &q, 0), 0);
	struct slob_tickcheck_params cp;
	slob_tickcheck_params_default(&cp); /* as slobd live: the skew check on */
	slob_tws_md_set_check(&md, &cp);

	struct slob_tick t[64];
	unsigned got = 0;
	int64_t end = now_ms() + 5000;
	unsigned alerts = 0;
	struct slob_cold rec;
	while (got < NBAD + 2 && now_ms() < end) {
		slob_tws_md_poll(&md, now_ms());
		while (got < 64 && mv_tick_pop(&ring, &t[got]))
			got++;
		while (slob_ring_pop_spsc(&cring, &rec))
			if (rec.type == SLOB_COLD_ALERT &&
			    strstr(rec.u.text.text, "ticks rejected")) {
				assert_string_equal(rec.u.text.component, "tws-md");
				alerts++;
			}
		usleep(1000);
	}
	assert_int_equal(got, NBAD + 2); /* exactly the good ones */
	assert_int_equal(alerts, 1);
	for (unsigned i = 0; i < got; i++) {
		assert_int_equal(t[i].px, 84002); /* 21000.5 / 0.25 */
		assert_int_equal(t[i].size, 2);
		assert_int_equal(t[i].seq, i + 1);
		assert_true(t[i].flags & SLOB_TICK_LIVE);
	}
	uint64_t want[SLOB_TICKREJ_N] = {0};
	for (size_t i = 0; i < NBAD; i++)
		want[bads[i].reason]++;
	want[SLOB_TICKREJ_BAD_PRICE] += NRUN;
	for (unsigned r = 0; r < SLOB_TICKREJ_N; r++) {
		if (md.chk.rej[r] != want[r])
			fprintf(stderr, "reason %s: %llu, want %llu\n", slob_tickrej_name(r),
				(unsigned long long)md.chk.rej[r], (unsigned long long)want[r]);
		assert_int_equal(md.chk.rej[r], want[r]);
	}
	assert_int_equal(md.conn.bad_frames, 0);
	assert_true(slob_tws_conn_ready(&md.conn));
	pthread_join(s.th, NULL);
	close(s.lfd);
	slob_tws_md_destroy(&md);
	slob_coldq_destroy(&q);
	slob_ring_destroy(&cring);
	slob_ring_destroy(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
