"""An exponential moving average of the generator's weights, and batch-norm recalibration for it."""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch import nn

from .imaging import to_uint8_images

# StyleGAN2's schedule: the average's half-life is 10,000 images, but at most 5% of the images seen
# so far, so early samples are not dragged back towards the random initial weights.
HALF_LIFE_IMAGES = 10_000
RAMPUP = 0.05
# Forward passes used to recompute the averaged generator's batch-norm statistics before sampling.
RECALIBRATION_BATCHES = 8


class WeightAverage:
    """Keeps `self.model`, an averaged copy of a network's parameters, updated after each optimiser step."""

    def __init__(self, model: nn.Module):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, images_seen: int, batch_size: int) -> None:
        half_life = min(HALF_LIFE_IMAGES, images_seen * RAMPUP)
        beta = 0.5 ** (batch_size / max(half_life, 1e-8))
        averaged = list(self.model.parameters())
        current = list(model.parameters())
        torch._foreach_lerp_(averaged, current, 1.0 - beta)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, make_inputs: Callable[[int], torch.Tensor], batches: int) -> None:
    """Recompute batch-norm statistics for the model's own (averaged) weights.

    Running statistics collected while training describe the training weights, not their average;
    sampling the average with them gives washed-out images. A few forward passes on fresh latents,
    with a cumulative average (momentum None), give statistics that match.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for index in range(batches):
        model(make_inputs(index))
    model.eval()
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


class AveragedSampler:
    """The network a generating recipe samples from: its weight average (batch norm recalibrated on
    latents from a private generator, only when the weights changed), or the generator itself."""

    def __init__(self, generator: nn.Module, average: bool, calibration_seed: int,
                 draw_latents: Callable[[int, torch.Generator], torch.Tensor], calibration_batch: int,
                 device: torch.device):
        self.average = WeightAverage(generator) if average else None
        self.calibration_seed = calibration_seed
        self.draw_latents = draw_latents
        self.calibration_batch = calibration_batch
        self.device = device
        self._updates = 0  # steps taken; the average is recalibrated only when it changed
        self._calibrated_at: int | None = None

    def update(self, generator: nn.Module, images_seen: int, batch_size: int) -> None:
        if self.average is not None:
            self.average.update(generator, images_seen, batch_size)
        self._updates += 1

    def network(self, generator: nn.Module) -> nn.Module:
        """The network to sample from, in eval mode."""
        if self.average is None:
            return generator.eval()
        model = self.average.model
        if self._calibrated_at != self._updates:
            self._calibrated_at = self._updates
            calibration = torch.Generator().manual_seed(self.calibration_seed)
            recalibrate_batch_norm(
                model, lambda _: self.draw_latents(self.calibration_batch, calibration).to(self.device),
                RECALIBRATION_BATCHES)
        return model

    @torch.no_grad()
    def generate(self, generator: nn.Module, latents: torch.Tensor) -> np.ndarray:
        """Pictures for the latents as N x H x W x 3 uint8; the training generator is left in train mode."""
        model = self.network(generator)
        pictures = [to_uint8_images(model(chunk.to(self.device)).float()) for chunk in latents.split(64)]
        generator.train()
        return np.concatenate(pictures)

    def state_dict(self) -> dict | None:
        return self.average.state_dict() if self.average is not None else None

    def load_state_dict(self, state: dict | None) -> None:
        if self.average is not None and state is not None:
            self.average.load_state_dict(state)
        self._calibrated_at = None
