"""The CycleGAN recipe: unpaired image-to-image translation trained the way the reference implementation does.

Two ResNet generators (G_A: A to B, G_B: B to A) and two 70x70 PatchGANs (D_A judges B pictures,
D_B judges A pictures), least-squares adversarial losses, cycle losses weighted 10, identity losses
0.5 of that, a pool of 50 past fakes for each discriminator, Adam at 2e-4 with beta1 0.5, and a
learning rate that stays constant for the first half of the run and then falls linearly towards zero.
Names follow the reference, so its users read our plots as they read its logs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..imaging import make_grid, to_uint8_images
from ..models.translation import GeneratorSpec, PatchDiscriminator, ResnetGenerator, init_weights
from ..precision import autocast, make_scaler
from ..registry import register
from .base import BenchCase, TranslatingRecipe
from .options import Choice, Option

CYCLE_WEIGHT = 10.0  # lambda_A and lambda_B of the reference
IDENTITY_WEIGHT = 0.5  # times the cycle weight: an identity loss of 5
POOL_SIZE = 50
CONSTANT_SHARE = 0.5  # the reference trains 100 epochs at full rate, then 100 decaying
# Pictures are decoded this much larger than the training size and cropped at random, as the
# reference loads at 286 px to train on 256 px crops. Training on the whole pictures instead (no enlargement,
# no crop) was mixed at --minutes 5, 64 px: pixel error 0.054 against 0.070 on day/night but 0.079 against
# 0.071 on plain/striped, phase-blind 0.034 against 0.034 and 0.046 against 0.044; so the reference's way stays.
LOAD_RATIO = 286 / 256


@dataclass(frozen=True)
class Preset:
    """Network sizes: generator and discriminator base filters, and residual blocks below and from 256 px."""

    filters: int
    disc_filters: int
    blocks_small: int
    blocks_large: int

    def blocks(self, size: int) -> int:
        return self.blocks_large if size >= 256 else self.blocks_small


PRESETS = {
    # The reference's networks: ngf 64, ndf 64, resnet_6blocks at 128 px and resnet_9blocks from 256 px.
    "default": Preset(64, 64, 6, 9),
    # Half the filters, a quarter of the arithmetic: 3.1 times the steps a minute on a CPU (0.50 against 0.16
    # images/s, 128 px, one contended EPYC core). In ten CPU minutes on the day/night demo it came closer to the
    # true translation than the default networks (mean error 20.7 against 30, of 147 untranslated); 16 filters
    # ran 3 times faster again but only matched it (20.2), and wider networks gain more as budgets grow.
    # Against the reference tool itself, ten minutes each side by side on one core each at 64 px (its defaults:
    # 64 filters, 9 blocks, float32), light in bf16 did 1,799 steps to its 305 and came closer to the truth on
    # both demo pairs: pixel error 0.072 against 0.119 and phase-blind 0.033 against 0.059 on day/night, 0.072
    # against 0.094 and 0.041 against 0.052 on plain/striped (README, CycleGAN). At five minutes 64 filters
    # (0.112 and 0.091), 9 blocks (0.075, 0.089) and float32 (0.073, 0.103) each did worse than light's 0.070
    # and 0.071 pixel error.
    "light": Preset(32, 32, 6, 9),
}
PRESET_OPTION = Option(
    "preset", "auto", "network size: default (the reference's), light (half the filters, for CPUs) or auto "
                      "(light on a CPU, default on a GPU)", "Networks",
    choices=(Choice("auto", "Automatic — by device",
                    "Light when training on the CPU, the reference's full networks on a GPU."),
             Choice("default", "Full — for GPUs",
                    "The networks of the CycleGAN paper: 64 filters. Best results, but slow without a GPU."),
             Choice("light", "Light — for CPUs",
                    "Half the filters of the full networks, a quarter of the arithmetic: about three times the "
                    "steps a minute, and in ten CPU minutes it gets further than the full ones.")))


def resolve_preset(preset: str, device: torch.device) -> str:
    """'auto' is light on a CPU, where the default networks learn too little in the minutes a user waits."""
    preset = PRESET_OPTION.check(preset, "cyclegan")
    if preset == "auto":
        return "light" if device.type == "cpu" else "default"
    return preset


def load_size_for(size: int) -> int:
    """The size pictures are decoded at to train at `size`: random crops of this are the training pictures."""
    return round(size * LOAD_RATIO)


def preview_count(size: int) -> int:
    """How many fixed test pictures of each domain the gallery shows (columns of the sample grid)."""
    return 8 if size <= 128 else 6 if size <= 256 else 4


def learning_rate_factor(done: float, total: float | None, constant_share: float | None = None) -> float:
    """The reference's 'linear' policy, per step: 1 for the first half of the target (or `constant_share` of
    it), then down towards 0.

    A pure function of progress through the target (steps, or seconds for a time target): resuming
    at the same point gives the same rate, and extending a run's target restarts the decay from
    where the longer plan would be.
    """
    if total is None or total <= 0:
        return 1.0
    decay_start = (CONSTANT_SHARE if constant_share is None else constant_share) * total
    if done <= decay_start:
        return 1.0
    return max(0.0, (total - done) / (total - decay_start))


def decay_target(config: RunConfig, total: float | None) -> float | None:
    """The target the learning rate decays over: the run's, except for a time target, which keeps the full rate.

    A run cut by the clock is a short one that is still learning (ten CPU minutes are a few thousand steps;
    the reference decays after 100 epochs). Measured at 400 steps, 64 px, on both demo pairs
    (tests/measure_translation.py), the full rate throughout came closer to the truth than halving the run
    with a decay: pixel error 0.088 against 0.094 and phase-blind 0.047 against 0.050 on day/night, 0.108
    against 0.110 and 0.058 against 0.063 on plain/striped. At --minutes 4 (about 210 steps on a loaded
    core) it was mixed: day/night 0.106 against 0.107 and 0.057 against 0.063, but plain/striped 0.116
    against 0.104 and 0.064 against 0.062. One seed each: weak evidence, three comparisons of four for it.
    At --minutes 5 (about 1,390 steps, one core each) it was even: decaying over the second half gave pixel
    error 0.069 against 0.070 and phase-blind 0.034 against 0.034 on day/night, 0.069 against 0.071 and 0.045
    against 0.044 on plain/striped. Epoch and step targets keep the reference's plan.
    """
    return None if config.train.minutes is not None else total


def fixed_pictures(domain_pixels: list[np.ndarray], size: int) -> list[torch.Tensor]:
    """The gallery's fixed test pictures: evenly spaced through each domain, centre windows at training size."""
    count = min(preview_count(size), *(len(pixels) for pixels in domain_pixels))  # whole columns in the grid
    picked = []
    for pixels in domain_pixels:
        indices = np.linspace(0, len(pixels) - 1, count).round().astype(int)
        top, left = (pixels.shape[1] - size) // 2, (pixels.shape[2] - size) // 2
        picked.append(torch.from_numpy(np.ascontiguousarray(pixels[indices, top:top + size, left:left + size])))
    return picked


class FakeImagePool:
    """The reference's history of generated pictures: once full, half of the time a query returns an older
    fake (and keeps the new one in its place), so the discriminator does not chase only the latest generator."""

    def __init__(self, capacity: int, seed: int):
        self.capacity = capacity
        self.images: torch.Tensor | None = None  # capacity x C x H x W, allocated with the first picture
        self.count = 0
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()
        if self.capacity == 0:
            return images
        if self.images is None:
            self.images = torch.empty((self.capacity, *images.shape[1:]), dtype=images.dtype, device=images.device)
        chosen = []
        for image in images:
            if self.count < self.capacity:
                self.images[self.count] = image
                self.count += 1
                chosen.append(image)
            elif float(torch.rand((), generator=self.generator)) > 0.5:
                slot = int(torch.randint(self.capacity, (), generator=self.generator))
                chosen.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                chosen.append(image)
        return torch.stack(chosen)

    def state_dict(self) -> dict:
        stored = self.images[:self.count].clone().cpu() if self.images is not None else torch.zeros(0)
        return {"images": stored, "count": self.count, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.count = int(state["count"])
        self.generator.set_state(state["generator"])
        stored = state["images"]
        if self.count == 0:
            self.images = None
            return
        self.images = torch.empty((self.capacity, *stored.shape[1:]), dtype=stored.dtype, device=device)
        self.images[:self.count] = stored.to(device)


def least_squares(scores: torch.Tensor, target: float) -> torch.Tensor:
    """LSGAN's loss: the mean squared distance of the scores from the target label, in float32."""
    return (scores.float() - target).square().mean()


def to_device_images(pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
    """N x H x W x 3 uint8 to N x 3 x H x W in [-1, 1] on `device`."""
    return pixels.to(device).permute(0, 3, 1, 2).float().mul(2.0 / 255.0).sub(1.0).contiguous()


@register("cyclegan")
class CycleGANRecipe(TranslatingRecipe):
    """CycleGAN (Zhu et al. 2017) as the reference implementation trains it."""

    label = "CycleGAN — both ways"
    summary = "Learns both directions, A to B and B to A, from two folders that need not match picture for picture."
    list_order = 20
    options = (PRESET_OPTION,)
    directions = {"AtoB": "generator_a", "BtoA": "generator_b"}
    loss_names = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")
    stat_names = ("lr",)
    visual_names = ("real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B")
    domains = ("A", "B")
    demo_sets = ("day", "night")
    default_size = 128
    # Both presets at the reference's batch of one, at the sizes people train it at.
    bench_cases = tuple(BenchCase(size, 1, (("preset", preset),)) for preset in ("light", "default")
                        for size in (128, 256))

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        model = config.model
        model.options["preset"] = resolve_preset(model.options.get("preset", "auto"), device)
        if config.train.batch_size == 0:
            config.train.batch_size = 1  # the reference's batch: instance norm over one picture
        preset = PRESETS[model.options["preset"]]
        if model.g_width == 0:
            model.g_width = preset.filters
        if model.d_width == 0:
            model.d_width = preset.disc_filters
        if config.run.sample_every_epochs == 0:
            # One picture a step makes an epoch of a 1,000-picture folder minutes long even on a GPU: a grid each.
            config.run.sample_every_epochs = 1

    @classmethod
    def load_size(cls, config: RunConfig) -> int:
        return load_size_for(config.data.size)

    @classmethod
    def generator_spec(cls, config: RunConfig) -> GeneratorSpec:
        preset = PRESETS[resolve_preset(config.model.options.get("preset", "auto"), torch.device("cpu"))]
        return GeneratorSpec(filters=config.model.g_width or preset.filters, blocks=preset.blocks(config.data.size))

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        super().__init__(config, device, precision)
        train = config.train
        spec = self.generator_spec(config)
        self.spec = spec
        disc_filters = config.model.d_width or spec.filters
        self.generator_a = ResnetGenerator(spec).to(device)  # A to B
        self.generator_b = ResnetGenerator(spec).to(device)  # B to A
        self.discriminator_a = PatchDiscriminator(disc_filters).to(device)  # judges B pictures
        self.discriminator_b = PatchDiscriminator(disc_filters).to(device)  # judges A pictures
        # Channels-last feeds GPU tensor cores; on CPUs these networks ran 8% slower with it (2-core EPYC,
        # 128 px, both presets, interleaved timing), so there they keep PyTorch's usual layout.
        self.memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        for network in self.networks().values():
            network.apply(init_weights)
            network.to(memory_format=self.memory_format)
        betas = (train.beta1, train.beta2)
        self.base_lr_g, self.base_lr_d = train.lr_g, train.lr_d
        self.optimizer_g = torch.optim.Adam([*self.generator_a.parameters(), *self.generator_b.parameters()],
                                            lr=train.lr_g, betas=betas)
        self.optimizer_d = torch.optim.Adam([*self.discriminator_a.parameters(), *self.discriminator_b.parameters()],
                                            lr=train.lr_d, betas=betas)
        self.scaler_g = make_scaler(device, precision)
        self.scaler_d = make_scaler(device, precision)
        self.pool_fake_a = FakeImagePool(POOL_SIZE, train.seed + 101)
        self.pool_fake_b = FakeImagePool(POOL_SIZE, train.seed + 202)
        self.lr_factor = 1.0
        self.fixed_a = torch.zeros(0, config.data.size, config.data.size, 3, dtype=torch.uint8)
        self.fixed_b = self.fixed_a.clone()

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator_a": self.generator_a, "generator_b": self.generator_b,
                "discriminator_a": self.discriminator_a, "discriminator_b": self.discriminator_b}

    def attach_data(self, domain_pixels: list[np.ndarray]) -> None:
        self.fixed_a, self.fixed_b = fixed_pictures(domain_pixels, self.config.data.size)

    def before_step(self, done: float, total: float | None) -> None:
        self.lr_factor = learning_rate_factor(done, decay_target(self.config, total))
        for group in self.optimizer_g.param_groups:
            group["lr"] = self.base_lr_g * self.lr_factor
        for group in self.optimizer_d.param_groups:
            group["lr"] = self.base_lr_d * self.lr_factor

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generators": self.optimizer_g, "discriminators": self.optimizer_d}

    def train_step(self, batches: list[torch.Tensor], images_seen: int) -> torch.Tensor:
        real_a, real_b = (batch.contiguous(memory_format=self.memory_format) for batch in batches)
        parts = list(self.parts(real_a, real_b))  # one (weight, pieces) per micro-batch: see recipes/base.py
        discriminators = (self.discriminator_a, self.discriminator_b)
        for network in discriminators:
            network.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        self.optimizer_g.zero_grad(set_to_none=True)
        fakes, g_values = [], 0.0
        for weight, (part_a, part_b) in parts:
            loss_g, losses, fake_a, fake_b = self._generator_losses(part_a, part_b)
            self.scaler_g.scale(loss_g * weight).backward()
            fakes.append((fake_a.detach(), fake_b.detach()))
            g_values = g_values + weight * losses
        self.scaler_g.step(self.optimizer_g)
        self.scaler_g.update()
        for network in discriminators:
            network.requires_grad_(True)

        self.optimizer_d.zero_grad(set_to_none=True)
        d_values = 0.0
        for (weight, (part_a, part_b)), (fake_a, fake_b) in zip(parts, fakes):
            loss_d_a, loss_d_b = self._discriminator_losses(part_a, part_b, fake_a, fake_b)
            self.scaler_d.scale((loss_d_a + loss_d_b) * weight).backward()
            d_values = d_values + weight * torch.stack([loss_d_a.detach(), loss_d_b.detach()])
        self.scaler_d.step(self.optimizer_d)
        self.scaler_d.update()

        loss_g_a, loss_cycle_a, loss_idt_a, loss_g_b, loss_cycle_b, loss_idt_b = g_values.unbind()
        return torch.stack([d_values[0], loss_g_a, loss_cycle_a, loss_idt_a, d_values[1], loss_g_b, loss_cycle_b,
                            loss_idt_b, loss_g_a.new_full((), self.base_lr_g * self.lr_factor)])  # a fill, not a copy

    def _generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor):
        """G's whole loss on one micro-batch, its six parts (detached), and the fakes the discriminators judge."""
        count = real_a.shape[0]
        with autocast(self.device, self.precision):
            # G_A sees real A (to translate) and real B (identity) in one batch; instance norm keeps the
            # pictures independent, and one call of twice the batch is cheaper than two.
            fake_b, same_b = self.generator_a(torch.cat([real_a, real_b])).split(count)
            fake_a, same_a, rec_a = self.generator_b(torch.cat([real_b, real_a, fake_b])).split(count)
            rec_b = self.generator_a(fake_a)
            loss_g_a = least_squares(self.discriminator_a(fake_b), 1.0)
            loss_g_b = least_squares(self.discriminator_b(fake_a), 1.0)
        loss_cycle_a = F.l1_loss(rec_a.float(), real_a) * CYCLE_WEIGHT
        loss_cycle_b = F.l1_loss(rec_b.float(), real_b) * CYCLE_WEIGHT
        loss_idt_a = F.l1_loss(same_b.float(), real_b) * CYCLE_WEIGHT * IDENTITY_WEIGHT
        loss_idt_b = F.l1_loss(same_a.float(), real_a) * CYCLE_WEIGHT * IDENTITY_WEIGHT
        loss_g = loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b
        losses = torch.stack([loss_g_a, loss_cycle_a, loss_idt_a, loss_g_b, loss_cycle_b, loss_idt_b]).detach()
        return loss_g, losses, fake_a, fake_b

    def _discriminator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor,
                              fake_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D_A's and D_B's losses on one micro-batch, judging pooled fakes against real pictures."""
        count = real_a.shape[0]
        # The pools see every process's fakes, in the order one process at the whole batch would: the same
        # pools on every process, so one checkpoint's pools continue them all.
        pooled_fake_b = self.split.mine(self.pool_fake_b.query(self.split.everyone(fake_b)))
        pooled_fake_a = self.split.mine(self.pool_fake_a.query(self.split.everyone(fake_a)))
        with autocast(self.device, self.precision):
            real_scores_a, fake_scores_a = self.discriminator_a(torch.cat([real_b, pooled_fake_b])).split(count)
            real_scores_b, fake_scores_b = self.discriminator_b(torch.cat([real_a, pooled_fake_a])).split(count)
        loss_d_a = 0.5 * (least_squares(real_scores_a, 1.0) + least_squares(fake_scores_a, 0.0))
        loss_d_b = 0.5 * (least_squares(real_scores_b, 1.0) + least_squares(fake_scores_b, 0.0))
        return loss_d_a, loss_d_b

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        """N x 3 x H x W in [-1, 1] through G_A ('AtoB') or G_B ('BtoA'), in eval mode and float32."""
        network = self.generator_a if direction == "AtoB" else self.generator_b
        network.eval()
        try:
            return network(images.to(self.device)).float()
        finally:
            network.train()

    def sample_grid(self) -> np.ndarray:
        """Rows real A, fake B, reconstructed A, real B, fake A, reconstructed B; one column per fixed picture."""
        real_a, real_b = to_device_images(self.fixed_a, self.device), to_device_images(self.fixed_b, self.device)
        fake_b = self.translate(real_a, "AtoB")
        rec_a = self.translate(fake_b, "BtoA")
        fake_a = self.translate(real_b, "BtoA")
        rec_b = self.translate(fake_a, "AtoB")
        rows = [to_uint8_images(images) for images in (real_a, fake_b, rec_a, real_b, fake_a, rec_b)]
        return make_grid(np.concatenate(rows), columns=max(1, len(self.fixed_a)))

    def state_dict(self) -> dict:
        return {
            **{name: network.state_dict() for name, network in self.networks().items()},
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "pool_fake_a": self.pool_fake_a.state_dict(),
            "pool_fake_b": self.pool_fake_b.state_dict(),
            "fixed_a": self.fixed_a.clone(),
            "fixed_b": self.fixed_b.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        for name, network in self.networks().items():
            network.load_state_dict(state[name])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.pool_fake_a.load_state_dict(state["pool_fake_a"], self.device)
        self.pool_fake_b.load_state_dict(state["pool_fake_b"], self.device)
        self.fixed_a, self.fixed_b = state["fixed_a"].clone(), state["fixed_b"].clone()

    @classmethod
    def textbook_step(cls, config: RunConfig, device: torch.device):
        """The reference's optimize_parameters as its train.py runs it: float32, a separate call per network and
        picture set, MSE against target tensors, the pools, losses read back (a host sync) every step."""
        spec = cls.generator_spec(config)
        generator_a, generator_b = ResnetGenerator(spec).to(device), ResnetGenerator(spec).to(device)
        discriminator_a = PatchDiscriminator(config.model.d_width or spec.filters).to(device)
        discriminator_b = PatchDiscriminator(config.model.d_width or spec.filters).to(device)
        for network in (generator_a, generator_b, discriminator_a, discriminator_b):
            network.apply(init_weights)
        betas = (config.train.beta1, config.train.beta2)
        optimizer_g = torch.optim.Adam([*generator_a.parameters(), *generator_b.parameters()], lr=config.train.lr_g,
                                       betas=betas)
        optimizer_d = torch.optim.Adam([*discriminator_a.parameters(), *discriminator_b.parameters()],
                                       lr=config.train.lr_d, betas=betas)
        pool_a, pool_b = FakeImagePool(POOL_SIZE, 1), FakeImagePool(POOL_SIZE, 2)
        mse, l1 = torch.nn.MSELoss(), torch.nn.L1Loss()

        def adversarial(prediction: torch.Tensor, real: bool) -> torch.Tensor:
            return mse(prediction, torch.tensor(1.0 if real else 0.0, device=device).expand_as(prediction))

        def step(batches: list[torch.Tensor]) -> None:
            real_a, real_b = (batch.to(device) for batch in batches)
            fake_b = generator_a(real_a)
            rec_a = generator_b(fake_b)
            fake_a = generator_b(real_b)
            rec_b = generator_a(fake_a)
            for network in (discriminator_a, discriminator_b):
                network.requires_grad_(False)
            optimizer_g.zero_grad()
            idt_a, idt_b = generator_a(real_b), generator_b(real_a)
            loss_idt = (l1(idt_a, real_b) + l1(idt_b, real_a)) * CYCLE_WEIGHT * IDENTITY_WEIGHT
            loss_g = (adversarial(discriminator_a(fake_b), True) + adversarial(discriminator_b(fake_a), True)
                      + (l1(rec_a, real_a) + l1(rec_b, real_b)) * CYCLE_WEIGHT + loss_idt)
            loss_g.backward()
            optimizer_g.step()
            for network in (discriminator_a, discriminator_b):
                network.requires_grad_(True)
            optimizer_d.zero_grad()
            losses_d = []
            for discriminator, real, pool, fake in ((discriminator_a, real_b, pool_b, fake_b),
                                                    (discriminator_b, real_a, pool_a, fake_a)):
                loss_d = 0.5 * (adversarial(discriminator(real), True)
                                + adversarial(discriminator(pool.query(fake).detach()), False))
                loss_d.backward()
                losses_d.append(loss_d)
            optimizer_d.step()
            loss_g.item(), [loss.item() for loss in losses_d]

        return step
