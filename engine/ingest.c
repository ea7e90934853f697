/* SPDX-License-Identifier: MIT */
/*
 * ingest.c: replay source stages (tick files through io_uring, bar files
 * from memory). See ingest.h for the design notes.
 */
#include "engine/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/tz.h"

enum { BUF_FREE = 0, BUF_INFLIGHT, BUF_READY };

/* ---- parameters --------------------------------------------------------------- */

void slob_ingest_params_default(struct slob_ingest_params *p)
{
	memset(p, 0, sizeof(*p));
	p->format = SLOB_TICKFILE_AUTO;
	p->tick_size = 0.25;
	p->pace = 0;
	p->depth = 4;
	p->buf_kb = 1024;
	p->batch = 512;
	p->skip_bad = 0;
	p->backwards_tol_ns = SLOB_NS_PER_SEC;
	p->verify = 1;
	p->use_pread = 0;
	p->strict = 0;
	slob_tickcheck_params_default(&p->check);
}

static int set_long(const char *sec, const char *key, const char *v, long lo, long hi, long *out,
		    char *err, size_t errlen)
{
	char *e;
	errno = 0;
	long x = strtol(v, &e, 10);
	if (errno || e == v || *e || x < lo || x > hi) {
		if (err)
			snprintf(err, errlen, "[%s] %s = '%s': must be an integer in %ld..%ld", sec,
				 key, v, lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static int set_double(const char *sec, const char *key, const char *v, double lo, double hi,
		      int lo_open, double *out, char *err, size_t errlen)
{
	char *e;
	errno = 0;
	double x = strtod(v, &e);
	if (errno || e == v || *e || !isfinite(x) || x < lo || x > hi || (lo_open && x <= lo)) {
		if (err)
			snprintf(err, errlen, "[%s] %s = '%s': must be a number in %s%g..%g", sec,
				 key, v, lo_open ? "(exclusive) " : "", lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

/* The path key shared by [ingest] and [barsrc]: 1..sizeof(dst)-1 characters. */
static int set_path(const char *sec, const char *v, char *dst, size_t dstlen, char *err,
		    size_t errlen)
{
	if (!*v || strlen(v) >= dstlen) {
		if (err)
			snprintf(err, errlen, "[%s] path: must be 1..%zu characters", sec,
				 dstlen - 1);
		return -EINVAL;
	}
	snprintf(dst, dstlen, "%s", v);
	return 0;
}

static int unknown_key(const char *sec, const char *key, char *err, size_t errlen)
{
	if (err)
		snprintf(err, errlen, "[%s] unknown key '%s'", sec, key);
	return -ENOENT;
}

/* The end of a params_validate: -EINVAL with "[sec] why" when why is set. */
static int invalid_if(const char *sec, const char *why, char *err, size_t errlen)
{
	if (why) {
		if (err)
			snprintf(err, errlen, "[%s] %s", sec, why);
		return -EINVAL;
	}
	return 0;
}

int slob_ingest_param_set(struct slob_ingest_params *p, const char *key, const char *value,
			  char *err, size_t errlen)
{
	long v;
	int rc = 0;
	if (!strcmp(key, "path")) {
		return set_path("ingest", value, p->path, sizeof(p->path), err, errlen);
	} else if (!strcmp(key, "format")) {
		if (!strcmp(value, "auto"))
			p->format = SLOB_TICKFILE_AUTO;
		else if (!strcmp(value, "csv"))
			p->format = SLOB_TICKFILE_CSV;
		else if (!strcmp(value, "bin"))
			p->format = SLOB_TICKFILE_BIN;
		else {
			if (err)
				snprintf(err, errlen,
					 "[ingest] format = '%s': allowed auto|csv|bin", value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "io")) {
		if (!strcmp(value, "uring"))
			p->use_pread = 0;
		else if (!strcmp(value, "pread"))
			p->use_pread = 1;
		else {
			if (err)
				snprintf(err, errlen, "[ingest] io = '%s': allowed uring|pread",
					 value);
			return -EINVAL;
		}
	} else if (!strcmp(key, "tick_size")) {
		rc = set_double("ingest", key, value, 0, 1e6, 1, &p->tick_size, err, errlen);
	} else if (!strcmp(key, "pace")) {
		rc = set_double("ingest", key, value, 0, 10000000, 0, &p->pace, err, errlen);
	} else if (!strcmp(key, "depth")) {
		if (!(rc = set_long("ingest", key, value, 1, SLOB_INGEST_MAX_DEPTH, &v, err,
				    errlen)))
			p->depth = (unsigned)v;
	} else if (!strcmp(key, "buf_kb")) {
		if (!(rc = set_long("ingest", key, value, 4, 65536, &v, err, errlen)))
			p->buf_kb = (unsigned)v;
	} else if (!strcmp(key, "batch")) {
		if (!(rc = set_long("ingest", key, value, 1, 65536, &v, err, errlen)))
			p->batch = (unsigned)v;
	} else if (!strcmp(key, "skip_bad")) {
		if (!(rc = set_long("ingest", key, value, 0, 1, &v, err, errlen)))
			p->skip_bad = (int)v;
	} else if (!strcmp(key, "verify")) {
		if (!(rc = set_long("ingest", key, value, 0, 1, &v, err, errlen)))
			p->verify = (int)v;
	} else if (!strcmp(key, "backwards_tol_ms")) {
		if (!(rc = set_long("ingest", key, value, 0, 86400000, &v, err, errlen)))
			p->backwards_tol_ns = v * 1000000LL;
	} else if (!strcmp(key, "strict")) {
		if (!(rc = set_long("ingest", key, value, 0, 1, &v, err, errlen)))
			p->strict = (int)v;
	} else {
		return unknown_key("ingest", key, err, errlen);
	}
	return rc;
}

int slob_ingest_params_validate(const struct slob_ingest_params *p, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!p->path[0])
		why = "path: missing (the replay file)";
	else if (!slob_tick_nano(p->tick_size))
		why = "tick_size: must be > 0";
	else if (!(p->pace >= 0 && p->pace <= 10000000))
		why = "pace: must be 0..10000000";
	else if (p->depth < 1 || p->depth > SLOB_INGEST_MAX_DEPTH)
		why = "depth: must be 1..64";
	else if (p->buf_kb < 4 || p->buf_kb > 65536)
		why = "buf_kb: must be 4..65536";
	else if (p->batch < 1 || p->batch > 65536)
		why = "batch: must be 1..65536";
	else if (p->backwards_tol_ns < 0)
		why = "backwards_tol_ms: must be >= 0";
	else if (p->format < SLOB_TICKFILE_AUTO || p->format > SLOB_TICKFILE_BIN)
		why = "format: must be auto|csv|bin";
	else if (slob_tickcheck_params_validate(&p->check, NULL, 0) < 0)
		why = "check: invalid tick validator parameters";
	return invalid_if("ingest", why, err, errlen);
}

/* ---- rejected ticks ------------------------------------------------------------- */

static const char *const reason_names[SLOB_INGEST_R_N] = {
    [SLOB_INGEST_R_BAD_PX] = "bad_price",     [SLOB_INGEST_R_BAD_SIZE] = "bad_size",
    [SLOB_INGEST_R_BACKWARDS] = "ts_backwards", [SLOB_INGEST_R_BAD_LINES] = "bad_lines",
    [SLOB_INGEST_R_PREAD] = "pread_reads",     [SLOB_INGEST_R_READS] = "reads",
    [SLOB_INGEST_R_SHORT_READS] = "short_reads", [SLOB_INGEST_R_PX_RANGE] = "price_range",
    [SLOB_INGEST_R_TS_RANGE] = "ts_range",     [SLOB_INGEST_R_TS_SKEW] = "ts_skew",
    [SLOB_INGEST_R_FORWARD] = "ts_forward",    [SLOB_INGEST_R_PX_JUMP] = "price_jump",
    [SLOB_INGEST_R_REANCHORS] = "reanchors",
};

const char *slob_ingest_reason_name(unsigned slot)
{
	return slot < SLOB_INGEST_R_N ? reason_names[slot] : "";
}

/* validator reason -> stage reason slot */
static const uint8_t rej_slot[SLOB_TICKREJ_N] = {
    [SLOB_TICKREJ_BAD_PRICE] = SLOB_INGEST_R_BAD_PX,
    [SLOB_TICKREJ_PRICE_RANGE] = SLOB_INGEST_R_PX_RANGE,
    [SLOB_TICKREJ_BAD_SIZE] = SLOB_INGEST_R_BAD_SIZE,
    [SLOB_TICKREJ_TS_RANGE] = SLOB_INGEST_R_TS_RANGE,
    [SLOB_TICKREJ_TS_SKEW] = SLOB_INGEST_R_TS_SKEW,
    [SLOB_TICKREJ_TS_BACKWARDS] = SLOB_INGEST_R_BACKWARDS,
    [SLOB_TICKREJ_TS_FORWARD] = SLOB_INGEST_R_FORWARD,
    [SLOB_TICKREJ_PRICE_JUMP] = SLOB_INGEST_R_PX_JUMP,
};

void slob_ingest_count_rejects(const struct slob_tickcheck *c, uint64_t *reasons)
{
	for (unsigned i = 0; i < SLOB_TICKREJ_N; i++)
		reasons[rej_slot[i]] = c->rej[i];
	reasons[SLOB_INGEST_R_REANCHORS] = c->reanchors;
}

int slob_tickcheck_describe(const struct slob_tickcheck *c, int64_t tick_nano, char *buf,
			    size_t len)
{
	char when[48] = "out of range", px[40] = "out of range";
	if (!c->have_first)
		return snprintf(buf, len, "none");
	if (c->first_ts != 0)
		slob_format_time_iso(when, sizeof(when), c->first_ts);
	if (c->first_px > 0 && c->first_px <= INT32_MAX && tick_nano > 0)
		slob_format_price(px, sizeof(px), c->first_px, tick_nano);
	else if (c->first_reason == SLOB_TICKREJ_BAD_PRICE)
		snprintf(px, sizeof(px), "not positive");
	return snprintf(buf, len, "%s (time %s, price %s)", slob_tickrej_name(c->first_reason),
			when, px);
}

/* ---- tick ingest -------------------------------------------------------------- */

static int ing_poll(slob_stage_t *st)
{
	return slob_ingest_poll(st->ctx);
}

static bool ing_done(slob_stage_t *st)
{
	return slob_ingest_done(st->ctx);
}

static int ing_fail(struct slob_ingest *ing, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ing_fail(struct slob_ingest *ing, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ing->err, sizeof(ing->err), fmt, ap);
	va_end(ap);
	return rc;
}

int slob_ingest_init(struct slob_ingest *ing, const struct slob_ingest_params *p, slob_ring_t *out,
		     slob_ring_t *tap)
{
	int rc;
	memset(ing, 0, sizeof(*ing));
	ing->fd = -1;
	if (!p || !out)
		return ing_fail(ing, -EINVAL, "ingest: params and output ring are required");
	if ((rc = slob_ingest_params_validate(p, ing->err, sizeof(ing->err))) < 0)
		return rc;
	if (out->rec_size != sizeof(struct slob_tick) ||
	    (tap && tap->rec_size != sizeof(struct slob_tick)))
		return ing_fail(ing, -EINVAL, "ingest: rings must carry struct slob_tick");
	ing->p = *p;
	ing->out = out;
	ing->tap = tap;
	struct slob_tickcheck_params chkp = p->check;
	chkp.backwards_tol_ns = p->backwards_tol_ns;
	ing->last_ts = 0;
	ing->fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (ing->fd < 0)
		return ing_fail(ing, -errno, "%s: %s", p->path, strerror(errno));
	ing->has_fd = 1;
	struct stat st;
	if (fstat(ing->fd, &st) < 0)
		return ing_fail(ing, -errno, "%s: %s", p->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ing_fail(ing, -EINVAL, "%s: not a regular file", p->path);
	ing->file_size = st.st_size;
	ing->fmt = (enum slob_tickfile_fmt)p->format;
	if (ing->fmt == SLOB_TICKFILE_AUTO) {
		char m[8];
		ing->fmt = pread(ing->fd, m, 8, 0) == 8 && !memcmp(m, SLOB_TICKBIN_MAGIC, 8)
			       ? SLOB_TICKFILE_BIN
			       : SLOB_TICKFILE_CSV;
	}
	ing->buf_size = (size_t)p->buf_kb * 1024;
	if (ing->fmt == SLOB_TICKFILE_BIN) {
		if (p->verify) {
			rc = slob_tickbin_verify_fd(ing->fd, p->path, &ing->hdr, ing->err,
						    sizeof(ing->err));
		} else {
			unsigned char hb[SLOB_TICKBIN_HDR_SIZE];
			ssize_t r = pread(ing->fd, hb, sizeof(hb), 0);
			rc = slob_tickbin_hdr_decode(hb, r < 0 ? 0 : (size_t)r, st.st_size, p->path,
						     &ing->hdr, ing->err, sizeof(ing->err));
		}
		if (rc < 0)
			return rc;
		if (fabs(ing->hdr.tick_size - p->tick_size) > 1e-12)
			return ing_fail(ing, -EINVAL,
					"%s: file tick size %g differs from the instrument's %g",
					p->path, ing->hdr.tick_size, p->tick_size);
		ing->data_off = SLOB_TICKBIN_HDR_SIZE;
		slob_tickcheck_init_params(&ing->chk, &chkp);
	} else {
		struct slob_tickcsv_opts o = {.name = ing->p.path,
					      .tick_size = p->tick_size,
					      .skip_bad = p->skip_bad,
					      .backwards_tol_ns = p->backwards_tol_ns,
					      .check = &chkp};
		if ((rc = slob_tickcsv_init(&ing->csv, &o)) < 0)
			return ing_fail(ing, rc, "%s", ing->csv.err);
		ing->data_off = 0;
	}
	off_t body = ing->file_size - ing->data_off;
	ing->rd_total = body > 0 ? ((uint64_t)body + ing->buf_size - 1) / ing->buf_size : 0;
	for (unsigned i = 0; i < p->depth; i++) {
		ing->bufs[i].data = aligned_alloc(4096, ing->buf_size);
		if (!ing->bufs[i].data)
			return ing_fail(ing, -ENOMEM, "ingest: out of memory for buffers");
	}
	ing->batch = calloc(p->batch + 1, sizeof(struct slob_tick));
	if (!ing->batch)
		return ing_fail(ing, -ENOMEM, "ingest: out of memory for the batch");
	ing->stage.name = "ingest";
	ing->stage.poll = ing_poll;
	ing->stage.done = ing_done;
	ing->stage.ctx = ing;
	ing->stage.stats = &ing->stage.own_stats;
	if (!p->use_pread) {
		rc = io_uring_queue_init(p->depth < 4 ? 8 : p->depth * 2, &ing->ring, 0);
		if (rc == 0)
			ing->use_uring = 1;
		/* else (-ENOSYS, -EPERM in seccomp sandboxes, -ENOMEM on locked
		 * memory limits): fall back to pread, counted per read */
	}
	return 0;
}

slob_stage_t *slob_ingest_stage(struct slob_ingest *ing)
{
	return &ing->stage;
}

bool slob_ingest_done(const struct slob_ingest *ing)
{
	return ing->done_;
}

const char *slob_ingest_error(const struct slob_ingest *ing)
{
	return ing->err;
}

void slob_ingest_destroy(struct slob_ingest *ing)
{
	if (!ing)
		return;
	if (ing->use_uring)
		io_uring_queue_exit(&ing->ring);
	ing->use_uring = 0;
	for (unsigned i = 0; i < SLOB_INGEST_MAX_DEPTH; i++) {
		free(ing->bufs[i].data);
		ing->bufs[i].data = NULL;
	}
	free(ing->batch);
	ing->batch = NULL;
	if (ing->has_fd)
		close(ing->fd);
	ing->has_fd = 0;
	ing->fd = -1;
}

static void buf_prepare(struct slob_ingest *ing, struct slob_ingest_buf *b, uint64_t r)
{
	b->off = ing->data_off + (off_t)(r * ing->buf_size);
	off_t left = ing->file_size - b->off;
	b->want = (size_t)left < ing->buf_size ? (size_t)left : ing->buf_size;
	b->len = b->pos = 0;
	b->state = BUF_INFLIGHT;
}

/* pread fallback: completes the next read synchronously. */
static int read_sync(struct slob_ingest *ing)
{
	uint64_t r = ing->rd_done;
	struct slob_ingest_buf *b = &ing->bufs[r % ing->p.depth];
	if (b->state == BUF_FREE) {
		buf_prepare(ing, b, r);
		ing->rd_submit = r + 1;
	}
	while (b->len < b->want) {
		ssize_t n =
		    pread(ing->fd, b->data + b->len, b->want - b->len, b->off + (off_t)b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ing_fail(ing, n < 0 ? -errno : -EIO, "%s: read at offset %lld: %s",
					ing->p.path, (long long)(b->off + (off_t)b->len),
					n < 0 ? strerror(errno) : "file shrank while reading");
		b->len += (size_t)n;
	}
	ing->stage.stats->reasons[SLOB_INGEST_R_PREAD]++;
	ing->stage.stats->reasons[SLOB_INGEST_R_READS]++;
	b->state = BUF_READY;
	return 0;
}

static int reap(struct slob_ingest *ing, int *resubmit)
{
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&ing->ring, &cqe) == 0) {
		unsigned idx = (unsigned)cqe->user_data;
		int res = cqe->res;
		io_uring_cqe_seen(&ing->ring, cqe);
		struct slob_ingest_buf *b = &ing->bufs[idx];
		if (res <= 0)
			return ing_fail(ing, res < 0 ? res : -EIO, "%s: read at offset %lld: %s",
					ing->p.path, (long long)(b->off + (off_t)b->len),
					res < 0 ? strerror(-res) : "file shrank while reading");
		b->len += (size_t)res;
		if (b->len < b->want) {
			/* short read: ask for the rest into the same buffer */
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ing->ring);
			if (!sqe)
				return ing_fail(ing, -EBUSY, "ingest: submission queue full");
			io_uring_prep_read(sqe, ing->fd, b->data + b->len,
					   (unsigned)(b->want - b->len),
					   (uint64_t)(b->off + (off_t)b->len));
			sqe->user_data = idx;
			*resubmit = 1;
			ing->stage.stats->reasons[SLOB_INGEST_R_SHORT_READS]++;
			continue;
		}
		b->state = BUF_READY;
		ing->stage.stats->reasons[SLOB_INGEST_R_READS]++;
	}
	return 0;
}

static int submit(struct slob_ingest *ing, int pending)
{
	unsigned depth = ing->p.depth;
	while (ing->rd_submit < ing->rd_total && ing->rd_submit - ing->rd_done < depth) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ing->ring);
		if (!sqe)
			break;
		unsigned idx = (unsigned)(ing->rd_submit % depth);
		struct slob_ingest_buf *b = &ing->bufs[idx];
		buf_prepare(ing, b, ing->rd_submit);
		io_uring_prep_read(sqe, ing->fd, b->data, (unsigned)b->want, (uint64_t)b->off);
		sqe->user_data = idx;
		ing->rd_submit++;
		pending = 1;
	}
	if (pending) {
		int rc = io_uring_submit(&ing->ring);
		if (rc < 0 && rc != -EAGAIN && rc != -EINTR)
			return ing_fail(ing, rc, "%s: io_uring_submit: %s", ing->p.path,
					strerror(-rc));
	}
	return 0;
}

/* Parses the ready buffers, in read order, into the batch. */
static int parse(struct slob_ingest *ing)
{
	unsigned cap = ing->p.batch;
	while (ing->bn < cap && ing->rd_done < ing->rd_total) {
		struct slob_ingest_buf *b = &ing->bufs[ing->rd_done % ing->p.depth];
		if (b->state != BUF_READY) {
			if (ing->use_uring)
				break;
			int rc = read_sync(ing);
			if (rc < 0)
				return rc;
		}
		if (ing->fmt == SLOB_TICKFILE_BIN) {
			size_t nrec = (b->len - b->pos) / SLOB_TICKBIN_REC_SIZE;
			const unsigned char *src = b->data + b->pos;
			struct slob_tick *dst = ing->batch;
			unsigned bn = ing->bn;
			uint64_t seq = ing->seq;
			size_t i = 0;
			/* record index (from 1) of src, for the first rejection */
			uint64_t rec = (uint64_t)(b->off + (off_t)b->pos - ing->data_off) /
				       SLOB_TICKBIN_REC_SIZE;
			for (; i < nrec && bn < cap; i++, src += SLOB_TICKBIN_REC_SIZE) {
				int64_t ts;
				int32_t px;
				uint32_t size;
				slob_tickbin_rec_decode(src, &ts, &px, &size);
				ing->chk.where = rec + i + 1;
				if (slob_unlikely(
					!slob_tickcheck_ok(&ing->chk, ts, px, (int64_t)size)))
					continue;
				dst[bn++] = (struct slob_tick){.ts_ns = ts,
							       .seq = ++seq,
							       .px = px,
							       .size = size,
							       .flags = ing->chk.tick_flags};
			}
			ing->bn = bn;
			ing->seq = seq;
			b->pos += i * SLOB_TICKBIN_REC_SIZE;
		} else {
			size_t used = 0;
			int last = ing->rd_done + 1 == ing->rd_total;
			int k = slob_tickcsv_feed(&ing->csv, (const char *)b->data + b->pos,
						  b->len - b->pos, last, ing->batch + ing->bn,
						  cap - ing->bn, &used);
			if (k < 0)
				return ing_fail(ing, k, "%s", ing->csv.err);
			for (int j = 0; j < k; j++)
				ing->batch[ing->bn + (unsigned)j].seq = ++ing->seq;
			ing->bn += (unsigned)k;
			b->pos += used;
			if (last && b->pos == b->len && ing->csv.carry_len)
				continue; /* final partial line waits for batch space */
		}
		if (b->pos >= b->len) {
			b->state = BUF_FREE;
			ing->rd_done++;
		}
	}
	if (ing->rd_done == ing->rd_total && !ing->eof) {
		if (ing->fmt == SLOB_TICKFILE_CSV && ing->csv.carry_len) {
			size_t used;
			if (ing->bn >= cap)
				return 0;
			int k = slob_tickcsv_feed(&ing->csv, "", 0, 1, ing->batch + ing->bn,
						  cap - ing->bn, &used);
			if (k < 0)
				return ing_fail(ing, k, "%s", ing->csv.err);
			for (int j = 0; j < k; j++)
				ing->batch[ing->bn + (unsigned)j].seq = ++ing->seq;
			ing->bn += (unsigned)k;
		}
		ing->eof = 1;
	}
	if (ing->eof && !ing->end_queued && ing->bn < cap + 1) {
		/* the batch has one spare slot for END */
		int64_t last = ing->bn ? ing->batch[ing->bn - 1].ts_ns : ing->last_ts;
		ing->batch[ing->bn++] =
		    (struct slob_tick){.ts_ns = last, .seq = ing->seq + 1, .flags = SLOB_TICK_END};
		ing->end_queued = 1;
	}
	return 0;
}

/* Stamps due ticks and pushes them to both rings; returns ticks pushed to out. */
static unsigned push(struct slob_ingest *ing)
{
	struct slob_stage_stats *s = ing->stage.stats;
	unsigned due = ing->bn;
	if (ing->stamped < ing->bn) {
		int64_t now = slob_mono_ns();
		if (ing->p.pace > 0) {
			if (!ing->pace_t0_mono) {
				ing->pace_t0_mono = now;
				ing->pace_t0_ts = ing->batch[ing->stamped].ts_ns;
			}
			due = ing->stamped;
			while (due < ing->bn) {
				const struct slob_tick *t = &ing->batch[due];
				double rel =
				    ((double)t->ts_ns - (double)ing->pace_t0_ts) / ing->p.pace;
				if (!(t->flags & SLOB_TICK_END) &&
				    ing->pace_t0_mono + (int64_t)rel > now)
					break;
				due++;
			}
		}
		/* Paced: a tick's receive time is when it was due, not when this
		 * loop got to it, so a late pipeline shows up in the tick-to-order
		 * latency instead of hiding it (no coordinated omission). */
		for (unsigned i = ing->stamped; i < due; i++) {
			const struct slob_tick *t = &ing->batch[i];
			int64_t at = now;
			if (ing->p.pace > 0 && !(t->flags & SLOB_TICK_END)) {
				double rel = ((double)t->ts_ns - (double)ing->pace_t0_ts) / ing->p.pace;
				at = ing->pace_t0_mono + (int64_t)rel;
				if (at > now)
					at = now;
			}
			ing->batch[i].recv_ns = at;
		}
		ing->stamped = due;
	}
	unsigned pushed = 0;
	if (ing->out_pos < ing->stamped) {
		unsigned want = ing->stamped - ing->out_pos;
		pushed = slob_ring_push_batch_spsc(ing->out, ing->batch + ing->out_pos, want);
		ing->out_pos += pushed;
		if (pushed < want)
			s->backpressure++;
	}
	if (ing->tap && ing->tap_pos < ing->stamped) {
		unsigned want = ing->stamped - ing->tap_pos;
		unsigned k = slob_ring_push_batch_spsc(ing->tap, ing->batch + ing->tap_pos, want);
		ing->tap_pos += k;
		if (k < want)
			s->backpressure++;
	} else if (!ing->tap) {
		ing->tap_pos = ing->out_pos;
	}
	if (ing->bn && ing->out_pos == ing->bn && ing->tap_pos == ing->bn) {
		ing->last_ts = ing->batch[ing->bn - 1].ts_ns;
		ing->bn = ing->stamped = ing->out_pos = ing->tap_pos = 0;
		if (ing->end_queued)
			ing->done_ = 1;
	}
	return pushed;
}

const struct slob_tickcheck *slob_ingest_check(const struct slob_ingest *ing)
{
	return ing->fmt == SLOB_TICKFILE_BIN ? &ing->chk : &ing->csv.chk;
}

/* "file:line" or "file: record N" of the first rejection */
static void first_where(const struct slob_ingest *ing, const struct slob_tickcheck *c, char *buf,
			size_t len)
{
	if (ing->fmt == SLOB_TICKFILE_BIN)
		snprintf(buf, len, "%s: record %llu", ing->p.path,
			 (unsigned long long)c->first_where);
	else
		snprintf(buf, len, "%s:%llu", ing->p.path, (unsigned long long)c->first_where);
}

/*
 * After a parse: the validator's counters into the stage's reason slots, its
 * alert into the cold queue (rare: formatting here is fine), and --strict.
 */
static int after_check(struct slob_ingest *ing)
{
	struct slob_tickcheck *c = ing->fmt == SLOB_TICKFILE_BIN ? &ing->chk : &ing->csv.chk;
	if (slob_likely(!c->have_first && !c->reanchors))
		return 0;
	slob_ingest_count_rejects(c, ing->stage.stats->reasons);
	char where[SLOB_INGEST_PATH_MAX + 32], why[160];
	if (c->have_first && ing->p.strict) {
		first_where(ing, c, where, sizeof(where));
		slob_tickcheck_describe(c, slob_tick_nano(ing->p.tick_size), why, sizeof(why));
		return ing_fail(ing, -ERANGE, "%s: tick rejected (strict): %s", where, why);
	}
	if (slob_unlikely(c->alert)) {
		c->alert = 0;
		if (ing->cold) {
			char t[160];
			struct slob_cold rec;
			snprintf(t, sizeof(t),
				 "market data: %llu of %llu ticks rejected, %llu in a row, last %s, "
				 "%llu re-anchors",
				 (unsigned long long)slob_tickcheck_rejected(c),
				 (unsigned long long)c->seen, (unsigned long long)c->run,
				 slob_tickrej_name(c->last_reason), (unsigned long long)c->reanchors);
			slob_cold_text_init(&rec, SLOB_COLD_ALERT, SLOB_LVL_WARNING,
					    c->last_ts == INT64_MIN ? 0 : c->last_ts,
					    "ingest", SLOB_TICKCHECK_ALERT_CODE, t);
			(void)slob_coldq_put(ing->cold, &rec);
		}
	}
	return 0;
}

int slob_ingest_poll(struct slob_ingest *ing)
{
	struct slob_stage_stats *s = ing->stage.stats;
	int rc;
	s->polls++;
	if (slob_unlikely(ing->failed))
		return ing->failed;
	if (ing->done_)
		return 0;
	unsigned work = 0;
	if (ing->bn) {
		work += push(ing);
		if (ing->bn) {
			if (!work)
				s->idle_polls++;
			s->out += work;
			return (int)work;
		}
		if (ing->done_)
			goto out;
	}
	int resubmit = 0;
	if (ing->use_uring && (rc = reap(ing, &resubmit)) < 0)
		goto fail;
	if ((rc = parse(ing)) < 0) {
		/* publish what was parsed before the bad line, then stop */
		push(ing);
		goto fail;
	}
	if (ing->use_uring && (rc = submit(ing, resubmit)) < 0)
		goto fail;
	if ((rc = after_check(ing)) < 0) {
		push(ing);
		goto fail;
	}
	s->reasons[SLOB_INGEST_R_BAD_LINES] = ing->csv.bad_lines;
	if (ing->bn)
		work += push(ing);
out:
	ing->ticks += work;
	s->out += work;
	if (!work)
		s->idle_polls++;
	return (int)work;
fail:
	ing->failed = rc;
	s->errors++;
	return rc;
}

/* ---- bar source ------------------------------------------------------------------ */

void slob_barsrc_params_default(struct slob_barsrc_params *p)
{
	memset(p, 0, sizeof(*p));
	p->tick_size = 0.25;
	p->batch = 256;
}

int slob_barsrc_param_set(struct slob_barsrc_params *p, const char *key, const char *value,
			  char *err, size_t errlen)
{
	long v;
	int rc = 0;
	if (!strcmp(key, "path")) {
		return set_path("barsrc", value, p->path, sizeof(p->path), err, errlen);
	} else if (!strcmp(key, "tick_size")) {
		rc = set_double("barsrc", key, value, 0, 1e6, 1, &p->tick_size, err, errlen);
	} else if (!strcmp(key, "pace")) {
		rc = set_double("barsrc", key, value, 0, 100000, 0, &p->pace, err, errlen);
	} else if (!strcmp(key, "skip_bad")) {
		if (!(rc = set_long("barsrc", key, value, 0, 1, &v, err, errlen)))
			p->skip_bad = (int)v;
	} else if (!strcmp(key, "batch")) {
		if (!(rc = set_long("barsrc", key, value, 1, 65536, &v, err, errlen)))
			p->batch = (unsigned)v;
	} else {
		return unknown_key("barsrc", key, err, errlen);
	}
	return rc;
}

int slob_barsrc_params_validate(const struct slob_barsrc_params *p, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!p->path[0])
		why = "path: missing (the bar CSV file)";
	else if (!slob_tick_nano(p->tick_size))
		why = "tick_size: must be > 0";
	else if (!(p->pace >= 0 && p->pace <= 100000))
		why = "pace: must be 0..100000";
	else if (p->batch < 1 || p->batch > 65536)
		why = "batch: must be 1..65536";
	return invalid_if("barsrc", why, err, errlen);
}

static int bs_poll(slob_stage_t *st)
{
	return slob_barsrc_poll(st->ctx);
}

static bool bs_done(slob_stage_t *st)
{
	return slob_barsrc_done(st->ctx);
}

int slob_barsrc_init(struct slob_barsrc *b, const struct slob_barsrc_params *p, slob_ring_t *out)
{
	int rc;
	memset(b, 0, sizeof(*b));
	if (!p || !out || out->rec_size != sizeof(struct slob_bar)) {
		snprintf(b->err, sizeof(b->err), "barsrc: params and a bar ring are required");
		return -EINVAL;
	}
	if ((rc = slob_barsrc_params_validate(p, b->err, sizeof(b->err))) < 0)
		return rc;
	b->p = *p;
	b->out = out;
	struct slob_barcsv_opts o = {
	    .name = p->path, .tick_size = p->tick_size, .skip_bad = p->skip_bad};
	rc = slob_barfile_load(p->path, &o, &b->bars, &b->stats, b->err, sizeof(b->err));
	if (rc < 0)
		return rc;
	b->n = (size_t)rc;
	b->stage.name = "barsrc";
	b->stage.poll = bs_poll;
	b->stage.done = bs_done;
	b->stage.ctx = b;
	b->stage.stats = &b->stage.own_stats;
	b->stage.stats->reasons[0] = b->stats.bad_px;
	b->stage.stats->reasons[1] = b->stats.bad_order;
	b->stage.stats->reasons[2] = b->stats.bad_lines;
	return 0;
}

slob_stage_t *slob_barsrc_stage(struct slob_barsrc *b)
{
	return &b->stage;
}

bool slob_barsrc_done(const struct slob_barsrc *b)
{
	return b->end_sent;
}

const char *slob_barsrc_error(const struct slob_barsrc *b)
{
	return b->err;
}

int slob_barsrc_poll(struct slob_barsrc *b)
{
	struct slob_stage_stats *s = b->stage.stats;
	s->polls++;
	if (b->end_sent)
		return 0;
	int64_t now = slob_mono_ns();
	int work = 0;
	while (b->pos < b->n && (unsigned)work < b->p.batch) {
		struct slob_bar *x = &b->bars[b->pos];
		if (b->p.pace > 0) {
			if (!b->pace_t0_mono) {
				b->pace_t0_mono = now;
				b->pace_t0_ts = x->ts_ns;
			}
			if (b->pace_t0_mono +
				(int64_t)(((double)x->ts_ns - (double)b->pace_t0_ts) / b->p.pace) >
			    now)
				break;
		}
		x->last_seq = b->pos + 1;
		x->recv_ns = now;
		if (!slob_ring_push_spsc(b->out, x)) {
			s->backpressure++;
			break;
		}
		b->pos++;
		work++;
	}
	if (b->pos == b->n) {
		struct slob_bar e = {.ts_ns = b->n ? b->bars[b->n - 1].ts_ns : 0,
				     .recv_ns = now,
				     .last_seq = b->n,
				     .flags = SLOB_BAR_END};
		if (slob_ring_push_spsc(b->out, &e)) {
			b->end_sent = 1;
			work++;
		} else {
			s->backpressure++;
		}
	}
	s->out += (uint64_t)work;
	if (!work)
		s->idle_polls++;
	return work;
}

void slob_barsrc_destroy(struct slob_barsrc *b)
{
	if (!b)
		return;
	free(b->bars);
	b->bars = NULL;
}
