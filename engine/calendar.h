/* SPDX-License-Identifier: MIT */
/*
 * calendar.h: exchange holidays and news blackout windows for the risk gate.
 *
 * Both are small text files read once at start-up (cold path) into sorted
 * arrays; the risk stage then asks "is this day a holiday / is this instant
 * inside a news blackout" with a binary search, no allocation, no syscall.
 * File formats are documented in docs/RISK.md (examples/holidays.txt,
 * examples/news.csv).
 *
 * Design notes
 *  1. Holidays are kept sorted by date, one entry per date (a later line for
 *     the same date replaces the earlier one). close_minute is -1 for a full
 *     closure, else the early-close time in local minutes since midnight.
 *  2. News events are converted to UTC blackout windows
 *     [event - before, event + after) with the caller's time zone (America/
 *     New_York), then merged into non-overlapping sorted windows, so a
 *     lookup is one binary search. An all-day event blacks out the local day
 *     [00:00, 24:00) plus the before/after margins.
 *  3. A calendar is owned by one thread after loading (read-only queries).
 */
#ifndef SLOB_CALENDAR_H
#define SLOB_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/tz.h"

#define SLOB_CALENDAR_NAME_LEN 48

struct slob_holiday {
	int32_t ymd;	      /* local date, e.g. 20261126 */
	int32_t close_minute; /* -1: closed all day; else early close (minutes) */
	char name[SLOB_CALENDAR_NAME_LEN];
};

struct slob_news_window {
	int64_t start_ns, end_ns;	   /* UTC, [start, end) */
	char name[SLOB_CALENDAR_NAME_LEN]; /* first event of the merged window */
};

struct slob_calendar {
	struct slob_holiday *holidays;
	unsigned nholidays, holidays_cap;
	struct slob_news_window *news; /* merged windows, sorted */
	unsigned nnews, news_cap;
	unsigned nevents; /* news events read (before merging) */
};

/* Empty calendar (no holidays, no news). Never fails. */
void slob_calendar_init(struct slob_calendar *cal);
/* Frees the arrays. Accepts NULL and zeroed calendars. */
void slob_calendar_destroy(struct slob_calendar *cal);

/*
 * slob_calendar_parse_holidays - adds holidays from `text`, lines of
 *   YYYY-MM-DD [HH:MM] [name...]
 * '#' starts a comment; blank lines are skipped; HH:MM marks an early close.
 * `src` names the input in error messages ("file:line: ..."). Returns the
 * number of holidays added, or -EINVAL (bad line; message in err) /
 * -ENOMEM. Cold path.
 */
int slob_calendar_parse_holidays(struct slob_calendar *cal, const char *text, const char *src,
				 char *err, size_t errlen);
/* Reads a holiday file (see above). Returns count or -errno (-ENOENT ...). */
int slob_calendar_load_holidays(struct slob_calendar *cal, const char *path, char *err,
				size_t errlen);

/*
 * slob_calendar_parse_news - adds news events from CSV `text`:
 *   date,time,impact,name
 *   2026-03-18,14:00,HIGH,FOMC rate decision
 * date YYYY-MM-DD and time HH:MM are local time of `tz` (America/New_York);
 * an empty time or "all-day" blacks out the whole local day. impact is one
 * of LOW, MEDIUM, HIGH; events below `min_impact` (1 LOW, 2 MEDIUM, 3 HIGH)
 * are skipped. A first line starting with "date" is a header. '#' comments.
 * Each event blocks [event - before_min, event + after_min). Returns the
 * number of events kept, -EINVAL with "src:line: ..." in err, or -ENOMEM.
 * Cold path (uses slob_tz_to_utc).
 */
int slob_calendar_parse_news(struct slob_calendar *cal, const char *text, const char *src,
			     struct slob_tz *tz, int before_min, int after_min, int min_impact,
			     char *err, size_t errlen);
/* Reads a news CSV file (see above). Returns count or -errno. */
int slob_calendar_load_news(struct slob_calendar *cal, const char *path, struct slob_tz *tz,
			    int before_min, int after_min, int min_impact, char *err,
			    size_t errlen);

/* Holiday entry of local date ymd, or NULL. Hot path (binary search). */
const struct slob_holiday *slob_calendar_holiday(const struct slob_calendar *cal, int32_t ymd);

/* News blackout window containing utc_ns, or NULL. Hot path (binary search). */
const struct slob_news_window *slob_calendar_news_at(const struct slob_calendar *cal,
						     int64_t utc_ns);

/* Parses "YYYY-MM-DD" into yyyymmdd (validated, incl. day of month). 0 or -EINVAL. */
int slob_calendar_parse_date(const char *s, int32_t *ymd);
/* Parses "HH:MM" (00:00..24:00) into minutes. 0 or -EINVAL. */
int slob_calendar_parse_hhmm(const char *s, int32_t *minute);

#endif /* SLOB_CALENDAR_H */
