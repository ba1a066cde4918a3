/*
 * store/db_internal.h - what the store's table files share: statement
 * descriptors and the execution helper. Not for use outside src/store/.
 */
#ifndef MG_STORE_DB_INTERNAL_H
#define MG_STORE_DB_INTERNAL_H

#include <libpq-fe.h>
#include <stddef.h>

#include "store/db.h"

/* A named statement, prepared on each connection at first use. Statements are
 * static const objects; their address identifies them. */
struct store_stmt {
    const char *name; /* unique prepared-statement name; NULL: never prepared, planned
                         anew on each call (a plan cached while a table was small must
                         not outlive its growth: the purges) */
    const char *sql;  /* text with $1.. parameters; never built from input */
    int nparams;
};

#define STORE_MAX_PREPARED   128
#define STORE_RETRY_PAUSE_MS 250 /* after a failed connect, answer "unavailable" this long */

struct store_pool;

/* A connection, or (pool set) a worker's handle that borrows one of the
 * pool's connections at first use and gives it back at release. */
struct store_conn {
    struct store_pool *pool; /* set on a pooled handle */
    struct store_conn *lent; /* pooled handle: the connection it holds, or NULL */
    struct store_conn *next; /* in the pool's free list */
    PGconn *pg;              /* NULL while closed */
    char *conninfo;          /* owned copy */
    int connect_timeout_s;
    int schema_checked;      /* 1 once the schema version was found current */
    int writable;            /* 1 if the server took writes when pg was opened */
    int listening;           /* LISTEN was issued on pg (shared mode, store/listen.h) */
    long long down_since_ms; /* monotonic time of the last failed connect, 0 if none */
    int n_prepared;
    const struct store_stmt *prepared[STORE_MAX_PREPARED]; /* prepared on pg */
};

/* Executes stmt with params (NULL entries are SQL NULL). On STORE_OK *res is
 * a PGresult the caller must PQclear(); otherwise *res is NULL. A connection
 * found dead is re-opened and the statement retried once (statements used
 * through this function are single-statement transactions, so a statement
 * that never reached the old server is safe to send again).
 * Returns STORE_OK, STORE_UNAVAILABLE or STORE_ERROR (logged). */
__attribute__((warn_unused_result)) enum store_rc store_exec(struct store_conn *c,
                                                             const struct store_stmt *stmt,
                                                             const char *const *params,
                                                             PGresult **res);

/* As store_exec(), for a statement that finds one row: STORE_NOT_FOUND
 * (nothing to clear) unless exactly one row came back. */
__attribute__((warn_unused_result)) enum store_rc store_exec_one(struct store_conn *c,
                                                                 const struct store_stmt *stmt,
                                                                 const char *const *params,
                                                                 PGresult **res);

/* As store_exec_ll(), for a statement whose one row's first column is a
 * count (rows changed, hits): into *n, written only on STORE_OK. */
__attribute__((warn_unused_result)) enum store_rc store_exec_count(struct store_conn *c,
                                                                   const struct store_stmt *stmt,
                                                                   const char *const *params,
                                                                   int *n);

/* As store_exec_rows(), for a statement that changes rows: STORE_NOT_FOUND
 * when it changed (or returned) none. */
__attribute__((warn_unused_result)) enum store_rc
store_exec_changed(struct store_conn *c, const struct store_stmt *stmt, const char *const *params);

/* As store_exec_count(), for a statement that counts what it found or
 * changed: STORE_NOT_FOUND when the count is 0. */
__attribute__((warn_unused_result)) enum store_rc
store_exec_found(struct store_conn *c, const struct store_stmt *stmt, const char *const *params);

/* As store_exec(), for a statement whose result is not read (an insert,
 * an update whose count does not matter): nothing to clear. */
__attribute__((warn_unused_result)) enum store_rc
store_exec_cmd(struct store_conn *c, const struct store_stmt *stmt, const char *const *params);

/* As store_exec(), with the number of rows the statement returned (a
 * query, or RETURNING) or changed (an update without RETURNING) into
 * *rows, which is written only on STORE_OK. */
__attribute__((warn_unused_result)) enum store_rc store_exec_rows(struct store_conn *c,
                                                                  const struct store_stmt *stmt,
                                                                  const char *const *params,
                                                                  int *rows);

/* Room for a long long in decimal with its sign and NUL. */
#define STORE_INT_LEN 24

/* Writes v in decimal into buf (STORE_INT_LEN bytes) and returns buf, as
 * the text of a ::bigint or ::int parameter. Cannot fail. */
const char *store_int_text(char *buf, long long v);

/* The text of integer v as a statement parameter, in a buffer that lives
 * until the end of the enclosing block (a compound literal):
 *     const char *params[] = {STORE_INT(user_id), name};  */
#define STORE_INT(v) store_int_text((char[STORE_INT_LEN]){0}, (v))

/* Reading rows (store/row.c). A statement's columns, in order, are
 * described by a table of struct store_col, each naming the field of the
 * caller's struct that takes the column and how. */
enum store_col_kind {
    STORE_COL_SKIP = 0, /* not read */
    STORE_COL_TEXT,     /* char array of size bytes: the text, cut to fit */
    STORE_COL_DUP,      /* char *: a copy the caller frees ("" for SQL NULL) */
    STORE_COL_DUP_NULL, /* char *: a copy the caller frees, NULL for SQL NULL */
    STORE_COL_REF,      /* const char *: borrowed from the result */
    STORE_COL_LL,       /* long long: the number (0 for SQL NULL) */
    STORE_COL_BOOL,     /* int: 1 for true, else 0 */
};

struct store_col {
    enum store_col_kind kind;
    size_t off;  /* of the field in the struct */
    size_t size; /* of the field */
};

/* The column that goes into field of struct type as kind (without the
 * STORE_COL_ prefix): STORE_COL(TEXT, struct store_user, username). */
#define STORE_COL(kind, type, field)                                                               \
    {                                                                                              \
        STORE_COL_##kind, offsetof(type, field), sizeof(((type *)0)->field)                        \
    }

/* A row as a whole: its columns, and the size of the struct they fill. */
struct store_row_map {
    const struct store_col *cols;
    int ncols;
    size_t size;
};

/* A column not read. */
#define STORE_COL_NONE                                                                             \
    {                                                                                              \
        STORE_COL_SKIP, 0, 0                                                                       \
    }

/* Defines name, the static struct store_row_map for struct type, whose
 * columns are the entries that follow (STORE_COL() or STORE_COL_NONE), and
 * name_cols, the array of them. */
#define STORE_ROW_MAP_DEFINE(name, type, ...)                                                      \
    static const struct store_col name##_cols[] = {__VA_ARGS__};                                   \
    static const struct store_row_map name = {                                                     \
        name##_cols, (int)(sizeof name##_cols / sizeof name##_cols[0]), sizeof(type)}

/* Zeroes out (map->size bytes) and fills it from row i of r by map; columns
 * the result does not have stay zero. Borrowed fields (STORE_COL_REF) live
 * as long as r. Cannot fail (aborts on OOM). */
void store_row_read(const PGresult *r, int i, const struct store_row_map *map, void *out);

/* As store_exec_one(), reading the row into out by map; out is written
 * only on STORE_OK. */
__attribute__((warn_unused_result)) enum store_rc
store_exec_row(struct store_conn *c, const struct store_stmt *stmt, const char *const *params,
               const struct store_row_map *map, void *out);

/* The length of the hex SHA-256 by which tokens, keys and sessions are
 * looked up. */
#define STORE_HASH_LEN 64

/* As store_exec_row(), for a lookup by the hash in params[0]: the row's
 * column hash_col must equal it, compared in constant time, else
 * STORE_NOT_FOUND. */
__attribute__((warn_unused_result)) enum store_rc
store_exec_row_hash(struct store_conn *c, const struct store_stmt *stmt, const char *const *params,
                    const struct store_row_map *map, int hash_col, void *out);

/* As store_exec_row(), for the one row's first column alone, into *out as
 * kind (size: of *out; for STORE_COL_TEXT, of the char array). */
__attribute__((warn_unused_result)) enum store_rc
store_exec_value(struct store_conn *c, const struct store_stmt *stmt, const char *const *params,
                 enum store_col_kind kind, void *out, size_t size);

/* As store_exec_value(), for a number (an id RETURNING from an insert, a
 * sequence). */
__attribute__((warn_unused_result)) enum store_rc store_exec_ll(struct store_conn *c,
                                                                const struct store_stmt *stmt,
                                                                const char *const *params,
                                                                long long *v);

/* The rows of a statement, read one by one:
 *     struct store_rows rows;
 *     enum store_rc rc = store_rows_open(c, &stmt, params, &rows);
 *     while (rc == STORE_OK && store_rows_next(&rows, &map, &row))
 *         ...;
 * store_rows_open() answers as store_exec(); store_rows_next() fills out by
 * map (store_row_read) and returns 1, or 0 after the last row, when it has
 * freed the result. A caller that stops early calls store_rows_close(). */
struct store_rows {
    PGresult *r;
    int next;
};

__attribute__((warn_unused_result)) enum store_rc store_rows_open(struct store_conn *c,
                                                                  const struct store_stmt *stmt,
                                                                  const char *const *params,
                                                                  struct store_rows *rows);
int store_rows_next(struct store_rows *rows, const struct store_row_map *map, void *out);
void store_rows_close(struct store_rows *rows);

/* Defines name, a static function that runs stmt with params and calls
 * fn(arg, &row) for each row, read into a struct type by map (a struct
 * store_row_map *): the body of a store function that lists rows to a
 * callback. It returns as store_exec(). STORE_ROWS_EACH_ROW_FIRST_DEFINE
 * is the same for a callback fn(&row, arg). */
#define STORE_ROWS_EACH_DEFINE(name, type, map)                                                    \
    STORE_ROWS_EACH_DEFINE_(name, type, map, (void *arg, const type *row), (arg, &row))
#define STORE_ROWS_EACH_ROW_FIRST_DEFINE(name, type, map)                                          \
    STORE_ROWS_EACH_DEFINE_(name, type, map, (const type *row, void *arg), (&row, arg))
#define STORE_ROWS_EACH_DEFINE_(name, type, map, fn_params, fn_args)                               \
    static enum store_rc name(struct store_conn *c, const struct store_stmt *stmt,                 \
                              const char *const *params, void(*fn) fn_params, void *arg)           \
    {                                                                                              \
        struct store_rows rows;                                                                    \
        type row;                                                                                  \
        enum store_rc rc = store_rows_open(c, stmt, params, &rows);                                \
        while (rc == STORE_OK && store_rows_next(&rows, map, &row))                                \
            fn fn_args;                                                                            \
        return rc;                                                                                 \
    }

/* Prepares (if needed) and runs stmt on the connection that is open, with no
 * reconnect and no schema check (for migrations and the check itself).
 * Results as store_exec(). */
__attribute__((warn_unused_result)) enum store_rc
store_exec_prepared_raw(struct store_conn *c, const struct store_stmt *stmt,
                        const char *const *params, PGresult **res);

/* Runs plain SQL without parameters (migrations only). Returns STORE_OK or
 * STORE_ERROR with the server's message logged. */
__attribute__((warn_unused_result)) enum store_rc store_exec_plain(struct store_conn *c,
                                                                   const char *sql);

/* True when the server of pg says it does not take writes: a standby, or a
 * primary fenced with default_transaction_read_only. PostgreSQL 14 and later
 * report both settings, and their changes, with the result of the next
 * statement. Cannot fail. */
int store_pg_read_only(PGconn *pg);

/* Sends pg's notices to the debug log instead of libpq's default, raw lines
 * on stderr (the web server's error log). That includes the FATAL a server
 * sends an idle connection when it shuts down. */
void store_pg_log_notices(PGconn *pg);

/* Shared LISTEN mode (store/listen.h): hands the notifications libpq has
 * already read on c's connection to the callback. Does nothing unless c
 * LISTENs. */
void store_listen_drain(struct store_conn *c);

/* Opens the connection without the schema check (for migrations). */
__attribute__((warn_unused_result)) enum store_rc store_connect_raw(struct store_conn *c);

/* Reads the applied schema version into *version (0 when none). */
__attribute__((warn_unused_result)) enum store_rc store_schema_version(struct store_conn *c,
                                                                       int *version);

struct store_grant;

/* How store_grant_find() looks up a live access token or API key. */
struct store_grant_lookup {
    char prefix;                     /* of its key in the process cache: 't' or 'k' */
    const struct store_stmt *stmt;   /* takes the hash as $1 */
    const struct store_row_map *map; /* its row */
    int hash_col;                    /* the row's hash (store_exec_row_hash) */
    const char *kind;                /* the grant's kind, or NULL when the row has it */
};

/* Runs stmt, which revokes grants that processes may hold in their caches,
 * through count (store_exec_count or store_exec_rows) into *n; when it
 * revoked any, waits until the other processes have dropped them
 * (store_cache_sync). Returns as count. */
__attribute__((warn_unused_result)) enum store_rc
store_exec_revoke(struct store_conn *c, const struct store_stmt *stmt, const char *const *params,
                  enum store_rc (*count)(struct store_conn *c, const struct store_stmt *stmt,
                                         const char *const *params, int *n),
                  int *n);

/* The live grant of hash by lookup: from the process cache of grants, else
 * from PostgreSQL (then kept in the cache), active. Returns as
 * store_exec_row_hash(); *out is written only on STORE_OK. */
__attribute__((warn_unused_result)) enum store_rc
store_grant_find(struct store_conn *c, const struct store_grant_lookup *lookup, const char *hash,
                 struct store_grant *out);

/* The newest migration this build knows. */
int store_known_schema_version(void);

#endif
