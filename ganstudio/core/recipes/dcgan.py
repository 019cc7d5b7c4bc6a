"""The DCGAN recipe: one discriminator step and one generator step per batch, an EMA generator for samples."""

from __future__ import annotations

import numpy as np
import torch

from ..augment import diff_augment
from ..config import RunConfig
from ..ema import AveragedSampler
from ..imaging import grid_count, make_grid
from ..latents import latents_for_seeds
from ..losses import discriminator_losses, discriminator_score, generator_loss, verdict_sign
from ..models.dcgan import DCGANDiscriminator, DCGANGenerator
from ..precision import autocast, make_scaler
from ..registry import register
from .base import BenchCase, GeneratingRecipe
from .options import Choice, Option, sample_average_option, size_preset_option



# A preset names a network size: the widths below times this factor. Sketch is about four times quicker a
# step than Standard on a CPU; Detailed can learn finer detail where a GPU has the arithmetic to spare.
PRESET_WIDTH_FACTORS = {"sketch": 0.5, "standard": 1.0, "detailed": 2.0}
LOSS_CHOICES = (
    Choice("nonsat", "Non-saturating (classic)", "The DCGAN paper's loss; works well on most folders."),
    Choice("hinge", "Hinge", "Often steadier on larger pictures."),
    Choice("lsgan", "Least squares", "Smooth gradients; the loss of LSGAN and CycleGAN."),
)


def default_width(size: int, device: torch.device) -> int:
    """Base channel count when the user leaves it automatic.

    On a GPU, the paper's 64. On a CPU a 64-wide DCGAN trains at about 70 images a second at 64 px
    (2 cores); 32 wide is 3.5 times faster and, at equal minutes, gives sharper, more varied samples.
    """
    if device.type == "cpu":
        return 32 if size <= 128 else 16
    return 64


def default_batch_size(device: torch.device) -> int:
    """Images per step when the user leaves it automatic.

    A CPU computes about as many images a second at batch 16 as at 64 (215 against 265 at 64 px, 2 cores),
    so 16 makes three times as many optimiser steps in the same minutes; on 2,000 emoji, 5 minutes gave
    a Frechet distance of 1.4 at batch 16 against 30 at batch 64 (our random-feature measure). A GPU
    is starved by batches that small, so it keeps DCGAN's 64.
    """
    return 16 if device.type == "cpu" else 64


def is_adaptive(config: RunConfig) -> bool:
    """Whether the balance guard sets the augmentation strength: with the default 'flip', where it starts at full
    strength and falls while the discriminator is not overfitting; 'diff' and 'diff+flip' augment always, 'none'
    never.

    Starting at full strength, not at ADA's 0, because the discriminator wins in the first ~20 steps, long before
    the guard could raise p: on 1,800 strokes on dark at 32 px (seed 0, 300 steps, KID on the features of
    tests/sample_distance.py) no augmentation gave grey pictures (KID 914), full strength from step 1 dark
    pictures with light strokes (KID 13)."""
    return config.data.augment == "flip"



@register("dcgan")
class DCGANRecipe(GeneratingRecipe):
    """DCGAN (Radford et al. 2015) trained with Adam, a choice of losses, and an averaged generator."""

    label = "DCGAN — the classic GAN"
    summary = "The classic GAN: quick on a CPU, best on simple, centred pictures."
    list_order = 10
    options = (
        size_preset_option(),
        Option("loss", "nonsat", "adversarial loss: non-saturating, hinge or least squares", "Loss",
               choices=LOSS_CHOICES, advanced=True),
        sample_average_option(),
    )
    loss_names = ("D/real", "D/fake", "G/adv")
    stat_names = ("D(x)", "D(G(z))", "sign D(x)", "sign D(G(z))", "augment p")
    balance_stat_names = ("sign D(x)", "sign D(G(z))")
    visual_names = ("fake",)
    sizes = (32, 64, 128, 256, 512)
    # The paper's widths (64) at batch 64, as the pytorch/examples DCGAN trains.
    bench_cases = (BenchCase(64, 64, (("preset", "standard"),), width=64),
                   BenchCase(128, 64, (("preset", "standard"),), width=64))

    @classmethod
    def reported_names(cls, config: RunConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The augmentation strength is a stat only where the balance guard adapts it."""
        if is_adaptive(config):
            return cls.loss_names, cls.stat_names
        return cls.loss_names, tuple(name for name in cls.stat_names if name != "augment p")

    @classmethod
    def upgrade_state(cls, state: dict, config: RunConfig) -> dict:
        """Checkpoints from before adaptive augmentation: DiffAugment was on only with 'diff' and 'diff+flip'."""
        if "augment_strength" not in state:
            state = {**state, "augment_strength": 1.0 if config.data.augment in ("diff", "diff+flip") else 0.0}
        return state

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        model = config.model
        if config.train.batch_size == 0:
            config.train.batch_size = default_batch_size(device)
        factor = PRESET_WIDTH_FACTORS[model.options.get("preset", "standard")]
        if model.g_width == 0:
            model.g_width = max(4, int(default_width(config.data.size, device) * factor))
        if model.d_width == 0:
            model.d_width = max(4, int(default_width(config.data.size, device) * factor))

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        super().__init__(config, device, precision)
        model, train = config.model, config.train
        self.latent_dim = model.latent_dim
        self.loss_kind = model.options["loss"]
        self.adaptive_augment = is_adaptive(config)
        self.augment_strength = 0.0 if config.data.augment == "none" else 1.0
        self.generator = DCGANGenerator(model.latent_dim, config.data.size, model.g_width).to(device)
        self.discriminator = DCGANDiscriminator(config.data.size, model.d_width).to(device)
        self.generator.to(memory_format=torch.channels_last)
        self.discriminator.to(memory_format=torch.channels_last)
        self.sampler = AveragedSampler(self.generator, model.options["ema"], train.seed + 1_000_003,
                                       lambda count, rng: torch.randn(count, self.latent_dim, generator=rng),
                                       max(16, train.batch_size), device)
        betas = (train.beta1, train.beta2)
        # Fused Adam on CUDA is one kernel per step, and lets the fp16 gradient scaler skip its per-step host sync.
        fused = device.type == "cuda"
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=train.lr_g, betas=betas, fused=fused)
        self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), lr=train.lr_d, betas=betas, fused=fused)
        self.scaler_g = make_scaler(device, precision)
        self.scaler_d = make_scaler(device, precision)
        # The fixed latents of the gallery: drawn from the run's seed, saved in every checkpoint.
        count = grid_count(config.data.size)
        self.fixed_latents = latents_for_seeds(list(range(train.seed, train.seed + count)), model.latent_dim)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.optimizer_g, "discriminator": self.optimizer_d}

    def train_step(self, batches: list[torch.Tensor], images_seen: int) -> torch.Tensor:
        real = batches[0]
        batch_size = real.shape[0]
        latents = torch.randn(batch_size, self.latent_dim, device=self.device)
        strength = self.augment_strength

        def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            return diff_augment(images, strength, generator)

        parts = list(self.parts(real, latents))  # one (weight, pieces) per micro-batch: see recipes/base.py
        generators = self.piece_generators(len(parts))

        self.optimizer_d.zero_grad(set_to_none=True)
        fakes, d_values, g_value = [], 0.0, 0.0
        for (weight, (real_part, latent_part)), generator in zip(parts, generators):
            with autocast(self.device, self.precision):
                fake = self.generator(latent_part)
                real_logits = self.discriminator(augment(real_part, generator))
                fake_logits = self.discriminator(augment(fake.detach(), generator))
                loss_real, loss_fake = discriminator_losses(self.loss_kind, real_logits, fake_logits)
            self.scaler_d.scale((loss_real + loss_fake) * weight).backward()
            fakes.append(fake)
            d_values = d_values + weight * torch.stack([
                loss_real.detach(), loss_fake.detach(),
                discriminator_score(self.loss_kind, real_logits), discriminator_score(self.loss_kind, fake_logits),
                verdict_sign(self.loss_kind, real_logits), verdict_sign(self.loss_kind, fake_logits)])
        self.scaler_d.step(self.optimizer_d)
        self.scaler_d.update()

        # D's own weight gradients are not needed for G's step: skipping them saves a third of D's backward.
        self.discriminator.requires_grad_(False)
        self.optimizer_g.zero_grad(set_to_none=True)
        for (weight, _), fake, generator in zip(parts, fakes, generators):
            with autocast(self.device, self.precision):
                loss_g = generator_loss(self.loss_kind, self.discriminator(augment(fake, generator)))
            self.scaler_g.scale(loss_g * weight).backward()
            g_value = g_value + weight * loss_g.detach()
        self.scaler_g.step(self.optimizer_g)
        self.scaler_g.update()
        self.discriminator.requires_grad_(True)

        self.sampler.update(self.generator, images_seen + batch_size, batch_size)
        values = [d_values[0], d_values[1], g_value, d_values[2], d_values[3], d_values[4], d_values[5]]
        if self.adaptive_augment:
            values.append(torch.full((), strength, device=self.device))  # a fill on the device: no host copy
        return torch.stack(values)

    def latents_for_seeds(self, seeds: list[int]) -> torch.Tensor:
        return latents_for_seeds(seeds, self.latent_dim)

    def sampling_generator(self) -> torch.nn.Module:
        """The network to sample from: the average when there is one, with batch norm recalibrated."""
        return self.sampler.network(self.generator)

    @torch.no_grad()
    def generate(self, latents: torch.Tensor) -> np.ndarray:
        """Pictures for the given latents as N x H x W x 3 uint8, from the sampling network in eval mode."""
        return self.sampler.generate(self.generator, latents)

    def sample_grid(self) -> np.ndarray:
        return make_grid(self.generate(self.fixed_latents))

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "generator_average": self.sampler.state_dict(),
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "fixed_latents": self.fixed_latents.clone(),
            "augment_strength": self.augment_strength,
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.sampler.load_state_dict(state["generator_average"])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.fixed_latents = state["fixed_latents"].clone()
        self.augment_strength = float(state["augment_strength"])

    def load_for_inference(self, state: dict) -> None:
        """Only what sampling needs, so `generate` works from a checkpoint of any age."""
        self.generator.load_state_dict(state["generator"])
        self.sampler.load_state_dict(state.get("generator_average"))
        self.fixed_latents = state["fixed_latents"].clone()

    @classmethod
    def textbook_step(cls, config: RunConfig, device: torch.device):
        """The pytorch/examples DCGAN step: a sigmoid discriminator with BCELoss, float32, `.item()` every step."""
        model = config.model
        generator = DCGANGenerator(model.latent_dim, config.data.size, model.g_width).to(device)
        discriminator = torch.nn.Sequential(DCGANDiscriminator(config.data.size, model.d_width),
                                            torch.nn.Sigmoid()).to(device)
        criterion = torch.nn.BCELoss()
        betas = (config.train.beta1, config.train.beta2)
        optimizer_g = torch.optim.Adam(generator.parameters(), lr=config.train.lr_g, betas=betas)
        optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=config.train.lr_d, betas=betas)

        def step(batches: list[torch.Tensor]) -> None:
            real = batches[0].to(device)
            count = real.shape[0]
            label = torch.full((count,), 1.0, device=device)
            discriminator.zero_grad()
            loss_real = criterion(discriminator(real).view(-1), label)
            loss_real.backward()
            fake = generator(torch.randn(count, model.latent_dim, device=device))
            label.fill_(0.0)
            loss_fake = criterion(discriminator(fake.detach()).view(-1), label)
            loss_fake.backward()
            optimizer_d.step()
            generator.zero_grad()
            label.fill_(1.0)
            output = discriminator(fake).view(-1)
            loss_g = criterion(output, label)
            loss_g.backward()
            optimizer_g.step()
            (loss_real + loss_fake).item(), loss_g.item(), output.mean().item()

        return step
