"""Tier 1: the roofline (Williams, Waterman & Patterson, CACM 2009), one layer at a time.

A layer does ``macs`` MACs and must move at least ``bytes`` to and from DRAM: every weight,
every input and every output once (the *compulsory* traffic). Its **arithmetic intensity** is
``macs / bytes``. The hardware can do at most ``peak`` MACs per second (every PE busy) and move
``bandwidth`` bytes per second, so the layer takes at least::

    latency = max(macs / peak, bytes / bandwidth)

It is **compute-bound** when the first term wins, **memory-bound** when the second does; the
two meet at the *ridge* intensity ``peak / bandwidth``. The roofline is an optimistic bound:
it assumes every PE is busy (tier 2 shows they are not) and that no datum is fetched twice
(tier 3 shows when it is).

>>> from cnnlib import accel
>>> fc = accel.Layer(C=4096, M=1000)             # an FC layer: 4,096,000 MACs, 4.1 MB of weights
>>> accel.roofline(fc, accel.hardware("tpu")).bound
'memory'
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlib.accel.hardware import Hardware
from cnnlib.accel.layer import Layer


@dataclass(frozen=True)
class RooflinePoint:
    """Where one layer sits under the roofs of one design."""

    macs: int
    dram_bytes: int
    peak_macs_per_s: float
    dram_bytes_per_s: float

    @property
    def intensity(self) -> float:
        """Arithmetic intensity in MACs per byte of DRAM traffic (FLOPs/byte is twice this)."""
        return self.macs / self.dram_bytes if self.dram_bytes else float("inf")

    @property
    def compute_s(self) -> float:
        return self.macs / self.peak_macs_per_s

    @property
    def memory_s(self) -> float:
        return self.dram_bytes / self.dram_bytes_per_s

    @property
    def latency_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        """``"compute"`` or ``"memory"``: which roof limits the layer (``"none"`` if no work)."""
        if not self.macs and not self.dram_bytes:
            return "none"
        return "compute" if self.compute_s >= self.memory_s else "memory"

    @property
    def attainable_macs_per_s(self) -> float:
        """The roof above this layer: ``min(peak, intensity * bandwidth)``."""
        return min(self.peak_macs_per_s, self.intensity * self.dram_bytes_per_s)


def compulsory_words(layer: Layer) -> int:
    """Words a layer must move to or from DRAM at least: weights, inputs, outputs, once each."""
    return layer.weights + layer.inputs + layer.outputs


def roofline(layer: Layer, hardware: Hardware, dram_bytes: int | None = None) -> RooflinePoint:
    """The roofline point of ``layer`` on ``hardware``.

    ``dram_bytes`` defaults to the compulsory traffic; pass the traffic of a real mapping (the
    energy tier's DRAM accesses) to see how far re-fetching moves a layer to the left.
    """
    if dram_bytes is None:
        dram_bytes = compulsory_words(layer) * hardware.word_bytes
    return RooflinePoint(macs=layer.macs, dram_bytes=dram_bytes,
                         peak_macs_per_s=hardware.peak_macs_per_s,
                         dram_bytes_per_s=hardware.dram_bytes_per_s)
