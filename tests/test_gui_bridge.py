"""The engine-to-window bridge with a fake engine: typed signals in order, one run at a time, plain errors."""

from __future__ import annotations

from conftest import tiny_config
from gui_helpers import FakeEngine, plain_sentence
from ganstudio.core.errors import DataError
from ganstudio.gui.bridge import TrainingSession


def test_engine_events_arrive_as_typed_signals_in_order(qtbot, tiny_dataset, tmp_path):
    session = TrainingSession(engine=FakeEngine(steps=12))
    seen: list[str] = []
    for name in ("data_progressed", "dataset_ready", "run_started", "steps_progressed", "epoch_ended",
                 "samples_saved", "checkpoint_saved", "run_finished"):
        getattr(session, name).connect(lambda *args, name=name: seen.append(name))
    batches = []
    session.steps_progressed.connect(batches.append)
    with qtbot.waitSignal(session.thread_ended, timeout=20_000):
        assert session.start(tiny_config(tiny_dataset, tmp_path / "run", steps=12))
    assert seen[:3] == ["data_progressed", "dataset_ready", "run_started"]
    assert seen[-2:] == ["checkpoint_saved", "run_finished"]
    assert seen.count("epoch_ended") == 2 and seen.count("samples_saved") == 2
    steps = [event.step for batch in batches for event in batch]
    assert steps == list(range(1, 13)), "every step event arrives once, oldest first"
    assert all(isinstance(batch, tuple) for batch in batches)
    assert session.state == "idle" and not session.busy


def test_start_cannot_run_twice(qtbot, make_window, tiny_dataset):
    window = make_window(tiny_dataset, engine=FakeEngine(steps=10_000, hold_at_step=3))
    page = window.train_page
    with qtbot.waitSignal(window.workspace.session.run_started, timeout=20_000):
        assert page.start()
    assert not page.start_button.isEnabled()
    assert not page.start(), "a second start while training is refused"
    assert not window.workspace.session.start(page.build_config())
    assert not page.settings_widget.isEnabled(), "settings that cannot change mid-run are locked"
    assert window.dataset_page.locked
    with qtbot.waitSignal(window.workspace.session.thread_ended, timeout=20_000):
        page.stop()
    assert page.start_button.isEnabled() and page.settings_widget.isEnabled() and not window.dataset_page.locked


def test_pause_and_stop_reach_the_engine(qtbot, make_window, tiny_dataset):
    window = make_window(tiny_dataset, engine=FakeEngine(steps=100_000, step_seconds=0.005))
    page, session = window.train_page, window.workspace.session
    with qtbot.waitSignal(session.steps_progressed, timeout=20_000):
        page.start()
    with qtbot.waitSignal(session.paused, timeout=10_000):
        page.toggle_pause()
    assert session.state == "paused" and page.pause_button.text() == "Resume"
    with qtbot.waitSignal(session.resumed, timeout=10_000):
        page.toggle_pause()
    assert page.pause_button.text() == "Pause"
    with qtbot.waitSignal(session.run_finished, timeout=10_000) as finished:
        page.stop()
    assert finished.args[0].reason == "stopped"


def test_a_failing_run_shows_one_plain_sentence(qtbot, make_window, tiny_dataset):
    window = make_window(tiny_dataset, engine=FakeEngine(fail_with=DataError("The pictures went away.")))
    with qtbot.waitSignal(window.workspace.session.thread_ended, timeout=20_000):
        window.train_page.start()
    assert window.train_page.banner.message() == "The pictures went away."

    window.workspace.session._engine = FakeEngine(fail_with=RuntimeError("index 7 out of range"))
    with qtbot.waitSignal(window.workspace.session.failed, timeout=20_000) as failed:
        window.train_page.start()
    message = failed.args[0]
    assert plain_sentence(message) and "Something went wrong" in message and "log" in message
    qtbot.waitUntil(lambda: not window.workspace.session.busy, timeout=20_000)


def test_the_first_run_invitation_gives_way_once_training_starts(qtbot, make_window):
    window = make_window(dataset=None, engine=FakeEngine(steps=10))
    page = window.train_page
    assert page.subtitle.text().startswith("The built-in demo is ready")
    assert not page.settings_table.row_shown("length_amount"), "Automatic needs no amount, nor its empty row"
    page.settings_table["length"].setCurrentIndex(page.settings_table["length"].findData("steps"))
    assert page.settings_table.row_shown("length_amount")
    with qtbot.waitSignal(window.workspace.session.thread_ended, timeout=20_000):
        assert page.start()
    assert page.subtitle.text() == page.usual_subtitle


def test_continuing_a_run_also_ends_the_first_run_invitation(qtbot, make_window, tmp_path):
    window = make_window(dataset=None, engine=FakeEngine(steps=10))
    page, session = window.train_page, window.workspace.session
    with qtbot.waitSignal(session.thread_ended, timeout=20_000):
        assert session.start(tiny_config(tmp_path, tmp_path / "run", steps=10))
    page.subtitle.setText("The built-in demo is ready: press Train")  # as on a machine that never trained
    with qtbot.waitSignal(session.run_started, timeout=20_000):
        assert page.continue_run(str(tmp_path / "run"), {"steps": 20})
    assert page.subtitle.text() == page.usual_subtitle
    qtbot.waitUntil(lambda: not session.busy, timeout=20_000)
