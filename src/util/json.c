/*
 * util/json.c - strict JSON parsing and small json-c helpers.
 */
#include "util/json.h"

#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence starting at p (at most n bytes), or 0 when
 * it is not well-formed UTF-8 (RFC 3629 §4: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (len > n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

int json_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

size_t json_utf8_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n < max || s[n] == '\0')
        return n;
    /* back off the continuation bytes, then the lead byte they belong to */
    size_t end = n;
    while (end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80)
        end--;
    return end;
}

/* 1 when the integer token at p (len bytes, an optional '-' and digits)
 * is one json-c can hold: int64 when negative, uint64 otherwise. Larger
 * ones it would silently replace by the nearest limit. */
static int integer_fits(const unsigned char *p, size_t len)
{
    static const char max_neg[] = "-9223372036854775808", max_pos[] = "18446744073709551615";
    const char *limit = p[0] == '-' ? max_neg : max_pos;
    size_t ln = strlen(limit);
    return len < ln || (len == ln && memcmp(p, limit, ln) <= 0);
}

/* Length of the number token at p (digits, sign, '.', exponent); sets
 * *fraction when it has a '.' or an exponent. */
static size_t number_token(const unsigned char *p, size_t len, int *fraction)
{
    size_t n = 0;
    *fraction = 0;
    while (n < len && strchr("0123456789+-.eE", p[n]) && p[n] != '\0') {
        if (p[n] == '.' || p[n] == 'e' || p[n] == 'E')
            *fraction = 1;
        n++;
    }
    return n;
}

/* What json-c's strict mode still lets through, and RFC 8259 does not:
 * ill-formed UTF-8, single-quoted strings, NaN and Infinity, raw control
 * characters in strings. Checks the bytes outside strings against the
 * characters JSON's grammar can use there; json-c then checks the grammar.
 * With request set, also what a client may not send (json_parse_request):
 * the escape \u0000 and integers json-c cannot hold.
 * Returns NULL when the text passes, else a static reason. */
static const char *lexical_fault(const unsigned char *p, size_t len, int request)
{
    int in_string = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = utf8_seq(p + i, len - i);
            if (n == 0)
                return "invalid UTF-8 in JSON text";
            if (!in_string)
                return "invalid JSON";
            i += n;
            continue;
        }
        if (in_string) {
            if (c < 0x20)
                return "unescaped control character in a JSON string";
            if (c == '\\') {
                if (request && len - i >= 6 && memcmp(p + i + 1, "u0000", 5) == 0)
                    return "U+0000 in a JSON string is not accepted";
                i++;
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (request && (c == '-' || (c >= '0' && c <= '9'))) {
            int fraction;
            size_t n = number_token(p + i, len - i, &fraction);
            if (!fraction && !integer_fits(p + i, n))
                return "integer out of range";
            i += n;
            continue;
        } else if (!strchr("{}[],: \t\r\n0123456789+-.eEtrufalsn", c) || c == '\0') {
            return "invalid JSON";
        }
        i++;
    }
    return NULL;
}

enum json_tokener_error json_tokenize(const char *text, size_t len, int depth,
                                      struct json_object **out, size_t *used)
{
    struct json_tokener *tok = json_tokener_new_ex(depth);
    if (!tok)
        abort();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    *used = json_tokener_get_parse_end(tok);
    if (err == json_tokener_continue) {
        /* a number at the very end may go on: white space ends it */
        obj = json_tokener_parse_ex(tok, " ", 1);
        err = json_tokener_get_error(tok);
        *used = len;
    }
    json_tokener_free(tok);
    if (err != json_tokener_success) {
        json_object_put(obj);
        obj = NULL;
    }
    *out = obj;
    return err;
}

/* The fault of text as a static description, or NULL when *out holds the
 * parsed value. */
static const char *parse(const char *text, size_t len, int request, struct json_object **out)
{
    if (len == 0)
        return "empty body";
    if (len > INT32_MAX)
        return "body too large";
    const char *why = lexical_fault((const unsigned char *)text, len, request);
    if (why)
        return why;
    struct json_object *obj;
    size_t used;
    enum json_tokener_error err = json_tokenize(text, len, JSON_MAX_DEPTH, &obj, &used);
    if (err == json_tokener_continue)
        return "unexpected end of JSON text";
    if (err == json_tokener_error_depth)
        return "JSON nested too deeply";
    if (err == json_tokener_error_parse_utf8_string)
        return "invalid UTF-8 in JSON text";
    if (err != json_tokener_success)
        return "invalid JSON";
    for (size_t i = used; i < len; i++) {
        char c = text[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            json_object_put(obj);
            return "unexpected data after JSON text";
        }
    }
    *out = obj;
    return NULL;
}

static int parse_into(const char *text, size_t len, int request, struct json_object **out,
                      struct mg_error *err)
{
    const char *why = parse(text, len, request, out);
    return why ? mg_error_set(err, 400, 0, "%s", why) : 0;
}

int json_parse_strict(const char *text, size_t len, struct json_object **out, struct mg_error *err)
{
    return parse_into(text, len, 0, out, err);
}

int json_parse_request(const char *text, size_t len, struct json_object **out, struct mg_error *err)
{
    return parse_into(text, len, 1, out, err);
}

void json_add(struct json_object *obj, const char *key, struct json_object *val)
{
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        abort();
    }
}

void json_add_strings(struct json_object *obj, ...)
{
    va_list ap;
    va_start(ap, obj);
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;)
        json_add(obj, key, json_object_new_string(va_arg(ap, const char *)));
    va_end(ap);
}

struct json_object *json_get(struct json_object *obj, const char *key, enum json_type type)
{
    struct json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
        return NULL;
    return v;
}

const char *json_get_string(struct json_object *obj, const char *key)
{
    struct json_object *v = json_get(obj, key, json_type_string);
    return v ? json_object_get_string(v) : NULL;
}

/* Length of the run of ASCII bytes at p (of n), eight at a time: the text
 * of a tools/list page is about 100 KB, nearly all of it ASCII. */
static size_t ascii_run(const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        if (w & UINT64_C(0x8080808080808080))
            break;
    }
    while (i < n && p[i] < 0x80)
        i++;
    return i;
}

const char *json_text(struct json_object *obj, size_t *len)
{
    size_t n = 0;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    /* json-c copies the bytes of strings as they are. A string that quotes
     * a name cut at a byte limit, or a raw header value, would make the text
     * invalid UTF-8 (RFC 8259 section 8.1), which clients refuse and
     * PostgreSQL will not store. The text is json-c's own buffer in obj,
     * written afresh at each call: mend it there, byte for byte. ("null" for
     * a NULL obj is a constant, but valid, so never written.) */
    unsigned char *p = (unsigned char *)text;
    for (size_t i = 0; p && i < n;) {
        i += ascii_run(p + i, n - i);
        if (i == n)
            break;
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            p[i++] = '?';
        else
            i += k;
    }
    if (len)
        *len = n;
    return text;
}
