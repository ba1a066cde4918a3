/*
 * cli/doctor_tools.c - mcpgate doctor --tools: the tool surface the MCP
 * endpoint offers (tool count against discovery_threshold, names,
 * descriptions, access classes, deprecated tools) and each connector's
 * selection, read from the configuration and the backend files, not the
 * database.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/doctor.h"
#include "tools/policy.h"
#include "tools/registry.h"
#include "util/buf.h"
#include "util/json.h"

#define TOOLS_NAMED 3 /* offending tools named in a check's line */

/* --- the tool surface (--tools) ----------------------------------------- */

struct surface {
    const struct mg_config *cfg;
    int tools, upstreams;
    int in_connector[MG_MAX_CONNECTORS];                   /* tools of each connector */
    int class_of[MG_MAX_CONNECTORS][TOOL_DESTRUCTIVE + 1]; /* by access class */
    int long_names, bad_names, no_desc, write_as_read, deprecated;
    char long_ex[200], bad_ex[200], no_desc_ex[200], write_ex[200], dep_ex[200];
};

static void example(char *buf, size_t len, int *count, const char *name)
{
    if ((*count)++ < TOOLS_NAMED) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%.60s", used ? ", " : "", name);
    }
}

/* One tool as a client will see it: def for its name, backend, tags and
 * access class; method and access as its backend file says (or NULL). */
static void surface_tool(struct surface *s, const struct tool_def *def, const char *method,
                         const char *access, const char *desc, int deprecated)
{
    const char *name = def->name;
    s->tools++;
    for (int i = 0; i < s->cfg->n_connectors; i++)
        if (tool_connector_has(&s->cfg->connectors[i], def)) {
            s->in_connector[i]++;
            s->class_of[i][def->access]++;
        }
    size_t n = strlen(name);
    if (n == 0 ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        example(s->bad_ex, sizeof s->bad_ex, &s->bad_names, name);
    else if (n > TOOL_NAME_SHORT)
        example(s->long_ex, sizeof s->long_ex, &s->long_names, name);
    if (!desc || !*desc)
        example(s->no_desc_ex, sizeof s->no_desc_ex, &s->no_desc, name);
    if (method && access && strcmp(access, "read") == 0 &&
        (strcasecmp(method, "POST") == 0 || strcasecmp(method, "PUT") == 0 ||
         strcasecmp(method, "PATCH") == 0 || strcasecmp(method, "DELETE") == 0))
        example(s->write_ex, sizeof s->write_ex, &s->write_as_read, name);
    if (deprecated)
        example(s->dep_ex, sizeof s->dep_ex, &s->deprecated, name);
}

/* The access class the loader gives a tool of a backend file (tools/backend.h):
 * its "access", else by its method. */
static enum tool_access file_access(const char *method, const char *access)
{
    if (access && strcmp(access, "read") == 0)
        return TOOL_READ;
    if (access && strcmp(access, "write") == 0)
        return TOOL_WRITE;
    if (access && strcmp(access, "destructive") == 0)
        return TOOL_DESTRUCTIVE;
    if (!method || strcasecmp(method, "GET") == 0 || strcasecmp(method, "HEAD") == 0 ||
        strcasecmp(method, "OPTIONS") == 0)
        return TOOL_READ;
    return strcasecmp(method, "DELETE") == 0 ? TOOL_DESTRUCTIVE : TOOL_WRITE;
}

/* Reads the backend files of dir as the responder's loader finds them.
 * Returns 0, or -1 with err when dir cannot be read (a missing dir: no
 * backends). */
static int surface_backends(struct surface *s, const char *dir, struct mg_error *err)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        if (errno == ENOENT)
            return 0;
        return mg_error_msg(err, "could not open backends_dir %.200s: %s", dir, strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct json_object *b = json_object_from_file(path);
        const char *bname = json_get_string(b, "name");
        const char *kind = json_get_string(b, "kind");
        if (kind && strcmp(kind, "mcp") == 0)
            s->upstreams++;
        struct json_object *tools = json_get(b, "tools", json_type_array);
        for (size_t i = 0; bname && tools && i < json_object_array_length(tools); i++) {
            struct json_object *t = json_object_array_get_idx(tools, i);
            const char *tname = json_get_string(t, "name");
            const char *method = json_get_string(t, "method");
            const char *access = json_get_string(t, "access");
            char full[300];
            snprintf(full, sizeof full, "%.64s_%.200s", bname, tname ? tname : "");
            struct buf tags = {0};
            struct json_object *tl = json_get(t, "tags", json_type_array);
            for (size_t k = 0; tl && k < json_object_array_length(tl); k++) {
                const char *tag = json_object_get_string(json_object_array_get_idx(tl, k));
                if (tag && (buf_puts(&tags, tag) < 0 || buf_puts(&tags, "\n") < 0))
                    break;
            }
            struct tool_def def = {.name = full,
                                   .backend = bname,
                                   .tags = tags.len ? buf_str(&tags) : NULL,
                                   .access = file_access(method, access)};
            surface_tool(s, &def, method, access, json_get_string(t, "description"),
                         json_object_get_boolean(json_get(t, "deprecated", json_type_boolean)));
            buf_free(&tags);
        }
        json_object_put(b);
    }
    closedir(dh);
    return 0;
}

/* The tool count of connector i's endpoint (/mcp/NAME) against the
 * threshold, as tool-count does for /mcp. */
static void check_connector(struct doctor *d, const struct surface *s, int i, const char *more)
{
    const struct mg_connector *cn = &s->cfg->connectors[i];
    int n = s->in_connector[i], threshold = s->cfg->discovery_threshold;
    char seen[200];
    snprintf(seen, sizeof seen, "/mcp/%s (%s): %d tools%s (%d read, %d write, %d destructive)",
             cn->name, cn->title, n, more, s->class_of[i][TOOL_READ], s->class_of[i][TOOL_WRITE],
             s->class_of[i][TOOL_DESTRUCTIVE]);
    struct check *c;
    if (n == 0 && !s->upstreams) {
        c = doctor_add_check(d, "", CHECK_FAIL, "%s: its filters match no tool", seen);
        c->fix_any = "check the connector's backends=, tags=, names= and access= in "
                     "mcpgate.conf against the backend files (tags are the operations' tags)";
    } else if (threshold > 0 && n > threshold) {
        c = doctor_add_check(
            d, "", CHECK_WARN,
            "%s, over discovery_threshold %d: clients see search_tools and a runner "
            "per access class",
            seen, threshold);
        c->fix_any = "narrow the connector (tags=, names=) or split it in two, so clients list "
                     "its tools directly";
    } else if (n > TOOLS_ADVISED) {
        c = doctor_add_check(d, "", CHECK_WARN,
                             "%s listed at once: clients pick worse from more than %d", seen,
                             TOOLS_ADVISED);
        c->fix_any = "narrow the connector (tags=, names=) or split it in two";
    } else {
        c = doctor_add_check(d, "", CHECK_PASS, "%s (discovery_threshold %d)", seen, threshold);
    }
    snprintf(c->name_buf, sizeof c->name_buf, "connector-%s", cn->name);
    c->name = c->name_buf;
}

void doctor_check_tools(struct doctor *d, const struct mg_config *cfg)
{
    struct surface s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    struct mg_error err = MG_ERROR_INIT;
    tool_builtin_register();
    for (int i = 0; i < tool_static_count(); i++) {
        const struct tool_def *t = tool_static_at(i);
        surface_tool(&s, t, NULL, NULL, t->description, t->deprecated);
    }
    if (surface_backends(&s, cfg->backends_dir, &err) < 0) {
        doctor_add_check(d, "tool-count", CHECK_FAIL, "%s", err.msg);
        return;
    }
    char more[80] = "";
    if (s.upstreams)
        snprintf(more, sizeof more, " (and those of %d upstream MCP backends)", s.upstreams);
    int threshold = cfg->discovery_threshold;
    struct check *c;
    if (threshold > 0 && s.tools > threshold)
        doctor_add_check(d, "tool-count", CHECK_PASS,
                         "%d tools%s, over discovery_threshold %d: clients see search_tools and a "
                         "runner per access class",
                         s.tools, more, threshold);
    else if (s.tools > TOOLS_ADVISED) {
        c = doctor_add_check(
            d, "tool-count", CHECK_WARN,
            "%d tools%s listed at once (discovery_threshold %d): clients pick worse "
            "from more than %d",
            s.tools, more, threshold, TOOLS_ADVISED);
        c->fix_any = "set discovery_threshold = 40 in mcpgate.conf, or import fewer operations "
                     "(mcpgate backend import-openapi --tag ...)";
    } else
        doctor_add_check(d, "tool-count", CHECK_PASS, "%d tools%s (discovery_threshold %d)",
                         s.tools, more, threshold);
    if (s.bad_names) {
        c = doctor_add_check(d, "tool-names", CHECK_FAIL,
                             "%d names with characters outside A-Z a-z 0-9 _ -: %s", s.bad_names,
                             s.bad_ex);
        c->fix_any = "rename them in the backend file (or import again: the importer's names "
                     "fit)";
    } else if (s.long_names) {
        c = doctor_add_check(
            d, "tool-names", CHECK_WARN,
            "%d names longer than %d characters (some clients refuse or cut them): %s",
            s.long_names, TOOL_NAME_SHORT, s.long_ex);
        c->fix_any = "a shorter backend name, or shorter tool names in the backend file";
    } else
        doctor_add_check(d, "tool-names", CHECK_PASS, "every name fits ^[a-zA-Z0-9_-]{1,%d}$",
                         TOOL_NAME_SHORT);
    if (s.no_desc) {
        c = doctor_add_check(d, "tool-descriptions", CHECK_WARN,
                             "%d tools without a description (the model sees only the method and "
                             "URL): %s",
                             s.no_desc, s.no_desc_ex);
        c->fix_any = "add \"description\" to those tools in the backend file";
    } else
        doctor_add_check(d, "tool-descriptions", CHECK_PASS, "every tool has a description");
    if (s.write_as_read) {
        c = doctor_add_check(d, "tool-access", CHECK_FAIL,
                             "%d tools with a write method marked read (clients run them without "
                             "asking): %s",
                             s.write_as_read, s.write_ex);
        c->fix_any = "remove \"access\": \"read\" from them, unless the API really only "
                     "reads there";
    } else
        doctor_add_check(d, "tool-access", CHECK_PASS, "no write method is marked read");
    if (s.deprecated) {
        c = doctor_add_check(d, "tool-deprecated", CHECK_WARN, "%d deprecated tools exposed: %s",
                             s.deprecated, s.dep_ex);
        c->fix_any = "import again without --include-deprecated, or remove them";
    } else
        doctor_add_check(d, "tool-deprecated", CHECK_PASS, "no deprecated tool exposed");
    for (int i = 0; i < cfg->n_connectors; i++)
        check_connector(d, &s, i, more);
}
