#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each; fails on the first crash.
set -euo pipefail
build_dir=$1
seconds=${2:-60}
corpus_root=$(mktemp -d)
trap 'rm -rf "$corpus_root"' EXIT
shopt -s nullglob
found=0
for target in "$build_dir"/*_fuzz; do
  [ -x "$target" ] || continue
  found=1
  name=$(basename "$target")
  mkdir -p "$corpus_root/$name"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  echo "fuzz: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 \
    "$corpus_root/$name" "${seeds[@]}" 2>"$corpus_root/$name.log" \
    || { tail -n 60 "$corpus_root/$name.log"; echo "fuzz: $name FAILED"; exit 1; }
  grep -E '^stat::number_of_executed_units' "$corpus_root/$name.log" || true
done
[ "$found" -eq 1 ] || { echo "fuzz: no fuzz targets in $build_dir"; exit 1; }
echo "fuzz: all targets passed"
