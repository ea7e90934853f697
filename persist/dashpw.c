/* SPDX-License-Identifier: MIT */
/*
 * dashpw.c: reads and writes the dashboard password file (format in
 * dashpw.h). Argon2id through libsodium; the file is written atomically so a
 * crash mid-write never leaves slob-dash without a usable hash.
 */
#include "persist/dashpw.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int dashpw_sodium_init(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium initialisation failed");
		return -EIO;
	}
	return 0;
}

int slob_dashpw_hash(const char *password, char *out, char *err, size_t errlen)
{
	int rc = dashpw_sodium_init(err, errlen);
	if (rc < 0)
		return rc;
	size_t len = strlen(password);
	if (len < SLOB_DASHPW_MIN_LEN) {
		snprintf(err, errlen, "dashboard password too short: %zu characters, at least %d",
			 len, SLOB_DASHPW_MIN_LEN);
		return -EINVAL;
	}
	if (len > SLOB_DASHPW_MAX_LEN) {
		snprintf(err, errlen, "dashboard password too long: more than %d bytes",
			 SLOB_DASHPW_MAX_LEN);
		return -EINVAL;
	}
	_Static_assert(crypto_pwhash_STRBYTES <= SLOB_DASHPW_HASH_MAX, "hash buffer");
	if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, errlen, "crypto_pwhash_str: out of memory");
		return -ENOMEM;
	}
	return 0;
}

int slob_dashpw_write(const char *path, const char *password, char *err, size_t errlen)
{
	char hash[SLOB_DASHPW_HASH_MAX];
	char tmp[PATH_MAX];
	int rc = slob_dashpw_hash(password, hash, err, errlen);
	if (rc < 0)
		return rc;
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return rc;
	}
	size_t n = strlen(hash);
	hash[n++] = '\n';
	if (write(fd, hash, n) != (ssize_t)n || fsync(fd) != 0) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		goto fail_fd;
	}
	if (close(fd) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail_tmp;
	}
	if (rename(tmp, path) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail_tmp;
	}
	sodium_memzero(hash, sizeof hash);
	return 0;
fail_fd:
	close(fd);
fail_tmp:
	unlink(tmp);
	sodium_memzero(hash, sizeof hash);
	return rc;
}

int slob_dashpw_check_hash(const char *hash, char *err, size_t errlen)
{
	size_t n = strnlen(hash, SLOB_DASHPW_HASH_MAX);
	if (n == 0 || n >= SLOB_DASHPW_HASH_MAX) {
		snprintf(err, errlen, "password hash is empty or too long (%zu bytes)", n);
		return -EINVAL;
	}
	if (strncmp(hash, crypto_pwhash_STRPREFIX, strlen(crypto_pwhash_STRPREFIX)) != 0 &&
	    strncmp(hash, "$argon2i$", 9) != 0) {
		snprintf(err, errlen,
			 "password hash does not start with \"%s\": not a crypto_pwhash_str string",
			 crypto_pwhash_STRPREFIX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)hash[i];
		if (c <= ' ' || c >= 0x7f) {
			snprintf(err, errlen, "password hash has a bad character at offset %zu", i);
			return -EINVAL;
		}
	}
	return 0;
}

int slob_dashpw_read(const char *path, char *hash, size_t hashlen, char *err, size_t errlen)
{
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: mode %03o lets group/other access the password hash; "
			 "run chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
		rc = -EPERM;
		goto out;
	}
	char buf[SLOB_DASHPW_HASH_MAX + 2];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (memchr(buf, '\n', (size_t)n) != NULL) {
		snprintf(err, errlen, "%s: more than one line; expected one crypto_pwhash_str string", path);
		rc = -EINVAL;
		goto out;
	}
	char why[160];
	if (slob_dashpw_check_hash(buf, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s:1: %s", path, why);
		rc = -EINVAL;
		goto out;
	}
	if ((size_t)n >= hashlen) {
		snprintf(err, errlen, "%s: hash buffer too small", path);
		rc = -ENOBUFS;
		goto out;
	}
	memcpy(hash, buf, (size_t)n + 1);
	rc = 0;
out:
	close(fd);
	return rc;
}

int slob_dashpw_verify(const char *hash, const char *password, size_t len)
{
	char err[160];
	if (dashpw_sodium_init(err, sizeof err) < 0)
		return -EINVAL;
	if (slob_dashpw_check_hash(hash, err, sizeof err) < 0)
		return -EINVAL;
	return crypto_pwhash_str_verify(hash, password, len) == 0 ? 0 : -EACCES;
}
