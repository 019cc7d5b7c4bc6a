"""The Generate page: pick a run and checkpoint, make pictures by seed, star favourites, animate, export.

The generator is loaded and run on the single-thread model worker, so the window stays responsive
while a batch of large pictures is drawn, and one network is never used by two threads at once.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QSpinBox,
                               QTabWidget, QVBoxLayout, QWidget)

from ...core.animation import (DEFAULT_FPS, DEFAULT_FRAMES_EACH_WAY, find_ffmpeg, morph_frames, morph_metadata,
                                write_animation)
from ...core.export import write_pngs
from ...core.fileio import atomic_write_text
from ...core.runs import RunFolder, list_runs
from ...core.sinks import epochs_done
from ..images import qimage_from_rgb
from ..resources import icon
from ..widgets.common import button, label, settings_column
from ..widgets.image_view import EnlargeDialog, ImageView
from ..widgets.nearest_strip import NearestStrip
from ..widgets.page_frame import page_frame, side_by_side
from ..widgets.picture_grid import PictureGrid
from ..widgets.replace_question import ask_to_replace
from ..workspace import Workspace, is_image_to_image_model, is_image_to_image_run, model_label

FAVOURITES_FILE = "favourites.json"
MAX_PICTURES = 256
RANDOM_SEED_LIMIT = 10_000_000
# Each kind of export remembers its own last folder: pictures, grids and animations often go to different places.
EXPORT_FOLDER_KEYS = {"pictures": "exports/pictures_folder", "grid": "exports/grid_folder",
                      "animation": "exports/animation_folder"}


# A grid's file name lists at most this many seeds that are not consecutive; all are in its metadata.
NAMED_SEEDS = 3


def seeds_in_name(seeds: list[int]) -> str:
    """The seeds of a grid as its file name says them: 'seeds5-28' only for a run of consecutive seeds.

    '_seeds315328-2227964' read as a range for three seeds chosen from anywhere; those are listed instead.
    """
    if len(seeds) == 1:
        return f"seed{seeds[0]}"
    if all(later == earlier + 1 for earlier, later in zip(seeds, seeds[1:])):
        return f"seeds{seeds[0]}-{seeds[-1]}"
    named = "_".join(map(str, seeds[:NAMED_SEEDS]))
    more = len(seeds) - NAMED_SEEDS
    return f"seeds{named}" + (f"_and_{more}_more" if more > 0 else "")


@dataclass
class Batch:
    """Pictures made by one request: their seeds, in order."""

    seeds: list[int]
    pixels: np.ndarray


@dataclass
class Animation:
    seed_a: int
    seed_b: int
    frames: np.ndarray
    fps: float


def read_favourites(run_dir: Path) -> set[int]:
    try:
        raw = json.loads((run_dir / FAVOURITES_FILE).read_text(encoding="utf-8"))
        return {int(seed) for seed in raw.get("seeds", [])}
    except (OSError, ValueError, TypeError, AttributeError):
        return set()


def write_favourites(run_dir: Path, seeds: set[int]) -> None:
    atomic_write_text(run_dir / FAVOURITES_FILE, json.dumps({"seeds": sorted(seeds)}, indent=1) + "\n")


class GeneratePage(QWidget):
    key = "generate"
    title = "Generate"
    icon_name = "generate"

    model_loaded = Signal()
    pictures_made = Signal()
    animation_made = Signal()
    exported = Signal(list)  # the paths written

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.generator = None  # a core TrainedGenerator, used only on the model worker
        self.batch: Batch | None = None
        self.animation: Animation | None = None
        self.favourites: set[int] = set()
        self._frame = 0
        self._frame_images = []
        self._row_to_batch: list[int] = []
        self.last_export: list[Path] = []
        self._extra_runs: list[str] = []
        self._chosen_run: str | None = None
        self.ffmpeg = find_ffmpeg()
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._next_frame)
        self._build()
        self.refresh_runs()
        self.workspace.runs_changed.connect(self.refresh_runs)

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.run_choice = QComboBox()
        self.run_choice.setMinimumWidth(300)
        self.run_choice.setToolTip("The trained run to make pictures with")
        self.run_choice.currentIndexChanged.connect(self._run_chosen)
        self.checkpoint_choice = QComboBox()
        self.checkpoint_choice.setMinimumWidth(200)
        self.checkpoint_choice.setToolTip("Which saved moment of training to use; the latest is usually best")
        self.checkpoint_choice.currentIndexChanged.connect(self._checkpoint_chosen)
        frame = page_frame(self, "Generate", "Make new pictures with a trained model. Each seed always gives the "
                           "same picture.", (label("Run", "muted"), self.run_choice, label("Checkpoint", "muted"),
                                             self.checkpoint_choice))
        self.subtitle, self.banner = frame.subtitle, frame.banner

        controls = self._build_controls()
        self.tabs = QTabWidget()
        self.grid = PictureGrid(picture_side=128, captions=True)
        self.grid.doubleClicked.connect(lambda index: self.enlarge(index.row()))
        self.grid.setToolTip("Double-click to enlarge; S stars the selected pictures")
        self.grid.selectionModel().selectionChanged.connect(lambda *args: self._update_actions())
        self.grid.selectionModel().currentChanged.connect(lambda *args: self._compare_with_training())
        pictures = QWidget()
        pictures_layout = QVBoxLayout(pictures)
        pictures_layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.pictures_title = label("", "h2")
        self.only_starred = QCheckBox("Only starred")
        self.only_starred.setToolTip("Show just the favourites you starred")
        self.only_starred.toggled.connect(self._show_batch)
        self.star_button = button("Star", "star", on_click=self.toggle_star,
                                  tooltip="Star or unstar the selected pictures as favourites (S)")
        top.addWidget(self.pictures_title, 1)
        top.addWidget(self.only_starred)
        top.addWidget(self.star_button)
        pictures_layout.addLayout(top)
        pictures_layout.addWidget(self.grid, 1)
        self.nearest_strip = NearestStrip(self.workspace)
        pictures_layout.addWidget(self.nearest_strip)
        self.tabs.addTab(pictures, icon("grid"), "Pictures")
        animation = QWidget()
        animation_layout = QVBoxLayout(animation)
        self.animation_view = ImageView("Choose two seeds and press Make animation: the picture morphs from one "
                                        "to the other and back, in a loop.")
        self.animation_caption = label("", "muted")
        animation_layout.addWidget(self.animation_view, 1)
        animation_layout.addWidget(self.animation_caption, 0, Qt.AlignmentFlag.AlignHCenter)
        self.tabs.addTab(animation, icon("film"), "Animation")

        self.splitter = side_by_side(controls, self.tabs, [300, 900])
        frame.column.addWidget(self.splitter, 1)
        # Only while the grid has the focus: a bare letter must not fire from anywhere in the window.
        QShortcut(QKeySequence("S"), self.grid, activated=self.toggle_star,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._update_actions()

    def _build_controls(self) -> QWidget:
        panel, _, column = settings_column(270, 380, spacing=6)
        self.model_line = label("No model loaded", "muted", wrap=True)
        column.addWidget(self.model_line)

        column.addWidget(label("Pictures by seed", "h2"))
        form = QFormLayout()
        self.first_seed = QSpinBox()
        self.first_seed.setRange(0, RANDOM_SEED_LIMIT)
        self.first_seed.setToolTip("The first seed; the others follow it (7, 8, 9…). A seed is a picture's "
                                   "address: it always gives the same picture from the same checkpoint.")
        self.count = QSpinBox()
        self.count.setRange(1, MAX_PICTURES)
        self.count.setValue(self.workspace.settings.value("generate/count", 24))
        self.count.setToolTip("How many pictures to make")
        form.addRow("First seed", self.first_seed)
        form.addRow("How many", self.count)
        column.addLayout(form)
        row = QHBoxLayout()
        self.generate_button = button("Generate", "generate", primary=True, on_click=self.generate_by_seed,
                                      tooltip="Make the pictures for these seeds (Ctrl+G)")
        self.random_button = button("Surprise me", "shuffle", on_click=self.generate_random,
                                    tooltip="Make pictures from random seeds (Ctrl+Shift+G)")
        row.addWidget(self.generate_button)
        row.addWidget(self.random_button)
        column.addLayout(row)

        column.addWidget(label("Morph between two seeds", "h2"))
        form = QFormLayout()
        self.seed_a = QSpinBox()
        self.seed_a.setRange(0, RANDOM_SEED_LIMIT)
        self.seed_b = QSpinBox()
        self.seed_b.setRange(0, RANDOM_SEED_LIMIT)
        self.seed_b.setValue(1)
        self.frames = QSpinBox()
        self.frames.setRange(4, 240)
        self.frames.setValue(DEFAULT_FRAMES_EACH_WAY)
        self.frames.setToolTip("Frames from the first picture to the second; the way back adds as many again")
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(round(DEFAULT_FPS))
        self.fps.setSuffix(" fps")
        form.addRow("From seed", self.seed_a)
        form.addRow("To seed", self.seed_b)
        form.addRow("Frames", self.frames)
        form.addRow("Speed", self.fps)
        column.addLayout(form)
        self.use_selected_button = button("Use two selected pictures", flat=True, on_click=self._seeds_from_selection,
                                          tooltip="Take the seeds of the two pictures selected in the grid")
        self.animate_button = button("Make animation", "film", on_click=self.make_animation)
        column.addWidget(self.use_selected_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.animate_button)

        column.addWidget(label("Export", "h2"))
        self.export_png_button = button("PNG files…", "export", on_click=self.export_pngs,
                                        tooltip="Save the selected pictures (or all shown) as PNG files that "
                                                "remember their seed and model (Ctrl+E)")
        self.export_grid_button = button("One grid picture…", "grid", on_click=self.export_grid,
                                         tooltip="Save the selected pictures (or all shown) side by side in one PNG")
        self.export_gif_button = button("Animation as GIF…", "film", on_click=lambda: self.export_animation("gif"))
        self.export_mp4_button = button("Animation as MP4…", "film", on_click=lambda: self.export_animation("mp4"))
        if self.ffmpeg is None:
            self.export_mp4_button.setToolTip("MP4 needs the ffmpeg program, which was not found on this computer; "
                                              "install it (or the imageio-ffmpeg package) to enable this. GIF works.")
        for widget in (self.export_png_button, self.export_grid_button, self.export_gif_button, self.export_mp4_button):
            column.addWidget(widget)
        column.addStretch(1)
        return panel

    def _update_actions(self) -> None:
        loaded = self.generator is not None
        for widget in (self.generate_button, self.random_button, self.animate_button, self.use_selected_button):
            widget.setEnabled(loaded)
        has_pictures = self.batch is not None and len(self.batch.seeds) > 0
        self.export_png_button.setEnabled(has_pictures)
        self.export_grid_button.setEnabled(has_pictures)
        self.star_button.setEnabled(has_pictures)
        self.export_gif_button.setEnabled(self.animation is not None)
        self.export_mp4_button.setEnabled(self.animation is not None and self.ffmpeg is not None)
        self.use_selected_button.setEnabled(loaded and len(self.grid.selected_rows()) == 2)
        self.grid.set_placeholder(self._empty_words())

    def _empty_words(self) -> str:
        """What the empty gallery says to do next."""
        if self.generator is None:
            if self.run_choice.currentData() is None:
                return "No pictures yet: train a run on the Train page first, then make its pictures here."
            return "Loading the model…"
        if self.batch is None:
            return ("Press Generate (Ctrl+G) to make pictures from the seeds on the left, or Surprise me for "
                    "random ones.")
        if self.only_starred.isChecked():
            return "No starred pictures yet: select some and press Star (S), or show them all again."
        return ""

    # -- runs --------------------------------------------------------------------------------------

    def add_run_folder(self, folder: str) -> None:
        if folder not in self._extra_runs:
            self._extra_runs.append(folder)

    def refresh_runs(self, select: str | None = None) -> None:
        """List the runs that make pictures from seeds and have a checkpoint: the data folder's, plus any opened
        from elsewhere (image-to-image runs convert pictures on their own page instead).

        Keeps (or moves to `select`) the chosen run, and loads its model only if it is not the one loaded.
        """
        wanted = select or self.run_choice.currentData()
        extra = self.workspace.settings.value("runs/opened", [])
        folders: list[tuple[str, str]] = []
        seen = set()
        for summary in list_runs():
            if summary.last_step is not None and not is_image_to_image_model(summary.model):
                folders.append((str(summary.path), f"{summary.name}"))
            seen.add(str(summary.path))
        for path in [*extra, *self._extra_runs]:
            folder = RunFolder(path)
            if (str(folder.path) not in seen and folder.is_run() and folder.checkpoints()
                    and not is_image_to_image_run(folder.path)):
                folders.append((str(folder.path), folder.name))
                seen.add(str(folder.path))
        self.run_choice.blockSignals(True)
        self.run_choice.clear()
        for path, name in folders:
            self.run_choice.addItem(icon("runs"), name, path)
            self.run_choice.setItemData(self.run_choice.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        if not folders:
            self.run_choice.addItem("No trained runs yet — train one first", None)
        index = self.run_choice.findData(wanted) if wanted else 0
        self.run_choice.setCurrentIndex(max(0, index))
        self.run_choice.blockSignals(False)
        if not folders:
            self.checkpoint_choice.clear()
            self._update_actions()
            return
        if self.run_choice.currentData() != self._chosen_run:
            self._run_chosen()

    def open_run(self, run_dir: str) -> None:
        """Show this run here (from the Runs page or a finished training run)."""
        path = str(RunFolder(run_dir).path)
        self.add_run_folder(path)
        self.refresh_runs(select=path)

    def _run_chosen(self) -> None:
        path = self.run_choice.currentData()
        self._chosen_run = path
        self.checkpoint_choice.blockSignals(True)
        self.checkpoint_choice.clear()
        if path:
            folder = RunFolder(path)
            checkpoints = folder.checkpoints()
            for index, (step, checkpoint) in enumerate(reversed(checkpoints)):
                words = f"Latest — step {step:,}" if index == 0 else f"Step {step:,}"
                self.checkpoint_choice.addItem(words, str(checkpoint))
            self.favourites = read_favourites(folder.path)
        self.checkpoint_choice.blockSignals(False)
        self._checkpoint_chosen()

    def _checkpoint_chosen(self) -> None:
        checkpoint = self.checkpoint_choice.currentData()
        run_dir = self.run_choice.currentData()
        if not checkpoint or not run_dir:
            return
        self.generator = None
        self._update_actions()
        self.model_line.setText("Loading the model…")

        def load(task):
            from ...core.generate import load_generator
            return load_generator(run_dir, checkpoint, device="auto")

        self.workspace.model_tasks.submit(load, self._loaded, self._load_failed, name="load-generator", writes=False)

    def _loaded(self, generator) -> None:
        if generator.checkpoint_path != Path(self.checkpoint_choice.currentData() or ""):
            return  # another checkpoint was chosen meanwhile
        self.generator = generator
        config = generator.config
        self.model_line.setText(f"<b>{generator.run_name}</b><br>{model_label(config.model.name)} · "
                                f"{config.data.size} × {config.data.size} px · "
                                f"{epochs_done(generator.epoch)} · step {generator.step:,}")
        self.banner.hide()
        self.nearest_strip.set_run(config.data, generator.run_name, generator.recipe.device)
        self._update_actions()
        self.workspace.say(f"Model loaded: {generator.run_name}, step {generator.step:,}.", page=self.key)
        self.model_loaded.emit()
        if self.batch is not None and self.batch.seeds:
            self._generate(self.batch.seeds)
        else:
            self.generate_by_seed()

    def _load_failed(self, message: str) -> None:
        self.model_line.setText("No model loaded")
        self.banner.show_message(message, "error")

    # -- making pictures ---------------------------------------------------------------------------

    def generate_by_seed(self) -> None:
        first = self.first_seed.value()
        self.workspace.settings.set_value("generate/count", self.count.value())
        self._generate(list(range(first, first + self.count.value())))

    def generate_random(self) -> None:
        rng = random.Random()
        self._generate(sorted(rng.sample(range(RANDOM_SEED_LIMIT), self.count.value())))

    def _generate(self, seeds: list[int]) -> None:
        generator = self.generator
        if generator is None:
            return
        self.generate_button.setEnabled(False)
        self.workspace.say(f"Making {len(seeds)} pictures…", 0, page=self.key)

        def work(task):
            return Batch(seeds, generator.images_for_seeds(seeds))

        def done(batch: Batch) -> None:
            self.batch = batch
            self.only_starred.blockSignals(True)
            self.only_starred.setChecked(False)
            self.only_starred.blockSignals(False)
            self._show_batch()
            self.workspace.say(f"Made {len(batch.seeds)} pictures.", page=self.key)
            self.pictures_made.emit()

        def failed(message: str) -> None:
            self._update_actions()
            self.banner.show_message(message, "error")

        self.workspace.model_tasks.submit(work, done, failed, name="generate")

    def _shown_rows(self) -> list[int]:
        if self.batch is None:
            return []
        rows = range(len(self.batch.seeds))
        if self.only_starred.isChecked():
            return [row for row in rows if self.batch.seeds[row] in self.favourites]
        return list(rows)

    def _show_batch(self) -> None:
        batch = self.batch
        self.tabs.setCurrentIndex(0)
        if batch is None:
            return
        rows = self._shown_rows()
        self._row_to_batch = rows
        pixels = batch.pixels[rows] if rows else np.zeros((0,) + batch.pixels.shape[1:], np.uint8)
        seeds = [batch.seeds[row] for row in rows]
        self.grid.picture_model.set_pictures(pixels, captions=[f"seed {seed}" for seed in seeds],
                                             tooltips=[f"Seed {seed} — double-click to enlarge" for seed in seeds])
        for shown, seed in enumerate(seeds):
            if seed in self.favourites:
                self.grid.picture_model.starred.add(shown)
        self.pictures_title.setText(f"{len(seeds)} pictures" + (" (starred)" if self.only_starred.isChecked() else ""))
        self._update_actions()
        self._compare_with_training()

    def _compare_with_training(self) -> None:
        """Hand the current picture of the grid (the first shown, when there is none) to the nearest-pictures strip."""
        shown = self._row_to_batch
        if self.batch is None or not shown:
            return
        current = self.grid.currentIndex().row()
        batch_row = shown[current] if 0 <= current < len(shown) else shown[0]
        self.nearest_strip.compare(self.batch.seeds[batch_row], self.batch.pixels[batch_row])

    def _selected_batch_rows(self, all_if_none: bool = True) -> list[int]:
        shown = self._row_to_batch
        selected = self.grid.selected_rows()
        if not selected and all_if_none:
            return list(shown)
        return [shown[row] for row in selected if row < len(shown)]

    def toggle_star(self) -> None:
        if self.batch is None or self.generator is None:
            return
        rows = self._selected_batch_rows(all_if_none=False)
        if not rows:
            self.workspace.say("Select pictures to star them.", page=self.key)
            return
        seeds = [self.batch.seeds[row] for row in rows]
        star = not all(seed in self.favourites for seed in seeds)
        for seed in seeds:
            (self.favourites.add if star else self.favourites.discard)(seed)
        shown = self._row_to_batch
        for grid_row, batch_row in enumerate(shown):
            self.grid.picture_model.set_starred(grid_row, self.batch.seeds[batch_row] in self.favourites)
        run_dir = Path(self.run_choice.currentData())
        favourites = set(self.favourites)
        self.workspace.io_tasks.submit(lambda task: write_favourites(run_dir, favourites),
                                       on_error=lambda message: self.banner.show_message(message, "error"),
                                       name="favourites")
        self.workspace.say(f"{'Starred' if star else 'Unstarred'} {len(seeds)} picture{'s' if len(seeds) > 1 else ''}.",
                           page=self.key)

    def enlarge(self, grid_row: int) -> None:
        shown = self._row_to_batch
        if self.batch is None or not 0 <= grid_row < len(shown):
            return
        position = {"row": grid_row}

        def picture(row: int):
            batch_row = shown[row]
            return qimage_from_rgb(self.batch.pixels[batch_row]), f"Seed {self.batch.seeds[batch_row]}"

        def step(offset: int):
            target = position["row"] + offset
            if not 0 <= target < len(shown):
                return None
            position["row"] = target
            return picture(target)

        image, caption = picture(grid_row)
        EnlargeDialog(self.window(), image, caption, step).open()

    def _seeds_from_selection(self) -> None:
        rows = self._selected_batch_rows(all_if_none=False)
        if len(rows) == 2 and self.batch is not None:
            self.seed_a.setValue(self.batch.seeds[rows[0]])
            self.seed_b.setValue(self.batch.seeds[rows[1]])

    def make_animation(self) -> None:
        generator = self.generator
        if generator is None:
            return
        seed_a, seed_b = self.seed_a.value(), self.seed_b.value()
        frames_each_way = self.frames.value()
        fps = float(self.fps.value())
        self.animate_button.setEnabled(False)
        self.workspace.say("Making the animation…", 0, page=self.key)

        def work(task):
            return Animation(seed_a, seed_b, morph_frames(generator, seed_a, seed_b, frames_each_way), fps)

        def done(animation: Animation) -> None:
            self.animation = animation
            self._frame = 0
            self._frame_images = [qimage_from_rgb(frame) for frame in animation.frames]
            self.animation_caption.setText(f"Seed {animation.seed_a} → seed {animation.seed_b} → back: "
                                           f"{len(animation.frames)} frames at {animation.fps:g} fps")
            self.tabs.setCurrentIndex(1)
            self._play_timer.start(int(1000 / animation.fps))
            self._update_actions()
            self.workspace.say("Animation ready; export it as a GIF or MP4.", page=self.key)
            self.animation_made.emit()

        def failed(message: str) -> None:
            self._update_actions()
            self.banner.show_message(message, "error")

        self.workspace.model_tasks.submit(work, done, failed, name="animate")

    def _next_frame(self) -> None:
        if self.animation is None or not self.isVisible() or self.tabs.currentIndex() != 1:
            return
        self.animation_view.set_image(self._frame_images[self._frame % len(self._frame_images)])
        self._frame += 1

    # -- export ------------------------------------------------------------------------------------

    def _export_folder(self, kind: str) -> Path | None:
        """Ask where an export of `kind` goes, starting where that kind went last; None if cancelled."""
        key = EXPORT_FOLDER_KEYS[kind]
        run_dir = self.run_choice.currentData()
        start = str(RunFolder(run_dir).exports_dir) if run_dir else str(Path.home())
        remembered = self.workspace.settings.value(key, "")
        if remembered and Path(remembered).is_dir():
            start = remembered
        folder = QFileDialog.getExistingDirectory(self, "Export to which folder?", start)
        if not folder:
            return None
        self.workspace.settings.set_value(key, folder)
        return Path(folder)

    def export_pngs(self, folder: Path | None = None) -> None:
        """Selected pictures (all shown, when none is selected) as PNGs carrying seed and model."""
        if self.batch is None or self.generator is None:
            return
        folder = folder or self._export_folder("pictures")
        if folder is None:
            return
        rows = self._selected_batch_rows()
        pictures = [(self.batch.pixels[row], f"seed_{self.batch.seeds[row]:07d}.png",
                     self.generator.metadata(self.batch.seeds[row])) for row in rows]
        if not self._may_replace([folder / name for _, name, _ in pictures]):
            return
        self._write(lambda task: write_pngs(folder, pictures), folder)

    def export_grid(self, folder: Path | None = None) -> None:
        if self.batch is None or self.generator is None:
            return
        folder = folder or self._export_folder("grid")
        if folder is None:
            return
        rows = self._selected_batch_rows()
        seeds = [self.batch.seeds[row] for row in rows]
        pixels = self.batch.pixels[rows]
        metadata = {**self.generator.metadata(), "seeds": ",".join(map(str, seeds))}
        name = f"grid_{self.generator.run_name}_step{self.generator.step}_{seeds_in_name(seeds)}.png"
        if not self._may_replace([folder / name]):
            return

        def work(task):
            from ...core.imaging import make_grid
            return write_pngs(folder, [(make_grid(pixels), name, metadata)])

        self._write(work, folder)

    def export_animation(self, kind: str, folder: Path | None = None) -> None:
        animation = self.animation
        if animation is None or self.generator is None:
            return
        if kind == "mp4" and self.ffmpeg is None:
            self.banner.show_message("MP4 needs the ffmpeg program, which is not installed; export a GIF instead.",
                                     "warning")
            return
        folder = folder or self._export_folder("animation")
        if folder is None:
            return
        metadata = morph_metadata(self.generator, animation.seed_a, animation.seed_b, len(animation.frames),
                                  animation.fps)
        path = folder / f"morph_{self.generator.run_name}_seeds{animation.seed_a}-{animation.seed_b}.{kind}"
        if not self._may_replace([path]):
            return
        ffmpeg = self.ffmpeg

        def work(task):
            return [write_animation(path, animation.frames, animation.fps, metadata, ffmpeg)]

        self._write(work, folder)

    def _may_replace(self, targets: list[Path]) -> bool:
        """Whether writing `targets` may go ahead: yes when none exists yet, else as the user answers."""
        existing = [path for path in targets if path.exists() or path.is_symlink()]
        if not existing:
            return True
        if ask_to_replace(self, existing):
            return True
        self.workspace.say("Nothing was exported; the files already there are kept.", page=self.key)
        return False

    def _write(self, work, folder: Path) -> None:
        def done(paths: list[Path]) -> None:
            self.last_export = paths
            what = paths[0].name if len(paths) == 1 else f"{len(paths)} files"
            self.banner.show_message(f"Saved {what} to {folder}.", "info",
                                     [("Show folder", lambda: self.workspace.reveal(folder))])
            self.workspace.say(f"Saved {what} to {folder}.", page=self.key)
            self.exported.emit(paths)

        def failed(message: str) -> None:
            self.banner.show_message(message, "error")

        self.workspace.io_tasks.submit(work, done, failed, name="export")

    def hideEvent(self, event) -> None:
        self._play_timer.stop()
        super().hideEvent(event)

    def showEvent(self, event) -> None:
        if self.animation is not None:
            self._play_timer.start(int(1000 / self.animation.fps))
        super().showEvent(event)
