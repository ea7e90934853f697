/* SPDX-License-Identifier: MIT */
/*
 * secrets.h: checks on files that hold secrets (the config file with the bot
 * token or SMTP password, the dashboard password file). The original system
 * kept its .env world-readable; here start-up warns when a secret-bearing
 * file can be read or written by group or others.
 */
#ifndef SLOB_SECRETS_H
#define SLOB_SECRETS_H

#include <stddef.h>

/*
 * slob_secret_file_check - stats `path`. Returns 0 when it is a regular
 * file with no group/other permission bits (0600 or stricter); 1 when it is
 * readable or writable by group/others, with a warning in `warn` naming the
 * path, its mode and the fix ("chmod 600 <path>"); -ENOENT / -errno when it
 * cannot be checked (message in warn). Any thread; blocks on stat(2).
 */
int slob_secret_file_check(const char *path, char *warn, size_t len);

#endif /* SLOB_SECRETS_H */
