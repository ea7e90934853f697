/* SPDX-License-Identifier: MIT */
/*
 * tws_conn.h: live connections to TWS / IB Gateway.
 *  - slob_tws_conn: one API session (own client id): TCP connect, handshake
 *    (v100..200, server must answer 200), startApi, nextValidId = ready;
 *    framing and decoding (engine/tws_codec.h); reconnect with exponential
 *    backoff and jitter.
 *  - slob_tws_md: the market-data session: subscribes tick-by-tick Last (or
 *    reqMktData streaming quotes) for the configured contract, once the
 *    broker confirmed it (note 7), and pushes struct slob_tick records
 *    into the tick ring as ingest would (SLOB_TICK_LIVE, SLOB_TICK_GAP_BEFORE
 *    on the first tick after a reconnect).
 *  - slob_tws_broker: the order session, a struct slob_sender_backend:
 *    brackets out, orderStatus/execDetails/errors back as slob_exec reports,
 *    and reconciliation against the store's known orders before any order.
 *
 * Design notes
 *  1. I/O: io_uring (engine/uring_sock.h). Each session owns one struct
 *     slob_usock and with it its own io_uring instance, so the ring belongs
 *     to the thread that owns the session: the broker to the sender's thread
 *     (called from the sender's poll), md to the ingest thread. Connect is
 *     an IORING_OP_CONNECT linked to a timeout (connect_timeout_ms), receive
 *     one multishot recv over a ring of 16 provided 16 KiB buffers (copied
 *     into the session's rx and handed back at once), sends one in-flight
 *     IORING_OP_SEND from the session's tx buffer; every poll is one
 *     io_uring_submit at most (two when the decoder queued a reply). The
 *     decoder runs inside slob_usock_poll: a close it causes (bad frame,
 *     server version, IB 326, send overflow) is deferred until that poll
 *     returns (close_pending), never done under the socket's feet. Without
 *     io_uring (ENOSYS/EPERM, old kernel, or params.io_syscalls) the same
 *     code runs over non-blocking connect/recv/send syscalls
 *     (sock.fallback counts those connects). The host must be numeric (no
 *     blocking name resolution). Closing a session (slob_usock_close)
 *     cancels in-flight operations and waits for their completions,
 *     bounded at ~1 s: a cold path (error / reconnect only).
 *  2. No allocation after init: fixed receive (max_frame + 4 + 16 KiB, at
 *     least SLOB_TWS_RXBUF) and send (SLOB_TWS_TXBUF) buffers; a frame
 *     longer than max_frame, garbage, or a send buffer overflow closes the
 *     session with a logged reason and schedules a reconnect.
 *  3. Reconnect delay after the n-th consecutive failure:
 *     min(initial * factor^(n-1), cap) +- jitter%; defaults 2, 4, 8 .. 60 s
 *     (ORIGINAL_SYSTEM.md s4). A session that reached READY resets n.
 *  4. State machine:
 *
 *      DOWN --delay--> CONNECTING --tcp up--> HELLO --server 200--> STARTING
 *        ^                 |                    |                     |
 *        +------ error / close / timeout -------+------<--------------+
 *                                                        nextValidId v
 *                                                                 READY
 *  5. Broker: after every READY, the contract is resolved first
 *     (reqContractDetails: conId, multiplier, minimum tick, trading hours;
 *     note 7), then reconciliation runs (reqPositions, reqAllOpenOrders,
 *     reqExecutions) and the sender holds intents until positionEnd +
 *     openOrderEnd + execDetailsEnd arrived (sender.h). Reconciliation
 *     counts and adopts only the configured contract (by conId; by symbol
 *     and month when the broker gives no conId); anything in another
 *     contract is reported (WARNING alert) and left alone.
 *  6. Alerts (SLOB_COLD_ALERT) and connection records (SLOB_COLD_CONN, code
 *     slob_conn_code(session, state) of engine/connstate.h: CONNECTING, UP,
 *     RECONCILED for orders, DOWN) go to the owner's cold queue: loss (WARNING), recovery (INFO), IB 1100
 *     (WARNING), 1101/1102 (INFO), unknown broker orders/positions (CRITICAL).
 *  7. The contract comes from configuration ([instrument] -> params) and the
 *     broker confirms it on every connection of both sessions, before any
 *     subscription or order: exactly one contractDetails must answer, with
 *     the configured multiplier (point value) and minimum tick. Otherwise
 *     the session refuses (CRITICAL alert naming both values), subscribes
 *     nothing and places nothing until a later lookup confirms it (note
 *     11). Market data and orders then carry the resolved contract (conId
 *     filled in).
 *  8. Silence: a READY session that has received nothing for silence_ms
 *     while it should hear something is probed with reqCurrentTime; if no
 *     byte arrives within probe_timeout_ms after that, the session is stale:
 *     dropped with a reason starting "stale:" (so its DOWN record and the
 *     loss alert say so) and reconnected with backoff. The order session
 *     always expects an answer; market data only while subscribed and the
 *     market is open by the engine's calendar (slob_tws_market_open), or
 *     always with md_silence_check = always. The timer is two comparisons
 *     per poll on the clock the poll already reads; the calendar is looked
 *     at only once silence_ms has passed.
 *  9. Reconciliation timeout: the broker's poll checks that positionEnd,
 *     openOrderEnd and execDetailsEnd all arrived within
 *     reconcile_timeout_ms of the reconciliation requests (sent once the
 *     contract is confirmed, never while it is refused: note 11); if not, an alert (ERROR, first of a
 *     streak then every doubling) and a reconnect, which requests all three
 *     again on a fresh session. Orders stay held (sender not reconciled)
 *     until a reconciliation completes.
 * 10. Broker account: after each reconciliation the order session subscribes
 *     to the account summary (NetLiquidation, AvailableFunds,
 *     ExcessLiquidity, InitMarginReq, MaintMarginReq) of tws.account (or
 *     the first managed account) and re-requests it every
 *     account_refresh_s, so a complete set arrives even when nothing
 *     changed; it also sends two what-if orders (BUY 1, SELL 1; never
 *     placed by the broker) and keeps the larger initial-margin change as
 *     the per-contract margin. Every change goes to risk as one
 *     SLOB_EXEC_ACCOUNT report on the exec ring (the path of executions):
 *     the hot path never asks the broker anything.
 * 11. Contract lookup retry: a lookup unanswered within reconcile_timeout_ms
 *     (30 s when that is 0) or refused is asked again on the same session
 *     after slob_tws_backoff_ms(streak) (2, 4, 8 .. 60 s), streak counting
 *     the consecutive failed lookups across reconnects until one is
 *     confirmed. The alert (CRITICAL refused, ERROR unanswered) goes out for
 *     the first of a streak and then every doubling; every failure is
 *     logged. While unresolved, market data is not quiet (note 8).
 * 12. Roll policy: the contract month is picked once, at init (the roll
 *     rule at start-up, or contract_month); every connection of the process
 *     re-confirms that same contract (and its conId once known), however
 *     long it runs. Rolling to the next month takes a restart, when flat.
 *     An order or execution carrying one of slob's own orderRefs
 *     (slob_tws_own_ref) is slob's whatever contract it names: tracked and
 *     booked, with a WARNING when the contract is not the configured one.
 * 13. Executions booked once: every execution id of the configured
 *     contract (or an own orderRef) seen by this process enters exec_set,
 *     an open-addressing set of xxh3 hashes (SLOB_TWS_EXEC_SET slots,
 *     allocated at init, filled to 7/8 at most); a replay (reconnect) is
 *     checked against it and against the store's ids. Ids of other
 *     contracts never enter it. When it is full (CRITICAL alert, once),
 *     live executions are still booked, but a replayed one found in
 *     neither is not booked (it may be a repeat): reported UNKNOWN, and the
 *     position comparison then decides (mismatch: CRITICAL, not closed).
 */
#ifndef SLOB_TWS_CONN_H
#define SLOB_TWS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/calendar.h"
#include "engine/coldrec.h"
#include "engine/connstate.h"
#include "engine/sender.h"
#include "engine/tickcheck.h"
#include "engine/tws_codec.h"
#include "engine/uring_sock.h"
#include "ringbuf/ring.h"

/* ---- parameters: INI section [tws] -------------------------------------- */

struct slob_tws_params {
	char host[64];              /* "127.0.0.1" */
	int port;                   /* 4002 (Gateway paper) */
	int md_client_id;           /* 10 */
	int order_client_id;        /* 1 */
	int64_t backoff_initial_ms; /* 2000 */
	int backoff_factor;         /* 2 */
	int64_t backoff_cap_ms;     /* 60000 */
	int backoff_jitter_pct;     /* 10 (0..50) */
	int64_t connect_timeout_ms; /* 20000 */
	uint32_t max_frame;         /* 1 MiB (1 KiB..16 MiB) */
	bool md_tick_by_tick;       /* true: reqTickByTickData Last; false: reqMktData */
	char contract_month[8];     /* "auto" (front month by roll rule) or YYYYMM */
	int roll_days;              /* roll this many days before expiry (8) */
	/* the contract: [instrument] (the pipeline copies it here; these are
	 * not [tws] keys). The broker must confirm multiplier and tick size. */
	char symbol[16];            /* "NQ" */
	char sec_type[8];           /* "FUT" */
	char exchange[16];          /* "CME" */
	char currency[8];           /* "USD" */
	char trading_class[16];     /* "" = any */
	double multiplier;          /* 20: USD per point (instrument.point_value) */
	char account[32];           /* optional account on orders */
	char tif[8];                /* time in force of the entry (parent): "DAY" */
	char tp_tif[8];             /* of the take-profit child: "GTC" */
	char sl_tif[8];             /* of the stop child: "GTC" */
	bool entry_outside_rth;     /* entry may fill outside regular hours (false) */
	bool tp_outside_rth;        /* take-profit too (true) */
	bool sl_outside_rth;        /* the stop triggers outside regular hours (true) */
	bool allow_unprotected_stop; /* accept a DAY stop or one limited to regular
				      * hours (a filled entry can be left without a
				      * live stop); false: such a configuration is
				      * refused */
	double tick_size;           /* 0.25 */
	bool io_syscalls;           /* key io: uring (false, default; falls back by
				     * itself when unavailable) | syscalls (true) */
	int order_sqpoll_cpu;       /* key order_sqpoll: off (SLOB_USOCK_NO_SQPOLL,
				     * default) | any (-1) | CPU number: a kernel
				     * thread submits the order connection's sends */
	int order_sqpoll_idle_ms;   /* the thread sleeps after this long without a
				     * send; the next one wakes it (a system call) */
	int account_refresh_s;      /* 60: the order session re-requests the account
				     * summary this often (design note 10) */
	int64_t silence_ms;         /* 15000: a ready session silent this long is
				     * probed (reqCurrentTime); 0 = off (note 8) */
	int64_t probe_timeout_ms;   /* 10000: probe unanswered this long = stale */
	bool md_silence_always;     /* key md_silence_check: market_hours (false,
				     * default) | always (true) */
	int64_t reconcile_timeout_ms; /* 30000: reconciliation not complete this long
				       * after READY: alert, reconnect; 0 = off (note 9) */
};

void slob_tws_params_default(struct slob_tws_params *p);
/* Keys: host, port, md_client_id, order_client_id, backoff_initial_ms,
 * backoff_factor, backoff_cap_ms, backoff_jitter_pct, connect_timeout_ms,
 * max_frame, md_mode (tick_by_tick|mkt_data), contract_month, roll_days,
 * account, tif (entry), tp_tif, sl_tif (DAY|GTC), entry_outside_rth,
 * tp_outside_rth, sl_outside_rth, allow_unprotected_stop, io (uring|syscalls),
 * order_sqpoll (off|any|CPU), order_sqpoll_idle_ms, account_refresh_s, silence_ms,
 * probe_timeout_ms, md_silence_check (market_hours|always), reconcile_timeout_ms.
 * 0, -ENOENT, -EINVAL (message names key and range). */
int slob_tws_param_set(struct slob_tws_params *p, const char *key, const char *value, char *err,
		       size_t errlen);
/* Also refuses a stop leg that can leave a filled entry naked (sl_tif DAY:
 * it expires at the session end; sl_outside_rth false: it cannot trigger
 * outside regular hours) unless allow_unprotected_stop is set. */
int slob_tws_params_validate(const struct slob_tws_params *p, char *err, size_t errlen);
/* With allow_unprotected_stop: a one-line warning naming the unsafe stop
 * setting (into out), 1; 0 when the stop leg is safe. */
int slob_tws_params_stop_warning(const struct slob_tws_params *p, char *out, size_t len);

/* Front quarterly month of an equity index future (NQ, MNQ), YYYYMM into
 * out[7], for a UTC time: the first quarterly contract (H M U Z) whose last
 * trade day (third Friday) is more than roll_days calendar days ahead.
 * Returns 0. */
int slob_tws_front_month(int64_t now_ns, int roll_days, char out[7]);

/* The configured contract (symbol, secType, month by contract_month or the
 * roll rule at now_ns, exchange, currency, tradingClass; conId 0, no
 * multiplier: the broker's answer names it). */
void slob_tws_contract_from_params(const struct slob_tws_params *p, int64_t now_ns,
				   struct slob_tws_contract *c);

/* Checks the broker's contract details against the configuration: 0, or
 * -EINVAL with why naming both values (multiplier, minimum tick, symbol). */
int slob_tws_check_details(const struct slob_tws_params *p, const struct slob_tws_contract_details *d,
			   char *why, size_t len);

/* Backoff delay (ms) before attempt n (n >= 1), without jitter. */
int64_t slob_tws_backoff_ms(const struct slob_tws_params *p, unsigned n);

/* ---- one session ---------------------------------------------------------- */

enum slob_tws_state {
	SLOB_TWS_DOWN = 0,
	SLOB_TWS_CONNECTING,
	SLOB_TWS_HELLO,
	SLOB_TWS_STARTING,
	SLOB_TWS_READY,
};

struct slob_tws_conn;
/* Owner's view of silence (design note 8): true when nothing needs to arrive
 * now (the session is then not probed). NULL: silence is never expected. */
typedef bool (*slob_tws_quiet_fn)(void *ctx, struct slob_tws_conn *c);
typedef void (*slob_tws_msg_fn)(void *ctx, struct slob_tws_conn *c, const struct slob_tws_in *m);
typedef void (*slob_tws_state_fn)(void *ctx, struct slob_tws_conn *c, int old_state,
				  const char *why);

#define SLOB_TWS_RXBUF (1u << 21)
#define SLOB_TWS_TXBUF (1u << 18)

struct slob_tws_conn {
	struct slob_tws_params prm;
	int client_id;
	int fd;                     /* the socket's fd from connect to close, else -1 (read-only) */
	int state;                  /* enum slob_tws_state */
	unsigned failures;          /* consecutive failed attempts */
	int64_t next_attempt_ms;    /* DOWN: when to try again */
	int64_t deadline_ms;        /* CONNECTING..STARTING: give up at */
	int server_version;
	int64_t next_valid_id;
	char accounts[64];
	uint8_t *rx, *tx;           /* = sock.rx / sock.tx (read-only) */
	size_t rx_len, tx_len;      /* bytes buffered after the last poll (read-only) */
	uint64_t rng;
	uint64_t connects, disconnects, bad_frames;
	char why[160];              /* reason of the last close */
	slob_tws_msg_fn on_msg;
	slob_tws_state_fn on_state;
	void *ctx;
	struct slob_tws_in msg;     /* decode scratch */
	struct slob_usock sock;     /* the connection (design note 1) */
	bool in_rx;                 /* inside the decoder (slob_usock_poll) */
	int64_t frame_rx_ns;        /* when the frame being handled was received */
	bool close_pending;         /* dropped inside the decoder: close after the poll */
	/* silence watch (design note 8), CLOCK_MONOTONIC ms */
	slob_tws_quiet_fn quiet_ok; /* set by the owner after init; NULL = always watch */
	int64_t last_rx_ms;         /* READY: when bytes last arrived (0: not yet) */
	int64_t probe_ms;           /* reqCurrentTime outstanding since (0: none) */
	uint64_t probes, stale;     /* probes sent; sessions declared stale */
};

/* Sets up a session (allocates buffers; no connection yet). 0, -EINVAL, -ENOMEM. */
int slob_tws_conn_init(struct slob_tws_conn *c, const struct slob_tws_params *p, int client_id,
		       slob_tws_msg_fn on_msg, slob_tws_state_fn on_state, void *ctx);
void slob_tws_conn_destroy(struct slob_tws_conn *c);

/* Drives the session: connects when due, reaps io_uring completions (or
 * polls the fallback socket), decodes and dispatches every complete message,
 * submits output. Returns work done (>= 0). Owner thread; never blocks
 * except closing a failed connection (design note 1). now_ms:
 * CLOCK_MONOTONIC milliseconds. */
int slob_tws_conn_poll(struct slob_tws_conn *c, int64_t now_ms);

/* Queues one encoded message. 0, -ENOTCONN (not READY / handshake), -ENOBUFS
 * (send buffer full: the session is closed). Owner thread. */
int slob_tws_conn_send(struct slob_tws_conn *c, const uint8_t *msg, int len);

/* Closes the session and schedules a reconnect (backoff). Owner thread. */
void slob_tws_conn_drop(struct slob_tws_conn *c, const char *why);

static inline bool slob_tws_conn_ready(const struct slob_tws_conn *c)
{
	return c->state == SLOB_TWS_READY;
}

/* ---- contract resolution (both sessions, after every READY) ---------------- */

enum slob_tws_ct_state {
	SLOB_TWS_CT_NONE = 0,       /* not asked yet on this connection */
	SLOB_TWS_CT_PENDING,        /* reqContractDetails sent */
	SLOB_TWS_CT_OK,             /* resolved and confirmed: trading allowed */
	SLOB_TWS_CT_REFUSED,        /* unknown, ambiguous or disagreeing: no trading */
};

struct slob_tws_resolve {
	int state;                  /* enum slob_tws_ct_state */
	int64_t req_id;
	unsigned matches;           /* contractDetails received for req_id */
	struct slob_tws_contract_details got; /* the first one */
	uint64_t refusals;
	char why[200];              /* reason of the last refusal */
	/* note 11: an unanswered or refused lookup is asked again, with backoff */
	int64_t sent_ms;            /* CLOCK_MONOTONIC ms of the pending request */
	int64_t retry_ms;           /* REFUSED / NONE while READY: ask again at */
	uint32_t streak;            /* consecutive refused or unanswered lookups */
	uint64_t timeouts;          /* lookups never answered (since start) */
};

/* ---- market data ------------------------------------------------------------ */

struct slob_tws_md {
	struct slob_tws_conn conn;
	slob_ring_t *ticks;         /* struct slob_tick, producer: this object */
	struct slob_coldq *cold;    /* NULL-able */
	struct slob_tws_contract contract; /* on the wire: the resolved contract (conId set) */
	struct slob_tws_contract want;     /* configured (month picked once at init, note 12) */
	struct slob_tws_resolve res;
	int64_t req_id;
	uint64_t seq;
	bool gap_next;              /* mark the next tick GAP_BEFORE */
	bool subscribed;
	struct slob_tz *tz;         /* market hours (note 8); NULL = always open */
	struct slob_calendar cal;   /* holidays of the engine's calendar */
	uint64_t ticks_in, ticks_dropped, subscribe_errors;
	struct slob_tickcheck chk;  /* every tick passes it (engine/tickcheck.h) */
	slob_stage_t stage;         /* "tws-md": poll = slob_tws_md_poll(now) */
};

/* Replaces the tick validator's parameters (init: defaults without the skew
 * check, i.e. the replay's ordering rules). Before the first poll. */
void slob_tws_md_set_check(struct slob_tws_md *md, const struct slob_tickcheck_params *p);

/* Sets up the market-data session; contract month from params (or the roll
 * rule at init). ticks: ring of struct slob_tick. 0 or -errno. */
int slob_tws_md_init(struct slob_tws_md *md, const struct slob_tws_params *p, slob_ring_t *ticks,
		     struct slob_coldq *cold, int64_t now_ns);
void slob_tws_md_destroy(struct slob_tws_md *md);
/* Gives the session the engine's calendar for its silence watch (design
 * note 8): time zone `zone` (e.g. "America/New_York") and the holiday file
 * (NULL or "" = none). Start-up only. 0 or -errno (message in err). */
int slob_tws_md_set_calendar(struct slob_tws_md *md, const char *zone, const char *holiday_file,
			     char *err, size_t errlen);
/* CME Globex hours of the equity index futures in New York time (tz must
 * be America/New_York): open Sunday 18:00 to Friday 17:00 except the daily
 * 17:00-18:00 break; a holiday of cal closes its whole date, an early close
 * from its time. tz NULL: always open. */
bool slob_tws_market_open(struct slob_tz *tz, const struct slob_calendar *cal, int64_t utc_ns);
/* Poll from the ingest thread. Returns work done. */
int slob_tws_md_poll(struct slob_tws_md *md, int64_t now_ms);
/* The market-data session as a stage (replaces ingest in live mode; never
 * done on its own: the thread stops it). */
slob_stage_t *slob_tws_md_stage(struct slob_tws_md *md);

/* ---- orders and reconciliation -------------------------------------------------- */

/* An order the store knows (passed at init for reconciliation). */
struct slob_tws_known_order {
	char order_ref[SLOB_ORDER_REF_LEN]; /* full ref incl. _ENTRY/_TP/_SL */
	uint64_t setup_id;
	int64_t order_id;           /* broker id if known, else 0 */
	uint8_t role;               /* enum slob_role */
	int8_t dir;                 /* position direction */
	bool open;                  /* working per the store (PENDING, SUBMITTED, ...) */
};

#define SLOB_TWS_MAX_TRACKED 1024
#define SLOB_TWS_EXEC_SET (1u << 16) /* note 13; a power of two */
#define SLOB_TWS_MAX_DEFERRED 1024
#define SLOB_TWS_SEEN_EXECS 256 /* foreign exec ids alerted once; a power of two */

/* An execution of slob's own order not yet booked, held while reconciling. */
struct slob_tws_deferred_exec {
	int64_t order_id;
	int32_t qty, px;
	bool bot, done;
	char order_ref[SLOB_ORDER_REF_LEN];
	char exec_id[64];
};

struct slob_tws_tracked {
	int64_t order_id;
	uint64_t setup_id;
	uint8_t role;
	int8_t dir;
	uint8_t last_kind;          /* last exec kind reported */
	uint8_t pad_;
	int32_t qty, px;
	char order_ref[SLOB_ORDER_REF_LEN];
};

struct slob_tws_broker {
	struct slob_tws_conn conn;
	struct slob_sender *sender; /* set by slob_tws_broker_attach */
	struct slob_coldq *cold;
	struct slob_tws_contract contract; /* on the wire: the resolved contract (conId set) */
	struct slob_tws_contract want;      /* configured (month picked once at init, note 12) */
	struct slob_tws_resolve res;        /* orders only when res.state == SLOB_TWS_CT_OK */
	const struct slob_tws_known_order *known;
	size_t nknown;
	int32_t known_position;     /* store's net position (signed contracts) */
	struct slob_tws_tracked tr[SLOB_TWS_MAX_TRACKED];
	uint32_t ntr;
	uint64_t seen_exec[SLOB_TWS_SEEN_EXECS]; /* xxh3 of recent foreign exec ids (alerted once) */
	uint32_t seen_head;
	uint64_t *exec_set;         /* note 13: xxh3 of every own exec id of this process */
	uint32_t exec_set_n;        /* ids in exec_set */
	bool exec_set_full;         /* no room: replays not found are not booked */
	/* reconciliation of the current session */
	bool rec_pos, rec_orders, rec_execs, rec_done;
	int32_t broker_position;
	int64_t exec_req_id;
	uint64_t unknown_found, adopted, rejects; /* since start */
	uint64_t pass_adopted, pass_unknown;      /* this reconciliation pass (the log line) */
	uint64_t pass_booked;                     /* fills booked from the executions replay */
	const uint64_t *store_execs;              /* sorted xxh3 of the store's exec ids */
	size_t nstore_execs;
	uint64_t foreign_found;                  /* positions/orders/executions in other contracts */
	/* broker account (design note 10) */
	struct slob_exec_account acct; /* figures as last reported to risk */
	int64_t acct_req_id;        /* live reqAccountSummary id, 0 = none */
	int64_t acct_next_ms;       /* next re-request (monotonic ms) */
	bool acct_end_seen;         /* accountSummaryEnd of acct_req_id arrived */
	bool whatif_sent;           /* this session's what-if orders are out */
	int64_t whatif_id[2];       /* BUY 1 / SELL 1 what-if order ids */
	double whatif_margin[2];    /* their initMarginChange (NAN until answered) */
	uint64_t acct_reports, acct_dropped, whatif_answers;
	int64_t rec_start_ms;       /* CLOCK_MONOTONIC ms of READY (note 9), 0 = none */
	uint32_t rec_timeouts;      /* consecutive reconciliation timeouts */
	struct slob_tws_deferred_exec deferred[SLOB_TWS_MAX_DEFERRED]; /* booked at rec_done */
	uint32_t ndeferred;
	bool settled;                             /* store's missing orders closed (once) */
	size_t settle_next;                       /* next known order to settle */
};

/*
 * slob_tws_broker_init - order session for the sender's live mode.
 * known/nknown: the store's orders (kept by pointer; must outlive the
 * broker); known_position: the store's net position. cold: the sender's cold
 * queue (the broker runs on the sender's thread). 0 or -errno.
 */
int slob_tws_broker_init(struct slob_tws_broker *b, const struct slob_tws_params *p,
			 const struct slob_tws_known_order *known, size_t nknown,
			 int32_t known_position, struct slob_coldq *cold, int64_t now_ns);
void slob_tws_broker_destroy(struct slob_tws_broker *b);

/*
 * Executions the store already booked (xxh3-64 of fills.exec_id, sorted
 * ascending; kept by pointer, must outlive the broker). An execution of one
 * of slob's orders the broker replays (restart, reconnect) that is not among
 * them, nor seen in this session, is booked as a FILL exactly once; one
 * that is, is only reported as RECONCILED (its money and position are in
 * the store already).
 */
static inline void slob_tws_broker_set_store_execs(struct slob_tws_broker *b, const uint64_t *ids,
						   size_t n)
{
	b->store_execs = ids;
	b->nstore_execs = n;
}

/*
 * slob_tws_own_ref - is ref one of slob's own orderRefs, recognisable
 * without any record: "SLOB_" + 16 lower-case hex digits (the bracket's ref
 * hash) + "_ENTRY" | "_TP" | "_SL". On true, *base_id gets the 16 digits'
 * value (a stable id for the bracket when the store has no setup for it)
 * and *role the leg. Any thread; pure.
 */
bool slob_tws_own_ref(const char *ref, uint64_t *base_id, uint8_t *role);

/* The backend's pump without a sender (tests, tools): the connection, the
 * account refresh, the contract lookup retry and the reconciliation
 * timeout. Owner thread. Returns work done. */
int slob_tws_broker_poll(struct slob_tws_broker *b, int64_t now_ms);

/* Installs the broker as s's backend (slob_sender_set_backend). */
void slob_tws_broker_attach(struct slob_tws_broker *b, struct slob_sender *s);

#endif /* SLOB_TWS_CONN_H */
