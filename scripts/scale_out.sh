#!/usr/bin/env bash
# scale_out.sh: N `moxing serve` replicas behind HAProxy, round robin against prefix affinity.
#
# For each configuration in ORDER (default: roundrobin affinity roundrobin affinity) it starts
# fresh replicas (cold prefix caches), starts HAProxy with scripts/scale_out/haproxy-CONFIG.cfg.in,
# runs scripts/load_bench.mjs in conversation mode through it (tenants with long shared system
# prompts, multi-turn conversations) reading every replica's /metrics before and after, and stops
# everything again. Results: one JSON and one table per run in OUT, and a summary table on stdout.
#
# Usage: MODEL=path/to/model.gguf scripts/scale_out.sh
# Environment (defaults in brackets):
#   MOXING [build/release/moxing]  MODEL (required)  REPLICAS [3]  BASE_PORT [18081]
#   LB_PORT [18080]  THREADS [1] (per replica)  PARALLEL [2]  PREFIX_CACHE [32768]
#   CTX [2048] (per sequence)  ORDER [roundrobin affinity roundrobin affinity]
#   PREFIX_BYTES [512] (affinity: how much of the body is hashed)
#   CLIENTS [6]  TENANTS [6]  SYSTEM_TOKENS [800]  CONVERSATIONS [18]  TURNS [4]
#   USER_TOKENS [30]  TOKENS [16] (max_tokens)  OUT [/tmp/moxing-scale-out]
# Needs haproxy (2.6 or newer: `balance hash`), node 20+ and curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
MOXING="${MOXING:-$here/../build/release/moxing}"
: "${MODEL:?set MODEL to a .gguf file}"
REPLICAS="${REPLICAS:-3}"
BASE_PORT="${BASE_PORT:-18081}"
LB_PORT="${LB_PORT:-18080}"
THREADS="${THREADS:-1}"
PARALLEL="${PARALLEL:-2}"
PREFIX_CACHE="${PREFIX_CACHE:-32768}"
CTX="${CTX:-2048}"
ORDER="${ORDER:-roundrobin affinity roundrobin affinity}"
PREFIX_BYTES="${PREFIX_BYTES:-512}"
CLIENTS="${CLIENTS:-6}"
TENANTS="${TENANTS:-6}"
SYSTEM_TOKENS="${SYSTEM_TOKENS:-800}"
CONVERSATIONS="${CONVERSATIONS:-18}"
TURNS="${TURNS:-4}"
USER_TOKENS="${USER_TOKENS:-30}"
TOKENS="${TOKENS:-16}"
OUT="${OUT:-/tmp/moxing-scale-out}"
mkdir -p "$OUT"

pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

wait_http() { # URL PID
  for _ in $(seq 1 300); do
    curl -sf "$1" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "process $2 exited before $1 answered" >&2; return 1; }
    sleep 0.2
  done
  echo "$1 did not answer in 60 s" >&2
  return 1
}

echo "binary: $MOXING ($("$MOXING" --version 2>/dev/null | head -1 || true)); model: $MODEL"
echo "$REPLICAS replicas x (-t $THREADS --parallel $PARALLEL --prefix-cache $PREFIX_CACHE -c $CTX); $(nproc) CPUs"
echo "load: $CLIENTS clients, $TENANTS tenants x ~$SYSTEM_TOKENS-token system prompts, $CONVERSATIONS conversations x $TURNS turns, max_tokens $TOKENS"
summary="$OUT/summary.md"
: >"$summary"
run=0
for config in $ORDER; do
  run=$((run + 1))
  template="$here/scale_out/haproxy-$config.cfg.in"
  [ -f "$template" ] || { echo "no $template" >&2; exit 2; }
  servers="" metrics=""
  for i in $(seq 1 "$REPLICAS"); do
    port=$((BASE_PORT + i - 1))
    "$MOXING" serve -m "$MODEL" --port "$port" -t "$THREADS" --parallel "$PARALLEL" --prefix-cache "$PREFIX_CACHE" \
      -c "$CTX" >"$OUT/run$run-replica$i.log" 2>&1 &
    pids+=($!)
    servers+="    server r$i 127.0.0.1:$port check"$'\n'
    metrics+="${metrics:+,}http://127.0.0.1:$port"
  done
  sed -e "s/@PORT@/$LB_PORT/" -e "s/@PREFIX_BYTES@/$PREFIX_BYTES/" "$template" |
    awk -v servers="$servers" '$0 == "@SERVERS@" { printf "%s", servers; next } { print }' >"$OUT/run$run-haproxy.cfg"
  for i in $(seq 1 "$REPLICAS"); do wait_http "http://127.0.0.1:$((BASE_PORT + i - 1))/health" "${pids[$((i - 1))]}"; done
  haproxy -db -f "$OUT/run$run-haproxy.cfg" >"$OUT/run$run-haproxy.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$LB_PORT/health" "${pids[-1]}"

  echo "run $run: $config; load before: $(uptime)"
  node "$here/load_bench.mjs" --url "http://127.0.0.1:$LB_PORT" --metrics "$metrics" --clients "$CLIENTS" \
    --tenants "$TENANTS" --system-tokens "$SYSTEM_TOKENS" --conversations "$CONVERSATIONS" --turns "$TURNS" \
    --user-tokens "$USER_TOKENS" --tokens "$TOKENS" --json >"$OUT/run$run-$config.json" 2>"$OUT/run$run-$config.log" ||
    { cat "$OUT/run$run-$config.log" >&2; exit 1; }
  echo "run $run: $config; load after:  $(uptime)"
  node -e '
    const [file, run, config] = process.argv.slice(1);
    const r = JSON.parse(require("fs").readFileSync(file, "utf8"))[0];
    const f = (x, d = 1) => (x == null ? "-" : x.toFixed(d));
    const pct = (x) => (x == null ? "-" : (100 * x).toFixed(1) + "%");
    console.log(`| ${run} | ${config} | ${r.requests} | ${r.failed} | ${f(r.wall_s, 1)} | ${f(r.requests_per_s, 3)} | ` +
      `${f(r.agg_tok_s, 2)} | ${f(r.prompt_tok_s, 0)} | ${f(r.ttft_p50_ms, 0)} | ${f(r.ttft_p95_ms, 0)} | ${f(r.ttft_p99_ms, 0)} | ` +
      `${pct(r.fleet_cache?.hit_ratio)} | ${r.fleet_cache?.per_server.map((s) => s.prompt).join(" / ") ?? "-"} |`);
  ' "$OUT/run$run-$config.json" "$run" "$config" | tee -a "$summary"
  stop_all
done

echo
echo "| run | balance | requests | failed | wall s | req/s | gen tok/s | prompt tok/s | TTFT p50 ms | TTFT p95 ms | TTFT p99 ms | fleet prefix-cache hit ratio | prompt tokens per replica |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
cat "$summary"
