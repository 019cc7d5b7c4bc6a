"""The Generate page's strip of nearest training pictures, on a real tiny trained run: it follows the picture
the user selects, works off the GUI thread, and says plainly when the training pictures are gone."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from conftest import train_tiny_run
from ganstudio.core import nearest
from ganstudio.gui.settings import AppSettings
from ganstudio.gui.widgets.nearest_strip import NEIGHBOURS_SHOWN, SETTING_KEY


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory, "nearest-gui", epochs=1)


@pytest.fixture
def run_cache(trained_run, monkeypatch):
    """The run's own cache folder: its decoded pictures and their features are shared by these tests."""
    monkeypatch.setenv("GANSTUDIO_CACHE_DIR", str(trained_run.parent / "cache"))


def settings_with_comparing(tmp_path, on: bool) -> AppSettings:
    settings = AppSettings(tmp_path / "settings.ini")
    settings.set_value(SETTING_KEY, on)
    return settings


def test_the_strip_follows_the_selected_picture(qtbot, make_window, tmp_path, trained_run, run_cache, monkeypatch):
    threads = []
    read_features = nearest.training_features

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return read_features(*args, **kwargs)

    monkeypatch.setattr(nearest, "training_features", recording)
    window = make_window(settings=settings_with_comparing(tmp_path, True))
    page = window.generate_page
    strip = page.nearest_strip
    with qtbot.waitSignal(strip.compared, timeout=120_000):
        window.workspace.generate_requested.emit(str(trained_run))
    assert threads and threads[0] is not threading.main_thread(), "the training pictures are read off the GUI thread"
    assert strip.shown_seed == page.batch.seeds[0]
    assert len(strip.neighbours) == NEIGHBOURS_SHOWN and strip.tiles_row.isVisible()
    distances = [neighbour.distance for neighbour in strip.neighbours]
    assert distances == sorted(distances)
    nearest_name = strip.neighbours[0].label.rsplit("/", 1)[-1]
    assert nearest_name.startswith("picture_") and nearest_name in strip.summary.text()
    assert strip.neighbour_tiles[0].name.text() == nearest_name.rsplit(".", 1)[0]
    assert strip.neighbour_tiles[0].figure.text() == f"{distances[0]:.3f}"

    with qtbot.waitSignal(strip.compared, timeout=60_000):
        page.grid.setCurrentIndex(page.grid.picture_model.index(3))
    assert strip.shown_seed == page.batch.seeds[3]
    assert len(threads) == 1, "the run's features are read once, then kept"

    # A training picture itself, as if generated: it is its own nearest, and the strip says it may be a copy.
    copied = np.asarray(strip.training.pixels[7])
    with qtbot.waitSignal(strip.compared, timeout=60_000):
        strip.compare(99, copied)
    assert strip.neighbours[0].index == 7 and strip.neighbours[0].distance < 1e-4
    assert "may be a copy" in strip.summary.text()


def test_switched_off_it_reads_nothing_and_a_missing_folder_is_a_sentence(qtbot, make_window, tmp_path, trained_run,
                                                                           run_cache, monkeypatch):
    calls = []
    read_features = nearest.training_features
    monkeypatch.setattr(nearest, "training_features", lambda *args, **kwargs: calls.append(args) or
                        read_features(*args, **kwargs))
    window = make_window(settings=settings_with_comparing(tmp_path, False))
    page = window.generate_page
    strip = page.nearest_strip
    with qtbot.waitSignal(page.pictures_made, timeout=120_000):
        window.workspace.generate_requested.emit(str(trained_run))
    assert strip.training is None and not strip.tiles_row.isVisible()
    assert not calls

    pictures = trained_run.parent / "pictures"
    moved = trained_run.parent / "pictures-moved"
    pictures.rename(moved)
    try:
        with qtbot.waitSignal(strip.comparison_failed, timeout=60_000) as failed:
            strip.switch.setChecked(True)
    finally:
        moved.rename(pictures)
    assert "no longer there" in failed.args[0] and str(pictures) in failed.args[0]
    assert len(calls) == 1 and strip.summary.text() == failed.args[0] and not strip.tiles_row.isVisible()
    assert window.workspace.settings.value(SETTING_KEY, False) is True
