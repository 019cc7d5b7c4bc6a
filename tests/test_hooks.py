"""Hook schedules, on an injected clock: every N steps, every N epochs, every S seconds of training (pauses left out)."""

from __future__ import annotations

import pytest

from ganstudio.core.training.hooks import Hook, Hooks
from ganstudio.core.training.state import LossHistory, RunState, Target, TrainingClock


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run_state(clock: FakeClock, steps_per_epoch: int = 4) -> RunState:
    return RunState(Target(steps=100, epochs=None, minutes=None, steps_per_epoch=steps_per_epoch), 8,
                    LossHistory(("loss",)), TrainingClock(clock=clock))


def drive(state: RunState, hooks: Hooks, clock: FakeClock, steps: int, seconds_a_step: float) -> None:
    for _ in range(steps):
        clock.now += seconds_a_step
        hooks.after_step(state.advance())


def test_step_and_epoch_schedules():
    clock = FakeClock()
    state = run_state(clock)
    hooks = Hooks(state)
    by_step, by_epoch = [], []
    hooks.add(Hook("every 3 steps", lambda: by_step.append(state.step), every_steps=3))
    hooks.add(Hook("every 2 epochs", lambda: by_epoch.append(state.epoch), every_epochs=2))
    drive(state, hooks, clock, 16, 1.0)
    assert by_step == [3, 6, 9, 12, 15] and by_epoch == [2, 4]


def test_a_time_schedule_counts_training_time_and_not_pauses():
    clock = FakeClock()
    state = run_state(clock)
    hooks = Hooks(state)
    ran_at = []
    hooks.add(Hook("every 10 s", lambda: ran_at.append(state.step), every_seconds=10.0))
    drive(state, hooks, clock, 12, 2.0)  # 24 s of training: due at steps 5 and 10
    state.clock.pause()
    clock.now += 3600  # an hour paused is no training
    state.clock.resume()
    drive(state, hooks, clock, 4, 2.0)
    assert ran_at == [5, 10, 15]


def test_a_time_schedule_at_epoch_ends_waits_for_one():
    clock = FakeClock()
    state = run_state(clock, steps_per_epoch=5)
    hooks = Hooks(state)
    ran_at = []
    hooks.add(Hook("checkpoint", lambda: ran_at.append(state.step), every_seconds=3.0, at_epoch_end=True))
    drive(state, hooks, clock, 15, 1.0)
    assert ran_at == [5, 10, 15], "due after 3 s, but only run when an epoch ends"


def test_a_hook_needs_exactly_one_schedule():
    with pytest.raises(ValueError, match="exactly one schedule"):
        Hook("both", lambda: None, every_steps=2, every_epochs=1)
