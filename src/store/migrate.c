/*
 * store/migrate.c - schema migrations.
 */
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/db_internal.h"

/* Any fixed number: all mcpgate migrators take this advisory lock. */
#define MIGRATE_LOCK_KEY "728310055"

static const struct store_stmt stmt_lock = {
    "migrate_lock",
    "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
    0,
};

static const struct store_stmt stmt_record = {
    "migrate_record",
    "INSERT INTO mcpgate_schema (version, name) VALUES ($1::int, $2)",
    2,
};

static const char create_bookkeeping[] = "CREATE TABLE IF NOT EXISTS mcpgate_schema ("
                                         " version integer PRIMARY KEY,"
                                         " name text NOT NULL,"
                                         " applied_at timestamptz NOT NULL DEFAULT now())";

int store_known_schema_version(void)
{
    return store_n_migrations ? store_migrations[store_n_migrations - 1].version : 0;
}

enum store_rc store_migrate_status(struct store_conn *c, int *current, int *known)
{
    *known = store_known_schema_version();
    return store_schema_version(c, current);
}

static enum store_rc exec_simple(struct store_conn *c, const struct store_stmt *stmt,
                                 const char *const *params)
{
    PGresult *r = NULL;
    enum store_rc rc = store_exec_prepared_raw(c, stmt, params, &r);
    PQclear(r);
    return rc;
}

/* Applies one migration in a transaction, unless another migrator did it
 * while we waited for the lock. */
static enum store_rc apply_one(struct store_conn *c, const struct store_migration *m,
                               store_migrate_progress progress, void *arg, int *applied)
{
    enum store_rc rc = store_exec_plain(c, "BEGIN");
    if (rc != STORE_OK)
        return rc;
    int current = 0;
    if ((rc = exec_simple(c, &stmt_lock, NULL)) != STORE_OK ||
        (rc = store_schema_version(c, &current)) != STORE_OK)
        goto rollback;
    if (current >= m->version)
        return store_exec_plain(c, "COMMIT");
    if (progress)
        progress(m, 0, arg);
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", m->version);
    const char *params[] = {vbuf, m->name};
    if ((rc = store_exec_plain(c, m->sql)) != STORE_OK ||
        (rc = exec_simple(c, &stmt_record, params)) != STORE_OK)
        goto rollback;
    if ((rc = store_exec_plain(c, "COMMIT")) != STORE_OK)
        return rc;
    (*applied)++;
    if (progress)
        progress(m, 1, arg);
    return STORE_OK;
rollback:
    if (store_exec_plain(c, "ROLLBACK") != STORE_OK)
        return STORE_ERROR;
    return rc == STORE_OK ? STORE_ERROR : rc;
}

enum store_rc store_migrate(struct store_conn *c, store_migrate_progress progress, void *arg,
                            int *applied, int *version)
{
    *applied = 0;
    enum store_rc rc = store_connect_raw(c);
    if (rc != STORE_OK)
        return rc;
    if ((rc = store_exec_plain(c, create_bookkeeping)) != STORE_OK)
        return rc;
    int current = 0;
    if ((rc = store_schema_version(c, &current)) != STORE_OK)
        return rc;
    if (current > store_known_schema_version()) {
        fprintf(stderr,
                "mcpgate: the database schema is at version %d, newer than the %d this "
                "mcpgate knows: upgrade mcpgate before migrating\n",
                current, store_known_schema_version());
        *version = current;
        return STORE_ERROR;
    }
    for (int i = 0; i < store_n_migrations; i++) {
        if (store_migrations[i].version <= current)
            continue;
        rc = apply_one(c, &store_migrations[i], progress, arg, applied);
        if (rc != STORE_OK) {
            fprintf(stderr, "mcpgate: migration %s failed and was rolled back\n",
                    store_migrations[i].name);
            return rc;
        }
    }
    return store_schema_version(c, version);
}
