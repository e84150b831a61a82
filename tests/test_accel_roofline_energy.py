"""Tiers 1 and 3 on layers small enough to check by hand, and the comparison with Timeloop."""

from __future__ import annotations

import importlib

import pytest

from cnnlib import accel
from cnnlib.accel import timeloop

# the module, not the function ``accel.energy`` that the package exports under the same name
energy_module = importlib.import_module("cnnlib.accel.energy")

# 100 PEs at 1 GHz = 1e11 MAC/s; 10 GB/s; 1-byte words: the ridge is at 10 MACs per byte.
TOY = accel.Hardware(name="toy", rows=10, cols=10, clock_mhz=1000, word_bytes=1,
                     buffer_bytes=1 << 20, dram_gbytes_per_s=10)


def test_roofline_of_an_fc_layer_by_hand_is_memory_bound():
    fc = accel.Layer(C=1000, M=100)
    p = accel.roofline(fc, TOY)
    assert p.macs == 100_000
    assert p.dram_bytes == 100_000 + 1000 + 100           # weights, inputs, outputs once
    assert p.intensity == pytest.approx(100_000 / 101_100)
    assert p.compute_s == pytest.approx(1e-6)
    assert p.memory_s == pytest.approx(101_100 / 10e9)
    assert p.latency_s == p.memory_s and p.bound == "memory"
    assert p.attainable_macs_per_s == pytest.approx(p.intensity * 10e9)
    assert TOY.ridge_macs_per_byte == 10


def test_roofline_of_a_3x3_conv_by_hand_is_compute_bound():
    conv = accel.Layer(C=64, M=64, R=3, P=56)
    p = accel.roofline(conv, TOY)
    assert p.macs == 64 * 64 * 9 * 56 * 56
    assert p.dram_bytes == 64 * 64 * 9 + 64 * 58 * 58 + 64 * 56 * 56
    assert p.bound == "compute" and p.latency_s == pytest.approx(p.macs / 1e11)
    assert p.attainable_macs_per_s == 1e11


def test_roofline_takes_the_traffic_of_a_real_mapping():
    conv = accel.Layer(C=64, M=64, R=3, P=56)
    assert accel.roofline(conv, TOY, dram_bytes=10 ** 9).bound == "memory"


# A 1x1 conv: C=4, M=8, 4x4 pixels. weights 32, inputs 64, outputs 128 words (1 byte each).
SMALL = accel.Layer(C=4, M=8, P=4)
TABLE = accel.EnergyTable(name="powers of ten", mac=1, rf=10, array=100, buffer=1000, dram=10000)


def small_hw(buffer_bytes: int) -> accel.Hardware:
    return accel.Hardware(name="small", rows=4, cols=4, dataflow="ws", buffer_bytes=buffer_bytes,
                          energy=TABLE)


def test_layer_that_fits_the_buffer_crosses_the_chip_boundary_once():
    t = accel.dram_traffic(SMALL, buffer_words=256)
    assert (t.reads, t.writes, t.tiling) == (32 + 64, 128, "fits")


def test_weights_that_fit_half_the_buffer_stay_resident_while_inputs_stream_once():
    t = accel.dram_traffic(SMALL, buffer_words=64)      # 224 words do not fit; 32 weights fit in 32
    assert (t.reads, t.writes, t.tiling) == (96, 128, "fits")


def test_layer_that_does_not_fit_is_tiled_the_cheaper_way():
    # half = 16 words: weights resident -> 2 weight tiles, inputs read twice: 32 + 2*64 = 160;
    # inputs resident -> 4 input tiles, weights read 4 times: 64 + 4*32 = 192. The first wins.
    t = accel.dram_traffic(SMALL, buffer_words=32)
    assert (t.reads, t.writes, t.input_passes, t.tiling) == (160, 128, 2, "inputs re-read x2")


def test_energy_of_a_small_layer_by_hand():
    hw = small_hw(32)
    e = accel.energy(SMALL, hw)
    a = e.accesses
    macs = 8 * 4 * 16
    # ws on 4x4: window 4 on the rows, 8 filters in 2 column folds, 16 pixels streamed:
    # SRAM reads: ifmap 16*4*2 = 128, filter 32; writes 16*8 = 128; plus DRAM fills and drains.
    assert a.macs == macs == SMALL.macs
    assert a.rf == macs                      # the stationary weight, once per MAC
    assert a.array == 2 * macs               # input from the left, partial sum from above
    assert a.buffer == 128 + 32 + 128 + (160 + 128)
    assert a.dram == 160 + 128
    assert e.by_level == {"mac": 512, "rf": 5120, "array": 102400, "buffer": 576000, "dram": 2880000}
    assert e.total == 3_564_032 and e.per_mac == 3_564_032 / 512


def test_pooling_moves_memory_and_costs_no_mac_energy():
    pool = accel.Layer(kind="pool", C=4, R=2, stride=2, H=4)
    e = accel.energy(pool, small_hw(1024))
    assert (e.accesses.macs, e.accesses.rf, e.accesses.array) == (0, 0, 0)
    assert e.accesses.dram == 64 + 16
    assert e.accesses.buffer == (64 + 16) + (64 + 16)  # staged in and out, read and written by the unit
    assert e.of("mac") == 0


def test_fused_activation_costs_nothing():
    e = accel.energy(accel.Layer(kind="act", C=64, H=56), small_hw(1024))
    assert e.total == 0


@pytest.mark.parametrize("dataflow, rf", [("ws", 1), ("is", 1), ("os", 2), ("rs", 4)])
def test_rf_accesses_per_mac_follow_the_dataflow(dataflow, rf):
    hw = small_hw(1024).replace(dataflow=dataflow)
    assert accel.energy(SMALL, hw).accesses.rf == rf * SMALL.macs


def test_eyeriss_normalised_energy_is_in_mac_units():
    e = accel.energy(SMALL, accel.hardware("eyeriss"))
    assert e.unit == "MAC" and e.of("mac") == SMALL.macs


# -- Timeloop/Accelergy --------------------------------------------------------------------------


def test_timeloop_example_figures_add_up():
    ex = timeloop.EYERISS_ALEXNET_CONV1
    assert ex.macs == ex.layer.macs == 105_415_200
    assert sum(v for k, v in ex.pj_per_mac.items() if k != "total") == pytest.approx(8.22, abs=0.011)
    assert ex.energy_uj == pytest.approx(ex.macs * 8.22 / 1e6, rel=2e-3)


def test_comparison_with_timeloop_quoted_in_energy_docstring_is_what_the_model_computes():
    c = timeloop.compare()
    doc = " ".join(energy_module.__doc__.split())
    assert f"this model says {c.pj_per_mac['total']:.2f} pJ/MAC" in doc
    for level in ("rf", "buffer", "dram"):
        assert f"{level.upper() if level != 'buffer' else 'buffer'} {c.pj_per_mac[level]:.2f}" in doc
    assert f"in {c.cycles:,} cycles ({100 * c.utilization:.0f}% utilisation)" in doc
    assert f"{c.dram_words:,} DRAM words against Timeloop's 2,619,045" in doc


def test_simple_model_agrees_with_timeloop_where_the_mapping_does_not_matter():
    c = timeloop.compare()
    assert c.pj_per_mac["mac"] == pytest.approx(2.20)                 # same MACs, same energy
    assert c.pj_per_mac["rf"] == pytest.approx(2.38, rel=0.05)        # four RF accesses per MAC
    # and differs where it does: Timeloop's mapping re-reads the weights 55 times from DRAM
    assert c.pj_per_mac["dram"] < c.published.pj_per_mac["dram"] / 3
    assert c.published.dram_words["weights"] == 55 * c.published.layer.weights
