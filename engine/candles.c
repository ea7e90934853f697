/* SPDX-License-Identifier: MIT */
/*
 * candles.c: ticks -> M1 bars with the corrected gap-filling rule of
 * STRATEGY.md s2; see candles.h for the rules and design notes.
 */
#include "engine/candles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/tz.h"

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * SLOB_NS_PER_SEC + ts.tv_nsec;
}

static int64_t utc_clock(void *arg)
{
	(void)arg;
	return clock_ns(CLOCK_REALTIME);
}

static int64_t mono_clock(void *arg)
{
	(void)arg;
	return clock_ns(CLOCK_MONOTONIC);
}

void slob_candles_params_default(struct slob_candles_params *p)
{
	p->timer_close = 0;
	p->grace_ns = 2 * SLOB_NS_PER_SEC;
	p->batch = 256;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
	char *e;
	errno = 0;
	long x = strtol(v, &e, 10);
	if (errno || e == v || *e || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

int slob_candles_param_set(struct slob_candles_params *p, const char *key, const char *value,
			   char *err, size_t errlen)
{
	long v;
	if (!strcmp(key, "timer_close")) {
		if (parse_long(value, 0, 1, &v))
			goto bad;
		p->timer_close = (int)v;
	} else if (!strcmp(key, "grace_ms")) {
		if (parse_long(value, 0, 60000, &v))
			goto bad;
		p->grace_ns = v * 1000000LL;
	} else if (!strcmp(key, "batch")) {
		if (parse_long(value, 1, 65536, &v))
			goto bad;
		p->batch = (unsigned)v;
	} else {
		if (err)
			snprintf(err, errlen, "[candles] unknown key '%s'", key);
		return -ENOENT;
	}
	return 0;
bad:
	if (err)
		snprintf(err, errlen,
			 "[candles] %s = '%s': allowed timer_close 0|1, grace_ms 0..60000, "
			 "batch 1..65536",
			 key, value);
	return -EINVAL;
}

int slob_candles_params_validate(const struct slob_candles_params *p, char *err, size_t errlen)
{
	if (p->grace_ns < 0 || p->grace_ns > 60 * SLOB_NS_PER_SEC || p->batch < 1 ||
	    p->batch > 65536 || (p->timer_close != 0 && p->timer_close != 1)) {
		if (err)
			snprintf(err, errlen,
				 "[candles] grace_ms must be 0..60000, batch 1..65536, "
				 "timer_close 0|1");
		return -EINVAL;
	}
	return 0;
}

static int stage_poll(slob_stage_t *st)
{
	return slob_candles_poll(st->ctx);
}

static bool stage_done(slob_stage_t *st)
{
	return slob_candles_done(st->ctx);
}

int slob_candles_init(struct slob_candles *c, const struct slob_candles_params *p, slob_ring_t *in,
		      slob_ring_t *out, struct slob_coldq *cold)
{
	if (!c || !in || !out || in->rec_size != sizeof(struct slob_tick) ||
	    out->rec_size != sizeof(struct slob_bar))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	if (p) {
		if (slob_candles_params_validate(p, NULL, 0) < 0)
			return -EINVAL;
		c->p = *p;
	} else {
		slob_candles_params_default(&c->p);
	}
	c->in = in;
	c->out = out;
	c->cold = cold;
	c->last_emitted = INT64_MIN;
	c->closed_upto = INT64_MIN;
	c->utc_now = utc_clock;
	c->mono_now = mono_clock;
	c->stage.name = "candles";
	c->stage.poll = stage_poll;
	c->stage.done = stage_done;
	c->stage.ctx = c;
	c->stage.stats = &c->stage.own_stats;
	return 0;
}

slob_stage_t *slob_candles_stage(struct slob_candles *c)
{
	return &c->stage;
}

bool slob_candles_done(const struct slob_candles *c)
{
	return c->end_sent && c->qpos == c->qn;
}

static void emit(struct slob_candles *c, const struct slob_bar *b)
{
	c->q[c->qn++] = *b;
	if (!(b->flags & SLOB_BAR_END)) {
		c->last_emitted = b->ts_ns;
		c->bars++;
		if (c->cold) {
			struct slob_cold rec;
			memset(&rec, 0, 24);
			rec.type = SLOB_COLD_BAR;
			rec.cls = SLOB_CLASS_INFO;
			rec.ts_ns = b->ts_ns;
			rec.u.bar = *b;
			slob_coldq_put(c->cold, &rec);
		}
	}
}

/* Pushes queued bars; returns true when the queue is empty. */
static bool flush(struct slob_candles *c)
{
	while (c->qpos < c->qn) {
		if (!slob_ring_push_spsc(c->out, &c->q[c->qpos])) {
			c->stage.stats->backpressure++;
			return false;
		}
		c->qpos++;
		c->stage.stats->out++;
	}
	c->qpos = c->qn = 0;
	return true;
}

static void close_cur(struct slob_candles *c, int64_t recv_ns, uint32_t extra_flags)
{
	c->cur.recv_ns = recv_ns;
	c->cur.flags |= extra_flags;
	emit(c, &c->cur);
	c->last_close = c->cur.close;
	c->closed_upto = c->cur.ts_ns + SLOB_NS_PER_MIN;
	c->have_cur = 0;
}

static void on_tick(struct slob_candles *c, const struct slob_tick *t)
{
	struct slob_stage_stats *s = c->stage.stats;
	if (slob_unlikely(t->flags & SLOB_TICK_END)) {
		if (c->have_cur)
			close_cur(c, t->recv_ns, 0);
		struct slob_bar e;
		memset(&e, 0, sizeof(e));
		e.ts_ns = c->last_emitted == INT64_MIN ? t->ts_ns : c->last_emitted;
		e.recv_ns = t->recv_ns;
		e.last_seq = c->last_seq;
		e.flags = SLOB_BAR_END;
		emit(c, &e);
		c->end_seen = 1;
		return;
	}
	if (slob_unlikely(t->seq <= c->last_seq)) {
		c->duplicates++;
		s->reasons[SLOB_CANDLES_R_DUPLICATE]++;
		return;
	}
	if (slob_unlikely(t->ts_ns > INT64_MAX - 4 * SLOB_NS_PER_MIN ||
			  t->ts_ns < INT64_MIN + 4 * SLOB_NS_PER_MIN)) {
		c->out_of_order++; /* outside int64 minute arithmetic: never a real tick */
		s->reasons[SLOB_CANDLES_R_OUT_OF_ORDER]++;
		return;
	}
	int64_t m = t->ts_ns - ((t->ts_ns % SLOB_NS_PER_MIN + SLOB_NS_PER_MIN) % SLOB_NS_PER_MIN);
	if (slob_likely(c->have_cur && m == c->cur.ts_ns)) {
		struct slob_bar *b = &c->cur;
		if (t->px > b->high)
			b->high = t->px;
		if (t->px < b->low)
			b->low = t->px;
		b->close = t->px;
		b->volume += t->size;
		b->ticks++;
		b->last_seq = t->seq;
		c->last_seq = t->seq;
		return;
	}
	if (slob_unlikely((t->flags & SLOB_TICK_REANCHOR) && c->have_cur && m < c->cur.ts_ns &&
			  (c->last_emitted == INT64_MIN || m > c->last_emitted))) {
		/* the open bar stood on a lone outlier time the validator replaced */
		c->have_cur = 0;
		c->discarded++;
		s->reasons[SLOB_CANDLES_R_DISCARDED]++;
		c->closed_upto =
		    c->last_emitted == INT64_MIN ? INT64_MIN : c->last_emitted + SLOB_NS_PER_MIN;
	}
	if (slob_unlikely(m < c->closed_upto || (c->have_cur && m < c->cur.ts_ns))) {
		if (c->cur_timer_closed && m >= c->closed_upto - SLOB_NS_PER_MIN && !c->have_cur) {
			c->late++;
			s->reasons[SLOB_CANDLES_R_LATE]++;
		} else {
			c->out_of_order++;
			s->reasons[SLOB_CANDLES_R_OUT_OF_ORDER]++;
		}
		return;
	}
	/* a later minute: close the open bar, then fill the gap */
	if (c->have_cur)
		close_cur(c, t->recv_ns, 0);
	uint32_t flags = 0;
	if (c->last_emitted != INT64_MIN) {
		int64_t missing = (m - c->last_emitted) / SLOB_NS_PER_MIN - 1;
		if (missing == 1) {
			struct slob_bar f;
			memset(&f, 0, sizeof(f));
			f.ts_ns = c->last_emitted + SLOB_NS_PER_MIN;
			f.recv_ns = t->recv_ns;
			f.last_seq = c->last_seq;
			f.open = f.high = f.low = f.close = c->last_close;
			f.flags = SLOB_BAR_FLAT_FILL;
			emit(c, &f);
			c->flat_fills++;
			s->reasons[SLOB_CANDLES_R_FLAT_FILLS]++;
		} else if (missing > 1) {
			flags = SLOB_BAR_GAP_BEFORE;
			c->gaps++;
			s->reasons[SLOB_CANDLES_R_GAPS]++;
		}
	}
	if (t->flags & SLOB_TICK_GAP_BEFORE)
		flags |= SLOB_BAR_GAP_BEFORE;
	memset(&c->cur, 0, sizeof(c->cur));
	c->cur.ts_ns = m;
	c->cur.open = c->cur.high = c->cur.low = c->cur.close = t->px;
	c->cur.volume = t->size;
	c->cur.ticks = 1;
	c->cur.last_seq = t->seq;
	c->cur.flags = flags;
	c->have_cur = 1;
	c->cur_timer_closed = 0;
	c->last_seq = t->seq;
}

int slob_candles_poll(struct slob_candles *c)
{
	struct slob_stage_stats *s = c->stage.stats;
	int work = 0;
	s->polls++;
	if (c->qn && !flush(c))
		return 0;
	if (c->end_seen) {
		c->end_sent = 1;
		return 0;
	}
	unsigned n = 0;
	const struct slob_tick *t;
	while (n < c->p.batch && (t = slob_ring_peek_spsc(c->in, n)) != NULL) {
		n++;
		on_tick(c, t);
		if (slob_unlikely(c->qn)) {
			if (!flush(c) || c->end_seen)
				break;
		}
	}
	if (n) {
		slob_ring_release_spsc(c->in, n);
		s->in += n;
		work += (int)n;
	}
	if (c->end_seen && c->qn == 0)
		c->end_sent = 1;
	if (c->p.timer_close && c->have_cur && !c->end_seen && c->qn == 0) {
		int64_t now = c->utc_now(c->clock_arg);
		if (now >= c->cur.ts_ns + SLOB_NS_PER_MIN + c->p.grace_ns) {
			close_cur(c, c->mono_now(c->clock_arg), SLOB_BAR_BY_TIMER);
			c->cur_timer_closed = 1;
			c->by_timer++;
			s->reasons[SLOB_CANDLES_R_BY_TIMER]++;
			flush(c);
			work++;
		}
	}
	if (!work)
		s->idle_polls++;
	return work;
}
