/*
 * util/metrics.h - this process's counters, as deltas waiting to be merged.
 *
 * Owns: a fixed table of series (a metric name and its label set, in the
 * Prometheus text format's own spelling) and the amount each has changed
 * since it was last drained. Any layer counts here with one call; the
 * responder drains the table every few seconds into PostgreSQL
 * (store/metrics.h), where every process of every host adds its deltas to
 * the same rows, and /metrics (route/metrics.h) reads the sums. So a count
 * is the whole deployment's, whichever process answers the scrape.
 * Must not touch: SQL, HTTP. Thread-safe: one mutex, held for a table
 * lookup and an addition.
 *
 * A series is the metric name plus labels given as key/value pairs ending
 * with NULL, e.g.
 *   metrics_add("mcpgate_tool_calls_total", 1, "tool", t, "outcome", "ok", NULL);
 * Values are escaped as the text format requires (\\, \" and \n) and cut at
 * METRICS_VALUE_MAX bytes. When the table is full a new series is not kept:
 * mcpgate_metrics_dropped_total counts what was lost.
 */
#ifndef MG_UTIL_METRICS_H
#define MG_UTIL_METRICS_H

#include <stddef.h>

#define METRICS_NAME_MAX   72  /* bytes with the NUL */
#define METRICS_LABELS_MAX 440 /* the label text between the braces, with the NUL */
#define METRICS_VALUE_MAX  128 /* bytes of one label value kept */
#define METRICS_SERIES_MAX 2048

/* The call duration buckets, in seconds (mcpgate_tool_call_duration_seconds). */
#define METRICS_DURATION_BUCKETS 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
/* The audit rows per group commit (mcpgate_audit_batch_rows), up to its 256. */
#define METRICS_BATCH_BUCKETS 1, 2, 4, 8, 16, 64, 256

/* One series' change since the last drain. */
struct metrics_delta {
    char name[METRICS_NAME_MAX];
    char labels[METRICS_LABELS_MAX]; /* k="v",k2="v2" or "" */
    double value;
};

/* Adds delta to the series (a counter by a positive delta, a gauge either
 * way). The arguments after delta are label key/value pairs, then NULL; a
 * NULL value is written as "". Cannot fail. */
__attribute__((sentinel)) void metrics_add(const char *name, double delta, ...);

/* Observes value in histogram name: adds 1 to name_bucket{...,le="B"} for
 * the first of the n bounds (ascending) at or above value (le="+Inf" past
 * the last), value to name_sum and 1 to name_count. Buckets are kept per
 * bucket here, not cumulative (three series change, not n + 3): /metrics
 * renders the cumulative buckets the text format wants. Labels as
 * metrics_add(). Cannot fail. */
__attribute__((sentinel)) void metrics_observe(const char *name, double value, const double *bounds,
                                               int n, ...);

/* Moves every non-zero delta into a new array (*out, free() it; NULL when
 * there are none) and zeroes them. Returns how many. Cannot fail. */
int metrics_drain(struct metrics_delta **out);

/* Adds drained deltas back, after they could not be stored. Cannot fail. */
void metrics_restore(const struct metrics_delta *d, int n);

/* Writes value as a Prometheus label value (escaped, cut) into out (n
 * bytes). Exposed for the tests. Cannot fail. */
void metrics_label_value(char *out, size_t n, const char *value);

#endif
