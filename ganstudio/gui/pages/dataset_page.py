"""The Dataset page: drop or open pictures, watch them being checked, see them as the network will.

Scanning (listing, decoding, checking every picture) runs on a worker thread with a progress bar
and Cancel; it fills the decoded-dataset cache, so the training run that follows starts at once.
The grid shows the decoded pictures straight from that cache (memory-mapped), so 20,000 of them
cost the window almost no memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QColorDialog, QComboBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout,
                               QProgressBar, QPushButton, QRadioButton, QSlider,
                               QStackedWidget, QVBoxLayout, QWidget)

from ...core.config import FITS, SIZES, DataConfig
from ...core.data.cache import load_dataset
from ...core.data.decode import decode_square, open_image, parse_colour, to_rgb
from ...core.data.scan import DatasetReport, ScanCancelled
from ...core.data.sources import SourceFile, SourceReader, list_sources
from ..images import qimage_from_rgb
from ..tasks import Task, TaskCancelled
from ..widgets.common import IconLabel, button, label, refresh_style, settings_column
from ..widgets.drop_target import IMAGE_SUFFIXES, paths_from_drop
from ..widgets.image_view import ImageView
from ..widgets.page_frame import page_frame, side_by_side
from ..widgets.picture_grid import PictureGrid
from ..widgets.skipped_files import SkippedFilesList
from ..workspace import Workspace

# After the last change to size, fit or background, wait this long before checking the pictures again,
# so stepping through the choices does not start a scan per click.
RESCAN_DELAY_MS = 700
# A skipped-files list this long already tells the story; more rows would only slow the window.
LISTED_SKIPPED = 5000
PREVIEW_SOURCE_SIDE = 360
FIT_WORDS = {"crop": "Crop to the centre", "pad": "Pad to a square", "stretch": "Stretch to fit"}
FIT_TIPS = {
    "crop": "Cut the middle square out of each picture. Nothing is squashed, but the edges of wide or tall "
            "pictures are lost.",
    "pad": "Fit the whole picture inside the square and fill the rest with the background colour.",
    "stretch": "Squash or stretch the whole picture into the square. Nothing is lost, but shapes change.",
}


@dataclass
class ScanResult:
    data: DataConfig
    pixels: np.ndarray
    report: DatasetReport
    sources: dict[str, SourceFile]
    from_cache: bool
    seconds: float


@dataclass
class PreviewResult:
    original: np.ndarray
    original_size: tuple[int, int]
    prepared: np.ndarray
    label: str


def scan_dataset(task: Task, data: DataConfig) -> ScanResult:
    """List, decode and check the dataset (or read it from the cache); runs on a worker thread."""
    sources = {} if data.demo else {source.label: source for source in list_sources(data.paths)}
    task.check()
    try:
        loaded = load_dataset(data, lambda stage, done, total: task.progress(stage, done, total),
                              lambda: task.cancelled, mmap=True, require=False)
    except ScanCancelled:
        raise TaskCancelled() from None
    return ScanResult(data, loaded.pixels, loaded.report, sources, loaded.from_cache, loaded.seconds)


def prepare_preview(source: SourceFile | None, demo_pixels: np.ndarray | None, label_text: str,
                    size: int, fit: str, background: str) -> PreviewResult:
    """The picture before and after squaring at `size`; runs on a worker thread."""
    if source is None:
        assert demo_pixels is not None
        return PreviewResult(demo_pixels, (demo_pixels.shape[1], demo_pixels.shape[0]), demo_pixels, label_text)
    colour = parse_colour(background)
    with SourceReader() as reader:
        with reader.read(source) as stream:
            data = stream.read()
    prepared, _ = decode_square(data, size, fit, colour)
    image = open_image(data)
    try:
        image.draft("RGB", (PREVIEW_SOURCE_SIDE * 2, PREVIEW_SOURCE_SIDE * 2))
        image.load()
        original_size = image.size
        rgb = to_rgb(image, colour)
        rgb.thumbnail((PREVIEW_SOURCE_SIDE, PREVIEW_SOURCE_SIDE), Image.Resampling.LANCZOS)
        original = np.asarray(rgb.convert("RGB"), dtype=np.uint8)
    finally:
        image.close()
    return PreviewResult(original, original_size, prepared, label_text)


class DropZone(QFrame):
    """The welcome area: a large target for a drag, with the same choices as buttons."""

    def __init__(self, page: "DatasetPage"):
        super().__init__()
        self.setObjectName("dropZone")
        art = IconLabel("drop", 56)
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = label("Drop your pictures here", "h1")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = label("A folder (searched with its subfolders), some picture files, or a zip archive. "
                     "PNG, JPEG, WebP, GIF, BMP, TIFF and more.", "muted", wrap=True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setMaximumWidth(460)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(button("Open folder…", "folder", on_click=page.choose_folder))
        buttons.addWidget(button("Open pictures…", "images", on_click=page.choose_files))
        buttons.addWidget(button("Open zip…", "archive", on_click=page.choose_zip))
        buttons.addStretch(1)
        demo_row = QHBoxLayout()
        demo_row.addStretch(1)
        demo_row.addWidget(button("Try the built-in demo shapes", "shapes", flat=True, on_click=page.use_demo))
        demo_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(art)
        layout.addWidget(title)
        layout.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(10)
        layout.addLayout(buttons)
        layout.addLayout(demo_row)
        layout.addStretch(3)

    def set_dragging(self, dragging: bool) -> None:
        self.setProperty("dragging", dragging)
        refresh_style(self)


class DatasetPage(QWidget):
    key = "dataset"
    title = "Dataset"
    icon_name = "dataset"

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self._scan: Task | None = None
        self._preview: Task | None = None
        self._result: ScanResult | None = None
        self._rescan_timer = QTimer(self)
        self._rescan_timer.setSingleShot(True)
        self._rescan_timer.setInterval(RESCAN_DELAY_MS)
        self._rescan_timer.timeout.connect(self.rescan)
        self._build()
        self._restore()

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.open_folder_button = button("Open folder…", "folder", on_click=self.choose_folder,
                                         tooltip="Use every picture in a folder and its subfolders (Ctrl+O)")
        self.open_files_button = button("Pictures…", "images", on_click=self.choose_files,
                                        tooltip="Use some picture files (Ctrl+Shift+O)")
        self.open_zip_button = button("Zip…", "archive", on_click=self.choose_zip,
                                      tooltip="Use the pictures inside a zip archive, without unpacking it")
        self.demo_button = button("Demo", "shapes", on_click=self.use_demo,
                                  tooltip="The built-in demo: 3,000 colourful shapes GAN Studio draws itself")
        frame = page_frame(self, "Dataset", "", (self.open_folder_button, self.open_files_button,
                                                 self.open_zip_button, self.demo_button))
        self.heading, self.subtitle, self.banner = frame.heading, frame.subtitle, frame.banner

        # The main area: drop zone, scan progress, or the grid.
        self.drop_zone = DropZone(self)
        self.scan_panel = self._build_scan_panel()
        self.grid_panel = self._build_grid_panel()
        self.stack = QStackedWidget()
        for widget in (self.drop_zone, self.scan_panel, self.grid_panel):
            self.stack.addWidget(widget)

        side = self._build_side_panel()
        self.splitter = side_by_side(self.stack, side, [760, 340], growing=0)

        self.next_button = button("Next: train on these pictures", "chevron-right", primary=True,
                                  on_click=lambda: self.workspace.page_requested.emit("train"))
        footer = QHBoxLayout()
        self.footer_note = label("", "muted")
        footer.addWidget(self.footer_note, 1)
        footer.addWidget(self.next_button)

        frame.column.addWidget(self.splitter, 1)
        frame.column.addLayout(footer)

    def _build_scan_panel(self) -> QWidget:
        panel = QWidget()
        self.scan_title = label("Checking pictures…", "h2")
        self.scan_detail = label("", "muted")
        self.scan_progress = QProgressBar()
        self.scan_progress.setMaximumWidth(460)
        self.cancel_button = button("Cancel", on_click=self.cancel_scan, tooltip="Stop checking (Esc)")
        column = QVBoxLayout(panel)
        column.addStretch(1)
        for widget in (self.scan_title, self.scan_progress, self.scan_detail):
            column.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(2)
        return panel

    def _build_grid_panel(self) -> QWidget:
        panel = QWidget()
        self.grid_title = label("", "h2")
        self.thumb_size = QSlider(Qt.Orientation.Horizontal)
        self.thumb_size.setRange(48, 192)
        self.thumb_size.setValue(96)
        self.thumb_size.setFixedWidth(120)
        self.thumb_size.setToolTip("Thumbnail size")
        self.thumb_size.valueChanged.connect(lambda side: self.grid.set_picture_side(side))
        top = QHBoxLayout()
        top.addWidget(self.grid_title, 1)
        small = IconLabel("grid", 14)
        top.addWidget(small)
        top.addWidget(self.thumb_size)
        self.grid = PictureGrid(picture_side=96)
        self.grid.setToolTip("")
        self.grid.selectionModel().currentChanged.connect(lambda current, previous: self.update_preview())
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addWidget(self.grid, 1)
        return panel

    def _build_side_panel(self) -> QWidget:
        panel, _, column = settings_column(300, 460, spacing=8)

        self.summary_title = label("", "big", wrap=True)
        self.summary_counts = label("", wrap=True)
        column.addWidget(self.summary_title)
        column.addWidget(self.summary_counts)

        column.addWidget(label("Prepare for training", "h2"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.size_choice = QComboBox()
        for size in SIZES:
            self.size_choice.addItem(f"{size} × {size} px", size)
        self.size_choice.setToolTip("The size the network learns to draw. Bigger is more detailed but trains "
                                    "much more slowly: each doubling is about four times the work.")
        form.addRow("Resolution", self.size_choice)
        fit_row = QVBoxLayout()
        fit_row.setSpacing(2)
        self.fit_group = QButtonGroup(self)
        self.fit_buttons: dict[str, QRadioButton] = {}
        for fit in FITS:
            choice = QRadioButton(FIT_WORDS[fit])
            choice.setToolTip(FIT_TIPS[fit])
            self.fit_group.addButton(choice)
            self.fit_buttons[fit] = choice
            fit_row.addWidget(choice)
        self.fit_buttons["crop"].setChecked(True)
        for choice in self.fit_buttons.values():
            choice.toggled.connect(lambda checked: checked and self._settings_changed())
        self.size_choice.currentIndexChanged.connect(self._settings_changed)
        form.addRow("Square", fit_row)
        self.background_button = QPushButton()
        self.background_button.setToolTip("What transparent areas and padding become")
        self.background_button.clicked.connect(self.choose_background)
        form.addRow("Background", self.background_button)
        column.addLayout(form)

        column.addWidget(label("What the network will see", "h2"))
        previews = QHBoxLayout()
        self.preview_original = ImageView("")
        self.preview_prepared = ImageView("")
        for view in (self.preview_original, self.preview_prepared):
            view.setMinimumSize(110, 110)
            view.setMaximumHeight(170)
        arrow = IconLabel("chevron-right", 18)
        previews.addWidget(self.preview_original, 1)
        previews.addWidget(arrow)
        previews.addWidget(self.preview_prepared, 1)
        column.addLayout(previews)
        captions = QHBoxLayout()
        self.preview_original_caption = label("", "muted")
        self.preview_prepared_caption = label("", "muted")
        captions.addWidget(self.preview_original_caption, 1)
        captions.addWidget(self.preview_prepared_caption, 1, Qt.AlignmentFlag.AlignRight)
        column.addLayout(captions)
        self.preview_name = label("", "muted", wrap=True)
        column.addWidget(self.preview_name)

        self.notes_title = label("Worth knowing", "h2")
        self.notes = label("", wrap=True)
        column.addWidget(self.notes_title)
        column.addWidget(self.notes)
        self.skipped_title = label("Skipped files", "h2")
        self.skipped = SkippedFilesList()
        self.skipped.setMinimumHeight(140)
        column.addWidget(self.skipped_title)
        column.addWidget(self.skipped, 1)
        column.addStretch(0)

        return panel

    # -- settings ----------------------------------------------------------------------------------

    def _restore(self) -> None:
        settings = self.workspace.settings
        data = self.workspace.dataset
        data.size = settings.value("dataset/size", 64)
        data.size = data.size if data.size in SIZES else 64
        fit = settings.value("dataset/fit", "crop")
        data.fit = fit if fit in FITS else "crop"
        background = settings.value("dataset/background", "#ffffff")
        data.background = background if QColor(background).isValid() else "#ffffff"
        paths = [p for p in settings.value("dataset/paths", []) if isinstance(p, str)]
        data.demo = settings.value("dataset/demo", True) or not paths
        data.paths = [] if data.demo else paths
        self._show_settings()
        missing = [p for p in data.paths if not Path(p).exists()]
        if missing:
            data.demo, data.paths = True, []
            self.banner.show_message(f"The last dataset ({missing[0]}) is no longer there; the demo is chosen "
                                     "instead. Drop your pictures to choose them again.", "warning")
        self.rescan()

    def _save(self) -> None:
        settings = self.workspace.settings
        data = self.workspace.dataset
        settings.set_value("dataset/paths", list(data.paths))
        settings.set_value("dataset/demo", data.demo)
        settings.set_value("dataset/size", data.size)
        settings.set_value("dataset/fit", data.fit)
        settings.set_value("dataset/background", data.background)

    def _show_settings(self) -> None:
        data = self.workspace.dataset
        for widget in [self.size_choice, *self.fit_buttons.values()]:
            widget.blockSignals(True)
        self.size_choice.setCurrentIndex(SIZES.index(data.size))
        self.fit_buttons[data.fit].setChecked(True)
        for widget in [self.size_choice, *self.fit_buttons.values()]:
            widget.blockSignals(False)
        self._paint_background_button()

    def _paint_background_button(self) -> None:
        colour = self.workspace.dataset.background
        self.background_button.setText(f"  {colour}")
        pixmap = QPixmap(16, 16)
        pixmap.fill(QColor(colour))
        self.background_button.setIcon(pixmap)

    def _settings_changed(self) -> None:
        data = self.workspace.dataset
        data.size = self.size_choice.currentData()
        data.fit = next(fit for fit, choice in self.fit_buttons.items() if choice.isChecked())
        self._save()
        self.workspace.dataset_changed.emit()
        self.update_preview()
        self._rescan_timer.start()

    def choose_background(self) -> None:
        colour = QColorDialog.getColor(QColor(self.workspace.dataset.background), self, "Background colour")
        if colour.isValid():
            self.workspace.dataset.background = colour.name()
            self._paint_background_button()
            self._settings_changed()

    def set_locked(self, locked: bool, reason: str = "") -> None:
        """While a run trains, the dataset it uses cannot change."""
        for widget in (self.open_folder_button, self.open_files_button, self.open_zip_button, self.demo_button,
                       self.size_choice, self.background_button, *self.fit_buttons.values(), self.drop_zone):
            widget.setEnabled(not locked)
        self.footer_note.setText(reason if locked else "")

    @property
    def locked(self) -> bool:
        return not self.size_choice.isEnabled()

    # -- choosing ----------------------------------------------------------------------------------

    def _last_folder(self) -> str:
        return self.workspace.settings.value("folders/dataset", str(Path.home()))

    def _remember_folder(self, path: str) -> None:
        self.workspace.settings.set_value("folders/dataset", str(Path(path).parent if Path(path).is_file() else path))

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of pictures", self._last_folder())
        if folder:
            self._remember_folder(folder)
            self.open_paths([folder])

    def choose_files(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        files, _ = QFileDialog.getOpenFileNames(self, "Choose pictures", self._last_folder(),
                                                f"Pictures ({patterns});;Zip archives (*.zip);;All files (*)")
        if files:
            self._remember_folder(files[0])
            self.open_paths(files)

    def choose_zip(self) -> None:
        file, _ = QFileDialog.getOpenFileName(self, "Choose a zip of pictures", self._last_folder(),
                                              "Zip archives (*.zip)")
        if file:
            self._remember_folder(file)
            self.open_paths([file])

    def use_demo(self) -> None:
        if self.locked:
            return
        self.banner.hide()
        self.workspace.dataset.demo = True
        self.workspace.dataset.paths = []
        self._save()
        self.workspace.dataset_changed.emit()
        self.rescan()

    def open_paths(self, paths: list[str]) -> bool:
        """Use these folders, pictures or zips as the dataset (from a drop or a dialog); False if refused."""
        if self.locked:
            self.workspace.say("The dataset cannot change while training; stop the run first.", page=self.key)
            return False
        usable = paths_from_drop(paths)
        if not usable:
            self.banner.show_message("Nothing there looks like pictures: drop a folder, picture files "
                                     "(PNG, JPEG, WebP…) or a zip archive.", "warning")
            return False
        self.banner.hide()
        self.workspace.dataset.demo = False
        self.workspace.dataset.paths = usable
        self._save()
        self.workspace.dataset_changed.emit()
        self.rescan()
        return True

    # -- scanning ----------------------------------------------------------------------------------

    def rescan(self) -> None:
        """Check the chosen dataset with the current settings, cancelling a scan already running."""
        self._rescan_timer.stop()
        if self._scan is not None:
            self._scan.cancel()
        data = self.workspace.data_config()
        if not data.demo and not data.paths:
            self.stack.setCurrentWidget(self.drop_zone)
            return
        self.scan_title.setText("Drawing the demo shapes…" if data.demo else "Looking for pictures…")
        self.scan_detail.setText("")
        self.scan_progress.setRange(0, 0)
        if self._result is None or self._result.data.paths != data.paths or self._result.data.demo != data.demo:
            self.stack.setCurrentWidget(self.scan_panel)
        else:
            self.grid_title.setText(f"Preparing at {data.size} px…")
        self.workspace.say("Checking the pictures…", 0, page=self.key)
        self._scan = self.workspace.io_tasks.submit(
            lambda task: scan_dataset(task, data), self._scanned, self._scan_failed, self._scan_progressed,
            name="scan", writes=False)

    def _scan_progressed(self, stage: str, done: int, total: int) -> None:
        if self.stack.currentWidget() is not self.scan_panel:
            self.grid_title.setText(f"Preparing at {self.workspace.dataset.size} px… {done:,} of {total:,}")
            return
        self.scan_title.setText({"decoding": "Checking pictures…", "drawing": "Drawing the demo shapes…"}
                                .get(stage, "Checking pictures…"))
        self.scan_progress.setRange(0, max(1, total))
        self.scan_progress.setValue(done)
        self.scan_detail.setText(f"{done:,} of {total:,} files")

    def cancel_scan(self) -> None:
        if self._scan is None:
            return
        self._scan.cancel()
        self._scan = None
        self.workspace.say("Checking cancelled.", page=self.key)
        if self._result is not None:
            self.stack.setCurrentWidget(self.grid_panel)
            self._show_result(self._result)
        else:
            self.stack.setCurrentWidget(self.drop_zone)

    @property
    def scanning(self) -> bool:
        return self._scan is not None

    def _scan_failed(self, message: str) -> None:
        self._scan = None
        self.banner.show_message(message, "error")
        self.workspace.say("The dataset could not be used.", page=self.key)
        self.stack.setCurrentWidget(self.grid_panel if self._result is not None else self.drop_zone)

    def _scanned(self, result: ScanResult) -> None:
        self._scan = None
        current = self.workspace.data_config()
        if (result.data.paths, result.data.demo, result.data.size, result.data.fit, result.data.background) != (
                current.paths, current.demo, current.size, current.fit, current.background):
            return  # the settings moved on while this ran; a newer scan is on its way
        self._result = result
        self.workspace.dataset_report = result.report
        self.workspace.dataset_pixels = result.pixels
        self._show_result(result)
        self.workspace.dataset_scanned.emit()
        report = result.report
        if report.usable:
            source = "from the cache" if result.from_cache else f"in {result.seconds:.1f} s"
            self.workspace.say(f"{report.usable:,} pictures ready ({source}).", page=self.key)
        else:
            self.workspace.say("No usable pictures in this dataset.", page=self.key)

    def _show_result(self, result: ScanResult) -> None:
        report = result.report
        data = result.data
        self.stack.setCurrentWidget(self.grid_panel)
        self.grid.picture_model.set_pictures(result.pixels, tooltips=list(report.usable_labels))
        self.grid_title.setText(f"{report.usable:,} pictures as the network will see them "
                                f"({data.size} × {data.size}, {data.fit})")
        name = "Built-in demo shapes" if data.demo else report.name
        self.subtitle.setText(", ".join(data.paths) if not data.demo else
                              "3,000 colourful shapes drawn by GAN Studio: a quick way to see it work")
        self.summary_title.setText(name)
        skipped = len(report.skipped)
        counts = [f"<b>{report.usable:,}</b> usable pictures"]
        if not data.demo:
            counts.insert(0, f"{report.found:,} files found")
        if skipped:
            counts.append(f"<b>{skipped:,}</b> skipped")
        if report.formats and not data.demo:
            counts.append("formats: " + ", ".join(f"{name} {count:,}" for name, count in list(report.formats.items())[:4]))
        self.summary_counts.setText(" · ".join(counts))
        warnings = report.warnings
        self.notes_title.setVisible(bool(warnings))
        self.notes.setVisible(bool(warnings))
        self.notes.setText("".join(f"<p style='margin:0 0 6px 0'>• {note}</p>" for note in warnings))
        self.skipped_title.setVisible(bool(skipped))
        self.skipped.setVisible(bool(skipped))
        self.skipped.show_skipped(report.skipped, LISTED_SKIPPED)
        self.next_button.setEnabled(report.usable > 0)
        if report.usable == 0:
            self.banner.show_message(f"None of the {report.found:,} files is a usable picture; the list on the "
                                     "right says why for each.", "error")
        self.update_preview()

    # -- preview -----------------------------------------------------------------------------------

    def update_preview(self) -> None:
        """Show one picture before and after squaring with the current settings (worker thread)."""
        result = self._result
        if result is None or not len(result.pixels):
            self.preview_original.set_image(None)
            self.preview_prepared.set_image(None)
            return
        current = self.grid.currentIndex()
        row = current.row() if current.isValid() else 0
        row = min(row, len(result.pixels) - 1)
        label_text = result.report.usable_labels[row] if row < len(result.report.usable_labels) else ""
        source = result.sources.get(label_text)
        data = self.workspace.data_config()
        if source is None and not result.data.demo:
            return
        demo_pixels = np.array(result.pixels[row]) if result.data.demo else None
        if self._preview is not None:
            self._preview.cancel()
        self._preview = self.workspace.io_tasks.submit(
            lambda task: prepare_preview(source, demo_pixels, label_text, data.size, data.fit, data.background),
            self._show_preview, self._preview_failed, name="preview", writes=False)

    def _show_preview(self, preview: PreviewResult) -> None:
        self._preview = None
        self.preview_original.set_image(qimage_from_rgb(preview.original))
        self.preview_prepared.set_image(qimage_from_rgb(preview.prepared))
        width, height = preview.original_size
        self.preview_original_caption.setText(f"original {width} × {height}")
        side = preview.prepared.shape[0]
        self.preview_prepared_caption.setText(f"trained on {side} × {side}")
        self.preview_name.setText(preview.label)

    def _preview_failed(self, message: str) -> None:
        self._preview = None
        self.preview_name.setText(message)

    def set_dragging(self, dragging: bool) -> None:
        self.drop_zone.set_dragging(dragging)
