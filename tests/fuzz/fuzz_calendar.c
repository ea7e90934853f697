/* SPDX-License-Identifier: MIT */
/*
 * fuzz_calendar.c: the holiday-file and news-calendar parsers of the risk
 * gate over arbitrary bytes (first byte: even = holidays, odd = news, and
 * the before/after minutes). Invariants: an error names "fuzz:<line>:";
 * on success holidays are sorted and unique, news windows sorted,
 * non-empty and non-overlapping, and every lookup agrees with a linear
 * scan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/calendar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct slob_tz ny;
static int ny_loaded;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!ny_loaded) {
		if (slob_tz_load(&ny, "America/New_York", 1970, 2200) < 0)
			abort();
		ny_loaded = 1;
	}
	int news = data[0] & 1;
	int before = (data[0] >> 1) & 7, after = (data[0] >> 4) & 7;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	struct slob_calendar cal;
	char err[256] = "";
	slob_calendar_init(&cal);
	int rc = news ? slob_calendar_parse_news(&cal, text, "fuzz", &ny, before * 30, after * 30,
						 1 + (data[0] >> 7) * 2, err, sizeof(err))
		      : slob_calendar_parse_holidays(&cal, text, "fuzz", err, sizeof(err));
	if (rc < 0) {
		if (strncmp(err, "fuzz:", 5) != 0)
			abort();
	} else {
		for (unsigned i = 1; i < cal.nholidays; i++)
			if (cal.holidays[i - 1].ymd >= cal.holidays[i].ymd)
				abort();
		for (unsigned i = 0; i < cal.nholidays; i++)
			if (slob_calendar_holiday(&cal, cal.holidays[i].ymd) != &cal.holidays[i])
				abort();
		for (unsigned i = 0; i < cal.nnews; i++) {
			const struct slob_news_window *w = &cal.news[i];
			if (w->start_ns >= w->end_ns ||
			    (i > 0 && cal.news[i - 1].end_ns >= w->start_ns))
				abort();
			if (slob_calendar_news_at(&cal, w->start_ns) != w ||
			    slob_calendar_news_at(&cal, w->end_ns - 1) != w ||
			    (slob_calendar_news_at(&cal, w->end_ns) != NULL &&
			     slob_calendar_news_at(&cal, w->end_ns) != w + 1) ||
			    (slob_calendar_news_at(&cal, w->start_ns - 1) != NULL && i == 0))
				abort();
		}
	}
	slob_calendar_destroy(&cal);
	free(text);
	return 0;
}
