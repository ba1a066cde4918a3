/*
 * util/buf.h - growable byte buffers with a hard size cap.
 *
 * Owns: the memory of a struct buf. A buffer always keeps a NUL after its
 * contents so it can be used as a C string. Out of memory aborts.
 * Must not touch: anything outside its own struct.
 */
#ifndef MG_UTIL_BUF_H
#define MG_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;   /* NUL-terminated contents; NULL until the first append */
    size_t len;   /* bytes in use, not counting the NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* largest len allowed; 0 means BUF_DEFAULT_LIMIT */
};

#define BUF_DEFAULT_LIMIT ((size_t)64 * 1024 * 1024)

/* Appends n bytes. Returns 0, or -1 when the limit would be exceeded (the
 * buffer is unchanged then). */
__attribute__((warn_unused_result)) int buf_append(struct buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. Returns as buf_append(). */
__attribute__((warn_unused_result)) int buf_puts(struct buf *b, const char *s);

/* Appends formatted text. Returns as buf_append(). */
__attribute__((warn_unused_result, format(printf, 2, 3))) int buf_printf(struct buf *b,
                                                                         const char *fmt, ...);
__attribute__((warn_unused_result, format(printf, 2, 0))) int
buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Empties the buffer, keeping its memory. Cannot fail. */
void buf_reset(struct buf *b);

/* Frees the memory; the struct may be reused after. Accepts a zeroed struct. */
void buf_free(struct buf *b);

/* As buf_free(), wiping the contents first (a secret, or what carried
 * one). */
void buf_free_secret(struct buf *b);

/* Returns the contents as a string ("" for an empty buffer). Borrowed until
 * the next change to b. */
const char *buf_str(const struct buf *b);

#endif
