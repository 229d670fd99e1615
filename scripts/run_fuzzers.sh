#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR; fails on the first crash.
#   run_fuzzers.sh BUILD_DIR [TOTAL_SECONDS]
# TOTAL_SECONDS (default 300) is the fuzzing budget of the whole run, split evenly across the
# targets (never under 10 s each), so a new target does not lengthen `make test`: with 12
# targets each gets 25 s, about 6 min of wall time with start-up and exit (~4 s a target).
# Seeds come from fuzz/corpus/<target>/, a dictionary from fuzz/corpus/<target>.dict when
# there is one. Run from the repository root (the request fuzzers read ../shared/templates).
set -euo pipefail
build_dir=$1
total=${2:-300}
corpus_root=$(mktemp -d)
trap 'rm -rf "$corpus_root"' EXIT
shopt -s nullglob
targets=()
for target in "$build_dir"/*_fuzz; do
  [ -x "$target" ] && targets+=("$target")
done
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz: no fuzz targets in $build_dir"; exit 1; }
seconds=$((total / ${#targets[@]}))
[ "$seconds" -ge 10 ] || seconds=10
echo "fuzz: ${#targets[@]} targets, ${seconds}s each (${total}s in all)"
for target in "${targets[@]}"; do
  name=$(basename "$target")
  mkdir -p "$corpus_root/$name"
  args=()
  [ -d "fuzz/corpus/$name" ] && args+=("fuzz/corpus/$name")
  dict=()
  [ -f "fuzz/corpus/$name.dict" ] && dict+=("-dict=fuzz/corpus/$name.dict")
  echo "fuzz: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 "${dict[@]}" \
    "$corpus_root/$name" "${args[@]}" 2>"$corpus_root/$name.log" \
    || { tail -n 60 "$corpus_root/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
  grep -E '^stat::number_of_executed_units' "$corpus_root/$name.log" || true
done
echo "fuzz: all targets passed"
