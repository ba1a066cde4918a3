/*
 * pages/pages.h - the HTML of the sign-in, consent, account and error
 * pages, compiled into the binary.
 *
 * Owns: markup and wording. Every value from a request, the database or a
 * client's registration is HTML-escaped; the templates have no scripts, so
 * the pages run under a Content-Security-Policy without script-src.
 * Must not touch: HTTP headers, cookies, the database (callers pass every
 * value in).
 */
#ifndef MG_PAGES_PAGES_H
#define MG_PAGES_PAGES_H

#include <stddef.h>

#include "util/buf.h"

#define PAGES_MAX_ROWS 50

struct pages_field {
    const char *name;
    const char *value;
};

struct pages_login {
    const char *action;                  /* form target URL path */
    const char *csrf;                    /* the CSRF token */
    const char *return_to;               /* hidden field, may be NULL */
    const char *username;                /* pre-filled, may be NULL */
    const char *error;                   /* message to show, may be NULL */
    int local;                           /* 1: the user name and password form (local users) */
    const struct pages_field *providers; /* {name, href of its sign-in}, may be NULL */
    int n_providers;
};

struct pages_consent {
    const char *action;
    const char *csrf;
    const char *username;    /* signed-in user */
    const char *client_name; /* as the client registered it (unverified) */
    const char *client_id;
    const char *redirect_host;        /* where the browser will be sent */
    int localhost_only;               /* the client only redirects to this computer */
    int cimd;                         /* client_id is a metadata document URL */
    const struct pages_field *scopes; /* each requested scope: {name, what it allows} */
    int n_scopes;
    int offers_read_only;             /* write access asked: offer "read-only tools only" */
    const char *connector_title;      /* the connector the token is for, or NULL: every tool */
    const char *connector_path;       /* its endpoint ("/mcp/projects"), or NULL */
    const struct pages_field *hidden; /* the authorization request, re-sent with the form */
    int n_hidden;
};

struct pages_app {
    const char *client_id, *name, *scope, *last_used, *since;
};

struct pages_key {
    long long id;
    const char *name, *prefix, *scope, *created, *last_used;
};

/* A per-user credential slot of a backend (tools/credentials.h). */
struct pages_cred {
    const char *backend, *slot;
    const char *description; /* from the backend file, may be NULL */
    const char *linked_at;   /* when the user linked a value, NULL when not linked */
};

/* An account at an identity provider whose tokens are kept for the user. */
struct pages_linked {
    const char *provider; /* the idp name */
    const char *since;    /* when signed in or last renewed; NULL: not linked */
    const char *connect;  /* not linked: the link that connects it, else NULL */
};

struct pages_account {
    const char *base; /* base path for form actions ("" at the root) */
    const char *csrf;
    const char *username;
    const char *new_key; /* a key created just now, shown once; NULL otherwise */
    const char *notice;  /* one-line message, may be NULL */
    const struct pages_app *apps;
    int n_apps;
    const struct pages_key *keys;
    int n_keys;
    const struct pages_cred *creds; /* none: the section is left out */
    int n_creds;
    int creds_enabled;                 /* 0: no credential_key is configured, linking is off */
    const struct pages_linked *linked; /* none: the section is left out */
    int n_linked;
};

/* Each appends a whole HTML document to out. Returns 0, or -1 when out's
 * limit was reached. */
__attribute__((warn_unused_result)) int pages_login(struct buf *out, const struct pages_login *p);
__attribute__((warn_unused_result)) int pages_consent(struct buf *out,
                                                      const struct pages_consent *p);
__attribute__((warn_unused_result)) int pages_account(struct buf *out,
                                                      const struct pages_account *p);
__attribute__((warn_unused_result)) int pages_error(struct buf *out, const char *title,
                                                    const char *message);

/* Appends a whole HTML document in the shared (wide) layout around
 * body_html, markup the caller built with every value escaped. Returns 0 or
 * -1. */
__attribute__((warn_unused_result)) int pages_layout(struct buf *out, const char *title,
                                                     const char *body_html);

/* Appends s with & < > " ' escaped. Returns 0 or -1. */
__attribute__((warn_unused_result)) int pages_escape(struct buf *out, const char *s);

/* Appends open, text escaped and close (open and close: markup, taken as
 * they are), or nothing when text is NULL: a notice, an error or an intro
 * shown only when there is one. Returns 0 or -1. */
__attribute__((warn_unused_result)) int pages_wrap(struct buf *out, const char *open,
                                                   const char *text, const char *close);

#endif
