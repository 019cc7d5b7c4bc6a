"""Engine events: frozen dataclasses of plain data that any front end can print, store, plot or replay."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Event:
    """Base of all events; `kind` names the event in metrics.jsonl."""

    kind: ClassVar[str] = "event"
    time: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class DataProgress(Event):
    """Scanning or decoding the dataset: `done` of `total` files in `stage`."""

    kind: ClassVar[str] = "data_progress"
    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class DatasetReady(Event):
    """The dataset is decoded and on the training device."""

    kind: ClassVar[str] = "dataset_ready"
    name: str
    usable: int
    skipped: int
    from_cache: bool
    seconds: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunStarted(Event):
    """Training begins (or resumes) in `run_dir`."""

    kind: ClassVar[str] = "run_started"
    run_dir: str
    run_name: str
    model: str
    device: str
    precision: str
    dataset_size: int
    batch_size: int
    steps_per_epoch: int
    start_step: int
    start_epoch: int
    target: str  # "steps 1200", "epochs 30", "minutes 5.0"
    total_steps: int | None
    loss_names: tuple[str, ...]
    stat_names: tuple[str, ...]
    visual_names: tuple[str, ...]
    parameters: int
    metric_names: tuple[str, ...] = ()  # the values the run's metrics report (MetricMeasured.values' keys)


@dataclass(frozen=True)
class StepProgress(Event):
    """Throttled training progress: losses and statistics averaged over the steps since the last one."""

    kind: ClassVar[str] = "step"
    step: int
    epoch: int  # epochs completed before this step
    epoch_fraction: float
    images_seen: int
    images_per_second: float
    elapsed_seconds: float
    eta_seconds: float | None
    losses: dict[str, float]
    stats: dict[str, float]


@dataclass(frozen=True)
class EpochEnded(Event):
    """An epoch finished; losses are its means."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    step: int
    seconds: float
    losses: dict[str, float]
    stats: dict[str, float]


@dataclass(frozen=True)
class SamplesSaved(Event):
    """A sample grid from the fixed inputs was written; `grid` is the same picture as HxWx3 uint8."""

    kind: ClassVar[str] = "samples"
    epoch: int
    step: int
    path: str
    grid: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """A checkpoint with the whole training state was written."""

    kind: ClassVar[str] = "checkpoint"
    epoch: int
    step: int
    path: str
    seconds: float


@dataclass(frozen=True)
class MetricMeasured(Event):
    """A metric (core/metrics) measured the run as it was at `step`; `values` are its named numbers."""

    kind: ClassVar[str] = "metric"
    name: str
    step: int
    epoch: int
    elapsed_seconds: float
    values: dict[str, float]


@dataclass(frozen=True)
class BestCheckpoint(Event):
    """The quality score of `step` is the best so far: that step's checkpoint is now checkpoints/best.pt."""

    kind: ClassVar[str] = "best"
    step: int
    epoch: int
    score_name: str  # "KID ×10³"
    score: float
    path: str


@dataclass(frozen=True)
class Paused(Event):
    kind: ClassVar[str] = "paused"
    step: int


@dataclass(frozen=True)
class Resumed(Event):
    kind: ClassVar[str] = "resumed"
    step: int


@dataclass(frozen=True)
class Warning(Event):  # noqa: A001 - the event is named after what it carries
    """Something the user should know that does not stop the run."""

    kind: ClassVar[str] = "warning"
    message: str


@dataclass(frozen=True)
class RunFinished(Event):
    """The run ended. `reason`: completed, stopped, time_limit, diverged or error.

    Front ends write their own words from these fields: `run_dir` is the folder to continue (None when
    nothing was saved), `elapsed_seconds` the training time. `message` is the plain sentence of a
    problem (diverged, error) and empty otherwise.
    """

    kind: ClassVar[str] = "finished"
    reason: str
    step: int
    epoch: int
    checkpoint: str | None
    message: str = ""
    run_dir: str | None = None
    elapsed_seconds: float = 0.0

    @property
    def resumable(self) -> bool:
        """Whether the run can be continued from where it ended."""
        return self.checkpoint is not None and self.run_dir is not None and self.reason != "completed"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (DataProgress, DatasetReady, RunStarted, StepProgress, EpochEnded, SamplesSaved,
                CheckpointSaved, MetricMeasured, BestCheckpoint, Paused, Resumed, Warning, RunFinished)
}


def to_record(event: Event) -> dict[str, Any]:
    """The JSON-ready form of an event; arrays stay out (the samples are on disk)."""
    record: dict[str, Any] = {"event": event.kind}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, np.ndarray):
            continue
        if isinstance(value, tuple):
            value = list(value)
        record[f.name] = value
    return record


def from_record(record: dict[str, Any]) -> Event | None:
    """Rebuild an event from its metrics.jsonl line; None for kinds this version does not know."""
    cls = EVENT_TYPES.get(record.get("event", ""))
    if cls is None:
        return None
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, f in names.items():
        if name in record:
            value = record[name]
            if isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError:
        return None
