/*
 * tests/unit/test_form.c - http/form.c: form and query parsing, cookies,
 * HTTP Basic client credentials, percent-encoding.
 */
#include <stdio.h>
#include <string.h>

#include "http/form.h"
#include "tap.h"

/* Parses s; returns the parser's result and leaves the form in f. */
static int parse(const char *s, struct http_form *f, const char **why)
{
    static struct mg_error err;
    memset(&err, 0, sizeof err);
    int rc = http_form_parse(s, strlen(s), f, &err);
    *why = rc < 0 ? err.msg : NULL;
    return rc;
}

static void test_parse(void)
{
    struct http_form f;
    const char *why;
    ok(parse("a=1&b=two+words&c=%41%62%2b&d=x%3Dy=z", &f, &why) == 0, "a well-formed form parses");
    is_int(f.n, 4, "four fields");
    is_str(http_form_get(&f, "a"), "1", "plain value");
    is_str(http_form_get(&f, "b"), "two words", "'+' is a space");
    is_str(http_form_get(&f, "c"), "Ab+", "percent escapes in either case; %2B is a plus");
    is_str(http_form_get(&f, "d"), "x=y=z", "the value runs from the first '='");
    ok(http_form_get(&f, "e") == NULL, "an absent field is NULL");
    http_form_free(&f);

    ok(parse("&&a=&b&%61%5Fb=1&", &f, &why) == 0, "empty segments and values parse");
    is_int(f.n, 3, "empty segments are skipped");
    is_str(http_form_get(&f, "a"), "", "name= gives an empty value");
    is_str(http_form_get(&f, "b"), "", "a bare name gives an empty value");
    is_str(http_form_get(&f, "a_b"), "1", "names are percent-decoded too");
    is_int((long long)f.kv[0].value_len, 0, "value_len of an empty value");
    http_form_free(&f);

    ok(parse("", &f, &why) == 0 && f.n == 0, "an empty string is an empty form");
    http_form_free(&f);
    ok(parse("n%C3%A9=%E2%82%AC+%F0%9F%98%80", &f, &why) == 0, "UTF-8 names and values parse");
    is_str(http_form_get(&f, "n\xc3\xa9"), "\xe2\x82\xac \xf0\x9f\x98\x80", "UTF-8 decoded");
    http_form_free(&f);

    static const char *const bad[] = {"a=%zz", "a=%4",    "a=%",         "a=1&b=%g0",
                                      "%=1",   "a=x%00y", "a=%FF",       "a=%C0%AF",
                                      "%FF=1", "a=%C3",   "a=%ED%A0%80", "a=x\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i], &f, &why);
        ok(rc == -1 && f.n == 0 && why != NULL, "refused, nothing kept: %s (%s)", bad[i],
           why ? why : "no reason");
        http_form_free(&f);
    }

    ok(parse("a=1&b=2&a=3", &f, &why) == 0, "a repeated field parses");
    is_int(http_form_count(&f, "a"), 2, "http_form_count counts repeats");
    is_str(http_form_duplicate(&f), "a", "http_form_duplicate names it");
    is_str(http_form_get(&f, "a"), "1", "http_form_get gives the first");
    http_form_free(&f);
    ok(parse("a=1&b=2", &f, &why) == 0 && http_form_duplicate(&f) == NULL, "no duplicate: NULL");
    http_form_free(&f);
}

static void test_limits(void)
{
    struct http_form f;
    const char *why;
    char s[2048] = "";
    size_t o = 0;
    for (int i = 0; i < HTTP_FORM_MAX_FIELDS; i++)
        o += (size_t)snprintf(s + o, sizeof s - o, "%sf%d=%d", i ? "&" : "", i, i);
    ok(parse(s, &f, &why) == 0 && f.n == HTTP_FORM_MAX_FIELDS, "%d fields are accepted",
       HTTP_FORM_MAX_FIELDS);
    http_form_free(&f);
    snprintf(s + o, sizeof s - o, "&one=more");
    ok(parse(s, &f, &why) == -1 && f.n == 0, "one more is refused (%s)", why ? why : "");
    http_form_free(&f);

    char name[HTTP_FORM_MAX_NAME + 4];
    memset(name, 'n', HTTP_FORM_MAX_NAME);
    snprintf(name + HTTP_FORM_MAX_NAME, 4, "=v");
    ok(parse(name, &f, &why) == 0, "a name of %d characters is accepted", HTTP_FORM_MAX_NAME);
    http_form_free(&f);
    memset(name, 'n', HTTP_FORM_MAX_NAME + 1);
    snprintf(name + HTTP_FORM_MAX_NAME + 1, 3, "=v");
    ok(parse(name, &f, &why) == -1 && f.n == 0, "a longer name is refused (%s)", why ? why : "");
    http_form_free(&f);
}

static void test_cookies(void)
{
    char v[16];
    const char *h = "a=1; mcpgate_sessionx=no; mcpgate_session=yes ;b=2";
    ok(http_cookie_get(h, "mcpgate_session", v, sizeof v) == 0, "cookie found");
    is_str(v, "yes", "the exact name, not a longer one; trailing blanks dropped");
    ok(http_cookie_get(h, "a", v, sizeof v) == 0 && strcmp(v, "1") == 0, "first cookie");
    ok(http_cookie_get(h, "b", v, sizeof v) == 0 && strcmp(v, "2") == 0, "last cookie");
    ok(http_cookie_get(h, "c", v, sizeof v) == -1, "absent cookie");
    ok(http_cookie_get(NULL, "a", v, sizeof v) == -1, "no Cookie header");
    ok(http_cookie_get("a=; b=1", "a", v, sizeof v) == -1, "empty value counts as absent");
    ok(http_cookie_get("a=0123456789abcdef", "a", v, sizeof v) == -1,
       "a value that does not fit is refused, not cut");
    ok(http_cookie_get("a=0123456789abcde", "a", v, sizeof v) == 0, "a value that just fits");
}

static void test_basic(void)
{
    char id[32], secret[32];
    ok(http_basic_credentials("Basic Y2xpZW50OnNlY3JldA==", id, sizeof id, secret, sizeof secret) ==
           HTTP_BASIC_OK,
       "Basic credentials decode");
    is_str(id, "client", "client id");
    is_str(secret, "secret", "client secret");
    ok(http_basic_credentials("basic   bXklMjBpZDpzJTNBYw==", id, sizeof id, secret,
                              sizeof secret) == HTTP_BASIC_OK,
       "scheme is case-insensitive, blanks before the credentials skipped");
    is_str(id, "my id", "id is form-urlencoded (RFC 6749 section 2.3.1)");
    is_str(secret, "s:c", "secret is form-urlencoded, so it may hold a colon");
    ok(http_basic_credentials("Basic aWQrMTpwK3c=", id, sizeof id, secret, sizeof secret) ==
               HTTP_BASIC_OK &&
           strcmp(id, "id 1") == 0 && strcmp(secret, "p w") == 0,
       "'+' decodes to a space");
    is_int(http_basic_credentials("Bearer abc", id, sizeof id, secret, sizeof secret),
           HTTP_BASIC_ABSENT, "another scheme: absent");
    is_int(http_basic_credentials(NULL, id, sizeof id, secret, sizeof secret), HTTP_BASIC_ABSENT,
           "no header: absent");
    is_int(http_basic_credentials("Basic bm9jb2xvbg==", id, sizeof id, secret, sizeof secret),
           HTTP_BASIC_MALFORMED, "no colon: malformed");
    is_int(http_basic_credentials("Basic OnNlY3JldA==", id, sizeof id, secret, sizeof secret),
           HTTP_BASIC_MALFORMED, "empty client id: malformed");
    is_int(http_basic_credentials("Basic !!!!", id, sizeof id, secret, sizeof secret),
           HTTP_BASIC_MALFORMED, "not base64: malformed");
    is_int(http_basic_credentials("Basic Y2xpZW50OnNlY3JldA==", id, 4, secret, sizeof secret),
           HTTP_BASIC_MALFORMED, "an id that does not fit: malformed");
    is_int(http_basic_credentials("Basic JUZGaWQ6c2VjcmV0", id, sizeof id, secret, sizeof secret),
           HTTP_BASIC_MALFORMED, "an id that is not UTF-8 (%FFid): malformed");
}

static void test_url_encode(void)
{
    struct buf b = {0};
    ok(http_url_encode(&b, "a b/\xc3\xbc~-._?&=") == 0, "url-encode");
    is_str(buf_str(&b), "a%20b%2F%C3%BC~-._%3F%26%3D", "everything but unreserved is escaped");
    buf_free(&b);
}

int main(void)
{
    test_parse();
    test_limits();
    test_cookies();
    test_basic();
    test_url_encode();
    return tap_done();
}
