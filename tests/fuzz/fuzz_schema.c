/*
 * tests/fuzz/fuzz_schema.c - the JSON Schema validator (tools/schema.c).
 * The input is a schema and an instance, both JSON, separated by a NUL
 * byte (no JSON text holds one). The instance, and the schema itself, are
 * validated against the schema; the schema's own $ref and the instance's
 * text are resolved as references within it.
 */
#include "fuzz.h"
#include "tools/schema.h"
#include "util/json.h"

static struct json_object *parse(const char *s)
{
    struct json_object *o = NULL;
    if (json_parse_strict(s, strlen(s), &o, NULL) < 0)
        return NULL;
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *schema_text = fuzz_next(&data, &size, '\0');
    char *instance_text = fuzz_strndup(data, size);
    struct json_object *schema = parse(schema_text);
    struct json_object *instance = parse(instance_text);
    if (schema) {
        (void)!tool_schema_validate(schema, schema, instance, NULL);
        (void)!tool_schema_validate(schema, schema, schema, NULL);
        const char *ref = json_get_string(schema, "$ref");
        if (ref)
            (void)tool_schema_resolve(schema, ref);
        (void)tool_schema_resolve(schema, instance_text);
    }
    json_object_put(schema);
    json_object_put(instance);
    free(schema_text);
    free(instance_text);
    return 0;
}
