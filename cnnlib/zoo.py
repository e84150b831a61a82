"""The model zoo as a table: one row per registered model, counted at the paper's input size."""

from __future__ import annotations

from dataclasses import dataclass

from cnnlib.costs.collect import count_costs
from cnnlib.costs.table import human, render
from cnnlib.registry import list_models, model_info


@dataclass(frozen=True)
class ZooRow:
    name: str
    input_size: tuple[int, int, int]
    params: int
    weights: int
    macs: int
    conv_layers: int
    fc_layers: int
    paper: str
    table: str
    summary: str


def zoo_rows() -> list[ZooRow]:
    """Count every registered model at its default input (milliseconds each, on ``meta``)."""
    rows = []
    for name in list_models():
        info = model_info(name)
        r = count_costs(name)
        rows.append(ZooRow(name, info.input_size, r.params, r.weights, r.macs,
                           len(r.conv_layers), len(r.fc_layers), info.paper, info.table, info.summary))
    return rows


def zoo_table(markdown: bool = False, cite: bool = False) -> str:
    """The zoo as text, or as a Markdown table (``cite=True`` writes MyST ``{cite}`` roles)."""
    rows = zoo_rows()
    header = ("model", "input", "params", "weights", "MACs", "CONV", "FC", "paper")
    cells = [
        (r.name, "x".join(map(str, r.input_size)), human(r.params), human(r.weights), human(r.macs),
         r.conv_layers, r.fc_layers, f"{{cite:p}}`{r.paper}`" if cite else r.paper)
        for r in rows
    ]
    if not markdown:
        return render(header, cells, align="llrrrrrl")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---", "---"] + ["--:"] * 5 + ["---"]) + "|"]
    lines += ["| " + " | ".join(f"`{c}`" if i == 0 else str(c) for i, c in enumerate(row)) + " |"
              for row in cells]
    return "\n".join(lines)
