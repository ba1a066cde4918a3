/*
 * http/request.c - header and parameter lookup.
 */
#include "http/request.h"

#include <ctype.h>
#include <string.h>

const char *http_param(const struct http_request *r, const char *name)
{
    if (!r->envp)
        return NULL;
    size_t n = strlen(name);
    for (const char *const *e = r->envp; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

const char *http_header(const struct http_request *r, const char *name)
{
    char cgi[128] = "HTTP_";
    size_t i = 5;
    for (const char *p = name; *p; p++) {
        if (i + 1 >= sizeof cgi)
            return NULL;
        cgi[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    }
    cgi[i] = '\0';
    /* Content-Type and Content-Length come without the HTTP_ prefix */
    if (strcmp(cgi, "HTTP_CONTENT_TYPE") == 0)
        return r->content_type;
    if (strcmp(cgi, "HTTP_CONTENT_LENGTH") == 0)
        return http_param(r, "CONTENT_LENGTH");
    return http_param(r, cgi);
}

int http_request_path(const struct http_request *r, char *out, size_t n)
{
    const char *uri = r->uri ? r->uri : "/";
    size_t len = strcspn(uri, "?#");
    if (len >= n)
        return -1;
    memcpy(out, uri, len);
    out[len] = '\0';
    return 0;
}
