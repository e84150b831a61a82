"""SqueezeNet (Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer, arXiv 2016 / ICLR 2017 submission).

"AlexNet-level accuracy with 50x fewer parameters": SqueezeNet is the lecture's example of
reducing the channels C with 1x1 filters. Its building block, the Fire module, first
*squeezes* the input to a few channels with 1x1 filters (s1x1 of them), then *expands* with a
mix of 1x1 (e1x1) and 3x3 (e3x3) filters whose outputs are concatenated. With s1x1 < e1x1 + e3x3,
the 3x3 filters see only s1x1 input channels, which is where the weights are saved (the paper's
strategies 1 and 2). There is no FC layer: ``conv10`` maps the 512 channels to 1000 class maps
with 1x1 filters and a global average pool reads out one score per class (the lecture's
"global pooling"). Pooling comes late (strategy 3), so most layers see large feature maps, which
is why SqueezeNet saves weights much more than it saves MACs.

``squeezenet1_0`` transcribes Table 1 of the paper; ``squeezenet1_1`` is "SqueezeNet v1.1" from
the authors' repository (DeepScale/SqueezeNet): conv1 has 64 3x3 filters instead of 96 7x7 ones
and the max pools move earlier (after conv1, fire3, fire5 instead of conv1, fire4, fire8): the
authors announce "2.4x less computation" at the same accuracy; we count 2.2x (``_V11_NOTE``).
Both count at 227 x 227, the crop size of the authors' Caffe files: Table 1's 111 x 111 conv1
output needs it (a 224 input gives 109 x 109).
As in Caffe, every conv has a bias and there is no batch norm; the pools round up (ceil mode).

One quirk of the authors' v1.0 Caffe file is kept as an option: its conv10 has ``pad: 1`` on a
1x1 filter, which turns the 13 x 13 class maps into 15 x 15 ones (the new border is bias only)
and adds 28.7M MACs, 3.4% of the network. The authors' "1.72 GFLOPS" counts that file
(``squeezenet1_0(conv10_padding=1)``); Table 1 and torchvision have no padding, the default here.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from cnnlib.published import Published
from cnnlib.registry import register_model

# Table 1 of the paper (v1.0) and the v1.1 prototxt of the authors' repository.
# conv1 is (M filters, R x R, stride 2). The trunk is a list of Fire modules fire2 ... fire9,
# each (s1x1, e1x1, e3x3): squeeze filters, expand 1x1 filters, expand 3x3 filters;
# "M" is a 3x3 max pool with stride 2. A Fire module outputs e1x1 + e3x3 channels.
FireRow = tuple[int, int, int]
CONFIGS: dict[str, tuple[tuple[int, int], list[FireRow | str]]] = {
    "1_0": ((96, 7), ["M",
                      (16, 64, 64), (16, 64, 64), (32, 128, 128), "M",                   # fire2-4
                      (32, 128, 128), (48, 192, 192), (48, 192, 192), (64, 256, 256), "M",  # fire5-8
                      (64, 256, 256)]),                                                   # fire9
    "1_1": ((64, 3), ["M",
                      (16, 64, 64), (16, 64, 64), "M",                                    # fire2-3
                      (32, 128, 128), (32, 128, 128), "M",                                # fire4-5
                      (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]),   # fire6-9
}


class Fire(nn.Module):
    """Squeeze with s1x1 1x1 filters, then expand with e1x1 1x1 and e3x3 3x3 filters, concatenated.

    Weights (with biases): ``C*s1x1 + s1x1 + s1x1*e1x1 + e1x1 + 9*s1x1*e3x3 + e3x3``. For fire2
    of Table 1 (C = 96, s1x1 = 16, e1x1 = e3x3 = 64): 1552 + 1088 + 9280 = 11,920.
    """

    def __init__(self, C: int, s1x1: int, e1x1: int, e3x3: int):
        super().__init__()
        self.squeeze = nn.Conv2d(C, s1x1, kernel_size=1)
        self.squeeze_act = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(s1x1, e1x1, kernel_size=1)
        self.expand1x1_act = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(s1x1, e3x3, kernel_size=3, padding=1)
        self.expand3x3_act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_act(self.squeeze(x))              # (N, s1x1, H, W)
        return torch.cat([self.expand1x1_act(self.expand1x1(s)),
                          self.expand3x3_act(self.expand3x3(s))], 1)  # (N, e1x1 + e3x3, H, W)


class SqueezeNet(nn.Module):
    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5,
                 conv10_padding: int = 0):
        super().__init__()
        if version not in CONFIGS:
            raise ValueError(f"version must be one of {sorted(CONFIGS)}, got {version!r}")
        (M, R), rows = CONFIGS[version]
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv1=nn.Conv2d(3, M, kernel_size=R, stride=2), relu1=nn.ReLU(inplace=True))
        C, index = M, 1  # layers are numbered as in Table 1: conv1, fire2 ... fire9, conv10
        for row in rows:
            if row == "M":
                layers[f"maxpool{index}"] = nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
                continue
            assert isinstance(row, tuple)
            index += 1
            s1x1, e1x1, e3x3 = row
            layers[f"fire{index}"] = Fire(C, s1x1, e1x1, e3x3)
            C = e1x1 + e3x3
        self.features = nn.Sequential(layers)
        # No FC layer: a 1x1 conv makes one 13x13 map per class, global pooling averages each.
        self.classifier = nn.Sequential(OrderedDict(
            dropout=nn.Dropout(dropout),
            conv10=nn.Conv2d(C, num_classes, kernel_size=1, padding=conv10_padding),
            relu10=nn.ReLU(inplace=True),
            avgpool10=nn.AdaptiveAvgPool2d(1),
        ))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                    # (N, 512, 13, 13) at 227x227 for v1.0
        x = self.classifier(x)                  # (N, 1000, 1, 1)
        return torch.flatten(x, 1)              # (N, 1000)


_TV = "torchvision model documentation"
_TV_224 = "torchvision counts at 224 x 224 (its crop size); the authors' Caffe files use 227"
_README = "DeepScale/SqueezeNet v1.1 README"
_CAFFE_V10 = ("the authors' v1.0 Caffe file pads conv10 (pad 1 on a 1x1 filter): 15x15 class maps "
              "instead of 13x13, 861.3M MACs = 1.72G FLOPs at 227 x 227")
_MOBILENET_NOTE = (
    "MobileNet's Table 9 puts the SqueezeNet authors' '1.72 GFLOPS/image' in its mult-adds column: "
    "it is a FLOP count (a multiply and an add are two operations) of the padded-conv10 Caffe file, "
    "2 x 861.3M MACs = 1.72G, rounded to 1700M. As MACs it would read ~860M (833M unpadded)."
)
_V11_NOTE = (
    "The README's 0.72 GFLOPS is 7.2% below 2 x 387.7M MACs at the prototxt's 227 x 227 (at 224 it "
    "is 0.698G). No single convention gives both 1.72 and 0.72: by our counts v1.1 needs 2.22x "
    "fewer MACs than the Caffe v1.0, as the authors first wrote when they released v1.1 ('2.2x "
    "less computation per image', in a discussion of GPU memory on the SqueezeNet repository, "
    "April 2016), not the README's 2.4x."
)


@register_model(paper="iandola2016squeezenet", table="Table 1", input_size=(3, 227, 227),
                published=[
                    Published("params", "1,248,424", "iandola2016squeezenet", "Table 1",
                              note="Table 1's '# parameter before pruning' counts the biases"),
                    Published("params", "1,248,424", "torchvision", _TV),
                    Published("macs", "0.819G", "torchvision", _TV, input_size=(3, 224, 224),
                              note=_TV_224),
                    Published("flops", "1.72G", "iandola2016squeezenet", _README,
                              kwargs={"conv10_padding": 1}, note=_CAFFE_V10),
                    Published("macs", "833M", "zhang2018shufflenet", "Table 6 (ShuffleNet paper)"),
                    Published("params", "1.25M", "howard2017mobilenets", "Table 9"),
                    Published("flops", "1700M", "howard2017mobilenets", "Table 9",
                              kwargs={"conv10_padding": 1}, note=_MOBILENET_NOTE, rel_tol=0.014),
                ])
def squeezenet1_0(*, num_classes: int = 1000, conv10_padding: int = 0) -> SqueezeNet:
    """SqueezeNet 1.0: conv1 (96 7x7 filters), eight Fire modules, conv10 and global pooling."""
    return SqueezeNet("1_0", num_classes, conv10_padding=conv10_padding)


@register_model(paper="iandola2016squeezenet",
                table="DeepScale/SqueezeNet SqueezeNet_v1.1/deploy.prototxt", input_size=(3, 227, 227),
                published=[
                    Published("params", "1,235,496", "torchvision", _TV),
                    Published("macs", "0.349G", "torchvision", _TV, input_size=(3, 224, 224),
                              note=_TV_224),
                    Published("flops", "0.72G", "iandola2016squeezenet", _README,
                              note=_V11_NOTE, rel_tol=0.08),
                ])
def squeezenet1_1(*, num_classes: int = 1000) -> SqueezeNet:
    """SqueezeNet 1.1: conv1 with 64 3x3 filters and earlier pooling, 2.2x fewer MACs than 1.0."""
    return SqueezeNet("1_1", num_classes)
