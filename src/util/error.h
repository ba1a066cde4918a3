/*
 * util/error.h - the project's one error contract.
 *
 * Owns: struct mg_error and its setters. Must not touch: anything else.
 *
 * The contract (docs/hacking.md repeats it):
 *
 * 1. Plain status returns. A function that only succeeds or fails returns
 *    int: 0 (or a count, or 1 for "yes") on success and -1 on failure, or
 *    a pointer that is NULL on failure. A function with more outcomes than
 *    that returns a named enum (the store's enum store_rc in store/db.h is
 *    the one for every store call); never a bare -2 or other magic value.
 *
 * 2. Errors that say something. A function whose failure carries an HTTP
 *    status, a protocol code, a message for the client or a detail for the
 *    log takes `struct mg_error *err` as its last parameter, returns -1 (or
 *    NULL) and fills *err with mg_error_set() and friends. The caller owns
 *    the struct (usually on its stack, zeroed: MG_ERROR_INIT); there is
 *    nothing to free. err may be NULL when the caller needs no reason.
 *
 *    - http: the status the answer should carry (400, 401, 403, 404, 415,
 *      503...), or 0 when the failure is not a request's (configuration,
 *      start-up) or the caller decides.
 *    - code: the protocol's code: a JSON-RPC error code in mcp/, or 0.
 *      OAuth error names ("invalid_request") stay strings at the reply
 *      site (oauth/internal.h), chosen from http.
 *    - msg: what the client (or the operator, for configuration and CLI
 *      errors) is shown. Specific, short, in the style of the existing
 *      answers; never a secret (token, password, key, client secret) and
 *      never a value the client did not send.
 *    - detail: for the log only (a libpq or libcurl message, a path, an
 *      errno text). Never sent to a client, and never a secret either.
 *
 * mcp/ wraps it: struct mcp_err (mcp/types.h) is an mg_error plus the
 * JSON-RPC error's data member, a Retry-After (http 429) and the scopes a
 * call needs (http 403).
 */
#ifndef MG_UTIL_ERROR_H
#define MG_UTIL_ERROR_H

/* msg holds the longest message given today (the OpenAPI importer lists a
 * document's tags when a selection matches nothing) */
enum { MG_ERROR_MSG_LEN = 4096, MG_ERROR_DETAIL_LEN = 256 };

struct mg_error {
    int http;                         /* HTTP status for the answer, or 0 */
    int code;                         /* protocol code (JSON-RPC), or 0 */
    char msg[MG_ERROR_MSG_LEN];       /* to the client or operator */
    char detail[MG_ERROR_DETAIL_LEN]; /* to the log only */
};

#define MG_ERROR_INIT                                                                              \
    {                                                                                              \
        0, 0, "", ""                                                                               \
    }

/* Sets http, code and msg (printf-style, truncated to fit); keeps detail.
 * Does nothing when e is NULL. Returns -1, so that a failing function can
 * end with `return mg_error_set(err, ...);`. */
__attribute__((format(printf, 4, 5))) int mg_error_set(struct mg_error *e, int http, int code,
                                                       const char *fmt, ...);

/* Sets msg only (printf-style), keeping http and code: for failures whose
 * status the caller decides (configuration, parsers). Returns -1; does
 * nothing when e is NULL. */
__attribute__((format(printf, 2, 3))) int mg_error_msg(struct mg_error *e, const char *fmt, ...);

/* Sets the log-only detail (printf-style). Returns -1; does nothing when e
 * is NULL. */
__attribute__((format(printf, 2, 3))) int mg_error_detail(struct mg_error *e, const char *fmt, ...);

/* The store (or another service) could not be reached: http 503 and the
 * message clients see for it. Returns -1; does nothing when e is NULL. */
int mg_error_unavailable(struct mg_error *e);

/* 1 when e carries the failure of mg_error_unavailable(), else 0. */
int mg_error_is_unavailable(const struct mg_error *e);

#endif
