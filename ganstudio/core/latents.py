"""Latent vectors named by seeds: seed 7 is the same vector, so the same picture, in any batch and on any device."""

from __future__ import annotations

import torch


def latents_for_seeds(seeds: list[int], latent_dim: int) -> torch.Tensor:
    """One latent vector per seed, each drawn from its own generator (never the global one)."""
    return torch.stack([torch.randn(latent_dim, generator=torch.Generator().manual_seed(int(seed))) for seed in seeds])
