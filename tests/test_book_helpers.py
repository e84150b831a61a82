"""cnnlib.book: the narrow tables the chapters show."""

import pytest

import cnnlib
from cnnlib.book import filter_label, layer_frame, lecture_names, totals_frame


def test_alexnet_layer_frame_shows_per_group_channels():
    frame = layer_frame(cnnlib.count_costs("alexnet"))
    assert list(frame.columns) == ["filter", "M", "weights", "MACs"]
    assert len(frame) == 8  # 5 CONV + 3 FC, nothing else
    assert frame.loc["features.4", "filter"] == "5x5x48, G=2"      # the lecture's C = 48
    assert frame.loc["features.10", "filter"] == "3x3x192, G=2"
    assert frame.loc["classifier.1", "weights"] == "37.7M"


def test_totals_count_only_conv_and_fc_layers():
    frame = totals_frame(cnnlib.count_costs("alexnet"))
    assert frame["layers"].tolist() == [5, 3, 8]
    assert frame.loc["total", "MACs"] == "724M"
    assert frame.loc["total", "weights"] == "61.0M"


def test_depthwise_and_pool_labels():
    r = cnnlib.count_costs("mobilenet_v1")
    dw = next(row for row in r.layers if row.kind == "dwconv")
    assert filter_label(dw) == "3x3x1, depth-wise"
    pool = next(row for row in cnnlib.count_costs("lenet5").layers if row.kind == "pool")
    assert filter_label(pool) == "2x2 pool"


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="no layer of kind"):
        layer_frame(cnnlib.count_costs("lenet5"), kinds=["dwconv"])


def test_lecture_names_number_conv_and_fc_layers():
    r = cnnlib.count_costs("alexnet")
    names = lecture_names(r)
    assert list(names.values()) == ["CONV1", "CONV2", "CONV3", "CONV4", "CONV5", "FC1", "FC2", "FC3"]
    frame = layer_frame(r, columns=("kind", "weights"), names="lecture")
    assert frame.loc["CONV2", "kind"] == "gconv" and frame.loc["FC1", "weights"] == "37.7M"


def test_bad_columns_and_names_are_clear_errors():
    r = cnnlib.count_costs("alexnet")
    with pytest.raises(ValueError, match="unknown column"):
        layer_frame(r, columns=("filter", "flops"))
    with pytest.raises(ValueError, match="names must be"):
        layer_frame(r, names="paper")
