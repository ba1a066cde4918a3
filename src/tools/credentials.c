/*
 * tools/credentials.c - a credential slot's value at call time: the
 * calling user's linked value for a per_user slot (that and nothing
 * else), otherwise the backend's stored value or the configured one
 * (tools/credentials.h).
 */
#include "tools/credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/credentials.h"
#include "tools/exchange.h"
#include "tools/idp_token.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/url.h"

#define MAX_VALUE_BYTES 8192

static const struct seal_key *resp_keys; /* the configuration's, set at start-up */
static int resp_n_keys;
static char account_url[600];

void tool_cred_setup(const struct seal_key *keys, int n_keys, const char *base_url)
{
    resp_keys = keys;
    resp_n_keys = n_keys;
    snprintf(account_url, sizeof account_url, "%s/account", base_url ? base_url : "");
}

void tool_cred_free(char *value)
{
    if (value) {
        explicit_bzero(value, strlen(value));
        free(value);
    }
}

int tool_cred_value_ok(const char *value)
{
    size_t n = value ? strlen(value) : 0;
    if (n < 1 || n > MAX_VALUE_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}

/* The owner a value is bound to: "mcpgate-credential" NUL backend NUL slot
 * NUL user id (decimal, 0 for the backend's own). Returns its length. */
static size_t binding(const char *backend, const char *slot, long long user_id, char *out, size_t n)
{
    int len = snprintf(out, n, "mcpgate-credential%c%s%c%s%c%lld", 0, backend, 0, slot, 0, user_id);
    return len < 0 ? 0 : (size_t)len < n ? (size_t)len : n - 1;
}

char *tool_cred_seal(const struct seal_key *keys, const char *backend, const char *slot,
                     long long user_id, const char *value)
{
    char aad[TOOL_BACKEND_NAME_MAX + TOOL_BACKEND_SLOT_MAX + 64];
    size_t aad_len = binding(backend, slot, user_id, aad, sizeof aad);
    if (strlen(value) > MAX_VALUE_BYTES)
        return NULL;
    return seal_encrypt(&keys[0], value, strlen(value), aad, aad_len);
}

enum seal_rc tool_cred_open(const struct seal_key *keys, int n_keys, const char *backend,
                            const char *slot, long long user_id, const char *sealed, char **value)
{
    char aad[TOOL_BACKEND_NAME_MAX + TOOL_BACKEND_SLOT_MAX + 64];
    size_t aad_len = binding(backend, slot, user_id, aad, sizeof aad);
    char *plain = NULL;
    size_t len = 0;
    enum seal_rc rc = seal_decrypt(keys, n_keys, sealed, aad, aad_len, &plain, &len);
    if (rc != SEAL_OK)
        return rc;
    if (strlen(plain) != len || !tool_cred_value_ok(plain)) {
        tool_cred_free(plain);
        return SEAL_BAD;
    }
    *value = plain;
    return SEAL_OK;
}

/* Looks up the stored value of be's slot for user_id. Returns 1 with
 * *value, 0 when none is stored, -1 with a message in err. */
static int stored(const struct backend *be, const struct backend_cred *c, struct store_conn *db,
                  long long user_id, char **value, struct mg_error *err)
{
    char *sealed = NULL;
    switch (store_cred_get(db, be->name, c->slot, user_id, &sealed)) {
    case STORE_OK:
        break;
    case STORE_NOT_FOUND:
        return 0;
    case STORE_UNAVAILABLE:
    case STORE_ERROR:
        mg_error_msg(err,
                     "%s was not called: its credential \"%s\" could not be read (the database is "
                     "unavailable); try again later",
                     be->name, c->slot);
        return -1;
    }
    enum seal_rc rc =
        tool_cred_open(resp_keys, resp_n_keys, be->name, c->slot, user_id, sealed, value);
    free(sealed);
    if (rc == SEAL_OK)
        return 1;
    LOG_WARN("msg=\"a stored credential could not be opened\" backend=%s slot=%.64s user_id=%lld "
             "why=\"%s\"",
             be->name, c->slot, user_id, seal_strerror(rc));
    if (user_id)
        mg_error_msg(err,
                     "%s was not called: your linked credential \"%s\" could not be used (it does "
                     "not decrypt with the server's keys); link it again on your account page: %s",
                     be->name, c->slot, account_url);
    else
        mg_error_msg(err,
                     "%s was not called: its stored credential \"%s\" could not be used (it does "
                     "not decrypt with the server's keys); the operator sets it again with mcpgate "
                     "backend credential",
                     be->name, c->slot);
    return -1;
}

char *tool_cred_resolve(const struct backend *be, const struct backend_cred *c,
                        struct tool_ctx *ctx, struct mg_error *err)
{
    struct store_conn *db = ctx ? ctx->db : NULL;
    char *value = NULL;
    if (c->from_idp) /* the caller's own provider token, nothing else */
        return tool_idp_token(be, c, ctx, err);
    if (c->exchange) /* the caller's access token exchanged for the backend's */
        return tool_exchange_token(be, c, ctx, err);
    if (c->per_user) {
        /* only the caller's own value: never the backend's, never another's */
        int found = db && ctx->user_id > 0 ? stored(be, c, db, ctx->user_id, &value, err) : 0;
        if (found > 0)
            return value;
        if (found == 0) {
            mg_error_msg(
                err,
                "%s needs your own credential \"%s\", and you have not linked one: link it "
                "on your account page, %s, then call the tool again",
                be->name, c->slot, account_url);
            (void)tool_url_required(ctx, account_url, err->msg); /* URL-mode elicitation */
        }
        return NULL;
    }
    if (db) {
        int found = stored(be, c, db, 0, &value, err);
        if (found != 0)
            return found > 0 ? value : NULL;
    }
    if (c->value) {
        value = xstrdup(c->value);
        return value;
    }
    mg_error_msg(err,
                 "%s is not set up: its credential \"%s\" has no value (the operator sets it "
                 "with mcpgate backend credential, or env_file/file in the backend file, see "
                 "docs/backends.md)",
                 be->name, c->slot);
    return NULL;
}

int tool_cred_put(const struct backend_cred *c, const char *value, struct buf *header,
                  struct buf *query, const char *sep, char **userpwd)
{
    switch (c->type) {
    case CRED_BEARER:
        return buf_printf(header, "Authorization: %s%s", c->prefix ? c->prefix : "Bearer ", value);
    case CRED_HEADER:
        return buf_printf(header, "%s: %s%s", c->name, c->prefix ? c->prefix : "", value);
    case CRED_QUERY:
        return buf_puts(query, sep) < 0 || url_pct_encode(query, c->name, strlen(c->name), 0) < 0 ||
                       buf_puts(query, "=") < 0 ||
                       url_pct_encode(query, value, strlen(value), 0) < 0
                   ? -1
                   : 0;
    case CRED_BASIC:
        free(*userpwd);
        *userpwd = xstrdup(value);
        return 0;
    }
    return -1;
}
