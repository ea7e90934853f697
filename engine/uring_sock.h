/* SPDX-License-Identifier: MIT */
/*
 * uring_sock.h: a TCP client socket driven by io_uring, for the TWS
 * market-data (and order) connections: asynchronous connect with a timeout,
 * multishot recv into a ring of provided buffers, and ordered sends, all
 * reaped from a non-blocking poll so it can live inside a hot stage. Received
 * bytes are appended to a receive buffer and handed to the caller's decoder,
 * which says how many bytes it consumed (a partial message stays for the
 * next poll).
 *
 * Design notes
 *  1. One owner thread calls every function. Nothing blocks except
 *     slob_usock_connect's name resolution (getaddrinfo; pass a numeric
 *     address from the hot path) and slob_usock_close (waits for in-flight
 *     operations to complete, at most ~1 s).
 *  2. Every SQE's user_data carries the connection generation; completions
 *     of an older connection are ignored after a reconnect.
 *  3. Receive buffers (nbufs x buf_size) are provided to the kernel through
 *     a registered buffer ring; each is copied into rx and handed back at
 *     once, so -ENOBUFS only happens if the poll falls far behind (then the
 *     recv is re-armed and the event counted). Completions are reaped only
 *     while rx has room for a whole buffer; the decoder runs between rounds
 *     (up to 8 per poll), so a burst larger than rx waits in the CQ instead
 *     of failing. rx full with nothing consumed fails (-EMSGSIZE): size
 *     rx_cap >= largest message + buf_size.
 *  4. At most one send is in flight; bytes are sent in order from the tx
 *     buffer; slob_usock_send copies and returns -ENOBUFS when tx is full.
 *  5. Without io_uring (ENOSYS/EPERM) the same API runs over a non-blocking
 *     socket with connect/recv/send syscalls (counted in `fallback`).
 *  6. Optional SQPOLL (see slob_usock_params): submissions become memory
 *     stores; buffers handed to a send stay untouched until its CQE, which
 *     note 4 already guarantees.
 *  7. Every append to rx is stamped (CLOCK_MONOTONIC when its completion
 *     was reaped), so a decoder that leaves frames for the next poll still
 *     learns when each byte arrived: slob_usock_rx_time(). More appends
 *     than marks merge into the last one, keeping its (earlier) time.
 *
 *   IDLE --connect()--> CONNECTING --ok--> CONNECTED --EOF--> CLOSED
 *                             \--error/timeout--> FAILED <--error--/
 *   CLOSED/FAILED --close()--> IDLE (connect() again to reconnect)
 */
#ifndef SLOB_URING_SOCK_H
#define SLOB_URING_SOCK_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum slob_usock_state {
	SLOB_USOCK_IDLE = 0,
	SLOB_USOCK_CONNECTING,
	SLOB_USOCK_CONNECTED,
	SLOB_USOCK_CLOSED, /* peer closed (EOF) */
	SLOB_USOCK_FAILED, /* connect/recv/send error or timeout; see error */
};

struct slob_usock_params {
	unsigned nbufs;		     /* provided recv buffers, power of two, default 16 */
	unsigned buf_size;	     /* bytes each, default 16384 */
	unsigned rx_cap;	     /* receive accumulation buffer, default 1 MiB */
	unsigned tx_cap;	     /* send buffer, default 256 KiB */
	unsigned connect_timeout_ms; /* default 20000 (the original's 20 s) */
	int use_syscalls;	     /* 1: do not use io_uring */
	int sqpoll_cpu;		     /* SLOB_USOCK_NO_SQPOLL (default), -1 any CPU, >= 0 */
	unsigned sqpoll_idle_ms;     /* SQ thread sleeps after this idle time, default 50 */
};

/*
 * SQPOLL (design note 6): with sqpoll_cpu != SLOB_USOCK_NO_SQPOLL the ring
 * is created with a kernel submission thread (pinned when sqpoll_cpu >= 0),
 * so submitting a send is a store to the submission ring, not a system call
 * that runs the TCP send inline (13+ us on loopback under a hypervisor).
 * The thread sleeps after sqpoll_idle_ms without work; liburing wakes it on
 * the next submit. A kernel that refuses SQPOLL gives a plain ring
 * (sqpoll_err says why).
 */
#define SLOB_USOCK_NO_SQPOLL (-2)

void slob_usock_params_default(struct slob_usock_params *p);

/*
 * Decoder callback: data[0, len) is everything received and not yet
 * consumed. Returns the bytes consumed (0..len), or a negative errno to
 * fail the connection (poll then returns it).
 */
typedef int (*slob_usock_rx_fn)(void *arg, const unsigned char *data, size_t len);

struct slob_usock {
	struct slob_usock_params p;
	enum slob_usock_state state;
	int fd;
	int has_fd;   /* fd is ours to close (a zeroed struct has none) */
	int error;    /* negative errno of the failure (FAILED) */
	uint32_t gen; /* connection generation */
	int use_uring;
	int uring_ready;
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	unsigned char *bufs;
	unsigned inflight; /* SQEs whose final CQE is pending */
	int recv_armed, send_inflight;
	struct __kernel_timespec cto;
	struct sockaddr_storage addr; /* peer (stable while connecting) */
	socklen_t alen;
	unsigned char *rx;
	size_t rx_len;
	/* reception time of rx's bytes (design note 7): mark i covers the bytes
	 * up to rx offset rx_mark_end[i], received at rx_mark_ns[i] */
	uint32_t rx_nmarks;
	uint32_t rx_mark_end[32];
	int64_t rx_mark_ns[32];
	unsigned char *tx;
	size_t tx_off, tx_len, tx_sending;
	/* counters */
	uint64_t rx_bytes, tx_bytes, enobufs, fallback, connects;
	int sqpoll_active; /* the ring has a kernel submission thread */
	int sqpoll_err;	   /* negative errno when SQPOLL was asked for and refused */
	char err[160];
};

/*
 * slob_usock_rx_time - when the byte at rx offset `off` (as passed to the
 * decoder: data[off]) was received, CLOCK_MONOTONIC ns; 0 if unknown.
 * Owner thread; typically called by the decoder with a frame's last byte.
 */
int64_t slob_usock_rx_time(const struct slob_usock *s, size_t off);

/* Allocates buffers and sets up io_uring (or the fallback). Returns 0 or
 * -errno. Cold path. p NULL = defaults. */
int slob_usock_init(struct slob_usock *s, const struct slob_usock_params *p);

/*
 * slob_usock_connect - starts connecting to host:port (host numeric or a
 * name; names are resolved here, blocking). Only from IDLE. Returns 0 (state
 * CONNECTING; completion seen by a later poll) or -errno (-EISCONN when not
 * IDLE, -EHOSTUNREACH if the name does not resolve).
 */
int slob_usock_connect(struct slob_usock *s, const char *host, uint16_t port);

/*
 * slob_usock_poll - reaps completions (connect, recv, send), feeds received
 * bytes to fn, re-arms recv and continues pending sends; one io_uring_submit
 * per round (more rounds only while rx is full and fn consumes, note 3).
 * Returns bytes consumed by fn (>= 0), or the decoder's negative errno.
 * fn NULL: only reaps and submits (received bytes stay in rx). fn may call
 * slob_usock_send but must not close the socket. Connection failures are
 * not returned here: check slob_usock_state() (FAILED with s->error, or
 * CLOSED); fn still sees bytes received before the EOF. Never blocks.
 */
int slob_usock_poll(struct slob_usock *s, slob_usock_rx_fn fn, void *arg);

/* Queues bytes to send (copied). Returns 0, -ENOTCONN, or -ENOBUFS when the
 * tx buffer is full. Never blocks; sending happens in poll. */
int slob_usock_send(struct slob_usock *s, const void *buf, size_t len);

/* Bytes queued but not yet sent. */
size_t slob_usock_pending(const struct slob_usock *s);

static inline enum slob_usock_state slob_usock_state(const struct slob_usock *s)
{
	return s->state;
}

const char *slob_usock_state_name(enum slob_usock_state st);

/* Shuts the connection down and returns to IDLE (waits for in-flight
 * operations, bounded). Safe in any state. */
void slob_usock_close(struct slob_usock *s);

/* close + frees everything. Accepts NULL and half-initialised. */
void slob_usock_destroy(struct slob_usock *s);

#endif /* SLOB_URING_SOCK_H */
