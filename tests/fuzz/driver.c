/* SPDX-License-Identifier: MIT */
/*
 * driver.c: stand-in for libFuzzer in ordinary (gcc) builds, so every fuzz
 * target also runs as a short test under ctest and the ASan+UBSan build:
 *   fuzz_<x> [corpus-dir|file ...]
 * It feeds every corpus file to LLVMFuzzerTestOneInput, then runs seeded
 * random mutations (bit flips, byte changes, truncation, splicing, inserted
 * NULs and digits) of the corpus entries for SLOB_FUZZ_SECONDS (default 10)
 * seconds. A crash or sanitizer report fails the test. Real coverage-guided
 * fuzzing: configure with -DSLOB_FUZZ=ON -DCMAKE_C_COMPILER=clang.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUTS 4096
#define MAX_LEN (1 << 20)

static uint8_t *inputs[MAX_INPUTS];
static size_t lens[MAX_INPUTS];
static unsigned ninputs;

static void load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f || ninputs >= MAX_INPUTS) {
		if (f)
			fclose(f);
		return;
	}
	uint8_t *buf = malloc(MAX_LEN);
	size_t n = fread(buf, 1, MAX_LEN, f);
	fclose(f);
	inputs[ninputs] = buf;
	lens[ninputs++] = n;
}

static void load(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		load_file(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		load_file(p);
	}
	if (d)
		closedir(d);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		load(argv[i]);
	for (unsigned i = 0; i < ninputs; i++)
		LLVMFuzzerTestOneInput(inputs[i], lens[i]);
	const char *s = getenv("SLOB_FUZZ_SECONDS");
	double seconds = s ? atof(s) : 10.0;
	static uint8_t buf[MAX_LEN];
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long runs = 0;
	static const uint8_t interesting[] = {0, '\n', ',', '-', '9', '.', 0xff, ' ', 'E'};
	for (;;) {
		if ((runs & 255) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
				break;
		}
		size_t n = 0;
		if (ninputs) {
			unsigned k = next() % ninputs;
			n = lens[k] > 65536 ? 65536 : lens[k];
			memcpy(buf, inputs[k], n);
		}
		unsigned muts = 1 + next() % 8;
		for (unsigned m = 0; m < muts; m++) {
			switch (next() % 6) {
			case 0: if (n) buf[next() % n] ^= (uint8_t)(1u << (next() % 8)); break;
			case 1: if (n) buf[next() % n] = (uint8_t)next(); break;
			case 2: if (n) n = next() % n; break;
			case 3: if (n < 65536) buf[n++] = interesting[next() % sizeof(interesting)]; break;
			case 4: if (n && ninputs) { /* splice */
				unsigned k = next() % ninputs;
				size_t at = next() % n, take = lens[k] ? next() % lens[k] : 0;
				if (at + take > 65536) take = 65536 - at;
				memcpy(buf + at, inputs[k], take);
				if (at + take > n) n = at + take;
				} break;
			case 5: if (n) buf[next() % n] = interesting[next() % sizeof(interesting)]; break;
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
		runs++;
	}
	printf("fuzz: %u corpus inputs, %lu mutated runs, no crash\n", ninputs, runs);
	for (unsigned i = 0; i < ninputs; i++)
		free(inputs[i]);
	return 0;
}
