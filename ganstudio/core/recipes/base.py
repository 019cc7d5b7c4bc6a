"""What the engine asks of a trainable model: its networks, one training step, samples and state."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ..config import RunConfig


class Recipe:
    """A model and the way it trains. Subclasses register themselves with @register("name").

    The engine owns the loop, data order, RNGs, timing, checkpoints and events; the recipe owns the
    networks, optimisers and what one step does. `loss_names` and `stat_names` say what each step
    returns (in that order), `visual_names` what its sample pictures show, so front ends build
    their plots and galleries from data.
    """

    name: ClassVar[str] = ""
    loss_names: ClassVar[tuple[str, ...]] = ()
    stat_names: ClassVar[tuple[str, ...]] = ()
    visual_names: ClassVar[tuple[str, ...]] = ()
    domains: ClassVar[tuple[str, ...]] = ("images",)
    # The built-in demo set each domain trains on when the user picks the demo.
    demo_sets: ClassVar[tuple[str, ...]] = ("shapes",)
    # What a front end proposes when the user has not chosen an image size; batch sizes are resolve_config's.
    default_size: ClassVar[int] = 64
    # Named network sizes the user can pick (config.model.preset); empty when the model has none.
    presets: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        self.config = config
        self.device = device
        self.precision = precision

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        """Fill the config's automatic values (widths, targets) for this device, in place."""

    @classmethod
    def load_size(cls, config: RunConfig) -> int:
        """The size pictures are decoded at: the training size, or larger when the recipe trains on random crops."""
        return config.data.size

    def attach_data(self, domain_pixels: list[np.ndarray]) -> None:
        """Called once before training with each domain's decoded pictures (N x H x W x 3 uint8), e.g. to pick
        fixed preview inputs; a resumed run then loads its own from the checkpoint."""

    def before_step(self, done: float, total: float | None) -> None:
        """Called before every step with the training done so far and the run's target: both in steps, or both
        in seconds when the target is a time (total None when there is none). Learning-rate schedules live here."""

    def train_step(self, batches: list[torch.Tensor], images_seen: int) -> torch.Tensor:
        """One optimisation step; the detached losses then stats, as one 1-D tensor left on the device."""
        raise NotImplementedError

    def sample_grid(self) -> np.ndarray:
        """The picture of the fixed inputs as H x W x 3 uint8, for the per-epoch gallery."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError

    def networks(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def parameter_count(self) -> int:
        return sum(p.numel() for net in self.networks().values() for p in net.parameters())
