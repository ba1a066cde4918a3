/*
 * tools/exchange.c - the caller's access token exchanged at the issuer for
 * a backend's own (RFC 8693), cached per process by the caller token's
 * hash (tools/exchange.h).
 */
#include "tools/exchange.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tools/credentials.h"
#include "tools/token_client.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"

#define EXCHANGE_TOKEN_MAX 4096 /* longer exchanged tokens are used but not cached */
#define ENDPOINT_MAX       1024

static const struct mg_config *cfg;           /* set at start-up */
static tool_exchange_endpoint_fn endpoint_of; /* set at start-up */

/* One exchanged token. */
struct ex_entry {
    char key[CRYPTO_SHA256_HEX_LEN + 1]; /* SHA-256 hex of (caller token hash, backend, slot);
                                            "" = free */
    char token[EXCHANGE_TOKEN_MAX];      /* the exchanged token; secret */
    long long until_ms;                  /* monotonic: usable before this */
};

static pthread_mutex_t ex_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ex_entry ex_cache[TOOL_EXCHANGE_CACHE_SLOTS]; /* by key; under ex_lock */

void tool_exchange_setup(const struct mg_config *config, tool_exchange_endpoint_fn endpoint)
{
    cfg = config;
    endpoint_of = endpoint;
}

static void entry_clear(struct ex_entry *e)
{
    explicit_bzero(e, sizeof *e);
}

void tool_exchange_forget_all(void)
{
    pthread_mutex_lock(&ex_lock);
    for (int i = 0; i < TOOL_EXCHANGE_CACHE_SLOTS; i++)
        entry_clear(&ex_cache[i]);
    pthread_mutex_unlock(&ex_lock);
}

/* The cache key of the caller's token for slot c of be: the caller's token
 * only as its hash, within a hash. subject NULL: mcpgate's own token for
 * the slot (client_credentials), which no hash of a token can equal. */
static void cache_key(const char *subject, const struct backend *be, const struct backend_cred *c,
                      char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    char th[CRYPTO_SHA256_HEX_LEN + 1] = "client_credentials";
    if (subject)
        crypto_sha256_hex(subject, strlen(subject), th);
    struct buf k = {0};
    if (buf_printf(&k, "%s%c%s%c%s", th, 0, be->name, 0, c->slot) < 0)
        abort();
    crypto_sha256_hex(k.data, k.len, out);
    buf_free(&k);
}

static struct ex_entry *slot_of(const char *key)
{
    unsigned v = 0;
    for (int i = 0; i < 8; i++)
        v = v * 16 + (unsigned)crypto_hex_digit(key[i]);
    return &ex_cache[v % TOOL_EXCHANGE_CACHE_SLOTS];
}

/* The cached token for key, or NULL. Returns a new string. */
static char *cache_get(const char *key)
{
    char *v = NULL;
    pthread_mutex_lock(&ex_lock);
    struct ex_entry *e = slot_of(key);
    if (strcmp(e->key, key) == 0) {
        if (e->until_ms > mg_now_ms())
            v = xstrdup(e->token);
        else
            entry_clear(e);
    }
    pthread_mutex_unlock(&ex_lock);
    return v;
}

static void cache_put(const char *key, const char *token, long long ttl_s)
{
    if (strlen(token) >= EXCHANGE_TOKEN_MAX || ttl_s <= 0)
        return;
    pthread_mutex_lock(&ex_lock);
    struct ex_entry *e = slot_of(key);
    entry_clear(e);
    memcpy(e->key, key, sizeof e->key);
    snprintf(e->token, sizeof e->token, "%s", token);
    e->until_ms = mg_now_ms() + ttl_s * 1000;
    pthread_mutex_unlock(&ex_lock);
}

/* Drops key's entry when it holds stale (another call may have put a new
 * token there meanwhile: that one stays). */
static void cache_drop(const char *key, const char *stale)
{
    pthread_mutex_lock(&ex_lock);
    struct ex_entry *e = slot_of(key);
    size_t n = strlen(stale);
    if (strcmp(e->key, key) == 0 && strlen(e->token) == n && crypto_equal(e->token, stale, n))
        entry_clear(e);
    pthread_mutex_unlock(&ex_lock);
}

/* 1 when code is an OAuth error code fit for a message: [a-z_], 1..64. */
static int error_code_ok(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    return n > 0 && n <= 64 && strspn(code, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* Builds the exchange form for subject and slot c into form; subject NULL:
 * the client_credentials form for mcpgate's own token. Returns 0 or -1
 * (out of room). */
static int exchange_form(struct buf *form, const struct backend_exchange *x, const char *subject)
{
    if (!subject) {
        if (tool_token_form_field(form, "grant_type", "client_credentials") != 0)
            return -1;
    } else if (tool_token_form_field(form, "grant_type", TOOL_EXCHANGE_GRANT) != 0 ||
               tool_token_form_field(form, "subject_token", subject) != 0 ||
               tool_token_form_field(form, "subject_token_type", TOOL_EXCHANGE_ACCESS_TOKEN) != 0 ||
               tool_token_form_field(form, "requested_token_type", TOOL_EXCHANGE_ACCESS_TOKEN) != 0)
        return -1;
    if (x->audience && tool_token_form_field(form, "audience", x->audience) != 0)
        return -1;
    if (x->resource && tool_token_form_field(form, "resource", x->resource) != 0)
        return -1;
    if (x->scope && tool_token_form_field(form, "scope", x->scope) != 0)
        return -1;
    return 0;
}

/* Reads the issuer's answer (status, body) to an exchange (own: to the
 * client_credentials request for mcpgate's own token). Returns the token
 * (new) with *ttl_s, or NULL with err. */
static char *read_answer(const struct backend *be, int own, long status, const struct buf *body,
                         long long *ttl_s, struct mg_error *err)
{
    struct json_object *doc = NULL;
    int parsed = status > 0 &&
                 json_parse_request(body->data ? body->data : "", body->len, &doc, NULL) == 0 &&
                 json_object_is_type(doc, json_type_object);
    char *token = NULL;
    const char *outcome = "failed";
    if (status == 400 || status == 401 || status == 403) {
        const char *code = parsed ? json_get_string(doc, "error") : NULL;
        if (!error_code_ok(code))
            code = NULL;
        if (own)
            mg_error_msg(err,
                         "%s was not asked: the issuer refused mcpgate a token of its own for this "
                         "backend (client_credentials: %s)",
                         be->name, code ? code : "it gave no error code");
        else
            mg_error_msg(err,
                         "%s was not called: the issuer refused to exchange your access token for "
                         "one for this backend (%s)",
                         be->name, code ? code : "it gave no error code");
        LOG_INFO("msg=\"token %s refused\" backend=%s status=%ld error=%s",
                 own ? "request" : "exchange", be->name, status, code ? code : "-");
        outcome = "refused";
    } else if (status != 200 || !parsed) {
        mg_error_msg(err,
                     "%s was not called: the issuer's token endpoint did not answer the token "
                     "exchange as expected; try again later",
                     be->name);
        if (status >= 0)
            LOG_WARN("msg=\"token exchange answered nonsense\" backend=%s status=%ld", be->name,
                     status);
    } else {
        const char *at = json_get_string(doc, "access_token");
        const char *type = json_get_string(doc, "token_type");
        const char *issued = json_get_string(doc, "issued_token_type");
        struct json_object *e = json_get(doc, "expires_in", json_type_int);
        if (!tool_cred_value_ok(at) || !type || strcasecmp(type, "Bearer") != 0 ||
            (issued && strcmp(issued, TOOL_EXCHANGE_ACCESS_TOKEN) != 0 &&
             strcmp(issued, "urn:ietf:params:oauth:token-type:jwt") != 0)) {
            mg_error_msg(err,
                         "%s was not called: the issuer's token exchange gave no usable bearer "
                         "access token",
                         be->name);
            LOG_WARN("msg=\"token exchange gave no bearer access token\" backend=%s", be->name);
        } else {
            token = xstrdup(at);
            *ttl_s =
                e ? json_object_get_int64(e) - TOOL_EXCHANGE_SKEW_S : TOOL_EXCHANGE_DEFAULT_TTL_S;
            outcome = "ok";
        }
    }
    if (!own)
        metrics_add("mcpgate_token_exchanges_total", 1, "backend", be->name, "outcome", outcome,
                    NULL);
    json_object_put(doc);
    return token;
}

/* Exchanges subject at the issuer for slot c of be (subject NULL: asks for
 * mcpgate's own token with client_credentials). Returns the token (new)
 * with *ttl_s, or NULL with err. */
static char *exchange(const struct backend *be, const struct backend_cred *c, const char *subject,
                      long long *ttl_s, struct mg_error *err)
{
    const struct backend_exchange *x = c->exchange;
    struct tool_token_client cl = {.name = be->name,
                                   .id = x->client_id ? x->client_id : cfg->rs.client_id,
                                   .secret =
                                       x->client_id ? x->client_secret : cfg->rs.client_secret,
                                   .allow_private = cfg->idp_allow_private};
    if (!cl.id[0]) {
        mg_error_msg(err,
                     "%s is not set up: its exchange slot \"%s\" names no client (client_id in the "
                     "slot, or rs_introspection_client_id)",
                     be->name, c->slot);
        return NULL;
    }
    char endpoint[ENDPOINT_MAX];
    if (!endpoint_of || endpoint_of(cfg, endpoint, sizeof endpoint) < 0) {
        mg_error_msg(err,
                     "%s was not called: the issuer's token endpoint could not be found (its "
                     "metadata could not be fetched or name none); try again later",
                     be->name);
        return NULL;
    }
    struct buf form = {0}, body = {0};
    long status = -1;
    if (exchange_form(&form, x, subject) == 0)
        status = tool_token_post(&cl, endpoint, buf_str(&form),
                                 subject ? "token exchange" : "client credentials", &body);
    buf_free_secret(&form);
    char *token = NULL;
    if (status < 0) {
        mg_error_msg(err,
                     "%s was not called: the issuer's token endpoint could not be reached for the "
                     "token exchange; try again later",
                     be->name);
        if (subject)
            metrics_add("mcpgate_token_exchanges_total", 1, "backend", be->name, "outcome",
                        "failed", NULL);
    } else {
        token = read_answer(be, subject == NULL, status, &body, ttl_s, err);
    }
    buf_free_secret(&body);
    if (token)
        LOG_INFO("msg=\"token %s\" backend=%s slot=%.64s ttl_s=%lld",
                 subject ? "exchanged" : "of its own obtained", be->name, c->slot, *ttl_s);
    return token;
}

/* The caller's token, or NULL with err. */
static const char *subject_of(const struct backend *be, const struct backend_cred *c,
                              const struct tool_ctx *ctx, struct mg_error *err)
{
    if (!cfg || cfg->auth != MG_AUTH_RESOURCE) {
        mg_error_msg(err,
                     "%s is not set up: its credential \"%s\" exchanges the caller's access token, "
                     "which needs auth = resource",
                     be->name, c->slot);
        return NULL;
    }
    if (!ctx || !ctx->subject_token || !ctx->subject_token[0]) {
        mg_error_msg(err,
                     "%s was not called: it needs your access token exchanged at the issuer, and "
                     "this call carries none (a task runs after its request and does not keep "
                     "your token): call the tool without a task",
                     be->name);
        return NULL;
    }
    return ctx->subject_token;
}

/* The token for c and subject (NULL: mcpgate's own): the cached one
 * unless it is stale, else asked for now. */
static char *cached_or_new(const struct backend *be, const struct backend_cred *c,
                           const char *subject, const char *stale, struct mg_error *err)
{
    char key[CRYPTO_SHA256_HEX_LEN + 1];
    cache_key(subject, be, c, key);
    if (stale)
        cache_drop(key, stale);
    char *v = cache_get(key);
    if (v)
        return v;
    long long ttl_s = 0;
    v = exchange(be, c, subject, &ttl_s, err);
    if (v)
        cache_put(key, v, ttl_s);
    return v;
}

/* The token for c: the cached one unless it is stale, else exchanged. */
static char *get_token(const struct backend *be, const struct backend_cred *c, struct tool_ctx *ctx,
                       const char *stale, struct mg_error *err)
{
    const char *subject = subject_of(be, c, ctx, err);
    return subject ? cached_or_new(be, c, subject, stale, err) : NULL;
}

int tool_exchange_caller_key(const struct backend *be, const struct backend_cred *c,
                             const struct tool_ctx *ctx, char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    if (!ctx || !ctx->subject_token || !ctx->subject_token[0])
        return -1;
    cache_key(ctx->subject_token, be, c, out);
    return 0;
}

char *tool_exchange_own_token(const struct backend *be, const struct backend_cred *c,
                              const char *stale, struct mg_error *err)
{
    if (!cfg || cfg->auth != MG_AUTH_RESOURCE) {
        mg_error_msg(
            err,
            "%s is not set up: its credential \"%s\" is an exchange slot, which needs auth "
            "= resource",
            be->name, c->slot);
        return NULL;
    }
    if (stale)
        LOG_INFO("msg=\"backend refused mcpgate's own token: asking again\" backend=%s", be->name);
    return cached_or_new(be, c, NULL, stale, err);
}

char *tool_exchange_token(const struct backend *be, const struct backend_cred *c,
                          struct tool_ctx *ctx, struct mg_error *err)
{
    return get_token(be, c, ctx, NULL, err);
}

char *tool_exchange_renew(const struct backend *be, const struct backend_cred *c,
                          struct tool_ctx *ctx, const char *stale, struct mg_error *err)
{
    LOG_INFO("msg=\"backend refused an exchanged token: exchanging again\" backend=%s", be->name);
    return get_token(be, c, ctx, stale, err);
}

void tool_exchange_still_refused(const struct backend *be, const struct backend_cred *c,
                                 struct mg_error *err)
{
    mg_error_msg(err,
                 "%s refused the token exchanged for your access token (HTTP 401) even after a "
                 "fresh exchange (credential \"%s\")",
                 be->name, c->slot);
}
