"""Drops as a file manager offers them: accepted as Copy or Link, never as a Move that could delete the originals."""

from __future__ import annotations

import pytest

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from conftest import write_pictures

ALL_ACTIONS = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction | Qt.DropAction.LinkAction


def send_drag(widget, path, offered, proposed, kind):
    """Send one drag-enter, drag-move or drop event carrying `path` to the centre of `widget`.

    Returns (accepted, drop action): the event does not outlive its mime data, which ends here.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = widget.rect().center()
    # Qt proposes Move when the user holds Shift, as a file manager does.
    modifiers = Qt.KeyboardModifier.ShiftModifier if proposed == Qt.DropAction.MoveAction else Qt.KeyboardModifier.NoModifier
    if kind is QDropEvent:
        event = QDropEvent(QPointF(centre), offered, mime, Qt.MouseButton.LeftButton, modifiers)
    else:
        event = kind(QPoint(centre), offered, mime, Qt.MouseButton.LeftButton, modifiers)
    assert event.proposedAction() == proposed
    QApplication.sendEvent(widget, event)
    return event.isAccepted(), event.dropAction()


def drop_targets(window):
    page = window.image_to_image_page
    return {"window": window, "domain A zone": page.zones["A"], "beside the zones": page, "convert tab": page.converter}


@pytest.mark.parametrize("offered, taken_as", [(ALL_ACTIONS, Qt.DropAction.CopyAction), (Qt.DropAction.MoveAction, None)],
                         ids=["offering-move-among-others", "offering-only-move"])
def test_drags_are_taken_as_copies_never_moves_everywhere(qtbot, make_window, tiny_dataset, tmp_path, offered,
                                                          taken_as):
    """Shift makes Qt propose Move: a drag offering Copy too is taken as a copy; one offering only Move is refused."""
    window = make_window(dataset=tiny_dataset)
    window.show_page("image-to-image")
    picture = write_pictures(tmp_path / "mine", 1)[0]
    for name, widget in drop_targets(window).items():
        if name == "convert tab":
            window.image_to_image_page.tabs.setCurrentWidget(widget)
        for kind in (QDragEnterEvent, QDragMoveEvent):
            accepted, action = send_drag(widget, picture, offered, Qt.DropAction.MoveAction, kind)
            if taken_as is None:
                assert not accepted, f"{name} refuses a move-only {kind.__name__}"
            else:
                assert accepted and action == taken_as, f"{name} takes the {kind.__name__} as a copy, not a move"
        window.image_to_image_page.tabs.setCurrentIndex(0)


def test_a_dropped_folder_is_copied_not_moved_and_still_opens(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    folder = tmp_path / "flowers"
    write_pictures(folder, 6, seed=3)
    # Qt delivers a drop only to the widget that took the drag's enter.
    assert send_drag(window, folder, ALL_ACTIONS, Qt.DropAction.MoveAction, QDragEnterEvent)[0]
    with qtbot.waitSignal(window.workspace.dataset_scanned, timeout=30_000,
                          check_params_cb=lambda *args: window.workspace.dataset.paths == [str(folder)]):
        accepted, action = send_drag(window, folder, ALL_ACTIONS, Qt.DropAction.MoveAction, QDropEvent)
    assert accepted and action == Qt.DropAction.CopyAction
    assert window.workspace.dataset.paths == [str(folder)]
    assert send_drag(window, folder, Qt.DropAction.LinkAction, Qt.DropAction.LinkAction, QDragEnterEvent) == \
        (True, Qt.DropAction.LinkAction), "a source offering only Link is taken as a link"
