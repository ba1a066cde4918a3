/*
 * oauth/admin.h - what the admin console's files share (oauth/admin.c,
 * oauth/admin_backends.c): the admin check, and the per-backend figures
 * read from the deployment's counters (store/metrics.h). Not for use
 * outside src/oauth/.
 */
#ifndef MG_OAUTH_ADMIN_H
#define MG_OAUTH_ADMIN_H

#include "oauth/oauth.h"
#include "store/users.h"

#define OAUTH_ADMIN_BACKENDS 32
#define OAUTH_ADMIN_BUCKETS  16

/* One backend's counters: its call duration histogram and its calls. */
struct oauth_admin_backend_stats {
    char backend[64];
    double le[OAUTH_ADMIN_BUCKETS], count[OAUTH_ADMIN_BUCKETS]; /* per bucket (le +Inf: 1e300) */
    int n;
    double ok, errors; /* mcpgate_tool_calls_total: ok; tool_error or unavailable */
};

struct oauth_admin_stats {
    struct oauth_admin_backend_stats b[OAUTH_ADMIN_BACKENDS];
    int n;
};

/* The signed-in admin into *u. Returns 1, or 0 with the answer (303 to the
 * sign-in page and back to page, 403, 503) in ctx->res. */
int oauth_admin_require(struct oauth_ctx *ctx, struct store_user *u, const char *page);

/* 1 for GET and HEAD; otherwise ctx->res holds the 405 and it returns 0. */
int oauth_admin_get_only(struct oauth_ctx *ctx);

/* A store_metrics_sum() callback filling arg (struct oauth_admin_stats,
 * zeroed first) from the duration buckets and call counts per backend;
 * backends past OAUTH_ADMIN_BACKENDS are left out. Cannot fail. */
void oauth_admin_stats_series(const char *name, const char *labels, double value, void *arg);

/* The upper bound, in ms, of the bucket holding quantile q (the largest
 * finite bound when it is in +Inf); 0 without calls. Cannot fail. */
double oauth_admin_quantile_ms(const struct oauth_admin_backend_stats *s, double q);

#endif
