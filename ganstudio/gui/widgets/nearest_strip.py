"""The Generate page's strip of the training pictures nearest to the selected picture, with their names and distances.

It answers "is it copying my pictures?" for one picture at a time. The work runs on the workspace's io
workers: the first comparison of a run reads the features of every training picture (core/nearest.py,
cached on disk after that), later ones only the picture asked about. One comparison is out at a time; a
picture selected meanwhile waits, and only the newest one waiting is compared next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ...core.config import DataConfig
from ...core.printable import printable_name
from ..images import pixmap_from_rgb
from .common import label

# Five neighbours and the picture itself fit beside the controls in the default 1,360 px window.
NEIGHBOURS_SHOWN = 5
TILE_SIDE = 84
SETTING_KEY = "generate/compare_with_training"
STAGES = {"decoding": "Decoding the training pictures", "features": "Reading the training pictures"}


@dataclass
class _Query:
    """The picture to compare: its seed and its H x W x 3 uint8 pixels, and the run it belongs to."""

    seed: int
    pixels: np.ndarray
    run_token: int


class _Tile(QWidget):
    """One picture of the strip with two caption lines under it."""

    def __init__(self):
        super().__init__()
        self.picture = QLabel()
        self.picture.setFixedSize(TILE_SIDE, TILE_SIDE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = label("")
        self.figure = label("", "muted")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        for line in (self.name, self.figure):
            line.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            line.setFixedWidth(TILE_SIDE + 12)
            column.addWidget(line)

    def show_picture(self, pixels: np.ndarray, name: str, figure: str, tooltip: str) -> None:
        self.picture.setPixmap(pixmap_from_rgb(pixels, TILE_SIDE, smooth=pixels.shape[0] > TILE_SIDE))
        # A few pixels short of the label's width, which its own margins take.
        self.name.setText(self.name.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, TILE_SIDE + 4))
        self.figure.setText(figure)
        self.setToolTip(tooltip)


class NearestStrip(QFrame):
    """A card: a switch, a sentence about how near the selected picture is to the training set, and the tiles."""

    compared = Signal()  # a comparison is on screen
    comparison_failed = Signal(str)  # the sentence shown instead

    def __init__(self, workspace, parent: QWidget | None = None):
        super().__init__(parent)
        self.setProperty("card", True)
        self.workspace = workspace
        self.data: DataConfig | None = None
        self.run_name = ""
        self.device = "cpu"
        self.training = None  # core TrainingFeatures of the current run, once read
        self.neighbours: list = []  # core Neighbour, nearest first, of the picture on screen
        self.shown_seed: int | None = None
        self._run_token = 0
        self._wanted: _Query | None = None  # waiting to be compared
        self._latest: _Query | None = None  # the picture the page last asked about
        self._in_flight = False
        self._build()

    def _build(self) -> None:
        controls = QVBoxLayout()
        controls.setSpacing(4)
        controls.addWidget(label("Nearest training pictures", "h2"))
        self.switch = QCheckBox("Compare with the training pictures")
        self.switch.setToolTip("Show the training pictures most like the selected picture (or the first one), by "
                               "pretrained image features. The first time for a run, every training picture is read; "
                               "after that each picture is compared at once.")
        self.switch.setChecked(bool(self.workspace.settings.value(SETTING_KEY, False)))
        self.switch.toggled.connect(self._switched)
        self.summary = label("", "muted", wrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls.addWidget(self.switch)
        controls.addWidget(self.summary)
        controls.addStretch(1)
        controls_widget = QWidget()
        controls_widget.setLayout(controls)
        controls_widget.setFixedWidth(250)
        self.tiles_row = QWidget()
        tiles = QHBoxLayout(self.tiles_row)
        tiles.setContentsMargins(0, 0, 0, 0)
        tiles.setSpacing(6)
        self.query_tile = _Tile()
        tiles.addWidget(self.query_tile)
        arrow = label("≈", "big")
        arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tiles.addWidget(arrow, 0, Qt.AlignmentFlag.AlignTop)
        arrow.setFixedHeight(TILE_SIDE)
        self.neighbour_tiles = [_Tile() for _ in range(NEIGHBOURS_SHOWN)]
        for tile in self.neighbour_tiles:
            tiles.addWidget(tile)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 8)
        row.setSpacing(12)
        row.addWidget(controls_widget)
        row.addWidget(self.tiles_row)
        row.addStretch(1)  # keeps the controls at the left while the tiles are hidden
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._show_idle()

    # -- what the page tells it --------------------------------------------------------------------

    def set_run(self, data: DataConfig | None, run_name: str, device="cpu") -> None:
        """The run whose training pictures to compare with; its features are read again when next needed."""
        self._run_token += 1
        self.data, self.run_name, self.device = data, run_name, device
        self.training = None
        self.neighbours = []
        self.shown_seed = None
        self._wanted = self._latest = None
        self._show_idle()

    def compare(self, seed: int, pixels: np.ndarray) -> None:
        """Compare this generated picture (when the switch is on), as soon as the comparison before it is done."""
        self._wanted = self._latest = _Query(seed, np.array(pixels), self._run_token)
        if self.switch.isChecked():
            self._next()

    # -- the work ----------------------------------------------------------------------------------

    def _switched(self, on: bool) -> None:
        self.workspace.settings.set_value(SETTING_KEY, on)
        if on:
            self._wanted = self._wanted or self._latest
            self._next()
        else:
            self._show_idle()

    def _next(self) -> None:
        query = self._wanted
        if self._in_flight or query is None or self.data is None or query.run_token != self._run_token:
            return
        self._wanted = None
        self._in_flight = True
        data, run_name, device, known = self.data, self.run_name, self.device, self.training
        if known is None:
            self.summary.setText("Reading the training pictures…")

        def work(task):
            from ...core.nearest import nearest_to_pictures, training_features

            def progress(stage: str, done: int, total: int) -> None:
                task.check()
                task.progress(stage, done, total)

            training = known if known is not None else training_features(data, run_name, device, progress)
            task.check()
            neighbours = nearest_to_pictures(training, query.pixels[None], NEIGHBOURS_SHOWN, device)[0]
            pixels = [np.array(training.pixels[neighbour.index]) for neighbour in neighbours]
            return training, neighbours, pixels

        def done(answer) -> None:
            self._in_flight = False
            if query.run_token == self._run_token:
                self.training = answer[0]
                if self.switch.isChecked():
                    self._show(query, *answer)
            self._next()

        def failed(message: str) -> None:
            self._in_flight = False
            if query.run_token == self._run_token:
                self.summary.setText(message)
                self.tiles_row.hide()
                self.comparison_failed.emit(message)
            self._next()

        def progress(stage: str, done_count: int, total: int) -> None:
            if query.run_token == self._run_token:
                self.summary.setText(f"{STAGES.get(stage, stage)}: {done_count:,} of {total:,}…")

        self.workspace.io_tasks.submit(work, done, failed, progress, name="nearest")

    # -- showing it --------------------------------------------------------------------------------

    def _show_idle(self) -> None:
        self.tiles_row.hide()
        if self.switch.isChecked():
            self.summary.setText("Select a picture to see the training pictures nearest to it.")
        else:
            self.summary.setText("See the training pictures nearest to the selected picture.")

    def _show(self, query: _Query, training, neighbours: list, pixels: list[np.ndarray]) -> None:
        typical = training.typical_distance
        self.neighbours = neighbours
        self.shown_seed = query.seed
        self.query_tile.show_picture(query.pixels, f"seed {query.seed}", "generated", f"Seed {query.seed}")
        for tile, neighbour, picture in zip(self.neighbour_tiles, neighbours, pixels):
            name = printable_name(neighbour.label)
            tile.show_picture(picture, _file_stem(name), f"{neighbour.distance:.3f}",
                              f"{name}\nDistance {neighbour.distance:.4f}: 0 is the same picture; a training picture "
                              f"is typically {typical:.4f} from its nearest other.")
            tile.show()
        for tile in self.neighbour_tiles[len(neighbours):]:
            tile.hide()
        self.summary.setText(self.verdict(neighbours[0], typical, training.count))
        self.tiles_row.show()
        self.compared.emit()

    @staticmethod
    def verdict(nearest, typical: float, count: int) -> str:
        """One sentence on how near the picture is to its nearest training picture, against the set's own spacing."""
        from ...core.memorisation import CLOSE, COPYING  # here: the module needs torch, which the window loads later
        name = printable_name(nearest.label).rsplit("/", 1)[-1]
        ratio = nearest.distance / typical if typical > 0 else float("inf")
        if ratio < COPYING:
            return (f"Nearest of {count:,}: {name}, only {ratio:.1f}× the usual gap between training pictures: "
                    "it may be a copy.")
        if ratio < CLOSE:
            return (f"Nearest of {count:,}: {name}, nearer than training pictures are to each other ({ratio:.1f}×): "
                    "a variation on it.")
        return (f"Nearest of {count:,}: {name}, {ratio:.1f}× the usual gap between training pictures: "
                "a new picture.")


def _file_stem(label_text: str) -> str:
    """'pictures/cats/cat_01.png' as 'cat_01': the part of a training picture's name that fits under it."""
    name = label_text.replace(":", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name.strip(".") else name
