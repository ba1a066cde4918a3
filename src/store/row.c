/*
 * store/row.c - result rows copied into the store's structs by a table of
 * columns (store/db_internal.h), and the statements that read them.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/alloc.h"
#include "util/crypto.h"

/* Column col of row i into the field at f as col->kind says. */
static void read_col(const PGresult *r, int i, int col, const struct store_col *c, char *f)
{
    const char *v = PQgetvalue(r, i, col);
    switch (c->kind) {
    case STORE_COL_SKIP:
        return;
    case STORE_COL_TEXT: {
        size_t len = strnlen(v, c->size - 1);
        memcpy(f, v, len);
        f[len] = '\0';
        return;
    }
    case STORE_COL_DUP:
        *(char **)(void *)f = xstrdup(v);
        return;
    case STORE_COL_DUP_NULL:
        *(char **)(void *)f = PQgetisnull(r, i, col) ? NULL : xstrdup(v);
        return;
    case STORE_COL_REF:
        *(const char **)(void *)f = v;
        return;
    case STORE_COL_LL:
        assert(c->size == sizeof(long long));
        *(long long *)(void *)f = atoll(v);
        return;
    case STORE_COL_BOOL:
        assert(c->size == sizeof(int));
        *(int *)(void *)f = strcmp(v, "t") == 0;
        return;
    }
}

void store_row_read(const PGresult *r, int i, const struct store_row_map *map, void *out)
{
    memset(out, 0, map->size);
    int n = PQnfields(r) < map->ncols ? PQnfields(r) : map->ncols;
    for (int k = 0; k < n; k++)
        read_col(r, i, k, &map->cols[k], (char *)out + map->cols[k].off);
}

/* store_exec_row(), and with hash_col >= 0 store_exec_row_hash(). */
static enum store_rc exec_row(struct store_conn *c, const struct store_stmt *stmt,
                              const char *const *params, const struct store_row_map *map,
                              int hash_col, void *out)
{
    PGresult *r;
    enum store_rc rc = store_exec_one(c, stmt, params, &r);
    if (rc != STORE_OK)
        return rc;
    if (hash_col < 0 || (PQgetlength(r, 0, hash_col) == STORE_HASH_LEN &&
                         crypto_equal(PQgetvalue(r, 0, hash_col), params[0], STORE_HASH_LEN)))
        store_row_read(r, 0, map, out);
    else
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

enum store_rc store_exec_row(struct store_conn *c, const struct store_stmt *stmt,
                             const char *const *params, const struct store_row_map *map, void *out)
{
    return exec_row(c, stmt, params, map, -1, out);
}

enum store_rc store_exec_row_hash(struct store_conn *c, const struct store_stmt *stmt,
                                  const char *const *params, const struct store_row_map *map,
                                  int hash_col, void *out)
{
    return exec_row(c, stmt, params, map, hash_col, out);
}

enum store_rc store_exec_value(struct store_conn *c, const struct store_stmt *stmt,
                               const char *const *params, enum store_col_kind kind, void *out,
                               size_t size)
{
    const struct store_col col = {kind, 0, size};
    const struct store_row_map map = {&col, 1, size};
    return exec_row(c, stmt, params, &map, -1, out);
}

enum store_rc store_exec_ll(struct store_conn *c, const struct store_stmt *stmt,
                            const char *const *params, long long *v)
{
    return store_exec_value(c, stmt, params, STORE_COL_LL, v, sizeof *v);
}

enum store_rc store_rows_open(struct store_conn *c, const struct store_stmt *stmt,
                              const char *const *params, struct store_rows *rows)
{
    rows->next = 0;
    return store_exec(c, stmt, params, &rows->r);
}

int store_rows_next(struct store_rows *rows, const struct store_row_map *map, void *out)
{
    if (!rows->r)
        return 0;
    if (rows->next >= PQntuples(rows->r)) {
        store_rows_close(rows);
        return 0;
    }
    store_row_read(rows->r, rows->next++, map, out);
    return 1;
}

void store_rows_close(struct store_rows *rows)
{
    PQclear(rows->r);
    rows->r = NULL;
}
