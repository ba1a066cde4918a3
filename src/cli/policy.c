/*
 * cli/policy.c - mcpgate policy: which users may see and call which tools.
 *
 *   mcpgate policy grant|deny (--user NAME | --group NAME | --everyone) PATTERN
 *   mcpgate policy revoke ID
 *   mcpgate policy show [--user NAME] [--json]
 *   mcpgate policy group add|remove GROUP USER
 *
 * Every change tells the affected live sessions that their tool list
 * changed (notifications/tools/list_changed).
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/policy.h"
#include "util/json.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mcpgate policy grant|deny (--user NAME | --group NAME | --everyone) PATTERN\n"
            "       mcpgate policy revoke ID\n"
            "       mcpgate policy show [--user NAME] [--json]\n"
            "       mcpgate policy group add|remove GROUP USER\n"
            "\n"
            "A rule lets (grant) or forbids (deny) one user, a group or everyone to see and\n"
            "call the tools whose names match PATTERN, a shell glob: 'echo', 'petstore_*'\n"
            "(a backend's tools share its name as a prefix), '*'. A matching deny beats any\n"
            "grant; with no matching rule, policy_default in mcpgate.conf decides (allow\n"
            "unless set to deny). Without authentication (auth = none) no policy applies.\n"
            "Changes reach the live sessions at once: they get\n"
            "notifications/tools/list_changed.\n");
}

static int notify(const struct cli_env *env, const char *user)
{
    int n = 0;
    enum store_rc rc = store_tools_changed(env->db, user, &n);
    if (rc != STORE_OK)
        return cli_store_failed(rc);
    printf("%d live session%s told that the tool list changed\n", n, n == 1 ? "" : "s");
    return 0;
}

static int rule_add(const struct cli_env *env, const char *effect, int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, NULL, 'u'},
        {"group", required_argument, NULL, 'g'},
        {"everyone", no_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    const char *user = NULL, *group = NULL;
    int everyone = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'u')
            user = optarg;
        else if (opt == 'g')
            group = optarg;
        else if (opt == 'e')
            everyone = 1;
        else
            return EXIT_USAGE;
    }
    if ((user != NULL) + (group != NULL) + everyone != 1 || optind != argc - 1) {
        fprintf(stderr,
                "mcpgate policy %s: give exactly one of --user, --group, --everyone "
                "and one PATTERN (try mcpgate policy --help)\n",
                effect[0] == 'a' ? "grant" : "deny");
        return EXIT_USAGE;
    }
    const char *pattern = argv[optind];
    if (strlen(pattern) == 0 || strlen(pattern) > 128 ||
        strspn(pattern, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-*?") !=
            strlen(pattern)) {
        fprintf(stderr, "mcpgate policy: PATTERN is a tool name with * and ? wildcards "
                        "(letters, digits, _ . -), at most 128 characters\n");
        return EXIT_USAGE;
    }
    long long id = 0;
    enum store_rc rc = store_policy_add(env->db, user, group, effect, pattern, &id);
    if (rc != STORE_OK)
        return cli_store_missing(rc,
                                 "mcpgate policy: no %s named %s (see mcpgate user list; groups "
                                 "are made by mcpgate policy group add)",
                                 user ? "user" : "group", user ? user : group);
    printf("rule %lld: %s %s to %s%s\n", id, effect, pattern,
           user    ? "user "
           : group ? "group "
                   : "everyone",
           user    ? user
           : group ? group
                   : "");
    return notify(env, user);
}

static void show_row(const struct store_policy_row *row, void *arg)
{
    struct cli_rows *rows = arg;
    struct json_object *o = cli_rows_next(rows);
    if (o) {
        json_add(o, "id", json_object_new_int64(atoll(row->id)));
        json_add_strings(o, "subject", row->subject, "effect", row->effect, "pattern", row->pattern,
                         "created_at", row->created_at, NULL);
        return;
    }
    if (rows->n == 1)
        printf("%-6s %-24s %-6s %-32s %s\n", "ID", "SUBJECT", "EFFECT", "PATTERN", "CREATED (UTC)");
    printf("%-6s %-24.24s %-6s %-32.32s %s\n", row->id, row->subject,
           strcmp(row->effect, "allow") == 0 ? "grant" : "deny", row->pattern, row->created_at);
}

static int show(const struct cli_env *env, int argc, char **argv)
{
    const char *user = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            user = argv[++i];
        else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    struct cli_rows rows = {.arr = json ? json_object_new_array() : NULL};
    enum store_rc rc = store_policy_list(env->db, user, show_row, &rows);
    if (rc != STORE_OK) {
        json_object_put(rows.arr);
        return cli_store_missing(rc, "mcpgate policy show: no user named %s", user);
    }
    cli_rows_done(&rows, user ? "no rules apply to this user: policy_default decides for every tool"
                              : "no rules: policy_default decides for every tool");
    return 0;
}

int cli_policy(const struct cli_env *env, int argc, char **argv)
{
    if (argc < 2 || cli_help_asked(argc, argv)) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "grant") == 0 || strcmp(sub, "deny") == 0)
        return rule_add(env, sub[0] == 'g' ? "allow" : "deny", argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0)
        return show(env, argc - 1, argv + 1);
    if (strcmp(sub, "revoke") == 0) {
        char *end = NULL;
        long long id = argc == 3 ? strtoll(argv[2], &end, 10) : 0;
        if (argc != 3 || !end || *end || id <= 0) {
            fprintf(stderr, "mcpgate policy revoke: give the rule's ID (mcpgate policy show)\n");
            return EXIT_USAGE;
        }
        long long uid = 0;
        enum store_rc rc = store_policy_remove(env->db, id, &uid);
        if (rc != STORE_OK)
            return cli_store_missing(rc, "mcpgate policy revoke: no rule %lld", id);
        printf("rule %lld revoked\n", id);
        /* the rule's user is known only by id: tell everyone, which is safe */
        return notify(env, NULL);
    }
    if (strcmp(sub, "group") == 0 && argc == 5 &&
        (strcmp(argv[2], "add") == 0 || strcmp(argv[2], "remove") == 0)) {
        int add = argv[2][0] == 'a';
        enum store_rc rc = store_group_member(env->db, argv[3], argv[4], add);
        if (rc == STORE_NOT_FOUND) {
            fprintf(stderr, "mcpgate policy group: %s\n",
                    add ? "no such user, or already a member" : "not a member of that group");
            return 1;
        }
        if (rc != STORE_OK)
            return cli_store_failed(rc);
        printf("%s %s group %s\n", argv[4], add ? "added to" : "removed from", argv[3]);
        return notify(env, argv[4]);
    }
    fprintf(stderr,
            "mcpgate policy: unknown subcommand or wrong arguments \"%s\" (try mcpgate "
            "policy --help)\n",
            sub);
    return EXIT_USAGE;
}
