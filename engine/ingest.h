/* SPDX-License-Identifier: MIT */
/*
 * ingest.h: the replay source stages.
 *
 *  - slob_ingest: reads a tick file (CSV or binary, tickfile.h) through
 *    io_uring with several reads in flight into buffers allocated once at
 *    init, parses in place (no per-record allocation or syscall), stamps
 *    seq (1, 2, ...) and recv_ns (CLOCK_MONOTONIC, read once per push
 *    batch), and publishes every tick on the required output ring (to
 *    candles) and on the optional tap ring (the sender's paper broker), then
 *    an END tick (SLOB_TICK_END) at end of file. Pacing: as fast as possible,
 *    or real time x N against the ticks' timestamps.
 *  - slob_barsrc: an M1 bar CSV loaded at init and published directly as
 *    bars (bypassing candles), with synthesised increasing last_seq.
 *
 * Design notes
 *  1. Reads are numbered r = 0, 1, 2...; read r uses buffer r % depth and
 *     covers file bytes [data_off + r*buf, ...). Completions may arrive in
 *     any order; buffers are parsed strictly in read order, so ticks keep
 *     file order. At most `depth` reads are in flight; a buffer is
 *     resubmitted only once fully parsed. Short reads are resubmitted for
 *     the remainder into the same buffer.
 *  2. One io_uring_submit per poll at most (batched); no other syscall on
 *     the hot path. If io_uring is unavailable (ENOSYS/EPERM, e.g. a
 *     seccomp sandbox) or params.io = pread, reads fall back to pread(2),
 *     counted in stats.reasons[SLOB_INGEST_R_PREAD].
 *  3. A binary file is checked (size, header, xxh3 of the body) in init,
 *     before any tick is published. A malformed CSV line stops the stage:
 *     poll returns -EINVAL and slob_ingest_error() says "file:line: what"
 *     (ticks before it were published); with skip_bad it is counted instead.
 *     Ticks the validator refuses (engine/tickcheck.h) are rejected and
 *     counted by reason in stats.reasons[]; a persistent run of them is
 *     alerted through the optional cold queue; with params.strict the
 *     first one stops the stage: poll returns -ERANGE and the error names
 *     the tick ("file:line: tick rejected: reason (...)").
 *  4. Parsed ticks wait in a private batch until both rings took them
 *     (backpressure is counted; the stage never blocks).
 *
 *   state: READING --last buffer parsed--> END queued --pushed to all--> DONE
 */
#ifndef SLOB_INGEST_H
#define SLOB_INGEST_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/coldrec.h"
#include "engine/event.h"
#include "engine/stage.h"
#include "engine/tickfile.h"
#include "ringbuf/ring.h"

#define SLOB_INGEST_PATH_MAX 256
#define SLOB_INGEST_MAX_DEPTH 64

struct slob_ingest_params {
	char path[SLOB_INGEST_PATH_MAX]; /* replay file */
	int format;			 /* enum slob_tickfile_fmt (auto: by magic) */
	double tick_size;		 /* instrument tick size, default 0.25 */
	double pace;			 /* 0: as fast as possible; N: real time x N */
	unsigned depth;			 /* reads in flight (buffers), default 4 */
	unsigned buf_kb;		 /* buffer size in KiB, default 1024 */
	unsigned batch;			 /* ticks per ring push, default 512 */
	int skip_bad;			 /* malformed CSV lines: 0 stop, 1 skip+count */
	int64_t backwards_tol_ns;	 /* tolerated backwards step, default 1 s */
	int verify;			 /* binary: check the body checksum at init (1) */
	int use_pread;			 /* 1: do not use io_uring */
	int strict;			 /* 1: the first rejected tick stops the replay (-ERANGE) */
	struct slob_tickcheck_params check; /* the validator (its backwards tolerance is
					     * backwards_tol_ns above) */
};

void slob_ingest_params_default(struct slob_ingest_params *p);
/* Keys: path, format (auto|csv|bin), tick_size (>0), pace (0..100000), depth
 * (1..64), buf_kb (4..65536), batch (1..65536), skip_bad (0|1),
 * backwards_tol_ms (0..86400000), verify (0|1), io (uring|pread), strict (0|1). */
int slob_ingest_param_set(struct slob_ingest_params *p, const char *key, const char *value,
			  char *err, size_t errlen);
int slob_ingest_params_validate(const struct slob_ingest_params *p, char *err, size_t errlen);

/* stats.reasons[] slots (named in the stats file: slob_ingest_reason_name). The
 * live market-data session counts its rejections into the same slots. */
enum slob_ingest_reason {
	SLOB_INGEST_R_BAD_PX = 0,  /* rejected: bad_price (<= 0, NaN) */
	SLOB_INGEST_R_BAD_SIZE,	   /* rejected: bad_size */
	SLOB_INGEST_R_BACKWARDS,   /* rejected: ts_backwards */
	SLOB_INGEST_R_BAD_LINES,   /* malformed lines skipped (skip_bad) */
	SLOB_INGEST_R_PREAD,	   /* reads done with pread (io_uring unavailable) */
	SLOB_INGEST_R_READS,	   /* reads completed */
	SLOB_INGEST_R_SHORT_READS, /* short reads resubmitted */
	SLOB_INGEST_R_PX_RANGE,	   /* rejected: price_range */
	SLOB_INGEST_R_TS_RANGE,	   /* rejected: ts_range */
	SLOB_INGEST_R_TS_SKEW,	   /* rejected: ts_skew (live) */
	SLOB_INGEST_R_FORWARD,	   /* rejected: ts_forward */
	SLOB_INGEST_R_PX_JUMP,	   /* rejected: price_jump */
	SLOB_INGEST_R_REANCHORS,   /* validator re-anchors (tickcheck.h note 2) */
	SLOB_INGEST_R_N
};

/* Name of a reason slot ("bad_price", "reads", ...). */
const char *slob_ingest_reason_name(unsigned slot);

/* Copies a validator's counters into stage reason slots (ingest and live md). */
void slob_ingest_count_rejects(const struct slob_tickcheck *c, uint64_t *reasons);

/*
 * slob_tickcheck_describe - "ts_forward (tick 2090-01-01T00:00:00.000000000Z,
 * price 20000.25)" for the first rejection of c. Cold path.
 */
int slob_tickcheck_describe(const struct slob_tickcheck *c, int64_t tick_nano, char *buf,
			    size_t len);

struct slob_ingest_buf {
	unsigned char *data;
	off_t off;   /* file offset of data[0] */
	size_t want; /* bytes requested */
	size_t len;  /* bytes present */
	size_t pos;  /* bytes parsed */
	int state;   /* 0 free, 1 in flight, 2 ready */
};

struct slob_ingest {
	struct slob_ingest_params p;
	slob_ring_t *out, *tap;
	int fd;
	int has_fd; /* fd is ours to close (a zeroed struct has none) */
	enum slob_tickfile_fmt fmt;
	struct slob_tickbin_hdr hdr;
	off_t data_off, file_size;
	size_t buf_size;
	uint64_t rd_submit, rd_done; /* reads submitted / fully parsed (in order) */
	uint64_t rd_total;	     /* reads needed to cover the file */
	struct slob_ingest_buf bufs[SLOB_INGEST_MAX_DEPTH];
	int use_uring;
	struct io_uring ring;
	struct slob_tickcsv csv;
	struct slob_tickcheck chk;
	struct slob_tick *batch;
	unsigned bn, stamped, out_pos, tap_pos;
	uint64_t seq;
	int64_t last_ts;
	int64_t pace_t0_mono, pace_t0_ts;
	int eof, end_queued, done_, failed;
	uint64_t ticks; /* ticks published (without END) */
	struct slob_coldq *cold; /* optional: validator alerts (SLOB_COLD_ALERT) */
	char err[SLOB_TICKFILE_ERRLEN];
	slob_stage_t stage;
};

/*
 * slob_ingest_init - opens and checks the file, allocates the buffers and
 * the batch, sets up io_uring (or the pread fallback). out is required, tap
 * optional (NULL); both are rings of struct slob_tick. Returns 0 or -errno
 * with the reason in slob_ingest_error(ing) (e.g. "f.bin: truncated: ...").
 * Cold path; blocking (reads the whole binary file once when verify).
 */
int slob_ingest_init(struct slob_ingest *ing, const struct slob_ingest_params *p, slob_ring_t *out,
		     slob_ring_t *tap);

/* The stage (name "ingest"). */
slob_stage_t *slob_ingest_stage(struct slob_ingest *ing);

/* One poll: returns ticks published (>= 0) or -EINVAL/-EIO on bad input or a
 * read error (see slob_ingest_error). Hot path; never blocks. */
int slob_ingest_poll(struct slob_ingest *ing);

/* True once END is on every ring. */
bool slob_ingest_done(const struct slob_ingest *ing);

/* Human detail of the last failure (empty if none). */
const char *slob_ingest_error(const struct slob_ingest *ing);

/* The validator of the file being read (counters by reason, first rejection). */
const struct slob_tickcheck *slob_ingest_check(const struct slob_ingest *ing);

/* Frees buffers and io_uring, closes the file. Accepts half-initialised. */
void slob_ingest_destroy(struct slob_ingest *ing);

/* ---- bar file source -------------------------------------------------------- */

struct slob_barsrc_params {
	char path[SLOB_INGEST_PATH_MAX];
	double tick_size; /* default 0.25 */
	double pace;	  /* 0: as fast as possible; N: real time x N */
	int skip_bad;
	unsigned batch; /* bars per push, default 256 */
};

void slob_barsrc_params_default(struct slob_barsrc_params *p);
/* Keys: path, tick_size, pace, skip_bad, batch. */
int slob_barsrc_param_set(struct slob_barsrc_params *p, const char *key, const char *value,
			  char *err, size_t errlen);
int slob_barsrc_params_validate(const struct slob_barsrc_params *p, char *err, size_t errlen);

struct slob_barsrc {
	struct slob_barsrc_params p;
	slob_ring_t *out;
	struct slob_bar *bars;
	size_t n, pos;
	int end_sent;
	int64_t pace_t0_mono, pace_t0_ts;
	struct slob_barcsv stats; /* parser counters (bad_px, bad_order, bad_lines) */
	char err[SLOB_TICKFILE_ERRLEN];
	slob_stage_t stage;
};

/*
 * slob_barsrc_init - loads and checks the whole bar file (errors before any
 * bar is published). Bars get last_seq = 1, 2, ... and recv_ns = monotonic
 * time of publication; an END bar follows the last. Returns 0 or -errno
 * (slob_barsrc_error). Cold path.
 */
int slob_barsrc_init(struct slob_barsrc *b, const struct slob_barsrc_params *p, slob_ring_t *out);
slob_stage_t *slob_barsrc_stage(struct slob_barsrc *b);
int slob_barsrc_poll(struct slob_barsrc *b);
bool slob_barsrc_done(const struct slob_barsrc *b);
const char *slob_barsrc_error(const struct slob_barsrc *b);
void slob_barsrc_destroy(struct slob_barsrc *b);

#endif /* SLOB_INGEST_H */
