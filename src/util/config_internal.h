/*
 * util/config_internal.h - what the parts of the configuration parser
 * share (util/config.c, config_idp.c, config_connector.c, config_rs.c).
 * Not for use outside util/config*.c.
 */
#ifndef MG_UTIL_CONFIG_INTERNAL_H
#define MG_UTIL_CONFIG_INTERNAL_H

#include <stddef.h>

#include "util/config.h"
#include "util/error.h"

/* Copies s into dst of size n. Returns 0, or -1 if it does not fit. */
int config_copy_str(char *dst, size_t n, const char *s);

/* A whole number from lo to hi into *out. Returns 0, or -1. */
int config_parse_int(const char *s, long lo, long hi, long *out);

/* Reads the first line of the file at path (a secret) into out; what names
 * the setting in a message. Returns 0, or -1 with a message in err. */
int config_read_secret_file(const char *what, const char *path, char *out, size_t n,
                            struct mg_error *err);

/* The index of value in words (a list ending in NULL), or -1 when it is
 * none of them. Pure. */
int config_word(const char *value, const char *const *words);

/* value as an index of words (see config_word()) into *out. Returns 0, or
 * -1 with msg (the setting's rule, not a format) in err. */
int config_set_word(const char *value, const char *const *words, int *out, const char *msg,
                    struct mg_error *err);

/* yes/no into *out. Returns 0, or -1 with err naming key. */
int config_yes_no(const char *key, const char *value, int *out, struct mg_error *err);

/* 1 when the space-separated list has word. */
int config_list_has(const char *list, const char *word);

/* An "idp" line: NAME then name=value words. Returns 0, or -1 with err. */
int config_set_idp(struct mg_config *cfg, const char *value, struct mg_error *err);

/* A "connector" line: NAME then name=value words. Returns 0, or -1 with err. */
int config_set_connector(struct mg_config *cfg, const char *value, struct mg_error *err);

/* The rs_* keys of auth = resource but its whole numbers (config.c's
 * table). Returns 0, or -1 with err. */
int config_set_rs(struct mg_config *cfg, const char *key, const char *value, struct mg_error *err);

#endif
