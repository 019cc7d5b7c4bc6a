"""The CUT recipe: one-way image-to-image translation by patchwise contrastive learning, with FastCUT as a preset.

CUT (Park et al. 2020) trains one ResNet generator (A to B) and one PatchGAN (judging B pictures):
least-squares adversarial loss, plus PatchNCE, which asks each patch of a translation to match the
same patch of its input, in the generator's own encoder features (core/models/contrastive.py),
rather than cycling back through a second generator. CUT also asks a B picture to come through
unchanged by the same loss (identity NCE), weight 1 each; FastCUT drops that pass and weighs NCE 10.
Adam at 2e-4 with beta1 0.5 for all three networks, and CycleGAN's plan of the rate (recipes/cyclegan.py).
Loss names follow the reference's logs.

One addition of ours, on by default: CycleGAN's identity loss, an L1 distance between a B picture and
its pass through the generator (weight 5, as CycleGAN's). PatchNCE compares each patch only with
other patches of the same picture, so it keeps a picture's parts apart but not their colours: FastCUT
turned every striped shape one teal or purple whatever its own colour. The identity pass ties colours
the generator has no reason to change (figures at IDENTITY_OPTION). Beside it FastCUT weighs NCE 4, not 10
(figures at NCE_WEIGHT_OPTION).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..imaging import make_grid, to_uint8_images
from ..models.contrastive import PATCHES, PatchSampler, layer_channels, nce_loss, translate_with_features
from ..models.translation import GeneratorSpec, PatchDiscriminator, ResnetGenerator, init_weights
from ..precision import autocast, make_scaler
from ..registry import register
from .base import TranslatingRecipe
from .cyclegan import (PRESETS, decay_target, fixed_pictures, learning_rate_factor, least_squares, load_size_for,
                       to_device_images)
from .options import Choice, Option


@dataclass(frozen=True)
class Variant:
    """What sets CUT and FastCUT apart: the identity NCE pass, the share of the run at full rate, and the NCE
    weight: the paper's (what runs saved before NCE_WEIGHT_OPTION trained with, and the choice without the
    identity L1) and ours beside the identity L1."""

    identity: bool
    constant_share: float
    paper_nce_weight: float
    nce_weight_with_identity_l1: float


VARIANTS = {
    # The reference: 200 epochs, then 200 decaying.
    "cut": Variant(identity=True, constant_share=0.5, paper_nce_weight=1.0, nce_weight_with_identity_l1=1.0),
    # 150 epochs, then 50 decaying.
    "fastcut": Variant(identity=False, constant_share=0.75, paper_nce_weight=10.0, nce_weight_with_identity_l1=4.0),
}
# FastCUT is the default. Without the identity L1, at equal minutes it came closer to the truth on both demo
# pairs (64 px, 32 filters, one CPU thread; FastCUT 400 steps against CUT 240): pixel error 0.185 against 0.190
# and phase-blind 0.069 against 0.090 on day/night, 0.097 against 0.127 and 0.062 against 0.082 on
# plain/striped (tests/measure_translation.py). With it, six minutes each: CUT closer on day/night (0.122 /
# 0.039 against 0.134 / 0.045), FastCUT on plain/striped (0.063 / 0.028 against 0.066 / 0.035); a split, so
# the quicker steps keep the default (FastCUT's day/night run shared its core with a test for its first
# minute, so it had fewer steps than its six minutes give). No GPU was at hand to measure there; it keeps the same default.
PRESET_OPTION = Option(
    "preset", "fastcut", "fastcut (no identity patch loss: 1.3 times the steps a minute) or cut (with the "
                         "identity patch loss, as the CUT paper trains)", "Variant",
    # CPU seconds a step at 64 px, 32 filters, one thread, bf16, interleaved on a 2-core EPYC, identity L1 on:
    # CycleGAN 0.136, CUT 0.112, FastCUT 0.083 (0.069 without the identity L1).
    choices=(Choice("fastcut", "FastCUT — quicker steps",
                    "Skips the patch loss on pictures of B: 1.3 times the steps a minute."),
             Choice("cut", "CUT", "Also asks pictures of B to come through unchanged in the patch loss, as the "
                                  "CUT paper does.")))
IDENTITY_OPTION = Option(
    "identity_l1", 5.0, "weight of an L1 loss asking pictures of B to come through the generator unchanged, as "
                        "CycleGAN's identity loss (0: none, as the CUT paper trains)", "Identity weight",
    # Measured (FastCUT, 2,000 steps, 64 px, one thread, seeds 0 and 1; pixel / phase-blind error, mean of
    # the two): day/night 0.133 / 0.043 with weight 5 against 0.144 / 0.047 without, plain/striped 0.062 /
    # 0.036 against 0.075 / 0.034. Weight 10 on day/night (seed 0): 0.146 / 0.046, as 5. Runs saved before
    # the option trained without it and go on so.
    minimum=0.0, maximum=50.0, advanced=True, saved_default=0.0)
NCE_WEIGHT_OPTION = Option(
    "nce_weight", 0.0, "weight of the patch loss (0: the variant's, FastCUT 4 beside the identity L1 and 10 without "
                       "it, as the CUT paper; CUT 1)", "Patch weight",
    # The paper weighs FastCUT's NCE 10, with no identity loss of any kind; beside the identity L1 that weight
    # lets a loss blind to colour outweigh the two that see it (the L1 and the GAN loss); at 4 night scenes
    # come closer, though their outlines still tend to one lilac. FastCUT, 2,000 steps, 64 px, one thread, mean of seeds
    # 0 and 1, pixel / phase-blind error: day/night 0.133 / 0.043 at 10, 0.117 / 0.040 at 4, 0.112 / 0.040 at
    # 2 (seed 0: 0.120 at 1, 0.152 at 20); plain/striped 0.062 / 0.036 at 10, 0.062 / 0.037 at 4, 0.061 /
    # 0.039 at 2. Five minutes at 4: day/night 0.111 / 0.044 (3,611 steps), plain/striped 0.062 / 0.031
    # (3,665) against 0.132 / 0.045 and 0.065 / 0.029 at 10 (the day before). CUT at 4 instead of 1 (seed
    # 0): day/night 0.124 / 0.043 against 0.122 / 0.041, plain/striped 0.086 / 0.044 against 0.062 / 0.036,
    # so CUT keeps 1.
    minimum=0.0, maximum=100.0, advanced=True, automatic="Automatic",
    saved_default=lambda options: VARIANTS[options.get("preset", PRESET_OPTION.default)].paper_nce_weight)
RESAMPLING_OPTION = Option(
    "resampling", "strided", "how the generator halves and doubles the picture's grid: strided (CycleGAN's "
                             "convolutions) or antialiased (the CUT paper's: a blur before halving and after doubling)",
    "Resampling",
    # Measured (FastCUT, 2,000 steps, 64 px, one thread): anti-aliased came closer on day/night (pixel /
    # phase-blind error 0.145 / 0.042 against 0.158 / 0.052) but not on plain/striped (0.088 / 0.044 against
    # 0.072 / 0.035), and its steps take 1.2 times as long (0.161 against 0.134 CPU seconds), so strided stays.
    choices=(Choice("strided", "Strided — quicker",
                    "Halves and doubles with strided convolutions, as CycleGAN does: the quicker steps."),
             Choice("antialiased", "Anti-aliased — the CUT paper's",
                    "Blurs before halving and after doubling the picture's grid, as the CUT paper does: fewer "
                    "checkerboard patterns, steps 1.2 times as long; its .pth exports have the CUT tool's layout.")),
    advanced=True)
# Base filters when the user has not chosen: CycleGAN's light networks on a CPU, the reference's on a GPU.
CPU_FILTERS = PRESETS["light"].filters
GPU_FILTERS = PRESETS["default"].filters


def nce_weight_for(options: dict) -> float:
    """The NCE weight a run with these (checked) options trains with: its own, or the variant's when it says 0."""
    if options["nce_weight"]:
        return float(options["nce_weight"])
    variant = VARIANTS[options["preset"]]
    return variant.nce_weight_with_identity_l1 if options["identity_l1"] else variant.paper_nce_weight


@register("cut")
class CUTRecipe(TranslatingRecipe):
    """CUT and FastCUT (Park et al. 2020) as the reference implementation trains them, plus CycleGAN's identity L1."""

    label = "CUT — one way, faster"
    summary = ("Learns A to B only, with one generator instead of CycleGAN's two: 1.2 (CUT) to 1.6 (FastCUT) "
               "times the steps a minute, from two folders that need not match picture for picture.")
    # After CycleGAN, which stays the page's default: at about equal CPU minutes (CycleGAN 400 steps, FastCUT
    # 830 would match; FastCUT 400 took half the time) FastCUT was far behind on day/night (pixel error 0.185
    # against 0.094) and ahead on plain/striped (0.097 against 0.110) at 400 steps, 64 px.
    list_order = 30
    options = (PRESET_OPTION, RESAMPLING_OPTION, IDENTITY_OPTION, NCE_WEIGHT_OPTION)
    directions = {"AtoB": "generator"}
    loss_names = ("D_real", "D_fake", "G_GAN", "NCE", "NCE_Y", "idt_B")
    stat_names = ("lr",)
    visual_names = ("real_A", "fake_B", "real_B", "idt_B")
    domains = ("A", "B")
    demo_sets = ("day", "night")
    default_size = 128

    @classmethod
    def reported_names(cls, config: RunConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
        options = config.model.options
        variant = VARIANTS[options.get("preset", PRESET_OPTION.default)]
        left_out = {"NCE_Y"} if not variant.identity else set()
        if not options.get("identity_l1", IDENTITY_OPTION.default):
            left_out.add("idt_B")
        return tuple(name for name in cls.loss_names if name not in left_out), cls.stat_names

    @classmethod
    def resolve_config(cls, config: RunConfig, device: torch.device) -> None:
        model = config.model
        if config.train.batch_size == 0:
            config.train.batch_size = 1  # the reference's batch: instance norm over one picture
        if model.g_width == 0:
            model.g_width = CPU_FILTERS if device.type == "cpu" else GPU_FILTERS
        if model.d_width == 0:
            model.d_width = model.g_width
        if config.run.sample_every_epochs == 0:
            config.run.sample_every_epochs = 1  # one picture a step: an epoch of 1,000 is minutes long
        # The run's config.json keeps the weight it trains with, so a later change of the automatic one leaves it be.
        model.options = {**model.options, "nce_weight": nce_weight_for(model.options)}

    @classmethod
    def load_size(cls, config: RunConfig) -> int:
        return load_size_for(config.data.size)

    @classmethod
    def generator_spec(cls, config: RunConfig) -> GeneratorSpec:
        blocks = PRESETS["default"].blocks(config.data.size)
        sampling = config.model.options.get("resampling", RESAMPLING_OPTION.default)
        return GeneratorSpec(filters=config.model.g_width or GPU_FILTERS, blocks=blocks, sampling=sampling)

    def __init__(self, config: RunConfig, device: torch.device, precision: str):
        super().__init__(config, device, precision)
        train = config.train
        self.variant = VARIANTS[config.model.options["preset"]]
        self.identity_weight = float(config.model.options["identity_l1"])
        self.nce_weight = nce_weight_for(config.model.options)
        self.spec = self.generator_spec(config)
        self.generator = ResnetGenerator(self.spec).to(device)
        self.discriminator = PatchDiscriminator(config.model.d_width or self.spec.filters).to(device)
        self.memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        for network in (self.generator, self.discriminator):
            network.apply(init_weights)
            network.to(memory_format=self.memory_format)
        self.sampler = PatchSampler(layer_channels(self.generator)).to(device)
        betas = (train.beta1, train.beta2)
        self.base_lr_g, self.base_lr_d = train.lr_g, train.lr_d
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=train.lr_g, betas=betas)
        self.optimizer_f = torch.optim.Adam(self.sampler.parameters(), lr=train.lr_g, betas=betas)
        self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), lr=train.lr_d, betas=betas)
        self.scaler_g = make_scaler(device, precision)
        self.scaler_d = make_scaler(device, precision)
        # Patch positions come from their own generator, kept in the checkpoint, so resume is exact.
        self.patch_rng = torch.Generator().manual_seed(train.seed + 303)
        self.lr_factor = 1.0
        self.fixed_a = torch.zeros(0, config.data.size, config.data.size, 3, dtype=torch.uint8)
        self.fixed_b = self.fixed_a.clone()

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator, "sampler": self.sampler}

    def attach_data(self, domain_pixels: list[np.ndarray]) -> None:
        self.fixed_a, self.fixed_b = fixed_pictures(domain_pixels, self.config.data.size)

    def before_step(self, done: float, total: float | None) -> None:
        self.lr_factor = learning_rate_factor(done, decay_target(self.config, total), self.variant.constant_share)
        for optimizer, base in ((self.optimizer_g, self.base_lr_g), (self.optimizer_f, self.base_lr_g),
                                (self.optimizer_d, self.base_lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = base * self.lr_factor

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.optimizer_g, "sampler": self.optimizer_f, "discriminator": self.optimizer_d}

    def train_step(self, batches: list[torch.Tensor], images_seen: int) -> torch.Tensor:
        real_a, real_b = (batch.contiguous(memory_format=self.memory_format) for batch in batches)
        # In micro-batches and across processes the step is the whole batch's: every piece's pictures are
        # independent (instance norm, NCE negatives from each picture's own patches), and the patch positions
        # are drawn once for the step (every process draws the same), as one pass over the whole batch shares them.
        parts = list(self.parts(real_a, real_b))
        # The reference's order: D steps on this step's translation, then G against the updated D; one pass of
        # the generator serves both.
        translations = [self._translate(piece_a, piece_b) for _, (piece_a, piece_b) in parts]
        self.optimizer_d.zero_grad(set_to_none=True)
        d_values = 0.0
        for (weight, (_, piece_b)), translated in zip(parts, translations):
            loss_real, loss_fake = self._discriminator_losses(piece_b, translated[0].detach())
            self.scaler_d.scale(0.5 * (loss_real + loss_fake) * weight).backward()
            d_values = d_values + weight * torch.stack([loss_real.detach(), loss_fake.detach()])
        self.scaler_d.step(self.optimizer_d)
        self.scaler_d.update()

        self.discriminator.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        positions = self._patch_positions(translations[0])
        self.optimizer_g.zero_grad(set_to_none=True)
        self.optimizer_f.zero_grad(set_to_none=True)
        g_values = 0.0
        for (weight, (_, piece_b)), translated in zip(parts, translations):
            loss_g, values = self._generator_losses(piece_b, translated, positions)
            self.scaler_g.scale(loss_g * weight).backward()
            g_values = g_values + weight * values
        self.scaler_g.step(self.optimizer_g)
        self.scaler_g.step(self.optimizer_f)
        self.scaler_g.update()
        self.discriminator.requires_grad_(True)
        lr = real_a.new_full((1,), self.base_lr_g * self.lr_factor)  # a fill, not a copy
        return torch.cat([d_values, g_values, lr])

    def _patch_positions(self, translated: tuple) -> list[list[torch.Tensor]]:
        """The step's patch positions for each (source features, translation) pair: NCE, then (CUT only) NCE_Y."""
        sources = [translated[1]] + ([translated[3]] if self.variant.identity else [])
        return [self.sampler.positions(features, PATCHES, self.patch_rng) for features in sources]

    def _translate(self, real_a: torch.Tensor, real_b: torch.Tensor) -> tuple:
        """Fake B and real A's encoder features, then (with an identity loss) B through the generator and real
        B's features."""
        count = real_a.shape[0]
        with autocast(self.device, self.precision):
            if not self.variant.identity and not self.identity_weight:
                fake_b, features_a = translate_with_features(self.generator, real_a)
                return fake_b, features_a
            # Real A and real B in one batch: instance norm keeps the pictures independent.
            output, features = translate_with_features(self.generator, torch.cat([real_a, real_b]))
        fake_b, same_b = output.split(count)
        return (fake_b, [feature[:count] for feature in features], same_b, [feature[count:] for feature in features])

    def _discriminator_losses(self, real_b: torch.Tensor, fake_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        count = real_b.shape[0]
        with autocast(self.device, self.precision):
            real_scores, fake_scores = self.discriminator(torch.cat([real_b, fake_b])).split(count)
        return least_squares(real_scores, 1.0), least_squares(fake_scores, 0.0)

    def _generator_losses(self, real_b: torch.Tensor, translated: tuple,
                          positions: list[list[torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        """G's whole loss and its reported parts (detached): GAN, NCE, (CUT only) NCE_Y at the step's positions,
        and (when weighed) the identity L1."""
        pairs = [(translated[1], translated[0])]  # (source features, translation)
        if self.variant.identity:
            pairs.append((translated[3], translated[2]))
        with autocast(self.device, self.precision):
            loss_gan = least_squares(self.discriminator(translated[0]), 1.0)
            nce = [nce_loss(self.generator, self.sampler, features, translation, where) * self.nce_weight
                   for (features, translation), where in zip(pairs, positions)]
        # CUT averages NCE and NCE_Y (the reference's loss_NCE_both); FastCUT has NCE alone.
        loss_g = loss_gan + sum(nce) / len(nce)
        parts = [loss_gan, *nce]
        if self.identity_weight:
            identity = F.l1_loss(translated[2].float(), real_b) * self.identity_weight  # float32, as CycleGAN's
            loss_g = loss_g + identity
            parts.append(identity)
        return loss_g, torch.stack([part.detach() for part in parts])

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        """N x 3 x H x W in [-1, 1] through the generator (A to B, the only way), in eval mode and float32."""
        self.generator.eval()
        try:
            return self.generator(images.to(self.device)).float()
        finally:
            self.generator.train()

    def sample_grid(self) -> np.ndarray:
        """Rows real A, fake B, real B, and B through the generator (the identity pass); a column per fixed picture."""
        real_a, real_b = to_device_images(self.fixed_a, self.device), to_device_images(self.fixed_b, self.device)
        rows = [real_a, self.translate(real_a, "AtoB"), real_b, self.translate(real_b, "AtoB")]
        return make_grid(np.concatenate([to_uint8_images(images) for images in rows]),
                         columns=max(1, len(self.fixed_a)))

    def state_dict(self) -> dict:
        return {
            **{name: network.state_dict() for name, network in self.networks().items()},
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_f": self.optimizer_f.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "patch_rng": self.patch_rng.get_state(),
            "fixed_a": self.fixed_a.clone(),
            "fixed_b": self.fixed_b.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        for name, network in self.networks().items():
            network.load_state_dict(state[name])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_f.load_state_dict(state["optimizer_f"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.patch_rng.set_state(state["patch_rng"])
        self.fixed_a, self.fixed_b = state["fixed_a"].clone(), state["fixed_b"].clone()
