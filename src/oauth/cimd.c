/*
 * oauth/cimd.c - client ID metadata documents (draft-ietf-oauth-client-id-
 * metadata-document, MCP 2025-11-25 basic/authorization).
 *
 * A client_id that is an https URL with a path names a JSON document the
 * client publishes: {"client_id": <the URL, exactly>, "client_name",
 * "redirect_uris", "token_endpoint_auth_method": "none"}. It is fetched with
 * libcurl: https only, no redirects, 5 s in all, at most 64 KiB, and never
 * from a loopback, private, link-local, multicast or otherwise
 * non-public address (checked on the address curl actually connects to,
 * so DNS rebinding cannot slip past) unless cimd_allow_private is set,
 * which also admits http (for tests). The document is cached in
 * oauth_clients for as long as its Cache-Control max-age (or Expires)
 * allows, between 1 minute and 1 day; 10 minutes when it says nothing.
 * Only public clients (token_endpoint_auth_method none) are accepted:
 * private_key_jwt is not supported.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "oauth/internal.h"
#include "tools/fetch.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/net.h"
#include "util/url.h"
#include "store/lease.h"

#define CIMD_MAX_BYTES   (64 * 1024)
#define CIMD_TIMEOUT_MS  5000
#define CIMD_DEFAULT_TTL 600
#define CIMD_MIN_TTL     60
#define CIMD_MAX_TTL     86400
#define CIMD_FAIL_TTL_S  30 /* a failed fetch is not tried again this soon */
#define CIMD_LEASE_TTL_S 30 /* a fetch's lease: the fetch's 5 s, with a wide margin */

int oauth_cimd_is_url(const struct mg_config *cfg, const char *client_id)
{
    return url_is_web(client_id, cfg->cimd_allow_private);
}

/* A fetch of a client metadata document and its caching headers. */
struct fetch {
    struct buf body;
    int refused;  /* the address was not public */
    long max_age; /* -1 unknown */
    int no_store;
    time_t expires;
};

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    size_t len = size * n;
    char line[512];
    if (len >= sizeof line)
        return len;
    memcpy(line, p, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "Cache-Control:", 14) == 0) {
        const char *v = line + 14;
        for (const char *q = v; *q; q++) {
            if (strncasecmp(q, "no-store", 8) == 0 || strncasecmp(q, "no-cache", 8) == 0)
                f->no_store = 1;
            if (strncasecmp(q, "max-age=", 8) == 0)
                f->max_age = strtol(q + 8, NULL, 10);
        }
    } else if (strncasecmp(line, "Expires:", 8) == 0) {
        f->expires = curl_getdate(line + 8, NULL);
    }
    return len;
}

static long cache_ttl(const struct fetch *f)
{
    long ttl = CIMD_DEFAULT_TTL;
    if (f->no_store)
        ttl = CIMD_MIN_TTL;
    else if (f->max_age >= 0)
        ttl = f->max_age;
    else if (f->expires > 0)
        ttl = (long)(f->expires - time(NULL));
    return ttl < CIMD_MIN_TTL ? CIMD_MIN_TTL : ttl > CIMD_MAX_TTL ? CIMD_MAX_TTL : ttl;
}

/* Fetches url into f. Returns 0, or -1 with err. */
static int fetch(const struct mg_config *cfg, const char *url, struct fetch *f,
                 struct mg_error *err)
{
    f->body.limit = CIMD_MAX_BYTES;
    struct tool_fetch_req req = {.url = url,
                                 .user_agent = "mcpgate (client metadata fetch)",
                                 .allow_private = cfg->cimd_allow_private,
                                 .timeout_ms = CIMD_TIMEOUT_MS,
                                 .connect_timeout_ms = 3000,
                                 .max_file_size = CIMD_MAX_BYTES,
                                 .on_header = on_header,
                                 .header_arg = f};
    long status = 0;
    int rc = tool_fetch(&req, &f->body, &status, &f->refused);
    if (f->refused) {
        mg_error_msg(err, "the client metadata document's address is not public");
        return -1;
    }
    if (rc != CURLE_OK) {
        LOG_WARN("msg=\"client metadata fetch failed\" curl=%d", (int)rc);
        mg_error_msg(err, "%s",
                     rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED
                         ? "the client metadata document is too large"
                         : "could not fetch the client metadata document");
        return -1;
    }
    if (status != 200) {
        mg_error_msg(err,
                     "the client metadata document could not be fetched (HTTP status not 200)");
        return -1;
    }
    return 0;
}

/* Checks the document and fills out. Returns 0 or -1 with err. */
static int parse_document(const char *url, const struct buf *body, struct store_client *out,
                          struct mg_error *err)
{
    struct json_object *doc = NULL;
    int rc = -1;
    if (json_parse_request(body->data ? body->data : "", body->len, &doc, NULL) < 0 ||
        !json_object_is_type(doc, json_type_object)) {
        mg_error_msg(err, "the client metadata document is not a JSON object");
        goto out;
    }
    const char *id = json_get_string(doc, "client_id");
    if (!id || strcmp(id, url) != 0) {
        mg_error_msg(err, "the client metadata document's client_id differs from its URL");
        goto out;
    }
    const char *method = json_get_string(doc, "token_endpoint_auth_method");
    if (method && strcmp(method, "none") != 0) {
        mg_error_msg(err, "client metadata documents must use token_endpoint_auth_method none");
        goto out;
    }
    struct json_object *uris = json_get(doc, "redirect_uris", json_type_array);
    size_t n = uris ? json_object_array_length(uris) : 0;
    if (n == 0 || n > OAUTH_MAX_REDIRECTS) {
        mg_error_msg(err, "the client metadata document needs 1 to 10 redirect_uris");
        goto out;
    }
    memset(out, 0, sizeof *out);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *u = json_object_array_get_idx(uris, i);
        if (!json_object_is_type(u, json_type_string) ||
            oauth_redirect_uri_check(json_object_get_string(u), err) < 0)
            goto out;
        int w = snprintf(out->redirect_uris + o, sizeof out->redirect_uris - o, "%s%s",
                         o ? "\n" : "", json_object_get_string(u));
        if (w < 0 || (size_t)w >= sizeof out->redirect_uris - o) {
            mg_error_msg(err, "redirect URIs too long");
            goto out;
        }
        o += (size_t)w;
    }
    const char *name = json_get_string(doc, "client_name");
    snprintf(out->client_id, sizeof out->client_id, "%s", url);
    snprintf(out->kind, sizeof out->kind, "cimd");
    snprintf(out->auth_method, sizeof out->auth_method, "none");
    const char *shown = name && *name ? name : url;
    snprintf(out->name, sizeof out->name, "%.*s", (int)json_utf8_cut(shown, 200), shown);
    rc = 0;
out:
    json_object_put(doc);
    return rc;
}

/* A URL with a path beyond "/", no fragment, no user info, no dot segments. */
static int url_acceptable(const char *url)
{
    const char *rest = strstr(url, "://");
    if (!rest || strchr(url, '#') || strstr(url, "/./") || strstr(url, "/../"))
        return 0;
    rest += 3;
    size_t auth = strcspn(rest, "/");
    if (auth == 0 || memchr(rest, '@', auth) || rest[auth] != '/' || rest[auth + 1] == '\0')
        return 0;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* 1 when url's host[:port] is this server's (base_url's host or one of
 * allowed_hosts): such a document would be fetched from ourselves, a worker
 * waiting on another (a client_id nesting /authorize?client_id= URLs costs
 * one worker per level). */
static int url_is_ours(const struct mg_config *cfg, const char *url)
{
    struct url_parts u;
    char host[sizeof u.host + sizeof u.port + 1];
    if (url_split(url, &u) < 0)
        return 0; /* no host a fetch could reach */
    url_authority(&u, host, sizeof host);
    return config_host_allowed(cfg, host);
}

/* Fetches url (holding the fetch's leases) and saves the client. Returns as
 * oauth_cimd_resolve(). */
static int fetch_and_save(struct oauth_ctx *ctx, const char *url, struct store_client *out,
                          struct mg_error *err)
{
    struct fetch f = {.max_age = -1};
    int rc = fetch(ctx->cfg, url, &f, err);
    if (rc == 0)
        rc = parse_document(url, &f.body, out, err);
    if (rc == 0) {
        enum store_rc src = store_client_cimd_save(ctx->db, out, (int)cache_ttl(&f));
        if (src == STORE_NOT_FOUND)
            mg_error_msg(err, "this client has been revoked");
        rc = src == STORE_OK ? 0 : src == STORE_NOT_FOUND ? -1 : mg_error_unavailable(err);
    }
    if (rc == 0)
        LOG_INFO("msg=\"client metadata document fetched\" ttl_s=%ld", cache_ttl(&f));
    buf_free(&f.body);
    return rc;
}

int oauth_cimd_resolve(struct oauth_ctx *ctx, const char *url, struct store_client *out,
                       struct mg_error *err)
{
    if (!url_acceptable(url)) {
        mg_error_msg(err, "client_id is not a usable client metadata document URL");
        return -1;
    }
    if (url_is_ours(ctx->cfg, url)) {
        mg_error_msg(err, "a client metadata document cannot come from this server");
        return -1;
    }
    switch (store_client_find(ctx->db, url, out)) {
    case STORE_OK:
        if (!out->cimd_stale)
            return 0;
        break;
    case STORE_NOT_FOUND:
        break;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        return mg_error_unavailable(err);
    }
    /* a recent failure is not fetched again; one fetch per URL at a time,
     * and all unauthenticated waits together within unauth_waiting_max */
    char url_hash[CRYPTO_SHA256_HEX_LEN + 1], fail_key[80], fetch_key[80];
    crypto_sha256_hex(url, strlen(url), url_hash);
    snprintf(fail_key, sizeof fail_key, "cx:%s", url_hash);
    snprintf(fetch_key, sizeof fetch_key, "cf:%s", url_hash);
    int failed = 0;
    if (store_lease_count(ctx->db, fail_key, &failed) != STORE_OK)
        return mg_error_unavailable(err);
    if (failed > 0) {
        mg_error_msg(err,
                     "the client metadata document could not be fetched a moment ago: try again "
                     "later");
        return -1;
    }
    const char *keys[] = {fetch_key, "uw"};
    const int caps[] = {1, ctx->cfg->unauth_waiting_max};
    long long lease = 0;
    if (store_lease_acquire(ctx->db, keys, caps, 2, CIMD_LEASE_TTL_S, &lease) != STORE_OK)
        return mg_error_unavailable(err);
    if (lease == 0) {
        LOG_INFO("msg=\"client metadata fetch refused: one is running, or too many waits\"");
        return mg_error_unavailable(err);
    }
    store_conn_release(ctx->db); /* no connection is held while fetching */
    int rc = fetch_and_save(ctx, url, out, err);
    if (rc < 0 && !mg_error_is_unavailable(err)) {
        const char *fk[] = {fail_key};
        const int fc[] = {1};
        long long mark = 0;
        if (store_lease_acquire(ctx->db, fk, fc, 1, CIMD_FAIL_TTL_S, &mark) != STORE_OK)
            LOG_WARN("msg=\"could not remember a failed client metadata fetch\"");
    }
    if (store_lease_release(ctx->db, lease) != STORE_OK)
        LOG_WARN("msg=\"could not give back a fetch lease: it expires on its own\"");
    return rc;
}
