/* SPDX-License-Identifier: MIT */
/*
 * tickfile.h: market-data file formats (docs/DATA_FORMATS.md): tick CSV,
 * M1 bar CSV (as exported from IB historical data), and the compact binary
 * tick file that slob-gen writes. Three layers:
 *   - in-memory parsers with no I/O and no allocation (the ingest stage runs
 *     them over its io_uring buffers; the fuzz targets run them over bytes):
 *     slob_tickcsv_*, slob_barcsv_*, slob_tickbin_hdr_* / slob_tickbin_rec_*;
 *   - writers (cold path): slob_tickbin_writer_*, slob_tickcsv_writer_*;
 *   - a simple blocking reader for cold users (gateway simulator, tools):
 *     slob_tickreader_* (either format, auto-detected), and
 *     slob_barfile_load (whole bar file into memory).
 *
 * Input checks shared by all readers: a malformed line stops the read with
 * "file:line: what is wrong" (or, with skip_bad, is skipped and counted);
 * a well-formed tick with a value the validator refuses (engine/tickcheck.h:
 * price, size, timestamp range or ordering, price jump) is rejected with a
 * counter by reason (never an error); a truncated or
 * corrupted binary file (size or xxh3 mismatch) is an error before any tick.
 */
#ifndef SLOB_TICKFILE_H
#define SLOB_TICKFILE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/event.h"
#include "engine/tickcheck.h"
#include "ringbuf/compiler.h"

#define SLOB_TICKBIN_MAGIC "SLOBTICK"
#define SLOB_TICKBIN_VERSION 1
#define SLOB_TICKBIN_HDR_SIZE 64
#define SLOB_TICKBIN_REC_SIZE 16
#define SLOB_TICKFILE_MAX_LINE 512 /* longest CSV line accepted */
#define SLOB_TICKFILE_ERRLEN 256

/* ---- validation shared by every reader: engine/tickcheck.h ------------------ */

/* ---- field parsers (exposed for tests and other readers) ------------------ */

/*
 * slob_parse_time - parses a timestamp field [p, end): integer ns since the
 * epoch ("1767709800000000000"), decimal seconds ("1767709800.25"), ISO-8601
 * "2026-01-06T14:30:00[.fff][Z|+01:00|+0100|+01]" (space instead of T
 * allowed; no offset = UTC), or IB's "20260106 14:30:00" (UTC). Returns 0 and
 * *ns, or -EINVAL with *why set to a constant description. Any thread.
 */
int slob_parse_time(const char *p, const char *end, int64_t *ns, const char **why);

/*
 * slob_parse_price - decimal "20000.25" (optional sign, up to 9 fraction
 * digits) into ticks of tick_nano (tick size in 1e-9 units, e.g. 250000000),
 * rounded to the nearest tick. Returns 0 (value may be <= 0: the caller
 * rejects it), or -EINVAL with *why. Any thread.
 */
int slob_parse_price(const char *p, const char *end, int64_t tick_nano, int64_t *ticks,
		     const char **why);

/* Tick size (e.g. 0.25) in 1e-9 units; 0 if not positive / not representable. */
int64_t slob_tick_nano(double tick_size);

/* Formats ticks as a decimal price ("20000.25"); returns the length. */
int slob_format_price(char *buf, size_t len, int64_t ticks, int64_t tick_nano);

/* ---- tick CSV: "timestamp,price,size" -------------------------------------- */

struct slob_tickcsv_opts {
	const char *name;	  /* file name for messages ("-" if NULL) */
	double tick_size;	  /* instrument tick size (0.25) */
	int skip_bad;		  /* 1: skip and count malformed lines instead of stopping */
	int64_t backwards_tol_ns; /* tolerated backwards timestamp step */
	const struct slob_tickcheck_params *check; /* NULL: defaults with backwards_tol_ns */
};

struct slob_tickcsv {
	const char *name;
	int64_t tick_nano;
	int skip_bad;
	uint64_t line;	    /* lines seen so far (1-based line of the last one) */
	uint64_t bad_lines; /* malformed lines skipped (skip_bad) */
	uint64_t ticks;	    /* ticks produced */
	struct slob_tickcheck chk;
	size_t carry_len; /* partial line kept between feeds */
	char carry[SLOB_TICKFILE_MAX_LINE];
	char err[SLOB_TICKFILE_ERRLEN]; /* "file:line: what is wrong" of the last error */
};

/* Prepares a parser. Returns 0 or -EINVAL (bad tick size; message in c->err). */
int slob_tickcsv_init(struct slob_tickcsv *c, const struct slob_tickcsv_opts *o);

/*
 * slob_tickcsv_line - parses one line (no newline; a trailing CR is ignored).
 * Returns 1 (tick in *out: ts_ns, px, size; seq/recv/flags left zero), 0 (line
 * skipped: blank, '#' comment, header on line 1, rejected value, or malformed
 * with skip_bad), or -EINVAL (malformed; c->err says "file:line: ..."). Counts
 * the line. No allocation; caller's thread.
 */
int slob_tickcsv_line(struct slob_tickcsv *c, const char *p, size_t len, struct slob_tick *out);

/*
 * slob_tickcsv_feed - parses the complete lines of buf[0, len) into out[0, n).
 * Stops when out is full. A final partial line is kept inside the parser
 * (carry) unless eof, in which case it is parsed as the last line.
 * *used receives the bytes consumed (call again with the rest while
 * *used < len). Returns ticks produced (>= 0) or -EINVAL (c->err).
 * No allocation, no syscalls; caller's thread.
 */
int slob_tickcsv_feed(struct slob_tickcsv *c, const char *buf, size_t len, int eof,
		      struct slob_tick *out, unsigned n, size_t *used);

/* ---- M1 bar CSV: "time,open,high,low,close,volume" ----------------------- */

struct slob_barcsv_opts {
	const char *name;
	double tick_size;
	int skip_bad;
};

struct slob_barcsv {
	const char *name;
	int64_t tick_nano;
	int skip_bad;
	uint64_t line;
	uint64_t bad_lines; /* malformed, skipped (skip_bad) */
	uint64_t bad_px;    /* rejected: non-positive or inconsistent OHLC */
	uint64_t bad_order; /* rejected: duplicate or backwards minute */
	uint64_t bars;
	int64_t last_ts;
	int col[6];    /* column index of time, open, high, low, close, volume */
	int ncols_min; /* fields a data line must have */
	char err[SLOB_TICKFILE_ERRLEN];
};

int slob_barcsv_init(struct slob_barcsv *c, const struct slob_barcsv_opts *o);

/*
 * slob_barcsv_line - one line of a bar CSV. A header on line 1 maps columns by
 * name (time|date|datetime|timestamp, open, high, low, close, volume; others
 * such as average/barCount ignored); without one the first six columns are
 * taken in that order. The time must be a whole minute (start of the bar).
 * Returns 1 (bar in *out: ts_ns, OHLC, volume, ticks = 0), 0 (skipped or
 * rejected, counted), -EINVAL (malformed; c->err).
 */
int slob_barcsv_line(struct slob_barcsv *c, const char *p, size_t len, struct slob_bar *out);

/*
 * slob_barfile_load - reads a whole bar CSV into a malloc'ed array (*bars,
 * free() it). Cold path, blocking. Returns the bar count or -errno; on a
 * malformed line -EINVAL with "file:line: ..." in err. stats (may be NULL)
 * receives the parser's counters.
 */
int slob_barfile_load(const char *path, const struct slob_barcsv_opts *o, struct slob_bar **bars,
		      struct slob_barcsv *stats, char *err, size_t errlen);

/* ---- binary tick file ------------------------------------------------------ */

/*
 * Layout (all little-endian):
 *   header, 64 bytes:
 *     0  char[8]  magic "SLOBTICK"
 *     8  u32      version (1)
 *    12  u32      header size (64)
 *    16  u32      record size (16)
 *    20  u32      header check: low 32 bits of xxh3-64 of the 64 header
 *                 bytes with this field zeroed
 *    24  char[16] instrument symbol, NUL padded
 *    40  f64      tick size (IEEE-754 binary64)
 *    48  u64      record count (UINT64_MAX while a writer has it open)
 *    56  u64      xxh3-64 of the body (all records)
 *   record, 16 bytes: i64 ts_ns (UTC), i32 price in ticks, u32 size.
 */
struct slob_tickbin_hdr {
	char symbol[16];
	double tick_size;
	uint64_t count;
	uint64_t body_xxh3;
	uint32_t version;
};

/* Encodes h into 64 bytes (computes the header check). */
void slob_tickbin_hdr_encode(const struct slob_tickbin_hdr *h,
			     unsigned char out[SLOB_TICKBIN_HDR_SIZE]);

/*
 * slob_tickbin_hdr_decode - validates and decodes a header. file_size (or -1
 * if unknown) is checked against the count. Returns 0 or -EINVAL (bad magic,
 * version, check, tick size) / -EIO (truncated: size mismatch) with a message
 * in err ("name: ..."). Any thread.
 */
int slob_tickbin_hdr_decode(const void *buf, size_t len, int64_t file_size, const char *name,
			    struct slob_tickbin_hdr *h, char *err, size_t errlen);

/* Decodes one 16-byte record. Hot path. */
static inline void slob_tickbin_rec_decode(const unsigned char *p, int64_t *ts, int32_t *px,
					   uint32_t *size)
{
	/* Host is little-endian on every supported target (x86-64, arm64). */
	SLOB_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host");
	memcpy(ts, p, 8);
	memcpy(px, p + 8, 4);
	memcpy(size, p + 12, 4);
}

/*
 * slob_tickbin_check_mem - validates a whole in-memory binary file: header,
 * size and body checksum. Returns 0 or -EINVAL/-EIO with err. Any thread.
 */
int slob_tickbin_check_mem(const void *buf, size_t len, const char *name,
			   struct slob_tickbin_hdr *h, char *err, size_t errlen);

/*
 * slob_tickbin_verify_fd - reads the body of an open binary file with pread
 * and compares its xxh3 with the header (and its size with the count).
 * Cold path, blocking. Returns 0, -EIO (truncated / checksum) or -errno.
 */
int slob_tickbin_verify_fd(int fd, const char *name, struct slob_tickbin_hdr *h, char *err,
			   size_t errlen);

/* ---- writers (cold path, blocking) ---------------------------------------- */

struct slob_tickbin_writer;
struct slob_tickcsv_writer;

/*
 * Both writers are atomic (persist/fsutil.h, struct slob_fs_out): the ticks go
 * to a temporary file next to path; only a successful close fsyncs it and
 * renames it over path. A failed append or close, or an abort, removes the
 * temporary file, so a failed conversion leaves no output at all (never a
 * truncated file with a valid checksum), and an existing file at path is
 * kept until the new one is complete.
 */

/*
 * slob_tickbin_writer_open - starts a binary tick file for path with a
 * header marked "open". tick_size > 0. Returns 0 and *w, or -errno (message
 * via slob_tickfile_strerror()).
 */
int slob_tickbin_writer_open(struct slob_tickbin_writer **w, const char *path, const char *symbol,
			     double tick_size);
/* Appends one record (buffered). Returns 0 or -errno. */
int slob_tickbin_writer_append(struct slob_tickbin_writer *w, int64_t ts_ns, int32_t px,
			       uint32_t size);
/* Flushes, writes the final header (count, checksum), fsyncs, renames over
 * path and frees w. On any error (now or in an earlier append) removes the
 * temporary file instead. Returns 0 or -errno. Accepts NULL. */
int slob_tickbin_writer_close(struct slob_tickbin_writer *w);
/* Discards everything written: removes the temporary file, frees w. Accepts NULL. */
void slob_tickbin_writer_abort(struct slob_tickbin_writer *w);

/* CSV writer ("-" = standard output, written directly): "timestamp,price,size" header, then one
 * tick per line with the timestamp as integer ns (iso = 0) or ISO-8601 UTC with ns (iso = 1).
 * Close and abort as for the binary writer. */
int slob_tickcsv_writer_open(struct slob_tickcsv_writer **w, const char *path, double tick_size,
			     int iso);
int slob_tickcsv_writer_append(struct slob_tickcsv_writer *w, int64_t ts_ns, int32_t px,
			       uint32_t size);
int slob_tickcsv_writer_close(struct slob_tickcsv_writer *w);
void slob_tickcsv_writer_abort(struct slob_tickcsv_writer *w);

/* Formats ts_ns as "2026-01-06T14:30:00.000000000Z"; returns the length. */
int slob_format_time_iso(char *buf, size_t len, int64_t ts_ns);

/* ---- simple reader (cold path, blocking) ---------------------------------- */

enum slob_tickfile_fmt { SLOB_TICKFILE_AUTO = 0, SLOB_TICKFILE_CSV, SLOB_TICKFILE_BIN };

struct slob_tickreader;

/*
 * slob_tickreader_open - opens a tick file (format auto-detected from the
 * magic unless given). Binary files are verified (size and checksum) here,
 * before any tick is returned. opts->name is ignored (the path is used).
 * Returns 0 or -errno with a message in slob_tickfile_strerror().
 */
int slob_tickreader_open(struct slob_tickreader **r, const char *path, enum slob_tickfile_fmt fmt,
			 const struct slob_tickcsv_opts *opts);
/* Next accepted tick: 1, 0 at end of file, or -errno (message). seq counts from 1. */
int slob_tickreader_next(struct slob_tickreader *r, struct slob_tick *t);
/* Format, header (binary only, else NULL), counters of rejected ticks / skipped lines. */
enum slob_tickfile_fmt slob_tickreader_format(const struct slob_tickreader *r);
const struct slob_tickbin_hdr *slob_tickreader_header(const struct slob_tickreader *r);
const struct slob_tickcheck *slob_tickreader_check(const struct slob_tickreader *r);
uint64_t slob_tickreader_bad_lines(const struct slob_tickreader *r);
void slob_tickreader_close(struct slob_tickreader *r);

/* Detail of the last writer/reader error on this thread. */
const char *slob_tickfile_strerror(void);

#endif /* SLOB_TICKFILE_H */
