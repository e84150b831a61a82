"""VGG-16 and VGG-19 (Simonyan & Zisserman, ICLR 2015): depth from stacks of 3x3 filters.

Two stacked 3x3 filters see a 5x5 window with 18 weights per channel pair instead of 25, and
put a non-linearity between them; three see 7x7 with 27 instead of 49. VGG is built from
nothing else: 3x3 convolutions (stride 1, padding 1), 2x2 max pooling, three FC layers.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib.published import Published
from cnnlib.registry import register_model

# Table 1 of the paper: columns D (VGG-16) and E (VGG-19). A number is a 3x3 conv with that
# many filters, "M" a 2x2 max pool with stride 2.
CONFIGS: dict[str, list[int | str]] = {
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, config: list[int | str], num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        C = 3
        for v in config:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                assert isinstance(v, int)
                layers += [nn.Conv2d(C, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                C = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(C * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)       # (N, 512, 7, 7) at 224x224
        x = torch.flatten(x, 1)    # (N, 25088)
        return self.classifier(x)


_LECTURE = "slides 'VGG-16' and 'Summary of Popular CNNs'"
_TV = "torchvision model documentation"


@register_model(paper="simonyan2015vgg", table="Table 1, column D", published=[
    Published("conv_weights", "14.7M", "lecture", _LECTURE),
    Published("conv_macs", "15.3G", "lecture", _LECTURE),
    Published("fc_weights", "124M", "lecture", _LECTURE),
    Published("fc_macs", "124M", "lecture", _LECTURE),
    Published("weights", "138M", "lecture", _LECTURE),
    Published("macs", "15.5G", "lecture", _LECTURE),
    Published("params", "138M", "simonyan2015vgg", "Table 2",
              rel_tol=0.003),
    Published("params", "138,357,544", "torchvision", _TV),
    Published("macs", "15300M", "howard2017mobilenets", "Table 8",
              note="MobileNet quotes the conv MACs only (15.35G)", rel_tol=0.012),
])
def vgg16(*, num_classes: int = 1000) -> VGG:
    """VGG-16: 13 conv layers of 3x3 filters and 3 FC layers."""
    return VGG(CONFIGS["D"], num_classes)


@register_model(paper="simonyan2015vgg", table="Table 1, column E", published=[
    Published("params", "143,667,240", "torchvision", _TV),
    Published("macs", "19.63G", "torchvision", _TV, note="torchvision's 'GFLOPS' are MACs"),
])
def vgg19(*, num_classes: int = 1000) -> VGG:
    """VGG-19: 16 conv layers of 3x3 filters and 3 FC layers."""
    return VGG(CONFIGS["E"], num_classes)
