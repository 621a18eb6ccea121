#!/usr/bin/env bash
# Make the self-signed certificates examples/https-site.cfg serves (HAProxy's PEM bundle: the
# certificate followed by its key, one file per site), into examples/certs/ unless given a folder.
#   examples/make-cert.sh [dir]
set -euo pipefail
dir=${1:-"$(cd "$(dirname "$0")" && pwd)/certs"}
mkdir -p "$dir"
for name in www.example.test api.example.test; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$name" \
    -addext "subjectAltName=DNS:$name" -keyout "$dir/$name.key" -out "$dir/$name.crt" 2>/dev/null
  cat "$dir/$name.crt" "$dir/$name.key" > "$dir/$name.pem"
  rm -f "$dir/$name.key" "$dir/$name.crt"
done
echo "certificates in $dir: $(cd "$dir" && ls ./*.pem | tr '\n' ' ')"
