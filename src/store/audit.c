/*
 * store/audit.c - the audit trail of tool calls.
 */
#include "store/audit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/db_internal.h"
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

/* Inserts n rows in one statement (one transaction). */
static enum store_rc insert_rows(struct store_conn *c, const struct store_audit_entry *const *e,
                                 int n)
{
    if (n <= 0)
        return STORE_OK;
    struct buf cols[8] = {{0}};
    for (int i = 0; i < n; i++) {
        const char *uid = STORE_INT(e[i]->user_id), *dur = STORE_INT(e[i]->duration_ms);
        const char *v[8] = {uid,           e[i]->client_id, e[i]->tool, e[i]->args_digest,
                            e[i]->outcome, e[i]->detail,    dur,        e[i]->request_id};
        for (int k = 0; k < 8; k++)
            array_add(&cols[k], v[k]);
    }
    const char *params[8];
    for (int k = 0; k < 8; k++) {
        if (buf_append(&cols[k], "}", 1) < 0)
            abort();
        params[k] = buf_str(&cols[k]);
    }
    enum store_rc rc = store_exec_cmd(c, &stmt_append, params);
    metrics_observe("mcpgate_audit_batch_rows", n, batch_bounds,
                    (int)(sizeof batch_bounds / sizeof batch_bounds[0]), NULL);
    for (int k = 0; k < 8; k++)
        buf_free(&cols[k]);
    return rc;
}

/*
 * Group commit: a thread that finds fewer than LEADERS_MAX inserts in
 * flight leads, inserting its own row and every row queued so far in one
 * statement on its own connection; threads that arrive meanwhile queue
 * their row and sleep.
 * When the leader's statement is done it wakes the rows it wrote and hands
 * the lead to the oldest row still queued, whose thread then writes the
 * next batch. Every row is committed before its caller returns, so before
 * the call's response is sent, and each thread is woken once.
 */
#define BATCH_MAX   256
#define LEADERS_MAX 1 /* batches in flight at once */

struct queued {
    const struct store_audit_entry *e;
    int state; /* QUEUED, LEAD (write the next batch), DONE */
    enum store_rc rc;
    pthread_cond_t cond;
    struct queued *next;
};

enum { QUEUED, LEAD, DONE };

static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;
static struct queued *queue_head, **queue_tail = &queue_head;
static int leading; /* batches being written */

/* Under group_lock, as a leader: writes up to BATCH_MAX queued rows from
 * the head of the queue and marks them done. */
static void write_batch(struct store_conn *c, const struct queued *self)
{
    const struct store_audit_entry *rows[BATCH_MAX];
    struct queued *batch = queue_head, *q = batch;
    int n = 0;
    for (; q && n < BATCH_MAX; q = q->next)
        rows[n++] = q->e;
    queue_head = q;
    if (!queue_head)
        queue_tail = &queue_head;
    pthread_mutex_unlock(&group_lock);
    enum store_rc rc = insert_rows(c, rows, n);
    pthread_mutex_lock(&group_lock);
    for (struct queued *next; n-- > 0; batch = next) {
        next = batch->next;
        if (batch != self && batch->state == LEAD)
            leading--; /* handed the lead, not woken yet: that lead ends here */
        batch->rc = rc;
        batch->state = DONE;
        if (batch != self)
            pthread_cond_signal(&batch->cond);
    }
}

enum store_rc store_audit_append(struct store_conn *c, const struct store_audit_entry *e)
{
    struct queued self = {.e = e, .state = QUEUED};
    pthread_cond_init(&self.cond, NULL);
    pthread_mutex_lock(&group_lock);
    *queue_tail = &self;
    queue_tail = &self.next;
    if (leading < LEADERS_MAX) {
        leading++;
        self.state = LEAD;
    }
    while (self.state != DONE) {
        if (self.state == QUEUED) {
            /* the leader may need a connection of the pool more than we do */
            store_conn_release(c);
            pthread_cond_wait(&self.cond, &group_lock);
            continue;
        }
        write_batch(c, &self); /* a long queue may take more than one */
        if (self.state == DONE) {
            /* pass the lead on to the oldest waiting row, or give it up */
            if (queue_head && queue_head->state == QUEUED) {
                queue_head->state = LEAD;
                pthread_cond_signal(&queue_head->cond);
            } else {
                leading--;
            }
        }
    }
    pthread_mutex_unlock(&group_lock);
    pthread_cond_destroy(&self.cond);
    return self.rc;
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
