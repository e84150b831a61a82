"""The collector: run a model once, on the ``meta`` device, and make one row per layer call.

Nothing is computed and no weight is allocated: on the ``meta`` device tensors have shapes but
no storage, so counting VGG-16 does not touch its 528 MB of weights. A model the user already
built on the CPU is counted the same way, by running its forward with meta stand-ins for its
parameters and buffers (``torch.func.functional_call``), so its weights are not copied either.

A layer with a cost rule (:mod:`cnnlib.costs.rules`) gets the rule's row, in the lecture's
letters. Every other operation that does MACs, wherever it runs (``F.conv2d`` on a module's own
parameters, ``@``, ``einsum``, attention, recurrent layers, a transposed or 3-D convolution),
is seen at the aten level by :class:`cnnlib.costs.ops.OpCounter` and gets a row attributed to
the innermost module that ran it. Resolving a model *name* is done above this package, in
:func:`cnnlib.count_costs` (:mod:`cnnlib.counting`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from cnnlib.costs import formulas as f
from cnnlib.costs.ops import CONV_OPS, OpCounter
from cnnlib.costs.report import KINDS, CostReport, LayerCost
from cnnlib.costs.rules import TRANSPARENT, conv_kind, keeps_shape, pair, rule_for
from cnnlib.costs.shapes import SHAPES, shape_forward
from cnnlib.errors import (
    BadInputSizeError,
    ChannelMismatchError,
    CnnlibError,
    InputTooSmallError,
)

DEFAULT_INPUT = (1, 3, 224, 224)




def counted_kinds(count: Iterable[str] | str) -> frozenset[str]:
    """``count`` as a set of kinds: ``"all"``, one kind (``"conv"``) or several."""
    if count == "all":
        return frozenset(KINDS)
    kinds = frozenset((count,)) if isinstance(count, str) else frozenset(count)
    unknown = kinds - set(KINDS)
    if unknown:
        raise CnnlibError(f"unknown layer kinds {sorted(unknown)}; known kinds: {', '.join(KINDS)}")
    return kinds


def input_shape(size: Iterable[int], exact: bool = False) -> tuple[int, ...]:
    """``(C, H, W)`` (batch 1) or ``(N, C, H, W)``, of positive integers, as a 4-D shape.

    An input of another rank (``nn.Conv1d``'s ``(N, C, L)``, a transformer's ``(N, L, E)``) is
    given as a tensor (``count_costs(model, torch.empty(2, 16, 50))``), whose shape is taken as
    it is (``exact``).
    """
    try:
        dims = tuple(size)
    except TypeError:
        raise BadInputSizeError(f"input size must be (C, H, W) or (N, C, H, W), got {size!r}") from None
    if len(dims) == 3 and not exact:
        dims = (1, *dims)
    if not (dims and (exact or len(dims) == 4)) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
        raise BadInputSizeError(
            f"input size must be (C, H, W) or (N, C, H, W) with positive integers, got {size!r}; "
            "for an input of another rank, pass a tensor of that shape"
        )
    return dims


def _fmt(shape: Iterable[int]) -> str:
    return "x".join(str(d) for d in shape)


class _Walker:
    """Records one row per layer call and catches a collapsing feature map where it happens.

    For the duration of one forward pass, every module that can be called has its ``forward``
    replaced, on the instance, by a wrapper; nothing else changes. This is cheaper than module
    hooks: a hook handle costs more to register than the layer costs to count, and global hooks
    send every module call down PyTorch's slow call path. A layer with a cost rule gets a
    recording wrapper, which runs the layer's shape arithmetic instead of its meta kernel where
    the output shape is known (see :mod:`cnnlib.costs.shapes`) and makes its row; while it runs,
    the operations inside it are its own (``in_rule``). Every other module gets a wrapper that
    keeps the stack of running modules, to which :class:`~cnnlib.costs.ops.OpCounter`
    attributes the operations no rule counted. One pass over the model's modules also puts them
    in eval mode (remembering which were training).

    A parameter shared by several modules (weight tying) counts once: in ``params`` with the
    first module that holds it, in ``weights`` with the first row that uses it.
    """

    def __init__(self, model: nn.Module, counted: frozenset[str]):
        self.model = model
        self.counted = counted
        self.rows: list[dict[str, Any]] = []
        self.stack: list[tuple[str, nn.Module, tuple[int, ...]]] = []
        self.in_rule = 0       # > 0 while a layer with a rule runs: its operations are its own
        self.unseen: dict[int, int] = {}   # id(module) -> its parameters, until its first call
        self.weight_of: dict[int, int] = {}   # id(layer) -> id of its weight parameter
        self.weights_seen: set[int] = set()   # parameters already counted in some row's weights
        self.called: set[int] = set()   # layers with a rule that have made a row
        self.merge: dict[tuple, int] = {}     # same product, same module call -> one row
        self.wrapped: list[tuple[nn.Module, Any]] = []   # (module, its own instance forward)
        self.training: list[nn.Module] = []
        self.parameters: dict[int, nn.Parameter] = {}   # id -> every parameter, once
        # The hot loop of a count's set-up (a thousand modules in a big model): locals only.
        parameters, unseen, weight_of, wrapped = self.parameters, self.unseen, self.weight_of, self.wrapped
        total, on_meta = 0, True
        by_type: dict[type, tuple[bool, Any, Any]] = {}
        plain_forward = nn.Module.forward
        for name, m in _named_modules(model):
            if m.training:
                self.training.append(m)
                object.__setattr__(m, "training", False)   # eval(), without its recursion
            own = 0
            for p in m._parameters.values():
                if p is not None:
                    on_meta = on_meta and p.is_meta
                    if id(p) not in parameters:
                        parameters[id(p)] = p
                        own += p.numel()
            total += own
            if on_meta:
                for b in m._buffers.values():
                    on_meta = b is None or b.is_meta
                    if not on_meta:
                        break
            t = type(m)
            per_type = by_type.get(t)
            if per_type is None:
                per_type = by_type[t] = _per_type(m)
            transparent, rule, stand_in = per_type
            if transparent:
                continue
            users = m.__dict__.get("forward")   # a forward set on the instance by its user
            if users is None and t.forward is plain_forward:
                continue   # ModuleList, ModuleDict: never called
            if own:
                unseen[id(m)] = own
            if rule is not None:
                w = m._parameters.get("weight")
                if w is not None:
                    weight_of[id(m)] = id(w)
            forward = users
            by_shape = users is None and stand_in is not None
            if forward is None:   # the input is a meta tensor in every case
                forward = stand_in(m) if by_shape else t.forward.__get__(m)
            wrapped.append((m, users))
            m.__dict__["forward"] = (self._recording(name, m, rule, forward, by_shape) if rule
                                     else self._entering(name, m, forward))
        self.params, self.on_meta = total, on_meta

    def remove(self) -> None:
        for m, users in self.wrapped:
            if users is None:
                del m.__dict__["forward"]
            else:
                m.__dict__["forward"] = users
        for m in self.training:
            object.__setattr__(m, "training", True)

    def place_uncalled(self) -> None:
        """Parameters of modules never called (``nn.MultiheadAttention`` passes its
        ``out_proj``'s weight to ``F.linear`` instead of calling it) go to the first row that
        used one of them as its weight, or else to a row of kind ``other`` of their own."""
        if not self.unseen:
            return
        holders: dict[int, tuple[str, nn.Module]] = {}   # id(module) -> its name, itself
        holder_of: dict[int, int] = {}   # id(parameter) -> id(the first module holding it)
        for name, m in _named_modules(self.model):
            holders[id(m)] = (name, m)
            for p in m._parameters.values():
                if p is not None:
                    holder_of.setdefault(id(p), id(m))
        user: dict[int, dict[str, Any]] = {}
        for row in self.rows:
            w = row.get("_w")
            if w is not None and w in holder_of:
                user.setdefault(holder_of[w], row)
        for key, own in self.unseen.items():
            row = user.get(key)
            if row is not None:
                row["params"] += own
            else:
                name, m = holders[key]
                self.rows.append(dict(_by=key, name=name, kind="other", module=type(m).__name__,
                                      input_shape=(), output_shape=(), params=own))
        self.unseen.clear()

    def innermost(self) -> tuple[str, str]:
        """Name and class of the innermost running module (``""`` for the model itself)."""
        name, m, _ = self.stack[-1] if self.stack else ("", self.model, ())
        return name, type(m).__name__

    def _entering(self, name: str, m: nn.Module, forward: Any) -> Any:
        """The wrapper of a module without a rule: keeps the stack, and places its parameters.

        Its parameters go to the first row of an operation it runs itself (``F.conv2d`` on
        its own weight) or, if it runs none, to a row of kind ``other`` (``nn.Embedding``).
        """
        stack, rows, unseen, merge = self.stack, self.rows, self.unseen, self.merge
        Tensor = torch.Tensor
        key = id(m)

        def enter(*inputs: Any, **kwargs: Any) -> Any:
            x = inputs[0] if inputs else None
            shape = tuple(x.shape) if isinstance(x, Tensor) else ()
            start = len(rows)
            stack.append((name, m, shape))
            y = forward(*inputs, **kwargs)
            stack.pop()
            if merge:
                merge.clear()
            if key in unseen:
                own = unseen.pop(key)
                for row in rows[start:]:
                    if row["_by"] == key:
                        row["params"] += own
                        break
                else:
                    out = y[0] if type(y) is tuple else y
                    rows.append(dict(
                        _by=key, name=name, kind="other", module=type(m).__name__,
                        input_shape=shape, params=own,
                        output_shape=tuple(out.shape) if isinstance(out, Tensor) else (),
                        activations_in=_numel_in(inputs),
                        activations_out=out.numel() if isinstance(out, Tensor) else 0))
            return y

        return enter

    def _recording(self, name: str, m: nn.Module, rule: Any, forward: Any, stand_in: bool) -> Any:
        """The wrapper that runs a layer with a rule and records its row: the hot path of counting.

        Before a layer's own forward runs, its input is checked (channels, and a window that
        fits: see :func:`_check_fits`) so that a failure names the layer. A shape stand-in
        cannot fail that way, so only its channels are checked first; a window that does not
        fit shows as an empty output and is explained after.
        """
        stack, rows, counted, unseen = self.stack, self.rows, self.counted, self.unseen
        weight_id, weights_seen = self.weight_of.get(id(m)), self.weights_seen
        called = self.called
        module = type(m).__name__
        check = _check_fits if isinstance(m, _CHECKED) else None
        Tensor = torch.Tensor
        walker = self
        key = id(m)

        def record(*inputs: Any, **kwargs: Any) -> Any:
            x = inputs[0] if inputs else None
            shape = tuple(x.shape) if isinstance(x, Tensor) else ()
            stack.append((name, m, shape))
            if check is not None:
                check(name, m, shape, not stand_in)
            walker.in_rule += 1
            y = forward(*inputs, **kwargs)
            walker.in_rule -= 1
            stack.pop()
            out = y[0] if type(y) is tuple else y
            is_tensor = isinstance(out, Tensor)
            out_shape = tuple(out.shape) if is_tensor else ()
            if len(out_shape) >= 3 and 0 in out_shape[2:]:
                if check is not None:
                    check(name, m, shape, True)
                raise InputTooSmallError(
                    f"the feature map collapses at layer {name!r} ({_describe(m)}): "
                    f"its input {_fmt(shape[1:])} gives an empty output {_fmt(out_shape[1:])}")
            fields = rule(m, inputs, out)
            if key in called:   # a layer called again: its parameters and weights are counted
                own = fields["weights"] = fields["biases"] = 0
            else:
                called.add(key)
                own = unseen.pop(key, 0)
                if weight_id is not None and fields.get("weights"):
                    if weight_id in weights_seen:   # a tied weight, counted in another row
                        fields["weights"] = 0
                    else:
                        weights_seen.add(weight_id)
            fields.update(
                _by=key, name=name, module=module, input_shape=shape, output_shape=out_shape,
                params=own, macs=fields.get("ops", 0) if fields["kind"] in counted else 0,
                connections=fields.get("connections", 0),
                activations_in=x.numel() if len(inputs) == 1 and shape else _numel_in(inputs),
                activations_out=out.numel() if is_tensor else 0,
            )
            rows.append(fields)
            return y

        return record

    # -- rows of operations that no rule counted (called by OpCounter) ------------------------
    def op_row(self, packet: Any, args: tuple, out: Any, macs: int,
               gemm: tuple[int, int, int] | None) -> None:
        name, m, _ = self.stack[-1] if self.stack else ("", self.model, ())
        op = packet.__name__
        params = self.parameters
        fields: dict[str, Any]
        weight = None
        if packet in CONV_OPS:
            fields = _conv_fields(args, out, macs)
            weight = args[1]
        elif gemm is not None:
            rows, K, cols = gemm
            weight = args[-1]   # (x @ W): F.linear passes W.t(), matmul an expanded W
            if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
                kind = "rnn"
            elif weight is not None and _param(weight, params) is not None:
                kind = "fc"
            elif isinstance(m, nn.MultiheadAttention):
                kind = "attention"
            else:
                kind = "matmul"
            fields = _gemm_fields(kind, rows, K, cols)
        else:   # attention kernels, matrix-vector products: rows x C x M = MACs
            kind = "attention" if "attention" in op else "matmul"
            q = args[0]
            if kind == "attention" and q.dim() >= 2 and macs % (q.numel() // q.shape[-1]) == 0:
                rows = q.numel() // q.shape[-1]
                fields = _gemm_fields(kind, rows, args[1].shape[-2], macs // rows // args[1].shape[-2])
            else:
                fields = _gemm_fields(kind, 1, macs, 1)
        p = _param(weight, params) if weight is not None else None
        if p is not None:
            fields["_w"] = id(p)
            if id(p) not in self.weights_seen:
                self.weights_seen.add(id(p))
                fields["weights"] = p.numel()
        key = id(m)
        label = name if not m._modules and name else (f"{name}:{op}" if name else op)
        # Products of one shape that one module call repeats (an RNN's steps, heads) share a row.
        merge_key = None if packet in CONV_OPS else (key, op, fields["kind"], fields["C"],
                                                     fields["M"], id(p) if p is not None else None)
        counted = fields["kind"] in self.counted
        act_in = sum(t.numel() for t in args if isinstance(t, torch.Tensor)
                     and _param(t, params) is None)
        act_out = out.numel() if isinstance(out, torch.Tensor) else 0
        if merge_key is not None and merge_key in self.merge:
            row = self.rows[self.merge[merge_key]]
            n = row["input_shape"][1] + fields["input_shape"][1]
            row.update(input_shape=(1, n, row["C"]), output_shape=(1, n, row["M"]),
                       ops=row["ops"] + macs, macs=row["macs"] + (macs if counted else 0),
                       connections=row["connections"] + macs,
                       activations_in=row["activations_in"] + act_in,
                       activations_out=row["activations_out"] + act_out)
            row["weights"] = row.get("weights", 0) + fields.get("weights", 0)
            return
        fields.update(_by=key, name=label, module=type(m).__name__, params=0, ops=macs,
                      macs=macs if counted else 0, connections=macs,
                      activations_in=act_in, activations_out=act_out)
        if merge_key is not None:
            self.merge[merge_key] = len(self.rows)
        self.rows.append(fields)


def _param(t: torch.Tensor, params: dict[int, nn.Parameter]) -> nn.Parameter | None:
    """The model's parameter that ``t`` is, or is a view of (``F.linear`` passes ``w.t()``)."""
    p = params.get(id(t))
    if p is None and t._base is not None:
        p = params.get(id(t._base))
    return p


def _gemm_fields(kind: str, rows: int, K: int, cols: int) -> dict[str, Any]:
    """A matrix product ``(rows x K) @ (K x cols)`` as a row: C = K, M = cols.

    Its shapes are ``(1, rows, K)`` and ``(1, rows, cols)``: the products one module call
    repeats with the same weight (the time steps of a recurrent layer, the heads of attention)
    are stacked into one product of more rows, which is how an accelerator would run them.
    """
    fields: dict[str, Any] = dict(kind=kind, C=K, M=cols, input_shape=(1, rows, K),
                                  output_shape=(1, rows, cols))
    if kind == "fc":
        fields.update(R=1, S=1, G=1, stride=1, padding=(0, 0))
    return fields


def _conv_fields(args: tuple, out: torch.Tensor, macs: int) -> dict[str, Any]:
    """A convolution op's row: 1-D and 2-D ones in the lecture's letters, others as products."""
    x, w = args[0], args[1]
    stride, padding, transposed, groups = args[3], args[4], args[6], args[8]
    nd = w.dim() - 2
    C, M, G = x.shape[1], w.shape[0], groups
    if not transposed and nd in (1, 2):
        if nd == 1:   # a 1-D convolution is a 2-D one on a map of one row: R = H = P = 1
            R, S, H, W, P, Q = 1, w.shape[2], 1, x.shape[2], 1, out.shape[2]
            stride, padding = (1, stride[0]), (0, padding[0])
        else:
            (R, S), (H, W), (P, Q) = w.shape[2:], x.shape[2:], out.shape[2:]
            stride, padding = tuple(stride), tuple(padding)
        kind = conv_kind(C, G, (R, S), (H, W), (P, Q), padding)
        return dict(kind=kind, R=R, S=S, C=C, M=M, G=G,
                    stride=stride[0] if stride[0] == stride[1] else stride, padding=padding,
                    input_shape=tuple(x.shape), output_shape=tuple(out.shape))
    # 3-D or transposed: the product each output (input, if transposed) position computes
    window = 1
    for k in w.shape[1:]:
        window *= k
    return dict(kind="tconv" if transposed else "conv3d", C=window, M=M, G=1,
                input_shape=tuple(x.shape), output_shape=tuple(out.shape))


def _numel_in(inputs: tuple) -> int:
    return sum(t.numel() for t in inputs if isinstance(t, torch.Tensor))


def _per_type(m: nn.Module) -> tuple[bool, Any, Any]:
    """For a module's type: no wrapper at all?, its cost rule, a maker of its shape stand-in."""
    if isinstance(m, TRANSPARENT):
        return True, None, None
    rule = rule_for(m)
    if rule is None:
        return False, None, None
    if keeps_shape(m):
        return False, rule, _keeps_shape_stand_in
    return False, rule, shape_forward if type(m) in SHAPES else None  # exact type, as there


def _keeps_shape_stand_in(m: nn.Module) -> Any:
    return _first_input


def _named_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``list(model.named_modules())``: same order and names, a little faster."""
    found: list[tuple[str, nn.Module]] = [("", model)]
    _walk(model, "", found, {id(model)})
    return found


def _walk(m: nn.Module, prefix: str, found: list[tuple[str, nn.Module]], seen: set[int]) -> None:
    # A module-level function, not a closure: a recursive closure is a reference cycle, which
    # would leave the whole model to the cyclic garbage collector instead of freeing it at once.
    for key, child in m._modules.items():
        if child is not None and id(child) not in seen:
            seen.add(id(child))
            name = prefix + key
            found.append((name, child))
            _walk(child, name + ".", found, seen)


def _first_input(x: torch.Tensor, *rest: Any, **kwargs: Any) -> torch.Tensor:
    return x


def _describe(m: nn.Module) -> str:
    k = getattr(m, "kernel_size", None)
    s = getattr(m, "stride", None)
    if k is None:
        return type(m).__name__
    k = k if isinstance(k, tuple) else (k, k)
    s = s if isinstance(s, tuple) else (s, s)
    return f"{type(m).__name__} {k[0]}x{k[-1]}, stride {s[0]}"


_CHECKED = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d)   # the layers _check_fits checks


def _check_fits(name: str, m: nn.Module, shape: tuple[int, ...], window: bool = True) -> None:
    """Before a layer runs: does its input have the channels (and the size) it needs?"""
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        for kk, p in zip(pair(m.kernel_size), pair(m.padding), strict=True):
            if 2 * p > kk:
                raise CnnlibError(f"layer {name!r} ({_describe(m)}) has padding {p}, more than half "
                                  f"its {kk}-wide window, which torch refuses")
    if isinstance(m, nn.Conv2d) and len(shape) == 4:
        if shape[1] != m.in_channels:
            raise ChannelMismatchError(
                f"layer {name!r} ({_describe(m)}) expects {m.in_channels} input channels, "
                f"got {shape[1]} (input {_fmt(shape[1:])})"
            )
    if isinstance(m, nn.Linear) and shape and shape[-1] != m.in_features:
        raise ChannelMismatchError(
            f"layer {name!r} (Linear) expects {m.in_features} input features, got {shape[-1]}: "
            "the size of the feature map before the FC layers depends on the input size, and "
            "this model's FC head fixes it"
        )
    if window and isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and len(shape) == 4:
        k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
        st = m.stride if isinstance(m.stride, tuple) else (m.stride,) * 2
        pad = getattr(m, "padding", 0)
        if isinstance(pad, str):
            return
        pad = pad if isinstance(pad, tuple) else (pad,) * 2
        dil = getattr(m, "dilation", 1)
        dil = dil if isinstance(dil, tuple) else (dil,) * 2
        ceil = getattr(m, "ceil_mode", False)
        for H, R, U, p, d in zip(shape[2:], k, st, pad, dil, strict=True):
            if f.conv_output_size(H, R, U, p, d, ceil) < 1:
                raise InputTooSmallError(
                    f"the feature map collapses at layer {name!r} ({_describe(m)}): its input "
                    f"is {_fmt(shape[1:])}, smaller than the {k[0]}x{k[1]} window"
                )


_SIZE_ERRORS = re.compile(r"too small|greater than|smaller than|size.*(?:negative|zero)|Kernel size",
                          re.IGNORECASE)


def collect(module: nn.Module, name: str, size: tuple[int, ...], counted: frozenset[str],
            dtype: torch.dtype | None = None) -> CostReport:
    """Run ``module`` once on a meta input of shape ``size`` and make its report.

    An error that says the input is too small for the model becomes an
    :class:`~cnnlib.errors.InputTooSmallError` naming the layer; any other error raised by the
    model's own code propagates as it is, with a note naming the model, the input and the
    layer it came from. Either way the original error is chained.
    """
    walker = _Walker(module, counted)
    x = torch.empty(size, device="meta", dtype=dtype)
    try:
        with torch.no_grad(), OpCounter(walker):
            if walker.on_meta:
                y = module(x)
            else:  # a real model: meta stand-ins for its weights, which stay where they are
                tensors = {**dict(module.named_parameters()), **dict(module.named_buffers())}
                stand_ins = {}
                for k, v in tensors.items():
                    stand_in = stand_ins[k] = torch.empty_like(v, device="meta")
                    if id(v) in walker.parameters:   # the forward sees the stand-in
                        walker.parameters[id(stand_in)] = walker.parameters[id(v)]
                y = torch.func.functional_call(module, stand_ins, (x,))
    except CnnlibError as e:
        raise type(e)(f"{name} at input {_fmt(size[1:])}: {e}") from e
    except Exception as e:
        where = walker.stack[-1] if walker.stack else None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        layer = f" at layer {where[0]!r} ({_describe(where[1])}, input {_fmt(where[2][1:])})" if where else ""
        if isinstance(e, (RuntimeError, ValueError, IndexError)) and _SIZE_ERRORS.search(first):
            raise InputTooSmallError(f"{name} at input {_fmt(size[1:])} fails{layer}: {first}") from e
        e.add_note(f"(raised while cnnlib counted {name} at input {_fmt(size)}{layer})")
        raise
    finally:
        walker.remove()
    out = y[0] if isinstance(y, tuple) else y
    walker.place_uncalled()
    rows = []
    for fields in walker.rows:
        del fields["_by"]
        fields.pop("_w", None)
        rows.append(LayerCost.from_fields(fields))
    return CostReport(
        model=name, input_size=size, layers=tuple(rows), params=walker.params,
        counted_kinds=counted, output_shape=tuple(out.shape) if isinstance(out, torch.Tensor) else (),
    )
