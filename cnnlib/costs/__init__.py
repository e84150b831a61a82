"""Exact per-layer costs: formulas (pure functions of shapes), rules, the collector, reports.

This package counts built modules; :func:`cnnlib.count_costs` (in :mod:`cnnlib.counting`) also
takes a registered model's name, and is re-exported here for code that imports it from here.
"""

from typing import Any

from cnnlib.costs import formulas
from cnnlib.costs.ops import attention_macs, rnn_macs
from cnnlib.costs.report import CONV_KINDS, DEFAULT_COUNTED, FC_KINDS, KINDS, CostReport, LayerCost
from cnnlib.costs.rules import cost_rule
from cnnlib.costs.shapes import shape_rule
from cnnlib.costs.table import human


def __getattr__(name: str) -> Any:
    if name == "count_costs":   # defined above this package: it needs the model registry
        from cnnlib.counting import count_costs

        return count_costs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CONV_KINDS", "DEFAULT_COUNTED", "FC_KINDS", "KINDS", "CostReport", "LayerCost",
           "attention_macs", "cost_rule", "count_costs", "formulas", "human", "rnn_macs",
           "shape_rule"]
