"""The bridge between the engine and the window: a QThread trains, a GUI-thread timer turns events into signals.

The engine's sink only puts events on a queue.SimpleQueue, so the training thread never waits for
the GUI and never touches a Qt object. Every DRAIN_INTERVAL_MS the GUI thread empties the queue,
gathers the step events that arrived since the last tick into one tuple, and emits a typed signal
per event, in the order they happened. Stop and pause go straight to the engine's Control token:
a thread busy training never runs queued slots, so a signal to it would wait until the run ended.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from ..core import events as ev
from ..core.config import RunConfig
from ..core.control import Control
from ..core.errors import GanStudioError
from .tasks import plain_message

log = logging.getLogger(__name__)

# 100 ms: step events come every 250 ms and a click's answer (paused, stopping) within 0.1 s reads as
# instant. Each wake-up of the GUI thread on a busy 2-core machine displaces a training thread, and
# 40 ms ticks cost 0.4% of a core more than 100 ms ones (GUI thread 1.9% vs 1.4% while training).
DRAIN_INTERVAL_MS = 100


@dataclass(frozen=True)
class _Failed:
    message: str


@dataclass(frozen=True)
class _ThreadEnded:
    pass


class EngineThread(QThread):
    """Runs one call of the engine; its sink only queues events. Never terminated, only asked to stop."""

    def __init__(self, start: Callable[[Callable[[ev.Event], None], Control], Any], events: queue.SimpleQueue,
                 control: Control, parent: QObject | None = None):
        super().__init__(parent)
        self._start = start
        self._events = events
        self._control = control
        self.setObjectName("ganstudio-engine")

    def run(self) -> None:
        try:
            self._start(self._events.put, self._control)
        except GanStudioError as exc:
            self._events.put(_Failed(str(exc)))
        except BaseException as exc:  # a bug, not the user's doing: log the traceback, show a sentence
            log.exception("the training thread failed")
            self._events.put(_Failed(plain_message(exc)))
        finally:
            self._events.put(_ThreadEnded())


class TrainingSession(QObject):
    """One training run at a time, as typed signals; `start` and `resume` refuse while one is running.

    States: idle, preparing (reading the dataset), training, paused, stopping.
    """

    data_progressed = Signal(object)      # ev.DataProgress
    dataset_ready = Signal(object)        # ev.DatasetReady
    run_started = Signal(object)          # ev.RunStarted
    steps_progressed = Signal(object)     # tuple[ev.StepProgress, ...] since the last tick, oldest first
    epoch_ended = Signal(object)          # ev.EpochEnded
    samples_saved = Signal(object)        # ev.SamplesSaved
    checkpoint_saved = Signal(object)     # ev.CheckpointSaved
    metric_measured = Signal(object)      # ev.MetricMeasured
    best_checkpoint = Signal(object)      # ev.BestCheckpoint
    paused = Signal(object)               # ev.Paused
    resumed = Signal(object)              # ev.Resumed
    warning_raised = Signal(object)       # ev.Warning
    run_finished = Signal(object)         # ev.RunFinished
    failed = Signal(str)                  # a plain sentence: the run could not start or broke off
    state_changed = Signal(str)
    thread_ended = Signal()               # the engine thread is gone; a new run may start

    def __init__(self, parent: QObject | None = None, engine: ModuleType | Any | None = None):
        super().__init__(parent)
        self._engine = engine  # None: the real engine, imported on the training thread at the first run
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: EngineThread | None = None
        self._control: Control | None = None
        self._state = "idle"
        self.run_dir: Path | None = None
        # The key of the page that started the current (or last) run: each page shows only its own runs.
        self.owner = ""
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)

    # -- asking ------------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, config: RunConfig, owner: str = "train") -> bool:
        """Train a new run of `config` for the page `owner`; False (and nothing happens) while another run is going."""
        return self._launch(lambda sink, control: self._engine_module().run(config, sink, control), None, owner)

    def resume(self, run_dir: str | Path, epochs: int | None = None, steps: int | None = None,
               minutes: float | None = None, owner: str = "train") -> bool:
        """Continue the run in `run_dir` from its latest checkpoint; False while another run is going."""
        return self._launch(lambda sink, control: self._engine_module().resume(
            run_dir, sink, control, epochs=epochs, steps=steps, minutes=minutes), Path(run_dir), owner)

    def _engine_module(self) -> ModuleType | Any:
        if self._engine is None:
            # torch takes seconds to import; here it happens on the training thread, never at start-up.
            from ..core import engine
            self._engine = engine
        return self._engine

    def pause(self) -> None:
        if self._control is not None and self._state == "training":
            self._control.pause()

    def resume_training(self) -> None:
        if self._control is not None:
            self._control.resume()

    def stop(self) -> None:
        """Ask the engine to stop after the current step; it writes a checkpoint, then finishes."""
        if self._control is not None and not self._control.stop_requested:
            self._control.request_stop()
            self._set_state("stopping")

    def wait(self, timeout_ms: int = 120_000) -> bool:
        """Block until the engine thread ends (for shutdown only; the window stays unresponsive meanwhile)."""
        thread = self._thread
        if thread is None:
            return True
        ended = thread.wait(timeout_ms)
        self.drain()
        return ended

    # -- the bridge --------------------------------------------------------------------------------

    def _launch(self, start: Callable, run_dir: Path | None, owner: str) -> bool:
        if self._thread is not None:
            return False
        self.owner = owner
        self._events = queue.SimpleQueue()
        self._control = Control()
        self.run_dir = run_dir
        # No Qt parent: the thread is dropped (and freed by Python) once it has ended and been joined.
        self._thread = EngineThread(start, self._events, self._control)
        self._set_state("preparing")
        self._timer.start()
        self._thread.start()
        return True

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def drain(self) -> None:
        """Empty the event queue into signals; runs on the GUI-thread timer."""
        steps: list[ev.StepProgress] = []
        ended = False
        while True:
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, ev.StepProgress):
                steps.append(item)
                continue
            if steps:
                self.steps_progressed.emit(tuple(steps))
                steps = []
            if isinstance(item, _ThreadEnded):
                ended = True
                break
            self._dispatch(item)
        if steps:
            self.steps_progressed.emit(tuple(steps))
        if ended:
            self._end_thread()

    def _dispatch(self, item: object) -> None:
        stopping = self._control is not None and self._control.stop_requested
        if isinstance(item, _Failed):
            self.failed.emit(item.message)
        elif isinstance(item, ev.DataProgress):
            self.data_progressed.emit(item)
        elif isinstance(item, ev.DatasetReady):
            self.dataset_ready.emit(item)
        elif isinstance(item, ev.RunStarted):
            self.run_dir = Path(item.run_dir)
            self._set_state("stopping" if stopping else "training")
            self.run_started.emit(item)
        elif isinstance(item, ev.EpochEnded):
            self.epoch_ended.emit(item)
        elif isinstance(item, ev.SamplesSaved):
            self.samples_saved.emit(item)
        elif isinstance(item, ev.CheckpointSaved):
            self.checkpoint_saved.emit(item)
        elif isinstance(item, ev.MetricMeasured):
            self.metric_measured.emit(item)
        elif isinstance(item, ev.BestCheckpoint):
            self.best_checkpoint.emit(item)
        elif isinstance(item, ev.Paused):
            self._set_state("stopping" if stopping else "paused")
            self.paused.emit(item)
        elif isinstance(item, ev.Resumed):
            self._set_state("stopping" if stopping else "training")
            self.resumed.emit(item)
        elif isinstance(item, ev.Warning):
            self.warning_raised.emit(item)
        elif isinstance(item, ev.RunFinished):
            self.run_finished.emit(item)

    def _end_thread(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.wait()  # run() has returned; this only joins the OS thread
        self._thread = None
        self._control = None
        self._timer.stop()
        self._set_state("idle")
        self.thread_ended.emit()
