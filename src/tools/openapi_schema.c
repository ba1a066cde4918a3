/*
 * tools/openapi_schema.c - OpenAPI schemas to JSON Schema: keywords copied
 * by an allowlist (what validators and models understand), $refs inlined
 * with a stack of the ones being expanded so a recursive schema ends in {}
 * instead of looping, OpenAPI 3.0 forms (nullable, boolean exclusive
 * bounds, example) turned into their JSON Schema equivalents.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/openapi_internal.h"
#include "tools/schema.h"
#include "util/buf.h"
#include "util/json.h"

#define MAX_DESC_LEN 1024

struct json_object *oa_deref(struct json_object *doc, struct json_object *s)
{
    for (int i = 0; i < 16 && s; i++) {
        const char *ref = json_get_string(s, "$ref");
        if (!ref)
            return s;
        s = tool_schema_resolve(doc, ref);
    }
    return s;
}

static struct json_object *str(const char *s)
{
    return json_object_new_string(s);
}

static void add_copy(struct json_object *to, const char *key, struct json_object *v)
{
    json_add(to, key, json_object_get(v));
}

struct json_object *oa_desc(const char *s)
{
    size_t n = strlen(s);
    if (n <= MAX_DESC_LEN)
        return str(s);
    size_t cut = MAX_DESC_LEN;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    struct buf b = {0};
    if (buf_append(&b, s, cut) < 0 || buf_puts(&b, " ...") < 0)
        abort();
    struct json_object *o = str(b.data);
    buf_free(&b);
    return o;
}

static int is_read_only(struct conv *c, struct json_object *s)
{
    struct json_object *t = oa_deref(c->doc, s);
    struct json_object *ro = json_get(t, "readOnly", json_type_boolean);
    if (!ro)
        ro = json_get(s, "readOnly", json_type_boolean);
    return ro && json_object_get_boolean(ro);
}

static struct json_object *convert_list(struct conv *c, struct json_object *list)
{
    struct json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(list); i++)
        if (json_object_array_add(out, oa_convert(c, json_object_array_get_idx(list, i))) != 0)
            abort();
    return out;
}

static struct json_object *convert_props(struct conv *c, struct json_object *props,
                                         struct json_object *required, struct json_object *out)
{
    struct json_object *p = json_object_new_object();
    struct json_object *req = json_object_new_array();
    if (props) {
        json_object_object_foreach(props, k, v)
        {
            if (c->request && is_read_only(c, v))
                continue;
            json_add(p, k, oa_convert(c, v));
        }
    }
    for (size_t i = 0; required && i < json_object_array_length(required); i++) {
        struct json_object *r = json_object_array_get_idx(required, i);
        const char *name = json_object_get_string(r);
        if (json_object_is_type(r, json_type_string) &&
            (!props || json_object_object_get_ex(p, name, NULL) ||
             !json_object_object_get_ex(props, name, NULL)))
            if (json_object_array_add(req, json_object_get(r)) != 0)
                abort();
    }
    json_add(out, "properties", p);
    return req;
}

/* For a oneOf with a discriminator mapping: each branch's discriminator
 * property gets the enum of the values that select it, so the model (and a
 * validator) can tell the branches apart. */
static void mark_discriminator(struct json_object *disc, struct json_object *orig,
                               struct json_object *branches)
{
    const char *prop = json_get_string(disc, "propertyName");
    struct json_object *mapping = json_get(disc, "mapping", json_type_object);
    if (!prop || !mapping)
        return;
    for (size_t i = 0; i < json_object_array_length(orig); i++) {
        const char *ref = json_get_string(json_object_array_get_idx(orig, i), "$ref");
        struct json_object *props =
            json_get(json_object_array_get_idx(branches, i), "properties", json_type_object);
        struct json_object *p = json_get(props, prop, json_type_object);
        if (!ref || !p)
            continue;
        struct json_object *values = json_object_new_array();
        json_object_object_foreach(mapping, value, target)
        {
            if (json_object_is_type(target, json_type_string) &&
                strcmp(json_object_get_string(target), ref) == 0 &&
                json_object_array_add(values, str(value)) != 0)
                abort();
        }
        if (json_object_array_length(values) > 0)
            json_add(p, "enum", values);
        else
            json_object_put(values);
    }
}

/* A $ref: the target converted, or {} when it is being expanded already,
 * does not resolve or nests too deep. */
static struct json_object *convert_ref(struct conv *c, struct json_object *s, const char *ref)
{
    struct json_object *target = tool_schema_resolve(c->doc, ref);
    int recursive = !target || c->depth == OA_MAX_REF_STACK;
    for (int i = 0; i < c->depth; i++)
        recursive |= strcmp(c->stack[i], ref) == 0;
    if (recursive) {
        struct json_object *any = json_object_new_object();
        json_add(any, "description", str("(a nested value of the same structure)"));
        return any;
    }
    c->stack[c->depth++] = ref;
    struct json_object *out = oa_convert(c, target);
    c->depth--;
    const char *d = json_get_string(s, "description");
    if (d && json_object_is_type(out, json_type_object))
        json_add(out, "description", oa_desc(d));
    return out;
}

/* The keywords that are copied as they are, or with a 3.0 form changed. */
static void copy_keywords(struct json_object *s, struct json_object *out)
{
    static const char *const plain[] = {
        "type",    "enum",    "const",      "minItems",      "maxItems",      "uniqueItems",
        "minimum", "maximum", "multipleOf", "minLength",     "maxLength",     "pattern",
        "format",  "title",   "default",    "minProperties", "maxProperties", NULL};
    for (const char *const *k = plain; *k; k++) {
        struct json_object *v = NULL;
        if (json_object_object_get_ex(s, *k, &v))
            add_copy(out, *k, v);
    }
    const char *d = json_get_string(s, "description");
    if (d)
        json_add(out, "description", oa_desc(d));
    /* an example helps the model (OpenAPI 3.0 "example" -> "examples") */
    struct json_object *example = NULL;
    if (json_object_object_get_ex(s, "examples", &example) &&
        json_object_is_type(example, json_type_array)) {
        add_copy(out, "examples", example);
    } else if (json_object_object_get_ex(s, "example", &example) &&
               !json_object_is_type(example, json_type_object) &&
               !json_object_is_type(example, json_type_array)) {
        struct json_object *list = json_object_new_array();
        if (json_object_array_add(list, json_object_get(example)) != 0)
            abort();
        json_add(out, "examples", list);
    }
    /* OpenAPI 3.0 boolean exclusive bounds -> JSON Schema numbers */
    static const char *const ex[][2] = {{"exclusiveMinimum", "minimum"},
                                        {"exclusiveMaximum", "maximum"}};
    for (int i = 0; i < 2; i++) {
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(s, ex[i][0], &v))
            continue;
        struct json_object *bound = NULL;
        if (json_object_is_type(v, json_type_boolean)) {
            if (json_object_get_boolean(v) && json_object_object_get_ex(s, ex[i][1], &bound)) {
                json_object_object_del(out, ex[i][1]);
                add_copy(out, ex[i][0], bound);
            }
        } else {
            add_copy(out, ex[i][0], v);
        }
    }
}

/* items, prefixItems, allOf/anyOf/oneOf, not, additionalProperties,
 * properties and required: converted in turn. */
static void convert_children(struct conv *c, struct json_object *s, struct json_object *out)
{
    struct json_object *v = NULL;
    if (json_object_object_get_ex(s, "items", &v))
        json_add(out, "items",
                 json_object_is_type(v, json_type_array) ? convert_list(c, v) : oa_convert(c, v));
    if (json_object_object_get_ex(s, "prefixItems", &v) && json_object_is_type(v, json_type_array))
        json_add(out, "prefixItems", convert_list(c, v));
    static const char *const lists[] = {"allOf", "anyOf", "oneOf", NULL};
    for (const char *const *k = lists; *k; k++) {
        if (!json_object_object_get_ex(s, *k, &v) || !json_object_is_type(v, json_type_array))
            continue;
        /* with a discriminator, OpenAPI picks the branch by a property, so
         * branches may overlap: in JSON Schema that is anyOf, not oneOf */
        int discriminated =
            strcmp(*k, "oneOf") == 0 && json_object_object_get_ex(s, "discriminator", NULL);
        struct json_object *branches = convert_list(c, v);
        if (discriminated)
            mark_discriminator(json_get(s, "discriminator", json_type_object), v, branches);
        json_add(out, discriminated ? "anyOf" : *k, branches);
    }
    if (json_object_object_get_ex(s, "not", &v))
        json_add(out, "not", oa_convert(c, v));
    if (json_object_object_get_ex(s, "additionalProperties", &v))
        json_add(out, "additionalProperties",
                 json_object_is_type(v, json_type_boolean) ? json_object_get(v) : oa_convert(c, v));
    struct json_object *props = json_get(s, "properties", json_type_object);
    struct json_object *required = json_get(s, "required", json_type_array);
    if (props || required) {
        struct json_object *req = convert_props(c, props, required, out);
        if (!props)
            json_object_object_del(out, "properties");
        if (json_object_array_length(req) > 0)
            json_add(out, "required", req);
        else
            json_object_put(req);
    }
}

/* OpenAPI 3.0 nullable -> a type list with "null" */
static void add_nullable(struct json_object *s, struct json_object *out)
{
    struct json_object *nullable = json_get(s, "nullable", json_type_boolean);
    struct json_object *type = json_get(out, "type", json_type_string);
    if (nullable && json_object_get_boolean(nullable) && type) {
        struct json_object *types = json_object_new_array();
        if (json_object_array_add(types, str(json_object_get_string(type))) != 0 ||
            json_object_array_add(types, str("null")) != 0)
            abort();
        json_add(out, "type", types);
        struct json_object *e = json_get(out, "enum", json_type_array);
        if (e && json_object_array_add(e, NULL) != 0)
            abort();
    }
}

struct json_object *oa_convert(struct conv *c, struct json_object *s)
{
    if (json_object_is_type(s, json_type_boolean))
        return json_object_get(s);
    if (!json_object_is_type(s, json_type_object))
        return json_object_new_object();
    const char *ref = json_get_string(s, "$ref");
    if (ref)
        return convert_ref(c, s, ref);
    struct json_object *out = json_object_new_object();
    copy_keywords(s, out);
    convert_children(c, s, out);
    add_nullable(s, out);
    return out;
}
