#!/usr/bin/env bash
# Start an example config with its demo backends:
#   examples/demo.sh [l7-site|mysql-read|redis|static-hash|api-gateway|https-site]
# The load balancer runs in the foreground; Ctrl-C (or SIGTERM) stops it and the demo backends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
example=${1:-l7-site}
py=${PYTHON:-python3}
cd "$here/.."  # relative paths in the configs (api-gateway's map file) are from the repository root
case "$example" in
  l7-site)     servers="http:web1:127.0.0.1:8081 http:web2:127.0.0.1:8082 http:api1:127.0.0.1:8091 http:api2:127.0.0.1:8092"
               hint="curl -s http://127.0.0.1:8080/   (repeat: web1/web2 alternate);  curl -s http://127.0.0.1:8080/api/x
        stats page: http://127.0.0.1:8404/stats   (;csv for the CSV)" ;;
  mysql-read)  servers="mysql:db1:127.0.0.1:3317 mysql:db2:127.0.0.1:3318 mysql:db3:127.0.0.1:3319"
               hint="echo hi | socat - TCP:127.0.0.1:3306" ;;
  redis)       servers="redis:r1:127.0.0.1:6391 redis:r2:127.0.0.1:6392"
               hint="printf 'PING\r\nGET k\r\nQUIT\r\n' | socat - TCP:127.0.0.1:6379" ;;
  static-hash) servers="http:cache1:127.0.0.1:8101 http:cache2:127.0.0.1:8102 http:cache3:127.0.0.1:8103"
               hint="curl -s http://127.0.0.1:8090/img/logo.png   (the same URI always hits the same cache)" ;;
  api-gateway) servers="http:users1:127.0.0.1:8111 http:users2:127.0.0.1:8112 http:orders1:127.0.0.1:8121 http:orders2:127.0.0.1:8122"
               hint="curl -s -H 'X-Api-Key: k-demo-0001' http://127.0.0.1:8100/api/v1/users/42   (no key: 401; over 10 req/10s: 429)
        per-client counters: echo 'show table api' | socat stdio /tmp/trio-lb-api.sock;  metrics: http://127.0.0.1:8405/metrics" ;;
  https-site)  servers="http:web1:127.0.0.1:8081 http:web2:127.0.0.1:8082"
               [ -f "$here/certs/www.example.test.pem" ] || "$here/make-cert.sh" "$here/certs"
               hint="curl -k --resolve www.example.test:8443:127.0.0.1 https://www.example.test:8443/   (http://127.0.0.1:8088/ redirects)" ;;
  *) echo "usage: $0 [l7-site|mysql-read|redis|static-hash|api-gateway|https-site]" >&2; exit 2 ;;
esac
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM
# shellcheck disable=SC2086
"$py" "$here/demo_backends.py" --print-ready $servers &
pids+=($!)
"$py" -m trio_lb -f "$here/$example.cfg" &
pids+=($!)
echo "demo backends and trio-lb started (pids ${pids[*]})"
sock=$(awk '/stats socket/ {print $3; exit}' "$here/$example.cfg")
echo "try:    $hint"
echo "admin:  echo 'show stat' | socat stdio $sock      (also: show info, help)"
wait "${pids[1]}"
