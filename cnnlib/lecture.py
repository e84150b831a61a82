"""The lecture's "Summary of Popular CNNs" table, regenerated from code.

``SUMMARY`` transcribes the slide as printed. :func:`summary_table` counts every cell it can
and puts the count beside the printed figure. Cost cells (weights and MACs) are matched with
the model's :class:`~cnnlib.published.Published` figure whose source is the lecture, which
names the variant and the metric that reproduce it (LeNet-5's cells come from three different
conventions). Structure cells (layer counts, filter sizes, channels) are computed from the
model's cost report; where they differ from the slide, ``STRUCTURE_NOTES`` says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from torch import nn

from cnnlib.costs.report import CostReport
from cnnlib.counting import count_costs
from cnnlib.published import Published
from cnnlib.registry import create_model, model_info
from cnnlib.text import human, render

#: Column headings of the slide and the registered model each one is.
MODELS: dict[str, str] = {
    "LeNet-5": "lenet5",
    "AlexNet": "alexnet",
    "VGG-16": "vgg16",
    "GoogLeNet (v1)": "googlenet",
    "ResNet-50": "resnet50",
}

#: The slide, row by row, as printed (February 12, 2024).
SUMMARY: dict[str, list[str]] = {
    "Top-5 error": ["n/a", "16.4", "7.4", "6.7", "5.3"],
    "Input Size": ["28x28", "227x227", "224x224", "224x224", "224x224"],
    "# of CONV Layers": ["2", "5", "16", "21 (depth)", "49"],
    "Filter Sizes": ["5", "3, 5, 11", "3", "1, 3, 5, 7", "1, 3, 7"],
    "# of Channels": ["1, 6", "3 - 256", "3 - 512", "3 - 1024", "3 - 2048"],
    "# of Filters": ["6, 16", "96 - 384", "64 - 512", "64 - 384", "64 - 2048"],
    "Stride": ["1", "1, 4", "1", "1, 2", "1, 2"],
    "CONV # of Weights": ["2.6k", "2.3M", "14.7M", "6.0M", "23.5M"],
    "CONV # of MACs": ["283k", "666M", "15.3G", "1.43G", "3.86G"],
    "# of FC layers": ["2", "3", "3", "1", "1"],
    "FC # of Weights": ["58k", "58.6M", "124M", "1M", "2M"],
    "FC # of MACs": ["58k", "58.6M", "124M", "1M", "2M"],
    "Total Weights": ["60k", "61M", "138M", "7M", "25.5M"],
    "Total MACs": ["341k", "724M", "15.5G", "1.43G", "3.9G"],
}

#: Which report metrics a cost row of the slide may stand for.
COST_ROWS: dict[str, tuple[str, ...]] = {
    "CONV # of Weights": ("conv_weights",),
    "CONV # of MACs": ("conv_macs", "connections - fc_macs"),
    "FC # of Weights": ("fc_weights",),
    "FC # of MACs": ("fc_macs",),
    "Total Weights": ("weights", "params"),
    "Total MACs": ("macs", "connections"),
}

#: Why a counted structure cell differs from the slide.
STRUCTURE_NOTES: dict[tuple[str, str], str] = {
    ("Input Size", "LeNet-5"): "28x28 is the MNIST digit; LeNet-5 reads it centred in a 32x32 field",
    ("# of CONV Layers", "VGG-16"): "the slide counts all 16 weight layers; 13 of them are CONV layers",
    ("# of CONV Layers", "GoogLeNet (v1)"): "counted along the longest path from input to output (the "
                                            "depth): 21 CONV layers; the inception modules' parallel "
                                            "branches hold 57 CONV layers in all",
    ("# of CONV Layers", "ResNet-50"): "counted along the longest path (the main path): 49 CONV layers; "
                                       "the four 1x1 projection shortcuts make 53 in all",
    ("# of Channels", "GoogLeNet (v1)"): "1024 channels enter the FC layer; the widest CONV input is 832 "
                                         "(modules 5a and 5b)",
    ("# of Filters", "GoogLeNet (v1)"): "the slide leaves out the 1x1 reduce layers before the 5x5 "
                                        "filters, which have as few as 16 filters (3a, 4a)",
}

#: Why a structure row is not counted at all.
NOT_COUNTED = {"Top-5 error": "an accuracy, measured on ImageNet: not a property of the layer shapes"}


@dataclass(frozen=True)
class Cell:
    """One cell of the regenerated table: the slide's figure and what the code counts."""

    lecture: str
    counted: str
    matches: bool | None
    note: str = ""
    value: int | str | None = None  # the count itself (``counted`` is it rounded, for print)


def _listing(values: list[int]) -> str:
    v = sorted(set(values))
    return ", ".join(map(str, v)) if len(v) <= 2 else f"{v[0]} - {v[-1]}"


@cache
def depth(model: str, kinds: tuple[type[nn.Module], ...] = (nn.Conv2d,), **kwargs: object) -> int:
    """Layers of ``kinds`` on the longest path from the input to the output of ``model``.

    The model is built on ``meta`` and traced with ``torch.fx``; a layer on a parallel branch
    (an inception branch, a projection shortcut) adds to the path it lies on, not to the depth.
    ``depth("googlenet")`` is 21 CONV layers, and 22 with ``kinds=(nn.Conv2d, nn.Linear)``: the
    paper's "22 layers deep"; ``depth("resnet50", (nn.Conv2d, nn.Linear))`` is 50.
    """
    from torch import fx

    module = create_model(model, device="meta", **kwargs)
    named = dict(module.named_modules())
    longest: dict[fx.Node, int] = {}
    for node in fx.symbolic_trace(module).graph.nodes:  # nodes come in topological order
        own = node.op == "call_module" and isinstance(named[node.target], kinds)
        longest[node] = max((longest[a] for a in node.all_input_nodes), default=0) + own
    return max(longest.values())


def _strides(strides: Iterable[int | tuple[int, int] | None]) -> str:
    """The distinct strides, smallest first; a stride that differs per axis as (height, width)."""
    distinct = {s for s in strides if s is not None}
    return ", ".join(map(str, sorted(distinct, key=lambda s: s if isinstance(s, tuple) else (s, s))))


def structure(report: CostReport) -> dict[str, str]:
    """The structure rows of the slide, computed from a cost report."""
    convs = report.conv_layers   # a CONV row always has its letters: R, M, stride
    return {
        "Input Size": "x".join(map(str, report.input_size[2:])),
        "# of CONV Layers": str(len(convs)),
        "Filter Sizes": ", ".join(map(str, sorted({r.R for r in convs if r.R is not None}))),
        "# of Channels": _listing([r.channels_per_filter for r in convs]),  # channels one filter sees
        "# of Filters": _listing([r.M for r in convs if r.M is not None]),
        "Stride": _strides(r.stride for r in convs),
        "# of FC layers": str(len(report.fc_layers)),
    }


def _norm(s: str) -> str:
    return s.replace(" ", "")


def lecture_figure(model: str, row: str, value: str) -> Published:
    """The model's published lecture figure behind a cost cell of the slide."""
    for p in model_info(model).published:
        if p.source == "lecture" and p.value == value and p.metric in COST_ROWS[row]:
            return p
    raise LookupError(f"{model} has no lecture figure {value!r} for {row!r}")


def summary_table() -> dict[str, list[Cell]]:
    """Every row of the slide, each cell with the lecture's figure and the counted one."""
    defaults = {col: count_costs(name) for col, name in MODELS.items()}
    table: dict[str, list[Cell]] = {}
    for row, printed in SUMMARY.items():
        cells = []
        for (col, name), value in zip(MODELS.items(), printed, strict=True):
            if row in NOT_COUNTED:
                cells.append(Cell(value, "", None, NOT_COUNTED[row]))
            elif row in COST_ROWS:
                p = lecture_figure(name, row, value)
                report = count_costs(name, p.input_size, **p.kwargs)
                counted = report.metric(p.metric)
                cells.append(Cell(value, human(counted), p.matches(counted), p.note, value=counted))
            else:
                text = structure(defaults[col])[row]
                raw: int | str = int(text) if text.isdigit() else text
                if row == "# of CONV Layers" and _norm(text) != _norm(value):
                    # the slide may count CONV layers along the longest path (its "depth")
                    deep = depth(name)
                    if _norm(value).removesuffix("(depth)") == str(deep):
                        text, raw = value, deep
                same = _norm(text) == _norm(value)
                cells.append(Cell(value, text, same, STRUCTURE_NOTES.get((row, col), ""), raw))
        table[row] = cells
    return table


def _numbered_notes(table: dict[str, list[Cell]]) -> tuple[dict[str, int], list[str]]:
    """Number the notes in reading order; a note shared by several cells gets one number."""
    numbers: dict[str, int] = {}
    lines: list[str] = []
    for row, cells in table.items():
        for col, cell in zip(MODELS, cells, strict=True):
            if cell.note and cell.note not in numbers:
                numbers[cell.note] = len(numbers) + 1
                where = row if row in NOT_COUNTED else f"{col}, {row}"
                lines.append(f"{where}: {cell.note}")
    return numbers, lines


def format_summary_table(table: dict[str, list[Cell]] | None = None) -> str:
    """The table as text: ``lecture / counted`` per cell, a mark where they differ, then notes."""
    table = table or summary_table()
    numbers, lines = _numbered_notes(table)
    rows = []
    for row, cells in table.items():
        out = [row]
        for cell in cells:
            text = cell.lecture if not cell.counted else f"{cell.lecture} / {cell.counted}"
            if cell.note:
                text += f" [{numbers[cell.note]}]"
            if cell.matches is False:
                text += " !"
            out.append(text)
        rows.append(out)
    body = render(("lecture / counted", *MODELS), rows, align="l" * (len(MODELS) + 1))
    return (body + "\n\n! the count differs from the slide (the note says why)\n\n"
            + "\n".join(f"[{i}] {line}" for i, line in enumerate(lines, 1)))


def summary_html(table: dict[str, list[Cell]] | None = None) -> str:
    """The table as HTML that fits a phone: each cell shows the slide's figure over the count
    (in grey), "≠" where they differ, and a superscript number for the note that says why."""
    from html import escape

    from cnnlib.htmltable import Raw, html_table

    table = table or summary_table()
    numbers, lines = _numbered_notes(table)
    rows = []
    for row, cells in table.items():
        out: list[object] = [row]
        for cell in cells:
            text = escape(cell.lecture)
            if cell.counted and _norm(cell.counted) != _norm(cell.lecture):
                text += f'<br><span class="counted">{escape(cell.counted)}</span>'
            if cell.matches is False:
                text += " ≠"
            if cell.note:
                text += f"<sup>{numbers[cell.note]}</sup>"
            out.append(Raw(text))
        rows.append(out)
    notes = "".join(f"<li>{escape(line)}</li>" for line in lines)
    share = (100 - 22) // len(MODELS)
    return (html_table(("", *MODELS), rows, widths=(100 - share * len(MODELS), *[share] * len(MODELS)))
            + f'<ol style="font-size:0.85em">{notes}</ol>')
