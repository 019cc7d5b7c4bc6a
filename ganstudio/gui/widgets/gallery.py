"""The gallery of per-epoch sample grids: the newest large, a timeline slider to scrub back, click to enlarge.

Grids from live events arrive as arrays; older ones are read back from their PNGs on a worker
thread when scrubbed to, and kept in a small cache, so a run of a thousand epochs costs the memory
of a few dozen pictures, not a thousand.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from ...core.runs import SampleFile
from ...core.sinks import epochs_done
from ..images import qimage_from_rgb
from ..resources import icon
from ..tasks import Task, TaskRunner
from .image_view import EnlargeDialog, ImageView

# Decoded grids kept for quick scrubbing: 40 of 64-px grids (530 x 530) is about 34 MB.
CACHED_GRIDS = 40
# Live grids keep their arrays only this long; older ones are read back from disk when needed.
KEPT_ARRAYS = 4


@dataclass
class GalleryEntry:
    epoch: int | None
    step: int | None
    path: Path
    pixels: np.ndarray | None = None

    @property
    def caption(self) -> str:
        parts = []
        if self.epoch is not None:
            parts.append(epochs_done(self.epoch))
        if self.step is not None:
            parts.append(f"step {self.step:,}")
        return " · ".join(parts) or self.path.name


def _read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


class SampleGallery(QWidget):
    """Sample grids in training order; follows the newest unless the user has scrubbed back."""

    current_changed = Signal(int)

    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self._tasks = tasks
        self.entries: list[GalleryEntry] = []
        self._cache: OrderedDict[int, QImage] = OrderedDict()
        self._loading: Task | None = None
        self._loading_index: int | None = None

        self.view = ImageView("Sample pictures appear here within the first minute of training.", clickable=True)
        self.view.setToolTip("Click to enlarge")
        self.view.clicked.connect(self.enlarge)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Scrub through the epochs: the same latent codes each time, so you see them learn")
        self.slider.valueChanged.connect(self._show)
        self.previous_button = QToolButton()
        self.previous_button.setIcon(icon("chevron-left"))
        self.previous_button.setToolTip("Earlier sample grid")
        self.previous_button.clicked.connect(lambda: self.slider.setValue(self.slider.value() - 1))
        self.next_button = QToolButton()
        self.next_button.setIcon(icon("chevron-right"))
        self.next_button.setToolTip("Later sample grid")
        self.next_button.clicked.connect(lambda: self.slider.setValue(self.slider.value() + 1))
        self.caption = QLabel("")
        self.caption.setProperty("role", "muted")
        self.caption.setMinimumWidth(170)

        timeline = QHBoxLayout()
        timeline.setContentsMargins(0, 0, 0, 0)
        timeline.addWidget(self.previous_button)
        timeline.addWidget(self.slider, 1)
        timeline.addWidget(self.next_button)
        timeline.addWidget(self.caption)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.view, 1)
        layout.addLayout(timeline)
        self._update_controls()

    def set_row_names(self, names: tuple[str, ...]) -> None:
        """Name the rows of the model's sample grids (its declared visual_names) in the picture's tooltip."""
        rows = [name.replace("_", " ") for name in names]
        words = f"Rows, top to bottom: {', '.join(rows)}. " if len(rows) > 1 else ""
        self.view.setToolTip(f"{words}Click to enlarge")

    # -- filling -----------------------------------------------------------------------------------

    def clear(self) -> None:
        self.entries = []
        self._cache.clear()
        if self._loading is not None:
            self._loading.cancel()
        self._loading = None
        self._loading_index = None
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.view.set_image(None)
        self._update_controls()

    def load_samples(self, samples: list[SampleFile]) -> None:
        """Show a saved run's sample grids, the standing ones that core.replay.sample_files lists."""
        self.clear()
        for sample in samples:
            self.entries.append(GalleryEntry(sample.epoch, sample.step, sample.path))
        self._after_append(follow=True)

    def add_live(self, epoch: int, step: int, path: str, grid: np.ndarray | None) -> None:
        """A grid just written by the engine; shown at once when the user is watching the newest."""
        # A continue stopped before its first step saves a grid at its start step again; as in the replay,
        # the newer grid replaces any at or after its step.
        self.drop_after(step - 1)
        following = not self.entries or self.slider.value() == len(self.entries) - 1
        self.entries.append(GalleryEntry(epoch, step, Path(path), grid))
        for old in self.entries[:-KEPT_ARRAYS]:
            old.pixels = None
        self._after_append(follow=following)

    def drop_after(self, step: int) -> None:
        """Forget grids made after `step` (a resumed run trains those steps again)."""
        kept = [entry for entry in self.entries if entry.step is None or entry.step <= step]
        if len(kept) != len(self.entries):
            self.entries = kept
            self._cache.clear()
            self._after_append(follow=True)

    def _after_append(self, follow: bool) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.entries) - 1))
        self.slider.blockSignals(False)
        if follow and self.entries:
            if self.slider.value() == len(self.entries) - 1:
                self._show(self.slider.value())
            else:
                self.slider.setValue(len(self.entries) - 1)
        elif not self.entries:
            self.view.set_image(None)
        self._update_controls()

    # -- showing -----------------------------------------------------------------------------------

    @property
    def current_index(self) -> int:
        return self.slider.value() if self.entries else -1

    def _update_controls(self) -> None:
        count = len(self.entries)
        self.slider.setEnabled(count > 1)
        index = self.slider.value()
        self.previous_button.setEnabled(count > 1 and index > 0)
        self.next_button.setEnabled(count > 1 and index < count - 1)
        if count:
            self.caption.setText(f"{self.entries[index].caption}  ({index + 1} of {count})")
        else:
            self.caption.setText("")

    def _show(self, index: int) -> None:
        self._update_controls()
        if not 0 <= index < len(self.entries):
            return
        image = self._cached(index)
        if image is not None:
            self.view.set_image(image)
            self.current_changed.emit(index)
            return
        self._request(index)

    def _cached(self, index: int) -> QImage | None:
        image = self._cache.get(index)
        if image is not None:
            self._cache.move_to_end(index)
            return image
        entry = self.entries[index]
        if entry.pixels is not None:
            return self._remember(index, qimage_from_rgb(entry.pixels))
        return None

    def _remember(self, index: int, image: QImage) -> QImage:
        self._cache[index] = image
        while len(self._cache) > CACHED_GRIDS:
            self._cache.popitem(last=False)
        return image

    def _request(self, index: int) -> None:
        """Read the grid's PNG on a worker; only the newest request is shown."""
        if self._loading is not None:
            self._loading.cancel()
        path = self.entries[index].path
        self._loading_index = index

        def loaded(pixels: np.ndarray, wanted: int = index, wanted_path: Path = path) -> None:
            self._loading = None
            if wanted < len(self.entries) and self.entries[wanted].path == wanted_path:
                image = self._remember(wanted, qimage_from_rgb(pixels))
                if self.slider.value() == wanted:
                    self.view.set_image(image)
                    self.current_changed.emit(wanted)

        def missing(message: str) -> None:
            self._loading = None
            self.view.set_image(None)
            self.view.set_placeholder(f"This sample grid could not be read: {message}")

        self._loading = self._tasks.submit(lambda task: _read_rgb(path), loaded, missing, name="gallery", writes=False)

    def image_at(self, index: int) -> QImage | None:
        """The grid at `index`, read now if need be (used by the enlarge dialog's arrow keys)."""
        if not 0 <= index < len(self.entries):
            return None
        image = self._cached(index)
        if image is None:
            try:
                image = self._remember(index, qimage_from_rgb(_read_rgb(self.entries[index].path)))
            except OSError:
                return None
        return image

    def enlarge(self) -> None:
        index = self.current_index
        image = self.image_at(index)
        if image is None:
            return
        position = {"index": index}

        def step(offset: int):
            target = position["index"] + offset
            found = self.image_at(target)
            if found is None:
                return None
            position["index"] = target
            self.slider.setValue(target)
            return found, self.entries[target].caption

        dialog = EnlargeDialog(self.window(), image, self.entries[index].caption, step)
        dialog.open()
