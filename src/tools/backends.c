/*
 * tools/backends.c - the table of loaded backends.
 */
#include "tools/backends.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "tools/upstream.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

#define MAX_BACKENDS 256

static struct backend *loaded[MAX_BACKENDS];
static int n_loaded;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tool_backend_count(void)
{
    return n_loaded;
}

const struct backend *tool_backend_at(int i)
{
    return i >= 0 && i < n_loaded ? loaded[i] : NULL;
}

const struct backend *tool_backend_find(const char *name)
{
    for (int i = 0; i < n_loaded; i++)
        if (strcmp(loaded[i]->name, name) == 0)
            return loaded[i];
    return NULL;
}

int tool_backend_files(const char *dir, char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, (size_t)cap * sizeof **out);
        }
        struct buf path = {0};
        if (buf_printf(&path, "%s/%s", dir, e->d_name) < 0)
            abort();
        (*out)[n++] = path.data;
    }
    closedir(d);
    if (n)
        qsort(*out, (size_t)n, sizeof **out, by_name);
    return n;
}

int tool_backends_load(const char *dir, struct mg_error *err)
{
    char **names = NULL;
    int found = tool_backend_files(dir, &names);
    if (found < 0) {
        mg_error_msg(err, "backends_dir %s: could not open it: %s", dir, strerror(errno));
        return -1;
    }
    size_t n = (size_t)found;
    int rc = 0;
    if (n && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        mg_error_msg(err, "could not initialise libcurl");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *path = names[i];
        struct backend *b = tool_backend_load_file(path, 0, err);
        if (!b) {
            rc = -1;
            break;
        }
        const char *fault =
            tool_backend_find(b->name) ? "another file already defines a backend of this name"
            : n_loaded == MAX_BACKENDS ? "too many backends"
            : b->kind == BACKEND_MCP && tool_upstream_add(b) < 0 ? "too many mcp backends"
                                                                 : NULL;
        if (fault) {
            mg_error_msg(err, "backend file %s: %s", path, fault);
            tool_backend_free(b);
            rc = -1;
            break;
        }
        for (int t = 0; t < b->n_ops; t++) {
            if (tool_find(b->defs[t].name)) {
                mg_error_msg(err, "backend file %s: tool %s: another tool has this name", path,
                             b->defs[t].name);
                rc = -1;
                break;
            }
        }
        if (rc < 0) {
            tool_backend_free(b);
            break;
        }
        if (b->kind == BACKEND_REST)
            tool_registry_add(b->defs, b->n_ops);
        loaded[n_loaded++] = b;
        if (b->kind == BACKEND_MCP)
            LOG_INFO("msg=\"backend loaded\" backend=%s kind=mcp cache_ttl_s=%d", b->name,
                     b->cache_ttl_s);
        else
            LOG_INFO("msg=\"backend loaded\" backend=%s tools=%d", b->name, b->n_ops);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc < 0 ? -1 : n_loaded;
}
