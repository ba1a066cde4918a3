/*
 * tests/unit/test_schema.c - the inputSchema validator (tools/schema.h), the
 * private-address check, tool name rules (tools/backend.h) and how a credential
 * goes on a request (tools/credentials.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tap.h"
#include "tools/credentials.h"
#include "tools/names.h"
#include "tools/schema.h"
#include "util/net.h"

static struct mg_error err;

/* 1 when instance (JSON text) is valid against schema (JSON text). */
static int valid(const char *schema, const char *instance)
{
    struct json_object *s = json_tokener_parse(schema);
    struct json_object *i = json_tokener_parse(instance);
    memset(&err, 0, sizeof err);
    int rc = tool_schema_validate(s, s, i, &err);
    json_object_put(s);
    json_object_put(i);
    return rc == 0;
}

static void yes(const char *schema, const char *instance)
{
    if (!ok(valid(schema, instance), "valid: %s against %s", instance, schema))
        printf("#   why: %s\n", err.msg);
}

/* Invalid, with a message that contains want. */
static void no(const char *schema, const char *instance, const char *want)
{
    int v = valid(schema, instance);
    if (!ok(!v && strstr(err.msg, want), "invalid: %s against %s (\"%s\")", instance, schema, want))
        printf("#   why: %s\n", err.msg);
}

static void types(void)
{
    yes("{\"type\":\"string\"}", "\"a\"");
    no("{\"type\":\"string\"}", "1", "must be of type string");
    yes("{\"type\":\"integer\"}", "3");
    yes("{\"type\":\"integer\"}", "3.0");
    no("{\"type\":\"integer\"}", "3.5", "integer");
    yes("{\"type\":\"number\"}", "3");
    no("{\"type\":\"boolean\"}", "\"true\"", "boolean");
    yes("{\"type\":[\"string\",\"null\"]}", "null");
    no("{\"type\":[\"string\",\"null\"]}", "1", "\"string\", \"null\"");
    yes("{\"type\":\"string\",\"nullable\":true}", "null");
    no("{\"type\":\"string\"}", "null", "string");
    yes("true", "{}");
    no("false", "1", "not allowed");
}

static void objects(void)
{
    const char *s = "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":"
                    "\"string\"},\"n\":{\"type\":\"integer\"}},\"additionalProperties\":false}";
    yes(s, "{\"id\":\"x\",\"n\":1}");
    no(s, "{\"n\":1}", "id: is required");
    no(s, "{\"id\":\"x\",\"zz\":1}", "zz: is not a known argument");
    no(s, "{\"id\":\"x\",\"n\":\"1\"}", "n: must be of type integer");
    yes("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}",
        "{\"a\":1,\"b\":2}");
    no("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a\":\"x\"}",
       "a: must be of type integer");
    no("{\"type\":\"object\",\"properties\":{\"o\":{\"type\":\"object\",\"properties\":{\"p\":{"
       "\"type\":\"string\"}}}}}",
       "{\"o\":{\"p\":1}}", "o.p: must be");
    no("{\"minProperties\":2}", "{\"a\":1}", "at least 2 properties");
}

static void numbers_strings(void)
{
    yes("{\"minimum\":1,\"maximum\":100}", "100");
    no("{\"minimum\":1,\"maximum\":100}", "101", "at most 100");
    no("{\"minimum\":1}", "0", "at least 1");
    no("{\"exclusiveMinimum\":1}", "1", "greater than 1");
    no("{\"minimum\":1,\"exclusiveMinimum\":true}", "1", "greater than 1"); /* draft 4 */
    no("{\"exclusiveMaximum\":5}", "5", "less than 5");
    yes("{\"multipleOf\":0.5}", "2.5");
    no("{\"multipleOf\":2}", "3", "multiple of 2");
    /* a quotient beyond long long is refused, not converted (undefined
     * behaviour; tests/fuzz/corpus/schema/bug-multipleof-overflow) */
    no("{\"multipleOf\":5e-117}", "2.5", "multiple of");
    no("{\"multipleOf\":1e-300}", "1e300", "multiple of");
    yes("{\"minLength\":2,\"maxLength\":3}", "\"\xc3\xa4\xc3\xb6\xc3\xbc\""); /* 3 code points */
    no("{\"maxLength\":2}", "\"abc\"", "at most 2 characters");
    no("{\"minLength\":1}", "\"\"", "at least 1 characters");
    yes("{\"pattern\":\"^[a-z]+\\\\d{2}$\"}", "\"ab12\"");
    no("{\"pattern\":\"^[a-z]+\\\\d{2}$\"}", "\"ab1\"", "pattern");
    yes("{\"pattern\":\"^(?:ab)+$\"}", "\"abab\"");
    yes("{\"pattern\":\"^[\\\\w.-]+$\"}", "\"a_b.c-d\"");
    yes("{\"format\":\"email\"}", "\"not an email\""); /* format: not enforced */
}

/* "\"" + n bytes cycling through chars + "\"" */
static char *json_string_of(size_t n, const char *chars)
{
    char *s = malloc(n + 3);
    if (!s)
        abort();
    s[0] = '"';
    for (size_t i = 0; i < n; i++)
        s[1 + i] = chars[i % strlen(chars)];
    strcpy(s + 1 + n, "\"");
    return s;
}

static void patterns(void)
{
    /* ECMA-262 features PCRE2 enforces */
    yes("{\"pattern\":\"(?<=x)y\"}", "\"xy\"");
    no("{\"pattern\":\"(?<=x)y\"}", "\"anything\"", "must match the pattern (?<=x)y");
    yes("{\"pattern\":\"^(?!-)[a-z-]+$\"}", "\"a-b\"");
    no("{\"pattern\":\"^(?!-)[a-z-]+$\"}", "\"-ab\"", "pattern");
    yes("{\"pattern\":\"^(a+)-\\\\1$\"}", "\"aa-aa\"");
    no("{\"pattern\":\"^(a+)-\\\\1$\"}", "\"aa-a\"", "pattern");
    yes("{\"pattern\":\"^\\\\u00e9\\\\x41$\"}", "\"\xc3\xa9"
                                                "A\"");
    yes("{\"pattern\":\"^.$\"}", "\"\xc3\xa9\"");       /* one code point */
    no("{\"pattern\":\"^a$\"}", "\"a\\n\"", "pattern"); /* "$" only at the end */
    yes("{\"pattern\":\"^[^]$\"}", "\"\\n\"");
    yes("{\"pattern\":\"^a+?$\"}", "\"aaa\"");
    /* a pattern that does not compile, or is too long, is not enforced */
    yes("{\"pattern\":\"(unclosed\"}", "\"x\"");
    char long_pattern[SCHEMA_PATTERN_MAX_LEN + 64];
    snprintf(long_pattern, sizeof long_pattern, "{\"pattern\":\"^%0*d$\"}", SCHEMA_PATTERN_MAX_LEN,
             0);
    yes(long_pattern, "\"x\"");
    /* catastrophic backtracking stops at the bounds: the value is refused */
    char *ab = json_string_of(65536, "ab");
    no("{\"pattern\":\"^(a|b)*a(a|b){20}$\"}", ab, "cannot be checked against the pattern");
    no("{\"pattern\":\"^(a|b|ab)*c$\"}", ab, "cannot be checked against the pattern");
    free(ab);
    char *b64 = json_string_of(200000, "QUJDabc+/09");
    yes("{\"pattern\":\"^[A-Za-z0-9+/=]*$\"}", b64); /* a long value, a simple pattern */
    free(b64);
}

static void enums_arrays(void)
{
    yes("{\"enum\":[\"a\",1,null]}", "1");
    yes("{\"enum\":[\"a\",1.0]}", "1");
    no("{\"enum\":[\"a\",\"b\"]}", "\"c\"", "one of \"a\", \"b\"");
    no("{\"const\":\"x\"}", "\"y\"", "must be \"x\"");
    const char *a = "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,"
                    "\"maxItems\":2,\"uniqueItems\":true}";
    yes(a, "[1,2]");
    no(a, "[]", "at least 1 items");
    no(a, "[1,2,3]", "at most 2 items");
    no(a, "[1,1]", "same item twice");
    no(a, "[1,\"x\"]", "arguments[1]: must be of type integer");
    no("{\"prefixItems\":[{\"type\":\"string\"}]}", "[1]", "[0]");
    no("{\"items\":[{\"type\":\"string\"}]}", "[1]", "[0]"); /* draft 4 tuple */
}

/* valid()/no() without printing the (long) instance in the description. */
static int valid_quiet(const char *schema, const char *instance, const char *what, const char *want)
{
    int v = valid(schema, instance);
    int good = want ? !v && strstr(err.msg, want) != NULL : v;
    if (!ok(good, "%s", what))
        printf("#   why: %s\n", err.msg);
    return good;
}

/* An array of n items as JSON text: item(i) each, written into a new buffer. */
static char *array_text(size_t n, int (*item)(char *out, size_t cap, size_t i))
{
    size_t cap = n * 48 + 16, len = 0;
    char *text = malloc(cap);
    if (!text)
        abort();
    text[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            text[len++] = ',';
        len += (size_t)item(text + len, cap - len, i);
    }
    text[len++] = ']';
    text[len] = '\0';
    return text;
}

static int int_item(char *out, size_t cap, size_t i)
{
    return snprintf(out, cap, "%zu", i);
}

static int object_item(char *out, size_t cap, size_t i)
{
    /* members in two orders: the same object either way */
    return i % 2 ? snprintf(out, cap, "{\"a\":%zu,\"b\":[%zu]}", i / 2, i / 2)
                 : snprintf(out, cap, "{\"b\":[%zu],\"a\":%zu}", i / 2, i / 2);
}

static int repeat_item(char *out, size_t cap, size_t i)
{
    return snprintf(out, cap, "%zu", i % 1000);
}

/* uniqueItems: equality as before (1 == 1.0 at the top, members in any
 * order), in O(n log n), and counted by the schema's step bound. */
static void unique_items(void)
{
    const char *u = "{\"type\":\"array\",\"uniqueItems\":true}";
    no(u, "[1,1.0]", "same item twice");
    no(u, "[0,-0.0]", "same item twice");
    no(u, "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]", "same item twice");
    no(u, "[[1,{\"x\":null}],[1,{\"x\":null}]]", "same item twice");
    yes(u, "[[1],[1.0]]"); /* within arrays, json_object_equal: 1 and 1.0 differ */
    yes(u, "[{\"a\":1},{\"a\":2},{\"b\":1},[1,2],[2,1],\"1\",1,true,null]");
    yes(u, "[\"ab\",\"ba\",\"a\",\"b\",\"\"]");

    char *big = array_text(40000, int_item); /* 22 s of CPU when compared pairwise */
    valid_quiet(u, big, "40,000 distinct integers are unique", NULL);
    free(big);
    big = array_text(40000, repeat_item);
    valid_quiet(u, big, "40,000 integers with repeats are not unique", "same item twice");
    free(big);
    big = array_text(2000, object_item);
    valid_quiet(u, big, "objects equal but for member order are the same item", "same item twice");
    free(big);

    /* each item of a uniqueItems check is a step: 120 failing branches of
     * 1,000 items each pass SCHEMA_MAX_STEPS (100,000) */
    char schema[8192];
    size_t len = (size_t)snprintf(schema, sizeof schema, "{\"anyOf\":[");
    for (int b = 0; b < 120; b++)
        len += (size_t)snprintf(schema + len, sizeof schema - len,
                                "%s{\"uniqueItems\":true,\"items\":{\"type\":\"string\"}}",
                                b ? "," : "");
    snprintf(schema + len, sizeof schema - len, "]}");
    big = array_text(1000, int_item);
    valid_quiet(schema, big, "uniqueItems counts its items as steps of the schema walk",
                "too complex");
    free(big);
}

static void combinators_refs(void)
{
    const char *any = "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}";
    yes(any, "1");
    no(any, "true", "anyOf");
    const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}";
    yes(one, "-1");
    no(one, "1", "more than one");
    no("{\"allOf\":[{\"minimum\":0},{\"maximum\":5}]}", "6", "at most 5");
    no("{\"not\":{\"type\":\"string\"}}", "\"x\"", "not allowed (not)");
    const char *ref = "{\"type\":\"object\",\"properties\":{\"pet\":{\"$ref\":\"#/$defs/Pet\"}},"
                      "\"$defs\":{\"Pet\":{\"type\":\"object\",\"required\":[\"name\"]}}}";
    yes(ref, "{\"pet\":{\"name\":\"Rex\"}}");
    no(ref, "{\"pet\":{}}", "pet.name: is required");
    no("{\"$ref\":\"#/definitions/missing\"}", "1", "does not resolve");
    const char *esc = "{\"$ref\":\"#/$defs/a~1b\",\"$defs\":{\"a/b\":{\"type\":\"string\"}}}";
    no(esc, "1", "string");
    const char *pct = "{\"$ref\":\"#/$defs/a%20b/anyOf/1\",\"$defs\":{\"a b\":"
                      "{\"anyOf\":[{},{\"type\":\"string\"}]}}}";
    no(pct, "1", "string");
    no("{\"$ref\":\"#/$defs/a%2\",\"$defs\":{}}", "1", "does not resolve");
    /* a schema that refers to itself ends instead of looping */
    const char *loop = "{\"$ref\":\"#\"}";
    no(loop, "1", "nested too deeply");
    const char *tree = "{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
                       "\"items\":{\"$ref\":\"#\"}}}}";
    yes(tree, "{\"kids\":[{\"kids\":[]}]}");
    no(tree, "{\"kids\":[{\"kids\":[1]}]}", "kids[0].kids[0]: must be of type object");
    /* combinators over a self-reference branch at each level: bounded work,
     * also under "not" (tests/fuzz/corpus/schema/bug-exponential-ref) */
    const char *fork = "{\"oneOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#\"}]}";
    no(fork, "1", "too complex");
    no("{\"not\":{\"oneOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#\"}]}}", "1", "too complex");
}

static int is_private(const char *addr)
{
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
        return net_addr_private(&s4);
    if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1)
        return net_addr_private(&s6);
    return -1;
}

static void addresses(void)
{
    const char *priv[] = {"127.0.0.1",       "10.1.2.3",        "172.16.0.1", "172.31.255.255",
                          "192.168.1.1",     "169.254.169.254", "100.64.0.1", "0.0.0.0",
                          "224.0.0.1",       "255.255.255.255", "::1",        "::",
                          "fe80::1",         "fc00::1",         "fd12::1",    "::ffff:127.0.0.1",
                          "::ffff:10.0.0.1", "64:ff9b::7f00:1", "ff02::1",    "192.0.2.1",
                          "198.18.0.1"};
    const char *pub[] = {
        "8.8.8.8",       "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
        "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof priv / sizeof priv[0]; i++)
        ok(is_private(priv[i]) == 1, "%s is not public", priv[i]);
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++)
        ok(is_private(pub[i]) == 0, "%s is public", pub[i]);
}

static void names(void)
{
    char out[129];
    tool_name_sanitize("listIdentities", 1, out, 128);
    is_str(out, "list_identities", "camelCase becomes snake_case");
    tool_name_sanitize("getHTTPServer", 1, out, 128);
    is_str(out, "get_http_server", "an acronym stays one word");
    tool_name_sanitize("get /v2/droplets/{id}", 1, out, 128);
    is_str(out, "get_v2_droplets_id", "other characters become one _");
    tool_name_sanitize("a.b-c", 0, out, 128);
    is_str(out, "a.b-c", ". and - are kept");
    tool_name_sanitize("abcdef", 0, out, 3);
    is_str(out, "abc", "cut to the maximum length");
    ok(tool_name_reserved("web_search") && tool_name_reserved("Code_Interpreter") &&
           tool_name_reserved("file_search") && tool_name_reserved("computer_use"),
       "ChatGPT's built-in tool names are reserved");
    ok(!tool_name_reserved("web_search_tool"), "a renamed tool is not reserved");
}

/* How each type of credential goes on a request. */
static void cred_put(void)
{
    char key_name[] = "X-Key", key_prefix[] = "Key ", param[] = "api key";
    struct backend_cred c = {.type = CRED_BEARER};
    struct buf h = {0}, q = {0};
    char *userpwd = NULL;
    ok(tool_cred_put(&c, "t0k", &h, &q, "", &userpwd) == 0, "bearer");
    is_str(buf_str(&h), "Authorization: Bearer t0k", "bearer: an Authorization header");
    buf_reset(&h);
    c = (struct backend_cred){.type = CRED_HEADER, .name = key_name, .prefix = key_prefix};
    ok(tool_cred_put(&c, "s", &h, &q, "", &userpwd) == 0, "header");
    is_str(buf_str(&h), "X-Key: Key s", "header: its name and prefix");
    buf_reset(&h);
    c = (struct backend_cred){.type = CRED_QUERY, .name = param};
    ok(tool_cred_put(&c, "a&b", &h, &q, "?", &userpwd) == 0 &&
           tool_cred_put(&c, "c", &h, &q, "&", &userpwd) == 0,
       "query");
    is_str(buf_str(&q), "?api%20key=a%26b&api%20key=c", "query: after sep, percent-encoded");
    ok(h.len == 0 && userpwd == NULL, "query: no header, no user");
    c = (struct backend_cred){.type = CRED_BASIC};
    ok(tool_cred_put(&c, "u:p", &h, &q, "", &userpwd) == 0 &&
           tool_cred_put(&c, "v:w", &h, &q, "", &userpwd) == 0 && strcmp(userpwd, "v:w") == 0,
       "basic: the last value is the user and password");
    free(userpwd);
    h.limit = 8;
    c = (struct backend_cred){.type = CRED_BEARER};
    ok(tool_cred_put(&c, "too long for the limit", &h, &q, "", &userpwd) < 0,
       "a header over the buffer's limit is refused");
    buf_free(&h);
    buf_free(&q);
}

int main(void)
{
    cred_put();
    types();
    objects();
    numbers_strings();
    patterns();
    enums_arrays();
    unique_items();
    combinators_refs();
    addresses();
    names();
    return tap_done();
}
