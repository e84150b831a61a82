"""ResNet (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016)
and three networks built on its bottleneck block: Wide ResNet (Zagoruyko & Komodakis, BMVC
2016), ResNeXt (Xie, Girshick, Dollar, Tu & He, CVPR 2017) and SE-ResNet (Hu, Shen & Sun,
"Squeeze-and-Excitation Networks", CVPR 2018).

The code transcribes Table 1 of He et al. (stages conv2_x ... conv5_x, blocks per stage for
18 ... 152 layers). A residual block computes ``F(x) + x``: the short cut lets the signal (and
the gradient) skip the block, which is what lets 50 to 152 layers train. Where a stage changes
the shape (more channels, half the height and width) the short cut is a 1x1 convolution with
stride 2 (the paper's option B, a "projection"); elsewhere it is the identity.

**Where the stride sits: v1 and v1.5.** In the paper's bottleneck (its Caffe release, and the
network the lecture counts: 3.86G conv MACs) the first block of conv3_x, conv4_x and conv5_x
halves the feature map with its *first 1x1* conv. fb.resnet.torch, and after it torchvision,
moved the stride to the *3x3* conv ("ResNet v1.5"). The filters are the same, so the weights
are identical; but in v1.5 the first 1x1 runs at the higher resolution, before downsampling:
4 times its MACs (77M more in each of conv3_1, conv4_1 and conv5_1), 4.09G instead of 3.86G
for ResNet-50. The 3x3 produces the same output either way, so its MACs do not change. v1.5 is
slightly more accurate (about 0.5% top-1): a 1x1 conv with stride 2 never looks at three of
every four input positions, while a 3x3 conv with stride 2 still covers all of them.
``variant`` selects the convention, and each paper's own convention is its model's default.
Basic blocks (ResNet-18/34) have no 1x1 conv: their stride is on the first 3x3 either way.

* ResNet-18 ... 152: the paper's network, ``variant="v1"`` by default.
* Wide ResNet-50-2 ("WRN-50-2-bottleneck"): bottleneck width doubled (128 ... 1024 filters in
  the 1x1 and 3x3 convs, outputs unchanged). Trained in fb.resnet.torch: stride on the 3x3
  (the authors' model printout in szagoruyko/wide-residual-networks, ``pretrained/README.md``).
* ResNeXt-50 (32x4d), Table 1 of Xie et al.: the 3x3 conv is a grouped conv with cardinality
  G = 32 groups of d = 4 channels at conv2 (doubling each stage). Trained in fb.resnet.torch
  (facebookresearch/ResNeXt ``models/resnext.lua`` strides the grouped 3x3), so v1.5; its
  Table 1 accordingly gives the ResNet-50 baseline 4.1 GFLOPs, the v1.5 count.
* SE-ResNet-50, Hu et al.: a squeeze-and-excitation gate (reduction r = 16) on the residual
  branch, after the last BN and before the add. The released Caffe model
  (hujie-frank/SENet ``SE-ResNet-50.prototxt``) strides the first 1x1: v1, with biases in the
  two excitation FC layers.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from cnnlib.models.layers import ConvBNAct, SqueezeExcitation
from cnnlib.published import Published
from cnnlib.registry import register_model

Variant = Literal["v1", "v1.5"]

# Table 1 of He et al.: one row per stage after conv1 (7x7, 64, stride 2) and the 3x3 max pool
# (stride 2). M is the number of filters of the stage's 3x3 convs in a plain ResNet; a
# bottleneck block expands its output to 4M. The stride halves H and W in the stage's first
# block; conv2_x has stride 1 because the max pool has just halved 112x112 to 56x56.
#   stage       H=W at 224   M    stride
STAGES = [
    ("conv2_x", 56, 64, 1),
    ("conv3_x", 28, 128, 2),
    ("conv4_x", 14, 256, 2),
    ("conv5_x", 7, 512, 2),
]

# Table 1 of He et al., the "[...] x n" multipliers: residual blocks per stage.
#       depth: conv2_x conv3_x conv4_x conv5_x
BLOCKS = {
    18: (2, 2, 2, 2),      # basic blocks (two 3x3 convs)
    34: (3, 4, 6, 3),      # basic blocks
    50: (3, 4, 6, 3),      # bottleneck blocks (1x1, 3x3, 1x1)
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}


class BasicBlock(nn.Module):
    """Two 3x3 convs and a short cut (ResNet-18/34, Figure 5 left of He et al.).

    The stride (1, or 2 in the first block of conv3_x ... conv5_x) sits on the first 3x3.
    """

    expansion = 1

    def __init__(self, C: int, M: int, stride: int = 1):
        super().__init__()
        self.conv_3x3a = ConvBNAct(C, M, 3, stride)
        self.conv_3x3b = ConvBNAct(M, M, 3, act=None)  # no ReLU before the add
        self.shortcut = _shortcut(C, M, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_3x3b(self.conv_3x3a(x))      # (N, M, H/stride, W/stride)
        return self.act(y + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand, and a short cut (Figure 5 right of He et al.).

    ``width`` is the bottleneck width: the filters of the 1x1 reduce and the 3x3 conv (M/4 in
    ResNet, M/2 in WRN-50-2 and ResNeXt-50 32x4d). ``groups`` G splits the 3x3 conv into G
    groups of width/G channels (ResNeXt's cardinality). ``stride_on_3x3`` picks v1.5 (True)
    or v1 (False): see the module docstring. ``se_reduction`` r adds an SE gate.
    """

    expansion = 4

    def __init__(self, C: int, width: int, M: int, stride: int = 1, *, stride_on_3x3: bool = False,
                 groups: int = 1, se_reduction: int | None = None):
        super().__init__()
        s_1x1, s_3x3 = (1, stride) if stride_on_3x3 else (stride, 1)
        self.conv_reduce = ConvBNAct(C, width, 1, s_1x1)
        self.conv_3x3 = ConvBNAct(width, width, 3, s_3x3, groups=groups)
        self.conv_expand = ConvBNAct(width, M, 1, act=None)  # no ReLU before the add
        self.se = nn.Identity() if se_reduction is None else SqueezeExcitation(M, M // se_reduction)
        self.shortcut = _shortcut(C, M, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_reduce(x)       # (N, width, H, W), or H/2 x W/2 when v1 strides here
        y = self.conv_3x3(y)          # (N, width, H/stride, W/stride)
        y = self.se(self.conv_expand(y))  # (N, M, H/stride, W/stride)
        return self.act(y + self.shortcut(x))


def _shortcut(C: int, M: int, stride: int) -> nn.Module:
    """Option B of He et al.: identity, or a 1x1 projection (with BN) where the shape changes."""
    if stride == 1 and C == M:
        return nn.Identity()
    return ConvBNAct(C, M, 1, stride, act=None)


class ResNet(nn.Module):
    """The trunk of every network in this file: conv1, max pool, four stages, pool, FC.

    The bottleneck width of stage i is ``M_i * groups * group_width / 64`` (ResNeXt's G x d):
    M_i for ResNet (G = 1, d = 64), 2 M_i for WRN-50-2 (d = 128) and ResNeXt-50 (G = 32, d = 4).
    """

    conv2_x: nn.Sequential   # the four stages, added by name from the table above
    conv3_x: nn.Sequential
    conv4_x: nn.Sequential
    conv5_x: nn.Sequential

    def __init__(self, block: type[BasicBlock | Bottleneck], blocks: tuple[int, int, int, int], *,
                 variant: Variant = "v1", groups: int = 1, group_width: int = 64,
                 se_reduction: int | None = None, num_classes: int = 1000):
        super().__init__()
        if variant not in ("v1", "v1.5"):
            raise ValueError(f"variant must be 'v1' or 'v1.5', got {variant!r}")
        self.conv1 = ConvBNAct(3, 64, 7, 2)                              # 224 -> 112
        self.pool1 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # 112 -> 56
        C = 64
        for (name, _, M, stride), n in zip(STAGES, blocks, strict=True):
            layers: list[nn.Module] = []
            for i in range(n):
                s = stride if i == 0 else 1
                if block is BasicBlock:
                    layers.append(BasicBlock(C, M, s))
                else:
                    layers.append(Bottleneck(
                        C, M * groups * group_width // 64, M * Bottleneck.expansion, s,
                        stride_on_3x3=variant == "v1.5", groups=groups, se_reduction=se_reduction,
                    ))
                C = M * block.expansion
            self.add_module(name, nn.Sequential(*layers))
        self.pool = nn.AdaptiveAvgPool2d(1)  # global average pooling: 7x7 -> 1x1 at 224
        self.fc = nn.Linear(C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.conv1(x))  # (N, 64, 56, 56) at 224x224
        x = self.conv2_x(x)            # (N, 256, 56, 56) for a bottleneck ResNet
        x = self.conv3_x(x)            # (N, 512, 28, 28)
        x = self.conv4_x(x)            # (N, 1024, 14, 14)
        x = self.conv5_x(x)            # (N, 2048, 7, 7)
        x = torch.flatten(self.pool(x), 1)  # (N, 2048)
        return self.fc(x)


# -- published figures ----------------------------------------------------------------------
_LECTURE = "slide 'Summary of Popular CNNs'"
_TV = "torchvision model documentation"
_TV_V15 = "torchvision's 'GFLOPS' are MACs, of its v1.5 network (stride on the 3x3)"
_HE_T1 = "Table 1, 'FLOPs' row (multiply-adds)"
_SE_T2 = "Table 2, 'original re-implementation' GFLOPs"
_SE_NOTE = ("the SE paper also counts one operation per element of each element-wise add (and SE "
            "scale): MACs + element-wise ops = {exact}; MACs alone are {macs}")


@register_model(paper="he2016deep", table="Table 1, 18-layer column", published=[
    Published("macs", "1.8G", "he2016deep", _HE_T1),
    Published("params", "11,689,512", "torchvision", _TV),
    Published("macs", "1.81G", "torchvision", _TV, note="basic blocks: v1 and v1.5 are the same"),
])
def resnet18(*, num_classes: int = 1000) -> ResNet:
    """ResNet-18: 8 basic blocks (two 3x3 convs each)."""
    return ResNet(BasicBlock, BLOCKS[18], num_classes=num_classes)


@register_model(paper="he2016deep", table="Table 1, 34-layer column", published=[
    Published("macs", "3.6G", "he2016deep", _HE_T1, rel_tol=0.018,
              note="counted 3.66G (torchvision prints 3.66G for the same network). Table 1 cuts "
                   "3.66 and 3.86 (ResNet-50) down to 3.6 and 3.8 but rounds 7.57 (ResNet-101) up "
                   "to 7.6; leaving out the projection short cuts (19M MACs) or the FC layer does "
                   "not explain it, so this figure is only good to 2%"),
    Published("params", "21,797,672", "torchvision", _TV),
    Published("macs", "3.66G", "torchvision", _TV, note="basic blocks: v1 and v1.5 are the same"),
])
def resnet34(*, num_classes: int = 1000) -> ResNet:
    """ResNet-34: 16 basic blocks (two 3x3 convs each)."""
    return ResNet(BasicBlock, BLOCKS[34], num_classes=num_classes)


@register_model(paper="he2016deep", table="Table 1, 50-layer column", published=[
    Published("conv_weights", "23.5M", "lecture", _LECTURE),
    Published("conv_macs", "3.86G", "lecture", _LECTURE),
    Published("fc_weights", "2M", "lecture", _LECTURE),
    Published("fc_macs", "2M", "lecture", _LECTURE),
    Published("weights", "25.5M", "lecture", _LECTURE),
    Published("macs", "3.9G", "lecture", _LECTURE),
    Published("macs", "3.8G", "he2016deep", _HE_T1, rel_tol=0.016,
              note="counted 3.86G for the paper's own (v1) network, the figure the lecture and "
                   "the SE paper print; Table 1 cuts it down to 3.8 (see resnet34)"),
    Published("macs", "3.86G", "hu2018senet", _SE_T2,
              note="MACs 3.858G; with the element-wise adds (as the SE paper counts) 3.863G"),
    Published("macs", "4.1G", "xie2017resnext", "Table 1, ResNet-50 column", kwargs={"variant": "v1.5"},
              note="ResNeXt's baseline is fb.resnet.torch's ResNet-50, stride on the 3x3"),
    Published("weights", "25.5M", "xie2017resnext", "Table 1, '# params'",
              note="25.5M is the filter and FC weights (25,502,912); with BN's scales and shifts "
                   "and the FC bias there are 25,557,032 parameters, which would print 25.6M"),
    Published("params", "25,557,032", "torchvision", _TV,
              note="the same for v1 and v1.5: moving the stride changes no filter"),
    Published("params", "25,557,032", "torchvision", _TV, kwargs={"variant": "v1.5"}),
    Published("macs", "4.09G", "torchvision", _TV, kwargs={"variant": "v1.5"}, note=_TV_V15),
])
def resnet50(*, variant: Variant = "v1", num_classes: int = 1000) -> ResNet:
    """ResNet-50: 16 bottleneck blocks; the lecture's ResNet-50 (v1) by default."""
    return ResNet(Bottleneck, BLOCKS[50], variant=variant, num_classes=num_classes)


@register_model(paper="he2016deep", table="Table 1, 101-layer column", published=[
    Published("macs", "7.6G", "he2016deep", _HE_T1),
    Published("macs + eltwise_ops", "7.58G", "hu2018senet", _SE_T2,
              note=_SE_NOTE.format(exact="7.579G", macs="7.570G")),
    Published("params", "44,549,160", "torchvision", _TV),
    Published("macs", "7.8G", "torchvision", _TV, kwargs={"variant": "v1.5"}, note=_TV_V15),
])
def resnet101(*, variant: Variant = "v1", num_classes: int = 1000) -> ResNet:
    """ResNet-101: 33 bottleneck blocks, 23 of them in conv4_x."""
    return ResNet(Bottleneck, BLOCKS[101], variant=variant, num_classes=num_classes)


@register_model(paper="he2016deep", table="Table 1, 152-layer column", published=[
    Published("macs", "11.3G", "he2016deep", _HE_T1),
    Published("macs + eltwise_ops", "11.30G", "hu2018senet", _SE_T2,
              note=_SE_NOTE.format(exact="11.296G", macs="11.282G")),
    Published("params", "60,192,808", "torchvision", _TV),
    Published("macs", "11.51G", "torchvision", _TV, kwargs={"variant": "v1.5"}, note=_TV_V15),
])
def resnet152(*, variant: Variant = "v1", num_classes: int = 1000) -> ResNet:
    """ResNet-152: 50 bottleneck blocks, 36 of them in conv4_x."""
    return ResNet(Bottleneck, BLOCKS[152], variant=variant, num_classes=num_classes)


@register_model(paper="zagoruyko2016wide",
                table="ImageNet experiments, WRN-50-2-bottleneck: He et al.'s Table 1 (50 layers) "
                      "with the bottleneck width doubled", published=[
    Published("params", "68.9M", "zagoruyko2016wide", "ImageNet table, WRN-50-2-bottleneck '#params' "
              "(also in the authors' pretrained/README.md)"),
    Published("params", "68,883,240", "torchvision", _TV),
    Published("macs", "11.4G", "torchvision", _TV, note=_TV_V15),
])
def wide_resnet50_2(*, variant: Variant = "v1.5", num_classes: int = 1000) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with twice the filters in each bottleneck's 1x1 and 3x3."""
    return ResNet(Bottleneck, BLOCKS[50], variant=variant, group_width=128, num_classes=num_classes)


@register_model(paper="xie2017resnext", table="Table 1, ResNeXt-50 (32x4d) column", published=[
    Published("weights", "25.0M", "xie2017resnext", "Table 1, '# params'",
              note="weights, as for the paper's ResNet-50 column; all parameters (25,028,904) "
                   "round to 25.0M too"),
    Published("macs", "4.2G", "xie2017resnext", "Table 1, 'FLOPs' (multiply-adds)"),
    Published("params", "25,028,904", "torchvision", _TV),
    Published("macs", "4.23G", "torchvision", _TV, note=_TV_V15),
])
def resnext50_32x4d(*, variant: Variant = "v1.5", num_classes: int = 1000) -> ResNet:
    """ResNeXt-50 (32x4d): ResNet-50 whose 3x3 convs have G = 32 groups of 4, 8, 16, 32 channels."""
    return ResNet(Bottleneck, BLOCKS[50], variant=variant, groups=32, group_width=4,
                  num_classes=num_classes)


@register_model(paper="hu2018senet", table="Table 1 (SE-ResNet-50 column) and Figure 3 (SE-ResNet module)",
                published=[
    Published("macs + eltwise_ops", "3.87G", "hu2018senet", "Table 2, 'SENet' GFLOPs",
              note=_SE_NOTE.format(exact="3.872G", macs="3.861G")),
    Published("params", "28.1M", "timm", "model card seresnet50.a2_in1k",
              note="timm strides the 3x3 (v1.5); parameters do not depend on where the stride is"),
    Published("params", "28.1M", "timm", "model card seresnet50.a2_in1k", kwargs={"variant": "v1.5"}),
])
def se_resnet50(*, variant: Variant = "v1", num_classes: int = 1000) -> ResNet:
    """SE-ResNet-50: ResNet-50 with a squeeze-and-excitation gate (r = 16) in every block."""
    return ResNet(Bottleneck, BLOCKS[50], variant=variant, se_reduction=16, num_classes=num_classes)
