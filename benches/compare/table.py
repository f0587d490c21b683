"""Summarizes results.jsonl (one JSON line per run) as a Markdown table of medians."""
import json
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
rss = defaultdict(list)
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    key = (r["model"], r["batch"], r["threads"])
    runs[(key, r["framework"])].append(r["samples_per_sec"])
    rss[(key, r["framework"])].append(r["peak_rss_mib"])

keys = sorted({k for (k, _) in runs}, key=lambda k: (k[2], k[0], k[1]))
# gradwell's columns (one per kernel path when run.sh measured several), then the peers.
ours = sorted({fw for (_, fw) in runs if fw.startswith("gradwell")})
peers = [f for f in ["torch", "jax"] if any(fw == f for (_, fw) in runs)]
fws = ours + peers
head = "| model | batch | threads | " + " | ".join(f"{f} samples/s" for f in fws)
head += " | " + " | ".join(f"{o} / {p}" for o in ours for p in peers)
head += " | " + " | ".join(f"{f} peak RSS MiB" for f in fws) + " |"
print(head)
print("|" + "---|" * (head.count("|") - 1))
for k in keys:
    med = {f: statistics.median(runs[(k, f)]) for f in fws if (k, f) in runs}
    mem = {f: statistics.median(rss[(k, f)]) for f in fws if (k, f) in rss}
    row = f"| {k[0]} | {k[1]} | {k[2]} | " + " | ".join(f"{med[f]:,.0f}" if f in med else "-" for f in fws)
    row += " | " + " | ".join(f"{med[o] / med[p]:.2f}×" if o in med and p in med else "-" for o in ours for p in peers)
    row += " | " + " | ".join(f"{mem[f]:.0f}" if f in mem else "-" for f in fws) + " |"
    print(row)
