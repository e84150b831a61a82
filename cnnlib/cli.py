"""Command line: ``python -m cnnlib list | summary MODEL | table | zoo | accel MODEL``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cnnlib.args import parse_input_size, parse_settings
from cnnlib.errors import CnnlibError

__all__ = ["build_parser", "main", "parse_input_size", "parse_settings"]


def _cmd_list(args: argparse.Namespace) -> int:
    from cnnlib.registry import list_models, model_info
    from cnnlib.text import render

    rows = []
    for name in list_models():
        info = model_info(name)
        rows.append((name, "x".join(map(str, info.input_size)), info.paper, info.summary))
    print(render(("model", "input", "paper", "what it is"), rows, align="llll"))
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from cnnlib.costs.collect import counted_kinds
    from cnnlib.counting import count_costs

    size = parse_input_size(args.input) if args.input else None
    count = "all" if args.count == "all" else args.count.split(",")
    kinds = counted_kinds(args.kinds.split(",")) if args.kinds else None  # checked before counting
    report = count_costs(args.model, size, count=count, **parse_settings(args.set))
    print(report.table(kinds=kinds))
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from cnnlib.lecture import format_summary_table

    print(format_summary_table())
    return 0


def _cmd_zoo(args: argparse.Namespace) -> int:
    from cnnlib.zoo import zoo_table

    print(zoo_table(markdown=args.markdown))
    return 0


def _cmd_claims(args: argparse.Namespace) -> int:
    from cnnlib.claims import claims_json, claims_table

    print(claims_json() if args.json else claims_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from cnnlib.accel import cli as accel_cli  # one way only: accel's CLI imports nothing here
    from cnnlib.costs.report import DEFAULT_COUNTED, KINDS

    parser = argparse.ArgumentParser(
        prog="python -m cnnlib",
        description="Models of the 'Popular DNN Models' lecture and exact counts of their costs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the registered models")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("summary", help="per-layer costs of one model, and totals")
    p.add_argument("model", help="a registered model name (see 'list')")
    p.add_argument("--input", help="input size CxHxW, e.g. 3x224x224 (default: the paper's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a builder argument, e.g. --set variant=v1.5 (repeatable)")
    p.add_argument("--kinds", help="only these layer kinds in the table, e.g. conv,dwconv,fc")
    p.add_argument("--count", default=",".join(k for k in KINDS if k in DEFAULT_COUNTED),
                   help="layer kinds whose operations MACs include ('all' for every kind; "
                        "default: convolutions and matrix products)")
    p.set_defaults(run=_cmd_summary)

    p = sub.add_parser("table", help="the lecture's 'Summary of Popular CNNs', regenerated")
    p.set_defaults(run=_cmd_table)

    p = sub.add_parser("zoo", help="one row per model: parameters, MACs, input, paper")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(run=_cmd_zoo)

    p = sub.add_parser("claims", help="the lecture's numeric claims, the values cnnlib computes, verdicts")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per claim")
    p.set_defaults(run=_cmd_claims)

    p = sub.add_parser("accel", help="latency, utilisation and energy of a model on an accelerator")
    accel_cli.add_arguments(p)
    p.set_defaults(run=accel_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; ``CNNLIB_DEBUG=1`` shows the full traceback of every error."""
    args = build_parser().parse_args(argv)
    debug = bool(os.environ.get("CNNLIB_DEBUG"))
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader went away (``python -m cnnlib zoo | head -1``): stop quietly. Python would
        # flush stdout again at exit and fail once more, so point it at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except CnnlibError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug, not bad input: one line, and the traceback on request
        if debug:
            raise
        print(f"internal error: {type(e).__name__}: {e}\n(set CNNLIB_DEBUG=1 to see the traceback)",
              file=sys.stderr)
        return 1
