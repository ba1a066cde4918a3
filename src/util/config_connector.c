/*
 * util/config_connector.c - the "connector" lines of the configuration
 * file: the extra MCP endpoints, each with its own tools (docs/clients.md).
 */
#include "util/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/config_internal.h"

const struct mg_connector *config_connector_find(const struct mg_config *cfg, const char *name)
{
    for (int i = 0; name && i < cfg->n_connectors; i++)
        if (strcmp(cfg->connectors[i].name, name) == 0)
            return &cfg->connectors[i];
    return NULL;
}

/* The next word of a connector line at *p into out (n bytes): up to a
 * blank, where name="value" may hold blanks inside its quotes (which are
 * dropped). Returns 1 with *p past the word, 0 at the end, or -1 for an
 * unterminated quote or a word longer than n - 1. */
static int connector_next_word(const char **p, char *out, size_t n)
{
    const char *s = *p + strspn(*p, " \t");
    if (!*s)
        return 0;
    size_t o = 0;
    int quoted = 0;
    for (; *s && (quoted || (*s != ' ' && *s != '\t')); s++) {
        if (*s == '"') {
            quoted = !quoted;
            continue;
        }
        if (o + 1 >= n)
            return -1;
        out[o++] = *s;
    }
    out[o] = '\0';
    *p = s;
    return quoted ? -1 : 1;
}

/* Returns 1 when every character of s is printable ASCII other than '"'
 * and, unless blanks is set, not a blank. */
static int connector_text_ok(const char *s, int blanks)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || (!blanks && *s == ' '))
            return 0;
    return 1;
}

/* "read,write,destructive" into MG_ACCESS_* bits. Returns 0, or -1. */
static int connector_access(const char *v, int *out)
{
    int bits = 0;
    char tmp[64];
    if (config_copy_str(tmp, sizeof tmp, v) < 0)
        return -1;
    char *save = NULL;
    for (char *w = strtok_r(tmp, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (strcmp(w, "read") == 0)
            bits |= MG_ACCESS_READ;
        else if (strcmp(w, "write") == 0)
            bits |= MG_ACCESS_WRITE;
        else if (strcmp(w, "destructive") == 0)
            bits |= MG_ACCESS_DESTRUCTIVE;
        else
            return -1;
    }
    if (!bits)
        return -1;
    *out = bits;
    return 0;
}

/* Applies one "name=value" word of a connector line to c. Returns 0, or -1
 * with a message in err. */
static int connector_word(struct mg_connector *c, char *word, struct mg_error *err)
{
    char *eq = strchr(word, '=');
    if (!eq || eq == word || !eq[1]) {
        mg_error_msg(err, "connector %s: expected name=value, got \"%.64s\"", c->name, word);
        return -1;
    }
    *eq = '\0';
    const char *v = eq + 1;
    if (strcmp(word, "backends") == 0) {
        if (strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-,") == strlen(v) &&
            config_copy_str(c->backends, sizeof c->backends, v) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: backends must be a comma-separated list of backend "
                     "names",
                     c->name);
    } else if (strcmp(word, "tags") == 0) {
        if (connector_text_ok(v, 1) && config_copy_str(c->tags, sizeof c->tags, v) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: tags must be a comma-separated list of tags (at "
                     "most %zu bytes)",
                     c->name, sizeof c->tags - 1);
    } else if (strcmp(word, "names") == 0) {
        if (connector_text_ok(v, 0) && config_copy_str(c->names, sizeof c->names, v) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: names must be a comma-separated list of tool name "
                     "patterns (\"do_*project*\")",
                     c->name);
    } else if (strcmp(word, "access") == 0) {
        if (connector_access(v, &c->access) == 0)
            return 0;
        mg_error_msg(err,
                     "connector %s: access must list read, write or destructive, "
                     "comma-separated",
                     c->name);
    } else if (strcmp(word, "title") == 0) {
        if (connector_text_ok(v, 1) && config_copy_str(c->title, sizeof c->title, v) == 0)
            return 0;
        mg_error_msg(err, "connector %s: title must be printable text of at most %zu bytes",
                     c->name, sizeof c->title - 1);
    } else if (strcmp(word, "main_tokens") == 0) {
        char key[64];
        snprintf(key, sizeof key, "connector %s: main_tokens", c->name);
        return config_yes_no(key, v, &c->main_tokens, err);
    } else {
        mg_error_msg(err,
                     "connector %s: unknown parameter \"%.64s\" (backends, tags, names, "
                     "access, title, main_tokens)",
                     c->name, word);
    }
    return -1;
}

/* A "connector" line: NAME then name=value words. Returns 0, or -1 with err. */
int config_set_connector(struct mg_config *cfg, const char *value, struct mg_error *err)
{
    if (cfg->n_connectors == MG_MAX_CONNECTORS) {
        mg_error_msg(err, "connector: at most %d connectors", MG_MAX_CONNECTORS);
        return -1;
    }
    struct mg_connector c;
    memset(&c, 0, sizeof c);
    const char *p = value;
    char word[1024];
    if (connector_next_word(&p, word, sizeof word) != 1 || strlen(word) > 32 ||
        strspn(word, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(word) ||
        strcmp(word, "doctor") == 0) {
        mg_error_msg(err,
                     "connector: the first word must be the connector's name ([a-z0-9_-], at most "
                     "32 characters, not \"doctor\"), served at /mcp/NAME");
        return -1;
    }
    snprintf(c.name, sizeof c.name, "%s", word);
    if (config_connector_find(cfg, c.name)) {
        mg_error_msg(err, "connector: %s is configured twice", c.name);
        return -1;
    }
    int rc;
    while ((rc = connector_next_word(&p, word, sizeof word)) == 1)
        if (connector_word(&c, word, err) < 0)
            return -1;
    if (rc < 0) {
        mg_error_msg(err, "connector %s: a quote is not closed or a value is too long", c.name);
        return -1;
    }
    if (!c.title[0])
        snprintf(c.title, sizeof c.title, "%s", c.name);
    cfg->connectors[cfg->n_connectors++] = c;
    return 0;
}
