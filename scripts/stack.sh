#!/bin/bash
# stack.sh - run mcpgate's local stack: a private PostgreSQL cluster and the
# three front ends the responder runs behind, all on 127.0.0.1:
#   lighttpd  mod_fastcgi spawns the responder (bin-path, 2 processes, threads = 4)
#   fcgid     Apache mod_fcgid spawns the responder (threads = 1)
#   proxy     Apache mod_proxy_fcgi forwards to a responder this script starts
#             (--listen unix:RUNTIME/run/mcpgate.sock, threads = 4)
#
# Usage:
#   scripts/stack.sh start DIR              start everything, write DIR/env
#   scripts/stack.sh stop DIR               stop everything DIR's stack started
#   scripts/stack.sh status DIR             show what runs (exit 0: all, 3: not all)
#   scripts/stack.sh pg-restart DIR         pg_ctl restart -m fast (same socket and port)
#   scripts/stack.sh pg-stop DIR
#   scripts/stack.sh pg-start DIR
#   scripts/stack.sh pg-promote DIR         promote the standby (STACK_PG_STANDBY=1), wait
#                                           until it accepts writes
#   scripts/stack.sh pg-stop-primary DIR    stop the first cluster (pg-stop), for a failover
#   scripts/stack.sh responder-restart DIR  restart the responder behind mod_proxy_fcgi
#   scripts/stack.sh web-restart DIR        restart lighttpd and Apache with their generated
#                                           configs as they are now (tests edit them)
#   scripts/stack.sh web-graceful DIR       graceful restart of lighttpd (SIGUSR1) and Apache
#                                           (-k graceful): requests in flight finish, the
#                                           responders they spawned are replaced
#
# Environment read by start:
#   MCPGATE_BUILDDIR    build directory (default: the repository root)
#   MCPGATE_RESPONDER   responder binary to deploy (default: $MCPGATE_BUILDDIR/src/mcpgate.fcgi)
#   MCPGATE_ADMIN       admin binary, run as "ADMIN --config FILE migrate"
#                       (default: $MCPGATE_BUILDDIR/src/mcpgate)
#   STACK_SERVERS       subset of "lighttpd fcgid proxy", separated by spaces or
#                       commas (default: all three)
#   STACK_AUTH          the configs' auth setting: oauth, resource or none (default: what
#                       conf/mcpgate.conf says, i.e. oauth)
#   STACK_CONFIG_EXTRA  lines appended to each generated mcpgate.conf
#   STACK_LIGHTTPD_EXTRA, STACK_APACHE_EXTRA  lines appended to the generated
#                       lighttpd.conf, httpd.conf (e.g. the bench's limits for
#                       10,000 held streams: server.max-fds, MaxRequestWorkers)
#   MCPGATE_VALGRIND    1: run every responder under valgrind memcheck (definite
#                       leaks and memory errors go to the web servers' error logs)
#   STACK_PG_DURABLE    1: keep PostgreSQL's fsync and synchronous_commit on (benchmarks);
#                       otherwise the throwaway cluster runs with them off
#   STACK_PG_STANDBY    1: a second cluster, a streaming standby made with pg_basebackup -R
#                       from the first, with its own socket directory and port; replication
#                       is synchronous (synchronous_standby_names on the primary,
#                       synchronous_commit = on whatever STACK_PG_DURABLE says; fsync may
#                       stay off), and MCPGATE_DB names both clusters with
#                       target_session_attrs=read-write, so the responders follow a failover
#
# start writes DIR/env (KEY=VALUE lines, sourceable by sh): STACK_DIR,
# STACK_RUNTIME, STACK_SERVERS, PGHOST, PGPORT, PGUSER, PGDATABASE, STACK_PGDATA,
# MCPGATE_DB, and per started front end URL_*, CONFIG_*, RESPONDER_*, plus the
# logs LOG_PG, LOG_LIGHTTPD, LOG_APACHE, LOG_PROXY. Logs are kept in DIR/log.
# With STACK_PG_STANDBY=1 also STACK_PG_STANDBY=1, PGHOST_STANDBY, PGPORT_STANDBY,
# STACK_PGDATA_STANDBY and LOG_PG_STANDBY (PGHOST and PGPORT stay the first cluster's).
# MCPGATE_DB (the configs' "database") is a postgresql:// URI: a key=value
# conninfo has spaces, which would need quotes in DIR/env.
#
# DIR must be empty (or missing) or hold an earlier stack, whose state start
# replaces. start refuses a DIR whose stack still runs.
#
# Where the state lives (STACK_RUNTIME): DIR itself if the service users can
# traverse it and its path is short enough for unix sockets;
# otherwise a fresh /tmp/mcpgate-stack.XXXXXX (symlinked as DIR/runtime) that
# "stop" deletes. Run as root, PostgreSQL runs as postgres and everything that
# runs responder code as www-data; otherwise everything runs as the invoking
# user. The configs are generated from conf/*.conf, changing only paths and
# ports.
#
# The stack is private to the users that run it: PostgreSQL's socket directory
# is open only to postgres and www-data (group), and it authenticates by peer,
# mapping only root, postgres and www-data (or, not run as root, the invoking
# user) to the postgres role; the configs are 640 root:www-data and the logs
# are in a directory only the invoking user can enter. Nothing outside DIR and the runtime directory is written except the
# lock /tmp/mcpgate-stack.lock, which keeps parallel starts from choosing the
# same ports.
set -euo pipefail
umask 022

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(dirname -- "$SCRIPT_DIR")
readonly SCRIPT_DIR REPO_ROOT
readonly CONF_SRC=$REPO_ROOT/conf
readonly ALL_SERVERS="lighttpd fcgid proxy"
readonly PG_PORT=5432          # unix socket only, in a private directory: no clash
readonly PG_STANDBY_PORT=5433  # the standby's, in its own socket directory
readonly PG_STANDBY_NAME=mcpgate_standby # its cluster_name: the application_name it streams as
readonly START_TIMEOUT_S=20
readonly PORT_LOCK=/tmp/mcpgate-stack.lock
readonly MAX_RUNTIME_PATH_LEN=70 # unix socket paths must stay under 108 bytes
STANDBY=0                        # 1: the stack has a standby (STACK_PG_STANDBY=1)

log() {
    echo "stack.sh: $*" >&2
}

die() {
    log "error: $*"
    exit 1
}

# die_log LOGFILE MESSAGE: fail, pointing at LOGFILE and showing its last lines.
die_log() {
    local logf=$1
    shift
    log "error: $* (see $logf)"
    if [[ -s $logf ]]; then
        log "last lines of $logf:"
        tail -n 30 -- "$logf" | sed 's/^/    /' >&2
    fi
    exit 1
}

# ---------------------------------------------------------------------------
# Processes

# clean_exec LOGFILE CMD...: exec CMD with stdin from /dev/null, stdout and
# stderr appended to LOGFILE and every other descriptor closed, so a daemon
# holds neither our caller's pipes nor the port lock. Call it in a subshell.
clean_exec() {
    local logf=$1 fd
    shift
    exec </dev/null >>"$logf" 2>&1
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        if ((fd > 2)); then
            exec {fd}>&-
        fi
    done
    exec "$@"
}

# Print the state letter of process PID (R, S, Z, ...); fail if it is gone.
proc_state() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    echo "${stat%% *}"
}

# True if PID is running (a zombie counts as gone).
alive() {
    local st
    [[ -n $1 ]] && st=$(proc_state "$1") && [[ $st != Z && $st != X ]]
}

# True if PID is alive and its command line contains STRING.
pid_matches() {
    alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# Print field N (1-based, as in proc(5)) of /proc/PID/stat; N >= 3.
proc_stat_field() {
    local stat fields
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    read -ra fields <<<"${stat##*) }"
    echo "${fields[$2 - 3]}"
}

# Print when PID started, in seconds since the epoch.
proc_start_epoch() {
    local ticks
    ticks=$(proc_stat_field "$1" 22) || return 1
    echo $(($(boot_epoch) + ticks / $(getconf CLK_TCK)))
}

boot_epoch() {
    awk '$1 == "btime" { print $2 }' /proc/stat
}

# daemon_is_ours PID PIDFILE STRING: true if PID, read from PIDFILE, is the
# daemon this stack started: its command line contains STRING, or it is a
# session leader (we start every daemon as one) that started no later than the
# pid file was written (a wrapper script that exec'd something else).
daemon_is_ours() {
    local pid=$1 pidf=$2 string=$3 started written
    alive "$pid" || return 1
    pid_matches "$pid" "$string" && return 0
    [[ $(proc_stat_field "$pid" 6) == "$pid" ]] || return 1
    started=$(proc_start_epoch "$pid") || return 1
    written=$(stat -c %Y -- "$pidf" 2>/dev/null) || return 1
    ((started <= written + 2))
}

# daemon_running PIDFILE STRING: true if the daemon PIDFILE names runs.
daemon_running() {
    daemon_is_ours "$(read_pid "$1")" "$1" "$2"
}

# kill_session SID PIDFILE_MTIME: stop the processes left in session SID after
# its leader (a daemon we started) is gone: whatever it spawned. Linux does not
# reuse a pid while it is still a session id, so they are ours; pid files from
# before this boot are skipped.
kill_session() {
    local sid=$1 mtime=$2 pids
    [[ $sid =~ ^[1-9][0-9]*$ && -n $mtime ]] || return 0
    ((mtime >= $(boot_epoch))) || return 0
    alive "$sid" && return 0
    local pid
    pids=$(for pid in $(pgrep -s "$sid"); do if alive "$pid"; then echo "$pid"; fi; done)
    [[ -n $pids ]] || return 0
    log "stopping leftover processes in session $sid: $(tr '\n' ' ' <<<"$pids")"
    # shellcheck disable=SC2086 # word splitting of the pid list is intended
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 5 $pids && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}

# stop_daemon NAME PIDFILE STRING SIGNAL SECONDS: stop the daemon whose pid
# PIDFILE holds (see daemon_is_ours) with SIGNAL, escalating after SECONDS,
# then what is left in its session; remove PIDFILE.
stop_daemon() {
    local name=$1 pidf=$2 string=$3 sig=$4 secs=$5 pid mtime
    pid=$(read_pid "$pidf")
    [[ -n $pid ]] || return 0
    mtime=$(stat -c %Y -- "$pidf" 2>/dev/null) || mtime=''
    if daemon_is_ours "$pid" "$pidf" "$string"; then
        log "stopping $name (pid $pid)"
        stop_pid "$name" "$pid" "$sig" "$secs"
    fi
    kill_session "$pid" "$mtime"
    rm -f -- "$pidf"
}

# Print the first line of a pid file, if there is one.
read_pid() {
    [[ -r $1 ]] && head -n 1 -- "$1" | tr -dc 0-9
    return 0
}

# wait_gone SECONDS PID...: wait until none of the PIDs runs; fail on timeout.
wait_gone() {
    local deadline=$((SECONDS + $1)) pid busy
    shift
    while :; do
        busy=
        for pid in "$@"; do
            alive "$pid" && busy=1
        done
        [[ -z $busy ]] && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# stop_pid NAME PID SIGNAL SECONDS: send SIGNAL, wait, then SIGTERM and
# SIGKILL if it is still there.
stop_pid() {
    local name=$1 pid=$2 sig=$3 secs=$4
    alive "$pid" || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    wait_gone "$secs" "$pid" && return 0
    if [[ $sig != TERM ]]; then
        log "$name (pid $pid) still running after $secs s; sending SIGTERM"
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone 3 "$pid" && return 0
    fi
    log "$name (pid $pid) still running; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone 3 "$pid" || log "warning: could not stop pid $pid"
}

# Quote a fixed string for use in an extended regular expression.
regex_quote() {
    # shellcheck disable=SC2001 # a bracket expression is clearer in sed
    sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# Print the pids of processes whose command line contains STRING.
pids_matching() {
    pgrep -f -- "$(regex_quote "$1")" || true
}

# kill_matching STRING: stop every process whose command line contains STRING
# (a path inside this stack's runtime directory): SIGTERM, then SIGKILL.
kill_matching() {
    local pids
    pids=$(pids_matching "$1")
    [[ -n $pids ]] || return 0
    log "stopping leftover processes matching $1: $(tr '\n' ' ' <<<"$pids")"
    # shellcheck disable=SC2086 # word splitting of the pid list is intended
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 5 $pids && return 0
    pids=$(pids_matching "$1")
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Paths and settings

# Set SVC_PG / SVC_WEB (users the services run as) and the AS_PG / AS_WEB
# command prefixes that switch to them.
set_users() {
    if ((EUID == 0)); then
        SVC_PG=postgres
        SVC_WEB=www-data
        AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)
        AS_WEB=(setpriv --reuid=www-data --regid=www-data --init-groups)
    else
        SVC_PG=$(id -un)
        SVC_WEB=$SVC_PG
        AS_PG=()
        AS_WEB=()
    fi
}

find_tools() {
    PGBIN=${PG_BINDIR:-}
    if [[ -z $PGBIN ]]; then
        PGBIN=$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
            sort -V | tail -n 1 || true)
        PGBIN=${PGBIN%/initdb}
    fi
    [[ -x $PGBIN/initdb ]] || die "PostgreSQL server binaries not found (run scripts/deps.sh run)"
    LIGHTTPD_BIN=$(PATH=$PATH:/usr/sbin command -v lighttpd || true)
    APACHE_BIN=$(PATH=$PATH:/usr/sbin command -v apache2 || true)
    APACHE_MODULES=/usr/lib/apache2/modules
    local tool
    for tool in curl pgrep setsid flock; do
        command -v "$tool" >/dev/null || die "$tool not found (run scripts/deps.sh run)"
    done
}

# set_paths DIR RUNTIME: every path the stack uses.
set_paths() {
    STACK_DIR=$1
    RT=$2
    LOGDIR=$STACK_DIR/log
    LOG_PG=$LOGDIR/postgresql.log
    LOG_PG_STANDBY=$LOGDIR/postgresql-standby.log
    LOG_LIGHTTPD=$LOGDIR/lighttpd.log
    LOG_APACHE=$LOGDIR/apache.log
    LOG_PROXY=$LOGDIR/proxy.log
    LOG_MIGRATE=$LOGDIR/migrate.log
    PGDATA_DIR=$RT/pg/data
    PGSOCK=$RT/pg/run
    PGDATA_STANDBY=$RT/pg/standby
    PGSOCK_STANDBY=$RT/pg/run-standby
    SOCKDIR=$RT/run
    PROXY_SOCK=$SOCKDIR/mcpgate.sock
    PROXY_PIDF=$RT/proxy/responder.pid
    LIGHTTPD_CONF=$RT/lighttpd/lighttpd.conf
    LIGHTTPD_PIDF=$RT/lighttpd/lighttpd.pid
    APACHE_ROOT=$RT/apache
    APACHE_CONF=$APACHE_ROOT/httpd.conf
    APACHE_PIDF=$APACHE_ROOT/httpd.pid
    MCPGATE_DB="postgresql://postgres@$(uri_encode "$PGSOCK"):$PG_PORT"
    if [[ ${STANDBY:-0} == 1 ]]; then
        # libpq tries the hosts in order and keeps the first that takes writes.
        MCPGATE_DB+=",$(uri_encode "$PGSOCK_STANDBY"):$PG_STANDBY_PORT"
        MCPGATE_DB+="/mcpgate?target_session_attrs=read-write"
    else
        MCPGATE_DB+="/mcpgate"
    fi
}

# make_logdir: create LOGDIR, open only to the invoking user (logs hold what
# the responders and PostgreSQL write, which other local users must not read).
make_logdir() {
    mkdir -p -- "$LOGDIR"
    chmod 700 -- "$LOGDIR"
}

# private_dir DIR OWNER: DIR belongs to OWNER (run as root) with www-data as its
# group, mode 750: the service users may enter it, no other local user may.
# Not run as root, everything runs as the invoking user: mode 700.
private_dir() {
    if ((EUID == 0)); then
        chown "$2:$SVC_WEB" -- "$1"
        chmod 750 -- "$1"
    else
        chmod 700 -- "$1"
    fi
}

# Percent-encode everything but unreserved characters (for the conninfo URI).
uri_encode() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9._~-]) out+=$c ;;
        *) printf -v c '%%%02X' "'$c" && out+=$c ;;
        esac
    done
    echo "$out"
}

# Print the value of KEY in the env file FILE (empty if absent).
env_get() {
    [[ -r $2 ]] || return 0
    sed -n "s/^$1=//p" -- "$2" | tail -n 1
}

# Make DIR absolute and check it is usable in the generated configs.
absolute_dir() {
    [[ -n ${1:-} ]] || die "missing DIR"
    local dir
    dir=$(cd -- "$1" 2>/dev/null && pwd -P) || die "no such directory: $1"
    [[ $dir =~ ^/[A-Za-z0-9._/+-]*$ ]] ||
        die "DIR may contain only letters, digits and . _ / + - (got: $dir)"
    echo "$dir"
}

# Print the runtime directory of the stack in DIR, or nothing if none is known.
runtime_of() {
    local dir=$1 rt
    rt=$(env_get STACK_RUNTIME "$dir/env")
    if [[ -z $rt && -L $dir/runtime ]]; then
        rt=$(readlink -- "$dir/runtime")
    fi
    if [[ -z $rt && -d $dir/pg ]]; then
        rt=$dir
    fi
    echo "$rt"
}

# True if the runtime directory is a /tmp fallback that stop may delete.
is_tmp_runtime() {
    [[ $1 == /tmp/mcpgate-stack.* && $1 != "$STACK_DIR" ]]
}

# True if the service users can traverse DIR and its path is short
# enough for the sockets that will live under it.
dir_usable_by_services() {
    local dir=$1 user
    ((${#dir} <= MAX_RUNTIME_PATH_LEN)) || return 1
    ((EUID == 0)) || return 0
    for user in "$SVC_PG" "$SVC_WEB"; do
        # shellcheck disable=SC2016 # $1 is expanded by the inner sh
        setpriv --reuid="$user" --regid="$user" --init-groups \
            sh -c 'test -x "$1"' sh "$dir" || return 1
    done
}

# Parse STACK_SERVERS (separated by spaces or commas, as in DIR/env) into
# SERVERS, validated and in canonical order.
parse_servers() {
    local list=${STACK_SERVERS:-$ALL_SERVERS} s
    list=${list//,/ }
    local want=" $list "
    for s in $list; do
        [[ " $ALL_SERVERS " == *" $s "* ]] ||
            die "STACK_SERVERS: unknown server '$s' (expected a subset of: $ALL_SERVERS)"
    done
    SERVERS=()
    for s in $ALL_SERVERS; do
        [[ $want == *" $s "* ]] && SERVERS+=("$s")
    done
    ((${#SERVERS[@]} > 0)) || die "STACK_SERVERS is empty"
}

has_server() {
    [[ " ${SERVERS[*]} " == *" $1 "* ]]
}

# True if Apache runs (for mod_fcgid, mod_proxy_fcgi or both).
needs_apache() {
    has_server fcgid || has_server proxy
}

# ---------------------------------------------------------------------------
# Ports

port_in_use() {
    local hex
    printf -v hex ':%04X' "$1"
    # Local addresses look like 0100007F:5BA0; any state counts (TIME_WAIT too).
    awk -v h="$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# pick_port VAR: choose a free loopback port below the ephemeral range and
# store it in VAR. Call with the port lock held.
pick_port() {
    local p i
    for ((i = 0; i < 500; i++)); do
        p=$((20000 + RANDOM % 12000))
        [[ " $PICKED_PORTS " == *" $p "* ]] && continue
        port_in_use "$p" && continue
        PICKED_PORTS+=" $p"
        printf -v "$1" '%s' "$p"
        return 0
    done
    die "no free port found in 20000-31999"
}

# Hold the port lock (fd 9) from choosing ports until the servers listen.
lock_ports() {
    if [[ ! -e $PORT_LOCK ]]; then
        { : >>"$PORT_LOCK" && chmod 666 "$PORT_LOCK"; } 2>/dev/null || true
    fi
    exec 9<"$PORT_LOCK" || die "cannot open $PORT_LOCK"
    flock -w 120 9 || die "timed out waiting for $PORT_LOCK"
}

unlock_ports() {
    exec 9<&-
}

# ---------------------------------------------------------------------------
# PostgreSQL

# pg_ctl_in DATA LOGFILE ARGS...: pg_ctl -D DATA ARGS as the PostgreSQL user.
pg_ctl_in() {
    local data=$1 logf=$2
    shift 2
    (cd / && clean_exec "$logf" "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$data" "$@")
}

pg_ctl_run() {
    pg_ctl_in "$PGDATA_DIR" "$LOG_PG" "$@"
}

# pg_psql SOCKDIR PORT SQL: run SQL as postgres in the mcpgate database, print the
# result unaligned; quiet on failure.
pg_psql() {
    "$PGBIN/psql" -XAtq -h "$1" -p "$2" -U postgres -d mcpgate -c "$3" </dev/null 2>/dev/null
}

# pg_wait_for SECONDS LOGFILE WHAT SOCKDIR PORT SQL EXPECTED: poll until SQL prints
# EXPECTED; fail, showing LOGFILE, after SECONDS.
pg_wait_for() {
    local deadline=$((SECONDS + $1)) logf=$2 what=$3
    shift 3
    until [[ $(pg_psql "$1" "$2" "$3") == "$4" ]]; do
        ((SECONDS < deadline)) || die_log "$logf" "$what"
        sleep 0.05
    done
}

pg_init() {
    mkdir -p "$PGDATA_DIR" "$PGSOCK"
    chmod 700 "$PGDATA_DIR"
    ((EUID != 0)) || chown "$SVC_PG:" "$PGDATA_DIR"
    private_dir "$PGSOCK" "$SVC_PG"
    log "initdb $PGDATA_DIR (as $SVC_PG)"
    (cd / && exec "${AS_PG[@]}" "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres \
        --auth-local=peer --auth-host=reject \
        -E UTF8 --locale=C --no-sync --no-instructions) >>"$LOG_PG" 2>&1 ||
        die_log "$LOG_PG" "initdb failed"
    cat >>"$PGDATA_DIR/postgresql.conf" <<EOF

# Added by scripts/stack.sh: a private, throwaway test cluster.
listen_addresses = ''                  # unix socket only
port = $PG_PORT
unix_socket_directories = '$PGSOCK'
EOF
    if [[ ${STACK_PG_DURABLE:-0} == 1 ]]; then
        echo "# STACK_PG_DURABLE=1: PostgreSQL's crash-safe defaults (fsync, synchronous_commit)" \
            >>"$PGDATA_DIR/postgresql.conf"
    elif ((STANDBY)); then
        cat >>"$PGDATA_DIR/postgresql.conf" <<EOF
fsync = off                            # no crash safety needed
full_page_writes = off
synchronous_commit = on                # STACK_PG_STANDBY=1: a commit waits for the standby
EOF
    else
        cat >>"$PGDATA_DIR/postgresql.conf" <<EOF
fsync = off                            # no crash safety needed
full_page_writes = off
synchronous_commit = off
EOF
    fi
    # Socket connections only (there is no TCP listener), by peer: the Unix
    # users the stack runs as, and no other, may log in, as the postgres role.
    {
        echo '# scripts/stack.sh: unix socket only; peer authentication through the map "stack"'
        echo 'local all all peer map=stack'
        if ((STANDBY)); then
            echo 'local replication all peer map=stack'
        fi
    } >"$PGDATA_DIR/pg_hba.conf"
    {
        echo '# scripts/stack.sh: who may log in as the postgres role'
        local u
        for u in $(pg_peer_users); do
            printf 'stack %s postgres\n' "$u"
        done
    } >"$PGDATA_DIR/pg_ident.conf"
    ((EUID != 0)) || chown "$SVC_PG:" "$PGDATA_DIR/pg_hba.conf" "$PGDATA_DIR/pg_ident.conf"
}

# The Unix users mapped to the postgres role: root (the tests, the admin
# command), postgres and www-data (the responders); not run as root, the
# invoking user.
pg_peer_users() {
    if ((EUID == 0)); then
        echo root "$SVC_PG" "$SVC_WEB"
    else
        id -un
    fi
}

pg_start() {
    log "starting PostgreSQL (socket $PGSOCK/.s.PGSQL.$PG_PORT)"
    pg_ctl_run start -w -t "$START_TIMEOUT_S" ||
        die_log "$LOG_PG" "PostgreSQL did not start within $START_TIMEOUT_S s"
}

pg_createdb() {
    "$PGBIN/createdb" -h "$PGSOCK" -p "$PG_PORT" -U postgres mcpgate </dev/null >>"$LOG_PG" 2>&1 ||
        die_log "$LOG_PG" "createdb mcpgate failed"
}

# True if the postmaster of data directory DATA runs.
pg_cluster_running() {
    pid_matches "$(read_pid "$1/postmaster.pid")" "$1"
}

pg_running() {
    pg_cluster_running "$PGDATA_DIR"
}

# pg_cluster_stop NAME DATA LOGFILE: fast shutdown (immediate if that fails), then
# whatever is left of the cluster's processes.
pg_cluster_stop() {
    local name=$1 data=$2 logf=$3 pidf=$2/postmaster.pid pid mtime
    pid=$(read_pid "$pidf")
    [[ -n $pid ]] || return 0
    mtime=$(stat -c %Y -- "$pidf" 2>/dev/null) || mtime=''
    if pid_matches "$pid" "$data"; then
        log "stopping $name (pid $pid)"
        if ! pg_ctl_in "$data" "$logf" stop -m fast -w -t "$START_TIMEOUT_S"; then
            log "fast shutdown failed; trying immediate (see $logf)"
            pg_ctl_in "$data" "$logf" stop -m immediate -w -t 10 || true
        fi
        stop_pid postgres "$pid" KILL 1
    fi
    kill_session "$pid" "$mtime"
}

pg_stop() {
    pg_cluster_stop PostgreSQL "$PGDATA_DIR" "$LOG_PG"
}

pg_standby_stop() {
    pg_cluster_stop "the PostgreSQL standby" "$PGDATA_STANDBY" "$LOG_PG_STANDBY"
}

# The standby (STACK_PG_STANDBY=1): a base backup of the running primary with
# its own port and socket directory, streaming; then the primary makes every
# commit wait for it (synchronous_standby_names; synchronous_commit is on).
pg_standby_create() {
    mkdir -p "$PGDATA_STANDBY" "$PGSOCK_STANDBY"
    chmod 700 "$PGDATA_STANDBY"
    ((EUID != 0)) || chown "$SVC_PG:" "$PGDATA_STANDBY"
    private_dir "$PGSOCK_STANDBY" "$SVC_PG"
    log "pg_basebackup -R into $PGDATA_STANDBY (as $SVC_PG)"
    (cd / && exec "${AS_PG[@]}" "$PGBIN/pg_basebackup" -h "$PGSOCK" -p "$PG_PORT" -U postgres \
        -D "$PGDATA_STANDBY" -R -X stream -c fast --no-sync) </dev/null >>"$LOG_PG_STANDBY" 2>&1 ||
        die_log "$LOG_PG_STANDBY" "pg_basebackup failed"
    cat >>"$PGDATA_STANDBY/postgresql.conf" <<EOF

# Added by scripts/stack.sh (STACK_PG_STANDBY=1): the streaming standby.
port = $PG_STANDBY_PORT
unix_socket_directories = '$PGSOCK_STANDBY'
cluster_name = '$PG_STANDBY_NAME'      # the application_name it streams as
EOF
    log "starting the PostgreSQL standby (socket $PGSOCK_STANDBY/.s.PGSQL.$PG_STANDBY_PORT)"
    pg_ctl_in "$PGDATA_STANDBY" "$LOG_PG_STANDBY" start -w -t "$START_TIMEOUT_S" ||
        die_log "$LOG_PG_STANDBY" "the PostgreSQL standby did not start within $START_TIMEOUT_S s"
    printf "synchronous_standby_names = '%s'  # STACK_PG_STANDBY=1\n" "$PG_STANDBY_NAME" \
        >>"$PGDATA_DIR/postgresql.conf"
    pg_ctl_run reload || die_log "$LOG_PG" "could not reload the primary"
    pg_wait_for "$START_TIMEOUT_S" "$LOG_PG_STANDBY" \
        "the standby did not become the primary's synchronous standby within $START_TIMEOUT_S s" \
        "$PGSOCK" "$PG_PORT" "SELECT sync_state FROM pg_stat_replication
            WHERE application_name = '$PG_STANDBY_NAME' AND state = 'streaming'" sync
}

# Promote the standby and wait until it takes writes: out of recovery, and
# transactions read-write (what target_session_attrs=read-write checks).
pg_standby_promote() {
    log "promoting the PostgreSQL standby"
    pg_ctl_in "$PGDATA_STANDBY" "$LOG_PG_STANDBY" promote -w -t "$START_TIMEOUT_S" ||
        die_log "$LOG_PG_STANDBY" "the standby was not promoted within $START_TIMEOUT_S s"
    pg_wait_for "$START_TIMEOUT_S" "$LOG_PG_STANDBY" \
        "the promoted standby does not accept writes" "$PGSOCK_STANDBY" "$PG_STANDBY_PORT" \
        "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'" t
}

# ---------------------------------------------------------------------------
# Generated files

# write_mcpgate_conf BASE_URL THREADS OUT: conf/mcpgate.conf with the stack's
# values substituted (auth too when STACK_AUTH is set), then STACK_CONFIG_EXTRA.
write_mcpgate_conf() {
    mkdir -p "$(dirname -- "$3")"
    local keys="base_url database threads log_level"
    case ${STACK_AUTH:-} in
    '') ;;
    oauth | none | resource) keys+=" auth" ;;
    *) die "STACK_AUTH must be oauth, resource or none (got: $STACK_AUTH)" ;;
    esac
    V_base_url=$1 V_threads=$2 V_database=$MCPGATE_DB V_log_level=debug \
        V_auth=${STACK_AUTH:-} KEYS=$keys awk '
        BEGIN { split(ENVIRON["KEYS"], keys, " ") }
        {
            for (i in keys) {
                k = keys[i]
                if ($0 ~ "^[ \t]*" k "[ \t]*=") { $0 = k " = " ENVIRON["V_" k]; seen[k] = 1 }
            }
            print
        }
        END {
            for (i in keys)
                if (!(keys[i] in seen)) { print "missing key " keys[i] > "/dev/stderr"; exit 1 }
        }' "$CONF_SRC/mcpgate.conf" >"$3" || die "conf/mcpgate.conf lacks a key the stack sets"
    if [[ -n ${STACK_CONFIG_EXTRA:-} ]]; then
        printf '\n# STACK_CONFIG_EXTRA (scripts/stack.sh)\n%s\n' "$STACK_CONFIG_EXTRA" >>"$3"
    fi
    # it may hold secrets (credential_key, a database password): the
    # responders' group may read it, no other local user
    if ((EUID == 0)); then
        chown "root:$SVC_WEB" -- "$3"
        chmod 640 -- "$3"
    else
        chmod 600 -- "$3"
    fi
}

# deploy_snippet FRONTEND SRC OUT: copy a conf/ snippet, replacing only the
# production paths with this front end's paths under the runtime directory.
deploy_snippet() {
    sed -e "s|/usr/lib/mcpgate|$RT/bin/$1|g" \
        -e "s|/etc/mcpgate|$RT/etc/$1|g" \
        -e "s|/run/mcpgate|$SOCKDIR|g" "$2" >"$3"
}

# valgrind_wrap FILE: FILE becomes a script running the binary (moved to FILE.bin)
# under valgrind memcheck, its reports (lines starting ==PID==) on the
# responder's stderr, i.e. the web server's error log, where the tests look.
valgrind_wrap() {
    command -v valgrind >/dev/null || die "MCPGATE_VALGRIND=1 but valgrind is not installed"
    mv -- "$1" "$1.bin"
    printf '#!/bin/sh\nexec valgrind -q --leak-check=full --show-leak-kinds=definite %s\n' \
        "--errors-for-leak-kinds=definite --num-callers=30 --vgdb=no $1.bin \"\$@\"" >"$1"
    chmod 755 "$1"
}

# deploy FRONTEND BASE_URL THREADS: the responder copy and its mcpgate.conf.
deploy() {
    install -D -m 755 -- "$MCPGATE_RESPONDER" "$RT/bin/$1/mcpgate.fcgi"
    if [[ ${MCPGATE_VALGRIND:-0} == 1 ]]; then
        valgrind_wrap "$RT/bin/$1/mcpgate.fcgi"
    fi
    write_mcpgate_conf "$2" "$3" "$RT/etc/$1/mcpgate.conf"
}

write_lighttpd_conf() {
    mkdir -p "$RT/lighttpd"
    deploy_snippet lighttpd "$CONF_SRC/lighttpd-mcpgate.conf" "$RT/lighttpd/mcpgate.conf"
    {
        echo "# Generated by scripts/stack.sh for $STACK_DIR; do not edit."
        echo "# lighttpd runs in the foreground (-D) and logs to stderr, which the"
        echo "# stack appends to $LOG_LIGHTTPD (so do the responders it spawns)."
        echo "server.document-root = \"$RT/www\""
        echo "server.bind = \"127.0.0.1\""
        echo "server.port = $PORT_LIGHTTPD"
        echo "server.pid-file = \"$LIGHTTPD_PIDF\""
        if ((EUID == 0)); then
            echo "server.username = \"$SVC_WEB\""
            echo "server.groupname = \"$SVC_WEB\""
        fi
        echo "include \"$RT/lighttpd/mcpgate.conf\""
        if [[ -n ${STACK_LIGHTTPD_EXTRA:-} ]]; then
            printf '# STACK_LIGHTTPD_EXTRA\n%s\n' "$STACK_LIGHTTPD_EXTRA"
        fi
    } >"$LIGHTTPD_CONF"
}

write_apache_conf() {
    mkdir -p "$APACHE_ROOT/run"
    {
        cat <<EOF
# Generated by scripts/stack.sh for $STACK_DIR; do not edit.
# A private Apache: own ServerRoot, pid file and logs, loopback only.
ServerRoot "$APACHE_ROOT"
PidFile "$APACHE_PIDF"
DefaultRuntimeDir "$APACHE_ROOT/run"
ErrorLog "$LOG_APACHE"
LogLevel warn
ServerName 127.0.0.1
GracefulShutdownTimeout 5
EOF
        if ((EUID == 0)); then
            echo "User $SVC_WEB"
            echo "Group $SVC_WEB"
        fi
        cat <<EOF
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LogFormat "%h %l %u %t \"%r\" %>s %b %D" timed
CustomLog "$LOGDIR/apache-access.log" timed
DocumentRoot "$RT/www"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$RT/www">
    Require all granted
</Directory>
EOF
        if has_server fcgid; then
            cat <<EOF

LoadModule alias_module $APACHE_MODULES/mod_alias.so
LoadModule fcgid_module $APACHE_MODULES/mod_fcgid.so
LogLevel fcgid:info
FcgidIPCDir "$APACHE_ROOT/fcgid"
FcgidProcessTableFile "$APACHE_ROOT/fcgid.shm"
# Server-wide only (see conf/apache-mcpgate-fcgid.conf).
FcgidBusyScanInterval 30
Listen 127.0.0.1:$PORT_FCGID
<VirtualHost 127.0.0.1:$PORT_FCGID>
    Include "$APACHE_ROOT/mcpgate-fcgid.conf"
</VirtualHost>
EOF
            deploy_snippet fcgid "$CONF_SRC/apache-mcpgate-fcgid.conf" "$APACHE_ROOT/mcpgate-fcgid.conf"
        fi
        if has_server proxy; then
            cat <<EOF

LoadModule proxy_module $APACHE_MODULES/mod_proxy.so
LoadModule proxy_fcgi_module $APACHE_MODULES/mod_proxy_fcgi.so
LoadModule reqtimeout_module $APACHE_MODULES/mod_reqtimeout.so
LogLevel proxy_fcgi:info
Listen 127.0.0.1:$PORT_PROXY
<VirtualHost 127.0.0.1:$PORT_PROXY>
    Include "$APACHE_ROOT/mcpgate-proxy-fcgi.conf"
</VirtualHost>
EOF
            deploy_snippet proxy "$CONF_SRC/apache-mcpgate-proxy-fcgi.conf" \
                "$APACHE_ROOT/mcpgate-proxy-fcgi.conf"
        fi
        if [[ -n ${STACK_APACHE_EXTRA:-} ]]; then
            printf '\n# STACK_APACHE_EXTRA\n%s\n' "$STACK_APACHE_EXTRA"
        fi
    } >"$APACHE_CONF"
}

write_env() {
    local tmp=$STACK_DIR/env.tmp fe upper
    {
        echo "STACK_DIR=$STACK_DIR"
        echo "STACK_RUNTIME=$RT"
        if [[ ${1:-} == full ]]; then
            echo "STACK_SERVERS=$(
                IFS=,
                echo "${SERVERS[*]}"
            )"
            echo "PGHOST=$PGSOCK"
            echo "PGPORT=$PG_PORT"
            echo "PGUSER=postgres"
            echo "PGDATABASE=mcpgate"
            echo "STACK_PGDATA=$PGDATA_DIR"
            echo "MCPGATE_DB=$MCPGATE_DB"
            echo "LOG_PG=$LOG_PG"
            if ((STANDBY)); then
                echo "STACK_PG_STANDBY=1"
                echo "PGHOST_STANDBY=$PGSOCK_STANDBY"
                echo "PGPORT_STANDBY=$PG_STANDBY_PORT"
                echo "STACK_PGDATA_STANDBY=$PGDATA_STANDBY"
                echo "LOG_PG_STANDBY=$LOG_PG_STANDBY"
            fi
            for fe in "${SERVERS[@]}"; do
                upper=${fe^^}
                local port_var=PORT_$upper
                echo "URL_$upper=http://127.0.0.1:${!port_var}"
                echo "CONFIG_$upper=$RT/etc/$fe/mcpgate.conf"
                echo "RESPONDER_$upper=$RT/bin/$fe/mcpgate.fcgi"
            done
            ! has_server lighttpd || echo "LOG_LIGHTTPD=$LOG_LIGHTTPD"
            ! needs_apache || echo "LOG_APACHE=$LOG_APACHE"
            ! has_server proxy || echo "LOG_PROXY=$LOG_PROXY"
        fi
    } >"$tmp"
    mv -f -- "$tmp" "$STACK_DIR/env"
}

# ---------------------------------------------------------------------------
# Front ends

# wait_http NAME URL LOGFILE [PID]: wait until URL answers HTTP (any status).
wait_http() {
    local name=$1 url=$2 logf=$3 pid=${4:-} deadline=$((SECONDS + START_TIMEOUT_S)) code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/" || true)
        [[ $code != 000 && -n $code ]] && return 0
        if [[ -n $pid ]] && ! alive "$pid"; then
            die_log "$logf" "$name exited during start"
        fi
        ((SECONDS < deadline)) || die_log "$logf" "$name did not answer on $url within $START_TIMEOUT_S s"
        sleep 0.1
    done
}

proxy_start() {
    mkdir -p "$(dirname -- "$PROXY_PIDF")"
    rm -f -- "$PROXY_SOCK" "$PROXY_PIDF"
    log "starting responder on unix:$PROXY_SOCK (as $SVC_WEB)"
    # The root shell writes the pid file, then execs (same pid) the responder.
    # shellcheck disable=SC2016 # $0 and $@ are expanded by the inner sh
    (cd / && clean_exec "$LOG_PROXY" setsid sh -c 'echo $$ >"$0" && exec "$@"' "$PROXY_PIDF" \
        "${AS_WEB[@]}" "$RT/bin/proxy/mcpgate.fcgi" --listen "unix:$PROXY_SOCK" \
        --config "$RT/etc/proxy/mcpgate.conf") &
    local deadline=$((SECONDS + START_TIMEOUT_S)) pid
    while [[ ! -S $PROXY_SOCK ]]; do
        pid=$(read_pid "$PROXY_PIDF")
        if [[ -n $pid ]] && ! alive "$pid"; then
            die_log "$LOG_PROXY" "the standalone responder exited during start"
        fi
        ((SECONDS < deadline)) ||
            die_log "$LOG_PROXY" "the standalone responder did not create $PROXY_SOCK within $START_TIMEOUT_S s"
        sleep 0.05
    done
}

proxy_stop() {
    stop_daemon "the standalone responder" "$PROXY_PIDF" "$RT/bin/proxy/" TERM 10
    kill_matching "$RT/bin/proxy/"
    rm -f -- "$PROXY_SOCK"
}

lighttpd_start() {
    [[ -n $LIGHTTPD_BIN ]] || die "lighttpd not found (run scripts/deps.sh run)"
    log "starting lighttpd on $URL_LIGHTTPD"
    (cd / && clean_exec "$LOG_LIGHTTPD" setsid "$LIGHTTPD_BIN" -D -f "$LIGHTTPD_CONF") &
    wait_http lighttpd "$URL_LIGHTTPD" "$LOG_LIGHTTPD" "$!"
}

lighttpd_stop() {
    # lighttpd stops the responders it spawned.
    stop_daemon lighttpd "$LIGHTTPD_PIDF" "$LIGHTTPD_CONF" TERM 10
    kill_matching "-f $LIGHTTPD_CONF"
    kill_matching "$RT/bin/lighttpd/"
}

apache_start() {
    [[ -n $APACHE_BIN && -r $APACHE_MODULES/mod_fcgid.so ]] ||
        die "apache2 or mod_fcgid not found (run scripts/deps.sh run)"
    log "starting Apache:${URL_FCGID:+ fcgid $URL_FCGID}${URL_PROXY:+ proxy $URL_PROXY}"
    (cd / && clean_exec "$LOG_APACHE" "$APACHE_BIN" -d "$APACHE_ROOT" -f "$APACHE_CONF" -k start) ||
        die_log "$LOG_APACHE" "Apache did not start"
    [[ -z ${URL_FCGID:-} ]] || wait_http "Apache (mod_fcgid)" "$URL_FCGID" "$LOG_APACHE"
    [[ -z ${URL_PROXY:-} ]] || wait_http "Apache (mod_proxy_fcgi)" "$URL_PROXY" "$LOG_APACHE"
}

apache_stop() {
    # SIGWINCH is what "apachectl graceful-stop" sends: requests in flight get
    # GracefulShutdownTimeout (5 s); mod_fcgid stops its processes.
    stop_daemon Apache "$APACHE_PIDF" "$APACHE_CONF" WINCH 10
    kill_matching "-f $APACHE_CONF"
    kill_matching "$RT/bin/fcgid/"
}

# ---------------------------------------------------------------------------
# Commands

# load_stack DIR: set the paths of an existing stack; fail if there is none.
load_stack() {
    local dir rt
    dir=$(absolute_dir "${1:-}")
    rt=$(runtime_of "$dir")
    [[ -n $rt && -d $rt ]] || die "no stack in $dir (run: stack.sh start $dir)"
    STANDBY=$(env_get STACK_PG_STANDBY "$dir/env")
    STANDBY=${STANDBY:-0}
    set_paths "$dir" "$rt"
    make_logdir
    STACK_SERVERS=$(env_get STACK_SERVERS "$dir/env")
    parse_servers
}

cmd_start() {
    set_users
    find_tools
    parse_servers
    STANDBY=${STACK_PG_STANDBY:-0}
    [[ $STANDBY == [01] ]] || die "STACK_PG_STANDBY must be 0 or 1 (got: $STANDBY)"

    local builddir=${MCPGATE_BUILDDIR:-$REPO_ROOT}
    MCPGATE_RESPONDER=${MCPGATE_RESPONDER:-$builddir/src/mcpgate.fcgi}
    MCPGATE_ADMIN=${MCPGATE_ADMIN:-$builddir/src/mcpgate}
    [[ -f $MCPGATE_RESPONDER && -x $MCPGATE_RESPONDER ]] ||
        die "responder not found: $MCPGATE_RESPONDER (build it, or set MCPGATE_RESPONDER)"
    [[ -f $MCPGATE_ADMIN && -x $MCPGATE_ADMIN ]] ||
        die "admin command not found: $MCPGATE_ADMIN (build it, or set MCPGATE_ADMIN)"
    if head -c 4096 -- "$MCPGATE_RESPONDER" | grep -aq 'generated by.*libtool'; then
        die "$MCPGATE_RESPONDER is a libtool wrapper script; deploy the real binary"
    fi

    [[ -n ${1:-} ]] || die "usage: stack.sh start DIR"
    mkdir -p -- "$1"
    local dir
    dir=$(absolute_dir "$1")

    # A previous stack in DIR: refuse if it runs, clean it up otherwise.
    if [[ -n $(runtime_of "$dir") ]]; then
        if stack_any_running "$dir"; then
            die "a stack is already running in $dir (run: stack.sh stop $dir)"
        fi
        do_stop "$dir" 2>/dev/null
    fi
    [[ -f $dir/env || -z $(ls -A -- "$dir") ]] ||
        die "$dir is neither empty nor a stack directory; refusing to use it"
    rm -f -- "$dir/runtime" "$dir/env"

    local rt=$dir
    if ! dir_usable_by_services "$dir"; then
        rt=$(mktemp -d /tmp/mcpgate-stack.XXXXXX)
        chmod 755 "$rt"
        ln -s -- "$rt" "$dir/runtime"
        log "using runtime directory $rt ($SVC_PG/$SVC_WEB cannot use $dir, or its path is too long)"
    fi
    set_paths "$dir" "$rt"
    MCPGATE_RESPONDER=$(realpath -- "$MCPGATE_RESPONDER")
    MCPGATE_ADMIN=$(realpath -- "$MCPGATE_ADMIN")

    # From here on, a failure stops whatever was started.
    write_env partial
    trap 'on_start_exit' EXIT
    trap 'exit 130' INT TERM
    local started=$SECONDS

    local sub
    rm -rf -- "${LOGDIR:?}"
    for sub in bin etc run pg proxy www lighttpd apache; do
        rm -rf -- "${RT:?}/$sub"
    done
    make_logdir
    mkdir -p "$SOCKDIR" "$RT/www"
    private_dir "$SOCKDIR" "$SVC_WEB"

    pg_init
    pg_start
    pg_createdb
    ((!STANDBY)) || pg_standby_create

    lock_ports
    PICKED_PORTS=
    PORT_LIGHTTPD='' PORT_FCGID='' PORT_PROXY=''
    URL_LIGHTTPD='' URL_FCGID='' URL_PROXY=''
    if has_server lighttpd; then
        pick_port PORT_LIGHTTPD
        URL_LIGHTTPD=http://127.0.0.1:$PORT_LIGHTTPD
        deploy lighttpd "$URL_LIGHTTPD" 4
        write_lighttpd_conf
    fi
    if has_server fcgid; then
        pick_port PORT_FCGID
        URL_FCGID=http://127.0.0.1:$PORT_FCGID
        deploy fcgid "$URL_FCGID" 1
    fi
    if has_server proxy; then
        pick_port PORT_PROXY
        URL_PROXY=http://127.0.0.1:$PORT_PROXY
        deploy proxy "$URL_PROXY" 4
    fi
    ! needs_apache || write_apache_conf

    local first_conf=$RT/etc/${SERVERS[0]}/mcpgate.conf
    log "migrate: $MCPGATE_ADMIN --config $first_conf migrate"
    "$MCPGATE_ADMIN" --config "$first_conf" migrate </dev/null >>"$LOG_MIGRATE" 2>&1 ||
        die_log "$LOG_MIGRATE" "migrate failed"

    ! has_server proxy || proxy_start
    ! has_server lighttpd || lighttpd_start
    ! needs_apache || apache_start
    unlock_ports

    write_env full
    trap - EXIT INT TERM
    log "stack up in $((SECONDS - started)) s; settings in $STACK_DIR/env"
    grep -E '^(URL_|PGHOST|STACK_RUNTIME)' "$STACK_DIR/env"
}

on_start_exit() {
    local rc=$?
    ((rc != 0)) || return 0
    trap - EXIT INT TERM
    log "start failed; stopping what was started"
    do_stop "$STACK_DIR" || true
    exit "$rc"
}

# True if any process of the stack in DIR runs.
stack_any_running() {
    (
        set_paths "$1" "$(runtime_of "$1")"
        pg_running || pg_cluster_running "$PGDATA_STANDBY" ||
            daemon_running "$PROXY_PIDF" "$RT/bin/proxy/" ||
            daemon_running "$LIGHTTPD_PIDF" "$LIGHTTPD_CONF" ||
            daemon_running "$APACHE_PIDF" "$APACHE_CONF" ||
            [[ -n $(pids_matching "$RT/bin/") ]]
    )
}

# do_stop DIR: stop everything; never fails because something is not running.
do_stop() {
    local dir=$1 rt
    rt=$(runtime_of "$dir")
    if [[ -z $rt ]]; then
        log "nothing to stop in $dir"
        return 0
    fi
    set_users
    find_tools
    set_paths "$dir" "$rt"
    make_logdir
    local t0=$SECONDS
    # Each step runs to its end even if a command in it fails.
    apache_stop || true
    lighttpd_stop || true
    proxy_stop || true
    pg_stop || true
    pg_standby_stop || true
    kill_matching "$RT/bin/" || true
    if is_tmp_runtime "$RT"; then
        rm -rf -- "$RT"
        rm -f -- "$STACK_DIR/runtime"
    fi
    log "stopped ($((SECONDS - t0)) s)"
}

cmd_stop() {
    [[ -n ${1:-} ]] || die "usage: stack.sh stop DIR"
    if [[ ! -d $1 ]]; then
        log "nothing to stop: no directory $1"
        return 0
    fi
    local dir
    dir=$(absolute_dir "$1")
    do_stop "$dir"
}

cmd_status() {
    set_users
    find_tools
    [[ -n ${1:-} ]] || die "usage: stack.sh status DIR"
    if [[ ! -d $1 ]]; then
        echo "no stack in $1"
        return 3
    fi
    local dir rt
    dir=$(absolute_dir "$1")
    rt=$(runtime_of "$dir")
    if [[ -z $rt || ! -d $rt ]]; then
        echo "no stack running in $dir"
        return 3
    fi
    load_stack "$dir"
    local bad=0 pid n
    status_line() { printf '%-24s %s\n' "$1" "$2"; }

    pid=$(read_pid "$PGDATA_DIR/postmaster.pid")
    if pg_running; then
        status_line postgresql "running, pid $pid, socket $PGSOCK port $PG_PORT"
    else
        status_line postgresql stopped
        bad=1
    fi
    if ((STANDBY)); then
        pid=$(read_pid "$PGDATA_STANDBY/postmaster.pid")
        local where="socket $PGSOCK_STANDBY port $PG_STANDBY_PORT"
        if ! pg_cluster_running "$PGDATA_STANDBY"; then
            status_line "postgresql standby" stopped
            bad=1
        elif [[ -f $PGDATA_STANDBY/standby.signal ]]; then
            status_line "postgresql standby" "streaming, pid $pid, $where"
        else
            status_line "postgresql standby" "promoted, pid $pid, $where"
        fi
    fi
    if has_server lighttpd; then
        pid=$(read_pid "$LIGHTTPD_PIDF")
        n=$(pids_matching "$RT/bin/lighttpd/" | wc -l)
        if daemon_running "$LIGHTTPD_PIDF" "$LIGHTTPD_CONF"; then
            status_line lighttpd "running, pid $pid, $(env_get URL_LIGHTTPD "$STACK_DIR/env"), $n responder(s)"
        else
            status_line lighttpd stopped
            bad=1
        fi
    fi
    if needs_apache; then
        pid=$(read_pid "$APACHE_PIDF")
        n=$(pids_matching "$RT/bin/fcgid/" | wc -l)
        if daemon_running "$APACHE_PIDF" "$APACHE_CONF"; then
            if has_server fcgid; then
                status_line apache "running, pid $pid, $n mod_fcgid responder(s)"
            else
                status_line apache "running, pid $pid"
            fi
        else
            status_line apache stopped
            bad=1
        fi
    fi
    if has_server proxy; then
        pid=$(read_pid "$PROXY_PIDF")
        if daemon_running "$PROXY_PIDF" "$RT/bin/proxy/"; then
            status_line "responder (proxy)" "running, pid $pid, unix:$PROXY_SOCK"
        else
            status_line "responder (proxy)" stopped
            bad=1
        fi
    fi
    ((bad == 0)) || return 3
}

cmd_pg() {
    local action=$1
    set_users
    find_tools
    load_stack "${2:-}"
    case $action in
    start)
        pg_running && { log "PostgreSQL is already running"; return 0; }
        pg_start
        ;;
    stop)
        pg_stop
        ;;
    restart)
        log "restarting PostgreSQL"
        pg_ctl_run restart -m fast -w -t "$START_TIMEOUT_S" ||
            die_log "$LOG_PG" "PostgreSQL did not restart within $START_TIMEOUT_S s"
        ;;
    promote | stop-primary)
        ((STANDBY)) || die "this stack has no standby (start it with STACK_PG_STANDBY=1)"
        if [[ $action == stop-primary ]]; then
            pg_stop
        else
            pg_cluster_running "$PGDATA_STANDBY" || die "the PostgreSQL standby is not running"
            pg_standby_promote
        fi
        ;;
    esac
}

cmd_responder_restart() {
    set_users
    find_tools
    load_stack "${1:-}"
    has_server proxy || die "this stack has no mod_proxy_fcgi front end"
    proxy_stop
    proxy_start
}

# load_web_stack DIR: load_stack, plus the front ends' URLs (for wait_http).
load_web_stack() {
    set_users
    find_tools
    load_stack "${1:-}"
    URL_LIGHTTPD=$(env_get URL_LIGHTTPD "$STACK_DIR/env")
    URL_FCGID=$(env_get URL_FCGID "$STACK_DIR/env")
    URL_PROXY=$(env_get URL_PROXY "$STACK_DIR/env")
}

cmd_web_restart() {
    load_web_stack "${1:-}"
    if has_server lighttpd; then
        lighttpd_stop
        lighttpd_start
    fi
    if needs_apache; then
        apache_stop
        apache_start
    fi
}

cmd_web_graceful() {
    load_web_stack "${1:-}"
    local pid
    if has_server lighttpd; then
        pid=$(read_pid "$LIGHTTPD_PIDF")
        daemon_running "$LIGHTTPD_PIDF" "$LIGHTTPD_CONF" || die "lighttpd is not running"
        log "graceful restart of lighttpd (pid $pid, SIGUSR1)"
        kill -USR1 "$pid"
        wait_http lighttpd "$URL_LIGHTTPD" "$LOG_LIGHTTPD" "$pid"
    fi
    if needs_apache; then
        daemon_running "$APACHE_PIDF" "$APACHE_CONF" || die "Apache is not running"
        log "graceful restart of Apache (pid $(read_pid "$APACHE_PIDF"))"
        (cd / && clean_exec "$LOG_APACHE" "$APACHE_BIN" -d "$APACHE_ROOT" -f "$APACHE_CONF" \
            -k graceful) || die_log "$LOG_APACHE" "Apache did not take the graceful restart"
        [[ -z ${URL_FCGID:-} ]] || wait_http "Apache (mod_fcgid)" "$URL_FCGID" "$LOG_APACHE"
        [[ -z ${URL_PROXY:-} ]] || wait_http "Apache (mod_proxy_fcgi)" "$URL_PROXY" "$LOG_APACHE"
    fi
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 2
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    pg-restart) cmd_pg restart "$@" ;;
    pg-stop) cmd_pg stop "$@" ;;
    pg-start) cmd_pg start "$@" ;;
    pg-promote) cmd_pg promote "$@" ;;
    pg-stop-primary) cmd_pg stop-primary "$@" ;;
    responder-restart) cmd_responder_restart "$@" ;;
    web-restart) cmd_web_restart "$@" ;;
    web-graceful) cmd_web_graceful "$@" ;;
    *) usage ;;
    esac
}

main "$@"
