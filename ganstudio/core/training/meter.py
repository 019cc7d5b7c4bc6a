"""The progress meter: gathers each step's losses, checks them for divergence, and makes throttled step events."""

from __future__ import annotations

import torch

from .. import events as ev
from ..checkpoint import DIVERGENCE_ADVICE
from ..errors import TrainingDiverged
from .state import RunState

# Step events are emitted at most this often; each carries the mean of the steps since the last one.
STEP_EVENT_INTERVAL_S = 0.25


class ProgressMeter:
    """Keeps the device's step values until `log_every` have gathered, then reads them back in one sync.

    Reading back every step would stall a GPU; every 10 steps costs nothing measurable. Rates and the
    time left come from the images trained since the last event.
    """

    def __init__(self, state: RunState, loss_count: int, log_every: int):
        self.state = state
        self.names = state.history.names
        self.loss_count = loss_count
        self.log_every = log_every
        self._pending: list[torch.Tensor] = []
        self._window: list[torch.Tensor] = []
        now = state.clock.now()
        self._last_event = now
        self._rate_start, self._rate_images = now, 0
        self._epoch_start = now
        self.images_per_second = 0.0

    def record(self, values: torch.Tensor, force_event: bool = False) -> ev.StepProgress | None:
        """Keep one step's values; a StepProgress when it is time for one (always with `force_event`)."""
        self._pending.append(values)
        self._rate_images += self.state.batch_size
        if len(self._pending) >= self.log_every or force_event:
            return self.flush(force_event)
        return None

    def flush(self, force_event: bool) -> ev.StepProgress | None:
        if not self._pending:
            return None
        rows = torch.stack(self._pending).float().cpu()  # the one device sync every `log_every` steps
        self._pending.clear()
        if not bool(torch.isfinite(rows).all()):
            bad = [self.names[i] for i in range(rows.shape[1]) if not bool(torch.isfinite(rows[:, i]).all())]
            raise TrainingDiverged(f"Training diverged at step {self.state.step:,}: {', '.join(bad)} became NaN or "
                                   f"infinite. The last good checkpoint is kept. {DIVERGENCE_ADVICE}")
        self.state.history.extend(rows)
        self._window.append(rows)
        now = self.state.clock.now()
        if not force_event and now - self._last_event < STEP_EVENT_INTERVAL_S:
            return None
        means = torch.cat(self._window).double().mean(0).tolist()
        self._window.clear()
        span = now - self._rate_start
        if span > 0 and self._rate_images:
            self.images_per_second = self._rate_images / span
        self._rate_start, self._rate_images = now, 0
        self._last_event = now
        state, count = self.state, self.loss_count
        return ev.StepProgress(
            step=state.step, epoch=state.epoch, epoch_fraction=state.position / state.steps_per_epoch,
            images_seen=state.images_seen, images_per_second=self.images_per_second,
            elapsed_seconds=state.clock.elapsed(), eta_seconds=self.eta(),
            losses=dict(zip(self.names[:count], means[:count])), stats=dict(zip(self.names[count:], means[count:])))

    def epoch_ended(self) -> ev.EpochEnded:
        """The epoch that just ended, as the means of its steps (call after the flush that ended it)."""
        state, count = self.state, self.loss_count
        rows = state.history.values()[-state.steps_per_epoch:].double().mean(0).tolist()
        now = state.clock.now()
        seconds, self._epoch_start = now - self._epoch_start, now
        return ev.EpochEnded(epoch=state.epoch, step=state.step, seconds=seconds,
                             losses=dict(zip(self.names[:count], rows[:count])),
                             stats=dict(zip(self.names[count:], rows[count:])))

    def eta(self) -> float | None:
        state = self.state
        seconds = state.target.seconds
        if seconds is not None:
            return max(0.0, seconds - state.clock.elapsed())
        total = state.target.total_steps
        if total is None or self.images_per_second <= 0:
            return None
        return max(0, total - state.step) * state.batch_size / self.images_per_second

    def shift(self, seconds: float) -> None:
        """A pause of `seconds` is not time spent training: the rate window moves past it."""
        self._rate_start += seconds
        self._epoch_start += seconds
