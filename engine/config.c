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
	{"instrument", "symbol", "NQ", NULL, false, "contract symbol (NQ, MNQ)"},
	{"instrument", "exchange", "CME", NULL, false, "exchange of the contract"},
	{"instrument", "currency", "USD", NULL, false, "currency of the contract"},
	{"instrument", "tick_size", "0.25", NULL, false, "minimum price increment, points"},
	{"instrument", "point_value", "20", NULL, false, "USD per point per contract (NQ 20, MNQ 2)"},
	/* [data] */
	{"data", "dir", "data", NULL, false, "data directory (store, backups, lock); relative to the config file"},
	{"data", "db", "slob_state.db", "STATE_DB_PATH", false, "store file name inside the data directory, or an absolute path"},
	{"data", "stats_file", "slob.stats", NULL, false, "memory-mapped stats file inside the data directory"},
	{"data", "log_dir", "logs", NULL, false, "log directory (trading.log, errors.log); relative to the config file"},
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
	/* [replay] */
	{"replay", "speed", "0", NULL, false, "0 = as fast as possible; N = real time x N"},
	{"replay", "format", "auto", NULL, false, "auto, tick-csv, tick-bin, bar-csv"},
	{"replay", "skip_bad_lines", "false", NULL, false, "skip and count malformed lines instead of stopping"},
	/* [daemon] */
	{"daemon", "mode", "replay", NULL, false, "live, replay, replay-gw"},
	{"daemon", "auto_restore", "false", NULL, false, "restore the newest verified backup if the store is corrupt"},
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
