"""Three pictures of an :class:`~cnnlib.accel.AccelReport`, each returned as a matplotlib Figure.

* :func:`roofline_plot` -- every layer under the design's roofs: where the roofline says it
  could be (hollow) and where the array puts it (filled). The vertical gap is utilisation.
* :func:`energy_plot` -- energy per layer (or per kind), stacked by storage level.
* :func:`share_plot` -- each kind's share of the MACs beside its share of the cycles and of the
  energy: the lecture's warning in one chart.

The figures are built without pyplot (``matplotlib.figure.Figure``), so they need no display
and leave no global state; ``fig.savefig("roofline.png")`` writes them with the Agg renderer.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from cnnlib.accel.hardware import LEVELS
from cnnlib.accel.report import AccelReport
from cnnlib.costs.report import KINDS

#: One colour per layer kind and per storage level, the same in every plot.
KIND_COLORS = {"conv": "tab:blue", "gconv": "tab:purple", "dwconv": "tab:red", "fc": "tab:orange",
               "matmul": "tab:cyan", "attention": "gold", "rnn": "navy", "tconv": "teal",
               "conv3d": "slateblue", "pool": "tab:green", "norm": "tab:gray", "act": "tab:gray",
               "eltwise": "tab:brown", "rbf": "tab:pink", "other": "tab:olive"}
assert set(KIND_COLORS) == set(KINDS), "a colour for every kind"
LEVEL_COLORS = {"dram": "tab:red", "buffer": "tab:orange", "array": "tab:green", "rf": "tab:blue",
                "mac": "tab:gray"}


def roofline_plot(report: AccelReport) -> Figure:
    """Layers of ``report`` on the roofline of its hardware (MACs per second vs MACs per byte)."""
    hw = report.hardware
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    points = [e for e in report.layers if e.macs]
    if not points:
        ax.text(0.5, 0.5, "no layer does MACs", ha="center", transform=ax.transAxes)
        return fig
    xs = [e.roofline.intensity for e in points]
    lo, hi = min(xs + [hw.ridge_macs_per_byte]) / 2, max(xs + [hw.ridge_macs_per_byte]) * 2
    roof_x = [lo, hw.ridge_macs_per_byte, hi]
    roof_y = [min(hw.peak_macs_per_s, x * hw.dram_bytes_per_s) for x in roof_x]
    ax.plot(roof_x, roof_y, color="black", lw=1.5, label="roofline")
    ax.axvline(hw.ridge_macs_per_byte, color="black", lw=0.5, ls=":")
    for kind in dict.fromkeys(e.layer.kind for e in points):
        rows = [e for e in points if e.layer.kind == kind]
        color = KIND_COLORS.get(kind, "black")
        ax.scatter([e.roofline.intensity for e in rows],
                   [e.roofline.attainable_macs_per_s for e in rows],
                   facecolors="none", edgecolors=color, s=18)
        ax.scatter([e.roofline.intensity for e in rows],
                   [e.macs * hw.clock_hz / e.latency_cycles for e in rows],
                   color=color, s=18, label=f"{kind} ({len(rows)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (MACs per byte of DRAM traffic)")
    ax.set_ylabel("MACs per second")
    ax.set_title(f"{report.model} on {hw.name}: roofline (hollow) vs array model (filled)")
    ax.legend(fontsize="small")
    return fig


def energy_plot(report: AccelReport, by: str = "layer") -> Figure:
    """Energy stacked by storage level, one bar per layer (``by="layer"``) or kind (``"kind"``)."""
    if by not in ("layer", "kind"):
        from cnnlib.accel.errors import AccelError

        raise AccelError(f"energy_plot: by must be 'layer' or 'kind', got {by!r}")
    rows = [e for e in report.layers if not e.layer.fused]
    if by == "layer":
        labels = [e.layer.name for e in rows]
        values = {level: [e.energy.of(level) for e in rows] for level in ("mac", *LEVELS)}
    else:
        kinds = list(dict.fromkeys(e.layer.kind for e in rows))
        labels = kinds
        values = {level: [sum(e.energy.of(level) for e in rows if e.layer.kind == k) for k in kinds]
                  for level in ("mac", *LEVELS)}
    fig = Figure(figsize=(max(6.0, 0.18 * len(labels) + 2), 4.5), layout="constrained")
    ax = fig.add_subplot()
    bottom = [0.0] * len(labels)
    for level in ("mac", *LEVELS):
        ax.bar(range(len(labels)), values[level], bottom=bottom, color=LEVEL_COLORS[level],
               label=level, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values[level], strict=True)]
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize="x-small" if by == "layer" else None)
    unit = report.unit
    ax.set_ylabel(f"energy ({'pJ' if unit == 'pJ' else 'MAC-equivalents'})")
    ax.set_title(f"{report.model} on {report.hardware.name}: energy by storage level")
    ax.legend(fontsize="small")
    return fig


def share_plot(report: AccelReport) -> Figure:
    """Per kind: share of MACs, of compute cycles and of energy, side by side."""
    shares = list(report.by_kind().values())
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    width = 0.27
    series = (("MACs", "macs_share", "tab:gray"), ("cycles", "cycles_share", "tab:red"),
              ("energy", "energy_share", "tab:blue"))
    for i, (label, attr, color) in enumerate(series):
        ax.bar([k + (i - 1) * width for k in range(len(shares))],
               [100 * getattr(s, attr) for s in shares], width=width, label=label, color=color)
    ax.set_xticks(range(len(shares)), [s.kind for s in shares])
    ax.set_ylabel("share of the network (%)")
    ax.set_title(f"{report.model} on {report.hardware.name}: MACs are not cycles or energy")
    ax.legend()
    return fig
