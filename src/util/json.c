/*
 * util/json.c - strict JSON parsing and small json-c helpers.
 */
#include "util/json.h"

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

/* What json-c's strict mode still lets through, and RFC 8259 does not:
 * ill-formed UTF-8, single-quoted strings, NaN and Infinity, raw control
 * characters in strings. Checks the bytes outside strings against the
 * characters JSON's grammar can use there; json-c then checks the grammar.
 * Returns NULL when the text passes, else a static reason. */
static const char *lexical_fault(const unsigned char *p, size_t len)
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
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (!strchr("{}[],: \t\r\n0123456789+-.eEtrufalsn", c) || c == '\0') {
            return "invalid JSON";
        }
        i++;
    }
    return NULL;
}

int json_parse_strict(const char *text, size_t len, struct json_object **out, const char **why)
{
    *why = NULL;
    if (len == 0) {
        *why = "empty body";
        return -1;
    }
    if (len > INT32_MAX) {
        *why = "body too large";
        return -1;
    }
    if ((*why = lexical_fault((const unsigned char *)text, len)) != NULL)
        return -1;
    struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok)
        abort();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (err == json_tokener_continue) {
        /* a number at the very end may go on: white space ends it */
        obj = json_tokener_parse_ex(tok, " ", 1);
        err = json_tokener_get_error(tok);
        used = len;
    }
    json_tokener_free(tok);

    if (err == json_tokener_continue) {
        *why = "unexpected end of JSON text";
        goto fail;
    }
    if (err == json_tokener_error_depth) {
        *why = "JSON nested too deeply";
        goto fail;
    }
    if (err == json_tokener_error_parse_utf8_string) {
        *why = "invalid UTF-8 in JSON text";
        goto fail;
    }
    if (err != json_tokener_success) {
        *why = "invalid JSON";
        goto fail;
    }
    for (size_t i = used; i < len; i++) {
        char c = text[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            *why = "unexpected data after JSON text";
            goto fail;
        }
    }
    *out = obj;
    return 0;
fail:
    json_object_put(obj);
    return -1;
}

void json_add(struct json_object *obj, const char *key, struct json_object *val)
{
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        abort();
    }
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

const char *json_text(struct json_object *obj, size_t *len)
{
    return json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
