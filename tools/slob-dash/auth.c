/* SPDX-License-Identifier: MIT */
/*
 * auth.c: sessions and login lockout for slob-dash (design notes 3 and 4 in
 * dash.h). Server thread only, so plain arrays and no locks. Tokens are
 * compared in constant time; a token is never logged.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/slob-dash/dash.h"

#define NS 1000000000ll

int64_t slob_dash_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static bool session_expired(const struct slob_dash *d, const struct slob_dash_session *s,
			    int64_t now)
{
	return now - s->last_ns > (int64_t)d->p.session_ttl * NS ||
	       now - s->created_ns > (int64_t)d->p.session_max * NS;
}

int slob_dash_session_new(struct slob_dash *d, char *hex, size_t hexlen)
{
	if (hexlen < SLOB_DASH_TOKEN_BYTES * 2 + 1)
		return -ENOBUFS;
	int64_t now = slob_dash_now_ns();
	struct slob_dash_session *slot = NULL, *oldest = NULL;
	for (int i = 0; i < SLOB_DASH_MAX_SESSIONS; i++) {
		struct slob_dash_session *s = &d->sessions[i];
		if (s->used && session_expired(d, s, now))
			s->used = false; /* expired: reuse */
		if (!s->used) {
			slot = s;
			break;
		}
		if (oldest == NULL || s->last_ns < oldest->last_ns)
			oldest = s;
	}
	if (slot == NULL)
		slot = oldest; /* table full: evict the least recently used */
	randombytes_buf(slot->token, sizeof slot->token);
	slot->created_ns = slot->last_ns = now;
	slot->used = true;
	sodium_bin2hex(hex, hexlen, slot->token, sizeof slot->token);
	return 0;
}

static struct slob_dash_session *session_find(struct slob_dash *d, const char *cookie_hex)
{
	unsigned char tok[SLOB_DASH_TOKEN_BYTES];
	size_t n = 0;
	if (cookie_hex == NULL || strlen(cookie_hex) != SLOB_DASH_TOKEN_BYTES * 2)
		return NULL;
	if (sodium_hex2bin(tok, sizeof tok, cookie_hex, strlen(cookie_hex), NULL, &n, NULL) != 0 ||
	    n != sizeof tok)
		return NULL;
	int64_t now = slob_dash_now_ns();
	struct slob_dash_session *hit = NULL;
	for (int i = 0; i < SLOB_DASH_MAX_SESSIONS; i++) {
		struct slob_dash_session *s = &d->sessions[i];
		if (!s->used)
			continue;
		if (session_expired(d, s, now)) {
			sodium_memzero(s, sizeof *s);
			continue;
		}
		if (sodium_memcmp(s->token, tok, sizeof tok) == 0)
			hit = s;
	}
	return hit;
}

bool slob_dash_session_check(struct slob_dash *d, const char *cookie_hex)
{
	struct slob_dash_session *s = session_find(d, cookie_hex);
	if (s == NULL)
		return false;
	s->last_ns = slob_dash_now_ns();
	return true;
}

void slob_dash_session_end(struct slob_dash *d, const char *cookie_hex)
{
	struct slob_dash_session *s = session_find(d, cookie_hex);
	if (s != NULL)
		sodium_memzero(s, sizeof *s);
}

static struct slob_dash_client *client_get(struct slob_dash *d, const char *addr, bool create)
{
	struct slob_dash_client *lru = NULL;
	for (int i = 0; i < SLOB_DASH_MAX_CLIENTS; i++) {
		struct slob_dash_client *c = &d->clients[i];
		if (c->used && strcmp(c->addr, addr) == 0)
			return c;
		if (!c->used) {
			if (lru == NULL || lru->used)
				lru = c;
		} else if (lru == NULL || (lru->used && c->last_ns < lru->last_ns)) {
			lru = c;
		}
	}
	if (!create)
		return NULL;
	memset(lru, 0, sizeof *lru);
	snprintf(lru->addr, sizeof lru->addr, "%s", addr);
	lru->used = true;
	return lru;
}

unsigned slob_dash_lockout_left(struct slob_dash *d, const char *addr)
{
	struct slob_dash_client *c = client_get(d, addr, false);
	int64_t now = slob_dash_now_ns();
	if (c == NULL || c->locked_until_ns <= now)
		return 0;
	return (unsigned)((c->locked_until_ns - now + NS - 1) / NS);
}

bool slob_dash_login_result(struct slob_dash *d, const char *addr, bool ok)
{
	int64_t now = slob_dash_now_ns();
	if (ok) {
		struct slob_dash_client *c = client_get(d, addr, false);
		if (c != NULL)
			memset(c, 0, sizeof *c);
		d->logins_ok++;
		return false;
	}
	d->logins_failed++;
	struct slob_dash_client *c = client_get(d, addr, true);
	c->last_ns = now;
	if (++c->failures >= d->p.lockout_failures) {
		c->failures = 0;
		c->locked_until_ns = now + (int64_t)d->p.lockout_seconds * NS;
		d->lockouts++;
		return true;
	}
	return false;
}
