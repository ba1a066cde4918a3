/*
 * store/migrate.h - schema migrations.
 *
 * Owns: the mcpgate_schema bookkeeping table and the order and atomicity of
 * migrations. The migrations themselves are the numbered files in sql/,
 * compiled into the binary (migrations_gen.c) so a binary always knows
 * exactly which schema it needs.
 */
#ifndef MG_STORE_MIGRATE_H
#define MG_STORE_MIGRATE_H

#include "store/db.h"

struct store_migration {
    int version;      /* the number the file name starts with */
    const char *name; /* file name without .sql */
    const char *sql;  /* the file's text */
};

extern const struct store_migration store_migrations[];
extern const int store_n_migrations;

/* Called before and after each migration that is applied (done = 0, 1). */
typedef void (*store_migrate_progress)(const struct store_migration *m, int done, void *arg);

/* Applies every migration newer than the database's schema, each in its own
 * transaction, under an advisory lock so concurrent runs serialize. Writes the
 * number applied to *applied and the resulting version to *version.
 * Returns STORE_OK; STORE_UNAVAILABLE when the database cannot be reached;
 * STORE_ERROR when a migration fails (it is rolled back, earlier ones stay)
 * or the database's schema is newer than this build knows (nothing done). */
__attribute__((warn_unused_result)) enum store_rc store_migrate(struct store_conn *c,
                                                                store_migrate_progress progress,
                                                                void *arg, int *applied,
                                                                int *version);

/* Reads the applied version (0 for an empty database) and the newest this
 * build knows. Returns STORE_OK or STORE_UNAVAILABLE. */
__attribute__((warn_unused_result)) enum store_rc store_migrate_status(struct store_conn *c,
                                                                       int *current, int *known);

#endif
