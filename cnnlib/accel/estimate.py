"""``estimate``: a whole network on one design, all three tiers, one row per layer.

>>> from cnnlib import accel
>>> r = accel.estimate("mobilenet_v1", "systolic32")
>>> print(r.headline())  # doctest: +ELLIPSIS
Depth-wise layers are 3.1% of the MACs but 72.1% of the compute cycles on systolic32: ...

The estimate is pure arithmetic on the layer shapes (no simulation), so a search can afford
it in its inner loop: ResNet-50 takes a few milliseconds once its layers are counted
(``benchmarks/bench_accel.py`` prints the time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torch import nn

from cnnlib.accel.energy import EnergyResult, accesses, dram_traffic
from cnnlib.accel.errors import AccelError
from cnnlib.accel.hardware import Hardware, check_dataflow
from cnnlib.accel.hardware import hardware as preset
from cnnlib.accel.layer import Layer, layers_of
from cnnlib.accel.report import AccelReport, LayerEstimate
from cnnlib.accel.roofline import roofline
from cnnlib.accel.systolic import systolic
from cnnlib.costs.report import CostReport
from cnnlib.counting import count_costs


def estimate_layer(layer: Layer, hardware: Hardware) -> LayerEstimate:
    """All three tiers for one layer, and the latency they imply."""
    array = systolic(layer, hardware=hardware) if layer.on_array else None
    dram = dram_traffic(layer, hardware.buffer_words)
    acc = accesses(layer, hardware, array, dram)
    return LayerEstimate(
        layer=layer, array=array, roofline=roofline(layer, hardware),
        energy=EnergyResult(acc, hardware.energy, dram),
        compute_cycles=array.cycles if array else 0,
        dram_cycles=acc.dram * hardware.word_bytes / hardware.dram_bytes_per_cycle,
        buffer_cycles=acc.buffer / hardware.buffer_words_per_cycle,
    )


def estimate(model_or_report: str | nn.Module | CostReport | Iterable[Layer],
             hardware: Hardware | str = "systolic32", input_size: Sequence[int] | None = None, *,
             dataflow: str | None = None, **model_kwargs: Any) -> AccelReport:
    """Estimate cycles, latency and energy of a network on ``hardware``.

    ``model_or_report`` is a registered model name or a module (counted with
    :func:`cnnlib.count_costs` at ``input_size``), a :class:`cnnlib.CostReport` already
    counted, or a sequence of :class:`Layer` written by hand. ``hardware`` is a
    :class:`Hardware` or a preset name (SCALE-Sim's example array by default); ``dataflow``
    overrides its dataflow.
    """
    hw = preset(hardware)
    if dataflow is not None:
        hw = hw.replace(dataflow=check_dataflow(dataflow))
    report: CostReport | Iterable[Layer]
    if isinstance(model_or_report, (str, nn.Module)):
        report = count_costs(model_or_report, input_size, **model_kwargs)
    elif model_kwargs or input_size is not None:
        raise AccelError("input_size and model keyword arguments go with a model name or module, "
                         "not with a report or a list of layers")
    else:
        report = model_or_report
    if isinstance(report, CostReport):
        name, size, layers = report.model, report.input_size, layers_of(report)
    else:
        if not isinstance(report, Iterable) or isinstance(report, (bytes, dict)):
            raise AccelError(f"estimate() takes a model name, a module, a CostReport or a list of "
                             f"accel.Layer; got {type(report).__name__}")
        layers = tuple(report)
        bad = [type(x).__name__ for x in layers if not isinstance(x, Layer)]
        if bad:
            raise AccelError(f"estimate() takes a model name, a module, a CostReport or a list of "
                             f"accel.Layer; the list holds {', '.join(sorted(set(bad)))}")
        name, size = "layers", ()
    return AccelReport(model=name, input_size=tuple(size), hardware=hw,
                       layers=tuple(estimate_layer(layer, hw) for layer in layers))
