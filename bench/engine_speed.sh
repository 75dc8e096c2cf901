#!/usr/bin/env bash
# Engine speed (issue #2): wall time of `rl4seg show` / `rl4seg plan` on the built-in `adapt`
# pipeline, and of composing + planning a generated 200-node pipeline of toy nodes (a chain of
# `add` nodes, each reading the previous node and one of the first nodes, with overrides).
# Median of 20 runs of the whole process, cached binary. Usage:
#   bash bench/engine_speed.sh [target/release]     (default target/release; build it first:
#   cargo build --release -p nodes -p engine)
set -euo pipefail
bin_dir="$(cd "${1:-target/release}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

{
  echo '[nodes.n0]'
  echo 'kind = "const"'
  echo 'values = [1.0, 2.0, 3.0]'
  for i in $(seq 1 199); do
    echo
    echo "[nodes.n$i]"
    echo 'kind = "add"'
    echo "inputs = { a = \"n$((i - 1))\", b = \"n$((i / 2))\" }"
    echo "offset = $i.0"
  done
} > p200.toml
# n_i reads n_(i/2) as b; for i = 1 that is n0 as well, which is fine (a DAG with fan-out).

median_ms() {
  local times=()
  for _ in $(seq 20); do
    local s e
    s=$(date +%s%N)
    "$@" > /dev/null 2>&1
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f ms\n", a[int((NR+1)/2)]/1000}'
}

export RL4SEG_CACHE="$work/cache"
echo "rl4seg show adapt:                $(median_ms "$bin_dir/rl4seg" show adapt)"
echo "rl4seg plan adapt:                $(median_ms "$bin_dir/rl4seg" plan adapt)"
echo "rl4seg plan adapt (overrides):    $(median_ms "$bin_dir/rl4seg" plan adapt iterations=4 tta=false seed=3)"
echo "rl4seg-toy plan p200.toml:        $(median_ms "$bin_dir/rl4seg-toy" plan ./p200.toml)"
"$bin_dir/rl4seg-toy" plan ./p200.toml | tail -3
