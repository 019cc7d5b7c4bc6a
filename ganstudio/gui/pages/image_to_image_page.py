"""The Image to image page: train a translating model on two domains of pictures, then convert pictures with it.

The Train tab mirrors the Train page: two drop zones (domain A and B) checked on a worker thread,
a few settings, and the run as it happens through the shared TrainingSession (only one run trains
at a time, whichever page started it). The Convert tab (convert_panel.py) turns pictures and folders
into the other domain with a trained run or a generator file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from ...core import events as ev
from ...core.config import DataConfig, RunConfig
from ...core.data.demo import DAY_NIGHT_COUNT
from ...core.data.scan import DatasetReport, ScanCancelled
from ...core.registry import TRANSLATE
from ..resources import icon
from ..tasks import Task, TaskCancelled
from ..widgets.common import button, label, settings_column
from ..widgets.drop_target import IMAGE_SUFFIXES, DropTarget, accept_without_moving, local_paths, paths_from_drop
from ..widgets.forms import ModelOptionsForm, ModelPicker, field_label, growing_form, shrinkable_combo
from ..widgets.page_frame import page_frame, side_by_side
from ..widgets.skipped_files import skipped_tooltip
from ..widgets.settings_table import CHOICE, Length, Setting, SettingsTable
from ..workspace import Workspace
from .convert_panel import ConvertPanel
from .training import TrainingPage

# The sizes the page offers (of those the model trains at): 512 px is for a GPU and the command line.
SIZES = (128, 256)
DOMAIN_HINTS = {
    "A": "What you have, e.g. photos of horses. A folder, picture files or a zip.",
    "B": "What they should become, e.g. photos of zebras. They need not match A picture for picture.",
}
DEMO_WORDS = {"A": "Built-in scenes by day", "B": "Built-in scenes by night"}
LISTED_SKIPPED = 12
SUBTITLE = "Teach a network to turn one kind of picture into another, then convert your pictures."
# In the order shown: "model" rows under Model (before the model's own), "main" ones under Training.
SETTINGS = (
    Setting("size", "data.size", CHOICE, "Size",
            "The size the networks train at. 128 px is quick enough for a CPU; 256 px shows finer detail but each "
            "step is four times the work.", 128, items=tuple((size, f"{size} × {size} px") for size in SIZES),
            place="model"),
    Length("How long to train. Automatic: about 300,000 pictures shown to the networks (the demo: 4 minutes on a "
           "CPU, which gives rough night scenes; ten minutes look right). You can always stop early or continue "
           "later.", {"minutes": 10, "epochs": 20, "steps": 5000}),
    Setting("device", "train.device", CHOICE, "Device", "Where to train. A GPU is many times faster than the CPU.",
            "auto", items=(("auto", "Automatic (looking…)"),)),
)


@dataclass
class Domain:
    """One side of the translation: the paths chosen and what checking them found."""

    paths: list[str] = field(default_factory=list)
    report: DatasetReport | None = None
    scan: Task | None = None
    problem: str = ""


def check_domain(task: Task, paths: list[str], size: int, model: str | None) -> DatasetReport:
    """List, decode and check one domain at the size the engine loads it for `model` (the first translating
    model when None); runs on a worker thread.

    The decoded pictures land in the dataset cache under the engine's own key, so training starts at once.
    """
    from ...core.data.cache import load_dataset
    from ...core.registry import get_recipe, recipes_of_kind
    recipe = get_recipe(model) if model else recipes_of_kind(TRANSLATE)[0]
    probe = RunConfig()
    probe.model.name = recipe.name
    probe.data.size = size
    data = DataConfig(paths=list(paths), size=recipe.load_size(probe))
    try:
        loaded = load_dataset(data, lambda stage, done, total: task.progress(done, total),
                              lambda: task.cancelled, mmap=True, require=False)
    except ScanCancelled:
        raise TaskCancelled() from None
    return loaded.report


class ImageToImagePage(TrainingPage):
    key = "image-to-image"
    title = "Image to image"
    icon_name = "image-to-image"
    settings_prefix = "i2i"
    usual_subtitle = SUBTITLE
    no_gpu_tip = ("No GPU was found, so training runs on the CPU: the light networks at 128 px take about ten "
                  "minutes for the demo to look right, hours for photos. A GPU is many times faster.")
    ready_words = "The model is ready to convert pictures."

    domain_checked = Signal(str)  # "A" or "B": its counts are shown

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self.demo = True
        self.domains = {"A": Domain(), "B": Domain()}
        self._ready_events = 0  # DatasetReady events of the current run: the first is domain A's
        self._build()
        self._restore_settings()
        self._connect_session()
        self._set_running(False)
        if self.demo and not workspace.settings.value("i2i/has_trained", False):
            self.subtitle.setText("The built-in day and night scenes are ready: press Train to watch a network "
                                  "learn to turn day into night.")
        for side in self.domains:
            self._check(side)
        self._probe_machine()

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.run_buttons = self._run_buttons("Start training on domains A and B with these settings (Ctrl+Enter)")
        frame = page_frame(self, "Image to image", SUBTITLE, self.run_buttons, wrap_subtitle=True)
        self.subtitle, self.banner = frame.subtitle, frame.banner

        train_tab = QWidget()
        self.splitter = side_by_side(self._build_settings(), self._build_live(plot_share=[480, 460]), [360, 900])
        # Said for every model: CycleGAN's rows go A to B and back (then B's), CUT's are A, A as B, B and B again.
        self.gallery.view.set_placeholder("Sample grids appear here: a column for each of the same fixed pictures, "
                                          "a row from the real pictures to each of their translations.")
        self.gallery.slider.setToolTip("Scrub through training: the same pictures each time, so you see the "
                                       "translation improve")
        train_layout = QVBoxLayout(train_tab)
        train_layout.setContentsMargins(0, 10, 0, 0)
        train_layout.addWidget(self.splitter)
        self.converter = ConvertPanel(self.workspace)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(train_tab, icon("train"), "Train")
        self.tabs.addTab(self.converter, icon("image-to-image"), "Convert pictures")
        self.tabs.currentChanged.connect(self._tab_changed)
        frame.column.addWidget(self.tabs, 1)
        self.setAcceptDrops(True)

    def _build_settings(self) -> QWidget:
        panel, inner, column = settings_column(300, 440, spacing=8)
        self.settings_widget = inner

        heading = QHBoxLayout()
        heading.addWidget(label("Pictures", "h2"), 1)
        self.demo_button = button("Use the demo pair", "shapes", flat=True, on_click=self.use_demo,
                                  tooltip="Scenes GAN Studio draws itself: by day (A) and by night (B)")
        heading.addWidget(self.demo_button)
        column.addLayout(heading)
        self.zones: dict[str, DropTarget] = {}
        for side in ("A", "B"):
            zone = DropTarget(f"Domain {side}", DOMAIN_HINTS[side], "folder")
            zone.add_button(button("Folder…", "folder", on_click=lambda side=side: self.choose_folder(side),
                                   tooltip=f"Use every picture in a folder and its subfolders as domain {side}"))
            zone.add_button(button("Pictures…", "images", on_click=lambda side=side: self.choose_files(side),
                                   tooltip=f"Use some picture files as domain {side}"))
            zone.add_button(button("Zip…", "archive", on_click=lambda side=side: self.choose_zip(side),
                                   tooltip=f"Use the pictures inside a zip archive as domain {side}"))
            zone.finish_buttons()
            zone.dropped.connect(lambda paths, side=side: self.set_domain(side, paths))
            self.zones[side] = zone
            column.addWidget(zone)

        column.addWidget(label("Model", "h2"))
        model_form = growing_form()
        model_form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.model_choice = shrinkable_combo()
        self.model_choice.setToolTip("How the pictures are turned into the other kind.")
        model_form.addRow(field_label("Model"), self.model_choice)
        column.addLayout(model_form)
        column.addWidget(label("Training", "h2"))
        training_form = growing_form()
        column.addLayout(training_form)
        self.settings_table = SettingsTable(SETTINGS, self.workspace.settings, self.settings_prefix)
        self.settings_table.build({"model": model_form, "main": training_form})
        self.settings_table["size"].currentIndexChanged.connect(self._size_changed)
        self.model_options = ModelOptionsForm(model_form)
        # Before each model kept its own settings, the page stored them under i2i/ directly.
        self.models = ModelPicker(TRANSLATE, self.model_choice, self.model_options, self.workspace.settings, "i2i",
                                  legacy_prefix="i2i")
        self.locked_note = label("", "muted", wrap=True)
        column.addWidget(self.locked_note)
        column.addStretch(1)

        return panel

    def _tab_changed(self, index: int) -> None:
        training_tab = index == 0
        for widget in self.run_buttons:
            widget.setVisible(training_tab)
        if not training_tab:
            self.converter.refresh_runs()

    def show_convert(self, run_dir: str | None = None) -> None:
        """Switch to the Convert tab, with `run_dir`'s generator chosen when given."""
        self.tabs.setCurrentWidget(self.converter)
        if run_dir:
            self.converter.open_run(run_dir)

    def dragEnterEvent(self, event) -> None:
        # Pictures dropped beside the zones stay here (the window would take them to the Dataset page).
        if not (self.tabs.currentIndex() == 0 and local_paths(event.mimeData()) and accept_without_moving(event)):
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if not accept_without_moving(event):
            return
        self.banner.show_message("Drop the pictures on Domain A or on Domain B, so it is clear which they are.",
                                 "info")

    # -- settings ----------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        settings = self.workspace.settings
        self.demo = settings.value("i2i/demo", True)
        self.domains["A"].paths = [str(path) for path in settings.value("i2i/paths_a", [])]
        self.domains["B"].paths = [str(path) for path in settings.value("i2i/paths_b", [])]
        super()._restore_settings()

    def save_settings(self) -> None:
        settings = self.workspace.settings
        settings.set_value("i2i/demo", self.demo)
        settings.set_value("i2i/paths_a", self.domains["A"].paths)
        settings.set_value("i2i/paths_b", self.domains["B"].paths)
        super().save_settings()

    def build_config(self) -> RunConfig:
        """The run config the form and the two domains describe."""
        self.models.ensure_listed()
        config = RunConfig()
        config.model.name = self.models.name
        config.model.options = self.model_options.values()
        config.data.demo = self.demo
        if not self.demo:
            config.data.paths = list(self.domains["A"].paths)
            config.data.paths_b = list(self.domains["B"].paths)
        self.settings_table.write(config)
        return config.validate()

    # -- the two domains ---------------------------------------------------------------------------

    def _last_folder(self) -> str:
        return self.workspace.settings.value("dataset/last_folder", str(Path.home()))

    def choose_folder(self, side: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"Choose the pictures of domain {side}", self._last_folder())
        if folder:
            self.set_domain(side, [folder])

    def choose_files(self, side: str) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        files, _ = QFileDialog.getOpenFileNames(self, f"Choose the pictures of domain {side}", self._last_folder(),
                                                f"Pictures ({patterns});;All files (*)")
        if files:
            self.set_domain(side, files)

    def choose_zip(self, side: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose a zip of domain {side}", self._last_folder(),
                                              "Zip archives (*.zip)")
        if path:
            self.set_domain(side, [path])

    def set_domain(self, side: str, paths: list[str]) -> bool:
        """Use `paths` (folders, picture files, zips) as domain `side`; leaves the demo pair if it was chosen."""
        if self.session.busy:
            self.workspace.say("The pictures cannot change while a run trains; stop it first.", page=self.key)
            return False
        kept = paths_from_drop(paths)
        if not kept:
            self.banner.show_message("Nothing there holds pictures: drop a folder, picture files or a zip.", "warning")
            return False
        self.banner.hide()
        self.workspace.settings.set_value("dataset/last_folder", str(Path(kept[0]).parent))
        if self.demo:
            self.demo = False
            other = "B" if side == "A" else "A"
            self.domains[other].paths = []
            self._check(other)
        self.domains[side].paths = kept
        self._check(side)
        self.save_settings()
        return True

    def use_demo(self) -> None:
        if self.session.busy:
            return
        self.demo = True
        self.banner.hide()
        for side in self.domains:
            self._check(side)
        self.save_settings()
        self.workspace.say("The built-in day and night scenes are chosen: press Train to watch a network learn to turn day into night.", page=self.key)

    def _size_changed(self) -> None:
        # The pictures are prepared at a size that follows the training size, so they are checked again.
        if not self.demo:
            for side in self.domains:
                self._check(side)

    def _check(self, side: str) -> None:
        """Show what domain `side` holds: the demo, nothing yet, or its pictures checked on a worker thread."""
        domain, zone = self.domains[side], self.zones[side]
        if domain.scan is not None:
            domain.scan.cancel()
            domain.scan = None
        domain.report, domain.problem = None, ""
        if self.demo:
            zone.set_status(DEMO_WORDS[side], f"{DAY_NIGHT_COUNT:,} pictures GAN Studio draws itself")
            self.domain_checked.emit(side)
            return
        if not domain.paths:
            zone.set_status("", "No pictures yet: drop a folder, picture files or a zip here.")
            return
        zone.set_status(self._paths_title(domain.paths), "Looking for pictures…")
        size, model = self.settings_table["size"].currentData(), self.models.name
        domain.scan = self.workspace.io_tasks.submit(
            lambda task, paths=list(domain.paths): check_domain(task, paths, size, model),
            lambda report, side=side: self._checked(side, report),
            lambda message, side=side: self._check_failed(side, message),
            lambda done, total, side=side: self._check_progressed(side, done, total), name=f"check-{side}",
            writes=False)

    @staticmethod
    def _paths_title(paths: list[str]) -> str:
        first = Path(paths[0]).name or paths[0]
        return first if len(paths) == 1 else f"{first} and {len(paths) - 1:,} more"

    def _check_progressed(self, side: str, done: int, total: int) -> None:
        self.zones[side].detail.setText(f"Checking pictures: {done:,} of {total:,}")

    def _checked(self, side: str, report: DatasetReport) -> None:
        domain = self.domains[side]
        domain.scan, domain.report = None, report
        self._show_report(side, report)
        self.domain_checked.emit(side)

    def _show_report(self, side: str, report: DatasetReport) -> None:
        zone = self.zones[side]
        skipped = len(report.skipped)
        counts = f"{report.usable:,} pictures" if report.usable != 1 else "1 picture"
        detail = f"{counts} · {skipped:,} skipped" if skipped else counts
        if not report.usable:
            self.domains[side].problem = (f"Domain {side} has no usable pictures; choose a folder, picture files "
                                          "or a zip with PNG, JPEG or WebP pictures.")
            detail = "No usable pictures here" + (f" ({skipped:,} files skipped)" if skipped else "")
        zone.set_status(self._paths_title(self.domains[side].paths), detail)
        zone.detail.setToolTip(skipped_tooltip(report.skipped, LISTED_SKIPPED))

    def _check_failed(self, side: str, message: str) -> None:
        domain = self.domains[side]
        domain.scan, domain.problem = None, message
        self.zones[side].set_status(self._paths_title(domain.paths), message)
        self.domain_checked.emit(side)

    def not_ready_reason(self) -> str:
        """Why training cannot start with the chosen pictures, in a sentence; empty when it can."""
        if self.demo:
            return ""
        for side in ("A", "B"):
            if not self.domains[side].paths:
                return (f"Choose the pictures of domain {side} (drop a folder on it), or use the built-in "
                        "day and night pair.")
        for side in ("A", "B"):
            if self.domains[side].problem:
                return self.domains[side].problem
        return ""

    # -- running -----------------------------------------------------------------------------------

    def _run_coming(self, continuing: bool) -> None:
        self.tabs.setCurrentIndex(0)
        if continuing:
            return
        for domain in self.domains.values():
            if domain.scan is not None:  # the engine reads the pictures itself; one reader is enough
                domain.scan.cancel()
                domain.scan = None

    def _clear_live(self) -> None:
        super()._clear_live()
        self._ready_events = 0

    def _data_progress(self, event: ev.DataProgress) -> None:
        side = "A" if self._ready_events == 0 else "B"
        verb = {"decoding": f"Preparing the pictures of domain {side}",
                "drawing": f"Drawing the demo scenes of domain {side}"}.get(event.stage, "Preparing")
        self.progress_text.setText(f"{verb}: {event.done:,} of {event.total:,}")
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)

    def _dataset_ready(self, event: ev.DatasetReady) -> None:
        side = "A" if self._ready_events == 0 else "B"
        self._ready_events += 1
        if not self.demo and self.domains[side].report is None:
            detail = f"{event.usable:,} pictures" + (f" · {event.skipped:,} skipped" if event.skipped else "")
            self.zones[side].set_status(self._paths_title(self.domains[side].paths) if self.domains[side].paths
                                        else event.name, detail)
        source = "from the cache" if event.from_cache else f"in {event.seconds:.1f} s"
        self.progress_text.setText(f"Domain {side}: {event.usable:,} pictures ready ({source}).")

    def _run_started(self, event: ev.RunStarted) -> None:
        self._show_run_started(event, f"{event.dataset_size:,} pictures a side")

    def _finished_actions(self, run_dir: str) -> list:
        return [("Convert pictures", lambda: self.show_convert(run_dir)),
                ("Train longer", lambda: self.workspace.run_opened.emit(run_dir))]

    def _after_finished(self, event: ev.RunFinished, run_dir: str) -> None:
        if run_dir and event.checkpoint:
            # The run just trained is the one to convert with, unless the user is converting with another now.
            self.converter.add_run(run_dir, select=self.tabs.currentWidget() is not self.converter)
