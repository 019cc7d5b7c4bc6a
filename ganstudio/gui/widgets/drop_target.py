"""Dropped files and folders: a framed area that takes them, a highlight while they are dragged over, and which
of them hold pictures."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QFont, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from .. import theme

from .common import IconLabel, label, refresh_style

# What the pages offer to open as pictures; PIL reads each of these.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
                  ".tga", ".ico", ".qoi", ".jfif", ".dib")


def paths_from_drop(paths: list[str]) -> list[str]:
    """Keep what can hold pictures: folders, zip archives and picture files (other files are ignored)."""
    kept = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() or path.suffix.lower() == ".zip" or path.suffix.lower() in IMAGE_SUFFIXES:
            kept.append(str(path))
    return kept


def accept_without_moving(event) -> bool:
    """Accept a drag or drop as Copy (else Link), never Move: a file manager that honours Move deletes the originals.

    Qt quietly turns an action the source does not offer into the proposed one, so a source offering only
    Move is refused rather than accepted as Move.
    """
    offered = event.possibleActions()
    for action in (Qt.DropAction.CopyAction, Qt.DropAction.LinkAction):
        if offered & action:
            event.setDropAction(action)
            event.accept()
            return True
    event.ignore()
    return False


def local_paths(mime) -> list[str]:
    """The local files and folders a drag carries (web links and the like are not ours to open)."""
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class DropHighlight(QWidget):
    """An accent frame over `target` while files are dragged over it, with `words` saying what a drop does.

    It lets every mouse and drag event through to the widgets below, and follows the target's size.
    """

    FILL_ALPHA = 28  # of 255: the page stays readable under the frame

    def __init__(self, target: QWidget, words: str):
        super().__init__(target)
        self.words = words
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(watched.rect())
        return False

    def set_shown(self, shown: bool) -> None:
        if shown:
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
        self.setVisible(shown)

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(colours.accent)
        fill.setAlpha(self.FILL_ALPHA)
        painter.setPen(QPen(QColor(colours.accent), 3))
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(3, 3, -3, -3), 14, 14)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        painter.setFont(font)
        words = QFontMetrics(font).boundingRect(self.rect().adjusted(40, 0, -40, 0),
                                                Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignCenter, self.words)
        pill = words.adjusted(-18, -10, 18, 10)
        pill.moveCenter(self.rect().center())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colours.accent))
        painter.drawRoundedRect(QRectF(pill), 10, 10)
        painter.setPen(QColor(colours.accent_text))
        painter.drawText(pill, Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignCenter, self.words)
        painter.end()


class DropTarget(QFrame):
    """A dashed frame with a title, a status line and buttons; emits `dropped` with the paths dropped on it.

    Drops land here before the window sees them, so a drop on a zone never reaches the Dataset page.
    """

    dropped = Signal(list)  # list[str] of local paths

    def __init__(self, title: str, hint: str, icon_name: str = "drop", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        art = IconLabel(icon_name, 28)
        art.setFixedSize(32, 32)
        self.title = label(title, "h2")
        self.hint = label(hint, "muted", wrap=True)
        self.status = label("", "big", wrap=True)
        self.detail = label("", "muted", wrap=True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(6)
        heading = QHBoxLayout()
        heading.setSpacing(8)
        heading.addWidget(art, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.hint)
        heading.addLayout(titles, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 12, 10)
        column.setSpacing(4)
        column.addLayout(heading)
        column.addWidget(self.status)
        column.addWidget(self.detail)
        column.addLayout(self.buttons)

    def add_button(self, widget: QWidget) -> None:
        self.buttons.addWidget(widget)

    def finish_buttons(self) -> None:
        self.buttons.addStretch(1)

    def set_status(self, status: str, detail: str = "") -> None:
        self.status.setText(status)
        self.status.setVisible(bool(status))
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))

    def set_dragging(self, dragging: bool) -> None:
        self.setProperty("dragging", dragging)
        refresh_style(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.isEnabled() and local_paths(event.mimeData()) and accept_without_moving(event):
            self.set_dragging(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self.isEnabled() and local_paths(event.mimeData()):
            accept_without_moving(event)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self.set_dragging(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.set_dragging(False)
        paths = local_paths(event.mimeData())
        if not paths or not self.isEnabled() or not accept_without_moving(event):
            event.ignore()
            return
        self.dropped.emit(paths)
