/* SPDX-License-Identifier: MIT */
/* args.c: slobd's command line, config digest and SIGHUP reload. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "tools/slobd/slobd.h"

static int add_set(struct slobd_args *a, const char *s)
{
	if (a->nsets >= SLOBD_MAX_SETS) {
		fprintf(stderr, "slobd: too many --set options (at most %d)\n", SLOBD_MAX_SETS);
		return -1;
	}
	a->sets[a->nsets++] = s;
	return 0;
}

static const struct option opts[] = {
	{"config", required_argument, 0, 'c'},   {"set", required_argument, 0, 's'},
	{"data-dir", required_argument, 0, 'd'}, {"layout", required_argument, 0, 'l'},
	{"speed", required_argument, 0, 'x'},    {"format", required_argument, 0, 'f'},
	{"auto-restore", no_argument, 0, 'R'},   {"json", no_argument, 0, 'J'},
	{"quiet", no_argument, 0, 'q'},          {"check-config", no_argument, 0, 'C'},
	{"config-doc", no_argument, 0, 'D'},     {"grid", required_argument, 0, 'g'},
	{"shard", required_argument, 0, 'S'},    {"csv", required_argument, 0, 'o'},
	{"jobs", required_argument, 0, 'j'},     {"help", no_argument, 0, 'h'},
	{"strict", no_argument, 0, 'T'},
	{"append", no_argument, 0, 'A'},         {"fresh", no_argument, 0, 'F'},
	{0, 0, 0, 0},
};

/* One option. Returns 0, 1 for --help, -1 on a usage error (printed). */
static int one_option(struct slobd_args *a, int c)
{
	switch (c) {
	case 'c': a->config = optarg; return 0;
	case 's': return add_set(a, optarg);
	case 'd':
		snprintf(a->set_store, sizeof(a->set_store), "store.data_dir=%s", optarg);
		return add_set(a, a->set_store);
	case 'l':
		snprintf(a->set_layout, sizeof(a->set_layout), "pipeline.layout=%s", optarg);
		return add_set(a, a->set_layout);
	case 'x':
		snprintf(a->set_speed, sizeof(a->set_speed), "replay.speed=%s", optarg);
		return add_set(a, a->set_speed);
	case 'f': a->format = optarg; return 0;
	case 'R': a->auto_restore = true; return 0;
	case 'A': a->append = true; return 0;
	case 'F': a->fresh = true; return 0;
	case 'J': a->json = true; return 0;
	case 'q': a->quiet = true; return 0;
	case 'T': a->strict = true; return 0;
	case 'C': a->check_config = true; return 0;
	case 'D': a->config_doc = true; return 0;
	case 'g':
		if (a->ngrid >= SLOBD_MAX_GRID) {
			fprintf(stderr, "slobd: at most %d --grid options\n", SLOBD_MAX_GRID);
			return -1;
		}
		a->grid[a->ngrid++] = optarg;
		return 0;
	case 'S':
		if (sscanf(optarg, "%u/%u", &a->shard_i, &a->shard_n) != 2 || a->shard_n == 0 ||
		    a->shard_i >= a->shard_n) {
			fprintf(stderr, "slobd: --shard '%s': expected I/N with 0 <= I < N\n", optarg);
			return -1;
		}
		return 0;
	case 'o': a->csv = optarg; return 0;
	case 'j': a->jobs = (unsigned)strtoul(optarg, NULL, 10); return 0;
	case 'h': return 1;
	default: return -1;
	}
}

/* Options up to the first non-option ('+'), or all the rest. */
static int options(struct slobd_args *a, int argc, char **argv, const char *shortopts)
{
	int c, rc;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1)
		if ((rc = one_option(a, c)) != 0)
			return rc;
	return 0;
}

int slobd_parse_args(struct slobd_args *a, int argc, char **argv)
{
	int rc;
	memset(a, 0, sizeof(*a));
	a->shard_n = 1;
	optind = 1;
	if ((rc = options(a, argc, argv, "+c:s:d:l:x:f:qh")) != 0)
		return rc;
	/* options may also follow the command */
	if (optind < argc && !a->check_config && !a->config_doc) {
		a->command = argv[optind++];
		if (!strcmp(a->command, "replay") || !strcmp(a->command, "sweep")) {
			if (optind >= argc) {
				fprintf(stderr, "slobd: %s needs a FILE\n", a->command);
				return -1;
			}
			a->file = argv[optind++];
		} else if (strcmp(a->command, "live") != 0 && strcmp(a->command, "replay-gw") != 0) {
			fprintf(stderr, "slobd: unknown command '%s'\n", a->command);
			return -1;
		}
		if ((rc = options(a, argc, argv, "c:s:d:l:x:f:qh")) != 0)
			return rc;
		if (optind < argc) {
			fprintf(stderr, "slobd: unexpected argument '%s'\n", argv[optind]);
			return -1;
		}
	}
	if (!a->command && !a->check_config && !a->config_doc) {
		fprintf(stderr, "slobd: missing command (replay FILE, live, replay-gw, sweep FILE)\n");
		return -1;
	}
	if (a->append && a->fresh) {
		fprintf(stderr, "slobd: --append and --fresh exclude each other\n");
		return -1;
	}
	if ((a->append || a->fresh) && (!a->command || strcmp(a->command, "replay") != 0)) {
		fprintf(stderr, "slobd: --append and --fresh apply to `slobd replay` only\n");
		return -1;
	}
	if (a->command && !strcmp(a->command, "sweep") && a->ngrid == 0) {
		fprintf(stderr, "slobd: sweep needs at least one --grid SECTION.KEY=V1,V2,...\n");
		return -1;
	}
	return 0;
}

uint64_t slobd_config_digest(const struct slob_config *cfg)
{
	XXH3_state_t *st = XXH3_createState();
	if (st == NULL)
		return 0;
	XXH3_64bits_reset(st);
	for (unsigned i = 0; i < cfg->n; i++) {
		const struct slob_config_entry *e = &cfg->entries[i];
		XXH3_64bits_update(st, e->key->section, strlen(e->key->section) + 1);
		XXH3_64bits_update(st, e->key->key, strlen(e->key->key) + 1);
		XXH3_64bits_update(st, e->value, strlen(e->value) + 1);
	}
	uint64_t h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

/*
 * Reload: the configuration is re-read and validated as a whole; a broken
 * file changes nothing. What is safe to change live is applied: the log
 * levels (the log takes its own lock). No table or trading decision changes
 * under the hot threads: everything that sizes a table or changes a trading
 * decision takes effect at the next restart, and the answer says so, so
 * that an operator never believes a risk limit changed when it did not. Writes the
 * outcome to msg; returns 0 (valid) or -errno.
 */
int slobd_reload(const char *config, const char *const *sets, unsigned nsets, slob_log_t *log,
		 char *msg, size_t len)
{
	struct slob_config cfg;
	char err[1024] = "";
	slob_config_init(&cfg);
	int rc = slob_config_load(&cfg, config, err, sizeof(err));
	if (rc == 0)
		slob_config_apply_env(&cfg);
	for (unsigned i = 0; rc == 0 && i < nsets; i++)
		rc = slob_config_set(&cfg, sets[i], err, sizeof(err));
	struct slob_pipeline_opts po;
	if (rc == 0)
		rc = slob_pipeline_opts_from_config(&po, &cfg, err, sizeof(err));
	int lv = 0, elv = 0;
	if (rc == 0 && (slob_log_level_parse(slob_config_get(&cfg, "log", "level"), &lv) < 0 ||
			slob_log_level_parse(slob_config_get(&cfg, "log", "errors_level"), &elv) < 0)) {
		snprintf(err, sizeof(err), "[log] level: not a level name");
		rc = -EINVAL;
	}
	if (rc < 0) {
		snprintf(msg, len, "SIGHUP: configuration rejected, nothing changed: %s", err);
	} else {
		slob_log_set_levels(log, lv, elv);
		snprintf(msg, len, "SIGHUP: log levels now %s/%s; other settings of %s (digest "
			 "%016llx) take effect at the next restart",
			 slob_log_level_name(lv), slob_log_level_name(elv),
			 config ? config : "(defaults)", (unsigned long long)slobd_config_digest(&cfg));
	}
	slob_config_free(&cfg);
	return rc;
}
