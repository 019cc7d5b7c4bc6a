"""The balance guard: a discriminator that wins raises the augmentation strength, then one warning; balance does neither."""

from __future__ import annotations

import types

import pytest
import torch

from conftest import tiny_config, write_pictures
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.runs import RunFolder
from ganstudio.core.training import balance
from ganstudio.core.training.balance import INTERVAL_STEPS, RAMP_IMAGES, STRETCH_STEPS, BalanceGuard

BATCH = 16
LOG_EVERY = 10


class ContractRecipe:
    """Just the balance contract of recipes/base.py: two sign stats, and an augmentation strength to set."""

    loss_names = ("D/real", "D/fake", "G/adv")
    stat_names = ("sign D(x)", "sign D(G(z))", "augment p")
    balance_stat_names = ("sign D(x)", "sign D(G(z))")

    def __init__(self, adaptive: bool = True):
        self.config = types.SimpleNamespace(train=types.SimpleNamespace(batch_size=BATCH))
        self.adaptive_augment = adaptive
        self.augment_strength = 0.0
        self.strengths: list[float] = []

    def set_augment_strength(self, strength: float) -> None:
        self.augment_strength = strength
        self.strengths.append(strength)

    def step_row(self, real_sign: float, fake_sign: float) -> torch.Tensor:
        return torch.tensor([0.1, 0.1, 3.0, real_sign, fake_sign, self.augment_strength])


def drive(recipe: ContractRecipe, signs, steps: int, start: int = 0, history: list | None = None,
          guard: BalanceGuard | None = None) -> tuple[list[str], list[torch.Tensor]]:
    """Feed `steps` steps of (real, fake) signs from `signs(step)` through a guard, as the engine's hook does."""
    warnings: list[str] = []
    history = [] if history is None else history
    guard = guard or BalanceGuard.for_recipe(recipe, warnings.append, LOG_EVERY)
    guard.warn = warnings.append
    written = torch.stack(history) if history else torch.zeros(0, 6)
    for step in range(start + 1, start + steps + 1):
        history.append(recipe.step_row(*signs(step)))
        # The meter writes the history only every LOG_EVERY steps: the guard must not need the newest rows.
        if len(history) % LOG_EVERY == 0:
            written = torch.cat([written, torch.stack(history[len(written):])])
        guard.observe(step, lambda: written)
    return warnings, history


def d_wins(step: int) -> tuple[float, float]:
    return 1.0, -1.0


def balanced(step: int) -> tuple[float, float]:
    # Real pictures called real a little more often than ADA's target of 0.6 half the time, a little less the rest.
    return (0.75 if step % 8 < 4 else 0.45), -0.5


def test_a_discriminator_that_wins_raises_the_strength_then_warns_once():
    recipe = ContractRecipe()
    warnings, _ = drive(recipe, d_wins, 3 * STRETCH_STEPS)
    assert recipe.strengths == sorted(recipe.strengths), "the strength only rises while D wins"
    assert recipe.augment_strength == 1.0
    ramp_steps = RAMP_IMAGES / BATCH
    assert recipe.strengths.index(1.0) * INTERVAL_STEPS <= ramp_steps + INTERVAL_STEPS + LOG_EVERY
    assert len(warnings) == 1
    assert "discriminator has won" in warnings[0] and "100%" in warnings[0] and "Try" in warnings[0]


def test_the_warning_comes_after_the_stretch_not_before():
    recipe = ContractRecipe()
    warnings, _ = drive(recipe, d_wins, STRETCH_STEPS)
    assert warnings == []
    warnings, _ = drive(ContractRecipe(), d_wins, STRETCH_STEPS + LOG_EVERY + INTERVAL_STEPS)
    assert len(warnings) == 1


def test_a_balanced_run_gets_neither_more_augmentation_nor_a_warning():
    recipe = ContractRecipe()
    warnings, _ = drive(recipe, balanced, 3 * STRETCH_STEPS)
    assert warnings == []
    assert max(recipe.strengths) <= 2 * INTERVAL_STEPS * BATCH / RAMP_IMAGES


def test_the_strength_falls_again_once_the_discriminator_is_no_longer_sure():
    recipe = ContractRecipe()
    drive(recipe, d_wins, 400)
    raised = recipe.augment_strength
    drive(recipe, lambda step: (0.2, -0.2), 200, start=400)
    assert 0.0 <= recipe.augment_strength < raised


def test_a_second_stretch_after_a_recovery_warns_again():
    recipe = ContractRecipe()
    history: list = []
    guard = BalanceGuard.for_recipe(recipe, lambda message: None, LOG_EVERY)
    first, _ = drive(recipe, d_wins, 2 * STRETCH_STEPS, history=history, guard=guard)
    recovered, _ = drive(recipe, balanced, 100, start=2 * STRETCH_STEPS, history=history, guard=guard)
    second, _ = drive(recipe, d_wins, 2 * STRETCH_STEPS, start=2 * STRETCH_STEPS + 100, history=history, guard=guard)
    assert (len(first), len(recovered), len(second)) == (1, 0, 1)


def test_a_discriminator_with_one_verdict_for_everything_is_reported():
    recipe = ContractRecipe()
    warnings, _ = drive(recipe, lambda step: (1.0, 1.0), 2 * STRETCH_STEPS)
    assert len(warnings) == 1 and "same verdict" in warnings[0]


def test_without_adaptive_augmentation_the_guard_only_warns():
    recipe = ContractRecipe(adaptive=False)
    warnings, _ = drive(recipe, d_wins, 2 * STRETCH_STEPS)
    assert recipe.strengths == [] and recipe.augment_strength == 0.0
    assert len(warnings) == 1 and "no adaptive augmentation" in warnings[0]


def test_a_recipe_without_balance_stats_gets_no_guard():
    recipe = types.SimpleNamespace(balance_stat_names=None)
    assert BalanceGuard.for_recipe(recipe, print, LOG_EVERY) is None


@pytest.mark.parametrize("stop_at", [STRETCH_STEPS // 2, STRETCH_STEPS + 6, STRETCH_STEPS + 500])
def test_a_resumed_guard_decides_as_the_uninterrupted_one(stop_at):
    """Resuming gives the guard the checkpoint's history and strength, and nothing else: it must carry on alike."""
    def signs(step: int) -> tuple[float, float]:
        return d_wins(step) if step < 1_600 else balanced(step)

    straight = ContractRecipe()
    straight_warnings, straight_history = drive(straight, signs, 2_400)

    first = ContractRecipe()
    first_warnings, history = drive(first, signs, stop_at)
    resumed = ContractRecipe()
    resumed.augment_strength = first.augment_strength  # what the checkpoint holds
    later_warnings, history = drive(resumed, signs, 2_400 - stop_at, start=stop_at, history=history)
    assert first_warnings + later_warnings == straight_warnings
    assert torch.equal(torch.stack(history), torch.stack(straight_history))


def test_a_dcgan_run_plots_its_strength_and_resumes_with_it(tmp_path, monkeypatch):
    """In the engine: the strength starts full, is a stat, moves with the guard, and a resumed run moves it alike."""
    monkeypatch.setattr(balance, "RAMP_IMAGES", 400)  # p moves 0.08 a check: visibly, within 48 steps
    monkeypatch.setattr(balance, "TARGET", 1.01)  # never reached, so p falls on every check
    write_pictures(tmp_path / "pictures", 40)
    events: list[ev.Event] = []
    engine.run(tiny_config(tmp_path / "pictures", tmp_path / "straight", steps=48), events.append)
    started = next(event for event in events if isinstance(event, ev.RunStarted))
    assert "augment p" in started.stat_names
    column = len(started.loss_names) + started.stat_names.index("augment p")
    straight = load_checkpoint(RunFolder(tmp_path / "straight").latest_checkpoint())
    strengths = straight["history"]["values"][:, column]
    assert strengths[0] == 1.0 and strengths[-1] < strengths[0]
    assert straight["recipe"]["augment_strength"] < float(strengths[-1])  # the guard's last move, for step 49

    engine.run(tiny_config(tmp_path / "pictures", tmp_path / "stopped", steps=24))
    engine.resume(tmp_path / "stopped", steps=48)
    resumed = load_checkpoint(RunFolder(tmp_path / "stopped").latest_checkpoint())
    assert resumed["recipe"]["augment_strength"] == straight["recipe"]["augment_strength"]
    assert torch.equal(resumed["history"]["values"], straight["history"]["values"])
