/*
 * store/listen.c - the process's one LISTEN connection.
 */
#include "store/listen.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/cache.h"
#include "store/db_internal.h"
#include "store/stream.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

/* How often the listener asks its server something: a server fenced or
 * demoted after a failover says so only in answer to a statement, and the
 * notifications are then sent on the new primary. */
#define LISTEN_PROBE_MS 1000

static pthread_t thread;
static int started;
static volatile int stop_requested;
static char *listen_conninfo;
static int listen_timeout_s;
static store_listen_fn callback;
static void *callback_arg;
static int shared_mode;
static atomic_int state; /* enum store_listener_state; read by any thread */

static PGconn *connect_and_listen(void)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", listen_timeout_s);
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {timeout, "mcpgate-listen", listen_conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        return NULL;
    }
    store_pg_log_notices(pg);
    PGresult *r = PQexec(pg, "LISTEN " STORE_NOTIFY_CHANNEL);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK && !store_pg_read_only(pg);
    PQclear(r);
    if (!ok) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* 1 if the server still answers and takes writes. Notifications that
 * arrive meanwhile are kept for PQnotifies(). */
static int probe_writable(PGconn *pg)
{
    PGresult *r = PQexec(pg, "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (ok && store_pg_read_only(pg)) {
        LOG_WARN("msg=\"listener's PostgreSQL server no longer takes writes\"");
        ok = 0;
    }
    return ok;
}

/* Reads notifications until the connection fails, its server stops taking
 * writes, or we are stopped. */
static void listen_loop(PGconn *pg)
{
    long long probe_at = mg_now_ms() + LISTEN_PROBE_MS;
    while (!stop_requested) {
        struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
        int n = poll(&p, 1, 500);
        if (n < 0)
            continue;
        if (n > 0 && !PQconsumeInput(pg))
            return;
        if (mg_now_ms() >= probe_at) {
            if (!probe_writable(pg))
                return;
            probe_at = mg_now_ms() + LISTEN_PROBE_MS;
        }
        PGnotify *note;
        while ((note = PQnotifies(pg)) != NULL) {
            if (!store_cache_note(note->extra))
                callback(note->extra, callback_arg);
            PQfreemem(note);
        }
        if (PQstatus(pg) != CONNECTION_OK)
            return;
    }
}

static void *listener_main(void *unused)
{
    (void)unused;
    int failures = 0;
    while (!stop_requested) {
        PGconn *pg = connect_and_listen();
        if (!pg) {
            atomic_store(&state, STORE_LISTENER_RETRYING);
            if (failures++ == 0)
                LOG_WARN("msg=\"listener could not connect to PostgreSQL; retrying\"");
            usleep(failures < 8 ? 250000 : 1000000);
            continue;
        }
        if (failures)
            LOG_INFO("msg=\"listener reconnected to PostgreSQL\"");
        failures = 0;
        atomic_store(&state, STORE_LISTENER_CONNECTED);
        store_cache_set_live(1);
        callback(NULL, callback_arg); /* we may have missed notifications */
        listen_loop(pg);
        atomic_store(&state, STORE_LISTENER_RETRYING);
        store_cache_set_live(0);
        PQfinish(pg);
        if (!stop_requested) {
            LOG_WARN("msg=\"listener lost its PostgreSQL connection\"");
            callback(NULL, callback_arg);
        }
    }
    return NULL;
}

int store_listener_start(const char *conninfo, int connect_timeout_s, store_listen_fn fn, void *arg)
{
    listen_conninfo = xstrdup(conninfo);
    listen_timeout_s = connect_timeout_s;
    callback = fn;
    callback_arg = arg;
    stop_requested = 0;
    atomic_store(&state, STORE_LISTENER_STARTING);
    if (pthread_create(&thread, NULL, listener_main, NULL) != 0) {
        atomic_store(&state, STORE_LISTENER_OFF);
        free(listen_conninfo);
        listen_conninfo = NULL;
        return -1;
    }
    started = 1;
    return 0;
}

enum store_listener_state store_listener_state(void)
{
    if (shared_mode)
        return STORE_LISTENER_SHARED;
    return (enum store_listener_state)atomic_load(&state);
}

void store_listener_stop(void)
{
    if (!started)
        return;
    stop_requested = 1;
    pthread_join(thread, NULL);
    atomic_store(&state, STORE_LISTENER_OFF);
    started = 0;
    free(listen_conninfo);
    listen_conninfo = NULL;
}

void store_listen_shared(store_listen_fn fn, void *arg)
{
    callback = fn;
    callback_arg = arg;
    shared_mode = 1;
}

int store_listen_is_shared(void)
{
    return shared_mode;
}

/* Hands on the notifications libpq has read on pg. Returns how many. */
static int deliver(PGconn *pg)
{
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(pg)) != NULL) {
        if (!store_cache_note(note->extra))
            callback(note->extra, callback_arg);
        PQfreemem(note);
        n++;
    }
    return n;
}

void store_listen_drain(struct store_conn *c)
{
    if (shared_mode && c->listening && c->pg)
        deliver(c->pg);
}

int store_listen_pump(struct store_conn *h, int timeout_ms)
{
    if (!shared_mode || store_connect_raw(h) != STORE_OK)
        return -1;
    struct store_conn *c = h->pool ? h->lent : h;
    if (!c || !c->pg)
        return -1;
    if (!c->listening) {
        PGresult *r = PQexec(c->pg, "LISTEN " STORE_NOTIFY_CHANNEL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            LOG_WARN("msg=\"could not LISTEN on the worker's connection\"");
            return -1;
        }
        c->listening = 1;
        callback(NULL, callback_arg); /* we may have missed notifications */
    }
    long long until = mg_now_ms() + timeout_ms;
    for (;;) {
        if (!PQconsumeInput(c->pg)) {
            LOG_WARN("msg=\"the worker's connection was lost while it waited\"");
            c->listening = 0;
            callback(NULL, callback_arg);
            return -1;
        }
        int n = deliver(c->pg);
        long long left = until - mg_now_ms();
        if (n > 0 || left <= 0)
            return n;
        struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
        poll(&p, 1, (int)left);
    }
}

void store_listen_quiet(struct store_conn *h)
{
    struct store_conn *c = h->pool ? h->lent : h;
    if (!shared_mode || !c || !c->pg || !c->listening)
        return;
    PGresult *r = PQexec(c->pg, "UNLISTEN *");
    PQclear(r);
    c->listening = 0;
    PGnotify *note;
    while ((note = PQnotifies(c->pg)) != NULL)
        PQfreemem(note); /* nobody of this request waits any more */
}
