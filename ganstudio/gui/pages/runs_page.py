"""The Runs page: every run in the data folder plus any opened from elsewhere; its history, gallery and actions.

A run folder written by the command line or on another computer opens the same way: the page reads
only config.json, metrics.jsonl, samples/ and checkpoints/, on a worker thread. A run still being
written (its last session has not finished: the command line, torchrun) is followed: read again
whenever its metrics.jsonl grows, so its plot and gallery move as it trains.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QSpinBox, QSplitter, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from ...core import events as ev
from ...core.config import RunConfig
from ...core.errors import ConfigError
from ...core.replay import replay_run, sample_files
from ...core.runs import RunFolder, SampleFile, list_runs
from ...core.sinks import epochs_done
from ..widgets.common import button, card, label
from .training import tidy_target
from ..widgets.gallery import SampleGallery
from ..widgets.metrics_plot import MetricsPlot
from ..widgets.page_frame import page_frame, side_by_side
from ..workspace import Workspace, is_image_to_image_model, model_label

NO_RUN_CHOSEN_WORDS = ("Choose a run in the list to see its losses and samples, to continue its training or to make "
                       "pictures with it.")
NO_RUNS_WORDS = ("A run chosen in the list shows here: its settings, losses and sample grids, with buttons to "
                 "continue its training or to make pictures with it.")

# How often a followed run's metrics.jsonl is looked at (one stat of the file; it is read only when it changed).
# Step events are written every quarter second or so, sample grids every few epochs: 2 s keeps the plot
# current without rereading a long history more than needed.
FOLLOW_INTERVAL_MS = 2000

CONTINUE_CHOICES = {"target": "to its own target", "epochs": "for more epochs", "minutes": "for more minutes"}


@dataclass
class RunRow:
    path: str
    name: str
    dataset: str
    size: int
    model: str
    last_step: int | None
    modified: float


@dataclass
class RunDetails:
    folder: RunFolder
    config: RunConfig
    started: ev.RunStarted | None
    steps: list[ev.StepProgress] = field(default_factory=list)
    metrics: list[ev.MetricMeasured] = field(default_factory=list)
    finished: ev.RunFinished | None = None
    last_checkpoint: ev.CheckpointSaved | None = None
    checkpoints: int = 0
    samples: list[SampleFile] = field(default_factory=list)


def gather_runs(extra: list[str]) -> list[RunRow]:
    rows = [RunRow(str(s.path), s.name, s.dataset, s.size, s.model, s.last_step, s.modified) for s in list_runs()]
    known = {row.path for row in rows}
    for path in extra:
        folder = RunFolder(path)
        if str(folder.path) in known or not folder.is_run():
            continue
        try:
            config = folder.load_config()
        except ConfigError:
            continue
        checkpoints = folder.checkpoints()
        modified = max((p.stat().st_mtime for p in (folder.metrics_path, folder.config_path) if p.exists()),
                       default=0.0)
        dataset = "demo" if config.data.demo else ", ".join(Path(p).name for p in config.data.paths)
        rows.append(RunRow(str(folder.path), folder.name, dataset, config.data.size, config.model.name,
                           checkpoints[-1][0] if checkpoints else None, modified))
        known.add(str(folder.path))
    return sorted(rows, key=lambda row: row.modified, reverse=True)


def read_details(path: str) -> RunDetails:
    folder = RunFolder(path)
    config = folder.load_config()
    history = replay_run(folder.metrics_path)
    return RunDetails(folder, config, history.started, steps=list(history.steps), metrics=list(history.metrics),
                      finished=history.finished,
                      last_checkpoint=history.last_checkpoint, checkpoints=len(folder.checkpoints()),
                      samples=sample_files(folder, history))


def describe_age(modified: float) -> str:
    seconds = max(0.0, time.time() - modified)
    if seconds < 90:
        return "just now"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f} h ago"
    return time.strftime("%d %b %Y", time.localtime(modified))


class RunsPage(QWidget):
    key = "runs"
    title = "Runs"
    icon_name = "runs"

    listed = Signal()
    details_shown = Signal()

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.details: RunDetails | None = None
        self._wanted: str | None = None
        self._listing = 0
        self._followed_stamp: tuple[int, int] | None = None  # size and time of the shown run's metrics.jsonl
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(FOLLOW_INTERVAL_MS)
        self._follow_timer.timeout.connect(self._look_at_followed_run)
        self._build()
        workspace.runs_changed.connect(self.refresh)
        self.refresh()

    def _build(self) -> None:
        frame = page_frame(self, "Runs", "Every training run, whether started here, on the command line or on "
                           "another computer.", (
                               button("Open run folder…", "folder", on_click=self.choose_folder,
                                      tooltip="Open a run folder from anywhere: another disk, a copy from another "
                                              "machine"),
                               button("Refresh", "refresh", on_click=self.refresh,
                                      tooltip="List the runs again (F5)")))
        self.banner = frame.banner

        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Run", "Pictures", "Size", "Step", "Changed"])
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(True)
        # A run's name starts with its date and ends with its model and size: both halves matter, so a long
        # one loses its middle, and the whole name is in the tooltip.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        columns = self.table.header()
        columns.setStretchLastSection(False)
        columns.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, 5):
            columns.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentItemChanged.connect(lambda current, previous: self._selected(current))
        self.table.itemDoubleClicked.connect(lambda item, column: self.generate())
        self.empty = label("No runs yet. Train one on the Train page, or open a run folder.", "muted", wrap=True)

        detail = card()
        column = QVBoxLayout(detail)
        column.setContentsMargins(14, 12, 14, 12)
        self.detail_title = label("Choose a run", "h2")
        self.detail_text = label(NO_RUN_CHOSEN_WORDS, "muted", wrap=True)
        self.detail_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        actions = QHBoxLayout()
        self.continue_button = button("Continue training", "play", primary=True, on_click=self.continue_training,
                                      tooltip="Train this run on from its latest checkpoint, exactly where it stopped")
        self.continue_kind = QComboBox()
        for key, words in CONTINUE_CHOICES.items():
            self.continue_kind.addItem(words, key)
        self.continue_amount = QSpinBox()
        self.continue_amount.setRange(1, 100_000)
        self.continue_amount.setValue(10)
        self.continue_kind.currentIndexChanged.connect(self._continue_kind_changed)
        self.generate_button = button("Make pictures", "generate", on_click=self.generate,
                                      tooltip="Open this run on the Generate page")
        self.reveal_button = button("Show files", "reveal", on_click=self.reveal,
                                    tooltip="Open the run folder in the file manager")
        actions.addWidget(self.continue_button)
        actions.addWidget(self.continue_kind)
        actions.addWidget(self.continue_amount)
        actions.addStretch(1)
        actions.addWidget(self.generate_button)
        actions.addWidget(self.reveal_button)
        column.addWidget(self.detail_title)
        column.addWidget(self.detail_text)
        column.addLayout(actions)
        views = QSplitter(Qt.Orientation.Horizontal)
        self.plot = MetricsPlot()
        self.gallery = SampleGallery(self.workspace.io_tasks)
        views.addWidget(self.plot)
        views.addWidget(self.gallery)
        views.setSizes([500, 400])
        column.addWidget(views, 1)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.table, 1)
        left_column.addWidget(self.empty)
        self.splitter = side_by_side(left, detail, [470, 810], takes_extra_width=False)
        frame.column.addWidget(self.splitter, 1)
        self._continue_kind_changed()
        self._enable_actions(False)

    def _continue_kind_changed(self) -> None:
        kind = self.continue_kind.currentData()
        self.continue_amount.setVisible(kind != "target")
        self.continue_amount.setSuffix(" epochs" if kind == "epochs" else " min" if kind == "minutes" else "")

    def _enable_actions(self, enabled: bool) -> None:
        has_checkpoint = enabled and self.details is not None and self.details.checkpoints > 0
        busy = self.workspace.session.busy
        for widget in (self.continue_button, self.continue_kind, self.continue_amount):
            widget.setEnabled(has_checkpoint and not busy)
        self.generate_button.setEnabled(has_checkpoint)
        self.reveal_button.setEnabled(enabled)

    # -- listing -----------------------------------------------------------------------------------

    def opened_folders(self) -> list[str]:
        return [p for p in self.workspace.settings.value("runs/opened", []) if isinstance(p, str)]

    def refresh(self) -> None:
        extra = self.opened_folders()
        self._listing += 1
        listing = self._listing
        self.workspace.io_tasks.submit(lambda task: gather_runs(extra), lambda rows: self._listed(rows, listing),
                                       lambda message: self.banner.show_message(message, "error"), name="runs",
                                       writes=False)

    def _listed(self, rows: list[RunRow], listing: int) -> None:
        if listing != self._listing:
            return  # an older listing finished after a newer one was asked for
        current = self._wanted or (self.details.folder.path.as_posix() if self.details else None)
        self.table.blockSignals(True)
        self.table.clear()
        chosen = None
        for row in rows:
            item = QTreeWidgetItem([row.name, row.dataset, f"{row.size}px",
                                    f"{row.last_step:,}" if row.last_step is not None else "—",
                                    describe_age(row.modified)])
            item.setData(0, Qt.ItemDataRole.UserRole, row.path)
            item.setToolTip(0, f"{row.name}\n{row.path}")
            self.table.addTopLevelItem(item)
            if current and Path(row.path).as_posix() == Path(current).as_posix():
                chosen = item
        self.table.blockSignals(False)
        self.empty.setVisible(not rows)
        if not rows:
            self.details = None
            self.detail_title.setText("Choose a run")
            self.detail_text.setText(NO_RUNS_WORDS)
        if chosen is None and self.table.topLevelItemCount():
            chosen = self.table.topLevelItem(0)  # the most recent run, rather than an empty page
        if chosen is not None:
            self.table.setCurrentItem(chosen)
            if self._wanted or self.details is None:
                self._selected(chosen)
        self._wanted = None
        self._enable_actions(self.details is not None)
        self.listed.emit()

    def choose_folder(self) -> None:
        start = self.workspace.settings.value("folders/runs", str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", start)
        if folder:
            self.workspace.settings.set_value("folders/runs", str(Path(folder).parent))
            self.open_folder(folder)

    def open_folder(self, folder: str) -> bool:
        """Add a run folder from anywhere to the list and show it; False (with a sentence) if it is not one."""
        run = RunFolder(folder)
        if not run.is_run():
            self.banner.show_message(f"{run.path} is not a GAN Studio run folder (it has no config.json).", "error")
            return False
        self.banner.hide()
        opened = self.opened_folders()
        if str(run.path) not in opened:
            self.workspace.settings.set_value("runs/opened", [*opened, str(run.path)][-50:])
        self._wanted = str(run.path)
        self.refresh()
        return True

    def show_run(self, folder: str) -> None:
        self._wanted = str(RunFolder(folder).path)
        self.refresh()

    # -- one run -----------------------------------------------------------------------------------

    def _selected(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        path = item.data(0, Qt.ItemDataRole.UserRole)
        self.detail_title.setText(item.text(0))
        self.detail_text.setText("Reading…")
        self.workspace.io_tasks.submit(lambda task: read_details(path), self._show_details, self._details_failed,
                                       name="run-details", writes=False)

    def _details_failed(self, message: str) -> None:
        self.detail_text.setText(message)
        self.details = None
        self._enable_actions(False)

    def _show_details(self, details: RunDetails) -> None:
        self.details = details
        config = details.config
        started = details.started
        lines = []
        image_to_image = is_image_to_image_model(config.model.name)
        if image_to_image:
            dataset = ("the demo day and night scenes" if config.data.demo else
                       f"{', '.join(config.data.paths)} → {', '.join(config.data.paths_b)}")
        else:
            dataset = "the demo shapes" if config.data.demo else ", ".join(config.data.paths)
        # An image-to-image run converts pictures on its own page rather than making new ones from seeds.
        self.generate_button.setText("Convert pictures" if image_to_image else "Make pictures")
        self.generate_button.setToolTip("Open this run on the Image to image page" if image_to_image else
                                        "Open this run on the Generate page")
        lines.append(f"{model_label(config.model.name)} · {config.data.size} × {config.data.size} px on {dataset}")
        if started is not None:
            lines.append(f"{started.dataset_size:,} pictures · batch {started.batch_size} · {started.device} · "
                         f"target {tidy_target(started.target)}")
        last = details.steps[-1] if details.steps else None
        if details.last_checkpoint is not None:
            saved = details.last_checkpoint
            trained = f", {last.elapsed_seconds / 60:.1f} min of training" if last is not None else ""
            lines.append(f"Saved at step {saved.step:,} ({epochs_done(saved.epoch)}){trained}")
        elif details.checkpoints == 0:
            lines.append("No checkpoint yet: nothing to continue or generate from.")
        if details.finished is not None:
            status = {"completed": "finished its target", "stopped": "was stopped", "time_limit": "used its time",
                      "error": "stopped with a problem", "diverged": "diverged"}.get(details.finished.reason, "")
            lines.append(f"Last session {status}.")
        lines.append(str(details.folder.path))
        self.detail_title.setText(details.folder.name)
        self.detail_text.setText("<br>".join(lines))
        finished = details.finished is not None and details.finished.reason in ("completed", "time_limit")
        self.continue_kind.setCurrentIndex(self.continue_kind.findData("epochs" if finished and
                                                                       config.train.epochs else
                                                                       "minutes" if finished else "target"))
        if started is not None:
            self.plot.set_series(started.loss_names, started.stat_names, started.metric_names)
            self.plot.clear()
            self.plot.append_steps(details.steps)
            self.plot.append_metrics(details.metrics)
            self.gallery.set_row_names(started.visual_names)
            self.plot.fit_all()
        self.gallery.load_samples(details.samples)
        self._enable_actions(True)
        self._follow(details)
        self.details_shown.emit()

    # -- following a run that is being written ------------------------------------------------------

    @property
    def following(self) -> bool:
        return self._follow_timer.isActive()

    @staticmethod
    def _stamp(folder: RunFolder) -> tuple[int, int] | None:
        try:
            info = folder.metrics_path.stat()
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns

    def _follow(self, details: RunDetails) -> None:
        """Follow the shown run while its last session has not said it finished."""
        self._followed_stamp = self._stamp(details.folder)
        if details.finished is None:
            self._follow_timer.start()
        else:
            self._follow_timer.stop()

    def _look_at_followed_run(self) -> None:
        details = self.details
        if details is None:
            self._follow_timer.stop()
            return
        stamp = self._stamp(details.folder)
        if stamp == self._followed_stamp:
            return
        self._followed_stamp = stamp
        path = str(details.folder.path)

        def read(task) -> RunDetails:
            return read_details(path)

        def shown(fresh: RunDetails) -> None:
            if self.details is not None and self.details.folder.path == fresh.folder.path:
                self._show_details(fresh)  # unless another run was chosen while this one was read

        # A read that fails (the file replaced mid-read) is simply tried again at the file's next change.
        self.workspace.io_tasks.submit(read, shown, lambda message: None, name="run-follow")

    def continue_training(self) -> None:
        if self.details is None:
            return
        kind = self.continue_kind.currentData()
        amount = self.continue_amount.value()
        targets: dict = {}
        if kind == "epochs":
            done = self.details.last_checkpoint.epoch if self.details.last_checkpoint is not None else 0
            targets["epochs"] = done + amount
        elif kind == "minutes":
            targets["minutes"] = float(amount)
        self.workspace.resume_requested.emit(str(self.details.folder.path), targets)

    def generate(self) -> None:
        if self.details is not None and self.details.checkpoints:
            self.workspace.generate_requested.emit(str(self.details.folder.path))

    def reveal(self) -> None:
        if self.details is not None:
            self.workspace.reveal(self.details.folder.path)
