/* SPDX-License-Identifier: MIT */
/*
 * config.h: the engine's configuration. One INI file (libinih), environment
 * overrides under the original system's variable names, and `--set
 * section.key=value` overrides, in that order of precedence (last wins).
 *
 * Design notes
 *  1. Every key is declared once, in the key table of config.c, with its
 *     default, its environment variable (if any), whether it is a secret and
 *     a one-line description. docs/CONFIG.md is generated from that table
 *     (`slobd --config-doc`), so the two cannot drift apart.
 *  2. Values are kept as text here; each module parses its own section with
 *     its slob_<mod>_param_set() and validates with _params_validate(), so
 *     the rules for a value live next to the code that uses it.
 *  3. An unknown section or key, or a bad value, is an error naming the file,
 *     line, section and key. Secrets are printed as "***" by
 *     slob_config_dump() and never appear in error messages.
 */
#ifndef SLOB_CONFIG_H
#define SLOB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SLOB_CONFIG_MAX_ENTRIES 256

struct slob_config_key {
	const char *section;
	const char *key;
	const char *def;       /* default as text ("" = empty) */
	const char *env;       /* environment override, NULL if none */
	bool secret;
	const char *help;
};

struct slob_config_entry {
	const struct slob_config_key *key;
	char *value;           /* effective value (default, file, env or --set) */
	const char *origin;    /* "default", "file", "env", "cli" */
	int line;              /* file line, 0 if not from the file */
};

struct slob_config {
	char path[512];        /* config file ("" = none) */
	char dir[512];         /* directory of the config file, or "." */
	unsigned n;
	struct slob_config_entry entries[SLOB_CONFIG_MAX_ENTRIES];
};

/* The key table (NULL-terminated by a zero entry). */
extern const struct slob_config_key slob_config_keys[];

/* Fills every key with its default. */
void slob_config_init(struct slob_config *cfg);
/* Frees the value strings. Accepts NULL. */
void slob_config_free(struct slob_config *cfg);

/* Loads an INI file (path may be NULL: defaults only). Returns 0 or -errno
 * with "file:line: ..." in err. */
int slob_config_load(struct slob_config *cfg, const char *path, char *err, size_t errlen);
/* Applies environment variables of the table. */
void slob_config_apply_env(struct slob_config *cfg);
/* Applies "section.key=value". Returns 0 or -EINVAL / -ENOENT with a message. */
int slob_config_set(struct slob_config *cfg, const char *assignment, char *err, size_t errlen);

/* Effective value of section.key (never NULL for a declared key; NULL otherwise). */
const char *slob_config_get(const struct slob_config *cfg, const char *section, const char *key);
long long slob_config_get_int(const struct slob_config *cfg, const char *section, const char *key);
double slob_config_get_double(const struct slob_config *cfg, const char *section, const char *key);
bool slob_config_get_bool(const struct slob_config *cfg, const char *section, const char *key);

/*
 * slob_config_apply_section - feeds every key of `section` to a module's
 * param_set function. Returns 0 or the first error, with a message naming
 * origin (file:line or env var), section and key.
 */
typedef int (*slob_param_set_fn)(void *params, const char *key, const char *value, char *err,
				 size_t errlen);
int slob_config_apply_section(const struct slob_config *cfg, const char *section,
			      slob_param_set_fn set, void *params, char *err, size_t errlen);

/* Resolves a path value relative to the config file's directory. */
void slob_config_path(const struct slob_config *cfg, const char *value, char *out, size_t len);

/*
 * slob_config_rebase_path - the rule of docs/CONFIG.md for a module's path
 * parameter `path` (already applied from section.key): when the effective
 * value came from the config file and is relative, it is rewritten relative
 * to the file's folder; from the environment or --set it stays relative to
 * the working directory. Too long a result leaves `path` unchanged.
 */
void slob_config_rebase_path(const struct slob_config *cfg, const char *section, const char *key,
			     char *path, size_t len);

/* Prints the effective configuration as INI, secrets redacted, origins as comments. */
void slob_config_dump(const struct slob_config *cfg, FILE *out);
/* Prints the key table as a Markdown reference (docs/CONFIG.md). */
void slob_config_doc(FILE *out);

/* Helpers for modules' param_set functions. Return 0 or -EINVAL with a message. */
int slob_parse_bool(const char *key, const char *v, bool *out, char *err, size_t errlen);
int slob_parse_int(const char *key, const char *v, long long lo, long long hi, long long *out,
		   char *err, size_t errlen);
int slob_parse_double(const char *key, const char *v, double lo, double hi, double *out,
		      char *err, size_t errlen);

#endif /* SLOB_CONFIG_H */
