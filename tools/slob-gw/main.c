/* SPDX-License-Identifier: MIT */
/*
 * slob-gw: a small TWS / IB Gateway simulator for tests, drills and demos.
 * It speaks the same socket API subset as the real gateway at server version
 * 200 (engine/tws_codec.h), streams ticks from a replay file as tickByTick
 * Last (or tickPrice for reqMktData) messages, fills orders against that
 * stream with the paper broker's rules (engine/paper.h: LMT at its limit when
 * traded at or through, STP at its stop, bracket children live after the
 * parent fill, the sibling cancelled when one child fills), answers
 * positions / open orders / executions, and takes fault-injection commands
 * on a line-based control port. Orders, positions and executions survive
 * client reconnects (and restarts with --state FILE).
 *
 * Usage: slob-gw [--port N] [--control-port N] [--ticks FILE] [--speed X]
 *                [--state FILE] [--account ID] [--first-id N] [--wait-sub]
 *                [--bar-pause-ms N]
 *   --port 0 / --control-port 0 pick free ports; the chosen ports are printed
 *   on stdout as "PORT <n>" and "CONTROL <n>" (one line each, flushed).
 *   --speed X: replay at X times real time; 0 = as fast as clients read.
 *   --bar-pause-ms N: after the first tick of each minute (the tick that
 *   closes the client's M1 bar) hold the stream N ms, so decisions reach the
 *   gateway before the next tick, as in a paper replay (fast replays).
 * Control commands (one per line, answer "OK ..." or "ERR ..."): see
 * docs/TWS.md, "slob-gw control channel", or send "help".
 *
 * Single-threaded poll() loop; this is a test tool, not the hot path.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/event.h"
#include "engine/tickfile.h"
#include "engine/tws_codec.h"

#define MAX_CLIENTS 16
#define MAX_CTL 4
#define MAX_ORDERS 4096
#define MAX_EXECS 4096
#define INBUF (1 << 20)
#define MAX_PAYLOAD (1u << 20)
#define TICK_SIZE 0.25
#define MULTIPLIER 20.0

enum ostate { O_UNTRANSMITTED = 1, O_PRESUBMITTED, O_WORKING, O_FILLED, O_CANCELLED };

static const char *ostate_name(int s)
{
	switch (s) {
	case O_UNTRANSMITTED: return "PendingSubmit";
	case O_PRESUBMITTED: return "PreSubmitted";
	case O_WORKING: return "Submitted";
	case O_FILLED: return "Filled";
	case O_CANCELLED: return "Cancelled";
	default: return "Inactive";
	}
}

struct order {
	int64_t id, parent_id, perm_id;
	int client_id;
	char action[8];
	int64_t qty;
	char type[8];
	double lmt, aux;
	char tif[8], oca[32], account[32], ref[64];
	int state;
	double fill_px;
	uint64_t after_tick;     /* only ticks with index > after_tick can fill it */
};

struct exec {
	char exec_id[40];
	int64_t order_id, perm_id;
	int client_id;
	char side[4];
	int64_t qty;
	double price;
	char time[32];
	char ref[64];
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct client {
	int fd;
	int state;               /* 0 hello, 1 wait startApi, 2 ready */
	int client_id;
	struct buf in, out;
	int64_t tbt_req, mkt_req; /* -1: not subscribed */
	int64_t hold_until_ms;   /* control "delay": output held until then */
};

struct ctl {
	int fd;
	char line[512];
	size_t len;
};

static struct {
	int lfd, cfd;
	struct client cl[MAX_CLIENTS];
	struct ctl ctl[MAX_CTL];
	struct order orders[MAX_ORDERS];
	int norders;
	struct exec execs[MAX_EXECS];
	int nexecs;
	int64_t next_id, next_perm, exec_seq;
	int64_t position;        /* signed contracts */
	double avg_cost;         /* per contract, incl. multiplier */
	char account[32];
	const char *state_path;
	/* tick stream */
	struct slob_tickreader *rd;
	const char *ticks_path;
	double speed;
	bool wait_sub, paused, eof;
	bool have_tick;
	int64_t bar_pause_ms;    /* hold after the first tick of each minute */
	int64_t hold_until_ms;
	int64_t last_minute;
	struct slob_tick tick;   /* next tick to send */
	uint64_t tick_index;     /* ticks sent */
	int64_t t0_ns, wall0_ms; /* pacing anchor */
	double last_px;
	/* fault injection */
	int reject_code;
	int64_t rejected_parent;
	char reject_text[128];
	int dup_left;
	int64_t delay_ms;
	bool quit;
} G;

/* ---- helpers ------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "slob-gw: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 65536;
		while (nc < b->len + n)
			nc *= 2;
		uint8_t *q = realloc(b->p, nc);
		if (q == NULL)
			return -ENOMEM;
		b->p = q;
		b->cap = nc;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void buf_drop(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void send_raw(struct client *c, const uint8_t *msg, int n)
{
	if (c->fd < 0 || n <= 0)
		return;
	(void)buf_add(&c->out, msg, (size_t)n);
}

static struct client *client_by_id(int client_id)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (G.cl[i].fd >= 0 && G.cl[i].state == 2 && G.cl[i].client_id == client_id)
			return &G.cl[i];
	return NULL;
}

static void close_client(struct client *c, const char *why)
{
	if (c->fd < 0)
		return;
	logf_("client %d (fd %d) closed: %s", c->client_id, c->fd, why);
	close(c->fd);
	c->fd = -1;
	c->in.len = c->out.len = 0;
	c->tbt_req = c->mkt_req = -1;
}

static void fmt_time(char *out, size_t cap, int64_t ts_ns)
{
	time_t s = (time_t)(ts_ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, cap, "%Y%m%d %H:%M:%S UTC", &tm);
}

/* ---- state file ------------------------------------------------------------ */

static const char *dash(const char *s)
{
	return s[0] ? s : "-";
}

static void undash(char *s)
{
	if (strcmp(s, "-") == 0)
		s[0] = '\0';
}

static void save_state(void)
{
	if (G.state_path == NULL)
		return;
	char tmp[1024];
	snprintf(tmp, sizeof(tmp), "%s.tmp", G.state_path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		logf_("cannot write state %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(f, "next %" PRId64 " %" PRId64 " %" PRId64 "\n", G.next_id, G.next_perm, G.exec_seq);
	fprintf(f, "position %" PRId64 " %.17g\n", G.position, G.avg_cost);
	for (int i = 0; i < G.norders; i++) {
		struct order *o = &G.orders[i];
		fprintf(f,
			"order %" PRId64 " %" PRId64 " %" PRId64 " %d %s %" PRId64
			" %s %.17g %.17g %s %s %s %s %d %.17g %" PRIu64 "\n",
			o->id, o->parent_id, o->perm_id, o->client_id, o->action, o->qty, o->type,
			o->lmt, o->aux, dash(o->tif), dash(o->oca), dash(o->account), dash(o->ref),
			o->state, o->fill_px, o->after_tick);
	}
	for (int i = 0; i < G.nexecs; i++) {
		struct exec *e = &G.execs[i];
		fprintf(f, "exec %s %" PRId64 " %" PRId64 " %d %s %" PRId64 " %.17g %s\n", e->exec_id,
			e->order_id, e->perm_id, e->client_id, e->side, e->qty, e->price, dash(e->ref));
	}
	fclose(f);
	if (rename(tmp, G.state_path) != 0)
		logf_("cannot rename state file: %s", strerror(errno));
}

static int load_state(void)
{
	FILE *f = fopen(G.state_path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	char line[1024];
	int ln = 0;
	while (fgets(line, sizeof(line), f)) {
		ln++;
		int ok = 0;
		if (strncmp(line, "next ", 5) == 0) {
			ok = sscanf(line, "next %" SCNd64 " %" SCNd64 " %" SCNd64, &G.next_id,
				    &G.next_perm, &G.exec_seq) == 3;
		} else if (strncmp(line, "position ", 9) == 0) {
			ok = sscanf(line, "position %" SCNd64 " %lg", &G.position, &G.avg_cost) == 2;
		} else if (strncmp(line, "order ", 6) == 0 && G.norders < MAX_ORDERS) {
			struct order *o = &G.orders[G.norders];
			memset(o, 0, sizeof(*o));
			ok = sscanf(line,
				    "order %" SCNd64 " %" SCNd64 " %" SCNd64 " %d %7s %" SCNd64
				    " %7s %lg %lg %7s %31s %31s %63s %d %lg %" SCNu64,
				    &o->id, &o->parent_id, &o->perm_id, &o->client_id, o->action, &o->qty,
				    o->type, &o->lmt, &o->aux, o->tif, o->oca, o->account, o->ref,
				    &o->state, &o->fill_px, &o->after_tick) == 16;
			if (ok) {
				undash(o->tif);
				undash(o->oca);
				undash(o->account);
				undash(o->ref);
				o->after_tick = 0; /* a new stream starts counting again */
				G.norders++;
			}
		} else if (strncmp(line, "exec ", 5) == 0 && G.nexecs < MAX_EXECS) {
			struct exec *e = &G.execs[G.nexecs];
			memset(e, 0, sizeof(*e));
			ok = sscanf(line, "exec %39s %" SCNd64 " %" SCNd64 " %d %3s %" SCNd64 " %lg %63s",
				    e->exec_id, &e->order_id, &e->perm_id, &e->client_id, e->side,
				    &e->qty, &e->price, e->ref) == 8;
			if (ok) {
				undash(e->ref);
				strcpy(e->time, "20260101 00:00:00 UTC");
				G.nexecs++;
			}
		}
		if (!ok) {
			fclose(f);
			logf_("%s:%d: unreadable state line", G.state_path, ln);
			return -EINVAL;
		}
	}
	fclose(f);
	logf_("state %s: %d orders, %d executions, position %" PRId64, G.state_path, G.norders,
	      G.nexecs, G.position);
	return 0;
}

/* ---- outgoing server messages ---------------------------------------------- */

#define MSG(c, ...)                                                                                \
	do {                                                                                       \
		uint8_t m_[2048];                                                                  \
		struct slob_tws_wr w_;                                                             \
		slob_tws_wr_begin(&w_, m_, sizeof(m_));                                            \
		__VA_ARGS__;                                                                       \
		send_raw((c), m_, slob_tws_wr_end(&w_));                                           \
	} while (0)
#define WS(s) slob_tws_wr_str(&w_, (s))
#define WI(v) slob_tws_wr_int(&w_, (v))
#define WD(v) slob_tws_wr_dbl(&w_, (v))

static void send_error(struct client *c, int64_t req_id, int code, const char *text)
{
	MSG(c, WI(SLOB_TWS_ERR_MSG); WI(req_id); WI(code); WS(text); WS("");
	    WI((int64_t)time(NULL) * 1000));
}

static void contract_fields(struct slob_tws_wr *w, bool with_exchange)
{
	/* conId, symbol, secType, expiry, strike, right, multiplier, [exchange], currency,
	 * localSymbol, tradingClass */
	slob_tws_wr_int(w, 620730920);
	slob_tws_wr_str(w, "NQ");
	slob_tws_wr_str(w, "FUT");
	slob_tws_wr_str(w, "20260320");
	slob_tws_wr_str(w, "0");
	slob_tws_wr_str(w, "");
	slob_tws_wr_str(w, "20");
	if (with_exchange)
		slob_tws_wr_str(w, "CME");
	slob_tws_wr_str(w, "USD");
	slob_tws_wr_str(w, "NQH6");
	slob_tws_wr_str(w, "NQ");
}

static void send_order_status(struct client *c, const struct order *o)
{
	double filled = o->state == O_FILLED ? (double)o->qty : 0;
	double remaining = o->state == O_FILLED || o->state == O_CANCELLED ? 0 : (double)o->qty;
	MSG(c, WI(SLOB_TWS_ORDER_STATUS); WI(o->id); WS(ostate_name(o->state)); WD(filled);
	    WD(remaining); WD(o->state == O_FILLED ? o->fill_px : 0); WI(o->perm_id);
	    WI(o->parent_id); WD(o->state == O_FILLED ? o->fill_px : 0); WI(o->client_id); WS("");
	    WD(0));
}

/* openOrder in the 147-field form of TWS_PROTOCOL.md 6.1, conditional counts 0. */
static void send_open_order(struct client *c, const struct order *o)
{
	uint8_t m[4096];
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, m, sizeof(m));
	slob_tws_wr_int(&w, SLOB_TWS_OPEN_ORDER);
	slob_tws_wr_int(&w, o->id);                 /* 1 */
	contract_fields(&w, true);                  /* 2..12 */
	slob_tws_wr_str(&w, o->action);             /* 13 */
	slob_tws_wr_int(&w, o->qty);                /* 14 */
	slob_tws_wr_str(&w, o->type);               /* 15 */
	slob_tws_wr_dbl(&w, isnan(o->lmt) ? 0 : o->lmt); /* 16 */
	slob_tws_wr_dbl(&w, isnan(o->aux) ? 0 : o->aux); /* 17 */
	slob_tws_wr_str(&w, o->tif);                /* 18 */
	slob_tws_wr_str(&w, o->oca);                /* 19 */
	slob_tws_wr_str(&w, o->account[0] ? o->account : G.account); /* 20 */
	slob_tws_wr_str(&w, "");                    /* 21 openClose */
	slob_tws_wr_int(&w, 0);                     /* 22 origin */
	slob_tws_wr_str(&w, o->ref);                /* 23 */
	slob_tws_wr_int(&w, o->client_id);          /* 24 */
	slob_tws_wr_int(&w, o->perm_id);            /* 25 */
	for (int i = 26; i <= 56; i++)
		slob_tws_wr_str(&w, "");
	slob_tws_wr_int(&w, o->parent_id);          /* 57 */
	for (int i = 58; i <= 84; i++)
		slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, ostate_name(o->state)); /* 85 */
	for (int i = 86; i <= 147; i++)
		slob_tws_wr_str(&w, "");
	send_raw(c, m, slob_tws_wr_end(&w));
}

static void send_exec(struct client *c, int64_t req_id, const struct exec *e)
{
	uint8_t m[2048];
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, m, sizeof(m));
	slob_tws_wr_int(&w, SLOB_TWS_EXECUTION_DATA);
	slob_tws_wr_int(&w, req_id);
	slob_tws_wr_int(&w, e->order_id);
	contract_fields(&w, true);
	slob_tws_wr_str(&w, e->exec_id);
	slob_tws_wr_str(&w, e->time);
	slob_tws_wr_str(&w, G.account);
	slob_tws_wr_str(&w, "CME");
	slob_tws_wr_str(&w, e->side);
	slob_tws_wr_int(&w, e->qty);
	slob_tws_wr_dbl(&w, e->price);
	slob_tws_wr_int(&w, e->perm_id);
	slob_tws_wr_int(&w, e->client_id);
	slob_tws_wr_int(&w, 0);
	slob_tws_wr_int(&w, e->qty);
	slob_tws_wr_dbl(&w, e->price);
	slob_tws_wr_str(&w, e->ref);
	slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, "");
	slob_tws_wr_int(&w, 2);
	slob_tws_wr_int(&w, 0);
	slob_tws_wr_str(&w, "");
	send_raw(c, m, slob_tws_wr_end(&w));
	MSG(c, WI(SLOB_TWS_COMMISSION_REPORT); WI(1); WS(e->exec_id); WD(2.25); WS("USD");
	    WS("1.7976931348623157E308"); WS("1.7976931348623157E308"); WS(""));
}

static void send_position(struct client *c)
{
	uint8_t m[1024];
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, m, sizeof(m));
	slob_tws_wr_int(&w, SLOB_TWS_POSITION_DATA);
	slob_tws_wr_int(&w, 3);
	slob_tws_wr_str(&w, G.account);
	slob_tws_wr_int(&w, 620730920);
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
	slob_tws_wr_int(&w, G.position);
	slob_tws_wr_dbl(&w, G.avg_cost);
	send_raw(c, m, slob_tws_wr_end(&w));
}

/* Order events go to the owning client (if connected); duplicated on request. */
static void notify_order(struct order *o, bool with_open)
{
	struct client *c = client_by_id(o->client_id);
	if (c == NULL)
		return;
	int times = G.dup_left > 0 ? 2 : 1;
	if (G.dup_left > 0)
		G.dup_left--;
	for (int k = 0; k < times; k++) {
		if (with_open)
			send_open_order(c, o);
		send_order_status(c, o);
	}
}

/* ---- order book ------------------------------------------------------------ */

static struct order *find_order(int64_t id)
{
	for (int i = 0; i < G.norders; i++)
		if (G.orders[i].id == id)
			return &G.orders[i];
	return NULL;
}

static bool terminal(const struct order *o)
{
	return o->state == O_FILLED || o->state == O_CANCELLED;
}

static bool on_tick_grid(double px)
{
	if (isnan(px))
		return true;
	double q = px / TICK_SIZE;
	return fabs(q - nearbyint(q)) < 1e-9;
}

static void cancel_order(struct order *o, bool announce)
{
	if (terminal(o))
		return;
	o->state = O_CANCELLED;
	notify_order(o, false);
	if (announce) {
		struct client *c = client_by_id(o->client_id);
		if (c)
			send_error(c, o->id, 202, "Order Canceled - reason:");
	}
}

static void fill_order(struct order *o, double px)
{
	o->state = O_FILLED;
	o->fill_px = px;
	int sign = strcmp(o->action, "BUY") == 0 ? 1 : -1;
	/* position and average cost (per contract, with the multiplier, as IB reports) */
	int64_t newpos = G.position + sign * o->qty;
	if (G.position == 0 || (G.position > 0) == (sign > 0)) {
		double tot = G.avg_cost * (double)llabs(G.position) + px * MULTIPLIER * (double)o->qty;
		G.avg_cost = newpos ? tot / (double)llabs(newpos) : 0;
	} else if (newpos == 0) {
		G.avg_cost = 0;
	} else if ((newpos > 0) != (G.position > 0)) {
		G.avg_cost = px * MULTIPLIER; /* flipped */
	}
	G.position = newpos;
	if (G.nexecs < MAX_EXECS) {
		struct exec *e = &G.execs[G.nexecs++];
		memset(e, 0, sizeof(*e));
		snprintf(e->exec_id, sizeof(e->exec_id), "0000e0d5.%08" PRIx64 ".01.01", ++G.exec_seq);
		e->order_id = o->id;
		e->perm_id = o->perm_id;
		e->client_id = o->client_id;
		strcpy(e->side, sign > 0 ? "BOT" : "SLD");
		e->qty = o->qty;
		e->price = px;
		fmt_time(e->time, sizeof(e->time), G.tick.ts_ns);
		_Static_assert(sizeof(e->ref) == sizeof(o->ref), "ref sizes");
		memcpy(e->ref, o->ref, sizeof(e->ref));
		struct client *c = client_by_id(o->client_id);
		if (c) {
			int times = G.dup_left > 0 ? 2 : 1;
			for (int k = 0; k < times; k++)
				send_exec(c, -1, e);
		}
	}
	notify_order(o, false);
	logf_("fill order %" PRId64 " %s %" PRId64 " @ %.2f ref=%s pos=%" PRId64, o->id, o->action,
	      o->qty, px, o->ref, G.position);
	/* bracket: children go live; a filled child cancels its siblings */
	for (int i = 0; i < G.norders; i++) {
		struct order *x = &G.orders[i];
		if (o->parent_id == 0 && x->parent_id == o->id && x->state == O_PRESUBMITTED) {
			x->state = O_WORKING;
			x->after_tick = G.tick_index;
			notify_order(x, false);
		} else if (o->parent_id != 0 && x != o && x->parent_id == o->parent_id) {
			cancel_order(x, false);
		}
	}
}

static bool crosses(const struct order *o, double px, double *fill)
{
	bool buy = strcmp(o->action, "BUY") == 0;
	if (strcmp(o->type, "LMT") == 0) {
		*fill = o->lmt;
		return buy ? px <= o->lmt : px >= o->lmt;
	}
	if (strcmp(o->type, "STP") == 0) {
		*fill = o->aux;
		return buy ? px >= o->aux : px <= o->aux;
	}
	if (strcmp(o->type, "MKT") == 0) {
		*fill = px;
		return true;
	}
	return false;
}

static void match_tick(double px)
{
	bool changed = false;
	for (int i = 0; i < G.norders; i++) {
		struct order *o = &G.orders[i];
		double fpx;
		if (o->state != O_WORKING || G.tick_index <= o->after_tick || !crosses(o, px, &fpx))
			continue;
		fill_order(o, fpx);
		changed = true;
	}
	if (changed)
		save_state();
}

/* placeOrder fields (1-based after the id): see TWS_PROTOCOL.md 5.1 */
static void on_place_order(struct client *c, const struct slob_tws_in *m)
{
	if (m->nfields < 28) {
		send_error(c, -1, 320, "Error reading request: placeOrder too short");
		return;
	}
	int64_t id = 0, qty = 0, parent = 0, transmit = 0;
	(void)slob_tws_parse_i64(m->f[1], &id);
	const char *sym = m->f[3], *local = m->f[12];
	if (strcmp(sym, "NQ") != 0 && strncmp(local, "NQ", 2) != 0) {
		send_error(c, id, 200, "No security definition has been found for the request");
		return;
	}
	if (G.reject_code) {
		int code = G.reject_code;
		G.reject_code = 0;
		G.rejected_parent = id;
		logf_("injected reject %d for order %" PRId64, code, id);
		send_error(c, id, code, G.reject_text);
		return;
	}
	{
		int64_t par = 0;
		(void)slob_tws_parse_i64(m->f[28], &par);
		struct order *po = par ? find_order(par) : NULL;
		if (par != 0 && (par == G.rejected_parent || po == NULL || po->state == O_CANCELLED)) {
			send_error(c, id, 201, "Order rejected - reason:parent order is not active");
			return;
		}
	}
	struct order *o = find_order(id);
	if (id <= 0) {
		send_error(c, id, 103, "Duplicate order id (ids must be positive)");
		return;
	}
	if (o != NULL && terminal(o)) {
		send_error(c, id, 103, "Duplicate order id");
		return;
	}
	if (o == NULL) {
		if (G.norders >= MAX_ORDERS) {
			send_error(c, id, 201, "Order rejected - reason:too many orders");
			return;
		}
		o = &G.orders[G.norders++];
		memset(o, 0, sizeof(*o));
		o->id = id;
		o->perm_id = ++G.next_perm;
		o->state = O_UNTRANSMITTED;
	}
	o->client_id = c->client_id;
	snprintf(o->action, sizeof(o->action), "%s", m->f[16]);
	(void)slob_tws_parse_i64(m->f[17], &qty);
	o->qty = qty;
	snprintf(o->type, sizeof(o->type), "%s", m->f[18]);
	o->lmt = m->f[19][0] ? strtod(m->f[19], NULL) : NAN;
	o->aux = m->f[20][0] ? strtod(m->f[20], NULL) : NAN;
	snprintf(o->tif, sizeof(o->tif), "%s", m->f[21]);
	snprintf(o->oca, sizeof(o->oca), "%s", m->f[22]);
	snprintf(o->account, sizeof(o->account), "%s", m->f[23]);
	snprintf(o->ref, sizeof(o->ref), "%s", m->f[26]);
	(void)slob_tws_parse_i64(m->f[27], &transmit);
	(void)slob_tws_parse_i64(m->f[28], &parent);
	o->parent_id = parent;
	if (id >= G.next_id)
		G.next_id = id + 1;
	if (!on_tick_grid(o->lmt) || !on_tick_grid(o->aux)) {
		o->state = O_CANCELLED;
		send_error(c, id, 110,
			   "The price does not conform to the minimum price variation for this contract.");
		save_state();
		return;
	}
	if (o->state == O_WORKING || o->state == O_PRESUBMITTED) {
		notify_order(o, true); /* modification */
		save_state();
		return;
	}
	if (!transmit) {
		save_state();
		return; /* held until an order of the group transmits */
	}
	/* transmit: activate the whole group (parent first, then children) */
	int64_t root = parent ? parent : id;
	for (int i = 0; i < G.norders; i++) {
		struct order *x = &G.orders[i];
		if (x->state != O_UNTRANSMITTED || (x->id != root && x->parent_id != root))
			continue;
		struct order *par = x->parent_id ? find_order(x->parent_id) : NULL;
		if (x->parent_id && par && par->state != O_FILLED)
			x->state = O_PRESUBMITTED;
		else
			x->state = O_WORKING;
		x->after_tick = G.tick_index;
		notify_order(x, true);
	}
	save_state();
}

static void on_cancel_order(struct client *c, const struct slob_tws_in *m)
{
	int64_t id = 0;
	if (m->nfields < 1 || slob_tws_parse_i64(m->f[1], &id) != 0)
		return;
	struct order *o = find_order(id);
	if (o == NULL || terminal(o)) {
		send_error(c, id, 10148, "OrderId that needs to be cancelled cannot be cancelled");
		return;
	}
	cancel_order(o, true);
	if (o->parent_id == 0)
		for (int i = 0; i < G.norders; i++)
			if (G.orders[i].parent_id == id)
				cancel_order(&G.orders[i], true);
	save_state();
}

static void on_message(struct client *c, const struct slob_tws_in *m)
{
	int64_t req = 0;
	switch (m->kind) {
	case SLOB_TWS_START_API: {
		int64_t cid = 0;
		if (m->nfields < 2 || slob_tws_parse_i64(m->f[2], &cid) != 0) {
			close_client(c, "bad startApi");
			return;
		}
		if (client_by_id((int)cid) != NULL) {
			send_error(c, -1, 326,
				   "Unable to connect as the client id is already in use. Retry with a unique client id.");
			c->state = -1;
			return;
		}
		c->client_id = (int)cid;
		c->state = 2;
		MSG(c, WI(SLOB_TWS_MANAGED_ACCTS); WI(1); WS(G.account));
		MSG(c, WI(SLOB_TWS_NEXT_VALID_ID); WI(1); WI(G.next_id));
		send_error(c, -1, 2104, "Market data farm connection is OK:usfarm");
		send_error(c, -1, 2106, "HMDS data farm connection is OK:ushmds");
		send_error(c, -1, 2158, "Sec-def data farm connection is OK:secdefil");
		logf_("client %d ready (fd %d)", c->client_id, c->fd);
		return;
	}
	case SLOB_TWS_REQ_IDS:
		MSG(c, WI(SLOB_TWS_NEXT_VALID_ID); WI(1); WI(G.next_id));
		return;
	case SLOB_TWS_REQ_CURRENT_TIME:
		MSG(c, WI(SLOB_TWS_CURRENT_TIME); WI(1); WI((int64_t)time(NULL)));
		return;
	case SLOB_TWS_REQ_TICK_BY_TICK:
		if (m->nfields < 15)
			return;
		(void)slob_tws_parse_i64(m->f[1], &req);
		if (strcmp(m->f[3], "NQ") != 0 && strncmp(m->f[12], "NQ", 2) != 0) {
			send_error(c, req, 200, "No security definition has been found for the request");
			return;
		}
		c->tbt_req = req;
		logf_("client %d subscribed tick-by-tick (req %" PRId64 ")", c->client_id, req);
		return;
	case SLOB_TWS_REQ_MKT_DATA:
		if (m->nfields < 14)
			return;
		(void)slob_tws_parse_i64(m->f[2], &req);
		if (strcmp(m->f[4], "NQ") != 0 && strncmp(m->f[13], "NQ", 2) != 0) {
			send_error(c, req, 200, "No security definition has been found for the request");
			return;
		}
		c->mkt_req = req;
		return;
	case SLOB_TWS_CANCEL_TICK_BY_TICK:
		c->tbt_req = -1;
		return;
	case SLOB_TWS_CANCEL_MKT_DATA:
		c->mkt_req = -1;
		return;
	case SLOB_TWS_PLACE_ORDER:
		on_place_order(c, m);
		return;
	case SLOB_TWS_CANCEL_ORDER:
		on_cancel_order(c, m);
		return;
	case SLOB_TWS_REQ_OPEN_ORDERS:
	case SLOB_TWS_REQ_ALL_OPEN_ORDERS:
		for (int i = 0; i < G.norders; i++) {
			struct order *o = &G.orders[i];
			if (terminal(o) || o->state == O_UNTRANSMITTED)
				continue;
			if (m->kind == SLOB_TWS_REQ_OPEN_ORDERS && o->client_id != c->client_id)
				continue;
			send_open_order(c, o);
			send_order_status(c, o);
		}
		MSG(c, WI(SLOB_TWS_OPEN_ORDER_END); WI(1));
		return;
	case SLOB_TWS_REQ_EXECUTIONS: {
		int64_t cid = 0;
		if (m->nfields >= 3) {
			(void)slob_tws_parse_i64(m->f[2], &req);
			(void)slob_tws_parse_i64(m->f[3], &cid);
		}
		for (int i = 0; i < G.nexecs; i++)
			if (cid == 0 || G.execs[i].client_id == cid)
				send_exec(c, req, &G.execs[i]);
		MSG(c, WI(SLOB_TWS_EXECUTION_DATA_END); WI(1); WI(req));
		return;
	}
	case SLOB_TWS_REQ_POSITIONS:
		if (G.position != 0)
			send_position(c);
		MSG(c, WI(SLOB_TWS_POSITION_END); WI(1));
		return;
	case SLOB_TWS_REQ_MANAGED_ACCTS:
		MSG(c, WI(SLOB_TWS_MANAGED_ACCTS); WI(1); WS(G.account));
		return;
	case SLOB_TWS_REQ_GLOBAL_CANCEL:
		for (int i = 0; i < G.norders; i++)
			cancel_order(&G.orders[i], true);
		save_state();
		return;
	default:
		return; /* everything else is accepted and ignored */
	}
}

/* ---- connections ------------------------------------------------------------ */

static void on_client_input(struct client *c)
{
	static struct slob_tws_in m;
	for (;;) {
		if (c->fd < 0)
			return;
		if (c->state == 0) {
			int lo, hi;
			int n = slob_tws_decode_client_hello(c->in.p, c->in.len, &lo, &hi);
			if (n == 0)
				return;
			if (n < 0) {
				close_client(c, slob_tws_strerror());
				return;
			}
			buf_drop(&c->in, (size_t)n);
			if (hi < SLOB_TWS_VERSION || lo > SLOB_TWS_VERSION) {
				close_client(c, "client does not support server version 200");
				return;
			}
			char tbuf[64];
			fmt_time(tbuf, sizeof(tbuf), (int64_t)time(NULL) * 1000000000);
			uint8_t msg[128];
			send_raw(c, msg, slob_tws_enc_server_hello(msg, sizeof(msg), SLOB_TWS_VERSION, tbuf));
			c->state = 1;
			continue;
		}
		int fl = slob_tws_frame_len(c->in.p, c->in.len, MAX_PAYLOAD);
		if (fl == 0)
			return;
		if (fl < 0) {
			close_client(c, slob_tws_strerror());
			return;
		}
		/* client messages are not typed by the decoder: fields only */
		int nf = slob_tws_split(c->in.p + 4, (size_t)fl - 4, m.f, SLOB_TWS_MAX_FIELDS);
		int64_t id = 0;
		if (nf <= 0 || slob_tws_parse_i64(m.f[0], &id) != 0 || id <= 0) {
			close_client(c, nf < 0 ? slob_tws_strerror() : "bad message id");
			return;
		}
		m.kind = (int)id;
		m.nfields = (uint32_t)nf - 1;
		if (c->state == 1 && m.kind != SLOB_TWS_START_API) {
			close_client(c, "first message after the handshake is not startApi");
			return;
		}
		on_message(c, &m);
		if (c->fd >= 0)
			buf_drop(&c->in, (size_t)fl);
	}
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

/* ---- tick stream ------------------------------------------------------------ */

static bool any_subscriber(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (G.cl[i].fd >= 0 && (G.cl[i].tbt_req >= 0 || G.cl[i].mkt_req >= 0))
			return true;
	return false;
}

static bool clients_backlogged(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (G.cl[i].fd >= 0 && G.cl[i].out.len > (256u << 10))
			return true;
	return false;
}

static int next_tick(void)
{
	if (G.rd == NULL || G.eof)
		return 0;
	int rc = slob_tickreader_next(G.rd, &G.tick);
	if (rc <= 0) {
		if (rc < 0)
			logf_("tick file: %s", slob_tickfile_strerror());
		G.eof = true;
		logf_("end of tick file after %" PRIu64 " ticks", G.tick_index);
		return rc;
	}
	G.have_tick = true;
	return 1;
}

/* Sends due ticks; returns ms until the next one is due (-1: none pending). */
static int pump_ticks(void)
{
	if (G.rd == NULL || G.paused || (G.wait_sub && !any_subscriber()))
		return -1;
	if (G.hold_until_ms) {
		int64_t now = now_ms();
		if (now < G.hold_until_ms)
			return (int)(G.hold_until_ms - now);
		G.hold_until_ms = 0;
	}
	for (int budget = 0; budget < 512; budget++) {
		if (!G.have_tick && next_tick() <= 0)
			return -1;
		if (G.wall0_ms == 0) {
			G.wall0_ms = now_ms();
			G.t0_ns = G.tick.ts_ns;
		}
		if (G.speed > 0) {
			int64_t due = G.wall0_ms +
				      (int64_t)((double)(G.tick.ts_ns - G.t0_ns) / 1e6 / G.speed);
			int64_t now = now_ms();
			if (due > now)
				return (int)(due - now > 1000 ? 1000 : due - now);
		} else if (clients_backlogged()) {
			return 1;
		}
		double px = (double)G.tick.px * TICK_SIZE;
		G.tick_index++;
		G.last_px = px;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &G.cl[i];
			if (c->fd < 0)
				continue;
			if (c->tbt_req >= 0)
				MSG(c, WI(SLOB_TWS_TICK_BY_TICK); WI(c->tbt_req); WI(1);
				    WI(G.tick.ts_ns / 1000000000); WD(px); WI(G.tick.size); WI(0);
				    WS("CME"); WS(""));
			if (c->mkt_req >= 0)
				MSG(c, WI(SLOB_TWS_TICK_PRICE); WI(6); WI(c->mkt_req); WI(4); WD(px);
				    WI(G.tick.size); WI(0));
		}
		match_tick(px);
		G.have_tick = false;
		/* --bar-pause-ms: the first tick of a minute closes the client's bar;
		 * give its decision time to reach us before the next tick */
		int64_t minute = G.tick.ts_ns / 60000000000LL;
		bool new_bar = G.last_minute != 0 && minute != G.last_minute;
		G.last_minute = minute;
		if (new_bar && G.bar_pause_ms > 0) {
			G.hold_until_ms = now_ms() + G.bar_pause_ms;
			if (G.wall0_ms)
				G.wall0_ms += G.bar_pause_ms; /* keep the pacing of later ticks */
			return (int)G.bar_pause_ms;
		}
	}
	return 0;
}

/* ---- control channel --------------------------------------------------------- */

static void ctl_reply(struct ctl *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_reply(struct ctl *k, const char *fmt, ...)
{
	char out[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, sizeof(out) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(out) - 2)
		n = (int)sizeof(out) - 2;
	out[n++] = '\n';
	(void)!write(k->fd, out, (size_t)n);
}

static const char HELP[] =
	"commands: reject <code> [text] | disconnect | delay <ms> | dup <n> | "
	"seed-position <qty> <avg_px> | seed-order <ref> <BUY|SELL> <LMT|STP> <px> <qty> [client] | "
	"error <code> <text> | pause | resume | rewind | speed <x> | status | orders | quit";

static void on_ctl_line(struct ctl *k, char *line)
{
	char cmd[32] = "", a1[128] = "", a2[128] = "", a3[64] = "", a4[64] = "", a5[64] = "",
	     a6[64] = "";
	int n = sscanf(line, "%31s %127s %127s %63s %63s %63s %63s", cmd, a1, a2, a3, a4, a5, a6);
	if (n <= 0)
		return;
	if (strcmp(cmd, "help") == 0) {
		ctl_reply(k, "OK %s", HELP);
	} else if (strcmp(cmd, "reject") == 0 && n >= 2) {
		G.reject_code = atoi(a1);
		const char *t = strstr(line, a1) + strlen(a1);
		while (*t == ' ')
			t++;
		if (*t == '\0') {
			switch (G.reject_code) {
			case 201: t = "Order rejected - reason:Insufficient margin"; break;
			case 110: t = "The price does not conform to the minimum price variation for this contract."; break;
			case 200: t = "No security definition has been found for the request"; break;
			default: t = "Order rejected - reason:market closed"; break;
			}
		}
		snprintf(G.reject_text, sizeof(G.reject_text), "%s", t);
		ctl_reply(k, "OK next order rejected with %d", G.reject_code);
	} else if (strcmp(cmd, "disconnect") == 0) {
		int cnt = 0;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (G.cl[i].fd >= 0) {
				close_client(&G.cl[i], "control: disconnect");
				cnt++;
			}
		ctl_reply(k, "OK disconnected %d", cnt);
	} else if (strcmp(cmd, "delay") == 0 && n >= 2) {
		G.delay_ms = atoll(a1);
		for (int i = 0; i < MAX_CLIENTS; i++)
			G.cl[i].hold_until_ms = now_ms() + G.delay_ms;
		ctl_reply(k, "OK output held %" PRId64 " ms", G.delay_ms);
	} else if (strcmp(cmd, "dup") == 0 && n >= 2) {
		G.dup_left = atoi(a1);
		ctl_reply(k, "OK next %d order reports duplicated", G.dup_left);
	} else if (strcmp(cmd, "seed-position") == 0 && n >= 3) {
		G.position = atoll(a1);
		G.avg_cost = strtod(a2, NULL) * MULTIPLIER;
		save_state();
		ctl_reply(k, "OK position %" PRId64, G.position);
	} else if (strcmp(cmd, "seed-order") == 0 && n >= 6 && G.norders < MAX_ORDERS) {
		struct order *o = &G.orders[G.norders++];
		memset(o, 0, sizeof(*o));
		o->id = G.next_id++;
		o->perm_id = ++G.next_perm;
		o->client_id = n >= 7 ? atoi(a6) : 0; /* owner: as if placed by that client */
		snprintf(o->ref, sizeof(o->ref), "%.63s", a1);
		snprintf(o->action, sizeof(o->action), "%.7s", a2);
		snprintf(o->type, sizeof(o->type), "%.7s", a3);
		o->lmt = strcmp(a3, "LMT") == 0 ? strtod(a4, NULL) : NAN;
		o->aux = strcmp(a3, "STP") == 0 ? strtod(a4, NULL) : NAN;
		o->qty = atoll(a5);
		strcpy(o->tif, "GTC");
		o->state = O_WORKING;
		o->after_tick = G.tick_index;
		save_state();
		ctl_reply(k, "OK order %" PRId64, o->id);
	} else if (strcmp(cmd, "error") == 0 && n >= 2) {
		const char *t = strstr(line, a1) + strlen(a1);
		while (*t == ' ')
			t++;
		int code = atoi(a1);
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (G.cl[i].fd >= 0 && G.cl[i].state == 2)
				send_error(&G.cl[i], -1, code, t);
		if (code == 1101) /* data lost: subscriptions are gone */
			for (int i = 0; i < MAX_CLIENTS; i++)
				G.cl[i].tbt_req = G.cl[i].mkt_req = -1;
		ctl_reply(k, "OK sent error %d", code);
	} else if (strcmp(cmd, "rewind") == 0) {
		if (G.ticks_path == NULL) {
			ctl_reply(k, "ERR no --ticks file");
			return;
		}
		struct slob_tickreader *nr = NULL;
		struct slob_tickcsv_opts o = {.tick_size = TICK_SIZE, .skip_bad = 1,
					      .backwards_tol_ns = 1000000000};
		if (slob_tickreader_open(&nr, G.ticks_path, SLOB_TICKFILE_AUTO, &o) != 0) {
			ctl_reply(k, "ERR %s", slob_tickfile_strerror());
			return;
		}
		if (G.rd)
			slob_tickreader_close(G.rd);
		G.rd = nr;
		G.eof = G.have_tick = false;
		G.wall0_ms = 0;
		G.last_minute = 0;
		G.hold_until_ms = 0;
		ctl_reply(k, "OK rewound");
	} else if (strcmp(cmd, "pause") == 0) {
		G.paused = true;
		ctl_reply(k, "OK paused");
	} else if (strcmp(cmd, "resume") == 0) {
		G.paused = false;
		G.wall0_ms = 0; /* re-anchor pacing */
		ctl_reply(k, "OK resumed");
	} else if (strcmp(cmd, "speed") == 0 && n >= 2) {
		G.speed = strtod(a1, NULL);
		G.wall0_ms = 0;
		ctl_reply(k, "OK speed %g", G.speed);
	} else if (strcmp(cmd, "status") == 0) {
		int live = 0, clients = 0;
		for (int i = 0; i < G.norders; i++)
			live += !terminal(&G.orders[i]);
		for (int i = 0; i < MAX_CLIENTS; i++)
			clients += G.cl[i].fd >= 0;
		ctl_reply(k,
			  "OK clients=%d ticks=%" PRIu64 " last=%.2f eof=%d orders=%d live=%d execs=%d "
			  "position=%" PRId64 " next_id=%" PRId64,
			  clients, G.tick_index, G.last_px, G.eof, G.norders, live, G.nexecs,
			  G.position, G.next_id);
	} else if (strcmp(cmd, "orders") == 0) {
		for (int i = 0; i < G.norders; i++) {
			struct order *o = &G.orders[i];
			ctl_reply(k, "order %" PRId64 " parent=%" PRId64 " %s %s %" PRId64 " lmt=%g aux=%g ref=%s state=%s",
				  o->id, o->parent_id, o->action, o->type, o->qty, o->lmt, o->aux,
				  o->ref, ostate_name(o->state));
		}
		ctl_reply(k, "OK %d orders", G.norders);
	} else if (strcmp(cmd, "quit") == 0) {
		ctl_reply(k, "OK bye");
		G.quit = true;
	} else {
		ctl_reply(k, "ERR unknown or incomplete command '%s' (%s)", cmd, HELP);
	}
}

static void on_ctl_input(struct ctl *k)
{
	char tmp[512];
	ssize_t r = read(k->fd, tmp, sizeof(tmp));
	if (r <= 0) {
		close(k->fd);
		k->fd = -1;
		return;
	}
	for (ssize_t i = 0; i < r; i++) {
		if (tmp[i] == '\n' || k->len == sizeof(k->line) - 1) {
			k->line[k->len] = '\0';
			if (k->len && k->line[k->len - 1] == '\r')
				k->line[k->len - 1] = '\0';
			on_ctl_line(k, k->line);
			k->len = 0;
			if (k->fd < 0)
				return;
		} else {
			k->line[k->len++] = tmp[i];
		}
	}
}

/* ---- main ----------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: slob-gw [--port N] [--control-port N] [--ticks FILE] [--speed X]\n"
		"               [--state FILE] [--account ID] [--first-id N] [--wait-sub]\n");
}

int main(int argc, char **argv)
{
	int port = 4002, cport = -1;
	memset(&G, 0, sizeof(G));
	G.next_id = 1;
	G.speed = 1.0;
	strcpy(G.account, "DU1234567");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--wait-sub") == 0) {
			G.wait_sub = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage();
			return 0;
		}
		if (v == NULL) {
			fprintf(stderr, "slob-gw: option %s needs a value\n", a);
			usage();
			return 2;
		}
		i++;
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--control-port") == 0)
			cport = atoi(v);
		else if (strcmp(a, "--ticks") == 0)
			G.ticks_path = v;
		else if (strcmp(a, "--speed") == 0)
			G.speed = strtod(v, NULL);
		else if (strcmp(a, "--state") == 0)
			G.state_path = v;
		else if (strcmp(a, "--account") == 0)
			snprintf(G.account, sizeof(G.account), "%s", v);
		else if (strcmp(a, "--first-id") == 0)
			G.next_id = atoll(v);
		else if (strcmp(a, "--bar-pause-ms") == 0)
			G.bar_pause_ms = atoll(v);
		else {
			fprintf(stderr, "slob-gw: unknown option %s\n", a);
			usage();
			return 2;
		}
		if (port < 0 || port > 65535 || cport > 65535 || G.speed < 0 || G.next_id < 1 ||
		    G.bar_pause_ms < 0 || G.bar_pause_ms > 60000) {
			fprintf(stderr, "slob-gw: bad value '%s' for %s\n", v, a);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (G.state_path && load_state() != 0) {
		fprintf(stderr, "slob-gw: cannot load state %s\n", G.state_path);
		return 1;
	}
	if (G.ticks_path) {
		struct slob_tickcsv_opts o = {.tick_size = TICK_SIZE, .skip_bad = 1,
					      .backwards_tol_ns = 1000000000};
		if (slob_tickreader_open(&G.rd, G.ticks_path, SLOB_TICKFILE_AUTO, &o) != 0) {
			fprintf(stderr, "slob-gw: %s\n", slob_tickfile_strerror());
			return 1;
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		G.cl[i].fd = -1;
	for (int i = 0; i < MAX_CTL; i++)
		G.ctl[i].fd = -1;
	G.lfd = listen_on(port);
	if (G.lfd < 0) {
		fprintf(stderr, "slob-gw: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(-G.lfd));
		return 1;
	}
	G.cfd = -1;
	if (cport >= 0) {
		G.cfd = listen_on(cport);
		if (G.cfd < 0) {
			fprintf(stderr, "slob-gw: cannot listen on control port %d: %s\n", cport,
				strerror(-G.cfd));
			return 1;
		}
	}
	printf("PORT %d\n", bound_port(G.lfd));
	if (G.cfd >= 0)
		printf("CONTROL %d\n", bound_port(G.cfd));
	fflush(stdout);

	while (!G.quit) {
		int timeout = pump_ticks();
		struct pollfd pf[2 + MAX_CLIENTS + MAX_CTL];
		int map[2 + MAX_CLIENTS + MAX_CTL];
		int np = 0;
		pf[np] = (struct pollfd){.fd = G.lfd, .events = POLLIN};
		map[np++] = -1;
		if (G.cfd >= 0) {
			pf[np] = (struct pollfd){.fd = G.cfd, .events = POLLIN};
			map[np++] = -2;
		}
		int64_t now = now_ms();
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &G.cl[i];
			if (c->fd < 0)
				continue;
			short ev = POLLIN;
			if (c->out.len > 0) {
				if (c->hold_until_ms > now) {
					int wait = (int)(c->hold_until_ms - now);
					if (timeout < 0 || wait < timeout)
						timeout = wait;
				} else {
					ev |= POLLOUT;
				}
			}
			pf[np] = (struct pollfd){.fd = c->fd, .events = ev};
			map[np++] = i;
		}
		for (int i = 0; i < MAX_CTL; i++)
			if (G.ctl[i].fd >= 0) {
				pf[np] = (struct pollfd){.fd = G.ctl[i].fd, .events = POLLIN};
				map[np++] = 1000 + i;
			}
		if (timeout < 0 || timeout > 200)
			timeout = 200;
		int r = poll(pf, (nfds_t)np, timeout);
		if (r < 0 && errno != EINTR) {
			perror("slob-gw: poll");
			return 1;
		}
		for (int k = 0; k < np && r > 0; k++) {
			if (!pf[k].revents)
				continue;
			if (map[k] == -1) {
				int fd = accept4(G.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd < 0)
					continue;
				int one = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				int slot = -1;
				for (int i = 0; i < MAX_CLIENTS; i++)
					if (G.cl[i].fd < 0) {
						slot = i;
						break;
					}
				if (slot < 0) {
					close(fd);
					continue;
				}
				struct client *c = &G.cl[slot];
				c->fd = fd;
				c->state = 0;
				c->client_id = -1;
				c->in.len = c->out.len = 0;
				c->tbt_req = c->mkt_req = -1;
				c->hold_until_ms = 0;
			} else if (map[k] == -2) {
				int fd = accept4(G.cfd, NULL, NULL, SOCK_CLOEXEC);
				for (int i = 0; fd >= 0 && i < MAX_CTL; i++)
					if (G.ctl[i].fd < 0) {
						G.ctl[i].fd = fd;
						G.ctl[i].len = 0;
						fd = -1;
					}
				if (fd >= 0)
					close(fd);
			} else if (map[k] >= 1000) {
				on_ctl_input(&G.ctl[map[k] - 1000]);
			} else {
				struct client *c = &G.cl[map[k]];
				if (pf[k].revents & POLLOUT) {
					ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
					if (w > 0)
						buf_drop(&c->out, (size_t)w);
					else if (w < 0 && errno != EAGAIN) {
						close_client(c, strerror(errno));
						continue;
					}
				}
				if (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) {
					uint8_t tmp[65536];
					ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
					if (n == 0 || (n < 0 && errno != EAGAIN)) {
						close_client(c, n == 0 ? "peer closed" : strerror(errno));
						continue;
					}
					if (n > 0) {
						if (c->in.len + (size_t)n > INBUF) {
							close_client(c, "input buffer overflow");
							continue;
						}
						buf_add(&c->in, tmp, (size_t)n);
						on_client_input(c);
						if (c->fd >= 0 && c->state == -1) {
							/* flush the refusal, then close */
							(void)!send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
							close_client(c, "client id in use");
						}
					}
				}
			}
		}
	}
	save_state();
	for (int i = 0; i < MAX_CLIENTS; i++) {
		close_client(&G.cl[i], "shutdown");
		free(G.cl[i].in.p);
		free(G.cl[i].out.p);
	}
	if (G.rd)
		slob_tickreader_close(G.rd);
	close(G.lfd);
	if (G.cfd >= 0)
		close(G.cfd);
	return 0;
}
