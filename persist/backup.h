/* SPDX-License-Identifier: MIT */
/*
 * backup.h: backups and maintenance of the store, the functions slobctl's
 * `backup`, `verify`, `restore`, `check`, `vacuum` and `archive` commands call
 * (incidents P0-1, P3-1, P3-3 of the guide). All of them block on disk I/O;
 * none runs on a hot thread. Errors: negative errno, detail naming the file
 * in slob_store_strerror().
 *
 * Design notes
 *  1. A backup is a consistent snapshot taken with the SQLite online-backup
 *     API inside one read transaction of the source (slobd may keep writing;
 *     WAL readers do not block it), written as <name>.partial, verified
 *     (integrity_check + every table's row count equal to the source's in the
 *     same snapshot), then renamed to backups/slob_state_YYYYMMDD_HHMMSS.db.
 *     Never a `cp` of a live WAL database (ORIGINAL_SYSTEM.md s8 #6).
 *  2. Rotation runs only after a verified backup: it keeps the newest file of
 *     each of the last keep_daily days and of the last keep_weekly ISO weeks;
 *     a failed backup deletes nothing (P3-3: previous backups kept).
 *  3. Restore refuses while a slobd holds the data directory's lock, verifies
 *     the backup first, moves the current file and its -wal/-shm aside as
 *     <db>.before_restore_<ts>[-wal|-shm] (never leaves a stale WAL next to
 *     the restored file), copies the backup in via a temp file + rename.
 */
#ifndef SLOB_BACKUP_H
#define SLOB_BACKUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/coldrec.h"

#define SLOB_BACKUP_PREFIX "slob_state_"
#define SLOB_BACKUP_SUFFIX ".db"

struct slob_backup_opts {
	const char *db_path;	/* the store (required) */
	const char *backup_dir; /* NULL: <dir of db_path>/backups */
	int keep_daily;		/* <= 0: 7 */
	int keep_weekly;	/* < 0: 4 */
	const char *upload_cmd; /* NULL/"": none; run as: /bin/sh -c '<cmd> "$1"' sh <file> */
	int64_t now_ns;		/* 0: wall clock (tests pass a time to name files) */
};

struct slob_backup_result {
	char file[PATH_MAX];	    /* the verified backup ("" on failure) */
	int64_t rows;		    /* total rows copied (all tables) */
	int64_t bytes;		    /* file size */
	unsigned removed;	    /* old backups deleted by rotation */
	int upload_status;	    /* 0 ok / not configured, else the command's exit status */
	bool alert;		    /* true: `alert_rec` holds an ALERT record to send */
	struct slob_cold alert_rec; /* failure alert (component "backup"), for the caller's sink */
};

/*
 * slob_backup_create - takes, verifies, rotates and (optionally) uploads a
 * backup. Safe while slobd runs. Returns 0; -EACCES/-EROFS/-ENOSPC/-ENOENT
 * when the target is unwritable (no file left behind, older backups kept),
 * -EIO when verification failed, -ECHILD when the upload command failed (the
 * backup itself is kept and res->file set). On any failure res->alert is set
 * and a row is added to the store's alerts_sent when the store is writable.
 */
int slob_backup_create(const struct slob_backup_opts *o, struct slob_backup_result *res);

/*
 * slob_backup_verify - integrity_check of a backup file plus its schema
 * version (<= this build's). Returns 0, -EIO (corrupt: detail), -ENOENT.
 */
int slob_backup_verify(const char *file);

/*
 * slob_backup_list - backup files in dir, newest first, as full paths in
 * names[0..max). Returns how many were found (may exceed max) or -errno.
 */
int slob_backup_list(const char *dir, char (*names)[PATH_MAX], int max);

/*
 * slob_backup_latest - newest backup in dir that passes slob_backup_verify.
 * Returns 0 and its path, or -ENOENT when none verifies.
 */
int slob_backup_latest(const char *dir, char *out, size_t len);

/* Default backup dir for a store path: <dir of db_path>/backups. */
int slob_backup_default_dir(const char *db_path, char *out, size_t len);

/*
 * slob_backup_restore - restores `file` (a path, or "latest" = newest verified
 * backup in <dir of db_path>/backups) over db_path. Refuses with -EBUSY
 * ("slobd (pid N) holds <dir>: stop it first") while the data directory is
 * locked by another process. kept_aside (may be NULL) receives where the
 * previous file went ("" if there was none). Returns 0 or -errno.
 */
int slob_backup_restore(const char *db_path, const char *file, char *kept_aside, size_t len);

/* Same without the lock check: for slobd's own auto-restore, which holds the lock. */
int slob_backup_restore_locked(const char *db_path, const char *file, char *kept_aside, size_t len);

/* PRAGMA quick_check / integrity_check of the store (read-only). 0 or -EIO. */
int slob_backup_check(const char *db_path, bool full);

/* VACUUM (P3-1). Works while slobd runs (waits up to the busy timeout). */
int slob_backup_vacuum(const char *db_path);

/*
 * slob_backup_archive - moves trade_history rows with entry_time older than
 * `older_than_days` days into the archive db (NULL: <dir of db_path>/
 * archive/trade_history_archive.db, created with the same columns). Rows are
 * copied (INSERT OR IGNORE by id, so a re-run after a crash is harmless), then
 * deleted from the store. Returns the number of rows moved or -errno.
 */
int64_t slob_backup_archive(const char *db_path, int older_than_days, const char *archive_path);

#endif /* SLOB_BACKUP_H */
