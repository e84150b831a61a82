"""A published figure is matched at the precision it was printed with."""

import pytest

from cnnlib.published import Published, parse_figure, read_figure


@pytest.mark.parametrize(("text", "value", "half"), [
    ("3.86G", 3.86e9, 0.005e9),
    ("2.6k", 2600, 50),
    ("61M", 61e6, 0.5e6),
    ("60,000", 60000, 0.5),
    ("0.39B", 0.39e9, 0.005e9),
    ("15300", 15300, 0.5),      # trailing zeros are printed digits
    ("60", 60, 0.5),
    ("70.6%", 70.6, 0.05),
    ("~1.5x", 1.5, 0.05),
    ("two", 2, 0.5),
])
def test_parse_figure_keeps_the_printed_precision(text, value, half):
    v, h = parse_figure(text)
    assert v == pytest.approx(value) and h == pytest.approx(half)


def test_a_count_matches_when_it_rounds_to_the_printed_figure():
    p = Published("macs", "3.86G", "lecture")
    assert p.matches(3_864_000_000) and p.matches(3_855_000_000)
    assert not p.matches(3_866_000_000) and not p.matches(4.09e9)


def test_a_tolerance_replaces_the_printed_precision():
    p = Published("macs", "1550M", "paper", rel_tol=0.1, note="why")
    assert p.matches(1.43e9) and not p.matches(1.3e9)


def test_an_unreadable_figure_is_an_error():
    with pytest.raises(ValueError, match="cannot read"):
        parse_figure("about 5 billion")


@pytest.mark.parametrize(("text", "significant", "value", "half"), [
    ("15300", 3, 15300, 50), ("720", 2, 720, 5), ("60", 1, 60, 5), ("60M", 1, 60e6, 5e6),
    ("15300", 5, 15300, 0.5),
])
def test_a_source_that_kept_fewer_digits_says_how_many(text, significant, value, half):
    assert read_figure(text, significant) == (pytest.approx(value), pytest.approx(half))


def test_more_significant_figures_than_printed_is_an_error():
    with pytest.raises(ValueError, match="cannot have kept 3"):
        read_figure("4.2", 3)
    with pytest.raises(ValueError, match="at least 1"):
        read_figure("60", 0)


def test_text_is_not_a_figure():
    assert read_figure("3 - 1024") is None and read_figure("11x11") is None and read_figure("") is None
