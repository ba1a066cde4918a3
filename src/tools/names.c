/*
 * tools/names.c - names and validators of backend files and imports.
 */
#include "tools/names.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "tools/backend.h"
#include "util/url.h"

/* ChatGPT's own tools: a connector tool with one of these names is
 * confused with them (ToolMesh PR #71), so ours are renamed. */
static const char *const reserved_names[] = {
    "web_search", "code_interpreter", "file_search", "computer_use", "image_generation",
    "browser",    "python",           "container",   "canmore",      "bio",
};

int tool_name_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof reserved_names / sizeof reserved_names[0]; i++)
        if (strcasecmp(name, reserved_names[i]) == 0)
            return 1;
    return 0;
}

void tool_name_sanitize(const char *s, int snake, char *out, size_t max)
{
    size_t n = 0;
    char prev = '_';
    for (const char *p = s; *p && n < max; p++) {
        char c = *p;
        int word = isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
        if (!word)
            c = '_';
        if (snake && isupper((unsigned char)c)) {
            /* fooBar -> foo_bar, HTTPServer -> http_server */
            int lower_before =
                p > s && (islower((unsigned char)p[-1]) || isdigit((unsigned char)p[-1]));
            /* ...but IPs -> ips, IPv6 -> ipv6: a plural or a version stays */
            int acronym_end = p > s && isupper((unsigned char)p[-1]) &&
                              islower((unsigned char)p[1]) &&
                              !(p[1] == 's' && !islower((unsigned char)p[2])) &&
                              !(p[1] == 'v' && isdigit((unsigned char)p[2]));
            if ((lower_before || acronym_end) && prev != '_' && n < max)
                out[n++] = prev = '_';
            if (n >= max)
                break;
            c = (char)tolower((unsigned char)c);
        }
        if (c == '_' && prev == '_')
            continue;
        out[n++] = prev = c;
    }
    while (n > 0 && out[n - 1] == '_')
        n--;
    out[n] = '\0';
}

int tool_url_ok(const char *url, int query_ok)
{
    return url_is_web(url, 1) && !strpbrk(url, " \t\r\n#") && (query_ok || !strchr(url, '?')) &&
           strlen(url) <= 1024;
}

int tool_path_ok(const char *path)
{
    return path && path[0] == '/' && !strpbrk(path, " \t\r\n?#");
}

int tool_header_name_ok(const char *s)
{
    if (!*s || strlen(s) > 128)
        return 0;
    return strspn(
               s,
               "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
           strlen(s);
}

int tool_header_value_ok(const char *s)
{
    return strlen(s) < 4096 && !strpbrk(s, "\r\n");
}

int tool_backend_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= TOOL_BACKEND_NAME_MAX && isalnum((unsigned char)s[0]) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int tool_path_has(const char *path, const char *name)
{
    size_t n = strlen(name);
    for (const char *q = strchr(path, '{'); q; q = strchr(q + 1, '{'))
        if (strncmp(q + 1, name, n) == 0 && q[1 + n] == '}')
            return 1;
    return 0;
}
