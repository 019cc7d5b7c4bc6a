"""The files a dataset check skipped, with why: a two-column list whose names and reasons stay readable."""

from __future__ import annotations

import html

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QHeaderView, QStyledItemDelegate, QStyleOptionViewItem, QTreeWidget, QTreeWidgetItem, QWidget

# The name column takes what its longest name needs, but never so much that the reasons are squeezed out.
NAME_SHARE = 0.45
NAME_MIN_PX = 90
ZERO_WIDTH_SPACE = "\u200b"
NAME_COLUMN, REASON_COLUMN = 0, 1
# Room the style takes around a cell's text.
CELL_PADDING_PX = 8


class ReasonWrappingDelegate(QStyledItemDelegate):
    """Reasons wrap onto as many lines as they need; names stay on one line and elide in the middle.

    A tree view sizes rows without the column's width, so it would clip wrapped reasons to one line.
    """

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:
        super().initStyleOption(option, index)
        if index.column() == NAME_COLUMN:
            option.features &= ~QStyleOptionViewItem.ViewItemFeature.WrapText

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() != REASON_COLUMN:
            return size
        width = max(1, self.parent().columnWidth(REASON_COLUMN) - CELL_PADDING_PX)
        text = index.data() or ""
        box = option.fontMetrics.boundingRect(QRect(0, 0, width, 1_000_000), Qt.TextFlag.TextWordWrap, text)
        return QSize(size.width(), max(size.height(), box.height() + CELL_PADDING_PX // 2))


class SkippedFilesList(QTreeWidget):
    """File and reason per row; long names elide in the middle (their ends tell files apart), reasons wrap,
    and each cell's full text is its tooltip."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderLabels(["File", "Why"])
        self.setRootIsDecorated(False)
        # Wrapped reasons make rows of different heights.
        self.setUniformRowHeights(False)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setItemDelegate(ReasonWrappingDelegate(self))
        # Row heights follow the reason column's width.
        self.header().sectionResized.connect(lambda *_: self.scheduleDelayedItemsLayout())
        self.header().setStretchLastSection(True)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().setMinimumSectionSize(NAME_MIN_PX)
        self._name_px = NAME_MIN_PX

    def show_skipped(self, skipped: list[tuple[str, str]], listed: int) -> None:
        """Rows for the first `listed` of `skipped`, and a last row counting the rest."""
        self.clear()
        rows = []
        for file, reason in skipped[:listed]:
            row = QTreeWidgetItem([file, reason])
            row.setToolTip(0, file)
            row.setToolTip(1, reason)
            rows.append(row)
        self.addTopLevelItems(rows)
        if len(skipped) > listed:
            self.addTopLevelItem(QTreeWidgetItem([f"… and {len(skipped) - listed:,} more", ""]))
        metrics = self.fontMetrics()
        # The widest of the first rows is enough to size the column; measuring thousands would slow the window.
        widths = [metrics.horizontalAdvance(file) for file, _ in skipped[:200]]
        self._name_px = max([NAME_MIN_PX, *widths]) + 2 * metrics.averageCharWidth() + self.indentation()
        self._fit_name_column()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_name_column()

    def _fit_name_column(self) -> None:
        room = self.viewport().width()
        self.setColumnWidth(0, max(NAME_MIN_PX, min(self._name_px, int(room * NAME_SHARE))))


def skipped_tooltip(skipped: list[tuple[str, str]], listed: int) -> str:
    """A rich-text tooltip listing skipped files and why; Qt wraps rich text, and names may break after a '/'."""
    if not skipped:
        return ""
    items = "".join(f"<li><b>{_breakable(file)}</b>: {html.escape(reason)}</li>" for file, reason in skipped[:listed])
    more = f"<p>… and {len(skipped) - listed:,} more</p>" if len(skipped) > listed else ""
    return f"<qt><p>Skipped:</p><ul style='margin-left:12px; -qt-list-indent:0'>{items}</ul>{more}</qt>"


def _breakable(name: str) -> str:
    return html.escape(name).replace("/", "/" + ZERO_WIDTH_SPACE)
