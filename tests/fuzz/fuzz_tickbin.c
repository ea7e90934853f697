/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tickbin.c: the binary tick file checks over arbitrary bytes: header
 * decode (with and without the file size), the whole-file check (size and
 * xxh3), and record decoding with the tick checks. A buffer that passes the
 * check must decode exactly header.count records. The first input byte
 * optionally re-seals the header and checksum so mutations reach the record
 * path too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine/tickfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SLOB_TICKFILE_ERRLEN];
	struct slob_tickbin_hdr h;
	if (size < 1)
		return 0;
	int reseal = data[0] & 1;
	data++;
	size--;
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (reseal && size >= SLOB_TICKBIN_HDR_SIZE) {
		/* make a valid header for whatever body follows */
		struct slob_tickbin_hdr nh = {.tick_size = 0.25};
		memcpy(nh.symbol, buf + 24, 15);
		nh.count = (size - SLOB_TICKBIN_HDR_SIZE) / SLOB_TICKBIN_REC_SIZE;
		size = SLOB_TICKBIN_HDR_SIZE + nh.count * SLOB_TICKBIN_REC_SIZE;
		nh.body_xxh3 =
		    XXH3_64bits(buf + SLOB_TICKBIN_HDR_SIZE, size - SLOB_TICKBIN_HDR_SIZE);
		slob_tickbin_hdr_encode(&nh, buf);
	}
	slob_tickbin_hdr_decode(buf, size, -1, "fuzz.bin", &h, err, sizeof(err));
	if (slob_tickbin_check_mem(buf, size, "fuzz.bin", &h, err, sizeof(err)) == 0) {
		if (size != SLOB_TICKBIN_HDR_SIZE + h.count * SLOB_TICKBIN_REC_SIZE)
			abort();
		struct slob_tickcheck chk;
		slob_tickcheck_init(&chk, 0);
		uint64_t ok = 0;
		for (uint64_t i = 0; i < h.count; i++) {
			int64_t ts;
			int32_t px;
			uint32_t sz;
			slob_tickbin_rec_decode(
			    buf + SLOB_TICKBIN_HDR_SIZE + i * SLOB_TICKBIN_REC_SIZE, &ts, &px, &sz);
			ok += (uint64_t)slob_tickcheck_ok(&chk, ts, px, sz);
		}
		if (ok + slob_tickcheck_rejected(&chk) != h.count)
			abort();
	} else if (!strstr(err, "fuzz.bin")) {
		abort();
	}
	free(buf);
	return 0;
}
