/*
 * tests/fuzz/fuzz_openapi.c - OpenAPI import (tools/openapi.c). The input is
 * an OpenAPI document (JSON); the first byte picks a selection (none, tag
 * "pet", paths "/pet*", method GET). What the import writes is then loaded
 * as a backend file, as the responder would load it: it must load.
 */
#include <stdio.h>

#include "fuzz.h"
#include "tools/backend.h"
#include "tools/openapi.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned pick = data[0] & 3;
    char *text = fuzz_strndup(data + 1, size - 1);
    struct json_object *doc = NULL;
    if (json_parse_strict(text, size - 1, &doc, NULL) < 0)
        goto out;
    static const char *const tags[] = {"pet"}, *const paths[] = {"/pet*"},
                             *const methods[] = {"get"};
    struct openapi_opts o = {.name = "fuzz", .env_file = pick == 0 ? "/nonexistent.env" : NULL};
    if (pick == 1)
        o.tags = tags, o.n_tags = 1;
    if (pick == 2)
        o.paths = paths, o.n_paths = 1;
    if (pick == 3)
        o.methods = methods, o.n_methods = 1;
    struct openapi_stats st;
    struct mg_error err = MG_ERROR_INIT;
    struct json_object *file = tool_openapi_import(doc, &o, &st, &err);
    json_object_put(st.report);
    if (file) {
        struct backend *b = tool_backend_parse("fuzz.json", file, 1, &err);
        /* a written file the loader refuses would stop the responder */
        if (!b && st.tools > 0) {
            fprintf(stderr, "imported file does not load: %s\n%s\n", err.msg,
                    json_object_to_json_string_ext(file, JSON_C_TO_STRING_PRETTY));
            abort();
        }
        tool_backend_free(b);
        json_object_put(file);
    }
out:
    json_object_put(doc);
    free(text);
    return 0;
}
