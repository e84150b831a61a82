"""The per-layer formulas on layers small enough to check by hand."""

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib.costs import formulas as f


def test_conv_weights_are_filters_times_filter_volume():
    # 2 filters of 3x3 over 3 channels: 3 * 3 * 3 * 2
    assert f.conv2d_weights(C=3, M=2, R=3, S=3) == 54


def test_conv_macs_are_one_filter_volume_per_output_value():
    # 2 filters of 3x3x3 at every one of 4x4 outputs, batch of 1
    assert f.conv2d_macs(N=1, C=3, M=2, P=4, Q=4, R=3, S=3) == 54 * 16


def test_grouped_conv_sees_c_over_g_channels_per_filter():
    # AlexNet layer 2: 256 filters of 5x5 over 96/2 = 48 channels
    assert f.conv2d_weights(C=96, M=256, R=5, S=5, G=2) == 307_200


def test_depthwise_conv_has_one_channel_per_filter():
    assert f.conv2d_weights(C=32, M=32, R=3, S=3, G=32) == 9 * 32


def test_groups_must_divide_channels_and_filters():
    with pytest.raises(cnnlib.CnnlibError, match="groups G=3 must divide"):
        f.conv2d_weights(C=32, M=32, R=3, S=3, G=3)


def test_shapes_must_be_positive_integers():
    with pytest.raises(cnnlib.CnnlibError, match="R must be a positive integer"):
        f.conv2d_weights(C=3, M=2, R=0, S=3)


def test_fc_is_one_mac_per_weight_per_image():
    assert f.fc_weights(9216, 4096) == 37_748_736
    assert f.fc_macs(N=2, C=9216, M=4096) == 2 * 37_748_736


@pytest.mark.parametrize(("H", "R", "stride", "padding", "ceil", "expected"), [
    (227, 11, 4, 0, False, 55),   # AlexNet conv1
    (224, 7, 2, 3, False, 112),   # ResNet conv1
    (112, 3, 2, 0, False, 55),    # GoogLeNet pool1, rounded down
    (112, 3, 2, 0, True, 56),     # ... and rounded up, as Caffe did
    (2, 3, 1, 0, False, 0),       # a window larger than its input: nothing left
])
def test_output_size_matches_pytorch(H, R, stride, padding, ceil, expected):
    assert f.conv_output_size(H, R, stride, padding, ceil_mode=ceil) == expected
    if expected:
        pool = nn.MaxPool2d(R, stride, padding, ceil_mode=ceil)
        assert pool(torch.empty(1, 1, H, H, device="meta")).shape[-1] == expected


def test_depthwise_separable_ratio_is_rsm_over_rs_plus_m():
    # 3x3 filters, 512 outputs: 9 * 512 / (9 + 512)
    assert f.depthwise_separable_ratio(3, 3, 512) == pytest.approx(8.84, abs=0.01)


def test_two_stacked_3x3_see_5x5_with_18_instead_of_25_weights():
    assert f.receptive_field_of_stack(3, 2) == 5
    assert 2 * f.conv2d_weights(1, 1, 3, 3) == 18 < f.conv2d_weights(1, 1, 5, 5) == 25


def test_flops_are_two_per_mac():
    assert f.flops(724_406_816) == 1_448_813_632
