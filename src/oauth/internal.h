/*
 * oauth/internal.h - what the oauth/ files share: replies, secrets, URI
 * rules, client lookup and authentication. Not for use outside src/oauth/.
 */
#ifndef MG_OAUTH_INTERNAL_H
#define MG_OAUTH_INTERNAL_H

#include <json-c/json.h>

#include "http/form.h"
#include "oauth/oauth.h"
#include "store/oauth_clients.h"
#include "util/crypto.h"
#include "util/jwt.h"

#define OAUTH_CODE_TTL_S     120 /* authorization codes: single use, at most 10 minutes */
#define OAUTH_SECRET_BYTES   32  /* tokens, codes, client secrets, keys: 256 bits */
#define OAUTH_SECRET_LEN     43  /* base64url of 32 bytes */
#define OAUTH_APIKEY_PREFIX  "mgk_"
#define OAUTH_MAX_URI_LEN    2048
#define OAUTH_MAX_STATE_LEN  1024
#define OAUTH_MAX_REDIRECTS  10
#define OAUTH_COOKIE_SESSION "mcpgate_session"
#define OAUTH_COOKIE_CSRF    "mcpgate_csrf"
#define OAUTH_COOKIE_FLASH   "mcpgate_newkey"

/* Replaces the response with a JSON body (takes o). */
void oauth_reply_json(struct http_response *res, int status, struct json_object *o);

/* {"error": error, "error_description": description} with status. */
void oauth_reply_error(struct http_response *res, int status, const char *error,
                       const char *description);

/* 503 with Retry-After: the database is unreachable. */
void oauth_reply_unavailable(struct http_response *res);

/* Adds a header; a failure (a value with CR/LF) is logged, not fatal. */
void oauth_header(struct http_response *res, const char *name, const char *value);

/* A fresh 256-bit secret as base64url (after prefix, may be "") into
 * out (n bytes) and the SHA-256 hex of the whole value into hash. */
void oauth_secret_new(const char *prefix, char *out, size_t n,
                      char hash[CRYPTO_SHA256_HEX_LEN + 1]);

/* base_url + path into out. */
void oauth_url(const struct mg_config *cfg, const char *path, char *out, size_t n);

/* Returns 1 when given equals one of the registered URIs (newline-
 * separated) exactly, or differs only in the port of a loopback http URI
 * (RFC 8252 section 7.3), else 0. */
int oauth_redirect_uri_match(const char *registered, const char *given);

/* Returns 1 when client_id names a client ID metadata document (an https
 * URL; http too when cimd_allow_private is set). */
int oauth_cimd_is_url(const struct mg_config *cfg, const char *client_id);

/* Fetches (or takes from the cache) the metadata document at url and fills
 * *out. Returns 0, or -1 with err (not NULL): its msg says why the
 * document is unusable, or mg_error_is_unavailable(err) when the database
 * is unreachable or too many fetches wait. */
__attribute__((warn_unused_result)) int oauth_cimd_resolve(struct oauth_ctx *ctx, const char *url,
                                                           struct store_client *out,
                                                           struct mg_error *err);

/* Finds a client by id (fetching a metadata document when needed).
 * Returns 0, or -1 with err (not NULL): its msg says why the client is
 * unknown or unusable, or mg_error_is_unavailable(err) when the database is
 * unreachable. */
__attribute__((warn_unused_result)) int oauth_client_get(struct oauth_ctx *ctx,
                                                         const char *client_id,
                                                         struct store_client *out,
                                                         struct mg_error *err);

/* Reads an application/x-www-form-urlencoded POST body into f. Returns 0;
 * or -1 with the 400/413/415 answer already in ctx->res (f empty). Free f
 * in both cases. */
__attribute__((warn_unused_result)) int oauth_read_form(struct oauth_ctx *ctx, struct http_form *f);

/* Authenticates the client of a token, revocation or introspection
 * request (client_secret_basic, client_secret_post, or none for public
 * clients). Returns 0 with *out filled; or -1 with the 400/401/503 answer
 * in ctx->res. require_secret: public clients are refused. */
__attribute__((warn_unused_result)) int oauth_client_authenticate(struct oauth_ctx *ctx,
                                                                  const struct http_form *f,
                                                                  struct store_client *out,
                                                                  int require_secret);

/* The canonical resource for a request's "resource" parameter: NULL or
 * our resource URI (with or without a trailing slash) give ours in out
 * and return 0, as does a connector's (base_url/mcp/NAME, RFC 8707: it
 * selects the connector the token is for); anything else returns -1. */
__attribute__((warn_unused_result)) int
oauth_resource_check(const struct mg_config *cfg, const char *resource, char *out, size_t n);

/* --- the browser pages (web.c) --- */
struct store_user;

/* The signed-in user of this browser. Returns 1 (signed in, *out set), 0
 * (not), or -1 when the database is unreachable (answered: 503). */
__attribute__((warn_unused_result)) int oauth_web_user(struct oauth_ctx *ctx,
                                                       struct store_user *out);

/* The CSRF token for forms on this page into out (n >= 64): an HMAC of the
 * browser's CSRF cookie, which is set when missing. Returns 0, or -1 when
 * the database is unreachable. */
__attribute__((warn_unused_result)) int oauth_csrf_token(struct oauth_ctx *ctx, char *out,
                                                         size_t n);

/* Returns 1 when the form's csrf field matches this browser's cookie. */
int oauth_csrf_ok(struct oauth_ctx *ctx, const struct http_form *f);

/* Sends an HTML page (takes the bytes of html) with the pages' security
 * headers. */
void oauth_send_page(struct oauth_ctx *ctx, int status, const struct buf *html);

/* Sends html, a page that rendered (rendered, the renderer's return, is
 * 0) or failed to (< 0: logged; what it holds is sent), as
 * oauth_send_page(); then clears and frees html, which may hold a secret
 * (a new API key). */
void oauth_send_rendered(struct oauth_ctx *ctx, int status, int rendered, struct buf *html);

/* An error page. */
void oauth_error_page(struct oauth_ctx *ctx, int status, const char *title, const char *message);

/* 303 See Other to location. */
void oauth_see_other(struct oauth_ctx *ctx, const char *location);

/* Parses the query string of the request into f. Returns 0, or -1 with
 * err (msg for the error page). Free f in both cases. */
__attribute__((warn_unused_result)) int oauth_query(struct oauth_ctx *ctx, struct http_form *f,
                                                    struct mg_error *err);

/* The signed-in user of this browser into *u, for a page that needs one.
 * Returns 1 when signed in; 0 when it answered: 303 to sign in and come
 * back to page (a path below base_url, e.g. "/account"), or 503. */
__attribute__((warn_unused_result)) int oauth_page_user(struct oauth_ctx *ctx, struct store_user *u,
                                                        const char *page);

/* 1 when the request is a GET; otherwise answers 405 with an error page
 * and "Allow: allow" ("GET" or "GET, POST") and returns 0. */
int oauth_page_get_only(struct oauth_ctx *ctx, const char *allow);

/* For a page answered to GET: checks the method as oauth_page_get_only()
 * and parses the query string into q. Returns 0 (free q), or -1 when it
 * answered (405, or 400 for a malformed query; q holds nothing). */
__attribute__((warn_unused_result)) int oauth_page_query(struct oauth_ctx *ctx, const char *allow,
                                                         struct http_form *q);

/* Sets a cookie scoped to base_url's path + path_suffix (Secure, HttpOnly,
 * SameSite=Lax); max_age_s 0 deletes it. */
void oauth_set_cookie(struct oauth_ctx *ctx, const char *name, const char *value, int max_age_s,
                      const char *path_suffix);

/* The request's cookie name into out (n bytes). Returns 0, or -1 when it
 * is absent or does not fit. */
int oauth_cookie(struct oauth_ctx *ctx, const char *name, char *out, size_t n);

/* A return_to target after sign-in: our /authorize?... or /account, as a
 * path; anything else becomes /account. Into out (n bytes). */
void oauth_safe_return(const struct mg_config *cfg, const char *want, char *out, size_t n);

/* Starts a browser session for u and sends the browser to target (303);
 * a 503 when the database is unreachable. */
void oauth_web_session_start(struct oauth_ctx *ctx, const struct store_user *u, const char *target);

/* --- sign-in at identity providers (idp.c) --- */

/* Appends to out the path that starts a sign-in at p and then goes to
 * return_to (may be NULL): base_path/login/idp?provider=NAME&return_to=...
 * Returns 0, or -1 when out's limit is reached. */
__attribute__((warn_unused_result)) int oauth_idp_start_url(const struct mg_config *cfg,
                                                            const struct mg_idp *p,
                                                            const char *return_to, struct buf *out);

/* Finds or provisions the user keyed by (source, the claims' "sub"), with
 * name and email from the claims ("preferred_username", "email", "name").
 * Returns 0 with *u set (which may be disabled), or -1 with err: its msg
 * when the claims lack a subject or are too long to keep, or
 * mg_error_is_unavailable(err) when the database failed. */
__attribute__((warn_unused_result)) int
oauth_user_provision(struct oauth_ctx *ctx, const char *source, struct json_object *claims,
                     struct store_user *u, struct mg_error *err);

/* When claims have the claim named claim (an array of strings; "" names
 * none), makes u's groups exactly its entries that are valid group names
 * (at most 32; others are skipped and logged) and tells u's sessions when
 * that changed them. Without the claim the memberships stay. Returns 0, or
 * -1 when the database failed. */
__attribute__((warn_unused_result)) int oauth_groups_sync(struct oauth_ctx *ctx, const char *source,
                                                          const char *claim,
                                                          const struct store_user *u,
                                                          struct json_object *claims);

/* --- the external authorization server of auth = resource (idp.c) --- */

enum oauth_rs {
    OAUTH_RS_OK,          /* the token was checked and is good (or the answer is in *out) */
    OAUTH_RS_REFUSED,     /* the token is not good */
    OAUTH_RS_UNREACHABLE, /* the issuer's metadata, keys or introspection could not be had */
};

/* Validates the JWT token against want with the issuer's key set, fetched
 * from its metadata and cached for its Cache-Control lifetime, fetched
 * again for an unknown kid at most once per rs_jwks_refetch_s. OAUTH_RS_OK
 * with *claims the caller's; OAUTH_RS_REFUSED with *jrc and err's log-only
 * detail; OAUTH_RS_UNREACHABLE when no key set could be had (neither
 * cached nor fetched; err's detail says which). */
__attribute__((warn_unused_result)) enum oauth_rs
oauth_rs_jwt_validate(const struct mg_config *cfg, const char *token, const struct jwt_expect *want,
                      struct json_object **claims, enum jwt_rc *jrc, struct mg_error *err);

/* Asks the issuer's introspection endpoint (RFC 7662) about token with the
 * configured client credentials (client_secret_basic). OAUTH_RS_OK with
 * *out the answer (a JSON object the caller puts; "active" still to be
 * checked); OAUTH_RS_UNREACHABLE when there is no answer. */
__attribute__((warn_unused_result)) enum oauth_rs
oauth_rs_introspect(const struct mg_config *cfg, const char *token, struct json_object **out);

/* Fetches the issuer's metadata and key set afresh (for doctor). Returns 0
 * or -1, with a sentence in msg either way. */
int oauth_rs_probe(const struct mg_config *cfg, char *msg, size_t n);

/* The bearer check of auth = resource (resource.c); see oauth_bearer_check(). */
__attribute__((warn_unused_result)) enum oauth_bearer
oauth_rs_bearer_check(struct oauth_ctx *ctx, struct oauth_principal *out);

/* The WWW-Authenticate challenge of a 401 (error NULL: no token was sent)
 * and the error body, with the scopes of this server's mode. */
void oauth_challenge(struct oauth_ctx *ctx, int status, const char *error, const char *why);

/* The bearer token of the request ("Authorization: Bearer", then an RFC 6750
 * b64token of at most max_len characters), its SHA-256 hex in hash.
 * Returns it (borrowed from the request), or NULL after answering 401: with
 * the message missing when no token was sent, invalid_token when it is
 * malformed. */
const char *oauth_bearer_token(struct oauth_ctx *ctx, size_t max_len, const char *missing,
                               char hash[CRYPTO_SHA256_HEX_LEN + 1]);
/* The provider whose consent stands alone for u (consent=provider on its
 * idp line, and u signs in there), or NULL: mcpgate's consent page. */
const struct mg_idp *oauth_idp_consent_at(const struct mg_config *cfg, const struct store_user *u);

/* 1 when the browser comes straight from consenting at the provider to
 * this very authorization request of u (a mark set by the callback, bound
 * to u and the request URI, 2 minutes, spent now), else 0. */
int oauth_idp_consent_given(struct oauth_ctx *ctx, const struct store_user *u);

/* Disconnects user_id's account at p: its tokens there are revoked when p
 * offers revocation (revocation_endpoint=, else discovery's; *revoked
 * counts those the provider took) and forgotten either way. Returns 1, 0
 * (none were kept) or -1 (the database failed). */
__attribute__((warn_unused_result)) int oauth_idp_disconnect(struct oauth_ctx *ctx,
                                                             long long user_id,
                                                             const struct mg_idp *p, int *revoked);
#endif
