/*
 * store/cache.c - rows this process remembers, forgotten on NOTIFY.
 *
 * Each kind is a direct-mapped table: a key hashes to one slot, a newer
 * entry replaces an older one there. Lookups copy the value out under the
 * lock, so no caller ever holds a pointer into the table.
 */
#include "store/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/metrics.h"
#include "util/time.h"

#define KEY_MAX 72

struct slot {
    char key[KEY_MAX];
    long long owner;
    long long expires_ms;
    size_t len;
    void *val; /* malloc'ed; NULL when the slot is empty */
};

static const int table_size[STORE_CACHE_KINDS] = {512, 1024, 256};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t noted = PTHREAD_COND_INITIALIZER; /* seq moved */
static struct slot *tables[STORE_CACHE_KINDS];
static int live;
static unsigned long seq; /* invalidations so far */

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static struct slot *slot_of(enum store_cache_kind kind, const char *key)
{
    if (!tables[kind])
        tables[kind] = xcalloc((size_t)table_size[kind], sizeof(struct slot));
    return &tables[kind][hash(key) % (unsigned)table_size[kind]];
}

static void slot_clear(struct slot *s)
{
    free(s->val);
    s->val = NULL;
    s->len = 0;
    s->key[0] = '\0';
}

/* Under the lock. owner < 0: every entry of kind. */
static void drop_kind(enum store_cache_kind kind, long long owner)
{
    if (!tables[kind])
        return;
    for (int i = 0; i < table_size[kind]; i++)
        if (tables[kind][i].val && (owner < 0 || tables[kind][i].owner == owner))
            slot_clear(&tables[kind][i]);
}

static void drop_all(void)
{
    for (int k = 0; k < STORE_CACHE_KINDS; k++)
        drop_kind((enum store_cache_kind)k, -1);
}

void store_cache_set_live(int on)
{
    pthread_mutex_lock(&lock);
    drop_all();
    seq++;
    live = on;
    pthread_cond_broadcast(&noted);
    pthread_mutex_unlock(&lock);
}

int store_cache_begin(unsigned long *out)
{
    pthread_mutex_lock(&lock);
    int on = live;
    *out = seq;
    pthread_mutex_unlock(&lock);
    return on;
}

/* The cache label of mcpgate_cache_lookups_total and _invalidations_total. */
static const char *const kind_names[STORE_CACHE_KINDS] = {"auth", "session", "policy"};

long store_cache_get(enum store_cache_kind kind, const char *key, void *out, size_t cap)
{
    long n = -1;
    pthread_mutex_lock(&lock);
    if (live && strlen(key) < KEY_MAX) {
        struct slot *s = slot_of(kind, key);
        if (s->val && strcmp(s->key, key) == 0) {
            if (s->expires_ms <= mg_now_ms())
                slot_clear(s);
            else if (s->len <= cap) {
                memcpy(out, s->val, s->len);
                n = (long)s->len;
            }
        }
    }
    int counted = live;
    pthread_mutex_unlock(&lock);
    if (counted)
        metrics_add("mcpgate_cache_lookups_total", 1, "cache", kind_names[kind], "result",
                    n >= 0 ? "hit" : "miss", NULL);
    return n;
}

void store_cache_put(enum store_cache_kind kind, const char *key, long long owner, const void *val,
                     size_t len, long long expires_ms, unsigned long since)
{
    if (strlen(key) >= KEY_MAX)
        return;
    long long cap = mg_now_ms() + STORE_CACHE_MAX_LIFE_MS;
    void *copy = xmalloc(len);
    memcpy(copy, val, len);
    pthread_mutex_lock(&lock);
    if (live && seq == since) {
        struct slot *s = slot_of(kind, key);
        slot_clear(s);
        memcpy(s->key, key, strlen(key) + 1);
        s->owner = owner;
        s->expires_ms = expires_ms < cap ? expires_ms : cap;
        s->len = len;
        s->val = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(copy);
}

void store_cache_drop(enum store_cache_kind kind, const char *key)
{
    pthread_mutex_lock(&lock);
    seq++;
    if (strlen(key) < KEY_MAX) {
        struct slot *s = slot_of(kind, key);
        if (s->val && strcmp(s->key, key) == 0)
            slot_clear(s);
    }
    pthread_mutex_unlock(&lock);
}

int store_cache_note(const char *key)
{
    if (key[0] != 'x')
        return 0;
    pthread_mutex_lock(&lock);
    seq++;
    if (strncmp(key, "xa:", 3) == 0) {
        char *end;
        long long user = strtoll(key + 3, &end, 10);
        drop_kind(STORE_CACHE_AUTH, end != key + 3 && *end == '\0' && user >= 0 ? user : -1);
    } else if (strncmp(key, "xs:", 3) == 0) {
        if (strlen(key + 3) < KEY_MAX) {
            struct slot *s = slot_of(STORE_CACHE_SESSION, key + 3);
            if (s->val && strcmp(s->key, key + 3) == 0)
                slot_clear(s);
        }
    } else if (strcmp(key, "xp") == 0) {
        drop_kind(STORE_CACHE_POLICY, -1);
    } else {
        drop_all(); /* a key this build does not know: be safe */
    }
    pthread_cond_broadcast(&noted);
    pthread_mutex_unlock(&lock);
    metrics_add("mcpgate_cache_invalidations_total", 1, "cache",
                key[1] == 'a'   ? "auth"
                : key[1] == 's' ? "session"
                : key[1] == 'p' ? "policy"
                                : "all",
                NULL);
    return 1;
}

void store_cache_sync(unsigned long since, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&lock);
    while (live && seq == since)
        if (pthread_cond_timedwait(&noted, &lock, &until) != 0)
            break;
    pthread_mutex_unlock(&lock);
}
