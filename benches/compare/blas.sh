#!/usr/bin/env bash
# gradwell's matrix products against numpy's OpenBLAS at 1 and 2 threads (interleaved),
# f32, at 1024³ and at the reference models' shapes; prints a Markdown table (also written
# to blas.md). Uses the virtual environment run.sh creates. GRADWELL_KERNELS="avx2 portable"
# (any of avx512, avx2, portable) measures gradwell once per kernel path in each round.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q numpy; }
(cd "$root" && cargo build -q --release -p gradwell-benches --bin gemm-shapes)
out="$here/blas.jsonl"
: > "$out"
for rep in 1 2 3; do
  for threads in 1 2; do
    cpus=$([ "$threads" = 1 ] && echo 0 || echo 0-1)
    for kernel in ${GRADWELL_KERNELS:-default}; do
      label=$([ "$kernel" = default ] && echo gradwell || echo "gradwell-$kernel")
      env $([ "$kernel" = default ] || echo "GRADWELL_KERNEL=$kernel") GRADWELL_NUM_THREADS=$threads \
        taskset -c "$cpus" "$root/target/release/gemm-shapes" \
        | sed "s/\"lib\": *\"gradwell\"/\"lib\":\"$label\"/" >> "$out"
    done
    OPENBLAS_NUM_THREADS=$threads taskset -c "$cpus" "$venv/bin/python" "$here/blas.py" "$threads" >> "$out"
  done
done
"$venv/bin/python" - "$out" <<'PY' | tee "$here/blas.md"
import json, statistics, sys
from collections import defaultdict
g = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    g[(r["shape"], r["threads"], r["lib"])].append(r["gflops"])
ours = sorted({lib for (_, _, lib) in g if lib.startswith("gradwell")})
print("| shape | threads | " + " | ".join(f"{l} GFLOP/s" for l in ours) + " | OpenBLAS GFLOP/s | "
      + " | ".join(f"{l} / OpenBLAS" for l in ours) + " |")
print("|---|---|" + "---|" * (2 * len(ours) + 1))
for (shape, threads) in sorted({(s, t) for (s, t, _) in g}, key=lambda x: (x[1], x[0])):
    a = [statistics.median(g[(shape, threads, l)]) for l in ours]
    b = statistics.median(g[(shape, threads, "numpy-openblas")])
    print(f"| {shape} | {threads} | " + " | ".join(f"{x:.0f}" for x in a) + f" | {b:.0f} | "
          + " | ".join(f"{x / b:.2f}" for x in a) + " |")
PY
