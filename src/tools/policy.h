/*
 * tools/policy.h - whether a user may see and call a tool.
 *
 * Owns: the decision rule. Rules name tools by shell glob ("echo",
 * "petstore_*"); a matching deny beats any allow; with no matching rule
 * the default decides. Pure: the rules are loaded by store/policy.h.
 * Also which tools a connector (util/config.h) serves.
 */
#ifndef MG_TOOLS_POLICY_H
#define MG_TOOLS_POLICY_H

#include "tools/registry.h"
#include "util/config.h"

struct tool_policy_rule {
    int deny;          /* 1: deny, 0: allow */
    char pattern[129]; /* shell glob over tool names */
};

struct tool_policy {
    int loaded;        /* 1 once the rules are in (set by the loader) */
    int failed;        /* 1 when they could not be loaded: everything is denied */
    int default_allow; /* what applies when no rule matches */
    int n;
    struct tool_policy_rule *rules; /* malloc'ed, n entries */
};

/* Returns 1 when p lets the user see and call the tool named name. */
int tool_policy_allows(const struct tool_policy *p, const char *name);

/* Appends a rule. Returns 0, or -1 for a pattern that is too long. */
__attribute__((warn_unused_result)) int tool_policy_add(struct tool_policy *p, int deny,
                                                        const char *pattern);

/* Returns 1 when the tool d is in connector c's set: it passes every
 * filter c gives (backend, tag, name pattern, access class; within one,
 * any listed value will do). c NULL stands for the whole server: 1. */
int tool_connector_has(const struct mg_connector *c, const struct tool_def *d);

/* Frees the rules; p may be reused. */
void tool_policy_free(struct tool_policy *p);

#endif
