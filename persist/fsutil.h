/* SPDX-License-Identifier: MIT */
/*
 * fsutil.h: small filesystem helpers shared by the persist modules and the
 * tools. The store (database directory) and the log (log file directories)
 * both create a directory with its missing parents; one copy so both do it
 * the same way (mode 0755, an existing directory is fine). Every file a user
 * names as an output (slob-data, slob-gen, the tick writers, slobd sweep's
 * CSV) is written through struct slob_fs_out, so it appears whole or not at
 * all.
 */
#ifndef SLOB_PERSIST_FSUTIL_H
#define SLOB_PERSIST_FSUTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * slob_fs_mkdir_p: creates dir and every missing parent ("mkdir -p"), mode
 * 0755; components that already exist are fine.
 * Returns 0, -ENAMETOOLONG if dir does not fit PATH_MAX, or -errno of the
 * first mkdir that failed. Any thread; blocks on the filesystem.
 */
int slob_fs_mkdir_p(const char *dir);

/*
 * slob_fs_out: an output file written atomically. Guarantees:
 *  1. Until slob_fs_out_commit() returns 0 the destination is untouched: the
 *     bytes go to a temporary file ".<name>.XXXXXX" in the destination's own
 *     directory (so the final rename cannot cross filesystems).
 *  2. Commit flushes the stream (if any), fsyncs the file, renames it over
 *     the destination and fsyncs the directory: after a crash the reader
 *     finds the old file or the whole new one, never a prefix.
 *  3. Any failure (write, fsync, rename) and slob_fs_out_abort() remove the
 *     temporary file: a failed run leaves no output at all.
 *  4. A destination that is a symbolic link is resolved first, so the file
 *     it points to is replaced and the link stays.
 *  5. Inputs are compared by identity (st_dev, st_ino), not by name: the same
 *     file reached through a symlink, a hard link or "./x" is refused before
 *     anything is created.
 * Not for the hot path: every call blocks on the filesystem.
 */
struct slob_fs_out {
	int fd;               /* write here, or through f after slob_fs_out_stream */
	FILE *f;
	char path[PATH_MAX];  /* destination, symlinks resolved */
	char tmp[PATH_MAX];   /* the temporary file; "" once committed or aborted */
};

/*
 * slob_fs_same_file: 1 if a and b name the same file (st_dev and st_ino after
 * following symlinks), 0 if not or if either does not exist.
 */
int slob_fs_same_file(const char *a, const char *b);

/*
 * slob_fs_check_distinct: refuses an output that is one of the inputs
 * (NULL-terminated list; NULL or "-" entries are skipped). Returns 0, or
 * -EINVAL with "OUT is the same file as the input IN; refusing to overwrite
 * it" in err.
 */
int slob_fs_check_distinct(const char *out, const char *const *inputs, char *err, size_t errlen);

/*
 * slob_fs_out_open: checks out against inputs (may be NULL, see
 * slob_fs_check_distinct) and creates the temporary file with mode (umask
 * applies). Returns 0 with o->fd open, or -errno with a message naming the
 * path in err (nothing created).
 */
int slob_fs_out_open(struct slob_fs_out *o, const char *out, mode_t mode,
		     const char *const *inputs, char *err, size_t errlen);

/* slob_fs_out_stream: a stdio stream over o->fd (closed by commit/abort); NULL on ENOMEM. */
FILE *slob_fs_out_stream(struct slob_fs_out *o);

/*
 * slob_fs_out_commit: guarantee 2. Returns 0, or -errno with err naming the
 * path; on failure the temporary file is removed (guarantee 3) and the
 * destination is as it was.
 */
int slob_fs_out_commit(struct slob_fs_out *o, char *err, size_t errlen);

/* slob_fs_out_abort: closes and removes the temporary file; safe to call twice. */
void slob_fs_out_abort(struct slob_fs_out *o);

#endif /* SLOB_PERSIST_FSUTIL_H */
