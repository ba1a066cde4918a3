/*
 * util/alloc.c - memory allocation that never returns NULL (util/alloc.h).
 */
#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

static void *nonnull(void *p)
{
    if (!p)
        abort();
    return p;
}

void *xmalloc(size_t n)
{
    return nonnull(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
    return nonnull(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
    return nonnull(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
    return nonnull(strdup(s));
}

void alloc_strv_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
