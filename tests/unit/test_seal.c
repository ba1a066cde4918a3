/*
 * tests/unit/test_seal.c - AES-256-GCM sealing (util/seal.h), the
 * credential_key setting, and the owner binding of stored credentials
 * (tools/credentials.h): round trip, tampering, wrong owner, wrong key,
 * rotation.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tools/credentials.h"
#include "util/config.h"
#include "util/seal.h"

#define HEX_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static enum seal_rc open_str(const struct seal_key *keys, int n, const char *sealed,
                             const char *aad, char **plain)
{
    size_t len = 0;
    return seal_decrypt(keys, n, sealed, aad, strlen(aad), plain, &len);
}

/* A copy of s with the character at i changed. */
static char *flip(const char *s, size_t i)
{
    char *d = strdup(s);
    d[i] = d[i] == 'A' ? 'B' : 'A';
    return d;
}

int main(void)
{
    struct seal_key keys[2];
    struct mg_error err = MG_ERROR_INIT;
    ok(seal_key_parse("k1:" HEX_A, &keys[0], &err) == 0, "a key parses");
    is_str(keys[0].id, "k1", "its id");
    ok(keys[0].key[0] == 0 && keys[0].key[31] == 0x1f, "its material");
    ok(seal_key_parse("k2:" HEX_B, &keys[1], &err) == 0, "another key parses");

    struct seal_key junk;
    ok(seal_key_parse("k1:" HEX_A "00", &junk, &err) < 0, "too long a key is refused");
    ok(strstr(err.msg, HEX_A) == NULL, "the message does not quote the key");
    ok(seal_key_parse(":" HEX_A, &junk, &err) < 0, "an empty key id is refused");
    ok(seal_key_parse("a b:" HEX_A, &junk, &err) < 0, "a key id with a space");
    ok(seal_key_parse("k1:" HEX_A, &junk, &err) == 0 &&
           seal_key_parse("k1:zz" HEX_A + 2, &junk, &err) < 0,
       "non-hex key material is refused");

    /* round trip */
    const char *aad = "backend/slot/42";
    char *s1 = seal_encrypt(&keys[0], "s3cret-token", 12, aad, strlen(aad));
    ok(s1 && strncmp(s1, "v1:k1:", 6) == 0, "sealed: v1:<key id>:...");
    ok(s1 && strstr(s1, "s3cret") == NULL, "the plaintext is not in the sealed text");
    char *s2 = seal_encrypt(&keys[0], "s3cret-token", 12, aad, strlen(aad));
    ok(s1 && s2 && strcmp(s1, s2) != 0, "a fresh nonce each time: two seals differ");
    char id[SEAL_KEY_ID_MAX + 1];
    ok(seal_key_id(s1, id) == 0 && strcmp(id, "k1") == 0, "seal_key_id");
    char *plain = NULL;
    ok(open_str(keys, 2, s1, aad, &plain) == SEAL_OK && plain && strcmp(plain, "s3cret-token") == 0,
       "opens with the right key and owner");
    free(plain);
    plain = NULL;

    /* tampering: every part */
    size_t n = strlen(s1);
    char *t = flip(s1, n - 3); /* in the ciphertext or tag */
    ok(open_str(keys, 2, t, aad, &plain) == SEAL_BAD && !plain, "altered ciphertext: SEAL_BAD");
    free(t);
    t = flip(s1, 8); /* in the nonce */
    ok(open_str(keys, 2, t, aad, &plain) != SEAL_OK && !plain, "altered nonce: refused");
    free(t);
    t = strdup(s1);
    t[n - 2] = '\0';
    ok(open_str(keys, 2, t, aad, &plain) != SEAL_OK && !plain, "truncated: refused");
    free(t);
    ok(open_str(keys, 2, "v2:k1:AAAA:AAAA", aad, &plain) == SEAL_FORMAT, "unknown version");
    ok(open_str(keys, 2, "garbage", aad, &plain) == SEAL_FORMAT, "not sealed at all");

    /* wrong owner */
    ok(open_str(keys, 2, s1, "backend/slot/43", &plain) == SEAL_BAD && !plain,
       "another owner (AAD): SEAL_BAD");

    /* wrong key: same id, other material; and the key id moved */
    struct seal_key wrong;
    ok(seal_key_parse("k1:" HEX_B, &wrong, &err) == 0, "a wrong key named k1");
    ok(open_str(&wrong, 1, s1, aad, &plain) == SEAL_BAD && !plain, "wrong key material: SEAL_BAD");
    ok(open_str(&keys[1], 1, s1, aad, &plain) == SEAL_NO_KEY, "key id not configured: SEAL_NO_KEY");
    char *moved = malloc(strlen(s1) + 1);
    snprintf(moved, strlen(s1) + 1, "v1:k2%s", s1 + 5);
    ok(open_str(keys, 2, moved, aad, &plain) == SEAL_BAD && !plain,
       "key id changed to another configured key: SEAL_BAD");
    free(moved);

    /* rotation: new key first, re-seal, drop the old one */
    struct seal_key rotated[2] = {keys[1], keys[0]};
    ok(open_str(rotated, 2, s1, aad, &plain) == SEAL_OK, "after adding k2 first, k1 values open");
    char *s3 = seal_encrypt(&rotated[0], plain, strlen(plain), aad, strlen(aad));
    free(plain);
    plain = NULL;
    ok(s3 && strncmp(s3, "v1:k2:", 6) == 0, "re-sealed under the first key");
    ok(open_str(&rotated[0], 1, s3, aad, &plain) == SEAL_OK && strcmp(plain, "s3cret-token") == 0,
       "the re-sealed value opens with k2 alone");
    free(plain);
    plain = NULL;
    ok(open_str(&rotated[0], 1, s1, aad, &plain) == SEAL_NO_KEY, "the old value needs k1");

    /* the owner binding of tools/credentials.h */
    char *c1 = tool_cred_seal(keys, "inv", "token", 7, "user-seven-token");
    char *v = NULL;
    ok(c1 && tool_cred_open(keys, 2, "inv", "token", 7, c1, &v) == SEAL_OK &&
           strcmp(v, "user-seven-token") == 0,
       "credential round trip");
    tool_cred_free(v);
    v = NULL;
    ok(tool_cred_open(keys, 2, "inv", "token", 8, c1, &v) == SEAL_BAD, "another user: refused");
    ok(tool_cred_open(keys, 2, "inv", "other", 7, c1, &v) == SEAL_BAD, "another slot: refused");
    ok(tool_cred_open(keys, 2, "inv2", "token", 7, c1, &v) == SEAL_BAD, "another backend: refused");
    ok(tool_cred_open(keys, 2, "inv", "token", 0, c1, &v) == SEAL_BAD,
       "the backend's own row: refused");
    ok(tool_cred_open(keys, 2, "in", "vtoken", 7, c1, &v) == SEAL_BAD,
       "the binding is unambiguous (backend/slot boundary)");
    ok(!tool_cred_value_ok("") && !tool_cred_value_ok("a\nb") && tool_cred_value_ok("a b"),
       "values: one line, not empty");

    /* credential_key in the configuration */
    struct mg_config cfg;
    config_defaults(&cfg);
    ok(config_set(&cfg, "credential_key", "new:" HEX_B, &err) == 0 &&
           config_set(&cfg, "credential_key", "old:" HEX_A, &err) == 0 &&
           cfg.n_credential_keys == 2 && strcmp(cfg.credential_keys[0].id, "new") == 0,
       "credential_key: several, in order");
    ok(config_set(&cfg, "credential_key", "new:" HEX_A, &err) < 0, "a key id twice");
    ok(config_set(&cfg, "credential_key", "x:123", &err) < 0 && !strstr(err.msg, "123"),
       "a short key is refused without quoting it");

    free(s1);
    free(s2);
    free(s3);
    free(c1);
    seal_key_clear(&keys[0]);
    seal_key_clear(&keys[1]);
    ok(keys[0].key[31] == 0 && keys[0].id[0] == 0, "seal_key_clear clears");
    return tap_done();
}
