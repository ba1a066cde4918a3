#!/bin/bash
# deps.sh - install the Debian 12 packages that mcpgate needs, with apt-get.
#
# Usage: scripts/deps.sh [build|test|run]        (default: test)
#   build  compiler, autotools and the -dev libraries the build links against
#   run    build, plus what scripts/stack.sh runs: PostgreSQL, lighttpd,
#          Apache with mod_fcgid, spawn-fcgi, python3, curl, procps (pgrep),
#          clang-format and valgrind
#   test   run, plus clang (tests/fuzz/: libFuzzer targets), apache2-suexec-custom
#          (tests/integration/test_shared_host.py), chromium
#          (tests/oauth/run.py drives the sign-in, consent
#          and account pages in headless Chromium) and wrk (make bench,
#          tests/bench/smoke.sh)
#
# run and test also need Node.js (at least NODE_MAJOR_MIN) and npm: the demo
# backends (scripts/demo.sh) and the npm-based tests run on them. When `node`
# or `npm` is not on PATH, Debian's nodejs and npm packages are installed; a
# Node.js installed otherwise (e.g. NodeSource's nodejs, which brings its own
# npm and conflicts with Debian's) is left alone. Debian 12's nodejs is 18,
# older than some pinned npm packages support (@hono/node-server needs 20), so
# a node older than NODE_MAJOR_MIN is then joined by NODE_NPM_PIN from the npm
# registry, installed with `npm install -g` into /usr/local (whose bin/ comes
# first on PATH), as tests/conformance pins its own Node 22.
#
# Only missing packages are installed (checked with dpkg-query), after an
# "apt-get update"; when everything is present it only checks and exits 0.
# Installing needs root. Prints the packages it installs.
set -euo pipefail

readonly BUILD_PKGS=(build-essential autoconf automake pkg-config
    libfcgi-dev libjson-c-dev libcurl4-openssl-dev libssl-dev libpq-dev libpcre2-dev libstemmer-dev)
readonly RUN_PKGS=(postgresql lighttpd apache2 libapache2-mod-fcgid spawn-fcgi
    python3 curl procps clang-format valgrind)
# clang: tests/fuzz/; debhelper: tests/integration/test_deb.py; wrk and openssl (the
# command, to sign tools_call_jwt's token): tests/bench/;
# iproute2 (ip) and util-linux (unshare): the private network of test_attacks.py;
# apache2-suexec-custom: the shared host of test_shared_host.py (suexec, as hosts run it)
readonly TEST_PKGS=(chromium clang debhelper wrk openssl iproute2 util-linux apache2-suexec-custom)
readonly NODE_PKGS=(nodejs npm)
readonly NODE_MAJOR_MIN=20
readonly NODE_NPM_PIN=node@22.23.3

die() {
    echo "deps.sh: $*" >&2
    exit 1
}

# Print, one per line, those of the given packages that are not fully installed.
missing_packages() {
    local installed
    # Lines like "ii  curl"; packages dpkg has never heard of print nothing
    # (dpkg-query then exits 1, which is expected here).
    installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null |
        awk '$1 == "ii" { print $2 }' || true)
    local pkg
    for pkg in "$@"; do
        grep -qxF -- "$pkg" <<<"$installed" || echo "$pkg"
    done
}

# The major version of the node on PATH (0 if none).
node_major() {
    local v
    v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || v=0
    [[ $v =~ ^[0-9]+$ ]] || v=0
    echo "$v"
}

# Makes sure node on PATH is at least NODE_MAJOR_MIN (see the header).
ensure_node_version() {
    hash -r
    local major
    major=$(node_major)
    ((major >= NODE_MAJOR_MIN)) && return 0
    ((EUID == 0)) ||
        die "node $major is older than $NODE_MAJOR_MIN; run as root to install $NODE_NPM_PIN"
    echo "deps.sh: node $major is older than $NODE_MAJOR_MIN: npm install -g $NODE_NPM_PIN"
    npm install -g --no-audit --no-fund --loglevel=error "$NODE_NPM_PIN"
    hash -r
    major=$(node_major)
    ((major >= NODE_MAJOR_MIN)) ||
        die "node on PATH is still $major after npm install -g $NODE_NPM_PIN ($(command -v node))"
}

main() {
    local what=${1:-test}
    local pkgs=("${BUILD_PKGS[@]}")
    case $what in
    build) ;;
    run) pkgs+=("${RUN_PKGS[@]}") ;;
    test) pkgs+=("${RUN_PKGS[@]}" "${TEST_PKGS[@]}") ;;
    *) die "usage: deps.sh [build|test|run]" ;;
    esac
    command -v dpkg-query >/dev/null || die "dpkg-query not found: this script is for Debian"
    local node=0
    if [[ $what != build ]]; then
        node=1
        command -v node >/dev/null && command -v npm >/dev/null || pkgs+=("${NODE_PKGS[@]}")
    fi

    local missing
    mapfile -t missing < <(missing_packages "${pkgs[@]}")
    if ((${#missing[@]} == 0)); then
        ((node == 0)) || ensure_node_version
        echo "deps.sh: all ${#pkgs[@]} packages for '$what' are installed"
        return 0
    fi
    ((EUID == 0)) || die "missing packages: ${missing[*]}; run as root to install them"

    echo "deps.sh: installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"

    mapfile -t missing < <(missing_packages "${pkgs[@]}")
    ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
    ((node == 0)) || ensure_node_version
    echo "deps.sh: done"
}

main "$@"
