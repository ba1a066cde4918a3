/*
 * cli/doctor_rs.c - mcpgate doctor's checks of the external authorization
 * server of auth = resource (docs/resource-server.md): its discovery
 * document names rs_issuer (rs-issuer), its key set holds signing keys
 * mcpgate can use (rs-keys), and rs_audience lists the resource the
 * protected resource metadata publish (rs-audience), and its metadata list
 * the token exchange grant that backends' exchange slots use
 * (rs-token-exchange, tools/exchange.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli/doctor.h"
#include "tools/exchange.h"
#include "tools/probe.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/jwk.h"

/* GET url as a JSON object into *out (the caller puts it). Returns 0, or
 * -1 with a reason in err. */
static int get_object(struct doctor *d, const char *url, struct json_object **out,
                      struct mg_error *err)
{
    const char *headers[] = {"Accept: application/json", NULL};
    struct tool_probe_req req = {
        .url = url, .headers = headers, .timeout_ms = d->timeout_ms, .insecure = d->insecure};
    struct tool_probe_res r;
    int rc = tool_probe_run(&req, &r);
    *out = NULL;
    if (rc < 0 || r.status != 200) {
        mg_error_msg(err, "GET %.300s: %.150s%sstatus %ld", url, r.error, r.error[0] ? "; " : "",
                     r.status);
        rc = -1;
    } else if (json_parse_strict(buf_str(&r.body), r.body.len, out, NULL) < 0 ||
               !json_object_is_type(*out, json_type_object)) {
        mg_error_msg(err, "GET %.300s: 200 but not a JSON object", url);
        json_object_put(*out);
        *out = NULL;
        rc = -1;
    }
    tool_probe_res_free(&r);
    return rc;
}

/* rs-token-exchange: the discovery document doc lists the token exchange
 * grant (RFC 8693) in grant_types_supported, and names a token endpoint. */
static void check_exchange(struct doctor *d, struct json_object *doc)
{
    struct json_object *grants = json_get(doc, "grant_types_supported", json_type_array);
    int listed = 0;
    for (size_t i = 0; grants && i < json_object_array_length(grants); i++) {
        const char *g = json_object_get_string(json_object_array_get_idx(grants, i));
        listed |= g && strcmp(g, TOOL_EXCHANGE_GRANT) == 0;
    }
    if (listed && json_get_string(doc, "token_endpoint")) {
        doctor_add_check(d, "rs-token-exchange", CHECK_PASS,
                         "grant_types_supported lists token exchange (RFC 8693) for exchange "
                         "slots");
        return;
    }
    struct check *c = doctor_add_check(
        d, "rs-token-exchange", CHECK_WARN,
        "the issuer's metadata %s: backends' exchange slots will be refused",
        listed ? "name no token_endpoint" : "do not list token exchange in grant_types_supported");
    c->fix_any = "only for backends with exchange slots (docs/backends.md): enable OAuth 2.0 "
                 "Token Exchange (RFC 8693) at the authorization server, or use other "
                 "credentials for those backends";
}

/* The issuer's discovery document (it must name issuer) and its key set
 * (jwks: FAIL without usable keys; else a missing jwks_uri only WARNs),
 * its introspection endpoint when introspect, and token exchange when
 * exchange. */
static void check_issuer(struct doctor *d, const char *issuer, int jwks, int introspect,
                         int exchange)
{
    char url[700];
    struct mg_error err = MG_ERROR_INIT;
    size_t il = strlen(issuer);
    snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration",
             (int)(il && issuer[il - 1] == '/' ? il - 1 : il), issuer);
    struct json_object *doc = NULL, *set = NULL;
    if (get_object(d, url, &doc, &err) < 0) {
        struct check *c = doctor_add_check(d, "rs-issuer", CHECK_FAIL, "%s", err.msg);
        c->fix_any = "check rs_issuer in mcpgate.conf, and that this host reaches the "
                     "authorization server (DNS, firewall, proxy)";
        doctor_add_check(d, "rs-keys", CHECK_SKIP, "no discovery document");
        return;
    }
    const char *iss = json_get_string(doc, "issuer");
    const char *jwks_uri = json_get_string(doc, "jwks_uri");
    const char *intro = json_get_string(doc, "introspection_endpoint");
    if (!iss || strcmp(iss, issuer) != 0) {
        struct check *c = doctor_add_check(
            d, "rs-issuer", CHECK_FAIL, "%.300s names the issuer \"%.200s\"", url, iss ? iss : "");
        c->fix_any = "rs_issuer must be the authorization server's issuer identifier exactly "
                     "(its discovery document's \"issuer\", as its tokens' \"iss\")";
    } else if (introspect && !intro) {
        doctor_add_check(d, "rs-issuer", CHECK_FAIL,
                         "%.300s: issuer matches, no introspection_endpoint", url);
    } else {
        doctor_add_check(d, "rs-issuer", CHECK_PASS, "%.300s: issuer matches%s%.300s", url,
                         intro ? ", introspection at " : "", intro ? intro : "");
    }
    if (!jwks_uri) {
        doctor_add_check(d, "rs-keys", jwks ? CHECK_FAIL : CHECK_WARN,
                         "the discovery document names no jwks_uri: JWT access tokens cannot be "
                         "checked, only introspection works");
    } else if (get_object(d, jwks_uri, &set, &err) < 0) {
        doctor_add_check(d, "rs-keys", CHECK_FAIL, "%s", err.msg);
    } else {
        struct mg_error jerr = MG_ERROR_INIT;
        struct jwk_set *keys = jwk_set_parse(set, &jerr);
        int n = keys ? jwk_set_count(keys) : 0;
        if (n == 0)
            doctor_add_check(d, "rs-keys", jwks ? CHECK_FAIL : CHECK_WARN,
                             "%.300s holds no usable signing key (%s)", jwks_uri,
                             jerr.msg[0] ? jerr.msg
                                         : "RS256, PS256, ES256 or EdDSA public keys are needed");
        else
            doctor_add_check(d, "rs-keys", CHECK_PASS, "%.300s: %d signing key%s", jwks_uri, n,
                             n == 1 ? "" : "s");
        jwk_set_free(keys);
    }
    if (exchange)
        check_exchange(d, doc);
    json_object_put(set);
    json_object_put(doc);
}

void doctor_check_external_as(struct doctor *d, const char *prm)
{
    struct json_object *doc = NULL;
    struct mg_error err = MG_ERROR_INIT;
    if (get_object(d, prm, &doc, &err) < 0) {
        doctor_add_check(d, "rs-issuer", CHECK_SKIP, "no protected resource metadata");
        return;
    }
    struct json_object *as = json_get(doc, "authorization_servers", json_type_array);
    struct json_object *first = as ? json_object_array_get_idx(as, 0) : NULL;
    const char *issuer = first && json_object_is_type(first, json_type_string)
                             ? json_object_get_string(first)
                             : NULL;
    if (!issuer)
        doctor_add_check(d, "rs-issuer", CHECK_FAIL,
                         "the protected resource metadata name no authorization server");
    else
        check_issuer(d, issuer, 0, 0, 0);
    json_object_put(doc);
}

void doctor_check_rs(struct doctor *d, const struct mg_config *cfg)
{
    check_issuer(d, cfg->rs.issuer, cfg->rs.introspect != 1, cfg->rs.introspect != 0, 1);
    char want[600];
    snprintf(want, sizeof want, "%s/mcp", cfg->base_url);
    int has = cfg->rs.n_audiences == 0; /* the default (config_finish() is not run here) */
    for (int i = 0; i < cfg->rs.n_audiences; i++)
        has |= strcmp(cfg->rs.audiences[i], want) == 0;
    if (has) {
        doctor_add_check(d, "rs-audience", CHECK_PASS,
                         "tokens must name %.300s in aud (the resource the metadata publish)",
                         want);
    } else {
        struct check *c =
            doctor_add_check(d, "rs-audience", CHECK_WARN,
                             "rs_audience does not list %.300s, the resource the metadata "
                             "publish: tokens MCP clients ask for it are refused",
                             want);
        c->fix_any = "add base_url/mcp to rs_audience, or make the authorization server put one "
                     "of rs_audience in aud for this resource";
    }
}
