"""``cnnlib.accel``: a simple accelerator cost model that shows why MACs are not latency or energy.

The lecture ends with a warning: the number of operations does not translate directly into
latency or energy; that depends on the hardware. This package puts numbers on the warning for
every network in the zoo, in three tiers that can be used alone:

1. :func:`roofline` -- arithmetic intensity and the compute and memory roofs;
2. :func:`systolic` -- cycles, utilisation and buffer accesses on a PE array per dataflow,
   equal to SCALE-Sim v2's analytical model for ws, os and is;
3. :func:`energy` -- accesses per storage level under a documented reuse model, times an
   energy table.

:func:`estimate` runs all three over a network and returns an :class:`AccelReport`::

    from cnnlib import accel
    layer = accel.Layer(C=3, M=96, R=11, S=11, P=55, Q=55, stride=4)   # AlexNet conv1
    r = accel.systolic(layer, rows=32, cols=32, dataflow="ws")
    r.cycles, r.utilization, r.mapping_efficiency        # 112283, 0.9168..., 0.9453125
    print(accel.estimate("mobilenet_v1", "systolic32"))  # depth-wise: few MACs, most cycles

Hardware is data (:class:`Hardware`, :class:`EnergyTable`); the presets are in
:data:`PRESETS` (``eyeriss``, ``systolic32``, ``tpu``) and the energy tables in
:data:`ENERGY_TABLES` (``eyeriss``, ``horowitz45nm``, ``timeloop_eyeriss45nm``).

The tier functions share their modules' names (``accel.energy`` is the function, as
``accel.hardware`` is the preset lookup); import a module by its path when you need it:
``from cnnlib.accel.energy import dram_traffic``.
"""

from cnnlib.accel.energy import Accesses, DramTraffic, EnergyResult, accesses, dram_traffic, energy
from cnnlib.accel.errors import (
    AccelError,
    BadHardwareError,
    BadLayerError,
    UnknownDataflowError,
    UnknownHardwareError,
)
from cnnlib.accel.estimate import estimate, estimate_layer
from cnnlib.accel.hardware import (
    DATAFLOWS,
    ENERGY_TABLES,
    EYERISS_NORMALISED,
    HOROWITZ_45NM,
    LEVELS,
    PRESETS,
    TIMELOOP_EYERISS_45NM,
    EnergyTable,
    Hardware,
    hardware,
)
from cnnlib.accel.layer import Layer, layers_of
from cnnlib.accel.report import AccelReport, KindShare, LayerEstimate
from cnnlib.accel.roofline import RooflinePoint, compulsory_words, roofline
from cnnlib.accel.systolic import SystolicResult, systolic

#: The 45 nm energy table of Horowitz (ISSCC 2014), by its name in ``ENERGY_TABLES``.
horowitz45nm = HOROWITZ_45NM

__all__ = [
    "DATAFLOWS", "ENERGY_TABLES", "EYERISS_NORMALISED", "HOROWITZ_45NM", "LEVELS", "PRESETS",
    "TIMELOOP_EYERISS_45NM", "AccelError", "AccelReport", "Accesses", "BadHardwareError",
    "BadLayerError", "DramTraffic", "EnergyResult", "EnergyTable", "Hardware", "KindShare",
    "Layer", "LayerEstimate", "RooflinePoint", "SystolicResult", "UnknownDataflowError",
    "UnknownHardwareError", "accesses", "compulsory_words", "dram_traffic", "energy", "estimate",
    "estimate_layer", "hardware", "horowitz45nm", "layers_of", "roofline", "systolic",
]
