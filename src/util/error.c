/*
 * util/error.c - the setters of struct mg_error (util/error.h).
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

/* Formats the variadic arguments after fmt into the array dst. */
#define PUT(dst)                                                                                   \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vsnprintf((dst), sizeof(dst), fmt, ap);                                                    \
        va_end(ap);                                                                                \
    } while (0)

int mg_error_set(struct mg_error *e, int http, int code, const char *fmt, ...)
{
    if (e) {
        e->http = http;
        e->code = code;
        PUT(e->msg);
    }
    return -1;
}

int mg_error_msg(struct mg_error *e, const char *fmt, ...)
{
    if (e)
        PUT(e->msg);
    return -1;
}

int mg_error_detail(struct mg_error *e, const char *fmt, ...)
{
    if (e)
        PUT(e->detail);
    return -1;
}

int mg_error_unavailable(struct mg_error *e)
{
    return mg_error_set(e, 503, 0, "service temporarily unavailable, retry shortly");
}

int mg_error_is_unavailable(const struct mg_error *e)
{
    return e && e->http == 503;
}
