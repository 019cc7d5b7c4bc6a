"""A continued run's history: the Runs page and the live view of the Train page show the same, never back in x."""

from __future__ import annotations

import numpy as np

from conftest import tiny_config
from gui_helpers import FakeEngine
from ganstudio.core import events as ev
from ganstudio.core.export import save_png
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import JsonlSink, TeeSink

LOSS_NAMES = ("D/real", "D/fake", "G/adv")  # what FakeEngine declares, so the continue keeps the replayed curves
STAT_NAMES = ("D(x)", "D(G(z))")
STEPS_PER_EPOCH = 5  # FakeEngine's: its sample grids are named epoch_{step // 5:04d}.png


class JsonlFakeEngine(FakeEngine):
    """FakeEngine that also appends its events to the run's metrics.jsonl, as the real engine does."""

    def run(self, config, sink, control, start_step: int = 0):
        jsonl = JsonlSink(RunFolder(config.run.dir).metrics_path)
        try:
            return super().run(config, TeeSink(jsonl, sink), control, start_step=start_step)
        finally:
            jsonl.close()


def write_segment(folder: RunFolder, sink, segment: int, start_step: int, last_step: int,
                  checkpoint_at: int | None = None) -> None:
    """One training session that crashed at `last_step`: a step event every 10 steps, a grid every 50."""
    sink(ev.RunStarted(run_dir=str(folder.path), run_name=folder.name, model="dcgan", device="CPU (fake)",
                       precision="fp32", dataset_size=40, batch_size=8, steps_per_epoch=STEPS_PER_EPOCH,
                       start_step=start_step, start_epoch=start_step // STEPS_PER_EPOCH, target="steps 400",
                       total_steps=400, loss_names=LOSS_NAMES, stat_names=STAT_NAMES, visual_names=("fake",),
                       parameters=1234))
    for step in range(start_step + 10, last_step + 1, 10):
        value = 100.0 * segment + step / 1000  # each session its own values, to tell them apart
        sink(ev.StepProgress(step=step, epoch=step // STEPS_PER_EPOCH, epoch_fraction=0.0, images_seen=step * 8,
                             images_per_second=400.0, elapsed_seconds=step * 0.02, eta_seconds=None,
                             losses=dict.fromkeys(LOSS_NAMES, value), stats=dict.fromkeys(STAT_NAMES, value)))
        if step % 50 == 0:
            epoch = step // STEPS_PER_EPOCH
            path = folder.samples_dir / f"epoch_{epoch:04d}.png"
            save_png(path, np.full((34, 34, 3), segment * 60, np.uint8))
            sink(ev.SamplesSaved(epoch=epoch, step=step, path=str(path)))
        if step == checkpoint_at:
            path = folder.checkpoint_path(step)
            path.write_bytes(b"fake")
            sink(ev.CheckpointSaved(epoch=step // STEPS_PER_EPOCH, step=step, path=str(path), seconds=0.0))


def crashed_twice(tmp_path) -> RunFolder:
    """Trained to 300 with a checkpoint at 200 and crashed; continued from 200 to 260 and crashed again."""
    folder = RunFolder(tmp_path / "run")
    folder.create_folders()
    folder.config_path.write_text(tiny_config(tmp_path, folder.path, steps=400).to_json(), encoding="utf-8")
    jsonl = JsonlSink(folder.metrics_path)
    write_segment(folder, jsonl, 1, 0, 300, checkpoint_at=200)
    write_segment(folder, jsonl, 2, 200, 260)
    jsonl.close()
    return folder


def plotted(plot) -> dict[str, tuple[list[float], list[float]]]:
    """Every curve's points; with the smoothing at 0 the drawn curve is the raw values."""
    plot.smoothing.setValue(0)
    return {name: tuple(array.tolist() for array in plot.curve_data(name)) for name in LOSS_NAMES + STAT_NAMES}


def gallery_steps(gallery) -> list[int | None]:
    return [entry.step for entry in gallery.entries]


def increasing(values: list) -> bool:
    return all(later > earlier for earlier, later in zip(values, values[1:]))


def show_on_runs_page(qtbot, runs_page, folder: RunFolder):
    with qtbot.waitSignal(runs_page.details_shown, timeout=20_000):
        if not runs_page.open_folder(str(folder.path)):
            raise AssertionError(f"{folder.path} did not open as a run")
    return plotted(runs_page.plot), gallery_steps(runs_page.gallery)


def test_a_run_continued_after_two_crashes_shows_one_history_on_both_pages(qtbot, make_window, tmp_path,
                                                                            monkeypatch):
    folder = crashed_twice(tmp_path)
    window = make_window(dataset=None, engine=JsonlFakeEngine(steps=400))
    page, runs_page, session = window.train_page, window.runs_page, window.workspace.session
    saved_curves, saved_grids = show_on_runs_page(qtbot, runs_page, folder)
    assert saved_curves["G/adv"][0][-1] == 260, "the second session's steps stand"
    assert [value for step, value in zip(*saved_curves["G/adv"]) if step > 200] == \
        [200 + step / 1000 for step in range(210, 261, 10)], "after the checkpoint, only the second session's values"
    assert saved_grids == [50, 100, 150, 200, 250], "the first session's grid at step 300 was trained again"

    # While the checkpoint loads (seconds, for a real one), the page shows the replayed history.
    shown_while_loading = {}
    resume = session.resume

    def record_then_resume(*args, **kwargs):
        shown_while_loading["curves"] = plotted(page.plot)
        shown_while_loading["grids"] = gallery_steps(page.gallery)
        return resume(*args, **kwargs)

    monkeypatch.setattr(session, "resume", record_then_resume)
    with qtbot.waitSignal(session.thread_ended, timeout=30_000):
        assert page.continue_run(str(folder.path), {"steps": 400})
    assert shown_while_loading["curves"] == saved_curves
    assert shown_while_loading["grids"] == saved_grids
    for name, (xs, _) in shown_while_loading["curves"].items():
        assert increasing(xs), f"{name} goes back in x while the checkpoint loads"

    live_curves, live_grids = plotted(page.plot), gallery_steps(page.gallery)
    finished_curves, finished_grids = show_on_runs_page(qtbot, runs_page, folder)
    assert live_curves == finished_curves
    assert live_grids == finished_grids and increasing(live_grids)
    for name, (xs, _) in live_curves.items():
        assert increasing(xs) and xs[-1] == 400, name
    xs, ys = live_curves["G/adv"]
    assert [y for x, y in zip(xs, ys) if x > 200] == [1.0 + step / 100 for step in range(201, 401)], \
        "after the checkpoint, only the last session's values"
