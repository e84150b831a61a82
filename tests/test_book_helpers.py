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


def test_html_table_writes_an_empty_corner_as_a_plain_cell():
    """A header cell without text would be announced as a column with no name."""
    from cnnlib.htmltable import html_table

    out = html_table(("", "MACs"), [("conv1", "105M")], style=False)
    assert "<thead><tr><td></td><th>MACs</th></tr></thead>" in out


def test_html_table_style_never_shrinks_type_and_follows_the_theme_colours():
    """On a phone a wide table scrolls rather than shrinking below 0.85 of the text, and its
    colours are the theme's (light or dark mode), with fallbacks outside the book."""
    import re

    from cnnlib.htmltable import STYLE

    table = float(re.search(r"table\.cnnlib-table \{[^}]*font-size:\s*([0-9.]+)em", STYLE).group(1))
    inner = [float(s) for s in re.findall(r"font-size:\s*([0-9.]+)em", STYLE)]
    assert all(table * size >= 0.85 for size in inner if size != table), (table, inner)
    assert "@media" not in STYLE or "font-size" not in STYLE.split("@media", 1)[1]
    colours = re.findall(r"(?:color|background|border-bottom):[^;}]*", STYLE)
    assert colours and all("var(--pst-color-" in c for c in colours), colours


def test_lecture_summary_marks_counts_with_a_class_not_an_inline_colour():
    """An inline grey is unreadable in dark mode; the class takes the theme's muted colour."""
    from cnnlib.lecture import summary_html

    html = summary_html()
    assert 'class="counted"' in html and "color:#" not in html.replace(" ", "")
