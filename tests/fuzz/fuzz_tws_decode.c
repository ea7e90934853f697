/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tws_decode.c: feeds arbitrary bytes to the TWS receive path as a
 * connection would see them: optional client handshake (server side), then
 * length-prefixed frames, each decoded. Garbage must end in an error code,
 * never a crash, overread or sanitizer report.
 *
 * Values, not just framing: every decoded market-data message (tickByTick
 * Last, tickPrice) is handed to a real market-data session's handler (the
 * path md_tick takes live), once as decoded and once per entry of a table
 * of hostile values (1e308, -0, NaN, infinities, sizes beyond uint32, times
 * in 2090 and at the int64 limits) mixed with the input's own bytes read as
 * raw doubles/int64. Whatever arrives in the tick ring must be a sane tick;
 * under UBSan (the debug preset) any double -> int overflow is a report.
 * Broker values (executions, orders, positions) go through the same
 * range-checked conversions the order session uses.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/tickcheck.h"
#include "engine/tws_codec.h"
#include "engine/tws_conn.h"

SLOB_RING_TYPED(fz_tick, struct slob_tick)

static struct slob_tws_md md;
static slob_ring_t ring;
static int md_ready = -1;

static void md_setup(void)
{
	struct slob_tws_params p;
	slob_tws_params_default(&p);
	p.io_syscalls = true; /* no io_uring needed to call the handler */
	md_ready = slob_ring_init(&ring, "ticks", 64, sizeof(struct slob_tick)) == 0 &&
		   slob_tws_md_init(&md, &p, &ring, NULL, 0) == 0;
	if (md_ready) {
		struct slob_tickcheck_params cp;
		slob_tickcheck_params_default(&cp); /* skew against the clock, as live */
		slob_tws_md_set_check(&md, &cp);
	}
}

/* Every tick that got through must be one the engine can use. */
static void drain(void)
{
	struct slob_tick t;
	while (fz_tick_pop(&ring, &t)) {
		if (t.px <= 0 || t.size > (uint32_t)md.chk.p.max_size ||
		    t.ts_ns < md.chk.p.ts_min_ns || t.ts_ns >= md.chk.p.ts_max_ns)
			abort();
	}
}

static double raw_dbl(const uint8_t *d, size_t n, size_t at)
{
	uint64_t u = 0;
	for (size_t i = 0; i < 8 && n; i++)
		u = u << 8 | d[(at + i) % n];
	double v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

static void feed_values(struct slob_tws_in *m, const uint8_t *data, size_t size)
{
	static const double px[] = {1e308, -1e308, 1e12, -0.0, 0.0, NAN, INFINITY, -INFINITY,
				    2147483647.75 * 0.25, 536870911.75, 0.1, 21000.25, 5e-324};
	static const double sz[] = {1e300, 5e9, 4294967296.0, -1, -0.0, NAN, INFINITY, 1.5, 2};
	static const int64_t tm[] = {3786912000LL, INT64_MAX, INT64_MIN, 0, -1, 9223372036LL,
				     9223372037LL, 1767627000LL};
	int64_t now = (int64_t)time(NULL);
	if (m->kind == SLOB_TWS_TICK_BY_TICK)
		m->u.tick_by_tick.req_id = md.req_id;
	else
		m->u.tick_price.req_id = md.req_id;
	md.conn.on_msg(md.conn.ctx, &md.conn, m); /* as decoded */
	drain();
	/* the trade kinds the session takes, whatever was decoded */
	if (m->kind == SLOB_TWS_TICK_BY_TICK)
		m->u.tick_by_tick.tick_type = SLOB_TWS_TBT_LAST;
	else
		m->u.tick_price.tick_type = 4;
	for (unsigned i = 0; i < 16; i++) {
		double p = i < SLOB_ARRAY_SIZE(px) ? px[i] : raw_dbl(data, size, i * 8);
		double s = i < SLOB_ARRAY_SIZE(sz) ? sz[i] : raw_dbl(data, size, i * 8 + 3);
		int64_t t = i < SLOB_ARRAY_SIZE(tm) ? tm[i] : now + (int64_t)(i % 3) - 1;
		if (m->kind == SLOB_TWS_TICK_BY_TICK) {
			m->u.tick_by_tick.price = p;
			m->u.tick_by_tick.size = s;
			m->u.tick_by_tick.time = t;
		} else {
			m->u.tick_price.price = p;
			m->u.tick_price.size = s;
		}
		md.conn.on_msg(md.conn.ctx, &md.conn, m);
		drain();
	}
}

static void broker_values(const struct slob_tws_in *m)
{
	int32_t v;
	switch (m->kind) {
	case SLOB_TWS_EXECUTION_DATA:
		(void)slob_dbl_to_ticks(m->u.exec.price, 0.25, &v);
		(void)slob_dbl_to_i32(m->u.exec.shares, &v);
		break;
	case SLOB_TWS_OPEN_ORDER:
		(void)slob_dbl_to_ticks(m->u.open_order.lmt_price, 0.25, &v);
		(void)slob_dbl_to_ticks(m->u.open_order.aux_price, 0.25, &v);
		(void)slob_dbl_to_i32(m->u.open_order.qty, &v);
		break;
	case SLOB_TWS_POSITION_DATA:
		(void)slob_dbl_to_i32(m->u.position.position, &v);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct slob_tws_in m;
	size_t off = 0;
	if (md_ready < 0)
		md_setup();
	int lo, hi;
	if (size >= 4 && memcmp(data, "API", 3) == 0) {
		int n = slob_tws_decode_client_hello(data, size, &lo, &hi);
		if (n <= 0)
			return 0;
		off = (size_t)n;
	}
	int first = 1;
	while (off < size) {
		int fl = slob_tws_frame_len(data + off, size - off, 1u << 16);
		if (fl <= 0)
			break; /* need more bytes or a bad length: the connection closes */
		/* copy so the decoder sees exactly the frame (ASan catches overreads) */
		size_t plen = (size_t)fl - 4;
		uint8_t *p = malloc(plen);
		if (p == NULL)
			return 0;
		memcpy(p, data + off + 4, plen);
		if (first) {
			int ver;
			const char *t;
			(void)slob_tws_decode_server_hello(p, plen, &ver, &t);
			first = 0;
		}
		if (slob_tws_decode(p, plen, &m) == 0 && slob_tws_known(m.kind)) {
			/* touch every typed string so a bad view would be caught */
			for (uint32_t i = 0; i <= m.nfields && i < SLOB_TWS_MAX_FIELDS; i++)
				(void)strlen(m.f[i]);
			if (md_ready > 0 && (m.kind == SLOB_TWS_TICK_BY_TICK ||
					     m.kind == SLOB_TWS_TICK_PRICE))
				feed_values(&m, data, size);
			broker_values(&m);
		}
		free(p);
		off += (size_t)fl;
	}
	return 0;
}
