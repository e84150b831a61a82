"""``python -m cnnlib accel MODEL``: a model's latency and energy on an accelerator preset.

Prints the per-layer performance and energy tables, the network totals, and each layer
kind's share of MACs against its share of cycles and energy. On MobileNet v1 with
``--hardware systolic32`` the last line is the lecture's warning in numbers: depth-wise layers
are a few percent of the MACs and most of the cycles.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlib.accel.errors import AccelError
from cnnlib.accel.hardware import DATAFLOW_NAMES, DATAFLOWS, PRESETS
from cnnlib.args import parse_input_size, parse_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommand's arguments (the main CLI calls this on its ``accel`` subparser)."""
    parser.add_argument("model", help="a registered model name (see 'list')")
    parser.add_argument("--hardware", default="systolic32", choices=sorted(PRESETS),
                        help="accelerator preset (default: systolic32)")
    parser.add_argument("--input", help="input size CxHxW, e.g. 3x224x224 (default: the paper's)")
    parser.add_argument("--dataflow", choices=DATAFLOWS,
                        help="override the preset's dataflow: "
                             + ", ".join(f"{d} ({n})" for d, n in DATAFLOW_NAMES.items()))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a builder argument, e.g. --set width_mult=0.5 (repeatable)")
    parser.add_argument("--summary", action="store_true",
                        help="only the totals and the shares by layer kind, no per-layer tables")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help="also save roofline.png, energy.png and shares.png in DIR")


def run(args: argparse.Namespace) -> int:
    """Estimate and print; errors on bad input are CnnlibErrors, which the main CLI reports."""
    from cnnlib.accel.estimate import estimate

    size = parse_input_size(args.input) if args.input else None
    if args.plots:   # before the work, not after it: a directory that cannot be made fails now
        try:
            args.plots.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AccelError(f"--plots {args.plots}: cannot make the directory ({e.strerror or e})") from e
    report = estimate(args.model, args.hardware, size, dataflow=args.dataflow,
                      **parse_settings(args.set))
    if args.summary:
        hw = report.hardware
        print(f"{report.model} on {hw.name} ({hw.rows}x{hw.cols}, {hw.dataflow})")
        print(report.summary())
        print()
        print(report.kind_table())
        headline = report.headline()
        if headline:
            print()
            print(headline)
    else:
        print(report.table())
    if args.plots:
        from cnnlib.accel.plots import energy_plot, roofline_plot, share_plot

        for name, fig in (("roofline", roofline_plot(report)), ("energy", energy_plot(report)),
                          ("shares", share_plot(report))):
            fig.savefig(args.plots / f"{name}.png", dpi=120)
        print(f"\nplots saved in {args.plots}/: roofline.png, energy.png, shares.png")
    return 0
