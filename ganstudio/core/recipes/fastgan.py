"""The FastGAN recipe: a skip-layer-excitation generator against a projected discriminator, for small datasets.

One discriminator step and one generator step per batch, both with the hinge loss. Everything the
discriminator sees, real or generated, first goes through DiffAugment (colour, translation,
cutout), so a few hundred pictures are not memorised; the discriminator then looks at them through
frozen ImageNet features (core/pretrained.py), which already know edges, textures and parts, so it
gives the generator useful gradients from the first steps instead of learning to see from scratch.
"""

from __future__ import annotations

import numpy as np
import torch

from ..augment import diff_augment
from ..config import RunConfig
from ..ema import AveragedSampler
from ..imaging import grid_count, make_grid
from ..latents import latents_for_seeds
from ..losses import discriminator_losses, generator_loss
from ..models.fastgan import FastGANGenerator, ProjectedDiscriminator
from ..precision import autocast, make_scaler
from ..registry import register
from .base import BenchCase, GeneratingRecipe
from .options import sample_average_option, size_preset_option

# Projected GAN's optimiser: Adam without momentum on the first moment (beta1 0), which keeps the
# two players from overshooting each other; beta2 0.99 follows StyleGAN2.
BETAS = (0.0, 0.99)
# The width that each preset multiplies. On a CPU the generator's cost dominates a step: at 64 px a
# width of 8 costs 0.35 GFLOP per picture forward and back, 16 costs 1.4 (DCGAN at its CPU width: 0.16).
PRESET_WIDTH_FACTORS = {"sketch": 0.5, "standard": 1.0, "detailed": 2.0}


def default_width(size: int, device: torch.device) -> int:
    """The generator width when the user leaves it automatic: FastGAN's 64 on a GPU (the 4x4 map has
    1,024 channels), a quarter of that on a CPU up to 128 px and an eighth above."""
    if device.type == "cpu":
        return 16 if size <= 128 else 8
    return 64


def feature_size(size: int) -> int:
    """The side pictures are resized to for the frozen feature network.

    ImageNet networks look at objects about 224 px across; at 64 px their last stage sees 2x2 and the
    heads have little to judge, so small pictures are enlarged to 128 (at 256 the network alone
    would cost 4.4 GFLOP a picture, five times the 64 px generator on a CPU). Above 512 px the
    features are taken at 512: the heads still judge the whole picture, and a 1,024 px feature pass
    would need four times the memory of the generator's own.
    """
    return min(max(size, 128), 512)


@register("fastgan")
class FastGANRecipe(GeneratingRecipe):
    """FastGAN's generator (Liu et al. 2021) trained against a projected discriminator (Sauer et al. 2021)."""

    label = "FastGAN — for small folders"
    summary = ("A modern GAN for a few hundred to a few thousand pictures: it looks through a network that "
               "already knows pictures, so it learns in far fewer steps.")
    list_order = 15
    options = (size_preset_option(), sample_average_option())
    loss_names = ("D/real", "D/fake", "G/adv")
    stat_names = ("D(x)", "D(G(z))")
    visual_names = ("fake",)
    sizes = (64, 128, 256, 512, 1024)
    bench_cases = tuple(BenchCase(size, 16, (("preset", "standard"),)) for size in (64, 128, 256))

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        model, train = config.model, config.train
        if train.batch_size == 0:
            # On a CPU a batch of 16 keeps steps short enough to watch; Projected GAN's 64 on a GPU.
            train.batch_size = 16 if device.type == "cpu" else 64
        factor = PRESET_WIDTH_FACTORS[model.options.get("preset", "standard")]
        if model.g_width == 0:
            model.g_width = max(4, int(default_width(config.data.size, device) * factor))
        if model.d_width == 0:
            model.d_width = 64 if device.type != "cpu" else 32

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        super().__init__(config, device, precision)
        model, train = config.model, config.train
        self.latent_dim = model.latent_dim
        self.generator = FastGANGenerator(model.latent_dim, config.data.size, model.g_width).to(device)
        self.discriminator = ProjectedDiscriminator(feature_size(config.data.size), width=model.d_width,
                                                    head_width=model.d_width).to(device)
        self.generator.to(memory_format=torch.channels_last)
        self.discriminator.to(memory_format=torch.channels_last)
        fused = device.type == "cuda"
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=train.lr_g, betas=BETAS, fused=fused)
        self.optimizer_d = torch.optim.Adam(self.discriminator.trained_parameters(), lr=train.lr_d, betas=BETAS,
                                            fused=fused)
        self.scaler_g = make_scaler(device, precision)
        self.scaler_d = make_scaler(device, precision)
        self.sampler = AveragedSampler(self.generator, model.options["ema"], train.seed + 1_000_003,
                                       lambda count, rng: torch.randn(count, self.latent_dim, generator=rng),
                                       max(16, train.batch_size), device)
        count = grid_count(config.data.size)
        self.fixed_latents = latents_for_seeds(list(range(train.seed, train.seed + count)), model.latent_dim)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def parameter_count(self) -> int:
        """The trained parameters: the frozen feature network and projection are not counted."""
        return (sum(p.numel() for p in self.generator.parameters())
                + sum(p.numel() for p in self.discriminator.trained_parameters()))

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.optimizer_g, "discriminator": self.optimizer_d}

    def train_step(self, batches: list[torch.Tensor], images_seen: int) -> torch.Tensor:
        real = batches[0]
        batch_size = real.shape[0]
        latents = torch.randn(batch_size, self.latent_dim, device=self.device)
        parts = list(self.parts(real, latents))  # one (weight, pieces) per micro-batch: see recipes/base.py

        self.optimizer_d.zero_grad(set_to_none=True)
        fakes, d_values, g_value = [], 0.0, 0.0
        for weight, (real_part, latent_part) in parts:
            with autocast(self.device, self.precision):
                fake = self.generator(latent_part)
                real_logits = self.discriminator(diff_augment(real_part))
                fake_logits = self.discriminator(diff_augment(fake.detach()))
                loss_real, loss_fake = discriminator_losses("hinge", real_logits, fake_logits)
            self.scaler_d.scale((loss_real + loss_fake) * weight).backward()
            fakes.append(fake)
            d_values = d_values + weight * torch.stack([
                loss_real.detach(), loss_fake.detach(),
                real_logits.detach().float().mean(), fake_logits.detach().float().mean()])
        self.scaler_d.step(self.optimizer_d)
        self.scaler_d.update()

        trained = self.discriminator.trained_parameters()
        for parameter in trained:  # G's step needs gradients to the pictures only
            parameter.requires_grad_(False)
        self.optimizer_g.zero_grad(set_to_none=True)
        for (weight, _), fake in zip(parts, fakes):
            with autocast(self.device, self.precision):
                loss_g = generator_loss("hinge", self.discriminator(diff_augment(fake)))
            self.scaler_g.scale(loss_g * weight).backward()
            g_value = g_value + weight * loss_g.detach()
        self.scaler_g.step(self.optimizer_g)
        self.scaler_g.update()
        for parameter in trained:
            parameter.requires_grad_(True)

        self.sampler.update(self.generator, images_seen + batch_size, batch_size)
        return torch.stack([d_values[0], d_values[1], g_value, d_values[2], d_values[3]])

    def latents_for_seeds(self, seeds: list[int]) -> torch.Tensor:
        return latents_for_seeds(seeds, self.latent_dim)

    def sampling_generator(self) -> torch.nn.Module:
        """The network to sample from: the average when there is one, with batch norm recalibrated."""
        return self.sampler.network(self.generator)

    @torch.no_grad()
    def generate(self, latents: torch.Tensor) -> np.ndarray:
        return self.sampler.generate(self.generator, latents)

    def sample_grid(self) -> np.ndarray:
        return make_grid(self.generate(self.fixed_latents))

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "discriminator_heads": self.discriminator.heads.state_dict(),
            "generator_average": self.sampler.state_dict(),
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "fixed_latents": self.fixed_latents.clone(),
            # The random projection is drawn from the run's seed at start; saved so a resume never depends
            # on drawing it again in the same order.
            "projection": self.discriminator.projection.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.heads.load_state_dict(state["discriminator_heads"])
        self.discriminator.projection.load_state_dict(state["projection"])
        self.sampler.load_state_dict(state["generator_average"])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.fixed_latents = state["fixed_latents"].clone()

    def load_for_inference(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.sampler.load_state_dict(state.get("generator_average"))
        self.fixed_latents = state["fixed_latents"].clone()
