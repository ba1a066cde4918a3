/*
 * oauth/password.c - password hashing with scrypt (util/crypto.h).
 */
#include "oauth/password.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"
#include "util/log.h"

#define LOG_N    15
#define R        8
#define P        3
#define SALT_LEN 16
#define KEY_LEN  32

static atomic_int slots_used; /* hashes running in this process */

/* Derives KEY_LEN bytes. Returns 0 or -1. */
static int derive(const char *password, const unsigned char *salt, size_t salt_len, int log_n,
                  int r, int p, unsigned char *key)
{
    if (crypto_scrypt(password, strlen(password), salt, salt_len, log_n, r, p, key, KEY_LEN) == 0)
        return 0;
    LOG_ERROR("msg=\"scrypt failed\"");
    return -1;
}

int oauth_password_hash(const char *password, char out[OAUTH_PASSWORD_HASH_MAX])
{
    size_t len = strlen(password);
    if (len == 0 || len > OAUTH_PASSWORD_MAX_LEN)
        return -1;
    unsigned char salt[SALT_LEN], key[KEY_LEN];
    crypto_random(salt, sizeof salt);
    if (derive(password, salt, sizeof salt, LOG_N, R, P, key) < 0)
        return -1;
    char s64[32], k64[48];
    crypto_b64url_encode(salt, sizeof salt, s64);
    crypto_b64url_encode(key, sizeof key, k64);
    snprintf(out, OAUTH_PASSWORD_HASH_MAX, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", LOG_N, R, P, s64, k64);
    crypto_wipe(key, sizeof key);
    return 0;
}

/* Decodes exactly n bytes of unpadded base64url from s (len chars). */
static int b64url_decode(const char *s, size_t len, unsigned char *out, size_t n)
{
    if (len != crypto_b64url_len(n))
        return -1;
    return crypto_b64url_decode(s, len, out) == (long)n ? 0 : -1;
}

/* Parses a stored hash. Returns 0 or -1. */
static int parse(const char *stored, int *log_n, int *r, int *p, unsigned char *salt,
                 unsigned char *key)
{
    if (strncmp(stored, "$scrypt$ln=", 11) != 0)
        return -1;
    char *end;
    long ln = strtol(stored + 11, &end, 10);
    if (strncmp(end, ",r=", 3) != 0)
        return -1;
    long rr = strtol(end + 3, &end, 10);
    if (strncmp(end, ",p=", 3) != 0)
        return -1;
    long pp = strtol(end + 3, &end, 10);
    if (*end != '$' || ln < 10 || ln > 22 || rr < 1 || rr > 32 || pp < 1 || pp > 16)
        return -1;
    const char *s = end + 1;
    const char *dollar = strchr(s, '$');
    if (!dollar || b64url_decode(s, (size_t)(dollar - s), salt, SALT_LEN) < 0 ||
        b64url_decode(dollar + 1, strlen(dollar + 1), key, KEY_LEN) < 0)
        return -1;
    *log_n = (int)ln;
    *r = (int)rr;
    *p = (int)pp;
    return 0;
}

int oauth_password_verify(const char *password, const char *stored)
{
    unsigned char salt[SALT_LEN] = {0}, want[KEY_LEN] = {0}, got[KEY_LEN];
    int log_n = LOG_N, r = R, p = P;
    int usable = stored && parse(stored, &log_n, &r, &p, salt, want) == 0;
    size_t len = strlen(password);
    if (len == 0 || len > OAUTH_PASSWORD_MAX_LEN)
        usable = 0;
    /* always derive once, so a missing account costs the same time */
    int rc = derive(len && len <= OAUTH_PASSWORD_MAX_LEN ? password : "x", salt, sizeof salt, log_n,
                    r, p, got);
    int ok = usable && rc == 0 && crypto_equal(got, want, KEY_LEN);
    crypto_wipe(got, sizeof got);
    return ok;
}

int oauth_password_slot_take(int max)
{
    if (atomic_fetch_add(&slots_used, 1) < max)
        return 1;
    atomic_fetch_sub(&slots_used, 1);
    return 0;
}

void oauth_password_slot_release(void)
{
    atomic_fetch_sub(&slots_used, 1);
}
