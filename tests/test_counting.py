"""The collector: rows, kinds, totals, the meta device, and models built by the user."""

import subprocess
import sys

import pytest
import torch
from torch import nn

import cnnlib


class Tiny(nn.Module):
    """conv 3->2 (3x3, bias), BN, ReLU, a residual add, global pool, FC 2->5."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.act = nn.ReLU()
        self.dw = nn.Conv2d(2, 2, 3, padding=1, groups=2, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 5)

    def forward(self, x):
        y = self.act(self.bn(self.conv(x)))   # (N, 2, 4, 4)
        y = self.dw(y) + y                    # a residual add: an eltwise row
        return self.fc(self.pool(y).flatten(1))


def test_tiny_model_counts_by_hand():
    r = cnnlib.count_costs(Tiny(), (1, 3, 4, 4))
    conv, bn, act, dw, add, pool, fc = r.layers
    assert (conv.kind, conv.weights, conv.biases, conv.macs) == ("conv", 54, 2, 54 * 16)
    assert (dw.kind, dw.weights, dw.macs, dw.G) == ("dwconv", 18, 18 * 16, 2)
    assert (fc.kind, fc.weights, fc.macs) == ("fc", 10, 10)
    assert (bn.kind, bn.params, bn.macs, bn.ops) == ("norm", 4, 0, 32)
    assert (add.kind, add.name, add.ops, add.activations_in) == ("eltwise", "add", 32, 64)
    assert (pool.kind, pool.R, pool.ops) == ("pool", 4, 32)
    assert r.weights == 54 + 18 + 10
    assert r.params == 54 + 2 + 4 + 18 + 10 + 5
    assert r.macs == 54 * 16 + 18 * 16 + 10
    assert r.flops == 2 * r.macs
    assert r.conv_macs == 54 * 16 + 18 * 16 and r.fc_macs == 10


def test_other_kinds_count_only_when_switched_on():
    default = cnnlib.count_costs(Tiny(), (1, 3, 4, 4))
    everything = cnnlib.count_costs(Tiny(), (1, 3, 4, 4), count="all")
    extra = sum(r.ops for r in everything.layers if r.kind not in ("conv", "gconv", "dwconv", "fc"))
    assert everything.macs == default.macs + extra
    with pytest.raises(cnnlib.CnnlibError, match="unknown layer kinds"):
        cnnlib.count_costs(Tiny(), (1, 3, 4, 4), count=["convolution"])


def test_batch_size_multiplies_macs_not_weights():
    one = cnnlib.count_costs("alexnet", (1, 3, 227, 227))
    four = cnnlib.count_costs("alexnet", (4, 3, 227, 227))
    assert four.macs == 4 * one.macs and four.weights == one.weights


def test_a_conv_whose_filter_covers_its_input_is_an_fc_layer():
    r = cnnlib.count_costs(nn.Conv2d(16, 120, 5), (1, 16, 5, 5))
    assert r.layers[0].kind == "fc" and r.fc_weights == 48_000


def test_a_layer_called_twice_owns_its_parameters_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1)

        def forward(self, x):
            return self.conv(self.conv(x))

    r = cnnlib.count_costs(Twice(), (1, 2, 3, 3))
    assert len(r.layers) == 2
    assert r.params == 6 and r.weights == 4
    assert r.macs == 2 * 4 * 9


def test_named_models_are_built_on_the_meta_device():
    model = cnnlib.create_model("vgg16", device="meta")
    assert all(p.is_meta for p in model.parameters())


def test_counting_a_user_built_cpu_model_leaves_it_untouched():
    torch.manual_seed(0)
    model = cnnlib.create_model("alexnet")
    model.train()
    before = model.features[0].weight.detach().clone()
    r = cnnlib.count_costs(model, (1, 3, 227, 227))
    assert r.macs == cnnlib.count_costs("alexnet").macs
    assert r.params == sum(p.numel() for p in model.parameters())
    assert model.training and not model.features[0].weight.is_meta
    assert torch.equal(model.features[0].weight, before)


_RSS = """
import sys
import torch, cnnlib

def kb(field):
    status = open("/proc/self/status").read()
    return int(status.split(field + ":")[1].split()[0])

cnnlib.count_costs("lenet5")  # warm up imports
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
base = kb("VmRSS")
if sys.argv[1] == "meta":
    cnnlib.count_costs("vgg16")
else:
    cnnlib.create_model("vgg16")
print((kb("VmHWM") - base) // 1024)
"""


def _peak_growth_mb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _RSS, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.slow
def test_counting_vgg16_does_not_allocate_its_528_mb_of_weights():
    assert _peak_growth_mb("meta") < 64
    assert _peak_growth_mb("cpu") > 500  # the same process does notice real weights


def test_report_records_and_table_are_complete():
    r = cnnlib.count_costs("alexnet")
    records = r.to_records()
    assert len(records) == len(r.layers) and records[0]["filter"] == "11x11x3 -> 96"
    text = r.table()
    assert "features.0" in text and "724,406,816" in text
    assert r.metric("weights + biases") == r.weights + r.biases
    with pytest.raises(AttributeError, match="no metric"):
        r.metric("latency")


@pytest.mark.parametrize("layer", [
    nn.Conv2d(3, 8, 3, stride=2, padding=1),
    nn.Conv2d(3, 8, (1, 7), padding=(0, 3)),
    nn.Conv2d(3, 8, 3, padding="same", dilation=2),
    nn.Conv2d(3, 8, 5, padding="valid", stride=3),
    nn.Conv2d(4, 8, 3, groups=4, dilation=3),
    nn.MaxPool2d(3, 2, ceil_mode=True),
    nn.MaxPool2d(3, 2, padding=1, dilation=2),
    nn.AvgPool2d(2),
    nn.AvgPool2d(3, 1, 1, ceil_mode=True),
    nn.AdaptiveAvgPool2d((1, None)),
    nn.AdaptiveMaxPool2d(5),
], ids=repr)
def test_shape_arithmetic_equals_the_layers_own_forward(layer):
    from cnnlib.costs.shapes import STAND_INS

    layer = layer.to("meta")
    channels = layer.in_channels if isinstance(layer, nn.Conv2d) else 4
    for H, W in [(17, 17), (23, 30)]:
        x = torch.empty(2, channels, H, W, device="meta")
        assert STAND_INS[type(layer)](layer, x).shape == layer(x).shape


def test_one_kind_can_be_named_as_a_string():
    r = cnnlib.count_costs("alexnet", count="conv")
    assert r.macs == sum(x.ops for x in r.layers if x.kind == "conv") < cnnlib.count_costs("alexnet").macs
    assert r.counted_kinds == {"conv"}


def test_counting_leaves_no_dispatch_mode_or_wrapper_behind():
    from torch.utils._python_dispatch import _get_current_dispatch_mode

    model = cnnlib.create_model("resnet18", device="meta")
    cnnlib.count_costs(model)
    assert _get_current_dispatch_mode() is None
    assert not any(k in m.__dict__ for m in model.modules() for k in ("forward", "_compiled_call_impl"))
