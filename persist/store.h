/* SPDX-License-Identifier: MIT */
/*
 * store.h: the one SQLite file every tool looks at (default
 * <config dir>/data/slob_state.db, the path the incident guide types). This
 * module owns the schema, its forward migrations and connection settings;
 * persist/cold.c is the only writer of engine data, slobctl writes
 * operator_commands, slob-dash only reads. docs/STORE.md lists every table.
 *
 * Design notes
 *  1. ONE schema (ORIGINAL_SYSTEM.md s8 #1): active_setups and trade_history
 *     keep the names and columns operators query; every tool uses these.
 *  2. PRAGMA user_version is the schema version. slob_store_open() applies
 *     the missing migrations 1..SLOB_STORE_VERSION in order, each in its own
 *     IMMEDIATE transaction together with its user_version bump, so a crash
 *     mid-migration leaves the previous version intact. A file newer than this
 *     build is refused (never downgraded).
 *  3. Times are TEXT "YYYY-MM-DD HH:MM:SS.SSS" in UTC (what strftime('%Y-%m-%d
 *     %H:%M:%f') gives), so `entry_time < datetime('now','-1 year')` compares
 *     correctly as text. Prices are REAL in instrument points (20000.25);
 *     money is REAL dollars in operator-facing columns (pnl, equity) with an
 *     exact INTEGER *_cents twin where the engine recovers from it.
 *  4. Every connection: WAL, foreign_keys=ON, busy_timeout (so a reader or
 *     slobctl never turns into "database is locked" for the writer).
 */
#ifndef SLOB_STORE_H
#define SLOB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define SLOB_STORE_VERSION 7	      /* user_version of a current store */
#define SLOB_STORE_DEFAULT_DIR "data" /* relative to the config file's dir */
#define SLOB_STORE_DEFAULT_FILE "slob_state.db"
#define SLOB_STORE_TIME_LEN 24 /* "YYYY-MM-DD HH:MM:SS.SSS" + NUL */

typedef struct slob_store slob_store_t;

enum slob_store_flags {
	SLOB_STORE_RDONLY = 1u << 0,	 /* read-only (dashboard, verify) */
	SLOB_STORE_NO_MIGRATE = 1u << 1, /* do not create/upgrade; fail if not current */
	SLOB_STORE_WRITER = 1u << 2,	 /* the cold writer: short busy timeout */
};

/* [store] parameters (config section [store]). */
struct slob_store_params {
	char data_dir[256];   /* "" = <config dir>/data */
	char file[64];	      /* slob_state.db */
	int busy_timeout_ms;  /* tools apply it with slob_store_busy_timeout(); 5000 */
	int keep_daily;	      /* backups kept: daily, default 7 */
	int keep_weekly;      /* weekly (Sunday) backups kept, default 4 */
	char upload_cmd[256]; /* run as `<cmd> <backup file>`; "" = none */
	bool auto_restore;    /* restore newest verified backup on corruption */
	bool integrity_full;  /* integrity_check instead of quick_check at start */
};

void slob_store_params_default(struct slob_store_params *p);
int slob_store_param_set(struct slob_store_params *p, const char *key, const char *value, char *err,
			 size_t errlen);
int slob_store_params_validate(const struct slob_store_params *p, char *err, size_t errlen);

/*
 * slob_store_open - opens (creating it and its directory if needed) the store
 * at `path`, sets the connection PRAGMAs and migrates to SLOB_STORE_VERSION.
 * Returns 0 and *out, or -errno: -ENOENT (RDONLY and missing), -EIO (not a
 * database / corrupt), -EPROTO (schema newer than this build, or foreign
 * tables at version 0), -EBUSY (locked), -ENOMEM. Detail in
 * slob_store_strerror(). Cold thread / tools; blocks on disk I/O.
 */
int slob_store_open(const char *path, unsigned flags, slob_store_t **out);

/* Closes the connection (checkpointing the WAL). Accepts NULL. */
void slob_store_close(slob_store_t *s);

/* The raw connection, for prepared statements in persist/ and read-only tools. */
sqlite3 *slob_store_db(slob_store_t *s);
const char *slob_store_path(const slob_store_t *s);

/* Sets the connection's busy timeout (e.g. [store] busy_timeout_ms for tools;
 * the default is 5000 ms, 200 ms with SLOB_STORE_WRITER). Returns 0. */
int slob_store_busy_timeout(slob_store_t *s, int ms);

/* user_version of an open store. */
int slob_store_version(slob_store_t *s);

/*
 * slob_store_migrate - applies migrations (current user_version + 1) .. target
 * on a raw connection, each in its own transaction. target 0..SLOB_STORE_VERSION.
 * Returns the resulting version or -errno (-EPROTO: newer than target known).
 * Exposed so tests can build a store at every earlier version.
 */
int slob_store_migrate(sqlite3 *db, int target);

/*
 * slob_store_check - PRAGMA quick_check (full=false) or integrity_check, plus
 * foreign_key_check, plus the schema's shape: a store with no tables, or
 * without a table its user_version promises, is not ok. Returns 0 when
 * "ok", -EIO when corrupt (first problem in slob_store_strerror()), other
 * -errno if it could not run. Blocks.
 */
int slob_store_check(slob_store_t *s, bool full);

/* Same on a path without migrating or writing (opens read-only). */
int slob_store_check_path(const char *path, bool full);

/*
 * A store that was lost is never mistaken for a new one (docs/STORE.md,
 * "Lost stores"). slobd writes a marker file "<store>.marker" once a store
 * opened; that marker, a spill file or backups in <dir>/backups are the
 * evidence that a store has lived in a data directory.
 *
 * slob_store_mark - writes the marker if it is missing (temp file, fsync,
 * rename). Returns 0 or -errno. Start-up.
 * slob_store_history - 1 with the evidence named in `what` when a store has
 * lived beside db_path, 0 when none.
 * slob_store_check_startup - slob_store_check_path() for slobd's start: 0
 * for a healthy store or a new data directory (no file, or an empty file
 * and no evidence); -EIO when the store is corrupt, empty (0 bytes, no
 * tables), missing a table its version promises, or missing altogether
 * while the evidence says a store lived here. Message names the file and
 * the evidence. Blocks.
 */
int slob_store_marker_path(const char *db_path, char *out, size_t len);
int slob_store_mark(const char *db_path);
int slob_store_history(const char *db_path, char *what, size_t len);
int slob_store_check_startup(const char *path, bool full);

/* Runs SQL (no result rows). Returns 0 or -errno with detail. */
int slob_store_exec(slob_store_t *s, const char *sql);

/* Integer result of a one-value query (e.g. COUNT(*)); -errno on failure. */
int64_t slob_store_query_i64(slob_store_t *s, const char *sql);

/*
 * slob_store_default_path - "<dir of config_path>/data/slob_state.db" (or
 * "data/slob_state.db" when config_path is NULL or has no directory).
 * Returns 0 or -ENAMETOOLONG.
 */
int slob_store_default_path(const char *config_path, char *out, size_t len);

/* Path of the store for params p (data_dir/file); config_path as above. */
int slob_store_params_path(const struct slob_store_params *p, const char *config_path, char *out,
			   size_t len);

/* Formats UTC ns as "YYYY-MM-DD HH:MM:SS.SSS". Returns 0 or -ENOSPC. Any thread. */
int slob_store_time_fmt(int64_t ns, char *buf, size_t len);
/* Parses that format (also "YYYY-MM-DD HH:MM:SS" and a 'T' separator); -EINVAL. */
int slob_store_time_parse(const char *s, int64_t *ns);

/* Engine setup id <-> active_setups.id text (16 lower-case hex digits). */
void slob_store_setup_id_fmt(uint64_t id, char buf[17]);
/* Parses 16 hex digits; other ids (manual_...) hash to a stable id, *manual=true. */
uint64_t slob_store_setup_id_parse(const char *text, bool *manual);

/*
 * Operator commands (slobctl -> daemon): inserts a row into operator_commands
 * (ts now, applied_at NULL). Returns the new row id or -errno. slobctl only.
 */
int64_t slob_store_cmd_insert(slob_store_t *s, const char *command, const char *arg,
			      const char *who, const char *reason);

/* Detail of the last failure of a persist/ function on this thread. */
const char *slob_store_strerror(void);

/* persist/-internal: sets the thread-local error text; returns -err. */
int slob_store_seterr_(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* persist/-internal: SQLite result code -> negative errno. */
int slob_store_errno_(int rc);

#endif /* SLOB_STORE_H */
