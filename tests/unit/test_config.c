/*
 * tests/unit/test_config.c - the configuration file.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util/config.h"

static char path[64];

static int load_text(struct mg_config *cfg, const char *text, struct mg_error *err)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    config_defaults(cfg);
    if (config_load(cfg, path, err) < 0)
        return -1;
    return config_finish(cfg, err);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/mcpgate-test-config.%ld", (long)getpid());
    struct mg_config cfg;
    struct mg_error err = MG_ERROR_INIT;

    int rc = load_text(&cfg,
                       "# comment\n\n"
                       "base_url = https://MCP.Example.org:443/gw/\n"
                       "database = \"host=/run/pg dbname=mcpgate\"\n"
                       "threads = 8\n"
                       "log_level = debug\n"
                       "auth = none\n"
                       "max_body_bytes = 2048\n"
                       "session_ttl_s = 60\n"
                       "allowed_origins = https://chatgpt.com, https://claude.ai\n",
                       &err);
    ok(rc == 0, "a full config loads");
    if (rc)
        printf("# %s\n", err.msg);
    is_str(cfg.base_url, "https://MCP.Example.org:443/gw", "trailing slash dropped");
    is_str(cfg.base_origin, "https://mcp.example.org", "origin lowercased, default port dropped");
    is_str(cfg.base_path, "/gw", "base path derived");
    is_str(cfg.database, "host=/run/pg dbname=mcpgate", "quoted value unquoted");
    is_int(cfg.threads, 8, "threads");
    is_int(cfg.log_level, LOG_LEVEL_DEBUG, "log level");
    is_int((long long)cfg.max_body_bytes, 2048, "max_body_bytes");
    is_int(cfg.session_ttl_s, 60, "session_ttl_s");
    is_int(cfg.n_origins, 2, "two extra origins");
    ok(config_origin_allowed(&cfg, "https://mcp.example.org"), "own origin allowed");
    ok(config_origin_allowed(&cfg, "https://claude.ai"), "listed origin allowed");
    ok(!config_origin_allowed(&cfg, "https://evil.example.com"), "foreign origin refused");
    ok(!config_origin_allowed(&cfg, "null"), "opaque origin refused");

    rc = load_text(&cfg, "base_url = http://127.0.0.1:8080\ndatabase = dbname=x\n", &err);
    ok(rc == 0 && cfg.threads == 4 && cfg.max_body_bytes == 1048576 && cfg.session_ttl_s == 86400 &&
           cfg.auth == MG_AUTH_OAUTH,
       "defaults apply (auth = oauth)");
    is_str(cfg.base_origin, "http://127.0.0.1:8080", "non-default port kept");
    is_str(cfg.base_path, "", "root base path is empty");

    rc = load_text(&cfg,
                   "base_url = https://mcp.example.org/gw\ndatabase = d\nauth = resource\n"
                   "rs_issuer = https://id.example.org/realms/corp\n"
                   "rs_scopes_read = corp.read, corp.list\nrs_scopes_write = corp.write\n",
                   &err);
    ok(rc == 0 && cfg.auth == MG_AUTH_RESOURCE && cfg.rs.n_audiences == 1 &&
           cfg.rs.introspect == 0 && cfg.rs.cache_max_s == 300 && cfg.rs.refetch_s == 60,
       "auth = resource with its defaults");
    is_str(cfg.rs.audiences[0], "https://mcp.example.org/gw/mcp",
           "rs_audience defaults to base_url/mcp");
    is_str(cfg.rs.scopes_read, "corp.read corp.list", "rs_scopes_read: a space-separated list");
    is_str(cfg.rs.name, "rs", "rs_name defaults to rs");
    rc = load_text(&cfg,
                   "base_url = https://x\ndatabase = d\nauth = resource\nrs_issuer = https://i\n"
                   "rs_audience = https://x/mcp, api://mcp\n",
                   &err);
    ok(rc == 0 && cfg.rs.n_audiences == 2 && strcmp(cfg.rs.audiences[1], "api://mcp") == 0,
       "rs_audience: a list");

    struct {
        const char *text, *want;
    } bad[] = {
        {"base_url = https://x\ndatabase = d\nthreds = 3\n", "unknown setting \"threds\""},
        {"base_url = https://x\ndatabase = d\nthreads = 0\n", "threads must be"},
        {"base_url = https://x\ndatabase = d\nthreads = 4x\n", "threads must be"},
        {"base_url = https://x\ndatabase = d\nlog_level = loud\n", "log_level must be"},
        {"base_url = https://x\ndatabase = d\nauth = basic\n",
         "auth must be oauth, resource or none"},
        {"base_url = https://x\ndatabase = d\nauth = resource\n",
         "auth = resource needs rs_issuer"},
        {"base_url = https://x\ndatabase = d\nauth = resource\nrs_issuer = http://i\n",
         "rs_issuer must be an https URL"},
        {"base_url = https://x\ndatabase = d\nrs_issuer = ftp://i\n", "rs_issuer must be"},
        {"base_url = https://x\ndatabase = d\nrs_name = Corp\n", "rs_name must be"},
        {"base_url = https://x\ndatabase = d\nrs_scopes_read = a;b\n", "rs_scopes_read must be"},
        {"base_url = https://x\ndatabase = d\nrs_validation = maybe\n", "rs_validation must be"},
        {"base_url = https://x\ndatabase = d\nrs_colour = red\n", "unknown setting \"rs_colour\""},
        {"base_url = https://x\ndatabase = d\nrs_jwks_refetch_s = 0\n",
         "rs_jwks_refetch_s must be"},
        {"base_url = https://x\ndatabase = d\nidp_jwks_refetch_s = 3601\n",
         "idp_jwks_refetch_s must be from 1 to 3600 seconds"},
        {"base_url = https://x\ndatabase = d\nauth = resource\nrs_issuer = https://i\n"
         "rs_validation = introspection\n",
         "needs rs_introspection_client_id"},
        {"base_url = https://x\ndatabase = d\nrs_introspection_client_secret_file = "
         "/nonexistent/s\n",
         "rs_introspection_client_secret_file: could not open /nonexistent/s"},
        {"base_url = https://x\ndatabase = d\nrefresh_grace_s = 61\n", "refresh_grace_s must be"},
        {"base_url = https://x\ndatabase = d\ncimd_allow_private = 1\n",
         "cimd_allow_private must be"},
        {"base_url = https://x\ndatabase = d\nmax_body_bytes = 10\n", "max_body_bytes must be"},
        {"base_url = https://x\ndatabase = d\njust words\n", "expected \"key = value\""},
        {"database = d\n", "base_url is not set"},
        {"base_url = ftp://x\ndatabase = d\n", "base_url must be an absolute"},
        {"base_url = https://x/?a=b\ndatabase = d\n", "base_url must be an absolute"},
        {"base_url = https://x\n", "database is not set"},
        {"base_url = https://x\ndatabase = d\nidp = Corp issuer=https://i client_id=c\n",
         "first word must be the provider's name"},
        {"base_url = https://x\ndatabase = d\nidp = corp client_id=c\n", "issuer= is required"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i\n",
         "client_id= is required"},
        {"base_url = https://x\ndatabase = d\nidp = corp client_id=c "
         "authorization_endpoint=https://i/a\n",
         "authorization_endpoint= and token_endpoint= go together"},
        {"base_url = https://x\ndatabase = d\nidp = corp client_id=c "
         "authorization_endpoint=https://i/a token_endpoint=https://i/t\n",
         "the identity comes from userinfo_endpoint= or whoami_url="},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "whoami_url=https://i/me\n",
         "whoami_url= and subject_field= go together"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "whoami_url=https://i/me subject_field=a..b\n",
         "subject_field must be a member name"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "whoami_url=https://i/me subject_field=id userinfo_endpoint=https://i/u\n",
         "userinfo_endpoint= or whoami_url=, not both"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "token_endpoint=ftp://i/t\n",
         "token_endpoint must be an http(s) URL"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "link_only=maybe\n",
         "link_only must be yes or no"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "consent=nobody\n",
         "consent must be mcpgate or provider"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "groups_allowed=a;b\n",
         "groups_allowed must be a comma-separated list"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=ftp://i client_id=c\n",
         "issuer must be an http(s) URL"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "color=red\n",
         "unknown parameter \"color\""},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c\n"
         "idp = corp issuer=https://j client_id=d\n",
         "corp is configured twice"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "client_secret_file=/nonexistent/secret\n",
         "client_secret_file: could not open /nonexistent/secret"},
        {"base_url = https://x\ndatabase = d\nidp = corp issuer=https://i client_id=c "
         "scopes=openid email\n",
         "expected name=value, got \"email\""},
        {"base_url = https://x\ndatabase = d\nlocal_users = off\n", "local_users must be yes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        rc = load_text(&cfg, bad[i].text, &err);
        if (!ok(rc < 0 && strstr(err.msg, bad[i].want), "bad config %zu refused: %s", i,
                bad[i].want))
            printf("#   error was: %s\n", err.msg);
    }
    /* the limits (SECURITY.md, "Limits"): defaults, a value, and a bound */
    config_defaults(&cfg);
    ok(cfg.max_batch_messages == 50 && cfg.max_progress_token_bytes == 256 &&
           cfg.max_events_per_call == 1000 && cfg.search_max_query_bytes == 512 &&
           cfg.search_max_words == 32 && cfg.upstream_tools_max_kib == 32768,
       "the limits' defaults");
    static const struct {
        const char *key, *good, *bad;
        size_t offset;
    } limits[] = {
        {"max_batch_messages", "7", "0", offsetof(struct mg_config, max_batch_messages)},
        {"max_progress_token_bytes", "64", "65537",
         offsetof(struct mg_config, max_progress_token_bytes)},
        {"max_events_per_call", "10", "9", offsetof(struct mg_config, max_events_per_call)},
        {"search_max_query_bytes", "100", "15", offsetof(struct mg_config, search_max_query_bytes)},
        {"search_max_words", "1000", "1001", offsetof(struct mg_config, search_max_words)},
        {"upstream_tools_max_kib", "64", "63", offsetof(struct mg_config, upstream_tools_max_kib)},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        config_defaults(&cfg);
        int set = config_set(&cfg, limits[i].key, limits[i].good, &err);
        ok(set == 0 && *(int *)(void *)((char *)&cfg + limits[i].offset) == atoi(limits[i].good),
           "%s = %s", limits[i].key, limits[i].good);
        err.msg[0] = '\0';
        ok(config_set(&cfg, limits[i].key, limits[i].bad, &err) < 0 &&
               strstr(err.msg, limits[i].key) && strstr(err.msg, "whole number"),
           "%s = %s is refused: %s", limits[i].key, limits[i].bad, err.msg);
    }

    /* identity providers */
    char secret_path[80];
    snprintf(secret_path, sizeof secret_path, "/tmp/mcpgate-test-secret.%ld", (long)getpid());
    FILE *sf = fopen(secret_path, "w");
    fputs("s3cret value\nsecond line\n", sf);
    fclose(sf);
    char text[512];
    snprintf(text, sizeof text,
             "base_url = https://x\ndatabase = d\nlocal_users = no\n"
             "idp = corp issuer=https://id.example/realm client_id=mcpgate\n"
             "idp = other-2 issuer=https://o.example client_id=c2 client_secret_file=%s "
             "scopes=email,openid,groups\n",
             secret_path);
    rc = load_text(&cfg, text, &err);
    ok(rc == 0 && cfg.n_idps == 2 && cfg.local_users == 0 && cfg.idp_allow_private == 0,
       "two identity providers, local users off: %s", rc ? err.msg : "ok");
    const struct mg_idp *idp = config_idp_find(&cfg, "corp");
    ok(idp && strcmp(idp->issuer, "https://id.example/realm") == 0 &&
           strcmp(idp->client_id, "mcpgate") == 0 && idp->client_secret[0] == '\0' &&
           strcmp(idp->scopes, "openid profile email") == 0,
       "corp: a public client with the default scopes");
    idp = config_idp_find(&cfg, "other-2");
    ok(idp && strcmp(idp->client_secret, "s3cret value") == 0 &&
           strcmp(idp->scopes, "email openid groups") == 0,
       "other-2: the secret is the file's first line; scopes as listed");
    ok(config_idp_find(&cfg, "nobody") == NULL && config_idp_find(&cfg, NULL) == NULL,
       "an unknown provider is not found");
    unlink(secret_path);
    config_defaults(&cfg);
    ok(cfg.local_users == 1 && cfg.n_idps == 0 && cfg.idp_jwks_refetch_s == 60,
       "by default: local users, no providers, a key set refetched at most once a minute");
    ok(config_set(&cfg, "idp_jwks_refetch_s", "5", &err) == 0 && cfg.idp_jwks_refetch_s == 5,
       "idp_jwks_refetch_s = 5");
    ok(config_set(&cfg, "idp", "x issuer=https://i client_id=c scopes=email", &err) == 0 &&
           strcmp(cfg.idps[0].scopes, "email openid") == 0,
       "openid is added to the scopes when missing");
    ok(cfg.idps[0].identity == MG_IDP_ID_TOKEN && cfg.idps[0].openid == 1 &&
           cfg.idps[0].groups_allowed[0] == '\0',
       "by default the identity is the ID token's, and anyone may sign in");
    ok(config_set(&cfg, "idp",
                  "plain client_id=c authorization_endpoint=https://p/authorize "
                  "token_endpoint=https://p/token whoami_url=https://api.p/v1/me "
                  "subject_field=account.id groups_allowed=staff,ops@corp "
                  "revocation_endpoint=https://p/revoke",
                  &err) == 0 &&
           cfg.idps[1].identity == MG_IDP_WHOAMI && cfg.idps[1].scopes[0] == '\0' &&
           cfg.idps[1].openid == 0 && cfg.idps[1].issuer[0] == '\0' &&
           strcmp(cfg.idps[1].subject_field, "account.id") == 0 &&
           strcmp(cfg.idps[1].groups_allowed, "staff ops@corp") == 0 &&
           strcmp(cfg.idps[1].revocation_endpoint, "https://p/revoke") == 0,
       "plain OAuth 2.0: explicit endpoints, a who-am-I URL, no scopes, no openid: %s", err.msg);
    ok(config_set(&cfg, "idp",
                  "ui issuer=https://u client_id=c userinfo_endpoint=https://u/me scopes=profile "
                  "consent=provider",
                  &err) == 0 &&
           cfg.idps[2].identity == MG_IDP_USERINFO &&
           strcmp(cfg.idps[2].scopes, "profile openid") == 0 && cfg.idps[2].openid == 1 &&
           cfg.idps[2].consent_provider == 1 && cfg.idps[0].consent_provider == 0,
       "identity from the userinfo endpoint, openid added: %s", err.msg);
    const struct mg_idp *first = NULL;
    ok(config_set(&cfg, "idp",
                  "gh client_id=c authorization_endpoint=https://g/authorize "
                  "token_endpoint=https://g/token link_only=yes scopes=repo",
                  &err) == 0 &&
           cfg.idps[3].link_only == 1 && strcmp(cfg.idps[3].scopes, "repo") == 0 &&
           cfg.idps[3].openid == 0 && config_idp_signin_count(&cfg, &first) == 3 &&
           first == &cfg.idps[0],
       "link_only: explicit endpoints without an identity, no openid, not a sign-in: %s", err.msg);

    err.msg[0] = '\0';
    config_defaults(&cfg);
    ok(config_load(&cfg, "/nonexistent/mcpgate.conf", &err) < 0 &&
           strstr(err.msg, "/nonexistent/mcpgate.conf"),
       "missing file named in the error");

    setenv("MCPGATE_CONFIG", "/x/y.conf", 1);
    is_str(config_path(NULL), "/x/y.conf", "MCPGATE_CONFIG used");
    is_str(config_path("/a.conf"), "/a.conf", "explicit path wins");
    unsetenv("MCPGATE_CONFIG");
    is_str(config_path(NULL), MG_DEFAULT_CONFIG, "default path under /etc/mcpgate");
    unlink(path);
    return tap_done();
}
