"""The small slips of a first afternoon: empty states that say what to do, whole run names, grid names that do not
claim a range, the convert choices after one picture, and a highlight while files are dragged over the window."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent
from PySide6.QtWidgets import QApplication, QPushButton

from conftest import tiny_config
from ganstudio.gui.pages.generate_page import seeds_in_name
from ganstudio.gui.pages.runs_page import NO_RUN_CHOSEN_WORDS, NO_RUNS_WORDS
from gui_helpers import FakeEngine


def test_a_grid_name_says_a_range_only_for_consecutive_seeds():
    assert seeds_in_name([315328, 2227964, 41]) == "seeds315328_2227964_41"
    assert seeds_in_name([7, 9, 12, 30, 31]) == "seeds7_9_12_and_2_more"
    assert seeds_in_name([5, 6, 7, 8]) == "seeds5-8"
    assert seeds_in_name([42]) == "seed42"


def test_empty_pages_say_what_to_do(qtbot, make_window):
    window = make_window(dataset=None)
    window.show_page("generate")
    assert window.generate_page.grid.placeholder.startswith("No pictures yet: train a run on the Train page")
    window.show_page("runs")
    # The list is read on a worker; once it is known to be empty, the details say what a chosen run shows.
    qtbot.waitUntil(lambda: window.runs_page.detail_text.text() == NO_RUNS_WORDS, timeout=60_000)
    assert window.runs_page.empty.isVisible()
    assert NO_RUN_CHOSEN_WORDS.startswith("Choose a run in the list")


def test_a_run_name_too_long_for_the_list_keeps_both_ends_and_is_whole_in_its_tooltip(qtbot, make_window,
                                                                                     tiny_dataset):
    window = make_window(dataset=tiny_dataset, engine=FakeEngine(steps=5))
    session = window.workspace.session
    config = tiny_config(tiny_dataset, tiny_dataset.parent / "x", steps=5)
    config.run.dir = ""  # a named folder under the data folder, as the app makes one
    with qtbot.waitSignal(session.run_finished, timeout=10_000):
        assert session.start(config, owner="train")
    page = window.runs_page
    window.show_page("runs")
    page.refresh()
    qtbot.waitUntil(lambda: page.table.topLevelItemCount() == 1, timeout=10_000)
    item = page.table.topLevelItem(0)
    name = item.text(0)
    assert page.table.textElideMode() == Qt.TextElideMode.ElideMiddle
    assert item.toolTip(0).splitlines()[0] == name and item.data(0, Qt.ItemDataRole.UserRole) in item.toolTip(0)


def test_after_one_picture_the_folder_and_zip_choices_stay(qtbot, make_window):
    window = make_window(dataset=None)
    converter = window.image_to_image_page.converter
    converter.stack.setCurrentWidget(converter.picture_panel)
    offered = {button.text() for button in converter.picture_panel.findChildren(QPushButton)}
    assert {"Picture…", "Folder…", "Zip…"} <= offered


def drag_over(widget, path) -> QDragEnterEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDragEnterEvent(QPoint(widget.rect().center()), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return event


def test_dragging_files_over_the_window_lights_it_up_until_they_leave(qtbot, make_window, tiny_dataset):
    window = make_window(dataset=None)
    window.show_page("generate")  # not the Dataset page, whose drop zone lights up by itself
    assert drag_over(window, tiny_dataset).isAccepted()
    assert window.drop_highlight.isVisible() and window.drop_highlight.geometry() == window.stack.rect()
    QApplication.sendEvent(window, QDragLeaveEvent())
    assert not window.drop_highlight.isVisible()

    window.show_page("image-to-image")
    page = window.image_to_image_page
    page.tabs.setCurrentIndex(1)
    converter = page.converter
    converter.stack.setCurrentWidget(converter.picture_panel)
    assert drag_over(converter, tiny_dataset).isAccepted()
    assert converter.drop_highlight.isVisible(), "over a converted picture, the frame says a drop converts another"
    QApplication.sendEvent(converter, QDragLeaveEvent())
    assert not converter.drop_highlight.isVisible()


def test_the_torch_build_is_said_in_words():
    from ganstudio.gui.probe import torch_build_words
    assert torch_build_words("2.14.1+cpu", None, None, False, False) == "torch 2.14.1, CPU only"
    assert torch_build_words("2.14.1+cu130", "13.0", None, False, True) == "torch 2.14.1, CUDA 13.0"
    assert torch_build_words("2.14.1+cu130", "13.0", None, False, False) == \
        "torch 2.14.1, CUDA 13.0 (no NVIDIA GPU found)"
    assert torch_build_words("2.14.1", None, None, True, False) == "torch 2.14.1, Apple Metal"
    assert torch_build_words("2.14.1+rocm6.4", None, "6.4", False, True) == "torch 2.14.1, ROCm 6.4"


def test_the_window_says_which_torch_build_it_trains_with(qtbot, make_window):
    import torch
    window = make_window(dataset=None)
    qtbot.waitUntil(lambda: window.train_page.machine is not None, timeout=60_000)
    words = window.train_page.machine.torch_build
    assert words.startswith(f"torch {torch.__version__.split('+')[0]}, ")
    assert ("CUDA" in words) == bool(torch.version.cuda)
    assert window.torch_label.text() == words and window.torch_label.isVisible()
