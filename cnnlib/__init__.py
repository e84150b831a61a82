"""cnnlib: the models of "Popular DNN Models" (MIT 6.5930/1) and exact counts of what they cost.

>>> import cnnlib
>>> r = cnnlib.count_costs("alexnet")       # built on the meta device: no weights allocated
>>> r.macs, r.weights
(724406816, 60954656)
"""

from cnnlib.costs import CostReport, LayerCost, formulas
from cnnlib.counting import count_costs
from cnnlib.errors import CnnlibError
from cnnlib.published import Published
from cnnlib.registry import ModelInfo, create_model, list_models, model_info, register_model

__all__ = ["CnnlibError", "CostReport", "LayerCost", "ModelInfo", "Published", "count_costs",
           "create_model", "formulas", "list_models", "model_info", "register_model"]
__version__ = "0.1.0"
