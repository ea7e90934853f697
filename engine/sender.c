/* SPDX-License-Identifier: MIT */
/*
 * sender.c: the sender stage (see sender.h for the design notes). Paper mode
 * drives engine/paper.c from the tick tap under the clock protocol; live mode
 * hands brackets to a backend and holds them until reconciliation is done.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "engine/hist.h"
#include "engine/journal.h"
#include "engine/sender.h"

SLOB_RING_TYPED(sender_intent, struct slob_intent)
SLOB_RING_TYPED(sender_tick, struct slob_tick)
SLOB_RING_TYPED(sender_exec, struct slob_exec)

/* ---- parameters -------------------------------------------------------- */

void slob_sender_params_default(struct slob_sender_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = SLOB_SENDER_PAPER;
	p->max_brackets = 64;
	p->pending_max = 16;
	p->batch = 64;
	p->first_order_id = 1;
}

static int parse_u32(const char *key, const char *v, uint32_t lo, uint32_t hi, uint32_t *out,
		     char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || end == v || *end != '\0' || v[0] == '-' || x < lo || x > hi) {
		snprintf(err, errlen, "sender.%s: '%s' is not an integer in %" PRIu32 "..%" PRIu32,
			 key, v, lo, hi);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

int slob_sender_param_set(struct slob_sender_params *p, const char *key, const char *value,
			  char *err, size_t errlen)
{
	if (strcmp(key, "mode") == 0) {
		if (strcmp(value, "paper") == 0)
			p->mode = SLOB_SENDER_PAPER;
		else if (strcmp(value, "live") == 0)
			p->mode = SLOB_SENDER_LIVE;
		else {
			snprintf(err, errlen, "sender.mode: '%s' is not one of paper, live", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "max_brackets") == 0)
		return parse_u32(key, value, 1, 4096, &p->max_brackets, err, errlen);
	if (strcmp(key, "pending_max") == 0)
		return parse_u32(key, value, 1, 1024, &p->pending_max, err, errlen);
	if (strcmp(key, "batch") == 0)
		return parse_u32(key, value, 1, 4096, &p->batch, err, errlen);
	if (strcmp(key, "first_order_id") == 0) {
		char *end;
		errno = 0;
		long long x = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0' || x < 1 || x > INT64_MAX / 2) {
			snprintf(err, errlen,
				 "sender.first_order_id: '%s' is not an integer in 1..%" PRId64,
				 value, INT64_MAX / 2);
			return -EINVAL;
		}
		p->first_order_id = x;
		return 0;
	}
	snprintf(err, errlen, "sender: unknown key '%s'", key);
	return -ENOENT;
}

int slob_sender_params_validate(const struct slob_sender_params *p, char *err, size_t errlen)
{
	if (p->mode != SLOB_SENDER_PAPER && p->mode != SLOB_SENDER_LIVE) {
		snprintf(err, errlen, "sender.mode: must be paper or live");
		return -EINVAL;
	}
	if (p->max_brackets < 1 || p->max_brackets > 4096) {
		snprintf(err, errlen, "sender.max_brackets: %" PRIu32 " not in 1..4096",
			 p->max_brackets);
		return -EINVAL;
	}
	if (p->pending_max < 1 || p->pending_max > 1024) {
		snprintf(err, errlen, "sender.pending_max: %" PRIu32 " not in 1..1024",
			 p->pending_max);
		return -EINVAL;
	}
	if (p->batch < 1 || p->batch > 4096) {
		snprintf(err, errlen, "sender.batch: %" PRIu32 " not in 1..4096", p->batch);
		return -EINVAL;
	}
	if (p->first_order_id < 1) {
		snprintf(err, errlen, "sender.first_order_id: %" PRId64 " must be >= 1",
			 p->first_order_id);
		return -EINVAL;
	}
	return 0;
}

/* ---- set-up ------------------------------------------------------------ */

static int stage_poll(struct slob_stage *st)
{
	return slob_sender_poll(st->ctx);
}

static bool stage_done(struct slob_stage *st)
{
	return slob_sender_done(st->ctx);
}

static uint32_t pow2_at_least(uint32_t x)
{
	uint32_t n = 1;
	while (n < x)
		n <<= 1;
	return n;
}

int slob_sender_init(struct slob_sender *s, const struct slob_sender_params *prm,
		     slob_ring_t *intents_in, slob_ring_t *tap_in, slob_ring_t *exec_out,
		     struct slob_coldq *cold, char *err, size_t errlen)
{
	char dummy[8];
	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	memset(s, 0, sizeof(*s));
	int rc = slob_sender_params_validate(prm, err, errlen);
	if (rc)
		return rc;
	if (intents_in == NULL || intents_in->rec_size != sizeof(struct slob_intent)) {
		snprintf(err, errlen, "sender: intent ring missing or record size != %zu",
			 sizeof(struct slob_intent));
		return -EINVAL;
	}
	if (exec_out == NULL || exec_out->rec_size != sizeof(struct slob_exec)) {
		snprintf(err, errlen, "sender: exec ring missing or record size != %zu",
			 sizeof(struct slob_exec));
		return -EINVAL;
	}
	if (prm->mode == SLOB_SENDER_PAPER &&
	    (tap_in == NULL || tap_in->rec_size != sizeof(struct slob_tick))) {
		snprintf(err, errlen, "sender: paper mode needs a tick tap ring of %zu-byte records",
			 sizeof(struct slob_tick));
		return -EINVAL;
	}
	if (tap_in != NULL && tap_in->rec_size != sizeof(struct slob_tick)) {
		snprintf(err, errlen, "sender: tap ring record size != %zu", sizeof(struct slob_tick));
		return -EINVAL;
	}
	s->prm = *prm;
	s->intents = intents_in;
	/* live mode: a tap, if given, is only drained (ingest must never block on it) */
	s->tap = tap_in;
	s->exec_out = exec_out;
	s->cold = cold;
	s->next_id = prm->first_order_id;
	s->reconciled = prm->mode == SLOB_SENDER_PAPER;
	uint32_t qcap = pow2_at_least(4 * prm->max_brackets + 16);
	s->outq = calloc(qcap, sizeof(*s->outq));
	s->pending = calloc(pow2_at_least(prm->pending_max), sizeof(*s->pending));
	if (s->outq == NULL || s->pending == NULL) {
		snprintf(err, errlen, "sender: out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	s->outq_mask = qcap - 1;
	slob_prefault(s->outq, (unsigned long)qcap * sizeof(*s->outq));
	slob_prefault(s->pending,
		      (unsigned long)pow2_at_least(prm->pending_max) * sizeof(*s->pending));
	if (prm->mode == SLOB_SENDER_PAPER) {
		rc = slob_paper_init(&s->paper, prm->max_brackets);
		if (rc) {
			snprintf(err, errlen, "sender: paper broker init failed (%d)", rc);
			goto fail;
		}
	}
	s->stage.name = "sender";
	s->stage.poll = stage_poll;
	s->stage.done = stage_done;
	s->stage.ctx = s;
	s->stage.stats = &s->stage.own_stats;
	return 0;
fail:
	slob_sender_destroy(s);
	return rc;
}

void slob_sender_destroy(struct slob_sender *s)
{
	if (s == NULL)
		return;
	slob_paper_destroy(&s->paper);
	free(s->outq);
	free(s->pending);
	s->outq = NULL;
	s->pending = NULL;
}

slob_stage_t *slob_sender_stage(struct slob_sender *s)
{
	return &s->stage;
}

void slob_sender_set_backend(struct slob_sender *s, const struct slob_sender_backend *be)
{
	s->be = *be;
}

uint64_t slob_sender_digest(const struct slob_sender *s)
{
	return s->digest;
}

/* ---- reports ----------------------------------------------------------- */

static uint32_t outq_len(const struct slob_sender *s)
{
	return s->outq_tail - s->outq_head;
}

static uint32_t outq_free(const struct slob_sender *s)
{
	return s->outq_mask + 1 - outq_len(s);
}

static void cold_put(struct slob_sender *s, struct slob_cold *rec)
{
	if (s->cold != NULL && !slob_coldq_put(s->cold, rec))
		s->fatal = true; /* TRADE overflow full: never silently lost (coldrec.h) */
}

/* Appends v in decimal at dst[k] (leaving room for a NUL in cap); returns the
 * new length. No printf on the hot path. */
static int put_dec(char *dst, int k, int cap, int64_t v)
{
	char digits[20];
	int nd = 0;
	do {
		digits[nd++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v > 0 && nd < 20);
	while (nd > 0 && k < cap - 2)
		dst[k++] = digits[--nd];
	return k;
}

/* SLOB_COLD_ORDER for a status change, SLOB_COLD_FILL for a fill. */
static void record_cold(struct slob_sender *s, const struct slob_exec *ex, int64_t parent_id,
			int32_t order_px, int8_t action)
{
	struct slob_cold rec;
	memset(&rec, 0, sizeof(rec));
	rec.cls = SLOB_CLASS_TRADE;
	rec.ts_ns = ex->ts_ns;
	if (ex->kind == SLOB_EXEC_FILL) {
		rec.type = SLOB_COLD_FILL;
		rec.u.fill.setup_id = ex->setup_id;
		rec.u.fill.order_id = ex->order_id;
		rec.u.fill.qty = ex->qty;
		rec.u.fill.px = ex->px;
		rec.u.fill.dir = action;
		rec.u.fill.role = ex->role;
		slob_strlcpy(rec.u.fill.order_ref, sizeof(rec.u.fill.order_ref), ex->order_ref);
		/* exec id: from the broker (live) or "P<run>-<order id>" (paper;
		 * the run id keeps it unique across runs into one store) */
		if (ex->text[0] != '\0')
			slob_strlcpy(rec.u.fill.exec_id, sizeof(rec.u.fill.exec_id), ex->text);
		else {
			int k = 0;
			rec.u.fill.exec_id[k++] = 'P';
			if (s->prm.run_id > 0) {
				k = put_dec(rec.u.fill.exec_id, k, (int)sizeof(rec.u.fill.exec_id),
					    s->prm.run_id);
				rec.u.fill.exec_id[k++] = '-';
			}
			k = put_dec(rec.u.fill.exec_id, k, (int)sizeof(rec.u.fill.exec_id),
				    ex->order_id < 0 ? 0 : ex->order_id);
			rec.u.fill.exec_id[k] = '\0';
		}
		cold_put(s, &rec);
		/* the order's status changes too */
	}
	memset(&rec.u, 0, sizeof(rec.u));
	rec.type = SLOB_COLD_ORDER;
	rec.u.order.setup_id = ex->setup_id;
	rec.u.order.order_id = ex->order_id;
	rec.u.order.parent_id = parent_id;
	rec.u.order.qty = ex->qty;
	rec.u.order.px = order_px;
	rec.u.order.dir = action;
	rec.u.order.role = ex->role;
	rec.u.order.status = (uint8_t)ex->kind;
	rec.u.order.code = ex->code;
	slob_strlcpy(rec.u.order.order_ref, sizeof(rec.u.order.order_ref), ex->order_ref);
	slob_strlcpy(rec.u.order.text, sizeof(rec.u.order.text), ex->text);
	/* position-level reports (reconciliation: "position matches store",
	 * position mismatch) carry no order: no orders row (the store refused
	 * them for the missing order_ref); still alerted below */
	if (ex->order_ref[0] != '\0')
		cold_put(s, &rec);
	if (ex->kind == SLOB_EXEC_REJECTED || ex->kind == SLOB_EXEC_UNKNOWN) {
		char msg[160];
		size_t n = 0;
		const char *head = ex->kind == SLOB_EXEC_REJECTED ? "order rejected " : "unknown at broker ";
		const char *parts[4] = {head, ex->order_ref, ": ", ex->text};
		for (int i = 0; i < 4; i++) {
			size_t l = strnlen(parts[i], sizeof(msg) - 1 - n);
			memcpy(msg + n, parts[i], l);
			n += l;
		}
		msg[n] = '\0';
		slob_cold_text_init(&rec, SLOB_COLD_ALERT,
				    ex->kind == SLOB_EXEC_UNKNOWN ? SLOB_LVL_CRITICAL : SLOB_LVL_ERROR,
				    ex->ts_ns, "sender", ex->code, msg);
		cold_put(s, &rec);
	}
}

static void queue_exec(struct slob_sender *s, const struct slob_exec *ex)
{
	/* capacity argument: design note 2 */
	s->outq[s->outq_tail++ & s->outq_mask] = *ex;
}

static int flush_outq(struct slob_sender *s)
{
	int n = 0;
	while (s->outq_head != s->outq_tail) {
		if (!sender_exec_push(s->exec_out, &s->outq[s->outq_head & s->outq_mask])) {
			s->stage.stats->backpressure++;
			break;
		}
		s->outq_head++;
		n++;
	}
	s->stage.stats->out += (uint64_t)n;
	return n;
}

int slob_sender_report(struct slob_sender *s, const struct slob_exec *ex)
{
	if (outq_free(s) == 0)
		return -ENOBUFS;
	struct slob_exec e = *ex;
	if (e.recv_ns == 0)
		e.recv_ns = slob_mono_ns();
	queue_exec(s, &e);
	switch (e.kind) {
	case SLOB_EXEC_FILL:
		s->n_fills++;
		break;
	case SLOB_EXEC_REJECTED:
		s->n_rejects++;
		break;
	case SLOB_EXEC_CANCELLED:
		s->n_cancels++;
		break;
	default:
		break;
	}
	if (e.kind != SLOB_EXEC_CLOCK_ACK && e.kind != SLOB_EXEC_CONN && e.kind != SLOB_EXEC_ACCOUNT)
		record_cold(s, &e, 0, e.px,
			    (int8_t)(e.role == SLOB_ROLE_ENTRY ? e.dir : -e.dir));
	return 0;
}

static void exec_from_order(struct slob_exec *ex, uint32_t kind, const struct slob_paper_order *o)
{
	memset(ex, 0, sizeof(*ex));
	ex->kind = kind;
	ex->role = o->role;
	ex->dir = o->dir;
	ex->setup_id = o->setup_id;
	ex->order_id = o->id;
	ex->qty = o->qty;
	ex->px = o->px;
	slob_strlcpy(ex->order_ref, sizeof(ex->order_ref), o->order_ref);
}

/* Paper broker callback: a fill or a cancel. */
static void on_paper_event(void *ctx, const struct slob_paper_event *ev)
{
	struct slob_sender *s = ctx;
	struct slob_exec ex;
	exec_from_order(&ex, ev->kind, ev->order);
	ex.ts_ns = ev->ts_ns;
	ex.recv_ns = slob_mono_ns();
	ex.px = ev->px;
	queue_exec(s, &ex);
	if (ev->kind == SLOB_EXEC_FILL) {
		s->n_fills++;
		struct {
			uint64_t setup_id;
			int64_t order_id;
			int64_t ts_ns;
			uint64_t seq;
			int32_t qty, px;
			uint32_t role, pad;
		} d = {ex.setup_id, ex.order_id, ex.ts_ns, ev->seq, ex.qty, ex.px, ex.role, 0};
		s->digest = XXH3_64bits_withSeed(&d, sizeof(d), s->digest);
	} else {
		s->n_cancels++;
	}
	record_cold(s, &ex, ev->order->parent_id, ev->order->px, ev->order->action);
}

/* ---- intents ------------------------------------------------------------ */

static void reject_intent(struct slob_sender *s, const struct slob_intent *in, int32_t code,
			  const char *why)
{
	struct slob_exec ex;
	memset(&ex, 0, sizeof(ex));
	ex.kind = SLOB_EXEC_REJECTED;
	ex.role = SLOB_ROLE_ENTRY;
	ex.dir = in->dir;
	ex.setup_id = in->setup_id;
	ex.ts_ns = in->ts_ns;
	ex.recv_ns = slob_mono_ns();
	ex.qty = in->qty;
	ex.px = in->entry;
	ex.code = code;
	slob_strlcpy(ex.order_ref, sizeof(ex.order_ref), in->order_ref);
	slob_strlcpy(ex.text, sizeof(ex.text), why);
	queue_exec(s, &ex);
	s->n_rejects++;
	record_cold(s, &ex, 0, in->entry, in->dir);
}

static void record_latency(struct slob_sender *s, const struct slob_intent *in, int64_t now)
{
	if (in->recv_ns <= 0)
		return;
	int64_t lat = now - in->recv_ns;
	s->lat_last_ns = lat;
	if (lat > s->lat_max_ns)
		s->lat_max_ns = lat;
	s->lat_sum_ns += lat;
	s->lat_count++;
	if (s->hist != NULL)
		slob_hist_record(s->hist, lat);
}

static void place(struct slob_sender *s, const struct slob_intent *in)
{
	int64_t id = s->next_id;
	int rc;
	/* design note 6: on record before it is on the wire */
	if (s->journal != NULL && slob_journal_append(s->journal, SLOB_JOURNAL_BRACKET, in, id) < 0) {
		reject_intent(s, in, -ENOSPC, "order journal full: bracket not sent (restart compacts it)");
		return;
	}
	if (s->prm.mode == SLOB_SENDER_PAPER) {
		/* the decision was triggered by tick clock_seq + 1 (the first tick of
		 * the next bar closed the bar): like a live order, this bracket can
		 * only trade on ticks after that one */
		rc = slob_paper_place_bracket(&s->paper, in, id,
					      s->clock_seq ? s->clock_seq + 1 : 0);
	} else if (s->be.place != NULL) {
		rc = s->be.place(s->be.ctx, in, id);
	} else {
		rc = -ENOTCONN;
	}
	if (rc < 0) {
		const char *why = rc == -ENOSPC    ? "too many live brackets"
				  : rc == -EEXIST  ? "duplicate bracket for setup"
				  : rc == -EINVAL  ? "invalid bracket (qty, dir or prices)"
				  : rc == -ENOTCONN ? "no broker connection"
						    : "broker refused bracket";
		if (s->journal != NULL)
			(void)slob_journal_append(s->journal, SLOB_JOURNAL_REFUSED, in, id);
		reject_intent(s, in, rc, why);
		return;
	}
	s->next_id += 3;
	int64_t now = slob_mono_ns();
	record_latency(s, in, now);
	if (s->prm.mode != SLOB_SENDER_PAPER)
		return; /* live: SUBMITTED comes from the broker's orderStatus */
	const struct slob_paper_bracket *b = slob_paper_find(&s->paper, in->setup_id);
	for (int r = 0; r < 3; r++) {
		struct slob_exec ex;
		exec_from_order(&ex, SLOB_EXEC_SUBMITTED, &b->o[r]);
		ex.ts_ns = in->ts_ns;
		ex.recv_ns = now;
		queue_exec(s, &ex);
		s->n_submitted++;
		record_cold(s, &ex, b->o[r].parent_id, b->o[r].px, b->o[r].action);
	}
}

static void cancel(struct slob_sender *s, const struct slob_intent *in)
{
	/* an intent still waiting for reconciliation is simply withdrawn */
	for (uint32_t i = s->pend_head; i != s->pend_tail; i++) {
		struct slob_intent *p = &s->pending[i & (pow2_at_least(s->prm.pending_max) - 1)];
		if (p->kind == SLOB_INTENT_BRACKET && p->setup_id == in->setup_id) {
			p->kind = SLOB_INTENT_CANCEL; /* tombstone */
			struct slob_exec ex;
			memset(&ex, 0, sizeof(ex));
			ex.kind = SLOB_EXEC_CANCELLED;
			ex.dir = p->dir;
			ex.setup_id = p->setup_id;
			ex.ts_ns = in->ts_ns;
			ex.recv_ns = slob_mono_ns();
			slob_strlcpy(ex.order_ref, sizeof(ex.order_ref), p->order_ref);
			slob_strlcpy(ex.text, sizeof(ex.text), "withdrawn before sending");
			queue_exec(s, &ex);
			s->n_cancels++;
			return;
		}
	}
	if (s->prm.mode == SLOB_SENDER_PAPER)
		(void)slob_paper_cancel_setup(&s->paper, in->setup_id, in->ts_ns, on_paper_event, s);
	else if (s->be.cancel != NULL)
		(void)s->be.cancel(s->be.ctx, in->setup_id);
}

static void flatten(struct slob_sender *s, const struct slob_intent *in)
{
	int rc = 0;
	/* paper: the market order trades on the ticks after the deciding bar */
	if (s->prm.mode == SLOB_SENDER_PAPER)
		(void)slob_paper_flatten(&s->paper, in->setup_id,
					 in->clock_seq ? in->clock_seq + 1 : s->clock_seq + 1,
					 in->ts_ns, on_paper_event, s);
	else if (s->be.flatten != NULL)
		rc = s->be.flatten(s->be.ctx, in);
	else
		rc = -ENOTSUP;
	if (rc < 0) {
		/* not retried: the position keeps its stop and target; say so */
		struct slob_cold rec;
		char msg[160];
		size_t n = 0;
		/* say what happened: only a send that failed keeps the stop known */
		const char *why = rc == -ENOTCONN ? " (no broker connection)"
				: rc == -ENOENT	  ? " (this session tracks no stop order for it)"
				: rc == -ENOTSUP  ? " (the broker backend cannot flatten)"
				: rc == -EINVAL	  ? " (no quantity or direction to close)"
						  : " (the order could not be written to the broker)";
		const char *parts[4] = {"session-end flatten not sent for ", in->order_ref, why,
					rc == -ENOENT
					    ? ": check the position and its stop at the broker"
					    : ": the position keeps its stop and target"};
		for (int i = 0; i < 4; i++) { /* no printf on the sender thread */
			size_t l = strnlen(parts[i], sizeof(msg) - 1 - n);
			memcpy(msg + n, parts[i], l);
			n += l;
		}
		msg[n] = '\0';
		slob_cold_text_init(&rec, SLOB_COLD_ALERT, SLOB_LVL_ERROR, in->ts_ns, "sender", 0,
				    msg);
		cold_put(s, &rec);
	}
}

static void ack(struct slob_sender *s, uint64_t seq, int64_t ts_ns)
{
	struct slob_exec ex;
	memset(&ex, 0, sizeof(ex));
	ex.kind = SLOB_EXEC_CLOCK_ACK;
	ex.clock_seq = seq;
	ex.ts_ns = ts_ns;
	queue_exec(s, &ex);
}

/*
 * Matches tap ticks with seq <= upto. Returns true once every such tick was
 * seen (or the tap ended), false if the tap has not delivered them yet.
 * Stops early (returning false) when the output queue runs low.
 */
static bool drain_tap(struct slob_sender *s, uint64_t upto, int *work)
{
	if (s->tap == NULL || s->prm.mode != SLOB_SENDER_PAPER)
		return true;
	/*
	 * Ticks are read in place and released once at the end: a bar's worth
	 * of ticks (often a hundred) is drained while the clock waits, so one
	 * index store per tick was most of the clock's round trip.
	 */
	unsigned n = 0;
	bool caught_up = true;
	for (;;) {
		if (s->tap_end || s->tap_seq >= upto)
			break;
		if (outq_free(s) < 3 * s->prm.max_brackets + 4) {
			caught_up = false;
			break;
		}
		const struct slob_tick *t = sender_tick_peek(s->tap, n);
		if (t == NULL) {
			caught_up = false;
			break;
		}
		if (t->flags & SLOB_TICK_END) {
			s->tap_end = true;
			n++;
			break;
		}
		if (t->seq > upto)
			break; /* gap in seq: everything <= upto has passed */
		if (s->paper.nactive > 0)
			*work += slob_paper_on_tick(&s->paper, t, on_paper_event, s);
		s->tap_seq = t->seq;
		s->n_ticks++;
		n++;
	}
	if (n) {
		slob_ring_release_spsc(s->tap, n);
		*work += (int)n;
	}
	return caught_up;
}

/* After END: throw away the rest of the tap so ingest can finish. */
static void discard_tap(struct slob_sender *s, int *work)
{
	const struct slob_tick *t;
	while (s->tap != NULL && !s->tap_end && (t = sender_tick_peek(s->tap, 0)) != NULL) {
		if (t->flags & SLOB_TICK_END)
			s->tap_end = true;
		slob_ring_release_spsc(s->tap, 1);
		(*work)++;
	}
}

static void release_pending(struct slob_sender *s, int *work)
{
	uint32_t mask = pow2_at_least(s->prm.pending_max) - 1;
	while (s->pend_head != s->pend_tail && outq_free(s) >= 4) {
		struct slob_intent *in = &s->pending[s->pend_head & mask];
		if (in->kind == SLOB_INTENT_BRACKET)
			place(s, in);
		s->pend_head++;
		(*work)++;
	}
}

int slob_sender_poll(struct slob_sender *s)
{
	int work = 0;
	struct slob_stage_stats *st = s->stage.stats;
	st->polls++;
	if (slob_unlikely(s->fatal)) {
		st->errors++;
		return -ENOSPC;
	}
	if (s->cold != NULL && slob_coldq_backlogged(s->cold))
		slob_coldq_flush(s->cold);
	work += flush_outq(s);
	if (s->prm.mode == SLOB_SENDER_LIVE && s->be.pump != NULL)
		work += s->be.pump(s->be.ctx, s);
	if (s->reconciled && s->pend_head != s->pend_tail)
		release_pending(s, &work);
	if (s->end_seen || s->prm.mode != SLOB_SENDER_PAPER)
		discard_tap(s, &work);
	for (uint32_t i = 0; i < s->prm.batch && !s->end_seen; i++) {
		if (outq_len(s) != 0) {
			work += flush_outq(s);
			if (outq_len(s) != 0)
				break; /* backpressure: exec ring full */
		}
		const struct slob_intent *in = sender_intent_peek(s->intents, 0);
		if (in == NULL)
			break;
		switch (in->kind) {
		case SLOB_INTENT_BRACKET:
			if (!s->reconciled || s->pend_head != s->pend_tail) {
				/* design: never sent before reconciliation; FIFO order kept */
				uint32_t cap = pow2_at_least(s->prm.pending_max);
				if (s->pend_tail - s->pend_head >= s->prm.pending_max) {
					s->n_pending_dropped++;
					reject_intent(s, in, -ENOBUFS,
						      "waiting for reconciliation: queue full");
				} else {
					s->pending[s->pend_tail++ & (cap - 1)] = *in;
				}
			} else {
				place(s, in);
			}
			break;
		case SLOB_INTENT_CANCEL:
			cancel(s, in);
			break;
		case SLOB_INTENT_FLATTEN:
			flatten(s, in);
			break;
		case SLOB_INTENT_CLOCK:
			if (!drain_tap(s, in->clock_seq, &work))
				goto out; /* tap behind the clock: keep the clock */
			if (in->clock_seq > s->clock_seq)
				s->clock_seq = in->clock_seq;
			s->n_clocks++;
			ack(s, in->clock_seq, in->ts_ns);
			break;
		case SLOB_INTENT_END:
			ack(s, in->clock_seq, in->ts_ns);
			s->end_seen = true;
			break;
		default:
			st->errors++;
			break;
		}
		slob_ring_release_spsc(s->intents, 1);
		st->in++;
		work++;
	}
out:
	work += flush_outq(s);
	if (s->end_seen)
		discard_tap(s, &work);
	if (work == 0) {
		st->idle_polls++;
		if (s->journal != NULL)
			slob_journal_warm(s->journal); /* journal.h note 3 */
	}
	return work;
}

bool slob_sender_done(const struct slob_sender *s)
{
	if (!s->end_seen || s->outq_head != s->outq_tail)
		return false;
	if (s->cold != NULL && slob_coldq_backlogged(s->cold))
		return false;
	return true;
}
