#!/usr/bin/env bash
# soak.sh: start one `moxing serve`, run scripts/soak.mjs against it, stop the server.
#
# Usage: scripts/soak.sh [--minutes 20] [other soak.mjs flags]
# Environment: MOXING (binary, default build/release/moxing), MODEL (default
# ../shared/models/stories260K.gguf), PORT (default 18180), PARALLEL (default 4),
# THREADS (default 2), OUT (directory for the server log and the JSON result, default
# /tmp/moxing-soak). Exit code: soak.mjs's (0 PASS, 1 FAIL).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
MOXING="${MOXING:-$here/../build/release/moxing}"
MODEL="${MODEL:-$here/../../shared/models/stories260K.gguf}"
PORT="${PORT:-18180}"
PARALLEL="${PARALLEL:-4}"
THREADS="${THREADS:-2}"
OUT="${OUT:-/tmp/moxing-soak}"
mkdir -p "$OUT"

"$MOXING" serve -m "$MODEL" --port "$PORT" --parallel "$PARALLEL" -t "$THREADS" >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 "$server" || { cat "$OUT/server.log"; exit 1; }
  sleep 0.2
done

echo "binary: $MOXING ($("$MOXING" --version 2>/dev/null | head -1 || true)); model: $MODEL; --parallel $PARALLEL -t $THREADS"
echo "load before: $(uptime)"
status=0
node "$here/soak.mjs" --url "http://127.0.0.1:$PORT" --pid "$server" --json "$OUT/soak.json" "$@" || status=$?
echo "load after:  $(uptime)"
exit "$status"
