/*
 * tests/fuzz/fuzz.h - helpers shared by the libFuzzer targets: NUL-terminated
 * copies of the input and its parts, and a request fed straight into the
 * router with an unreachable database (as tests/unit/test_transport.c).
 */
#ifndef MG_TESTS_FUZZ_H
#define MG_TESTS_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route/router.h"
#include "store/db.h"
#include "tools/registry.h"
#include "util/config.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A new NUL-terminated copy of n bytes of p (free it). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Splits *data at the next sep: returns the part before it (NUL-terminated,
 * free it) and advances *data and *size past sep (to the end when absent). */
static inline char *fuzz_next(const uint8_t **data, size_t *size, uint8_t sep)
{
    const uint8_t *end = memchr(*data, sep, *size);
    size_t n = end ? (size_t)(end - *data) : *size;
    char *s = fuzz_strndup(*data, n);
    *data += end ? n + 1 : n;
    *size -= end ? n + 1 : n;
    return s;
}

static struct mg_config fuzz_cfg;
static struct store_conn *fuzz_db;

static int fuzz_discard(void *ctx, const char *p, size_t n)
{
    (void)ctx, (void)p, (void)n;
    return 0;
}

static int fuzz_noflush(void *ctx)
{
    (void)ctx;
    return 0;
}

/* The configuration of tests/unit/test_transport.c: auth as given, a
 * database nobody listens at. Call once. */
static inline void fuzz_router_init(const char *auth)
{
    struct mg_error err = MG_ERROR_INIT;
    config_defaults(&fuzz_cfg);
    if (config_set(&fuzz_cfg, "base_url", "https://mcp.example.org", &err) ||
        config_set(&fuzz_cfg, "database", "host=/nonexistent/socketdir dbname=x connect_timeout=1",
                   &err) ||
        config_set(&fuzz_cfg, "auth", auth, &err) || config_finish(&fuzz_cfg, &err))
        abort();
    log_set_level((enum log_level) - 1); /* silent: every request would log an error */
    tool_builtin_register();
    fuzz_db = store_conn_new(fuzz_cfg.database, 1);
}

/* Serves one request through the router; the answer is discarded. */
static inline void fuzz_serve(const char *method, const char *uri, const char *ctype,
                              const char *body, size_t body_len, const char *const *envp)
{
    struct http_request req = {
        .method = method,
        .uri = uri,
        .content_type = ctype,
        .content_length = (long long)body_len,
        .body = body,
        .body_len = body_len,
        .request_id = "00112233aabbccdd",
        .envp = envp,
    };
    struct http_response res;
    http_response_init(&res);
    struct http_out out = {.write = fuzz_discard, .flush = fuzz_noflush};
    struct http_ctx ctx = {.cfg = &fuzz_cfg, .db = fuzz_db, .req = &req, .res = &res, .out = &out};
    (void)http_serve(&ctx);
    http_response_free(&res);
}

#endif
