/* SPDX-License-Identifier: MIT */
/*
 * tz.h: UTC -> local wall-clock conversion through a table of UTC offset
 * transitions precomputed at start-up from the system's tz database
 * (Europe/Stockholm for the detector's sessions, America/New_York for the
 * risk gate's trading hours). The hot path never calls libc time functions:
 * slob_tz_local() is a cached range check plus, on a miss, a binary search.
 *
 * Design notes
 *  1. The table covers [from, to) given at load; a time outside it is an
 *     error at load time for the data range, and returns offset of the
 *     nearest edge at run time (counted by the caller if it cares).
 *  2. Each entry is (utc_ns at which the offset starts, offset seconds).
 *  3. A slob_tz is owned by one thread (its lookup cache is not shared).
 */
#ifndef SLOB_TZ_H
#define SLOB_TZ_H

#include <stdint.h>

#define SLOB_TZ_MAX_TRANS 512
#define SLOB_NS_PER_SEC  1000000000LL
#define SLOB_NS_PER_MIN  (60LL * SLOB_NS_PER_SEC)
#define SLOB_NS_PER_DAY  (86400LL * SLOB_NS_PER_SEC)

struct slob_tz {
	char name[48];
	unsigned n;
	unsigned cache;                   /* index of the last hit */
	int64_t start_ns[SLOB_TZ_MAX_TRANS];
	int32_t offset_s[SLOB_TZ_MAX_TRANS];
};

/* Local wall-clock fields of an instant. */
struct slob_local {
	int32_t ymd;      /* e.g. 20260113 */
	int32_t minute;   /* minutes since local midnight, 0..1439 */
	int32_t second;   /* seconds since local midnight */
	int32_t wday;     /* 0 = Sunday .. 6 = Saturday */
	int32_t offset_s; /* UTC offset in force */
	int64_t day;      /* days since 1970-01-01 in local time */
};

/*
 * slob_tz_load - builds the transition table of `zone` (an IANA name) for
 * the years [year_from, year_to]. Uses the system tz database (TZif files
 * under /usr/share/zoneinfo, or TZDIR). Returns 0 or -errno (-ENOENT: zone
 * unknown; a message is available from slob_tz_strerror()). Cold path.
 */
int slob_tz_load(struct slob_tz *tz, const char *zone, int year_from, int year_to);
const char *slob_tz_strerror(void);

/* UTC offset in seconds at utc_ns. Hot path: no syscalls, no libc time calls. */
int32_t slob_tz_offset(struct slob_tz *tz, int64_t utc_ns);

/* Local fields at utc_ns. Hot path. */
void slob_tz_local(struct slob_tz *tz, int64_t utc_ns, struct slob_local *out);

/* UTC ns of local date ymd at local minute-of-day (DST-aware). Cold path
 * helper for tests and config (e.g. "09:30 New York on 2026-03-09"). For a
 * local time skipped by DST it returns the instant after the gap; for an
 * ambiguous one, the first. */
int64_t slob_tz_to_utc(struct slob_tz *tz, int32_t ymd, int32_t minute_of_day);

/* Civil-date helpers (proleptic Gregorian; pure arithmetic). */
int64_t slob_days_from_civil(int y, unsigned m, unsigned d);
void slob_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

#endif /* SLOB_TZ_H */
