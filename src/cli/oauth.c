/*
 * cli/oauth.c - mcpgate user, client, key and token: the administration of
 * the authorization server.
 *
 * Secrets (passwords) are read from the terminal or standard input, never
 * from the command line, where other users could see them. Client secrets
 * and API keys are printed once and stored only as hashes.
 */
#include <getopt.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oauth/oauth.h"
#include "oauth/password.h"
#include "store/api_keys.h"
#include "store/metrics.h"
#include "store/oauth_clients.h"
#include "store/oauth_tokens.h"
#include "store/users.h"
#include "util/alloc.h"
#include "util/crypto.h"
#include "util/json.h"

/* Removes every "--json" from argv; returns 1 when there was one. */
static int take_json_flag(int *argc, char **argv)
{
    int found = 0, j = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            found = 1;
        else
            argv[j++] = argv[i];
    }
    *argc = j;
    return found;
}

/* Prints a JSON array built by a list command and frees it. */
static void print_json_array(struct json_object *arr)
{
    printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(arr);
}

int cli_help_asked(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* 1 after printing usage when argv asks for help (--help or -h). */
static int help_printed(int argc, char **argv, const char *usage)
{
    if (!cli_help_asked(argc, argv))
        return 0;
    fputs(usage, stdout);
    return 1;
}

struct json_object *cli_rows_next(struct cli_rows *rows)
{
    rows->n++;
    if (!rows->arr)
        return NULL;
    struct json_object *o = json_object_new_object();
    if (json_object_array_add(rows->arr, o) != 0)
        abort();
    return o;
}

void cli_rows_done(struct cli_rows *rows, const char *none)
{
    if (rows->arr)
        print_json_array(rows->arr);
    else if (rows->n == 0)
        printf("%s\n", none);
    rows->arr = NULL;
}

/* Ends a list command: prints arr (the --json output; NULL for the table
 * already printed) unless rc failed. Frees arr; returns the exit status. */
static int list_done(enum store_rc rc, struct json_object *arr)
{
    if (rc != STORE_OK) {
        json_object_put(arr);
        return cli_store_failed(rc);
    }
    if (arr)
        print_json_array(arr);
    return 0;
}

/* Finds user name into *u. Returns 0, or the exit status (message
 * printed). */
static int find_user(const struct cli_env *env, const char *name, struct store_user *u)
{
    enum store_rc rc = store_user_find(env->db, name, u);
    return rc == STORE_OK ? 0 : cli_store_missing(rc, "mcpgate: no user %s", name);
}

int cli_usage_end(int opt, void (*usage)(FILE *f))
{
    usage(opt == 'h' ? stdout : stderr);
    return opt == 'h' ? 0 : EXIT_USAGE;
}

int cli_store_missing(enum store_rc rc, const char *fmt, ...)
{
    if (rc != STORE_NOT_FOUND)
        return cli_store_failed(rc);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_store_failed(enum store_rc rc)
{
    if (rc == STORE_UNAVAILABLE) {
        fprintf(stderr, "mcpgate: could not reach the database (or it is not migrated: run "
                        "mcpgate migrate)\n");
        return EXIT_UNAVAILABLE;
    }
    fprintf(stderr, "mcpgate: the database refused the change (see the message above)\n");
    return 1;
}

static int read_line(FILE *f, char *out, size_t n)
{
    if (!fgets(out, (int)n, f))
        return -1;
    size_t len = strcspn(out, "\r\n");
    if (out[len] == '\0' && len == n - 1)
        return -1; /* too long */
    out[len] = '\0';
    return 0;
}

static int read_tty(const char *prompt, char *out, size_t n)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    int rc = read_line(stdin, out, n);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
    return rc;
}

int cli_read_password(const char *prompt, int confirm, char *out, size_t n)
{
    int rc;
    if (isatty(STDIN_FILENO)) {
        rc = read_tty(prompt, out, n);
        if (rc == 0 && confirm) {
            char again[OAUTH_PASSWORD_MAX_LEN + 2];
            rc = read_tty("Repeat the password: ", again, sizeof again);
            if (rc == 0 && strcmp(again, out) != 0) {
                fprintf(stderr, "mcpgate: the passwords differ\n");
                rc = -1;
            }
            explicit_bzero(again, sizeof again);
        }
    } else {
        rc = read_line(stdin, out, n);
    }
    if (rc == 0 && !*out) {
        fprintf(stderr, "mcpgate: the password must not be empty\n");
        rc = -1;
    } else if (rc < 0) {
        fprintf(stderr, "mcpgate: could not read a password (at most %d characters)\n",
                OAUTH_PASSWORD_MAX_LEN);
    }
    return rc;
}

/* --- user --- */

static void print_user(void *arg, const struct store_user *u)
{
    if (arg) {
        struct json_object *o = json_object_new_object();
        json_add(o, "id", json_object_new_int64(u->id));
        json_add(o, "username", json_object_new_string(u->username));
        json_add(o, "disabled", json_object_new_boolean(u->disabled));
        json_add(o, "created_at", json_object_new_string(u->created_at));
        if (u->idp[0]) {
            json_add_strings(o, "idp", u->idp, "subject", u->subject, "email", u->email, NULL);
        }
        if (json_object_array_add(arg, o) != 0)
            json_object_put(o);
        return;
    }
    printf("%-32s %-8s %-20s %-12s %s\n", u->username, u->disabled ? "disabled" : "active",
           u->created_at, u->idp[0] ? u->idp : "local", u->idp[0] ? u->subject : "-");
}

static const char user_usage[] =
    "usage: mcpgate user add NAME\n"
    "       mcpgate user passwd NAME\n"
    "       mcpgate user disable|enable NAME\n"
    "       mcpgate user admin|unadmin NAME\n"
    "       mcpgate user list [--json]\n"
    "\n"
    "Local users sign in on the login page of mcpgate's OAuth server.\n"
    "  add       add a user; the password is read from the terminal (asked twice,\n"
    "            echo off) or as one line from standard input\n"
    "  passwd    set a user's password (read the same way)\n"
    "  disable   refuse the user's sign-ins, tokens and API keys; enable undoes it\n"
    "  admin     grant the admin role: the user's API keys may read /metrics;\n"
    "            unadmin takes it back\n"
    "  list      the users, with the identity provider and subject of those who\n"
    "            sign in at one (--json: machine-readable)\n"
    "A user name has 1 to 64 of A-Z a-z 0-9 . _ @ -\n";

static int set_password(const struct cli_env *env, const char *name, int create)
{
    char pw[OAUTH_PASSWORD_MAX_LEN + 2], hash[OAUTH_PASSWORD_HASH_MAX];
    int rc = 1;
    if (cli_read_password("Password: ", 1, pw, sizeof pw) < 0)
        goto out;
    if (oauth_password_hash(pw, hash) < 0) {
        fprintf(stderr, "mcpgate: could not hash the password\n");
        goto out;
    }
    long long id = 0;
    enum store_rc src = create ? store_user_create(env->db, name, hash, &id)
                               : store_user_set_password(env->db, name, hash);
    if (src == STORE_NOT_FOUND)
        fprintf(stderr, "mcpgate: no user %s\n", name);
    else if (src != STORE_OK)
        rc = cli_store_failed(src);
    else {
        printf(create ? "user %s added\n" : "password of %s changed\n", name);
        rc = 0;
    }
out:
    explicit_bzero(pw, sizeof pw);
    return rc;
}

static int valid_username(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") == n;
}

int cli_user(const struct cli_env *env, int argc, char **argv)
{
    if (help_printed(argc, argv, user_usage))
        return 0;
    int json = take_json_flag(&argc, argv);
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "list") == 0 && argc == 2) {
        struct json_object *arr = json ? json_object_new_array() : NULL;
        if (!json)
            printf("%-32s %-8s %-20s %-12s %s\n", "USER", "STATE", "CREATED", "PROVIDER",
                   "SUBJECT");
        return list_done(store_user_list(env->db, print_user, arr), arr);
    }
    if (argc != 3 ||
        (strcmp(sub, "add") != 0 && strcmp(sub, "passwd") != 0 && strcmp(sub, "disable") != 0 &&
         strcmp(sub, "enable") != 0 && strcmp(sub, "admin") != 0 && strcmp(sub, "unadmin") != 0)) {
        fputs(user_usage, stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[2];
    if (!valid_username(name)) {
        fprintf(stderr, "mcpgate: a user name has 1 to 64 of A-Z a-z 0-9 . _ @ -\n");
        return EXIT_USAGE;
    }
    struct store_user u;
    enum store_rc rc = store_user_find(env->db, name, &u);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        return cli_store_failed(rc);
    if (strcmp(sub, "add") == 0) {
        if (rc == STORE_OK) {
            fprintf(stderr, "mcpgate: user %s exists (use mcpgate user passwd)\n", name);
            return 1;
        }
        return set_password(env, name, 1);
    }
    if (rc == STORE_NOT_FOUND) {
        fprintf(stderr, "mcpgate: no user %s\n", name);
        return 1;
    }
    if (strcmp(sub, "passwd") == 0)
        return set_password(env, name, 0);
    if (strcmp(sub, "admin") == 0 || strcmp(sub, "unadmin") == 0) {
        int on = strcmp(sub, "admin") == 0;
        rc = store_user_set_admin(env->db, name, on);
        if (rc != STORE_OK)
            return cli_store_failed(rc);
        printf("user %s %s\n", name, on ? "is an admin" : "is no longer an admin");
        return 0;
    }
    int disable = strcmp(sub, "disable") == 0;
    rc = store_user_set_disabled(env->db, name, disable);
    if (rc != STORE_OK)
        return cli_store_failed(rc);
    printf("user %s %s\n", name, disable ? "disabled" : "enabled");
    return 0;
}

/* --- client --- */

/* How print_client prints: one table row, a JSON object or every field. */
enum client_format { CLIENT_ROW, CLIENT_JSON, CLIENT_VERBOSE };
struct client_print {
    enum client_format format;
    struct json_object *arr;
};

static void print_client(void *arg, const struct store_client *cl)
{
    const struct client_print *how = arg;
    if (how->format == CLIENT_JSON) {
        struct json_object *o = json_object_new_object(), *uris = json_object_new_array();
        json_add_strings(o, "client_id", cl->client_id, "kind", cl->kind, "name", cl->name,
                         "auth_method", cl->auth_method, NULL);
        json_add(o, "scope", cl->scope[0] ? json_object_new_string(cl->scope) : NULL);
        json_add(o, "created_at", json_object_new_string(cl->created_at));
        const char *p = cl->redirect_uris;
        while (*p) {
            size_t len = strcspn(p, "\n");
            if (json_object_array_add(uris, json_object_new_string_len(p, (int)len)) != 0)
                break;
            p += len + (p[len] ? 1 : 0);
        }
        json_add(o, "redirect_uris", uris);
        if (json_object_array_add(how->arr, o) != 0)
            json_object_put(o);
        return;
    }
    if (how->format == CLIENT_ROW) {
        printf("%-40s %-7s %-20s %s\n", cl->client_id, cl->kind, cl->auth_method, cl->name);
        return;
    }
    printf("client_id:    %s\nkind:         %s\nname:         %s\nauth method:  %s\n"
           "scope:        %s\ncreated:      %s\nredirect URIs:\n",
           cl->client_id, cl->kind, cl->name, cl->auth_method, cl->scope[0] ? cl->scope : "(any)",
           cl->created_at);
    const char *p = cl->redirect_uris;
    while (*p) {
        size_t len = strcspn(p, "\n");
        printf("  %.*s\n", (int)len, p);
        p += len + (p[len] ? 1 : 0);
    }
}

static int client_register(const struct cli_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"redirect-uri", required_argument, NULL, 'r'},
        {"auth", required_argument, NULL, 'a'},
        {"scope", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    struct store_client *cl = xcalloc(1, sizeof *cl);
    snprintf(cl->auth_method, sizeof cl->auth_method, "client_secret_basic");
    int opt, n_uris = 0, rc = EXIT_USAGE;
    size_t o = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        struct mg_error err = MG_ERROR_INIT;
        switch (opt) {
        case 'n':
            snprintf(cl->name, sizeof cl->name, "%.200s", optarg);
            break;
        case 'r':
            if (oauth_redirect_uri_check(optarg, &err) < 0) {
                fprintf(stderr, "mcpgate: %s: %s\n", optarg, err.msg);
                goto out;
            }
            if (++n_uris > 10 || o + strlen(optarg) + 2 > sizeof cl->redirect_uris) {
                fprintf(stderr, "mcpgate: at most 10 redirect URIs\n");
                goto out;
            }
            o += (size_t)snprintf(cl->redirect_uris + o, sizeof cl->redirect_uris - o, "%s%s",
                                  o ? "\n" : "", optarg);
            break;
        case 'a':
            if (strcmp(optarg, "none") && strcmp(optarg, "client_secret_post") &&
                strcmp(optarg, "client_secret_basic")) {
                fprintf(stderr, "mcpgate: --auth is none, client_secret_post or "
                                "client_secret_basic\n");
                goto out;
            }
            snprintf(cl->auth_method, sizeof cl->auth_method, "%s", optarg);
            break;
        case 's':
            if (oauth_scope_canonical(optarg, cl->scope, sizeof cl->scope) < 0) {
                fprintf(stderr, "mcpgate: unknown scope (known: " OAUTH_SCOPES_ALL ")\n");
                goto out;
            }
            break;
        default:
            goto out;
        }
    }
    if (!cl->name[0] || n_uris == 0 || optind != argc) {
        fprintf(stderr, "usage: mcpgate client register --name NAME --redirect-uri URI... "
                        "[--auth METHOD] [--scope SCOPE]\n");
        goto out;
    }
    char raw[64], secret[64] = "";
    crypto_token(16, raw);
    snprintf(cl->client_id, sizeof cl->client_id, "mcp_%s", raw);
    snprintf(cl->kind, sizeof cl->kind, "static");
    int confidential = strcmp(cl->auth_method, "none") != 0;
    if (confidential) {
        crypto_token(32, secret);
        crypto_sha256_hex(secret, strlen(secret), cl->secret_hash);
    }
    enum store_rc src = store_client_create(env->db, cl, NULL);
    if (src != STORE_OK) {
        rc = cli_store_failed(src);
    } else {
        printf("client_id:     %s\n", cl->client_id);
        if (confidential)
            printf("client_secret: %s\n(shown only now: store it in the client)\n", secret);
        rc = 0;
    }
    explicit_bzero(secret, sizeof secret);
out:
    free(cl);
    return rc;
}

static const char client_usage[] =
    "usage: mcpgate client register --name NAME --redirect-uri URI [--redirect-uri URI]...\n"
    "                               [--auth none|client_secret_post|client_secret_basic]\n"
    "                               [--scope SCOPE]\n"
    "       mcpgate client list [--json]\n"
    "       mcpgate client show ID [--json]\n"
    "       mcpgate client revoke ID\n"
    "\n"
    "OAuth clients of mcpgate's authorization server. Most clients register\n"
    "themselves (dynamic registration, kind dcr) or are known by their client ID\n"
    "metadata document (kind cimd); register one here (kind static) when it needs\n"
    "a fixed client_id and secret, e.g. a ChatGPT or Claude connector's advanced\n"
    "settings.\n"
    "  register  prints the client_id and, unless --auth none (a public client with\n"
    "            PKCE only), a client_secret shown only this once; up to 10\n"
    "            redirect URIs; --auth defaults to client_secret_basic; --scope limits\n"
    "            the client to " OAUTH_SCOPES_ALL " or less\n"
    "  list      every client (--json: machine-readable)\n"
    "  show      one client with its redirect URIs\n"
    "  revoke    delete the client and every token issued to it\n";

int cli_client(const struct cli_env *env, int argc, char **argv)
{
    if (help_printed(argc, argv, client_usage))
        return 0;
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "register") == 0)
        return client_register(env, argc - 1, argv + 1);
    int json = take_json_flag(&argc, argv);
    if (strcmp(sub, "list") == 0 && argc == 2) {
        struct client_print how = {json ? CLIENT_JSON : CLIENT_ROW,
                                   json ? json_object_new_array() : NULL};
        if (!json)
            printf("%-40s %-7s %-20s %s\n", "CLIENT_ID", "KIND", "AUTH", "NAME");
        return list_done(store_client_list(env->db, print_client, &how), how.arr);
    }
    if ((strcmp(sub, "show") == 0 || strcmp(sub, "revoke") == 0) && argc == 3) {
        struct store_client *cl = xcalloc(1, sizeof *cl);
        enum store_rc rc = sub[0] == 's' ? store_client_find(env->db, argv[2], cl)
                                         : store_client_revoke(env->db, argv[2]);
        int status = 0;
        if (rc == STORE_NOT_FOUND) {
            fprintf(stderr, "mcpgate: no client %s\n", argv[2]);
            status = 1;
        } else if (rc != STORE_OK) {
            status = cli_store_failed(rc);
        } else if (sub[0] == 's' && json) {
            struct client_print how = {CLIENT_JSON, json_object_new_array()};
            print_client(&how, cl);
            printf("%s\n", json_object_to_json_string_ext(json_object_array_get_idx(how.arr, 0),
                                                          JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(how.arr);
        } else if (sub[0] == 's') {
            struct client_print how = {CLIENT_VERBOSE, NULL};
            print_client(&how, cl);
        } else {
            printf("client %s revoked with all its tokens\n", argv[2]);
        }
        free(cl);
        return status;
    }
    fputs(client_usage, stderr);
    return EXIT_USAGE;
}

/* --- key --- */

static void print_key(void *arg, const struct store_api_key *k)
{
    if (arg) {
        struct json_object *o = json_object_new_object();
        json_add(o, "id", json_object_new_int64(k->id));
        json_add_strings(o, "user", k->username, "name", k->name, "prefix", k->prefix, "scope",
                         k->scope, "created_at", k->created_at, NULL);
        json_add(o, "last_used", k->last_used[0] ? json_object_new_string(k->last_used) : NULL);
        if (json_object_array_add(arg, o) != 0)
            json_object_put(o);
        return;
    }
    printf("%-6lld %-16s %-24s %s...  %-30s %s, %s\n", k->id, k->username, k->name, k->prefix,
           k->scope, k->created_at, k->last_used[0] ? k->last_used : "never");
}

static const char key_usage[] =
    "usage: mcpgate key create USER --name NAME [--read-only]\n"
    "       mcpgate key list [USER] [--json]\n"
    "       mcpgate key revoke ID\n"
    "\n"
    "Personal API keys: long-lived bearer tokens for clients that cannot do\n"
    "OAuth (mcp-remote --header, scripts). Users also make their own on the\n"
    "account page.\n"
    "  create    make a key for USER, printed only this once (mgk_...); send it as\n"
    "            \"Authorization: Bearer <key>\"; --read-only limits it to\n"
    "            " OAUTH_SCOPE_READ "\n"
    "  list      the live keys, of USER or of everyone: id, user, name, the key's\n"
    "            first characters, scope, when made and last used (--json)\n"
    "  revoke    revoke the key with this id (from key list)\n";

int cli_key(const struct cli_env *env, int argc, char **argv)
{
    if (help_printed(argc, argv, key_usage))
        return 0;
    int json = take_json_flag(&argc, argv);
    const char *sub = argc > 1 ? argv[1] : "";
    struct store_user u;
    enum store_rc rc;
    if (strcmp(sub, "create") == 0 && (argc == 5 || argc == 6) && strcmp(argv[3], "--name") == 0 &&
        (argc == 5 || strcmp(argv[5], "--read-only") == 0)) {
        if (strlen(argv[4]) < 1 || strlen(argv[4]) > 100) {
            fprintf(stderr, "mcpgate: a key name has 1 to 100 characters\n");
            return EXIT_USAGE;
        }
        int status = find_user(env, argv[2], &u);
        if (status)
            return status;
        char raw[64], key[72], hash[CRYPTO_SHA256_HEX_LEN + 1], prefix[12];
        crypto_token(32, raw);
        snprintf(key, sizeof key, "mgk_%s", raw);
        crypto_sha256_hex(key, strlen(key), hash);
        snprintf(prefix, sizeof prefix, "%.8s", key);
        long long id = 0;
        rc = store_apikey_create(env->db, u.id, argv[4], hash, prefix,
                                 argc == 6 ? OAUTH_SCOPE_READ : OAUTH_SCOPES_ALL, &id);
        if (rc == STORE_OK)
            printf("key %lld for %s: %s\n(shown only now; send it as "
                   "\"Authorization: Bearer <key>\")\n",
                   id, argv[2], key);
        explicit_bzero(raw, sizeof raw);
        explicit_bzero(key, sizeof key);
        return rc == STORE_OK ? 0 : cli_store_failed(rc);
    }
    if (strcmp(sub, "list") == 0 && argc <= 3) {
        long long uid = 0;
        if (argc == 3) {
            int status = find_user(env, argv[2], &u);
            if (status)
                return status;
            uid = u.id;
        }
        struct json_object *arr = json ? json_object_new_array() : NULL;
        if (!json)
            printf("%-6s %-16s %-24s %-11s  %-30s %s\n", "ID", "USER", "NAME", "PREFIX", "SCOPE",
                   "CREATED, LAST USED");
        return list_done(store_apikey_list(env->db, uid, print_key, arr), arr);
    }
    if (strcmp(sub, "revoke") == 0 && argc == 3) {
        char *end;
        long long id = strtoll(argv[2], &end, 10);
        if (*end || id <= 0) {
            fprintf(stderr, "mcpgate: give the key's number (mcpgate key list)\n");
            return EXIT_USAGE;
        }
        rc = store_apikey_revoke(env->db, id, 0);
        if (rc != STORE_OK)
            return cli_store_missing(rc, "mcpgate: no live key %lld", id);
        printf("key %lld revoked\n", id);
        return 0;
    }
    fputs(key_usage, stderr);
    return EXIT_USAGE;
}

/* --- token --- */

static const char token_usage[] =
    "usage: mcpgate token revoke --user NAME [--client ID]\n"
    "       mcpgate token revoke --stdin\n"
    "\n"
    "  --user    revoke every OAuth authorization of user NAME (access and refresh\n"
    "            tokens), or only those of client ID (see mcpgate client list);\n"
    "            the user's apps must sign in again. API keys stay: see mcpgate key\n"
    "  --stdin   revoke the one access or refresh token read from standard input\n"
    "            (exit status 1 when no live token matched)\n";

int cli_token(const struct cli_env *env, int argc, char **argv)
{
    if (help_printed(argc, argv, token_usage))
        return 0;
    int n = 0;
    enum store_rc rc;
    if (argc == 3 && strcmp(argv[1], "revoke") == 0 && strcmp(argv[2], "--stdin") == 0) {
        char token[300];
        if (read_line(stdin, token, sizeof token) < 0 || !*token) {
            fprintf(stderr, "mcpgate: expected one token on standard input\n");
            return 1;
        }
        char hash[CRYPTO_SHA256_HEX_LEN + 1];
        crypto_sha256_hex(token, strlen(token), hash);
        explicit_bzero(token, sizeof token);
        rc = store_token_revoke(env->db, hash, NULL, &n);
        if (rc != STORE_OK)
            return cli_store_failed(rc);
        printf(n ? "token revoked\n" : "no live token matched\n");
        return n ? 0 : 1;
    }
    if ((argc == 4 || argc == 6) && strcmp(argv[1], "revoke") == 0 &&
        strcmp(argv[2], "--user") == 0 && (argc == 4 || strcmp(argv[4], "--client") == 0)) {
        struct store_user u;
        int status = find_user(env, argv[3], &u);
        if (status)
            return status;
        rc = store_families_revoke(env->db, u.id, argc == 6 ? argv[5] : NULL, &n);
        if (rc != STORE_OK)
            return cli_store_failed(rc);
        printf("revoked %d authorization%s of %s\n", n, n == 1 ? "" : "s", argv[3]);
        return 0;
    }
    fputs(token_usage, stderr);
    return EXIT_USAGE;
}
