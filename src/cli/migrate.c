/*
 * cli/migrate.c - mcpgate migrate [--status].
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/migrate.h"

static void on_progress(const struct store_migration *m, int done, void *arg)
{
    (void)arg;
    if (!done)
        printf("applying %s ... ", m->name);
    else
        printf("done\n");
    fflush(stdout);
}

int cli_migrate(const struct cli_env *env, int argc, char **argv)
{
    struct store_conn *db = env->db;
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
