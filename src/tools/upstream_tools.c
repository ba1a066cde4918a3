/*
 * tools/upstream_tools.c - the tools of the upstream MCP servers as a
 * dynamic source of the registry, with their tools/list cached in
 * PostgreSQL.
 *
 * The cache, per mcp backend:
 *
 *   - the stored row (store/upstream_cache.h) holds the upstream's list,
 *     its generation and its expiry (cache_ttl_s). A process that finds
 *     it missing or expired claims it in one statement, fetches the list
 *     from the upstream and stores it; every other process reads it. So
 *     the upstream is asked at most once per TTL whatever the number of
 *     processes and hosts;
 *   - each process keeps a copy (a snapshot) and looks at the row at most
 *     once per CHECK_EVERY_MS, loading the list again only when its
 *     generation changed;
 *   - a failed fetch keeps the last list (served with a warning in the
 *     log) and holds the claim FAIL_RETRY_S; with no list at all the
 *     backend's tools are left out of tools/list, which never fails for
 *     an upstream.
 *
 * Bounds: the current snapshots of all upstreams together take at most
 * tool_upstream_set_max_bytes() (a list that would pass it is refused and
 * the old one kept); older versions live on only until each thread that
 * pinned one next uses that upstream. A tool name that two backends would
 * both give (backend "a" with tool "b_c" and backend "a_b" with tool "c")
 * is refused for both, and logged naming them, so that no backend gets
 * calls and arguments meant for another; a static tool (builtin or REST)
 * keeps its name and the upstream's tool of that name is refused.
 *
 * Snapshots are reference counted: a worker thread holds (pins) the one
 * it last used for each upstream until it uses another, so a tool_def
 * that tool_find() returned stays valid through its call even when
 * another thread installs a newer list meanwhile. A thread's pins are
 * dropped when it exits.
 */
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/upstream_cache.h"
#include "tools/backends.h"
#include "tools/names.h"
#include "tools/upstream.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#define CHECK_EVERY_MS    1000 /* a process looks at the stored row at most this often */
#define FAIL_RETRY_S      10   /* after a failed fetch, ask the upstream again after this */
#define CLAIM_SLACK_S     5    /* a claim outlives the fetch's timeout by this much */
#define WAIT_POLL_MS      200  /* waiting for another process's first fetch */
#define WAIT_MAX_MS       5000
#define MAX_TOOL_NAME_LEN 128

/* One upstream tool as this process knows it. */
struct up_tool {
    struct tool_def def; /* registered name, schema text, access; data = this */
    char *upstream_name; /* the name the upstream knows it by */
    char *listing;       /* the MCP Tool object for tools/list, as JSON text */
    struct upstream *up;
};

/* One version of an upstream's tools. refs and the contents are guarded
 * by the upstream's lock; the contents never change once installed. */
struct up_snapshot {
    int refs;
    long long generation;
    struct up_tool *tools;
    int n;
    size_t bytes; /* memory of the tools and their strings, for the bound */
};

/* The bound on the current snapshots' bytes, and their sum (budget_lock). */
static pthread_mutex_t budget_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t budget_max = 32u * 1024 * 1024;
static size_t budget_used;

/* Per-thread pins: the snapshot each thread last used, per upstream. */
struct pins {
    struct up_snapshot *snap[TOOL_UPSTREAM_MAX];
};

static struct upstream *upstreams[TOOL_UPSTREAM_MAX];
static int n_upstreams;
static pthread_key_t pins_key;

static void snapshot_free(struct up_snapshot *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        free((char *)s->tools[i].def.name);
        free((char *)s->tools[i].def.input_schema);
        free(s->tools[i].upstream_name);
        free(s->tools[i].listing);
    }
    free(s->tools);
    free(s);
}

/* Drops one reference, with u->lock held. */
static void unref_locked(struct up_snapshot *s)
{
    if (s && --s->refs == 0)
        snapshot_free(s);
}

static void pins_drop(void *arg)
{
    struct pins *p = arg;
    for (int i = 0; i < n_upstreams; i++) {
        if (!p->snap[i])
            continue;
        pthread_mutex_lock(&upstreams[i]->lock);
        unref_locked(p->snap[i]);
        pthread_mutex_unlock(&upstreams[i]->lock);
    }
    free(p);
}

/* The current snapshot of u, pinned for this thread (or NULL). */
static struct up_snapshot *pin_current(struct upstream *u)
{
    struct pins *p = pthread_getspecific(pins_key);
    if (!p) {
        p = xcalloc(1, sizeof *p);
        if (pthread_setspecific(pins_key, p) != 0)
            abort();
    }
    pthread_mutex_lock(&u->lock);
    struct up_snapshot *s = u->current;
    if (s != p->snap[u->index]) {
        if (s)
            s->refs++;
        unref_locked(p->snap[u->index]);
        p->snap[u->index] = s;
    }
    pthread_mutex_unlock(&u->lock);
    return s;
}

/* --- building a snapshot from the upstream's list -------------------- */

static int wanted(const struct backend *be, const char *name)
{
    for (int i = 0; i < be->n_exclude; i++)
        if (fnmatch(be->exclude_tools[i], name, 0) == 0)
            return 0;
    if (!be->n_include)
        return 1;
    for (int i = 0; i < be->n_include; i++)
        if (fnmatch(be->include_tools[i], name, 0) == 0)
            return 1;
    return 0;
}

static int taken(const struct up_snapshot *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->tools[i].def.name, name) == 0)
            return 1;
    return 0;
}

/* "<backend>_<upstream name>" within MCP's name rules, unique in s. */
static void tool_name(const struct backend *be, const struct up_snapshot *s, const char *upstream,
                      char out[MAX_TOOL_NAME_LEN + 1])
{
    char full[MAX_TOOL_NAME_LEN * 2 + 2];
    snprintf(full, sizeof full, "%s_%s", be->name, upstream);
    tool_name_sanitize(full, 0, out, MAX_TOOL_NAME_LEN);
    size_t len = strlen(out);
    if (tool_name_reserved(out)) {
        if (len > MAX_TOOL_NAME_LEN - 5)
            len = MAX_TOOL_NAME_LEN - 5;
        memcpy(out + len, "_tool", 6);
        len += 5;
    }
    char base[MAX_TOOL_NAME_LEN + 1];
    memcpy(base, out, len + 1);
    for (int k = 2; taken(s, out); k++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "_%d", k);
        size_t keep = len + (size_t)sl > MAX_TOOL_NAME_LEN ? MAX_TOOL_NAME_LEN - (size_t)sl : len;
        snprintf(out, MAX_TOOL_NAME_LEN + 1, "%.*s%s", (int)keep, base, suffix);
    }
}

static struct json_object *upstream_tool_call(struct tool_ctx *ctx, struct json_object *args)
{
    const struct up_tool *t = ctx->tool ? ctx->tool->data : NULL;
    if (!t)
        return tool_result_text("this upstream tool is not set up", 1);
    return tool_upstream_call(t->up, ctx, t->upstream_name, args);
}

static const char *static_owner(const char *name);

/* Adds one Tool object of the upstream to s. Returns 0, or -1 when it is
 * not a tool (no name) or filtered out. */
static int add_tool(struct upstream *u, struct up_snapshot *s, struct json_object *t)
{
    const struct backend *be = u->be;
    const char *name = json_get_string(t, "name");
    if (!name || !*name || strlen(name) > 512 || !wanted(be, name))
        return -1;
    struct up_tool *ut = &s->tools[s->n];
    char full[MAX_TOOL_NAME_LEN + 1];
    tool_name(be, s, name, full);
    if (tool_find_static(full)) {
        LOG_WARN("msg=\"tool name used by two backends: the upstream's tool is refused\" "
                 "tool=%s backend=%s other=%s",
                 full, be->name, static_owner(full));
        return -1;
    }
    struct json_object *schema = json_get(t, "inputSchema", json_type_object);
    struct json_object *ann = json_get(t, "annotations", json_type_object);
    struct json_object *ro = json_get(ann, "readOnlyHint", json_type_boolean);
    struct json_object *destructive = json_get(ann, "destructiveHint", json_type_boolean);
    /* without readOnlyHint a tool counts as one that writes */
    enum tool_access acc = ro && json_object_get_boolean(ro)                     ? TOOL_READ
                           : destructive && json_object_get_boolean(destructive) ? TOOL_DESTRUCTIVE
                                                                                 : TOOL_WRITE;
    struct json_object *l = json_object_new_object();
    json_add(l, "name", json_object_new_string(full));
    static const char *const copied[] = {"title",        "description", "inputSchema",
                                         "outputSchema", "annotations", "icons"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        struct json_object *v = NULL;
        if (json_object_object_get_ex(t, copied[i], &v) && v &&
            !(strcmp(copied[i], "inputSchema") == 0 && !schema))
            json_add(l, copied[i], json_object_get(v));
    }
    if (!schema)
        json_add(l, "inputSchema", json_tokener_parse("{\"type\":\"object\"}"));
    ut->def.name = xstrdup(full);
    ut->def.title = NULL;
    ut->def.description = NULL;
    ut->def.input_schema = xstrdup(schema ? json_text(schema, NULL) : "{\"type\":\"object\"}");
    ut->def.access = acc;
    ut->def.open_world = 1;
    ut->def.call = upstream_tool_call;
    ut->def.data = ut;
    ut->def.backend = be->name;
    ut->upstream_name = xstrdup(name);
    ut->listing = xstrdup(json_text(l, NULL));
    ut->up = u;
    json_object_put(l);
    s->bytes += sizeof *ut + strlen(ut->def.name) + strlen(ut->def.input_schema) +
                strlen(ut->upstream_name) + strlen(ut->listing) + 4;
    s->n++;
    return 0;
}

const char *tool_backend_name(const struct tool_def *t)
{
    if (!t)
        return NULL;
    if (t->call == upstream_tool_call)
        return ((const struct up_tool *)t->data)->up->be->name;
    for (int i = 0; i < tool_backend_count(); i++) {
        const struct backend *b = tool_backend_at(i);
        for (int k = 0; b->kind == BACKEND_REST && k < b->n_ops; k++)
            if (&b->defs[k] == t)
                return b->name;
    }
    return "mcpgate";
}

/* The backend that gave the static tool name ("mcpgate" for a builtin). */
static const char *static_owner(const char *name)
{
    for (int i = 0; i < tool_backend_count(); i++) {
        const struct backend *b = tool_backend_at(i);
        for (int t = 0; b->kind == BACKEND_REST && t < b->n_ops; t++)
            if (strcmp(b->defs[t].name, name) == 0)
                return b->name;
    }
    return "mcpgate";
}

static int prefixed(const struct backend *be, const char *name);

/* Logs each tool of s (u's new list) whose name another upstream's current
 * list also has: both are refused (source_list, source_find). */
static void log_collisions(const struct upstream *u, const struct up_snapshot *s)
{
    for (int i = 0; i < n_upstreams; i++) {
        struct upstream *o = upstreams[i];
        if (o == u || !(prefixed(o->be, u->be->name) || prefixed(u->be, o->be->name)))
            continue; /* "a" and "b_x" cannot give the same name */
        pthread_mutex_lock(&o->lock);
        const struct up_snapshot *os = o->current;
        for (int k = 0; os && k < s->n; k++)
            for (int m = 0; m < os->n; m++)
                if (strcmp(s->tools[k].def.name, os->tools[m].def.name) == 0)
                    LOG_WARN("msg=\"tool name used by two backends: refused for both\" "
                             "tool=%s backend=%s other=%s",
                             s->tools[k].def.name, u->be->name, o->be->name);
        pthread_mutex_unlock(&o->lock);
    }
}

/* A snapshot from the list's JSON text (as stored). Returns NULL when the
 * text is not a JSON array. */
static struct up_snapshot *snapshot_from(struct upstream *u, const char *text, long long generation)
{
    struct json_object *arr = NULL;
    if (json_parse_strict(text, strlen(text), &arr, NULL) < 0 ||
        !json_object_is_type(arr, json_type_array)) {
        json_object_put(arr);
        LOG_WARN("msg=\"stored upstream tool list is not a JSON array\" backend=%s", u->be->name);
        return NULL;
    }
    struct up_snapshot *s = xcalloc(1, sizeof *s);
    size_t n = json_object_array_length(arr);
    s->tools = xcalloc(n, sizeof *s->tools);
    s->generation = generation;
    s->refs = 1; /* the upstream's own reference (u->current) */
    for (size_t i = 0; i < n; i++)
        (void)add_tool(u, s, json_object_array_get_idx(arr, i));
    json_object_put(arr);
    log_collisions(u, s);
    return s;
}

/* Takes bytes from the budget in place of old_bytes. Returns 0, or -1 when
 * that would pass the bound (nothing taken). */
static int budget_swap(size_t old_bytes, size_t bytes)
{
    pthread_mutex_lock(&budget_lock);
    int fits = budget_used - old_bytes + bytes <= budget_max;
    if (fits)
        budget_used = budget_used - old_bytes + bytes;
    pthread_mutex_unlock(&budget_lock);
    return fits ? 0 : -1;
}

/* Makes s (taken) the current snapshot unless one as new is there, or it
 * would pass the memory bound (then u keeps its list and remembers the
 * refused generation, so it is not loaded again). */
static void install(struct upstream *u, struct up_snapshot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&u->lock);
    if (!u->current || u->current->generation < s->generation) {
        size_t old_bytes = u->current ? u->current->bytes : 0;
        if (budget_swap(old_bytes, s->bytes) == 0) {
            unref_locked(u->current);
            u->current = s;
            s = NULL;
        } else {
            u->refused_generation = s->generation;
            LOG_WARN("msg=\"upstream tool list not loaded: the lists would pass "
                     "upstream_tools_max_kib\" backend=%s bytes=%zu max_bytes=%zu",
                     u->be->name, s->bytes, budget_max);
        }
    }
    pthread_mutex_unlock(&u->lock);
    snapshot_free(s);
}

void tool_upstream_set_max_bytes(size_t bytes)
{
    budget_max = bytes;
}

/* The upstream's tools filtered as the backend says, as JSON text to store. */
static char *filtered_text(const struct backend *be, struct json_object *tools)
{
    struct json_object *keep = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(tools); i++) {
        struct json_object *t = json_object_array_get_idx(tools, i);
        const char *name = json_get_string(t, "name");
        if (name && wanted(be, name) && json_object_array_add(keep, json_object_get(t)) != 0)
            abort();
    }
    char *text = xstrdup(json_text(keep, NULL));
    json_object_put(keep);
    return text;
}

/* Fetches from the upstream (this process holds the claim) and stores. */
static void fetch_and_store(struct upstream *u, struct store_conn *db, int have_list)
{
    const struct backend *be = u->be;
    struct mg_error err = MG_ERROR_INIT;
    struct json_object *tools = tool_upstream_fetch_tools(u, &err);
    if (!tools) {
        if (store_upstream_fail(db, be->name, FAIL_RETRY_S, err.msg) != STORE_OK)
            LOG_WARN("msg=\"could not record the failed upstream fetch\" backend=%s", be->name);
        if (have_list)
            LOG_WARN("msg=\"upstream tools/list failed: serving the cached list\" backend=%s "
                     "why=\"%s\"",
                     be->name, err.msg);
        else
            LOG_WARN("msg=\"upstream tools/list failed: its tools are left out\" backend=%s "
                     "why=\"%s\"",
                     be->name, err.msg);
        return;
    }
    char *text = filtered_text(be, tools);
    json_object_put(tools);
    if (strlen(text) > budget_max) {
        mg_error_msg(&err, "the tool list (%zu bytes) is larger than upstream_tools_max_kib",
                     strlen(text));
        free(text);
        if (store_upstream_fail(db, be->name, FAIL_RETRY_S, err.msg) != STORE_OK)
            LOG_WARN("msg=\"could not record the failed upstream fetch\" backend=%s", be->name);
        LOG_WARN("msg=\"upstream tool list refused\" backend=%s why=\"%s\"", be->name, err.msg);
        return;
    }
    long long generation = 0;
    enum store_rc rc =
        store_upstream_put(db, be->name, u->source, text, be->cache_ttl_s, &generation);
    if (rc != STORE_OK) {
        LOG_WARN("msg=\"could not store the upstream tool list\" backend=%s rc=%d", be->name,
                 (int)rc);
        /* still use it in this process until the next check */
        pthread_mutex_lock(&u->lock);
        generation = u->current ? u->current->generation : 0;
        pthread_mutex_unlock(&u->lock);
        generation++;
    }
    struct up_snapshot *s = snapshot_from(u, text, generation);
    LOG_INFO("msg=\"upstream tools fetched\" backend=%s tools=%d generation=%lld", be->name,
             s ? s->n : 0, generation);
    install(u, s);
    free(text);
}

/*
 * Brings u's copy up to date through db (see the file comment). Without
 * db, or within CHECK_EVERY_MS of the last look, nothing happens.
 */
static void refresh(struct upstream *u, struct store_conn *db)
{
    const struct backend *be = u->be;
    if (!db)
        return;
    long long t = mg_now_ms();
    pthread_mutex_lock(&u->lock);
    int due = t - u->checked_ms >= CHECK_EVERY_MS || u->checked_ms == 0;
    if (due)
        u->checked_ms = t;
    long long known = u->current ? u->current->generation : 0;
    int have_list = known > 0;
    if (u->refused_generation > known)
        known = u->refused_generation; /* do not load it again */
    pthread_mutex_unlock(&u->lock);
    if (!due)
        return;
    for (long long waited = 0;; waited += WAIT_POLL_MS) {
        struct store_upstream_tools row;
        if (store_upstream_get(db, be->name, u->source, known, &row) != STORE_OK) {
            LOG_WARN("msg=\"upstream tool cache unavailable: using this process's copy\" "
                     "backend=%s",
                     be->name);
            return;
        }
        if (row.tools) {
            install(u, snapshot_from(u, row.tools, row.generation));
            known = row.generation;
            pthread_mutex_lock(&u->lock);
            have_list = u->current != NULL;
            pthread_mutex_unlock(&u->lock);
        }
        store_upstream_tools_clear(&row);
        if (row.fresh)
            return;
        int claimed = 0;
        long hold = (be->timeout_ms + 999) / 1000 + CLAIM_SLACK_S;
        if (store_upstream_claim(db, be->name, u->source, (int)hold, &claimed) != STORE_OK)
            return;
        if (claimed) {
            fetch_and_store(u, db, have_list);
            return;
        }
        /* another process is fetching, or a failed fetch holds off: with
         * a list, serve it; without, wait a little for the other fetch */
        if (have_list || waited >= WAIT_MAX_MS || !row.fetching)
            return;
        usleep(WAIT_POLL_MS * 1000);
    }
}

/* --- the registry source --------------------------------------------- */

static int prefixed(const struct backend *be, const char *name)
{
    size_t n = strlen(be->name);
    return strncmp(name, be->name, n) == 0 && name[n] == '_';
}

static void source_list(void *self, struct store_conn *db, struct json_object *arr)
{
    (void)self;
    struct up_snapshot *snaps[TOOL_UPSTREAM_MAX];
    struct json_object *seen = json_object_new_object(); /* name -> how many give it */
    for (int i = 0; i < n_upstreams; i++) {
        refresh(upstreams[i], db);
        snaps[i] = pin_current(upstreams[i]);
        for (int k = 0; snaps[i] && k < snaps[i]->n; k++) {
            const char *name = snaps[i]->tools[k].def.name;
            struct json_object *n = json_get(seen, name, json_type_int);
            json_add(seen, name, json_object_new_int(n ? json_object_get_int(n) + 1 : 1));
        }
    }
    for (int i = 0; i < n_upstreams; i++) {
        for (int k = 0; snaps[i] && k < snaps[i]->n; k++) {
            if (json_object_get_int(json_get(seen, snaps[i]->tools[k].def.name, json_type_int)) !=
                1)
                continue; /* two backends give this name: refused for both */
            struct json_object *o = json_tokener_parse(snaps[i]->tools[k].listing);
            if (o && json_object_array_add(arr, o) != 0)
                abort();
        }
    }
    json_object_put(seen);
}

static const struct tool_def *source_find(void *self, struct store_conn *db, const char *name)
{
    (void)self;
    const struct tool_def *found = NULL;
    for (int i = 0; i < n_upstreams; i++) {
        struct upstream *u = upstreams[i];
        if (!prefixed(u->be, name))
            continue;
        refresh(u, db);
        struct up_snapshot *s = pin_current(u);
        for (int k = 0; s && k < s->n; k++) {
            if (strcmp(s->tools[k].def.name, name) != 0)
                continue;
            if (found)
                return NULL; /* two backends give this name: refused for both */
            found = &s->tools[k].def;
            break;
        }
    }
    return found;
}

static const struct tool_source source = {
    .list = source_list,
    .find = source_find,
    .self = NULL,
};

int tool_upstream_add(struct backend *b)
{
    if (n_upstreams == TOOL_UPSTREAM_MAX)
        return -1;
    if (n_upstreams == 0) {
        if (pthread_key_create(&pins_key, pins_drop) != 0)
            abort();
        tool_registry_add_source(&source);
    }
    struct upstream *u = xcalloc(1, sizeof *u);
    u->be = b;
    u->index = n_upstreams;
    for (int i = 0; i < b->n_auth && !u->exchange; i++)
        if (b->creds[b->auth[i]].exchange)
            u->exchange = &b->creds[b->auth[i]];
    if (u->exchange)
        u->callers = xcalloc(TOOL_UPSTREAM_CALLER_SESSIONS, sizeof *u->callers);
    pthread_mutex_init(&u->lock, NULL);
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&u->ready, &ca) != 0)
        abort();
    pthread_condattr_destroy(&ca);
    /* the cache key: the URL and the filters (a changed file fetches anew) */
    struct json_object *key = json_object_new_array();
    int rc = json_object_array_add(key, json_object_new_string(b->base_url));
    for (int i = 0; rc == 0 && i < b->n_include; i++)
        rc = json_object_array_add(key, json_object_new_string(b->include_tools[i]));
    if (rc == 0)
        rc = json_object_array_add(key, json_object_new_string("-"));
    for (int i = 0; rc == 0 && i < b->n_exclude; i++)
        rc = json_object_array_add(key, json_object_new_string(b->exclude_tools[i]));
    if (rc != 0)
        abort();
    size_t len;
    const char *text = json_text(key, &len);
    crypto_sha256_hex(text, len, u->source);
    json_object_put(key);
    b->up = u;
    upstreams[n_upstreams++] = u;
    return 0;
}

void tool_upstream_free(struct upstream *u)
{
    if (!u)
        return;
    for (int i = 0; i < n_upstreams; i++) {
        if (upstreams[i] == u) {
            upstreams[i] = upstreams[--n_upstreams];
            upstreams[i]->index = i;
            break;
        }
    }
    if (u->current && budget_swap(u->current->bytes, 0) < 0)
        abort(); /* giving back cannot pass the bound */
    unref_locked(u->current);
    pthread_cond_destroy(&u->ready);
    pthread_mutex_destroy(&u->lock);
    free(u->callers);
    free(u);
}
