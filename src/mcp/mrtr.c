/*
 * mcp/mrtr.c - input-required results (SEP-2322) and their request state.
 */
#include "mcp/mrtr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/call.h"
#include "oauth/scope.h"
#include "store/secret.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/seal.h"

#define STATE_KEY_ID  "rs"
#define STATE_VERSION 1
#define AAD_LABEL     "mcpgate-request-state"

static int fail(struct mcp_err *err, int code, const char *message)
{
    return mg_error_set(&err->e, 0, code, "%.255s", message);
}

int mcp_mrtr_method(const char *method)
{
    return strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0 ||
           strcmp(method, "resources/read") == 0;
}

const char *mcp_request_capability(const char *method)
{
    if (strcmp(method, "sampling/createMessage") == 0)
        return "sampling";
    if (strcmp(method, "elicitation/create") == 0)
        return "elicitation";
    if (strcmp(method, "roots/list") == 0)
        return "roots";
    return NULL;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends v as canonical JSON: object members sorted by key, no spaces,
 * so that the same arguments bind the same way however a client orders
 * them. Returns 0, or -1 past the buffer's limit. */
static int canonical(struct buf *b, struct json_object *v)
{
    if (json_object_is_type(v, json_type_object)) {
        size_t n = (size_t)json_object_object_length(v), i = 0;
        const char **keys = xcalloc(n, sizeof *keys);
        json_object_object_foreach(v, k, unused)
        {
            (void)unused;
            keys[i++] = k;
        }
        qsort(keys, n, sizeof *keys, by_key);
        int rc = buf_puts(b, "{");
        for (i = 0; i < n && rc == 0; i++) {
            struct json_object *ks = json_object_new_string(keys[i]);
            rc = buf_printf(b, "%s%s:", i ? "," : "", json_text(ks, NULL));
            json_object_put(ks);
            if (rc == 0)
                rc = canonical(b, json_object_object_get(v, keys[i]));
        }
        free(keys);
        return rc == 0 ? buf_puts(b, "}") : -1;
    }
    if (json_object_is_type(v, json_type_array)) {
        int rc = buf_puts(b, "[");
        for (size_t i = 0; i < json_object_array_length(v) && rc == 0; i++) {
            if (i)
                rc = buf_puts(b, ",");
            if (rc == 0)
                rc = canonical(b, json_object_array_get_idx(v, i));
        }
        return rc == 0 ? buf_puts(b, "]") : -1;
    }
    return buf_puts(b, v ? json_text(v, NULL) : "null");
}

/* The state's binding (see mrtr.h) into b. Returns 0, or -1 when the
 * arguments are too large to bind. */
static int binding(const struct mcp_call *call, const char *method, struct json_object *params,
                   struct buf *b)
{
    const char *name =
        json_get_string(params, strcmp(method, "resources/read") == 0 ? "uri" : "name");
    struct json_object *args = json_get(params, "arguments", json_type_object);
    struct buf canon = {.limit = 1024 * 1024};
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    if (canonical(&canon, args) < 0) {
        buf_free(&canon);
        return -1;
    }
    crypto_sha256_hex(buf_str(&canon), canon.len, hash);
    buf_free(&canon);
    long long user = call->env->principal ? call->env->principal->user_id : 0;
    /* the NULs separate the fields, so no field can run into the next */
    if (buf_puts(b, AAD_LABEL) < 0 || buf_append(b, "", 1) < 0 || buf_printf(b, "%lld", user) < 0 ||
        buf_append(b, "", 1) < 0 || buf_puts(b, method) < 0 || buf_append(b, "", 1) < 0 ||
        buf_puts(b, name ? name : "") < 0 || buf_append(b, "", 1) < 0 || buf_puts(b, hash) < 0)
        return -1;
    return 0;
}

/* The state key as a seal key. Returns 0, or -1 when the store is away. */
static int state_key(struct mcp_call *call, struct seal_key *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", STATE_KEY_ID);
    return store_secret_get(call->env->db, "request_state", k->key) == STORE_OK ? 0 : -1;
}

/* Opens a requestState into call->input_answers. Returns 0 or -1 with err. */
static int open_state(struct mcp_call *call, const char *method, struct json_object *params,
                      const char *state, struct mcp_err *err)
{
    struct seal_key k;
    if (state_key(call, &k) < 0) {
        mcp_unavailable(err);
        return -1;
    }
    struct buf aad = {0};
    char *plain = NULL;
    size_t plain_len = 0;
    enum seal_rc rc = SEAL_BAD;
    if (binding(call, method, params, &aad) == 0)
        rc = seal_decrypt(&k, 1, state, aad.data, aad.len, &plain, &plain_len);
    seal_key_clear(&k);
    buf_free(&aad);
    if (rc != SEAL_OK) {
        LOG_INFO("msg=\"request state refused\" reason=\"%s\"", seal_strerror(rc));
        return fail(err, JSONRPC_INVALID_PARAMS,
                    "Invalid params: requestState failed its integrity check (it was altered, or "
                    "issued for another user or request)");
    }
    struct json_object *doc = NULL;
    int ok = json_parse_strict(plain, plain_len, &doc, NULL) == 0;
    explicit_bzero(plain, plain_len);
    free(plain);
    struct json_object *exp = json_get(doc, "exp", json_type_int);
    struct json_object *answers = json_get(doc, "answers", json_type_object);
    if (!ok || !exp || !answers ||
        json_object_get_int(json_get(doc, "v", json_type_int)) != STATE_VERSION) {
        json_object_put(doc);
        return fail(err, JSONRPC_INVALID_PARAMS, "Invalid params: requestState is malformed");
    }
    if (json_object_get_int64(exp) < (long long)time(NULL)) {
        json_object_put(doc);
        return fail(err, JSONRPC_INVALID_PARAMS,
                    "Invalid params: requestState has expired; send the request again without it");
    }
    json_object_object_foreach(answers, key, value)
        json_add(call->input_answers, key, json_object_get(value));
    json_object_put(doc);
    return 0;
}

int mcp_mrtr_begin(struct mcp_call *call, const char *method, struct json_object *params,
                   struct mcp_err *err)
{
    struct json_object *responses = NULL, *state = NULL;
    int has_responses = json_object_object_get_ex(params, "inputResponses", &responses);
    int has_state = json_object_object_get_ex(params, "requestState", &state);
    if (has_responses && !json_object_is_type(responses, json_type_object))
        return fail(err, JSONRPC_INVALID_PARAMS,
                    "Invalid params: inputResponses must be an object of results");
    if (has_state && !json_object_is_type(state, json_type_string))
        return fail(err, JSONRPC_INVALID_PARAMS, "Invalid params: requestState must be a string");
    if (has_responses) {
        json_object_object_foreach(responses, key, value)
        {
            if (!json_object_is_type(value, json_type_object)) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "Invalid params: inputResponses[\"%.64s\"] must be a result object", key);
                return fail(err, JSONRPC_INVALID_PARAMS, msg);
            }
        }
    }
    call->input_answers = json_object_new_object();
    call->mrtr = 1;
    if (has_state && open_state(call, method, params, json_object_get_string(state), err) < 0)
        return -1;
    if (has_responses) {
        json_object_object_foreach(responses, key, value)
            json_add(call->input_answers, key, json_object_get(value));
    }
    return 0;
}

struct json_object *mcp_mrtr_input(struct mcp_call *call, const char *key, const char *method,
                                   struct json_object *params, struct mg_error *err)
{
    const char *cap = mcp_request_capability(method);
    if (cap && !json_get(call->client_caps, cap, json_type_object)) {
        mcp_call_missing_capability(call, cap);
        json_object_put(params);
        mg_error_msg(err, "the client did not declare the capability this request needs");
        return NULL;
    }
    struct json_object *answer = json_get(call->input_answers, key, json_type_object);
    if (answer) {
        json_object_put(params);
        return json_object_get(answer);
    }
    if (!call->input_requests)
        call->input_requests = json_object_new_object();
    struct json_object *req = json_object_new_object();
    json_add(req, "method", json_object_new_string(method));
    json_add(req, "params", params ? params : json_object_new_object());
    json_add(call->input_requests, key, req);
    mg_error_msg(err, "the client's input is required");
    return NULL;
}

/* Seals the answers so far (the requested keys excluded: they are asked
 * again). Returns a new string, or NULL with err. */
static char *seal_state(struct mcp_call *call, const char *method, struct json_object *params,
                        struct mcp_err *err)
{
    struct json_object *doc = json_object_new_object();
    struct json_object *answers = json_object_new_object();
    json_object_object_foreach(call->input_answers, key, value)
    {
        if (!json_get(call->input_requests, key, json_type_object))
            json_add(answers, key, json_object_get(value));
    }
    json_add(doc, "v", json_object_new_int(STATE_VERSION));
    json_add(doc, "exp", json_object_new_int64((long long)time(NULL) + MRTR_STATE_TTL_S));
    json_add(doc, "answers", answers);
    size_t len = 0;
    const char *text = json_text(doc, &len);
    struct seal_key k;
    struct buf aad = {0};
    char *sealed = NULL;
    if (state_key(call, &k) < 0) {
        mcp_unavailable(err);
    } else if (len > SEAL_MAX_PLAIN || binding(call, method, params, &aad) < 0) {
        fail(err, JSONRPC_INTERNAL_ERROR,
             "the answers so far are too large to carry in requestState");
    } else {
        sealed = seal_encrypt(&k, text, len, aad.data, aad.len);
    }
    seal_key_clear(&k);
    buf_free(&aad);
    json_object_put(doc);
    return sealed;
}

struct json_object *mcp_mrtr_finish(struct mcp_call *call, const char *method,
                                    struct json_object *params, struct json_object *result,
                                    struct mcp_err *err)
{
    if (!call->input_requests || call->refusal.e.code)
        return result;
    json_object_put(result);
    char *state = seal_state(call, method, params, err);
    if (!state)
        return NULL;
    struct json_object *r = json_object_new_object();
    json_add(r, "resultType", json_object_new_string("input_required"));
    json_add(r, "inputRequests", json_object_get(call->input_requests));
    json_add(r, "requestState", json_object_new_string(state));
    free(state);
    LOG_INFO("msg=\"input required\" method=%s requests=%d", method,
             json_object_object_length(call->input_requests));
    return r;
}
