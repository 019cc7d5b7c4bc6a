"""The balance guard: notices when one network has beaten the other, raises adaptive augmentation, then says so.

A generating model whose discriminator tells every generated picture from the user's ones gives
its generator nothing to learn from; one whose discriminator says the same of every picture gives
it nothing either. Both look like a run in progress on the loss plot. The guard reads the two
balance stats a recipe reports each step (recipes/base.py: the share of real and of generated
pictures the discriminator calls real, as means of ±1 signs) and answers in two steps:

1. Every `INTERVAL_STEPS` steps it moves the recipe's augmentation strength p towards the point
   where E[sign(D(real))] sits at ADA's target of 0.6 (Karras et al. 2020): up while the
   discriminator is too sure of the real pictures, down when it is not.
2. If one network has still won on every check of the last `STRETCH_STEPS` steps, it sends one
   plain sentence of what is happening and what to try, once for each such stretch.

It keeps no state of its own: p lives in the recipe's checkpointed state, and what it decides at a
step depends only on the loss history up to `log_every` steps before it, which every run holds
whether it was resumed or not (the meter writes the history at least every `log_every` steps), so
a resumed run makes exactly the decisions the uninterrupted one would.
"""

from __future__ import annotations

from typing import Callable

import torch

# ADA adjusts p every 4 steps towards r = E[sign(D(real))] = 0.6.
INTERVAL_STEPS = 4
TARGET = 0.6
# p can climb from 0 to 1 in this many images: 625 steps at batch 16. ADA's 500,000 is meant for runs of
# millions of images; a CPU run of a few minutes sees about 50,000.
RAMP_IMAGES = 10_000
# One network has won when, over a check's steps, the discriminator calls at least 95% of the pictures of
# each kind rightly (mean signs beyond ±0.9): a balanced run with augmentation sits near 0.6 and -0.6.
WON = 0.9
# A win this long, with p at its strongest by then (after 625 steps at batch 16), is reported.
STRETCH_STEPS = 1_000

Rows = Callable[[], torch.Tensor]


def d_won_message(steps: int, strength: float | None) -> str:
    tried = f"even with augmentation raised to {strength:.0%}" if strength is not None else "with no adaptive augmentation"
    return (f"The discriminator has won for {steps:,} steps, {tried}: it tells every generated picture from yours, "
            "so the samples will not improve. Try a lower discriminator learning rate (lr_d, say 1e-4), the hinge "
            "loss, differentiable augmentation (diff+flip), or a smaller image size; with few pictures, add more.")


def d_stuck_message(steps: int) -> str:
    return (f"The discriminator has given every picture, yours and generated, the same verdict for {steps:,} steps: "
            "the generator learns nothing from it and the samples will not improve. Try lower learning rates (lr_g "
            "and lr_d, say 1e-4) or another loss; if the samples all look alike, start again with another seed.")


class BalanceGuard:
    """Watches one recipe's balance stats in the loss history; adjusts its augmentation strength and warns."""

    def __init__(self, recipe, warn: Callable[[str], None], columns: tuple[int, int], log_every: int,
                 batch_size: int):
        self.recipe = recipe
        self.warn = warn
        self.real_column, self.fake_column = columns
        self.lag = log_every  # the history always holds the steps up to log_every - 1 before now
        self.step_size = INTERVAL_STEPS * batch_size / RAMP_IMAGES
        self._last: dict[str, bool] | None = None  # what the previous check found; rebuilt from the history

    @classmethod
    def for_recipe(cls, recipe, warn: Callable[[str], None], log_every: int) -> "BalanceGuard | None":
        """A guard for a recipe that reports its balance stats, else None (it has no discriminator to watch)."""
        names = getattr(recipe, "balance_stat_names", None)
        if not names:
            return None
        columns = tuple(len(recipe.loss_names) + recipe.stat_names.index(name) for name in names)
        return cls(recipe, warn, columns, log_every, recipe.config.train.batch_size)

    @property
    def adaptive(self) -> bool:
        return bool(getattr(self.recipe, "adaptive_augment", False))

    def observe(self, step: int, rows: Rows) -> None:
        """Called after step `step` (every step or every INTERVAL_STEPS); `rows` gives the loss history so far."""
        if step % INTERVAL_STEPS:
            return
        history = rows()
        if self._last is None:
            self._last = self._verdicts(history, step - INTERVAL_STEPS)
        end = step - self.lag
        if end >= INTERVAL_STEPS and self.adaptive:
            real = float(history[end - INTERVAL_STEPS:end, self.real_column].mean())
            direction = 1.0 if real > TARGET else -1.0
            strength = min(1.0, max(0.0, self.recipe.augment_strength + direction * self.step_size))
            self.recipe.set_augment_strength(strength)
        verdicts = self._verdicts(history, step)
        if verdicts["d_won"] and not self._last["d_won"]:
            self.warn(d_won_message(STRETCH_STEPS, self.recipe.augment_strength if self.adaptive else None))
        if verdicts["d_stuck"] and not self._last["d_stuck"]:
            self.warn(d_stuck_message(STRETCH_STEPS))
        self._last = verdicts

    def _verdicts(self, history: torch.Tensor, step: int) -> dict[str, bool]:
        """Whether, on every check of the STRETCH_STEPS steps seen at `step`, D won, or gave one verdict to all."""
        end = step - self.lag
        start = end - STRETCH_STEPS
        if start < 0:
            return {"d_won": False, "d_stuck": False}
        window = history[start:end]
        real = window[:, self.real_column].reshape(-1, INTERVAL_STEPS).mean(1)
        fake = window[:, self.fake_column].reshape(-1, INTERVAL_STEPS).mean(1)
        d_won = bool(((real > WON) & (fake < -WON)).all())
        same_verdict = ((real > WON) & (fake > WON)) | ((real < -WON) & (fake < -WON))
        return {"d_won": d_won, "d_stuck": bool(same_verdict.all())}
