"""cnnlib.book: the narrow tables the chapters show, their labels, and glue."""

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


def test_glue_hands_a_value_to_the_prose_without_displaying_it(monkeypatch):
    import myst_nb

    from cnnlib.book import glue

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda *args, **kwargs: calls.append((args, kwargs)))
    glue("alexnet_macs", "724M")
    assert calls == [(("alexnet_macs", "724M"), {"display": False})]


def test_plain_table_hides_the_index_and_pads_the_cells():
    import pandas as pd

    from cnnlib.book import plain_table

    html = plain_table(pd.DataFrame({"network": ["AlexNet"], "MACs": ["724M"]}), "A caption").to_html()
    assert "padding: 2px 10px 2px 0" in html and "<caption>A caption</caption>" in html
    assert ">0<" not in html   # no index column
    assert "<caption>" not in plain_table(pd.DataFrame({"a": [1]})).to_html()


def test_stage_frame_groups_vgg16_by_output_size_then_lists_its_fc_layers():
    from cnnlib.book import stage_frame

    vgg16 = cnnlib.count_costs("vgg16")
    stages = stage_frame(vgg16)
    assert stages["stage"].tolist() == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert stages["layers"].tolist() == [2, 2, 3, 3, 3, 1, 1, 1]
    assert stages["output"].tolist()[:2] == ["224x224x64", "112x112x128"]
    assert stages["output"].iloc[-1] == "1000"
    assert stages["weights"].sum() == vgg16.weights and stages["MACs"].sum() == vgg16.macs


def test_inception_branches_add_up_to_the_module():
    from cnnlib.book import inception_branches
    from cnnlib.models.googlenet import INCEPTION_TABLE, Inception

    row = INCEPTION_TABLE[0]   # 3a: 64, 96 -> 128, 16 -> 32, pool -> 32
    report = cnnlib.count_costs(Inception(192, row), (1, 192, 28, 28))
    rows = inception_branches(report)
    assert [r["branch"] for r in rows] == ["1x1", "1x1 -> 3x3", "1x1 -> 5x5", "pool -> 1x1"]
    assert [r["filters"] for r in rows] == [64, 128, 32, 32]
    assert sum(r["MACs"] for r in rows) == report.macs and sum(r["weights"] for r in rows) == report.weights
    with pytest.raises(ValueError, match="not a GoogLeNet Inception module"):
        inception_branches(cnnlib.count_costs("alexnet"))


def test_kind_frame_gives_each_kinds_share_in_percent():
    from cnnlib import accel
    from cnnlib.book import kind_frame

    r = accel.estimate("mobilenet_v1", "systolic32")
    frame = kind_frame(r)
    assert list(frame.columns) == ["MACs", "cycles", "latency", "energy"]
    assert set(frame.index) == set(r.by_kind())
    shares = r.by_kind()["dwconv"]
    assert frame.loc["dwconv", "MACs"] == f"{100 * shares.macs_share:.1f}%"   # under 10%: one decimal
    assert frame.loc["dwconv", "cycles"] == f"{100 * shares.cycles_share:.0f}%"


def test_cite_label_writes_a_bibliography_key_as_the_book_cites_it():
    from cnnlib.book import cite_label

    assert cite_label(("howard2017mobilenets", "Table 9")) == "Howard 2017, Table 9"
    assert cite_label(("tan2019efficientnet", "Table 2, arXiv v5")) == "Tan 2019, Table 2, arXiv v5"
    with pytest.raises(ValueError, match="not a bibliography key"):
        cite_label(("Howard et al.", "Table 9"))


def test_cell_frame_transcribes_a_nasnet_cell():
    from cnnlib.book import cell_frame
    from cnnlib.models.nasnet import NORMAL_CELL, REDUCTION_CELL

    frame = cell_frame(NORMAL_CELL)
    assert list(frame.index) == [2, 3, 4, 5, 6] and list(frame.columns) == ["left", "right"]
    assert frame.loc[2, "left"] == "5x5 sep conv (state 0)" and frame.loc[4, "right"] == "identity (state 1)"
    assert "3x3 max pool" in " ".join(cell_frame(REDUCTION_CELL).to_numpy().ravel())


def test_a_models_published_figure_is_found_by_metric_variant_and_source():
    info = cnnlib.model_info("mobilenet_v1")
    assert info.figure("macs").value == "569M"
    assert info.figure("macs", width_mult=0.5).value == "149M"
    assert info.figure("weights", input_size=(3, 160, 160), width_mult=0.5).value == "1.32M"
    assert cnnlib.model_info("googlenet").figure("macs", source="howard2017mobilenets").value == "1550M"
    with pytest.raises(LookupError, match="2 published macs figures.*name a source"):
        cnnlib.model_info("googlenet").figure("macs")
    with pytest.raises(LookupError, match="0 published flops figures"):
        info.figure("flops")
