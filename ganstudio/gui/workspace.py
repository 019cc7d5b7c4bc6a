"""What the pages share: settings, background workers, the training session and the chosen dataset."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..core.config import DataConfig
from ..core.data.scan import DatasetReport
from ..core.registry import TRANSLATE
from ..core.runs import RunFolder
from .bridge import TrainingSession
from .settings import AppSettings
from .tasks import TaskRunner


def is_image_to_image_model(name: str) -> bool:
    """Whether the model `name` turns pictures into pictures: its runs convert on the Image to image page
    rather than make new pictures from seeds on the Generate page."""
    from ..core.registry import kind_of  # imports the models, and torch: the start-up probe has usually done it
    return kind_of(name) == TRANSLATE


def model_label(name: str) -> str:
    """The model's name as people read it (its recipe's label), or the bare name for one this installation lacks."""
    from ..core.registry import find_recipe  # imports the models, and torch: the start-up probe has usually done it
    recipe = find_recipe(name)
    return recipe.label if recipe is not None else name


def run_directions(path: str | Path) -> tuple[str, ...]:
    """The ways the image-to-image run at `path` converts ('AtoB', 'BtoA'), as its model declares them."""
    from ..core.registry import find_recipe
    try:
        recipe = find_recipe(RunFolder(path).load_config().model.name)
    except Exception:  # a broken run is for the panel that opens it to explain
        return ()
    return tuple(getattr(recipe, "directions", {}))


def is_image_to_image_run(path: str | Path) -> bool:
    """Whether the run folder at `path` holds an image-to-image model (False for anything unreadable)."""
    try:
        return is_image_to_image_model(RunFolder(path).load_config().model.name)
    except Exception:  # a missing or broken run is for the page that opens it to explain
        return False


class Workspace(QObject):
    """One per window. Pages talk to each other through it, never to each other directly."""

    dataset_changed = Signal()        # the chosen dataset or its settings changed
    dataset_scanned = Signal()        # a scan finished: report and pixels are current
    # Text for the status bar, for how many ms (0: until replaced), and the key of the page it comes from ("": the app).
    status_message = Signal(str, int, str)
    page_requested = Signal(str)      # a page asks the window to show another (by key)
    runs_changed = Signal()           # a run was written or opened; lists of runs should refresh
    run_opened = Signal(str)          # show this run folder on the Runs page
    generate_requested = Signal(str)  # open this run folder on the Generate page
    resume_requested = Signal(str, object)  # continue this run: (folder, dict of epochs/steps/minutes)
    torch_build_known = Signal(str)  # the probe found which torch build the app runs on, in words

    def __init__(self, settings: AppSettings, engine: ModuleType | Any | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.io_tasks = TaskRunner(self, workers=2, name="io")
        # One worker: networks loaded for generating are used by one thread at a time.
        self.model_tasks = TaskRunner(self, workers=1, name="model")
        self.session = TrainingSession(self, engine)
        self.dataset = DataConfig(demo=True)
        self.dataset_report: DatasetReport | None = None
        self.dataset_pixels: np.ndarray | None = None
        self.closing = False  # the window is closing: a run stopping now should be offered again next time

    def data_config(self) -> DataConfig:
        """A copy of the chosen dataset's settings, for a run config."""
        data = self.dataset
        return DataConfig(paths=list(data.paths), demo=data.demo, size=data.size, fit=data.fit,
                          background=data.background, augment=data.augment)

    def dataset_title(self) -> str:
        if self.dataset.demo:
            return "Built-in demo shapes"
        if self.dataset_report is not None:
            return self.dataset_report.name
        paths = self.dataset.paths
        return Path(paths[0]).name if paths else "No dataset"

    def reveal(self, path: str | Path) -> None:
        """Show a folder or file in the system's file manager."""
        from .desktop import reveal
        if not reveal(path):
            self.say(f"No file manager could be opened; the folder is {path}.", 0)

    def say(self, text: str, timeout_ms: int = 6000, page: str = "") -> None:
        self.status_message.emit(text, timeout_ms, page)

    def shutdown(self) -> None:
        self.io_tasks.shutdown()
        self.model_tasks.shutdown()

    def wait_for_writes(self) -> None:
        """Block until exports and saves under way have ended; reads under way are left (at quit)."""
        self.io_tasks.wait_for_writes()
        self.model_tasks.wait_for_writes()
