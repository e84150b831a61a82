"""Small display helpers for the book's chapters: cost reports as narrow pandas tables.

The chapters show tables as HTML (a ``DataFrame`` is rendered as one), which must stay
readable on a phone: at most six short columns, numbers written as ``724M`` rather than
``724,406,816``. pandas is imported only when a table is made, so ``import cnnlib`` stays light.

>>> import cnnlib
>>> from cnnlib.book import layer_frame
>>> layer_frame(cnnlib.count_costs("alexnet")).loc["features.4", "filter"]
'5x5x48, G=2'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cnnlib.costs.report import CostReport, LayerCost
from cnnlib.costs.table import human

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["filter_label", "human", "layer_frame", "shape_label", "totals_frame"]

#: The layer kinds whose MACs and weights the lecture counts (CONV and FC layers).
COUNTED_KINDS: tuple[str, ...] = ("conv", "gconv", "dwconv", "fc")


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


def layer_frame(report: CostReport, kinds: Iterable[str] = COUNTED_KINDS,
                digits: int = 3) -> pd.DataFrame:
    """The layers of ``report`` whose kind is in ``kinds``, as a six-column table.

    Columns: kind, filter (:func:`filter_label`), M (number of filters), output (C x P x Q),
    weights and MACs written with k/M/G to ``digits`` significant digits. The index is the
    layer's name in the model. Pass ``kinds`` to show other rows (``"pool"``, ``"rbf"``...).
    """
    import pandas as pd

    wanted = frozenset(kinds)
    rows = [r for r in report.layers if r.kind in wanted]
    if not rows:
        raise ValueError(f"{report.model} has no layer of kind {sorted(wanted)}; "
                         f"its kinds are {sorted({r.kind for r in report.layers})}")
    frame = pd.DataFrame(
        {
            "kind": [r.kind for r in rows],
            "filter": [filter_label(r) for r in rows],
            "M": [r.M if r.M is not None else "" for r in rows],
            "output": [shape_label(r.output_shape) for r in rows],
            "weights": [human(r.weights, digits) for r in rows],
            "MACs": [human(r.macs, digits) for r in rows],
        },
        index=pd.Index([r.name for r in rows], name="layer"),
    )
    return frame


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
    return pd.DataFrame(data, index=pd.Index(["CONV", "FC", "total"], name=report.model))
