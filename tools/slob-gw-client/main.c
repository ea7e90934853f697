/* SPDX-License-Identifier: MIT */
/*
 * slob-gw-client: drives the live TWS path of the engine (engine/tws_conn.h
 * broker + market data, engine/sender.h in live mode) against slob-gw or a
 * real gateway, for integration tests and demos. It prints one line per
 * execution report, cold record and connection event, so scripts can assert
 * on them:
 *   EXEC kind=FILL role=ENTRY setup=1 id=5 qty=1 px=83980 code=0 ref=... text=...
 *   COLD type=ALERT level=3 code=0 comp=tws-order text=...
 *   TICKS n=<ticks> gaps=<ticks flagged GAP_BEFORE>        (at exit, with --md)
 *
 * Usage: slob-gw-client --port N [options]; `slob-gw-client --help` lists
 * them all. Exit status 0; 1 on bad arguments or set-up failure; 3 when the
 * gateway was never reached within --max-attempts connection attempts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/sender.h"
#include "engine/tws_conn.h"

SLOB_RING_TYPED(cli_intent, struct slob_intent)
SLOB_RING_TYPED(cli_exec, struct slob_exec)
SLOB_RING_TYPED(cli_cold, struct slob_cold)
SLOB_RING_TYPED(cli_tick, struct slob_tick)

static const char *kind_name(unsigned k)
{
	static const char *const n[] = {"?", "SUBMITTED", "FILL", "CANCELLED", "REJECTED",
					"CLOCK_ACK", "RECONCILED", "UNKNOWN", "CONN", "ACCOUNT"};
	return k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

static const char *cold_name(unsigned t)
{
	switch (t) {
	case SLOB_COLD_ORDER: return "ORDER";
	case SLOB_COLD_FILL: return "FILL";
	case SLOB_COLD_ALERT: return "ALERT";
	case SLOB_COLD_CONN: return "CONN";
	case SLOB_COLD_UNKNOWN_BROKER: return "UNKNOWN_BROKER";
	case SLOB_COLD_LOG: return "LOG";
	default: return "OTHER";
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: slob-gw-client --port N [options]   drives slob's live TWS path\n"
		"  --port N                 gateway API port (required)\n"
		"  --host H                 numeric gateway address (default 127.0.0.1)\n"
		"  --client-id N            order session client id (market data: N + 100)\n"
		"  --md                     also run the market-data session (TICKS line at exit)\n"
		"  --symbol S               contract symbol (default NQ)\n"
		"  --multiplier M           point value the broker must confirm (default 20)\n"
		"  --contract-month M       YYYYMM or auto (default auto: the roll rule)\n"
		"  --bracket D,E,SL,TP,Q,ID one bracket (prices in ticks; D = L or S)\n"
		"  --known REF              an orderRef the store knows (repeatable)\n"
		"  --known-position N       the store's net position\n"
		"  --backoff-ms N           first reconnect delay\n"
		"  --max-attempts N         give up (exit 3) after N failed connection attempts\n"
		"                           in a row without ever being ready (default 5)\n"
		"  --tws KEY=VALUE          any [tws] key, e.g. sl_tif=GTC (repeatable)\n"
		"  --run-ms N               run this long at most (default 5000)\n"
		"  --until-fills N          stop after N fills\n"
		"  --until-reconciled       stop once reconciliation is done\n"
		"  -h, --help               this text\n");
}

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

int main(int argc, char **argv)
{
	struct slob_tws_params tp;
	slob_tws_params_default(&tp);
	tp.backoff_initial_ms = 200;
	tp.backoff_cap_ms = 2000;
	tp.connect_timeout_ms = 3000;
	bool md_on = false, until_rec = false, want_bracket = false;
	long max_attempts = 5;
	int64_t run_ms = 5000;
	long until_fills = -1;
	int32_t known_pos = 0;
	static struct slob_tws_known_order known[64];
	size_t nknown = 0;
	struct slob_intent br;
	memset(&br, 0, sizeof(br));
	char err[200];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--md") == 0) {
			md_on = true;
			continue;
		}
		if (strcmp(a, "--until-reconciled") == 0) {
			until_rec = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "slob-gw-client: unexpected argument '%s' (see --help)\n", a);
			return 1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "slob-gw-client: %s needs a value (see --help)\n", a);
			return 1;
		}
		const char *v = argv[++i];
		int rc = 0;
		if (strcmp(a, "--port") == 0)
			rc = slob_tws_param_set(&tp, "port", v, err, sizeof(err));
		else if (strcmp(a, "--host") == 0)
			rc = slob_tws_param_set(&tp, "host", v, err, sizeof(err));
		else if (strcmp(a, "--client-id") == 0)
			rc = slob_tws_param_set(&tp, "order_client_id", v, err, sizeof(err));
		else if (strcmp(a, "--backoff-ms") == 0)
			rc = slob_tws_param_set(&tp, "backoff_initial_ms", v, err, sizeof(err));
		else if (strcmp(a, "--contract-month") == 0)
			rc = slob_tws_param_set(&tp, "contract_month", v, err, sizeof(err));
		else if (strcmp(a, "--symbol") == 0 && strlen(v) > 0 && strlen(v) < sizeof(tp.symbol))
			strcpy(tp.symbol, v);
		else if (strcmp(a, "--multiplier") == 0 && strtod(v, NULL) > 0)
			tp.multiplier = strtod(v, NULL);
		else if (strcmp(a, "--max-attempts") == 0 && atol(v) > 0)
			max_attempts = atol(v);
		else if (strcmp(a, "--tws") == 0) {
			char k[64];
			const char *eq = strchr(v, '=');
			if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(k)) {
				fprintf(stderr, "slob-gw-client: --tws wants KEY=VALUE, got '%s'\n", v);
				return 1;
			}
			memcpy(k, v, (size_t)(eq - v));
			k[eq - v] = '\0';
			rc = slob_tws_param_set(&tp, k, eq + 1, err, sizeof(err));
		} else if (strcmp(a, "--run-ms") == 0)
			run_ms = atoll(v);
		else if (strcmp(a, "--until-fills") == 0)
			until_fills = atol(v);
		else if (strcmp(a, "--known-position") == 0)
			known_pos = atoi(v);
		else if (strcmp(a, "--known") == 0 && nknown < 64) {
			snprintf(known[nknown].order_ref, sizeof(known[nknown].order_ref), "%s", v);
			known[nknown].setup_id = 99;
			known[nknown].role = strstr(v, "_TP") ? SLOB_ROLE_TP
					     : strstr(v, "_SL") ? SLOB_ROLE_SL
								: SLOB_ROLE_ENTRY;
			known[nknown].dir = SLOB_LONG;
			nknown++;
		} else if (strcmp(a, "--bracket") == 0) {
			char d;
			long long setup;
			if (sscanf(v, "%c,%d,%d,%d,%d,%lld", &d, &br.entry, &br.sl, &br.tp, &br.qty,
				   &setup) != 6 || (d != 'L' && d != 'S')) {
				fprintf(stderr, "slob-gw-client: --bracket wants DIR,ENTRY,SL,TP,QTY,SETUP "
						"(DIR L or S, prices in ticks), got '%s'\n", v);
				return 1;
			}
			br.kind = SLOB_INTENT_BRACKET;
			br.dir = d == 'L' ? SLOB_LONG : SLOB_SHORT;
			br.setup_id = (uint64_t)setup;
			snprintf(br.order_ref, sizeof(br.order_ref), "SLOB_%016llx", setup);
			want_bracket = true;
		} else {
			fprintf(stderr, "slob-gw-client: unknown option or bad value: %s %s (see --help)\n",
				a, v);
			return 1;
		}
		if (rc) {
			fprintf(stderr, "slob-gw-client: %s\n", err);
			return 1;
		}
	}
	tp.md_client_id = tp.order_client_id + 100;
	if (slob_tws_params_validate(&tp, err, sizeof(err)) != 0) {
		fprintf(stderr, "slob-gw-client: %s\n", err);
		return 1;
	}

	slob_ring_t rin, rout, rcold, rtick;
	struct slob_coldq cold;
	struct slob_sender s;
	static struct slob_tws_broker b;
	static struct slob_tws_md md;
	if (slob_ring_init(&rin, "intents", 64, sizeof(struct slob_intent)) ||
	    slob_ring_init(&rout, "execs", 1024, sizeof(struct slob_exec)) ||
	    slob_ring_init(&rcold, "cold", 1024, sizeof(struct slob_cold)) ||
	    slob_ring_init(&rtick, "ticks", 1 << 16, sizeof(struct slob_tick)) ||
	    slob_coldq_init(&cold, &rcold, 5)) {
		fprintf(stderr, "slob-gw-client: out of memory\n");
		return 1;
	}
	struct slob_sender_params sp;
	slob_sender_params_default(&sp);
	sp.mode = SLOB_SENDER_LIVE;
	if (slob_sender_init(&s, &sp, &rin, NULL, &rout, &cold, err, sizeof(err)) != 0 ||
	    slob_tws_broker_init(&b, &tp, known, nknown, known_pos, &cold, wall_ns()) != 0) {
		fprintf(stderr, "slob-gw-client: init: %s\n", err);
		return 1;
	}
	slob_tws_broker_attach(&b, &s);
	static struct slob_coldq mdcold;
	static slob_ring_t rmdcold;
	if (md_on) {
		if (slob_ring_init(&rmdcold, "mdcold", 256, sizeof(struct slob_cold)) ||
		    slob_coldq_init(&mdcold, &rmdcold, 1) ||
		    slob_tws_md_init(&md, &tp, &rtick, &mdcold, wall_ns()) != 0) {
			fprintf(stderr, "slob-gw-client: market data init failed\n");
			return 1;
		}
	}
	if (want_bracket) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		br.recv_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		(void)cli_intent_push(&rin, &br);
	} /* held by the sender until reconciled */

	int64_t end = mono_ms() + run_ms;
	long fills = 0;
	uint64_t nticks = 0, gaps = 0;
	bool reconciled_seen = false, gave_up = false;
	while (mono_ms() < end) {
		int work = slob_sender_poll(&s);
		if (md_on)
			work += slob_tws_md_poll(&md, mono_ms());
		struct slob_exec ex;
		while (cli_exec_pop(&rout, &ex)) {
			printf("EXEC kind=%s role=%s setup=%" PRIu64 " id=%" PRId64 " qty=%d px=%d code=%d "
			       "ref=%s text=%s\n",
			       kind_name(ex.kind), slob_role_name(ex.role), ex.setup_id, ex.order_id,
			       ex.qty, ex.px, ex.code, ex.order_ref, ex.text);
			fills += ex.kind == SLOB_EXEC_FILL;
			if (ex.kind == SLOB_EXEC_ACCOUNT)
				printf("ACCOUNT have=%u net_liq=%" PRId64 " available=%" PRId64
				       " excess=%" PRId64 " init=%" PRId64 " maint=%" PRId64
				       " margin1=%" PRId64 " currency=%.4s fresh=%d\n",
				       ex.acct.have, ex.acct.net_liq_cents, ex.acct.available_cents,
				       ex.acct.excess_liq_cents, ex.acct.init_margin_cents,
				       ex.acct.maint_margin_cents, ex.acct.margin_1_cents,
				       ex.acct.currency, ex.acct.summary_ns != 0);
		}
		struct slob_cold c;
		for (slob_ring_t *cr = &rcold; cr != NULL; cr = cr == &rcold && md_on ? &rmdcold : NULL) {
			while (cli_cold_pop(cr, &c)) {
				if (c.type == SLOB_COLD_ORDER || c.type == SLOB_COLD_FILL)
					continue; /* mirrored by EXEC lines */
				printf("COLD type=%s level=%u code=%d comp=%s text=%s\n", cold_name(c.type),
				       c.u.text.level, c.u.text.code, c.u.text.component, c.u.text.text);
				if (c.type == SLOB_COLD_CONN &&
				    c.u.text.code == slob_conn_code(SLOB_CONN_ORDERS, SLOB_CONN_RECONCILED))
					reconciled_seen = true;
			}
		}
		struct slob_tick t;
		while (cli_tick_pop(&rtick, &t)) {
			nticks++;
			gaps += (t.flags & SLOB_TICK_GAP_BEFORE) != 0;
		}
		fflush(stdout);
		if (until_fills >= 0 && fills >= until_fills)
			break;
		if (until_rec && reconciled_seen)
			break;
		/* never ready and refused max_attempts times in a row: stop retrying */
		if (b.conn.connects == 0 ? b.conn.failures >= (unsigned)max_attempts
					 : b.conn.failures >= (unsigned)max_attempts &&
						   b.conn.disconnects == b.conn.failures) {
			fprintf(stderr, "slob-gw-client: gateway %s:%d not reachable after %ld attempts: %s\n",
				tp.host, tp.port, max_attempts, b.conn.why);
			gave_up = true;
			break;
		}
		if (work == 0)
			usleep(1000);
	}
	if (md_on)
		printf("TICKS n=%" PRIu64 " gaps=%" PRIu64 "\n", nticks, gaps);
	printf("DONE fills=%ld rejects=%" PRIu64 " unknown=%" PRIu64 " adopted=%" PRIu64
	       " reconnects=%" PRIu64 " latency_count=%" PRIu64 "\n",
	       fills, b.rejects, b.unknown_found, b.adopted, b.conn.disconnects, s.lat_count);
	fflush(stdout);
	slob_tws_broker_destroy(&b);
	if (gave_up) {
		slob_sender_destroy(&s);
		return 3;
	}
	if (md_on) {
		slob_tws_md_destroy(&md);
		slob_coldq_destroy(&mdcold);
		slob_ring_destroy(&rmdcold);
	}
	slob_sender_destroy(&s);
	slob_coldq_destroy(&cold);
	slob_ring_destroy(&rin);
	slob_ring_destroy(&rout);
	slob_ring_destroy(&rcold);
	slob_ring_destroy(&rtick);
	return 0;
}
