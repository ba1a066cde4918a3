/*
 * tools/policy.c - which tools a connector serves.
 */
#include "tools/policy.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>
/* Returns 1 when one of the comma-separated items of list matches s:
 * by fnmatch(3) when glob is set, else equal without regard to case. */
static int list_has(const char *list, const char *s, int glob)
{
    for (const char *p = list; *p; p += *p == ',') {
        size_t n = strcspn(p, ",");
        char item[513];
        if (n > 0 && n < sizeof item) {
            memcpy(item, p, n);
            item[n] = '\0';
            if (glob ? fnmatch(item, s, 0) == 0 : strcasecmp(item, s) == 0)
                return 1;
        }
        p += n;
    }
    return 0;
}

/* Returns 1 when one of the tool's tags ("a\nb\n") is in list. */
static int tags_in(const char *list, const char *tags)
{
    for (const char *t = tags; t && *t;) {
        size_t n = strcspn(t, "\n");
        char tag[513];
        if (n < sizeof tag) {
            memcpy(tag, t, n);
            tag[n] = '\0';
            if (list_has(list, tag, 0))
                return 1;
        }
        t += n + (t[n] == '\n');
    }
    return 0;
}

int tool_connector_has(const struct mg_connector *c, const struct tool_def *d)
{
    if (!c)
        return 1;
    int bit = d->access == TOOL_READ    ? MG_ACCESS_READ
              : d->access == TOOL_WRITE ? MG_ACCESS_WRITE
                                        : MG_ACCESS_DESTRUCTIVE;
    if (c->access && !(c->access & bit))
        return 0;
    if (c->backends[0] && !(d->backend && list_has(c->backends, d->backend, 0)))
        return 0;
    if (c->tags[0] && !tags_in(c->tags, d->tags))
        return 0;
    if (c->names[0] && !list_has(c->names, d->name, 1))
        return 0;
    return 1;
}
