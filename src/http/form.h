/*
 * http/form.h - query strings, form bodies, cookies and HTTP Basic
 * credentials.
 *
 * Owns: the application/x-www-form-urlencoded grammar (WHATWG URL "urlencoded
 * parser", as RFC 6749 appendix B uses it), strictly: a malformed percent
 * escape, a NUL byte or a name or value that is not UTF-8 is an error, not
 * something to guess around;
 * the Cookie header (RFC 6265 section 4.2.1):
 *     cookie-string = cookie-pair *( ";" SP cookie-pair )
 *     cookie-pair   = cookie-name "=" cookie-value
 * and the Basic scheme of RFC 7617 with RFC 6749 section 2.3.1's extra
 * form-urlencoding of the client id and secret.
 * Must not touch: what the fields mean.
 */
#ifndef MG_HTTP_FORM_H
#define MG_HTTP_FORM_H

#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

#define HTTP_FORM_MAX_FIELDS 64
#define HTTP_FORM_MAX_NAME   64

struct http_kv {
    char *name;  /* decoded, NUL-terminated, owned by the form */
    char *value; /* decoded, NUL-terminated, owned by the form */
    size_t value_len;
};

struct http_form {
    struct http_kv kv[HTTP_FORM_MAX_FIELDS];
    int n;
};

/* Parses len bytes of name=value&... into out (which it initializes).
 * Returns 0; or -1 with err (util/error.h; may be NULL) at http 400 and a
 * msg saying the fault (malformed escape, NUL, not UTF-8, too many fields,
 * a name over HTTP_FORM_MAX_NAME) and out empty. Free with http_form_free()
 * in both cases. */
__attribute__((warn_unused_result)) int
http_form_parse(const char *s, size_t len, struct http_form *out, struct mg_error *err);

/* Frees what the form holds; the struct may be parsed into again. */
void http_form_free(struct http_form *f);

/* The first value of field name, borrowed from f, or NULL when absent. */
const char *http_form_get(const struct http_form *f, const char *name);

/* How many times field name occurs. */
int http_form_count(const struct http_form *f, const char *name);

/* The name of the first field that occurs more than once, or NULL. */
const char *http_form_duplicate(const struct http_form *f);

/* Copies the value of cookie name from a Cookie header into out (n bytes).
 * Returns 0, or -1 when absent, empty or too long. */
__attribute__((warn_unused_result)) int http_cookie_get(const char *cookie_header, const char *name,
                                                        char *out, size_t n);

enum http_basic {
    HTTP_BASIC_OK,        /* id and secret are filled */
    HTTP_BASIC_ABSENT,    /* no header, or not the Basic scheme */
    HTTP_BASIC_MALFORMED, /* Basic, but malformed or too long */
};

/* Decodes "Basic base64(urlenc(id):urlenc(secret))" into id and secret.
 * The caller clears secret after use. */
__attribute__((warn_unused_result)) enum http_basic
http_basic_credentials(const char *authorization, char *id, size_t id_n, char *secret,
                       size_t secret_n);

/* Appends s percent-encoded (everything but ALPHA DIGIT - . _ ~). Returns
 * 0, or -1 when b is full. */
__attribute__((warn_unused_result)) int http_url_encode(struct buf *b, const char *s);

#endif
