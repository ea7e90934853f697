/* SPDX-License-Identifier: MIT */
/* coldrec.c: set-up of the per-stage cold queue (its overflow array). */
#include <errno.h>
#include <stdlib.h>

#include "engine/coldrec.h"

int slob_coldq_init(struct slob_coldq *q, slob_ring_t *ring, uint8_t stage)
{
	memset(q, 0, sizeof(*q));
	if (ring == NULL || ring->rec_size != sizeof(struct slob_cold))
		return -EINVAL;
	q->overflow = calloc(SLOB_COLDQ_OVERFLOW, sizeof(struct slob_cold));
	if (q->overflow == NULL)
		return -ENOMEM;
	/* a TRADE record that overflows must not take page faults either */
	slob_prefault(q->overflow, (unsigned long)SLOB_COLDQ_OVERFLOW * sizeof(struct slob_cold));
	q->ring = ring;
	q->stage = stage;
	return 0;
}

void slob_coldq_destroy(struct slob_coldq *q)
{
	if (q == NULL)
		return;
	free(q->overflow);
	q->overflow = NULL;
}
