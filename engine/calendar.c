/* SPDX-License-Identifier: MIT */
/*
 * calendar.c: parsing of the holiday file and the news calendar (cold path)
 * and the binary-search lookups the risk gate uses on the hot path. See
 * calendar.h for the formats and invariants.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/calendar.h"

void slob_calendar_init(struct slob_calendar *cal)
{
	memset(cal, 0, sizeof(*cal));
}

void slob_calendar_destroy(struct slob_calendar *cal)
{
	if (cal == NULL)
		return;
	free(cal->holidays);
	free(cal->news);
	memset(cal, 0, sizeof(*cal));
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

int slob_calendar_parse_date(const char *s, int32_t *ymd)
{
	int y, m, d, n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[n] != '\0')
		return -EINVAL;
	if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -EINVAL;
	*ymd = y * 10000 + m * 100 + d;
	return 0;
}

int slob_calendar_parse_hhmm(const char *s, int32_t *minute)
{
	int h, m, n = 0;
	if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || s[n] != '\0')
		return -EINVAL;
	if (h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0))
		return -EINVAL;
	*minute = h * 60 + m;
	return 0;
}

/* Copies one line (without the newline) into buf; returns pointer past it. */
static const char *next_line(const char *p, char *buf, size_t cap, int *toolong)
{
	size_t n = 0;
	*toolong = 0;
	while (*p && *p != '\n') {
		if (n + 1 < cap)
			buf[n++] = *p;
		else
			*toolong = 1;
		p++;
	}
	if (*p == '\n')
		p++;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return p;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void strip_comment(char *s)
{
	char *h = strchr(s, '#');
	if (h)
		*h = '\0';
}

static int holiday_insert(struct slob_calendar *cal, const struct slob_holiday *h)
{
	unsigned lo = 0, hi = cal->nholidays;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (cal->holidays[mid].ymd < h->ymd)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < cal->nholidays && cal->holidays[lo].ymd == h->ymd) {
		cal->holidays[lo] = *h; /* invariant 1: later line wins */
		return 0;
	}
	if (cal->nholidays == cal->holidays_cap) {
		unsigned nc = cal->holidays_cap ? cal->holidays_cap * 2 : 32;
		struct slob_holiday *nh = realloc(cal->holidays, nc * sizeof(*nh));
		if (nh == NULL)
			return -ENOMEM;
		cal->holidays = nh;
		cal->holidays_cap = nc;
	}
	memmove(&cal->holidays[lo + 1], &cal->holidays[lo],
		(cal->nholidays - lo) * sizeof(*cal->holidays));
	cal->holidays[lo] = *h;
	cal->nholidays++;
	return 0;
}

int slob_calendar_parse_holidays(struct slob_calendar *cal, const char *text, const char *src,
				 char *err, size_t errlen)
{
	char line[512];
	int lineno = 0, added = 0, toolong;
	const char *p = text;
	if (src == NULL)
		src = "holidays";
	while (*p) {
		p = next_line(p, line, sizeof(line), &toolong);
		lineno++;
		if (toolong) {
			snprintf(err, errlen, "%s:%d: line longer than %zu characters", src, lineno,
				 sizeof(line) - 1);
			return -EINVAL;
		}
		strip_comment(line);
		char *s = trim(line);
		if (*s == '\0')
			continue;
		struct slob_holiday h = {.close_minute = -1};
		char *tok = s;
		char *rest = s + strcspn(s, " \t");
		if (*rest)
			*rest++ = '\0';
		if (slob_calendar_parse_date(tok, &h.ymd) < 0) {
			snprintf(err, errlen,
				 "%s:%d: bad date '%.20s' (expected YYYY-MM-DD [HH:MM] [name])",
				 src, lineno, tok);
			return -EINVAL;
		}
		rest = trim(rest);
		if (isdigit((unsigned char)rest[0])) {
			char *t2 = rest;
			char *r2 = rest + strcspn(rest, " \t");
			if (*r2)
				*r2++ = '\0';
			if (slob_calendar_parse_hhmm(t2, &h.close_minute) < 0) {
				snprintf(err, errlen,
					 "%s:%d: bad early-close time '%.20s' (expected HH:MM, "
					 "00:00..24:00)",
					 src, lineno, t2);
				return -EINVAL;
			}
			rest = trim(r2);
		}
		snprintf(h.name, sizeof(h.name), "%s", rest);
		int rc = holiday_insert(cal, &h);
		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: out of memory", src, lineno);
			return rc;
		}
		added++;
	}
	return added;
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	for (;;) {
		if (n + 1024 + 1 > cap) {
			if (cap > (64u << 20)) {
				snprintf(err, errlen, "%s: file larger than 64 MiB", path);
				free(buf);
				fclose(f);
				return -EFBIG;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		return -EIO;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte (not a text file)", path);
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	return 0;
}

int slob_calendar_load_holidays(struct slob_calendar *cal, const char *path, char *err,
				size_t errlen)
{
	char *text = NULL;
	int rc = read_file(path, &text, err, errlen);
	if (rc < 0)
		return rc;
	rc = slob_calendar_parse_holidays(cal, text, path, err, errlen);
	free(text);
	return rc;
}

static int news_push(struct slob_calendar *cal, int64_t start, int64_t end, const char *name)
{
	if (cal->nnews == cal->news_cap) {
		unsigned nc = cal->news_cap ? cal->news_cap * 2 : 64;
		struct slob_news_window *nw = realloc(cal->news, nc * sizeof(*nw));
		if (nw == NULL)
			return -ENOMEM;
		cal->news = nw;
		cal->news_cap = nc;
	}
	struct slob_news_window *w = &cal->news[cal->nnews++];
	w->start_ns = start;
	w->end_ns = end;
	snprintf(w->name, sizeof(w->name), "%s", name);
	return 0;
}

static int cmp_window(const void *a, const void *b)
{
	const struct slob_news_window *x = a, *y = b;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return (x->end_ns > y->end_ns) - (x->end_ns < y->end_ns);
}

/* Invariant 2: sorted, non-overlapping (touching windows merge too). */
static void news_merge(struct slob_calendar *cal)
{
	if (cal->nnews < 2)
		return;
	qsort(cal->news, cal->nnews, sizeof(*cal->news), cmp_window);
	unsigned w = 0;
	for (unsigned i = 1; i < cal->nnews; i++) {
		if (cal->news[i].start_ns <= cal->news[w].end_ns) {
			if (cal->news[i].end_ns > cal->news[w].end_ns)
				cal->news[w].end_ns = cal->news[i].end_ns;
		} else {
			cal->news[++w] = cal->news[i];
		}
	}
	cal->nnews = w + 1;
}

static int parse_impact(const char *s)
{
	if (strcasecmp(s, "LOW") == 0)
		return 1;
	if (strcasecmp(s, "MEDIUM") == 0 || strcasecmp(s, "MED") == 0)
		return 2;
	if (strcasecmp(s, "HIGH") == 0)
		return 3;
	return -1;
}

int slob_calendar_parse_news(struct slob_calendar *cal, const char *text, const char *src,
			     struct slob_tz *tz, int before_min, int after_min, int min_impact,
			     char *err, size_t errlen)
{
	char line[512];
	int lineno = 0, kept = 0, toolong, data_lines = 0;
	const char *p = text;
	if (src == NULL)
		src = "news";
	if (tz == NULL || before_min < 0 || after_min < 0) {
		snprintf(err, errlen, "%s: bad arguments (time zone, before/after minutes >= 0)",
			 src);
		return -EINVAL;
	}
	while (*p) {
		p = next_line(p, line, sizeof(line), &toolong);
		lineno++;
		if (toolong) {
			snprintf(err, errlen, "%s:%d: line longer than %zu characters", src, lineno,
				 sizeof(line) - 1);
			return -EINVAL;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (data_lines++ == 0 && strncasecmp(s, "date", 4) == 0)
			continue; /* header */
		char *f[4];
		int nf = 1;
		f[0] = s;
		for (char *q = s; nf < 4 && (q = strchr(q, ',')) != NULL;) {
			*q++ = '\0';
			f[nf++] = q;
		}
		if (nf < 4) {
			snprintf(err, errlen,
				 "%s:%d: expected 4 fields date,time,impact,name (got %d)", src,
				 lineno, nf);
			return -EINVAL;
		}
		for (int i = 0; i < 4; i++)
			f[i] = trim(f[i]);
		int32_t ymd, minute = -1;
		if (slob_calendar_parse_date(f[0], &ymd) < 0) {
			snprintf(err, errlen, "%s:%d: field date: bad date '%.20s' (YYYY-MM-DD)",
				 src, lineno, f[0]);
			return -EINVAL;
		}
		if (f[1][0] != '\0' && strcasecmp(f[1], "all-day") != 0 &&
		    slob_calendar_parse_hhmm(f[1], &minute) < 0) {
			snprintf(err, errlen,
				 "%s:%d: field time: bad time '%.20s' (HH:MM 00:00..24:00, empty "
				 "or all-day)",
				 src, lineno, f[1]);
			return -EINVAL;
		}
		int imp = parse_impact(f[2]);
		if (imp < 0) {
			snprintf(err, errlen,
				 "%s:%d: field impact: '%.20s' is not LOW, MEDIUM or HIGH", src,
				 lineno, f[2]);
			return -EINVAL;
		}
		if (f[3][0] == '\0') {
			snprintf(err, errlen, "%s:%d: field name: empty event name", src, lineno);
			return -EINVAL;
		}
		cal->nevents++;
		if (imp < min_impact)
			continue;
		int64_t start, end;
		if (minute < 0) {
			int y = ymd / 10000;
			unsigned m = (unsigned)(ymd / 100 % 100), d = (unsigned)(ymd % 100);
			int64_t days = slob_days_from_civil(y, m, d) + 1;
			int ny;
			unsigned nm, nd;
			slob_civil_from_days(days, &ny, &nm, &nd);
			start = slob_tz_to_utc(tz, ymd, 0);
			end = slob_tz_to_utc(tz, ny * 10000 + (int32_t)nm * 100 + (int32_t)nd, 0);
		} else {
			start = end = slob_tz_to_utc(tz, ymd, minute);
		}
		start -= (int64_t)before_min * SLOB_NS_PER_MIN;
		end += (int64_t)after_min * SLOB_NS_PER_MIN;
		if (end <= start)
			continue; /* zero-width window blocks nothing */
		if (news_push(cal, start, end, f[3]) < 0) {
			snprintf(err, errlen, "%s:%d: out of memory", src, lineno);
			return -ENOMEM;
		}
		kept++;
	}
	news_merge(cal);
	return kept;
}

int slob_calendar_load_news(struct slob_calendar *cal, const char *path, struct slob_tz *tz,
			    int before_min, int after_min, int min_impact, char *err, size_t errlen)
{
	char *text = NULL;
	int rc = read_file(path, &text, err, errlen);
	if (rc < 0)
		return rc;
	rc = slob_calendar_parse_news(cal, text, path, tz, before_min, after_min, min_impact, err,
				      errlen);
	free(text);
	return rc;
}

const struct slob_holiday *slob_calendar_holiday(const struct slob_calendar *cal, int32_t ymd)
{
	unsigned lo = 0, hi = cal->nholidays;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		int32_t v = cal->holidays[mid].ymd;
		if (v == ymd)
			return &cal->holidays[mid];
		if (v < ymd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct slob_news_window *slob_calendar_news_at(const struct slob_calendar *cal,
						     int64_t utc_ns)
{
	/* last window with start <= utc_ns */
	unsigned lo = 0, hi = cal->nnews;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (cal->news[mid].start_ns <= utc_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct slob_news_window *w = &cal->news[lo - 1];
	return utc_ns < w->end_ns ? w : NULL;
}
