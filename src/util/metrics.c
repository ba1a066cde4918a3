/*
 * util/metrics.c - this process's counters, as deltas waiting to be merged.
 *
 * The table is open addressing over METRICS_SERIES_MAX cells keyed by a
 * hash of name and labels; a cell, once used, keeps its series for the
 * process's life (a drain zeroes the value only), so a lookup never has to
 * skip deleted cells.
 */
#include "util/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

struct cell {
    uint32_t hash; /* 0: unused */
    char name[METRICS_NAME_MAX];
    char labels[METRICS_LABELS_MAX];
    double value; /* the change since the last drain */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cell cells[METRICS_SERIES_MAX]; /* under lock */
static double dropped;                        /* under lock: additions to a series not kept */

static uint32_t series_hash(const char *name, const char *labels)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '{') * 16777619u;
    for (const char *p = labels; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h ? h : 1;
}

void metrics_label_value(char *out, size_t n, const char *value)
{
    size_t o = 0, kept = 0;
    for (const char *p = value ? value : ""; *p && kept < METRICS_VALUE_MAX; p++, kept++) {
        unsigned char ch = (unsigned char)*p;
        char esc = ch == '\\' ? '\\' : ch == '"' ? '"' : ch == '\n' ? 'n' : 0;
        if (o + (esc ? 2 : 1) + 1 > n)
            break;
        if (esc) {
            out[o++] = '\\';
            out[o++] = esc;
        } else {
            out[o++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
        }
    }
    if (n)
        out[o < n ? o : n - 1] = '\0';
}

/* Writes the label pairs of ap as k="v",... into out. Returns -1 when they
 * do not fit (the series is then not kept). */
static int format_labels(char *out, size_t n, va_list ap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        char val[METRICS_VALUE_MAX * 2 + 1];
        metrics_label_value(val, sizeof val, v);
        int w = snprintf(out + o, n - o, "%s%s=\"%s\"", o ? "," : "", k, val);
        if (w < 0 || (size_t)w >= n - o)
            return -1;
        o += (size_t)w;
    }
    return 0;
}

/* Under lock: adds delta to the series, creating it if there is room. */
static void add_locked(const char *name, const char *labels, double delta)
{
    uint32_t h = series_hash(name, labels);
    for (uint32_t i = 0; i < METRICS_SERIES_MAX; i++) {
        struct cell *c = &cells[(h + i) % METRICS_SERIES_MAX];
        if (c->hash == 0) {
            c->hash = h;
            snprintf(c->name, sizeof c->name, "%s", name);
            snprintf(c->labels, sizeof c->labels, "%s", labels);
            c->value = delta;
            return;
        }
        if (c->hash == h && strcmp(c->name, name) == 0 && strcmp(c->labels, labels) == 0) {
            c->value += delta;
            return;
        }
    }
    dropped += 1;
}

void metrics_add(const char *name, double delta, ...)
{
    char labels[METRICS_LABELS_MAX];
    va_list ap;
    va_start(ap, delta);
    int rc = format_labels(labels, sizeof labels, ap);
    va_end(ap);
    pthread_mutex_lock(&lock);
    if (rc < 0 || strlen(name) >= METRICS_NAME_MAX)
        dropped += 1;
    else
        add_locked(name, labels, delta);
    pthread_mutex_unlock(&lock);
}

void metrics_observe(const char *name, double value, const double *bounds, int n, ...)
{
    char labels[METRICS_LABELS_MAX], series[METRICS_NAME_MAX], with_le[METRICS_LABELS_MAX + 32];
    va_list ap;
    va_start(ap, n);
    int rc = format_labels(labels, sizeof labels - 24, ap); /* room for ,le="..." */
    va_end(ap);
    int i = 0;
    while (i < n && value > bounds[i])
        i++;
    const char *sep = labels[0] ? "," : "";
    if (i < n)
        snprintf(with_le, sizeof with_le, "%s%sle=\"%g\"", labels, sep, bounds[i]);
    else
        snprintf(with_le, sizeof with_le, "%s%sle=\"+Inf\"", labels, sep);
    pthread_mutex_lock(&lock);
    if (rc < 0 || strlen(name) + sizeof "_bucket" > METRICS_NAME_MAX) {
        dropped += 1;
        pthread_mutex_unlock(&lock);
        return;
    }
    snprintf(series, sizeof series, "%s_bucket", name);
    add_locked(series, with_le, 1);
    snprintf(series, sizeof series, "%s_sum", name);
    add_locked(series, labels, value);
    snprintf(series, sizeof series, "%s_count", name);
    add_locked(series, labels, 1);
    pthread_mutex_unlock(&lock);
}

int metrics_drain(struct metrics_delta **out)
{
    *out = NULL;
    pthread_mutex_lock(&lock);
    int n = dropped != 0;
    for (int i = 0; i < METRICS_SERIES_MAX; i++)
        n += cells[i].hash && cells[i].value != 0;
    struct metrics_delta *d = n ? xcalloc((size_t)n, sizeof *d) : NULL;
    int k = 0;
    for (int i = 0; i < METRICS_SERIES_MAX && d; i++) {
        struct cell *c = &cells[i];
        if (!c->hash || c->value == 0)
            continue;
        memcpy(d[k].name, c->name, sizeof d[k].name);
        memcpy(d[k].labels, c->labels, sizeof d[k].labels);
        d[k++].value = c->value;
        c->value = 0;
    }
    if (dropped != 0) {
        snprintf(d[k].name, sizeof d[k].name, "mcpgate_metrics_dropped_total");
        d[k++].value = dropped;
        dropped = 0;
    }
    pthread_mutex_unlock(&lock);
    *out = d;
    return k;
}

void metrics_restore(const struct metrics_delta *d, int n)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n; i++) {
        if (strcmp(d[i].name, "mcpgate_metrics_dropped_total") == 0 && !d[i].labels[0])
            dropped += d[i].value;
        else
            add_locked(d[i].name, d[i].labels, d[i].value);
    }
    pthread_mutex_unlock(&lock);
}
