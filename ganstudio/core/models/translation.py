"""CycleGAN's networks: the ResNet generator and the 70x70 PatchGAN, keyed exactly as the published weights are.

The layer order inside each `nn.Sequential` fixes the state-dict keys (`model.1.weight`,
`model.10.conv_block.1.weight`, ...). Those keys are the file format every published CycleGAN
generator and every `latest_net_G_A.pth` of the reference tool uses, so the order below must not
change: padding and activation layers hold no weights but still take an index. The anti-aliased
variant is laid out as the CUT tool's generator (`latest_net_G.pth`), its blur kernels saved as `filt`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("instance", "batch")
# How the generator halves and doubles its resolution: CycleGAN's strided and transposed convolutions, or
# the CUT paper's anti-aliased way (a stride-1 convolution, then a blur before dropping every other pixel;
# a blur after inserting zeros, then a stride-1 convolution), which the CUT tool uses by default.
SAMPLINGS = ("strided", "antialiased")
# Two stride-2 convolutions down and two transposed ones up: inputs must be a multiple of 4 pixels.
SIZE_MULTIPLE = 4
# Modules of the generator's Sequential before its first resampling level: pad, conv, norm, relu.
STEM_MODULES = 4


@dataclass(frozen=True)
class GeneratorSpec:
    """What fixes a ResNet generator's shape: base filters, residual blocks, dropout, normalisation, channels."""

    filters: int = 64
    blocks: int = 9
    dropout: bool = False
    norm: str = "instance"
    in_channels: int = 3
    out_channels: int = 3
    sampling: str = "strided"

    @property
    def level_modules(self) -> int:
        """Modules of one halving or doubling level: conv, norm, relu, and the blur when anti-aliased."""
        return 4 if self.sampling == "antialiased" else 3

    @property
    def first_block_index(self) -> int:
        """Where the residual blocks start in the generator's Sequential (10 strided, 12 anti-aliased)."""
        return STEM_MODULES + 2 * self.level_modules

    @property
    def last_convolution_index(self) -> int:
        """Where the final 7x7 convolution sits: after the blocks, two doubling levels and a pad."""
        return self.first_block_index + self.blocks + 2 * self.level_modules + 1

    def describe(self) -> str:
        extras = ", dropout" if self.dropout else ""
        extras += ", batch norm" if self.norm == "batch" else ""
        extras += ", anti-aliased" if self.sampling == "antialiased" else ""
        return f"ResNet generator, {self.filters} filters, {self.blocks} blocks{extras}"

    def to_dict(self) -> dict:
        return {"filters": self.filters, "blocks": self.blocks, "dropout": self.dropout, "norm": self.norm,
                "in_channels": self.in_channels, "out_channels": self.out_channels, "sampling": self.sampling}


def _contiguous_gradient(gradient: torch.Tensor) -> torch.Tensor:
    return gradient.contiguous()


class InstanceNorm(nn.InstanceNorm2d):
    """nn.InstanceNorm2d, handing its backward a contiguous gradient when it normalises a single picture.

    torch 2.14.1's CPU kernel returns a wrong input gradient for one picture when the gradient arriving is
    channels-last strided: off by about its own size (4.4 where the largest value is 4.1, against a float64
    reference), while a contiguous gradient, or two pictures or more, come out right to 5e-7. Such gradients
    arrive at batch 1, CycleGAN's and CUT's default: PatchNCE picks patches through a transpose, and a
    transposed convolution's backward can hand them on. Copying that one gradient costs one tensor per
    normalisation and picture. The same module otherwise: no state, so the weights' files do not change.
    """

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        normalised = super().forward(images)
        if normalised.requires_grad and normalised.shape[0] == 1:
            normalised.register_hook(_contiguous_gradient)
        return normalised


def _norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "instance":
        # No affine parameters and no running statistics: each picture is normalised by its own statistics,
        # in training and in use alike. This is why InstanceNorm keys are absent from the state dict.
        return InstanceNorm(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    raise ValueError(f"unknown normalisation {norm!r}")


def _binomial_kernel(taps: list[float], channels: int, gain: float) -> torch.Tensor:
    """A separable blur kernel, one per channel (C x 1 x K x K), summing to `gain`."""
    row = torch.tensor(taps)
    kernel = torch.outer(row, row)
    return (kernel * gain / kernel.sum()).expand(channels, 1, len(taps), len(taps)).clone()


class BlurDownsample(nn.Module):
    """Halves the resolution without aliasing (Zhang 2019): reflect-pad by 1, blur by 1-2-1, keep every other pixel.

    The kernel is a buffer named `filt` and saved with the weights, as in the CUT tool's files, so those open as
    they are; it is never trained.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("filt", _binomial_kernel([1.0, 2.0, 1.0], channels, 1.0))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        padded = F.pad(images, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(padded, self.filt.to(images.dtype), stride=2, groups=images.shape[1])


class BlurUpsample(nn.Module):
    """Doubles the resolution without checkerboards: edge-pad by 1, insert zeros, blur by 1-3-3-1, crop to 2H x 2W.

    The kernel sums to 4 so that a flat picture keeps its level once three pixels in four are zeros.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("filt", _binomial_kernel([1.0, 3.0, 3.0, 1.0], channels, 4.0))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        padded = F.pad(images, (1, 1, 1, 1), mode="replicate")
        enlarged = F.conv_transpose2d(padded, self.filt.to(images.dtype), stride=2, padding=2, groups=images.shape[1])
        return enlarged[:, :, 1:-1, 1:-1]  # (H + 2) * 2 - 2 rows: one too many at each edge


class ResidualBlock(nn.Module):
    """Two reflection-padded 3x3 convolutions with normalisation, added back onto the input."""

    def __init__(self, channels: int, norm: str, dropout: bool, bias: bool):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   _norm_layer(norm, channels), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), _norm_layer(norm, channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Image to image of the same size: a 7x7 stem, two downsamplings, residual blocks, two upsamplings, tanh."""

    def __init__(self, spec: GeneratorSpec = GeneratorSpec()):
        super().__init__()
        if spec.norm not in NORMS:
            raise ValueError(f"unknown normalisation {spec.norm!r}")
        if spec.sampling not in SAMPLINGS:
            raise ValueError(f"unknown sampling {spec.sampling!r}")
        antialiased = spec.sampling == "antialiased"
        self.spec = spec
        filters = spec.filters
        # Instance norm has no shift of its own, so the convolutions before it carry a bias; batch norm's beta does.
        bias = spec.norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(spec.in_channels, filters, 7, bias=bias),
                                   _norm_layer(spec.norm, filters), nn.ReLU(True)]
        for level in range(2):
            channels = filters * 2 ** level
            layers += [nn.Conv2d(channels, channels * 2, 3, stride=1 if antialiased else 2, padding=1, bias=bias),
                       _norm_layer(spec.norm, channels * 2), nn.ReLU(True)]
            if antialiased:
                layers.append(BlurDownsample(channels * 2))
        layers += [ResidualBlock(filters * 4, spec.norm, spec.dropout, bias) for _ in range(spec.blocks)]
        for level in range(2):
            channels = filters * 2 ** (2 - level)
            if antialiased:
                layers += [BlurUpsample(channels), nn.Conv2d(channels, channels // 2, 3, padding=1, bias=bias)]
            else:
                layers.append(nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1, output_padding=1,
                                                 bias=bias))
            layers += [_norm_layer(spec.norm, channels // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(filters, spec.out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


class PatchDiscriminator(nn.Module):
    """The PatchGAN: a grid of real-or-fake scores, each seeing a 70x70 patch (with the default 3 layers)."""

    def __init__(self, filters: int = 64, layers: int = 3, norm: str = "instance", in_channels: int = 3):
        super().__init__()
        bias = norm == "instance"
        sequence: list[nn.Module] = [nn.Conv2d(in_channels, filters, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        multiple = 1
        for level in range(1, layers + 1):
            previous, multiple = multiple, min(2 ** level, 8)
            stride = 2 if level < layers else 1  # the last one keeps the resolution: more, overlapping patches
            sequence += [nn.Conv2d(filters * previous, filters * multiple, 4, stride=stride, padding=1, bias=bias),
                         _norm_layer(norm, filters * multiple), nn.LeakyReLU(0.2, True)]
        sequence.append(nn.Conv2d(filters * multiple, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*sequence)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """CycleGAN's initialisation: convolution weights from N(0, 0.02) and zero biases; batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, gain)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, gain)
        nn.init.zeros_(module.bias)


def round_to_multiple(value: int, multiple: int = SIZE_MULTIPLE) -> int:
    """`value` rounded up to the next multiple the generator needs (at least one multiple)."""
    return max(multiple, -(-value // multiple) * multiple)
