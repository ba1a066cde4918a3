/*
 * cli/backend.c - mcpgate backend: list, test and import the REST backends
 * of backends_dir (tools/backend.h, docs/backends.md).
 *
 *   backend list [--json]
 *   backend test NAME [TOOL [ARGS-JSON]]
 *   backend import-openapi FILE --name NAME [--base-url URL] [--tag T]...
 *       [--path GLOB]... [--method M]... [--env-file PATH] [--allow-private]
 *       [--include-deprecated] [--access NAME=CLASS]... [--credential-name SLOT=TEXT]...
 *       [--output FILE|-] [--force]
 *   backend credential NAME SLOT [--delete]
 *   backend credential rotate
 *
 * Only credential needs the database (table backend_credentials, values
 * sealed with credential_key, tools/credentials.h). Secrets are never
 * printed and never taken from the command line: credential reads the
 * value from standard input (the terminal with echo off).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oauth/oauth.h"
#include "store/credentials.h"
#include "tools/backend.h"
#include "tools/backends.h"
#include "tools/credentials.h"
#include "tools/exchange.h"
#include "tools/rest.h"
#include "tools/openapi.h"
#include "tools/upstream.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json.h"

static const char usage_text[] =
    "usage: mcpgate backend list [--json]\n"
    "       mcpgate backend test NAME [TOOL [ARGS-JSON]]\n"
    "       mcpgate backend import-openapi FILE --name NAME [--base-url URL]\n"
    "               [--tag TAG]... [--path GLOB]... [--method METHOD]...\n"
    "               [--env-file PATH] [--allow-private] [--include-deprecated]\n"
    "               [--access NAME=read|write|destructive]... [--credential-name SLOT=TEXT]...\n"
    "               [--output FILE|-] [--force]\n"
    "       mcpgate backend credential NAME SLOT [--delete]\n"
    "       mcpgate backend credential rotate\n"
    "\n"
    "Backends are JSON files in backends_dir (see docs/backends.md).\n"
    "  list             the backends and their tools (--json: machine-readable)\n"
    "  test             load NAME's file (credentials included) and report faults; with\n"
    "                   TOOL (with or without the \"NAME_\" prefix), call it once with\n"
    "                   ARGS-JSON (default {}), with the credentials a responder would use\n"
    "                   (stored in the database first), and print the result\n"
    "  import-openapi   turn an OpenAPI 3.0/3.1 JSON document into a backend file, by\n"
    "                   default backends_dir/NAME.json; --tag, --path (fnmatch pattern,\n"
    "                   e.g. '/v2/droplets*') and --method select operations; deprecated\n"
    "                   operations are left out unless --include-deprecated; --access sets\n"
    "                   one operation's access class (by operationId or tool name); the\n"
    "                   report lists renamed tools and access classes to check;\n"
    "                   --credential-name names a credential slot for people; --env-file\n"
    "                   names the env file that holds the credentials\n"
    "                   (variables NAME_SLOT); the responders load it at their next start\n"
    "  credential       store the secret of NAME's slot SLOT in the database, sealed with\n"
    "                   the first credential_key (the secret is read from standard input,\n"
    "                   echo off on a terminal); --delete removes it; rotate re-seals every\n"
    "                   stored secret (the backends' and the users') under the first key\n";

static const char *const access_names[] = {"read", "write", "destructive"};

/* The sorted "*.json" files of dir: returns how many (paths in *out; free
 * each and the list), or -1 (message printed). A missing dir has none. */
static int list_files(const char *dir, char ***out)
{
    int n = tool_backend_files(dir, out);
    if (n < 0)
        fprintf(stderr, "mcpgate: could not open backends_dir %s: %s\n", dir, strerror(errno));
    return n;
}

static struct json_object *backend_json(const struct backend *b)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "name", json_object_new_string(b->name));
    json_add(o, "file", json_object_new_string(b->file));
    json_add(o, "kind", json_object_new_string(b->kind == BACKEND_MCP ? "mcp" : "rest"));
    json_add(o, b->kind == BACKEND_MCP ? "url" : "base_url", json_object_new_string(b->base_url));
    json_add(o, "allow_private", json_object_new_boolean(b->allow_private));
    struct json_object *slots = json_object_new_array();
    for (int i = 0; i < b->n_creds; i++) {
        struct json_object *s = json_object_new_object();
        json_add(s, "slot", json_object_new_string(b->creds[i].slot));
        json_add(s, "type", json_object_new_string(tool_cred_type_name(b->creds[i].type)));
        if (json_object_array_add(slots, s) != 0)
            abort();
    }
    json_add(o, "credentials", slots);
    struct json_object *tools = json_object_new_array();
    for (int i = 0; i < b->n_ops; i++) {
        struct json_object *t = json_object_new_object();
        json_add(t, "name", json_object_new_string(b->ops[i].tool_name));
        json_add(t, "access", json_object_new_string(access_names[b->defs[i].access]));
        json_add(t, "method", json_object_new_string(b->ops[i].method));
        json_add(t, "path", json_object_new_string(b->ops[i].path));
        if (json_object_array_add(tools, t) != 0)
            abort();
    }
    json_add(o, "tools", tools);
    return o;
}

static int cmd_list(const struct cli_env *env, int argc, char **argv)
{
    int as_json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else {
            fprintf(stderr, "mcpgate: backend list: unknown argument \"%s\"\n%s", argv[i],
                    usage_text);
            return EXIT_USAGE;
        }
    }
    char **files;
    int n = list_files(env->cfg->backends_dir, &files);
    if (n < 0)
        return 1;
    int rc = 0;
    struct json_object *all = json_object_new_array();
    for (int i = 0; i < n; i++) {
        struct mg_error err = MG_ERROR_INIT;
        struct backend *b = tool_backend_load_file(files[i], 1, &err);
        if (!b) {
            fprintf(stderr, "mcpgate: %s\n", err.msg);
            rc = 1;
            continue;
        }
        if (as_json) {
            if (json_object_array_add(all, backend_json(b)) != 0)
                abort();
        } else if (b->kind == BACKEND_MCP) {
            printf("%s  %s  mcp upstream, tools listed at run time  (%s)\n", b->name, b->base_url,
                   b->file);
        } else {
            printf("%s  %s  %d tools  (%s)\n", b->name, b->base_url, b->n_ops, b->file);
            for (int t = 0; t < b->n_ops; t++)
                printf("  %-48s %-11s %-6s %s\n", b->ops[t].tool_name,
                       access_names[b->defs[t].access], b->ops[t].method, b->ops[t].path);
        }
        tool_backend_free(b);
    }
    if (as_json)
        printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    else if (n == 0)
        printf("no backends in %s\n", env->cfg->backends_dir);
    json_object_put(all);
    alloc_strv_free(files, n);
    return rc;
}

/* Finds backend name in backends_dir; with_secrets: loads it again with
 * its secrets. Returns it, or NULL (message printed). */
static struct backend *find_backend(const struct cli_env *env, const char *name, int with_secrets)
{
    char **files;
    int n = list_files(env->cfg->backends_dir, &files);
    struct backend *found = NULL;
    int seen = 0;
    for (int i = 0; i < n && !seen; i++) {
        struct mg_error err = MG_ERROR_INIT;
        struct backend *b = tool_backend_load_file(files[i], 1, &err);
        seen = b && strcmp(b->name, name) == 0;
        if (seen && !with_secrets) {
            found = b;
            break;
        }
        if (seen && !(found = tool_backend_load_file(files[i], 0, &err)))
            fprintf(stderr, "mcpgate: %s\n", err.msg);
        tool_backend_free(b);
    }
    if (n >= 0 && !seen)
        fprintf(stderr,
                "mcpgate: no backend called \"%s\" in %s (mcpgate backend list shows them)\n", name,
                env->cfg->backends_dir);
    alloc_strv_free(files, n);
    return found;
}

/* backend test for an mcp backend: its upstream's tools, or one call
 * (TOOL with or without the "<backend>_" prefix). Returns the exit status. */
static int test_mcp(struct backend *b, int argc, char **argv)
{
    struct mg_error err = MG_ERROR_INIT;
    if (tool_upstream_add(b) < 0)
        return 1;
    if (argc < 4) {
        struct json_object *tools = tool_upstream_fetch_tools(b->up, &err);
        if (!tools) {
            fprintf(stderr, "mcpgate: %s\n", err.msg);
            return 1;
        }
        size_t n = json_object_array_length(tools);
        printf("backend %s: file %s is valid, the upstream lists %zu tools\n", b->name, b->file, n);
        for (size_t i = 0; i < n; i++) {
            const char *name = json_get_string(json_object_array_get_idx(tools, i), "name");
            printf("  %s\n", name ? name : "(a tool without a name)");
        }
        json_object_put(tools);
        return 0;
    }
    const char *tool = argv[3];
    size_t pl = strlen(b->name);
    if (strncmp(tool, b->name, pl) == 0 && tool[pl] == '_')
        tool += pl + 1;
    const char *text = argc == 5 ? argv[4] : "{}";
    struct json_object *args = NULL;
    struct mg_error jerr = MG_ERROR_INIT;
    if (json_parse_strict(text, strlen(text), &args, &jerr) < 0 ||
        !json_object_is_type(args, json_type_object)) {
        fprintf(stderr, "mcpgate: ARGS-JSON must be a JSON object%s%s\n", jerr.msg[0] ? ": " : "",
                jerr.msg);
        json_object_put(args);
        return EXIT_USAGE;
    }
    struct json_object *r = tool_upstream_call(b->up, NULL, tool, args);
    printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    struct json_object *is_error = json_get(r, "isError", json_type_boolean);
    int rc = is_error && json_object_get_boolean(is_error) ? 1 : 0;
    json_object_put(r);
    json_object_put(args);
    return rc;
}

/* struct tool_ctx for a call from the command line: no client to tell */
static int cli_progress(void *impl, double progress, double total, const char *message)
{
    (void)impl;
    (void)progress;
    (void)total;
    (void)message;
    return 0;
}

static int cli_cancelled(void *impl)
{
    (void)impl;
    return 0;
}

static int cmd_test(const struct cli_env *env, int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "%s", usage_text);
        return EXIT_USAGE;
    }
    struct backend *b = find_backend(env, argv[2], 1);
    if (!b)
        return 1;
    if (b->kind == BACKEND_MCP) {
        /* an exchange slot lists the tools with mcpgate's own token from the issuer */
        tool_exchange_setup(env->cfg, oauth_rs_token_endpoint);
        int mrc = test_mcp(b, argc, argv);
        tool_backend_free(b);
        return mrc;
    }
    printf("backend %s: %d tools, file %s is valid\n", b->name, b->n_ops, b->file);
    int rc = 0;
    if (argc >= 4) {
        /* the tool's name with or without the "<backend>_" prefix */
        const struct backend_op *op = NULL;
        size_t pl = strlen(b->name);
        for (int i = 0; i < b->n_ops; i++)
            if (strcmp(b->ops[i].tool_name, argv[3]) == 0 ||
                strcmp(b->ops[i].tool_name + pl + 1, argv[3]) == 0)
                op = &b->ops[i];
        if (!op) {
            fprintf(stderr, "mcpgate: backend %s has no tool \"%s\"\n", b->name, argv[3]);
            tool_backend_free(b);
            return 1;
        }
        const char *text = argc == 5 ? argv[4] : "{}";
        struct json_object *args = NULL;
        struct mg_error jerr = MG_ERROR_INIT;
        if (json_parse_strict(text, strlen(text), &args, &jerr) < 0 ||
            !json_object_is_type(args, json_type_object)) {
            fprintf(stderr, "mcpgate: ARGS-JSON must be a JSON object%s%s\n",
                    jerr.msg[0] ? ": " : "", jerr.msg);
            json_object_put(args);
            tool_backend_free(b);
            return EXIT_USAGE;
        }
        /* the credentials a responder would use: stored in the database
         * (mcpgate backend credential) before the file's */
        tool_cred_setup(env->cfg->credential_keys, env->cfg->n_credential_keys, env->cfg->base_url);
        struct store_conn *db = env->db;
        if (op->n_auth > 0) {
            char *sealed = NULL;
            enum store_rc src = store_cred_get(db, b->name, b->creds[op->auth[0]].slot, 0, &sealed);
            free(sealed);
            if (src == STORE_UNAVAILABLE || src == STORE_ERROR) {
                fprintf(stderr, "mcpgate: the database is unavailable: only the credentials "
                                "the backend file names are used\n");
                db = NULL;
            }
        }
        struct tool_ctx ctx = {.db = db,
                               .progress = cli_progress,
                               .cancelled = cli_cancelled,
                               .tool = &b->defs[op - b->ops]};
        struct json_object *r = tool_backend_call(op, &ctx, args);
        printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        struct json_object *is_error = json_get(r, "isError", json_type_boolean);
        rc = is_error && json_object_get_boolean(is_error) ? 1 : 0;
        json_object_put(r);
        json_object_put(args);
    }
    tool_backend_free(b);
    return rc;
}

/* Reads the secret: the terminal with echo off, else all of standard input
 * without its final newline. Returns 0, or -1 (message printed). */
static int read_secret(const char *backend, const char *slot, char *out, size_t n)
{
    if (isatty(STDIN_FILENO)) {
        char prompt[300];
        snprintf(prompt, sizeof prompt, "Secret of %s slot %s: ", backend, slot);
        return cli_read_password(prompt, 0, out, n);
    }
    size_t len = 0, got;
    while (len < n - 1 && (got = fread(out + len, 1, n - 1 - len, stdin)) > 0)
        len += got;
    out[len] = '\0';
    if (len == n - 1 && fgetc(stdin) != EOF) {
        fprintf(stderr, "mcpgate: the secret is too long (at most %zu bytes)\n", n - 2);
        return -1;
    }
    if (len && out[len - 1] == '\n')
        out[--len] = '\0';
    if (len && out[len - 1] == '\r')
        out[--len] = '\0';
    return 0;
}

struct rotation {
    struct store_cred *rows;
    char **sealed;
    int n, cap;
};

static void on_stored(void *arg, const struct store_cred *c)
{
    struct rotation *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->rows = xrealloc(r->rows, (size_t)r->cap * sizeof *r->rows);
        r->sealed = xrealloc(r->sealed, (size_t)r->cap * sizeof *r->sealed);
    }
    r->rows[r->n] = *c;
    r->rows[r->n].sealed = NULL;
    r->sealed[r->n] = xstrdup(c->sealed);
    r->n++;
}

/* backend credential rotate: every stored value not under the first key is
 * opened with any configured key and sealed again under the first. */
static int cmd_rotate(const struct cli_env *env)
{
    const struct seal_key *keys = env->cfg->credential_keys;
    int n_keys = env->cfg->n_credential_keys;
    struct rotation r = {0};
    enum store_rc src = store_cred_list(env->db, 0, on_stored, &r);
    if (src != STORE_OK)
        return cli_store_failed(src);
    int resealed = 0, current = 0, failed = 0, changed = 0, rc = 0;
    for (int i = 0; i < r.n; i++) {
        const struct store_cred *c = &r.rows[i];
        if (strcmp(c->key_id, keys[0].id) == 0) {
            current++;
            continue;
        }
        char *value = NULL;
        enum seal_rc orc =
            tool_cred_open(keys, n_keys, c->backend, c->slot, c->user_id, r.sealed[i], &value);
        if (orc != SEAL_OK) {
            fprintf(stderr, "mcpgate: %s slot %s (%s%lld): could not open it: %s\n", c->backend,
                    c->slot, c->user_id ? "user id " : "the backend's own, ", c->user_id,
                    seal_strerror(orc));
            failed++;
            continue;
        }
        char *fresh = tool_cred_seal(keys, c->backend, c->slot, c->user_id, value);
        tool_cred_free(value);
        if (!fresh)
            abort(); /* it was sealed before, so it fits */
        src = store_cred_reseal(env->db, c->backend, c->slot, c->user_id, r.sealed[i], fresh,
                                keys[0].id);
        free(fresh);
        if (src == STORE_NOT_FOUND) {
            changed++; /* set or deleted meanwhile: already under the first key, or gone */
        } else if (src != STORE_OK) {
            rc = cli_store_failed(src);
            break;
        } else {
            resealed++;
        }
    }
    if (rc == 0)
        printf("%d stored credentials: %d re-sealed under key %s, %d already under it, %d changed "
               "meanwhile, %d could not be opened\n",
               r.n, resealed, keys[0].id, current, changed, failed);
    alloc_strv_free(r.sealed, r.n);
    free(r.rows);
    return rc ? rc : failed ? 1 : 0;
}

static int cmd_credential(const struct cli_env *env, int argc, char **argv)
{
    int del = argc == 5 && strcmp(argv[4], "--delete") == 0;
    int rotate = argc == 3 && strcmp(argv[2], "rotate") == 0;
    if (!rotate && argc != 4 && !del) {
        fprintf(stderr, "%s", usage_text);
        return EXIT_USAGE;
    }
    if (!del && env->cfg->n_credential_keys == 0) {
        fprintf(stderr, "mcpgate: no credential_key in the configuration: add one "
                        "(credential_key = ID:HEX, HEX from openssl rand -hex 32), see "
                        "docs/backends.md\n");
        return 1;
    }
    if (rotate)
        return cmd_rotate(env);
    const char *name = argv[2], *slot = argv[3];
    struct backend *b = find_backend(env, name, 0);
    if (!b)
        return 1;
    const struct backend_cred *cred = NULL;
    int rc = 1;
    for (int i = 0; i < b->n_creds && !cred; i++)
        if (strcmp(b->creds[i].slot, slot) == 0)
            cred = &b->creds[i];
    if (!cred) {
        fprintf(stderr, "mcpgate: backend %s has no credential slot \"%s\"\n", name, slot);
        goto out;
    }
    if (cred->per_user && !del) {
        /* a value here would never be used: a per_user slot takes only the
         * calling user's own (--delete still clears one stored earlier) */
        fprintf(stderr,
                "mcpgate: %s slot %s is per_user: each user links their own value on their "
                "account page; a backend-wide value is never used for it\n",
                name, slot);
        goto out;
    }
    if (cred->from_idp && !del) {
        fprintf(stderr,
                "mcpgate: %s slot %s is from_idp: each call carries the calling user's token "
                "at %s; a backend-wide value is never used for it\n",
                name, slot, cred->from_idp);
        goto out;
    }
    if (cred->exchange && !del) {
        fprintf(stderr,
                "mcpgate: %s slot %s is an exchange slot: each call carries the caller's "
                "access token exchanged at the issuer; a backend-wide value is never used for "
                "it\n",
                name, slot);
        goto out;
    }
    if (b->kind == BACKEND_MCP) {
        fprintf(stderr,
                "mcpgate: backend %s is an mcp backend: in this version its secrets come "
                "from the backend file (env_file, file) only\n",
                name);
        goto out;
    }
    if (del) {
        enum store_rc src = store_cred_delete(env->db, name, slot, 0);
        if (src == STORE_NOT_FOUND) {
            fprintf(stderr, "mcpgate: %s slot %s has no stored secret\n", name, slot);
        } else if (src != STORE_OK) {
            rc = cli_store_failed(src);
        } else {
            printf("the stored secret of %s slot %s is deleted\n", name, slot);
            rc = 0;
        }
        goto out;
    }
    char secret[8192 + 2];
    if (read_secret(name, slot, secret, sizeof secret) < 0)
        goto out;
    if (!tool_cred_value_ok(secret)) {
        fprintf(stderr, "mcpgate: the secret must be one line of 1 to 8192 bytes without control "
                        "characters\n");
        explicit_bzero(secret, sizeof secret);
        goto out;
    }
    char *sealed = tool_cred_seal(env->cfg->credential_keys, name, slot, 0, secret);
    explicit_bzero(secret, sizeof secret);
    if (!sealed)
        abort(); /* checked above: it fits */
    enum store_rc src =
        store_cred_put(env->db, name, slot, 0, sealed, env->cfg->credential_keys[0].id);
    free(sealed);
    if (src != STORE_OK) {
        rc = cli_store_failed(src);
        goto out;
    }
    printf("the secret of %s slot %s is stored (sealed with key %s); the responders use it from "
           "the next call\n",
           name, slot, env->cfg->credential_keys[0].id);
    rc = 0;
out:
    tool_backend_free(b);
    return rc;
}

int cli_backend(const struct cli_env *env, int argc, char **argv)
{
    if (argc < 2 || cli_help_asked(argc, argv)) {
        fprintf(argc < 2 ? stderr : stdout, "%s", usage_text);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(env, argc, argv);
    if (strcmp(argv[1], "test") == 0)
        return cmd_test(env, argc, argv);
    if (strcmp(argv[1], "import-openapi") == 0)
        return cli_backend_import(env, argc, argv, usage_text);
    if (strcmp(argv[1], "credential") == 0)
        return cmd_credential(env, argc, argv);
    fprintf(stderr, "mcpgate: backend: unknown subcommand \"%s\"\n%s", argv[1], usage_text);
    return EXIT_USAGE;
}
