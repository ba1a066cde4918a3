/*
 * util/config_rs.c - the rs_* keys of auth = resource: the external
 * authorization server whose tokens are accepted (docs/resource-server.md).
 */
#include "util/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/config_internal.h"
#include "util/url.h"

/* A list of scope names separated by commas or spaces into out as one
 * space-separated list. Returns 0, or -1 when a name has other characters,
 * the list is empty or does not fit. */
static int scope_list(const char *v, char *out, size_t n)
{
    size_t o = 0, len = strlen(v);
    if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/, -") != len)
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < len;) {
        size_t w = strcspn(v + i, ", ");
        if (w > 0) {
            if (o + w + 2 > n)
                return -1;
            if (o)
                out[o++] = ' ';
            memcpy(out + o, v + i, w);
            o += w;
            out[o] = '\0';
        }
        i += w + (v[i + w] ? 1 : 0);
    }
    return o ? 0 : -1;
}

/* The rs_* keys of auth = resource but its whole numbers (config.c's table).
 * Returns 0, or -1 with err. */
int config_set_rs(struct mg_config *cfg, const char *key, const char *value, struct mg_error *err)
{
    struct mg_rs *rs = &cfg->rs;
    if (strcmp(key, "rs_issuer") == 0) {
        if (url_is_web(value, 1) && !strpbrk(value, " \t?#") &&
            config_copy_str(rs->issuer, sizeof rs->issuer, value) == 0)
            return 0;
        mg_error_msg(err, "rs_issuer must be the authorization server's issuer URL");
        return -1;
    } else if (strcmp(key, "rs_name") == 0) {
        if (strlen(value) >= 1 && strlen(value) <= 32 &&
            strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(value)) {
            snprintf(rs->name, sizeof rs->name, "%s", value);
            return 0;
        }
        mg_error_msg(err, "rs_name must be 1 to 32 characters of [a-z0-9_-]");
        return -1;
    } else if (strcmp(key, "rs_audience") == 0) {
        char tmp[2048];
        if (config_copy_str(tmp, sizeof tmp, value) < 0) {
            mg_error_msg(err, "rs_audience is too long");
            return -1;
        }
        rs->n_audiences = 0;
        char *save = NULL;
        for (char *w = strtok_r(tmp, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
            if (rs->n_audiences == MG_RS_MAX_AUDIENCES ||
                config_copy_str(rs->audiences[rs->n_audiences], sizeof rs->audiences[0], w) < 0) {
                mg_error_msg(err, "rs_audience: at most %d audiences of up to 511 bytes",
                             MG_RS_MAX_AUDIENCES);
                return -1;
            }
            rs->n_audiences++;
        }
        if (rs->n_audiences > 0)
            return 0;
        mg_error_msg(err, "rs_audience must name at least one audience");
        return -1;
    } else if (strcmp(key, "rs_scopes_read") == 0 || strcmp(key, "rs_scopes_write") == 0) {
        char *out = key[10] == 'r' ? rs->scopes_read : rs->scopes_write;
        if (scope_list(value, out, sizeof rs->scopes_read) == 0)
            return 0;
        mg_error_msg(err, "%s must be a list of scope names separated by commas", key);
        return -1;
    } else if (strcmp(key, "rs_groups_claim") == 0) {
        if (strlen(value) < sizeof rs->groups_claim &&
            strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") ==
                strlen(value)) {
            snprintf(rs->groups_claim, sizeof rs->groups_claim, "%s", value);
            return 0;
        }
        mg_error_msg(err, "rs_groups_claim must be a claim name, or empty for none");
        return -1;
    } else if (strcmp(key, "rs_validation") == 0) {
        static const char *const modes[] = {"jwt", "introspection", "auto", NULL};
        return config_set_word(value, modes, &rs->introspect,
                               "rs_validation must be jwt, introspection or auto", err);
    } else if (strcmp(key, "rs_introspection_client_id") == 0) {
        if (config_copy_str(rs->client_id, sizeof rs->client_id, value) == 0)
            return 0;
    } else if (strcmp(key, "rs_introspection_client_secret_file") == 0) {
        return config_read_secret_file(key, value, rs->client_secret, sizeof rs->client_secret,
                                       err);
    } else {
        mg_error_msg(err, "unknown setting \"%.64s\"", key);
        return -1;
    }
    mg_error_msg(err, "%s is too long", key);
    return -1;
}
