/*
 * util/url.c - URL pieces: percent-encoding (util/url.h).
 */
#include "util/url.h"

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
