/*
 * tests/unit/test_scope.c - oauth/scope.c: canonical scope strings, the
 * write-implies-read rule, coverage and what a principal may do.
 */
#include <stdio.h>
#include <string.h>

#include "oauth/scope.h"
#include "tap.h"

#define R  OAUTH_SCOPE_READ
#define W  OAUTH_SCOPE_WRITE
#define RW R " " W

static void canonical(const char *in, const char *want)
{
    char out[OAUTH_SCOPE_MAX] = "junk";
    int rc = oauth_scope_canonical(in, out, sizeof out);
    if (want) {
        char what[200];
        snprintf(what, sizeof what, "canonical(\"%s\") = \"%s\"", in, want);
        ok(rc == 0, "canonical(\"%s\") succeeds", in);
        is_str(out, want, what);
    } else {
        ok(rc == -1 && out[0] == '\0', "canonical(\"%s\") refused, out empty", in);
    }
}

static void test_canonical(void)
{
    canonical(R, R);
    canonical(RW, RW);
    canonical(W " " R, RW);
    canonical(W, RW);
    canonical("  " R "   " R " ", R);
    canonical("", "");
    canonical("   ", "");
    canonical("admin", NULL);
    canonical(R " admin", NULL);
    canonical("mcp:tools", NULL);
    canonical("mcp:tools:read2", NULL);
    canonical(R "\t" W, NULL);
    canonical(R " \"x\"", NULL);
    canonical("mcp:tools:r\xc3\xa9"
              "ad",
              NULL);
}

static void test_covers(void)
{
    ok(oauth_scope_covers(RW, R), "read+write covers read");
    ok(oauth_scope_covers(RW, RW), "read+write covers itself");
    ok(!oauth_scope_covers(R, W), "read does not cover write");
    ok(!oauth_scope_covers(R, RW), "read does not cover read+write");
    ok(oauth_scope_covers(W, R), "write implies read");
    ok(oauth_scope_covers(R, ""), "anything covers the empty scope");
    ok(!oauth_scope_covers("", R), "the empty scope covers nothing");
    ok(!oauth_scope_covers("admin", R), "an unknown granted scope covers nothing");
    ok(!oauth_scope_covers(RW, "admin"), "an unknown wanted scope is never covered");
}

static void test_principal(void)
{
    struct oauth_principal p;
    memset(&p, 0, sizeof p);
    snprintf(p.scope, sizeof p.scope, "%s", R);
    ok(oauth_principal_allows(&p, R), "read token: read allowed");
    ok(!oauth_principal_allows(&p, W), "read token: write refused");
    snprintf(p.scope, sizeof p.scope, "%s", RW);
    ok(oauth_principal_allows(&p, R) && oauth_principal_allows(&p, W),
       "read+write token: both allowed");
    ok(!oauth_principal_allows(&p, ""), "an empty wanted scope is not a permission");
    ok(!oauth_principal_allows(&p, "admin"), "an unknown wanted scope is refused");
    p.scope[0] = '\0';
    ok(!oauth_principal_allows(&p, R), "a token without scope may do nothing");
}

static void test_describe(void)
{
    ok(strlen(oauth_scope_describe(R)) > 10, "read has a description for people");
    ok(strlen(oauth_scope_describe(W)) > 10, "write has a description for people");
    ok(strcmp(oauth_scope_describe(R), oauth_scope_describe(W)) != 0, "they differ");
    is_str(oauth_scope_describe("admin"), "", "unknown scope: empty description");
    char def[OAUTH_SCOPE_MAX];
    ok(oauth_scope_canonical(OAUTH_SCOPE_DEFAULT, def, sizeof def) == 0 &&
           strcmp(def, OAUTH_SCOPE_DEFAULT) == 0,
       "the default scope is canonical");
}

int main(void)
{
    test_canonical();
    test_covers();
    test_principal();
    test_describe();
    return tap_done();
}
