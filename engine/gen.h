/* SPDX-License-Identifier: MIT */
/*
 * gen.h: deterministic synthetic NQ-like market data (the library behind
 * tools/slob-gen). It builds M1 bars for weekday sessions with a volatility
 * profile by time of day (Asia / London / New York open / New York) and
 * Markov volatility regimes, optionally injecting 5/1 SLOB setups that the
 * C rules of STRATEGY.md must find, and records each injected setup's ground
 * truth (entry, SL, TP and the levels that define them). Ticks are derived
 * from the bars (slob_gen_bar_ticks), so ticks -> candles reproduces the bars
 * exactly.
 *
 * Design notes
 *  1. Everything is a pure function of the params (seed included): the same
 *     params give the same bars, ticks and truth on every machine. The
 *     walk uses integer arithmetic only (xoshiro256** draws, Irwin-Hall
 *     normal steps, a square-root table); the only floating point is the
 *     one-time rounding of start_price, tick_size and vol_scale.
 *  2. Prices are int32 ticks of tick_size; times int64 UTC ns; every bar
 *     opens at the previous bar's close, so the data never has a price gap
 *     (R10) unless a session break separates the bars.
 *  3. An injection day: the LSE window is a free walk; from the NYSE open
 *     until the chosen LIQ#1 minute the walk is kept inside [LSE_LOW,
 *     LSE_HIGH] (so no earlier candidate exists); then a constructed bar
 *     sequence realises LIQ#1, a 15+ candle consolidation of 0.15-0.30 % with
 *     exactly one designed first no-wick candle, LIQ#2 6-20 candles after the
 *     confirmation and the entry trigger 1-20 candles after LIQ#2. LONG
 *     setups are the mirror image (p -> LSE_HIGH + LSE_LOW - p). A day whose
 *     LSE range is too narrow for a positive RR gets no injection.
 *  4. Truth values follow STRATEGY.md's definitions (R11-R29) with the
 *     detector's default parameters.
 */
#ifndef SLOB_GEN_H
#define SLOB_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "engine/event.h"

enum slob_gen_dirmode {
	SLOB_GEN_DIR_ALTERNATE = 0, /* SHORT, LONG, SHORT, ... */
	SLOB_GEN_DIR_SHORT,
	SLOB_GEN_DIR_LONG,
	SLOB_GEN_DIR_RANDOM,
};

struct slob_gen_params {
	uint64_t seed;
	int32_t start_ymd;	/* first calendar day (Stockholm date), e.g. 20260112 */
	int32_t days;		/* calendar days; weekends produce nothing */
	double start_price;	/* points, e.g. 20000 */
	double tick_size;	/* 0.25 */
	int32_t inject;		/* 0: plain random walk; 1: inject setups */
	int32_t inject_every;	/* inject on every Nth weekday (1 = every day) */
	int32_t dir_mode;	/* enum slob_gen_dirmode */
	double vol_scale;	/* multiplies the volatility profile (1.0) */
	int32_t ticks_per_min;	/* mean ticks per minute at volatility 1 (8) */
	int32_t nyse_anchor_ny; /* 1: NYSE open 09:30 New York (default); 0: 15:30 local */
};

/* One injected setup, as the detector must report it. */
struct slob_gen_truth {
	uint64_t id; /* slob_detector_setup_id(...) */
	int8_t dir;  /* SLOB_SHORT / SLOB_LONG */
	uint8_t spike_branch;
	int32_t lse_high, lse_low;
	int64_t liq1_ns;
	int32_t liq1_px;
	int64_t cons_start_ns, cons_end_ns; /* first and last candle of the frozen window */
	int32_t cons_high, cons_low;
	int64_t nowick_ns;
	int32_t nw_high, nw_low;
	int64_t confirm_ns;
	int64_t liq2_ns;
	int32_t liq2_px;
	int64_t entry_ns;
	int32_t entry, sl, tp;
};

struct slob_gen_out {
	struct slob_bar *bars; /* malloc'ed; free with slob_gen_out_free */
	size_t nbars;
	struct slob_gen_truth *truth;
	size_t ntruth;
	size_t skipped_days; /* injection days skipped (LSE range too narrow) */
};

/* Defaults: seed 1, 2026-01-12, 5 days, 20000, 0.25, inject every day,
 * alternate, vol 1.0, 8 ticks/min, NY anchor. */
void slob_gen_params_default(struct slob_gen_params *p);

/* Named presets: "sample" (one week, fixed seed, a setup per day alternating),
 * "year" (2026, one setup every 3rd weekday), "walk-year" (2026, no
 * injection). Returns 0 or -ENOENT. */
int slob_gen_preset(struct slob_gen_params *p, const char *name);

/*
 * slob_gen_run - generates bars (and truth). Returns 0, -EINVAL (bad params,
 * message in err), -ENOENT (time zone data missing), -ENOMEM. Cold path.
 */
int slob_gen_run(const struct slob_gen_params *p, struct slob_gen_out *out, char *err,
		 size_t errlen);
void slob_gen_out_free(struct slob_gen_out *out);

/*
 * slob_gen_bar_ticks - the ticks of one bar: first tick = open at the start
 * of the minute, the high and the low visited, last tick = close, all times
 * strictly increasing inside the minute. Deterministic in (seed, bar).
 * Writes at most max ticks (max >= 4) with ts_ns, px, size set (seq, recv,
 * flags zero); returns the count.
 */
unsigned slob_gen_bar_ticks(uint64_t seed, const struct slob_bar *b, struct slob_tick *out,
			    unsigned max);

#define SLOB_GEN_MAX_TICKS_PER_BAR 64

#endif /* SLOB_GEN_H */
