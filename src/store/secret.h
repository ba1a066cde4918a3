/*
 * store/secret.h - installation-wide secrets kept in PostgreSQL.
 *
 * Owns: table mcpgate_secrets. A secret (e.g. the key that signs tools/list
 * cursors) is created at random the first time any process asks for it,
 * and every process and host then reads the same value. Values never leave
 * the server and are never logged.
 */
#ifndef MG_STORE_SECRET_H
#define MG_STORE_SECRET_H

#include <stddef.h>

#include "store/db.h"

#define STORE_SECRET_LEN 32

/* Reads the secret called name (creating it on first use) into out
 * (STORE_SECRET_LEN bytes). Returns STORE_OK, STORE_UNAVAILABLE or
 * STORE_ERROR. */
__attribute__((warn_unused_result)) enum store_rc
store_secret_get(struct store_conn *c, const char *name, unsigned char out[STORE_SECRET_LEN]);

#endif
