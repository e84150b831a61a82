"""Every lab's tests can fail. Known-wrong answers ("mutants") lose the points they should.

Each case runs, in one namespace, a lab's setup cells, its answer cells (the solution, or one
answer replaced by a plausible mistake) and one graded test cell, hidden tests included, as the
autograder runs it. The solution must pass every case's test cell; the mutant must fail it. A
mutant marked ``hidden`` passes the public part of the cell: only the hidden tests catch it,
which shows that they check generality and not the public values again. A mutant that hands
the work to ``cnnlib`` fails the public part already: the tests watch what runs.
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
ALL_LABS = sorted(p.name for p in LABS.iterdir() if p.is_dir())


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
    # ---------------------------------------------------------------- lab 1
    ("lab1_counting", "test_conv_output_size", "conv_output_size", _src("""
        def conv_output_size(H, R, stride=1, padding=0):
            return (H + padding - R) // stride + 1          # pads one side only
        """), False),
    ("lab1_counting", "test_conv_output_size", "conv_output_size", _src("""
        def conv_output_size(H, R, stride=1, padding=0):
            return (H + 2 * padding - R) / stride + 1        # a float
        """), False),
    ("lab1_counting", "test_conv_output_size", "conv_output_size", _src("""
        def conv_output_size(H, R, stride=1, padding=0):
            return -(-(H + 2 * padding - R) // stride) + 1   # rounds up
        """), True),
    ("lab1_counting", "test_conv_weights", "conv_costs", _src("""
        def conv_weights(C, M, R, S, G=1):
            if C % G:                                        # forgets that G must divide M too
                raise ValueError("G must divide C")
            return M * (C // G) * R * S
        def conv_macs(H, W, C, M, R, S, stride=1, padding=0, G=1, N=1):
            return 0
        """), True),
    ("lab1_counting", "test_conv_macs", "conv_costs", _src("""
        def conv_weights(C, M, R, S, G=1):
            return M * (C // G) * R * S
        def conv_macs(H, W, C, M, R, S, stride=1, padding=0, G=1, N=1):   # forgets the batch
            P, Q = conv_output_size(H, R, stride, padding), conv_output_size(W, S, stride, padding)
            return P * Q * conv_weights(C, M, R, S, G)
        """), True),
    ("lab1_counting", "test_conv_macs", "conv_costs", _src("""
        def conv_weights(C, M, R, S, G=1):
            return M * (C // G) * R * S
        def conv_macs(H, W, C, M, R, S, stride=1, padding=0, G=1, N=1):   # counts a real layer
            return cnnlib.count_costs(nn.Conv2d(C, M, (R, S), stride, padding, groups=G), (N, C, H, W)).macs
        """), False),
    ("lab1_counting", "test_fc_costs", "fc_costs", _src("""
        def fc_weights(C, M, H=1, W=1):
            return C * H * W * M * 1.0                       # a float
        def fc_macs(C, M, H=1, W=1, N=1):
            return N * C * H * W * M
        """), False),
    ("lab1_counting", "test_alexnet_table", "alexnet_table", _src("""
        def alexnet_table():                                 # typed in
            return [("conv1", 34_848, 105_415_200), ("conv2", 307_200, 223_948_800),
                    ("conv3", 884_736, 149_520_384), ("conv4", 663_552, 112_140_288),
                    ("conv5", 442_368, 74_760_192), ("fc6", 37_748_736, 37_748_736),
                    ("fc7", 16_777_216, 16_777_216), ("fc8", 4_096_000, 4_096_000)]
        """), True),
    ("lab1_counting", "test_dominant_layer", "dominant_layer", _src("""
        def dominant_layer(table, column):
            if column.lower() not in ("weights", "macs"):    # accepts "MACs"
                raise ValueError(column)
            return max(table, key=lambda row: row[1 if column.lower() == "weights" else 2])[0]
        def share(table, prefix, column):
            return 0.0
        """), True),
    ("lab1_counting", "test_shares", "dominant_layer", _src("""
        def dominant_layer(table, column):
            return ""
        def share(table, prefix, column):
            if column not in ("weights", "macs"):
                raise ValueError(column)
            i = 1 if column == "weights" else 2
            part = sum(row[i] for row in table if row[0].startswith(prefix))
            return part / sum(row[i] for row in table) if part else 0   # an int when nothing matches
        """), True),
    # ---------------------------------------------------------------- lab 2
    ("lab2_receptive_fields", "test_receptive_field_strides", "receptive_field", _src("""
        def receptive_field(kernel_sizes, strides=None):
            strides = strides or [1] * len(kernel_sizes)
            field, jump = 1, 1
            for k, s in zip(kernel_sizes, strides, strict=True):
                jump *= s                                    # the layer's own stride, too early
                field += (k - 1) * jump
            return field
        """), False),
    ("lab2_receptive_fields", "test_receptive_field", "receptive_field", _src("""
        def receptive_field(kernel_sizes, strides=None):
            strides = [1] * len(kernel_sizes) if strides is None else strides
            if len(strides) != len(kernel_sizes):            # an empty stack is accepted
                raise ValueError("one stride per kernel")
            field, jump = 1, 1
            for k, s in zip(kernel_sizes, strides, strict=True):
                field += (k - 1) * jump
                jump *= s
            return field
        """), True),
    ("lab2_receptive_fields", "test_stack_modules", "stacks", _src("""
        def stack_weights(C, R, depth):
            return depth * R * R * C * C
        def make_stack(C, R, depth):
            layers = []
            for i in range(depth):
                if i:
                    layers.append(nn.ReLU())
                layers.append(nn.Conv2d(C, C, R, padding=1, bias=False))   # padding for R = 3 only
            return nn.Sequential(*layers)
        def make_large(C, R):
            return nn.Conv2d(C, C, R, padding=R // 2, bias=False)
        """), True),
    ("lab2_receptive_fields", "test_stack_modules", "stacks", _src("""
        def stack_weights(C, R, depth):
            return depth * R * R * C * C
        def make_stack(C, R, depth):                         # no ReLU between the convolutions
            return nn.Sequential(*[nn.Conv2d(C, C, R, padding=R // 2, bias=False) for _ in range(depth)])
        def make_large(C, R):
            return nn.Conv2d(C, C, R, padding=R // 2, bias=False)
        """), False),
    ("lab2_receptive_fields", "test_factorised", "factorised", _src("""
        def make_factorised(C, M, n):                        # n x 1 first
            return nn.Sequential(nn.Conv2d(C, M, (n, 1), padding=(n // 2, 0), bias=False),
                                 nn.Conv2d(M, M, (1, n), padding=(0, n // 2), bias=False))
        def factorised_saving(n):
            return 1 - 2 / n
        """), False),
    # ---------------------------------------------------------------- lab 3
    ("lab3_bottlenecks", "test_inception_shape", "inception", _src("""
        class Inception(nn.Module):
            def __init__(self, C, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
                super().__init__()                           # no ReLU anywhere
                self.b1 = nn.Conv2d(C, n1x1, 1)
                self.b2 = nn.Sequential(nn.Conv2d(C, n3x3_reduce, 1),
                                        nn.Conv2d(n3x3_reduce, n3x3, 3, padding=1))
                self.b3 = nn.Sequential(nn.Conv2d(C, n5x5_reduce, 1),
                                        nn.Conv2d(n5x5_reduce, n5x5, 5, padding=2))
                self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(C, pool_proj, 1))
            def forward(self, x):
                return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
        """), True),
    ("lab3_bottlenecks", "test_bottleneck_costs", "bottleneck", _src("""
        class Bottleneck(nn.Module):                         # the stride on the 3x3 conv (v1.5)
            def __init__(self, C, width, M, stride=1):
                super().__init__()
                self.branch = nn.Sequential(
                    nn.Conv2d(C, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                    nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                    nn.Conv2d(width, M, 1, bias=False), nn.BatchNorm2d(M))
                self.shortcut = nn.Identity() if stride == 1 and C == M else nn.Sequential(
                    nn.Conv2d(C, M, 1, stride, bias=False), nn.BatchNorm2d(M))
            def forward(self, x):
                return torch.relu(self.branch(x) + self.shortcut(x))
        """), False),
    ("lab3_bottlenecks", "test_naive_inception", "savings", _src("""
        def naive_inception_macs(H, W, C, n1x1, n3x3, n5x5):
            return H * H * C * (n1x1 + 9 * n3x3 + 25 * n5x5)   # a square map
        def bottleneck_weights(C, width):
            return 0
        def basic_weights(C):
            return 0
        def inception_saving(H, W, C, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
            return 0.0
        """), True),
    ("lab3_bottlenecks", "test_resnet_saving", "savings", _src("""
        def naive_inception_macs(H, W, C, n1x1, n3x3, n5x5):
            return 0
        def bottleneck_weights(C, width):
            return 2 * C * (C // 4) + 9 * (C // 4) ** 2      # assumes width = C / 4
        def basic_weights(C):
            return 18 * C * C
        def inception_saving(H, W, C, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
            return 0.0
        """), True),
    ("lab3_bottlenecks", "test_inception_saving", "savings", _src("""
        def naive_inception_macs(H, W, C, n1x1, n3x3, n5x5):
            return H * W * C * (n1x1 + 9 * n3x3 + 25 * n5x5)
        def bottleneck_weights(C, width):
            return 0
        def basic_weights(C):
            return 0
        def inception_saving(H, W, C, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
            block = Inception(C, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj)
            real = cnnlib.count_costs(block, (1, C, H, H)).macs       # a square map
            return naive_inception_macs(H, W, C, n1x1, n3x3, n5x5) / real
        """), True),
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
    ("lab4_efficient_convs", "test_separable_cost_fraction", "separable_cost_fraction", _src("""
        def separable_cost_fraction(R, S, M):
            return 1 / formulas.depthwise_separable_ratio(R, S, M)   # cnnlib's answer
        """), False),
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
        """), False),  # the formula, not a count
    ("lab4_efficient_convs", "test_block_reductions", "block_reductions", _src("""
        def block_reductions(width_mult=1.0, resolution=224):
            def blocks(name):                       # counted at the default width whatever is asked
                macs = {}
                for row in cnnlib.count_costs(name, (3, resolution, resolution)).conv_layers:
                    parts = row.name.split(".")
                    if int(parts[1]) > 0:
                        macs[int(parts[1])] = macs.get(int(parts[1]), 0) + row.macs
                return macs
            s, f = blocks("mobilenet_v1"), blocks("conv_mobilenet_v1")
            return [f[i] / s[i] for i in sorted(s)]
        """), True),
    ("lab4_efficient_convs", "test_grouped_conv_weights", "grouped_conv", _src("""
        def grouped_conv_weights(C, M, R, S, G):
            return M * C * R * S                    # forgets the groups
        def grouped_conv_macs(N, C, M, P, Q, R, S, G):
            return N * P * Q * grouped_conv_weights(C, M, R, S, G)
        """), False),
    ("lab4_efficient_convs", "test_grouped_conv_weights", "grouped_conv", _src("""
        def grouped_conv_weights(C, M, R, S, G):
            return M * (C // G) * R * S             # no check that G divides C and M
        def grouped_conv_macs(N, C, M, P, Q, R, S, G):
            return N * P * Q * grouped_conv_weights(C, M, R, S, G)
        """), True),
    ("lab4_efficient_convs", "test_grouped_conv_macs", "grouped_conv", _src("""
        def grouped_conv_weights(C, M, R, S, G):
            return 0
        def grouped_conv_macs(N, C, M, P, Q, R, S, G):
            return P * Q * grouped_conv_weights(C, M, R, S, G)   # forgets the batch
        """), True),
    ("lab4_efficient_convs", "test_channel_shuffle_matches_cnnlib", "channel_shuffle", _src("""
        def channel_shuffle(x, groups):
            N, C, H, W = x.shape                    # the inverse permutation: groups of C/G
            return x.reshape(N, C // groups, groups, H, W).transpose(1, 2).reshape(N, C, H, W)
        """), False),
    ("lab4_efficient_convs", "test_channel_shuffle_matches_cnnlib", "channel_shuffle", _src("""
        def channel_shuffle(x, groups):
            return cnnlib.models.shufflenet.ChannelShuffle(groups)(x)   # cnnlib's
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
            hw = accel.hardware(hardware)
            ridge = ridge_point(hw.rows, hw.cols, hw.clock_mhz, hw.dram_gbytes_per_s)
            memory, poor = [], []
            for l in accel.layers_of(cnnlib.count_costs(model)):
                if not l.on_array:
                    continue
                if arithmetic_intensity(l.N, l.C, l.M, l.R, l.S, l.H, l.W, l.P, l.Q, G=l.G) < ridge:
                    memory.append(l.name)                          # 1-byte words whatever the design
                if ws_systolic(l.C, l.M, l.R, l.S, l.P, l.Q, l.G, l.N, hw.rows, hw.cols)[1] < util_threshold:
                    poor.append(l.name)
            return {"memory_bound": memory, "poorly_mapped": poor}
        """), True),
    ("lab5_macs_not_latency", "test_find_bottlenecks", "find_bottlenecks", _src("""
        def find_bottlenecks(model, hardware, util_threshold=0.1):
            report = accel.estimate(model, hardware)               # accel's verdicts, not the lab's model
            on_array = [e for e in report.layers if e.layer.on_array]
            return {"memory_bound": [e.layer.name for e in on_array if e.roofline.bound == "memory"],
                    "poorly_mapped": [e.layer.name for e in on_array if e.utilization < util_threshold]}
        """), False),
    ("lab5_macs_not_latency", "test_kind_shares", "kind_shares", _src("""
        def kind_shares(report, kind):
            s = report.by_kind().get(kind)                         # the report's own summary
            return (s.macs_share, s.cycles_share) if s else (0.0, 0.0)
        """), False),
    ("lab5_macs_not_latency", "test_kind_shares", "kind_shares", _src("""
        def kind_shares(report, kind):
            rows = [e for e in report.layers if e.layer.kind == kind]
            if not rows:
                return (0, 0)                                      # ints for a missing kind
            return (sum(e.macs for e in rows) / report.macs,
                    sum(e.compute_cycles for e in rows) / report.compute_cycles)
        """), True),
    ("lab5_macs_not_latency", "test_fewer_macs_but_slower", "fewer_macs_but_slower", _src("""
        def fewer_macs_but_slower(costs):
            return sorted((a, b) for a in costs for b in costs     # not strictly
                          if costs[a][0] <= costs[b][0] and costs[a][1] >= costs[b][1] and a != b)
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
    ("lab6_nas", "test_evaluate", "evaluate", _src("""
        def evaluate(config):
            model = build_model(config)                             # not seeded
            return {"config": config, "macs": cnnlib.count_costs(model, INPUT_SIZE).macs,
                    "accuracy": quick_accuracy(model)}
        """), False),
    ("lab6_nas", "test_evaluate", "evaluate", _src("""
        def evaluate(config):
            macs = cnnlib.count_costs(build_model(config), INPUT_SIZE).macs
            return {"config": config, "macs": macs, "accuracy": 1 - 1000 / (macs + 1000)}   # no training
        """), False),
    ("lab6_nas", "test_evaluate", "evaluate", _src("""
        _memo = {}
        def evaluate(config):
            key = tuple(sorted(config.items()))                     # memoised, not seeded
            if key not in _memo:
                model = build_model(config)
                _memo[key] = {"config": config, "macs": cnnlib.count_costs(model, INPUT_SIZE).macs,
                              "accuracy": quick_accuracy(model)}
            return _memo[key]
        """), False),
    ("lab6_nas", "test_pareto_front", "pareto_front", _src("""
        def pareto_front(points):
            return [(100, 0.80), (200, 0.85), (300, 0.90)]          # the public example
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


@pytest.mark.slow   # each case runs a lab's cells: minutes in all
@pytest.mark.parametrize(("lab", "test_id", "answer_id", "mutant", "hidden"), MUTANTS, ids=_ids())
def test_mutant_loses_the_points(lab, test_id, answer_id, mutant, hidden):
    assert _run(lab, test_id) == "", f"the solution of {lab} fails {test_id}"
    assert _run(lab, test_id, {answer_id: mutant}) != "", f"{test_id} of {lab} does not catch the mutant"
    if hidden:
        public = _run(lab, test_id, {answer_id: mutant}, public_only=True)
        assert public == "", f"this mutant was meant to pass the public tests of {test_id}: {public}"


@pytest.mark.parametrize("lab", ALL_LABS)
def test_graded_cells_follow_the_conventions(lab):
    """Integer points 1-4 on test cells; unique grade ids; a first-line docstring saying what a test
    checks (the feedback shows it for a cell with hidden parts); a hidden part in every test cell."""
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
        assert first.startswith('"""') and first.endswith('"""') and len(first) > 10, meta["grade_id"]
        assert "### BEGIN HIDDEN TESTS" in c.source, f"{meta['grade_id']} has no hidden part"
    for c in written:
        meta = c.metadata["nbgrader"]
        assert meta["grade_id"].startswith("written_") and meta["solution"] and not meta.get("task")
        assert "### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source
    assert all(not c.outputs for c in nb.cells if c.cell_type == "code"), "sources are saved without outputs"


@pytest.mark.parametrize("lab", ALL_LABS)
def test_the_intro_says_what_may_be_used_and_the_points_add_up(lab):
    nb = nbformat.read(LABS / lab / f"{lab}.ipynb", as_version=4)
    intro = nb.cells[0].source
    assert "**What you write, what you may use.**" in intro and "cnnlib" in intro
    graded = [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    auto = sum(m["points"] for m in graded if not m.get("solution"))
    total = sum(m["points"] for m in graded)
    assert re.search(rf"{auto} auto-graded", intro) and re.search(rf"\b{total}\b", intro), (auto, total)
