"""Bad input gets a clear error that says what to do, not a traceback from inside torch."""

import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib import accel
from cnnlib.errors import (
    BadInputSizeError,
    BadModelArgumentError,
    ChannelMismatchError,
    InputTooSmallError,
    LayerInputError,
    UnknownModelError,
)


def test_unknown_model_lists_known_ones_and_suggests_a_close_match():
    with pytest.raises(UnknownModelError) as e:
        cnnlib.create_model("alexnett")
    assert "Did you mean 'alexnet'" in str(e.value)
    assert "vgg16" in str(e.value) and e.value.suggestions[0] == "alexnet"


def test_an_input_too_small_names_the_layer_where_the_map_collapses():
    with pytest.raises(InputTooSmallError, match=r"collapses at layer 'features.30'.*512x1x1"):
        cnnlib.count_costs("vgg16", (3, 16, 16))


def test_a_wrong_channel_count_says_what_was_expected():
    with pytest.raises(ChannelMismatchError, match="expects 1 input channels, got 3"):
        cnnlib.count_costs("lenet5", (3, 32, 32))


def test_a_fixed_fc_head_explains_why_another_input_size_fails():
    with pytest.raises(ChannelMismatchError, match="expects 9216 input features, got 6400"):
        cnnlib.count_costs("alexnet", (3, 224, 224))


@pytest.mark.parametrize("size", [(224, 224), (3, 0, 224), (3, 224.0, 224), "3x224x224", 5])
def test_input_size_must_be_positive_integers(size):
    with pytest.raises(BadInputSizeError):
        cnnlib.count_costs("vgg16", size)


def test_unknown_builder_argument_lists_the_accepted_ones():
    with pytest.raises(BadModelArgumentError, match="does not take 'depth'; it takes: c3, output"):
        cnnlib.create_model("lenet5", depth=3)


def test_a_bad_builder_argument_value_is_a_clear_error():
    with pytest.raises(BadModelArgumentError, match="c3 must be 'lecun'"):
        cnnlib.count_costs("lenet5", c3="sparse")


def test_errors_are_value_errors_so_callers_can_catch_them_together():
    assert issubclass(UnknownModelError, ValueError) and issubclass(InputTooSmallError, ValueError)


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("mobilenet_v2", {"width_mult": 0}, "width_mult must be a number > 0, got 0"),
    ("mobilenet_v1", {"width_mult": -0.5}, "width_mult must be a number > 0"),
    ("efficientnet_b0", {"depth_mult": 0.0}, "depth_mult must be a number > 0"),
    ("efficientnet_b0", {"width_mult": "wide"}, "width_mult must be a number > 0"),
    ("resnet50", {"num_classes": -10}, "num_classes must be a positive integer, got -10"),
    ("vgg16", {"num_classes": 10.5}, "num_classes must be a positive integer"),
])
def test_bad_builder_arguments_are_refused_before_building(name, kwargs, message):
    with pytest.raises(BadModelArgumentError, match=message):
        cnnlib.count_costs(name, **kwargs)


def test_an_unknown_device_is_named():
    with pytest.raises(cnnlib.CnnlibError, match="unknown device 'gpu0'") as e:
        cnnlib.create_model("alexnet", device="gpu0")
    assert e.value.__cause__ is not None   # torch's own error, chained


@pytest.mark.parametrize("model", [42, None, nn.Conv2d, [nn.Conv2d(3, 4, 3)]])
def test_a_non_module_is_refused(model):
    with pytest.raises(cnnlib.CnnlibError, match="a registered model name or a torch.nn.Module"):
        cnnlib.count_costs(model, (3, 8, 8))


def test_negative_padding_and_a_pool_padding_over_half_the_window_are_refused():
    with pytest.raises(cnnlib.CnnlibError, match="padding must be a non-negative integer, got -1"):
        cnnlib.count_costs(nn.Conv2d(3, 4, 3, padding=-1), (3, 8, 8))
    with pytest.raises(cnnlib.CnnlibError, match="padding 2, more than half its 3-wide window"):
        cnnlib.count_costs(nn.MaxPool2d(3, padding=2), (3, 8, 8))
    with pytest.raises(cnnlib.CnnlibError, match="must be a non-negative integer"):
        cnnlib.formulas.conv_output_size(8, 3, 1, -1)
    with pytest.raises(accel.BadLayerError, match="padding height of at most 1"):
        accel.Layer(kind="pool", C=4, R=3, H=8, padding=2)


def test_errors_from_a_models_own_code_are_not_relabelled():
    class Buggy(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom in my forward")

    with pytest.raises(RuntimeError, match="boom in my forward") as e:
        cnnlib.count_costs(nn.Sequential(nn.Conv2d(3, 4, 3), Buggy()), (3, 8, 8))
    assert not isinstance(e.value, cnnlib.CnnlibError)
    assert any("while cnnlib counted Sequential" in n and "'1'" in n for n in e.value.__notes__)


def test_size_errors_keep_torchs_error_as_their_cause():
    with pytest.raises(InputTooSmallError) as e:
        cnnlib.count_costs("inception_v3", (3, 60, 60))
    assert e.value.__cause__ is not None or "collapses" in str(e.value)


@pytest.mark.slow   # two new Python processes, each importing torch
def test_cnnlib_debug_shows_the_full_traceback():
    env = {**os.environ, "CNNLIB_DEBUG": "1"}
    out = subprocess.run([sys.executable, "-m", "cnnlib", "summary", "alexnett"], capture_output=True,
                         text=True, env=env)
    assert out.returncode != 0 and "Traceback" in out.stderr and "UnknownModelError" in out.stderr
    quiet = subprocess.run([sys.executable, "-m", "cnnlib", "summary", "alexnett"], capture_output=True,
                           text=True, env={k: v for k, v in os.environ.items() if k != "CNNLIB_DEBUG"})
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr


# -- a model torch would refuse is refused, naming the layer and both shapes -------------------
@pytest.mark.parametrize(("model", "x", "message"), [
    (nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(32)), (1, 3, 32, 32),
     r"layer '1' \(BatchNorm2d\) expects 32 input channels, got 64 \(input 1x64x30x30\)"),
    (nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(10)), (2, 3),
     r"layer '1' \(BatchNorm1d\) expects 10 input channels, got 16 \(input 2x16\)"),
    (nn.Sequential(nn.Linear(3, 16), nn.LayerNorm(8)), (2, 3),
     r"layer '1' \(LayerNorm.*\) normalises the last dimensions 8, .* got 2x16"),
    (nn.Sequential(nn.Conv2d(3, 16, 3), nn.GroupNorm(4, 32)), (1, 3, 8, 8),
     r"layer '1' \(GroupNorm.*\) expects 32 input channels, got 16 \(input 1x16x6x6\)"),
    (nn.Sequential(nn.Linear(3, 16), nn.Softmax(dim=3)), (2, 3),
     r"layer '1' \(Softmax\(dim=3\)\) normalises dimension 3, which an input of shape 2x16 \(2-D\)"),
    (nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)), (3, 8),
     r"layer '0' \(Conv2d 3x3, stride 1\) takes a 4-D .* got 3x8"),
    (nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.BatchNorm2d(8)), (1, 3, 8, 8),
     r"layer '2' \(BatchNorm2d\) takes a 4-D input, got 1x288"),
    (nn.Sequential(nn.Linear(4, 8), nn.LocalResponseNorm(3)), (2, 4),
     r"layer '1' \(LocalResponseNorm.*\) takes an input of 3 or more dimensions, got 2x8"),
])
def test_a_model_torch_would_refuse_is_refused(model, x, message):
    with pytest.raises(Exception) as real:   # torch itself refuses to run it
        model(torch.randn(x))
    assert not isinstance(real.value, cnnlib.CnnlibError)
    with pytest.raises(LayerInputError, match=message):
        cnnlib.count_costs(model, torch.empty(x))


def test_an_input_of_another_dtype_than_the_weights_is_refused():
    model = nn.Sequential(nn.Conv2d(3, 8, 3))
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 3, 8, 8, dtype=torch.float64))
    with pytest.raises(LayerInputError, match="float32 weights .* got float64"):
        cnnlib.count_costs(model, torch.empty(1, 3, 8, 8, dtype=torch.float64))


def test_an_error_inside_a_torch_layer_without_a_stand_in_names_the_layer():
    model = nn.Sequential(nn.Linear(4, 8), nn.Conv1d(3, 4, 3))   # Conv1d gets 8 channels
    with pytest.raises(LayerInputError, match=r"torch refuses to run layer '1' .* shape 2x8"):
        cnnlib.count_costs(model, torch.empty(2, 4))


# -- arguments ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("nasnet_a_mobile", {"num_normal_cells": -1}, "num_normal_cells .* must be at least 1, got -1"),
    ("nasnet_a_mobile", {"num_normal_cells": 0}, "num_normal_cells .* must be at least 1, got 0"),
    ("nasnet_a_mobile", {"penultimate_filters": 0}, "penultimate_filters must be a positive multiple of 24"),
    ("googlenet", {"ceil_mode": "no"}, "ceil_mode must be True or False, got 'no'"),
    ("googlenet", {"aux_logits": 1}, "aux_logits must be True or False, got 1"),
    ("resnet50", {"variant": "v2"}, "variant must be one of 'v1', 'v1.5', got 'v2'"),
    ("densenet121", {"depth": 169}, "densenet121 is built with depth=121, which its name fixes"),
    ("shufflenet_v2_x0_5", {"width_mult": 2},
     "is built with width_mult=0.5.*that model is 'shufflenet_v2_x2_0'"),
    ("efficientnet_b0", {"width_mult": 1.1}, "efficientnet_b0 is built with width_mult=1.0"),
    ("alexnet", {"towers": 2.0}, "towers must be an integer"),
])
def test_arguments_that_cannot_be_are_refused(name, kwargs, message):
    with pytest.raises(BadModelArgumentError, match=message):
        cnnlib.count_costs(name, **kwargs)


def test_a_registered_setting_given_again_with_its_own_value_is_fine():
    assert cnnlib.count_costs("shufflenet_v2_x0_5", width_mult=0.5).macs == cnnlib.count_costs(
        "shufflenet_v2_x0_5").macs


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_device_this_machine_lacks_is_a_clear_error():
    with pytest.raises(cnnlib.CnnlibError, match="device 'cuda' is not available on this machine"):
        cnnlib.create_model("alexnet", device="cuda")


@pytest.mark.parametrize("count", [None, 3, {"conv": 1}, [], "convs"])
def test_count_must_name_kinds(count):
    with pytest.raises(cnnlib.CnnlibError, match="count must be|unknown layer kinds"):
        cnnlib.count_costs("alexnet", count=count)


@pytest.mark.parametrize("what", [5, None, 2.5, {"a": 1}])
def test_estimate_of_something_that_is_no_model_is_refused(what):
    with pytest.raises(accel.AccelError, match="estimate\\(\\) takes a model name"):
        accel.estimate(what)
    with pytest.raises(accel.AccelError, match="estimate\\(\\) takes a model name"):
        accel.estimate(what, "systolic32")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_an_energy_table_is_finite(value):
    with pytest.raises(accel.BadHardwareError, match="dram must be a non-negative number"):
        accel.EnergyTable(name="mine", mac=1, rf=1, array=2, buffer=6, dram=value)
    with pytest.raises(accel.BadHardwareError, match="clock_mhz must be a positive number"):
        accel.hardware("systolic32", clock_mhz=value)


@pytest.mark.parametrize(("fields", "message"), [
    (dict(C=3, M=8, R=3, P=10, H=50), "P=10 and H=50 disagree: .* makes 48 outputs"),
    (dict(C=16, M=16, R=3, P=8, kind="dwconv"), "kind='dwconv'.* G = C = 16; got G=1"),
    (dict(C=16, M=16, R=3, P=8, G=4, kind="dwconv"), "G = C = 16; got G=4"),
    (dict(C=16, M=32, R=3, P=8, kind="gconv"), "kind='gconv'.* got G=1"),
    (dict(C=16, M=32, R=3, P=8, G=4, kind="conv"), "kind='conv' has one group"),
    (dict(C=64, M=10, R=3, kind="fc"), "FC layer of C inputs has R = S = 1; one with a 3x3 filter"),
    (dict(C=64, M=10, R=3, H=5, kind="fc"), "FC layer's filter covers its whole input.*R=3"),
    (dict(C=64, M=10, R=1, P=4, kind="fc"), "FC layer's filter covers its whole input.*P=4"),
    (dict(C=64, M=10, steps=5), "only a recurrent layer"),
    (dict(C=64, M=10, kind="rnn", steps=0), "steps must be a positive integer"),
])
def test_an_accelerator_layer_whose_letters_disagree_is_refused(fields, message):
    with pytest.raises(accel.BadLayerError, match=message):
        accel.Layer(**fields)


@pytest.mark.parametrize("size", [
    (torch.ones(3, 8, 8) * 7, 5),
    [1.5, 2.5],
    {"x": torch.full((2, 2), 123.0)},
    {3: torch.ones(2)},
])
def test_a_bad_input_is_described_without_tensor_values(size):
    with pytest.raises(cnnlib.CnnlibError) as e:
        cnnlib.count_costs(nn.Conv2d(3, 4, 3), size)
    assert "7." not in str(e.value) and "123" not in str(e.value) and "tensor(" not in str(e.value)
