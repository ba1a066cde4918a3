/*
 * store/db.c - PostgreSQL connections and prepared statements.
 */
#include "store/db_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"

struct store_conn *store_conn_new(const char *conninfo, int connect_timeout_s)
{
    struct store_conn *c = xcalloc(1, sizeof *c);
    c->conninfo = xstrdup(conninfo);
    c->connect_timeout_s = connect_timeout_s;
    return c;
}

static void conn_close(struct store_conn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->n_prepared = 0;
    c->schema_checked = 0;
    c->listening = 0;
}

struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct store_conn *free; /* connections not lent, open or closed */
    int made, max;           /* connections made so far, at most max */
    char *conninfo;
    int connect_timeout_s;
};

struct store_pool *store_pool_new(const char *conninfo, int connect_timeout_s, int max)
{
    struct store_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->conninfo = xstrdup(conninfo);
    p->connect_timeout_s = connect_timeout_s;
    p->max = max < 1 ? 1 : max;
    return p;
}

struct store_conn *store_pool_handle(struct store_pool *pool)
{
    struct store_conn *c = xcalloc(1, sizeof *c);
    c->pool = pool;
    return c;
}

/* Lends handle h a connection: a free one, a new one while fewer than max
 * exist, else the first one given back within the connect timeout.
 * Returns 0, or -1 when none came (logged). */
static int pool_lend(struct store_conn *h)
{
    struct store_pool *p = h->pool;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += p->connect_timeout_s;
    int make = 0;
    pthread_mutex_lock(&p->lock);
    int waited = !p->free && p->made >= p->max;
    while (!p->free && p->made >= p->max)
        if (pthread_cond_timedwait(&p->freed, &p->lock, &until) != 0)
            break;
    if (p->free) {
        h->lent = p->free;
        p->free = h->lent->next;
    } else if (p->made < p->max) {
        p->made++;
        make = 1;
    }
    pthread_mutex_unlock(&p->lock);
    if (make)
        h->lent = store_conn_new(p->conninfo, p->connect_timeout_s);
    if (waited)
        metrics_add("mcpgate_db_pool_waits_total", 1, "result", h->lent ? "got" : "timed_out",
                    NULL);
    if (!h->lent)
        LOG_WARN("msg=\"every PostgreSQL connection of this process is busy\" max=%d", p->max);
    return h->lent ? 0 : -1;
}

static void pool_give_back(struct store_conn *h)
{
    struct store_pool *p = h->pool;
    struct store_conn *c = h->lent;
    if (!c)
        return;
    h->lent = NULL;
    if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        conn_close(c); /* never hand on a connection in the middle of something */
    pthread_mutex_lock(&p->lock);
    c->next = p->free;
    p->free = c;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

/* The connection a handle stands for: a pooled handle's lent one (lent
 * now if need be), or c itself. NULL when the pool has none to lend. */
static struct store_conn *physical(struct store_conn *c)
{
    if (!c->pool)
        return c;
    if (!c->lent && pool_lend(c) < 0)
        return NULL;
    return c->lent;
}

void store_pool_free(struct store_pool *p)
{
    if (!p)
        return;
    while (p->free) {
        struct store_conn *c = p->free;
        p->free = c->next;
        store_conn_free(c);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->conninfo);
    free(p);
}

void store_conn_release(struct store_conn *c)
{
    if (c->pool)
        pool_give_back(c);
    else
        conn_close(c);
}

void store_conn_free(struct store_conn *c)
{
    if (!c)
        return;
    if (c->pool) {
        pool_give_back(c);
        free(c);
        return;
    }
    conn_close(c);
    free(c->conninfo);
    free(c);
}

/* The first line of a libpq message, for a log line. Never includes
 * parameters: libpq messages are about the connection or the statement. */
static void log_pg_error(const char *what, const char *msg)
{
    char line[256];
    snprintf(line, sizeof line, "%s", msg ? msg : "");
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; *p; p++)
        if (*p == '"' || *p == '\\')
            *p = '\'';
    LOG_WARN("msg=\"%s\" detail=\"%s\"", what, line);
}

/* Server notices (e.g. "relation already exists, skipping") go to the
 * debug log, not to stderr unformatted. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    char line[256];
    snprintf(line, sizeof line, "%s", message);
    line[strcspn(line, "\r\n\"")] = '\0';
    LOG_DEBUG("msg=\"PostgreSQL notice\" detail=\"%s\"", line);
}

void store_pg_log_notices(PGconn *pg)
{
    PQsetNoticeProcessor(pg, on_notice, NULL);
}

int store_pg_read_only(PGconn *pg)
{
    const char *standby = PQparameterStatus(pg, "in_hot_standby");
    const char *ro = PQparameterStatus(pg, "default_transaction_read_only");
    return (standby && strcmp(standby, "on") == 0) || (ro && strcmp(ro, "on") == 0);
}

enum store_rc store_connect_raw(struct store_conn *c)
{
    if (!(c = physical(c)))
        return STORE_UNAVAILABLE;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
        return STORE_OK;
    conn_close(c);
    /* While the server is down, answer at once instead of every request
     * waiting for a connect attempt; try again after a short pause. */
    if (c->down_since_ms && mg_now_ms() - c->down_since_ms < STORE_RETRY_PAUSE_MS)
        return STORE_UNAVAILABLE;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", c->connect_timeout_s);
    /* our defaults first: settings in the configured conninfo override them */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {timeout, "mcpgate", c->conninfo, NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg)
        abort();
    if (PQstatus(c->pg) != CONNECTION_OK) {
        log_pg_error("could not connect to PostgreSQL", PQerrorMessage(c->pg));
        conn_close(c);
        c->down_since_ms = mg_now_ms();
        return STORE_UNAVAILABLE;
    }
    c->down_since_ms = 0;
    c->writable = !store_pg_read_only(c->pg);
    store_pg_log_notices(c->pg);
    LOG_DEBUG("msg=\"connected to PostgreSQL\" server_version=%d", PQserverVersion(c->pg));
    return STORE_OK;
}

static int is_prepared(const struct store_conn *c, const struct store_stmt *stmt)
{
    for (int i = 0; i < c->n_prepared; i++)
        if (c->prepared[i] == stmt)
            return 1;
    return 0;
}

/* SQLSTATE classes that mean "the server is not there right now", or
 * (25006, read_only_sql_transaction) "this server does not take writes":
 * a standby, or an old primary fenced after a failover. */
static int sqlstate_unavailable(const char *state)
{
    return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
                     strcmp(state, "53300") == 0 || strcmp(state, "25006") == 0);
}

/* What the logs call stmt: its name, or the start of an unprepared one. */
static const char *stmt_label(const struct store_stmt *stmt)
{
    return stmt->name ? stmt->name : stmt->sql;
}

/* Prepares (if needed) and runs stmt on the open connection; one without
 * a name is sent with its text each time instead. */
enum store_rc store_exec_prepared_raw(struct store_conn *c, const struct store_stmt *stmt,
                                      const char *const *params, PGresult **res)
{
    if (stmt->name && !is_prepared(c, stmt)) {
        if (c->n_prepared == STORE_MAX_PREPARED)
            abort(); /* a new statement was added: raise STORE_MAX_PREPARED */
        PGresult *r = PQprepare(c->pg, stmt->name, stmt->sql, stmt->nparams, NULL);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK) {
            const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
            int down = PQstatus(c->pg) != CONNECTION_OK || sqlstate_unavailable(state);
            log_pg_error(down ? "database unavailable" : "could not prepare statement",
                         r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
            PQclear(r);
            return down ? STORE_UNAVAILABLE : STORE_ERROR;
        }
        PQclear(r);
        c->prepared[c->n_prepared++] = stmt;
    }
    PGresult *r = stmt->name
                      ? PQexecPrepared(c->pg, stmt->name, stmt->nparams, params, NULL, NULL, 0)
                      : PQexecParams(c->pg, stmt->sql, stmt->nparams, NULL, params, NULL, NULL, 0);
    store_listen_drain(c); /* shared mode: what arrived meanwhile, so it never piles up */
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *res = r;
        return STORE_OK;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int down = PQstatus(c->pg) != CONNECTION_OK || sqlstate_unavailable(state);
    char what[96];
    snprintf(what, sizeof what, "statement %.40s failed (sqlstate %s)", stmt_label(stmt),
             state ? state : "none");
    log_pg_error(down ? "database unavailable" : what,
                 r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
    PQclear(r);
    return down ? STORE_UNAVAILABLE : STORE_ERROR;
}

static const struct store_stmt stmt_schema_exists = {
    "schema_exists",
    "SELECT to_regclass('mcpgate_schema') IS NOT NULL",
    0,
};

static const struct store_stmt stmt_schema_version = {
    "schema_version",
    "SELECT coalesce(max(version), 0) FROM mcpgate_schema",
    0,
};

enum store_rc store_schema_version(struct store_conn *c, int *version)
{
    if (!(c = physical(c)))
        return STORE_UNAVAILABLE;
    enum store_rc rc = store_connect_raw(c);
    if (rc != STORE_OK)
        return rc;
    PGresult *r;
    rc = store_exec_prepared_raw(c, &stmt_schema_exists, NULL, &r);
    if (rc != STORE_OK) {
        conn_close(c);
        return rc;
    }
    int exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists) {
        *version = 0;
        return STORE_OK;
    }
    rc = store_exec_prepared_raw(c, &stmt_schema_version, NULL, &r);
    if (rc != STORE_OK) {
        conn_close(c);
        return rc;
    }
    *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return STORE_OK;
}

enum store_rc store_conn_probe(struct store_conn *h, int *current, int *known)
{
    *known = store_known_schema_version();
    struct store_conn *c = physical(h);
    if (!c)
        return STORE_UNAVAILABLE;
    for (int attempt = 0;; attempt++) {
        int was_open = c->pg != NULL;
        int v = 0;
        enum store_rc rc = store_schema_version(c, &v);
        if (rc == STORE_OK && store_pg_read_only(c->pg)) {
            LOG_WARN("msg=\"PostgreSQL server no longer takes writes; reconnecting\" "
                     "statement=readiness");
            conn_close(c);
            rc = STORE_UNAVAILABLE;
            was_open = 1;
        }
        if (rc == STORE_OK) {
            *current = v;
            return STORE_OK;
        }
        if (rc != STORE_UNAVAILABLE || attempt > 0 || !was_open)
            return STORE_UNAVAILABLE;
    }
}

enum store_rc store_conn_ensure(struct store_conn *c)
{
    if (!(c = physical(c)))
        return STORE_UNAVAILABLE;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK && c->schema_checked)
        return STORE_OK;
    int version = 0;
    enum store_rc rc = store_schema_version(c, &version);
    if (rc != STORE_OK)
        return STORE_UNAVAILABLE;
    int known = store_known_schema_version();
    if (version < known) {
        LOG_ERROR("msg=\"database schema is older than this mcpgate: run mcpgate migrate\" "
                  "schema_version=%d needed=%d",
                  version, known);
        conn_close(c);
        return STORE_UNAVAILABLE;
    }
    if (version > known)
        LOG_WARN("msg=\"database schema is newer than this mcpgate: upgrade mcpgate\" "
                 "schema_version=%d known=%d",
                 version, known);
    c->schema_checked = 1;
    return STORE_OK;
}

/* store_exec() but for the count of failures. */
static enum store_rc exec_retrying(struct store_conn *c, const struct store_stmt *stmt,
                                   const char *const *params, PGresult **res)
{
    *res = NULL;
    if (!(c = physical(c)))
        return STORE_UNAVAILABLE;
    for (int attempt = 0;; attempt++) {
        int was_open = c->pg != NULL;
        enum store_rc rc = store_conn_ensure(c);
        if (rc != STORE_OK)
            return rc;
        rc = store_exec_prepared_raw(c, stmt, params, res);
        if (rc == STORE_OK && c->writable && store_pg_read_only(c->pg)) {
            /* The server stopped taking writes while we held the connection
             * (fenced or demoted after a failover): what it answered may be
             * stale. A statement that succeeded there wrote nothing, so run
             * it again on a server that takes writes. */
            LOG_WARN("msg=\"PostgreSQL server no longer takes writes; reconnecting\" "
                     "statement=\"%.40s\"",
                     stmt_label(stmt));
            conn_close(c);
            if (attempt > 0)
                return rc;
            PQclear(*res);
            *res = NULL;
            continue;
        }
        if (rc != STORE_UNAVAILABLE)
            return rc;
        conn_close(c);
        /* Retry only when an old connection had died under us (e.g. the
         * server restarted since the last request); a fresh connection
         * that fails means the server is really not there. */
        if (attempt > 0 || !was_open)
            return rc;
        LOG_INFO("msg=\"reconnecting to PostgreSQL and retrying once\" statement=\"%.40s\"",
                 stmt_label(stmt));
    }
}

enum store_rc store_exec(struct store_conn *c, const struct store_stmt *stmt,
                         const char *const *params, PGresult **res)
{
    enum store_rc rc = exec_retrying(c, stmt, params, res);
    if (rc == STORE_UNAVAILABLE || rc == STORE_ERROR)
        metrics_add("mcpgate_db_errors_total", 1, "kind",
                    rc == STORE_ERROR ? "statement" : "unavailable", NULL);
    return rc;
}

enum store_rc store_exec_plain(struct store_conn *c, const char *sql)
{
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(r);
        return STORE_OK;
    }
    fprintf(stderr, "mcpgate: %s", PQresultErrorMessage(r));
    PQclear(r);
    return STORE_ERROR;
}

enum store_rc store_exec_one(struct store_conn *c, const struct store_stmt *stmt,
                             const char *const *params, PGresult **res)
{
    enum store_rc rc = store_exec(c, stmt, params, res);
    if (rc == STORE_OK && PQntuples(*res) != 1) {
        PQclear(*res);
        *res = NULL;
        return STORE_NOT_FOUND;
    }
    return rc;
}

enum store_rc store_exec_cmd(struct store_conn *c, const struct store_stmt *stmt,
                             const char *const *params)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, stmt, params, &r);
    PQclear(r);
    return rc;
}

enum store_rc store_exec_count(struct store_conn *c, const struct store_stmt *stmt,
                               const char *const *params, int *n)
{
    long long v = 0;
    enum store_rc rc = store_exec_ll(c, stmt, params, &v);
    if (rc == STORE_OK)
        *n = (int)v; /* a count of rows: it fits */
    return rc;
}

enum store_rc store_exec_rows(struct store_conn *c, const struct store_stmt *stmt,
                              const char *const *params, int *rows)
{
    PGresult *r;
    enum store_rc rc = store_exec(c, stmt, params, &r);
    if (rc != STORE_OK)
        return rc;
    *rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : atoi(PQcmdTuples(r));
    PQclear(r);
    return STORE_OK;
}

/* Runs stmt; STORE_NOT_FOUND when what it counted (by_count: in its first
 * column; else its rows, store_exec_rows()) is 0. */
static enum store_rc exec_some(struct store_conn *c, const struct store_stmt *stmt,
                               const char *const *params, int by_count)
{
    int n = 0;
    enum store_rc rc =
        by_count ? store_exec_count(c, stmt, params, &n) : store_exec_rows(c, stmt, params, &n);
    return rc == STORE_OK && n <= 0 ? STORE_NOT_FOUND : rc;
}

enum store_rc store_exec_found(struct store_conn *c, const struct store_stmt *stmt,
                               const char *const *params)
{
    return exec_some(c, stmt, params, 1);
}

enum store_rc store_exec_changed(struct store_conn *c, const struct store_stmt *stmt,
                                 const char *const *params)
{
    return exec_some(c, stmt, params, 0);
}

const char *store_int_text(char *buf, long long v)
{
    snprintf(buf, STORE_INT_LEN, "%lld", v);
    return buf;
}
