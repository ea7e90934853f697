/* SPDX-License-Identifier: MIT */
/*
 * server.c: slob-dash's HTTP side over libmicrohttpd: routing, login,
 * cookies, security headers, static assets and JSON responses.
 *
 * Design notes (see also dash.h)
 *  1. One internal polling thread (no thread per connection): every handler
 *     runs on it, so the session/lockout tables and the store connection are
 *     single-threaded. The main thread only waits for SIGINT/SIGTERM.
 *  2. Routes: /health and /static/ are public; /login (GET form, POST
 *     password) and /logout (POST) manage the session; /metrics needs the
 *     bearer token when one is configured, else a loopback client; every other
 *     page and /api/ needs a session (pages redirect to /login, APIs get 401).
 *  3. Request bodies are capped at SLOB_DASH_BODY_MAX; a bigger one is 413.
 *     Form fields are decoded by microhttpd's POST processor as they
 *     arrive; a password longer than SLOB_DASH_PW_MAX is refused (400),
 *     never cut to length and checked.
 *     POSTs that carry an Origin header must come from this very host
 *     (a second line of defence behind SameSite=Strict).
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/slob-dash/dash.h"

#define SLOB_DASH_BODY_MAX 4096
#define SLOB_DASH_PW_MAX SLOB_DASHPW_MAX_LEN

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
			  "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
			  "form-action 'self'; base-uri 'none'";

struct req {
	struct MHD_PostProcessor *pp; /* NULL when the body is not a form */
	size_t len;		      /* body bytes received */
	bool too_big;		      /* over SLOB_DASH_BODY_MAX */
	bool bad_form;		      /* the POST processor refused the body */
	bool pw_seen, pw_too_long, pw_twice;
	size_t pwlen;
	char pw[SLOB_DASH_PW_MAX + 1];
};

static void add_common_headers(struct MHD_Response *r, const char *type, bool nocache)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	/* not no-referrer: with it, browsers send "Origin: null" on same-origin
	 * form POSTs, which origin_ok() must refuse. */
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				nocache ? "no-store" : "private, max-age=300");
}

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type,
				const void *buf, size_t len, enum MHD_ResponseMemoryMode mode,
				const char *cookie, const char *location, bool nocache)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)buf, mode);
	if (r == NULL)
		return MHD_NO;
	add_common_headers(r, type, nocache);
	if (cookie != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	if (location != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *s = json_dumps(j, SLOB_DASH_JSON_FLAGS);
	json_decref(j);
	if (s == NULL)
		return MHD_NO;
	enum MHD_Result ret = send_buf(c, status, "application/json", s, strlen(s),
				       MHD_RESPMEM_MUST_FREE, NULL, NULL, true);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg));
}

/* The login page with an optional message, HTML-escaped. */
static enum MHD_Result send_login(struct MHD_Connection *c, unsigned status, const char *msg,
				  unsigned retry_after)
{
	const struct slob_dash_asset *a = slob_dash_asset_find("/login.html");
	if (a == NULL)
		return send_error(c, 500, "login page missing from the build");
	char esc[512] = "";
	size_t k = 0;
	for (const char *p = msg ? msg : ""; *p && k + 8 < sizeof esc; p++) {
		const char *rep = NULL;
		switch (*p) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		default: esc[k++] = *p; continue;
		}
		k += (size_t)snprintf(esc + k, sizeof esc - k, "%s", rep);
	}
	esc[k] = '\0';
	const char *mark = "<!--MSG-->";
	const char *src = (const char *)a->data;
	const char *at = memmem(src, a->len, mark, strlen(mark));
	size_t head = at ? (size_t)(at - src) : a->len;
	size_t tail = at ? a->len - head - strlen(mark) : 0;
	size_t n = head + k + tail;
	char *out = malloc(n + 1);
	if (out == NULL)
		return MHD_NO;
	memcpy(out, src, head);
	memcpy(out + head, esc, k);
	if (at)
		memcpy(out + head + k, at + strlen(mark), tail);
	struct MHD_Response *r = MHD_create_response_from_buffer(n, out, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(out);
		return MHD_NO;
	}
	add_common_headers(r, "text/html; charset=utf-8", true);
	if (retry_after > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%u", retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t len, bool *loopback)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, len, "?");
	*loopback = false;
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	socklen_t sl = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	if (getnameinfo(sa, sl, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(out, len, "?");
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			*loopback = true;
		else if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			*loopback = in6->sin6_addr.s6_addr[12] == 127;
	}
}

/* POST processor callback: keeps the decoded "password" field (delivered
 * in pieces at increasing offsets), ignores every other field. */
static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *filename, const char *content_type,
				 const char *transfer_encoding, const char *data, uint64_t off,
				 size_t size)
{
	struct req *rq = cls;
	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	if (key == NULL || strcmp(key, "password") != 0)
		return MHD_YES;
	if (off == 0) {
		if (rq->pw_seen && rq->pwlen > 0)
			rq->pw_twice = true;
		rq->pw_seen = true;
		rq->pwlen = 0;
	}
	if (rq->pw_too_long || off + size > SLOB_DASH_PW_MAX) {
		rq->pw_too_long = true;
		return MHD_YES;
	}
	memcpy(rq->pw + off, data, size);
	rq->pwlen = (size_t)off + size;
	rq->pw[rq->pwlen] = '\0';
	return MHD_YES;
}

static bool origin_ok(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (origin == NULL || strcmp(origin, "null") == 0)
		return origin == NULL;
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (host == NULL)
		return false;
	const char *o = strstr(origin, "://");
	return o != NULL && strcmp(o + 3, host) == 0;
}

static void cookie_header(const struct slob_dash *d, const char *value, unsigned max_age,
			  char *out, size_t len)
{
	snprintf(out, len, "%s=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s",
		 SLOB_DASH_COOKIE, value, max_age, d->p.cookie_secure ? "; Secure" : "");
}

static enum MHD_Result do_login(struct slob_dash *d, struct MHD_Connection *c, struct req *rq)
{
	char addr[64];
	bool loop;
	client_addr(c, addr, sizeof addr, &loop);
	unsigned left = slob_dash_lockout_left(d, addr);
	if (left > 0) {
		char msg[128];
		snprintf(msg, sizeof msg, "Too many failed attempts: locked for %u more seconds.", left);
		return send_login(c, MHD_HTTP_TOO_MANY_REQUESTS, msg, left);
	}
	if (!origin_ok(c))
		return send_login(c, MHD_HTTP_FORBIDDEN, "Cross-origin login refused.", 0);
	if (rq->bad_form)
		return send_login(c, MHD_HTTP_BAD_REQUEST, "Malformed form body.", 0);
	if (rq->pw_too_long) {
		char msg[96];
		snprintf(msg, sizeof msg, "Password too long: at most %d bytes.", SLOB_DASH_PW_MAX);
		return send_login(c, MHD_HTTP_BAD_REQUEST, msg, 0);
	}
	if (rq->pw_twice)
		return send_login(c, MHD_HTTP_BAD_REQUEST, "Password given twice.", 0);
	if (!rq->pw_seen || rq->pwlen == 0 || memchr(rq->pw, 0, rq->pwlen))
		return send_login(c, MHD_HTTP_BAD_REQUEST, "Password required.", 0);
	bool ok = slob_dash_verify_password(d, rq->pw);
	sodium_memzero(rq->pw, sizeof rq->pw);
	if (!ok) {
		bool locked = slob_dash_login_result(d, addr, false);
		if (locked) {
			char msg[128];
			snprintf(msg, sizeof msg,
				 "Invalid password. Too many failed attempts: locked for %u seconds.",
				 d->p.lockout_seconds);
			return send_login(c, MHD_HTTP_TOO_MANY_REQUESTS, msg, d->p.lockout_seconds);
		}
		return send_login(c, MHD_HTTP_UNAUTHORIZED, "Invalid password.", 0);
	}
	slob_dash_login_result(d, addr, true);
	char tok[SLOB_DASH_TOKEN_BYTES * 2 + 1], cookie[256];
	if (slob_dash_session_new(d, tok, sizeof tok) < 0)
		return send_error(c, 500, "cannot create a session");
	cookie_header(d, tok, d->p.session_max, cookie, sizeof cookie);
	sodium_memzero(tok, sizeof tok);
	static const char body[] = "logged in\n";
	return send_buf(c, MHD_HTTP_SEE_OTHER, "text/plain", body, sizeof body - 1,
			MHD_RESPMEM_PERSISTENT, cookie, "/", true);
}

static enum MHD_Result do_metrics(struct slob_dash *d, struct MHD_Connection *c)
{
	if (d->p.metrics_token[0] != '\0') {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_AUTHORIZATION);
		size_t tl = strlen(d->p.metrics_token);
		if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != tl ||
		    sodium_memcmp(auth + 7, d->p.metrics_token, tl) != 0) {
			static const char msg[] = "metrics: bearer token required\n";
			return send_buf(c, MHD_HTTP_UNAUTHORIZED, "text/plain", msg, sizeof msg - 1,
					MHD_RESPMEM_PERSISTENT, NULL, NULL, true);
		}
	} else {
		char addr[64];
		bool loop;
		client_addr(c, addr, sizeof addr, &loop);
		if (!loop) {
			static const char msg[] =
				"metrics: only loopback clients (configure metrics_token)\n";
			return send_buf(c, MHD_HTTP_FORBIDDEN, "text/plain", msg, sizeof msg - 1,
					MHD_RESPMEM_PERSISTENT, NULL, NULL, true);
		}
	}
	size_t len = 0;
	char *txt = slob_dash_metrics(d, &len);
	if (txt == NULL)
		return send_error(c, 500, "out of memory");
	return send_buf(c, MHD_HTTP_OK, "text/plain; version=0.0.4", txt, len,
			MHD_RESPMEM_MUST_FREE, NULL, NULL, true);
}

static int query_int(struct MHD_Connection *c, const char *key, int def, int lo, int hi)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	if (v == NULL || *v == '\0')
		return def;
	char *end;
	long x = strtol(v, &end, 10);
	if (*end != '\0')
		return -1;
	return x < lo ? lo : x > hi ? hi : (int)x;
}

static enum MHD_Result do_api(struct slob_dash *d, struct MHD_Connection *c, const char *url)
{
	int http = 200;
	json_t *j = NULL;
	const char *name = url + 5; /* after "/api/" */
	if (strcmp(name, "status") == 0) {
		j = slob_dash_api_status(d, &http);
	} else if (strcmp(name, "positions") == 0) {
		j = slob_dash_api_positions(d, &http);
	} else if (strcmp(name, "setups") == 0) {
		j = slob_dash_api_setups(d, &http);
	} else if (strcmp(name, "breaker") == 0) {
		j = slob_dash_api_breaker(d, &http);
	} else if (strcmp(name, "events") == 0) {
		j = slob_dash_api_events(d, &http);
	} else if (strcmp(name, "stats") == 0) {
		j = slob_dash_api_stats(d, &http);
	} else if (strcmp(name, "trades") == 0) {
		int limit = query_int(c, "limit", 100, 1, 500);
		if (limit < 0)
			return send_error(c, 400, "limit: expected an integer 1..500");
		const char *before = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "before");
		j = slob_dash_api_trades(d, limit, before, &http);
	} else if (strcmp(name, "pnl") == 0 || strcmp(name, "summary") == 0) {
		size_t len = 0;
		char *body = name[0] == 'p' ? slob_dash_api_pnl(d, &len, &http)
					    : slob_dash_api_summary(d, &len, &http);
		if (body == NULL)
			return send_error(c, 500, "out of memory");
		return send_buf(c, (unsigned)http, "application/json", body, len,
				MHD_RESPMEM_MUST_FREE, NULL, NULL, true);
	} else {
		return send_error(c, MHD_HTTP_NOT_FOUND, "no such API");
	}
	if (j == NULL)
		return send_error(c, 500, "out of memory");
	return send_json(c, (unsigned)http, j);
}

static bool is_page(const char *url)
{
	return strcmp(url, "/") == 0 || strcmp(url, "/positions") == 0 ||
	       strcmp(url, "/trades") == 0 || strcmp(url, "/stats") == 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct slob_dash *d = cls;
	(void)version;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		   strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (post) {
		struct req *rq = *con_cls;
		if (rq == NULL) {
			rq = calloc(1, sizeof *rq);
			if (rq == NULL)
				return MHD_NO;
			rq->pp = MHD_create_post_processor(c, 1024, form_iter, rq);
			*con_cls = rq;
			return MHD_YES;
		}
		if (*upload_size > 0) {
			if (rq->too_big || rq->len + *upload_size > SLOB_DASH_BODY_MAX)
				rq->too_big = true;
			else if (rq->pp && MHD_post_process(rq->pp, upload, *upload_size) != MHD_YES)
				rq->bad_form = true;
			rq->len += *upload_size;
			*upload_size = 0;
			return MHD_YES;
		}
		if (rq->pp) { /* the body is complete: flushes the last field */
			if (MHD_destroy_post_processor(rq->pp) != MHD_YES)
				rq->bad_form = true;
			rq->pp = NULL;
		}
	}
	d->requests++;
	if (post && ((struct req *)*con_cls)->too_big)
		return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");

	if (strcmp(url, "/health") == 0) {
		if (!get)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only");
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return send_json(c, 200, json_pack("{s:s,s:s,s:s}", "status", "healthy", "service",
						   "slob-dashboard", "timestamp", ts));
	}
	if (strncmp(url, "/static/", 8) == 0) {
		const struct slob_dash_asset *a = slob_dash_asset_find(url);
		if (a == NULL || !get)
			return send_error(c, MHD_HTTP_NOT_FOUND, "no such file");
		return send_buf(c, 200, a->type, a->data, a->len, MHD_RESPMEM_PERSISTENT, NULL,
				NULL, false);
	}
	if (strcmp(url, "/login") == 0) {
		if (post)
			return do_login(d, c, *con_cls);
		return send_login(c, 200, "", 0);
	}
	if (strcmp(url, "/metrics") == 0)
		return do_metrics(d, c);
	if (strcmp(url, "/favicon.ico") == 0)
		return send_buf(c, MHD_HTTP_NO_CONTENT, "image/x-icon", "", 0, MHD_RESPMEM_PERSISTENT,
				NULL, NULL, false);

	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SLOB_DASH_COOKIE);
	bool authed = slob_dash_session_check(d, cookie);
	if (strcmp(url, "/logout") == 0) {
		if (!post)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only");
		if (!origin_ok(c))
			return send_error(c, MHD_HTTP_FORBIDDEN, "cross-origin request refused");
		if (authed)
			slob_dash_session_end(d, cookie);
		char hdr[160];
		cookie_header(d, "", 0, hdr, sizeof hdr);
		static const char body[] = "logged out\n";
		return send_buf(c, MHD_HTTP_SEE_OTHER, "text/plain", body, sizeof body - 1,
				MHD_RESPMEM_PERSISTENT, hdr, "/login", true);
	}
	if (strncmp(url, "/api/", 5) == 0) {
		if (!authed)
			return send_error(c, MHD_HTTP_UNAUTHORIZED, "login required");
		if (!get)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only");
		return do_api(d, c, url);
	}
	if (is_page(url)) {
		if (!authed) {
			static const char body[] = "login required\n";
			return send_buf(c, MHD_HTTP_SEE_OTHER, "text/plain", body, sizeof body - 1,
					MHD_RESPMEM_PERSISTENT, NULL, "/login", true);
		}
		const struct slob_dash_asset *a = slob_dash_asset_find("/index.html");
		if (a == NULL)
			return send_error(c, 500, "page missing from the build");
		return send_buf(c, 200, a->type, a->data, a->len, MHD_RESPMEM_PERSISTENT, NULL,
				NULL, true);
	}
	return send_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct req *rq = *con_cls;
	if (rq) {
		if (rq->pp)
			MHD_destroy_post_processor(rq->pp);
		sodium_memzero(rq->pw, sizeof rq->pw);
		free(rq);
	}
	*con_cls = NULL;
}

/* A password file replaced while we run (slobctl set-dashboard-password) is
 * re-read at the next login; one that became unreadable or unsafe (mode) makes
 * logins fail closed until it is fixed. */
static bool reload_password(struct slob_dash *d)
{
	if (d->pw_path[0] == '\0')
		return true;
	struct stat st;
	if (stat(d->pw_path, &st) != 0) {
		fprintf(stderr, "slob-dash: %s: %s; logins refused\n", d->pw_path, strerror(errno));
		return false;
	}
	int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
	if (mt == d->pw_mtime_ns && (uint64_t)st.st_ino == d->pw_ino &&
	    (uint64_t)st.st_size == d->pw_size && (unsigned)st.st_mode == d->pw_mode)
		return true;
	char hash[SLOB_DASHPW_HASH_MAX], err[512];
	if (slob_dashpw_read(d->pw_path, hash, sizeof hash, err, sizeof err) < 0) {
		fprintf(stderr, "slob-dash: %s; logins refused\n", err);
		return false;
	}
	memcpy(d->hash, hash, sizeof hash);
	d->pw_mtime_ns = mt;
	d->pw_ino = (uint64_t)st.st_ino;
	d->pw_size = (uint64_t)st.st_size;
	d->pw_mode = (unsigned)st.st_mode;
	printf("slob-dash: password file %s changed; new hash in use\n", d->pw_path);
	fflush(stdout);
	return true;
}

bool slob_dash_verify_password(struct slob_dash *d, const char *pw)
{
	if (!reload_password(d))
		return false;
	return slob_dashpw_verify(d->hash, pw, strlen(pw)) == 0;
}

int slob_dash_serve(struct slob_dash *d, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_in *in4 = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;
	if (inet_pton(AF_INET, d->p.bind, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)d->p.port);
	} else if (inet_pton(AF_INET6, d->p.bind, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)d->p.port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "bind: '%s' is not an IP address", d->p.bind);
		return -EINVAL;
	}
	/* Signals are handled by sigwait below; the server thread must not take them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *mhd = MHD_start_daemon(
		flags, (uint16_t)d->p.port, NULL, NULL, handler, d, MHD_OPTION_SOCK_ADDR, &ss,
		MHD_OPTION_NOTIFY_COMPLETED, completed, d, MHD_OPTION_CONNECTION_LIMIT, 64u,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_END);
	if (mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%u (address in use, or not permitted)",
			 d->p.bind, d->p.port);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : d->p.port;
	printf("slob-dash: listening on http://%s%s%s:%u/ (store %s, stats %s)\n",
	       strchr(d->p.bind, ':') ? "[" : "", d->p.bind, strchr(d->p.bind, ':') ? "]" : "",
	       port, d->db_path, d->stats_path);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	printf("slob-dash: signal %d, stopping\n", sig);
	MHD_stop_daemon(mhd);
	return 0;
}
