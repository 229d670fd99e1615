#!/usr/bin/env bash
# Side by side: llama.cpp 34af94cd, ik_llama.cpp 8337e4cd (-rtr 1), moxing.
# pp512 once per engine, then tg128 in ROUNDS alternating rounds; THREADS (default 2).
# usage: [THREADS=2] [ROUNDS=3] [PP=1] D=DIR scripts/side_by_side.sh [names...]  (DIR/name.gguf, forged;
# LC / IK: the llama-bench binaries of the two reference builds)
D=${D:-models}
T=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
MOX=${MOX:-build/release/moxing}
LC=${LC:-llama-bench}
IK=${IK:-ik-llama-bench}
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(qwen2.5-0.5b-Q4_0 qwen2.5-0.5b-Q8_0 qwen2.5-0.5b-Q4_K_M llama-3.2-1b-Q4_0 llama-3.2-1b-Q8_0 llama-3.2-1b-Q4_K_M llama-3.2-1b-F16 llama-3.2-1b-BF16)
# moxing's row of a test, then (at two threads or more) its line of the threads' waiting
row() { grep CPU <<< "$2" | grep "$1" | tail -1; grep -E "^\| $1 \| " <<< "$2" | tail -1; }
val() { grep -E "$1" | tail -1 | sed -E 's/.*\| +([0-9.]+) ± .*/\1/'; }
for m in "${models[@]}"; do
  F=$D/$m.gguf
  if [ "${PP:-1}" = 1 ]; then
    a=$($LC -m $F -p 512 -n 0 -t $T -r 1 2>&1 | val pp512)
    b=$($IK -m $F -p 512 -n 0 -t $T -r 1 -rtr 1 2>&1 | val pp512)
    c=$($MOX bench -m $F -p 512 -n 0 -t $T -r 1 2>&1)
    echo "$m t=$T pp512 llama.cpp=$a ik=$b moxing: $(row pp512 "$c")"
  fi
  for r in $(seq $ROUNDS); do
    a=$($LC -m $F -p 0 -n 128 -t $T -r 1 2>&1 | val tg128)
    b=$($IK -m $F -p 0 -n 128 -t $T -r 1 -rtr 1 2>&1 | val tg128)
    c=$($MOX bench -m $F -p 0 -n 128 -t $T -r 1 2>&1)
    echo "$m t=$T tg128 round $r llama.cpp=$a ik=$b moxing: $(row tg128 "$c")"
  done
done
