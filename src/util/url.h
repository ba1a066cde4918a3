/*
 * util/url.h - URL pieces: percent-encoding (RFC 3986 section 2.1).
 *
 * Owns: how a string becomes one component of a URL (a path segment, a
 * query name or value). Everything but the unreserved characters
 * (A-Z a-z 0-9 - . _ ~) is encoded, so the result needs no further escaping
 * in any component.
 * Must not touch: anything but the buffer it appends to.
 */
#ifndef MG_UTIL_URL_H
#define MG_UTIL_URL_H

#include <stddef.h>

#include "util/buf.h"

/* Appends the n bytes at s percent-encoded (uppercase hex) to out.
 * path_segment: when s is exactly "." or "..", its dots are encoded too, so
 * a value cannot climb the path it is put into. Returns 0, or -1 when out's
 * limit is reached (out then holds part of the encoding). */
__attribute__((warn_unused_result)) int url_pct_encode(struct buf *out, const char *s, size_t n,
                                                       int path_segment);

#endif
