#!/usr/bin/env bash
# Times `moxing pull` against `curl -o` downloading the same file from a fake hub on loopback
# (build/release/fake_hub_server), alternating, several rounds; prints both rates and the ratio.
# moxing does more per byte (SHA-256 while writing, the cache layout), so the ratio says what
# that costs. Needs the release build of moxing and fake_hub_server.
#   scripts/pull_vs_curl.sh [MiB=1024] [rounds=3] [RATE]
# RATE (MiB/s) makes the server a link of that speed (e.g. 1192 for 10 Gbit/s): on loopback
# without it, both clients share two cores with the server and moxing's SHA-256 is the limit.
set -euo pipefail
mib=${1:-1024}
rounds=${2:-3}
rate=${3:-0}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release
[ -x "$bin/moxing" ] && [ -x "$bin/fake_hub_server" ] || {
  echo "build first: cmake --build --preset release --target moxing fake_hub_server" >&2
  exit 2
}
work=$(mktemp -d "${TMPDIR:-/tmp}/pull_vs_curl.XXXXXX")
"$bin/fake_hub_server" "$mib" "$rate" > "$work/server.txt" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q sha256 "$work/server.txt" 2>/dev/null && break; sleep 0.2; done
endpoint=$(awk '$1 == "endpoint" {print $2}' "$work/server.txt")
repo=$(awk '$1 == "repo" {print $2}' "$work/server.txt")
sha=$(awk '$1 == "sha256" {print $2}' "$work/server.txt")
url="$endpoint/${repo%%:*}/resolve/main/big-Q8_0.gguf"  # the hub URL; both follow its redirect

now() { date +%s.%N; }
curl_total=0
moxing_total=0
run_curl() {
  local t0 t1
  t0=$(now)
  curl -sSfL -o "$work/curl.bin" "$url"
  t1=$(now)
  rm -f "$work/curl.bin"
  curl_total=$(echo "$curl_total + $t1 - $t0" | bc -l)
  printf '  curl   %6.2f s\n' "$(echo "$t1 - $t0" | bc -l)"
}
run_moxing() {
  local t0 t1
  t0=$(now)
  HF_HOME="$work/hf" HF_ENDPOINT="$endpoint" "$bin/moxing" -q pull "$repo" > /dev/null
  t1=$(now)
  rm -rf "$work/hf"
  moxing_total=$(echo "$moxing_total + $t1 - $t0" | bc -l)
  printf '  moxing %6.2f s\n' "$(echo "$t1 - $t0" | bc -l)"
}

echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; file ${mib} MiB, server $([ "$rate" = 0 ] && echo unpaced || echo "paced at $rate MiB/s"), sha256 ${sha:0:12}…"
for r in $(seq "$rounds"); do
  echo "round $r"
  if [ $((r % 2)) -eq 1 ]; then run_curl; run_moxing; else run_moxing; run_curl; fi
done
bytes=$((mib * 1048576 * rounds))
curl_rate=$(echo "$bytes / $curl_total / 1048576" | bc -l)
moxing_rate=$(echo "$bytes / $moxing_total / 1048576" | bc -l)
printf 'curl   %8.1f MiB/s\nmoxing %8.1f MiB/s (sha256 checked, HF cache layout)\nmoxing/curl %.2f\n' \
  "$curl_rate" "$moxing_rate" "$(echo "$moxing_rate / $curl_rate" | bc -l)"
