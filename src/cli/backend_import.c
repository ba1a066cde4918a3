/*
 * cli/backend_import.c - mcpgate backend import-openapi: an OpenAPI
 * document turned into a backend file (tools/openapi.h), checked as the
 * responder will load it, and written in place of the old one only with
 * --force.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tools/backend.h"
#include "tools/openapi.h"
#include "util/buf.h"
#include "util/json.h"

#define MAX_SELECT 64

static void import_progress(void *arg, int done, int total)
{
    (void)arg;
    int tty = isatty(STDERR_FILENO);
    if (done % (tty ? 10 : 100) == 0 || done == total)
        fprintf(stderr, "%smcpgate: %d of %d operations read%s", tty ? "\r" : "", done, total,
                tty && done < total ? "" : "\n");
}

/* Writes text to path (0644, replacing it only with force). Returns 0 or
 * -1 (message printed). */
static int write_out(const char *path, const char *text, int force)
{
    if (strcmp(path, "-") == 0) {
        fputs(text, stdout);
        return 0;
    }
    struct buf tmp = {0};
    if (buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        abort();
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int rc = -1;
    if (!f) {
        fprintf(stderr, "mcpgate: could not write %s: %s\n", tmp.data, strerror(errno));
        if (fd >= 0)
            close(fd);
    } else {
        int bad = fputs(text, f) < 0;
        bad |= fclose(f) != 0;
        if (bad) {
            fprintf(stderr, "mcpgate: could not write %s: %s\n", tmp.data, strerror(errno));
        } else if (!force && access(path, F_OK) == 0) {
            fprintf(stderr, "mcpgate: %s exists: give --force to replace it\n", path);
        } else if (rename(tmp.data, path) != 0) {
            fprintf(stderr, "mcpgate: could not create %s: %s\n", path, strerror(errno));
        } else {
            rc = 0;
        }
        if (rc < 0)
            unlink(tmp.data);
    }
    buf_free(&tmp);
    return rc;
}

/* The options of one import-openapi. */
struct import_args {
    const char *tags[MAX_SELECT], *paths[MAX_SELECT], *methods[MAX_SELECT], *access[MAX_SELECT];
    int access_used[MAX_SELECT];
    const char *slot_names[MAX_SELECT];
    int slot_names_used[MAX_SELECT];
    struct openapi_opts o;
    const char *output;
    int force;
};

/* --access NAME=CLASS or --credential-name SLOT=TEXT into list (*n
 * entries). Returns 0, or EXIT_USAGE (message printed). */
static int add_assignment(int opt, const char *arg, const char **list, int *n)
{
    const char *eq = strchr(arg, '=');
    if (opt == 'A' && (!eq || eq == arg ||
                       (strcmp(eq + 1, "read") != 0 && strcmp(eq + 1, "write") != 0 &&
                        strcmp(eq + 1, "destructive") != 0))) {
        fprintf(stderr, "mcpgate: --access takes NAME=read, NAME=write or "
                        "NAME=destructive (NAME: an operationId or a tool name)\n");
        return EXIT_USAGE;
    }
    if (opt == 'C' && (!eq || eq == arg || !eq[1] || strlen(eq + 1) > 120 ||
                       strcspn(eq + 1, "\r\n\t") != strlen(eq + 1))) {
        fprintf(stderr, "mcpgate: --credential-name takes SLOT=TEXT (a security scheme "
                        "and one line of at most 120 bytes)\n");
        return EXIT_USAGE;
    }
    if (*n == MAX_SELECT) {
        fprintf(stderr, "mcpgate: at most %d %s options\n", MAX_SELECT,
                opt == 'A' ? "--access" : "--credential-name");
        return EXIT_USAGE;
    }
    list[(*n)++] = arg;
    return 0;
}

/* Parses "import-openapi ARGS..." into a; FILE is argv[optind] after it.
 * Returns 0, or EXIT_USAGE (message printed). */
static int import_options(int argc, char **argv, struct import_args *a, const char *usage)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"base-url", required_argument, NULL, 'b'},
        {"tag", required_argument, NULL, 't'},
        {"path", required_argument, NULL, 'p'},
        {"method", required_argument, NULL, 'm'},
        {"env-file", required_argument, NULL, 'e'},
        {"allow-private", no_argument, NULL, 'a'},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"include-deprecated", no_argument, NULL, 'd'},
        {"access", required_argument, NULL, 'A'},
        {"credential-name", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    struct openapi_opts *o = &a->o;
    int opt, rc = 0;
    /* optind 0 makes getopt start afresh */
    optind = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            o->name = optarg;
            break;
        case 'b':
            o->base_url = optarg;
            break;
        case 't':
        case 'p':
        case 'm': {
            const char **list = opt == 't' ? a->tags : opt == 'p' ? a->paths : a->methods;
            int *n = opt == 't' ? &o->n_tags : opt == 'p' ? &o->n_paths : &o->n_methods;
            if (*n == MAX_SELECT) {
                fprintf(stderr, "mcpgate: at most %d of each selection option\n", MAX_SELECT);
                return EXIT_USAGE;
            }
            list[(*n)++] = optarg;
            break;
        }
        case 'e':
            o->env_file = optarg;
            break;
        case 'a':
            o->allow_private = 1;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'f':
            a->force = 1;
            break;
        case 'd':
            o->include_deprecated = 1;
            break;
        case 'A':
            rc = add_assignment(opt, optarg, a->access, &o->n_access);
            break;
        case 'C':
            rc = add_assignment(opt, optarg, a->slot_names, &o->n_slot_names);
            break;
        default:
            fprintf(stderr, "%s", usage);
            return EXIT_USAGE;
        }
    }
    if (rc)
        return rc;
    if (optind != argc - 1 || !o->name) {
        fprintf(stderr, "mcpgate: backend import-openapi needs FILE and --name NAME\n%s", usage);
        return EXIT_USAGE;
    }
    size_t nl = strlen(o->name);
    if (nl == 0 || nl > TOOL_BACKEND_NAME_MAX ||
        strspn(o->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != nl) {
        fprintf(stderr, "mcpgate: --name must be 1 to %d characters of a-z 0-9 _ -\n",
                TOOL_BACKEND_NAME_MAX);
        return EXIT_USAGE;
    }
    if (o->env_file && o->env_file[0] != '/') {
        fprintf(stderr, "mcpgate: --env-file must be an absolute path (the responders read it)\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* The backend file of the document in file, checked as the responder will
 * load it, with the import's report printed. Returns it, or NULL (message
 * printed). */
static struct json_object *import_file(const char *file, const struct openapi_opts *o,
                                       struct openapi_stats *st)
{
    struct json_object *doc = json_object_from_file(file);
    if (!doc) {
        fprintf(stderr,
                "mcpgate: could not read %s as JSON (%s); YAML documents must be "
                "converted to JSON first\n",
                file, json_util_get_last_err() ? json_util_get_last_err() : "unknown error");
        return NULL;
    }
    struct mg_error err = MG_ERROR_INIT;
    struct json_object *out = tool_openapi_import(doc, o, st, &err);
    json_object_put(doc);
    if (!out) {
        json_object_put(st->report);
        fprintf(stderr, "mcpgate: %s: %s\n", file, err.msg);
        return NULL;
    }
    /* what the operator should know: renames, access raised or in doubt */
    for (size_t i = 0; i < json_object_array_length(st->report); i++)
        fprintf(stderr, "mcpgate: %s\n",
                json_object_get_string(json_object_array_get_idx(st->report, i)));
    json_object_put(st->report);
    /* the result must load: check it as the responder will */
    struct backend *check = tool_backend_parse(file, out, 1, &err);
    if (!check) {
        fprintf(stderr, "mcpgate: the generated backend does not load (please report): %s\n",
                err.msg);
        json_object_put(out);
        return NULL;
    }
    tool_backend_free(check);
    return out;
}

int cli_backend_import(const struct cli_env *env, int argc, char **argv, const char *usage)
{
    struct import_args a;
    memset(&a, 0, sizeof a);
    a.o = (struct openapi_opts){.tags = a.tags,
                                .paths = a.paths,
                                .methods = a.methods,
                                .access = a.access,
                                .access_used = a.access_used,
                                .slot_names = a.slot_names,
                                .slot_names_used = a.slot_names_used,
                                .progress = import_progress};
    /* "import-openapi ARGS..." */
    int urc = import_options(argc - 1, argv + 1, &a, usage);
    if (urc)
        return urc;
    const struct openapi_opts *o = &a.o;
    struct openapi_stats st;
    struct json_object *out = import_file(argv[1 + optind], o, &st);
    if (!out)
        return 1;
    struct buf path = {0};
    if (a.output) {
        if (buf_puts(&path, a.output) < 0)
            abort();
    } else if (buf_printf(&path, "%s/%s.json", env->cfg->backends_dir, o->name) < 0) {
        abort();
    }
    const char *text = json_object_to_json_string_ext(
        out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    struct buf withnl = {0};
    if (buf_printf(&withnl, "%s\n", text) < 0)
        abort();
    int rc = write_out(path.data, withnl.data, a.force);
    json_object_put(out);
    buf_free(&withnl);
    if (rc == 0)
        fprintf(stderr,
                "mcpgate: %d operations in the document, %d selected, %d tools written to %s "
                "(%d skipped: request body neither JSON nor a form; %d deprecated left out%s), "
                "%d credential slots\n",
                st.operations, st.selected, st.tools, path.data, st.skipped, st.deprecated,
                st.deprecated ? ": --include-deprecated imports them" : "", st.slots);
    if (rc == 0 && st.slots && !o->env_file)
        fprintf(stderr, "mcpgate: the credential slots have no source yet: add env_file and "
                        "variable (or file) to each, or import again with --env-file\n");
    buf_free(&path);
    return rc == 0 ? 0 : 1;
}
