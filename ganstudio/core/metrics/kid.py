"""The live quality score: KID between the training pictures and fixed samples, on frozen EfficientNet-Lite1 features.

KID (Binkowski et al. 2018) is the unbiased squared maximum mean discrepancy between the two sets of
features under the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.
Unlike FID it has no bias that depends on the number of samples, so a few hundred pictures on a CPU
give a fair score. It is reported times 1,000: about 0 means the samples look, to the network, like
the training pictures; on our test pictures heavy blur scores about 430, untrained generators 680 to
1,200 and noise up to 1,700. Lite1's features react strongly to pixel noise (2% noise on real pictures
scores about 450), so early, speckled samples score near an untrained generator.

The features come from Lite1, not the Lite0 the projected discriminator looks through, so a model
is not graded by the network it was trained to fool. The real features are computed once per run
(in memory); the samples come from fixed seeds, so successive checks differ only by training.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..pretrained import NETWORK_PACKAGE, PooledFeatures, PretrainedUnavailable, weights_path
from ..registry import register_metric
from .base import Metric

FEATURE_NETWORK = "efficientnet-lite1"
# Every picture is resized to this side before the features are taken, whatever the run's size, so scores
# of runs at 32 px and at 512 px are comparable. On one CPU core Lite1 takes 1 : 1.9 : 3.9 as long a
# picture at 96, 128 and 160 px (23, 44 and 91 ms on this shared 2-core machine); 128 keeps a check short
# while a 64 px picture is only enlarged twice.
FEATURE_SIDE = 128
# A CPU check of 256 samples costs 4.2 CPU-seconds (one thread, DCGAN at 64 px: the samples, their
# features and the 100 subsets); the first check of a run adds 500 real pictures, 11.1 CPU-seconds in all.
# At these counts four sets of 256 other real pictures scored -5.9, 1.7, -1.3 and -3.7 against 500 of the
# demo shapes: a spread of 3.3, so checks that differ by less than about 10 differ by chance.
CPU_SAMPLE_COUNT = 256
CPU_REAL_COUNT = 500
# A GPU takes a picture in well under a millisecond, so it affords the counts clean-fid uses for KID.
GPU_SAMPLE_COUNT = 2_000
GPU_REAL_COUNT = 5_000
SUBSET_COUNT = 100  # as Binkowski et al. and clean-fid: 100 subsets of at most 1,000 pictures a side
SUBSET_SIZE = 1_000
FEATURE_BATCH = 50
# The samples' seeds, far from the gallery's (the run seed onwards), and the fixed draws of which real
# pictures and which subsets are used: every check of every run on the same data sees the same ones.
FIRST_SAMPLE_SEED = 1_000_000_000
REAL_SELECTION_SEED = 12
SUBSET_SEED = 34
# A check every 3 minutes of training time. Its 4.2 CPU-seconds are 1.2% of what a 2-core CPU does in
# 3 minutes (2.3% of one core), and the training thread pays about one step for the snapshot (0.12 s,
# DCGAN's batch-norm recalibration; the copy itself 3 ms) plus one checkpoint, so a CPU run slows by
# about 2 to 3%. The slowdown itself cannot be timed here: on this shared machine step rates swing by
# more than that from minute to minute.
CHECK_SECONDS = 180.0
SCALE = 1_000.0


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """KID's kernel between every row of x and every row of y, (x.y / d + 1)^3 with d the feature count, in
    float64: the dot products are float32 (relative error about 1e-6), the cube and what is summed are not."""
    return (x.float() @ y.float().T / x.shape[1]).double().add(1.0).pow(3)


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, subsets: int = SUBSET_COUNT,
                    subset_size: int = SUBSET_SIZE, seed: int = SUBSET_SEED) -> float:
    """KID between two feature sets (one picture a row), as is (not scaled): the mean over `subsets` random
    subsets of min(subset_size, both counts) pictures a side of the unbiased estimate of MMD^2.

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
    return float(torch.stack(estimates).mean())


def feature_input(images: torch.Tensor) -> torch.Tensor:
    """N x C x H x W pictures in [-1, 1] as the feature network sees them: quantised to the 256 levels of a
    saved picture (the real pictures are uint8), then resized to FEATURE_SIDE with antialiasing."""
    levels = ((images.float().clamp(-1, 1) + 1) * 127.5).round()
    images = levels / 127.5 - 1
    if images.shape[-2:] != (FEATURE_SIDE, FEATURE_SIDE):
        images = F.interpolate(images, size=(FEATURE_SIDE, FEATURE_SIDE), mode="bilinear", antialias=True,
                               align_corners=False)
    return images


def pixels_to_images(pixels: np.ndarray) -> torch.Tensor:
    """N x H x W x 3 uint8 pixels as N x 3 x H x W float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 127.5 - 1


def check_installed() -> None:
    """PretrainedUnavailable, with the pip command to run, when Lite1's weights or the network are not installed."""
    weights_path(FEATURE_NETWORK)
    if importlib.util.find_spec("efficientnet_lite_pytorch") is None:
        raise PretrainedUnavailable(f"The EfficientNet-Lite network is not installed. Install it with "
                                    f"`pip install {NETWORK_PACKAGE}`.")


class FeatureExtractor:
    """Lite1's pooled features of pictures in [-1, 1], in batches, on one device; built by `prepare`."""

    def __init__(self, device: torch.device):
        self.device = device
        self._network: PooledFeatures | None = None

    def prepare(self) -> None:
        """Build the network (about 0.2 s), on the training thread, leaving the global RNG as it was.

        Building it initialises its layers randomly before the weights are loaded, from torch's global
        generator: done on the measuring thread, that draw would land between two training steps and
        change every later one. fork_rng puts the generator back, which is safe only on the thread that
        trains, between its steps.
        """
        if self._network is None:
            with torch.random.fork_rng(devices=[]):
                self._network = PooledFeatures(FEATURE_NETWORK).to(self.device)

    @torch.inference_mode()
    def __call__(self, batches) -> torch.Tensor:
        """The features (float32, on the device) of an iterable of N x C x H x W picture batches in [-1, 1].
        In a run `snapshot` has built the network already; a direct caller gets it built here, on its thread."""
        self.prepare()
        return torch.cat([self._network(feature_input(batch.to(self.device))).float() for batch in batches])


def real_indices(count: int, cap: int) -> np.ndarray:
    """Which real pictures are scored: all of them up to `cap`, else a fixed random `cap` of them, in order."""
    if count <= cap:
        return np.arange(count)
    return np.sort(np.random.default_rng(REAL_SELECTION_SEED).choice(count, cap, replace=False))


def real_features(pixels: np.ndarray, cap: int, extract: Callable) -> torch.Tensor:
    """The features of up to `cap` of the real pictures (N x H x W x 3 uint8, perhaps memory-mapped)."""
    chosen = real_indices(len(pixels), cap)
    chunks = [chosen[start:start + FEATURE_BATCH] for start in range(0, len(chosen), FEATURE_BATCH)]
    return extract(pixels_to_images(pixels[chunk]) for chunk in chunks)


def sample_features(sample: Callable[[torch.Tensor], torch.Tensor], latents: torch.Tensor,
                    extract: Callable) -> torch.Tensor:
    """The features of the pictures `sample` makes from the latents."""
    return extract(sample(chunk) for chunk in latents.split(FEATURE_BATCH))


@register_metric("kid")
class KernelDistance(Metric):
    """KID x 1,000 between the training pictures and samples from fixed seeds, every few minutes."""

    label = "Quality (KID ×10³, lower is better)"
    summary = ("Kernel distance between samples and the training pictures on pretrained EfficientNet-Lite1 "
               "features, times 1,000 (lower is better; near 0 looks like the data)")
    value_names = ("KID ×10³",)
    higher_is_better = False
    ranks_checkpoints = True
    every_seconds = CHECK_SECONDS

    def __init__(self, config, device, domain_pixels):
        super().__init__(config, device, domain_pixels)
        check_installed()  # a plain sentence before training starts, rather than a failed check minutes in
        on_gpu = device.type != "cpu"
        self.sample_count = GPU_SAMPLE_COUNT if on_gpu else CPU_SAMPLE_COUNT
        self.real_count = GPU_REAL_COUNT if on_gpu else CPU_REAL_COUNT
        self.real_pixels = domain_pixels[0]
        self.extract = FeatureExtractor(device)
        self._latents: torch.Tensor | None = None
        self._real_features: torch.Tensor | None = None

    def snapshot(self, recipe) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
        self.extract.prepare()
        if self._latents is None:
            # The recipe's own seeded latents: drawn from private generators, never the training RNG.
            seeds = list(range(FIRST_SAMPLE_SEED, FIRST_SAMPLE_SEED + self.sample_count))
            self._latents = recipe.latents_for_seeds(seeds)
        return recipe.sampling_snapshot(), self._latents

    def measure(self, snapshot) -> dict[str, float]:
        sample, latents = snapshot
        if self._real_features is None:
            self._real_features = real_features(self.real_pixels, self.real_count, self.extract)
        fake = sample_features(sample, latents, self.extract)
        return {self.value_names[0]: SCALE * kernel_distance(self._real_features, fake)}
