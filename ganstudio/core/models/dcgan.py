"""DCGAN generator and discriminator (Radford et al. 2015) that scale from 32 to 512 pixels."""

from __future__ import annotations

import math

import torch
from torch import nn

# Channel counts double towards the 4x4 end; past this the wide layers cost far more than they give.
MAX_CHANNELS = 512


def _levels(size: int) -> int:
    levels = int(math.log2(size)) - 2
    if 2 ** (levels + 2) != size or levels < 1:
        raise ValueError(f"DCGAN needs a power-of-two size of at least 8 pixels, not {size}")
    return levels


def init_dcgan_weights(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """Latent vector to image: a 4x4 seed, then transposed convolutions doubling it up to the full size."""

    def __init__(self, latent_dim: int, size: int, width: int, channels: int = 3):
        super().__init__()
        levels = _levels(size)
        self.latent_dim, self.size, self.width = latent_dim, size, width
        widths = [min(MAX_CHANNELS, width * 2 ** (levels - 1 - level)) for level in range(levels)]
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for previous, current in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(previous, current, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(current), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.main(latents.view(latents.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Image to one logit: strided convolutions halving it down to 4x4, batch norm after the first."""

    def __init__(self, size: int, width: int, channels: int = 3):
        super().__init__()
        levels = _levels(size)
        self.size, self.width = size, width
        widths = [min(MAX_CHANNELS, width * 2 ** level) for level in range(levels)]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for previous, current in zip(widths, widths[1:]):
            layers += [nn.Conv2d(previous, current, 4, 2, 1, bias=False), nn.BatchNorm2d(current),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.main(images).view(-1)
