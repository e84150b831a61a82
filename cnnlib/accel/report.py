"""The result of an estimate: one row per layer, network totals and the by-kind shares.

The shares are the point of the exercise: a kind of layer's share of the MACs next to its
share of the cycles and of the energy. When they differ, counting MACs misjudges the network.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlib.accel.energy import EnergyResult
from cnnlib.accel.hardware import DATAFLOW_NAMES, LEVELS, Hardware
from cnnlib.accel.layer import Layer
from cnnlib.accel.roofline import RooflinePoint
from cnnlib.accel.systolic import SystolicResult
from cnnlib.costs.report import KINDS
from cnnlib.text import human, render


@dataclass(frozen=True)
class LayerEstimate:
    """One layer on one design: the three tiers side by side, and the latency they imply.

    ``latency_cycles`` is the largest of the array's compute cycles, the cycles DRAM needs
    for the layer's traffic and the cycles the global buffer needs for its accesses (each
    level is assumed to overlap the others perfectly, as with double buffering); ``bound``
    names the level that sets it.
    """

    layer: Layer
    array: SystolicResult | None
    roofline: RooflinePoint
    energy: EnergyResult
    compute_cycles: int
    dram_cycles: float
    buffer_cycles: float

    @property
    def macs(self) -> int:
        return self.layer.macs

    @property
    def latency_cycles(self) -> float:
        return max(self.compute_cycles, self.dram_cycles, self.buffer_cycles)

    @property
    def bound(self) -> str:
        """``"compute"``, ``"DRAM"`` or ``"buffer"`` (``"fused"`` for a fused layer)."""
        if self.layer.fused:
            return "fused"
        latency = self.latency_cycles
        if self.compute_cycles and self.compute_cycles >= latency:
            return "compute"
        return "DRAM" if self.dram_cycles >= self.buffer_cycles else "buffer"

    @property
    def utilization(self) -> float:
        """Busy share of the PE array during the layer's compute cycles (0 with no MACs)."""
        return self.array.utilization if self.array else 0.0


@dataclass(frozen=True)
class KindShare:
    """Totals of one kind of layer, and their shares of the network's totals."""

    kind: str
    layers: int
    macs: int
    compute_cycles: int
    latency_cycles: float
    energy: float
    macs_share: float
    cycles_share: float
    latency_share: float
    energy_share: float
    utilization: float


@dataclass(frozen=True)
class AccelReport:
    """Per-layer estimates of one model on one design, and their totals."""

    model: str
    input_size: tuple[int, ...]
    hardware: Hardware
    layers: tuple[LayerEstimate, ...]

    # -- totals ------------------------------------------------------------------------------
    @property
    def macs(self) -> int:
        return sum(e.macs for e in self.layers)

    @property
    def compute_cycles(self) -> int:
        """Cycles the array computes, layers one after another."""
        return sum(e.compute_cycles for e in self.layers)

    @property
    def latency_cycles(self) -> float:
        return sum(e.latency_cycles for e in self.layers)

    @property
    def latency_s(self) -> float:
        return self.latency_cycles / self.hardware.clock_hz

    @property
    def utilization(self) -> float:
        """MACs / (compute cycles x PEs): how busy the array is while it computes."""
        cycles = self.compute_cycles
        return self.macs / (cycles * self.hardware.pes) if cycles else 0.0

    @property
    def throughput_utilization(self) -> float:
        """MACs / (latency x PEs): the share of the peak the whole network achieves."""
        cycles = self.latency_cycles
        return self.macs / (cycles * self.hardware.pes) if cycles else 0.0

    @property
    def energy_by_level(self) -> dict[str, float]:
        out = dict.fromkeys(("mac", *LEVELS), 0.0)
        for e in self.layers:
            for level, value in e.energy.by_level.items():
                out[level] += value
        return out

    @property
    def energy(self) -> float:
        """Total energy in the unit of the hardware's energy table (pJ or MAC-equivalents)."""
        return sum(self.energy_by_level.values())

    @property
    def energy_per_mac(self) -> float:
        return self.energy / self.macs if self.macs else float("inf")

    @property
    def dram_bytes(self) -> int:
        return sum(e.energy.accesses.dram for e in self.layers) * self.hardware.word_bytes

    @property
    def unit(self) -> str:
        return self.hardware.energy.unit

    # -- by kind ------------------------------------------------------------------------------
    def by_kind(self) -> dict[str, KindShare]:
        """Totals and shares per layer kind (fused kinds, which cost nothing, are left out)."""
        macs, cycles, latency, energy = self.macs, self.compute_cycles, self.latency_cycles, self.energy
        out: dict[str, KindShare] = {}
        for kind in KINDS:
            rows = [e for e in self.layers if e.layer.kind == kind and not e.layer.fused]
            if not rows:
                continue
            k_macs = sum(e.macs for e in rows)
            k_cycles = sum(e.compute_cycles for e in rows)
            k_latency = sum(e.latency_cycles for e in rows)
            k_energy = sum(e.energy.total for e in rows)
            out[kind] = KindShare(
                kind=kind, layers=len(rows), macs=k_macs, compute_cycles=k_cycles,
                latency_cycles=k_latency, energy=k_energy,
                macs_share=k_macs / macs if macs else 0.0,
                cycles_share=k_cycles / cycles if cycles else 0.0,
                latency_share=k_latency / latency if latency else 0.0,
                energy_share=k_energy / energy if energy else 0.0,
                utilization=k_macs / (k_cycles * self.hardware.pes) if k_cycles else 0.0,
            )
        return out

    # -- text ---------------------------------------------------------------------------------
    def performance_table(self) -> str:
        """Per layer: MACs, arithmetic intensity, cycles, utilisation, latency and bound."""
        rows = [(e.layer.name, e.layer.kind, e.layer.describe(), human(e.macs),
                 _intensity(e.roofline), f"{e.compute_cycles:,}", _pct(e.utilization),
                 f"{e.latency_cycles:,.0f}", e.bound)
                for e in self.layers if not e.layer.fused]
        return render(("layer", "kind", "filter", "MACs", "MAC/B", "cycles", "util",
                       "latency cyc", "bound"), rows, align="lllrrrrrl")

    def energy_table(self) -> str:
        """Per layer: accesses (words) at each level and energy at each level."""
        unit = self.unit
        rows = []
        for e in self.layers:
            if e.layer.fused:
                continue
            a, by = e.energy.accesses, e.energy.by_level
            rows.append((e.layer.name, *(human(a.of(level)) for level in reversed(LEVELS)),
                         *(_energy(by[level], unit) for level in ("dram", "buffer", "array", "rf", "mac")),
                         _energy(e.energy.total, unit), _per_mac(e.energy.per_mac, unit)))
        header = ("layer", "DRAM wd", "buf wd", "array wd", "RF wd",
                  "E DRAM", "E buf", "E array", "E RF", "E MAC", "E total", "per MAC")
        return render(header, rows)

    def kind_table(self) -> str:
        """Each kind's share of MACs, compute cycles, latency and energy."""
        rows = [(s.kind, s.layers, human(s.macs), _pct(s.macs_share), f"{s.compute_cycles:,}",
                 _pct(s.cycles_share), _pct(s.utilization) if s.compute_cycles else "-",
                 _pct(s.latency_share), _pct(s.energy_share))
                for s in self.by_kind().values()]
        return render(("kind", "layers", "MACs", "MAC share", "cycles", "cycle share", "util",
                       "latency share", "energy share"), rows, align="lrrrrrrrr")

    def summary(self) -> str:
        """Network totals in a few lines."""
        hw, unit = self.hardware, self.unit
        by = self.energy_by_level
        total = self.energy
        split = ", ".join(f"{level} {_pct(by[level] / total) if total else '-'}"
                          for level in ("dram", "buffer", "array", "rf", "mac"))
        return "\n".join([
            f"MACs {self.macs:,} ({human(self.macs)}); compute cycles {self.compute_cycles:,}; "
            f"array utilisation {_pct(self.utilization)}",
            f"latency {self.latency_cycles:,.0f} cycles = {self.latency_s * 1e3:.3f} ms at "
            f"{hw.clock_mhz:g} MHz ({_pct(self.throughput_utilization)} of peak); "
            f"DRAM traffic {human(self.dram_bytes)}B",
            f"energy {_energy(total, unit)} = {_per_mac(self.energy_per_mac, unit)} per MAC "
            f"(by level: {split})",
            *([] if unit == "pJ" else [NORMALISED_NOTE]),
        ])

    def headline(self) -> str:
        """The sentence the lecture's warning is about, when the network has depth-wise layers."""
        kinds = self.by_kind()
        dw = kinds.get("dwconv")
        if dw is None:
            return ""
        rest_macs = sum(s.macs for k, s in kinds.items() if k != "dwconv")
        rest_cycles = sum(s.compute_cycles for k, s in kinds.items() if k != "dwconv")
        rest_util = rest_macs / (rest_cycles * self.hardware.pes) if rest_cycles else 0.0
        share = (f"Depth-wise layers are {_pct(dw.macs_share)} of the MACs "
                 f"{'but' if dw.cycles_share > 2 * dw.macs_share else 'and'} "
                 f"{_pct(dw.cycles_share)} of the compute cycles on {self.hardware.name}")
        utils = (f"their array utilisation is {_pct(dw.utilization)} against {_pct(rest_util)} "
                 f"for the other layers")
        if dw.cycles_share > 2 * dw.macs_share:
            return f"{share}: {utils} (one input channel per filter leaves most of the array idle)."
        return f"{share}: with {DATAFLOW_NAMES[self.hardware.dataflow]} mapping {utils}."

    def table(self) -> str:
        """Everything: the header, both per-layer tables, the totals and the kind shares."""
        hw = self.hardware
        size = "x".join(map(str, self.input_size[1:])) if self.input_size else "?"
        fused = sum(1 for e in self.layers if e.layer.fused)
        parts = [
            f"{self.model} at input {size} on {hw.name}: {hw.rows}x{hw.cols} PEs, "
            f"{DATAFLOW_NAMES[hw.dataflow]} ({hw.dataflow}), {hw.clock_mhz:g} MHz, "
            f"buffer {human(hw.buffer_bytes)}B, DRAM {hw.dram_gbytes_per_s:g} GB/s, "
            f"energy table {hw.energy.name}",
            "", self.performance_table(), "", self.energy_table(), "",
            f"({fused} activation and normalisation layers are fused into the layer before them "
            f"and cost nothing of their own)" if fused else "",
            self.summary(), "", self.kind_table(),
        ]
        headline = self.headline()
        if headline:
            parts += ["", headline]
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.table()


def _pct(x: float) -> str:
    """A share in percent, with more digits when it is small but not zero."""
    return f"{100 * x:.2g}%" if 0 < x < 0.001 else f"{100 * x:.1f}%"


def _intensity(point: RooflinePoint) -> str:
    i = point.intensity
    return "-" if not point.macs else f"{i:.1f}" if i < 100 else f"{i:,.0f}"


#: What a normalised energy table's figures mean, printed under the totals that use one.
NORMALISED_NOTE = ("(MAC-eq: energy in multiples of one MAC's, from a table normalised to the MAC "
                   "such as Eyeriss's, not pJ; in Python, accel.hardware(NAME, "
                   "energy=accel.TIMELOOP_EYERISS_45NM) prices a design in pJ)")


def _unit_label(unit: str) -> str:
    """``pJ``, or ``MAC-eq`` for a table in multiples of one MAC's energy (not "MAC", which
    would print "15.7 MAC per MAC")."""
    return "MAC-eq" if unit == "MAC" else unit


def _energy(value: float, unit: str) -> str:
    """Energy with an engineering prefix: ``1.23 uJ``; MAC-normalised tables say ``MAC-eq``."""
    if unit != "pJ":
        return f"{human(value)} {_unit_label(unit)}"
    for prefix, scale in (("J", 1e12), ("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}"
    return f"{value:.3g} pJ"


def _per_mac(value: float, unit: str) -> str:
    return "-" if value == float("inf") else f"{value:.3g} {_unit_label(unit)}"
