"""The model contract: what a trainable model declares about itself and what the engine and front ends ask of it.

A model is one file: a Recipe subclass registered with @register("name"). Its class attributes
declare its label, its kind, its own options, its data needs, what it reports and what its gallery
shows; the CLI, the app, `generate` and `translate` are built from those declarations alone.

Micro-batches and several processes, the one contract every recipe keeps in `train_step`:

- `train_step` receives the step's whole batch (the same on every process under torchrun) and draws
  the same random numbers on every process, for the whole batch where it can (DCGAN's latents), so
  every process's generators stay in step and one checkpoint's RNG state serves them all. Numbers
  drawn per piece (DCGAN's DiffAugment) keep the generators in step too, but every process then
  draws the same ones for its own piece.
- It computes losses only on `self.parts(...)`: this process's share of the batch, cut into
  `self.split.micro_batches` pieces, each with a weight (its share of this process's pictures; the
  weights sum to 1). Each piece's loss is multiplied by its weight before `backward`, the gradients
  accumulate, and each optimiser steps once. The values it returns are the weighted sums too.
- `optimizers()` names every optimiser it steps. The engine averages their gradients across
  processes just before each one steps (and the returned values after the step), so a recipe never
  calls torch.distributed itself. With one process and one micro-batch, `parts` is the whole batch
  with weight 1.0, and the step is what it always was.
- State that follows the pictures a step sees rather than the weights (CycleGAN's pool of past fakes)
  must stay the same on every process: such a recipe passes its piece through `self.split.everyone(...)`
  (every process's pieces, in rank order: with one process, the piece itself) and takes its own part
  of the answer back with `self.split.mine(...)`.
- An out-of-memory error part-way through a step is the engine's to handle: it puts the recipe's
  state back (`state_dict` / `load_state_dict`), doubles `micro_batches` and runs the step again, so
  a recipe needs no code of its own for it beyond keeping this contract.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

import numpy as np
import torch

from ..config import SIZES, RunConfig
from ..registry import GENERATE, TRANSLATE
from .options import Option, check_values


@dataclass(frozen=True)
class BatchSplit:
    """How one step's batch is shared out: among `processes` (this one is `rank`), then into `micro_batches`."""

    rank: int = 0
    processes: int = 1
    micro_batches: int = 1
    # Every process's tensors of the same shape, concatenated in rank order; the engine's, under torchrun.
    gather: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, compare=False, repr=False)

    def everyone(self, piece: torch.Tensor) -> torch.Tensor:
        """Every process's `piece` of this micro-batch, in rank order (the piece itself with one process)."""
        if self.processes == 1 or self.gather is None:
            return piece
        return self.gather(piece)

    def mine(self, everyones: torch.Tensor) -> torch.Tensor:
        """This process's part of what `everyone` gave (transformed along the first dimension, not reordered)."""
        if self.processes == 1:
            return everyones
        return everyones.chunk(self.processes)[self.rank]

    def parts(self, *tensors: torch.Tensor) -> Iterator[tuple[float, tuple[torch.Tensor, ...]]]:
        """(weight, pieces) for each micro-batch of this process's share of tensors cut along their first dimension."""
        total = tensors[0].shape[0]
        if total % self.processes:
            raise ValueError(f"a batch of {total} cannot be shared equally among {self.processes} processes")
        share = total // self.processes
        start = self.rank * share
        local = [tensor[start:start + share] for tensor in tensors]
        for pieces in zip(*(torch.tensor_split(tensor, min(self.micro_batches, share)) for tensor in local)):
            yield pieces[0].shape[0] / share, pieces


@dataclass(frozen=True)
class BenchCase:
    """One configuration `ganstudio bench` times for a model: a size, a batch, its own options (a preset), widths.

    `width` 0 leaves the widths to the model's own choice for the device; a case that should match a
    published reference (the DCGAN paper's 64) says so.
    """

    size: int
    batch_size: int
    options: tuple[tuple[str, Any], ...] = ()
    width: int = 0

    @property
    def label(self) -> str:
        named = ", ".join(str(value) for _, value in self.options)
        return f"{self.size} px{', ' + named if named else ''}, batch {self.batch_size}"


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
    # Device types ('cuda', 'mps', 'cpu') where this model measured best of its kind: there it is listed
    # first and new runs get it (registry.default_recipe); elsewhere `list_order` decides.
    preferred_devices: ClassVar[tuple[str, ...]] = ()
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
    # What `ganstudio bench` times for this model; a model with none is not benchmarked.
    bench_cases: ClassVar[tuple[BenchCase, ...]] = ()

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        self.split = BatchSplit()  # the engine sets it; see the module's note on micro-batches and processes
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
    def upgrade_state(cls, state: dict, config: RunConfig) -> dict:
        """A checkpoint's recipe state from an earlier version, with what this version added filled in as that
        run behaved, so a run saved before an update continues after it (the default: nothing was added)."""
        return state

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        """Fill the config's automatic values (widths, batch size, 'auto' options) for this device, in place."""

    @classmethod
    def load_size(cls, config: RunConfig) -> int:
        """The size pictures are decoded at: the training size, or larger when the recipe trains on random crops."""
        return config.data.size

    @classmethod
    def textbook_step(cls, config: RunConfig, device: torch.device) -> Callable[[list[torch.Tensor]], None] | None:
        """For `ganstudio bench`: one training step written the textbook way in plain PyTorch (float32, a host sync
        per step), taking each domain's batch as a standard DataLoader gives it, on the CPU. None: the bench uses
        this recipe itself in float32, fed by a DataLoader and read back every step."""
        return None

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

    def parts(self, *tensors: torch.Tensor) -> Iterator[tuple[float, tuple[torch.Tensor, ...]]]:
        """This process's micro-batches of the step's whole-batch `tensors`, as (weight, pieces); see the module note."""
        return self.split.parts(*tensors)

    def piece_generators(self, count: int) -> list[torch.Generator]:
        """One random generator for each of this process's `count` micro-batches, for what a step draws per picture
        (augmentation). Seeded from one draw of the global generator, which every process makes alike, and from
        the piece's place among all processes' pieces: two processes then draw what one process draws in two
        micro-batches, where drawing from the global generator would give every process the same draws."""
        seed = int(torch.randint(0, 2 ** 62, (1,)))
        first = self.split.rank * count
        return [torch.Generator(device=self.device).manual_seed(seed + first + index) for index in range(count)]

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser `train_step` steps, by name; the engine synchronises their gradients across processes."""
        raise NotImplementedError

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

    def sampling_generator(self) -> torch.nn.Module:
        """The network `generate` samples from, ready to sample: latents in, pictures in [-1, 1] out."""
        raise NotImplementedError

    def sampling_snapshot(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """A standalone copy of the sampling network, taken between steps: latents -> N x C x H x W float32
        pictures in [-1, 1] on the recipe's device. Later steps do not change it, so another thread may call it.

        The copy itself is cheap (3 ms for DCGAN's generator at 64 px, width 32, on one CPU core; what
        `sampling_generator` does first may cost more), and every network's train/eval mode is put back as
        it was, so taking it leaves training exactly as it would have been.
        """
        modes = [(module, module.training) for network in self.networks().values() for module in network.modules()]
        network = copy.deepcopy(self.sampling_generator()).eval().requires_grad_(False)
        for module, training in modes:
            module.training = training
        device = self.device

        def sample(latents: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return network(latents.to(device)).float()

        return sample


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
