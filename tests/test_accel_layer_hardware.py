"""Layers in the lecture's letters and hardware as data: derivations, presets and bad input."""

from __future__ import annotations

import pytest

import cnnlib
from cnnlib import accel

# -- layers -----------------------------------------------------------------------------------


def test_layer_described_by_output_size_derives_its_input_size():
    layer = accel.Layer(C=3, M=96, R=11, S=11, P=55, Q=55, stride=4)
    assert (layer.H, layer.W, layer.N, layer.G) == (227, 227, 1, 1)
    assert layer.macs == 55 * 55 * 96 * 11 * 11 * 3 == 105_415_200
    assert layer.kind == "conv"


def test_layer_described_by_input_size_derives_its_output_size():
    layer = accel.Layer(C=3, M=64, R=3, H=224, padding=1)
    assert (layer.P, layer.Q, layer.W) == (224, 224, 224)
    assert accel.Layer(C=8, M=8, R=3, H=10, W=20, stride=(1, 2)).Q == 9


def test_layer_without_sizes_is_an_fc_layer():
    fc = accel.Layer(C=4096, M=1000)
    assert fc.kind == "fc"
    assert (fc.R, fc.S, fc.P, fc.Q, fc.H, fc.W) == (1, 1, 1, 1, 1, 1)
    assert fc.macs == fc.weights == 4_096_000


def test_depthwise_and_grouped_kinds_follow_from_g():
    dw = accel.Layer(C=32, G=32, R=3, P=112)
    assert dw.kind == "dwconv" and dw.M == 32
    assert dw.macs == 112 * 112 * 32 * 9
    assert accel.Layer(C=96, M=256, G=2, R=5, P=27, padding=2).kind == "gconv"


def test_pool_and_eltwise_layers_move_memory_but_do_no_macs():
    pool = accel.Layer(kind="pool", C=96, R=3, stride=2, H=55)
    assert (pool.P, pool.macs, pool.weights) == (27, 0, 0)
    assert (pool.inputs, pool.outputs) == (96 * 55 * 55, 96 * 27 * 27)
    add = accel.Layer(kind="eltwise", C=64, H=56, input_words=2 * 64 * 56 * 56)
    assert add.macs == 0 and add.inputs == 2 * add.outputs


def test_activation_and_norm_layers_are_fused_and_move_nothing():
    relu = accel.Layer(kind="act", C=64, H=56)
    assert relu.fused and relu.inputs == relu.outputs == relu.macs == 0


@pytest.mark.parametrize("kwargs, field", [
    (dict(C=0, M=8), "C must be a positive integer"),
    (dict(C=3, M=-1), "M must be a positive integer"),
    (dict(C=3, M=8, P=0), "P must be a positive integer"),
    (dict(C=3, M=8, R=3, stride=0), "stride_height must be a positive integer"),
    (dict(C=3, M=8, padding=-1), "padding height must be a non-negative integer"),
    (dict(C=3, M=8, R=5, H=3), "the input H=3 .* is smaller than the filter R=5"),
    (dict(C=3, M=8, kind="linear"), "kind must be one of conv, gconv, dwconv, fc"),
])
def test_bad_layer_error_names_the_field(kwargs, field):
    with pytest.raises(accel.BadLayerError, match=field):
        accel.Layer(**kwargs)


def test_more_groups_than_channels_cannot_map_and_the_error_lists_allowed_groups():
    with pytest.raises(accel.BadLayerError, match=r"G=64 .* C=32 .* allowed G: 1, 2, 4, 8, 16, 32"):
        accel.Layer(C=32, M=64, G=64, R=3, P=8)
    with pytest.raises(accel.BadLayerError, match=r"G=3 groups must divide"):
        accel.Layer(C=32, M=64, G=3, R=3, P=8)


def test_bad_layer_errors_are_cnnlib_errors():
    assert issubclass(accel.BadLayerError, cnnlib.CnnlibError)
    assert issubclass(accel.BadHardwareError, cnnlib.CnnlibError)
    assert issubclass(accel.UnknownDataflowError, cnnlib.CnnlibError)


def test_layers_from_alexnet_rows_keep_the_cost_report_counts(reports):
    report = reports("alexnet")
    layers = accel.layers_of(report)
    assert len(layers) == len(report.layers)
    for row, layer in zip(report.layers, layers, strict=True):
        assert layer.kind == row.kind and layer.name == row.name
        assert layer.macs == (row.ops if layer.on_array else 0)
        assert layer.weights == row.weights
        if row.kind in ("conv", "gconv", "pool"):
            assert (layer.N, layer.C, layer.H, layer.W) == row.input_shape
            assert layer.P == row.output_shape[2]
    fc = layers[[r.module for r in report.layers].index("Linear")]
    assert (fc.C, fc.M, fc.R, fc.P) == (9216, 4096, 1, 1)


def test_layer_from_linear_row_on_a_batch_keeps_the_batch_as_n():
    report = cnnlib.count_costs("alexnet", (4, 3, 227, 227))
    fc = accel.Layer.from_row(report.fc_layers[-1])
    assert (fc.N, fc.C, fc.M) == (4, 4096, 1000)


# -- hardware ---------------------------------------------------------------------------------


def test_presets_are_the_three_designs_the_book_compares():
    assert set(accel.PRESETS) == {"eyeriss", "systolic32", "tpu"}
    eyeriss = accel.hardware("eyeriss")
    assert (eyeriss.rows, eyeriss.cols, eyeriss.dataflow) == (12, 14, "rs")
    e = eyeriss.energy
    assert (e.dram, e.buffer, e.array, e.rf, e.mac, e.unit) == (200, 6, 2, 1, 1, "MAC")
    s32 = accel.hardware("systolic32")
    assert (s32.rows, s32.cols, s32.dataflow, s32.energy.name) == (32, 32, "ws", "horowitz45nm")
    tpu = accel.hardware("tpu")
    assert (tpu.rows, tpu.cols, tpu.dataflow) == (256, 256, "ws")
    assert 2 * tpu.peak_macs_per_s == 2 * 65536 * 700e6  # TPU v1: 92 TOPS at 700 MHz


def test_horowitz_table_is_45nm_mult_plus_add_and_memory_per_byte():
    h = accel.ENERGY_TABLES["horowitz45nm"]
    assert h is accel.horowitz45nm
    assert h.mac == pytest.approx(0.2 + 0.1)        # 8b multiply + 32b add
    assert h.buffer == 20 / 8 and h.dram == 1300 / 8  # per byte, from 64-bit accesses


def test_preset_with_changes_is_a_new_checked_description():
    big = accel.hardware("systolic32", rows=64, cols=64)
    assert (big.rows, big.cols) == (64, 64) and accel.hardware("systolic32").rows == 32
    with pytest.raises(accel.BadHardwareError, match="rows must be a positive integer"):
        accel.hardware("systolic32", rows=0)
    with pytest.raises(accel.BadHardwareError, match="no field 'colums'; its fields are: name, rows, cols"):
        accel.hardware("systolic32", colums=8)


def test_user_hardware_in_a_few_lines():
    mine = accel.Hardware(name="mine", rows=16, cols=16, dataflow="os", clock_mhz=500,
                          buffer_bytes=128 * 1024, dram_gbytes_per_s=8,
                          energy=accel.ENERGY_TABLES["horowitz45nm"])
    assert mine.peak_macs_per_s == 256 * 500e6
    assert mine.ridge_macs_per_byte == 256 * 500e6 / 8e9


@pytest.mark.parametrize("changes, message", [
    (dict(rows=0), "rows must be a positive integer, got 0"),
    (dict(cols=-3), "cols must be a positive integer, got -3"),
    (dict(buffer_bytes=0), "buffer_bytes must be a positive integer"),
    (dict(rf_words=-1), "rf_words must be a positive integer"),
    (dict(clock_mhz=0), "clock_mhz must be a positive number"),
    (dict(dram_gbytes_per_s=-1.0), "dram_gbytes_per_s must be a positive number"),
    (dict(buffer_words_per_cycle=0), "buffer_words_per_cycle must be a positive number"),
])
def test_hardware_with_zero_or_negative_size_names_the_field(changes, message):
    fields = dict(name="bad", rows=8, cols=8) | changes
    with pytest.raises(accel.BadHardwareError, match=message):
        accel.Hardware(**fields)


def test_unknown_dataflow_in_hardware_lists_the_allowed_values():
    allowed = r"'ws' \(weight stationary\), 'os' .* 'is' .* 'rs' \(row stationary\); got 'nlr'"
    with pytest.raises(accel.UnknownDataflowError, match=allowed):
        accel.Hardware(name="x", rows=4, cols=4, dataflow="nlr")


def test_unknown_preset_lists_the_presets():
    presets = "Did you mean 'systolic32'.*Presets: eyeriss, systolic32, tpu"
    with pytest.raises(accel.UnknownHardwareError, match=presets):
        accel.hardware("systolic")


def test_energy_table_rejects_negative_energy_naming_the_level():
    with pytest.raises(accel.BadHardwareError, match="dram must be a non-negative number"):
        accel.EnergyTable(name="t", mac=1, rf=1, array=1, buffer=1, dram=-5)


def test_a_made_layer_has_every_letter_as_an_integer_and_pairs_for_stride_and_padding():
    import dataclasses

    layer = accel.Layer(C=3, M=96, R=11, P=55, stride=4)          # S, Q, H, W derived
    letters = {f.name: getattr(layer, f.name) for f in dataclasses.fields(layer)}
    assert all(type(letters[k]) is int for k in ("C", "M", "R", "S", "P", "Q", "H", "W", "N", "G", "steps"))
    assert (layer.S, layer.Q, layer.H, layer.W) == (11, 55, 227, 227)
    assert layer.stride == (4, 4) and layer.padding == (0, 0)
    sparse = dataclasses.replace(layer, useful_macs=1000)         # a copy is made the same way
    assert (sparse.H, sparse.stride, sparse.macs) == (227, (4, 4), 1000)
    assert repr(layer).startswith("Layer(C=3, M=96, R=11, S=11, P=55, Q=55, H=227, W=227, N=1, G=1, ")
