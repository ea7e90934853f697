/* SPDX-License-Identifier: MIT */
/*
 * journal.c: the order journal (see journal.h for the design notes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/journal.h"
#include "ringbuf/compiler.h"

_Static_assert(sizeof(struct slob_journal_rec) == 128, "journal record is 128 bytes");

#define JOURNAL_HDR 4096u

/* The first page: identifies the file; records follow it. */
struct journal_hdr {
	char magic[8]; /* "SLOBJRN\n" */
	uint32_t version, rec_size, cap, pad;
};

static uint64_t rec_sum(const struct slob_journal_rec *r)
{
	return XXH3_64bits(r, offsetof(struct slob_journal_rec, sum));
}

int slob_journal_open(struct slob_journal *j, const char *path, char *err, size_t errlen)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	size_t len = JOURNAL_HDR + (size_t)SLOB_JOURNAL_CAP * sizeof(struct slob_journal_rec);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "order journal %s: cannot open: %s", path, strerror(e));
		return -e;
	}
	/* reset: the old contents were folded into the store (design note 4) */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)len) < 0) {
		int e = errno;
		snprintf(err, errlen, "order journal %s: cannot size to %zu bytes: %s", path, len,
			 strerror(e));
		close(fd);
		return -e;
	}
	/* allocate the blocks now: a full disk fails here, not on a hot-path store */
	int e = posix_fallocate(fd, 0, (off_t)len);
	if (e != 0 && e != EOPNOTSUPP && e != EINVAL) {
		snprintf(err, errlen, "order journal %s: cannot allocate %zu bytes: %s", path, len,
			 strerror(e));
		close(fd);
		return -e;
	}
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		e = errno;
		snprintf(err, errlen, "order journal %s: cannot map: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	struct journal_hdr *h = m;
	memcpy(h->magic, "SLOBJRN\n", 8);
	h->version = SLOB_JOURNAL_VERSION;
	h->rec_size = sizeof(struct slob_journal_rec);
	h->cap = SLOB_JOURNAL_CAP;
	/* the header and the new size on disk; the zeroed records need not be:
	 * old records that reappear after a power cut are folded again, which
	 * adds nothing (the fold only inserts what the store lacks) */
	if (msync(m, JOURNAL_HDR, MS_SYNC) < 0 || fsync(fd) < 0) {
		e = errno;
		snprintf(err, errlen, "order journal %s: cannot sync: %s", path, strerror(e));
		munmap(m, len);
		close(fd);
		return -e;
	}
	/* pre-fault: every page mapped and dirty before the hot path runs */
	slob_prefault(m, len);
	j->fd = fd;
	j->map = m;
	j->map_len = len;
	j->recs = (struct slob_journal_rec *)((char *)m + JOURNAL_HDR);
	j->cap = SLOB_JOURNAL_CAP;
	return 0;
}

void slob_journal_close(struct slob_journal *j)
{
	if (j == NULL)
		return;
	if (j->map != NULL) {
		(void)msync(j->map, j->map_len, MS_SYNC);
		munmap(j->map, j->map_len);
	}
	if (j->fd >= 0 && j->map != NULL)
		close(j->fd);
	j->map = NULL;
	j->recs = NULL;
	j->fd = -1;
}

int slob_journal_append(struct slob_journal *j, uint8_t kind, const struct slob_intent *in,
			int64_t first_id)
{
	uint64_t n = j->next;
	if (slob_unlikely(n >= j->cap)) {
		j->n_full++;
		return -ENOSPC;
	}
	struct slob_journal_rec *r = &j->recs[n];
	struct slob_journal_rec t;
	memset(&t, 0, sizeof(t));
	t.seq = n + 1;
	t.magic = SLOB_JOURNAL_MAGIC;
	t.version = SLOB_JOURNAL_VERSION;
	t.kind = kind;
	t.dir = in->dir;
	t.setup_id = in->setup_id;
	t.first_id = first_id;
	t.ts_ns = in->ts_ns;
	t.qty = in->qty;
	t.entry = in->entry;
	t.sl = in->sl;
	t.tp = in->tp;
	memcpy(t.order_ref, in->order_ref, sizeof(t.order_ref));
	t.order_ref[sizeof(t.order_ref) - 1] = '\0';
	t.sum = rec_sum(&t);
	/* body first, checksum last: a torn record never verifies (note 1) */
	memcpy(r, &t, offsetof(struct slob_journal_rec, sum));
	__atomic_store_n(&r->sum, t.sum, __ATOMIC_RELEASE);
	__atomic_store_n(&j->next, n + 1, __ATOMIC_RELEASE);
	return 0;
}

int slob_journal_sync(struct slob_journal *j, int64_t now_ns)
{
	if (j == NULL || j->map == NULL)
		return 0;
	uint64_t n = __atomic_load_n(&j->next, __ATOMIC_ACQUIRE);
	if (n == j->synced || now_ns - j->last_sync_ns < (int64_t)SLOB_JOURNAL_SYNC_MS * 1000000)
		return 0;
	size_t from = JOURNAL_HDR + (size_t)j->synced * sizeof(struct slob_journal_rec);
	size_t to = JOURNAL_HDR + (size_t)n * sizeof(struct slob_journal_rec);
	from &= ~(size_t)4095;
	j->last_sync_ns = now_ns;
	if (msync((char *)j->map + from, to - from, MS_SYNC) < 0) {
		j->n_sync_err++;
		return -errno;
	}
	j->synced = n;
	return 1;
}

int slob_journal_read(const char *path, slob_journal_visit_fn fn, void *ctx, unsigned *nvalid,
		      char *err, size_t errlen)
{
	*nvalid = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e != ENOENT)
			snprintf(err, errlen, "order journal %s: cannot open: %s", path, strerror(e));
		return -e;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int e = errno;
		snprintf(err, errlen, "order journal %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (sb.st_size == 0) {
		close(fd); /* created, never initialised: nothing was sent */
		return 0;
	}
	struct journal_hdr h;
	if (sb.st_size < (off_t)JOURNAL_HDR || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, "SLOBJRN\n", 8) != 0 || h.rec_size != sizeof(struct slob_journal_rec)) {
		snprintf(err, errlen,
			 "order journal %s: not a version %d journal (header does not match); "
			 "move it aside only after checking the broker by hand",
			 path, SLOB_JOURNAL_VERSION);
		close(fd);
		return -EINVAL;
	}
	uint64_t cap = ((uint64_t)sb.st_size - JOURNAL_HDR) / sizeof(struct slob_journal_rec);
	int rc = 0;
	for (uint64_t i = 0; i < cap; i++) {
		struct slob_journal_rec r;
		if (pread(fd, &r, sizeof(r), (off_t)(JOURNAL_HDR + i * sizeof(r))) !=
		    (ssize_t)sizeof(r))
			break;
		if (r.magic != SLOB_JOURNAL_MAGIC || r.version != SLOB_JOURNAL_VERSION ||
		    r.seq != i + 1 || r.sum != rec_sum(&r))
			break;
		r.order_ref[sizeof(r.order_ref) - 1] = '\0';
		(*nvalid)++;
		if ((rc = fn(ctx, &r)) < 0)
			break;
	}
	close(fd);
	return rc < 0 ? rc : 0;
}
