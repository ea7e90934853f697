/* SPDX-License-Identifier: MIT */
/*
 * lock.h: single-instance lock on a data directory. An advisory fcntl lock on
 * <dir>/slobd.lock, holding the owner's pid as text. The kernel drops the
 * lock when the process dies (kill -9 included), so a stale file never blocks
 * a restart. Replaces the incident guide's "database is locked" diagnosis.
 */
#ifndef SLOB_LOCK_H
#define SLOB_LOCK_H

#include <stddef.h>
#include <sys/types.h>

/*
 * slob_lock_acquire - takes the lock for `dir`. On success returns the lock
 * fd (>= 0; keep it open for the life of the process). If another process
 * holds it returns -EBUSY and writes "another slobd (pid N) holds <dir>" to
 * err. Other failures: -errno with a message naming the path.
 */
int slob_lock_acquire(const char *dir, char *err, size_t errlen);

/* Returns the pid holding the lock on dir, 0 if none, or -errno. */
pid_t slob_lock_holder(const char *dir);

void slob_lock_release(int fd);

#endif /* SLOB_LOCK_H */
