/* SPDX-License-Identifier: MIT */
/*
 * stats.c: create/open of the memory-mapped stats file, slot registration,
 * the status seqlock and histogram quantiles. See stats.h for the layout and
 * the design notes; everything here except the inline hot-path helpers in
 * the header runs at start-up or in readers.
 */
#define _GNU_SOURCE
#include "engine/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/coldrec.h"
#include "ringbuf/ring.h"

#define HDR_BLOCK 4096u
#define STATUS_BLOCK 4096u

SLOB_STATIC_ASSERT(sizeof(struct slob_stats_header) <= HDR_BLOCK, "stats header fits");
SLOB_STATIC_ASSERT(sizeof(struct slob_stats_status) <= STATUS_BLOCK, "stats status fits");

static size_t layout_size(void)
{
	return HDR_BLOCK + STATUS_BLOCK +
	       (size_t)SLOB_STATS_MAX_STAGES * sizeof(struct slob_stats_stage_slot) +
	       (size_t)SLOB_STATS_MAX_HISTS * sizeof(struct slob_stats_hist_slot);
}

static void bind_pointers(slob_stats_t *s)
{
	unsigned char *b = s->map;
	s->hdr = (struct slob_stats_header *)b;
	s->status = (struct slob_stats_status *)(b + s->hdr->status_off);
	s->stages = (struct slob_stats_stage_slot *)(b + s->hdr->stages_off);
	s->hists = (struct slob_stats_hist_slot *)(b + s->hdr->hists_off);
}

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int slob_stats_create(slob_stats_t *s, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	int fd = -1, rc;
	size_t len = layout_size();

	memset(s, 0, sizeof(*s));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "stats file path too long: %s", path);
		return -ENAMETOOLONG;
	}
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "stats file %s: create: %s", tmp, strerror(errno));
		return rc;
	}
	if (ftruncate(fd, (off_t)len) < 0) {
		rc = -errno;
		snprintf(err, errlen, "stats file %s: ftruncate %zu: %s", tmp, len,
			 strerror(errno));
		goto fail_fd;
	}
	/* Make sure the blocks exist (a full disk shows here, not as SIGBUS later). */
	rc = posix_fallocate(fd, 0, (off_t)len);
	if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
		snprintf(err, errlen, "stats file %s: allocate %zu bytes: %s", tmp, len,
			 strerror(rc));
		rc = -rc;
		goto fail_fd;
	}
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "stats file %s: mmap: %s", tmp, strerror(errno));
		goto fail_fd;
	}
	s->map = m;
	s->len = len;
	s->writable = 1;
	/* stages write their counters and histograms into this mapping from
	 * the hot path: map every page now, not on a first write mid-trade */
	slob_prefault(m, len);
	struct slob_stats_header *h = m;
	h->version = SLOB_STATS_VERSION;
	h->header_size = sizeof(*h);
	h->status_off = HDR_BLOCK;
	h->status_size = sizeof(struct slob_stats_status);
	h->stages_off = HDR_BLOCK + STATUS_BLOCK;
	h->stage_size = sizeof(struct slob_stats_stage_slot);
	h->max_stages = SLOB_STATS_MAX_STAGES;
	h->hists_off = h->stages_off + SLOB_STATS_MAX_STAGES * h->stage_size;
	h->hist_size = sizeof(struct slob_stats_hist_slot);
	h->max_hists = SLOB_STATS_MAX_HISTS;
	h->hist_sub_bits = SLOB_HIST_SUB_BITS;
	h->hist_buckets = SLOB_HIST_BUCKETS;
	h->file_size = len;
	h->created_ns = realtime_ns();
	h->creator_pid = (int32_t)getpid();
	bind_pointers(s);
	s->status->pid = (int32_t)getpid();
	/* release: pairs with the acquire load of magic in slob_stats_open */
	__atomic_store_n(&h->magic, SLOB_STATS_MAGIC, __ATOMIC_RELEASE);
	if (rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "stats file: rename %s -> %s: %s", tmp, path,
			 strerror(errno));
		munmap(m, len);
		memset(s, 0, sizeof(*s));
		goto fail_fd;
	}
	close(fd);
	return 0;

fail_fd:
	close(fd);
	unlink(tmp);
	return rc;
}

int slob_stats_open(slob_stats_t *s, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int rc;

	memset(s, 0, sizeof(*s));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "stats file %s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (has slobd run with this data dir?)" : "");
		return rc;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "stats file %s: stat: %s", path, strerror(errno));
		goto out;
	}
	if ((size_t)sb.st_size < sizeof(struct slob_stats_header)) {
		snprintf(err, errlen, "stats file %s: too short (%lld bytes) for a header", path,
			 (long long)sb.st_size);
		rc = -EPROTO;
		goto out;
	}
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "stats file %s: mmap: %s", path, strerror(errno));
		goto out;
	}
	const struct slob_stats_header *h = m;
	rc = -EPROTO;
	/* acquire: pairs with the release store of magic in slob_stats_create */
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != SLOB_STATS_MAGIC)
		snprintf(err, errlen, "stats file %s: bad magic (not a slob stats file)", path);
	else if (h->version != SLOB_STATS_VERSION)
		snprintf(err, errlen, "stats file %s: layout version %u, this program reads %u",
			 path, h->version, SLOB_STATS_VERSION);
	else if (h->header_size != sizeof(struct slob_stats_header) ||
		 h->status_size != sizeof(struct slob_stats_status) ||
		 h->stage_size != sizeof(struct slob_stats_stage_slot) ||
		 h->hist_size != sizeof(struct slob_stats_hist_slot) ||
		 h->hist_buckets != SLOB_HIST_BUCKETS || h->hist_sub_bits != SLOB_HIST_SUB_BITS)
		snprintf(err, errlen, "stats file %s: record sizes differ from this build", path);
	else if (h->status_off != HDR_BLOCK || h->stages_off != HDR_BLOCK + STATUS_BLOCK ||
		 h->hists_off != HDR_BLOCK + STATUS_BLOCK + SLOB_STATS_MAX_STAGES * h->stage_size)
		snprintf(err, errlen, "stats file %s: block offsets differ from this build", path);
	else if (h->file_size != (uint64_t)sb.st_size || h->file_size < layout_size() ||
		 h->max_stages != SLOB_STATS_MAX_STAGES || h->max_hists != SLOB_STATS_MAX_HISTS)
		snprintf(err, errlen, "stats file %s: size %lld does not match its header", path,
			 (long long)sb.st_size);
	else
		rc = 0;
	if (rc < 0) {
		munmap(m, (size_t)sb.st_size);
		goto out;
	}
	s->map = m;
	s->len = (size_t)sb.st_size;
	s->writable = 0;
	bind_pointers(s);
out:
	close(fd);
	return rc;
}

void slob_stats_close(slob_stats_t *s)
{
	if (!s)
		return;
	if (s->map)
		munmap(s->map, s->len);
	memset(s, 0, sizeof(*s));
}

struct slob_stage_stats *slob_stats_stage_register(slob_stats_t *s, const char *name)
{
	if (!s->map || !s->writable)
		return NULL;
	uint32_t n = s->hdr->nstages;
	for (uint32_t i = 0; i < n; i++)
		if (strncmp(s->stages[i].name, name, SLOB_STATS_NAME_LEN) == 0)
			return &s->stages[i].stats;
	if (n >= SLOB_STATS_MAX_STAGES)
		return NULL;
	struct slob_stats_stage_slot *slot = &s->stages[n];
	memset(slot, 0, sizeof(*slot));
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	/* release: pairs with the acquire in slob_stats_nstages */
	__atomic_store_n(&s->hdr->nstages, n + 1, __ATOMIC_RELEASE);
	return &slot->stats;
}

struct slob_stats_stage_slot *slob_stats_stage_slot(slob_stats_t *s, const char *name)
{
	unsigned n = slob_stats_nstages(s);
	for (unsigned i = 0; i < n; i++)
		if (strncmp(s->stages[i].name, name, SLOB_STATS_NAME_LEN) == 0)
			return &s->stages[i];
	return NULL;
}

int slob_stats_sample_rings(slob_stats_t *s, slob_stage_t *const *stages, unsigned n)
{
	int done = 0;
	if (!s->map || !s->writable)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		const slob_stage_t *st = stages[i];
		if (!st || !st->name)
			continue;
		struct slob_stats_stage_slot *slot = slob_stats_stage_slot(s, st->name);
		if (!slot)
			continue;
		uint64_t fill = 0, cap = 0;
		for (unsigned k = 0; k < st->ninputs && k < SLOB_STAGE_MAX_INPUTS; k++) {
			if (!st->inputs[k])
				continue;
			fill += slob_ring_size(st->inputs[k]);
			cap += slob_ring_capacity(st->inputs[k]);
		}
		slob_stats_set(&slot->ring_fill, fill);
		slob_stats_set(&slot->ring_cap, cap);
		done++;
	}
	return done;
}

int slob_stats_stage_reason_name(struct slob_stats_stage_slot *slot, unsigned idx, const char *name)
{
	if (!slot || idx >= SLOB_MAX_REASONS || !name)
		return -EINVAL;
	snprintf(slot->reason_names[idx], SLOB_STATS_REASON_LEN, "%s", name);
	return 0;
}

slob_hist_t *slob_stats_hist_register(slob_stats_t *s, const char *name)
{
	if (!s->map || !s->writable)
		return NULL;
	uint32_t n = s->hdr->nhists;
	for (uint32_t i = 0; i < n; i++)
		if (strncmp(s->hists[i].name, name, SLOB_STATS_NAME_LEN) == 0)
			return &s->hists[i].h;
	if (n >= SLOB_STATS_MAX_HISTS)
		return NULL;
	struct slob_stats_hist_slot *h = &s->hists[n];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	/* release: pairs with the acquire in slob_stats_nhists */
	__atomic_store_n(&s->hdr->nhists, n + 1, __ATOMIC_RELEASE);
	return &h->h;
}

unsigned slob_stats_nstages(const slob_stats_t *s)
{
	if (!s->map)
		return 0;
	/* acquire: pairs with the release in slob_stats_stage_register */
	uint32_t n = __atomic_load_n(&s->hdr->nstages, __ATOMIC_ACQUIRE);
	return n > SLOB_STATS_MAX_STAGES ? SLOB_STATS_MAX_STAGES : n;
}

unsigned slob_stats_nhists(const slob_stats_t *s)
{
	if (!s->map)
		return 0;
	/* acquire: pairs with the release in slob_stats_hist_register */
	uint32_t n = __atomic_load_n(&s->hdr->nhists, __ATOMIC_ACQUIRE);
	return n > SLOB_STATS_MAX_HISTS ? SLOB_STATS_MAX_HISTS : n;
}

/* ---- status seqlock ------------------------------------------------------ */

void slob_stats_status_begin(slob_stats_t *s)
{
	if (s->wdepth++ > 0)
		return; /* nested: the outer pair already made seq odd */
#ifdef SLOB_TSAN
	/* TSan does not model fences: an acq_rel RMW keeps the field stores
	 * after the odd seq (same pairing as below) */
	__atomic_fetch_add(&s->status->seq, 1, __ATOMIC_ACQ_REL);
#else
	uint64_t q = __atomic_load_n(&s->status->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&s->status->seq, q + 1, __ATOMIC_RELAXED);
	/* release fence: the odd seq is visible before any field store below;
	 * pairs with the acquire fence in slob_stats_snapshot */
	__atomic_thread_fence(__ATOMIC_RELEASE);
#endif
}

void slob_stats_status_end(slob_stats_t *s)
{
	if (s->wdepth == 0 || --s->wdepth > 0)
		return; /* unbalanced, or an inner pair */
	uint64_t q = __atomic_load_n(&s->status->seq, __ATOMIC_RELAXED);
	/* release: field stores happen before the even seq; pairs with the
	 * acquire load of seq in slob_stats_snapshot */
	__atomic_store_n(&s->status->seq, q + 1, __ATOMIC_RELEASE);
}

void slob_stats_heartbeat(slob_stats_t *s, int64_t now_ns)
{
	slob_stats_status_begin(s);
	__atomic_store_n(&s->status->heartbeat_ns, now_ns, __ATOMIC_RELAXED);
	slob_stats_status_end(s);
}

static void set_position(struct slob_stats_status *st, const struct slob_cold_position *p)
{
	/* setup_id 0 = the aggregated instrument position: slot 0 */
	unsigned idx = 0;
	if (p->setup_id != 0)
		return; /* per-setup rows live in the store; status shows the net position */
	struct slob_stats_position *pos = &st->positions[idx];
	snprintf(pos->symbol, sizeof(pos->symbol), "NQ");
	pos->qty = p->open ? p->qty : 0;
	pos->avg_px = p->open ? p->avg_px : 0;
	pos->sl = p->open ? p->sl : 0;
	pos->tp = p->open ? p->tp : 0;
	st->npositions = pos->qty != 0 ? 1 : 0;
}

int slob_stats_status_apply_cold(slob_stats_t *s, const struct slob_cold *rec)
{
	struct slob_stats_status *st = s->status;
	if (!s->writable)
		return 0;
	switch (rec->type) {
	case SLOB_COLD_RISK_STATE:
		slob_stats_status_begin(s);
		st->equity_cents = rec->u.risk.equity_cents;
		st->peak_cents = rec->u.risk.peak_cents;
		st->daily_pnl_cents = rec->u.risk.daily_pnl_cents;
		st->open_positions = rec->u.risk.open_positions;
		st->trading_day = rec->u.risk.trading_day;
		slob_stats_status_end(s);
		return 1;
	case SLOB_COLD_BREAKER:
		slob_stats_status_begin(s);
		st->breaker = rec->u.breaker.tripped ? 1 : 0;
		st->breaker_reason = rec->u.breaker.reason;
		st->breaker_since_ns = rec->ts_ns;
		slob_stats_status_end(s);
		return 1;
	case SLOB_COLD_CONN: {
		unsigned idx = slob_conn_code_session(rec->u.text.code);
		int state = (int)slob_conn_code_state(rec->u.text.code);
		if (idx >= SLOB_STATS_NCONN || state >= SLOB_CONN_NSTATES)
			return 0;
		slob_stats_status_begin(s);
		if (slob_conn_state_connected(st->conn[idx]) && !slob_conn_state_connected(state))
			st->conn_drops[idx]++;
		if (st->conn[idx] != state)
			st->conn_since_ns[idx] = rec->ts_ns;
		st->conn[idx] = state;
		slob_stats_status_end(s);
		return 1;
	}
	case SLOB_COLD_POSITION:
		slob_stats_status_begin(s);
		set_position(st, &rec->u.position);
		slob_stats_status_end(s);
		return 1;
	case SLOB_COLD_ACCOUNT: {
		const struct slob_cold_account *a = &rec->u.account;
		slob_stats_status_begin(s);
		st->acct_have = a->acct.have;
		st->acct_stale = a->stale;
		st->acct_net_liq_cents = a->acct.net_liq_cents;
		st->acct_available_cents = a->acct.available_cents;
		st->acct_excess_liq_cents = a->acct.excess_liq_cents;
		st->acct_init_margin_cents = a->acct.init_margin_cents;
		st->acct_maint_margin_cents = a->acct.maint_margin_cents;
		st->acct_margin_1_cents = a->acct.margin_1_cents;
		st->acct_updated_ns = a->acct.summary_wall_ns;
		st->sizing_equity_cents = a->sizing_equity_cents;
		st->sizing_equity_src = a->equity_src;
		memcpy(st->acct_currency, a->acct.currency, sizeof(st->acct_currency));
		st->acct_currency[sizeof(st->acct_currency) - 1] = '\0';
		slob_stats_status_end(s);
		return 1;
	}
	default:
		return 0;
	}
}

bool slob_stats_engine_alive(const struct slob_stats_status *st, int64_t now_ns, int64_t *age_ns)
{
	int64_t age = now_ns - st->heartbeat_ns;
	if (age_ns)
		*age_ns = age;
	if (!st->engine_up || st->pid <= 0)
		return false;
	if (age > SLOB_STATS_STALE_NS || age < -SLOB_STATS_STALE_NS)
		return false;
	if (kill(st->pid, 0) < 0 && errno == ESRCH)
		return false;
	return true;
}

int slob_stats_snapshot(const slob_stats_t *s, int64_t now_ns, struct slob_stats_snapshot *out)
{
	const struct slob_stats_status *st = s->status;
	for (int i = 0; i < SLOB_STATS_SNAPSHOT_TRIES; i++) {
		/* acquire: pairs with the release store in slob_stats_status_end */
		uint64_t q1 = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE);
		if (q1 & 1) {
			/* a reader is never on the hot path: let a preempted writer finish */
			if ((i & 63) == 63)
				sched_yield();
			else
				slob_cpu_relax();
			continue;
		}
		/* The copy races with the writer by design; it is discarded when seq moved.
		 * Copy word by word with relaxed atomics so sanitizers see no data race. */
		const uint64_t *src = (const uint64_t *)st;
		uint64_t *dst = (uint64_t *)&out->st;
#ifdef SLOB_TSAN
		/* acquire loads instead of the fence TSan cannot model */
		for (size_t w = 0; w < sizeof(*st) / 8; w++)
			dst[w] = __atomic_load_n(&src[w], __ATOMIC_ACQUIRE);
#else
		for (size_t w = 0; w < sizeof(*st) / 8; w++)
			dst[w] = __atomic_load_n(&src[w], __ATOMIC_RELAXED);
		/* acquire fence: the copy completes before seq is re-read; pairs with
		 * the release fence in slob_stats_status_begin */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
		uint64_t q2 = __atomic_load_n(&st->seq, __ATOMIC_RELAXED);
		if (q1 == q2) {
			out->alive =
			    slob_stats_engine_alive(&out->st, now_ns, &out->heartbeat_age_ns);
			return 0;
		}
	}
	return -EAGAIN;
}
SLOB_STATIC_ASSERT(sizeof(struct slob_stats_status) % 8 == 0, "status copied by words");

const char *slob_stats_mode_name(int mode)
{
	switch (mode) {
	case SLOB_STATS_MODE_PAPER:
		return "paper";
	case SLOB_STATS_MODE_LIVE:
		return "live";
	case SLOB_STATS_MODE_REPLAY:
		return "replay";
	default:
		return "none";
	}
}

const char *slob_stats_conn_name(int conn)
{
	return slob_conn_state_name(conn);
}
