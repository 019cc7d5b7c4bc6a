"""The Dataset page as a user meets it: drops of folders, files and zips, checking with Cancel, the grid, the preview."""

from __future__ import annotations

import time
import zipfile

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from conftest import write_pictures
from gui_helpers import drop_paths
from ganstudio.gui.pages import dataset_page
from ganstudio.gui.widgets.picture_grid import PictureGrid


def scanned(qtbot, window, action):
    with qtbot.waitSignal(window.workspace.dataset_scanned, timeout=30_000):
        action()
    return window.dataset_page


def test_dropping_a_folder_shows_its_pictures(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    window.show_page("train")
    other = tmp_path / "flowers"
    write_pictures(other, 12, seed=5)
    page = scanned(qtbot, window, lambda: drop_paths(window, [other]))
    assert window.current_page_key() == "dataset", "a drop shows the Dataset page"
    assert page.grid.picture_model.rowCount() == 12
    assert "12" in page.summary_counts.text() and page.summary_title.text() == "flowers"
    assert window.workspace.dataset.paths == [str(other)] and not window.workspace.dataset.demo
    assert window.train_page.dataset_title.text() == "flowers"


def test_dropping_files_lists_the_skipped_ones_with_reasons(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    pictures = write_pictures(tmp_path / "mixed", 5)
    broken = tmp_path / "mixed" / "broken.png"
    broken.write_bytes(pictures[0].read_bytes()[:60])
    page = scanned(qtbot, window, lambda: drop_paths(window, [*pictures, broken]))
    assert page.grid.picture_model.rowCount() == 5
    assert page.skipped.topLevelItemCount() == 1
    row = page.skipped.topLevelItem(0)
    assert row.text(0) == "broken.png" and "damaged" in row.text(1)
    assert not page.banner.isVisible()


def test_dropping_a_zip_reads_it_in_place(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    pictures = write_pictures(tmp_path / "loose", 7)
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for picture in pictures:
            bundle.write(picture, f"faces/{picture.name}")
    page = scanned(qtbot, window, lambda: drop_paths(window, [archive]))
    assert page.grid.picture_model.rowCount() == 7
    assert page.summary_title.text() == "faces"
    qtbot.waitUntil(lambda: page.preview_name.text().startswith("faces.zip:"), timeout=10_000)


def test_a_drop_of_nothing_usable_says_so(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    drop_paths(window, [note])
    assert "Nothing there looks like pictures" in window.dataset_page.banner.message()


def test_cancel_stops_a_long_check(qtbot, make_window, tiny_dataset, tmp_path, monkeypatch):
    window = make_window(dataset=tiny_dataset)
    window.show_page("dataset")
    qtbot.waitUntil(lambda: window.dataset_page.grid.picture_model.rowCount() == 40, timeout=30_000)
    other = tmp_path / "other"
    write_pictures(other, 3)
    real_load = dataset_page.load_dataset
    started = []

    def slow_load(data, progress, cancelled, **options):
        started.append(True)
        progress("decoding", 1, 1000)
        deadline = time.monotonic() + 30
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        return real_load(data, progress, cancelled, **options)

    monkeypatch.setattr(dataset_page, "load_dataset", slow_load)
    page = window.dataset_page
    page.open_paths([str(other)])
    qtbot.waitUntil(lambda: page.scan_progress.maximum() == 1000, timeout=10_000)
    assert page.stack.currentWidget() is page.scan_panel and page.cancel_button.isVisible()
    page.cancel_button.click()
    assert not page.scanning
    assert page.stack.currentWidget() is page.grid_panel, "the previous pictures come back"
    assert page.grid.picture_model.rowCount() == 40
    with qtbot.assertNotEmitted(window.workspace.dataset_scanned, wait=300):
        pass


def test_choosing_how_to_square_changes_the_preview(qtbot, make_window, tmp_path):
    folder = tmp_path / "wide"
    folder.mkdir()
    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, :40] = (255, 0, 0)
    wide[:, 40:80] = (0, 255, 0)
    wide[:, 80:] = (0, 0, 255)
    Image.fromarray(wide).save(folder / "stripes.png")
    window = make_window(dataset=folder)
    page = window.dataset_page
    qtbot.waitUntil(lambda: page.preview_prepared.image() is not None, timeout=30_000)

    def centre_and_corner():
        image = page.preview_prepared.image()
        return image.pixelColor(16, 16).getRgb()[:3], image.pixelColor(1, 1).getRgb()[:3]

    assert centre_and_corner()[1][1] > 200, "cropped: the corner is the green middle stripe"
    before = page.preview_prepared.image()
    page.fit_buttons["pad"].setChecked(True)
    qtbot.waitUntil(lambda: page.preview_prepared.image() is not before, timeout=10_000)
    assert centre_and_corner()[1] == (255, 255, 255), "padded: the corner is the white background"
    assert "original 120 × 40" in page.preview_original_caption.text()
    assert window.workspace.settings.value("dataset/fit", "") == "pad", "the choice is remembered"


def test_twenty_thousand_thumbnails_make_pixmaps_only_for_the_cells_on_screen(qtbot):
    """What keeps a big dataset quick, asserted as behaviour: a time limit would fail on a busy machine."""
    grid = PictureGrid(picture_side=96)
    qtbot.addWidget(grid)
    grid.resize(900, 700)
    grid.show()
    pixels = np.random.default_rng(0).integers(0, 256, (20_000, 32, 32, 3), dtype=np.uint8)
    with qtbot.waitExposed(grid):
        grid.picture_model.set_pictures(pixels)
    grid.scrollToBottom()
    grid.repaint()
    assert grid.picture_model.rowCount() == 20_000
    assert grid.picture_model.decorations_made < 500, "only the cells on screen become pixmaps"


def messy_folder(folder):
    """Pictures with a duplicate, an empty file, a text file named .png and a damaged picture with a long name."""
    pictures = write_pictures(folder, 4)
    (folder / "copy_of_picture_000.png").write_bytes(pictures[0].read_bytes())
    (folder / "empty.png").write_bytes(b"")
    (folder / "shopping list.png").write_text("eggs, milk")
    long_name = "holiday_2019_the_long_afternoon_by_the_lake_with_everyone_final_version_3_damaged.png"
    (folder / long_name).write_bytes(pictures[1].read_bytes()[:60])
    return long_name


def test_the_skipped_list_and_the_notes_read_in_full(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    long_name = messy_folder(tmp_path / "messy")
    page = scanned(qtbot, window, lambda: drop_paths(window, [tmp_path / "messy"]))
    notes = page.notes.text()
    assert "1 picture is an exact duplicate" in notes and "1 pictures" not in notes
    assert "messy/picture_000.png" in notes, "the note names the later copy (the scan meets its twin first)"
    assert "Only 5 usable pictures" in notes

    listed = page.skipped
    assert listed.topLevelItemCount() == 3
    rows = [listed.topLevelItem(index) for index in range(3)]
    for row in rows:
        assert row.toolTip(0) == row.text(0) and row.toolTip(1) == row.text(1), "each cell's full text on hover"
    assert listed.textElideMode() == Qt.TextElideMode.ElideMiddle, "long names keep both ends"
    assert listed.wordWrap(), "reasons wrap rather than being cut off"
    long_row = next(row for row in rows if row.text(0).endswith(long_name))
    room = listed.viewport().width()
    assert listed.columnWidth(0) <= room // 2, "a long name leaves room for the reasons"
    assert listed.columnWidth(0) + listed.columnWidth(1) <= room + 1, "no reason runs past the right edge"
    metrics = listed.fontMetrics()

    def reason_fits():
        lines = -(-metrics.horizontalAdvance(long_row.text(1)) // max(1, listed.columnWidth(1) - 12))
        return listed.visualItemRect(long_row).height() >= lines * metrics.lineSpacing()

    # The tree lays wrapped rows out again shortly after a column changes width.
    qtbot.waitUntil(reason_fits, timeout=5_000)
