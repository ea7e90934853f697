/* SPDX-License-Identifier: MIT */
/* test_ring.c: unit tests of the SPSC ring (single thread: edges and batches). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ringbuf/ring.h"

struct rec16 { uint64_t a, b; };
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_args),
		cmocka_unit_test(test_full_empty_edges),
		cmocka_unit_test(test_wraparound_and_batches),
		cmocka_unit_test(test_reserve_commit_peek),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
