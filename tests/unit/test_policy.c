/*
 * tests/unit/test_policy.c - the tool policy decision rule, and which tools
 * a connector serves.
 */
#include "tap.h"
#include "tools/policy.h"

/* A connector made from one config line after "connector = ". */
static struct mg_connector connector(const char *line)
{
    struct mg_config cfg;
    config_defaults(&cfg);
    struct mg_error err = MG_ERROR_INIT;
    if (config_set(&cfg, "connector", line, &err) < 0)
        printf("# %s\n", err.msg);
    return cfg.connectors[0];
}

static void connectors(void)
{
    const struct tool_def list = {.name = "do_projects_list",
                                  .backend = "do",
                                  .tags = "Projects\nApps\n",
                                  .access = TOOL_READ};
    const struct tool_def del = {.name = "do_projects_delete",
                                 .backend = "do",
                                 .tags = "Projects\n",
                                 .access = TOOL_DESTRUCTIVE};
    const struct tool_def db = {
        .name = "do_databases_list", .backend = "do", .tags = "Databases\n", .access = TOOL_READ};
    const struct tool_def echo = {.name = "echo", .access = TOOL_READ};
    ok(tool_connector_has(NULL, &echo) && tool_connector_has(NULL, &del),
       "no connector (/mcp): every tool");
    struct mg_connector c = connector("all");
    ok(tool_connector_has(&c, &echo) && tool_connector_has(&c, &db) && !strcmp(c.title, "all"),
       "a connector without filters: every tool, titled by its name");
    c = connector("p backends=do tags=projects");
    ok(tool_connector_has(&c, &list) && tool_connector_has(&c, &del) &&
           !tool_connector_has(&c, &db) && !tool_connector_has(&c, &echo),
       "backends=do tags=projects: the tagged tools (any case), no builtin");
    c = connector("p tags=Databases,Apps");
    ok(tool_connector_has(&c, &list) && tool_connector_has(&c, &db) &&
           !tool_connector_has(&c, &del),
       "tags=Databases,Apps: any listed tag will do");
    c = connector("p tags=Projects access=read,write");
    ok(tool_connector_has(&c, &list) && !tool_connector_has(&c, &del),
       "access=read,write leaves the destructive tool out");
    c = connector("p names=do_*_list,ech?");
    ok(tool_connector_has(&c, &list) && tool_connector_has(&c, &db) &&
           tool_connector_has(&c, &echo) && !tool_connector_has(&c, &del),
       "names= patterns match the whole name");
    c = connector("p backends=other names=do_*");
    ok(!tool_connector_has(&c, &list), "every filter must pass: backends= and names=");
    c = connector("p title=\"Two words\" main_tokens=yes");
    ok(!strcmp(c.title, "Two words") && c.main_tokens == 1, "a quoted title, main_tokens=yes");
}

int main(void)
{
    connectors();
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
