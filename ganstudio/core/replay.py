"""One replay of a run's metrics.jsonl into the history that still stands after every continue."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from . import events as ev
from .runs import BEST_NAME, RunFolder, SampleFile, read_best
from .sinks import read_metrics


@dataclass(frozen=True)
class RunHistory:
    """What the segments of a run left standing, in training order.

    Each RunStarted begins a segment: the first training, then each continue. A continue starts from a
    checkpoint and trains the steps after it again, so whatever earlier segments logged after that
    step (steps, epochs, sample grids, checkpoints) is replaced: `steps`, `epochs`, `samples` and
    `checkpoints` each have strictly increasing steps. `started` is the last segment's RunStarted (its
    loss_names and stat_names say what to plot); `finished` is how the last segment ended, None when it
    crashed or still runs; `segments` counts the RunStarted events. `best` is the last BestCheckpoint: the
    checkpointer keeps best.pt across a continue, so a best from before the continue still stands.
    """

    steps: tuple[ev.StepProgress, ...] = ()
    epochs: tuple[ev.EpochEnded, ...] = ()
    samples: tuple[ev.SamplesSaved, ...] = ()
    checkpoints: tuple[ev.CheckpointSaved, ...] = ()
    metrics: tuple[ev.MetricMeasured, ...] = ()
    warnings: tuple[ev.Warning, ...] = ()
    best: ev.BestCheckpoint | None = None
    started: ev.RunStarted | None = None
    finished: ev.RunFinished | None = None
    segments: int = 0

    @property
    def last_checkpoint(self) -> ev.CheckpointSaved | None:
        return self.checkpoints[-1] if self.checkpoints else None


def _cut_after(events: list, step: int) -> None:
    """Drop the events made after `step`; they are at the end, so this costs what it drops."""
    while events and events[-1].step > step:
        events.pop()


def replay_events(events: list[ev.Event]) -> RunHistory:
    """The history that stands after `events`, a run's metrics in the order they were written; one pass."""
    steps: list[ev.StepProgress] = []
    epochs: list[ev.EpochEnded] = []
    samples: list[ev.SamplesSaved] = []
    checkpoints: list[ev.CheckpointSaved] = []
    metrics: list[ev.MetricMeasured] = []
    stepped = (steps, epochs, samples, checkpoints, metrics)
    warnings: list[ev.Warning] = []
    best: ev.BestCheckpoint | None = None
    started: ev.RunStarted | None = None
    finished: ev.RunFinished | None = None
    segments = 0
    for event in events:
        if isinstance(event, ev.StepProgress):
            if steps and steps[-1].step >= event.step:
                # Training went back without a RunStarted to say so: that line was lost, joined to an
                # earlier segment's torn last line. In a segment a step's progress comes before its
                # epoch, grid and checkpoint, so everything from this step on is the earlier segment's.
                for kept in stepped:
                    _cut_after(kept, event.step - 1)
            steps.append(event)
        elif isinstance(event, (ev.EpochEnded, ev.SamplesSaved, ev.CheckpointSaved)):
            kept = epochs if isinstance(event, ev.EpochEnded) else \
                samples if isinstance(event, ev.SamplesSaved) else checkpoints
            # A segment stopped before its first step saves a grid at its start step again: the newer stands.
            _cut_after(kept, event.step - 1)
            kept.append(event)
        elif isinstance(event, ev.MetricMeasured):
            # Several metrics may measure one step, so only what lies after this step is an older segment's.
            _cut_after(metrics, event.step)
            metrics.append(event)
        elif isinstance(event, ev.RunStarted):
            for kept in stepped:
                _cut_after(kept, event.start_step)
            started, finished = event, None
            segments += 1
        elif isinstance(event, ev.RunFinished):
            finished = event
        elif isinstance(event, ev.Warning):
            warnings.append(event)
        elif isinstance(event, ev.BestCheckpoint):
            best = event
    return RunHistory(steps=tuple(steps), epochs=tuple(epochs), samples=tuple(samples),
                      checkpoints=tuple(checkpoints), metrics=tuple(metrics), warnings=tuple(warnings), best=best,
                      started=started, finished=finished, segments=segments)


def replay_run(metrics_path: str | Path) -> RunHistory:
    """The standing history of the metrics.jsonl at `metrics_path`; empty when there is none yet."""
    return replay_events(read_metrics(metrics_path))


def standing_best(folder: RunFolder, history: RunHistory) -> ev.BestCheckpoint | None:
    """The run's best checkpoint as checkpoints/lineage.json records it (None when there is no best.pt), with its
    epoch from the history's checkpoints; -1 for the epoch when the history does not know it (a lost metrics.jsonl)."""
    best = read_best(folder)
    if best is None:
        return None
    epochs = {event.step: event.epoch for event in history.checkpoints}
    if history.best is not None:
        epochs.setdefault(history.best.step, history.best.epoch)
    return ev.BestCheckpoint(step=best["step"], epoch=epochs.get(best["step"], -1), score_name=best["score_name"],
                             score=best["score"], path=str(folder.checkpoints_dir / BEST_NAME))


def sample_files(folder: RunFolder, history: RunHistory) -> list[SampleFile]:
    """The run's sample grids for a gallery: those of `history` still on disk, in training order.

    They are found by name in the run's samples folder, so a run copied from another computer (whose
    metrics name its old place, perhaps with Windows separators) shows them too. A history without
    grids (a folder without its metrics.jsonl) falls back to what the samples folder holds.
    """
    if not history.samples:
        return folder.samples()
    try:
        on_disk = set(os.listdir(folder.samples_dir))
    except OSError:
        return []
    found = []
    for event in history.samples:
        name = PureWindowsPath(event.path).name  # either separator, whichever system wrote it
        if name in on_disk:
            found.append(SampleFile(folder.samples_dir / name, event.epoch, event.step))
    return found
