/*
 * tools/token_client.c - a form POSTed to an authorization server as an
 * OAuth client (tools/token_client.h).
 */
#include "tools/token_client.h"

#include <curl/curl.h>
#include <string.h>

#include "tools/fetch.h"
#include "util/log.h"
#include "util/url.h"

int tool_token_form_field(struct buf *form, const char *key, const char *value)
{
    if ((form->len > 0 && buf_puts(form, "&") != 0) || buf_printf(form, "%s=", key) != 0)
        return -1;
    return url_pct_encode(form, value, strlen(value), 0);
}

long tool_token_post(const struct tool_token_client *cl, const char *endpoint, const char *form,
                     const char *what, struct buf *body)
{
    body->limit = TOOL_TOKEN_MAX_BYTES;
    int has_secret = cl->secret && cl->secret[0];
    char *id = curl_easy_escape(NULL, cl->id, 0);
    char *secret = has_secret ? curl_easy_escape(NULL, cl->secret, 0) : NULL;
    struct buf all = {0};
    int bad = !id || (has_secret && !secret) || buf_puts(&all, form) != 0;
    if (!bad && !has_secret)
        bad = tool_token_form_field(&all, "client_id", cl->id) != 0;
    static const char *const headers[] = {"Accept: application/json", NULL};
    struct tool_fetch_req req = {.url = endpoint,
                                 .form = buf_str(&all),
                                 .user = secret ? id : NULL,
                                 .password = secret,
                                 .headers = headers,
                                 .user_agent = "mcpgate (token client)",
                                 .allow_private = cl->allow_private,
                                 .timeout_ms = TOOL_TOKEN_TIMEOUT_MS};
    long status = 0;
    int refused = 0;
    int rc = bad ? CURLE_OUT_OF_MEMORY : tool_fetch(&req, body, &status, &refused);
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        curl_free(secret);
    }
    curl_free(id);
    buf_free_secret(&all);
    if (refused || rc != CURLE_OK) {
        LOG_WARN("msg=\"%s failed\" client=%s curl=%d refused=%d", what, cl->name, rc, refused);
        return -1;
    }
    return status;
}
