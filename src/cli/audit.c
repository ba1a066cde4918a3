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

static void print_row(const struct store_audit_row *row, void *arg)
{
    struct cli_rows *rows = arg;
    struct json_object *o = cli_rows_next(rows);
    if (o) {
        json_add(o, "id", json_object_new_int64(atoll(row->id)));
        json_add_strings(o, "at", row->at, "user", row->user, "client_id", row->client_id, "tool",
                         row->tool, "args_sha256", row->args_digest, "outcome", row->outcome,
                         "detail", row->detail, NULL);
        json_add(o, "duration_ms", json_object_new_int(atoi(row->duration_ms)));
        json_add(o, "request_id", json_object_new_string(row->request_id));
        return;
    }
    if (rows->n == 1)
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
    int json = 0, opt;
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
            json = 1;
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
    struct cli_rows rows = {.arr = json ? json_object_new_array() : NULL};
    enum store_rc rc = store_audit_query(env->db, &f, print_row, &rows);
    if (rc != STORE_OK) {
        json_object_put(rows.arr);
        if (rc == STORE_ERROR && f.since)
            fprintf(stderr, "mcpgate audit: the query failed: check that --since is a "
                            "timestamp\n");
        return rc == STORE_ERROR && f.since ? 1 : cli_store_failed(rc);
    }
    cli_rows_done(&rows, "no audit rows match");
    return 0;
}
