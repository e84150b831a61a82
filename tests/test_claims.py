"""The claims ledger: every claim's verdict follows from its computed value, and the command prints it."""

import json
import re
from pathlib import Path

import pytest

from cnnlib import claims as ledger
from cnnlib.cli import main
from cnnlib.lecture import MODELS, SUMMARY

LECTURE = Path(__file__).resolve().parents[2] / "shared" / "lecture" / "popular-dnn-models.txt"
FIELDS = ["slide", "quote", "stated", "computed", "verdict", "why"]


@pytest.fixture(scope="module")
def items():
    return ledger.claims()


def _squash(text: str) -> str:
    return re.sub(r"[\s*#_]", "", text).lower()


def test_every_claim_has_the_fields_and_a_known_verdict(items):
    for c in items:
        record = c.record()
        assert list(record) == FIELDS
        assert c.slide and c.quote and c.stated and c.why, record
        assert c.verdict in ledger.VERDICTS
        assert (c.computed is None) == (c.verdict == "not computable"), record
        assert isinstance(c.computed, int | float | str | type(None))


def test_the_typed_verdict_agrees_with_the_computation(items):
    wrong = [(c.slide, c.quote, c.stated, c.computed, c.expected, c.verdict)
             for c in items if c.expected != c.verdict]
    assert not wrong, f"typed verdicts the computation contradicts: {wrong}"


def test_each_reproduced_number_rounds_to_its_stated_figure(items):
    checked = 0
    for c in items:
        figure = ledger.read_figure(c.stated)
        if c.verdict != "reproduced" or figure is None or not isinstance(c.computed, int | float):
            continue
        value, half = figure
        assert abs(c.computed - value) <= half * (1 + 1e-9), (c.slide, c.quote, c.stated, c.computed)
        checked += 1
    assert checked >= 100


def test_each_difference_says_its_cause(items):
    for c in items:
        if c.verdict == "differs":
            assert len(c.why) > 30, (c.slide, c.quote, c.why)


def test_slide_titles_come_from_the_lecture(items):
    if not LECTURE.exists():
        pytest.skip(f"the lecture text is not at {LECTURE}")
    text = _squash(LECTURE.read_text())
    for slide in {c.slide for c in items}:
        assert _squash(slide) in text, slide


def test_every_cell_of_the_summary_slide_is_a_claim(items):
    cells = [c for c in items if c.slide == "Summary of Popular CNNs" and ", " in c.quote
             and c.quote.split(", ")[0] in MODELS]
    assert len(cells) == len(SUMMARY) * len(MODELS) == 70
    assert [c.stated for c in cells[:5]] == SUMMARY["Top-5 error"]


def test_counts_per_verdict(items):
    counts = ledger.verdict_counts(items)
    assert sum(counts.values()) == len(items) >= 150
    assert counts["reproduced"] >= 120
    # the known differences: truncations, slips and conventions the issue names
    assert 10 <= counts["differs"] <= 30
    assert counts["not computable"] >= 20


@pytest.mark.parametrize(("quote", "stated", "computed"), [
    ("Number of multiplications reduced from 854M", "854M", 854_196_224),
    ("... to 358M", "358M", 271_351_808),
    ("GoogleNet: Million Mult-Adds", "1550", 1582.672),
    ("Squeezenet: Million Mult-Adds", "1700", 861.34),
])
def test_known_figures(items, quote, stated, computed):
    c = next(c for c in items if c.quote == quote)
    assert (c.stated, c.computed) == (stated, pytest.approx(computed, abs=1e-3))


def test_the_differences_the_issue_names(items):
    by_quote = {(c.slide, c.quote): c for c in items}
    assert by_quote["GoogLeNet:1x1 Bottleneck", "... to 358M"].verdict == "differs"
    assert by_quote["GoogLeNet:1x1 Bottleneck", "Number of multiplications reduced from 854M"].verdict \
        == "reproduced"
    squeeze = by_quote["Comparison with other CNN Models", "Squeezenet: Million Mult-Adds"]
    assert squeeze.verdict == "differs" and "FLOPs" in squeeze.why
    goog = by_quote["Summary of Popular CNNs", "GoogLeNet (v1), # of MACs (CONV layers)"]
    assert goog.verdict == "reproduced" and "ceil" in goog.why and "1.58G" in goog.why
    nas = by_quote["Example: NASNet", "Search Space: Build model from popular layers"]
    assert nas.verdict == "differs" and "7x7 separable convolution" in nas.computed


def test_the_slips_the_chapters_discuss_are_judged_from_a_computation(items):
    """The lecture's non-numeric slips and dates that the book explains are ledger entries too,
    each judged against something cnnlib computes (a model as its paper builds it, a formula,
    references.bib), not typed in."""
    by_quote = {(c.slide, c.quote): c for c in items}
    bn = by_quote["Summary of Popular CNNs", "GoogLeNet (v1): Batch Normalization"]
    assert (bn.verdict, bn.computed) == ("differs", 0) and "local response" in bn.why
    vanishing = next(c for c in items if c.slide == "ResNet: Training")
    assert vanishing.verdict == "differs" and vanishing.computed > 1   # the gradient grows
    top5 = by_quote["Summary of Popular CNNs", "Top-5 error: 16.4, 7.4, 6.7, 5.3 (one row)"]
    assert top5.verdict == "differs" and top5.computed == "5 networks, 1 network, 7 networks, 1 network"
    wrn = next(c for c in items if c.slide == "References" and c.quote.startswith("Wide ResNet"))
    assert (wrn.stated, wrn.computed, wrn.verdict) == ("2017", 2016, "differs")
    alexnet = by_quote["Reduce Cost of FC Layers", "224x224 (the input drawn in the AlexNet figure)"]
    assert (alexnet.computed, alexnet.verdict) == ("227x227", "differs")
    gpu = by_quote["GoogLeNet:1x1 Bottleneck",
                   "Reduce weights such that entire CNN can be trained on one GPU"]
    assert gpu.verdict == "not computable" and "DistBelief" in gpu.why


def test_lenet_283k_is_not_called_reproduced(items):
    """The 283k "CONV MACs" are the paper's connections minus the FC MACs: arithmetic on its
    totals, which no count of C1 and C3 gives; the ledger judges what C1 and C3 compute."""
    c = next(c for c in items if c.quote == "LeNet-5, # of MACs (CONV layers)")
    assert (c.stated, c.computed, c.verdict) == ("283k", 267_600, "differs")
    assert "340,908 connections" in c.why and "282,828" in c.why


def test_the_gradient_experiment_leaves_the_callers_random_state_alone():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ledger._plain_gradient_ratio(n=1)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(("stated", "figure"), [
    ("1.43G", (1.43e9, 0.005e9)), ("34k", (34e3, 500)), ("60,000", (60000, 5000)),
    ("15300", (15300, 50)), ("4866", (4866, 0.5)), ("0.39B", (0.39e9, 0.005e9)), ("70.6%", (70.6, 0.05)),
    ("1.5x", (1.5, 0.05)), ("two", (2, 0.5)), ("3 - 1024", None), ("11x11", None),
])
def test_read_figure(stated, figure):
    got = ledger.read_figure(stated)
    assert got == (None if figure is None else pytest.approx(figure))


@pytest.mark.parametrize(("stated", "computed", "verdict"), [
    ("34k", 34_848, "differs"), ("35k", 34_848, "reproduced"), ("16+", 16, "reproduced"),
    ("24+", 18, "differs"), ("3 - 256", "3 - 256", "reproduced"), ("3 - 1024", "3 - 832", "differs"),
    ("70.6%", None, "not computable"), ("5x5", "5x5", "reproduced"),
])
def test_judge(stated, computed, verdict):
    assert ledger.judge(stated, computed) == verdict


def test_a_wrong_typed_verdict_is_caught():
    spec = ledger.Spec("VGG-16", "Weights: 138M", "138M", lambda: 120_000_000, "reproduced", "a typo")
    claim = ledger._evaluate(spec)
    assert (claim.expected, claim.verdict) == ("reproduced", "differs")
    with pytest.raises(ValueError, match="verdict must be one of"):
        ledger.Spec("VGG-16", "x", "1", None, "fine", "why")


def test_json_command_lists_every_claim(capsys, items):
    assert main(["claims", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(items)
    assert all(list(r) == FIELDS for r in records)
    assert {r["verdict"] for r in records} == set(ledger.VERDICTS)
    assert all(r["computed"] is None for r in records if r["verdict"] == "not computable")


def test_table_command_prints_counts_and_reasons(capsys, items):
    assert main(["claims"]) == 0
    out = capsys.readouterr().out
    counts = ledger.verdict_counts(items)
    assert f"{len(items)} claims: {counts['reproduced']} reproduced" in out
    assert out.count("\n- ") == counts["differs"]


def test_html_groups_by_slide_and_escapes(items):
    html = ledger.claims_html(items)
    assert html.count('<tr class="group">') == len(dict.fromkeys(c.slide for c in items))
    assert html.count('<tr class="note">') == len(items)
    assert "C &gt; M" in html and "<table" in html
