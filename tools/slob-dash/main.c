/* SPDX-License-Identifier: MIT */
/*
 * main.c: slob-dash, the dashboard process (docs/DASHBOARD.md). Reads the
 * store and the stats file, never writes them; trading does not depend on it.
 *
 *   slob-dash [--config FILE] [--data-dir DIR] [--db PATH] [--stats PATH]
 *             [--password-file PATH] [--bind ADDR] [--port N] [--set key=value]...
 *   slob-dash hash-password            (password on stdin -> hash on stdout)
 *   slob-dash set-password FILE        (password on stdin -> FILE, mode 0600)
 *
 * Precedence: defaults < config file ([dash], plus [store] data_dir/file and
 * [stats] file, the engine's own keys, so one slob.ini serves both) < environment
 * (DASHBOARD_PORT, DASHBOARD_BIND, DASHBOARD_PASSWORD_HASH, DASHBOARD_HTTPS,
 * DASHBOARD_METRICS_TOKEN, STATE_DB_PATH) < command line.
 */
#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/slob-dash/dash.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: slob-dash [--config FILE] [--data-dir DIR] [--db PATH] [--stats PATH]\n"
		"                 [--password-file PATH] [--bind ADDR] [--port N] [--set key=value]...\n"
		"       slob-dash hash-password      read a password on stdin, print its hash\n"
		"       slob-dash set-password FILE  read a password on stdin, write FILE (0600)\n"
		"keys for --set and [dash]: bind port data_dir db stats_file password_file\n"
		"  password_hash metrics_token session_ttl session_max lockout_failures\n"
		"  lockout_seconds cookie_secure account_size\n"
		);
}

struct ini_ctx {
	struct slob_dash_params *p;
	const char *path;
	char cfgdir[PATH_MAX];
	char err[512];
	int failed;
	int data_dir_set;
};

static int dash_ini_handler(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *x = user;
	char msg[384] = "";
	const char *k = NULL;
	char resolved[PATH_MAX];
	if (strcmp(section, "dash") == 0) {
		k = key;
	} else if (strcmp(section, "store") == 0) {
		/* The engine's [store] and [stats] sections say where the files live. */
		if (strcmp(key, "data_dir") == 0)
			k = "data_dir";
		else if (strcmp(key, "file") == 0)
			k = "db";
	} else if (strcmp(section, "stats") == 0 && strcmp(key, "file") == 0) {
		k = "stats_file";
	}
	if (k == NULL)
		return 1; /* other sections and keys belong to the engine */
	if (strcmp(k, "data_dir") == 0) {
		if (value[0] == '\0')
			return 1; /* empty = <config dir>/data, applied in load_config */
		x->data_dir_set = 1;
		/* Relative data_dir is relative to the config file (as for slobd). */
		if (value[0] != '/') {
			if (snprintf(resolved, sizeof resolved, "%s/%s", x->cfgdir, value) >=
			    (int)sizeof resolved) {
				snprintf(x->err, sizeof x->err, "[%s] %s: path too long", section, key);
				x->failed = 1;
				return 0;
			}
			value = resolved;
		}
	}
	if (slob_dash_param_set(x->p, k, value, msg, sizeof msg) < 0) {
		snprintf(x->err, sizeof x->err, "[%s] %s: %s", section, key, msg);
		x->failed = 1;
		return 0;
	}
	return 1;
}

static int load_config(struct slob_dash_params *p, const char *path, char *err, size_t errlen)
{
	struct ini_ctx x = {.p = p, .path = path};
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(x.cfgdir, sizeof x.cfgdir, ".");
	else
		snprintf(x.cfgdir, sizeof x.cfgdir, "%.*s", (int)(slash - path), path);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open config: %s", path, strerror(e));
		return -e;
	}
	int rc = ini_parse_file(f, dash_ini_handler, &x);
	fclose(f);
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: %.400s", path, rc,
			 x.failed ? x.err : "syntax error (expected [section] or key = value)");
		return -EINVAL;
	}
	if (!x.data_dir_set) {
		/* As slobd: with a config file, the data directory is <config dir>/data. */
		char dd[PATH_MAX];
		if (snprintf(dd, sizeof dd, "%s/data", x.cfgdir) >= (int)sizeof dd ||
		    slob_dash_param_set(p, "data_dir", dd, err, errlen) < 0) {
			snprintf(err, errlen, "%s: data directory path too long", path);
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

static int apply_env(struct slob_dash_params *p, char *err, size_t errlen)
{
	static const struct {
		const char *env, *key;
	} map[] = {
		{"DASHBOARD_PORT", "port"},
		{"DASHBOARD_BIND", "bind"},
		{"DASHBOARD_PASSWORD_HASH", "password_hash"},
		{"DASHBOARD_HTTPS", "cookie_secure"},
		{"DASHBOARD_METRICS_TOKEN", "metrics_token"},
		{"STATE_DB_PATH", "db"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		const char *v = getenv(map[i].env);
		if (v == NULL || v[0] == '\0')
			continue;
		char msg[384];
		if (slob_dash_param_set(p, map[i].key, v, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "environment %s: %s", map[i].env, msg);
			return -EINVAL;
		}
	}
	return 0;
}

static int read_stdin_password(char *pw, size_t len)
{
	if (fgets(pw, (int)len, stdin) == NULL)
		return -EIO;
	pw[strcspn(pw, "\r\n")] = '\0';
	return 0;
}

static int cmd_hash(int argc, char **argv)
{
	char pw[SLOB_DASHPW_MAX_LEN + 2], hash[SLOB_DASHPW_HASH_MAX], err[256];
	if (read_stdin_password(pw, sizeof pw) < 0) {
		fprintf(stderr, "slob-dash: no password on stdin\n");
		return 2;
	}
	int rc = argc > 2 ? slob_dashpw_write(argv[2], pw, err, sizeof err)
			  : slob_dashpw_hash(pw, hash, err, sizeof err);
	sodium_memzero(pw, sizeof pw);
	if (rc < 0) {
		fprintf(stderr, "slob-dash: %s\n", err);
		return 1;
	}
	if (argc > 2)
		printf("slob-dash: wrote %s (mode 0600)\n", argv[2]);
	else
		printf("%s\n", hash);
	return 0;
}

static void join(char *out, size_t len, const char *dir, const char *name)
{
	int n = name[0] == '/' ? snprintf(out, len, "%s", name)
			       : snprintf(out, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0'; /* too long: an empty path fails loudly at open */
}

int main(int argc, char **argv)
{
	static struct slob_dash d; /* large (paths, tables): not on the stack */
	char err[512];
	if (sodium_init() < 0) {
		fprintf(stderr, "slob-dash: libsodium initialisation failed\n");
		return 1;
	}
	if (argc >= 2 && strcmp(argv[1], "hash-password") == 0)
		return cmd_hash(1, argv);
	if (argc >= 2 && strcmp(argv[1], "set-password") == 0) {
		if (argc != 3) {
			usage(stderr);
			return 2;
		}
		return cmd_hash(argc, argv);
	}
	struct slob_dash_params *p = &d.p;
	slob_dash_params_default(p);
	/* Pass 1: the config file, so env and options override it. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			if (load_config(p, argv[i + 1], err, sizeof err) < 0) {
				fprintf(stderr, "slob-dash: %s\n", err);
				return 2;
			}
		}
	}
	if (apply_env(p, err, sizeof err) < 0) {
		fprintf(stderr, "slob-dash: %s\n", err);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		static const struct {
			const char *opt, *key;
		} opts[] = {
			{"--data-dir", "data_dir"}, {"--db", "db"}, {"--stats", "stats_file"},
			{"--password-file", "password_file"}, {"--bind", "bind"}, {"--port", "port"},
		};
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "slob-dash: %s: unknown option or missing value\n", a);
			usage(stderr);
			return 2;
		}
		const char *v = argv[++i];
		if (strcmp(a, "--config") == 0)
			continue;
		const char *key = NULL;
		char kbuf[64];
		for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (strcmp(a, opts[k].opt) == 0)
				key = opts[k].key;
		if (strcmp(a, "--set") == 0) {
			const char *eq = strchr(v, '=');
			if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof kbuf) {
				fprintf(stderr, "slob-dash: --set '%s': expected key=value\n", v);
				return 2;
			}
			snprintf(kbuf, sizeof kbuf, "%.*s", (int)(eq - v), v);
			key = kbuf;
			v = eq + 1;
		}
		if (key == NULL) {
			fprintf(stderr, "slob-dash: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
		if (slob_dash_param_set(p, key, v, err, sizeof err) < 0) {
			fprintf(stderr, "slob-dash: %s: %s\n", a, err);
			return 2;
		}
	}
	if (getenv("DASHBOARD_PASSWORD") != NULL && p->password_hash[0] == '\0')
		fprintf(stderr, "slob-dash: DASHBOARD_PASSWORD (plain text) is ignored; "
				"only a hash is accepted\n");
	if (slob_dash_params_validate(p, err, sizeof err) < 0) {
		fprintf(stderr, "slob-dash: %s\n", err);
		return 2;
	}
	join(d.db_path, sizeof d.db_path, p->data_dir, p->db[0] ? p->db : "slob_state.db");
	join(d.stats_path, sizeof d.stats_path, p->data_dir,
	     p->stats_file[0] ? p->stats_file : "slob.stats");
	char pwfile[PATH_MAX];
	join(pwfile, sizeof pwfile, p->data_dir,
	     p->password_file[0] ? p->password_file : SLOB_DASHPW_DEFAULT_NAME);
	if (p->password_hash[0] != '\0') {
		snprintf(d.hash, sizeof d.hash, "%s", p->password_hash);
	} else {
		int rc = slob_dashpw_read(pwfile, d.hash, sizeof d.hash, err, sizeof err);
		if (rc == -ENOENT) {
			fprintf(stderr,
				"slob-dash: no dashboard password is set (%s does not exist) and there "
				"is no default password.\n"
				"Run `slobctl set-dashboard-password` (or `slob-dash set-password %s`) "
				"first, or set DASHBOARD_PASSWORD_HASH.\n",
				pwfile, pwfile);
			return 3;
		}
		if (rc < 0) {
			fprintf(stderr, "slob-dash: %s\n", err);
			return 3;
		}
		struct stat st;
		if (stat(pwfile, &st) == 0) {
			snprintf(d.pw_path, sizeof d.pw_path, "%s", pwfile);
			d.pw_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
			d.pw_ino = (uint64_t)st.st_ino;
			d.pw_size = (uint64_t)st.st_size;
			d.pw_mode = (unsigned)st.st_mode;
		}
	}
	d.started_ns = slob_dash_now_ns();
	long long ntrades = 0;
	double warm_ms = 0;
	slob_dash_store_ensure(&d);
	if (slob_dash_agg_start(&d, &ntrades, &warm_ms) == 0)
		printf("slob-dash: store %s: %lld trades aggregated in %.1f ms\n", d.db_path,
		       ntrades, warm_ms);
	else
		printf("slob-dash: store %s not readable yet (%s); retrying on each request\n",
		       d.db_path, d.store_err);
	fflush(stdout);
	int rc = slob_dash_serve(&d, err, sizeof err);
	slob_dash_api_close(&d);
	sodium_memzero(d.hash, sizeof d.hash);
	if (rc < 0) {
		fprintf(stderr, "slob-dash: %s\n", err);
		return 1;
	}
	return 0;
}
