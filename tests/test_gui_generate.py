"""The Generate and Runs pages with a real tiny trained run: pictures by seed, favourites, exports, history."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from conftest import train_tiny_run
from gui_helpers import drop_paths
from ganstudio.core.animation import find_ffmpeg
from ganstudio.core.export import read_png_metadata
from ganstudio.core.runs import RunFolder


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny run trained once for this module, in a folder outside the data folder (as the CLI would)."""
    return RunFolder(train_tiny_run(tmp_path_factory, "trained", run="elsewhere/cli-run", sample_every_epochs=1,
                                    epochs=2))


def open_on_generate(qtbot, window, run: RunFolder):
    page = window.generate_page
    with qtbot.waitSignal(page.pictures_made, timeout=60_000):
        window.workspace.generate_requested.emit(str(run.path))
    assert window.current_page_key() == "generate"
    return page


def test_pictures_by_seed_and_at_random(qtbot, make_window, tiny_dataset, trained_run):
    window = make_window(dataset=tiny_dataset)
    page = open_on_generate(qtbot, window, trained_run)
    assert page.checkpoint_choice.currentText().startswith("Latest — step 10")
    page.first_seed.setValue(7)
    page.count.setValue(5)
    with qtbot.waitSignal(page.pictures_made, timeout=60_000):
        page.generate_button.click()
    assert page.batch.seeds == [7, 8, 9, 10, 11]
    assert page.grid.picture_model.rowCount() == 5
    assert page.grid.picture_model.data(page.grid.picture_model.index(0)) == "seed 7"
    first = page.batch.pixels.copy()
    with qtbot.waitSignal(page.pictures_made, timeout=60_000):
        page.generate_button.click()
    assert (page.batch.pixels == first).all(), "a seed always gives the same picture"
    with qtbot.waitSignal(page.pictures_made, timeout=60_000):
        page.random_button.click()
    assert len(page.batch.seeds) == 5 and page.batch.seeds != [7, 8, 9, 10, 11]


def test_favourites_are_starred_and_remembered(qtbot, make_window, tiny_dataset, trained_run):
    window = make_window(dataset=tiny_dataset)
    page = open_on_generate(qtbot, window, trained_run)
    page.grid.setCurrentIndex(page.grid.picture_model.index(2))
    seed = page.batch.seeds[2]
    page.star_button.click()
    assert page.grid.picture_model.starred == {2}
    favourites_file = trained_run.path / "favourites.json"
    qtbot.waitUntil(lambda: favourites_file.exists(), timeout=10_000)
    assert seed in json.loads(favourites_file.read_text())["seeds"]
    page.only_starred.setChecked(True)
    assert page.grid.picture_model.rowCount() == 1
    favourites_file.unlink()


def test_export_writes_what_it_says_with_metadata(qtbot, make_window, tiny_dataset, trained_run, tmp_path):
    window = make_window(dataset=tiny_dataset)
    page = open_on_generate(qtbot, window, trained_run)
    page.grid.selectAll()
    out = tmp_path / "exports"
    with qtbot.waitSignal(page.exported, timeout=30_000) as exported:
        page.export_pngs(out)
    paths = exported.args[0]
    assert len(paths) == len(page.batch.seeds) and all(path.exists() for path in paths)
    assert sorted(path.name for path in out.iterdir()) == sorted(path.name for path in paths)
    metadata = read_png_metadata(paths[0])
    assert metadata["seed"] == str(page.batch.seeds[0]) and metadata["model"] == "dcgan"
    assert metadata["run"] == "cli-run" and metadata["step"] == "10"
    assert str(out) in page.banner.message()

    with qtbot.waitSignal(page.exported, timeout=30_000) as exported:
        page.export_grid(out)
    grid = exported.args[0][0]
    assert grid.name.startswith("grid_") and read_png_metadata(grid)["seeds"].startswith(str(page.batch.seeds[0]))

    page.seed_a.setValue(3)
    page.seed_b.setValue(4)
    page.frames.setValue(6)
    with qtbot.waitSignal(page.animation_made, timeout=60_000):
        page.animate_button.click()
    assert len(page.animation.frames) == 12, "there and back again"
    with qtbot.waitSignal(page.exported, timeout=30_000) as exported:
        page.export_animation("gif", out)
    gif = exported.args[0][0]
    with Image.open(gif) as image:
        assert image.n_frames == 12 and image.width >= 256 and b"cli-run" in image.info.get("comment", b"")
    assert page.export_mp4_button.isEnabled() == (find_ffmpeg() is not None)
    if find_ffmpeg() is not None:
        with qtbot.waitSignal(page.exported, timeout=60_000) as exported:
            page.export_animation("mp4", out)
        mp4 = exported.args[0][0]
        assert mp4.suffix == ".mp4" and mp4.stat().st_size > 1000


def test_export_asks_before_replacing_and_no_keeps_the_files(qtbot, make_window, tiny_dataset, trained_run, tmp_path,
                                                              monkeypatch):
    from ganstudio.gui.pages import generate_page
    window = make_window(dataset=tiny_dataset)
    page = open_on_generate(qtbot, window, trained_run)
    page.grid.selectAll()
    out = tmp_path / "exports"
    out.mkdir()
    mine = out / f"seed_{page.batch.seeds[0]:07d}.png"
    mine.write_bytes(b"the user's own picture")
    asked = []
    monkeypatch.setattr(generate_page, "ask_to_replace", lambda parent, paths: asked.append(paths) or False)
    page.export_pngs(out)
    assert asked == [[mine]] and mine.read_bytes() == b"the user's own picture"
    assert sorted(out.iterdir()) == [mine], "No writes nothing at all"
    monkeypatch.setattr(generate_page, "ask_to_replace", lambda parent, paths: asked.append(paths) or True)
    with qtbot.waitSignal(page.exported, timeout=30_000) as exported:
        page.export_pngs(out)
    assert len(asked) == 2 and read_png_metadata(mine)["seed"] == str(page.batch.seeds[0])
    assert len(exported.args[0]) == len(page.batch.seeds)


def test_a_run_written_elsewhere_opens_with_history_and_gallery(qtbot, make_window, tiny_dataset, trained_run):
    window = make_window(dataset=tiny_dataset)
    runs = window.runs_page
    with qtbot.waitSignal(runs.details_shown, timeout=30_000):
        assert drop_paths(window, [trained_run.path]), "a run folder dropped on the window opens"
    assert window.current_page_key() == "runs"
    assert runs.table.topLevelItemCount() == 1 and runs.table.topLevelItem(0).text(0) == "cli-run"
    assert runs.detail_title.text() == "cli-run"
    assert runs.plot.point_count("G/adv") > 0
    # One grid at each epoch's end; a run slower than 20 s also has grids on the schedule in time (step_*.png).
    assert [entry.epoch for entry in runs.gallery.entries if entry.path.name.startswith("epoch_")] == [1, 2]
    assert runs.continue_button.isEnabled() and runs.generate_button.isEnabled()
    assert str(trained_run.path) in window.settings.value("runs/opened", [])


def test_continuing_a_run_from_the_runs_page(qtbot, make_window, tiny_dataset, trained_run, tmp_path):
    copy_dir = tmp_path / "copy-of-run"
    import shutil
    shutil.copytree(trained_run.path, copy_dir)
    window = make_window(dataset=tiny_dataset)
    runs = window.runs_page
    with qtbot.waitSignal(runs.details_shown, timeout=30_000):
        runs.open_folder(str(copy_dir))
    runs.continue_kind.setCurrentIndex(runs.continue_kind.findData("epochs"))
    runs.continue_amount.setValue(1)
    session = window.workspace.session
    with qtbot.waitSignal(session.run_started, timeout=120_000) as started:
        runs.continue_button.click()
    assert started.args[0].start_step == 10 and window.current_page_key() == "train"
    with qtbot.waitSignal(session.run_finished, timeout=120_000) as finished:
        pass
    assert finished.args[0].reason == "completed" and finished.args[0].epoch == 3
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)
    assert RunFolder(copy_dir).latest_checkpoint().name == "step_000000015.pt"


def test_a_pages_status_message_is_not_shown_as_another_pages_news(qtbot, make_window, tiny_dataset, trained_run):
    window = make_window(dataset=tiny_dataset)
    page = open_on_generate(qtbot, window, trained_run)
    page.count.setValue(4)
    with qtbot.waitSignal(page.pictures_made, timeout=60_000):
        page.generate_button.click()
        window.show_page("train")
    assert window.status_text.text() == "Generate: Made 4 pictures.", "work finished elsewhere names its page"
    window.show_page("generate")
    with qtbot.waitSignal(page.pictures_made, timeout=60_000):
        page.generate_button.click()
    assert window.status_text.text() == "Made 4 pictures."
    window.show_page("train")
    assert "Made 4 pictures" not in window.status_text.text(), "leaving the page takes its message away"


def test_the_model_is_named_by_its_label_not_in_capitals(qtbot, make_window, tiny_dataset, trained_run):
    from ganstudio.core.registry import find_recipe
    name = trained_run.load_config().model.name
    label = find_recipe(name).label
    window = make_window(dataset=tiny_dataset)
    runs = window.runs_page
    with qtbot.waitSignal(runs.details_shown, timeout=30_000):
        runs.open_folder(str(trained_run.path))
    # The label is the model's own spelling ("CycleGAN", not the "CYCLEGAN" its name in capitals gave).
    assert runs.detail_text.text().startswith(label)
    page = open_on_generate(qtbot, window, trained_run)
    assert f"<br>{label} · " in page.model_line.text()


def test_export_dialogs_start_in_the_folder_last_used_for_that_kind(qtbot, make_window, tiny_dataset, trained_run,
                                                                    tmp_path, monkeypatch):
    from ganstudio.gui.pages import generate_page
    from ganstudio.gui.settings import AppSettings
    starts = []
    answers = iter([tmp_path / "pictures-here", tmp_path / "grids-here", tmp_path / "pictures-later"])

    def choose(parent, caption, start):
        starts.append(start)
        chosen = next(answers)
        chosen.mkdir(exist_ok=True)
        return str(chosen)

    monkeypatch.setattr(generate_page.QFileDialog, "getExistingDirectory", choose)
    settings = AppSettings(tmp_path / "settings.ini")
    window = make_window(dataset=tiny_dataset, settings=settings)
    page = open_on_generate(qtbot, window, trained_run)
    with qtbot.waitSignal(page.exported, timeout=30_000):
        page.export_pngs()
    with qtbot.waitSignal(page.exported, timeout=30_000):
        page.export_grid()
    assert starts[0] == str(trained_run.exports_dir), "the first export starts in the run's exports folder"
    assert starts[1] == str(trained_run.exports_dir), "a grid has not been exported yet: its own first time"
    window.close()

    again = make_window(dataset=tiny_dataset, settings=settings)
    page = open_on_generate(qtbot, again, trained_run)
    with qtbot.waitSignal(page.exported, timeout=30_000):
        page.export_pngs()
    assert starts[2] == str(tmp_path / "pictures-here"), "remembered across windows, per kind of export"
    assert settings.value("exports/grid_folder", "") == str(tmp_path / "grids-here")
