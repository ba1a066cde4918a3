#!/bin/bash
# fresh-debian.sh - check that scripts/deps.sh sets up a bare Debian 12: a fresh
# chroot made with debootstrap (no container), this checkout copied into it,
# then `bash scripts/deps.sh MODE` and `node --version` and `npm --version`
# run inside it.
#
# Usage (as root, needs Debian's debootstrap package):
#   bash scripts/fresh-debian.sh [MODE]          MODE: run or test (default: test)
#
# Environment:
#   FRESH_MIRROR  the Debian mirror (default: the first bookworm URI of
#                 /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list,
#                 else http://deb.debian.org/debian)
#   FRESH_KEEP    1: keep the chroot (its path is printed) instead of removing it
#
# The chroot lives in a fresh /tmp/mcpgate-fresh.XXXXXX and is removed at the
# end, also on failure. The host's local certificate authorities
# (/usr/local/share/ca-certificates) are copied in, as a network that
# inspects TLS needs. No service is started inside it (a policy-rc.d that
# refuses every start), so nothing listens on the host's ports; /proc is
# mounted for the packages' scripts and unmounted at the end. Downloads about
# 1 GB for MODE test. Exit status: 0 when everything worked.
set -euo pipefail

mode=${1:-test}
case $mode in
run | test) ;;
*)
    echo "usage: bash scripts/fresh-debian.sh [run|test]" >&2
    exit 2
    ;;
esac
top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

die() {
    echo "fresh-debian.sh: $*" >&2
    exit 1
}
log() {
    echo "fresh-debian.sh: $*" >&2
}

((EUID == 0)) || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

mirror() {
    local uri
    uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null ||
        true)
    [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' \
        /etc/apt/sources.list 2>/dev/null || true)
    echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${FRESH_MIRROR:-$(mirror)}

root=$(mktemp -d /tmp/mcpgate-fresh.XXXXXX)
chmod 755 "$root" # it is the chroot's /: every user there must traverse it
cleanup() {
    local rc=$?
    # processes left running inside the chroot (there should be none)
    local p
    for p in /proc/[0-9]*; do
        if [[ $(readlink "$p/root" 2>/dev/null) == "$root" ]]; then
            log "stopping process ${p#/proc/} left in the chroot: $(tr '\0' ' ' <"$p/cmdline")"
            kill -9 "${p#/proc/}" 2>/dev/null || true
        fi
    done
    mountpoint -q "$root/proc" && umount "$root/proc"
    if [[ ${FRESH_KEEP:-0} == 1 ]]; then
        log "kept the chroot: $root"
    else
        rm -rf --one-file-system -- "$root"
    fi
    exit "$rc"
}
trap cleanup EXIT

log "debootstrap --variant=minbase bookworm $root $MIRROR"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.debootstrap.log" 2>&1 ||
    die "debootstrap failed (log: $root.debootstrap.log)"
rm -f -- "$root.debootstrap.log"

# the release and its updates suite, as a real installation has them
cat >"$root/etc/apt/sources.list" <<EOT
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
EOT
cp /etc/resolv.conf "$root/etc/resolv.conf"
# the host's own certificate authorities (e.g. of a TLS-inspecting proxy it
# must use to reach the npm registry): ca-certificates, once deps.sh installs
# it, adds them to the chroot's store as it does on the host
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
# refuse every service start: packages' scripts must not start daemons on the host
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"

# this checkout (the files git knows, as they are in the work tree)
mkdir -p "$root/root/mcpgate"
(cd "$top" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$root/root/mcpgate"

in_chroot() {
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "$1"
}

log "before: node and npm must be missing"
in_chroot '! command -v node && ! command -v npm && echo "no node, no npm"' ||
    die "the fresh chroot already has node or npm"

log "bash scripts/deps.sh $mode"
in_chroot "cd /root/mcpgate && bash scripts/deps.sh $mode" || die "deps.sh $mode failed"

log "after: node --version, npm --version"
in_chroot 'set -e; echo "node $(node --version) at $(command -v node)";
    echo "npm $(npm --version) at $(command -v npm)";
    node -e "require(\"http\").createServer().listen(0, \"127.0.0.1\", function () {
        console.log(\"node serves on 127.0.0.1:\" + this.address().port); this.close(); })"' ||
    die "node or npm does not work after deps.sh"
log "deps.sh $mode set up node and npm on a bare Debian 12"
