/*
 * tools/credentials.h - where the value of a backend's credential slot
 * comes from when a tool is called, and how values are sealed for the
 * database.
 *
 * Owns: the resolution order of a slot (docs/backends.md, "Credentials"):
 *   0. from_idp and exchange slots: the calling user's provider token
 *      (tools/idp_token.h), the caller's exchanged token (tools/exchange.h);
 *   1. per_user slots: the calling user's linked value;
 *   2. the backend's value stored with `mcpgate backend credential`;
 *   3. the value the backend file names (env_file, file), read at start.
 * A per_user slot without any value answers with a message that tells the
 * user where to link it (base_url + "/account"). Also the binding of a
 * stored value to its owner (the associated data of util/seal.h).
 *
 * Secrets: resolved values are new strings the caller clears with
 * tool_cred_free(); no value appears in a message or a log line.
 * Must not touch: SQL (store/credentials.h), HTTP.
 */
#ifndef MG_TOOLS_CREDENTIALS_H
#define MG_TOOLS_CREDENTIALS_H

#include <stddef.h>

#include "tools/backend.h"
#include "tools/registry.h"
#include "util/buf.h"
#include "util/seal.h"
#include "util/error.h"

struct store_conn;

/* The responder's keys (borrowed: they must outlive the process's calls,
 * e.g. the configuration's) and base_url (copied) for messages. Called at
 * start-up, before threads exist. Cannot fail. */
void tool_cred_setup(const struct seal_key *keys, int n_keys, const char *base_url);

/* Resolves the value of slot c of be for the call ctx (NULL: no database,
 * the configured value only). A per_user slot takes the calling user's
 * linked value and nothing else: not the backend's stored or configured
 * value, and none without a signed-in user. Returns a new string (free it with
 * tool_cred_free()), or NULL with a message for the model and the user in
 * err: the slot has no value, the stored value does not open, or the
 * database cannot be reached. */
char *tool_cred_resolve(const struct backend *be, const struct backend_cred *c,
                        struct tool_ctx *ctx, struct mg_error *err);

/* Clears and frees a resolved value. Accepts NULL. */
void tool_cred_free(char *value);

/* Puts value, the value of credential c, on an outgoing request: a header
 * line into header (bearer: "Authorization: <prefix or Bearer ><value>";
 * header: "<name>: <prefix><value>"), or "name=value" percent-encoded
 * appended to query after sep (query), or a copy into *userpwd, freeing the
 * one before (basic). Returns 0, or -1 when a buffer reached its limit
 * (clear header either way: it may hold the secret). */
__attribute__((warn_unused_result)) int tool_cred_put(const struct backend_cred *c,
                                                      const char *value, struct buf *header,
                                                      struct buf *query, const char *sep,
                                                      char **userpwd);

/* Seals value for backend's slot and user_id (0: the backend's own) under
 * keys[0]. Returns a new string, or NULL when value is too long. */
char *tool_cred_seal(const struct seal_key *keys, const char *backend, const char *slot,
                     long long user_id, const char *value);

/* Opens a stored value of backend's slot and user_id with keys. On SEAL_OK
 * *value is a new string (free it with tool_cred_free()). */
__attribute__((warn_unused_result)) enum seal_rc tool_cred_open(const struct seal_key *keys,
                                                                int n_keys, const char *backend,
                                                                const char *slot, long long user_id,
                                                                const char *sealed, char **value);

/* Returns 1 when value can be a credential: 1 to 8192 bytes of one line,
 * no control characters, else 0. */
int tool_cred_value_ok(const char *value);

#endif
