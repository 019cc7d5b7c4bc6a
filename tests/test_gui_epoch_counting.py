"""One epoch count everywhere (completed epochs), one speed format, and a progress bar that starts from the run."""

from __future__ import annotations

import io

from conftest import tiny_config
from ganstudio.core import events as ev
from ganstudio.core.sinks import ConsoleSink, epochs_done, format_speed
from test_gui_replay import JsonlFakeEngine


def test_the_words_for_epochs_and_speed():
    assert epochs_done(0) == "0 epochs done" and epochs_done(1) == "1 epoch done"
    assert epochs_done(1, 4) == "1 of 4 epochs done" and epochs_done(3, 1) == "3 of 1 epoch done"
    assert format_speed(0.3) == "0.3 images/s" and format_speed(9.96) == "10.0 images/s"
    assert format_speed(1234.4) == "1,234 images/s"


def test_every_part_of_the_window_counts_completed_epochs(qtbot, make_window, tiny_dataset, tmp_path):
    # Five steps an epoch, held at step 7: one epoch is done and the second is two steps in.
    engine = JsonlFakeEngine(steps=20, steps_per_epoch=5, hold_at_step=7)
    window = make_window(dataset=tiny_dataset, engine=engine)
    page, session = window.train_page, window.workspace.session
    assert session.start(tiny_config(tiny_dataset, tmp_path / "run", steps=20), owner="train")
    qtbot.waitUntil(lambda: "step 7 " in page.progress_text.text(), timeout=10_000)
    assert page.progress_text.text().startswith("1 of 4 epochs done  ·  step 7 of 20  ·  400 images/s")
    assert window.status_right.text() == "1 epoch done · step 7 · 400 images/s"
    assert window.training_badge.text() == "● Training · 1 epoch done"
    assert [entry.caption for entry in page.gallery.entries] == ["1 epoch done · step 5"]
    with qtbot.waitSignal(session.run_finished, timeout=10_000):
        session.stop()
    with qtbot.waitSignal(window.runs_page.details_shown, timeout=10_000):
        window.runs_page.open_folder(str(tmp_path / "run"))
    assert "Saved at step 7 (1 epoch done)" in window.runs_page.detail_text.text()


def test_the_command_line_counts_completed_epochs():
    out = io.StringIO()
    sink = ConsoleSink(out, step_interval=0)
    sink(ev.StepProgress(step=7, epoch=1, epoch_fraction=0.4, images_seen=56, images_per_second=3.0,
                         elapsed_seconds=2.0, eta_seconds=4.0, losses={"G": 1.0}, stats={}))
    sink(ev.EpochEnded(epoch=2, step=10, seconds=1.0, losses={"G": 1.0}, stats={}))
    sink(ev.RunFinished(reason="completed", step=10, epoch=2, checkpoint=None, run_dir="run"))
    lines = out.getvalue().splitlines()
    assert "1.40 epochs done" in lines[0]
    assert lines[1].startswith("2 epochs done at step 10")
    assert lines[2] == "Finished: 10 steps, 2 epochs done."


def test_the_progress_bar_starts_from_the_run_not_from_preparing_the_pictures(qtbot, make_window, tiny_dataset,
                                                                             tmp_path):
    engine = JsonlFakeEngine(steps=20, steps_per_epoch=5, hold_at_step=0)
    window = make_window(dataset=tiny_dataset, engine=engine)
    page, session = window.train_page, window.workspace.session
    with qtbot.waitSignal(session.run_started, timeout=10_000):
        assert session.start(tiny_config(tiny_dataset, tmp_path / "run", steps=20), owner="train")
    assert page.progress_text.text() == "Training: the first steps are on their way…"
    assert page.progress.value() == 0 and page.progress.maximum() == 1000
    with qtbot.waitSignal(session.run_finished, timeout=10_000):
        session.stop()
