/* SPDX-License-Identifier: MIT */
/*
 * config.c: key table, INI loading (libinih), environment and command-line
 * overrides, and the effective-config dump. See config.h for the rules.
 */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/config.h"

/*
 * The key table. Keep sections together; module sections must list exactly
 * the keys their slob_<mod>_param_set() accepts (a test checks it).
 */
const struct slob_config_key slob_config_keys[] = {
	/* [instrument] */
	{"instrument", "symbol", "NQ", NULL, false, "contract symbol (NQ, MNQ): what market data and orders name"},
	{"instrument", "exchange", "CME", NULL, false, "exchange of the contract"},
	{"instrument", "currency", "USD", NULL, false, "currency of the contract"},
	{"instrument", "tick_size", "0.25", NULL, false, "minimum price increment, points; the broker must confirm it"},
	{"instrument", "point_value", "20", NULL, false, "USD per point per contract = the contract multiplier (NQ 20, MNQ 2); the broker must confirm it"},
	{"instrument", "multiplier", "", NULL, false, "the contract multiplier; empty = point_value (if both are set they must agree)"},
	{"instrument", "sec_type", "FUT", NULL, false, "security type of the contract"},
	{"instrument", "trading_class", "", NULL, false, "trading class (NQ, MNQ); empty = any (the broker must then find exactly one contract)"},
	{"instrument", "contract_month", "auto", NULL, false, "YYYYMM, or auto: the front quarterly month by the roll rule (docs/TWS.md)"},
	{"instrument", "roll_days", "8", NULL, false, "roll rule: leave a contract this many calendar days before its last trade date (CME's equity roll date)"},
	/* [store] (persist/store.h) */
	{"store", "data_dir", "", NULL, false, "data directory (store, backups, lock, stats); empty = <config dir>/data, or ./data without a config file"},
	{"store", "file", "slob_state.db", NULL, false, "store file name inside the data directory"},
	{"store", "busy_timeout_ms", "5000", NULL, false, "SQLite busy timeout of readers (slobctl, dashboard)"},
	{"store", "keep_daily", "7", NULL, false, "daily backups kept by rotation"},
	{"store", "keep_weekly", "4", NULL, false, "weekly backups kept by rotation (the newest of each ISO week)"},
	{"store", "upload_cmd", "", NULL, false, "command run as `<cmd> <backup file>` after a verified backup (e.g. an S3 upload)"},
	{"store", "auto_restore", "false", NULL, false, "restore the newest verified backup when the store is corrupt (P0-1)"},
	{"store", "integrity_full", "false", NULL, false, "run integrity_check instead of quick_check at start"},
	/* [cold] (persist/cold.h) */
	{"cold", "batch_max", "4096", NULL, false, "records per store transaction at most"},
	{"cold", "batch_ms", "5", NULL, false, "commit when the oldest uncommitted record is this old (ms)"},
	{"cold", "pending_max", "65536", NULL, false, "records held in memory while the store fails"},
	{"cold", "retry_min_ms", "10", NULL, false, "first retry delay after a failed commit"},
	{"cold", "retry_max_ms", "1000", NULL, false, "retry delay cap"},
	{"cold", "cmd_poll_ms", "250", NULL, false, "how often operator_commands (slobctl) are polled; 0 = never"},
	{"cold", "spill_after_ms", "2000", NULL, false, "on stop, wait this long for a failing store before spilling held records to <store>.spill"},
	/* [log] (persist/log.h) */
	{"log", "trading_file", "logs/trading.log", NULL, false, "main log file (relative: to the working directory)"},
	{"log", "errors_file", "logs/errors.log", NULL, false, "error log file"},
	{"log", "level", "info", "LOG_LEVEL", false, "minimum level of trading.log: debug, info, warning, error, critical"},
	{"log", "errors_level", "error", NULL, false, "minimum level of errors.log"},
	{"log", "max_size_mb", "100", NULL, false, "rotate a log file at this size"},
	{"log", "keep", "30", NULL, false, "rotated files kept per log (P3-2)"},
	{"log", "rotate_daily", "true", NULL, false, "also rotate at UTC midnight"},
	{"log", "stderr", "false", NULL, false, "echo log lines to standard error"},
	{"log", "retry_ms", "1000", NULL, false, "retry period after a failed write (e.g. disk full)"},
	/* [alert] (persist/alert.h) */
	{"alert", "telegram_token", "", "TELEGRAM_BOT_TOKEN", true, "Telegram bot token; Telegram alerts are on when token and chat id are set"},
	{"alert", "telegram_chat_id", "", "TELEGRAM_CHAT_ID", false, "Telegram chat id"},
	{"alert", "telegram_url", "https://api.telegram.org", "TELEGRAM_API_URL", false, "Bot API base URL (tests point it at a local server)"},
	{"alert", "telegram_level", "info", NULL, false, "minimum severity sent to Telegram"},
	{"alert", "smtp_server", "smtp.gmail.com", "SMTP_SERVER", false, "SMTP server; e-mail alerts are on when server, sender and recipients are set"},
	{"alert", "smtp_port", "587", "SMTP_PORT", false, "SMTP port"},
	{"alert", "smtp_tls", "starttls", NULL, false, "starttls, ssl or none"},
	{"alert", "smtp_user", "", NULL, false, "SMTP login (default: the sender address)"},
	{"alert", "smtp_password", "", "SENDER_PASSWORD", true, "SMTP password"},
	{"alert", "email_from", "", "SENDER_EMAIL", false, "sender address"},
	{"alert", "email_to", "", "ALERT_EMAILS", false, "comma-separated recipients"},
	{"alert", "subject_prefix", "[SLOB Bot] ", NULL, false, "e-mail subject prefix"},
	{"alert", "email_level", "warning", NULL, false, "minimum severity sent by e-mail"},
	{"alert", "host_tag", "", NULL, false, "shown in every alert (e.g. the host name)"},
	{"alert", "ca_file", "", NULL, false, "CA bundle for TLS to the Bot API / SMTP server; empty = system default"},
	{"alert", "rate_per_min", "20", NULL, false, "alerts per channel per minute at most (CRITICAL is never limited)"},
	{"alert", "dedup_s", "300", NULL, false, "identical alerts within this many seconds are sent once"},
	{"alert", "max_tries", "5", NULL, false, "delivery attempts per alert"},
	{"alert", "backoff_ms", "2000", NULL, false, "first retry delay (doubles per attempt)"},
	{"alert", "timeout_ms", "10000", NULL, false, "timeout of one delivery attempt"},
	{"alert", "down_after", "3", NULL, false, "consecutive failures that mark a channel DOWN (reported through the other)"},
	{"alert", "queue", "256", NULL, false, "alerts queued per channel"},
	/* [candles] (engine/candles.h) */
	{"candles", "timer_close", "0", NULL, false, "1: close bars on the wall clock after the grace (live)"},
	{"candles", "grace_ms", "2000", NULL, false, "grace past the end of a minute before a timer close"},
	{"candles", "batch", "256", NULL, false, "ticks per poll at most"},
	/* [detector] (engine/detector.h, STRATEGY.md section 10) */
	{"detector", "session_tz", "Europe/Stockholm", NULL, false, "clock of all session rules"},
	{"detector", "lse_open", "09:00", NULL, false, "LSE window start (local, inclusive)"},
	{"detector", "nyse_open", "09:30", NULL, false, "NYSE open in New York time (anchor new_york); also lse_close"},
	{"detector", "nyse_open_local", "15:30", NULL, false, "NYSE open in session time (anchor stockholm)"},
	{"detector", "nyse_open_anchor", "new_york", NULL, false, "new_york or stockholm (STRATEGY.md A1)"},
	{"detector", "nyse_end", "22:00", NULL, false, "end of the NYSE window and daily cut-off (R3)"},
	{"detector", "monday_restart", "09:00", NULL, false, "end of the weekend pause"},
	{"detector", "liq1_throttle", "5", NULL, false, "minutes: no new same-direction candidate while a younger one consolidates (R7)"},
	{"detector", "consol_min_duration", "15", "CONSOL_MIN_DURATION", false, "candles before range/no-wick checks (R14)"},
	{"detector", "consol_max_duration", "120", "CONSOL_MAX_DURATION", false, "consolidation timeout, candles (R13)"},
	{"detector", "consol_min_range_pct", "0.1", NULL, false, "minimum consolidation range, % of CONS_HIGH, inclusive (R15)"},
	{"detector", "consol_max_range_pct", "0.5", NULL, false, "maximum consolidation range, % of CONS_HIGH, inclusive (R15)"},
	{"detector", "internal_high_confirm", "5", NULL, false, "minutes until the internal HIGH is confirmed (R12)"},
	{"detector", "internal_low_confirm", "3", NULL, false, "minutes until the internal LOW is confirmed (R12)"},
	{"detector", "require_internal_confirmation", "false", NULL, false, "R17 also needs confirmed internal HIGH and LOW (A3)"},
	{"detector", "enable_short", "true", NULL, false, "trade SHORT setups"},
	{"detector", "enable_long", "true", NULL, false, "trade LONG setups"},
	{"detector", "nowick_max_wick_body_ratio", "0.20", NULL, false, "no-wick candle: wick/body strictly below (R16)"},
	{"detector", "nowick_min_window", "3", NULL, false, "window candles needed for the no-wick search"},
	{"detector", "liq2_minimum_wait", "5", NULL, false, "minutes after confirmation before LIQ #2 (R20)"},
	{"detector", "max_entry_wait_candles", "20", NULL, false, "LIQ #2 and entry timeouts, candles (R18, R23)"},
	{"detector", "max_retracement_points", "100", NULL, false, "retracement cap, points (R19)"},
	{"detector", "max_retracement_pct", "1.0", NULL, false, "retracement cap, % of the candle extreme (R19)"},
	{"detector", "spike_wick_body_multiple", "2", NULL, false, "LIQ #2 wick above this x body: spike branch (R26)"},
	{"detector", "spike_rule_buffer", "2.0", NULL, false, "points beyond the LIQ #2 body in the spike branch (R26)"},
	{"detector", "sl_buffer", "1.0", "SL_BUFFER_PIPS", false, "points beyond the spike extreme (R26)"},
	{"detector", "tp_buffer", "1.0", NULL, false, "points beyond the LSE level (R27)"},
	{"detector", "min_rr", "0", NULL, false, "setups with reward/risk at or below this are rejected (R28)"},
	{"detector", "max_candidates", "256", NULL, false, "candidate pool size (overflow is counted)"},
	{"detector", "tz_year_from", "2000", NULL, false, "first year of the precomputed time-zone table"},
	{"detector", "tz_year_to", "2060", NULL, false, "last year of the precomputed time-zone table"},
	/* [risk] (engine/risk.h, docs/RISK.md) */
	{"risk", "initial_capital", "50000", NULL, false, "account equity at first start, USD"},
	{"risk", "risk_per_trade", "0.01", "RISK_PER_TRADE", false, "fraction of equity risked per trade"},
	{"risk", "max_position_size", "5", "MAX_POSITION_SIZE", false, "contracts per bracket at most"},
	{"risk", "min_one_contract", "0", NULL, false, "1: a size that floors to 0 is raised to 1 (the original's rule)"},
	{"risk", "max_drawdown_pct", "25", "MAX_DRAWDOWN_STOP", false, "circuit breaker: drawdown from peak equity, %; 0 = off"},
	{"risk", "daily_loss_limit", "2500", NULL, false, "daily loss limit, USD; 0 = off"},
	{"risk", "max_concurrent_positions", "2", NULL, false, "live brackets at once"},
	{"risk", "trading_start", "09:30", NULL, false, "trading hours start (risk.timezone)"},
	{"risk", "trading_end", "16:00", NULL, false, "trading hours end, exclusive"},
	{"risk", "timezone", "America/New_York", NULL, false, "clock of trading hours and the trading day"},
	{"risk", "holiday_file", "", NULL, false, "exchange holidays (docs/RISK.md); empty = none"},
	{"risk", "news_file", "", NULL, false, "news calendar for blackout windows; empty = none"},
	{"risk", "news_before_min", "120", NULL, false, "blackout minutes before an event"},
	{"risk", "news_after_min", "120", NULL, false, "blackout minutes after an event"},
	{"risk", "news_min_impact", "HIGH", NULL, false, "events of at least this impact (LOW, MEDIUM, HIGH) black out"},
	{"risk", "order_rate_limit", "5", NULL, false, "brackets per window; one more trips the breaker (P0-3)"},
	{"risk", "order_rate_window_s", "60", NULL, false, "order-rate window, seconds"},
	{"risk", "cancel_after_bars", "20", NULL, false, "cancel an entry not filled within this many bars"},
	{"risk", "wait_for_clock_ack", "0", NULL, false, "replays set this themselves (determinism protocol)"},
	{"risk", "setup_capacity", "65536", NULL, false, "setup ids remembered for idempotency"},
	{"risk", "halt_on_unknown", "1", NULL, false, "an unknown broker order or position trips the breaker (P1-4)"},
	{"risk", "equity_source", "min", NULL, false, "equity that sizes trades and feeds the drawdown breaker in live mode: broker (NetLiquidation), config (initial_capital + own P&L) or min (the lower); paper and replays always use config"},
	{"risk", "account_stale_s", "300", NULL, false, "live: account figures older than this hold new entries (never received: always held); 0 = no age limit"},
	{"risk", "margin_headroom_pct", "10", NULL, false, "live: the bracket's initial margin plus this % must fit in AvailableFunds, else the setup is refused"},
	{"risk", "margin_per_contract", "0", NULL, false, "live: initial margin per contract, USD, used until the broker's what-if answer arrives; 0 = broker only"},
	{"risk", "excess_liquidity_alert", "5000", NULL, false, "live: alert when ExcessLiquidity falls below this with positions open, USD; 0 = off"},
	{"risk", "flatten_at", "off", NULL, false, "session-end flatten: off, or a local time HH:MM from which entries without a fill are cancelled, each open position is closed at market and no new entry is taken (until midnight)"},
	/* [sender] (engine/sender.h) */
	{"sender", "mode", "paper", NULL, false, "set by slobd from the run mode (paper replays, live TWS)"},
	{"sender", "max_brackets", "64", NULL, false, "live brackets tracked at once"},
	{"sender", "pending_max", "16", NULL, false, "intents held until reconciliation completes"},
	{"sender", "batch", "64", NULL, false, "input records per poll"},
	{"sender", "first_order_id", "1", NULL, false, "first paper order id"},
	/* [tws] (engine/tws_conn.h, docs/TWS.md) */
	{"tws", "host", "127.0.0.1", "IB_GATEWAY_HOST", false, "TWS / IB Gateway host"},
	{"tws", "port", "4002", "IB_GATEWAY_PORT", false, "API port: Gateway paper 4002, live 4001; TWS paper 7497, live 7496"},
	{"tws", "md_client_id", "10", NULL, false, "client id of the market-data session"},
	{"tws", "order_client_id", "1", "IB_CLIENT_ID", false, "client id of the order session"},
	{"tws", "backoff_initial_ms", "2000", NULL, false, "first reconnect delay"},
	{"tws", "backoff_factor", "2", NULL, false, "reconnect delay multiplier"},
	{"tws", "backoff_cap_ms", "60000", NULL, false, "reconnect delay cap"},
	{"tws", "backoff_jitter_pct", "10", NULL, false, "random +- jitter on reconnect delays, %"},
	{"tws", "connect_timeout_ms", "20000", NULL, false, "connect + handshake timeout"},
	{"tws", "max_frame", "1048576", NULL, false, "largest accepted message; larger closes the session"},
	{"tws", "md_mode", "tick_by_tick", NULL, false, "tick_by_tick (Last trades) or mkt_data (streaming quotes)"},
	{"tws", "contract_month", "auto", NULL, false, "older spelling of instrument.contract_month (used when only this one is set)"},
	{"tws", "roll_days", "8", NULL, false, "older spelling of instrument.roll_days (used when only this one is set)"},
	{"tws", "account", "", "IB_ACCOUNT", false, "account on orders (optional; a live account needs daemon.require_live_confirmation)"},
	{"tws", "tif", "DAY", NULL, false, "time in force of the entry (parent) order: DAY or GTC (risk.cancel_after_bars cancels it earlier)"},
	{"tws", "tp_tif", "GTC", NULL, false, "time in force of the take-profit child: DAY or GTC"},
	{"tws", "sl_tif", "GTC", NULL, false, "time in force of the stop child: GTC (DAY expires at the session end and leaves a filled entry without a stop: refused unless allow_unprotected_stop)"},
	{"tws", "entry_outside_rth", "false", NULL, false, "the entry may fill outside regular trading hours"},
	{"tws", "tp_outside_rth", "true", NULL, false, "the take-profit may fill outside regular trading hours"},
	{"tws", "sl_outside_rth", "true", NULL, false, "the stop triggers outside regular trading hours (false leaves an overnight position unprotected: refused unless allow_unprotected_stop)"},
	{"tws", "allow_unprotected_stop", "false", NULL, false, "accept sl_tif = DAY or sl_outside_rth = false (a warning alert at start instead of a refusal)"},
	{"tws", "account_refresh_s", "60", NULL, false, "the order session re-requests the account summary this often (a complete, fresh set of figures)"},
	{"tws", "io", "uring", NULL, false, "socket I/O: uring (falls back to syscalls by itself where io_uring is missing) or syscalls"},
	{"tws", "order_sqpoll", "off", NULL, false, "off, any or a CPU: a kernel thread (io_uring SQPOLL, on that CPU) submits the order connection's sends, so placing a bracket makes no system call; falls back to a plain ring if the kernel refuses"},
	{"tws", "order_sqpoll_idle_ms", "1000", NULL, false, "with order_sqpoll: the kernel thread spins this long after a send, then sleeps (the next send wakes it with a system call); orders minutes apart need a value that long to never make one, at the price of a busy CPU"},
	/* [ticks] (engine/tickcheck.h, docs/DATA_FORMATS.md "Tick checks"): every tick, replay and live */
	{"ticks", "max_jump_pct", "10", NULL, false, "reject a price further than this % from the last accepted one (CME equity limits are 7/13/20 %); 0 = off"},
	{"ticks", "max_size", "100000", NULL, false, "reject a trade size above this many contracts"},
	{"ticks", "backwards_tol_ms", "1000", NULL, false, "replay: reject a timestamp earlier than the last accepted one by more than this"},
	{"ticks", "max_forward_h", "168", NULL, false, "replay: reject a timestamp later than the last accepted one by more than this many hours; 0 = off"},
	{"ticks", "max_skew_s", "60", NULL, false, "live: reject a tick stamped further than this from the receive clock; 0 = off (replay-gw: off)"},
	{"ticks", "confirm", "5", NULL, false, "rejected ticks that agree with each other before they become the new reference (a real gap)"},
	{"ticks", "alert_run", "50", NULL, false, "alert after this many rejected ticks in a row, or in one block of 4096 ticks"},
	{"tws", "silence_ms", "15000", NULL, false, "a connected session that receives nothing this long (market data: while subscribed and the market is open) is probed with reqCurrentTime; 0 = off"},
	{"tws", "probe_timeout_ms", "10000", NULL, false, "no byte within this after the probe: the session is stale (alert, reconnect)"},
	{"tws", "md_silence_check", "market_hours", NULL, false, "when market-data silence counts: market_hours (CME Globex hours and risk.holiday_file) or always"},
	{"tws", "reconcile_timeout_ms", "30000", NULL, false, "reconciliation (positionEnd, openOrderEnd, execDetailsEnd) not complete this long after connecting: alert and reconnect, orders held; 0 = off"},
	/* [stats] */
	{"stats", "file", "slob.stats", NULL, false, "memory-mapped stats file inside the data directory"},
	/* [pipeline] */
	{"pipeline", "layout", "auto", NULL, false,
	 "thread layout: auto (2+ CPUs: hot stages on CPU 0, cold on CPU 1), single, or a topology string"},
	{"pipeline", "hot_wait", "spin", NULL, false, "wait strategy of hot threads: spin, yield, block"},
	{"pipeline", "cold_wait", "block", NULL, false, "wait strategy of the cold thread: spin, yield, block"},
	{"pipeline", "pin", "true", NULL, false, "pin threads to CPUs"},
	{"pipeline", "tick_ring", "65536", NULL, false, "capacity of the tick rings (power of two)"},
	{"pipeline", "tap_ring", "1048576", NULL, false, "capacity of the paper broker's tick tap ring (power of two)"},
	{"pipeline", "ring", "4096", NULL, false, "capacity of bar/signal/intent/exec rings (power of two)"},
	{"pipeline", "cold_ring", "65536", NULL, false, "capacity of each cold ring (power of two)"},
	{"pipeline", "fault_duplicate_setup", "0", NULL, false,
	 "DRILLS ONLY (incident P0-3): every setup signal reaches risk this many times; 0 = off"},
	/* [replay] */
	{"replay", "speed", "0", NULL, false, "0 = as fast as possible; N = real time x N"},
	{"replay", "format", "auto", NULL, false, "auto, tick-csv, tick-bin, bar-csv"},
	{"replay", "skip_bad_lines", "false", NULL, false, "skip and count malformed lines instead of stopping"},
	/* [dash]: read by slob-dash only (tools/slob-dash/params.c, docs/DASHBOARD.md);
	 * the store and stats paths come from [data]. */
	{"dash", "bind", "127.0.0.1", "DASHBOARD_BIND", false, "slob-dash listen address (IPv4 or IPv6)"},
	{"dash", "port", "5000", "DASHBOARD_PORT", false, "slob-dash port; 0 = any free port"},
	{"dash", "password_file", "dashboard.pw", NULL, false,
	 "crypto_pwhash_str file (mode 0600) in the data directory, or an absolute path"},
	{"dash", "password_hash", "", "DASHBOARD_PASSWORD_HASH", true,
	 "crypto_pwhash_str string; takes precedence over password_file"},
	{"dash", "metrics_token", "", "DASHBOARD_METRICS_TOKEN", true,
	 "bearer token for /metrics (>= 16 chars); empty = loopback clients only"},
	{"dash", "session_ttl", "900", NULL, false, "dashboard session idle expiry, seconds"},
	{"dash", "session_max", "43200", NULL, false, "dashboard session absolute lifetime, seconds"},
	{"dash", "lockout_failures", "5", NULL, false, "consecutive wrong passwords before a lockout"},
	{"dash", "lockout_seconds", "300", NULL, false, "lockout length, seconds"},
	{"dash", "cookie_secure", "false", "DASHBOARD_HTTPS", false, "add Secure to the session cookie (behind TLS)"},
	{"dash", "account_size", "50000", NULL, false, "denominator of the dashboard's drawdown %"},
	/* [daemon] */
	{"daemon", "mode", "replay", NULL, false, "live, replay, replay-gw"},
	{"daemon", "require_live_confirmation", "false", "REQUIRE_LIVE_CONFIRMATION", false,
	 "must be true to trade a live (non-paper) account"},
	{"daemon", "watchdog", "true", NULL, false, "send WATCHDOG=1 to systemd when WatchdogSec is set"},
	{NULL, NULL, NULL, NULL, false, NULL},
};

static const struct slob_config_key *find_key(const char *section, const char *key)
{
	for (const struct slob_config_key *k = slob_config_keys; k->section; k++)
		if (strcasecmp(k->section, section) == 0 && strcasecmp(k->key, key) == 0)
			return k;
	return NULL;
}

static struct slob_config_entry *find_entry(struct slob_config *cfg, const struct slob_config_key *k)
{
	for (unsigned i = 0; i < cfg->n; i++)
		if (cfg->entries[i].key == k)
			return &cfg->entries[i];
	return NULL;
}

static void set_value(struct slob_config_entry *e, const char *v, const char *origin, int line)
{
	char *copy = strdup(v);
	if (copy == NULL)
		abort(); /* start-up only; nothing sensible to do without memory */
	free(e->value);
	e->value = copy;
	e->origin = origin;
	e->line = line;
}

void slob_config_init(struct slob_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->dir, ".");
	for (const struct slob_config_key *k = slob_config_keys; k->section; k++) {
		if (cfg->n >= SLOB_CONFIG_MAX_ENTRIES)
			abort(); /* the table outgrew SLOB_CONFIG_MAX_ENTRIES: a build error */
		struct slob_config_entry *e = &cfg->entries[cfg->n++];
		e->key = k;
		set_value(e, k->def, "default", 0);
	}
}

void slob_config_free(struct slob_config *cfg)
{
	if (cfg == NULL)
		return;
	for (unsigned i = 0; i < cfg->n; i++) {
		free(cfg->entries[i].value);
		cfg->entries[i].value = NULL;
	}
	cfg->n = 0;
}

struct load_ctx {
	struct slob_config *cfg;
	char *err;
	size_t errlen;
	int failed;
	int count;
};

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	lc->count++;
	const struct slob_config_key *k = find_key(section, name);
	if (k == NULL) {
		int known_section = 0;
		for (const struct slob_config_key *q = slob_config_keys; q->section; q++)
			known_section |= strcasecmp(q->section, section) == 0;
		if (known_section)
			snprintf(lc->err, lc->errlen, "unknown key '%s' in section [%s]", name, section);
		else
			snprintf(lc->err, lc->errlen, "unknown section [%s] (key '%s')", section, name);
		lc->failed = -ENOENT;
		return 0;
	}
	set_value(find_entry(lc->cfg, k), value, "file", 0);
	return 1;
}

int slob_config_load(struct slob_config *cfg, const char *path, char *err, size_t errlen)
{
	if (path == NULL || *path == '\0')
		return 0;
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(cfg->dir, sizeof(cfg->dir), "%.*s", (int)(slash - path), path);
	if (cfg->dir[0] == '\0')
		strcpy(cfg->dir, "/");
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open config: %s", path, strerror(e));
		return -e;
	}
	char msg[256] = "";
	struct load_ctx lc = {.cfg = cfg, .err = msg, .errlen = sizeof(msg)};
	int rc = ini_parse_file(f, config_ini_handler, &lc);
	fclose(f);
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, errlen, "%s:%d: %s", path, rc,
				 lc.failed ? msg : "syntax error (expected [section] or key = value)");
		else
			snprintf(err, errlen, "%s: cannot parse config (error %d)", path, rc);
		return lc.failed ? lc.failed : -EINVAL;
	}
	/* record lines of the keys for later error messages: a second light pass */
	f = fopen(path, "r");
	if (f) {
		char line[1024], section[64] = "";
		int lineno = 0;
		while (fgets(line, sizeof(line), f)) {
			lineno++;
			char *p = line + strspn(line, " \t");
			if (*p == '[') {
				char *end = strchr(p, ']');
				if (end)
					snprintf(section, sizeof(section), "%.*s", (int)(end - p - 1), p + 1);
				continue;
			}
			char *eq = strpbrk(p, "=:");
			if (eq == NULL || *p == ';' || *p == '#')
				continue;
			char *ke = eq;
			while (ke > p && (ke[-1] == ' ' || ke[-1] == '\t'))
				ke--;
			char key[64];
			snprintf(key, sizeof(key), "%.*s", (int)(ke - p), p);
			const struct slob_config_key *k = find_key(section, key);
			struct slob_config_entry *e = k ? find_entry(cfg, k) : NULL;
			if (e)
				e->line = lineno;
		}
		fclose(f);
	}
	return 0;
}

void slob_config_apply_env(struct slob_config *cfg)
{
	for (unsigned i = 0; i < cfg->n; i++) {
		struct slob_config_entry *e = &cfg->entries[i];
		const char *v = e->key->env ? getenv(e->key->env) : NULL;
		if (v != NULL)
			set_value(e, v, "env", 0);
	}
}

int slob_config_set(struct slob_config *cfg, const char *assignment, char *err, size_t errlen)
{
	const char *dot = strchr(assignment, '.');
	const char *eq = strchr(assignment, '=');
	if (dot == NULL || eq == NULL || dot > eq) {
		snprintf(err, errlen, "--set '%s': expected section.key=value", assignment);
		return -EINVAL;
	}
	char section[64], key[64];
	snprintf(section, sizeof(section), "%.*s", (int)(dot - assignment), assignment);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
	const struct slob_config_key *k = find_key(section, key);
	if (k == NULL) {
		snprintf(err, errlen, "--set: unknown key %s.%s", section, key);
		return -ENOENT;
	}
	set_value(find_entry(cfg, k), eq + 1, "cli", 0);
	return 0;
}

const char *slob_config_get(const struct slob_config *cfg, const char *section, const char *key)
{
	const struct slob_config_key *k = find_key(section, key);
	if (k == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg->n; i++)
		if (cfg->entries[i].key == k)
			return cfg->entries[i].value;
	return NULL;
}

long long slob_config_get_int(const struct slob_config *cfg, const char *section, const char *key)
{
	const char *v = slob_config_get(cfg, section, key);
	return v ? strtoll(v, NULL, 0) : 0;
}

double slob_config_get_double(const struct slob_config *cfg, const char *section, const char *key)
{
	const char *v = slob_config_get(cfg, section, key);
	return v ? strtod(v, NULL) : 0.0;
}

bool slob_config_get_bool(const struct slob_config *cfg, const char *section, const char *key)
{
	const char *v = slob_config_get(cfg, section, key);
	bool b = false;
	char e[8];
	if (v)
		slob_parse_bool(key, v, &b, e, sizeof(e));
	return b;
}

static void describe_origin(const struct slob_config *cfg, const struct slob_config_entry *e,
			    char *out, size_t len)
{
	if (strcmp(e->origin, "file") == 0)
		snprintf(out, len, "%s:%d: ", cfg->path, e->line);
	else if (strcmp(e->origin, "env") == 0)
		snprintf(out, len, "environment %s: ", e->key->env);
	else if (strcmp(e->origin, "cli") == 0)
		snprintf(out, len, "--set: ");
	else
		snprintf(out, len, "default: ");
}

int slob_config_apply_section(const struct slob_config *cfg, const char *section,
			      slob_param_set_fn set, void *params, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->n; i++) {
		const struct slob_config_entry *e = &cfg->entries[i];
		if (strcasecmp(e->key->section, section) != 0)
			continue;
		char msg[256] = "";
		int rc = set(params, e->key->key, e->value, msg, sizeof(msg));
		if (rc < 0) {
			char where[600];
			describe_origin(cfg, e, where, sizeof(where));
			if (msg[0] && strstr(msg, e->key->key))
				snprintf(err, errlen, "%s%s", where, msg);
			else
				snprintf(err, errlen, "%s[%s] %s: %s", where, section, e->key->key,
					 msg[0] ? msg : "invalid value");
			return rc;
		}
	}
	return 0;
}

void slob_config_path(const struct slob_config *cfg, const char *value, char *out, size_t len)
{
	if (value[0] == '/' || cfg->path[0] == '\0')
		snprintf(out, len, "%s", value);
	else
		snprintf(out, len, "%s/%s", cfg->dir, value);
}

void slob_config_rebase_path(const struct slob_config *cfg, const char *section, const char *key,
			     char *path, size_t len)
{
	if (path[0] == '\0' || path[0] == '/' || cfg->path[0] == '\0')
		return;
	for (unsigned i = 0; i < cfg->n; i++) {
		const struct slob_config_entry *e = &cfg->entries[i];
		if (strcmp(e->key->section, section) != 0 || strcmp(e->key->key, key) != 0)
			continue;
		if (strcmp(e->origin, "file") != 0)
			return;
		char tmp[PATH_MAX];
		int n = snprintf(tmp, sizeof(tmp), "%s/%s", cfg->dir, path);
		if (n > 0 && (size_t)n < len && (size_t)n < sizeof(tmp))
			memcpy(path, tmp, (size_t)n + 1);
		return;
	}
}

void slob_config_dump(const struct slob_config *cfg, FILE *out)
{
	const char *section = "";
	fprintf(out, "# effective configuration%s%s\n", cfg->path[0] ? " of " : "",
		cfg->path);
	for (unsigned i = 0; i < cfg->n; i++) {
		const struct slob_config_entry *e = &cfg->entries[i];
		if (strcmp(section, e->key->section) != 0) {
			section = e->key->section;
			fprintf(out, "\n[%s]\n", section);
		}
		const char *v = e->value;
		if (e->key->secret && v[0] != '\0')
			v = "***";
		fprintf(out, "%s = %s", e->key->key, v);
		if (strcmp(e->origin, "default") != 0)
			fprintf(out, "    ; from %s%s%s", e->origin,
				strcmp(e->origin, "env") == 0 ? " " : "",
				strcmp(e->origin, "env") == 0 ? e->key->env : "");
		fputc('\n', out);
	}
}

void slob_config_doc(FILE *out)
{
	const char *section = "";
	for (const struct slob_config_key *k = slob_config_keys; k->section; k++) {
		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n### [%s]\n\n| key | default | environment | meaning |\n|---|---|---|---|\n",
				section);
		}
		fprintf(out, "| `%s` | `%s` | %s%s%s | %s%s |\n", k->key, k->def[0] ? k->def : "\"\"",
			k->env ? "`" : "", k->env ? k->env : "", k->env ? "`" : "", k->help,
			k->secret ? " (secret: redacted in output)" : "");
	}
}

int slob_parse_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	    !strcasecmp(v, "off")) {
		*out = false;
		return 0;
	}
	snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)", key, v);
	return -EINVAL;
}

int slob_parse_int(const char *key, const char *v, long long lo, long long hi, long long *out,
		   char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0') {
		snprintf(err, errlen, "%s: '%s' is not an integer", key, v);
		return -EINVAL;
	}
	if (x < lo || x > hi) {
		snprintf(err, errlen, "%s: %lld is out of range [%lld, %lld]", key, x, lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int slob_parse_double(const char *key, const char *v, double lo, double hi, double *out,
		      char *err, size_t errlen)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !isfinite(x)) {
		snprintf(err, errlen, "%s: '%s' is not a number", key, v);
		return -EINVAL;
	}
	if (x < lo || x > hi) {
		snprintf(err, errlen, "%s: %g is out of range [%g, %g]", key, x, lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}
