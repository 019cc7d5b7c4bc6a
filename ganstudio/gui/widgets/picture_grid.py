"""A virtualised grid of square pictures from one N x S x S x 3 array: fast with tens of thousands.

Only the cells on screen are ever asked for; each becomes a pixmap on first paint and stays in a
bounded cache. With uniform cell sizes and batched layout, 20,000 pictures lay out in milliseconds.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from .. import theme
from ..images import pixmap_from_rgb
from ..resources import icon

# Pixmaps kept ready: enough for several screens of cells at the largest cell size.
PIXMAP_CACHE = 3000
STARRED_ROLE = Qt.ItemDataRole.UserRole + 1


class PictureModel(QAbstractListModel):
    """Rows of a picture array, with optional captions, tooltips and a set of starred rows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pixels: np.ndarray = np.zeros((0, 1, 1, 3), np.uint8)
        self._captions: list[str] | None = None
        self._tooltips: list[str] | None = None
        self.starred: set[int] = set()
        self._cell = 96
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self.decorations_made = 0  # how many pixmaps were built: proves the grid is virtualised

    def set_pictures(self, pixels: np.ndarray, captions: list[str] | None = None,
                     tooltips: list[str] | None = None) -> None:
        self.beginResetModel()
        self._pixels = pixels
        self._captions = captions
        self._tooltips = tooltips
        self.starred = set()
        self._pixmaps.clear()
        self.endResetModel()

    def pixels(self) -> np.ndarray:
        return self._pixels

    def set_cell_size(self, side: int) -> None:
        if side != self._cell:
            self._cell = side
            self._pixmaps.clear()
            if self.rowCount():
                self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1))

    def set_starred(self, row: int, starred: bool) -> None:
        (self.starred.add if starred else self.starred.discard)(row)
        index = self.index(row)
        self.dataChanged.emit(index, index, [STARRED_ROLE])

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else int(self._pixels.shape[0])

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = index.row()
        if not index.isValid() or not 0 <= row < self.rowCount():
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._captions[row] if self._captions else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltips[row] if self._tooltips else None
        if role == STARRED_ROLE:
            return row in self.starred
        return None

    def _pixmap(self, row: int) -> QPixmap:
        pixmap = self._pixmaps.get(row)
        if pixmap is not None:
            self._pixmaps.move_to_end(row)
            return pixmap
        source = self._pixels[row]
        # Crisp blocks when enlarging small pictures (what the network sees), smooth when reducing.
        pixmap = pixmap_from_rgb(np.asarray(source), self._cell, smooth=source.shape[0] > self._cell)
        self.decorations_made += 1
        self._pixmaps[row] = pixmap
        while len(self._pixmaps) > PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        return pixmap


class _PictureDelegate(QStyledItemDelegate):
    """Draws the picture, its caption under it, and a star on starred ones."""

    def __init__(self, grid: "PictureGrid"):
        super().__init__(grid)
        self._grid = grid
        self._star = icon("star-filled", "#ffc23d")

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self._grid.cell_size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        colours = theme.current()
        rect = option.rect.adjusted(3, 3, -3, -3)
        side = self._grid.picture_side
        picture_rect = QRect(rect.x() + (rect.width() - side) // 2, rect.y(), side, side)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(option.palette.highlight())
            painter.drawRoundedRect(picture_rect.adjusted(-3, -3, 3, 3), 6, 6)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap):
            painter.drawPixmap(picture_rect, pixmap)
        caption = index.data(Qt.ItemDataRole.DisplayRole)
        if caption:
            text_rect = QRect(rect.x(), picture_rect.bottom() + 4, rect.width(), rect.bottom() - picture_rect.bottom() - 4)
            painter.setPen(option.palette.text().color())
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, caption)
        if index.data(STARRED_ROLE):
            star_side = max(16, side // 5)
            star_rect = QRect(picture_rect.right() - star_side - 2, picture_rect.top() + 2, star_side, star_side)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(Qt.GlobalColor.black)
            painter.setOpacity(0.35)
            painter.drawEllipse(star_rect.adjusted(-2, -2, 2, 2))
            painter.setOpacity(1.0)
            self._star.paint(painter, star_rect)
        if option.state & QStyle.StateFlag.State_MouseOver and not selected:
            painter.setPen(QPen(QColor(colours.accent), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(picture_rect.adjusted(-2, -2, 2, 2), 5, 5)
        painter.restore()


class PictureGrid(QListView):
    """The view: icon mode, uniform cells, batched layout; `picture_side` sets the cell size."""

    def __init__(self, parent: QWidget | None = None, picture_side: int = 96, captions: bool = False):
        super().__init__(parent)
        self.picture_model = PictureModel(self)
        self.setModel(self.picture_model)
        self._captions = captions
        self.picture_side = picture_side
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSpacing(2)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setItemDelegate(_PictureDelegate(self))
        self.set_picture_side(picture_side)
        self.placeholder = ""  # said in the middle while the grid is empty: what to do to fill it

    def set_placeholder(self, text: str) -> None:
        if text != self.placeholder:
            self.placeholder = text
            self.viewport().update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.placeholder and not self.picture_model.rowCount():
            painter = QPainter(self.viewport())
            painter.setPen(QColor(theme.current().muted))
            area = self.viewport().rect().adjusted(40, 0, -40, 0)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()

    def cell_size(self) -> QSize:
        caption_height = self.fontMetrics().height() + 6 if self._captions else 0
        return QSize(self.picture_side + 10, self.picture_side + 10 + caption_height)

    def set_picture_side(self, side: int) -> None:
        self.picture_side = side
        self.picture_model.set_cell_size(side)
        self.setGridSize(self.cell_size())
        self.scheduleDelayedItemsLayout()

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.selectionModel().selectedIndexes())
