/*
 * util/json.h - strict JSON parsing and small json-c helpers.
 *
 * Owns: the parser limits (depth, UTF-8 validation, no trailing data) and the
 * wrappers that make json-c's ownership rules hard to get wrong.
 * json-c ownership: every json_object has exactly one owner; values returned
 * by json_get_*() are borrowed from their parent.
 */
#ifndef MG_UTIL_JSON_H
#define MG_UTIL_JSON_H

#include "util/error.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

/* json-c's strict tokener (valid UTF-8 required) over the len bytes of
 * text, nested at most depth levels, as the parsers below run it: a number
 * that ends the text is complete. Returns json-c's verdict; on
 * json_tokener_success *out holds the value (the caller puts it; NULL for a
 * JSON null) and *used the bytes it took, anything after is the caller's
 * to check; on any other verdict *out is NULL. len must fit an int. */
enum json_tokener_error json_tokenize(const char *text, size_t len, int depth,
                                      struct json_object **out, size_t *used);

/* Parses exactly one JSON text of len bytes: valid UTF-8, nested at most
 * JSON_MAX_DEPTH levels, nothing but white space after it. Returns 0 and
 * hands *out to the caller (who puts it), or -1 with err (util/error.h; may
 * be NULL) saying the fault: http 400 and a msg such as "invalid JSON". A JSON null parses to *out
 * == NULL. */
__attribute__((warn_unused_result)) int
json_parse_strict(const char *text, size_t len, struct json_object **out, struct mg_error *err);

/* As json_parse_strict(), for what clients send (MCP messages, client
 * registration and metadata documents): also refuses the escape \u0000 in a
 * string or member name, and integers beyond int64 (negative) or uint64.
 * mcpgate reads names, methods and arguments as C strings, where U+0000
 * would silently cut them short, and json-c would silently replace a larger
 * integer by its limit (a request id answered as another). Backends'
 * answers are read with json_parse_strict() and keep both. */
__attribute__((warn_unused_result)) int
json_parse_request(const char *text, size_t len, struct json_object **out, struct mg_error *err);

/* 1 when the len bytes at s are well-formed UTF-8 (RFC 3629, as JSON text
 * must be: no overlong forms, surrogates or code points above U+10FFFF),
 * else 0. Pure. */
int json_utf8_valid(const char *s, size_t len);

/* Where to cut the UTF-8 string s to at most max bytes without splitting a
 * character: the length of its longest such prefix (strlen(s) when that is
 * at most max). Pure. */
size_t json_utf8_cut(const char *s, size_t max);

/* Adds val to obj under key, taking ownership of val (also on failure, when
 * it is put). Aborts on allocation failure. */
void json_add(struct json_object *obj, const char *key, struct json_object *val);

/* Adds string members to obj: key, value, key, value, ... up to a NULL
 * key. Each value is copied and must not be NULL. Aborts on allocation
 * failure, as json_add(). */
__attribute__((sentinel)) void json_add_strings(struct json_object *obj, ...);

/* Borrowed member of obj with the given type, or NULL when obj is not an
 * object, the key is absent, or the member has another type. */
struct json_object *json_get(struct json_object *obj, const char *key, enum json_type type);

/* Borrowed string member, or NULL (see json_get). */
const char *json_get_string(struct json_object *obj, const char *key);

/* Serializes compactly, as valid UTF-8: a byte of a string that is not
 * part of a well-formed sequence (a name cut at a byte limit, a raw header
 * value quoted in a message) is written as '?'. The string is borrowed from
 * obj until obj changes or is put. */
const char *json_text(struct json_object *obj, size_t *len);

#endif
