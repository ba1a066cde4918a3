/*
 * pages/admin.h - the HTML of the admin console: the overview with its
 * charts, the users, API keys, OAuth clients, policy rules and the audit
 * trail.
 *
 * Owns: markup, wording and the charts, drawn as inline SVG on the server
 * (no script: the console runs under the same Content-Security-Policy as
 * the account page). Every value is HTML-escaped; every form that changes
 * something carries the CSRF token and a Confirm box the server checks.
 * Must not touch: HTTP, the database (callers pass every value in).
 */
#ifndef MG_PAGES_ADMIN_H
#define MG_PAGES_ADMIN_H

#include "util/buf.h"

#define PAGES_ADMIN_HOURS 24

struct pages_admin_hour {
    char label[8]; /* "HH:00" */
    long long calls, errors;
};

struct pages_admin_bar {
    const char *label;
    double value;
};

struct pages_admin_latency {
    const char *backend;
    double p50_ms, p99_ms; /* upper bounds of the histogram buckets that hold them */
};

struct pages_admin_overview {
    const char *base, *username;
    struct pages_admin_hour hours[PAGES_ADMIN_HOURS]; /* oldest first */
    const struct pages_admin_bar *tools;              /* top tools, most called first */
    int n_tools;
    const struct pages_admin_latency *latency;
    int n_latency;
};

struct pages_admin_user {
    const char *username, *created, *groups;
    int disabled, admin;
};

struct pages_admin_users {
    const char *base, *csrf, *username;
    const char *notice; /* one line, may be NULL */
    const struct pages_admin_user *users;
    int n_users;
};

struct pages_admin_audit_row {
    const char *at, *user, *client_id, *tool, *outcome, *detail, *duration_ms;
};

struct pages_admin_audit {
    const char *base, *username;
    const char *f_user, *f_tool, *f_outcome, *f_since; /* the filters, may be NULL */
    const char *error;                                 /* a filter was refused, may be NULL */
    const struct pages_admin_audit_row *rows;
    int n_rows;
};

/* A console page that lists rows, each with a confirmed one-button action
 * (revoke, remove), and optionally the form that adds a policy rule. */
struct pages_admin_table {
    const char *base, *csrf, *username;
    const char *path;   /* the page's own path, e.g. "/admin/keys" (the nav marks it) */
    const char *title;  /* the h1 */
    const char *intro;  /* a sentence under it, may be NULL */
    const char *notice; /* one line, may be NULL */
    const char *id;     /* the table's id */
    const char *const *columns;
    int n_cols;
    const char *const *cells; /* n_rows * n_cols, row by row */
    int n_rows;
    const char *action;        /* the action's path, e.g. "/admin/keys/revoke"; NULL: none */
    const char *action_field;  /* the form field naming the row */
    const char *const *values; /* n_rows: each row's value of action_field */
    const char *action_label;  /* e.g. "Revoke" */
    int policy_form;           /* 1: the form adding a rule (POST /admin/policy/add) */
};

/* Each appends a whole HTML document to out. Returns 0, or -1 when out's
 * limit was reached. */
__attribute__((warn_unused_result)) int pages_admin_overview(struct buf *out,
                                                             const struct pages_admin_overview *p);
__attribute__((warn_unused_result)) int pages_admin_users(struct buf *out,
                                                          const struct pages_admin_users *p);
__attribute__((warn_unused_result)) int pages_admin_audit(struct buf *out,
                                                          const struct pages_admin_audit *p);
__attribute__((warn_unused_result)) int pages_admin_table(struct buf *out,
                                                          const struct pages_admin_table *p);

#endif
