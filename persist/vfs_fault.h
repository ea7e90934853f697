/* SPDX-License-Identifier: MIT */
/*
 * vfs_fault.h: fault-injecting SQLite VFS shim for tests and benchmarks
 * (slow disk: sleeps in xWrite/xSync; full/broken disk: writes fail with a
 * chosen SQLite code). Never used by slobd.
 */
#ifndef SLOB_VFS_FAULT_H
#define SLOB_VFS_FAULT_H

#include <stdbool.h>

#define SLOB_VFS_FAULT_NAME "slob-fault"

/* Registers the shim over the current default VFS; make_default: every later
 * sqlite3_open uses it. Returns 0 or -errno. Call before opening databases. */
int slob_vfs_fault_register(bool make_default);

/* Sets the knobs (any thread): delays in microseconds per xWrite / xSync call,
 * fail = 0 (pass through) or a SQLite code returned by xWrite/xSync
 * (SQLITE_FULL, SQLITE_IOERR ...). */
void slob_vfs_fault_set(int write_delay_us, int sync_delay_us, int fail);

/* Calls seen so far (any argument may be NULL). */
void slob_vfs_fault_stats(long long *writes, long long *syncs, long long *failed);

#endif /* SLOB_VFS_FAULT_H */
