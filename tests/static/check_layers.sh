#!/bin/sh
# check_layers.sh - keeps the code map of DESIGN.md true (TAP output):
# SQL and libpq only in src/store/, libcurl only in src/tools/ (and the
# client metadata fetcher in src/oauth/), OpenSSL only in src/util/ (its
# public-key operations, JWK import and JWS signatures, included), no banned unsafe C functions, no
# include cycle between the folders of src/.
src="${top_srcdir:-.}/src"
n=0
fail=0
check() { # description, offending lines (empty = ok)
    n=$((n + 1))
    if [ -z "$2" ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        printf '%s\n' "$2" | sed 's/^/# /'
        fail=1
    fi
}
check "libpq-fe.h is included only in src/store/" \
    "$(grep -rln --include='*.[ch]' 'libpq-fe.h' "$src" | grep -v '/store/')"
check "no SQL outside src/store/" \
    "$(grep -rlnE --include='*.[ch]' '"(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|CREATE TABLE) ' "$src" | grep -v '/store/')"
check "libcurl is used only in src/tools/ and src/oauth/" \
    "$(grep -rln --include='*.[ch]' 'curl/curl.h' "$src" | grep -vE '/(tools|oauth)/')"
check "public-key operations of OpenSSL (keys, signatures) are used only in src/util/" \
    "$(grep -rnE --include='*.[ch]' '(^|[^A-Za-z_])(EVP_PKEY_[A-Za-z_]+|EVP_DigestVerify[A-Za-z_]*|EVP_DigestSign[A-Za-z_]*|ECDSA_SIG_[A-Za-z_]+|[di]2d_ECDSA_SIG|OSSL_PARAM_BLD_[A-Za-z_]+)\(' "$src" | grep -v '^[^:]*/util/')"
check "OpenSSL is used only in src/util/" \
    "$(grep -rln --include='*.[ch]' '#include <openssl/' "$src" | grep -v '/util/')"
check "no banned unsafe functions (sprintf, strcat, strcpy, strncpy, strtok, sscanf, gets)" \
    "$(grep -rnE --include='*.[ch]' '(^|[^a-z_])(sprintf|vsprintf|strcat|strcpy|strncpy|strtok|sscanf|gets)\(' "$src" | grep -vE '(snprintf|vsnprintf)\(')"
# Folders include each other one way only: a cycle between folders (a -> b
# -> a) means neither can be read, changed or tested without the other.
# Every include edge between two folders of src/ counts; none is excused.
edges=$(for f in "$src"/*/*.[ch]; do
    d=$(basename "$(dirname "$f")")
    sed -n 's|^#include "\([a-z_]*\)/[^"]*".*|\1|p' "$f" | while read -r t; do
        if [ "$t" != "$d" ] && [ -d "$src/$t" ]; then echo "$d $t"; fi
    done
done | sort -u)
check "no include cycle between the folders of src/" \
    "$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null)"
echo "1..$n"
exit $fail
