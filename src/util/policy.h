/*
 * util/policy.h - a user's tool policy: allow and deny rules over tool names.
 *
 * Owns: the rule list and the decision rule. Rules name tools by shell
 * glob ("echo", "petstore_*"); a matching deny beats any allow; with no
 * matching rule the default decides. Pure: store/policy.h loads the rules,
 * tools/policy.h adds which tools a connector serves. It sits in util/ so
 * that the store, which fills it, need not include tools/.
 */
#ifndef MG_UTIL_POLICY_H
#define MG_UTIL_POLICY_H

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

/* Frees the rules; p may be reused. */
void tool_policy_free(struct tool_policy *p);

#endif
