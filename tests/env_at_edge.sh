#!/usr/bin/env bash
# Library code reads no environment variable: only host/cli/ (the edge, which reads
# the environment once into ocl_options) may call getenv. Usage: env_at_edge.sh SOURCE_DIR
set -euo pipefail
S=${1:?usage: env_at_edge.sh SOURCE_DIR}
hits=$(grep -rnE '\b(secure_)?getenv\b|\benviron\b' "$S/host" | grep -v "^$S/host/cli/" || true)
if [ -n "$hits" ]; then
    echo "NOT OK: environment read below host/cli/:"
    echo "$hits"
    exit 1
fi
echo "OK: no environment read below host/cli/"
