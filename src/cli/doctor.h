/*
 * cli/doctor.h - internal to mcpgate doctor (cli/doctor*.c): the checks
 * and their report. Not for other modules.
 */
#ifndef MG_CLI_DOCTOR_H
#define MG_CLI_DOCTOR_H

#include <json-c/json.h>

#include "util/config.h"

enum check_status { CHECK_PASS, CHECK_WARN, CHECK_FAIL, CHECK_SKIP };

/* Which web server the Server header names; the fixes shown follow it. */
enum front_end { FE_UNKNOWN, FE_APACHE, FE_LIGHTTPD };

#define MAX_CHECKS                                                                                 \
    (18 + MG_MAX_CONNECTORS + 3 * MG_MAX_IDPS +                                                    \
     5) /* the live checks, the tool surface's, one per connector, three per identity provider     \
           and the external authorization server's (auth = resource) */
#define IDP_SKEW_FAIL_S 60 /* oauth/idp.c refuses ID tokens further off */
#define IDP_SKEW_WARN_S 5
#define TOOLS_ADVISED   40 /* clients degrade with more tools listed at once */
#define TOOL_NAME_SHORT 64 /* longest tool name every client takes whole */

struct check {
    const char *name;
    enum check_status status;
    char seen[512];
    /* fixes, by front end; NULL where there is none to give */
    const char *fix_fcgid, *fix_proxy, *fix_lighttpd, *fix_any;
    /* for a customer of a shared host: what they can set themselves (in
     * .htaccess or mcpgate.conf), and what to ask the host for */
    const char *fix_customer, *ask_host;
    char fix_any_buf[600];
    char name_buf[64]; /* the name, when made at run time */
};

struct doctor {
    char url[1024];    /* the MCP endpoint, as given (no trailing slash) */
    char base[1024];   /* url without its final /mcp: what base_url should be */
    char origin[1024]; /* scheme://host[:port] */
    const char *path;  /* base's path part, borrowed from base ("" for the root) */
    long timeout_ms;
    int insecure;
    enum front_end fe;
    char server[128];
    struct check checks[MAX_CHECKS];
    int n_checks;
    struct json_object *diag; /* the first event of /mcp/doctor, or NULL */
};

/* Adds a check with what was seen (printf format); returns it, for its
 * fixes. */
struct check *doctor_add_check(struct doctor *d, const char *name, enum check_status status,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The tool surface of --tools: the REST backends of cfg->backends_dir, the
 * builtin tools and each connector's selection, as a client will see
 * them. */
void doctor_check_tools(struct doctor *d, const struct mg_config *cfg);

/* --idp: each identity provider of cfg (discovery, the redirect URI to
 * register, its clock). */
void doctor_check_idps(struct doctor *d, const struct mg_config *cfg);

/* With auth = resource, under --idp: the authorization server of
 * cfg->rs (rs-issuer, rs-keys) and the audiences tokens must carry
 * (rs-audience). */
void doctor_check_rs(struct doctor *d, const struct mg_config *cfg);

/* With auth = resource, under --url: the authorization server the
 * protected resource metadata at prm name (rs-issuer, rs-keys). */
void doctor_check_external_as(struct doctor *d, const char *prm);

#endif
