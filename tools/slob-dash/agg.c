/* SPDX-License-Identifier: MIT */
/*
 * agg.c: the trade_history aggregate behind /api/pnl and /api/summary (daily
 * P&L series, equity curve, win rate, exact peak-to-trough drawdown), kept up
 * to date by a worker thread so no HTTP request ever waits for a scan of a
 * year of trades (P3-1).
 *
 * Design notes
 *  1. The worker owns its own read-only store connection and the aggregate;
 *     the server thread only ever touches the published bodies, under `mu`.
 *     (Locks are fine here: this is the dashboard process, not the engine.)
 *  2. Change detection: the worker polls PRAGMA data_version every
 *     SLOB_DASH_AGG_POLL_MS (or at once when kicked). Then min/max(id) of
 *     trade_history (two O(log n) probes) say how it changed: only new ids
 *     -> the new rows are folded in (~1 ms); anything else (archive deleted
 *     old rows, a trade inserted out of order) -> one full scan. An in-place
 *     edit is caught by a full scan once the body is SLOB_DASH_CACHE_MAX_AGE_S
 *     old; the day boundary by a re-render at that age.
 *  3. A request compares the published body's (min, max) id with what its
 *     own connection sees. Equal -> serve. Different -> kick the worker and
 *     wait at most SLOB_DASH_AGG_WAIT_MS (50 ms) for a matching body; after that,
 *     serve the previous body marked "stale": true. So an append shows at
 *     once, and a full rescan never makes a request slow.
 *  4. State: NO_STORE -> (store opens) -> BUILT <-> (commit seen) -> BUILT;
 *     a failed query publishes an error that requests report (500) until
 *     the next successful build.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/slob-dash/dash.h"

#define NS 1000000000ll
#define SLOB_DASH_AGG_POLL_MS 250
#define SLOB_DASH_AGG_WAIT_MS 50

struct agg_day {
	char day[11];          /* YYYY-MM-DD (UTC, of entry_time) */
	int64_t t;             /* unix seconds of 00:00 UTC */
	double pnl, cum;       /* day's P&L; cumulative at the day's end */
	long long n;
};

/* Running aggregate of trade_history in entry_time order; extended in place
 * when trades are appended, rebuilt when anything else changed. */
struct slob_dash_agg {
	bool valid;
	int64_t min_id, max_id;
	char last_entry[32];   /* entry_time of the last trade applied */
	struct agg_day *days;
	size_t ndays, cap;
	double total, peak, max_dd, gross_win, gross_loss;
	long long n, wins, losses, be;
};

struct trade_row {
	char t[24];
	int64_t id;
	double pnl;
	char oc;               /* 'W', 'L', 'B' */
};

static int64_t data_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

void slob_dash_trade_ids(sqlite3 *db, int64_t *mn, int64_t *mx)
{
	sqlite3_stmt *st;
	*mn = *mx = -1;
	/* Two sub-selects: each min()/max() alone is an O(log n) index probe. */
	if (sqlite3_prepare_v2(db,
			       "SELECT (SELECT min(id) FROM trade_history), "
			       "(SELECT max(id) FROM trade_history)",
			       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			*mn = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
			*mx = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
	}
}

static void agg_reset(struct slob_dash_agg *a)
{
	free(a->days);
	memset(a, 0, sizeof *a);
}

static int agg_add(struct slob_dash_agg *a, const struct trade_row *r)
{
	if (a->ndays == 0 || strncmp(a->days[a->ndays - 1].day, r->t, 10) != 0) {
		if (a->ndays == a->cap) {
			size_t nc = a->cap ? a->cap * 2 : 512;
			struct agg_day *nd = realloc(a->days, nc * sizeof *nd);
			if (nd == NULL)
				return -ENOMEM;
			a->days = nd;
			a->cap = nc;
		}
		struct agg_day *day = &a->days[a->ndays++];
		memset(day, 0, sizeof *day);
		memcpy(day->day, r->t, 10);
		struct tm dt = {0};
		if (sscanf(day->day, "%d-%d-%d", &dt.tm_year, &dt.tm_mon, &dt.tm_mday) == 3) {
			dt.tm_year -= 1900;
			dt.tm_mon -= 1;
			day->t = (int64_t)timegm(&dt);
		}
	}
	struct agg_day *day = &a->days[a->ndays - 1];
	day->pnl += r->pnl;
	day->n++;
	a->n++;
	a->total += r->pnl;
	day->cum = a->total;
	if (a->total > a->peak)
		a->peak = a->total;
	if (a->peak - a->total > a->max_dd)
		a->max_dd = a->peak - a->total;
	if (r->oc == 'W')
		a->wins++;
	else if (r->oc == 'L')
		a->losses++;
	else
		a->be++;
	if (r->pnl > 0)
		a->gross_win += r->pnl;
	else
		a->gross_loss -= r->pnl;
	memcpy(a->last_entry, r->t, sizeof r->t);
	if (r->id > a->max_id)
		a->max_id = r->id;
	return 0;
}

static void row_read(sqlite3_stmt *st, struct trade_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	const char *t = (const char *)sqlite3_column_text(st, 1);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, 1) : 0;
	if (n >= sizeof r->t)
		n = sizeof r->t - 1;
	memcpy(r->t, t ? t : "", n);
	r->t[n] = '\0';
	r->pnl = sqlite3_column_double(st, 2);
	const char *oc = (const char *)sqlite3_column_text(st, 3);
	r->oc = oc == NULL ? 'B' : oc[0] == 'W' ? 'W' : oc[0] == 'L' ? 'L' : 'B';
}

static int row_cmp(const void *x, const void *y)
{
	const struct trade_row *a = x, *b = y;
	int c = strcmp(a->t, b->t);
	return c ? c : (a->id > b->id) - (a->id < b->id);
}

/* Full rebuild: one sequential table scan (rowid order is nearly entry_time
 * order, which is cheaper than walking the entry_time index and looking up
 * every row), sorted in memory only when it is not already in order. */
static int agg_rebuild(sqlite3 *db, struct slob_dash_agg *a, char *err, size_t errlen)
{
	agg_reset(a);
	int64_t mn, mx;
	slob_dash_trade_ids(db, &mn, &mx); /* before the scan: a trade added meanwhile means one more pass */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id, entry_time, pnl, outcome FROM trade_history",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store query: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	struct trade_row *rows = NULL;
	size_t n = 0, cap = 0;
	bool sorted = true;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			struct trade_row *nr = realloc(rows, nc * sizeof *nr);
			if (nr == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			rows = nr;
			cap = nc;
		}
		row_read(st, &rows[n]);
		if (n > 0 && sorted && row_cmp(&rows[n - 1], &rows[n]) > 0)
			sorted = false;
		n++;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "store query: %s",
			 rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
		sqlite3_finalize(st);
		free(rows);
		return -EIO;
	}
	sqlite3_finalize(st);
	if (!sorted)
		qsort(rows, n, sizeof *rows, row_cmp);
	for (size_t i = 0; i < n; i++)
		if (agg_add(a, &rows[i]) < 0) {
			free(rows);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	free(rows);
	a->min_id = mn;
	if (mx > a->max_id)
		a->max_id = mx;
	a->valid = true;
	return 0;
}

/* Appended trades only: returns 1 if applied, 0 if a full rebuild is needed. */
static int agg_extend(sqlite3 *db, struct slob_dash_agg *a)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, entry_time, pnl, outcome FROM trade_history WHERE id > ? "
			       "ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, a->max_id);
	struct trade_row r;
	int rc, ok = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_read(st, &r);
		/* A trade entered before the last one applied changes history: rebuild. */
		if (strcmp(r.t, a->last_entry) < 0 || agg_add(a, &r) < 0) {
			ok = 0;
			break;
		}
	}
	if (ok && rc != SQLITE_DONE)
		ok = 0;
	sqlite3_finalize(st);
	return ok;
}

static double cents(double v)
{
	return round(v * 100) / 100;
}

/* Renders both bodies (malloc'd JSON strings; NULL on out of memory). */
static void agg_render(const struct slob_dash_agg *a, double account_size, char **pnl, char **summary)
{
	json_t *days = json_array(), *t = json_array(), *daily = json_array(), *cum = json_array(),
	       *counts = json_array();
	for (size_t i = 0; i < a->ndays; i++) {
		const struct agg_day *x = &a->days[i];
		json_array_append_new(days, json_string(x->day));
		json_array_append_new(t, json_integer((json_int_t)x->t));
		json_array_append_new(daily, json_real(cents(x->pnl)));
		json_array_append_new(cum, json_real(cents(x->cum)));
		json_array_append_new(counts, json_integer(x->n));
	}
	json_t *pj = json_pack("{s:o,s:o,s:o,s:o,s:o}", "days", days, "t", t, "daily_pnl", daily,
			       "cumulative", cum, "trades", counts);
	*pnl = json_dumps(pj, SLOB_DASH_JSON_FLAGS);
	json_decref(pj);
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	const struct agg_day *last = a->ndays ? &a->days[a->ndays - 1] : NULL;
	bool is_today = last && strcmp(last->day, today) == 0;
	json_t *s = json_object();
	json_object_set_new(s, "total_trades", json_integer(a->n));
	json_object_set_new(s, "wins", json_integer(a->wins));
	json_object_set_new(s, "losses", json_integer(a->losses));
	json_object_set_new(s, "breakeven", json_integer(a->be));
	json_object_set_new(s, "win_rate", json_real(a->n ? (double)a->wins / (double)a->n : 0));
	json_object_set_new(s, "total_pnl", json_real(cents(a->total)));
	json_object_set_new(s, "avg_win", json_real(a->wins ? a->gross_win / (double)a->wins : 0));
	json_object_set_new(s, "avg_loss",
			    json_real(a->losses ? -a->gross_loss / (double)a->losses : 0));
	json_object_set_new(s, "profit_factor",
			    a->gross_loss > 0 ? json_real(a->gross_win / a->gross_loss) : json_null());
	json_object_set_new(s, "max_drawdown", json_real(cents(a->max_dd)));
	json_object_set_new(s, "current_drawdown", json_real(cents(a->peak - a->total)));
	json_object_set_new(s, "max_drawdown_pct",
			    json_real(round(a->max_dd / account_size * 10000) / 100));
	json_object_set_new(s, "today", json_string(today));
	json_object_set_new(s, "today_pnl", json_real(is_today ? cents(last->pnl) : 0));
	json_object_set_new(s, "today_trades", json_integer(is_today ? last->n : 0));
	json_object_set_new(s, "first_day", a->ndays ? json_string(a->days[0].day) : json_null());
	json_object_set_new(s, "last_day", last ? json_string(last->day) : json_null());
	*summary = json_dumps(s, SLOB_DASH_JSON_FLAGS);
	json_decref(s);
}


struct slob_dash_aggw {
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t kick_cv, done_cv;
	/* under mu */
	bool stop, kick;
	char *body[SLOB_DASH_NAGG];
	size_t len[SLOB_DASH_NAGG];
	int64_t pub_min, pub_max;
	uint64_t gen;
	char err[256];           /* last build error ("" = none) */
	/* worker-only */
	char path[PATH_MAX];
	double account_size;
	slob_store_t *store;
	int64_t retry_ns;
	struct slob_dash_agg agg;
	int64_t dv, built_ns, scanned_ns;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void publish(struct slob_dash_aggw *w, char *pnl, char *summary, const char *err)
{
	pthread_mutex_lock(&w->mu);
	if (pnl != NULL && summary != NULL) {
		free(w->body[SLOB_DASH_AGG_PNL]);
		free(w->body[SLOB_DASH_AGG_SUMMARY]);
		w->body[SLOB_DASH_AGG_PNL] = pnl;
		w->body[SLOB_DASH_AGG_SUMMARY] = summary;
		w->len[SLOB_DASH_AGG_PNL] = strlen(pnl);
		w->len[SLOB_DASH_AGG_SUMMARY] = strlen(summary);
		w->pub_min = w->agg.min_id;
		w->pub_max = w->agg.max_id;
		w->err[0] = '\0';
	} else {
		free(pnl);
		free(summary);
		snprintf(w->err, sizeof w->err, "%s", err ? err : "out of memory");
	}
	w->gen++;
	pthread_cond_broadcast(&w->done_cv);
	pthread_mutex_unlock(&w->mu);
}

/* One refresh step on the worker (design note 2). Returns 0 or -errno. */
static int refresh(struct slob_dash_aggw *w)
{
	int64_t now = mono_ns();
	if (w->store == NULL) {
		if (now < w->retry_ns)
			return -EAGAIN;
		w->retry_ns = now + NS;
		if (slob_store_open(w->path, SLOB_STORE_RDONLY, &w->store) < 0)
			return -ENOENT;
		sqlite3 *db = slob_store_db(w->store);
		sqlite3_exec(db, "PRAGMA query_only=ON", NULL, NULL, NULL);
		sqlite3_exec(db, "PRAGMA mmap_size=268435456", NULL, NULL, NULL);
		sqlite3_exec(db, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
		agg_reset(&w->agg);
		w->dv = -1;
	}
	sqlite3 *db = slob_store_db(w->store);
	int64_t dv = data_version(db);
	bool old = now - w->built_ns >= (int64_t)SLOB_DASH_CACHE_MAX_AGE_S * NS;
	if (w->agg.valid && dv == w->dv && dv >= 0 && !old)
		return 0;
	struct slob_dash_agg *a = &w->agg;
	int64_t mn, mx;
	slob_dash_trade_ids(db, &mn, &mx);
	bool same = a->valid && mn == a->min_id && mx == a->max_id;
	bool appended = a->valid && mn == a->min_id && mx > a->max_id;
	bool stale_scan = now - w->scanned_ns >= (int64_t)SLOB_DASH_CACHE_MAX_AGE_S * NS;
	char err[256] = "";
	if (same && !(stale_scan && dv != w->dv)) {
		/* another table changed, or only the day may have: re-render */
	} else if (appended && agg_extend(db, a) == 1) {
		/* folded in */
	} else {
		if (agg_rebuild(db, a, err, sizeof err) < 0) {
			publish(w, NULL, NULL, err);
			w->dv = dv;
			return -EIO;
		}
		w->scanned_ns = now;
	}
	char *pnl = NULL, *summary = NULL;
	agg_render(a, w->account_size, &pnl, &summary);
	publish(w, pnl, summary, NULL);
	w->dv = dv;
	w->built_ns = now;
	return 0;
}

static void *worker(void *arg)
{
	struct slob_dash_aggw *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (!w->kick) {
			struct timespec dl;
			clock_gettime(CLOCK_MONOTONIC, &dl);
			dl.tv_nsec += SLOB_DASH_AGG_POLL_MS * 1000000l;
			dl.tv_sec += dl.tv_nsec / NS;
			dl.tv_nsec %= NS;
			pthread_cond_timedwait(&w->kick_cv, &w->mu, &dl);
		}
		if (w->stop)
			break;
		w->kick = false;
		pthread_mutex_unlock(&w->mu);
		refresh(w);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int slob_dash_agg_start(struct slob_dash *d, long long *trades, double *ms)
{
	struct slob_dash_aggw *w = calloc(1, sizeof *w);
	if (w == NULL)
		return -ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->kick_cv, &ca);
	pthread_cond_init(&w->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(w->path, sizeof w->path, "%s", d->db_path);
	w->account_size = d->p.account_size;
	w->dv = -1;
	d->aggw = w;
	/* First build before the server listens, on this thread. */
	int64_t t0 = mono_ns();
	int rc = refresh(w);
	*ms = (double)(mono_ns() - t0) / 1e6;
	*trades = w->agg.valid ? w->agg.n : -1;
	int e = pthread_create(&w->th, NULL, worker, w);
	if (e != 0)
		return -e;
	w->started = true;
	return rc;
}

void slob_dash_agg_stop(struct slob_dash *d)
{
	struct slob_dash_aggw *w = d->aggw;
	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->kick_cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	for (int i = 0; i < SLOB_DASH_NAGG; i++)
		free(w->body[i]);
	agg_reset(&w->agg);
	slob_store_close(w->store);
	pthread_cond_destroy(&w->kick_cv);
	pthread_cond_destroy(&w->done_cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	d->aggw = NULL;
}

int slob_dash_agg_get(struct slob_dash *d, int which, int64_t mn, int64_t mx, char **body,
		      size_t *len, bool *stale, char *err, size_t errlen)
{
	struct slob_dash_aggw *w = d->aggw;
	*body = NULL;
	if (w == NULL) {
		snprintf(err, errlen, "aggregate not started");
		return -EAGAIN;
	}
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += SLOB_DASH_AGG_WAIT_MS * 1000000l;
	dl.tv_sec += dl.tv_nsec / NS;
	dl.tv_nsec %= NS;
	pthread_mutex_lock(&w->mu);
	while (w->body[which] == NULL || w->pub_min != mn || w->pub_max != mx) {
		uint64_t gen = w->gen;
		w->kick = true;
		pthread_cond_signal(&w->kick_cv);
		int rc = 0;
		while (w->gen == gen && rc == 0)
			rc = pthread_cond_timedwait(&w->done_cv, &w->mu, &dl);
		if (rc != 0 || w->err[0] != '\0')
			break; /* out of time, or the build failed: serve what there is */
	}
	int ret = 0;
	if (w->body[which] != NULL) {
		*stale = w->pub_min != mn || w->pub_max != mx;
		*len = w->len[which];
		*body = malloc(*len + 1);
		if (*body == NULL)
			ret = -ENOMEM;
		else
			memcpy(*body, w->body[which], *len + 1);
	} else {
		snprintf(err, errlen, "%s", w->err[0] ? w->err : "trade_history aggregate is being built");
		ret = w->err[0] ? -EIO : -EAGAIN;
	}
	pthread_mutex_unlock(&w->mu);
	return ret;
}
