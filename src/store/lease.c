/*
 * store/lease.c - leases on held resources, counted across processes.
 */
#include "store/lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/buf.h"

static const struct store_stmt stmt_lease_acquire = {
    "lease_acquire",
    "SELECT lease_acquire($1::text[], $2::int[], $3::int)",
    3,
};

static const struct store_stmt stmt_lease_release = {
    "lease_release",
    "DELETE FROM mcp_leases WHERE holder = $1::bigint",
    1,
};

static const struct store_stmt stmt_lease_count = {
    "lease_count",
    "SELECT count(*) FROM mcp_leases WHERE key = $1 AND expires_at > now()",
    1,
};

/* 1 when key may go into an array literal unquoted. */
static int key_ok(const char *key)
{
    size_t n = strlen(key);
    return n > 0 && n < STORE_LEASE_KEY_MAX &&
           strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_-") == n;
}

enum store_rc store_lease_acquire(struct store_conn *c, const char *const *keys, const int *caps,
                                  int n, int ttl_s, long long *id)
{
    if (n < 1 || n > STORE_LEASE_MAX_KEYS)
        return STORE_ERROR;
    struct buf k = {0}, cp = {0};
    int bad = buf_puts(&k, "{") | buf_puts(&cp, "{");
    for (int i = 0; i < n; i++) {
        if (!key_ok(keys[i])) {
            buf_free(&k);
            buf_free(&cp);
            return STORE_ERROR;
        }
        bad |= buf_printf(&k, "%s%s", i ? "," : "", keys[i]);
        bad |= buf_printf(&cp, "%s%d", i ? "," : "", caps[i] > 0 ? caps[i] : 0);
    }
    bad |= buf_puts(&k, "}") | buf_puts(&cp, "}");
    if (bad)
        abort();
    const char *params[] = {buf_str(&k), buf_str(&cp), STORE_INT(ttl_s > 0 ? ttl_s : 1)};
    enum store_rc rc = store_exec_ll(c, &stmt_lease_acquire, params, id); /* NULL: 0 */
    buf_free(&k);
    buf_free(&cp);
    return rc;
}

enum store_rc store_lease_release(struct store_conn *c, long long id)
{
    if (id <= 0)
        return STORE_OK;
    const char *params[] = {STORE_INT(id)};
    return store_exec_cmd(c, &stmt_lease_release, params);
}

enum store_rc store_lease_count(struct store_conn *c, const char *key, int *count)
{
    const char *params[] = {key};
    enum store_rc rc = store_exec_count(c, &stmt_lease_count, params, count);
    if (rc != STORE_OK)
        return rc;
    return STORE_OK;
}
