/* SPDX-License-Identifier: MIT */
/*
 * main.c: slobctl, the operator CLI. Parses the common options, resolves
 * where the data directory, store, stats file and logs are (command line >
 * config file [data] section > defaults), and dispatches to a command.
 * Everything an operator did by hand in the incident guide (sqlite3 inserts,
 * monitor.sh, backup/rollback scripts) is a validated command here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "persist/store.h"
#include "tools/slobctl/slobctl.h"

static const char *g_cmd = "";
static bool g_json;

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: slobctl [--data-dir DIR] [--config FILE] [--json] <command> [args]\n"
	    "\n"
	    "engine state (stats file, store):\n"
	    "  status                          engine up, connections, account, positions, "
	    "breaker,\n"
	    "                                  ring fill, latency p50/p99 (exit 3 if not running)\n"
	    "  monitor [--watch] [--interval S] [--count N]\n"
	    "                                  refreshing view (monitor.sh --watch), default every "
	    "30 s\n"
	    "  trades [--since T] [--until T] [--limit N] [--csv]\n"
	    "                                  trade_history; T: 7d, 24h, 1y, today, YYYY-MM-DD[ "
	    "HH:MM]\n"
	    "operator actions:\n"
	    "  add-position --entry P --sl P --tp P [--qty N] [--direction LONG|SHORT] [--id ID]\n"
	    "                                  record a position slobd does not know (guide "
	    "P0-2/P1-4)\n"
	    "  reset-breaker --reason TEXT [--who NAME] [--wait S]\n"
	    "  kill-switch on|off [--reason TEXT] [--who NAME] [--wait S]\n"
	    "  set-dashboard-password [--file PATH] [--password-stdin]\n"
	    "  alert-test [--channel telegram|email|all] [--text TEXT] [--title TITLE]\n"
	    "                                  send a test alert now (guide P2-2, P2-3)\n"
	    "  daily-summary [--date D] [--send]\n"
	    "                                  the day's trades, P&L, setups, orders; --send "
	    "alerts it\n"
	    "store maintenance:\n"
	    "  backup [--dir DIR]              online backup, verified and rotated\n"
	    "  verify [FILE|latest|--all]      integrity of backups\n"
	    "  restore FILE|latest             replace the store (slobd must be stopped)\n"
	    "  check [--full]                  integrity of the live store\n"
	    "  vacuum                          VACUUM the store (P3-1)\n"
	    "  archive --older-than 1y|90d     move old trade_history rows to the archive db\n"
	    "\n"
	    "exit codes: 0 ok, 1 failed, 2 usage, 3 engine not running, 4 store missing,\n"
	    "            5 integrity problem, 6 refused while slobd runs, 7 command not applied "
	    "yet\n");
}

void ctl_err(const struct ctl *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((c && c->json) || (!c && g_json)) {
		json_t *o = json_pack("{s:b,s:s,s:s}", "ok", 0, "command", g_cmd, "error", msg);
		char *s = json_dumps(o, JSON_COMPACT);
		fprintf(stdout, "%s\n", s ? s : "{}");
		free(s);
		json_decref(o);
	}
	fprintf(stderr, "slobctl %s: %s\n", g_cmd, msg);
}

void ctl_json_out(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10));
	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(v);
}

const char *ctl_who(const char *given)
{
	if (given && *given)
		return given;
	const char *u = getenv("SUDO_USER");
	if (u && *u)
		return u;
	u = getenv("USER");
	if (u && *u)
		return u;
	return "operator";
}

int ctl_parse_since(const char *s, long long *ns)
{
	time_t now = time(NULL);
	char *end;
	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "today") == 0) {
		*ns = (long long)(now - now % 86400) * 1000000000ll;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9') {
		long v = strtol(s, &end, 10);
		long mult = 0;
		if (*end && !end[1]) {
			switch (*end) {
			case 'm':
				mult = 60;
				break;
			case 'h':
				mult = 3600;
				break;
			case 'd':
				mult = 86400;
				break;
			case 'w':
				mult = 7 * 86400;
				break;
			case 'y':
				mult = 365 * 86400;
				break;
			}
		}
		if (mult && v >= 0) {
			*ns = (long long)(now - v * mult) * 1000000000ll;
			return 0;
		}
	}
	/* dates: YYYY-MM-DD, optionally with time */
	int y, mo, d, h = 0, mi = 0, se = 0;
	char sep;
	int n = sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &se);
	if (n == 3 || (n >= 6 && (sep == ' ' || sep == 'T'))) {
		if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
			return -EINVAL;
		struct tm tm = {.tm_year = y - 1900,
				.tm_mon = mo - 1,
				.tm_mday = d,
				.tm_hour = h,
				.tm_min = mi,
				.tm_sec = se};
		*ns = (long long)timegm(&tm) * 1000000000ll;
		return 0;
	}
	return -EINVAL;
}

/* ---- config: only [data] matters to slobctl (and [alert] to alert-test) ---- */

struct cfg_ctx {
	struct ctl *c;
	char dir[PATH_MAX], db[PATH_MAX], stats[PATH_MAX], logs[PATH_MAX];
};

static int cfg_handler(void *user, const char *section, const char *key, const char *value)
{
	struct cfg_ctx *x = user;
	if (strcmp(section, "data") != 0)
		return 1;
	if (!strcmp(key, "dir"))
		snprintf(x->dir, sizeof(x->dir), "%s", value);
	else if (!strcmp(key, "db"))
		snprintf(x->db, sizeof(x->db), "%s", value);
	else if (!strcmp(key, "stats_file"))
		snprintf(x->stats, sizeof(x->stats), "%s", value);
	else if (!strcmp(key, "log_dir"))
		snprintf(x->logs, sizeof(x->logs), "%s", value);
	return 1;
}

static void join(char *out, size_t len, const char *base, const char *rel)
{
	if (rel[0] == '/' || !base[0] || !strcmp(base, "."))
		snprintf(out, len, "%s", rel);
	else
		snprintf(out, len, "%s/%s", base, rel);
}

static int resolve_paths(struct ctl *c, bool data_dir_given)
{
	struct cfg_ctx x;
	memset(&x, 0, sizeof(x));
	x.c = c;
	snprintf(x.dir, sizeof(x.dir), "data");
	snprintf(x.db, sizeof(x.db), SLOB_STORE_DEFAULT_FILE);
	snprintf(x.stats, sizeof(x.stats), "slob.stats");
	snprintf(x.logs, sizeof(x.logs), "logs");
	char cfgdir[PATH_MAX] = ".";
	if (c->config[0]) {
		FILE *f = fopen(c->config, "r");
		if (!f) {
			ctl_err(c, "config %s: %s", c->config, strerror(errno));
			return CTL_USAGE;
		}
		int line = ini_parse_file(f, cfg_handler, &x);
		fclose(f);
		if (line != 0) {
			ctl_err(c, "config %s:%d: syntax error", c->config, line);
			return CTL_USAGE;
		}
		snprintf(cfgdir, sizeof(cfgdir), "%s", c->config);
		char *slash = strrchr(cfgdir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(cfgdir, sizeof(cfgdir), ".");
	}
	if (!data_dir_given)
		join(c->data_dir, sizeof(c->data_dir), cfgdir, x.dir);
	const char *envdb = getenv("STATE_DB_PATH");
	if (envdb && *envdb && !data_dir_given)
		snprintf(c->db_path, sizeof(c->db_path), "%s", envdb);
	else
		join(c->db_path, sizeof(c->db_path), c->data_dir, x.db);
	join(c->stats_path, sizeof(c->stats_path), c->data_dir, x.stats);
	join(c->log_dir, sizeof(c->log_dir), cfgdir, x.logs);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *);
} cmds[] = {
    {"status", cmd_status},
    {"monitor", cmd_monitor},
    {"add-position", cmd_add_position},
    {"reset-breaker", cmd_opcmd},
    {"kill-switch", cmd_opcmd},
    {"trades", cmd_trades},
    {"set-dashboard-password", cmd_set_dashboard_password},
    {"alert-test", cmd_alert_test},
    {"daily-summary", cmd_daily_summary},
    {"backup", cmd_backup},
    {"verify", cmd_verify},
    {"restore", cmd_restore},
    {"check", cmd_check},
    {"vacuum", cmd_vacuum},
    {"archive", cmd_archive},
};

int main(int argc, char **argv)
{
	struct ctl c;
	memset(&c, 0, sizeof(c));
	bool dd_given = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json")) {
			c.json = g_json = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			c.quiet = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return CTL_OK;
		} else if ((!strcmp(a, "--data-dir") || !strcmp(a, "--config")) && i + 1 < argc) {
			snprintf(a[2] == 'd' ? c.data_dir : c.config, PATH_MAX, "%s", argv[++i]);
			dd_given |= a[2] == 'd';
		} else if (!strncmp(a, "--data-dir=", 11)) {
			snprintf(c.data_dir, sizeof(c.data_dir), "%s", a + 11);
			dd_given = true;
		} else if (!strncmp(a, "--config=", 9)) {
			snprintf(c.config, sizeof(c.config), "%s", a + 9);
		} else {
			fprintf(stderr, "slobctl: unknown option '%s' (try slobctl --help)\n", a);
			return CTL_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	g_cmd = argv[i];
	c.argc = argc - i;
	c.argv = argv + i;
	/* common options are also accepted after the command */
	for (int j = 1; j < c.argc; j++) {
		if (!strcmp(c.argv[j], "--json")) {
			c.json = g_json = true;
		} else if ((!strcmp(c.argv[j], "--data-dir") || !strcmp(c.argv[j], "--config")) &&
			   j + 1 < c.argc) {
			bool dd = c.argv[j][2] == 'd';
			snprintf(dd ? c.data_dir : c.config, PATH_MAX, "%s", c.argv[j + 1]);
			dd_given |= dd;
			/* remove the pair */
			for (int k = j; k + 2 <= c.argc; k++)
				c.argv[k] = k + 2 < c.argc ? c.argv[k + 2] : NULL;
			c.argc -= 2;
			j--;
			continue;
		} else {
			continue;
		}
		for (int k = j; k + 1 <= c.argc; k++)
			c.argv[k] = k + 1 < c.argc ? c.argv[k + 1] : NULL;
		c.argc--;
		j--;
	}
	int rc = resolve_paths(&c, dd_given);
	if (rc)
		return rc;
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(cmds[k].name, g_cmd))
			return cmds[k].fn(&c);
	if (!strcmp(g_cmd, "help")) {
		usage(stdout);
		return CTL_OK;
	}
	fprintf(stderr, "slobctl: unknown command '%s' (try slobctl --help)\n", g_cmd);
	return CTL_USAGE;
}
