/*
 * tests/unit/test_catalog.c - list cursors (format, tampering, other
 * lists and keys), base64url decoding, HMAC-SHA256, the page_size setting,
 * URI template matching and prompt argument checks.
 */
#include <stdlib.h>
#include <string.h>

#include "mcp/catalog.h"
#include "tap.h"
#include "tools/catalog.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/json.h"

static struct json_object *read_any(struct tool_ctx *ctx, const char *uri, struct json_object *vars)
{
    (void)ctx;
    (void)uri;
    (void)vars;
    return json_object_new_object();
}

static struct json_object *get_any(struct tool_ctx *ctx, struct json_object *args)
{
    (void)ctx;
    (void)args;
    return json_object_new_object();
}

static const struct tool_resource_def resources[] = {
    {.uri = "test://fixed", .name = "fixed", .read = read_any},
};

static const struct tool_template_def templates[] = {
    {.uri_template = "test://t/{a}/x/{b}", .name = "two", .read = read_any},
    {.uri_template = "test://t/{a}", .name = "one", .read = read_any},
};

static const struct tool_prompt_arg args[] = {
    {.name = "need", .required = 1},
    {.name = "may", .required = 0},
};

static const struct tool_prompt_def prompts[] = {
    {.name = "p", .description = "d", .args = args, .n_args = 2, .get = get_any},
};

static void test_crypto(void)
{
    unsigned char out[64];
    is_int(crypto_b64url_decode("Zm9vYmFy", 8, out), 6, "decode foobar");
    ok(memcmp(out, "foobar", 6) == 0, "decoded bytes");
    is_int(crypto_b64url_decode("-_8", 3, out), 2, "decode the URL alphabet");
    ok(out[0] == 0xfb && out[1] == 0xff, "decoded -_8");
    is_int(crypto_b64url_decode("Zg", 2, out), 1, "decode one byte");
    is_int(crypto_b64url_decode("Zh", 2, out), -1, "non-zero trailing bits are refused");
    is_int(crypto_b64url_decode("Zm9vY", 5, out), -1, "a length no encoder makes is refused");
    is_int(crypto_b64url_decode("Zm9v+mFy", 8, out), -1, "'+' is not base64url");
    is_int(crypto_b64url_decode("Zm9vYmE=", 8, out), -1, "padding is refused");
    /* RFC 4231 test case 2 */
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    crypto_hex_encode(mac, sizeof mac, hex);
    is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           "HMAC-SHA256 RFC 4231 case 2");
}

static void test_cursor(void)
{
    unsigned char key[STORE_SECRET_LEN], other[STORE_SECRET_LEN];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    char c[MCP_CURSOR_LEN + 1];
    unsigned off = 0;
    mcp_cursor_encode(key, MCP_LIST_TOOLS, 100, c);
    is_int((long long)strlen(c), MCP_CURSOR_LEN, "cursor length");
    ok(mcp_cursor_decode(key, MCP_LIST_TOOLS, c, &off) == 0 && off == 100, "round trip");
    ok(mcp_cursor_decode(key, MCP_LIST_PROMPTS, c, &off) < 0, "another list's cursor");
    ok(mcp_cursor_decode(other, MCP_LIST_TOOLS, c, &off) < 0, "another key's cursor");
    char t[MCP_CURSOR_LEN + 2];
    int refused = 0;
    for (int i = 0; i < MCP_CURSOR_LEN; i++) {
        memcpy(t, c, sizeof c);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        refused += mcp_cursor_decode(key, MCP_LIST_TOOLS, t, &off) < 0;
    }
    is_int(refused, MCP_CURSOR_LEN, "every one-character change is refused");
    memcpy(t, c, sizeof c);
    t[MCP_CURSOR_LEN - 1] = '\0';
    ok(mcp_cursor_decode(key, MCP_LIST_TOOLS, t, &off) < 0, "truncated");
    memcpy(t, c, sizeof c);
    t[MCP_CURSOR_LEN] = 'A';
    t[MCP_CURSOR_LEN + 1] = '\0';
    ok(mcp_cursor_decode(key, MCP_LIST_TOOLS, t, &off) < 0, "one character more");
    ok(mcp_cursor_decode(key, MCP_LIST_TOOLS, "", &off) < 0, "empty");
    mcp_cursor_encode(key, MCP_LIST_RESOURCES, 0xfffffffeu, c);
    ok(mcp_cursor_decode(key, MCP_LIST_RESOURCES, c, &off) == 0 && off == 0xfffffffeu,
       "large offsets survive");
}

static const char *resolve(const char *uri, const char **var_a)
{
    const struct tool_resource_def *r = NULL;
    const struct tool_template_def *t = NULL;
    struct json_object *vars = NULL;
    static char a[64];
    if (tool_resource_resolve(uri, &r, &t, &vars) < 0)
        return NULL;
    const char *v = json_get_string(vars, "a");
    snprintf(a, sizeof a, "%s", v ? v : "");
    *var_a = a;
    const char *name = r ? r->name : t->name;
    json_object_put(vars);
    return name;
}

static void test_templates(void)
{
    tool_resources_add(resources, 1);
    tool_templates_add(templates, 2);
    const char *a = NULL;
    is_str(resolve("test://fixed", &a), "fixed", "a fixed resource");
    is_str(resolve("test://t/1/x/2", &a), "two", "two variables");
    is_str(a, "1", "first variable");
    is_str(resolve("test://t/abc", &a), "one", "one variable");
    is_str(a, "abc", "its value");
    ok(resolve("test://t/", &a) == NULL, "a variable needs a character");
    ok(resolve("test://t/a/b", &a) == NULL, "a variable takes no slash");
    ok(resolve("test://t/1/x/", &a) == NULL, "nor does the second");
    ok(resolve("test://fixed/", &a) == NULL, "no prefix matches");
    ok(tool_template_find("test://t/{a}") == &templates[1], "find a template by its text");
    ok(tool_template_has_var(&templates[0], "b") && !tool_template_has_var(&templates[0], "c"),
       "template variables");
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    memcpy(big, "test://t/", 9);
    ok(resolve(big, &a) == NULL, "an over-long URI matches nothing");
    free(big);
}

static void test_prompt_args(void)
{
    tool_prompts_add(prompts, 1);
    const struct tool_prompt_def *p = tool_prompt_find("p");
    struct mg_error why = MG_ERROR_INIT;
    struct json_object *o = json_tokener_parse("{\"need\":\"x\"}");
    ok(tool_prompt_check_args(p, o, &why) == 0, "required argument given");
    json_object_put(o);
    ok(tool_prompt_check_args(p, NULL, &why) < 0, "required argument missing");
    o = json_tokener_parse("{\"need\":\"x\",\"other\":\"y\"}");
    ok(tool_prompt_check_args(p, o, &why) < 0, "undeclared argument: %s", why.msg);
    json_object_put(o);
    o = json_tokener_parse("{\"need\":3}");
    ok(tool_prompt_check_args(p, o, &why) < 0, "non-string value: %s", why.msg);
    json_object_put(o);
    o = json_tokener_parse("[\"x\"]");
    ok(tool_prompt_check_args(p, o, &why) < 0, "not an object: %s", why.msg);
    json_object_put(o);
    static const char *const cands[] = {"Paris", "park", "Rome", NULL};
    struct json_object *v = tool_complete_prefix(cands, "pa");
    is_str(json_text(v, NULL), "[\"Paris\",\"park\"]", "prefix completion ignores case");
    json_object_put(v);
}

static void test_page_size(void)
{
    struct mg_config cfg;
    struct mg_error err = MG_ERROR_INIT;
    config_defaults(&cfg);
    is_int(cfg.page_size, 100, "page_size defaults to 100");
    ok(config_set(&cfg, "page_size", "2", &err) == 0 && cfg.page_size == 2, "page_size = 2");
    ok(config_set(&cfg, "page_size", "0", &err) < 0, "page_size 0 is refused: %s", err.msg);
    ok(config_set(&cfg, "page_size", "1001", &err) < 0, "page_size 1001 is refused");
}

int main(void)
{
    test_crypto();
    test_page_size();
    test_cursor();
    test_templates();
    test_prompt_args();
    return tap_done();
}
