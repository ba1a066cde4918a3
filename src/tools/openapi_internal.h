/*
 * tools/openapi_internal.h - internal to the OpenAPI importer
 * (tools/openapi*.c): the schema conversion and the security schemes.
 * Not for other modules.
 */
#ifndef MG_TOOLS_OPENAPI_INTERNAL_H
#define MG_TOOLS_OPENAPI_INTERNAL_H

#include <json-c/json.h>
#include <stddef.h>

#include "tools/openapi.h"

#define OA_MAX_REF_STACK 64
#define OA_NAME_MAX      64  /* a tool's name after the backend prefix */
#define OA_LONG_NAME     400 /* longest name worked on before it is shortened */
#define OA_MAX_ARG_NAME  64

/* A conversion of schemas of one document. */
struct conv {
    struct json_object *doc;
    const char *stack[OA_MAX_REF_STACK]; /* the $refs being expanded */
    int depth;
    int request; /* drop readOnly properties */
};

/* Copies the JSON Schema keywords of s (an OpenAPI schema) into a new
 * schema: an allowlist, $refs inlined, a recursive one ended in {}. */
struct json_object *oa_convert(struct conv *c, struct json_object *s);

/* Follows $ref chains of non-schema objects (parameters, request bodies).
 * Returns a borrowed object (s itself when it has no $ref), or NULL. */
struct json_object *oa_deref(struct json_object *doc, struct json_object *s);

/* A new JSON string of s cut to 1024 bytes on a UTF-8 boundary. */
struct json_object *oa_desc(const char *s);

/* The first security requirement of req whose schemes all exist in schemes
 * and slots, as an "auth" list; an empty list for "no security"; NULL
 * when req is absent. */
struct json_object *oa_auth_of(struct json_object *req, struct json_object *schemes,
                               struct json_object *slots);

/* Checks that every apiKey scheme sent as a header names a header that can
 * be sent. Returns 0, or -1 with a message in err. */
int oa_schemes_check(struct json_object *schemes, struct mg_error *err);

/* Credential slots (a new object) for the security schemes, named as the
 * schemes; title is the API's, for the slots' descriptions. */
struct json_object *oa_slots_of(struct json_object *schemes, const struct openapi_opts *o,
                                const char *title);

/* Adds a line to the import report (may be NULL). */
__attribute__((format(printf, 2, 3))) void oa_note(struct json_object *report, const char *fmt,
                                                   ...);

/* The tool's name for operation op (unique among names, which it is added
 * to) into unique (OA_NAME_MAX + 1), and the method in upper case into
 * up_method (16); a rename is reported. */
void oa_tool_name(const struct openapi_opts *o, const char *method, const char *path,
                  struct json_object *op, struct json_object *names, struct json_object *report,
                  char *unique, char *up_method);

/* An argument name (OA_MAX_ARG_NAME + 1) for parameter wire, unique in
 * props. */
void oa_arg_name(const char *wire, const char *in, struct json_object *props, char *out);

/* The tool's access ("read", "write", "destructive"): it follows the
 * method, raised to destructive when the operation says it destroys or
 * undoes something (reported), as the operator's --access says last. */
const char *oa_access(const struct openapi_opts *o, const char *method, const char *up_method,
                      const char *path, struct json_object *op, const char *unique,
                      struct json_object *report);

#endif
