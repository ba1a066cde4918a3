/*
 * cli/audit.c - mcpgate audit: read the audit trail of tool calls.
 *
 *   mcpgate audit tail [-n N] [--json]
 *   mcpgate audit query [--user NAME] [--tool NAME] [--outcome ok|error|refused|cancelled]
 *                       [--since TIMESTAMP] [--limit N] [--json]
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/audit.h"
#include "util/json.h"

struct print_state {
    int json;
    int rows;
    struct json_object *arr;
};

static void print_row(const struct store_audit_row *row, void *arg)
{
    struct print_state *st = arg;
    st->rows++;
    if (st->json) {
        struct json_object *o = json_object_new_object();
        json_add(o, "id", json_object_new_int64(atoll(row->id)));
        json_add(o, "at", json_object_new_string(row->at));
        json_add(o, "user", json_object_new_string(row->user));
        json_add(o, "client_id", json_object_new_string(row->client_id));
        json_add(o, "tool", json_object_new_string(row->tool));
        json_add(o, "args_sha256", json_object_new_string(row->args_digest));
        json_add(o, "outcome", json_object_new_string(row->outcome));
        json_add(o, "detail", json_object_new_string(row->detail));
        json_add(o, "duration_ms", json_object_new_int(atoi(row->duration_ms)));
        json_add(o, "request_id", json_object_new_string(row->request_id));
        if (json_object_array_add(st->arr, o) != 0)
            abort();
        return;
    }
    if (st->rows == 1)
        printf("%-8s %-24s %-16s %-32s %-9s %7s  %s\n", "ID", "AT (UTC)", "USER", "TOOL", "OUTCOME",
               "MS", "DETAIL");
    printf("%-8s %-24s %-16.16s %-32.32s %-9s %7s  %s\n", row->id, row->at,
           row->user[0] ? row->user : "-", row->tool, row->outcome, row->duration_ms, row->detail);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgate audit tail [-n N] [--json]\n"
               "       mcpgate audit query [--user NAME] [--tool NAME] [--outcome OUTCOME]\n"
               "                           [--since TIMESTAMP] [--limit N] [--json]\n"
               "\n"
               "Shows the audit trail of tool calls, newest first: who called which tool\n"
               "when, with what outcome (ok, error, refused, cancelled) and how long it took.\n"
               "Arguments are recorded only as a SHA-256 digest, with secret-looking fields\n"
               "redacted first. TIMESTAMP is anything PostgreSQL reads, e.g. 2026-11-21 or\n"
               "'2026-11-21 10:00+00'.\n");
}

int cli_audit(const struct cli_env *env, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    int tail = strcmp(argv[1], "tail") == 0;
    if (!tail && strcmp(argv[1], "query") != 0) {
        fprintf(stderr, "mcpgate audit: unknown subcommand \"%s\" (try mcpgate audit --help)\n",
                argv[1]);
        return EXIT_USAGE;
    }
    static const struct option opts[] = {
        {"user", required_argument, NULL, 'u'},    {"tool", required_argument, NULL, 't'},
        {"outcome", required_argument, NULL, 'o'}, {"since", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct store_audit_filter f = {.limit = tail ? 20 : 100};
    struct print_state st = {0};
    int opt;
    optind = 2;
    while ((opt = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            f.username = optarg;
            break;
        case 't':
            f.tool = optarg;
            break;
        case 'o':
            f.outcome = optarg;
            break;
        case 's':
            f.since = optarg;
            break;
        case 'n':
            f.limit = atoi(optarg);
            break;
        case 'j':
            st.json = 1;
            break;
        default:
            return cli_usage_end(opt, usage);
        }
    }
    if (tail && (f.username || f.tool || f.outcome || f.since)) {
        fprintf(stderr, "mcpgate audit tail takes only -n and --json; filters belong to "
                        "mcpgate audit query\n");
        return EXIT_USAGE;
    }
    if (f.outcome && strcmp(f.outcome, "ok") && strcmp(f.outcome, "error") &&
        strcmp(f.outcome, "refused") && strcmp(f.outcome, "cancelled")) {
        fprintf(stderr, "mcpgate audit: --outcome is one of ok, error, refused, cancelled\n");
        return EXIT_USAGE;
    }
    if (f.limit < 1 || f.limit > 10000) {
        fprintf(stderr, "mcpgate audit: the limit is a number from 1 to 10000\n");
        return EXIT_USAGE;
    }
    if (st.json)
        st.arr = json_object_new_array();
    enum store_rc rc = store_audit_query(env->db, &f, print_row, &st);
    if (rc != STORE_OK) {
        json_object_put(st.arr);
        if (rc == STORE_ERROR && f.since)
            fprintf(stderr, "mcpgate audit: the query failed: check that --since is a "
                            "timestamp\n");
        return rc == STORE_ERROR && f.since ? 1 : cli_store_failed(rc);
    }
    if (st.json) {
        printf("%s\n", json_object_to_json_string_ext(st.arr, JSON_C_TO_STRING_PRETTY |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(st.arr);
    } else if (st.rows == 0) {
        printf("no audit rows match\n");
    }
    return 0;
}
