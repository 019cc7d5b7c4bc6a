"""Hooks: periodic work called by the loop at step, epoch or time intervals, without editing the loop.

Sample grids, periodic checkpoints, and later the quality score or a rank's extra work, are hooks.
A hook is a callable with a schedule; the loop calls `Hooks.after_step` once per step and each hook
whose schedule is due runs, in the order added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .state import RunState


@dataclass
class Hook:
    """`action` runs every `every_steps` steps, every `every_epochs` epochs (at the epoch's end), or once
    `every_seconds` of training time have passed since it last ran (checked at an epoch's end only when
    `at_epoch_end`). Exactly one schedule is set."""

    name: str
    action: Callable[[], None]
    every_steps: int = 0
    every_epochs: int = 0
    every_seconds: float = 0.0
    at_epoch_end: bool = False
    _last_ran_at: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if sum(bool(value) for value in (self.every_steps, self.every_epochs, self.every_seconds)) != 1:
            raise ValueError(f"hook {self.name!r} needs exactly one schedule")

    def due(self, state: RunState, epoch_ended: bool) -> bool:
        if self.every_steps:
            return state.step % self.every_steps == 0
        if self.every_epochs:
            return epoch_ended and state.epoch % self.every_epochs == 0
        if self.at_epoch_end and not epoch_ended:
            return False
        return state.clock.elapsed() - self._last_ran_at >= self.every_seconds

    def run(self, state: RunState) -> None:
        self._last_ran_at = state.clock.elapsed()
        self.action()


class Hooks:
    """The hooks of one run, in the order they were added."""

    def __init__(self, state: RunState):
        self.state = state
        self._hooks: list[Hook] = []

    def add(self, hook: Hook) -> Hook:
        hook._last_ran_at = self.state.clock.elapsed()
        self._hooks.append(hook)
        return hook

    def after_step(self, epoch_ended: bool) -> None:
        for hook in self._hooks:
            if hook.due(self.state, epoch_ended):
                hook.run(self.state)
