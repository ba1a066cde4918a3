/*
 * tools/backend_parse.h - internal to the backend file parser
 * (tools/backend.c and tools/backend_op.c): the parse state, its messages
 * and the readers of optional members. Not for other modules.
 */
#ifndef MG_TOOLS_BACKEND_PARSE_H
#define MG_TOOLS_BACKEND_PARSE_H

#include <json-c/json.h>
#include <stddef.h>

#include "tools/backend.h"

#define BACKEND_FILE_JSON_DEPTH 1024

struct parse {
    const char *path;     /* the file */
    struct mg_error *err; /* where bk_bad() says what is wrong (may be NULL) */
    int skip_secrets;
};

/* What a tool takes from its backend unless it says otherwise. */
struct op_defaults {
    const int *auth; /* NULL when the backend has no default auth */
    int n_auth;
    long timeout_ms;
    long max_bytes;
};

/* Writes "backend file PATH: MESSAGE" into p->err. Returns NULL. */
__attribute__((format(printf, 2, 3))) void *bk_bad(struct parse *p, const char *fmt, ...);

/* Optional integer member key of o in [lo, hi]; *out keeps its value when
 * absent. Returns 0, or -1 (message written). */
int bk_opt_long(struct parse *p, struct json_object *o, const char *where, const char *key, long lo,
                long hi, long *out);

/* Optional string member key of o (borrowed). Returns 0, or -1. */
int bk_opt_string(struct parse *p, struct json_object *o, const char *where, const char *key,
                  const char **out);

/* One optional string member for bk_opt_strings(): its key and where its
 * value goes (borrowed from the object; *out is left alone when absent). */
struct bk_opt_str {
    const char *key;
    const char **out;
};

/* bk_opt_string() for each of the n members of opts, in order, up to the
 * first that is not a string. Returns 0, or -1 (reported). */
int bk_opt_strings(struct parse *p, struct json_object *o, const char *where,
                   const struct bk_opt_str *opts, size_t n);

/* Optional boolean member key of o; *out keeps its value when absent.
 * Returns 0, or -1. */
int bk_opt_bool(struct parse *p, struct json_object *o, const char *where, const char *key,
                int *out);

/* Known keys: a typo must not silently drop a setting. Returns 0, or -1. */
int bk_only_keys(struct parse *p, struct json_object *o, const char *where,
                 const char *const *keys);

/* o must be an object with only keys (bk_only_keys). Returns 0, or -1. */
int bk_object_of(struct parse *p, struct json_object *o, const char *where,
                 const char *const *keys);

/* Parses an "auth" list of slot names into indexes of b->creds. Returns 0,
 * or -1. */
int bk_parse_auth(struct parse *p, const struct backend *b, struct json_object *list,
                  const char *where, int **out, int *n);

/* Parses tools[index] (t) of a REST backend into b->ops[index] and def.
 * Returns 0, or -1 (message written). */
int bk_parse_op(struct parse *p, struct backend *b, struct json_object *t, int index,
                const struct op_defaults *d, struct tool_def *def);

#endif
