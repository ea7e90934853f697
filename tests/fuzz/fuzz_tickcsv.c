/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tickcsv.c: the tick CSV parser over arbitrary bytes, fed in chunks
 * whose sizes come from the input (so lines straddle feeds and the carry
 * path is exercised) with small output windows, in stop and skip modes.
 * Invariants checked: no crash/UB, accepted ticks have positive price and
 * size, errors always carry a "name:line:" message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tickfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned chunk = 1 + data[0] % 97;
	int skip = data[1] & 1;
	unsigned win = 1 + (data[1] >> 1) % 9;
	data += 2;
	size -= 2;
	struct slob_tickcsv c;
	struct slob_tickcsv_opts o = {
	    .name = "fuzz.csv", .tick_size = 0.25, .skip_bad = skip, .backwards_tol_ns = 1000};
	struct slob_tick out[16];
	if (slob_tickcsv_init(&c, &o) < 0)
		abort();
	size_t pos = 0;
	for (;;) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		int eof = pos + n == size;
		size_t off = 0;
		int guard = 0;
		do {
			size_t used = 0;
			int k = slob_tickcsv_feed(&c, (const char *)data + pos + off, n - off, eof,
						  out, win, &used);
			if (k < 0) {
				if (!strstr(c.err, "fuzz.csv:"))
					abort();
				return 0;
			}
			for (int i = 0; i < k; i++)
				if (out[i].px <= 0 || out[i].size == 0 || (out[i].flags & ~SLOB_TICK_REANCHOR))
					abort();
			off += used;
			if (++guard > 100000)
				abort(); /* no progress */
		} while (off < n || (eof && c.carry_len));
		pos += n;
		if (eof)
			break;
	}
	/* the field parsers on the raw bytes as one field */
	int64_t v;
	const char *why;
	slob_parse_time((const char *)data, (const char *)data + size, &v, &why);
	slob_parse_price((const char *)data, (const char *)data + size, 250000000, &v, &why);
	return 0;
}
