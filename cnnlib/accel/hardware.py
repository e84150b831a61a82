"""Hardware as data: a PE array, its dataflow, a storage hierarchy and an energy table.

The storage hierarchy is the one the lecture series draws for a spatial accelerator, from the
cheapest level to the dearest::

    MAC  <-  RF (register file in each PE)  <-  array (PE-to-PE network, NoC)
         <-  buffer (on-chip global buffer)  <-  DRAM (off chip)

An :class:`EnergyTable` gives the energy of one access of one word at each level and of one
MAC. Two published tables come with cnnlib: Eyeriss's costs normalised to a MAC (Chen et al.,
ISCA 2016: DRAM 200x, buffer 6x, array 2x, RF 1x) and absolute 45 nm figures from Horowitz
(ISSCC 2014). Their ratio -- one DRAM access costs as much as hundreds of MACs -- is why the
number of MACs alone cannot predict energy.

A design of your own is a few lines::

    from cnnlib import accel
    mine = accel.Hardware(name="mine", rows=16, cols=16, dataflow="os", clock_mhz=500,
                          word_bytes=1, rf_words=64, buffer_bytes=128 * 1024,
                          buffer_words_per_cycle=32, dram_gbytes_per_s=8,
                          energy=accel.ENERGY_TABLES["horowitz45nm"])
    bigger = accel.hardware("systolic32", rows=64, cols=64)   # a preset with changes
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from cnnlib.accel.errors import (
    BadHardwareError,
    UnknownDataflowError,
    UnknownHardwareError,
    check_positive_int,
    check_positive_number,
)

#: Dataflows, named by what stays in the PE (Chen et al., ISCA 2016): the weight (ws), the
#: output's partial sum (os), the input (is), or a filter row with an input row (rs, Eyeriss).
DATAFLOWS = ("ws", "os", "is", "rs")
DATAFLOW_NAMES = {"ws": "weight stationary", "os": "output stationary", "is": "input stationary",
                  "rs": "row stationary"}
#: The storage levels, cheapest first; energy reports use these names.
LEVELS = ("rf", "array", "buffer", "dram")


def check_dataflow(dataflow: object) -> str:
    """Return ``dataflow`` if it is one the model knows, else say which ones it knows."""
    if dataflow not in DATAFLOWS:
        allowed = ", ".join(f"{d!r} ({DATAFLOW_NAMES[d]})" for d in DATAFLOWS)
        raise UnknownDataflowError(f"dataflow must be one of {allowed}; got {dataflow!r}")
    return dataflow


@dataclass(frozen=True, kw_only=True)
class EnergyTable:
    """Energy of one MAC and of one access of one word at each storage level.

    ``unit`` is ``"pJ"`` for absolute tables and ``"MAC"`` for a table normalised to the
    energy of one MAC, in which case energies are reported in MAC-equivalents.
    """

    name: str
    mac: float
    rf: float
    array: float
    buffer: float
    dram: float
    unit: str = "pJ"
    word_bits: int = 16
    source: str = ""

    def __post_init__(self) -> None:
        for level in ("mac", *LEVELS):
            value = getattr(self, level)
            if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                    or value < 0):
                raise BadHardwareError(
                    f"EnergyTable {self.name!r}: {level} must be a non-negative number "
                    f"(energy of one access), got {value!r}")

    def of(self, level: str) -> float:
        """Energy of one access at ``level`` (``"mac"`` for one MAC)."""
        return getattr(self, level)


#: Eyeriss's normalised energy costs (Chen, Emer & Sze, ISCA 2016, Fig. 1 / Table IV), 65 nm:
#: an access at each level costs this many MACs.
EYERISS_NORMALISED = EnergyTable(
    name="eyeriss", mac=1, rf=1, array=2, buffer=6, dram=200, unit="MAC", word_bits=16,
    source="Chen, Emer & Sze, ISCA 2016: normalised energy cost of a data access "
           "(ALU = 1x): RF 1x, PE array 2x, global buffer 6x, DRAM 200x",
)

#: 45 nm, 0.9 V, per 8-bit word (Horowitz, ISSCC 2014, "Rough energy costs"): 8b multiply
#: 0.2 pJ + 32b add 0.1 pJ per MAC (8-bit operands, 32-bit accumulator); a 64-bit read of a
#: 32 kB SRAM 20 pJ -> 2.5 pJ/byte; a 64-bit DRAM access 1.3-2.6 nJ -> 162.5 pJ/byte (low end).
#: Horowitz lists no register file or PE-to-PE wire: those two keep Eyeriss's ratios to a MAC
#: (RF 1x, array 2x), an assumption stated here rather than a measurement.
HOROWITZ_45NM = EnergyTable(
    name="horowitz45nm", mac=0.3, rf=0.3, array=0.6, buffer=2.5, dram=162.5, unit="pJ",
    word_bits=8,
    source="Horowitz, ISSCC 2014 (45 nm): MAC = 8b mult 0.2 pJ + 32b add 0.1 pJ; buffer = "
           "32 kB SRAM 20 pJ / 64 b; DRAM = 1.3 nJ / 64 b; RF and array at Eyeriss's 1x and 2x "
           "of a MAC (assumed)",
)

#: Per-access energies of the Eyeriss-like design in Timeloop/Accelergy's example outputs
#: (timeloop-accelergy-exercises, baseline_designs/example_designs/eyeriss_like, AlexNet
#: layer 1, 45 nm, 16-bit words). Timeloop has three RF scratchpads; this single-RF table
#: uses the mean of a MAC's four RF accesses (weight 1.59, input 0.24, psum read and write
#: 0.25 pJ). Its example charges no energy to the networks between PEs, hence array = 0.
#: Used to compare this model with Timeloop (see cnnlib.accel.energy).
TIMELOOP_EYERISS_45NM = EnergyTable(
    name="timeloop_eyeriss45nm", mac=2.20, rf=(1.59 + 0.24 + 0.25 + 0.25) / 4, array=0.0,
    buffer=18.80, dram=128.0, unit="pJ", word_bits=16,
    source="Timeloop/Accelergy example eyeriss_like, AlexNet layer 1: mac 2.20 pJ, spads "
           "1.59/0.24/0.25 pJ, shared_glb 18.80 pJ, LPDDR4 DRAM 128 pJ per 16-bit word",
)

ENERGY_TABLES = {t.name: t for t in (EYERISS_NORMALISED, HOROWITZ_45NM, TIMELOOP_EYERISS_45NM)}


@dataclass(frozen=True, kw_only=True)
class Hardware:
    """A PE array of ``rows x cols`` MAC units and the storage that feeds it.

    ``rf_words`` is the register file of one PE; ``buffer_bytes`` the global buffer shared by
    the array; ``buffer_words_per_cycle`` what the buffer can deliver to (and take from) the
    array each cycle; ``dram_gbytes_per_s`` the off-chip bandwidth. One MAC per PE per cycle.
    """

    name: str
    rows: int
    cols: int
    dataflow: str = "ws"
    clock_mhz: float = 1000.0
    word_bytes: int = 1
    rf_words: int = 16
    buffer_bytes: int = 256 * 1024
    buffer_words_per_cycle: float = 64.0
    dram_gbytes_per_s: float = 16.0
    energy: EnergyTable = HOROWITZ_45NM
    description: str = ""

    def __post_init__(self) -> None:
        owner = f"Hardware {self.name!r}"
        check_positive_int(owner, BadHardwareError, rows=self.rows, cols=self.cols,
                           word_bytes=self.word_bytes, rf_words=self.rf_words,
                           buffer_bytes=self.buffer_bytes)
        check_positive_number(owner, BadHardwareError, clock_mhz=self.clock_mhz,
                              buffer_words_per_cycle=self.buffer_words_per_cycle,
                              dram_gbytes_per_s=self.dram_gbytes_per_s)
        check_dataflow(self.dataflow)
        if not isinstance(self.energy, EnergyTable):
            raise BadHardwareError(f"{owner}: energy must be an EnergyTable (one of "
                                   f"{', '.join(ENERGY_TABLES)}, or your own), got {self.energy!r}")

    # -- derived figures: the roofs of the roofline -------------------------------------------
    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def peak_macs_per_s(self) -> float:
        """The compute roof: every PE does one MAC every cycle."""
        return self.pes * self.clock_hz

    @property
    def dram_bytes_per_s(self) -> float:
        """The memory roof's slope."""
        return self.dram_gbytes_per_s * 1e9

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_bytes_per_s / self.clock_hz

    @property
    def buffer_words(self) -> int:
        """Capacity of the global buffer in words."""
        return self.buffer_bytes // self.word_bytes

    @property
    def ridge_macs_per_byte(self) -> float:
        """Arithmetic intensity where the roofs meet: below it a layer is memory-bound."""
        return self.peak_macs_per_s / self.dram_bytes_per_s

    def replace(self, **changes: Any) -> Hardware:
        """A copy with some fields changed (checked like a new description: the values may be
        of any type here, and a wrong one is a :class:`BadHardwareError`)."""
        known = [f.name for f in dataclasses.fields(self)]
        unknown = [k for k in changes if k not in known]
        if unknown:
            raise BadHardwareError(f"Hardware has no field {', '.join(map(repr, unknown))}; "
                                   f"its fields are: {', '.join(known)}")
        return dataclasses.replace(self, **changes)


# -- presets ------------------------------------------------------------------------------------
PRESETS: dict[str, Hardware] = {
    # Eyeriss (Chen et al., JSSC 2017): 12 x 14 PEs at 200 MHz, 16-bit words; each PE has
    # 12 + 224 + 24 = 260 words of scratchpad; a 108 kB global buffer; a 64-bit off-chip bus
    # on a 90 MHz link clock (0.72 GB/s). Buffer bandwidth as in Timeloop's eyeriss_like
    # (16 words per cycle). Energy: Eyeriss's own normalised costs.
    "eyeriss": Hardware(
        name="eyeriss", rows=12, cols=14, dataflow="rs", clock_mhz=200, word_bytes=2,
        rf_words=260, buffer_bytes=108 * 1024, buffer_words_per_cycle=16,
        dram_gbytes_per_s=0.72, energy=EYERISS_NORMALISED,
        description="Eyeriss-like: 12x14 PEs, row stationary, 108 kB buffer, energies "
                    "normalised to a MAC (DRAM 200, buffer 6, array 2, RF 1)",
    ),
    # The array of SCALE-Sim's example configuration: 32 x 32, weight stationary, 8-bit words,
    # three 64 kB SRAMs (ifmap, filter, ofmap). One word per edge PE per cycle from the buffer
    # (rows + cols); one 16 GB/s DRAM channel at 1 GHz.
    "systolic32": Hardware(
        name="systolic32", rows=32, cols=32, dataflow="ws", clock_mhz=1000, word_bytes=1,
        rf_words=4, buffer_bytes=3 * 64 * 1024, buffer_words_per_cycle=64,
        dram_gbytes_per_s=16, energy=HOROWITZ_45NM,
        description="32x32 weight-stationary systolic array (SCALE-Sim's example), 192 kB "
                    "SRAM, 16 GB/s DRAM, Horowitz 45 nm energies",
    ),
    # TPU v1 (Jouppi et al., ISCA 2017): 256 x 256 8-bit MACs at 700 MHz, weight stationary,
    # 24 MiB unified buffer, 34 GB/s of DDR3. Energy: Horowitz's 45 nm table (the TPU is 28 nm).
    "tpu": Hardware(
        name="tpu", rows=256, cols=256, dataflow="ws", clock_mhz=700, word_bytes=1,
        rf_words=4, buffer_bytes=24 * 1024 * 1024, buffer_words_per_cycle=512,
        dram_gbytes_per_s=34, energy=HOROWITZ_45NM,
        description="TPU-v1-like: 256x256 weight-stationary array at 700 MHz, 24 MiB buffer, "
                    "34 GB/s DDR3, Horowitz 45 nm energies",
    ),
}


def hardware(name: str | Hardware, **changes: object) -> Hardware:
    """A preset by name (``"eyeriss"``, ``"systolic32"``, ``"tpu"``), optionally changed."""
    if isinstance(name, Hardware):
        hw = name
    else:
        try:
            hw = PRESETS[name]
        except (KeyError, TypeError):
            raise UnknownHardwareError(str(name), sorted(PRESETS)) from None
    return hw.replace(**changes) if changes else hw
