"""The frame every page sits in: a header (title, subtitle, buttons on the right), a banner, and side-by-side panels."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from .common import Banner, label


@dataclass
class PageFrame:
    """What `page_frame` made: the page's column (header and banner in it) and the parts a page changes later."""

    column: QVBoxLayout
    header: QHBoxLayout
    heading: QLabel
    subtitle: QLabel
    banner: Banner


def page_frame(page: QWidget, title: str, subtitle: str = "", widgets=(), wrap_subtitle: bool = False) -> PageFrame:
    """Lay `page` out as a column: the title (h1) over its subtitle, `widgets` at the right of the header,
    and a hidden banner below; the page adds its body to `column`."""
    header = QHBoxLayout()
    titles = QVBoxLayout()
    titles.setSpacing(0)
    heading = label(title, "h1")
    subtitle_label = label(subtitle, "muted", wrap=wrap_subtitle)
    titles.addWidget(heading)
    titles.addWidget(subtitle_label)
    header.addLayout(titles, 1)
    for widget in widgets:
        header.addWidget(widget)
    banner = Banner()
    column = QVBoxLayout(page)
    column.setContentsMargins(20, 16, 20, 14)
    column.setSpacing(10)
    column.addLayout(header)
    column.addWidget(banner)
    return PageFrame(column, header, heading, subtitle_label, banner)


def side_by_side(first: QWidget, second: QWidget, sizes: list[int], growing: int = 1,
                 takes_extra_width: bool = True) -> QSplitter:
    """Two panels split left and right at `sizes`; the `growing` one (0 or 1) can never be dragged shut and,
    when it `takes_extra_width`, gets all of a wider window (else both grow in proportion)."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(first)
    splitter.addWidget(second)
    if takes_extra_width:
        splitter.setStretchFactor(growing, 1)
    splitter.setCollapsible(growing, False)
    splitter.setSizes(sizes)
    return splitter
