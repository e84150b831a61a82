"""The cost report: one row per layer call, and the totals the lecture quotes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from cnnlib.costs.formulas import FLOPS_PER_MAC
from cnnlib.text import human, render

#: Row kinds. The lecture's: ``conv`` has G = 1, ``gconv`` 1 < G < C, ``dwconv`` G = C (one
#: input channel per filter); a 1-D convolution is one of these with R = H = P = 1 (a one-row
#: filter on a one-row map). ``fc`` is ``nn.Linear``, a product with a weight matrix
#: (``F.linear``), or a convolution whose filter covers the whole input (R = H, S = W, no
#: padding), the lecture's definition of an FC layer. ``pool``, ``norm``, ``act``, ``eltwise``
#: (an element-wise add or product of two activations: a residual add, a gate), ``rbf``
#: (LeNet-5's output units) and ``other`` (a module with parameters and no operation counted)
#: do no MACs in the lecture's sense. The rows of operations that no layer rule counted
#: (:mod:`cnnlib.costs.ops`) have kinds of their own, each a matrix product with C the length
#: of its dot products and M its output columns: ``matmul`` (``@``, ``torch.matmul``,
#: ``einsum``, ``bmm``, ``addmm`` on activations), ``attention`` (the products inside
#: ``nn.MultiheadAttention``, attention kernels: C = keys, M = query plus value width), ``rnn``
#: (the products of ``nn.RNN``/``GRU``/``LSTM``, see :func:`cnnlib.costs.ops.rnn_macs`; a
#: row's shapes are ``(steps, N, C)`` and ``(steps, N, M)``: its time steps, one after the
#: other), ``tconv`` (transposed convolutions of any dimension) and ``conv3d`` (3-D
#: convolutions); the last two keep the tensors' shapes, with C and M the input and output
#: channels and G the groups; a ``conv3d`` row's R is the filter's frames times its rows
#: (``kT * kH``) and S its columns.
CONV_KINDS = frozenset({"conv", "gconv", "dwconv"})
FC_KINDS = frozenset({"fc"})
#: Kinds of operations that no lecture letter describes; all of them are matrix products.
PRODUCT_KINDS = frozenset({"matmul", "attention", "rnn", "tconv", "conv3d"})
KINDS = ("conv", "gconv", "dwconv", "fc", "matmul", "attention", "rnn", "tconv", "conv3d",
         "pool", "norm", "act", "eltwise", "rbf", "other")
#: What ``macs`` counts unless the caller asks otherwise: every multiply-accumulate of a
#: convolution or a matrix product, which is what ``FlopCounterMode`` counts.
DEFAULT_COUNTED = CONV_KINDS | FC_KINDS | PRODUCT_KINDS


@dataclass(frozen=True)
class LayerCost:
    """Costs of one call of one layer.

    ``weights`` are filter / FC weights (the lecture's "# of weights"); ``params`` are all the
    learnable parameters the layer owns (weights, biases, norm scales and shifts), counted on
    the layer's first call only, so that a layer called twice is not counted twice.
    ``macs`` is zero for kinds the report does not count (see ``CostReport.counted_kinds``);
    ``ops`` is the operation count of the layer's formula whatever is counted.

    A row of an operation that no layer rule counted is named after the module that ran it
    (``block:bmm`` inside a module with children, the module's own name in a leaf); a matrix
    product's shapes are ``(1, rows, C)`` and ``(1, rows, M)``, with ``ops = rows * C * M``.
    """

    name: str
    kind: str
    module: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    R: int | None = None
    S: int | None = None
    C: int | None = None
    M: int | None = None
    G: int | None = None
    #: the same on both axes, or (height, width) where they differ
    stride: int | tuple[int, int] | None = None
    padding: tuple[int, int] | None = None
    weights: int = 0
    biases: int = 0
    params: int = 0
    ops: int = 0
    macs: int = 0
    connections: int = 0
    activations_in: int = 0
    activations_out: int = 0

    @classmethod
    def from_fields(cls, values: dict[str, Any]) -> LayerCost:
        """The row ``LayerCost(**values)``, made without the dataclass's ``__init__``.

        The collector makes one row per layer call, and a frozen dataclass's ``__init__`` sets
        each of the twenty fields through ``object.__setattr__``: half of the time it takes to
        count a layer. This fills the instance's ``__dict__`` in one step instead. Unknown or
        missing fields are still errors.
        """
        state = {**_ROW_DEFAULTS, **values}
        if len(state) != _ROW_FIELDS or not _ROW_REQUIRED <= state.keys():
            return cls(**values)  # let the dataclass name the missing or unexpected field
        row = object.__new__(cls)
        row.__dict__.update(state)
        return row

    @property
    def channels_per_filter(self) -> int:
        """C/G: the input channels one filter reads (all C with one group, one in a depth-wise
        layer). A row without filters (an activation, an element-wise add) has none: an error."""
        if self.C is None:
            raise ValueError(f"layer {self.name!r} of kind {self.kind!r} has no filters")
        return self.C // (self.G or 1)

    @property
    def filter_shape(self) -> str:
        """The filter in the lecture's letters, e.g. ``3x3x64 -> 128`` or ``3x3 dw x32``."""
        if self.R is None:
            return ""
        if self.kind == "pool":
            return f"{self.R}x{self.S} pool"
        if self.kind == "dwconv":
            return f"{self.R}x{self.S} dw x{self.M}"
        per_group = f"/{self.G}" if self.G and self.G > 1 else ""
        return f"{self.R}x{self.S}x{self.C}{per_group} -> {self.M}"


_ROW_DEFAULTS = {f.name: f.default for f in fields(LayerCost) if f.default is not MISSING}
_ROW_REQUIRED = frozenset(f.name for f in fields(LayerCost) if f.default is MISSING)
_ROW_FIELDS = len(fields(LayerCost))


@dataclass(frozen=True)
class CostReport:
    """Per-layer costs of one model at one input size, with the lecture's totals."""

    model: str
    input_size: tuple[int, ...]
    layers: tuple[LayerCost, ...]
    params: int
    counted_kinds: frozenset[str] = DEFAULT_COUNTED
    output_shape: tuple[int, ...] = field(default=())

    # -- totals -------------------------------------------------------------------------
    def _sum(self, attr: str, kinds: Iterable[str] | None = None) -> int:
        kinds = None if kinds is None else frozenset(kinds)
        return sum(getattr(r, attr) for r in self.layers if kinds is None or r.kind in kinds)

    @property
    def weights(self) -> int:
        """Filter and FC weights (no biases, no norm parameters): the lecture's "# of weights"."""
        return self._sum("weights")

    @property
    def biases(self) -> int:
        return self._sum("biases")

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the counted kinds (convolutions and products by default)."""
        return self._sum("macs")

    @property
    def flops(self) -> int:
        """``2 * macs``: papers that quote FLOPs count a multiply and an add separately."""
        return FLOPS_PER_MAC * self.macs

    @property
    def conv_weights(self) -> int:
        return self._sum("weights", CONV_KINDS)

    @property
    def conv_macs(self) -> int:
        return self._sum("macs", CONV_KINDS)

    @property
    def fc_weights(self) -> int:
        return self._sum("weights", FC_KINDS)

    @property
    def fc_macs(self) -> int:
        return self._sum("macs", FC_KINDS)

    @property
    def eltwise_ops(self) -> int:
        """Operations of element-wise layers (residual adds, SE scales): one per output value."""
        return self._sum("ops", {"eltwise"})

    @property
    def connections(self) -> int:
        """LeCun's "connections": every input edge of every unit, biases included."""
        return self._sum("connections")

    @property
    def activations(self) -> int:
        """Values written by all layers (an upper bound on activation traffic)."""
        return self._sum("activations_out")

    @property
    def conv_layers(self) -> tuple[LayerCost, ...]:
        return tuple(r for r in self.layers if r.kind in CONV_KINDS)

    @property
    def fc_layers(self) -> tuple[LayerCost, ...]:
        return tuple(r for r in self.layers if r.kind in FC_KINDS)

    def of_kind(self, *kinds: str) -> tuple[LayerCost, ...]:
        return tuple(r for r in self.layers if r.kind in kinds)

    def metric(self, expression: str) -> int:
        """Evaluate a total by name, or a sum/difference of names: ``"connections - fc_macs"``."""
        total, sign = 0, 1
        for token in expression.split():
            if token in "+-":
                sign = 1 if token == "+" else -1
                continue
            if token.startswith("_") or not hasattr(self, token):
                raise AttributeError(f"CostReport has no metric {token!r}")
            value = getattr(self, token)
            if not isinstance(value, int):
                raise AttributeError(f"{token!r} is not a number")
            total += sign * value
        return total

    def by_kind(self) -> dict[str, dict[str, int]]:
        """Layers, weights, MACs and ops grouped by kind, in the order of :data:`KINDS`."""
        out: dict[str, dict[str, int]] = {}
        for kind in KINDS:
            rows = self.of_kind(kind)
            if rows:
                out[kind] = {
                    "layers": len(rows),
                    "weights": sum(r.weights for r in rows),
                    "macs": sum(r.macs for r in rows),
                    "ops": sum(r.ops for r in rows),
                }
        return out

    def to_records(self) -> list[dict]:
        """One plain dict per row (for ``pandas.DataFrame(report.to_records())``)."""
        return [asdict(r) | {"filter": r.filter_shape} for r in self.layers]

    def table(self, kinds: Iterable[str] | None = None) -> str:
        """A per-layer text table followed by the totals (what ``cnnlib summary`` prints),
        in the style of fvcore's and ptflops' summaries; ``kinds`` keeps only those rows."""
        keep = None if kinds is None else set(kinds)
        rows = [
            (r.name, r.kind, _dims(r.input_shape[1:]), _dims(r.output_shape[1:]), r.filter_shape,
             "" if r.stride is None else r.stride, f"{r.weights:,}", f"{r.macs:,}")
            for r in self.layers if keep is None or r.kind in keep
        ]
        table = render(("layer", "kind", "input", "output", "filter (RxSxC -> M)", "stride",
                        "weights", "MACs"), rows, align="llrrlrrr")
        counted = ", ".join(k for k in KINDS if k in self.counted_kinds)
        totals = [
            ("CONV layers", len(self.conv_layers), self.conv_weights, self.conv_macs),
            ("FC layers", len(self.fc_layers), self.fc_weights, self.fc_macs),
            ("total", len(self.layers), self.weights, self.macs),
        ]
        summary = render(("", "layers", "weights", "MACs"),
                         [(t, n, f"{w:,} ({human(w)})", f"{m:,} ({human(m)})") for t, n, w, m in totals])
        return (f"{self.model} at input {_dims(self.input_size[1:])}\n\n{table}\n\n{summary}\n\n"
                f"parameters (weights, biases, norm scales and shifts): {self.params:,} "
                f"({human(self.params)})\n"
                f"MACs count: {counted}; FLOPs = 2 x MACs = {human(self.flops)}")

    def __str__(self) -> str:
        return self.table()


def _dims(shape: Iterable[int]) -> str:
    return "x".join(map(str, shape))
