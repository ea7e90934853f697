/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tws_decode.c: feeds arbitrary bytes to the TWS receive path as a
 * connection would see them: optional client handshake (server side), then
 * length-prefixed frames, each decoded. Garbage must end in an error code,
 * never a crash, overread or sanitizer report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tws_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct slob_tws_in m;
	size_t off = 0;
	int lo, hi;
	if (size >= 4 && memcmp(data, "API", 3) == 0) {
		int n = slob_tws_decode_client_hello(data, size, &lo, &hi);
		if (n <= 0)
			return 0;
		off = (size_t)n;
	}
	int first = 1;
	while (off < size) {
		int fl = slob_tws_frame_len(data + off, size - off, 1u << 16);
		if (fl <= 0)
			break; /* need more bytes or a bad length: the connection closes */
		/* copy so the decoder sees exactly the frame (ASan catches overreads) */
		size_t plen = (size_t)fl - 4;
		uint8_t *p = malloc(plen);
		if (p == NULL)
			return 0;
		memcpy(p, data + off + 4, plen);
		if (first) {
			int ver;
			const char *t;
			(void)slob_tws_decode_server_hello(p, plen, &ver, &t);
			first = 0;
		}
		if (slob_tws_decode(p, plen, &m) == 0 && slob_tws_known(m.kind)) {
			/* touch every typed string so a bad view would be caught */
			for (uint32_t i = 0; i <= m.nfields && i < SLOB_TWS_MAX_FIELDS; i++)
				(void)strlen(m.f[i]);
		}
		free(p);
		off += (size_t)fl;
	}
	return 0;
}
