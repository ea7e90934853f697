/* SPDX-License-Identifier: MIT */
/*
 * recover.h: slobd's start-up against the store: single instance, integrity
 * check (with optional auto-restore of the newest verified backup, P0-1),
 * migration, and loading everything the hot stages need before the first
 * tick (open setups incl. operators' manual rows, open orders, positions,
 * risk state, ids of setups that already had orders: P0-2 without SQL).
 *
 * Design notes
 *  1. Order: lock -> check -> (restore) -> open+migrate -> load. Nothing is
 *     written before the lock is held and the file verified.
 *  2. struct slob_recovered holds plain arrays in engine units (ticks, cents,
 *     ns) so the risk gate and the sender copy them at start-up; it is
 *     freed with slob_recovered_free() before the hot path runs.
 *  3. A corrupt store never starts silently: without auto_restore start-up
 *     fails with the newest verified backup and the restore command in the
 *     message; with it, the corrupt file is kept aside and the report says
 *     so (the caller sends it as an alert). An empty, table-less or missing
 *     store where a store has lived (slob_store_check_startup) is treated
 *     the same way: a lost store is never taken for a new one.
 */
#ifndef SLOB_RECOVER_H
#define SLOB_RECOVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/event.h"
#include "engine/instrument.h"
#include "persist/store.h"

struct slob_rec_setup {
	uint64_t id;	       /* engine id, or xxh3 of a manual id text */
	char id_text[64];      /* active_setups.id as stored */
	char state[24];	       /* as stored: SETUP_COMPLETE, ACTIVE (manual) ... */
	bool manual;	       /* not written by the engine (P0-2 insert) */
	bool placed;	       /* an order was sent for it */
	int8_t dir;	       /* +1 LONG, -1 SHORT, 0 unknown (manual rows: from sl/tp) */
	int32_t entry, sl, tp; /* ticks, 0 = NULL */
	int32_t qty;	       /* manual rows: contracts (0 = unknown) */
	int64_t created_ns;
};

struct slob_rec_order {
	char order_ref[SLOB_ORDER_REF_LEN];
	int64_t order_id, parent_id;
	uint64_t setup_id;
	uint8_t role;	 /* enum slob_role */
	int8_t dir;	 /* +1 BUY, -1 SELL */
	char status[16]; /* as stored: PENDING SUBMITTED PARTIAL FILLED ... */
	int32_t qty, filled, px;
	bool open; /* status PENDING/SUBMITTED/PARTIAL/RECONCILED */
};

struct slob_rec_position {
	uint64_t setup_id; /* 0: aggregate instrument row */
	int32_t qty, avg_px, sl, tp;
};

struct slob_rec_risk {
	bool present; /* a risk_state row exists */
	int64_t equity_cents, peak_cents, daily_pnl_cents, realised_cents;
	int64_t broker_peak_cents; /* 0: none (paper, or an older store) */
	int32_t open_positions, trading_day;
	bool breaker_tripped;
	int32_t breaker_code;
	char breaker_reason[96];
};

struct slob_recovered {
	struct slob_rec_setup *setups;
	unsigned nsetups;
	struct slob_rec_order *orders; /* every order the store knows (oldest first),
					* so reconciliation recognises executions of
					* filled orders too; `open` marks working ones */
	unsigned norders;
	unsigned nopen_orders; /* of which open */
	struct slob_rec_position *positions;
	unsigned npositions;
	uint64_t *placed; /* setup ids that ever had an order */
	unsigned nplaced;
	struct slob_rec_risk risk;
	unsigned pending_commands; /* operator_commands not yet applied */
	uint64_t *exec_ids;	   /* xxh3-64 of every fills.exec_id, sorted: executions
				    * the broker replays after a restart or reconnect
				    * are booked once (slob_recovered_has_exec) */
	unsigned nexec_ids;
};

/*
 * slob_recover_load - reads the start-up state from an open store: setups
 * with closed_at NULL and state not INVALIDATED (manual rows included),
 * every order (open ones flagged: PENDING/SUBMITTED/PARTIAL/RECONCILED), every
 * positions row, risk_state, and the ids of setups with any order row or
 * placed=1. NULL prices load as 0. ins converts prices to ticks (NULL: NQ).
 * Returns 0 or -errno (-ENOMEM, -EIO). Start-up thread; blocks.
 */
int slob_recover_load(slob_store_t *s, const struct slob_instrument *ins,
		      struct slob_recovered *out);

/* Frees the arrays. Accepts NULL and zeroed structs. */
void slob_recovered_free(struct slob_recovered *r);

/* Is setup `id` among r->placed (binary search; r->placed is sorted). */
bool slob_recovered_placed(const struct slob_recovered *r, uint64_t id);

/*
 * slob_recovered_manual_position - is setup row i a position an operator
 * added by hand for the engine to manage (slobctl add-position, or the
 * guide's INSERT INTO active_setups with a qty): source manual, state
 * ACTIVE, qty > 0, a direction and a stop and target. Such a row is
 * restored into risk as an open position (stop/target known, counted, part
 * of the net position reconciliation compares with the broker) unless a
 * positions row of the same id already holds it.
 */
bool slob_recovered_manual_position(const struct slob_recovered *r, unsigned i);

/*
 * slob_recover_fold_journal - folds the order journal at path
 * (engine/journal.h) into the store before anything else reads it: for
 * every BRACKET intent without a later REFUSED record, the orders rows of
 * its three legs (orderRef, broker id, parent, setup, role, action, qty,
 * price) are inserted with status PENDING when the store lacks them, and
 * the setup is marked placed; committed with synchronous=FULL. Only after
 * this returns 0 may the caller reset the journal (slob_journal_open).
 * *intents / *added (NULL-able) get the intents read and the rows added.
 * Returns 0 (also when there is no journal), or -errno with the message in
 * err (a journal that cannot be read or folded: start-up must stop, the
 * file stays as it is). Start-up thread; blocks.
 */
int slob_recover_fold_journal(slob_store_t *s, const char *path,
			      const struct slob_instrument *ins, unsigned *intents,
			      unsigned *added, char *err, size_t errlen);

struct slob_startup {
	int lock_fd;	     /* keep open for the process lifetime */
	slob_store_t *store; /* open, migrated */
	bool restored;	     /* auto-restore happened */
	char restored_from[PATH_MAX];
	char corrupt_kept[PATH_MAX]; /* where the corrupt file went */
	char report[512];	     /* one paragraph for the log/alert */
};

/*
 * slob_recover_startup - lock the data directory (the directory of db_path),
 * check the store (quick_check; integrity_check when p->integrity_full),
 * restore the newest verified backup if it is corrupt and p->auto_restore,
 * open and migrate. On success fills *out (close with slob_recover_shutdown).
 * Errors, with the message in err:
 *   -EBUSY  "another slobd (pid N) holds <dir>"
 *   -EIO    "store <path> is corrupt (...). Newest verified backup: <file>.
 *            Restore with: slobctl restore <file> (or set store.auto_restore)"
 *   others  from the store (naming the path).
 * p may be NULL (defaults). Start-up thread; blocks.
 */
int slob_recover_startup(const char *db_path, const struct slob_store_params *p,
			 struct slob_startup *out, char *err, size_t errlen);

/* Closes the store and releases the lock. Accepts a zeroed struct. */
void slob_recover_shutdown(struct slob_startup *st);

#endif /* SLOB_RECOVER_H */
