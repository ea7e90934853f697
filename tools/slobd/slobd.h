/* SPDX-License-Identifier: MIT */
/* slobd.h: the daemon's pieces shared between its files (args, reload, sweep). */
#ifndef SLOBD_H
#define SLOBD_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/pipeline.h"
#include "persist/log.h"

#define SLOBD_VERSION "0.1.0"

enum slobd_exit {
	SLOBD_EXIT_OK = 0,
	SLOBD_EXIT_RUNTIME = 1,  /* runtime failure (I/O, memory, a stage failed) */
	SLOBD_EXIT_USAGE = 2,    /* bad command line */
	SLOBD_EXIT_CONFIG = 2,   /* bad configuration (same code: fix the input) */
	SLOBD_EXIT_CORRUPT = 3,  /* store corrupt, no auto-restore */
	SLOBD_EXIT_LOCKED = 4,   /* another slobd holds the data directory */
	SLOBD_EXIT_DATA = 5,     /* replay input malformed or unreadable */
	SLOBD_EXIT_REJECTED = 6, /* replay --strict: a tick was rejected (the message names it) */
};

#define SLOBD_MAX_SETS 64
#define SLOBD_MAX_GRID 8

struct slobd_args {
	const char *command;        /* replay, live, sweep */
	const char *file;           /* replay/sweep input */
	const char *config;
	const char *sets[SLOBD_MAX_SETS];
	unsigned nsets;
	const char *format;         /* auto, ticks, bars */
	bool auto_restore, json, quiet, check_config, config_doc;
	bool strict;                /* replay: any rejected tick is fatal (exit 6) */
	bool append, fresh; /* replay into a store that holds runs: continue it / move it aside */
	/* sweep */
	const char *grid[SLOBD_MAX_GRID];
	unsigned ngrid;
	unsigned shard_i, shard_n;  /* this process runs combos k with k % n == i */
	const char *csv;            /* result CSV ("-" = stdout) */
	unsigned jobs;              /* parallel runs (default: CPUs) */
	char set_store[600], set_layout[300], set_speed[64];
};

/* Returns 0, 1 for --help, -1 on a usage error (message printed). */
int slobd_parse_args(struct slobd_args *a, int argc, char **argv);

/* xxh3 of the effective configuration (secrets included, never printed). */
uint64_t slobd_config_digest(const struct slob_config *cfg);

/* SIGHUP: re-reads and validates the configuration; msg says what happened. */
int slobd_reload(const char *config, const char *const *sets, unsigned nsets, slob_log_t *log,
		 char *msg, size_t len);

/* `slobd sweep`: returns an exit code. */
int slobd_sweep(const struct slobd_args *a, const struct slob_config *cfg,
		const struct slob_pipeline_opts *po);

#endif /* SLOBD_H */
