/*
 * tests/unit/test_util.c - buffers, encodings, hashing, session ids.
 */
#include <stdlib.h>
#include <string.h>

#include "mcp/session.h"
#include "tap.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/url.h"

/* The scheme check, the host/port split and percent-decoding. */
static void test_url(void)
{
    ok(url_is_web("https://a", 0) && url_is_web("http://a", 1) && !url_is_web("http://a", 0),
       "https always, http only when allowed");
    ok(!url_is_web(NULL, 1) && !url_is_web("ftp://a", 1) && !url_is_web("HTTPS://a", 1) &&
           !url_is_web("https:/a", 1),
       "no other scheme, case or form");
    struct url_parts p;
    ok(url_split("HTTPS://Ex.COM:8443/p?q#f", &p) == 0, "split");
    ok(strcmp(p.scheme, "https") == 0 && strcmp(p.host, "ex.com") == 0 &&
           strcmp(p.port, "8443") == 0 && strcmp(p.rest, "/p?q#f") == 0,
       "scheme and host lowercased, port and the rest kept");
    char auth[300];
    url_authority(&p, auth, sizeof auth);
    is_str(auth, "ex.com:8443", "authority: host and port");
    ok(url_split("http://[::1]:80", &p) == 0 && strcmp(p.host, "[::1]") == 0 &&
           strcmp(p.port, "80") == 0 && *p.rest == '\0',
       "an IPv6 literal keeps its brackets");
    ok(url_split("http://h?x", &p) == 0 && strcmp(p.host, "h") == 0 && strcmp(p.rest, "?x") == 0,
       "the host ends at a query");
    ok(url_split("h/p", &p) < 0 && url_split("://h", &p) < 0 && url_split("http://u@h/", &p) < 0 &&
           url_split("http:///p", &p) < 0 && url_split("http://h:/", &p) < 0 &&
           url_split("http://h:8x/", &p) < 0 && url_split("http://[::1/", &p) < 0 &&
           url_split("http://[::1]x/", &p) < 0 && url_split("toolongscheme://h", &p) < 0,
       "split refuses no scheme, user info, an empty host or port, a bad port or bracket");
    char *d = NULL;
    size_t n = 0;
    ok(url_pct_decode("a%2fb+c%C3%BC", 13, 1, &d, &n) == URL_DECODED && n == 7 &&
           strcmp(d, "a/b c\xc3\xbc") == 0,
       "percent-decode, + as space");
    free(d);
    ok(url_pct_decode("a+b", 3, 0, &d, &n) == URL_DECODED && strcmp(d, "a+b") == 0,
       "+ stays outside forms");
    free(d);
    d = NULL;
    ok(url_pct_decode("%4", 2, 0, &d, NULL) == URL_BAD_ESCAPE &&
           url_pct_decode("%zz", 3, 0, &d, NULL) == URL_BAD_ESCAPE &&
           url_pct_decode("a%00", 4, 0, &d, NULL) == URL_HAS_NUL && d == NULL,
       "a malformed escape or a NUL is refused and nothing written");
}

int main(void)
{
    test_url();
    struct buf b = {0};
    ok(buf_puts(&b, "abc") == 0 && b.len == 3, "append");
    ok(buf_printf(&b, "-%d-%s", 42, "x") == 0, "printf");
    is_str(buf_str(&b), "abc-42-x", "contents");
    b.limit = 10;
    ok(buf_puts(&b, "toolong") < 0 && b.len == 8, "limit refuses and leaves the buffer");
    ok(buf_puts(&b, "ok") == 0 && b.len == 10, "up to the limit is fine");
    buf_reset(&b);
    is_str(buf_str(&b), "", "reset");
    buf_free(&b);
    is_str(buf_str(&b), "", "freed buffer reads empty");

    char out[64];
    crypto_b64url_encode("\xfb\xff", 2, out);
    is_str(out, "-_8", "base64url alphabet, no padding");
    crypto_b64url_encode("foobar", 6, out);
    is_str(out, "Zm9vYmFy", "base64url of foobar");
    crypto_b64url_encode("f", 1, out);
    is_str(out, "Zg", "base64url of one byte");
    is_int((long long)crypto_b64url_len(32), 43, "32 bytes encode to 43 chars");
    char hex[65];
    crypto_sha256_hex("abc", 3, hex);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "SHA-256 test vector");
    ok(crypto_equal("abcd", "abcd", 4) && !crypto_equal("abcd", "abce", 4), "constant-time equal");

    unsigned char raw[4] = {0};
    ok(crypto_hex_decode("00fFa9", 3, raw) == 0 && raw[0] == 0x00 && raw[1] == 0xff &&
           raw[2] == 0xa9,
       "hex decodes either case");
    ok(crypto_hex_decode("0g", 1, raw) < 0 && crypto_hex_decode("+f", 1, raw) < 0 &&
           crypto_hex_decode(" f", 1, raw) < 0,
       "hex refuses a non-digit, a sign and a space");
    ok(crypto_hex_decode("abc", 2, raw) < 0, "hex refuses a string shorter than 2n");
    ok(crypto_hex_digit('9') == 9 && crypto_hex_digit('F') == 15 && crypto_hex_digit('G') == -1,
       "hex digit values");

    struct buf u = {0};
    ok(url_pct_encode(&u, "a b/\xc3\xbc~-._?&=", 13, 0) == 0, "percent-encode");
    is_str(buf_str(&u), "a%20b%2F%C3%BC~-._%3F%26%3D", "only unreserved characters stay");
    buf_reset(&u);
    ok(url_pct_encode(&u, "..", 2, 1) == 0 && url_pct_encode(&u, "/", 1, 1) == 0 &&
           url_pct_encode(&u, ".", 1, 1) == 0 && url_pct_encode(&u, "..", 2, 0) == 0 &&
           url_pct_encode(&u, "a.b", 3, 1) == 0,
       "percent-encode path segments");
    is_str(buf_str(&u), "%2E%2E%2F%2E..a.b", "a path segment . or .. has its dots encoded");
    buf_free(&u);

    char id[MCP_SESSION_ID_LEN + 1], id2[MCP_SESSION_ID_LEN + 1];
    mcp_session_id_new(id);
    mcp_session_id_new(id2);
    ok(mcp_session_id_valid(id), "new session id is valid");
    ok(strcmp(id, id2) != 0, "two session ids differ");
    ok(!mcp_session_id_valid("short"), "short id refused");
    id2[10] = '!';
    ok(!mcp_session_id_valid(id2), "id with a foreign character refused");
    char longer[50];
    memset(longer, 'a', 44);
    longer[44] = '\0';
    ok(!mcp_session_id_valid(longer), "44 chars refused");
    char h1[65], h2[65];
    mcp_session_id_hash(id, h1);
    mcp_session_id_hash(id, h2);
    ok(strlen(h1) == 64 && strcmp(h1, h2) == 0 && strcmp(h1, id) != 0,
       "session id hash is stable and is not the id");
    return tap_done();
}
