"""The lecture's figures, reproduced by counting: AlexNet's layer table, VGG-16, ResNet-50,
and the whole "Summary of Popular CNNs" slide regenerated from code."""

import pytest

import cnnlib
from cnnlib.lecture import MODELS, SUMMARY, format_summary_table, summary_table
from cnnlib.text import human


def test_alexnet_layer_table_of_the_lecture():
    r = cnnlib.count_costs("alexnet")
    convs, fcs = r.conv_layers, r.fc_layers
    assert [human(c.weights, 3) for c in convs] == ["34.8k", "307k", "885k", "664k", "442k"]
    assert [human(c.macs, 3) for c in convs] == ["105M", "224M", "150M", "112M", "74.8M"]
    assert [round(c.macs / 1e6) for c in convs] == [105, 224, 150, 112, 75]
    assert [human(f.weights, 3) for f in fcs] == ["37.7M", "16.8M", "4.10M"]
    assert [round(f.macs / 1e6) for f in fcs] == [38, 17, 4]
    assert [c.C // c.G for c in convs] == [3, 48, 256, 192, 192]   # the slide's "# Channels (C)"
    assert [c.M for c in convs] == [96, 256, 384, 384, 256]
    assert [c.R for c in convs] == [11, 5, 3, 3, 3] and [c.stride for c in convs] == [4, 1, 1, 1, 1]
    assert convs[0].output_shape == (1, 96, 55, 55)
    assert r.macs == 724_406_816 and round(r.macs / 1e6) == 724
    assert round(r.weights / 1e6) == 61 and round(fcs[0].weights / 1e6) == 38  # 38M of 61M


def test_alexnet_single_tower_doubles_the_weights_of_grouped_layers():
    two, one = cnnlib.count_costs("alexnet"), cnnlib.count_costs("alexnet", towers=1)
    for a, b, grouped in zip(two.conv_layers, one.conv_layers, [False, True, False, True, True], strict=True):
        assert b.weights == (2 * a.weights if grouped else a.weights)


def test_vgg16_figures_of_the_lecture():
    r = cnnlib.count_costs("vgg16")
    assert (round(r.conv_weights / 1e5) / 10, round(r.conv_macs / 1e8) / 10) == (14.7, 15.3)
    assert round(r.fc_weights / 1e6) == 124 and round(r.weights / 1e6) == 138
    assert round(r.macs / 1e8) / 10 == 15.5
    assert len(r.conv_layers) == 13 and len(r.fc_layers) == 3


def test_resnet50_figures_of_the_lecture():
    r = cnnlib.count_costs("resnet50")
    assert round(r.conv_weights / 1e5) / 10 == 23.5
    assert round(r.conv_macs / 1e7) / 100 == 3.86
    assert round(r.fc_weights / 1e6) == 2 and round(r.fc_macs / 1e6) == 2
    assert round(r.weights / 1e5) / 10 == 25.5
    assert round(r.macs / 1e8) / 10 == 3.9


@pytest.fixture(scope="module")
def table():
    return summary_table()


def test_every_cost_cell_of_the_summary_slide_is_reproduced(table):
    for row in ("CONV # of Weights", "CONV # of MACs", "FC # of Weights", "FC # of MACs",
                "Total Weights", "Total MACs"):
        for col, cell in zip(MODELS, table[row], strict=True):
            assert cell.matches, f"{col}, {row}: slide {cell.lecture}, counted {cell.counted}"


def test_every_difference_from_the_slide_is_explained(table):
    for row, cells in table.items():
        for col, cell in zip(MODELS, cells, strict=True):
            if cell.matches is False:
                assert cell.note, f"{col}, {row}: slide {cell.lecture}, counted {cell.counted}, no note"


def test_the_regenerated_table_has_every_row_of_the_slide(table):
    assert list(table) == list(SUMMARY)
    text = format_summary_table(table)
    assert "3.86G / 3.86G" in text and "724M / 724M" in text


def test_depth_counts_layers_on_the_longest_path():
    from torch import nn

    from cnnlib.lecture import depth

    both = (nn.Conv2d, nn.Linear)
    assert depth("googlenet") == 21 and depth("googlenet", both) == 22   # the paper's "22 layers deep"
    assert depth("resnet50") == 49 and depth("resnet50", both) == 50     # shortcuts run beside the path
    assert len(cnnlib.count_costs("resnet50").conv_layers) == 53
    assert depth("vgg16", both) == 16 and depth("vgg19", both) == 19
    assert depth("alexnet", both) == 8


def test_conv_layer_cells_use_the_depth_only_where_the_count_differs(table):
    row = dict(zip(MODELS, table["# of CONV Layers"], strict=True))
    assert row["GoogLeNet (v1)"].matches and row["GoogLeNet (v1)"].value == 21
    assert "57" in row["GoogLeNet (v1)"].note                 # all CONV layers, said in the note
    assert row["ResNet-50"].matches and "53" in row["ResNet-50"].note
    assert row["VGG-16"].matches is False and row["VGG-16"].value == 13   # 16 is not the depth either


def test_cells_carry_the_raw_count(table):
    cell = dict(zip(MODELS, table["Total MACs"], strict=True))["AlexNet"]
    assert cell.value == 724_406_816 and cell.counted == "724M"


def test_zoo_rows_follow_the_lecture_and_list_every_model():
    from cnnlib.zoo import LECTURE_ORDER, lecture_order, zoo_rows

    names = [r.name for r in zoo_rows()]
    assert sorted(names) == sorted(cnnlib.list_models()) and len(set(names)) == len(names)
    assert names[:5] == ["lenet5", "alexnet", "vgg16", "vgg19", "googlenet"]
    assert names.index("resnet152") < names.index("inception_v3") < names.index("mobilenet_v1") \
        < names.index("nasnet_a_mobile") < names.index("efficientnet_b0")
    assert set(LECTURE_ORDER) <= set(cnnlib.list_models())   # no stale name in the order
    assert lecture_order() == names


def test_zoo_fc_column_separates_squeeze_and_excitation_layers():
    from cnnlib.zoo import zoo_rows

    rows = {r.name: r for r in zoo_rows()}
    assert rows["se_resnet50"].fc_label == "1 + 32 SE"      # two FC layers in each of 16 blocks
    assert rows["efficientnet_b0"].fc_label == "1 + 32 SE"
    assert rows["resnet50"].fc_label == "1" and rows["lenet5"].fc_label == "2"


def test_summary_html_marks_differences_and_numbers_the_notes(table):
    from cnnlib.lecture import summary_html

    html = summary_html(table)
    assert html.count("<tr>") == len(SUMMARY) + 1   # and the header row
    assert html.count(" ≠") == sum(c.matches is False for cells in table.values() for c in cells)
    assert html.count("<li>") == len({c.note for cells in table.values() for c in cells if c.note})
    assert "1.58G" in html and "<table" in html
