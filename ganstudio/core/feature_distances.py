"""Distances between two sets of picture features: KID's kernel estimate, the Fréchet distance, and a set's spread.

Shared by the live score (core/metrics/kid.py) and `ganstudio score` (core/score.py), so the number a run
plots and the number the command prints are the same computation.
"""

from __future__ import annotations

import numpy as np
import torch

SUBSET_COUNT = 100  # as Binkowski et al. and clean-fid: 100 subsets of at most 1,000 pictures a side
SUBSET_SIZE = 1_000
SUBSET_SEED = 34


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """KID's kernel between every row of x and every row of y, (x.y / d + 1)^3 with d the feature count, in
    float64: the dot products are float32 (relative error about 1e-6), the cube and what is summed are not."""
    return (x.float() @ y.float().T / x.shape[1]).double().add(1.0).pow(3)


def kernel_distance_estimates(real: torch.Tensor, fake: torch.Tensor, subsets: int = SUBSET_COUNT,
                              subset_size: int = SUBSET_SIZE, seed: int = SUBSET_SEED) -> torch.Tensor:
    """The unbiased estimate of MMD^2 on each of `subsets` random subsets of min(subset_size, both counts)
    pictures a side (float64, one a subset): their mean is KID, their standard deviation its spread.

    The three kernel matrices are computed once and each subset's sums gathered from them: at 1,000 a
    side, 100 subsets would otherwise cost 100 times three 1,000 x 1,280 x 1,000 products.
    """
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError("KID needs at least two pictures a side")
    real_real, fake_fake, real_fake = (polynomial_kernel(real, real), polynomial_kernel(fake, fake),
                                       polynomial_kernel(real, fake))
    draws = torch.Generator().manual_seed(seed)
    estimates = []
    for _ in range(subsets):
        r = torch.randperm(len(real), generator=draws)[:size].to(real_real.device)
        f = torch.randperm(len(fake), generator=draws)[:size].to(real_real.device)
        within_real, within_fake = real_real[r][:, r], fake_fake[f][:, f]
        # Unbiased: a picture's kernel with itself (the diagonal) is left out of the within-set means.
        within = (within_real.sum() - within_real.diagonal().sum() + within_fake.sum()
                  - within_fake.diagonal().sum()) / (size * (size - 1))
        estimates.append(within - 2 * real_fake[r][:, f].mean())
    return torch.stack(estimates).cpu()


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, subsets: int = SUBSET_COUNT,
                    subset_size: int = SUBSET_SIZE, seed: int = SUBSET_SEED) -> float:
    """KID between two feature sets (one picture a row), as is (not scaled): the mean of the subsets' estimates."""
    return float(kernel_distance_estimates(real, fake, subsets, subset_size, seed).mean())


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """|mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) between Gaussians fitted to the two feature sets.

    Computed in float64 through the eigenvalues of S_r^(1/2) S_f S_r^(1/2), which is symmetric and has the
    same trace of square root as S_r S_f; clipping its tiny negative eigenvalues (rounding) at 0 keeps the
    result real, where scipy's sqrtm on the product returns complex values that must be thrown away.
    """
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("A Fréchet distance needs at least two pictures a side")
    real, fake = real.double().cpu(), fake.double().cpu()
    mean_difference = real.mean(0) - fake.mean(0)
    real_cov, fake_cov = torch.cov(real.T), torch.cov(fake.T)
    real_root = _symmetric_sqrt(real_cov)
    middle = real_root @ fake_cov @ real_root
    cross_trace = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float(mean_difference @ mean_difference + real_cov.trace() + fake_cov.trace() - 2 * cross_trace)


def _symmetric_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def feature_spread(features: torch.Tensor) -> float:
    """The trace of the set's covariance: half the mean squared distance between two of its pictures.
    A generator that makes near-identical pictures has a spread near 0."""
    if len(features) < 2:
        raise ValueError("A spread needs at least two pictures")
    centred = features.double() - features.double().mean(0)
    return float((centred * centred).sum() / (len(features) - 1))


def variety(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The samples' spread as a fraction of the real pictures': about 1 for as varied as the data, near 0 for
    near-identical samples."""
    real_spread = feature_spread(real)
    return feature_spread(fake) / real_spread if real_spread > 0 else float(np.inf)
