"""The reference models of gradwell's performance work in PyTorch and JAX, trained on
Fashion-MNIST in memory for a fixed time; prints one JSON line like gradwell's
`compare-step` binary.

LSTM (PyTorch only) is gradwell's `Model::Lstm`: one synthetic batch of sequences of
LSTM_STEPS steps of LSTM_INPUT features (the same values as gradwell's `matrix`), an
nn.LSTM with LSTM_HIDDEN units, the last step, Linear to 10 classes, cross-entropy, SGD
lr 0.1 momentum 0.9; it reads no data.

Prints one JSON line: samples per second of wall time and of the process's CPU time
(`samples_per_cpu_sec`, comparable on a loaded machine at one thread), the batch over the
fastest single step (`samples_per_sec_fastest_step`, the step that ran while the core was
free; PyTorch only, JAX's steps return before they finish), peak RSS, loss.

usage: python frameworks.py <torch|jax> <M1|M2|M3|LSTM> <batch> <seconds> <threads> [data dir]
"""
import gzip
import json
import os
import resource
import struct
import sys
import time

import numpy as np


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(dir):
    x = idx(os.path.join(dir, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    y = idx(os.path.join(dir, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


LSTM_STEPS, LSTM_INPUT, LSTM_HIDDEN = 50, 32, 128


def synthetic(rows, cols):
    """gradwell_benches::matrix(rows, cols) mapped to [0, 1), as Workload::new feeds it."""
    i = np.arange(rows, dtype=np.uint64)[:, None]
    j = np.arange(cols, dtype=np.uint64)[None, :]
    h = ((i * np.uint64(2_654_435_761)) ^ (j * np.uint64(40_503))) % np.uint64(2001)
    return ((h.astype(np.float32) / 1000.0 - 1.0) + 1.0) * 0.5


def run_torch_lstm(batch, seconds, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    lstm = nn.LSTM(LSTM_INPUT, LSTM_HIDDEN, batch_first=True)
    head = nn.Linear(LSTM_HIDDEN, 10)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    xb = torch.from_numpy(synthetic(batch, LSTM_STEPS * LSTM_INPUT)).reshape(batch, LSTM_STEPS, LSTM_INPUT)
    yb = torch.tensor([(i * 7) % 10 for i in range(batch)])

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(xb)
        loss = loss_fn(head(out[:, -1]), yb)
        loss.backward()
        opt.step()
        return loss

    return timed(step, seconds, batch, lambda l: float(l.detach()))


def widths(model):
    return {"M1": [784, 128, 10], "M2": [784] + [256] * 8 + [10], "M3": [784, 1024, 1024, 10]}[model]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_torch(model, batch, seconds, threads, x, y):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    w = widths(model)
    layers = []
    for i in range(len(w) - 1):
        lin = nn.Linear(w[i], w[i + 1])
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        layers.append(lin)
        if i + 2 < len(w):
            if model == "M2":
                layers.append(nn.BatchNorm1d(w[i + 1]))
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    if model == "M2":
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    n = xt.shape[0]
    state = {"cursor": 0, "loss": 0.0}

    def step():
        c = state["cursor"]
        if c + batch > n:
            c = 0
        xb, yb = xt[c : c + batch], yt[c : c + batch]
        state["cursor"] = c + batch
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return timed(step, seconds, batch, lambda l: float(l.detach()))


def run_jax(model, batch, seconds, threads, x, y):
    import jax
    import jax.numpy as jnp

    w = widths(model)
    key = jax.random.PRNGKey(0)
    params = []
    for i in range(len(w) - 1):
        key, k = jax.random.split(key)
        layer = {"w": jax.random.normal(k, (w[i], w[i + 1]), jnp.float32) * np.sqrt(2.0 / w[i]), "b": jnp.zeros(w[i + 1], jnp.float32)}
        if model == "M2" and i + 2 < len(w):
            layer["g"] = jnp.ones(w[i + 1], jnp.float32)
            layer["beta"] = jnp.zeros(w[i + 1], jnp.float32)
        params.append(layer)

    def forward(p, xb):
        h = xb
        for i, layer in enumerate(p):
            h = h @ layer["w"] + layer["b"]
            if i + 1 < len(p):
                if "g" in layer:
                    mu = h.mean(0)
                    var = h.var(0)
                    h = (h - mu) / jnp.sqrt(var + 1e-5) * layer["g"] + layer["beta"]
                h = jax.nn.relu(h)
        return h

    def loss_fn(p, xb, yb):
        logits = forward(p, xb)
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(xb.shape[0]), yb])

    if model == "M2":
        lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
        opt_state = (jax.tree_util.tree_map(jnp.zeros_like, params), jax.tree_util.tree_map(jnp.zeros_like, params), 0)

        @jax.jit
        def update(p, s, xb, yb):
            m, v, t = s
            loss, g = jax.value_and_grad(loss_fn)(p, xb, yb)
            t = t + 1
            m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
            v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
            p = jax.tree_util.tree_map(
                lambda p, m, v: p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps), p, m, v
            )
            return p, (m, v, t), loss
    else:
        lr, mu = 0.1, 0.9
        opt_state = jax.tree_util.tree_map(jnp.zeros_like, params)

        @jax.jit
        def update(p, buf, xb, yb):
            loss, g = jax.value_and_grad(loss_fn)(p, xb, yb)
            buf = jax.tree_util.tree_map(lambda b, g: mu * b + g, buf, g)
            p = jax.tree_util.tree_map(lambda p, b: p - lr * b, p, buf)
            return p, buf, loss

    xj = jnp.asarray(x)
    yj = jnp.asarray(y)
    n = x.shape[0]
    state = {"cursor": 0, "p": params, "s": opt_state}

    def step():
        c = state["cursor"]
        if c + batch > n:
            c = 0
        state["cursor"] = c + batch
        state["p"], state["s"], loss = update(state["p"], state["s"], xj[c : c + batch], yj[c : c + batch])
        return loss

    return timed(step, seconds, batch, lambda l: float(l.block_until_ready()), synced=False)


def timed(step, seconds, batch, finish, synced=True):
    t0 = time.perf_counter()
    last = None
    while time.perf_counter() - t0 < seconds * 0.2:
        last = step()
    finish(last)
    rss_warm = peak_rss_mib()
    steps = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    fastest = float("inf")
    while time.perf_counter() - t0 < seconds:
        t = time.perf_counter()
        last = step()
        fastest = min(fastest, time.perf_counter() - t)
        steps += 1
    loss = finish(last)
    secs = time.perf_counter() - t0
    cpu_sps = steps * batch / (time.process_time() - c0)
    best = round(batch / fastest, 1) if synced else None
    return steps, steps * batch / secs, cpu_sps, best, rss_warm, loss


def main():
    fw, model, batch, seconds, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    data = sys.argv[6] if len(sys.argv) > 6 else "/usr/share/datasets/fashion-mnist"
    if model == "LSTM":
        if fw != "torch":
            sys.exit(f"the LSTM model is compared with PyTorch only, not {fw}")
        steps, sps, cpu_sps, best, rss_warm, loss = run_torch_lstm(batch, seconds, threads)
    else:
        x, y = load(data)
        run = {"torch": run_torch, "jax": run_jax}[fw]
        steps, sps, cpu_sps, best, rss_warm, loss = run(model, batch, seconds, threads, x, y)
    print(json.dumps({
        "framework": fw, "model": model, "batch": batch, "steps": steps, "samples_per_sec": round(sps, 1),
        "samples_per_cpu_sec": round(cpu_sps, 1), "samples_per_sec_fastest_step": best,
        "peak_rss_mib": round(peak_rss_mib(), 1), "peak_rss_after_warmup_mib": round(rss_warm, 1), "final_loss": round(loss, 4),
    }))


if __name__ == "__main__":
    main()
