"""`ganstudio score`: a generator's KID, Fréchet distance and memorisation figure against its own training pictures.

The KID is the live score's (core/metrics/kid.py): the same Lite1 features, samples from the same fixed
seeds, real pictures chosen the same way, but more of both than a CPU check takes, so the number printed
for a checkpoint is a steadier estimate of the point on the run's plot.
The Fréchet distance fits a Gaussian to 1,280 features a side, whose covariance is estimated badly from
fewer pictures than that: from 500 it is not even of full rank, and the distance's bias grows as the count
falls (Chong and Forsyth 2020 measure FID's bias falling as 1/N), so below MIN_FRECHET pictures a side the
figure is withheld, with that reason, rather than printed as a number that means little.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import torch

from .data.cache import load_dataset
from .errors import ConfigError
from .feature_distances import frechet_distance, kernel_distance_estimates, variety
from .memorisation import Memorisation, memorisation_figure
from .metrics import kid
from .nearest import check_training_data, picture_features, training_features

ProgressFn = Callable[[str, int, int], None]

# Generated pictures scored by default. Each goes through Lite1 twice (the score's features and the
# memorisation figure's); 500 from a 32 px run on 40 pictures took 13.6 s (12.6 CPU-seconds, one thread,
# load average 7 on 2 cores): about 11 ms a picture through Lite1, so the 2,000 real pictures of a large
# set add about 20 s more. The spread of the 100 subsets' KIDs was then 12 (x 10^3) on a KID of 729.
DEFAULT_COUNT = 500
MAX_COUNT = 50_000
# Real pictures scored: a fixed choice of at most this many (all of a smaller set), enough for a Fréchet
# distance at its threshold; a GPU affords clean-fid's 5,000.
CPU_REAL_CAP = 2_000
GPU_REAL_CAP = 5_000
MIN_FRECHET = 2_000
GENERATE_BATCH = 50


@dataclass(frozen=True)
class Score:
    """What `ganstudio score` reports for one checkpoint; KIDs are x 1,000, as everywhere in the app."""

    run: str
    checkpoint: str
    step: int
    epoch: int
    generated_count: int
    real_count: int  # the real pictures the KID and the Fréchet distance were computed on
    training_count: int  # the pictures in the training set
    kid: float
    kid_spread: float  # standard deviation of the subsets' estimates, x 1,000
    frechet: float | None
    frechet_note: str  # why there is no Fréchet distance; empty when there is one
    variety: float  # the samples' feature spread as a fraction of the real pictures'
    memorisation: Memorisation

    def to_dict(self) -> dict:
        record = asdict(self)
        record["memorisation"] = self.memorisation.to_dict()
        return record


def frechet_note(training_count: int, generated_count: int) -> str:
    """Why the Fréchet distance is withheld for these counts, or '' when it is computed."""
    if training_count < MIN_FRECHET:
        return (f"none: the training set holds {training_count:,} pictures, and below "
                f"{MIN_FRECHET:,} its estimate is too biased to mean much; KID is the figure to go by")
    if generated_count < MIN_FRECHET:
        return (f"none from {generated_count:,} generated pictures: below {MIN_FRECHET:,} its "
                f"estimate is too biased; ask for --count {MIN_FRECHET:,} or more")
    return ""


def score_generator(generator, count: int = DEFAULT_COUNT, progress: ProgressFn | None = None) -> Score:
    """Score a core.generate.TrainedGenerator against the pictures its run trained on.

    Plain sentences (GanStudioError) for missing weights (PretrainedUnavailable) and for training pictures
    that are no longer where the run found them (TrainingDataMissing).
    """
    if not 2 <= count <= MAX_COUNT:
        raise ConfigError(f"Score with 2 to {MAX_COUNT:,} generated pictures, not {count:,}.")
    kid.check_installed()
    config, device = generator.config, generator.recipe.device
    check_training_data(config.data, generator.run_name)
    pixels = load_dataset(config.data, progress, mmap=True).pixels
    if len(pixels) < 2:
        raise ConfigError(f"The run {generator.run_name} has {len(pixels)} usable training picture now; a score "
                          "needs at least two.")
    extract = kid.FeatureExtractor(device)
    real_cap = CPU_REAL_CAP if device.type == "cpu" else GPU_REAL_CAP
    if progress is not None:
        progress("real", 0, min(len(pixels), real_cap))
    real = kid.real_features(pixels, real_cap, extract).cpu()
    training = training_features(config.data, generator.run_name, device, progress)

    seeds = list(range(kid.FIRST_SAMPLE_SEED, kid.FIRST_SAMPLE_SEED + count))
    score_chunks, distance_chunks = [], []
    for start in range(0, count, GENERATE_BATCH):
        made = generator.images_for_seeds(seeds[start:start + GENERATE_BATCH])
        score_chunks.append(extract([kid.pixels_to_images(made)]).cpu())
        distance_chunks.append(picture_features(made, device))
        if progress is not None:
            progress("generated", min(start + GENERATE_BATCH, count), count)
    fake = torch.cat(score_chunks)

    estimates = kernel_distance_estimates(real, fake) * kid.SCALE
    note = frechet_note(len(pixels), count)
    frechet = frechet_distance(real, fake) if not note and len(real) >= MIN_FRECHET else None
    return Score(run=generator.run_name, checkpoint=generator.checkpoint_path.name, step=generator.step,
                 epoch=generator.epoch, generated_count=count, real_count=len(real), training_count=len(pixels),
                 kid=float(estimates.mean()), kid_spread=float(estimates.std()) if len(estimates) > 1 else 0.0,
                 frechet=frechet, frechet_note=note, variety=variety(real, fake),
                 memorisation=memorisation_figure(torch.cat(distance_chunks), training, seeds))

