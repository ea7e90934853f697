/* SPDX-License-Identifier: MIT */
/*
 * fuzz_barcsv.c: the M1 bar CSV parser over arbitrary bytes, line by line
 * as slob_barfile_load splits them, in stop and skip modes. Invariants:
 * accepted bars are at whole minutes, strictly increasing, with positive
 * consistent OHLC; errors carry "name:line:".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tickfile.h"
#include "engine/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct slob_barcsv c;
	struct slob_barcsv_opts o = {
	    .name = "fuzz.csv", .tick_size = 0.25, .skip_bad = data[0] & 1};
	data++;
	size--;
	if (slob_barcsv_init(&c, &o) < 0)
		abort();
	int64_t last = INT64_MIN;
	size_t pos = 0;
	while (pos < size) {
		const char *p = (const char *)data + pos;
		const char *nl = memchr(p, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - p) : size - pos;
		struct slob_bar b;
		int rc = slob_barcsv_line(&c, p, len, &b);
		if (rc < 0) {
			if (!strstr(c.err, "fuzz.csv:"))
				abort();
			return 0;
		}
		if (rc == 1) {
			if (b.ts_ns % SLOB_NS_PER_MIN || b.ts_ns <= last || b.low <= 0 ||
			    b.high < b.low || b.open > b.high || b.close < b.low)
				abort();
			last = b.ts_ns;
		}
		pos += len + 1;
	}
	return 0;
}
