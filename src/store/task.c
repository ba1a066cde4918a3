/*
 * store/task.c - tasks of the tasks extension (table mcp_tasks).
 */
#include "store/task.h"

#include <stdlib.h>

#include "store/db_internal.h"

/* the columns every read returns, in this order */
#define TASK_COLUMNS                                                                               \
    "task_id, status, to_char(created_at AT TIME ZONE 'UTC', "                                     \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                                        \
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ttl_ms,"        \
    " result::text, error::text, input_requests::text, input_answers::text"

/* user_id IS NOT DISTINCT FROM $2: NULL (auth = none) matches NULL */
static const struct store_stmt stmt_create = {
    "task_create",
    "INSERT INTO mcp_tasks (task_id, user_id, tool, status, ttl_ms, expires_at, runner,"
    " input_answers) VALUES ($1, $2, $3, 'working', $4::bigint,"
    " now() + $4::bigint * interval '1 millisecond', $5, $6::jsonb) RETURNING " TASK_COLUMNS,
    6,
};

static const struct store_stmt stmt_get = {
    "task_get",
    "SELECT " TASK_COLUMNS " FROM mcp_tasks WHERE task_id = $1"
    " AND user_id IS NOT DISTINCT FROM $2::bigint AND expires_at > now()",
    2,
};

static const struct store_stmt stmt_park = {
    "task_park",
    "UPDATE mcp_tasks SET status = 'input_required', input_requests = $2::jsonb,"
    " updated_at = now() WHERE task_id = $1 AND status = 'working'",
    2,
};

/* the answers for pending keys only; working again when none is left */
static const struct store_stmt stmt_answer = {
    "task_answer",
    "WITH a AS (SELECT coalesce(jsonb_object_agg(k, v), '{}') AS given"
    "  FROM mcp_tasks t, jsonb_each($3::jsonb) e(k, v)"
    "  WHERE t.task_id = $1 AND t.input_requests ? k),"
    " left_ AS (SELECT coalesce(jsonb_object_agg(k, v), '{}') AS pending"
    "  FROM mcp_tasks t, jsonb_each(t.input_requests) e(k, v)"
    "  WHERE t.task_id = $1 AND NOT ($3::jsonb ? k))"
    " UPDATE mcp_tasks SET input_answers = input_answers || a.given,"
    "  input_requests = left_.pending,"
    "  status = CASE WHEN status = 'input_required' AND left_.pending = '{}' THEN 'working'"
    "           ELSE status END,"
    "  updated_at = now()"
    " FROM a, left_ WHERE task_id = $1 AND user_id IS NOT DISTINCT FROM $2::bigint"
    " AND expires_at > now()",
    3,
};

static const struct store_stmt stmt_finish = {
    "task_finish",
    "UPDATE mcp_tasks SET status = $2, result = $3::jsonb, error = $4::jsonb,"
    " input_requests = '{}', updated_at = now()"
    " WHERE task_id = $1 AND status IN ('working', 'input_required')",
    4,
};

/* one row (found) whatever happened; the update only when not terminal */
static const struct store_stmt stmt_cancel = {
    "task_cancel",
    "WITH t AS (SELECT task_id FROM mcp_tasks WHERE task_id = $1"
    "  AND user_id IS NOT DISTINCT FROM $2::bigint AND expires_at > now()),"
    " u AS (UPDATE mcp_tasks SET status = 'cancelled', input_requests = '{}',"
    "  updated_at = now() WHERE task_id IN (SELECT task_id FROM t)"
    "  AND status IN ('working', 'input_required') RETURNING 1)"
    " SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM u)",
    2,
};

void store_task_clear(struct store_task *t)
{
    free(t->result);
    free(t->error);
    free(t->input_requests);
    free(t->input_answers);
    t->result = t->error = t->input_requests = t->input_answers = NULL;
}

/* user_id as a parameter: NULL for 0 (auth = none). */
static const char *user_param(long long user_id, char buf[STORE_INT_LEN])
{
    return user_id ? store_int_text(buf, user_id) : NULL;
}

#define TASK(kind, field) STORE_COL(kind, struct store_task, field)
STORE_ROW_MAP_DEFINE(task_row, struct store_task, TASK(TEXT, task_id), TASK(TEXT, status),
                     TASK(TEXT, created_at), TASK(TEXT, updated_at), TASK(LL, ttl_ms),
                     TASK(DUP_NULL, result), TASK(DUP_NULL, error), TASK(DUP_NULL, input_requests),
                     TASK(DUP_NULL, input_answers));

enum store_rc store_task_create(struct store_conn *c, const char *task_id, long long user_id,
                                const char *tool, long long ttl_ms, const char *runner,
                                const char *answers, struct store_task *out)
{
    char ubuf[STORE_INT_LEN];
    const char *params[] = {task_id, user_param(user_id, ubuf), tool, STORE_INT(ttl_ms), runner,
                            answers};
    return store_exec_row(c, &stmt_create, params, &task_row, out);
}

enum store_rc store_task_get(struct store_conn *c, const char *task_id, long long user_id,
                             struct store_task *out)
{
    char ubuf[STORE_INT_LEN];
    const char *params[] = {task_id, user_param(user_id, ubuf)};
    return store_exec_row(c, &stmt_get, params, &task_row, out);
}

enum store_rc store_task_park(struct store_conn *c, const char *task_id, const char *requests)
{
    const char *params[] = {task_id, requests};
    return store_exec_changed(c, &stmt_park, params);
}

enum store_rc store_task_answer(struct store_conn *c, const char *task_id, long long user_id,
                                const char *answers)
{
    char ubuf[STORE_INT_LEN];
    const char *params[] = {task_id, user_param(user_id, ubuf), answers};
    return store_exec_changed(c, &stmt_answer, params);
}

enum store_rc store_task_finish(struct store_conn *c, const char *task_id, const char *status,
                                const char *result, const char *error)
{
    const char *params[] = {task_id, status, result, error};
    return store_exec_changed(c, &stmt_finish, params);
}

enum store_rc store_task_cancel(struct store_conn *c, const char *task_id, long long user_id)
{
    char ubuf[STORE_INT_LEN];
    const char *params[] = {task_id, user_param(user_id, ubuf)};
    return store_exec_found(c, &stmt_cancel, params);
}
