"""The claims ledger: every numeric claim of the lecture, what cnnlib computes, and a verdict.

Each entry of :data:`SPECS` transcribes one claim as the lecture prints it (the slide's title,
the claim's words, the figure) and gives a function that computes the same quantity with
cnnlib. The verdict is not taken on trust: :func:`judge` compares the computed value with the
printed figure at the figure's own precision, and the verdict the spec expects must agree
(``tests/test_claims.py`` fails otherwise).

How a printed figure is read (:func:`read_figure`):

* ``"34k"``, ``"1.43G"``, ``"0.39B"``, ``"4.2"``: the value, give or take half a unit of the last
  printed digit, so ``"1.43G"`` is any count from 1.425G to 1.435G. Trailing zeros of a whole
  number are not significant (``"15300"`` is three significant figures, 15250 to 15350;
  ``"60"`` is 55 to 65), as in the MobileNet paper's tables.
* ``"70.6%"``, ``"1.5x"``, ``"2x"``: a number like the others; ``"two"``, ``"one"``: 2 and 1.
* ``"16+"``: a lower bound, reproduced by anything at least as large.
* Anything else (``"3 - 1024"``, ``"11x11"``, ``"RSM/(RS+M)"``) is text, reproduced when the
  computed text is the same up to spaces and case.

A spec may instead give its own ``check`` (a comparison the claim makes: "fewer weights").
Claims about accuracy or data-set sizes cannot be computed from layer shapes: they are
listed with ``computed = None`` and the verdict ``"not computable"``.

The "Summary of Popular CNNs" cells are not transcribed again here: they come from
:func:`cnnlib.lecture.summary_table`, which counts each one with the convention that
reproduces it.

Run ``python -m cnnlib claims`` (a table) or ``python -m cnnlib claims --json``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from torch import nn

from cnnlib.costs import formulas
from cnnlib.costs.report import CostReport, LayerCost
from cnnlib.counting import count_costs
from cnnlib.lecture import MODELS, NOT_COUNTED, depth, lecture_figure, summary_table
from cnnlib.registry import list_models, model_info
from cnnlib.text import human, render

Value = int | float | str | None
VERDICTS = ("reproduced", "differs", "not computable")

__all__ = ["VERDICTS", "Claim", "Spec", "claims", "claims_html", "claims_json", "claims_table",
           "judge", "read_figure", "verdict_counts"]


# -- reading printed figures -------------------------------------------------------------------

_UNITS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "%": 1, "x": 1}
_FIGURE = re.compile(r"^~?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([kKMGB%x]?)$")
_WORDS = {"one": 1, "two": 2, "three": 3}


def read_figure(text: str) -> tuple[float, float] | None:
    """``"1.43G"`` -> ``(1.43e9, 0.005e9)``: the value and half a unit of its last significant
    digit; ``None`` when ``text`` is not a single printed number."""
    word = _WORDS.get(text.strip().lower())
    if word is not None:
        return float(word), 0.5
    m = _FIGURE.match(text.strip())
    if not m:
        return None
    d = Decimal(m.group(1).replace(",", ""))
    unit = _UNITS[m.group(2)]
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0:  # a whole number: trailing zeros are not significant ("15300", "60")
        exponent += len(digits) - len(str(int(d)).rstrip("0") or "0")
    half = Decimal(5) * Decimal(10) ** (exponent - 1)
    return float(d * unit), float(half * unit)


def _text(value: object) -> str:
    return re.sub(r"\s+", "", str(value)).lower()


def judge(stated: str, computed: Value, check: Callable[[Any], bool] | None = None) -> str:
    """The verdict the computed value earns against the printed figure."""
    if computed is None:
        return "not computable"
    if check is not None:
        ok = check(computed)
    elif stated.endswith("+") and read_figure(stated[:-1]) and isinstance(computed, int | float):
        ok = computed >= read_figure(stated[:-1])[0]  # type: ignore[index]
    elif (figure := read_figure(stated)) is not None and isinstance(computed, int | float):
        value, half = figure
        ok = abs(computed - value) <= half * (1 + 1e-9)
    else:
        ok = _text(computed) == _text(stated)
    return "reproduced" if ok else "differs"


# -- the claims ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """One claim as the lecture prints it, and how cnnlib computes it.

    ``compute`` returns the value in the printed figure's unit (``None``: not computable);
    ``verdict`` is what the author of the entry expects, checked against :func:`judge`; ``why``
    is the convention that reproduces the figure or the cause of the difference (a function of
    the computed value when it quotes counts).
    """

    slide: str
    quote: str
    stated: str
    compute: Callable[[], Value] | None
    verdict: str
    why: str | Callable[[Any], str]
    check: Callable[[Any], bool] | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class Claim:
    """One claim with its computed value; ``verdict`` is the judged one, ``expected`` the typed."""

    slide: str
    quote: str
    stated: str
    computed: Value
    verdict: str
    why: str
    expected: str

    def record(self) -> dict[str, Value]:
        """The JSON object: slide, quote, stated, computed, verdict, why."""
        d = asdict(self)
        del d["expected"]
        return d


@cache
def _report(model: str, size: tuple[int, int, int] | None = None, **kwargs: Any) -> CostReport:
    return count_costs(model, size, **kwargs)


def _conv(model: str, i: int, **kwargs: Any) -> LayerCost:
    return _report(model, **kwargs).conv_layers[i]


def _weight_layers(model: str) -> int:
    """CONV and FC layers on the longest path: how papers name depth (ResNet-50, VGG-16)."""
    return depth(model, (nn.Conv2d, nn.Linear))


def _m(n: float) -> float:
    """A count in millions, as the MobileNet paper's tables print them."""
    return round(n / 1e6, 3)


def _share(a: float, b: float) -> float:
    return round(a / b, 3)


_CONTEST = ("a result of the ImageNet challenge ({}), not a property of the layers; the "
            "accuracies behind it are in the summary slide's top-5 row")
_MNIST = "MNIST"
_IMAGENET = "ImageNet"
_DATA = "a property of the data set, not of a model: cnnlib ships no copy of {}"
_ACCURACY = ("an accuracy measured by training on ImageNet: layer shapes do not give it "
             "(the book's live experiments train small models on offline digits instead)")
_TRUNCATED = "the slide truncates: {:,} weights ({:,} with biases) round to 35k, not 34k"


def _paper_year(model: str) -> int:
    """The year of the paper a model cites, from its key in references.bib (``he2016deep``)."""
    m = re.search(r"(19|20)\d\d", model_info(model).paper)
    if not m:
        raise ValueError(f"{model}'s paper key {model_info(model).paper!r} names no year")
    return int(m.group())


def _year_specs() -> list[Spec]:
    """The dates of the slide "High Accuracy CNN Models", against the papers cnnlib cites."""
    slide = "High Accuracy CNN Models"
    contest = ("the slide dates the model by its ImageNet challenge entry ({0}); the paper that "
               "describes it, which cnnlib cites, appeared in {1}")
    specs = []
    for label, year, model, verdict in (
            ("LeNet", "1998", "lenet5", "reproduced"), ("AlexNet", "2012", "alexnet", "reproduced"),
            ("VGGNet", "2014", "vgg16", "differs"), ("GoogleNet", "2014", "googlenet", "differs"),
            ("ResNet", "2015", "resnet50", "differs")):
        specs.append(Spec(slide, f"{label} ({year})", year, lambda m=model: _paper_year(m), verdict,
                          "the year of the paper cnnlib cites for it" if verdict == "reproduced"
                          else (lambda v, y=year: contest.format(y, v))))
    specs.insert(2, Spec(slide, "OverFeat (2013)", "2013", None, "not computable",
                         "cnnlib has no OverFeat model (the lecture names it only here)"))
    return specs


def _alexnet_specs() -> list[Spec]:
    """The AlexNet slides: totals, the layer configuration table and the bar labels."""
    specs = [
        Spec("AlexNet", "ILSCVR12 Winner", "12", None, "not computable", _CONTEST.format("2012")),
        Spec("AlexNet", "CONV Layers: 5", "5", lambda: len(_report("alexnet").conv_layers), "reproduced",
             "conv1 to conv5; layers 2, 4 and 5 are grouped (G = 2, one group per GPU)"),
        Spec("AlexNet", "Fully Connected Layers: 3", "3", lambda: len(_report("alexnet").fc_layers),
             "reproduced", "fc6, fc7 and fc8"),
        Spec("AlexNet", "Weights: 61M", "61M", lambda: _report("alexnet").weights, "reproduced",
             "filter and FC weights of the two-tower network at 227x227 (biases excluded)"),
        Spec("AlexNet", "MACs: 724M", "724M", lambda: _report("alexnet").macs, "reproduced",
             "CONV and FC multiply-accumulates at 227x227, the size that gives conv1 its 55x55 output"),
    ]
    slide = "Large Sizes with Varying Shapes"
    for i in range(5):
        n = i + 1
        specs += [
            Spec(slide, f"Layer {n}: Filter Size (RxS)", ("11x11", "5x5", "3x3", "3x3", "3x3")[i],
                 lambda i=i: f"{_conv('alexnet', i).R}x{_conv('alexnet', i).S}", "reproduced",
                 f"R x S of conv{n}"),
            Spec(slide, f"Layer {n}: # Filters (M)", ("96", "256", "384", "384", "256")[i],
                 lambda i=i: _conv("alexnet", i).M, "reproduced", f"M of conv{n}, both towers together"),
            Spec(slide, f"Layer {n}: # Channels (C)", ("3", "48", "256", "192", "192")[i],
                 lambda i=i: _conv("alexnet", i).C // _conv("alexnet", i).G, "reproduced",
                 "channels one filter reads: C/G, half of the input in a grouped layer (G = 2)"
                 if i in (1, 3, 4) else "channels one filter reads: all of them (G = 1)"),
            Spec(slide, f"Layer {n}: Stride", ("4", "1", "1", "1", "1")[i],
                 lambda i=i: _conv("alexnet", i).stride, "reproduced", f"stride of conv{n}"),
        ]
    def bias(i: int) -> int:  # weights and biases of conv i+1
        return _conv("alexnet", i).weights + _conv("alexnet", i).M

    specs += [
        Spec(slide, "34k Params (layer 1)", "34k", lambda: _conv("alexnet", 0).weights, "differs",
             lambda v: _TRUNCATED.format(v, bias(0))),
        Spec(slide, "105M MACs (layer 1)", "105M", lambda: _conv("alexnet", 0).macs, "reproduced",
             "11 x 11 x 3 weights per output value, 96 x 55 x 55 outputs"),
        Spec(slide, "307k Params (layer 2)", "307k", lambda: _conv("alexnet", 1).weights, "reproduced",
             "5 x 5 x 48 x 256 filter weights (G = 2)"),
        Spec(slide, "224M MACs (layer 2)", "224M", lambda: _conv("alexnet", 1).macs, "reproduced",
             "weights x 27 x 27 output positions"),
        Spec(slide, "885k Params (layer 3)", "885k", lambda: _conv("alexnet", 2).weights, "reproduced",
             "3 x 3 x 256 x 384 filter weights"),
        Spec(slide, "150M MACs (layer 3)", "150M", lambda: _conv("alexnet", 2).macs, "reproduced",
             "weights x 13 x 13 output positions"),
    ]
    slide = "Reduce Cost of FC Layers"
    names = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")

    def layer(i: int) -> LayerCost:
        r = _report("alexnet")
        return (r.conv_layers + r.fc_layers)[i]

    for i, (w, m) in enumerate(zip(("34k", "307k", "885k", "664k", "442k", "38M", "16.8M", "4.1M"),
                                   ("105M", "224M", "150M", "112M", "75M", "38M", "17M", "4M"),
                                   strict=True)):
        specs.append(Spec(slide, f"# of weights, {names[i]}: {w}", w, lambda i=i: layer(i).weights,
                          "differs" if i == 0 else "reproduced",
                          (lambda v: _TRUNCATED.format(v, bias(0))) if i == 0
                          else f"filter or FC weights of {names[i]}"))
        specs.append(Spec(slide, f"# of MACs, {names[i]}: {m}", m, lambda i=i: layer(i).macs,
                          "reproduced", f"MACs of {names[i]}" + (": one per weight" if i >= 5 else "")))
    specs += [
        Spec(slide, "224x224 (the input drawn in the AlexNet figure)", "224x224", _alexnet_input,
             "differs",
             lambda v: f"the figure's own layer sizes need {v}: conv1's 11x11 filters at stride 4, "
                       f"without padding, give its 55x55 output from 227 pixels, (227 - 11) / 4 + 1 = 55, "
                       f"and {(224 - 11) / 4 + 1:g} from 224 (the AlexNet chapter follows the shapes)"),
        Spec(slide, "38M of 61M for AlexNet (first FC layer)", "38M", lambda: layer(5).weights,
             "reproduced", lambda v: f"fc6 reads 256 x 6 x 6 = 9216 values into 4096 units: "
                                     f"{v / _report('alexnet').weights:.0%} of the weights"),
        Spec(slide, "38M of 61M for AlexNet (all layers)", "61M", lambda: _report("alexnet").weights,
             "reproduced", lambda v: f"while the CONV layers do "
                                     f"{_report('alexnet').conv_macs / _report('alexnet').macs:.0%} "
                                     "of the MACs"),
    ]
    return specs


def _alexnet_input() -> str:
    """The input size that conv1's output needs: P = (H - R + 2 x padding) / U + 1, solved for H."""
    c = _conv("alexnet", 0)
    H = (c.output_shape[2] - 1) * (c.stride or 1) + (c.R or 1) - 2 * (c.padding or (0, 0))[0]
    return f"{H}x{H}"


def _summary_specs() -> list[Spec]:
    """The "Summary of Popular CNNs" slide, cell by cell, from :mod:`cnnlib.lecture`."""
    table = summary_table()
    cost_why = {
        "conv_weights": "CONV filter weights", "conv_macs": "CONV MACs", "fc_weights": "FC weights",
        "fc_macs": "FC MACs", "weights": "filter and FC weights", "params": "trainable parameters",
        "macs": "CONV and FC MACs", "connections": "LeCun's connections",
        "connections - fc_macs": "connections minus FC MACs",
    }
    structure_why = {
        "Input Size": "the input the model is counted at (its paper's)",
        "# of CONV Layers": "CONV layers of the model",
        "Filter Sizes": "the distinct R of its CONV layers",
        "# of Channels": "fewest and most channels one filter reads (C/G)",
        "# of Filters": "fewest and most filters (M) of a CONV layer",
        "Stride": "the distinct strides of its CONV layers",
        "# of FC layers": "FC layers (a CONV layer covering its whole input counts as FC)",
    }
    specs = []
    for row, cells in table.items():
        label = row.removeprefix("CONV ").removeprefix("FC ")
        section = "CONV layers" if row.startswith("CONV ") else "FC layers" if row.startswith("FC #") else ""
        for (col, name), cell in zip(MODELS.items(), cells, strict=True):
            quote = f"{col}, {label}" + (f" ({section})" if section else "")
            if cell.matches is None:
                why = NOT_COUNTED[row] if cell.lecture != "n/a" else \
                    "the slide prints none: LeNet-5 was evaluated on MNIST digits, not ImageNet"
                specs.append(Spec("Summary of Popular CNNs", quote, cell.lecture, None,
                                  "not computable", why))
                continue
            if row in structure_why:
                why = structure_why[row] + (f"; {cell.note}" if cell.note else "")
            else:
                p = lecture_figure(name, row, cell.lecture)
                variant = ", ".join(f"{k}={v!r}" for k, v in p.kwargs.items())
                why = f"{cost_why[p.metric]} of {name}" + (f" ({variant})" if variant else "")
                why += f": {p.note}" if p.note else ""
            depth_cell = cell.lecture.endswith("(depth)")
            compute, why = _SUMMARY_RECOUNTED.get((row, col), (lambda v=cell.value: v, why))
            specs.append(Spec("Summary of Popular CNNs", quote, cell.lecture, compute,
                              "differs" if (row, col) in _SUMMARY_DIFFERS else "reproduced", why,
                              check=(lambda v, s=cell.lecture: f"{v} (depth)" == s) if depth_cell else None))
    return specs


_SUMMARY_DIFFERS = {  # the cells of the summary slide that no convention reproduces
    ("Input Size", "LeNet-5"), ("# of CONV Layers", "VGG-16"), ("# of Channels", "GoogLeNet (v1)"),
    ("# of Filters", "GoogLeNet (v1)"), ("CONV # of MACs", "LeNet-5"),
}


def _lenet_conv_macs_why(v: int) -> str:
    r = _report("lenet5")
    return (f"C1 and C3 compute {v:,} MACs with LeCun's sparse C3 "
            f"({_report('lenet5', c3='full').conv_macs:,} with a full one); 283k is the paper's "
            f"{r.connections:,} connections minus the FC MACs ({r.fc_macs:,}), "
            f"{r.connections - r.fc_macs:,}: arithmetic on the paper's totals, not a count of "
            "its CONV layers")


#: Summary cells whose printed figure comes out of arithmetic on other totals rather than a
#: count of the layers it names: the ledger judges the count, (row, column) -> (compute, why).
_SUMMARY_RECOUNTED: dict[tuple[str, str], tuple[Callable[[], Value], Callable[[Any], str]]] = {
    ("CONV # of MACs", "LeNet-5"): (lambda: _report("lenet5").conv_macs, _lenet_conv_macs_why),
}


def _nasnet_ops() -> list[str]:
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


def _nas_computed() -> str:
    used = _nasnet_ops()
    missing = sorted({op for op in used if op not in NAS_OPERATIONS})
    text = f"NASNet-A uses {len(set(used))} operations"
    return text + (f"; not listed: {', '.join(missing)}" if missing else ", all listed")


def _nas_why(_: object) -> str:
    n = _nasnet_ops().count("7x7 separable convolution")
    return (f"the paper's search space has 13 operations; the slide leaves out the 7x7 "
            f"depth-wise separable convolution, which NASNet-A's reduction cell uses {n} times")


def _grouping_ratio(metric: str) -> float:
    one, two = _conv("alexnet", 1, towers=1), _conv("alexnet", 1)
    return getattr(one, metric) / getattr(two, metric)


def _separable_ratios_hold() -> str:
    """Full 3x3 conv MACs / (depth-wise + point-wise MACs) against RSM / (RS + M), per layer."""
    full = [r for r in _report("conv_mobilenet_v1").conv_layers[1:]]
    sep = _report("mobilenet_v1").conv_layers[1:]
    pairs = list(zip(sep[0::2], sep[1::2], strict=True))
    ok = len(pairs) == len(full) and all(
        abs(f.macs / (dw.macs + pw.macs) - formulas.depthwise_separable_ratio(dw.R, dw.S, pw.M)) < 1e-9
        for f, (dw, pw) in zip(full, pairs, strict=True))
    return "RSM/(RS+M)" if ok else "another ratio"


def _efficientnet_scaling() -> str:
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


def _top5_networks() -> str:
    """How many networks each top-5 figure of the summary slide averages, in the slide's order."""
    if list(TOP5_MEASURED) != list(MODELS)[1:]:
        raise ValueError("TOP5_MEASURED must follow the summary slide's columns after LeNet-5")
    return ", ".join(f"{n} network{'s' if n > 1 else ''}" for n, _ in TOP5_MEASURED.values())


def _norm_layers(model: str, kind: type[nn.Module]) -> int:
    """Layers of ``kind`` in ``model`` as cnnlib builds it (on ``meta``: nothing is allocated)."""
    from cnnlib.registry import create_model

    return sum(isinstance(m, kind) for m in create_model(model, device="meta").modules())


def _plain_gradient_ratio(n: int = 9) -> float:
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
    first, last = (c.weight.grad.norm().item() for c in (convs[0], convs[-1]))  # type: ignore[union-attr]
    return first / last


def _specs() -> list[Spec]:
    r = _report
    specs = [
        *_year_specs(),
        Spec(_MNIST, "28x28 pixels (B&W)", "28x28", None, "not computable",
             _DATA.format("MNIST") + "; LeNet-5 reads a digit centred in a 32x32 field"),
        Spec(_MNIST, "10 Classes", "10", lambda: r("lenet5").output_shape[1], "reproduced",
             "LeNet-5's output layer has one unit per class"),
        Spec(_MNIST, "60,000 Training", "60,000", None, "not computable", _DATA.format("MNIST")),
        Spec(_MNIST, "10,000 Testing", "10,000", None, "not computable", _DATA.format("MNIST")),
        Spec("LeNet-5", "CONV Layers: 2", "2", lambda: len(r("lenet5").conv_layers), "reproduced",
             "C1 and C3; C5's 5x5 filters cover its whole 5x5 input, which makes it an FC layer"),
        Spec("LeNet-5", "Fully Connected Layers: 2", "2", lambda: len(r("lenet5").fc_layers), "reproduced",
             "C5 and F6; the output layer compares F6 with fixed RBF prototypes and has no "
             "trained weights"),
        Spec("LeNet-5", "Weights: 60k", "60k", lambda: r("lenet5").params, "reproduced",
             lambda v: f"the paper's {v:,} trainable parameters (sparse C3, biases and "
                       f"subsampling coefficients); the filter and FC weights alone are "
                       f"{r('lenet5').weights:,}"),
        Spec("LeNet-5", "MACs: 341k", "341k", lambda: r("lenet5").connections, "reproduced",
             lambda v: f"the paper's {v:,} connections (every input edge, biases included); "
                       f"the CONV and FC MACs alone are {r('lenet5').macs:,}"),
        Spec(_IMAGENET, "~256x256 pixels (color)", "~256x256", None, "not computable",
             _DATA.format("ImageNet") + "; its images vary in size and the models read crops "
             "of 224, 227 or 299 pixels"),
        Spec(_IMAGENET, "1000 Classes", "1000", _imagenet_classes, "reproduced",
             "the classifier of every ImageNet model in cnnlib has one output per class"),
        Spec(_IMAGENET, "1.3M Training", "1.3M", None, "not computable", _DATA.format("ImageNet")),
        Spec(_IMAGENET, "100,000 Testing", "100,000", None, "not computable", _DATA.format("ImageNet")),
        Spec(_IMAGENET, "(50,000 Validation)", "50,000", None, "not computable", _DATA.format("ImageNet")),
        *_alexnet_specs(),
        Spec("VGG-16", "CONV Layers: 13", "13", lambda: len(r("vgg16").conv_layers), "reproduced",
             "five stages of 3x3 CONV layers: 2 + 2 + 3 + 3 + 3"),
        Spec("VGG-16", "Fully Connected Layers: 3", "3", lambda: len(r("vgg16").fc_layers), "reproduced",
             "4096, 4096 and 1000 units"),
        Spec("VGG-16", "Weights: 138M", "138M", lambda: r("vgg16").weights, "reproduced",
             lambda v: f"filter and FC weights; {r('vgg16').fc_weights / v:.0%} of them in the FC layers"),
        Spec("VGG-16", "MACs: 15.5G", "15.5G", lambda: r("vgg16").macs, "reproduced",
             "CONV and FC MACs at 224x224"),
        Spec("VGG-16", "Also, 19-layer version", "19", lambda: _weight_layers("vgg19"), "reproduced",
             "VGG-19: 16 CONV and 3 FC layers on its one path"),
        Spec("VGGNet: Stacked Filters", "5x5 filter (25 weights)", "25",
             lambda: formulas.conv2d_weights(C=1, M=1, R=5, S=5), "reproduced",
             "per input channel and filter; with C channels and M filters both sides scale by C x M"),
        Spec("VGGNet: Stacked Filters", "two 3x3 filters (18 weights)", "18",
             lambda: 2 * formulas.conv2d_weights(C=1, M=1, R=3, S=3), "reproduced",
             "two 3x3 filters of 9 weights each, per input channel and filter"),
        Spec("VGGNet: Stacked Filters", "two 3x3 filters ... cover the same receptive field", "5x5",
             lambda: _stack_window([(3, 3), (3, 3)]), "reproduced",
             lambda _: f"receptive field of two stacked stride-1 3x3 filters: 2 x (3 - 1) + 1 = "
                       f"{formulas.receptive_field_of_stack(3, 2)}"),
        Spec("1x1 Bottleneck", "Filter dimensions for bottleneck: R=1, S=1, C > M", "R=1, S=1, C > M",
             lambda: _bottleneck_shapes(), "reproduced",
             "checked on every 1x1 layer GoogLeNet puts before a 3x3 or 5x5 filter"),
        Spec("GoogLeNet:1x1 Bottleneck", "Number of multiplications reduced from 854M", "854M",
             lambda: _inception_macs(reduce=False), "reproduced",
             "CS231n's example: module 3b's 28x28x256 input into 128 1x1, 192 3x3 and 96 5x5 "
             "filters, with no bottleneck"),
        Spec("GoogLeNet:1x1 Bottleneck", "... to 358M", "358M", lambda: _inception_macs(reduce=True),
             "differs",
             lambda v: f"with the 64-filter 1x1 bottlenecks the example lists, its terms add up to "
                       f"{human(v)}; 358M is what they give if the 3x3 filters read 128 channels "
                       f"(a slip in the example). GoogLeNet's real module 3b costs "
                       f"{human(_module_macs('inception3b'))}"),
        Spec("GoogLeNet:1x1 Bottleneck", "Reduce weights such that entire CNN can be trained on one GPU",
             "one GPU", None, "not computable",
             "a statement about training hardware, which layer shapes do not give; the paper says "
             "otherwise: GoogLeNet was trained on CPUs with Google's DistBelief system, and its "
             "authors only estimate that a few high-end GPUs could train it within a week"),
        Spec("ResNet", "ILSVRC15 Winner (better than human level accuracy!)", "15", None, "not computable",
             _CONTEST.format("2015")),
        Spec("ResNet: Training", "Training and validation error increases with more layers; this is "
             "due to vanishing gradient", "vanishing gradient", _plain_gradient_ratio, "differs",
             lambda v: f"in He et al.'s 56-layer plain network for CIFAR-10 (the deeper network of "
                       f"the slide's Figure 1: 3x3 CONV layers, each with batch normalization), "
                       f"the first CONV layer's weight gradient is {v:.3g} x the last one's at "
                       "initialisation: the gradient does not vanish. The paper checks the same "
                       "while training and blames a difficulty of optimisation instead",
             check=lambda v: v < 0.01),
        Spec("ResNet: Bottleneck", "Also makes network deeper (ResNet-34 -> ResNet-50)", "34",
             lambda: _weight_layers("resnet34"), "reproduced",
             "CONV and FC layers on the longest path (the 1x1 projection shortcuts run beside it)"),
        Spec("ResNet: Bottleneck", "Also makes network deeper (ResNet-34 -> ResNet-50)", "50",
             lambda: _weight_layers("resnet50"), "reproduced",
             "each two-layer block becomes a three-layer bottleneck: 3 x 16 + 1 CONV + 1 FC"),
        *_summary_specs(),
        Spec("Summary of Popular CNNs", "VGG-16: Goes Deeper (16+ layers)", "16+",
             lambda: min(_weight_layers("vgg16"), _weight_layers("vgg19")), "reproduced",
             "the shallower of VGG-16 and VGG-19 has 16 CONV and FC layers"),
        Spec("Summary of Popular CNNs", "ResNet: Goes Deeper (24+ layers)", "24+",
             lambda: min(_weight_layers(f"resnet{n}") for n in (18, 34, 50, 101, 152)), "differs",
             "the paper's ResNets have 18, 34, 50, 101 and 152 layers: the shallowest has fewer "
             "than 24 and none has 24 (the lecture's ResNet-50 has 50); likely a slip"),
        Spec("Summary of Popular CNNs", "GoogLeNet: only one FC layer is needed", "one",
             lambda: len(r("googlenet").fc_layers), "reproduced",
             "global average pooling leaves one 1024 -> 1000 FC layer"),
        Spec("Summary of Popular CNNs", "GoogLeNet (v1): Batch Normalization", "Batch Normalization",
             lambda: _norm_layers("googlenet", nn.modules.batchnorm._BatchNorm), "differs",
             lambda v: f"GoogLeNet as its 2014 paper builds it, and cnnlib with it, has {v} batch "
                       f"normalization layers and {_norm_layers('googlenet', nn.LocalResponseNorm)} "
                       "local response normalization layers; batch normalization arrived with its "
                       "successor, BN-Inception (Ioffe and Szegedy, 2015)",
             check=lambda v: v > 0),
        Spec("Summary of Popular CNNs", "Top-5 error: 16.4, 7.4, 6.7, 5.3 (one row)", "comparable",
             _top5_networks, "differs",
             lambda _: "; ".join(f"{col} {how}" for col, (_, how) in TOP5_MEASURED.items())
                       + ": the row sets ensembles beside single networks",
             check=lambda v: len(set(v.split(", "))) == 1),
        Spec("DenseNet", "Higher accuracy than ResNet", "higher accuracy", None, "not computable", _ACCURACY),
        Spec("DenseNet", "with fewer weights", "fewer weights",
             lambda: _share(r("densenet121").weights, r("resnet50").weights), "reproduced",
             lambda v: f"DenseNet-121 has {v:.2f} x the weights of ResNet-50 "
                       f"({human(r('densenet121').weights)} vs {human(r('resnet50').weights)})",
             check=lambda v: v < 1),
        Spec("DenseNet", "and multiplications", "fewer multiplications",
             lambda: _share(r("densenet121").macs, r("resnet50").macs), "reproduced",
             lambda v: f"DenseNet-121 needs {v:.2f} x the MACs of ResNet-50 "
                       f"({human(r('densenet121').macs)} vs {human(r('resnet50').macs)})",
             check=lambda v: v < 1),
        Spec("Increase width (# of filters)", "50-layer wide ResNet", "50",
             lambda: _weight_layers("wide_resnet50_2"), "reproduced",
             "WRN-50-2: ResNet-50's layers with twice the filters in each bottleneck's 1x1 and 3x3"),
        Spec("Increase width (# of filters)", "152-layer original ResNet", "152",
             lambda: _weight_layers("resnet152"), "reproduced",
             "CONV and FC layers on the longest path of ResNet-152"),
        Spec("Increase width (# of filters)", "50-layer wide ResNet outperforms 152-layer original ResNet",
             "outperforms", None, "not computable",
             lambda _: f"{_ACCURACY}. What cnnlib can say: WRN-50-2 costs "
                       f"{human(r('wide_resnet50_2').macs)} MACs and {human(r('wide_resnet50_2').weights)} "
                       f"weights, ResNet-152 {human(r('resnet152').macs)} and "
                       f"{human(r('resnet152').weights)}"),
        Spec("Example: Inception V3", "v1: 22 layers", "22", lambda: _weight_layers("googlenet"),
             "reproduced", "21 CONV layers on GoogLeNet's longest path, then its FC layer"),
        Spec("Example: Inception V3", "v3: 40+ layers", "40+", lambda: _weight_layers("inception_v3"),
             "reproduced",
             "CONV and FC layers on the longest path of cnnlib's Inception v3 (its paper calls the "
             "network 42 layers deep)"),
        Spec("Example: Inception V3", "~3.5% higher accuracy than v1", "~3.5%", None, "not computable",
             _ACCURACY),
        Spec("Example: Inception V3", "3x3 filter -> 3x1 and 1x3 filters", "3x3",
             lambda: _stack_window([(3, 1), (1, 3)]), "reproduced",
             lambda _: f"a 3x1 then a 1x3 filter see a 3x3 window with "
                       f"{2 * formulas.conv2d_weights(C=1, M=1, R=3, S=1)} weights instead of "
                       f"{formulas.conv2d_weights(C=1, M=1, R=3, S=3)}"),
        Spec("Example: Inception V3", "5x5 filter -> 3x3 filters", "5x5",
             lambda: _stack_window([(3, 3), (3, 3)]), "reproduced",
             "two stacked 3x3 filters see a 5x5 window (as on the VGG slide)"),
        Spec("Example: ResNeXt", "Used by ILSVRC 2017 Winner SENet", "2017", None, "not computable",
             _CONTEST.format("2017")),
        Spec("Reduce Channels (C): Grouped Convolutions",
             "Example for G=2: Each filter requires 2x fewer weights", "2x",
             lambda: _grouping_ratio("weights"), "reproduced",
             "AlexNet's conv2 with one group (96 channels per filter) against two (48)"),
        Spec("Reduce Channels (C): Grouped Convolutions", "... and MACs (C -> C/2)", "2x",
             lambda: _grouping_ratio("macs"), "reproduced", "the same layer's MACs"),
        Spec("AlexNet: Grouped Convolutions",
             "AlexNet uses grouped convolutions to train on two separate GPUs", "two",
             lambda: max(c.G or 1 for c in r("alexnet").conv_layers), "reproduced",
             "conv2, conv4 and conv5 have G = 2, one group per GPU"),
        Spec("Depth-wise Convolutions", "number of groups (G) equals number channels (C)", "G = C",
             lambda: "G = C" if all(c.G == c.C for c in r("mobilenet_v1").of_kind("dwconv")) else "G != C",
             "reproduced", "checked on MobileNet's 13 depth-wise layers"),
        Spec("Depth-wise Convolutions", "(i.e., one input channel per group)", "one",
             lambda: max(c.C // c.G for c in r("mobilenet_v1").of_kind("dwconv")), "reproduced",
             "C/G in every depth-wise layer of MobileNet"),
        Spec("Depth-wise Convolutions", "Typically, M=C", "M = C",
             lambda: "M = C" if all(c.M == c.C for c in r("mobilenet_v1").of_kind("dwconv")) else "M != C",
             "reproduced", "checked on MobileNet's 13 depth-wise layers"),
        Spec("Reduction in MACs", "HWCRSM / HWC(RS+M) = RSM / (RS+M)", "RSM/(RS+M)",
             _separable_ratios_hold, "reproduced",
             "each of MobileNet's 13 separable layers against the full 3x3 layer of Conv MobileNet"),
        *_mobilenet_specs(),
        Spec("Example: Xception", "Similar performance on ImageNet; 4.3% better on larger dataset (JFT)",
             "4.3%", None, "not computable", _ACCURACY.replace("ImageNet", "JFT")),
        Spec("Example: Xception", "1.5x more operations required than Inception V3", "1.5x",
             lambda: _share(r("xception").macs, r("inception_v3").macs), "reproduced",
             lambda v: f"{human(r('xception').macs)} MACs against {human(r('inception_v3').macs)}, both at "
                       f"299x299, with {human(r('xception').weights)} and "
                       f"{human(r('inception_v3').weights)} weights"),
        Spec("Example: ShuffleNet", "up to 4% increase in accuracy", "4%", None, "not computable", _ACCURACY),
        Spec("(1) Shrink the Search Space", "Common layer operations: Identity ... 7x7 max pooling",
             "12 operations", _nas_computed, "differs", _nas_why),
        Spec("Example: NASNet", "Search Space: Build model from popular layers", "12 operations",
             _nas_computed, "differs", _nas_why),
        Spec("EfficientNet", "Uniformly scaling all dimensions including depth, width, and resolution",
             "depth, width and resolution", _efficientnet_scaling, "differs",
             "the released B1 to B7 use hand-set coefficients, not the compound formula: B1 scales "
             "depth and resolution only; B2 to B7 scale all three"),
        Spec("References", "Wide ResNet: Zagoruyko and Komodakis, \"Wide residual networks.\" BMVC 2017",
             "2017", lambda: _paper_year("wide_resnet50_2"), "differs",
             lambda v: f"the paper appeared at BMVC {v}: the year of the paper cnnlib cites for "
                       "wide_resnet50_2 (zagoruyko2016wide in references.bib)"),
    ]
    return specs


def _imagenet_classes() -> int | str:
    """Outputs of every registered model but LeNet-5 (MNIST): one number if they all agree."""
    sizes = {_report(name).output_shape[1] for name in list_models() if name != "lenet5"}
    return sizes.pop() if len(sizes) == 1 else ", ".join(map(str, sorted(sizes)))


def _stack_window(filters: list[tuple[int, int]]) -> str:
    """The window R x S that a stack of stride-1 filters sees: 1 + the sum of (R - 1), likewise S."""
    return f"{1 + sum(R - 1 for R, _ in filters)}x{1 + sum(S - 1 for _, S in filters)}"


def _bottleneck_shapes() -> str:
    reduces = [c for c in _report("googlenet").conv_layers
               if c.name.endswith(("branch3x3.0.conv", "branch5x5.0.conv"))]
    ok = bool(reduces) and all(c.R == c.S == 1 and c.C > c.M for c in reduces)
    return "R=1, S=1, C > M" if ok else "not all"


def _inception_macs(reduce: bool) -> int:
    """CS231n's module on a 28x28x256 input: 128 1x1, 192 3x3 and 96 5x5 filters (+ pool proj)."""
    def conv(C: int, M: int, R: int) -> int:
        return formulas.conv2d_macs(N=1, C=C, M=M, P=28, Q=28, R=R, S=R)

    if not reduce:
        return conv(256, 128, 1) + conv(256, 192, 3) + conv(256, 96, 5)
    return (conv(256, 128, 1) + conv(256, 64, 1) + conv(64, 192, 3) + conv(256, 64, 1)
            + conv(64, 96, 5) + conv(256, 64, 1))


def _module_macs(module: str) -> int:
    return sum(c.macs for c in _report("googlenet").conv_layers if f".{module}." in f".{c.name}")


def _note(model: str, metric: str, source: str = "howard2017mobilenets") -> str:
    """The note of a model's registered published figure (why it is not reproduced)."""
    return next(p.note for p in model_info(model).published if (p.source, p.metric) == (source, metric))


def _mobilenet_specs() -> list[Spec]:
    """The MobileNet tables the lecture shows (the paper's Tables 4, 8 and 9)."""
    r = _report
    small = {"width_mult": 0.5}
    rows = [
        # slide, model row, accuracy, (stated, compute, verdict, why) for mult-adds and parameters
        ("Reduction in MACs", "Conv MobileNet", "71.7%",
         ("4866", lambda: _m(r("conv_mobilenet_v1").conv_macs), "reproduced",
          lambda v: f"the CONV MACs only; with the FC layer it is {_m(r('conv_mobilenet_v1').macs)}M, "
                    "although the paper's 569 for MobileNet includes its FC layer"),
         ("29.3", lambda: _m(r("conv_mobilenet_v1").weights), "reproduced",
          "the paper's 'parameters' are filter and FC weights (no BN, no biases)")),
        ("Reduction in MACs", "MobileNet", "70.6%",
         ("569", lambda: _m(r("mobilenet_v1").macs), "reproduced", "CONV and FC MACs at 224x224"),
         ("4.2", lambda: _m(r("mobilenet_v1").weights), "reproduced", "filter and FC weights")),
        ("Comparison with other CNN Models", "1.0 MobileNet-224", "70.6%",
         ("569", lambda: _m(r("mobilenet_v1").macs), "reproduced", "CONV and FC MACs at 224x224"),
         ("4.2", lambda: _m(r("mobilenet_v1").weights), "reproduced", "filter and FC weights")),
        ("Comparison with other CNN Models", "GoogleNet", "69.8%",
         ("1550", lambda: _m(r("googlenet").macs), "differs", _note("googlenet", "macs")),
         ("6.8", lambda: _m(r("googlenet").params), "differs", _note("googlenet", "params"))),
        ("Comparison with other CNN Models", "VGG 16", "71.5%",
         ("15300", lambda: _m(r("vgg16").conv_macs), "reproduced",
          lambda v: f"the CONV MACs only, to the three significant figures printed; with the FC "
                    f"layers {human(r('vgg16').macs)}"),
         ("138", lambda: _m(r("vgg16").params), "reproduced", "all parameters, biases included")),
        ("Comparison with other CNN Models", "0.50 MobileNet-160", "60.2%",
         ("76", lambda: _m(r("mobilenet_v1", (3, 160, 160), **small).macs), "differs",
          "the paper drops the fraction of 76.5M (TF-Slim's README of the released checkpoint "
          "says 77M)"),
         ("1.32", lambda: _m(r("mobilenet_v1", (3, 160, 160), **small).weights), "reproduced",
          "filter and FC weights at width 0.5")),
        ("Comparison with other CNN Models", "Squeezenet", "57.5%",
         ("1700", lambda: _m(r("squeezenet1_0", conv10_padding=1).macs), "differs",
          lambda v: f"FLOPs, not MACs: the SqueezeNet authors' '1.72 GFLOPS' is 2 x {v:.1f}M MACs of "
                    "their Caffe file (conv10 padded), put in a mult-adds column; as MACs it would "
                    f"read about {v:.0f} ({_m(r('squeezenet1_0').macs):.0f} without the padding)"),
         ("1.25", lambda: _m(r("squeezenet1_0").params), "reproduced", "all parameters, biases included")),
        ("Comparison with other CNN Models", "AlexNet", "57.2%",
         ("720", lambda: _m(r("alexnet").macs), "reproduced",
          "CONV and FC MACs, to the two significant figures printed"),
         ("60", lambda: _m(r("alexnet").params), "reproduced",
          "all parameters, to the one significant figure printed (the AlexNet paper's own "
          "'60 million parameters'); 61.0M to three")),
    ]
    specs = []
    for slide, model, accuracy, macs, params in rows:
        specs.append(Spec(slide, f"{model}: ImageNet Accuracy", accuracy, None, "not computable", _ACCURACY))
        specs.append(Spec(slide, f"{model}: Million Mult-Adds", macs[0], macs[1], macs[2], macs[3]))
        specs.append(Spec(slide, f"{model}: Million Parameters", params[0], params[1], params[2], params[3]))
    return specs


# -- the ledger ---------------------------------------------------------------------------------

def _evaluate(spec: Spec) -> Claim:
    computed = spec.compute() if spec.compute is not None else None
    if isinstance(computed, float):
        computed = round(computed, 4)
    why = spec.why(computed) if callable(spec.why) else spec.why
    return Claim(spec.slide, spec.quote, spec.stated, computed, judge(spec.stated, computed, spec.check),
                 why, spec.verdict)


@cache
def _claims() -> tuple[Claim, ...]:
    return tuple(_evaluate(s) for s in _specs())


def claims() -> list[Claim]:
    """Every claim of the lecture with its computed value and verdict, in the lecture's order."""
    return list(_claims())


def verdict_counts(items: list[Claim] | None = None) -> dict[str, int]:
    """How many claims got each verdict, in the order of :data:`VERDICTS`."""
    n = Counter(c.verdict for c in (items if items is not None else claims()))
    return {v: n[v] for v in VERDICTS}


def _shown(value: Value, stated: str = "") -> str:
    """A computed value as the ledger prints it, in the style of the stated figure (a year,
    printed "1998", keeps no thousands separator)."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        if abs(value) < 10_000 and "," not in stated:
            return str(value)
        return f"{value:,}" if abs(value) < 100_000 else human(value)
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def claims_json() -> str:
    """The ledger as a JSON list, one object per claim."""
    return json.dumps([c.record() for c in claims()], indent=1, ensure_ascii=False)


def claims_table() -> str:
    """The ledger as text: one line per claim, grouped by slide, reasons for what differs."""
    items = claims()
    rows = [(_cut(c.slide, 32), _cut(c.quote, 48), _cut(c.stated, 16), _cut(_shown(c.computed, c.stated), 24),
             c.verdict) for c in items]
    reasons = [f"- {c.slide} / {c.quote}: {c.why}" for c in items if c.verdict == "differs"]
    counts = ", ".join(f"{n} {v}" for v, n in verdict_counts(items).items())
    return (render(("slide", "claim", "stated", "computed", "verdict"), rows, align="lllrl")
            + f"\n\n{len(items)} claims: {counts}\n\nWhy each 'differs':\n" + "\n".join(reasons))


_MARK = {"reproduced": "✓ reproduced", "differs": "≠ differs", "not computable": "– not computable"}


def claims_html(items: list[Claim] | None = None) -> str:
    """The ledger as an HTML table for the book: a heading row per slide, the reason under each
    claim, four short columns so that it fits a phone's width."""
    from cnnlib.htmltable import Group, Note, html_table

    items = items if items is not None else claims()
    rows: list[Any] = []
    slide = None
    for c in items:
        if c.slide != slide:
            slide = c.slide
            rows.append(Group(slide))
        rows.append((c.quote, c.stated, _shown(c.computed, c.stated) or "–", _MARK[c.verdict]))
        rows.append(Note(c.why))
    return html_table(("claim", "slide says", "cnnlib", "verdict"), rows, widths=(40, 19, 19, 22))
