"""The three tiers on every model of the zoo, and the result the lecture's warning is about:
MobileNet v1's depth-wise layers are a few percent of the MACs and most of the cycles on a
weight-stationary systolic array."""

from __future__ import annotations

import pytest

import cnnlib
from cnnlib import accel

MODELS = cnnlib.list_models()

@pytest.mark.parametrize("hw", sorted(accel.PRESETS))
@pytest.mark.parametrize("name", MODELS)
def test_every_model_estimates_on_every_preset(name, hw, reports):
    report = reports(name)
    r = accel.estimate(report, hw)
    assert len(r.layers) == len(report.layers)
    assert r.macs > 0 and r.compute_cycles > 0 and r.energy > 0
    assert r.latency_cycles >= r.compute_cycles
    assert 0 < r.utilization <= 1
    shares = r.by_kind().values()
    for attr in ("macs_share", "cycles_share", "latency_share", "energy_share"):
        assert sum(getattr(s, attr) for s in shares) == pytest.approx(1)
    for e in r.layers:
        assert e.array is None or e.array.utilization <= 1


@pytest.mark.parametrize("name", MODELS)
def test_array_macs_are_the_cost_reports_operations(name, reports):
    """One way to count: each layer on the array does the MACs the cost report counts."""
    report = reports(name)
    for row, layer in zip(report.layers, accel.layers_of(report), strict=True):
        if layer.on_array:
            assert layer.macs == row.ops, row.name


def test_a_sparse_layer_runs_dense_on_the_array_but_counts_only_its_connections(reports):
    """LeNet-5's C3 links each filter to only some of S2's maps: the array runs the dense
    5x5x6 convolution (zero weights where links are missing), so it takes the dense layer's
    cycles, and does the report's MACs of useful work, so its utilisation drops."""
    report = reports("lenet5")
    row = next(r for r in report.layers if r.name == "c3")
    sparse = next(layer for layer in accel.layers_of(report) if layer.name == "c3")
    dense = accel.Layer(C=6, M=16, R=5, S=5, H=14, W=14)
    assert sparse.macs == row.ops < dense.macs
    on_sparse, on_dense = accel.systolic(sparse, rows=32, cols=32), accel.systolic(dense, rows=32, cols=32)
    assert on_sparse.cycles == on_dense.cycles
    assert on_sparse.utilization == pytest.approx(on_dense.utilization * row.ops / dense.macs)
    on_array = [row.ops for row, layer in zip(report.layers, accel.layers_of(report), strict=True)
                if layer.on_array]
    assert accel.estimate(report, "systolic32").macs == sum(on_array)


def test_mobilenet_v1_is_registered():
    assert "mobilenet_v1" in MODELS, "the MobileNet result below needs the registered model"


def test_mobilenet_v1_depthwise_layers_are_few_macs_but_most_cycles_on_systolic32(reports):
    r = accel.estimate(reports("mobilenet_v1"), "systolic32")
    dw = r.by_kind()["dwconv"]
    assert dw.layers == 13
    assert dw.macs_share < 0.05              # 3.1% of the MACs ...
    assert dw.cycles_share > 0.5             # ... 72% of the compute cycles
    assert dw.utilization < 9 / (32 * 32)    # 9 of 32 rows and 1 of 32 columns at best
    assert r.headline().startswith(
        f"Depth-wise layers are {100 * dw.macs_share:.1f}% of the MACs but "
        f"{100 * dw.cycles_share:.1f}% of the compute cycles on systolic32")


# MobileNet v1 written by hand from Table 1 of Howard et al. (2017): a 3x3 stride-2 conv, then
# 13 pairs of a 3x3 depth-wise conv (stride s) and a 1x1 point-wise conv with M filters.
DW_STRIDE_PW_FILTERS = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
                        (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024)]


def mobilenet_like_layers() -> list[accel.Layer]:
    layers = [accel.Layer(name="conv1", C=3, M=32, R=3, H=224, stride=2, padding=1)]
    C, H = 32, layers[0].P
    for i, (s, M) in enumerate(DW_STRIDE_PW_FILTERS, start=2):
        dw = accel.Layer(name=f"dw{i}", C=C, G=C, R=3, H=H, stride=s, padding=1)
        layers += [dw, accel.Layer(name=f"pw{i}", C=C, M=M, H=dw.P)]
        C, H = M, dw.P
    layers += [accel.Layer(name="pool", kind="pool", C=C, R=H, H=H, stride=H),
               accel.Layer(name="fc", C=C, M=1000)]
    return layers


def test_handwritten_mobilenet_shows_the_same_collapse_without_the_registry():
    r = accel.estimate(mobilenet_like_layers(), "systolic32")
    dw = r.by_kind()["dwconv"]
    assert r.macs == 568_740_352          # Howard et al.: 569 million mult-adds
    assert dw.macs_share < 0.05 and dw.cycles_share > 0.5


def test_handwritten_mobilenet_matches_the_registered_one(reports):
    hand = accel.estimate(mobilenet_like_layers(), "systolic32")
    zoo = accel.estimate(reports("mobilenet_v1"), "systolic32")
    assert hand.macs == zoo.macs
    assert hand.by_kind()["dwconv"].compute_cycles == zoo.by_kind()["dwconv"].compute_cycles
    assert hand.compute_cycles == zoo.compute_cycles


def test_row_stationary_keeps_depthwise_layers_busy_where_weight_stationary_does_not(reports):
    report = reports("mobilenet_v1")
    ws = accel.estimate(report, "eyeriss", dataflow="ws").by_kind()["dwconv"]
    rs = accel.estimate(report, "eyeriss").by_kind()["dwconv"]
    assert rs.utilization > 10 * ws.utilization


def test_estimate_takes_a_name_a_module_a_report_or_layers():
    by_name = accel.estimate("alexnet", "tpu")
    by_module = accel.estimate(cnnlib.create_model("alexnet", device="meta"), "tpu", (3, 227, 227))
    by_report = accel.estimate(cnnlib.count_costs("alexnet"), accel.hardware("tpu"))
    by_layers = accel.estimate(accel.layers_of(cnnlib.count_costs("alexnet")), "tpu")
    assert by_name.energy == by_module.energy == by_report.energy == by_layers.energy
    assert by_name.model == "alexnet" and by_layers.model == "layers"


def test_estimate_rejects_what_is_not_a_network():
    with pytest.raises(accel.AccelError, match="list of accel.Layer; the list holds int"):
        accel.estimate([1, 2], "tpu")
    with pytest.raises(accel.AccelError, match="input_size and model keyword arguments go with"):
        accel.estimate(cnnlib.count_costs("alexnet"), "tpu", (3, 224, 224))
    with pytest.raises(accel.UnknownDataflowError):
        accel.estimate("alexnet", "tpu", dataflow="wx")


def test_report_table_has_per_layer_rows_totals_and_kind_shares(reports):
    text = accel.estimate(reports("alexnet"), "systolic32").table()
    for needle in ("features.0", "classifier.6", "MAC/B", "bound", "E DRAM", "per MAC",
                   "compute cycles", "MAC share", "cycle share", "fused"):
        assert needle in text
