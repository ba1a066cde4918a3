/*
 * tests/unit/test_policy.c - the tool policy decision rule.
 */
#include "tap.h"
#include "tools/policy.h"

int main(void)
{
    struct tool_policy p = {.default_allow = 1};
    ok(tool_policy_allows(&p, "anything"), "no rules, default allow: allowed");
    p.default_allow = 0;
    ok(!tool_policy_allows(&p, "anything"), "no rules, default deny: refused");
    ok(tool_policy_add(&p, 0, "petstore_*") == 0, "grant petstore_*");
    ok(tool_policy_allows(&p, "petstore_list_pets"), "a granted backend's tool");
    ok(!tool_policy_allows(&p, "echo"), "an ungranted tool under default deny");
    ok(tool_policy_add(&p, 1, "petstore_delete*") == 0, "deny petstore_delete*");
    ok(!tool_policy_allows(&p, "petstore_delete_pet"), "deny beats grant");
    ok(tool_policy_allows(&p, "petstore_list_pets"), "the rest of the grant stays");
    ok(tool_policy_add(&p, 0, "ech?") == 0 && tool_policy_allows(&p, "echo"), "? matches one");
    ok(!tool_policy_allows(&p, "echoes"), "a glob matches the whole name");
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ok(tool_policy_add(&p, 0, longp) < 0, "an over-long pattern is refused");
    p.failed = 1;
    ok(!tool_policy_allows(&p, "petstore_list_pets"), "rules that failed to load: refuse all");
    tool_policy_free(&p);
    ok(p.n == 0 && !p.rules && !p.failed, "free resets");
    return tap_done();
}
