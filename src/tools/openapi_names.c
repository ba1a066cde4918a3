/*
 * tools/openapi_names.c - what an imported operation's tool is called (its
 * operationId in snake_case, unique, shortened with a hash) and its
 * arguments, and its access (from the method and what its operationId or
 * summary says).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tools/names.h"
#include "tools/openapi_internal.h"
#include "util/buf.h"
#include "util/json.h"

static unsigned fnv1a(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The tool's own name (without the backend prefix) into out: the
 * operationId in snake_case (else method and path), of A-Z a-z 0-9 _ -
 * only, at most max bytes (max >= 16): a longer name keeps its first
 * bytes and ends in "_" and 6 hex digits of a hash of the whole name, so
 * the same document always gives the same names. *note says why the name
 * is not simply the operationId in snake_case, or is NULL. */
static void op_name(const char *method, const char *path, struct json_object *op, char *out,
                    size_t max, const char **note)
{
    char full[OA_LONG_NAME + 1];
    const char *id = json_get_string(op, "operationId");
    *note = NULL;
    full[0] = '\0';
    if (id && *id)
        tool_name_sanitize(id, 1, full, OA_LONG_NAME);
    if (!full[0]) {
        struct buf b = {0};
        if (buf_printf(&b, "%s_%s", method, path) < 0)
            abort();
        tool_name_sanitize(b.data, 1, full, OA_LONG_NAME);
        buf_free(&b);
        *note = "no operationId: named after the method and path";
    }
    /* '.' is a name character for MCP but not for every client */
    int dots = 0;
    for (char *p = full; *p; p++)
        if (*p == '.') {
            *p = '_';
            dots = 1;
        }
    char clean[OA_LONG_NAME + 1];
    tool_name_sanitize(full, 0, clean, OA_LONG_NAME); /* runs of '_' collapse */
    if (dots && !*note)
        *note = "characters outside A-Z a-z 0-9 _ - replaced";
    if (!clean[0])
        snprintf(clean, sizeof clean, "%s", method);
    size_t len = strlen(clean);
    if (len <= max) {
        memcpy(out, clean, len + 1);
        return;
    }
    size_t keep = max - 7;
    while (keep > 1 && clean[keep - 1] == '_')
        keep--;
    snprintf(out, max + 1, "%.*s_%06x", (int)keep, clean, fnv1a(clean) & 0xffffffu);
    *note = "too long: shortened, with a hash of the full name";
}

/* Whether text (an operationId or summary) has a word starting with one
 * of roots (lower case), words split at non-letters and camelCase. */
static const char *says(const char *text, const char *const *roots)
{
    if (!text)
        return NULL;
    char words[512];
    tool_name_sanitize(text, 1, words, sizeof words - 1);
    for (char *w = words; *w;) {
        size_t n = strcspn(w, "_.-");
        for (const char *const *r = roots; *r; r++)
            if (n >= strlen(*r) && strncasecmp(w, *r, strlen(*r)) == 0)
                return *r;
        w += n;
        w += strspn(w, "_.-");
    }
    return NULL;
}

/* operations that destroy or undo something whatever their method */
static const char *const destructive_roots[] = {
    "delet", "destroy", "remov",  "terminat", "restor", "overwrit", "revok",
    "reset", "purg",    "cancel", "wipe",     "eras",   NULL};
/* operations that say they make or change something */
static const char *const write_roots[] = {"creat",  "add",    "install", "updat",
                                          "assign", "attach", "start",   NULL};
/* POSTs that usually only read */
static const char *const read_roots[] = {"preview", "check",  "verif",   "search", "query",
                                         "validat", "lookup", "estimat", NULL};

void oa_arg_name(const char *wire, const char *in, struct json_object *props, char *out)
{
    tool_name_sanitize(wire, 0, out, OA_MAX_ARG_NAME);
    if (!*out)
        snprintf(out, OA_MAX_ARG_NAME + 1, "%s_param", in);
    if (!json_object_object_get_ex(props, out, NULL))
        return;
    char base[OA_MAX_ARG_NAME + 1];
    snprintf(base, sizeof base, "%.50s_%s", out, in);
    snprintf(out, OA_MAX_ARG_NAME + 1, "%s", base);
    for (int i = 2; json_object_object_get_ex(props, out, NULL); i++)
        snprintf(out, OA_MAX_ARG_NAME + 1, "%.50s_%d", base, i);
}

void oa_tool_name(const struct openapi_opts *o, const char *method, const char *path,
                  struct json_object *op, struct json_object *names, struct json_object *report,
                  char *unique, char *up_method)
{
    char name[OA_NAME_MAX + 1];
    size_t max = 128 - strlen(o->name) - 1;
    if (max > OA_NAME_MAX)
        max = OA_NAME_MAX;
    const char *why = NULL;
    op_name(method, path, op, name, max, &why);
    snprintf(unique, OA_NAME_MAX + 1, "%s", name);
    for (int i = 2; json_object_object_get_ex(names, unique, NULL); i++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "_%d", i);
        snprintf(unique, OA_NAME_MAX + 1, "%.*s%s", (int)(max - (size_t)sl), name, suffix);
        why = "another operation has the same name";
    }
    json_add(names, unique, json_object_new_boolean(1));
    snprintf(up_method, 16, "%s", method);
    for (char *p = up_method; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    const char *id = json_get_string(op, "operationId");
    if (why)
        oa_note(report, "renamed: %s %.200s (operationId %.200s) is %s_%s: %s", up_method, path,
                id ? id : "none", o->name, unique, why);
}

const char *oa_access(const struct openapi_opts *o, const char *method, const char *up_method,
                      const char *path, struct json_object *op, const char *unique,
                      struct json_object *report)
{
    const char *id = json_get_string(op, "operationId");
    const char *access =
        strcmp(method, "get") == 0 || strcmp(method, "head") == 0 || strcmp(method, "options") == 0
            ? "read"
        : strcmp(method, "delete") == 0 ? "destructive"
                                        : "write";
    const char *summary_text = json_get_string(op, "summary");
    if (strcmp(access, "write") == 0) {
        const char *word = says(id, destructive_roots);
        if (!word)
            word = says(summary_text, destructive_roots);
        if (word) {
            access = "destructive";
            oa_note(report,
                    "destructive: %s_%s (%s %.200s): its operationId or summary says "
                    "\"%s...\"",
                    o->name, unique, up_method, path, word);
        } else if (strcmp(method, "post") == 0 && !says(id, write_roots) &&
                   !says(summary_text, write_roots)) {
            word = says(id, read_roots);
            if (!word)
                word = says(summary_text, read_roots);
            if (word)
                oa_note(report,
                        "may only read: %s_%s (POST %.200s) says \"%s...\"; kept as "
                        "write, --access %s=read makes it read",
                        o->name, unique, path, word, unique);
        }
    }
    for (int i = 0; i < o->n_access; i++) {
        const char *eq = strchr(o->access[i], '=');
        size_t n = eq ? (size_t)(eq - o->access[i]) : 0;
        if (eq && ((strlen(unique) == n && strncmp(o->access[i], unique, n) == 0) ||
                   (id && strlen(id) == n && strncmp(o->access[i], id, n) == 0))) {
            access = eq + 1;
            o->access_used[i] = 1;
        }
    }
    return access;
}
