"""numpy (OpenBLAS) f32 matrix products at gradwell's reference shapes: prints one JSON
line per shape with GFLOP/s (median of repeated runs). Threads follow OPENBLAS_NUM_THREADS."""
import json
import sys
import time

import numpy as np

SHAPES = [(1024, 1024, 1024), (256, 784, 1024), (256, 1024, 1024), (256, 1024, 10), (64, 784, 128)]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = np.random.default_rng(0)
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        reps = max(3, min(400, int(2e8 / (m * k * n))))
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            for _ in range(reps):
                np.matmul(a, b, out=c)
            times.append((time.perf_counter() - t0) / reps)
        t = sorted(times)[len(times) // 2]
        print(json.dumps({"lib": "numpy-openblas", "threads": threads, "shape": f"{m}x{k}x{n}", "gflops": round(2 * m * k * n / t / 1e9, 1)}))


if __name__ == "__main__":
    main()
