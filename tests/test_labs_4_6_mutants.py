"""Labs 4-6: their tests can fail. Known-wrong answers ("mutants") lose the points they should.

Each case runs, in one namespace, a lab's setup cells, its answer cells (the solution, or one
answer replaced by a plausible mistake) and one graded test cell, hidden tests included, as the
autograder runs it. The solution must pass every case's test cell; the mutant must fail it. A
mutant marked ``hidden`` passes the public part of the cell: only the hidden tests catch it,
which shows that they check generality and not the public values again.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat
import pytest

LABS = Path(__file__).resolve().parents[1] / "labs" / "source"
_HIDDEN = re.compile(r"^### BEGIN HIDDEN TESTS.*?^### END HIDDEN TESTS\n?", re.MULTILINE | re.DOTALL)
#: Cells that are not definitions (they run the search or plot it): left out of these runs.
SKIP = {"self_check", "report"}


def _cells(lab: str) -> list[tuple[str, dict, str]]:
    nb = nbformat.read(LABS / lab / f"{lab}.ipynb", as_version=4)
    return [(c.metadata["nbgrader"]["grade_id"], c.metadata["nbgrader"], c.source)
            for c in nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata]


def _exec(source: str, name: str, ns: dict) -> str:
    try:
        exec(compile(source, name, "exec"), ns)
    except Exception as exc:  # an assertion, or an error from a wrong answer
        return f"{type(exc).__name__}: {exc}"
    return ""


def _run(lab: str, test_id: str, replace: dict[str, str] | None = None, public_only: bool = False) -> str:
    """Run the lab's cells up to the test cell ``test_id`` as nbgrader does; return its error.

    Setup and answer cells (with ``replace``-d answers) must run; earlier test cells run too
    (a later test may use a helper an earlier one defines), and their failures are ignored.
    """
    replace = replace or {}
    ns: dict = {}
    for grade_id, meta, source in _cells(lab):
        if grade_id in SKIP:
            continue
        name = f"<{lab}:{grade_id}>"
        if grade_id == test_id:
            return _exec(_HIDDEN.sub("", source) if public_only else source, name, ns)
        if meta.get("grade"):
            _exec(source, name, ns)
        else:
            error = _exec(replace.get(grade_id, source), name, ns)
            assert not error, f"cell {grade_id} of {lab} raised {error}"
    raise KeyError(f"{lab} has no test cell {test_id!r}")


def _src(s: str) -> str:
    return textwrap.dedent(s).strip() + "\n"


# (lab, test cell, answer cell, mutant source, caught only by the hidden tests?)
MUTANTS = [
    # ---------------------------------------------------------------- lab 4
    ("lab4_efficient_convs", "test_separable_cost_fraction", "separable_cost_fraction", _src("""
        def separable_cost_fraction(R, S, M):
            return R * S * M / (R * S + M)          # the saving, not the fraction
        """), False),
    ("lab4_efficient_convs", "test_separable_cost_fraction", "separable_cost_fraction", _src("""
        def separable_cost_fraction(R, S, M):
            return 1 / M + 1 / (R * S)              # no check of its arguments
        """), True),
    ("lab4_efficient_convs", "test_separable_cost_fraction", "separable_cost_fraction", _src("""
        def separable_cost_fraction(R, S, M):
            if min(R, S, M) < 1:
                raise ValueError("sizes must be positive")
            return 1 / M + 1 / (R * R)              # assumes a square filter
        """), True),
    ("lab4_efficient_convs", "test_depthwise_separable_costs", "depthwise_separable", _src("""
        def depthwise_separable(C, M, stride=1, R=3):
            return nn.Sequential(nn.Conv2d(C, C, R, stride, R // 2, groups=C), nn.BatchNorm2d(C), nn.ReLU(),
                                 nn.Conv2d(C, M, 1), nn.BatchNorm2d(M), nn.ReLU())   # biases kept
        """), False),
    ("lab4_efficient_convs", "test_depthwise_separable_costs", "depthwise_separable", _src("""
        def depthwise_separable(C, M, stride=1, R=3):
            return nn.Sequential(nn.Conv2d(C, C, 3, stride, 1, groups=C, bias=False), nn.BatchNorm2d(C),
                                 nn.ReLU(), nn.Conv2d(C, M, 1, bias=False), nn.BatchNorm2d(M), nn.ReLU())
        """), True),  # ignores R
    ("lab4_efficient_convs", "test_table4", "table4", _src("""
        def table4(width_mult=1.0, resolution=224):
            sep, full = cnnlib.count_costs("mobilenet_v1"), cnnlib.count_costs("conv_mobilenet_v1")
            return {"MobileNet": (sep.macs / 1e6, sep.weights / 1e6),
                    "Conv MobileNet": (full.macs / 1e6, full.weights / 1e6)}
        """), True),  # ignores its arguments
    ("lab4_efficient_convs", "test_block_reductions", "block_reductions", _src("""
        def block_reductions(width_mult=1.0, resolution=224):
            Ms = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
            return [formulas.depthwise_separable_ratio(3, 3, M) for M in Ms]
        """), True),  # the paper's widths, whatever the width multiplier
    ("lab4_efficient_convs", "test_grouped_conv_alexnet", "grouped_conv", _src("""
        def grouped_conv_weights(C, M, R, S, G):
            return M * C * R * S                    # forgets the groups
        def grouped_conv_macs(N, C, M, P, Q, R, S, G):
            return N * P * Q * grouped_conv_weights(C, M, R, S, G)
        """), False),
    ("lab4_efficient_convs", "test_grouped_conv_general", "grouped_conv", _src("""
        def grouped_conv_weights(C, M, R, S, G):
            return M * (C // G) * R * S             # no check that G divides C and M
        def grouped_conv_macs(N, C, M, P, Q, R, S, G):
            return N * P * Q * grouped_conv_weights(C, M, R, S, G)
        """), True),
    ("lab4_efficient_convs", "test_channel_shuffle_matches_cnnlib", "channel_shuffle", _src("""
        def channel_shuffle(x, groups):
            N, C, H, W = x.shape                    # the inverse permutation: groups of C/G
            return x.reshape(N, C // groups, groups, H, W).transpose(1, 2).reshape(N, C, H, W)
        """), False),
    ("lab4_efficient_convs", "test_channel_shuffle_permutation", "channel_shuffle", _src("""
        def channel_shuffle(x, groups):
            N, C, H, W = x.shape                    # right, but no checks of its input
            return x.reshape(N, groups, C // groups, H, W).transpose(1, 2).reshape(N, C, H, W)
        """), True),
    # ---------------------------------------------------------------- lab 5
    ("lab5_macs_not_latency", "test_arithmetic_intensity", "roofline_by_hand", _src("""
        def arithmetic_intensity(N, C, M, R, S, H, W, P, Q, G=1, word_bytes=1):
            macs = N * M * (C // G) * R * S * P * Q
            return macs / (M * (C // G) * R * S + N * C * H * W + N * M * P * Q)   # words, not bytes
        def ridge_point(rows, cols, clock_mhz, dram_gbytes_per_s):
            return rows * cols * clock_mhz * 1e6 / (dram_gbytes_per_s * 1e9)
        """), True),
    ("lab5_macs_not_latency", "test_ws_systolic", "ws_systolic", _src("""
        def ws_systolic(C, M, R, S, P, Q, G=1, N=1, rows=32, cols=32):
            K, F, X = R * S * C // G, M // G, N * P * Q
            cycles = math.ceil(K / rows) * math.ceil(F / cols) * (2 * rows + cols + X - 2) - 1
            return cycles, K * F * X / (cycles * rows * cols)   # one group only
        """), False),
    ("lab5_macs_not_latency", "test_ws_systolic_general", "ws_systolic", _src("""
        def ws_systolic(C, M, R, S, P, Q, G=1, N=1, rows=32, cols=32):
            K, F, X = R * S * (C // G), M // G, P * Q           # forgets the batch
            cycles = G * (math.ceil(K / rows) * math.ceil(F / cols) * (2 * rows + cols + X - 2) - 1)
            return cycles, G * K * F * X / (cycles * rows * cols)
        """), True),
    ("lab5_macs_not_latency", "test_find_bottlenecks", "find_bottlenecks", _src("""
        def find_bottlenecks(model, hardware, util_threshold=0.1):
            report = accel.estimate(model, hardware)              # pooling layers included
            return {"memory_bound": [e.layer.name for e in report.layers
                                     if not e.layer.fused and e.roofline.bound == "memory"],
                    "poorly_mapped": [e.layer.name for e in report.layers
                                      if e.layer.on_array and e.utilization < util_threshold]}
        """), False),
    ("lab5_macs_not_latency", "test_find_bottlenecks", "find_bottlenecks", _src("""
        def find_bottlenecks(model, hardware, util_threshold=0.1):
            report = accel.estimate(model, hardware)
            on_array = [e for e in report.layers if e.layer.on_array]
            return {"memory_bound": [e.layer.name for e in on_array if e.roofline.bound == "memory"],
                    "poorly_mapped": [e.layer.name for e in on_array if e.utilization < 0.1]}
        """), True),  # ignores the threshold
    ("lab5_macs_not_latency", "test_kind_shares", "kind_shares", _src("""
        def kind_shares(report, kind):
            s = report.by_kind()[kind]                  # a missing kind raises KeyError
            return s.macs_share, s.cycles_share
        """), True),
    ("lab5_macs_not_latency", "test_fewer_macs_but_slower", "fewer_macs_but_slower", _src("""
        def fewer_macs_but_slower(models, hardware):
            r = {m: accel.estimate(m, hardware) for m in models}
            return sorted((a, b) for a in models for b in models      # compute cycles, not latency
                          if r[a].macs < r[b].macs and r[a].compute_cycles > r[b].compute_cycles)
        """), True),
    # ---------------------------------------------------------------- lab 6
    ("lab6_nas", "test_build_model", "build_model", _src("""
        def build_model(config):
            w1, w2, k = config["width1"], config["width2"], config["kernel"]
            return nn.Sequential(nn.Conv2d(1, w1, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(w1, w2, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Flatten(), nn.Linear(4 * w2, 10))   # never separable
        """), False),
    ("lab6_nas", "test_configurations", "configurations", _src("""
        def configurations(space):
            keys = ["width1", "width2", "kernel", "separable"]      # not the dict's order
            return [dict(zip(keys, v, strict=True)) for v in itertools.product(*(space[k] for k in keys))]
        """), True),
    ("lab6_nas", "test_pareto_front_edge_cases", "pareto_front", _src("""
        def pareto_front(points):
            front, best = [], -math.inf                  # keeps duplicates of a front point
            for macs, acc in sorted(points, key=lambda p: (p[0], -p[1])):
                if acc >= best:
                    front.append((macs, acc))
                    best = acc
            return front
        """), True),
    ("lab6_nas", "test_pareto_front_edge_cases", "pareto_front", _src("""
        def pareto_front(points):
            points.sort(key=lambda p: (p[0], -p[1]))     # sorts the caller's list in place
            front, best = [], -math.inf
            for macs, acc in points:
                if acc > best and (macs, acc) not in front:
                    front.append((macs, acc))
                    best = acc
            return front
        """), True),
    ("lab6_nas", "test_pareto_front_edge_cases", "pareto_front", _src("""
        def pareto_front(points):
            front, best = [], -math.inf                  # equal MACs: keeps the first seen
            for macs, acc in sorted(set(points), key=lambda p: p[0]):
                if acc > best:
                    front.append((macs, acc))
                    best = acc
            return front
        """), True),
]


def _ids() -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab, test_id, *_ in MUTANTS:
        key = f"{lab.split('_')[0]}-{test_id}"
        seen[key] = seen.get(key, 0) + 1
        out.append(f"{key}-{seen[key]}")
    return out


@pytest.mark.parametrize(("lab", "test_id", "answer_id", "mutant", "hidden"), MUTANTS, ids=_ids())
def test_mutant_loses_the_points(lab, test_id, answer_id, mutant, hidden):
    assert _run(lab, test_id) == "", f"the solution of {lab} fails {test_id}"
    assert _run(lab, test_id, {answer_id: mutant}) != "", f"{test_id} of {lab} does not catch the mutant"
    if hidden:
        public = _run(lab, test_id, {answer_id: mutant}, public_only=True)
        assert public == "", f"this mutant was meant to pass the public tests of {test_id}: {public}"


@pytest.mark.parametrize("lab", ["lab4_efficient_convs", "lab5_macs_not_latency", "lab6_nas"])
def test_graded_cells_follow_the_conventions(lab):
    """Integer points 1-4 on test cells; unique grade ids; a first line saying what a test checks."""
    nb = nbformat.read(LABS / lab / f"{lab}.ipynb", as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "duplicate grade ids"
    assert ids[0] == "setup" and ids[-1] == "self_check"
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests = [c for c in graded if c.cell_type == "code"]
    written = [c for c in graded if c.cell_type == "markdown"]
    assert tests and written, "a lab has auto-graded test cells and at least one written answer"
    for c in tests:
        meta = c.metadata["nbgrader"]
        assert meta["grade_id"].startswith("test_") and meta["locked"] and not meta["solution"]
        assert isinstance(meta["points"], int) and 1 <= meta["points"] <= 4, meta
        first = c.source.splitlines()[0]
        assert first.startswith(('"""', "#")) and meta["grade_id"] != first, f"{meta['grade_id']}: {first}"
    for c in written:
        meta = c.metadata["nbgrader"]
        assert meta["grade_id"].startswith("written_") and meta["solution"] and not meta.get("task")
        assert "### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests)
    assert all(not c.outputs for c in nb.cells if c.cell_type == "code"), "sources are saved without outputs"
