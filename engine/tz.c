/* SPDX-License-Identifier: MIT */
/*
 * tz.c: builds the UTC-offset transition tables of engine/tz.h from the
 * system tz database (TZif version 2+ files, 64-bit section), so the hot path
 * converts UTC to Stockholm / New York wall-clock time with a cached range
 * check instead of libc's localtime (which takes a lock and may stat the tz
 * file).
 *
 * Design notes
 *  1. Loading is cold-path: it reads one file, may allocate nothing beyond
 *     the stack, and fills the caller's struct slob_tz.
 *  2. The table covers [Jan 1 of year_from - 1 day, Jan 1 of year_to + 1
 *     + 1 day). Entry 0 starts at the lower edge and carries the offset in
 *     force there; entries are strictly increasing in start_ns.
 *  3. Transitions after the file's last explicit one come from the TZif
 *     footer (a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0"); only the
 *     Mm.w.d rule form is supported (every zone we use has it), other forms
 *     fail the load with a message if they are needed for the range.
 *  4. Lookups clamp: a time before the table uses entry 0, after it the last.
 */
#include "engine/tz.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Thread_local char tz_err[256];

static int tz_fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tz_err, sizeof(tz_err), fmt, ap);
	va_end(ap);
	return rc;
}

const char *slob_tz_strerror(void)
{
	return tz_err;
}

/* ---- civil dates (H. Hinnant's algorithms) ------------------------------ */

int64_t slob_days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void slob_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t yy = (int64_t)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* ---- TZif parsing --------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int tzif_header(const unsigned char *p, size_t len, struct tzif_hdr *h, int *version)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	*version = p[4] ? p[4] - '0' : 1;
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return 0;
}

static size_t tzif_body_len(const struct tzif_hdr *h, int tsize)
{
	return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
	       (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* POSIX TZ rule "Mm.w.d[/time]" */
struct tz_rule {
	int m, w, d;
	int32_t time_s;
};

struct tz_posix {
	int32_t std_off, dst_off; /* seconds EAST of UTC (TZif convention) */
	int has_dst;
	struct tz_rule start, end;
};

static const char *posix_name(const char *s)
{
	if (*s == '<') {
		while (*s && *s != '>')
			s++;
		return *s ? s + 1 : NULL;
	}
	const char *b = s;
	while (isalpha((unsigned char)*s))
		s++;
	return s - b >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]] -> seconds */
static const char *posix_time(const char *s, int32_t *out)
{
	int sign = 1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return NULL;
	int32_t v = 0, part = 0;
	while (isdigit((unsigned char)*s))
		part = part * 10 + (*s++ - '0');
	v = part * 3600;
	for (int k = 0; k < 2 && *s == ':'; k++) {
		s++;
		part = 0;
		while (isdigit((unsigned char)*s))
			part = part * 10 + (*s++ - '0');
		v += k == 0 ? part * 60 : part;
	}
	*out = sign * v;
	return s;
}

static const char *posix_rule(const char *s, struct tz_rule *r)
{
	if (*s != 'M')
		return NULL;
	s++;
	char *e;
	r->m = (int)strtol(s, &e, 10);
	if (*e != '.')
		return NULL;
	r->w = (int)strtol(e + 1, &e, 10);
	if (*e != '.')
		return NULL;
	r->d = (int)strtol(e + 1, &e, 10);
	s = e;
	if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
		return NULL;
	r->time_s = 7200;
	if (*s == '/') {
		s = posix_time(s + 1, &r->time_s);
		if (!s)
			return NULL;
	}
	return s;
}

static int posix_parse(const char *s, struct tz_posix *p)
{
	int32_t v;
	memset(p, 0, sizeof(*p));
	s = posix_name(s);
	if (!s || !(s = posix_time(s, &v)))
		return -1;
	p->std_off = -v;
	if (*s == '\0')
		return 0;
	s = posix_name(s);
	if (!s)
		return -1;
	p->has_dst = 1;
	p->dst_off = p->std_off + 3600;
	if (*s != ',') {
		if (!(s = posix_time(s, &v)))
			return -1;
		p->dst_off = -v;
	}
	if (*s++ != ',' || !(s = posix_rule(s, &p->start)) || *s++ != ',' ||
	    !(s = posix_rule(s, &p->end)))
		return -1;
	return *s == '\0' ? 0 : -1;
}

/* Local-time day of the rule in `year` (days since epoch). */
static int64_t rule_day(const struct tz_rule *r, int year)
{
	int64_t first = slob_days_from_civil(year, (unsigned)r->m, 1);
	int wd_first = (int)((first % 7 + 11) % 7); /* 1970-01-01 was Thursday (4) */
	int64_t day = first + ((r->d - wd_first + 7) % 7) + 7 * (r->w - 1);
	if (r->w == 5) {
		unsigned mm = r->m == 12 ? 1 : (unsigned)r->m + 1;
		int64_t next = slob_days_from_civil(r->m == 12 ? year + 1 : year, mm, 1);
		while (day >= next)
			day -= 7;
	}
	return day;
}

static int tz_push(struct slob_tz *tz, int64_t start_s, int32_t off)
{
	if (tz->n && tz->offset_s[tz->n - 1] == off)
		return 0;
	if (tz->n >= SLOB_TZ_MAX_TRANS)
		return -E2BIG;
	tz->start_ns[tz->n] = start_s * SLOB_NS_PER_SEC;
	tz->offset_s[tz->n] = off;
	tz->n++;
	return 0;
}

int slob_tz_load(struct slob_tz *tz, const char *zone, int year_from, int year_to)
{
	unsigned char buf[1 << 16];
	char path[512];
	const char *dir = getenv("TZDIR");
	int rc;

	tz_err[0] = '\0';
	if (!tz || !zone || !*zone)
		return tz_fail(-EINVAL, "tz: zone name missing");
	if (year_from > year_to || year_from < 1900 || year_to > 2200)
		return tz_fail(-EINVAL, "tz: year range %d..%d invalid (allowed 1900..2200)",
			       year_from, year_to);
	if (zone[0] == '/' || strstr(zone, ".."))
		return tz_fail(-EINVAL, "tz: zone name '%s' invalid", zone);
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, zone) >= sizeof(path))
		return tz_fail(-ENAMETOOLONG, "tz: path too long for zone '%s'", zone);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return tz_fail(-e, "tz: cannot open %s: %s", path, strerror(e));
	}
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return tz_fail(-e, "tz: read %s: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf)) {
			close(fd);
			return tz_fail(-EFBIG, "tz: %s larger than %zu bytes", path, sizeof(buf));
		}
	}
	close(fd);

	struct tzif_hdr h;
	int version;
	if (tzif_header(buf, len, &h, &version) < 0)
		return tz_fail(-EINVAL, "tz: %s is not a TZif file", path);
	if (version < 2)
		return tz_fail(-EINVAL, "tz: %s is TZif version 1 (need 2+ for 64-bit times)",
			       path);
	size_t off = 44 + tzif_body_len(&h, 4);
	if (off > len || tzif_header(buf + off, len - off, &h, &version) < 0)
		return tz_fail(-EINVAL, "tz: %s: truncated or missing 64-bit section", path);
	const unsigned char *p = buf + off + 44;
	size_t body = tzif_body_len(&h, 8);
	if (off + 44 + body > len || h.typecnt == 0)
		return tz_fail(-EINVAL, "tz: %s: truncated 64-bit section", path);
	const unsigned char *times = p;
	const unsigned char *idx = times + (size_t)h.timecnt * 8;
	const unsigned char *types = idx + h.timecnt;
	for (uint32_t i = 0; i < h.timecnt; i++)
		if (idx[i] >= h.typecnt)
			return tz_fail(-EINVAL, "tz: %s: bad type index", path);

	/* footer: \nTZ-string\n */
	char footer[128] = "";
	const unsigned char *f = p + body;
	if (f < buf + len && *f == '\n') {
		const unsigned char *e = memchr(f + 1, '\n', (size_t)(buf + len - f - 1));
		if (e && (size_t)(e - f - 1) < sizeof(footer)) {
			memcpy(footer, f + 1, (size_t)(e - f - 1));
			footer[e - f - 1] = '\0';
		}
	}

	int64_t lo_s = (slob_days_from_civil(year_from, 1, 1) - 1) * 86400;
	int64_t hi_s = (slob_days_from_civil(year_to + 1, 1, 1) + 1) * 86400;

	memset(tz, 0, sizeof(*tz));
	snprintf(tz->name, sizeof(tz->name), "%s", zone);

	/* Offset in force at lo_s from explicit data: the type of the last
	 * transition <= lo_s, else the first type (RFC 8536: type 0). */
	int32_t cur = (int32_t)be32(types);
	int64_t last_t = INT64_MIN;
	for (uint32_t i = 0; i < h.timecnt; i++) {
		int64_t t = be64(times + 8 * (size_t)i);
		int32_t o = (int32_t)be32(types + 6 * (size_t)idx[i]);
		last_t = t;
		if (t <= lo_s) {
			cur = o;
			continue;
		}
		if (t >= hi_s)
			break;
		if (tz->n == 0 && (rc = tz_push(tz, lo_s, cur)) < 0)
			goto big;
		if ((rc = tz_push(tz, t, o)) < 0)
			goto big;
	}
	if (tz->n == 0)
		tz_push(tz, lo_s, cur);

	if (last_t < hi_s && footer[0]) {
		struct tz_posix px;
		if (posix_parse(footer, &px) < 0)
			return tz_fail(-ENOTSUP,
				       "tz: %s: footer rule '%s' not supported (need Mm.w.d form)",
				       path, footer);
		if (!px.has_dst) {
			if (tz->offset_s[tz->n - 1] != px.std_off &&
			    (rc = tz_push(tz, last_t > lo_s ? last_t : lo_s, px.std_off)) < 0)
				goto big;
		} else {
			int y0, y1;
			unsigned mm, dd;
			slob_civil_from_days(floor_div(last_t > lo_s ? last_t : lo_s, 86400), &y0,
					     &mm, &dd);
			slob_civil_from_days(floor_div(hi_s, 86400), &y1, &mm, &dd);
			for (int y = y0; y <= y1; y++) {
				/* Rule times are local: start in standard, end in DST time. */
				int64_t ts =
				    rule_day(&px.start, y) * 86400 + px.start.time_s - px.std_off;
				int64_t te =
				    rule_day(&px.end, y) * 86400 + px.end.time_s - px.dst_off;
				int64_t a = ts < te ? ts : te, b = ts < te ? te : ts;
				int32_t oa = ts < te ? px.dst_off : px.std_off;
				int32_t ob = ts < te ? px.std_off : px.dst_off;
				if (a > last_t && a > lo_s && a < hi_s &&
				    (rc = tz_push(tz, a, oa)) < 0)
					goto big;
				if (b > last_t && b > lo_s && b < hi_s &&
				    (rc = tz_push(tz, b, ob)) < 0)
					goto big;
			}
		}
	}
	return 0;
big:
	return tz_fail(rc, "tz: %s: more than %d transitions in %d..%d", zone, SLOB_TZ_MAX_TRANS,
		       year_from, year_to);
}

/* ---- lookups (hot path) --------------------------------------------------- */

static unsigned tz_find(struct slob_tz *tz, int64_t utc_ns)
{
	unsigned c = tz->cache;
	if (c < tz->n && tz->start_ns[c] <= utc_ns &&
	    (c + 1 == tz->n || utc_ns < tz->start_ns[c + 1]))
		return c;
	unsigned lo = 0, hi = tz->n; /* first entry with start > utc_ns */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (tz->start_ns[mid] <= utc_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	c = lo ? lo - 1 : 0;
	tz->cache = c;
	return c;
}

int32_t slob_tz_offset(struct slob_tz *tz, int64_t utc_ns)
{
	if (tz->n == 0)
		return 0;
	return tz->offset_s[tz_find(tz, utc_ns)];
}

void slob_tz_local(struct slob_tz *tz, int64_t utc_ns, struct slob_local *out)
{
	int32_t off = slob_tz_offset(tz, utc_ns);
	int64_t local_s = floor_div(utc_ns, SLOB_NS_PER_SEC) + off;
	int64_t day = floor_div(local_s, 86400);
	int32_t sec = (int32_t)(local_s - day * 86400);
	int y;
	unsigned m, d;
	slob_civil_from_days(day, &y, &m, &d);
	out->ymd = y * 10000 + (int32_t)m * 100 + (int32_t)d;
	out->minute = sec / 60;
	out->second = sec;
	out->wday = (int32_t)((day % 7 + 11) % 7);
	out->offset_s = off;
	out->day = day;
}

int64_t slob_tz_to_utc(struct slob_tz *tz, int32_t ymd, int32_t minute_of_day)
{
	int64_t local_s =
	    slob_days_from_civil(ymd / 10000, (unsigned)(ymd / 100 % 100), (unsigned)(ymd % 100)) *
		86400 +
	    (int64_t)minute_of_day * 60;
	/* Offsets in force a day either side bracket any single transition. */
	int32_t o1 = slob_tz_offset(tz, (local_s - 86400) * SLOB_NS_PER_SEC);
	int32_t o2 = slob_tz_offset(tz, (local_s + 86400) * SLOB_NS_PER_SEC);
	int64_t u1 = (local_s - o1) * SLOB_NS_PER_SEC;
	int64_t u2 = (local_s - o2) * SLOB_NS_PER_SEC;
	int ok1 = slob_tz_offset(tz, u1) == o1;
	int ok2 = slob_tz_offset(tz, u2) == o2;
	if (ok1 && ok2)
		return u1 < u2 ? u1 : u2;
	if (ok1)
		return u1;
	if (ok2)
		return u2;
	/* Skipped local time: the instant the gap ends is the transition. */
	return tz->start_ns[tz_find(tz, u1)];
}
