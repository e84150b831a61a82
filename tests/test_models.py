"""Every registered model: it builds, runs, and its counts agree with an independent counter
(``torch.utils.flop_counter.FlopCounterMode``), with ``model.parameters()``, and with the
figures its paper and the lecture publish (each difference explained in the model file)."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import cnnlib

MODELS = cnnlib.list_models()

# Input sizes for the real forward pass: small where the model allows it (global pooling),
# the paper's size where an FC head fixes it.
SMALL_INPUT: dict[str, tuple[int, int, int]] = {
    "alexnet": (3, 227, 227),
    "vgg16": (3, 224, 224),
    "vgg19": (3, 224, 224),
    "lenet5": (1, 32, 32),
    "inception_v3": (3, 75, 75),  # two stride-2 grid reductions without padding need 75x75
}
DEFAULT_SMALL = (3, 64, 64)
# Real forward passes that take seconds (real weights of hundreds of MB, or hundreds of layers,
# to allocate and initialise): slow, so `make test-fast` runs the others.
BIG = {"vgg16", "vgg19", "resnet34", "resnet50", "resnet101", "resnet152", "se_resnet50", "wide_resnet50_2",
       "resnext50_32x4d", "xception", "googlenet", "nasnet_a_mobile", "shufflenet_v1",
       *(f"efficientnet_b{i}" for i in range(1, 8))}

PUBLISHED = [
    pytest.param(name, i, id=f"{name}-{p.metric}-{p.source}-{i}")
    for name in MODELS
    for i, p in enumerate(cnnlib.model_info(name).published)
]


@pytest.mark.parametrize("name", MODELS)
def test_macs_agree_with_flop_counter_mode(name, reports):
    report = reports(name)
    model = cnnlib.create_model(name, device="meta").eval()
    x = torch.empty(report.input_size, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    assert counter.get_total_flops() == 2 * report.macs


@pytest.mark.parametrize("name", MODELS)
def test_params_equal_sum_of_module_parameters(name, reports):
    report = reports(name)
    model = cnnlib.create_model(name, device="meta")
    total = sum(p.numel() for p in model.parameters())
    assert report.params == total
    assert sum(r.params for r in report.layers) == total, "some parameters belong to no row"


@pytest.mark.parametrize("name", MODELS)
def test_weights_are_filter_and_fc_weights_only(name, reports):
    """``weights`` is the filters' and FC layers' weights, recomputed here from each row's letters."""
    report = reports(name)
    expected = 0
    for r in report.layers:
        if r.kind in ("pool", "norm", "act", "eltwise", "other"):
            assert r.weights == 0, f"{r.name}: a {r.kind} layer has no filter or FC weights"
        elif r.weights:
            assert r.kind in ("conv", "gconv", "dwconv", "fc", "rbf"), r
            dense = r.C * r.M if r.kind == "rbf" else r.M * (r.C // r.G) * r.R * r.S
            if r.module == "SparseConv2d":   # LeNet-5's C3 connects each filter to some maps only
                assert r.weights < dense
                dense = r.weights
            expected += dense
    assert report.weights == expected
    assert report.conv_weights + report.fc_weights <= report.weights
    assert report.weights + report.biases <= report.params


@pytest.mark.parametrize(("name", "index"), PUBLISHED)
def test_counts_reproduce_published_figure(name, index):
    p = cnnlib.model_info(name).published[index]
    report = cnnlib.count_costs(name, p.input_size, **p.kwargs)
    counted = report.metric(p.metric)
    assert p.matches(counted), f"{p.describe()}: counted {counted:,}. {p.note}"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in MODELS])
def test_real_forward_pass_gives_class_scores(name):
    torch.manual_seed(0)
    model = cnnlib.create_model(name).eval()
    size = SMALL_INPUT.get(name, cnnlib.model_info(name).input_size[:1] + DEFAULT_SMALL[1:])
    with torch.no_grad():
        y = model(torch.randn(2, *size))
    assert y.shape == (2, 1000 if name != "lenet5" else 10)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_every_model_names_its_paper_and_table(name):
    info = cnnlib.model_info(name)
    assert info.paper and info.table and info.summary
    module = importlib.import_module(info.builder.__module__)
    assert module.__doc__ and len(module.__doc__) > 80
