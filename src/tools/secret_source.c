/*
 * tools/secret_source.c - reading configured secrets from env files and
 * secret files.
 */
#include "tools/secret_source.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

#define MAX_SECRET_BYTES 8192

/* Reads path into out (limit bytes). Returns 0 or -1 with errno set. */
int tool_file_read(const char *path, struct buf *out, size_t limit)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    out->limit = limit;
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(out, chunk, n) < 0) {
            errno = EFBIG;
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        errno = EIO;
        rc = -1;
    }
    explicit_bzero(chunk, sizeof chunk);
    fclose(f);
    return rc;
}

/* Reads variable name from an env file ("NAME=value" lines, "#" comments,
 * an optional "export ", optional quotes). Returns a new string, or NULL
 * with err's msg set. */
char *tool_secret_from_env_file(const char *path, const char *name, struct mg_error *err)
{
    struct buf text = {0};
    char *value = NULL;
    if (tool_file_read(path, &text, MAX_SECRET_BYTES * 16) < 0) {
        mg_error_msg(err, "%s", strerror(errno));
        buf_free(&text);
        return NULL;
    }
    char *save = text.data ? text.data : NULL;
    char *line = save;
    while (line && *line) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *s = line;
        line = next;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '#' || !*s)
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s += 7;
        size_t klen = strcspn(s, "= \t");
        if (klen != strlen(name) || strncmp(s, name, klen) != 0)
            continue;
        s += klen;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != '=')
            continue;
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t vlen = strlen(s);
        while (vlen && (s[vlen - 1] == '\r' || s[vlen - 1] == ' ' || s[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= 2 && (s[0] == '"' || s[0] == '\'') && s[vlen - 1] == s[0]) {
            s++;
            vlen -= 2;
        }
        free(value);
        value = xmalloc(vlen + 1);
        memcpy(value, s, vlen);
        value[vlen] = '\0';
    }
    buf_free_secret(&text);
    if (value && !*value) {
        free(value);
        mg_error_msg(err, "the variable is empty");
        return NULL;
    }
    if (!value)
        mg_error_msg(err, "the variable is not set in it");
    return value;
}

/* Reads a whole file holding one secret (a final newline is dropped).
 * Returns a new string or NULL with err's msg set. */
char *tool_secret_from_file(const char *path, struct mg_error *err)
{
    struct buf text = {0};
    if (tool_file_read(path, &text, MAX_SECRET_BYTES) < 0) {
        mg_error_msg(err, "%s", strerror(errno));
        buf_free_secret(&text);
        return NULL;
    }
    size_t n = text.len;
    while (n && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r'))
        n--;
    char *v = xmalloc(n + 1);
    if (n)
        memcpy(v, text.data, n);
    v[n] = '\0';
    buf_free_secret(&text);
    if (!*v || strpbrk(v, "\r\n")) {
        free(v);
        mg_error_msg(err, "%s", !n ? "the file is empty" : "the secret must be one line");
        return NULL;
    }
    return v;
}

void tool_secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}
