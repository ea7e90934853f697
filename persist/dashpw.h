/* SPDX-License-Identifier: MIT */
/*
 * dashpw.h: the dashboard password file, shared by `slobctl
 * set-dashboard-password` (writer) and slob-dash (reader).
 *
 * Format: one line holding a libsodium crypto_pwhash_str() string (Argon2id,
 * "$argon2id$v=19$m=...,t=...,p=...$salt$hash"), optionally followed by a
 * newline, nothing else. The file must be mode 0600 (no group/other bits):
 * slob_dashpw_read refuses anything else, the way ssh refuses a readable key.
 * Default path: <data-dir>/dashboard.pw (SLOB_DASHPW_DEFAULT_NAME).
 * There is no default password: without a hash slob-dash refuses to start.
 */
#ifndef SLOB_DASHPW_H
#define SLOB_DASHPW_H

#include <stddef.h>

#define SLOB_DASHPW_DEFAULT_NAME "dashboard.pw"
/* Room for a crypto_pwhash_STRBYTES (128) string plus NUL. */
#define SLOB_DASHPW_HASH_MAX 128
/* Passwords shorter than this are refused by slob_dashpw_hash/_write. */
#define SLOB_DASHPW_MIN_LEN 8
/* Longest password set or accepted at login (bytes); longer is refused,
 * never cut to length. Readers use a buffer of SLOB_DASHPW_MAX_LEN + 2 so a
 * longer line reads as too long. */
#define SLOB_DASHPW_MAX_LEN 511

/*
 * slob_dashpw_hash - hashes `password` (NUL-terminated) with
 * crypto_pwhash_str at the INTERACTIVE limits into out (at least
 * SLOB_DASHPW_HASH_MAX bytes). Returns 0, -EINVAL (password shorter than
 * SLOB_DASHPW_MIN_LEN or longer than SLOB_DASHPW_MAX_LEN; message in err) or -ENOMEM. Any thread; takes ~0.1 s
 * and 64 MiB, so never on the hot path.
 */
int slob_dashpw_hash(const char *password, char *out, char *err, size_t errlen);

/*
 * slob_dashpw_write - hashes `password` and writes the file at `path`
 * atomically (temporary file created 0600 in the same folder, fsync, rename).
 * Returns 0 or a negative errno with a message naming the path in err.
 * Blocking (disk, hashing); cold path only.
 */
int slob_dashpw_write(const char *path, const char *password, char *err, size_t errlen);

/*
 * slob_dashpw_read - reads the hash string from `path` into hash
 * (hashlen >= SLOB_DASHPW_HASH_MAX). Returns 0; -ENOENT when the file does not
 * exist; -EPERM when group or other may read or write it (message says to
 * chmod 600); -EINVAL when the content is not a crypto_pwhash_str string;
 * other -errno from the file system. Blocking; cold path only.
 */
int slob_dashpw_read(const char *path, char *hash, size_t hashlen, char *err, size_t errlen);

/*
 * slob_dashpw_check_hash - 0 when `hash` looks like a crypto_pwhash_str string
 * this libsodium can verify, -EINVAL otherwise (message in err).
 */
int slob_dashpw_check_hash(const char *hash, char *err, size_t errlen);

/*
 * slob_dashpw_verify - constant-time check of `password` (len bytes) against
 * `hash`. Returns 0 on a match, -EACCES on a mismatch, -EINVAL for a malformed
 * hash. Takes as long as hashing (~0.1 s); any thread.
 */
int slob_dashpw_verify(const char *hash, const char *password, size_t len);

#endif /* SLOB_DASHPW_H */
