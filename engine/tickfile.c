/* SPDX-License-Identifier: MIT */
/*
 * tickfile.c: parsers, writers and a simple reader for the market-data file
 * formats of tickfile.h (specified in docs/DATA_FORMATS.md). The parsers are
 * allocation-free and syscall-free so the ingest stage can run them in place
 * over its io_uring buffers; the writers and the reader are cold-path
 * conveniences for tools, the generator and the gateway simulator.
 */
#include "engine/tickfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/tz.h"
#include "persist/fsutil.h"

static _Thread_local char tf_err[SLOB_TICKFILE_ERRLEN];

const char *slob_tickfile_strerror(void)
{
	return tf_err;
}

static int tf_fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tf_err, sizeof(tf_err), fmt, ap);
	va_end(ap);
	return rc;
}

static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- field parsers ---------------------------------------------------------- */

static inline int is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

/* Reads exactly n digits. */
static inline int digits_n(const char **pp, const char *end, int n, int *out)
{
	const char *p = *pp;
	int v = 0;
	if (end - p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*pp = p + n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Fraction digits after '.', as ns (extra digits beyond 9 are dropped). */
static int parse_frac_ns(const char **pp, const char *end, int64_t *ns)
{
	const char *p = *pp;
	int64_t v = 0;
	int nd = 0;
	if (p >= end || !is_digit(*p))
		return -1;
	while (p < end && is_digit(*p)) {
		if (nd < 9) {
			v = v * 10 + (*p - '0');
			nd++;
		}
		p++;
	}
	while (nd++ < 9)
		v *= 10;
	*pp = p;
	*ns = v;
	return 0;
}

static int parse_iso_rest(const char *p, const char *end, int y, int mo, int d, int64_t *ns,
			  const char **why)
{
	int h, mi, s = 0;
	int64_t frac = 0;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return *why = "date out of range", -EINVAL;
	if (p >= end || (*p != 'T' && *p != ' '))
		return *why = "expected 'T' or space between date and time", -EINVAL;
	while (p < end && (*p == ' ' || *p == 'T'))
		p++;
	if (digits_n(&p, end, 2, &h) || p >= end || *p++ != ':' || digits_n(&p, end, 2, &mi))
		return *why = "bad time of day (want HH:MM[:SS[.fff]])", -EINVAL;
	if (p < end && *p == ':') {
		p++;
		if (digits_n(&p, end, 2, &s))
			return *why = "bad seconds", -EINVAL;
		if (p < end && (*p == '.' || *p == ',') && ++p && parse_frac_ns(&p, end, &frac))
			return *why = "bad fraction of a second", -EINVAL;
	}
	if (h > 23 || mi > 59 || s > 59)
		return *why = "time of day out of range", -EINVAL;
	int32_t off = 0;
	if (p < end && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (p < end && (*p == '+' || *p == '-')) {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (digits_n(&p, end, 2, &oh))
			return *why = "bad UTC offset (want +HH:MM)", -EINVAL;
		if (p < end && *p == ':')
			p++;
		if (p < end && digits_n(&p, end, 2, &om))
			return *why = "bad UTC offset (want +HH:MM)", -EINVAL;
		if (oh > 23 || om > 59)
			return *why = "UTC offset out of range", -EINVAL;
		off = sign * (oh * 3600 + om * 60);
	}
	if (p != end)
		return *why = "unexpected text after the time (time zone names are not supported; "
			      "use Z or +HH:MM)",
		       -EINVAL;
	int64_t secs = slob_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
		       mi * 60 + s - off;
	/* int64 ns spans 1677-09-21 .. 2262-04-11 */
	if (secs < -INT64_MAX / SLOB_NS_PER_SEC + 1 || secs > INT64_MAX / SLOB_NS_PER_SEC - 1)
		return *why = "time out of range (1678..2261)", -EINVAL;
	*ns = secs * SLOB_NS_PER_SEC + frac;
	return 0;
}

int slob_parse_time(const char *p, const char *end, int64_t *ns, const char **why)
{
	const char *b = p;
	int neg = 0;
	if (p >= end)
		return *why = "empty timestamp", -EINVAL;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	const char *ds = p;
	uint64_t v = 0;
	while (p < end && is_digit(*p)) {
		if (p - ds >= 19)
			return *why = "timestamp has too many digits", -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	size_t nd = (size_t)(p - ds);
	if (nd == 0)
		return *why = "timestamp is not a number or an ISO-8601 time", -EINVAL;
	if (p == end) { /* integer ns */
		if (v > (uint64_t)INT64_MAX)
			return *why = "timestamp out of range", -EINVAL;
		*ns = neg ? -(int64_t)v : (int64_t)v;
		return 0;
	}
	if (!neg && nd == 4 && *p == '-') { /* YYYY-MM-DD... */
		int mo, d;
		p++;
		if (digits_n(&p, end, 2, &mo) || p >= end || *p++ != '-' ||
		    digits_n(&p, end, 2, &d))
			return *why = "bad date (want YYYY-MM-DD)", -EINVAL;
		return parse_iso_rest(p, end, (int)v, mo, d, ns, why);
	}
	if (!neg && nd == 8 && *p == ' ') /* IB: YYYYMMDD HH:MM:SS */
		return parse_iso_rest(p, end, (int)(v / 10000), (int)(v / 100 % 100),
				      (int)(v % 100), ns, why);
	if (*p == '.') { /* decimal seconds */
		int64_t frac;
		p++;
		if (parse_frac_ns(&p, end, &frac) || p != end)
			return *why = "bad decimal seconds", -EINVAL;
		if (v > (uint64_t)INT64_MAX / SLOB_NS_PER_SEC - 1)
			return *why = "timestamp out of range", -EINVAL;
		int64_t t = (int64_t)v * SLOB_NS_PER_SEC + frac;
		*ns = neg ? -t : t;
		return 0;
	}
	(void)b;
	return *why = "timestamp is not a number or an ISO-8601 time", -EINVAL;
}

int64_t slob_tick_nano(double tick_size)
{
	if (!(tick_size > 0) || tick_size > 1e6)
		return 0;
	int64_t n = llround(tick_size * 1e9);
	return n > 0 ? n : 0;
}

/* Decimal into 1e-9 units. */
static int parse_decimal_nano(const char *p, const char *end, int64_t *out, const char **why)
{
	int neg = 0;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	const char *ds = p;
	int64_t ip = 0;
	while (p < end && is_digit(*p)) {
		if (p - ds >= 9)
			return *why = "number too large", -EINVAL;
		ip = ip * 10 + (*p - '0');
		p++;
	}
	int have_int = p > ds;
	int64_t frac = 0;
	if (p < end && *p == '.') {
		p++;
		if (p < end && is_digit(*p)) {
			if (parse_frac_ns(&p, end, &frac))
				return *why = "bad number", -EINVAL;
		} else if (!have_int) {
			return *why = "not a number", -EINVAL;
		}
	} else if (!have_int) {
		return *why = "not a number", -EINVAL;
	}
	if (p != end)
		return *why = "not a number", -EINVAL;
	int64_t v = ip * 1000000000LL + frac;
	*out = neg ? -v : v;
	return 0;
}

int slob_parse_price(const char *p, const char *end, int64_t tick_nano, int64_t *ticks,
		     const char **why)
{
	int64_t v;
	if (p >= end)
		return *why = "empty price", -EINVAL;
	if (parse_decimal_nano(p, end, &v, why))
		return -EINVAL;
	/* round half away from zero */
	*ticks = v >= 0 ? (v + tick_nano / 2) / tick_nano : -((-v + tick_nano / 2) / tick_nano);
	return 0;
}

int slob_format_price(char *buf, size_t len, int64_t ticks, int64_t tick_nano)
{
	int64_t v = ticks * tick_nano;
	const char *sign = v < 0 ? "-" : "";
	uint64_t a = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
	uint64_t ip = a / 1000000000ULL, fp = a % 1000000000ULL;
	int nd = 9;
	while (nd > 2 && fp % 10 == 0) {
		fp /= 10;
		nd--;
	}
	return snprintf(buf, len, "%s%llu.%0*llu", sign, (unsigned long long)ip, nd,
			(unsigned long long)fp);
}

int slob_format_time_iso(char *buf, size_t len, int64_t ts_ns)
{
	int64_t s = ts_ns / SLOB_NS_PER_SEC, f = ts_ns % SLOB_NS_PER_SEC;
	if (f < 0) {
		f += SLOB_NS_PER_SEC;
		s--;
	}
	int64_t day = s / 86400, sec = s % 86400;
	if (sec < 0) {
		sec += 86400;
		day--;
	}
	int y;
	unsigned m, d;
	slob_civil_from_days(day, &y, &m, &d);
	return snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ", y, m, d,
			(int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60), (long long)f);
}

/* ---- CSV splitting ---------------------------------------------------------- */

#define MAX_FIELDS 16

struct fields {
	const char *b[MAX_FIELDS], *e[MAX_FIELDS];
	int n;
};

/* Splits at commas, trimming blanks; returns field count or -1 if too many. */
static int split(const char *p, const char *end, struct fields *f)
{
	f->n = 0;
	for (;;) {
		if (f->n == MAX_FIELDS)
			return -1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *b = p;
		const char *c = p < end ? memchr(p, ',', (size_t)(end - p)) : NULL;
		const char *e = c ? c : end;
		const char *te = e;
		while (te > b && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if (te - b >= 2 && *b == '"' && te[-1] == '"') {
			b++;
			te--;
		}
		f->b[f->n] = b;
		f->e[f->n] = te;
		f->n++;
		if (!c)
			return f->n;
		p = c + 1;
	}
}

/* Strips CR; reports blank / comment lines. */
static int line_trim(const char **pp, size_t *len)
{
	const char *p = *pp;
	size_t n = *len;
	if (n && p[n - 1] == '\r')
		n--;
	/* UTF-8 BOM on the first line */
	if (n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
	    (unsigned char)p[2] == 0xBF) {
		p += 3;
		n -= 3;
	}
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	*pp = p;
	*len = n;
	return i == n || p[i] == '#';
}

static int has_nul(const char *p, size_t n)
{
	return memchr(p, '\0', n) != NULL;
}

/* ---- tick CSV ---------------------------------------------------------------- */

/*
 * A number the exact decimal parser refused, that is nevertheless a number
 * (strtod reads all of it: "1e12", "nan", "-inf", 13 integer digits) and
 * lies beyond what a tick can hold (|v / unit| > max, or not finite): a
 * well-formed line with a bad value, for the validator to reject by reason,
 * not a malformed line. *out gets a value the validator classifies: 0 for
 * NaN or negative (bad_price / bad_size), max + 1 for too large. Returns 0
 * if so, -1 if the field stays malformed.
 */
static int number_beyond(const char *p, const char *end, double unit, int64_t max, int64_t *out)
{
	char tmp[64];
	size_t n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	char *e;
	double v = strtod(tmp, &e);
	if (e != tmp + n)
		return -1;
	if (isnan(v) || v < 0) {
		if (isnan(v) || v / unit < -(double)max || isinf(v)) {
			*out = 0;
			return 0;
		}
		return -1;
	}
	if (isinf(v) || v / unit > (double)max) {
		*out = max + 1;
		return 0;
	}
	return -1;
}

int slob_tickcsv_init(struct slob_tickcsv *c, const struct slob_tickcsv_opts *o)
{
	memset(c, 0, offsetof(struct slob_tickcsv, carry));
	c->err[0] = '\0';
	c->name = o && o->name ? o->name : "-";
	c->skip_bad = o ? o->skip_bad : 0;
	c->tick_nano = slob_tick_nano(o ? o->tick_size : 0.25);
	if (o && o->check)
		slob_tickcheck_init_params(&c->chk, o->check);
	else
		slob_tickcheck_init(&c->chk, o ? o->backwards_tol_ns : 0);
	if (!c->tick_nano) {
		snprintf(c->err, sizeof(c->err), "%s: tick size must be > 0", c->name);
		return -EINVAL;
	}
	return 0;
}

/*
 * A malformed line of a tick or bar CSV: with skip_bad counted and skipped
 * (0), otherwise "name:line: <fmt with detail>" into err and -EINVAL. One
 * copy so both readers report bad lines the same way.
 */
static int line_bad(int skip_bad, uint64_t *bad_lines, char *err, size_t errlen, const char *name,
		    uint64_t line, const char *fmt, const char *detail)
{
	if (skip_bad) {
		(*bad_lines)++;
		return 0;
	}
	char what[160];
	snprintf(what, sizeof(what), fmt, detail);
	snprintf(err, errlen, "%s:%llu: %s", name, (unsigned long long)line, what);
	return -EINVAL;
}

static int csv_bad(struct slob_tickcsv *c, const char *fmt, const char *detail)
{
	return line_bad(c->skip_bad, &c->bad_lines, c->err, sizeof(c->err), c->name, c->line, fmt,
			detail);
}

/*
 * The common shape "digits,digits[.digits],digits" (what the writer emits)
 * parsed in one pass; anything else (ISO times, blanks, quotes, errors) goes
 * through the general path. Returns 1 with the fields, 0 if not that shape.
 */
static inline int fast_line(const char *p, const char *end, int64_t tick_nano, int64_t *ts,
			    int64_t *px, int64_t *size)
{
	const char *s = p;
	uint64_t v = 0;
	while (p < end && is_digit(*p))
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == s || p - s > 19 || v > (uint64_t)INT64_MAX || p >= end || *p != ',')
		return 0;
	*ts = (int64_t)v;
	s = ++p;
	uint64_t ip = 0,
		 fr = 0; /* unsigned: over-long digit runs wrap, then fail the length check */
	while (p < end && is_digit(*p))
		ip = ip * 10 + (uint64_t)(*p++ - '0');
	if (p == s || p - s > 9 || p >= end)
		return 0;
	if (*p == '.') {
		const char *fs = ++p;
		while (p < end && is_digit(*p))
			fr = fr * 10 + (uint64_t)(*p++ - '0');
		int nd = (int)(p - fs);
		if (nd == 0 || nd > 9)
			return 0;
		static const uint64_t pow10[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
						   10000,      1000,	  100,	    10,	     1};
		fr *= pow10[nd];
	}
	if (p >= end || *p != ',')
		return 0;
	int64_t nano = (int64_t)(ip * 1000000000ULL + fr);
	*px = (nano + tick_nano / 2) / tick_nano;
	s = ++p;
	uint64_t sz = 0;
	while (p < end && is_digit(*p))
		sz = sz * 10 + (uint64_t)(*p++ - '0');
	if (p == s || p - s > 10 || p != end)
		return 0;
	*size = (int64_t)sz;
	return 1;
}

int slob_tickcsv_line(struct slob_tickcsv *c, const char *p, size_t len, struct slob_tick *out)
{
	struct fields f;
	const char *why = "";
	int64_t ts, px, size;

	c->line++;
	if (len && p[len - 1] == '\r')
		len--;
	if (slob_likely(fast_line(p, p + len, c->tick_nano, &ts, &px, &size)))
		goto check; /* out-of-range values are the validator's (price_range, bad_size) */
	if (line_trim(&p, &len))
		return 0;
	if (slob_unlikely(has_nul(p, len)))
		return csv_bad(c, "%sNUL byte in line", "");
	if (split(p, p + len, &f) != 3) {
		if (c->line == 1 && f.b[0] < f.e[0] && !is_digit(*f.b[0]) && *f.b[0] != '-')
			return 0; /* header of any shape */
		return csv_bad(c, "expected 3 fields (timestamp,price,size)%s", "");
	}
	if (slob_parse_time(f.b[0], f.e[0], &ts, &why)) {
		if (c->line == 1 && f.b[0] < f.e[0] && !is_digit(*f.b[0]) && *f.b[0] != '-')
			return 0; /* header line */
		return csv_bad(c, "timestamp: %s", why);
	}
	if (slob_parse_price(f.b[1], f.e[1], c->tick_nano, &px, &why) &&
	    number_beyond(f.b[1], f.e[1], (double)c->tick_nano / 1e9, INT32_MAX, &px))
		return csv_bad(c, "price: %s", why);
	if (parse_decimal_nano(f.b[2], f.e[2], &size, &why)) {
		if (number_beyond(f.b[2], f.e[2], 1.0, UINT32_MAX, &size))
			return csv_bad(c, "size: %s", why);
	} else {
		if (size % 1000000000LL)
			return csv_bad(c, "size: %s", "not a whole number");
		size /= 1000000000LL;
	}
check:
	c->chk.where = c->line;
	if (!slob_tickcheck_ok(&c->chk, ts, px, size))
		return 0;
	memset(out, 0, sizeof(*out));
	out->ts_ns = ts;
	out->px = (int32_t)px; /* the validator bounded both */
	out->size = (uint32_t)size;
	out->flags = c->chk.tick_flags;
	c->ticks++;
	return 1;
}

int slob_tickcsv_feed(struct slob_tickcsv *c, const char *buf, size_t len, int eof,
		      struct slob_tick *out, unsigned n, size_t *used)
{
	size_t pos = 0;
	unsigned k = 0;
	int rc;

	if (c->carry_len && n) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;
		if (c->carry_len + take > sizeof(c->carry)) {
			c->line++;
			snprintf(c->err, sizeof(c->err), "%s:%llu: line longer than %d bytes",
				 c->name, (unsigned long long)c->line, SLOB_TICKFILE_MAX_LINE);
			return -EINVAL;
		}
		memcpy(c->carry + c->carry_len, buf, take);
		c->carry_len += take;
		if (!nl && !eof) {
			*used = len;
			return 0;
		}
		rc = slob_tickcsv_line(c, c->carry, c->carry_len, &out[k]);
		c->carry_len = 0;
		if (rc < 0)
			return rc;
		k += (unsigned)rc;
		pos = nl ? take + 1 : len;
	}
	while (k < n && pos < len) {
		size_t start = pos;
		const char *p = buf + pos;
		const char *nl = memchr(p, '\n', len - pos);
		if (!nl) {
			size_t rest = len - pos;
			if (!eof) {
				if (rest > sizeof(c->carry)) {
					c->line++;
					snprintf(c->err, sizeof(c->err),
						 "%s:%llu: line longer than %d bytes", c->name,
						 (unsigned long long)c->line,
						 SLOB_TICKFILE_MAX_LINE);
					return -EINVAL;
				}
				memcpy(c->carry, p, rest);
				c->carry_len = rest;
				pos = len;
				break;
			}
			rc = slob_tickcsv_line(c, p, rest, &out[k]);
			pos = len;
		} else {
			rc = slob_tickcsv_line(c, p, (size_t)(nl - p), &out[k]);
			pos = (size_t)(nl - buf) + 1;
		}
		if (rc < 0) {
			if (k == 0)
				return rc;
			/* deliver the ticks before the bad line first; the next
			 * call reports it */
			c->line--;
			pos = start;
			break;
		}
		k += (unsigned)rc;
	}
	*used = pos;
	return (int)k;
}

/* ---- bar CSV ------------------------------------------------------------------ */

int slob_barcsv_init(struct slob_barcsv *c, const struct slob_barcsv_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->name = o && o->name ? o->name : "-";
	c->skip_bad = o ? o->skip_bad : 0;
	c->tick_nano = slob_tick_nano(o ? o->tick_size : 0.25);
	c->last_ts = INT64_MIN;
	for (int i = 0; i < 6; i++)
		c->col[i] = i;
	c->ncols_min = 6;
	if (!c->tick_nano) {
		snprintf(c->err, sizeof(c->err), "%s: tick size must be > 0", c->name);
		return -EINVAL;
	}
	return 0;
}

static int bar_bad(struct slob_barcsv *c, const char *fmt, const char *detail)
{
	return line_bad(c->skip_bad, &c->bad_lines, c->err, sizeof(c->err), c->name, c->line, fmt,
			detail);
}

static int field_is(const char *b, const char *e, const char *name)
{
	size_t n = strlen(name);
	if ((size_t)(e - b) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((b[i] | 0x20) != name[i])
			return 0;
	return 1;
}

static int bar_header(struct slob_barcsv *c, const struct fields *f)
{
	static const char *const names[6][4] = {
	    {"time", "date", "datetime", "timestamp"},
	    {"open", "o", NULL, NULL},
	    {"high", "h", NULL, NULL},
	    {"low", "l", NULL, NULL},
	    {"close", "c", NULL, NULL},
	    {"volume", "v", "vol", NULL},
	};
	int col[6] = {-1, -1, -1, -1, -1, -1};
	for (int i = 0; i < f->n; i++)
		for (int k = 0; k < 6; k++)
			for (int j = 0; j < 4 && names[k][j]; j++)
				if (col[k] < 0 && field_is(f->b[i], f->e[i], names[k][j]))
					col[k] = i;
	int mx = 0;
	for (int k = 0; k < 6; k++) {
		if (col[k] < 0) {
			snprintf(c->err, sizeof(c->err), "%s:1: header has no '%s' column", c->name,
				 names[k][0]);
			return -EINVAL;
		}
		c->col[k] = col[k];
		if (col[k] + 1 > mx)
			mx = col[k] + 1;
	}
	c->ncols_min = mx;
	return 0;
}

int slob_barcsv_line(struct slob_barcsv *c, const char *p, size_t len, struct slob_bar *out)
{
	struct fields f;
	const char *why = "";
	int64_t ts, v[4], vol;
	static const char *const what[4] = {"open", "high", "low", "close"};

	c->line++;
	if (line_trim(&p, &len))
		return 0;
	if (has_nul(p, len))
		return bar_bad(c, "%sNUL byte in line", "");
	if (split(p, p + len, &f) < 0)
		return bar_bad(c, "too many fields (max %s)", "16");
	if (c->line == 1 && f.n && f.b[0] <= f.e[0] &&
	    (f.b[0] == f.e[0] || (!is_digit(*f.b[0]) && *f.b[0] != '-'))) {
		/* header: an empty first name is a pandas index column */
		int rc = bar_header(c, &f);
		if (rc < 0 && c->skip_bad) {
			c->bad_lines++;
			return 0;
		}
		return rc;
	}
	if (f.n < c->ncols_min)
		return bar_bad(c, "expected time,open,high,low,close,volume (%s)",
			       "too few fields");
	if (slob_parse_time(f.b[c->col[0]], f.e[c->col[0]], &ts, &why))
		return bar_bad(c, "time: %s", why);
	if (ts % SLOB_NS_PER_MIN)
		return bar_bad(c, "time: %s", "not the start of a minute");
	for (int i = 0; i < 4; i++) {
		if (slob_parse_price(f.b[c->col[1 + i]], f.e[c->col[1 + i]], c->tick_nano, &v[i],
				     &why)) {
			char m[96];
			snprintf(m, sizeof(m), "%s: %s", what[i], why);
			return bar_bad(c, "%s", m);
		}
		if (v[i] > INT32_MAX)
			return bar_bad(c, "%s: out of range", what[i]);
	}
	if (parse_decimal_nano(f.b[c->col[5]], f.e[c->col[5]], &vol, &why))
		return bar_bad(c, "volume: %s", why);
	vol /= 1000000000LL; /* IB exports volume as float; keep the integer part */
	if (vol > UINT32_MAX)
		return bar_bad(c, "volume: %s", "out of range");
	int64_t o = v[0], h = v[1], l = v[2], cl = v[3];
	if (o <= 0 || h <= 0 || l <= 0 || cl <= 0 || vol < 0 || h < l || h < o || h < cl || l > o ||
	    l > cl) {
		c->bad_px++;
		return 0;
	}
	if (c->last_ts != INT64_MIN && ts <= c->last_ts) {
		c->bad_order++;
		return 0;
	}
	c->last_ts = ts;
	memset(out, 0, sizeof(*out));
	out->ts_ns = ts;
	out->open = (int32_t)o;
	out->high = (int32_t)h;
	out->low = (int32_t)l;
	out->close = (int32_t)cl;
	out->volume = (uint32_t)vol;
	c->bars++;
	return 1;
}

static int read_all(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				close(fd);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

int slob_barfile_load(const char *path, const struct slob_barcsv_opts *o, struct slob_bar **bars,
		      struct slob_barcsv *stats, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	struct slob_barcsv c;
	struct slob_barcsv_opts oo = o ? *o : (struct slob_barcsv_opts){.tick_size = 0.25};
	oo.name = path;
	int rc = read_all(path, &buf, &len);
	if (rc < 0) {
		fmt_err(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if ((rc = slob_barcsv_init(&c, &oo)) < 0) {
		fmt_err(err, errlen, "%s", c.err);
		free(buf);
		return rc;
	}
	size_t cap = 1024, n = 0;
	struct slob_bar *out = malloc(cap * sizeof(*out));
	if (!out) {
		free(buf);
		return -ENOMEM;
	}
	size_t pos = 0;
	while (pos < len) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - buf - pos) : len - pos;
		if (n == cap) {
			struct slob_bar *nb = realloc(out, cap * 2 * sizeof(*out));
			if (!nb) {
				rc = -ENOMEM;
				goto fail;
			}
			out = nb;
			cap *= 2;
		}
		if (ll > SLOB_TICKFILE_MAX_LINE) {
			c.line++;
			snprintf(c.err, sizeof(c.err), "%s:%llu: line longer than %d bytes", path,
				 (unsigned long long)c.line, SLOB_TICKFILE_MAX_LINE);
			rc = -EINVAL;
			goto fail;
		}
		rc = slob_barcsv_line(&c, buf + pos, ll, &out[n]);
		if (rc < 0)
			goto fail;
		n += (size_t)rc;
		pos += ll + 1;
	}
	free(buf);
	if (stats)
		*stats = c;
	*bars = out;
	return (int)n;
fail:
	fmt_err(err, errlen, "%s", rc == -ENOMEM ? "out of memory" : c.err);
	if (stats)
		*stats = c;
	free(out);
	free(buf);
	return rc;
}

/* ---- binary ------------------------------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t hdr_check(const unsigned char *h)
{
	unsigned char tmp[SLOB_TICKBIN_HDR_SIZE];
	memcpy(tmp, h, sizeof(tmp));
	memset(tmp + 20, 0, 4);
	return (uint32_t)XXH3_64bits(tmp, sizeof(tmp));
}

void slob_tickbin_hdr_encode(const struct slob_tickbin_hdr *h,
			     unsigned char out[SLOB_TICKBIN_HDR_SIZE])
{
	memset(out, 0, SLOB_TICKBIN_HDR_SIZE);
	memcpy(out, SLOB_TICKBIN_MAGIC, 8);
	put32(out + 8, SLOB_TICKBIN_VERSION);
	put32(out + 12, SLOB_TICKBIN_HDR_SIZE);
	put32(out + 16, SLOB_TICKBIN_REC_SIZE);
	strncpy((char *)out + 24, h->symbol, 16);
	uint64_t ts;
	memcpy(&ts, &h->tick_size, 8);
	put64(out + 40, ts);
	put64(out + 48, h->count);
	put64(out + 56, h->body_xxh3);
	put32(out + 20, hdr_check(out));
}

int slob_tickbin_hdr_decode(const void *buf, size_t len, int64_t file_size, const char *name,
			    struct slob_tickbin_hdr *h, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	name = name ? name : "-";
	if (len < SLOB_TICKBIN_HDR_SIZE) {
		fmt_err(err, errlen,
			"%s: truncated: %zu bytes, a binary tick file has a %d-byte header", name,
			len, SLOB_TICKBIN_HDR_SIZE);
		return -EIO;
	}
	if (memcmp(p, SLOB_TICKBIN_MAGIC, 8) != 0) {
		fmt_err(err, errlen, "%s: not a binary tick file (bad magic)", name);
		return -EINVAL;
	}
	if (get32(p + 8) != SLOB_TICKBIN_VERSION) {
		fmt_err(err, errlen, "%s: unsupported version %u (this build reads %d)", name,
			get32(p + 8), SLOB_TICKBIN_VERSION);
		return -EINVAL;
	}
	if (get32(p + 12) != SLOB_TICKBIN_HDR_SIZE || get32(p + 16) != SLOB_TICKBIN_REC_SIZE) {
		fmt_err(err, errlen, "%s: unexpected header/record size %u/%u", name, get32(p + 12),
			get32(p + 16));
		return -EINVAL;
	}
	if (get32(p + 20) != hdr_check(p)) {
		fmt_err(err, errlen, "%s: header corrupted (header check mismatch)", name);
		return -EINVAL;
	}
	memset(h, 0, sizeof(*h));
	memcpy(h->symbol, p + 24, 15);
	uint64_t tsb = get64(p + 40);
	memcpy(&h->tick_size, &tsb, 8);
	h->count = get64(p + 48);
	h->body_xxh3 = get64(p + 56);
	h->version = SLOB_TICKBIN_VERSION;
	if (!slob_tick_nano(h->tick_size)) {
		fmt_err(err, errlen, "%s: bad tick size in header", name);
		return -EINVAL;
	}
	if (h->count == UINT64_MAX) {
		fmt_err(err, errlen, "%s: file was never closed by its writer (incomplete)", name);
		return -EIO;
	}
	if (h->count > (uint64_t)(INT64_MAX - SLOB_TICKBIN_HDR_SIZE) / SLOB_TICKBIN_REC_SIZE) {
		fmt_err(err, errlen, "%s: record count %llu out of range", name,
			(unsigned long long)h->count);
		return -EINVAL;
	}
	if (file_size >= 0) {
		int64_t want = SLOB_TICKBIN_HDR_SIZE + (int64_t)h->count * SLOB_TICKBIN_REC_SIZE;
		if (file_size < want) {
			fmt_err(err, errlen,
				"%s: truncated: header says %llu records (%lld bytes), file has "
				"%lld bytes",
				name, (unsigned long long)h->count, (long long)want,
				(long long)file_size);
			return -EIO;
		}
		if (file_size > want) {
			fmt_err(err, errlen,
				"%s: %lld unexpected bytes after the %llu records of the header",
				name, (long long)(file_size - want), (unsigned long long)h->count);
			return -EIO;
		}
	}
	return 0;
}

int slob_tickbin_check_mem(const void *buf, size_t len, const char *name,
			   struct slob_tickbin_hdr *h, char *err, size_t errlen)
{
	int rc = slob_tickbin_hdr_decode(buf, len, (int64_t)len, name, h, err, errlen);
	if (rc < 0)
		return rc;
	uint64_t x = XXH3_64bits((const unsigned char *)buf + SLOB_TICKBIN_HDR_SIZE,
				 len - SLOB_TICKBIN_HDR_SIZE);
	if (x != h->body_xxh3) {
		fmt_err(err, errlen,
			"%s: corrupted: body checksum mismatch (xxh3 %016llx, header %016llx)",
			name ? name : "-", (unsigned long long)x, (unsigned long long)h->body_xxh3);
		return -EIO;
	}
	return 0;
}

int slob_tickbin_verify_fd(int fd, const char *name, struct slob_tickbin_hdr *h, char *err,
			   size_t errlen)
{
	unsigned char hb[SLOB_TICKBIN_HDR_SIZE];
	struct stat st;
	name = name ? name : "-";
	if (fstat(fd, &st) < 0) {
		int e = errno;
		fmt_err(err, errlen, "%s: %s", name, strerror(e));
		return -e;
	}
	ssize_t r = pread(fd, hb, sizeof(hb), 0);
	if (r < 0) {
		int e = errno;
		fmt_err(err, errlen, "%s: read: %s", name, strerror(e));
		return -e;
	}
	int rc = slob_tickbin_hdr_decode(hb, (size_t)r, st.st_size, name, h, err, errlen);
	if (rc < 0)
		return rc;
	XXH3_state_t *xs = XXH3_createState();
	size_t bsz = 1 << 20;
	unsigned char *b = malloc(bsz);
	if (!xs || !b) {
		free(b);
		XXH3_freeState(xs);
		return -ENOMEM;
	}
	XXH3_64bits_reset(xs);
	off_t off = SLOB_TICKBIN_HDR_SIZE;
	while (off < st.st_size) {
		r = pread(fd, b, bsz, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			fmt_err(err, errlen, "%s: read at %lld: %s", name, (long long)off,
				r < 0 ? strerror(-rc) : "unexpected end of file");
			goto out;
		}
		XXH3_64bits_update(xs, b, (size_t)r);
		off += r;
	}
	uint64_t x = XXH3_64bits_digest(xs);
	if (x != h->body_xxh3) {
		fmt_err(err, errlen,
			"%s: corrupted: body checksum mismatch (xxh3 %016llx, header %016llx)",
			name, (unsigned long long)x, (unsigned long long)h->body_xxh3);
		rc = -EIO;
	}
out:
	free(b);
	XXH3_freeState(xs);
	return rc;
}

/* ---- writers ------------------------------------------------------------------- */

#define WBUF (1 << 16)

struct slob_tickbin_writer {
	int fd;
	int err;
	struct slob_fs_out out;
	uint64_t count;
	struct slob_tickbin_hdr h;
	XXH3_state_t *xs;
	size_t blen;
	unsigned char buf[WBUF];
	char path[256];
};

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int slob_tickbin_writer_open(struct slob_tickbin_writer **wp, const char *path, const char *symbol,
			     double tick_size)
{
	if (!slob_tick_nano(tick_size))
		return tf_fail(-EINVAL, "%s: tick size must be > 0", path);
	struct slob_tickbin_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return tf_fail(-ENOMEM, "out of memory");
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->h.symbol, sizeof(w->h.symbol), "%s", symbol ? symbol : "");
	w->h.tick_size = tick_size;
	w->h.count = UINT64_MAX;
	w->xs = XXH3_createState();
	if (!w->xs) {
		free(w);
		return tf_fail(-ENOMEM, "out of memory");
	}
	XXH3_64bits_reset(w->xs);
	char err[SLOB_TICKFILE_ERRLEN];
	int rc = slob_fs_out_open(&w->out, path, 0644, NULL, err, sizeof(err));
	if (rc < 0) {
		XXH3_freeState(w->xs);
		free(w);
		return tf_fail(rc, "%s", err);
	}
	w->fd = w->out.fd;
	unsigned char hb[SLOB_TICKBIN_HDR_SIZE];
	slob_tickbin_hdr_encode(&w->h, hb);
	rc = write_all(w->fd, hb, sizeof(hb));
	if (rc < 0) {
		slob_fs_out_abort(&w->out);
		XXH3_freeState(w->xs);
		free(w);
		return tf_fail(rc, "%s: write: %s", path, strerror(-rc));
	}
	*wp = w;
	return 0;
}

static int bin_flush(struct slob_tickbin_writer *w)
{
	if (!w->blen)
		return 0;
	XXH3_64bits_update(w->xs, w->buf, w->blen);
	int rc = write_all(w->fd, w->buf, w->blen);
	w->blen = 0;
	if (rc < 0 && !w->err) {
		w->err = rc;
		tf_fail(rc, "%s: write: %s", w->path, strerror(-rc));
	}
	return rc;
}

int slob_tickbin_writer_append(struct slob_tickbin_writer *w, int64_t ts_ns, int32_t px,
			       uint32_t size)
{
	if (w->err)
		return w->err;
	if (w->blen + SLOB_TICKBIN_REC_SIZE > WBUF && bin_flush(w) < 0)
		return w->err;
	unsigned char *p = w->buf + w->blen;
	put64(p, (uint64_t)ts_ns);
	put32(p + 8, (uint32_t)px);
	put32(p + 12, size);
	w->blen += SLOB_TICKBIN_REC_SIZE;
	w->count++;
	return 0;
}

int slob_tickbin_writer_close(struct slob_tickbin_writer *w)
{
	if (!w)
		return 0;
	int rc = bin_flush(w);
	if (!rc && !w->err) {
		unsigned char hb[SLOB_TICKBIN_HDR_SIZE];
		w->h.count = w->count;
		w->h.body_xxh3 = XXH3_64bits_digest(w->xs);
		slob_tickbin_hdr_encode(&w->h, hb);
		if (pwrite(w->fd, hb, sizeof(hb), 0) != (ssize_t)sizeof(hb))
			rc = tf_fail(-EIO, "%s: header write failed", w->path);
	}
	if (!rc)
		rc = w->err;
	if (!rc) {
		char err[SLOB_TICKFILE_ERRLEN];
		rc = slob_fs_out_commit(&w->out, err, sizeof(err));
		if (rc < 0)
			tf_fail(rc, "%s", err);
	} else {
		slob_fs_out_abort(&w->out);
	}
	XXH3_freeState(w->xs);
	free(w);
	return rc;
}

void slob_tickbin_writer_abort(struct slob_tickbin_writer *w)
{
	if (!w)
		return;
	slob_fs_out_abort(&w->out);
	XXH3_freeState(w->xs);
	free(w);
}

struct slob_tickcsv_writer {
	int fd;
	int err;
	struct slob_fs_out out; /* unused (fd -1) for standard output */
	int iso;
	int64_t tick_nano;
	size_t blen;
	char buf[WBUF];
	char path[256];
};

static int csvw_flush(struct slob_tickcsv_writer *w)
{
	int rc = write_all(w->fd, w->buf, w->blen);
	w->blen = 0;
	if (rc < 0 && !w->err) {
		w->err = rc;
		tf_fail(rc, "%s: write: %s", w->path, strerror(-rc));
	}
	return rc;
}

int slob_tickcsv_writer_open(struct slob_tickcsv_writer **wp, const char *path, double tick_size,
			     int iso)
{
	int64_t tn = slob_tick_nano(tick_size);
	if (!tn)
		return tf_fail(-EINVAL, "%s: tick size must be > 0", path);
	struct slob_tickcsv_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return tf_fail(-ENOMEM, "out of memory");
	w->tick_nano = tn;
	w->iso = iso;
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->out.fd = -1;
	if (!strcmp(path, "-")) {
		w->fd = fcntl(1, F_DUPFD_CLOEXEC, 3); /* standard output */
		if (w->fd < 0) {
			int e = errno;
			free(w);
			return tf_fail(-e, "%s: %s", path, strerror(e));
		}
	} else {
		char err[SLOB_TICKFILE_ERRLEN];
		int rc = slob_fs_out_open(&w->out, path, 0644, NULL, err, sizeof(err));
		if (rc < 0) {
			free(w);
			return tf_fail(rc, "%s", err);
		}
		w->fd = w->out.fd;
	}
	w->blen = (size_t)snprintf(w->buf, WBUF, "timestamp,price,size\n");
	*wp = w;
	return 0;
}

int slob_tickcsv_writer_append(struct slob_tickcsv_writer *w, int64_t ts_ns, int32_t px,
			       uint32_t size)
{
	if (w->err)
		return w->err;
	if (w->blen + 128 > WBUF && csvw_flush(w) < 0)
		return w->err;
	char *p = w->buf + w->blen;
	int n;
	if (w->iso)
		n = slob_format_time_iso(p, 64, ts_ns);
	else
		n = snprintf(p, 32, "%lld", (long long)ts_ns);
	p[n++] = ',';
	n += slob_format_price(p + n, 40, px, w->tick_nano);
	n += snprintf(p + n, 16, ",%u\n", size);
	w->blen += (size_t)n;
	return 0;
}

int slob_tickcsv_writer_close(struct slob_tickcsv_writer *w)
{
	if (!w)
		return 0;
	int rc = w->err ? w->err : csvw_flush(w);
	if (w->out.fd < 0) { /* standard output */
		if (close(w->fd) < 0 && !rc)
			rc = tf_fail(-errno, "%s: close: %s", w->path, strerror(errno));
	} else if (!rc) {
		char err[SLOB_TICKFILE_ERRLEN];
		rc = slob_fs_out_commit(&w->out, err, sizeof(err));
		if (rc < 0)
			tf_fail(rc, "%s", err);
	} else {
		slob_fs_out_abort(&w->out);
	}
	free(w);
	return rc;
}

void slob_tickcsv_writer_abort(struct slob_tickcsv_writer *w)
{
	if (!w)
		return;
	if (w->out.fd < 0)
		close(w->fd);
	else
		slob_fs_out_abort(&w->out);
	free(w);
}

/* ---- simple reader ---------------------------------------------------------- */

#define RBUF (1 << 16)
#define RBATCH 256

struct slob_tickreader {
	int fd;
	enum slob_tickfile_fmt fmt;
	int eof;
	uint64_t seq;
	struct slob_tickbin_hdr h;
	struct slob_tickcsv csv;
	struct slob_tickcheck bchk;
	uint64_t rec; /* binary records decoded */
	size_t bpos, blen;
	unsigned tpos, tlen;
	struct slob_tick ticks[RBATCH];
	char path[256];
	unsigned char buf[RBUF];
};

int slob_tickreader_open(struct slob_tickreader **rp, const char *path, enum slob_tickfile_fmt fmt,
			 const struct slob_tickcsv_opts *opts)
{
	struct slob_tickreader *r = calloc(1, sizeof(*r));
	char err[SLOB_TICKFILE_ERRLEN];
	int rc;
	if (!r)
		return tf_fail(-ENOMEM, "out of memory");
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = errno;
		free(r);
		return tf_fail(-e, "%s: %s", path, strerror(e));
	}
	if (fmt == SLOB_TICKFILE_AUTO) {
		char m[8];
		ssize_t n = pread(r->fd, m, 8, 0);
		fmt = n == 8 && !memcmp(m, SLOB_TICKBIN_MAGIC, 8) ? SLOB_TICKFILE_BIN
								  : SLOB_TICKFILE_CSV;
	}
	r->fmt = fmt;
	struct slob_tickcsv_opts o = opts ? *opts : (struct slob_tickcsv_opts){.tick_size = 0.25};
	o.name = r->path;
	if (fmt == SLOB_TICKFILE_BIN) {
		rc = slob_tickbin_verify_fd(r->fd, r->path, &r->h, err, sizeof(err));
		if (rc < 0)
			goto fail;
		if (lseek(r->fd, SLOB_TICKBIN_HDR_SIZE, SEEK_SET) < 0) {
			rc = -errno;
			snprintf(err, sizeof(err), "%s: seek: %s", path, strerror(errno));
			goto fail;
		}
		if (o.check)
			slob_tickcheck_init_params(&r->bchk, o.check);
		else
			slob_tickcheck_init(&r->bchk, o.backwards_tol_ns);
	} else {
		rc = slob_tickcsv_init(&r->csv, &o);
		if (rc < 0) {
			snprintf(err, sizeof(err), "%s", r->csv.err);
			goto fail;
		}
	}
	*rp = r;
	return 0;
fail:
	close(r->fd);
	free(r);
	return tf_fail(rc, "%s", err);
}

static int reader_fill(struct slob_tickreader *r)
{
	if (r->bpos < r->blen && r->fmt == SLOB_TICKFILE_BIN) {
		memmove(r->buf, r->buf + r->bpos, r->blen - r->bpos);
		r->blen -= r->bpos;
	} else if (r->bpos >= r->blen) {
		r->blen = 0;
	}
	r->bpos = 0;
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->blen, RBUF - r->blen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tf_fail(-errno, "%s: read: %s", r->path, strerror(errno));
		if (n == 0)
			r->eof = 1;
		r->blen += (size_t)n;
		return 0;
	}
}

int slob_tickreader_next(struct slob_tickreader *r, struct slob_tick *t)
{
	for (;;) {
		if (r->tpos < r->tlen) {
			*t = r->ticks[r->tpos++];
			t->seq = ++r->seq;
			return 1;
		}
		r->tpos = r->tlen = 0;
		if (r->fmt == SLOB_TICKFILE_BIN) {
			while (r->blen - r->bpos >= SLOB_TICKBIN_REC_SIZE && r->tlen < RBATCH) {
				struct slob_tick *o = &r->ticks[r->tlen];
				memset(o, 0, sizeof(*o));
				slob_tickbin_rec_decode(r->buf + r->bpos, &o->ts_ns, &o->px,
							&o->size);
				r->bpos += SLOB_TICKBIN_REC_SIZE;
				r->bchk.where = ++r->rec; /* record index, from 1 */
				if (slob_tickcheck_ok(&r->bchk, o->ts_ns, o->px, (int64_t)o->size)) {
					o->flags = r->bchk.tick_flags;
					r->tlen++;
				}
			}
			if (r->tlen)
				continue;
			if (r->eof)
				return 0;
		} else {
			if (r->bpos < r->blen || (r->eof && r->csv.carry_len)) {
				size_t used = 0;
				int k = slob_tickcsv_feed(&r->csv, (const char *)r->buf + r->bpos,
							  r->blen - r->bpos, r->eof, r->ticks,
							  RBATCH, &used);
				if (k < 0)
					return tf_fail(k, "%s", r->csv.err);
				r->bpos += used;
				r->tlen = (unsigned)k;
				if (r->eof && r->bpos >= r->blen && r->csv.carry_len) {
					/* flush a last line without newline */
					k = slob_tickcsv_feed(&r->csv, "", 0, 1, r->ticks + r->tlen,
							      RBATCH - r->tlen, &used);
					if (k < 0)
						return tf_fail(k, "%s", r->csv.err);
					r->tlen += (unsigned)k;
				}
				if (r->tlen)
					continue;
			}
			if (r->eof && r->bpos >= r->blen)
				return 0;
		}
		int rc = reader_fill(r);
		if (rc < 0)
			return rc;
	}
}

enum slob_tickfile_fmt slob_tickreader_format(const struct slob_tickreader *r)
{
	return r->fmt;
}

const struct slob_tickbin_hdr *slob_tickreader_header(const struct slob_tickreader *r)
{
	return r->fmt == SLOB_TICKFILE_BIN ? &r->h : NULL;
}

const struct slob_tickcheck *slob_tickreader_check(const struct slob_tickreader *r)
{
	return r->fmt == SLOB_TICKFILE_BIN ? &r->bchk : &r->csv.chk;
}

uint64_t slob_tickreader_bad_lines(const struct slob_tickreader *r)
{
	return r->fmt == SLOB_TICKFILE_CSV ? r->csv.bad_lines : 0;
}

void slob_tickreader_close(struct slob_tickreader *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}
