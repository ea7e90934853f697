/* SPDX-License-Identifier: MIT */
/*
 * fsutil.c: filesystem helpers shared by the persist modules and the tools
 * (see fsutil.h): "mkdir -p" for the store's and the log's directories, and
 * atomic output files (temporary file, fsync, rename).
 */
#define _GNU_SOURCE /* mkostemp */
#include "persist/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int slob_fs_mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int slob_fs_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int slob_fs_check_distinct(const char *out, const char *const *inputs, char *err, size_t errlen)
{
	for (size_t i = 0; inputs && inputs[i]; i++) {
		if (!strcmp(inputs[i], "-") || !slob_fs_same_file(out, inputs[i]))
			continue;
		snprintf(err, errlen, "%s is the same file as the input %s; refusing to overwrite it",
			 out, inputs[i]);
		return -EINVAL;
	}
	return 0;
}

static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int slob_fs_out_open(struct slob_fs_out *o, const char *out, mode_t mode,
		     const char *const *inputs, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	int rc = slob_fs_check_distinct(out, inputs, err, errlen);
	if (rc < 0)
		return rc;
	struct stat st;
	/* guarantee 4: replace what a symlink points to, not the link */
	if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (!realpath(out, o->path)) {
			rc = -errno;
			snprintf(err, errlen, "%s: cannot resolve the link: %s", out, strerror(errno));
			return rc;
		}
	} else if (snprintf(o->path, sizeof(o->path), "%s", out) >= (int)sizeof(o->path)) {
		snprintf(err, errlen, "%s: path too long", out);
		return -ENAMETOOLONG;
	}
	if (stat(o->path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", out);
		return -EISDIR;
	}
	const char *slash = strrchr(o->path, '/');
	int dlen = slash ? (int)(slash - o->path + 1) : 0;
	if (snprintf(o->tmp, sizeof(o->tmp), "%.*s.%s.XXXXXX", dlen, o->path,
		     slash ? slash + 1 : o->path) >= (int)sizeof(o->tmp)) {
		o->tmp[0] = '\0';
		snprintf(err, errlen, "%s: path too long", out);
		return -ENAMETOOLONG;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot create a file in its directory: %s", out,
			 strerror(errno));
		o->tmp[0] = '\0';
		return rc;
	}
	/* mkostemp makes 0600; give the file the mode a plain open() would */
	mode_t um = umask(0);
	umask(um);
	(void)fchmod(o->fd, mode & ~um);
	return 0;
}

FILE *slob_fs_out_stream(struct slob_fs_out *o)
{
	if (!o->f)
		o->f = fdopen(o->fd, "w");
	return o->f;
}

void slob_fs_out_abort(struct slob_fs_out *o)
{
	if (o->f)
		fclose(o->f);
	else if (o->fd >= 0)
		close(o->fd);
	o->f = NULL;
	o->fd = -1;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = '\0';
}

int slob_fs_out_commit(struct slob_fs_out *o, char *err, size_t errlen)
{
	int rc = 0;
	if (!o->tmp[0]) {
		snprintf(err, errlen, "%s: output already closed", o->path);
		return -EBADF;
	}
	if (o->f && (fflush(o->f) != 0 || ferror(o->f)))
		rc = errno ? -errno : -EIO;
	if (!rc && fsync(o->fd) < 0)
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "%s: write: %s", o->path, strerror(-rc));
		slob_fs_out_abort(o);
		return rc;
	}
	int cr = o->f ? fclose(o->f) : close(o->fd);
	o->f = NULL;
	o->fd = -1;
	if (cr != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: close: %s", o->path, strerror(errno));
		slob_fs_out_abort(o);
		return rc;
	}
	if (rename(o->tmp, o->path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: rename: %s", o->path, strerror(errno));
		slob_fs_out_abort(o);
		return rc;
	}
	o->tmp[0] = '\0';
	fsync_dir_of(o->path);
	return 0;
}
