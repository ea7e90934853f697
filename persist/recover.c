/* SPDX-License-Identifier: MIT */
/*
 * recover.c: start-up sequence and state loading (see recover.h).
 */
/* See backup.c: bounded, checked paths; truncated messages are harmless. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/journal.h"
#include "persist/backup.h"
#include "persist/lock.h"
#include "persist/recover.h"

static int32_t ticks_of(const struct slob_instrument *ins, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	return slob_px_from_double(ins, sqlite3_column_double(st, col));
}

static void text_of(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int grow(void **arr, unsigned n, unsigned *cap, size_t elem)
{
	if (n < *cap)
		return 0;
	unsigned nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, (size_t)nc * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return slob_store_seterr_(-slob_store_errno_(rc), "recovery query failed: %s",
					  sqlite3_errmsg(db));
	return 0;
}

static int finish(sqlite3 *db, sqlite3_stmt *st, int rc)
{
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return slob_store_seterr_(-slob_store_errno_(rc), "recovery read failed: %s",
					  sqlite3_errmsg(db));
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint8_t role_of(const char *r)
{
	return !strcmp(r, "TP") ? SLOB_ROLE_TP : !strcmp(r, "SL") ? SLOB_ROLE_SL : SLOB_ROLE_ENTRY;
}

int slob_recover_load(slob_store_t *s, const struct slob_instrument *insp,
		      struct slob_recovered *out)
{
	struct slob_instrument ins;
	if (insp)
		ins = *insp;
	else
		slob_instrument_nq(&ins);
	memset(out, 0, sizeof(*out));
	sqlite3 *db = slob_store_db(s);
	sqlite3_stmt *st;
	unsigned cap = 0;
	int rc, e;

	/* setups still open: not closed, not invalidated (manual rows too) */
	if ((e = prep(
		 db,
		 "SELECT id, state, source, placed, direction, entry_price, sl_price, tp_price,"
		 " qty, created_at FROM active_setups WHERE closed_at IS NULL AND state !="
		 " 'INVALIDATED' ORDER BY created_at, id",
		 &st)) < 0)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (grow((void **)&out->setups, out->nsetups, &cap, sizeof(*out->setups)) < 0) {
			sqlite3_finalize(st);
			e = slob_store_seterr_(ENOMEM, "recovery: out of memory");
			goto fail;
		}
		struct slob_rec_setup *r = &out->setups[out->nsetups++];
		memset(r, 0, sizeof(*r));
		text_of(st, 0, r->id_text, sizeof(r->id_text));
		text_of(st, 1, r->state, sizeof(r->state));
		char src[16], dir[8], created[32];
		text_of(st, 2, src, sizeof(src));
		bool manual_id;
		r->id = slob_store_setup_id_parse(r->id_text, &manual_id);
		r->manual = manual_id || strcmp(src, "engine") != 0;
		r->placed = sqlite3_column_int(st, 3) != 0;
		text_of(st, 4, dir, sizeof(dir));
		r->entry = ticks_of(&ins, st, 5);
		r->sl = ticks_of(&ins, st, 6);
		r->tp = ticks_of(&ins, st, 7);
		r->qty = sqlite3_column_int(st, 8);
		text_of(st, 9, created, sizeof(created));
		slob_store_time_parse(created, &r->created_ns);
		if (!strcmp(dir, "LONG"))
			r->dir = SLOB_LONG;
		else if (!strcmp(dir, "SHORT"))
			r->dir = SLOB_SHORT;
		else if (r->entry && r->sl)
			r->dir = r->sl < r->entry ? SLOB_LONG : SLOB_SHORT;
	}
	if ((e = finish(db, st, rc)) < 0)
		goto fail;

	cap = 0;
	if ((e = prep(db,
		      "SELECT order_ref, order_id, parent_id, setup_id, role, action, status, qty,"
		      " filled_qty, price, status IN ('PENDING','SUBMITTED','PARTIAL','RECONCILED')"
		      " FROM orders ORDER BY id",
		      &st)) < 0)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (grow((void **)&out->orders, out->norders, &cap, sizeof(*out->orders)) < 0) {
			sqlite3_finalize(st);
			e = slob_store_seterr_(ENOMEM, "recovery: out of memory");
			goto fail;
		}
		struct slob_rec_order *o = &out->orders[out->norders++];
		memset(o, 0, sizeof(*o));
		char sid[64], role[8], action[8];
		text_of(st, 0, o->order_ref, sizeof(o->order_ref));
		o->order_id = sqlite3_column_int64(st, 1);
		o->parent_id = sqlite3_column_int64(st, 2);
		text_of(st, 3, sid, sizeof(sid));
		o->setup_id = sid[0] ? slob_store_setup_id_parse(sid, NULL) : 0;
		text_of(st, 4, role, sizeof(role));
		o->role = role_of(role);
		text_of(st, 5, action, sizeof(action));
		o->dir = !strcmp(action, "BUY") ? 1 : !strcmp(action, "SELL") ? -1 : 0;
		text_of(st, 6, o->status, sizeof(o->status));
		o->qty = sqlite3_column_int(st, 7);
		o->filled = sqlite3_column_int(st, 8);
		o->px = ticks_of(&ins, st, 9);
		o->open = sqlite3_column_int(st, 10) != 0;
		if (o->open)
			out->nopen_orders++;
	}
	if ((e = finish(db, st, rc)) < 0)
		goto fail;

	cap = 0;
	if ((e = prep(db,
		      "SELECT setup_id, qty, avg_price, sl_price, tp_price FROM positions"
		      " ORDER BY setup_id",
		      &st)) < 0)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (grow((void **)&out->positions, out->npositions, &cap, sizeof(*out->positions)) <
		    0) {
			sqlite3_finalize(st);
			e = slob_store_seterr_(ENOMEM, "recovery: out of memory");
			goto fail;
		}
		struct slob_rec_position *p = &out->positions[out->npositions++];
		char sid[64];
		text_of(st, 0, sid, sizeof(sid));
		bool manual;
		p->setup_id = slob_store_setup_id_parse(sid, &manual);
		if (!strcmp(sid, ins.symbol))
			p->setup_id = 0;
		p->qty = sqlite3_column_int(st, 1);
		p->avg_px = ticks_of(&ins, st, 2);
		p->sl = ticks_of(&ins, st, 3);
		p->tp = ticks_of(&ins, st, 4);
	}
	if ((e = finish(db, st, rc)) < 0)
		goto fail;

	cap = 0;
	if ((e = prep(db,
		      "SELECT setup_id FROM orders WHERE setup_id IS NOT NULL UNION"
		      " SELECT id FROM active_setups WHERE placed != 0",
		      &st)) < 0)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (grow((void **)&out->placed, out->nplaced, &cap, sizeof(*out->placed)) < 0) {
			sqlite3_finalize(st);
			e = slob_store_seterr_(ENOMEM, "recovery: out of memory");
			goto fail;
		}
		char sid[64];
		text_of(st, 0, sid, sizeof(sid));
		out->placed[out->nplaced++] = slob_store_setup_id_parse(sid, NULL);
	}
	if ((e = finish(db, st, rc)) < 0)
		goto fail;
	if (out->nplaced)
		qsort(out->placed, out->nplaced, sizeof(*out->placed), cmp_u64);

	if ((e = prep(db,
		      "SELECT equity_cents, peak_cents, daily_pnl_cents, realised_cents,"
		      " open_positions, trading_day, breaker_tripped, breaker_code,"
		      " breaker_reason, broker_peak_cents FROM risk_state WHERE id=1",
		      &st)) < 0)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct slob_rec_risk *k = &out->risk;
		k->present = true;
		k->equity_cents = sqlite3_column_int64(st, 0);
		k->peak_cents = sqlite3_column_int64(st, 1);
		k->daily_pnl_cents = sqlite3_column_int64(st, 2);
		k->realised_cents = sqlite3_column_int64(st, 3);
		k->open_positions = sqlite3_column_int(st, 4);
		k->trading_day = sqlite3_column_int(st, 5);
		k->breaker_tripped = sqlite3_column_int(st, 6) != 0;
		k->breaker_code = sqlite3_column_int(st, 7);
		text_of(st, 8, k->breaker_reason, sizeof(k->breaker_reason));
		k->broker_peak_cents = sqlite3_column_int64(st, 9); /* NULL -> 0 */
		rc = SQLITE_DONE;
	}
	if ((e = finish(db, st, rc)) < 0)
		goto fail;
	cap = 0;
	if ((e = prep(db, "SELECT exec_id FROM fills", &st)) < 0)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (grow((void **)&out->exec_ids, out->nexec_ids, &cap, sizeof(*out->exec_ids)) <
		    0) {
			sqlite3_finalize(st);
			e = slob_store_seterr_(ENOMEM, "recovery: out of memory");
			goto fail;
		}
		const unsigned char *t = sqlite3_column_text(st, 0);
		size_t l = t ? strlen((const char *)t) : 0;
		out->exec_ids[out->nexec_ids++] = XXH3_64bits(t ? (const char *)t : "", l);
	}
	if ((e = finish(db, st, rc)) < 0)
		goto fail;
	if (out->nexec_ids)
		qsort(out->exec_ids, out->nexec_ids, sizeof(*out->exec_ids), cmp_u64);

	int64_t n = slob_store_query_i64(s, "SELECT count(*) FROM operator_commands WHERE"
					    " applied_at IS NULL");
	out->pending_commands = n > 0 ? (unsigned)n : 0;
	return 0;
fail:
	slob_recovered_free(out);
	return e;
}

void slob_recovered_free(struct slob_recovered *r)
{
	if (!r)
		return;
	free(r->setups);
	free(r->orders);
	free(r->positions);
	free(r->placed);
	free(r->exec_ids);
	memset(r, 0, sizeof(*r));
}

bool slob_recovered_placed(const struct slob_recovered *r, uint64_t id)
{
	return r->nplaced && bsearch(&id, r->placed, r->nplaced, sizeof(*r->placed), cmp_u64);
}

bool slob_recovered_manual_position(const struct slob_recovered *r, unsigned i)
{
	const struct slob_rec_setup *u = &r->setups[i];
	return u->manual && strcmp(u->state, "ACTIVE") == 0 && u->qty > 0 &&
	       (u->dir == SLOB_LONG || u->dir == SLOB_SHORT) && u->sl != 0 && u->tp != 0;
}

/* ---- order journal fold ------------------------------------------------------ */

struct fold {
	struct slob_journal_rec *r;
	unsigned n, cap;
};

static int fold_visit(void *ctx, const struct slob_journal_rec *rec)
{
	struct fold *f = ctx;
	if (grow((void **)&f->r, f->n, &f->cap, sizeof(*f->r)) < 0)
		return -ENOMEM;
	f->r[f->n++] = *rec;
	return 0;
}

static bool fold_refused(const struct fold *f, unsigned i)
{
	for (unsigned k = i + 1; k < f->n; k++)
		if (f->r[k].kind == SLOB_JOURNAL_REFUSED && f->r[k].setup_id == f->r[i].setup_id &&
		    f->r[k].first_id == f->r[i].first_id)
			return true;
	return false;
}

int slob_recover_fold_journal(slob_store_t *s, const char *path,
			      const struct slob_instrument *insp, unsigned *intents,
			      unsigned *added, char *err, size_t errlen)
{
	struct slob_instrument ins;
	if (insp)
		ins = *insp;
	else
		slob_instrument_nq(&ins);
	struct fold f = {0};
	unsigned nvalid = 0, nint = 0, nadd = 0;
	if (intents)
		*intents = 0;
	if (added)
		*added = 0;
	int e = slob_journal_read(path, fold_visit, &f, &nvalid, err, errlen);
	if (e == -ENOENT)
		return 0;
	if (e == -ENOMEM)
		snprintf(err, errlen, "order journal %s: out of memory", path);
	if (e < 0) {
		free(f.r);
		return e;
	}
	sqlite3 *db = slob_store_db(s);
	sqlite3_stmt *ins_st = NULL, *placed_st = NULL;
	static const char *const suffix[3] = {"_ENTRY", "_TP", "_SL"};
	static const char *const role[3] = {"ENTRY", "TP", "SL"};
	int rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		    db,
		    "INSERT OR IGNORE INTO orders (order_ref, order_id, parent_id, setup_id, role,"
		    " action, status, qty, price, created_at, updated_at)"
		    " VALUES (?1,?2,?3,?4,?5,?6,'PENDING',?7,?8,?9,?9)",
		    -1, &ins_st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "UPDATE active_setups SET placed=1 WHERE id=?1", -1,
					&placed_st, NULL);
	for (unsigned i = 0; rc == SQLITE_OK && i < f.n; i++) {
		const struct slob_journal_rec *j = &f.r[i];
		if (j->kind != SLOB_JOURNAL_BRACKET || fold_refused(&f, i))
			continue;
		nint++;
		char sid[17], ts[SLOB_STORE_TIME_LEN];
		slob_store_setup_id_fmt(j->setup_id, sid);
		slob_store_time_fmt(j->ts_ns, ts, sizeof(ts));
		for (int r = 0; r < 3 && rc == SQLITE_OK; r++) {
			char ref[SLOB_ORDER_REF_LEN + 8];
			snprintf(ref, sizeof(ref), "%s%s", j->order_ref, suffix[r]);
			bool buy = r == 0 ? j->dir == SLOB_LONG : j->dir == SLOB_SHORT;
			int32_t px = r == 0 ? j->entry : r == 1 ? j->tp : j->sl;
			sqlite3_reset(ins_st);
			sqlite3_clear_bindings(ins_st);
			sqlite3_bind_text(ins_st, 1, ref, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(ins_st, 2, j->first_id + r);
			if (r > 0)
				sqlite3_bind_int64(ins_st, 3, j->first_id);
			sqlite3_bind_text(ins_st, 4, sid, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(ins_st, 5, role[r], -1, SQLITE_STATIC);
			sqlite3_bind_text(ins_st, 6, buy ? "BUY" : "SELL", -1, SQLITE_STATIC);
			sqlite3_bind_int(ins_st, 7, j->qty);
			sqlite3_bind_double(ins_st, 8, slob_px_to_double(&ins, px));
			sqlite3_bind_text(ins_st, 9, ts, -1, SQLITE_TRANSIENT);
			rc = sqlite3_step(ins_st);
			if (rc == SQLITE_DONE) {
				nadd += (unsigned)sqlite3_changes(db);
				rc = SQLITE_OK;
			}
		}
		if (rc == SQLITE_OK) {
			sqlite3_reset(placed_st);
			sqlite3_bind_text(placed_st, 1, sid, -1, SQLITE_TRANSIENT);
			rc = sqlite3_step(placed_st);
			rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		}
	}
	sqlite3_finalize(ins_st);
	sqlite3_finalize(placed_st);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen,
			 "order journal %s: folding %u records into the store failed: %s (journal "
			 "kept)",
			 path, nvalid, sqlite3_errmsg(db));
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		e = -slob_store_errno_(rc);
	}
	(void)sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	free(f.r);
	if (e == 0) {
		if (intents)
			*intents = nint;
		if (added)
			*added = nadd;
	}
	return e < 0 ? e : 0;
}

static int dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	int n = slash ? snprintf(out, len, "%.*s", (int)(slash == path ? 1 : slash - path), path)
		      : snprintf(out, len, ".");
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int slob_recover_startup(const char *db_path, const struct slob_store_params *pp,
			 struct slob_startup *out, char *err, size_t errlen)
{
	struct slob_store_params p;
	if (pp)
		p = *pp;
	else
		slob_store_params_default(&p);
	memset(out, 0, sizeof(*out));
	out->lock_fd = -1;
	char dir[PATH_MAX];
	int e;
	if ((e = dir_of(db_path, dir, sizeof(dir))) < 0) {
		snprintf(err, errlen, "store path too long: %s", db_path);
		return e;
	}
	/* the data directory must exist to hold the lock file */
	for (char *q = dir + 1;; q++) {
		char c = *q;
		if (c == '/' || c == 0) {
			*q = 0;
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				e = -errno;
				snprintf(err, errlen, "cannot create data directory %s: %s", dir,
					 strerror(errno));
				return e;
			}
			*q = c;
		}
		if (c == 0)
			break;
	}
	int fd = slob_lock_acquire(dir, err, errlen);
	if (fd < 0)
		return fd;
	out->lock_fd = fd;

	{
		/* corrupt, empty, or lost while a store lived here: P0-1 */
		e = slob_store_check_startup(db_path, p.integrity_full);
		if (e == -EIO) {
			char why[512], bdir[PATH_MAX], latest[PATH_MAX];
			snprintf(why, sizeof(why), "%s", slob_store_strerror());
			slob_backup_default_dir(db_path, bdir, sizeof(bdir));
			int have = slob_backup_latest(bdir, latest, sizeof(latest));
			if (!p.auto_restore || have < 0) {
				if (have < 0)
					snprintf(
					    err, errlen,
					    "%s. No verified backup in %s: move the file aside and "
					    "start with an empty store, or restore one by hand "
					    "(slobctl restore <file>)",
					    why, bdir);
				else
					snprintf(
					    err, errlen,
					    "%s. Newest verified backup: %s. Restore with: slobctl "
					    "restore %s (slobd stopped), or set "
					    "store.auto_restore=true",
					    why, latest, latest);
				slob_lock_release(fd);
				out->lock_fd = -1;
				return -EIO;
			}
			e = slob_backup_restore_locked(db_path, latest, out->corrupt_kept,
						       sizeof(out->corrupt_kept));
			if (e < 0) {
				snprintf(err, errlen, "%s; auto-restore of %s failed: %s", why,
					 latest, slob_store_strerror());
				slob_lock_release(fd);
				out->lock_fd = -1;
				return e;
			}
			out->restored = true;
			snprintf(out->restored_from, sizeof(out->restored_from), "%s", latest);
			snprintf(
			    out->report, sizeof(out->report),
			    "store was corrupt or lost (%.200s); restored %.120s; previous file "
			    "kept as %.120s; trades after that backup must be reconciled with the "
			    "broker",
			    why, latest, out->corrupt_kept[0] ? out->corrupt_kept : "(none)");
		} else if (e < 0) {
			snprintf(err, errlen, "%s", slob_store_strerror());
			slob_lock_release(fd);
			out->lock_fd = -1;
			return e;
		}
	}
	/* this connection becomes the cold writer's: short busy timeout (the
	 * writer retries by itself and must not stall the cold thread) */
	e = slob_store_open(db_path, SLOB_STORE_WRITER, &out->store);
	if (e < 0) {
		snprintf(err, errlen, "%s", slob_store_strerror());
		slob_lock_release(fd);
		out->lock_fd = -1;
		return e;
	}
	if (!out->restored)
		snprintf(out->report, sizeof(out->report), "store %.400s: %s ok, schema version %d",
			 db_path, p.integrity_full ? "integrity_check" : "quick_check",
			 slob_store_version(out->store));
	return 0;
}

void slob_recover_shutdown(struct slob_startup *st)
{
	if (!st)
		return;
	slob_store_close(st->store);
	st->store = NULL;
	if (st->lock_fd >= 0)
		slob_lock_release(st->lock_fd);
	st->lock_fd = -1;
}
