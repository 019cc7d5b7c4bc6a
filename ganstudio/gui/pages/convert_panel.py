"""The Convert tab of the Image to image page: one picture before and after, or a whole folder with progress.

The generator (from a CycleGAN run, or a .pth/.safetensors file such as horse2zebra.pth) is opened
and used only on the single-thread model worker, so one network never serves two threads and the
window never waits on a conversion. Pictures come back as arrays and become QImages here, in the
GUI thread. A folder is converted by core.translate.translate_folder, whose progress and cancel
callbacks are wired to the progress bar and the Cancel button.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QFrame, QHBoxLayout, QProgressBar,
                               QSpinBox, QStackedWidget,
                               QVBoxLayout, QWidget)

from ... import __version__
from ...core.printable import printable_name
from ...core.runs import RunFolder, list_runs
from ..images import qimage_from_rgb
from ..resources import icon
from ..widgets.common import Banner, IconLabel, button, card, fixed_width_wrapped, label, refresh_style, settings_column
from ..widgets.drop_target import IMAGE_SUFFIXES, DropHighlight, accept_without_moving, local_paths
from ..widgets.image_view import ImageView
from ..widgets.page_frame import side_by_side
from ..widgets.replace_question import ask_to_replace
from ..widgets.skipped_files import SkippedFilesList
from ..workspace import Workspace, is_image_to_image_model, is_image_to_image_run, run_directions
from ..widgets.forms import field_label, shrinkable_combo

DIRECTION_WORDS = {"AtoB": "A → B (as trained)", "BtoA": "B → A (the way back)"}
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
# Where the last converted picture was saved, and where the last folder's results went: the dialogs start there.
SAVED_PICTURE_FOLDER_KEY = "exports/converted_picture_folder"
OUTPUT_FOLDER_KEY = "exports/converted_folder"
# The page this panel sits on: its status messages name it when another page is on show.
PAGE_KEY = "image-to-image"
# A summary lists this many skipped files; the rest are counted.
LISTED_SKIPPED = 2000


@dataclass(frozen=True)
class GeneratorSource:
    """Where the generator comes from: a run folder (with a direction) or a generator file."""

    kind: str  # "run" or "file"
    path: str
    direction: str = "AtoB"


@dataclass
class Conversion:
    """One picture before and after, as arrays (QImages are made from them in the GUI thread)."""

    source: Path
    before: np.ndarray
    after: np.ndarray
    model: str
    direction: str


def open_source(source: GeneratorSource):
    """A core Translator for `source`; runs on the model worker (it imports torch and reads the file)."""
    from ...core.translate import open_translator
    if source.kind == "file":
        return open_translator(weights=source.path, device="auto")
    return open_translator(run=source.path, direction=source.direction, device="auto")


def save_picture(path: Path, pixels: np.ndarray, metadata: dict[str, str]) -> Path:
    """Write a converted picture atomically as PNG (with its metadata), JPEG or WebP; on a worker thread."""
    from PIL import Image

    from ...core.export import save_png
    from ...core.fileio import atomic_save
    if path.suffix.lower() == ".png":
        return save_png(path, pixels, metadata)
    image_format = SAVE_FORMATS[path.suffix.lower()]
    atomic_save(path, lambda handle: Image.fromarray(pixels).save(handle, format=image_format, quality=95))
    return path


class ConvertPanel(QWidget):
    """Choose a generator, then drop a picture (before and after) or a folder (converted into another)."""

    translator_loaded = Signal(str)        # the model's description
    translator_failed = Signal(str)        # the plain sentence shown
    picture_converted = Signal()
    picture_failed = Signal(str)           # the plain sentence shown
    folder_progressed = Signal(int, int, str)  # done, total, the picture just done
    folder_converted = Signal(object)      # core.translate.FolderResult
    folder_declined = Signal(str)          # nothing converted: the user kept the files results would replace
    result_saved = Signal(str)             # the path written

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.translator = None  # a core Translator; used only on the model worker
        self.loaded_source: GeneratorSource | None = None
        self.conversion: Conversion | None = None
        self.folder_result = None
        self.output_folder: Path | None = None
        self._wanted: GeneratorSource | None = None
        self._pending_input: str | None = None
        self._extra_runs: list[str] = []
        self._files: list[str] = []
        self._folder_cancel: threading.Event | None = None
        self.setAcceptDrops(True)
        self._build()
        self.refresh_runs()
        workspace.runs_changed.connect(self.refresh_runs)

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        model_panel = self._build_model_panel()
        self.stack = QStackedWidget()
        self.drop_panel = self._build_drop_panel()
        self.picture_panel = self._build_picture_panel()
        self.folder_panel = self._build_folder_panel()
        for panel in (self.drop_panel, self.picture_panel, self.folder_panel):
            self.stack.addWidget(panel)
        self.drop_highlight = DropHighlight(self.stack, "Drop to convert: a picture, a folder or a zip")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        right_layout.setSpacing(8)
        self.banner = Banner()
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.stack, 1)
        self.splitter = side_by_side(model_panel, right, [360, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.addWidget(self.splitter)

    def _build_model_panel(self) -> QWidget:
        panel, _, column = settings_column(300, 440, spacing=8)
        column.addWidget(label("Model", "h2"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.source_choice = shrinkable_combo()
        self.source_choice.setToolTip("The trained model that converts: one of your image-to-image runs, or a "
                                      "generator file you opened")
        self.source_choice.currentIndexChanged.connect(self._source_chosen)
        form.addRow(field_label("Generator"), self.source_choice)
        self.direction_choice = shrinkable_combo()
        for key, words in DIRECTION_WORDS.items():
            self.direction_choice.addItem(words, key)
        self.direction_choice.setToolTip("A run learns both ways: A → B turns domain A pictures into B, "
                                         "B → A turns B pictures back into A.")
        self.direction_choice.currentIndexChanged.connect(self._source_chosen)
        form.addRow(field_label("Direction"), self.direction_choice)
        column.addLayout(form)
        self.open_file_button = button("Open generator file…", "folder", flat=True, on_click=self.choose_generator_file,
                                       tooltip="A .pth or .safetensors generator: one exported from a run here, or "
                                               "a published CycleGAN model such as horse2zebra.pth")
        column.addWidget(self.open_file_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.model_line = label("No model chosen yet.", "muted", wrap=True)
        column.addWidget(self.model_line)

        column.addWidget(label("Pictures", "h2"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.max_side = QSpinBox()
        self.max_side.setRange(0, 8192)
        self.max_side.setSingleStep(128)
        self.max_side.setSpecialValueText("Keep their size")
        self.max_side.setSuffix(" px")
        self.max_side.setToolTip("Shrink larger pictures to this longest side first. A network sees pictures at "
                                 "the scale it learned: near its training size gives the look of its samples.")
        self.max_side.setValue(min(8192, max(0, self.workspace.settings.value("i2i/max_side", 0))))
        self.max_side.valueChanged.connect(lambda side: self.workspace.settings.set_value("i2i/max_side", side))
        form.addRow(field_label("Largest side"), self.max_side)
        self.scale_choice = shrinkable_combo()
        self.scale_choice.addItem("As trained", "trained")
        self.scale_choice.addItem("Full resolution", "full")
        self.scale_choice.setToolTip(
            "As trained: each picture is resized to the scale the run learned at, converted, and resized back, so "
            "shapes and textures come out as large as in its samples (closest to the truth in our measurements).\n"
            "Full resolution: the picture's own pixels, sharper on large pictures, but textures keep the size "
            "they had in training pixels. A generator file from elsewhere always converts at full resolution.")
        wanted = self.workspace.settings.value("i2i/scale", "trained")
        self.scale_choice.setCurrentIndex(max(0, self.scale_choice.findData(wanted)))
        self.scale_choice.currentIndexChanged.connect(
            lambda _: self.workspace.settings.set_value("i2i/scale", self.scale_choice.currentData()))
        form.addRow(field_label("Scale"), self.scale_choice)
        column.addLayout(form)
        note = label("Results keep each picture's size and shape, and are saved as PNG.", "muted", wrap=True)
        column.addWidget(note)
        column.addStretch(1)
        return panel

    def _build_drop_panel(self) -> QWidget:
        zone = QFrame()
        zone.setObjectName("dropZone")
        self.drop_zone = zone
        art = IconLabel("drop", 56)
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = label("Drop a picture or a folder to convert", "h1")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = label("One picture shows before and after. A folder or a zip is converted whole into a folder you "
                     "choose, keeping every name.", "muted", wrap=True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        fixed_width_wrapped(hint, 460)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(button("Open picture…", "images", on_click=self.choose_picture))
        buttons.addWidget(button("Open folder…", "folder", on_click=self.choose_folder))
        buttons.addWidget(button("Open zip…", "archive", on_click=self.choose_zip))
        buttons.addStretch(1)
        layout = QVBoxLayout(zone)
        layout.addStretch(2)
        layout.addWidget(art)
        layout.addWidget(title)
        layout.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(10)
        layout.addLayout(buttons)
        layout.addStretch(3)
        return zone

    def _build_picture_panel(self) -> QWidget:
        panel = card()
        column = QVBoxLayout(panel)
        column.setContentsMargins(14, 10, 14, 12)
        column.setSpacing(8)
        top = QHBoxLayout()
        self.picture_title = label("", "h2")
        self.picture_detail = label("", "muted")
        top.addWidget(self.picture_title)
        top.addWidget(self.picture_detail, 1)
        self.save_button = button("Save result…", "export", primary=True, on_click=self.save_result,
                                  tooltip="Save the converted picture as PNG, JPEG or WebP")
        top.addWidget(self.save_button)
        column.addLayout(top)
        # After one picture, the folder and zip choices stay on offer, as on the drop zone.
        another = QHBoxLayout()
        another.addWidget(label("Convert another:", "muted"))
        another.addWidget(button("Picture…", "images", on_click=self.choose_picture,
                                 tooltip="Open another picture (or drop one here)"))
        another.addWidget(button("Folder…", "folder", on_click=self.choose_folder,
                                 tooltip="Convert a whole folder into a folder you choose, keeping every name"))
        another.addWidget(button("Zip…", "archive", on_click=self.choose_zip,
                                 tooltip="Convert the pictures of a zip archive into a folder you choose"))
        another.addStretch(1)
        column.addLayout(another)
        views = QHBoxLayout()
        views.setSpacing(12)
        self.before_view = ImageView("", caption="Before")
        self.after_view = ImageView("Converting…", caption="After")
        views.addWidget(self.before_view, 1)
        views.addWidget(self.after_view, 1)
        column.addLayout(views, 1)
        return panel

    def _build_folder_panel(self) -> QWidget:
        panel = card()
        column = QVBoxLayout(panel)
        column.setContentsMargins(14, 10, 14, 12)
        column.setSpacing(8)
        self.folder_title = label("", "h2")
        column.addWidget(self.folder_title)
        self.folder_progress = QProgressBar()
        self.folder_progress.setTextVisible(False)
        column.addWidget(self.folder_progress)
        row = QHBoxLayout()
        self.folder_detail = label("", None, wrap=True)
        row.addWidget(self.folder_detail, 1)
        self.cancel_button = button("Cancel", "stop", on_click=self.cancel_folder,
                                    tooltip="Stop after the picture being converted; every result written is complete")
        self.reveal_button = button("Show the results", "reveal", primary=True,
                                    on_click=lambda: self.output_folder and self.workspace.reveal(self.output_folder),
                                    tooltip="Open the output folder in your file manager")
        self.again_button = button("Convert more…", "folder", on_click=self._back_to_drop,
                                   tooltip="Choose other pictures to convert")
        for widget in (self.cancel_button, self.reveal_button, self.again_button):
            row.addWidget(widget, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(row)
        self.skipped_title = label("Skipped", "h2")
        self.skipped = SkippedFilesList()
        self.skipped.setHeaderLabels(["Picture", "Why"])
        column.addWidget(self.skipped_title)
        column.addWidget(self.skipped, 1)
        column.addStretch(0)
        return panel

    # -- generators --------------------------------------------------------------------------------

    def add_run(self, run_dir: str, select: bool = False) -> None:
        """List this run (one trained or opened just now) among the generators; with `select`, convert with it."""
        path = str(RunFolder(run_dir).path)
        if path not in self._extra_runs:
            self._extra_runs.append(path)
        self.refresh_runs(GeneratorSource("run", path) if select else None)

    def open_run(self, run_dir: str) -> None:
        """Convert with this run's generator (from a finished run, or the Runs page)."""
        self.add_run(run_dir, select=True)

    def refresh_runs(self, select: GeneratorSource | None = None) -> None:
        """List the CycleGAN runs that have a checkpoint, newest first, then generator files opened here.

        Keeps (or moves to `select`) the chosen generator, and opens it only if it is not the one open.
        """
        current = select or self.source_choice.currentData()
        sources: list[tuple[GeneratorSource, str, str]] = []
        seen = set()
        for summary in list_runs():
            if is_image_to_image_model(summary.model) and summary.last_step is not None:
                sources.append((GeneratorSource("run", str(summary.path)), summary.name, str(summary.path)))
                seen.add(str(summary.path))
        # Runs opened from elsewhere (on the Runs page, or trained here into another folder).
        for path in [*self.workspace.settings.value("runs/opened", []), *self._extra_runs]:
            folder = RunFolder(path)
            if (str(folder.path) not in seen and folder.is_run() and folder.checkpoints()
                    and is_image_to_image_run(folder.path)):
                sources.append((GeneratorSource("run", str(folder.path)), folder.name, str(folder.path)))
                seen.add(str(folder.path))
        for path in self._files:
            sources.append((GeneratorSource("file", path), Path(path).name, path))
        self.source_choice.blockSignals(True)
        self.source_choice.clear()
        for source, name, tip in sources:
            self.source_choice.addItem(icon("runs" if source.kind == "run" else "export"), name, source)
            self.source_choice.setItemData(self.source_choice.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        if not sources:
            self.source_choice.addItem("No trained runs yet", None)
        index = self._index_of(current) if current else 0
        self.source_choice.setCurrentIndex(max(0, index))
        self.source_choice.blockSignals(False)
        self._source_chosen()

    def _index_of(self, source: GeneratorSource) -> int:
        for index in range(self.source_choice.count()):
            item = self.source_choice.itemData(index)
            if item is not None and item.kind == source.kind and item.path == source.path:
                return index
        return -1

    def chosen_source(self) -> GeneratorSource | None:
        item = self.source_choice.currentData()
        if item is None:
            return None
        if item.kind == "run":
            return GeneratorSource("run", item.path, self.direction_choice.currentData())
        return item

    def _offer_directions(self, source: GeneratorSource | None) -> None:
        """The directions the chosen run's model converts: both for a two-way model, one for a one-way model."""
        wanted = run_directions(source.path) if source is not None and source.kind == "run" else ()
        offered = tuple(self.direction_choice.itemData(index) for index in range(self.direction_choice.count()))
        if wanted and wanted != offered:
            current = self.direction_choice.currentData()
            self.direction_choice.blockSignals(True)
            self.direction_choice.clear()
            for key in wanted:
                self.direction_choice.addItem(DIRECTION_WORDS.get(key, key), key)
            index = self.direction_choice.findData(current)
            self.direction_choice.setCurrentIndex(max(0, index))
            self.direction_choice.blockSignals(False)
        self.direction_choice.setEnabled(len(wanted) > 1)

    def _source_chosen(self) -> None:
        self._offer_directions(self.chosen_source())
        source = self.chosen_source()
        if source is None:
            self.model_line.setText("Train an image-to-image run on the Train tab, or open a generator file.")
            return
        if source == self._wanted or source == self.loaded_source:
            return
        self._load(source)

    def choose_generator_file(self) -> None:
        start = self.workspace.settings.value("i2i/last_generator_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open a generator file", start,
                                              "Generator files (*.pth *.pt *.safetensors);;All files (*)")
        if path:
            self.workspace.settings.set_value("i2i/last_generator_folder", str(Path(path).parent))
            self.open_generator_file(path)

    def open_generator_file(self, path: str) -> None:
        """Open a .pth/.safetensors generator; a file that is not one shows the core's sentence in the banner."""
        path = str(Path(path).expanduser().resolve())
        self._load(GeneratorSource("file", path))

    def _load(self, source: GeneratorSource) -> None:
        # The model open until now stays in use until this one is open: a file that is refused loses nothing.
        self._wanted = source
        self.model_line.setText("Opening the model…")

        def opened(translator, wanted: GeneratorSource = source) -> None:
            if wanted != self._wanted:
                return  # another model was chosen meanwhile
            self._loaded(wanted, translator)

        def failed(message: str, wanted: GeneratorSource = source) -> None:
            if wanted != self._wanted:
                return
            self._wanted = self.loaded_source
            self.model_line.setText(self._describe(self.translator) if self.translator is not None
                                    else "No model loaded.")
            if self.loaded_source is not None:
                self.refresh_runs(select=self.loaded_source)
            self.banner.show_message(message, "error")
            self.workspace.say("That model could not be opened.", page=PAGE_KEY)
            self.translator_failed.emit(message)

        self.workspace.model_tasks.submit(lambda task: open_source(source), opened, failed, name="open-generator",
                                          writes=False)

    def _loaded(self, source: GeneratorSource, translator) -> None:
        self.translator = translator
        self.loaded_source = source
        if source.kind == "file" and source.path not in self._files:
            self._files.append(source.path)
        if source.kind == "file":
            self.refresh_runs(select=source)
        self.banner.hide()
        self.model_line.setText(self._describe(translator))
        self.workspace.say(f"Model ready: {Path(source.path).name}.", page=PAGE_KEY)
        self.translator_loaded.emit(translator.description)
        if self._pending_input is not None:
            pending, self._pending_input = self._pending_input, None
            self.convert_path(pending)

    @staticmethod
    def _describe(translator) -> str:
        direction = {"AtoB": "converts A to B", "BtoA": "converts B to A"}.get(translator.direction or "", "")
        return f"{translator.description}" + (f"; {direction}." if direction else ".")

    # -- inputs ------------------------------------------------------------------------------------

    def _last_folder(self) -> str:
        return self.workspace.settings.value("i2i/last_input_folder", str(Path.home()))

    def choose_picture(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Choose a picture to convert", self._last_folder(),
                                              f"Pictures ({patterns});;All files (*)")
        if path:
            self.convert_path(path)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of pictures to convert", self._last_folder())
        if folder:
            self.convert_path(folder)

    def choose_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a zip of pictures to convert", self._last_folder(),
                                              "Zip archives (*.zip)")
        if path:
            self.convert_path(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()) and accept_without_moving(event):
            self._set_dragging(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            accept_without_moving(event)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self._set_dragging(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_dragging(False)
        paths = local_paths(event.mimeData())
        if not paths or not accept_without_moving(event):
            event.ignore()
            return
        if len(paths) > 1:
            self.banner.show_message("Drop one picture, or one folder or zip to convert many at once.", "warning")
            return
        self.convert_path(paths[0])

    def _set_dragging(self, dragging: bool) -> None:
        self.drop_zone.setProperty("dragging", dragging)
        refresh_style(self.drop_zone)
        # The drop zone lights up itself; over a picture or a folder's progress the frame says what a drop does.
        self.drop_highlight.set_shown(dragging and self.stack.currentWidget() is not self.drop_panel)

    def convert_path(self, path: str) -> None:
        """A picture is converted and shown; a folder or zip asks where its results go, then converts them all."""
        target = Path(path).expanduser()
        if target.is_dir() or target.suffix.lower() == ".zip":
            self.convert_folder(target)
        elif target.suffix.lower() in IMAGE_SUFFIXES:
            self.convert_picture(target)
        elif target.suffix.lower() in (".pth", ".pt", ".safetensors"):
            self.open_generator_file(str(target))
        else:
            self.banner.show_message(f"{target.name} is not a picture, a folder or a zip; drop one of those to "
                                     "convert it.", "warning")

    def _ready(self, path: str) -> bool:
        """True when a model is loaded; otherwise the input waits for the model being opened."""
        if self.translator is not None and self._wanted == self.loaded_source:
            return True
        if self._wanted is None:
            self.banner.show_message("Choose a model first: train an image-to-image run, or open a generator "
                                     "file.", "warning")
            return False
        self._pending_input = path
        self.workspace.say("The picture is converted as soon as the model is open.", page=PAGE_KEY)
        return False

    def busy_converting_folder(self) -> bool:
        return self._folder_cancel is not None

    # -- one picture -------------------------------------------------------------------------------

    def convert_picture(self, path: str | Path) -> None:
        path = Path(path)
        if self.busy_converting_folder():
            self.workspace.say("A folder is being converted; cancel it or wait for it to finish.", page=PAGE_KEY)
            return
        if not self._ready(str(path)):
            return
        self.workspace.settings.set_value("i2i/last_input_folder", str(path.parent))
        self.banner.hide()
        self.stack.setCurrentWidget(self.picture_panel)
        self.picture_title.setText(path.name)
        self.picture_detail.setText("  converting…")
        self.save_button.setEnabled(False)
        self.after_view.set_image(None)
        self.after_view.set_placeholder("Converting…")
        translator, max_side = self.translator, self.max_side.value() or None
        scale = self.scale_choice.currentData()
        source = self.loaded_source

        def work(task) -> Conversion:
            from ...core.translate import read_picture
            before = read_picture(path)
            after = translator.translate_picture(before, max_side, scale)
            return Conversion(path, before, after, translator.source_name, translator.direction or "")

        def done(conversion: Conversion) -> None:
            if source != self.loaded_source:
                return
            self.conversion = conversion
            self.before_view.set_image(qimage_from_rgb(conversion.before))
            self.after_view.set_image(qimage_from_rgb(conversion.after))
            height, width = conversion.after.shape[:2]
            words = {"AtoB": ", A → B", "BtoA": ", B → A"}.get(conversion.direction, "")
            self.picture_detail.setText(f"  {width:,} × {height:,} px{words}")
            self.save_button.setEnabled(True)
            self.workspace.say(f"{path.name} converted.", page=PAGE_KEY)
            self.picture_converted.emit()

        def failed(message: str) -> None:
            self.after_view.set_placeholder("")
            self.picture_detail.setText("")
            self.banner.show_message(message, "error")
            self.picture_failed.emit(message)

        self.before_view.set_image(None)
        self.workspace.model_tasks.submit(work, done, failed, name="convert-picture")

    def save_result(self, path: str | Path | None = None) -> None:
        conversion = self.conversion
        if conversion is None:
            return
        if path is None:
            suffix = conversion.direction or "converted"
            suggested = conversion.source.with_name(f"{conversion.source.stem}-{suffix}.png")
            remembered = self.workspace.settings.value(SAVED_PICTURE_FOLDER_KEY, "")
            if remembered and Path(remembered).is_dir():
                suggested = Path(remembered) / suggested.name
            # The dialog's own overwrite question is off: the name may still gain .png, and we ask for that name.
            chosen, _ = QFileDialog.getSaveFileName(self, "Save the converted picture", str(suggested),
                                                    "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp)",
                                                    options=QFileDialog.Option.DontConfirmOverwrite)
            if not chosen:
                return
            path = chosen
            self.workspace.settings.set_value(SAVED_PICTURE_FOLDER_KEY, str(Path(chosen).parent))
        target = Path(path)
        if target.suffix.lower() not in SAVE_FORMATS:
            target = target.with_name(target.name + ".png")
        if target.resolve() == conversion.source.resolve():
            self.banner.show_message("Saving there would overwrite the original picture; choose another name.",
                                     "warning")
            return
        if (target.exists() or target.is_symlink()) and not ask_to_replace(self, [target]):
            self.workspace.say(f"Nothing was saved; {target.name} is kept as it was.", page=PAGE_KEY)
            return
        metadata = {"source": conversion.source.name, "model": conversion.model, "direction": conversion.direction,
                    "app_version": __version__}
        pixels = conversion.after

        def saved(written: Path) -> None:
            self.workspace.say(f"Saved {written}.", page=PAGE_KEY)
            self.result_saved.emit(str(written))

        self.workspace.io_tasks.submit(lambda task: save_picture(target, pixels, metadata), saved,
                                       lambda message: self.banner.show_message(message, "error"), name="save-result")

    # -- a folder ----------------------------------------------------------------------------------

    def ask_output_folder(self, source: Path) -> Path | None:
        """Where the results of converting `source` go, chosen by the user; None if they cancelled."""
        start = self.workspace.settings.value(OUTPUT_FOLDER_KEY, "")
        if not (start and Path(start).is_dir()):
            start = str(source.parent)
        chosen = QFileDialog.getExistingDirectory(self, f"Choose where the converted pictures of {source.name} go",
                                                  start)
        if not chosen:
            return None
        self.workspace.settings.set_value(OUTPUT_FOLDER_KEY, chosen)
        return Path(chosen)

    def convert_folder(self, source: str | Path, output: str | Path | None = None, overwrite: bool = False) -> None:
        """Convert every picture of `source` into `output` (asked for when None). Results that would replace
        files already there are asked about first; `overwrite` is the answer given."""
        source = Path(source)
        if self.busy_converting_folder():
            self.workspace.say("A folder is already being converted.", page=PAGE_KEY)
            return
        if not self._ready(str(source)):
            return
        output = Path(output) if output is not None else self.ask_output_folder(source)
        if output is None:
            return
        self.workspace.settings.set_value("i2i/last_input_folder", str(source.parent))
        self.banner.hide()
        self.output_folder = output
        self.folder_result = None
        cancel = threading.Event()
        self._folder_cancel = cancel
        self.stack.setCurrentWidget(self.folder_panel)
        self.folder_title.setText(f"Converting {source.name}")
        self.folder_progress.setRange(0, 0)
        self.folder_detail.setText(f"Looking for pictures… Results go to {output}.")
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        for widget in (self.reveal_button, self.again_button, self.skipped_title, self.skipped):
            widget.hide()
        self.skipped.clear()
        translator, max_side = self.translator, self.max_side.value() or None
        scale = self.scale_choice.currentData()

        def work(task):
            from ...core.translate import plan_folder, translate_folder
            if not overwrite:
                plan = plan_folder(source, output)
                if plan.existing:
                    return plan  # the user is asked on the GUI thread, then the conversion starts again
            return translate_folder(translator, source, output,
                                    progress=lambda done, total, name: task.progress(done, total, name),
                                    # Cancel, or the window closing (which cancels every task).
                                    cancelled=lambda: cancel.is_set() or task.cancelled, max_side=max_side,
                                    overwrite=overwrite, scale=scale)

        def failed(message: str) -> None:
            self._folder_cancel = None
            self.folder_progress.setRange(0, 1)
            self.folder_title.setText(f"{source.name} could not be converted")
            self.folder_detail.setText(message)
            self.cancel_button.hide()
            self.again_button.show()
            self.banner.show_message(message, "error")

        self.workspace.model_tasks.submit(work, lambda result: self._folder_planned(source, output, result), failed,
                                          self._folder_progress, name="convert-folder")
        self.workspace.say(f"Converting the pictures of {source.name}…", 0, page=PAGE_KEY)

    def _folder_progress(self, done: int, total: int, name: str) -> None:
        self.folder_progress.setRange(0, max(1, total))
        self.folder_progress.setValue(done)
        if not (self._folder_cancel is not None and self._folder_cancel.is_set()):
            self.folder_detail.setText(f"{done:,} of {total:,} pictures · {printable_name(name)}")
        self.folder_progressed.emit(done, total, name)

    def cancel_folder(self) -> None:
        if self._folder_cancel is not None:
            self._folder_cancel.set()
            self.cancel_button.setEnabled(False)
            self.folder_detail.setText("Cancelling after the picture being converted…")

    def _folder_planned(self, source: Path, output: Path, outcome) -> None:
        """A finished conversion, or a plan whose results would replace files: then the user chooses."""
        from ...core.translate import FolderPlan, existing_results_sentence
        if not isinstance(outcome, FolderPlan):
            self._folder_done(source, outcome)
            return
        self._folder_cancel = None
        if ask_to_replace(self, outcome.existing):
            self.convert_folder(source, output, overwrite=True)
            return
        message = (f"{existing_results_sentence(outcome.existing, outcome.output)}, so nothing was converted and "
                   "they are kept; choose another output folder to convert into.")
        self.folder_progress.setRange(0, 1)
        self.folder_title.setText(f"{source.name} was not converted")
        self.folder_detail.setText(message)
        self.cancel_button.hide()
        self.again_button.show()
        self.workspace.say(f"Nothing converted: {outcome.output} already holds results of {source.name}.", 0,
                           page=PAGE_KEY)
        self.folder_declined.emit(message)

    def _folder_done(self, source: Path, result) -> None:
        self._folder_cancel = None
        self.folder_result = result
        if result.output is not None:
            self.output_folder = result.output
        written, skipped = len(result.written), len(result.skipped)
        self.folder_progress.setRange(0, max(1, result.total))
        done = written + skipped
        self.folder_progress.setValue(result.total if not result.cancelled else done)
        if result.cancelled:
            self.folder_title.setText(f"Cancelled after {done:,} of {result.total:,} files")
            summary = (f"Cancelled. The {written:,} results written are complete, in {self.output_folder}."
                       if written != 1 else f"Cancelled. The one result written is complete, in {self.output_folder}.")
        else:
            self.folder_title.setText(f"{written:,} pictures converted" + (f", {skipped:,} skipped" if skipped else ""))
            summary = f"The results are in {self.output_folder}, with the same names as the originals (.png)."
            if result.note:
                summary = f"{result.note} {summary}"
        if skipped:
            summary += f" {skipped:,} skipped, listed below."
        self.folder_detail.setText(summary)
        self.cancel_button.hide()
        self.reveal_button.setVisible(written > 0)
        self.again_button.show()
        if skipped:
            # Names that are not valid UTF-8 arrive as surrogates, which Qt cannot show: as escapes instead.
            self.skipped.show_skipped([(printable_name(name), printable_name(reason)) for name, reason in result.skipped],
                                      LISTED_SKIPPED)
            self.skipped_title.show()
            self.skipped.show()
        words = "cancelled" if result.cancelled else "done"
        self.workspace.say(f"Converting {source.name} {words}: {written:,} written, {skipped:,} skipped.", 0,
                           page=PAGE_KEY)
        self.folder_converted.emit(result)

    def _back_to_drop(self) -> None:
        self.stack.setCurrentWidget(self.drop_panel)
