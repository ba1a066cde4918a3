/*
 * tests/unit/test_metrics.c - the per-process table of util/metrics.h:
 * label values escaped and cut, additions to one series merged, histogram
 * buckets kept per bucket, a drain that empties and a restore that puts back,
 * concurrent additions not lost, and a full table counted as dropped.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/metrics.h"

/* The drained value of name{labels}, or -1 when absent. */
static double find(const struct metrics_delta *d, int n, const char *name, const char *labels)
{
    for (int i = 0; i < n; i++)
        if (strcmp(d[i].name, name) == 0 && strcmp(d[i].labels, labels) == 0)
            return d[i].value;
    return -1;
}

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        metrics_add("t_concurrent_total", 1, "k", "v", NULL);
    return NULL;
}

int main(void)
{
    char v[300];
    metrics_label_value(v, sizeof v, "a\"b\\c\nd\x01");
    is_str(v, "a\\\"b\\\\c\\nd?", "label value: quote, backslash, newline escaped; control ?");
    char longv[400];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    metrics_label_value(v, sizeof v, longv);
    is_int((long long)strlen(v), METRICS_VALUE_MAX, "a long value is cut");

    metrics_add("t_calls_total", 1, "tool", "echo", "outcome", "ok", NULL);
    metrics_add("t_calls_total", 2, "tool", "echo", "outcome", "ok", NULL);
    metrics_add("t_calls_total", 1, "tool", "echo", "outcome", "tool_error", NULL);
    metrics_add("t_gauge", 1, NULL);
    metrics_add("t_gauge", -1, NULL);
    static const double bounds[] = {0.1, 1, 10};
    metrics_observe("t_seconds", 0.5, bounds, 3, "backend", "b", NULL);
    metrics_observe("t_seconds", 20, bounds, 3, "backend", "b", NULL);

    struct metrics_delta *d;
    int n = metrics_drain(&d);
    ok(find(d, n, "t_calls_total", "tool=\"echo\",outcome=\"ok\"") == 3, "one series adds up");
    ok(find(d, n, "t_calls_total", "tool=\"echo\",outcome=\"tool_error\"") == 1,
       "another label value is another series");
    ok(find(d, n, "t_gauge", "") == -1, "a series back at zero is not drained");
    ok(find(d, n, "t_seconds_bucket", "backend=\"b\",le=\"0.1\"") == -1 &&
           find(d, n, "t_seconds_bucket", "backend=\"b\",le=\"1\"") == 1 &&
           find(d, n, "t_seconds_bucket", "backend=\"b\",le=\"10\"") == -1 &&
           find(d, n, "t_seconds_bucket", "backend=\"b\",le=\"+Inf\"") == 1,
       "each observation counts in its own bucket only (+Inf past the last bound)");
    ok(find(d, n, "t_seconds_sum", "backend=\"b\"") == 20.5 &&
           find(d, n, "t_seconds_count", "backend=\"b\"") == 2,
       "histogram _sum and _count");
    is_int(n, 6, "six series changed (two counters, two buckets, _sum, _count)");

    metrics_restore(d, n);
    free(d);
    metrics_add("t_calls_total", 1, "tool", "echo", "outcome", "ok", NULL);
    n = metrics_drain(&d);
    ok(find(d, n, "t_calls_total", "tool=\"echo\",outcome=\"ok\"") == 4,
       "restored deltas and new ones add up");
    free(d);
    n = metrics_drain(&d);
    ok(n == 0 && d == NULL, "a second drain finds nothing");

    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, adder, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    n = metrics_drain(&d);
    ok(find(d, n, "t_concurrent_total", "k=\"v\"") == 40000, "no concurrent addition is lost");
    free(d);

    char name[32];
    for (int i = 0; i < METRICS_SERIES_MAX + 10; i++) {
        snprintf(name, sizeof name, "s%d", i);
        metrics_add("t_many_total", 1, "i", name, NULL);
    }
    n = metrics_drain(&d);
    ok(find(d, n, "mcpgate_metrics_dropped_total", "") >= 10,
       "a full table counts what it could not keep");
    free(d);
    return tap_done();
}
