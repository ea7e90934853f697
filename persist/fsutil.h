/* SPDX-License-Identifier: MIT */
/*
 * fsutil.h: small filesystem helpers shared by the persist modules. The
 * store (database directory) and the log (log file directories) both create
 * a directory with its missing parents; one copy so both do it the same way
 * (mode 0755, an existing directory is fine).
 */
#ifndef SLOB_PERSIST_FSUTIL_H
#define SLOB_PERSIST_FSUTIL_H

/*
 * slob_fs_mkdir_p: creates dir and every missing parent ("mkdir -p"), mode
 * 0755; components that already exist are fine.
 * Returns 0, -ENAMETOOLONG if dir does not fit PATH_MAX, or -errno of the
 * first mkdir that failed. Any thread; blocks on the filesystem.
 */
int slob_fs_mkdir_p(const char *dir);

#endif /* SLOB_PERSIST_FSUTIL_H */
