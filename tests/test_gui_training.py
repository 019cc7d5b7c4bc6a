"""Real tiny training runs through the window: live plot and gallery, pause and resume, close and continue."""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_config
from ganstudio.core.registry import get_recipe
from ganstudio.core.training import meter
from ganstudio.core.runs import RunFolder
from ganstudio.gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def frequent_step_events(monkeypatch):
    # Tiny runs last about a second; a step event every 20 ms gives the plot more than one point.
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.02)


def test_a_real_run_fills_the_plot_and_the_gallery(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    page, session = window.train_page, window.workspace.session
    config = tiny_config(tiny_dataset, tmp_path / "run", epochs=3)
    config.run.sample_every_epochs = 1
    epochs = []
    session.epoch_ended.connect(lambda event: epochs.append(event.epoch))
    with qtbot.waitSignal(session.run_finished, timeout=120_000) as finished:
        assert session.start(config)
    assert finished.args[0].reason == "completed"
    assert epochs == [1, 2, 3]
    # One grid at each epoch's end; a run slower than 20 s also has grids on the schedule in time (step_*.png).
    assert [entry.epoch for entry in page.gallery.entries if entry.path.name.startswith("epoch_")] == [1, 2, 3]
    assert page.gallery.current_index == len(page.gallery.entries) - 1
    assert page.gallery.view.image() is not None and page.gallery.view.image().width() > 0
    for name in ("D/real", "D/fake", "G/adv", "D(x)", "D(G(z))"):
        x, y = page.plot.curve_data(name)
        assert len(x) >= 2 and x[-1] == 15, name
    assert "Finished" in page.progress_text.text()
    assert page.run_title.text() == "run"
    page.gallery.slider.setValue(0)
    assert page.gallery.caption.text().startswith("1 epoch done")
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)


def test_the_form_becomes_the_run_config(qtbot, make_window, tiny_dataset):
    window = make_window(dataset=tiny_dataset)
    page = window.train_page
    page.settings_table["length"].setCurrentIndex(page.settings_table["length"].findData("epochs"))
    page.settings_table["length_amount"].setValue(7)
    page.settings_table["batch_size"].setValue(16)
    qtbot.waitUntil(lambda: page.machine is not None, timeout=30_000)
    assert page.model_choice.currentData() == "dcgan", "the registry's first model of pictures from noise"
    preset, loss = page.model_options.widget("preset"), page.model_options.widget("loss")
    preset.setCurrentIndex(preset.findData("sketch"))
    loss.setCurrentIndex(loss.findData("hinge"))
    config = page.build_config()
    assert config.train.epochs == 7 and config.train.steps is None and config.train.minutes is None
    assert config.train.batch_size == 16 and config.model.options["loss"] == "hinge"
    assert config.data.paths == [str(tiny_dataset)] and config.data.size == 32
    assert config.model.options["preset"] == "sketch"
    get_recipe("dcgan").resolve_config(config, torch.device("cpu"))
    assert config.model.g_width == 16, "half the CPU default of 32"
    device = page.settings_table["device"]
    assert device.itemText(0).startswith("Automatic — ")
    assert any("CPU" in device.itemText(i) for i in range(device.count()))


def test_pause_holds_a_real_run_until_resumed(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    page, session = window.train_page, window.workspace.session
    with qtbot.waitSignal(session.steps_progressed, timeout=120_000):
        session.start(tiny_config(tiny_dataset, tmp_path / "run", steps=100_000))
    with qtbot.waitSignal(session.paused, timeout=30_000) as paused:
        page.pause_button.click()
    with qtbot.assertNotEmitted(session.steps_progressed, wait=400):
        pass  # no step is trained while paused
    assert page.pause_button.text() == "Resume" and page.stop_button.isEnabled()
    with qtbot.waitSignal(session.steps_progressed, timeout=30_000) as progressed:
        page.pause_button.click()
    assert progressed.args[0][-1].step > paused.args[0].step
    with qtbot.waitSignal(session.run_finished, timeout=60_000) as finished:
        page.stop_button.click()
    assert finished.args[0].reason == "stopped" and finished.args[0].checkpoint
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)


def test_closing_while_training_saves_and_offers_to_continue(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    session = window.workspace.session
    run_dir = tmp_path / "run"
    with qtbot.waitSignal(session.steps_progressed, timeout=120_000):
        session.start(tiny_config(tiny_dataset, run_dir, steps=100_000))
    assert not window.close(), "the window waits for the checkpoint before it closes"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    folder = RunFolder(run_dir)
    assert folder.checkpoints(), "closing saved a checkpoint"
    saved_step = folder.checkpoints()[-1][0]
    assert window.settings.value("session/active_run", "") == str(folder.path)

    reopened = MainWindow(window.settings)
    qtbot.addWidget(reopened)
    reopened.show()
    banner = reopened.train_page.banner
    assert banner.isVisible() and "Continue where it left off" in banner.message()
    continue_button = next(button for button in banner.findChildren(type(reopened.train_page.start_button))
                           if button.text() == "Continue training")
    with qtbot.waitSignal(reopened.workspace.session.run_started, timeout=120_000) as started:
        continue_button.click()
    assert started.args[0].start_step == saved_step and started.args[0].run_dir == str(folder.path)
    assert reopened.train_page.plot.point_count("G/adv") > 0, "the history before the close is shown"
    with qtbot.waitSignal(reopened.workspace.session.thread_ended, timeout=60_000):
        reopened.train_page.stop()
    reopened.workspace.shutdown()
