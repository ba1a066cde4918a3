/*
 * util/alloc.h - memory allocation that never returns NULL.
 *
 * Owns: the project's answer to out-of-memory, which is to abort: a request
 * that cannot get a few bytes cannot be answered correctly either, and the
 * web server restarts the process. Code that must survive a failed
 * allocation (none today) calls malloc itself.
 * Must not touch: anything else.
 */
#ifndef MG_UTIL_ALLOC_H
#define MG_UTIL_ALLOC_H

#include <stddef.h>

/* malloc(n); a size of 0 allocates 1 byte. Aborts when out of memory. */
__attribute__((malloc, returns_nonnull)) void *xmalloc(size_t n);

/* calloc(n, size); a count or size of 0 counts as 1. Aborts when out of
 * memory. */
__attribute__((malloc, returns_nonnull)) void *xcalloc(size_t n, size_t size);

/* realloc(p, n); a size of 0 keeps 1 byte (p is never freed here). Aborts
 * when out of memory, leaving p as it was. */
__attribute__((returns_nonnull)) void *xrealloc(void *p, size_t n);

/* strdup(s) of a non-NULL s. Aborts when out of memory. */
__attribute__((malloc, returns_nonnull)) char *xstrdup(const char *s);

/* Frees the first n strings of v, then v itself. v may be NULL (with n 0).
 * Cannot fail. */
void alloc_strv_free(char **v, int n);

#endif
