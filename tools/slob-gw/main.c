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
 * Usage: slob-gw [options]; `slob-gw --help` lists every option. Contracts:
 *   --contract SYMBOL[,mult=M][,tick=T][,conid=N][,expiry=YYYYMM[DD]]
 *   [,class=C][,exchange=X][,currency=C] (repeatable; default NQ) names what
 *   it serves: reqContractDetails answers for them, market data and orders
 *   for anything else get IB error 200. Without expiry every quarterly month
 *   is served (conId = conid + months from March 2026).
 *   --live-time stamps streamed ticks (and fills) with the current time, so
 *   `slobd live` against a replay builds bars on the wall clock.
 *   --log-requests FILE appends every client message as one line.
 *   --equity USD / --margin USD: the simulated account's NetLiquidation
 *   (10000000) and initial margin per contract (20000), served as the account
 *   summary and what-if answers; the broker rejects a bracket whose margin does
 *   not fit AvailableFunds ("Insufficient margin", error 201).
 *   --port 0 / --control-port 0 pick free ports; the chosen ports are printed
 *   on stdout as "PORT <n>" and "CONTROL <n>" (one line each, flushed).
 *   --speed X: replay at X times real time; 0 = as fast as clients read.
 *   --bar-pause-ms N: after the first tick of each minute (the tick that
 *   closes the client's M1 bar) hold the stream N ms, so decisions reach the
 *   gateway before the next tick, as in a paper replay (fast replays).
 *   --session-close HH:MM (New York time, default 17:00, "off": never): the
 *   first tick at or after the close of a session expires every DAY order
 *   still working (orderStatus Cancelled; an unfilled parent takes its
 *   children with it), as IB does; GTC orders persist.
 *   --rth HH:MM-HH:MM (New York time, weekdays; default: every hour is
 *   regular): an order without outsideRth does not fill or trigger outside
 *   these hours.
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
#include "engine/tws_conn.h" /* slob_tws_front_month: the same roll rule as slobd */
#include "engine/tz.h"

#define MAX_CLIENTS 16
#define MAX_CTL 4
#define MAX_ORDERS 4096
#define MAX_EXECS 4096
#define INBUF (1 << 20)
#define MAX_PAYLOAD (1u << 20)
#define MAX_PRODUCTS 8
#define MAX_POS 16
#define TICK_SIZE (G.prod[0].tick) /* ticks files are in the first contract's ticks */

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
	int prod, ym;            /* the contract ordered (struct inst) */
	bool outside_rth;        /* may fill outside --rth hours */
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
	int prod, ym;            /* the contract executed */
};

/* A contract slob-gw serves (--contract): one product, every quarterly month
 * or one fixed month. */
struct product {
	char symbol[16], sec_type[8], exchange[16], currency[8], trading_class[16];
	double mult, tick;
	int64_t con_id;          /* conId of base_ym */
	int base_ym;             /* year * 12 + month - 1 */
	bool fixed;              /* only base_ym */
};

/* One contract month of a product. */
struct inst {
	int prod, ym;
};

struct pos {
	int prod, ym;
	int64_t qty;
	double avg_cost;         /* per contract, incl. the multiplier (as IB reports) */
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
	int64_t acct_req;        /* reqAccountSummary id, 0: not subscribed */
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
	struct product prod[MAX_PRODUCTS];
	int nprod;
	struct pos pos[MAX_POS]; /* net position per contract */
	int npos;
	bool live_time;          /* --live-time: ticks stamped with the current time */
	FILE *reqlog;            /* --log-requests */
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
	int64_t stall_until_ms;  /* control "stall": no byte to any client until then */
	bool withhold_ends;      /* control "withhold-ends": no positionEnd/openOrderEnd/execDetailsEnd */
	bool quit;
	/* simulated account (account summary, what-if margin) */
	double acct_equity;      /* NetLiquidation, USD */
	double acct_margin;      /* initial margin per contract, USD */
	double acct_available;   /* AvailableFunds override, NAN = equity - margin in use */
	double acct_excess;      /* ExcessLiquidity override, NAN = equity - maintenance */
	bool acct_silent;        /* account summary requests go unanswered */
	uint64_t acct_sent, whatif_sent, margin_rejects;
	/* session model (New York time): DAY expiry, regular hours */
	struct slob_tz ny;
	int close_min;           /* session close, minute of day; -1: never */
	int rth_start, rth_end;  /* regular hours [start, end) minutes; -1: always */
	int64_t last_session;    /* session number of the previous tick */
} G;

/* A stalled gateway writes nothing (a hung IB Gateway keeps its sockets open
 * and goes quiet); returns ms left, 0 when not stalled. */
static int64_t stall_left(int64_t now)
{
	return G.stall_until_ms > now ? G.stall_until_ms - now : 0;
}

/* ---- helpers ------------------------------------------------------------- */

static int64_t wall_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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
	c->acct_req = 0;
}

static void fmt_time(char *out, size_t cap, int64_t ts_ns)
{
	time_t s = (time_t)(ts_ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, cap, "%Y%m%d %H:%M:%S UTC", &tm);
}

/* ---- contracts ------------------------------------------------------------- */

static const char MONTH_CODE[] = "FGHJKMNQUVXZ";

static int ym_year(int ym) { return ym / 12; }
static int ym_month(int ym) { return ym % 12 + 1; }

static int64_t inst_con_id(const struct inst *k)
{
	const struct product *p = &G.prod[k->prod];
	return p->con_id + (k->ym - p->base_ym);
}

/* last trade date: the third Friday of the month (equity index futures) */
static void inst_ltd(const struct inst *k, char out[16])
{
	struct tm tm = {.tm_year = ym_year(k->ym) - 1900, .tm_mon = ym_month(k->ym) - 1,
			.tm_mday = 1, .tm_hour = 12};
	time_t t = timegm(&tm);
	gmtime_r(&t, &tm);
	int first_friday = 1 + (5 - tm.tm_wday + 7) % 7;
	snprintf(out, 16, "%04d%02d%02d", ym_year(k->ym) % 10000, ym_month(k->ym), first_friday + 14);
}

static void inst_month(const struct inst *k, char out[16])
{
	snprintf(out, 16, "%04d%02d", ym_year(k->ym) % 10000, ym_month(k->ym));
}

static void inst_local(const struct inst *k, char out[24])
{
	snprintf(out, 24, "%.15s%c%d", G.prod[k->prod].symbol, MONTH_CODE[ym_month(k->ym) - 1],
		 ym_year(k->ym) % 10);
}

static void fmt_mult(double m, char out[24])
{
	snprintf(out, 24, "%.10g", m);
}

/* The front quarterly month of the first product at the current time
 * (seed-position's contract when none is named): same roll rule as slobd. */
static struct inst front_inst(int prod)
{
	struct product *p = &G.prod[prod];
	if (p->fixed)
		return (struct inst){prod, p->base_ym};
	char m[7];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	slob_tws_front_month((int64_t)ts.tv_sec * 1000000000, 8, m);
	return (struct inst){prod, atoi(m) / 100 * 12 + atoi(m) % 100 - 1};
}

/* ym from YYYYMM[DD]; -1 if not a date */
static int parse_ym(const char *e)
{
	size_t n = strlen(e);
	if (n != 6 && n != 8)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (e[i] < '0' || e[i] > '9')
			return -1;
	int y = (e[0] - '0') * 1000 + (e[1] - '0') * 100 + (e[2] - '0') * 10 + (e[3] - '0');
	int m = (e[4] - '0') * 10 + (e[5] - '0');
	return m >= 1 && m <= 12 ? y * 12 + m - 1 : -1;
}

/*
 * Finds the served contract a request names (contract fields as the client
 * sends them: conId, symbol, secType, expiry, multiplier, exchange, currency,
 * localSymbol, tradingClass). Returns true and *out, or false (IB 200).
 */
static bool resolve(const char *conid, const char *sym, const char *sectype, const char *expiry,
		    const char *mult, const char *exch, const char *cur, const char *local,
		    const char *tclass, struct inst *out)
{
	int64_t cid = 0;
	(void)slob_tws_parse_i64(conid, &cid);
	for (int i = 0; i < G.nprod; i++) {
		const struct product *p = &G.prod[i];
		int ym = -1;
		if (cid > 0) {
			int64_t d = cid - p->con_id;
			if (d < -600 || d > 600)
				continue;
			ym = p->base_ym + (int)d;
		} else {
			size_t ls = strlen(p->symbol);
			bool by_local = sym[0] == '\0' && strncmp(local, p->symbol, ls) == 0 &&
					strlen(local) == ls + 2;
			if (strcmp(sym, p->symbol) != 0 && !by_local)
				continue;
			if (expiry[0]) {
				ym = parse_ym(expiry);
			} else if (strlen(local) == ls + 2 && strncmp(local, p->symbol, ls) == 0) {
				const char *c = strchr(MONTH_CODE, local[ls]);
				int dgt = local[ls + 1] - '0';
				if (c != NULL && *c && dgt >= 0 && dgt <= 9)
					ym = (2020 + dgt) * 12 + (int)(c - MONTH_CODE);
			} else if (p->fixed) {
				ym = p->base_ym;
			}
			if (ym < 0)
				continue; /* no month: ambiguous */
		}
		if (sym[0] && strcmp(sym, p->symbol) != 0)
			continue;
		if (sectype[0] && strcmp(sectype, p->sec_type) != 0)
			continue;
		if (exch[0] && strcmp(exch, p->exchange) != 0)
			continue;
		if (cur[0] && strcmp(cur, p->currency) != 0)
			continue;
		if (tclass[0] && strcmp(tclass, p->trading_class) != 0)
			continue;
		if (mult[0] && fabs(strtod(mult, NULL) - p->mult) > 1e-9)
			continue;
		if (p->fixed ? ym != p->base_ym : ym_month(ym) % 3 != 0)
			continue;
		struct inst k = {i, ym};
		char l[24];
		inst_local(&k, l);
		if (local[0] && strcmp(local, l) != 0)
			continue;
		*out = k;
		return true;
	}
	return false;
}

/* --contract SYMBOL[,key=value...] */
static int add_product(const char *spec)
{
	static const struct { const char *sym; double mult; int64_t con_id; } known[] = {
		{"NQ", 20, 620730920}, {"MNQ", 2, 730283097}, {"ES", 50, 637533641},
		{"MES", 5, 637533450},
	};
	if (G.nprod >= MAX_PRODUCTS)
		return -1;
	struct product *p = &G.prod[G.nprod];
	memset(p, 0, sizeof(*p));
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", spec);
	char *save = NULL, *tok = strtok_r(tmp, ",", &save);
	if (tok == NULL || tok[0] == '\0' || strlen(tok) >= sizeof(p->symbol) - 3 || strchr(tok, '='))
		return -1;
	snprintf(p->symbol, sizeof(p->symbol), "%s", tok);
	strcpy(p->sec_type, "FUT");
	strcpy(p->exchange, "CME");
	strcpy(p->currency, "USD");
	memcpy(p->trading_class, p->symbol, sizeof(p->trading_class));
	p->mult = 1;
	p->tick = 0.25;
	uint64_t h = 1469598103934665603ull; /* FNV-1a: a stable conId per symbol */
	for (const char *q = p->symbol; *q; q++)
		h = (h ^ (unsigned char)*q) * 1099511628211ull;
	p->con_id = 500000000 + (int64_t)(h % 100000000);
	p->base_ym = 2026 * 12 + 2;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].sym, p->symbol) == 0) {
			p->mult = known[i].mult;
			p->con_id = known[i].con_id;
		}
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		char *eq = strchr(tok, '=');
		if (eq == NULL)
			return -1;
		*eq++ = '\0';
		char *end = NULL;
		if (strcmp(tok, "mult") == 0)
			p->mult = strtod(eq, &end);
		else if (strcmp(tok, "tick") == 0)
			p->tick = strtod(eq, &end);
		else if (strcmp(tok, "conid") == 0)
			p->con_id = strtoll(eq, &end, 10);
		else if (strcmp(tok, "expiry") == 0) {
			int ym = parse_ym(eq);
			if (ym < 0)
				return -1;
			p->base_ym = ym;
			p->fixed = true;
			continue;
		} else if (strcmp(tok, "class") == 0 && strlen(eq) < sizeof(p->trading_class)) {
			strcpy(p->trading_class, eq);
			continue;
		} else if (strcmp(tok, "exchange") == 0 && strlen(eq) < sizeof(p->exchange)) {
			strcpy(p->exchange, eq);
			continue;
		} else if (strcmp(tok, "currency") == 0 && strlen(eq) < sizeof(p->currency)) {
			strcpy(p->currency, eq);
			continue;
		} else {
			return -1;
		}
		if (end == eq || *end != '\0')
			return -1;
	}
	if (!(p->mult > 0) || !(p->tick > 0) || p->con_id <= 0)
		return -1;
	G.nprod++;
	return 0;
}

static struct pos *find_pos(int prod, int ym, bool create)
{
	for (int i = 0; i < G.npos; i++)
		if (G.pos[i].prod == prod && G.pos[i].ym == ym)
			return &G.pos[i];
	if (!create || G.npos >= MAX_POS)
		return NULL;
	struct pos *q = &G.pos[G.npos++];
	memset(q, 0, sizeof(*q));
	q->prod = prod;
	q->ym = ym;
	return q;
}

static int64_t pos_total(void)
{
	int64_t t = 0;
	for (int i = 0; i < G.npos; i++)
		t += G.pos[i].qty;
	return t;
}

/* Doubles as TWS writes them: whole values without a fraction ("21050",
 * "0"), others shortest ("21000.25"); NAN is IB's UNSET_DOUBLE. */
static void wr_num(struct slob_tws_wr *w, double v)
{
	if (isnan(v)) {
		slob_tws_wr_str(w, "1.7976931348623157E308");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		slob_tws_wr_int(w, (int64_t)v);
		return;
	}
	slob_tws_wr_dbl(w, v);
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
	for (int i = 0; i < G.npos; i++)
		fprintf(f, "pos %s %d %" PRId64 " %.17g\n", G.prod[G.pos[i].prod].symbol, G.pos[i].ym,
			G.pos[i].qty, G.pos[i].avg_cost);
	for (int i = 0; i < G.norders; i++) {
		struct order *o = &G.orders[i];
		fprintf(f,
			"order %" PRId64 " %" PRId64 " %" PRId64 " %d %s %" PRId64
			" %s %.17g %.17g %s %s %s %s %d %.17g %" PRIu64 " %s %d %d\n",
			o->id, o->parent_id, o->perm_id, o->client_id, o->action, o->qty, o->type,
			o->lmt, o->aux, dash(o->tif), dash(o->oca), dash(o->account), dash(o->ref),
			o->state, o->fill_px, o->after_tick, G.prod[o->prod].symbol, o->ym,
			o->outside_rth);
	}
	for (int i = 0; i < G.nexecs; i++) {
		struct exec *e = &G.execs[i];
		fprintf(f, "exec %s %" PRId64 " %" PRId64 " %d %s %" PRId64 " %.17g %s %s %d\n",
			e->exec_id, e->order_id, e->perm_id, e->client_id, e->side, e->qty, e->price,
			dash(e->ref), G.prod[e->prod].symbol, e->ym);
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
		} else if (strncmp(line, "position ", 9) == 0) { /* older files: the first contract */
			struct inst k = front_inst(0);
			struct pos *q = find_pos(k.prod, k.ym, true);
			ok = q && sscanf(line, "position %" SCNd64 " %lg", &q->qty, &q->avg_cost) == 2;
		} else if (strncmp(line, "pos ", 4) == 0) {
			char sym[16];
			int ym, pi = -1;
			int64_t qty;
			double avg;
			ok = sscanf(line, "pos %15s %d %" SCNd64 " %lg", sym, &ym, &qty, &avg) == 4;
			for (int i = 0; ok && i < G.nprod; i++)
				if (strcmp(G.prod[i].symbol, sym) == 0)
					pi = i;
			struct pos *q = ok && pi >= 0 ? find_pos(pi, ym, true) : NULL;
			if (q) {
				q->qty = qty;
				q->avg_cost = avg;
			} else if (ok) {
				logf_("%s:%d: position in %s, which is not served: dropped", G.state_path,
				      ln + 1, sym);
			}
		} else if (strncmp(line, "order ", 6) == 0 && G.norders < MAX_ORDERS) {
			struct order *o = &G.orders[G.norders];
			memset(o, 0, sizeof(*o));
			char sym[16] = "";
			int rth = 1; /* files without the field: as before, any hour */
			int nf = sscanf(line,
				    "order %" SCNd64 " %" SCNd64 " %" SCNd64 " %d %7s %" SCNd64
				    " %7s %lg %lg %7s %31s %31s %63s %d %lg %" SCNu64 " %15s %d %d",
				    &o->id, &o->parent_id, &o->perm_id, &o->client_id, o->action, &o->qty,
				    o->type, &o->lmt, &o->aux, o->tif, o->oca, o->account, o->ref,
				    &o->state, &o->fill_px, &o->after_tick, sym, &o->ym, &rth);
			ok = nf == 16 || nf == 18 || nf == 19;
			struct inst k = front_inst(0);
			o->prod = k.prod;
			if (nf == 16)
				o->ym = k.ym;
			for (int i = 0; nf == 18 && i < G.nprod; i++)
				if (strcmp(G.prod[i].symbol, sym) == 0)
					o->prod = i;
			if (ok) {
				o->outside_rth = rth != 0;
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
			char sym[16] = "";
			int nf = sscanf(line, "exec %39s %" SCNd64 " %" SCNd64 " %d %3s %" SCNd64 " %lg %63s %15s %d",
				    e->exec_id, &e->order_id, &e->perm_id, &e->client_id, e->side,
				    &e->qty, &e->price, e->ref, sym, &e->ym);
			ok = nf == 8 || nf == 10;
			struct inst k = front_inst(0);
			e->prod = k.prod;
			if (nf == 8)
				e->ym = k.ym;
			for (int i = 0; nf == 10 && i < G.nprod; i++)
				if (strcmp(G.prod[i].symbol, sym) == 0)
					e->prod = i;
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
	      G.nexecs, pos_total());
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

static void contract_fields(struct slob_tws_wr *w, int prod, int ym, bool with_exchange)
{
	/* conId, symbol, secType, expiry, strike, right, multiplier, [exchange], currency,
	 * localSymbol, tradingClass: the contract actually ordered / held.
	 * position (61) writes the exchange empty, as TWS does. */
	const struct product *p = &G.prod[prod];
	struct inst k = {prod, ym};
	char ltd[16], local[24], mult[24];
	inst_ltd(&k, ltd);
	inst_local(&k, local);
	fmt_mult(p->mult, mult);
	slob_tws_wr_int(w, inst_con_id(&k));
	slob_tws_wr_str(w, p->symbol);
	slob_tws_wr_str(w, p->sec_type);
	slob_tws_wr_str(w, ltd);
	slob_tws_wr_str(w, "0");
	slob_tws_wr_str(w, "");
	slob_tws_wr_str(w, mult);
	slob_tws_wr_str(w, with_exchange ? p->exchange : ""); /* position: empty, as TWS */
	slob_tws_wr_str(w, p->currency);
	slob_tws_wr_str(w, local);
	slob_tws_wr_str(w, p->trading_class);
}

static void send_order_status(struct client *c, const struct order *o)
{
	/* as the vectors: filled/remaining whole ("1", "0"), prices "0" until filled */
	int64_t filled = o->state == O_FILLED ? o->qty : 0;
	int64_t remaining = o->state == O_FILLED || o->state == O_CANCELLED ? 0 : o->qty;
	MSG(c, WI(SLOB_TWS_ORDER_STATUS); WI(o->id); WS(ostate_name(o->state)); WI(filled);
	    WI(remaining); wr_num(&w_, o->state == O_FILLED ? o->fill_px : 0); WI(o->perm_id);
	    WI(o->parent_id); wr_num(&w_, o->state == O_FILLED ? o->fill_px : 0); WI(o->client_id);
	    WS(""); wr_num(&w_, 0));
}

/* openOrder in the 147-field form of TWS_PROTOCOL.md 6.1, conditional counts 0. */
static void send_open_order(struct client *c, const struct order *o)
{
	uint8_t m[4096];
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, m, sizeof(m));
	slob_tws_wr_int(&w, SLOB_TWS_OPEN_ORDER);
	slob_tws_wr_int(&w, o->id);                 /* 1 */
	contract_fields(&w, o->prod, o->ym, true);  /* 2..12 */
	slob_tws_wr_str(&w, o->action);             /* 13 */
	slob_tws_wr_int(&w, o->qty);                /* 14 */
	slob_tws_wr_str(&w, o->type);               /* 15 */
	wr_num(&w, isnan(o->lmt) ? 0 : o->lmt);     /* 16 (TWS: "0" when not used) */
	wr_num(&w, isnan(o->aux) ? 0 : o->aux);     /* 17 */
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
	contract_fields(&w, e->prod, e->ym, true);
	slob_tws_wr_str(&w, e->exec_id);
	slob_tws_wr_str(&w, e->time);
	slob_tws_wr_str(&w, G.account);
	slob_tws_wr_str(&w, "CME");
	slob_tws_wr_str(&w, e->side);
	slob_tws_wr_int(&w, e->qty);
	wr_num(&w, e->price);
	slob_tws_wr_int(&w, e->perm_id);
	slob_tws_wr_int(&w, e->client_id);
	slob_tws_wr_int(&w, 0);
	slob_tws_wr_int(&w, e->qty);
	wr_num(&w, e->price);
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

static void send_position(struct client *c, const struct pos *q)
{
	uint8_t m[1024];
	struct slob_tws_wr w;
	slob_tws_wr_begin(&w, m, sizeof(m));
	slob_tws_wr_int(&w, SLOB_TWS_POSITION_DATA);
	slob_tws_wr_int(&w, 3);
	slob_tws_wr_str(&w, G.account);
	contract_fields(&w, q->prod, q->ym, false);
	slob_tws_wr_int(&w, q->qty);
	wr_num(&w, q->avg_cost);
	send_raw(c, m, slob_tws_wr_end(&w));
}

static void send_contract_details(struct client *c, int64_t req, const struct inst *k)
{
	const struct product *p = &G.prod[k->prod];
	struct slob_tws_contract_details d;
	memset(&d, 0, sizeof(d));
	d.c.con_id = inst_con_id(k);
	snprintf(d.c.symbol, sizeof(d.c.symbol), "%s", p->symbol);
	snprintf(d.c.sec_type, sizeof(d.c.sec_type), "%s", p->sec_type);
	char tmp[24];
	inst_month(k, tmp);
	slob_strlcpy(d.c.expiry, sizeof(d.c.expiry), tmp);
	fmt_mult(p->mult, tmp);
	slob_strlcpy(d.c.multiplier, sizeof(d.c.multiplier), tmp);
	snprintf(d.c.exchange, sizeof(d.c.exchange), "%s", p->exchange);
	snprintf(d.c.currency, sizeof(d.c.currency), "%s", p->currency);
	inst_local(k, tmp);
	slob_strlcpy(d.c.local_symbol, sizeof(d.c.local_symbol), tmp);
	snprintf(d.c.trading_class, sizeof(d.c.trading_class), "%s", p->trading_class);
	inst_ltd(k, d.last_trade_date);
	snprintf(d.market_name, sizeof(d.market_name), "%s", p->trading_class);
	snprintf(d.long_name, sizeof(d.long_name), "%s future (slob-gw)", p->symbol);
	strcpy(d.time_zone, "US/Central");
	/* CME Globex equity index hours, Sunday..Friday, daily break 16:00-17:00 CT */
	strcpy(d.trading_hours, "1700-1600 CT Sun-Fri (simulated)");
	strcpy(d.liquid_hours, "0830-1500 CT Mon-Fri (simulated)");
	d.min_tick = p->tick;
	uint8_t m[2048];
	send_raw(c, m, slob_tws_enc_contract_details(m, sizeof(m), req, &d));
	send_raw(c, m, slob_tws_enc_contract_details_end(m, sizeof(m), req));
	logf_("client %d: contract details %s %s conId %" PRId64 " (req %" PRId64 ")", c->client_id,
	      p->symbol, d.c.local_symbol, d.c.con_id, req);
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

static bool on_tick_grid(double px, double tick)
{
	if (isnan(px))
		return true;
	double q = px / tick;
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
	/* position and average cost (per contract, with the multiplier, as IB
	 * reports), in the contract ordered */
	double mult = G.prod[o->prod].mult;
	struct pos *q = find_pos(o->prod, o->ym, true);
	struct pos spare = {0};
	if (q == NULL)
		q = &spare; /* MAX_POS contracts held: not tracked */
	int64_t newpos = q->qty + sign * o->qty;
	if (q->qty == 0 || (q->qty > 0) == (sign > 0)) {
		double tot = q->avg_cost * (double)llabs(q->qty) + px * mult * (double)o->qty;
		q->avg_cost = newpos ? tot / (double)llabs(newpos) : 0;
	} else if (newpos == 0) {
		q->avg_cost = 0;
	} else if ((newpos > 0) != (q->qty > 0)) {
		q->avg_cost = px * mult; /* flipped */
	}
	q->qty = newpos;
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
		e->prod = o->prod;
		e->ym = o->ym;
		fmt_time(e->time, sizeof(e->time), G.live_time ? wall_now_ns() : G.tick.ts_ns);
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
	logf_("fill order %" PRId64 " %s %" PRId64 " %s @ %.2f ref=%s pos=%" PRId64, o->id, o->action,
	      o->qty, G.prod[o->prod].symbol, px, o->ref, q->qty);
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

/* True if a tick at ts_ns falls in the --rth regular hours (always without it). */
static bool in_rth(int64_t ts_ns)
{
	if (G.rth_start < 0)
		return true;
	struct slob_local lt;
	slob_tz_local(&G.ny, ts_ns, &lt);
	return lt.wday >= 1 && lt.wday <= 5 && lt.minute >= G.rth_start && lt.minute < G.rth_end;
}

/*
 * --session-close: a session runs from one close to the next (New York
 * time). The first tick of a new session expires the DAY orders still
 * working or waiting for their parent, as IB does at the close; an unfilled
 * DAY parent takes its children along. GTC orders are untouched.
 */
static void session_tick(int64_t ts_ns)
{
	if (G.close_min < 0)
		return;
	struct slob_local lt;
	slob_tz_local(&G.ny, ts_ns, &lt);
	int64_t session = lt.day + (lt.minute >= G.close_min);
	int64_t prev = G.last_session;
	G.last_session = session;
	if (prev == 0 || session == prev)
		return;
	bool changed = false;
	for (int i = 0; i < G.norders; i++) {
		struct order *o = &G.orders[i];
		if (terminal(o) || o->state == O_UNTRANSMITTED || strcmp(o->tif, "DAY") != 0)
			continue;
		logf_("session close: DAY order %" PRId64 " ref=%s expired", o->id, o->ref);
		cancel_order(o, false);
		changed = true;
		if (o->parent_id == 0)
			for (int j = 0; j < G.norders; j++)
				if (G.orders[j].parent_id == o->id && !terminal(&G.orders[j])) {
					logf_("session close: child %" PRId64 " of expired order %" PRId64
					      " cancelled", G.orders[j].id, o->id);
					cancel_order(&G.orders[j], false);
				}
	}
	if (changed)
		save_state();
}

static void match_tick(double px)
{
	bool changed = false;
	bool rth = in_rth(G.tick.ts_ns);
	for (int i = 0; i < G.norders; i++) {
		struct order *o = &G.orders[i];
		double fpx;
		if (o->state != O_WORKING || G.tick_index <= o->after_tick || !crosses(o, px, &fpx))
			continue;
		if (!rth && !o->outside_rth)
			continue; /* regular hours only: it waits for the next session */
		fill_order(o, fpx);
		changed = true;
	}
	if (changed)
		save_state();
}

/* ---- simulated account ------------------------------------------------------ */

static double acct_init_req(void) { return (double)llabs(pos_total()) * G.acct_margin; }
static double acct_maint_req(void) { return acct_init_req() * 0.8; }
static double acct_available(void)
{
	return isnan(G.acct_available) ? G.acct_equity - acct_init_req() : G.acct_available;
}
static double acct_excess(void)
{
	return isnan(G.acct_excess) ? G.acct_equity - acct_maint_req() : G.acct_excess;
}

/* The five figures the order session asks for, then (first answer only) the end. */
static void send_account(struct client *c, bool with_end)
{
	static const char *const tags[5] = {"NetLiquidation", "AvailableFunds", "ExcessLiquidity",
					    "InitMarginReq", "MaintMarginReq"};
	double v[5] = {G.acct_equity, acct_available(), acct_excess(), acct_init_req(),
		       acct_maint_req()};
	for (int i = 0; i < 5; i++) {
		char val[40];
		snprintf(val, sizeof(val), "%.2f", v[i]);
		MSG(c, WI(SLOB_TWS_ACCOUNT_SUMMARY); WI(1); WI(c->acct_req); WS(G.account);
		    WS(tags[i]); WS(val); WS("USD"));
	}
	if (with_end)
		MSG(c, WI(SLOB_TWS_ACCOUNT_SUMMARY_END); WI(1); WI(c->acct_req));
	G.acct_sent++;
}

/* An account change reaches every subscriber as an update (no end), as IB does. */
static void account_changed(void)
{
	if (G.acct_silent)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (G.cl[i].fd >= 0 && G.cl[i].state == 2 && G.cl[i].acct_req > 0)
			send_account(&G.cl[i], false);
}

/* whatIf=1 (field 84): answer the margin preview in openOrder fields 84..94;
 * nothing is placed. */
static void send_what_if(struct client *c, int64_t id, const struct inst *k, const char *action,
			 int64_t qty)
{
	uint8_t m[4096];
	struct slob_tws_wr w;
	char before[40], change[40], after[40], mbefore[40], mchange[40], mafter[40], eq[40];
	double ch = G.acct_margin * (double)qty;
	snprintf(before, sizeof(before), "%.2f", acct_init_req());
	snprintf(change, sizeof(change), "%.2f", ch);
	snprintf(after, sizeof(after), "%.2f", acct_init_req() + ch);
	snprintf(mbefore, sizeof(mbefore), "%.2f", acct_maint_req());
	snprintf(mchange, sizeof(mchange), "%.2f", ch * 0.8);
	snprintf(mafter, sizeof(mafter), "%.2f", acct_maint_req() + ch * 0.8);
	snprintf(eq, sizeof(eq), "%.2f", G.acct_equity);
	slob_tws_wr_begin(&w, m, sizeof(m));
	slob_tws_wr_int(&w, SLOB_TWS_OPEN_ORDER);
	slob_tws_wr_int(&w, id);                    /* 1 */
	contract_fields(&w, k->prod, k->ym, true); /* 2..12 */
	slob_tws_wr_str(&w, action);                /* 13 */
	slob_tws_wr_int(&w, qty);                   /* 14 */
	slob_tws_wr_str(&w, "MKT");                 /* 15 */
	slob_tws_wr_dbl(&w, 0);                     /* 16 */
	slob_tws_wr_dbl(&w, 0);                     /* 17 */
	slob_tws_wr_str(&w, "DAY");                 /* 18 */
	slob_tws_wr_str(&w, "");                    /* 19 */
	slob_tws_wr_str(&w, G.account);             /* 20 */
	slob_tws_wr_str(&w, "");                    /* 21 */
	slob_tws_wr_int(&w, 0);                     /* 22 */
	slob_tws_wr_str(&w, "");                    /* 23 orderRef */
	slob_tws_wr_int(&w, c->client_id);          /* 24 */
	slob_tws_wr_int(&w, 0);                     /* 25 permId */
	for (int i = 26; i <= 56; i++)
		slob_tws_wr_str(&w, "");
	slob_tws_wr_int(&w, 0);                     /* 57 */
	for (int i = 58; i <= 83; i++)
		slob_tws_wr_str(&w, "");
	slob_tws_wr_str(&w, "1");                   /* 84 whatIf */
	slob_tws_wr_str(&w, "PreSubmitted");        /* 85 */
	const char *st[9] = {before, mbefore, eq, change, mchange, "0.0", after, mafter, eq};
	for (int i = 0; i < 9; i++)                 /* 86..94 */
		slob_tws_wr_str(&w, st[i]);
	for (int i = 95; i <= 147; i++)
		slob_tws_wr_str(&w, "");
	send_raw(c, m, slob_tws_wr_end(&w));
	G.whatif_sent++;
	logf_("what-if order %" PRId64 " %s %" PRId64 ": initial margin change %s", id, action, qty,
	      change);
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
	/* 2 conId 3 symbol 4 secType 5 expiry 6 strike 7 right 8 multiplier
	 * 9 exchange 10 primaryExchange 11 currency 12 localSymbol 13 tradingClass */
	struct inst k;
	if (!resolve(m->f[2], m->f[3], m->f[4], m->f[5], m->f[8], m->f[9], m->f[11], m->f[12],
		     m->f[13], &k)) {
		logf_("order %" PRId64 " for %s %s %s (conId %s) refused: not served", id, m->f[3],
		      m->f[5], m->f[12], m->f[2]);
		send_error(c, id, 200, "No security definition has been found for the request");
		return;
	}
	if (m->nfields >= 84 && strcmp(m->f[84], "1") == 0) {
		int64_t q = 0;
		(void)slob_tws_parse_i64(m->f[17], &q);
		if (id >= G.next_id)
			G.next_id = id + 1;
		send_what_if(c, id, &k, m->f[16], q);
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
	o->prod = k.prod;
	o->ym = k.ym;
	snprintf(o->action, sizeof(o->action), "%s", m->f[16]);
	(void)slob_tws_parse_i64(m->f[17], &qty);
	o->qty = qty;
	snprintf(o->type, sizeof(o->type), "%s", m->f[18]);
	o->lmt = m->f[19][0] ? strtod(m->f[19], NULL) : NAN;
	o->aux = m->f[20][0] ? strtod(m->f[20], NULL) : NAN;
	snprintf(o->tif, sizeof(o->tif), "%s", m->f[21]);
	o->outside_rth = m->nfields >= 33 && strcmp(m->f[33], "1") == 0;
	snprintf(o->oca, sizeof(o->oca), "%s", m->f[22]);
	snprintf(o->account, sizeof(o->account), "%s", m->f[23]);
	snprintf(o->ref, sizeof(o->ref), "%s", m->f[26]);
	(void)slob_tws_parse_i64(m->f[27], &transmit);
	(void)slob_tws_parse_i64(m->f[28], &parent);
	o->parent_id = parent;
	if (id >= G.next_id)
		G.next_id = id + 1;
	if (!on_tick_grid(o->lmt, G.prod[o->prod].tick) || !on_tick_grid(o->aux, G.prod[o->prod].tick)) {
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
	{
		/* the broker's own margin check on the opening order of the group */
		struct order *ro = find_order(root);
		double need = ro ? G.acct_margin * (double)ro->qty : 0;
		if (ro && ro->state == O_UNTRANSMITTED && need > acct_available()) {
			G.margin_rejects++;
			char t[200];
			snprintf(t, sizeof(t),
				 "Order rejected - reason:Insufficient margin: initial margin %.2f, "
				 "available funds %.2f",
				 need, acct_available());
			logf_("margin reject of group %" PRId64 ": %s", root, t);
			for (int i = 0; i < G.norders; i++) {
				struct order *x = &G.orders[i];
				if (x->state == O_UNTRANSMITTED && (x->id == root || x->parent_id == root))
					x->state = O_CANCELLED;
			}
			send_error(c, root, 201, t);
			save_state();
			return;
		}
	}
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
	struct inst k;
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
		/* reqId, conId, symbol, secType, expiry, strike, right, multiplier, exchange,
		 * primaryExchange, currency, localSymbol, tradingClass */
		if (!resolve(m->f[2], m->f[3], m->f[4], m->f[5], m->f[8], m->f[9], m->f[11], m->f[12],
			     m->f[13], &k)) {
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
		if (!resolve(m->f[3], m->f[4], m->f[5], m->f[6], m->f[9], m->f[10], m->f[12], m->f[13],
			     m->f[14], &k)) {
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
		if (!G.withhold_ends)
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
		if (!G.withhold_ends)
			MSG(c, WI(SLOB_TWS_EXECUTION_DATA_END); WI(1); WI(req));
		return;
	}
	case SLOB_TWS_REQ_POSITIONS:
		for (int i = 0; i < G.npos; i++)
			if (G.pos[i].qty != 0)
				send_position(c, &G.pos[i]);
		if (!G.withhold_ends)
			MSG(c, WI(SLOB_TWS_POSITION_END); WI(1));
		return;
	case SLOB_TWS_REQ_CONTRACT_DATA:
		/* version, reqId, conId, symbol, secType, expiry, strike, right, multiplier,
		 * exchange, primaryExchange, currency, localSymbol, tradingClass, ... */
		if (m->nfields < 14)
			return;
		(void)slob_tws_parse_i64(m->f[2], &req);
		if (!resolve(m->f[3], m->f[4], m->f[5], m->f[6], m->f[9], m->f[10], m->f[12], m->f[13],
			     m->f[14], &k)) {
			send_error(c, req, 200, "No security definition has been found for the request");
			return;
		}
		send_contract_details(c, req, &k);
		return;
	case SLOB_TWS_REQ_MANAGED_ACCTS:
		MSG(c, WI(SLOB_TWS_MANAGED_ACCTS); WI(1); WS(G.account));
		return;
	case SLOB_TWS_REQ_ACCOUNT_SUMMARY:
		if (m->nfields < 4 || slob_tws_parse_i64(m->f[2], &req) != 0 || req <= 0)
			return;
		c->acct_req = req;
		if (!G.acct_silent)
			send_account(c, true);
		return;
	case SLOB_TWS_CANCEL_ACCOUNT_SUMMARY:
		c->acct_req = 0;
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
		if (G.reqlog != NULL) { /* --log-requests: what the client put on the wire */
			fprintf(G.reqlog, "client %d:", c->client_id);
			for (int i = 0; i < nf; i++)
				fprintf(G.reqlog, "%s%s", i ? "|" : " ", m.f[i]);
			fputc('\n', G.reqlog);
			fflush(G.reqlog);
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
	int64_t stalled = stall_left(now_ms());
	if (stalled > 0)
		return (int)(stalled > 1000 ? 1000 : stalled); /* the stream waits too */
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
		/* --live-time: the wall clock, so a live session's bars are normal */
		int64_t stamp_ns = G.live_time ? wall_now_ns() : G.tick.ts_ns;
		G.tick_index++;
		G.last_px = px;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &G.cl[i];
			if (c->fd < 0)
				continue;
			if (c->tbt_req >= 0)
				MSG(c, WI(SLOB_TWS_TICK_BY_TICK); WI(c->tbt_req); WI(1);
				    WI(stamp_ns / 1000000000); WD(px); WI(G.tick.size); WI(0);
				    WS(G.prod[0].exchange); WS(""));
			if (c->mkt_req >= 0)
				MSG(c, WI(SLOB_TWS_TICK_PRICE); WI(6); WI(c->mkt_req); WI(4); WD(px);
				    WI(G.tick.size); WI(0));
		}
		session_tick(G.tick.ts_ns);
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
	"seed-position <qty> <avg_px> [SYMBOL [YYYYMM]] | seed-order <ref> <BUY|SELL> <LMT|STP> <px> <qty> [client] | "
	"error <code> <text> | stall <seconds>|off | withhold-ends on|off | pause | resume | rewind | speed <x> | status | orders | "
	"account [equity <usd> | available <usd|auto> | excess <usd|auto> | margin <usd> | stop | "
	"resume] | quit";

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
	} else if (strcmp(cmd, "stall") == 0 && n >= 2) {
		/* output stall: sockets stay open, nothing is written, the tick
		 * stream waits; input is still read (and answered after the stall) */
		if (strcmp(a1, "off") == 0) {
			G.stall_until_ms = 0;
			G.wall0_ms = 0; /* re-anchor pacing */
			logf_("control: stall off");
			ctl_reply(k, "OK stall off");
		} else {
			char *end;
			double sec = strtod(a1, &end);
			if (end == a1 || *end != '\0' || !(sec > 0) || sec > 86400) {
				ctl_reply(k, "ERR stall: '%s' is not off or seconds in (0, 86400]", a1);
				return;
			}
			G.stall_until_ms = now_ms() + (int64_t)(sec * 1000);
			G.wall0_ms = 0;
			logf_("control: output stalled for %g s", sec);
			ctl_reply(k, "OK output stalled %g s", sec);
		}
	} else if (strcmp(cmd, "withhold-ends") == 0 && n >= 2 &&
		   (strcmp(a1, "on") == 0 || strcmp(a1, "off") == 0)) {
		G.withhold_ends = strcmp(a1, "on") == 0;
		ctl_reply(k, "OK end markers %s", G.withhold_ends ? "withheld" : "sent");
	} else if (strcmp(cmd, "dup") == 0 && n >= 2) {
		G.dup_left = atoi(a1);
		ctl_reply(k, "OK next %d order reports duplicated", G.dup_left);
	} else if (strcmp(cmd, "seed-position") == 0 && n >= 3) {
		/* seed-position <qty> <avg_px> [SYMBOL [YYYYMM]]: default the first
		 * contract's front month; another served contract by name */
		struct inst in = front_inst(0);
		if (n >= 4) {
			struct inst got;
			if (!resolve("", a3, "", n >= 5 ? a4 : "", "", "", "", "", "", &got) &&
			    !(n == 4 && resolve("", a3, "", "", "", "", "", "", "", &got))) {
				bool found = false;
				for (int i = 0; i < G.nprod && n == 4; i++)
					if (strcmp(G.prod[i].symbol, a3) == 0) {
						got = front_inst(i);
						found = true;
					}
				if (!found) {
					ctl_reply(k, "ERR %s %s is not served", a3, n >= 5 ? a4 : "");
					return;
				}
			}
			in = got;
		}
		struct pos *q = find_pos(in.prod, in.ym, true);
		if (q == NULL) {
			ctl_reply(k, "ERR too many positions");
			return;
		}
		q->qty = atoll(a1);
		q->avg_cost = strtod(a2, NULL) * G.prod[in.prod].mult;
		save_state();
		ctl_reply(k, "OK position %" PRId64 " %s conId %" PRId64, q->qty,
			  G.prod[in.prod].symbol, inst_con_id(&in));
	} else if (strcmp(cmd, "seed-order") == 0 && n >= 6 && G.norders < MAX_ORDERS) {
		struct order *o = &G.orders[G.norders++];
		memset(o, 0, sizeof(*o));
		o->id = G.next_id++;
		o->perm_id = ++G.next_perm;
		o->client_id = n >= 7 ? atoi(a6) : 0; /* owner: as if placed by that client */
		struct inst in = front_inst(0);
		o->prod = in.prod;
		o->ym = in.ym;
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
			  "position=%" PRId64 " next_id=%" PRId64 " stalled=%d withhold_ends=%d",
			  clients, G.tick_index, G.last_px, G.eof, G.norders, live, G.nexecs,
			  pos_total(), G.next_id, stall_left(now_ms()) > 0, G.withhold_ends);
	} else if (strcmp(cmd, "account") == 0) {
		double v = n >= 3 ? strtod(a2, NULL) : NAN;
		bool autov = n >= 3 && strcmp(a2, "auto") == 0;
		if (n >= 3 && strcmp(a1, "equity") == 0 && v > 0) {
			G.acct_equity = v;
		} else if (n >= 3 && strcmp(a1, "available") == 0) {
			G.acct_available = autov ? NAN : v;
		} else if (n >= 3 && strcmp(a1, "excess") == 0) {
			G.acct_excess = autov ? NAN : v;
		} else if (n >= 3 && strcmp(a1, "margin") == 0 && v >= 0) {
			G.acct_margin = v;
		} else if (n >= 2 && strcmp(a1, "stop") == 0) {
			G.acct_silent = true;
		} else if (n >= 2 && strcmp(a1, "resume") == 0) {
			G.acct_silent = false;
		} else if (n >= 2) {
			ctl_reply(k, "ERR account: equity <usd> | available <usd|auto> | excess "
				     "<usd|auto> | margin <usd> | stop | resume");
			return;
		}
		if (n >= 2)
			account_changed();
		ctl_reply(k,
			  "OK account equity=%.2f available=%.2f excess=%.2f init=%.2f maint=%.2f "
			  "margin=%.2f silent=%d sent=%" PRIu64 " whatif=%" PRIu64
			  " margin_rejects=%" PRIu64,
			  G.acct_equity, acct_available(), acct_excess(), acct_init_req(),
			  acct_maint_req(), G.acct_margin, G.acct_silent, G.acct_sent, G.whatif_sent,
			  G.margin_rejects);
	} else if (strcmp(cmd, "orders") == 0) {
		for (int i = 0; i < G.norders; i++) {
			struct order *o = &G.orders[i];
			ctl_reply(k, "order %" PRId64 " parent=%" PRId64 " %s %s %" PRId64 " lmt=%g aux=%g ref=%s state=%s tif=%s rth=%d",
				  o->id, o->parent_id, o->action, o->type, o->qty, o->lmt, o->aux,
				  o->ref, ostate_name(o->state), dash(o->tif), !o->outside_rth);
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

static void usage(FILE *out)
{
	fprintf(out,
		"usage: slob-gw [options]   a TWS / IB Gateway simulator (server version 200)\n"
		"  --port N             API port on 127.0.0.1 (default 4002; 0 = any, printed as PORT n)\n"
		"  --control-port N     line-based control port (0 = any, printed as CONTROL n; default none)\n"
		"  --contract SPEC      a contract to serve, repeatable (default NQ):\n"
		"                       SYMBOL[,mult=M][,tick=T][,conid=N][,expiry=YYYYMM[DD]]\n"
		"                       [,class=C][,exchange=X][,currency=C]; NQ, MNQ, ES, MES know\n"
		"                       their multiplier and conId; without expiry every quarterly\n"
		"                       month is served (conId = conid + months from March 2026)\n"
		"  --ticks FILE         replay this tick file (prices in the first contract's ticks)\n"
		"  --speed X            X times real time (default 1; 0 = as fast as clients read)\n"
		"  --live-time          stamp streamed ticks and fills with the current time, so a\n"
		"                       `slobd live` session against a replay builds wall-clock bars\n"
		"  --wait-sub           hold the stream until a client subscribes\n"
		"  --bar-pause-ms N     after the first tick of each minute, hold the stream N ms\n"
		"  --state FILE         keep orders, executions and positions across restarts\n"
		"  --account ID         account reported to clients (default DU1234567)\n"
		"  --first-id N         first nextValidId (default 1)\n"
		"  --log-requests FILE  append every client message, one line each (fields '|')\n"
		"  --session-close HH:MM|off  New York time DAY orders expire (default 17:00)\n"
		"  --rth HH:MM-HH:MM    regular hours (New York, weekdays); default: every hour\n"
		"  --equity USD         simulated NetLiquidation (default 10000000)\n"
		"  --margin USD         simulated initial margin per contract (default 20000)\n"
		"  -h, --help           this text\n"
		"Control commands: send \"help\" on the control port.\n");
}

int main(int argc, char **argv)
{
	int port = 4002, cport = -1;
	memset(&G, 0, sizeof(G));
	G.next_id = 1;
	G.speed = 1.0;
	strcpy(G.account, "DU1234567");
	static const char *const flags[] = {"--wait-sub", "--live-time", "-h", "--help"};
	static const char *const valued[] = {"--port", "--control-port", "--ticks", "--speed",
					     "--state", "--account", "--first-id", "--bar-pause-ms",
					     "--contract", "--log-requests", "--equity", "--margin",
					     "--session-close", "--rth"};
	const char *reqlog = NULL;
	G.acct_equity = 10000000;
	G.acct_margin = 20000;
	G.acct_available = NAN;
	G.acct_excess = NAN;
	G.close_min = 17 * 60;
	G.rth_start = G.rth_end = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool is_flag = false, is_valued = false;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			is_flag |= strcmp(a, flags[k]) == 0;
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			is_valued |= strcmp(a, valued[k]) == 0;
		if (!is_flag && !is_valued) {
			fprintf(stderr, "slob-gw: unknown option %s (see slob-gw --help)\n", a);
			return 2;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--wait-sub") == 0) {
			G.wait_sub = true;
			continue;
		}
		if (strcmp(a, "--live-time") == 0) {
			G.live_time = true;
			continue;
		}
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL) {
			fprintf(stderr, "slob-gw: option %s needs a value (see slob-gw --help)\n", a);
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
		else if (strcmp(a, "--equity") == 0)
			G.acct_equity = strtod(v, NULL);
		else if (strcmp(a, "--margin") == 0)
			G.acct_margin = strtod(v, NULL);
		else if (strcmp(a, "--session-close") == 0) {
			int h, m;
			if (strcmp(v, "off") == 0)
				G.close_min = -1;
			else if (sscanf(v, "%d:%d", &h, &m) == 2 && h >= 0 && h < 24 && m >= 0 && m < 60)
				G.close_min = h * 60 + m;
			else
				G.close_min = -2;
		} else if (strcmp(a, "--rth") == 0) {
			int h1, m1, h2, m2;
			if (sscanf(v, "%d:%d-%d:%d", &h1, &m1, &h2, &m2) == 4 && h1 >= 0 && h1 < 24 &&
			    m1 >= 0 && m1 < 60 && h2 >= 0 && h2 < 24 && m2 >= 0 && m2 < 60 &&
			    h1 * 60 + m1 < h2 * 60 + m2) {
				G.rth_start = h1 * 60 + m1;
				G.rth_end = h2 * 60 + m2;
			} else {
				G.rth_start = -2;
			}
		} else if (strcmp(a, "--log-requests") == 0)
			reqlog = v;
		else if (strcmp(a, "--contract") == 0 && add_product(v) != 0) {
			fprintf(stderr, "slob-gw: bad --contract '%s': SYMBOL[,mult=M][,tick=T][,conid=N]"
					"[,expiry=YYYYMM[DD]][,class=C][,exchange=X][,currency=C] (at most "
					"%d)\n", v, MAX_PRODUCTS);
			return 2;
		}
		if (port < 0 || port > 65535 || cport > 65535 || G.speed < 0 || G.next_id < 1 ||
		    !(G.acct_equity > 0) || !(G.acct_margin >= 0) ||
		    G.bar_pause_ms < 0 || G.bar_pause_ms > 60000 || G.close_min < -1 ||
		    G.rth_start < -1) {
			fprintf(stderr, "slob-gw: bad value '%s' for %s\n", v, a);
			return 2;
		}
	}
	if (G.nprod == 0)
		(void)add_product("NQ"); /* the default, as before contracts were configurable */
	for (int i = 0; i < G.nprod; i++)
		logf_("serving %s %s on %s: multiplier %g, tick %g, conId %" PRId64 "%s", G.prod[i].symbol,
		      G.prod[i].sec_type, G.prod[i].exchange, G.prod[i].mult, G.prod[i].tick,
		      G.prod[i].con_id, G.prod[i].fixed ? " (one month)" : " (+ months from 2026-03)");
	if (reqlog != NULL && (G.reqlog = fopen(reqlog, "a")) == NULL) {
		fprintf(stderr, "slob-gw: cannot open %s: %s\n", reqlog, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((G.close_min >= 0 || G.rth_start >= 0) &&
	    slob_tz_load(&G.ny, "America/New_York", 1970, 2100) != 0) {
		fprintf(stderr, "slob-gw: America/New_York: %s\n", slob_tz_strerror());
		return 1;
	}
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
			int64_t stalled = stall_left(now);
			if (c->out.len > 0) {
				if (stalled > 0) {
					if (timeout < 0 || stalled < timeout)
						timeout = (int)(stalled > 1000 ? 1000 : stalled);
				} else if (c->hold_until_ms > now) {
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
				c->acct_req = 0;
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
