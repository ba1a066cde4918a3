/*
 * cli/main.c - the mcpgate admin command.
 *
 *   mcpgate [--config FILE] [--database CONNINFO] COMMAND ...
 *
 * Reads the configuration, opens the database lazily and runs one command
 * of the table below. Exit status: 0 success, 1 failure (the message says
 * what to do), 2 usage error, 3 the database could not be reached.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"

static const struct cli_command commands[] = {
    {"migrate", "  migrate [--status]      apply (or compare) the database migrations\n",
     cli_migrate},
    {"user",
     "  user add NAME           add a local user (password from the terminal or stdin)\n"
     "  user passwd NAME        set a user's password\n"
     "  user disable|enable NAME\n"
     "  user admin|unadmin NAME   grant or take back the admin role (/metrics, console)\n"
     "  user list\n",
     cli_user},
    {"client",
     "  client register --name N --redirect-uri URI... [--auth none|client_secret_post|\n"
     "                  client_secret_basic] [--scope S]   pre-register an OAuth client\n"
     "  client list | show ID | revoke ID\n",
     cli_client},
    {"key",
     "  key create USER --name N [--read-only]   create a personal API key (shown once)\n"
     "  key list [USER] | revoke ID\n",
     cli_key},
    {"token",
     "  token revoke --user NAME [--client ID]   revoke a user's tokens (all, or one app's)\n"
     "  token revoke --stdin     revoke the token read from standard input\n",
     cli_token},
    {"backend",
     "  backend list [--json]   the REST backends of backends_dir and their tools\n"
     "  backend test NAME [TOOL [ARGS-JSON]]   check a backend file, call one tool\n"
     "  backend import-openapi FILE --name NAME [...]   OpenAPI 3.x JSON -> backend file\n"
     "  backend credential NAME SLOT   how to set a backend's secret\n",
     cli_backend},
    {"audit",
     "  audit tail [-n N] [--json]   the newest audit rows of tool calls\n"
     "  audit query [--user U] [--tool T] [--outcome O] [--since TS] [--limit N] [--json]\n",
     cli_audit},
    {"policy",
     "  policy grant|deny (--user U | --group G | --everyone) PATTERN   who may use which tools\n"
     "  policy revoke ID | show [--user U] [--json] | group add|remove GROUP USER\n",
     cli_policy},
    {"doctor", "  doctor --url URL [--json]   check a live deployment as a client sees it\n",
     cli_doctor},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgate [--config FILE] [--database CONNINFO] COMMAND\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fputs(commands[i].summary, f);
    fprintf(f, "\noptions:\n"
               "  --config FILE      configuration file (default: $MCPGATE_CONFIG, else "
               "" MG_DEFAULT_CONFIG ")\n"
               "  --database CONNINFO  libpq connection string; overrides the file's database\n"
               "  --version, --help\n"
               "\n"
               "exit status: 0 ok, 1 failed, 2 usage, 3 database unreachable\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"database", required_argument, NULL, 'd'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL, *database = NULL;
    int opt;
    /* "+": stop at the command, its options are its own */
    while ((opt = getopt_long(argc, argv, "+c:d:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_file = optarg;
            break;
        case 'd':
            database = optarg;
            break;
        case 'V':
            printf("mcpgate %s\n", PACKAGE_VERSION);
            return 0;
        default:
            return cli_usage_end(opt, usage);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct cli_command *cmd = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[optind], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "mcpgate: unknown command \"%s\" (try mcpgate --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    /* doctor talks HTTP: no configuration, no database; only --tools and
     * --idp read the configuration (its backends and discovery_threshold,
     * its identity providers) */
    if (cmd->run == cli_doctor) {
        int tools = 0;
        for (int i = optind + 1; i < argc; i++)
            tools |= strcmp(argv[i], "--tools") == 0 || strcmp(argv[i], "--idp") == 0;
        if (!tools)
            return cli_doctor(NULL, argc - optind, argv + optind);
        static struct mg_config dcfg;
        struct mg_error derr = MG_ERROR_INIT;
        config_defaults(&dcfg);
        if (config_load(&dcfg, config_path(config_file), &derr) < 0) {
            fprintf(stderr, "mcpgate: %s (give another with --config FILE or MCPGATE_CONFIG)\n",
                    derr.msg);
            return 1;
        }
        struct cli_env denv = {.cfg = &dcfg, .db = NULL};
        return cli_doctor(&denv, argc - optind, argv + optind);
    }

    /* COMMAND --help needs no configuration and no database */
    int help = cli_help_asked(argc - optind, argv + optind);

    struct mg_config cfg;
    struct mg_error err = MG_ERROR_INIT;
    config_defaults(&cfg);
    const char *path = config_path(config_file);
    if ((config_file || !database) && config_load(&cfg, path, &err) < 0 && !help) {
        fprintf(stderr, "mcpgate: %s (give another with --config FILE or MCPGATE_CONFIG)\n",
                err.msg);
        return 1;
    }
    if (database && config_set(&cfg, "database", database, &err) < 0) {
        fprintf(stderr, "mcpgate: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (!cfg.database[0] && !help) {
        fprintf(stderr,
                "mcpgate: no database configured: set \"database\" in %s or pass "
                "--database\n",
                path);
        return 1;
    }
    struct store_conn *db = store_conn_new(cfg.database, cfg.db_connect_timeout_s);
    struct cli_env env = {.cfg = &cfg, .db = db};
    int rc = cmd->run(&env, argc - optind, argv + optind);
    store_conn_free(db);
    return rc;
}
