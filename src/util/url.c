/*
 * util/url.c - URL pieces: percent-encoding, the http(s) scheme check and
 * the host/port split (util/url.h).
 */
#include "util/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/crypto.h"

int url_pct_encode(struct buf *out, const char *s, size_t n, int path_segment)
{
    static const char hex[] = "0123456789ABCDEF";
    int dots = path_segment && ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '~' || (c == '.' && !dots);
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (plain ? buf_append(out, &s[i], 1) < 0 : buf_append(out, e, 3) < 0)
            return -1;
    }
    return 0;
}

enum url_decode_rc url_pct_decode(const char *s, size_t len, int plus_is_space, char **out,
                                  size_t *out_len)
{
    char *d = xmalloc(len + 1);
    size_t o = 0;
    enum url_decode_rc rc = URL_DECODED;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? crypto_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < len ? crypto_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                rc = URL_BAD_ESCAPE;
                break;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') {
            rc = URL_HAS_NUL;
            break;
        }
        d[o++] = c;
    }
    if (rc != URL_DECODED) {
        explicit_bzero(d, o); /* a form field may be a secret */
        free(d);
        return rc;
    }
    d[o] = '\0';
    *out = d;
    if (out_len)
        *out_len = o;
    return URL_DECODED;
}

int url_is_web(const char *u, int allow_http)
{
    return u && (strncmp(u, "https://", 8) == 0 || (allow_http && strncmp(u, "http://", 7) == 0));
}

static char lower(char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
}

int url_split(const char *uri, struct url_parts *u)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(uri, "://");
    if (!sep || sep == uri || (size_t)(sep - uri) >= sizeof u->scheme)
        return -1;
    for (size_t i = 0; i < (size_t)(sep - uri); i++)
        u->scheme[i] = (char)(uri[i] | 0x20);
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    u->rest = auth + alen;
    const char *host_end = auth + alen;
    if (memchr(auth, '@', alen))
        return -1;
    const char *colon = NULL;
    if (*auth == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close)
            return -1;
        colon = close + 1 < host_end && close[1] == ':' ? close + 1 : NULL;
        if (!colon && close + 1 != host_end)
            return -1;
    } else {
        colon = memchr(auth, ':', alen);
    }
    size_t hlen = (size_t)((colon ? colon : host_end) - auth);
    if (hlen == 0 || hlen >= sizeof u->host)
        return -1;
    for (size_t i = 0; i < hlen; i++)
        u->host[i] = lower(auth[i]);
    if (colon) {
        size_t plen = (size_t)(host_end - colon - 1);
        if (plen == 0 || plen >= sizeof u->port || strspn(colon + 1, "0123456789") < plen)
            return -1;
        memcpy(u->port, colon + 1, plen);
    }
    return 0;
}

void url_authority(const struct url_parts *u, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s", u->host, u->port[0] ? ":" : "", u->port);
}
