"""The Train page: settings that matter with plain-word tooltips, Start/Pause/Stop, and the run as it happens.

Everything live arrives through the TrainingSession's signals: the progress line from step events,
the plot from the same events (buffered, redrawn on its own timer), the gallery from sample events.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QHBoxLayout,
                               QSpinBox, QSplitter, QToolButton, QVBoxLayout, QWidget)

from ...core import events as ev
from ...core.config import RunConfig
from ...core.registry import GENERATE
from ...core.runs import RunFolder
from ..probe import MachineInfo, probe_machine
from ..resources import icon
from ..widgets.common import Banner, button, label, settings_column
from ..widgets.forms import ModelOptionsForm, ModelPicker, field_label, select_data, shrinkable_combo
from ..workspace import Workspace
from .run_controls import RunControls

SUBTITLE = "Choose a few settings, press Train, and watch the network learn."
LENGTHS = {
    "auto": "Automatic",
    "minutes": "Minutes",
    "epochs": "Epochs",
    "steps": "Steps",
}
AUGMENT_WORDS = {"flip": "Mirror left-right", "none": "None", "diff": "DiffAugment (for small datasets)",
                 "diff+flip": "DiffAugment and mirroring"}
PRECISION_WORDS = {"auto": "Automatic", "fp32": "Full (fp32)", "bf16": "bfloat16", "fp16": "float16"}



class TrainPage(RunControls, QWidget):
    key = "train"
    title = "Train"
    icon_name = "train"
    usual_subtitle = SUBTITLE

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.session = workspace.session
        self.machine: MachineInfo | None = None
        self.started: ev.RunStarted | None = None
        self._resume_target: tuple[str, dict] | None = None
        self._build()
        self._restore_settings()
        self._connect()
        self._refresh_dataset()
        self._set_running(False)
        workspace.io_tasks.submit(lambda task: probe_machine(), self._machine_probed, self._probe_failed, name="probe")

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        settings_panel = self._build_settings()
        live_panel = self._build_live(plot_share=[520, 420])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(settings_panel)
        splitter.addWidget(live_panel)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(1, False)
        splitter.setSizes([350, 900])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 14)
        layout.setSpacing(10)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(label("Train", "h1"))
        self.subtitle = label(SUBTITLE, "muted")
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        self.start_button = button("Train", "play", primary=True, on_click=self.start,
                                   tooltip="Start training with these settings (Ctrl+Enter)")
        self.start_button.setMinimumWidth(110)
        self.pause_button = button("Pause", "pause", on_click=self.toggle_pause,
                                   tooltip="Pause after the current step; nothing is lost (Ctrl+P)")
        self.stop_button = button("Stop", "stop", on_click=self.stop,
                                  tooltip="Stop after the current step and save a checkpoint; you can continue "
                                          "later from the Runs page (Ctrl+.)")
        for widget in (self.start_button, self.pause_button, self.stop_button):
            header.addWidget(widget)
        layout.addLayout(header)
        self.banner = Banner()
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)

    def _build_settings(self) -> QWidget:
        panel, inner, column = settings_column(290, 430, spacing=6)
        self.settings_widget = inner

        column.addWidget(label("Dataset", "h2"))
        self.dataset_title = label("", "big", wrap=True)
        self.dataset_detail = label("", "muted", wrap=True)
        change = button("Change…", "dataset", flat=True, on_click=lambda: self.workspace.page_requested.emit("dataset"),
                        tooltip="Choose other pictures, the resolution and how they are squared")
        column.addWidget(self.dataset_title)
        column.addWidget(self.dataset_detail)
        column.addWidget(change, 0, Qt.AlignmentFlag.AlignLeft)

        column.addWidget(label("Model", "h2"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.model_choice = shrinkable_combo()
        self.model_choice.setToolTip("The kind of network that learns to make pictures like yours.")
        form.addRow(field_label("Model"), self.model_choice)
        self.model_form = form
        column.addLayout(form)

        column.addWidget(label("Training", "h2"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.length_choice = shrinkable_combo()
        for key, words in LENGTHS.items():
            self.length_choice.addItem(words, key)
        self.length_choice.setToolTip("How long to train. Automatic: about 300,000 pictures shown to the network "
                                      "(the demo: 4 minutes on a CPU). You can always stop early or continue later.")
        self.length_value = QDoubleSpinBox()
        self.length_value.setDecimals(0)
        self.length_value.setRange(1, 1_000_000)
        self.length_choice.currentIndexChanged.connect(self._length_kind_changed)
        # The amount goes on its own row: beside the choice it widened the panel past its edge.
        form.addRow(field_label("Length"), self.length_choice)
        form.addRow(field_label(""), self.length_value)
        self.length_form = form
        self.batch_size = QSpinBox()
        self.batch_size.setRange(0, 4096)
        self.batch_size.setSpecialValueText("Automatic")
        self.batch_size.setValue(0)
        self.batch_size.setToolTip("Pictures per training step. Automatic: 64 on a GPU, 16 on a CPU, where more, "
                                   "smaller steps learn faster. Lower it if the GPU runs out of memory.")
        form.addRow(field_label("Batch size"), self.batch_size)
        self.device_choice = shrinkable_combo()
        self.device_choice.addItem("Automatic (looking…)", "auto")
        self.device_choice.setToolTip("Where to train. A GPU is many times faster than the CPU.")
        form.addRow(field_label("Device"), self.device_choice)
        column.addLayout(form)

        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        column.addWidget(self.advanced_toggle)
        self.advanced = QFrame()
        form = QFormLayout(self.advanced)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.lr_g = self._rate_box("How big a step the generator (the artist) takes when it learns. "
                                   "Too high and training becomes unstable; 0.0002 is the classic value.")
        self.lr_d = self._rate_box("How big a step the discriminator (the critic) takes when it learns.")
        form.addRow(field_label("Generator rate"), self.lr_g)
        form.addRow(field_label("Critic rate"), self.lr_d)
        self.augment_choice = self._choice(AUGMENT_WORDS, "Variations shown to the critic so it cannot memorise a "
                                                          "small dataset. DiffAugment helps below ~1,000 pictures.")
        form.addRow(field_label("Augment"), self.augment_choice)
        self.precision_choice = self._choice(PRECISION_WORDS, "Number precision. Automatic uses fast mixed precision "
                                                              "on GPUs and on CPUs with bfloat16 instructions.")
        form.addRow(field_label("Precision"), self.precision_choice)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_000_000_000)
        self.seed.setToolTip("The same seed and settings give the same run, picture for picture.")
        form.addRow(field_label("Seed"), self.seed)
        self.sample_every = QSpinBox()
        self.sample_every.setRange(0, 10_000)
        self.sample_every.setSpecialValueText("Automatic")
        self.sample_every.setSuffix(" epochs")
        self.sample_every.setToolTip("How often a sample grid is drawn for the gallery. Automatic: about every "
                                     "2,000 pictures trained on.")
        form.addRow(field_label("Samples"), self.sample_every)
        self.checkpoint_minutes = QDoubleSpinBox()
        self.checkpoint_minutes.setRange(0.5, 600)
        self.checkpoint_minutes.setValue(10)
        self.checkpoint_minutes.setSuffix(" min")
        self.checkpoint_minutes.setToolTip("How often the whole training state is saved. One is always saved when "
                                           "training stops.")
        form.addRow(field_label("Checkpoint"), self.checkpoint_minutes)
        self.advanced.hide()
        column.addWidget(self.advanced)
        # The chosen model's own settings: its main ones under Model, its advanced ones at the top of Advanced.
        self.model_options = ModelOptionsForm(self.model_form, form)
        # Before each model kept its own settings, the page stored them under train/ directly.
        self.models = ModelPicker(GENERATE, self.model_choice, self.model_options, self.workspace.settings, "train",
                                  legacy_prefix="train")
        self.locked_note = label("Settings are locked while training. Stop the run to change them.", "muted",
                                 wrap=True)
        column.addWidget(self.locked_note)
        column.addStretch(1)

        return panel

    def _rate_box(self, tooltip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setDecimals(5)
        box.setRange(0.00001, 0.01)
        box.setSingleStep(0.00005)
        box.setValue(0.0002)
        box.setToolTip(tooltip)
        return box

    def _choice(self, words: dict[str, str], tooltip: str) -> QComboBox:
        box = shrinkable_combo()
        for key, text in words.items():
            box.addItem(text, key)
        box.setToolTip(tooltip)
        return box

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _length_kind_changed(self) -> None:
        kind = self.length_choice.currentData()
        self.length_value.setEnabled(kind != "auto")
        self.length_form.setRowVisible(self.length_value, kind != "auto")  # the whole row, with its spacing
        defaults = {"minutes": 10, "epochs": 50, "steps": 5000}
        self.length_value.setDecimals(1 if kind == "minutes" else 0)
        self.length_value.setSuffix({"minutes": " min", "epochs": "", "steps": ""}.get(kind, ""))
        if kind in defaults and self.length_value.property("kind") != kind:
            self.length_value.setValue(self.workspace.settings.value(f"train/length_{kind}", float(defaults[kind])))
        self.length_value.setProperty("kind", kind)

    # -- settings ----------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        settings = self.workspace.settings
        self._select(self.length_choice, settings.value("train/length", "auto"))
        self._length_kind_changed()
        self.batch_size.setValue(settings.value("train/batch_size", 0))
        self.lr_g.setValue(settings.value("train/lr_g", 0.0002))
        self.lr_d.setValue(settings.value("train/lr_d", 0.0002))
        self._select(self.augment_choice, settings.value("train/augment", "flip"))
        self._select(self.precision_choice, settings.value("train/precision", "auto"))
        self.seed.setValue(settings.value("train/seed", 0))
        self.sample_every.setValue(settings.value("train/sample_every", 0))
        self.checkpoint_minutes.setValue(settings.value("train/checkpoint_minutes", 10.0))
        self.advanced_toggle.setChecked(settings.value("train/advanced_shown", False))

    def save_settings(self) -> None:
        settings = self.workspace.settings
        self.models.save()
        kind = self.length_choice.currentData()
        settings.set_value("train/length", kind)
        if kind != "auto":
            settings.set_value(f"train/length_{kind}", self.length_value.value())
        settings.set_value("train/batch_size", self.batch_size.value())
        settings.set_value("train/lr_g", self.lr_g.value())
        settings.set_value("train/lr_d", self.lr_d.value())
        settings.set_value("train/augment", self.augment_choice.currentData())
        settings.set_value("train/precision", self.precision_choice.currentData())
        settings.set_value("train/seed", self.seed.value())
        settings.set_value("train/sample_every", self.sample_every.value())
        settings.set_value("train/checkpoint_minutes", self.checkpoint_minutes.value())
        settings.set_value("train/advanced_shown", self.advanced_toggle.isChecked())
        device = self.device_choice.currentData()
        if device:
            settings.set_value("train/device", device)

    _select = staticmethod(select_data)

    def _machine_probed(self, machine: MachineInfo) -> None:
        self.machine = machine
        if not self.models.listed:
            self.models.list_models(machine.models)
        self.device_choice.clear()
        self.device_choice.addItem(f"Automatic — {machine.best_device.label}", "auto")
        for device in machine.devices:
            self.device_choice.addItem(device.label, device.key)
        self._select(self.device_choice, self.workspace.settings.value("train/device", "auto"))
        if not any(device.is_gpu for device in machine.devices):
            self.device_choice.setToolTip("No GPU was found, so training runs on the CPU: expect minutes for rough "
                                          "shapes, hours for detail. A CUDA build of PyTorch with an NVIDIA GPU, "
                                          "or a Mac with Apple silicon, is many times faster.")

    def _probe_failed(self, message: str) -> None:
        self.banner.show_message(f"The training devices could not be listed: {message}", "warning")

    def build_config(self) -> RunConfig:
        """The run config the form describes, with the chosen dataset."""
        self.models.ensure_listed()
        config = RunConfig()
        config.data = self.workspace.data_config()
        config.data.augment = self.augment_choice.currentData()
        config.model.name = self.model_choice.currentData()
        config.model.options = self.model_options.values()
        train = config.train
        kind = self.length_choice.currentData()
        value = self.length_value.value()
        if kind == "minutes":
            train.minutes = float(value)
        elif kind == "epochs":
            train.epochs = int(value)
        elif kind == "steps":
            train.steps = int(value)
        train.batch_size = self.batch_size.value()
        train.lr_g = round(self.lr_g.value(), 8)
        train.lr_d = round(self.lr_d.value(), 8)
        train.device = self.device_choice.currentData() or "auto"
        train.precision = self.precision_choice.currentData()
        train.seed = self.seed.value()
        config.run.sample_every_epochs = self.sample_every.value()
        config.run.checkpoint_every_minutes = float(self.checkpoint_minutes.value())
        return config.validate()

    def show_config(self, config: RunConfig) -> None:
        """Show a run's own settings in the form (for a run being continued)."""
        data = config.data
        self.dataset_title.setText("Built-in demo shapes" if data.demo else
                                   ", ".join(Path(path).name for path in data.paths))
        self.dataset_detail.setText(f"{data.size} × {data.size} px · {data.fit} · this run's own pictures")
        train = config.train
        self.models.select(config.model.name, config.model.options)
        kind = "steps" if train.steps else "epochs" if train.epochs else "minutes" if train.minutes else "auto"
        self._select(self.length_choice, kind)
        self.length_value.setProperty("kind", kind)
        self.length_value.setValue(float(train.steps or train.epochs or train.minutes or 1))
        self.batch_size.setValue(train.batch_size)
        self.lr_g.setValue(train.lr_g)
        self.lr_d.setValue(train.lr_d)
        self._select(self.augment_choice, config.data.augment)
        self._select(self.precision_choice, train.precision)
        self._select(self.device_choice, train.device)
        self.seed.setValue(min(train.seed, self.seed.maximum()))

    # -- dataset -----------------------------------------------------------------------------------

    def _refresh_dataset(self) -> None:
        data = self.workspace.dataset
        report = self.workspace.dataset_report
        self.dataset_title.setText(self.workspace.dataset_title())
        parts = [f"{data.size} × {data.size} px", data.fit]
        if report is not None:
            parts.insert(0, f"{report.usable:,} pictures")
        elif not data.demo:
            parts.insert(0, "being checked…")
        self.dataset_detail.setText(" · ".join(parts))
        if data.demo and not self.session.busy and not self.workspace.settings.value("train/has_trained", False):
            self.subtitle.setText("The built-in demo is ready: press Train to watch a GAN learn to draw shapes, "
                                  "or choose your own pictures on the Dataset page.")

    # -- running -----------------------------------------------------------------------------------

    def _connect(self) -> None:
        self._connect_session()
        self.session.state_changed.connect(self._state_changed)
        self.workspace.dataset_changed.connect(self._refresh_dataset)
        self.workspace.dataset_scanned.connect(self._refresh_dataset)

    def start(self) -> bool:
        """Start a new run with the form's settings; refused (False) while one is running."""
        if self.session.busy:
            self.workspace.say("A run is already going; stop it before starting another.")
            return False
        try:
            config = self.build_config()
        except Exception as exc:  # a ConfigError sentence, or a bad value the form let through
            self.banner.show_message(str(exc), "error")
            return False
        self.save_settings()
        self.workspace.settings.set_value("train/has_trained", True)
        self.banner.hide()
        self._clear_live()
        self.run_title.setText("Starting…")
        self.run_detail.setText("")
        self.progress_text.setText("Getting the pictures ready…")
        return self.session.start(config)

    def continue_run(self, run_dir: str, targets: dict | None = None) -> bool:
        """Resume a saved run: show its history first, then train on from its latest checkpoint."""
        if self.session.busy:
            self.workspace.say("A run is already going; stop it before continuing another.")
            return False
        folder = RunFolder(run_dir)
        try:
            config = folder.load_config()
        except Exception as exc:
            self.banner.show_message(str(exc), "error")
            return False
        self.banner.hide()
        self._clear_live()
        self.show_config(config)
        return self._replay_then_resume(folder, targets)

    def _clear_live(self) -> None:
        self.started = None
        self.plot.clear()
        self.gallery.clear()
        self.progress.setValue(0)
        self.progress.setRange(0, 1000)

    def _set_running(self, running: bool) -> None:
        """Lock what cannot change mid-run; the buttons follow the session's state."""
        self.settings_widget.setEnabled(not running)
        self.locked_note.setVisible(running)
        self.start_button.setEnabled(not running)
        state = self.session.state
        own = self.session.owner == self.key  # a run of the Image to image page is paused and stopped there
        self.pause_button.setEnabled(running and own and state in ("training", "paused"))
        self.stop_button.setEnabled(running and own and state in ("preparing", "training", "paused"))
        if not running:
            self._show_paused(False)

    def _state_changed(self, state: str) -> None:
        self._set_running(state != "idle")

    def _show_paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(icon("play" if paused else "pause"))
        self.pause_button.setToolTip("Carry on training (Ctrl+P)" if paused else
                                     "Pause after the current step; nothing is lost (Ctrl+P)")
        self.pause_button.setEnabled(self.session.state in ("training", "paused"))
        if paused:
            self.progress_text.setText("Paused. Press Resume to carry on.")
            self.workspace.say("Training paused.", 0)
        elif self.session.state == "training":
            self.workspace.say("Training resumed.")

    def _data_progress(self, event: ev.DataProgress) -> None:
        verb = {"decoding": "Preparing pictures", "drawing": "Drawing the demo shapes"}.get(event.stage, "Preparing")
        self.progress_text.setText(f"{verb}: {event.done:,} of {event.total:,}")
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)

    def _dataset_ready(self, event: ev.DatasetReady) -> None:
        source = "from the cache" if event.from_cache else f"in {event.seconds:.1f} s"
        self.progress_text.setText(f"{event.usable:,} pictures ready ({source}); building the networks…")

    def _run_started(self, event: ev.RunStarted) -> None:
        self._show_run_started(event, f"{event.dataset_size:,} pictures · batch {event.batch_size}")

    def _steps(self, steps: tuple[ev.StepProgress, ...]) -> None:
        self._show_steps(steps, speed_decimals=0)

    ready_words = "The model is ready to make pictures."

    def _finished_actions(self, run_dir: str) -> list:
        return [("Make pictures", lambda: self.workspace.generate_requested.emit(run_dir)),
                ("Train longer", lambda: self.workspace.run_opened.emit(run_dir))]

    def _failed(self, message: str) -> None:
        if not self.banner.isVisible() or self.banner.message() != message:
            self.banner.show_message(message, "error")
        self.progress_text.setText("Training could not go on.")

    @property
    def running(self) -> bool:
        return self.session.busy
