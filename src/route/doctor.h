/*
 * route/doctor.h - GET {base}/mcp/doctor: the probe `mcpgate doctor` reads.
 *
 * Owns: the diagnostic stream. It needs no token and reveals nothing a
 * client could not learn from the public metadata documents, apart from
 * whether the schema is current, whether an Authorization header reached
 * the responder (its presence only, never its value), and the settings that
 * decide how streams and bodies fare behind the web server (sse_pad_bytes,
 * max_body_bytes, sse_max_s, sse_heartbeat_s).
 *
 * Wire format (text/event-stream, two events, about HTTP_DOCTOR_GAP_MS
 * apart, then the response ends):
 *
 *   event: doctor
 *   data: {"base_url":"https://h","auth":"oauth","time_ms":1700000000000,
 *          "schema":"current"|"behind"|"ahead"|"unknown","schema_version":8,
 *          "schema_needed":8,"authorization_header":true,"gap_ms":2000,
 *          "sse_pad_bytes":0,"padded":false,"max_body_bytes":1048576,
 *          "sse_max_s":120,"sse_heartbeat_s":5}
 *   (with sse_pad_bytes set, the padding follows, unless the query is
 *   "?pad=0": then the web server's own buffering shows)
 *
 *   event: end
 *   data: {"time_ms":1700000002000}
 *
 * A client that sees the first event well before the end knows that nothing
 * between it and the responder buffers the stream.
 */
#ifndef MG_ROUTE_DOCTOR_H
#define MG_ROUTE_DOCTOR_H

#include "route/router.h"

#define HTTP_DOCTOR_GAP_MS      2000
#define HTTP_DOCTOR_MAX_STREAMS 2 /* per process at once; more get 429 */

/* Serves the diagnostic stream, or a 429 (ctx->res) when
 * HTTP_DOCTOR_MAX_STREAMS are already running in this process or
 * unauth_waiting_max unauthenticated waits (these streams and client
 * metadata fetches, store/lease.h) in all processes together; 503 when the
 * store cannot count them. Returns HTTP_SENT after streaming, HTTP_REPLY
 * when ctx->res holds the answer. */
enum http_rc http_doctor_handle(struct http_ctx *ctx);

#endif
