/* SPDX-License-Identifier: MIT */
/*
 * jitter.c: the machine's scheduling / interrupt noise floor, measured the
 * way the well-known "sysjitter" tool does. One thread per CPU (default:
 * every online CPU the process may run on, all spinning at the same time),
 * each pinned with pthread_setaffinity_np, reads CLOCK_MONOTONIC (the vDSO,
 * slob_mono_ns()) in a tight loop for --seconds D; every gap of >= 1 us
 * between two consecutive reads is an interruption: the thread was not
 * running (timer tick, device interrupt, IPI, softirq, another task, the
 * hypervisor taking the vCPU away).
 *
 * Why: a hot thread spinning on a CPU without nohz_full still takes the
 * scheduler tick (CONFIG_HZ times a second: every 4.0 ms at 250 Hz), and
 * under a hypervisor each tick costs 10-25 us (a VM exit for the timer, the
 * tick work, a second exit to re-arm it). Nothing a hot path does can beat
 * that: it is the floor under any tail-latency figure (p99, p99.9 of
 * ring_bench, pipeline_bench, risk_bench...) measured on the machine. A
 * p99.9 of ~20 us next to 250 interruptions/s of ~20 us here is the tick,
 * not the code.
 *
 * Per CPU: run time; interruptions per bucket [1,2), [2,5), [5,10),
 * [10,20), [20,50), [50,100), [100,1000) us and >= 1 ms; the rate of those
 * >= 10 us per second; the fraction of the run lost in gaps >= 1 us and
 * >= 10 us; the longest gap; the median spacing between consecutive
 * interruptions >= 10 us (4.0 ms = a 250 Hz tick, 1.0 ms = 1000 Hz); and
 * the cost of one clock read (if it is near 1 us the clock is not read
 * through the vDSO and every read looks like an interruption).
 *
 * Before the run: the kernel's timer frequency (CONFIG_HZ from
 * /boot/config-$(uname -r), "unknown" if not there), the clock source, and
 * whether nohz_full= / isolcpus= are on the kernel command line.
 *
 * The statistics are kept exactly on the gap path (which only runs after
 * an interruption, so it costs the measurement nothing); every gap is also
 * logged (start, length) in an array allocated and pre-faulted before the
 * spin (10 000 entries per second of run, 64 Ki..4 Mi entries, 16 bytes
 * each); if it fills up, the spacing is computed over the logged part and
 * the output says so. The spin loop makes no allocation, printing or system
 * call. The threads run at normal priority, as the engine's hot stages do:
 * run it on an otherwise quiet machine, or it measures the other load.
 *
 * Usage: jitter [--seconds D (0 < D <= 600, default 5)] [--cpus A,B,...]
 *
 * The last line is key=value for scripts: jitter_cpus, the highest rate of
 * >= 10 us interruptions per second over the CPUs, the highest percentage
 * of time lost in gaps >= 10 us, and the longest gap in us.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ringbuf/compiler.h"

#define GAP_MIN_NS 1000	  /* an interruption: >= 1 us between two reads */
#define GAP_10US_NS 10000 /* the rate, lost time and spacing threshold */
#define MAX_SECONDS 600.0
#define LOG_PER_SECOND 10000.0
#define LOG_MIN 65536u
#define LOG_MAX (4u << 20)

/* bucket lower bounds in ns; bucket i counts gaps in [lo[i], lo[i + 1]) */
static const int64_t bucket_lo[] = {1000, 2000, 5000, 10000, 20000, 50000, 100000, 1000000};
static const char *const bucket_name[] = {">=1us",  ">=2us",  ">=5us",	 ">=10us",
					  ">=20us", ">=50us", ">=100us", ">=1ms"};
#define NBUCKETS ((int)SLOB_ARRAY_SIZE(bucket_lo))

struct gap {
	int64_t at;  /* ns from the start of the run to the read before the gap */
	int64_t len; /* ns */
};

struct job {
	int cpu;
	int64_t dur_ns;
	pthread_barrier_t *start;
	struct gap *log;
	uint32_t log_cap;
	/* results */
	int err;     /* pthread_setaffinity_np's error, 0 if pinned */
	int ran_on;  /* sched_getcpu() after pinning */
	int64_t run; /* ns between the first and the last read */
	uint64_t reads;
	uint64_t bucket[NBUCKETS];
	uint64_t n10;
	int64_t lost1, lost10, max;
	uint32_t nlog;
	uint64_t unlogged;
} SLOB_CACHE_ALIGNED;

static SLOB_NOINLINE void note_gap(struct job *j, int64_t at, int64_t g)
{
	int b = NBUCKETS - 1;
	while (b > 0 && g < bucket_lo[b])
		b--;
	j->bucket[b]++;
	j->lost1 += g;
	if (g >= GAP_10US_NS) {
		j->n10++;
		j->lost10 += g;
	}
	if (g > j->max)
		j->max = g;
	if (j->nlog < j->log_cap)
		j->log[j->nlog++] = (struct gap){at, g};
	else
		j->unlogged++;
}

static void *spin(void *arg)
{
	struct job *j = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(j->cpu, &set);
	j->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	j->ran_on = sched_getcpu();
	/* touch the log now (on this CPU), not on the first interruptions */
	slob_prefault(j->log, (unsigned long)j->log_cap * sizeof(struct gap));
	pthread_barrier_wait(j->start);
	if (j->err)
		return NULL;

	int64_t t0 = slob_mono_ns(), prev = t0, end = t0 + j->dur_ns;
	uint64_t n = 0;
	for (;;) {
		int64_t t = slob_mono_ns();
		n++;
		if (slob_unlikely(t - prev >= GAP_MIN_NS))
			note_gap(j, prev - t0, t - prev);
		prev = t;
		if (slob_unlikely(t >= end))
			break;
	}
	j->run = prev - t0;
	j->reads = n;
	return NULL;
}

/* ---- the machine -------------------------------------------------------- */

/* whole small file into buf (trailing newline removed); false if unreadable */
static bool read_small(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return true;
}

/* a Linux CPU list ("0-3,8,10-11") into set; false if malformed */
static bool parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s) {
		char *e;
		errno = 0;
		long a = strtol(s, &e, 10), b = a;
		if (e == s || errno || a < 0 || a >= CPU_SETSIZE)
			return false;
		s = e;
		if (*s == '-') {
			b = strtol(s + 1, &e, 10);
			if (e == s + 1 || errno || b < a || b >= CPU_SETSIZE)
				return false;
			s = e;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		if (*s == ',')
			s++;
		else if (*s)
			return false;
	}
	return true;
}

/* the online CPUs, and their list as text for messages */
static void online_cpus(cpu_set_t *set, char *text, size_t cap)
{
	if (read_small("/sys/devices/system/cpu/online", text, cap) && parse_cpulist(text, set) &&
	    CPU_COUNT(set) > 0)
		return;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > CPU_SETSIZE)
		n = CPU_SETSIZE;
	CPU_ZERO(set);
	for (long c = 0; c < n; c++)
		CPU_SET((int)c, set);
	snprintf(text, cap, "0-%ld", n - 1);
}

static void print_machine(void)
{
	struct utsname u;
	char path[400], line[256], buf[4096];
	bool have_release = uname(&u) == 0;
	char hz[64] = "";
	bool have_config = false;
	if (have_release) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		FILE *f = fopen(path, "r");
		if (f) {
			have_config = true;
			while (fgets(line, sizeof(line), f))
				if (strncmp(line, "CONFIG_HZ=", 10) == 0) {
					slob_strlcpy(hz, sizeof(hz), line + 10);
					hz[strcspn(hz, "\n")] = '\0';
					break;
				}
			fclose(f);
		}
	}
	if (hz[0])
		printf("kernel %s, timer frequency CONFIG_HZ=%s (%s)\n", u.release, hz, path);
	else if (have_release)
		printf("kernel %s, timer frequency unknown (%s %s%s)\n", u.release, path,
		       have_config ? "has no CONFIG_HZ line" : "not present",
		       access("/proc/config.gz", R_OK) == 0
			   ? "; try: zcat /proc/config.gz | grep CONFIG_HZ="
			   : "");
	else
		printf("kernel unknown, timer frequency unknown\n");

	if (read_small("/sys/devices/system/clocksource/clocksource0/current_clocksource", buf,
		       sizeof(buf)))
		printf("clock source: %s\n", buf);

	/* the kernel's own parameters end at a lone "--" (the rest goes to init) */
	bool nohz = false, isol = false;
	if (read_small("/proc/cmdline", buf, sizeof(buf))) {
		for (char *sv, *tok = strtok_r(buf, " \t\n", &sv); tok;
		     tok = strtok_r(NULL, " \t\n", &sv)) {
			if (strcmp(tok, "--") == 0)
				break;
			if (strncmp(tok, "nohz_full=", 10) == 0)
				nohz = true;
			if (strncmp(tok, "isolcpus=", 9) == 0)
				isol = true;
		}
		printf("kernel command line: nohz_full %s, isolcpus %s\n",
		       nohz ? "present" : "absent", isol ? "present" : "absent");
	} else {
		printf("kernel command line: unreadable (nohz_full / isolcpus unknown)\n");
	}
	if (read_small("/sys/devices/system/cpu/nohz_full", buf, sizeof(buf)) && buf[0] &&
	    strcmp(buf, "(null)") != 0)
		printf("nohz_full CPUs: %s\n", buf);
	if (read_small("/sys/devices/system/cpu/isolated", buf, sizeof(buf)) && buf[0])
		printf("isolated CPUs: %s\n", buf);
}

/* ---- main --------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* median spacing (ns) between consecutive logged gaps >= 10 us; -1 if < 2 */
static double median_spacing(const struct job *j)
{
	int64_t *d = malloc(((size_t)j->nlog + 1) * sizeof(int64_t));
	if (!d)
		return -1;
	size_t n = 0;
	int64_t last = -1;
	for (uint32_t i = 0; i < j->nlog; i++) {
		if (j->log[i].len < GAP_10US_NS)
			continue;
		if (last >= 0)
			d[n++] = j->log[i].at - last;
		last = j->log[i].at;
	}
	double m = -1;
	if (n > 0) {
		qsort(d, n, sizeof(int64_t), cmp_i64);
		m = n % 2 ? (double)d[n / 2] : ((double)d[n / 2 - 1] + (double)d[n / 2]) / 2;
	}
	free(d);
	return m;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: jitter [--seconds D (0 < D <= %.0f, default 5)] [--cpus A,B,...]\n",
		MAX_SECONDS);
}

int main(int argc, char **argv)
{
	double seconds = 5;
	cpu_set_t online, allowed, want;
	char online_text[1024];
	online_cpus(&online, online_text, sizeof(online_text));
	CPU_ZERO(&want);
	bool cpus_given = false;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(opt, "--seconds") != 0 && strcmp(opt, "--cpus") != 0) {
			fprintf(stderr, "jitter: unknown argument '%s'\n", opt);
			usage(stderr);
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "jitter: %s: missing value\n", opt);
			usage(stderr);
			return 2;
		}
		const char *v = argv[++i];
		if (strcmp(opt, "--seconds") == 0) {
			char *e;
			errno = 0;
			seconds = strtod(v, &e);
			if (e == v || *e || isnan(seconds)) {
				fprintf(stderr, "jitter: --seconds '%s': not a number\n", v);
				usage(stderr);
				return 2;
			}
			if (errno || seconds <= 0 || seconds > MAX_SECONDS) {
				fprintf(stderr, "jitter: --seconds %s: must be > 0 and <= %.0f\n",
					v, MAX_SECONDS);
				usage(stderr);
				return 2;
			}
			continue;
		}
		/* --cpus A,B,...: plain CPU numbers, each online, no repeats */
		cpus_given = true;
		CPU_ZERO(&want);
		const char *s = v;
		for (;;) {
			char *e;
			errno = 0;
			long c = isdigit((unsigned char)*s) ? strtol(s, &e, 10) : -1;
			if (c < 0 || errno || (*e != ',' && *e != '\0')) {
				fprintf(stderr,
					"jitter: --cpus '%s': expected CPU numbers separated by "
					"commas (online: %s)\n",
					v, online_text);
				usage(stderr);
				return 2;
			}
			if (c >= CPU_SETSIZE) {
				fprintf(stderr,
					"jitter: --cpus %s: CPU %ld is out of range (0..%d)\n", v,
					c, CPU_SETSIZE - 1);
				usage(stderr);
				return 2;
			}
			if (!CPU_ISSET((int)c, &online)) {
				fprintf(stderr,
					"jitter: --cpus %s: CPU %ld is not online (online: %s)\n",
					v, c, online_text);
				usage(stderr);
				return 2;
			}
			if (CPU_ISSET((int)c, &want)) {
				fprintf(stderr, "jitter: --cpus %s: CPU %ld given twice\n", v, c);
				usage(stderr);
				return 2;
			}
			CPU_SET((int)c, &want);
			if (*e == '\0')
				break;
			s = e + 1;
		}
	}

	/* default: every online CPU this process may run on (taskset, cgroups) */
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		allowed = online;
	if (!cpus_given) {
		CPU_AND(&want, &online, &allowed);
		if (CPU_COUNT(&want) == 0)
			want = online;
	} else {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &want) && !CPU_ISSET(c, &allowed)) {
				fprintf(
				    stderr,
				    "jitter: --cpus: CPU %d is online but not in this process's "
				    "affinity mask (taskset / cgroup cpuset?)\n",
				    c);
				return 2;
			}
	}

	int ncpu = CPU_COUNT(&want);
	uint32_t log_cap = (uint32_t)fmin(fmax(seconds * LOG_PER_SECOND, LOG_MIN), LOG_MAX);
	struct job *jobs = aligned_alloc(SLOB_CACHELINE, sizeof(struct job) * (size_t)ncpu);
	pthread_t *th = calloc((size_t)ncpu, sizeof(pthread_t));
	if (!jobs || !th) {
		fprintf(stderr, "jitter: out of memory\n");
		return 1;
	}
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)ncpu);
	int k = 0;
	for (int c = 0; c < CPU_SETSIZE && k < ncpu; c++) {
		if (!CPU_ISSET(c, &want))
			continue;
		struct job *j = &jobs[k++];
		memset(j, 0, sizeof(*j));
		j->cpu = c;
		j->dur_ns = (int64_t)(seconds * 1e9);
		j->start = &start;
		j->log_cap = log_cap;
		j->log = malloc((size_t)log_cap * sizeof(struct gap));
		if (!j->log) {
			fprintf(stderr,
				"jitter: cannot allocate the gap log (%u entries) for CPU %d\n",
				log_cap, c);
			return 1;
		}
	}

	printf("jitter: %d thread%s spinning at once on CPU%s", ncpu, ncpu == 1 ? "" : "s",
	       ncpu == 1 ? "" : "s");
	for (int i = 0; i < ncpu; i++)
		printf("%s%d", i ? "," : " ", jobs[i].cpu);
	printf(" (online: %s) for %.3g s, reading CLOCK_MONOTONIC; interruption = gap >= 1 us "
	       "between two reads; gap log %u entries per CPU\n",
	       online_text, seconds, log_cap);
	print_machine();
	fflush(stdout);

	for (int i = 0; i < ncpu; i++) {
		int rc = pthread_create(&th[i], NULL, spin, &jobs[i]);
		if (rc) {
			fprintf(stderr, "jitter: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	for (int i = 0; i < ncpu; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);

	for (int i = 0; i < ncpu; i++)
		if (jobs[i].err) {
			fprintf(stderr, "jitter: cannot pin a thread to CPU %d: %s\n", jobs[i].cpu,
				strerror(jobs[i].err));
			return 1;
		}

	printf("\n%4s %7s", "cpu", "run_s");
	for (int b = 0; b < NBUCKETS; b++)
		printf(" %7s", bucket_name[b]);
	printf(" %9s %8s %8s %9s %10s %8s\n", ">=10us/s", "lost1%", "lost10%", "max_us",
	       "spacing_ms", "read_ns");
	double worst_rate = 0, worst_lost10 = 0, worst_max = 0;
	bool overflow = false, moved = false;
	for (int i = 0; i < ncpu; i++) {
		struct job *j = &jobs[i];
		double run_s = (double)j->run * 1e-9;
		double rate = run_s > 0 ? (double)j->n10 / run_s : 0;
		double lost1 = j->run > 0 ? 100.0 * (double)j->lost1 / (double)j->run : 0;
		double lost10 = j->run > 0 ? 100.0 * (double)j->lost10 / (double)j->run : 0;
		double max_us = (double)j->max * 1e-3;
		double sp = median_spacing(j);
		printf("%4d %7.3f", j->cpu, run_s);
		for (int b = 0; b < NBUCKETS; b++)
			printf(" %7llu", (unsigned long long)j->bucket[b]);
		printf(" %9.1f %8.3f %8.3f %9.1f", rate, lost1, lost10, max_us);
		if (sp >= 0)
			printf(" %10.3f", sp * 1e-6);
		else
			printf(" %10s", "-");
		printf(" %8.1f%s%s\n", j->reads ? (double)j->run / (double)j->reads : 0.0,
		       j->unlogged ? " (log full)" : "",
		       j->ran_on != j->cpu ? " (not pinned?)" : "");
		overflow |= j->unlogged != 0;
		moved |= j->ran_on != j->cpu;
		worst_rate = fmax(worst_rate, rate);
		worst_lost10 = fmax(worst_lost10, lost10);
		worst_max = fmax(worst_max, max_us);
	}
	printf("buckets count gaps in [threshold, next threshold); lost = share of the run spent "
	       "in gaps >= 1 / >= 10 us; spacing = median time between consecutive gaps >= 10 us "
	       "(4.000 = 250 Hz tick); read_ns = run / clock reads\n");
	if (overflow)
		printf("note: a gap log filled up (%u entries): spacing is over the logged gaps "
		       "only; counts, lost time and max are exact\n",
		       log_cap);
	if (moved)
		printf("note: a thread reported another CPU than its own after pinning\n");
	printf("jitter_cpus=%d jitter_rate_10us_per_s=%.0f jitter_lost_10us_pct=%.3f "
	       "jitter_max_us=%.1f\n",
	       ncpu, worst_rate, worst_lost10, worst_max);
	for (int i = 0; i < ncpu; i++)
		free(jobs[i].log);
	free(jobs);
	free(th);
	return 0;
}
