/* SPDX-License-Identifier: MIT */
/*
 * params.c: slob-dash's parameters (INI section [dash], environment, command
 * line) with the house param_set/validate contract, so a bad value is always
 * reported with its key and the allowed range.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/config.h"
#include "tools/slob-dash/dash.h"

void slob_dash_params_default(struct slob_dash_params *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->bind, sizeof p->bind, "127.0.0.1");
	p->port = 5000;
	snprintf(p->data_dir, sizeof p->data_dir, "data");
	p->session_ttl = 900;
	p->session_max = 43200;
	p->lockout_failures = 5;
	p->lockout_seconds = 300;
	p->account_size = 50000.0;
}

static int set_str(char *dst, size_t cap, const char *key, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n >= cap) {
		snprintf(err, errlen, "%s: value too long (%zu bytes, at most %zu)", key, n, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

int slob_dash_param_set(struct slob_dash_params *p, const char *key, const char *v, char *err,
			size_t errlen)
{
	long long ll;
	int rc;
	if (strcmp(key, "bind") == 0) {
		unsigned char buf[16];
		if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1) {
			snprintf(err, errlen, "bind: '%s' is not an IPv4 or IPv6 address", v);
			return -EINVAL;
		}
		return set_str(p->bind, sizeof p->bind, key, v, err, errlen);
	}
	if (strcmp(key, "port") == 0) {
		if ((rc = slob_parse_int(key, v, 0, 65535, &ll, err, errlen)) < 0)
			return rc;
		p->port = (unsigned)ll;
		return 0;
	}
	if (strcmp(key, "data_dir") == 0)
		return set_str(p->data_dir, sizeof p->data_dir, key, v, err, errlen);
	if (strcmp(key, "db") == 0)
		return set_str(p->db, sizeof p->db, key, v, err, errlen);
	if (strcmp(key, "stats_file") == 0)
		return set_str(p->stats_file, sizeof p->stats_file, key, v, err, errlen);
	if (strcmp(key, "password_file") == 0)
		return set_str(p->password_file, sizeof p->password_file, key, v, err, errlen);
	if (strcmp(key, "password_hash") == 0) {
		if (v[0] != '\0' && (rc = slob_dashpw_check_hash(v, err, errlen)) < 0)
			return rc;
		return set_str(p->password_hash, sizeof p->password_hash, key, v, err, errlen);
	}
	if (strcmp(key, "metrics_token") == 0) {
		if (v[0] != '\0' && strlen(v) < 16) {
			snprintf(err, errlen, "metrics_token: at least 16 characters (or empty)");
			return -EINVAL;
		}
		return set_str(p->metrics_token, sizeof p->metrics_token, key, v, err, errlen);
	}
	if (strcmp(key, "session_ttl") == 0) {
		if ((rc = slob_parse_int(key, v, 1, 86400, &ll, err, errlen)) < 0)
			return rc;
		p->session_ttl = (unsigned)ll;
		return 0;
	}
	if (strcmp(key, "session_max") == 0) {
		if ((rc = slob_parse_int(key, v, 1, 7 * 86400, &ll, err, errlen)) < 0)
			return rc;
		p->session_max = (unsigned)ll;
		return 0;
	}
	if (strcmp(key, "lockout_failures") == 0) {
		if ((rc = slob_parse_int(key, v, 1, 100, &ll, err, errlen)) < 0)
			return rc;
		p->lockout_failures = (unsigned)ll;
		return 0;
	}
	if (strcmp(key, "lockout_seconds") == 0) {
		if ((rc = slob_parse_int(key, v, 1, 86400, &ll, err, errlen)) < 0)
			return rc;
		p->lockout_seconds = (unsigned)ll;
		return 0;
	}
	if (strcmp(key, "cookie_secure") == 0)
		return slob_parse_bool(key, v, &p->cookie_secure, err, errlen);
	if (strcmp(key, "account_size") == 0)
		return slob_parse_double(key, v, 1.0, 1e12, &p->account_size, err, errlen);
	snprintf(err, errlen, "unknown key '%s' (known: bind, port, data_dir, db, stats_file, "
		 "password_file, password_hash, metrics_token, session_ttl, session_max, "
		 "lockout_failures, "
		 "lockout_seconds, cookie_secure, account_size)", key);
	return -ENOENT;
}

int slob_dash_params_validate(const struct slob_dash_params *p, char *err, size_t errlen)
{
	if (p->data_dir[0] == '\0') {
		snprintf(err, errlen, "data_dir: must not be empty");
		return -EINVAL;
	}
	if (p->session_ttl > p->session_max) {
		snprintf(err, errlen, "session_ttl (%u s) must not exceed session_max (%u s)",
			 p->session_ttl, p->session_max);
		return -EINVAL;
	}
	if (p->password_hash[0] != '\0')
		return slob_dashpw_check_hash(p->password_hash, err, errlen);
	return 0;
}
