/*
 * util/config_idp.c - the "idp" lines of the configuration file: the
 * identity providers people sign in at (docs/identity.md).
 */
#include "util/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/config_internal.h"
#include "util/url.h"

const struct mg_idp *config_idp_find(const struct mg_config *cfg, const char *name)
{
    for (int i = 0; name && i < cfg->n_idps; i++)
        if (strcmp(cfg->idps[i].name, name) == 0)
            return &cfg->idps[i];
    return NULL;
}

int config_idp_signin_count(const struct mg_config *cfg, const struct mg_idp **first)
{
    int n = 0;
    *first = NULL;
    for (int i = 0; i < cfg->n_idps; i++)
        if (!cfg->idps[i].link_only && n++ == 0)
            *first = &cfg->idps[i];
    return n;
}

/* Copies v, an http(s) URL, into out (n bytes) for idp key word. Returns 0,
 * or -1 with err. */
static int idp_url(const char *word, const char *v, char *out, size_t n, struct mg_error *err)
{
    if (!url_is_web(v, 1) || strchr(v, '#') || config_copy_str(out, n, v) < 0) {
        mg_error_msg(err, "idp: %s must be an http(s) URL without fragment", word);
        return -1;
    }
    return 0;
}

/* The comma-separated list v into out as a space-separated one. Returns 0,
 * or -1 when it has characters no scope or group name has, or is too long. */
static int idp_list(const char *v, char *out, size_t n)
{
    if (strlen(v) + 8 >= n ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/,@-") !=
            strlen(v))
        return -1;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", v);
    out[0] = '\0';
    size_t o = 0;
    for (char *s = tmp, *c; s; s = c) {
        c = strchr(s, ',');
        if (c)
            *c++ = '\0';
        if (*s)
            o += (size_t)snprintf(out + o, n - o, "%s%s", o ? " " : "", s);
    }
    return 0;
}

/* 1 when the space-separated list has word. */
int config_list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = list; (s = strstr(s, word)); s += n)
        if ((s == list || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
            return 1;
    return 0;
}

/* Applies one "name=value" word of an idp line to p. Returns 0, or -1 with
 * a message in err. */
static int idp_word(struct mg_idp *p, char *word, struct mg_error *err)
{
    char *eq = strchr(word, '=');
    if (!eq || eq == word || !eq[1]) {
        mg_error_msg(err, "idp: expected name=value, got \"%.64s\"", word);
        return -1;
    }
    *eq = '\0';
    const char *v = eq + 1;
    if (strcmp(word, "issuer") == 0) {
        if (!url_is_web(v, 1) || strpbrk(v, "?#") ||
            config_copy_str(p->issuer, sizeof p->issuer, v) < 0) {
            mg_error_msg(err, "idp: issuer must be an http(s) URL without query or fragment");
            return -1;
        }
    } else if (strcmp(word, "client_id") == 0) {
        if (config_copy_str(p->client_id, sizeof p->client_id, v) < 0) {
            mg_error_msg(err, "idp: client_id is too long");
            return -1;
        }
    } else if (strcmp(word, "client_secret_file") == 0) {
        return config_read_secret_file("idp: client_secret_file", v, p->client_secret,
                                       sizeof p->client_secret, err);
    } else if (strcmp(word, "scopes") == 0) {
        if (idp_list(v, p->scopes, sizeof p->scopes) < 0) {
            mg_error_msg(err, "idp: scopes must be a comma-separated list of scope names");
            return -1;
        }
    } else if (strcmp(word, "groups_allowed") == 0) {
        if (idp_list(v, p->groups_allowed, sizeof p->groups_allowed) < 0 || !p->groups_allowed[0]) {
            mg_error_msg(err, "idp: groups_allowed must be a comma-separated list of group "
                              "names");
            return -1;
        }
    } else if (strcmp(word, "authorization_endpoint") == 0) {
        return idp_url(word, v, p->authorization_endpoint, sizeof p->authorization_endpoint, err);
    } else if (strcmp(word, "token_endpoint") == 0) {
        return idp_url(word, v, p->token_endpoint, sizeof p->token_endpoint, err);
    } else if (strcmp(word, "userinfo_endpoint") == 0) {
        return idp_url(word, v, p->userinfo_endpoint, sizeof p->userinfo_endpoint, err);
    } else if (strcmp(word, "link_only") == 0) {
        return config_yes_no("idp: link_only", v, &p->link_only, err);
    } else if (strcmp(word, "consent") == 0) {
        static const char *const consent[] = {"mcpgate", "provider", NULL};
        return config_set_word(v, consent, &p->consent_provider,
                               "idp: consent must be mcpgate or provider", err);
    } else if (strcmp(word, "revocation_endpoint") == 0) {
        return idp_url(word, v, p->revocation_endpoint, sizeof p->revocation_endpoint, err);
    } else if (strcmp(word, "whoami_url") == 0) {
        return idp_url(word, v, p->whoami_url, sizeof p->whoami_url, err);
    } else if (strcmp(word, "subject_field") == 0) {
        size_t n = strlen(v);
        if (n >= sizeof p->subject_field || v[0] == '.' || v[n - 1] == '.' || strstr(v, "..") ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
            mg_error_msg(err, "idp: subject_field must be a member name, dotted for nested "
                              "objects (account.id)");
            return -1;
        }
        snprintf(p->subject_field, sizeof p->subject_field, "%s", v);
    } else {
        mg_error_msg(err, "idp: unknown parameter \"%.64s\"", word);
        return -1;
    }
    return 0;
}

/* Checks that p's words go together and settles its identity source and
 * scopes. Returns 0, or -1 with err. */
static int idp_settle(struct mg_idp *p, int scopes_given, struct mg_error *err)
{
    int explicit = p->authorization_endpoint[0] || p->token_endpoint[0];
    if (explicit && !(p->authorization_endpoint[0] && p->token_endpoint[0])) {
        mg_error_msg(err, "idp %s: authorization_endpoint= and token_endpoint= go together",
                     p->name);
        return -1;
    }
    if (p->whoami_url[0] && p->userinfo_endpoint[0]) {
        mg_error_msg(err, "idp %s: userinfo_endpoint= or whoami_url=, not both", p->name);
        return -1;
    }
    if (!p->whoami_url[0] != !p->subject_field[0]) {
        mg_error_msg(err, "idp %s: whoami_url= and subject_field= go together", p->name);
        return -1;
    }
    p->identity = p->whoami_url[0]          ? MG_IDP_WHOAMI
                  : p->userinfo_endpoint[0] ? MG_IDP_USERINFO
                                            : MG_IDP_ID_TOKEN;
    if (p->identity == MG_IDP_ID_TOKEN && !p->link_only && (explicit || !p->issuer[0])) {
        mg_error_msg(err, "idp %s: %s", p->name,
                     explicit
                         ? "with explicit endpoints the identity comes from userinfo_endpoint= "
                           "or whoami_url= (an ID token needs discovery, issuer=)"
                         : "issuer= is required (or explicit endpoints)");
        return -1;
    }
    if (!explicit && !p->issuer[0]) {
        mg_error_msg(err, "idp %s: issuer= is required (or explicit endpoints)", p->name);
        return -1;
    }
    if (!scopes_given)
        snprintf(p->scopes, sizeof p->scopes, "%s",
                 p->identity == MG_IDP_WHOAMI || p->link_only ? "" : "openid profile email");
    /* a linked account needs no identity: its scopes are the API's alone */
    if (p->identity != MG_IDP_WHOAMI && !p->link_only && !config_list_has(p->scopes, "openid")) {
        size_t o = strlen(p->scopes);
        snprintf(p->scopes + o, sizeof p->scopes - o, "%sopenid", o ? " " : "");
    }
    p->openid = config_list_has(p->scopes, "openid");
    return 0;
}

/* An "idp" line: NAME then name=value words. Returns 0, or -1 with err. */
int config_set_idp(struct mg_config *cfg, const char *value, struct mg_error *err)
{
    if (cfg->n_idps == MG_MAX_IDPS) {
        mg_error_msg(err, "idp: at most %d identity providers", MG_MAX_IDPS);
        return -1;
    }
    char line[4096];
    if (config_copy_str(line, sizeof line, value) < 0) {
        mg_error_msg(err, "idp: the line is too long");
        return -1;
    }
    struct mg_idp p;
    memset(&p, 0, sizeof p);
    int rc = -1, scopes_given = 0;
    char *save = NULL;
    char *name = strtok_r(line, " \t", &save);
    if (!name || strlen(name) > 32 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name)) {
        mg_error_msg(err, "idp: the first word must be the provider's name ([a-z0-9_-], at "
                          "most 32 characters)");
        goto out;
    }
    snprintf(p.name, sizeof p.name, "%s", name);
    if (config_idp_find(cfg, p.name)) {
        mg_error_msg(err, "idp: %s is configured twice", p.name);
        goto out;
    }
    for (char *w; (w = strtok_r(NULL, " \t", &save));) {
        scopes_given |= strncmp(w, "scopes=", 7) == 0;
        if (idp_word(&p, w, err) < 0)
            goto out;
    }
    if (!p.client_id[0]) {
        mg_error_msg(err, "idp %s: client_id= is required", p.name);
        goto out;
    }
    if (idp_settle(&p, scopes_given, err) < 0)
        goto out;
    cfg->idps[cfg->n_idps++] = p;
    rc = 0;
out:
    explicit_bzero(&p, sizeof p);
    explicit_bzero(line, sizeof line);
    return rc;
}
