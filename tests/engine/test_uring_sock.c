/* SPDX-License-Identifier: MIT */
/*
 * test_uring_sock.c: the io_uring TCP client against a loopback server on a
 * port picked by the kernel (bind port 0): connect, length-prefixed messages
 * reassembled across recv boundaries by a consuming decoder, ordered sends,
 * peer close, reconnect, refused connect, decoder errors; the same for the
 * syscall fallback. io_uring cases are skipped when io_uring is unavailable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "engine/uring_sock.h"

static int listen_any(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

struct dec {
	unsigned msgs;
	uint32_t next; /* expected payload counter */
	int bad;
	int fail_after;
};

/* messages: u32 length n, then n bytes each = (counter & 0xff); payload
 * counter increments per message */
static int decode(void *arg, const unsigned char *d, size_t len)
{
	struct dec *x = arg;
	size_t pos = 0;
	while (len - pos >= 4) {
		uint32_t n;
		memcpy(&n, d + pos, 4);
		if (len - pos - 4 < n)
			break;
		for (uint32_t i = 0; i < n; i++)
			if (d[pos + 4 + i] != (unsigned char)(x->next & 0xff))
				x->bad++;
		x->next++;
		x->msgs++;
		pos += 4 + n;
		if (x->fail_after && (int)x->msgs >= x->fail_after)
			return -EPROTO;
	}
	return (int)pos;
}

static void wait_state(struct slob_usock *s, enum slob_usock_state st, struct dec *d)
{
	for (int i = 0; i < 20000 && slob_usock_state(s) != st; i++) {
		slob_usock_poll(s, decode, d);
		if (slob_usock_state(s) != st)
			usleep(100);
	}
	if (slob_usock_state(s) != st)
		fprintf(stderr, "state %s, want %s (%s)\n",
			slob_usock_state_name(slob_usock_state(s)), slob_usock_state_name(st),
			s->err);
	assert_int_equal(slob_usock_state(s), st);
}

/* sqpoll_cpu: SLOB_USOCK_NO_SQPOLL, or -1/0 for a kernel submission thread */
static void run_roundtrip(int use_syscalls, int sqpoll_cpu)
{
	struct slob_usock_params p;
	struct slob_usock s;
	struct dec d = {0};
	uint16_t port;
	slob_usock_params_default(&p);
	p.use_syscalls = use_syscalls;
	p.sqpoll_cpu = sqpoll_cpu;
	p.sqpoll_idle_ms = 1; /* the thread sleeps between rounds: wake-ups are exercised */
	p.nbufs = 4;
	p.buf_size = 256; /* messages straddle recv buffers */
	assert_int_equal(slob_usock_init(&s, &p), 0);
	if (!use_syscalls && !s.use_uring) {
		slob_usock_destroy(&s);
		skip();
	}
	if (sqpoll_cpu != SLOB_USOCK_NO_SQPOLL) {
		/* either a submission thread, or a refusal that says why */
		assert_true(s.sqpoll_active || s.sqpoll_err < 0);
		if (!s.sqpoll_active)
			fprintf(stderr, "SQPOLL refused here (%s): plain ring tested\n",
				strerror(-s.sqpoll_err));
	} else {
		assert_false(s.sqpoll_active);
	}
	int lfd = listen_any(&port);
	for (int round = 0; round < 2; round++) { /* second round: reconnect */
		memset(&d, 0, sizeof(d));
		assert_int_equal(slob_usock_connect(&s, "127.0.0.1", port), 0);
		assert_int_equal(slob_usock_connect(&s, "127.0.0.1", port), -EISCONN);
		int cfd = accept(lfd, NULL, NULL);
		assert_true(cfd >= 0);
		wait_state(&s, SLOB_USOCK_CONNECTED, &d);
		/* server -> client: 300 messages of varying size in odd chunks */
		static unsigned char out[200000];
		size_t n = 0;
		for (uint32_t m = 0; m < 300; m++) {
			uint32_t len = (m * 37) % 500;
			memcpy(out + n, &len, 4);
			memset(out + n + 4, (int)(m & 0xff), len);
			n += 4 + len;
		}
		for (size_t off = 0; off < n;) {
			size_t k = n - off < 777 ? n - off : 777;
			ssize_t w = send(cfd, out + off, k, 0);
			assert_true(w > 0);
			off += (size_t)w;
			slob_usock_poll(&s, decode, &d);
		}
		for (int i = 0; i < 20000 && d.msgs < 300; i++) {
			slob_usock_poll(&s, decode, &d);
			if (d.msgs < 300)
				usleep(100);
		}
		assert_int_equal(d.msgs, 300);
		assert_int_equal(d.bad, 0);
		/* client -> server, ordered */
		char msg[64];
		for (int i = 0; i < 100; i++) {
			snprintf(msg, sizeof(msg), "line %03d\n", i);
			assert_int_equal(slob_usock_send(&s, msg, strlen(msg)), 0);
			if (i % 7 == 0)
				slob_usock_poll(&s, decode, &d);
		}
		char got[2000];
		size_t gl = 0;
		for (int i = 0; i < 20000 && gl < 900; i++) {
			slob_usock_poll(&s, decode, &d);
			ssize_t r = recv(cfd, got + gl, sizeof(got) - gl, MSG_DONTWAIT);
			if (r > 0)
				gl += (size_t)r;
			else
				usleep(100);
		}
		assert_int_equal(gl, 900);
		assert_memory_equal(got, "line 000\nline 001\n", 18);
		assert_memory_equal(got + 891, "line 099\n", 9);
		for (int i = 0; i < 20000 && slob_usock_pending(&s); i++) {
			slob_usock_poll(&s, decode, &d);
			usleep(100);
		}
		assert_int_equal(slob_usock_pending(&s), 0);
		/* peer closes */
		close(cfd);
		wait_state(&s, SLOB_USOCK_CLOSED, &d);
		assert_int_equal(slob_usock_send(&s, "x", 1), -ENOTCONN);
		slob_usock_close(&s);
		assert_int_equal(slob_usock_state(&s), SLOB_USOCK_IDLE);
	}
	/* refused: nobody listens any more */
	close(lfd);
	assert_int_equal(slob_usock_connect(&s, "127.0.0.1", port), 0);
	wait_state(&s, SLOB_USOCK_FAILED, &d);
	assert_int_equal(s.error, -ECONNREFUSED);
	slob_usock_close(&s);
	assert_int_equal(slob_usock_connect(&s, "no.such.host.invalid", port), -EHOSTUNREACH);
	slob_usock_destroy(&s);
}

static void test_uring_roundtrip(void **state)
{
	(void)state;
	run_roundtrip(0, SLOB_USOCK_NO_SQPOLL);
}

/* The order connection's mode: sends submitted by a kernel thread, on any
 * CPU and pinned to CPU 0; connect, multishot recv, ordered sends, EOF,
 * reconnect and refusal behave exactly as with a plain ring. */
static void test_sqpoll_roundtrip(void **state)
{
	(void)state;
	run_roundtrip(0, -1);
	run_roundtrip(0, 0);
}

/* A CPU that does not exist: the kernel refuses SQPOLL, the socket works. */
static void test_sqpoll_refused_falls_back(void **state)
{
	(void)state;
	struct slob_usock_params p;
	struct slob_usock s;
	slob_usock_params_default(&p);
	p.sqpoll_cpu = 1023;
	assert_int_equal(slob_usock_init(&s, &p), 0);
	if (!s.uring_ready) {
		slob_usock_destroy(&s);
		skip();
	}
	assert_false(s.sqpoll_active);
	assert_true(s.sqpoll_err < 0);
	assert_true(s.use_uring);
	slob_usock_destroy(&s);
}

/* Decoder taking one 8-byte message per call and noting when its last byte
 * was received (design note 7). */
struct stamps {
	struct slob_usock *s;
	int n;
	int64_t at[8];
};

static int decode_one(void *arg, const unsigned char *d, size_t len)
{
	struct stamps *x = arg;
	(void)d;
	if (len < 8 || x->n == 8)
		return 0;
	x->at[x->n++] = slob_usock_rx_time(x->s, 7);
	return 8;
}

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Two bursts 20 ms apart, decoded one message per poll long after both
 * arrived: each message keeps the time its bytes were received, not the
 * time it was decoded. */
static void run_rx_stamps(int use_syscalls)
{
	struct slob_usock_params p;
	struct slob_usock s;
	uint16_t port;
	slob_usock_params_default(&p);
	p.use_syscalls = use_syscalls;
	assert_int_equal(slob_usock_init(&s, &p), 0);
	int lfd = listen_any(&port);
	assert_int_equal(slob_usock_connect(&s, "127.0.0.1", port), 0);
	int cfd = accept(lfd, NULL, NULL);
	struct dec d = {0};
	wait_state(&s, SLOB_USOCK_CONNECTED, &d);
	struct stamps st = {.s = &s};
	static const unsigned char burst[32] = {0};
	int64_t t0 = mono();
	assert_int_equal(send(cfd, burst, 32, 0), 32); /* messages 0..3 */
	for (int i = 0; i < 2000 && s.rx_len < 32; i++) {
		slob_usock_poll(&s, NULL, NULL); /* receive only */
		usleep(100);
	}
	assert_int_equal(s.rx_len, 32);
	usleep(20000);
	int64_t t1 = mono();
	assert_int_equal(send(cfd, burst, 32, 0), 32); /* messages 4..7 */
	for (int i = 0; i < 2000 && s.rx_len < 64; i++) {
		slob_usock_poll(&s, NULL, NULL);
		usleep(100);
	}
	assert_int_equal(s.rx_len, 64);
	usleep(20000);
	int64_t t2 = mono();
	for (int i = 0; i < 100 && st.n < 8; i++)
		slob_usock_poll(&s, decode_one, &st);
	assert_int_equal(st.n, 8);
	for (int i = 0; i < 8; i++) {
		int64_t lo = i < 4 ? t0 : t1, hi = i < 4 ? t1 : t2;
		if (st.at[i] < lo || st.at[i] > hi)
			fail_msg("message %d stamped %lld ns after the first send, expected %lld..%lld", i,
				 (long long)(st.at[i] - t0), (long long)(lo - t0), (long long)(hi - t0));
	}
	assert_int_equal(s.rx_len, 0);
	assert_int_equal(slob_usock_rx_time(&s, 0), 0);
	close(cfd);
	close(lfd);
	slob_usock_destroy(&s);
}

static void test_rx_stamps(void **state)
{
	(void)state;
	run_rx_stamps(0);
	run_rx_stamps(1);
}

static void test_syscall_roundtrip(void **state)
{
	(void)state;
	run_roundtrip(1, SLOB_USOCK_NO_SQPOLL);
}

static void test_decoder_error(void **state)
{
	(void)state;
	struct slob_usock s;
	struct dec d = {.fail_after = 1};
	uint16_t port;
	assert_int_equal(slob_usock_init(&s, NULL), 0);
	int lfd = listen_any(&port);
	assert_int_equal(slob_usock_connect(&s, "::ffff:127.0.0.1", port), 0);
	int cfd = accept(lfd, NULL, NULL);
	wait_state(&s, SLOB_USOCK_CONNECTED, &d);
	unsigned char m[8] = {4, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(send(cfd, m, 8, 0), 8);
	int rc = 0;
	for (int i = 0; i < 20000 && rc == 0; i++) {
		rc = slob_usock_poll(&s, decode, &d);
		if (!rc)
			usleep(100);
	}
	assert_int_equal(rc, -EPROTO);
	assert_int_equal(slob_usock_state(&s), SLOB_USOCK_FAILED);
	close(cfd);
	close(lfd);
	slob_usock_destroy(&s);
	struct slob_usock_params p;
	slob_usock_params_default(&p);
	p.nbufs = 3;
	assert_int_equal(slob_usock_init(&s, &p), -EINVAL);
	slob_usock_destroy(&s);
}

static void test_destroy_zeroed(void **state)
{
	(void)state;
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	struct slob_usock *z = calloc(1, sizeof(*z));
	slob_usock_destroy(z);
	slob_usock_destroy(NULL);
	free(z);
	assert_true(fcntl(0, F_GETFD) != -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uring_roundtrip),
	    cmocka_unit_test(test_sqpoll_roundtrip),
	    cmocka_unit_test(test_sqpoll_refused_falls_back),
	    cmocka_unit_test(test_rx_stamps),
	    cmocka_unit_test(test_syscall_roundtrip),
	    cmocka_unit_test(test_decoder_error),
	    cmocka_unit_test(test_destroy_zeroed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
