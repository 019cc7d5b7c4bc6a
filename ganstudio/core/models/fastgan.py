"""FastGAN's generator with skip-layer excitation, and a projected discriminator on frozen EfficientNet-Lite features.

The generator follows Liu et al. 2021 ("Towards faster and stabilized GAN training for high-fidelity
few-shot image synthesis"): a 4x4 seed, nearest-neighbour upsampling with gated (GLU) convolutions,
and skip-layer excitation, where a low-resolution feature map scales the channels of one 16 times
larger. The discriminator follows Sauer et al. 2021 ("Projected GANs converge faster"): it judges
pictures through a frozen ImageNet network, whose features are mixed across channels and across
scales by fixed random convolutions, with one small trained head per scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from ..pretrained import FeatureStages
from .dcgan import init_dcgan_weights

# Channels of each resolution's feature map, as multiples of the generator width (FastGAN's own
# proportions: wide at 4x4, narrowing as pictures grow, so 1024 px stays within a GPU's memory).
CHANNEL_FACTORS = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
MIN_CHANNELS = 8
# Skip-layer excitation joins maps 16 times apart in side: 4 gates 64, 8 gates 128, and so on.
EXCITATION_PAIRS = ((4, 64), (8, 128), (16, 256), (32, 512))
# The projected discriminator's mixed channels at its four scales (1/4 to 1/32 of its input), before
# the width factor: Projected GAN's 64, 128, 256, 512.
PROJECTION_CHANNELS = (64, 128, 256, 512)
PIXEL_HEAD_SIZE = 32


def generator_channels(size: int, width: int) -> dict[int, int]:
    levels = [4 * 2 ** i for i in range(int(math.log2(size)) - 1)]
    return {resolution: max(MIN_CHANNELS, int(CHANNEL_FACTORS[resolution] * width)) for resolution in levels}


def _gated(in_channels: int, out_channels: int) -> list[nn.Module]:
    """A 3x3 convolution to twice the channels, batch norm, and a GLU that keeps half as the gate's output."""
    return [nn.Conv2d(in_channels, out_channels * 2, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels * 2),
            nn.GLU(dim=1)]


class UpBlock(nn.Module):
    """Double the side, then one gated convolution (two for a `deep` block, as FastGAN alternates them)."""

    def __init__(self, in_channels: int, out_channels: int, deep: bool):
        super().__init__()
        layers = [nn.Upsample(scale_factor=2, mode="nearest"), *_gated(in_channels, out_channels)]
        if deep:
            layers += _gated(out_channels, out_channels)
        self.body = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(features)


class SkipExcitation(nn.Module):
    """Channel gates for a large map, computed from a small one: pooled to 4x4, a 4x4 convolution, a sigmoid."""

    def __init__(self, low_channels: int, high_channels: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(low_channels, high_channels, 4, 1, 0, bias=False),
                                  nn.SiLU(), nn.Conv2d(high_channels, high_channels, 1, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.gate(low)


class FastGANGenerator(nn.Module):
    """Latent vector to picture, 64 to 1024 pixels."""

    def __init__(self, latent_dim: int, size: int, width: int, channels: int = 3):
        super().__init__()
        self.latent_dim, self.size, self.width = latent_dim, size, width
        self.channels = generator_channels(size, width)
        resolutions = sorted(self.channels)
        self.seed = nn.Sequential(nn.ConvTranspose2d(latent_dim, self.channels[4] * 2, 4, 1, 0, bias=False),
                                  nn.BatchNorm2d(self.channels[4] * 2), nn.GLU(dim=1))
        self.ups = nn.ModuleDict({
            str(resolution): UpBlock(self.channels[resolution // 2], self.channels[resolution], deep=index % 2 == 1)
            for index, resolution in enumerate(resolutions[1:], start=1)})
        self.excitations = nn.ModuleDict({
            str(high): SkipExcitation(self.channels[low], self.channels[high])
            for low, high in EXCITATION_PAIRS if high <= size})
        self.to_rgb = nn.Conv2d(self.channels[size], channels, 3, 1, 1)
        self.apply(init_dcgan_weights)  # FastGAN keeps DCGAN's N(0, 0.02) initialisation

    @torch.no_grad()
    def start_from_colour(self, mean: torch.Tensor) -> None:
        """Set the output's bias so an untrained generator paints the pictures' mean colour (`mean` per channel
        in [-1, 1]) instead of tanh(0), mid-grey. Adam moves a bias about its learning rate a step, so from
        grey a set of light strokes on black needs thousands of steps to find its background."""
        self.to_rgb.bias.copy_(torch.atanh(mean.clamp(-0.95, 0.95)).to(self.to_rgb.bias))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        features = {4: self.seed(latents.view(latents.shape[0], self.latent_dim, 1, 1))}
        x = features[4]
        for resolution in sorted(self.channels)[1:]:
            x = self.ups[str(resolution)](x)
            if str(resolution) in self.excitations:
                x = self.excitations[str(resolution)](features[resolution // 16], x)
            features[resolution] = x
        return torch.tanh(self.to_rgb(x))


class RandomProjection(nn.Module):
    """Fixed random mixing of the four feature maps: 1x1 convolutions across channels, then a top-down path
    that adds each coarser mixed map, upsampled, to the next finer one. Never trained: Projected GAN found
    that a random, frozen projection spreads the discriminator's attention over all features, where a
    trained one lets it latch onto a few."""

    def __init__(self, in_channels: tuple[int, ...], out_channels: tuple[int, ...]):
        super().__init__()
        self.across_channels = nn.ModuleList(nn.Conv2d(c_in, c_out, 1) for c_in, c_out in zip(in_channels, out_channels))
        self.across_scales = nn.ModuleList(nn.Conv2d(coarse, fine, 1)
                                           for fine, coarse in zip(out_channels[:-1], out_channels[1:]))
        self.requires_grad_(False)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [mix(feature) for mix, feature in zip(self.across_channels, features)]
        for index in range(len(mixed) - 2, -1, -1):
            coarse = F.interpolate(mixed[index + 1], size=mixed[index].shape[-2:], mode="bilinear", align_corners=False)
            mixed[index] = mixed[index] + self.across_scales[index](coarse)
        return mixed


class ScaleHead(nn.Module):
    """One trained discriminator head: strided spectrally-normalised convolutions down to 8x8, then a 4x4
    convolution to a 5x5 map of logits, each judging a patch (a coarser map gives fewer)."""

    def __init__(self, channels: int, resolution: int, width: int):
        super().__init__()
        layers: list[nn.Module] = []
        current = channels
        while resolution > 8:
            following = max(width, min(current, width * 8))
            layers += [spectral_norm(nn.Conv2d(current, following, 4, 2, 1, bias=False)), nn.BatchNorm2d(following),
                       nn.LeakyReLU(0.2, inplace=True)]
            current, resolution = following, resolution // 2
        kernel = min(4, resolution)
        layers.append(spectral_norm(nn.Conv2d(current, 1, kernel, 1, 0)))
        self.body = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(features).flatten(1)


class ProjectedDiscriminator(nn.Module):
    """Pictures to logits through frozen EfficientNet-Lite0 features, a fixed random projection and four heads.

    `feature_size` is the side pictures are resized to before the feature network: ImageNet networks
    see objects at about 224 px, and below ~128 px their deeper stages have almost nothing to look at.
    """

    def __init__(self, feature_size: int, width: int = 64, head_width: int = 64):
        super().__init__()
        self.feature_size = feature_size
        self.features = FeatureStages("efficientnet-lite0")
        scale = width / 64
        channels = tuple(max(16, int(c * scale)) for c in PROJECTION_CHANNELS)
        self.projection = RandomProjection(self.features.channels, channels)
        resolutions = [feature_size // 2 ** (i + 2) for i in range(len(channels))]
        self.heads = nn.ModuleList(ScaleHead(c, max(1, r), head_width) for c, r in zip(channels, resolutions))
        # One head of our own, beside Projected GAN's four: on the pictures themselves at 32 px. ImageNet
        # features hardly tell light strokes on black from dark ones on grey (they were trained to ignore
        # brightness and colour casts); on 1,800 strokes the four heads alone gave the strokes' shapes in
        # the wrong brightness after 300 steps, with this head light strokes as in the set.
        self.pixel_head = ScaleHead(3, PIXEL_HEAD_SIZE, head_width)

    def trained_parameters(self) -> list[nn.Parameter]:
        """The heads' weights: the only part of this network an optimiser may change."""
        return [*self.heads.parameters(), *self.pixel_head.parameters()]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixel_logits = self.pixel_head(F.interpolate(images, size=(PIXEL_HEAD_SIZE, PIXEL_HEAD_SIZE), mode="area"))
        if images.shape[-1] != self.feature_size:
            images = F.interpolate(images, size=(self.feature_size, self.feature_size), mode="bilinear",
                                   align_corners=False, antialias=images.shape[-1] > self.feature_size)
        mixed = self.projection(self.features(images))
        return torch.cat([pixel_logits, *(head(feature) for head, feature in zip(self.heads, mixed))], dim=1)
