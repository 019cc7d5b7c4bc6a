"""A toy model in one file, to prove the model contract: it trains, resumes, generates and shows in every list.

Nothing else in GAN Studio names it: the registry finds this file through GANSTUDIO_PLUGINS (or as a
module in core/recipes), and the CLI, the app, `generate` and the engine work from what it declares.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.imaging import make_grid, to_uint8_images
from ganstudio.core.recipes.base import GeneratingRecipe
from ganstudio.core.recipes.options import Choice, Option
from ganstudio.core.registry import register

LATENT = 8


def seed_latents(seeds: list[int]) -> torch.Tensor:
    return torch.stack([torch.randn(LATENT, generator=torch.Generator().manual_seed(int(seed))) for seed in seeds])


@register("toy")
class ToyRecipe(GeneratingRecipe):
    """One linear layer each way: a generator of flat pictures and a critic of them."""

    label = "Toy — a test of the model contract"
    summary = "Two linear layers; learns the mean colour of your pictures, nothing more."
    list_order = 900
    options = (
        Option("activation", "tanh", "the generator's output squashing", "Activation",
               choices=(Choice("tanh", "Tanh"), Choice("clamp", "Clamp"))),
        Option("penalty", 0.0, "weight of a penalty on the critic's outputs (0: off, and not plotted)",
               "Penalty", minimum=0.0, maximum=10.0, advanced=True),
    )
    loss_names = ("D", "G", "penalty")
    stat_names = ("D(x)",)
    visual_names = ("fake",)
    sizes = (32, 64)
    default_size = 32

    @classmethod
    def reported_names(cls, config: RunConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
        losses = cls.loss_names if config.model.options.get("penalty", 0.0) > 0 else cls.loss_names[:2]
        return losses, cls.stat_names

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        if config.train.batch_size == 0:
            config.train.batch_size = 8

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        super().__init__(config, device, precision)
        pixels = 3 * config.data.size * config.data.size
        self.size = config.data.size
        self.penalty = float(config.model.options["penalty"])
        self.squash = torch.tanh if config.model.options["activation"] == "tanh" else (lambda x: x.clamp(-1, 1))
        self.generator = nn.Linear(LATENT, pixels).to(device)
        self.critic = nn.Linear(pixels, 1).to(device)
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=config.train.lr_g, betas=(0.5, 0.999))
        self.optimizer_d = torch.optim.Adam(self.critic.parameters(), lr=config.train.lr_d, betas=(0.5, 0.999))
        self.fixed_latents = seed_latents(list(range(4)))

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "critic": self.critic}

    def _images(self, latents: torch.Tensor) -> torch.Tensor:
        return self.squash(self.generator(latents)).view(-1, 3, self.size, self.size)

    def train_step(self, batches: list[torch.Tensor], images_seen: int) -> torch.Tensor:
        real = batches[0].float().flatten(1)
        fake = self._images(torch.randn(real.shape[0], LATENT, device=self.device)).flatten(1)
        real_scores, fake_scores = self.critic(real), self.critic(fake.detach())
        loss_d = nn.functional.softplus(-real_scores).mean() + nn.functional.softplus(fake_scores).mean()
        penalty = self.penalty * (real_scores.square().mean() + fake_scores.square().mean())
        self.optimizer_d.zero_grad(set_to_none=True)
        (loss_d + penalty).backward()
        self.optimizer_d.step()
        loss_g = nn.functional.softplus(-self.critic(fake)).mean()
        self.optimizer_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizer_g.step()
        values = [loss_d.detach(), loss_g.detach()] + ([penalty.detach()] if self.penalty > 0 else [])
        return torch.stack(values + [torch.sigmoid(real_scores).mean().detach()])

    def latents_for_seeds(self, seeds: list[int]) -> torch.Tensor:
        return seed_latents(seeds)

    @torch.no_grad()
    def generate(self, latents: torch.Tensor) -> np.ndarray:
        return to_uint8_images(self._images(latents.to(self.device)))

    def sample_grid(self) -> np.ndarray:
        return make_grid(self.generate(self.fixed_latents))

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "optimizer_g": self.optimizer_g.state_dict(), "optimizer_d": self.optimizer_d.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])

    def load_for_inference(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
