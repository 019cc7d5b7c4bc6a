"""The model contract: what a trainable model declares about itself and what the engine and front ends ask of it.

A model is one file: a Recipe subclass registered with @register("name"). Its class attributes
declare its label, its kind, its own options, its data needs, what it reports and what its gallery
shows; the CLI, the app, `generate` and `translate` are built from those declarations alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..config import SIZES, RunConfig
from ..registry import GENERATE, TRANSLATE
from .options import Option, check_values


class Recipe:
    """A model and the way it trains.

    The engine owns the loop, data order, RNGs, timing, checkpoints and events; the recipe owns the
    networks, optimisers and what one step does. `loss_names` and `stat_names` say what each step
    returns (in that order; `reported_names` narrows them for a configuration), `visual_names` what
    the rows of its sample grid show, so front ends build their plots and galleries from data.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # what a person picks from a list: "DCGAN — the classic GAN"
    summary: ClassVar[str] = ""  # one plain sentence on what it is good for
    kind: ClassVar[str] = GENERATE
    list_order: ClassVar[int] = 100  # lists offer lower numbers first; the first of a kind is the default
    options: ClassVar[tuple[Option, ...]] = ()
    loss_names: ClassVar[tuple[str, ...]] = ()
    stat_names: ClassVar[tuple[str, ...]] = ()
    visual_names: ClassVar[tuple[str, ...]] = ()
    # Data needs: one dataset per domain (a front end asks for each), the built-in demo set of each,
    # the image sizes it trains at, and the one proposed when the user has not chosen.
    # The balance contract (training/balance.py), for a model with a discriminator: the names of two of its
    # stat_names whose values each step are the mean sign of the discriminator's verdicts, +1 for "real" and
    # -1 for "generated" (relative to the loss's decision boundary), on the real and on the generated
    # pictures of the batch: ADA's r = E[sign(D(real))] and its counterpart. None: nothing to watch.
    balance_stat_names: ClassVar[tuple[str, str] | None] = None
    domains: ClassVar[tuple[str, ...]] = ("images",)
    demo_sets: ClassVar[tuple[str, ...]] = ("shapes",)
    sizes: ClassVar[tuple[int, ...]] = SIZES
    default_size: ClassVar[int] = 64

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        self.config = config
        self.device = device
        self.precision = precision
        config.model.options = self.check_options(config.model.options)  # a config built in code may leave some out
        self.loss_names, self.stat_names = self.reported_names(config)

    # -- declarations ------------------------------------------------------------------------------

    @classmethod
    def check_options(cls, values: dict[str, Any]) -> dict[str, Any]:
        """This model's option values with defaults filled in; ConfigError for unknown names or bad values."""
        return check_values(cls.options, values, cls.name)

    @classmethod
    def reported_names(cls, config: RunConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The losses and stats a step returns for this configuration: a regulariser that is off is not listed."""
        return cls.loss_names, cls.stat_names

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        """Fill the config's automatic values (widths, batch size, 'auto' options) for this device, in place."""

    @classmethod
    def load_size(cls, config: RunConfig) -> int:
        """The size pictures are decoded at: the training size, or larger when the recipe trains on random crops."""
        return config.data.size

    # -- training ----------------------------------------------------------------------------------

    def attach_data(self, domain_pixels: list[np.ndarray]) -> None:
        """Called once before training with each domain's decoded pictures (N x H x W x 3 uint8), e.g. to pick
        fixed preview inputs; a resumed run then loads its own from the checkpoint."""

    def before_step(self, done: float, total: float | None) -> None:
        """Called before every step with the training done so far and the run's target: both in steps, or both
        in seconds when the target is a time (total None when there is none). Learning-rate schedules live here."""

    def train_step(self, batches: list[torch.Tensor], images_seen: int) -> torch.Tensor:
        """One optimisation step; the detached losses then stats, as one 1-D tensor left on the device."""
        raise NotImplementedError

    # The other half of the balance contract: a recipe whose `adaptive_augment` is True applies its
    # discriminator's augmentations with probability `augment_strength` (0 to 1) per picture, keeps that
    # strength in its state_dict (so resume is exact) and reports it as a stat (so the plot shows it). The
    # guard sets it between steps; a recipe whose augmentation is fixed, or absent, leaves this False.
    adaptive_augment: bool = False
    augment_strength: float = 0.0

    def set_augment_strength(self, strength: float) -> None:
        """Called by the balance guard between steps with the strength the next steps augment with."""
        self.augment_strength = float(strength)

    def sample_grid(self) -> np.ndarray:
        """The picture of the fixed inputs as H x W x 3 uint8, for the gallery; its rows are `visual_names`."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError

    def networks(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def parameter_count(self) -> int:
        return sum(p.numel() for net in self.networks().values() for p in net.parameters())


class GeneratingRecipe(Recipe):
    """A model that makes pictures from noise: a seed names a latent, a latent names a picture."""

    kind: ClassVar[str] = GENERATE

    def latents_for_seeds(self, seeds: list[int]) -> torch.Tensor:
        """One latent per seed; a seed gives the same latent in any batch."""
        raise NotImplementedError

    def generate(self, latents: torch.Tensor) -> np.ndarray:
        """Pictures for the latents as N x H x W x 3 uint8, from the network meant for sampling."""
        raise NotImplementedError

    def load_for_inference(self, state: dict) -> None:
        """Only what sampling needs from a checkpoint's recipe state, so a checkpoint of any age generates."""
        raise NotImplementedError


class TranslatingRecipe(Recipe):
    """A model that turns pictures of one domain into another with ResNet generators of the reference layout.

    `directions` maps each way it converts ('AtoB', 'BtoA') to the key of that generator's weights in
    the recipe's state, so a run's generator opens without building the whole recipe.
    """

    kind: ClassVar[str] = TRANSLATE
    directions: ClassVar[dict[str, str]] = {}

    @classmethod
    def generator_state(cls, recipe_state: dict, direction: str) -> dict | None:
        """The `direction` generator's weights in a checkpoint's recipe state (None when it has none)."""
        key = cls.directions.get(direction)
        return recipe_state.get(key) if key is not None else None

    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        """N x 3 x H x W in [-1, 1] through the `direction` generator, in eval mode, float32."""
        raise NotImplementedError
