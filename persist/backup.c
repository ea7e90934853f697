/* SPDX-License-Identifier: MIT */
/*
 * backup.c: online backup with verification and rotation, restore, check,
 * vacuum and archive of the store (see backup.h for the design notes).
 */
/* Paths are bounded by PATH_MAX and checked where it matters; GCC cannot
 * prove the bounds of composed paths and messages, and a truncated message
 * is harmless. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "persist/alert.h"
#include "persist/backup.h"
#include "persist/lock.h"
#include "persist/store.h"

static int dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	int n;
	if (!slash)
		n = snprintf(out, len, ".");
	else if (slash == path)
		n = snprintf(out, len, "/");
	else
		n = snprintf(out, len, "%.*s", (int)(slash - path), path);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int slob_backup_default_dir(const char *db_path, char *out, size_t len)
{
	char dir[PATH_MAX];
	if (dir_of(db_path, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	int n = snprintf(out, len, "%s/backups", dir);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int64_t now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fsync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* Sum of row counts of every user table, on a connection (in its snapshot). */
static int64_t count_rows(sqlite3 *db, char *detail, size_t len)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
		db,
		"SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
		"'sqlite_%' ORDER BY name",
		-1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int64_t total = 0;
	size_t off = 0;
	if (detail && len)
		detail[0] = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *q = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name);
		sqlite3_stmt *c;
		int64_t n = -1;
		if (q && sqlite3_prepare_v2(db, q, -1, &c, NULL) == SQLITE_OK) {
			if (sqlite3_step(c) == SQLITE_ROW)
				n = sqlite3_column_int64(c, 0);
			sqlite3_finalize(c);
		}
		sqlite3_free(q);
		if (n < 0) {
			sqlite3_finalize(st);
			return -EIO;
		}
		total += n;
		if (detail && off < len) {
			int k = snprintf(detail + off, len - off, "%s%s=%lld", off ? " " : "", name,
					 (long long)n);
			if (k > 0)
				off += (size_t)k;
		}
	}
	sqlite3_finalize(st);
	return total;
}

int slob_backup_verify(const char *file)
{
	int e = slob_store_check_path(file, true);
	if (e < 0)
		return e;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close_v2(db);
		return slob_store_seterr_(EIO, "backup %s: cannot open", file);
	}
	int64_t v = -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close_v2(db);
	if (v < 1 || v > SLOB_STORE_VERSION)
		return slob_store_seterr_(EIO,
					  "backup %s: schema version %lld is not a slob store "
					  "this build can use (1..%d)",
					  file, (long long)v, SLOB_STORE_VERSION);
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	return -strcmp((const char *)a, (const char *)b);
}

static bool is_backup_name(const char *n)
{
	size_t lp = strlen(SLOB_BACKUP_PREFIX), ls = strlen(SLOB_BACKUP_SUFFIX), l = strlen(n);
	/* slob_state_YYYYMMDD_HHMMSS.db */
	return l == lp + 15 + ls && !strncmp(n, SLOB_BACKUP_PREFIX, lp) &&
	       !strcmp(n + l - ls, SLOB_BACKUP_SUFFIX) && n[lp + 8] == '_';
}

int slob_backup_list(const char *dir, char (*names)[PATH_MAX], int max)
{
	DIR *d = opendir(dir);
	if (!d)
		return slob_store_seterr_(errno, "backup dir %s: %s", dir, strerror(errno));
	int cap = 64, n = 0;
	char(*all)[NAME_MAX + 1] = malloc((size_t)cap * sizeof(*all));
	if (!all) {
		closedir(d);
		return -ENOMEM;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_backup_name(de->d_name))
			continue;
		if (n == cap) {
			void *p = realloc(all, (size_t)(cap *= 2) * sizeof(*all));
			if (!p) {
				free(all);
				closedir(d);
				return -ENOMEM;
			}
			all = p;
		}
		snprintf(all[n++], NAME_MAX + 1, "%s", de->d_name);
	}
	closedir(d);
	qsort(all, (size_t)n, sizeof(*all), cmp_desc);
	for (int i = 0; i < n && i < max; i++)
		snprintf(names[i], PATH_MAX, "%s/%s", dir, all[i]);
	free(all);
	return n;
}

int slob_backup_latest(const char *dir, char *out, size_t len)
{
	char names[64][PATH_MAX];
	int n = slob_backup_list(dir, names, 64);
	if (n < 0)
		return n;
	for (int i = 0; i < n && i < 64; i++) {
		if (slob_backup_verify(names[i]) == 0) {
			snprintf(out, len, "%s", names[i]);
			return 0;
		}
	}
	return slob_store_seterr_(ENOENT, "no verified backup in %s (%d file%s checked)", dir, n,
				  n == 1 ? "" : "s");
}

/* Keeps the newest backup of each of the newest keep_daily days and of the
 * newest keep_weekly ISO weeks; deletes the rest. Returns files removed. */
static unsigned rotate(const char *dir, int keep_daily, int keep_weekly, const char *keep_file)
{
	int n = slob_backup_list(dir, NULL, 0);
	if (n <= 0)
		return 0;
	char(*names)[PATH_MAX] = malloc((size_t)n * PATH_MAX);
	if (!names)
		return 0;
	n = slob_backup_list(dir, names, n);
	unsigned removed = 0;
	char last_day[16] = "", last_week[16] = "";
	int days = 0, weeks = 0;
	for (int i = 0; i < n; i++) {
		const char *base = strrchr(names[i], '/') + 1 + strlen(SLOB_BACKUP_PREFIX);
		char day[9];
		memcpy(day, base, 8);
		day[8] = 0;
		struct tm tm = {0};
		tm.tm_year = atoi((char[5]){day[0], day[1], day[2], day[3], 0}) - 1900;
		tm.tm_mon = atoi((char[3]){day[4], day[5], 0}) - 1;
		tm.tm_mday = atoi((char[3]){day[6], day[7], 0});
		time_t t = timegm(&tm);
		struct tm g;
		gmtime_r(&t, &g);
		char week[16];
		strftime(week, sizeof(week), "%G-W%V", &g);
		bool keep = strcmp(names[i], keep_file) == 0;
		if (strcmp(day, last_day)) {
			snprintf(last_day, sizeof(last_day), "%s", day);
			if (days++ < keep_daily)
				keep = true;
		}
		if (strcmp(week, last_week)) {
			snprintf(last_week, sizeof(last_week), "%s", week);
			if (weeks++ < keep_weekly)
				keep = true;
		}
		if (!keep && unlink(names[i]) == 0)
			removed++;
	}
	free(names);
	return removed;
}

static void make_alert(struct slob_backup_result *res, const char *db_path, int err,
		       const char *text)
{
	/* the kind is the alert kind (backup_failed), as alert.h's producers
	 * use it; the errno is in the text */
	(void)err;
	res->alert = true;
	slob_cold_text_init(&res->alert_rec, SLOB_COLD_ALERT, SLOB_LVL_ERROR, now_wall(), "backup",
			    SLOB_ALERT_BACKUP_FAILED, text);
	/* Journal it in the store when we can (the daemon may not be running). */
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, 2000);
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(
			db,
			"INSERT INTO alerts_sent (level, kind, component, text, channel)"
			" VALUES ('ERROR', ?1, 'backup', ?2, 'backup')",
			-1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int(st, 1, SLOB_ALERT_BACKUP_FAILED);
			sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
			sqlite3_step(st);
			sqlite3_finalize(st);
		}
	}
	sqlite3_close_v2(db);
}

static int run_upload(const char *cmd, const char *file)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char script[512];
		snprintf(script, sizeof(script), "%s \"$1\"", cmd);
		execl("/bin/sh", "sh", "-c", script, "sh", file, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int slob_backup_create(const struct slob_backup_opts *o, struct slob_backup_result *res)
{
	char dir[PATH_MAX], part[PATH_MAX + 16], msg[168];
	memset(res, 0, sizeof(*res));
	int e;
	if (o->backup_dir)
		snprintf(dir, sizeof(dir), "%s", o->backup_dir);
	else if ((e = slob_backup_default_dir(o->db_path, dir, sizeof(dir))) < 0)
		return slob_store_seterr_(-e, "backup: path too long");
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		e = -errno;
		slob_store_seterr_(-e, "backup dir %s: cannot create: %s", dir, strerror(-e));
		goto fail_alert;
	}
	if (access(dir, W_OK) < 0) {
		e = -errno;
		slob_store_seterr_(-e, "backup dir %s is not writable: %s", dir, strerror(-e));
		goto fail_alert;
	}
	int64_t now = o->now_ns ? o->now_ns : now_wall();
	time_t t = (time_t)(now / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%d_%H%M%S", &tm);
	snprintf(res->file, sizeof(res->file), "%s/%s%s%s", dir, SLOB_BACKUP_PREFIX, stamp,
		 SLOB_BACKUP_SUFFIX);
	snprintf(part, sizeof(part), "%s.partial", res->file);
	unlink(part);

	sqlite3 *src = NULL, *dst = NULL;
	int rc = sqlite3_open_v2(o->db_path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		e = slob_store_seterr_(ENOENT, "backup: cannot open store %s: %s", o->db_path,
				       src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		goto fail_close;
	}
	sqlite3_busy_timeout(src, 5000);
	rc = sqlite3_open_v2(part, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		e = slob_store_seterr_(-slob_store_errno_(rc), "backup: cannot create %s: %s", part,
				       dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto fail_close;
	}
	/* One read snapshot for the copy and the source counts. */
	int64_t src_rows = -1;
	char src_detail[512], dst_detail[512];
	rc = sqlite3_exec(src, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		src_rows = count_rows(src, src_detail, sizeof(src_detail));
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
		if (!b) {
			rc = sqlite3_errcode(dst);
		} else {
			rc = sqlite3_backup_step(b, -1);
			int rc2 = sqlite3_backup_finish(b);
			rc = rc == SQLITE_DONE ? rc2 : rc;
		}
		sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK || src_rows < 0) {
		e = slob_store_seterr_(-slob_store_errno_(rc ? rc : SQLITE_IOERR),
				       "backup of %s to %s failed: %s", o->db_path, part,
				       rc ? sqlite3_errstr(rc) : "cannot count source rows");
		goto fail_close;
	}
	/* A backup is a plain rollback-journal file (no -wal to lose in a copy). */
	sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	sqlite3_close_v2(dst);
	dst = NULL;
	sqlite3_close_v2(src);
	src = NULL;

	/* Verify: integrity + identical row counts. */
	if ((e = slob_backup_verify(part)) < 0)
		goto fail_unlink;
	sqlite3_open_v2(part, &dst, SQLITE_OPEN_READONLY, NULL);
	int64_t dst_rows = count_rows(dst, dst_detail, sizeof(dst_detail));
	sqlite3_close_v2(dst);
	dst = NULL;
	if (dst_rows != src_rows || strcmp(src_detail, dst_detail)) {
		e = slob_store_seterr_(EIO,
				       "backup %s: row counts differ from the store (%s vs %s)",
				       part, dst_detail, src_detail);
		goto fail_unlink;
	}
	if (fsync_path(part, false) < 0 || rename(part, res->file) < 0) {
		e = slob_store_seterr_(errno ? errno : EIO, "backup %s: cannot finish: %s",
				       res->file, strerror(errno));
		goto fail_unlink;
	}
	fsync_path(dir, true);
	res->rows = src_rows;
	struct stat sb;
	if (stat(res->file, &sb) == 0)
		res->bytes = sb.st_size;
	res->removed = rotate(dir, o->keep_daily > 0 ? o->keep_daily : 7,
			      o->keep_weekly >= 0 ? o->keep_weekly : 4, res->file);
	if (o->upload_cmd && o->upload_cmd[0]) {
		int st = run_upload(o->upload_cmd, res->file);
		res->upload_status = st;
		if (st != 0) {
			e = slob_store_seterr_(ECHILD,
					       "backup %s verified, but upload command "
					       "failed (status %d): %s",
					       res->file, st, o->upload_cmd);
			snprintf(msg, sizeof(msg),
				 "backup upload failed (status %d); local backup kept", st);
			make_alert(res, o->db_path, ECHILD, msg);
			return e;
		}
	}
	return 0;

fail_close:
	sqlite3_close_v2(dst);
	sqlite3_close_v2(src);
fail_unlink:
	unlink(part);
	res->file[0] = 0;
fail_alert:
	snprintf(msg, sizeof(msg), "backup failed: %.140s; older backups kept",
		 slob_store_strerror());
	{
		char keep[512];
		snprintf(keep, sizeof(keep), "%s", slob_store_strerror());
		make_alert(res, o->db_path, -e, msg);
		slob_store_seterr_(-e, "%s", keep);
	}
	return e;
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	char buf[65536];
	ssize_t n;
	int e = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				e = -errno;
				goto out;
			}
			off += w;
		}
	}
	if (n < 0)
		e = -errno;
	else if (fsync(out) < 0)
		e = -errno;
out:
	close(in);
	if (close(out) < 0 && !e)
		e = -errno;
	return e;
}

int slob_backup_restore_locked(const char *db_path, const char *file, char *kept_aside, size_t len)
{
	char src[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 16];
	int e;
	if (kept_aside && len)
		kept_aside[0] = 0;
	if ((e = dir_of(db_path, dir, sizeof(dir))) < 0)
		return slob_store_seterr_(-e, "restore: path too long");
	if (!strcmp(file, "latest")) {
		char bdir[PATH_MAX];
		slob_backup_default_dir(db_path, bdir, sizeof(bdir));
		if ((e = slob_backup_latest(bdir, src, sizeof(src))) < 0)
			return e;
	} else {
		snprintf(src, sizeof(src), "%s", file);
	}
	if ((e = slob_backup_verify(src)) < 0) {
		char keep[512];
		snprintf(keep, sizeof(keep), "%s", slob_store_strerror());
		return slob_store_seterr_(-e, "restore refused, backup does not verify: %s", keep);
	}
	snprintf(tmp, sizeof(tmp), "%s.restoring", db_path);
	if ((e = copy_file(src, tmp)) < 0) {
		unlink(tmp);
		return slob_store_seterr_(-e, "restore: cannot copy %s to %s: %s", src, tmp,
					  strerror(-e));
	}
	/* Move the current file and its WAL/SHM aside together. */
	struct stat sb;
	if (stat(db_path, &sb) == 0) {
		char stamp[32], aside[PATH_MAX + 64];
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d_%H%M%S", &tm);
		snprintf(aside, sizeof(aside), "%s.before_restore_%s", db_path, stamp);
		if (rename(db_path, aside) < 0) {
			e = -errno;
			unlink(tmp);
			return slob_store_seterr_(-e, "restore: cannot move %s aside: %s", db_path,
						  strerror(-e));
		}
		if (kept_aside && len)
			snprintf(kept_aside, len, "%s", aside);
		for (int i = 0; i < 2; i++) {
			const char *sfx = i ? "-shm" : "-wal";
			char a[PATH_MAX + 8], b[PATH_MAX + 72];
			snprintf(a, sizeof(a), "%s%s", db_path, sfx);
			snprintf(b, sizeof(b), "%s%s", aside, sfx);
			if (rename(a, b) < 0 && errno != ENOENT)
				unlink(a);
		}
	} else {
		for (int i = 0; i < 2; i++) {
			char a[PATH_MAX + 8];
			snprintf(a, sizeof(a), "%s%s", db_path, i ? "-shm" : "-wal");
			unlink(a);
		}
	}
	if (rename(tmp, db_path) < 0) {
		e = -errno;
		return slob_store_seterr_(-e, "restore: cannot move %s into place: %s", tmp,
					  strerror(-e));
	}
	fsync_path(dir, true);
	if ((e = slob_store_check_path(db_path, true)) < 0)
		return e;
	return 0;
}

int slob_backup_restore(const char *db_path, const char *file, char *kept_aside, size_t len)
{
	char dir[PATH_MAX];
	if (dir_of(db_path, dir, sizeof(dir)) < 0)
		return slob_store_seterr_(ENAMETOOLONG, "restore: path too long");
	pid_t holder = slob_lock_holder(dir);
	if (holder > 0)
		return slob_store_seterr_(
		    EBUSY, "slobd (pid %d) holds %s: stop it before restoring", (int)holder, dir);
	return slob_backup_restore_locked(db_path, file, kept_aside, len);
}

int slob_backup_check(const char *db_path, bool full)
{
	return slob_store_check_path(db_path, full);
}

int slob_backup_vacuum(const char *db_path)
{
	slob_store_t *s;
	int e = slob_store_open(db_path, SLOB_STORE_NO_MIGRATE, &s);
	if (e < 0)
		return e;
	e = slob_store_exec(s, "VACUUM");
	slob_store_close(s);
	return e;
}

int64_t slob_backup_archive(const char *db_path, int older_than_days, const char *archive_path)
{
	char apath[PATH_MAX], dir[PATH_MAX];
	if (older_than_days < 1)
		return slob_store_seterr_(EINVAL, "archive: --older-than must be >= 1 day (got %d)",
					  older_than_days);
	if (archive_path) {
		snprintf(apath, sizeof(apath), "%s", archive_path);
	} else {
		if (dir_of(db_path, dir, sizeof(dir)) < 0 ||
		    snprintf(apath, sizeof(apath), "%s/archive/trade_history_archive.db", dir) >=
			(int)sizeof(apath))
			return slob_store_seterr_(ENAMETOOLONG, "archive: path too long");
	}
	if (dir_of(apath, dir, sizeof(dir)) == 0 && mkdir(dir, 0750) < 0 && errno != EEXIST)
		return slob_store_seterr_(errno, "archive dir %s: %s", dir, strerror(errno));
	slob_store_t *s;
	int64_t e = slob_store_open(db_path, SLOB_STORE_NO_MIGRATE, &s);
	if (e < 0)
		return e;
	sqlite3 *db = slob_store_db(s);
	char *sql = sqlite3_mprintf("ATTACH %Q AS arch", apath);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		e = slob_store_seterr_(-slob_store_errno_(rc), "archive %s: %s", apath,
				       sqlite3_errmsg(db));
		goto out;
	}
	/* Same columns as the live table: copy its CREATE statement. */
	sqlite3_stmt *st;
	char create[4096] = "";
	if (sqlite3_prepare_v2(db, "SELECT sql FROM main.sqlite_master WHERE name='trade_history'",
			       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(create, sizeof(create), "%s", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	/* the name may be quoted (ALTER TABLE RENAME writes "trade_history"):
	 * keep the column list from its first parenthesis */
	char *p = strncmp(create, "CREATE TABLE", 12) == 0 ? strchr(create, '(') : NULL;
	if (!p) {
		e = slob_store_seterr_(EPROTO, "archive: store has no trade_history table");
		goto detach;
	}
	char acreate[4200];
	snprintf(acreate, sizeof(acreate), "CREATE TABLE IF NOT EXISTS arch.trade_history %s", p);
	char cutoff[32];
	snprintf(cutoff, sizeof(cutoff), "-%d days", older_than_days);
	rc = sqlite3_exec(db, acreate, NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		sql = sqlite3_mprintf("BEGIN IMMEDIATE; INSERT OR IGNORE INTO arch.trade_history"
				      " SELECT * FROM main.trade_history WHERE entry_time <"
				      " datetime('now', %Q); COMMIT;",
				      cutoff);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
	}
	if (rc == SQLITE_OK) {
		/* delete only rows the archive now holds */
		sql = sqlite3_mprintf("DELETE FROM main.trade_history WHERE entry_time <"
				      " datetime('now', %Q) AND id IN (SELECT id FROM"
				      " arch.trade_history)",
				      cutoff);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
	}
	if (rc != SQLITE_OK) {
		e = slob_store_seterr_(-slob_store_errno_(rc), "archive to %s: %s", apath,
				       sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	} else {
		e = sqlite3_changes(db);
	}
detach:
	sqlite3_exec(db, "DETACH arch", NULL, NULL, NULL);
out:
	slob_store_close(s);
	return e;
}
