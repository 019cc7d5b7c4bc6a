"""How far generated pictures are from the data: kernel and Fréchet distances on small fixed features, for tests.

The features need no download and no training: 8 x 8 downsampled pixels (colour and layout) beside
global-pooled responses of a fixed random two-layer convolution network (edges and strokes at 32 px).
Each group is centred on the data's mean and divided by its typical spread (one number per group), so
every dataset is measured on a like scale while distances keep their shape: dividing each feature by
its own spread made the constant white background of objects on white weigh millions of times more
than the objects, and ranked a generator's one repeated picture above varied blobs.
KID (the unbiased squared MMD with the cubic polynomial kernel) is usable with a few hundred
pictures; the Fréchet distance needs more pictures than feature dimensions to mean much.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

FEATURE_SEED = 1234
# 64 random filters: enough to tell strokes from blobs and noise, cheap enough for 2,000 pictures on a CPU.
CONV_WIDTHS = (32, 64)


def _random_filters() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(FEATURE_SEED)
    first = torch.randn(CONV_WIDTHS[0], 3, 5, 5, generator=generator) / (3 * 25) ** 0.5
    second = torch.randn(CONV_WIDTHS[1], CONV_WIDTHS[0], 3, 3, generator=generator) / (CONV_WIDTHS[0] * 9) ** 0.5
    return [first, second]


FILTERS = _random_filters()
# The feature groups: (first column, width): 8 x 8 x 3 pixels, then the pooled responses of the second layer.
GROUPS = ((0, 8 * 8 * 3), (8 * 8 * 3, CONV_WIDTHS[1]))


@torch.no_grad()
def raw_features(pixels: np.ndarray) -> np.ndarray:
    """N x 256 float64 features of N x H x W x 3 uint8 pictures: 8 x 8 x 3 pixels, then globally pooled conv maps."""
    images = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 127.5 - 1
    images = F.interpolate(images, size=(32, 32), mode="area")
    small = F.adaptive_avg_pool2d(images, 8).flatten(1)
    hidden = F.leaky_relu(F.conv2d(images, FILTERS[0], stride=2, padding=2), 0.2)
    hidden = F.relu(F.conv2d(hidden, FILTERS[1], stride=2, padding=1))
    pooled = F.adaptive_avg_pool2d(hidden, 1).flatten(1)
    return torch.cat([small, pooled], dim=1).double().numpy()


class FeatureDistance:
    """Distances of picture sets from one reference set (the data), on features standardised by the data's."""

    def __init__(self, data_pixels: np.ndarray):
        features = raw_features(data_pixels)
        self.mean = features.mean(0)
        spread = features.std(0)
        self.scale = np.concatenate([np.full(size, np.sqrt((spread[start:start + size] ** 2).mean()))
                                     for start, size in GROUPS])
        self.data = (features - self.mean) / self.scale

    def features(self, pixels: np.ndarray) -> np.ndarray:
        return (raw_features(pixels) - self.mean) / self.scale

    def kid(self, pixels: np.ndarray) -> float:
        return kernel_distance(self.features(pixels), self.data)

    def frechet(self, pixels: np.ndarray) -> float:
        return frechet_distance(self.features(pixels), self.data)


def kernel_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD with k(a, b) = (a·b / d + 1)^3 (the KID kernel); about 0 for sets from one distribution."""
    dims = x.shape[1]
    kxx = (x @ x.T / dims + 1) ** 3
    kyy = (y @ y.T / dims + 1) ** 3
    kxy = (x @ y.T / dims + 1) ** 3
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """|μx − μy|² + tr(Σx + Σy − 2 (Σx Σy)^½) of Gaussians fitted to the two sets."""
    mean_x, mean_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    # tr((Σx Σy)^½) is the sum of the square roots of the eigenvalues of Σx^½ Σy Σx^½, which is symmetric.
    values, vectors = np.linalg.eigh(cov_x)
    root_x = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    product = np.linalg.eigvalsh(root_x @ cov_y @ root_x)
    trace_root = np.sqrt(np.clip(product, 0, None)).sum()
    return float(((mean_x - mean_y) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y) - 2 * trace_root)
