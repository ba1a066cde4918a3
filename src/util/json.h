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

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

/* Parses exactly one JSON text of len bytes: valid UTF-8, nested at most
 * JSON_MAX_DEPTH levels, nothing but white space after it. Returns 0 and
 * hands *out to the caller (who puts it), or -1 with *why set to a static
 * description of the fault. A JSON null parses to *out == NULL. */
__attribute__((warn_unused_result)) int
json_parse_strict(const char *text, size_t len, struct json_object **out, const char **why);

/* Adds val to obj under key, taking ownership of val (also on failure, when
 * it is put). Aborts on allocation failure. */
void json_add(struct json_object *obj, const char *key, struct json_object *val);

/* Borrowed member of obj with the given type, or NULL when obj is not an
 * object, the key is absent, or the member has another type. */
struct json_object *json_get(struct json_object *obj, const char *key, enum json_type type);

/* Borrowed string member, or NULL (see json_get). */
const char *json_get_string(struct json_object *obj, const char *key);

/* Serializes compactly. The string is borrowed from obj until obj changes
 * or is put. */
const char *json_text(struct json_object *obj, size_t *len);

#endif
