"""The sample writer: the gallery's grid of the fixed inputs, saved as a PNG that remembers its step, on a schedule in time."""

from __future__ import annotations

from .. import events as ev
from ..export import save_png
from ..recipes.base import Recipe
from ..runs import RunFolder
from .state import RunState

# A run's first grid comes this many seconds of training into the session, so the gallery shows
# something within the first minute whatever the dataset size (31 pictures at one grid per 2,000
# pictures seen gave two grids in 22 epochs)...
FIRST_SAMPLE_SECONDS = 20.0
# ...and then one whenever this long has passed since the last grid: 60 an hour, about 14 MB an hour
# of 64-px grids. A grid the epoch schedule wrote counts, so a fast run is not sampled twice over.
SAMPLE_SECONDS = 60.0


class SampleWriter:
    """Draws and saves the recipe's sample grid: epoch_NNNN.png at an epoch's end, step_NNNNNNNNN.png otherwise.

    `every_epochs` (0: none) adds grids at epoch ends to the schedule in time, which always runs.
    """

    def __init__(self, folder: RunFolder, model: str, every_epochs: int = 0,
                 first_seconds: float = FIRST_SAMPLE_SECONDS, every_seconds: float = SAMPLE_SECONDS):
        self.folder = folder
        self.model = model
        self.every_epochs = every_epochs
        self.first_seconds = first_seconds
        self.every_seconds = every_seconds
        self.last_step = -1
        self._next_due: float | None = None  # in training seconds; None until the session's first step

    def due(self, state: RunState, epoch_ended: bool) -> bool:
        """Whether a grid is due after this step: the epoch schedule, or the time since the last grid."""
        elapsed = state.clock.elapsed()
        if self._next_due is None:
            # Counted from this session's start (a continued run's earlier seconds are seconds_before), so a
            # continued run's first grid comes as soon as a new run's.
            self._next_due = state.clock.seconds_before + self.first_seconds
        if epoch_ended and self.every_epochs and state.epoch % self.every_epochs == 0:
            return True
        return elapsed >= self._next_due

    def write_when_due(self, recipe: Recipe, state: RunState, epoch_ended: bool) -> ev.Event | None:
        """The grid's event when one is due after this step, else None."""
        return self.write(recipe, state) if self.due(state, epoch_ended) else None

    def write(self, recipe: Recipe, state: RunState) -> ev.Event:
        """SamplesSaved, or a Warning when the file could not be written (training goes on either way)."""
        self._next_due = state.clock.elapsed() + self.every_seconds
        grid = recipe.sample_grid()
        name = f"epoch_{state.epoch:04d}.png" if state.position == 0 else f"step_{state.step:09d}.png"
        path = self.folder.samples_dir / name
        try:
            save_png(path, grid, {"run": self.folder.name, "epoch": state.epoch, "step": state.step,
                                  "model": self.model})
        except OSError as exc:
            return ev.Warning(message=f"The sample grid could not be saved to {path} ({exc.strerror or exc}).")
        self.last_step = state.step
        return ev.SamplesSaved(epoch=state.epoch, step=state.step, path=str(path), grid=grid)
