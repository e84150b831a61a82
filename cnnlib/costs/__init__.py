"""Exact per-layer costs: formulas (pure functions of shapes), rules, the collector, reports."""

from cnnlib.costs import formulas
from cnnlib.costs.collect import count_costs
from cnnlib.costs.report import CONV_KINDS, DEFAULT_COUNTED, FC_KINDS, KINDS, CostReport, LayerCost
from cnnlib.costs.rules import cost_rule
from cnnlib.costs.shapes import shape_rule
from cnnlib.costs.table import human

__all__ = ["CONV_KINDS", "DEFAULT_COUNTED", "FC_KINDS", "KINDS", "CostReport", "LayerCost",
           "cost_rule", "count_costs", "formulas", "human", "shape_rule"]
