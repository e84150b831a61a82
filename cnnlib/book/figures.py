"""The chapters' figures: each a function of what the chapter counted, returning a matplotlib
``Figure`` that the chapter glues under its text.

Every figure is sized to stay legible at a phone's width (5 to 6 inches wide, 8 to 11 point
type) and made with ``matplotlib.figure.Figure``, not ``pyplot``, so that drawing one leaves
no open figure behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

from cnnlib.costs.report import CostReport
from cnnlib.text import human

if TYPE_CHECKING:  # pragma: no cover
    from cnnlib.models.googlenet import InceptionRow

__all__ = ["conv_attention_figure", "inception_figure", "layer_bars", "macs_per_weight_figure",
           "receptive_field_figure"]


def inception_figure(row: InceptionRow, branches: Sequence[Mapping[str, Any]]) -> Figure:
    """An Inception module of GoogLeNet on a 28x28x192 input: its four branches with the filter
    counts of ``row`` (a row of the paper's Table 1) and the MACs of ``branches``
    (:func:`cnnlib.book.tables.inception_branches`), concatenated at the top."""
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")  # legible at phone width
    ax = fig.add_subplot()
    ax.set_xlim(0, 8)
    ax.set_ylim(0, 5)
    ax.axis("off")

    def box(x: float, y: float, text: str, color: str, w: float = 1.9, h: float = 0.65) -> None:
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05",
                                    facecolor=color, edgecolor="black", lw=0.8))
        ax.text(x, y, text, ha="center", va="center", fontsize=11)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "lw": 0.8})

    # input and concatenation span all four branches, so every arrow runs straight up its
    # branch's column and none crosses another branch's box
    box(4, 0.4, "input 28x28x192", "lightgray", w=7.8)
    box(4, 4.6, f"concatenate: 28x28x{row.M}", "lightgray", w=7.8)
    xs = [1, 3, 5, 7]
    reduce = {1: None, 3: f"1x1, {row.n3x3_reduce}", 5: f"1x1, {row.n5x5_reduce}", 7: "3x3 max pool"}
    main = {1: f"1x1, {row.n1x1}", 3: f"3x3, {row.n3x3}", 5: f"5x5, {row.n5x5}",
            7: f"1x1, {row.pool_proj}"}
    for x in xs:
        label = reduce[x]
        if label:
            box(x, 1.7, label, "tab:olive" if x < 7 else "tab:red")
            arrow(x, 0.78, x, 1.32)
            arrow(x, 2.08, x, 2.5)
        else:
            arrow(x, 0.78, x, 2.5)
    for x, r in zip(xs, branches, strict=True):
        text = f"{main[x]}\n{human(r['MACs'])} MACs"
        box(x, 3.0, text, "tab:cyan" if x != 7 else "tab:olive", h=0.9)
        arrow(x, 3.5, x, 4.22)
    return fig


def conv_attention_figure(sizes: Sequence[int], conv_macs: Sequence[int], attention_macs: Sequence[int],
                          crossover: float, C: int) -> Figure:
    """MACs of a 3x3 convolution and of self-attention against the side of an H x H map of
    ``C`` channels (log scale), with a dotted line where they cost the same (``crossover``)."""
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")   # legible at a phone's width
    ax = fig.add_subplot()
    ax.plot(sizes, [m / 1e9 for m in conv_macs], color="tab:blue", label="3x3 convolution")
    ax.plot(sizes, [m / 1e9 for m in attention_macs], color="tab:red", label="self-attention")
    ax.axvline(crossover, color="gray", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel(f"feature map side H = W  (C = {C} channels)")
    ax.set_ylabel("MACs (G, log scale)")
    ax.legend(frameon=False)
    return fig


def receptive_field_figure() -> Figure:
    """Receptive fields of one, two and three stacked 3x3 filters: a 1-D slice through the
    layers (top) and the input pixels the centre unit sees (bottom)."""
    # the two panels one above the other, so that the figure stays legible at a phone's width
    fig = Figure(figsize=(5.2, 6.6), layout="constrained")
    ax, grid = fig.subplots(2, 1, height_ratios=[1, 1.3])
    # Top: a 1-D slice through three stacked 3x3 layers.
    width = 9
    for level in range(4):
        for x in range(width):
            seen = abs(x - width // 2) <= 3 - level
            color = ("tab:blue", "tab:green", "tab:orange", "tab:red")[level] if seen else "white"
            ax.scatter(x, level, s=110, c=color, edgecolors="black", zorder=3)
            if level and seen:
                for dx in (-1, 0, 1):
                    ax.plot([x, x + dx], [level, level - 1], color="gray", lw=0.8, zorder=1)
    labels = ["input pixels", "after one 3x3", "after two 3x3", "after three 3x3"]
    for level, label in enumerate(labels):
        ax.text(width - 0.3, level, label, va="center", fontsize=10)
    ax.set_xlim(-0.6, width + 3.4)
    ax.set_ylim(-0.6, 3.6)
    ax.axis("off")
    ax.set_title("one unit on top reads 7 input pixels", fontsize=11)
    # Bottom: the same on a 2-D grid of input pixels.
    colors = {1: "tab:orange", 2: "tab:green", 3: "tab:blue"}
    grid.set_xlim(-0.5, 8.5)
    grid.set_ylim(-0.5, 8.5)
    for n in (3, 2, 1):
        half = n  # n layers see 2n + 1 pixels
        side = 2 * half + 1
        grid.add_patch(Rectangle(
            (4 - half - 0.5, 4 - half - 0.5), side, side, facecolor=colors[n], alpha=0.35,
            edgecolor=colors[n], lw=2, label=f"{n} x 3x3: {side}x{side}"))
    grid.set_xticks(range(9))
    grid.set_yticks(range(9))
    grid.tick_params(labelbottom=False, labelleft=False, length=0)
    grid.grid(True, color="lightgray")
    grid.set_aspect("equal")
    grid.legend(loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3, fontsize=10, frameon=False,
                columnspacing=1, handlelength=1.2)
    grid.set_title("input pixels seen by the centre unit", fontsize=11)
    return fig


def layer_bars(report: CostReport) -> Figure:
    """Weights (top) and MACs (bottom) of each CONV and FC layer of a VGG network, named as VGG
    names them (``conv<stage>_<layer>``, a stage ending where the output size changes)."""
    layers = report.conv_layers + report.fc_layers
    names: list[str] = []  # VGG's own names: conv<stage>_<layer>, as in the stage table
    sizes: list[int] = []
    count = 0
    for r in report.conv_layers:
        if r.output_shape[2] not in sizes:
            sizes.append(r.output_shape[2])
            count = 0
        count += 1
        names.append(f"conv{len(sizes)}_{count}")
    names += [f"fc{i}" for i in range(6, len(report.fc_layers) + 6)]
    colors = ["tab:blue"] * len(report.conv_layers) + ["tab:orange"] * len(report.fc_layers)
    fig = Figure(figsize=(5, 5.2), layout="constrained")  # legible at phone width
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.bar(names, [r.weights / 1e6 for r in layers], color=colors)
    top.set_ylabel("weights (M)")
    bottom.bar(names, [r.macs / 1e9 for r in layers], color=colors)
    bottom.set_ylabel("MACs (G)")
    bottom.tick_params(axis="x", rotation=90, labelsize=9)
    top.set_title("VGG-16 at 224x224: CONV layers blue, FC layers orange", fontsize=10)
    return fig


def macs_per_weight_figure(whole: Mapping[str, float], conv: Mapping[str, float]) -> Figure:
    """MACs per weight of each network (bars labelled with their value) beside the same ratio
    for its CONV layers alone, on a log scale; the keys are the networks' names."""
    fig = Figure(figsize=(5.8, 3.8), layout="constrained")  # legible at phone width
    ax = fig.add_subplot()
    xs = range(len(whole))
    ax.bar([x - 0.2 for x in xs], list(whole.values()), width=0.4, color="tab:blue",
           label="whole network")
    ax.bar([x + 0.2 for x in xs], list(conv.values()), width=0.4, color="tab:gray",
           label="CONV layers only")
    for x, v in zip(xs, whole.values(), strict=True):
        ax.text(x - 0.2, v * 1.1, f"{v:.0f}", ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(list(xs), [n.replace(" (v1)", "") for n in whole], fontsize=9)
    ax.set_ylabel("MACs per weight (log scale)")
    ax.legend(frameon=False, fontsize=9, loc="upper left")
    return fig
