/*
 * tools/openapi.h - turns an OpenAPI 3.0/3.1 document (JSON) into a backend
 * file (tools/backend.h).
 *
 * Owns: the mapping. Each selected operation becomes one tool:
 *   name        operationId in snake_case (else METHOD_path), of
 *               [A-Za-z0-9_-], at most 64 after "<backend>_" (a longer one
 *               cut, ending in "_" and 6 hex digits of a hash of the whole),
 *               duplicates numbered; renames reported;
 *   inputSchema path, query and header parameters, and the JSON (or form)
 *               request body: an object body's properties become arguments
 *               of their own when no name clashes, else one argument
 *               "body"; every $ref inlined (a recursive one becomes {}),
 *               readOnly properties dropped, OpenAPI 3.0's nullable and
 *               boolean exclusiveMinimum/Maximum turned into JSON Schema,
 *               a oneOf with a discriminator into anyOf (branches marked
 *               with the enum of their mapping values);
 *   access      GET/HEAD read, DELETE destructive, the rest write, raised to
 *               destructive when operationId or summary says delete,
 *               cancel, reset, restore, revoke, purge, ... (reported); POSTs
 *               that say preview, check, search, ... reported; overrides
 *               (access[]) win;
 *   tags        the operation's tags (search_tools finds tools by them);
 *   auth        the operation's (else the document's) first security
 *               requirement; each security scheme a selected operation uses
 *               becomes a credential slot, with a description for people
 *               (http bearer, oauth2, openIdConnect: bearer; http basic:
 *               basic; apiKey: header, query, or a Cookie header).
 * Operations marked deprecated are left out (and counted) unless
 * include_deprecated; included, their tools say "deprecated": true.
 * Operations whose only request body is neither JSON nor a form (uploads)
 * are skipped and counted. Cookie parameters are left out.
 * Must not touch: files, HTTP, SQL (the CLI reads and writes the files).
 */
#ifndef MG_TOOLS_OPENAPI_H
#define MG_TOOLS_OPENAPI_H

#include <json-c/json.h>
#include <stddef.h>

#include "util/error.h"

struct openapi_opts {
    const char *name;       /* the backend's name (required) */
    const char *base_url;   /* overrides servers[0].url, or NULL */
    int allow_private;      /* written into the file */
    int include_deprecated; /* 1: import deprecated operations too */
    /* access overrides "NAME=read|write|destructive", NAME an operationId or
     * a tool name without the prefix; access_used[i] is set to 1 when
     * access[i] matched an operation (n_access entries, caller's) */
    const char *const *access;
    int n_access;
    int *access_used;
    /* display names "SLOT=TEXT" for credential slots (SLOT a security
     * scheme's name); slot_names_used[i] set to 1 when it matched */
    const char *const *slot_names;
    int n_slot_names;
    int *slot_names_used;
    const char *env_file; /* credential source for every slot, or NULL (none) */
    /* selection: an operation is imported when it matches every list that
     * is not empty (any tag of tags; any fnmatch(3) pattern of paths; any
     * method of methods, case-insensitive) */
    const char *const *tags;
    int n_tags;
    const char *const *paths;
    int n_paths;
    const char *const *methods;
    int n_methods;
    /* called after each operation (may be NULL) */
    void (*progress)(void *arg, int done, int total);
    void *progress_arg;
};

struct openapi_stats {
    int operations;             /* in the document */
    int selected;               /* matched the selection */
    int tools;                  /* written */
    int skipped;                /* selected but not importable (request body type) */
    int deprecated;             /* selected but deprecated, left out (include_deprecated unset) */
    struct json_object *report; /* lines for the operator (renames, access raised or in
                                   doubt, ...): a new array, the caller puts it, even on
                                   failure */
    int slots;                  /* credential slots */
};

/* Converts doc (borrowed). Returns a new backend file object, or NULL with
 * a message in err. st is filled in either way. */
struct json_object *tool_openapi_import(struct json_object *doc, const struct openapi_opts *o,
                                        struct openapi_stats *st, struct mg_error *err);

#endif
