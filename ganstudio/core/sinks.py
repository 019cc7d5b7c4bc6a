"""Event sinks: callables that take an engine event and print it, store it as JSONL, or keep it for tests."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Callable, TextIO

from . import events as ev

Sink = Callable[[ev.Event], None]


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def epochs_done(done: int, total: int | None = None) -> str:
    """Epochs are counted as completed ones everywhere (the engine's count): '1 epoch done', '3 of 50 epochs done'."""
    if total is not None:
        return f"{done:,} of {total:,} epoch{'' if total == 1 else 's'} done"
    return f"{done:,} epoch{'' if done == 1 else 's'} done"


def format_speed(images_per_second: float) -> str:
    """'0.3 images/s' and '1,234 images/s': a tenth below 10, where a whole number would read 0 on a slow CPU."""
    if images_per_second < 10:
        return f"{images_per_second:.1f} images/s"
    return f"{images_per_second:,.0f} images/s"


def _format_values(values: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.3f}" for name, value in values.items())


class ConsoleSink:
    """Prints what a person at a terminal wants to see; step lines at most every `step_interval` seconds."""

    def __init__(self, stream: TextIO | None = None, step_interval: float = 5.0):
        self.stream = stream or sys.stdout
        self.step_interval = step_interval
        self._last_step_print = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.DataProgress):
            if event.done == event.total or event.done == 0:
                self._print(f"{event.stage.capitalize()} the dataset: {event.done:,} of {event.total:,} pictures")
        elif isinstance(event, ev.DatasetReady):
            source = " (from cache)" if event.from_cache else ""
            self._print(f"Dataset {event.name}: {event.usable:,} images usable, {event.skipped:,} skipped{source}, "
                        f"ready in {event.seconds:.1f} s")
            for warning in event.warnings:
                self._print(f"  note: {warning}")
        elif isinstance(event, ev.RunStarted):
            verb = "Resuming" if event.start_step else "Training"
            self._print(f"{verb} {event.model} on {event.device} ({event.precision}), {event.dataset_size:,} images, "
                        f"batch {event.batch_size}, {event.steps_per_epoch} steps an epoch, target {event.target}")
            self._print(f"Run folder: {event.run_dir}")
        elif isinstance(event, ev.StepProgress):
            now = time.monotonic()
            if now - self._last_step_print >= self.step_interval:
                self._last_step_print = now
                self._print(f"step {event.step:>7,}  {event.epoch + event.epoch_fraction:6.2f} epochs done  "
                            f"{event.images_per_second:6.1f} img/s  left {_format_duration(event.eta_seconds)}  "
                            f"{_format_values(event.losses)}")
        elif isinstance(event, ev.EpochEnded):
            self._print(f"{epochs_done(event.epoch)} at step {event.step:,} in {event.seconds:.1f} s: "
                        f"{_format_values({**event.losses, **event.stats})}")
        elif isinstance(event, ev.SamplesSaved):
            self._print(f"samples: {event.path}")
        elif isinstance(event, ev.CheckpointSaved):
            self._print(f"checkpoint: {event.path}")
        elif isinstance(event, ev.MetricMeasured):
            self._print(f"{event.name} at step {event.step:,}: {_format_values(event.values)}")
        elif isinstance(event, ev.BestCheckpoint):
            self._print(best_sentence(event))
        elif isinstance(event, ev.Warning):
            self._print(f"warning: {event.message}")
        elif isinstance(event, ev.RunFinished) and event.reason not in ("error", "diverged"):
            # A run that ends with a problem raises it too, and the command prints it once as its error line.
            self._print(finished_sentence(event))


def best_words(best: ev.BestCheckpoint) -> str:
    """'Best so far: epoch 31 (KID ×10³ 12.3)', as the app shows it; by step when the epoch is not known (< 0)."""
    when = f"epoch {best.epoch:,}" if best.epoch >= 0 else f"step {best.step:,}"
    return f"Best so far: {when} ({best.score_name} {best.score:.1f})"


def best_sentence(best: ev.BestCheckpoint) -> str:
    """The command line's words: the app's, with the step and the file that keeps it."""
    return f"{best_words(best)}, step {best.step:,}, kept as checkpoints/best.pt"


def finished_sentence(event: ev.RunFinished) -> str:
    """How a run ended, in the words of the command line: how far it got, and the command that continues it."""
    if event.reason in ("error", "diverged"):
        return event.message
    if event.reason == "completed":
        return f"Finished: {event.step:,} steps, {epochs_done(event.epoch)}."
    if event.reason == "time_limit":
        text = (f"Time is up after {event.elapsed_seconds / 60:.1f} minutes of training: step {event.step:,}, "
                f"{epochs_done(event.epoch)}.")
    else:
        text = event.message or f"Stopped at step {event.step:,}; checkpoint saved."
    if event.resumable:
        text += f' Continue with: ganstudio resume "{event.run_dir}"'
    return text


class JsonlSink:
    """Appends one JSON line per event to a file, flushed as it goes so a crash loses at most the last line."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.DataProgress):
            return  # progress of decoding is noise in a run's history
        line = json.dumps(ev.to_record(event), allow_nan=True, separators=(",", ":"))
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


class ListSink(list):
    """Keeps every event in a list; for tests and for replaying."""

    def __call__(self, event: ev.Event) -> None:
        self.append(event)

    def of(self, kind: type[ev.Event]) -> list:
        return [event for event in self if isinstance(event, kind)]


class TeeSink:
    """Passes each event to several sinks in order."""

    def __init__(self, *sinks: Sink | None):
        self.sinks = [sink for sink in sinks if sink is not None]

    def __call__(self, event: ev.Event) -> None:
        for sink in self.sinks:
            sink(event)


def null_sink(event: ev.Event) -> None:
    """Ignores every event."""


def read_metrics(path: str | Path) -> list[ev.Event]:
    """The events of a metrics.jsonl file, skipping a torn last line and kinds this version does not know."""
    events: list[ev.Event] = []
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return events
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        event = ev.from_record(record) if isinstance(record, dict) else None
        if event is not None:
            events.append(event)
    return events
