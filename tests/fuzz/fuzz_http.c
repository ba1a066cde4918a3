/*
 * tests/fuzz/fuzz_http.c - HTTP query, form, cookie, Basic and header
 * parsing. The input is lines: a request URI, a Cookie header, an
 * Authorization header, an Origin header, then the form body (the rest).
 * Each goes through http/form.c directly (http_form_parse on the query and
 * the body, http_cookie_get, http_basic_credentials), the scope and
 * redirect URI checks of oauth/, and then the whole request through the
 * router (GET, and POST with the body as a form) with an unreachable
 * database, so every route parses what it reads.
 */
#include "fuzz.h"
#include "http/form.h"
#include "oauth/oauth.h"
#include "oauth/scope.h"

static void form(const char *s, size_t n)
{
    struct http_form f;
    if (http_form_parse(s, n, &f, NULL) == 0) {
        (void)http_form_get(&f, "client_id");
        (void)http_form_count(&f, "scope");
        (void)http_form_duplicate(&f);
        const char *scope = http_form_get(&f, "scope");
        char canon[OAUTH_SCOPE_MAX];
        if (scope && oauth_scope_canonical(scope, canon, sizeof canon) == 0)
            (void)oauth_scope_covers(canon, OAUTH_SCOPE_READ);
        const char *uri = http_form_get(&f, "redirect_uri");
        if (uri)
            (void)!oauth_redirect_uri_check(uri, NULL);
    }
    http_form_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        fuzz_router_init("oauth");
        inited = 1;
    }
    char *uri = fuzz_next(&data, &size, '\n');
    char *cookie = fuzz_next(&data, &size, '\n');
    char *authz = fuzz_next(&data, &size, '\n');
    char *origin = fuzz_next(&data, &size, '\n');
    char *body = fuzz_strndup(data, size);

    const char *q = strchr(uri, '?');
    if (q)
        form(q + 1, strlen(q + 1));
    form(body, size);
    char v[256];
    (void)!http_cookie_get(cookie, "mcpgate_session", v, sizeof v);
    (void)!http_cookie_get(cookie, "", v, sizeof v);
    (void)!http_cookie_get(cookie, "a", v, 2);
    char id[256], secret[256];
    if (http_basic_credentials(authz, id, sizeof id, secret, sizeof secret) == 0)
        explicit_bzero(secret, sizeof secret);
    (void)!http_basic_credentials(authz, id, 8, secret, 8);

    struct buf env_cookie = {0}, env_authz = {0}, env_origin = {0};
    (void)!buf_printf(&env_cookie, "HTTP_COOKIE=%s", cookie);
    (void)!buf_printf(&env_authz, "HTTP_AUTHORIZATION=%s", authz);
    (void)!buf_printf(&env_origin, "HTTP_ORIGIN=%s", origin);
    const char *envp[] = {buf_str(&env_cookie), buf_str(&env_authz), buf_str(&env_origin),
                          "HTTP_HOST=mcp.example.org", NULL};
    if (uri[0] == '/') {
        fuzz_serve("GET", uri, NULL, "", 0, envp);
        fuzz_serve("POST", uri, "application/x-www-form-urlencoded", body, size, envp);
    }
    buf_free(&env_cookie);
    buf_free(&env_authz);
    buf_free(&env_origin);
    free(uri);
    free(cookie);
    free(authz);
    free(origin);
    free(body);
    return 0;
}
