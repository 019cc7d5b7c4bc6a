"""Image arrays: tensors in [-1, 1] to uint8 pictures, and pictures laid out as a grid."""

from __future__ import annotations

import math

import numpy as np
import torch

from .errors import TrainingDiverged

GRID_PADDING = 2
GRID_BACKGROUND = (24, 24, 28)


def to_uint8_images(images: torch.Tensor) -> np.ndarray:
    """N x 3 x H x W in [-1, 1] to N x H x W x 3 uint8 on the CPU, rounding rather than truncating.

    A NaN would become a black or arbitrary pixel, so pictures holding one are refused: the network that
    made them has gone bad, and a flat picture written as if it were a result would hide that.
    """
    if not bool(torch.isfinite(images).all()):
        raise TrainingDiverged("The generator's pictures came out as NaN or infinite values, so none was written: "
                               "its weights have gone bad. Use an earlier checkpoint of the run.")
    scaled = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round()
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()


def make_grid(images: np.ndarray, columns: int | None = None, padding: int = GRID_PADDING,
              background: tuple[int, int, int] = GRID_BACKGROUND) -> np.ndarray:
    """N x H x W x 3 uint8 pictures as one grid picture, `columns` wide (square-ish by default)."""
    count, height, width, _ = images.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    grid = np.empty((rows * (height + padding) + padding, columns * (width + padding) + padding, 3), np.uint8)
    grid[:] = background
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + column * (width + padding)
        grid[top:top + height, left:left + width] = images[index]
    return grid


def grid_count(size: int) -> int:
    """How many fixed samples a gallery grid shows: 64 small ones, fewer large ones to keep files modest."""
    if size <= 64:
        return 64
    if size <= 128:
        return 36
    return 16
