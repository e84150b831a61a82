"""Exact per-layer costs: formulas (pure functions of shapes), rules, the collector, reports.

This package counts built modules; :func:`cnnlib.count_costs` (in :mod:`cnnlib.counting`)
also takes a registered model's name.
"""

from cnnlib.costs import formulas
from cnnlib.costs.ops import attention_macs, rnn_macs
from cnnlib.costs.report import CONV_KINDS, DEFAULT_COUNTED, FC_KINDS, KINDS, CostReport, LayerCost
from cnnlib.costs.rules import cost_rule

__all__ = ["CONV_KINDS", "DEFAULT_COUNTED", "FC_KINDS", "KINDS", "CostReport", "LayerCost",
           "attention_macs", "cost_rule", "formulas", "rnn_macs"]
