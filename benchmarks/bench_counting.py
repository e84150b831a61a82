"""Benchmark: counting the zoo on the meta device, the code before op-level counting and now.

Op-level counting (every aten operation seen by a dispatch mode, commit 5cd9482) made counting
4-6x slower, because it also removed the cloning of modules that made building a model on
``meta`` fast. This script measures both trees in the same run: the tree before that commit
(``--before``, checked out with ``git worktree add`` under /tmp) and this one, each in fresh
subprocesses with its tree first on ``PYTHONPATH``, alternating, and keeps each figure's
minimum over the rounds (the machine is shared: a minimum is the least disturbed run).

Figures, per tree: the whole zoo's first pass after ``import cnnlib`` (building every model
on meta, the first count paying for torch's lazy set-up), the zoo counted again (warm), one
count of each model (the minimum of ``--repeat``), and the peak memory of the first pass above
a bare ``import torch``. Then, for this tree, ``FlopCounterMode`` on each model built with real
weights on the CPU, and how many times slower that is than counting on meta.

Targets: the warm zoo under 0.6 s and ResNet-50 under 10 ms; the first pass under 1.5 s; peak
memory within 100 MB of ``import torch``; ResNet-50 and VGG-16 counted at least 10x faster
than ``FlopCounterMode`` with real weights.

    python benchmarks/bench_counting.py [--before REV] [--rounds 3] [--models alexnet,vgg16] [--no-real]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "5cd9482^"   # the tree before op-level counting arrived

#: Run in a fresh process with one tree first on PYTHONPATH; prints one JSON object.
CHILD = r"""
import json, sys, time
args = json.loads(sys.argv[1])

def rss_kb(field="VmRSS"):
    with open("/proc/self/status") as f:
        return int(f.read().split(field + ":")[1].split()[0])

import torch
torch.set_num_threads(2)
bare = rss_kb()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")   # the peak (VmHWM) starts again from here
import cnnlib
known = cnnlib.list_models()
names = [n for n in args["models"] if n in known] if args["models"] else known
start = time.perf_counter()
cnnlib.count_costs("lenet5")
first_count = time.perf_counter() - start
for name in names:
    cnnlib.count_costs(name)
first_pass = time.perf_counter() - start
peak_mb = (rss_kb("VmHWM") - bare) / 1024
warm = []
for _ in range(args["passes"]):
    t = time.perf_counter()
    for name in names:
        cnnlib.count_costs(name)
    warm.append(time.perf_counter() - t)
per_model = {}
for name in names:
    times = []
    for _ in range(args["repeat"]):
        t = time.perf_counter()
        cnnlib.count_costs(name)
        times.append(time.perf_counter() - t)
    per_model[name] = min(times)
print(json.dumps(dict(file=cnnlib.__file__, names=names, first_count=first_count, first_pass=first_pass,
                      warm=min(warm), peak_mb=peak_mb, per_model=per_model)))
"""


def measure(tree: Path, models: list[str], passes: int, repeat: int) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(dict(models=models, passes=passes,
                                                                        repeat=repeat))],
                         env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["file"].startswith(str(tree)):
        raise SystemExit(f"the child imported {result['file']}, not the tree under {tree}")
    return result


def fold(runs: list[dict]) -> dict:
    """Each figure's minimum over the rounds."""
    best = dict(runs[0])
    for run in runs[1:]:
        for key in ("first_count", "first_pass", "warm", "peak_mb"):
            best[key] = min(best[key], run[key])
        best["per_model"] = {n: min(t, run["per_model"][n]) for n, t in best["per_model"].items()}
    return best


def flop_counter_seconds(names: list[str]) -> dict[str, float]:
    """``FlopCounterMode`` on each model with real weights on the CPU (build and forward), best of 3."""
    import time

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import cnnlib

    torch.set_num_threads(2)
    with FlopCounterMode(display=False), torch.no_grad():   # torch's lazy set-up, not timed
        cnnlib.create_model("lenet5")(torch.zeros(1, 1, 32, 32))
    out = {}
    for name in names:
        size = cnnlib.model_info(name).input_size
        times = []
        for _ in range(3):
            t = time.perf_counter()
            model = cnnlib.create_model(name).eval()
            with FlopCounterMode(display=False), torch.no_grad():
                model(torch.zeros(1, *size))
            times.append(time.perf_counter() - t)
            del model
        out[name] = min(times)
    return out


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default=BEFORE, help=f"git revision of the older tree (default {BEFORE})")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each tree (default 3)")
    ap.add_argument("--passes", type=int, default=3, help="warm passes over the zoo per run (default 3)")
    ap.add_argument("--repeat", type=int, default=7, help="counts of each model per run (default 7)")
    ap.add_argument("--models", help="comma-separated names (default: the zoo both trees have)")
    ap.add_argument("--no-real", action="store_true", help="skip FlopCounterMode on real weights")
    args = ap.parse_args()
    models = args.models.split(",") if args.models else []

    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.before], check=True,
                         capture_output=True, text=True).stdout.strip()
    before_tree = Path(tempfile.gettempdir()) / f"cnnlib-before-{sha}"
    made = not before_tree.exists()
    if made:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before_tree), sha],
                       check=True, capture_output=True)
    print(f"load average before: {load()}")
    try:
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            runs["before"].append(measure(before_tree, models, args.passes, args.repeat))
            runs["after"].append(measure(ROOT, models, args.passes, args.repeat))
    finally:
        if made:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before_tree)],
                           capture_output=True)
    before, after = fold(runs["before"]), fold(runs["after"])
    names = [n for n in after["names"] if n in before["per_model"]]
    real = {} if args.no_real else flop_counter_seconds(names)

    print(f"before: {args.before} ({sha}); after: this tree. Minimum of {args.rounds} alternating "
          f"runs each, wall clock, {len(names)} models both trees have.\n")
    header = f"{'model':24s} {'before':>10s} {'after':>10s} {'speed-up':>9s}"
    if real:
        header += f" {'real FlopCounterMode':>21s} {'vs after':>9s}"
    print(header)
    for name in names:
        b, a = before["per_model"][name], after["per_model"][name]
        line = f"{name:24s} {b * 1e3:8.2f}ms {a * 1e3:8.2f}ms {b / a:8.1f}x"
        if real:
            line += f" {real[name] * 1e3:19.1f}ms {real[name] / a:8.0f}x"
        print(line)
    zoo_b = sum(before["per_model"][n] for n in names)
    zoo_a = sum(after["per_model"][n] for n in names)
    print()
    print(f"{'':36s} {'before':>10s} {'after':>10s}   target")
    rows = [
        ("whole zoo, counted again (warm)", before["warm"], after["warm"], "< 0.6 s"),
        ("whole zoo, sum of each model's best", zoo_b, zoo_a, ""),
        ("whole zoo, first pass after import", before["first_pass"], after["first_pass"], "< 1.5 s"),
        ("  of which the first count (lenet5)", before["first_count"], after["first_count"], ""),
    ]
    for label, b, a, target in rows:
        print(f"{label:36s} {b:9.3f}s {a:9.3f}s   {target}")
    if "resnet50" in names:
        print(f"{'ResNet-50, one count':36s} {before['per_model']['resnet50'] * 1e3:8.2f}ms "
              f"{after['per_model']['resnet50'] * 1e3:8.2f}ms   < 10 ms")
    print(f"{'peak memory of the first pass':36s} {before['peak_mb']:8.0f}MB {after['peak_mb']:8.0f}MB   "
          "< 100 MB above `import torch`")
    for name in ("resnet50", "vgg16"):
        if name in real:
            print(f"{name} counted on meta {real[name] / after['per_model'][name]:.0f}x faster than "
                  "FlopCounterMode on real weights (target >= 10x)")
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
