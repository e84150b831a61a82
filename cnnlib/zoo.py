"""The model zoo as a table: one row per registered model, counted at the paper's input size.

Rows come in the lecture's order (:data:`LECTURE_ORDER`): the high-accuracy models as the
ILSVRC years brought them, then the efficient ones by the idea the lecture introduces them
with, then the searched ones. A model registered later and not named there comes last.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlib.counting import count_costs
from cnnlib.registry import list_models, model_info
from cnnlib.text import human, render


@dataclass(frozen=True)
class ZooRow:
    name: str
    input_size: tuple[int, int, int]
    params: int
    weights: int
    macs: int
    conv_layers: int
    fc_layers: int
    paper: str
    table: str
    summary: str
    se_fc_layers: int = 0  # FC layers inside squeeze-and-excitation gates (part of fc_layers)

    @property
    def fc_label(self) -> str:
        """``"1 + 32 SE"``: the classifier's FC layers, then those inside SE gates."""
        se = self.se_fc_layers
        return f"{self.fc_layers - se} + {se} SE" if se else str(self.fc_layers)


#: Registered models in the order the lecture presents them (slides, then its reference list):
#: LeNet, AlexNet, VGG, GoogLeNet, ResNet, DenseNet, Wide ResNet, SENet; Inception v3 (stacked
#: filters), SqueezeNet (1x1), MobileNet (depth-wise) and its successors, Xception, ResNeXt,
#: ShuffleNet; NASNet and EfficientNet (architecture search).
LECTURE_ORDER: tuple[str, ...] = (
    "lenet5", "alexnet", "vgg16", "vgg19", "googlenet",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "densenet121", "wide_resnet50_2", "se_resnet50",
    "inception_v3", "squeezenet1_0", "squeezenet1_1",
    "conv_mobilenet_v1", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "xception", "resnext50_32x4d",
    "shufflenet_v1", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
    "nasnet_a_mobile", *(f"efficientnet_b{i}" for i in range(8)),
)


def lecture_order() -> list[str]:
    """Every registered model, in :data:`LECTURE_ORDER`; models it does not name come last."""
    known = list_models()
    return [n for n in LECTURE_ORDER if n in known] + [n for n in known if n not in LECTURE_ORDER]


def zoo_rows() -> list[ZooRow]:
    """Count every registered model at its default input (milliseconds each, on ``meta``)."""
    rows = []
    for name in lecture_order():
        info = model_info(name)
        r = count_costs(name)
        # an SE gate's two 1x1 convs act on a 1x1 map, so they count as FC layers; the model
        # files name every gate "se"
        se = sum(1 for f in r.fc_layers if ".se." in f".{f.name}")
        rows.append(ZooRow(name, info.input_size, r.params, r.weights, r.macs,
                           len(r.conv_layers), len(r.fc_layers), info.paper, info.table, info.summary,
                           se))
    return rows


def zoo_table(markdown: bool = False, cite: bool = False) -> str:
    """The zoo as text, or as a Markdown table (``cite=True`` writes MyST ``{cite}`` roles).

    The Markdown table is the book's: five short columns (the input's side in pixels goes with
    the model's name), so that it fits a phone's width; the text table spells the input out.
    """
    rows = zoo_rows()
    if not markdown:
        header = ("model", "input", "params", "weights", "MACs", "CONV", "FC", "paper")
        cells = [(r.name, "x".join(map(str, r.input_size)), human(r.params), human(r.weights),
                  human(r.macs), r.conv_layers, r.fc_label, r.paper) for r in rows]
        return render(header, cells, align="llrrrrrl")
    columns = ("model (input)", "weights", "params", "MACs", "CONV / FC")
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(["---"] + ["--:"] * 4) + "|"]
    for r in rows:
        C, H, W = r.input_size
        size = (f"{H} px" if H == W else f"{H}x{W} px") + (", grey" if C == 1 else "")
        paper = f" {{cite:p}}`{r.paper}`" if cite else f" ({r.paper})"
        line = (f"`{r.name}` ({size}){paper}", human(r.weights), human(r.params), human(r.macs),
                f"{r.conv_layers} / {r.fc_label}")
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines)
