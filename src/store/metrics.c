/*
 * store/metrics.c - the deployment's counters and the admin role.
 */
#include "store/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/buf.h"

/* Several processes of a host may add to the same rows at once: the
 * upsert takes each row's lock for the statement only, and the rows are
 * touched in one order (the unnest is sorted), so two flushes cannot
 * deadlock. */
static const struct store_stmt stmt_add = {
    "metrics_add",
    "INSERT INTO metrics AS m (host, name, labels, value)"
    " SELECT $1, n, l, sum(v) FROM unnest($2::text[], $3::text[], $4::float8[]) AS x(n, l, v)"
    " GROUP BY n, l ORDER BY n, l"
    " ON CONFLICT (host, name, labels) DO UPDATE"
    " SET value = m.value + EXCLUDED.value, updated_at = now()",
    4,
};

static const struct store_stmt stmt_sum = {
    "metrics_sum",
    "SELECT name, labels, sum(value) FROM metrics GROUP BY name, labels ORDER BY name, labels",
    0,
};

static const struct store_stmt stmt_is_admin = {
    "user_is_admin",
    "SELECT count(*) FROM users WHERE id = $1::bigint AND admin AND NOT disabled",
    1,
};

static const struct store_stmt stmt_set_admin = {
    "user_set_admin",
    "UPDATE users SET admin = ($2 = '1'), updated_at = now() WHERE username = $1",
    2,
};

/* Appends s to an array literal as one quoted element. */
static int array_add(struct buf *b, const char *s)
{
    int rc = buf_append(b, b->len ? "," : "{", 1);
    rc |= buf_append(b, "\"", 1);
    for (; *s; s++)
        rc |= (*s == '"' || *s == '\\') ? buf_printf(b, "\\%c", *s) : buf_append(b, s, 1);
    return rc | buf_append(b, "\"", 1);
}

enum store_rc store_metrics_add(struct store_conn *c, const char *host,
                                const struct metrics_delta *d, int n)
{
    if (n <= 0)
        return STORE_OK;
    struct buf names = {0}, labels = {0}, values = {0};
    names.limit = labels.limit = values.limit = 8u << 20; /* METRICS_SERIES_MAX series fit */
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char v[40];
        snprintf(v, sizeof v, "%.17g", d[i].value);
        rc |= array_add(&names, d[i].name);
        rc |= array_add(&labels, d[i].labels);
        rc |= array_add(&values, v);
    }
    rc |= buf_append(&names, "}", 1) | buf_append(&labels, "}", 1) | buf_append(&values, "}", 1);
    if (rc)
        abort(); /* out of memory, or past a buffer's cap: a programming error */
    const char *params[] = {host, buf_str(&names), buf_str(&labels), buf_str(&values)};
    enum store_rc src = store_exec_cmd(c, &stmt_add, params);
    buf_free(&names);
    buf_free(&labels);
    buf_free(&values);
    return src;
}

enum store_rc store_metrics_sum(struct store_conn *c,
                                void (*fn)(const char *name, const char *labels, double value,
                                           void *arg),
                                void *arg)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, &stmt_sum, NULL, &r);
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++)
        fn(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), strtod(PQgetvalue(r, i, 2), NULL), arg);
    PQclear(r);
    return rc;
}

enum store_rc store_user_is_admin(struct store_conn *c, long long user_id, int *admin)
{
    const char *params[] = {STORE_INT(user_id)};
    int n = 0;
    enum store_rc rc = store_exec_count(c, &stmt_is_admin, params, &n);
    if (rc == STORE_OK)
        *admin = n > 0;
    return rc;
}

enum store_rc store_user_set_admin(struct store_conn *c, const char *username, int on)
{
    const char *params[] = {username, on ? "1" : "0"};
    return store_exec_changed(c, &stmt_set_admin, params);
}
