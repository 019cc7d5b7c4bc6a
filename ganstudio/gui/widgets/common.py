"""Small building blocks the pages share: headings, cards, buttons with icons, and message banners."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from .. import theme
from ..resources import icon


def label(text: str = "", role: str | None = None, wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    if wrap:
        widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return widget


class IconLabel(QLabel):
    """An icon drawn as a picture in the text colour of the current look, drawn again when the look changes.

    A pixmap made once keeps the colour of its moment: the light look's near-black icons were left
    nearly invisible on the dark background after a switch.
    """

    REDRAW_ON = (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange, QEvent.Type.StyleChange)

    def __init__(self, icon_name: str, side: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.icon_name = icon_name
        self.side = side
        self._draw()

    def _draw(self) -> None:
        self.setPixmap(icon(self.icon_name, theme.current().text).pixmap(QSize(self.side, self.side)))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in self.REDRAW_ON:
            self._draw()


def fixed_width_wrapped(widget: QLabel, width: int) -> QLabel:
    """A word-wrapped label `width` px wide that is given the height its lines need: a layout asks a label
    only for its size hint, which for wrapped text is the height at another width (the Convert tab's
    two-line hint was cut at top and bottom)."""
    widget.setWordWrap(True)
    widget.setFixedWidth(width)
    widget.setMinimumHeight(widget.heightForWidth(width))
    return widget


def button(text: str, icon_name: str | None = None, primary: bool = False, tooltip: str = "",
           on_click: Callable[[], None] | None = None, flat: bool = False) -> QPushButton:
    widget = QPushButton(text)
    if icon_name:
        widget.setIcon(icon(icon_name, theme.current().accent_text if primary else None))
        widget.setIconSize(QSize(16, 16))
    if primary:
        widget.setProperty("primary", True)
    if flat:
        widget.setProperty("flat", True)
    if tooltip:
        widget.setToolTip(tooltip)
    if on_click is not None:
        widget.clicked.connect(lambda checked=False: on_click())
    return widget


def card(parent: QWidget | None = None) -> QFrame:
    frame = QFrame(parent)
    frame.setProperty("card", True)
    return frame


def refresh_style(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property that it matches on has changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


class Banner(QFrame):
    """A message across the top of a page: info, warning or error, with optional action buttons."""

    ICONS = {"info": "info", "warning": "warning", "error": "error"}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self._icon = QLabel()
        self._icon.setFixedSize(20, 20)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._actions = QHBoxLayout()
        self._actions.setSpacing(6)
        close = QToolButton()
        close.setIcon(icon("close"))
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        body = QVBoxLayout()
        body.addWidget(self.text)
        row.addLayout(body, 1)
        row.addLayout(self._actions)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, level: str = "info",
                     actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        colours = theme.current()
        tint = {"info": colours.accent, "warning": colours.warning, "error": colours.error}[level]
        self._icon.setPixmap(icon(self.ICONS[level], tint).pixmap(QSize(20, 20)))
        self.text.setText(text)
        self.setProperty("level", level)
        refresh_style(self)
        while self._actions.count():
            item = self._actions.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for caption, action in actions or []:
            self._actions.addWidget(button(caption, on_click=action))
        self.show()

    def message(self) -> str:
        return self.text.text() if self.isVisible() else ""


def settings_column(min_width: int, max_width: int, spacing: int) -> tuple[QFrame, QWidget, QVBoxLayout]:
    """A card for a page's settings, min_width to max_width wide: the card, and the widget and column to fill.
    The column scrolls vertically, so a short window can still reach every setting."""
    panel = card()
    panel.setMinimumWidth(min_width)
    panel.setMaximumWidth(max_width)
    inner = QWidget()
    column = QVBoxLayout(inner)
    column.setContentsMargins(16, 14, 16, 14)
    column.setSpacing(spacing)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(inner)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(1, 1, 1, 1)
    outer.addWidget(scroll)
    return panel, inner, column
