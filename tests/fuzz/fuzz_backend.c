/*
 * tests/fuzz/fuzz_backend.c - backend files and URL templates
 * (tools/backend.c, tools/rest.c). The input is a backend file (JSON) and,
 * after a NUL byte, the arguments of a call (JSON). The file is parsed as
 * mcpgate loads it (credential sources not read); for each operation of a
 * REST backend the request is built from the arguments, as a call would
 * build it, without sending it: the path template, query, headers and body.
 */
#include "fuzz.h"
#include "tools/rest.h"
#include "tools/schema.h"
#include "util/buf.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *file = fuzz_next(&data, &size, '\0');
    char *args_text = fuzz_strndup(data, size);
    struct json_object *json = NULL, *args = NULL;
    if (json_parse_strict(file, strlen(file), &json, NULL) < 0)
        goto out;
    if (json_parse_strict(args_text, size, &args, NULL) < 0)
        args = NULL;
    struct mg_error err = MG_ERROR_INIT;
    struct backend *b = tool_backend_parse("fuzz.json", json, 1, &err);
    if (!b)
        goto out;
    for (int i = 0; i < b->n_ops; i++) {
        struct buf url = {.limit = 64 * 1024}, payload = {.limit = 1024 * 1024};
        (void)!tool_schema_validate(b->ops[i].schema, b->ops[i].schema, args, NULL);
        if (json_object_is_type(args, json_type_object))
            json_object_put(tool_backend_build_for_tests(&b->ops[i], args, &url, &payload));
        buf_free(&url);
        buf_free(&payload);
    }
    tool_backend_free(b);
out:
    json_object_put(json);
    json_object_put(args);
    free(file);
    free(args_text);
    return 0;
}
