"""What cnnlib computes for the claims of the ledger: small functions of the registered models.

Each function computes one quantity a claim of the lecture states (a count, a ratio, a shape,
a year), in the unit the claim prints it; :mod:`cnnlib.claims.specs` pairs them with the
printed figures. Cost reports are cached: the ledger asks for the same model many times.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from torch import nn

from cnnlib.costs import formulas
from cnnlib.costs.report import CostReport, LayerCost
from cnnlib.counting import count_costs
from cnnlib.lecture import MODELS, depth
from cnnlib.registry import list_models, model_info


@cache
def cost_report(model: str, size: tuple[int, int, int] | None = None, **kwargs: Any) -> CostReport:
    return count_costs(model, size, **kwargs)


def conv_layer(model: str, i: int, **kwargs: Any) -> LayerCost:
    return cost_report(model, **kwargs).conv_layers[i]


def weight_layers(model: str) -> int:
    """CONV and FC layers on the longest path: how papers name depth (ResNet-50, VGG-16)."""
    return depth(model, (nn.Conv2d, nn.Linear))


def millions(n: float) -> float:
    """A count in millions, as the MobileNet paper's tables print them."""
    return round(n / 1e6, 3)


def ratio(a: float, b: float) -> float:
    return round(a / b, 3)



def paper_year(model: str) -> int:
    """The year of the paper a model cites, from its key in references.bib (``he2016deep``)."""
    m = re.search(r"(19|20)\d\d", model_info(model).paper)
    if not m:
        raise ValueError(f"{model}'s paper key {model_info(model).paper!r} names no year")
    return int(m.group())


def alexnet_input() -> str:
    """The input size that conv1's output needs: P = (H - R + 2 x padding) / U + 1, solved for H."""
    c = conv_layer("alexnet", 0)
    U = c.stride[0] if isinstance(c.stride, tuple) else c.stride or 1   # the height's stride
    H = (c.output_shape[2] - 1) * U + (c.R or 1) - 2 * (c.padding or (0, 0))[0]
    return f"{H}x{H}"



def nasnet_ops() -> list[str]:
    """NASNet-A's operations, in the slide's words, from the cells cnnlib builds."""
    from cnnlib.models.nasnet import NORMAL_CELL, REDUCTION_CELL, Op

    def words(op: Op) -> str:
        if op is Op.IDENTITY:
            return "identity"
        if isinstance(op.value, int):
            return f"{op.value}x{op.value} separable convolution"
        return f"3x3 {'average' if op.value == 'avg' else 'max'} pooling"

    used = []
    for cell in (NORMAL_CELL, REDUCTION_CELL):
        for left, _, right, _ in cell.combinations:
            used += [words(left), words(right)]
    return used


#: The "Common layer operations" of the slide (Zoph et al. list 13; the slide 12).
NAS_OPERATIONS = (
    "identity", "1x3 then 3x1 convolution", "1x7 then 7x1 convolution", "3x3 dilated convolution",
    "1x1 convolution", "3x3 convolution", "3x3 separable convolution", "5x5 separable convolution",
    "3x3 average pooling", "3x3 max pooling", "5x5 max pooling", "7x7 max pooling",
)


def nas_computed() -> str:
    used = nasnet_ops()
    missing = sorted({op for op in used if op not in NAS_OPERATIONS})
    text = f"NASNet-A uses {len(set(used))} operations"
    return text + (f"; not listed: {', '.join(missing)}" if missing else ", all listed")


def grouping_ratio(metric: str) -> float:
    one, two = conv_layer("alexnet", 1, towers=1), conv_layer("alexnet", 1)
    return getattr(one, metric) / getattr(two, metric)


def separable_ratios_hold() -> str:
    """Full 3x3 conv MACs / (depth-wise + point-wise MACs) against RSM / (RS + M), per layer."""
    full = [r for r in cost_report("conv_mobilenet_v1").conv_layers[1:]]
    sep = cost_report("mobilenet_v1").conv_layers[1:]
    pairs = list(zip(sep[0::2], sep[1::2], strict=True))
    ok = len(pairs) == len(full) and all(
        dw.R and dw.S and pw.M
        and abs(f.macs / (dw.macs + pw.macs) - formulas.depthwise_separable_ratio(dw.R, dw.S, pw.M)) < 1e-9
        for f, (dw, pw) in zip(full, pairs, strict=True))
    return "RSM/(RS+M)" if ok else "another ratio"


def efficientnet_scaling() -> str:
    from cnnlib.models.efficientnet import COEFFICIENTS

    w0, d0, r0, _ = COEFFICIENTS["efficientnet_b0"]
    kept = [(name.removeprefix("efficientnet_").upper(), dim)
            for name, (w, d, r, _) in COEFFICIENTS.items() if name != "efficientnet_b0"
            for dim, v, v0 in (("width", w, w0), ("depth", d, d0), ("resolution", r, r0)) if v <= v0]
    return "; ".join(f"{m} keeps B0's {dim}" for m, dim in kept) or "depth, width and resolution"


#: How the top-5 errors of the summary slide were measured: networks averaged, and where.
TOP5_MEASURED: dict[str, tuple[int, str]] = {
    "AlexNet": (5, "16.4: five CNNs averaged, test set (Krizhevsky et al.)"),
    "VGG-16": (1, "7.4: one network, at three scales, test set (the VGG team's released model)"),
    "GoogLeNet (v1)": (7, "6.7: seven networks averaged, 144 crops each, test set (Szegedy et al.)"),
    "ResNet-50": (1, "5.3: one network, at several scales, validation set (He et al., Table 4)"),
}


def top5_networks() -> str:
    """How many networks each top-5 figure of the summary slide averages, in the slide's order."""
    if list(TOP5_MEASURED) != list(MODELS)[1:]:
        raise ValueError("TOP5_MEASURED must follow the summary slide's columns after LeNet-5")
    return ", ".join(f"{n} network{'s' if n > 1 else ''}" for n, _ in TOP5_MEASURED.values())


def norm_layers(model: str, kind: type[nn.Module]) -> int:
    """Layers of ``kind`` in ``model`` as cnnlib builds it (on ``meta``: nothing is allocated)."""
    from cnnlib.registry import create_model

    return sum(isinstance(m, kind) for m in create_model(model, device="meta").modules())


def plain_gradient_ratio(n: int = 9) -> float:
    """He et al.'s plain network for CIFAR-10 (Section 4.2: 6n + 2 layers; n = 9 gives the
    56 layers of their Figure 1), built with batch normalization after every 3x3 CONV layer as in
    the paper, on a batch of random 32x32 images at initialisation: the norm of the first CONV
    layer's weight gradient over the last one's. A vanishing gradient would make it tiny.

    Seeded, and on a forked random state, so that the caller's random numbers do not change.
    """
    import torch

    def conv(C: int, M: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(C, M, 3, stride, 1, bias=False), nn.BatchNorm2d(M), nn.ReLU()]

    with torch.random.fork_rng():
        torch.manual_seed(0)
        layers = conv(3, 16)
        for stage, M in enumerate((16, 32, 64)):   # 2n layers per stage; stages 2, 3 halve the map
            layers += conv(M if stage == 0 else M // 2, M, 1 if stage == 0 else 2)
            for _ in range(2 * n - 1):
                layers += conv(M, M)
        net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
        images, labels = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
        nn.functional.cross_entropy(net(images), labels).backward()
    convs = [m for m in net if isinstance(m, nn.Conv2d)]
    assert len(convs) + 1 == 6 * n + 2, len(convs)
    norms = []
    for c in (convs[0], convs[-1]):
        assert c.weight.grad is not None   # backward() has just filled it
        norms.append(c.weight.grad.norm().item())
    first, last = norms
    return first / last


def imagenet_classes() -> int | str:
    """Outputs of every registered model but LeNet-5 (MNIST): one number if they all agree."""
    sizes = {cost_report(name).output_shape[1] for name in list_models() if name != "lenet5"}
    return sizes.pop() if len(sizes) == 1 else ", ".join(map(str, sorted(sizes)))


def stack_window(filters: list[tuple[int, int]]) -> str:
    """The window R x S that a stack of stride-1 filters sees: 1 + the sum of (R - 1), likewise S."""
    return f"{1 + sum(R - 1 for R, _ in filters)}x{1 + sum(S - 1 for _, S in filters)}"


def bottleneck_shapes() -> str:
    reduces = [c for c in cost_report("googlenet").conv_layers
               if c.name.endswith(("branch3x3.0.conv", "branch5x5.0.conv"))]
    ok = bool(reduces) and all(c.R == c.S == 1 and c.C and c.M and c.C > c.M for c in reduces)
    return "R=1, S=1, C > M" if ok else "not all"


def inception_macs(reduce: bool) -> int:
    """CS231n's module on a 28x28x256 input: 128 1x1, 192 3x3 and 96 5x5 filters (+ pool proj)."""
    def conv(C: int, M: int, R: int) -> int:
        return formulas.conv2d_macs(N=1, C=C, M=M, P=28, Q=28, R=R, S=R)

    if not reduce:
        return conv(256, 128, 1) + conv(256, 192, 3) + conv(256, 96, 5)
    return (conv(256, 128, 1) + conv(256, 64, 1) + conv(64, 192, 3) + conv(256, 64, 1)
            + conv(64, 96, 5) + conv(256, 64, 1))


def module_macs(module: str) -> int:
    return sum(c.macs for c in cost_report("googlenet").conv_layers if f".{module}." in f".{c.name}")


def published_note(model: str, metric: str, source: str = "howard2017mobilenets") -> str:
    """The note of a model's registered published figure (why it is not reproduced)."""
    return next(p.note for p in model_info(model).published if (p.source, p.metric) == (source, metric))
