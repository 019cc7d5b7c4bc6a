"""What every page that trains shares: one start / continue / pause / stop lifecycle and the live-run view.

`TrainingPage` is the base of those pages. A page builds its settings (a SettingsTable of generic rows,
a ModelPicker of the model's own), says how its form becomes a RunConfig, and shows its own events
(how its pictures are prepared, what its runs are ready for); starting, continuing, locking the form,
Pause/Resume, Stop, failures and the status card, loss plot and gallery are done here, once.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QSplitter, QToolButton, QVBoxLayout, QWidget

from ...core import events as ev
from ...core.config import RunConfig
from ...core.replay import replay_run, sample_files
from ...core.runs import RunFolder
from ...core.sinks import epochs_done, format_speed
from ..probe import MachineInfo, probe_machine
from ..resources import icon
from ..widgets.common import button, card, label
from ..widgets.gallery import SampleGallery
from ..widgets.metrics_plot import MetricsPlot
from ..workspace import Workspace

LOCKED_WORDS = "Settings are locked while training. Stop the run to change them."
PAUSED_WORDS = "Paused. Press Resume to carry on."
RESUMED_WORDS = "Resumed: the next steps are on their way…"
PAUSE_TIP = "Pause after the current step; nothing is lost (Ctrl+P)"
RESUME_TIP = "Carry on training (Ctrl+P)"


def tidy_target(target: str) -> str:
    """'19.1857 minutes' reads as '19.2 minutes'."""
    return re.sub(r"\d+\.\d{2,}", lambda match: f"{float(match.group()):.1f}", target)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def finished_words(event: ev.RunFinished) -> str:
    """How a run that ended well reads in the app: how far it got (the CLI's words name commands instead)."""
    if event.reason == "time_limit":
        return f"Time is up after {format_minutes(event.elapsed_seconds)} of training: step {event.step:,}."
    return f"Finished: {event.step:,} steps, {epochs_done(event.epoch)}."


def format_minutes(seconds: float) -> str:
    minutes = seconds / 60
    return "1 minute" if round(minutes, 1) == 1 else f"{minutes:.1f} minutes"


class TrainingPage(QWidget):
    """A page that trains runs of its own (`key`), one at a time through the workspace's session.

    A page sets `settings_table` and `models` in its build, and gives `build_config`; `settings_prefix`
    is where its settings are remembered. `usual_subtitle` replaces a first-run invitation once a run
    starts or continues; `no_gpu_tip` is the device tooltip on a machine without a GPU. `ready_words` and
    `_finished_actions` say what a finished run is ready for on this page. `started` is the RunStarted
    event of the run on show (None before one).
    """

    key = ""
    title = ""
    settings_prefix = ""
    usual_subtitle = ""
    no_gpu_tip = ""
    ready_words = ""
    _titles: dict[str, str] = {}  # each training page's title by key, to say where another page's run is

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.key:
            TrainingPage._titles[cls.key] = cls.title

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace
        self.session = workspace.session
        self.machine: MachineInfo | None = None
        self.started: ev.RunStarted | None = None

    def build_config(self) -> RunConfig:
        """The run config the page's form describes."""
        raise NotImplementedError

    def not_ready_reason(self) -> str:
        """Why training cannot start yet, in a sentence; empty when it can."""
        return ""

    def _run_coming(self, continuing: bool) -> None:
        """What the page does just before a run of its own starts or continues."""

    def _run_buttons(self, start_tip: str) -> tuple[QPushButton, QPushButton, QPushButton]:
        """Train, Pause and Stop, for the page's header."""
        self.start_button = button("Train", "play", primary=True, on_click=self.start, tooltip=start_tip)
        self.start_button.setMinimumWidth(110)
        self.pause_button = button("Pause", "pause", on_click=self.toggle_pause, tooltip=PAUSE_TIP)
        self.stop_button = button("Stop", "stop", on_click=self.stop,
                                  tooltip="Stop after the current step and save a checkpoint; you can continue "
                                          "later from the Runs page (Ctrl+.)")
        return self.start_button, self.pause_button, self.stop_button

    # -- settings ----------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        self.settings_table.restore()

    def save_settings(self) -> None:
        self.models.save()
        self.settings_table.save()

    def show_config(self, config: RunConfig) -> None:
        """Show a run's own settings in the form (for a run being continued)."""
        self.models.select(config.model.name, config.model.options)
        self.settings_table.show_config(config)

    def _probe_machine(self) -> None:
        self.workspace.io_tasks.submit(lambda task: probe_machine(), self._machine_probed, self._probe_failed,
                                       name="probe", writes=False)

    def _machine_probed(self, machine: MachineInfo) -> None:
        """List the models and the devices the start-up probe found."""
        self.machine = machine
        self.workspace.torch_build_known.emit(machine.torch_build)
        if not self.models.listed:
            self.models.list_models(machine.models)
        devices = [("auto", f"Automatic — {machine.best_device.label}")]
        devices += [(device.key, device.label) for device in machine.devices]
        no_gpu = not any(device.is_gpu for device in machine.devices)
        self.settings_table.set_choices("device", devices, self.no_gpu_tip if no_gpu else None)

    def _probe_failed(self, message: str) -> None:
        self.banner.show_message(f"The training devices could not be listed: {message}", "warning")

    # -- the lifecycle -----------------------------------------------------------------------------

    def start(self, config: RunConfig | None = None) -> bool:
        """Train a new run with the form's settings (or `config`); refused (False) while any run is going."""
        if self.session.busy:
            self.workspace.say("A run is already going; stop it before starting another.", page=self.key)
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
        self.workspace.settings.set_value(f"{self.settings_prefix}/has_trained", True)
        self._run_coming(continuing=False)
        self.banner.hide()
        self._clear_live()
        self.run_title.setText("Starting…")
        self.progress_text.setText("Getting the pictures ready…")
        return self.session.start(config, owner=self.key)

    def continue_run(self, run_dir: str, targets: dict | None = None) -> bool:
        """Resume a saved run: show its settings and history first, then train on from its latest checkpoint."""
        if self.session.busy:
            self.workspace.say("A run is already going; stop it before continuing another.", page=self.key)
            return False
        folder = RunFolder(run_dir)
        try:
            config = folder.load_config()
        except Exception as exc:
            self.banner.show_message(str(exc), "error")
            return False
        self._run_coming(continuing=True)
        self.banner.hide()
        self._clear_live()
        self.show_config(config)
        return self._replay_then_resume(folder, targets)

    def _clear_live(self) -> None:
        self.started = None
        self.plot.clear()
        self.gallery.clear()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.run_detail.setText("")

    def _set_running(self, running: bool) -> None:
        """Lock what cannot change mid-run (whichever page started it); the buttons follow the session's state."""
        self.settings_widget.setEnabled(not running)
        self.locked_note.setVisible(running)
        self.start_button.setEnabled(not running)
        state = self.session.state
        own = self.session.owner == self.key  # another page's run is paused and stopped there
        self.pause_button.setEnabled(running and own and state in ("training", "paused"))
        self.stop_button.setEnabled(running and own and state in ("preparing", "training", "paused"))
        owner = self._titles.get(self.session.owner, "")
        if running and not own and owner:
            self.locked_note.setText(f"A run is training on the {owner} page; settings here unlock when it ends.")
        else:
            self.locked_note.setText(LOCKED_WORDS)
        if not running:
            self._show_paused(False)

    def _state_changed(self, state: str) -> None:
        self._set_running(state != "idle")

    def _show_paused(self, paused: bool) -> None:
        """Pause or Resume on the button, and the status line to match: a resumed run no longer reads as paused."""
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(icon("play" if paused else "pause"))
        self.pause_button.setToolTip(RESUME_TIP if paused else PAUSE_TIP)
        own = self.session.owner == self.key
        self.pause_button.setEnabled(own and self.session.state in ("training", "paused"))
        if paused:
            self.progress_text.setText(PAUSED_WORDS)
            self.workspace.say("Training paused.", 0, page=self.key)
        elif own and self.session.state == "training":
            # The next step's progress replaces this; until then the line must not still say Paused.
            self.progress_text.setText(RESUMED_WORDS)
            self.workspace.say("Training resumed.", page=self.key)

    def _failed(self, message: str) -> None:
        if self.banner.message() != message:
            self.banner.show_message(message, "error")
        self.progress_text.setText("Training could not go on.")

    # -- what a run of this page shows -------------------------------------------------------------

    def _finished_actions(self, run_dir: str) -> list:
        """(button text, callable) pairs offered once a run of this page has finished."""
        return []

    def _after_finished(self, event: ev.RunFinished, run_dir: str) -> None:
        """What else this page does when one of its runs ends."""

    def _run_finished(self, event: ev.RunFinished) -> None:
        """Say how the run ended, offer what comes next, and let the lists of runs refresh."""
        run_dir = event.run_dir or (str(self.session.run_dir) if self.session.run_dir is not None else "")
        if event.reason in ("error", "diverged"):
            self.banner.show_message(event.message, "error")
            self.progress_text.setText("Training stopped with a problem.")
            self.workspace.say("Training stopped with a problem.", 0, page=self.key)
        elif event.reason in ("completed", "time_limit"):
            self.progress.setValue(1000)
            text = finished_words(event)
            self.progress_text.setText(text)
            actions = self._finished_actions(run_dir) if run_dir else []
            self.banner.show_message(f"{text} {self.ready_words}".strip(), "info", actions)
            self.workspace.say(text, 0, page=self.key)
        else:
            text = f"Stopped at step {event.step:,}; a checkpoint is saved, so you can continue it from the Runs page."
            self.progress_text.setText(text)
            self.workspace.say(text, 0, page=self.key)
        self._after_finished(event, run_dir)
        if not self.workspace.closing:
            # Closing the window keeps the mark, so the next start offers to continue the run.
            self.workspace.settings.remove("session/active_run")
        self.workspace.runs_changed.emit()

    def _build_live(self, plot_share: list[int]) -> QWidget:
        """The run's status card above the loss plot and the gallery, split in `plot_share` proportions."""
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.setContentsMargins(8, 0, 0, 0)
        column.setSpacing(8)
        status = card()
        status_layout = QVBoxLayout(status)
        status_layout.setContentsMargins(14, 10, 14, 12)
        status_layout.setSpacing(6)
        top = QHBoxLayout()
        self.run_title = label("No run yet", "h2")
        self.run_detail = label("", "muted")
        top.addWidget(self.run_title)
        top.addWidget(self.run_detail, 1)
        self.open_run_button = QToolButton()
        self.open_run_button.setIcon(icon("reveal"))
        self.open_run_button.setToolTip("Show this run on the Runs page")
        self.open_run_button.clicked.connect(self._open_current_run)
        self.open_run_button.setEnabled(False)
        top.addWidget(self.open_run_button)
        status_layout.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        status_layout.addWidget(self.progress)
        self.progress_text = label("Press Train to begin.", None)
        status_layout.addWidget(self.progress_text)
        column.addWidget(status)

        split = QSplitter(Qt.Orientation.Horizontal)
        plot_card = card()
        plot_layout = QVBoxLayout(plot_card)
        plot_layout.setContentsMargins(10, 8, 10, 8)
        plot_layout.addWidget(label("Losses", "h2"))
        self.plot = MetricsPlot()
        plot_layout.addWidget(self.plot, 1)
        gallery_card = card()
        gallery_layout = QVBoxLayout(gallery_card)
        gallery_layout.setContentsMargins(10, 8, 10, 8)
        gallery_layout.addWidget(label("Samples", "h2"))
        self.gallery = SampleGallery(self.workspace.io_tasks)
        gallery_layout.addWidget(self.gallery, 1)
        split.addWidget(plot_card)
        split.addWidget(gallery_card)
        split.setSizes(plot_share)
        split.setChildrenCollapsible(False)
        self.live_splitter = split
        column.addWidget(split, 1)
        return panel

    def _connect_session(self) -> None:
        """Show the session's events on this page, for the runs this page started only."""
        session = self.session
        mine = self._only_own_runs
        session.run_started.connect(mine(self._run_started))
        session.steps_progressed.connect(mine(self._show_steps))
        session.metric_measured.connect(mine(lambda event: self.plot.append_metrics([event])))
        session.samples_saved.connect(mine(lambda event: self.gallery.add_live(event.epoch, event.step, event.path,
                                                                               event.grid)))
        session.data_progressed.connect(mine(self._data_progress))
        session.dataset_ready.connect(mine(self._dataset_ready))
        session.checkpoint_saved.connect(mine(lambda event: self.workspace.say(
            f"Checkpoint saved at step {event.step:,} ({event.seconds:.1f} s).", page=self.key)))
        session.paused.connect(mine(lambda event: self._show_paused(True)))
        session.resumed.connect(mine(lambda event: self._show_paused(False)))
        session.warning_raised.connect(mine(lambda event: self.banner.show_message(event.message, "warning")))
        session.run_finished.connect(mine(self._run_finished))
        session.failed.connect(mine(self._failed))
        session.state_changed.connect(self._state_changed)  # every page locks its form while any run trains

    def _only_own_runs(self, slot):
        """`slot`, called only for runs this page started: each training page shows its own runs."""
        return lambda *args: slot(*args) if self.session.owner == self.key else None

    def _show_run_started(self, event: ev.RunStarted, pictures: str) -> None:
        """Name the run, set up its plot (cut back to the checkpoint when continuing) and say it has begun."""
        self.started = event
        # The bar showed how far the pictures were prepared (full once they were); now it is the run's share.
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * event.start_step / event.total_steps) if event.total_steps else 0)
        self.run_title.setText(event.run_name)
        self.run_detail.setText(f"  {event.device} · {pictures} · target {tidy_target(event.target)}")
        self.open_run_button.setEnabled(True)
        self.plot.set_series(event.loss_names, event.stat_names, event.metric_names)
        self.gallery.set_row_names(event.visual_names)
        # What core.replay does with this RunStarted in metrics.jsonl, so the page shows what the Runs page
        # will: a continue, even from step 0, trains the steps after its start again.
        self.plot.truncate_after(event.start_step)
        self.gallery.drop_after(event.start_step)
        verb = "Continuing" if event.start_step else "Training"
        self.subtitle.setText(self.usual_subtitle)
        self.progress_text.setText(f"{verb}: the first steps are on their way…")
        self.workspace.settings.set_value("session/active_run", event.run_dir)
        self.workspace.say(f"{verb} {event.run_name} on {event.device}.", page=self.key)
        self.workspace.runs_changed.emit()

    def _show_steps(self, steps: tuple[ev.StepProgress, ...]) -> None:
        """Plot new steps and show the newest as progress: epoch, step, speed, time left and trained."""
        self.plot.append_steps(steps)
        last = steps[-1]
        started = self.started
        fraction = None
        if last.eta_seconds is not None and last.elapsed_seconds + last.eta_seconds > 0:
            fraction = last.elapsed_seconds / (last.elapsed_seconds + last.eta_seconds)
        elif started is not None and started.total_steps:
            fraction = last.step / started.total_steps
        if fraction is not None:
            self.progress.setValue(int(1000 * min(1.0, fraction)))
        if started is not None and started.total_steps:
            # Epochs counted out of the total: an epoch's own share ("Epoch 21 (21%)") read as the run's.
            epochs = -(-started.total_steps // max(1, started.steps_per_epoch))
            parts = [epochs_done(last.epoch, max(epochs, last.epoch)), f"step {last.step:,} of {started.total_steps:,}"]
        else:
            parts = [epochs_done(last.epoch), f"step {last.step:,}"]
        parts.append(format_speed(last.images_per_second))
        if last.eta_seconds is not None:
            parts.append(f"{format_duration(last.eta_seconds)} left")
        parts.append(f"{format_duration(last.elapsed_seconds)} trained")
        if self.session.state != "stopping":
            self.progress_text.setText("  ·  ".join(parts))

    def _replay_then_resume(self, folder: RunFolder, targets: dict | None) -> bool:
        """Show a saved run's loss history and gallery (read on a worker), then continue it from its latest
        checkpoint for this page, to its own target or the given one (epochs, steps or minutes)."""
        self.run_title.setText(folder.name)
        self.progress_text.setText("Reading the run's history…")
        self._set_running(True)
        targets = dict(targets or {})

        def history(task):
            standing = replay_run(folder.metrics_path)
            return standing, sample_files(folder, standing)

        def loaded(replayed) -> None:
            standing, samples = replayed
            if standing.started is not None:
                started = standing.started
                self.plot.set_series(started.loss_names, started.stat_names, started.metric_names)
                self.plot.append_steps(standing.steps)
                self.plot.append_metrics(standing.metrics)
                self.gallery.set_row_names(started.visual_names)
            self.gallery.load_samples(samples)
            self.progress_text.setText("Loading the checkpoint…")
            if not self.session.resume(folder.path, owner=self.key, **targets):
                self._set_running(False)

        def failed(message: str) -> None:
            self._set_running(False)
            self.banner.show_message(message, "error")

        self.workspace.io_tasks.submit(history, loaded, failed, name="history", writes=False)
        return True

    def toggle_pause(self) -> None:
        state = self.session.state
        if state == "training":
            self.session.pause()
            self.pause_button.setEnabled(False)  # until the engine confirms at the end of its step
            self.progress_text.setText(self.progress_text.text() + "  — pausing…")
        elif state == "paused":
            self.session.resume_training()

    def stop(self) -> None:
        if self.session.busy:
            self.session.stop()
            self.progress_text.setText("Stopping after this step and saving a checkpoint…")
            self.workspace.say("Stopping after this step and saving a checkpoint…", 0, page=self.key)

    def _open_current_run(self) -> None:
        if self.session.run_dir is not None:
            self.workspace.run_opened.emit(str(self.session.run_dir))
