/* SPDX-License-Identifier: MIT */
/*
 * alert.c: Telegram and SMTP alert channels over a libcurl multi handle,
 * with filters, retries and channel-down reporting (see alert.h design
 * notes), plus the combined ops sink for the cold stage.
 */
#define _GNU_SOURCE
#include "persist/alert.h"
#include "engine/connstate.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/stats.h"
#include "persist/cold.h"

#define DEDUP_SLOTS 128
#define BACKOFF_CAP_NS (60ll * 1000000000ll)

struct msg {
	int kind, level;
	char *payload;
	size_t len, off;
	unsigned tries;
	int64_t next_ns; /* monotonic: earliest next attempt */
	CURL *easy;	 /* non-NULL while in flight */
	struct curl_slist *hdrs; /* e-mail: the message's own headers */
	curl_mime *mime;	 /* e-mail: built per attempt, freed with easy */
	int chan;
	int track; /* index in slob_alert.tracks, -1 when not journaled */
	char errbuf[CURL_ERROR_SIZE];
};

/* One alerts_sent row's delivery, over every channel it went to. */
#define TRACK_MAX 512
#define TRACK_KEEP_NS (60 * 1000000000ll)
enum { TRACK_FREE = 0, TRACK_FLYING, TRACK_READY };
struct track {
	int64_t ref;
	int64_t ready_ns; /* monotonic, when it became ready */
	unsigned pending, sent, failed, attempts;
	unsigned chans; /* bit per channel */
	int state;
};

struct chan {
	bool enabled;
	int min_level;
	struct msg **q; /* FIFO, q[0] oldest */
	unsigned n, cap;
	double tokens;
	int64_t tokens_ns;
	struct slob_alert_counters c;
};

struct dedup {
	uint64_t key;
	int64_t until_ns;
	uint32_t repeats;
};

struct slob_alert {
	struct slob_alert_params p;
	slob_log_t *log;
	CURLM *multi;
	CURL *esc; /* for curl_easy_escape */
	struct chan ch[SLOB_ALERT_NCHAN];
	struct dedup dd[DEDUP_SLOTS];
	char tg_url[SLOB_ALERT_STR * 2 + 32];
	char smtp_url[SLOB_ALERT_STR + 32];
	struct curl_slist *rcpt;
	const char *secrets[2];
	int64_t next_ref; /* slob_alert_track: journal the next send under it */
	struct track tracks[TRACK_MAX];
	unsigned track_next;
	struct sqlite3 *jdb; /* connection jst was prepared on */
	sqlite3_stmt *jst;
};

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- params ----------------------------------------------------------------- */

void slob_alert_params_default(struct slob_alert_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->telegram_url, sizeof(p->telegram_url), "https://api.telegram.org");
	p->telegram_level = SLOB_LVL_INFO;
	snprintf(p->smtp_server, sizeof(p->smtp_server), "smtp.gmail.com");
	p->smtp_port = 587;
	snprintf(p->smtp_tls, sizeof(p->smtp_tls), "starttls");
	snprintf(p->subject_prefix, sizeof(p->subject_prefix), "[SLOB Bot] ");
	p->email_level = SLOB_LVL_WARNING;
	p->rate_per_min = 20;
	p->dedup_s = 300;
	p->max_tries = 5;
	p->backoff_ms = 2000;
	p->timeout_ms = 10000;
	p->down_after = 3;
	p->queue = 256;
}

static void env_fill(char *dst, size_t len, const char *name)
{
	const char *v = getenv(name);
	if (!dst[0] && v && *v)
		snprintf(dst, len, "%s", v);
}

void slob_alert_params_from_env(struct slob_alert_params *p)
{
	env_fill(p->telegram_token, sizeof(p->telegram_token), "TELEGRAM_BOT_TOKEN");
	env_fill(p->telegram_chat_id, sizeof(p->telegram_chat_id), "TELEGRAM_CHAT_ID");
	const char *api = getenv("TELEGRAM_API_URL");
	if (api && *api && strcmp(p->telegram_url, "https://api.telegram.org") == 0)
		snprintf(p->telegram_url, sizeof(p->telegram_url), "%s", api);
	const char *srv = getenv("SMTP_SERVER");
	if (srv && *srv && strcmp(p->smtp_server, "smtp.gmail.com") == 0)
		snprintf(p->smtp_server, sizeof(p->smtp_server), "%s", srv);
	const char *port = getenv("SMTP_PORT");
	if (port && *port && p->smtp_port == 587) {
		int v = atoi(port);
		if (v > 0 && v < 65536)
			p->smtp_port = v;
	}
	env_fill(p->email_from, sizeof(p->email_from), "SENDER_EMAIL");
	env_fill(p->smtp_password, sizeof(p->smtp_password), "SENDER_PASSWORD");
	env_fill(p->smtp_password, sizeof(p->smtp_password), "SMTP_PASSWORD");
	env_fill(p->email_to, sizeof(p->email_to), "ALERT_EMAILS");
}

static int set_str(char *dst, size_t len, const char *key, const char *v, char *err, size_t errlen)
{
	if (strlen(v) >= len) {
		snprintf(err, errlen, "[alert] %s: longer than %zu characters", key, len - 1);
		return -EINVAL;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

static int set_uint(unsigned *dst, const char *key, const char *v, unsigned lo, unsigned hi,
		    char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (!*v || *v == '-' || *end || errno || x < lo || x > hi) {
		snprintf(err, errlen, "[alert] %s = '%s': expected an integer %u..%u", key, v, lo,
			 hi);
		return -EINVAL;
	}
	*dst = (unsigned)x;
	return 0;
}

int slob_alert_param_set(struct slob_alert_params *p, const char *key, const char *v, char *err,
			 size_t errlen)
{
	unsigned u;
	int rc;
	if (!strcmp(key, "telegram_token")) {
		/* never echo the value: it is a secret */
		if (strlen(v) >= sizeof(p->telegram_token)) {
			snprintf(err, errlen, "[alert] telegram_token: too long");
			return -EINVAL;
		}
		snprintf(p->telegram_token, sizeof(p->telegram_token), "%s", v);
		return 0;
	}
	if (!strcmp(key, "smtp_password")) {
		if (strlen(v) >= sizeof(p->smtp_password)) {
			snprintf(err, errlen, "[alert] smtp_password: too long");
			return -EINVAL;
		}
		snprintf(p->smtp_password, sizeof(p->smtp_password), "%s", v);
		return 0;
	}
#define STR(k)                                                                                     \
	if (!strcmp(key, #k))                                                                      \
	return set_str(p->k, sizeof(p->k), key, v, err, errlen)
	STR(telegram_chat_id);
	STR(telegram_url);
	STR(smtp_server);
	STR(smtp_user);
	STR(email_from);
	STR(email_to);
	STR(subject_prefix);
	STR(host_tag);
	STR(ca_file);
#undef STR
	if (!strcmp(key, "telegram_level") || !strcmp(key, "email_level")) {
		int lv;
		if (slob_log_level_parse(v, &lv) < 0) {
			snprintf(err, errlen,
				 "[alert] %s = '%s': expected debug|info|warning|error|critical",
				 key, v);
			return -EINVAL;
		}
		*(key[0] == 't' ? &p->telegram_level : &p->email_level) = lv;
		return 0;
	}
	if (!strcmp(key, "smtp_tls")) {
		if (strcmp(v, "starttls") && strcmp(v, "ssl") && strcmp(v, "none")) {
			snprintf(err, errlen, "[alert] smtp_tls = '%s': expected starttls|ssl|none",
				 v);
			return -EINVAL;
		}
		snprintf(p->smtp_tls, sizeof(p->smtp_tls), "%s", v);
		return 0;
	}
	if (!strcmp(key, "smtp_port")) {
		if ((rc = set_uint(&u, key, v, 1, 65535, err, errlen)) < 0)
			return rc;
		p->smtp_port = (int)u;
		return 0;
	}
#define UINT(k, lo, hi)                                                                            \
	if (!strcmp(key, #k))                                                                      \
	return set_uint(&p->k, key, v, lo, hi, err, errlen)
	UINT(rate_per_min, 1, 10000);
	UINT(dedup_s, 0, 86400);
	UINT(max_tries, 1, 100);
	UINT(backoff_ms, 1, 600000);
	UINT(timeout_ms, 100, 600000);
	UINT(down_after, 1, 1000);
	UINT(queue, 1, 65536);
#undef UINT
	snprintf(err, errlen, "[alert] unknown key '%s'", key);
	return -ENOENT;
}

int slob_alert_params_validate(const struct slob_alert_params *p, char *err, size_t errlen)
{
	if (p->telegram_token[0] && !p->telegram_chat_id[0]) {
		snprintf(err, errlen,
			 "[alert] telegram_token is set but telegram_chat_id is empty "
			 "(set TELEGRAM_CHAT_ID)");
		return -EINVAL;
	}
	if (p->telegram_token[0] && strncmp(p->telegram_url, "http://", 7) &&
	    strncmp(p->telegram_url, "https://", 8)) {
		snprintf(err, errlen,
			 "[alert] telegram_url = '%s': must start with http:// or https://",
			 p->telegram_url);
		return -EINVAL;
	}
	if (p->ca_file[0] && access(p->ca_file, R_OK) != 0) {
		snprintf(err, errlen, "[alert] ca_file = '%s': %s", p->ca_file, strerror(errno));
		return -EINVAL;
	}
	if (p->email_to[0] && !p->email_from[0]) {
		snprintf(err, errlen,
			 "[alert] email_to is set but email_from is empty (set SENDER_EMAIL)");
		return -EINVAL;
	}
	if (p->email_to[0] && !strchr(p->email_to, '@')) {
		snprintf(err, errlen, "[alert] email_to = '%s': expected comma-separated addresses",
			 p->email_to);
		return -EINVAL;
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

const char *slob_alert_kind_name(int kind)
{
	static const char *const n[] = {
	    [SLOB_ALERT_OTHER] = "other",
	    [SLOB_ALERT_START] = "start",
	    [SLOB_ALERT_STOP] = "stop",
	    [SLOB_ALERT_CONN_LOST] = "connection_lost",
	    [SLOB_ALERT_CONN_RESTORED] = "connection_restored",
	    [SLOB_ALERT_ORDER_REJECTED] = "order_rejected",
	    [SLOB_ALERT_BREAKER_TRIPPED] = "breaker_tripped",
	    [SLOB_ALERT_BREAKER_RESET] = "breaker_reset",
	    [SLOB_ALERT_UNKNOWN_POSITION] = "unknown_position",
	    [SLOB_ALERT_UNKNOWN_ORDER] = "unknown_order",
	    [SLOB_ALERT_STORE_ERROR] = "store_error",
	    [SLOB_ALERT_STORE_CORRUPT] = "store_corrupt",
	    [SLOB_ALERT_BACKUP_FAILED] = "backup_failed",
	    [SLOB_ALERT_DAILY_SUMMARY] = "daily_summary",
	    [SLOB_ALERT_CHANNEL_DOWN] = "channel_down",
	    [SLOB_ALERT_CHANNEL_UP] = "channel_up",
	    [SLOB_ALERT_TEST] = "test",
	    [SLOB_ALERT_STORE_RESTORED] = "store_restored",
	    [SLOB_ALERT_STORE_WRITABLE] = "store_writable",
	};
	if (kind < 0 || kind >= SLOB_ALERT_KIND_MAX)
		return "other";
	return n[kind];
}

const char *slob_alert_channel_name(int c)
{
	return c == SLOB_ALERT_TELEGRAM ? "telegram" : c == SLOB_ALERT_EMAIL ? "email" : "?";
}

static void safe(const struct slob_alert *a, char *dst, size_t len, const char *src)
{
	slob_redact(dst, len, src, a->secrets, 2);
}

static void logf_(struct slob_alert *a, int level, const char *fmt, ...) SLOB_PRINTF(3, 4);
static void logf_(struct slob_alert *a, int level, const char *fmt, ...)
{
	char raw[1024], clean[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	safe(a, clean, sizeof(clean), raw);
	if (a->log)
		slob_log_write(a->log, 0, level, "alert", clean);
}

/* Appends HTML-escaped text. */
static size_t html_esc(char *dst, size_t len, size_t o, const char *s)
{
	for (; s && *s && o + 8 < len; s++) {
		const char *r = NULL;
		if (*s == '<')
			r = "&lt;";
		else if (*s == '>')
			r = "&gt;";
		else if (*s == '&')
			r = "&amp;";
		if (r)
			while (*r)
				dst[o++] = *r++;
		else
			dst[o++] = *s;
	}
	dst[o] = 0;
	return o;
}

static const char *level_emoji(int level)
{
	switch (level) {
	case SLOB_LVL_DEBUG:
	case SLOB_LVL_INFO:
		return "\xE2\x84\xB9\xEF\xB8\x8F"; /* information */
	case SLOB_LVL_WARNING:
		return "\xE2\x9A\xA0\xEF\xB8\x8F"; /* warning sign */
	default:
		return "\xF0\x9F\x9A\xA8"; /* rotating light */
	}
}

static char *build_telegram(struct slob_alert *a, int level, const char *title, const char *text,
			    size_t *len)
{
	char html[4096];
	size_t o = (size_t)snprintf(html, sizeof(html), "%s <b>", level_emoji(level));
	o = html_esc(html, sizeof(html), o, title);
	o += (size_t)snprintf(html + o, sizeof(html) - o, "</b>\n");
	if (o < sizeof(html))
		o = html_esc(html, sizeof(html), o, text);
	if (a->p.host_tag[0] && o < sizeof(html)) {
		o += (size_t)snprintf(html + o, sizeof(html) - o, "\n<i>");
		if (o < sizeof(html))
			o = html_esc(html, sizeof(html), o, a->p.host_tag);
		if (o < sizeof(html))
			snprintf(html + o, sizeof(html) - o, "</i>");
	}
	char *chat = curl_easy_escape(a->esc, a->p.telegram_chat_id, 0);
	char *t = curl_easy_escape(a->esc, html, 0);
	char *body = NULL;
	int n = (chat && t)
		    ? asprintf(&body,
			       "chat_id=%s&parse_mode=HTML&disable_web_page_preview=true&text=%s",
			       chat, t)
		    : -1;
	curl_free(chat);
	curl_free(t);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return body;
}

/* RFC 2047: a subject holding anything but printable ASCII goes out as
 * UTF-8 "B" encoded-words of at most 75 characters each (45 input bytes,
 * cut on a character boundary), folded onto continuation lines. Printable
 * ASCII passes through unchanged. Returns the length written, or -1 when
 * dst is too small. */
int slob_alert_mime_subject(char *dst, size_t len, const char *subject)
{
	const unsigned char *s = (const unsigned char *)(subject ? subject : "");
	size_t n = strlen((const char *)s);
	bool plain = true;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			plain = false;
	if (plain) {
		if (n + 1 > len)
			return -1;
		memcpy(dst, s, n + 1);
		return (int)n;
	}
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t k = n - i < 45 ? n - i : 45;
		while (k < n - i && k > 1 && (s[i + k] & 0xc0) == 0x80)
			k--; /* never split a UTF-8 sequence across two words */
		unsigned char chunk[45];
		memcpy(chunk, s + i, k);
		for (size_t j = 0; j < k; j++)
			if (chunk[j] == '\r' || chunk[j] == '\n')
				chunk[j] = ' ';
		char b64[64];
		sodium_bin2base64(b64, sizeof(b64), chunk, k, sodium_base64_VARIANT_ORIGINAL);
		int w = snprintf(dst + o, len - o, "%s=?UTF-8?B?%s?=", o ? "\r\n " : "", b64);
		if (w < 0 || (size_t)w >= len - o)
			return -1;
		o += (size_t)w;
		i += k;
	}
	if (o == 0 && len)
		dst[0] = 0;
	return (int)o;
}

/* Header value: CR and LF become spaces so nothing configured or reported
 * can start a header of its own. */
static void one_line(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
	for (char *c = dst; *c; c++)
		if (*c == '\r' || *c == '\n')
			*c = ' ';
}

/* The body goes in payload (LF made CRLF); the headers go in m->hdrs and
 * become the top-level headers of the MIME message curl assembles at each
 * attempt (start). The Message-ID is fixed here, so a retry is the same
 * message; its random part is 128 bits from libsodium. */
static char *build_email(struct slob_alert *a, struct msg *m, int level, const char *title,
			 const char *text, size_t *len)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* body: text with bare LF turned into CRLF */
	char crlf[4096];
	size_t o = 0;
	for (const char *s = text; s && *s && o + 3 < sizeof(crlf); s++) {
		if (*s == '\n')
			crlf[o++] = '\r';
		if (*s != '\r')
			crlf[o++] = *s;
	}
	crlf[o] = 0;
	char subj[SLOB_ALERT_STR + 320], enc[4 * (SLOB_ALERT_STR + 320)];
	char t[256];
	one_line(t, sizeof(t), title);
	/* an ini value loses its trailing blank: "[Bot]" reads as "[Bot] " */
	size_t pl = strlen(a->p.subject_prefix);
	snprintf(subj, sizeof(subj), "%s%s%s: %s", a->p.subject_prefix,
		 pl && a->p.subject_prefix[pl - 1] != ' ' ? " " : "", slob_log_level_name(level), t);
	if (slob_alert_mime_subject(enc, sizeof(enc), subj) < 0)
		return NULL;
	unsigned char rnd[16];
	char rhex[2 * sizeof(rnd) + 1];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(rhex, sizeof(rhex), rnd, sizeof(rnd));
	char to[sizeof(a->p.email_to)], from[sizeof(a->p.email_from)];
	one_line(to, sizeof(to), a->p.email_to);
	one_line(from, sizeof(from), a->p.email_from);
	char h[sizeof(enc) + 64];
	const char *lines[] = {"Date: %s", "To: %s", "From: %s", "Subject: %s", "Message-ID: %s",
			       "X-Slob-Severity: %s"};
	char mid[128];
	snprintf(mid, sizeof(mid), "<slob.%lld.%s@slob.local>", (long long)real_ns(), rhex);
	const char *vals[] = {date, to, from, enc, mid, slob_log_level_name(level)};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(h, sizeof(h), lines[i], vals[i]);
		struct curl_slist *n = curl_slist_append(m->hdrs, h);
		if (!n)
			return NULL;
		m->hdrs = n;
	}
	char *body = NULL;
	int n = asprintf(&body, "%s\r\n%s%s%s\r\n-- \r\nslob alert (%s)\r\n", crlf,
			 a->p.host_tag[0] ? "\r\nHost: " : "", a->p.host_tag,
			 a->p.host_tag[0] ? "\r\n" : "", date);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return body;
}

static void msg_free(struct msg *m)
{
	if (!m)
		return;
	if (m->payload) {
		memset(m->payload, 0, m->len);
		free(m->payload);
	}
	curl_slist_free_all(m->hdrs);
	curl_mime_free(m->mime);
	free(m);
}

/* Queues one message on channel c (filters already applied). */
static int enqueue(struct slob_alert *a, int c, int kind, int level, const char *title,
		   const char *text, int track)
{
	struct chan *ch = &a->ch[c];
	if (ch->n >= ch->cap) {
		ch->c.dropped++;
		return -ENOSPC;
	}
	struct msg *m = calloc(1, sizeof(*m));
	if (!m) {
		ch->c.dropped++;
		return -ENOMEM;
	}
	m->kind = kind;
	m->level = level;
	m->chan = c;
	m->track = track;
	m->next_ns = 0;
	m->payload = c == SLOB_ALERT_TELEGRAM ? build_telegram(a, level, title, text, &m->len)
					      : build_email(a, m, level, title, text, &m->len);
	if (!m->payload) {
		msg_free(m);
		ch->c.dropped++;
		return -ENOMEM;
	}
	ch->q[ch->n++] = m;
	ch->c.queued++;
	return 0;
}

static bool rate_ok(struct slob_alert *a, struct chan *ch, int level, int64_t now)
{
	double cap = a->p.rate_per_min;
	if (ch->tokens_ns == 0) {
		ch->tokens = cap;
	} else {
		ch->tokens += (double)(now - ch->tokens_ns) / 60e9 * cap;
		if (ch->tokens > cap)
			ch->tokens = cap;
	}
	ch->tokens_ns = now;
	if (level >= SLOB_LVL_CRITICAL)
		return true; /* never rate-limit CRITICAL (design note 2) */
	if (ch->tokens < 1.0)
		return false;
	ch->tokens -= 1.0;
	return true;
}

/* Takes a track slot for the next send (the oldest slot is reused when all
 * are busy: its row then stays at its last written state). */
static int track_begin(struct slob_alert *a)
{
	if (a->next_ref == 0)
		return -1;
	int i = (int)(a->track_next++ % TRACK_MAX);
	struct track *t = &a->tracks[i];
	memset(t, 0, sizeof(*t));
	t->ref = a->next_ref;
	t->state = TRACK_FLYING;
	a->next_ref = 0;
	return i;
}

static void track_end(struct slob_alert *a, int i)
{
	struct track *t = &a->tracks[i];
	if (t->pending == 0 && t->state == TRACK_FLYING) {
		t->state = TRACK_READY;
		t->ready_ns = slob_mono_ns();
	}
}

/* A message of track i delivered (ok) or given up on. */
static void track_done(struct slob_alert *a, const struct msg *m, bool ok)
{
	if (m->track < 0)
		return;
	struct track *t = &a->tracks[m->track];
	if (t->state != TRACK_FLYING || t->pending == 0)
		return; /* slot reused meanwhile */
	t->attempts += m->tries;
	if (ok)
		t->sent++;
	else
		t->failed++;
	t->pending--;
	track_end(a, m->track);
}

void slob_alert_track(slob_alert_t *a, int64_t ref)
{
	if (a)
		a->next_ref = ref;
}

int slob_alert_journal(slob_alert_t *a, struct sqlite3 *db)
{
	if (!a || !db)
		return 0;
	if (a->jdb != db) {
		sqlite3_finalize(a->jst);
		a->jst = NULL;
		a->jdb = db;
	}
	int64_t now = slob_mono_ns();
	int n = 0;
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		struct track *t = &a->tracks[i];
		if (t->state != TRACK_READY)
			continue;
		if (!a->jst && sqlite3_prepare_v2(
				   db,
				   "UPDATE alerts_sent SET status=?2, attempts=?3, channel=?4,"
				   " sent_at=CASE WHEN ?2 IN ('sent','partial')"
				   " THEN strftime('%Y-%m-%d %H:%M:%f','now') ELSE sent_at END"
				   " WHERE id=(SELECT max(id) FROM alerts_sent WHERE ref=?1)",
				   -1, &a->jst, NULL) != SQLITE_OK)
			return -EIO;
		const char *status = t->sent && !t->failed   ? "sent"
				     : t->sent && t->failed  ? "partial"
				     : t->failed		 ? "failed"
								 : "skipped";
		char chans[32] = "";
		for (int c = 0; c < SLOB_ALERT_NCHAN; c++)
			if (t->chans & (1u << c))
				snprintf(chans + strlen(chans), sizeof(chans) - strlen(chans),
					 "%s%s", chans[0] ? "," : "", slob_alert_channel_name(c));
		sqlite3_bind_int64(a->jst, 1, t->ref);
		sqlite3_bind_text(a->jst, 2, status, -1, SQLITE_STATIC);
		sqlite3_bind_int(a->jst, 3, (int)t->attempts);
		if (chans[0])
			sqlite3_bind_text(a->jst, 4, chans, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(a->jst, 4);
		int rc = sqlite3_step(a->jst);
		sqlite3_reset(a->jst);
		if (rc != SQLITE_DONE)
			return -EIO; /* the store fails: kept, retried after the next commit */
		if (sqlite3_changes(db) > 0) {
			n++;
			t->state = TRACK_FREE;
		} else if (now - t->ready_ns > TRACK_KEEP_NS) {
			t->state = TRACK_FREE; /* its row never came */
		}
	}
	return n;
}

int slob_alert_send(slob_alert_t *a, int kind, int level, const char *title, const char *text)
{
	if (!a)
		return 0;
	int tr = track_begin(a);
	int64_t now = slob_mono_ns();
	char note[4096];
	const char *body = text ? text : "";
	/* de-duplication across channels */
	if (a->p.dedup_s > 0) {
		/* each field hashed with its length, seeded by the one before:
		 * no two different (kind, title, text) share a key by where
		 * the fields split */
		const char *t = title ? title : slob_alert_kind_name(kind);
		uint64_t key = XXH3_64bits_withSeed(
		    body, strlen(body), XXH3_64bits_withSeed(t, strlen(t), (uint64_t)kind));
		struct dedup *d = &a->dd[key % DEDUP_SLOTS];
		if (d->key == key && now < d->until_ns) {
			d->repeats++;
			for (int c = 0; c < SLOB_ALERT_NCHAN; c++)
				if (a->ch[c].enabled)
					a->ch[c].c.suppressed_dup++;
			if (tr >= 0)
				track_end(a, tr);
			return 0;
		}
		if (d->key == key && d->repeats) {
			snprintf(note, sizeof(note), "%s\n(repeated %u more times before)", body,
				 d->repeats);
			body = note;
		}
		d->key = key;
		d->until_ns = now + (int64_t)a->p.dedup_s * 1000000000ll;
		d->repeats = 0;
	}
	int queued = 0, rc = 0;
	for (int c = 0; c < SLOB_ALERT_NCHAN; c++) {
		struct chan *ch = &a->ch[c];
		if (!ch->enabled)
			continue;
		if (level < ch->min_level) {
			ch->c.suppressed_level++;
			continue;
		}
		if (!rate_ok(a, ch, level, now)) {
			ch->c.suppressed_rate++;
			continue;
		}
		int r = enqueue(a, c, kind, level, title ? title : slob_alert_kind_name(kind), body,
				tr);
		if (r == 0) {
			queued++;
			if (tr >= 0) {
				a->tracks[tr].pending++;
				a->tracks[tr].chans |= 1u << c;
			}
		} else {
			rc = r;
		}
	}
	if (tr >= 0)
		track_end(a, tr);
	return rc < 0 ? rc : queued;
}

int slob_alert_sendf(slob_alert_t *a, int kind, int level, const char *title, const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return slob_alert_send(a, kind, level, title, text);
}

/* ---- transfers ----------------------------------------------------------------- */

static size_t sink_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb; /* the Bot API's JSON answer is not needed: HTTP status decides */
}

static int start(struct slob_alert *a, struct msg *m)
{
	CURL *e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	m->errbuf[0] = 0;
	m->off = 0;
	curl_easy_setopt(e, CURLOPT_PRIVATE, m);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, m->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->p.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)a->p.timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	if (a->p.ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, a->p.ca_file);
	if (m->chan == SLOB_ALERT_TELEGRAM) {
		curl_easy_setopt(e, CURLOPT_URL, a->tg_url);
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, m->payload);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)m->len);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_body);
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	} else {
		curl_easy_setopt(e, CURLOPT_URL, a->smtp_url);
		char from[SLOB_ALERT_STR + 2];
		snprintf(from, sizeof(from), "<%s>", a->p.email_from);
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, a->rcpt);
		/* curl assembles the message: m->hdrs on top, one text part,
		 * quoted-printable so no server sees 8-bit or over-long lines */
		curl_mime *mime = curl_mime_init(e);
		curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
		if (!part || curl_mime_data(part, m->payload, m->len) != CURLE_OK ||
		    curl_mime_type(part, "text/plain; charset=utf-8") != CURLE_OK ||
		    curl_mime_encoder(part, "quoted-printable") != CURLE_OK) {
			curl_mime_free(mime);
			curl_easy_cleanup(e);
			return -ENOMEM;
		}
		m->mime = mime;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->hdrs);
		curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		if (!strcmp(a->p.smtp_tls, "starttls"))
			curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		if (a->p.smtp_password[0]) {
			curl_easy_setopt(e, CURLOPT_USERNAME,
					 a->p.smtp_user[0] ? a->p.smtp_user : a->p.email_from);
			curl_easy_setopt(e, CURLOPT_PASSWORD, a->p.smtp_password);
		}
	}
	if (curl_multi_add_handle(a->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_mime_free(m->mime);
		m->mime = NULL;
		return -EIO;
	}
	m->easy = e;
	m->tries++;
	return 0;
}

static void channel_state(struct slob_alert *a, int c, bool ok, const char *why)
{
	struct chan *ch = &a->ch[c];
	int other = c == SLOB_ALERT_TELEGRAM ? SLOB_ALERT_EMAIL : SLOB_ALERT_TELEGRAM;
	char text[512];
	if (ok) {
		ch->c.consecutive_failures = 0;
		ch->c.last_ok_ns = real_ns();
		if (ch->c.down) {
			ch->c.down = false;
			logf_(a, SLOB_LVL_WARNING, "%s alerts restored",
			      slob_alert_channel_name(c));
			if (a->ch[other].enabled) {
				snprintf(text, sizeof(text), "The %s alert channel delivers again.",
					 slob_alert_channel_name(c));
				enqueue(a, other, SLOB_ALERT_CHANNEL_UP, SLOB_LVL_WARNING,
					"Alert channel restored", text, -1);
			}
		}
		return;
	}
	ch->c.consecutive_failures++;
	ch->c.last_fail_ns = real_ns();
	if (!ch->c.down && ch->c.consecutive_failures >= a->p.down_after) {
		ch->c.down = true;
		logf_(a, SLOB_LVL_ERROR, "%s alerts DOWN after %u failed attempts: %s",
		      slob_alert_channel_name(c), ch->c.consecutive_failures, why);
		if (a->ch[other].enabled) {
			char clean[256];
			safe(a, clean, sizeof(clean), why);
			snprintf(text, sizeof(text),
				 "The %s alert channel is failing (%u attempts): %s. See "
				 "OPERATIONS.md (P2-%d).",
				 slob_alert_channel_name(c), ch->c.consecutive_failures, clean,
				 c == SLOB_ALERT_TELEGRAM ? 2 : 3);
			enqueue(a, other, SLOB_ALERT_CHANNEL_DOWN, SLOB_LVL_ERROR,
				"Alert channel down", text, -1);
		}
	}
}

static void remove_head(struct chan *ch, struct msg *m)
{
	for (unsigned i = 0; i < ch->n; i++)
		if (ch->q[i] == m) {
			memmove(&ch->q[i], &ch->q[i + 1], (ch->n - i - 1) * sizeof(ch->q[0]));
			ch->n--;
			return;
		}
}

static void complete(struct slob_alert *a, struct msg *m, CURLcode res)
{
	struct chan *ch = &a->ch[m->chan];
	long code = 0;
	curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(a->multi, m->easy);
	curl_easy_cleanup(m->easy);
	m->easy = NULL;
	curl_mime_free(m->mime); /* the next attempt builds its own */
	m->mime = NULL;

	bool ok, permanent = false;
	char why[CURL_ERROR_SIZE + 64];
	if (m->chan == SLOB_ALERT_TELEGRAM) {
		ok = res == CURLE_OK && code >= 200 && code < 300;
		if (res == CURLE_OK && !ok) {
			snprintf(why, sizeof(why), "HTTP %ld from the Bot API", code);
			permanent = code == 400 || code == 401 || code == 403 || code == 404;
		}
	} else {
		ok = res == CURLE_OK;
		if (!ok && code >= 500) {
			snprintf(why, sizeof(why), "SMTP %ld: %s", code,
				 m->errbuf[0] ? m->errbuf : curl_easy_strerror(res));
			permanent = true;
		}
		if (res == CURLE_LOGIN_DENIED)
			permanent = true;
	}
	if (!ok && res != CURLE_OK && !(m->chan == SLOB_ALERT_EMAIL && code >= 500))
		snprintf(why, sizeof(why), "%s",
			 m->errbuf[0] ? m->errbuf : curl_easy_strerror(res));
	if (res == CURLE_URL_MALFORMAT || res == CURLE_UNSUPPORTED_PROTOCOL)
		permanent = true;

	channel_state(a, m->chan, ok, ok ? "" : why);
	if (ok) {
		ch->c.sent++;
		track_done(a, m, true);
		remove_head(ch, m);
		msg_free(m);
		return;
	}
	safe(a, ch->c.last_error, sizeof(ch->c.last_error), why);
	if (!permanent && m->tries < a->p.max_tries) {
		int64_t back = (int64_t)a->p.backoff_ms * 1000000ll
			       << (m->tries - 1 < 20 ? m->tries - 1 : 20);
		if (back > BACKOFF_CAP_NS || back <= 0)
			back = BACKOFF_CAP_NS;
		m->next_ns = slob_mono_ns() + back;
		ch->c.retries++;
		logf_(a, SLOB_LVL_WARNING,
		      "%s alert '%s' failed (attempt %u/%u, retry in %lld ms): %s",
		      slob_alert_channel_name(m->chan), slob_alert_kind_name(m->kind), m->tries,
		      a->p.max_tries, (long long)(back / 1000000), why);
		return;
	}
	ch->c.failed++;
	logf_(a, SLOB_LVL_ERROR, "%s alert '%s' given up after %u attempt%s: %s",
	      slob_alert_channel_name(m->chan), slob_alert_kind_name(m->kind), m->tries,
	      m->tries == 1 ? "" : "s", why);
	track_done(a, m, false);
	remove_head(ch, m);
	msg_free(m);
}

int slob_alert_poll(slob_alert_t *a)
{
	if (!a)
		return 0;
	int64_t now = slob_mono_ns();
	for (int c = 0; c < SLOB_ALERT_NCHAN; c++) {
		struct chan *ch = &a->ch[c];
		/* one transfer in flight per channel keeps alerts in order */
		if (ch->n == 0 || ch->q[0]->easy || ch->q[0]->next_ns > now)
			continue;
		if (start(a, ch->q[0]) < 0) {
			ch->q[0]->next_ns = now + 1000000000ll;
			continue;
		}
	}
	int running = 0, done = 0;
	curl_multi_perform(a->multi, &running);
	CURLMsg *cm;
	int left;
	while ((cm = curl_multi_info_read(a->multi, &left))) {
		if (cm->msg != CURLMSG_DONE)
			continue;
		struct msg *m = NULL;
		curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&m);
		CURLcode res = cm->data.result;
		complete(a, m, res);
		done++;
	}
	return done;
}

unsigned slob_alert_pending(const slob_alert_t *a)
{
	unsigned n = 0;
	for (int c = 0; a && c < SLOB_ALERT_NCHAN; c++)
		n += a->ch[c].n;
	return n;
}

int slob_alert_flush(slob_alert_t *a, int timeout_ms)
{
	int64_t end = slob_mono_ns() + (int64_t)timeout_ms * 1000000ll;
	while (slob_alert_pending(a)) {
		if (slob_mono_ns() >= end)
			return -ETIMEDOUT;
		slob_alert_poll(a);
		if (!slob_alert_pending(a))
			break;
		curl_multi_poll(a->multi, NULL, 0, 20, NULL);
	}
	return 0;
}

void slob_alert_counters(const slob_alert_t *a, int c, struct slob_alert_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!a || c < 0 || c >= SLOB_ALERT_NCHAN)
		return;
	*out = a->ch[c].c;
	out->enabled = a->ch[c].enabled;
}

int slob_alert_create(const struct slob_alert_params *p, slob_log_t *log, slob_alert_t **out,
		      char *err, size_t errlen)
{
	int rc = slob_alert_params_validate(p, err, errlen);
	if (rc < 0)
		return rc;
	static int curl_ready;
	if (!__atomic_exchange_n(&curl_ready, 1, __ATOMIC_ACQ_REL))
		curl_global_init(CURL_GLOBAL_DEFAULT);
	if (sodium_init() < 0) { /* Message-IDs' random part */
		snprintf(err, errlen, "alert: libsodium initialisation failed");
		return -EIO;
	}
	struct slob_alert *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "alert: out of memory");
		return -ENOMEM;
	}
	a->p = *p;
	a->log = log;
	a->multi = curl_multi_init();
	a->esc = curl_easy_init();
	if (!a->multi || !a->esc) {
		snprintf(err, errlen, "alert: libcurl initialisation failed");
		slob_alert_free(a);
		return -ENOMEM;
	}
	a->secrets[0] = a->p.telegram_token;
	a->secrets[1] = a->p.smtp_password;
	if (log) {
		if (a->p.telegram_token[0])
			slob_log_redact_add(log, a->p.telegram_token);
		if (a->p.smtp_password[0])
			slob_log_redact_add(log, a->p.smtp_password);
	}
	struct chan *tg = &a->ch[SLOB_ALERT_TELEGRAM], *em = &a->ch[SLOB_ALERT_EMAIL];
	tg->enabled = p->telegram_token[0] && p->telegram_chat_id[0];
	tg->min_level = p->telegram_level;
	size_t ul = strlen(p->telegram_url);
	while (ul && p->telegram_url[ul - 1] == '/')
		ul--;
	snprintf(a->tg_url, sizeof(a->tg_url), "%.*s/bot%s/sendMessage", (int)ul, p->telegram_url,
		 p->telegram_token);
	em->enabled = p->smtp_server[0] && p->email_from[0] && p->email_to[0];
	em->min_level = p->email_level;
	snprintf(a->smtp_url, sizeof(a->smtp_url), "%s://%s:%d",
		 strcmp(p->smtp_tls, "ssl") ? "smtp" : "smtps", p->smtp_server, p->smtp_port);
	char to[sizeof(p->email_to)];
	snprintf(to, sizeof(to), "%s", p->email_to);
	char *save = NULL;
	for (char *t = strtok_r(to, ",; ", &save); t; t = strtok_r(NULL, ",; ", &save)) {
		char r[SLOB_ALERT_STR + 2];
		snprintf(r, sizeof(r), "<%s>", t);
		struct curl_slist *n = curl_slist_append(a->rcpt, r);
		if (!n) {
			slob_alert_free(a);
			snprintf(err, errlen, "alert: out of memory");
			return -ENOMEM;
		}
		a->rcpt = n;
	}
	for (int c = 0; c < SLOB_ALERT_NCHAN; c++) {
		a->ch[c].cap = p->queue;
		a->ch[c].q = calloc(p->queue, sizeof(struct msg *));
		if (!a->ch[c].q) {
			slob_alert_free(a);
			snprintf(err, errlen, "alert: out of memory");
			return -ENOMEM;
		}
	}
	*out = a;
	return 0;
}

void slob_alert_free(slob_alert_t *a)
{
	if (!a)
		return;
	for (int c = 0; c < SLOB_ALERT_NCHAN; c++) {
		for (unsigned i = 0; i < a->ch[c].n; i++) {
			struct msg *m = a->ch[c].q[i];
			if (m->easy) {
				curl_multi_remove_handle(a->multi, m->easy);
				curl_easy_cleanup(m->easy);
			}
			msg_free(m);
		}
		free(a->ch[c].q);
	}
	curl_slist_free_all(a->rcpt);
	sqlite3_finalize(a->jst);
	if (a->esc)
		curl_easy_cleanup(a->esc);
	if (a->multi)
		curl_multi_cleanup(a->multi);
	memset(a->p.telegram_token, 0, sizeof(a->p.telegram_token));
	memset(a->p.smtp_password, 0, sizeof(a->p.smtp_password));
	memset(a->tg_url, 0, sizeof(a->tg_url));
	free(a);
}

/* ---- cold records ------------------------------------------------------------------ */

static void text_of(const struct slob_cold_text *t, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)sizeof(t->text), t->text);
}

int slob_alert_from_cold(slob_alert_t *a, const struct slob_cold *rec)
{
	char text[512], title[96];
	switch (rec->type) {
	case SLOB_COLD_ALERT: {
		const struct slob_cold_text *t = &rec->u.text;
		int kind =
		    t->code >= 0 && t->code < SLOB_ALERT_KIND_MAX ? t->code : SLOB_ALERT_OTHER;
		text_of(t, text, sizeof(text));
		static const char *const titles[SLOB_ALERT_KIND_MAX] = {
		    [SLOB_ALERT_OTHER] = "Alert",
		    [SLOB_ALERT_START] = "System Started",
		    [SLOB_ALERT_STOP] = "System Stopped",
		    [SLOB_ALERT_CONN_LOST] = "Connection lost",
		    [SLOB_ALERT_CONN_RESTORED] = "Connection restored",
		    [SLOB_ALERT_ORDER_REJECTED] = "Order rejected",
		    [SLOB_ALERT_BREAKER_TRIPPED] = "Circuit breaker triggered",
		    [SLOB_ALERT_BREAKER_RESET] = "Circuit breaker reset",
		    [SLOB_ALERT_UNKNOWN_POSITION] = "Unknown position at broker",
		    [SLOB_ALERT_UNKNOWN_ORDER] = "Unknown order at broker",
		    [SLOB_ALERT_STORE_ERROR] = "Store error",
		    [SLOB_ALERT_STORE_CORRUPT] = "Store corruption",
		    [SLOB_ALERT_BACKUP_FAILED] = "Backup failed",
		    [SLOB_ALERT_DAILY_SUMMARY] = "Daily summary",
		    [SLOB_ALERT_CHANNEL_DOWN] = "Alert channel down",
		    [SLOB_ALERT_CHANNEL_UP] = "Alert channel restored",
		    [SLOB_ALERT_TEST] = "Test alert",
		    [SLOB_ALERT_STORE_RESTORED] = "Store restored from backup",
		    [SLOB_ALERT_STORE_WRITABLE] = "Store writable again",
		};
		slob_alert_track(a, slob_cold_alert_ref(rec));
		return slob_alert_send(a, kind, t->level, titles[kind], text);
	}
	case SLOB_COLD_BREAKER: {
		const struct slob_cold_breaker *b = &rec->u.breaker;
		if (b->tripped) {
			/* risk's reasons may already start with "Trading stopped" */
			const char *pre =
			    strncmp(b->why, "Trading stopped", 15) == 0 ? "" : "Trading stopped: ";
			snprintf(text, sizeof(text),
				 "%s%.*s (reason %u, value %lld). "
				 "No new positions until reset (slobctl reset-breaker).",
				 pre, (int)sizeof(b->why), b->why, b->reason, (long long)b->value);
			return slob_alert_send(a, SLOB_ALERT_BREAKER_TRIPPED, SLOB_LVL_CRITICAL,
					       "Circuit breaker triggered", text);
		}
		snprintf(text, sizeof(text), "Reset by %.*s: %.*s", (int)sizeof(b->who), b->who,
			 (int)sizeof(b->why), b->why);
		return slob_alert_send(a, SLOB_ALERT_BREAKER_RESET, SLOB_LVL_WARNING,
				       "Circuit breaker reset", text);
	}
	case SLOB_COLD_CONN: {
		unsigned state = slob_conn_code_state(rec->u.text.code);
		text_of(&rec->u.text, text, sizeof(text));
		snprintf(title, sizeof(title), "%.16s", rec->u.text.component);
		if (state == SLOB_CONN_UP)
			return slob_alert_send(a, SLOB_ALERT_CONN_RESTORED, SLOB_LVL_WARNING,
					       "Connection restored", text);
		if (state == SLOB_CONN_DOWN)
			return slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR,
					       "Connection lost", text);
		return 0;
	}
	case SLOB_COLD_UNKNOWN_BROKER:
		text_of(&rec->u.text, text, sizeof(text));
		return slob_alert_send(a, SLOB_ALERT_UNKNOWN_POSITION, SLOB_LVL_CRITICAL,
				       "Unknown position or order at broker", text);
	case SLOB_COLD_ORDER:
		if (rec->u.order.status != SLOB_EXEC_REJECTED)
			return 0;
		snprintf(text, sizeof(text),
			 "Order %lld (%s, orderRef %.*s) rejected: code %d %.*s",
			 (long long)rec->u.order.order_id, slob_role_name(rec->u.order.role),
			 (int)sizeof(rec->u.order.order_ref), rec->u.order.order_ref,
			 rec->u.order.code, (int)sizeof(rec->u.order.text), rec->u.order.text);
		return slob_alert_send(a, SLOB_ALERT_ORDER_REJECTED, SLOB_LVL_ERROR,
				       "Order rejected", text);
	default:
		return 0;
	}
}

void slob_alert_sink_cold(void *ctx, const struct slob_cold *rec)
{
	slob_alert_from_cold(ctx, rec);
}

void slob_alert_sink_tick(void *ctx, int64_t now_ns)
{
	(void)now_ns;
	slob_alert_poll(ctx);
}

/* ---- combined ops sink ----------------------------------------------------------------- */

void slob_ops_sink_log(void *ctx, const struct slob_cold *rec)
{
	struct slob_ops_sink *o = ctx;
	if (o->log)
		slob_log_sink_cold(o->log, rec);
	if (o->stats && o->stats->writable)
		slob_stats_status_apply_cold(o->stats, rec);
}

void slob_ops_sink_alert(void *ctx, const struct slob_cold *rec)
{
	struct slob_ops_sink *o = ctx;
	if (o->alert)
		slob_alert_from_cold(o->alert, rec);
}

void slob_ops_sink_tick(void *ctx, int64_t now_ns)
{
	struct slob_ops_sink *o = ctx;
	if (o->alert)
		slob_alert_poll(o->alert);
	/* housekeeping at most every 250 ms */
	if (o->last_beat_ns && now_ns - o->last_beat_ns < 250000000ll)
		return;
	o->last_beat_ns = now_ns;
	if (o->log)
		slob_log_sink_tick(o->log, now_ns);
	if (o->stats && o->stats->writable) {
		struct slob_alert_counters tg, em;
		struct slob_log_counters lc;
		memset(&lc, 0, sizeof(lc));
		slob_alert_counters(o->alert, SLOB_ALERT_TELEGRAM, &tg);
		slob_alert_counters(o->alert, SLOB_ALERT_EMAIL, &em);
		if (o->log)
			slob_log_counters(o->log, &lc);
		struct slob_stats_status *st = o->stats->status;
		slob_stats_status_begin(o->stats);
		st->heartbeat_ns = real_ns();
		st->alerts_sent = tg.sent + em.sent;
		st->alerts_failed = tg.failed + em.failed;
		st->alerts_dropped = tg.dropped + em.dropped;
		st->log_lines = lc.lines;
		st->log_errors = lc.lost;
		st->alerts_down = (tg.down ? 1u : 0u) | (em.down ? 2u : 0u);
		slob_stats_status_end(o->stats);
		if (o->stages && o->nstages)
			slob_stats_sample_rings(o->stats, o->stages, o->nstages);
	}
}

void slob_ops_sink_committed(void *ctx, struct sqlite3 *db)
{
	struct slob_ops_sink *o = ctx;
	if (o->alert)
		slob_alert_journal(o->alert, db);
}

void slob_ops_sinks(struct slob_ops_sink *ops, struct slob_cold_sinks *sinks)
{
	memset(sinks, 0, sizeof(*sinks));
	sinks->ctx = ops;
	sinks->log = slob_ops_sink_log;
	sinks->alert = slob_ops_sink_alert;
	sinks->tick = slob_ops_sink_tick;
	sinks->committed = slob_ops_sink_committed;
}

/* ---- daily summary -------------------------------------------------------------------- */

static int q_row(sqlite3 *db, const char *sql, const char *a, const char *b, double *out, int n,
		 char *buf, size_t len)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(buf, len, "summary query failed: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	for (int i = 0; i < n; i++)
		out[i] = rc == SQLITE_ROW ? sqlite3_column_double(st, i) : 0.0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(buf, len, "summary query failed: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	return rc == SQLITE_ROW ? 1 : 0;
}

static void money(char *b, size_t n, double v)
{
	snprintf(b, n, "%s$%.2f", v < 0 ? "-" : "", v < 0 ? -v : v);
}

int slob_alert_summary_compose(struct sqlite3 *db, int64_t day_start_ns, char *buf, size_t len)
{
	char d0[32], d1[32], day[16];
	time_t t = (time_t)(day_start_ns / 1000000000ll);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	strftime(d0, sizeof(d0), "%Y-%m-%d %H:%M:%S.000", &tm);
	t += 86400;
	gmtime_r(&t, &tm);
	strftime(d1, sizeof(d1), "%Y-%m-%d %H:%M:%S.000", &tm);
	double tr[6], su[1], ord[2], pos[1], risk[4];
	int rc;
	if ((rc = q_row(
		 db,
		 "SELECT COUNT(*), COALESCE(SUM(outcome='WIN'),0), COALESCE(SUM(outcome='LOSS'),0),"
		 " COALESCE(SUM(pnl),0), COALESCE(MAX(pnl),0), COALESCE(MIN(pnl),0) FROM "
		 "trade_history"
		 " WHERE exit_time >= ?1 AND exit_time < ?2",
		 d0, d1, tr, 6, buf, len)) < 0)
		return rc;
	if ((rc = q_row(db,
			"SELECT COUNT(*) FROM active_setups WHERE source = 'engine' AND state = "
			"'SETUP_COMPLETE'"
			" AND created_at >= ?1 AND created_at < ?2",
			d0, d1, su, 1, buf, len)) < 0)
		return rc;
	if ((rc = q_row(db,
			"SELECT COUNT(*), COALESCE(SUM(status='REJECTED'),0) FROM orders WHERE "
			"role = 'ENTRY'"
			" AND created_at >= ?1 AND created_at < ?2",
			d0, d1, ord, 2, buf, len)) < 0)
		return rc;
	if ((rc = q_row(db, "SELECT COUNT(*) FROM positions WHERE qty != 0 AND setup_id != 'NQ'",
			NULL, NULL, pos, 1, buf, len)) < 0)
		return rc;
	int have_risk = q_row(db,
			      "SELECT COALESCE(equity,0), COALESCE(daily_pnl,0), breaker_tripped,"
			      " COALESCE(open_positions,0) FROM risk_state WHERE id = 1",
			      NULL, NULL, risk, 4, buf, len);
	if (have_risk < 0)
		return have_risk;
	char pnl[32], best[32], worst[32], eq[32], dp[32];
	money(pnl, sizeof(pnl), tr[3]);
	money(best, sizeof(best), tr[4]);
	money(worst, sizeof(worst), tr[5]);
	long n = (long)tr[0];
	int w = snprintf(buf, len,
			 "Day %s (UTC)\n"
			 "Trades closed: %ld (%ld win%s, %ld loss%s, win rate %.1f%%)\n"
			 "P&L: %s  best %s  worst %s\n"
			 "Setups found: %ld  entry orders: %ld (%ld rejected)\n",
			 day, n, (long)tr[1], (long)tr[1] == 1 ? "" : "s", (long)tr[2],
			 (long)tr[2] == 1 ? "" : "es", n ? 100.0 * tr[1] / (double)n : 0.0, pnl,
			 n ? best : "-", n ? worst : "-", (long)su[0], (long)ord[0], (long)ord[1]);
	if (w < 0 || (size_t)w >= len)
		return w < 0 ? -EINVAL : (int)len - 1;
	if (have_risk > 0) {
		money(eq, sizeof(eq), risk[0]);
		money(dp, sizeof(dp), risk[1]);
		w += snprintf(buf + w, len - (size_t)w,
			      "Equity: %s  daily P&L %s  open positions %ld  breaker %s\n", eq, dp,
			      (long)risk[3], risk[2] != 0 ? "TRIPPED" : "ok");
	} else {
		w += snprintf(buf + w, len - (size_t)w, "Open positions: %ld\n", (long)pos[0]);
	}
	return w < (int)len ? w : (int)len - 1;
}
