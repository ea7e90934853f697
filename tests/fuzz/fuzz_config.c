/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c: the configuration path slobd takes at start-up, over
 * arbitrary bytes as the INI file: slob_config_load (inih plus the key table
 * and the value checks), then slob_pipeline_opts_from_config, which feeds
 * every section to its module's param_set and validate. The first input
 * byte chooses whether one "section.key=value" line (the bytes after the
 * first NUL) is also applied as --set. Invariants: no crash or sanitizer
 * report; a refusal always carries a message; a loaded configuration dumps.
 * The bytes reach the parser through a memfd, so no file is written.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int with_set = data[0] & 1;
	data++;
	size--;
	if (fd < 0) {
		fd = memfd_create("fuzz_config.ini", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	const uint8_t *nul = memchr(data, 0, size);
	size_t ilen = nul ? (size_t)(nul - data) : size;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, ilen, 0) != (ssize_t)ilen)
		abort();
	static struct slob_config cfg;
	char err[512] = "";
	slob_config_init(&cfg);
	int rc = slob_config_load(&cfg, path, err, sizeof(err));
	if (rc < 0 && !err[0])
		abort();
	if (rc == 0 && with_set && nul) {
		size_t slen = size - ilen - 1;
		char *set = malloc(slen + 1);
		memcpy(set, nul + 1, slen);
		set[slen] = '\0';
		err[0] = '\0';
		if (slob_config_set(&cfg, set, err, sizeof(err)) < 0 && !err[0])
			abort();
		free(set);
	}
	if (rc == 0) {
		static struct slob_pipeline_opts po;
		err[0] = '\0';
		if (slob_pipeline_opts_from_config(&po, &cfg, err, sizeof(err)) < 0 && !err[0])
			abort();
		FILE *devnull = fopen("/dev/null", "w");
		if (devnull) {
			slob_config_dump(&cfg, devnull);
			fclose(devnull);
		}
	}
	slob_config_free(&cfg);
	return 0;
}
