"""A layer as the accelerator sees it: the lecture's shape letters and nothing else.

====  =========================================  ====  ==================================
N     batch size                                  R, S  filter height, width
C     input channels                              P, Q  output height, width
M     output channels (filters)                   H, W  input height, width
G     groups (G = C: depth-wise)                  U     stride (``stride``), per axis
====  =========================================  ====  ==================================

A layer is described either by its output size (``P``, ``Q``; the input size is derived) or by
its input size (``H``, ``W``; the output size is derived), so that

>>> Layer(C=3, M=96, R=11, S=11, P=55, Q=55, stride=4).H      # AlexNet conv1
227

An FC layer is a convolution whose filter covers its whole input: ``R = S = P = Q = 1`` with
``C`` inputs and ``M`` outputs (``Layer(C=4096, M=1000)``). A grouped convolution splits the
``C`` channels and ``M`` filters into ``G`` independent groups of ``C/G`` and ``M/G``; a
depth-wise one has ``G = C``, one input channel per filter.

What each kind costs on the hardware (the rest of :mod:`cnnlib.accel` follows this table):

=========================  ==============================================================
conv, gconv, dwconv, fc    MACs on the PE array, and the memory traffic that feeds it
conv3d, tconv              3-D and transposed convolutions: G products, one per group, as
                           a 2-D convolution's (see :meth:`from_row`)
rnn                        one product per time step (``steps``), one after the other
matmul, attention          matrix products (rows x C) @ (C x M), mapped on the array like
                           an FC layer with a batch of ``N`` = rows
rbf                        LeNet's RBF output units, (x - w)^2 summed: an FC layer's MACs
pool, eltwise, other       memory only: read the input(s) once, write the output once;
                           the compares or adds happen in a small unit beside the buffer
act, norm                  fused: applied to the previous layer's outputs on their way out
                           of the array (a batch norm folds into the conv's weights at
                           inference), so no traffic and no cycles of their own
=========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cnnlib.accel.errors import BadLayerError, check_positive_int
from cnnlib.costs.report import KINDS, PRODUCT_KINDS

if TYPE_CHECKING:
    from cnnlib.costs.report import CostReport, LayerCost

#: Kinds whose MACs run on the PE array.
ARRAY_KINDS = frozenset({"conv", "gconv", "dwconv", "fc", "rbf"}) | PRODUCT_KINDS
#: Kinds that move data but do no MACs.
MEMORY_KINDS = frozenset({"pool", "eltwise", "other"})
#: Kinds applied on the fly to the previous layer's outputs.
FUSED_KINDS = frozenset({"act", "norm"})


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(pair, tuple) and len(pair) == 2):
        raise BadLayerError(f"Layer: {name} must be an integer or a pair (height, width), got {value!r}")
    return pair


def _derive(owner: str, kind: str | None, out: str, inp: str, P: int | None, H: int | None,
            R: int, U: int, pad: int) -> tuple[int, int]:
    """The output size ``P`` and input size ``H`` of one axis, one derived from the other."""
    if P is not None:
        check_positive_int(owner, BadLayerError, **{out: P})
    if H is not None:
        check_positive_int(owner, BadLayerError, **{inp: H})
    if H is None:
        if P is None:
            raise BadLayerError(f"{owner}: give {out} or {inp}")
        # The smallest input that gives P outputs: the last window starts at (P-1)U.
        H = (P - 1) * U + R - 2 * pad
        if H < 1:
            raise BadLayerError(f"{owner}: padding {pad} is too large for {out}={P}, "
                                f"{'R' if out == 'P' else 'S'}={R}: the input size {inp} would be {H}")
    elif P is None:
        P = (H + 2 * pad - R) // U + 1
        if P < 1:
            raise BadLayerError(f"{owner}: the input {inp}={H} (padding {pad}) is smaller than "
                                f"the filter {'R' if out == 'P' else 'S'}={R}")
    elif P != (H + 2 * pad - R) // U + 1 and kind not in ("pool", "eltwise", "other", "act", "norm"):
        # both given: they must agree (pooling may round up, as ceil_mode does)
        raise BadLayerError(
            f"{owner}: {out}={P} and {inp}={H} disagree: a filter of {R} with stride {U} and "
            f"padding {pad} makes {(H + 2 * pad - R) // U + 1} outputs of {H} inputs; give one of them")
    return P, H


@dataclass(frozen=True, init=False)
class Layer:
    """One layer in the lecture's letters. Give ``P, Q`` or ``H, W``; the other pair is derived.

    ``M`` defaults to ``C`` (the channel-preserving layers: pooling, depth-wise), ``S`` to
    ``R``, and with neither size given the layer is an FC layer (``P = Q = 1``).
    ``input_words`` overrides ``N*C*H*W`` for a layer that reads several tensors (an
    element-wise add reads two). Once made, every letter is an integer and ``stride`` and
    ``padding`` are (height, width) pairs, whatever was given.
    """

    C: int
    M: int
    R: int
    S: int
    P: int
    Q: int
    H: int
    W: int
    N: int
    G: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    kind: str
    name: str
    #: overrides ``N*C*H*W`` for a layer that reads several tensors
    input_words: int | None = field(repr=False)
    #: overrides ``N*M*P*Q`` for a layer whose outputs are not its products' (a transposed
    #: convolution adds overlapping products into fewer outputs)
    output_words: int | None = field(repr=False)
    #: MACs that multiply a real weight, for a layer that is not dense (LeNet-5's C3): the array
    #: still runs the dense shape (its cycles), but only these MACs count as work done.
    useful_macs: int | None = field(repr=False)
    #: A recurrent layer's time steps: the layer (of batch ``N``) runs ``steps`` times, one
    #: after the other, because each step needs the previous step's output. Its MACs, inputs,
    #: outputs and cycles are ``steps`` times one step's; its weights are read as for one.
    steps: int

    def __init__(self, *, C: int, M: int | None = None, R: int = 1, S: int | None = None,
                 P: int | None = None, Q: int | None = None, H: int | None = None,
                 W: int | None = None, N: int = 1, G: int = 1, stride: int | tuple[int, int] = 1,
                 padding: int | tuple[int, int] = 0, kind: str | None = None, name: str = "",
                 input_words: int | None = None, output_words: int | None = None,
                 useful_macs: int | None = None, steps: int = 1) -> None:
        owner = f"Layer {name!r}" if name else "Layer"
        M = C if M is None else M
        S = R if S is None else S
        sh, sw = _pair(stride, "stride")
        ph, pw = _pair(padding, "padding")
        check_positive_int(owner, BadLayerError, N=N, C=C, M=M, G=G, R=R, S=S, stride_height=sh,
                           stride_width=sw, steps=steps)
        for side, p, k in (("padding height", ph, R), ("padding width", pw, S)):
            if not isinstance(p, int) or isinstance(p, bool) or p < 0:
                raise BadLayerError(f"{owner}: {side} must be a non-negative integer, got {p!r}")
            if kind == "pool" and 2 * p > k:   # as torch's pooling layers require
                raise BadLayerError(f"{owner}: a pooling window of {k} takes a {side} of at most "
                                    f"{k // 2} (half the window), got {p}")

        sized = H is not None or W is not None   # an input size given, not derived
        # Square by default: one of P or H given fixes the other axis too.
        if Q is None and W is None:
            Q, W = P, H
        if P is None and H is None:
            P = 1
        if Q is None and W is None:
            Q = 1
        P, H = _derive(owner, kind, "P", "H", P, H, R, sh, ph)
        Q, W = _derive(owner, kind, "Q", "W", Q, W, S, sw, pw)
        set_ = object.__setattr__  # the dataclass is frozen: each field is set once, here
        for field_name, value in (("C", C), ("M", M), ("R", R), ("S", S), ("P", P), ("Q", Q),
                                  ("H", H), ("W", W), ("N", N), ("G", G), ("stride", (sh, sw)),
                                  ("padding", (ph, pw)), ("name", name), ("input_words", input_words),
                                  ("output_words", output_words), ("useful_macs", useful_macs),
                                  ("steps", steps)):
            set_(self, field_name, value)
        set_(self, "kind", self._default_kind() if kind is None else kind)

        if self.kind not in KINDS:
            raise BadLayerError(f"{owner}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind in ARRAY_KINDS:
            self._check_groups(owner)
        self._check_kind(owner)
        if self.kind == "fc" and (self.R, self.S) != (1, 1) and not sized:
            raise BadLayerError(
                f"{owner}: an FC layer of C inputs has R = S = 1; one with a {self.R}x{self.S} filter is "
                "a convolution covering its whole input, so give that input (H, W) too")
        dense = self.N * self.M * (self.C // self.G) * self.R * self.S * self.P * self.Q
        if self.useful_macs is not None and not (0 <= self.useful_macs <= dense and self.on_array):
            raise BadLayerError(f"{owner}: useful_macs must be between 0 and the dense layer's "
                                f"{dense:,} MACs, on a layer that runs on the array; "
                                f"got {self.useful_macs!r}")
        if self.input_words is not None:
            check_positive_int(owner, BadLayerError, input_words=self.input_words)
        if self.output_words is not None:
            check_positive_int(owner, BadLayerError, output_words=self.output_words)

    def _default_kind(self) -> str:
        if self.G > 1 and self.G == self.C:
            return "dwconv"
        if self.G > 1:
            return "gconv"
        if (self.P, self.Q) == (1, 1) and (self.H, self.W) == (self.R, self.S) and self.padding == (0, 0):
            return "fc"
        return "conv"

    def _check_kind(self, owner: str) -> None:
        """The kind agrees with the letters: a depth-wise layer has G = C, an FC layer's filter
        covers its input."""
        kind, G, C = self.kind, self.G, self.C
        if kind == "dwconv" and G != C:
            raise BadLayerError(f"{owner}: a depth-wise layer (kind='dwconv') has one group per input "
                                f"channel, G = C = {C}; got G={G}")
        if kind == "gconv" and G == 1:
            raise BadLayerError(f"{owner}: a grouped layer (kind='gconv') has G > 1 groups; got G=1")
        if kind == "conv" and G != 1:
            raise BadLayerError(f"{owner}: kind='conv' has one group (G=1), got G={G}: use 'gconv' "
                                "(or 'dwconv' for G = C)")
        if kind == "fc" and ((self.P, self.Q) != (1, 1) or (self.R, self.S) != (self.H, self.W)
                             or self.padding != (0, 0)):
            raise BadLayerError(
                f"{owner}: an FC layer's filter covers its whole input (R = H, S = W, no padding, "
                f"P = Q = 1); got R={self.R}, S={self.S}, H={self.H}, W={self.W}, P={self.P}, Q={self.Q}")
        if self.steps != 1 and kind != "rnn":
            raise BadLayerError(f"{owner}: only a recurrent layer (kind='rnn') has time steps; got "
                                f"steps={self.steps} for kind {kind!r}")

    def _check_groups(self, owner: str) -> None:
        C, M, G = self.C, self.M, self.G
        if G > C or C % G or M % G:
            divisors = [g for g in range(1, min(C, M) + 1) if C % g == 0 and M % g == 0]
            shown = ", ".join(map(str, divisors[:12])) + (", ..." if len(divisors) > 12 else "")
            raise BadLayerError(
                f"{owner} cannot map: G={G} groups must divide both C={C} channels and M={M} "
                f"filters (so G <= C); allowed G: {shown}"
            )

    # -- what the layer costs, in the lecture's formulas ------------------------------------
    @property
    def on_array(self) -> bool:
        """Does this layer's work run as MACs on the PE array?"""
        return self.kind in ARRAY_KINDS

    @property
    def fused(self) -> bool:
        return self.kind in FUSED_KINDS

    @property
    def macs(self) -> int:
        """``N * M * (C/G) * R * S * P * Q``: one R x S x C/G dot product per output value
        (``useful_macs`` instead for a layer that is not dense)."""
        if not self.on_array:
            return 0
        if self.useful_macs is not None:
            return self.useful_macs
        return self.steps * self.N * self.M * (self.C // self.G) * self.R * self.S * self.P * self.Q

    @property
    def weights(self) -> int:
        """Filter weights, ``M * (C/G) * R * S``, read by the array (0 for other kinds)."""
        return self.M * (self.C // self.G) * self.R * self.S if self.on_array else 0

    @property
    def inputs(self) -> int:
        """Input activations the layer reads (padding zeros are made, not read); 0 if fused."""
        if self.fused:
            return 0
        if self.input_words is not None:
            return self.input_words
        return self.steps * self.N * self.C * self.H * self.W

    @property
    def outputs(self) -> int:
        """Output activations the layer writes, ``N * M * P * Q`` (0 if fused)."""
        if self.fused:
            return 0
        if self.output_words is not None:
            return self.output_words
        return self.steps * self.N * self.M * self.P * self.Q

    def gemm(self) -> tuple[int, int, int]:
        """One group's convolution as a matrix product (im2col), the way SCALE-Sim maps it.

        Returns ``(window, filters, pixels)``: ``R*S*C/G`` rows of the reduction (the
        filter "window"), ``M/G`` filters and ``N*P*Q`` output pixels. The G groups are G
        independent products of this size.
        """
        return self.R * self.S * (self.C // self.G), self.M // self.G, self.N * self.P * self.Q

    def describe(self) -> str:
        """The filter in the lecture's letters: ``11x11x3 -> 96 /4``, ``3x3 dw x32``."""
        U = self.stride[0] if self.stride[0] == self.stride[1] else f"{self.stride[0]}x{self.stride[1]}"
        step = f" /{U}" if U != 1 else ""
        if self.kind == "dwconv":
            return f"{self.R}x{self.S} dw x{self.C}{step}"
        if self.on_array:
            per_group = f"/{self.G}" if self.G > 1 else ""
            return f"{self.R}x{self.S}x{self.C}{per_group} -> {self.M}{step}"
        if self.kind == "pool":
            return f"{self.R}x{self.S} pool{step}"
        return ""

    # -- from the cost report -----------------------------------------------------------------
    @classmethod
    def from_row(cls, row: LayerCost) -> Layer:
        """The layer of one cost-report row (:class:`cnnlib.LayerCost`).

        Sizes come from the shapes the collector saw, so PyTorch's output-size rule (padding,
        ``ceil_mode``) is kept as it is. A layer that is not dense (LeNet-5's C3, whose filters
        skip some channels) becomes the dense convolution the array would run, with zero
        weights where the connections are missing: its cycles are the dense layer's, its
        ``macs`` the report's (``useful_macs``), so the estimate's MACs add up to the report's.
        """
        kind = row.kind
        shape = row.input_shape
        if kind in ("conv", "gconv", "dwconv") or (
                kind == "fc" and len(shape) in (3, 4) and shape[1] == row.C and row.R is not None
                and (1,) * (4 - len(shape)) + tuple(shape[2:]) == (row.R, row.S)):
            # a 2-D convolution, or a 1-D one (N, C, L) as a 2-D one on a map of one row
            N, C, H, W = shape if len(shape) == 4 else (shape[0], shape[1], 1, shape[2])
            out = row.output_shape
            M, P, Q = (out[1], *out[2:]) if len(out) == 4 else (out[1], 1, out[2])
            stride, padding = row.stride or 1, row.padding or 0
            (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
            R, S = row.R or 1, row.S or 1
            if (P, Q) == ((H + 2 * ph - R) // sh + 1, (W + 2 * pw - S) // sw + 1):
                sizes: dict[str, int] = dict(H=H, W=W, P=P, Q=Q)
            else:   # a dilated filter, or "same" padding of an even one: the outputs decide
                sizes = dict(P=P, Q=Q, input_words=N * C * H * W)
            layer = cls(name=row.name, kind=kind, N=N, C=C, M=M, G=row.G or 1, R=R, S=S,
                        stride=stride, padding=padding, **sizes)
            if row.ops < layer.macs:   # sparse: fewer real connections than the dense shape
                layer = replace(layer, useful_macs=row.ops)
            return layer
        if kind in ("conv3d", "tconv") and row.G and row.C and row.M:
            mapped = _grouped_product(row)
            if mapped is not None:
                return mapped
        if (kind == "rnn" and len(shape) == 3 and row.C and row.M
                and shape[0] * shape[1] * row.C * row.M == row.ops):
            # (steps, N, K): each step a product of N rows, after the step before it
            return cls(name=row.name, kind=kind, N=shape[1], C=row.C, M=row.M, steps=shape[0])
        if kind == "rbf":  # LeNet-5's RBF units on (N, C) features
            if row.C is None or row.M is None:
                raise BadLayerError(f"row {row.name!r} of kind 'rbf' has no C and M to map")
            return cls(name=row.name, kind=kind, N=max(1, row.activations_in // row.C), C=row.C, M=row.M)
        if kind == "fc" or kind in PRODUCT_KINDS:
            # nn.Linear on (..., C) features, F.linear, and every matrix product the report
            # counted: C is the length of the dot products, M the outputs per row, and the
            # rows (N) follow from the MACs, so that the array does exactly the report's MACs.
            C, M = row.C or 1, row.M or 1
            rows, rest = divmod(row.ops, C * M)
            if rest or not rows:
                rows, C, M = 1, max(1, row.ops), 1
            return cls(name=row.name, kind=kind, N=rows, C=C, M=M)
        N, C, H, W = _nchw(row.input_shape)
        _, M, P, Q = _nchw(row.output_shape)
        if kind == "pool":
            return cls(name=row.name, kind=kind, N=N, C=C, M=M, R=row.R or 1, S=row.S, H=H, W=W, P=P,
                       Q=Q, stride=row.stride or 1, padding=row.padding or 0)
        # eltwise, other, act, norm: the output's shape; the words read come from the report
        # (an add reads two tensors, a squeeze-and-excitation scale a map and a vector).
        return cls(name=row.name, kind=kind, N=N, C=M, M=M, H=P, W=Q, P=P, Q=Q,
                   input_words=row.activations_in or None)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _grouped_product(row: LayerCost) -> Layer | None:
    """A 3-D or transposed convolution as G products (one per group), the way a 2-D one maps.

    A 3-D convolution of a ``kT x kH x kW`` filter is a 2-D one whose filter has ``R = kT*kH``
    rows (its frames stacked, as the report gives it) and ``S = kW`` columns, on ``P x Q``
    outputs, with each output frame of each image as one more image (``N``): per group the same
    (K, F, X) product, and for row stationary the same PE sets, as a 2-D convolution, so that
    a depth-wise 1x3x3 filter on a one-frame input costs what the same depth-wise 3x3 costs.
    A transposed convolution scatters: each of the ``X`` input positions multiplies its ``C/G``
    values of a group by that group's weights, ``C/G x (M/G) * taps``, giving ``M * taps``
    products that overlap in the output; so ``R = 1``, ``M = M * taps``, ``N = X``. Both keep
    the tensors' real sizes in ``input_words`` and ``output_words``. None when the MACs do not
    split this way.
    """
    C, M, G = row.C, row.M, row.G
    assert C is not None and M is not None and G is not None
    x, y = row.input_shape, row.output_shape
    if len(x) < 3 or len(y) < 3 or C % G or M % G:
        return None
    words = dict(input_words=_numel(x), output_words=_numel(y))
    if row.kind == "conv3d":
        if len(y) != 5 or row.R is None or row.S is None:
            return None
        N, P, Q = y[0] * y[2], y[3], y[4]   # each output frame of each image: one more image
        if N * P * Q * M * (C // G) * row.R * row.S != row.ops:
            return None
        return Layer(name=row.name, kind=row.kind, N=N, C=C, M=M, G=G, R=row.R, S=row.S, P=P, Q=Q, **words)
    X = x[0] * _numel(x[2:])
    taps, rest = divmod(row.ops, X * C * (M // G))
    if rest or not taps:
        return None
    return Layer(name=row.name, kind=row.kind, N=X, C=C, M=M * taps, G=G, R=1, S=1, P=1, Q=1, **words)


def _nchw(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Read a shape as (N, C, H, W): ``(N, F)`` is F channels of 1 x 1."""
    if len(shape) == 4:
        return shape
    if len(shape) == 2:
        return shape[0], shape[1], 1, 1
    if len(shape) == 3:
        return shape[0], shape[1], shape[2], 1
    numel = 1
    for d in shape:
        numel *= d
    return 1, max(1, numel), 1, 1


def layers_of(report: CostReport | Iterable[LayerCost]) -> tuple[Layer, ...]:
    """One :class:`Layer` per row of a cost report, in order."""
    rows = report.layers if hasattr(report, "layers") else report
    return tuple(Layer.from_row(r) for r in rows)
