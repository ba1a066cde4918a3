/*
 * cli/main.c - the mcpgate admin command.
 *
 *   mcpgate [--config FILE] [--database CONNINFO] COMMAND ...
 *
 * Commands in this version: migrate [--status]. Exit status: 0 success,
 * 1 failure (the message says what to do), 2 usage error, 3 the database
 * could not be reached.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "store/db.h"
#include "store/migrate.h"
#include "util/config.h"

#define EXIT_USAGE       2
#define EXIT_UNAVAILABLE 3

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: mcpgate [--config FILE] [--database CONNINFO] COMMAND\n"
        "\n"
        "commands:\n"
        "  migrate            apply the database migrations this version needs\n"
        "  migrate --status   show the schema version of the database and of mcpgate\n"
        "\n"
        "options:\n"
        "  --config FILE      configuration file (default: $MCPGATE_CONFIG, else " MG_DEFAULT_CONFIG
        ")\n"
        "  --database CONNINFO  libpq connection string; overrides the file's database\n"
        "  --version, --help\n"
        "\n"
        "exit status: 0 ok, 1 failed, 2 usage, 3 database unreachable\n");
}

static void on_progress(const struct store_migration *m, int done, void *arg)
{
    (void)arg;
    if (!done)
        printf("applying %s ... ", m->name);
    else
        printf("done\n");
    fflush(stdout);
}

static int cmd_migrate(struct store_conn *db, int argc, char **argv)
{
    int status_only = argc > 1 && strcmp(argv[1], "--status") == 0;
    if (argc > 1 && !status_only) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: mcpgate migrate [--status]\n"
                   "Applies every migration newer than the database's schema, each in its own\n"
                   "transaction; safe to run again and from several hosts at once.\n");
            return 0;
        }
        fprintf(stderr, "mcpgate migrate: unknown argument %s (try --help)\n", argv[1]);
        return EXIT_USAGE;
    }
    int current = 0, known = 0;
    if (status_only) {
        if (store_migrate_status(db, &current, &known) != STORE_OK) {
            fprintf(stderr, "mcpgate: could not reach the database: check \"database\" in the "
                            "configuration and that PostgreSQL is running\n");
            return EXIT_UNAVAILABLE;
        }
        printf("database schema version %d; this mcpgate needs %d (%s)\n", current, known,
               current == known  ? "current"
               : current < known ? "run mcpgate migrate"
                                 : "database is newer: upgrade mcpgate");
        return current == known ? 0 : 1;
    }
    int applied = 0, version = 0;
    enum store_rc rc = store_migrate(db, on_progress, NULL, &applied, &version);
    if (rc == STORE_UNAVAILABLE) {
        fprintf(stderr, "mcpgate: could not reach the database: check \"database\" in the "
                        "configuration and that PostgreSQL is running\n");
        return EXIT_UNAVAILABLE;
    }
    if (rc != STORE_OK)
        return 1;
    if (applied == 0)
        printf("database schema is current (version %d)\n", version);
    else
        printf("applied %d migration%s; database schema version %d\n", applied,
               applied == 1 ? "" : "s", version);
    return 0;
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
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    if (strcmp(cmd, "migrate") != 0) {
        fprintf(stderr, "mcpgate: unknown command \"%s\" (try mcpgate --help)\n", cmd);
        return EXIT_USAGE;
    }

    struct mg_config cfg;
    char err[512];
    config_defaults(&cfg);
    const char *path = config_path(config_file);
    if ((config_file || !database) && config_load(&cfg, path, err, sizeof err) < 0) {
        fprintf(stderr, "mcpgate: %s\n", err);
        return 1;
    }
    if (database && config_set(&cfg, "database", database, err, sizeof err) < 0) {
        fprintf(stderr, "mcpgate: %s\n", err);
        return EXIT_USAGE;
    }
    if (!cfg.database[0]) {
        fprintf(stderr,
                "mcpgate: no database configured: set \"database\" in %s or pass "
                "--database\n",
                path);
        return 1;
    }
    struct store_conn *db = store_conn_new(cfg.database, cfg.db_connect_timeout_s);
    int rc = cmd_migrate(db, argc - optind, argv + optind);
    store_conn_free(db);
    return rc;
}
