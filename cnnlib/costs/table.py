"""Text tables of cost reports, in the style of fvcore's and ptflops' summaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlib.costs.report import CostReport


def human(n: float, digits: int = 3) -> str:
    """``3858415616 -> '3.86G'``: a count with ``digits`` significant digits and k/M/G."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            v = n / scale
            decimals = max(0, digits - len(str(int(abs(v)))))
            return f"{v:.{decimals}f}{unit}"
    return f"{n:g}" if isinstance(n, float) else str(n)


def render(header: Sequence[str], rows: Iterable[Sequence[object]],
           align: str | None = None) -> str:
    """A plain text table; ``align`` has one ``l`` or ``r`` per column (right by default)."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    align = align or "l" + "r" * (len(header) - 1)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(cells, widths, align, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def format_report(report: CostReport, kinds: Iterable[str] | None = None) -> str:
    from cnnlib.costs.report import KINDS

    keep = None if kinds is None else set(kinds)
    rows = [
        (r.name, r.kind, "x".join(map(str, r.input_shape[1:])), "x".join(map(str, r.output_shape[1:])),
         r.filter_shape, "" if r.stride is None else r.stride, f"{r.weights:,}", f"{r.macs:,}")
        for r in report.layers if keep is None or r.kind in keep
    ]
    table = render(("layer", "kind", "input", "output", "filter (RxSxC -> M)", "stride",
                    "weights", "MACs"), rows, align="llrrlrrr")
    size = "x".join(map(str, report.input_size[1:]))
    counted = ", ".join(k for k in KINDS if k in report.counted_kinds)
    totals = [
        ("CONV layers", len(report.conv_layers), report.conv_weights, report.conv_macs),
        ("FC layers", len(report.fc_layers), report.fc_weights, report.fc_macs),
        ("total", len(report.layers), report.weights, report.macs),
    ]
    summary = render(("", "layers", "weights", "MACs"),
                     [(t, n, f"{w:,} ({human(w)})", f"{m:,} ({human(m)})") for t, n, w, m in totals])
    return (f"{report.model} at input {size}\n\n{table}\n\n{summary}\n\n"
            f"parameters (weights, biases, norm scales and shifts): {report.params:,} "
            f"({human(report.params)})\n"
            f"MACs count: {counted}; FLOPs = 2 x MACs = {human(report.flops)}")
