"""An exponential moving average of the generator's weights, and batch-norm recalibration for it."""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

# StyleGAN2's schedule: the average's half-life is 10,000 images, but at most 5% of the images seen
# so far, so early samples are not dragged back towards the random initial weights.
HALF_LIFE_IMAGES = 10_000
RAMPUP = 0.05


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
