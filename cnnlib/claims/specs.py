"""The claims of the lecture, as data: one :class:`~cnnlib.claims.judge.Spec` per claim.

Each entry transcribes one claim as the lecture prints it (the slide's title, the claim's
words, the figure), names the function of :mod:`cnnlib.claims.compute` that computes the same
quantity, the verdict its author expects, and why: the convention that reproduces the figure
or the cause of the difference. :func:`cnnlib.claims.judge.judge` decides the verdict; a test
fails when it contradicts the expected one. To add a claim, add an entry here.

The "Summary of Popular CNNs" cells are not transcribed again here: they come from
:func:`cnnlib.lecture.summary_table`, which counts each one with the convention that
reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from torch import nn

from cnnlib.claims.compute import (
    TOP5_MEASURED,
    alexnet_input,
    bottleneck_shapes,
    conv_layer,
    cost_report,
    efficientnet_scaling,
    grouping_ratio,
    imagenet_classes,
    inception_macs,
    millions,
    module_macs,
    nas_computed,
    nasnet_ops,
    norm_layers,
    paper_year,
    plain_gradient_ratio,
    published_note,
    ratio,
    separable_ratios_hold,
    stack_window,
    top5_networks,
    weight_layers,
)
from cnnlib.claims.judge import Spec, Value
from cnnlib.costs import formulas
from cnnlib.costs.report import LayerCost
from cnnlib.lecture import MODELS, NOT_COUNTED, lecture_figure, summary_table
from cnnlib.text import human

__all__ = ["specs"]


_CONTEST = ("a result of the ImageNet challenge ({}), not a property of the layers; the "
            "accuracies behind it are in the summary slide's top-5 row")
_MNIST = "MNIST"
_IMAGENET = "ImageNet"
_DATA = "a property of the data set, not of a model: cnnlib ships no copy of {}"
_ACCURACY = ("an accuracy measured by training on ImageNet: layer shapes do not give it "
             "(the book's live experiments train small models on offline digits instead)")
_TRUNCATED = "the slide truncates: {:,} weights ({:,} with biases) round to 35k, not 34k"



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
        specs.append(Spec(slide, f"{label} ({year})", year, partial(paper_year, model), verdict,
                          "the year of the paper cnnlib cites for it" if verdict == "reproduced"
                          else partial(contest.format, year)))
    specs.insert(2, Spec(slide, "OverFeat (2013)", "2013", None, "not computable",
                         "cnnlib has no OverFeat model (the lecture names it only here)"))
    return specs


def _alexnet_conv(i: int, letters: str) -> Value:
    """One entry of the configuration table of AlexNet's CONV layers: conv i+1's ``letters``."""
    c = conv_layer("alexnet", i)
    stride = c.stride if not isinstance(c.stride, tuple) else "x".join(map(str, c.stride))
    return {"RxS": f"{c.R}x{c.S}", "M": c.M, "C/G": c.channels_per_filter, "stride": stride}[letters]


def _alexnet_specs() -> list[Spec]:
    """The AlexNet slides: totals, the layer configuration table and the bar labels."""
    specs = [
        Spec("AlexNet", "ILSCVR12 Winner", "12", None, "not computable", _CONTEST.format("2012")),
        Spec("AlexNet", "CONV Layers: 5", "5", lambda: len(cost_report("alexnet").conv_layers), "reproduced",
             "conv1 to conv5; layers 2, 4 and 5 are grouped (G = 2, one group per GPU)"),
        Spec("AlexNet", "Fully Connected Layers: 3", "3", lambda: len(cost_report("alexnet").fc_layers),
             "reproduced", "fc6, fc7 and fc8"),
        Spec("AlexNet", "Weights: 61M", "61M", lambda: cost_report("alexnet").weights, "reproduced",
             "filter and FC weights of the two-tower network at 227x227 (biases excluded)"),
        Spec("AlexNet", "MACs: 724M", "724M", lambda: cost_report("alexnet").macs, "reproduced",
             "CONV and FC multiply-accumulates at 227x227, the size that gives conv1 its 55x55 output"),
    ]
    slide = "Large Sizes with Varying Shapes"
    for i in range(5):
        n = i + 1
        specs += [
            Spec(slide, f"Layer {n}: Filter Size (RxS)", ("11x11", "5x5", "3x3", "3x3", "3x3")[i],
                 partial(_alexnet_conv, i, "RxS"), "reproduced", f"R x S of conv{n}"),
            Spec(slide, f"Layer {n}: # Filters (M)", ("96", "256", "384", "384", "256")[i],
                 partial(_alexnet_conv, i, "M"), "reproduced", f"M of conv{n}, both towers together"),
            Spec(slide, f"Layer {n}: # Channels (C)", ("3", "48", "256", "192", "192")[i],
                 partial(_alexnet_conv, i, "C/G"), "reproduced",
                 "channels one filter reads: C/G, half of the input in a grouped layer (G = 2)"
                 if i in (1, 3, 4) else "channels one filter reads: all of them (G = 1)"),
            Spec(slide, f"Layer {n}: Stride", ("4", "1", "1", "1", "1")[i],
                 partial(_alexnet_conv, i, "stride"), "reproduced", f"stride of conv{n}"),
        ]
    def bias(i: int) -> int:  # weights and biases of conv i+1
        return conv_layer("alexnet", i).weights + conv_layer("alexnet", i).biases

    specs += [
        Spec(slide, "34k Params (layer 1)", "34k", lambda: conv_layer("alexnet", 0).weights, "differs",
             lambda v: _TRUNCATED.format(v, bias(0))),
        Spec(slide, "105M MACs (layer 1)", "105M", lambda: conv_layer("alexnet", 0).macs, "reproduced",
             "11 x 11 x 3 weights per output value, 96 x 55 x 55 outputs"),
        Spec(slide, "307k Params (layer 2)", "307k", lambda: conv_layer("alexnet", 1).weights, "reproduced",
             "5 x 5 x 48 x 256 filter weights (G = 2)"),
        Spec(slide, "224M MACs (layer 2)", "224M", lambda: conv_layer("alexnet", 1).macs, "reproduced",
             "weights x 27 x 27 output positions"),
        Spec(slide, "885k Params (layer 3)", "885k", lambda: conv_layer("alexnet", 2).weights, "reproduced",
             "3 x 3 x 256 x 384 filter weights"),
        Spec(slide, "150M MACs (layer 3)", "150M", lambda: conv_layer("alexnet", 2).macs, "reproduced",
             "weights x 13 x 13 output positions"),
    ]
    slide = "Reduce Cost of FC Layers"
    names = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")

    def layer(i: int) -> LayerCost:
        r = cost_report("alexnet")
        return (r.conv_layers + r.fc_layers)[i]

    for i, (w, m) in enumerate(zip(("34k", "307k", "885k", "664k", "442k", "38M", "16.8M", "4.1M"),
                                   ("105M", "224M", "150M", "112M", "75M", "38M", "17M", "4M"),
                                   strict=True)):
        specs.append(Spec(slide, f"# of weights, {names[i]}: {w}", w, partial(lambda i: layer(i).weights, i),
                          "differs" if i == 0 else "reproduced",
                          (lambda v: _TRUNCATED.format(v, bias(0))) if i == 0
                          else f"filter or FC weights of {names[i]}"))
        specs.append(Spec(slide, f"# of MACs, {names[i]}: {m}", m, partial(lambda i: layer(i).macs, i),
                          "reproduced", f"MACs of {names[i]}" + (": one per weight" if i >= 5 else "")))
    specs += [
        Spec(slide, "224x224 (the input drawn in the AlexNet figure)", "224x224", alexnet_input,
             "differs",
             lambda v: f"the figure's own layer sizes need {v}: conv1's 11x11 filters at stride 4, "
                       f"without padding, give its 55x55 output from 227 pixels, (227 - 11) / 4 + 1 = 55, "
                       f"and {(224 - 11) / 4 + 1:g} from 224 (the AlexNet chapter follows the shapes)"),
        Spec(slide, "38M of 61M for AlexNet (first FC layer)", "38M", lambda: layer(5).weights,
             "reproduced", lambda v: f"fc6 reads 256 x 6 x 6 = 9216 values into 4096 units: "
                                     f"{v / cost_report('alexnet').weights:.0%} of the weights"),
        Spec(slide, "38M of 61M for AlexNet (all layers)", "61M", lambda: cost_report("alexnet").weights,
             "reproduced", lambda v: f"while the CONV layers do "
                                     f"{cost_report('alexnet').conv_macs / cost_report('alexnet').macs:.0%} "
                                     "of the MACs"),
    ]
    return specs




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
            compute, reason = _SUMMARY_RECOUNTED.get((row, col), (partial(_given, cell.value), why))
            specs.append(Spec("Summary of Popular CNNs", quote, cell.lecture, compute,
                              "differs" if (row, col) in _SUMMARY_DIFFERS else "reproduced", reason,
                              check=partial(_is_depth, cell.lecture) if depth_cell else None))
    return specs


_SUMMARY_DIFFERS = {  # the cells of the summary slide that no convention reproduces
    ("Input Size", "LeNet-5"), ("# of CONV Layers", "VGG-16"), ("# of Channels", "GoogLeNet (v1)"),
    ("# of Filters", "GoogLeNet (v1)"), ("CONV # of MACs", "LeNet-5"),
}


def _nas_why(_: object) -> str:
    n = nasnet_ops().count("7x7 separable convolution")
    return (f"the paper's search space has 13 operations; the slide leaves out the 7x7 "
            f"depth-wise separable convolution, which NASNet-A's reduction cell uses {n} times")


def _given(value: Value) -> Value:
    """A summary cell's count, computed by :func:`cnnlib.lecture.summary_table`."""
    return value


def _is_depth(stated: str, computed: object) -> bool:
    """A depth cell ("21 (depth)"): the computed depth, printed the slide's way."""
    return f"{computed} (depth)" == stated


def _lenet_conv_macs_why(v: int) -> str:
    r = cost_report("lenet5")
    return (f"C1 and C3 compute {v:,} MACs with LeCun's sparse C3 "
            f"({cost_report('lenet5', c3='full').conv_macs:,} with a full one); 283k is the paper's "
            f"{r.connections:,} connections minus the FC MACs ({r.fc_macs:,}), "
            f"{r.connections - r.fc_macs:,}: arithmetic on the paper's totals, not a count of "
            "its CONV layers")


#: Summary cells whose printed figure comes out of arithmetic on other totals rather than a
#: count of the layers it names: the ledger judges the count, (row, column) -> (compute, why).
_SUMMARY_RECOUNTED: dict[tuple[str, str], tuple[Callable[[], Value], str | Callable[[Any], str]]] = {
    ("CONV # of MACs", "LeNet-5"): (lambda: cost_report("lenet5").conv_macs, _lenet_conv_macs_why),
}




def specs() -> list[Spec]:
    """Every claim of the lecture, in the lecture's order."""
    r = cost_report
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
        Spec(_IMAGENET, "1000 Classes", "1000", imagenet_classes, "reproduced",
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
        Spec("VGG-16", "Also, 19-layer version", "19", lambda: weight_layers("vgg19"), "reproduced",
             "VGG-19: 16 CONV and 3 FC layers on its one path"),
        Spec("VGGNet: Stacked Filters", "5x5 filter (25 weights)", "25",
             lambda: formulas.conv2d_weights(C=1, M=1, R=5, S=5), "reproduced",
             "per input channel and filter; with C channels and M filters both sides scale by C x M"),
        Spec("VGGNet: Stacked Filters", "two 3x3 filters (18 weights)", "18",
             lambda: 2 * formulas.conv2d_weights(C=1, M=1, R=3, S=3), "reproduced",
             "two 3x3 filters of 9 weights each, per input channel and filter"),
        Spec("VGGNet: Stacked Filters", "two 3x3 filters ... cover the same receptive field", "5x5",
             lambda: stack_window([(3, 3), (3, 3)]), "reproduced",
             lambda _: f"receptive field of two stacked stride-1 3x3 filters: 2 x (3 - 1) + 1 = "
                       f"{formulas.receptive_field_of_stack(3, 2)}"),
        Spec("1x1 Bottleneck", "Filter dimensions for bottleneck: R=1, S=1, C > M", "R=1, S=1, C > M",
             lambda: bottleneck_shapes(), "reproduced",
             "checked on every 1x1 layer GoogLeNet puts before a 3x3 or 5x5 filter"),
        Spec("GoogLeNet:1x1 Bottleneck", "Number of multiplications reduced from 854M", "854M",
             lambda: inception_macs(reduce=False), "reproduced",
             "CS231n's example: module 3b's 28x28x256 input into 128 1x1, 192 3x3 and 96 5x5 "
             "filters, with no bottleneck"),
        Spec("GoogLeNet:1x1 Bottleneck", "... to 358M", "358M", lambda: inception_macs(reduce=True),
             "differs",
             lambda v: f"with the 64-filter 1x1 bottlenecks the example lists, its terms add up to "
                       f"{human(v)}; 358M is what they give if the 3x3 filters read 128 channels "
                       f"(a slip in the example). GoogLeNet's real module 3b costs "
                       f"{human(module_macs('inception3b'))}"),
        Spec("GoogLeNet:1x1 Bottleneck", "Reduce weights such that entire CNN can be trained on one GPU",
             "one GPU", None, "not computable",
             "a statement about training hardware, which layer shapes do not give; the paper says "
             "otherwise: GoogLeNet was trained on CPUs with Google's DistBelief system, and its "
             "authors only estimate that a few high-end GPUs could train it within a week"),
        Spec("ResNet", "ILSVRC15 Winner (better than human level accuracy!)", "15", None, "not computable",
             _CONTEST.format("2015")),
        Spec("ResNet: Training", "Training and validation error increases with more layers; this is "
             "due to vanishing gradient", "vanishing gradient", plain_gradient_ratio, "differs",
             lambda v: f"in He et al.'s 56-layer plain network for CIFAR-10 (the deeper network of "
                       f"the slide's Figure 1: 3x3 CONV layers, each with batch normalization), "
                       f"the first CONV layer's weight gradient is {v:.3g} x the last one's at "
                       "initialisation: the gradient does not vanish. The paper checks the same "
                       "while training and blames a difficulty of optimisation instead",
             check=lambda v: v < 0.01),
        Spec("ResNet: Bottleneck", "Also makes network deeper (ResNet-34 -> ResNet-50)", "34",
             lambda: weight_layers("resnet34"), "reproduced",
             "CONV and FC layers on the longest path (the 1x1 projection shortcuts run beside it)"),
        Spec("ResNet: Bottleneck", "Also makes network deeper (ResNet-34 -> ResNet-50)", "50",
             lambda: weight_layers("resnet50"), "reproduced",
             "each two-layer block becomes a three-layer bottleneck: 3 x 16 + 1 CONV + 1 FC"),
        *_summary_specs(),
        Spec("Summary of Popular CNNs", "VGG-16: Goes Deeper (16+ layers)", "16+",
             lambda: min(weight_layers("vgg16"), weight_layers("vgg19")), "reproduced",
             "the shallower of VGG-16 and VGG-19 has 16 CONV and FC layers"),
        Spec("Summary of Popular CNNs", "ResNet: Goes Deeper (24+ layers)", "24+",
             lambda: min(weight_layers(f"resnet{n}") for n in (18, 34, 50, 101, 152)), "differs",
             "the paper's ResNets have 18, 34, 50, 101 and 152 layers: the shallowest has fewer "
             "than 24 and none has 24 (the lecture's ResNet-50 has 50); likely a slip"),
        Spec("Summary of Popular CNNs", "GoogLeNet: only one FC layer is needed", "one",
             lambda: len(r("googlenet").fc_layers), "reproduced",
             "global average pooling leaves one 1024 -> 1000 FC layer"),
        Spec("Summary of Popular CNNs", "GoogLeNet (v1): Batch Normalization", "Batch Normalization",
             lambda: norm_layers("googlenet", nn.modules.batchnorm._BatchNorm), "differs",
             lambda v: f"GoogLeNet as its 2014 paper builds it, and cnnlib with it, has {v} batch "
                       f"normalization layers and {norm_layers('googlenet', nn.LocalResponseNorm)} "
                       "local response normalization layers; batch normalization arrived with its "
                       "successor, BN-Inception (Ioffe and Szegedy, 2015)",
             check=lambda v: v > 0),
        Spec("Summary of Popular CNNs", "Top-5 error: 16.4, 7.4, 6.7, 5.3 (one row)", "comparable",
             top5_networks, "differs",
             lambda _: "; ".join(f"{col} {how}" for col, (_, how) in TOP5_MEASURED.items())
                       + ": the row sets ensembles beside single networks",
             check=lambda v: len(set(v.split(", "))) == 1),
        Spec("DenseNet", "Higher accuracy than ResNet", "higher accuracy", None, "not computable", _ACCURACY),
        Spec("DenseNet", "with fewer weights", "fewer weights",
             lambda: ratio(r("densenet121").weights, r("resnet50").weights), "reproduced",
             lambda v: f"DenseNet-121 has {v:.2f} x the weights of ResNet-50 "
                       f"({human(r('densenet121').weights)} vs {human(r('resnet50').weights)})",
             check=lambda v: v < 1),
        Spec("DenseNet", "and multiplications", "fewer multiplications",
             lambda: ratio(r("densenet121").macs, r("resnet50").macs), "reproduced",
             lambda v: f"DenseNet-121 needs {v:.2f} x the MACs of ResNet-50 "
                       f"({human(r('densenet121').macs)} vs {human(r('resnet50').macs)})",
             check=lambda v: v < 1),
        Spec("Increase width (# of filters)", "50-layer wide ResNet", "50",
             lambda: weight_layers("wide_resnet50_2"), "reproduced",
             "WRN-50-2: ResNet-50's layers with twice the filters in each bottleneck's 1x1 and 3x3"),
        Spec("Increase width (# of filters)", "152-layer original ResNet", "152",
             lambda: weight_layers("resnet152"), "reproduced",
             "CONV and FC layers on the longest path of ResNet-152"),
        Spec("Increase width (# of filters)", "50-layer wide ResNet outperforms 152-layer original ResNet",
             "outperforms", None, "not computable",
             lambda _: f"{_ACCURACY}. What cnnlib can say: WRN-50-2 costs "
                       f"{human(r('wide_resnet50_2').macs)} MACs and {human(r('wide_resnet50_2').weights)} "
                       f"weights, ResNet-152 {human(r('resnet152').macs)} and "
                       f"{human(r('resnet152').weights)}"),
        Spec("Example: Inception V3", "v1: 22 layers", "22", lambda: weight_layers("googlenet"),
             "reproduced", "21 CONV layers on GoogLeNet's longest path, then its FC layer"),
        Spec("Example: Inception V3", "v3: 40+ layers", "40+", lambda: weight_layers("inception_v3"),
             "reproduced",
             "CONV and FC layers on the longest path of cnnlib's Inception v3 (its paper calls the "
             "network 42 layers deep)"),
        Spec("Example: Inception V3", "~3.5% higher accuracy than v1", "~3.5%", None, "not computable",
             _ACCURACY),
        Spec("Example: Inception V3", "3x3 filter -> 3x1 and 1x3 filters", "3x3",
             lambda: stack_window([(3, 1), (1, 3)]), "reproduced",
             lambda _: f"a 3x1 then a 1x3 filter see a 3x3 window with "
                       f"{2 * formulas.conv2d_weights(C=1, M=1, R=3, S=1)} weights instead of "
                       f"{formulas.conv2d_weights(C=1, M=1, R=3, S=3)}"),
        Spec("Example: Inception V3", "5x5 filter -> 3x3 filters", "5x5",
             lambda: stack_window([(3, 3), (3, 3)]), "reproduced",
             "two stacked 3x3 filters see a 5x5 window (as on the VGG slide)"),
        Spec("Example: ResNeXt", "Used by ILSVRC 2017 Winner SENet", "2017", None, "not computable",
             _CONTEST.format("2017")),
        Spec("Reduce Channels (C): Grouped Convolutions",
             "Example for G=2: Each filter requires 2x fewer weights", "2x",
             lambda: grouping_ratio("weights"), "reproduced",
             "AlexNet's conv2 with one group (96 channels per filter) against two (48)"),
        Spec("Reduce Channels (C): Grouped Convolutions", "... and MACs (C -> C/2)", "2x",
             lambda: grouping_ratio("macs"), "reproduced", "the same layer's MACs"),
        Spec("AlexNet: Grouped Convolutions",
             "AlexNet uses grouped convolutions to train on two separate GPUs", "two",
             lambda: max(c.G or 1 for c in r("alexnet").conv_layers), "reproduced",
             "conv2, conv4 and conv5 have G = 2, one group per GPU"),
        Spec("Depth-wise Convolutions", "number of groups (G) equals number channels (C)", "G = C",
             lambda: "G = C" if all(c.G == c.C for c in r("mobilenet_v1").of_kind("dwconv")) else "G != C",
             "reproduced", "checked on MobileNet's 13 depth-wise layers"),
        Spec("Depth-wise Convolutions", "(i.e., one input channel per group)", "one",
             lambda: max(c.channels_per_filter for c in r("mobilenet_v1").of_kind("dwconv")), "reproduced",
             "C/G in every depth-wise layer of MobileNet"),
        Spec("Depth-wise Convolutions", "Typically, M=C", "M = C",
             lambda: "M = C" if all(c.M == c.C for c in r("mobilenet_v1").of_kind("dwconv")) else "M != C",
             "reproduced", "checked on MobileNet's 13 depth-wise layers"),
        Spec("Reduction in MACs", "HWCRSM / HWC(RS+M) = RSM / (RS+M)", "RSM/(RS+M)",
             separable_ratios_hold, "reproduced",
             "each of MobileNet's 13 separable layers against the full 3x3 layer of Conv MobileNet"),
        *_mobilenet_specs(),
        Spec("Example: Xception", "Similar performance on ImageNet; 4.3% better on larger dataset (JFT)",
             "4.3%", None, "not computable", _ACCURACY.replace("ImageNet", "JFT")),
        Spec("Example: Xception", "1.5x more operations required than Inception V3", "1.5x",
             lambda: ratio(r("xception").macs, r("inception_v3").macs), "reproduced",
             lambda v: f"{human(r('xception').macs)} MACs against {human(r('inception_v3').macs)}, both at "
                       f"299x299, with {human(r('xception').weights)} and "
                       f"{human(r('inception_v3').weights)} weights"),
        Spec("Example: ShuffleNet", "up to 4% increase in accuracy", "4%", None, "not computable", _ACCURACY),
        Spec("(1) Shrink the Search Space", "Common layer operations: Identity ... 7x7 max pooling",
             "12 operations", nas_computed, "differs", _nas_why),
        Spec("Example: NASNet", "Search Space: Build model from popular layers", "12 operations",
             nas_computed, "differs", _nas_why),
        Spec("EfficientNet", "Uniformly scaling all dimensions including depth, width, and resolution",
             "depth, width and resolution", efficientnet_scaling, "differs",
             "the released B1 to B7 use hand-set coefficients, not the compound formula: B1 scales "
             "depth and resolution only; B2 to B7 scale all three"),
        Spec("References", "Wide ResNet: Zagoruyko and Komodakis, \"Wide residual networks.\" BMVC 2017",
             "2017", lambda: paper_year("wide_resnet50_2"), "differs",
             lambda v: f"the paper appeared at BMVC {v}: the year of the paper cnnlib cites for "
                       "wide_resnet50_2 (zagoruyko2016wide in references.bib)"),
    ]
    return specs


#: One figure of a MobileNet table: (stated, compute, verdict, why[, significant figures kept]).
_Column = (tuple[str, Callable[[], Value], str, str | Callable[[Any], str]]
           | tuple[str, Callable[[], Value], str, str | Callable[[Any], str], int])


def _mobilenet_specs() -> list[Spec]:
    """The MobileNet tables the lecture shows (the paper's Tables 4, 8 and 9)."""
    r = cost_report
    small = {"width_mult": 0.5}
    rows: list[tuple[str, str, str, _Column, _Column]] = [
        # slide, model row, accuracy, then for mult-adds and parameters: (stated, compute, verdict,
        # why[, the significant figures the table kept, where it prints a whole number whose
        # trailing zeros are not significant: 15.3G as "15300" million])
        ("Reduction in MACs", "Conv MobileNet", "71.7%",
         ("4866", lambda: millions(r("conv_mobilenet_v1").conv_macs), "reproduced",
          lambda v: f"the CONV MACs only; with the FC layer it is {millions(r('conv_mobilenet_v1').macs)}M, "
                    "although the paper's 569 for MobileNet includes its FC layer"),
         ("29.3", lambda: millions(r("conv_mobilenet_v1").weights), "reproduced",
          "the paper's 'parameters' are filter and FC weights (no BN, no biases)")),
        ("Reduction in MACs", "MobileNet", "70.6%",
         ("569", lambda: millions(r("mobilenet_v1").macs), "reproduced", "CONV and FC MACs at 224x224"),
         ("4.2", lambda: millions(r("mobilenet_v1").weights), "reproduced", "filter and FC weights")),
        ("Comparison with other CNN Models", "1.0 MobileNet-224", "70.6%",
         ("569", lambda: millions(r("mobilenet_v1").macs), "reproduced", "CONV and FC MACs at 224x224"),
         ("4.2", lambda: millions(r("mobilenet_v1").weights), "reproduced", "filter and FC weights")),
        ("Comparison with other CNN Models", "GoogleNet", "69.8%",
         ("1550", lambda: millions(r("googlenet").macs), "differs", published_note("googlenet", "macs")),
         ("6.8", lambda: millions(r("googlenet").params), "differs", published_note("googlenet", "params"))),
        ("Comparison with other CNN Models", "VGG 16", "71.5%",
         ("15300", lambda: millions(r("vgg16").conv_macs), "reproduced",
          lambda v: f"the CONV MACs only, to the three significant figures printed; with the FC "
                    f"layers {human(r('vgg16').macs)}", 3),
         ("138", lambda: millions(r("vgg16").params), "reproduced", "all parameters, biases included")),
        ("Comparison with other CNN Models", "0.50 MobileNet-160", "60.2%",
         ("76", lambda: millions(r("mobilenet_v1", (3, 160, 160), **small).macs), "differs",
          "the paper drops the fraction of 76.5M (TF-Slim's README of the released checkpoint "
          "says 77M)"),
         ("1.32", lambda: millions(r("mobilenet_v1", (3, 160, 160), **small).weights), "reproduced",
          "filter and FC weights at width 0.5")),
        ("Comparison with other CNN Models", "Squeezenet", "57.5%",
         ("1700", lambda: millions(r("squeezenet1_0", conv10_padding=1).macs), "differs",
          lambda v: f"FLOPs, not MACs: the SqueezeNet authors' '1.72 GFLOPS' is 2 x {v:.1f}M MACs of "
                    "their Caffe file (conv10 padded), put in a mult-adds column; as MACs it would "
                    f"read about {v:.0f} ({millions(r('squeezenet1_0').macs):.0f} without the padding)"),
         ("1.25", lambda: millions(r("squeezenet1_0").params), "reproduced",
          "all parameters, biases included")),
        ("Comparison with other CNN Models", "AlexNet", "57.2%",
         ("720", lambda: millions(r("alexnet").macs), "reproduced",
          "CONV and FC MACs, to the two significant figures printed", 2),
         ("60", lambda: millions(r("alexnet").params), "reproduced",
          "all parameters, to the one significant figure printed (the AlexNet paper's own "
          "'60 million parameters'); 61.0M to three", 1)),
    ]
    specs = []
    for slide, model, accuracy, macs, params in rows:
        specs.append(Spec(slide, f"{model}: ImageNet Accuracy", accuracy, None, "not computable", _ACCURACY))
        for column, (stated, compute, verdict, why, *kept) in (("Million Mult-Adds", macs),
                                                                 ("Million Parameters", params)):
            specs.append(Spec(slide, f"{model}: {column}", stated, compute, verdict, why,
                              significant=kept[0] if kept else None))
    return specs
