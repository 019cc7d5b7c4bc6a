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
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from ...core import events as ev
from ...core.config import DataConfig, RunConfig
from ...core.data.demo import DAY_NIGHT_COUNT
from ...core.data.scan import DatasetReport, ScanCancelled
from ...core.registry import TRANSLATE
from ...core.runs import RunFolder
from ..probe import MachineInfo, probe_machine
from ..resources import icon
from ..tasks import Task, TaskCancelled
from ..widgets.common import Banner, button, label, settings_column
from ..widgets.drop_target import DropTarget, local_paths
from ..workspace import Workspace
from .run_controls import RunControls
from .convert_panel import ConvertPanel
from .dataset_page import IMAGE_SUFFIXES, paths_from_drop
from .train_page import LENGTHS
from ..widgets.forms import ModelOptionsForm, ModelPicker, field_label, select_data, shrinkable_combo

# The sizes the page offers (of those the model trains at): 512 px is for a GPU and the command line.
SIZES = (128, 256)
DOMAIN_HINTS = {
    "A": "What you have, e.g. photos of horses. A folder, picture files or a zip.",
    "B": "What they should become, e.g. photos of zebras. They need not match A picture for picture.",
}
DEMO_WORDS = {"A": "Built-in scenes by day", "B": "Built-in scenes by night"}
LISTED_SKIPPED = 12
SUBTITLE = "Teach a network to turn one kind of picture into another, then convert your pictures."


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


class ImageToImagePage(RunControls, QWidget):
    key = "image-to-image"
    title = "Image to image"
    icon_name = "image-to-image"
    usual_subtitle = SUBTITLE

    domain_checked = Signal(str)  # "A" or "B": its counts are shown

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.session = workspace.session
        self.machine: MachineInfo | None = None
        self.demo = True
        self.domains = {"A": Domain(), "B": Domain()}
        self.started: ev.RunStarted | None = None
        self._ready_events = 0  # DatasetReady events of the current run: the first is domain A's
        self._build()
        self._restore_settings()
        self._connect()
        self._set_running(False)
        if self.demo and not workspace.settings.value("i2i/has_trained", False):
            self.subtitle.setText("The built-in day and night scenes are ready: press Train to watch a network "
                                  "learn to turn day into night.")
        for side in self.domains:
            self._check(side)
        workspace.io_tasks.submit(lambda task: probe_machine(), self._machine_probed, name="probe")

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(label("Image to image", "h1"))
        self.subtitle = label(SUBTITLE, "muted", wrap=True)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        self.start_button = button("Train", "play", primary=True, on_click=self.start,
                                   tooltip="Start training on domains A and B with these settings (Ctrl+Enter)")
        self.start_button.setMinimumWidth(110)
        self.pause_button = button("Pause", "pause", on_click=self.toggle_pause,
                                   tooltip="Pause after the current step; nothing is lost (Ctrl+P)")
        self.stop_button = button("Stop", "stop", on_click=self.stop,
                                  tooltip="Stop after the current step and save a checkpoint; you can continue "
                                          "later from the Runs page (Ctrl+.)")
        self.run_buttons = (self.start_button, self.pause_button, self.stop_button)
        for widget in self.run_buttons:
            header.addWidget(widget)
        self.banner = Banner()

        train_tab = QWidget()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._build_settings())
        self.splitter.addWidget(self._build_live(plot_share=[480, 460]))
        self.gallery.view.set_placeholder("Sample grids appear here: each column a picture, the rows real A, "
                                          "A turned into B, and back to A; then the same from B.")
        self.gallery.slider.setToolTip("Scrub through training: the same pictures each time, so you see the "
                                       "translation improve")
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([360, 900])
        train_layout = QVBoxLayout(train_tab)
        train_layout.setContentsMargins(0, 10, 0, 0)
        train_layout.addWidget(self.splitter)
        self.converter = ConvertPanel(self.workspace)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(train_tab, icon("train"), "Train")
        self.tabs.addTab(self.converter, icon("image-to-image"), "Convert pictures")
        self.tabs.currentChanged.connect(self._tab_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 14)
        layout.setSpacing(10)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
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
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.model_choice = shrinkable_combo()
        self.model_choice.setToolTip("How the pictures are turned into the other kind.")
        form.addRow(field_label("Model"), self.model_choice)
        self.size_choice = shrinkable_combo()
        for size in SIZES:
            self.size_choice.addItem(f"{size} × {size} px", size)
        self.size_choice.setToolTip("The size the networks train at. 128 px is quick enough for a CPU; 256 px "
                                    "shows finer detail but each step is four times the work.")
        self.size_choice.currentIndexChanged.connect(self._size_changed)
        form.addRow(field_label("Size"), self.size_choice)
        self.model_options = ModelOptionsForm(form)
        # Before each model kept its own settings, the page stored them under i2i/ directly.
        self.models = ModelPicker(TRANSLATE, self.model_choice, self.model_options, self.workspace.settings, "i2i",
                                  legacy_prefix="i2i")
        column.addLayout(form)

        column.addWidget(label("Training", "h2"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.length_choice = shrinkable_combo()
        for key, words in LENGTHS.items():
            self.length_choice.addItem(words, key)
        self.length_choice.setToolTip("How long to train. Automatic: about 300,000 pictures shown to the networks "
                                      "(the demo: 4 minutes on a CPU, which gives rough night scenes; ten minutes "
                                      "look right). You can always stop early or continue later.")
        self.length_value = QDoubleSpinBox()
        self.length_value.setDecimals(0)
        self.length_value.setRange(1, 1_000_000)
        self.length_choice.currentIndexChanged.connect(self._length_kind_changed)
        form.addRow(field_label("Length"), self.length_choice)
        form.addRow(field_label(""), self.length_value)
        self.length_form = form
        self.device_choice = shrinkable_combo()
        self.device_choice.addItem("Automatic (looking…)", "auto")
        self.device_choice.setToolTip("Where to train. A GPU is many times faster than the CPU.")
        form.addRow(field_label("Device"), self.device_choice)
        column.addLayout(form)
        self.locked_note = label("Settings are locked while training. Stop the run to change them.", "muted",
                                 wrap=True)
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
        if self.tabs.currentIndex() == 0 and local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self.banner.show_message("Drop the pictures on Domain A or on Domain B, so it is clear which they are.",
                                 "info")

    # -- settings ----------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        settings = self.workspace.settings
        self.demo = settings.value("i2i/demo", True)
        self.domains["A"].paths = [str(path) for path in settings.value("i2i/paths_a", [])]
        self.domains["B"].paths = [str(path) for path in settings.value("i2i/paths_b", [])]
        self._select(self.size_choice, settings.value("i2i/size", 128))
        self._select(self.length_choice, settings.value("i2i/length", "auto"))
        self._length_kind_changed()

    def save_settings(self) -> None:
        settings = self.workspace.settings
        settings.set_value("i2i/demo", self.demo)
        settings.set_value("i2i/paths_a", self.domains["A"].paths)
        settings.set_value("i2i/paths_b", self.domains["B"].paths)
        settings.set_value("i2i/size", self.size_choice.currentData())
        self.models.save()
        kind = self.length_choice.currentData()
        settings.set_value("i2i/length", kind)
        if kind != "auto":
            settings.set_value(f"i2i/length_{kind}", self.length_value.value())
        device = self.device_choice.currentData()
        if device:
            settings.set_value("i2i/device", device)

    _select = staticmethod(select_data)

    def _length_kind_changed(self) -> None:
        kind = self.length_choice.currentData()
        # The whole row goes, so Automatic leaves no gap above Device.
        self.length_form.setRowVisible(self.length_value, kind != "auto")
        defaults = {"minutes": 10, "epochs": 20, "steps": 5000}
        self.length_value.setDecimals(1 if kind == "minutes" else 0)
        self.length_value.setSuffix(" min" if kind == "minutes" else "")
        if kind in defaults and self.length_value.property("kind") != kind:
            self.length_value.setValue(self.workspace.settings.value(f"i2i/length_{kind}", float(defaults[kind])))
        self.length_value.setProperty("kind", kind)

    def _machine_probed(self, machine: MachineInfo) -> None:
        self.machine = machine
        if not self.models.listed:
            self.models.list_models(machine.models)
        self.device_choice.clear()
        self.device_choice.addItem(f"Automatic — {machine.best_device.label}", "auto")
        for device in machine.devices:
            self.device_choice.addItem(device.label, device.key)
        self._select(self.device_choice, self.workspace.settings.value("i2i/device", "auto"))
        if not any(device.is_gpu for device in machine.devices):
            self.device_choice.setToolTip("No GPU was found, so training runs on the CPU: the light networks at "
                                          "128 px take about ten minutes for the demo to look right, hours for "
                                          "photos. A GPU is many times faster.")

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
        config.data.size = self.size_choice.currentData()
        train = config.train
        kind, value = self.length_choice.currentData(), self.length_value.value()
        if kind == "minutes":
            train.minutes = float(value)
        elif kind == "epochs":
            train.epochs = int(value)
        elif kind == "steps":
            train.steps = int(value)
        train.device = self.device_choice.currentData() or "auto"
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
            self.workspace.say("The pictures cannot change while a run trains; stop it first.")
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
        self.workspace.say("The built-in day and night scenes are chosen: press Train to watch a network learn to turn day into night.")

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
        size, model = self.size_choice.currentData(), self.models.name
        domain.scan = self.workspace.io_tasks.submit(
            lambda task, paths=list(domain.paths): check_domain(task, paths, size, model),
            lambda report, side=side: self._checked(side, report),
            lambda message, side=side: self._check_failed(side, message),
            lambda done, total, side=side: self._check_progressed(side, done, total), name=f"check-{side}")

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
        why = "\n".join(f"{name}: {reason}" for name, reason in report.skipped[:LISTED_SKIPPED])
        if skipped > LISTED_SKIPPED:
            why += f"\n… and {skipped - LISTED_SKIPPED:,} more"
        zone.detail.setToolTip(f"Skipped:\n{why}" if skipped else "")

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

    def _connect(self) -> None:
        self._connect_session()
        self.session.state_changed.connect(lambda state: self._set_running(state != "idle"))

    def start(self, config: RunConfig | None = None) -> bool:
        """Train with the form's settings (or `config`); refused (False) while any run is going."""
        if self.session.busy:
            self.workspace.say("A run is already going; stop it before starting another.")
            return False
        if config is None:
            problem = self.not_ready_reason()
            if problem:
                self.banner.show_message(problem, "warning")
                return False
            try:
                config = self.build_config()
            except Exception as exc:  # a ConfigError sentence, or a bad value the form let through
                self.banner.show_message(str(exc), "error")
                return False
        self.save_settings()
        self.workspace.settings.set_value("i2i/has_trained", True)
        for domain in self.domains.values():
            if domain.scan is not None:  # the engine reads the pictures itself; one reader is enough
                domain.scan.cancel()
                domain.scan = None
        self.tabs.setCurrentIndex(0)
        self.banner.hide()
        self._clear_live()
        self.run_title.setText("Starting…")
        self.progress_text.setText("Getting the pictures ready…")
        return self.session.start(config, owner=self.key)

    def continue_run(self, run_dir: str, targets: dict | None = None) -> bool:
        """Resume a saved image-to-image run: show its history first, then train on from its latest checkpoint."""
        if self.session.busy:
            self.workspace.say("A run is already going; stop it before continuing another.")
            return False
        folder = RunFolder(run_dir)
        try:
            config = folder.load_config()
        except Exception as exc:
            self.banner.show_message(str(exc), "error")
            return False
        self.tabs.setCurrentIndex(0)
        self.banner.hide()
        self._clear_live()
        self._select(self.size_choice, config.data.size)
        self.models.select(config.model.name, config.model.options)
        return self._replay_then_resume(folder, targets)

    def _clear_live(self) -> None:
        self.started = None
        self._ready_events = 0
        self.plot.clear()
        self.gallery.clear()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.run_detail.setText("")

    def _set_running(self, running: bool) -> None:
        """Lock what cannot change mid-run (whichever page started it); buttons follow the session's state."""
        self.settings_widget.setEnabled(not running)
        self.locked_note.setVisible(running)
        self.start_button.setEnabled(not running)
        state = self.session.state
        own = self.session.owner == self.key
        self.pause_button.setEnabled(running and own and state in ("training", "paused"))
        self.stop_button.setEnabled(running and own and state in ("preparing", "training", "paused"))
        if running and not own:
            self.locked_note.setText("A run is training on the Train page; settings here unlock when it ends.")
        else:
            self.locked_note.setText("Settings are locked while training. Stop the run to change them.")
        if not running:
            self._show_paused(False)

    def _show_paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(icon("play" if paused else "pause"))
        self.pause_button.setToolTip("Carry on training (Ctrl+P)" if paused else
                                     "Pause after the current step; nothing is lost (Ctrl+P)")
        if paused:
            self.pause_button.setEnabled(True)
            self.progress_text.setText("Paused. Press Resume to carry on.")
            self.workspace.say("Training paused.", 0)
        elif self.session.state == "training" and self.session.owner == self.key:
            self.pause_button.setEnabled(True)
            self.workspace.say("Training resumed.")

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

    def _steps(self, steps: tuple[ev.StepProgress, ...]) -> None:
        # One decimal: a CycleGAN on a CPU trains about one picture a second.
        self._show_steps(steps, speed_decimals=1)

    ready_words = "The model is ready to convert pictures."

    def _finished_actions(self, run_dir: str) -> list:
        return [("Convert pictures", lambda: self.show_convert(run_dir)),
                ("Train longer", lambda: self.workspace.run_opened.emit(run_dir))]

    def _after_finished(self, event: ev.RunFinished, run_dir: str) -> None:
        if run_dir and event.checkpoint:
            # The run just trained is the one to convert with, unless the user is converting with another now.
            self.converter.add_run(run_dir, select=self.tabs.currentWidget() is not self.converter)

    def _failed(self, message: str) -> None:
        if self.banner.message() != message:
            self.banner.show_message(message, "error")
        self.progress_text.setText("Training could not go on.")
