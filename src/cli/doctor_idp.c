/*
 * cli/doctor_idp.c - mcpgate doctor --idp: each identity provider of the
 * configuration, checked over HTTP (tools/probe.h): its discovery document
 * (or explicit endpoints), the redirect URI to register with it, and its
 * clock against ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/doctor.h"
#include "tools/probe.h"
#include "util/buf.h"
#include "util/json.h"

/* --- the identity providers (--idp) ------------------------------------ */

/* A check named PREFIX-NAME for provider p. */
static struct check *idp_check(struct doctor *d, const char *prefix, const struct mg_idp *p,
                               enum check_status status, const char *seen)
{
    struct check *c = doctor_add_check(d, "", status, "%s", seen);
    snprintf(c->name_buf, sizeof c->name_buf, "%s-%s", prefix, p->name);
    c->name = c->name_buf;
    return c;
}

/* Seconds since the epoch of an HTTP Date header (RFC 9110 IMF-fixdate),
 * or -1. */
static long long http_date(const char *v)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return -1;
    return (long long)timegm(&tm);
}

/* The clock check of p from the Date header of res, fetched between t0_s
 * and t1_s. */
static void idp_clock(struct doctor *d, const struct mg_idp *p, const struct tool_probe_res *res,
                      long long t0_s, long long t1_s)
{
    char v[128], seen[200];
    long long at = tool_probe_header(res, "Date", v, sizeof v) ? http_date(v) : -1;
    if (at < 0) {
        idp_check(d, "idp-clock", p, CHECK_SKIP, "the provider sent no Date header");
        return;
    }
    /* the stamp should fall between our send and receipt (whole seconds) */
    long long skew = at < t0_s ? at - t0_s : at > t1_s + 1 ? at - t1_s - 1 : 0;
    long long mag = skew < 0 ? -skew : skew;
    snprintf(seen, sizeof seen, "the provider's clock %+lld s from ours", skew);
    enum check_status st = mag > IDP_SKEW_FAIL_S   ? CHECK_FAIL
                           : mag > IDP_SKEW_WARN_S ? CHECK_WARN
                                                   : CHECK_PASS;
    struct check *c = idp_check(d, "idp-clock", p, st, seen);
    if (st != CHECK_PASS)
        c->fix_any = "synchronize this host's clock (systemd-timesyncd or chrony): ID tokens "
                     "more than 60 s off are refused";
}

/* Discovery (or the explicit endpoints), the redirect URI to register and
 * the clock of provider p. */
static void check_idp(struct doctor *d, const struct mg_config *cfg, const struct mg_idp *p)
{
    char url[700], seen[512];
    size_t il = strlen(p->issuer);
    int explicit = p->authorization_endpoint[0] != '\0';
    if (explicit)
        snprintf(url, sizeof url, "%s", p->authorization_endpoint);
    else
        snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration",
                 (int)(il && p->issuer[il - 1] == '/' ? il - 1 : il), p->issuer);
    struct tool_probe_req req = {.url = url, .timeout_ms = d->timeout_ms, .insecure = d->insecure};
    struct tool_probe_res res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    int rc = tool_probe_run(&req, &res);
    clock_gettime(CLOCK_REALTIME, &t1);
    struct json_object *doc = NULL;
    struct check *c;
    if (rc < 0) {
        snprintf(seen, sizeof seen, "%.300s: %.150s", url, res.error);
        c = idp_check(d, "idp-discovery", p, CHECK_FAIL, seen);
        c->fix_any = "check issuer= (or the endpoints) on the idp line, and that this host "
                     "reaches the provider (DNS, firewall, proxy)";
    } else if (explicit) {
        snprintf(seen, sizeof seen, "explicit endpoints (no discovery); %.300s answers HTTP %ld",
                 url, res.status);
        idp_check(d, "idp-discovery", p, res.status < 500 ? CHECK_PASS : CHECK_FAIL, seen);
    } else {
        const char *why = NULL;
        if (res.status == 200)
            doc = json_tokener_parse(buf_str(&res.body));
        const char *iss = doc ? json_get_string(doc, "issuer") : NULL;
        if (!doc || !json_object_is_type(doc, json_type_object))
            why = "no JSON object";
        else if (!iss || strcmp(iss, p->issuer) != 0)
            why = "it names another issuer";
        else if (!json_get_string(doc, "authorization_endpoint") ||
                 !json_get_string(doc, "token_endpoint") ||
                 (p->identity == MG_IDP_ID_TOKEN && !json_get_string(doc, "jwks_uri")))
            why = "it lacks authorization_endpoint, token_endpoint or jwks_uri";
        if (why) {
            snprintf(seen, sizeof seen, "%.300s: HTTP %ld, %s", url, res.status, why);
            c = idp_check(d, "idp-discovery", p, CHECK_FAIL, seen);
            c->fix_any = "issuer= must be the provider's issuer identifier exactly (its "
                         "discovery document's \"issuer\")";
        } else {
            snprintf(
                seen, sizeof seen, "%.300s: issuer matches%s", url,
                json_get(doc, "authorization_response_iss_parameter_supported", json_type_boolean)
                    ? ", sends iss (RFC 9207)"
                    : "");
            idp_check(d, "idp-discovery", p, CHECK_PASS, seen);
        }
    }
    char cb[600];
    snprintf(cb, sizeof cb, "%s/login/callback", cfg->base_url);
    snprintf(seen, sizeof seen, "register %.250s at the provider for client_id %.150s%s", cb,
             p->client_id, p->client_secret[0] ? "" : " (a public client: PKCE, no secret)");
    idp_check(d, "idp-redirect", p, CHECK_PASS, seen);
    if (rc < 0)
        idp_check(d, "idp-clock", p, CHECK_SKIP, "the provider did not answer");
    else
        idp_clock(d, p, &res, (long long)t0.tv_sec, (long long)t1.tv_sec);
    json_object_put(doc);
    tool_probe_res_free(&res);
}

void doctor_check_idps(struct doctor *d, const struct mg_config *cfg)
{
    if (cfg->auth == MG_AUTH_RESOURCE)
        doctor_check_rs(d, cfg);
    if (cfg->n_idps == 0)
        doctor_add_check(d, "idp", CHECK_SKIP, "no idp line in the configuration");
    for (int i = 0; i < cfg->n_idps; i++)
        check_idp(d, cfg, &cfg->idps[i]);
}
