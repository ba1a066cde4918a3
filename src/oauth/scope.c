/*
 * oauth/scope.c - the scopes mcpgate grants and the authenticated caller.
 */
#include "oauth/scope.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *describe;
} scopes[] = {
    {OAUTH_SCOPE_READ, "See the list of tools and use the tools that only read information"},
    {OAUTH_SCOPE_WRITE, "Use tools that change or delete things on your behalf"},
};
#define N_SCOPES (sizeof scopes / sizeof scopes[0])

/* Returns the bit of scope s (len bytes), or 0 when unknown. */
static unsigned scope_bit(const char *s, size_t len)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (strlen(scopes[i].name) == len && strncmp(s, scopes[i].name, len) == 0)
            return 1u << i;
    return 0;
}

/* Bits of a space-separated list; -1 when a scope is unknown. */
static long scope_bits(const char *list)
{
    unsigned bits = 0;
    const char *p = list;
    while (*p) {
        if (*p == ' ') {
            p++;
            continue;
        }
        size_t len = strcspn(p, " ");
        unsigned b = scope_bit(p, len);
        if (!b)
            return -1;
        bits |= b;
        p += len;
    }
    if (bits & 2u) /* write implies read */
        bits |= 1u;
    return (long)bits;
}

int oauth_principal_allows(const struct oauth_principal *p, const char *scope)
{
    long have = scope_bits(p->scope);
    long want = scope_bits(scope);
    return have >= 0 && want > 0 && (have & want) == want;
}

int oauth_scope_canonical(const char *in, char *out, size_t n)
{
    out[0] = '\0';
    for (const char *p = in; *p; p++)
        if (*p != ' ' && (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\'))
            return -1;
    long bits = scope_bits(in);
    if (bits < 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < N_SCOPES; i++) {
        if (!(bits & (1L << i)))
            continue;
        int w = snprintf(out + o, n - o, "%s%s", o ? " " : "", scopes[i].name);
        if (w < 0 || (size_t)w >= n - o) {
            out[0] = '\0';
            return -1;
        }
        o += (size_t)w;
    }
    return 0;
}

int oauth_scope_covers(const char *have, const char *want)
{
    long h = scope_bits(have), w = scope_bits(want);
    return h >= 0 && w >= 0 && (h & w) == w;
}

const char *oauth_scope_describe(const char *scope)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (strcmp(scope, scopes[i].name) == 0)
            return scopes[i].describe;
    return "";
}
