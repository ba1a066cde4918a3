/*
 * cli/cli.h - what the mcpgate admin command's subcommands share.
 *
 * Owns: the command table's entry type, exit statuses, and reading a
 * password from the terminal (echo off) or from standard input, never from
 * the command line.
 */
#ifndef MG_CLI_CLI_H
#define MG_CLI_CLI_H

#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>

#include "store/db.h"
#include "util/config.h"

#define EXIT_USAGE       2
#define EXIT_UNAVAILABLE 3

struct cli_env {
    const struct mg_config *cfg;
    struct store_conn *db;
};

/* A subcommand: argv[0] is its name. Returns the exit status. */
struct cli_command {
    const char *name;
    const char *summary; /* lines for mcpgate --help */
    int (*run)(const struct cli_env *env, int argc, char **argv);
};

int cli_migrate(const struct cli_env *env, int argc, char **argv);
int cli_user(const struct cli_env *env, int argc, char **argv);
int cli_client(const struct cli_env *env, int argc, char **argv);
int cli_key(const struct cli_env *env, int argc, char **argv);
int cli_token(const struct cli_env *env, int argc, char **argv);
int cli_backend(const struct cli_env *env, int argc, char **argv); /* cli/backend.c */
/* backend import-openapi (argv[0]); usage is the backend command's text */
int cli_backend_import(const struct cli_env *env, int argc, char **argv, const char *usage);
int cli_audit(const struct cli_env *env, int argc, char **argv);  /* cli/audit.c */
int cli_policy(const struct cli_env *env, int argc, char **argv); /* cli/policy.c */
int cli_doctor(const struct cli_env *env, int argc, char **argv); /* cli/doctor.c */

/* Reads a password: from the terminal with echo off, asked twice when
 * confirm is set; or one line from standard input when it is not a
 * terminal. Returns 0, or -1 (message printed). Clear out after use. */
__attribute__((warn_unused_result)) int cli_read_password(const char *prompt, int confirm,
                                                          char *out, size_t n);

/* 1 when an argument after argv[0] is --help or -h. */
int cli_help_asked(int argc, char **argv);

/* The end of a command's getopt_long() switch: -h/--help ('h') prints
 * usage on stdout and returns 0; anything else (an unknown option) prints
 * it on stderr and returns EXIT_USAGE. */
int cli_usage_end(int opt, void (*usage)(FILE *f));

/* Prints the standard message for a store failure; returns the exit
 * status to use. */
int cli_store_failed(enum store_rc rc);

/* For a failed store call about one thing (rc is not STORE_OK): when it
 * was not found prints fmt (a printf format, no newline) and returns 1;
 * otherwise as cli_store_failed(). */
__attribute__((format(printf, 2, 3))) int cli_store_missing(enum store_rc rc, const char *fmt, ...);

/* The rows of a list command as the store hands them over: counted, and
 * with --json gathered into arr for cli_rows_done(). */
struct cli_rows {
    struct json_object *arr; /* --json: the objects so far; NULL: a table */
    int n;                   /* rows so far */
};

/* Counts a row of rows. With --json returns a new object, already in
 * rows->arr, for the caller to fill (borrowed from arr); for a table NULL. */
struct json_object *cli_rows_next(struct cli_rows *rows);

/* Ends a list once the store call succeeded: prints the --json array and
 * puts it, or prints none (a line) when a table had no rows. */
void cli_rows_done(struct cli_rows *rows, const char *none);

#endif
