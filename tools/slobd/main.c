/* SPDX-License-Identifier: MIT */
/*
 * slobd: the engine daemon.
 *
 *   slobd [options] replay FILE     replay ticks (or M1 bars) through the whole
 *                                   pipeline; the sender's paper broker fills
 *   slobd [options] live            trade through TWS / IB Gateway
 *   slobd [options] sweep FILE ...  parameter grid over a data file (sweep.c)
 *   slobd --check-config            validate and print the effective config
 *   slobd --config-doc              print the configuration reference
 *
 * Start-up order: configuration -> single-instance lock and store check
 * (persist/recover.h) -> state recovery -> logs, alerts, stats file ->
 * pipeline build -> threads -> READY=1. SIGTERM/SIGINT: graceful stop (no
 * new entries, open brackets stay at the broker, rings drained, store
 * flushed, exit 0). SIGHUP: reload of the keys that are safe to change live.
 * Exit codes: see usage() and docs/OPERATIONS.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/config.h"
#include "engine/pipeline.h"
#include "engine/tickfile.h"
#include "persist/alert.h"
#include "persist/cold.h"
#include "persist/log.h"
#include "persist/recover.h"
#include "persist/secrets.h"
#include "persist/store.h"
#include "tools/slobd/slobd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: slobd [options] replay FILE\n"
		"       slobd [options] live\n"
		"       slobd [options] replay-gw    live connections to slob-gw replaying history\n"
		"                             (bars close on tick time, not the wall clock)\n"
		"       slobd [options] sweep FILE --grid SECTION.KEY=V1,V2,... [--grid ...]\n"
		"                             [--shard I/N] [--csv OUT] [--jobs N]\n"
		"       slobd [options] --check-config\n"
		"       slobd --config-doc\n"
		"options:\n"
		"  -c, --config FILE      INI configuration (docs/CONFIG.md)\n"
		"  -s, --set S.K=V        override one key (repeatable; wins over file and env)\n"
		"  -d, --data-dir DIR     data directory (store, backups, lock, stats)\n"
		"  -l, --layout L         thread layout: auto, single, or a topology string\n"
		"  -x, --speed N          replay pace: 0 = as fast as possible, N = real time x N\n"
		"  -f, --format F         replay input: auto, ticks, bars (M1 bar CSV)\n"
		"      --auto-restore     restore the newest verified backup if the store is corrupt,\n"
		"                         empty or lost (docs/STORE.md)\n"
		"      --append           replay into a store that already holds runs, continuing\n"
		"                         it (order ids continue after the store's highest)\n"
		"      --fresh            replay into a new store; an existing one is moved aside\n"
		"                         (<store>.replaced_<UTC stamp>), never deleted\n"
		"      --json             print the summary as one JSON object\n"
		"  -q, --quiet            no summary\n"
		"      --strict           replay: stop at the first rejected tick (exit 6); without\n"
		"                         it rejected ticks are skipped and counted in the summary\n"
		"exit codes: 0 ok (rejected ticks, if any, are counted in the summary),\n"
		"            1 runtime error, 2 usage or configuration error,\n"
		"            3 store corrupt (restore needed), 4 another slobd holds the data\n"
		"            directory, 5 bad input data (a broker that cannot be reached is\n"
		"            retried with backoff and alerted, never an exit), 6 --strict and\n"
		"            a tick was rejected (the message names file:line and why)\n");
}

static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- daemon context ------------------------------------------------------- */

struct daemon {
	struct slobd_args a;
	struct slob_config cfg;
	struct slob_pipeline_opts po;
	struct slob_store_params sp;
	struct slob_log_params lp;
	struct slob_alert_params ap;
	char db_path[PATH_MAX];
	char data_dir[PATH_MAX];
	char stats_path[PATH_MAX + 64];
	char replay_ticks[PATH_MAX + 64]; /* converted bar file, removed at exit */
	struct slob_startup st;
	struct slob_recovered rec;
	bool rec_loaded;
	struct slob_journal journal; /* order journal of this run (engine/journal.h) */
	unsigned journal_intents, journal_added; /* folded at start */
	slob_log_t *log;
	slob_alert_t *alert;
	slob_stats_t stats;
	bool stats_open;
	slob_pipeline_t *pipe;
	int64_t run_id;
	bool watchdog;
	int64_t restore_ref; /* alerts_sent.ref of the restore's row */
};

/* Applies [store], [log] and [alert] and resolves the paths. */
static int load_cold_config(struct daemon *d, char *err, size_t errlen)
{
	int rc;
	slob_store_params_default(&d->sp);
	slob_log_params_default(&d->lp);
	slob_alert_params_default(&d->ap);
	if ((rc = slob_config_apply_section(&d->cfg, "store", (slob_param_set_fn)slob_store_param_set,
					    &d->sp, err, errlen)) < 0 ||
	    (rc = slob_config_apply_section(&d->cfg, "log", (slob_param_set_fn)slob_log_param_set,
					    &d->lp, err, errlen)) < 0 ||
	    (rc = slob_config_apply_section(&d->cfg, "alert", (slob_param_set_fn)slob_alert_param_set,
					    &d->ap, err, errlen)) < 0)
		return rc;
	char msg[256];
	if ((rc = slob_store_params_validate(&d->sp, msg, sizeof(msg))) < 0 ||
	    (rc = slob_log_params_validate(&d->lp, msg, sizeof(msg))) < 0 ||
	    (rc = slob_alert_params_validate(&d->ap, msg, sizeof(msg))) < 0) {
		snprintf(err, errlen, "invalid configuration: %s", msg);
		return rc;
	}
	/* a relative data directory from the config file is relative to the
	 * file's folder; from --data-dir or the environment, to the cwd */
	slob_config_rebase_path(&d->cfg, "store", "data_dir", d->sp.data_dir,
				sizeof(d->sp.data_dir));
	if (slob_store_params_path(&d->sp, d->cfg.path[0] ? d->cfg.path : NULL, d->db_path,
				   sizeof(d->db_path)) < 0) {
		snprintf(err, errlen, "store path too long");
		return -ENAMETOOLONG;
	}
	snprintf(d->data_dir, sizeof(d->data_dir), "%s", d->db_path);
	char *slash = strrchr(d->data_dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(d->data_dir, ".");
	const char *sf = slob_config_get(&d->cfg, "stats", "file");
	if (sf[0] == '/')
		snprintf(d->stats_path, sizeof(d->stats_path), "%s", sf);
	else if (snprintf(d->stats_path, sizeof(d->stats_path), "%s/%s", d->data_dir, sf) >=
		 (int)sizeof(d->stats_path)) {
		snprintf(err, errlen, "stats file path too long");
		return -ENAMETOOLONG;
	}
	/* relative log paths are relative to the config file's folder */
	char tmp[sizeof(d->lp.trading_file)];
	if (d->cfg.path[0] && d->lp.trading_file[0] != '/') {
		slob_config_path(&d->cfg, d->lp.trading_file, tmp, sizeof(tmp));
		snprintf(d->lp.trading_file, sizeof(d->lp.trading_file), "%s", tmp);
	}
	if (d->cfg.path[0] && d->lp.errors_file[0] != '/') {
		slob_config_path(&d->cfg, d->lp.errors_file, tmp, sizeof(tmp));
		snprintf(d->lp.errors_file, sizeof(d->lp.errors_file), "%s", tmp);
	}
	return 0;
}

static int load_config(struct daemon *d, char *err, size_t errlen)
{
	int rc;
	slob_config_init(&d->cfg);
	if ((rc = slob_config_load(&d->cfg, d->a.config, err, errlen)) < 0)
		return rc;
	slob_config_apply_env(&d->cfg);
	for (unsigned i = 0; i < d->a.nsets; i++)
		if ((rc = slob_config_set(&d->cfg, d->a.sets[i], err, errlen)) < 0)
			return rc;
	if ((rc = slob_pipeline_opts_from_config(&d->po, &d->cfg, err, errlen)) < 0)
		return rc;
	if ((rc = load_cold_config(d, err, errlen)) < 0)
		return rc;
	bool file_has_secret = false;
	for (unsigned i = 0; i < d->cfg.n; i++)
		if (d->cfg.entries[i].key->secret && !strcmp(d->cfg.entries[i].origin, "file") &&
		    d->cfg.entries[i].value[0])
			file_has_secret = true;
	if (d->cfg.path[0] && file_has_secret) {
		char warn[512] = "";
		if (slob_secret_file_check(d->cfg.path, warn, sizeof(warn)) > 0)
			fprintf(stderr, "slobd: warning: %s\n", warn);
	}
	return 0;
}

/* Converts an M1 bar CSV into a tick file the pipeline can replay: each bar
 * becomes open, then the extreme nearer the open, the other extreme, close,
 * spread over the minute; candles rebuild the same OHLC from them. */
static int bars_to_ticks(struct daemon *d, const char *path, char *err, size_t errlen)
{
	struct slob_barcsv_opts bo = {0};
	bo.name = path;
	bo.tick_size = d->po.instrument.tick_size;
	bo.skip_bad = slob_config_get_bool(&d->cfg, "replay", "skip_bad_lines");
	struct slob_bar *bars = NULL;
	int n = slob_barfile_load(path, &bo, &bars, NULL, err, errlen);
	if (n < 0)
		return n;
	if (snprintf(d->replay_ticks, sizeof(d->replay_ticks), "%s/replay-%d.ticks", d->data_dir,
		     (int)getpid()) >= (int)sizeof(d->replay_ticks)) {
		free(bars);
		snprintf(err, errlen, "data directory path too long");
		return -ENAMETOOLONG;
	}
	struct slob_tickbin_writer *w = NULL;
	int rc = slob_tickbin_writer_open(&w, d->replay_ticks, d->po.instrument.symbol,
					  d->po.instrument.tick_size);
	for (int i = 0; rc == 0 && i < n; i++) {
		const struct slob_bar *b = &bars[i];
		bool high_first = (b->high - b->open) <= (b->open - b->low);
		int32_t px[4] = {b->open, high_first ? b->high : b->low,
				 high_first ? b->low : b->high, b->close};
		uint32_t vol = b->volume ? b->volume : 4;
		for (int k = 0; rc == 0 && k < 4; k++)
			rc = slob_tickbin_writer_append(w, b->ts_ns + k * 15 * 1000000000LL, px[k],
							vol / 4 ? vol / 4 : 1);
	}
	int rc2 = slob_tickbin_writer_close(w);
	free(bars);
	if (rc == 0)
		rc = rc2;
	if (rc < 0) {
		snprintf(err, errlen, "converting %s to ticks: %s", path, slob_tickfile_strerror());
		unlink(d->replay_ticks);
		d->replay_ticks[0] = '\0';
	}
	return rc;
}

static bool looks_like_bar_csv(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char line[512] = "";
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	for (char *p = line; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return strstr(line, "open") && strstr(line, "high") && strstr(line, "low") &&
	       strstr(line, "close");
}

static void control_text(struct daemon *d, uint16_t type, int level, int code, const char *text)
{
	struct slob_cold rec;
	slob_cold_text_init(&rec, type, (uint8_t)level, wall_ns(), "slobd", code, text);
	slob_pipeline_control_put(d->pipe, &rec);
}

static void heartbeat(void *ctx)
{
	struct daemon *d = ctx;
	if (d->watchdog)
		sd_notify(0, "WATCHDOG=1");
	if (got_term) {
		got_term = 0;
		sd_notify(0, "STOPPING=1");
		control_text(d, SLOB_COLD_LOG, SLOB_LVL_WARNING, 0,
			     "stop requested: no new entries; draining rings and flushing the store");
		slob_pipeline_request_stop(d->pipe);
	}
	if (got_hup) {
		got_hup = 0;
		char msg[160];
		int rc = slobd_reload(d->a.config, d->a.sets, d->a.nsets, d->log, msg, sizeof(msg));
		control_text(d, SLOB_COLD_LOG, rc == 0 ? SLOB_LVL_WARNING : SLOB_LVL_ERROR, 0, msg);
	}
}


/* A restore from backup is an incident of its own: journaled in events and
 * alerts_sent before anything else touches the restored store (the alert
 * itself goes out once the alert channels exist). */
/* One text value of a query on the open store ("" when none). */
static void query_text(struct daemon *d, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st;
	out[0] = '\0';
	if (sqlite3_prepare_v2(slob_store_db(d->st.store), sql, -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/*
 * A replay into a data directory whose store already holds runs would mix two
 * histories (and, before ids continued across runs, collided on paper order
 * and exec ids). Refused unless the user chose: --append continues the store,
 * --fresh moves it aside (never deletes it) and starts a new one. Runs with
 * the lock held, before anything is loaded. Returns 0 or an exit code.
 */
static int replay_guard(struct daemon *d)
{
	int64_t runs = slob_store_query_i64(d->st.store, "SELECT count(*) FROM runs");
	if (runs <= 0 || d->a.append)
		return 0;
	char last[200];
	query_text(d,
		   "SELECT 'run ' || id || ' (' || coalesce(mode,'?') || ', started ' || started_at"
		   " || ', ' || coalesce('exit ' || exit_status, 'did not stop cleanly') || ')'"
		   " FROM runs ORDER BY id DESC LIMIT 1",
		   last, sizeof(last));
	if (!d->a.fresh) {
		fprintf(stderr,
			"slobd: the store %s already holds %lld run%s (last: %s). A replay into it "
			"would mix two histories: add --append to continue this store (order ids "
			"continue after its highest), or --fresh to move it aside and start a "
			"new one\n",
			d->db_path, (long long)runs, runs == 1 ? "" : "s", last);
		return SLOBD_EXIT_USAGE;
	}
	char stamp[32], aside[PATH_MAX + 64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d_%H%M%S", &tm);
	snprintf(aside, sizeof(aside), "%s.replaced_%s", d->db_path, stamp);
	/* two --fresh runs within one second: never rename over a kept store */
	struct stat sb;
	for (int n = 2; stat(aside, &sb) == 0 && n < 1000; n++)
		snprintf(aside, sizeof(aside), "%s.replaced_%s_%d", d->db_path, stamp, n);
	/* the order journal still holds the brackets of the store's last run
	 * (it is reset only once a store holds them, journal.h note 4): they
	 * go into the store they belong to, and the journal goes aside with
	 * it, so the new store starts with no order of the old one */
	char jpath[PATH_MAX + 32], jaside[PATH_MAX + 96], err[512] = "";
	unsigned nint = 0, nadd = 0;
	snprintf(jpath, sizeof(jpath), "%s/%s", d->data_dir, SLOB_JOURNAL_FILE);
	snprintf(jaside, sizeof(jaside), "%s.%s", aside, SLOB_JOURNAL_FILE);
	if (slob_recover_fold_journal(d->st.store, jpath, &d->po.instrument, &nint, &nadd, err,
				      sizeof(err)) < 0) {
		fprintf(stderr, "slobd: --fresh: %s; the store %s is left in place\n", err,
			d->db_path);
		return SLOBD_EXIT_RUNTIME;
	}
	if (nadd > 0)
		fprintf(stderr,
			"slobd: --fresh: order journal: %u orders rows of %u journaled brackets "
			"added to the previous store as PENDING\n",
			nadd, nint);
	int64_t live_runs = slob_store_query_i64(
	    d->st.store, "SELECT count(*) FROM runs WHERE coalesce(mode, 'live') != 'replay'");
	slob_store_close(d->st.store); /* checkpoints the WAL into the file */
	d->st.store = NULL;
	if (rename(d->db_path, aside) < 0) {
		fprintf(stderr, "slobd: --fresh: cannot move %s aside to %s: %s\n", d->db_path,
			aside, strerror(errno));
		return SLOBD_EXIT_RUNTIME;
	}
	for (int i = 0; i < 2; i++) {
		char a[PATH_MAX + 8], b[PATH_MAX + 72];
		snprintf(a, sizeof(a), "%s%s", d->db_path, i ? "-shm" : "-wal");
		snprintf(b, sizeof(b), "%s%s", aside, i ? "-shm" : "-wal");
		if (rename(a, b) < 0 && errno != ENOENT)
			fprintf(stderr, "slobd: --fresh: moving %s: %s\n", a, strerror(errno));
	}
	if (rename(jpath, jaside) < 0 && errno != ENOENT)
		fprintf(stderr, "slobd: --fresh: moving %s: %s\n", jpath, strerror(errno));
	/* the marker belongs to the old store; so does a breaker latch, unless
	 * the old store traded live: a live latch is released only by slobctl
	 * reset-breaker, never by starting a replay store */
	for (int i = 0; i < 2; i++) {
		char a[PATH_MAX + 16], b[PATH_MAX + 80];
		snprintf(a, sizeof(a), "%s%s", d->db_path, i ? ".breaker" : ".marker");
		snprintf(b, sizeof(b), "%s%s", aside, i ? ".breaker" : ".marker");
		if (i == 1 && live_runs != 0) {
			if (stat(a, &sb) == 0)
				fprintf(stderr,
					"slobd: --fresh: the breaker latch %s stays: the previous "
					"store traded live (release it with slobctl reset-breaker)\n",
					a);
			continue;
		}
		if (rename(a, b) < 0 && errno != ENOENT)
			fprintf(stderr, "slobd: --fresh: moving %s: %s\n", a, strerror(errno));
	}
	if (slob_store_open(d->db_path, SLOB_STORE_WRITER, &d->st.store) < 0) {
		fprintf(stderr, "slobd: --fresh: %s\n", slob_store_strerror());
		return SLOBD_EXIT_RUNTIME;
	}
	fprintf(stderr, "slobd: --fresh: previous store (%lld run%s) kept as %s\n",
		(long long)runs, runs == 1 ? "" : "s", aside);
	return 0;
}

/*
 * A replay appended to a store left with open positions or working orders
 * (a run that crashed) cannot manage them: its paper broker starts flat, so
 * they would sit in the risk gate forever (max positions) while every setup
 * is refused. Refused with the positions named. Returns 0 or an exit code.
 */
static int replay_open_check(struct daemon *d)
{
	char list[512] = "";
	unsigned npos = 0;
	for (unsigned i = 0; i < d->rec.npositions; i++) {
		const struct slob_rec_position *p = &d->rec.positions[i];
		if (p->setup_id == 0 || p->qty == 0)
			continue;
		npos++;
		size_t l = strlen(list);
		if (l < sizeof(list) - 64)
			snprintf(list + l, sizeof(list) - l, "%s%016llx qty %d", l ? ", " : "",
				 (unsigned long long)p->setup_id, (int)p->qty);
	}
	if (npos == 0 && d->rec.nopen_orders == 0)
		return 0;
	char last[200];
	query_text(d,
		   "SELECT 'run ' || id || ' (started ' || started_at || ', '"
		   " || coalesce('exit ' || exit_status, 'did not stop cleanly') || ')'"
		   " FROM runs ORDER BY id DESC LIMIT 1",
		   last, sizeof(last));
	if (!last[0])
		snprintf(last, sizeof(last),
			 "a run this store has no record of (orders folded from the order "
			 "journal %.100s/%s?)",
			 d->data_dir, SLOB_JOURNAL_FILE);
	fprintf(stderr,
		"slobd: the store %s holds %u open position%s (%s) and %u working order%s left by "
		"%s. A replay's paper broker starts flat and cannot manage them: replay with "
		"--fresh (the store is moved aside), or close them in the store first "
		"(docs/RUNBOOK.md, replays)\n",
		d->db_path, npos, npos == 1 ? "" : "s", list[0] ? list : "none",
		d->rec.nopen_orders, d->rec.nopen_orders == 1 ? "" : "s", last);
	return SLOBD_EXIT_USAGE;
}

/*
 * Only an operator releases a latched breaker (slobctl reset-breaker). While
 * the latch file says the breaker is tripped, a store that says otherwise (a
 * backup older than the trip, a store recreated by hand) is latched again,
 * with a breaker_events row saying why; a latched store without the file
 * (written by an older build) gets the file.
 */
static void keep_breaker_latch(struct daemon *d)
{
	int code = 0;
	char why[200] = "";
	int latched = slob_cold_latch_read(d->db_path, &code, why, sizeof(why));
	int64_t tripped = slob_store_query_i64(
	    d->st.store, "SELECT coalesce(max(breaker_tripped), 0) FROM risk_state");
	if (latched <= 0) {
		if (tripped > 0) {
			char reason[128];
			query_text(d, "SELECT coalesce(breaker_reason, '') FROM risk_state WHERE id=1",
				   reason, sizeof(reason));
			int64_t c = slob_store_query_i64(
			    d->st.store, "SELECT coalesce(breaker_code, 0) FROM risk_state WHERE id=1");
			slob_cold_latch_write(d->db_path, true, (int)(c > 0 ? c : 0), reason);
		}
		return;
	}
	if (tripped > 0)
		return;
	char text[300];
	snprintf(text, sizeof(text),
		 "latched before this store was restored or replaced (%.150s); release with "
		 "slobctl reset-breaker",
		 why[0] ? why : "no reason recorded");
	char ts[SLOB_STORE_TIME_LEN];
	slob_store_time_fmt(wall_ns(), ts, sizeof(ts));
	sqlite3 *db = slob_store_db(d->st.store);
	static const char *const sql[2] = {
	    "INSERT INTO risk_state (id, breaker_tripped, breaker_reason, breaker_code,"
	    " breaker_since, updated_at) VALUES (1, 1, ?2, ?3, ?1, ?1) ON CONFLICT(id) DO UPDATE"
	    " SET breaker_tripped=1, breaker_reason=?2, breaker_code=?3, breaker_since=?1,"
	    " updated_at=?1",
	    "INSERT INTO breaker_events (ts, action, reason_code, value, who, why)"
	    " VALUES (?1, 'tripped', ?3, 0, 'slobd', ?2)"};
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(db, sql[i], -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, code);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
		}
		if (rc != SQLITE_DONE)
			fprintf(stderr, "slobd: warning: re-latching the breaker in %s: %s\n",
				d->db_path, sqlite3_errmsg(db));
	}
	fprintf(stderr, "slobd: circuit breaker %s\n", text);
}

/* An alert the daemon thread raises itself (the cold writer is not running):
 * its alerts_sent row is written now, its delivery state once it went out
 * (slob_alert_journal). Returns the row's ref, 0 when it could not be written. */
static int64_t journal_alert_row(struct daemon *d, int kind, const char *level,
				 const char *component, const char *text)
{
	sqlite3 *db = slob_store_db(d->st.store);
	struct slob_cold key = {0};
	key.stage = 254; /* the daemon thread: not a producer */
	key.ts_ns = wall_ns();
	key.seq = (uint64_t)kind;
	int64_t ref = slob_cold_alert_ref(&key);
	char ts[SLOB_STORE_TIME_LEN];
	slob_store_time_fmt(key.ts_ns, ts, sizeof(ts));
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db,
				    "INSERT INTO alerts_sent (ts, level, kind, component, text, ref)"
				    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, level, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, kind);
		sqlite3_bind_text(st, 4, component, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, ref);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "slobd: warning: journaling an alert in %s: %s\n", d->db_path,
			sqlite3_errmsg(db));
		return 0;
	}
	return ref;
}

static void record_restore(struct daemon *d)
{
	sqlite3 *db = slob_store_db(d->st.store);
	char ts[SLOB_STORE_TIME_LEN];
	slob_store_time_fmt(wall_ns(), ts, sizeof(ts));
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db,
				    "INSERT INTO events (ts, kind, level, code, component, text)"
				    " VALUES (?1, 'store_restored', 'CRITICAL', 0, 'store', ?2)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, d->st.report, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE)
		fprintf(stderr, "slobd: warning: recording the restore in %s: %s\n", d->db_path,
			sqlite3_errmsg(db));
	d->restore_ref =
	    journal_alert_row(d, SLOB_ALERT_STORE_RESTORED, "CRITICAL", "store", d->st.report);
}

/* Space for the spill file, taken while the disk has it (cold.h note 6):
 * pending_max records, at most 16384 (4 MiB; a longer spill still goes out
 * if the disk takes it). Best effort: without it a spill on a full disk fails
 * and says so. */
static void spill_reserve(struct daemon *d)
{
	char path[PATH_MAX + 32];
	if (slob_cold_spill_path(d->db_path, path, sizeof(path), "-reserve") < 0)
		return;
	off_t recs = d->po.cold.pending_max < 16384 ? d->po.cold.pending_max : 16384;
	off_t want = recs * (off_t)sizeof(struct slob_cold) + 4096;
	struct stat sb;
	if (stat(path, &sb) == 0 && sb.st_size >= want)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	int e = fd < 0 ? errno : posix_fallocate(fd, 0, want);
	if (fd >= 0)
		close(fd);
	if (e != 0) {
		unlink(path);
		slob_log_printf(d->log, SLOB_LVL_WARNING, "store",
				"cannot reserve %lld bytes for a spill file at %s: %s; a stop "
				"while the disk is full may lose held records",
				(long long)want, path, strerror(e));
	}
}

static void cleanup(struct daemon *d)
{
	slob_pipeline_free(d->pipe);
	d->pipe = NULL;
	if (d->stats_open) {
		slob_stats_status_begin(&d->stats);
		d->stats.status->engine_up = 0;
		slob_stats_status_end(&d->stats);
		slob_stats_close(&d->stats);
		d->stats_open = false;
	}
	slob_alert_free(d->alert);
	d->alert = NULL;
	slob_log_free(d->log);
	d->log = NULL;
	if (d->rec_loaded)
		slob_recovered_free(&d->rec);
	d->rec_loaded = false;
	slob_journal_close(&d->journal);
	if (d->st.store)
		slob_recover_shutdown(&d->st);
	if (d->replay_ticks[0])
		unlink(d->replay_ticks);
	slob_config_free(&d->cfg);
}

/*
 * The daemon proper, for replay and live. Returns the exit code.
 */
static int run_engine(struct daemon *d, bool live)
{
	char err[1024] = "";
	int rc;
	if (live) {
		/* paper vs live is the account and the port, never a "don't send"
		 * flag (ORIGINAL_SYSTEM.md s8 #8): a live account must be confirmed */
		const struct slob_tws_params *tp = &d->po.tws;
		bool paper_port = tp->port == 4002 || tp->port == 4004 || tp->port == 7497;
		bool paper = !strncmp(tp->account, "DU", 2) || (tp->account[0] == '\0' && paper_port);
		if (!paper &&
		    !slob_config_get_bool(&d->cfg, "daemon", "require_live_confirmation")) {
			fprintf(stderr,
				"slobd: port %d / account '%s' is not a paper setup: set "
				"REQUIRE_LIVE_CONFIRMATION=true (daemon.require_live_confirmation) to "
				"trade a live account\n",
				tp->port, tp->account);
			return SLOBD_EXIT_CONFIG;
		}
	} else {
		struct stat sb;
		if (stat(d->a.file, &sb) != 0) {
			fprintf(stderr, "slobd: replay file %s: %s\n", d->a.file, strerror(errno));
			return SLOBD_EXIT_DATA;
		}
	}
	/* lock + integrity + migrations */
	d->sp.auto_restore = d->sp.auto_restore || d->a.auto_restore;
	rc = slob_recover_startup(d->db_path, &d->sp, &d->st, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "slobd: %s\n", err);
		return rc == -EBUSY ? SLOBD_EXIT_LOCKED : rc == -EIO ? SLOBD_EXIT_CORRUPT
								     : SLOBD_EXIT_RUNTIME;
	}
	/* records a stop could not commit come first (cold.h note 6) */
	char spill_msg[400] = "";
	if ((rc = slob_cold_spill_replay(d->st.store, &d->po.instrument, spill_msg,
					 sizeof(spill_msg))) < 0) {
		fprintf(stderr,
			"slobd: %s. The spill file holds records of the last stop that are in no "
			"other place: slobd starts only once they are committed\n",
			slob_store_strerror());
		return rc == -EBADMSG ? SLOBD_EXIT_CORRUPT : SLOBD_EXIT_RUNTIME;
	}
	if (spill_msg[0])
		fprintf(stderr, "slobd: %s\n", spill_msg);
	if (!live && (rc = replay_guard(d)) != 0)
		return rc;
	/* replays too: a replay store restored from an old backup must not
	 * trade past a trip either (--fresh moves a replay's latch aside) */
	keep_breaker_latch(d);
	/* from now on this directory has held a store: an empty or missing
	 * store here is a lost one (P0-1), never a new one */
	if (slob_store_mark(d->db_path) < 0)
		fprintf(stderr, "slobd: warning: %s\n", slob_store_strerror());
	if (d->st.restored)
		record_restore(d);
	/* the order journal of the last run goes into the store before anything
	 * reads it, and is reset only once the store holds it (journal.h note 4) */
	char jpath[PATH_MAX + 32];
	snprintf(jpath, sizeof(jpath), "%s/%s", d->data_dir, SLOB_JOURNAL_FILE);
	if ((rc = slob_recover_fold_journal(d->st.store, jpath, &d->po.instrument,
					    &d->journal_intents, &d->journal_added, err,
					    sizeof(err))) < 0 ||
	    (rc = slob_journal_open(&d->journal, jpath, err, sizeof(err))) < 0) {
		fprintf(stderr, "slobd: %s\n", err);
		return SLOBD_EXIT_RUNTIME;
	}
	if ((rc = slob_recover_load(d->st.store, &d->po.instrument, &d->rec)) < 0) {
		fprintf(stderr, "slobd: loading state from %s: %s\n", d->db_path,
			slob_store_strerror());
		return SLOBD_EXIT_RUNTIME;
	}
	d->rec_loaded = true;
	if (!live) {
		if ((rc = replay_open_check(d)) != 0)
			return rc;
		/* paper order ids (and the exec ids P<order id> made from them)
		 * continue after every id the store holds: unique across runs */
		int64_t maxid = slob_store_query_i64(
		    d->st.store, "SELECT coalesce(max(order_id), 0) FROM orders");
		if (maxid >= d->po.sender.first_order_id)
			d->po.sender.first_order_id = maxid + 1;
	}
	if ((rc = slob_log_create(&d->lp, true, &d->log, err, sizeof(err))) < 0) {
		fprintf(stderr, "slobd: logs: %s\n", err);
		return SLOBD_EXIT_RUNTIME;
	}
	if ((rc = slob_alert_create(&d->ap, d->log, &d->alert, err, sizeof(err))) < 0) {
		fprintf(stderr, "slobd: alerts: %s\n", err);
		return SLOBD_EXIT_CONFIG;
	}
	if ((rc = slob_stats_create(&d->stats, d->stats_path, err, sizeof(err))) < 0) {
		fprintf(stderr, "slobd: stats file: %s\n", err);
		return SLOBD_EXIT_RUNTIME;
	}
	d->stats_open = true;
	if (spill_msg[0])
		slob_log_printf(d->log, SLOB_LVL_WARNING, "store", "%s", spill_msg);
	spill_reserve(d);
	if (d->st.restored) {
		slob_log_printf(d->log, SLOB_LVL_CRITICAL, "store", "%s", d->st.report);
		slob_alert_track(d->alert, d->restore_ref);
		slob_alert_send(d->alert, SLOB_ALERT_STORE_RESTORED, SLOB_LVL_CRITICAL,
				"Store restored from backup", d->st.report);
	}
	slob_log_printf(d->log, SLOB_LVL_INFO, "slobd",
			"Recovered state: %u setups, %u open orders, %u positions, breaker %s",
			d->rec.nsetups, d->rec.nopen_orders, d->rec.npositions,
			d->rec.risk.breaker_tripped ? "TRIPPED" : "ok");
	if (d->journal_added > 0)
		slob_log_printf(d->log, SLOB_LVL_WARNING, "slobd",
				"order journal: %u orders rows of %u journaled brackets were not in "
				"the store (sent before the last stop, not yet committed): added as "
				"PENDING, reconciliation settles them",
				d->journal_added, d->journal_intents);

	/* the replay input */
	const char *input = live ? "" : d->a.file;
	bool bars = d->a.format && !strcasecmp(d->a.format, "bars");
	if (!live && (!d->a.format || !strcasecmp(d->a.format, "auto")))
		bars = looks_like_bar_csv(input);
	if (bars) {
		if ((rc = bars_to_ticks(d, input, err, sizeof(err))) < 0) {
			fprintf(stderr, "slobd: %s\n", err);
			return SLOBD_EXIT_DATA;
		}
		input = d->replay_ticks;
	}
	if (strlen(input) >= sizeof(d->po.ingest.path)) {
		fprintf(stderr, "slobd: replay file path too long (%zu characters, at most %zu)\n",
			strlen(input), sizeof(d->po.ingest.path) - 1);
		return SLOBD_EXIT_USAGE;
	}
	memcpy(d->po.ingest.path, input, strlen(input) + 1);
	d->po.ingest.pace = slob_config_get_double(&d->cfg, "replay", "speed");
	d->po.ingest.skip_bad = slob_config_get_bool(&d->cfg, "replay", "skip_bad_lines");
	d->po.ingest.strict = d->a.strict;
	d->po.mode = live ? SLOB_PIPE_LIVE : SLOB_PIPE_REPLAY;
	d->po.wall_clock_bars = live && strcmp(d->a.command, "replay-gw") != 0;
	d->po.store = d->st.store;
	d->po.recovered = &d->rec;
	d->po.journal = &d->journal;
	d->po.stats = &d->stats;
	d->po.log = d->log;
	d->po.alert = d->alert;

	char cfgdigest[17] = "";
	snprintf(cfgdigest, sizeof(cfgdigest), "%016llx",
		 (unsigned long long)slobd_config_digest(&d->cfg));
	d->run_id = slob_cold_run_begin(d->st.store, live ? "live" : "replay", SLOBD_VERSION,
					d->cfg.path[0] ? d->cfg.path : "", cfgdigest);
	if (!live && d->run_id > 0)
		d->po.sender.run_id = d->run_id; /* paper exec ids unique across runs */

	if ((rc = slob_pipeline_build(&d->pipe, &d->po, err, sizeof(err))) < 0) {
		fprintf(stderr, "slobd: %s\n", err);
		slob_log_printf(d->log, SLOB_LVL_ERROR, "slobd", "start failed: %s", err);
		return rc == -EINVAL || rc == -EBADMSG || rc == -ENOENT ? SLOBD_EXIT_DATA
									 : SLOBD_EXIT_RUNTIME;
	}
	slob_stats_status_begin(&d->stats);
	d->stats.status->engine_up = 1;
	d->stats.status->pid = (int32_t)getpid();
	d->stats.status->started_ns = wall_ns();
	d->stats.status->kill_switch = 0;
	/* a breaker latched before this run shows in slobctl status from the start
	 * (risk emits BREAKER records only on a change; drill P1-2) */
	d->stats.status->breaker = d->rec.risk.breaker_tripped ? 1 : 0;
	d->stats.status->breaker_reason = d->rec.risk.breaker_tripped ? d->rec.risk.breaker_code : 0;
	/* sessions: down until their first attempt (live), or none at all (a
	 * replay of files); the sessions' CONN records take it from here */
	for (int i = 0; i < SLOB_STATS_NCONN; i++) {
		d->stats.status->conn[i] = live ? SLOB_CONN_DOWN : SLOB_CONN_DISABLED;
		d->stats.status->conn_since_ns[i] = d->stats.status->started_ns;
		d->stats.status->conn_drops[i] = 0;
	}
	slob_stats_status_end(&d->stats);

	char text[160];
	if (live)
		snprintf(text, sizeof(text), "System Started: live, %s via %s:%d (account %s), layout %s",
			 d->po.instrument.symbol, d->po.tws.host, d->po.tws.port,
			 d->po.tws.account[0] ? d->po.tws.account : "default",
			 d->po.layout ? d->po.layout : "auto");
	else
		snprintf(text, sizeof(text), "System Started: replay of %s (%s), layout %s",
			 d->a.file, d->po.instrument.symbol, d->po.layout ? d->po.layout : "auto");
	control_text(d, SLOB_COLD_ALERT, SLOB_LVL_INFO, SLOB_ALERT_START, text);

	/* the hot and cold threads must not take the daemon's signals */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = slob_pipeline_start(d->pipe, err, sizeof(err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		fprintf(stderr, "slobd: %s\n", err);
		return SLOBD_EXIT_RUNTIME;
	}
	uint64_t usec = 0;
	d->watchdog = slob_config_get_bool(&d->cfg, "daemon", "watchdog") &&
		      sd_watchdog_enabled(0, &usec) > 0;
	sd_notifyf(0, "READY=1\nSTATUS=%s %s\nMAINPID=%d", live ? "trading via" : "replaying",
		   live ? d->po.tws.host : d->a.file, (int)getpid());

	rc = slob_pipeline_wait(d->pipe, heartbeat, d);

	struct slob_pipeline_summary sum;
	slob_pipeline_summary(d->pipe, &sum);
	char digest[17];
	snprintf(digest, sizeof(digest), "%016llx", (unsigned long long)sum.digest);
	if (d->run_id > 0)
		slob_cold_run_end(d->st.store, d->run_id, digest, rc == 0 ? "ok" : "error");
	/* the cold thread has stopped: the daemon thread may use logs/alerts now */
	snprintf(text, sizeof(text),
		 "System Stopped: %llu ticks (%llu rejected), %llu orders, %llu fills, digest %s",
		 (unsigned long long)sum.ticks, (unsigned long long)sum.rejected,
		 (unsigned long long)sum.brackets, (unsigned long long)sum.fills, digest);
	slob_log_printf(d->log, rc == 0 ? SLOB_LVL_INFO : SLOB_LVL_ERROR, "slobd", "%s%s%s", text,
			rc == 0 ? "" : "; error: ", rc == 0 ? "" : slob_pipeline_error(d->pipe));
	slob_alert_track(d->alert, journal_alert_row(d, SLOB_ALERT_STOP, "INFO", "slobd", text));
	if (sum.rejected)
		slob_log_printf(d->log, SLOB_LVL_WARNING, "slobd",
				"market data: %llu ticks rejected (first: %s)",
				(unsigned long long)sum.rejected, sum.first_rejected);
	slob_alert_send(d->alert, SLOB_ALERT_STOP, SLOB_LVL_INFO, "System Stopped", text);
	slob_alert_flush(d->alert, 3000);
	/* delivery states of everything that went out, the stop included */
	slob_alert_journal(d->alert, slob_store_db(d->st.store));
	if (rc < 0) {
		fprintf(stderr, "slobd: replay failed: %s\n", slob_pipeline_error(d->pipe)[0]
								 ? slob_pipeline_error(d->pipe)
								 : strerror(-rc));
		if (rc == -ERANGE && d->a.strict)
			return SLOBD_EXIT_REJECTED;
		return rc == -EINVAL || rc == -EIO || rc == -EBADMSG ? SLOBD_EXIT_DATA
								     : SLOBD_EXIT_RUNTIME;
	}
	if (!d->a.quiet)
		slob_pipeline_summary_print(&sum, &d->po.instrument, stdout, d->a.json);
	return SLOBD_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return SLOBD_EXIT_RUNTIME;
	int rc = slobd_parse_args(&d->a, argc, argv);
	if (rc != 0) {
		if (rc > 0) {
			usage(stdout);
			free(d);
			return SLOBD_EXIT_OK;
		}
		usage(stderr);
		free(d);
		return SLOBD_EXIT_USAGE;
	}
	if (d->a.config_doc) {
		slob_config_doc(stdout);
		free(d);
		return SLOBD_EXIT_OK;
	}
	char err[1024] = "";
	if ((rc = load_config(d, err, sizeof(err))) < 0) {
		fprintf(stderr, "slobd: %s\n", err);
		slob_config_free(&d->cfg);
		free(d);
		return SLOBD_EXIT_CONFIG;
	}
	if (d->a.check_config) {
		slob_config_dump(&d->cfg, stdout);
		printf("\n# store: %s\n# stats: %s\n# configuration OK\n", d->db_path, d->stats_path);
		slob_config_free(&d->cfg);
		free(d);
		return SLOBD_EXIT_OK;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int code;
	if (!strcmp(d->a.command, "sweep"))
		code = slobd_sweep(&d->a, &d->cfg, &d->po);
	else
		code = run_engine(d, !strcmp(d->a.command, "live") || !strcmp(d->a.command, "replay-gw"));
	cleanup(d);
	free(d);
	return code;
}
