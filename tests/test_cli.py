"""The command line prints tables and turns bad input into one-line errors (exit code 2)."""

import importlib
import subprocess
import sys

import pytest

from cnnlib.cli import main, parse_input_size, parse_settings


def test_list_prints_every_model(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "alexnet" in out and "lecun1998gradient" in out


def test_summary_prints_layers_and_totals(capsys):
    assert main(["summary", "alexnet"]) == 0
    out = capsys.readouterr().out
    assert "features.4" in out and "gconv" in out and "724,406,816" in out


def test_summary_takes_an_input_size_and_builder_settings(capsys):
    assert main(["summary", "lenet5", "--input", "1x32x32", "--set", "c3='full'", "--kinds", "conv"]) == 0
    out = capsys.readouterr().out
    assert "2,400" in out and "f6" not in out


@pytest.mark.parametrize(("argv", "message"), [
    (["summary", "resnet5O"], "unknown model 'resnet5O'"),
    (["summary", "vgg16", "--input", "3x16x16"], "collapses at layer"),
    (["summary", "lenet5", "--input", "3x32x32"], "expects 1 input channels"),
    (["summary", "vgg16", "--input", "big"], "--input must look like 3x224x224"),
    (["summary", "lenet5", "--set", "c3"], "--set takes KEY=VALUE"),
])
def test_bad_input_is_one_line_on_stderr_with_exit_code_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow   # a new Python process imports torch
def test_python_dash_m_cnnlib_runs_without_a_traceback():
    out = subprocess.run([sys.executable, "-m", "cnnlib", "summary", "nope"], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "Known models" in out.stderr


def test_parsers():
    assert parse_input_size("3x299x299") == (3, 299, 299)
    assert parse_input_size("160") == (3, 160, 160)
    assert parse_settings(["width_mult=0.5", "variant=v1.5", "aux=True"]) == {
        "width_mult": 0.5, "variant": "v1.5", "aux": True}


@pytest.mark.slow   # a new Python process imports torch and counts DenseNet-121
def test_a_closed_pipe_ends_the_command_quietly():
    # as `python -m cnnlib summary densenet121 | head -1` does
    proc = subprocess.Popen([sys.executable, "-m", "cnnlib", "summary", "densenet121"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(60)
    proc.stderr.close()
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_an_unknown_kinds_value_is_rejected(capsys):
    assert main(["summary", "alexnet", "--kinds", "conv,convolution"]) == 2
    assert "unknown layer kinds ['convolution']" in capsys.readouterr().err


def test_plots_directory_is_checked_before_any_work(capsys, monkeypatch, tmp_path):
    estimate_module = importlib.import_module("cnnlib.accel.estimate")

    def must_not_run(*args, **kwargs):
        raise AssertionError("estimated before checking --plots")

    monkeypatch.setattr(estimate_module, "estimate", must_not_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["accel", "mobilenet_v1", "--plots", str(blocker / "plots")]) == 2
    assert f"--plots {blocker / 'plots'}: cannot make the directory" in capsys.readouterr().err


def test_summary_counts_one_kind_given_as_a_string(capsys):
    assert main(["summary", "alexnet", "--count", "conv"]) == 0
    assert "MACs count: conv;" in capsys.readouterr().out
