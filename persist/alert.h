/* SPDX-License-Identifier: MIT */
/*
 * alert.h: operator alerts over Telegram (Bot API sendMessage) and e-mail
 * (SMTP through libcurl: smtp:// with STARTTLS, smtps://, auth), driven by
 * the cold thread without ever blocking it: requests run on a libcurl multi
 * handle that is only ever advanced with curl_multi_perform (no waiting).
 *
 * Design notes
 *  1. Never blocks, never slows trading: slob_alert_send only queues (bounded,
 *     dropped with a counter when full); slob_alert_poll advances transfers
 *     without waiting. A channel that times out costs nothing but its own
 *     queue. Only slob_alert_flush (shutdown, `slobctl alert-test`) waits.
 *  2. Filters, in order: per-channel minimum severity; de-duplication (the
 *     same kind + title + text within dedup_s is sent once; the repeat count
 *     is appended to the next one that goes out); per-channel rate limit
 *     (token bucket, rate_per_min; CRITICAL alerts bypass it).
 *  3. Retries with exponential backoff (backoff_ms, doubling, capped at 60 s)
 *     up to max_tries attempts for transient failures (network, timeout,
 *     HTTP 429 / 5xx, SMTP 4xx). Permanent failures (HTTP 400/401/403/404,
 *     SMTP 5xx auth/recipient errors) are not retried.
 *  4. A channel is DOWN after `down_after` consecutive failed attempts; going
 *     down and coming back are themselves alerts sent through the OTHER
 *     channel (P2-2, P2-3), and are visible in the counters (stats file).
 *  5. Secrets (bot token, SMTP password) never appear in logs, errors or
 *     counters: every message this module produces passes slob_redact.
 *
 *   message:  QUEUED --poll--> IN_FLIGHT --ok--> sent (freed)
 *               ^                  |--transient, tries left--> QUEUED (at now+backoff)
 *               |                  '--permanent / no tries left--> failed (freed)
 */
#ifndef SLOB_ALERT_H
#define SLOB_ALERT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/coldrec.h"
#include "persist/log.h"
#include "ringbuf/compiler.h"

/* Alert kinds (slob_cold.u.text.code of SLOB_COLD_ALERT records). */
enum slob_alert_kind {
	SLOB_ALERT_OTHER = 0,
	SLOB_ALERT_START,     /* engine started */
	SLOB_ALERT_STOP,      /* engine stopped */
	SLOB_ALERT_CONN_LOST, /* TWS connection lost */
	SLOB_ALERT_CONN_RESTORED,
	SLOB_ALERT_ORDER_REJECTED,
	SLOB_ALERT_BREAKER_TRIPPED,
	SLOB_ALERT_BREAKER_RESET,
	SLOB_ALERT_UNKNOWN_POSITION, /* broker position the store does not know */
	SLOB_ALERT_UNKNOWN_ORDER,
	SLOB_ALERT_STORE_ERROR,
	SLOB_ALERT_STORE_CORRUPT,
	SLOB_ALERT_BACKUP_FAILED,
	SLOB_ALERT_DAILY_SUMMARY,
	SLOB_ALERT_CHANNEL_DOWN, /* raised by this module */
	SLOB_ALERT_CHANNEL_UP,
	SLOB_ALERT_TEST, /* slobctl alert-test */
	SLOB_ALERT_STORE_RESTORED, /* slobd restored the store from a backup */
	SLOB_ALERT_STORE_WRITABLE, /* the cold writer commits again */
	SLOB_ALERT_KIND_MAX
};

enum slob_alert_channel { SLOB_ALERT_TELEGRAM = 0, SLOB_ALERT_EMAIL = 1, SLOB_ALERT_NCHAN = 2 };

#define SLOB_ALERT_STR 256

struct slob_alert_params {
	/* Telegram: enabled when token and chat_id are set */
	char telegram_token[SLOB_ALERT_STR]; /* env TELEGRAM_BOT_TOKEN */
	char telegram_chat_id[64];	     /* env TELEGRAM_CHAT_ID */
	char telegram_url[SLOB_ALERT_STR];   /* "https://api.telegram.org" */
	int telegram_level;		     /* minimum severity, INFO */
	/* E-mail: enabled when smtp_server, from and to are set */
	char smtp_server[SLOB_ALERT_STR];   /* env SMTP_SERVER, "smtp.gmail.com" */
	int smtp_port;			    /* env SMTP_PORT, 587 */
	char smtp_tls[16];		    /* starttls | ssl | none (starttls) */
	char smtp_user[SLOB_ALERT_STR];	    /* login, default = sender (env SENDER_EMAIL) */
	char smtp_password[SLOB_ALERT_STR]; /* env SENDER_PASSWORD / SMTP_PASSWORD */
	char email_from[SLOB_ALERT_STR];    /* env SENDER_EMAIL */
	char email_to[1024];		    /* comma list, env ALERT_EMAILS */
	char subject_prefix[64];	    /* "[SLOB Bot] " */
	int email_level;		    /* minimum severity, WARNING */
	/* behaviour */
	unsigned rate_per_min;	      /* per channel, 20 */
	unsigned dedup_s;	      /* 300 */
	unsigned max_tries;	      /* 5 */
	unsigned backoff_ms;	      /* first retry delay, 2000 */
	unsigned timeout_ms;	      /* per attempt, 10000 */
	unsigned down_after;	      /* consecutive failures -> DOWN, 3 */
	unsigned queue;		      /* messages queued per channel, 256 */
	char host_tag[64];	      /* shown in messages, e.g. hostname ("") */
	char ca_file[SLOB_ALERT_STR]; /* extra CA bundle for TLS ("" = system store) */
};

void slob_alert_params_default(struct slob_alert_params *p);
/*
 * slob_alert_params_from_env - fills unset secrets/addresses from the
 * original system's environment variables (TELEGRAM_BOT_TOKEN,
 * TELEGRAM_CHAT_ID, SMTP_SERVER, SMTP_PORT, SENDER_EMAIL, SENDER_PASSWORD or
 * SMTP_PASSWORD, ALERT_EMAILS). Values already set by the config win.
 */
void slob_alert_params_from_env(struct slob_alert_params *p);
/*
 * slob_alert_param_set - one [alert] key: telegram_token, telegram_chat_id,
 * telegram_url, telegram_level, smtp_server, smtp_port (1..65535), smtp_tls
 * (starttls|ssl|none), smtp_user, smtp_password, email_from, email_to,
 * subject_prefix, email_level, rate_per_min (1..10000), dedup_s (0..86400),
 * max_tries (1..100), backoff_ms (1..600000), timeout_ms (100..600000),
 * down_after (1..1000), queue (1..65536), host_tag, ca_file. Returns 0, -ENOENT,
 * -EINVAL (message names the key and range; never echoes a secret value).
 */
int slob_alert_param_set(struct slob_alert_params *p, const char *key, const char *value, char *err,
			 size_t errlen);
int slob_alert_params_validate(const struct slob_alert_params *p, char *err, size_t errlen);

typedef struct slob_alert slob_alert_t;

struct slob_alert_counters {
	uint64_t queued, sent, failed, retries, dropped, suppressed_level, suppressed_dup,
	    suppressed_rate;
	uint32_t consecutive_failures;
	bool enabled;
	bool down;
	int64_t last_ok_ns, last_fail_ns; /* CLOCK_REALTIME */
	char last_error[160];		  /* redacted */
};

/*
 * slob_alert_create - sets up channels and the libcurl multi handle. `log`
 * (may be NULL) receives one line per delivery failure and channel state
 * change; its redaction list gets the secrets. Returns 0 and *out, or -errno
 * (message in err). Start-up; allocates.
 */
int slob_alert_create(const struct slob_alert_params *p, slob_log_t *log, slob_alert_t **out,
		      char *err, size_t errlen);
/* Aborts transfers in flight and frees everything. Accepts NULL. */
void slob_alert_free(slob_alert_t *a);

/*
 * slob_alert_send - queues an alert on every enabled channel whose minimum
 * severity it meets. Returns the number of channels it was queued on (0 when
 * every channel filtered it out or none is enabled), or -ENOSPC when a queue
 * was full (dropped, counted). Cold thread; never blocks.
 */
int slob_alert_send(slob_alert_t *a, int kind, int level, const char *title, const char *text);
int slob_alert_sendf(slob_alert_t *a, int kind, int level, const char *title, const char *fmt, ...)
    SLOB_PRINTF(5, 6);

/* The Subject header's value for subject: unchanged when it is printable
 * ASCII, else RFC 2047 UTF-8 encoded-words (folded). -1 when len is short. */
int slob_alert_mime_subject(char *dst, size_t len, const char *subject);

/*
 * slob_alert_poll - starts due transfers and retries, advances the ones in
 * flight (curl_multi_perform, no wait) and handles completions. Returns the
 * number of transfers completed. Cold thread; never blocks on the network
 * (name resolution runs on libcurl's resolver thread).
 */
int slob_alert_poll(slob_alert_t *a);

/*
 * slob_alert_flush - polls, waiting on the sockets, until nothing is queued
 * or in flight, or timeout_ms passed. Returns 0 when everything was
 * delivered or given up on, -ETIMEDOUT otherwise. BLOCKS: shutdown and tools only.
 */
int slob_alert_flush(slob_alert_t *a, int timeout_ms);

/*
 * Delivery state in the store (alerts_sent.status / attempts / channel /
 * sent_at). slob_alert_track(a, ref) makes the next slob_alert_send the
 * message of the alerts_sent row whose ref is `ref` (slob_alert_from_cold
 * does it for ALERT records, with slob_cold_alert_ref). Once every channel
 * it went to has delivered or given up, its state is ready:
 *   sent (every channel delivered), partial (some), failed (none),
 *   skipped (no channel took it: none enabled, below a channel's level,
 *   rate-limited or a duplicate within dedup_s).
 * slob_alert_journal(a, db) writes the ready states (cold thread, between
 * transactions: the cold writer's `committed` sink; slobd once more at
 * exit). A state whose row is not committed yet is kept and retried for
 * 60 s. Returns the number of rows updated, or -errno. Never blocks beyond
 * one UPDATE each.
 */
struct sqlite3;
void slob_alert_track(slob_alert_t *a, int64_t ref);
int slob_alert_journal(slob_alert_t *a, struct sqlite3 *db);

/* Copies one channel's counters. Cold thread (or any, once the cold thread stopped). */
void slob_alert_counters(const slob_alert_t *a, int channel, struct slob_alert_counters *out);

/* Number of messages queued or in flight over all channels. */
unsigned slob_alert_pending(const slob_alert_t *a);

/*
 * slob_alert_from_cold - turns a cold record into an alert: ALERT records
 * (code = enum slob_alert_kind, level, component, text) and, for producers
 * that do not raise ALERT records themselves, BREAKER (trip/reset), CONN,
 * UNKNOWN_BROKER and rejected ORDER records. Returns slob_alert_send's result,
 * or 0 for record types that are not alerts. Cold thread.
 */
int slob_alert_from_cold(slob_alert_t *a, const struct slob_cold *rec);

/* Cold stage sinks (persist/cold.h): ctx is a slob_alert_t*. */
void slob_alert_sink_cold(void *ctx, const struct slob_cold *rec);
void slob_alert_sink_tick(void *ctx, int64_t now_ns);

/*
 * slob_alert_summary_compose - the daily summary text (kind daily_summary)
 * for the UTC day starting at day_start_ns, from the store: trades closed
 * (wins, losses, win rate, P&L, best, worst), setups found, entry orders
 * placed and rejected, open positions, equity and breaker from risk_state.
 * Returns the text length, or -errno (-EIO with sqlite's message in buf when
 * a query fails). Cold path (slobd's end of day, `slobctl daily-summary`).
 */
struct sqlite3;
int slob_alert_summary_compose(struct sqlite3 *db, int64_t day_start_ns, char *buf, size_t len);

const char *slob_alert_kind_name(int kind);
const char *slob_alert_channel_name(int channel);

/* ---- combined sink: logs + alerts + stats heartbeat ------------------- */

struct slob_stats;
struct slob_stage;
/*
 * The object the integrator hands to slob_cold_writer_create as sinks.ctx
 * with slob_ops_sinks(): log records go to `log`, alert records to `alert`,
 * and every tick polls alerts, retries a degraded log, beats the stats
 * heartbeat and copies log/alert counters into the stats status block.
 * Any member may be NULL.
 */
struct slob_ops_sink {
	slob_log_t *log;
	slob_alert_t *alert;
	struct slob_stats *stats;
	int64_t last_beat_ns;
	/* optional: stages whose input-ring fill the tick samples into the
	 * stats file (slob_stats_sample_rings) */
	struct slob_stage *const *stages;
	unsigned nstages;
};

/* Fills `sinks` (struct slob_cold_sinks from persist/cold.h) for `ops`; command stays NULL. */
struct slob_cold_sinks;
void slob_ops_sinks(struct slob_ops_sink *ops, struct slob_cold_sinks *sinks);
void slob_ops_sink_log(void *ctx, const struct slob_cold *rec);
void slob_ops_sink_alert(void *ctx, const struct slob_cold *rec);
void slob_ops_sink_tick(void *ctx, int64_t now_ns);
void slob_ops_sink_committed(void *ctx, struct sqlite3 *db);

#endif /* SLOB_ALERT_H */
