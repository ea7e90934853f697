/* SPDX-License-Identifier: MIT */
/*
 * paper.c: the paper broker's matching model (see paper.h for the rules).
 * Brackets are kept in a fixed slot array; a dense list of active slots in
 * placement order makes the matching order deterministic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/paper.h"

int slob_paper_init(struct slob_paper *p, uint32_t max_brackets)
{
	memset(p, 0, sizeof(*p));
	if (max_brackets == 0 || max_brackets > 65536)
		return -EINVAL;
	p->br = calloc(max_brackets, sizeof(*p->br));
	p->active = calloc(max_brackets, sizeof(*p->active));
	p->free_ = calloc(max_brackets, sizeof(*p->free_));
	if (p->br == NULL || p->active == NULL || p->free_ == NULL) {
		slob_paper_destroy(p);
		return -ENOMEM;
	}
	slob_prefault(p->br, (unsigned long)max_brackets * sizeof(*p->br));
	slob_prefault(p->active, (unsigned long)max_brackets * sizeof(*p->active));
	p->max_brackets = max_brackets;
	/* pop order: slot 0 first */
	for (uint32_t i = 0; i < max_brackets; i++)
		p->free_[i] = max_brackets - 1 - i;
	p->nfree = max_brackets;
	return 0;
}

void slob_paper_destroy(struct slob_paper *p)
{
	if (p == NULL)
		return;
	free(p->br);
	free(p->active);
	free(p->free_);
	p->br = NULL;
	p->active = NULL;
	p->free_ = NULL;
	p->nactive = p->nfree = p->max_brackets = 0;
}

static bool terminal(const struct slob_paper_order *o)
{
	return o->state == SLOB_PAPER_FILLED || o->state == SLOB_PAPER_CANCELLED;
}

const struct slob_paper_bracket *slob_paper_find(const struct slob_paper *p, uint64_t setup_id)
{
	for (uint32_t i = 0; i < p->nactive; i++) {
		const struct slob_paper_bracket *b = &p->br[p->active[i]];
		if (b->o[SLOB_ROLE_ENTRY].setup_id == setup_id)
			return b;
	}
	return NULL;
}

static void set_ref(char *dst, const char *base, const char *suffix)
{
	/* base is bounded by SLOB_ORDER_REF_LEN; truncate rather than overflow */
	size_t bl = strnlen(base, SLOB_ORDER_REF_LEN - 1);
	size_t sl = strlen(suffix);
	if (bl + sl > SLOB_ORDER_REF_LEN - 1)
		bl = SLOB_ORDER_REF_LEN - 1 - sl;
	memcpy(dst, base, bl);
	memcpy(dst + bl, suffix, sl);
	dst[bl + sl] = '\0';
}

int slob_paper_place_bracket(struct slob_paper *p, const struct slob_intent *in,
			     int64_t first_id, uint64_t after_seq)
{
	if (in->qty <= 0 || (in->dir != SLOB_LONG && in->dir != SLOB_SHORT))
		return -EINVAL;
	if (in->dir == SLOB_LONG && !(in->sl < in->entry && in->entry < in->tp))
		return -EINVAL;
	if (in->dir == SLOB_SHORT && !(in->tp < in->entry && in->entry < in->sl))
		return -EINVAL;
	if (slob_paper_find(p, in->setup_id) != NULL)
		return -EEXIST;
	if (p->nfree == 0)
		return -ENOSPC;
	uint32_t slot = p->free_[--p->nfree];
	struct slob_paper_bracket *b = &p->br[slot];
	memset(b, 0, sizeof(*b));
	static const char *const suffix[3] = {"_ENTRY", "_TP", "_SL"};
	for (int r = 0; r < 3; r++) {
		struct slob_paper_order *o = &b->o[r];
		o->id = first_id + r;
		o->parent_id = r == SLOB_ROLE_ENTRY ? 0 : first_id;
		o->setup_id = in->setup_id;
		o->after_seq = after_seq;
		o->qty = in->qty;
		o->dir = in->dir;
		o->role = (uint8_t)r;
		o->action = (int8_t)(r == SLOB_ROLE_ENTRY ? in->dir : -in->dir);
		o->type = r == SLOB_ROLE_SL ? SLOB_PAPER_STP : SLOB_PAPER_LMT;
		o->px = r == SLOB_ROLE_ENTRY ? in->entry : r == SLOB_ROLE_TP ? in->tp : in->sl;
		o->state = r == SLOB_ROLE_ENTRY ? SLOB_PAPER_WORKING : SLOB_PAPER_HELD;
		set_ref(o->order_ref, in->order_ref, suffix[r]);
	}
	p->active[p->nactive++] = slot;
	return 0;
}

/* Removes finished brackets from the active list, keeping placement order. */
static void compact(struct slob_paper *p)
{
	uint32_t w = 0;
	for (uint32_t i = 0; i < p->nactive; i++) {
		uint32_t slot = p->active[i];
		struct slob_paper_bracket *b = &p->br[slot];
		if (terminal(&b->o[0]) && terminal(&b->o[1]) && terminal(&b->o[2]))
			p->free_[p->nfree++] = slot;
		else
			p->active[w++] = slot;
	}
	p->nactive = w;
}

static void emit(slob_paper_event_fn fn, void *ctx, uint32_t kind, const struct slob_paper_order *o,
		 int32_t px, int64_t ts_ns, uint64_t seq)
{
	struct slob_paper_event ev = {
		.kind = kind, .px = px, .ts_ns = ts_ns, .seq = seq, .order = o,
	};
	if (fn != NULL)
		fn(ctx, &ev);
}

int slob_paper_cancel_setup(struct slob_paper *p, uint64_t setup_id, int64_t ts_ns,
			    slob_paper_event_fn fn, void *ctx)
{
	struct slob_paper_bracket *b = (struct slob_paper_bracket *)slob_paper_find(p, setup_id);
	if (b == NULL)
		return -ENOENT;
	if (b->o[SLOB_ROLE_ENTRY].state != SLOB_PAPER_WORKING)
		return 0;
	int n = 0;
	for (int r = 0; r < 3; r++) {
		struct slob_paper_order *o = &b->o[r];
		if (terminal(o))
			continue;
		o->state = SLOB_PAPER_CANCELLED;
		p->cancels++;
		emit(fn, ctx, SLOB_EXEC_CANCELLED, o, o->px, ts_ns, 0);
		n++;
	}
	compact(p);
	return n;
}

int slob_paper_flatten(struct slob_paper *p, uint64_t setup_id, uint64_t after_seq, int64_t ts_ns,
		       slob_paper_event_fn fn, void *ctx)
{
	struct slob_paper_bracket *b = (struct slob_paper_bracket *)slob_paper_find(p, setup_id);
	if (b == NULL)
		return -ENOENT;
	/* an entry still working must not fill after the session closed: the
	 * paper broker fills entries whole, so nothing is held yet and the
	 * whole bracket goes */
	if (b->o[SLOB_ROLE_ENTRY].state == SLOB_PAPER_WORKING)
		return slob_paper_cancel_setup(p, setup_id, ts_ns, fn, ctx) > 0 ? 0 : -EALREADY;
	struct slob_paper_order *sl = &b->o[SLOB_ROLE_SL];
	if (sl->state != SLOB_PAPER_WORKING)
		return -EALREADY;
	sl->flat_after = after_seq > sl->after_seq ? after_seq : sl->after_seq;
	return 0;
}

/* Would this working order execute on a trade at px? */
static bool crosses(const struct slob_paper_order *o, int32_t px)
{
	if (o->type == SLOB_PAPER_LMT)
		return o->action > 0 ? px <= o->px : px >= o->px;
	return o->action > 0 ? px >= o->px : px <= o->px; /* STP */
}

int slob_paper_on_tick(struct slob_paper *p, const struct slob_tick *t, slob_paper_event_fn fn,
		       void *ctx)
{
	if (t->flags & SLOB_TICK_END)
		return 0;
	int n = 0;
	bool done_any = false;
	for (uint32_t i = 0; i < p->nactive; i++) {
		struct slob_paper_bracket *b = &p->br[p->active[i]];
		struct slob_paper_order *e = &b->o[SLOB_ROLE_ENTRY];
		if (e->state == SLOB_PAPER_WORKING) {
			if (t->seq > e->after_seq && crosses(e, t->px)) {
				e->state = SLOB_PAPER_FILLED;
				p->fills++;
				emit(fn, ctx, SLOB_EXEC_FILL, e, e->px, t->ts_ns, t->seq);
				n++;
				/* children go live on the ticks after this one */
				for (int r = 1; r < 3; r++) {
					if (b->o[r].state == SLOB_PAPER_HELD) {
						b->o[r].state = SLOB_PAPER_WORKING;
						b->o[r].after_seq = t->seq;
					}
				}
			}
			continue;
		}
		/* stop-loss first: pessimistic when both would trade on one tick */
		static const int order[2] = {SLOB_ROLE_SL, SLOB_ROLE_TP};
		for (int k = 0; k < 2; k++) {
			struct slob_paper_order *o = &b->o[order[k]];
			if (o->state != SLOB_PAPER_WORKING || t->seq <= o->after_seq)
				continue;
			bool at_stop = crosses(o, t->px);
			if (!at_stop && !(o->flat_after && t->seq > o->flat_after))
				continue;
			o->state = SLOB_PAPER_FILLED;
			p->fills++;
			emit(fn, ctx, SLOB_EXEC_FILL, o, at_stop ? o->px : t->px, t->ts_ns, t->seq);
			n++;
			struct slob_paper_order *sib = &b->o[order[1 - k]];
			if (!terminal(sib)) {
				sib->state = SLOB_PAPER_CANCELLED;
				p->cancels++;
				emit(fn, ctx, SLOB_EXEC_CANCELLED, sib, sib->px, t->ts_ns, t->seq);
				n++;
			}
			done_any = true;
			break;
		}
	}
	if (done_any)
		compact(p);
	return n;
}
