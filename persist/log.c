/* SPDX-License-Identifier: MIT */
/*
 * log.c: trading.log / errors.log writer with day and size rotation,
 * retention, redaction and survival of write failures (see log.h design
 * notes). Cold path only.
 */
#define _GNU_SOURCE
#include "persist/log.h"
#include "engine/config.h"
#include "engine/risk.h"
#include "persist/cold.h"
#include "persist/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define LOG_MAX_SECRETS 16

struct logfile {
	char path[SLOB_LOG_PATH_MAX];
	int fd;
	int64_t day; /* UTC day number the file belongs to */
	uint64_t size;
	int min_level;
};

struct slob_log {
	struct slob_log_params p;
	pthread_mutex_t mu;
	struct logfile f[2]; /* 0 trading, 1 errors */
	unsigned nfiles;
	int min_level; /* lowest level any file takes */
	struct slob_log_counters c;
	int64_t next_retry_ns;
	uint64_t lost_pending; /* lines lost since the last successful write */
	int lost_errno;
	int64_t lost_since_ns;
	char *secrets[LOG_MAX_SECRETS];
	unsigned nsecrets;
};

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int64_t day_of(int64_t ns)
{
	int64_t s = ns / 1000000000ll;
	return s >= 0 ? s / 86400 : (s - 86399) / 86400;
}

/* ---- params ------------------------------------------------------------- */

void slob_log_params_default(struct slob_log_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->trading_file, sizeof(p->trading_file), "logs/trading.log");
	snprintf(p->errors_file, sizeof(p->errors_file), "logs/errors.log");
	p->level = SLOB_LVL_INFO;
	p->errors_level = SLOB_LVL_ERROR;
	p->max_bytes = 100ull << 20;
	p->keep = 30;
	p->rotate_daily = true;
	p->echo_stderr = false;
	p->retry_ms = 1000;
}

int slob_log_level_parse(const char *s, int *level)
{
	for (int i = 0; i < (int)SLOB_ARRAY_SIZE(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*level = i;
			return 0;
		}
	if (strcasecmp(s, "warn") == 0) {
		*level = SLOB_LVL_WARNING;
		return 0;
	}
	return -EINVAL;
}

const char *slob_log_level_name(int level)
{
	if (level < 0 || level >= (int)SLOB_ARRAY_SIZE(level_names))
		return "?";
	return level_names[level];
}

static int parse_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*v || *v == '-')
		return -EINVAL;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -EINVAL;
	*out = x;
	return 0;
}

int slob_log_param_set(struct slob_log_params *p, const char *key, const char *value, char *err,
		       size_t errlen)
{
	uint64_t u;
	bool b;
	if (!strcmp(key, "trading_file") || !strcmp(key, "errors_file")) {
		char *dst = key[0] == 't' ? p->trading_file : p->errors_file;
		if (strlen(value) >= SLOB_LOG_PATH_MAX) {
			snprintf(err, errlen, "[log] %s: path longer than %d characters", key,
				 SLOB_LOG_PATH_MAX - 1);
			return -EINVAL;
		}
		snprintf(dst, SLOB_LOG_PATH_MAX, "%s", value);
		return 0;
	}
	if (!strcmp(key, "level") || !strcmp(key, "errors_level")) {
		int lv;
		if (slob_log_level_parse(value, &lv) < 0) {
			snprintf(err, errlen,
				 "[log] %s = '%s': expected debug|info|warning|error|critical", key,
				 value);
			return -EINVAL;
		}
		*(key[0] == 'l' ? &p->level : &p->errors_level) = lv;
		return 0;
	}
	if (!strcmp(key, "max_size_mb")) {
		if (parse_u64(value, 1, 102400, &u) < 0) {
			snprintf(err, errlen,
				 "[log] max_size_mb = '%s': expected an integer 1..102400", value);
			return -EINVAL;
		}
		p->max_bytes = u << 20;
		return 0;
	}
	if (!strcmp(key, "keep")) {
		if (parse_u64(value, 1, 3650, &u) < 0) {
			snprintf(err, errlen, "[log] keep = '%s': expected an integer 1..3650",
				 value);
			return -EINVAL;
		}
		p->keep = (unsigned)u;
		return 0;
	}
	if (!strcmp(key, "retry_ms")) {
		if (parse_u64(value, 0, 600000, &u) < 0) {
			snprintf(err, errlen,
				 "[log] retry_ms = '%s': expected an integer 0..600000", value);
			return -EINVAL;
		}
		p->retry_ms = (unsigned)u;
		return 0;
	}
	if (!strcmp(key, "rotate_daily") || !strcmp(key, "stderr")) {
		char bk[32];
		snprintf(bk, sizeof(bk), "[log] %s", key);
		if (slob_parse_bool(bk, value, &b, err, errlen) < 0)
			return -EINVAL;
		*(key[0] == 'r' ? &p->rotate_daily : &p->echo_stderr) = b;
		return 0;
	}
	snprintf(err, errlen,
		 "[log] unknown key '%s' (known: trading_file, errors_file, level, "
		 "errors_level, max_size_mb, keep, rotate_daily, stderr, retry_ms)",
		 key);
	return -ENOENT;
}

int slob_log_params_validate(const struct slob_log_params *p, char *err, size_t errlen)
{
	if (!p->trading_file[0]) {
		snprintf(err, errlen, "[log] trading_file must not be empty");
		return -EINVAL;
	}
	if (p->level < SLOB_LVL_DEBUG || p->level > SLOB_LVL_CRITICAL ||
	    p->errors_level < SLOB_LVL_DEBUG || p->errors_level > SLOB_LVL_CRITICAL) {
		snprintf(err, errlen, "[log] level/errors_level out of range");
		return -EINVAL;
	}
	if (p->keep < 1 || p->max_bytes < 4096) {
		snprintf(err, errlen, "[log] keep must be >= 1 and max_size_mb >= 1");
		return -EINVAL;
	}
	if (p->errors_file[0] && strcmp(p->errors_file, p->trading_file) == 0) {
		snprintf(err, errlen, "[log] errors_file must differ from trading_file (%s)",
			 p->trading_file);
		return -EINVAL;
	}
	return 0;
}

/* ---- files -------------------------------------------------------------- */

static int mkdirs_for(const char *path)
{
	char tmp[SLOB_LOG_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	char *slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return 0;
	*slash = 0;
	return slob_fs_mkdir_p(tmp);
}

static int lf_open(struct logfile *lf)
{
	int rc = mkdirs_for(lf->path);
	if (rc < 0)
		return rc;
	int fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		lf->size = (uint64_t)sb.st_size;
		/* an existing non-empty file belongs to the day it was last written */
		lf->day = sb.st_size > 0 ? day_of((int64_t)sb.st_mtim.tv_sec * 1000000000ll)
					 : day_of(now_ns());
	} else {
		lf->size = 0;
		lf->day = day_of(now_ns());
	}
	lf->fd = fd;
	return 0;
}

struct rotated {
	char name[256];
	int64_t mtime;
};

static int cmp_rotated(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1; /* newest first */
	return strcmp(y->name, x->name);
}

/* Deletes all but the newest `keep` rotated files of lf. Returns how many were removed. */
static unsigned prune(struct slob_log *log, struct logfile *lf)
{
	char dir[SLOB_LOG_PATH_MAX], base[SLOB_LOG_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", lf->path);
	snprintf(base, sizeof(base), "%s", lf->path);
	char *d = dirname(dir);
	const char *b = basename(base);
	size_t blen = strlen(b);
	DIR *dh = opendir(d);
	if (!dh)
		return 0;
	struct rotated *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		/* rotated names: <base>.YYYY-MM-DD[.N] */
		if (strncmp(de->d_name, b, blen) || de->d_name[blen] != '.' ||
		    de->d_name[blen + 1] < '0' || de->d_name[blen + 1] > '9')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct rotated *nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		char full[SLOB_LOG_PATH_MAX * 2];
		snprintf(full, sizeof(full), "%s/%s", d, de->d_name);
		struct stat sb;
		if (stat(full, &sb) < 0)
			continue;
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		v[n].mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000ll + sb.st_mtim.tv_nsec;
		n++;
	}
	closedir(dh);
	unsigned removed = 0;
	if (n > log->p.keep) {
		qsort(v, n, sizeof(*v), cmp_rotated);
		for (size_t i = log->p.keep; i < n; i++) {
			char full[SLOB_LOG_PATH_MAX * 2];
			snprintf(full, sizeof(full), "%s/%s", d, v[i].name);
			if (unlink(full) == 0)
				removed++;
		}
	}
	free(v);
	return removed;
}

static int lf_rotate(struct slob_log *log, struct logfile *lf)
{
	char dst[SLOB_LOG_PATH_MAX + 32];
	struct stat sb;
	time_t t = (time_t)(lf->day * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (lf->fd >= 0) {
		close(lf->fd);
		lf->fd = -1;
	}
	if (stat(lf->path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		int len = snprintf(dst, sizeof(dst), "%s.%04d-%02d-%02d", lf->path,
				   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		for (int i = 1; access(dst, F_OK) == 0 && i < 10000; i++)
			snprintf(dst + len, sizeof(dst) - (size_t)len, ".%d", i);
		if (rename(lf->path, dst) == 0) {
			log->c.rotations++;
			/* newer mtime than older rotations even within one second */
			utimensat(AT_FDCWD, dst, NULL, 0);
		}
	}
	int rc = lf_open(lf);
	log->c.removed += prune(log, lf);
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

void slob_redact(char *dst, size_t dstlen, const char *src, const char *const *secrets, unsigned n)
{
	size_t o = 0;
	if (!dstlen)
		return;
	while (*src && o + 1 < dstlen) {
		size_t hit = 0;
		for (unsigned i = 0; i < n; i++) {
			size_t sl = secrets[i] ? strlen(secrets[i]) : 0;
			if (sl >= 4 && strncmp(src, secrets[i], sl) == 0) {
				hit = sl;
				break;
			}
		}
		if (hit) {
			for (const char *r = "***"; *r && o + 1 < dstlen; r++)
				dst[o++] = *r;
			src += hit;
		} else {
			dst[o++] = *src++;
		}
	}
	dst[o] = 0;
}

static size_t format_line(char *buf, size_t len, int64_t ts_ns, int level, const char *component,
			  const char *text)
{
	time_t secs = (time_t)(ts_ns / 1000000000ll);
	int ms = (int)((ts_ns % 1000000000ll) / 1000000);
	if (ms < 0)
		ms += 1000, secs--;
	struct tm tm;
	gmtime_r(&secs, &tm);
	int n =
	    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03dZ %-8s %s: ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms,
		     slob_log_level_name(level), component && *component ? component : "slob");
	if (n < 0 || (size_t)n >= len)
		n = (int)len - 1;
	size_t o = (size_t)n;
	for (const char *p = text; *p && o + 2 < len; p++)
		buf[o++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
	buf[o++] = '\n';
	buf[o] = 0;
	return o;
}

/* Writes buf to lf; on failure drops the fd and returns -errno. Lock held. */
static int lf_write(struct slob_log *log, struct logfile *lf, const char *buf, size_t n,
		    int64_t now)
{
	if (lf->fd < 0) {
		if (now < log->next_retry_ns)
			return log->c.last_errno ? -log->c.last_errno : -EIO;
		int rc = lf_open(lf);
		if (rc < 0) {
			log->c.write_errors++;
			log->c.last_errno = -rc;
			log->next_retry_ns = now + (int64_t)log->p.retry_ms * 1000000ll;
			return rc;
		}
	}
	if ((log->p.rotate_daily && day_of(now) != lf->day) ||
	    (lf->size > 0 && lf->size + n > log->p.max_bytes)) {
		int rc = lf_rotate(log, lf);
		if (rc < 0) {
			log->c.write_errors++;
			log->c.last_errno = -rc;
			log->next_retry_ns = now + (int64_t)log->p.retry_ms * 1000000ll;
			return rc;
		}
	}
	ssize_t w = write(lf->fd, buf, n);
	if (w == (ssize_t)n) {
		lf->size += n;
		return 0;
	}
	int e = w < 0 ? errno : ENOSPC; /* a short write to a regular file means the disk is full */
	log->c.write_errors++;
	log->c.last_errno = e;
	close(lf->fd);
	lf->fd = -1;
	log->next_retry_ns = now + (int64_t)log->p.retry_ms * 1000000ll;
	return -e;
}

/* Writes one formatted line to the files that take `level`. Lock held. */
static int emit(struct slob_log *log, int level, const char *line, size_t n, int64_t now)
{
	int rc = 0;
	for (unsigned i = 0; i < log->nfiles; i++) {
		struct logfile *lf = &log->f[i];
		if (level < lf->min_level)
			continue;
		int r = lf_write(log, lf, line, n, now);
		if (r < 0) {
			rc = r;
		} else if (i == 0) {
			log->c.lines++;
		} else {
			log->c.error_lines++;
		}
	}
	return rc;
}

static void note_recovery(struct slob_log *log, int64_t now)
{
	char msg[256], line[512];
	char since[32];
	time_t t = (time_t)(log->lost_since_ns / 1000000000ll);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%SZ", &tm);
	snprintf(msg, sizeof(msg), "%llu log lines lost since %s (%s); logging resumed",
		 (unsigned long long)log->lost_pending, since, strerror(log->lost_errno));
	size_t n = format_line(line, sizeof(line), now, SLOB_LVL_WARNING, "log", msg);
	uint64_t pending = log->lost_pending;
	if (emit(log, SLOB_LVL_WARNING, line, n, now) == 0)
		log->lost_pending = 0;
	else
		log->lost_pending = pending; /* still failing: keep counting this loss period */
}

int slob_log_write(slob_log_t *log, int64_t ts_ns, int level, const char *component,
		   const char *text)
{
	if (!log)
		return -EINVAL;
	if (level < log->min_level)
		return 1;
	char clean[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	int64_t now = now_ns();
	if (ts_ns == 0)
		ts_ns = now;
	pthread_mutex_lock(&log->mu);
	slob_redact(clean, sizeof(clean), text ? text : "", (const char *const *)log->secrets,
		    log->nsecrets);
	size_t n = format_line(line, sizeof(line), ts_ns, level, component, clean);
	bool all_open = true;
	for (unsigned i = 0; i < log->nfiles; i++)
		all_open = all_open && log->f[i].fd >= 0;
	if (log->lost_pending && (all_open || now >= log->next_retry_ns))
		note_recovery(log, now);
	int rc = log->lost_pending && log->f[0].fd < 0 && now < log->next_retry_ns
		     ? -log->lost_errno
		     : emit(log, level, line, n, now);
	if (rc < 0) {
		if (!log->lost_pending) {
			log->lost_since_ns = now;
		}
		log->lost_pending++;
		log->lost_errno = -rc;
		log->c.lost++;
	}
	log->c.degraded = log->lost_pending != 0;
	pthread_mutex_unlock(&log->mu);
	if (log->p.echo_stderr && level >= SLOB_LVL_WARNING)
		fputs(line, stderr);
	return rc < 0 ? rc : 0;
}

int slob_log_vprintf(slob_log_t *log, int level, const char *component, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX];
	if (!log)
		return -EINVAL;
	if (level < log->min_level)
		return 1;
	vsnprintf(text, sizeof(text), fmt, ap);
	return slob_log_write(log, 0, level, component, text);
}

int slob_log_printf(slob_log_t *log, int level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = slob_log_vprintf(log, level, component, fmt, ap);
	va_end(ap);
	return rc;
}

int slob_log_create(const struct slob_log_params *p, bool lenient, slob_log_t **out, char *err,
		    size_t errlen)
{
	int rc = slob_log_params_validate(p, err, errlen);
	if (rc < 0)
		return rc;
	struct slob_log *log = calloc(1, sizeof(*log));
	if (!log) {
		snprintf(err, errlen, "log: out of memory");
		return -ENOMEM;
	}
	log->p = *p;
	pthread_mutex_init(&log->mu, NULL);
	snprintf(log->f[0].path, sizeof(log->f[0].path), "%s", p->trading_file);
	log->f[0].min_level = p->level;
	log->f[0].fd = -1;
	log->nfiles = 1;
	if (p->errors_file[0]) {
		snprintf(log->f[1].path, sizeof(log->f[1].path), "%s", p->errors_file);
		log->f[1].min_level = p->errors_level;
		log->f[1].fd = -1;
		log->nfiles = 2;
	}
	log->min_level =
	    log->nfiles == 2 && p->errors_level < p->level ? p->errors_level : p->level;
	for (unsigned i = 0; i < log->nfiles; i++) {
		rc = lf_open(&log->f[i]);
		if (rc < 0) {
			snprintf(err, errlen, "log file %s: %s", log->f[i].path, strerror(-rc));
			if (!lenient) {
				slob_log_free(log);
				return rc;
			}
			log->c.write_errors++;
			log->c.last_errno = -rc;
			log->c.degraded = true;
		}
	}
	*out = log;
	return 0;
}

int slob_log_set_levels(slob_log_t *log, int level, int errors_level)
{
	if (log == NULL || level < SLOB_LVL_DEBUG || level > SLOB_LVL_CRITICAL ||
	    errors_level < SLOB_LVL_DEBUG || errors_level > SLOB_LVL_CRITICAL)
		return -EINVAL;
	pthread_mutex_lock(&log->mu);
	log->p.level = level;
	log->p.errors_level = errors_level;
	log->f[0].min_level = level;
	if (log->nfiles == 2)
		log->f[1].min_level = errors_level;
	log->min_level = log->nfiles == 2 && errors_level < level ? errors_level : level;
	pthread_mutex_unlock(&log->mu);
	return 0;
}

void slob_log_free(slob_log_t *log)
{
	if (!log)
		return;
	for (unsigned i = 0; i < log->nfiles; i++)
		if (log->f[i].fd >= 0)
			close(log->f[i].fd);
	for (unsigned i = 0; i < log->nsecrets; i++) {
		size_t n = strlen(log->secrets[i]);
		memset(log->secrets[i], 0, n); /* don't leave secrets in freed memory */
		free(log->secrets[i]);
	}
	pthread_mutex_destroy(&log->mu);
	free(log);
}

int slob_log_redact_add(slob_log_t *log, const char *secret)
{
	if (!log || !secret || strlen(secret) < 4)
		return -EINVAL;
	pthread_mutex_lock(&log->mu);
	int rc = 0;
	for (unsigned i = 0; i < log->nsecrets; i++)
		if (strcmp(log->secrets[i], secret) == 0)
			goto out;
	if (log->nsecrets >= LOG_MAX_SECRETS) {
		rc = -ENOSPC;
		goto out;
	}
	log->secrets[log->nsecrets] = strdup(secret);
	if (!log->secrets[log->nsecrets])
		rc = -ENOMEM;
	else
		log->nsecrets++;
out:
	pthread_mutex_unlock(&log->mu);
	return rc;
}

void slob_log_counters(slob_log_t *log, struct slob_log_counters *out)
{
	pthread_mutex_lock(&log->mu);
	*out = log->c;
	pthread_mutex_unlock(&log->mu);
}

int slob_log_rotate(slob_log_t *log)
{
	int rc = 0;
	pthread_mutex_lock(&log->mu);
	for (unsigned i = 0; i < log->nfiles; i++) {
		int r = lf_rotate(log, &log->f[i]);
		if (r < 0)
			rc = r;
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

/* ---- cold records --------------------------------------------------------- */

/* The log says PLACED for 0 (sent, not yet acknowledged) and ? for kinds
 * without a status name; the rest as in the orders table. */
static const char *exec_name(unsigned k)
{
	if (k == 0)
		return "PLACED";
	const char *n = slob_cold_exec_name(k);
	return n ? n : "?";
}

/* Prices in ticks of 0.25 (NQ) rendered with two decimals. */
static void px(char *b, size_t n, int32_t ticks)
{
	long long q = (long long)ticks * 25;
	snprintf(b, n, "%s%lld.%02lld", q < 0 ? "-" : "", (q < 0 ? -q : q) / 100,
		 (q < 0 ? -q : q) % 100);
}

/* Cents rendered as dollars with two decimals. */
static void money(char *b, size_t n, int64_t cents)
{
	long long q = (long long)cents;
	snprintf(b, n, "%s%lld.%02lld", q < 0 ? "-" : "", (q < 0 ? -q : q) / 100,
		 (q < 0 ? -q : q) % 100);
}

int slob_log_format_cold(const struct slob_cold *rec, char *buf, size_t len, const char **component)
{
	char a[24], b[24], c[24];
	switch (rec->type) {
	case SLOB_COLD_LOG:
	case SLOB_COLD_ALERT:
	case SLOB_COLD_CONN:
	case SLOB_COLD_UNKNOWN_BROKER: {
		const struct slob_cold_text *t = &rec->u.text;
		*component = t->component[0] ? t->component : "engine";
		static const char *const prefix[] = {[SLOB_COLD_ALERT] = "alert: ",
						     [SLOB_COLD_CONN] = "connection: ",
						     [SLOB_COLD_UNKNOWN_BROKER] =
							 "unknown broker object: "};
		char text[sizeof(t->text) + 1];
		memcpy(text, t->text, sizeof(t->text));
		text[sizeof(t->text)] = 0;
		snprintf(buf, len, "%s%s", rec->type == SLOB_COLD_LOG ? "" : prefix[rec->type],
			 text);
		return t->level <= SLOB_LVL_CRITICAL ? t->level : SLOB_LVL_ERROR;
	}
	case SLOB_COLD_ORDER: {
		const struct slob_cold_order *o = &rec->u.order;
		*component = "orders";
		px(a, sizeof(a), o->px);
		snprintf(buf, len,
			 "order %s %s %s %d @ %s id=%lld parent=%lld orderRef=%.*s setup=%016llx",
			 exec_name(o->status), slob_role_name(o->role), o->dir > 0 ? "BUY" : "SELL",
			 o->qty, a, (long long)o->order_id, (long long)o->parent_id,
			 (int)sizeof(o->order_ref), o->order_ref, (unsigned long long)o->setup_id);
		if (o->code || o->text[0]) {
			size_t l = strlen(buf);
			snprintf(buf + l, len - l, " code=%d %.*s", o->code, (int)sizeof(o->text),
				 o->text);
		}
		return o->status == SLOB_EXEC_REJECTED ? SLOB_LVL_ERROR : SLOB_LVL_INFO;
	}
	case SLOB_COLD_FILL: {
		const struct slob_cold_fill *f = &rec->u.fill;
		*component = "orders";
		px(a, sizeof(a), f->px);
		snprintf(buf, len,
			 "fill %s %s %d @ %s order=%lld orderRef=%.*s exec=%.*s setup=%016llx",
			 slob_role_name(f->role), f->dir > 0 ? "BOUGHT" : "SOLD", f->qty, a,
			 (long long)f->order_id, (int)sizeof(f->order_ref), f->order_ref,
			 (int)sizeof(f->exec_id), f->exec_id, (unsigned long long)f->setup_id);
		return SLOB_LVL_INFO;
	}
	case SLOB_COLD_TRADE: {
		const struct slob_cold_trade *t = &rec->u.trade;
		*component = "trades";
		px(a, sizeof(a), t->entry_px);
		px(b, sizeof(b), t->exit_px);
		long long p = t->pnl_cents;
		snprintf(
		    buf, len,
		    "trade closed %s %d entry %s exit %s (%s) P&L %s$%lld.%02lld setup=%016llx",
		    t->dir > 0 ? "LONG" : "SHORT", t->qty, a, b,
		    t->exit_role == SLOB_ROLE_TP   ? "TP"
		    : t->exit_role == SLOB_ROLE_SL ? "SL"
						   : "manual",
		    p < 0 ? "-" : "", (p < 0 ? -p : p) / 100, (p < 0 ? -p : p) % 100,
		    (unsigned long long)t->setup_id);
		return SLOB_LVL_INFO;
	}
	case SLOB_COLD_BREAKER: {
		const struct slob_cold_breaker *br = &rec->u.breaker;
		*component = "risk";
		if (br->tripped)
			snprintf(buf, len, "Circuit breaker tripped: reason %u value %lld %.*s",
				 br->reason, (long long)br->value, (int)sizeof(br->why), br->why);
		else
			snprintf(buf, len, "Circuit breaker reset by %.*s: %.*s",
				 (int)sizeof(br->who), br->who[0] ? br->who : "?",
				 (int)sizeof(br->why), br->why);
		return br->tripped ? SLOB_LVL_CRITICAL : SLOB_LVL_WARNING;
	}
	case SLOB_COLD_SETUP: {
		const struct slob_setup *s = &rec->u.setup;
		*component = "detector";
		px(a, sizeof(a), s->entry);
		px(b, sizeof(b), s->sl);
		px(c, sizeof(c), s->tp);
		if (s->state == SLOB_ST_SETUP_COMPLETE)
			snprintf(buf, len, "SETUP FOUND %016llx %s entry %s sl %s tp %s rr %.2f",
				 (unsigned long long)s->id, s->dir > 0 ? "LONG" : "SHORT", a, b, c,
				 s->rr_milli / 1000.0);
		else
			snprintf(buf, len, "setup %016llx %s %s%s%s", (unsigned long long)s->id,
				 s->dir > 0 ? "LONG" : "SHORT", slob_state_name(s->state),
				 s->reason ? " " : "", slob_reason_name(s->reason));
		return s->state == SLOB_ST_SETUP_COMPLETE ? SLOB_LVL_INFO : SLOB_LVL_DEBUG;
	}
	case SLOB_COLD_DECISION: {
		const struct slob_cold_decision *d = &rec->u.decision;
		*component = "risk";
		if (d->reason)
			snprintf(buf, len, "setup %016llx rejected by risk gate: %s (reason %u)",
				 (unsigned long long)d->setup_id, slob_risk_reason_name(d->reason),
				 d->reason);
		else if (d->equity_cents != 0) {
			money(a, sizeof(a), d->equity_cents);
			snprintf(buf, len, "setup %016llx accepted: %d contracts (sized on %s equity %s)",
				 (unsigned long long)d->setup_id, d->qty,
				 d->equity_src == 1 ? "broker" : "config", a);
		} else
			snprintf(buf, len, "setup %016llx accepted: %d contracts",
				 (unsigned long long)d->setup_id, d->qty);
		return SLOB_LVL_INFO;
	}
	default:
		return -1;
	}
}

void slob_log_sink_cold(void *ctx, const struct slob_cold *rec)
{
	char msg[LOG_LINE_MAX];
	const char *component = "engine";
	int level = slob_log_format_cold(rec, msg, sizeof(msg), &component);
	if (level < 0)
		return;
	slob_log_write(ctx, rec->ts_ns ? rec->ts_ns : 0, level, component, msg);
}

void slob_log_sink_tick(void *ctx, int64_t now)
{
	struct slob_log *log = ctx;
	(void)now;
	if (!log)
		return;
	pthread_mutex_lock(&log->mu);
	int64_t t = now_ns();
	if (log->lost_pending && t >= log->next_retry_ns && log->p.level <= SLOB_LVL_WARNING)
		note_recovery(log, t);
	log->c.degraded = log->lost_pending != 0;
	pthread_mutex_unlock(&log->mu);
}
