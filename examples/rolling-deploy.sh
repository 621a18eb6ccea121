#!/usr/bin/env bash
# Rolling deploy: restart the servers of one backend one by one, with no failed request.
#
#   RESTART_CMD="systemctl restart app@%s" examples/rolling-deploy.sh be_app
#   examples/rolling-deploy.sh -S /run/lb/admin.sock -r 'ssh %s sudo systemctl restart app' be_app web1 web2
#
# For each server (all servers of <backend> by default, in configuration order):
#   1. lbctl drain <backend>/<server> --timeout <drain timeout>   (out of rotation, wait for 0 sessions, maint)
#   2. run the restart command ("%s" becomes the server name; BACKEND, SERVER, SERVER_ADDR and
#      SERVER_PORT are exported to it)
#   3. wait until the server's address accepts TCP connections again
#   4. lbctl ready <backend>/<server>
#   5. wait until the load balancer reports the server UP (its health check passed)
# The first failure stops the deploy with a non-zero status, leaving that server as it is (drain or
# maint) for an operator to look at. Servers already in maintenance are skipped, and a server is
# only drained while another server of the backend is UP.
#
# Options (environment variable in brackets):
#   -S SOCKET   Runtime API socket [LBCTL_SOCKET]             -r CMD  restart command [RESTART_CMD]
#   -t TIME     drain timeout, e.g. 60s [DRAIN_TIMEOUT=60s]     -u SECS wait for UP at most [UP_TIMEOUT=60]
#   -w SECS     wait for the TCP port at most [PORT_TIMEOUT=60] -P      do not wait for the TCP port
# LBCTL is the lbctl command to use (default: lbctl).

set -euo pipefail

DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-60s}
UP_TIMEOUT=${UP_TIMEOUT:-60}
PORT_TIMEOUT=${PORT_TIMEOUT:-60}
RESTART_CMD=${RESTART_CMD:-}
WAIT_PORT=1
read -r -a LBCTL_CMD <<< "${LBCTL:-lbctl}"

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

log() { printf '%s rolling-deploy: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
lbctl() { "${LBCTL_CMD[@]}" "$@"; }

while getopts "S:r:t:u:w:Ph" opt; do
    case $opt in
        S) export LBCTL_SOCKET=$OPTARG ;;
        r) RESTART_CMD=$OPTARG ;;
        t) DRAIN_TIMEOUT=$OPTARG ;;
        u) UP_TIMEOUT=$OPTARG ;;
        w) PORT_TIMEOUT=$OPTARG ;;
        P) WAIT_PORT=0 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
[ -n "$RESTART_CMD" ] || { log "no restart command (-r or RESTART_CMD)"; usage; }
BACKEND=$1
shift

# "show servers state <backend>": be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port (19th)
STATE=$(lbctl --raw -c "show servers state $BACKEND") || fail "cannot read the servers of $BACKEND"
server_field() {  # server_field <server> <column number>
    awk -v s="$1" -v f="$2" 'NR > 2 && $4 == s { print $f; exit }' <<< "$STATE"
}
if [ $# -gt 0 ]; then
    SERVERS=("$@")
else
    read -r -a SERVERS <<< "$(awk 'NR > 2 { printf "%s ", $4 }' <<< "$STATE")"
fi
[ ${#SERVERS[@]} -gt 0 ] || fail "backend $BACKEND has no servers"

# the status column of every server of the backend, from "show stat <backend> 4 -1"
statuses() {
    lbctl --raw -c "show stat $BACKEND 4 -1" | awk -F, '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") col = i; next }
        col && $2 != "" { print $2 "\t" $col }'
}

status_of() { statuses | awk -F'\t' -v s="$1" '$1 == s { print $2 }'; }

another_up() {  # another_up <server>: is some other server of the backend up?
    statuses | awk -F'\t' -v s="$1" '$1 != s && ($2 ~ /^UP/ || $2 == "no check") { found = 1 } END { exit !found }'
}

wait_port() {  # wait_port <addr> <port> <seconds>
    local deadline=$((SECONDS + $3))
    until (exec 3<>"/dev/tcp/$1/$2") 2> /dev/null; do
        [ $SECONDS -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

wait_up() {  # wait_up <server> <seconds>
    local deadline=$((SECONDS + $2)) status
    while :; do
        status=$(status_of "$1")
        case $status in
            UP | "no check") return 0 ;;
        esac
        [ $SECONDS -lt "$deadline" ] || { log "$BACKEND/$1 is '$status'"; return 1; }
        sleep 0.2
    done
}

for SERVER in "${SERVERS[@]}"; do
    admin_state=$(server_field "$SERVER" 7)
    [ -n "$admin_state" ] || fail "no server $BACKEND/$SERVER"
    if (( admin_state & 0x23 )); then
        log "skipping $BACKEND/$SERVER: in maintenance"
        continue
    fi
    another_up "$SERVER" || fail "no other server of $BACKEND is UP: not draining $SERVER"
    SERVER_ADDR=$(server_field "$SERVER" 5)
    SERVER_PORT=$(server_field "$SERVER" 19)

    log "draining $BACKEND/$SERVER (timeout $DRAIN_TIMEOUT)"
    lbctl drain "$BACKEND/$SERVER" --timeout "$DRAIN_TIMEOUT" || fail "drain of $BACKEND/$SERVER"

    log "restarting $SERVER"
    BACKEND=$BACKEND SERVER=$SERVER SERVER_ADDR=$SERVER_ADDR SERVER_PORT=$SERVER_PORT \
        bash -c "${RESTART_CMD//%s/$SERVER}" || fail "restart command for $SERVER"

    if [ "$WAIT_PORT" = 1 ] && [ "$SERVER_ADDR" != "-" ] && [ "${SERVER_PORT:-0}" != 0 ]; then
        wait_port "$SERVER_ADDR" "$SERVER_PORT" "$PORT_TIMEOUT" \
            || fail "$SERVER ($SERVER_ADDR:$SERVER_PORT) does not accept connections"
    fi

    lbctl ready "$BACKEND/$SERVER" || fail "ready $BACKEND/$SERVER"
    wait_up "$SERVER" "$UP_TIMEOUT" || fail "$BACKEND/$SERVER did not come back UP"
    log "$BACKEND/$SERVER is UP"
done
log "done: ${SERVERS[*]}"
