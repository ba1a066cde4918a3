/*
 * mcp/call_hold.h - a session's tools/call that waits for the client's
 * answer without holding a worker thread.
 *
 * A tool that asks the client (tool_request(), tool_input():
 * elicitation/create, sampling/createMessage, roots/list) on a session's
 * POST used to wait in its worker until the answer was POSTed. Now the
 * request goes out on the call's SSE stream and the run ends there (the
 * tool is told "the client's input is required" and what it returns is
 * dropped); the stream is detached and held (mcp/hold.h) on the answer's
 * waiter "r:<request>" and the call's cancellation "c:<session>:<id>",
 * with heartbeats, until the answer, a cancellation or the request's
 * timeout. Then a worker runs the tool again from the start with the
 * answers so far (as input-required results do, mcp/mrtr.h): the n-th
 * request of a run (tool_request) or the request under a key (tool_input)
 * is answered at once with what the client said (or the failure it had:
 * "the client did not answer in time" at the timeout), the next one is
 * sent and waited for the same way, and the last run's result is the
 * call's response, the last event of its stream.
 *
 * What a call keeps between turns: its JSON-RPC id, session, protocol
 * version, logging level, client capabilities, progress token, the
 * principal (without its bearer token: a tool running again gets no
 * subject token, as in a task), the endpoint's connector, the tool's name
 * and arguments, the answers so far (the failures as their reasons), the
 * POST stream (its event ids go on from the same stored stream, so a
 * client that lost it resumes with Last-Event-ID), the stream's lease and
 * the count of messages sent (max_events_per_call). The notifications a
 * run sends before it reaches the last answer of an earlier turn went out
 * in that turn and are not sent again; those after its request are
 * dropped. The rate limits count the tools/call once; the policy and
 * scope are checked again at every turn, and before them the credential
 * the call was made with (mcp_credential_ended(), oauth/live.h: the
 * token's or key's hash looked up again): revoked, expired or its user
 * disabled or deleted while it waited, the turn answers the call with
 * MCP_CREDENTIAL_ENDED_MSG (-32000) and its audit row is "refused", the
 * tool not run again; the call's audit row is written once, when it is
 * answered (with the latency from its start).
 *
 * So a tool that asks must do nothing before its requests that it cannot
 * do twice: the contract input-required results and tasks (mcp/task.h)
 * already put on every tool that asks. No backend tool asks: REST tools
 * never do, and upstream MCP backends do not relay their servers'
 * requests (tools/upstream.c).
 *
 * The waits that still take a worker: in a process without a holder (one
 * worker thread, mcp/hold.h), in a batch (no stream), on the 2024-11-05
 * transport (the call's messages go to its /sse stream), for a request
 * whose input key is longer than 63 bytes, and when the stream cannot be
 * detached. Stateless (2026-07-28) calls never wait: they answer
 * input_required; tasks wait in their runner thread.
 *
 * Must not touch: SQL (store/), HTTP (the response comes as a sink).
 */
#ifndef MG_MCP_CALL_HOLD_H
#define MG_MCP_CALL_HOLD_H

#include "mcp/types.h"

/* Returns 1 when call's requests to the client may end the run for the
 * call to be held (sets nothing). */
int mcp_call_holdable(const struct mcp_call *call);

/* The run of tool with args ended waiting for call->hold_id: takes over
 * the call (its response, stream, lease, answers), holds it or runs its
 * next turns here, sets call->held and returns a placeholder result
 * (mcp_call_respond() drops it). In a later turn it only returns the
 * placeholder: the turn's driver holds the call again. */
struct json_object *mcp_call_hold(struct mcp_call *call, const struct tool_def *tool,
                                  struct json_object *args);

#endif
