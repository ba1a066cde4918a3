/*
 * mcp/audit.c - what the audit trail and the rate limits see of a tool call.
 */
#include "mcp/audit.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mcp/metrics.h"
#include "oauth/scope.h"
#include "store/audit.h"
#include "store/users.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

static int secret_name(const char *key)
{
    static const char *const words[] = {"password", "passwd",     "secret",     "token",
                                        "apikey",   "api_key",    "credential", "authorization",
                                        "cookie",   "private_key"};
    char lower[64];
    size_t n = 0;
    for (; key[n] && n + 1 < sizeof lower; n++)
        lower[n] = (char)tolower((unsigned char)key[n]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(lower, words[i]))
            return 1;
    return 0;
}

/* A deep copy of v with secret-looking fields redacted. */
static struct json_object *redacted(struct json_object *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return json_object_new_string("[too deep]");
    if (json_object_is_type(v, json_type_object)) {
        struct json_object *o = json_object_new_object();
        json_object_object_foreach(v, key, val)
        {
            json_add(o, key,
                     secret_name(key) ? json_object_new_string("[redacted]")
                                      : redacted(val, depth + 1));
        }
        return o;
    }
    if (json_object_is_type(v, json_type_array)) {
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (json_object_array_add(a, redacted(json_object_array_get_idx(v, i), depth + 1)))
                abort();
        return a;
    }
    return v ? json_object_get(v) : NULL;
}

void mcp_args_digest(struct json_object *args, char out[65])
{
    struct json_object *copy = args ? redacted(args, 0) : json_object_new_object();
    size_t len = 0;
    const char *text = json_text(copy, &len);
    crypto_sha256_hex(text, len, out);
    json_object_put(copy);
}

/* The audit row of a call, as written and as counted. */
static void audit_entry(const struct mcp_call *call, const char *tool, struct json_object *args,
                        const char *outcome, const char *detail, long long started_ms,
                        char name[129], char digest[65], struct store_audit_entry *e)
{
    const struct oauth_principal *p = call->env->principal;
    mcp_args_digest(args, digest);
    /* cut between characters: PostgreSQL stores only valid UTF-8 */
    snprintf(name, 129, "%.*s", (int)json_utf8_cut(tool, 128), tool);
    long long dur = mg_now_ms() - started_ms;
    *e = (struct store_audit_entry){
        .user_id = p ? p->user_id : 0,
        .client_id = p ? p->client_id : NULL,
        .tool = name,
        .args_digest = digest,
        .outcome = outcome,
        .detail = detail,
        .duration_ms = dur < 0            ? 0
                       : dur > 2000000000 ? 2000000000
                                          : (int)dur,
        .request_id = log_request_id(),
    };
}

static void audit_failed(const char *name, const char *outcome)
{
    LOG_ERROR("msg=\"could not write the audit row of a tool call\" tool=%s outcome=%s", name,
              outcome);
}

int mcp_audit_call(const struct mcp_call *call, const char *tool, struct json_object *args,
                   const char *outcome, const char *detail, long long started_ms)
{
    char name[129], digest[65];
    struct store_audit_entry e;
    audit_entry(call, tool, args, outcome, detail, started_ms, name, digest, &e);
    int stored = store_audit_append(call->env->db, &e) == STORE_OK;
    mcp_metrics_call(call, name, outcome, detail, e.duration_ms, stored);
    if (!stored) {
        audit_failed(name, outcome);
        return -1;
    }
    return 0;
}

/* A row on its way: whichever of the writer (committed) and the caller
 * (mcp_audit_pending_then) comes second sends the answer and frees it. */
struct mcp_audit_pending {
    int session; /* a new session's row, else a call's */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int committed; /* the writer is done with it */
    int stored;    /* and the row is in */
    void (*then)(void *arg, int stored);
    void *arg;
    struct mcp_call_metric *metric;
    char name[129];
    char outcome[24];
};

static void pending_free(struct mcp_audit_pending *p)
{
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->metric);
    free(p);
}

/* On the writer's thread, once the row's transaction is over. */
static void pending_committed(void *arg, enum store_rc rc)
{
    struct mcp_audit_pending *p = arg;
    int stored = rc == STORE_OK;
    if (p->session && !stored)
        LOG_ERROR("msg=\"could not write a new session's row\"");
    if (!p->session) {
        mcp_metrics_call_record(p->metric, stored);
        if (!stored)
            audit_failed(p->name, p->outcome);
    }
    pthread_mutex_lock(&p->lock);
    p->committed = 1;
    p->stored = stored;
    void (*then)(void *, int) = p->then;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (then) {
        then(p->arg, stored);
        pending_free(p);
    }
}

struct mcp_audit_pending *mcp_audit_call_pending(const struct mcp_call *call, const char *tool,
                                                 struct json_object *args, const char *outcome,
                                                 const char *detail, long long started_ms)
{
    struct mcp_audit_pending *p = xcalloc(1, sizeof *p);
    char digest[65];
    struct store_audit_entry e;
    audit_entry(call, tool, args, outcome, detail, started_ms, p->name, digest, &e);
    snprintf(p->outcome, sizeof p->outcome, "%s", outcome);
    p->metric = mcp_metrics_call_new(call, p->name, outcome, detail, e.duration_ms);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (store_audit_append_then(&e, pending_committed, p) < 0) {
        pending_free(p);
        return NULL;
    }
    return p;
}

struct mcp_audit_pending *mcp_session_create_pending(const struct store_session_new *s)
{
    struct mcp_audit_pending *p = xcalloc(1, sizeof *p);
    p->session = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (store_audit_session_then(s, pending_committed, p) < 0) {
        pending_free(p);
        return NULL;
    }
    return p;
}

int mcp_audit_pending_poll(struct mcp_audit_pending *p, int *stored)
{
    pthread_mutex_lock(&p->lock);
    int done = p->committed;
    *stored = p->stored;
    pthread_mutex_unlock(&p->lock);
    if (done)
        pending_free(p);
    return done;
}

int mcp_audit_pending_wait(struct mcp_audit_pending *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->committed)
        pthread_cond_wait(&p->cond, &p->lock);
    int stored = p->stored;
    pthread_mutex_unlock(&p->lock);
    pending_free(p);
    return stored ? 0 : -1;
}

void mcp_audit_pending_then(struct mcp_audit_pending *p, void (*then)(void *arg, int stored),
                            void *arg)
{
    pthread_mutex_lock(&p->lock);
    int done = p->committed;
    if (!done) {
        p->then = then;
        p->arg = arg;
    }
    int stored = p->stored;
    pthread_mutex_unlock(&p->lock);
    if (done) {
        pending_free(p);
        then(arg, stored);
    }
}

/*
 * Rate limits are counted in PostgreSQL, shared by every process, in
 * leases: a process adds a lease of calls to the window's counter at once
 * and hands them out itself, so most calls cost no round trip. A lease is
 * limit/64 calls (at least 1, at most 1,000); whatever a process leased
 * and did not use is counted, so a user may be refused up to one lease
 * per other process before the limit, never allowed past it. A process
 * that found the limit reached refuses locally until the window ends.
 */
#define RATE_WINDOW_S  60
#define RATE_LEASES    256
#define RATE_LEASE_DIV 64
#define RATE_LEASE_MAX 1000

struct rate_lease {
    char key[96];
    long long window; /* start of the window, unix seconds */
    int left;         /* calls of the lease not handed out yet */
    int exhausted;    /* the limit was reached in this window */
};

static pthread_mutex_t lease_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rate_lease leases[RATE_LEASES];

static struct rate_lease *lease_of(const char *key)
{
    unsigned h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &leases[h % RATE_LEASES];
}

/* Takes one call from this process's lease for key: 1 taken, 0 refused,
 * -1 when a new lease is needed. Under lease_lock. */
static int lease_take(struct rate_lease *l, const char *key, long long window)
{
    if (strcmp(l->key, key) != 0 || l->window != window)
        return -1;
    if (l->left > 0) {
        l->left--;
        return 1;
    }
    return l->exhausted ? 0 : -1;
}

/* Counts one call against key; 1 when over limit (retry time set). */
static int over_limit(const struct mcp_call *call, const char *key, int limit, int *retry_after_s)
{
    time_t now = time(NULL);
    long long window = (long long)now - (long long)now % RATE_WINDOW_S;
    *retry_after_s = (int)(window + RATE_WINDOW_S - (long long)now); /* windows are aligned */
    struct rate_lease *l = lease_of(key);
    pthread_mutex_lock(&lease_lock);
    int got = lease_take(l, key, window);
    pthread_mutex_unlock(&lease_lock);
    if (got >= 0)
        return !got;
    int want = limit / RATE_LEASE_DIV;
    want = want < 1 ? 1 : want > RATE_LEASE_MAX ? RATE_LEASE_MAX : want;
    int count = 0;
    if (store_rate_add(call->env->db, key, RATE_WINDOW_S, want, &count) != STORE_OK)
        return -1;
    /* count includes our lease: the part of it at or under the limit is ours */
    int granted = limit - (count - want);
    granted = granted < 0 ? 0 : granted > want ? want : granted;
    pthread_mutex_lock(&lease_lock);
    snprintf(l->key, sizeof l->key, "%s", key);
    l->window = window;
    l->left = granted > 0 ? granted - 1 : 0;
    l->exhausted = granted < want;
    pthread_mutex_unlock(&lease_lock);
    return granted == 0;
}

int mcp_rate_check(const struct mcp_call *call, int *retry_after_s)
{
    const struct oauth_principal *p = call->env->principal;
    const struct mg_config *cfg = call->env->cfg;
    if (!p)
        return 0;
    char key[96];
    int rc = 0;
    if (cfg->rate_limit_user_per_min > 0) {
        snprintf(key, sizeof key, "tools:u:%lld", p->user_id);
        rc = over_limit(call, key, cfg->rate_limit_user_per_min, retry_after_s);
    }
    if (rc == 0 && cfg->rate_limit_client_per_min > 0 && p->client_id[0]) {
        char hash[CRYPTO_SHA256_HEX_LEN + 1];
        crypto_sha256_hex(p->client_id, strlen(p->client_id), hash);
        snprintf(key, sizeof key, "tools:c:%.32s", hash);
        rc = over_limit(call, key, cfg->rate_limit_client_per_min, retry_after_s);
    }
    return rc;
}
