"""A run's state as the loop counts it: steps, epochs, images, training time, loss history and target."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from ..config import RunConfig
from ..errors import CheckpointError

Clock = Callable[[], float]


class LossHistory:
    """Every step's losses and stats as float32 rows; part of the checkpoint, so a resumed run's history is whole."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self._chunks: list[torch.Tensor] = []
        self._length = 0

    def extend(self, rows: torch.Tensor) -> None:
        self._chunks.append(rows.to(torch.float32).cpu())
        self._length += rows.shape[0]

    def __len__(self) -> int:
        return self._length

    def values(self) -> torch.Tensor:
        if len(self._chunks) > 1:
            self._chunks = [torch.cat(self._chunks)]
        return self._chunks[0] if self._chunks else torch.zeros(0, len(self.names))

    def state_dict(self) -> dict:
        return {"names": list(self.names), "values": self.values().clone()}

    def load_state_dict(self, state: dict) -> None:
        """The saved history; columns a model has added since it was saved (a new stat) are NaN for the
        saved steps, which plots as a gap."""
        saved_names, saved_values = tuple(state["names"]), state["values"].to(torch.float32)
        if saved_names == self.names:
            values = saved_values
        elif set(saved_names) <= set(self.names):
            values = torch.full((saved_values.shape[0], len(self.names)), float("nan"))
            for column, name in enumerate(saved_names):
                values[:, self.names.index(name)] = saved_values[:, column]
        else:
            raise CheckpointError("The checkpoint's loss history does not match this model.")
        self._chunks = [values]
        self._length = values.shape[0]


@dataclass(frozen=True)
class Target:
    """How much to train: a number of steps, of epochs, or minutes of training time (exactly one is set)."""

    steps: int | None
    epochs: int | None
    minutes: float | None
    steps_per_epoch: int

    @classmethod
    def of(cls, config: RunConfig, steps_per_epoch: int) -> "Target":
        train = config.train
        return cls(train.steps, train.epochs, train.minutes, steps_per_epoch)

    @property
    def total_steps(self) -> int | None:
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            return self.epochs * self.steps_per_epoch
        return None

    @property
    def seconds(self) -> float | None:
        return self.minutes * 60 if self.minutes is not None else None

    def describe(self) -> str:
        if self.steps is not None:
            return f"{self.steps:,} step{'' if self.steps == 1 else 's'}"
        if self.minutes is not None:
            return f"{self.minutes:g} minute{'' if self.minutes == 1 else 's'}"
        return f"{self.epochs:,} epoch{'' if self.epochs == 1 else 's'}"


class TrainingClock:
    """Seconds of training: those of earlier segments plus this one's, pauses left out. `clock` is injectable."""

    def __init__(self, seconds_before: float = 0.0, clock: Clock = time.monotonic):
        self.clock = clock
        self.seconds_before = seconds_before
        self._segment_start = clock()
        self._paused_at: float | None = None

    def now(self) -> float:
        return self.clock()

    def elapsed(self) -> float:
        end = self._paused_at if self._paused_at is not None else self.clock()
        return self.seconds_before + (end - self._segment_start)

    def pause(self) -> None:
        self._paused_at = self.clock()

    def resume(self) -> float:
        """Carry on counting; the length of the pause, which other timers shift by."""
        length = self.clock() - self._paused_at if self._paused_at is not None else 0.0
        self._segment_start += length
        self._paused_at = None
        return length


class RunState:
    """The counters, the loss history and the target of one run, and whether the target is reached."""

    def __init__(self, target: Target, batch_size: int, history: LossHistory, clock: TrainingClock):
        self.target = target
        self.batch_size = batch_size
        self.history = history
        self.clock = clock
        self.step = self.epoch = self.position = self.images_seen = 0

    @property
    def steps_per_epoch(self) -> int:
        return self.target.steps_per_epoch

    def advance(self) -> bool:
        """Count one step; True when it ended an epoch."""
        self.step += 1
        self.position += 1
        self.images_seen += self.batch_size
        if self.position >= self.steps_per_epoch:
            self.epoch += 1
            self.position = 0
            return True
        return False

    def progress(self) -> tuple[float, float | None]:
        """Training done and the target: in steps, or in seconds when the target is a time."""
        target = self.target
        if target.total_steps is None and target.seconds is not None:
            return self.clock.elapsed(), target.seconds
        total = target.total_steps
        return float(self.step), float(total) if total is not None else None

    def reached(self) -> str | None:
        """'completed' or 'time_limit' once the target is reached, else None."""
        target = self.target
        if target.steps is not None and self.step >= target.steps:
            return "completed"
        if target.epochs is not None and self.epoch >= target.epochs and self.position == 0:
            return "completed"
        if target.seconds is not None and self.clock.elapsed() >= target.seconds:
            return "time_limit"
        return None

    def counters(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "position": self.position, "images_seen": self.images_seen,
                "train_seconds": self.clock.elapsed()}

    def load_counters(self, counters: dict) -> None:
        self.step, self.epoch = int(counters["step"]), int(counters["epoch"])
        self.position, self.images_seen = int(counters["position"]), int(counters["images_seen"])
        self.clock.seconds_before = float(counters["train_seconds"])
