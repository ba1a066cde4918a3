/*
 * store/secret.c - installation-wide secrets kept in PostgreSQL.
 */
#include "store/secret.h"

#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/crypto.h"

/* Insert-if-absent and read in one statement; concurrent first uses agree
 * on whichever row won. */
static const struct store_stmt stmt_get = {
    "secret_get",
    "WITH ins AS (INSERT INTO mcpgate_secrets (name, value) VALUES ($1, decode($2, 'hex'))"
    " ON CONFLICT (name) DO NOTHING RETURNING value)"
    " SELECT encode(value, 'hex') FROM ins"
    " UNION ALL SELECT encode(value, 'hex') FROM mcpgate_secrets WHERE name = $1"
    " LIMIT 1",
    2,
};

static int unhex(const char *hex, unsigned char *out, size_t n)
{
    return strlen(hex) == 2 * n ? crypto_hex_decode(hex, n, out) : -1;
}

enum store_rc store_secret_get(struct store_conn *c, const char *name,
                               unsigned char out[STORE_SECRET_LEN])
{
    unsigned char fresh[STORE_SECRET_LEN];
    char hex[2 * STORE_SECRET_LEN + 1];
    crypto_random(fresh, sizeof fresh);
    crypto_hex_encode(fresh, sizeof fresh, hex);
    const char *params[] = {name, hex};
    enum store_rc rc = STORE_ERROR;
    /* a second try covers the race where another process inserted the row
     * after this statement's snapshot was taken */
    for (int attempt = 0; attempt < 2 && rc == STORE_ERROR; attempt++) {
        PGresult *r;
        rc = store_exec(c, &stmt_get, params, &r);
        if (rc != STORE_OK)
            break;
        rc = PQntuples(r) == 1 && unhex(PQgetvalue(r, 0, 0), out, STORE_SECRET_LEN) == 0
                 ? STORE_OK
                 : STORE_ERROR;
        PQclear(r);
    }
    explicit_bzero(fresh, sizeof fresh);
    explicit_bzero(hex, sizeof hex);
    return rc;
}
