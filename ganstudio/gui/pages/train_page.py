"""The Train page: settings that matter with plain-word tooltips, Start/Pause/Stop, and the run as it happens.

Everything live arrives through the TrainingSession's signals: the progress line from step events,
the plot from the same events (buffered, redrawn on its own timer), the gallery from sample events.
The generic settings are the rows of SETTINGS; the model's own come from its declarations.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QToolButton, QWidget

from ...core import events as ev
from ...core.config import RunConfig
from ...core.registry import GENERATE
from ..widgets.common import button, label, settings_column
from ..widgets.forms import ModelOptionsForm, ModelPicker, field_label, growing_form, shrinkable_combo
from ..widgets.page_frame import page_frame, side_by_side
from ..widgets.settings_table import CHOICE, FLOAT, INT, Length, Setting, SettingsTable
from ..workspace import Workspace
from .training import TrainingPage

SUBTITLE = "Choose a few settings, press Train, and watch the network learn."
AUGMENT_WORDS = (("flip", "Automatic: mirroring, DiffAugment as needed"), ("none", "None"),
                 ("diff", "DiffAugment always"), ("diff+flip", "DiffAugment always, and mirroring"))
PRECISION_WORDS = (("auto", "Automatic"), ("fp32", "Full (fp32)"), ("bf16", "bfloat16"), ("fp16", "float16"))
# In the order shown: "main" rows under Training, "advanced" ones under Advanced settings.
SETTINGS = (
    Length("How long to train. Automatic: about 300,000 pictures shown to the network (the demo: 4 minutes on a "
           "CPU). You can always stop early or continue later.", {"minutes": 10, "epochs": 50, "steps": 5000}),
    Setting("batch_size", "train.batch_size", INT, "Batch size",
            "Pictures per training step. Automatic: 64 on a GPU, 16 on a CPU, where more, smaller steps learn "
            "faster. Lower it if the GPU runs out of memory.", 0, maximum=4096, special="Automatic"),
    Setting("device", "train.device", CHOICE, "Device", "Where to train. A GPU is many times faster than the CPU.",
            "auto", items=(("auto", "Automatic (looking…)"),)),
    Setting("lr_g", "train.lr_g", FLOAT, "Generator rate",
            "How big a step the generator (the artist, G in the plots) takes when it learns. Too high and "
            "training becomes unstable; 0.0002 is the classic value.", 0.0002, minimum=0.00001, maximum=0.01, decimals=5,
            step=0.00005, place="advanced"),
    Setting("lr_d", "train.lr_d", FLOAT, "Discriminator rate",
            "How big a step the discriminator takes when it learns: the critic that tells real pictures from "
            "made ones, D in the plots.", 0.0002, minimum=0.00001,
            maximum=0.01, decimals=5, step=0.00005, place="advanced"),
    Setting("augment", "data.augment", CHOICE, "Augment",
            "Variations shown to the discriminator (D, the critic) so it cannot memorise a small dataset. "
            "Automatic mirrors pictures left-right and adds DiffAugment (colour, shift, cutout) as strongly as "
            "the discriminator needs.", "flip", items=AUGMENT_WORDS, place="advanced"),
    Setting("precision", "train.precision", CHOICE, "Precision",
            "Number precision. Automatic uses fast mixed precision on GPUs and on CPUs with bfloat16 instructions.",
            "auto", items=PRECISION_WORDS, place="advanced"),
    Setting("seed", "train.seed", INT, "Seed", "The same seed and settings give the same run, picture for picture.",
            0, maximum=2_000_000_000, place="advanced"),
    Setting("sample_every", "run.sample_every_epochs", INT, "Samples",
            "Also draw a sample grid for the gallery every this many epochs. A grid comes 20 seconds into "
            "training and then every minute either way.",
            0, maximum=10_000, suffix=" epochs", special="By time only", place="advanced"),
    Setting("checkpoint_minutes", "run.checkpoint_every_minutes", FLOAT, "Checkpoint",
            "How often the whole training state is saved. One is always saved when training stops.", 10.0,
            minimum=0.5, maximum=600, suffix=" min", place="advanced"),
)


class TrainPage(TrainingPage):
    key = "train"
    title = "Train"
    icon_name = "train"
    settings_prefix = "train"
    usual_subtitle = SUBTITLE
    no_gpu_tip = ("No GPU was found, so training runs on the CPU: expect minutes for rough shapes, hours for "
                  "detail. A CUDA build of PyTorch with an NVIDIA GPU, or a Mac with Apple silicon, is many "
                  "times faster.")
    ready_words = "The model is ready to make pictures."

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self._build()
        self._restore_settings()
        self._connect()
        self._refresh_dataset()
        self._set_running(False)
        self._probe_machine()

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        frame = page_frame(self, "Train", SUBTITLE,
                           self._run_buttons("Start training with these settings (Ctrl+Enter)"))
        self.subtitle, self.banner = frame.subtitle, frame.banner
        self.splitter = side_by_side(self._build_settings(), self._build_live(plot_share=[520, 420]), [350, 900])
        frame.column.addWidget(self.splitter, 1)

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
        model_form = growing_form()
        model_form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.model_choice = shrinkable_combo()
        self.model_choice.setToolTip("The kind of network that learns to make pictures like yours.")
        model_form.addRow(field_label("Model"), self.model_choice)
        column.addLayout(model_form)

        column.addWidget(label("Training", "h2"))
        training_form = growing_form()
        column.addLayout(training_form)

        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        column.addWidget(self.advanced_toggle)
        self.advanced = QFrame()
        advanced_form = growing_form(self.advanced)
        advanced_form.setContentsMargins(0, 0, 0, 0)
        self.settings_table = SettingsTable(SETTINGS, self.workspace.settings, self.settings_prefix)
        self.settings_table.build({"main": training_form, "advanced": advanced_form})
        self.advanced.hide()
        column.addWidget(self.advanced)
        # The chosen model's own settings: its main ones under Model, its advanced ones in Advanced.
        self.model_options = ModelOptionsForm(model_form, advanced_form)
        # Before each model kept its own settings, the page stored them under train/ directly.
        self.models = ModelPicker(GENERATE, self.model_choice, self.model_options, self.workspace.settings, "train",
                                  legacy_prefix="train")
        self.locked_note = label("", "muted", wrap=True)
        column.addWidget(self.locked_note)
        column.addStretch(1)

        return panel

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    # -- settings ----------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        super()._restore_settings()
        self.advanced_toggle.setChecked(self.workspace.settings.value("train/advanced_shown", False))

    def save_settings(self) -> None:
        super().save_settings()
        self.workspace.settings.set_value("train/advanced_shown", self.advanced_toggle.isChecked())

    def build_config(self) -> RunConfig:
        """The run config the form describes, with the chosen dataset."""
        self.models.ensure_listed()
        config = RunConfig()
        config.data = self.workspace.data_config()
        config.model.name = self.models.name
        config.model.options = self.model_options.values()
        self.settings_table.write(config)
        return config.validate()

    def show_config(self, config: RunConfig) -> None:
        """Show a run's own settings and pictures in the form (for a run being continued)."""
        data = config.data
        self.dataset_title.setText("Built-in demo shapes" if data.demo else
                                   ", ".join(Path(path).name for path in data.paths))
        self.dataset_detail.setText(f"{data.size} × {data.size} px · {data.fit} · this run's own pictures")
        super().show_config(config)

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
        self.workspace.dataset_changed.connect(self._refresh_dataset)
        self.workspace.dataset_scanned.connect(self._refresh_dataset)

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

    def _finished_actions(self, run_dir: str) -> list:
        return [("Make pictures", lambda: self.workspace.generate_requested.emit(run_dir)),
                ("Train longer", lambda: self.workspace.run_opened.emit(run_dir))]
