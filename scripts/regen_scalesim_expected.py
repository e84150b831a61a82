"""Regenerate tests/data/accel/scalesim_cases.json by running the real SCALE-Sim v2.

cnnlib.accel reproduces SCALE-Sim's analytical compute model in closed form (see
cnnlib/accel/systolic.py). This script produces the reference values the tests compare it with:
it runs the ``scalesim`` package from PyPI on a grid of layer shapes x array sizes x dataflows
and stores cycles, utilisations and SRAM access counts. ``scalesim`` is never a dependency of
cnnlib: install it in a throwaway environment and run this script with that interpreter::

    python3 -m venv /tmp/scalesim-venv
    /tmp/scalesim-venv/bin/pip install scalesim==2.0.2
    /tmp/scalesim-venv/bin/python scripts/regen_scalesim_expected.py

The script imports neither torch nor cnnlib, so the throwaway environment needs nothing else.
``--check`` runs SCALE-Sim again and fails if the stored file differs (the slow test uses it).

SCALE-Sim runs in its "CALC" bandwidth mode (it sizes the DRAM interface so that the array
never stalls), so every reported cycle is a compute cycle; cnnlib models DRAM separately.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "accel" / "scalesim_cases.json"

# Layers in SCALE-Sim's topology columns. SCALE-Sim has no padding and sizes the output as
# ceil((H - R + stride) / stride); the JSON stores the resulting P and Q, which is how
# cnnlib describes the layer (accel.Layer(..., P=, Q=)).
#   name,            H,   W,   R,  S,  C,   M,   stride
LAYERS = [
    ("alexnet_conv1", 224, 224, 11, 11, 3, 96, 4),  # the published golden case
    ("conv3x3", 16, 16, 3, 3, 16, 32, 1),
    ("pointwise", 14, 14, 1, 1, 64, 128, 1),
    ("fc", 1, 1, 1, 1, 512, 100, 1),                # an FC layer: one output pixel
    ("conv5x5_s2", 19, 19, 5, 5, 8, 20, 2),
    ("rect", 12, 20, 3, 5, 6, 10, 1),               # R != S and H != W
    ("tiny", 8, 8, 1, 1, 4, 3, 1),                  # smaller than every array
    ("odd_stride3", 20, 20, 4, 4, 5, 7, 3),         # SCALE-Sim's ceil: P = 7 where PyTorch has 6
    # SCALE-Sim splits a layer whose name contains "DP" into one single-channel layer per
    # channel (topology_utils.load_arrays_conv): its own depth-wise mapping, G serial GEMMs.
    ("DP_depthwise", 10, 10, 3, 3, 8, 1, 1),
]
ARRAYS = [(32, 32), (8, 8), (16, 4), (12, 14)]
DATAFLOWS = ["ws", "os", "is"]
# SCALE-Sim builds its demand matrices by growing numpy arrays fold by fold, which is
# quadratic in the number of folds: AlexNet conv1 takes ~10 s on 32 x 32 for ws and os but
# hours for is or on 8 x 8. It runs only where it is quick.
ONLY_ON = {"alexnet_conv1": {(32, 32, "ws"), (32, 32, "os")}}


def layers_for(rows: int, cols: int, dataflow: str) -> list[tuple]:
    return [layer for layer in LAYERS
            if layer[0] not in ONLY_ON or (rows, cols, dataflow) in ONLY_ON[layer[0]]]

CONFIG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   64
FilterSramSzkB:  64
OfmapSramSzkB:   64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow}
MemoryBanks:   1

[run_presets]
InterfaceBandwidth: CALC
"""


def ofmap_size(H: int, R: int, stride: int) -> int:
    return math.ceil((H - R + stride) / stride)


def _rows(path: Path) -> list[list[str]]:
    with path.open() as f:
        rows = [[c.strip() for c in r] for r in csv.reader(f)]
    return [r for r in rows[1:] if r and r[0]]


def run_one(rows: int, cols: int, dataflow: str, workdir: Path) -> list[dict]:
    from scalesim.scale_sim import scalesim

    name = f"run_{rows}x{cols}_{dataflow}"
    cfg = workdir / f"{name}.cfg"
    cfg.write_text(CONFIG.format(name=name, rows=rows, cols=cols, dataflow=dataflow))
    topo = workdir / f"{name}.csv"
    lines = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
             "Num Filter, Strides,"]
    layers = layers_for(rows, cols, dataflow)
    lines += [", ".join(str(v) for v in layer) + "," for layer in layers]
    topo.write_text("\n".join(lines) + "\n")
    sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo))
    sim.run_scale(top_path=str(workdir))
    compute = _rows(workdir / name / "COMPUTE_REPORT.csv")
    detail = _rows(workdir / name / "DETAILED_ACCESS_REPORT.csv")

    # One report row per SCALE-Sim layer; a "DP" layer became C consecutive rows.
    cases, i = [], 0
    for lname, H, W, R, S, C, M, stride in layers:
        parts = C if "DP" in lname else 1
        comp, det = compute[i:i + parts], detail[i:i + parts]
        i += parts
        P, Q = ofmap_size(H, R, stride), ofmap_size(W, S, stride)
        cases.append({
            "name": lname, "rows": rows, "cols": cols, "dataflow": dataflow,
            "H": H, "W": W, "R": R, "S": S, "C": C, "M": M, "stride": stride, "P": P, "Q": Q,
            # A depth-wise layer: G = C groups of one channel; SCALE-Sim's M is per channel.
            "G": C if "DP" in lname else 1,
            "M_total": M * parts,
            "scalesim_layers": parts,
            "total_cycles": sum(int(r[1]) for r in comp),
            "stall_cycles": sum(int(r[2]) for r in comp),
            # per-layer figures are identical across the parts of a DP layer: keep the first
            "overall_util_pct": float(comp[0][3]),
            "mapping_efficiency_pct": float(comp[0][4]),
            "compute_util_pct": float(comp[0][5]),
            "sram_ifmap_reads": sum(int(r[3]) for r in det),
            "sram_filter_reads": sum(int(r[6]) for r in det),
            "sram_ofmap_writes": sum(int(r[9]) for r in det),
            # DRAM traffic depends on SCALE-Sim's double-buffered prefetcher; informational.
            "dram_ifmap_reads": sum(int(r[12]) for r in det),
            "dram_filter_reads": sum(int(r[15]) for r in det),
            "dram_ofmap_writes": sum(int(r[18]) for r in det),
        })
    return cases


def generate() -> dict:
    from importlib.metadata import version

    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows, cols in ARRAYS:
            for dataflow in DATAFLOWS:
                print(f"SCALE-Sim {rows}x{cols} {dataflow} ...", file=sys.stderr, flush=True)
                cases += run_one(rows, cols, dataflow, Path(tmp))
    return {
        "generator": "scripts/regen_scalesim_expected.py",
        "scalesim_version": version("scalesim"),
        "mode": "InterfaceBandwidth CALC (no stalls); SRAM 64 kB each; word size 1 byte",
        "cases": cases,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the stored file instead of writing it")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = generate()
    if args.check:
        stored = json.loads(args.out.read_text())
        if stored["cases"] != data["cases"]:
            print(f"{args.out} differs from what SCALE-Sim {data['scalesim_version']} computes",
                  file=sys.stderr)
            return 1
        print(f"{len(data['cases'])} cases agree with SCALE-Sim {data['scalesim_version']}")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['cases'])} cases to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
