/*
 * oauth/common.c - replies, secrets, redirect URI rules, client lookup and
 * client authentication shared by the endpoints.
 */
#include "oauth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"
#include "util/log.h"
#include "util/url.h"

void oauth_reply_json(struct http_response *res, int status, struct json_object *o)
{
    http_response_set_json(res, status, o);
    json_object_put(o);
}

void oauth_reply_error(struct http_response *res, int status, const char *error,
                       const char *description)
{
    http_response_json_error(res, status, error, description);
}

void oauth_reply_unavailable(struct http_response *res)
{
    oauth_reply_error(res, 503, "temporarily_unavailable",
                      "service temporarily unavailable, retry shortly");
    oauth_header(res, "Retry-After", "1");
}

void oauth_header(struct http_response *res, const char *name, const char *value)
{
    if (http_response_header(res, name, value) < 0)
        LOG_ERROR("msg=\"could not add a response header\" header=%s", name);
}

void oauth_secret_new(const char *prefix, char *out, size_t n, char hash[CRYPTO_SHA256_HEX_LEN + 1])
{
    char raw[OAUTH_SECRET_LEN + 1];
    crypto_token(OAUTH_SECRET_BYTES, raw);
    snprintf(out, n, "%s%s", prefix, raw);
    explicit_bzero(raw, sizeof raw);
    crypto_sha256_hex(out, strlen(out), hash);
}

void oauth_url(const struct mg_config *cfg, const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s%s", cfg->base_url, path);
}

void oauth_resource_uri(const struct mg_config *cfg, char *out, size_t n)
{
    oauth_url(cfg, "/mcp", out, n);
}

void oauth_endpoint_resource_uri(const struct mg_config *cfg, const struct mg_connector *c,
                                 char *out, size_t n)
{
    if (c)
        snprintf(out, n, "%s/mcp/%s", cfg->base_url, c->name);
    else
        oauth_resource_uri(cfg, out, n);
}

/* Returns 1 when resource is uri, with or without a trailing slash. */
static int same_resource(const char *resource, const char *uri)
{
    size_t len = strlen(uri);
    return strcmp(resource, uri) == 0 ||
           (strncmp(resource, uri, len) == 0 && strcmp(resource + len, "/") == 0);
}

const struct mg_connector *oauth_resource_connector(const struct mg_config *cfg,
                                                    const char *resource)
{
    char uri[1024];
    for (int i = 0; resource && i < cfg->n_connectors; i++) {
        oauth_endpoint_resource_uri(cfg, &cfg->connectors[i], uri, sizeof uri);
        if (strcmp(resource, uri) == 0)
            return &cfg->connectors[i];
    }
    return NULL;
}

int oauth_resource_check(const struct mg_config *cfg, const char *resource, char *out, size_t n)
{
    oauth_resource_uri(cfg, out, n);
    if (!resource || same_resource(resource, out))
        return 0;
    for (int i = 0; i < cfg->n_connectors; i++) {
        oauth_endpoint_resource_uri(cfg, &cfg->connectors[i], out, n);
        if (same_resource(resource, out))
            return 0;
    }
    oauth_resource_uri(cfg, out, n);
    return -1;
}

static int is_loopback_host(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
           strcmp(host, "localhost") == 0;
}

int oauth_redirect_uri_loopback(const char *uri)
{
    struct url_parts u;
    return url_split(uri, &u) == 0 && is_loopback_host(u.host);
}

int oauth_redirect_uri_check(const char *uri, struct mg_error *err)
{
    struct url_parts u;
    if (strlen(uri) > OAUTH_MAX_URI_LEN) {
        mg_error_msg(err, "redirect URI too long");
        return -1;
    }
    for (const char *p = uri; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' ||
            *p == '\\') {
            mg_error_msg(err, "redirect URI contains characters that are not allowed");
            return -1;
        }
    }
    if (strchr(uri, '#')) {
        mg_error_msg(err, "redirect URI must not contain a fragment");
        return -1;
    }
    if (url_split(uri, &u) < 0) {
        mg_error_msg(err, "redirect URI must be an absolute URI without user info");
        return -1;
    }
    if (strcmp(u.scheme, "https") == 0)
        return 0;
    if (strcmp(u.scheme, "http") == 0 && is_loopback_host(u.host))
        return 0;
    mg_error_msg(err, "redirect URI must use https, or http on a loopback address");
    return -1;
}

/* 1 when given and reg (one registered URI, len bytes) match. */
static int match_one(const char *reg, size_t len, const char *given)
{
    if (strlen(given) == len && memcmp(reg, given, len) == 0)
        return 1;
    char copy[OAUTH_MAX_URI_LEN + 1];
    if (len > OAUTH_MAX_URI_LEN)
        return 0;
    memcpy(copy, reg, len);
    copy[len] = '\0';
    struct url_parts a, b;
    if (url_split(copy, &a) < 0 || url_split(given, &b) < 0)
        return 0;
    /* RFC 8252 section 7.3: a loopback redirect may use any port */
    return strcmp(a.scheme, "http") == 0 && strcmp(b.scheme, "http") == 0 &&
           is_loopback_host(a.host) && strcmp(a.host, b.host) == 0 && strcmp(a.rest, b.rest) == 0 &&
           !strchr(given, '#');
}

int oauth_redirect_uri_match(const char *registered, const char *given)
{
    const char *p = registered;
    while (*p) {
        size_t len = strcspn(p, "\n");
        if (len && match_one(p, len, given))
            return 1;
        p += len;
        if (*p)
            p++;
    }
    return 0;
}

int oauth_client_get(struct oauth_ctx *ctx, const char *client_id, struct store_client *out,
                     struct mg_error *err)
{
    if (!client_id || !*client_id) {
        mg_error_msg(err, "client_id is missing");
        return -1;
    }
    if (strlen(client_id) > OAUTH_MAX_URI_LEN) {
        mg_error_msg(err, "client_id is too long");
        return -1;
    }
    if (oauth_cimd_is_url(ctx->cfg, client_id))
        return oauth_cimd_resolve(ctx, client_id, out, err);
    switch (store_client_find(ctx->db, client_id, out)) {
    case STORE_OK:
        return 0;
    case STORE_NOT_FOUND:
        mg_error_msg(err, "unknown client_id");
        return -1;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        return mg_error_unavailable(err);
    }
    return mg_error_unavailable(err);
}

int oauth_read_form(struct oauth_ctx *ctx, struct http_form *f)
{
    f->n = 0;
    const char *ct = ctx->req->content_type;
    size_t n = ct ? strcspn(ct, ";") : 0;
    while (n && ct[n - 1] == ' ')
        n--;
    if (strcmp(ctx->req->method, "POST") != 0) {
        oauth_reply_error(ctx->res, 405, "invalid_request", "use POST");
        oauth_header(ctx->res, "Allow", "POST");
        return -1;
    }
    if (n != 33 || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_reply_error(ctx->res, 415, "invalid_request",
                          "Content-Type must be application/x-www-form-urlencoded");
        return -1;
    }
    struct mg_error err = MG_ERROR_INIT;
    if (http_form_parse(ctx->req->body ? ctx->req->body : "", ctx->req->body_len, f, &err) < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "malformed form body: %.100s", err.msg);
        oauth_reply_error(ctx->res, 400, "invalid_request", msg);
        return -1;
    }
    const char *dup = http_form_duplicate(f);
    if (dup) {
        char msg[128];
        snprintf(msg, sizeof msg, "parameter %.64s is repeated", dup);
        oauth_reply_error(ctx->res, 400, "invalid_request", msg);
        http_form_free(f);
        return -1;
    }
    return 0;
}

static void invalid_client(struct oauth_ctx *ctx, int basic, const char *why)
{
    oauth_reply_error(ctx->res, 401, "invalid_client", why);
    if (basic)
        oauth_header(ctx->res, "WWW-Authenticate", "Basic realm=\"mcpgate\"");
}

int oauth_client_authenticate(struct oauth_ctx *ctx, const struct http_form *f,
                              struct store_client *out, int require_secret)
{
    char id[OAUTH_MAX_URI_LEN + 1], secret[256];
    const char *auth = http_header(ctx->req, "Authorization");
    enum http_basic b = http_basic_credentials(auth, id, sizeof id, secret, sizeof secret);
    int rc = -1;
    if (b == HTTP_BASIC_MALFORMED) {
        invalid_client(ctx, 1, "malformed Basic credentials");
        goto out;
    }
    int basic = b == HTTP_BASIC_OK;
    const char *form_id = http_form_get(f, "client_id");
    const char *form_secret = http_form_get(f, "client_secret");
    if (basic && form_secret) {
        oauth_reply_error(ctx->res, 400, "invalid_request",
                          "use one client authentication method, not two");
        goto out;
    }
    if (basic && form_id && strcmp(form_id, id) != 0) {
        invalid_client(ctx, 1, "client_id differs from the authenticated client");
        goto out;
    }
    if (!basic) {
        if (!form_id || !*form_id) {
            invalid_client(ctx, 0, "client authentication is required");
            goto out;
        }
        snprintf(id, sizeof id, "%s", form_id);
        snprintf(secret, sizeof secret, "%s", form_secret ? form_secret : "");
    }
    struct mg_error err = MG_ERROR_INIT;
    int g = oauth_client_get(ctx, id, out, &err);
    if (g < 0 && mg_error_is_unavailable(&err)) {
        oauth_reply_unavailable(ctx->res);
        goto out;
    }
    if (g < 0) {
        invalid_client(ctx, basic, "unknown client");
        goto out;
    }
    int has_secret = basic || form_secret;
    if (strcmp(out->auth_method, "none") == 0) {
        if (has_secret || require_secret) {
            invalid_client(ctx, basic,
                           has_secret ? "this client is public and has no secret"
                                      : "this endpoint needs a confidential client");
            goto out;
        }
        rc = 0;
        goto out;
    }
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(secret, strlen(secret), hash);
    if (!has_secret || strlen(out->secret_hash) != CRYPTO_SHA256_HEX_LEN ||
        !crypto_equal(hash, out->secret_hash, CRYPTO_SHA256_HEX_LEN)) {
        invalid_client(ctx, basic, "client authentication failed");
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(secret, sizeof secret);
    return rc;
}
