/*
 * http/form.c - query strings, form bodies, cookies and HTTP Basic
 * credentials.
 */
#include "http/form.h"

#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Decodes len bytes (plus_is_space: '+' means ' ') into a new string.
 * Returns it (caller frees), or NULL with err (400) when an escape is malformed,
 * the result holds a NUL, or it is not UTF-8: what fields become (user
 * names, client ids, key names) is text, which PostgreSQL refuses to store
 * or compare otherwise. *out_len gets the decoded length. */
static char *pct_decode(const char *s, size_t len, int plus_is_space, size_t *out_len,
                        struct mg_error *err)
{
    char *d = NULL;
    size_t o = 0;
    switch (url_pct_decode(s, len, plus_is_space, &d, &o)) {
    case URL_BAD_ESCAPE:
        mg_error_set(err, 400, 0, "malformed percent-encoding");
        return NULL;
    case URL_HAS_NUL:
        mg_error_set(err, 400, 0, "a NUL byte in a parameter");
        return NULL;
    case URL_DECODED:
        break;
    }
    if (!json_utf8_valid(d, o)) {
        mg_error_set(err, 400, 0, "a parameter that is not UTF-8 text");
        explicit_bzero(d, o);
        free(d);
        return NULL;
    }
    if (out_len)
        *out_len = o;
    return d;
}

void http_form_free(struct http_form *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->kv[i].name);
        if (f->kv[i].value) {
            explicit_bzero(f->kv[i].value, f->kv[i].value_len);
            free(f->kv[i].value);
        }
    }
    f->n = 0;
}

int http_form_parse(const char *s, size_t len, struct http_form *out, struct mg_error *err)
{
    out->n = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != '&')
            end++;
        if (end > i) {
            if (out->n == HTTP_FORM_MAX_FIELDS) {
                mg_error_set(err, 400, 0, "too many parameters");
                goto fail;
            }
            size_t eq = i;
            while (eq < end && s[eq] != '=')
                eq++;
            struct http_kv *kv = &out->kv[out->n];
            kv->name = pct_decode(s + i, eq - i, 1, NULL, err);
            kv->value = NULL;
            if (!kv->name)
                goto fail;
            out->n++;
            if (strlen(kv->name) > HTTP_FORM_MAX_NAME) {
                mg_error_set(err, 400, 0, "parameter name too long");
                goto fail;
            }
            kv->value = eq < end ? pct_decode(s + eq + 1, end - eq - 1, 1, &kv->value_len, err)
                                 : pct_decode("", 0, 1, &kv->value_len, err);
            if (!kv->value)
                goto fail;
        }
        i = end + 1;
    }
    return 0;
fail:
    http_form_free(out);
    return -1;
}

const char *http_form_get(const struct http_form *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->kv[i].name, name) == 0)
            return f->kv[i].value;
    return NULL;
}

int http_form_count(const struct http_form *f, const char *name)
{
    int n = 0;
    for (int i = 0; i < f->n; i++)
        n += strcmp(f->kv[i].name, name) == 0;
    return n;
}

const char *http_form_duplicate(const struct http_form *f)
{
    for (int i = 0; i < f->n; i++)
        for (int j = i + 1; j < f->n; j++)
            if (strcmp(f->kv[i].name, f->kv[j].name) == 0)
                return f->kv[i].name;
    return NULL;
}

int http_cookie_get(const char *cookie_header, const char *name, char *out, size_t n)
{
    if (!cookie_header)
        return -1;
    size_t name_len = strlen(name);
    const char *p = cookie_header;
    while (*p) {
        p += strspn(p, " \t;");
        size_t pair = strcspn(p, ";");
        if (pair > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t vlen = pair - name_len - 1;
            const char *v = p + name_len + 1;
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen == 0 || vlen >= n)
                return -1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p += pair;
    }
    return -1;
}

/* Decodes standard base64 (padding optional) into out (n bytes, NUL added).
 * Returns the length, or -1. */
static long b64_decode(const char *s, char *out, size_t n)
{
    char padded[1400];
    size_t len = strlen(s);
    if (len + 3 >= sizeof padded || n == 0)
        return -1;
    memcpy(padded, s, len);
    while (len % 4)
        padded[len++] = '=';
    long got = crypto_b64_decode(padded, len, (unsigned char *)out, n - 1);
    explicit_bzero(padded, sizeof padded);
    if (got < 0)
        return -1;
    out[got] = '\0';
    return got;
}

enum http_basic http_basic_credentials(const char *authorization, char *id, size_t id_n,
                                       char *secret, size_t secret_n)
{
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
        return HTTP_BASIC_ABSENT;
    const char *b64 = authorization + 6;
    b64 += strspn(b64, " ");
    char raw[1024];
    long len = b64_decode(b64, raw, sizeof raw);
    enum http_basic rc = HTTP_BASIC_MALFORMED;
    char *colon = len > 0 ? memchr(raw, ':', (size_t)len) : NULL;
    if (!colon || memchr(raw, '\0', (size_t)len))
        goto out;
    *colon = '\0';
    size_t a_len = 0, b_len = 0;
    char *a = pct_decode(raw, strlen(raw), 1, &a_len, NULL);
    char *b = pct_decode(colon + 1, strlen(colon + 1), 1, &b_len, NULL);
    if (a && b && a_len > 0 && a_len < id_n && b_len < secret_n) {
        memcpy(id, a, a_len + 1);
        memcpy(secret, b, b_len + 1);
        rc = HTTP_BASIC_OK;
    }
    free(a);
    if (b) {
        explicit_bzero(b, b_len);
        free(b);
    }
out:
    explicit_bzero(raw, sizeof raw);
    return rc;
}

int http_url_encode(struct buf *b, const char *s)
{
    return url_pct_encode(b, s, strlen(s), 0);
}
