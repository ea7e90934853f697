/* SPDX-License-Identifier: MIT */
/*
 * cmd_store.c: slobctl commands that touch the store: add-position (the
 * guide's manual INSERT as a validated command), reset-breaker and
 * kill-switch (rows in operator_commands that slobd applies), trades, and the
 * maintenance commands over persist/backup.h (backup, verify, restore, check,
 * vacuum, archive).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist/alert.h"
#include "persist/backup.h"
#include "persist/lock.h"
#include "persist/store.h"
#include "tools/slobctl/slobctl.h"

#define TICK 0.25

/* Returns the value following option argv[*i] or NULL (and reports it). */
static const char *optval(struct ctl *c, int *i)
{
	if (*i + 1 >= c->argc) {
		ctl_err(c, "option %s needs a value", c->argv[*i]);
		return NULL;
	}
	return c->argv[++*i];
}

static int parse_price(struct ctl *c, const char *opt, const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || *end || !isfinite(x) || x <= 0 || x > 1e7) {
		ctl_err(c, "%s '%s': expected a positive price in points (e.g. 20000.25)", opt, v);
		return -1;
	}
	double ticks = x / TICK;
	if (fabs(ticks - round(ticks)) > 1e-6) {
		ctl_err(c, "%s %s: not a multiple of the tick size %.2f", opt, v, TICK);
		return -1;
	}
	*out = x;
	return 0;
}

static pid_t daemon_pid(struct ctl *c)
{
	pid_t p = slob_lock_holder(c->data_dir);
	return p > 0 ? p : 0;
}

/* backup, check and archive work on the file itself: it must exist.
 * 1 (with "store <path>: <errno text>" set) when it does not, else 0. */
static int store_missing(struct ctl *c)
{
	struct stat sb;
	if (stat(c->db_path, &sb) < 0) {
		ctl_err(c, "store %s: %s", c->db_path, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Commands that write the store first run the check `slobctl check` runs
 * (quick_check; integrity_check with full) and refuse a store that fails it:
 * writing into a damaged b-tree can spread the damage, and archive would
 * delete rows that exist nowhere else. Returns 0 when the store is sound or
 * does not exist yet (the command creates it), else CTL_CORRUPT (or
 * CTL_FAIL when it could not be read) with "refusing to <what>: <check
 * failure>; nothing was changed" on stderr.
 */
static int store_sound(struct ctl *c, bool full, const char *what)
{
	struct stat sb;
	if (stat(c->db_path, &sb) < 0 && errno == ENOENT)
		return 0;
	int rc = slob_backup_check(c->db_path, full);
	if (rc == 0)
		return 0;
	ctl_err(c,
		"refusing to %s: %s (%s failed); nothing was changed. Restore a verified "
		"backup first (slobctl restore latest)",
		what, slob_store_strerror(), full ? "integrity_check" : "quick_check");
	return rc == -EIO ? CTL_CORRUPT : CTL_FAIL;
}

static int open_store(struct ctl *c, unsigned flags, slob_store_t **s)
{
	struct stat sb;
	if ((flags & SLOB_STORE_RDONLY) && stat(c->db_path, &sb) < 0) {
		ctl_err(c, "store %s: %s (has slobd run with this --data-dir?)", c->db_path,
			strerror(errno));
		return CTL_NOSTORE;
	}
	int rc = slob_store_open(c->db_path, flags, s);
	if (rc < 0) {
		ctl_err(c, "store %s: %s", c->db_path, slob_store_strerror());
		return CTL_NOSTORE;
	}
	return 0;
}

/* ---- add-position --------------------------------------------------------- */

int cmd_add_position(struct ctl *c)
{
	double entry = 0, sl = 0, tp = 0;
	long qty = 1;
	const char *dir = NULL, *id = NULL, *v;
	for (int i = 1; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, "--entry") || !strcmp(a, "--sl") || !strcmp(a, "--tp")) {
			if (!(v = optval(c, &i)))
				return CTL_USAGE;
			double *dst = a[2] == 'e' ? &entry : a[2] == 's' ? &sl : &tp;
			if (parse_price(c, a, v, dst) < 0)
				return CTL_USAGE;
		} else if (!strcmp(a, "--qty")) {
			if (!(v = optval(c, &i)))
				return CTL_USAGE;
			char *end;
			qty = strtol(v, &end, 10);
			if (*end || qty < 1 || qty > 1000) {
				ctl_err(c, "--qty '%s': expected contracts 1..1000", v);
				return CTL_USAGE;
			}
		} else if (!strcmp(a, "--direction")) {
			if (!(v = optval(c, &i)))
				return CTL_USAGE;
			if (!strcasecmp(v, "long") || !strcasecmp(v, "buy"))
				dir = "LONG";
			else if (!strcasecmp(v, "short") || !strcasecmp(v, "sell"))
				dir = "SHORT";
			else {
				ctl_err(c, "--direction '%s': expected LONG or SHORT", v);
				return CTL_USAGE;
			}
		} else if (!strcmp(a, "--id")) {
			if (!(id = optval(c, &i)))
				return CTL_USAGE;
			if (!*id || strlen(id) > 60) {
				ctl_err(c, "--id: 1..60 characters");
				return CTL_USAGE;
			}
		} else {
			ctl_err(c, "unexpected argument '%s'", a);
			return CTL_USAGE;
		}
	}
	if (!entry || !sl || !tp) {
		ctl_err(c,
			"--entry, --sl and --tp are required (prices in points, as shown in TWS)");
		return CTL_USAGE;
	}
	const char *implied = (sl < entry && entry < tp)   ? "LONG"
			      : (tp < entry && entry < sl) ? "SHORT"
							   : NULL;
	if (!implied) {
		ctl_err(
		    c,
		    "inconsistent prices: a LONG needs sl < entry < tp, a SHORT tp < entry < sl "
		    "(got entry %.2f sl %.2f tp %.2f)",
		    entry, sl, tp);
		return CTL_USAGE;
	}
	if (dir && strcmp(dir, implied)) {
		ctl_err(c, "--direction %s contradicts the prices, which describe a %s", dir,
			implied);
		return CTL_USAGE;
	}
	dir = implied;
	char idbuf[64];
	if (!id) {
		snprintf(idbuf, sizeof(idbuf), "manual_%lld", (long long)time(NULL));
		id = idbuf;
	}
	slob_store_t *s;
	int rc = store_sound(c, false, "add a position");
	if (rc)
		return rc;
	rc = open_store(c, 0, &s);
	if (rc)
		return rc;
	sqlite3_stmt *st;
	sqlite3 *db = slob_store_db(s);
	rc = sqlite3_prepare_v2(
	    db,
	    "INSERT INTO active_setups (id, state, entry_price, sl_price, tp_price, symbol, "
	    "direction, qty, source) VALUES (?, 'ACTIVE', ?, ?, ?, 'NQ', ?, ?, 'manual')",
	    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 2, entry);
		sqlite3_bind_double(st, 3, sl);
		sqlite3_bind_double(st, 4, tp);
		sqlite3_bind_text(st, 5, dir, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, qty);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE) {
		ctl_err(c, "insert into active_setups failed: %s%s", sqlite3_errmsg(db),
			(rc & 0xff) == SQLITE_CONSTRAINT ? " (an entry with this --id exists)"
							 : "");
		slob_store_close(s);
		return CTL_FAIL;
	}
	slob_store_close(s);
	pid_t pid = daemon_pid(c);
	if (c->json) {
		ctl_json_out(json_pack("{s:b,s:s,s:s,s:f,s:f,s:f,s:i,s:b}", "ok", 1, "id", id,
				       "direction", dir, "entry", entry, "sl", sl, "tp", tp, "qty",
				       (int)qty, "restart_needed", pid > 0));
	} else {
		printf("added %s: %s %ld NQ entry %.2f sl %.2f tp %.2f (state ACTIVE, source "
		       "manual)\n",
		       id, dir, qty, entry, sl, tp);
		if (pid > 0)
			printf("note: slobd (pid %d) is running; it loads manual positions at "
			       "start-up: "
			       "restart it so it manages this one\n",
			       (int)pid);
	}
	return CTL_OK;
}

/* ---- operator commands ------------------------------------------------------- */

int cmd_opcmd(struct ctl *c)
{
	const char *cmd = c->argv[0];
	const char *reason = NULL, *who = NULL, *arg = NULL, *v;
	double wait = -1;
	for (int i = 1; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, "--reason")) {
			if (!(reason = optval(c, &i)))
				return CTL_USAGE;
		} else if (!strcmp(a, "--who")) {
			if (!(who = optval(c, &i)))
				return CTL_USAGE;
		} else if (!strcmp(a, "--wait")) {
			if (!(v = optval(c, &i)))
				return CTL_USAGE;
			char *end;
			wait = strtod(v, &end);
			if (*end || !(wait >= 0 && wait <= 3600)) {
				ctl_err(c, "--wait '%s': expected seconds 0..3600", v);
				return CTL_USAGE;
			}
		} else if (!strcmp(cmd, "kill-switch") && !arg &&
			   (!strcmp(a, "on") || !strcmp(a, "off"))) {
			arg = a;
		} else {
			ctl_err(c, "unexpected argument '%s'", a);
			return CTL_USAGE;
		}
	}
	if (!strcmp(cmd, "kill-switch") && !arg) {
		ctl_err(
		    c, "usage: slobctl kill-switch on|off [--reason TEXT] [--who NAME] [--wait S]");
		return CTL_USAGE;
	}
	if (!strcmp(cmd, "reset-breaker") && (!reason || !*reason)) {
		ctl_err(c, "--reason is required: say why resetting the circuit breaker is safe");
		return CTL_USAGE;
	}
	if ((reason && strlen(reason) > 150) || (who && strlen(who) > 60)) {
		ctl_err(c, "--reason is limited to 150 characters and --who to 60");
		return CTL_USAGE;
	}
	who = ctl_who(who);
	slob_store_t *s;
	/* kill-switch on stays possible on a damaged store: it only stops trading */
	bool halts = !strcmp(cmd, "kill-switch") && !strcmp(arg, "on");
	int rc = halts ? 0 : store_sound(c, false, cmd);
	if (rc)
		return rc;
	rc = open_store(c, 0, &s);
	if (rc)
		return rc;
	int64_t id = slob_store_cmd_insert(s, cmd, arg, who, reason ? reason : "");
	if (id < 0) {
		ctl_err(c, "could not queue the command: %s", slob_store_strerror());
		slob_store_close(s);
		return CTL_FAIL;
	}
	pid_t pid = daemon_pid(c);
	if (wait < 0)
		wait = pid > 0 ? 10 : 0;
	char applied[64] = "", result[256] = "";
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sqlite3_stmt *st;
	sqlite3 *db = slob_store_db(s);
	sqlite3_prepare_v2(db, "SELECT applied_at, result FROM operator_commands WHERE id = ?", -1,
			   &st, NULL);
	for (;;) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
			snprintf(applied, sizeof(applied), "%s",
				 (const char *)sqlite3_column_text(st, 0));
			snprintf(result, sizeof(result), "%s",
				 sqlite3_column_text(st, 1)
				     ? (const char *)sqlite3_column_text(st, 1)
				     : "");
		}
		sqlite3_reset(st);
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double el =
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (applied[0] || el >= wait)
			break;
		usleep(100000);
	}
	sqlite3_finalize(st);
	slob_store_close(s);
	bool failed = !strncmp(result, "failed", 6);
	int out = applied[0] ? (failed ? CTL_FAIL : CTL_OK) : (pid > 0 ? CTL_PENDING : CTL_OK);
	if (c->json) {
		json_t *o = json_pack("{s:b,s:I,s:s,s:s,s:s,s:b}", "ok", out == CTL_OK, "id",
				      (json_int_t)id, "command", cmd, "arg", arg ? arg : "", "who",
				      who, "daemon_running", pid > 0);
		json_object_set_new(o, "applied_at",
				    applied[0] ? json_string(applied) : json_null());
		json_object_set_new(o, "result", applied[0] ? json_string(result) : json_null());
		ctl_json_out(o);
	} else if (applied[0]) {
		printf("%s%s%s: command #%lld applied at %s: %s\n", cmd, arg ? " " : "",
		       arg ? arg : "", (long long)id, applied, result);
	} else if (pid > 0) {
		printf("%s%s%s: command #%lld queued, not applied by slobd (pid %d) within %g s; "
		       "check `slobctl status` and logs/errors.log\n",
		       cmd, arg ? " " : "", arg ? arg : "", (long long)id, (int)pid, wait);
	} else {
		printf("%s%s%s: command #%lld queued; slobd is not running and applies it when it "
		       "starts\n",
		       cmd, arg ? " " : "", arg ? arg : "", (long long)id);
	}
	return out;
}

/* ---- trades ------------------------------------------------------------------- */

static void csv_field(const char *s)
{
	if (strpbrk(s, ",\"\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
}

int cmd_trades(struct ctl *c)
{
	long long since = 0, until = 0;
	long limit = 0;
	bool csv = false;
	const char *v;
	for (int i = 1; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, "--since") || !strcmp(a, "--until")) {
			if (!(v = optval(c, &i)))
				return CTL_USAGE;
			if (ctl_parse_since(v, a[2] == 's' ? &since : &until) < 0) {
				ctl_err(c,
					"%s '%s': expected 7d, 24h, 1y, today or YYYY-MM-DD[ "
					"HH:MM[:SS]]",
					a, v);
				return CTL_USAGE;
			}
		} else if (!strcmp(a, "--limit")) {
			if (!(v = optval(c, &i)))
				return CTL_USAGE;
			char *end;
			limit = strtol(v, &end, 10);
			if (*end || limit < 1) {
				ctl_err(c, "--limit '%s': expected a positive integer", v);
				return CTL_USAGE;
			}
		} else if (!strcmp(a, "--csv")) {
			csv = true;
		} else {
			ctl_err(c, "unexpected argument '%s'", a);
			return CTL_USAGE;
		}
	}
	slob_store_t *s;
	int rc = open_store(c, SLOB_STORE_RDONLY | SLOB_STORE_NO_MIGRATE, &s);
	if (rc)
		return rc;
	char since_s[SLOB_STORE_TIME_LEN] = "0000", until_s[SLOB_STORE_TIME_LEN] = "9999";
	if (since)
		slob_store_time_fmt(since, since_s, sizeof(since_s));
	if (until)
		slob_store_time_fmt(until, until_s, sizeof(until_s));
	sqlite3 *db = slob_store_db(s);
	sqlite3_stmt *st;
	const char *sql =
	    "SELECT id, setup_id, direction, qty, entry_time, exit_time, entry_price, "
	    "exit_price, sl_price, tp_price, outcome, pnl, exit_reason FROM trade_history "
	    "WHERE entry_time >= ? AND entry_time < ? ORDER BY entry_time, id LIMIT ?";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		ctl_err(c, "query trade_history: %s", sqlite3_errmsg(db));
		slob_store_close(s);
		return CTL_FAIL;
	}
	sqlite3_bind_text(st, 1, since_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, until_s, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit ? limit : -1);
	static const char *const cols[] = {"id",	 "setup_id",  "direction",   "qty",
					   "entry_time", "exit_time", "entry_price", "exit_price",
					   "sl_price",	 "tp_price",  "outcome",     "pnl",
					   "exit_reason"};
	const int ncol = 13;
	json_t *arr = c->json ? json_array() : NULL;
	int n = 0;
	double total = 0;
	if (csv) {
		for (int k = 0; k < ncol; k++)
			printf("%s%s", k ? "," : "", cols[k]);
		putchar('\n');
	} else if (!c->json) {
		printf("%-6s %-16s %-5s %3s %-23s %-23s %10s %10s %-9s %10s %s\n", "id", "setup",
		       "dir", "qty", "entry_time", "exit_time", "entry", "exit", "outcome", "pnl",
		       "exit");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		total += sqlite3_column_double(st, 11);
		if (arr) {
			json_t *o = json_object();
			for (int k = 0; k < ncol; k++) {
				json_t *val;
				switch (sqlite3_column_type(st, k)) {
				case SQLITE_INTEGER:
					val = json_integer(sqlite3_column_int64(st, k));
					break;
				case SQLITE_FLOAT:
					val = json_real(sqlite3_column_double(st, k));
					break;
				case SQLITE_NULL:
					val = json_null();
					break;
				default:
					val = json_string((const char *)sqlite3_column_text(st, k));
				}
				json_object_set_new(o, cols[k], val);
			}
			json_array_append_new(arr, o);
		} else if (csv) {
			for (int k = 0; k < ncol; k++) {
				if (k)
					putchar(',');
				const unsigned char *t = sqlite3_column_text(st, k);
				csv_field(t ? (const char *)t : "");
			}
			putchar('\n');
		} else {
#define T(k) (sqlite3_column_text(st, k) ? (const char *)sqlite3_column_text(st, k) : "-")
			printf("%-6s %-16.16s %-5s %3s %-23s %-23s %10.2f %10.2f %-9s %10.2f %s\n",
			       T(0), T(1), T(2), T(3), T(4), T(5), sqlite3_column_double(st, 6),
			       sqlite3_column_double(st, 7), T(10), sqlite3_column_double(st, 11),
			       T(12));
#undef T
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ctl_err(c, "query trade_history: %s", sqlite3_errmsg(db));
		json_decref(arr);
		slob_store_close(s);
		return CTL_FAIL;
	}
	slob_store_close(s);
	if (arr)
		ctl_json_out(json_pack("{s:b,s:i,s:f,s:o}", "ok", 1, "count", n, "total_pnl", total,
				       "trades", arr));
	else if (!csv)
		printf("%d trade%s, total P&L $%.2f\n", n, n == 1 ? "" : "s", total);
	return CTL_OK;
}

/* ---- maintenance over persist/backup.h --------------------------------------- */

static void done_json(bool ok, const char *key, const char *val)
{
	ctl_json_out(json_pack("{s:b,s:s}", "ok", ok, key, val ? val : ""));
}

/* [store] upload_cmd of --config (the key slobd documents for backups) */
struct store_ini {
	char upload_cmd[256];
};

static int store_ini_handler(void *user, const char *section, const char *key, const char *value)
{
	struct store_ini *x = user;
	if (!strcmp(section, "store") && !strcmp(key, "upload_cmd"))
		snprintf(x->upload_cmd, sizeof(x->upload_cmd), "%s", value);
	return 1;
}

int cmd_backup(struct ctl *c)
{
	const char *dir = NULL;
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--dir")) {
			if (!(dir = optval(c, &i)))
				return CTL_USAGE;
		} else {
			ctl_err(c, "unexpected argument '%s'", c->argv[i]);
			return CTL_USAGE;
		}
	}
	if (store_missing(c))
		return CTL_NOSTORE;
	struct store_ini si = {""};
	if (c->config[0]) {
		FILE *f = fopen(c->config, "r");
		if (!f) {
			ctl_err(c, "config %s: %s", c->config, strerror(errno));
			return CTL_USAGE;
		}
		int line = ini_parse_file(f, store_ini_handler, &si);
		fclose(f);
		if (line) {
			ctl_err(c, "config %s:%d: syntax error", c->config, line);
			return CTL_USAGE;
		}
	}
	struct slob_backup_opts o = {.db_path = c->db_path,
				     .backup_dir = dir,
				     .keep_daily = 0,
				     .keep_weekly = -1,
				     .upload_cmd = si.upload_cmd};
	struct slob_backup_result r;
	memset(&r, 0, sizeof(r));
	int rc = slob_backup_create(&o, &r);
	if (rc < 0 && r.alert) {
		/* the backup_failed alert (P3-3) through the configured channels */
		char why[512];
		snprintf(why, sizeof(why), "%s", slob_store_strerror());
		ctl_send_alert(c, SLOB_ALERT_BACKUP_FAILED, SLOB_LVL_ERROR, "Backup failed",
			       r.alert_rec.u.text.text);
		slob_store_seterr_(-rc, "%s", why);
	}
	if (rc < 0 && !(rc == -ECHILD && r.file[0])) {
		ctl_err(c, "backup failed: %s", slob_store_strerror());
		return CTL_FAIL;
	}
	if (c->json)
		ctl_json_out(json_pack("{s:b,s:s,s:I,s:I,s:i,s:i}", "ok", rc == 0, "file", r.file,
				       "rows", (json_int_t)r.rows, "bytes", (json_int_t)r.bytes,
				       "removed", (int)r.removed, "upload_status",
				       r.upload_status));
	else
		printf("backup %s: %lld rows, %lld bytes, verified; %u old backup%s removed%s\n",
		       r.file, (long long)r.rows, (long long)r.bytes, r.removed,
		       r.removed == 1 ? "" : "s", rc == -ECHILD ? "; UPLOAD FAILED" : "");
	return rc == 0 ? CTL_OK : CTL_FAIL;
}

int cmd_verify(struct ctl *c)
{
	const char *what = NULL;
	bool all = false;
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--all"))
			all = true;
		else if (!what && c->argv[i][0] != '-')
			what = c->argv[i];
		else {
			ctl_err(c, "unexpected argument '%s'", c->argv[i]);
			return CTL_USAGE;
		}
	}
	char dir[PATH_MAX];
	slob_backup_default_dir(c->db_path, dir, sizeof(dir));
	static char names[256][PATH_MAX];
	int n;
	if (what && strcmp(what, "latest")) {
		snprintf(names[0], PATH_MAX, "%s", what);
		n = 1;
	} else {
		n = slob_backup_list(dir, names, 256);
		if (n < 0 || n == 0) {
			ctl_err(c, "no backups in %s", dir);
			return CTL_NOSTORE;
		}
		if (n > 256)
			n = 256;
		if (!all)
			n = 1; /* newest */
	}
	int bad = 0;
	json_t *arr = c->json ? json_array() : NULL;
	for (int i = 0; i < n; i++) {
		int rc = slob_backup_verify(names[i]);
		if (rc < 0)
			bad++;
		if (arr)
			json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "file", names[i],
							     "ok", rc == 0, "error",
							     rc < 0 ? slob_store_strerror() : ""));
		else if (rc == 0)
			printf("ok      %s\n", names[i]);
		else
			printf("FAILED  %s: %s\n", names[i], slob_store_strerror());
	}
	if (arr)
		ctl_json_out(
		    json_pack("{s:b,s:i,s:o}", "ok", bad == 0, "failed", bad, "backups", arr));
	return bad ? CTL_CORRUPT : CTL_OK;
}

int cmd_restore(struct ctl *c)
{
	if (c->argc != 2 || c->argv[1][0] == '-') {
		ctl_err(c, "usage: slobctl restore FILE|latest");
		return CTL_USAGE;
	}
	char kept[PATH_MAX] = "";
	int rc = slob_backup_restore(c->db_path, c->argv[1], kept, sizeof(kept));
	if (rc == -EBUSY) {
		ctl_err(c, "%s", slob_store_strerror());
		return CTL_RUNNING;
	}
	if (rc < 0) {
		ctl_err(c, "restore failed: %s", slob_store_strerror());
		return rc == -ENOENT ? CTL_NOSTORE : rc == -EIO ? CTL_CORRUPT : CTL_FAIL;
	}
	if (c->json)
		ctl_json_out(json_pack("{s:b,s:s,s:s}", "ok", 1, "restored", c->argv[1],
				       "kept_aside", kept));
	else
		printf("restored %s over %s%s%s\n", c->argv[1], c->db_path,
		       kept[0] ? "; previous file kept as " : "", kept);
	return CTL_OK;
}

int cmd_check(struct ctl *c)
{
	bool full = false;
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--full"))
			full = true;
		else {
			ctl_err(c, "unexpected argument '%s'", c->argv[i]);
			return CTL_USAGE;
		}
	}
	if (store_missing(c))
		return CTL_NOSTORE;
	int rc = slob_backup_check(c->db_path, full);
	if (rc == 0) {
		if (c->json)
			done_json(true, "store", c->db_path);
		else
			printf("ok  %s (%s)\n", c->db_path,
			       full ? "integrity_check" : "quick_check");
		return CTL_OK;
	}
	ctl_err(c, "%s: %s", c->db_path, slob_store_strerror());
	return rc == -EIO ? CTL_CORRUPT : rc == -ENOENT ? CTL_NOSTORE : CTL_FAIL;
}

int cmd_vacuum(struct ctl *c)
{
	if (c->argc != 1) {
		ctl_err(c, "unexpected argument '%s'", c->argv[1]);
		return CTL_USAGE;
	}
	struct stat a, b;
	if (stat(c->db_path, &a) < 0) {
		ctl_err(c, "store %s: %s", c->db_path, strerror(errno));
		return CTL_NOSTORE;
	}
	int rc = store_sound(c, true, "vacuum");
	if (rc)
		return rc;
	rc = slob_backup_vacuum(c->db_path);
	if (rc < 0) {
		ctl_err(c, "vacuum failed: %s", slob_store_strerror());
		return CTL_FAIL;
	}
	stat(c->db_path, &b);
	if (c->json)
		ctl_json_out(json_pack("{s:b,s:I,s:I}", "ok", 1, "bytes_before",
				       (json_int_t)a.st_size, "bytes_after",
				       (json_int_t)b.st_size));
	else
		printf("vacuumed %s: %lld -> %lld bytes\n", c->db_path, (long long)a.st_size,
		       (long long)b.st_size);
	return CTL_OK;
}

int cmd_archive(struct ctl *c)
{
	long days = -1;
	const char *to = NULL;
	for (int i = 1; i < c->argc; i++) {
		const char *a = c->argv[i], *v;
		if (!strcmp(a, "--older-than")) {
			if (!(v = optval(c, &i)))
				return CTL_USAGE;
			char *end;
			long n = strtol(v, &end, 10);
			long mult = !strcmp(end, "d")	? 1
				    : !strcmp(end, "w") ? 7
				    : !strcmp(end, "m") ? 30
				    : !strcmp(end, "y") ? 365
							: 0;
			if (end == v || n < 1 || !mult) {
				ctl_err(c,
					"--older-than '%s': expected N followed by d, w, m or y "
					"(e.g. 1y, 90d)",
					v);
				return CTL_USAGE;
			}
			days = n * mult;
		} else if (!strcmp(a, "--to")) {
			if (!(to = optval(c, &i)))
				return CTL_USAGE;
		} else {
			ctl_err(c, "unexpected argument '%s'", a);
			return CTL_USAGE;
		}
	}
	if (days < 0) {
		ctl_err(c, "--older-than is required (e.g. archive --older-than 1y)");
		return CTL_USAGE;
	}
	if (store_missing(c))
		return CTL_NOSTORE;
	int rc = store_sound(c, true, "archive");
	if (rc)
		return rc;
	int64_t n = slob_backup_archive(c->db_path, (int)days, to);
	if (n < 0) {
		ctl_err(c, "archive failed: %s", slob_store_strerror());
		return CTL_FAIL;
	}
	if (c->json)
		ctl_json_out(json_pack("{s:b,s:I,s:i}", "ok", 1, "moved", (json_int_t)n,
				       "older_than_days", (int)days));
	else
		printf("archived %lld trade_history row%s older than %ld days\n", (long long)n,
		       n == 1 ? "" : "s", days);
	return CTL_OK;
}
