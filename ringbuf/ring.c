/* SPDX-License-Identifier: MIT */
/*
 * ring.c: creation and destruction of SPSC rings (the only part of the ring
 * that allocates). The hot-path operations are inline in ring.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ringbuf/ring.h"

static _Thread_local char ring_err[160];

const char *slob_ring_strerror(void)
{
	return ring_err;
}

int slob_ring_init(slob_ring_t *r, const char *name, unsigned int capacity, unsigned int rec_size)
{
	memset(r, 0, sizeof(*r));
	if (!slob_is_pow2(capacity) || capacity < 2) {
		snprintf(ring_err, sizeof(ring_err),
			 "ring '%s': capacity %u is not a power of two >= 2", name ? name : "?",
			 capacity);
		return -EINVAL;
	}
	if (rec_size == 0) {
		snprintf(ring_err, sizeof(ring_err), "ring '%s': record size is 0",
			 name ? name : "?");
		return -EINVAL;
	}
	if ((size_t)capacity * rec_size > ((size_t)1 << 34)) {
		snprintf(ring_err, sizeof(ring_err), "ring '%s': %u x %u bytes is too large",
			 name ? name : "?", capacity, rec_size);
		return -EINVAL;
	}
	void *mem = NULL;
	if (posix_memalign(&mem, SLOB_CACHELINE, (size_t)capacity * rec_size) != 0) {
		snprintf(ring_err, sizeof(ring_err), "ring '%s': out of memory", name ? name : "?");
		return -ENOMEM;
	}
	memset(mem, 0, (size_t)capacity * rec_size);
	ck_ring_init(&r->ck, capacity);
	r->slots = mem;
	r->rec_size = rec_size;
	r->mask = capacity - 1;
	r->name = name;
	return 0;
}

void slob_ring_destroy(slob_ring_t *r)
{
	if (r == NULL)
		return;
	free(r->slots);
	r->slots = NULL;
}
