/*
 * util/policy.c - a user's tool policy: allow and deny rules over tool names.
 */
#include "util/policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

int tool_policy_allows(const struct tool_policy *p, const char *name)
{
    if (p->failed)
        return 0;
    int allowed = 0;
    for (int i = 0; i < p->n; i++) {
        if (fnmatch(p->rules[i].pattern, name, 0) != 0)
            continue;
        if (p->rules[i].deny)
            return 0;
        allowed = 1;
    }
    return allowed || p->default_allow;
}

int tool_policy_add(struct tool_policy *p, int deny, const char *pattern)
{
    if (strlen(pattern) >= sizeof p->rules[0].pattern)
        return -1;
    struct tool_policy_rule *r = xrealloc(p->rules, (size_t)(p->n + 1) * sizeof *r);
    p->rules = r;
    r[p->n].deny = deny;
    snprintf(r[p->n].pattern, sizeof r[p->n].pattern, "%s", pattern);
    p->n++;
    return 0;
}

void tool_policy_free(struct tool_policy *p)
{
    free(p->rules);
    p->rules = NULL;
    p->n = 0;
    p->loaded = 0;
    p->failed = 0;
}
