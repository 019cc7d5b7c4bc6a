"""Helpers for the GUI tests: a fake engine for fast UI tests, a window factory, and real drag-and-drop."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from ganstudio.core import events as ev
from ganstudio.core.errors import GanStudioError
from ganstudio.core.export import save_png
from ganstudio.core.runs import RunFolder, new_run_folder
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import AppSettings


class FakeEngine:
    """Plays a scripted run in a few hundredths of a second; honours pause and stop like the real engine.

    `fail_with` raises that exception after the first steps, as a broken run would.
    """

    def __init__(self, steps: int = 20, steps_per_epoch: int = 5, step_seconds: float = 0.002,
                 fail_with: BaseException | None = None, hold_at_step: int | None = None):
        self.steps = steps
        self.steps_per_epoch = steps_per_epoch
        self.step_seconds = step_seconds
        self.fail_with = fail_with
        self.hold_at_step = hold_at_step
        self.calls: list[str] = []

    def run(self, config, sink, control, start_step: int = 0):
        self.calls.append("run" if not start_step else "resume")
        # Like the real engine: no run folder given means a new one under the (test's private) data folder.
        folder = RunFolder(config.run.dir) if config.run.dir else new_run_folder(config, "fake")
        folder.create_folders()
        folder.config_path.write_text(config.to_json(), encoding="utf-8")
        sink(ev.DataProgress(stage="decoding", done=40, total=40))
        sink(ev.DatasetReady(name="fake", usable=40, skipped=0, from_cache=False, seconds=0.01))
        sink(ev.RunStarted(run_dir=str(folder.path), run_name=folder.name, model="dcgan", device="CPU (fake)",
                           precision="fp32", dataset_size=40, batch_size=8, steps_per_epoch=self.steps_per_epoch,
                           start_step=start_step, start_epoch=start_step // self.steps_per_epoch,
                           target=f"{self.steps} steps", total_steps=self.steps,
                           loss_names=("D/real", "D/fake", "G/adv"), stat_names=("D(x)", "D(G(z))"),
                           visual_names=("fake",), parameters=1234))
        reason = "completed"
        step = start_step
        rng = np.random.default_rng(0)
        while step < self.steps:
            if control.stop_requested:
                reason = "stopped"
                break
            if control.paused:
                sink(ev.Paused(step=step))
                while control.paused:
                    control.wait_while_paused(0.05)
                sink(ev.Resumed(step=step))
                continue
            if self.hold_at_step is not None and step >= self.hold_at_step:
                control.wait_while_paused(0.01)
                continue
            time.sleep(self.step_seconds)
            step += 1
            epoch = step // self.steps_per_epoch
            sink(ev.StepProgress(step=step, epoch=epoch, epoch_fraction=(step % self.steps_per_epoch) / self.steps_per_epoch,
                                 images_seen=step * 8, images_per_second=400.0, elapsed_seconds=step * 0.02,
                                 eta_seconds=(self.steps - step) * 0.02,
                                 losses={"D/real": 0.7, "D/fake": 0.6, "G/adv": 1.0 + step / 100},
                                 stats={"D(x)": 0.6, "D(G(z))": 0.4}))
            if self.fail_with is not None and step == 3:
                raise self.fail_with
            if step % self.steps_per_epoch == 0:
                sink(ev.EpochEnded(epoch=epoch, step=step, seconds=0.01, losses={}, stats={}))
                grid = rng.integers(0, 256, (34, 34, 3), dtype=np.uint8)
                path = folder.samples_dir / f"epoch_{epoch:04d}.png"
                save_png(path, grid)
                sink(ev.SamplesSaved(epoch=epoch, step=step, path=str(path), grid=grid))
        checkpoint = folder.checkpoint_path(step)
        checkpoint.write_bytes(b"fake")
        sink(ev.CheckpointSaved(epoch=step // self.steps_per_epoch, step=step, path=str(checkpoint), seconds=0.0))
        sink(ev.RunFinished(reason=reason, step=step, epoch=step // self.steps_per_epoch, checkpoint=str(checkpoint),
                            message=f"Finished: {step} steps." if reason == "completed" else f"Stopped at step {step}."))

    def resume(self, run_dir, sink, control, epochs=None, steps=None, minutes=None):
        folder = RunFolder(run_dir)
        config = folder.load_config()
        start = folder.checkpoints()[-1][0] if folder.checkpoints() else 0
        if steps is not None:
            self.steps = steps
        return self.run(config, sink, control, start_step=start)


def set_dataset(settings, folder: Path | None, size: int = 32) -> None:
    """Point a window's remembered dataset at `folder` (or the demo) before it is built."""
    settings.set_value("dataset/demo", folder is None)
    settings.set_value("dataset/paths", [str(folder)] if folder is not None else [])
    settings.set_value("dataset/size", size)


def drop_paths(widget, paths: list[Path]) -> bool:
    """Drag `paths` onto `widget` and drop them, as a file manager would: real QMimeData with file URLs."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    centre = widget.rect().center()
    enter = QDragEnterEvent(QPoint(centre.x(), centre.y()), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(centre.x(), centre.y()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def plain_sentence(text: str) -> bool:
    """What the user reads must never be a traceback."""
    return "Traceback" not in text and 'File "' not in text and text.strip() != ""


__all__ = ["FakeEngine", "GanStudioError", "drop_paths", "make_window", "plain_sentence", "set_dataset"]


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Builds main windows with private settings; stops their training and workers afterwards."""
    windows = []

    def make(dataset: Path | None | str = "keep", engine=None, settings: AppSettings | None = None, size: int = 32,
             window_size: tuple[int, int] | None = (1280, 820)):
        settings = settings or AppSettings(tmp_path / "settings.ini")
        if dataset != "keep":
            set_dataset(settings, dataset, size)
        window = MainWindow(settings, engine=engine)
        qtbot.addWidget(window)
        if window_size is not None:
            window.resize(*window_size)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        session = window.workspace.session
        if session.busy:
            session.stop()
            session.wait()
        window.workspace.closing = False
        window.workspace.shutdown()
