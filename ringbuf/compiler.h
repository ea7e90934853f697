/* SPDX-License-Identifier: MIT */
/*
 * compiler.h: the one header of compiler helpers. Modules use these macros
 * instead of sprinkling __attribute__ themselves (STYLE.md).
 */
#ifndef SLOB_COMPILER_H
#define SLOB_COMPILER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define SLOB_CACHELINE 64

#define slob_likely(x)   __builtin_expect(!!(x), 1)
#define slob_unlikely(x) __builtin_expect(!!(x), 0)
#define SLOB_ALIGNED(n)  __attribute__((aligned(n)))
#define SLOB_CACHE_ALIGNED SLOB_ALIGNED(SLOB_CACHELINE)
#define SLOB_UNUSED      __attribute__((unused))
#define SLOB_INLINE      static inline __attribute__((always_inline))
#define SLOB_NOINLINE    __attribute__((noinline))
#define SLOB_COLD        __attribute__((cold))
#define SLOB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SLOB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SLOB_STATIC_ASSERT(c, msg) _Static_assert(c, msg)

/* CPU relax hint for spin loops. */
static inline void slob_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * slob_spin_idle - what a spinning consumer does after finding its input
 * empty (engine/stage.c's spin strategy, ring_bench's consumers): a few
 * pause instructions (~25 ns each on Zen 3) before polling again. Polling
 * the producer's index in a tight loop pulls its cache line back after
 * every record, so each record costs two cross-core transfers; backing
 * off lets the producer publish several records per transfer.
 */
#define SLOB_SPIN_IDLE_PAUSES 8
static inline void slob_spin_idle(void)
{
	for (int i = 0; i < SLOB_SPIN_IDLE_PAUSES; i++)
		slob_cpu_relax();
}

/*
 * slob_prefault - writes one byte per page of [p, p + n) at start-up, so a
 * table that calloc() got from fresh zero pages is really mapped before the
 * hot path first touches it: otherwise the first write to each page takes a
 * page fault (several microseconds under a hypervisor) in the middle of a
 * decision. Accepts NULL.
 */
static inline void slob_prefault(void *p, unsigned long n)
{
	volatile unsigned char *b = (volatile unsigned char *)p;
	if (p == (void *)0 || n == 0)
		return;
	for (unsigned long i = 0; i < n; i += 4096)
		b[i] = b[i];
	b[n - 1] = b[n - 1];
}

/* CLOCK_MONOTONIC in ns: a vDSO call, no system call, fine on the hot path. */
static inline int64_t slob_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* strlcpy: copies at most cap - 1 bytes and terminates (cap >= 1); no printf
 * on paths whose code would be cold by the time they run. */
static inline void slob_strlcpy(char *dst, size_t cap, const char *src)
{
	/* a byte loop, not strnlen(src, cap - 1): once inlined, gcc checks that
	 * bound against the size of a literal src and refuses the build */
	size_t n = 0;
	for (; n + 1 < cap && src[n] != '\0'; n++)
		dst[n] = src[n];
	dst[n] = '\0';
}

static inline int slob_is_pow2(unsigned long v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

#endif /* SLOB_COMPILER_H */
