"""The tricks that make counting fast (cnnlib._speed, the collector's stand-ins) change no result."""

from __future__ import annotations

import gc
import threading

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib import _speed
from cnnlib.costs.collect import _named_modules
from cnnlib.costs.report import LayerCost

ZOO = cnnlib.list_models()


def test_counting_leaves_no_reference_cycles():
    # A cycle would leave each counted model to the cyclic garbage collector.
    for name in ZOO:
        cnnlib.count_costs(name)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in ZOO:
            cnnlib.count_costs(name)
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_walking_the_modules_gives_named_modules():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.ReLU(), nn.Identity()))
    model.add_module("again", model[0])   # a module under two names is listed once
    assert [(n, id(m)) for n, m in _named_modules(model)] == \
        [(n, id(m)) for n, m in model.named_modules()]


def _cat_while_counting(tensors, dim):
    """torch.cat(tensors, dim) inside a model's forward, while cnnlib counts it."""
    got = {}

    class Cat(nn.Module):
        def forward(self, x):
            got["out"] = torch.cat(tensors, dim)
            return x

    cnnlib.count_costs(Cat(), (1, 1, 1, 1))
    return got["out"]


@pytest.mark.parametrize("tensors, dim", [
    ([(2, 3, 4, 5), (2, 7, 4, 5)], 1),
    ([(2, 3, 4, 5)] * 5, -3),
    ([(1, 8), (3, 8)], 0),
    ([(2, 3)], 1),
])
def test_concatenating_meta_tensors_by_shape_equals_torch_cat(tensors, dim):
    xs = [torch.empty(s, device="meta") for s in tensors]
    expected = torch.cat(xs, dim)
    got = _cat_while_counting(xs, dim)
    assert (got.shape, got.dtype, got.device) == (expected.shape, expected.dtype, expected.device)


def test_concatenating_mismatched_tensors_still_gives_torchs_error():
    xs = [torch.empty(2, 3, 4, 5, device="meta"), torch.empty(2, 3, 6, 5, device="meta")]
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        _cat_while_counting(xs, 1)
    halves = [torch.empty(2, device="meta"), torch.empty(2, device="meta", dtype=torch.half)]
    mixed = _cat_while_counting(halves, 0)
    assert mixed.dtype == torch.float32
    channels_last = torch.empty(2, 3, 4, 5, device="meta").to(memory_format=torch.channels_last)
    got = _cat_while_counting([channels_last, channels_last], 1)
    assert got.is_contiguous(memory_format=torch.channels_last)


def test_another_threads_cat_is_untouched_during_a_count():
    """The shape stand-in for torch.cat lives in the counting thread's dispatch mode only."""
    started, done = threading.Event(), threading.Event()
    seen = {}

    class Waits(nn.Module):
        def forward(self, x):
            started.set()
            assert done.wait(120)   # the other thread may import torch._dynamo (seconds)
            return x

    def other_thread():
        assert started.wait(120)
        a = torch.ones(2, 3, 4, 5, requires_grad=True).to(memory_format=torch.channels_last)
        y = torch.cat([a, a], 1)
        meta = torch.empty(2, 3, 4, 5, device="meta", requires_grad=True)
        z = torch.cat([meta, meta], 1)
        seen.update(grad=y.requires_grad and y.grad_fn is not None, cl=y.is_contiguous(
            memory_format=torch.channels_last), values=bool((y == 1).all()),
            meta_grad=z.requires_grad and z.grad_fn is not None)
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    cnnlib.count_costs(Waits(), (1, 1, 1, 1))
    worker.join()
    assert seen == {"grad": True, "cl": True, "values": True, "meta_grad": True}


def test_counting_leaves_torch_as_it_found_it():
    initialisers = {n: getattr(nn.init, n) for n in _speed._INITIALISERS}
    resets = {(c, n): c.__dict__[n] for c, n in _speed._RESETS}
    cat = torch.cat
    model = cnnlib.create_model("densenet121", device="meta")
    cnnlib.count_costs(model)
    assert not any(k in m.__dict__ for m in model.modules() for k in ("forward", "_compiled_call_impl"))
    assert {n: getattr(nn.init, n) for n in _speed._INITIALISERS} == initialisers
    assert {(c, n): c.__dict__[n] for c, n in _speed._RESETS} == resets
    assert torch.cat is cat and torch.is_grad_enabled()


def test_another_thread_builds_real_layers_while_a_model_is_built_on_meta():
    built = {}

    def build_on_cpu():
        torch.manual_seed(0)
        built.update(conv=nn.Conv2d(3, 8, 3), fc=nn.Linear(4, 2), bn=nn.BatchNorm2d(4))
        built["bn"].running_var.fill_(7.0)
        built["bn"].reset_running_stats()

    with _speed.building_on_meta():
        nn.Conv2d(3, 8, 3)
        worker = threading.Thread(target=build_on_cpu)
        worker.start()
        worker.join()
    conv, fc, bn = built["conv"], built["fc"], built["bn"]
    assert conv.weight.device.type == "cpu"
    # initialised: the skips are for meta tensors and layers only
    assert conv.weight.abs().sum() > 0 and conv.bias.abs().sum() > 0 and fc.weight.abs().sum() > 0
    assert torch.equal(bn.running_var, torch.ones(4)) and torch.equal(bn.weight, torch.ones(4))


def test_a_row_made_from_fields_equals_the_dataclass():
    values = dict(name="conv", kind="conv", module="Conv2d", input_shape=(1, 3, 8, 8),
                  output_shape=(1, 4, 6, 6), R=3, S=3, C=3, M=4, G=1, weights=108, ops=3888)
    assert LayerCost.from_fields(values) == LayerCost(**values)
    with pytest.raises(TypeError):
        LayerCost.from_fields({**values, "colour": "red"})
    with pytest.raises(TypeError):
        LayerCost.from_fields({"name": "conv"})


def test_a_kept_model_counts_as_a_fresh_one_even_after_a_failed_count():
    from cnnlib import counting

    fresh = cnnlib.count_costs(cnnlib.create_model("alexnet", device="meta"), (1, 3, 227, 227))
    cnnlib.count_costs("alexnet")
    with pytest.raises(cnnlib.CnnlibError, match="expects 9216 input features"):
        cnnlib.count_costs("alexnet", (3, 224, 224))   # fails inside the kept model
    with pytest.raises(cnnlib.CnnlibError):
        cnnlib.count_costs("alexnet", count="convs")
    assert cnnlib.count_costs("alexnet", count="all").macs > fresh.macs
    assert cnnlib.count_costs("alexnet") == fresh.__class__(**{**fresh.__dict__, "model": "alexnet"})
    assert any(key[0] == "alexnet" for key in counting._kept)


def test_threads_counting_one_name_get_the_same_report():
    expected = cnnlib.count_costs("mobilenet_v2")
    results, errors = [], []

    def count():
        try:
            for _ in range(5):
                results.append(cnnlib.count_costs("mobilenet_v2"))
        except Exception as e:   # pragma: no cover - reported below
            errors.append(e)

    workers = [threading.Thread(target=count) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors and len(results) == 20 and all(r == expected for r in results)


def test_kept_models_are_bounded_by_their_modules(monkeypatch):
    from cnnlib import counting

    monkeypatch.setattr(counting, "MAX_KEPT_MODULES", 300)
    counting._kept.clear()
    monkeypatch.setattr(counting, "_kept_modules", 0)
    for name in ("resnet18", "alexnet", "vgg16", "resnet50"):
        cnnlib.count_costs(name)
    assert counting._kept_modules == sum(entry[2] for entry in counting._kept.values()) <= 300
    assert "resnet18" not in {key[0] for key in counting._kept}   # the least recently counted went
    counting._kept.clear()
    monkeypatch.setattr(counting, "_kept_modules", 0)
