/* SPDX-License-Identifier: MIT */
/*
 * log.h: the engine's log files. logs/trading.log gets every line at or above
 * the configured level; logs/errors.log gets ERROR and CRITICAL lines as well.
 * One line per event:
 *
 *   2026-11-25 14:03:07.123Z WARNING  risk: Circuit breaker tripped: drawdown 5.20%
 *
 * (UTC timestamp with milliseconds, level padded to 8, component, message).
 * Hot stages never call this module: they hand SLOB_COLD_LOG records to the
 * cold thread, whose sink (slob_log_sink_cold) writes them; cold-path code
 * calls slob_log_printf directly.
 *
 * Design notes
 *  1. Thread-safe: a mutex serialises writers (cold path only; the hot path
 *     never reaches this module). Each line is one write(2) on an O_APPEND
 *     descriptor, so lines never interleave, even with another process.
 *  2. Rotation happens before a write when the UTC day of the line differs
 *     from the day the file was opened, or when the file would exceed
 *     max_bytes: trading.log is renamed to trading.log.YYYY-MM-DD (plus .N
 *     when that name exists) and a new file opened; then only the newest
 *     `keep` rotated files of that log are kept (P3-2).
 *  3. A failed write (ENOSPC, EIO, a vanished directory) never blocks or
 *     crashes: the line is counted as lost, the descriptor is dropped, and a
 *     reopen is tried on a later write no sooner than retry_ms later. The
 *     first line written after recovery says how many lines were lost and
 *     why. Counters are readable with slob_log_counters (the daemon copies
 *     them into the stats file; slobctl status shows them).
 *  4. Secrets never reach the files: every line is passed through the
 *     redaction list (slob_log_redact_add), replacing each registered secret
 *     with "***".
 */
#ifndef SLOB_LOG_H
#define SLOB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/coldrec.h"
#include "ringbuf/compiler.h"

#define SLOB_LOG_PATH_MAX 512

struct slob_log_params {
	char trading_file[SLOB_LOG_PATH_MAX]; /* "logs/trading.log" */
	char errors_file[SLOB_LOG_PATH_MAX];  /* "logs/errors.log"; "" = none */
	int level;			      /* enum slob_level: minimum for trading.log (INFO) */
	int errors_level;		      /* minimum for errors.log (ERROR) */
	uint64_t max_bytes;		      /* size rotation threshold (100 MiB) */
	unsigned keep;			      /* rotated files kept per log (30) */
	bool rotate_daily;		      /* rotate at UTC midnight (true) */
	bool echo_stderr;		      /* also print lines >= WARNING to stderr (false) */
	unsigned retry_ms;		      /* reopen interval after a failed write (1000) */
};

/* Fills defaults (see the field comments). */
void slob_log_params_default(struct slob_log_params *p);
/*
 * slob_log_param_set - sets one [log] key: trading_file, errors_file, level
 * (debug|info|warning|error|critical), errors_level, max_size_mb (1..102400),
 * keep (1..3650), rotate_daily (true|false), stderr (true|false), retry_ms
 * (0..600000). Returns 0, -ENOENT for an unknown key, -EINVAL for a bad value
 * (message names the key and the allowed values).
 */
int slob_log_param_set(struct slob_log_params *p, const char *key, const char *value, char *err,
		       size_t errlen);
/* Checks consistency (non-empty trading_file, levels in range). 0 or -EINVAL. */
int slob_log_params_validate(const struct slob_log_params *p, char *err, size_t errlen);

typedef struct slob_log slob_log_t;

struct slob_log_counters {
	uint64_t lines;	       /* lines written to trading.log */
	uint64_t error_lines;  /* lines written to errors.log */
	uint64_t lost;	       /* lines lost to write errors */
	uint64_t write_errors; /* failed write/open attempts */
	uint64_t rotations;
	uint64_t removed; /* old rotated files deleted */
	int last_errno;	  /* errno of the last failure (0 = none yet) */
	bool degraded;	  /* true while a log file cannot be written */
};

/*
 * slob_log_create - creates the log (parent folders of the files are created
 * 0755 as needed) and opens the files. Returns 0 and *out, or -errno with the
 * path in err. A file that cannot be opened is not fatal when `lenient` is
 * true: the log starts degraded and retries (design note 3). Cold path; blocks.
 */
int slob_log_create(const struct slob_log_params *p, bool lenient, slob_log_t **out, char *err,
		    size_t errlen);
/* Flushes and closes. Accepts NULL. */
void slob_log_free(slob_log_t *log);

/* Changes the minimum levels of trading.log and errors.log (SIGHUP reload).
 * 0 or -EINVAL. Any thread (takes the log's lock). */
int slob_log_set_levels(slob_log_t *log, int level, int errors_level);

/* Parses/prints level names (case-insensitive, "warn" accepted). */
int slob_log_level_parse(const char *s, int *level);
const char *slob_log_level_name(int level);

/*
 * slob_log_write - writes one line: ts_ns (UTC ns; 0 = now), level,
 * component (NULL = "slob"), text (newlines replaced by spaces). Returns 0,
 * 1 when filtered by level, or -errno when the line was lost (counted; never
 * blocks beyond one write(2) to a local file). Any thread (mutex).
 */
int slob_log_write(slob_log_t *log, int64_t ts_ns, int level, const char *component,
		   const char *text);
/* printf-style slob_log_write with ts = now. Any cold-path thread. */
int slob_log_printf(slob_log_t *log, int level, const char *component, const char *fmt, ...)
    SLOB_PRINTF(4, 5);
int slob_log_vprintf(slob_log_t *log, int level, const char *component, const char *fmt,
		     va_list ap);

/*
 * slob_log_format_cold - renders a cold record as one log message (without the
 * timestamp/level prefix) into buf and returns its level, or -1 for record
 * types that are not logged (bars, positions, risk state: the store has them).
 */
int slob_log_format_cold(const struct slob_cold *rec, char *buf, size_t len,
			 const char **component);

/*
 * slob_log_sink_cold - the cold stage's `log` sink (persist/cold.h): ctx is a
 * slob_log_t*. Writes LOG records as they are, and a line for orders, fills,
 * trades, breaker changes, connection events, unknown broker objects, setups
 * and alerts (so `grep orderRef logs/trading.log` works as in the guide).
 * Cold thread only; never blocks beyond a local write.
 */
void slob_log_sink_cold(void *ctx, const struct slob_cold *rec);
/* The cold stage's `tick` sink for logs: retries a degraded log. ctx: slob_log_t*. */
void slob_log_sink_tick(void *ctx, int64_t now_ns);

/* Registers a secret to redact from every line (copied; up to 16). Any thread. */
int slob_log_redact_add(slob_log_t *log, const char *secret);
/*
 * slob_redact - copies src to dst (dstlen) replacing every occurrence of each
 * of the n secrets (those at least 4 characters long) with "***". Pure.
 */
void slob_redact(char *dst, size_t dstlen, const char *src, const char *const *secrets, unsigned n);

/* Copies the counters. Any thread. */
void slob_log_counters(slob_log_t *log, struct slob_log_counters *out);

/* Forces a rotation of both files now (tests, `slobctl` maintenance). 0 or -errno. */
int slob_log_rotate(slob_log_t *log);

#endif /* SLOB_LOG_H */
