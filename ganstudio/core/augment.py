"""Differentiable augmentation (Zhao et al. 2020): the same random colour, shift and cutout for real and fake images.

Applied to everything the discriminator sees, real and generated alike, it keeps a discriminator
trained on a few thousand pictures from memorising them, while gradients still reach the generator.
A strength below 1 applies each of the three to each picture with that probability, as ADA (Karras
et al. 2020) does, so a balance guard can raise it only as far as the discriminator needs; below
about 0.8 the augmentations do not leak into the generated pictures (ADA's finding).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _colour(images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    n = images.shape[0]
    brightness = torch.rand(n, 1, 1, 1, device=images.device, generator=generator, dtype=images.dtype) - 0.5
    images = images + brightness
    mean = images.mean(dim=1, keepdim=True)
    saturation = torch.rand(n, 1, 1, 1, device=images.device, generator=generator, dtype=images.dtype) * 2
    images = (images - mean) * saturation + mean
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    contrast = torch.rand(n, 1, 1, 1, device=images.device, generator=generator, dtype=images.dtype) + 0.5
    return (images - mean) * contrast + mean


def _translate(images: torch.Tensor, generator: torch.Generator | None, ratio: float = 0.125) -> torch.Tensor:
    n, _, height, width = images.shape
    shift_y, shift_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-shift_y, shift_y + 1, (n, 1, 1), device=images.device, generator=generator)
    dx = torch.randint(-shift_x, shift_x + 1, (n, 1, 1), device=images.device, generator=generator)
    rows = torch.arange(height, device=images.device).view(1, height, 1)
    cols = torch.arange(width, device=images.device).view(1, 1, width)
    # Shifted in a one-pixel zero border: pixels moved in from outside are black, as a padded shift would give.
    src_y = (rows + dy + 1).clamp(0, height + 1).expand(n, height, width)
    src_x = (cols + dx + 1).clamp(0, width + 1).expand(n, height, width)
    padded = F.pad(images, (1, 1, 1, 1))
    flat_index = (src_y * (width + 2) + src_x).view(n, 1, -1).expand(-1, images.shape[1], -1)
    return padded.flatten(2).gather(2, flat_index).view_as(images)


def _cutout(images: torch.Tensor, generator: torch.Generator | None, ratio: float = 0.5) -> torch.Tensor:
    n, _, height, width = images.shape
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    # The square's centre may sit anywhere, so near the edges only part of it falls inside the image.
    top = torch.randint(0, height + 1, (n, 1, 1), device=images.device, generator=generator) - cut_h // 2
    left = torch.randint(0, width + 1, (n, 1, 1), device=images.device, generator=generator) - cut_w // 2
    rows = torch.arange(height, device=images.device).view(1, height, 1)
    cols = torch.arange(width, device=images.device).view(1, 1, width)
    inside = (rows >= top) & (rows < top + cut_h) & (cols >= left) & (cols < left + cut_w)
    return images * (~inside).unsqueeze(1).to(images.dtype)


def _some(images: torch.Tensor, transform, strength: float, generator: torch.Generator | None) -> torch.Tensor:
    """`transform` applied to each picture with probability `strength`, the others left as they were."""
    if strength >= 1.0:
        return transform(images, generator)
    chosen = torch.rand(images.shape[0], 1, 1, 1, device=images.device, generator=generator) < strength
    return torch.where(chosen, transform(images, generator), images)


def diff_augment(images: torch.Tensor, strength: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour, translation and cutout, each drawn independently per image from `generator` (the global one when
    None), each applied with probability `strength` (always at 1, never at 0)."""
    if strength <= 0.0:
        return images
    some = lambda images, transform: _some(images, transform, strength, generator)  # noqa: E731
    return some(some(some(images, _colour), _translate), _cutout)
