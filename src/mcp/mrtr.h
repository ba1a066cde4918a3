/*
 * mcp/mrtr.h - input-required results (2026-07-28, SEP-2322: multi
 * round-trip requests).
 *
 * A stateless client cannot be sent a request (sampling/createMessage,
 * elicitation/create, roots/list) in the middle of a call: there is no
 * session and no stream to answer on. Instead the call ends with
 *
 *   {"resultType":"input_required",
 *    "inputRequests":{KEY:{"method":M,"params":P}, ...},
 *    "requestState":STATE}
 *
 * and the client retries the same request with
 * params.inputResponses = {KEY: result, ...} and params.requestState =
 * STATE. The call then runs again from the start; each time it asks for
 * input under a key it already has an answer for, it gets the answer.
 *
 * Owns: parsing inputResponses and requestState on the retry, the answers
 * a call sees, the input requests it collects, and the requestState
 * format:
 *
 *   STATE  = sealed (util/seal.h, key id "rs") JSON text
 *            {"v":1,"exp":UNIX-SECONDS,"answers":{KEY:RESULT,...}}
 *   AAD    = "mcpgate-request-state" NUL user-id NUL method NUL name NUL
 *            sha256-hex(canonical JSON of the arguments)
 *
 * The key is the installation-wide secret "request_state"
 * (store/secret.h), so whichever process or host receives the retry opens
 * the state; AES-256-GCM makes it tamper-proof and keeps earlier answers
 * unreadable to the client; the binding makes a state issued to one user,
 * or for one request (method, tool or prompt name, arguments), useless for
 * any other. A state expires MRTR_STATE_TTL_S after it was issued.
 *
 * Must not touch: HTTP, SQL (the key comes through store/secret.h).
 */
#ifndef MG_MCP_MRTR_H
#define MG_MCP_MRTR_H

#include "mcp/types.h"

#define MRTR_STATE_TTL_S 3600

/* Returns 1 for the methods that may answer with an input-required
 * result (tools/call, prompts/get, resources/read). */
int mcp_mrtr_method(const char *method);

/* Prepares a stateless call of method (one mcp_mrtr_method() accepts) for
 * input requests: opens params.requestState and merges its answers with
 * params.inputResponses into call->input_answers. Returns 0, or -1 with
 * err (-32602: malformed inputResponses or a state that does not open,
 * expired, or was issued for another user or request; -32603 with HTTP
 * status 503 when the key cannot be read). */
int mcp_mrtr_begin(struct mcp_call *call, const char *method, struct json_object *params,
                   struct mcp_err *err);

/* The tool context's input hook for a stateless call: returns a new
 * reference to the answer under key when the client gave one; otherwise
 * records {method, params} under key (taking params) for the
 * input-required result and returns NULL with err's msg set. A capability the
 * client did not declare sets call->refusal instead
 * (mcp_call_missing_capability()). */
struct json_object *mcp_mrtr_input(struct mcp_call *call, const char *key, const char *method,
                                   struct json_object *params, struct mg_error *err);

/* When the call collected input requests, frees result and returns the
 * InputRequiredResult (with a new sealed requestState) instead; otherwise
 * returns result. Returns NULL with err when the state cannot be sealed
 * (-32603). */
struct json_object *mcp_mrtr_finish(struct mcp_call *call, const char *method,
                                    struct json_object *params, struct json_object *result,
                                    struct mcp_err *err);

/* The client capability a server-to-client request method needs
 * ("sampling", "elicitation", "roots"), or NULL. */
const char *mcp_request_capability(const char *method);

#endif
