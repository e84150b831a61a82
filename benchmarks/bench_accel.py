"""Benchmark: how fast ``cnnlib.accel.estimate`` runs once a model's layers are counted.

The accelerator model is arithmetic on layer shapes, so a design-space or architecture search
can call it in its inner loop. This prints, for each hardware preset, the milliseconds one
estimate of a model takes from its :class:`cnnlib.CostReport` (counting happens once, before
the clock starts), and how many estimates that makes per second; then the same for single
layers, the unit a mapping search works with.

Target (set when the accelerator model was written, so that a search can call it in its inner
loop): the whole of ResNet-50 in under 20 ms after counting.

    python benchmarks/bench_accel.py [--model resnet50] [--repeat 200]
"""

from __future__ import annotations

import argparse
import time


def best_time(fn, repeat: int) -> float:
    """Best of ``repeat`` single calls, in seconds (the least disturbed run)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()

    import cnnlib
    from cnnlib import accel

    t = time.perf_counter()
    report = cnnlib.count_costs(args.model)
    count_s = time.perf_counter() - t
    layers = accel.layers_of(report)
    array_layers = [layer for layer in layers if layer.on_array]
    print(f"{args.model}: {len(report.layers)} rows ({len(array_layers)} on the array), "
          f"{report.macs / 1e9:.2f} GMACs; counted once in {count_s * 1e3:.0f} ms\n")
    print(f"{'hardware':12s} {'estimate':>10s} {'per second':>11s} {'per layer':>10s} "
          f"{'layers/s':>10s}")
    worst = 0.0
    for name in accel.PRESETS:
        hw = accel.hardware(name)
        accel.estimate(report, hw)  # warm up
        whole = best_time(lambda hw=hw: accel.estimate(report, hw), args.repeat)
        worst = max(worst, whole)
        one = best_time(lambda hw=hw: [accel.estimate_layer(x, hw) for x in array_layers],
                        max(1, args.repeat // 4)) / len(array_layers)
        print(f"{name:12s} {whole * 1e3:8.2f}ms {1 / whole:10.0f}/s {one * 1e6:8.1f}us {1 / one:9.0f}/s")
    verdict = "meets" if worst < 0.020 else "MISSES"
    print(f"\nslowest whole-model estimate: {worst * 1e3:.2f} ms ({verdict} the 20 ms target)")


if __name__ == "__main__":
    main()
