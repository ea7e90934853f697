/* SPDX-License-Identifier: MIT */
/*
 * test_ring.c: unit tests of the SPSC ring on one thread: refused
 * arguments, full/empty edges, wrap-around, batch boundaries, free-running
 * index overflow, reserve/commit and peek/release, layout. The two-thread
 * checks are in test_ring_stress.c, allocation counting in test_ring_alloc.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "ringbuf/ring.h"

struct rec16 {
	uint64_t a, b;
};
SLOB_RING_TYPED(r16, struct rec16)

static void test_init_rejects_bad_args(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "x", 0, 16), -EINVAL);
	assert_non_null(strstr(slob_ring_strerror(), "power of two"));
	assert_int_equal(slob_ring_init(&r, "x", 12, 16), -EINVAL);
	assert_int_equal(slob_ring_init(&r, "x", 1, 16), -EINVAL);
	assert_int_equal(slob_ring_init(&r, "x", 16, 0), -EINVAL);
	assert_non_null(strstr(slob_ring_strerror(), "record size"));
	slob_ring_destroy(NULL);
}

static void test_full_empty_edges(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "edges", 8, sizeof(struct rec16)), 0);
	struct rec16 x = {0}, y;
	assert_false(r16_pop(&r, &y));
	assert_int_equal(slob_ring_capacity(&r), 7);
	for (unsigned i = 0; i < 7; i++) {
		x.a = i;
		assert_true(r16_push(&r, &x));
	}
	assert_false(r16_push(&r, &x));
	assert_int_equal(slob_ring_size(&r), 7);
	for (unsigned i = 0; i < 7; i++) {
		assert_true(r16_pop(&r, &y));
		assert_int_equal(y.a, i);
	}
	assert_false(r16_pop(&r, &y));
	slob_ring_destroy(&r);
}

static void test_wraparound_and_batches(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "wrap", 16, sizeof(struct rec16)), 0);
	uint64_t next_in = 0, next_out = 0;
	struct rec16 buf[11], out[13];
	for (int round = 0; round < 1000; round++) {
		for (unsigned i = 0; i < 11; i++)
			buf[i].a = next_in + i;
		unsigned n = slob_ring_push_batch_spsc(&r, buf, 11);
		assert_true(n <= 11);
		next_in += n;
		unsigned m = slob_ring_pop_batch_spsc(&r, out, 13);
		for (unsigned i = 0; i < m; i++)
			assert_int_equal(out[i].a, next_out + i);
		next_out += m;
		assert_true(next_in - next_out <= 15);
	}
	assert_true(next_out > 5000);
	slob_ring_destroy(&r);
}

static void test_reserve_commit_peek(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "rc", 4, sizeof(struct rec16)), 0);
	struct rec16 *s1 = slob_ring_reserve_spsc(&r);
	struct rec16 *s2 = slob_ring_reserve_spsc(&r);
	assert_non_null(s1);
	assert_non_null(s2);
	s1->a = 1;
	s2->a = 2;
	assert_null(slob_ring_peek_spsc(&r, 0)); /* not yet committed */
	slob_ring_commit_spsc(&r);
	const struct rec16 *p = r16_peek(&r, 1);
	assert_non_null(p);
	assert_int_equal(p->a, 2);
	assert_null(r16_peek(&r, 2));
	slob_ring_release_spsc(&r, 2);
	assert_int_equal(slob_ring_size(&r), 0);
	slob_ring_destroy(&r);
}

/* Batches that exactly fill the ring, exceed it, and split at the end of
 * the storage array; zero-length batches are no-ops. */
static void test_batch_boundaries(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "bb", 8, sizeof(struct rec16)), 0);
	struct rec16 in[20], out[20];
	for (unsigned i = 0; i < 20; i++)
		in[i] = (struct rec16){i, ~(uint64_t)i};
	assert_int_equal(slob_ring_push_batch_spsc(&r, in, 0), 0);
	assert_int_equal(slob_ring_pop_batch_spsc(&r, out, 0), 0);
	assert_int_equal(slob_ring_pop_batch_spsc(&r, out, 5), 0);
	/* more than fits: exactly capacity (7) goes in */
	assert_int_equal(slob_ring_push_batch_spsc(&r, in, 20), 7);
	assert_int_equal(slob_ring_push_batch_spsc(&r, in, 1), 0);
	assert_int_equal(slob_ring_size(&r), 7);
	assert_int_equal(slob_ring_pop_batch_spsc(&r, out, 20), 7);
	for (unsigned i = 0; i < 7; i++)
		assert_memory_equal(&out[i], &in[i], sizeof(out[i]));
	/* head and tail now at slot 7: the next batch of 7 wraps after 1 slot */
	assert_int_equal(slob_ring_push_batch_spsc(&r, in + 7, 7), 7);
	memset(out, 0, sizeof(out));
	assert_int_equal(slob_ring_pop_batch_spsc(&r, out, 3), 3); /* splits 1 + 2 */
	assert_int_equal(slob_ring_pop_batch_spsc(&r, out + 3, 4), 4);
	for (unsigned i = 0; i < 7; i++)
		assert_memory_equal(&out[i], &in[7 + i], sizeof(out[i]));
	assert_int_equal(slob_ring_size(&r), 0);
	/* every split point of a wrapping batch, for every batch size */
	for (unsigned start = 0; start < 8; start++)
		for (unsigned n = 1; n <= 7; n++) {
			slob_ring_destroy(&r);
			assert_int_equal(slob_ring_init(&r, "bb", 8, sizeof(struct rec16)), 0);
			for (unsigned k = 0; k < start; k++) {
				assert_true(r16_push(&r, &in[0]));
				assert_true(r16_pop(&r, &out[0]));
			}
			assert_int_equal(slob_ring_push_batch_spsc(&r, in, n), n);
			for (unsigned k = 0; k < n; k++) {
				const struct rec16 *p = r16_peek(&r, k);
				assert_non_null(p);
				assert_int_equal(p->a, k);
			}
			assert_null(r16_peek(&r, n));
			assert_int_equal(slob_ring_pop_batch_spsc(&r, out, n), n);
			for (unsigned k = 0; k < n; k++)
				assert_int_equal(out[k].b, ~(uint64_t)k);
		}
	slob_ring_destroy(&r);
}

/* Indices are free-running: crossing UINT_MAX must not lose or invent records. */
static void test_index_overflow(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "ov", 16, sizeof(struct rec16)), 0);
	unsigned int near = UINT32_MAX - 20;
	r.ck.c_head = r.ck.p_tail = near;
	r.p_cached_c_head = r.c_cached_p_tail = near;
	uint64_t next_in = 0, next_out = 0;
	struct rec16 x = {0}, y;
	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < 5; k++) {
			x.a = next_in;
			if (r16_push(&r, &x))
				next_in++;
		}
		assert_true(slob_ring_size(&r) <= 15);
		for (int k = 0; k < 3; k++)
			if (r16_pop(&r, &y))
				assert_int_equal(y.a, next_out++);
	}
	while (r16_pop(&r, &y))
		assert_int_equal(y.a, next_out++);
	assert_int_equal(next_in, next_out);
	assert_true(r.ck.p_tail < near); /* it did wrap */
	slob_ring_destroy(&r);
}

/* Reserve until full, commit in two steps, odd record sizes. */
static void test_reserve_until_full_odd_size(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "odd", 4, 3), 0);
	unsigned char *s[4];
	for (int i = 0; i < 3; i++) {
		s[i] = slob_ring_reserve_spsc(&r);
		assert_non_null(s[i]);
		memset(s[i], 'a' + i, 3);
	}
	assert_null(slob_ring_reserve_spsc(&r)); /* capacity 3, all reserved */
	assert_int_equal(slob_ring_size(&r), 0);
	slob_ring_commit_spsc(&r);
	assert_int_equal(slob_ring_size(&r), 3);
	unsigned char o[3];
	assert_true(slob_ring_pop_spsc(&r, o));
	assert_memory_equal(o, "aaa", 3);
	assert_true(slob_ring_push_spsc(&r, "xyz"));
	assert_false(slob_ring_push_spsc(&r, "xyz"));
	unsigned char all[9];
	assert_int_equal(slob_ring_pop_batch_spsc(&r, all, 5), 3);
	assert_memory_equal(all, "bbbcccxyz", 9);
	slob_ring_destroy(&r);
	/* destroying twice (or a zeroed ring) is harmless */
	slob_ring_destroy(&r);
	slob_ring_t z;
	memset(&z, 0, sizeof(z));
	slob_ring_destroy(&z);
}

/* Storage is cache-line aligned and the two indices sit on separate lines. */
static void test_layout(void **state)
{
	slob_ring_t r;
	assert_int_equal(slob_ring_init(&r, "lay", 64, 40), 0);
	assert_int_equal((uintptr_t)r.slots % SLOB_CACHELINE, 0);
	uintptr_t c = (uintptr_t)&r.ck.c_head, p = (uintptr_t)&r.ck.p_tail;
	assert_true(p / SLOB_CACHELINE != c / SLOB_CACHELINE);
	uintptr_t pc = (uintptr_t)&r.p_cached_c_head, cc = (uintptr_t)&r.c_cached_p_tail;
	assert_true(pc / SLOB_CACHELINE != cc / SLOB_CACHELINE);
	assert_true(pc / SLOB_CACHELINE != c / SLOB_CACHELINE);
	assert_true(cc / SLOB_CACHELINE != p / SLOB_CACHELINE);
	assert_string_equal(r.name, "lay");
	slob_ring_destroy(&r);
	/* too large is refused with a message, not a crash */
	assert_int_equal(slob_ring_init(&r, "huge", 1u << 31, 64), -EINVAL);
	assert_non_null(strstr(slob_ring_strerror(), "too large"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rejects_bad_args),
	    cmocka_unit_test(test_full_empty_edges),
	    cmocka_unit_test(test_wraparound_and_batches),
	    cmocka_unit_test(test_reserve_commit_peek),
	    cmocka_unit_test(test_batch_boundaries),
	    cmocka_unit_test(test_index_overflow),
	    cmocka_unit_test(test_reserve_until_full_odd_size),
	    cmocka_unit_test(test_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
