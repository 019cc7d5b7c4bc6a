"""A run's memorisation figure: how near its pictures come to training ones, against how near those lie to each other.

    figure = median over generated g of d(g, nearest training picture)
             / median over training x of d(x, nearest *other* training picture)

with d the cosine distance of core/nearest.py's pretrained features. A generator that makes new pictures
of the same kind lands about as far from its nearest training picture as training pictures lie from one
another, so about 1 or more; one that hands back its training pictures lands on them, near 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from .errors import ConfigError
from .nearest import ProgressFn, TrainingFeatures, cosine_distances, picture_features, training_features

# Generated pictures measured by default. The figure is a ratio of medians, so its spread shrinks as
# 1/sqrt(count): with 256 pictures it moves by a few hundredths between sets of seeds.
DEFAULT_GENERATED = 256
# Pictures generated at once: a batch of 64 at 256 px holds 50 MB of pixels.
GENERATE_BATCH = 64
# Below COPYING the typical new picture is less than half as far from a training picture as two training
# pictures are from each other: it is mostly a copy. Between the two, nearer than the data's own spacing:
# variations on training pictures. Measured on 200 of the tests' blob pictures at 32 px: the training
# pictures themselves give 0.00, the same ones mirrored 0.42, 200 new pictures drawn the same way 0.98 (0.97
# with 40), so CLOSE leaves new pictures a margin for the spread of a median of a few hundred.
COPYING = 0.5
CLOSE = 0.8


@dataclass(frozen=True)
class Memorisation:
    """The figure and what it is made of; `closest_*` name the generated picture nearest to any training one."""

    figure: float
    generated_median: float  # median cosine distance from a generated picture to its nearest training picture
    training_median: float  # median cosine distance from a training picture to its nearest other one
    generated_count: int
    training_count: int
    closest_seed: int
    closest_picture: str
    closest_distance: float

    @property
    def verdict(self) -> str:
        """The figure in plain words."""
        if self.figure < COPYING:
            return (f"copying: a new picture is typically {self.figure:.2f} times as far from its nearest training "
                    "picture as training pictures are from each other")
        if self.figure < CLOSE:
            return "close to the training pictures: variations on them more than new pictures"
        return "new pictures: as far from the training pictures as those are from each other, or farther"

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


def memorisation_figure(generated_features: torch.Tensor, training: TrainingFeatures,
                        seeds: list[int] | None = None) -> Memorisation:
    """The figure for generated pictures' unit-length features (one row each, made from `seeds`)."""
    count = int(generated_features.shape[0])
    if count < 1:
        raise ConfigError("The memorisation figure needs at least one generated picture.")
    seeds = list(range(count)) if seeds is None else seeds
    distances = cosine_distances(generated_features, training.features)
    nearest, nearest_index = distances.min(dim=1)
    generated_median = float(nearest.median())
    training_median = training.typical_distance
    closest = int(nearest.argmin())
    # Exact duplicates throughout the training set put its median at 0; then any distance at all is "new".
    figure = generated_median / training_median if training_median > 0 else (0.0 if generated_median == 0
                                                                              else float("inf"))
    return Memorisation(figure, generated_median, training_median, count, training.count, seeds[closest],
                        training.labels[int(nearest_index[closest])], float(nearest[closest]))


def measure_memorisation(make_pictures: Callable[[list[int]], np.ndarray], training: TrainingFeatures,
                         count: int = DEFAULT_GENERATED, first_seed: int = 0, device: str | torch.device = "cpu",
                         progress: ProgressFn | None = None) -> Memorisation:
    """The figure for the pictures `make_pictures(seeds)` gives (N x H x W x 3 uint8) for `count` seeds.

    `progress('memorisation', done, total)` follows the generated pictures; an exception it raises ends the work.
    """
    if count < 1:
        raise ConfigError(f"Ask for at least one generated picture, not {count:,}.")
    seeds = list(range(first_seed, first_seed + count))
    chunks = []
    for start in range(0, count, GENERATE_BATCH):
        batch_seeds = seeds[start:start + GENERATE_BATCH]
        chunks.append(picture_features(make_pictures(batch_seeds), device))
        if progress is not None:
            progress("memorisation", start + len(batch_seeds), count)
    return memorisation_figure(torch.cat(chunks), training, seeds)


def run_memorisation(generator, count: int = DEFAULT_GENERATED, first_seed: int = 0,
                     progress: ProgressFn | None = None) -> Memorisation:
    """The figure of a core.generate.TrainedGenerator, against the pictures its run trained on.

    TrainingDataMissing (a plain sentence) when those pictures are no longer where the run found them.
    """
    device = generator.recipe.device
    training = training_features(generator.config.data, generator.run_name, device, progress)
    return measure_memorisation(generator.images_for_seeds, training, count, first_seed, device, progress)
