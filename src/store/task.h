/*
 * store/task.h - tasks of the tasks extension (table mcp_tasks,
 * sql/013_tasks.sql).
 *
 * Owns: a task's row and its status transitions. Every function that
 * takes user_id binds the task to its owner: 0 means authentication is
 * off (the row's user_id is NULL), and another user's task is
 * STORE_NOT_FOUND, as is an expired one. JSON arguments and results are
 * text; store/ does not parse them beyond what PostgreSQL's jsonb does.
 * Must not touch: JSON-RPC, HTTP.
 */
#ifndef MG_STORE_TASK_H
#define MG_STORE_TASK_H

#include "store/db.h"

#define STORE_TASK_ID_MAX 64

/* A task as tasks/get shows it. The strings are owned (store_task_clear). */
struct store_task {
    char task_id[STORE_TASK_ID_MAX + 1];
    char status[16];     /* working, input_required, completed, failed, cancelled */
    char created_at[32]; /* ISO 8601, UTC, milliseconds */
    char updated_at[32];
    long long ttl_ms;
    char *result;         /* JSON text, NULL unless completed */
    char *error;          /* JSON text, NULL unless failed */
    char *input_requests; /* JSON object text (unanswered requests) */
    char *input_answers;  /* JSON object text */
};

/* Frees the strings of t. Accepts a zeroed struct. */
void store_task_clear(struct store_task *t);

/* Creates a working task whose answers so far are answers (JSON object
 * text). Fills out on STORE_OK. */
__attribute__((warn_unused_result)) enum store_rc
store_task_create(struct store_conn *c, const char *task_id, long long user_id, const char *tool,
                  long long ttl_ms, const char *runner, const char *answers,
                  struct store_task *out);

/* Reads a live task of user_id into out. STORE_NOT_FOUND when there is none. */
__attribute__((warn_unused_result)) enum store_rc store_task_get(struct store_conn *c,
                                                                 const char *task_id,
                                                                 long long user_id,
                                                                 struct store_task *out);

/* The runner parks a working task on input: status input_required with
 * requests (JSON object text). STORE_NOT_FOUND when the task is no longer
 * working (cancelled meanwhile). */
__attribute__((warn_unused_result)) enum store_rc
store_task_park(struct store_conn *c, const char *task_id, const char *requests);

/* tasks/update: takes the answers (JSON object text) for the keys still
 * pending, drops those keys from the requests, and sets the task working
 * again when none is left. Answers for other keys are ignored.
 * STORE_NOT_FOUND when the task is unknown. */
__attribute__((warn_unused_result)) enum store_rc store_task_answer(struct store_conn *c,
                                                                    const char *task_id,
                                                                    long long user_id,
                                                                    const char *answers);

/* Ends a task that is not yet terminal: status completed (result set),
 * failed (error set) or cancelled. STORE_NOT_FOUND when it already ended
 * (a cancel came first: that status stays). */
__attribute__((warn_unused_result)) enum store_rc
store_task_finish(struct store_conn *c, const char *task_id, const char *status, const char *result,
                  const char *error);

/* tasks/cancel: a task that is not terminal becomes cancelled; a terminal
 * one stays as it is (and STORE_OK). STORE_NOT_FOUND when it is unknown. */
__attribute__((warn_unused_result)) enum store_rc
store_task_cancel(struct store_conn *c, const char *task_id, long long user_id);

#endif
