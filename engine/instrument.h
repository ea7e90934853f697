/* SPDX-License-Identifier: MIT */
/*
 * instrument.h: the traded contract (configuration [instrument]). Prices on
 * the hot path are integer counts of tick_size; money is integer cents.
 *   NQ:  tick 0.25, point value 20 USD -> one tick = 500 cents
 *   MNQ: tick 0.25, point value  2 USD -> one tick =  50 cents
 */
#ifndef SLOB_INSTRUMENT_H
#define SLOB_INSTRUMENT_H

#include <math.h>
#include <stdint.h>

struct slob_instrument {
	char symbol[16];          /* "NQ" */
	char exchange[16];        /* "CME" */
	char currency[8];         /* "USD" */
	char sec_type[8];         /* "FUT" */
	char trading_class[16];   /* "" = any (NQ, MNQ) */
	char contract_month[8];   /* "auto" (roll rule) or YYYYMM */
	int roll_days;            /* roll rule: days before the last trade date (8) */
	double multiplier;        /* instrument.multiplier as given; 0 = point_value */
	double tick_size;         /* 0.25 */
	double point_value;       /* 20.0 USD per point per contract */
	int64_t tick_value_cents; /* point_value * tick_size * 100 */
	int32_t ticks_per_point;  /* 1 / tick_size when integral (NQ: 4) */
};

static inline void slob_instrument_nq(struct slob_instrument *in)
{
	*in = (struct slob_instrument){.symbol = "NQ", .exchange = "CME", .currency = "USD",
				       .sec_type = "FUT", .contract_month = "auto", .roll_days = 8,
				       .tick_size = 0.25, .point_value = 20.0,
				       .tick_value_cents = 500, .ticks_per_point = 4};
}

/* Recomputes the derived fields after tick_size / point_value changed. */
static inline void slob_instrument_derive(struct slob_instrument *in)
{
	in->tick_value_cents = llround(in->point_value * in->tick_size * 100.0);
	in->ticks_per_point = (int32_t)llround(1.0 / in->tick_size);
}

/* Price (e.g. 20000.25) to ticks, rounded to the nearest tick. */
static inline int32_t slob_px_from_double(const struct slob_instrument *in, double px)
{
	return (int32_t)llround(px / in->tick_size);
}

static inline double slob_px_to_double(const struct slob_instrument *in, int32_t ticks)
{
	return (double)ticks * in->tick_size;
}

#endif /* SLOB_INSTRUMENT_H */
