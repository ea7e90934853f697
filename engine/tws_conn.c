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
	p->tick_size = 0.25;
	p->order_sqpoll_cpu = SLOB_USOCK_NO_SQPOLL;
	p->order_sqpoll_idle_ms = 1000;
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
#undef INT_KEY
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
	if (p->max_frame < 1024 || p->max_frame > SLOB_TWS_MAX_FRAME) {
		snprintf(err, errlen, "tws.max_frame: %" PRIu32 " not in 1024..16777215", p->max_frame);
		return -EINVAL;
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
	work += pump(c);
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

/* ---- market data ---------------------------------------------------------------------- */

static void md_subscribe(struct slob_tws_md *md)
{
	uint8_t m[512];
	int n;
	md->req_id++;
	if (md->conn.prm.md_tick_by_tick)
		n = slob_tws_enc_req_tick_by_tick(m, sizeof(m), md->req_id, &md->contract, "Last", 0,
						  false);
	else
		n = slob_tws_enc_req_mkt_data(m, sizeof(m), md->req_id, &md->contract, "", false,
					      false);
	md->subscribed = slob_tws_conn_send(&md->conn, m, n) == 0;
}

static void md_tick(struct slob_tws_md *md, int64_t epoch_s, double price, double size)
{
	if (!(price > 0) || !isfinite(price))
		return;
	struct slob_tick t = {0};
	t.ts_ns = epoch_s * 1000000000;
	/* received on the socket (not decoded): what tick-to-order measures from */
	t.recv_ns = md->conn.frame_rx_ns ? md->conn.frame_rx_ns : slob_mono_ns();
	t.seq = ++md->seq;
	t.px = (int32_t)llround(price / md->conn.prm.tick_size);
	t.size = size > 0 && isfinite(size) ? (uint32_t)size : 0;
	t.flags = SLOB_TICK_LIVE | (md->gap_next ? SLOB_TICK_GAP_BEFORE : 0);
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
	switch (m->kind) {
	case SLOB_TWS_TICK_BY_TICK:
		if (m->u.tick_by_tick.req_id == md->req_id &&
		    (m->u.tick_by_tick.tick_type == SLOB_TWS_TBT_LAST ||
		     m->u.tick_by_tick.tick_type == SLOB_TWS_TBT_ALL_LAST))
			md_tick(md, m->u.tick_by_tick.time, m->u.tick_by_tick.price,
				m->u.tick_by_tick.size);
		break;
	case SLOB_TWS_TICK_PRICE:
		/* LAST (4) or delayed LAST (68) */
		if (m->u.tick_price.req_id == md->req_id &&
		    (m->u.tick_price.tick_type == 4 || m->u.tick_price.tick_type == 68))
			md_tick(md, wall_ns() / 1000000000, m->u.tick_price.price,
				m->u.tick_price.size);
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
		md_subscribe(md);
		snprintf(t, sizeof(t), "market data connected (client %d, %s)", c->client_id,
			 md->contract.expiry);
		cold_text(md->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-md", 1, t);
		if (c->disconnects > 0)
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, "tws-md",
				  TWS_ALERT_CONN_RESTORED, "market data connection recovered");
	} else if (c->state == SLOB_TWS_DOWN) {
		md->subscribed = false;
		snprintf(t, sizeof(t), "market data connection %s: %s",
			 old == SLOB_TWS_READY ? "lost" : "attempt failed", why);
		cold_text(md->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-md", 0, t);
		if (old == SLOB_TWS_READY)
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-md",
				  TWS_ALERT_CONN_LOST, t);
		else if (c->failures == TWS_ALERT_NEVER_UP_AFTER && c->disconnects == c->failures)
			cold_text(md->cold, SLOB_COLD_ALERT, SLOB_LVL_ERROR, "tws-md",
				  TWS_ALERT_CONN_LOST, t); /* refused from the start (P1-1) */
	}
}

static void pick_contract(const struct slob_tws_params *p, struct slob_tws_contract *k,
			  int64_t now_ns)
{
	char month[8];
	if (strcmp(p->contract_month, "auto") == 0)
		slob_tws_front_month(now_ns, p->roll_days, month);
	else
		memcpy(month, p->contract_month, sizeof(month));
	slob_tws_contract_nq(k, month);
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
	pick_contract(p, &md->contract, now_ns);
	return slob_tws_conn_init(&md->conn, p, p->md_client_id, md_on_msg, md_on_state, md);
}

void slob_tws_md_destroy(struct slob_tws_md *md)
{
	if (md != NULL)
		slob_tws_conn_destroy(&md->conn);
}

int slob_tws_md_poll(struct slob_tws_md *md, int64_t now_ms)
{
	return slob_tws_conn_poll(&md->conn, now_ms);
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
	if (b->sender != NULL) {
		slob_sender_set_next_id(b->sender, b->conn.next_valid_id);
		slob_sender_set_reconciled(b->sender, true);
	}
	char t[160];
	/* counts of this pass only: a reconnect's line says what that pass found */
	/* "Position reconciliation": the incident guide's grep (P0-2) */
	snprintf(t, sizeof(t), "Position reconciliation done: adopted %" PRIu64 ", unknown %" PRIu64
		 ", broker position %d, fills booked %" PRIu64, b->pass_adopted, b->pass_unknown,
		 b->broker_position, b->pass_booked);
	cold_text(b->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-order", 2, t);
}

static int32_t to_ticks(const struct slob_tws_broker *b, double px)
{
	return isfinite(px) ? (int32_t)llround(px / b->conn.prm.tick_size) : 0;
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
	(void)c;
	switch (m->kind) {
	case SLOB_TWS_POSITION_DATA:
		if (strcmp(m->u.position.c.symbol, "NQ") == 0 &&
		    strcmp(m->u.position.c.sec_type, "FUT") == 0)
			b->broker_position += (int32_t)llround(m->u.position.position);
		break;
	case SLOB_TWS_POSITION_END:
		if (b->rec_pos)
			break;
		b->rec_pos = true;
		br_check_reconciled(b); /* compares the position */
		break;
	case SLOB_TWS_OPEN_ORDER: {
		const char *ref = m->u.open_order.order_ref;
		int64_t id = m->u.open_order.order_id;
		struct slob_tws_tracked *t = br_find(b, id);
		if (t == NULL)
			t = br_find_ref(b, ref);
		if (t != NULL)
			break; /* ours: already tracked */
		const struct slob_tws_known_order *k = br_known(b, ref);
		if (k != NULL) {
			t = br_track(b, id, k->setup_id, k->role, k->dir,
				     (int32_t)llround(m->u.open_order.qty),
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
			if (br_adopt(b, id, ref, buy, (int32_t)llround(m->u.open_order.qty),
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
		if (br_seen_exec(b, eid))
			break; /* duplicate report */
		const char *xref = m->u.exec.order_ref;
		struct slob_tws_tracked *t = br_find(b, m->u.exec.order_id);
		if (t == NULL)
			t = br_find_ref(b, xref);
		int32_t qty = (int32_t)llround(m->u.exec.shares);
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
		/* slob's own execution the store has not booked: live, or one that
		 * happened while this process was down or disconnected (P0-2, P1-1).
		 * Booked exactly once (seen_exec above, the store's ids here); while
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
		if (b->sender != NULL) {
			slob_sender_set_reconciled(b->sender, false);
			slob_sender_set_next_id(b->sender, c->next_valid_id);
		}
		uint8_t m[256];
		(void)slob_tws_conn_send(c, m, slob_tws_enc_req_positions(m, sizeof(m)));
		(void)slob_tws_conn_send(c, m, slob_tws_enc_req_all_open_orders(m, sizeof(m)));
		b->exec_req_id++;
		(void)slob_tws_conn_send(c, m, slob_tws_enc_req_executions(m, sizeof(m), b->exec_req_id,
									    NULL));
		char sq[64] = "";
		if (c->sock.sqpoll_active)
			snprintf(sq, sizeof(sq), ", SQPOLL sends");
		else if (c->sock.sqpoll_err)
			snprintf(sq, sizeof(sq), ", SQPOLL refused: %s", strerror(-c->sock.sqpoll_err));
		snprintf(t, sizeof(t), "order connection up (client %d, next id %" PRId64 "%s): reconciling",
			 c->client_id, c->next_valid_id, sq);
		cold_text(b->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-order", 1, t);
		if (c->disconnects > 0)
			cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_INFO, "tws-order",
				  TWS_ALERT_CONN_RESTORED, "order connection recovered");
		br_report(b, SLOB_EXEC_CONN, NULL, 1, "order connection up", 0, 0, NULL);
	} else if (c->state == SLOB_TWS_DOWN) {
		if (b->sender != NULL)
			slob_sender_set_reconciled(b->sender, false);
		snprintf(t, sizeof(t), "order connection %s: %s",
			 old == SLOB_TWS_READY ? "lost" : "attempt failed", why);
		cold_text(b->cold, SLOB_COLD_CONN, SLOB_LVL_WARNING, "tws-order", 0, t);
		if (old != SLOB_TWS_READY && c->failures == TWS_ALERT_NEVER_UP_AFTER &&
		    c->disconnects == c->failures)
			cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_ERROR, "tws-order",
				  TWS_ALERT_CONN_LOST, t); /* refused from the start (P1-1) */
		if (old == SLOB_TWS_READY) {
			cold_text(b->cold, SLOB_COLD_ALERT, SLOB_LVL_WARNING, "tws-order",
				  TWS_ALERT_CONN_LOST, t);
			br_report(b, SLOB_EXEC_CONN, NULL, 0, "order connection lost", 0, 0, NULL);
		}
	}
}

static int br_place(void *ctx, const struct slob_intent *in, int64_t first_id)
{
	struct slob_tws_broker *b = ctx;
	if (!slob_tws_conn_ready(&b->conn) || !b->rec_done)
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
		slob_strlcpy(o.tif, sizeof(o.tif), b->conn.prm.tif);
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

static int br_pump(void *ctx, struct slob_sender *s)
{
	struct slob_tws_broker *b = ctx;
	(void)s;
	int w = slob_tws_conn_poll(&b->conn, mono_ms());
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
	pick_contract(p, &b->contract, now_ns);
	return slob_tws_conn_init(&b->conn, p, p->order_client_id, br_on_msg, br_on_state, b);
}

void slob_tws_broker_destroy(struct slob_tws_broker *b)
{
	if (b != NULL)
		slob_tws_conn_destroy(&b->conn);
}

void slob_tws_broker_attach(struct slob_tws_broker *b, struct slob_sender *s)
{
	b->sender = s;
	struct slob_sender_backend be = {
		.ctx = b, .place = br_place, .cancel = br_cancel, .pump = br_pump,
	};
	slob_sender_set_backend(s, &be);
	slob_sender_set_reconciled(s, false);
}
