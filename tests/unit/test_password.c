/*
 * tests/unit/test_password.c - oauth/password.c: the scrypt hash format,
 * verification, and hashes with other cost parameters (read back from the
 * stored string), built here with OpenSSL's own scrypt.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "oauth/password.h"
#include "tap.h"
#include "util/crypto.h"

/* A stored hash of password with the given parameters and a fixed salt,
 * computed independently of password.c. Returns 0 or -1. */
static int make_hash(const char *password, int log_n, int r, int p, char *out, size_t n)
{
    unsigned char salt[16], key[32];
    for (size_t i = 0; i < sizeof salt; i++)
        salt[i] = (unsigned char)(i * 7 + 1);
    if (EVP_PBE_scrypt(password, strlen(password), salt, sizeof salt, (uint64_t)1 << log_n,
                       (uint64_t)r, (uint64_t)p, 64 * 1024 * 1024, key, sizeof key) != 1)
        return -1;
    char s64[32], k64[48];
    crypto_b64url_encode(salt, sizeof salt, s64);
    crypto_b64url_encode(key, sizeof key, k64);
    snprintf(out, n, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", log_n, r, p, s64, k64);
    return 0;
}

static void test_hash_verify(void)
{
    char h1[OAUTH_PASSWORD_HASH_MAX], h2[OAUTH_PASSWORD_HASH_MAX];
    ok(oauth_password_hash("correct horse", h1) == 0, "a password hashes");
    ok(strncmp(h1, "$scrypt$ln=15,r=8,p=3$", 22) == 0, "format and cost: %s...",
       "$scrypt$ln=15,r=8,p=3$");
    is_int((long long)strlen(h1), 22 + 22 + 1 + 43, "16-byte salt and 32-byte key, base64url");
    ok(oauth_password_hash("correct horse", h2) == 0 && strcmp(h1, h2) != 0,
       "the same password hashes differently (fresh salt)");
    ok(oauth_password_verify("correct horse", h1) == 1, "the right password verifies");
    ok(oauth_password_verify("correct horsE", h1) == 0, "a wrong password does not");
    ok(oauth_password_verify("", h1) == 0, "an empty password does not");
    ok(oauth_password_verify("correct horse", NULL) == 0, "no stored hash (unknown user): 0");
}

static void test_limits(void)
{
    char h[OAUTH_PASSWORD_HASH_MAX];
    ok(oauth_password_hash("", h) == -1, "an empty password is refused");
    char longpw[OAUTH_PASSWORD_MAX_LEN + 2];
    memset(longpw, 'x', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    ok(oauth_password_hash(longpw, h) == -1, "a password over %d characters is refused",
       OAUTH_PASSWORD_MAX_LEN);
}

static void test_stored_parameters(void)
{
    char h[OAUTH_PASSWORD_HASH_MAX];
    if (!ok(make_hash("pw", 10, 8, 1, h, sizeof h) == 0, "OpenSSL builds a cheaper hash"))
        return;
    ok(oauth_password_verify("pw", h) == 1, "parameters are read from the stored hash");
    ok(oauth_password_verify("pX", h) == 0, "...and a wrong password still fails");
    char bad[OAUTH_PASSWORD_HASH_MAX];
    snprintf(bad, sizeof bad, "%s", h);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    ok(oauth_password_verify("pw", bad) == 0, "a changed key fails");

    static const char *const malformed[] = {
        "",
        "plaintext",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$a2V5",
        "$scrypt$ln=9,r=8,p=1$AQgPFh0kKzI5QEdOVVxjag$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=23,r=8,p=1$AQgPFh0kKzI5QEdOVVxjag$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=17$AQgPFh0kKzI5QEdOVVxjag$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$AQgPFh0k$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$AQgPFh0kKzI5QEdOVVxjag$AAAA",
        "$scrypt$ln=10,r=8,p=1$AQgPFh0kKzI5QEdOVVxja!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10;r=8,p=1$AQgPFh0kKzI5QEdOVVxjag$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        ok(oauth_password_verify("pw", malformed[i]) == 0, "malformed stored hash %zu: 0", i);
}

int main(void)
{
    test_hash_verify();
    test_limits();
    test_stored_parameters();
    return tap_done();
}
