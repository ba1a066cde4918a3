/*
 * util/url.h - URL pieces: percent-encoding (RFC 3986 section 2.1), the
 * http(s) scheme check and the split of scheme://host[:port] (section 3).
 *
 * Owns: how a string becomes one component of a URL (a path segment, a
 * query name or value). Everything but the unreserved characters
 * (A-Z a-z 0-9 - . _ ~) is encoded, so the result needs no further escaping
 * in any component. Which URLs count as web URLs, and where a URL's
 * host and port are: every module asks here instead of comparing prefixes.
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

/* What url_pct_decode found. */
enum url_decode_rc { URL_DECODED = 0, URL_BAD_ESCAPE, URL_HAS_NUL };

/* Decodes the len bytes at s: "%XX" escapes, and '+' as ' ' when
 * plus_is_space (form encoding). On URL_DECODED *out is a new NUL-terminated
 * string (caller frees) and *out_len (may be NULL) its length; otherwise
 * nothing is written: URL_BAD_ESCAPE for a "%" not followed by two hex
 * digits, URL_HAS_NUL when the result would hold a NUL byte. */
__attribute__((warn_unused_result)) enum url_decode_rc
url_pct_decode(const char *s, size_t len, int plus_is_space, char **out, size_t *out_len);

/* 1 when u starts with "https://", or with "http://" when allow_http is
 * set; 0 otherwise, also when u is NULL. The scheme is compared as written
 * (lowercase), the form every configuration and document uses. */
int url_is_web(const char *u, int allow_http);

/* The parts of an absolute URL scheme://host[:port]rest. */
struct url_parts {
    char scheme[8];   /* lowercased */
    char host[256];   /* lowercased; an IPv6 literal keeps its brackets */
    char port[8];     /* digits only; "" when absent */
    const char *rest; /* path, query and fragment: borrowed from the URL */
};

/* u's "host[:port]" into out (n bytes), cut to fit. */
void url_authority(const struct url_parts *u, char *out, size_t n);

/* Splits uri into u. Returns 0, or -1 when it is not scheme://host[:port]
 * followed by nothing or "/", "?" or "#": no scheme, user info, an empty
 * host, an unclosed IPv6 bracket, or a port that is empty or not digits
 * (u is then unspecified). */
__attribute__((warn_unused_result)) int url_split(const char *uri, struct url_parts *u);

#endif
