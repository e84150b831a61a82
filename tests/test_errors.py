"""Bad input gets a clear error that says what to do, not a traceback from inside torch."""

import pytest

import cnnlib
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
