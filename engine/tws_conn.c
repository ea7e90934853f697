/* SPDX-License-Identifier: MIT */
/*
 * tws_conn.c: TWS sessions (connect, handshake, reconnect), the market-data
 * feed into the tick ring, and the order broker with reconciliation (see
 * tws_conn.h for the design notes and the state machine).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/config.h"
#include "engine/tws_conn.h"

SLOB_RING_TYPED(twsc_tick, struct slob_tick)

/* ---- parameters ------------------------------------------------------------ */

void slob_tws_params_default(struct slob_tws_params *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->host, "127.0.0.1");
	p->port = 4002;
	p->md_client_id = 10;
	p->order_client_id = 1;
	p->backoff_initial_ms = 2000;
	p->backoff_factor = 2;
	p->backoff_cap_ms = 60000;
	p->backoff_jitter_pct = 10;
	p->connect_timeout_ms = 20000;
	p->max_frame = 1u << 20;
	p->md_tick_by_tick = true;
	strcpy(p->contract_month, "auto");
	p->roll_days = 8;
	strcpy(p->tif, "DAY");
	strcpy(p->tp_tif, "GTC");
	strcpy(p->sl_tif, "GTC");
	p->tp_outside_rth = true;
	p->sl_outside_rth = true;
	p->tick_size = 0.25;
	strcpy(p->symbol, "NQ");
	strcpy(p->sec_type, "FUT");
	strcpy(p->exchange, "CME");
	strcpy(p->currency, "USD");
	p->multiplier = 20.0;
	p->order_sqpoll_cpu = SLOB_USOCK_NO_SQPOLL;
	p->order_sqpoll_idle_ms = 1000;
	p->account_refresh_s = 60;
	p->silence_ms = 15000;
	p->probe_timeout_ms = 10000;
	p->md_silence_always = false;
	p->reconcile_timeout_ms = 30000;
}

static int set_i64(const char *key, const char *v, int64_t lo, int64_t hi, int64_t *out, char *err,
		   size_t errlen)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end != '\0' || x < lo || x > hi) {
		snprintf(err, errlen, "tws.%s: '%s' is not an integer in %" PRId64 "..%" PRId64, key, v,
			 lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int slob_tws_param_set(struct slob_tws_params *p, const char *key, const char *value, char *err,
		       size_t errlen)
{
	int64_t x;
	int rc;
#define INT_KEY(name, lo, hi, field)                                                               \
	if (strcmp(key, name) == 0) {                                                              \
		rc = set_i64(key, value, lo, hi, &x, err, errlen);                                 \
		if (rc == 0)                                                                       \
			p->field = (__typeof__(p->field))x;                                        \
		return rc;                                                                         \
	}
	INT_KEY("port", 1, 65535, port)
	INT_KEY("md_client_id", 0, 2147483647, md_client_id)
	INT_KEY("order_client_id", 0, 2147483647, order_client_id)
	INT_KEY("backoff_initial_ms", 1, 3600000, backoff_initial_ms)
	INT_KEY("backoff_factor", 1, 10, backoff_factor)
	INT_KEY("backoff_cap_ms", 1, 3600000, backoff_cap_ms)
	INT_KEY("backoff_jitter_pct", 0, 50, backoff_jitter_pct)
	INT_KEY("connect_timeout_ms", 100, 600000, connect_timeout_ms)
	INT_KEY("max_frame", 1024, 16777215, max_frame)
	INT_KEY("roll_days", 0, 60, roll_days)
	INT_KEY("order_sqpoll_idle_ms", 1, 3600000, order_sqpoll_idle_ms)
	INT_KEY("account_refresh_s", 5, 86400, account_refresh_s)
	INT_KEY("silence_ms", 0, 3600000, silence_ms)
	INT_KEY("probe_timeout_ms", 100, 600000, probe_timeout_ms)
	INT_KEY("reconcile_timeout_ms", 0, 3600000, reconcile_timeout_ms)
#undef INT_KEY
	if (strcmp(key, "tp_tif") == 0 || strcmp(key, "sl_tif") == 0) {
		if (strcmp(value, "DAY") != 0 && strcmp(value, "GTC") != 0) {
			snprintf(err, errlen, "tws.%s: '%s' is not one of DAY, GTC", key, value);
			return -EINVAL;
		}
		strcpy(key[0] == 't' ? p->tp_tif : p->sl_tif, value);
		return 0;
	}
	{
		static const char *const bkeys[] = {"entry_outside_rth", "tp_outside_rth",
						    "sl_outside_rth", "allow_unprotected_stop"};
		bool *const bdst[] = {&p->entry_outside_rth, &p->tp_outside_rth, &p->sl_outside_rth,
				      &p->allow_unprotected_stop};
		for (unsigned i = 0; i < sizeof(bkeys) / sizeof(bkeys[0]); i++) {
			if (strcmp(key, bkeys[i]) != 0)
				continue;
			char k[48];
			snprintf(k, sizeof(k), "tws.%s", key);
			return slob_parse_bool(k, value, bdst[i], err, errlen);
		}
	}
	if (strcmp(key, "md_silence_check") == 0) {
		if (strcmp(value, "market_hours") == 0)
			p->md_silence_always = false;
		else if (strcmp(value, "always") == 0)
			p->md_silence_always = true;
		else {
			snprintf(err, errlen,
				 "tws.md_silence_check: '%s' is not one of market_hours, always", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "host") == 0 || strcmp(key, "account") == 0 || strcmp(key, "tif") == 0) {
		char *dst = key[0] == 'h' ? p->host : key[0] == 'a' ? p->account : p->tif;
		size_t cap = key[0] == 'h' ? sizeof(p->host) : key[0] == 'a' ? sizeof(p->account)
								       : sizeof(p->tif);
		if (strlen(value) >= cap || (key[0] == 'h' && value[0] == '\0')) {
			snprintf(err, errlen, "tws.%s: '%s' must be 1..%zu characters", key, value,
				 cap - 1);
			return -EINVAL;
		}
		if (key[0] == 't' && strcmp(value, "DAY") != 0 && strcmp(value, "GTC") != 0) {
			snprintf(err, errlen, "tws.tif: '%s' is not one of DAY, GTC", value);
			return -EINVAL;
		}
		strcpy(dst, value);
		return 0;
	}
	if (strcmp(key, "md_mode") == 0) {
		if (strcmp(value, "tick_by_tick") == 0)
			p->md_tick_by_tick = true;
		else if (strcmp(value, "mkt_data") == 0)
			p->md_tick_by_tick = false;
		else {
			snprintf(err, errlen, "tws.md_mode: '%s' is not one of tick_by_tick, mkt_data",
				 value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "order_sqpoll") == 0) {
		if (strcmp(value, "off") == 0) {
			p->order_sqpoll_cpu = SLOB_USOCK_NO_SQPOLL;
			return 0;
		}
		if (strcmp(value, "any") == 0) {
			p->order_sqpoll_cpu = -1;
			return 0;
		}
		rc = set_i64(key, value, 0, 1023, &x, err, errlen);
		if (rc < 0)
			snprintf(err, errlen, "tws.order_sqpoll: '%s' is not off, any or a CPU 0..1023",
				 value);
		else
			p->order_sqpoll_cpu = (int)x;
		return rc;
	}
	if (strcmp(key, "io") == 0) {
		if (strcmp(value, "uring") == 0)
			p->io_syscalls = false;
		else if (strcmp(value, "syscalls") == 0)
			p->io_syscalls = true;
		else {
			snprintf(err, errlen, "tws.io: '%s' is not one of uring, syscalls", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "contract_month") == 0) {
		bool ok = strcmp(value, "auto") == 0;
		if (!ok && strlen(value) == 6) {
			ok = true;
			for (int i = 0; i < 6; i++)
				ok = ok && value[i] >= '0' && value[i] <= '9';
			int mm = atoi(value + 4);
			ok = ok && mm >= 1 && mm <= 12;
		}
		if (!ok) {
			snprintf(err, errlen, "tws.contract_month: '%s' is not auto or YYYYMM", value);
			return -EINVAL;
		}
		strcpy(p->contract_month, value);
		return 0;
	}
	snprintf(err, errlen, "tws: unknown key '%s'", key);
	return -ENOENT;
}

int slob_tws_params_validate(const struct slob_tws_params *p, char *err, size_t errlen)
{
	if (p->port < 1 || p->port > 65535) {
		snprintf(err, errlen, "tws.port: %d not in 1..65535", p->port);
		return -EINVAL;
	}
	if (p->md_client_id == p->order_client_id) {
		snprintf(err, errlen, "tws.md_client_id and tws.order_client_id must differ (both %d)",
			 p->md_client_id);
		return -EINVAL;
	}
	if (p->backoff_cap_ms < p->backoff_initial_ms) {
		snprintf(err, errlen, "tws.backoff_cap_ms (%" PRId64 ") < backoff_initial_ms (%" PRId64
			 ")", p->backoff_cap_ms, p->backoff_initial_ms);
		return -EINVAL;
	}
	if (p->tick_size <= 0) {
		snprintf(err, errlen, "tws: tick size must be > 0");
		return -EINVAL;
	}
	if (!(p->multiplier > 0) || p->symbol[0] == '\0' || p->sec_type[0] == '\0') {
		snprintf(err, errlen, "instrument: symbol, sec_type and a point value > 0 are needed");
		return -EINVAL;
	}
	if (p->silence_ms < 0 || p->probe_timeout_ms < 1 || p->reconcile_timeout_ms < 0) {
		snprintf(err, errlen, "tws: silence_ms and reconcile_timeout_ms must be >= 0, "
			 "probe_timeout_ms > 0");
		return -EINVAL;
	}
	if (p->max_frame < 1024 || p->max_frame > SLOB_TWS_MAX_FRAME) {
		snprintf(err, errlen, "tws.max_frame: %" PRIu32 " not in 1024..16777215", p->max_frame);
		return -EINVAL;
	}
	char why[200];
	if (!p->allow_unprotected_stop && slob_tws_params_stop_warning(p, why, sizeof(why))) {
		snprintf(err, errlen, "%s; set tws.allow_unprotected_stop = true to accept that", why);
		return -EINVAL;
	}
	return 0;
}

int slob_tws_params_stop_warning(const struct slob_tws_params *p, char *out, size_t len)
{
	if (strcmp(p->sl_tif, "GTC") != 0) {
		snprintf(out, len,
			 "tws.sl_tif = %s: the stop expires at the session end and leaves a filled "
			 "entry without a protective stop (use GTC)",
			 p->sl_tif);
		return 1;
	}
	if (!p->sl_outside_rth) {
		snprintf(out, len,
			 "tws.sl_outside_rth = false: the stop cannot trigger outside regular trading "
			 "hours and leaves a position held overnight unprotected (use true)");
		return 1;
	}
	return 0;
}

/* days since 1970-01-01 of a civil date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void fmt_month(char out[7], int y, int m)
{
	unsigned v = (unsigned)(y % 10000) * 100 + (unsigned)m;
	for (int i = 5; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
	out[6] = '\0';
}

int slob_tws_front_month(int64_t now_ns, int roll_days, char out[7])
{
	time_t s = (time_t)(now_ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	int64_t today = days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
	int y = tm.tm_year + 1900, m = tm.tm_mon + 1;
	for (int k = 0; k < 12; k++) {
		int qm = ((m + 2) / 3) * 3; /* quarterly month at or after m */
		int qy = y;
		int64_t first = days_from_civil(qy, (unsigned)qm, 1);
		int dow = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
		int first_friday = 1 + (5 - dow + 7) % 7;
		int64_t expiry = days_from_civil(qy, (unsigned)qm, (unsigned)(first_friday + 14));
		if (expiry - today > roll_days) {
			fmt_month(out, qy, qm);
			return 0;
		}
		m = qm + 1;
		if (m > 12) {
			m = 1;
			y++;
		}
	}
	fmt_month(out, y, m);
	return 0;
}

int64_t slob_tws_backoff_ms(const struct slob_tws_params *p, unsigned n)
{
	int64_t v = p->backoff_initial_ms;
	for (unsigned i = 1; i < n && v < p->backoff_cap_ms; i++)
		v *= p->backoff_factor;
	return v < p->backoff_cap_ms ? v : p->backoff_cap_ms;
}

/* ---- session ------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* usock parameters of a session: rx holds the largest accepted frame plus one
 * provided buffer, so a partial frame never stalls the receive side. */
static void sock_params(const struct slob_tws_params *p, struct slob_usock_params *up)
{
	slob_usock_params_default(up);
	up->tx_cap = SLOB_TWS_TXBUF;
	size_t need = (size_t)p->max_frame + 4 + up->buf_size;
	up->rx_cap = need > SLOB_TWS_RXBUF ? (unsigned)need : SLOB_TWS_RXBUF;
	up->connect_timeout_ms = (unsigned)p->connect_timeout_ms;
	up->use_syscalls = p->io_syscalls ? 1 : 0;
}

int slob_tws_conn_init(struct slob_tws_conn *c, const struct slob_tws_params *p, int client_id,
		       slob_tws_msg_fn on_msg, slob_tws_state_fn on_state, void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->sock.fd = -1;
	char err[160];
	if (slob_tws_params_validate(p, err, sizeof(err)) != 0)
		return -EINVAL;
	c->prm = *p;
	c->client_id = client_id;
	c->on_msg = on_msg;
	c->on_state = on_state;
	c->ctx = ctx;
	c->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)client_id;
	struct slob_usock_params up;
	sock_params(p, &up);
	if (client_id == p->order_client_id) { /* the hot path submits orders */
		up.sqpoll_cpu = p->order_sqpoll_cpu;
		up.sqpoll_idle_ms = (unsigned)p->order_sqpoll_idle_ms;
	}
	int rc = slob_usock_init(&c->sock, &up);
	if (rc < 0) {
		slob_tws_conn_destroy(c);
		return rc;
	}
	c->rx = c->sock.rx;
	c->tx = c->sock.tx;
	return 0;
}

void slob_tws_conn_destroy(struct slob_tws_conn *c)
{
	if (c == NULL)
		return;
	slob_usock_destroy(&c->sock);
	c->fd = -1;
	c->rx = c->tx = NULL;
	c->rx_len = c->tx_len = 0;
}

static void set_state(struct slob_tws_conn *c, int st, const char *why)
{
	int old = c->state;
	c->state = st;
	if (c->on_state != NULL && old != st)
		c->on_state(c->ctx, c, old, why);
}

/* Closes the socket now, or (inside the decoder, design note 1) once
 * slob_usock_poll has returned. */
static void close_sock(struct slob_tws_conn *c)
{
	if (c->in_rx) {
		c->close_pending = true;
		return;
	}
	slob_usock_close(&c->sock);
	c->close_pending = false;
	c->fd = -1;
	c->rx_len = c->tx_len = 0;
}

void slob_tws_conn_drop(struct slob_tws_conn *c, const char *why)
{
	close_sock(c);
	if (c->state == SLOB_TWS_DOWN)
		return;
	snprintf(c->why, sizeof(c->why), "%s", why);
	c->failures++;
	c->disconnects++;
	c->last_rx_ms = c->probe_ms = 0;
	int64_t d = slob_tws_backoff_ms(&c->prm, c->failures);
	if (c->prm.backoff_jitter_pct > 0) {
		c->rng ^= c->rng << 13;
		c->rng ^= c->rng >> 7;
		c->rng ^= c->rng << 17;
		int64_t span = d * c->prm.backoff_jitter_pct / 100;
		if (span > 0)
			d += (int64_t)(c->rng % (uint64_t)(2 * span + 1)) - span;
	}
	c->next_attempt_ms = mono_ms() + d;
	set_state(c, SLOB_TWS_DOWN, c->why);
}

static int tx_add(struct slob_tws_conn *c, const uint8_t *msg, int len)
{
	if (len <= 0)
		return len < 0 ? len : -EINVAL;
	int rc = slob_usock_send(&c->sock, msg, (size_t)len);
	if (rc == -ENOBUFS) {
		slob_tws_conn_drop(c, "send buffer full (peer not reading)");
		return -ENOBUFS;
	}
	return rc; /* -ENOTCONN: the socket failed; the next poll closes the session */
}

int slob_tws_conn_send(struct slob_tws_conn *c, const uint8_t *msg, int len)
{
	if (c->state != SLOB_TWS_READY && c->state != SLOB_TWS_STARTING)
		return -ENOTCONN;
	return tx_add(c, msg, len);
}

static int start_connect(struct slob_tws_conn *c, int64_t now)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%d", c->prm.port);
	c->state = SLOB_TWS_CONNECTING; /* so a failure below goes through drop */
	/* numeric only: slob_usock_connect then never blocks on name resolution */
	if (getaddrinfo(c->prm.host, port, &hints, &ai) != 0 || ai == NULL) {
		slob_tws_conn_drop(c, "host is not a numeric IPv4/IPv6 address");
		return 1;
	}
	freeaddrinfo(ai);
	slob_usock_close(&c->sock); /* IDLE (no-op unless a close is owed) */
	int rc = slob_usock_connect(&c->sock, c->prm.host, (uint16_t)c->prm.port);
	if (rc < 0 || slob_usock_state(&c->sock) == SLOB_USOCK_FAILED) {
		char why[128];
		snprintf(why, sizeof(why), "connect %s:%d: %s (IB 502)", c->prm.host, c->prm.port,
			 strerror(rc < 0 ? -rc : -c->sock.error));
		slob_tws_conn_drop(c, why);
		return 1;
	}
	c->fd = c->sock.fd;
	c->connects++;
	c->deadline_ms = now + c->prm.connect_timeout_ms;
	c->state = SLOB_TWS_DOWN;
	set_state(c, SLOB_TWS_CONNECTING, "connecting");
	return 1;
}

static int handle_frame(struct slob_tws_conn *c, const uint8_t *payload, size_t len)
{
	if (c->state == SLOB_TWS_HELLO) {
		int ver;
		const char *t;
		if (slob_tws_decode_server_hello(payload, len, &ver, &t) != 0) {
			slob_tws_conn_drop(c, slob_tws_strerror());
			return -1;
		}
		c->server_version = ver;
		if (ver != SLOB_TWS_VERSION) {
			char why[96];
			snprintf(why, sizeof(why), "server version %d, need %d", ver, SLOB_TWS_VERSION);
			slob_tws_conn_drop(c, why);
			return -1;
		}
		uint8_t m[64];
		set_state(c, SLOB_TWS_STARTING, "handshake done");
		return tx_add(c, m, slob_tws_enc_start_api(m, sizeof(m), c->client_id, ""));
	}
	struct slob_tws_in *m = &c->msg;
	if (slob_tws_decode(payload, len, m) != 0) {
		char why[200];
		snprintf(why, sizeof(why), "bad message from server: %s", slob_tws_strerror());
		c->bad_frames++;
		slob_tws_conn_drop(c, why);
		return -1;
	}
	if (m->kind == SLOB_TWS_MANAGED_ACCTS)
		snprintf(c->accounts, sizeof(c->accounts), "%s", m->u.managed_accounts.accounts);
	if (m->kind == SLOB_TWS_NEXT_VALID_ID) {
		c->next_valid_id = m->u.next_valid_id.order_id;
		if (c->state == SLOB_TWS_STARTING) {
			c->failures = 0;
			set_state(c, SLOB_TWS_READY, "nextValidId");
		}
	}
	if (m->kind == SLOB_TWS_ERR_MSG && m->u.error.code == 326) {
		/* client id in use: the server will close; treat as a failed attempt */
		if (c->on_msg)
			c->on_msg(c->ctx, c, m);
		slob_tws_conn_drop(c, "client id already in use (IB 326)");
		return -1;
	}
	if (c->on_msg != NULL)
		c->on_msg(c->ctx, c, m);
	return 0;
}

/*
 * slob_usock decoder: frames and dispatches complete messages, at most
 * TWS_FRAMES_PER_POLL per poll; the rest (and a partial frame) stay in the
 * socket's rx for the next poll, so the stages behind the connection see a
 * bar-closing tick without first waiting for the decode of every tick that
 * arrived after it in the same burst. Each frame keeps its own reception
 * time (slob_usock_rx_time).
 */
#define TWS_FRAMES_PER_POLL 16

static int on_rx(void *arg, const unsigned char *data, size_t len)
{
	struct slob_tws_conn *c = arg;
	size_t off = 0;
	for (int frames = 0; off < len && frames < TWS_FRAMES_PER_POLL; frames++) {
		if (c->close_pending || c->state == SLOB_TWS_DOWN)
			return (int)len; /* dropped: the rest is discarded with the socket */
		if (c->state == SLOB_TWS_CONNECTING)
			break; /* not before the handshake went out */
		int fl = slob_tws_frame_len(data + off, len - off, c->prm.max_frame);
		if (fl == 0)
			break;
		if (fl < 0) {
			char why[200];
			snprintf(why, sizeof(why), "bad frame from server: %s", slob_tws_strerror());
			c->bad_frames++;
			slob_tws_conn_drop(c, why);
			return (int)len;
		}
		c->frame_rx_ns = slob_usock_rx_time(&c->sock, off + (size_t)fl - 1);
		(void)handle_frame(c, data + off + 4, (size_t)fl - 4);
		off += (size_t)fl;
	}
	return (int)off;
}

/* One slob_usock_poll with the decoder (+ one more to submit what the
 * decoder queued). Returns 1 if bytes were consumed. */
static int pump(struct slob_tws_conn *c)
{
	c->in_rx = true;
	int k = slob_usock_poll(&c->sock, on_rx, c);
	c->in_rx = false;
	if (c->close_pending) {
		close_sock(c);
		return 1;
	}
	if (slob_usock_pending(&c->sock) > 0 && slob_usock_state(&c->sock) == SLOB_USOCK_CONNECTED)
		(void)slob_usock_poll(&c->sock, NULL, NULL);
	return k > 0;
}

/* Submits queued sends now (from the sender's place: close to the wire).
 * Received bytes are kept for the next slob_tws_conn_poll. */
static int flush_tx(struct slob_tws_conn *c)
{
	if (c->in_rx || slob_usock_state(&c->sock) != SLOB_USOCK_CONNECTED ||
	    slob_usock_pending(&c->sock) == 0)
		return 0;
	(void)slob_usock_poll(&c->sock, NULL, NULL);
	return 1;
}

/*
 * Silence watch of a READY session (design note 8): any received byte
 * proves the peer writes; after silence_ms without one, one reqCurrentTime;
 * no byte within probe_timeout_ms after it: stale, dropped (reconnect with
 * backoff). Returns work done.
 */
static int watch_silence(struct slob_tws_conn *c, int64_t now, bool rx)
{
	if (rx || c->last_rx_ms == 0) {
		c->last_rx_ms = now;
		c->probe_ms = 0;
		return 0;
	}
	if (c->prm.silence_ms <= 0)
		return 0;
	if (c->probe_ms != 0) {
		if (now - c->probe_ms < c->prm.probe_timeout_ms)
			return 0;
		char why[160];
		snprintf(why, sizeof(why),
			 "stale: nothing received for %" PRId64 " ms, reqCurrentTime unanswered for %"
			 PRId64 " ms", now - c->last_rx_ms, now - c->probe_ms);
		c->stale++;
		slob_tws_conn_drop(c, why);
		return 1;
	}
	if (now - c->last_rx_ms < c->prm.silence_ms)
		return 0;
	if (c->quiet_ok != NULL && c->quiet_ok(c->ctx, c)) {
		c->last_rx_ms = now; /* quiet is expected now: look again in silence_ms */
		return 0;
	}
	uint8_t m[16];
	if (slob_tws_conn_send(c, m, slob_tws_enc_req_current_time(m, sizeof(m))) != 0)
		return 1; /* the send failed: the session is closing anyway */
	c->probe_ms = now;
	c->probes++;
	(void)flush_tx(c);
	return 1;
}

int slob_tws_conn_poll(struct slob_tws_conn *c, int64_t now)
{
	int work = 0;
	if (c->state == SLOB_TWS_DOWN) {
		if (now < c->next_attempt_ms)
			return 0;
		return start_connect(c, now);
	}
	if (c->state != SLOB_TWS_READY && now > c->deadline_ms) {
		slob_tws_conn_drop(c, "timeout before the session was ready");
		return 1;
	}
	int rx = pump(c);
	work += rx;
	if (c->state == SLOB_TWS_DOWN)
		return work + 1;
	enum slob_usock_state us = slob_usock_state(&c->sock);
	if (c->state == SLOB_TWS_CONNECTING && us == SLOB_USOCK_CONNECTED) {
		uint8_t m[64];
		int n = slob_tws_enc_handshake(m, sizeof(m), SLOB_TWS_MIN_VERSION, SLOB_TWS_VERSION, NULL);
		set_state(c, SLOB_TWS_HELLO, "tcp connected");
		(void)tx_add(c, m, n);
		work++;
		if (c->state == SLOB_TWS_DOWN)
			return work;
		work += pump(c);
		if (c->state == SLOB_TWS_DOWN)
			return work + 1;
		us = slob_usock_state(&c->sock);
	}
	if (us == SLOB_USOCK_FAILED) {
		char why[200];
		if (c->state == SLOB_TWS_CONNECTING)
			snprintf(why, sizeof(why), "connect %s:%d: %s (IB 502)", c->prm.host,
				 c->prm.port, strerror(-c->sock.error));
		else
			snprintf(why, sizeof(why), "%s", c->sock.err);
		slob_tws_conn_drop(c, why);
		return work + 1;
	}
	if (us == SLOB_USOCK_CLOSED) {
		slob_tws_conn_drop(c, "connection closed by peer (IB 504 not connected)");
		return work + 1;
	}
	if (c->state == SLOB_TWS_READY)
		work += watch_silence(c, now, rx > 0);
	c->rx_len = c->sock.rx_len;
	c->tx_len = slob_usock_pending(&c->sock);
	return work;
}

/* ---- cold helpers ------------------------------------------------------------------ */

/* Alert kinds of ALERT records (persist/alert.h enum slob_alert_kind): the title
 * operators see ("Connection lost" / "Connection restored"), not "System Started". */
#define TWS_ALERT_CONN_LOST 3
#define TWS_ALERT_CONN_RESTORED 4
/* a session that never came up since start alerts once, at this many
 * consecutive failed attempts (a gateway refused from the start, P1-1; every
 * failure also counts as a disconnect, and failures restart at 0 once ready,
 * so disconnects == failures means never up) */
#define TWS_ALERT_NEVER_UP_AFTER 3

static void cold_text(struct slob_coldq *q, uint16_t type, uint8_t level, const char *comp,
		      int32_t code, const char *text)
{
	if (q == NULL)
		return;
	struct slob_cold rec;
	char t[160];
	snprintf(t, sizeof(t), "%s", text);
	slob_cold_text_init(&rec, type, level, wall_ns(), comp, code, t);
	(void)slob_coldq_put(q, &rec);
}

/* ---- contract: configuration, resolution, matching -------------------------------- */

void slob_tws_contract_from_params(const struct slob_tws_params *p, int64_t now_ns,
				   struct slob_tws_contract *c)
{
	char month[8];
	if (strcmp(p->contract_month, "auto") == 0)
		slob_tws_front_month(now_ns, p->roll_days, month);
	else
		memcpy(month, p->contract_month, sizeof(month));
	memset(c, 0, sizeof(*c));
	slob_strlcpy(c->symbol, sizeof(c->symbol), p->symbol);
	slob_strlcpy(c->sec_type, sizeof(c->sec_type), p->sec_type);
	slob_strlcpy(c->expiry, sizeof(c->expiry), month);
	slob_strlcpy(c->exchange, sizeof(c->exchange), p->exchange);
	slob_strlcpy(c->currency, sizeof(c->currency), p->currency);
	slob_strlcpy(c->trading_class, sizeof(c->trading_class), p->trading_class);
}

static bool same_value(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) > fabs(b) ? fabs(a) : fabs(b));
}

int slob_tws_check_details(const struct slob_tws_params *p, const struct slob_tws_contract_details *d,
			   char *why, size_t len)
{
	double mult = 0;
	if (strcmp(d->c.symbol, p->symbol) != 0) {
		snprintf(why, len, "instrument.symbol is %s but the broker answered %s (conId %" PRId64 ")",
			 p->symbol, d->c.symbol, d->c.con_id);
		return -EINVAL;
	}
	if (slob_tws_parse_dbl(d->c.multiplier, &mult) != 0 || !same_value(mult, p->multiplier)) {
		snprintf(why, len, "instrument.point_value is %g but the broker's multiplier for %s %s "
			 "(conId %" PRId64 ") is %s", p->multiplier, d->c.symbol, d->c.local_symbol,
			 d->c.con_id, d->c.multiplier[0] ? d->c.multiplier : "empty");
		return -EINVAL;
	}
	if (!same_value(d->min_tick, p->tick_size)) {
		snprintf(why, len, "instrument.tick_size is %g but the broker's minimum tick for %s %s "
			 "(conId %" PRId64 ") is %g", p->tick_size, d->c.symbol, d->c.local_symbol,
			 d->c.con_id, d->min_tick);
		return -EINVAL;
	}
	if (d->c.con_id <= 0) {
		snprintf(why, len, "the broker gave no conId for %s %s", d->c.symbol, d->c.local_symbol);
		return -EINVAL;
	}
	return 0;
}

/* Sends reqContractDetails for want (a new request id each time). */
static void ct_request(struct slob_tws_conn *c, struct slob_tws_resolve *r,
		       const struct slob_tws_contract *want)
{
	uint8_t m[512];
	r->req_id++;
	r->matches = 0;
	memset(&r->got, 0, sizeof(r->got));
	r->state = SLOB_TWS_CT_PENDING;
	r->sent_ms = mono_ms();
	if (slob_tws_conn_send(c, m, slob_tws_enc_req_contract_details(m, sizeof(m), r->req_id, want)) < 0)
		r->state = SLOB_TWS_CT_NONE;
}

/* Note 11: a failed lookup (refused or unanswered) of a streak: logged each
 * time, alerted on the first and every doubling, asked again after the
 * streak's backoff. */
static void ct_failed(struct slob_tws_resolve *r, const struct slob_tws_params *p, uint8_t level,
		      const char *what, struct slob_coldq *cold, const char *comp)
{
	char t[512];
	r->streak++;
	int64_t d = slob_tws_backoff_ms(p, r->streak);
	r->retry_ms = mono_ms() + d;
	snprintf(t, sizeof(t), "%s, not trading: %s (lookup %u, asked again in %" PRId64 " ms)",
		 what, r->why, r->streak, d);
	if ((r->streak & (r->streak - 1)) == 0)
		cold_text(cold, SLOB_COLD_ALERT, level, comp, 0, t);
	cold_text(cold, SLOB_COLD_LOG, SLOB_LVL_ERROR, comp, 0, t); /* trading.log + errors.log */
}

/* Note 11, from the owner's poll: times out an unanswered lookup and asks
 * again when a failed one's backoff is over. Returns work done. */
static int ct_poll(struct slob_tws_conn *c, struct slob_tws_resolve *r,
		   const struct slob_tws_contract *want, struct slob_coldq *cold, const char *comp,
		   int64_t now)
{
	if (!slob_tws_conn_ready(c))
		return 0;
	if (r->state == SLOB_TWS_CT_PENDING) {
		int64_t limit = c->prm.reconcile_timeout_ms > 0 ? c->prm.reconcile_timeout_ms : 30000;
		if (now - r->sent_ms < limit)
			return 0;
		r->timeouts++;
		r->state = SLOB_TWS_CT_NONE;
		snprintf(r->why, sizeof(r->why), "no answer for %s %s %s after %" PRId64 " ms",
			 want->symbol, want->sec_type, want->expiry, now - r->sent_ms);
		ct_failed(r, &c->prm, SLOB_LVL_ERROR, "contract lookup unanswered", cold, comp);
		return 1;
	}
	if ((r->state == SLOB_TWS_CT_NONE || r->state == SLOB_TWS_CT_REFUSED) && now >= r->retry_ms) {
		ct_request(c, r, want);
		return 1;
	}
	return 0;
}

/* The broker's answer to ct_request: +1 resolved and confirmed (*out is the
 * contract for the wire), -1 refused (r->why, alerted CRITICAL), 0 not yet
 * or not about the request. */
static int ct_on_msg(struct slob_tws_resolve *r, const struct slob_tws_params *p,
		     const struct slob_tws_contract *want, const struct slob_tws_in *m,
		     struct slob_coldq *cold, const char *comp, struct slob_tws_contract *out)
{
	if (r->state != SLOB_TWS_CT_PENDING)
		return 0;
	char t[512];
	switch (m->kind) {
	case SLOB_TWS_CONTRACT_DATA: {
		const __typeof__(m->u.contract_data) *k = &m->u.contract_data;
		if (k->req_id != r->req_id)
			return 0;
		if (r->matches++ > 0)
			return 0;
		struct slob_tws_contract_details *g = &r->got;
		g->c.con_id = k->c.con_id;
		slob_strlcpy(g->c.symbol, sizeof(g->c.symbol), k->c.symbol);
		slob_strlcpy(g->c.sec_type, sizeof(g->c.sec_type), k->c.sec_type);
		slob_strlcpy(g->c.expiry, sizeof(g->c.expiry), k->contract_month);
		slob_strlcpy(g->c.multiplier, sizeof(g->c.multiplier), k->c.multiplier);
		slob_strlcpy(g->c.exchange, sizeof(g->c.exchange), k->c.exchange);
		slob_strlcpy(g->c.currency, sizeof(g->c.currency), k->c.currency);
		slob_strlcpy(g->c.local_symbol, sizeof(g->c.local_symbol), k->c.local_symbol);
		slob_strlcpy(g->c.trading_class, sizeof(g->c.trading_class), k->c.trading_class);
		slob_strlcpy(g->last_trade_date, sizeof(g->last_trade_date), k->last_trade_date);
		slob_strlcpy(g->time_zone, sizeof(g->time_zone), k->time_zone);
		slob_strlcpy(g->trading_hours, sizeof(g->trading_hours), k->trading_hours);
		slob_strlcpy(g->liquid_hours, sizeof(g->liquid_hours), k->liquid_hours);
		g->min_tick = k->min_tick;
		return 0;
	}
	case SLOB_TWS_ERR_MSG:
		if (m->u.error.req_id != r->req_id)
			return 0;
		snprintf(r->why, sizeof(r->why), "%s %s %s: IB %d %s", want->symbol, want->sec_type,
			 want->expiry, m->u.error.code, m->u.error.text);
		break;
	case SLOB_TWS_CONTRACT_DATA_END:
		if (m->u.end.req_id != r->req_id)
			return 0;
		if (r->matches == 0) {
			snprintf(r->why, sizeof(r->why), "the broker knows no %s %s %s on %s", want->symbol,
				 want->sec_type, want->expiry, want->exchange);
		} else if (r->matches > 1) {
			snprintf(r->why, sizeof(r->why), "%u contracts match %s %s %s: set "
				 "instrument.trading_class", r->matches, want->symbol, want->sec_type,
				 want->expiry);
		} else if (out->con_id != 0 && r->got.c.con_id != out->con_id) {
			/* note 12: the process trades one contract from start to end */
			snprintf(r->why, sizeof(r->why), "the broker now answers conId %" PRId64 " for %s "
				 "%s %s, this process trades conId %" PRId64 ": restart to change it",
				 r->got.c.con_id, want->symbol, want->sec_type, want->expiry, out->con_id);
		} else if (slob_tws_check_details(p, &r->got, r->why, sizeof(r->why)) == 0) {
			*out = *want;
			out->con_id = r->got.c.con_id;
			slob_strlcpy(out->multiplier, sizeof(out->multiplier), r->got.c.multiplier);
			slob_strlcpy(out->local_symbol, sizeof(out->local_symbol), r->got.c.local_symbol);
			slob_strlcpy(out->trading_class, sizeof(out->trading_class),
				     r->got.c.trading_class);
			r->state = SLOB_TWS_CT_OK;
			if (r->streak > 0) {
				snprintf(t, sizeof(t), "contract confirmed after %u failed lookups: "
					 "trading allowed", r->streak);
				cold_text(cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, comp, 0, t);
				r->streak = 0;
			}
			snprintf(t, sizeof(t), "contract %s %s: conId %" PRId64 ", multiplier %s, tick %g, "
				 "last trade %s, hours (%s) %.60s", out->symbol, out->local_symbol,
				 out->con_id, out->multiplier, r->got.min_tick, r->got.last_trade_date,
				 r->got.time_zone, r->got.trading_hours);
			cold_text(cold, SLOB_COLD_LOG, SLOB_LVL_INFO, comp, 0, t);
			return 1;
		}
		break;
	default:
		return 0;
	}
	r->state = SLOB_TWS_CT_REFUSED;
	r->refusals++;
	ct_failed(r, p, SLOB_LVL_CRITICAL, "contract refused", cold, comp);
	return -1;
}

/* Is a contract in a broker message the configured one? By conId when both
 * have one, else by symbol, secType and month (YYYYMM prefix). */
static bool ct_ours(const struct slob_tws_contract *mine, const struct slob_tws_contract_view *v)
{
	if (mine->con_id != 0 && v->con_id != 0)
		return mine->con_id == v->con_id;
	return strcmp(mine->symbol, v->symbol) == 0 && strcmp(mine->sec_type, v->sec_type) == 0 &&
	       strncmp(mine->expiry, v->expiry, 6) == 0;
}

/* ---- market data ---------------------------------------------------------------------- */

static void md_subscribe(struct slob_tws_md *md)
{
	uint8_t m[512];
	int n;
	if (md->res.state != SLOB_TWS_CT_OK)
		return; /* design note 7: only the confirmed contract */
	md->req_id++;
	if (md->conn.prm.md_tick_by_tick)
		n = slob_tws_enc_req_tick_by_tick(m, sizeof(m), md->req_id, &md->contract, "Last", 0,
						  false);
	else
		n = slob_tws_enc_req_mkt_data(m, sizeof(m), md->req_id, &md->contract, "", false,
					      false);
	md->subscribed = slob_tws_conn_send(&md->conn, m, n) == 0;
}

/* A validator alert (a run or rate of rejects, a re-anchor): one record. */
static void md_check_alert(struct slob_tws_md *md)
{
	char t[160];
	struct slob_tickcheck *k = &md->chk;
	k->alert = 0;
	snprintf(t, sizeof(t), "market data: %" PRIu64 " of %" PRIu64 " ticks rejected, %" PRIu64
		 " in a row, last %s, %" PRIu64 " re-anchors",
		 slob_tickcheck_rejected(k), k->seen, k->run, slob_tickrej_name(k->last_reason),
		 k->reanchors);
	cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-md", SLOB_TICKCHECK_ALERT_CODE,
		  t);
}

/* size_opt: the message may carry no size (tickPrice). Every decoded value is
 * checked and converted by the validator before it becomes a tick. */
static void md_tick(struct slob_tws_md *md, int64_t epoch_s, double price, double size,
		    bool size_opt)
{
	struct slob_tick t = {0};
	md->chk.where = md->chk.seen + 1;
	if (!slob_tickcheck_live(&md->chk, epoch_s, price, size, size_opt, md->conn.prm.tick_size,
				 wall_ns(), &t.ts_ns, &t.px, &t.size)) {
		if (slob_unlikely(md->chk.alert))
			md_check_alert(md);
		return;
	}
	if (slob_unlikely(md->chk.alert))
		md_check_alert(md);
	/* received on the socket (not decoded): what tick-to-order measures from */
	t.recv_ns = md->conn.frame_rx_ns ? md->conn.frame_rx_ns : slob_mono_ns();
	t.seq = ++md->seq;
	t.flags = SLOB_TICK_LIVE | (md->gap_next ? SLOB_TICK_GAP_BEFORE : 0) | md->chk.tick_flags;
	if (!twsc_tick_push(md->ticks, &t)) {
		md->ticks_dropped++;
		md->seq--;
		md->gap_next = true; /* the loss is a gap for the candles */
		return;
	}
	md->gap_next = false;
	md->ticks_in++;
}

static void md_on_msg(void *ctx, struct slob_tws_conn *c, const struct slob_tws_in *m)
{
	struct slob_tws_md *md = ctx;
	(void)c;
	int ct = ct_on_msg(&md->res, &md->conn.prm, &md->want, m, md->cold, "tws-md", &md->contract);
	if (ct > 0)
		md_subscribe(md);
	if (ct != 0)
		return;
	switch (m->kind) {
	case SLOB_TWS_TICK_BY_TICK:
		if (m->u.tick_by_tick.req_id == md->req_id &&
		    (m->u.tick_by_tick.tick_type == SLOB_TWS_TBT_LAST ||
		     m->u.tick_by_tick.tick_type == SLOB_TWS_TBT_ALL_LAST))
			md_tick(md, m->u.tick_by_tick.time, m->u.tick_by_tick.price,
				m->u.tick_by_tick.size, false);
		break;
	case SLOB_TWS_TICK_PRICE:
		/* LAST (4) or delayed LAST (68) */
		if (m->u.tick_price.req_id == md->req_id &&
		    (m->u.tick_price.tick_type == 4 || m->u.tick_price.tick_type == 68))
			md_tick(md, wall_ns() / 1000000000, m->u.tick_price.price,
				m->u.tick_price.size, true);
		break;
	case SLOB_TWS_ERR_MSG: {
		int code = m->u.error.code;
		char t[160];
		if (code == 1100) {
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-md", code,
				  "IB connectivity lost (1100): waiting for 1101/1102");
			md->gap_next = true;
		} else if (code == 1101) {
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, "tws-md", code,
				  "IB connectivity restored, data lost (1101): re-subscribing");
			md->gap_next = true;
			md_subscribe(md);
		} else if (code == 1102) {
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, "tws-md", code,
				  "IB connectivity restored, data maintained (1102)");
		} else if (code >= 2100 && code <= 2169) {
			/* farm status: informational */
		} else if (m->u.error.req_id == md->req_id) {
			md->subscribe_errors++;
			snprintf(t, sizeof(t), "market data request failed: IB %d %s", code,
				 m->u.error.text);
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_ERROR, "tws-md", code, t);
		}
		break;
	}
	default:
		break;
	}
}

static void md_on_state(void *ctx, struct slob_tws_conn *c, int old, const char *why)
{
	struct slob_tws_md *md = ctx;
	char t[200];
	if (c->state == SLOB_TWS_READY) {
		if (md->seq > 0)
			md->gap_next = true; /* anything between the sessions is lost */
		/* design note 7: resolve the contract, subscribe when confirmed;
		 * note 12: the month picked at init, whatever the date now */
		ct_request(c, &md->res, &md->want);
		snprintf(t, sizeof(t), "market data connected (client %d, %s %s): resolving the contract",
			 c->client_id, md->want.symbol, md->want.expiry);
		cold_text(md->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-md",
			  slob_conn_code(SLOB_CONN_MD, SLOB_CONN_UP), t);
		if (c->disconnects > 0)
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, "tws-md",
				  TWS_ALERT_CONN_RESTORED, "market data connection recovered");
	} else if (c->state == SLOB_TWS_CONNECTING) {
		snprintf(t, sizeof(t), "market data connecting to %s:%d (client %d)", c->prm.host,
			 c->prm.port, c->client_id);
		cold_text(md->cold, SLOB_COLD_CONN, SLOB_LVL_INFO, "tws-md",
			  slob_conn_code(SLOB_CONN_MD, SLOB_CONN_CONNECTING), t);
	} else if (c->state == SLOB_TWS_DOWN) {
		md->subscribed = false;
		md->res.state = SLOB_TWS_CT_NONE;
		snprintf(t, sizeof(t), "market data connection %s: %s",
			 old == SLOB_TWS_READY ? "lost" : "attempt failed", why);
		cold_text(md->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-md",
			  slob_conn_code(SLOB_CONN_MD, SLOB_CONN_DOWN), t);
		if (old == SLOB_TWS_READY)
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-md",
				  TWS_ALERT_CONN_LOST, t);
		else if (c->failures == TWS_ALERT_NEVER_UP_AFTER && c->disconnects == c->failures)
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_ERROR, "tws-md",
				  TWS_ALERT_CONN_LOST, t); /* refused from the start (P1-1) */
	}
}

/* ---- market hours (design note 8) ------------------------------------------------------ */

bool slob_tws_market_open(struct slob_tz *tz, const struct slob_calendar *cal, int64_t utc_ns)
{
	if (tz == NULL)
		return true;
	struct slob_local lt;
	slob_tz_local(tz, utc_ns, &lt);
	const int32_t open_min = 18 * 60, close_min = 17 * 60;
	if (lt.wday == 6)
		return false; /* Saturday */
	if (lt.wday == 0 && lt.minute < open_min)
		return false; /* Sunday before the open */
	if (lt.wday == 5 && lt.minute >= close_min)
		return false; /* Friday after the close */
	if (lt.minute >= close_min && lt.minute < open_min)
		return false; /* daily break */
	const struct slob_holiday *h = cal != NULL ? slob_calendar_holiday(cal, lt.ymd) : NULL;
	if (h != NULL && (h->close_minute < 0 || lt.minute >= h->close_minute))
		return false;
	return true;
}

/* quiet_ok of the market-data session: nothing is due while unsubscribed
 * with the contract resolved, or outside market hours (unless md_silence_check = always). Cold: runs once
 * per silence_ms of silence. */
static bool md_quiet_ok(void *ctx, struct slob_tws_conn *c)
{
	struct slob_tws_md *md = ctx;
	if (!md->subscribed)
		return md->res.state == SLOB_TWS_CT_OK; /* unresolved is not quiet (note 11) */
	if (c->prm.md_silence_always)
		return false;
	return !slob_tws_market_open(md->tz, &md->cal, wall_ns());
}

int slob_tws_md_set_calendar(struct slob_tws_md *md, const char *zone, const char *holiday_file,
			     char *err, size_t errlen)
{
	if (md->tz == NULL && (md->tz = calloc(1, sizeof(*md->tz))) == NULL) {
		snprintf(err, errlen, "market hours: out of memory");
		return -ENOMEM;
	}
	int rc = slob_tz_load(md->tz, zone, 2000, 2100);
	if (rc < 0) {
		snprintf(err, errlen, "market hours: time zone %s: %s", zone, slob_tz_strerror());
		free(md->tz);
		md->tz = NULL;
		return rc;
	}
	if (holiday_file != NULL && holiday_file[0] != '\0' &&
	    (rc = slob_calendar_load_holidays(&md->cal, holiday_file, err, errlen)) < 0)
		return rc;
	return 0;
}

/* Design note 12: the month is picked here, once per process (now_ns <= 0:
 * the wall clock now). */
static void pick_contract(const struct slob_tws_params *p, struct slob_tws_contract *k,
			  int64_t now_ns)
{
	slob_tws_contract_from_params(p, now_ns > 0 ? now_ns : wall_ns(), k);
}

int slob_tws_md_init(struct slob_tws_md *md, const struct slob_tws_params *p, slob_ring_t *ticks,
		     struct slob_coldq *cold, int64_t now_ns)
{
	memset(md, 0, sizeof(*md));
	if (ticks == NULL || ticks->rec_size != sizeof(struct slob_tick))
		return -EINVAL;
	md->ticks = ticks;
	md->cold = cold;
	md->req_id = 1000;
	md->res.req_id = 1900000000; /* far from subscription and order ids (errors share them) */
	struct slob_tickcheck_params cp;
	slob_tickcheck_params_default(&cp);
	cp.max_skew_ns = 0; /* the pipeline sets the configured checks */
	slob_tickcheck_init_params(&md->chk, &cp);
	pick_contract(p, &md->contract, now_ns);
	md->want = md->contract;
	slob_calendar_init(&md->cal);
	int rc = slob_tws_conn_init(&md->conn, p, p->md_client_id, md_on_msg, md_on_state, md);
	md->conn.quiet_ok = md_quiet_ok;
	return rc;
}

void slob_tws_md_set_check(struct slob_tws_md *md, const struct slob_tickcheck_params *p)
{
	slob_tickcheck_init_params(&md->chk, p);
}

void slob_tws_md_destroy(struct slob_tws_md *md)
{
	if (md == NULL)
		return;
	slob_tws_conn_destroy(&md->conn);
	free(md->tz);
	md->tz = NULL;
	slob_calendar_destroy(&md->cal);
}

int slob_tws_md_poll(struct slob_tws_md *md, int64_t now_ms)
{
	int w = slob_tws_conn_poll(&md->conn, now_ms);
	if (md->res.state != SLOB_TWS_CT_OK) /* note 11 */
		w += ct_poll(&md->conn, &md->res, &md->want, md->cold, "tws-md", now_ms);
	return w;
}

static int md_stage_poll(struct slob_stage *st)
{
	struct slob_tws_md *md = st->ctx;
	uint64_t before = md->ticks_in;
	int w = slob_tws_md_poll(md, mono_ms());
	st->stats->out += md->ticks_in - before;
	st->stats->polls++;
	return w;
}

slob_stage_t *slob_tws_md_stage(struct slob_tws_md *md)
{
	md->stage.name = "tws-md";
	md->stage.poll = md_stage_poll;
	md->stage.done = NULL;
	md->stage.ctx = md;
	md->stage.stats = &md->stage.own_stats;
	return &md->stage;
}

/* ---- broker ------------------------------------------------------------------------------- */

static void br_report(struct slob_tws_broker *b, uint32_t kind, const struct slob_tws_tracked *t,
		      int32_t code, const char *text, int32_t qty, int32_t px, const char *ref)
{
	struct slob_exec ex;
	memset(&ex, 0, sizeof(ex));
	ex.kind = kind;
	ex.ts_ns = wall_ns();
	ex.code = code;
	ex.qty = qty;
	ex.px = px;
	if (t != NULL) {
		ex.role = t->role;
		ex.dir = t->dir;
		ex.setup_id = t->setup_id;
		ex.order_id = t->order_id;
		snprintf(ex.order_ref, sizeof(ex.order_ref), "%s", t->order_ref);
	} else if (ref != NULL) {
		snprintf(ex.order_ref, sizeof(ex.order_ref), "%s", ref);
	}
	if (text != NULL)
		snprintf(ex.text, sizeof(ex.text), "%s", text);
	if (b->sender != NULL)
		(void)slob_sender_report(b->sender, &ex);
}

static struct slob_tws_tracked *br_find(struct slob_tws_broker *b, int64_t order_id)
{
	for (uint32_t i = 0; i < b->ntr; i++)
		if (b->tr[i].order_id == order_id)
			return &b->tr[i];
	return NULL;
}

static struct slob_tws_tracked *br_find_ref(struct slob_tws_broker *b, const char *ref)
{
	for (uint32_t i = 0; i < b->ntr; i++)
		if (strcmp(b->tr[i].order_ref, ref) == 0)
			return &b->tr[i];
	return NULL;
}

static const struct slob_tws_known_order *br_known(struct slob_tws_broker *b, const char *ref)
{
	for (size_t i = 0; i < b->nknown; i++)
		if (ref[0] && strcmp(b->known[i].order_ref, ref) == 0)
			return &b->known[i];
	return NULL;
}

static struct slob_tws_tracked *br_track(struct slob_tws_broker *b, int64_t id, uint64_t setup,
					 uint8_t role, int8_t dir, int32_t qty, int32_t px,
					 const char *ref)
{
	if (b->ntr >= SLOB_TWS_MAX_TRACKED) {
		/* drop finished orders to make room */
		uint32_t w = 0;
		for (uint32_t i = 0; i < b->ntr; i++)
			if (b->tr[i].last_kind != SLOB_EXEC_CANCELLED &&
			    b->tr[i].last_kind != SLOB_EXEC_REJECTED &&
			    b->tr[i].last_kind != SLOB_EXEC_FILL)
				b->tr[w++] = b->tr[i];
		b->ntr = w;
		if (b->ntr >= SLOB_TWS_MAX_TRACKED)
			return NULL;
	}
	struct slob_tws_tracked *t = &b->tr[b->ntr++];
	memset(t, 0, sizeof(*t));
	t->order_id = id;
	t->setup_id = setup;
	t->role = role;
	t->dir = dir;
	t->qty = qty;
	t->px = px;
	snprintf(t->order_ref, sizeof(t->order_ref), "%s", ref);
	return t;
}

/* Design note 13: the set of own execution ids of this process. Key 0 marks
 * a free slot (a hash of 0 is stored as 1). Returns true when h was there;
 * inserts it otherwise (false), or sets exec_set_full when there is no room. */
static uint64_t exec_key(const char *exec_id)
{
	uint64_t h = XXH3_64bits(exec_id, strlen(exec_id));
	return h != 0 ? h : 1;
}

static bool br_exec_set_has(const struct slob_tws_broker *b, uint64_t h)
{
	const uint32_t mask = SLOB_TWS_EXEC_SET - 1;
	if (b->exec_set == NULL)
		return false;
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		if (b->exec_set[i] == h)
			return true;
		if (b->exec_set[i] == 0)
			return false;
	}
}

static bool br_exec_seen(struct slob_tws_broker *b, const char *exec_id)
{
	const uint32_t mask = SLOB_TWS_EXEC_SET - 1;
	uint64_t h = exec_key(exec_id);
	if (br_exec_set_has(b, h))
		return true;
	if (b->exec_set == NULL || b->exec_set_n >= SLOB_TWS_EXEC_SET / 8 * 7) {
		if (!b->exec_set_full) {
			b->exec_set_full = true;
			cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_CRITICAL, "tws-order", 0,
				  "execution id set full: replayed executions not in the store are no "
				  "longer booked (position check decides); restart when flat");
		}
		return false;
	}
	uint32_t i = (uint32_t)h & mask;
	while (b->exec_set[i] != 0)
		i = (i + 1) & mask;
	b->exec_set[i] = h;
	b->exec_set_n++;
	return false;
}

/* Foreign executions: alerted once each (recent ones; never booked). */
static bool br_seen_exec(struct slob_tws_broker *b, const char *exec_id)
{
	uint64_t h = XXH3_64bits(exec_id, strlen(exec_id));
	/* a linear scan: executions are rare (a few per bracket) */
	for (unsigned i = 0; i < SLOB_TWS_SEEN_EXECS; i++)
		if (b->seen_exec[i] == h)
			return true;
	b->seen_exec[b->seen_head++ & (SLOB_TWS_SEEN_EXECS - 1)] = h;
	return false;
}

/* ---- broker account (design note 10) ---- */

#define ACCT_TAGS "NetLiquidation,AvailableFunds,ExcessLiquidity,InitMarginReq,MaintMarginReq"
#define ACCT_REQ_BASE 9000
#define WHATIF_REF "SLOB_WHATIF"

static void br_account_report(struct slob_tws_broker *b)
{
	struct slob_exec ex;
	memset(&ex, 0, sizeof(ex));
	ex.kind = SLOB_EXEC_ACCOUNT;
	ex.ts_ns = wall_ns();
	ex.acct = b->acct;
	if (b->sender == NULL || slob_sender_report(b->sender, &ex) < 0)
		b->acct_dropped++; /* the next figures replace them anyway */
	else
		b->acct_reports++;
}

/* The account whose figures count: tws.account, else the first managed one. */
static void br_account_name(const struct slob_tws_broker *b, char out[32])
{
	const char *a = b->conn.prm.account[0] ? b->conn.prm.account : b->conn.accounts;
	size_t n = strcspn(a, ",");
	if (n > 31)
		n = 31;
	memcpy(out, a, n);
	out[n] = '\0';
}

static void br_account_request(struct slob_tws_broker *b, int64_t now_ms)
{
	uint8_t m[256];
	if (b->acct_req_id != 0)
		(void)slob_tws_conn_send(&b->conn, m,
					 slob_tws_enc_cancel_account_summary(m, sizeof(m), b->acct_req_id));
	b->acct_req_id = b->acct_req_id >= ACCT_REQ_BASE ? b->acct_req_id + 1 : ACCT_REQ_BASE;
	b->acct_end_seen = false;
	(void)slob_tws_conn_send(&b->conn, m,
				 slob_tws_enc_req_account_summary(m, sizeof(m), b->acct_req_id, "All",
								  ACCT_TAGS));
	b->acct_next_ms = now_ms + (int64_t)b->conn.prm.account_refresh_s * 1000;
}

/* After reconciliation: subscribe, and ask the margin of one contract both
 * ways with what-if orders (ids taken before the sender's first order). */
static void br_account_start(struct slob_tws_broker *b)
{
	br_account_request(b, mono_ms());
	if (b->whatif_sent)
		return;
	b->whatif_sent = true;
	for (int i = 0; i < 2; i++) {
		struct slob_tws_order o;
		uint8_t m[1024];
		slob_tws_order_init(&o);
		o.order_id = b->conn.next_valid_id++;
		strcpy(o.action, i == 0 ? "BUY" : "SELL");
		o.qty = 1;
		strcpy(o.order_type, "MKT");
		slob_strlcpy(o.tif, sizeof(o.tif), b->conn.prm.tif);
		slob_strlcpy(o.account, sizeof(o.account), b->conn.prm.account);
		strcpy(o.order_ref, WHATIF_REF);
		o.transmit = true;
		o.what_if = true;
		b->whatif_id[i] = o.order_id;
		b->whatif_margin[i] = NAN;
		int n = slob_tws_enc_place_order(m, sizeof(m), &b->contract, &o);
		if (n > 0)
			(void)slob_tws_conn_send(&b->conn, m, n);
	}
}

static bool br_is_whatif(const struct slob_tws_broker *b, int64_t id)
{
	return id != 0 && (id == b->whatif_id[0] || id == b->whatif_id[1]);
}

/* The largest account figure or per-contract margin taken as an amount, in USD: far
 * beyond any real account, and small enough that the risk stage's products of it
 * (equity x risk, margin x contracts x headroom) stay inside int64 cents. A larger
 * figure is logged and not stored, so entries are held as account_stale until sane
 * figures arrive. */
#define BR_AMOUNT_MAX_USD 1e11

static void br_whatif_answer(struct slob_tws_broker *b, const struct slob_tws_in *m)
{
	int i = m->u.open_order.order_id == b->whatif_id[1];
	double v = m->u.open_order.init_margin_change;
	b->whatif_answers++;
	if (!br_is_whatif(b, m->u.open_order.order_id))
		return; /* an earlier session's answer */
	char t[160];
	if (isfinite(v) && fabs(v) > BR_AMOUNT_MAX_USD) {
		snprintf(t, sizeof(t),
			 "what-if order %" PRId64 " initial margin %.6g is not an amount (over %.0f)",
			 m->u.open_order.order_id, v, BR_AMOUNT_MAX_USD);
		cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", 0, t);
		v = NAN; /* not stored: the other side's answer may still stand */
	}
	b->whatif_margin[i] = isfinite(v) ? fabs(v) : NAN;
	double best = NAN;
	for (int k = 0; k < 2; k++)
		if (isfinite(b->whatif_margin[k]) && !(b->whatif_margin[k] <= best))
			best = b->whatif_margin[k];
	if (!isfinite(best) || best <= 0) {
		snprintf(t, sizeof(t), "what-if order %" PRId64 " answered without an initial margin",
			 m->u.open_order.order_id);
		cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", 0, t);
		return;
	}
	b->acct.margin_1_cents = llround(best * 100.0);
	b->acct.have |= SLOB_ACCT_MARGIN_1;
	snprintf(t, sizeof(t), "initial margin per contract (what-if): %.2f", best);
	cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_INFO, "tws-order", 0, t);
	br_account_report(b);
}

static void br_account_value(struct slob_tws_broker *b, const struct slob_tws_in *m)
{
	char want[32];
	if (m->u.account_summary.req_id != b->acct_req_id)
		return;
	br_account_name(b, want);
	if (want[0] && strcmp(m->u.account_summary.account, want) != 0)
		return;
	static const struct {
		const char *tag;
		uint32_t bit;
		size_t off;
	} tags[] = {
	    {"NetLiquidation", SLOB_ACCT_NET_LIQ, offsetof(struct slob_exec_account, net_liq_cents)},
	    {"AvailableFunds", SLOB_ACCT_AVAILABLE,
	     offsetof(struct slob_exec_account, available_cents)},
	    {"ExcessLiquidity", SLOB_ACCT_EXCESS_LIQ,
	     offsetof(struct slob_exec_account, excess_liq_cents)},
	    {"InitMarginReq", SLOB_ACCT_INIT_MARGIN,
	     offsetof(struct slob_exec_account, init_margin_cents)},
	    {"MaintMarginReq", SLOB_ACCT_MAINT_MARGIN,
	     offsetof(struct slob_exec_account, maint_margin_cents)},
	};
	double v;
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (strcmp(m->u.account_summary.tag, tags[i].tag) != 0)
			continue;
		if (slob_tws_parse_dbl(m->u.account_summary.value, &v) != 0 || !isfinite(v) ||
		    fabs(v) > BR_AMOUNT_MAX_USD) {
			char t[160];
			snprintf(t, sizeof(t), "account summary %s: '%.40s' is not an amount",
				 tags[i].tag, m->u.account_summary.value);
			cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", 0, t);
			return;
		}
		int64_t cents = llround(v * 100.0);
		memcpy((char *)&b->acct + tags[i].off, &cents, sizeof(cents));
		b->acct.have |= tags[i].bit;
		b->acct.summary_ns = mono_ms() * 1000000;
		b->acct.summary_wall_ns = wall_ns();
		slob_strlcpy(b->acct.currency, sizeof(b->acct.currency),
			     m->u.account_summary.currency);
		if (b->acct_end_seen)
			br_account_report(b); /* an update between full sets */
		return;
	}
}

static void br_account_end(struct slob_tws_broker *b, const struct slob_tws_in *m)
{
	if (m->u.end.req_id != b->acct_req_id)
		return;
	b->acct_end_seen = true;
	if (!(b->acct.have & SLOB_ACCT_NET_LIQ)) {
		char want[32], t[160];
		br_account_name(b, want);
		snprintf(t, sizeof(t), "account summary has no NetLiquidation for account '%s'", want);
		cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", 0, t);
	}
	br_account_report(b);
}

static bool br_flush_deferred(struct slob_tws_broker *b);

/* room for one more booking or settlement in the sender's report queue
 * (adoption + fill + alert); everything else waits for the next pump */
static bool br_room(const struct slob_tws_broker *b)
{
	return b->sender == NULL || slob_sender_report_room(b->sender) >= 8;
}

/*
 * First reconciliation after start: an order the store holds as working
 * that the broker neither lists as open nor executed (a sibling cancelled by
 * its bracket while slobd was down, or a journaled order that never reached
 * the wire) is closed in the store as CANCELLED, so the store's history
 * says what the broker says and the next start does not count it open.
 */
static bool br_settle_missing(struct slob_tws_broker *b)
{
	if (b->settled)
		return true;
	for (size_t i = b->settle_next; i < b->nknown; i++, b->settle_next = i) {
		if (!br_room(b))
			return false; /* continued at the next pump */
		const struct slob_tws_known_order *k = &b->known[i];
		if (!k->open || k->order_ref[0] == '\0' || br_find_ref(b, k->order_ref) != NULL ||
		    (k->order_id != 0 && br_find(b, k->order_id) != NULL))
			continue;
		struct slob_tws_tracked tmp = {.order_id = k->order_id, .setup_id = k->setup_id,
					       .role = k->role, .dir = k->dir};
		snprintf(tmp.order_ref, sizeof(tmp.order_ref), "%s", k->order_ref);
		br_report(b, SLOB_EXEC_CANCELLED, &tmp, 0, "not working at the broker after restart",
			  0, 0, NULL);
	}
	b->settled = true;
	return true;
}

static void br_check_reconciled(struct slob_tws_broker *b)
{
	if (b->rec_done || !b->rec_pos || !b->rec_orders || !b->rec_execs)
		return;
	/* fills that happened while down move known_position; both steps go
	 * as far as the sender's report queue allows and continue from
	 * br_pump: the pass is done (and orders may go out) only after them */
	if (!br_flush_deferred(b) || !br_settle_missing(b))
		return;
	b->rec_done = true;
	/* the position is compared once the executions reply is in too: fills of
	 * this process's orders (live, or reported while the socket was down)
	 * have moved known_position since start-up (drill P1-1: a reconnect
	 * flagged slob's own position as unknown and tripped the breaker) */
	if (b->broker_position != b->known_position) {
		char m[160];
		snprintf(m, sizeof(m), "position mismatch: broker %d, store %d: not closed blindly (P1-4)",
			 b->broker_position, b->known_position);
		b->unknown_found++;
		b->pass_unknown++;
		cold_text(b->cold, SLOB_COLD_UNKNOWN_BROKER, SLOB_LVL_CRITICAL, "tws-order", 0, m);
		br_report(b, SLOB_EXEC_UNKNOWN, NULL, 0, m, b->broker_position, 0, NULL);
	} else if (b->broker_position != 0) {
		b->adopted++;
		b->pass_adopted++;
		br_report(b, SLOB_EXEC_RECONCILED, NULL, 0, "position matches store", b->broker_position,
			  0, NULL);
	}
	br_account_start(b); /* takes the what-if ids before the sender's first order */
	if (b->sender != NULL) {
		slob_sender_set_next_id(b->sender, b->conn.next_valid_id);
		slob_sender_set_reconciled(b->sender, true);
	}
	b->rec_start_ms = 0;
	if (b->rec_timeouts > 0) {
		char r[120];
		snprintf(r, sizeof(r), "reconciliation completed after %u timeouts: trading allowed",
			 b->rec_timeouts);
		cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, "tws-order",
			  TWS_ALERT_CONN_RESTORED, r);
		b->rec_timeouts = 0;
	}
	char t[160];
	/* counts of this pass only: a reconnect's line says what that pass found */
	/* "Position reconciliation": the incident guide's grep (P0-2) */
	snprintf(t, sizeof(t), "Position reconciliation done: adopted %" PRIu64 ", unknown %" PRIu64
		 ", broker position %d, fills booked %" PRIu64, b->pass_adopted, b->pass_unknown,
		 b->broker_position, b->pass_booked);
	cold_text(b->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-order",
		  slob_conn_code(SLOB_CONN_ORDERS, SLOB_CONN_RECONCILED), t);
}

/* A broker price in ticks; 0 when not finite or beyond int32 (never UB). */
static int32_t to_ticks(const struct slob_tws_broker *b, double px)
{
	int32_t t;
	(void)slob_dbl_to_ticks(px, b->conn.prm.tick_size, &t);
	return t;
}

/* A broker quantity (position, shares, order size); 0 when out of range. */
static int32_t to_qty(double q)
{
	int32_t v;
	(void)slob_dbl_to_i32(q, &v);
	return v;
}

static void br_unknown(struct slob_tws_broker *b, const char *what, int64_t id, const char *ref)
{
	char t[160];
	snprintf(t, sizeof(t), "%s %" PRId64 " ref '%s' not in store: left alone (P1-4)", what, id,
		 ref);
	b->unknown_found++;
	b->pass_unknown++;
	cold_text(b->cold, SLOB_COLD_UNKNOWN_BROKER, SLOB_LVL_CRITICAL, "tws-order", 0, t);
	struct slob_tws_tracked tmp = {.order_id = id};
	snprintf(tmp.order_ref, sizeof(tmp.order_ref), "%s", ref);
	br_report(b, SLOB_EXEC_UNKNOWN, &tmp, 0, t, 0, 0, NULL);
}

/* Reconciliation requests, once the contract is confirmed (design note 5). */
static void br_reconcile_start(struct slob_tws_broker *b)
{
	struct slob_tws_conn *c = &b->conn;
	uint8_t m[256];
	b->rec_start_ms = mono_ms(); /* design note 9: from the requests, not from READY */
	(void)slob_tws_conn_send(c, m, slob_tws_enc_req_positions(m, sizeof(m)));
	(void)slob_tws_conn_send(c, m, slob_tws_enc_req_all_open_orders(m, sizeof(m)));
	b->exec_req_id++;
	(void)slob_tws_conn_send(c, m, slob_tws_enc_req_executions(m, sizeof(m), b->exec_req_id, NULL));
}

/* Something at the broker in another contract than the configured one:
 * reported (alert WARNING, logged), never adopted or counted. */
static void br_foreign(struct slob_tws_broker *b, const char *what,
		       const struct slob_tws_contract_view *v, double qty, int64_t id, const char *ref)
{
	char t[160];
	snprintf(t, sizeof(t), "%s in another contract left alone: %s %s %s conId %" PRId64
		 " qty %g%s%s (trading %s conId %" PRId64 ")", what, v->symbol, v->sec_type, v->expiry,
		 v->con_id, qty, ref[0] ? " ref " : "", ref, b->contract.symbol, b->contract.con_id);
	(void)id;
	b->foreign_found++;
	cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-order", 0, t);
	cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", 0, t);
}

/* An orderRef of slob's: in the store, or by its form (slob_tws_own_ref). */
static bool br_own_ref(struct slob_tws_broker *b, const char *ref)
{
	return br_known(b, ref) != NULL || slob_tws_own_ref(ref, NULL, NULL);
}

/* Note 12: slob's own order or execution in another contract than the
 * configured one (placed before a roll, or by another configuration): it is
 * slob's and is tracked and booked; said loudly (WARNING). false: not ours. */
static bool br_own_elsewhere(struct slob_tws_broker *b, const char *what,
			     const struct slob_tws_contract_view *v, int64_t id, const char *ref)
{
	if (!br_own_ref(b, ref))
		return false;
	char t[160];
	snprintf(t, sizeof(t), "%s %" PRId64 " ref %s is slob's but in %s %s %s conId %" PRId64
		 " (trading %s conId %" PRId64 "): managed as slob's", what, id, ref, v->symbol,
		 v->sec_type, v->expiry, v->con_id, b->contract.local_symbol, b->contract.con_id);
	cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-order", 0, t);
	cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", 0, t);
	return true;
}

bool slob_tws_own_ref(const char *ref, uint64_t *base_id, uint8_t *role)
{
	static const char *const suffix[3] = {"_ENTRY", "_TP", "_SL"};
	if (ref == NULL || strncmp(ref, "SLOB_", 5) != 0)
		return false;
	uint64_t v = 0;
	for (int i = 5; i < 21; i++) {
		char c = ref[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	for (uint8_t r = 0; r < 3; r++)
		if (strcmp(ref + 21, suffix[r]) == 0) {
			if (base_id)
				*base_id = v;
			if (role)
				*role = r;
			return v != 0;
		}
	return false;
}

static bool br_exec_in_store(const struct slob_tws_broker *b, const char *exec_id)
{
	uint64_t h = XXH3_64bits(exec_id, strlen(exec_id));
	size_t lo = 0, hi = b->nstore_execs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->store_execs[mid] == h)
			return true;
		if (b->store_execs[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * An order of slob's own (by store record, or by its orderRef alone) the
 * broker reports but this session does not track: track it, report it
 * RECONCILED so risk attributes what follows. buy: the order's side. An
 * orderRef the store lacks is alerted ("adopted"), never "unknown".
 */
static struct slob_tws_tracked *br_adopt(struct slob_tws_broker *b, int64_t id, const char *ref,
					 bool buy, int32_t qty, int32_t px, const char *what)
{
	const struct slob_tws_known_order *k = br_known(b, ref);
	uint64_t setup;
	uint8_t role;
	int8_t dir;
	if (k != NULL) {
		setup = k->setup_id;
		role = k->role;
		dir = k->dir;
	} else if (slob_tws_own_ref(ref, &setup, &role)) {
		/* an entry BUY opens a LONG position; exits act against it */
		dir = (int8_t)(role == SLOB_ROLE_ENTRY ? (buy ? SLOB_LONG : SLOB_SHORT)
						       : (buy ? SLOB_SHORT : SLOB_LONG));
	} else {
		return NULL;
	}
	struct slob_tws_tracked *t = br_track(b, id, setup, role, dir, qty, px, ref);
	if (t == NULL)
		return NULL;
	t->last_kind = SLOB_EXEC_RECONCILED;
	b->adopted++;
	b->pass_adopted++;
	if (k == NULL) {
		char m[160];
		snprintf(m, sizeof(m), "adopted %s %" PRId64 " ref '%s' by its orderRef (no record in "
			 "the store): managed as slob's own", what, id, ref);
		cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-order", 0, m);
	}
	br_report(b, SLOB_EXEC_RECONCILED, t, 0, what, t->qty, t->px, NULL);
	return t;
}

/* Books one execution of slob's own order as a FILL (risk moves money and
 * the position; the sender records it with the broker's exec id). */
static void br_book_exec(struct slob_tws_broker *b, int64_t order_id, const char *ref, bool bot,
			 int32_t qty, int32_t px, const char *eid, bool replayed)
{
	struct slob_tws_tracked *t = br_find(b, order_id);
	if (t == NULL)
		t = br_find_ref(b, ref);
	if (t == NULL)
		t = br_adopt(b, order_id, ref, bot, qty, px, "execution");
	if (t == NULL) {
		br_unknown(b, "execution of order (no room to track)", order_id, ref);
		return;
	}
	t->last_kind = SLOB_EXEC_FILL;
	if (replayed)
		b->pass_booked++; /* from the executions reply, not live */
	/* net position of slob's own orders, for the next reconciliation */
	b->known_position += bot ? qty : -qty;
	br_report(b, SLOB_EXEC_FILL, t, 0, eid, qty, px, NULL);
}

static bool br_defer_exec(struct slob_tws_broker *b, int64_t order_id, const char *ref, bool bot,
			  int32_t qty, int32_t px, const char *eid)
{
	if (b->ndeferred >= SLOB_TWS_MAX_DEFERRED)
		return false; /* booked at once: better early than lost */
	struct slob_tws_deferred_exec *d = &b->deferred[b->ndeferred++];
	d->order_id = order_id;
	d->qty = qty;
	d->px = px;
	d->bot = bot;
	d->done = false;
	snprintf(d->order_ref, sizeof(d->order_ref), "%s", ref);
	snprintf(d->exec_id, sizeof(d->exec_id), "%s", eid);
	return true;
}

/* Reconciliation complete: the held executions, entries first, as far as
 * the sender's queue allows; true once all are booked. */
static bool br_flush_deferred(struct slob_tws_broker *b)
{
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < b->ndeferred; i++) {
			struct slob_tws_deferred_exec *d = &b->deferred[i];
			if (d->done)
				continue;
			if (!br_room(b))
				return false;
			uint8_t role = SLOB_ROLE_ENTRY;
			const struct slob_tws_known_order *k = br_known(b, d->order_ref);
			if (k != NULL)
				role = k->role;
			else
				(void)slob_tws_own_ref(d->order_ref, NULL, &role);
			if ((pass == 0) != (role == SLOB_ROLE_ENTRY))
				continue;
			br_book_exec(b, d->order_id, d->order_ref, d->bot, d->qty, d->px, d->exec_id,
				     true);
			d->done = true;
		}
	b->ndeferred = 0;
	return true;
}

static void br_on_msg(void *ctx, struct slob_tws_conn *c, const struct slob_tws_in *m)
{
	struct slob_tws_broker *b = ctx;
	int ct = ct_on_msg(&b->res, &c->prm, &b->want, m, b->cold, "tws-order", &b->contract);
	if (ct > 0)
		br_reconcile_start(b);
	if (ct != 0)
		return; /* the contract request's answer, not an order's */
	switch (m->kind) {
	case SLOB_TWS_POSITION_DATA:
		if (!ct_ours(&b->contract, &m->u.position.c)) {
			if (m->u.position.position != 0)
				br_foreign(b, "position", &m->u.position.c, m->u.position.position, 0,
					   "");
			break;
		}
		b->broker_position += to_qty(m->u.position.position);
		break;
	case SLOB_TWS_POSITION_END:
		if (b->rec_pos)
			break;
		b->rec_pos = true;
		br_check_reconciled(b); /* compares the position */
		break;
	case SLOB_TWS_ACCOUNT_SUMMARY:
		br_account_value(b, m);
		break;
	case SLOB_TWS_ACCOUNT_SUMMARY_END:
		br_account_end(b, m);
		break;
	case SLOB_TWS_OPEN_ORDER: {
		const char *ref = m->u.open_order.order_ref;
		int64_t id = m->u.open_order.order_id;
		if (m->u.open_order.what_if || br_is_whatif(b, id)) {
			br_whatif_answer(b, m); /* a margin preview, never an order */
			break;
		}
		if (!ct_ours(&b->contract, &m->u.open_order.c)) {
			if (!br_own_elsewhere(b, "open order", &m->u.open_order.c, id, ref)) {
				br_foreign(b, "open order", &m->u.open_order.c, m->u.open_order.qty,
					   id, ref);
				break;
			}
		}
		struct slob_tws_tracked *t = br_find(b, id);
		if (t == NULL)
			t = br_find_ref(b, ref);
		if (t != NULL)
			break; /* ours: already tracked */
		const struct slob_tws_known_order *k = br_known(b, ref);
		if (k != NULL) {
			t = br_track(b, id, k->setup_id, k->role, k->dir,
				     to_qty(m->u.open_order.qty),
				     to_ticks(b, k->role == SLOB_ROLE_SL ? m->u.open_order.aux_price
									 : m->u.open_order.lmt_price),
				     ref);
			if (t != NULL) {
				t->last_kind = SLOB_EXEC_RECONCILED;
				b->adopted++;
				b->pass_adopted++;
				br_report(b, SLOB_EXEC_RECONCILED, t, 0, "open order adopted", t->qty,
					  t->px, NULL);
			}
		} else if (slob_tws_own_ref(ref, NULL, NULL)) {
			bool buy = m->u.open_order.action && strcmp(m->u.open_order.action, "BUY") == 0;
			uint8_t role = SLOB_ROLE_ENTRY;
			(void)slob_tws_own_ref(ref, NULL, &role);
			if (br_adopt(b, id, ref, buy, to_qty(m->u.open_order.qty),
				     to_ticks(b, role == SLOB_ROLE_SL ? m->u.open_order.aux_price
								      : m->u.open_order.lmt_price),
				     "open order") == NULL)
				br_unknown(b, "open order (no room to track)", id, ref);
		} else {
			br_unknown(b, "open order", id, ref);
		}
		break;
	}
	case SLOB_TWS_OPEN_ORDER_END:
		if (!b->rec_orders) {
			b->rec_orders = true;
			br_check_reconciled(b);
		}
		break;
	case SLOB_TWS_EXECUTION_DATA: {
		const char *eid = m->u.exec.exec_id;
		if (!ct_ours(&b->contract, &m->u.exec.c)) {
			if (!br_own_ref(b, m->u.exec.order_ref)) {
				if (!br_seen_exec(b, eid))
					br_foreign(b, "execution", &m->u.exec.c, m->u.exec.shares,
						   m->u.exec.order_id, m->u.exec.order_ref);
				break;
			}
			if (!br_exec_set_has(b, exec_key(eid))) /* said once per execution */
				(void)br_own_elsewhere(b, "execution", &m->u.exec.c,
						       m->u.exec.order_id, m->u.exec.order_ref);
		}
		if (br_exec_seen(b, eid))
			break; /* duplicate report, or booked earlier in this process */
		const char *xref = m->u.exec.order_ref;
		struct slob_tws_tracked *t = br_find(b, m->u.exec.order_id);
		if (t == NULL)
			t = br_find_ref(b, xref);
		int32_t qty = to_qty(m->u.exec.shares);
		int32_t px = to_ticks(b, m->u.exec.price);
		bool bot = strcmp(m->u.exec.side, "BOT") == 0;
		if (t == NULL && br_known(b, xref) == NULL && !slob_tws_own_ref(xref, NULL, NULL)) {
			br_unknown(b, "execution of order", m->u.exec.order_id, xref);
			break;
		}
		if (br_exec_in_store(b, eid)) {
			/* booked before the restart: adopted, nothing moves */
			struct slob_tws_tracked tmp = {.order_id = m->u.exec.order_id};
			snprintf(tmp.order_ref, sizeof(tmp.order_ref), "%s", xref);
			const struct slob_tws_known_order *k = br_known(b, xref);
			if (k != NULL) {
				tmp.setup_id = k->setup_id;
				tmp.role = k->role;
				tmp.dir = k->dir;
			} else if (t != NULL) {
				tmp.setup_id = t->setup_id;
				tmp.role = t->role;
				tmp.dir = t->dir;
			}
			b->adopted++;
			b->pass_adopted++;
			br_report(b, SLOB_EXEC_RECONCILED, &tmp, 0, eid, qty, px, NULL);
			break;
		}
		if (b->exec_set_full && m->u.exec.req_id != -1 &&
		    !br_exec_set_has(b, exec_key(eid))) {
			/* note 13: cannot tell a repeat from a new one: not booked */
			br_unknown(b, "replayed execution (id set full) of order", m->u.exec.order_id,
				   xref);
			break;
		}
		/* slob's own execution the store has not booked: live, or one that
		 * happened while this process was down or disconnected (P0-2, P1-1).
		 * Booked exactly once (exec_set above, the store's ids here); while
		 * reconciling, held until the pass is complete and then booked
		 * entries first (a live exit fill may overtake the replay of its
		 * entry) */
		if (!b->rec_done && br_defer_exec(b, m->u.exec.order_id, xref, bot, qty, px, eid))
			break;
		br_book_exec(b, m->u.exec.order_id, xref, bot, qty, px, eid, m->u.exec.req_id != -1);
		break;
	}
	case SLOB_TWS_EXECUTION_DATA_END:
		if (m->u.end.req_id == b->exec_req_id && !b->rec_execs) {
			b->rec_execs = true;
			br_check_reconciled(b);
		}
		break;
	case SLOB_TWS_ORDER_STATUS: {
		struct slob_tws_tracked *t = br_find(b, m->u.order_status.order_id);
		if (t == NULL)
			break;
		const char *s = m->u.order_status.status;
		if ((strcmp(s, "Submitted") == 0 || strcmp(s, "PreSubmitted") == 0) && t->last_kind == 0) {
			t->last_kind = SLOB_EXEC_SUBMITTED;
			br_report(b, SLOB_EXEC_SUBMITTED, t, 0, s, t->qty, t->px, NULL);
		} else if ((strcmp(s, "Cancelled") == 0 || strcmp(s, "ApiCancelled") == 0) &&
			   t->last_kind != SLOB_EXEC_CANCELLED && t->last_kind != SLOB_EXEC_REJECTED) {
			t->last_kind = SLOB_EXEC_CANCELLED;
			br_report(b, SLOB_EXEC_CANCELLED, t, 0, s, t->qty, t->px, NULL);
		}
		break;
	}
	case SLOB_TWS_ERR_MSG: {
		int code = m->u.error.code;
		if (code >= 2100 && code <= 2169)
			break;
		if (code == 1100 || code == 1101 || code == 1102) {
			cold_text(b->cold, SLOB_COLD_ALERT,
				  code == 1100 ? SLOB_LVL_WARNING : SLOB_LVL_INFO, "tws-order", code,
				  m->u.error.text);
			break;
		}
		struct slob_tws_tracked *t = br_find(b, m->u.error.req_id);
		if (t == NULL && (br_is_whatif(b, m->u.error.req_id) ||
				  m->u.error.req_id == b->acct_req_id)) {
			char w[200];
			snprintf(w, sizeof(w), "%s refused: %.150s",
				 m->u.error.req_id == b->acct_req_id ? "account summary"
								     : "what-if margin order",
				 m->u.error.text);
			cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", code, w);
			break;
		}
		if (t == NULL) {
			if (m->u.error.req_id == -1)
				cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_WARNING, "tws-order", code,
					  m->u.error.text);
			break;
		}
		if (code == 202) {
			if (t->last_kind != SLOB_EXEC_CANCELLED) {
				t->last_kind = SLOB_EXEC_CANCELLED;
				br_report(b, SLOB_EXEC_CANCELLED, t, code, m->u.error.text, t->qty,
					  t->px, NULL);
			}
			break;
		}
		if (t->last_kind == SLOB_EXEC_REJECTED || t->last_kind == SLOB_EXEC_FILL)
			break;
		t->last_kind = SLOB_EXEC_REJECTED;
		b->rejects++;
		br_report(b, SLOB_EXEC_REJECTED, t, code, m->u.error.text, t->qty, t->px, NULL);
		break;
	}
	default:
		break;
	}
}

static void br_on_state(void *ctx, struct slob_tws_conn *c, int old, const char *why)
{
	struct slob_tws_broker *b = ctx;
	char t[200];
	if (c->state == SLOB_TWS_READY) {
		/* design note 5: reconcile before any order */
		b->rec_pos = b->rec_orders = b->rec_execs = b->rec_done = false;
		b->broker_position = 0;
		b->pass_adopted = b->pass_unknown = b->pass_booked = 0;
		b->acct_req_id = 0; /* subscriptions end with the session */
		b->whatif_sent = false;
		b->rec_start_ms = 0; /* design note 9: starts with the requests */
		if (b->sender != NULL) {
			slob_sender_set_reconciled(b->sender, false);
			slob_sender_set_next_id(b->sender, c->next_valid_id);
		}
		/* design note 7: the contract first; reconciliation once confirmed;
		 * note 12: the month picked at init, whatever the date now */
		ct_request(c, &b->res, &b->want);
		char sq[64] = "";
		if (c->sock.sqpoll_active)
			snprintf(sq, sizeof(sq), ", SQPOLL sends");
		else if (c->sock.sqpoll_err)
			snprintf(sq, sizeof(sq), ", SQPOLL refused: %s", strerror(-c->sock.sqpoll_err));
		snprintf(t, sizeof(t), "order connection up (client %d, next id %" PRId64 "%s): "
			 "resolving %s %s, then reconciling", c->client_id, c->next_valid_id, sq,
			 b->want.symbol, b->want.expiry);
		cold_text(b->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-order",
			  slob_conn_code(SLOB_CONN_ORDERS, SLOB_CONN_UP), t);
		if (c->disconnects > 0 && b->rec_timeouts == 0)
			cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, "tws-order",
				  TWS_ALERT_CONN_RESTORED, "order connection recovered");
		br_report(b, SLOB_EXEC_CONN, NULL, 1, "order connection up", 0, 0, NULL);
	} else if (c->state == SLOB_TWS_CONNECTING) {
		snprintf(t, sizeof(t), "order connection connecting to %s:%d (client %d)", c->prm.host,
			 c->prm.port, c->client_id);
		cold_text(b->cold, SLOB_COLD_CONN, SLOB_LVL_INFO, "tws-order",
			  slob_conn_code(SLOB_CONN_ORDERS, SLOB_CONN_CONNECTING), t);
	} else if (c->state == SLOB_TWS_DOWN) {
		b->res.state = SLOB_TWS_CT_NONE;
		if (b->sender != NULL)
			slob_sender_set_reconciled(b->sender, false);
		snprintf(t, sizeof(t), "order connection %s: %s",
			 old == SLOB_TWS_READY ? "lost" : "attempt failed", why);
		cold_text(b->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-order",
			  slob_conn_code(SLOB_CONN_ORDERS, SLOB_CONN_DOWN), t);
		if (old != SLOB_TWS_READY && c->failures == TWS_ALERT_NEVER_UP_AFTER &&
		    c->disconnects == c->failures)
			cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_ERROR, "tws-order",
				  TWS_ALERT_CONN_LOST, t); /* refused from the start (P1-1) */
		if (old == SLOB_TWS_READY) {
			if (b->rec_timeouts == 0) /* a timeout streak alerts by itself */
				cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-order",
					  TWS_ALERT_CONN_LOST, t);
			br_report(b, SLOB_EXEC_CONN, NULL, 0, "order connection lost", 0, 0, NULL);
		}
	}
}

static int br_place(void *ctx, const struct slob_intent *in, int64_t first_id)
{
	struct slob_tws_broker *b = ctx;
	if (!slob_tws_conn_ready(&b->conn) || !b->rec_done || b->res.state != SLOB_TWS_CT_OK)
		return -ENOTCONN;
	if (in->qty <= 0 || (in->dir != SLOB_LONG && in->dir != SLOB_SHORT))
		return -EINVAL;
	if (b->ntr + 3 > SLOB_TWS_MAX_TRACKED)
		return -ENOSPC;
	static const char *const suffix[3] = {"_ENTRY", "_TP", "_SL"};
	const char *buy = "BUY", *sell = "SELL";
	uint8_t msg[3][1024];
	int len[3];
	double ts = b->conn.prm.tick_size;
	for (int r = 0; r < 3; r++) {
		struct slob_tws_order o;
		slob_tws_order_init(&o);
		o.order_id = first_id + r;
		o.parent_id = r == SLOB_ROLE_ENTRY ? 0 : first_id;
		bool buy_side = r == SLOB_ROLE_ENTRY ? in->dir == SLOB_LONG : in->dir == SLOB_SHORT;
		strcpy(o.action, buy_side ? buy : sell);
		o.qty = in->qty;
		int32_t px = r == SLOB_ROLE_ENTRY ? in->entry : r == SLOB_ROLE_TP ? in->tp : in->sl;
		if (r == SLOB_ROLE_SL) {
			strcpy(o.order_type, "STP");
			o.aux_price = px * ts;
		} else {
			strcpy(o.order_type, "LMT");
			o.lmt_price = px * ts;
		}
		/* per leg: the stop must outlive the session (docs/RISK.md) */
		const struct slob_tws_params *prm = &b->conn.prm;
		slob_strlcpy(o.tif, sizeof(o.tif),
			     r == SLOB_ROLE_ENTRY ? prm->tif : r == SLOB_ROLE_TP ? prm->tp_tif : prm->sl_tif);
		o.outside_rth = r == SLOB_ROLE_ENTRY ? prm->entry_outside_rth
			      : r == SLOB_ROLE_TP    ? prm->tp_outside_rth
						     : prm->sl_outside_rth;
		slob_strlcpy(o.account, sizeof(o.account), b->conn.prm.account);
		size_t bl = strnlen(in->order_ref, sizeof(in->order_ref));
		if (bl + strlen(suffix[r]) >= sizeof(o.order_ref))
			return -EINVAL;
		memcpy(o.order_ref, in->order_ref, bl);
		strcpy(o.order_ref + bl, suffix[r]);
		o.transmit = r == SLOB_ROLE_SL; /* the last child transmits the bracket */
		len[r] = slob_tws_enc_place_order(msg[r], sizeof(msg[r]), &b->contract, &o);
		if (len[r] < 0)
			return len[r];
	}
	for (int r = 0; r < 3; r++) {
		int rc = slob_tws_conn_send(&b->conn, msg[r], len[r]);
		if (rc < 0)
			return rc; /* untransmitted parts are never activated by IB */
	}
	for (int r = 0; r < 3; r++) {
		char ref[SLOB_ORDER_REF_LEN];
		size_t rl = strnlen(in->order_ref, sizeof(ref) - 7);
		memcpy(ref, in->order_ref, rl);
		slob_strlcpy(ref + rl, sizeof(ref) - rl, suffix[r]);
		int32_t px = r == SLOB_ROLE_ENTRY ? in->entry : r == SLOB_ROLE_TP ? in->tp : in->sl;
		br_track(b, first_id + r, in->setup_id, (uint8_t)r, in->dir, in->qty, px, ref);
	}
	/* bytes are queued; flush now so the latency stamp is close to the wire */
	(void)flush_tx(&b->conn);
	return 0;
}

static int br_cancel(void *ctx, uint64_t setup_id)
{
	struct slob_tws_broker *b = ctx;
	for (uint32_t i = 0; i < b->ntr; i++) {
		struct slob_tws_tracked *t = &b->tr[i];
		if (t->setup_id != setup_id || t->role != SLOB_ROLE_ENTRY)
			continue;
		if (t->last_kind == SLOB_EXEC_FILL || t->last_kind == SLOB_EXEC_CANCELLED ||
		    t->last_kind == SLOB_EXEC_REJECTED)
			return 0;
		uint8_t m[128];
		return slob_tws_conn_send(&b->conn, m, slob_tws_enc_cancel_order(m, sizeof(m), t->order_id));
	}
	return -ENOENT;
}

/* Design note 9: a reconciliation that does not complete in time alerts and
 * reconnects (a fresh session asks for all three lists again); the sender
 * stays held meanwhile. */
static int br_reconcile_timeout(struct slob_tws_broker *b, int64_t now)
{
	char t[200];
	b->rec_timeouts++;
	snprintf(t, sizeof(t),
		 "reconciliation timed out after %" PRId64 " ms (positionEnd %s, openOrderEnd %s, "
		 "execDetailsEnd %s; attempt %u): orders held, reconnecting",
		 now - b->rec_start_ms, b->rec_pos ? "in" : "missing", b->rec_orders ? "in" : "missing",
		 b->rec_execs ? "in" : "missing", b->rec_timeouts);
	b->rec_start_ms = 0;
	cold_text(b->cold, SLOB_COLD_LOG, SLOB_LVL_ERROR, "tws-order", 0, t);
	/* first of a streak, then every doubling: no alert storm while it lasts
	 * (the reconnects of a streak raise no lost/restored alerts, br_on_state) */
	if ((b->rec_timeouts & (b->rec_timeouts - 1)) == 0)
		cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_ERROR, "tws-order", TWS_ALERT_CONN_LOST,
			  t);
	slob_tws_conn_drop(&b->conn, "reconciliation timed out");
	return 1;
}

/*
 * Session-end flatten: the bracket's stop is modified into a market order
 * (same order id, parent and orderRef), so it closes the position at once
 * and its fill is reported like any stop fill; the OCA target is cancelled
 * by the broker as after a stop. Without a connection nothing is sent and
 * the position keeps its stop and target.
 */
static int br_flatten(void *ctx, const struct slob_intent *in)
{
	struct slob_tws_broker *b = ctx;
	if (!slob_tws_conn_ready(&b->conn) || !b->rec_done)
		return -ENOTCONN;
	if (in->qty <= 0 || (in->dir != SLOB_LONG && in->dir != SLOB_SHORT))
		return -EINVAL;
	const struct slob_tws_tracked *sl = NULL;
	int64_t parent = 0;
	for (uint32_t i = 0; i < b->ntr; i++) {
		const struct slob_tws_tracked *t = &b->tr[i];
		if (t->setup_id != in->setup_id)
			continue;
		if (t->role == SLOB_ROLE_ENTRY)
			parent = t->order_id;
		else if (t->role == SLOB_ROLE_SL)
			sl = t;
	}
	if (sl == NULL)
		return -ENOENT;
	if (sl->last_kind == SLOB_EXEC_FILL || sl->last_kind == SLOB_EXEC_CANCELLED ||
	    sl->last_kind == SLOB_EXEC_REJECTED)
		return 0;
	struct slob_tws_order o;
	slob_tws_order_init(&o);
	o.order_id = sl->order_id;
	o.parent_id = parent;
	strcpy(o.action, in->dir == SLOB_LONG ? "SELL" : "BUY");
	o.qty = in->qty;
	strcpy(o.order_type, "MKT");
	slob_strlcpy(o.tif, sizeof(o.tif), b->conn.prm.sl_tif);
	o.outside_rth = true; /* the close must go out whatever the hour */
	slob_strlcpy(o.account, sizeof(o.account), b->conn.prm.account);
	slob_strlcpy(o.order_ref, sizeof(o.order_ref), sl->order_ref);
	uint8_t m[1024];
	int n = slob_tws_enc_place_order(m, sizeof(m), &b->contract, &o);
	if (n < 0)
		return n;
	int rc = slob_tws_conn_send(&b->conn, m, n);
	if (rc == 0)
		(void)flush_tx(&b->conn);
	return rc;
}

static int br_pump(void *ctx, struct slob_sender *s)
{
	(void)s;
	return slob_tws_broker_poll(ctx, mono_ms());
}

int slob_tws_broker_poll(struct slob_tws_broker *b, int64_t now)
{
	int w = slob_tws_conn_poll(&b->conn, now);
	if (b->res.state != SLOB_TWS_CT_OK) /* note 11 */
		w += ct_poll(&b->conn, &b->res, &b->want, b->cold, "tws-order", now);
	if (b->acct_req_id != 0 && b->rec_done && slob_tws_conn_ready(&b->conn) &&
	    now >= b->acct_next_ms) {
		br_account_request(b, now); /* a fresh complete set (design note 10) */
		w++;
	}
	if (b->rec_start_ms != 0 && !b->rec_done && b->conn.prm.reconcile_timeout_ms > 0 &&
	    now - b->rec_start_ms >= b->conn.prm.reconcile_timeout_ms &&
	    b->conn.state == SLOB_TWS_READY)
		w += br_reconcile_timeout(b, now);
	if (!b->rec_done && b->rec_pos && b->rec_orders && b->rec_execs &&
	    slob_tws_conn_ready(&b->conn))
		br_check_reconciled(b); /* a pass waiting for report room */
	return w;
}

int slob_tws_broker_init(struct slob_tws_broker *b, const struct slob_tws_params *p,
			 const struct slob_tws_known_order *known, size_t nknown,
			 int32_t known_position, struct slob_coldq *cold, int64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	b->known = known;
	b->nknown = nknown;
	b->known_position = known_position;
	b->cold = cold;
	b->exec_req_id = 5000;
	b->res.req_id = 1950000000; /* far from order ids: errors carry either */
	pick_contract(p, &b->contract, now_ns);
	b->want = b->contract;
	b->exec_set = calloc(SLOB_TWS_EXEC_SET, sizeof(*b->exec_set)); /* note 13 */
	if (b->exec_set == NULL)
		return -ENOMEM;
	int rc = slob_tws_conn_init(&b->conn, p, p->order_client_id, br_on_msg, br_on_state, b);
	char why[200];
	if (rc == 0 && slob_tws_params_stop_warning(p, why, sizeof(why)))
		cold_text(cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-order", 0,
			  why); /* accepted by tws.allow_unprotected_stop: say it loudly */
	return rc;
}

void slob_tws_broker_destroy(struct slob_tws_broker *b)
{
	if (b == NULL)
		return;
	slob_tws_conn_destroy(&b->conn);
	free(b->exec_set);
	b->exec_set = NULL;
}

void slob_tws_broker_attach(struct slob_tws_broker *b, struct slob_sender *s)
{
	b->sender = s;
	struct slob_sender_backend be = {
		.ctx = b, .place = br_place, .cancel = br_cancel, .pump = br_pump,
		.flatten = br_flatten,
	};
	slob_sender_set_backend(s, &be);
	slob_sender_set_reconciled(s, false);
}
