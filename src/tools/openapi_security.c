/*
 * tools/openapi_security.c - OpenAPI security schemes to a backend file's
 * credential slots and "auth" lists.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tools/names.h"
#include "tools/openapi_internal.h"
#include "util/json.h"

static struct json_object *str(const char *s)
{
    return json_object_new_string(s);
}

/* The first security requirement whose schemes all exist, as an "auth"
 * list; an empty list for "no security"; NULL when req is absent. */
struct json_object *oa_auth_of(struct json_object *req, struct json_object *schemes,
                               struct json_object *slots)
{
    if (!json_object_is_type(req, json_type_array))
        return NULL;
    size_t n = json_object_array_length(req);
    for (size_t i = 0; i < n; i++) {
        struct json_object *alt = json_object_array_get_idx(req, i);
        if (!json_object_is_type(alt, json_type_object))
            continue;
        int usable = 1;
        json_object_object_foreach(alt, k, v)
        {
            (void)v;
            usable &= json_object_object_get_ex(schemes, k, NULL) &&
                      json_object_object_get_ex(slots, k, NULL);
        }
        if (!usable)
            continue;
        struct json_object *list = json_object_new_array();
        json_object_object_foreach(alt, k2, v2)
        {
            (void)v2;
            if (json_object_array_add(list, str(k2)) != 0)
                abort();
        }
        return list;
    }
    return json_object_new_array();
}

/* Checks that every apiKey scheme sent as a header (slots_of) names a
 * header that can be sent: the backend file would not load otherwise
 * (found by tests/fuzz/fuzz_openapi.c). Returns 0, or -1 with a message. */
int oa_schemes_check(struct json_object *schemes, struct mg_error *err)
{
    if (!schemes)
        return 0;
    json_object_object_foreach(schemes, name, s)
    {
        const char *type = json_get_string(s, "type");
        const char *in = json_get_string(s, "in");
        const char *pname = json_get_string(s, "name");
        if (!type || strcmp(type, "apiKey") != 0 || !pname ||
            (in && (strcmp(in, "query") == 0 || strcmp(in, "cookie") == 0)))
            continue;
        if (!tool_header_name_ok(pname)) {
            mg_error_msg(err, "security scheme %.64s: \"%.64s\" is not a valid header name", name,
                         pname);
            return -1;
        }
    }
    return 0;
}

/* Credential slots for the security schemes. Slot names are the scheme
 * names (they must be usable as JSON keys only). */
struct json_object *oa_slots_of(struct json_object *schemes, const struct openapi_opts *o,
                                const char *title)
{
    struct json_object *slots = json_object_new_object();
    json_object_object_foreach(schemes, name, s0)
    {
        struct json_object *s = s0;
        const char *type = json_get_string(s, "type");
        const char *scheme = json_get_string(s, "scheme");
        const char *in = json_get_string(s, "in");
        const char *pname = json_get_string(s, "name");
        struct json_object *slot = json_object_new_object();
        if (!type)
            type = "";
        if (strcmp(type, "http") == 0 && scheme && strcasecmp(scheme, "basic") == 0) {
            json_add(slot, "type", str("basic"));
            json_add(slot, "description", str("user:password"));
        } else if (strcmp(type, "http") == 0 && scheme && strcasecmp(scheme, "bearer") != 0) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%.40s ", scheme);
            json_add(slot, "type", str("header"));
            json_add(slot, "name", str("Authorization"));
            json_add(slot, "prefix", str(prefix));
        } else if (strcmp(type, "apiKey") == 0 && pname && in && strcmp(in, "query") == 0) {
            json_add(slot, "type", str("query"));
            json_add(slot, "name", str(pname));
        } else if (strcmp(type, "apiKey") == 0 && pname && in && strcmp(in, "cookie") == 0) {
            char prefix[160];
            snprintf(prefix, sizeof prefix, "%.128s=", pname);
            json_add(slot, "type", str("header"));
            json_add(slot, "name", str("Cookie"));
            json_add(slot, "prefix", str(prefix));
        } else if (strcmp(type, "apiKey") == 0 && pname) {
            json_add(slot, "type", str("header"));
            json_add(slot, "name", str(pname));
        } else { /* http bearer, oauth2, openIdConnect: an access token */
            json_add(slot, "type", str("bearer"));
            if (strcmp(type, "http") != 0)
                json_add(slot, "description", str("an access token for the API"));
        }
        /* a name for people (the account page, messages): the operator's,
         * else the scheme's own description, else what the value is and for
         * which API */
        const char *sd = json_get_string(s, "description");
        for (int i = 0; i < o->n_slot_names; i++) {
            const char *eq = strchr(o->slot_names[i], '=');
            if (eq && (size_t)(eq - o->slot_names[i]) == strlen(name) &&
                strncmp(o->slot_names[i], name, strlen(name)) == 0) {
                sd = eq + 1;
                if (o->slot_names_used)
                    o->slot_names_used[i] = 1;
            }
        }
        char shown[160];
        if (sd && *sd) {
            size_t n = strcspn(sd, "\r\n");
            snprintf(shown, sizeof shown, "%.*s", (int)json_utf8_cut(sd, n < 120 ? n : 120), sd);
        } else {
            const char *what = json_get_string(slot, "description");
            const char *type_s = json_get_string(slot, "type");
            if (!what)
                what = strcmp(type_s, "bearer") == 0 ? "access token" : "API key";
            snprintf(shown, sizeof shown, "%.60s: %.40s (%.40s)", title && *title ? title : o->name,
                     what, name);
        }
        json_add(slot, "description", str(shown));
        if (o->env_file) {
            char var[160];
            char clean[129];
            tool_name_sanitize(name, 0, clean, 100);
            snprintf(var, sizeof var, "%s_%s", o->name, clean);
            for (char *p = var; *p; p++)
                *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
            json_add(slot, "env_file", str(o->env_file));
            json_add(slot, "variable", str(var));
        }
        json_add(slots, name, slot);
    }
    return slots;
}
