/* SPDX-License-Identifier: MIT */
/*
 * gen.c: synthetic NQ-like M1 bars with injected SLOB setups and their ground
 * truth (see gen.h for the design notes), and the bar -> ticks expansion.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detector.h"
#include "engine/gen.h"
#include "engine/tz.h"

/* ---- deterministic random numbers (xoshiro256**) ------------------------ */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_u64(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* uniform integer in [lo, hi] (inclusive); lo > hi returns lo */
static int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rng_u64(r) % (uint64_t)(hi - lo + 1));
}

/* Approximately standard normal, in units of 1/37837 (Irwin-Hall: the sum
 * of four centred 16-bit uniforms has standard deviation 65536/sqrt(3)).
 * Integer only, so the data is the same on every machine and libm. */
#define GAUSS_UNIT 37837

static int64_t rng_gauss_q(struct rng *r)
{
	uint64_t x = rng_u64(r);
	int64_t s = 0;
	for (int i = 0; i < 4; i++, x >>= 16)
		s += (int64_t)(x & 0xffff) - 32768;
	return s;
}

/* round(num / den), den > 0, halves away from zero */
static int64_t div_round(int64_t num, int64_t den)
{
	return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

/* round(1000 * sqrt(n)) for n = 0..64 */
static const int32_t isqrt_milli[65] = {
    0,	  1000, 1414, 1732, 2000, 2236, 2449, 2646, 2828, 3000, 3162, 3317, 3464,
    3606, 3742, 3873, 4000, 4123, 4243, 4359, 4472, 4583, 4690, 4796, 4899, 5000,
    5099, 5196, 5292, 5385, 5477, 5568, 5657, 5745, 5831, 5916, 6000, 6083, 6164,
    6245, 6325, 6403, 6481, 6557, 6633, 6708, 6782, 6856, 6928, 7000, 7071, 7141,
    7211, 7280, 7348, 7416, 7483, 7550, 7616, 7681, 7746, 7810, 7874, 7937, 8000,
};

/* ---- params -------------------------------------------------------------- */

void slob_gen_params_default(struct slob_gen_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->start_ymd = 20260112;
	p->days = 5;
	p->start_price = 20000.0;
	p->tick_size = 0.25;
	p->inject = 1;
	p->inject_every = 1;
	p->dir_mode = SLOB_GEN_DIR_ALTERNATE;
	p->vol_scale = 1.0;
	p->ticks_per_min = 8;
	p->nyse_anchor_ny = 1;
}

int slob_gen_preset(struct slob_gen_params *p, const char *name)
{
	slob_gen_params_default(p);
	if (!strcmp(name, "sample")) {
		p->seed = 20260112;
		return 0;
	}
	if (!strcmp(name, "year")) {
		p->seed = 2026;
		p->start_ymd = 20260101;
		p->days = 365;
		p->inject_every = 3;
		return 0;
	}
	if (!strcmp(name, "walk-year")) {
		p->seed = 2026;
		p->start_ymd = 20260101;
		p->days = 365;
		p->inject = 0;
		return 0;
	}
	return -ENOENT;
}

/* ---- generator state ------------------------------------------------------ */

struct gen {
	const struct slob_gen_params *p;
	struct rng r;
	int32_t tpp; /* ticks per point */
	int32_t px;  /* last close */
	int32_t start_px;
	int64_t vol_milli; /* vol_scale x 1000 */
	int regime;
	struct slob_bar *bars;
	size_t n, cap;
	struct slob_gen_truth *truth;
	size_t nt, tcap;
};

static const int32_t regime_milli[3] = {600, 1000, 1700};

static int push_bar(struct gen *g, int64_t ts, int32_t o, int32_t h, int32_t l, int32_t c,
		    uint32_t ticks)
{
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 4096;
		struct slob_bar *nb = realloc(g->bars, nc * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		g->bars = nb;
		g->cap = nc;
	}
	if (ticks < 4)
		ticks = 4;
	if (ticks > SLOB_GEN_MAX_TICKS_PER_BAR)
		ticks = SLOB_GEN_MAX_TICKS_PER_BAR;
	g->bars[g->n++] = (struct slob_bar){.ts_ns = ts,
					    .open = o,
					    .high = h,
					    .low = l,
					    .close = c,
					    .ticks = ticks,
					    .volume = ticks * 2};
	g->px = c;
	return 0;
}

/* volatility (standard deviation per minute) in milli-points at local
 * minute m, regime and vol_scale applied */
static int64_t vol_at(const struct gen *g, int m, int nyse_open)
{
	int64_t v;
	if (m < 9 * 60)
		v = 1800; /* Asia */
	else if (m < nyse_open)
		v = 3500; /* London */
	else if (m < nyse_open + 60)
		v = 8000; /* New York open */
	else if (m < 22 * 60)
		v = 5000; /* New York */
	else
		v = 2500;
	return v * regime_milli[g->regime] / 1000 * g->vol_milli / 1000;
}

/* One random-walk bar from the last close (integer arithmetic only). lo/hi
 * clamp the path (0 = none); target != 0 steers the walk towards it over
 * `steer` minutes. */
static int walk_bar(struct gen *g, int64_t ts, int64_t vol_mp, int32_t lo, int32_t hi,
		    int32_t target, int steer)
{
	if (rng_u64(&g->r) % 1000 < 3)
		g->regime = (int)(rng_u64(&g->r) % 3);
	/* ticks this minute: ticks_per_min x (vol / 5 points) x U(0.5, 1.5) */
	int64_t n64 =
	    (int64_t)g->p->ticks_per_min * vol_mp * rng_range(&g->r, 500, 1499) / (5000LL * 1000);
	int n = (int)(n64 < 1				     ? 1
		      : n64 > SLOB_GEN_MAX_TICKS_PER_BAR - 2 ? SLOB_GEN_MAX_TICKS_PER_BAR - 2
							     : n64);
	/* per-tick step: z x vol x tpp / sqrt(n) ticks */
	const int64_t den = (int64_t)GAUSS_UNIT * isqrt_milli[n];
	const int64_t scale = vol_mp * g->tpp;
	int32_t o = g->px, p = o, h = o, l = o;
	/* mean reversion to the start price (slow) or steering to a target */
	int64_t drift = ((int64_t)g->start_px - p) / 5000;
	if (target && steer > 0)
		drift = ((int64_t)target - p) / steer;
	for (int i = 0; i < n; i++) {
		int64_t x = div_round(rng_gauss_q(&g->r) * scale, den) + (i == 0 ? drift : 0);
		p = (int32_t)(p + x);
		if (lo && p < lo)
			p = lo;
		if (hi && p > hi)
			p = hi;
		if (p < g->tpp)
			p = g->tpp;
		if (p > h)
			h = p;
		if (p < l)
			l = p;
	}
	return push_bar(g, ts, o, h, l, p, (uint32_t)n + 2);
}

/* ---- setup construction (in SHORT coordinates q; LONG mirrors) ------------ */

struct qbar {
	int32_t o, h, l, c;
};

struct build {
	struct qbar b[128];
	int n;
	int32_t H, L;	/* LSE levels (same in both coordinates) */
	int32_t ch, cl; /* consolidation band */
	int32_t nw_h, nw_l;
	int i_nw, m, K, J; /* no-wick position, confirm position, LIQ#2 k, entry j */
	int spike;
	int32_t liq1_h;
};

static inline int32_t clamp32(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A band candle from open o to close c within [lo, hi] that is never a SHORT
 * no-wick candle (bullish needs lower wick >= body / 5). */
static struct qbar band_candle(struct rng *r, int32_t o, int32_t c, int32_t lo, int32_t hi,
			       int32_t tpp)
{
	struct qbar q = {o, 0, 0, c};
	int32_t top = o > c ? o : c, bot = o < c ? o : c;
	q.h = clamp32(top + (int32_t)rng_range(r, 0, 3 * tpp), lo, hi);
	q.l = clamp32(bot - (int32_t)rng_range(r, 0, 3 * tpp), lo, hi);
	if (c > o) {
		int32_t body = c - o, need = (body + 4) / 5; /* ceil(body / 5) */
		if (o - q.l < need) {
			if (o - need >= lo)
				q.l = o - need;
			else { /* no room below: make it a doji */
				q.c = o;
				q.l = clamp32(o - (int32_t)rng_range(r, 0, 2 * tpp), lo, hi);
			}
		}
	}
	if (q.h < top)
		q.h = top;
	return q;
}

/* Builds the setup bars after a LIQ#1 open q0. Returns 0 or -1 if the LSE
 * range cannot give a positive reward. */
static int build_setup(struct gen *g, struct build *s, int32_t q0)
{
	struct rng *r = &g->r;
	const int32_t T = g->tpp;
	int32_t H = s->H, L = s->L;
	int n = 0;

	int32_t a = (int32_t)rng_range(r, T, 12 * T);
	s->liq1_h = H + a;
	s->ch = H + (int32_t)rng_range(r, -4 * T, 4 * T);
	if (s->ch > s->liq1_h)
		s->ch = s->liq1_h;
	/* band width 0.15-0.30 % of CONS_HIGH, at most 60 points, and room for
	 * a positive reward above LSE_LOW */
	int64_t wmin = ((int64_t)s->ch * 1500 + 999999) / 1000000 + 1;
	int64_t w = (int64_t)s->ch * rng_range(r, 1500, 3000) / 1000000;
	if (w > 60 * T)
		w = 60 * T;
	if (w > (int64_t)(s->ch - L) - 25 * T)
		w = (int64_t)(s->ch - L) - 25 * T;
	if (w < wmin || w > 60 * T)
		return -1;
	s->cl = s->ch - (int32_t)w;

	/* LIQ#1 candle */
	int32_t c1 = s->ch - (int32_t)rng_range(r, 2 * T, 8 * T);
	s->b[n++] =
	    (struct qbar){q0, s->liq1_h, (q0 < c1 ? q0 : c1) - (int32_t)rng_range(r, 0, 2 * T), c1};
	if (q0 > s->liq1_h)
		s->b[0].h = q0 + T; /* cannot happen with the clamped walk; stay consistent */

	s->i_nw = (int)rng_range(r, 3, 20);
	s->m = s->i_nw > 15 ? s->i_nw : 15;
	int32_t cl = s->cl, ch = s->ch, mid = cl + (ch - cl) / 2;
	int32_t prev = c1;
	for (int i = 1; i <= s->m; i++) {
		struct qbar q;
		if (i == 1) {
			q = band_candle(r, prev, ch - (int32_t)rng_range(r, 3 * T, 10 * T), cl, ch,
					T);
			q.h = ch;
		} else if (i == 2) {
			q = band_candle(r, prev, mid + (int32_t)rng_range(r, -3 * T, 3 * T), cl, ch,
					T);
			q.l = cl;
		} else if (i == s->i_nw) {
			int32_t body = (int32_t)rng_range(r, 3 * T, 12 * T);
			if (prev + body > ch)
				body = ch - prev;
			q = (struct qbar){prev, prev + body, prev, prev + body};
			q.h = clamp32(q.c + (int32_t)rng_range(r, 0, T), cl, ch);
			s->nw_h = q.h;
			s->nw_l = q.l;
		} else if (i == s->i_nw - 1) { /* leave room below ch for the no-wick body */
			q = band_candle(r, prev, cl + (int32_t)rng_range(r, 2 * T, (ch - cl) / 3),
					cl, ch, T);
		} else {
			q = band_candle(r, prev, (int32_t)rng_range(r, cl + T, ch - T), cl, ch, T);
		}
		s->b[n++] = q;
		prev = q.c;
	}
	/* the no-wick body must be > 0 */
	if (s->nw_h <= s->nw_l || s->b[s->i_nw].c <= s->b[s->i_nw].o)
		return -1;
	/* WATCHING_LIQ2: k = 2 .. K-1 inside the band, the last closes >= NW_LOW */
	s->K = (int)rng_range(r, 6, 20);
	for (int k = 2; k < s->K; k++) {
		/* after the freeze only highs matter (<= ch: no early LIQ#2, R19);
		 * the close is kept exactly (the last one opens LIQ#2 >= NW_LOW) */
		int32_t c = (k == s->K - 1) ? (int32_t)rng_range(r, s->nw_l, ch - T)
					    : (int32_t)rng_range(r, cl + T, ch - T);
		int32_t top = prev > c ? prev : c, bot = prev < c ? prev : c;
		struct qbar q = {prev, clamp32(top + (int32_t)rng_range(r, 0, 3 * T), top, ch),
				 bot - (int32_t)rng_range(r, 0, 3 * T), c};
		s->b[n++] = q;
		prev = q.c;
	}
	/* LIQ#2 */
	{
		int32_t o = prev, sp = (int32_t)rng_range(r, T, 6 * T);
		struct qbar q;
		s->spike = (int)(rng_u64(r) & 1);
		if (s->spike) {
			int32_t body = (int32_t)rng_range(r, T, 2 * T);
			int32_t c = (rng_u64(r) & 1) ? o + body : o - body;
			int32_t top = o > c ? o : c;
			int32_t h = ch + sp;
			if (h < top + 2 * body + 1)
				h = top + 2 * body + 1;
			q = (struct qbar){o, h, (o < c ? o : c) - (int32_t)rng_range(r, 0, 2 * T),
					  c};
		} else {
			int32_t h = ch + sp, x = (int32_t)rng_range(r, 0, 2 * T);
			int32_t c = h - x;
			if (2 * (c - o) < x)
				c = h; /* upper wick 0 <= 2 x body */
			q = (struct qbar){o, h, o - (int32_t)rng_range(r, 0, 2 * T), c};
		}
		s->b[n++] = q;
		prev = q.c;
	}
	/* WAITING_ENTRY: j = 1 .. J-1 close >= NW_LOW, j = J closes below */
	s->J = (int)rng_range(r, 1, 20);
	for (int j = 1; j <= s->J; j++) {
		struct qbar q;
		if (j < s->J) {
			int32_t c = (int32_t)rng_range(r, s->nw_l, ch);
			int32_t top = prev > c ? prev : c, bot = prev < c ? prev : c;
			q = (struct qbar){prev, top + (int32_t)rng_range(r, 0, 3 * T),
					  bot - (int32_t)rng_range(r, 0, 3 * T), c};
		} else {
			int32_t c = s->nw_l - (int32_t)rng_range(r, 1, 8 * T);
			int32_t top = prev > c ? prev : c, bot = prev < c ? prev : c;
			q = (struct qbar){prev, top + (int32_t)rng_range(r, 0, 2 * T),
					  bot - (int32_t)rng_range(r, 0, 2 * T), c};
		}
		s->b[n++] = q;
		prev = q.c;
	}
	s->n = n;
	return 0;
}

/* Truth of a built setup in q coordinates, per STRATEGY.md R21-R28. */
static void truth_q(const struct build *s, int32_t T, int32_t *entry, int32_t *sl, int32_t *tp,
		    int32_t *spike_hi, int *spike_branch)
{
	int liq2 = 1 + s->m + (s->K - 1) - 1; /* index of the LIQ#2 bar in b[] */
	const struct qbar *q2 = &s->b[liq2];
	int32_t hi = q2->h;
	for (int j = 1; j <= s->J; j++)
		if (s->b[liq2 + j].h > hi)
			hi = s->b[liq2 + j].h;
	int32_t body = q2->c > q2->o ? q2->c - q2->o : q2->o - q2->c;
	int32_t top = q2->c > q2->o ? q2->c : q2->o;
	int sp = body > 0 && (int64_t)(q2->h - top) > 2LL * body;
	*spike_branch = sp;
	*spike_hi = hi;
	*entry = s->b[liq2 + s->J].c;
	*sl = sp ? top + 2 * T : hi + T;
	*tp = s->L - T;
}

/* ---- the run --------------------------------------------------------------- */

static int add_truth(struct gen *g, const struct slob_gen_truth *t)
{
	if (g->nt == g->tcap) {
		size_t nc = g->tcap ? g->tcap * 2 : 64;
		struct slob_gen_truth *nt = realloc(g->truth, nc * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		g->truth = nt;
		g->tcap = nc;
	}
	g->truth[g->nt++] = *t;
	return 0;
}

int slob_gen_run(const struct slob_gen_params *p, struct slob_gen_out *out, char *err,
		 size_t errlen)
{
	struct slob_tz *sth = NULL, *ny = NULL;
	struct gen g;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&g, 0, sizeof(g));
	if (p->days < 1 || p->days > 3660 || p->tick_size <= 0 || p->start_price <= 0 ||
	    p->inject_every < 1 || p->ticks_per_min < 1 ||
	    !(p->vol_scale >= 0.001 && p->vol_scale <= 100) || p->dir_mode < 0 ||
	    p->dir_mode > SLOB_GEN_DIR_RANDOM) {
		snprintf(err, errlen,
			 "gen: bad parameters (days 1..3660, tick_size > 0, price > 0, "
			 "inject_every >= 1, "
			 "ticks_per_min >= 1, vol_scale 0.001..100)");
		return -EINVAL;
	}
	double tpp_d = 1.0 / p->tick_size;
	if (fabs(tpp_d - llround(tpp_d)) > 1e-9) {
		snprintf(err, errlen, "gen: tick_size %g must divide one point", p->tick_size);
		return -EINVAL;
	}
	int y = p->start_ymd / 10000;
	unsigned mo = (unsigned)(p->start_ymd / 100 % 100), dd = (unsigned)(p->start_ymd % 100);
	if (y < 1971 || y > 2100 || mo < 1 || mo > 12 || dd < 1 || dd > 31) {
		snprintf(err, errlen, "gen: start date %d is not YYYYMMDD", p->start_ymd);
		return -EINVAL;
	}
	sth = malloc(sizeof(*sth));
	ny = malloc(sizeof(*ny));
	if (!sth || !ny) {
		rc = -ENOMEM;
		goto out_free;
	}
	int y_to = y + p->days / 365 + 1;
	if ((rc = slob_tz_load(sth, "Europe/Stockholm", y - 1, y_to)) ||
	    (rc = slob_tz_load(ny, "America/New_York", y - 1, y_to))) {
		snprintf(err, errlen, "gen: time zone data: %s", slob_tz_strerror());
		goto out_free;
	}
	g.p = p;
	g.tpp = (int32_t)llround(tpp_d);
	rng_seed(&g.r, p->seed);
	g.start_px = (int32_t)llround(p->start_price * g.tpp);
	g.px = g.start_px;
	g.regime = 1;
	g.vol_milli = llround(p->vol_scale * 1000.0);

	const int32_t T = g.tpp;
	int64_t day0 = slob_days_from_civil(y, mo, dd);
	int weekday_no = 0, injected = 0;
	for (int d = 0; d < p->days; d++) {
		int64_t dn = day0 + d;
		int yy;
		unsigned mm, dday;
		slob_civil_from_days(dn, &yy, &mm, &dday);
		int wday = (int)((dn + 4) % 7); /* 1970-01-01 was a Thursday */
		if (wday == 0 || wday == 6)
			continue;
		int32_t ymd = yy * 10000 + (int32_t)mm * 100 + (int32_t)dday;
		int64_t t0 = slob_tz_to_utc(sth, ymd, 0);
		int nyse_open = 15 * 60 + 30;
		if (p->nyse_anchor_ny) {
			int64_t guess = t0 + (15 * 60 + 30) * SLOB_NS_PER_MIN;
			nyse_open = 9 * 60 + 30 +
				    (slob_tz_offset(sth, guess) - slob_tz_offset(ny, guess)) / 60;
		}
		int inject_today = p->inject && (weekday_no % p->inject_every) == 0;
		weekday_no++;
		int dir = SLOB_SHORT;
		if (inject_today) {
			switch (p->dir_mode) {
			case SLOB_GEN_DIR_SHORT:
				dir = SLOB_SHORT;
				break;
			case SLOB_GEN_DIR_LONG:
				dir = SLOB_LONG;
				break;
			case SLOB_GEN_DIR_RANDOM:
				dir = (rng_u64(&g.r) & 1) ? SLOB_LONG : SLOB_SHORT;
				break;
			default:
				dir = (injected & 1) ? SLOB_LONG : SLOB_SHORT;
				break;
			}
		}
		int t1 = nyse_open + (int)rng_range(&g.r, 5, 180);
		int32_t H = 0, L = 0;
		int have_lse = 0, done_inject = !inject_today;
		for (int m = 0; m < 23 * 60; m++) {
			int64_t ts = t0 + (int64_t)m * SLOB_NS_PER_MIN;
			int64_t vol = vol_at(&g, m, nyse_open);
			if (!done_inject && m >= nyse_open && m < t1) {
				/* keep inside the LSE range; steer towards the level in the last 30
				 * min */
				int32_t target = 0;
				int steer = t1 - m;
				if (steer <= 30)
					target = dir == SLOB_SHORT ? H - 3 * T : L + 3 * T;
				if ((rc = walk_bar(&g, ts, vol, L, H, target, steer)))
					goto out_free;
				continue;
			}
			if (!done_inject && m == t1) {
				done_inject = 1;
				struct build *b = calloc(1, sizeof(*b));
				if (!b) {
					rc = -ENOMEM;
					goto out_free;
				}
				b->H = H;
				b->L = L;
				int32_t K = H + L;
				int32_t q0 = dir == SLOB_SHORT ? g.px : K - g.px;
				int32_t e, sl, tp, sph;
				int spb, ok = have_lse && build_setup(&g, b, q0) == 0;
				if (ok) { /* a construction must give SL > ENTRY > TP (q
					     coordinates) */
					truth_q(b, T, &e, &sl, &tp, &sph, &spb);
					ok = sl > e && e > tp;
				}
				if (!ok) {
					out->skipped_days++;
					free(b);
					if ((rc = walk_bar(&g, ts, vol, 0, 0, 0, 0)))
						goto out_free;
					continue;
				}
				for (int i = 0; i < b->n; i++) {
					struct qbar q = b->b[i];
					int64_t tsi = ts + (int64_t)i * SLOB_NS_PER_MIN;
					if (dir == SLOB_SHORT)
						rc = push_bar(&g, tsi, q.o, q.h, q.l, q.c, 8);
					else
						rc = push_bar(&g, tsi, K - q.o, K - q.l, K - q.h,
							      K - q.c, 8);
					if (rc) {
						free(b);
						goto out_free;
					}
				}
				struct slob_gen_truth t;
				memset(&t, 0, sizeof(t));
				int liq2 = b->m + b->K - 1;
				t.dir = (int8_t)dir;
				t.spike_branch = (uint8_t)spb;
				t.lse_high = H;
				t.lse_low = L;
				t.liq1_ns = ts;
				t.cons_start_ns = ts + SLOB_NS_PER_MIN;
				t.confirm_ns = ts + (int64_t)b->m * SLOB_NS_PER_MIN;
				t.cons_end_ns = t.confirm_ns - SLOB_NS_PER_MIN;
				t.nowick_ns = ts + (int64_t)b->i_nw * SLOB_NS_PER_MIN;
				t.liq2_ns = ts + (int64_t)liq2 * SLOB_NS_PER_MIN;
				t.entry_ns = ts + (int64_t)(liq2 + b->J) * SLOB_NS_PER_MIN;
				if (dir == SLOB_SHORT) {
					t.liq1_px = b->liq1_h;
					t.cons_high = b->ch;
					t.cons_low = b->cl;
					t.nw_high = b->nw_h;
					t.nw_low = b->nw_l;
					t.liq2_px = b->b[liq2].h;
					t.entry = e;
					t.sl = sl;
					t.tp = tp;
				} else {
					t.liq1_px = K - b->liq1_h;
					t.cons_high = K - b->cl;
					t.cons_low = K - b->ch;
					t.nw_high = K - b->nw_l;
					t.nw_low = K - b->nw_h;
					t.liq2_px = K - b->b[liq2].h;
					t.entry = K - e;
					t.sl = K - sl;
					t.tp = K - tp;
				}
				t.id = slob_detector_setup_id(dir, t.liq1_ns, H, L);
				m += b->n - 1;
				free(b);
				if ((rc = add_truth(&g, &t)))
					goto out_free;
				injected++;
				continue;
			}
			if ((rc = walk_bar(&g, ts, vol, 0, 0, 0, 0)))
				goto out_free;
			if (m >= 9 * 60 && m < nyse_open) {
				const struct slob_bar *bb = &g.bars[g.n - 1];
				if (!have_lse) {
					H = bb->high;
					L = bb->low;
					have_lse = 1;
				} else {
					if (bb->high > H)
						H = bb->high;
					if (bb->low < L)
						L = bb->low;
				}
			}
		}
	}
	out->bars = g.bars;
	out->nbars = g.n;
	out->truth = g.truth;
	out->ntruth = g.nt;
	free(sth);
	free(ny);
	return 0;
out_free:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "gen: out of memory");
	free(g.bars);
	free(g.truth);
	free(sth);
	free(ny);
	return rc;
}

void slob_gen_out_free(struct slob_gen_out *out)
{
	if (!out)
		return;
	free(out->bars);
	free(out->truth);
	memset(out, 0, sizeof(*out));
}

unsigned slob_gen_bar_ticks(uint64_t seed, const struct slob_bar *b, struct slob_tick *out,
			    unsigned max)
{
	struct rng r;
	rng_seed(&r, seed ^ (uint64_t)b->ts_ns * 0x9e3779b97f4a7c15ULL);
	unsigned n = b->ticks < 4 ? 4 : b->ticks;
	if (n > max)
		n = max;
	if (n < 4)
		return 0;
	/* positions of the extremes among 1 .. n-2 */
	unsigned ih = 1 + (unsigned)(rng_u64(&r) % (n - 2));
	unsigned il = 1 + (unsigned)(rng_u64(&r) % (n - 2));
	if (il == ih)
		il = ih == 1 ? 2 : ih - 1;
	int64_t slot = 59 * SLOB_NS_PER_SEC / n;
	for (unsigned i = 0; i < n; i++) {
		int32_t px;
		if (i == 0)
			px = b->open;
		else if (i == n - 1)
			px = b->close;
		else if (i == ih)
			px = b->high;
		else if (i == il)
			px = b->low;
		else
			px = (int32_t)rng_range(&r, b->low, b->high);
		out[i] =
		    (struct slob_tick){.ts_ns = b->ts_ns + (int64_t)i * slot +
						(int64_t)(rng_u64(&r) % (uint64_t)(slot / 2 + 1)),
				       .px = px,
				       .size = 1 + (uint32_t)(rng_u64(&r) % 4)};
	}
	return n;
}
