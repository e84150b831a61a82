"""AlexNet (Krizhevsky, Sutskever & Hinton, NeurIPS 2012), the network that won ILSVRC 2012.

The 2012 network was split over two GPUs. Layers 2, 4 and 5 only see the half of the channels
that lives on their own GPU, which is a grouped convolution with G = 2; layer 3 and the FC
layers talk across both. This is the network the lecture counts (724M MACs, 61M weights at a
227 x 227 input: the paper says 224, but 11 x 11 filters at stride 4 need 227 to give 55 x 55).

``towers=1`` gives the same filters without the split (G = 1 everywhere), which doubles the
weights of layers 2, 4 and 5. It is *not* torchvision's ``alexnet``, which is the later
"one weird trick" network (Krizhevsky 2014) with 64/192/384/256/256 filters.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib.published import Published
from cnnlib.registry import register_model

# Section 3.5 and Figure 2 of the paper, in the lecture's letters.
# (R=S, M filters, stride U, padding, groups G in the two-tower network, max-pool and LRN after?)
CONV_LAYERS = [
    # R   M   U  pad  G  LRN    pool
    (11, 96, 4, 0, 1, True, True),    # conv1: 227x227x3 -> 55x55x96
    (5, 256, 1, 2, 2, True, True),    # conv2: 27x27x96 -> 27x27x256, each tower sees 48 channels
    (3, 384, 1, 1, 1, False, False),  # conv3: 13x13x256 -> 13x13x384, crosses the towers
    (3, 384, 1, 1, 2, False, False),  # conv4: 13x13x384 -> 13x13x384, 192 channels per tower
    (3, 256, 1, 1, 2, False, True),   # conv5: 13x13x384 -> 13x13x256, 192 channels per tower
]
FC_LAYERS = [4096, 4096]  # then the 1000-way classifier


class AlexNet(nn.Module):
    def __init__(self, towers: int = 2, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        if towers not in (1, 2):
            raise ValueError(f"towers must be 1 or 2, got {towers!r}")
        layers: list[nn.Module] = []
        C = 3
        for R, M, U, pad, G, lrn, pool in CONV_LAYERS:
            layers += [nn.Conv2d(C, M, R, U, pad, groups=G if towers == 2 else 1), nn.ReLU(inplace=True)]
            if lrn:  # section 3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75
                layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
            if pool:  # section 3.4: overlapping pooling, z = 3, s = 2
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            C = M
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = []
        width = C * 6 * 6  # 256 x 6 x 6 = 9216 inputs to the first FC layer
        for units in FC_LAYERS:
            head += [nn.Dropout(dropout), nn.Linear(width, units), nn.ReLU(inplace=True)]
            width = units
        head.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)       # (N, 256, 6, 6)
        x = torch.flatten(x, 1)    # (N, 9216)
        return self.classifier(x)  # (N, 1000)


_LECTURE = "slides 'AlexNet' and 'Summary of Popular CNNs'"


@register_model(paper="krizhevsky2012imagenet", table="Section 3 and Figure 2", input_size=(3, 227, 227),
                published=[
                    Published("conv_weights", "2.3M", "lecture", _LECTURE),
                    Published("conv_macs", "666M", "lecture", _LECTURE),
                    Published("fc_weights", "58.6M", "lecture", _LECTURE),
                    Published("fc_macs", "58.6M", "lecture", _LECTURE),
                    Published("weights", "61M", "lecture", _LECTURE),
                    Published("macs", "724M", "lecture", _LECTURE),
                    Published("params", "60M", "howard2017mobilenets", "Table 9",
                              note="MobileNet's comparison rounds AlexNet to 60M parameters",
                              rel_tol=0.02),
                    Published("macs", "720M", "howard2017mobilenets", "Table 9",
                              note="rounded from 724M", rel_tol=0.01),
                ])
def alexnet(*, towers: int = 2, num_classes: int = 1000) -> AlexNet:
    """AlexNet, the two-tower 2012 network with LRN and grouped layers 2, 4, 5."""
    return AlexNet(towers=towers, num_classes=num_classes)
