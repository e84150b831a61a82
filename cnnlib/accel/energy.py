"""Tier 3: energy = accesses at each storage level x the energy of one access there.

The accesses follow a simple reuse model, stated here once:

**DRAM.** Every layer starts and ends in DRAM (no fusion across layers). If one group's
weights, inputs and outputs fit in the global buffer together, each word crosses the chip
boundary once (the compulsory traffic). If not, the buffer is split in two halves and the layer
is tiled one of two ways, whichever moves fewer words:

* *weights resident*: load a half-buffer of filters, stream every input past it, repeat, so
  the inputs are read ``ceil(weights / half)`` times;
* *inputs resident*: load a half-buffer of input rows, stream every filter past them, repeat,
  so the weights are read ``ceil(inputs / half)`` times.

Outputs are written once either way (each tile finishes its outputs). Halo rows shared by
neighbouring input tiles are ignored. Pooling, element-wise and other memory-only layers read
their inputs and write their outputs once; activations and normalisations are fused into the
layer before them and move nothing.

**Buffer.** The array's reads and writes as the dataflow makes them (tier 2: SCALE-Sim's SRAM
counts for ws, os and is, plus the partial sums read back between row folds; the Eyeriss
mapping for rs), plus one write per word fetched from DRAM and one read per word written back.

**Array** (PE-to-PE network). On a systolic array each MAC takes one operand from its
neighbour and passes one on (ws: the input from the left and the partial sum from above; os:
input and weight; is: weight and partial sum): 2 transfers per MAC. Row stationary delivers
every buffer word over the network once (multicast counts once) and passes every partial sum
a PE finishes (one per S MACs) to the PE above it.

**RF** (register file in the PE), per MAC: ws and is read the stationary operand (1); os reads
and writes its resident partial sum (2); rs reads a weight, an input and a partial sum and
writes the partial sum back (4), the count Eyeriss and Timeloop use.

**Comparison with Timeloop/Accelergy.** Their published example output for an Eyeriss-like
design (Accelergy-Project/timeloop-accelergy-exercises, ``baseline_designs/example_designs/
eyeriss_like/example_AlexNet_layer1_outputs/timeloop-mapper.stats.txt``: 12 x 14 PEs, row
stationary, 64 Ki-word global buffer, 45 nm, 16-bit words) maps AlexNet conv1 (105,415,200
MACs) in 798,600 cycles at 79% utilisation and 8.22 pJ/MAC: MAC 2.20, RF 2.38 (psum 0.52 +
weights 1.61 + ifmap 0.25), buffer 0.46, DRAM 3.18. Given the same design and Timeloop's own
per-access energies (``ENERGY_TABLES["timeloop_eyeriss45nm"]``), this model says 5.84 pJ/MAC:
MAC 2.20 (equal by construction), RF 2.33 (the same four accesses per MAC; one averaged RF
cost instead of three scratchpads, and no RF fills), buffer 0.56, DRAM 0.75, array 0 (the
example charges nothing to its networks), in 696,960 cycles (90% utilisation). Why they differ:

* **DRAM (0.75 vs 3.18 pJ/MAC)** is the mapping. Timeloop's mapper searches mappings whose
  tile sizes divide the layer's dimensions and stops on a convergence criterion; the one it
  kept puts ``Q`` outside ``C`` at the DRAM level, re-reads all 34,848 weights 55 times
  (1,916,640 weight reads) and the inputs 2.7 times. Here the layer does not fit the buffer
  either (479,835 words against 65,536), and the better of the two tilings keeps inputs
  resident and re-reads the weights 5 times: 619,227 DRAM words against Timeloop's 2,619,045.
  Neither is the optimum; the model shows what a reasonable tiling costs.
* **Buffer (0.56 vs 0.46)**: this model sends every input to the array once per group of
  filters that share it (17 filters per PE here, so 6 times), sends partial sums back after
  every channel, and counts DRAM fills and drains; Timeloop's mapping keeps more of the input
  reuse in the PE scratchpads.
* **Cycles (696,960 vs 798,600)**: Timeloop's mapping uses 132 of 168 PEs (11 rows x 12
  columns); this model's Eyeriss mapping uses 11 x 14 per pass (90%) and ignores the fill and
  drain of each pass.

The point survives both models: for this layer the data movement (RF, buffer, DRAM) costs more
than the MACs, and the split between levels depends on the mapping, not on the MAC count.
:func:`cnnlib.accel.timeloop.compare` recomputes these figures (a test keeps this text honest).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlib.accel.hardware import LEVELS, EnergyTable, Hardware
from cnnlib.accel.layer import Layer
from cnnlib.accel.systolic import SystolicResult, systolic
from cnnlib.costs.formulas import ceil_div

#: RF accesses per MAC, by dataflow (see the module docstring).
RF_PER_MAC = {"ws": 1, "is": 1, "os": 2, "rs": 4}
#: PE-to-PE transfers per MAC on a systolic array.
ARRAY_PER_MAC_SYSTOLIC = 2


@dataclass(frozen=True)
class DramTraffic:
    """Words read from and written to DRAM, and how many times each operand was streamed."""

    reads: int
    writes: int
    weight_passes: int = 1
    input_passes: int = 1

    @property
    def words(self) -> int:
        return self.reads + self.writes

    @property
    def tiling(self) -> str:
        """How the layer met the buffer: ``"fits"``, or which operand was re-read how often."""
        if self.input_passes > 1:
            return f"inputs re-read x{self.input_passes}"
        if self.weight_passes > 1:
            return f"weights re-read x{self.weight_passes}"
        return "fits"


def dram_traffic(layer: Layer, buffer_words: int) -> DramTraffic:
    """DRAM reads and writes of ``layer`` with a global buffer of ``buffer_words`` words."""
    if layer.fused:
        return DramTraffic(0, 0)
    if not layer.on_array:
        return DramTraffic(layer.inputs, layer.outputs)
    G = layer.G
    Wt, In, Out = layer.weights, layer.inputs, layer.outputs
    if (Wt + In + Out) // G <= buffer_words:  # one group's working set fits
        return DramTraffic(Wt + In, Out)
    half = max(1, buffer_words // 2)
    weight_tiles = ceil_div(Wt // G, half)  # weights resident: inputs streamed once per tile
    input_tiles = ceil_div(In // G, half)   # inputs resident: weights streamed once per tile
    if Wt + In * weight_tiles <= In + Wt * input_tiles:
        return DramTraffic(Wt + In * weight_tiles, Out, input_passes=weight_tiles)
    return DramTraffic(In + Wt * input_tiles, Out, weight_passes=input_tiles)


@dataclass(frozen=True)
class Accesses:
    """Words accessed at each level (and MACs) for one layer."""

    macs: int
    rf: int
    array: int
    buffer: int
    dram: int

    def of(self, level: str) -> int:
        return getattr(self, level)


def accesses(layer: Layer, hardware: Hardware, array: SystolicResult | None = None,
             dram: DramTraffic | None = None) -> Accesses:
    """Accesses per level of ``layer`` under the reuse model (tier 2 is computed if not given)."""
    if layer.fused:
        return Accesses(0, 0, 0, 0, 0)
    dram = dram or dram_traffic(layer, hardware.buffer_words)
    staging = dram.reads + dram.writes  # every DRAM word is written into or read out of the buffer
    if not layer.on_array:
        # the pooling / element-wise unit reads every input from the buffer and writes every output
        return Accesses(0, 0, 0, layer.inputs + layer.outputs + staging, dram.words)
    array = array or systolic(layer, hardware=hardware)
    macs = layer.macs
    buffer = array.buffer_reads + array.buffer_writes + staging
    if array.dataflow == "rs":
        hops = macs // layer.S  # each 1-D convolution output moves up the column once
        network = array.buffer_reads + array.buffer_writes + hops
    else:
        network = ARRAY_PER_MAC_SYSTOLIC * macs
    return Accesses(macs, RF_PER_MAC[array.dataflow] * macs, network, buffer, dram.words)


@dataclass(frozen=True)
class EnergyResult:
    """Energy of one layer, by level, in the unit of the energy table."""

    accesses: Accesses
    table: EnergyTable
    dram_traffic: DramTraffic

    def of(self, level: str) -> float:
        """Energy at ``level`` (``"mac"``, ``"rf"``, ``"array"``, ``"buffer"``, ``"dram"``)."""
        count = self.accesses.macs if level == "mac" else self.accesses.of(level)
        return count * self.table.of(level)

    @property
    def by_level(self) -> dict[str, float]:
        return {level: self.of(level) for level in ("mac", *LEVELS)}

    @property
    def total(self) -> float:
        return sum(self.by_level.values())

    @property
    def per_mac(self) -> float:
        """Energy per MAC (the table's unit per MAC); ``inf`` for a layer with no MACs."""
        macs = self.accesses.macs
        return self.total / macs if macs else float("inf")

    @property
    def unit(self) -> str:
        return self.table.unit


def energy(layer: Layer, hardware: Hardware, array: SystolicResult | None = None) -> EnergyResult:
    """Energy of ``layer`` on ``hardware``: accesses per level times the hardware's energy table."""
    dram = dram_traffic(layer, hardware.buffer_words)
    return EnergyResult(accesses(layer, hardware, array, dram), hardware.energy, dram)
