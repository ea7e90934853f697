/* SPDX-License-Identifier: MIT */
/*
 * uring_sock.c: io_uring TCP client (connect with timeout, multishot recv
 * over provided buffers, ordered sends) with a plain non-blocking socket
 * fallback; see uring_sock.h for the design notes.
 */
#include "engine/uring_sock.h"
#include "ringbuf/compiler.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BGID 7

enum { OP_CONNECT = 1, OP_TIMEOUT, OP_RECV, OP_SEND };

static uint64_t tag(const struct slob_usock *s, unsigned op)
{
	return (uint64_t)s->gen << 8 | op;
}

void slob_usock_params_default(struct slob_usock_params *p)
{
	p->nbufs = 16;
	p->buf_size = 16384;
	p->rx_cap = 1u << 20;
	p->tx_cap = 256u << 10;
	p->connect_timeout_ms = 20000;
	p->use_syscalls = 0;
	p->sqpoll_cpu = SLOB_USOCK_NO_SQPOLL;
	p->sqpoll_idle_ms = 50;
}

const char *slob_usock_state_name(enum slob_usock_state st)
{
	switch (st) {
	case SLOB_USOCK_IDLE:
		return "idle";
	case SLOB_USOCK_CONNECTING:
		return "connecting";
	case SLOB_USOCK_CONNECTED:
		return "connected";
	case SLOB_USOCK_CLOSED:
		return "closed";
	case SLOB_USOCK_FAILED:
		return "failed";
	}
	return "unknown";
}

static void fail(struct slob_usock *s, int err, const char *what)
{
	if (s->state == SLOB_USOCK_FAILED || s->state == SLOB_USOCK_CLOSED)
		return;
	s->state = SLOB_USOCK_FAILED;
	s->error = err;
	snprintf(s->err, sizeof(s->err), "%s: %s", what, strerror(-err));
}

int slob_usock_init(struct slob_usock *s, const struct slob_usock_params *p)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (p)
		s->p = *p;
	else
		slob_usock_params_default(&s->p);
	if (!s->p.nbufs || (s->p.nbufs & (s->p.nbufs - 1)) || s->p.nbufs > 32768 ||
	    s->p.buf_size < 64 || s->p.rx_cap < s->p.buf_size || s->p.tx_cap < 64) {
		snprintf(s->err, sizeof(s->err),
			 "usock: nbufs must be a power of two <= 32768, buf_size >= 64, rx_cap >= "
			 "buf_size");
		return -EINVAL;
	}
	s->rx = malloc(s->p.rx_cap);
	s->tx = malloc(s->p.tx_cap);
	if (!s->rx || !s->tx)
		goto nomem;
	if (s->p.use_syscalls)
		return 0;
	int qrc = -1;
	if (s->p.sqpoll_cpu != SLOB_USOCK_NO_SQPOLL) {
		struct io_uring_params up;
		memset(&up, 0, sizeof(up));
		up.flags = IORING_SETUP_SQPOLL;
		up.sq_thread_idle = s->p.sqpoll_idle_ms;
		if (s->p.sqpoll_cpu >= 0) {
			up.flags |= IORING_SETUP_SQ_AFF;
			up.sq_thread_cpu = (unsigned)s->p.sqpoll_cpu;
		}
		qrc = io_uring_queue_init_params(64, &s->ring, &up);
		if (qrc == 0)
			s->sqpoll_active = 1;
		else
			s->sqpoll_err = qrc; /* e.g. EPERM, EINVAL (no such CPU) */
	}
	if (qrc < 0 && io_uring_queue_init(64, &s->ring, 0) < 0)
		return 0; /* fallback */
	s->uring_ready = 1;
	size_t brsz = s->p.nbufs * sizeof(struct io_uring_buf);
	if (posix_memalign((void **)&s->br, 4096, brsz < 4096 ? 4096 : brsz))
		goto nomem;
	s->bufs = malloc((size_t)s->p.nbufs * s->p.buf_size);
	if (!s->bufs)
		goto nomem;
	io_uring_buf_ring_init(s->br);
	struct io_uring_buf_reg reg = {
	    .ring_addr = (unsigned long)s->br, .ring_entries = s->p.nbufs, .bgid = BGID};
	if (io_uring_register_buf_ring(&s->ring, &reg, 0) < 0)
		return 0; /* old kernel: fallback to syscalls */
	int mask = io_uring_buf_ring_mask(s->p.nbufs);
	for (unsigned i = 0; i < s->p.nbufs; i++)
		io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * s->p.buf_size, s->p.buf_size,
				      (unsigned short)i, mask, (int)i);
	io_uring_buf_ring_advance(s->br, (int)s->p.nbufs);
	s->use_uring = 1;
	return 0;
nomem:
	snprintf(s->err, sizeof(s->err), "usock: out of memory");
	return -ENOMEM;
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
		return -EHOSTUNREACH;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int slob_usock_connect(struct slob_usock *s, const char *host, uint16_t port)
{
	if (s->state != SLOB_USOCK_IDLE)
		return -EISCONN;
	int rc = resolve(host, port, &s->addr, &s->alen);
	if (rc < 0) {
		snprintf(s->err, sizeof(s->err), "usock: cannot resolve '%s'", host);
		return rc;
	}
	s->fd = socket(s->addr.ss_family,
		       SOCK_STREAM | SOCK_CLOEXEC | (s->use_uring ? 0 : SOCK_NONBLOCK), 0);
	if (s->fd < 0) {
		rc = -errno;
		snprintf(s->err, sizeof(s->err), "usock: socket: %s", strerror(errno));
		return rc;
	}
	s->has_fd = 1;
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->gen++;
	s->error = 0;
	s->err[0] = '\0';
	s->rx_len = s->tx_off = s->tx_len = s->tx_sending = 0;
	s->rx_nmarks = 0;
	s->recv_armed = s->send_inflight = 0;
	s->state = SLOB_USOCK_CONNECTING;
	s->connects++;
	if (!s->use_uring) {
		s->fallback++;
		if (connect(s->fd, (struct sockaddr *)&s->addr, s->alen) == 0) {
			s->state = SLOB_USOCK_CONNECTED;
		} else if (errno != EINPROGRESS) {
			fail(s, -errno, "connect");
		}
		return 0;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	io_uring_prep_connect(sqe, s->fd, (struct sockaddr *)&s->addr, s->alen);
	sqe->user_data = tag(s, OP_CONNECT);
	sqe->flags |= IOSQE_IO_LINK;
	s->cto.tv_sec = s->p.connect_timeout_ms / 1000;
	s->cto.tv_nsec = (long long)(s->p.connect_timeout_ms % 1000) * 1000000;
	sqe = io_uring_get_sqe(&s->ring);
	io_uring_prep_link_timeout(sqe, &s->cto, 0);
	sqe->user_data = tag(s, OP_TIMEOUT);
	s->inflight += 2;
	rc = io_uring_submit(&s->ring);
	if (rc < 0) {
		s->inflight -= 2;
		fail(s, rc, "io_uring_submit");
	}
	return 0;
}

static void arm_recv(struct slob_usock *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	if (!sqe)
		return;
	io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	sqe->user_data = tag(s, OP_RECV);
	s->recv_armed = 1;
	s->inflight++;
}

static void arm_send(struct slob_usock *s)
{
	if (s->send_inflight || s->tx_off == s->tx_len || s->state != SLOB_USOCK_CONNECTED)
		return;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	if (!sqe)
		return;
	s->tx_sending = s->tx_len - s->tx_off;
	io_uring_prep_send(sqe, s->fd, s->tx + s->tx_off, s->tx_sending, MSG_NOSIGNAL);
	sqe->user_data = tag(s, OP_SEND);
	s->send_inflight = 1;
	s->inflight++;
}

/* design note 7: stamps the bytes just appended (rx_len is the new end) */
static void rx_mark(struct slob_usock *s, int64_t now)
{
	if (s->rx_nmarks == sizeof(s->rx_mark_end) / sizeof(s->rx_mark_end[0])) {
		s->rx_mark_end[s->rx_nmarks - 1] = (uint32_t)s->rx_len; /* merge: earlier time */
		return;
	}
	s->rx_mark_end[s->rx_nmarks] = (uint32_t)s->rx_len;
	s->rx_mark_ns[s->rx_nmarks] = now;
	s->rx_nmarks++;
}

/* k bytes left rx from the front */
static void rx_unmark(struct slob_usock *s, size_t k)
{
	uint32_t keep = 0;
	for (uint32_t i = 0; i < s->rx_nmarks; i++) {
		if (s->rx_mark_end[i] <= k)
			continue;
		s->rx_mark_end[keep] = s->rx_mark_end[i] - (uint32_t)k;
		s->rx_mark_ns[keep] = s->rx_mark_ns[i];
		keep++;
	}
	s->rx_nmarks = keep;
}

int64_t slob_usock_rx_time(const struct slob_usock *s, size_t off)
{
	for (uint32_t i = 0; i < s->rx_nmarks; i++)
		if (off < s->rx_mark_end[i])
			return s->rx_mark_ns[i];
	return 0;
}

static void rx_append(struct slob_usock *s, const unsigned char *d, size_t n)
{
	if (s->rx_len + n > s->p.rx_cap) {
		fail(s, -EMSGSIZE, "receive buffer full (decoder not consuming)");
		return;
	}
	memcpy(s->rx + s->rx_len, d, n);
	s->rx_len += n;
	rx_mark(s, slob_mono_ns());
	s->rx_bytes += n;
}

static void handle_cqe(struct slob_usock *s, struct io_uring_cqe *cqe)
{
	unsigned op = (unsigned)(cqe->user_data & 0xff);
	uint32_t gen = (uint32_t)(cqe->user_data >> 8);
	int res = cqe->res;
	int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
	if (!(op == OP_RECV && more))
		s->inflight--;
	if (op == OP_RECV && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		unsigned char *b = s->bufs + (size_t)bid * s->p.buf_size;
		if (gen == s->gen && res > 0 && s->state == SLOB_USOCK_CONNECTED)
			rx_append(s, b, (size_t)res);
		/* hand the buffer back at once (design note 3) */
		io_uring_buf_ring_add(s->br, b, s->p.buf_size, (unsigned short)bid,
				      io_uring_buf_ring_mask(s->p.nbufs), 0);
		io_uring_buf_ring_advance(s->br, 1);
	}
	if (gen != s->gen)
		return; /* a completion of an older connection (note 2) */
	switch (op) {
	case OP_CONNECT:
		if (s->state != SLOB_USOCK_CONNECTING)
			break;
		if (res == 0) {
			s->state = SLOB_USOCK_CONNECTED;
			arm_recv(s);
		} else {
			fail(s, res == -ECANCELED ? -ETIMEDOUT : res, "connect");
		}
		break;
	case OP_TIMEOUT:
		break;
	case OP_RECV:
		if (!more)
			s->recv_armed = 0;
		if (res == 0) {
			if (s->state == SLOB_USOCK_CONNECTED) {
				s->state = SLOB_USOCK_CLOSED;
				snprintf(s->err, sizeof(s->err), "peer closed the connection");
			}
		} else if (res == -ENOBUFS) {
			s->enobufs++;
		} else if (res < 0 && res != -ECANCELED) {
			fail(s, res, "recv");
		}
		if (!s->recv_armed && s->state == SLOB_USOCK_CONNECTED)
			arm_recv(s);
		break;
	case OP_SEND:
		s->send_inflight = 0;
		if (res < 0) {
			fail(s, res, "send");
			break;
		}
		s->tx_off += (size_t)res;
		s->tx_bytes += (size_t)res;
		if (s->tx_off == s->tx_len)
			s->tx_off = s->tx_len = 0;
		arm_send(s);
		break;
	}
}

/* Returns 1 when it stopped receiving because rx is full (the decoder must
 * consume before more can be read), else 0. */
static int poll_syscalls(struct slob_usock *s)
{
	int full = 0;
	if (s->state == SLOB_USOCK_CONNECTING) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
		if (poll(&pfd, 1, 0) <= 0)
			return 0;
		int e = 0;
		socklen_t l = sizeof(e);
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		if (e) {
			fail(s, -e, "connect");
			return 0;
		}
		s->state = SLOB_USOCK_CONNECTED;
	}
	if (s->state != SLOB_USOCK_CONNECTED)
		return 0;
	for (;;) {
		size_t room = s->p.rx_cap - s->rx_len;
		if (!room) {
			full = 1; /* decode first; poll fails only if nothing is consumed */
			break;
		}
		ssize_t n = recv(s->fd, s->rx + s->rx_len, room, MSG_DONTWAIT);
		if (n > 0) {
			s->rx_len += (size_t)n;
			rx_mark(s, slob_mono_ns());
			s->rx_bytes += (size_t)n;
			continue;
		}
		if (n == 0) {
			s->state = SLOB_USOCK_CLOSED;
			snprintf(s->err, sizeof(s->err), "peer closed the connection");
			return 0;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			break;
		fail(s, -errno, "recv");
		return 0;
	}
	while (s->tx_off < s->tx_len) {
		ssize_t n = send(s->fd, s->tx + s->tx_off, s->tx_len - s->tx_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				fail(s, -errno, "send");
			break;
		}
		s->tx_off += (size_t)n;
		s->tx_bytes += (size_t)n;
	}
	if (s->tx_off == s->tx_len)
		s->tx_off = s->tx_len = 0;
	return full;
}

int slob_usock_poll(struct slob_usock *s, slob_usock_rx_fn fn, void *arg)
{
	if (s->state == SLOB_USOCK_IDLE)
		return 0;
	int consumed = 0;
	/*
	 * Completions are reaped only while rx has room for a whole provided
	 * buffer; the rest wait in the CQ until the decoder has consumed (a
	 * burst larger than rx no longer fails the connection). A few rounds
	 * per poll keep a burst moving without starving the caller.
	 */
	for (int round = 0; round < 8; round++) {
		int left = 0;
		if (s->use_uring) {
			struct io_uring_cqe *cqe;
			unsigned head, n = 0;
			io_uring_for_each_cqe(&s->ring, head, cqe)
			{
				if (s->p.rx_cap - s->rx_len < s->p.buf_size) {
					left = 1;
					break;
				}
				handle_cqe(s, cqe);
				n++;
			}
			if (n)
				io_uring_cq_advance(&s->ring, n);
			arm_send(s);
			if (io_uring_sq_ready(&s->ring))
				io_uring_submit(&s->ring);
		} else {
			left = poll_syscalls(s);
		}
		int k = 0;
		if (s->rx_len && fn) {
			k = fn(arg, s->rx, s->rx_len);
			if (k < 0) {
				fail(s, k, "decoder");
				return k;
			}
			if ((size_t)k > s->rx_len)
				k = (int)s->rx_len;
			if (k) {
				memmove(s->rx, s->rx + k, s->rx_len - (size_t)k);
				s->rx_len -= (size_t)k;
				rx_unmark(s, (size_t)k);
			}
			consumed += k;
		}
		if (!left || !fn)
			break;
		if (k == 0) {
			/* a partial message fills rx: it can never complete */
			fail(s, -EMSGSIZE, "receive buffer full (decoder not consuming)");
			break;
		}
	}
	return consumed;
}

int slob_usock_send(struct slob_usock *s, const void *buf, size_t len)
{
	if (s->state != SLOB_USOCK_CONNECTED)
		return -ENOTCONN;
	if (!s->send_inflight && s->tx_off) { /* compact while nothing is in flight */
		memmove(s->tx, s->tx + s->tx_off, s->tx_len - s->tx_off);
		s->tx_len -= s->tx_off;
		s->tx_off = 0;
	}
	if (s->tx_len + len > s->p.tx_cap)
		return -ENOBUFS;
	memcpy(s->tx + s->tx_len, buf, len);
	s->tx_len += len;
	return 0;
}

size_t slob_usock_pending(const struct slob_usock *s)
{
	return s->tx_len - s->tx_off;
}

void slob_usock_close(struct slob_usock *s)
{
	if (!s->has_fd) {
		s->state = SLOB_USOCK_IDLE;
		return;
	}
	shutdown(s->fd, SHUT_RDWR);
	if (s->use_uring) {
		/* cancel whatever is still pending and wait for the final CQEs */
		struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
		if (sqe) {
			io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
			sqe->user_data = 0; /* gen 0 op 0: ignored */
			io_uring_submit(&s->ring);
		}
		for (int i = 0; i < 100 && s->inflight; i++) {
			struct io_uring_cqe *cqe;
			struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};
			if (io_uring_wait_cqe_timeout(&s->ring, &cqe, &ts) == 0) {
				if (cqe->user_data != 0)
					handle_cqe(s, cqe);
				io_uring_cqe_seen(&s->ring, cqe);
			}
		}
		/* drain stray completions (cancel result) */
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
			if (cqe->user_data != 0)
				handle_cqe(s, cqe);
			io_uring_cqe_seen(&s->ring, cqe);
		}
	}
	close(s->fd);
	s->fd = -1;
	s->has_fd = 0;
	s->gen++;
	s->inflight = 0;
	s->recv_armed = s->send_inflight = 0;
	s->rx_len = s->tx_off = s->tx_len = 0;
	s->rx_nmarks = 0;
	s->state = SLOB_USOCK_IDLE;
}

void slob_usock_destroy(struct slob_usock *s)
{
	if (!s)
		return;
	slob_usock_close(s);
	if (s->uring_ready)
		io_uring_queue_exit(&s->ring);
	s->uring_ready = 0;
	s->use_uring = 0;
	free(s->br);
	free(s->bufs);
	free(s->rx);
	free(s->tx);
	s->br = NULL;
	s->bufs = NULL;
	s->rx = s->tx = NULL;
}
