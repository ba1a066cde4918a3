/*
 * mcp/jsonrpc.c - JSON-RPC 2.0 messages as MCP uses them.
 */
#include "mcp/jsonrpc.h"

#include <string.h>

#include "util/json.h"

/* MCP ids: a string or an integer (not a fraction, not null). */
static int id_valid(struct json_object *id)
{
    return json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
}

void jsonrpc_classify(struct json_object *msg, struct jsonrpc_msg *out)
{
    memset(out, 0, sizeof *out);
    out->kind = JSONRPC_INVALID;
    if (!json_object_is_type(msg, json_type_object)) {
        out->why = "a JSON-RPC message must be an object";
        return;
    }
    struct json_object *id = NULL;
    int has_id = json_object_object_get_ex(msg, "id", &id);
    if (has_id && id_valid(id))
        out->id = id;
    const char *version = json_get_string(msg, "jsonrpc");
    if (!version || strcmp(version, "2.0") != 0) {
        out->why = "jsonrpc must be \"2.0\"";
        return;
    }
    if (has_id && !id_valid(id)) {
        out->why = "id must be a string or an integer";
        return;
    }
    struct json_object *method = NULL;
    if (json_object_object_get_ex(msg, "method", &method)) {
        if (!json_object_is_type(method, json_type_string)) {
            out->why = "method must be a string";
            return;
        }
        struct json_object *params = NULL;
        if (json_object_object_get_ex(msg, "params", &params) &&
            !json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_array)) {
            out->why = "params must be an object or an array";
            return;
        }
        out->method = json_object_get_string(method);
        out->params = params;
        out->kind = has_id ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
        return;
    }
    int has_result = json_object_object_get_ex(msg, "result", NULL);
    struct json_object *error = NULL;
    int has_error = json_object_object_get_ex(msg, "error", &error);
    if (has_id && has_result != has_error) {
        if (has_error && (!json_get(error, "code", json_type_int) ||
                          !json_get(error, "message", json_type_string))) {
            out->why = "error must have an integer code and a string message";
            return;
        }
        out->kind = JSONRPC_RESPONSE;
        return;
    }
    out->why = "not a request, notification or response";
}

static struct json_object *envelope(struct json_object *id)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_add(o, "id", id ? json_object_get(id) : NULL);
    return o;
}

struct json_object *jsonrpc_result(struct json_object *id, struct json_object *result)
{
    struct json_object *o = envelope(id);
    json_add(o, "result", result);
    return o;
}

struct json_object *jsonrpc_error(struct json_object *id, int code, const char *message)
{
    struct json_object *o = envelope(id);
    struct json_object *e = json_object_new_object();
    json_add(e, "code", json_object_new_int(code));
    json_add(e, "message", json_object_new_string(message));
    json_add(o, "error", e);
    return o;
}

struct json_object *jsonrpc_notification(const char *method, struct json_object *params)
{
    struct json_object *o = json_object_new_object();
    json_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_add(o, "method", json_object_new_string(method));
    if (params)
        json_add(o, "params", params);
    return o;
}
