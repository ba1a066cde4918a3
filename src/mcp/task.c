/*
 * mcp/task.c - the tasks extension: creating tasks, running them, and
 * tasks/get, tasks/update, tasks/cancel.
 */
#include "mcp/task.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp/access.h"
#include "mcp/audit.h"
#include "mcp/call.h"
#include "mcp/mrtr.h"
#include "mcp/version.h"
#include "mcp/wake.h"
#include "oauth/scope.h"
#include "store/stream.h"
#include "store/task.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#define TASK_ID_BYTES 18 /* 24 base64url characters */

/* One task this process runs; on the running list until its thread ends. */
struct task_job {
    const struct mg_config *cfg;
    const volatile int *stop_flag;
    struct oauth_principal principal; /* a copy: the request that made it is gone */
    int has_principal;
    char task_id[STORE_TASK_ID_MAX + 1];
    char tool[129];
    struct json_object *args; /* owned */
    struct json_object *caps; /* owned: the client's capabilities */
    int rounds;               /* the tool's runs so far (its runner's alone) */
    struct task_job *next;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_done = PTHREAD_COND_INITIALIZER;
static struct task_job *jobs;
static int n_jobs;

static long long user_of(const struct mcp_env *env)
{
    return env->principal ? env->principal->user_id : 0;
}

int mcp_task_declared(const struct mcp_call *call)
{
    struct json_object *ext = json_get(call->client_caps, "extensions", json_type_object);
    return json_get(ext, MCP_TASKS_EXTENSION, json_type_object) != NULL;
}

/* Fails err with MISSING_CAPABILITY and data naming the tasks extension
 * as the required capability; message says what needed it. */
static struct json_object *tasks_missing(struct mcp_err *err, const char *message)
{
    struct json_object *ext = json_object_new_object();
    json_add(ext, MCP_TASKS_EXTENSION, json_object_new_object());
    struct json_object *caps = json_object_new_object();
    json_add(caps, "extensions", ext);
    err->data = json_object_new_object();
    json_add(err->data, "requiredCapabilities", caps);
    return mcp_fail(err, MCP_ERROR_MISSING_CAPABILITY, message);
}

struct json_object *mcp_task_required_error(struct mcp_err *err)
{
    return tasks_missing(err, "Missing required client capability: this tool runs only as a task "
                              "(extension " MCP_TASKS_EXTENSION ")");
}

/* The fields every task shape shares (Task): taskId, status, timestamps,
 * ttlMs, pollIntervalMs, into o. */
static void task_fields(struct json_object *o, const struct store_task *t)
{
    json_add(o, "taskId", json_object_new_string(t->task_id));
    json_add(o, "status", json_object_new_string(t->status));
    json_add(o, "createdAt", json_object_new_string(t->created_at));
    json_add(o, "lastUpdatedAt", json_object_new_string(t->updated_at));
    json_add(o, "ttlMs", json_object_new_int64(t->ttl_ms));
    json_add(o, "pollIntervalMs", json_object_new_int(MCP_TASK_POLL_MS));
}

/* Parses stored JSON text; NULL for NULL or garbage. */
static struct json_object *parse(const char *text)
{
    struct json_object *o = NULL;
    if (!text || json_parse_strict(text, strlen(text), &o, NULL) < 0)
        return NULL;
    return o;
}

/* --- the runner ------------------------------------------------------------- */

static void job_free(struct task_job *j)
{
    json_object_put(j->args);
    json_object_put(j->caps);
    free(j);
}

static void job_done(struct task_job *j)
{
    pthread_mutex_lock(&jobs_lock);
    for (struct task_job **p = &jobs; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            break;
        }
    }
    n_jobs--;
    pthread_cond_broadcast(&jobs_done);
    pthread_mutex_unlock(&jobs_lock);
    job_free(j);
}

static void finish(struct store_conn *db, const char *id, const char *status, const char *result,
                   int code, const char *message)
{
    char error[320] = "";
    if (message) {
        struct json_object *e = json_object_new_object();
        json_add(e, "code", json_object_new_int(code));
        json_add(e, "message", json_object_new_string(message));
        snprintf(error, sizeof error, "%s", json_text(e, NULL));
        json_object_put(e);
    }
    enum store_rc rc = store_task_finish(db, id, status, result, message ? error : NULL);
    if (rc == STORE_NOT_FOUND)
        LOG_INFO("msg=\"task ended after it was cancelled\"");
    else if (rc != STORE_OK)
        LOG_WARN("msg=\"could not record the end of a task\" status=%s", status);
    else
        LOG_INFO("msg=\"task ended\" status=%s", status);
}

/* Waits while the task is parked on input. Returns 1 when it is working
 * again (all answered), 0 when it ended, was cancelled or the process
 * stops. */
static int await_input(struct mcp_env *env, struct task_job *j, struct mcp_waiter *wu)
{
    for (;;) {
        store_conn_release(env->db);
        if (j->stop_flag && *j->stop_flag)
            return 0;
        mcp_wake_wait(wu, 1000);
        struct store_task t;
        enum store_rc rc = store_task_get(env->db, j->task_id, user_of(env), &t);
        if (rc == STORE_NOT_FOUND)
            return 0; /* expired */
        if (rc != STORE_OK)
            continue; /* the store is away: look again */
        int working = strcmp(t.status, "working") == 0;
        int parked = strcmp(t.status, "input_required") == 0;
        store_task_clear(&t);
        if (working)
            return 1;
        if (!parked)
            return 0;
    }
}

/* Before a round after the first (its answers came in a later request):
 * returns 1 when the credential the task was made with no longer holds or
 * cannot be checked (the task failed, the refusal audited), else 0. */
static int credential_ended(struct mcp_env *env, struct task_job *j, const struct mcp_call *call,
                            const struct tool_def *tool)
{
    int ended = mcp_credential_ended(env);
    if (ended == 0)
        return 0;
    if (ended < 0) {
        finish(env->db, j->task_id, "failed", NULL, JSONRPC_INTERNAL_ERROR,
               "service temporarily unavailable: the task's credential could not be checked");
        return 1;
    }
    finish(env->db, j->task_id, "failed", NULL, MCP_CREDENTIAL_ENDED_CODE,
           MCP_CREDENTIAL_ENDED_MSG);
    mcp_audit_call(call, tool->name, j->args, "refused", MCP_CREDENTIAL_ENDED_DETAIL, mg_now_ms());
    return 1;
}

/* Runs the tool once with the answers stored so far. Returns 1 to run it
 * again (it asked for input that has since come), 0 when the task is over. */
static int run_round(struct mcp_env *env, struct task_job *j, struct mcp_waiter *wc,
                     struct mcp_waiter *wu)
{
    struct store_task t;
    enum store_rc rc = store_task_get(env->db, j->task_id, user_of(env), &t);
    if (rc != STORE_OK) {
        if (rc != STORE_NOT_FOUND)
            finish(env->db, j->task_id, "failed", NULL, JSONRPC_INTERNAL_ERROR,
                   "the task's state could not be read");
        return 0;
    }
    struct json_object *answers = parse(t.input_answers);
    int live = strcmp(t.status, "working") == 0;
    store_task_clear(&t);
    if (!live) {
        json_object_put(answers);
        return 0;
    }
    struct mcp_call call = {.env = env,
                            .version = MCP_VERSION_MODERN,
                            .stateless = 1,
                            .mrtr = 1,
                            .in_task = 1,
                            .cancel_waiter = wc};
    call.client_caps = json_object_get(j->caps);
    call.input_answers = answers ? answers : json_object_new_object();
    call.started_ms = 0;
    const struct tool_def *tool = tool_find_db(env->db, j->tool);
    int again = 0;
    if (!tool) {
        finish(env->db, j->task_id, "failed", NULL, JSONRPC_INTERNAL_ERROR,
               "the tool no longer exists");
        call.cancel_waiter = NULL; /* the runner's, not the call's to free */
        mcp_call_finish(&call);
        return 0;
    }
    call.tool = tool;
    if (j->rounds++ > 0 && credential_ended(env, j, &call, tool)) {
        call.cancel_waiter = NULL; /* the runner's, not the call's to free */
        mcp_call_finish(&call);
        return 0;
    }
    struct tool_ctx ctx;
    mcp_call_tool_ctx(&call, &ctx);
    ctx.tool = tool;
    long long t0 = mg_now_ms();
    struct json_object *r = tool->call(&ctx, j->args);
    int cancelled = call.cancelled || (wc && mcp_wake_fired(wc));
    int stopping = j->stop_flag && *j->stop_flag;
    if (stopping) {
        finish(env->db, j->task_id, "failed", NULL, JSONRPC_INTERNAL_ERROR,
               "the process running the task stopped before it finished");
        mcp_audit_call(&call, tool->name, j->args, "error", "process stopped", t0);
    } else if (cancelled) {
        mcp_audit_call(&call, tool->name, j->args, "cancelled", NULL, t0);
    } else if (!r) {
        finish(env->db, j->task_id, "failed", NULL, JSONRPC_INTERNAL_ERROR,
               "the tool failed without a result");
        mcp_audit_call(&call, tool->name, j->args, "error", "no result", t0);
    } else if (call.input_requests) {
        rc = store_task_park(env->db, j->task_id, json_text(call.input_requests, NULL));
        mcp_audit_call(&call, tool->name, j->args, "input_required", NULL, t0);
        again = rc == STORE_OK && await_input(env, j, wu);
    } else {
        int is_error = json_object_get_boolean(json_get(r, "isError", json_type_boolean));
        if (mcp_audit_call(&call, tool->name, j->args, is_error ? "error" : "ok", NULL, t0) < 0)
            finish(env->db, j->task_id, "failed", NULL, JSONRPC_INTERNAL_ERROR,
                   "the call's audit row could not be written");
        else
            finish(env->db, j->task_id, "completed", json_text(r, NULL), 0, NULL);
    }
    json_object_put(r);
    call.cancel_waiter = NULL; /* the runner's, not the call's to free */
    mcp_call_finish(&call);
    return again;
}

static void *runner_main(void *arg)
{
    struct task_job *j = arg;
    struct store_conn *db = store_conn_new(j->cfg->database, j->cfg->db_connect_timeout_s);
    struct mcp_env env = {.cfg = j->cfg,
                          .db = db,
                          .stop_flag = j->stop_flag,
                          .principal = j->has_principal ? &j->principal : NULL};
    struct mcp_waiter wc, wu;
    char key[MCP_WAKE_KEY_MAX];
    snprintf(key, sizeof key, "tc:%s", j->task_id);
    mcp_wake_register(&wc, key);
    snprintf(key, sizeof key, "tu:%s", j->task_id);
    mcp_wake_register(&wu, key);
    while (run_round(&env, j, &wc, &wu)) {
        /* answered: run the tool again with every answer */
    }
    mcp_wake_unregister(&wu);
    mcp_wake_unregister(&wc);
    store_conn_free(db);
    job_done(j);
    return NULL;
}

/* Starts j's thread, detached. Returns 0, or -1 (j freed). */
static int spawn(struct task_job *j)
{
    pthread_mutex_lock(&jobs_lock);
    if (n_jobs >= MCP_TASK_MAX_PER_PROCESS) {
        pthread_mutex_unlock(&jobs_lock);
        job_free(j);
        return -1;
    }
    j->next = jobs;
    jobs = j;
    n_jobs++;
    pthread_mutex_unlock(&jobs_lock);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &attr, runner_main, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        job_done(j);
        return -1;
    }
    return 0;
}

struct json_object *mcp_task_start(struct mcp_call *call, const struct tool_def *tool,
                                   struct json_object *args, struct mcp_err *err)
{
    const struct mcp_env *env = call->env;
    pthread_mutex_lock(&jobs_lock);
    int full = n_jobs >= MCP_TASK_MAX_PER_PROCESS;
    pthread_mutex_unlock(&jobs_lock);
    if (full) {
        return mcp_rate_limited(err, 1, "Too many tasks are running on this server: retry shortly");
    }
    struct task_job *j = xcalloc(1, sizeof *j);
    j->cfg = env->cfg;
    j->stop_flag = env->stop_flag;
    if (env->principal) {
        j->principal = *env->principal;
        j->principal.bearer = NULL; /* the request's token is gone when the task runs */
        j->has_principal = 1;
    }
    crypto_token(TASK_ID_BYTES, j->task_id);
    snprintf(j->tool, sizeof j->tool, "%s", tool->name);
    j->args = json_tokener_parse(json_text(args, NULL)); /* a copy of its own */
    j->caps = call->client_caps ? json_object_get(call->client_caps) : json_object_new_object();
    char runner[300], host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    snprintf(runner, sizeof runner, "%s:%ld", host, (long)getpid());
    struct store_task t;
    const char *answers = call->input_answers ? json_text(call->input_answers, NULL) : "{}";
    enum store_rc rc = store_task_create(env->db, j->task_id, user_of(env), tool->name,
                                         MCP_TASK_TTL_MS, runner, answers, &t);
    if (rc != STORE_OK) {
        job_free(j);
        return mcp_unavailable(err);
    }
    struct json_object *r = json_object_new_object();
    json_add(r, "resultType", json_object_new_string("task"));
    task_fields(r, &t);
    store_task_clear(&t);
    /* committed before the answer leaves: tasks/get anywhere finds it */
    if (spawn(j) < 0) {
        /* spawn freed j; the row must not stay working with nobody running it */
        finish(env->db, t.task_id, "failed", NULL, JSONRPC_INTERNAL_ERROR,
               "the task could not be started");
    }
    LOG_INFO("msg=\"task created\" tool=%s", tool->name);
    return r;
}

/* --- tasks/get, tasks/update, tasks/cancel -------------------------------- */

/* Checks what every tasks/ method needs. Returns the taskId, or NULL with
 * err. */
static const char *task_param(struct mcp_call *call, struct json_object *params,
                              struct mcp_err *err)
{
    if (!call->stateless) {
        mcp_fail(err, JSONRPC_METHOD_NOT_FOUND, "Method not found");
        return NULL;
    }
    if (!mcp_task_declared(call)) {
        tasks_missing(
            err, "Missing required client capability: declare the extension " MCP_TASKS_EXTENSION);
        return NULL;
    }
    const char *id = json_get_string(params, "taskId");
    if (!id || !*id || strlen(id) > STORE_TASK_ID_MAX) {
        mcp_fail(err, JSONRPC_INVALID_PARAMS,
                 "Invalid params: params.taskId (a string) is required");
        return NULL;
    }
    return id;
}

/* 1 when rc (of a store call on the caller's task) failed: err says "no
 * such task" or "unavailable"; 0 when it went through. */
static int task_failed(enum store_rc rc, struct mcp_err *err)
{
    switch (rc) {
    case STORE_OK:
        return 0;
    case STORE_NOT_FOUND:
        mcp_fail(err, JSONRPC_INVALID_PARAMS, "Invalid params: no such task (or it expired)");
        return 1;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        break;
    }
    mcp_unavailable(err);
    return 1;
}

/* The answer to a change of task id: {} after telling its runner (the
 * wake key prefix:id; what to log when that fails), or NULL with err. */
static struct json_object *changed(struct mcp_call *call, const char *id, enum store_rc rc,
                                   const char *prefix, const char *no_wake, struct mcp_err *err)
{
    if (task_failed(rc, err))
        return NULL;
    char key[MCP_WAKE_KEY_MAX];
    snprintf(key, sizeof key, "%s:%s", prefix, id);
    if (store_notify(call->env->db, key) != STORE_OK)
        LOG_WARN("msg=\"%s\"", no_wake);
    return json_object_new_object();
}

struct json_object *mcp_tasks_get(struct mcp_call *call, struct json_object *params,
                                  struct mcp_err *err)
{
    const char *id = task_param(call, params, err);
    if (!id)
        return NULL;
    struct store_task t;
    if (task_failed(store_task_get(call->env->db, id, user_of(call->env), &t), err))
        return NULL;
    struct json_object *r = json_object_new_object();
    task_fields(r, &t);
    if (strcmp(t.status, "completed") == 0 && t.result)
        json_add(r, "result", parse(t.result));
    else if (strcmp(t.status, "failed") == 0 && t.error)
        json_add(r, "error", parse(t.error));
    else if (strcmp(t.status, "input_required") == 0 && t.input_requests)
        json_add(r, "inputRequests", parse(t.input_requests));
    store_task_clear(&t);
    return r;
}

struct json_object *mcp_tasks_update(struct mcp_call *call, struct json_object *params,
                                     struct mcp_err *err)
{
    const char *id = task_param(call, params, err);
    if (!id)
        return NULL;
    struct json_object *responses = json_get(params, "inputResponses", json_type_object);
    if (!responses)
        return mcp_fail(err, JSONRPC_INVALID_PARAMS,
                        "Invalid params: params.inputResponses (an object) is required");
    return changed(
        call, id,
        store_task_answer(call->env->db, id, user_of(call->env), json_text(responses, NULL)), "tu",
        "could not wake a task's runner", err);
}

struct json_object *mcp_tasks_cancel(struct mcp_call *call, struct json_object *params,
                                     struct mcp_err *err)
{
    const char *id = task_param(call, params, err);
    if (!id)
        return NULL;
    struct json_object *r =
        changed(call, id, store_task_cancel(call->env->db, id, user_of(call->env)), "tc",
                "could not tell a task's runner it was cancelled", err);
    if (r)
        LOG_INFO("msg=\"task cancelled by the client\"");
    return r;
}

void mcp_tasks_drain(const char *conninfo, int connect_timeout_s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += MCP_TASK_DRAIN_S;
    pthread_mutex_lock(&jobs_lock);
    while (n_jobs > 0 && pthread_cond_timedwait(&jobs_done, &jobs_lock, &deadline) == 0) {
        /* a task ended: look again */
    }
    size_t left = n_jobs > 0 ? (size_t)n_jobs : 0;
    char(*ids)[STORE_TASK_ID_MAX + 1] = left ? calloc(left, sizeof *ids) : NULL;
    size_t n = 0;
    for (struct task_job *j = jobs; j && ids && n < left; j = j->next)
        snprintf(ids[n++], sizeof ids[0], "%s", j->task_id);
    pthread_mutex_unlock(&jobs_lock);
    if (!n) {
        free(ids);
        return;
    }
    LOG_WARN("msg=\"tasks still running at stop are marked failed\" count=%zu", n);
    struct store_conn *db = store_conn_new(conninfo, connect_timeout_s);
    for (size_t i = 0; i < n; i++)
        finish(db, ids[i], "failed", NULL, JSONRPC_INTERNAL_ERROR,
               "the process running the task stopped before it finished");
    store_conn_free(db);
    free(ids);
}
