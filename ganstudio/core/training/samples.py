"""The sample writer: the gallery's grid of the fixed inputs, saved as a PNG that remembers its step."""

from __future__ import annotations

from .. import events as ev
from ..export import save_png
from ..recipes.base import Recipe
from ..runs import RunFolder
from .state import RunState


class SampleWriter:
    """Draws and saves the recipe's sample grid: epoch_NNNN.png at an epoch's end, step_NNNNNNNNN.png otherwise."""

    def __init__(self, folder: RunFolder, model: str):
        self.folder = folder
        self.model = model
        self.last_step = -1

    def write(self, recipe: Recipe, state: RunState) -> ev.Event:
        """SamplesSaved, or a Warning when the file could not be written (training goes on either way)."""
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
