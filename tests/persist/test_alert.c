/* SPDX-License-Identifier: MIT */
/*
 * test_alert.c: alerts against real local servers. A small HTTP server
 * thread stands in for the Telegram Bot API (asserting path
 * /bot<token>/sendMessage, chat_id and text); a real SMTP server
 * (python3 -m aiosmtpd, Mailbox handler) receives the e-mails. Covers
 * retries with backoff, permanent failures, de-duplication, rate limiting,
 * severity filters, a dead channel reported through the other one (P2-2,
 * P2-3), polls that never block on a hung server, redaction of secrets,
 * [alert] parameters and environment variables, and the secret file check.
 * Everything binds 127.0.0.1 on ports the kernel picks.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "persist/alert.h"
#include "persist/cold.h"
#include "persist/store.h"
#include "persist/secrets.h"

/* ---- fake Bot API ---------------------------------------------------------- */

#define MAXREQ 32
struct http_srv {
	int fd;
	int port;
	pthread_t th;
	volatile int stop;
	int fail_first; /* answer 500 to the first N requests */
	int status;	/* then this status (200) */
	int hang;	/* accept and never answer */
	int nreq;
	char path[MAXREQ][256];
	char body[MAXREQ][4096];
	pthread_mutex_t mu;
};

static void *http_main(void *arg)
{
	struct http_srv *s = arg;
	while (!s->stop) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (s->hang) {
			while (!s->stop)
				usleep(10000);
			close(c);
			break;
		}
		char buf[16384];
		size_t n = 0;
		char *hdr_end = NULL;
		while (n < sizeof(buf) - 1) {
			ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			buf[n] = 0;
			hdr_end = strstr(buf, "\r\n\r\n");
			if (hdr_end) {
				char *cl = strcasestr(buf, "Content-Length:");
				size_t want = cl ? (size_t)atoi(cl + 15) : 0;
				if (n - (size_t)(hdr_end + 4 - buf) >= want)
					break;
			}
		}
		pthread_mutex_lock(&s->mu);
		int i = s->nreq < MAXREQ ? s->nreq : MAXREQ - 1;
		sscanf(buf, "POST %255s", s->path[i]);
		snprintf(s->body[i], sizeof(s->body[i]), "%s", hdr_end ? hdr_end + 4 : "");
		int status = s->nreq < s->fail_first ? 500 : s->status;
		s->nreq++;
		pthread_mutex_unlock(&s->mu);
		char resp[256];
		const char *b = status == 200 ? "{\"ok\":true}" : "{\"ok\":false}";
		int rl = snprintf(
		    resp, sizeof(resp),
		    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s",
		    status, strlen(b), b);
		if (write(c, resp, (size_t)rl) < 0) {
		}
		close(c);
	}
	return NULL;
}

static void http_start(struct http_srv *s)
{
	s->nreq = 0;
	s->stop = 0;
	pthread_mutex_init(&s->mu, NULL);
	s->status = s->status ? s->status : 200;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(s->fd, (struct sockaddr *)&a, &l);
	s->port = ntohs(a.sin_port);
	assert_int_equal(listen(s->fd, 16), 0);
	struct timeval tv = {0, 100000};
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pthread_create(&s->th, NULL, http_main, s);
}

static void http_stop(struct http_srv *s)
{
	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* URL-decodes src into dst (form encoding). */
static void urldecode(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 1 < len; src++) {
		if (*src == '%' && src[1] && src[2]) {
			char h[3] = {src[1], src[2], 0};
			dst[o++] = (char)strtol(h, NULL, 16);
			src += 2;
		} else {
			dst[o++] = *src == '+' ? ' ' : *src;
		}
	}
	dst[o] = 0;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static void tg_params(struct slob_alert_params *p, int port)
{
	slob_alert_params_default(p);
	snprintf(p->telegram_token, sizeof(p->telegram_token), "123456:SECRET-token_xyz");
	snprintf(p->telegram_chat_id, sizeof(p->telegram_chat_id), "-100777");
	snprintf(p->telegram_url, sizeof(p->telegram_url), "http://127.0.0.1:%d/", port);
	p->smtp_server[0] = 0;
	p->backoff_ms = 10;
	p->timeout_ms = 2000;
}

static char g_tmp[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("SLOB_TEST_TMP");
	snprintf(g_tmp, sizeof(g_tmp), "%s/alert-%d-XXXXXX", tmp ? tmp : "/tmp", (int)getpid());
	return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_telegram_ok(void **state)
{
	(void)state;
	struct http_srv s = {0};
	http_start(&s);
	struct slob_alert_params p;
	tg_params(&p, s.port);
	slob_alert_t *a;
	char err[256];
	assert_int_equal(slob_alert_create(&p, NULL, &a, err, sizeof(err)), 0);
	assert_int_equal(slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, "Connection lost",
					 "orders <TWS> down & retrying"),
			 1);
	assert_int_equal(slob_alert_flush(a, 5000), 0);
	struct slob_alert_counters c;
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &c);
	assert_int_equal(c.sent, 1);
	assert_int_equal(c.failed, 0);
	assert_true(c.enabled);
	slob_alert_counters(a, SLOB_ALERT_EMAIL, &c);
	assert_false(c.enabled);
	assert_int_equal(s.nreq, 1);
	assert_string_equal(s.path[0], "/bot123456:SECRET-token_xyz/sendMessage");
	char dec[4096];
	urldecode(dec, sizeof(dec), s.body[0]);
	assert_non_null(strstr(dec, "chat_id=-100777"));
	assert_non_null(strstr(dec, "parse_mode=HTML"));
	assert_non_null(strstr(dec, "<b>Connection lost</b>"));
	assert_non_null(strstr(dec, "orders &lt;TWS&gt; down &amp; retrying"));
	slob_alert_free(a);
	http_stop(&s);
}

static void test_telegram_retry_and_permanent(void **state)
{
	(void)state;
	struct http_srv s = {0};
	s.fail_first = 2;
	http_start(&s);
	struct slob_alert_params p;
	tg_params(&p, s.port);
	struct slob_log_params lp;
	slob_log_params_default(&lp);
	snprintf(lp.trading_file, sizeof(lp.trading_file), "%s/trading.log", g_tmp);
	snprintf(lp.errors_file, sizeof(lp.errors_file), "%s/errors.log", g_tmp);
	slob_log_t *log;
	char err[256];
	assert_int_equal(slob_log_create(&lp, false, &log, err, sizeof(err)), 0);
	slob_alert_t *a;
	assert_int_equal(slob_alert_create(&p, log, &a, err, sizeof(err)), 0);
	assert_int_equal(
	    slob_alert_send(a, SLOB_ALERT_ORDER_REJECTED, SLOB_LVL_ERROR, "Order rejected", "x"),
	    1);
	assert_int_equal(slob_alert_flush(a, 5000), 0);
	struct slob_alert_counters c;
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &c);
	assert_int_equal(c.sent, 1);
	assert_int_equal(c.retries, 2);
	assert_int_equal(s.nreq, 3);
	assert_false(c.down);

	/* 401: permanent, not retried */
	s.status = 401;
	assert_int_equal(
	    slob_alert_send(a, SLOB_ALERT_ORDER_REJECTED, SLOB_LVL_ERROR, "Order rejected", "y"),
	    1);
	assert_int_equal(slob_alert_flush(a, 5000), 0);
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &c);
	assert_int_equal(c.failed, 1);
	assert_int_equal(s.nreq, 4);
	assert_non_null(strstr(c.last_error, "HTTP 401"));
	assert_null(strstr(c.last_error, "SECRET"));
	slob_alert_free(a);
	slob_log_free(log);
	/* the log explains the failures but never shows the token */
	char path[512], buf[65536];
	snprintf(path, sizeof(path), "%s/trading.log", g_tmp);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	assert_non_null(strstr(buf, "telegram alert 'order_rejected' failed (attempt 1/5"));
	assert_non_null(strstr(buf, "given up after 1 attempt: HTTP 401"));
	assert_null(strstr(buf, "SECRET-token"));
	http_stop(&s);
}

/* An ALERT record's title comes from its kind, and its delivery state (sent,
 * failed, attempts, channel) lands in the alerts_sent row the cold writer
 * inserted for it (matched by ref), never staying 'queued'. */
static void test_delivery_state_journaled(void **state)
{
	(void)state;
	struct http_srv s = {0};
	s.fail_first = 2;
	http_start(&s);
	struct slob_alert_params p;
	tg_params(&p, s.port);
	slob_alert_t *a;
	char err[256], path[512];
	assert_int_equal(slob_alert_create(&p, NULL, &a, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/slob_state.db", g_tmp);
	slob_store_t *st;
	assert_int_equal(slob_store_open(path, 0, &st), 0);
	sqlite3 *db = slob_store_db(st);
	struct slob_cold rec[3];
	for (int i = 0; i < 3; i++) {
		slob_cold_text_init(&rec[i], SLOB_COLD_ALERT, SLOB_LVL_CRITICAL,
				    1700000000000000000ll + i, "store", SLOB_ALERT_STORE_ERROR,
				    i == 0 ? "store write failing (busy)" : i == 1 ? "second" : "third");
		rec[i].stage = 255;
		rec[i].seq = (uint64_t)i;
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO alerts_sent (level, kind, text, ref) VALUES ('CRITICAL', %d,"
			 " 'x', %lld)",
			 SLOB_ALERT_STORE_ERROR, (long long)slob_cold_alert_ref(&rec[i]));
		if (i < 2)
			assert_int_equal(slob_store_exec(st, sql), 0);
	}
	assert_int_equal(slob_alert_from_cold(a, &rec[0]), 1);
	assert_int_equal(slob_alert_flush(a, 5000), 0);
	assert_int_equal(slob_alert_journal(a, db), 1);
	char buf[64];
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT status || ' ' || attempts || ' ' || channel ||"
					    " (sent_at IS NOT NULL) FROM alerts_sent ORDER BY id",
					    -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(q, 0));
	assert_string_equal(buf, "sent 3 telegram1");
	sqlite3_reset(q);
	char dec[4096];
	urldecode(dec, sizeof(dec), s.body[2]);
	assert_non_null(strstr(dec, "<b>Store error</b>"));
	/* permanent failure: failed after 1 attempt */
	s.status = 401;
	assert_int_equal(slob_alert_from_cold(a, &rec[1]), 1);
	assert_int_equal(slob_alert_flush(a, 5000), 0);
	assert_int_equal(slob_alert_journal(a, db), 1);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(q, 0));
	assert_string_equal(buf, "failed 1 telegram0");
	sqlite3_finalize(q);
	/* a state whose row is not committed yet is kept for a later pass */
	s.status = 200;
	assert_int_equal(slob_alert_from_cold(a, &rec[2]), 1);
	assert_int_equal(slob_alert_flush(a, 5000), 0);
	assert_int_equal(slob_alert_journal(a, db), 0);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO alerts_sent (level, kind, text, ref) VALUES ('CRITICAL', 10, 'y',"
		 " %lld)",
		 (long long)slob_cold_alert_ref(&rec[2]));
	assert_int_equal(slob_store_exec(st, sql), 0);
	assert_int_equal(slob_alert_journal(a, db), 1);
	assert_int_equal(slob_store_query_i64(st, "SELECT count(*) FROM alerts_sent WHERE"
						  " status='queued'"),
			 0);
	slob_alert_free(a);
	slob_store_close(st);
	http_stop(&s);
}

static void test_filters(void **state)
{
	(void)state;
	struct http_srv s = {0};
	http_start(&s);
	struct slob_alert_params p;
	tg_params(&p, s.port);
	p.rate_per_min = 3;
	p.telegram_level = SLOB_LVL_WARNING;
	slob_alert_t *a;
	char err[256];
	assert_int_equal(slob_alert_create(&p, NULL, &a, err, sizeof(err)), 0);
	/* below the channel's minimum severity */
	assert_int_equal(
	    slob_alert_send(a, SLOB_ALERT_START, SLOB_LVL_INFO, "System Started", "hi"), 0);
	/* duplicates */
	for (int i = 0; i < 5; i++)
		slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, "Connection lost", "same");
	/* rate: 3 per minute, the first dup already took one token */
	int queued = 0;
	for (int i = 0; i < 5; i++) {
		char t[16];
		snprintf(t, sizeof(t), "n%d", i);
		queued += slob_alert_send(a, SLOB_ALERT_ORDER_REJECTED, SLOB_LVL_ERROR,
					  "Order rejected", t);
	}
	assert_int_equal(queued, 2);
	/* CRITICAL bypasses the rate limit */
	assert_int_equal(
	    slob_alert_send(a, SLOB_ALERT_BREAKER_TRIPPED, SLOB_LVL_CRITICAL, "Breaker", "dd"), 1);
	struct slob_alert_counters c;
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &c);
	assert_int_equal(c.suppressed_level, 1);
	assert_int_equal(c.suppressed_dup, 4);
	assert_int_equal(c.suppressed_rate, 3);
	assert_int_equal(c.queued, 4);
	assert_int_equal(slob_alert_flush(a, 5000), 0);
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &c);
	assert_int_equal(c.sent, 4);
	assert_int_equal(s.nreq, 4);
	/* in order */
	char dec[4096];
	urldecode(dec, sizeof(dec), s.body[3]);
	assert_non_null(strstr(dec, "<b>Breaker</b>"));
	slob_alert_free(a);
	http_stop(&s);
}

/* A hung server: sends and polls return at once; trading would never wait. */
static void test_never_blocks(void **state)
{
	(void)state;
	struct http_srv s = {0};
	s.hang = 1;
	http_start(&s);
	struct slob_alert_params p;
	tg_params(&p, s.port);
	p.timeout_ms = 300;
	p.max_tries = 2;
	p.down_after = 2;
	slob_alert_t *a;
	char err[256];
	assert_int_equal(slob_alert_create(&p, NULL, &a, err, sizeof(err)), 0);
	struct timespec t0, t1;
	int64_t worst = 0;
	int64_t deadline_ms = 3000;
	slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, "Connection lost", "x");
	for (int64_t waited = 0; waited < deadline_ms && slob_alert_pending(a); waited += 5) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		slob_alert_poll(a);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		int64_t d = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
		if (d > worst)
			worst = d;
		usleep(5000);
	}
	assert_int_equal(slob_alert_pending(a), 0);
	struct slob_alert_counters c;
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &c);
	assert_int_equal(c.failed, 1);
	assert_true(c.down);
	assert_non_null(strstr(c.last_error, "timed out"));
	/* 50 ms would be a blocking call (the server never answers for 300 ms) */
	print_message("worst poll: %lld us\n", (long long)(worst / 1000));
	assert_true(worst < 50 * 1000000ll);
	slob_alert_free(a);
	http_stop(&s);
}

/* ---- SMTP (aiosmtpd) ------------------------------------------------------------------ */

static pid_t g_smtp_pid;

static int smtp_start(const char *maildir, int *port)
{
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char chk[128];
	snprintf(chk, sizeof(chk), "%s -c 'import aiosmtpd' 2>/dev/null", py);
	if (system(chk) != 0)
		return -1;
	*port = free_port();
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", *port);
	pid_t pid = fork();
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 1);
		dup2(dn, 2);
		execlp(py, py, "-m", "aiosmtpd", "-n", "-l", listen, "-c",
		       "aiosmtpd.handlers.Mailbox", maildir, (char *)NULL);
		_exit(127);
	}
	g_smtp_pid = pid;
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)*port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return 0;
		usleep(50000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static void smtp_stop(void)
{
	if (g_smtp_pid > 0) {
		kill(g_smtp_pid, SIGTERM);
		waitpid(g_smtp_pid, NULL, 0);
		g_smtp_pid = 0;
	}
}

/* Concatenates every mail in maildir/new into buf; returns the count. */
static int read_mails(const char *maildir, char *buf, size_t len)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	DIR *d = opendir(dir);
	int n = 0;
	size_t o = 0;
	buf[0] = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		o += fread(buf + o, 1, len - o - 1, f);
		buf[o] = 0;
		fclose(f);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void test_email_and_channel_down(void **state)
{
	(void)state;
	char maildir[512];
	snprintf(maildir, sizeof(maildir), "%s/mail", g_tmp);
	int port = 0;
	if (smtp_start(maildir, &port) < 0) {
		print_message("aiosmtpd not available: skipping SMTP test\n");
		skip();
	}
	struct slob_alert_params p;
	tg_params(&p, free_port()); /* nobody listens there: telegram fails fast */
	p.max_tries = 1;
	p.down_after = 2;
	snprintf(p.smtp_server, sizeof(p.smtp_server), "127.0.0.1");
	p.smtp_port = port;
	snprintf(p.smtp_tls, sizeof(p.smtp_tls), "none");
	snprintf(p.email_from, sizeof(p.email_from), "slob@example.test");
	snprintf(p.email_to, sizeof(p.email_to), "ops1@example.test, ops2@example.test");
	snprintf(p.host_tag, sizeof(p.host_tag), "test-host");
	slob_alert_t *a;
	char err[256];
	assert_int_equal(slob_alert_create(&p, NULL, &a, err, sizeof(err)), 0);
	/* INFO: telegram only (fails); WARNING+: both */
	assert_int_equal(
	    slob_alert_send(a, SLOB_ALERT_START, SLOB_LVL_INFO, "System Started", "acct DU1"), 1);
	assert_int_equal(slob_alert_send(a, SLOB_ALERT_BREAKER_TRIPPED, SLOB_LVL_CRITICAL,
					 "Circuit breaker triggered", "drawdown 5.1%\nline two"),
			 2);
	assert_int_equal(slob_alert_flush(a, 10000), 0);
	struct slob_alert_counters tg, em;
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &tg);
	slob_alert_counters(a, SLOB_ALERT_EMAIL, &em);
	assert_int_equal(tg.failed, 2);
	assert_true(tg.down);
	assert_int_equal(em.sent, 2); /* the breaker + "channel down" */
	assert_int_equal(em.failed, 0);
	char buf[65536];
	assert_int_equal(read_mails(maildir, buf, sizeof(buf)), 2);
	assert_non_null(strstr(buf, "Subject: [SLOB Bot] CRITICAL: Circuit breaker triggered"));
	assert_non_null(strstr(buf, "drawdown 5.1%"));
	assert_non_null(strstr(buf, "line two"));
	assert_non_null(strstr(buf, "To: ops1@example.test, ops2@example.test"));
	assert_non_null(strstr(buf, "Subject: [SLOB Bot] ERROR: Alert channel down"));
	assert_non_null(strstr(buf, "The telegram alert channel is failing"));
	assert_non_null(strstr(buf, "Host: test-host"));
	assert_null(strstr(buf, "SECRET"));
	slob_alert_free(a);

	/* cold records reach the channels through the sink */
	struct slob_alert_params p2 = p;
	p2.telegram_token[0] = 0;
	assert_int_equal(slob_alert_create(&p2, NULL, &a, err, sizeof(err)), 0);
	struct slob_cold rec;
	slob_cold_text_init(&rec, SLOB_COLD_ALERT, SLOB_LVL_ERROR, 0, "store",
			    SLOB_ALERT_BACKUP_FAILED,
			    "backup to data/backups failed: No space left on device");
	slob_alert_sink_cold(a, &rec);
	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_BAR; /* not an alert */
	slob_alert_sink_cold(a, &rec);
	for (int i = 0; i < 400 && slob_alert_pending(a); i++) {
		slob_alert_sink_tick(a, 0);
		usleep(10000);
	}
	assert_int_equal(slob_alert_pending(a), 0);
	slob_alert_counters(a, SLOB_ALERT_EMAIL, &em);
	assert_int_equal(em.sent, 1);
	assert_int_equal(read_mails(maildir, buf, sizeof(buf)), 3);
	assert_non_null(strstr(buf, "Subject: [SLOB Bot] ERROR: Backup failed"));
	slob_alert_free(a);
	smtp_stop();
}

/* De-duplication keys on (kind, title, text) as separate fields: moving a
 * byte from the end of the title to the start of the text is another alert. */
static void test_dedup_fields(void **state)
{
	(void)state;
	struct slob_alert_params p;
	tg_params(&p, free_port());
	p.rate_per_min = 1000;
	slob_alert_t *a;
	char err[256];
	assert_int_equal(slob_alert_create(&p, NULL, &a, err, sizeof(err)), 0);
	assert_int_equal(slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, "x\xff", "Y"), 1);
	assert_int_equal(slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, "x", "\xffY"), 1);
	assert_int_equal(slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, "", "Y"), 1);
	assert_int_equal(slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, NULL, "Y"), 1);
	assert_int_equal(slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_ERROR, "x", "\xffY"), 0);
	struct slob_alert_counters c;
	slob_alert_counters(a, SLOB_ALERT_TELEGRAM, &c);
	assert_int_equal(c.suppressed_dup, 1);
	assert_int_equal(c.queued, 4);
	slob_alert_free(a);
}

/* RFC 2047 subjects: ASCII unchanged; anything else as encoded-words of at
 * most 75 characters that each decode to whole UTF-8 characters and, put
 * back together, to the original. */
static void test_mime_subject(void **state)
{
	(void)state;
	char out[2048];
	assert_int_equal(slob_alert_mime_subject(out, sizeof(out), "[SLOB Bot] INFO: Test"), 21);
	assert_string_equal(out, "[SLOB Bot] INFO: Test");
	char subj[512] = "[SLOB B\xC3\xB8t] CRITICAL: ";
	for (int i = 0; i < 60; i++)
		strcat(subj, i % 2 ? "\xE2\x9A\xA1" : "\xC3\xA9"); /* multi-byte, odd widths */
	assert_true(slob_alert_mime_subject(out, sizeof(out), subj) > 0);
	char back[512] = "";
	size_t bl = 0;
	int words = 0;
	for (char *w = strstr(out, "=?UTF-8?B?"); w; w = strstr(w, "=?UTF-8?B?")) {
		char *end = strstr(w + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - w <= 75);
		unsigned char bin[64];
		size_t n = 0;
		assert_int_equal(sodium_base642bin(bin, sizeof(bin), w + 10, (size_t)(end - w - 10),
						   NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL),
				 0);
		assert_true((bin[0] & 0xc0) != 0x80); /* starts on a character */
		memcpy(back + bl, bin, n);
		bl += n;
		words++;
		w = end + 2;
		assert_true(*w == 0 || !strncmp(w, "\r\n =?", 5)); /* folded */
	}
	back[bl] = 0;
	assert_true(words > 2);
	assert_string_equal(back, subj);
	for (const char *c = out; *c; c++)
		assert_true((unsigned char)*c < 0x80);
	assert_int_equal(slob_alert_mime_subject(out, 20, subj), -1);
}

static void test_params_env(void **state)
{
	(void)state;
	struct slob_alert_params p;
	char err[256];
	slob_alert_params_default(&p);
	setenv("TELEGRAM_BOT_TOKEN", "999:envtoken", 1);
	setenv("TELEGRAM_CHAT_ID", "55", 1);
	setenv("SMTP_SERVER", "mail.example.test", 1);
	setenv("SMTP_PORT", "2525", 1);
	setenv("SENDER_EMAIL", "bot@example.test", 1);
	setenv("SENDER_PASSWORD", "pw-from-env", 1);
	setenv("ALERT_EMAILS", "a@example.test,b@example.test", 1);
	snprintf(p.telegram_chat_id, sizeof(p.telegram_chat_id), "config-wins");
	slob_alert_params_from_env(&p);
	assert_string_equal(p.telegram_token, "999:envtoken");
	assert_string_equal(p.telegram_chat_id, "config-wins");
	assert_string_equal(p.smtp_server, "mail.example.test");
	assert_int_equal(p.smtp_port, 2525);
	assert_string_equal(p.email_from, "bot@example.test");
	assert_string_equal(p.smtp_password, "pw-from-env");
	assert_string_equal(p.email_to, "a@example.test,b@example.test");
	assert_int_equal(slob_alert_params_validate(&p, err, sizeof(err)), 0);

	assert_int_equal(slob_alert_param_set(&p, "smtp_port", "70000", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "smtp_port"));
	assert_non_null(strstr(err, "1..65535"));
	assert_int_equal(slob_alert_param_set(&p, "smtp_tls", "maybe", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "starttls|ssl|none"));
	assert_int_equal(slob_alert_param_set(&p, "email_level", "error", err, sizeof(err)), 0);
	assert_int_equal(p.email_level, SLOB_LVL_ERROR);
	assert_int_equal(slob_alert_param_set(&p, "nope", "1", err, sizeof(err)), -ENOENT);
	char longtok[400];
	memset(longtok, 'k', sizeof(longtok) - 1);
	longtok[sizeof(longtok) - 1] = 0;
	assert_int_equal(slob_alert_param_set(&p, "telegram_token", longtok, err, sizeof(err)),
			 -EINVAL);
	assert_null(strstr(err, "kkkk")); /* secrets are never echoed */
	p.telegram_chat_id[0] = 0;
	assert_int_equal(slob_alert_params_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "TELEGRAM_CHAT_ID"));
	unsetenv("TELEGRAM_BOT_TOKEN");
	unsetenv("SENDER_PASSWORD");
}

static void test_secret_file(void **state)
{
	(void)state;
	char path[512], warn[512];
	snprintf(path, sizeof(path), "%s/slob.ini", g_tmp);
	FILE *f = fopen(path, "w");
	fputs("[alert]\ntelegram_token=1:x\n", f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(slob_secret_file_check(path, warn, sizeof(warn)), 1);
	assert_non_null(strstr(warn, "chmod 600"));
	assert_non_null(strstr(warn, "0644"));
	chmod(path, 0600);
	assert_int_equal(slob_secret_file_check(path, warn, sizeof(warn)), 0);
	snprintf(path, sizeof(path), "%s/missing.ini", g_tmp);
	assert_int_equal(slob_secret_file_check(path, warn, sizeof(warn)), -ENOENT);
	assert_non_null(strstr(warn, "missing.ini"));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_telegram_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_telegram_retry_and_permanent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delivery_state_journaled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_email_and_channel_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mime_subject, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dedup_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_params_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	smtp_stop();
	return rc;
}
