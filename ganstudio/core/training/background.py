"""Background measurements: a metric's snapshot is taken between steps, measured on one worker thread.

Training never waits for a measurement, except at the end of the run, so the run's last events
come after its last measurement. A measurement that fails becomes a warning; training goes on.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from .. import events as ev
from ..metrics.base import Metric
from ..sinks import Sink
from .state import RunState


class BackgroundMeasurements:
    """Takes metrics' snapshots on the training thread and measures them in order on one worker thread."""

    def __init__(self, emit: Sink):
        self.emit = emit
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    @property
    def busy(self) -> bool:
        """Whether a measurement is still running (a `take` now would be skipped)."""
        return any(not future.done() for future in self._pending)

    def take(self, metric: Metric, recipe, state: RunState) -> None:
        """Snapshot `metric` now; measure it in the background and emit MetricMeasured (or a Warning)."""
        if self.busy:
            return  # the last measurement is still running: skip this turn rather than queue behind it
        step, epoch, elapsed = state.step, state.epoch, state.clock.elapsed()
        snapshot = metric.snapshot(recipe)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganstudio-metric")

        def measure() -> None:
            try:
                values = metric.measure(snapshot)
            except Exception as exc:  # a measurement's failure must not end the training it measures
                self.emit(ev.Warning(message=f"{metric.label or metric.name} could not be measured at step "
                                             f"{step:,} ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})."))
                return
            self.emit(ev.MetricMeasured(name=metric.name, step=step, epoch=epoch, elapsed_seconds=elapsed,
                                        values={key: float(value) for key, value in values.items()}))

        self._pending = [future for future in self._pending if not future.done()] + [self._pool.submit(measure)]

    def finish(self) -> None:
        """Wait for the measurements under way; their events come before the run's last ones."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._pending = []
