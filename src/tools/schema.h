/*
 * tools/schema.h - checks tool arguments against the tool's inputSchema
 * before anything is sent upstream.
 *
 * Owns: the subset of JSON Schema (draft 4 to 2020-12, plus OpenAPI 3.0's
 * "nullable") that real REST APIs use:
 *   type (a name or a list), enum, const, nullable,
 *   properties, required, additionalProperties (boolean or schema),
 *   minProperties, maxProperties,
 *   items (a schema; a list = draft 4 tuple), prefixItems, minItems,
 *   maxItems, uniqueItems,
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum (number, or the
 *   draft 4 boolean), multipleOf,
 *   minLength, maxLength (in Unicode code points), pattern,
 *   allOf, anyOf, oneOf, not,
 *   $ref to "#" or a JSON pointer "#/..." within the same document, and
 *   the boolean schemas true and false.
 * Not supported (ignored, i.e. accepted): format, patternProperties,
 * propertyNames, dependentRequired, dependentSchemas, dependencies,
 * if/then/else, contains, unevaluatedProperties, unevaluatedItems,
 * $dynamicRef, and $ref to other documents or to $id anchors.
 * pattern is an ECMA-262 regular expression, matched with PCRE2 (whose
 * syntax is a superset: classes, lookaround, lazy quantifiers,
 * backreferences, \uhhhh). A pattern that does not compile, or is longer
 * than SCHEMA_PATTERN_MAX_LEN bytes, is not enforced. A match is bounded in
 * steps and memory, so a pattern with catastrophic backtracking cannot hold
 * a thread: past the bounds the value is invalid ("cannot be checked").
 * Must not touch: HTTP, SQL, JSON-RPC. Never changes the schema or the
 * instance (schemas are shared between threads).
 */
#ifndef MG_TOOLS_SCHEMA_H
#define MG_TOOLS_SCHEMA_H

#include <json-c/json.h>
#include <stddef.h>

#include "util/error.h"

#define SCHEMA_PATTERN_MAX_LEN     4096   /* bytes */
#define SCHEMA_PATTERN_MATCH_LIMIT 100000 /* PCRE2 backtracking steps, ~20 ms */
#define SCHEMA_PATTERN_HEAP_KB     4096   /* PCRE2 backtracking memory */

/* Checks instance (borrowed; NULL is JSON null) against schema, whose $refs
 * resolve within root (usually schema itself). Returns 0 when it is valid,
 * else -1 with err (util/error.h; may be NULL) at http 400 and one msg
 * (at most 511 bytes) that names the place,
 * e.g. "limit: 150 is greater than the maximum 100". The message quotes
 * values of the instance only when they are short numbers. A $ref that
 * cannot be resolved, nesting deeper than 64 levels, or more than 100,000
 * schema nodes visited (a schema too complex) makes it invalid. */
__attribute__((warn_unused_result)) int tool_schema_validate(struct json_object *root,
                                                             struct json_object *schema,
                                                             struct json_object *instance,
                                                             struct mg_error *err);

/* Resolves ref ("#" or "#/a/b~1c", percent-encoding allowed) within root.
 * Returns the borrowed schema, or NULL when it does not resolve. */
struct json_object *tool_schema_resolve(struct json_object *root, const char *ref);

#endif
