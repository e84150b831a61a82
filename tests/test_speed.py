"""The tricks that make counting fast (cnnlib._speed, the collector's stand-ins) change no result."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib import _speed
from cnnlib.costs.collect import _named_modules
from cnnlib.costs.report import LayerCost

ZOO = cnnlib.list_models()


@contextmanager
def cloning_off():
    _speed.cloning_enabled = False
    try:
        yield
    finally:
        _speed.cloning_enabled = True


def _describe_state(module: nn.Module) -> list:
    """Everything a module tree holds, with tensors by shape, dtype and grad flag."""
    rows = []
    for name, m in module.named_modules():
        state = {}
        for k, v in m.__dict__.items():
            if k in ("_parameters", "_buffers"):
                v = {n: None if t is None else (type(t), tuple(t.shape), t.dtype, t.device.type,
                                                 t.requires_grad) for n, t in v.items()}
            elif k == "_modules":
                v = {n: type(c) for n, c in v.items()}
            state[k] = v
        rows.append((name, type(m), state))
    return rows


@pytest.mark.parametrize("name", ZOO)
def test_a_model_built_from_clones_equals_one_constructed_layer_by_layer(name):
    cnnlib.create_model(name, device="meta")   # the first build fills the cache
    cloned = cnnlib.create_model(name, device="meta")
    with cloning_off():
        constructed = cnnlib.create_model(name, device="meta")
    assert _describe_state(cloned) == _describe_state(constructed)
    assert cnnlib.count_costs(cloned, cnnlib.model_info(name).input_size) == \
        cnnlib.count_costs(constructed, cnnlib.model_info(name).input_size)


def test_clones_share_no_container_tensor_or_child():
    a = cnnlib.create_model("mobilenet_v2", device="meta")
    b = cnnlib.create_model("mobilenet_v2", device="meta")
    ids_a = set()
    for m in a.modules():
        ids_a.add(id(m))
        ids_a.update(id(v) for v in m.__dict__.values() if isinstance(v, (dict, set, list)))
        ids_a.update(id(t) for t in [*m._parameters.values(), *m._buffers.values()] if t is not None)
    for m in b.modules():
        assert id(m) not in ids_a
        assert not any(id(v) in ids_a for v in m.__dict__.values() if isinstance(v, (dict, set, list)))
        assert not any(id(t) in ids_a for t in [*m._parameters.values(), *m._buffers.values()]
                       if t is not None)
    hook = a.features[1].conv_dw.conv.register_forward_hook(lambda *args: None)
    assert not b.features[1].conv_dw.conv._forward_hooks
    hook.remove()


def test_building_on_meta_leaves_torch_as_it_found_it():
    inits = {cls: cls.__dict__.get("__init__") for cls in _speed.TORCH_LAYERS}
    initialisers = {n: getattr(nn.init, n) for n in _speed._INITIALISERS}
    cat = torch.cat
    cnnlib.count_costs("densenet121")
    assert {cls: cls.__dict__.get("__init__") for cls in _speed.TORCH_LAYERS} == inits
    assert {n: getattr(nn.init, n) for n in _speed._INITIALISERS} == initialisers
    assert torch.cat is cat


def test_another_thread_builds_real_layers_while_a_model_is_built_on_meta():
    built = {}

    def build_on_cpu():
        torch.manual_seed(0)
        built["conv"] = nn.Conv2d(3, 8, 3)

    with _speed.building_on_meta():
        nn.Conv2d(3, 8, 3)   # remembered for meta clones
        worker = threading.Thread(target=build_on_cpu)
        worker.start()
        worker.join()
    conv = built["conv"]
    assert conv.weight.device.type == "cpu"
    assert conv.weight.abs().sum() > 0   # initialised, not a meta clone


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


@pytest.mark.parametrize("tensors, dim", [
    ([(2, 3, 4, 5), (2, 7, 4, 5)], 1),
    ([(2, 3, 4, 5)] * 5, -3),
    ([(1, 8), (3, 8)], 0),
    ([(2, 3)], 1),
])
def test_concatenating_meta_tensors_by_shape_equals_torch_cat(tensors, dim):
    xs = [torch.empty(s, device="meta") for s in tensors]
    expected = torch.cat(xs, dim)
    with _speed.meta_cat_by_shape():
        got = torch.cat(xs, dim)
    assert (got.shape, got.dtype, got.device) == (expected.shape, expected.dtype, expected.device)


def test_concatenating_mismatched_tensors_still_gives_torchs_error():
    xs = [torch.empty(2, 3, 4, 5, device="meta"), torch.empty(2, 3, 6, 5, device="meta")]
    with _speed.meta_cat_by_shape(), pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        torch.cat(xs, 1)
    with _speed.meta_cat_by_shape():   # real tensors and mixed dtypes go to torch.cat itself
        assert torch.equal(torch.cat([torch.ones(2), torch.zeros(1)]), torch.tensor([1.0, 1.0, 0.0]))
        mixed = torch.cat([torch.empty(2, device="meta"), torch.empty(2, device="meta", dtype=torch.half)])
        assert mixed.dtype == torch.float32


def test_a_row_made_from_fields_equals_the_dataclass():
    values = dict(name="conv", kind="conv", module="Conv2d", input_shape=(1, 3, 8, 8),
                  output_shape=(1, 4, 6, 6), R=3, S=3, C=3, M=4, G=1, weights=108, ops=3888)
    assert LayerCost.from_fields(values) == LayerCost(**values)
    with pytest.raises(TypeError):
        LayerCost.from_fields({**values, "colour": "red"})
    with pytest.raises(TypeError):
        LayerCost.from_fields({"name": "conv"})


def test_the_clone_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(_speed, "MAX_REMEMBERED_MODULES", 200)
    monkeypatch.setattr(_speed, "_remembered", {})
    monkeypatch.setattr(_speed, "_remembered_modules", 0)
    for name in ["resnet50", "mobilenet_v2", "densenet121"]:
        cnnlib.count_costs(name)
        assert 0 < _speed._remembered_modules <= 200
    assert sum(s.modules for s in _speed._remembered.values()) == _speed._remembered_modules
