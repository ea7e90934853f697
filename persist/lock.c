/* SPDX-License-Identifier: MIT */
/* lock.c: single-instance lock on the data directory (see lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "persist/lock.h"

static int lock_path(const char *dir, char *path, size_t len)
{
	int n = snprintf(path, len, "%s/slobd.lock", dir);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

pid_t slob_lock_holder(const char *dir)
{
	char path[PATH_MAX];
	if (lock_path(dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	pid_t pid = 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		pid = fl.l_pid;
	close(fd);
	return pid;
}

int slob_lock_acquire(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	if (lock_path(dir, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "data directory path too long: %s", dir);
		return -ENAMETOOLONG;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EACCES || e == EAGAIN) {
			struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
			long pid = fcntl(fd, F_GETLK, &q) == 0 ? (long)q.l_pid : -1;
			snprintf(err, errlen, "another slobd (pid %ld) holds %s", pid, dir);
			close(fd);
			return -EBUSY;
		}
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		/* the lock holds even if the pid text could not be written */
	}
	return fd;
}

void slob_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
