/*
 * oauth/register.c - dynamic client registration (RFC 7591).
 *
 * Accepts the metadata a client asserts about itself (RFC 7591 section 2),
 * checks the redirect URIs (https, or http on loopback; no fragment), and
 * answers 201 with a server-generated client_id, a client_secret for the
 * confidential methods (stored only as its SHA-256), and the metadata as
 * granted, token_endpoint_auth_method included: ChatGPT and Claude
 * authenticate exactly as the answer says. Registrations are limited per
 * address and hour (register_per_hour), counted in PostgreSQL.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oauth/internal.h"
#include "store/users.h"
#include "util/json.h"
#include "util/log.h"

#define MAX_REGISTER_BODY (64 * 1024)

static void invalid(struct oauth_ctx *ctx, const char *error, const char *why)
{
    oauth_reply_error(ctx->res, 400, error, why);
}

/* Checks redirect_uris and joins them with newlines into out. Returns 0 or
 * -1 (answer written). */
static int take_redirects(struct oauth_ctx *ctx, struct json_object *doc, char *out, size_t n)
{
    struct json_object *arr = json_get(doc, "redirect_uris", json_type_array);
    size_t count = arr ? json_object_array_length(arr) : 0;
    if (count == 0 || count > OAUTH_MAX_REDIRECTS) {
        invalid(ctx, "invalid_redirect_uri",
                "redirect_uris must be an array of 1 to 10 redirect URIs");
        return -1;
    }
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        struct json_object *u = json_object_array_get_idx(arr, i);
        struct mg_error err = MG_ERROR_INIT;
        mg_error_msg(&err, "redirect URI must be a string");
        if (!json_object_is_type(u, json_type_string) ||
            oauth_redirect_uri_check(json_object_get_string(u), &err) < 0) {
            invalid(ctx, "invalid_redirect_uri", err.msg);
            return -1;
        }
        int w = snprintf(out + o, n - o, "%s%s", o ? "\n" : "", json_object_get_string(u));
        if (w < 0 || (size_t)w >= n - o) {
            invalid(ctx, "invalid_redirect_uri", "redirect URIs too long");
            return -1;
        }
        o += (size_t)w;
    }
    return 0;
}

/* Checks that every member of the array key is one of allowed (NULL-
 * terminated). Absent is fine. Returns 0 or -1 (answer written). */
static int check_list(struct oauth_ctx *ctx, struct json_object *doc, const char *key,
                      const char *const *allowed)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(doc, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 8)
        goto bad;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = json_object_is_type(e, json_type_string) &&
                 strcmp(json_object_get_string(e), *a) == 0;
        if (!ok)
            goto bad;
    }
    return 0;
bad:;
    char msg[160];
    snprintf(msg, sizeof msg, "%s: unsupported value (supported: %s%s%s)", key, allowed[0],
             allowed[1] ? ", " : "", allowed[1] ? allowed[1] : "");
    invalid(ctx, "invalid_client_metadata", msg);
    return -1;
}

static int rate_limited(struct oauth_ctx *ctx)
{
    if (ctx->cfg->register_per_hour == 0) {
        oauth_reply_error(ctx->res, 403, "access_denied", "dynamic client registration is off");
        return 1;
    }
    char key[96];
    snprintf(key, sizeof key, "register:%.64s",
             ctx->req->remote_addr ? ctx->req->remote_addr : "-");
    int count = 0;
    if (store_rate_hit(ctx->db, key, 3600, &count) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        return 1;
    }
    if (count > ctx->cfg->register_per_hour) {
        LOG_WARN("msg=\"client registration rate limit reached\" count=%d", count);
        oauth_reply_error(ctx->res, 429, "too_many_requests",
                          "too many client registrations from this address, retry later");
        oauth_header(ctx->res, "Retry-After", "3600");
        return 1;
    }
    return 0;
}

static struct json_object *str_array(const char *nl_list)
{
    struct json_object *a = json_object_new_array();
    const char *p = nl_list;
    while (*p) {
        size_t len = strcspn(p, "\n");
        json_object_array_add(a, json_object_new_string_len(p, (int)len));
        p += len + (p[len] ? 1 : 0);
    }
    return a;
}

void oauth_handle_register(struct oauth_ctx *ctx)
{
    const struct http_request *r = ctx->req;
    struct json_object *doc = NULL;
    if (strcmp(r->method, "POST") != 0) {
        oauth_reply_error(ctx->res, 405, "invalid_request", "use POST");
        oauth_header(ctx->res, "Allow", "POST");
        return;
    }
    const char *ct = r->content_type ? r->content_type : "";
    if (strncmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        oauth_reply_error(ctx->res, 415, "invalid_client_metadata",
                          "Content-Type must be application/json");
        return;
    }
    if (r->body_len > MAX_REGISTER_BODY) {
        invalid(ctx, "invalid_client_metadata", "client metadata too large");
        return;
    }
    if (json_parse_request(r->body ? r->body : "", r->body_len, &doc, NULL) < 0 ||
        !json_object_is_type(doc, json_type_object)) {
        invalid(ctx, "invalid_client_metadata", "the body must be a JSON object");
        goto out;
    }
    struct store_client cl;
    memset(&cl, 0, sizeof cl);
    if (take_redirects(ctx, doc, cl.redirect_uris, sizeof cl.redirect_uris) < 0)
        goto out;
    static const char *const grants[] = {"authorization_code", "refresh_token", NULL};
    static const char *const responses[] = {"code", NULL};
    if (check_list(ctx, doc, "grant_types", grants) < 0 ||
        check_list(ctx, doc, "response_types", responses) < 0)
        goto out;
    struct json_object *v = NULL;
    const char *method = "client_secret_basic"; /* RFC 7591 section 2: the default */
    if (json_object_object_get_ex(doc, "token_endpoint_auth_method", &v)) {
        method = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(method, "none") != 0 && strcmp(method, "client_secret_post") != 0 &&
            strcmp(method, "client_secret_basic") != 0) {
            invalid(ctx, "invalid_client_metadata",
                    "token_endpoint_auth_method must be none, client_secret_post or "
                    "client_secret_basic");
            goto out;
        }
    }
    const char *name = json_get_string(doc, "client_name");
    if (json_object_object_get_ex(doc, "client_name", &v) && (!name || strlen(name) > 200)) {
        invalid(ctx, "invalid_client_metadata", "client_name must be a string of at most 200");
        goto out;
    }
    const char *scope = json_get_string(doc, "scope");
    if (json_object_object_get_ex(doc, "scope", &v) &&
        (!scope || oauth_scope_canonical(scope, cl.scope, sizeof cl.scope) < 0)) {
        /* unknown scopes are not an error at registration; the client
         * may ask for any supported scope at /authorize */
        cl.scope[0] = '\0';
    }
    if (rate_limited(ctx))
        goto out;

    char client_id[64], id_hash[CRYPTO_SHA256_HEX_LEN + 1];
    oauth_secret_new("", client_id, sizeof client_id, id_hash);
    client_id[22] = '\0'; /* 132 bits is plenty for an identifier */
    snprintf(cl.client_id, sizeof cl.client_id, "mcp_%s", client_id);
    snprintf(cl.kind, sizeof cl.kind, "dcr");
    snprintf(cl.auth_method, sizeof cl.auth_method, "%s", method);
    snprintf(cl.name, sizeof cl.name, "%s", name && *name ? name : "unnamed client");
    char secret[OAUTH_SECRET_LEN + 8] = "";
    int confidential = strcmp(method, "none") != 0;
    if (confidential)
        oauth_secret_new("", secret, sizeof secret, cl.secret_hash);
    if (store_client_create(ctx->db, &cl, r->remote_addr) != STORE_OK) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    LOG_INFO("msg=\"client registered\" client_id=%s auth_method=%s", cl.client_id, method);

    struct json_object *o = json_object_new_object();
    json_add(o, "client_id", json_object_new_string(cl.client_id));
    if (confidential) {
        json_add(o, "client_secret", json_object_new_string(secret));
        json_add(o, "client_secret_expires_at", json_object_new_int(0));
    }
    json_add(o, "client_id_issued_at", json_object_new_int64((int64_t)time(NULL)));
    json_add(o, "client_name", json_object_new_string(cl.name));
    json_add(o, "redirect_uris", str_array(cl.redirect_uris));
    json_add(o, "token_endpoint_auth_method", json_object_new_string(method));
    json_add(o, "grant_types", str_array("authorization_code\nrefresh_token"));
    json_add(o, "response_types", str_array("code"));
    json_add(o, "scope", json_object_new_string(cl.scope[0] ? cl.scope : OAUTH_SCOPES_ALL));
    explicit_bzero(secret, sizeof secret);
    oauth_reply_json(ctx->res, 201, o);
out:
    json_object_put(doc);
}
