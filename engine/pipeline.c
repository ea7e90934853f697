/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c: builds, runs and summarises the slob pipeline (pipeline.h).
 * Cold path throughout: this file wires stages together; the stages' own
 * poll functions are the hot path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/pipeline.h"

static const char *const cold_names[SLOB_PIPE_COLD_N] = {
	"cold.candles", "cold.detector", "cold.risk", "cold.sender", "cold.ingest", "cold.control",
};

struct slob_pipeline {
	struct slob_pipeline_opts o;
	struct slob_topology *topo;
	char layout[256];

	struct slob_ingest ingest;
	slob_stage_t ingest_wrap;          /* ingest + early END on a stop request */
	struct slob_tws_md *md;            /* live: market data instead of the file */
	struct slob_tws_broker *broker;    /* live: the sender's backend */
	struct slob_tws_known_order *known;
	int end_pushed[2];                 /* ticks, tap */
	slob_stage_t fault;                /* drills: duplicates setup signals */
	unsigned fault_sent;
	int fault_end;
	struct slob_candles candles;
	struct slob_detector det;
	struct slob_detector_stage det_stage;
	slob_risk_t *risk;
	slob_stage_t risk_stage;
	struct slob_sender sender;
	slob_cold_writer_t *cold;

	slob_ring_t control_ring;          /* daemon thread -> cold (not in the topology) */
	struct slob_coldq coldq[SLOB_PIPE_COLD_N];
	struct slob_ops_sink ops;
	struct slob_cold_sinks sinks;

	slob_hist_t *lat;                  /* tick -> order (in the stats file or own) */
	slob_hist_t *lat_own;

	pthread_t joiner;
	int joiner_started;
	int finished;                      /* atomic: every thread joined */
	int stop_requested;                /* atomic */
	int result;
	int64_t t_start, t_hot_end, t_end; /* CLOCK_MONOTONIC ns */
	char err[256];
};

/* ---- configuration ------------------------------------------------------ */

static int set_instrument(void *params, const char *key, const char *value, char *err,
			  size_t errlen)
{
	struct slob_instrument *in = params;
	double d;
	if (!strcmp(key, "symbol")) {
		if (strlen(value) == 0 || strlen(value) >= sizeof(in->symbol))
			goto bad_text;
		snprintf(in->symbol, sizeof(in->symbol), "%s", value);
	} else if (!strcmp(key, "exchange")) {
		if (strlen(value) == 0 || strlen(value) >= sizeof(in->exchange))
			goto bad_text;
		snprintf(in->exchange, sizeof(in->exchange), "%s", value);
	} else if (!strcmp(key, "currency")) {
		if (strlen(value) == 0 || strlen(value) >= sizeof(in->currency))
			goto bad_text;
		snprintf(in->currency, sizeof(in->currency), "%s", value);
	} else if (!strcmp(key, "tick_size")) {
		if (slob_parse_double(key, value, 1e-6, 1000.0, &d, err, errlen) < 0)
			return -EINVAL;
		in->tick_size = d;
	} else if (!strcmp(key, "point_value")) {
		if (slob_parse_double(key, value, 1e-6, 1e6, &d, err, errlen) < 0)
			return -EINVAL;
		in->point_value = d;
	} else if (!strcmp(key, "multiplier")) {
		if (value[0] == '\0')
			in->multiplier = 0;
		else if (slob_parse_double(key, value, 1e-6, 1e6, &in->multiplier, err, errlen) < 0)
			return -EINVAL;
	} else if (!strcmp(key, "sec_type")) {
		if (strlen(value) == 0 || strlen(value) >= sizeof(in->sec_type)) {
			snprintf(err, errlen, "%s: '%s' must be 1 to 7 characters", key, value);
			return -EINVAL;
		}
		snprintf(in->sec_type, sizeof(in->sec_type), "%s", value);
	} else if (!strcmp(key, "trading_class")) {
		if (strlen(value) >= sizeof(in->trading_class))
			goto bad_text;
		snprintf(in->trading_class, sizeof(in->trading_class), "%s", value);
	} else if (!strcmp(key, "contract_month") || !strcmp(key, "roll_days")) {
		/* same rules as the older [tws] spelling */
		struct slob_tws_params tp;
		slob_tws_params_default(&tp);
		char e[160];
		if (slob_tws_param_set(&tp, key, value, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "%s", e + (strncmp(e, "tws.", 4) == 0 ? 4 : 0));
			return -EINVAL;
		}
		if (!strcmp(key, "roll_days"))
			in->roll_days = tp.roll_days;
		else
			memcpy(in->contract_month, tp.contract_month, sizeof(in->contract_month));
	} else {
		return -ENOENT;
	}
	slob_instrument_derive(in);
	return 0;
bad_text:
	snprintf(err, errlen, "%s: '%s' must be 1 to 15 characters", key, value);
	return -EINVAL;
}

static int set_pipeline(void *params, const char *key, const char *value, char *err,
			size_t errlen)
{
	struct slob_pipeline_opts *o = params;
	long long v;
	bool b;
	if (!strcmp(key, "layout")) {
		o->layout = value; /* owned by the config, which outlives the build */
		return 0;
	}
	if (!strcmp(key, "hot_wait") || !strcmp(key, "cold_wait")) {
		enum slob_wait w;
		if (slob_wait_parse(value, &w) < 0) {
			snprintf(err, errlen, "%s: '%s' is not spin, yield or block", key, value);
			return -EINVAL;
		}
		if (key[0] == 'h')
			o->hot_wait = w;
		else
			o->cold_wait = w;
		return 0;
	}
	if (!strcmp(key, "fault_duplicate_setup")) {
		if (slob_parse_int(key, value, 0, 100000, &v, err, errlen) < 0)
			return -EINVAL;
		o->fault_dup_setups = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "pin")) {
		if (slob_parse_bool(key, value, &b, err, errlen) < 0)
			return -EINVAL;
		o->pin = b;
		return 0;
	}
	unsigned *dst = !strcmp(key, "tick_ring") ? &o->tick_ring
		      : !strcmp(key, "tap_ring")  ? &o->tap_ring
		      : !strcmp(key, "ring")      ? &o->ring
		      : !strcmp(key, "cold_ring") ? &o->cold_ring
						  : NULL;
	if (dst == NULL)
		return -ENOENT;
	if (slob_parse_int(key, value, 16, 1LL << 24, &v, err, errlen) < 0)
		return -EINVAL;
	if (!slob_is_pow2((unsigned long)v)) {
		snprintf(err, errlen, "%s: %lld is not a power of two", key, v);
		return -EINVAL;
	}
	*dst = (unsigned)v;
	return 0;
}

/* Was section.key given (file, environment, --set), not left at its default? */
static bool key_given(const struct slob_config *cfg, const char *section, const char *key)
{
	for (unsigned i = 0; i < cfg->n; i++) {
		const struct slob_config_entry *e = &cfg->entries[i];
		if (!strcmp(e->key->section, section) && !strcmp(e->key->key, key))
			return strcmp(e->origin, "default") != 0;
	}
	return false;
}

/*
 * The traded contract: [instrument] names it fully; the market-data and
 * order sessions get a copy ([tws] params). Older spellings
 * tws.contract_month / tws.roll_days apply when the [instrument] key is not
 * given; instrument.multiplier is another name of point_value (both given:
 * they must agree).
 */
static int contract_from_config(struct slob_pipeline_opts *o, const struct slob_config *cfg,
				char *err, size_t errlen)
{
	struct slob_instrument *in = &o->instrument;
	if (in->multiplier > 0) {
		if (!key_given(cfg, "instrument", "point_value")) {
			in->point_value = in->multiplier;
			slob_instrument_derive(in);
		} else if (fabs(in->multiplier - in->point_value) > 1e-9 * in->point_value) {
			snprintf(err, errlen, "invalid configuration: instrument.multiplier %g and "
				 "instrument.point_value %g disagree (one number: USD per point)",
				 in->multiplier, in->point_value);
			return -EINVAL;
		}
	}
	static const char *const moved[] = {"contract_month", "roll_days"};
	for (unsigned i = 0; i < 2; i++) {
		bool inst = key_given(cfg, "instrument", moved[i]), tws = key_given(cfg, "tws", moved[i]);
		if (tws && !inst) {
			if (i == 0)
				memcpy(in->contract_month, o->tws.contract_month, sizeof(in->contract_month));
			else
				in->roll_days = o->tws.roll_days;
		} else if (tws && inst &&
			   strcmp(slob_config_get(cfg, "tws", moved[i]),
				  slob_config_get(cfg, "instrument", moved[i])) != 0) {
			snprintf(err, errlen, "invalid configuration: instrument.%s '%s' and tws.%s '%s' "
				 "disagree (keep instrument.%s)", moved[i],
				 slob_config_get(cfg, "instrument", moved[i]), moved[i],
				 slob_config_get(cfg, "tws", moved[i]), moved[i]);
			return -EINVAL;
		}
	}
	struct slob_tws_params *t = &o->tws;
	memcpy(t->contract_month, in->contract_month, sizeof(t->contract_month));
	t->roll_days = in->roll_days;
	slob_strlcpy(t->symbol, sizeof(t->symbol), in->symbol);
	slob_strlcpy(t->sec_type, sizeof(t->sec_type), in->sec_type);
	slob_strlcpy(t->exchange, sizeof(t->exchange), in->exchange);
	slob_strlcpy(t->currency, sizeof(t->currency), in->currency);
	slob_strlcpy(t->trading_class, sizeof(t->trading_class), in->trading_class);
	t->multiplier = in->point_value;
	return 0;
}

int slob_pipeline_opts_from_config(struct slob_pipeline_opts *o, const struct slob_config *cfg,
				   char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->layout = "auto";
	o->hot_wait = SLOB_WAIT_SPIN;
	o->cold_wait = SLOB_WAIT_BLOCK;
	o->pin = true;
	o->tick_ring = 65536;
	o->tap_ring = 1u << 20;
	o->ring = 4096;
	o->cold_ring = 65536;
	slob_instrument_nq(&o->instrument);
	slob_ingest_params_default(&o->ingest);
	slob_candles_params_default(&o->candles);
	slob_detector_params_default(&o->detector);
	slob_risk_params_default(&o->risk);
	slob_sender_params_default(&o->sender);
	slob_cold_params_default(&o->cold);
	slob_tws_params_default(&o->tws);

	struct {
		const char *section;
		slob_param_set_fn fn;
		void *params;
	} sections[] = {
		{"instrument", set_instrument, &o->instrument},
		{"pipeline", set_pipeline, o},
		{"candles", (slob_param_set_fn)slob_candles_param_set, &o->candles},
		{"detector", (slob_param_set_fn)slob_detector_param_set, &o->detector},
		{"risk", (slob_param_set_fn)slob_risk_param_set, &o->risk},
		{"sender", (slob_param_set_fn)slob_sender_param_set, &o->sender},
		{"cold", (slob_param_set_fn)slob_cold_param_set, &o->cold},
		{"tws", (slob_param_set_fn)slob_tws_param_set, &o->tws},
		{"ticks", (slob_param_set_fn)slob_tickcheck_param_set, &o->ingest.check},
	};
	for (unsigned i = 0; i < SLOB_ARRAY_SIZE(sections); i++) {
		int rc = slob_config_apply_section(cfg, sections[i].section, sections[i].fn,
						   sections[i].params, err, errlen);
		if (rc < 0)
			return rc;
	}
	/* calendars named in the file live next to it, not in the daemon's cwd */
	slob_config_rebase_path(cfg, "risk", "holiday_file", o->risk.holiday_file,
				sizeof(o->risk.holiday_file));
	slob_config_rebase_path(cfg, "risk", "news_file", o->risk.news_file,
				sizeof(o->risk.news_file));
	char msg[256];
	int rc = 0;
	if ((rc = slob_candles_params_validate(&o->candles, msg, sizeof(msg))) < 0 ||
	    (rc = slob_detector_params_validate(&o->detector, msg, sizeof(msg))) < 0 ||
	    (rc = slob_risk_params_validate(&o->risk, msg, sizeof(msg))) < 0 ||
	    (rc = slob_sender_params_validate(&o->sender, msg, sizeof(msg))) < 0 ||
	    (rc = slob_cold_params_validate(&o->cold, msg, sizeof(msg))) < 0 ||
	    (rc = slob_tws_params_validate(&o->tws, msg, sizeof(msg))) < 0 ||
	    (rc = slob_tickcheck_params_validate(&o->ingest.check, msg, sizeof(msg))) < 0) {
		snprintf(err, errlen, "invalid configuration: %s", msg);
		return rc;
	}
	if ((rc = contract_from_config(o, cfg, err, errlen)) < 0)
		return rc;
	/* ticks must fall inside the years the session calendar covers */
	o->ingest.check.ts_min_ns = slob_days_from_civil(o->detector.tz_year_from, 1, 1) *
				    SLOB_NS_PER_DAY;
	o->ingest.check.ts_max_ns = slob_days_from_civil(o->detector.tz_year_to + 1, 1, 1) *
				    SLOB_NS_PER_DAY;
	o->ingest.backwards_tol_ns = o->ingest.check.backwards_tol_ns;
	o->ingest.tick_size = o->instrument.tick_size;
	o->tws.tick_size = o->instrument.tick_size;
	return 0;
}

/* ---- cold sinks: ops (logs, alerts, heartbeat) + status + commands ------- */

static void sink_log(void *ctx, const struct slob_cold *rec)
{
	struct slob_pipeline *p = ctx;
	slob_ops_sink_log(&p->ops, rec);
}

static void sink_alert(void *ctx, const struct slob_cold *rec)
{
	struct slob_pipeline *p = ctx;
	slob_ops_sink_alert(&p->ops, rec);
}

static void sink_tick(void *ctx, int64_t now_ns)
{
	struct slob_pipeline *p = ctx;
	slob_ops_sink_tick(&p->ops, now_ns);
	/* the order journal's power-loss sync runs here, on the cold thread
	 * (engine/journal.h note 2) */
	if (p->o.journal != NULL)
		(void)slob_journal_sync(p->o.journal, now_ns);
}

static void sink_record(void *ctx, const struct slob_cold *rec)
{
	struct slob_pipeline *p = ctx;
	/* the cold writer hands BREAKER records to no sink; risk leaves the
	 * trip/reset alert and log line to this path (P1-2, drill_p1_2_drawdown) */
	switch (rec->type) {
	case SLOB_COLD_BREAKER:
		slob_ops_sink_log(&p->ops, rec);
		slob_ops_sink_alert(&p->ops, rec);
		break;
	case SLOB_COLD_ORDER:
	case SLOB_COLD_FILL:
	case SLOB_COLD_TRADE:
	case SLOB_COLD_SETUP:
	case SLOB_COLD_DECISION:
		/* one trading.log line each (orderRef, fills, "SETUP FOUND", risk
		 * decisions): what the guide's greps look for */
		slob_ops_sink_log(&p->ops, rec);
		break;
	default:
		break;
	}
	if (p->o.stats == NULL)
		return;
	switch (rec->type) {
	case SLOB_COLD_RISK_STATE:
	case SLOB_COLD_BREAKER:
	case SLOB_COLD_CONN:
	case SLOB_COLD_POSITION:
	case SLOB_COLD_ACCOUNT: /* broker account figures (slobctl status, dashboard) */
		slob_stats_status_begin(p->o.stats);
		slob_stats_status_apply_cold(p->o.stats, rec);
		slob_stats_status_end(p->o.stats);
		break;
	default:
		break;
	}
}

/*
 * Operator commands (slobctl writes operator_commands; the cold writer polls
 * them): the vocabulary is slobctl's.
 */
static int sink_command(void *ctx, const struct slob_opcmd *cmd, char *result, size_t len)
{
	struct slob_pipeline *p = ctx;
	if (!strcmp(cmd->command, "kill-switch")) {
		bool on;
		char e[64];
		if (slob_parse_bool("kill-switch", cmd->arg, &on, e, sizeof(e)) < 0) {
			snprintf(result, len, "kill-switch: '%s' is not on/off", cmd->arg);
			return -EINVAL;
		}
		int rc = slob_risk_set_kill_switch(p->risk, on);
		if (p->o.stats) {
			slob_stats_status_begin(p->o.stats);
			p->o.stats->status->kill_switch = on;
			slob_stats_status_end(p->o.stats);
		}
		snprintf(result, len, "kill switch %s by %s", on ? "ON" : "OFF", cmd->who);
		return rc;
	}
	if (!strcmp(cmd->command, "reset-breaker")) {
		int rc = slob_risk_request_reset(p->risk, cmd->who, cmd->reason);
		snprintf(result, len, rc == 0 ? "breaker reset requested by %s: %s"
					      : "breaker reset refused (%s)",
			 rc == 0 ? cmd->who : strerror(-rc), cmd->reason);
		return rc;
	}
	snprintf(result, len, "unknown command '%s'", cmd->command);
	return -ENOENT;
}

/*
 * The ingest stage as the topology sees it: the replay reader, except that
 * once a stop was requested it publishes END on its rings (it is their
 * producer: this runs on the ingest thread) instead of reading on, so the
 * END flows through every stage, everything drains, and the store is
 * flushed. Ticks already parsed but not yet published are not replayed.
 */
static int ingest_wrap_poll(slob_stage_t *st)
{
	struct slob_pipeline *p = st->ctx;
	if (p->md) {
		if (!__atomic_load_n(&p->stop_requested, __ATOMIC_RELAXED)) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall */
			int w = slob_tws_md_poll(p->md, ts.tv_sec * 1000LL + ts.tv_nsec / 1000000);
			if (slob_unlikely(p->md->chk.rejected || p->md->chk.reanchors))
				slob_ingest_count_rejects(&p->md->chk, st->stats->reasons);
			return w;
		}
	} else {
		slob_stage_t *inner = slob_ingest_stage(&p->ingest);
		if (!__atomic_load_n(&p->stop_requested, __ATOMIC_RELAXED) ||
		    slob_ingest_done(&p->ingest))
			return inner->poll(inner);
	}
	struct slob_tick end = {.seq = (p->md ? p->md->seq : p->ingest.seq) + 1,
				.flags = SLOB_TICK_END};
	slob_ring_t *rings[2] = {slob_topo_ring(p->topo, "ticks"), slob_topo_ring(p->topo, "tap")};
	int work = 0;
	for (int i = 0; i < 2; i++) {
		if (rings[i] == NULL || p->end_pushed[i])
			continue;
		if (slob_ring_push_spsc(rings[i], &end)) {
			p->end_pushed[i] = 1;
			work++;
		}
	}
	return work;
}

static bool ingest_wrap_done(slob_stage_t *st)
{
	struct slob_pipeline *p = st->ctx;
	if (p->md == NULL && slob_ingest_done(&p->ingest))
		return true;
	return __atomic_load_n(&p->stop_requested, __ATOMIC_RELAXED) && p->end_pushed[0] &&
	       (p->end_pushed[1] || slob_topo_ring(p->topo, "tap") == NULL);
}

/*
 * The drill-only fault stage (incident P0-3, runaway signals): copies the
 * detector's output to risk and repeats every SETUP signal N times, as a
 * runaway detector would. Never in the pipeline unless [fault]
 * duplicate_setup is set.
 */
static int fault_poll(slob_stage_t *st)
{
	struct slob_pipeline *p = st->ctx;
	slob_ring_t *in = slob_topo_ring(p->topo, "sigs.raw");
	slob_ring_t *out = slob_topo_ring(p->topo, "sigs");
	int work = 0;
	for (;;) {
		const struct slob_sig *sg = slob_ring_peek_spsc(in, 0);
		if (sg == NULL)
			break;
		unsigned copies = sg->kind == SLOB_SIG_SETUP ? p->o.fault_dup_setups : 1;
		while (p->fault_sent < copies && slob_ring_push_spsc(out, sg))
			p->fault_sent++, work++;
		if (p->fault_sent < copies)
			break;
		p->fault_sent = 0;
		if (sg->kind == SLOB_SIG_END)
			p->fault_end = 1;
		slob_ring_release_spsc(in, 1);
		work++;
	}
	return work;
}

static bool fault_done(slob_stage_t *st)
{
	struct slob_pipeline *p = st->ctx;
	return p->fault_end;
}

/* ---- build --------------------------------------------------------------- */

static int fail(struct slob_pipeline *p, char *err, size_t errlen, int rc, const char *fmt, ...)
	SLOB_PRINTF(5, 6);
static int fail(struct slob_pipeline *p, char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	snprintf(p->err, sizeof(p->err), "%s", err);
	return rc;
}

/* Puts the drill-only "fault" stage on the detector's thread. */
static void layout_add_fault(char *layout, size_t len)
{
	char *d = strstr(layout, "detector");
	if (d == NULL || strlen(layout) + 7 >= len)
		return;
	d += strlen("detector");
	memmove(d + 6, d, strlen(d) + 1);
	memcpy(d, ",fault", 6);
}

static void choose_layout(struct slob_pipeline *p)
{
	const struct slob_pipeline_opts *o = &p->o;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	static const char *const waits[] = {"spin", "yield", "block"};
	const char *hw = waits[o->hot_wait], *cw = waits[o->cold_wait];
	if (o->layout == NULL || !strcasecmp(o->layout, "auto")) {
		if (ncpu >= 6 && o->pin) {
			snprintf(p->layout, sizeof(p->layout), "%s", slob_topo_default_layout((int)ncpu));
		} else if (ncpu >= 2) {
			snprintf(p->layout, sizeof(p->layout),
				 "hot=ingest,candles,detector,risk,sender@%s:%s;cold=cold@%s:%s",
				 o->pin ? "0" : "-", hw, o->pin ? "1" : "-", cw);
		} else {
			snprintf(p->layout, sizeof(p->layout),
				 "hot=ingest,candles,detector,risk,sender@-:yield;cold=cold@-:block");
		}
	} else if (!strcasecmp(o->layout, "single")) {
		snprintf(p->layout, sizeof(p->layout),
			 "main=ingest,candles,detector,risk,sender,cold@%s:%s", o->pin ? "0" : "-",
			 hw);
	} else {
		snprintf(p->layout, sizeof(p->layout), "%s", o->layout);
	}
}

static int declare(struct slob_pipeline *p, char *err, size_t errlen)
{
	struct slob_topology *t = p->topo;
	const struct slob_pipeline_opts *o = &p->o;
	static const char *const stages[] = {"ingest", "candles", "detector", "risk", "sender", "cold"};
	int rc = 0;
	slob_topo_init(t);
	for (unsigned i = 0; rc == 0 && i < SLOB_ARRAY_SIZE(stages); i++)
		rc = slob_topo_add_stage(t, stages[i], NULL);
	if (rc == 0 && o->fault_dup_setups)
		rc = slob_topo_add_stage(t, "fault", NULL);
	if (rc == 0)
		rc = slob_topo_add_ring(t, "ticks", o->tick_ring, sizeof(struct slob_tick), "ingest",
					"candles");
	if (rc == 0 && o->mode == SLOB_PIPE_REPLAY)
		rc = slob_topo_add_ring(t, "tap", o->tap_ring, sizeof(struct slob_tick), "ingest",
					"sender");
	if (rc == 0)
		rc = slob_topo_add_ring(t, "bars", o->ring, sizeof(struct slob_bar), "candles",
					"detector");
	if (rc == 0)
		rc = o->fault_dup_setups
			     ? slob_topo_add_ring(t, "sigs.raw", o->ring, sizeof(struct slob_sig),
						  "detector", "fault")
			     : slob_topo_add_ring(t, "sigs", o->ring, sizeof(struct slob_sig), "detector",
						  "risk");
	if (rc == 0 && o->fault_dup_setups)
		rc = slob_topo_add_ring(t, "sigs", o->ring, sizeof(struct slob_sig), "fault", "risk");
	if (rc == 0)
		rc = slob_topo_add_ring(t, "intents", o->ring, sizeof(struct slob_intent), "risk",
					"sender");
	if (rc == 0)
		rc = slob_topo_add_ring(t, "execs", o->ring, sizeof(struct slob_exec), "sender",
					"risk");
	static const char *const cold_prod[] = {"candles", "detector", "risk", "sender", "ingest"};
	for (unsigned i = 0; rc == 0 && i < SLOB_ARRAY_SIZE(cold_prod); i++)
		rc = slob_topo_add_ring(t, cold_names[i], o->cold_ring, sizeof(struct slob_cold),
					cold_prod[i], "cold");
	choose_layout(p);
	if (o->fault_dup_setups)
		layout_add_fault(p->layout, sizeof(p->layout));
	if (rc == 0)
		rc = slob_topo_parse_layout(t, p->layout);
	if (rc == 0)
		rc = slob_topo_validate(t);
	if (rc == 0)
		rc = slob_topo_create_rings(t);
	if (rc < 0)
		return fail(p, err, errlen, rc, "pipeline topology: %s", slob_topo_strerror(t));
	return 0;
}

static bool has_position_row(const struct slob_recovered *r, uint64_t setup_id)
{
	for (unsigned i = 0; i < r->npositions; i++)
		if (r->positions[i].setup_id == setup_id && r->positions[i].qty != 0)
			return true;
	return false;
}

static int restore_state(struct slob_pipeline *p, char *err, size_t errlen)
{
	const struct slob_recovered *r = p->o.recovered;
	if (r == NULL)
		return 0;
	struct slob_risk_snapshot *snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		return fail(p, err, errlen, -ENOMEM, "out of memory");
	int64_t cap = p->o.risk.initial_capital_cents;
	if (r->risk.present) {
		snap->equity_cents = r->risk.equity_cents;
		snap->peak_cents = r->risk.peak_cents;
		snap->daily_pnl_cents = r->risk.daily_pnl_cents;
		snap->trading_day = r->risk.trading_day;
		/* equity = cash (capital + realised) + unrealised: the unrealised
		 * part is re-marked at the first clock, so it must not be counted
		 * twice */
		snap->unrealised_cents = r->risk.equity_cents - (cap + r->risk.realised_cents);
		snap->breaker_tripped = r->risk.breaker_tripped;
		snap->breaker_reason = (uint16_t)r->risk.breaker_code;
		snap->broker_peak_cents = r->risk.broker_peak_cents;
	} else {
		snap->equity_cents = cap;
		snap->peak_cents = cap;
	}
	for (unsigned i = 0; i < r->npositions && snap->npositions < SLOB_RISK_SNAP_MAX_POS; i++) {
		const struct slob_rec_position *rp = &r->positions[i];
		if (rp->setup_id == 0 || rp->qty == 0)
			continue; /* aggregate rows are derived */
		struct slob_risk_pos_snap *ps = &snap->positions[snap->npositions++];
		ps->setup_id = rp->setup_id;
		ps->qty = rp->qty < 0 ? -rp->qty : rp->qty;
		ps->dir = rp->qty < 0 ? SLOB_SHORT : SLOB_LONG;
		ps->avg_px = rp->avg_px;
		ps->sl = rp->sl;
		ps->tp = rp->tp;
	}
	/* positions an operator added by hand (slobctl add-position, RUNBOOK
	 * P1-4 / P0-2): managed like any other once restored, unless a
	 * positions row already holds them */
	for (unsigned i = 0; i < r->nsetups && snap->npositions < SLOB_RISK_SNAP_MAX_POS; i++) {
		if (!slob_recovered_manual_position(r, i) || has_position_row(r, r->setups[i].id))
			continue;
		const struct slob_rec_setup *u = &r->setups[i];
		struct slob_risk_pos_snap *ps = &snap->positions[snap->npositions++];
		ps->setup_id = u->id;
		ps->entry_ns = u->created_ns;
		ps->qty = u->qty;
		ps->dir = u->dir;
		ps->avg_px = u->entry;
		ps->sl = u->sl;
		ps->tp = u->tp;
	}
	int rc = slob_risk_restore(p->risk, snap);
	free(snap);
	if (rc < 0)
		return fail(p, err, errlen, rc, "restoring risk state: %s", slob_risk_strerror());
	for (unsigned i = 0; i < r->nplaced; i++) {
		rc = slob_risk_preload_setup(p->risk, r->placed[i]);
		if (rc < 0)
			return fail(p, err, errlen, rc,
				    "preloading %u placed setups: idempotency set full "
				    "(raise risk.setup_capacity)", r->nplaced);
	}
	return 0;
}

/* Live: the order session becomes the sender's backend. It reconciles the
 * broker's orders, executions and positions with every order the store
 * knows (filled ones too: their executions must match by orderRef) before
 * any new order goes out. */
static int attach_broker(struct slob_pipeline *p, char *err, size_t errlen)
{
	const struct slob_recovered *r = p->o.recovered;
	size_t n = r ? r->norders : 0;
	int32_t position = 0;
	p->known = calloc(n ? n : 1, sizeof(*p->known));
	p->broker = calloc(1, sizeof(*p->broker));
	if (p->known == NULL || p->broker == NULL)
		return fail(p, err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct slob_rec_order *ro = &r->orders[i];
		struct slob_tws_known_order *k = &p->known[i];
		snprintf(k->order_ref, sizeof(k->order_ref), "%s", ro->order_ref);
		k->setup_id = ro->setup_id;
		k->order_id = ro->order_id;
		k->role = ro->role;
		k->open = ro->open;
		/* an entry BUY opens a LONG position; exits act against it */
		k->dir = (int8_t)(ro->role == SLOB_ROLE_ENTRY ? ro->dir : -ro->dir);
	}
	for (unsigned i = 0; r && i < r->npositions; i++)
		if (r->positions[i].setup_id != 0)
			position += r->positions[i].qty;
	for (unsigned i = 0; r && i < r->nsetups; i++)
		if (slob_recovered_manual_position(r, i) && !has_position_row(r, r->setups[i].id))
			position += r->setups[i].dir * r->setups[i].qty;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int rc = slob_tws_broker_init(p->broker, &p->o.tws, p->known, n, position,
				      &p->coldq[SLOB_PIPE_COLD_SENDER],
				      (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec);
	if (rc < 0)
		return fail(p, err, errlen, rc, "order session: %s", strerror(-rc));
	if (r != NULL)
		slob_tws_broker_set_store_execs(p->broker, r->exec_ids, r->nexec_ids);
	slob_tws_broker_attach(p->broker, &p->sender);
	return 0;
}

static void bind_stats(struct slob_pipeline *p, const char *name, slob_stage_t *st)
{
	if (p->o.stats == NULL)
		return;
	struct slob_stage_stats *s = slob_stats_stage_register(p->o.stats, name);
	if (s != NULL)
		st->stats = s;
}

int slob_pipeline_build(slob_pipeline_t **out, const struct slob_pipeline_opts *o, char *err,
			size_t errlen)
{
	struct slob_pipeline *p = calloc(1, sizeof(*p));
	int rc;
	char msg[256] = "";
	*out = NULL;
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->o = *o;
	p->topo = calloc(1, sizeof(*p->topo));
	if (p->topo == NULL) {
		rc = fail(p, err, errlen, -ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = declare(p, err, errlen)) < 0)
		goto out_free;

	/* cold queues, one per producing stage, plus the daemon's control ring */
	if ((rc = slob_ring_init(&p->control_ring, "cold.control", 1024, sizeof(struct slob_cold))) < 0) {
		rc = fail(p, err, errlen, rc, "%s", slob_ring_strerror());
		goto out_free;
	}
	slob_ring_t *cold_rings[SLOB_PIPE_COLD_N];
	for (unsigned i = 0; i < SLOB_PIPE_COLD_N; i++) {
		cold_rings[i] = i == SLOB_PIPE_COLD_CONTROL ? &p->control_ring
							    : slob_topo_ring(p->topo, cold_names[i]);
		if ((rc = slob_coldq_init(&p->coldq[i], cold_rings[i], (uint8_t)i)) < 0) {
			rc = fail(p, err, errlen, rc, "cold queue %s: out of memory", cold_names[i]);
			goto out_free;
		}
	}

	/* stages */
	struct slob_candles_params cp = o->candles;
	if (o->mode == SLOB_PIPE_LIVE) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
		p->md = calloc(1, sizeof(*p->md));
		if (p->md == NULL) {
			rc = fail(p, err, errlen, -ENOMEM, "out of memory");
			goto out_free;
		}
		if ((rc = slob_tws_md_init(p->md, &o->tws, slob_topo_ring(p->topo, "ticks"),
					   &p->coldq[SLOB_PIPE_COLD_INGEST], now_ns)) < 0) {
			rc = fail(p, err, errlen, rc, "market-data session: %s", strerror(-rc));
			goto out_free;
		}
		/* ticks against the receive clock; a simulator replaying history
		 * (replay-gw) has none: the replay's ordering rules instead */
		struct slob_tickcheck_params tc = o->ingest.check;
		if (!o->wall_clock_bars)
			tc.max_skew_ns = 0;
		slob_tws_md_set_check(p->md, &tc);
		/* its silence watch follows the exchange's hours and holidays */
		if ((rc = slob_tws_md_set_calendar(p->md, "America/New_York", o->risk.holiday_file,
						   msg, sizeof(msg))) < 0) {
			rc = fail(p, err, errlen, rc, "market-data session: %s", msg);
			goto out_free;
		}
		/* a quiet minute must not delay the detector; not against a
		 * simulator replaying history faster than the clock */
		if (o->wall_clock_bars)
			cp.timer_close = 1;
	} else {
		struct slob_ingest_params ip = o->ingest;
		if ((rc = slob_ingest_init(&p->ingest, &ip, slob_topo_ring(p->topo, "ticks"),
					   slob_topo_ring(p->topo, "tap"))) < 0) {
			rc = fail(p, err, errlen, rc, "ingest: %s", slob_ingest_error(&p->ingest));
			goto out_free;
		}
		p->ingest.cold = &p->coldq[SLOB_PIPE_COLD_INGEST];
	}
	if ((rc = slob_candles_init(&p->candles, &cp, slob_topo_ring(p->topo, "ticks"),
				    slob_topo_ring(p->topo, "bars"),
				    &p->coldq[SLOB_PIPE_COLD_CANDLES])) < 0) {
		rc = fail(p, err, errlen, rc, "candles: cannot initialise (%s)", strerror(-rc));
		goto out_free;
	}
	if ((rc = slob_detector_init(&p->det, &o->detector, &o->instrument, msg, sizeof(msg))) < 0) {
		rc = fail(p, err, errlen, rc, "detector: %s", msg);
		goto out_free;
	}
	if ((rc = slob_detector_stage_init(&p->det_stage, &p->det, slob_topo_ring(p->topo, "bars"),
					   slob_topo_ring(p->topo,
							  o->fault_dup_setups ? "sigs.raw" : "sigs"),
					   &p->coldq[SLOB_PIPE_COLD_DETECTOR])) < 0) {
		rc = fail(p, err, errlen, rc, "detector stage: %s", strerror(-rc));
		goto out_free;
	}
	/* the cold writer first: risk reads its store_healthy flag */
	p->ops.log = o->log;
	p->ops.alert = o->alert;
	p->ops.stats = o->stats;
	p->sinks = (struct slob_cold_sinks){.ctx = p, .log = sink_log, .alert = sink_alert,
					    .tick = sink_tick, .command = sink_command,
					    .record = sink_record};
	if ((rc = slob_cold_writer_create(o->store, cold_rings, SLOB_PIPE_COLD_N, &o->cold, &p->sinks,
					  &o->instrument, &p->cold)) < 0) {
		rc = fail(p, err, errlen, rc, "cold writer: %s", strerror(-rc));
		goto out_free;
	}
	struct slob_risk_params rp = o->risk;
	rp.wait_for_clock_ack = o->mode == SLOB_PIPE_REPLAY;
	struct slob_risk_io io = {
		.sig_in = slob_topo_ring(p->topo, "sigs"),
		.exec_in = slob_topo_ring(p->topo, "execs"),
		.intent_out = slob_topo_ring(p->topo, "intents"),
		.cold = &p->coldq[SLOB_PIPE_COLD_RISK],
		.store_healthy = slob_cold_store_healthy_ptr(p->cold),
		.instrument = o->instrument,
		/* the live order session reports the broker account; paper and
		 * replays have none and size from the configured capital */
		.account_feed = o->mode == SLOB_PIPE_LIVE,
	};
	if ((rc = slob_risk_create(&p->risk, &rp, &io, msg, sizeof(msg))) < 0) {
		rc = fail(p, err, errlen, rc, "risk: %s", msg);
		goto out_free;
	}
	slob_risk_stage_init(p->risk, &p->risk_stage);
	struct slob_sender_params sp = o->sender;
	sp.mode = o->mode == SLOB_PIPE_REPLAY ? SLOB_SENDER_PAPER : SLOB_SENDER_LIVE;
	if ((rc = slob_sender_init(&p->sender, &sp, slob_topo_ring(p->topo, "intents"),
				   slob_topo_ring(p->topo, "tap"), slob_topo_ring(p->topo, "execs"),
				   &p->coldq[SLOB_PIPE_COLD_SENDER], msg, sizeof(msg))) < 0) {
		rc = fail(p, err, errlen, rc, "sender: %s", msg);
		goto out_free;
	}
	slob_sender_set_journal(&p->sender, o->journal);
	if ((rc = restore_state(p, err, errlen)) < 0)
		goto out_free;
	if (o->mode == SLOB_PIPE_LIVE && (rc = attach_broker(p, err, errlen)) < 0)
		goto out_free;

	/* latency histogram: in the stats file when there is one */
	p->lat = o->stats ? slob_stats_hist_register(o->stats, "tick_to_order") : NULL;
	if (p->lat == NULL) {
		if (posix_memalign((void **)&p->lat_own, SLOB_CACHELINE, sizeof(slob_hist_t)) != 0) {
			rc = fail(p, err, errlen, -ENOMEM, "out of memory");
			goto out_free;
		}
		slob_hist_reset(p->lat_own);
		p->lat = p->lat_own;
	}
	slob_sender_set_hist(&p->sender, p->lat);

	struct {
		const char *name;
		slob_stage_t *st;
	} binds[] = {
		{"ingest", &p->ingest_wrap},
		{"candles", slob_candles_stage(&p->candles)},
		{"detector", slob_detector_stage(&p->det_stage)},
		{"risk", &p->risk_stage},
		{"sender", slob_sender_stage(&p->sender)},
		{"cold", slob_cold_stage(p->cold)},
	};
	p->ingest_wrap = (slob_stage_t){.name = "ingest", .poll = ingest_wrap_poll,
					.done = ingest_wrap_done, .ctx = p};
	if (o->fault_dup_setups) {
		p->fault = (slob_stage_t){.name = "fault", .poll = fault_poll, .done = fault_done,
					  .ctx = p};
		if ((rc = slob_topo_bind_stage(p->topo, "fault", &p->fault)) < 0) {
			rc = fail(p, err, errlen, rc, "pipeline: %s", slob_topo_strerror(p->topo));
			goto out_free;
		}
	}
	for (unsigned i = 0; i < SLOB_ARRAY_SIZE(binds); i++) {
		bind_stats(p, binds[i].name, binds[i].st);
		if ((rc = slob_topo_bind_stage(p->topo, binds[i].name, binds[i].st)) < 0) {
			rc = fail(p, err, errlen, rc, "pipeline: %s", slob_topo_strerror(p->topo));
			goto out_free;
		}
	}
	/* the reader counts into the wrapper's counters */
	p->ingest_wrap.stats = p->ingest_wrap.stats ? p->ingest_wrap.stats : &p->ingest_wrap.own_stats;
	slob_ingest_stage(&p->ingest)->stats = p->ingest_wrap.stats;
	if (o->stats) { /* rejected ticks by reason, named in the stats file */
		struct slob_stats_stage_slot *slot = slob_stats_stage_slot(o->stats, "ingest");
		for (unsigned i = 0; slot && i < SLOB_INGEST_R_N; i++)
			slob_stats_stage_reason_name(slot, i, slob_ingest_reason_name(i));
	}
	if (o->stats) {
		slob_stats_status_begin(o->stats);
		o->stats->status->mode =
			o->mode == SLOB_PIPE_LIVE ? SLOB_STATS_MODE_LIVE : SLOB_STATS_MODE_REPLAY;
		slob_stats_status_end(o->stats);
	}
	*out = p;
	return 0;
out_free:
	slob_pipeline_free(p);
	return rc;
}

/* ---- run ------------------------------------------------------------------ */

static bool thread_has_stage(const struct slob_topo_thread *th, const char *name)
{
	for (unsigned i = 0; i < th->nstages; i++)
		if (!strcmp(th->stages[i], name))
			return true;
	return false;
}

/*
 * The joiner: asks every thread to drain (a thread exits once all of its
 * stages report done: the replay's END has passed through), joins the hot
 * threads, then tells the cold writer that no producer will add records
 * and joins the cold thread, so the store holds everything.
 */
static void *joiner_main(void *arg)
{
	struct slob_pipeline *p = arg;
	struct slob_topology *t = p->topo;
	int first = 0;
	bool cold_alone = true;
	for (unsigned i = 0; i < t->nthreads; i++)
		if (thread_has_stage(&t->threads[i], "cold") && t->threads[i].nstages > 1)
			cold_alone = false;
	if (!cold_alone)
		slob_cold_writer_producers_finished(p->cold);
	for (unsigned i = 0; i < t->nthreads; i++)
		if (!thread_has_stage(&t->threads[i], "cold") || !cold_alone)
			slob_thread_stop(&t->threads[i].thr);
	for (unsigned i = 0; i < t->nthreads; i++) {
		if (thread_has_stage(&t->threads[i], "cold") && cold_alone)
			continue;
		int rc = slob_thread_join(&t->threads[i].thr);
		if (rc < 0 && first == 0)
			first = rc;
		if (rc < 0) /* a stage failed: nothing downstream will see END */
			for (unsigned k = 0; k < t->nthreads; k++)
				slob_thread_abort(&t->threads[k].thr);
	}
	p->t_hot_end = slob_mono_ns();
	if (cold_alone) {
		slob_cold_writer_producers_finished(p->cold);
		for (unsigned i = 0; i < t->nthreads; i++) {
			if (!thread_has_stage(&t->threads[i], "cold"))
				continue;
			slob_thread_stop(&t->threads[i].thr);
			int rc = slob_thread_join(&t->threads[i].thr);
			if (rc < 0 && first == 0)
				first = rc;
		}
	}
	p->t_end = slob_mono_ns();
	p->result = first;
	/* the reader's own words ("file:line: ...") when it is what failed */
	if (first < 0 && p->md == NULL && !p->err[0] && slob_ingest_error(&p->ingest)[0])
		snprintf(p->err, sizeof(p->err), "%s", slob_ingest_error(&p->ingest));
	__atomic_store_n(&p->finished, 1, __ATOMIC_RELEASE); /* partner: acquire in wait */
	return NULL;
}

int slob_pipeline_start(slob_pipeline_t *p, char *err, size_t errlen)
{
	p->t_start = slob_mono_ns();
	int rc = slob_topo_start(p->topo);
	if (rc < 0)
		return fail(p, err, errlen, rc, "starting threads: %s", slob_topo_strerror(p->topo));
	rc = pthread_create(&p->joiner, NULL, joiner_main, p);
	if (rc != 0) {
		slob_topo_abort(p->topo);
		return fail(p, err, errlen, -rc, "starting the joiner thread: %s", strerror(rc));
	}
	p->joiner_started = 1;
	return 0;
}

void slob_pipeline_request_stop(slob_pipeline_t *p)
{
	__atomic_store_n(&p->stop_requested, 1, __ATOMIC_RELAXED);
	/* a store that cannot write must not hold the stop: spill (cold.h note 6) */
	slob_cold_writer_stop_requested(p->cold);
}

/*
 * Ring fill, sampled by the waiting thread every 10 ms: the current fill of
 * each stage's input rings goes to the stats file, and the peak to the
 * stage's ring_fill_max (this sampler is that counter's only writer).
 */
static void sample_rings(struct slob_pipeline *p)
{
	struct slob_topology *t = p->topo;
	slob_stage_t *list[SLOB_TOPO_MAX_STAGES];
	unsigned n = 0;
	for (unsigned i = 0; i < t->nstages; i++) {
		slob_stage_t *st = t->stages[i].stage;
		if (st == NULL || st->stats == NULL)
			continue;
		uint64_t fill = 0;
		for (unsigned k = 0; k < st->ninputs; k++)
			if (st->inputs[k])
				fill += slob_ring_size(st->inputs[k]);
		if (fill > __atomic_load_n(&st->stats->ring_fill_max, __ATOMIC_RELAXED))
			__atomic_store_n(&st->stats->ring_fill_max, fill, __ATOMIC_RELAXED);
		list[n++] = st;
	}
	if (p->o.stats)
		slob_stats_sample_rings(p->o.stats, list, n);
}

int slob_pipeline_wait(slob_pipeline_t *p, void (*heartbeat)(void *), void *ctx)
{
	bool stop_forwarded = false;
	unsigned tick = 0;
	while (!__atomic_load_n(&p->finished, __ATOMIC_ACQUIRE)) { /* partner: joiner */
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		sample_rings(p);
		if (++tick % 10 != 0)
			continue;
		if (heartbeat)
			heartbeat(ctx);
		if (!stop_forwarded && __atomic_load_n(&p->stop_requested, __ATOMIC_RELAXED)) {
			stop_forwarded = true; /* ingest_wrap_poll ends the replay */
			for (unsigned i = 0; i < p->topo->nthreads; i++)
				slob_thread_wake(&p->topo->threads[i].thr);
		}
	}
	if (p->joiner_started) {
		pthread_join(p->joiner, NULL);
		p->joiner_started = 0;
	}
	return p->result;
}

int slob_pipeline_run_inline(slob_pipeline_t *p)
{
	p->t_start = slob_mono_ns();
	slob_cold_writer_producers_finished(p->cold);
	int rc = slob_topo_run_here(p->topo);
	p->t_end = p->t_hot_end = slob_mono_ns();
	p->result = rc;
	return rc;
}

/* ---- results ---------------------------------------------------------------- */

void slob_pipeline_summary(const slob_pipeline_t *p, struct slob_pipeline_summary *s)
{
	memset(s, 0, sizeof(*s));
	const struct slob_detector_stats *ds = &p->det.stats;
	/* ticks that reached the candle builder, without the END marker */
	const slob_stage_t *cs = slob_candles_stage((struct slob_candles *)&p->candles);
	s->ticks = cs->stats ? cs->stats->in : 0;
	if (s->ticks && slob_candles_done(&p->candles))
		s->ticks--;
	s->bars = ds->bars;
	s->setups_short = ds->completed[0];
	s->setups_long = ds->completed[1];
	s->setups = s->setups_short + s->setups_long;
	for (unsigned i = 0; i < SLOB_ARRAY_SIZE(ds->invalidated); i++)
		s->invalidated += ds->invalidated[i];
	s->live_candidates_peak = ds->live_peak;
	struct slob_risk_view v;
	slob_risk_get_view(p->risk, &v);
	s->brackets = v.brackets;
	s->fills = v.fills;
	s->trades = v.trades;
	s->realised_cents = v.realised_cents;
	s->equity_cents = v.equity_cents;
	s->decisions = p->risk_stage.stats ? p->risk_stage.stats->in : 0;
	s->dup_levels =
		p->risk_stage.stats ? p->risk_stage.stats->reasons[SLOB_RISK_DUPLICATE_LEVELS] : 0;
	struct slob_cold_counters cc;
	slob_cold_writer_counters(p->cold, &cc);
	s->cold_records = cc.records;
	for (unsigned i = 0; i < SLOB_PIPE_COLD_N; i++)
		s->cold_dropped += p->coldq[i].dropped;
	uint64_t parts[5] = {p->coldq[SLOB_PIPE_COLD_DETECTOR].digest,
			     p->coldq[SLOB_PIPE_COLD_RISK].digest,
			     p->coldq[SLOB_PIPE_COLD_SENDER].digest, slob_sender_digest(&p->sender),
			     s->setups};
	s->digest = XXH3_64bits(parts, sizeof(parts));
	s->flat_out = p->o.mode == SLOB_PIPE_REPLAY && p->o.ingest.pace == 0;
	s->seconds = (double)(p->t_end - p->t_start) / 1e9;
	s->hot_seconds = (double)((p->t_hot_end ? p->t_hot_end : p->t_end) - p->t_start) / 1e9;
	s->lat_count = slob_hist_count(p->lat);
	if (s->lat_count) {
		s->lat_p50 = slob_hist_percentile(p->lat, 50.0);
		s->lat_p99 = slob_hist_percentile(p->lat, 99.0);
		s->lat_p999 = slob_hist_percentile(p->lat, 99.9);
		s->lat_max = slob_hist_max(p->lat);
	}
	for (unsigned i = 0; i < p->topo->nstages; i++) {
		const slob_stage_t *st = p->topo->stages[i].stage;
		if (st && st->stats && st->stats->ring_fill_max > s->peak_ring_fill)
			s->peak_ring_fill = st->stats->ring_fill_max;
	}
	const struct slob_tickcheck *c = p->md ? &p->md->chk : slob_ingest_check(&p->ingest);
	s->rejected = slob_tickcheck_rejected(c);
	memcpy(s->rejected_by, c->rej, sizeof(s->rejected_by));
	s->reanchors = c->reanchors;
	if (c->have_first) {
		char why[160];
		slob_tickcheck_describe(c, slob_tick_nano(p->o.instrument.tick_size), why,
					sizeof(why));
		if (p->md)
			snprintf(s->first_rejected, sizeof(s->first_rejected), "live tick %llu: %s",
				 (unsigned long long)c->first_where, why);
		else if (p->ingest.fmt == SLOB_TICKFILE_BIN)
			snprintf(s->first_rejected, sizeof(s->first_rejected), "%s: record %llu: %s",
				 p->ingest.p.path, (unsigned long long)c->first_where, why);
		else
			snprintf(s->first_rejected, sizeof(s->first_rejected), "%s:%llu: %s",
				 p->ingest.p.path, (unsigned long long)c->first_where, why);
	}
}

/* "ts_forward 1, price_range 1" (reasons with a count), or "" */
static void rejected_list(const struct slob_pipeline_summary *s, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < SLOB_TICKREJ_N && n < len; i++) {
		if (s->rejected_by[i])
			n += (size_t)snprintf(buf + n, len - n, "%s%s %llu", n ? ", " : "",
					      slob_tickrej_name(i),
					      (unsigned long long)s->rejected_by[i]);
	}
}

static void money(char *buf, size_t len, int64_t cents)
{
	int64_t a = cents < 0 ? -cents : cents;
	snprintf(buf, len, "%s%lld.%02lld", cents < 0 ? "-" : "", (long long)(a / 100),
		 (long long)(a % 100));
}

/* A count as a JSON integer (jansson's json_int_t is signed 64-bit). */
static json_t *jcount(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* A real rounded to `decimals` places; printed with 15 significant digits
 * it reads back as the same number the fixed-point text gave. */
static json_t *jfixed(double v, int decimals)
{
	double f = pow(10.0, decimals);
	return json_real(isfinite(v) ? round(v * f) / f : 0.0);
}

/* --json: one object on one line, keys in this order (tests and scripts
 * parse it). pnl/equity are cents as a 2-place number, seconds 6 places,
 * rates whole numbers. */
static void summary_json(const struct slob_pipeline_summary *s, FILE *out, double tps, double hps)
{
	char dg[17];
	snprintf(dg, sizeof(dg), "%016llx", (unsigned long long)s->digest);
	json_t *o = json_object(), *lat = json_object(), *rb = json_object();
	struct {
		json_t *obj;
		const char *key;
		json_t *v;
	} f[] = {
	    {o, "ticks", jcount(s->ticks)},
	    {o, "bars", jcount(s->bars)},
	    {o, "setups", jcount(s->setups)},
	    {o, "setups_short", jcount(s->setups_short)},
	    {o, "setups_long", jcount(s->setups_long)},
	    {o, "invalidated", jcount(s->invalidated)},
	    {o, "orders", jcount(s->brackets)},
	    {o, "fills", jcount(s->fills)},
	    {o, "trades", jcount(s->trades)},
	    {o, "pnl", jfixed((double)s->realised_cents / 100.0, 2)},
	    {o, "equity", jfixed((double)s->equity_cents / 100.0, 2)},
	    {o, "digest", json_string(dg)},
	    {o, "seconds", jfixed(s->seconds, 6)},
	    {o, "ticks_per_s", json_integer((json_int_t)llround(tps))},
	    {o, "hot_seconds", jfixed(s->hot_seconds, 6)},
	    {o, "hot_ticks_per_s", json_integer((json_int_t)llround(hps))},
	    {lat, "count", jcount(s->lat_count)},
	    {lat, "p50", jcount(s->lat_p50)},
	    {lat, "p99", jcount(s->lat_p99)},
	    {lat, "p999", jcount(s->lat_p999)},
	    {lat, "max", jcount(s->lat_max)},
	    {o, "latency_ns", lat},
	    {o, "peak_ring_fill", jcount(s->peak_ring_fill)},
	    {o, "cold_records", jcount(s->cold_records)},
	    {o, "cold_dropped", jcount(s->cold_dropped)},
	    {o, "live_candidates_peak", jcount(s->live_candidates_peak)},
	    {o, "duplicate_levels", jcount(s->dup_levels)},
	    {o, "rejected_ticks", jcount(s->rejected)},
	    {o, "rejected_by", rb},
	    {o, "reanchors", jcount(s->reanchors)},
	};
	for (unsigned i = 0; i < SLOB_TICKREJ_N && rb; i++)
		json_object_set_new(rb, slob_tickrej_name(i), jcount(s->rejected_by[i]));
	bool ok = o && lat && rb;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (json_object_set_new(f[i].obj, f[i].key, f[i].v) < 0)
			ok = false;
	char *txt = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
		       : NULL;
	json_decref(o);
	fprintf(out, "%s\n", txt ? txt : "{\"error\":\"out of memory\"}");
	free(txt);
}

void slob_pipeline_summary_print(const struct slob_pipeline_summary *s,
				 const struct slob_instrument *in, FILE *out, bool json)
{
	char pnl[32], eq[32];
	money(pnl, sizeof(pnl), s->realised_cents);
	money(eq, sizeof(eq), s->equity_cents);
	double tps = s->seconds > 0 ? (double)s->ticks / s->seconds : 0.0;
	double hps = s->hot_seconds > 0 ? (double)s->ticks / s->hot_seconds : 0.0;
	char rej[320];
	rejected_list(s, rej, sizeof(rej));
	if (json) {
		summary_json(s, out, tps, hps);
		return;
	}
	fprintf(out, "slob replay summary (%s)\n", in->symbol);
	fprintf(out, "  ticks            %llu\n", (unsigned long long)s->ticks);
	if (s->rejected)
		fprintf(out, "  rejected ticks   %llu (%s; first: %s)\n", (unsigned long long)s->rejected,
			rej, s->first_rejected);
	else
		fprintf(out, "  rejected ticks   0\n");
	fprintf(out, "  M1 bars          %llu\n", (unsigned long long)s->bars);
	fprintf(out, "  setups found     %llu (short %llu, long %llu; %llu candidates invalidated)\n",
		(unsigned long long)s->setups, (unsigned long long)s->setups_short,
		(unsigned long long)s->setups_long, (unsigned long long)s->invalidated);
	fprintf(out, "  bracket orders   %llu\n", (unsigned long long)s->brackets);
	fprintf(out, "  duplicate levels %llu setups refused (a live bracket had the same levels)\n",
		(unsigned long long)s->dup_levels);
	fprintf(out, "  fills            %llu\n", (unsigned long long)s->fills);
	fprintf(out, "  closed trades    %llu\n", (unsigned long long)s->trades);
	fprintf(out, "  realised P&L     %s %s (equity %s)\n", pnl, in->currency, eq);
	fprintf(out, "  decision digest  %016llx\n", (unsigned long long)s->digest);
	fprintf(out, "  wall time        %.3f s (%.2f M ticks/s end to end, store drained)\n",
		s->seconds, tps / 1e6);
	fprintf(out, "  hot path         %.3f s (%.2f M ticks/s through ingest..sender)\n",
		s->hot_seconds, hps / 1e6);
	if (s->lat_count)
		fprintf(out,
			"  tick-to-order    p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us (%llu orders)\n",
			s->lat_p50 / 1e3, s->lat_p99 / 1e3, s->lat_p999 / 1e3, s->lat_max / 1e3,
			(unsigned long long)s->lat_count);
	if (s->lat_count && s->flat_out)
		fprintf(out, "                   (as fast as possible: a bar-closing tick waits behind the\n"
			     "                   ticks read ahead of it; --speed N paces the replay like live)\n");
	else
		fprintf(out, "  tick-to-order    no orders\n");
	fprintf(out, "  store            %llu records committed, %llu informational dropped\n",
		(unsigned long long)s->cold_records, (unsigned long long)s->cold_dropped);
}

int slob_pipeline_control_put(slob_pipeline_t *p, struct slob_cold *rec)
{
	struct slob_coldq *q = &p->coldq[SLOB_PIPE_COLD_CONTROL];
	slob_coldq_flush(q);
	return slob_coldq_put(q, rec) ? 0 : -ENOSPC;
}

unsigned slob_pipeline_control_room(slob_pipeline_t *p)
{
	return slob_ring_capacity(&p->control_ring) - slob_ring_size(&p->control_ring);
}

slob_risk_t *slob_pipeline_risk(slob_pipeline_t *p)
{
	return p->risk;
}

struct slob_topology *slob_pipeline_topology(slob_pipeline_t *p)
{
	return p->topo;
}

const char *slob_pipeline_error(const slob_pipeline_t *p)
{
	return p->err;
}

void slob_pipeline_free(slob_pipeline_t *p)
{
	if (p == NULL)
		return;
	if (p->joiner_started) {
		slob_topo_abort(p->topo);
		pthread_join(p->joiner, NULL);
	}
	if (p->topo)
		slob_topo_destroy(p->topo);
	slob_sender_destroy(&p->sender);
	if (p->broker)
		slob_tws_broker_destroy(p->broker);
	free(p->broker);
	free(p->known);
	if (p->md)
		slob_tws_md_destroy(p->md);
	free(p->md);
	slob_risk_free(p->risk);
	slob_cold_writer_free(p->cold);
	slob_detector_stage_destroy(&p->det_stage);
	slob_detector_destroy(&p->det);
	if (p->md == NULL)
		slob_ingest_destroy(&p->ingest);
	for (unsigned i = 0; i < SLOB_PIPE_COLD_N; i++)
		slob_coldq_destroy(&p->coldq[i]);
	slob_ring_destroy(&p->control_ring);
	free(p->lat_own);
	free(p->topo);
	free(p);
}
