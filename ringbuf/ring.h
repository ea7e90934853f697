/* SPDX-License-Identifier: MIT */
/*
 * ring.h: single-producer / single-consumer ring of fixed-size records,
 * built on Concurrency Kit's ck_ring.
 *
 * Design notes
 * ------------
 * The index pair (consumer head, producer tail) is a struct ck_ring: ck keeps
 * c_head and p_tail on separate cache lines. The record storage is one
 * caller-visible array of `capacity` slots of `rec_size` bytes, allocated once
 * by slob_ring_init. On top of ck_ring we add what ck lacks for our hot path:
 * runtime record sizes, batch enqueue/dequeue, zero-copy reserve/commit and
 * peek, and a cached copy of the other side's index on each side's own cache
 * line so that a batch touches the shared lines once per batch, not once per
 * record.
 *
 * Invariants
 *  1. Exactly one producer thread calls the *_push/_reserve/_commit functions
 *     and exactly one consumer thread calls *_pop/_peek/_release (the "_spsc"
 *     contract). slob_ring_size() may be called from any thread (approximate).
 *  2. Indices are free-running unsigned counters; slot = index & mask.
 *  3. As in ck_ring, one slot stays empty: a ring of capacity N holds at most
 *     N - 1 records (slob_ring_capacity() returns N - 1).
 *  4. Producer publishes slots with a release store of p_tail (partner: the
 *     consumer's acquire load of p_tail); the consumer finishes reading slots
 *     before its release store of c_head (partner: the producer's acquire
 *     load of c_head before overwriting a slot). These are the compiler's
 *     __atomic builtins on ck_ring's own fields rather than ck_pr fences:
 *     on x86-64 both compile to plain moves (the same code ck_pr emits), and
 *     ThreadSanitizer understands them, which it does not for ck_pr's inline
 *     assembly. Each side reads its own index with a plain load (it is the
 *     only writer).
 *  5. No function here allocates, locks, or makes a system call, except
 *     slob_ring_init/slob_ring_destroy.
 */
#ifndef SLOB_RING_H
#define SLOB_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ck_pr.h>
#include <ck_ring.h>

#include "ringbuf/compiler.h"

struct slob_ring {
	struct ck_ring ck; /* c_head | p_tail on own lines */
	/* producer-private line */
	unsigned int p_cached_c_head SLOB_CACHE_ALIGNED;
	unsigned int p_reserved; /* records reserved, not committed */
	/* consumer-private line */
	unsigned int c_cached_p_tail SLOB_CACHE_ALIGNED;
	/* read-only after init */
	unsigned char *slots SLOB_CACHE_ALIGNED;
	unsigned int rec_size;
	unsigned int mask;
	const char *name;
};
typedef struct slob_ring slob_ring_t;

/*
 * slob_ring_init - set up a ring of `capacity` slots of `rec_size` bytes.
 * capacity must be a power of two >= 2; rec_size > 0 and a multiple of 8 is
 * recommended for alignment. Allocates the slots (cache-line aligned).
 * Returns 0, -EINVAL (bad capacity or size; a message is left in
 * slob_ring_strerror()), or -ENOMEM. Not thread-safe; call before sharing.
 */
int slob_ring_init(slob_ring_t *r, const char *name, unsigned int capacity, unsigned int rec_size);

/* Frees the slots. Accepts NULL and never-initialised (zeroed) rings. */
void slob_ring_destroy(slob_ring_t *r);

/* Detail of the last init failure on this thread. */
const char *slob_ring_strerror(void);

/* Usable capacity (slots - 1). */
static inline unsigned int slob_ring_capacity(const slob_ring_t *r)
{
	return r->mask;
}

/* Approximate number of records queued; any thread. */
static inline unsigned int slob_ring_size(const slob_ring_t *r)
{
	unsigned int c = __atomic_load_n(&r->ck.c_head, __ATOMIC_RELAXED);
	unsigned int p = __atomic_load_n(&r->ck.p_tail, __ATOMIC_RELAXED);
	return (p - c) & r->mask;
}

static inline void *slob_ring_slot_(const slob_ring_t *r, unsigned int idx)
{
	return r->slots + (size_t)(idx & r->mask) * r->rec_size;
}

/* Producer: free slots, refreshing the cached consumer index only if needed. */
SLOB_INLINE unsigned int slob_ring_free_spsc_(slob_ring_t *r, unsigned int want)
{
	unsigned int p = r->ck.p_tail + r->p_reserved;
	unsigned int freec = r->mask - (p - r->p_cached_c_head);
	if (freec < want) {
		/* acquire: partner is the release store in slob_ring_release_spsc */
		r->p_cached_c_head = __atomic_load_n(&r->ck.c_head, __ATOMIC_ACQUIRE);
		freec = r->mask - (p - r->p_cached_c_head);
	}
	return freec;
}

/*
 * slob_ring_reserve_spsc - zero-copy: pointer to the next free slot, or NULL
 * if the ring is full. Several reserves may precede one commit.
 * Producer thread only.
 */
SLOB_INLINE void *slob_ring_reserve_spsc(slob_ring_t *r)
{
	if (slob_unlikely(slob_ring_free_spsc_(r, 1) == 0))
		return NULL;
	return slob_ring_slot_(r, r->ck.p_tail + r->p_reserved++);
}

/* Publishes every reserved slot. Producer thread only. */
SLOB_INLINE void slob_ring_commit_spsc(slob_ring_t *r)
{
	unsigned int p = r->ck.p_tail + r->p_reserved;
	r->p_reserved = 0;
	/* release: slot writes before p_tail; partner: acquire in avail_spsc_ */
	__atomic_store_n(&r->ck.p_tail, p, __ATOMIC_RELEASE);
}

/* Copies one record in. Returns false if full. Producer thread only. */
SLOB_INLINE bool slob_ring_push_spsc(slob_ring_t *r, const void *rec)
{
	void *slot = slob_ring_reserve_spsc(r);
	if (slob_unlikely(slot == NULL))
		return false;
	memcpy(slot, rec, r->rec_size);
	slob_ring_commit_spsc(r);
	return true;
}

/*
 * Copies up to n records from `recs` (contiguous array of rec_size records).
 * Returns how many were queued (0..n); one publication for the batch.
 * Producer thread only.
 */
SLOB_INLINE unsigned int slob_ring_push_batch_spsc(slob_ring_t *r, const void *recs, unsigned int n)
{
	unsigned int freec = slob_ring_free_spsc_(r, n);
	unsigned int k = n < freec ? n : freec;
	unsigned int p = r->ck.p_tail + r->p_reserved;
	const unsigned char *src = recs;
	if (k == 0)
		return 0;
	unsigned int first = (r->mask + 1) - (p & r->mask);
	if (first > k)
		first = k;
	memcpy(slob_ring_slot_(r, p), src, (size_t)first * r->rec_size);
	if (k > first)
		memcpy(r->slots, src + (size_t)first * r->rec_size,
		       (size_t)(k - first) * r->rec_size);
	r->p_reserved += k;
	slob_ring_commit_spsc(r);
	return k;
}

/* Consumer: records available, refreshing the cached producer index if needed. */
SLOB_INLINE unsigned int slob_ring_avail_spsc_(slob_ring_t *r, unsigned int want)
{
	unsigned int c = r->ck.c_head;
	unsigned int avail = r->c_cached_p_tail - c;
	if (avail < want) {
		/* acquire: partner is the release store in slob_ring_commit_spsc */
		r->c_cached_p_tail = __atomic_load_n(&r->ck.p_tail, __ATOMIC_ACQUIRE);
		avail = r->c_cached_p_tail - c;
	}
	return avail;
}

/*
 * slob_ring_peek_spsc - pointer to the i-th queued record (0 = oldest), or
 * NULL if fewer than i + 1 are queued. The record stays valid until released.
 * Consumer thread only.
 */
SLOB_INLINE const void *slob_ring_peek_spsc(slob_ring_t *r, unsigned int i)
{
	if (slob_ring_avail_spsc_(r, i + 1) <= i)
		return NULL;
	return slob_ring_slot_(r, r->ck.c_head + i);
}

/* Frees the n oldest records after peeking them. Consumer thread only. */
SLOB_INLINE void slob_ring_release_spsc(slob_ring_t *r, unsigned int n)
{
	/* release: our reads of the slots happen before the producer may reuse
	 * them; partner: acquire load of c_head in slob_ring_free_spsc_ */
	__atomic_store_n(&r->ck.c_head, r->ck.c_head + n, __ATOMIC_RELEASE);
}

/* Copies the oldest record out. Returns false if empty. Consumer only. */
SLOB_INLINE bool slob_ring_pop_spsc(slob_ring_t *r, void *out)
{
	const void *slot = slob_ring_peek_spsc(r, 0);
	if (slob_unlikely(slot == NULL))
		return false;
	memcpy(out, slot, r->rec_size);
	slob_ring_release_spsc(r, 1);
	return true;
}

/* Copies up to n records out into `out`; returns how many. Consumer only. */
SLOB_INLINE unsigned int slob_ring_pop_batch_spsc(slob_ring_t *r, void *out, unsigned int n)
{
	unsigned int avail = slob_ring_avail_spsc_(r, n);
	unsigned int k = n < avail ? n : avail;
	unsigned int c = r->ck.c_head;
	unsigned char *dst = out;
	if (k == 0)
		return 0;
	unsigned int first = (r->mask + 1) - (c & r->mask);
	if (first > k)
		first = k;
	memcpy(dst, slob_ring_slot_(r, c), (size_t)first * r->rec_size);
	if (k > first)
		memcpy(dst + (size_t)first * r->rec_size, r->slots,
		       (size_t)(k - first) * r->rec_size);
	slob_ring_release_spsc(r, k);
	return k;
}

/*
 * SLOB_RING_TYPED(name, type): typed wrappers whose record size is a
 * compile-time constant, so memcpy inlines to a few moves:
 *   name_push(r, const type *), name_pop(r, type *), name_peek(r, i).
 */
#define SLOB_RING_TYPED(name, type)                                                                \
	SLOB_INLINE bool name##_push(slob_ring_t *r, const type *rec)                              \
	{                                                                                          \
		type *slot = (type *)slob_ring_reserve_spsc(r);                                    \
		if (slob_unlikely(slot == NULL))                                                   \
			return false;                                                              \
		*slot = *rec;                                                                      \
		slob_ring_commit_spsc(r);                                                          \
		return true;                                                                       \
	}                                                                                          \
	SLOB_INLINE bool name##_pop(slob_ring_t *r, type *out)                                     \
	{                                                                                          \
		const type *slot = (const type *)slob_ring_peek_spsc(r, 0);                        \
		if (slob_unlikely(slot == NULL))                                                   \
			return false;                                                              \
		*out = *slot;                                                                      \
		slob_ring_release_spsc(r, 1);                                                      \
		return true;                                                                       \
	}                                                                                          \
	SLOB_INLINE const type *name##_peek(slob_ring_t *r, unsigned int i)                        \
	{                                                                                          \
		return (const type *)slob_ring_peek_spsc(r, i);                                    \
	}

#endif /* SLOB_RING_H */
