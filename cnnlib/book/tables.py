"""The book's tables: cost reports and estimates as narrow pandas tables, and their labels.

The chapters show tables as HTML (a ``DataFrame`` is rendered as one), which must stay
readable on a phone: at most six short columns, numbers written as ``724M`` rather than
``724,406,816``. pandas is imported only when a table is made, so ``import cnnlib`` stays light.

>>> import cnnlib
>>> from cnnlib.book import layer_frame
>>> layer_frame(cnnlib.count_costs("alexnet")).loc["features.4", "filter"]
'5x5x48, G=2'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cnnlib.costs.report import CONV_KINDS, CostReport, LayerCost
from cnnlib.text import human, percent

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pandas.io.formats.style import Styler

    from cnnlib.accel.report import AccelReport
    from cnnlib.models.nasnet import CellSpec, Op

__all__ = ["cell_frame", "cite_label", "filter_label", "inception_branches", "kind_frame", "layer_frame",
           "lecture_names", "plain_table", "shape_label", "stage_frame", "totals_frame"]

#: Cell padding of :func:`plain_table`: the columns of a table without borders stay apart.
TABLE_PADDING = [{"selector": "td, th", "props": "padding: 2px 10px 2px 0;"}]

#: The layer kinds whose MACs and weights the lecture counts (CONV and FC layers).
COUNTED_KINDS: tuple[str, ...] = ("conv", "gconv", "dwconv", "fc")
#: The columns :func:`layer_frame` can show, and those it shows unless asked: four fit a
#: 420 px page with any layer names; five fit with short names (``names="lecture"``).
ALL_LAYER_COLUMNS: tuple[str, ...] = ("kind", "filter", "M", "output", "weights", "MACs")
LAYER_COLUMNS: tuple[str, ...] = ("filter", "M", "weights", "MACs")


def filter_label(row: LayerCost) -> str:
    """One filter of ``row`` as R x S x (channels it reads), e.g. ``'5x5x48, G=2'``.

    A filter of a grouped layer reads only the C/G channels of its own group, so the label
    shows C/G (AlexNet's layer 2: 96 input channels in two groups, 48 per filter) and names
    G. Rows without a filter (activations, element-wise layers) give ``''``.
    """
    if row.R is None or row.C is None:
        return ""
    if row.kind == "pool":
        return f"{row.R}x{row.S} pool"
    G = row.G or 1
    per_filter = f"{row.R}x{row.S}x{row.C // G}"
    if row.kind == "dwconv":
        return f"{per_filter}, depth-wise"
    return per_filter if G == 1 else f"{per_filter}, G={G}"


def shape_label(shape: tuple[int, ...]) -> str:
    """An activation shape without its batch dimension: ``(1, 96, 55, 55) -> '96x55x55'``."""
    return "x".join(str(d) for d in shape[1:])


def lecture_names(report: CostReport, kinds: Iterable[str] = COUNTED_KINDS) -> dict[str, str]:
    """Short names for the layers of ``kinds``, numbered by kind as the lecture does.

    CONV layers (``conv``, ``gconv``, ``dwconv``) become ``CONV1``, ``CONV2``...; FC layers
    ``FC1``...; other kinds their upper-case kind and a number (``POOL1``). Keys are the
    layers' names in the model, e.g. ``{"features.0": "CONV1", ..., "classifier.6": "FC3"}``.
    """
    wanted = frozenset(kinds)
    counters: dict[str, int] = {}
    names: dict[str, str] = {}
    for r in report.layers:
        if r.kind not in wanted or r.name in names:
            continue
        group = "CONV" if r.kind in CONV_KINDS else r.kind.upper()
        counters[group] = counters.get(group, 0) + 1
        names[r.name] = f"{group}{counters[group]}"
    return names


def layer_frame(report: CostReport, kinds: Iterable[str] = COUNTED_KINDS,
                columns: Sequence[str] = LAYER_COLUMNS, names: str = "model",
                digits: int = 3) -> pd.DataFrame:
    """The layers of ``report`` whose kind is in ``kinds``, as a narrow table.

    ``columns`` is any subset of :data:`ALL_LAYER_COLUMNS`: kind, filter
    (:func:`filter_label`), M (number of filters), output (C x P x Q), weights and MACs, the
    last two written with k/M/G to ``digits`` significant digits. The row labels are the
    layers' names in the model (``names="model"``) or the lecture's ``CONV1``... ``FC3``
    (``names="lecture"``, see :func:`lecture_names`), which fit a phone screen better.
    """
    import pandas as pd

    wanted = frozenset(kinds)
    rows = [r for r in report.layers if r.kind in wanted]
    if not rows:
        raise ValueError(f"{report.model} has no layer of kind {sorted(wanted)}; "
                         f"its kinds are {sorted({r.kind for r in report.layers})}")
    unknown = [c for c in columns if c not in ALL_LAYER_COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; choose from {list(ALL_LAYER_COLUMNS)}")
    if names not in ("model", "lecture"):
        raise ValueError(f"names must be 'model' or 'lecture', got {names!r}")
    cells = {
        "kind": lambda r: r.kind,
        "filter": filter_label,
        "M": lambda r: r.M if r.M is not None else "",
        "output": lambda r: shape_label(r.output_shape),
        "weights": lambda r: human(r.weights, digits),
        "MACs": lambda r: human(r.macs, digits),
    }
    labels = lecture_names(report, wanted) if names == "lecture" else {}
    frame = pd.DataFrame({c: [cells[c](r) for r in rows] for c in columns},
                         index=[labels.get(r.name, r.name) for r in rows])
    # The corner cell names the rows: one header row instead of pandas' two.
    return frame.rename_axis(columns="layer")


def totals_frame(report: CostReport, digits: int = 3) -> pd.DataFrame:
    """CONV, FC and total rows: how many layers, their weights and their MACs.

    Unlike the text table of :meth:`CostReport.table`, whose "total" row counts every layer
    call (activations, pooling, normalisation...), the layer column here counts only CONV and
    FC layers, the way the lecture counts them.
    """
    import pandas as pd

    conv = report.conv_layers
    fc = report.fc_layers
    data = {
        "layers": [len(conv), len(fc), len(conv) + len(fc)],
        "weights": [human(report.conv_weights, digits), human(report.fc_weights, digits),
                    human(report.conv_weights + report.fc_weights, digits)],
        "MACs": [human(report.conv_macs, digits), human(report.fc_macs, digits),
                 human(report.conv_macs + report.fc_macs, digits)],
    }
    return pd.DataFrame(data, index=["CONV", "FC", "total"]).rename_axis(columns=report.model)


def plain_table(frame: pd.DataFrame, caption: str | None = None) -> Styler:
    """``frame`` shown without its index, its columns padded apart, under ``caption``."""
    table = frame.style.hide(axis="index").set_table_styles(TABLE_PADDING)
    return table if caption is None else table.set_caption(caption)


def cite_label(source: tuple[str, str]) -> str:
    """``('howard2017mobilenets', 'Table 9') -> 'Howard 2017, Table 9'``: a bibliography key
    (author, year, first word of the title) and a place in the paper, as the book cites them."""
    key, where = source
    m = re.match(r"([a-z]+)(\d{4})", key)
    if not m:
        raise ValueError(f"{key!r} is not a bibliography key such as 'howard2017mobilenets'")
    author, year = m.groups()
    return f"{author.title()} {year}, {where}"


def stage_frame(report: CostReport) -> pd.DataFrame:
    """The stages of a chain of CONV layers (VGG's: the layers between two poolings share their
    output size), then its FC layers: layers, output, weights and MACs of each."""
    import pandas as pd

    stages: dict[str, list[LayerCost]] = {}
    for r in report.conv_layers:
        _, M, P, Q = r.output_shape
        stages.setdefault(f"{P}x{Q}", []).append(r)
    rows: list[dict[str, Any]] = []
    for i, (size, layers) in enumerate(stages.items(), start=1):
        rows.append({"stage": f"conv{i}", "layers": len(layers),
                     "output": f"{size}x{layers[-1].M}",
                     "weights": sum(r.weights for r in layers), "MACs": sum(r.macs for r in layers)})
    for i, r in enumerate(report.fc_layers, start=6):
        rows.append({"stage": f"fc{i}", "layers": 1, "output": str(r.M),
                     "weights": r.weights, "MACs": r.macs})
    return pd.DataFrame(rows)


#: The branches of a GoogLeNet Inception module: their names in the model, and as drawn.
INCEPTION_BRANCHES = {"branch1x1": "1x1", "branch3x3": "1x1 -> 3x3", "branch5x5": "1x1 -> 5x5",
                      "branch_pool": "pool -> 1x1"}


def inception_branches(report: CostReport) -> list[dict[str, Any]]:
    """One row per branch of a GoogLeNet Inception module's cost report: the branch as drawn,
    the filters of its last layer (its output channels), its weights and its MACs."""
    rows = []
    for key, label in INCEPTION_BRANCHES.items():
        layers = [r for r in report.conv_layers if f"{key}." in r.name]
        if not layers:
            raise ValueError(f"{report.model} has no {key}: not a GoogLeNet Inception module")
        rows.append({"branch": label, "filters": layers[-1].M,
                     "weights": sum(r.weights for r in layers), "MACs": sum(r.macs for r in layers)})
    return rows


def kind_frame(report: AccelReport) -> pd.DataFrame:
    """Each layer kind's share of an accelerator estimate's MACs, compute cycles, latency and
    energy (:meth:`cnnlib.accel.AccelReport.by_kind`), as percentages."""
    import pandas as pd

    shares = report.by_kind()
    return pd.DataFrame(
        {"MACs": [percent(s.macs_share) for s in shares.values()],
         "cycles": [percent(s.cycles_share) for s in shares.values()],
         "latency": [percent(s.latency_share) for s in shares.values()],
         "energy": [percent(s.energy_share) for s in shares.values()]},
        index=list(shares)).rename_axis(columns="kind")


def op_label(op: Op) -> str:
    """A NASNet operation as a short label: ``identity``, ``3x3 avg pool``, ``5x5 sep conv``."""
    if op.value in ("identity", "avg", "max"):
        return {"identity": "identity", "avg": "3x3 avg pool", "max": "3x3 max pool"}[op.value]
    return f"{op.value}x{op.value} sep conv"


def cell_frame(cell: CellSpec) -> pd.DataFrame:
    """A searched NASNet cell as a table, one row per combination, named after the hidden state
    it makes (2, 3, ...): its left and right operations and the states they read."""
    import pandas as pd

    return pd.DataFrame([(f"{op_label(a)} (state {i})", f"{op_label(b)} (state {j})")
                         for a, i, b, j in cell.combinations],
                        columns=["left", "right"],
                        index=pd.RangeIndex(2, 2 + len(cell.combinations))).rename_axis(columns="new state")
