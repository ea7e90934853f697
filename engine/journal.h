/* SPDX-License-Identifier: MIT */
/*
 * journal.h: the order journal, written by the sender immediately before an
 * order's bytes go to the broker (live) or to the paper broker. The store
 * learns about orders later, from the cold thread's batched commits; the
 * journal closes the window between the wire and that commit, so a crash
 * inside it never leaves a working order at the broker that the restarted
 * engine cannot name.
 *
 * The journal is one file in the data directory (orders.journal): a 4 KiB
 * header and SLOB_JOURNAL_CAP fixed-size records, memory-mapped MAP_SHARED
 * and pre-faulted at start-up.
 *
 * Design notes
 *  1. append() runs on the sender's thread and is plain stores into the
 *     mapping: no allocation, no lock, no system call. The record is filled,
 *     its xxh3 checksum computed over every byte before the checksum, and the
 *     checksum stored last (release), so a record cut short by a crash never
 *     verifies and is ignored (its order was not sent yet: the sender writes
 *     the journal first).
 *  2. What survives what:
 *       - process crash (kill -9, abort, OOM kill): every appended record.
 *         The pages belong to the kernel's page cache, not to the process;
 *         they reach the file whether or not anyone calls msync.
 *       - power loss / kernel crash: records up to the cold thread's last
 *         sync. The cold thread msyncs (MS_SYNC) the written range every
 *         SLOB_JOURNAL_SYNC_MS when records were appended since the last
 *         sync; the store's own FULL-synced commit of the same orders
 *         follows within cold.batch_ms, so after a power cut an order is
 *         lost only if it was sent within both windows.
 *  3. Writeback (the cold thread's msync of note 2, or the kernel's own)
 *     write-protects the pages it cleans; the first store to such a page
 *     after that is a minor page fault (no I/O on file systems without
 *     stable pages). Measured: one fault of 3-4 us (tens of us in the tail)
 *     on nearly every bracket, since appends are rarer than syncs. So the
 *     sender calls slob_journal_warm() on every idle poll: it stores the byte
 *     already there into the slot the next append will fill, and takes that
 *     fault itself, between brackets. The append then finds its page
 *     writable; a fault can reach it only when a sync lands between the last
 *     idle poll and the append.
 *  4. Start-up order: the store is checked and opened, the existing journal
 *     is folded into it (orders rows for every intent the store lacks,
 *     committed with synchronous=FULL: persist/recover.h), and only then is
 *     the journal reset and opened for this run. A fold that fails leaves
 *     the file untouched and start-up fails.
 *  5. A full journal (SLOB_JOURNAL_CAP brackets in one process lifetime) makes
 *     append() fail; the sender then refuses the bracket (never sends an
 *     order it could not journal). The next start compacts it.
 *  6. A bracket the broker refused synchronously (place() < 0) gets a
 *     REFUSED record after its BRACKET record; the fold skips such intents.
 */
#ifndef SLOB_JOURNAL_H
#define SLOB_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/event.h"

#define SLOB_JOURNAL_FILE "orders.journal"
#define SLOB_JOURNAL_CAP 32768u	   /* records (4 MiB) */
#define SLOB_JOURNAL_SYNC_MS 50	   /* cold thread msync period while written */
#define SLOB_JOURNAL_MAGIC 0x4e524a53u /* "SJRN" */
#define SLOB_JOURNAL_VERSION 1

enum slob_journal_kind {
	SLOB_JOURNAL_BRACKET = 1, /* intent about to be sent: 3 orders first_id..+2 */
	SLOB_JOURNAL_REFUSED = 2, /* the same intent refused before reaching the wire */
};

/* One record: 128 bytes, checksum last. */
struct slob_journal_rec {
	uint64_t seq;  /* 1, 2, 3 ... in file order */
	uint32_t magic;
	uint8_t version, kind;
	int8_t dir;    /* position direction: SLOB_LONG / SLOB_SHORT */
	uint8_t pad0;
	uint64_t setup_id;
	int64_t first_id; /* broker order ids: entry, TP = +1, SL = +2 */
	int64_t ts_ns;	  /* decision time */
	int32_t qty, entry, sl, tp; /* contracts, ticks */
	char order_ref[SLOB_ORDER_REF_LEN]; /* base ref; legs append _ENTRY/_TP/_SL */
	uint8_t pad1[24];
	uint64_t sum; /* xxh3-64 of the bytes above */
};

struct slob_journal {
	int fd;
	void *map;
	size_t map_len;
	struct slob_journal_rec *recs;
	uint32_t cap;
	uint64_t next;	     /* records appended (sender thread; others read relaxed) */
	uint64_t synced;     /* records covered by the last msync (cold thread) */
	int64_t last_sync_ns;
	uint64_t n_full;     /* appends refused: journal full */
	uint64_t n_sync_err; /* failed msyncs (cold thread) */
};

/*
 * slob_journal_open - creates or resets the journal file at path (empty,
 * SLOB_JOURNAL_CAP records), maps and pre-faults it. Fold the old contents
 * into the store first (note 4). 0 or -errno with the message in err.
 * Start-up only.
 */
int slob_journal_open(struct slob_journal *j, const char *path, char *err, size_t errlen);

/* Unmaps and closes; accepts NULL and zeroed structs. */
void slob_journal_close(struct slob_journal *j);

/* Appends one record for intent `in` (note 1). 0, or -ENOSPC when full.
 * Sender thread only. */
int slob_journal_append(struct slob_journal *j, uint8_t kind, const struct slob_intent *in,
			int64_t first_id);

/*
 * slob_journal_warm - sender thread, on an idle poll (note 3): rewrites the
 * first byte of the next free slot with its own value, so a page that
 * writeback write-protected faults here rather than inside the next append.
 * A load and a store when the page is writable; no system call.
 */
static inline void slob_journal_warm(struct slob_journal *j)
{
	uint64_t n = j->next;
	if (n < j->cap) {
		volatile uint8_t *p = (volatile uint8_t *)&j->recs[n];
		*p = *p;
	}
}

/* Cold thread: msync the records appended since the last sync once
 * SLOB_JOURNAL_SYNC_MS passed (now_ns: CLOCK_MONOTONIC). Returns 1 when it
 * synced, 0 when nothing was due, -errno on a failed msync. */
int slob_journal_sync(struct slob_journal *j, int64_t now_ns);

/*
 * slob_journal_read - calls fn for every valid record of the journal file at
 * path, in order, stopping at the first record that does not verify (magic,
 * version, sequence, checksum). *nvalid gets the count. Returns 0, -ENOENT
 * (no journal: a first start), -EINVAL (not a journal file: message in err)
 * or fn's negative return.
 */
typedef int (*slob_journal_visit_fn)(void *ctx, const struct slob_journal_rec *r);
int slob_journal_read(const char *path, slob_journal_visit_fn fn, void *ctx, unsigned *nvalid,
		      char *err, size_t errlen);

#endif /* SLOB_JOURNAL_H */
