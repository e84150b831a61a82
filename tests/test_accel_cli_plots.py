"""The ``accel`` subcommand prints the MobileNet result; the three plots build."""

from __future__ import annotations

import argparse
import io

import pytest
from matplotlib.figure import Figure

from cnnlib import accel
from cnnlib.accel import cli
from cnnlib.accel.plots import energy_plot, roofline_plot, share_plot


def run_accel(argv: list[str], capsys) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    rc = cli.run(parser.parse_args(argv))
    return rc, capsys.readouterr().out


def test_accel_mobilenet_v1_on_systolic32_prints_the_depthwise_result(capsys):
    rc, out = run_accel(["mobilenet_v1", "--hardware", "systolic32"], capsys)
    assert rc == 0
    dw = accel.estimate("mobilenet_v1", "systolic32").by_kind()["dwconv"]
    assert (f"Depth-wise layers are {100 * dw.macs_share:.1f}% of the MACs but "
            f"{100 * dw.cycles_share:.1f}% of the compute cycles on systolic32") in out
    assert "features.1.conv_dw.conv" in out and "cycle share" in out


def test_accel_summary_dataflow_and_input_options(capsys):
    rc, out = run_accel(["resnet18", "--hardware", "tpu", "--dataflow", "os", "--input", "3x128x128",
                         "--summary"], capsys)
    assert rc == 0
    assert "resnet18 on tpu (256x256, os)" in out and "MAC share" in out
    assert "layer  " not in out  # no per-layer table with --summary


def test_accel_labels_a_normalised_energy_table_and_never_prints_mac_per_mac(capsys):
    """Eyeriss's table is in multiples of one MAC's energy: the output says so, in every line."""
    rc, out = run_accel(["mobilenet_v1", "--hardware", "eyeriss"], capsys)
    assert rc == 0
    assert "MAC per MAC" not in out and " MAC-eq per MAC" in out and "not pJ" in out
    rc, out = run_accel(["mobilenet_v1", "--hardware", "systolic32", "--summary"], capsys)
    assert " pJ per MAC" in out and "MAC-eq" not in out


def test_accel_through_the_main_cli_reports_bad_input_as_an_error(capsys):
    from cnnlib.cli import main

    assert main(["accel", "alexnet", "--hardware", "eyeriss", "--summary"]) == 0
    assert main(["accel", "alexnet", "--input", "3x10x10"]) == 2
    assert "error:" in capsys.readouterr().err


def test_accel_saves_the_three_plots(tmp_path, capsys):
    rc, out = run_accel(["alexnet", "--summary", "--plots", str(tmp_path)], capsys)
    assert rc == 0
    assert {p.name for p in tmp_path.iterdir()} == {"roofline.png", "energy.png", "shares.png"}


@pytest.fixture(scope="module")
def mobilenet_report():
    return accel.estimate("mobilenet_v1", "systolic32")


@pytest.mark.parametrize("plot", [roofline_plot, energy_plot, share_plot,
                                  lambda r: energy_plot(r, by="kind")])
def test_plots_build_a_figure_that_renders(plot, mobilenet_report):
    fig = plot(mobilenet_report)
    assert isinstance(fig, Figure) and fig.axes
    fig.savefig(io.BytesIO(), format="png")


def test_roofline_plot_puts_each_array_layer_under_the_roof(mobilenet_report):
    hw = mobilenet_report.hardware
    for e in mobilenet_report.layers:
        if e.macs:
            achieved = e.macs * hw.clock_hz / e.latency_cycles
            assert achieved <= e.roofline.attainable_macs_per_s * (1 + 1e-9)


def test_energy_plot_rejects_an_unknown_grouping(mobilenet_report):
    with pytest.raises(accel.AccelError, match="by must be 'layer' or 'kind'"):
        energy_plot(mobilenet_report, by="level")
