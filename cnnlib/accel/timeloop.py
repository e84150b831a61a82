"""Timeloop/Accelergy's published Eyeriss-like example, and this model on the same design.

Timeloop (Parashar et al., ISPASS 2019) searches for a good mapping of a layer onto an
architecture and Accelergy (Wu et al., ICCAD 2019) prices every access; their tutorial
repository publishes the output for AlexNet layer 1 on an Eyeriss-like design. This module
holds those figures as data and recomputes the same layer with :mod:`cnnlib.accel`, so that the
comparison in :mod:`cnnlib.accel.energy` is made by code, not copied by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnlib.accel.energy import energy
from cnnlib.accel.hardware import TIMELOOP_EYERISS_45NM, Hardware
from cnnlib.accel.layer import Layer
from cnnlib.accel.systolic import systolic

SOURCE = ("Accelergy-Project/timeloop-accelergy-exercises, baseline_designs/example_designs/"
          "eyeriss_like/example_AlexNet_layer1_outputs/timeloop-mapper.stats.txt")


@dataclass(frozen=True)
class TimeloopExample:
    """The figures of one published Timeloop run."""

    layer: Layer
    macs: int
    cycles: int
    utilization: float
    energy_uj: float
    #: pJ per MAC by level, as the stats file prints them (RF = the three scratchpads)
    pj_per_mac: dict[str, float] = field(default_factory=dict)
    #: pJ per MAC of each RF scratchpad
    rf_parts: dict[str, float] = field(default_factory=dict)
    #: words read from / written to DRAM, per data type
    dram_words: dict[str, int] = field(default_factory=dict)
    source: str = SOURCE


#: AlexNet layer 1 (3 x 227 x 227 input, 96 filters of 11 x 11, stride 4, 55 x 55 output).
EYERISS_ALEXNET_CONV1 = TimeloopExample(
    layer=Layer(name="AlexNet conv1", C=3, M=96, R=11, S=11, P=55, Q=55, stride=4),
    macs=105_415_200, cycles=798_600, utilization=0.79, energy_uj=866.32,
    pj_per_mac={"mac": 2.20, "rf": 0.52 + 1.61 + 0.25, "array": 0.0, "buffer": 0.46, "dram": 3.18,
                "total": 8.22},
    rf_parts={"psum_spad": 0.52, "weights_spad": 1.61, "ifmap_spad": 0.25},
    dram_words={"weights": 1_916_640, "inputs": 412_005, "outputs": 290_400},
)

#: The eyeriss_like architecture of that example, in this model's terms: 12 rows x 14 columns,
#: row stationary, 16-bit words, scratchpads of 12 + 192 + 16 words per PE, a global buffer of
#: 16384 x 64 bits = 64 Ki words, 16 words per cycle, and Timeloop's per-access energies.
EYERISS_LIKE = Hardware(
    name="timeloop_eyeriss_like", rows=12, cols=14, dataflow="rs", clock_mhz=200, word_bytes=2,
    rf_words=12 + 192 + 16, buffer_bytes=65536 * 2, buffer_words_per_cycle=16,
    dram_gbytes_per_s=0.72, energy=TIMELOOP_EYERISS_45NM,
    description="Timeloop/Accelergy's eyeriss_like example design",
)


@dataclass(frozen=True)
class Comparison:
    """This model and Timeloop on the same layer and design."""

    published: TimeloopExample
    cycles: int
    utilization: float
    pj_per_mac: dict[str, float]
    dram_words: int

    def table(self) -> str:
        """The comparison as text: one line per level, ours beside Timeloop's."""
        lines = [f"{'pJ/MAC':<8}{'cnnlib':>9}{'Timeloop':>10}"]
        for level in ("mac", "rf", "array", "buffer", "dram", "total"):
            lines.append(f"{level:<8}{self.pj_per_mac[level]:>9.2f}"
                         f"{self.published.pj_per_mac[level]:>10.2f}")
        lines.append(f"{'cycles':<8}{self.cycles:>9,}{self.published.cycles:>10,}")
        lines.append(f"{'DRAM wd':<8}{self.dram_words:>9,}{sum(self.published.dram_words.values()):>10,}")
        return "\n".join(lines)


def compare(example: TimeloopExample = EYERISS_ALEXNET_CONV1,
            hardware: Hardware = EYERISS_LIKE) -> Comparison:
    """Run this model on the published example's layer and design."""
    layer = example.layer
    array = systolic(layer, hardware=hardware)
    e = energy(layer, hardware, array)
    per_mac = {level: value / layer.macs for level, value in e.by_level.items()}
    per_mac["total"] = e.per_mac
    return Comparison(example, array.cycles, array.utilization, per_mac, e.accesses.dram)
