/*
 * mcp/audit.c - what the audit trail and the rate limits see of a tool call.
 */
#include "mcp/audit.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "oauth/scope.h"
#include "store/audit.h"
#include "store/users.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"

long long mcp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

void mcp_audit_call(const struct mcp_call *call, const char *tool, struct json_object *args,
                    const char *outcome, const char *detail, long long started_ms)
{
    const struct oauth_principal *p = call->env->principal;
    char digest[65];
    mcp_args_digest(args, digest);
    char name[129];
    snprintf(name, sizeof name, "%s", tool);
    long long dur = mcp_now_ms() - started_ms;
    struct store_audit_entry e = {
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
    if (store_audit_append(call->env->db, &e) != STORE_OK)
        LOG_ERROR("msg=\"could not write the audit row of a tool call\" tool=%s outcome=%s", name,
                  outcome);
}

/* Counts one call against key; 1 when over limit (retry time set). */
static int over_limit(const struct mcp_call *call, const char *key, int limit, int *retry_after_s)
{
    int count = 0;
    if (store_rate_hit(call->env->db, key, 60, &count) != STORE_OK)
        return -1;
    if (count <= limit)
        return 0;
    *retry_after_s = 60 - (int)(time(NULL) % 60); /* windows are aligned to the minute */
    return 1;
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
