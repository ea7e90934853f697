/* SPDX-License-Identifier: MIT */
/*
 * secrets.c: permission check for secret-bearing files (see secrets.h).
 */
#include "persist/secrets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int slob_secret_file_check(const char *path, char *warn, size_t len)
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		int e = errno;
		snprintf(warn, len, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(warn, len, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(warn, len,
			 "%s holds secrets but has mode %04o (group/others can access it): run "
			 "chmod 600 %s",
			 path, (unsigned)(sb.st_mode & 07777), path);
		return 1;
	}
	if (warn && len)
		warn[0] = 0;
	return 0;
}
