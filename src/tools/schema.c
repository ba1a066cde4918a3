/*
 * tools/schema.c - checks tool arguments against the tool's inputSchema.
 *
 * A recursive walk over schema and instance. Each check writes its message
 * with the instance path (e.g. "body.tags[2]") and returns -1; combinators
 * (anyOf, oneOf, not) validate into a scratch message and keep the first
 * useful one. Nothing here allocates json-c objects or touches the schema's
 * reference counts, so one parsed schema serves every thread.
 */
#include "tools/schema.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8 /* UTF-8 */
#include <json-c/json_pointer.h>
#include <pcre2.h>

#include "util/alloc.h"
#include "util/json.h"
#include "util/url.h"

#define SCHEMA_MAX_DEPTH 64
/* Schema nodes one validation may visit: combinators over "$ref": "#"
 * branch at every level, so the depth limit alone allows 2^64 visits
 * (found by tests/fuzz/fuzz_schema.c). */
#ifndef SCHEMA_MAX_STEPS
#define SCHEMA_MAX_STEPS 100000UL /* a real API call visits a few thousand */
#endif

struct walk {
    struct json_object *root;
    char *why;
    size_t whylen;
    unsigned long *steps; /* shared by the walk and its sub-walks */
};

static int check(struct walk *w, struct json_object *schema, struct json_object *inst,
                 const char *path, int depth);

__attribute__((format(printf, 3, 4))) static int fail(struct walk *w, const char *path,
                                                      const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(w->why, w->whylen, "%s: %s", *path ? path : "arguments", msg);
    return -1;
}

/* Writes a short description of a schema value (a string, number, boolean
 * or null; "..." for others) without json_object_to_json_string(), which
 * would write to the shared schema. */
static void describe(struct json_object *v, char *out, size_t n)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        snprintf(out, n, "\"%.60s\"", json_object_get_string(v));
        break;
    case json_type_int:
        snprintf(out, n, "%lld", (long long)json_object_get_int64(v));
        break;
    case json_type_double:
        snprintf(out, n, "%g", json_object_get_double(v));
        break;
    case json_type_boolean:
        snprintf(out, n, "%s", json_object_get_boolean(v) ? "true" : "false");
        break;
    case json_type_null:
        snprintf(out, n, "null");
        break;
    case json_type_object:
    case json_type_array:
        snprintf(out, n, "...");
        break;
    }
}

/* Describes the items of a list (enum values, type names) into out. */
static void describe_list(struct json_object *list, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    size_t len = json_object_array_length(list);
    for (size_t i = 0; i < len && used + 8 < n; i++) {
        char one[80];
        describe(json_object_array_get_idx(list, i), one, sizeof one);
        int k = snprintf(out + used, n - used, "%s%s", i ? ", " : "", one);
        if (k < 0 || (size_t)k >= n - used) {
            snprintf(out + used, n - used, ", ...");
            break;
        }
        used += (size_t)k;
    }
}

/* The JSON type name of inst as JSON Schema says it ("integer" for whole
 * numbers). */
static const char *type_of(struct json_object *inst)
{
    switch (json_object_get_type(inst)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "boolean";
    case json_type_double: {
        double d = json_object_get_double(inst);
        /* whole within the range where doubles are exact (no libm needed) */
        return d > -9.007199254740992e15 && d < 9.007199254740992e15 && (double)(long long)d == d
                   ? "integer"
                   : "number";
    }
    case json_type_int:
        return "integer";
    case json_type_object:
        return "object";
    case json_type_array:
        return "array";
    case json_type_string:
        return "string";
    }
    return "null";
}

static int type_matches(const char *want, struct json_object *inst)
{
    const char *have = type_of(inst);
    if (strcmp(want, have) == 0)
        return 1;
    return strcmp(want, "number") == 0 && strcmp(have, "integer") == 0;
}

static int is_number(struct json_object *o)
{
    return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

/* Appends ".key" or "[i]" to path into out. */
static void path_key(char *out, size_t n, const char *path, const char *key)
{
    if (*path)
        snprintf(out, n, "%s.%.64s", path, key);
    else
        snprintf(out, n, "%.64s", key);
}

static void path_index(char *out, size_t n, const char *path, size_t i)
{
    snprintf(out, n, "%s[%zu]", *path ? path : "arguments", i);
}

struct json_object *tool_schema_resolve(struct json_object *root, const char *ref)
{
    /* a URI fragment: percent-decoded, it is a JSON Pointer (RFC 6901 section 6) */
    char *ptr = NULL;
    struct json_object *res = NULL;
    if (ref[0] != '#' || url_pct_decode(ref + 1, strlen(ref + 1), 0, &ptr, NULL) != URL_DECODED)
        return NULL;
    if (json_pointer_get(root, ptr, &res) != 0)
        res = NULL;
    free(ptr);
    return res;
}

/* ECMA-262 as PCRE2 reads it: UTF-8 code points, \uhhhh and \xhh, "$" only
 * at the very end, "[]" and "[^]", a backreference to an unset group
 * matching the empty string. */
#define PATTERN_OPTIONS                                                                            \
    (PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS |                 \
     PCRE2_MATCH_UNSET_BACKREF | PCRE2_NEVER_BACKSLASH_C)

enum pattern_rc { PATTERN_NO = 0, PATTERN_YES = 1, PATTERN_UNUSABLE = -1, PATTERN_TOO_COSTLY = -2 };

/* Whether s (len bytes) matches pattern. PATTERN_UNUSABLE when the pattern
 * does not compile or is too long (it is then not enforced);
 * PATTERN_TOO_COSTLY when the match would take more than the bounds in
 * tools/schema.h, or memory ran out (the value cannot be checked). */
static enum pattern_rc pattern_match(const char *pattern, const char *s, size_t len)
{
    size_t plen = strlen(pattern);
    if (plen > SCHEMA_PATTERN_MAX_LEN)
        return PATTERN_UNUSABLE;
    int err;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, plen, PATTERN_OPTIONS, &err, &at, NULL);
    if (!re)
        return err == PCRE2_ERROR_NOMEMORY ? PATTERN_TOO_COSTLY : PATTERN_UNUSABLE;
    enum pattern_rc rc = PATTERN_TOO_COSTLY;
    pcre2_match_context *ctx = pcre2_match_context_create(NULL);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (ctx && md) {
        pcre2_set_match_limit(ctx, SCHEMA_PATTERN_MATCH_LIMIT);
        pcre2_set_heap_limit(ctx, SCHEMA_PATTERN_HEAP_KB);
        int m = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, ctx);
        if (m >= 0)
            rc = PATTERN_YES;
        else if (m == PCRE2_ERROR_NOMATCH)
            rc = PATTERN_NO;
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(ctx);
    pcre2_code_free(re);
    return rc;
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int check_type(struct walk *w, struct json_object *schema, struct json_object *inst,
                      const char *path)
{
    struct json_object *t = NULL;
    if (!json_object_object_get_ex(schema, "type", &t))
        return 0;
    struct json_object *nullable = json_get(schema, "nullable", json_type_boolean);
    if (!inst && nullable && json_object_get_boolean(nullable))
        return 0;
    if (json_object_is_type(t, json_type_string)) {
        if (type_matches(json_object_get_string(t), inst))
            return 0;
        return fail(w, path, "must be of type %s", json_object_get_string(t));
    }
    if (!json_object_is_type(t, json_type_array))
        return 0;
    size_t n = json_object_array_length(t);
    for (size_t i = 0; i < n; i++) {
        struct json_object *one = json_object_array_get_idx(t, i);
        if (json_object_is_type(one, json_type_string) &&
            type_matches(json_object_get_string(one), inst))
            return 0;
    }
    char names[200];
    describe_list(t, names, sizeof names);
    return fail(w, path, "must be of type %s", names);
}

/* json_object_equal() with 1 == 1.0, as JSON Schema wants. */
static int json_same(struct json_object *a, struct json_object *b)
{
    if (is_number(a) && is_number(b))
        return json_object_get_double(a) == json_object_get_double(b);
    return json_object_equal(a, b);
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* A hash of v that agrees with json_same(): equal values hash equal (a
 * number at the top by its double value, as json_same compares them; within
 * arrays and objects by type and value, as json_object_equal does; object
 * members in any order). depth stops at JSON_MAX_DEPTH, which parsed input
 * never exceeds. */
static uint64_t value_hash(struct json_object *v, int top, int depth)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    enum json_type t = json_object_get_type(v);
    if (top && is_number(v)) {
        double d = json_object_get_double(v);
        d = d == 0 ? 0 : d; /* -0 == 0 */
        return fnv(fnv(h, "n", 1), &d, sizeof d);
    }
    h = fnv(h, &t, sizeof t);
    if (depth > JSON_MAX_DEPTH)
        return h;
    switch (t) {
    case json_type_null:
        return h;
    case json_type_boolean: {
        int b = json_object_get_boolean(v);
        return fnv(h, &b, sizeof b);
    }
    case json_type_int: {
        int64_t i = json_object_get_int64(v);
        return fnv(h, &i, sizeof i);
    }
    case json_type_double: {
        double d = json_object_get_double(v);
        d = d == 0 ? 0 : d;
        return fnv(h, &d, sizeof d);
    }
    case json_type_string:
        return fnv(h, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            uint64_t e = value_hash(json_object_array_get_idx(v, i), 0, depth + 1);
            h = fnv(h, &e, sizeof e);
        }
        return h;
    case json_type_object: {
        uint64_t sum = 0; /* members in any order */
        json_object_object_foreach(v, key, val)
        {
            uint64_t m = fnv(0xcbf29ce484222325ULL, key, strlen(key) + 1);
            uint64_t e = value_hash(val, 0, depth + 1);
            sum += fnv(m, &e, sizeof e);
        }
        return fnv(h, &sum, sizeof sum);
    }
    }
    return h;
}

struct hashed_item {
    uint64_t hash;
    size_t index;
};

static int by_hash(const void *a, const void *b)
{
    const struct hashed_item *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* uniqueItems in O(n log n): items sorted by hash, and only items of equal
 * hash compared. Each item and each comparison counts as a step of the
 * walk, so colliding hashes cannot make it quadratic past SCHEMA_MAX_STEPS. */
static int check_unique(struct walk *w, struct json_object *inst, const char *path)
{
    size_t n = json_object_array_length(inst);
    if (n < 2)
        return 0;
    if ((*w->steps += n) > SCHEMA_MAX_STEPS)
        return fail(w, path, "cannot be checked: the schema is too complex");
    struct hashed_item *items = xmalloc(n * sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = (struct hashed_item){value_hash(json_object_array_get_idx(inst, i), 1, 0), i};
    qsort(items, n, sizeof *items, by_hash);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        for (size_t j = i + 1; rc == 0 && j < n && items[j].hash == items[i].hash; j++) {
            if (++*w->steps > SCHEMA_MAX_STEPS)
                rc = fail(w, path, "cannot be checked: the schema is too complex");
            else if (json_same(json_object_array_get_idx(inst, items[i].index),
                               json_object_array_get_idx(inst, items[j].index)))
                rc = fail(w, path, "must not contain the same item twice");
        }
    }
    free(items);
    return rc;
}

static int check_enum(struct walk *w, struct json_object *schema, struct json_object *inst,
                      const char *path)
{
    struct json_object *e = NULL;
    char text[240];
    if (json_object_object_get_ex(schema, "const", &e) && !json_same(e, inst)) {
        describe(e, text, sizeof text);
        return fail(w, path, "must be %s", text);
    }
    e = json_get(schema, "enum", json_type_array);
    if (!e)
        return 0;
    size_t n = json_object_array_length(e);
    for (size_t i = 0; i < n; i++)
        if (json_same(json_object_array_get_idx(e, i), inst))
            return 0;
    describe_list(e, text, sizeof text);
    return fail(w, path, "must be one of %s", text);
}

/* The number member key of schema into *out; 0 when absent. */
static int num(struct json_object *schema, const char *key, double *out)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(schema, key, &v) || !is_number(v))
        return 0;
    *out = json_object_get_double(v);
    return 1;
}

static int flag(struct json_object *schema, const char *key)
{
    struct json_object *v = json_get(schema, key, json_type_boolean);
    return v && json_object_get_boolean(v);
}

static int check_number(struct walk *w, struct json_object *schema, struct json_object *inst,
                        const char *path)
{
    double x = json_object_get_double(inst), lim;
    if (num(schema, "minimum", &lim)) {
        if (flag(schema, "exclusiveMinimum") ? !(x > lim) : x < lim)
            return fail(w, path,
                        flag(schema, "exclusiveMinimum") ? "must be greater than %g"
                                                         : "must be at least %g",
                        lim);
    }
    if (num(schema, "maximum", &lim)) {
        if (flag(schema, "exclusiveMaximum") ? !(x < lim) : x > lim)
            return fail(w, path,
                        flag(schema, "exclusiveMaximum") ? "must be less than %g"
                                                         : "must be at most %g",
                        lim);
    }
    if (num(schema, "exclusiveMinimum", &lim) && !(x > lim))
        return fail(w, path, "must be greater than %g", lim);
    if (num(schema, "exclusiveMaximum", &lim) && !(x < lim))
        return fail(w, path, "must be less than %g", lim);
    if (num(schema, "multipleOf", &lim) && lim > 0) {
        double q = x / lim;
        /* range first: converting a quotient beyond long long is undefined
         * (found by tests/fuzz/fuzz_schema.c with multipleOf 5e-117) */
        if (!(q <= 9e15 && q >= -9e15))
            return fail(w, path, "must be a multiple of %g", lim);
        double r = q - (double)(long long)(q + (q < 0 ? -0.5 : 0.5));
        if (r > 1e-9 || r < -1e-9)
            return fail(w, path, "must be a multiple of %g", lim);
    }
    return 0;
}

/* The bounds min<what> and max<what> ("Length", "Items", "Properties") of
 * a count n; the message reads "must <verb> at least N <unit>". Returns 0,
 * or -1 (failed). */
static int check_count(struct walk *w, struct json_object *schema, const char *path, size_t n,
                       const char *what, const char *verb, const char *unit)
{
    char key[32];
    double lim;
    snprintf(key, sizeof key, "min%s", what);
    if (num(schema, key, &lim) && (double)n < lim)
        return fail(w, path, "must %s at least %g %s", verb, lim, unit);
    snprintf(key, sizeof key, "max%s", what);
    if (num(schema, key, &lim) && (double)n > lim)
        return fail(w, path, "must %s at most %g %s", verb, lim, unit);
    return 0;
}

static int check_string(struct walk *w, struct json_object *schema, struct json_object *inst,
                        const char *path)
{
    const char *s = json_object_get_string(inst);
    size_t len = (size_t)json_object_get_string_len(inst);
    if (check_count(w, schema, path, utf8_len(s), "Length", "be", "characters long") < 0)
        return -1;
    const char *pattern = json_get_string(schema, "pattern");
    if (pattern) {
        enum pattern_rc m = pattern_match(pattern, s, len);
        if (m == PATTERN_NO)
            return fail(w, path, "must match the pattern %.120s", pattern);
        if (m == PATTERN_TOO_COSTLY)
            return fail(w, path,
                        "cannot be checked against the pattern %.120s: too long or "
                        "too complex a match",
                        pattern);
    }
    return 0;
}

static int check_array(struct walk *w, struct json_object *schema, struct json_object *inst,
                       const char *path, int depth)
{
    size_t n = json_object_array_length(inst);
    if (check_count(w, schema, path, n, "Items", "have", "items") < 0)
        return -1;
    if (flag(schema, "uniqueItems") && check_unique(w, inst, path) < 0)
        return -1;
    struct json_object *prefix = json_get(schema, "prefixItems", json_type_array);
    struct json_object *items = NULL;
    json_object_object_get_ex(schema, "items", &items);
    if (json_object_is_type(items, json_type_array)) { /* draft 4 tuple */
        prefix = items;
        items = NULL;
    }
    size_t np = prefix ? json_object_array_length(prefix) : 0;
    char sub[512];
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = i < np ? json_object_array_get_idx(prefix, i) : items;
        if (!s)
            continue;
        path_index(sub, sizeof sub, path, i);
        if (check(w, s, json_object_array_get_idx(inst, i), sub, depth + 1) < 0)
            return -1;
    }
    return 0;
}

static int check_object(struct walk *w, struct json_object *schema, struct json_object *inst,
                        const char *path, int depth)
{
    char sub[512];
    size_t n = (size_t)json_object_object_length(inst);
    if (check_count(w, schema, path, n, "Properties", "have", "properties") < 0)
        return -1;
    struct json_object *req = json_get(schema, "required", json_type_array);
    for (size_t i = 0; req && i < json_object_array_length(req); i++) {
        const char *k = json_object_get_string(json_object_array_get_idx(req, i));
        if (k && !json_object_object_get_ex(inst, k, NULL)) {
            path_key(sub, sizeof sub, path, k);
            return fail(w, sub, "is required");
        }
    }
    struct json_object *props = json_get(schema, "properties", json_type_object);
    struct json_object *extra = NULL;
    json_object_object_get_ex(schema, "additionalProperties", &extra);
    json_object_object_foreach(inst, key, val)
    {
        struct json_object *ps = NULL;
        path_key(sub, sizeof sub, path, key);
        if (props && json_object_object_get_ex(props, key, &ps)) {
            if (check(w, ps, val, sub, depth + 1) < 0)
                return -1;
        } else if (json_object_is_type(extra, json_type_boolean)) {
            if (!json_object_get_boolean(extra))
                return fail(w, sub, "is not a known %s (unexpected property)",
                            *path ? "property" : "argument");
        } else if (json_object_is_type(extra, json_type_object)) {
            if (check(w, extra, val, sub, depth + 1) < 0)
                return -1;
        }
    }
    return 0;
}

/* allOf, anyOf, oneOf, not. */
static int check_combinators(struct walk *w, struct json_object *schema, struct json_object *inst,
                             const char *path, int depth)
{
    struct json_object *list = json_get(schema, "allOf", json_type_array);
    for (size_t i = 0; list && i < json_object_array_length(list); i++)
        if (check(w, json_object_array_get_idx(list, i), inst, path, depth + 1) < 0)
            return -1;
    char first[256] = "";
    struct walk scratch = {
        .root = w->root, .why = first, .whylen = sizeof first, .steps = w->steps};
    list = json_get(schema, "anyOf", json_type_array);
    if (list && json_object_array_length(list) > 0) {
        int any = 0;
        for (size_t i = 0; !any && i < json_object_array_length(list); i++) {
            char msg[256];
            struct walk one = {
                .root = w->root, .why = msg, .whylen = sizeof msg, .steps = w->steps};
            any = check(&one, json_object_array_get_idx(list, i), inst, path, depth + 1) == 0;
            if (!any && !first[0])
                snprintf(first, sizeof first, "%s", msg);
        }
        if (!any)
            return fail(w, path, "matches none of the allowed forms (anyOf), e.g. %s", first);
    }
    list = json_get(schema, "oneOf", json_type_array);
    if (list && json_object_array_length(list) > 0) {
        int matched = 0;
        first[0] = '\0';
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            char msg[256];
            struct walk one = {
                .root = w->root, .why = msg, .whylen = sizeof msg, .steps = w->steps};
            if (check(&one, json_object_array_get_idx(list, i), inst, path, depth + 1) == 0)
                matched++;
            else if (!first[0])
                snprintf(first, sizeof first, "%s", msg);
        }
        if (matched == 0)
            return fail(w, path, "matches none of the allowed forms (oneOf), e.g. %s", first);
        if (matched > 1)
            return fail(w, path, "matches more than one of the exclusive forms (oneOf)");
    }
    struct json_object *not = NULL;
    if (json_object_object_get_ex(schema, "not", &not ) &&
        check(&scratch, not, inst, path, depth + 1) == 0)
        return fail(w, path, "matches a form that is not allowed (not)");
    return 0;
}

static int check(struct walk *w, struct json_object *schema, struct json_object *inst,
                 const char *path, int depth)
{
    if (depth > SCHEMA_MAX_DEPTH)
        return fail(w, path, "is nested too deeply (or the schema refers to itself)");
    if (++*w->steps > SCHEMA_MAX_STEPS)
        return fail(w, path, "cannot be checked: the schema is too complex");
    if (json_object_is_type(schema, json_type_boolean))
        return json_object_get_boolean(schema) ? 0 : fail(w, path, "is not allowed here");
    if (!json_object_is_type(schema, json_type_object))
        return 0;
    const char *ref = json_get_string(schema, "$ref");
    if (ref) {
        struct json_object *target = tool_schema_resolve(w->root, ref);
        if (!target)
            return fail(w, path, "cannot be checked: the schema's $ref %.100s does not resolve",
                        ref);
        if (check(w, target, inst, path, depth + 1) < 0)
            return -1;
    }
    if (check_type(w, schema, inst, path) < 0 || check_enum(w, schema, inst, path) < 0)
        return -1;
    if (!inst) /* null passed the type check: nothing else applies to it */
        return check_combinators(w, schema, inst, path, depth);
    int rc = 0;
    switch (json_object_get_type(inst)) {
    case json_type_int:
    case json_type_double:
        rc = check_number(w, schema, inst, path);
        break;
    case json_type_string:
        rc = check_string(w, schema, inst, path);
        break;
    case json_type_array:
        rc = check_array(w, schema, inst, path, depth);
        break;
    case json_type_object:
        rc = check_object(w, schema, inst, path, depth);
        break;
    case json_type_null:
    case json_type_boolean:
        break;
    }
    if (rc < 0)
        return -1;
    return check_combinators(w, schema, inst, path, depth);
}

int tool_schema_validate(struct json_object *root, struct json_object *schema,
                         struct json_object *instance, struct mg_error *err)
{
    unsigned long steps = 0;
    char why[512] = ""; /* the walk's message, as long as it always was */
    struct walk w = {.root = root, .why = why, .whylen = sizeof why, .steps = &steps};
    int rc = check(&w, schema, instance, "", 0);
    if (steps > SCHEMA_MAX_STEPS) /* even where "not" turned the failure into a pass */
        return mg_error_set(err, 400, 0, "arguments: cannot be checked: the schema is too complex");
    return rc < 0 ? mg_error_set(err, 400, 0, "%s", why) : rc;
}
