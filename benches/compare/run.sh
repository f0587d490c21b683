#!/usr/bin/env bash
# Compares gradwell with PyTorch (and JAX, if it installs) on the three reference models,
# on Fashion-MNIST in memory, at 1 and 2 threads, interleaving the frameworks' runs, and
# prints one table of samples/s, ratios and peak RSS (also written to results.md;
# results-lstm.md in the lstm mode).
#
# usage: benches/compare/run.sh [seconds per run] [repetitions]
#        benches/compare/run.sh lstm [seconds per run] [repetitions]
# Needs Debian's dataset-fashion-mnist (or FASHION_MNIST_DIR) and network access to PyPI.
# GRADWELL_KERNELS="avx2 portable" (any of avx512, avx2, portable) runs gradwell once per
# kernel path in each round, as columns gradwell-avx2, gradwell-portable, ...; unset, it
# runs on the processor's widest path as column gradwell.
# The `lstm` mode compares one training step of an LSTM instead (batch 64, 50 steps of 32
# features, 128 hidden units, the last step into Linear 10, SGD; Model::Lstm in
# benches/src/lib.rs) with PyTorch's, on a synthetic batch (no data set needed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
specs=("M1 64" "M1 256" "M2 128" "M3 256")
name=results
if [ "${1:-}" = lstm ]; then
  name=results-lstm
  specs=("LSTM 64")
  shift
fi
root="$(cd "$here/../.." && pwd)"
secs="${1:-8}"
reps="${2:-3}"
data="${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q numpy torch
  "$venv/bin/pip" install -q jax || echo "JAX did not install; comparing with PyTorch only" >&2
fi
frameworks="torch"
[ "$name" = results ] && "$venv/bin/python" -c "import jax" 2>/dev/null && frameworks="torch jax"

(cd "$root" && cargo build -q --release -p gradwell-benches --bin compare-step)
bin="$root/target/release/compare-step"

out="$here/$name.jsonl"
: > "$out"
for threads in 1 2; do
  cpus=$([ "$threads" = 1 ] && echo 0 || echo 0-1)
  for spec in "${specs[@]}"; do
    set -- $spec
    for rep in $(seq "$reps"); do
      for kernel in ${GRADWELL_KERNELS:-default}; do
        label=$([ "$kernel" = default ] && echo gradwell || echo "gradwell-$kernel")
        env $([ "$kernel" = default ] || echo "GRADWELL_KERNEL=$kernel") MATMUL_NUM_THREADS=$threads \
          taskset -c "$cpus" "$bin" "$1" "$2" "$secs" "$data" \
          | sed -e "s/}$/,\"threads\":$threads}/" -e "s/\"framework\":\"gradwell\"/\"framework\":\"$label\"/" >> "$out"
      done
      for fw in $frameworks; do
        OMP_NUM_THREADS=$threads XLA_FLAGS="--xla_cpu_multi_thread_eigen=$([ "$threads" = 1 ] && echo false || echo true) intra_op_parallelism_threads=$threads" \
          taskset -c "$cpus" "$venv/bin/python" "$here/frameworks.py" "$fw" "$1" "$2" "$secs" "$threads" "$data" \
          | sed "s/}$/, \"threads\": $threads}/" >> "$out" || echo "$fw $spec failed" >&2
      done
    done
  done
done
"$venv/bin/python" "$here/table.py" "$out" | tee "$here/$name.md"
