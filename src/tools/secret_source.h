/*
 * tools/secret_source.h - where a backend's configured secrets come from:
 * a variable of an env file ("NAME=value" lines) or a file holding one
 * secret; and reading a bounded file whose buffer is wiped after use.
 *
 * Owns: the env file syntax ("#" comments, an optional "export ",
 * optional quotes), the limits on secret sizes, wiping what was read.
 * Must not touch: logs (a secret is never logged), the database.
 */
#ifndef MG_TOOLS_SECRET_SOURCE_H
#define MG_TOOLS_SECRET_SOURCE_H

#include <stddef.h>

#include "util/error.h"

struct buf;

/* Reads path into out (at most limit bytes; the read chunks are wiped).
 * Returns 0 or -1 with errno set (EFBIG: over limit). */
int tool_file_read(const char *path, struct buf *out, size_t limit);

/* Reads variable name from an env file. Returns a new string (free with
 * tool_secret_free()), or NULL with err's msg set. */
char *tool_secret_from_env_file(const char *path, const char *name, struct mg_error *err);

/* Reads a whole file holding one secret (a final newline is dropped).
 * Returns a new string or NULL with err's msg set. */
char *tool_secret_from_file(const char *path, struct mg_error *err);

/* Wipes and frees s. Accepts NULL. */
void tool_secret_free(char *s);

#endif
