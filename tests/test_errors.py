"""Bad input gets a clear error that says what to do, not a traceback from inside torch."""

import os
import subprocess
import sys

import pytest
from torch import nn

import cnnlib
from cnnlib import accel
from cnnlib.errors import (
    BadInputSizeError,
    BadModelArgumentError,
    ChannelMismatchError,
    InputTooSmallError,
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


def test_cnnlib_debug_shows_the_full_traceback():
    env = {**os.environ, "CNNLIB_DEBUG": "1"}
    out = subprocess.run([sys.executable, "-m", "cnnlib", "summary", "alexnett"], capture_output=True,
                         text=True, env=env)
    assert out.returncode != 0 and "Traceback" in out.stderr and "UnknownModelError" in out.stderr
    quiet = subprocess.run([sys.executable, "-m", "cnnlib", "summary", "alexnett"], capture_output=True,
                           text=True, env={k: v for k, v in os.environ.items() if k != "CNNLIB_DEBUG"})
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
