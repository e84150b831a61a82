"""The collector: run a model once, on the ``meta`` device, and make one row per layer call.

Nothing is computed and no weight is allocated: on the ``meta`` device tensors have shapes but
no storage, so counting VGG-16 does not touch its 528 MB of weights. A model the user built on
the CPU (or any device) is counted the same way: for one forward pass its parameters, buffers
and tensor attributes are replaced by meta stand-ins of the same shape and dtype.

A layer whose cost rule applies (:func:`rule_applies`: exactly a type with a rule in
:mod:`cnnlib.costs.rules`, running its class's own ``forward`` on plain parameters, with no hook)
gets the rule's row, in the lecture's letters, and runs a shape stand-in
(:mod:`cnnlib.costs.shapes`) below the Python dispatch mode. Every other operation that does
MACs, wherever it runs, is seen at the aten level by :class:`cnnlib.costs.ops.OpCounter` and
gets a row attributed to the innermost module that ran it; so do element-wise adds and
products of activations (``eltwise`` rows).

**A count leaves the model as it found it**, whether it succeeds or fails: before anything
changes, every module's ``__dict__`` (its parameters, buffers, submodules, hooks, training
flag, attributes) and class are saved, shallowly, and in a ``finally`` they are put back, so
the instance ``forward`` wrappers, the meta stand-ins, the eval mode, and whatever the forward
pass itself assigned (a cache built from the input, a weight recomputed by a pre-hook) are gone.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

import cnnlib.costs.zoo_layers  # noqa: F401  (registers the rules of the zoo's own layers)
from cnnlib._torch import CALL_SLOT, global_hooks, no_python_dispatch, view_base
from cnnlib.costs.ops import CONV_OPS, OpCounter
from cnnlib.costs.report import KINDS, CostReport, LayerCost
from cnnlib.costs.rules import TRANSPARENT, Rule, conv_kind, rule_for
from cnnlib.costs.shapes import STAND_INS, Refused
from cnnlib.errors import BadInputSizeError, CnnlibError, InputTooSmallError, LayerInputError

DEFAULT_INPUT = (1, 3, 224, 224)

_TRANSPARENT = frozenset(TRANSPARENT)
_PLAIN_FORWARD = nn.Module.forward


def counted_kinds(count: Iterable[str] | str) -> frozenset[str]:
    """``count`` as a set of kinds: ``"all"``, one kind (``"conv"``) or several."""
    if count == "all":
        return frozenset(KINDS)
    if isinstance(count, str):
        kinds = frozenset((count,))
    elif isinstance(count, Iterable) and not isinstance(count, Mapping):
        kinds = frozenset(count)
    else:
        raise CnnlibError(f"count must be 'all', a kind or a list of kinds ({', '.join(KINDS)}), "
                          f"got {count!r}")
    unknown = kinds - set(KINDS)
    if unknown or not kinds:
        raise CnnlibError(f"unknown layer kinds {sorted(map(str, unknown))}; known kinds: {', '.join(KINDS)}")
    return kinds


def input_shape(size: Any, exact: bool = False) -> tuple[int, ...]:
    """``(C, H, W)`` (batch 1) or ``(N, C, H, W)``, of positive integers, as a 4-D shape.

    An input of another rank (``nn.Conv1d``'s ``(N, C, L)``, a transformer's ``(N, L, E)``) is
    given as a tensor (``count_costs(model, torch.empty(2, 16, 50))``), whose shape is taken as
    it is (``exact``).
    """
    try:
        dims = tuple(size)
    except TypeError:
        raise BadInputSizeError(
            f"input size must be (C, H, W) or (N, C, H, W), got {describe(size)}") from None
    if len(dims) == 3 and not exact:
        dims = (1, *dims)
    if not (dims and (exact or len(dims) == 4)) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
        raise BadInputSizeError(
            f"input size must be (C, H, W) or (N, C, H, W) with positive integers, got {describe(size)}; "
            "for an input of another rank, or several inputs, pass example tensors (their values "
            "are not read)"
        )
    return dims


def describe(value: Any) -> str:
    """A value for an error message, without the values of any tensor in it."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {_fmt(value.shape)} ({str(value.dtype).removeprefix('torch.')})"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(describe(v) for v in value[:6]) + (", ..." if len(value) > 6 else "")
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in list(value.items())[:6]) + "}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(shape: Iterable[int]) -> str:
    return "x".join(str(d) for d in shape)


def rule_applies(m: nn.Module, hooks_everywhere: bool = False) -> Rule | None:
    """The cost rule of ``m`` if it describes what ``m`` will compute, else None.

    A rule describes its class's own ``forward`` on the layer's own parameters. It does not
    apply to a subclass (the rule lookup is by exact type; ``parametrize`` makes one), to a
    layer whose ``forward`` was replaced on the instance, to a layer with a forward hook or
    pre-hook (``weight_norm``, ``spectral_norm``, pruning and a user's hook may all change the
    work), nor to a layer whose ``weight`` or ``bias`` was replaced by a plain tensor. Such a
    layer is counted operation by operation, as any module without a rule is.
    """
    d = m.__dict__
    if hooks_everywhere or "forward" in d or m._forward_hooks or m._forward_pre_hooks:
        return None
    if "weight" in d or "bias" in d:
        return None
    return rule_for(m)


class _Walker:
    """Records one row per layer call, and puts the model back as it was afterwards.

    For the duration of one forward pass, every module that can be called has its ``forward``
    replaced, on the instance, by a wrapper. This is cheaper than module hooks: a hook handle
    costs more to register than the layer costs to count, and global hooks send every module
    call down PyTorch's slow call path. A layer whose rule applies gets a recording wrapper,
    which runs its shape stand-in (or, for an unusual input, its own forward) below the Python
    dispatch mode and makes its row. Every other module gets a wrapper that keeps the stack of
    running modules, to which :class:`~cnnlib.costs.ops.OpCounter` attributes the operations.

    A parameter shared by several modules (weight tying) counts once: in ``params`` with the
    first module that holds it, in ``weights`` with the first row that uses it.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        # The state of one count. The wrappers hold these very objects, so a walker that is
        # kept with its model (:mod:`cnnlib.counting`) empties them for the next count.
        self.counted: set[str] = set()
        self.rows: list[dict[str, Any]] = []
        self.stack: list[tuple[str, nn.Module, tuple[int, ...]]] = []
        self.unseen: dict[int, int] = {}   # id(module) -> its parameters, until its first call
        self.weights_seen: set[int] = set()   # parameters already counted in some row's weights
        self.called: set[int] = set()   # layers with a rule that have made a row
        self.merge: dict[tuple[Any, ...], int] = {}     # same product, same module call -> one row
        # The plan, made once per model by plan().
        self.modules: list[nn.Module] = []
        #: (module, the attribute its wrapper goes in, the wrapper)
        self.wrappers: list[tuple[nn.Module, str, Callable[..., Any]]] = []
        self.own: dict[int, int] = {}   # id(module) -> the parameters it holds (counted once)
        self.weight_of: dict[int, int] = {}   # id(layer) -> id of its weight parameter
        self.parameters: dict[int, nn.Parameter] = {}   # id -> every parameter (and stand-in), once
        self.params = 0
        # What end() puts back.
        self.dicts: list[dict[str, Any]] = []
        self.classes: list[tuple[nn.Module, type]] = []
        self.containers: list[tuple[Any, Any]] = []

    def save_all(self) -> None:
        """Save every module's class and containers (parameters, buffers, submodules, hooks,
        lists): what a forward pass or the stand-ins of a real model's tensors could change in
        place. (Each module's ``__dict__`` itself is saved by :meth:`begin`.)"""
        containers, saved = _CONTAINERS, self.containers
        for _, m in _named_modules(self.model):
            self.classes.append((m, type(m)))
            saved += [(v, v.copy() if v else None) for v in m.__dict__.values() if v.__class__ in containers]

    def plan(self) -> None:
        """Decide each module's wrapper, find the parameters, and give a real model's tensors
        meta stand-ins (in place: :meth:`save_all` comes first).

        The hot loop of a count's set-up (a thousand modules in a big model): locals only.
        """
        modules = _named_modules(self.model)
        self.modules = [m for _, m in modules]
        parameters, own_of, weight_of, wrappers = self.parameters, self.own, self.weight_of, self.wrappers
        stand_ins: dict[int, torch.Tensor] = {}   # id(real tensor) -> its meta stand-in
        hooks_everywhere = global_hooks()
        total = 0
        by_type: dict[type, bool] = {}
        Parameter = nn.Parameter
        for name, m in modules:
            d = m.__dict__
            if isinstance(m, torch.jit.ScriptModule):
                raise CnnlibError(
                    f"cnnlib counts nn.Module objects, not TorchScript: {_where(name, m)} was made by "
                    "torch.jit.trace or torch.jit.script; count the module you traced or scripted")
            own = 0
            params = d["_parameters"]
            for key, p in params.items():
                if p is None:
                    continue
                if type(p) is not Parameter and isinstance(p, UninitializedParameter):
                    raise _lazy(name, m)
                if not p.is_meta:
                    p = params[key] = _stand_in(p, stand_ins)
                if id(p) not in parameters:
                    parameters[id(p)] = p
                    own += p.numel()
            total += own
            buffers = d["_buffers"]
            for key, b in buffers.items():
                if b is None:
                    continue
                if isinstance(b, UninitializedBuffer):
                    raise _lazy(name, m)
                if not b.is_meta:
                    buffers[key] = _stand_in(b, stand_ins)
            t = type(m)
            transparent = by_type.get(t)
            if transparent is None:
                transparent = by_type[t] = t in _TRANSPARENT
            users = d.get("forward")   # a forward set on the instance by its user
            if users is None and (t.forward is _PLAIN_FORWARD or transparent and not (
                    m._forward_hooks or m._forward_pre_hooks)):
                continue   # ModuleList, ModuleDict: never called; Dropout, Identity: no work
            if own:
                own_of[id(m)] = own
            # A module with hooks keeps its call (the hooks run) and gets its wrapper as forward.
            slot = "forward" if hooks_everywhere or m._forward_hooks or m._forward_pre_hooks else CALL_SLOT
            rule = rule_applies(m, hooks_everywhere)
            if rule is not None:
                w = params.get("weight")
                if w is not None:
                    weight_of[id(m)] = id(w)
                wrappers.append((m, slot, self._recording(name, m, rule, STAND_INS.get(t))))
            else:
                forward = users if users is not None else t.forward.__get__(m)
                wrappers.append((m, slot, self._entering(name, m, forward)))
        if stand_ins:   # a real model: tensors kept as plain attributes get stand-ins too
            for m in self.modules:
                d = m.__dict__
                for key, v in d.items():
                    if isinstance(v, torch.Tensor) and not v.is_meta and v.dim():
                        d[key] = _stand_in(v, stand_ins)
        self.params = total

    def begin(self, counted: frozenset[str], save: bool = True) -> None:
        """Save every module's ``__dict__`` (unless saved already), put the wrappers in, and
        every module in eval mode."""
        self.counted.clear()
        self.counted.update(counted)
        for state in (self.rows, self.stack, self.weights_seen, self.called, self.merge):
            state.clear()
        self.unseen.clear()
        self.unseen.update(self.own)
        if save:
            self.dicts = [dict(m.__dict__) for m in self.modules]
        for m in self.modules:
            m.__dict__["training"] = False   # eval(), without its recursion
        for m, slot, wrapper in self.wrappers:
            m.__dict__[slot] = wrapper

    def end(self) -> None:
        """Every module as :meth:`begin` (and :meth:`save_all`) found it."""
        for live, copy in self.containers:
            if copy is None:
                if live:
                    live.clear()
            elif type(live) is list:
                live[:] = copy
            else:
                live.clear()
                live.update(copy)
        self.containers = []
        for m, cls in self.classes:
            if type(m) is not cls:
                object.__setattr__(m, "__class__", cls)
        self.classes = []
        for m, state in zip(self.modules, self.dicts, strict=True):
            object.__setattr__(m, "__dict__", state)   # the saved copy becomes its __dict__
        self.dicts = []

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
            holder = user.get(key)
            if holder is not None:
                holder["params"] += own
            else:
                name, m = holders[key]
                self.rows.append(dict(_by=key, name=name, kind="other", module=type(m).__name__,
                                      input_shape=(), output_shape=(), params=own))
        self.unseen.clear()

    def innermost(self) -> tuple[str, nn.Module]:
        """Name and module of the innermost running module (``""`` for the model itself)."""
        name, m, _ = self.stack[-1] if self.stack else ("", self.model, ())
        return name, m

    def _entering(self, name: str, m: nn.Module, forward: Callable[..., Any]) -> Callable[..., Any]:
        """The wrapper of a module counted by its operations: keeps the stack, places its parameters.

        Its parameters go to the first row of an operation it runs itself (``F.conv2d`` on
        its own weight) or, if it runs none, to a row of kind ``other`` (``nn.Embedding``).
        """
        stack, rows, unseen, merge = self.stack, self.rows, self.unseen, self.merge
        Tensor = torch.Tensor
        key = id(m)

        def enter(*inputs: Any, **kwargs: Any) -> Any:
            x = inputs[0] if inputs else next(iter(kwargs.values()), None)
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
                        activations_in=_numel_in(inputs, kwargs),
                        activations_out=out.numel() if isinstance(out, Tensor) else 0))
            return y

        return enter

    def _recording(self, name: str, m: nn.Module, rule: Rule,
                   stand_in: Callable[[Any, torch.Tensor], torch.Tensor | None] | None) -> Callable[..., Any]:
        """The wrapper that runs a layer with a rule and records its row: the hot path of counting.

        The layer runs below the Python dispatch mode (its operations are the rule's), as its
        shape stand-in when there is one and the call is the usual one (one tensor), else as
        its own ``forward``. Input the layer would refuse raises a :class:`CnnlibError` naming it.
        """
        stack, rows, counted, unseen = self.stack, self.rows, self.counted, self.unseen
        weight_id, weights_seen = self.weight_of.get(id(m)), self.weights_seen
        called = self.called
        module = type(m).__name__
        forward = type(m).forward.__get__(m)
        Tensor = torch.Tensor
        key = id(m)

        def record(*inputs: Any, **kwargs: Any) -> Any:
            x = inputs[0] if inputs else next(iter(kwargs.values()), None)
            if not isinstance(x, Tensor):
                raise LayerInputError(f"layer {name!r} ({_describe(m)}) takes a tensor, got {describe(x)}")
            shape = tuple(x.shape)
            stack.append((name, m, shape))
            y = None
            if stand_in is not None and len(inputs) + len(kwargs) == 1:
                try:
                    y = stand_in(m, x)
                except Refused as e:
                    if e.error is InputTooSmallError:
                        raise InputTooSmallError(f"the feature map collapses at layer {name!r} "
                                                 f"({_describe(m)}): {e.message}") from None
                    raise e.error(f"layer {name!r} ({_describe(m)}) {e.message}") from None
            if y is None:
                with no_python_dispatch():   # its operations are the rule's
                    y = forward(*inputs, **kwargs)
            stack.pop()
            out = y[0] if type(y) is tuple else y
            is_tensor = isinstance(out, Tensor)
            out_shape = tuple(out.shape) if is_tensor else ()
            if len(out_shape) >= 3 and 0 in out_shape[2:]:
                raise InputTooSmallError(
                    f"the feature map collapses at layer {name!r} ({_describe(m)}): "
                    f"its input {_fmt(shape[1:])} gives an empty output {_fmt(out_shape[1:])}")
            fields = rule(m, x, y)
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
                activations_in=x.numel() if len(inputs) == 1 else _numel_in(inputs, kwargs),
                activations_out=out.numel() if is_tensor else 0,
            )
            rows.append(fields)
            return y

        return record

    # -- rows of operations that no rule counted (called by OpCounter) ------------------------
    def op_row(self, packet: Any, args: tuple[Any, ...], out: Any, macs: int,
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
        label = _label(name, m, op)
        # Products of one shape that one module call repeats (an RNN's steps, heads) share a row.
        merge_key = None if packet in CONV_OPS else (key, op, fields["kind"], fields["C"],
                                                     fields["M"], id(p) if p is not None else None)
        counted = fields["kind"] in self.counted
        act_in = sum(t.numel() for t in args if isinstance(t, torch.Tensor)
                     and _param(t, params) is None)
        act_out = out.numel() if isinstance(out, torch.Tensor) else 0
        if merge_key is not None and merge_key in self.merge:
            row = self.rows[self.merge[merge_key]]
            if row["kind"] == "rnn":   # one more time step: (steps, N, K)
                steps, N, K = row["input_shape"]
                row.update(input_shape=(steps + 1, N, K), output_shape=(steps + 1, N, row["M"]))
            else:   # more rows of one product
                n = row["input_shape"][1] + fields["input_shape"][1]
                row.update(input_shape=(1, n, row["C"]), output_shape=(1, n, row["M"]))
            row.update(ops=row["ops"] + macs, macs=row["macs"] + (macs if counted else 0),
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

    def eltwise_row(self, packet: Any, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
        """An element-wise add or product of two activations (a residual add, a gate)."""
        name, m, _ = self.stack[-1] if self.stack else ("", self.model, ())
        if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
            return   # a recurrent layer's gate arithmetic belongs to its ``rnn`` rows
        params = self.parameters
        if _param(a, params) is not None or _param(b, params) is not None:
            return   # a bias or a scale: part of the layer's own arithmetic
        ops = out.numel()
        self.rows.append(dict(
            _by=id(m), name=_label(name, m, packet.__name__.rstrip("_")), kind="eltwise",
            module=type(m).__name__, input_shape=tuple(a.shape), output_shape=tuple(out.shape),
            params=0, ops=ops, macs=ops if "eltwise" in self.counted else 0, connections=0,
            activations_in=a.numel() + b.numel(), activations_out=ops))


def _label(name: str, m: nn.Module, op: str) -> str:
    """A leaf module's row is named after it; an operation of a block after both (``layer1.0:add``)."""
    if name and not m._modules:
        return name
    return f"{name}:{op}" if name else op


def _stand_in(t: torch.Tensor, made: dict[int, torch.Tensor]) -> torch.Tensor:
    """A meta tensor like ``t`` (a parameter's is a parameter), the same one for the same ``t``."""
    s = made.get(id(t))
    if s is None:
        s = torch.empty_like(t, device="meta")
        if isinstance(t, nn.Parameter):
            s = nn.Parameter(s, t.requires_grad)
        made[id(t)] = s
    return s


def _lazy(name: str, m: nn.Module) -> CnnlibError:
    return CnnlibError(f"{_where(name, m)} is a lazy layer that has not run yet, so its parameters "
                       "have no shape to count: run the model once on a real input first")


def _where(name: str, m: nn.Module) -> str:
    return f"layer {name!r} ({type(m).__name__})" if name else f"the model ({type(m).__name__})"


#: Types of a module's ``__dict__`` values that a forward pass could change in place.
_CONTAINERS = frozenset({dict, set, list, OrderedDict})


def _param(t: torch.Tensor, params: dict[int, nn.Parameter]) -> nn.Parameter | None:
    """The model's parameter that ``t`` is, or is a view of (``F.linear`` passes ``w.t()``)."""
    p = params.get(id(t))
    if p is None:
        base = view_base(t)
        if base is not None:
            p = params.get(id(base))
    return p


def _gemm_fields(kind: str, rows: int, K: int, cols: int) -> dict[str, Any]:
    """A matrix product ``(rows x K) @ (K x cols)`` as a row: C = K, M = cols.

    Its shapes are ``(1, rows, K)`` and ``(1, rows, cols)``. The products one module call
    repeats with the same weight are one row: the heads of attention as more rows of one
    product (they are independent), the time steps of a recurrent layer as ``(steps, rows, K)``
    (each step needs the previous one's output).
    """
    fields: dict[str, Any] = dict(kind=kind, C=K, M=cols, input_shape=(1, rows, K),
                                  output_shape=(1, rows, cols))
    if kind == "fc":
        fields.update(R=1, S=1, G=1, stride=1, padding=(0, 0))
    return fields


def _conv_fields(args: tuple[Any, ...], out: torch.Tensor, macs: int) -> dict[str, Any]:
    """A convolution op's row: 1-D and 2-D ones in the lecture's letters; 3-D and transposed
    ones with their input and output channels and groups (C, M, G) and their tensors' shapes."""
    x, w = args[0], args[1]
    stride, padding, transposed, groups = args[3], args[4], args[6], args[8]
    nd = w.dim() - 2
    G = groups
    C = x.shape[1]
    if not transposed and nd in (1, 2):
        M = w.shape[0]
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
    M = out.shape[1]
    fields: dict[str, Any] = dict(kind="tconv" if transposed else "conv3d", C=C, M=M, G=G,
                                  input_shape=tuple(x.shape), output_shape=tuple(out.shape))
    if not transposed and nd == 3:   # the filter's frames stacked on its rows: R = kT * kH
        kT, kH, kW = w.shape[2:]
        fields.update(R=kT * kH, S=kW)
    return fields


def _numel_in(inputs: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> int:
    values = (*inputs, *kwargs.values()) if kwargs else inputs
    return sum(t.numel() for t in values if isinstance(t, torch.Tensor))


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


def _describe(m: nn.Module) -> str:
    k = getattr(m, "kernel_size", None)
    s = getattr(m, "stride", None)
    if k is None:
        return repr(m) if not m._modules and len(repr(m)) <= 80 else type(m).__name__
    k = k if isinstance(k, tuple) else (k, k)
    s = s if isinstance(s, tuple) else (s, s)
    return f"{type(m).__name__} {k[0]}x{k[-1]}, stride {s[0]}"


_SIZE_ERRORS = re.compile(r"too small|greater than|smaller than|size.*(?:negative|zero)|Kernel size",
                          re.IGNORECASE)


def _is_torch_layer(m: nn.Module) -> bool:
    return type(m).__module__.startswith("torch.nn.")


def collect(module: nn.Module, name: str, inputs: tuple[Any, ...], kwargs: dict[str, Any],
            counted: frozenset[str], walker: _Walker | None = None) -> CostReport:
    """Run ``module(*inputs, **kwargs)`` once on meta tensors and make its report.

    ``walker`` is the one :func:`plan_of` made for ``module`` before (for a model cnnlib keeps:
    the plan of a module is made once); without it the model is a user's, saved whole first.

    An error that says the input is too small for the model becomes an
    :class:`~cnnlib.errors.InputTooSmallError` naming the layer; an error raised inside one
    of torch's own layers (the model gives it an input it refuses) a
    :class:`~cnnlib.errors.LayerInputError` naming it; any other error raised by the model's
    own code propagates as it is, with a note naming the model, the input and the layer it
    came from. Either way the original error is chained, and the model is left as it was.
    """
    first = next((t for t in (*inputs, *kwargs.values()) if isinstance(t, torch.Tensor)), None)
    size = tuple(first.shape) if first is not None else ()
    planned = walker is not None
    if walker is None:
        walker = _Walker(module)
    try:
        if not planned:   # a user's model: save everything before the stand-ins go in
            walker.modules = [m for _, m in _named_modules(module)]
            walker.dicts = [dict(m.__dict__) for m in walker.modules]
            walker.save_all()
            walker.plan()
        walker.begin(counted, save=planned)
        with torch.no_grad(), OpCounter(walker):
            y = module(*inputs, **kwargs)
        out = y[0] if isinstance(y, tuple) else y
        walker.place_uncalled()
    except CnnlibError as e:
        raise type(e)(f"{name} at input {_fmt(size[1:])}: {e}") from e
    except Exception as e:
        where = walker.stack[-1] if walker.stack else None
        text = str(e).strip()
        first_line = text.splitlines()[0] if text else type(e).__name__
        layer = (f" at layer {where[0]!r} ({_describe(where[1])}, input {_fmt(where[2])})"
                 if where else "")
        if isinstance(e, (RuntimeError, ValueError, IndexError)) and _SIZE_ERRORS.search(first_line):
            raise InputTooSmallError(f"{name} at input {_fmt(size[1:])} fails{layer}: {first_line}") from e
        if where is not None and _is_torch_layer(where[1]) and isinstance(
                e, (RuntimeError, ValueError, IndexError, TypeError, AssertionError)):
            raise LayerInputError(f"{name} at input {_fmt(size)}: torch refuses to run layer "
                                  f"{where[0]!r} ({_describe(where[1])}) on its input of shape "
                                  f"{_fmt(where[2])}: {first_line}") from e
        e.add_note(f"(raised while cnnlib counted {name} at input {_fmt(size)}{layer})")
        raise
    finally:
        walker.end()
    rows = []
    for fields in walker.rows:
        del fields["_by"]
        fields.pop("_w", None)
        rows.append(LayerCost.from_fields(fields))
    walker.rows.clear()
    return CostReport(
        model=name, input_size=size, layers=tuple(rows), params=walker.params,
        counted_kinds=counted, output_shape=tuple(out.shape) if isinstance(out, torch.Tensor) else (),
    )


def plan_of(module: nn.Module) -> _Walker:
    """A walker with the plan of ``module``, a model on ``meta`` that cnnlib keeps: counting it
    again needs only :meth:`_Walker.begin` and :meth:`_Walker.end`."""
    walker = _Walker(module)
    walker.plan()
    return walker
