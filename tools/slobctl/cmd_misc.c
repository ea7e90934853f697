/* SPDX-License-Identifier: MIT */
/*
 * cmd_misc.c: slobctl set-dashboard-password (libsodium hash into a 0600
 * file, persist/dashpw.h) and alert-test (sends a test alert through the
 * configured channels right now and says which worked: the guide's P2-2 and
 * P2-3 diagnosis as one command).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "persist/alert.h"
#include "persist/dashpw.h"
#include "persist/secrets.h"
#include "persist/store.h"
#include "tools/slobctl/slobctl.h"

static int read_line(FILE *in, char *buf, size_t len)
{
	if (!fgets(buf, (int)len, in))
		return -1;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static int prompt_noecho(const char *prompt, char *buf, size_t len)
{
	struct termios old, neu;
	fputs(prompt, stderr);
	fflush(stderr);
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		neu = old;
		neu.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &neu);
	}
	int rc = read_line(stdin, buf, len);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputs("\n", stderr);
	}
	return rc;
}

int cmd_set_dashboard_password(struct ctl *c)
{
	char path[PATH_MAX + 32] = "";
	bool from_stdin = false;
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--file") && i + 1 < c->argc)
			snprintf(path, sizeof(path), "%s", c->argv[++i]);
		else if (!strcmp(c->argv[i], "--password-stdin"))
			from_stdin = true;
		else {
			ctl_err(c,
				"unexpected argument '%s' (set-dashboard-password [--file PATH] "
				"[--password-stdin])",
				c->argv[i]);
			return CTL_USAGE;
		}
	}
	if (!path[0])
		snprintf(path, sizeof(path), "%s/%s", c->data_dir, SLOB_DASHPW_DEFAULT_NAME);
	char pw[SLOB_DASHPW_MAX_LEN + 2], pw2[SLOB_DASHPW_MAX_LEN + 2];
	if (from_stdin || !isatty(STDIN_FILENO)) {
		if (read_line(stdin, pw, sizeof(pw)) < 0) {
			ctl_err(c, "no password on standard input");
			return CTL_USAGE;
		}
	} else {
		if (prompt_noecho("new dashboard password: ", pw, sizeof(pw)) < 0 ||
		    prompt_noecho("again: ", pw2, sizeof(pw2)) < 0) {
			ctl_err(c, "no password entered");
			return CTL_USAGE;
		}
		if (strcmp(pw, pw2)) {
			explicit_bzero(pw, sizeof(pw));
			explicit_bzero(pw2, sizeof(pw2));
			ctl_err(c, "the two passwords differ; nothing written");
			return CTL_USAGE;
		}
		explicit_bzero(pw2, sizeof(pw2));
	}
	char err[512];
	int rc = slob_dashpw_write(path, pw, err, sizeof(err));
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0) {
		ctl_err(c, "%s", err);
		return rc == -EINVAL ? CTL_USAGE : CTL_FAIL;
	}
	if (c->json)
		ctl_json_out(json_pack("{s:b,s:s}", "ok", 1, "file", path));
	else
		printf("dashboard password hash written to %s (mode 0600); restart slob-dash to "
		       "use it\n",
		       path);
	return CTL_OK;
}

/* ---- alert-test -------------------------------------------------------------- */

struct alert_ini {
	struct slob_alert_params *p;
	char err[512];
	int bad;
};

static int alert_ini_handler(void *user, const char *section, const char *key, const char *value)
{
	struct alert_ini *x = user;
	if (strcmp(section, "alert") != 0)
		return 1;
	char err[256];
	int rc = slob_alert_param_set(x->p, key, value, err, sizeof(err));
	if (rc < 0 && !x->bad) {
		snprintf(x->err, sizeof(x->err), "%s", err);
		x->bad = 1;
	}
	return 1;
}

/* [alert] of --config, then the environment. Returns 0 or an exit code. */
static int load_alert_params(struct ctl *c, struct slob_alert_params *pp)
{
	struct slob_alert_params p;
	slob_alert_params_default(&p);
	if (c->config[0]) {
		char warn[512];
		if (slob_secret_file_check(c->config, warn, sizeof(warn)) == 1)
			fprintf(stderr, "warning: %s\n", warn);
		FILE *f = fopen(c->config, "r");
		if (!f) {
			ctl_err(c, "config %s: %s", c->config, strerror(errno));
			return CTL_USAGE;
		}
		struct alert_ini x = {.p = &p};
		int line = ini_parse_file(f, alert_ini_handler, &x);
		fclose(f);
		if (line) {
			ctl_err(c, "config %s:%d: syntax error", c->config, line);
			return CTL_USAGE;
		}
		if (x.bad) {
			ctl_err(c, "config %s: %s", c->config, x.err);
			return CTL_USAGE;
		}
	}
	slob_alert_params_from_env(&p);
	*pp = p;
	return 0;
}

int ctl_send_alert(struct ctl *c, int kind, int level, const char *title, const char *text)
{
	struct slob_alert_params p;
	if (load_alert_params(c, &p))
		return -EINVAL;
	p.dedup_s = 0;
	p.max_tries = 1;
	char err[512];
	slob_alert_t *a;
	if (slob_alert_create(&p, NULL, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "slobctl: alert not sent: %s\n", err);
		return -EINVAL;
	}
	int q = slob_alert_send(a, kind, level, title, text);
	if (q <= 0) {
		slob_alert_free(a);
		return 0;
	}
	slob_alert_flush(a, (int)p.timeout_ms + 2000);
	int sent = 0;
	for (int ch = 0; ch < SLOB_ALERT_NCHAN; ch++) {
		struct slob_alert_counters k;
		slob_alert_counters(a, ch, &k);
		if (k.enabled && k.sent > 0)
			sent++;
		else if (k.enabled)
			fprintf(stderr, "slobctl: %s alert FAILED: %s\n",
				slob_alert_channel_name(ch),
				k.last_error[0] ? k.last_error : "timed out");
	}
	slob_alert_free(a);
	return sent;
}

int cmd_alert_test(struct ctl *c)
{
	const char *channel = "all", *text = NULL, *title = "Test alert";
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--channel") && i + 1 < c->argc) {
			channel = c->argv[++i];
			if (strcmp(channel, "all") && strcmp(channel, "telegram") &&
			    strcmp(channel, "email")) {
				ctl_err(c, "--channel '%s': expected telegram, email or all",
					channel);
				return CTL_USAGE;
			}
		} else if (!strcmp(c->argv[i], "--text") && i + 1 < c->argc) {
			text = c->argv[++i];
		} else if (!strcmp(c->argv[i], "--title") && i + 1 < c->argc) {
			title = c->argv[++i];
		} else {
			ctl_err(c, "unexpected argument '%s'", c->argv[i]);
			return CTL_USAGE;
		}
	}
	struct slob_alert_params p;
	int lrc = load_alert_params(c, &p);
	if (lrc)
		return lrc;
	/* the test goes out whatever the channels' minimum severity, once, now */
	p.telegram_level = SLOB_LVL_DEBUG;
	p.email_level = SLOB_LVL_DEBUG;
	p.dedup_s = 0;
	p.max_tries = 1;
	if (!strcmp(channel, "email"))
		p.telegram_token[0] = 0;
	if (!strcmp(channel, "telegram"))
		p.email_to[0] = 0;
	char err[512];
	slob_alert_t *a;
	int rc = slob_alert_create(&p, NULL, &a, err, sizeof(err));
	if (rc < 0) {
		ctl_err(c, "%s", err);
		return CTL_USAGE;
	}
	char host[128] = "";
	gethostname(host, sizeof(host) - 1);
	char msg[512];
	snprintf(msg, sizeof(msg), "%s (sent by slobctl alert-test on %s)",
		 text ? text : "If you read this, slob alerts reach you.", host);
	int q = slob_alert_send(a, SLOB_ALERT_TEST, SLOB_LVL_INFO, title, msg);
	if (q <= 0) {
		slob_alert_free(a);
		ctl_err(c,
			"no alert channel is configured: set TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID "
			"and/or SENDER_EMAIL + ALERT_EMAILS (+ SMTP_SERVER, SMTP_PORT, "
			"SENDER_PASSWORD), "
			"or the [alert] section of --config");
		return CTL_USAGE;
	}
	slob_alert_flush(a, (int)p.timeout_ms + 2000);
	int failures = 0;
	json_t *arr = c->json ? json_array() : NULL;
	for (int ch = 0; ch < SLOB_ALERT_NCHAN; ch++) {
		struct slob_alert_counters k;
		slob_alert_counters(a, ch, &k);
		if (!k.enabled)
			continue;
		bool ok = k.sent > 0;
		failures += !ok;
		if (arr)
			json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "channel",
							     slob_alert_channel_name(ch), "ok", ok,
							     "error", ok ? "" : k.last_error));
		else if (ok)
			printf("%-9s ok\n", slob_alert_channel_name(ch));
		else
			printf("%-9s FAILED: %s\n", slob_alert_channel_name(ch),
			       k.last_error[0] ? k.last_error : "timed out");
	}
	slob_alert_free(a);
	if (arr)
		ctl_json_out(json_pack("{s:b,s:o}", "ok", failures == 0, "channels", arr));
	return failures ? CTL_FAIL : CTL_OK;
}

/* ---- daily-summary ------------------------------------------------------------ */

int cmd_daily_summary(struct ctl *c)
{
	long long day = 0;
	bool send = false;
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--date") && i + 1 < c->argc) {
			if (ctl_parse_since(c->argv[++i], &day) < 0) {
				ctl_err(c, "--date '%s': expected YYYY-MM-DD or today", c->argv[i]);
				return CTL_USAGE;
			}
		} else if (!strcmp(c->argv[i], "--send")) {
			send = true;
		} else {
			ctl_err(c, "unexpected argument '%s' (daily-summary [--date D] [--send])",
				c->argv[i]);
			return CTL_USAGE;
		}
	}
	if (!day)
		ctl_parse_since("today", &day);
	day -= day % (86400ll * 1000000000ll);
	slob_store_t *s;
	if (access(c->db_path, R_OK) != 0 ||
	    slob_store_open(c->db_path, SLOB_STORE_RDONLY | SLOB_STORE_NO_MIGRATE, &s) < 0) {
		ctl_err(c, "store %s: %s", c->db_path,
			access(c->db_path, R_OK) ? strerror(errno) : slob_store_strerror());
		return CTL_NOSTORE;
	}
	char text[1024];
	int n = slob_alert_summary_compose(slob_store_db(s), day, text, sizeof(text));
	slob_store_close(s);
	if (n < 0) {
		ctl_err(c, "%s", text);
		return CTL_FAIL;
	}
	int out = CTL_OK;
	json_t *chans = c->json ? json_array() : NULL;
	if (send) {
		struct slob_alert_params p;
		int lrc = load_alert_params(c, &p);
		if (lrc) {
			json_decref(chans);
			return lrc;
		}
		p.dedup_s = 0;
		char err[512];
		slob_alert_t *a;
		if (slob_alert_create(&p, NULL, &a, err, sizeof(err)) < 0) {
			ctl_err(c, "%s", err);
			json_decref(chans);
			return CTL_USAGE;
		}
		if (slob_alert_send(a, SLOB_ALERT_DAILY_SUMMARY, SLOB_LVL_WARNING, "Daily summary",
				    text) <= 0) {
			slob_alert_free(a);
			ctl_err(c, "no alert channel is configured (see slobctl alert-test)");
			json_decref(chans);
			return CTL_USAGE;
		}
		slob_alert_flush(a, (int)(p.timeout_ms * p.max_tries) + 2000);
		for (int ch = 0; ch < SLOB_ALERT_NCHAN; ch++) {
			struct slob_alert_counters k;
			slob_alert_counters(a, ch, &k);
			if (!k.enabled)
				continue;
			if (!k.sent)
				out = CTL_FAIL;
			if (chans)
				json_array_append_new(chans, json_pack("{s:s,s:b}", "channel",
								       slob_alert_channel_name(ch),
								       "ok", k.sent > 0));
			else
				fprintf(stderr, "%s: %s\n", slob_alert_channel_name(ch),
					k.sent		  ? "sent"
					: k.last_error[0] ? k.last_error
							  : "not sent");
		}
		slob_alert_free(a);
	}
	if (c->json)
		ctl_json_out(json_pack("{s:b,s:s,s:o}", "ok", out == CTL_OK, "text", text, "sent",
				       chans ? chans : json_array()));
	else
		fputs(text, stdout);
	return out;
}
