/* SPDX-License-Identifier: MIT */
/*
 * vfs_fault.c: a SQLite VFS shim over the default VFS for tests and the
 * benchmark: it sleeps in xWrite / xSync (a slow disk) and can fail writes
 * with SQLITE_FULL or SQLITE_IOERR (a full or broken disk), so the cold
 * writer's slow-disk and full-disk paths are exercised without root.
 *
 * The knobs are process-wide atomics (a test fixture, not engine state):
 * set them from any thread; the SQLite thread reads them on every call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "persist/vfs_fault.h"

static struct {
	int write_delay_us;
	int sync_delay_us;
	int fail; /* 0, SQLITE_FULL, SQLITE_IOERR ... */
	long long writes, syncs, failed;
} knobs;

struct fault_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
};

static sqlite3_vfs fault_vfs;
static sqlite3_io_methods fault_io;

static void nap(int us)
{
	if (us <= 0)
		return;
	struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#define REAL(f) (((struct fault_file *)(f))->real)

static int f_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
	return rc;
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	__atomic_add_fetch(&knobs.writes, 1, __ATOMIC_RELAXED);
	nap(__atomic_load_n(&knobs.write_delay_us, __ATOMIC_RELAXED));
	int fail = __atomic_load_n(&knobs.fail, __ATOMIC_ACQUIRE);
	if (fail) {
		__atomic_add_fetch(&knobs.failed, 1, __ATOMIC_RELAXED);
		return fail;
	}
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
	__atomic_add_fetch(&knobs.syncs, 1, __ATOMIC_RELAXED);
	nap(__atomic_load_n(&knobs.sync_delay_us, __ATOMIC_RELAXED));
	int fail = __atomic_load_n(&knobs.fail, __ATOMIC_ACQUIRE);
	if (fail) {
		__atomic_add_fetch(&knobs.failed, 1, __ATOMIC_RELAXED);
		return fail == SQLITE_FULL ? SQLITE_IOERR_FSYNC : fail;
	}
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int f_check(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shmmap(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}
static int f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *outflags)
{
	sqlite3_vfs *root = vfs->pAppData;
	struct fault_file *ff = (struct fault_file *)file;
	ff->real = (sqlite3_file *)(ff + 1);
	int rc = root->xOpen(root, name, ff->real, flags, outflags);
	ff->base.pMethods = rc == SQLITE_OK ? &fault_io : NULL;
	return rc;
}

#define FWD(ret, fn, args, call)                                                                   \
	static ret v_##fn args                                                                     \
	{                                                                                          \
		sqlite3_vfs *root = vfs->pAppData;                                                 \
		return root->fn call;                                                              \
	}
FWD(int, xDelete, (sqlite3_vfs * vfs, const char *n, int s), (root, n, s))
FWD(int, xAccess, (sqlite3_vfs * vfs, const char *n, int f, int *o), (root, n, f, o))
FWD(int, xFullPathname, (sqlite3_vfs * vfs, const char *n, int l, char *o), (root, n, l, o))
FWD(void *, xDlOpen, (sqlite3_vfs * vfs, const char *n), (root, n))
FWD(int, xRandomness, (sqlite3_vfs * vfs, int n, char *o), (root, n, o))
FWD(int, xSleep, (sqlite3_vfs * vfs, int us), (root, us))
FWD(int, xCurrentTime, (sqlite3_vfs * vfs, double *t), (root, t))
FWD(int, xGetLastError, (sqlite3_vfs * vfs, int n, char *b), (root, n, b))
FWD(int, xCurrentTimeInt64, (sqlite3_vfs * vfs, sqlite3_int64 *t), (root, t))
static void v_xDlError(sqlite3_vfs *vfs, int n, char *b)
{
	sqlite3_vfs *root = vfs->pAppData;
	root->xDlError(root, n, b);
}
static void (*v_xDlSym(sqlite3_vfs *vfs, void *h, const char *s))(void)
{
	sqlite3_vfs *root = vfs->pAppData;
	return root->xDlSym(root, h, s);
}
static void v_xDlClose(sqlite3_vfs *vfs, void *h)
{
	sqlite3_vfs *root = vfs->pAppData;
	root->xDlClose(root, h);
}

int slob_vfs_fault_register(bool make_default)
{
	static int registered;
	if (__atomic_load_n(&registered, __ATOMIC_ACQUIRE))
		return make_default ? sqlite3_vfs_register(&fault_vfs, 1) : 0;
	sqlite3_vfs *root = sqlite3_vfs_find(NULL);
	if (!root)
		return -ENOENT;
	fault_io = (sqlite3_io_methods){
	    .iVersion = 3,
	    .xClose = f_close,
	    .xRead = f_read,
	    .xWrite = f_write,
	    .xTruncate = f_truncate,
	    .xSync = f_sync,
	    .xFileSize = f_size,
	    .xLock = f_lock,
	    .xUnlock = f_unlock,
	    .xCheckReservedLock = f_check,
	    .xFileControl = f_fcntl,
	    .xSectorSize = f_sector,
	    .xDeviceCharacteristics = f_devchar,
	    .xShmMap = f_shmmap,
	    .xShmLock = f_shmlock,
	    .xShmBarrier = f_shmbarrier,
	    .xShmUnmap = f_shmunmap,
	    .xFetch = f_fetch,
	    .xUnfetch = f_unfetch,
	};
	fault_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(struct fault_file) + root->szOsFile,
	    .mxPathname = root->mxPathname,
	    .zName = SLOB_VFS_FAULT_NAME,
	    .pAppData = root,
	    .xOpen = v_open,
	    .xDelete = v_xDelete,
	    .xAccess = v_xAccess,
	    .xFullPathname = v_xFullPathname,
	    .xDlOpen = v_xDlOpen,
	    .xDlError = v_xDlError,
	    .xDlSym = v_xDlSym,
	    .xDlClose = v_xDlClose,
	    .xRandomness = v_xRandomness,
	    .xSleep = v_xSleep,
	    .xCurrentTime = v_xCurrentTime,
	    .xGetLastError = v_xGetLastError,
	    .xCurrentTimeInt64 = v_xCurrentTimeInt64,
	};
	int rc = sqlite3_vfs_register(&fault_vfs, make_default);
	if (rc != SQLITE_OK)
		return -EPROTO;
	__atomic_store_n(&registered, 1, __ATOMIC_RELEASE);
	return 0;
}

void slob_vfs_fault_set(int write_delay_us, int sync_delay_us, int fail)
{
	__atomic_store_n(&knobs.write_delay_us, write_delay_us, __ATOMIC_RELAXED);
	__atomic_store_n(&knobs.sync_delay_us, sync_delay_us, __ATOMIC_RELAXED);
	/* release: partner acquire in f_write / f_sync */
	__atomic_store_n(&knobs.fail, fail, __ATOMIC_RELEASE);
}

void slob_vfs_fault_stats(long long *writes, long long *syncs, long long *failed)
{
	if (writes)
		*writes = __atomic_load_n(&knobs.writes, __ATOMIC_RELAXED);
	if (syncs)
		*syncs = __atomic_load_n(&knobs.syncs, __ATOMIC_RELAXED);
	if (failed)
		*failed = __atomic_load_n(&knobs.failed, __ATOMIC_RELAXED);
}
