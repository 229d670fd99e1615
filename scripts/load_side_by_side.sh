#!/usr/bin/env bash
# Serving under load: `moxing serve` and llama.cpp's `llama-server` on the same file, one
# after the other, each measured by scripts/load_bench.mjs (the client shares the cores).
# usage: F=model.gguf LS=path/to/llama-server [MOX=build/release/moxing] [THREADS=2]
#        [CLIENTS=1,4,16] [TOKENS=64] [PORT=8093] scripts/load_side_by_side.sh
# Both get 16 slots of 512 positions. The byte tokens of a forged vocabulary (ids 3..258)
# are banned for both: llama-server fails a stream whose text is not valid UTF-8, which
# random weights produce.
set -euo pipefail
F=${F:?model file}
LS=${LS:-llama-server}
MOX=${MOX:-build/release/moxing}
T=${THREADS:-2}
PORT=${PORT:-8093}
bias=$(python3 -c 'import json; print(json.dumps({"logit_bias": {str(i): -100 for i in range(3, 259)}}))')
wait_up() {  # port
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0
    sleep 0.5
  done
  echo "server did not come up" >&2
  return 1
}
measure() {  # name, port, then the server command
  local name=$1 port=$2
  shift 2
  "$@" >/tmp/load_side_by_side.$name.log 2>&1 &
  local pid=$!
  wait_up "$port"
  echo "## $name"
  node scripts/load_bench.mjs --url "http://127.0.0.1:$port" --clients "${CLIENTS:-1,4,16}" \
    --tokens "${TOKENS:-64}" --requests 1 --extra "$bias"
  kill $pid
  wait $pid 2>/dev/null || true
}
# Each server on its own port: the first one's may still be held (TIME_WAIT) when the second binds.
measure moxing "$PORT" "$MOX" serve -m "$F" --parallel 16 -t "$T" -c 512 --prefix-cache 0 --port "$PORT"
measure llama-server "$((PORT + 1))" "$LS" -m "$F" -np 16 -t "$T" -c 8192 --port "$((PORT + 1))"
