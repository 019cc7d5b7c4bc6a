"""Adversarial losses on raw discriminator outputs (logits), and the D(x) statistics users plot."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_losses(kind: str, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminator's loss on real and on generated images, each a scalar mean."""
    real, fake = real.float(), fake.float()
    if kind == "nonsat":
        return F.softplus(-real).mean(), F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1.0 - real).mean(), F.relu(1.0 + fake).mean()
    if kind == "lsgan":
        return 0.5 * (real - 1.0).square().mean(), 0.5 * fake.square().mean()
    raise ValueError(f"unknown loss {kind!r}")


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss on the discriminator's outputs for its images."""
    fake = fake.float()
    if kind == "nonsat":
        return F.softplus(-fake).mean()
    if kind == "hinge":
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * (fake - 1.0).square().mean()
    raise ValueError(f"unknown loss {kind!r}")


def verdict_sign(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """The mean sign of D's verdicts, +1 for "real" and -1 for "generated": ADA's r for real pictures.

    The decision boundary is a logit of 0 for nonsat and hinge, and an output of 0.5 for least squares,
    whose targets are 1 and 0."""
    logits = logits.detach().float()
    return torch.sign(logits - 0.5 if kind == "lsgan" else logits).mean()


def discriminator_score(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """D's mean verdict in the loss's own terms: a probability for nonsat, the raw output otherwise."""
    logits = logits.detach().float()
    return torch.sigmoid(logits).mean() if kind == "nonsat" else logits.mean()
