/*
 * oauth/metadata.c - RFC 9728 protected resource metadata and RFC 8414
 * authorization server metadata.
 *
 * The resource is base_url + "/mcp", or base_url + "/mcp/NAME" for a
 * connector (its own document, named by its title); the issuer is base_url. Both documents
 * are answered at the root well-known paths and with the path of base_url
 * inserted (RFC 9728 section 3.1, RFC 8414 section 3.1); the router maps
 * those paths here. With auth = resource the protected resource metadata
 * name the external authorization server (rs_issuer) and its scopes
 * (rs_scopes_read, rs_scopes_write), and mcpgate publishes no authorization
 * server metadata (the router answers 404).
 */
#include <string.h>

#include "oauth/internal.h"
#include "util/json.h"

static struct json_object *strings(const char *const *v)
{
    struct json_object *a = json_object_new_array();
    for (; *v; v++)
        json_object_array_add(a, json_object_new_string(*v));
    return a;
}

static const char *const scopes[] = {OAUTH_SCOPE_READ, OAUTH_SCOPE_WRITE, NULL};

static void add_url(struct json_object *o, const struct mg_config *cfg, const char *key,
                    const char *path)
{
    char url[1024];
    oauth_url(cfg, path, url, sizeof url);
    json_add(o, key, json_object_new_string(url));
}

void oauth_handle_resource_metadata(struct oauth_ctx *ctx)
{
    const struct mg_config *cfg = ctx->cfg;
    char resource[1024];
    oauth_endpoint_resource_uri(cfg, ctx->connector, resource, sizeof resource);
    struct json_object *o = json_object_new_object();
    json_add(o, "resource", json_object_new_string(resource));
    if (cfg->auth == MG_AUTH_RESOURCE) {
        const char *issuer[] = {cfg->rs.issuer, NULL};
        json_add(o, "authorization_servers", strings(issuer));
        struct json_object *a = json_object_new_array();
        const char *lists[] = {cfg->rs.scopes_read, cfg->rs.scopes_write};
        for (int k = 0; k < 2; k++)
            for (const char *s = lists[k]; *s;) {
                size_t w = strcspn(s, " ");
                json_object_array_add(a, json_object_new_string_len(s, (int)w));
                s += w;
                s += strspn(s, " ");
            }
        json_add(o, "scopes_supported", a);
    } else {
        const char *issuer[] = {cfg->base_url, NULL};
        json_add(o, "authorization_servers", strings(issuer));
        json_add(o, "scopes_supported", strings(scopes));
    }
    const char *methods[] = {"header", NULL};
    json_add(o, "bearer_methods_supported", strings(methods));
    json_add(o, "resource_name",
             json_object_new_string(ctx->connector ? ctx->connector->title : "mcpgate"));
    oauth_reply_json(ctx->res, 200, o);
    oauth_header(ctx->res, "Access-Control-Allow-Origin", "*");
}

void oauth_handle_as_metadata(struct oauth_ctx *ctx)
{
    const struct mg_config *cfg = ctx->cfg;
    struct json_object *o = json_object_new_object();
    json_add(o, "issuer", json_object_new_string(cfg->base_url));
    add_url(o, cfg, "authorization_endpoint", "/authorize");
    add_url(o, cfg, "token_endpoint", "/token");
    add_url(o, cfg, "registration_endpoint", "/register");
    add_url(o, cfg, "revocation_endpoint", "/revoke");
    add_url(o, cfg, "introspection_endpoint", "/introspect");
    const char *response_types[] = {"code", NULL};
    json_add(o, "response_types_supported", strings(response_types));
    const char *response_modes[] = {"query", NULL};
    json_add(o, "response_modes_supported", strings(response_modes));
    const char *grants[] = {"authorization_code", "refresh_token", NULL};
    json_add(o, "grant_types_supported", strings(grants));
    const char *pkce[] = {"S256", NULL};
    json_add(o, "code_challenge_methods_supported", strings(pkce));
    const char *auth[] = {"none", "client_secret_post", "client_secret_basic", NULL};
    json_add(o, "token_endpoint_auth_methods_supported", strings(auth));
    json_add(o, "revocation_endpoint_auth_methods_supported", strings(auth));
    const char *introspect_auth[] = {"client_secret_post", "client_secret_basic", NULL};
    json_add(o, "introspection_endpoint_auth_methods_supported", strings(introspect_auth));
    json_add(o, "scopes_supported", strings(scopes));
    json_add(o, "client_id_metadata_document_supported", json_object_new_boolean(1));
    json_add(o, "authorization_response_iss_parameter_supported", json_object_new_boolean(1));
    oauth_reply_json(ctx->res, 200, o);
    oauth_header(ctx->res, "Access-Control-Allow-Origin", "*");
}
