/*
 * store/audit.c - the audit trail of tool calls.
 */
#include "store/audit.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db_internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/metrics.h"

/* Any number of rows in one statement: each parameter is an array with one
 * element per row. */
static const struct store_stmt stmt_append = {
    "audit_append",
    "INSERT INTO audit_log (user_id, client_id, tool, args_digest, outcome, detail,"
    " duration_ms, request_id)"
    " SELECT nullif(u, 0), c, t, a, o, d, ms, r FROM unnest($1::bigint[], $2::text[],"
    " $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])"
    " AS x(u, c, t, a, o, d, ms, r)",
    8,
};

static const struct store_stmt stmt_query = {
    "audit_query",
    "SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " coalesce(u.username, a.user_id::text, ''), coalesce(a.client_id, ''), a.tool,"
    " a.args_digest, a.outcome, coalesce(a.detail, ''), a.duration_ms, coalesce(a.request_id, '')"
    " FROM audit_log a LEFT JOIN users u ON u.id = a.user_id"
    " WHERE ($1::bigint IS NULL OR a.user_id = $1::bigint)"
    " AND ($2::text IS NULL OR u.username = $2)"
    " AND ($3::text IS NULL OR a.tool = $3)"
    " AND ($4::text IS NULL OR a.outcome = $4)"
    " AND ($5::timestamptz IS NULL OR a.at >= $5::timestamptz)"
    " ORDER BY a.id DESC LIMIT $6::int",
    6,
};

/* A batch with new sessions (store_audit_session_then): their rows
 * (as stmt_create of store/session.c) and the audit rows in one statement,
 * so one transaction, one COMMIT. */
static const struct store_stmt stmt_append_sessions = {
    "audit_append_sessions",
    "WITH s AS (INSERT INTO mcp_sessions (id_hash, protocol_version, client_name,"
    " client_version, client_capabilities, expires_at, transport, user_id)"
    " SELECT h, v, cn, cv, coalesce(cc::jsonb, '{}'::jsonb), now() + make_interval(secs => ttl),"
    " coalesce(tr, 'streamable'), nullif(su, 0) FROM unnest($9::text[], $10::text[],"
    " $11::text[], $12::text[], $13::text[], $14::int[], $15::text[], $16::bigint[])"
    " AS y(h, v, cn, cv, cc, ttl, tr, su))"
    " INSERT INTO audit_log (user_id, client_id, tool, args_digest, outcome, detail,"
    " duration_ms, request_id)"
    " SELECT nullif(u, 0), c, t, a, o, d, ms, r FROM unnest($1::bigint[], $2::text[],"
    " $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])"
    " AS x(u, c, t, a, o, d, ms, r)",
    16,
};

/* Appends s to an array literal as one element ("..." or NULL). */
static void array_add(struct buf *b, const char *s)
{
    int rc = buf_append(b, b->len ? "," : "{", 1);
    if (!s) {
        rc |= buf_append(b, "NULL", 4);
    } else {
        rc |= buf_append(b, "\"", 1);
        for (; *s; s++)
            rc |= (*s == '"' || *s == '\\') ? buf_printf(b, "\\%c", *s) : buf_append(b, s, 1);
        rc |= buf_append(b, "\"", 1);
    }
    if (rc)
        abort();
}

static const double batch_bounds[] = {METRICS_BATCH_BUCKETS}; /* up to BATCH_MAX */

#define COLS 8 /* of an audit row, and of a session row */

/* Inserts n audit rows and ns new sessions in one statement (one
 * transaction). */
static enum store_rc insert_rows(struct store_conn *c, const struct store_audit_entry *const *e,
                                 int n, const struct store_session_new *const *s, int ns)
{
    if (n + ns <= 0)
        return STORE_OK;
    struct buf cols[2 * COLS] = {{0}};
    for (int i = 0; i < n; i++) {
        const char *uid = STORE_INT(e[i]->user_id), *dur = STORE_INT(e[i]->duration_ms);
        const char *v[COLS] = {uid,           e[i]->client_id, e[i]->tool, e[i]->args_digest,
                               e[i]->outcome, e[i]->detail,    dur,        e[i]->request_id};
        for (int k = 0; k < COLS; k++)
            array_add(&cols[k], v[k]);
    }
    for (int i = 0; i < ns; i++) {
        const char *ttl = STORE_INT(s[i]->ttl_s), *uid = STORE_INT(s[i]->user_id);
        const char *v[COLS] = {s[i]->id_hash,      s[i]->protocol_version,
                               s[i]->client_name,  s[i]->client_version,
                               s[i]->capabilities, ttl,
                               s[i]->transport,    uid};
        for (int k = 0; k < COLS; k++)
            array_add(&cols[COLS + k], v[k]);
    }
    int np = ns ? 2 * COLS : COLS;
    const char *params[2 * COLS];
    for (int k = 0; k < np; k++) {
        if (buf_append(&cols[k], cols[k].len ? "}" : "{}", cols[k].len ? 1 : 2) < 0)
            abort();
        params[k] = buf_str(&cols[k]);
    }
    enum store_rc rc = store_exec_cmd(c, ns ? &stmt_append_sessions : &stmt_append, params);
    if (n)
        metrics_observe("mcpgate_audit_batch_rows", n, batch_bounds,
                        (int)(sizeof batch_bounds / sizeof batch_bounds[0]), NULL);
    for (int k = 0; k < np; k++)
        buf_free(&cols[k]);
    return rc;
}

/*
 * Group commit through one writer thread per process: a thread that
 * finishes a call queues a copy of its row and either sleeps until it is
 * committed (store_audit_append) or goes on, leaving a function to be
 * called once it is (store_audit_append_then); a new session's row is
 * queued the same way (store_audit_session_then). The writer takes every
 * row queued (up to BATCH_MAX) and inserts them in one statement (one
 * transaction) on its own connection (so it never waits for the pool that
 * the requests being served hold), then wakes or calls back each
 * row's owner. Without the writer (not started: one thread, or a command)
 * a row is inserted at once on the caller's connection.
 */
#define BATCH_MAX 256

/* A burst of calls leaves the memory of up to every connection's detached
 * answer (its FastCGI request and buffers, freed here once sent) as free
 * chunks spread over the heap, which malloc keeps mapped. Once no row has
 * come for this long, the writer returns those pages to the system. */
#define IDLE_TRIM_S 1

struct audit_job {
    int is_session;             /* s is the row, else e */
    struct store_audit_entry e; /* its strings point into text */
    struct store_session_new s; /* likewise */
    void (*done)(void *arg, enum store_rc rc);
    void *arg;
    int state; /* QUEUED, DONE (a sleeping owner's) */
    enum store_rc rc;
    pthread_cond_t *cond; /* a sleeping owner's, or NULL */
    struct audit_job *next;
    char text[];
};

enum { QUEUED, DONE };

static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t group_work = PTHREAD_COND_INITIALIZER;
static struct audit_job *queue_head, **queue_tail = &queue_head;
static int writer_on, writer_stop;
static pthread_t writer_thread;
static struct store_conn *writer_db;

/* Copies s to *at and returns the copy (NULL stays NULL). */
static const char *copy_text(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*at, s, n);
    const char *out = *at;
    *at += n;
    return out;
}

/* A job with room for copies of the k strings s. */
static struct audit_job *job_alloc(const char *const *s, size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < k; i++)
        n += s[i] ? strlen(s[i]) + 1 : 0;
    return xcalloc(1, sizeof(struct audit_job) + n);
}

static struct audit_job *job_new(const struct store_audit_entry *e)
{
    const char *s[] = {e->client_id, e->tool, e->args_digest, e->outcome, e->detail, e->request_id};
    struct audit_job *j = job_alloc(s, sizeof s / sizeof s[0]);
    char *at = j->text;
    j->e = *e;
    j->e.client_id = copy_text(&at, e->client_id);
    j->e.tool = copy_text(&at, e->tool);
    j->e.args_digest = copy_text(&at, e->args_digest);
    j->e.outcome = copy_text(&at, e->outcome);
    j->e.detail = copy_text(&at, e->detail);
    j->e.request_id = copy_text(&at, e->request_id);
    return j;
}

static struct audit_job *job_new_session(const struct store_session_new *s)
{
    const char *t[] = {s->id_hash,        s->protocol_version, s->client_name,
                       s->client_version, s->capabilities,     s->transport};
    struct audit_job *j = job_alloc(t, sizeof t / sizeof t[0]);
    char *at = j->text;
    j->is_session = 1;
    j->s = *s;
    j->s.id_hash = copy_text(&at, s->id_hash);
    j->s.protocol_version = copy_text(&at, s->protocol_version);
    j->s.client_name = copy_text(&at, s->client_name);
    j->s.client_version = copy_text(&at, s->client_version);
    j->s.capabilities = copy_text(&at, s->capabilities);
    j->s.transport = copy_text(&at, s->transport);
    return j;
}

/* Under group_lock: queues j for the writer. */
static void job_queue(struct audit_job *j)
{
    *queue_tail = j;
    queue_tail = &j->next;
    pthread_cond_signal(&group_work);
}

/* Writes the n rows from batch on (taken off the queue) and sets each
 * job's rc. When the statement failed (not for want of the database) and
 * it held new sessions, a session's row may be what PostgreSQL refused
 * (a client sends its capabilities): the audit rows are written again on
 * their own and each session alone, so one client's bad row never costs
 * another its answer. */
static void insert_batch(struct audit_job *batch, int n)
{
    const struct store_audit_entry *rows[BATCH_MAX] = {0};
    const struct store_session_new *sessions[BATCH_MAX] = {0};
    int na = 0, ns = 0, i = 0;
    for (struct audit_job *j = batch; i < n; j = j->next, i++) {
        if (j->is_session)
            sessions[ns++] = &j->s;
        else
            rows[na++] = &j->e;
    }
    enum store_rc rc = insert_rows(writer_db, rows, na, sessions, ns);
    int alone = rc == STORE_ERROR && ns > 0 && n > 1;
    enum store_rc rows_rc = alone ? insert_rows(writer_db, rows, na, NULL, 0) : rc;
    i = 0;
    for (struct audit_job *j = batch; i < n; j = j->next, i++) {
        const struct store_session_new *one = &j->s;
        j->rc = !alone ? rc : j->is_session ? insert_rows(writer_db, NULL, 0, &one, 1) : rows_rc;
    }
}

/* Writes the n rows from batch on (taken off the queue) and hands each row
 * its outcome. Called without group_lock. */
static void write_batch(struct audit_job *batch, int n)
{
    insert_batch(batch, n);
    pthread_mutex_lock(&group_lock);
    struct audit_job *callbacks = NULL, **cb_tail = &callbacks;
    for (struct audit_job *next; n-- > 0; batch = next) {
        next = batch->next;
        if (batch->cond) {
            batch->state = DONE;
            pthread_cond_signal(batch->cond);
        } else {
            batch->next = NULL;
            *cb_tail = batch;
            cb_tail = &batch->next;
        }
    }
    pthread_mutex_unlock(&group_lock);
    for (struct audit_job *next; callbacks; callbacks = next) {
        next = callbacks->next;
        callbacks->done(callbacks->arg, callbacks->rc);
        free(callbacks);
    }
}

/* Under group_lock: waits for rows or the stop; after a batch, once
 * IDLE_TRIM_S passed without either, trims the heap (see IDLE_TRIM_S). */
static void writer_wait(int *wrote)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += IDLE_TRIM_S;
    while (!queue_head && !writer_stop) {
        if (!*wrote) {
            pthread_cond_wait(&group_work, &group_lock);
        } else if (pthread_cond_timedwait(&group_work, &group_lock, &until) == ETIMEDOUT) {
            *wrote = 0;
            pthread_mutex_unlock(&group_lock);
            malloc_trim(0);
            pthread_mutex_lock(&group_lock);
        }
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    int wrote = 0; /* a batch since the last trim */
    pthread_mutex_lock(&group_lock);
    for (;;) {
        writer_wait(&wrote);
        if (!queue_head)
            break; /* stopping, and every row written */
        struct audit_job *batch = queue_head, *j = batch;
        int n = 0;
        for (; j && n < BATCH_MAX; j = j->next)
            n++;
        queue_head = j;
        if (!queue_head)
            queue_tail = &queue_head;
        pthread_mutex_unlock(&group_lock);
        write_batch(batch, n);
        wrote = 1;
        pthread_mutex_lock(&group_lock);
    }
    pthread_mutex_unlock(&group_lock);
    return NULL;
}

int store_audit_writer_start(const char *conninfo, int connect_timeout_s,
                             const pthread_attr_t *attr)
{
    writer_db = store_conn_new(conninfo, connect_timeout_s);
    writer_stop = 0;
    if (pthread_create(&writer_thread, attr, writer_main, NULL) != 0) {
        store_conn_free(writer_db);
        writer_db = NULL;
        return -1;
    }
    pthread_mutex_lock(&group_lock);
    writer_on = 1;
    pthread_mutex_unlock(&group_lock);
    return 0;
}

void store_audit_writer_stop(void)
{
    pthread_mutex_lock(&group_lock);
    int on = writer_on;
    writer_on = 0;
    writer_stop = 1;
    pthread_cond_signal(&group_work);
    pthread_mutex_unlock(&group_lock);
    if (!on)
        return;
    pthread_join(writer_thread, NULL);
    store_conn_free(writer_db);
    writer_db = NULL;
}

enum store_rc store_audit_append(struct store_conn *c, const struct store_audit_entry *e)
{
    pthread_mutex_lock(&group_lock);
    if (!writer_on) {
        pthread_mutex_unlock(&group_lock);
        return insert_rows(c, &e, 1, NULL, 0);
    }
    pthread_cond_t cond;
    pthread_cond_init(&cond, NULL);
    struct audit_job *j = job_new(e);
    j->cond = &cond;
    job_queue(j);
    /* the writer may need a connection of the pool more than we do */
    store_conn_release(c);
    while (j->state != DONE)
        pthread_cond_wait(&cond, &group_lock);
    pthread_mutex_unlock(&group_lock);
    enum store_rc rc = j->rc;
    pthread_cond_destroy(&cond);
    free(j);
    return rc;
}

/* Queues j (freed when there is no writer) to call done once written. */
static int job_then(struct audit_job *j, void (*done)(void *arg, enum store_rc rc), void *arg)
{
    pthread_mutex_lock(&group_lock);
    if (!writer_on) {
        pthread_mutex_unlock(&group_lock);
        free(j);
        return -1;
    }
    j->done = done;
    j->arg = arg;
    job_queue(j);
    pthread_mutex_unlock(&group_lock);
    return 0;
}

int store_audit_append_then(const struct store_audit_entry *e,
                            void (*done)(void *arg, enum store_rc rc), void *arg)
{
    return job_then(job_new(e), done, arg);
}

int store_audit_session_then(const struct store_session_new *s,
                             void (*done)(void *arg, enum store_rc rc), void *arg)
{
    return job_then(job_new_session(s), done, arg);
}

#define AUDIT(field) STORE_COL(REF, struct store_audit_row, field)
STORE_ROW_MAP_DEFINE(audit_row, struct store_audit_row, AUDIT(id), AUDIT(at), AUDIT(user),
                     AUDIT(client_id), AUDIT(tool), AUDIT(args_digest), AUDIT(outcome),
                     AUDIT(detail), AUDIT(duration_ms), AUDIT(request_id));
STORE_ROWS_EACH_ROW_FIRST_DEFINE(audit_each, struct store_audit_row, &audit_row)

enum store_rc store_audit_query(struct store_conn *c, const struct store_audit_filter *f,
                                void (*fn)(const struct store_audit_row *row, void *arg), void *arg)
{
    int limit = f->limit <= 0 ? 50 : f->limit > 10000 ? 10000 : f->limit;
    const char *uid = f->user_id ? STORE_INT(f->user_id) : NULL;
    const char *params[] = {uid, f->username, f->tool, f->outcome, f->since, STORE_INT(limit)};
    return audit_each(c, &stmt_query, params, fn, arg);
}
