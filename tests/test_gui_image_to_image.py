"""The Image to image page as a user meets it: domains dropped, a real tiny CycleGAN trained, pictures converted."""

from __future__ import annotations

import os
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import write_pictures
from ganstudio.core.training import meter
from ganstudio.core.generator_files import save_generator
from ganstudio.core.models.translation import GeneratorSpec
from ganstudio.core.runs import RunFolder
from ganstudio.gui.main_window import MainWindow
from gui_helpers import drop_paths, plain_sentence
from test_cyclegan_training import cyclegan_config, two_domains
from test_generator_files import random_generator

LOSS_NAMES = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")


@pytest.fixture(autouse=True)
def frequent_step_events(monkeypatch):
    # Tiny runs last a second or two; a step event every 20 ms gives the plot more than one point.
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.02)


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    """A tiny generator file like the published ones (4 filters, 2 blocks): converts in milliseconds."""
    path = tmp_path_factory.mktemp("weights") / "day2night.pth"
    save_generator(random_generator(GeneratorSpec(filters=4, blocks=2), seed=3), path)
    return path


def page_of(window):
    window.show_page("image-to-image")
    return window.image_to_image_page


def converter_of(window):
    page = page_of(window)
    page.show_convert()
    return page.converter


def open_generator(qtbot, panel, path) -> None:
    with qtbot.waitSignal(panel.translator_loaded, timeout=60_000):
        panel.open_generator_file(str(path))


def test_a_fresh_machine_offers_the_demo_pair(make_window):
    window = make_window()
    page = page_of(window)
    assert window.pages["image-to-image"] is page and window.current_page_key() == "image-to-image"
    assert page.zones["A"].status.text() == "Built-in scenes by day"
    assert page.zones["B"].status.text() == "Built-in scenes by night"
    assert page.not_ready_reason() == "" and page.start_button.isEnabled() and "press Train" in page.subtitle.text()
    config = page.build_config()
    assert (config.model.name, config.model.options, config.data.size, config.data.demo) == ("cyclegan", {"preset": "auto"}, 128,
                                                                                             True)
    preset = page.model_options.widget("preset")
    light = preset.itemData(preset.findData("light"), 3)  # Qt.ToolTipRole
    assert "half the filters" in light.lower()


def test_dropped_folders_files_and_zips_set_the_domains_with_counts(qtbot, make_window, tmp_path):
    domain_a, domain_b = two_domains(tmp_path)
    window = make_window()
    page = page_of(window)
    with qtbot.waitSignal(page.domain_checked, check_params_cb=lambda side: side == "A", timeout=60_000):
        assert drop_paths(page.zones["A"], [domain_a])
    assert page.zones["A"].status.text() == "A" and page.zones["A"].detail.text() == "8 pictures"
    assert not page.demo and "domain B" in page.not_ready_reason(), "leaving the demo pair asks for domain B"

    files = sorted(domain_b.iterdir())[:3]
    with qtbot.waitSignal(page.domain_checked, check_params_cb=lambda side: side == "B", timeout=60_000):
        assert drop_paths(page.zones["B"], files)
    assert page.zones["B"].detail.text() == "3 pictures"
    assert page.not_ready_reason() == ""

    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in write_pictures(tmp_path / "zipped", 5, seed=4):
            zipped.write(path, path.name)
    with qtbot.waitSignal(page.domain_checked, check_params_cb=lambda side: side == "A", timeout=60_000):
        assert drop_paths(page.zones["A"], [archive])
    assert page.zones["A"].status.text() == "more.zip" and page.zones["A"].detail.text() == "5 pictures"
    config = page.build_config()
    assert config.data.paths == [str(archive)] and config.data.paths_b == [str(path) for path in files]
    assert window.dataset_page.workspace.dataset.demo, "the Dataset page's own dataset is untouched"
    assert drop_paths(page, [domain_b])
    assert "Domain A or on Domain B" in page.banner.message() and window.current_page_key() == "image-to-image", \
        "a drop beside the zones asks for a zone instead of opening the pictures elsewhere"


def test_a_real_cyclegan_run_shows_its_losses_and_samples_then_converts(qtbot, make_window, tmp_path):
    domain_a, domain_b = two_domains(tmp_path)
    window = make_window()
    page, session = page_of(window), window.workspace.session
    config = cyclegan_config(domain_a, domain_b, tmp_path / "run", epochs=2)
    config.run.sample_every_epochs = 1
    with qtbot.waitSignal(session.run_finished, timeout=120_000) as finished:
        assert page.start(config)
        assert not page.start(config) and not window.train_page.start(), "one run at a time, app-wide"
        assert not page.start_button.isEnabled() and not page.settings_widget.isEnabled()
        assert not window.train_page.start_button.isEnabled() and not window.train_page.stop_button.isEnabled()
    assert finished.args[0].reason == "completed"
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)
    assert page.start_button.isEnabled() and page.settings_widget.isEnabled()
    # One grid at each epoch's end; a run slower than 20 s also has grids on the schedule in time (step_*.png).
    assert [entry.epoch for entry in page.gallery.entries if entry.path.name.startswith("epoch_")] == [1, 2]
    assert page.gallery.view.image() is not None
    for name in LOSS_NAMES:
        x, y = page.plot.curve_data(name)
        assert len(x) >= 2 and np.isfinite(y).all(), name
    assert RunFolder(tmp_path / "run").checkpoints(), "a checkpoint was written"
    assert "Finished" in page.progress_text.text() and "convert" in page.banner.message()
    assert window.train_page.plot.point_count("D_A") == 0 and window.train_page.run_title.text() == "No run yet", \
        "the Train page shows only its own runs"

    panel = page.converter
    convert = next(widget for widget in page.banner.findChildren(type(page.start_button))
                   if widget.text() == "Convert pictures")
    convert.click()
    run_path = str(RunFolder(tmp_path / "run").path)
    assert page.tabs.currentWidget() is panel and panel.chosen_source().path == run_path
    # The finished run was chosen for converting at once, so its generator may be open already.
    qtbot.waitUntil(lambda: panel.translator is not None and panel.loaded_source.path == run_path, timeout=60_000)
    picture = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 46, 3), dtype=np.uint8)).save(picture)
    with qtbot.waitSignal(panel.picture_converted, timeout=60_000):
        assert drop_paths(panel, [picture])
    after = panel.after_view.image()
    assert (after.width(), after.height()) == (46, 30) and panel.save_button.isEnabled()
    with qtbot.waitSignal(panel.result_saved, timeout=30_000) as saved:
        panel.save_result(tmp_path / "out" / "night")
    assert saved.args[0].endswith("night.png")
    with Image.open(saved.args[0]) as written:
        assert written.format == "PNG" and written.size == (46, 30)


def test_a_folder_is_converted_with_its_names_and_progress(qtbot, make_window, tmp_path, generator_file):
    source = tmp_path / "photos"
    write_pictures(source, 4, size=24)
    write_pictures(source / "sub", 2, size=20, seed=5, suffix=".jpg")
    (source / "notes.txt").write_text("not a picture")
    window = make_window()
    panel = converter_of(window)
    open_generator(qtbot, panel, generator_file)
    progress = []
    panel.folder_progressed.connect(lambda done, total, name: progress.append((done, total)))
    with qtbot.waitSignal(panel.folder_converted, timeout=60_000) as converted:
        panel.convert_folder(source, tmp_path / "converted")
    result = converted.args[0]
    assert not result.cancelled and len(result.written) == 6 and result.skipped[0][0] == "notes.txt"
    expected = {f"picture_{index:03d}.png" for index in range(4)} | {f"sub/picture_{index:03d}.png" for index in (0, 1)}
    out = tmp_path / "converted"
    assert {str(path.relative_to(out)) for path in out.rglob("*.png")} == expected
    assert progress[-1] == (7, 7) and panel.folder_progress.value() == panel.folder_progress.maximum() == 7
    assert panel.folder_title.text() == "6 pictures converted, 1 skipped" and panel.reveal_button.isVisible()
    assert panel.skipped.topLevelItem(0).text(0) == "notes.txt"

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not really a png")
    with qtbot.waitSignal(panel.picture_failed, timeout=30_000) as failed:
        assert drop_paths(panel, [broken])
    message = failed.args[0]
    assert "broken.png" in message and plain_sentence(message) and panel.banner.message() == message


def test_the_chosen_scale_reaches_every_conversion_and_is_remembered(qtbot, make_window, tmp_path, generator_file):
    source = tmp_path / "photos"
    write_pictures(source, 2, size=24)
    window = make_window()
    panel = converter_of(window)
    open_generator(qtbot, panel, generator_file)
    assert panel.scale_choice.currentData() == "trained"
    scales = []
    translate = panel.translator.translate_picture
    panel.translator.translate_picture = lambda pixels, max_side=None, scale=None: (scales.append(scale)
                                                                                    or translate(pixels, max_side, scale))
    panel.scale_choice.setCurrentIndex(panel.scale_choice.findData("full"))
    with qtbot.waitSignal(panel.folder_converted, timeout=60_000):
        panel.convert_folder(source, tmp_path / "converted")
    with qtbot.waitSignal(panel.picture_converted, timeout=30_000):
        panel.convert_picture(source / "picture_000.png")
    assert scales == ["full", "full", "full"]
    assert converter_of(make_window()).scale_choice.currentData() == "full"


def test_converting_over_earlier_results_asks_and_no_keeps_them(qtbot, make_window, tmp_path, generator_file,
                                                                monkeypatch):
    from ganstudio.gui.pages import convert_panel
    source, out = tmp_path / "photos", tmp_path / "converted"
    write_pictures(source, 2, size=16)
    out.mkdir()
    mine = out / "picture_001.png"
    mine.write_bytes(b"the user's own picture")
    window = make_window()
    panel = converter_of(window)
    open_generator(qtbot, panel, generator_file)
    asked = []
    monkeypatch.setattr(convert_panel, "ask_to_replace", lambda parent, paths: asked.append(paths) or False)
    with qtbot.waitSignal(panel.folder_declined, timeout=60_000) as declined:
        panel.convert_folder(source, out)
    assert asked == [[mine]] and sorted(out.iterdir()) == [mine] and mine.read_bytes() == b"the user's own picture"
    assert "nothing was converted" in declined.args[0] and not panel.busy_converting_folder()
    monkeypatch.setattr(convert_panel, "ask_to_replace", lambda parent, paths: asked.append(paths) or True)
    with qtbot.waitSignal(panel.folder_converted, timeout=60_000) as converted:
        panel.convert_folder(source, out)
    assert len(asked) == 2 and len(converted.args[0].written) == 2
    with Image.open(mine) as picture:
        assert picture.size == (16, 16)


def test_a_folder_converted_into_the_folder_that_holds_it_goes_into_a_new_subfolder(qtbot, make_window, tmp_path,
                                                                                   generator_file):
    source = tmp_path / "photos"
    write_pictures(source, 2, size=16)
    (source / os.fsdecode(b"notes\xfe.txt")).write_text("a name that is not valid UTF-8")
    window = make_window()
    panel = converter_of(window)
    open_generator(qtbot, panel, generator_file)
    with qtbot.waitSignal(panel.folder_converted, timeout=60_000) as converted:
        panel.convert_folder(source, tmp_path)
    assert panel.skipped.topLevelItem(0).text(0) == "notes\\xfe.txt", "shown as an escape, not lost"
    results = tmp_path / "photos-converted"
    assert converted.args[0].output == results and len(converted.args[0].written) == 2
    assert sorted(path.name for path in results.iterdir()) == ["picture_000.png", "picture_001.png"]
    assert panel.output_folder == results and "new subfolder photos-converted" in panel.folder_detail.text()


def test_saving_over_an_existing_file_asks_first(qtbot, make_window, tmp_path, generator_file, monkeypatch):
    from ganstudio.gui.pages import convert_panel
    write_pictures(tmp_path / "in", 1, size=16)
    window = make_window()
    panel = converter_of(window)
    open_generator(qtbot, panel, generator_file)
    with qtbot.waitSignal(panel.picture_converted, timeout=60_000):
        assert drop_paths(panel, [tmp_path / "in" / "picture_000.png"])
    keep = tmp_path / "keep_me.png"
    keep.write_bytes(b"the user's own picture")
    asked = []
    monkeypatch.setattr(convert_panel, "ask_to_replace", lambda parent, paths: asked.append(paths) or False)
    panel.save_result(tmp_path / "keep_me")  # gains .png, the name asked about
    assert asked == [[keep]] and keep.read_bytes() == b"the user's own picture"
    monkeypatch.setattr(convert_panel, "ask_to_replace", lambda parent, paths: asked.append(paths) or True)
    with qtbot.waitSignal(panel.result_saved, timeout=30_000):
        panel.save_result(keep)
    with Image.open(keep) as picture:
        assert picture.size == (16, 16)


def test_cancelling_a_folder_leaves_only_complete_results(qtbot, make_window, tmp_path, generator_file):
    source = tmp_path / "many"
    write_pictures(source, 40, size=16)
    window = make_window()
    panel = converter_of(window)
    open_generator(qtbot, panel, generator_file)
    # From the fourth picture on, the worker waits for the test to press Cancel: the timing is the test's, not luck.
    released = threading.Event()
    translate = panel.translator.translate_picture
    calls = []

    def held_translate(pixels, max_side=None, scale=None):
        calls.append(1)
        if len(calls) >= 4:
            released.wait(30)
        return translate(pixels, max_side, scale)

    panel.translator.translate_picture = held_translate

    def cancel_once(done, total, name):
        if not released.is_set():
            panel.cancel_button.click()
            released.set()

    panel.folder_progressed.connect(cancel_once)
    with qtbot.waitSignal(panel.folder_converted, timeout=60_000) as converted:
        panel.convert_folder(source, tmp_path / "out")
    result = converted.args[0]
    written = sorted((tmp_path / "out").iterdir())
    assert result.cancelled and 0 < len(written) < 40 and len(written) == len(result.written)
    for path in written:
        assert path.suffix == ".png"
        with Image.open(path) as picture:
            picture.load()  # a half-written file would fail here
            assert picture.size == (16, 16)
    assert panel.folder_title.text().startswith("Cancelled") and "complete" in panel.folder_detail.text()


@pytest.mark.parametrize("content, words", [
    (b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>", "web page (HTML)"),
    (None, "damaged or incomplete"),
])
def test_a_file_that_is_not_a_generator_is_refused_in_plain_words(qtbot, make_window, tmp_path, generator_file,
                                                                  content, words):
    bad = tmp_path / "horse2zebra.pth"
    bad.write_bytes(content if content is not None else generator_file.read_bytes()[:1000])
    window = make_window()
    panel = converter_of(window)
    with qtbot.waitSignal(panel.translator_failed, timeout=60_000) as failed:
        panel.open_generator_file(str(bad))
    message = failed.args[0]
    assert words in message and plain_sentence(message)
    assert panel.banner.isVisible() and panel.banner.message() == message and panel.translator is None
    open_generator(qtbot, panel, generator_file)
    with qtbot.waitSignal(panel.translator_failed, timeout=60_000):
        panel.open_generator_file(str(bad))
    assert panel.translator is not None and panel.chosen_source().path == str(generator_file), \
        "a refused file leaves the model that was open in use"


def test_closing_while_training_saves_and_offers_to_continue_here(qtbot, make_window, tmp_path):
    domain_a, domain_b = two_domains(tmp_path)
    window = make_window()
    page, session = page_of(window), window.workspace.session
    run_dir = tmp_path / "run"
    with qtbot.waitSignal(session.steps_progressed, timeout=120_000):
        page.start(cyclegan_config(domain_a, domain_b, run_dir, steps=100_000))
    with qtbot.waitSignal(session.paused, timeout=30_000):
        window.pause_action.trigger()  # Ctrl+P reaches the page that started the run
    assert page.pause_button.text() == "Resume" and page.stop_button.isEnabled()
    with qtbot.waitSignal(session.resumed, timeout=30_000):
        window.pause_action.trigger()
    assert not window.close(), "the window waits for the checkpoint before it closes"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    folder = RunFolder(run_dir)
    assert folder.checkpoints() and window.settings.value("session/active_run", "") == str(folder.path)

    reopened = MainWindow(window.settings)
    qtbot.addWidget(reopened)
    reopened.show()
    page = reopened.image_to_image_page
    assert reopened.current_page_key() == "image-to-image"
    assert "Continue where it left off" in page.banner.message()
    continue_button = next(widget for widget in page.banner.findChildren(type(page.start_button))
                           if widget.text() == "Continue training")
    with qtbot.waitSignal(reopened.workspace.session.run_started, timeout=120_000) as started:
        continue_button.click()
    assert started.args[0].start_step == folder.checkpoints()[-1][0]
    assert page.plot.point_count("cycle_A") > 0, "the history before the close is shown"
    with qtbot.waitSignal(reopened.workspace.session.thread_ended, timeout=60_000):
        reopened.stop_action.trigger()
    reopened.workspace.shutdown()


def test_image_to_image_runs_are_listed_for_converting_not_for_generating(qtbot, make_window, tmp_path):
    from ganstudio.core.paths import runs_dir
    folder = RunFolder(runs_dir() / "day2night")
    folder.create_folders()
    folder.config_path.write_text(cyclegan_config(tmp_path, tmp_path, folder.path).to_json(), encoding="utf-8")
    folder.checkpoint_path(5).write_bytes(b"a checkpoint")
    window = make_window()
    choice = window.generate_page.run_choice
    generate_runs = [choice.itemData(index) for index in range(choice.count())]
    panel = window.image_to_image_page.converter
    convert_runs = [panel.source_choice.itemData(i) for i in range(panel.source_choice.count())]
    assert str(folder.path) not in generate_runs
    assert [source.path for source in convert_runs if source is not None] == [str(folder.path)]

    window.runs_page.show_run(str(folder.path))
    qtbot.waitUntil(lambda: window.runs_page.details is not None, timeout=30_000)
    assert window.runs_page.generate_button.text() == "Convert pictures"
    window.runs_page.generate_button.click()
    assert window.current_page_key() == "image-to-image"
    assert window.image_to_image_page.tabs.currentWidget() is panel


def test_a_zones_skipped_files_are_listed_in_full_on_hover(qtbot, make_window, tmp_path):
    from test_gui_dataset import messy_folder
    from PySide6.QtGui import Qt as QtGuiNamespace
    long_name = messy_folder(tmp_path / "messy")
    window = make_window()
    page = page_of(window)
    with qtbot.waitSignal(page.domain_checked, check_params_cb=lambda side: side == "A", timeout=60_000):
        assert drop_paths(page.zones["A"], [tmp_path / "messy"])
    tooltip = page.zones["A"].detail.toolTip()
    assert QtGuiNamespace.mightBeRichText(tooltip), "a rich-text tooltip, which Qt wraps to a readable width"
    readable = tooltip.replace("\u200b", "")
    for name, reason in (("empty.png", "empty file"), (long_name, "damaged or truncated file"),
                         ("shopping list.png", "not a picture in a supported format")):
        assert f"messy/{name}" in readable and reason in readable
