"""cnnlib.book.figures: each chapter figure draws what it is given, and stays phone-sized."""

import pytest
from matplotlib.figure import Figure

import cnnlib
from cnnlib.book import inception_branches
from cnnlib.book.figures import (
    conv_attention_figure,
    inception_figure,
    layer_bars,
    macs_per_weight_figure,
    receptive_field_figure,
)
from cnnlib.models.googlenet import INCEPTION_TABLE, Inception


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def _drawable(fig):
    fig.canvas.draw()   # renders: a figure that cannot be drawn fails here
    return fig


def test_every_figure_fits_a_phone_and_draws():
    vgg16 = cnnlib.count_costs("vgg16")
    row = INCEPTION_TABLE[0]
    module_3a = cnnlib.count_costs(Inception(192, row), (1, 192, 28, 28))
    figs = [inception_figure(row, inception_branches(module_3a)),
            conv_attention_figure([4, 8], [1, 2], [0.5, 4], 6.0, 256), receptive_field_figure(),
            layer_bars(vgg16), macs_per_weight_figure({"A": 10.0}, {"A": 300.0})]
    for fig in figs:
        assert isinstance(fig, Figure) and fig.get_size_inches()[0] <= 6
        _drawable(fig)


def test_the_inception_figure_labels_each_branch_with_its_filters_and_macs():
    row = INCEPTION_TABLE[0]   # module 3a
    branches = inception_branches(cnnlib.count_costs(Inception(192, row), (1, 192, 28, 28)))
    texts = _texts(inception_figure(row, branches))
    assert f"concatenate: 28x28x{row.M}" in texts
    for label in (f"1x1, {row.n1x1}", f"3x3, {row.n3x3}", f"5x5, {row.n5x5}", f"1x1, {row.pool_proj}"):
        assert any(t.startswith(label + "\n") and t.endswith(" MACs") for t in texts), label
    assert "1x1, 96" in texts and "1x1, 16" in texts   # the two reductions of 3a


def test_the_attention_figure_draws_both_curves_and_where_they_cross():
    fig = conv_attention_figure([4, 8, 12], [9e9, 18e9, 27e9], [1e9, 16e9, 81e9], 7.5, 256)
    ax = fig.axes[0]
    conv, attention, crossing = ax.lines
    assert list(conv.get_ydata()) == [9, 18, 27] and list(attention.get_ydata()) == [1, 16, 81]
    assert list(crossing.get_xdata()) == [7.5, 7.5]
    assert "C = 256" in ax.get_xlabel()


def test_vgg_bars_name_the_layers_as_vgg_does():
    vgg16 = cnnlib.count_costs("vgg16")
    fig = layer_bars(vgg16)
    top, bottom = fig.axes
    names = [t.get_text() for t in bottom.get_xticklabels()]
    assert names[:3] == ["conv1_1", "conv1_2", "conv2_1"] and names[-4:] == ["conv5_3", "fc6", "fc7", "fc8"]
    heights = [p.get_height() for p in top.patches]
    assert heights == pytest.approx([r.weights / 1e6 for r in vgg16.conv_layers + vgg16.fc_layers])


def test_the_macs_per_weight_bars_show_both_ratios_with_labels():
    fig = macs_per_weight_figure({"AlexNet": 12.0, "GoogLeNet (v1)": 226.0},
                                 {"AlexNet": 279.0, "GoogLeNet (v1)": 300.0})
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [12.0, 226.0, 279.0, 300.0]
    assert _texts(fig) == ["12", "226"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["AlexNet", "GoogLeNet"]


def test_the_receptive_field_figure_has_a_slice_and_a_grid():
    slice_, grid = receptive_field_figure().axes
    assert "7 input pixels" in slice_.get_title()
    legend = [t.get_text() for t in grid.get_legend().get_texts()]
    assert legend == ["3 x 3x3: 7x7", "2 x 3x3: 5x5", "1 x 3x3: 3x3"]
