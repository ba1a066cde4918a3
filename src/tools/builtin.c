/*
 * tools/builtin.c - tools that mcpgate itself provides.
 *
 * echo: returns its message; a harmless read-only tool that lets an
 * operator check a client connection end to end.
 */
#include <stddef.h>

#include "tools/registry.h"
#include "util/json.h"

static struct json_object *echo_call(struct tool_ctx *ctx, struct json_object *args)
{
    (void)ctx;
    struct json_object *m = json_get(args, "message", json_type_string);
    if (!m)
        return tool_result_text("echo needs a string argument \"message\"", 1);
    return tool_result_text(json_object_get_string(m), 0);
}

static const struct tool_def builtin_tools[] = {
    {
        .name = "echo",
        .title = "Echo",
        .description = "Returns the given message unchanged. Use it to check that the "
                       "connection to mcpgate works.",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\","
                        "\"description\":\"Text to return\"}},\"required\":[\"message\"],"
                        "\"additionalProperties\":false}",
        .access = TOOL_READ,
        .open_world = 0,
        .call = echo_call,
    },
};

void tool_builtin_register(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    tool_registry_add(builtin_tools, (int)(sizeof builtin_tools / sizeof builtin_tools[0]));
}
