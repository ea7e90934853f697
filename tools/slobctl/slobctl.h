/* SPDX-License-Identifier: MIT */
/*
 * slobctl.h: shared context of the operator CLI's command files. slobctl is
 * a thin program over the engine/persist libraries: it reads the stats file
 * (engine/stats.h) and the store (persist/store.h), writes operator commands
 * the daemon applies, and runs the store maintenance of persist/backup.h.
 *
 * Exit codes (docs/OPERATIONS.md):
 *   0 ok
 *   1 the command failed (message on stderr)
 *   2 usage error (unknown command or option, bad value)
 *   3 engine not running (status, monitor once; a command that needs slobd)
 *   4 store missing or unreadable
 *   5 integrity problem found (verify, check)
 *   6 refused because slobd is running (restore)
 *   7 operator command queued but not applied within --wait
 */
#ifndef SLOBCTL_H
#define SLOBCTL_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

enum {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
	CTL_DOWN = 3,
	CTL_NOSTORE = 4,
	CTL_CORRUPT = 5,
	CTL_RUNNING = 6,
	CTL_PENDING = 7,
};

struct ctl {
	char data_dir[PATH_MAX];
	char config[PATH_MAX];
	char db_path[PATH_MAX];
	char stats_path[PATH_MAX];
	char log_dir[PATH_MAX];
	bool json;
	bool quiet;
	int argc; /* the command's own arguments (argv[0] = command name) */
	char **argv;
};

/* Prints an error "slobctl <cmd>: ..." to stderr (or a JSON error object with --json). */
void ctl_err(const struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints and frees a JSON value (compact, one line). */
void ctl_json_out(json_t *v);
/* Operator name: --who, else $SUDO_USER, $USER, "operator". */
const char *ctl_who(const char *given);
/* Parses "7d", "24h", "90m", "1y", "today", "YYYY-MM-DD[ HH:MM[:SS]]" to UTC ns. 0 or -EINVAL. */
int ctl_parse_since(const char *s, long long *ns);

/*
 * ctl_send_alert - sends one alert now through the channels of [alert] in
 * --config plus the environment (one attempt each, severity filters apply).
 * Returns the number of channels that delivered it (0 when none is
 * configured or the severity is below every channel's minimum), -EINVAL on
 * a bad configuration. Blocks up to [alert] timeout_ms + 2 s.
 */
int ctl_send_alert(struct ctl *c, int kind, int level, const char *title, const char *text);

int cmd_status(struct ctl *c);
int cmd_monitor(struct ctl *c);
int cmd_add_position(struct ctl *c);
int cmd_opcmd(struct ctl *c); /* reset-breaker, kill-switch */
int cmd_trades(struct ctl *c);
int cmd_set_dashboard_password(struct ctl *c);
int cmd_alert_test(struct ctl *c);
int cmd_daily_summary(struct ctl *c);
int cmd_backup(struct ctl *c);
int cmd_verify(struct ctl *c);
int cmd_restore(struct ctl *c);
int cmd_check(struct ctl *c);
int cmd_vacuum(struct ctl *c);
int cmd_archive(struct ctl *c);

#endif /* SLOBCTL_H */
