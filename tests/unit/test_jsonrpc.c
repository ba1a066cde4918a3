/*
 * tests/unit/test_jsonrpc.c - JSON-RPC classification and strict parsing.
 */
#include "mcp/jsonrpc.h"
#include "tap.h"
#include "util/json.h"

static enum jsonrpc_kind kind_of(const char *text, const char **why)
{
    struct json_object *o = NULL;
    static struct mg_error perr;
    if (json_parse_strict(text, strlen(text), &o, &perr) < 0) {
        *why = perr.msg;
        return (enum jsonrpc_kind) - 1;
    }
    struct jsonrpc_msg m;
    jsonrpc_classify(o, &m);
    *why = m.why;
    json_object_put(o);
    return m.kind;
}

static void check_kind(const char *text, enum jsonrpc_kind want, const char *what)
{
    const char *why = NULL;
    enum jsonrpc_kind got = kind_of(text, &why);
    if (!ok(got == want, "%s", what))
        printf("#   text: %s\n#   kind %d, why: %s\n", text, (int)got, why ? why : "-");
}

static void test_classify(void)
{
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", JSONRPC_REQUEST,
               "request with integer id");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\",\"params\":{}}",
               JSONRPC_REQUEST, "request with string id and params");
    check_kind("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
               JSONRPC_NOTIFICATION, "notification");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", JSONRPC_RESPONSE, "result response");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"x\"}}",
               JSONRPC_RESPONSE, "error response");
    check_kind("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", JSONRPC_INVALID,
               "jsonrpc 1.0 refused");
    check_kind("{\"id\":1,\"method\":\"ping\"}", JSONRPC_INVALID, "missing jsonrpc refused");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", JSONRPC_INVALID,
               "null id refused (MCP)");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", JSONRPC_INVALID,
               "fractional id refused");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", JSONRPC_INVALID,
               "object id refused");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", JSONRPC_INVALID,
               "non-string method refused");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":3}", JSONRPC_INVALID,
               "scalar params refused");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}", JSONRPC_INVALID,
               "result and error together refused");
    check_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\"}}", JSONRPC_INVALID,
               "malformed error object refused");
    check_kind("{\"jsonrpc\":\"2.0\"}", JSONRPC_INVALID, "empty message refused");
    check_kind("[1]", JSONRPC_INVALID, "array is not a message");

    struct json_object *o = NULL;
    const char *t = "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"x\"}";
    if (json_parse_strict(t, strlen(t), &o, NULL) == 0) {
        struct jsonrpc_msg m;
        jsonrpc_classify(o, &m);
        ok(m.id && json_object_get_int(m.id) == 7, "a valid id is kept for the error reply");
        json_object_put(o);
    }
}

static void check_parse_fails(const char *text, size_t len, const char *what)
{
    struct json_object *o = NULL;
    struct mg_error err = MG_ERROR_INIT;
    int rc = json_parse_strict(text, len, &o, &err);
    if (!ok(rc < 0 && err.msg[0], "%s: %s", what, err.msg))
        json_object_put(o);
}

static void test_parse(void)
{
    check_parse_fails("", 0, "empty text refused");
    check_parse_fails("{", 1, "truncated text refused");
    check_parse_fails("{\"a\":1} x", 9, "trailing data refused");
    check_parse_fails("{\"a\":1}\0", 8, "trailing NUL refused");
    check_parse_fails("{'a':1}", 7, "single quotes refused");
    check_parse_fails("{\"a\":\"\xff\"}", 9, "invalid UTF-8 refused");
    check_parse_fails("{\"a\":\"\xc0\xaf\"}", 10, "overlong UTF-8 refused");
    check_parse_fails("[NaN]", 5, "NaN refused");
    check_parse_fails("[Infinity]", 10, "Infinity refused");
    check_parse_fails("[\"a\tb\"]", 7, "raw control character in a string refused");
    check_parse_fails("{\"a\":\"\xed\xa0\x80\"}", 10, "UTF-8 surrogate refused");
    check_parse_fails("{\"a\":\"\xf4\x90\x80\x80\"}", 11, "code point above U+10FFFF refused");
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    check_parse_fails(deep, sizeof deep, "nesting deeper than the limit refused");

    struct json_object *o = NULL;
    const char *t = " {\"a\":[1,2,{\"b\":\"\xc3\xa9\"}]} \r\n";
    ok(json_parse_strict(t, strlen(t), &o, NULL) == 0 && o, "valid JSON with UTF-8 accepted");
    json_object_put(o);
    memset(deep, '[', 60);
    memset(deep + 60, ']', 60);
    o = NULL;
    ok(json_parse_strict(deep, 120, &o, NULL) == 0, "nesting of 60 accepted");
    json_object_put(o);
}

/* json_parse_request(): what a client may not send; backends' answers
 * (json_parse_strict) keep it. */
static void test_parse_request(void)
{
    static const struct {
        const char *text;
        int strict_ok, request_ok;
        const char *what;
    } cases[] = {
        {"{\"method\":\"ping\\u0000x\"}", 1, 0, "U+0000 in a string"},
        {"{\"a\\u0000\":1}", 1, 0, "U+0000 in a member name"},
        {"[\"\\\\u0000\"]", 1, 1, "an escaped backslash before u0000 is no escape"},
        {"[\"\\u00001\"]", 1, 0, "U+0000 followed by a digit"},
        {"[\"\\u0001\"]", 1, 1, "U+0001 is fine"},
        {"[123456789012345678901234567890]", 1, 0, "an integer beyond uint64"},
        {"[-123456789012345678901234567890]", 1, 0, "an integer below int64"},
        {"[18446744073709551615]", 1, 1, "the largest uint64"},
        {"[18446744073709551616]", 1, 0, "the largest uint64 plus one"},
        {"[-9223372036854775808]", 1, 1, "the smallest int64"},
        {"[-9223372036854775809]", 1, 0, "the smallest int64 minus one"},
        {"[1e400,123456789012345678901234567890.5]", 1, 1, "numbers with a fraction or exponent"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_object *o = NULL;
        size_t n = strlen(cases[i].text);
        int s = json_parse_strict(cases[i].text, n, &o, NULL) == 0;
        json_object_put(o);
        o = NULL;
        int r = json_parse_request(cases[i].text, n, &o, NULL) == 0;
        json_object_put(o);
        ok(s == cases[i].strict_ok && r == cases[i].request_ok, "%s: strict %s, request %s",
           cases[i].what, s ? "accepts" : "refuses", r ? "accepts" : "refuses");
    }
}

static void test_utf8(void)
{
    ok(json_utf8_valid("a\xc3\xa9\xe2\x82\xac", 6) && !json_utf8_valid("\xc3", 1) &&
           !json_utf8_valid("\xff", 1) && !json_utf8_valid("\xed\xa0\x80", 3),
       "json_utf8_valid");
    is_int((long long)json_utf8_cut("a\xc3\xa9"
                                    "b",
                                    2),
           1, "a cut inside a character backs off");
    is_int((long long)json_utf8_cut("a\xc3\xa9"
                                    "b",
                                    3),
           3, "a cut after a character stays");
    is_int((long long)json_utf8_cut("a\xe2\x82\xac", 3), 1, "three-byte character");
    is_int((long long)json_utf8_cut("ab", 10), 2, "a short string is whole");
    is_int((long long)json_utf8_cut("ab", 2), 2, "exactly max");
    /* a string quoting a cut name: the text written is valid UTF-8 */
    struct json_object *o = json_object_new_object();
    json_add(o, "m", json_object_new_string("x\xc3\xa9\xc3"));
    json_add(o, "h", json_object_new_string("\xff\xfe ok"));
    size_t len = 0;
    const char *text = json_text(o, &len);
    is_str(text, "{\"m\":\"x\xc3\xa9?\",\"h\":\"?? ok\"}", "json_text mends what is not UTF-8");
    ok(len == strlen(text) && json_utf8_valid(text, len), "...and says its length");
    json_object_put(o);
    /* bad bytes after, between and at the end of long ASCII runs (read eight at a time) */
    o = json_object_new_string("0123456789abcdef\x80"
                               "0123456789\xc3\xa9"
                               "01234567\xe2\x82");
    is_str(json_text(o, NULL),
           "\"0123456789abcdef?0123456789\xc3\xa9"
           "01234567??\"",
           "json_text mends bytes after long ASCII runs");
    json_object_put(o);
}

static void test_build(void)
{
    struct json_object *id = json_object_new_string("x");
    struct json_object *e = jsonrpc_error(id, JSONRPC_METHOD_NOT_FOUND, "nope");
    is_str(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN),
           "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":-32601,\"message\":\"nope\"}}",
           "error response shape");
    json_object_put(e);
    struct json_object *r = jsonrpc_result(id, json_object_new_object());
    is_str(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
           "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{}}", "result response shape");
    json_object_put(r);
    json_object_put(id);
    e = jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "bad");
    is_str(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN),
           "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"bad\"}}",
           "error without id has id null");
    json_object_put(e);
}

int main(void)
{
    test_classify();
    test_parse();
    test_parse_request();
    test_utf8();
    test_build();
    return tap_done();
}
